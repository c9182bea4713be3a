/* elt_impl.h: the element-wise ops, channel concat, losses, AdamW and batch norm of the
 * fast CPU backend, as a template compiled once per instruction set (elt_generic.c,
 * elt_avx2.c, elt_avx512.c, each with its ISA's flags) so the loops vectorize at the
 * widest width the processor has; elt.c calls the variant kcpu_isa() names.
 *
 * The per-element math is kernels/kfn.h's (the same functions REF and CUDA call); what
 * this adds is OpenMP threads over fixed blocks and loops simple enough to vectorize
 * (-O3; the `if` clauses name `parallel` because a bare `if` on `parallel for simd`
 * would switch the simd part off too). No variant contracts a*b+c into an FMA (ISO C
 * mode: -ffp-contract=off), so all three compute the same bits.
 *
 * Determinism: elements are independent (where vector and scalar libm results could
 * differ, fixed blocks decide which an element gets); the loss sums are formed per fixed
 * block of LOSS_BLOCK elements (double) and the blocks added in order; batch norm gives each
 * channel to one thread, sums each of its N rows of HW floats in 16 float lanes and adds
 * the rows in order (two-pass statistics as the reference). None of it depends on the
 * thread count.
 *
 * The including file defines KCPU_FN(name) (the variant's names) first; the only external
 * symbol is the table KCPU_FN(elt_ops). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/kcpu_ops.h"
#include "kernels/kfn.h"

#ifndef KCPU_FN
#error "define KCPU_FN(name) before including elt_impl.h"
#endif

/* glibc's libmvec has vector expf and tanhf (reached through libm's linker script), but
 * math.h declares them only under -ffast-math. Declaring them here lets the tanh and
 * sigmoid loops vectorize; the vector versions differ from the scalar ones by a few ulp,
 * within the 4e-6 the transcendental ops are held to (the CUDA expf differs likewise). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
__attribute__((__simd__("notinbranch"))) float expf(float);
__attribute__((__simd__("notinbranch"))) float tanhf(float);
#endif

/* Below this many elements a loop runs on the calling thread only. */
#define PAR_MIN ((size_t)1 << 15)
#define LOSS_BLOCK ((size_t)1 << 14)
#define ACT_BLOCK ((size_t)256)
#define LANES 16

static inline int nthreads(const struct kern_ctx *ctx, size_t n) { return n >= PAR_MIN ? ctx->threads : 1; }

static void KCPU_FN(act_fwd)(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x, float *y)
{
    int nt = nthreads(ctx, n);
    switch (act) {
    case KERN_ACT_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            y[i] = kfn_relu(x[i]);
        break;
    case KERN_ACT_LEAKY_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            y[i] = kfn_leaky_relu(x[i], slope);
        break;
    case KERN_ACT_TANH:
    case KERN_ACT_SIGMOID: {
        /* Vector and scalar expf/tanhf differ in the last bits, so which one an element
         * gets must not depend on where a thread's share starts: blocks of ACT_BLOCK at
         * fixed offsets, each run by one vector loop, whatever the thread count. */
        size_t nb = (n + ACT_BLOCK - 1) / ACT_BLOCK;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (size_t blk = 0; blk < nb; blk++) {
            size_t i0 = blk * ACT_BLOCK, i1 = i0 + ACT_BLOCK < n ? i0 + ACT_BLOCK : n;
            if (act == KERN_ACT_TANH) {
#pragma omp simd
                for (size_t i = i0; i < i1; i++)
                    y[i] = kfn_act(KERN_ACT_TANH, slope, x[i]);
            } else {
#pragma omp simd
                for (size_t i = i0; i < i1; i++)
                    y[i] = kfn_act(KERN_ACT_SIGMOID, slope, x[i]);
            }
        }
        break;
    }
    }
}

static void KCPU_FN(act_bwd)(struct kern_ctx *ctx, enum kern_act act, float slope, size_t n, const float *x,
                             const float *y, const float *dy, float *dx)
{
    int nt = nthreads(ctx, n);
    /* One loop per activation, so kfn_act_grad's switch folds away and the loop
     * vectorizes. */
    switch (act) {
    case KERN_ACT_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(KERN_ACT_RELU, slope, x[i], 0.0f);
        break;
    case KERN_ACT_LEAKY_RELU:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(KERN_ACT_LEAKY_RELU, slope, x[i], 0.0f);
        break;
    case KERN_ACT_TANH:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(KERN_ACT_TANH, slope, 0.0f, y[i]);
        break;
    case KERN_ACT_SIGMOID:
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy[i] * kfn_act_grad(KERN_ACT_SIGMOID, slope, 0.0f, y[i]);
        break;
    }
}

static void KCPU_FN(add)(struct kern_ctx *ctx, size_t n, const float *a, const float *b, float *y)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void KCPU_FN(axpy)(struct kern_ctx *ctx, size_t n, float alpha, const float *x, float *y)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

static void KCPU_FN(scale)(struct kern_ctx *ctx, size_t n, float alpha, float *x)
{
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (size_t i = 0; i < n; i++)
        x[i] *= alpha;
}

static void KCPU_FN(concat_fwd)(struct kern_ctx *ctx, int n, int hw, int ca, const float *a, int cb, const float *b,
                                float *y)
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

static void KCPU_FN(concat_bwd)(struct kern_ctx *ctx, int n, int hw, int ca, int cb, const float *dy, float *da,
                                float *db)
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

static float KCPU_FN(loss_l1)(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                              float *dpred)
{
    return loss_run(ctx, LOSS_L1, n, pred, target, scale, dpred);
}

static float KCPU_FN(loss_mse)(struct kern_ctx *ctx, size_t n, const float *pred, const float *target, float scale,
                               float *dpred)
{
    return loss_run(ctx, LOSS_MSE, n, pred, target, scale, dpred);
}

static float KCPU_FN(loss_bce_logits)(struct kern_ctx *ctx, size_t n, const float *logits, const float *target,
                                      float scale, float *dlogits)
{
    return loss_run(ctx, LOSS_BCE, n, logits, target, scale, dlogits);
}

/* Rows in parallel; the per-row losses are kept and summed in row order. */
static float KCPU_FN(loss_softmax_ce)(struct kern_ctx *ctx, int n, int k, const float *logits, const int32_t *labels,
                                      float scale, float *dlogits)
{
    double *row = malloc((size_t)(n > 0 ? n : 1) * sizeof(double));
    assert(row);
    float g = scale / (float)n;
    int nt = nthreads(ctx, (size_t)n * k);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int i = 0; i < n; i++) {
        assert(labels[i] >= 0 && labels[i] < k);
        row[i] = kfn_softmax_ce_row(logits + (size_t)i * k, k, labels[i], g,
                                    dlogits ? dlogits + (size_t)i * k : NULL);
    }
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += row[i];
    free(row);
    return (float)(acc / n);
}

/* ===== AdamW ============================================================================*/

static void KCPU_FN(adamw_step)(struct kern_ctx *ctx, const struct kern_adamw *h, size_t n, float *param,
                                const float *grad, float *m, float *v)
{
    struct kfn_adamw_coef c = kfn_adamw_coef(h);
    int nt = nthreads(ctx, n);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (size_t i = 0; i < n; i++)
        kfn_adamw(&c, &param[i], grad[i], &m[i], &v[i]);
}

/* ===== batch normalization ==============================================================*/

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
    /* Two loops over the row (it stays in L1): one accumulator array each keeps them
     * plain vector adds. */
    float l1[LANES] = {0}, l2[LANES] = {0};
    int nl = n / LANES * LANES, i = nl;
    for (int k = 0; k < nl; k += LANES)
        for (int j = 0; j < LANES; j++)
            l1[j] += dy[k + j];
    for (int k = 0; k < nl; k += LANES)
        for (int j = 0; j < LANES; j++)
            l2[j] += dy[k + j] * kfn_bn_norm(x[k + j], mean, invstd);
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

static void KCPU_FN(bn_fwd_train)(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                                  const float *beta, float eps, float momentum, float *running_mean,
                                  float *running_var, float *save_mean, float *save_invstd, float *y)
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

static void KCPU_FN(bn_fwd_infer)(struct kern_ctx *ctx, int n, int c, int hw, const float *x, const float *gamma,
                                  const float *beta, const float *running_mean, const float *running_var, float eps,
                                  float *y)
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

static void KCPU_FN(bn_bwd)(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, const float *x,
                            const float *gamma, const float *save_mean, const float *save_invstd, float *dx,
                            float *dgamma, float *dbeta)
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

/* Max pooling forward. Windows wholly inside the plane run as vector code over a row of
 * outputs: each window tap (a, b), in kfn_maxpool_fwd_at's row-major order, replaces the
 * running maximum where it is greater or NaN, so every output gets the winner and argmax
 * kfn's loop gives it (the first maximum, the last NaN). Border windows call kfn itself.
 * AVX-512 (strides 1 and 2): blocks of MP_LANES outputs held in registers over all taps,
 * the last block shifted back to end at the row's end (recomputing a few outputs, the
 * same values) so there is no scalar tail. Elsewhere: one loop per tap over the row,
 * which the compiler vectorizes (sw is a literal at the call sites). */
#define MP_LANES 16
#if defined(__AVX512F__)
/* AVX-512: 16 outputs in one register; a stride-2 tap is the even lanes of two loads
 * (the second masked to the 15 floats the window needs, so nothing past the row is read). */
static inline __attribute__((always_inline)) __m512 KCPU_FN(mp_load)(const float *p, int sw)
{
    if (sw == 1)
        return _mm512_loadu_ps(p);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_maskz_loadu_ps((__mmask16)0x7fff, p + 16));
}

static inline __attribute__((always_inline)) void KCPU_FN(maxpool_block)(const float *xp, int w, int r, int s,
                                                                         int sw, int y0, int x0, int ox, float *yo,
                                                                         int32_t *ao, bool want_arg)
{
    const __m512i lane = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(sw));
    int32_t base = y0 * w + x0 + ox * sw;
    __m512 m = KCPU_FN(mp_load)(xp + base, sw);
    __m512i id = _mm512_add_epi32(_mm512_set1_epi32(base), lane);
    for (int a = 0; a < r; a++)
        for (int b = a == 0 ? 1 : 0; b < s; b++) {
            int32_t t = (y0 + a) * w + x0 + b + ox * sw;
            __m512 v = KCPU_FN(mp_load)(xp + t, sw);
            __mmask16 take = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            m = _mm512_mask_mov_ps(m, take, v);
            if (want_arg)
                id = _mm512_mask_mov_epi32(id, take, _mm512_add_epi32(_mm512_set1_epi32(t), lane));
        }
    _mm512_storeu_ps(yo + ox, m);
    if (want_arg)
        _mm512_storeu_si512(ao + ox, id);
}
#else
/* Portable: the taps as loops over the whole interior of the row (the compiler
 * vectorizes them, with a scalar tail). */
static inline __attribute__((always_inline)) void KCPU_FN(maxpool_row)(const float *xp, int w, int r, int s, int sw,
                                                                       int y0, int x0, int ox0, int ox1, float *yo,
                                                                       int32_t *ao)
{
    const float *first = xp + (size_t)y0 * w + x0;
    for (int ox = ox0; ox < ox1; ox++)
        yo[ox] = first[ox * sw];
    if (ao)
        for (int ox = ox0; ox < ox1; ox++)
            ao[ox] = y0 * w + x0 + ox * sw;
    for (int a = 0; a < r; a++)
        for (int b = a == 0 ? 1 : 0; b < s; b++) {
            const float *tap = xp + (size_t)(y0 + a) * w + x0 + b;
            if (ao) {
                int32_t base = (y0 + a) * w + x0 + b;
                for (int ox = ox0; ox < ox1; ox++) {
                    float v = tap[ox * sw], m = yo[ox];
                    bool take = v > m || v != v;
                    yo[ox] = take ? v : m;
                    ao[ox] = take ? base + ox * sw : ao[ox];
                }
            } else {
                for (int ox = ox0; ox < ox1; ox++) {
                    float v = tap[ox * sw], m = yo[ox];
                    yo[ox] = v > m || v != v ? v : m;
                }
            }
        }
}
#endif

/* The outputs [ox0, ox1) of row oy, all with windows inside the plane. */
static inline __attribute__((always_inline)) void KCPU_FN(maxpool_inside)(const struct kern_pool2d *d,
                                                                          const float *xp, int sw, int oy, int ox0,
                                                                          int ox1, float *yo, int32_t *ao)
{
    int y0 = oy * d->stride_h - d->pad_h, x0 = -d->pad_w;
#if defined(__AVX512F__)
    if (ox1 - ox0 < MP_LANES || (sw != 1 && sw != 2)) {
        int32_t scratch;
        for (int ox = ox0; ox < ox1; ox++)
            yo[ox] = kfn_maxpool_fwd_at(d, xp, oy, ox, ao ? ao + ox : &scratch);
        return;
    }
    for (int ox = ox0; ox < ox1; ox += MP_LANES) {
        int o = ox + MP_LANES <= ox1 ? ox : ox1 - MP_LANES;
        if (ao)
            KCPU_FN(maxpool_block)(xp, d->w, d->r, d->s, sw, y0, x0, o, yo, ao, true);
        else
            KCPU_FN(maxpool_block)(xp, d->w, d->r, d->s, sw, y0, x0, o, yo, NULL, false);
    }
#else
    KCPU_FN(maxpool_row)(xp, d->w, d->r, d->s, sw, y0, x0, ox0, ox1, yo, ao);
#endif
}

static void KCPU_FN(maxpool2d_fwd)(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                                   int32_t *argmax)
{
    long planes = (long)d->n * d->c;
    size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    int nt = nthreads(ctx, planes * out_sz * d->r * d->s);
    /* outputs [oxa, oxb) of a row have their window inside the columns */
    int oxa = (d->pad_w + d->stride_w - 1) / d->stride_w;
    int oxb = d->w - d->s + d->pad_w < 0 ? 0 : (d->w - d->s + d->pad_w) / d->stride_w + 1;
    oxb = oxb > d->ow ? d->ow : oxb;
    oxa = oxa > oxb ? oxb : oxa;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * in_sz;
        float *yp = y + p * out_sz;
        int32_t *ap = argmax ? argmax + p * out_sz : NULL;
        int32_t scratch;
        for (int oy = 0; oy < d->oh; oy++) {
            int y0 = oy * d->stride_h - d->pad_h;
            float *yo = yp + (size_t)oy * d->ow;
            int32_t *ao = ap ? ap + (size_t)oy * d->ow : NULL;
            bool rows_in = y0 >= 0 && y0 + d->r <= d->h;
            int lo = rows_in ? oxa : d->ow, hi = rows_in ? oxb : d->ow;
            for (int ox = 0; ox < d->ow; ox++) {
                if (ox == lo && lo < hi) {
                    if (d->stride_w == 2)
                        KCPU_FN(maxpool_inside)(d, xp, 2, oy, lo, hi, yo, ao);
                    else if (d->stride_w == 1)
                        KCPU_FN(maxpool_inside)(d, xp, 1, oy, lo, hi, yo, ao);
                    else
                        KCPU_FN(maxpool_inside)(d, xp, d->stride_w, oy, lo, hi, yo, ao);
                    ox = hi - 1;
                    continue;
                }
                yo[ox] = kfn_maxpool_fwd_at(d, xp, oy, ox, ao ? ao + ox : &scratch);
            }
        }
    }
}

/* This variant's entries of the kern_ops table (the others stay NULL). */
const struct kern_ops KCPU_FN(elt_ops) = {
    .act_fwd = KCPU_FN(act_fwd),
    .act_bwd = KCPU_FN(act_bwd),
    .add = KCPU_FN(add),
    .axpy = KCPU_FN(axpy),
    .scale = KCPU_FN(scale),
    .concat_fwd = KCPU_FN(concat_fwd),
    .concat_bwd = KCPU_FN(concat_bwd),
    .loss_l1 = KCPU_FN(loss_l1),
    .loss_mse = KCPU_FN(loss_mse),
    .loss_bce_logits = KCPU_FN(loss_bce_logits),
    .loss_softmax_ce = KCPU_FN(loss_softmax_ce),
    .adamw_step = KCPU_FN(adamw_step),
    .bn_fwd_train = KCPU_FN(bn_fwd_train),
    .bn_fwd_infer = KCPU_FN(bn_fwd_infer),
    .bn_bwd = KCPU_FN(bn_bwd),
    .maxpool2d_fwd = KCPU_FN(maxpool2d_fwd),
};
