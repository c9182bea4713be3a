/* conv_avx512.c: the implicit-im2col panel packer of the AVX-512 path (compiled with
 * -mavx512f -mavx512bw -mavx512vl -mfma, called only when kcpu_isa() is avx512).
 *
 * Writes exactly what kcpu_pack_im2col_generic (conv.c) writes: a 32-wide panel, row q =
 * (c, r, s) of col for 32 output pixels. The pixels form a few runs within output rows
 * (kcpu_im2col_runs); for each run and each 16-lane half of the panel, the lanes whose
 * input lies inside the image are one masked load from the input row (a masked-off lane
 * reads nothing, so padding and row ends need no branches per element), the rest stay
 * zero. The loads depend on the tap (r, s) and not on the channel, so the panel is
 * written tap by tap: the loads' offsets and masks are worked out once per tap, then each
 * channel's row of the panel is those loads from its plane and two stores (kernels up to
 * 8 columns wide; wider ones use the generic loops). */
#include "kernels/cpu/kcpu.h"

#include <assert.h>
#include <stddef.h>
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

/* p + off, computed in integers: for the lanes of a load that lie before a run the
 * address points before the row (or the plane), but those lanes are masked off and never
 * read. */
static inline const float *shifted(const float *p, ptrdiff_t off)
{
    return (const float *)((uintptr_t)p + (uintptr_t)(off * (ptrdiff_t)sizeof(float)));
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
    /* Tap by tap (r, s), then the channels c with q = c*RS + t in [q0, q0 + kc): per tap
     * the loads (row offset, lanes) are the same for every channel but the plane. */
    const int RS = R * S;
    for (int t = 0; t < RS; t++) {
        int r = t / S, s = t % S;
        int c0 = q0 - t <= 0 ? 0 : (q0 - t + RS - 1) / RS, c1 = (q0 + kc - t + RS - 1) / RS;
        if (c1 <= c0)
            continue;
        /* the loads of one half: offset from the plane of lane 0, lanes */
        ptrdiff_t off[2][32];
        __mmask16 lm[2][32];
        int nl[2] = {0, 0};
        for (int k = 0; k < nrun; k++) {
            int ih = run[k].ih0 + r * dh;
            uint32_t m = mask[k * S + s];
            if (ih < 0 || ih >= H || !m)
                continue;
            ptrdiff_t base = (ptrdiff_t)ih * (ptrdiff_t)cp->rstride + cp->coloff[s] - run[k].jo;
            for (int h = 0; h < 2; h++)
                if ((m >> (16 * h)) & 0xffffu) {
                    off[h][nl[h]] = base + 16 * h;
                    lm[h][nl[h]++] = (__mmask16)(m >> (16 * h));
                }
        }
        const float *plane = cp->src + (size_t)c0 * cp->cstride;
        float *o = dst + ((size_t)c0 * RS + t - q0) * 32;
        for (int c = c0; c < c1; c++, plane += cp->cstride, o += (size_t)RS * 32) {
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            for (int i = 0; i < nl[0]; i++)
                v0 = _mm512_mask_loadu_ps(v0, lm[0][i], shifted(plane, off[0][i]));
            for (int i = 0; i < nl[1]; i++)
                v1 = _mm512_mask_loadu_ps(v1, lm[1][i], shifted(plane, off[1][i]));
            _mm512_store_ps(o, v0);
            _mm512_store_ps(o + 16, v1);
        }
    }
}
