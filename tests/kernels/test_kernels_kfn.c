/* test_kernels_kfn.c: the per-element and per-index functions of kernels/kfn.h on the host.
 *
 * The CUDA kernels of concat, pooling and upsampling are one thread per element calling the
 * "_at" gathers of kfn.h. This test runs those same functions over every index, as a grid
 * would, and compares with the reference backend's independent scatter loops: the GPU's
 * index arithmetic is tested here even on machines without a GPU. Exact ops (forward max
 * pooling, argmax, nearest, concat) must match bit for bit; sums and interpolations must
 * agree to 1e-6 normalized error (the gather adds in another order). It also checks the reader-range
 * helpers exhaustively against brute force, and the stable scalar forms at extremes. */
#include <stdlib.h>

#include "check.h"
#include "common/common.h"
#include "kernels/kfn.h"

static struct rng g_rng;

static float *rnd(size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = rng_float(&g_rng) * 2.0f - 1.0f;
    return p;
}

static float *copyf(const float *x, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    memcpy(p, x, n * sizeof(float));
    return p;
}

static double nerr(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return sqrt(d) / (sqrt(s) + 1e-30);
}

static int ri(int lo, int hi) { return lo + (int)(rng_u32(&g_rng) % (uint32_t)(hi - lo + 1)); }

static void test_readers(void)
{
    int bad = 0;
    for (int in = 1; in <= 20; in++)
        for (int out = 1; out <= 40; out++) {
            float sc = kfn_bilinear_scale(in, out);
            for (int i = 0; i < in; i++) {
                int lo, hi;
                kfn_bilinear_readers(i, in, out, &lo, &hi);
                for (int d = 0; d < out; d++) {
                    int i0, i1;
                    float l0, l1;
                    kfn_bilinear_src(d, sc, in, &i0, &i1, &l0, &l1);
                    bool reads = i0 == i || i1 == i;
                    bool inside = d >= lo && d < hi;
                    /* every reader is inside; an insider that does not read is harmless only
                     * if it has zero weight, which the gather skips: require exactness */
                    bad += reads != inside;
                }
            }
        }
    CHECK_EQ_INT(bad, 0);
    bad = 0;
    for (int r = 1; r <= 4; r++)
        for (int st = 1; st <= 3; st++)
            for (int pad = 0; pad <= r / 2; pad++)
                for (int in = r; in <= 12; in++) {
                    int out = (in + 2 * pad - r) / st + 1;
                    for (int i = 0; i < in; i++) {
                        int lo, hi;
                        kfn_window_readers(i, r, st, pad, out, &lo, &hi);
                        for (int o = 0; o < out; o++) {
                            bool covers = i >= o * st - pad && i < o * st - pad + r;
                            bad += covers != (o >= lo && o < hi);
                        }
                    }
                }
    CHECK_EQ_INT(bad, 0);
}

static void test_pool_emulation(struct kern_ctx *ref)
{
    for (int t = 0; t < 60; t++) {
        struct kern_pool2d d = {0};
        d.n = ri(1, 2);
        d.c = ri(1, 3);
        d.r = ri(1, 4);
        d.s = ri(1, 4);
        d.h = ri(d.r, 11);
        d.w = ri(d.s, 11);
        d.stride_h = ri(1, 3);
        d.stride_w = ri(1, 3);
        d.pad_h = ri(0, d.r / 2);
        d.pad_w = ri(0, d.s / 2);
        d.count_include_pad = ri(0, 1);
        kern_pool2d_init(&d);
        size_t in_sz = (size_t)d.h * d.w, out_sz = (size_t)d.oh * d.ow, planes = (size_t)d.n * d.c;
        size_t nx = planes * in_sz, ny = planes * out_sz;
        float *x = rnd(nx), *dy = rnd(ny), *pre = rnd(nx);
        if (t % 5 == 0) /* ties: few distinct values */
            for (size_t i = 0; i < nx; i++)
                x[i] = (float)(int)(x[i] * 2.0f);
        float *y_ref = rnd(ny), *y_emu = rnd(ny);
        int32_t *a_ref = calloc(ny, 4), *a_emu = calloc(ny, 4);
        kern_maxpool2d_fwd(ref, &d, x, y_ref, a_ref);
        for (size_t p = 0; p < planes; p++)
            for (int oy = 0; oy < d.oh; oy++)
                for (int ox = 0; ox < d.ow; ox++) {
                    size_t o = p * out_sz + (size_t)oy * d.ow + ox;
                    y_emu[o] = kfn_maxpool_fwd_at(&d, x + p * in_sz, oy, ox, &a_emu[o]);
                }
        CHECK(memcmp(y_ref, y_emu, ny * 4) == 0);
        CHECK(memcmp(a_ref, a_emu, ny * 4) == 0);
        /* backward: REF scatters, the GPU gathers */
        float *dx_ref = copyf(pre, nx), *dx_emu = copyf(pre, nx);
        kern_maxpool2d_bwd(ref, &d, dy, a_ref, dx_ref);
        for (size_t p = 0; p < planes; p++)
            for (int iy = 0; iy < d.h; iy++)
                for (int ix = 0; ix < d.w; ix++)
                    dx_emu[p * in_sz + (size_t)iy * d.w + ix] +=
                        kfn_maxpool_bwd_at(&d, dy + p * out_sz, a_ref + p * out_sz, iy, ix);
        CHECK_MSG(nerr(dx_emu, dx_ref, nx) <= 1e-6, "maxpool bwd trial %d: %g", t, nerr(dx_emu, dx_ref, nx));
        /* average pooling */
        kern_avgpool2d_fwd(ref, &d, x, y_ref);
        for (size_t p = 0; p < planes; p++)
            for (int oy = 0; oy < d.oh; oy++)
                for (int ox = 0; ox < d.ow; ox++)
                    y_emu[p * out_sz + (size_t)oy * d.ow + ox] = kfn_avgpool_fwd_at(&d, x + p * in_sz, oy, ox);
        CHECK_MSG(nerr(y_emu, y_ref, ny) <= 1e-6, "avgpool fwd trial %d: %g", t, nerr(y_emu, y_ref, ny));
        memcpy(dx_ref, pre, nx * 4);
        memcpy(dx_emu, pre, nx * 4);
        kern_avgpool2d_bwd(ref, &d, dy, dx_ref);
        for (size_t p = 0; p < planes; p++)
            for (int iy = 0; iy < d.h; iy++)
                for (int ix = 0; ix < d.w; ix++)
                    dx_emu[p * in_sz + (size_t)iy * d.w + ix] += kfn_avgpool_bwd_at(&d, dy + p * out_sz, iy, ix);
        CHECK_MSG(nerr(dx_emu, dx_ref, nx) <= 1e-6, "avgpool bwd trial %d: %g", t, nerr(dx_emu, dx_ref, nx));
        free(x), free(dy), free(pre), free(y_ref), free(y_emu), free(a_ref), free(a_emu), free(dx_ref),
            free(dx_emu);
    }
}

static void test_resample_emulation(struct kern_ctx *ref)
{
    for (int t = 0; t < 60; t++) {
        int n = ri(1, 2), c = ri(1, 3), h = ri(1, 12), w = ri(1, 12), oh = ri(1, 30), ow = ri(1, 30), f = ri(1, 4);
        size_t planes = (size_t)n * c, nx = planes * h * w, ny = planes * oh * ow, nf = nx * f * f;
        float *x = rnd(nx), *dy = rnd(ny), *dyf = rnd(nf), *pre = rnd(nx);
        float *y_ref = rnd(ny), *y_emu = rnd(ny);
        kern_upsample_bilinear_fwd(ref, n, c, h, w, oh, ow, x, y_ref);
        for (size_t p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    y_emu[(p * oh + oy) * ow + ox] = kfn_bilinear_fwd_at(x + p * h * w, h, w, oh, ow, oy, ox);
        CHECK_MSG(nerr(y_emu, y_ref, ny) <= 1e-6, "bilinear fwd %dx%d -> %dx%d: %g", h, w, oh, ow,
                  nerr(y_emu, y_ref, ny));
        float *dx_ref = copyf(pre, nx), *dx_emu = copyf(pre, nx);
        kern_upsample_bilinear_bwd(ref, n, c, h, w, oh, ow, dy, dx_ref);
        for (size_t p = 0; p < planes; p++)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    dx_emu[(p * h + iy) * w + ix] += kfn_bilinear_bwd_at(dy + p * oh * ow, h, w, oh, ow, iy, ix);
        CHECK_MSG(nerr(dx_emu, dx_ref, nx) <= 1e-6, "bilinear bwd %dx%d -> %dx%d: %g", h, w, oh, ow,
                  nerr(dx_emu, dx_ref, nx));
        /* nearest */
        float *yf_ref = rnd(nf), *yf_emu = rnd(nf);
        kern_upsample_nearest_fwd(ref, n, c, h, w, f, x, yf_ref);
        for (size_t p = 0; p < planes; p++)
            for (int oy = 0; oy < h * f; oy++)
                for (int ox = 0; ox < w * f; ox++)
                    yf_emu[(p * h * f + oy) * w * f + ox] = kfn_upnear_fwd_at(x + p * h * w, w, f, oy, ox);
        CHECK(memcmp(yf_emu, yf_ref, nf * 4) == 0);
        memcpy(dx_ref, pre, nx * 4);
        memcpy(dx_emu, pre, nx * 4);
        kern_upsample_nearest_bwd(ref, n, c, h, w, f, dyf, dx_ref);
        for (size_t p = 0; p < planes; p++)
            for (int iy = 0; iy < h; iy++)
                for (int ix = 0; ix < w; ix++)
                    dx_emu[(p * h + iy) * w + ix] += kfn_upnear_bwd_at(dyf + p * h * w * f * f, w, f, iy, ix);
        CHECK_MSG(nerr(dx_emu, dx_ref, nx) <= 1e-6, "nearest bwd: %g", nerr(dx_emu, dx_ref, nx));
        free(x), free(dy), free(dyf), free(pre), free(y_ref), free(y_emu), free(dx_ref), free(dx_emu), free(yf_ref),
            free(yf_emu);
    }
}

static void test_concat_emulation(struct kern_ctx *ref)
{
    for (int t = 0; t < 20; t++) {
        int n = ri(1, 3), hw = ri(1, 30), ca = ri(1, 5), cb = ri(1, 5);
        size_t na = (size_t)n * ca * hw, nb = (size_t)n * cb * hw, ny = na + nb;
        float *a = rnd(na), *b = rnd(nb), *y_ref = rnd(ny), *y_emu = rnd(ny);
        kern_concat_fwd(ref, n, hw, ca, a, cb, b, y_ref);
        for (size_t i = 0; i < ny; i++) {
            size_t j;
            y_emu[i] = kfn_concat_src(i, hw, ca, cb, &j) ? a[j] : b[j];
        }
        CHECK(memcmp(y_emu, y_ref, ny * 4) == 0);
        free(a), free(b), free(y_ref), free(y_emu);
    }
}

static void test_scalars(void)
{
    /* the stable forms agree with the textbook ones where those are safe */
    for (float x = -15.0f; x <= 15.0f; x += 0.37f) {
        double s = 1.0 / (1.0 + exp(-(double)x));
        CHECK_NEAR(kfn_sigmoid(x), s, 1e-7);
        for (float t = 0.0f; t <= 1.0f; t += 0.25f) {
            double naive = -(t * log(s) + (1 - t) * log(1 - s));
            CHECK_NEAR(kfn_bce_logits(x, t), naive, 2e-5 * (1 + fabs(naive)));
        }
    }
    /* and stay finite where those are not */
    CHECK(isfinite(kfn_bce_logits(1e4f, 0.0f)) && kfn_bce_logits(1e4f, 0.0f) == 1e4f);
    CHECK(kfn_sigmoid(-1e4f) == 0.0f && kfn_sigmoid(1e4f) == 1.0f);
    /* softmax-CE of a row equals the naive form */
    float row[4] = {0.5f, -1.0f, 2.0f, 0.0f};
    double z = exp(0.5) + exp(-1.0) + exp(2.0) + exp(0.0);
    CHECK_NEAR(kfn_softmax_ce_row(row, 4, 1, 0.0f, NULL), log(z) + 1.0, 1e-9);
    /* bilinear source index of torch: 3 -> 5 (scale 0.6): dst 0 clamps to 0, dst 4 reads 2,2 */
    int i0, i1;
    float l0, l1;
    kfn_bilinear_src(0, kfn_bilinear_scale(3, 5), 3, &i0, &i1, &l0, &l1);
    CHECK(i0 == 0 && i1 == 1 && l1 == 0.0f);
    kfn_bilinear_src(2, kfn_bilinear_scale(3, 5), 3, &i0, &i1, &l0, &l1); /* 0.6 * 2.5 - 0.5 = 1 */
    CHECK(i0 == 1 && i1 == 2);
    CHECK_NEAR(l1, 0.0, 1e-6);
    kfn_bilinear_src(4, kfn_bilinear_scale(3, 5), 3, &i0, &i1, &l0, &l1); /* 2.2 -> 2, last row */
    CHECK(i0 == 2 && i1 == 2);
    CHECK_NEAR(l0 + l1, 1.0, 0);
}

int main(void)
{
    rng_seed(&g_rng, 99);
    struct kern_ctx *ref = kern_create(KERN_BACKEND_REF, 0);
    CHECK(ref != NULL);
    test_readers();
    test_scalars();
    if (ref) {
        test_pool_emulation(ref);
        test_resample_emulation(ref);
        test_concat_emulation(ref);
    }
    kern_destroy(ref);
    return check_result("test_kernels_kfn");
}
