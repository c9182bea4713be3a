/* kcpu_cases.h: compare.h cases on shapes large enough to reach the code paths of the fast
 * CPU backend that tests/kernels/cases.h (small odd shapes) does not: GEMM sizes crossing
 * the KC/MC/NC cache blocks and the register tiles, with every transpose and odd sizes
 * (1, 3, 7, 13, 31, 33, 65 ...); convolutions of network size, 1x1 direct convs, the
 * column-chunked im2col; and element-wise, batch-norm, pooling and loss sizes above the
 * thresholds where OpenMP threads and the blocked reductions start; cloth colours past the
 * threading threshold and the bending's batches, held to the reference bits.
 *
 * Limits, as cases.h argues them: sums of K products in float differ from the double
 * reference by about sqrt(K) 6e-8 relative, so 1e-5 for GEMM and convolutions (K up to a
 * few thousand), 5e-5 for batch-norm backward, 1e-6 / 4e-6 element-wise. */
#ifndef TRYON_TESTS_KERNELS_CPU_KCPU_CASES_H
#define TRYON_TESTS_KERNELS_CPU_KCPU_CASES_H

#include "kernels/compare.h"

static int kc_odd(struct cmp_env *e, int big)
{
    static const int dims[] = {1, 3, 7, 13, 31, 33, 65, 129, 150, 257, 300};
    int nd = big ? 11 : 7;
    return cmp_int(e, 0, 2) ? dims[cmp_int(e, 0, nd - 1)] : cmp_int(e, 1, big ? 320 : 70);
}

/* GEMM with every transpose, sizes across the register tiles and KC (256) / MC blocks. */
static void kc_gemm(struct cmp_env *e)
{
    bool ta = cmp_int(e, 0, 1), tb = cmp_int(e, 0, 1);
    int m = kc_odd(e, 1), n = kc_odd(e, 1), k = kc_odd(e, 1) + (cmp_int(e, 0, 3) == 0 ? 300 : 0);
    int lda = (ta ? m : k) + cmp_int(e, 0, 5), ldb = (tb ? k : n) + cmp_int(e, 0, 5);
    float alpha = cmp_unif(e, -2.0f, 2.0f);
    float beta = cmp_int(e, 0, 2) == 0 ? 0.0f : cmp_unif(e, -1.5f, 1.5f);
    int ldc = beta == 0.0f ? n : n + cmp_int(e, 0, 5);
    cmp_note(e, "ta %d tb %d m %d n %d k %d lda %d ldb %d ldc %d alpha %g beta %g", ta, tb, m, n, k, lda, ldb, ldc,
             alpha, beta);
    const float *a = cmp_in(e, (size_t)(ta ? k : m) * lda, -1, 1);
    const float *b = cmp_in(e, (size_t)(tb ? n : k) * ldb, -1, 1);
    float *c = beta == 0.0f ? cmp_out(e, "c", (size_t)m * ldc) : cmp_acc(e, "c", (size_t)m * ldc, -1, 1);
    kern_gemm(e->ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Wider than one NC block (4096 columns), thin in m and k. */
static void kc_gemm_wide(struct cmp_env *e)
{
    bool ta = cmp_int(e, 0, 1), tb = cmp_int(e, 0, 1);
    int m = cmp_int(e, 1, 20), n = cmp_int(e, 4097, 9000), k = cmp_int(e, 1, 40);
    cmp_note(e, "ta %d tb %d m %d n %d k %d", ta, tb, m, n, k);
    const float *a = cmp_in(e, (size_t)m * k, -1, 1), *b = cmp_in(e, (size_t)k * n, -1, 1);
    kern_gemm(e->ctx, ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, cmp_out(e, "c", (size_t)m * n), n);
}

static void kc_linear(struct cmp_env *e)
{
    int n = kc_odd(e, 0), in = kc_odd(e, 1), out = kc_odd(e, 1);
    bool bias = cmp_int(e, 0, 1);
    cmp_note(e, "n %d in %d out %d bias %d", n, in, out, bias);
    const float *x = cmp_in(e, (size_t)n * in, -1, 1), *w = cmp_in(e, (size_t)out * in, -1, 1);
    const float *b = bias ? cmp_in(e, out, -1, 1) : NULL;
    kern_linear_fwd(e->ctx, n, in, out, x, w, b, cmp_out(e, "y", (size_t)n * out));
    const float *dy = cmp_in(e, (size_t)n * out, -1, 1);
    float *dx = cmp_acc(e, "dx", (size_t)n * in, -1, 1), *dw = cmp_acc(e, "dw", (size_t)out * in, -1, 1);
    kern_linear_bwd(e->ctx, n, in, out, dy, x, w, dx, dw, bias ? cmp_acc(e, "db", out, -1, 1) : NULL);
}

/* A network-sized conv: the encoder's kinds of layers (7x7 s2 stem, 3x3, 3x3 s2, 1x1,
 * grouped), odd spatial sizes. */
static struct kern_conv2d kc_conv_shape(struct cmp_env *e, bool t)
{
    static const int ks[] = {1, 1, 3, 3, 3, 5, 7};
    for (;;) {
        struct kern_conv2d d = {0};
        d.groups = cmp_int(e, 0, 3) == 0 ? 2 : 1;
        d.n = cmp_int(e, 1, 4);
        d.c = d.groups * (cmp_int(e, 0, 1) ? 3 : cmp_int(e, 1, 16));
        d.k = d.groups * cmp_int(e, 1, 33);
        d.h = kc_odd(e, 0) % 24 + 1;
        d.w = kc_odd(e, 0) % 24 + 1;
        d.r = d.s = ks[cmp_int(e, 0, 6)];
        d.stride_h = d.stride_w = cmp_int(e, 1, 2);
        d.pad_h = d.pad_w = cmp_int(e, 0, 1) ? d.r / 2 : 0;
        d.dil_h = d.dil_w = cmp_int(e, 0, 5) == 0 ? 2 : 1;
        if (t)
            d.opad_h = d.opad_w = cmp_int(e, 0, d.stride_h - 1);
        if (!cmp_conv_init(&d, t))
            continue;
        cmp_note(e, "n %d c %d %dx%d k %d %dx%d stride %d pad %d dil %d opad %d groups %d -> %dx%d", d.n, d.c, d.h,
                 d.w, d.k, d.r, d.s, d.stride_h, d.pad_h, d.dil_h, d.opad_h, d.groups, d.oh, d.ow);
        return d;
    }
}

/* Forward, backward-data and backward-filter of one conv (transposed when t). */
static void kc_conv_all(struct cmp_env *e, const struct kern_conv2d *d, bool t)
{
    size_t nx = (size_t)d->n * d->c * d->h * d->w, ny = (size_t)d->n * d->k * d->oh * d->ow;
    size_t nw = t ? (size_t)d->c * (d->k / d->groups) * d->r * d->s : (size_t)d->k * (d->c / d->groups) * d->r * d->s;
    bool bias = cmp_int(e, 0, 1);
    const float *x = cmp_in(e, nx, -1, 1), *w = cmp_in(e, nw, -1, 1), *dy = cmp_in(e, ny, -1, 1);
    const float *b = bias ? cmp_in(e, d->k, -1, 1) : NULL;
    float *y = cmp_out(e, "y", ny), *dx = cmp_acc(e, "dx", nx, -1, 1), *dw = cmp_acc(e, "dw", nw, -1, 1);
    float *db = bias ? cmp_acc(e, "db", d->k, -1, 1) : NULL;
    if (t) {
        kern_convt2d_fwd(e->ctx, d, x, w, b, y);
        kern_convt2d_bwd_data(e->ctx, d, dy, w, dx);
        kern_convt2d_bwd_filter(e->ctx, d, x, dy, dw, db);
    } else {
        kern_conv2d_fwd(e->ctx, d, x, w, b, y);
        kern_conv2d_bwd_data(e->ctx, d, dy, w, dx);
        kern_conv2d_bwd_filter(e->ctx, d, x, dy, dw, db);
    }
}

static void kc_conv(struct cmp_env *e)
{
    struct kern_conv2d d = kc_conv_shape(e, false);
    kc_conv_all(e, &d, false);
}

/* The fused conv + activation on network-size shapes (bias and activation drawn). */
static void kc_conv_act(struct cmp_env *e)
{
    struct kern_conv2d d = kc_conv_shape(e, false);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.k * d.oh * d.ow;
    size_t nw = (size_t)d.k * (d.c / d.groups) * d.r * d.s;
    bool bias = cmp_int(e, 0, 1);
    enum kern_act act = (enum kern_act)cmp_int(e, 0, 3);
    float slope = cmp_unif(e, 0.01f, 0.3f);
    const float *x = cmp_in(e, nx, -1, 1), *w = cmp_in(e, nw, -1, 1);
    const float *b = bias ? cmp_in(e, d.k, -1, 1) : NULL;
    kern_conv2d_fwd_act(e->ctx, &d, x, w, b, act, slope, cmp_out(e, "y", ny));
}

static void kc_convt(struct cmp_env *e)
{
    struct kern_conv2d d = kc_conv_shape(e, true);
    kc_conv_all(e, &d, true);
}

/* 64 -> 4 channels 3x3 on 90x90: Cg*R*S * OH*OW = 576 * 8100 floats of columns, more than
 * one 1M-float chunk, so im2col / col2im run on partial pixel ranges. */
static void kc_conv_chunked(struct cmp_env *e)
{
    struct kern_conv2d d = {.n = 1, .c = 64, .h = 90, .w = 90, .k = 4, .r = 3, .s = 3, .stride_h = 1,
                            .stride_w = 1, .pad_h = 1, .pad_w = 1, .dil_h = 1, .dil_w = 1, .groups = 1};
    kern_conv2d_init(&d);
    cmp_note(e, "64->4 3x3 on 90x90");
    kc_conv_all(e, &d, false);
}

static void kc_bn(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 4), c = cmp_int(e, 1, 9), hw = cmp_int(e, 1000, 5000);
    cmp_note(e, "n %d c %d hw %d", n, c, hw);
    size_t nx = (size_t)n * c * hw;
    const float *x = cmp_in(e, nx, -2, 3), *gamma = cmp_in(e, c, 0.5f, 1.5f), *beta = cmp_in(e, c, -1, 1);
    const float *dy = cmp_in(e, nx, -1, 1);
    float *rm = cmp_acc(e, "running_mean", c, -1, 1), *rv = cmp_acc(e, "running_var", c, 0.5f, 2);
    float *sm = cmp_out(e, "save_mean", c), *si = cmp_out(e, "save_invstd", c);
    float *y = cmp_out(e, "y", nx);
    kern_bn_fwd_train(e->ctx, n, c, hw, x, gamma, beta, 1e-5f, 0.1f, rm, rv, sm, si, y);
    kern_bn_fwd_infer(e->ctx, n, c, hw, x, gamma, beta, rm, rv, 1e-5f, cmp_out(e, "y_infer", nx));
    float *dx = cmp_acc(e, "dx", nx, -1, 1), *dg = cmp_acc(e, "dgamma", c, -1, 1);
    kern_bn_bwd(e->ctx, n, c, hw, dy, x, gamma, sm, si, dx, dg, cmp_acc(e, "dbeta", c, -1, 1));
}

/* Element-wise ops above the threading threshold: every activation forward and backward,
 * add, axpy, scale, AdamW. */
static void kc_eltwise(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 40000, 120000);
    float slope = cmp_unif(e, 0.01f, 0.3f);
    cmp_note(e, "n %zu", n);
    const float *x = cmp_in(e, n, -6, 6), *x2 = cmp_in(e, n, -1, 1), *dy = cmp_in(e, n, -1, 1);
    static const char *names[4][2] = {{"relu", "drelu"}, {"leaky", "dleaky"}, {"tanh", "dtanh"},
                                      {"sigmoid", "dsigmoid"}};
    for (int a = 0; a < 4; a++) {
        float *y = cmp_out(e, names[a][0], n);
        kern_act_fwd(e->ctx, (enum kern_act)a, slope, n, x, y);
        kern_act_bwd(e->ctx, (enum kern_act)a, slope, n, x, y, dy, cmp_acc(e, names[a][1], n, -1, 1));
    }
    kern_add(e->ctx, n, x, x2, cmp_out(e, "add", n));
    kern_axpy(e->ctx, n, cmp_unif(e, -2, 2), x, cmp_acc(e, "axpy", n, -1, 1));
    kern_scale(e->ctx, n, cmp_unif(e, -2, 2), cmp_acc(e, "scale", n, -1, 1));
    struct kern_adamw h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, cmp_int(e, 1, 50)};
    float *p = cmp_acc(e, "param", n, -1, 1), *m = cmp_acc(e, "m", n, -0.1f, 0.1f);
    kern_adamw_step(e->ctx, &h, n, p, x2, m, cmp_acc(e, "v", n, 0, 0.01f));
}

/* Losses over more than one reduction block (16384), with gradients; softmax CE rows. */
static void kc_losses(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 20000, 90000);
    cmp_note(e, "n %zu", n);
    const float *p = cmp_in(e, n, -3, 3), *t = cmp_in(e, n, 0, 1);
    float scale = cmp_unif(e, 0.5f, 2.0f);
    cmp_scalar(e, "l1", kern_loss_l1(e->ctx, n, p, t, scale, cmp_acc(e, "dl1", n, -1, 1)));
    cmp_scalar(e, "mse", kern_loss_mse(e->ctx, n, p, t, scale, cmp_acc(e, "dmse", n, -1, 1)));
    cmp_scalar(e, "bce", kern_loss_bce_logits(e->ctx, n, p, t, scale, cmp_acc(e, "dbce", n, -1, 1)));
    int rows = cmp_int(e, 300, 900), k = cmp_int(e, 2, 100);
    const float *lg = cmp_in(e, (size_t)rows * k, -4, 4);
    const int32_t *lab = cmp_in_labels(e, rows, k);
    cmp_scalar(e, "softmax_ce",
               kern_loss_softmax_ce(e->ctx, rows, k, lg, lab, scale, cmp_acc(e, "dce", (size_t)rows * k, -1, 1)));
}

/* Pooling, GAP, upsampling and concat on many planes (threaded). */
static void kc_pool(struct cmp_env *e)
{
    struct kern_pool2d d = {0};
    d.n = cmp_int(e, 1, 4);
    d.c = cmp_int(e, 8, 24);
    d.r = d.s = cmp_int(e, 2, 3);
    d.h = cmp_int(e, 16, 40);
    d.w = cmp_int(e, 16, 40);
    d.stride_h = d.stride_w = cmp_int(e, 1, 2);
    d.pad_h = d.pad_w = cmp_int(e, 0, d.r / 2);
    d.count_include_pad = cmp_int(e, 0, 1);
    kern_pool2d_init(&d);
    cmp_note(e, "n %d c %d %dx%d window %d stride %d pad %d", d.n, d.c, d.h, d.w, d.r, d.stride_h, d.pad_h);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.oh * d.ow, planes = (size_t)d.n * d.c;
    const float *x = cmp_in(e, nx, -1, 1), *dy = cmp_in(e, ny, -1, 1);
    int32_t *arg = cmp_out_i32(e, "argmax", ny);
    kern_maxpool2d_fwd(e->ctx, &d, x, cmp_out(e, "max", ny), arg);
    kern_maxpool2d_bwd(e->ctx, &d, dy, arg, cmp_acc(e, "dmax", nx, -1, 1));
    kern_avgpool2d_fwd(e->ctx, &d, x, cmp_out(e, "avg", ny));
    kern_avgpool2d_bwd(e->ctx, &d, dy, cmp_acc(e, "davg", nx, -1, 1));
    int hw = d.h * d.w;
    const float *dg = cmp_in(e, planes, -1, 1);
    kern_gap_fwd(e->ctx, d.n, d.c, hw, x, cmp_out(e, "gap", planes));
    kern_gap_bwd(e->ctx, d.n, d.c, hw, dg, cmp_acc(e, "dgap", nx, -1, 1));
    int f = cmp_int(e, 2, 3);
    size_t nu = nx * f * f;
    const float *du = cmp_in(e, nu, -1, 1);
    kern_upsample_nearest_fwd(e->ctx, d.n, d.c, d.h, d.w, f, x, cmp_out(e, "upnear", nu));
    kern_upsample_nearest_bwd(e->ctx, d.n, d.c, d.h, d.w, f, du, cmp_acc(e, "dupnear", nx, -1, 1));
    int oh = cmp_int(e, 5, 70), ow = cmp_int(e, 5, 70);
    size_t nb = planes * oh * ow;
    const float *db = cmp_in(e, nb, -1, 1);
    kern_upsample_bilinear_fwd(e->ctx, d.n, d.c, d.h, d.w, oh, ow, x, cmp_out(e, "bilinear", nb));
    kern_upsample_bilinear_bwd(e->ctx, d.n, d.c, d.h, d.w, oh, ow, db, cmp_acc(e, "dbilinear", nx, -1, 1));
    const float *x2 = cmp_in(e, nx, -1, 1), *dc = cmp_in(e, 2 * nx, -1, 1);
    kern_concat_fwd(e->ctx, d.n, hw, d.c, x, d.c, x2, cmp_out(e, "concat", 2 * nx));
    kern_concat_bwd(e->ctx, d.n, hw, d.c, d.c, dc, cmp_acc(e, "dconcat_a", nx, -1, 1),
                    cmp_acc(e, "dconcat_b", nx, -1, 1));
}

/* Max pooling on inputs full of ties (a few values, +0 and -0) or NaNs: the vectorized
 * windows must pick kfn's winner (first maximum in row-major window order, last NaN), so
 * the argmax is compared exactly; with NaNs only the argmax is compared (NaN != NaN). */
static void kc_maxpool_ties(struct cmp_env *e, bool nans)
{
    static const float vals[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f};
    struct kern_pool2d d = {0};
    d.n = cmp_int(e, 1, 3);
    d.c = cmp_int(e, 1, 9);
    d.r = cmp_int(e, 1, 4);
    d.s = cmp_int(e, 1, 4);
    d.h = cmp_int(e, d.r, 40);
    d.w = cmp_int(e, d.s, 70);
    d.stride_h = cmp_int(e, 1, 3);
    d.stride_w = cmp_int(e, 1, 3);
    d.pad_h = cmp_int(e, 0, d.r / 2);
    d.pad_w = cmp_int(e, 0, d.s / 2);
    kern_pool2d_init(&d);
    cmp_note(e, "n %d c %d %dx%d window %dx%d stride %d,%d pad %d,%d nans %d", d.n, d.c, d.h, d.w, d.r, d.s,
             d.stride_h, d.stride_w, d.pad_h, d.pad_w, nans);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.oh * d.ow;
    float *host = malloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; i++)
        host[i] = nans && cmp_int(e, 0, 5) == 0 ? NAN : vals[cmp_int(e, 0, nans ? 4 : 2)];
    float *x = cmp_tmp(e, nx);
    kern_upload(e->ctx, x, host, nx);
    free(host);
    float *y = nans ? cmp_tmp(e, ny) : cmp_out(e, "max", ny);
    kern_maxpool2d_fwd(e->ctx, &d, x, y, cmp_out_i32(e, "argmax", ny));
    if (!nans) /* and without argmax (inference) the same values */
        kern_maxpool2d_fwd(e->ctx, &d, x, cmp_out(e, "max_noarg", ny), NULL);
}
static void kc_maxpool_zeros(struct cmp_env *e) { kc_maxpool_ties(e, false); }
static void kc_maxpool_nans(struct cmp_env *e) { kc_maxpool_ties(e, true); }

/* Cloth colours above the threading threshold (2048) and over many bending batches of 64
   with a remainder: the CPU backend on every ISA must give the reference bits exactly. */
static void kc_cloth_stretch(struct cmp_env *e)
{
    int nv = cmp_int(e, 4200, 9000), ne = cmp_int(e, 2100, nv / 2), first = cmp_int(e, 0, 70);
    cloth_stretch_run(e, nv, ne, first, cmp_unif(e, 0, 0.2f));
}

static void kc_cloth_bend(struct cmp_env *e)
{
    int nv = cmp_int(e, 8400, 12000), nb = cmp_int(e, 2100, nv / 4), first = cmp_int(e, 0, 70);
    cloth_bend_run(e, nv, nb, first, cmp_unif(e, 0, 10));
}

static void kc_cloth_vertex(struct cmp_env *e) { cloth_vertex_run(e, cmp_int(e, 2100, 6000)); }

/* The large cases with their limits and trial counts (the reference is slow on them). */
struct kc_case {
    struct cmp_case c;
    int trials;
};
static const struct kc_case kc_cases[] = {
    {{"gemm_blocks", kc_gemm, 1e-5}, 10},
    {{"gemm_wide", kc_gemm_wide, 1e-5}, 2},
    {{"linear", kc_linear, 1e-5}, 6},
    {{"conv2d_net", kc_conv, 1e-5}, 8},
    {{"conv2d_act_net", kc_conv_act, 1e-5}, 8},
    {{"convt2d_net", kc_convt, 1e-5}, 6},
    {{"conv2d_chunked", kc_conv_chunked, 1e-5}, 1},
    {{"bn_big", kc_bn, 5e-5}, 3},
    {{"eltwise_big", kc_eltwise, 4e-6}, 2},
    {{"losses_big", kc_losses, 1e-5}, 2},
    {{"pool_big", kc_pool, 1e-6}, 3},
    {{"maxpool_ties", kc_maxpool_zeros, 0.0}, 12},
    {{"maxpool_nans", kc_maxpool_nans, 0.0}, 12},
    {{"cloth_stretch_big", kc_cloth_stretch, 0.0}, 3},
    {{"cloth_bend_big", kc_cloth_bend, 0.0}, 3},
    {{"cloth_vertex_big", kc_cloth_vertex, 0.0}, 3},
};
#define KC_NCASES ((int)(sizeof(kc_cases) / sizeof(kc_cases[0])))

#endif
