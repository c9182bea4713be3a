/* kernels.h: the one public header of kernels/, the tensor ops the networks are built from.
 *
 * Every op exists in three backends behind this one interface, chosen at run time by the
 * context: KERN_BACKEND_REF (plain C, obviously correct, kept forever as the oracle),
 * KERN_BACKEND_CPU (blocked/implicit GEMM, AVX2/AVX-512 with a portable fallback picked at
 * run time, OpenMP threads) and KERN_BACKEND_CUDA (kernels/cuda/, cuBLAS/cuDNN where they
 * win). The per-element math of all three lives in kernels/kfn.h (KFN functions), so the
 * CPU tests exercise the arithmetic the GPU runs.
 *
 * Conventions
 * - float32, NCHW, contiguous; shapes are in the comment of each function.
 * - Pointers are host memory for REF/CPU and device memory for CUDA: allocate with
 *   kern_alloc and move data with kern_upload / kern_download.
 * - Forward ops overwrite their output. Backward ops ACCUMULATE (+=) into every gradient
 *   they produce (input, weight and bias gradients alike), so branches and shared weights
 *   sum naturally; the caller zeroes gradients before a backward pass.
 * - Losses return the mean loss (a host float) and accumulate scale * d(mean loss)/d(pred).
 * - A NULL optional pointer (bias, bias gradient, input gradient) skips that part.
 * - Shape mistakes are bugs: ops assert, they do not return errors.
 */
#ifndef TRYON_KERNELS_H
#define TRYON_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ===== backends and contexts ============================================================*/
enum kern_backend { KERN_BACKEND_REF = 0, KERN_BACKEND_CPU = 1, KERN_BACKEND_CUDA = 2 };

/* What this build and machine offer, for `tryon info` and backend choice. */
struct kern_info {
    bool cuda_built;      /* compiled with the CUDA backend */
    int cuda_devices;     /* GPUs found at run time (0 where none or no driver) */
    int cuda_error;       /* cudaGetDeviceCount's error code when it failed, else 0 */
    char gpu_name[128];   /* first device's name, "" when none */
    const char *cpu_isa;  /* widest SIMD the fast CPU path uses here: "avx512", "avx2", "generic" */
    int omp_threads;      /* omp_get_max_threads() */
};
void kern_query(struct kern_info *info);
const char *kern_backend_name(enum kern_backend b); /* "ref", "cpu", "cuda" */
/* Parse "ref"/"cpu"/"cuda"/"auto" (auto = cuda when a GPU is found, else cpu). */
enum tryon_status kern_backend_parse(const char *name, enum kern_backend *out);

/* A context: the backend, its thread count (REF/CPU: OpenMP threads, 0 = all) or device
 * (CUDA: ordinal), and its scratch memory. Not thread-safe: one context per thread.
 * Returns NULL with a message (tryon_errmsg) when the backend is unavailable here. */
struct kern_ctx;
struct kern_ctx *kern_create(enum kern_backend b, int threads_or_device);
void kern_destroy(struct kern_ctx *ctx);
enum kern_backend kern_ctx_backend(const struct kern_ctx *ctx);
/* The CPU threads the context's work runs on (REF: 1, CPU: its count, CUDA: 1, the host
   only feeding the device): callers size their own OpenMP loops around its ops with it. */
int kern_ctx_threads(const struct kern_ctx *ctx);

/* ===== memory ===========================================================================*/
float *kern_alloc(struct kern_ctx *ctx, size_t n);   /* n floats, zeroed, 64-byte aligned; aborts on OOM */
void kern_release(struct kern_ctx *ctx, void *p);    /* NULL is fine */
void kern_upload(struct kern_ctx *ctx, float *dst, const float *host_src, size_t n);
void kern_download(struct kern_ctx *ctx, float *host_dst, const float *src, size_t n);
void kern_zero(struct kern_ctx *ctx, float *p, size_t n);
void kern_copy(struct kern_ctx *ctx, float *dst, const float *src, size_t n);
void kern_sync(struct kern_ctx *ctx);                /* wait for queued work (CUDA) */
/* Integer buffers (maxpool argmax, class labels): n int32 in backend memory. */
int32_t *kern_alloc_i32(struct kern_ctx *ctx, size_t n);
void kern_upload_i32(struct kern_ctx *ctx, int32_t *dst, const int32_t *host_src, size_t n);
void kern_download_i32(struct kern_ctx *ctx, int32_t *host_dst, const int32_t *src, size_t n);

/* ===== dense algebra ====================================================================*/
/* Row-major C (m,n) = alpha * op(A) (m,k) * op(B) (k,n) + beta * C.
 * op(A) = A (m,k) with leading dimension lda, or A^T when ta (A stored (k,m)). */
void kern_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha,
               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

/* y (N, OUT) = x (N, IN) * w^T + b;  w is (OUT, IN) as in PyTorch's nn.Linear, b (OUT). */
void kern_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                     const float *b, float *y);
/* dx (N,IN) += dy w;  dw (OUT,IN) += dy^T x;  db (OUT) += sum_n dy. */
void kern_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                     const float *w, float *dx, float *dw, float *db);

/* Activations (kern_act_fwd / kern_act_bwd, kern_conv2d_fwd_act). */
enum kern_act { KERN_ACT_RELU, KERN_ACT_LEAKY_RELU, KERN_ACT_TANH, KERN_ACT_SIGMOID };

/* ===== convolution ======================================================================
 * Conv2d: x (N, C, H, W), w (K, C/groups, R, S), b (K) -> y (N, K, OH, OW),
 *   OH = (H + 2 pad_h - dil_h (R-1) - 1) / stride_h + 1   (likewise OW).
 * ConvTranspose2d (PyTorch semantics): x (N, C, H, W), w (C, K/groups, R, S), b (K)
 *   -> y (N, K, OH, OW), OH = (H-1) stride_h - 2 pad_h + dil_h (R-1) + opad_h + 1.
 * The descriptor is filled by the caller; kern_conv2d_init / kern_convt2d_init compute
 * oh, ow, replace a 0 dilation or group count by 1 and assert the shape is valid (the
 * transposed conv asserts opad < stride, a little stricter than torch). */
struct kern_conv2d {
    int n, c, h, w;          /* input batch, channels, height, width */
    int k;                   /* output channels */
    int r, s;                /* kernel height, width */
    int stride_h, stride_w;  /* >= 1 */
    int pad_h, pad_w;        /* zero padding, >= 0 */
    int dil_h, dil_w;        /* dilation, >= 1 (0 is read as 1) */
    int opad_h, opad_w;      /* transposed only: output padding, < stride */
    int groups;              /* >= 1 (0 is read as 1); divides c and k */
    int oh, ow;              /* output size, filled by init */
};
void kern_conv2d_init(struct kern_conv2d *d);
void kern_convt2d_init(struct kern_conv2d *d);
void kern_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y);
/* Conv2d forward fused with an activation: y = act(conv(x, w) + b), the result of
 * kern_conv2d_fwd followed by kern_act_fwd on y, where the backend can in one pass over
 * y (CPU: bias, ReLU and leaky ReLU inside the GEMM's write-back; tanh and sigmoid as a
 * second pass; REF and CUDA: the two ops). slope is leaky ReLU's negative slope. */
void kern_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, enum kern_act act, float slope, float *y);
void kern_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx);
void kern_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db);
void kern_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                      const float *b, float *y);
void kern_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                           float *dx);
void kern_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                             float *dw, float *db);

/* ===== batch normalization ==============================================================
 * x, y (N, C, HW). Training: batch statistics over (N, HW); save_mean and save_invstd (C)
 * keep mean and 1/sqrt(var_biased + eps) for backward; running stats are updated as
 * PyTorch does: r = (1-momentum) r + momentum * stat, with the UNBIASED variance
 * (running_* may be NULL to skip). Inference: running statistics. gamma and beta are
 * required (affine batch norm); training needs N*HW > 1 as torch does. */
void kern_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                       float *save_mean, float *save_invstd, float *y);
void kern_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var, float eps, float *y);
void kern_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                 const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
/* Fold inference batch norm into the preceding conv (host memory): w is K rows of
 * `per_k` floats (C/groups*R*S), b (K) is created from zero when the conv had none.
 * After folding, conv(x; w', b') == bn(conv(x; w, b)). For a transposed conv the output
 * channel is the second weight axis: use kern_bn_fold_t. */
void kern_bn_fold(int k, int per_k, float *w, float *b, const float *gamma, const float *beta,
                  const float *mean, const float *var, float eps);
void kern_bn_fold_t(int c_in, int k_per_group, int groups, int rs, float *w, float *b, const float *gamma,
                    const float *beta, const float *mean, const float *var, float eps);

/* ===== element-wise =====================================================================*/
/* y = act(x) over n elements (y may alias x); slope is leaky ReLU's negative slope. */
void kern_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y);
/* dx += dy * act'(.) using x (input) and y (output) as the function needs: ReLU and leaky
 * ReLU read only x, tanh and sigmoid only y; the unread one may be NULL. */
void kern_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                  const float *y, const float *dy, float *dx);
void kern_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y); /* y = a + b */
void kern_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y);   /* y += alpha x */
void kern_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x);                 /* x *= alpha */
/* Channel concat: a (N, CA, HW), b (N, CB, HW) -> y (N, CA+CB, HW). */
void kern_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y);
void kern_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db);

/* ===== pooling and resampling ===========================================================
 * x (N, C, H, W) -> y (N, C, OH, OW), OH = (H + 2 pad_h - r) / stride_h + 1.
 * Max pooling stores, per output, the flat index (ih*W + iw) of the winner in its input
 * plane (argmax, N*C*OH*OW int32; may be NULL in inference). Padding never wins. Average
 * pooling divides by r*s when count_include_pad, else by the in-bounds count.
 * kern_pool2d_init reads a 0 stride as the kernel size (torch's default) and asserts
 * pad <= r/2 (torch's rule: every window holds an input). */
struct kern_pool2d {
    int n, c, h, w;
    int r, s;
    int stride_h, stride_w;
    int pad_h, pad_w;
    bool count_include_pad;
    int oh, ow;             /* filled by kern_pool2d_init */
};
void kern_pool2d_init(struct kern_pool2d *d);
void kern_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y, int32_t *argmax);
void kern_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                        float *dx);
void kern_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y);
void kern_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx);
/* Global average pooling: x (N, C, HW) -> y (N, C). */
void kern_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y);
void kern_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx);
/* Nearest upsampling by an integer factor: x (N, C, H, W) -> y (N, C, H*f, W*f). */
void kern_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y);
void kern_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx);
/* Bilinear resize, PyTorch align_corners=False: x (N, C, H, W) -> y (N, C, OH, OW). */
void kern_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                const float *x, float *y);
void kern_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                const float *dy, float *dx);

/* ===== losses ===========================================================================
 * pred, target, dpred: n elements. Return the mean loss over n; dpred (if not NULL)
 * += scale * d(mean)/d(pred). BCE is on logits (numerically stable form).
 * Softmax cross-entropy: logits (N, K), labels (N) int32 in [0, K), mean over N. */
float kern_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred);
float kern_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred);
float kern_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                           float *dlogits);
float kern_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                           float scale, float *dlogits);

/* ===== optimizer ========================================================================
 * AdamW as torch.optim.AdamW: p -= lr*wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps). `step` is t, starting at 1. */
struct kern_adamw {
    float lr, beta1, beta2, eps, weight_decay;
    int step;
};
void kern_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                     float *m, float *v);

/* ===== cloth (XPBD) =====================================================================
 * The substep operations of avatar/'s cloth drape (the loop and the collision queries stay
 * there) and the rest angles of its bending constraints, on arrays in the context's
 * memory. Per-element math: kernels/kfn_cloth.h.
 * Constraints are stored sorted by colour: constraints of one colour share no vertex, so a
 * call covers one colour, [first, first + count), and runs its constraints in parallel with
 * a result independent of the thread count. */
struct kern_cloth {
    int nv;
    float *x, *xprev, *v;      /* (nv,3) positions (m), positions at the substep's start, velocities (m/s) */
    float *w;                  /* (nv) inverse mass, 0 = pinned */
    float *plane;              /* (nv,7) contact plane per vertex: point, unit normal, active flag */
    const int32_t *edge;       /* (ne,2) distance constraints */
    const float *edge_rest;    /* (ne) rest lengths, metres */
    float *edge_lambda;        /* (ne) XPBD multipliers */
    const int32_t *bend;       /* (nb,4) hinges: x1, x2 opposite, x3 -> x4 the shared edge as x1's triangle has it */
    const float *bend_rest;    /* (nb) rest dihedral angles, radians */
    float *bend_lambda;        /* (nb) */
    int na;
    const int32_t *att;        /* (na) attached vertices */
    const float *att_pos;      /* (na,3) their targets */
};
/* xprev = x; v += h g on free vertices; x += h v. g: host (3), m/s^2. */
void kern_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h);
/* Distance constraints [first, first+count) of one colour; at = compliance / h^2. */
void kern_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
/* Bending constraints [first, first+count) of one colour. */
void kern_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
/* Attachments toward att_pos (each touches one vertex: one call for all). */
void kern_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at);
/* Contacts against each vertex's plane with friction: a push of at most push_max metres, the
   normal push counted up to push_cap metres (see kfn_cloth_contact). */
void kern_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                        float push_max, float push_cap);
/* v = (1 - damping h) (x - xprev) / h. */
void kern_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping);
/* The rest shape of the bending constraints: rest[b] = the signed dihedral angle (radians,
   in (-pi, pi], 0 when flat or degenerate) of hinge b of bend (nb,4; as kern_cloth.bend) on
   positions x (nv,3, metres), the same function kern_cloth_bend measures its constraint with. */
void kern_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest);

#endif
