/* cuda_norm.cu: batch normalization on the GPU.
 * Training statistics: one block per channel, two passes (mean, then the centred sum of
 * squares) in double through the fixed-order block tree, so the result does not depend on
 * scheduling; thread 0 writes save_mean/save_invstd and the running statistics. The
 * normalization itself is element-wise with kfn.h. Backward: one block per channel sums
 * dy and dy*xhat (double) into a device buffer and adds dgamma/dbeta; an element-wise
 * kernel then applies kfn_bn_bwd_dx. */
#include "kernels/cuda/kcuda.cuh"

/* x (N, C, HW): element j in [0, N*HW) of channel ch */
__device__ static inline size_t bn_at(size_t j, int c, int hw, int ch)
{
    return ((j / (size_t)hw) * (size_t)c + (size_t)ch) * (size_t)hw + j % (size_t)hw;
}

__global__ static void k_bn_stats(int n, int c, int hw, const float *x, float eps, float momentum,
                                  float *running_mean, float *running_var, float *save_mean, float *save_invstd)
{
    int ch = blockIdx.x;
    size_t m = (size_t)n * hw;
    double s = 0.0;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x)
        s += x[bn_at(j, c, hw, ch)];
    double mean = kcuda_block_sum(s) / (double)m;
    double q = 0.0;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x) {
        double dv = (double)x[bn_at(j, c, hw, ch)] - mean;
        q += dv * dv;
    }
    q = kcuda_block_sum(q);
    if (threadIdx.x == 0) {
        float meanf = (float)mean;
        save_mean[ch] = meanf;
        save_invstd[ch] = kfn_bn_invstd(q / (double)m, eps);
        if (running_mean)
            running_mean[ch] = kfn_bn_running(running_mean[ch], meanf, momentum);
        if (running_var)
            running_var[ch] = kfn_bn_running(running_var[ch], (float)(q / ((double)m - 1.0)), momentum);
    }
}

__global__ static void k_bn_apply(size_t total, int c, int hw, const float *x, const float *gamma, const float *beta,
                                  const float *mean, const float *invstd, float *y)
{
    KCUDA_FOR(i, total)
    {
        int ch = (int)((i / (size_t)hw) % (size_t)c);
        y[i] = kfn_bn_affine(kfn_bn_norm(x[i], mean[ch], invstd[ch]), gamma[ch], beta[ch]);
    }
}

__global__ static void k_bn_infer(size_t total, int c, int hw, const float *x, const float *gamma, const float *beta,
                                  const float *rmean, const float *rvar, float eps, float *y)
{
    KCUDA_FOR(i, total)
    {
        int ch = (int)((i / (size_t)hw) % (size_t)c);
        y[i] = kfn_bn_infer(x[i], gamma[ch], beta[ch], rmean[ch], rvar[ch], eps);
    }
}

/* sums[2 ch] = sum dy, sums[2 ch + 1] = sum dy * xhat over channel ch */
__global__ static void k_bn_bwd_sums(int n, int c, int hw, const float *dy, const float *x, const float *mean,
                                     const float *invstd, double *sums, float *dgamma, float *dbeta)
{
    int ch = blockIdx.x;
    size_t m = (size_t)n * hw;
    float mu = mean[ch], is = invstd[ch];
    double sdy = 0.0, sdyx = 0.0;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x) {
        size_t i = bn_at(j, c, hw, ch);
        sdy += dy[i];
        sdyx += (double)dy[i] * (double)kfn_bn_norm(x[i], mu, is);
    }
    sdy = kcuda_block_sum(sdy);
    sdyx = kcuda_block_sum(sdyx);
    if (threadIdx.x == 0) {
        sums[2 * ch] = sdy;
        sums[2 * ch + 1] = sdyx;
        if (dgamma)
            dgamma[ch] += (float)sdyx;
        if (dbeta)
            dbeta[ch] += (float)sdy;
    }
}

__global__ static void k_bn_bwd_dx(size_t total, int c, int hw, double m, const float *dy, const float *x,
                                   const float *gamma, const float *mean, const float *invstd, const double *sums,
                                   float *dx)
{
    KCUDA_FOR(i, total)
    {
        int ch = (int)((i / (size_t)hw) % (size_t)c);
        float xhat = kfn_bn_norm(x[i], mean[ch], invstd[ch]);
        dx[i] += kfn_bn_bwd_dx(dy[i], xhat, gamma[ch], invstd[ch], sums[2 * ch], sums[2 * ch + 1], m);
    }
}

extern "C" {

void kcuda_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                        float *save_mean, float *save_invstd, float *y)
{
    cudaStream_t st = kcuda_stream(ctx);
    k_bn_stats<<<c, KCUDA_THREADS, 0, st>>>(n, c, hw, x, eps, momentum, running_mean, running_var, save_mean,
                                            save_invstd);
    KCUDA_LAUNCHED();
    size_t total = (size_t)n * c * hw;
    k_bn_apply<<<kcuda_blocks(total), KCUDA_THREADS, 0, st>>>(total, c, hw, x, gamma, beta, save_mean, save_invstd, y);
    KCUDA_LAUNCHED();
}

void kcuda_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *beta, const float *running_mean, const float *running_var, float eps, float *y)
{
    size_t total = (size_t)n * c * hw;
    k_bn_infer<<<kcuda_blocks(total), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(total, c, hw, x, gamma, beta,
                                                                             running_mean, running_var, eps, y);
    KCUDA_LAUNCHED();
}

void kcuda_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                  const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    cudaStream_t st = kcuda_stream(ctx);
    double *sums = kcuda_reduction(ctx, 2 * (size_t)c);
    k_bn_bwd_sums<<<c, KCUDA_THREADS, 0, st>>>(n, c, hw, dy, x, save_mean, save_invstd, sums, dgamma, dbeta);
    KCUDA_LAUNCHED();
    if (dx) {
        size_t total = (size_t)n * c * hw;
        k_bn_bwd_dx<<<kcuda_blocks(total), KCUDA_THREADS, 0, st>>>(total, c, hw, (double)n * hw, dy, x, gamma,
                                                                   save_mean, save_invstd, sums, dx);
        KCUDA_LAUNCHED();
    }
}
}
