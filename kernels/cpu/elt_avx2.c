/* elt_avx2.c: elt_impl.h compiled for -mavx2 -mfma (flags.cmake);
 * called only when kcpu_isa() is avx2. */
#define KCPU_FN(name) kcpu_##name##_avx2
#include "kernels/cpu/elt_impl.h"
