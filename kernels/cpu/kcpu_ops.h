/* kcpu_ops.h: the fast ops of kernels/cpu/ with the signatures of struct kern_ops
 * (kernels/backend.h), installed by kern_cpu_fill() (fill.c). Internal to kernels/cpu/. */
#ifndef TRYON_KERNELS_CPU_KCPU_OPS_H
#define TRYON_KERNELS_CPU_KCPU_OPS_H

#include "kernels/backend.h"

/* dense.c */
void kcpu_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc);
void kcpu_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                     const float *b, float *y);
void kcpu_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                     const float *w, float *dx, float *dw, float *db);

/* conv.c */
void kcpu_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y);
void kcpu_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, enum kern_act act, float slope, float *y);
void kcpu_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx);
void kcpu_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db);
void kcpu_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                      const float *b, float *y);
void kcpu_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                           float *dx);
void kcpu_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                             float *dw, float *db);

/* elt.c: call the elt_impl.h variant of the current ISA */
void kcpu_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y);
void kcpu_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, const float *y,
                  const float *dy, float *dx);
void kcpu_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y);
void kcpu_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y);
void kcpu_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x);
void kcpu_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y);
void kcpu_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db);
float kcpu_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                   float *dpred);
float kcpu_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                    float *dpred);
float kcpu_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                           float *dlogits);
float kcpu_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                           float scale, float *dlogits);
void kcpu_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                     float *m, float *v);

void kcpu_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                       float *save_mean, float *save_invstd, float *y);
void kcpu_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var, float eps, float *y);
void kcpu_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                 const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);

/* pool.c */
void kcpu_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                        int32_t *argmax);
void kcpu_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                        float *dx);
void kcpu_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y);
void kcpu_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx);
void kcpu_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y);
void kcpu_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx);
void kcpu_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y);
void kcpu_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx);
void kcpu_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *x,
                                float *y);
void kcpu_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *dy,
                                float *dx);

/* cloth.c: the cloth substep operations (kernels.h), threaded. */
void kern_cpu_fill_cloth(struct kern_ops *ops);

#endif
