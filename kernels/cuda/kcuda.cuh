/* kcuda.cuh: internal header of the CUDA backend (kernels/cuda/, compiled by nvcc as C++).
 *
 * - The error macros: one generic KCUDA_CHECK_GEN prints file:line, the call and the
 *   library's message, then aborts; CUDA_CHECK, CUBLAS_CHECK and CUDNN_CHECK are built
 *   from it, and KCUDA_LAUNCHED() checks cudaGetLastError() after every kernel launch.
 * - struct kcuda, the backend state behind kern_ctx.impl: one stream per context, the
 *   cuBLAS and cuDNN handles bound to it, a cuDNN workspace and a reduction buffer, both
 *   grown on demand (growing frees the old one, which synchronizes the device).
 * - The launch geometry and the deterministic block reduction shared by the .cu files.
 * - The op functions, with C linkage, that cuda_backend.cu puts in kern_ops_cuda.
 *
 * Determinism: no atomics anywhere; every reduction has a fixed shape that depends only on
 * the problem size (grid-stride partials, then a fixed-order tree), so the same inputs give
 * the same bytes on every run. cuDNN algorithms are restricted to deterministic ones. */
#ifndef TRYON_KERNELS_KCUDA_CUH
#define TRYON_KERNELS_KCUDA_CUH

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdbool.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

extern "C" {
#include "kernels/backend.h"
}
#include "kernels/kfn.h"

#define KCUDA_CHECK_GEN(call, type, ok, errstr)                                                           \
    do {                                                                                                  \
        type kcuda_err_ = (call);                                                                         \
        if (kcuda_err_ != (ok)) {                                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s (%d)\n", __FILE__, __LINE__, #call, errstr(kcuda_err_), \
                    (int)kcuda_err_);                                                                     \
            abort();                                                                                      \
        }                                                                                                 \
    } while (0)
#define CUDA_CHECK(call) KCUDA_CHECK_GEN(call, cudaError_t, cudaSuccess, cudaGetErrorString)
#define CUBLAS_CHECK(call) KCUDA_CHECK_GEN(call, cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)
#define CUDNN_CHECK(call) KCUDA_CHECK_GEN(call, cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
/* after every <<<...>>> launch */
#define KCUDA_LAUNCHED() CUDA_CHECK(cudaGetLastError())

struct kcuda {
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    void *ws;            /* cuDNN workspace */
    size_t ws_bytes;
    double *red;         /* reduction partials and per-channel sums */
    size_t red_n;        /* doubles in red */
    double *host_red;    /* pinned host copy of one reduction result */
};

static inline struct kcuda *kcuda_of(struct kern_ctx *ctx) { return (struct kcuda *)ctx->impl; }
static inline cudaStream_t kcuda_stream(struct kern_ctx *ctx) { return kcuda_of(ctx)->stream; }

/* Device buffers of at least the given size, owned by the context. */
void *kcuda_workspace(struct kern_ctx *ctx, size_t bytes);
double *kcuda_reduction(struct kern_ctx *ctx, size_t n);

/* Launch geometry: 256 threads, enough blocks to cover n elements once (capped; kernels
 * loop grid-stride), so the geometry depends on n only. */
#define KCUDA_THREADS 256
static inline unsigned kcuda_blocks(size_t n)
{
    size_t b = (n + KCUDA_THREADS - 1) / KCUDA_THREADS;
    if (b < 1)
        b = 1;
    if (b > 65535)
        b = 65535;
    return (unsigned)b;
}
#define KCUDA_FOR(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* Sum of v over the block (blockDim.x == KCUDA_THREADS) in a fixed tree order; every
 * thread gets the result. Safe to call repeatedly in one kernel. */
__device__ static inline double kcuda_block_sum(double v)
{
    __shared__ double sh[KCUDA_THREADS];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = KCUDA_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s)
            sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

/* Sum of the `nparts` doubles at `parts` (device) in fixed order, returned to the host
 * (synchronizes the stream). parts[nparts] must exist: the sum is written there. */
double kcuda_sum_parts(struct kern_ctx *ctx, const double *parts, unsigned nparts);

/* Row-major C = alpha op(A) op(B) + beta C through cuBLAS (column-major) by computing
 * C^T = op(B)^T op(A)^T. */
void kcuda_gemm_rm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);
/* y (N, K, plane) += b[k]. */
void kcuda_bias_add(struct kern_ctx *ctx, int n, int k, size_t plane, const float *b, float *y);
/* db[k] += sum over N and plane of dy (N, K, plane). */
void kcuda_bias_grad(struct kern_ctx *ctx, int n, int k, size_t plane, const float *dy, float *db);

extern "C" {
/* cuda_dense.cu */
void kcuda_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc);
void kcuda_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w, const float *b,
                      float *y);
void kcuda_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x, const float *w,
                      float *dx, float *dw, float *db);
/* cuda_conv.cu */
void kcuda_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                      const float *b, float *y);
void kcuda_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                          const float *b, enum kern_act act, float slope, float *y);
void kcuda_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                           float *dx);
void kcuda_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                             float *dw, float *db);
void kcuda_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                       const float *b, float *y);
void kcuda_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                            float *dx);
void kcuda_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                              float *dw, float *db);
/* cuda_norm.cu */
void kcuda_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                        float *save_mean, float *save_invstd, float *y);
void kcuda_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *beta, const float *running_mean, const float *running_var, float eps, float *y);
void kcuda_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                  const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta);
/* cuda_eltwise.cu */
void kcuda_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y);
void kcuda_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, const float *y,
                   const float *dy, float *dx);
void kcuda_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y);
void kcuda_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y);
void kcuda_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x);
void kcuda_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y);
void kcuda_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db);
void kcuda_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                      float *m, float *v);
/* cuda_pool.cu */
void kcuda_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                         int32_t *argmax);
void kcuda_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                         float *dx);
void kcuda_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y);
void kcuda_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx);
void kcuda_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y);
void kcuda_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx);
void kcuda_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y);
void kcuda_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx);
void kcuda_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *x,
                                 float *y);
void kcuda_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *dy,
                                 float *dx);
/* cuda_loss.cu */
float kcuda_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                    float *dpred);
float kcuda_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                     float *dpred);
float kcuda_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                            float *dlogits);
float kcuda_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                            float scale, float *dlogits);
/* cuda_cloth.cu */
void kcuda_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h);
void kcuda_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
void kcuda_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at);
void kcuda_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at);
void kcuda_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                         float push_max, float push_cap);
void kcuda_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping);
void kcuda_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest);
}

#endif
