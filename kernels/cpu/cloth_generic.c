/* cloth_generic.c: cloth_impl.h compiled for portable C (SSE2 on x86-64) (flags.cmake). */
#define KCPU_FN(name) kcpu_##name##_generic
#include "kernels/cpu/cloth_impl.h"
