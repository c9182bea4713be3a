/* ref_eltwise.c: reference element-wise ops (activations, add, axpy, scale) and the
 * channel concat of two NCHW tensors. */
#include "kernels/kfn.h"
#include "kernels/ref/ref.h"

void kern_ref_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = kfn_act(act, slope, x[i]);
}

void kern_ref_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                      const float *y, const float *dy, float *dx)
{
    bool by_x = kfn_act_grad_uses_input(act);
    for (size_t i = 0; i < n; i++)
        dx[i] += dy[i] * kfn_act_grad(act, slope, by_x ? x[i] : 0.0f, by_x ? 0.0f : y[i]);
}

void kern_ref_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void kern_ref_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void kern_ref_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void kern_ref_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b,
                         float *y)
{
    size_t pa = (size_t)ca * hw, pb = (size_t)cb * hw;
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * (pa + pb);
        for (size_t j = 0; j < pa; j++)
            yi[j] = a[(size_t)i * pa + j];
        for (size_t j = 0; j < pb; j++)
            yi[pa + j] = b[(size_t)i * pb + j];
    }
}

void kern_ref_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da,
                         float *db)
{
    size_t pa = (size_t)ca * hw, pb = (size_t)cb * hw;
    for (int i = 0; i < n; i++) {
        const float *gi = dy + (size_t)i * (pa + pb);
        if (da)
            for (size_t j = 0; j < pa; j++)
                da[(size_t)i * pa + j] += gi[j];
        if (db)
            for (size_t j = 0; j < pb; j++)
                db[(size_t)i * pb + j] += gi[pa + j];
    }
}
