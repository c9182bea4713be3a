/* elt.c: the element-wise, loss, AdamW, batch-norm and max-pool-forward entry points of
 * the fast CPU backend: each calls the variant of elt_impl.h compiled for the instruction set
 * kcpu_isa() names at the time of the call (so TRYON_CPU_ISA and kcpu_isa_force reach
 * them too). */
#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

extern const struct kern_ops kcpu_elt_ops_generic, kcpu_elt_ops_avx2, kcpu_elt_ops_avx512;

static const struct kern_ops *elt(void)
{
    switch (kcpu_isa()) {
    case KCPU_AVX512: return &kcpu_elt_ops_avx512;
    case KCPU_AVX2: return &kcpu_elt_ops_avx2;
    default: return &kcpu_elt_ops_generic;
    }
}

void kcpu_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    elt()->act_fwd(ctx, act, slope, n, x, y);
}

void kcpu_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, const float *y,
                  const float *dy, float *dx)
{
    elt()->act_bwd(ctx, act, slope, n, x, y, dy, dx);
}

void kcpu_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    elt()->add(ctx, n, a, b, y);
}

void kcpu_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    elt()->axpy(ctx, n, alpha, x, y);
}

void kcpu_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x)
{
    elt()->scale(ctx, n, alpha, x);
}

void kcpu_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y)
{
    elt()->concat_fwd(ctx, n, hw, ca, a, cb, b, y);
}

void kcpu_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db)
{
    elt()->concat_bwd(ctx, n, hw, ca, cb, dy, da, db);
}

float kcpu_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                   float *dpred)
{
    return elt()->loss_l1(ctx, n, pred, target, scale, dpred);
}

float kcpu_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                    float *dpred)
{
    return elt()->loss_mse(ctx, n, pred, target, scale, dpred);
}

float kcpu_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                           float *dlogits)
{
    return elt()->loss_bce_logits(ctx, n, logits, target, scale, dlogits);
}

float kcpu_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                           float scale, float *dlogits)
{
    return elt()->loss_softmax_ce(ctx, n, k, logits, labels, scale, dlogits);
}

void kcpu_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                     float *m, float *v)
{
    elt()->adamw_step(ctx, h, n, param, grad, m, v);
}

void kcpu_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                       float *save_mean, float *save_invstd, float *y)
{
    elt()->bn_fwd_train(ctx, n, c, hw, x, gamma, beta, eps, momentum, running_mean, running_var, save_mean, save_invstd,
                        y);
}

void kcpu_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var, float eps, float *y)
{
    elt()->bn_fwd_infer(ctx, n, c, hw, x, gamma, beta, running_mean, running_var, eps, y);
}

void kcpu_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                 const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    elt()->bn_bwd(ctx, n, c, hw, dy, x, gamma, save_mean, save_invstd, dx, dgamma, dbeta);
}

void kcpu_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                        int32_t *argmax)
{
    elt()->maxpool2d_fwd(ctx, d, x, y, argmax);
}
