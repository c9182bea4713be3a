/* kfn.h: the per-element math every backend of kernels/ shares.
 *
 * Each function is KFN: `__host__ __device__ static inline` under nvcc and `static inline`
 * in C, so the reference backend, the fast CPU backend and the CUDA kernels compute one
 * element with the same arithmetic, and the CPU tests exercise what the GPU runs.
 *
 * Three groups:
 * - scalar math: activations and their derivatives, stable sigmoid, losses and their
 *   gradients, batch-norm normalize/affine/backward, one AdamW parameter update;
 * - index math: PyTorch's bilinear source index (align_corners=False), pooling windows,
 *   the range of outputs that read a given input;
 * - "_at" gathers: one output (or one input gradient) element of the index-heavy ops
 *   (concat, pooling, upsampling). The CUDA kernels are one thread per element calling
 *   these; tests/kernels/ runs them over every index on the host and compares with the
 *   reference backend's independent loops.
 * Nothing here allocates, reads global state or depends on the thread that calls it.
 */
#ifndef TRYON_KERNELS_KFN_H
#define TRYON_KERNELS_KFN_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

#ifdef __CUDACC__
#define KFN __host__ __device__ static inline
#else
#define KFN static inline
#endif

/* ===== activations ======================================================================*/

/* Stable logistic: never exponentiates a positive number. */
KFN float kfn_sigmoid(float x)
{
    if (x >= 0.0f) {
        float e = expf(-x);
        return 1.0f / (1.0f + e);
    }
    float e = expf(x);
    return e / (1.0f + e);
}

KFN float kfn_relu(float x) { return x > 0.0f ? x : 0.0f; }
KFN float kfn_leaky_relu(float x, float slope) { return x > 0.0f ? x : x * slope; }

/* act(x); slope is leaky ReLU's negative slope (ignored by the others). */
KFN float kfn_act(enum kern_act act, float slope, float x)
{
    switch (act) {
    case KERN_ACT_RELU: return kfn_relu(x);
    case KERN_ACT_LEAKY_RELU: return kfn_leaky_relu(x, slope);
    case KERN_ACT_TANH: return tanhf(x);
    case KERN_ACT_SIGMOID: return kfn_sigmoid(x);
    }
    return x;
}

/* True when the derivative of act is computed from its input x (ReLU, leaky ReLU), false
 * when from its output y (tanh, sigmoid). */
KFN bool kfn_act_grad_uses_input(enum kern_act act)
{
    return act == KERN_ACT_RELU || act == KERN_ACT_LEAKY_RELU;
}

/* d act / dx at input x with output y (only the one kfn_act_grad_uses_input names is read).
 * ReLU' is 0 at 0, as in PyTorch. */
KFN float kfn_act_grad(enum kern_act act, float slope, float x, float y)
{
    switch (act) {
    case KERN_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case KERN_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : slope;
    case KERN_ACT_TANH: return 1.0f - y * y;
    case KERN_ACT_SIGMOID: return y * (1.0f - y);
    }
    return 1.0f;
}

/* ===== losses (per element; the caller averages) =========================================*/

KFN float kfn_sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); }

KFN float kfn_l1(float p, float t) { return fabsf(p - t); }
/* d|p - t|/dp; 0 where p == t, as torch.sign. */
KFN float kfn_l1_grad(float p, float t) { return kfn_sign(p - t); }
KFN float kfn_mse(float p, float t) { float d = p - t; return d * d; }
KFN float kfn_mse_grad(float p, float t) { return 2.0f * (p - t); }

/* Binary cross-entropy on a logit x with target t in [0,1]:
 * -(t log s(x) + (1-t) log(1-s(x))) = max(x,0) - x t + log1p(exp(-|x|)), finite for all x. */
KFN float kfn_bce_logits(float x, float t)
{
    return fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x)));
}
KFN float kfn_bce_logits_grad(float x, float t) { return kfn_sigmoid(x) - t; }

/* ===== softmax over one row of k logits ==================================================*/

KFN float kfn_row_max(const float *row, int k)
{
    float m = row[0];
    for (int j = 1; j < k; j++)
        m = fmaxf(m, row[j]);
    return m;
}

/* log(sum_j exp(row[j])) computed around the row maximum mx; accumulated in double. */
KFN double kfn_row_logsumexp(const float *row, int k, float mx)
{
    double s = 0.0;
    for (int j = 0; j < k; j++)
        s += exp((double)row[j] - (double)mx);
    return (double)mx + log(s);
}

/* Cross-entropy of one row against class `label`: lse - row[label]. When drow is not NULL
 * it receives drow[j] += g * (softmax_j - [j == label]). */
KFN double kfn_softmax_ce_row(const float *row, int k, int label, float g, float *drow)
{
    float mx = kfn_row_max(row, k);
    double lse = kfn_row_logsumexp(row, k, mx);
    if (drow) {
        for (int j = 0; j < k; j++) {
            float p = (float)exp((double)row[j] - lse);
            drow[j] += g * (p - (j == label ? 1.0f : 0.0f));
        }
    }
    return lse - (double)row[label];
}

/* ===== batch normalization ==============================================================*/

/* 1/sqrt(var + eps) for a biased batch variance var. */
KFN float kfn_bn_invstd(double var, float eps) { return (float)(1.0 / sqrt(var + (double)eps)); }
KFN float kfn_bn_norm(float x, float mean, float invstd) { return (x - mean) * invstd; }
KFN float kfn_bn_affine(float xhat, float gamma, float beta) { return xhat * gamma + beta; }
/* Inference: gamma (x - mean) / sqrt(var + eps) + beta with running statistics. */
KFN float kfn_bn_infer(float x, float gamma, float beta, float mean, float var, float eps)
{
    return (x - mean) * (gamma / sqrtf(var + eps)) + beta;
}
/* Running-statistics update as torch: r = (1 - momentum) r + momentum stat. */
KFN float kfn_bn_running(float r, float stat, float momentum) { return (1.0f - momentum) * r + momentum * stat; }
/* Input gradient of training batch norm for one element, given the channel sums over its
 * m = N*HW elements: sum_dy = sum dy, sum_dy_xhat = sum dy * xhat.
 * dx = gamma invstd (dy - sum_dy/m - xhat sum_dy_xhat/m). */
KFN float kfn_bn_bwd_dx(float dy, float xhat, float gamma, float invstd, double sum_dy, double sum_dy_xhat,
                        double m)
{
    double v = (double)dy - sum_dy / m - (double)xhat * (sum_dy_xhat / m);
    return (float)((double)gamma * (double)invstd * v);
}

/* ===== AdamW ============================================================================
 * One parameter of torch.optim.AdamW (non-amsgrad, non-foreach arithmetic):
 *   p *= 1 - lr wd;  m += (1-b1)(g - m);  v = b2 v + (1-b2) g g;
 *   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
 * with bc1 = 1 - b1^t, bc2 = 1 - b2^t computed once per step by the caller. */
struct kfn_adamw_coef {
    float lr, beta1, beta2, eps, weight_decay;
    float step_size;  /* lr / bc1 */
    float bc2_sqrt;   /* sqrt(bc2) */
};
KFN struct kfn_adamw_coef kfn_adamw_coef(const struct kern_adamw *h)
{
    struct kfn_adamw_coef c;
    double bc1 = 1.0 - pow((double)h->beta1, (double)h->step);
    double bc2 = 1.0 - pow((double)h->beta2, (double)h->step);
    c.lr = h->lr;
    c.beta1 = h->beta1;
    c.beta2 = h->beta2;
    c.eps = h->eps;
    c.weight_decay = h->weight_decay;
    c.step_size = (float)((double)h->lr / bc1);
    c.bc2_sqrt = (float)sqrt(bc2);
    return c;
}
KFN void kfn_adamw(const struct kfn_adamw_coef *c, float *p, float g, float *m, float *v)
{
    float pv = *p * (1.0f - c->lr * c->weight_decay);
    float mv = *m + (1.0f - c->beta1) * (g - *m);
    float vv = c->beta2 * *v + (1.0f - c->beta2) * g * g;
    float denom = sqrtf(vv) / c->bc2_sqrt + c->eps;
    *p = pv - c->step_size * (mv / denom);
    *m = mv;
    *v = vv;
}

/* ===== bilinear (PyTorch align_corners=False) ============================================*/

/* Scale between input and output sizes as torch computes it when given an output size. */
KFN float kfn_bilinear_scale(int in, int out) { return (float)in / (float)out; }

/* For output coordinate dst: the two source indices i0 <= i1 (i1 == i0 at the last row)
 * and their weights l0 + l1 = 1. src = scale (dst + 0.5) - 0.5, clamped at 0. */
KFN void kfn_bilinear_src(int dst, float scale, int in, int *i0, int *i1, float *l0, float *l1)
{
    float src = scale * ((float)dst + 0.5f) - 0.5f;
    if (src < 0.0f)
        src = 0.0f;
    int a = (int)src;
    if (a > in - 1)
        a = in - 1;
    float lam = src - (float)a;
    if (lam < 0.0f)
        lam = 0.0f;
    if (lam > 1.0f)
        lam = 1.0f;
    *i0 = a;
    *i1 = a < in - 1 ? a + 1 : a;
    *l1 = lam;
    *l0 = 1.0f - lam;
}

/* Weight with which output coordinate dst reads source index i (0 when it does not). */
KFN float kfn_bilinear_weight(int dst, float scale, int in, int i)
{
    int i0, i1;
    float l0, l1;
    kfn_bilinear_src(dst, scale, in, &i0, &i1, &l0, &l1);
    return (i0 == i ? l0 : 0.0f) + (i1 == i ? l1 : 0.0f);
}

/* The outputs [*lo, *hi) along one axis whose interpolation reads source index i. The
 * source index grows with dst, so they are contiguous: start from the analytic estimate
 * and correct it with the exact index function. */
KFN void kfn_bilinear_readers(int i, int in, int out, int *lo, int *hi)
{
    float scale = kfn_bilinear_scale(in, out);
    int i0, i1;
    float l0, l1;
    /* first dst with i1(dst) >= i */
    int a = (int)floorf(((float)i - 0.5f) / scale - 0.5f) - 1;
    if (a < 0)
        a = 0;
    if (a > out)
        a = out;
    while (a > 0) {
        kfn_bilinear_src(a - 1, scale, in, &i0, &i1, &l0, &l1);
        if (i1 < i)
            break;
        a--;
    }
    while (a < out) {
        kfn_bilinear_src(a, scale, in, &i0, &i1, &l0, &l1);
        if (i1 >= i)
            break;
        a++;
    }
    /* first dst with i0(dst) > i */
    int b = a;
    while (b < out) {
        kfn_bilinear_src(b, scale, in, &i0, &i1, &l0, &l1);
        if (i0 > i)
            break;
        b++;
    }
    *lo = a;
    *hi = b;
}

/* y[oy][ox] of the (h, w) -> (oh, ow) bilinear resize of one plane x. */
KFN float kfn_bilinear_fwd_at(const float *x, int h, int w, int oh, int ow, int oy, int ox)
{
    int y0, y1, x0, x1;
    float ly0, ly1, lx0, lx1;
    kfn_bilinear_src(oy, kfn_bilinear_scale(h, oh), h, &y0, &y1, &ly0, &ly1);
    kfn_bilinear_src(ox, kfn_bilinear_scale(w, ow), w, &x0, &x1, &lx0, &lx1);
    return ly0 * (lx0 * x[y0 * w + x0] + lx1 * x[y0 * w + x1]) +
           ly1 * (lx0 * x[y1 * w + x0] + lx1 * x[y1 * w + x1]);
}

/* dx[iy][ix] contribution of one plane dy (oh, ow): sum over the outputs that read it. */
KFN float kfn_bilinear_bwd_at(const float *dy, int h, int w, int oh, int ow, int iy, int ix)
{
    int ylo, yhi, xlo, xhi;
    kfn_bilinear_readers(iy, h, oh, &ylo, &yhi);
    kfn_bilinear_readers(ix, w, ow, &xlo, &xhi);
    float sy = kfn_bilinear_scale(h, oh), sx = kfn_bilinear_scale(w, ow);
    float acc = 0.0f;
    for (int oy = ylo; oy < yhi; oy++) {
        float wy = kfn_bilinear_weight(oy, sy, h, iy);
        if (wy == 0.0f)
            continue;
        float row = 0.0f;
        for (int ox = xlo; ox < xhi; ox++)
            row += kfn_bilinear_weight(ox, sx, w, ix) * dy[oy * ow + ox];
        acc += wy * row;
    }
    return acc;
}

/* ===== nearest upsampling ===============================================================*/

KFN float kfn_upnear_fwd_at(const float *x, int w, int f, int oy, int ox) { return x[(oy / f) * w + ox / f]; }
/* Sum of the f x f block of dy (plane width w f) that copies x[iy][ix]. */
KFN float kfn_upnear_bwd_at(const float *dy, int w, int f, int iy, int ix)
{
    float acc = 0.0f;
    int ow = w * f;
    for (int a = 0; a < f; a++)
        for (int b = 0; b < f; b++)
            acc += dy[(iy * f + a) * ow + ix * f + b];
    return acc;
}

/* ===== pooling ==========================================================================*/

/* Outputs [*lo, *hi) along one axis whose window (start o*stride - pad, length r) covers
 * input index i. */
KFN void kfn_window_readers(int i, int r, int stride, int pad, int out, int *lo, int *hi)
{
    int top = i + pad;            /* o*stride <= top */
    int bot = i + pad - r + 1;    /* o*stride >= bot */
    int a = bot <= 0 ? 0 : (bot + stride - 1) / stride;
    int b = top / stride + 1;
    if (b > out)
        b = out;
    *lo = a;
    *hi = b < a ? a : b;
}

/* Max over the window of output (oy, ox) of one plane x; *arg gets the flat index iy*w+ix
 * of the winner: the first maximum in row-major window order, NaN wins (as torch). */
KFN float kfn_maxpool_fwd_at(const struct kern_pool2d *d, const float *x, int oy, int ox, int32_t *arg)
{
    int y0 = oy * d->stride_h - d->pad_h, x0 = ox * d->stride_w - d->pad_w;
    float best = -INFINITY;
    int32_t idx = -1;
    for (int a = 0; a < d->r; a++) {
        int iy = y0 + a;
        if (iy < 0 || iy >= d->h)
            continue;
        for (int b = 0; b < d->s; b++) {
            int ix = x0 + b;
            if (ix < 0 || ix >= d->w)
                continue;
            float v = x[iy * d->w + ix];
            if (idx < 0 || v > best || isnan(v)) {
                best = v;
                idx = iy * d->w + ix;
            }
        }
    }
    *arg = idx;
    return best;
}

/* dx[iy][ix] contribution of one plane: the dy of every output whose argmax is this input. */
KFN float kfn_maxpool_bwd_at(const struct kern_pool2d *d, const float *dy, const int32_t *argmax, int iy, int ix)
{
    int ylo, yhi, xlo, xhi;
    kfn_window_readers(iy, d->r, d->stride_h, d->pad_h, d->oh, &ylo, &yhi);
    kfn_window_readers(ix, d->s, d->stride_w, d->pad_w, d->ow, &xlo, &xhi);
    int32_t me = iy * d->w + ix;
    float acc = 0.0f;
    for (int oy = ylo; oy < yhi; oy++)
        for (int ox = xlo; ox < xhi; ox++)
            if (argmax[oy * d->ow + ox] == me)
                acc += dy[oy * d->ow + ox];
    return acc;
}

/* Divisor of average pooling at output (oy, ox): r*s, or the in-bounds count. */
KFN int kfn_avgpool_divisor(const struct kern_pool2d *d, int oy, int ox)
{
    if (d->count_include_pad)
        return d->r * d->s;
    int y0 = oy * d->stride_h - d->pad_h, x0 = ox * d->stride_w - d->pad_w;
    int y1 = y0 + d->r, x1 = x0 + d->s;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > d->h) y1 = d->h;
    if (x1 > d->w) x1 = d->w;
    return (y1 - y0) * (x1 - x0);
}

KFN float kfn_avgpool_fwd_at(const struct kern_pool2d *d, const float *x, int oy, int ox)
{
    int y0 = oy * d->stride_h - d->pad_h, x0 = ox * d->stride_w - d->pad_w;
    float acc = 0.0f;
    for (int a = 0; a < d->r; a++) {
        int iy = y0 + a;
        if (iy < 0 || iy >= d->h)
            continue;
        for (int b = 0; b < d->s; b++) {
            int ix = x0 + b;
            if (ix >= 0 && ix < d->w)
                acc += x[iy * d->w + ix];
        }
    }
    return acc / (float)kfn_avgpool_divisor(d, oy, ox);
}

KFN float kfn_avgpool_bwd_at(const struct kern_pool2d *d, const float *dy, int iy, int ix)
{
    int ylo, yhi, xlo, xhi;
    kfn_window_readers(iy, d->r, d->stride_h, d->pad_h, d->oh, &ylo, &yhi);
    kfn_window_readers(ix, d->s, d->stride_w, d->pad_w, d->ow, &xlo, &xhi);
    float acc = 0.0f;
    for (int oy = ylo; oy < yhi; oy++)
        for (int ox = xlo; ox < xhi; ox++)
            acc += dy[oy * d->ow + ox] / (float)kfn_avgpool_divisor(d, oy, ox);
    return acc;
}

/* ===== channel concat ====================================================================
 * Flat index i of y (N, CA+CB, HW) -> the element of a (N, CA, HW) or b (N, CB, HW) it
 * copies: returns true for a, with *j the flat index into a or b. */
KFN bool kfn_concat_src(size_t i, int hw, int ca, int cb, size_t *j)
{
    size_t ct = (size_t)(ca + cb);
    size_t p = i % (size_t)hw;
    size_t ch = (i / (size_t)hw) % ct;
    size_t n = i / ((size_t)hw * ct);
    if (ch < (size_t)ca) {
        *j = (n * (size_t)ca + ch) * (size_t)hw + p;
        return true;
    }
    *j = (n * (size_t)cb + (ch - (size_t)ca)) * (size_t)hw + p;
    return false;
}

#endif
