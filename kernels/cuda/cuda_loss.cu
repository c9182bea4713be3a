/* cuda_loss.cu: losses on the GPU. One pass per loss: each thread adds the per-element
 * gradient into dpred (kfn.h) and accumulates its loss terms in double; each block reduces
 * them through the fixed tree into one partial; kcuda_sum_parts adds the partials in a
 * fixed order and brings the sum to the host. The grid size depends on n only, so the
 * returned mean is the same on every run. Softmax cross-entropy: one thread per row
 * (kfn_softmax_ce_row), the row losses reduced the same way. */
#include "kernels/cuda/kcuda.cuh"

enum loss_kind { LOSS_L1, LOSS_MSE, LOSS_BCE };

__global__ static void k_loss(size_t n, enum loss_kind kind, const float *p, const float *t, float g, float *dp,
                              double *parts)
{
    double s = 0.0;
    KCUDA_FOR(i, n)
    {
        float pi = p[i], ti = t[i];
        switch (kind) {
        case LOSS_L1:
            s += kfn_l1(pi, ti);
            if (dp)
                dp[i] += g * kfn_l1_grad(pi, ti);
            break;
        case LOSS_MSE:
            s += kfn_mse(pi, ti);
            if (dp)
                dp[i] += g * kfn_mse_grad(pi, ti);
            break;
        case LOSS_BCE:
            s += kfn_bce_logits(pi, ti);
            if (dp)
                dp[i] += g * kfn_bce_logits_grad(pi, ti);
            break;
        }
    }
    s = kcuda_block_sum(s);
    if (threadIdx.x == 0)
        parts[blockIdx.x] = s;
}

static float run_loss(struct kern_ctx *ctx, enum loss_kind kind, size_t n, const float *p, const float *t,
                      float scale, float *dp)
{
    unsigned blocks = kcuda_blocks(n);
    if (blocks > 1024)
        blocks = 1024;
    double *parts = kcuda_reduction(ctx, (size_t)blocks + 1);
    k_loss<<<blocks, KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(n, kind, p, t, scale / (float)n, dp, parts);
    KCUDA_LAUNCHED();
    return (float)(kcuda_sum_parts(ctx, parts, blocks) / (double)n);
}

__global__ static void k_softmax_ce(int n, int k, const float *x, const int32_t *labels, float g, float *dx,
                                    double *rows)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    rows[i] = kfn_softmax_ce_row(x + (size_t)i * k, k, labels[i], g, dx ? dx + (size_t)i * k : NULL);
}

extern "C" {

float kcuda_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred)
{
    return run_loss(ctx, LOSS_L1, n, pred, target, scale, dpred);
}

float kcuda_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                     float *dpred)
{
    return run_loss(ctx, LOSS_MSE, n, pred, target, scale, dpred);
}

float kcuda_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                            float *dlogits)
{
    return run_loss(ctx, LOSS_BCE, n, logits, target, scale, dlogits);
}

float kcuda_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                            float scale, float *dlogits)
{
    double *rows = kcuda_reduction(ctx, (size_t)n + 1);
    k_softmax_ce<<<(n + KCUDA_THREADS - 1) / KCUDA_THREADS, KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(
        n, k, logits, labels, scale / (float)n, dlogits, rows);
    KCUDA_LAUNCHED();
    return (float)(kcuda_sum_parts(ctx, rows, (unsigned)n) / (double)n);
}
}
