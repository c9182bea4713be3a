/* gemm_avx512.c: the AVX-512 SGEMM micro-kernel (compiled with -mavx512f -mavx512bw
 * -mavx512vl -mfma, called only when kcpu_isa() says the processor has them).
 *
 * Tile MR x 32: 2*MR zmm accumulators (16 of the 32 registers at MR = 8, which divides
 * the usual channel counts), two zmm loads of packed B and MR broadcasts of packed A per
 * k step. Ragged columns use masked loads/stores, so no temporary tile is needed.
 *
 * kcpu_ukr_ep_avx512 is the same kernel with A read in place (eight row pointers) and the
 * convolution epilogue (bias, ReLU).
 *
 * Also the transposing pack of op(B) = B^T (the weight-gradient GEMMs), as 16x16 register
 * transposes: the scalar version costs more than the arithmetic when K is small. */
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

/* kcpu_ukr_ep_fn: the same k loop, then add C or the bias, then ReLU / leaky ReLU, in
 * registers before the one store. max_ps(v, 0) is v > 0 ? v : 0 (the second operand
 * wins ties and NaNs), kfn_relu exactly. */
void kcpu_ukr_ep_avx512(int kc, const float *restrict a, long lda, const float *restrict bp, float *restrict c,
                        long ldc, const float *bias, bool load_c, int act, float slope, int mr, int nr)
{
    __m512 acc0[MR], acc1[MR];
    const float *ar[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        acc0[i] = _mm512_setzero_ps();
        acc1[i] = _mm512_setzero_ps();
        ar[i] = a + (i < mr ? i : mr - 1) * lda;
    }
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(bp), b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(ar[i][p]);
            acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
        }
        bp += 32;
    }
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
    const __m512 zero = _mm512_setzero_ps(), vs = _mm512_set1_ps(slope);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= mr)
            break;
        float *ci = c + i * ldc;
        __m512 r0 = acc0[i], r1 = acc1[i];
        if (load_c) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
        } else if (bias) {
            __m512 vb = _mm512_set1_ps(bias[i]);
            r0 = _mm512_add_ps(r0, vb);
            r1 = _mm512_add_ps(r1, vb);
        }
        if (act == KCPU_ACT_RELU) {
            r0 = _mm512_max_ps(r0, zero);
            r1 = _mm512_max_ps(r1, zero);
        } else if (act == KCPU_ACT_LEAKY) {
            r0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r0, zero, _CMP_GT_OQ), _mm512_mul_ps(r0, vs), r0);
            r1 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(r1, zero, _CMP_GT_OQ), _mm512_mul_ps(r1, vs), r1);
        }
        _mm512_mask_storeu_ps(ci, m0, r0);
        _mm512_mask_storeu_ps(ci + 16, m1, r1);
    }
}

/* In-register transpose: r[i] holds row i (16 floats); afterwards r[e] holds column e. */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* per 128-bit lane L, r[4i + k] = element 4L + k of rows 4i .. 4i+3 */
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    __m512 o[16];
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88), u1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
        __m512 u3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
        o[k] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        o[8 + k] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
        o[4 + k] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        o[12 + k] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = o[i];
}

void kcpu_pack_bt_avx512(const float *b, int ldb, int p0, int kc, int j0, int nr, float *dst)
{
    enum { NR = KCPU_AVX512_NR };
    int p = 0;
    for (; p + 16 <= kc; p += 16)
        for (int h = 0; h < NR; h += 16) {
            if (h + 16 <= nr) {
                __m512 r[16];
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = _mm512_loadu_ps(b + (size_t)(j0 + h + i) * ldb + p0 + p);
                transpose16(r);
#pragma GCC unroll 16
                for (int e = 0; e < 16; e++)
                    _mm512_store_ps(dst + (size_t)(p + e) * NR + h, r[e]);
            } else {
                for (int e = 0; e < 16; e++)
                    for (int j = h; j < h + 16; j++)
                        dst[(size_t)(p + e) * NR + j] = j < nr ? b[(size_t)(j0 + j) * ldb + p0 + p + e] : 0.0f;
            }
        }
    for (; p < kc; p++)
        for (int j = 0; j < NR; j++)
            dst[(size_t)p * NR + j] = j < nr ? b[(size_t)(j0 + j) * ldb + p0 + p] : 0.0f;
}
