/* norm.c: batch normalization of the fast CPU backend, x (N, C, HW) normalized per channel
 * over (N, HW).
 *
 * Channels run in parallel; within a channel each of the N rows of HW floats is summed in
 * 16 float lanes (vectorizable), each row's total is added to a double in row order. The
 * order depends only on the shape, so the results do not depend on the thread count.
 * Statistics are two-pass (mean, then squared deviations) as the reference; per-element
 * math is kernels/kfn.h's. */
#include "kernels/cpu/kcpu_ops.h"
#include "kernels/kfn.h"

#define LANES 16
#define PAR_MIN ((size_t)1 << 15)

static inline int nthreads(const struct kern_ctx *ctx, size_t n) { return n >= PAR_MIN ? ctx->threads : 1; }

/* sum of x[0..n) */
static double row_sum(const float *x, int n)
{
    float lane[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            lane[j] += x[i + j];
    double s = 0.0;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < LANES; j++)
        s += lane[j];
    return s;
}

/* sum of (x - mu)^2 */
static double row_sqdev(const float *x, int n, float mu)
{
    float lane[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float d = x[i + j] - mu;
            lane[j] += d * d;
        }
    double s = 0.0;
    for (; i < n; i++) {
        double d = (double)x[i] - mu;
        s += d * d;
    }
    for (int j = 0; j < LANES; j++)
        s += lane[j];
    return s;
}

/* sum dy and sum dy * xhat, xhat = (x - mean) invstd */
static void row_bwd_sums(const float *dy, const float *x, int n, float mean, float invstd, double *sdy,
                         double *sdyx)
{
    float l1[LANES] = {0}, l2[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float g = dy[i + j];
            l1[j] += g;
            l2[j] += g * kfn_bn_norm(x[i + j], mean, invstd);
        }
    double a = 0.0, b = 0.0;
    for (; i < n; i++) {
        a += dy[i];
        b += (double)dy[i] * kfn_bn_norm(x[i], mean, invstd);
    }
    for (int j = 0; j < LANES; j++) {
        a += l1[j];
        b += l2[j];
    }
    *sdy += a;
    *sdyx += b;
}

void kcpu_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, float eps, float momentum, float *running_mean, float *running_var,
                       float *save_mean, float *save_invstd, float *y)
{
    double m = (double)n * hw;
    int nt = nthreads(ctx, (size_t)n * c * hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int b = 0; b < n; b++)
            sum += row_sum(x + ((size_t)b * c + ch) * hw, hw);
        float meanf = (float)(sum / m);
        double sq = 0.0;
        for (int b = 0; b < n; b++)
            sq += row_sqdev(x + ((size_t)b * c + ch) * hw, hw, meanf);
        float invstd = kfn_bn_invstd(sq / m, eps);
        save_mean[ch] = meanf;
        save_invstd[ch] = invstd;
        if (running_mean)
            running_mean[ch] = kfn_bn_running(running_mean[ch], meanf, momentum);
        if (running_var)
            running_var[ch] = kfn_bn_running(running_var[ch], (float)(sq / (m - 1.0)), momentum);
        float g = gamma[ch], be = beta[ch];
        for (int b = 0; b < n; b++) {
            const float *xr = x + ((size_t)b * c + ch) * hw;
            float *yr = y + ((size_t)b * c + ch) * hw;
            for (int i = 0; i < hw; i++)
                yr[i] = kfn_bn_affine(kfn_bn_norm(xr[i], meanf, invstd), g, be);
        }
    }
}

void kcpu_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var, float eps, float *y)
{
    int rows = n * c;
    int nt = nthreads(ctx, (size_t)rows * hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int r = 0; r < rows; r++) {
        int ch = r % c;
        float g = gamma[ch], be = beta[ch], mu = running_mean[ch], var = running_var[ch];
        const float *xr = x + (size_t)r * hw;
        float *yr = y + (size_t)r * hw;
        for (int i = 0; i < hw; i++)
            yr[i] = kfn_bn_infer(xr[i], g, be, mu, var, eps);
    }
}

void kcpu_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x, const float *gamma,
                 const float *save_mean, const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    double m = (double)n * hw;
    int nt = nthreads(ctx, (size_t)n * c * hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int ch = 0; ch < c; ch++) {
        float mean = save_mean[ch], invstd = save_invstd[ch], g = gamma[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (int b = 0; b < n; b++) {
            size_t off = ((size_t)b * c + ch) * hw;
            row_bwd_sums(dy + off, x + off, hw, mean, invstd, &sdy, &sdyx);
        }
        if (dgamma)
            dgamma[ch] += (float)sdyx;
        if (dbeta)
            dbeta[ch] += (float)sdy;
        if (!dx)
            continue;
        for (int b = 0; b < n; b++) {
            size_t off = ((size_t)b * c + ch) * hw;
            const float *dr = dy + off, *xr = x + off;
            float *o = dx + off;
            for (int i = 0; i < hw; i++)
                o[i] += kfn_bn_bwd_dx(dr[i], kfn_bn_norm(xr[i], mean, invstd), g, invstd, sdy, sdyx, m);
        }
    }
}
