/* test_kernels_grad.c: every backward op against central finite differences of its forward.
 *
 * For an op y = f(p1, p2, ...) the test draws an upstream gradient gy and checks, for every
 * parameter tensor p and every element i,
 *     analytic dL/dp_i  ~  (L(p_i + h) - L(p_i - h)) / (actual 2h),   L = sum gy * y
 * in double from the float forward. The backward writes into buffers prefilled with random
 * values; the analytic gradient is what it added, so the += contract is checked too. The
 * vector error ||analytic - numeric|| / ||numeric|| must stay below:
 *   1e-3  ops linear in the perturbed tensor (linear, conv, convT, pooling, upsampling,
 *         concat; h = 0.25, where central differences are exact up to float rounding)
 *   3e-3  smooth nonlinear ops (batch norm, tanh, sigmoid, BCE, softmax-CE; h = 1e-2..2e-2)
 *   1e-3  piecewise-linear ops (ReLU, leaky ReLU, max pooling, L1; inputs kept >= 5h away
 *         from the kinks and ties) and MSE (quadratic: central differences are exact).
 * Shapes are small and odd: 1, 3, 5, 7 channels, 5x7 images, stride 2, padding, groups 2
 * and 3, dilation 2, output padding. Runs on REF and on CPU (host memory both; CPU with one
 * thread, since a finite-difference sweep is thousands of tiny calls). */
#include <stdlib.h>

#include "check.h"
#include "common/common.h"
#include "kernels/kernels.h"

static struct rng g_rng;

static float *rnd(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * rng_float(&g_rng);
    return p;
}

static float *dup(const float *x, size_t n)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    memcpy(p, x, n * sizeof(float));
    return p;
}

/* Values at least `gap` apart from each other and at least gap/2 from 0, random order. */
static float *distinct(size_t n, float gap)
{
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = ((float)i - (float)n / 2.0f + 0.5f) * gap;
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_u32(&g_rng) % i;
        float t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* Compare the analytic gradient (grad_after - prefill) with central differences of obj over
 * x; returns the normalized error. */
static double fd_err(float *x, size_t n, const float *grad_after, const float *prefill, double (*obj)(void *),
                     void *st, float h)
{
    double num2 = 0.0, diff2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        float save = x[i];
        float xp = save + h, xm = save - h;
        x[i] = xp;
        double lp = obj(st);
        x[i] = xm;
        double lm = obj(st);
        x[i] = save;
        double num = (lp - lm) / ((double)xp - (double)xm);
        double ana = (double)grad_after[i] - (double)prefill[i];
        num2 += num * num;
        diff2 += (ana - num) * (ana - num);
    }
    return sqrt(diff2) / (sqrt(num2) + 1e-12);
}

/* Check one parameter tensor: prints and CHECKs the error against tol. */
#define FD_CHECK(label, x, n, gafter, gpre, obj, st, h, tol)                                                     \
    do {                                                                                                       \
        double e_ = fd_err((x), (n), (gafter), (gpre), (obj), (st), (h));                                     \
        CHECK_MSG(e_ <= (tol), "%s: %s: finite-difference error %.3g > %.3g", ctx_name, (label), e_, (tol)); \
        if (e_ > worst_err)                                                                                    \
            worst_err = e_;                                                                                    \
    } while (0)

static const char *ctx_name = "";
static double worst_err;

/* ===== linear ===========================================================================*/
struct lin_st {
    struct kern_ctx *ctx;
    int n, in, out;
    float *x, *w, *b, *y, *gy;
};
static double lin_obj(void *p)
{
    struct lin_st *s = p;
    kern_linear_fwd(s->ctx, s->n, s->in, s->out, s->x, s->w, s->b, s->y);
    return dot(s->y, s->gy, (size_t)s->n * s->out);
}

static void test_linear(struct kern_ctx *ctx)
{
    struct lin_st s = {ctx, 3, 7, 5, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)s.n * s.in, nw = (size_t)s.out * s.in, ny = (size_t)s.n * s.out;
    s.x = rnd(nx, -1, 1);
    s.w = rnd(nw, -1, 1);
    s.b = rnd(s.out, -1, 1);
    s.y = rnd(ny, 0, 0);
    s.gy = rnd(ny, -1, 1);
    float *px = rnd(nx, -1, 1), *pw = rnd(nw, -1, 1), *pb = rnd(s.out, -1, 1);
    float *dx = dup(px, nx), *dw = dup(pw, nw), *db = dup(pb, s.out);
    kern_linear_bwd(ctx, s.n, s.in, s.out, s.gy, s.x, s.w, dx, dw, db);
    FD_CHECK("linear dx", s.x, nx, dx, px, lin_obj, &s, 0.25f, 1e-3);
    FD_CHECK("linear dw", s.w, nw, dw, pw, lin_obj, &s, 0.25f, 1e-3);
    FD_CHECK("linear db", s.b, s.out, db, pb, lin_obj, &s, 0.25f, 1e-3);
    free(s.x), free(s.w), free(s.b), free(s.y), free(s.gy), free(px), free(pw), free(pb), free(dx), free(dw),
        free(db);
}

/* ===== convolution and transposed convolution ===========================================*/
struct conv_st {
    struct kern_ctx *ctx;
    struct kern_conv2d d;
    bool t;
    float *x, *w, *b, *y, *gy;
};
static double conv_obj(void *p)
{
    struct conv_st *s = p;
    if (s->t)
        kern_convt2d_fwd(s->ctx, &s->d, s->x, s->w, s->b, s->y);
    else
        kern_conv2d_fwd(s->ctx, &s->d, s->x, s->w, s->b, s->y);
    return dot(s->y, s->gy, (size_t)s->d.n * s->d.k * s->d.oh * s->d.ow);
}

static void test_conv(struct kern_ctx *ctx, struct kern_conv2d d, bool t, const char *label)
{
    struct conv_st s = {ctx, d, t, NULL, NULL, NULL, NULL, NULL};
    if (t)
        kern_convt2d_init(&s.d);
    else
        kern_conv2d_init(&s.d);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.k * s.d.oh * s.d.ow;
    size_t nw = (size_t)(t ? d.c : d.k) * ((t ? d.k : d.c) / s.d.groups) * d.r * d.s;
    s.x = rnd(nx, -1, 1);
    s.w = rnd(nw, -1, 1);
    s.b = rnd(d.k, -1, 1);
    s.y = rnd(ny, 0, 0);
    s.gy = rnd(ny, -1, 1);
    float *px = rnd(nx, -1, 1), *pw = rnd(nw, -1, 1), *pb = rnd(d.k, -1, 1);
    float *dx = dup(px, nx), *dw = dup(pw, nw), *db = dup(pb, d.k);
    if (t) {
        kern_convt2d_bwd_data(ctx, &s.d, s.gy, s.w, dx);
        kern_convt2d_bwd_filter(ctx, &s.d, s.x, s.gy, dw, db);
    } else {
        kern_conv2d_bwd_data(ctx, &s.d, s.gy, s.w, dx);
        kern_conv2d_bwd_filter(ctx, &s.d, s.x, s.gy, dw, db);
    }
    char buf[128];
    snprintf(buf, sizeof(buf), "%s dx", label);
    FD_CHECK(buf, s.x, nx, dx, px, conv_obj, &s, 0.25f, 1e-3);
    snprintf(buf, sizeof(buf), "%s dw", label);
    FD_CHECK(buf, s.w, nw, dw, pw, conv_obj, &s, 0.25f, 1e-3);
    snprintf(buf, sizeof(buf), "%s db", label);
    FD_CHECK(buf, s.b, d.k, db, pb, conv_obj, &s, 0.25f, 1e-3);
    free(s.x), free(s.w), free(s.b), free(s.y), free(s.gy), free(px), free(pw), free(pb), free(dx), free(dw),
        free(db);
}

static void test_convs(struct kern_ctx *ctx)
{
    /*                 n  c  h  w  k  r  s  sh sw ph pw dh dw oph opw g */
    test_conv(ctx, (struct kern_conv2d){2, 1, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0}, false,
              "conv 1->3 3x3 pad 1");
    test_conv(ctx, (struct kern_conv2d){1, 3, 5, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 1, 0, 0}, false,
              "conv 3->5 stride 2 pad 1");
    test_conv(ctx, (struct kern_conv2d){2, 2, 5, 7, 6, 3, 2, 1, 2, 0, 1, 1, 1, 0, 0, 2, 0, 0}, false,
              "conv 2->6 groups 2 3x2");
    test_conv(ctx, (struct kern_conv2d){1, 5, 5, 7, 3, 3, 3, 1, 1, 2, 2, 2, 2, 0, 0, 1, 0, 0}, false,
              "conv 5->3 dilation 2 pad 2");
    test_conv(ctx, (struct kern_conv2d){1, 7, 5, 7, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0}, false,
              "conv 7->1 1x1");
    test_conv(ctx, (struct kern_conv2d){2, 6, 5, 7, 3, 3, 3, 2, 1, 1, 0, 2, 1, 0, 0, 3, 0, 0}, false,
              "conv 6->3 groups 3 stride 2,1 dil 2,1");
    test_conv(ctx, (struct kern_conv2d){2, 3, 5, 7, 1, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0, 1, 0, 0}, true,
              "convT 3->1 4x4 stride 2 pad 1");
    test_conv(ctx, (struct kern_conv2d){1, 5, 5, 7, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0, 0}, true,
              "convT 5->3 stride 2 opad 1");
    test_conv(ctx, (struct kern_conv2d){1, 4, 5, 7, 6, 3, 3, 2, 1, 0, 1, 1, 1, 1, 0, 2, 0, 0}, true,
              "convT 4->6 groups 2 opad 1,0");
    test_conv(ctx, (struct kern_conv2d){2, 1, 5, 7, 7, 3, 2, 1, 2, 1, 0, 2, 2, 0, 1, 1, 0, 0}, true,
              "convT 1->7 dilation 2 opad 0,1");
}

/* ===== batch norm (training: the statistics depend on x) ================================*/
struct bn_st {
    struct kern_ctx *ctx;
    int n, c, hw;
    float *x, *gamma, *beta, *mean, *invstd, *y, *gy;
};
static double bn_obj(void *p)
{
    struct bn_st *s = p;
    kern_bn_fwd_train(s->ctx, s->n, s->c, s->hw, s->x, s->gamma, s->beta, 1e-5f, 0.1f, NULL, NULL, s->mean,
                      s->invstd, s->y);
    return dot(s->y, s->gy, (size_t)s->n * s->c * s->hw);
}

static void test_bn(struct kern_ctx *ctx, int n, int c, int hw)
{
    struct bn_st s = {ctx, n, c, hw, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)n * c * hw;
    s.x = rnd(nx, -2, 2);
    s.gamma = rnd(c, 0.5f, 1.5f);
    s.beta = rnd(c, -1, 1);
    s.mean = rnd(c, 0, 0);
    s.invstd = rnd(c, 0, 0);
    s.y = rnd(nx, 0, 0);
    s.gy = rnd(nx, -1, 1);
    bn_obj(&s);
    float *px = rnd(nx, -1, 1), *pg = rnd(c, -1, 1), *pb = rnd(c, -1, 1);
    float *dx = dup(px, nx), *dg = dup(pg, c), *db = dup(pb, c);
    kern_bn_bwd(ctx, n, c, hw, s.gy, s.x, s.gamma, s.mean, s.invstd, dx, dg, db);
    FD_CHECK("bn dx", s.x, nx, dx, px, bn_obj, &s, 2e-2f, 3e-3);
    FD_CHECK("bn dgamma", s.gamma, c, dg, pg, bn_obj, &s, 2e-2f, 3e-3);
    FD_CHECK("bn dbeta", s.beta, c, db, pb, bn_obj, &s, 2e-2f, 3e-3);
    free(s.x), free(s.gamma), free(s.beta), free(s.mean), free(s.invstd), free(s.y), free(s.gy), free(px), free(pg),
        free(pb), free(dx), free(dg), free(db);
}

/* ===== activations ======================================================================*/
struct act_st {
    struct kern_ctx *ctx;
    enum kern_act act;
    size_t n;
    float *x, *y, *gy;
};
static double act_obj(void *p)
{
    struct act_st *s = p;
    kern_act_fwd(s->ctx, s->act, 0.2f, s->n, s->x, s->y);
    return dot(s->y, s->gy, s->n);
}

static void test_act(struct kern_ctx *ctx, enum kern_act act, const char *label)
{
    struct act_st s = {ctx, act, 35, NULL, NULL, NULL};
    /* |x| >= 0.05 keeps the kinks of ReLU and leaky ReLU 5h away */
    s.x = rnd(s.n, 0.05f, 3.0f);
    for (size_t i = 0; i < s.n; i += 2)
        s.x[i] = -s.x[i];
    s.y = rnd(s.n, 0, 0);
    s.gy = rnd(s.n, -1, 1);
    act_obj(&s);
    float *pre = rnd(s.n, -1, 1), *dx = dup(pre, s.n);
    bool smooth = act == KERN_ACT_TANH || act == KERN_ACT_SIGMOID;
    /* tanh/sigmoid get only y, ReLU/leaky only x: the unread argument is NULL */
    kern_act_bwd(ctx, act, 0.2f, s.n, smooth ? NULL : s.x, smooth ? s.y : NULL, s.gy, dx);
    FD_CHECK(label, s.x, s.n, dx, pre, act_obj, &s, smooth ? 1e-2f : 1e-2f, smooth ? 3e-3 : 1e-3);
    free(s.x), free(s.y), free(s.gy), free(pre), free(dx);
}

/* ===== concat ===========================================================================*/
struct cat_st {
    struct kern_ctx *ctx;
    int n, hw, ca, cb;
    float *a, *b, *y, *gy;
};
static double cat_obj(void *p)
{
    struct cat_st *s = p;
    kern_concat_fwd(s->ctx, s->n, s->hw, s->ca, s->a, s->cb, s->b, s->y);
    return dot(s->y, s->gy, (size_t)s->n * (s->ca + s->cb) * s->hw);
}

static void test_concat(struct kern_ctx *ctx)
{
    struct cat_st s = {ctx, 2, 35, 3, 5, NULL, NULL, NULL, NULL};
    size_t na = (size_t)s.n * s.ca * s.hw, nb = (size_t)s.n * s.cb * s.hw, ny = na + nb;
    s.a = rnd(na, -1, 1);
    s.b = rnd(nb, -1, 1);
    s.y = rnd(ny, 0, 0);
    s.gy = rnd(ny, -1, 1);
    float *pa = rnd(na, -1, 1), *pb = rnd(nb, -1, 1), *da = dup(pa, na), *db = dup(pb, nb);
    kern_concat_bwd(ctx, s.n, s.hw, s.ca, s.cb, s.gy, da, db);
    FD_CHECK("concat da", s.a, na, da, pa, cat_obj, &s, 0.25f, 1e-3);
    FD_CHECK("concat db", s.b, nb, db, pb, cat_obj, &s, 0.25f, 1e-3);
    free(s.a), free(s.b), free(s.y), free(s.gy), free(pa), free(pb), free(da), free(db);
}

/* ===== pooling and resampling ===========================================================*/
enum pool_kind { P_MAX, P_AVG, P_GAP, P_NEAREST, P_BILINEAR };
struct pool_st {
    struct kern_ctx *ctx;
    enum pool_kind kind;
    struct kern_pool2d d;   /* P_MAX, P_AVG; n, c, h, w for the others */
    int f, oh, ow;          /* P_NEAREST factor; P_BILINEAR output size */
    int32_t *arg;
    float *x, *y, *gy;
    size_t nx, ny;
};
static double pool_obj(void *p)
{
    struct pool_st *s = p;
    const struct kern_pool2d *d = &s->d;
    switch (s->kind) {
    case P_MAX: kern_maxpool2d_fwd(s->ctx, d, s->x, s->y, s->arg); break;
    case P_AVG: kern_avgpool2d_fwd(s->ctx, d, s->x, s->y); break;
    case P_GAP: kern_gap_fwd(s->ctx, d->n, d->c, d->h * d->w, s->x, s->y); break;
    case P_NEAREST: kern_upsample_nearest_fwd(s->ctx, d->n, d->c, d->h, d->w, s->f, s->x, s->y); break;
    case P_BILINEAR: kern_upsample_bilinear_fwd(s->ctx, d->n, d->c, d->h, d->w, s->oh, s->ow, s->x, s->y); break;
    }
    return dot(s->y, s->gy, s->ny);
}

static void test_pool(struct kern_ctx *ctx, enum pool_kind kind, struct kern_pool2d d, int f, int oh, int ow,
                      const char *label)
{
    struct pool_st s = {ctx, kind, d, f, oh, ow, NULL, NULL, NULL, NULL, 0, 0};
    s.nx = (size_t)d.n * d.c * d.h * d.w;
    if (kind == P_MAX || kind == P_AVG) {
        kern_pool2d_init(&s.d);
        s.ny = (size_t)d.n * d.c * s.d.oh * s.d.ow;
    } else if (kind == P_GAP)
        s.ny = (size_t)d.n * d.c;
    else if (kind == P_NEAREST)
        s.ny = s.nx * f * f;
    else
        s.ny = (size_t)d.n * d.c * oh * ow;
    /* distinct values 0.02 apart: no ties, and h = 1e-3 never changes a max */
    s.x = kind == P_MAX ? distinct(s.nx, 0.02f) : rnd(s.nx, -1, 1);
    s.y = rnd(s.ny, 0, 0);
    s.gy = rnd(s.ny, -1, 1);
    s.arg = calloc(s.ny, sizeof(int32_t));
    pool_obj(&s);
    float *pre = rnd(s.nx, -1, 1), *dx = dup(pre, s.nx);
    const struct kern_pool2d *pd = &s.d;
    switch (kind) {
    case P_MAX: kern_maxpool2d_bwd(ctx, pd, s.gy, s.arg, dx); break;
    case P_AVG: kern_avgpool2d_bwd(ctx, pd, s.gy, dx); break;
    case P_GAP: kern_gap_bwd(ctx, d.n, d.c, d.h * d.w, s.gy, dx); break;
    case P_NEAREST: kern_upsample_nearest_bwd(ctx, d.n, d.c, d.h, d.w, f, s.gy, dx); break;
    case P_BILINEAR: kern_upsample_bilinear_bwd(ctx, d.n, d.c, d.h, d.w, oh, ow, s.gy, dx); break;
    }
    FD_CHECK(label, s.x, s.nx, dx, pre, pool_obj, &s, kind == P_MAX ? 1e-3f : 0.25f, 1e-3);
    free(s.arg), free(s.x), free(s.y), free(s.gy), free(pre), free(dx);
}

static void test_pools(struct kern_ctx *ctx)
{
    /*                                  n  c  h  w  r  s  sh sw ph pw incl */
    test_pool(ctx, P_MAX, (struct kern_pool2d){2, 3, 5, 7, 3, 3, 2, 2, 1, 1, false, 0, 0}, 0, 0, 0,
              "maxpool 3x3 stride 2 pad 1");
    test_pool(ctx, P_MAX, (struct kern_pool2d){1, 5, 5, 7, 2, 3, 1, 2, 0, 1, false, 0, 0}, 0, 0, 0,
              "maxpool 2x3 overlapping");
    test_pool(ctx, P_AVG, (struct kern_pool2d){2, 3, 5, 7, 3, 3, 2, 2, 1, 1, true, 0, 0}, 0, 0, 0,
              "avgpool 3x3 stride 2 pad 1 incl pad");
    test_pool(ctx, P_AVG, (struct kern_pool2d){1, 7, 5, 7, 3, 2, 1, 1, 1, 1, false, 0, 0}, 0, 0, 0,
              "avgpool 3x2 pad 1 excl pad");
    test_pool(ctx, P_GAP, (struct kern_pool2d){2, 5, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 0, 0, 0, "gap");
    test_pool(ctx, P_NEAREST, (struct kern_pool2d){2, 3, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 2, 0, 0,
              "nearest x2");
    test_pool(ctx, P_NEAREST, (struct kern_pool2d){1, 1, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 3, 0, 0,
              "nearest x3");
    test_pool(ctx, P_BILINEAR, (struct kern_pool2d){2, 3, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 0, 10, 14,
              "bilinear 5x7 -> 10x14");
    test_pool(ctx, P_BILINEAR, (struct kern_pool2d){1, 3, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 0, 11, 9,
              "bilinear 5x7 -> 11x9");
    test_pool(ctx, P_BILINEAR, (struct kern_pool2d){1, 5, 5, 7, 0, 0, 0, 0, 0, 0, false, 0, 0}, 0, 3, 4,
              "bilinear 5x7 -> 3x4 (down)");
}

/* ===== losses ===========================================================================*/
enum loss_kind { L_L1, L_MSE, L_BCE, L_SCE };
struct loss_st {
    struct kern_ctx *ctx;
    enum loss_kind kind;
    int n, k;
    float scale;
    float *p, *t;
    int32_t *lab;
};
static double loss_obj(void *q)
{
    struct loss_st *s = q;
    switch (s->kind) {
    case L_L1: return s->scale * kern_loss_l1(s->ctx, s->n, s->p, s->t, 1.0f, NULL);
    case L_MSE: return s->scale * kern_loss_mse(s->ctx, s->n, s->p, s->t, 1.0f, NULL);
    case L_BCE: return s->scale * kern_loss_bce_logits(s->ctx, s->n, s->p, s->t, 1.0f, NULL);
    case L_SCE: return s->scale * kern_loss_softmax_ce(s->ctx, s->n, s->k, s->p, s->lab, 1.0f, NULL);
    }
    return 0.0;
}

static void test_loss(struct kern_ctx *ctx, enum loss_kind kind, const char *label)
{
    struct loss_st s = {ctx, kind, kind == L_SCE ? 3 : 13, 5, 1.5f, NULL, NULL, NULL};
    size_t np = kind == L_SCE ? (size_t)s.n * s.k : (size_t)s.n;
    s.p = rnd(np, -3, 3);
    s.t = rnd(np, kind == L_BCE ? 0.0f : -3.0f, kind == L_BCE ? 1.0f : 3.0f);
    s.lab = calloc(s.n, sizeof(int32_t));
    for (int i = 0; i < s.n; i++)
        s.lab[i] = (int32_t)(rng_u32(&g_rng) % (uint32_t)s.k);
    if (kind == L_L1) /* keep |p - t| >= 0.05, away from the kink */
        for (size_t i = 0; i < np; i++)
            if (fabsf(s.p[i] - s.t[i]) < 0.05f)
                s.p[i] = s.t[i] + (s.p[i] >= s.t[i] ? 0.05f : -0.05f);
    float *pre = rnd(np, -1, 1), *dp = dup(pre, np);
    switch (kind) {
    case L_L1: kern_loss_l1(ctx, np, s.p, s.t, s.scale, dp); break;
    case L_MSE: kern_loss_mse(ctx, np, s.p, s.t, s.scale, dp); break;
    case L_BCE: kern_loss_bce_logits(ctx, np, s.p, s.t, s.scale, dp); break;
    case L_SCE: kern_loss_softmax_ce(ctx, s.n, s.k, s.p, s.lab, s.scale, dp); break;
    }
    float h = kind == L_L1 || kind == L_MSE ? 1e-2f : 2e-2f;
    FD_CHECK(label, s.p, np, dp, pre, loss_obj, &s, h, kind == L_L1 || kind == L_MSE ? 1e-3 : 3e-3);
    free(s.p), free(s.t), free(s.lab), free(pre), free(dp);
}

static void run_all(struct kern_ctx *ctx, const char *name)
{
    ctx_name = name;
    worst_err = 0.0;
    test_linear(ctx);
    test_convs(ctx);
    test_bn(ctx, 2, 3, 35);
    test_bn(ctx, 1, 5, 7);
    test_bn(ctx, 7, 1, 1);
    test_act(ctx, KERN_ACT_RELU, "relu");
    test_act(ctx, KERN_ACT_LEAKY_RELU, "leaky relu");
    test_act(ctx, KERN_ACT_TANH, "tanh");
    test_act(ctx, KERN_ACT_SIGMOID, "sigmoid");
    test_concat(ctx);
    test_pools(ctx);
    test_loss(ctx, L_L1, "l1");
    test_loss(ctx, L_MSE, "mse");
    test_loss(ctx, L_BCE, "bce logits");
    test_loss(ctx, L_SCE, "softmax ce");
    fprintf(stderr, "%s: worst finite-difference error %.3g\n", name, worst_err);
}

int main(void)
{
    rng_seed(&g_rng, 42);
    struct kern_ctx *ref = kern_create(KERN_BACKEND_REF, 0);
    /* one thread: thousands of tiny forwards; threading is covered by test_kernels_backends */
    struct kern_ctx *cpu = kern_create(KERN_BACKEND_CPU, 1);
    CHECK(ref && cpu);
    if (ref)
        run_all(ref, "ref");
    if (cpu)
        run_all(cpu, "cpu");
    kern_destroy(ref);
    kern_destroy(cpu);
    return check_result("test_kernels_grad");
}
