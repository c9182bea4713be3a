/* elt_generic.c: elt_impl.h compiled for portable C (SSE2 on x86-64) (flags.cmake). */
#define KCPU_FN(name) kcpu_##name##_generic
#include "kernels/cpu/elt_impl.h"
