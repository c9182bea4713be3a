/* cpu_none.c: stand-in for kernels/cpu/ while that folder has no sources. The CPU backend
 * then runs the reference ops unchanged (kern_cpu_fill overrides nothing), so everything
 * that selects KERN_BACKEND_CPU works and its tests compare REF against itself. */
#include "kernels/backend.h"

void kern_cpu_fill(struct kern_ops *ops) { (void)ops; }
const char *kern_cpu_isa(void) { return "generic"; }
