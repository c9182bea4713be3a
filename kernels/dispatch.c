/* dispatch.c: the public kern_* functions of kernels.h.
 *
 * Contexts and backend choice, the host-side helpers (descriptor init, batch-norm folding,
 * scratch), and one thin wrapper per op that asserts the shapes once and calls the
 * context's ops table (backend.h). Shape mistakes are bugs: they assert here, so every
 * backend can trust its arguments. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "kernels/backend.h"

/* A context and its own ops table (the CPU table is a patched copy of the reference one),
 * in one allocation so that no table is global mutable state. */
struct kern_ctx_mem {
    struct kern_ctx ctx;
    struct kern_ops ops;
};

/* ===== backends and contexts ============================================================*/

void kern_query(struct kern_info *info)
{
    memset(info, 0, sizeof(*info));
    info->cpu_isa = kern_cpu_isa();
    info->omp_threads = omp_get_max_threads();
#ifdef TRYON_HAVE_CUDA
    info->cuda_built = true;
    kern_cuda_query(info);
#endif
}

const char *kern_backend_name(enum kern_backend b)
{
    switch (b) {
    case KERN_BACKEND_REF: return "ref";
    case KERN_BACKEND_CPU: return "cpu";
    case KERN_BACKEND_CUDA: return "cuda";
    }
    return "unknown";
}

enum tryon_status kern_backend_parse(const char *name, enum kern_backend *out)
{
    if (!name)
        return tryon_fail(TRYON_EINVAL, "kernels: backend name missing (expected ref, cpu, cuda or auto)");
    if (strcmp(name, "ref") == 0)
        *out = KERN_BACKEND_REF;
    else if (strcmp(name, "cpu") == 0)
        *out = KERN_BACKEND_CPU;
    else if (strcmp(name, "cuda") == 0)
        *out = KERN_BACKEND_CUDA;
    else if (strcmp(name, "auto") == 0) {
        struct kern_info info;
        kern_query(&info);
        *out = info.cuda_built && info.cuda_devices > 0 ? KERN_BACKEND_CUDA : KERN_BACKEND_CPU;
    } else
        return tryon_fail(TRYON_EINVAL, "kernels: unknown backend '%s' (expected ref, cpu, cuda or auto)", name);
    return TRYON_OK;
}

struct kern_ctx *kern_create(enum kern_backend b, int threads_or_device)
{
    if (threads_or_device < 0) {
        tryon_fail(TRYON_EINVAL, "kernels: %s backend: negative %s %d", kern_backend_name(b),
                   b == KERN_BACKEND_CUDA ? "device" : "thread count", threads_or_device);
        return NULL;
    }
    struct kern_ctx_mem *m = calloc(1, sizeof(*m));
    if (!m) {
        tryon_fail(TRYON_ENOMEM, "kernels: out of memory creating a context");
        return NULL;
    }
    struct kern_ctx *ctx = &m->ctx;
    ctx->backend = b;
    ctx->ops = &m->ops;
    ctx->threads = 1;
    switch (b) {
    case KERN_BACKEND_REF:
        m->ops = kern_ops_ref;
        return ctx;
    case KERN_BACKEND_CPU:
        m->ops = kern_ops_ref;
        kern_cpu_fill(&m->ops);
        ctx->threads = threads_or_device > 0 ? threads_or_device : omp_get_max_threads();
        return ctx;
    case KERN_BACKEND_CUDA:
#ifdef TRYON_HAVE_CUDA
        m->ops = kern_ops_cuda;
        ctx->device = threads_or_device;
        if (kern_cuda_init(ctx, threads_or_device) < 0) {
            free(m);
            return NULL;
        }
        return ctx;
#else
        tryon_fail(TRYON_EUNSUPPORTED, "kernels: this build has no CUDA backend (nvcc was not found at "
                                       "configure time, or TRYON_CUDA=OFF); use --backend cpu");
        free(m);
        return NULL;
#endif
    }
    tryon_fail(TRYON_EINVAL, "kernels: unknown backend %d", (int)b);
    free(m);
    return NULL;
}

void kern_destroy(struct kern_ctx *ctx)
{
    if (!ctx)
        return;
#ifdef TRYON_HAVE_CUDA
    if (ctx->backend == KERN_BACKEND_CUDA)
        kern_cuda_fini(ctx);
#endif
    free(ctx->scratch);
    free((struct kern_ctx_mem *)ctx);
}

enum kern_backend kern_ctx_backend(const struct kern_ctx *ctx) { return ctx->backend; }

int kern_ctx_threads(const struct kern_ctx *ctx) { return ctx->threads; }

float *kern_scratch(struct kern_ctx *ctx, size_t n)
{
    if (n > ctx->scratch_n) {
        free(ctx->scratch);
        ctx->scratch = tryon_xaligned(64, n * sizeof(float));
        ctx->scratch_n = n;
    }
    return ctx->scratch;
}

/* ===== memory ===========================================================================*/

float *kern_alloc(struct kern_ctx *ctx, size_t n) { return ctx->ops->alloc(ctx, n); }
void kern_release(struct kern_ctx *ctx, void *p)
{
    if (p)
        ctx->ops->release(ctx, p);
}
void kern_upload(struct kern_ctx *ctx, float *dst, const float *host_src, size_t n)
{
    assert(n == 0 || (dst && host_src));
    ctx->ops->upload(ctx, dst, host_src, n * sizeof(float));
}
void kern_download(struct kern_ctx *ctx, float *host_dst, const float *src, size_t n)
{
    assert(n == 0 || (host_dst && src));
    ctx->ops->download(ctx, host_dst, src, n * sizeof(float));
}
void kern_zero(struct kern_ctx *ctx, float *p, size_t n)
{
    assert(n == 0 || p);
    ctx->ops->zero(ctx, p, n);
}
void kern_copy(struct kern_ctx *ctx, float *dst, const float *src, size_t n)
{
    assert(n == 0 || (dst && src));
    ctx->ops->copy(ctx, dst, src, n);
}
void kern_sync(struct kern_ctx *ctx) { ctx->ops->sync(ctx); }
int32_t *kern_alloc_i32(struct kern_ctx *ctx, size_t n) { return ctx->ops->alloc_i32(ctx, n); }
void kern_upload_i32(struct kern_ctx *ctx, int32_t *dst, const int32_t *host_src, size_t n)
{
    assert(n == 0 || (dst && host_src));
    ctx->ops->upload(ctx, dst, host_src, n * sizeof(int32_t));
}
void kern_download_i32(struct kern_ctx *ctx, int32_t *host_dst, const int32_t *src, size_t n)
{
    assert(n == 0 || (host_dst && src));
    ctx->ops->download(ctx, host_dst, src, n * sizeof(int32_t));
}

/* ===== dense algebra ====================================================================*/

void kern_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    assert(m >= 0 && n >= 0 && k >= 0);
    assert(lda >= (ta ? m : k) && lda >= 1);
    assert(ldb >= (tb ? k : n) && ldb >= 1);
    assert(ldc >= n && ldc >= 1);
    if (m == 0 || n == 0)
        return;
    assert(c && (k == 0 || (a && b)));
    ctx->ops->gemm(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void kern_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                     const float *b, float *y)
{
    assert(n >= 1 && in >= 1 && out >= 1 && x && w && y);
    ctx->ops->linear_fwd(ctx, n, in, out, x, w, b, y);
}

void kern_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                     const float *w, float *dx, float *dw, float *db)
{
    assert(n >= 1 && in >= 1 && out >= 1 && dy);
    assert(!dx || w);
    assert(!dw || x);
    ctx->ops->linear_bwd(ctx, n, in, out, dy, x, w, dx, dw, db);
}

/* ===== convolution ======================================================================*/

static void conv_normalize(struct kern_conv2d *d)
{
    if (d->dil_h == 0)
        d->dil_h = 1;
    if (d->dil_w == 0)
        d->dil_w = 1;
    if (d->groups == 0)
        d->groups = 1;
    assert(d->n >= 1 && d->c >= 1 && d->h >= 1 && d->w >= 1 && d->k >= 1 && d->r >= 1 && d->s >= 1);
    assert(d->stride_h >= 1 && d->stride_w >= 1 && d->pad_h >= 0 && d->pad_w >= 0);
    assert(d->dil_h >= 1 && d->dil_w >= 1 && d->groups >= 1);
    assert(d->c % d->groups == 0 && d->k % d->groups == 0);
}

/* Output size of a convolution along one axis; asserts the kernel fits. */
static int conv_out(int in, int r, int stride, int pad, int dil)
{
    int span = in + 2 * pad - dil * (r - 1) - 1;
    assert(span >= 0);
    return span / stride + 1;
}

static int convt_out(int in, int r, int stride, int pad, int dil, int opad)
{
    int o = (in - 1) * stride - 2 * pad + dil * (r - 1) + opad + 1;
    assert(o >= 1);
    return o;
}

void kern_conv2d_init(struct kern_conv2d *d)
{
    conv_normalize(d);
    assert(d->opad_h == 0 && d->opad_w == 0);
    d->oh = conv_out(d->h, d->r, d->stride_h, d->pad_h, d->dil_h);
    d->ow = conv_out(d->w, d->s, d->stride_w, d->pad_w, d->dil_w);
}

void kern_convt2d_init(struct kern_conv2d *d)
{
    conv_normalize(d);
    /* stricter than torch (which also allows opad < dilation): with opad < stride the
     * transposed conv is exactly the adjoint of a conv from (oh, ow) to (h, w) */
    assert(d->opad_h >= 0 && d->opad_h < d->stride_h && d->opad_w >= 0 && d->opad_w < d->stride_w);
    d->oh = convt_out(d->h, d->r, d->stride_h, d->pad_h, d->dil_h, d->opad_h);
    d->ow = convt_out(d->w, d->s, d->stride_w, d->pad_w, d->dil_w, d->opad_w);
    assert(conv_out(d->oh, d->r, d->stride_h, d->pad_h, d->dil_h) == d->h);
    assert(conv_out(d->ow, d->s, d->stride_w, d->pad_w, d->dil_w) == d->w);
}

/* The descriptor went through its init and was not edited since. */
static void conv_assert(const struct kern_conv2d *d, bool transposed)
{
    struct kern_conv2d e = *d;
    if (transposed)
        kern_convt2d_init(&e);
    else
        kern_conv2d_init(&e);
    assert(e.oh == d->oh && e.ow == d->ow && e.dil_h == d->dil_h && e.dil_w == d->dil_w &&
           e.groups == d->groups);
    (void)e;
}

void kern_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y)
{
    conv_assert(d, false);
    assert(x && w && y);
    ctx->ops->conv2d_fwd(ctx, d, x, w, b, y);
}

void kern_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, enum kern_act act, float slope, float *y)
{
    conv_assert(d, false);
    assert(x && w && y);
    ctx->ops->conv2d_fwd_act(ctx, d, x, w, b, act, slope, y);
}

void kern_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx)
{
    conv_assert(d, false);
    assert(dy && w && dx);
    ctx->ops->conv2d_bwd_data(ctx, d, dy, w, dx);
}

void kern_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db)
{
    conv_assert(d, false);
    assert(dy && (!dw || x));
    if (!dw && !db)
        return;
    ctx->ops->conv2d_bwd_filter(ctx, d, x, dy, dw, db);
}

void kern_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                      const float *b, float *y)
{
    conv_assert(d, true);
    assert(x && w && y);
    ctx->ops->convt2d_fwd(ctx, d, x, w, b, y);
}

void kern_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                           float *dx)
{
    conv_assert(d, true);
    assert(dy && w && dx);
    ctx->ops->convt2d_bwd_data(ctx, d, dy, w, dx);
}

void kern_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                             float *dw, float *db)
{
    conv_assert(d, true);
    assert(dy && (!dw || x));
    if (!dw && !db)
        return;
    ctx->ops->convt2d_bwd_filter(ctx, d, x, dy, dw, db);
}

/* ===== batch normalization ==============================================================*/

void kern_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                       float *save_mean, float *save_invstd, float *y)
{
    /* torch refuses training statistics of a single value per channel */
    assert(n >= 1 && c >= 1 && hw >= 1 && (long long)n * hw > 1);
    assert(x && gamma && beta && save_mean && save_invstd && y && eps > 0.0f);
    ctx->ops->bn_fwd_train(ctx, n, c, hw, x, gamma, beta, eps, momentum, running_mean, running_var, save_mean,
                           save_invstd, y);
}

void kern_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var, float eps, float *y)
{
    assert(n >= 1 && c >= 1 && hw >= 1);
    assert(x && gamma && beta && running_mean && running_var && y);
    ctx->ops->bn_fwd_infer(ctx, n, c, hw, x, gamma, beta, running_mean, running_var, eps, y);
}

void kern_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                 const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    assert(n >= 1 && c >= 1 && hw >= 1);
    assert(dy && x && gamma && save_mean && save_invstd);
    ctx->ops->bn_bwd(ctx, n, c, hw, dy, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void kern_bn_fold(int k, int per_k, float *w, float *b, const float *gamma, const float *beta,
                  const float *mean, const float *var, float eps)
{
    assert(k >= 1 && per_k >= 1 && w && b && gamma && beta && mean && var);
    for (int o = 0; o < k; o++) {
        double sc = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
        for (int j = 0; j < per_k; j++)
            w[(size_t)o * per_k + j] = (float)((double)w[(size_t)o * per_k + j] * sc);
        b[o] = (float)(((double)b[o] - (double)mean[o]) * sc + (double)beta[o]);
    }
}

void kern_bn_fold_t(int c_in, int k_per_group, int groups, int rs, float *w, float *b, const float *gamma,
                    const float *beta, const float *mean, const float *var, float eps)
{
    assert(c_in >= 1 && k_per_group >= 1 && groups >= 1 && rs >= 1 && c_in % groups == 0);
    assert(w && b && gamma && beta && mean && var);
    int cpg = c_in / groups;
    /* w (C_in, K/G, R, S): output channel of w[ci][kk] is (ci / cpg) * k_per_group + kk */
    for (int ci = 0; ci < c_in; ci++)
        for (int kk = 0; kk < k_per_group; kk++) {
            int o = (ci / cpg) * k_per_group + kk;
            double sc = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
            float *wp = w + ((size_t)ci * k_per_group + kk) * rs;
            for (int j = 0; j < rs; j++)
                wp[j] = (float)((double)wp[j] * sc);
        }
    for (int o = 0; o < groups * k_per_group; o++) {
        double sc = (double)gamma[o] / sqrt((double)var[o] + (double)eps);
        b[o] = (float)(((double)b[o] - (double)mean[o]) * sc + (double)beta[o]);
    }
}

/* ===== element-wise =====================================================================*/

void kern_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    assert(n == 0 || (x && y));
    if (n)
        ctx->ops->act_fwd(ctx, act, slope, n, x, y);
}

void kern_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                  const float *y, const float *dy, float *dx)
{
    if (n == 0)
        return;
    assert(dy && dx);
    assert(act == KERN_ACT_RELU || act == KERN_ACT_LEAKY_RELU ? x != NULL : y != NULL);
    ctx->ops->act_bwd(ctx, act, slope, n, x, y, dy, dx);
}

void kern_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    assert(n == 0 || (a && b && y));
    if (n)
        ctx->ops->add(ctx, n, a, b, y);
}

void kern_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    assert(n == 0 || (x && y));
    if (n)
        ctx->ops->axpy(ctx, n, alpha, x, y);
}

void kern_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x)
{
    assert(n == 0 || x);
    if (n)
        ctx->ops->scale(ctx, n, alpha, x);
}

void kern_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y)
{
    assert(n >= 1 && hw >= 1 && ca >= 1 && cb >= 1 && a && b && y);
    ctx->ops->concat_fwd(ctx, n, hw, ca, a, cb, b, y);
}

void kern_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db)
{
    assert(n >= 1 && hw >= 1 && ca >= 1 && cb >= 1 && dy);
    if (da || db)
        ctx->ops->concat_bwd(ctx, n, hw, ca, cb, dy, da, db);
}

/* ===== pooling and resampling ===========================================================*/

void kern_pool2d_init(struct kern_pool2d *d)
{
    if (d->stride_h == 0)
        d->stride_h = d->r;
    if (d->stride_w == 0)
        d->stride_w = d->s;
    assert(d->n >= 1 && d->c >= 1 && d->h >= 1 && d->w >= 1 && d->r >= 1 && d->s >= 1);
    assert(d->stride_h >= 1 && d->stride_w >= 1);
    /* torch: padding at most half the kernel, so every window holds an input */
    assert(d->pad_h >= 0 && d->pad_w >= 0 && 2 * d->pad_h <= d->r && 2 * d->pad_w <= d->s);
    assert(d->h + 2 * d->pad_h >= d->r && d->w + 2 * d->pad_w >= d->s);
    d->oh = (d->h + 2 * d->pad_h - d->r) / d->stride_h + 1;
    d->ow = (d->w + 2 * d->pad_w - d->s) / d->stride_w + 1;
}

static void pool_assert(const struct kern_pool2d *d)
{
    struct kern_pool2d e = *d;
    kern_pool2d_init(&e);
    assert(e.oh == d->oh && e.ow == d->ow && e.stride_h == d->stride_h && e.stride_w == d->stride_w);
    (void)e;
}

void kern_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y, int32_t *argmax)
{
    pool_assert(d);
    assert(x && y);
    ctx->ops->maxpool2d_fwd(ctx, d, x, y, argmax);
}

void kern_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                        float *dx)
{
    pool_assert(d);
    assert(dy && argmax && dx);
    ctx->ops->maxpool2d_bwd(ctx, d, dy, argmax, dx);
}

void kern_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y)
{
    pool_assert(d);
    assert(x && y);
    ctx->ops->avgpool2d_fwd(ctx, d, x, y);
}

void kern_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx)
{
    pool_assert(d);
    assert(dy && dx);
    ctx->ops->avgpool2d_bwd(ctx, d, dy, dx);
}

void kern_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y)
{
    assert(n >= 1 && c >= 1 && hw >= 1 && x && y);
    ctx->ops->gap_fwd(ctx, n, c, hw, x, y);
}

void kern_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx)
{
    assert(n >= 1 && c >= 1 && hw >= 1 && dy && dx);
    ctx->ops->gap_bwd(ctx, n, c, hw, dy, dx);
}

void kern_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y)
{
    assert(n >= 1 && c >= 1 && h >= 1 && w >= 1 && f >= 1 && x && y);
    ctx->ops->upsample_nearest_fwd(ctx, n, c, h, w, f, x, y);
}

void kern_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx)
{
    assert(n >= 1 && c >= 1 && h >= 1 && w >= 1 && f >= 1 && dy && dx);
    ctx->ops->upsample_nearest_bwd(ctx, n, c, h, w, f, dy, dx);
}

void kern_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *x,
                                float *y)
{
    assert(n >= 1 && c >= 1 && h >= 1 && w >= 1 && oh >= 1 && ow >= 1 && x && y);
    ctx->ops->upsample_bilinear_fwd(ctx, n, c, h, w, oh, ow, x, y);
}

void kern_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *dy,
                                float *dx)
{
    assert(n >= 1 && c >= 1 && h >= 1 && w >= 1 && oh >= 1 && ow >= 1 && dy && dx);
    ctx->ops->upsample_bilinear_bwd(ctx, n, c, h, w, oh, ow, dy, dx);
}

/* ===== losses ===========================================================================*/

float kern_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred)
{
    assert(n >= 1 && pred && target);
    return ctx->ops->loss_l1(ctx, n, pred, target, scale, dpred);
}

float kern_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred)
{
    assert(n >= 1 && pred && target);
    return ctx->ops->loss_mse(ctx, n, pred, target, scale, dpred);
}

float kern_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                           float *dlogits)
{
    assert(n >= 1 && logits && target);
    return ctx->ops->loss_bce_logits(ctx, n, logits, target, scale, dlogits);
}

float kern_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                           float scale, float *dlogits)
{
    assert(n >= 1 && k >= 1 && logits && labels);
    return ctx->ops->loss_softmax_ce(ctx, n, k, logits, labels, scale, dlogits);
}

/* ===== optimizer ========================================================================*/

void kern_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                     float *m, float *v)
{
    assert(h && h->step >= 1 && h->beta1 >= 0.0f && h->beta1 < 1.0f && h->beta2 >= 0.0f && h->beta2 < 1.0f);
    assert(n == 0 || (param && grad && m && v));
    if (n)
        ctx->ops->adamw_step(ctx, h, n, param, grad, m, v);
}

/* ===== cloth ============================================================================*/

void kern_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
    assert(c && c->nv >= 0 && h > 0.0f);
    if (c->nv)
        ctx->ops->cloth_predict(ctx, c, g, h);
}

void kern_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    assert(c && first >= 0 && count >= 0 && at >= 0.0f);
    if (count)
        ctx->ops->cloth_stretch(ctx, c, first, count, at);
}

void kern_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    assert(c && first >= 0 && count >= 0 && at >= 0.0f);
    if (count)
        ctx->ops->cloth_bend(ctx, c, first, count, at);
}

void kern_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at)
{
    assert(c && c->na >= 0 && at >= 0.0f);
    if (c->na)
        ctx->ops->cloth_attach(ctx, c, at);
}

void kern_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                        float push_max, float push_cap)
{
    assert(c && thickness >= 0.0f && mu_s >= 0.0f && mu_k >= 0.0f);
    if (c->nv)
        ctx->ops->cloth_contact(ctx, c, thickness, mu_s, mu_k, push_max, push_cap);
}

void kern_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
    assert(c && h > 0.0f && damping >= 0.0f);
    if (c->nv)
        ctx->ops->cloth_velocity(ctx, c, h, damping);
}

void kern_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest)
{
    assert(nb >= 0 && (nb == 0 || (bend && x && rest)));
    if (nb)
        ctx->ops->cloth_bend_rest(ctx, nb, bend, x, rest);
}
