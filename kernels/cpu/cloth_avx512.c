/* cloth_avx512.c: cloth_impl.h compiled for -mavx512f -mavx512bw -mavx512vl -mfma
 * (flags.cmake); called only when kcpu_isa() is avx512. */
#define KCPU_FN(name) kcpu_##name##_avx512
#include "kernels/cpu/cloth_impl.h"
