/* gemm_avx2.c: the AVX2+FMA SGEMM micro-kernel (compiled with -mavx2 -mfma, called only
 * when kcpu_isa() says the processor has them).
 *
 * Tile 6 x 16: 12 ymm accumulators, two ymm loads of packed B and six broadcasts of
 * packed A per k step (15 of the 16 registers). Ragged tiles go through a local tile. */
#include "kernels/cpu/kcpu.h"

#include <immintrin.h>

#define MR KCPU_AVX2_MR
#define NR KCPU_AVX2_NR

void kcpu_ukr_avx2(int kc, const float *restrict ap, const float *restrict bp, float *restrict c, long ldc,
                   float alpha, float beta, int mr, int nr)
{
    __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm256_setzero_ps();
        acc1[i] = _mm256_setzero_ps();
    }
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(ap + i);
            acc0[i] = _mm256_fmadd_ps(av, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(av, b1, acc1[i]);
        }
        ap += MR;
        bp += NR;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == MR && nr == NR) {
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            __m256 r0 = _mm256_mul_ps(va, acc0[i]), r1 = _mm256_mul_ps(va, acc1[i]);
            if (beta != 0.0f) {
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
            }
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
        return;
    }
    float tile[MR][NR] __attribute__((aligned(32)));
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        _mm256_store_ps(tile[i], _mm256_mul_ps(va, acc0[i]));
        _mm256_store_ps(tile[i] + 8, _mm256_mul_ps(va, acc1[i]));
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++)
                ci[j] = tile[i][j];
        else
            for (int j = 0; j < nr; j++)
                ci[j] = __builtin_fmaf(beta, ci[j], tile[i][j]);
    }
}
