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

#endif
