/* cloth_avx2.c: cloth_impl.h compiled for -mavx2 -mfma (flags.cmake); called only when
 * kcpu_isa() is avx2. */
#define KCPU_FN(name) kcpu_##name##_avx2
#include "kernels/cpu/cloth_impl.h"
