/* cuda_backend.cu: the CUDA backend's life cycle, memory, shared helpers and ops table.
 *
 * kern_cuda_query reports devices without failing (with no driver cudaGetDeviceCount
 * returns an error, e.g. 35 "insufficient driver": reported, count 0). kern_cuda_init
 * binds the device, creates the context's stream, cuBLAS and cuDNN handles; what the
 * environment can break there returns TRYON_EUNSUPPORTED with a message, later CUDA errors
 * are bugs or lost devices and abort through CUDA_CHECK with file:line.
 * Math: strict FP32 (no TF32) in cuBLAS and cuDNN, so results stay within the per-op limits
 * of tests/kernels/cases.h against the reference backend. */
#include <cstring>

#include "kernels/cuda/kcuda.cuh"

/* ===== life cycle =======================================================================*/

extern "C" void kern_cuda_query(struct kern_info *info)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        info->cuda_error = (int)e;
        info->cuda_devices = 0;
        (void)cudaGetLastError(); /* clear the runtime's last-error slot */
        return;
    }
    info->cuda_error = 0;
    info->cuda_devices = count;
    if (count > 0) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) {
            size_t len = strnlen(p.name, sizeof(p.name));
            if (len >= sizeof(info->gpu_name))
                len = sizeof(info->gpu_name) - 1;
            memcpy(info->gpu_name, p.name, len);
            info->gpu_name[len] = '\0';
        }
    }
}

extern "C" enum tryon_status kern_cuda_init(struct kern_ctx *ctx, int device)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: no usable GPU (cudaGetDeviceCount: %s, error %d)",
                          cudaGetErrorString(e), (int)e);
    }
    if (count == 0)
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: no GPU found");
    if (device >= count)
        return tryon_fail(TRYON_EINVAL, "kernels: CUDA backend: device %d requested, %d present", device, count);
    e = cudaSetDevice(device);
    if (e != cudaSuccess)
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: cudaSetDevice(%d): %s", device,
                          cudaGetErrorString(e));
    struct kcuda *k = (struct kcuda *)calloc(1, sizeof(*k));
    if (!k)
        return tryon_fail(TRYON_ENOMEM, "kernels: CUDA backend: out of host memory");
    e = cudaStreamCreateWithFlags(&k->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        free(k);
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: cudaStreamCreate: %s", cudaGetErrorString(e));
    }
    cublasStatus_t bs = cublasCreate(&k->cublas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        CUDA_CHECK(cudaStreamDestroy(k->stream));
        free(k);
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: cublasCreate: %s", cublasGetStatusString(bs));
    }
    cudnnStatus_t ds = cudnnCreate(&k->cudnn);
    if (ds != CUDNN_STATUS_SUCCESS) {
        CUBLAS_CHECK(cublasDestroy(k->cublas));
        CUDA_CHECK(cudaStreamDestroy(k->stream));
        free(k);
        return tryon_fail(TRYON_EUNSUPPORTED, "kernels: CUDA backend: cudnnCreate: %s", cudnnGetErrorString(ds));
    }
    CUBLAS_CHECK(cublasSetStream(k->cublas, k->stream));
    CUBLAS_CHECK(cublasSetMathMode(k->cublas, CUBLAS_DEFAULT_MATH));
    CUDNN_CHECK(cudnnSetStream(k->cudnn, k->stream));
    CUDA_CHECK(cudaMallocHost((void **)&k->host_red, sizeof(double)));
    ctx->impl = k;
    ctx->device = device;
    return TRYON_OK;
}

extern "C" void kern_cuda_fini(struct kern_ctx *ctx)
{
    struct kcuda *k = kcuda_of(ctx);
    if (!k)
        return;
    CUDA_CHECK(cudaStreamSynchronize(k->stream));
    CUDNN_CHECK(cudnnDestroy(k->cudnn));
    CUBLAS_CHECK(cublasDestroy(k->cublas));
    CUDA_CHECK(cudaFree(k->ws));
    CUDA_CHECK(cudaFree(k->red));
    CUDA_CHECK(cudaFreeHost(k->host_red));
    CUDA_CHECK(cudaStreamDestroy(k->stream));
    free(k);
    ctx->impl = NULL;
}

/* ===== memory ===========================================================================*/

static void *dev_alloc(struct kern_ctx *ctx, size_t bytes)
{
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 4));
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes ? bytes : 4, kcuda_stream(ctx)));
    return p;
}

static float *kcuda_alloc(struct kern_ctx *ctx, size_t n) { return (float *)dev_alloc(ctx, n * sizeof(float)); }
static int32_t *kcuda_alloc_i32(struct kern_ctx *ctx, size_t n)
{
    return (int32_t *)dev_alloc(ctx, n * sizeof(int32_t));
}

static void kcuda_release(struct kern_ctx *ctx, void *p)
{
    CUDA_CHECK(cudaStreamSynchronize(kcuda_stream(ctx)));
    CUDA_CHECK(cudaFree(p));
}

static void kcuda_upload(struct kern_ctx *ctx, void *dst, const void *host_src, size_t bytes)
{
    if (!bytes)
        return;
    CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, kcuda_stream(ctx)));
    CUDA_CHECK(cudaStreamSynchronize(kcuda_stream(ctx)));
}

static void kcuda_download(struct kern_ctx *ctx, void *host_dst, const void *src, size_t bytes)
{
    if (!bytes)
        return;
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, kcuda_stream(ctx)));
    CUDA_CHECK(cudaStreamSynchronize(kcuda_stream(ctx)));
}

static void kcuda_zero(struct kern_ctx *ctx, float *p, size_t n)
{
    if (n)
        CUDA_CHECK(cudaMemsetAsync(p, 0, n * sizeof(float), kcuda_stream(ctx)));
}

static void kcuda_copy(struct kern_ctx *ctx, float *dst, const float *src, size_t n)
{
    if (n && dst != src)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, kcuda_stream(ctx)));
}

static void kcuda_sync(struct kern_ctx *ctx) { CUDA_CHECK(cudaStreamSynchronize(kcuda_stream(ctx))); }

void *kcuda_workspace(struct kern_ctx *ctx, size_t bytes)
{
    struct kcuda *k = kcuda_of(ctx);
    if (bytes > k->ws_bytes) {
        CUDA_CHECK(cudaStreamSynchronize(k->stream));
        CUDA_CHECK(cudaFree(k->ws));
        k->ws = NULL;
        CUDA_CHECK(cudaMalloc(&k->ws, bytes));
        k->ws_bytes = bytes;
    }
    return k->ws;
}

double *kcuda_reduction(struct kern_ctx *ctx, size_t n)
{
    struct kcuda *k = kcuda_of(ctx);
    if (n > k->red_n) {
        CUDA_CHECK(cudaStreamSynchronize(k->stream));
        CUDA_CHECK(cudaFree(k->red));
        k->red = NULL;
        CUDA_CHECK(cudaMalloc((void **)&k->red, n * sizeof(double)));
        k->red_n = n;
    }
    return k->red;
}

/* ===== shared helpers ===================================================================*/

/* One block: thread t adds parts t, t+256, ... then the fixed tree; result in parts[n]. */
__global__ static void k_sum_parts(double *parts, unsigned n)
{
    double s = 0.0;
    for (unsigned i = threadIdx.x; i < n; i += blockDim.x)
        s += parts[i];
    s = kcuda_block_sum(s);
    if (threadIdx.x == 0)
        parts[n] = s;
}

double kcuda_sum_parts(struct kern_ctx *ctx, const double *parts, unsigned nparts)
{
    struct kcuda *k = kcuda_of(ctx);
    k_sum_parts<<<1, KCUDA_THREADS, 0, k->stream>>>((double *)parts, nparts);
    KCUDA_LAUNCHED();
    CUDA_CHECK(cudaMemcpyAsync(k->host_red, parts + nparts, sizeof(double), cudaMemcpyDeviceToHost, k->stream));
    CUDA_CHECK(cudaStreamSynchronize(k->stream));
    return *k->host_red;
}

__global__ static void k_bias_add(size_t total, int k, size_t plane, const float *b, float *y)
{
    KCUDA_FOR(i, total) y[i] += b[(i / plane) % (size_t)k];
}

void kcuda_bias_add(struct kern_ctx *ctx, int n, int k, size_t plane, const float *b, float *y)
{
    size_t total = (size_t)n * k * plane;
    k_bias_add<<<kcuda_blocks(total), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(total, k, plane, b, y);
    KCUDA_LAUNCHED();
}

/* One block per channel: sum over N and the plane in a fixed order. */
__global__ static void k_bias_grad(int n, int k, size_t plane, const float *dy, float *db)
{
    int ch = blockIdx.x;
    size_t m = (size_t)n * plane;
    double s = 0.0;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x)
        s += dy[((j / plane) * (size_t)k + ch) * plane + j % plane];
    s = kcuda_block_sum(s);
    if (threadIdx.x == 0)
        db[ch] += (float)s;
}

void kcuda_bias_grad(struct kern_ctx *ctx, int n, int k, size_t plane, const float *dy, float *db)
{
    k_bias_grad<<<k, KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(n, k, plane, dy, db);
    KCUDA_LAUNCHED();
}

/* ===== the table ========================================================================*/

extern "C" const struct kern_ops kern_ops_cuda = {
    .alloc = kcuda_alloc,
    .alloc_i32 = kcuda_alloc_i32,
    .release = kcuda_release,
    .upload = kcuda_upload,
    .download = kcuda_download,
    .zero = kcuda_zero,
    .copy = kcuda_copy,
    .sync = kcuda_sync,
    .gemm = kcuda_gemm,
    .linear_fwd = kcuda_linear_fwd,
    .linear_bwd = kcuda_linear_bwd,
    .conv2d_fwd = kcuda_conv2d_fwd,
    .conv2d_fwd_act = kcuda_conv2d_fwd_act,
    .conv2d_bwd_data = kcuda_conv2d_bwd_data,
    .conv2d_bwd_filter = kcuda_conv2d_bwd_filter,
    .convt2d_fwd = kcuda_convt2d_fwd,
    .convt2d_bwd_data = kcuda_convt2d_bwd_data,
    .convt2d_bwd_filter = kcuda_convt2d_bwd_filter,
    .bn_fwd_train = kcuda_bn_fwd_train,
    .bn_fwd_infer = kcuda_bn_fwd_infer,
    .bn_bwd = kcuda_bn_bwd,
    .act_fwd = kcuda_act_fwd,
    .act_bwd = kcuda_act_bwd,
    .add = kcuda_add,
    .axpy = kcuda_axpy,
    .scale = kcuda_scale,
    .concat_fwd = kcuda_concat_fwd,
    .concat_bwd = kcuda_concat_bwd,
    .maxpool2d_fwd = kcuda_maxpool2d_fwd,
    .maxpool2d_bwd = kcuda_maxpool2d_bwd,
    .avgpool2d_fwd = kcuda_avgpool2d_fwd,
    .avgpool2d_bwd = kcuda_avgpool2d_bwd,
    .gap_fwd = kcuda_gap_fwd,
    .gap_bwd = kcuda_gap_bwd,
    .upsample_nearest_fwd = kcuda_upsample_nearest_fwd,
    .upsample_nearest_bwd = kcuda_upsample_nearest_bwd,
    .upsample_bilinear_fwd = kcuda_upsample_bilinear_fwd,
    .upsample_bilinear_bwd = kcuda_upsample_bilinear_bwd,
    .loss_l1 = kcuda_loss_l1,
    .loss_mse = kcuda_loss_mse,
    .loss_bce_logits = kcuda_loss_bce_logits,
    .loss_softmax_ce = kcuda_loss_softmax_ce,
    .adamw_step = kcuda_adamw_step,
    .cloth_predict = kcuda_cloth_predict,
    .cloth_stretch = kcuda_cloth_stretch,
    .cloth_bend = kcuda_cloth_bend,
    .cloth_attach = kcuda_cloth_attach,
    .cloth_contact = kcuda_cloth_contact,
    .cloth_velocity = kcuda_cloth_velocity,
    .cloth_bend_rest = kcuda_cloth_bend_rest,
};
