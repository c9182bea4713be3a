/* cuda_eltwise.cu: element-wise CUDA kernels (activations, add, axpy, scale, channel
 * concat, AdamW), one thread per element in grid-stride loops, each element computed by
 * the same kfn.h function the reference backend calls. */
#include "kernels/cuda/kcuda.cuh"

#define LAUNCH(kernel, n, ...)                                                                       \
    do {                                                                                             \
        kernel<<<kcuda_blocks(n), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>((size_t)(n), __VA_ARGS__);  \
        KCUDA_LAUNCHED();                                                                            \
    } while (0)

__global__ static void k_act_fwd(size_t n, enum kern_act act, float slope, const float *x, float *y)
{
    KCUDA_FOR(i, n) y[i] = kfn_act(act, slope, x[i]);
}

/* x or y may be NULL when the activation's derivative does not read it (kfn_act_grad_uses_input). */
__global__ static void k_act_bwd(size_t n, enum kern_act act, float slope, const float *x, const float *y,
                                 const float *dy, float *dx)
{
    bool by_x = kfn_act_grad_uses_input(act);
    KCUDA_FOR(i, n) dx[i] += dy[i] * kfn_act_grad(act, slope, by_x ? x[i] : 0.0f, by_x ? 0.0f : y[i]);
}

__global__ static void k_add(size_t n, const float *a, const float *b, float *y)
{
    KCUDA_FOR(i, n) y[i] = a[i] + b[i];
}

__global__ static void k_axpy(size_t n, float alpha, const float *x, float *y)
{
    KCUDA_FOR(i, n) y[i] += alpha * x[i];
}

__global__ static void k_scale(size_t n, float alpha, float *x)
{
    KCUDA_FOR(i, n) x[i] *= alpha;
}

/* one thread per element of y (N, CA+CB, HW) */
__global__ static void k_concat_fwd(size_t n, int hw, int ca, int cb, const float *a, const float *b, float *y)
{
    KCUDA_FOR(i, n)
    {
        size_t j;
        y[i] = kfn_concat_src(i, hw, ca, cb, &j) ? a[j] : b[j];
    }
}

/* each element of da/db receives from exactly one element of dy: no races */
__global__ static void k_concat_bwd(size_t n, int hw, int ca, int cb, const float *dy, float *da, float *db)
{
    KCUDA_FOR(i, n)
    {
        size_t j;
        if (kfn_concat_src(i, hw, ca, cb, &j)) {
            if (da)
                da[j] += dy[i];
        } else if (db)
            db[j] += dy[i];
    }
}

__global__ static void k_adamw(size_t n, struct kfn_adamw_coef c, float *p, const float *g, float *m, float *v)
{
    KCUDA_FOR(i, n) kfn_adamw(&c, &p[i], g[i], &m[i], &v[i]);
}

extern "C" {

void kcuda_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    LAUNCH(k_act_fwd, n, act, slope, x, y);
}

void kcuda_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, const float *y,
                   const float *dy, float *dx)
{
    LAUNCH(k_act_bwd, n, act, slope, x, y, dy, dx);
}

void kcuda_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y) { LAUNCH(k_add, n, a, b, y); }

void kcuda_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    LAUNCH(k_axpy, n, alpha, x, y);
}

void kcuda_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x) { LAUNCH(k_scale, n, alpha, x); }

void kcuda_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y)
{
    size_t total = (size_t)n * (ca + cb) * hw;
    LAUNCH(k_concat_fwd, total, hw, ca, cb, a, b, y);
}

void kcuda_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db)
{
    size_t total = (size_t)n * (ca + cb) * hw;
    LAUNCH(k_concat_bwd, total, hw, ca, cb, dy, da, db);
}

void kcuda_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                      float *m, float *v)
{
    struct kfn_adamw_coef c = kfn_adamw_coef(h);
    LAUNCH(k_adamw, n, c, param, grad, m, v);
}
}
