/* gemm_avx512.c: the AVX-512 SGEMM micro-kernel (compiled with -mavx512f -mavx512bw
 * -mavx512vl -mfma, called only when kcpu_isa() says the processor has them).
 *
 * Tile MR x 32: 2*MR zmm accumulators (16 of the 32 registers at MR = 8, which divides
 * the usual channel counts), two zmm loads of packed B and MR broadcasts of packed A per
 * k step. Ragged columns use masked loads/stores, so no temporary tile is needed. */
#include "kernels/cpu/kcpu.h"

#include <immintrin.h>

#define MR KCPU_AVX512_MR

void kcpu_ukr_avx512(int kc, const float *restrict ap, const float *restrict bp, float *restrict c, long ldc,
                     float alpha, float beta, int mr, int nr)
{
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(ap[i]);
            acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
        }
        ap += MR;
        bp += 32;
    }
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= mr)
            break;
        float *ci = c + i * ldc;
        __m512 r0 = _mm512_mul_ps(va, acc0[i]), r1 = _mm512_mul_ps(va, acc1[i]);
        if (beta != 0.0f) {
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, ci), r0);
            r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, ci + 16), r1);
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}
