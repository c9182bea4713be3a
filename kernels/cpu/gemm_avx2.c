/* gemm_avx2.c: the AVX2+FMA SGEMM micro-kernel (compiled with -mavx2 -mfma, called only
 * when kcpu_isa() says the processor has them).
 *
 * Tile 6 x 16: 12 ymm accumulators, two ymm loads of packed B and six broadcasts of
 * packed A per k step (15 of the 16 registers). Ragged tiles go through a local tile.
 * kcpu_ukr_ep_avx2 is the same kernel with A read in place (six row pointers) and the
 * convolution epilogue (bias, ReLU). */
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

/* kcpu_ukr_ep_fn: the same k loop, then add C or the bias, then ReLU / leaky ReLU, in
 * registers. max_ps(v, 0) is v > 0 ? v : 0, kfn_relu exactly. */
void kcpu_ukr_ep_avx2(int kc, const float *restrict a, long lda, const float *restrict bp, float *restrict c,
                      long ldc, const float *bias, bool load_c, int act, float slope, int mr, int nr)
{
    __m256 acc0[MR], acc1[MR];
    const float *ar[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm256_setzero_ps();
        acc1[i] = _mm256_setzero_ps();
        ar[i] = a + (i < mr ? i : mr - 1) * lda;
    }
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(ar[i] + p);
            acc0[i] = _mm256_fmadd_ps(av, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(av, b1, acc1[i]);
        }
        bp += NR;
    }
    const __m256 zero = _mm256_setzero_ps(), vs = _mm256_set1_ps(slope);
    float tile[2][NR] __attribute__((aligned(32)));
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        if (i >= mr)
            break;
        float *ci = c + i * ldc;
        __m256 r0 = acc0[i], r1 = acc1[i];
        if (load_c) {
            if (nr == NR) {
                r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
                r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
            } else {
                for (int j = 0; j < NR; j++)
                    tile[0][j] = j < nr ? ci[j] : 0.0f;
                r0 = _mm256_add_ps(r0, _mm256_load_ps(tile[0]));
                r1 = _mm256_add_ps(r1, _mm256_load_ps(tile[0] + 8));
            }
        } else if (bias) {
            __m256 vb = _mm256_set1_ps(bias[i]);
            r0 = _mm256_add_ps(r0, vb);
            r1 = _mm256_add_ps(r1, vb);
        }
        if (act == KCPU_ACT_RELU) {
            r0 = _mm256_max_ps(r0, zero);
            r1 = _mm256_max_ps(r1, zero);
        } else if (act == KCPU_ACT_LEAKY) {
            r0 = _mm256_blendv_ps(_mm256_mul_ps(r0, vs), r0, _mm256_cmp_ps(r0, zero, _CMP_GT_OQ));
            r1 = _mm256_blendv_ps(_mm256_mul_ps(r1, vs), r1, _mm256_cmp_ps(r1, zero, _CMP_GT_OQ));
        }
        if (nr == NR) {
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        } else {
            _mm256_store_ps(tile[1], r0);
            _mm256_store_ps(tile[1] + 8, r1);
            for (int j = 0; j < nr; j++)
                ci[j] = tile[1][j];
        }
    }
}
