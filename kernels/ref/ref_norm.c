/* ref_norm.c: reference batch normalization over (N, HW) per channel of x (N, C, HW):
 * training forward with two-pass double statistics and torch's running-stat update,
 * inference forward, and the training backward. */
#include "kernels/kfn.h"
#include "kernels/ref/ref.h"

#define AT(p, c_, hw_, n, c, i) (p)[((size_t)(n) * (c_) + (c)) * (size_t)(hw_) + (i)]

void kern_ref_bn_fwd_train(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, float eps, float momentum, float *running_mean,
                           float *running_var, float *save_mean, float *save_invstd, float *y)
{
    double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++)
                sum += AT(x, c, hw, b, ch, i);
        double mean = sum / m;
        double sq = 0.0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++) {
                double dv = (double)AT(x, c, hw, b, ch, i) - mean;
                sq += dv * dv;
            }
        double var = sq / m;
        float meanf = (float)mean, invstd = kfn_bn_invstd(var, eps);
        save_mean[ch] = meanf;
        save_invstd[ch] = invstd;
        if (running_mean)
            running_mean[ch] = kfn_bn_running(running_mean[ch], meanf, momentum);
        if (running_var)
            running_var[ch] = kfn_bn_running(running_var[ch], (float)(sq / (m - 1.0)), momentum);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++)
                AT(y, c, hw, b, ch, i) =
                    kfn_bn_affine(kfn_bn_norm(AT(x, c, hw, b, ch, i), meanf, invstd), gamma[ch], beta[ch]);
    }
}

void kern_ref_bn_fwd_infer(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                           const float *beta, const float *running_mean, const float *running_var, float eps,
                           float *y)
{
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < hw; i++)
                AT(y, c, hw, b, ch, i) = kfn_bn_infer(AT(x, c, hw, b, ch, i), gamma[ch], beta[ch],
                                                      running_mean[ch], running_var[ch], eps);
}

void kern_ref_bn_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x,
                     const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
                     float *dgamma, float *dbeta)
{
    double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        float mean = save_mean[ch], invstd = save_invstd[ch];
        double sdy = 0.0, sdyx = 0.0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < hw; i++) {
                float g = AT(dy, c, hw, b, ch, i);
                sdy += g;
                sdyx += (double)g * (double)kfn_bn_norm(AT(x, c, hw, b, ch, i), mean, invstd);
            }
        if (dgamma)
            dgamma[ch] += (float)sdyx;
        if (dbeta)
            dbeta[ch] += (float)sdy;
        if (dx)
            for (int b = 0; b < n; b++)
                for (int i = 0; i < hw; i++) {
                    float xhat = kfn_bn_norm(AT(x, c, hw, b, ch, i), mean, invstd);
                    AT(dx, c, hw, b, ch, i) +=
                        kfn_bn_bwd_dx(AT(dy, c, hw, b, ch, i), xhat, gamma[ch], invstd, sdy, sdyx, m);
                }
    }
}
