/* cases.h: one compare.h case per op of kernels.h, on random small odd shapes, with the
 * normalized-error limit each op is held to when two backends are compared. Shared by the
 * CPU-vs-REF and CUDA-vs-REF tests (header-only: each test is one executable).
 *
 * Limits: the reference sums in double, the others in float in another order, so a sum of
 * K products differs by about sqrt(K) * 6e-8 relative; 1e-5 leaves room for K in the
 * thousands. Element-wise ops without a sum are held to 1e-6, transcendental ones (CUDA's
 * expf/tanhf are within 2 ulp of glibc's) to 4e-6, batch-norm backward (a difference of
 * nearly equal sums) to 5e-5. */
#ifndef TRYON_TESTS_KERNELS_CASES_H
#define TRYON_TESTS_KERNELS_CASES_H

#include "compare.h"

/* ---- dense ---------------------------------------------------------------------------*/

static void case_gemm(struct cmp_env *e)
{
    bool ta = cmp_int(e, 0, 1), tb = cmp_int(e, 0, 1);
    int m = cmp_int(e, 1, 37), n = cmp_int(e, 1, 37), k = cmp_int(e, 1, 70);
    int lda = (ta ? m : k) + cmp_int(e, 0, 3), ldb = (tb ? k : n) + cmp_int(e, 0, 3);
    float alpha = cmp_unif(e, -2.0f, 2.0f);
    float beta = cmp_int(e, 0, 2) == 0 ? 0.0f : cmp_unif(e, -1.5f, 1.5f);
    /* beta == 0: C is write-only, prefilled with junk that differs between the backends,
     * so no padding columns there; otherwise padding columns must survive untouched */
    int ldc = n + (beta == 0.0f ? 0 : cmp_int(e, 0, 3));
    cmp_note(e, "ta %d tb %d m %d n %d k %d lda %d ldb %d ldc %d beta %g", ta, tb, m, n, k, lda, ldb, ldc, beta);
    const float *a = cmp_in(e, (size_t)(ta ? k : m) * lda, -1, 1);
    const float *b = cmp_in(e, (size_t)(tb ? n : k) * ldb, -1, 1);
    float *c = beta == 0.0f ? cmp_out(e, "c", (size_t)m * ldc) : cmp_acc(e, "c", (size_t)m * ldc, -1, 1);
    kern_gemm(e->ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void case_linear_fwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 9), in = cmp_int(e, 1, 45), out = cmp_int(e, 1, 23);
    bool bias = cmp_int(e, 0, 1);
    cmp_note(e, "n %d in %d out %d bias %d", n, in, out, bias);
    const float *x = cmp_in(e, (size_t)n * in, -1, 1), *w = cmp_in(e, (size_t)out * in, -1, 1);
    const float *b = bias ? cmp_in(e, out, -1, 1) : NULL;
    kern_linear_fwd(e->ctx, n, in, out, x, w, b, cmp_out(e, "y", (size_t)n * out));
}

static void case_linear_bwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 9), in = cmp_int(e, 1, 45), out = cmp_int(e, 1, 23);
    cmp_note(e, "n %d in %d out %d", n, in, out);
    const float *x = cmp_in(e, (size_t)n * in, -1, 1), *w = cmp_in(e, (size_t)out * in, -1, 1);
    const float *dy = cmp_in(e, (size_t)n * out, -1, 1);
    float *dx = cmp_acc(e, "dx", (size_t)n * in, -1, 1), *dw = cmp_acc(e, "dw", (size_t)out * in, -1, 1);
    float *db = cmp_acc(e, "db", out, -1, 1);
    kern_linear_bwd(e->ctx, n, in, out, dy, x, w, dx, dw, db);
}

/* ---- convolution ---------------------------------------------------------------------*/

/* A random valid conv (transposed when t) with groups, stride, padding, dilation. */
static struct kern_conv2d case_conv_shape(struct cmp_env *e, bool t)
{
    for (;;) {
        struct kern_conv2d d = {0};
        d.groups = cmp_int(e, 1, 3);
        d.n = cmp_int(e, 1, 2);
        d.c = d.groups * cmp_int(e, 1, 3);
        d.k = d.groups * cmp_int(e, 1, 3);
        d.h = cmp_int(e, 1, 9);
        d.w = cmp_int(e, 1, 9);
        d.r = cmp_int(e, 1, 3);
        d.s = cmp_int(e, 1, 3);
        d.stride_h = cmp_int(e, 1, 2);
        d.stride_w = cmp_int(e, 1, 2);
        d.pad_h = cmp_int(e, 0, 2);
        d.pad_w = cmp_int(e, 0, 2);
        d.dil_h = cmp_int(e, 1, 2);
        d.dil_w = cmp_int(e, 1, 2);
        if (t) {
            d.opad_h = cmp_int(e, 0, d.stride_h - 1);
            d.opad_w = cmp_int(e, 0, d.stride_w - 1);
        }
        if (!cmp_conv_init(&d, t))
            continue;
        cmp_note(e, "n %d c %d %dx%d k %d %dx%d stride %d,%d pad %d,%d dil %d,%d opad %d,%d groups %d -> %dx%d",
                 d.n, d.c, d.h, d.w, d.k, d.r, d.s, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.dil_h, d.dil_w,
                 d.opad_h, d.opad_w, d.groups, d.oh, d.ow);
        return d;
    }
}

static size_t nx_of(const struct kern_conv2d *d) { return (size_t)d->n * d->c * d->h * d->w; }
static size_t ny_of(const struct kern_conv2d *d) { return (size_t)d->n * d->k * d->oh * d->ow; }
static size_t nw_of(const struct kern_conv2d *d) { return (size_t)d->k * (d->c / d->groups) * d->r * d->s; }

static void case_conv2d_fwd(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, false);
    bool bias = cmp_int(e, 0, 1);
    const float *x = cmp_in(e, nx_of(&d), -1, 1), *w = cmp_in(e, nw_of(&d), -1, 1);
    const float *b = bias ? cmp_in(e, d.k, -1, 1) : NULL;
    kern_conv2d_fwd(e->ctx, &d, x, w, b, cmp_out(e, "y", ny_of(&d)));
}

/* Conv forward fused with each activation, with and without bias: held to the conv's
 * limit against the other backend's fused op (REF: conv, then act). */
static void case_conv2d_fwd_act(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, false);
    bool bias = cmp_int(e, 0, 1);
    enum kern_act act = (enum kern_act)cmp_int(e, 0, 3);
    float slope = cmp_unif(e, 0.01f, 0.3f);
    const float *x = cmp_in(e, nx_of(&d), -1, 1), *w = cmp_in(e, nw_of(&d), -1, 1);
    const float *b = bias ? cmp_in(e, d.k, -1, 1) : NULL;
    kern_conv2d_fwd_act(e->ctx, &d, x, w, b, act, slope, cmp_out(e, "y", ny_of(&d)));
}

static void case_conv2d_bwd_data(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, false);
    const float *dy = cmp_in(e, ny_of(&d), -1, 1), *w = cmp_in(e, nw_of(&d), -1, 1);
    kern_conv2d_bwd_data(e->ctx, &d, dy, w, cmp_acc(e, "dx", nx_of(&d), -1, 1));
}

static void case_conv2d_bwd_filter(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, false);
    const float *x = cmp_in(e, nx_of(&d), -1, 1), *dy = cmp_in(e, ny_of(&d), -1, 1);
    bool bias = cmp_int(e, 0, 1);
    float *dw = cmp_acc(e, "dw", nw_of(&d), -1, 1);
    float *db = bias ? cmp_acc(e, "db", d.k, -1, 1) : NULL;
    kern_conv2d_bwd_filter(e->ctx, &d, x, dy, dw, db);
}

static void case_convt2d_fwd(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, true);
    bool bias = cmp_int(e, 0, 1);
    const float *x = cmp_in(e, nx_of(&d), -1, 1), *w = cmp_in(e, nw_of(&d), -1, 1);
    const float *b = bias ? cmp_in(e, d.k, -1, 1) : NULL;
    kern_convt2d_fwd(e->ctx, &d, x, w, b, cmp_out(e, "y", ny_of(&d)));
}

static void case_convt2d_bwd_data(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, true);
    const float *dy = cmp_in(e, ny_of(&d), -1, 1), *w = cmp_in(e, nw_of(&d), -1, 1);
    kern_convt2d_bwd_data(e->ctx, &d, dy, w, cmp_acc(e, "dx", nx_of(&d), -1, 1));
}

static void case_convt2d_bwd_filter(struct cmp_env *e)
{
    struct kern_conv2d d = case_conv_shape(e, true);
    const float *x = cmp_in(e, nx_of(&d), -1, 1), *dy = cmp_in(e, ny_of(&d), -1, 1);
    bool bias = cmp_int(e, 0, 1);
    float *dw = cmp_acc(e, "dw", nw_of(&d), -1, 1);
    float *db = bias ? cmp_acc(e, "db", d.k, -1, 1) : NULL;
    kern_convt2d_bwd_filter(e->ctx, &d, x, dy, dw, db);
}

/* ---- batch norm ----------------------------------------------------------------------*/

static void case_bn_shape(struct cmp_env *e, int *n, int *c, int *hw)
{
    *n = cmp_int(e, 1, 3);
    *c = cmp_int(e, 1, 7);
    *hw = cmp_int(e, *n == 1 ? 2 : 1, 35);
    cmp_note(e, "n %d c %d hw %d", *n, *c, *hw);
}

static void case_bn_fwd_train(struct cmp_env *e)
{
    int n, c, hw;
    case_bn_shape(e, &n, &c, &hw);
    size_t nx = (size_t)n * c * hw;
    const float *x = cmp_in(e, nx, -2, 3), *gamma = cmp_in(e, c, 0.5f, 1.5f), *beta = cmp_in(e, c, -1, 1);
    float *rm = cmp_acc(e, "running_mean", c, -1, 1), *rv = cmp_acc(e, "running_var", c, 0.5f, 2);
    float *sm = cmp_out(e, "save_mean", c), *si = cmp_out(e, "save_invstd", c);
    kern_bn_fwd_train(e->ctx, n, c, hw, x, gamma, beta, 1e-5f, 0.1f, rm, rv, sm, si, cmp_out(e, "y", nx));
}

static void case_bn_fwd_infer(struct cmp_env *e)
{
    int n, c, hw;
    case_bn_shape(e, &n, &c, &hw);
    size_t nx = (size_t)n * c * hw;
    const float *x = cmp_in(e, nx, -2, 3), *gamma = cmp_in(e, c, 0.5f, 1.5f), *beta = cmp_in(e, c, -1, 1);
    const float *rm = cmp_in(e, c, -1, 1), *rv = cmp_in(e, c, 0.5f, 2);
    kern_bn_fwd_infer(e->ctx, n, c, hw, x, gamma, beta, rm, rv, 1e-5f, cmp_out(e, "y", nx));
}

static void case_bn_bwd(struct cmp_env *e)
{
    int n, c, hw;
    case_bn_shape(e, &n, &c, &hw);
    size_t nx = (size_t)n * c * hw;
    const float *x = cmp_in(e, nx, -2, 3), *gamma = cmp_in(e, c, 0.5f, 1.5f), *beta = cmp_in(e, c, -1, 1);
    const float *dy = cmp_in(e, nx, -1, 1);
    float *sm = cmp_tmp(e, c), *si = cmp_tmp(e, c), *y = cmp_tmp(e, nx);
    kern_bn_fwd_train(e->ctx, n, c, hw, x, gamma, beta, 1e-5f, 0.1f, NULL, NULL, sm, si, y);
    float *dx = cmp_acc(e, "dx", nx, -1, 1), *dg = cmp_acc(e, "dgamma", c, -1, 1);
    float *db = cmp_acc(e, "dbeta", c, -1, 1);
    kern_bn_bwd(e->ctx, n, c, hw, dy, x, gamma, sm, si, dx, dg, db);
}

/* ---- element-wise --------------------------------------------------------------------*/

static void case_act(struct cmp_env *e, enum kern_act act, bool bwd)
{
    size_t n = (size_t)cmp_int(e, 1, 999);
    float slope = cmp_unif(e, 0.01f, 0.3f);
    cmp_note(e, "act %d n %zu slope %g", (int)act, n, slope);
    const float *x = cmp_in(e, n, -6, 6);
    if (!bwd) {
        kern_act_fwd(e->ctx, act, slope, n, x, cmp_out(e, "y", n));
        return;
    }
    float *y = cmp_tmp(e, n);
    kern_act_fwd(e->ctx, act, slope, n, x, y);
    const float *dy = cmp_in(e, n, -1, 1);
    kern_act_bwd(e->ctx, act, slope, n, x, y, dy, cmp_acc(e, "dx", n, -1, 1));
}
static void case_relu_fwd(struct cmp_env *e) { case_act(e, KERN_ACT_RELU, false); }
static void case_relu_bwd(struct cmp_env *e) { case_act(e, KERN_ACT_RELU, true); }
static void case_leaky_fwd(struct cmp_env *e) { case_act(e, KERN_ACT_LEAKY_RELU, false); }
static void case_leaky_bwd(struct cmp_env *e) { case_act(e, KERN_ACT_LEAKY_RELU, true); }
static void case_tanh_fwd(struct cmp_env *e) { case_act(e, KERN_ACT_TANH, false); }
static void case_tanh_bwd(struct cmp_env *e) { case_act(e, KERN_ACT_TANH, true); }
static void case_sigmoid_fwd(struct cmp_env *e) { case_act(e, KERN_ACT_SIGMOID, false); }
static void case_sigmoid_bwd(struct cmp_env *e) { case_act(e, KERN_ACT_SIGMOID, true); }

static void case_add(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 1, 999);
    const float *a = cmp_in(e, n, -1, 1), *b = cmp_in(e, n, -1, 1);
    kern_add(e->ctx, n, a, b, cmp_out(e, "y", n));
}

static void case_axpy(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 1, 999);
    float alpha = cmp_unif(e, -2, 2);
    const float *x = cmp_in(e, n, -1, 1);
    kern_axpy(e->ctx, n, alpha, x, cmp_acc(e, "y", n, -1, 1));
}

static void case_scale(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 1, 999);
    float alpha = cmp_unif(e, -2, 2);
    kern_scale(e->ctx, n, alpha, cmp_acc(e, "x", n, -1, 1));
}

static void case_concat_fwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 3), hw = cmp_int(e, 1, 20), ca = cmp_int(e, 1, 5), cb = cmp_int(e, 1, 5);
    cmp_note(e, "n %d hw %d ca %d cb %d", n, hw, ca, cb);
    const float *a = cmp_in(e, (size_t)n * ca * hw, -1, 1), *b = cmp_in(e, (size_t)n * cb * hw, -1, 1);
    kern_concat_fwd(e->ctx, n, hw, ca, a, cb, b, cmp_out(e, "y", (size_t)n * (ca + cb) * hw));
}

static void case_concat_bwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 3), hw = cmp_int(e, 1, 20), ca = cmp_int(e, 1, 5), cb = cmp_int(e, 1, 5);
    cmp_note(e, "n %d hw %d ca %d cb %d", n, hw, ca, cb);
    const float *dy = cmp_in(e, (size_t)n * (ca + cb) * hw, -1, 1);
    float *da = cmp_acc(e, "da", (size_t)n * ca * hw, -1, 1), *db = cmp_acc(e, "db", (size_t)n * cb * hw, -1, 1);
    kern_concat_bwd(e->ctx, n, hw, ca, cb, dy, da, db);
}

/* ---- pooling and resampling ----------------------------------------------------------*/

static struct kern_pool2d case_pool_shape(struct cmp_env *e)
{
    struct kern_pool2d d = {0};
    d.n = cmp_int(e, 1, 2);
    d.c = cmp_int(e, 1, 3);
    d.r = cmp_int(e, 1, 3);
    d.s = cmp_int(e, 1, 3);
    d.h = cmp_int(e, d.r, 9);
    d.w = cmp_int(e, d.s, 9);
    d.stride_h = cmp_int(e, 1, 3);
    d.stride_w = cmp_int(e, 1, 3);
    d.pad_h = cmp_int(e, 0, d.r / 2);
    d.pad_w = cmp_int(e, 0, d.s / 2);
    d.count_include_pad = cmp_int(e, 0, 1);
    kern_pool2d_init(&d);
    cmp_note(e, "n %d c %d %dx%d win %dx%d stride %d,%d pad %d,%d incl %d -> %dx%d", d.n, d.c, d.h, d.w, d.r,
             d.s, d.stride_h, d.stride_w, d.pad_h, d.pad_w, (int)d.count_include_pad, d.oh, d.ow);
    return d;
}

static void case_maxpool_fwd(struct cmp_env *e)
{
    struct kern_pool2d d = case_pool_shape(e);
    size_t ny = (size_t)d.n * d.c * d.oh * d.ow;
    const float *x = cmp_in(e, (size_t)d.n * d.c * d.h * d.w, -1, 1);
    float *y = cmp_out(e, "y", ny);
    kern_maxpool2d_fwd(e->ctx, &d, x, y, cmp_out_i32(e, "argmax", ny));
}

static void case_maxpool_bwd(struct cmp_env *e)
{
    struct kern_pool2d d = case_pool_shape(e);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.oh * d.ow;
    const float *x = cmp_in(e, nx, -1, 1), *dy = cmp_in(e, ny, -1, 1);
    int32_t *arg = kern_alloc_i32(e->ctx, ny);
    cmp_track(e, arg);
    kern_maxpool2d_fwd(e->ctx, &d, x, cmp_tmp(e, ny), arg);
    kern_maxpool2d_bwd(e->ctx, &d, dy, arg, cmp_acc(e, "dx", nx, -1, 1));
}

static void case_avgpool_fwd(struct cmp_env *e)
{
    struct kern_pool2d d = case_pool_shape(e);
    const float *x = cmp_in(e, (size_t)d.n * d.c * d.h * d.w, -1, 1);
    kern_avgpool2d_fwd(e->ctx, &d, x, cmp_out(e, "y", (size_t)d.n * d.c * d.oh * d.ow));
}

static void case_avgpool_bwd(struct cmp_env *e)
{
    struct kern_pool2d d = case_pool_shape(e);
    const float *dy = cmp_in(e, (size_t)d.n * d.c * d.oh * d.ow, -1, 1);
    kern_avgpool2d_bwd(e->ctx, &d, dy, cmp_acc(e, "dx", (size_t)d.n * d.c * d.h * d.w, -1, 1));
}

static void case_gap_fwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 3), c = cmp_int(e, 1, 7), hw = cmp_int(e, 1, 50);
    cmp_note(e, "n %d c %d hw %d", n, c, hw);
    const float *x = cmp_in(e, (size_t)n * c * hw, -1, 1);
    kern_gap_fwd(e->ctx, n, c, hw, x, cmp_out(e, "y", (size_t)n * c));
}

static void case_gap_bwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 3), c = cmp_int(e, 1, 7), hw = cmp_int(e, 1, 50);
    cmp_note(e, "n %d c %d hw %d", n, c, hw);
    const float *dy = cmp_in(e, (size_t)n * c, -1, 1);
    kern_gap_bwd(e->ctx, n, c, hw, dy, cmp_acc(e, "dx", (size_t)n * c * hw, -1, 1));
}

static void case_upnear_fwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 2), c = cmp_int(e, 1, 3), h = cmp_int(e, 1, 7), w = cmp_int(e, 1, 7), f = cmp_int(e, 1, 3);
    cmp_note(e, "n %d c %d %dx%d f %d", n, c, h, w, f);
    const float *x = cmp_in(e, (size_t)n * c * h * w, -1, 1);
    kern_upsample_nearest_fwd(e->ctx, n, c, h, w, f, x, cmp_out(e, "y", (size_t)n * c * h * w * f * f));
}

static void case_upnear_bwd(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 2), c = cmp_int(e, 1, 3), h = cmp_int(e, 1, 7), w = cmp_int(e, 1, 7), f = cmp_int(e, 1, 3);
    cmp_note(e, "n %d c %d %dx%d f %d", n, c, h, w, f);
    const float *dy = cmp_in(e, (size_t)n * c * h * w * f * f, -1, 1);
    kern_upsample_nearest_bwd(e->ctx, n, c, h, w, f, dy, cmp_acc(e, "dx", (size_t)n * c * h * w, -1, 1));
}

static void case_bilinear_shape(struct cmp_env *e, int *n, int *c, int *h, int *w, int *oh, int *ow)
{
    *n = cmp_int(e, 1, 2);
    *c = cmp_int(e, 1, 3);
    *h = cmp_int(e, 1, 9);
    *w = cmp_int(e, 1, 9);
    *oh = cmp_int(e, 1, 17);
    *ow = cmp_int(e, 1, 17);
    cmp_note(e, "n %d c %d %dx%d -> %dx%d", *n, *c, *h, *w, *oh, *ow);
}

static void case_bilinear_fwd(struct cmp_env *e)
{
    int n, c, h, w, oh, ow;
    case_bilinear_shape(e, &n, &c, &h, &w, &oh, &ow);
    const float *x = cmp_in(e, (size_t)n * c * h * w, -1, 1);
    kern_upsample_bilinear_fwd(e->ctx, n, c, h, w, oh, ow, x, cmp_out(e, "y", (size_t)n * c * oh * ow));
}

static void case_bilinear_bwd(struct cmp_env *e)
{
    int n, c, h, w, oh, ow;
    case_bilinear_shape(e, &n, &c, &h, &w, &oh, &ow);
    const float *dy = cmp_in(e, (size_t)n * c * oh * ow, -1, 1);
    kern_upsample_bilinear_bwd(e->ctx, n, c, h, w, oh, ow, dy, cmp_acc(e, "dx", (size_t)n * c * h * w, -1, 1));
}

/* ---- losses and optimizer ------------------------------------------------------------*/

static void case_loss(struct cmp_env *e, int which)
{
    size_t n = (size_t)cmp_int(e, 1, 700);
    float scale = cmp_unif(e, 0.5f, 2.0f);
    bool grad = cmp_int(e, 0, 3) != 0;
    cmp_note(e, "loss %d n %zu grad %d", which, n, grad);
    const float *p = cmp_in(e, n, -4, 4), *t = cmp_in(e, n, which == 2 ? 0 : -4, which == 2 ? 1 : 4);
    float *dp = grad ? cmp_acc(e, "dpred", n, -1, 1) : NULL;
    float loss = which == 0   ? kern_loss_l1(e->ctx, n, p, t, scale, dp)
                 : which == 1 ? kern_loss_mse(e->ctx, n, p, t, scale, dp)
                              : kern_loss_bce_logits(e->ctx, n, p, t, scale, dp);
    cmp_scalar(e, "loss", loss);
}
static void case_l1(struct cmp_env *e) { case_loss(e, 0); }
static void case_mse(struct cmp_env *e) { case_loss(e, 1); }
static void case_bce(struct cmp_env *e) { case_loss(e, 2); }

static void case_softmax_ce(struct cmp_env *e)
{
    int n = cmp_int(e, 1, 17), k = cmp_int(e, 1, 40);
    float scale = cmp_unif(e, 0.5f, 2.0f);
    cmp_note(e, "n %d k %d", n, k);
    const float *x = cmp_in(e, (size_t)n * k, -8, 8);
    const int32_t *lab = cmp_in_labels(e, n, k);
    float loss = kern_loss_softmax_ce(e->ctx, n, k, x, lab, scale, cmp_acc(e, "dlogits", (size_t)n * k, -1, 1));
    cmp_scalar(e, "loss", loss);
}

static void case_adamw(struct cmp_env *e)
{
    size_t n = (size_t)cmp_int(e, 1, 999);
    struct kern_adamw h = {cmp_unif(e, 1e-4f, 1e-1f), 0.9f, 0.999f, 1e-8f, cmp_unif(e, 0, 0.1f), cmp_int(e, 1, 50)};
    cmp_note(e, "n %zu lr %g wd %g step %d", n, h.lr, h.weight_decay, h.step);
    const float *g = cmp_in(e, n, -1, 1);
    float *p = cmp_acc(e, "param", n, -1, 1), *m = cmp_acc(e, "m", n, -0.1f, 0.1f);
    float *v = cmp_acc(e, "v", n, 0, 0.01f);
    kern_adamw_step(e->ctx, &h, n, p, g, m, v);
}

/* ---- cloth ---------------------------------------------------------------------------*/

/* Rest angles of random hinges over random positions; an index may repeat within a hinge
   (a degenerate hinge: angle 0 on every backend). */
static void case_cloth_bend_rest(struct cmp_env *e)
{
    int nv = cmp_int(e, 4, 40), nb = cmp_int(e, 1, 300);
    cmp_note(e, "nv %d nb %d", nv, nb);
    const float *x = cmp_in(e, (size_t)nv * 3, -1, 1);
    const int32_t *bend = cmp_in_labels(e, (size_t)nb * 4, nv);
    kern_cloth_bend_rest(e->ctx, nb, bend, x, cmp_out(e, "rest", (size_t)nb));
}

/* A cloth of nv vertices (positions in a 1 m box, velocities, inverse masses in [0.2, 1),
   contact planes) and `ncon` constraints of `arity` vertices from one permutation, so no
   two share a vertex (one colour), in the array *ids. x and v are compared outputs. */
static struct kern_cloth case_cloth(struct cmp_env *e, int nv, int ncon, int arity, const int32_t **ids)
{
    struct kern_cloth c = {.nv = nv};
    c.x = cmp_acc(e, "x", (size_t)nv * 3, -0.5f, 0.5f);
    c.xprev = cmp_acc(e, "xprev", (size_t)nv * 3, -0.5f, 0.5f);
    c.v = cmp_acc(e, "v", (size_t)nv * 3, -1, 1);
    c.w = (float *)cmp_in(e, (size_t)nv, 0.2f, 1);
    c.plane = (float *)cmp_in(e, (size_t)nv * 7, -1, 1);
    *ids = ncon ? cmp_in_perm(e, (size_t)ncon * arity, nv) : NULL;
    return c;
}

/* One colour of ne distance constraints among nv points (edges of rest length in
   [0.05, 1.5) m), from constraint `first` on, with the compliance `at`; the small cases
   here and the large ones of cpu/kcpu_cases.h draw the sizes. */
static void cloth_stretch_run(struct cmp_env *e, int nv, int ne, int first, float at)
{
    cmp_note(e, "nv %d ne %d first %d at %g", nv, ne, first, at);
    const int32_t *edge;
    struct kern_cloth c = case_cloth(e, nv, ne, 2, &edge);
    c.edge = edge, c.edge_rest = cmp_in(e, (size_t)ne, 0.05f, 1.5f);
    c.edge_lambda = cmp_acc(e, "lambda", (size_t)ne, -0.1f, 0.1f);
    kern_cloth_stretch(e->ctx, &c, first, ne - first, at);
}

/* One colour of nb bending hinges (rest angles in [-3, 3) radians), likewise. */
static void cloth_bend_run(struct cmp_env *e, int nv, int nb, int first, float at)
{
    cmp_note(e, "nv %d nb %d first %d at %g", nv, nb, first, at);
    const int32_t *bend;
    struct kern_cloth c = case_cloth(e, nv, nb, 4, &bend);
    c.bend = bend, c.bend_rest = cmp_in(e, (size_t)nb, -3, 3);
    c.bend_lambda = cmp_acc(e, "lambda", (size_t)nb, -0.1f, 0.1f);
    kern_cloth_bend(e->ctx, &c, first, nb - first, at);
}

/* The per-vertex substep ops on nv points in their order: predict, contact, velocity. */
static void cloth_vertex_run(struct cmp_env *e, int nv)
{
    float h = cmp_unif(e, 1e-4f, 0.01f), g[3] = {0, -9.81f, 0};
    cmp_note(e, "nv %d h %g", nv, h);
    const int32_t *none;
    struct kern_cloth c = case_cloth(e, nv, 0, 1, &none);
    kern_cloth_predict(e->ctx, &c, g, h);
    kern_cloth_contact(e->ctx, &c, 0.003f, 0.5f, 0.3f, 0.96f * h, 9.81f * h * h);
    kern_cloth_velocity(e->ctx, &c, h, 10.0f);
}

static void case_cloth_stretch(struct cmp_env *e)
{
    int nv = cmp_int(e, 2, 400), ne = cmp_int(e, 1, nv / 2), first = cmp_int(e, 0, ne - 1);
    cloth_stretch_run(e, nv, ne, first, cmp_int(e, 0, 1) ? 0.0f : cmp_unif(e, 0, 0.5f));
}

static void case_cloth_bend(struct cmp_env *e)
{
    int nv = cmp_int(e, 4, 400), nb = cmp_int(e, 1, nv / 4), first = cmp_int(e, 0, nb - 1);
    cloth_bend_run(e, nv, nb, first, cmp_int(e, 0, 1) ? 0.0f : cmp_unif(e, 0, 10));
}

static void case_cloth_vertex(struct cmp_env *e) { cloth_vertex_run(e, cmp_int(e, 1, 500)); }

/* Every op of kernels.h with its limit. */
static const struct cmp_case kern_cases[] = {
    {"gemm", case_gemm, 1e-5},
    {"linear_fwd", case_linear_fwd, 1e-5},
    {"linear_bwd", case_linear_bwd, 1e-5},
    {"conv2d_fwd", case_conv2d_fwd, 1e-5},
    {"conv2d_fwd_act", case_conv2d_fwd_act, 1e-5},
    {"conv2d_bwd_data", case_conv2d_bwd_data, 1e-5},
    {"conv2d_bwd_filter", case_conv2d_bwd_filter, 1e-5},
    {"convt2d_fwd", case_convt2d_fwd, 1e-5},
    {"convt2d_bwd_data", case_convt2d_bwd_data, 1e-5},
    {"convt2d_bwd_filter", case_convt2d_bwd_filter, 1e-5},
    {"bn_fwd_train", case_bn_fwd_train, 1e-5},
    {"bn_fwd_infer", case_bn_fwd_infer, 1e-6},
    {"bn_bwd", case_bn_bwd, 5e-5},
    {"relu_fwd", case_relu_fwd, 1e-6},
    {"relu_bwd", case_relu_bwd, 1e-6},
    {"leaky_relu_fwd", case_leaky_fwd, 1e-6},
    {"leaky_relu_bwd", case_leaky_bwd, 1e-6},
    {"tanh_fwd", case_tanh_fwd, 4e-6},
    {"tanh_bwd", case_tanh_bwd, 4e-6},
    {"sigmoid_fwd", case_sigmoid_fwd, 4e-6},
    {"sigmoid_bwd", case_sigmoid_bwd, 4e-6},
    {"add", case_add, 1e-6},
    {"axpy", case_axpy, 1e-6},
    {"scale", case_scale, 1e-6},
    {"concat_fwd", case_concat_fwd, 0.0},
    {"concat_bwd", case_concat_bwd, 1e-6},
    {"maxpool2d_fwd", case_maxpool_fwd, 0.0},
    {"maxpool2d_bwd", case_maxpool_bwd, 1e-6},
    {"avgpool2d_fwd", case_avgpool_fwd, 1e-6},
    {"avgpool2d_bwd", case_avgpool_bwd, 1e-6},
    {"gap_fwd", case_gap_fwd, 1e-6},
    {"gap_bwd", case_gap_bwd, 1e-6},
    {"upsample_nearest_fwd", case_upnear_fwd, 0.0},
    {"upsample_nearest_bwd", case_upnear_bwd, 1e-6},
    {"upsample_bilinear_fwd", case_bilinear_fwd, 1e-6},
    {"upsample_bilinear_bwd", case_bilinear_bwd, 1e-6},
    {"loss_l1", case_l1, 1e-5},
    {"loss_mse", case_mse, 1e-5},
    {"loss_bce_logits", case_bce, 1e-5},
    {"loss_softmax_ce", case_softmax_ce, 1e-5},
    {"adamw_step", case_adamw, 1e-6},
    {"cloth_bend_rest", case_cloth_bend_rest, 4e-6},
    {"cloth_stretch", case_cloth_stretch, 1e-6},
    {"cloth_bend", case_cloth_bend, 1e-6},
    {"cloth_vertex", case_cloth_vertex, 1e-6},
};
#define KERN_NCASES ((int)(sizeof(kern_cases) / sizeof(kern_cases[0])))

#endif
