/* conv_avx512.c: the implicit-im2col panel packer of the AVX-512 path (compiled with
 * -mavx512f -mavx512bw -mavx512vl -mfma, called only when kcpu_isa() is avx512).
 *
 * Writes exactly what kcpu_pack_im2col_generic (conv.c) writes: a 32-wide panel, row q =
 * (c, r, s) of col for 32 output pixels. The pixels form a few runs within output rows
 * (kcpu_im2col_runs); for each run and each 16-lane half of the panel, the lanes whose
 * input lies inside the image are one masked load from the input row (a masked-off lane
 * reads nothing, so padding and row ends need no branches per element), the rest stay
 * zero. The per-run lane masks depend on the tap column s only and are made once per
 * panel (kernels up to 8 columns wide; wider ones use the generic loops). */
#include "kernels/cpu/kcpu.h"

#include <assert.h>
#include <stdint.h>

#include <immintrin.h>

/* Lanes [a, b) of a 32-lane panel as a bit mask (empty when b <= a). */
static inline uint32_t lanes(int a, int b)
{
    if (b <= a)
        return 0;
    uint32_t hi = b >= 32 ? 0xffffffffu : (1u << b) - 1u;
    return hi & ~((1u << a) - 1u);
}

/* The address whose lane 0 is panel column j0 of a run with column offset jo reading
 * row[ow + co]: lane j reads row[j - jo + co]. Computed in integers: for lanes before the
 * run it points before the row, but those lanes are masked off and never read. */
static inline const float *lane0(const float *row, int co, int jo, int j0)
{
    return (const float *)((uintptr_t)row + (intptr_t)(j0 - jo + co) * (intptr_t)sizeof(float));
}

void kcpu_pack_im2col_avx512(void *user, int q0, int kc, int j0, int nr, int NR, float *dst)
{
    const struct kcpu_im2col *cp = user;
    const struct kern_conv2d *d = cp->d;
    const int P0 = cp->p0 + j0;
    assert(NR == 32);
    const __mmask16 t0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);
    const __mmask16 t1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : 0;
    if (cp->direct) {
        for (int q = 0; q < kc; q++) {
            const float *src = cp->src + (size_t)(q0 + q) * cp->cstride + P0;
            _mm512_store_ps(dst + (size_t)q * 32, _mm512_maskz_loadu_ps(t0, src));
            _mm512_store_ps(dst + (size_t)q * 32 + 16, _mm512_maskz_loadu_ps(t1, src + 16));
        }
        return;
    }
    const int R = d->r, S = d->s, H = d->h, dh = d->dil_h > 0 ? d->dil_h : 1;
    if (S > 8) { /* kernels wider than the mask table: the plain loops */
        kcpu_pack_im2col_generic(user, q0, kc, j0, nr, NR, dst);
        return;
    }
    struct kcpu_run run[32];
    int nrun = kcpu_im2col_runs(d, P0, nr, run);
    uint32_t mask[32 * 8]; /* mask[k*S + s]: the lanes of run k that tap column s reads inside the row */
    for (int k = 0; k < nrun; k++)
        for (int s = 0; s < S; s++) {
            int a = cp->lo[s] > run[k].ow0 ? cp->lo[s] : run[k].ow0;
            int b = cp->hi[s] < run[k].ow1 ? cp->hi[s] : run[k].ow1;
            mask[k * S + s] = lanes(a + run[k].jo, b + run[k].jo);
        }
    int c = q0 / (R * S), r = q0 / S % R, s = q0 % S;
    for (int q = 0; q < kc; q++) {
        const float *plane = cp->src + (size_t)c * cp->cstride;
        int co = cp->coloff[s];
        __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
        for (int k = 0; k < nrun; k++) {
            int ih = run[k].ih0 + r * dh;
            uint32_t m = mask[k * S + s];
            if (ih < 0 || ih >= H || !m)
                continue;
            const float *row = plane + (size_t)ih * cp->rstride;
            if (m & 0xffffu)
                v0 = _mm512_mask_loadu_ps(v0, (__mmask16)m, lane0(row, co, run[k].jo, 0));
            if (m >> 16)
                v1 = _mm512_mask_loadu_ps(v1, (__mmask16)(m >> 16), lane0(row, co, run[k].jo, 16));
        }
        _mm512_store_ps(dst + (size_t)q * 32, v0);
        _mm512_store_ps(dst + (size_t)q * 32 + 16, v1);
        if (++s == S) {
            s = 0;
            if (++r == R) {
                r = 0;
                c++;
            }
        }
    }
}
