/* ref_loss.c: reference losses. Each returns the mean over its elements (rows for softmax
 * cross-entropy), summed in double, and accumulates scale * d(mean)/d(pred) into the
 * gradient when one is given (kernels.h). */
#include <assert.h>

#include "kernels/kfn.h"
#include "kernels/ref/ref.h"

float kern_ref_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                       float *dpred)
{
    double acc = 0.0;
    float g = scale / (float)n;
    for (size_t i = 0; i < n; i++) {
        acc += kfn_l1(pred[i], target[i]);
        if (dpred)
            dpred[i] += g * kfn_l1_grad(pred[i], target[i]);
    }
    return (float)(acc / (double)n);
}

float kern_ref_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                        float *dpred)
{
    double acc = 0.0;
    float g = scale / (float)n;
    for (size_t i = 0; i < n; i++) {
        acc += kfn_mse(pred[i], target[i]);
        if (dpred)
            dpred[i] += g * kfn_mse_grad(pred[i], target[i]);
    }
    return (float)(acc / (double)n);
}

float kern_ref_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target,
                               float scale, float *dlogits)
{
    double acc = 0.0;
    float g = scale / (float)n;
    for (size_t i = 0; i < n; i++) {
        acc += kfn_bce_logits(logits[i], target[i]);
        if (dlogits)
            dlogits[i] += g * kfn_bce_logits_grad(logits[i], target[i]);
    }
    return (float)(acc / (double)n);
}

float kern_ref_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                               float scale, float *dlogits)
{
    double acc = 0.0;
    float g = scale / (float)n;
    for (int i = 0; i < n; i++) {
        assert(labels[i] >= 0 && labels[i] < k);
        acc += kfn_softmax_ce_row(logits + (size_t)i * k, k, labels[i], g,
                                  dlogits ? dlogits + (size_t)i * k : NULL);
    }
    return (float)(acc / n);
}
