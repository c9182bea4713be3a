/* eltwise.c: element-wise ops, channel concat, losses and AdamW of the fast CPU backend.
 *
 * The per-element math is kernels/kfn.h's (the same functions REF and CUDA call); what
 * this file adds is OpenMP threads over fixed blocks and loops simple enough for the
 * compiler to vectorize (built with -O3, see flags.cmake). Elements are independent, so
 * results do not depend on the thread count; the loss sums are formed per fixed block of
 * LOSS_BLOCK elements (double) and the blocks added in order, so the returned loss does
 * not either. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/kcpu_ops.h"
#include "kernels/kfn.h"

/* Below this many elements a loop runs on the calling thread only. */
#define PAR_MIN ((size_t)1 << 15)
#define LOSS_BLOCK ((size_t)1 << 14)

static inline int nthreads(const struct kern_ctx *ctx, size_t n) { return n >= PAR_MIN ? ctx->threads : 1; }

void kcpu_act_fwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    int nt = nthreads(ctx, n);
    switch (act) {
    case KERN_ACT_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
        for (size_t i = 0; i < n; i++)
            y[i] = kfn_relu(x[i]);
        break;
    case KERN_ACT_LEAKY_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
        for (size_t i = 0; i < n; i++)
            y[i] = kfn_leaky_relu(x[i], slope);
        break;
    default:
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (size_t i = 0; i < n; i++)
            y[i] = kfn_act(act, slope, x[i]);
        break;
    }
}

void kcpu_act_bwd(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, const float *y,
                  const float *dy, float *dx)
{
    int nt = nthreads(ctx, n);
    switch (act) {
    case KERN_ACT_RELU:
    case KERN_ACT_LEAKY_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(act, slope, x[i], 0.0f);
        break;
    default:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(act, slope, 0.0f, y[i]);
        break;
    }
}

void kcpu_add(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void kcpu_axpy(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void kcpu_scale(struct kern_ctx *ctx, size_t n, float alpha, float *x)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

void kcpu_concat_fwd(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b, float *y)
{
    size_t pa = (size_t)ca * hw, pb = (size_t)cb * hw;
    int nt = nthreads(ctx, (size_t)n * (pa + pb));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * (pa + pb);
        memcpy(yi, a + (size_t)i * pa, pa * sizeof(float));
        memcpy(yi + pa, b + (size_t)i * pb, pb * sizeof(float));
    }
}

void kcpu_concat_bwd(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da, float *db)
{
    size_t pa = (size_t)ca * hw, pb = (size_t)cb * hw;
    int nt = nthreads(ctx, (size_t)n * (pa + pb));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int i = 0; i < n; i++) {
        const float *gi = dy + (size_t)i * (pa + pb);
        if (da) {
            float *d = da + (size_t)i * pa;
            for (size_t j = 0; j < pa; j++)
                d[j] += gi[j];
        }
        if (db) {
            float *d = db + (size_t)i * pb;
            for (size_t j = 0; j < pb; j++)
                d[j] += gi[pa + j];
        }
    }
}

/* ===== losses ===========================================================================*/

enum loss_kind { LOSS_L1, LOSS_MSE, LOSS_BCE };

static inline float loss_val(enum loss_kind k, float p, float t)
{
    return k == LOSS_L1 ? kfn_l1(p, t) : k == LOSS_MSE ? kfn_mse(p, t) : kfn_bce_logits(p, t);
}

static inline float loss_grad(enum loss_kind k, float p, float t)
{
    return k == LOSS_L1 ? kfn_l1_grad(p, t) : k == LOSS_MSE ? kfn_mse_grad(p, t) : kfn_bce_logits_grad(p, t);
}

/* Mean loss over n; grad (optional) += scale/n * d loss / d pred. Block sums in double,
 * added in block order. */
static float loss_run(struct kern_ctx *ctx, enum loss_kind kind, size_t n, const float *pred, const float *target,
                      float scale, float *grad)
{
    size_t nb = (n + LOSS_BLOCK - 1) / LOSS_BLOCK;
    double one = 0.0, *part = nb > 1 ? malloc(nb * sizeof(double)) : &one;
    assert(part);
    float g = scale / (float)n;
    int nt = nthreads(ctx, n);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (size_t blk = 0; blk < nb; blk++) {
        size_t i0 = blk * LOSS_BLOCK, i1 = i0 + LOSS_BLOCK < n ? i0 + LOSS_BLOCK : n;
        double s = 0.0;
        for (size_t i = i0; i < i1; i++)
            s += loss_val(kind, pred[i], target[i]);
        part[blk] = s;
        if (grad)
            for (size_t i = i0; i < i1; i++)
                grad[i] += g * loss_grad(kind, pred[i], target[i]);
    }
    double acc = 0.0;
    for (size_t blk = 0; blk < nb; blk++)
        acc += part[blk];
    if (part != &one)
        free(part);
    return (float)(acc / (double)n);
}

float kcpu_loss_l1(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale, float *dpred)
{
    return loss_run(ctx, LOSS_L1, n, pred, target, scale, dpred);
}

float kcpu_loss_mse(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                    float *dpred)
{
    return loss_run(ctx, LOSS_MSE, n, pred, target, scale, dpred);
}

float kcpu_loss_bce_logits(struct kern_ctx *ctx, size_t n, const float *logits, const float *target, float scale,
                           float *dlogits)
{
    return loss_run(ctx, LOSS_BCE, n, logits, target, scale, dlogits);
}

/* Rows in parallel; the per-row losses are kept and summed in row order. */
float kcpu_loss_softmax_ce(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                           float scale, float *dlogits)
{
    double *row = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert(row);
    float g = scale / (float)n;
    int nt = nthreads(ctx, (size_t)n * k);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int i = 0; i < n; i++) {
        assert(labels[i] >= 0 && labels[i] < k);
        row[i] = kfn_softmax_ce_row(logits + (size_t)i * k, k, labels[i], g, dlogits ? dlogits + (size_t)i * k : NULL);
    }
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += row[i];
    free(row);
    return (float)(acc / n);
}

/* ===== AdamW ============================================================================*/

void kcpu_adamw_step(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param, const float *grad,
                     float *m, float *v)
{
    struct kfn_adamw_coef c = kfn_adamw_coef(h);
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (nt > 1)
    for (size_t i = 0; i < n; i++)
        kfn_adamw(&c, &param[i], grad[i], &m[i], &v[i]);
}
