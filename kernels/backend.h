/* backend.h: kernels/' internal contract between the public entry points (dispatch.c)
 * and the three backends. Not included outside kernels/.
 *
 * Each backend is a table of function pointers with the signatures of kernels.h. The
 * public kern_* functions assert shapes once and call ctx->ops->fn. The CPU table starts
 * as a copy of the reference table and kern_cpu_fill() overrides the ops it has a fast
 * version of, so an op without a fast version still works on the CPU backend. */
#ifndef TRYON_KERNELS_BACKEND_H
#define TRYON_KERNELS_BACKEND_H

#include "kernels/kernels.h"

struct kern_ops {
    /* memory (REF and CPU share host versions) */
    float *(*alloc)(struct kern_ctx *ctx, size_t n);
    int32_t *(*alloc_i32)(struct kern_ctx *ctx, size_t n);
    void (*release)(struct kern_ctx *ctx, void *p);
    void (*upload)(struct kern_ctx *ctx, void *dst, const void *host_src, size_t bytes);
    void (*download)(struct kern_ctx *ctx, void *host_dst, const void *src, size_t bytes);
    void (*zero)(struct kern_ctx *ctx, float *p, size_t n);
    void (*copy)(struct kern_ctx *ctx, float *dst, const float *src, size_t n);
    void (*sync)(struct kern_ctx *ctx);

    void (*gemm)(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                 int lda, const float *b, int ldb, float beta, float *c, int ldc);
    void (*linear_fwd)(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                       const float *b, float *y);
    void (*linear_bwd)(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                       const float *w, float *dx, float *dw, float *db);

    void (*conv2d_fwd)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                       const float *b, float *y);
    void (*conv2d_fwd_act)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                           const float *b, enum kern_act act, float slope, float *y);
    void (*conv2d_bwd_data)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                            float *dx);
    void (*conv2d_bwd_filter)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                              const float *dy, float *dw, float *db);
    void (*convt2d_fwd)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                        const float *b, float *y);
    void (*convt2d_bwd_data)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                             float *dx);
    void (*convt2d_bwd_filter)(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                               const float *dy, float *dw, float *db);

    void (*bn_fwd_train)(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                         const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                         float *save_mean, float *save_invstd, float *y);
    void (*bn_fwd_infer)(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                         const float *beta, const float *running_mean, const float *running_var, float eps,
                         float *y);
    void (*bn_bwd)(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x,
                   const float *gamma, const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
                   float *dbeta);

    void (*act_fwd)(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y);
    void (*act_bwd)(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                    const float *y, const float *dy, float *dx);
    void (*add)(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y);
    void (*axpy)(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y);
    void (*scale)(struct kern_ctx *ctx, size_t n, float alpha, float *x);
    void (*concat_fwd)(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b,
                       float *y);
    void (*concat_bwd)(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da,
                       float *db);

    void (*maxpool2d_fwd)(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                          int32_t *argmax);
    void (*maxpool2d_bwd)(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy,
                          const int32_t *argmax, float *dx);
    void (*avgpool2d_fwd)(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y);
    void (*avgpool2d_bwd)(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx);
    void (*gap_fwd)(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y);
    void (*gap_bwd)(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx);
    void (*upsample_nearest_fwd)(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x,
                                 float *y);
    void (*upsample_nearest_bwd)(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy,
                                 float *dx);
    void (*upsample_bilinear_fwd)(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                  const float *x, float *y);
    void (*upsample_bilinear_bwd)(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                  const float *dy, float *dx);

    float (*loss_l1)(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                     float *dpred);
    float (*loss_mse)(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                      float *dpred);
    float (*loss_bce_logits)(struct kern_ctx *ctx, size_t n, const float *logits, const float *target,
                             float scale, float *dlogits);
    float (*loss_softmax_ce)(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                             float scale, float *dlogits);

    void (*adamw_step)(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param,
                       const float *grad, float *m, float *v);

    void (*cloth_predict)(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h);
    void (*cloth_stretch)(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
    void (*cloth_bend)(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
    void (*cloth_attach)(struct kern_ctx *ctx, const struct kern_cloth *c, float at);
    void (*cloth_contact)(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s,
                          float mu_k, float push_max, float push_cap);
    void (*cloth_velocity)(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping);
    void (*cloth_bend_rest)(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest);
};

/* A context; backends keep their own state behind `impl`. */
struct kern_ctx {
    enum kern_backend backend;
    const struct kern_ops *ops;
    int threads;        /* CPU: OpenMP threads for this context (>= 1); REF, CUDA: 1 */
    int device;         /* CUDA: device ordinal */
    float *scratch;     /* host scratch for the CPU backend (im2col, packing), grown on demand */
    size_t scratch_n;   /* floats in scratch */
    void *impl;         /* CUDA: streams, cuBLAS/cuDNN handles, device scratch */
};

/* Host scratch of at least n floats, owned by ctx (valid until the next call). */
float *kern_scratch(struct kern_ctx *ctx, size_t n);

extern const struct kern_ops kern_ops_ref;
/* kernels/cpu/: override the entries of `ops` (a copy of kern_ops_ref) that have a fast
 * version on this machine's ISA. */
void kern_cpu_fill(struct kern_ops *ops);
/* kernels/cpu/: the ISA the fast path picked at run time ("avx512", "avx2", "generic"). */
const char *kern_cpu_isa(void);
#ifdef TRYON_HAVE_CUDA
/* kernels/cuda/: the CUDA table, backend set-up and teardown, device query. */
extern const struct kern_ops kern_ops_cuda;
enum tryon_status kern_cuda_init(struct kern_ctx *ctx, int device);
void kern_cuda_fini(struct kern_ctx *ctx);
void kern_cuda_query(struct kern_info *info);
#endif

#endif
