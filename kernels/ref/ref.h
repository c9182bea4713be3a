/* ref.h: the reference backend's functions, one per entry of struct kern_ops (backend.h).
 * Internal to kernels/: dispatch.c reaches them through kern_ops_ref only; the host memory
 * functions are also what the CPU backend uses (its table starts as a copy of this one).
 *
 * The reference backend is plain loops, single threaded, with double accumulators where a
 * sum runs over more than a handful of terms. It is the oracle every other backend is
 * compared against: clarity over speed. Per-element math comes from kernels/kfn.h. */
#ifndef TRYON_KERNELS_REF_H
#define TRYON_KERNELS_REF_H

#include "kernels/backend.h"

/* host memory (ref_mem.c) */
float *kern_ref_alloc(struct kern_ctx *ctx, size_t n);
int32_t *kern_ref_alloc_i32(struct kern_ctx *ctx, size_t n);
void kern_ref_release(struct kern_ctx *ctx, void *p);
void kern_ref_upload(struct kern_ctx *ctx, void *dst, const void *host_src, size_t bytes);
void kern_ref_download(struct kern_ctx *ctx, void *host_dst, const void *src, size_t bytes);
void kern_ref_zero(struct kern_ctx *ctx, float *p, size_t n);
void kern_ref_copy(struct kern_ctx *ctx, float *dst, const float *src, size_t n);
void kern_ref_sync(struct kern_ctx *ctx);
/* zeroed double buffer for accumulations; aborts on out-of-memory */
double *kern_ref_dalloc(size_t n);

/* dense (ref_dense.c) */
void kern_ref_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc);
void kern_ref_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                         const float *b, float *y);
void kern_ref_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                         const float *w, float *dx, float *dw, float *db);

/* convolution (ref_conv.c) */
void kern_ref_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, float *y);
/* kern_ref_conv2d_fwd, then kern_ref_act_fwd over y */
void kern_ref_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                             const float *b, enum kern_act act, float slope, float *y);
void kern_ref_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                              const float *w, float *dx);
void kern_ref_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                const float *dy, float *dw, float *db);
void kern_ref_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                          const float *b, float *y);
void kern_ref_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                               const float *w, float *dx);
void kern_ref_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                 const float *dy, float *dw, float *db);

/* batch normalization (ref_norm.c) */
void kern_ref_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, float eps, float momentum, float *running_mean,
                           float *running_var, float *save_mean, float *save_invstd, float *y);
void kern_ref_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, const float *running_mean, const float *running_var, float eps,
                           float *y);
void kern_ref_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x,
                     const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
                     float *dgamma, float *dbeta);

/* element-wise (ref_eltwise.c) */
void kern_ref_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y);
void kern_ref_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                      const float *y, const float *dy, float *dx);
void kern_ref_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y);
void kern_ref_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y);
void kern_ref_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x);
void kern_ref_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b,
                         float *y);
void kern_ref_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da,
                         float *db);

/* pooling and resampling (ref_pool.c) */
void kern_ref_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                            int32_t *argmax);
void kern_ref_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy,
                            const int32_t *argmax, float *dx);
void kern_ref_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y);
void kern_ref_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx);
void kern_ref_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y);
void kern_ref_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx);
void kern_ref_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x,
                                   float *y);
void kern_ref_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy,
                                   float *dx);
void kern_ref_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                    const float *x, float *y);
void kern_ref_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                    const float *dy, float *dx);

/* losses (ref_loss.c) and optimizer (ref_adamw.c) */
float kern_ref_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                       float *dpred);
float kern_ref_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                        float *dpred);
float kern_ref_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target,
                               float scale, float *dlogits);
float kern_ref_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                               float scale, float *dlogits);
void kern_ref_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param,
                         const float *grad, float *m, float *v);

/* cloth substep operations (ref_cloth.c) */
void kern_ref_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h);
void kern_ref_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
void kern_ref_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
void kern_ref_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at);
void kern_ref_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s,
                            float mu_k, float push_max, float push_cap);
void kern_ref_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping);
void kern_ref_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest);

#endif
