/* conv.c: conv2d and transposed conv2d (forward, backward-data, backward-filter) of the
 * fast CPU backend, as im2col + the packed SGEMM of gemm.c.
 *
 * Per image n and group g, with Cg = C/groups input and Kg = K/groups output channels,
 * CRS = Cg*R*S and P = OH*OW:
 *   forward      y[n,g] (Kg, P)   = W_g (Kg, CRS) col (CRS, P) + b
 *   bwd-data     dcol   (CRS, P)  = W_g^T dy[n,g],  then col2im adds dcol into dx[n,g]
 *   bwd-filter   dW_g   (Kg, CRS) += dy[n,g] (Kg, P) col^T (P, CRS)
 * where col(q = (c*R + r)*S + s, p = oh*OW + ow) = x[c, oh*sh - ph + r*dh, ow*sw - pw + s*dw]
 * (zero outside). A 1x1 conv with stride 1 and no padding uses x itself as col. Columns
 * are processed in chunks of at most COL_CHUNK floats of col so scratch stays bounded.
 * With a column stride sw > 1, im2col reads (and col2im adds into) a copy of the image
 * split by column phase, where the strided accesses become contiguous runs.
 * Forward and backward-data run images in parallel when the batch allows (each image on
 * one thread), else threads work inside each image; backward-filter sums over images in
 * order with threads inside each image.
 *
 * A transposed conv is the adjoint of a conv: its forward is conv bwd-data with the roles
 * of input and output swapped (same weight layout (C, K/groups, R, S)), its bwd-data is a
 * conv forward, and its bwd-filter is conv bwd-filter with x and dy swapped.
 *
 * Determinism: each image's output is computed by the same code whichever thread runs it,
 * the chunks of an image and the images of a weight gradient run in a fixed order, each
 * GEMM is thread-count independent (gemm.c), col2im gives each input channel to one
 * thread and adds in a fixed order, and bias sums run per channel in a fixed order. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <omp.h>

#include "kernels/backend.h"
#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

#define COL_CHUNK ((size_t)1 << 20) /* floats of col per chunk: 4 MiB, stays in L3 */

/* The geometry shared by the three passes. */
struct geom {
    int cg, kg;      /* channels per group: input, output */
    int crs;         /* Cg*R*S: GEMM depth (forward) */
    int hw, p;       /* input plane H*W, output plane OH*OW */
    int pchunk;      /* output pixels per chunk */
    bool direct;     /* 1x1, stride 1, no padding: col is x itself */
    int wp;          /* strided convs: columns per phase of the deinterleaved input, W/sw rounded up */
    size_t nxs;      /* floats of the deinterleaved input (Cg, H, sw, wp); 0 when stride_w is 1 */
};

static struct geom geom_of(const struct kern_conv2d *d)
{
    struct geom g;
    int groups = d->groups > 0 ? d->groups : 1;
    g.cg = d->c / groups;
    g.kg = d->k / groups;
    g.crs = g.cg * d->r * d->s;
    g.hw = d->h * d->w;
    g.p = d->oh * d->ow;
    g.direct = d->r == 1 && d->s == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_h == 0 && d->pad_w == 0;
    size_t pc = COL_CHUNK / (size_t)g.crs;
    pc = pc < 256 ? 256 : pc;
    g.pchunk = pc >= (size_t)g.p ? g.p : (int)pc;
    g.wp = (d->w + d->stride_w - 1) / d->stride_w;
    g.nxs = d->stride_w > 1 && !g.direct ? (size_t)g.cg * d->h * d->stride_w * g.wp : 0;
    return g;
}

static inline int dil(int v) { return v > 0 ? v : 1; }

/* Floats of one col chunk, rounded up to keep what follows it 64-byte aligned. */
static inline size_t col_floats(const struct geom *g) { return ((size_t)g->crs * g->pchunk + 15) / 16 * 16; }

/* The output columns [*lo, *hi) within [ow0, ow1) whose input column ow*sw + off lies in
 * [0, W). */
static inline void valid_cols(int ow0, int ow1, int sw, int off, int W, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int b = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
    a = a < ow0 ? ow0 : a;
    b = b > ow1 ? ow1 : b;
    *lo = a;
    *hi = b < a ? a : b;
}

/* Strided convs: xs (Cg, H, sw, wp) holds each input row split by column phase,
 * xs[c][ih][ph][j] = x[c][ih][j*sw + ph], so that im2col copies contiguous runs instead of
 * gathering every sw-th float. */
static void deinterleave(int threads, const struct kern_conv2d *d, const struct geom *g, const float *xg, float *xs)
{
    const int H = d->h, W = d->w, sw = d->stride_w, wp = g->wp;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && g->nxs > 32768)
    for (int row = 0; row < g->cg * H; row++) {
        const float *src = xg + (size_t)row * W;
        float *dst = xs + (size_t)row * sw * wp;
        for (int phase = 0; phase < sw; phase++)
            for (int j = 0; j < wp; j++)
                dst[phase * wp + j] = j * sw + phase < W ? src[j * sw + phase] : 0.0f;
    }
}

/* col rows for output pixels [p0, p1) of one image and group: xg is (Cg, H, W), col is
 * (CRS, p1-p0); xs is xg deinterleaved (strided convs) or NULL. Rows are split over
 * threads. Per output row: zeros where the window leaves the image, a copy where it does
 * not. */
static void im2col(int threads, const struct kern_conv2d *d, const struct geom *g, const float *xg,
                   const float *xs, int p0, int p1, float *col)
{
    const int R = d->r, S = d->s, H = d->h, W = d->w, OW = d->ow;
    const int sh = d->stride_h, sw = d->stride_w, ph = d->pad_h, pw = d->pad_w;
    const int dh = dil(d->dil_h), dw = dil(d->dil_w);
    const int np = p1 - p0;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && (size_t)g->crs * np > 32768)
    for (int q = 0; q < g->crs; q++) {
        int c = q / (R * S), r = q / S % R, s = q % S;
        const float *xc = xg + (size_t)c * H * W;
        float *dst = col + (size_t)q * np;
        int off = s * dw - pw;
        int phase = ((off % sw) + sw) % sw, base = (off - phase) / sw; /* xs phase and shift */
        int p = p0;
        while (p < p1) {
            int oh = p / OW, ow0 = p % OW;
            int ow1 = OW < ow0 + (p1 - p) ? OW : ow0 + (p1 - p);
            int ih = oh * sh - ph + r * dh;
            float *o = dst + (p - p0); /* o[ow - ow0] is column ow of this output row */
            if (ih < 0 || ih >= H) {
                memset(o, 0, sizeof(float) * (size_t)(ow1 - ow0));
            } else {
                const float *xr = xc + (size_t)ih * W; /* column ow reads xr[ow * sw + off] */
                int lo, hi;
                valid_cols(ow0, ow1, sw, off, W, &lo, &hi);
                for (int ow = ow0; ow < lo; ow++)
                    o[ow - ow0] = 0.0f;
                /* runs are short (one output row): plain loops beat memcpy calls */
                if (sw == 1 || xs) {
                    const float *src = sw == 1 ? xr + off : xs + (((size_t)c * H + ih) * sw + phase) * g->wp + base;
                    for (int ow = lo; ow < hi; ow++)
                        o[ow - ow0] = src[ow];
                } else
                    for (int ow = lo; ow < hi; ow++)
                        o[ow - ow0] = xr[ow * sw + off];
                for (int ow = hi; ow < ow1; ow++)
                    o[ow - ow0] = 0.0f;
            }
            p += ow1 - ow0;
        }
    }
}

/* dxg (Cg, H, W) += col2im of dcol (CRS, p1-p0) for output pixels [p0, p1). One thread
 * per input channel, rows and pixels in a fixed order. For strided convs the sums go into
 * dxs, a column-phase-split buffer (see deinterleave) where they are contiguous, and
 * interleave_add adds it to dxg once all chunks are in. */
static void col2im(int threads, const struct kern_conv2d *d, const struct geom *g, const float *dcol, int p0,
                   int p1, float *dxg, float *dxs)
{
    const int R = d->r, S = d->s, H = d->h, W = d->w, OW = d->ow;
    const int sh = d->stride_h, sw = d->stride_w, ph = d->pad_h, pw = d->pad_w;
    const int dh = dil(d->dil_h), dw = dil(d->dil_w);
    const int np = p1 - p0;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && (size_t)g->crs * np > 32768)
    for (int c = 0; c < g->cg; c++) {
        float *xc = dxg + (size_t)c * H * W;
        for (int rs = 0; rs < R * S; rs++) {
            int r = rs / S, s = rs % S;
            const float *src = dcol + ((size_t)c * R * S + rs) * np;
            int off = s * dw - pw;
            int phase = ((off % sw) + sw) % sw, base = (off - phase) / sw;
            int p = p0;
            while (p < p1) {
                int oh = p / OW, ow0 = p % OW;
                int ow1 = OW < ow0 + (p1 - p) ? OW : ow0 + (p1 - p);
                int ih = oh * sh - ph + r * dh;
                if (ih >= 0 && ih < H) {
                    float *xr = xc + (size_t)ih * W;
                    const float *o = src + (p - p0);
                    int lo, hi;
                    valid_cols(ow0, ow1, sw, off, W, &lo, &hi);
                    if (sw == 1) {
                        for (int ow = lo; ow < hi; ow++)
                            xr[ow + off] += o[ow - ow0];
                    } else if (dxs) {
                        float *xsr = dxs + (((size_t)c * H + ih) * sw + phase) * g->wp + base;
                        for (int ow = lo; ow < hi; ow++)
                            xsr[ow] += o[ow - ow0];
                    } else
                        for (int ow = lo; ow < hi; ow++)
                            xr[ow * sw + off] += o[ow - ow0];
                }
                p += ow1 - ow0;
            }
        }
    }
}

/* dxg (Cg, H, W) += dxs (Cg, H, sw, wp), the inverse of deinterleave. */
static void interleave_add(int threads, const struct kern_conv2d *d, const struct geom *g, const float *dxs,
                           float *dxg)
{
    const int H = d->h, W = d->w, sw = d->stride_w, wp = g->wp;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && g->nxs > 32768)
    for (int row = 0; row < g->cg * H; row++) {
        const float *src = dxs + (size_t)row * sw * wp;
        float *dst = dxg + (size_t)row * W;
        for (int phase = 0; phase < sw; phase++)
            for (int j = 0; j * sw + phase < W; j++)
                dst[j * sw + phase] += src[phase * wp + j];
    }
}

/* How one pass spreads ctx->threads: over images (each image on one thread with its own
 * scratch, no synchronization inside) when the batch divides evenly or is large, else
 * inside each image (threaded im2col/col2im and GEMM). */
struct plan {
    int outer, inner; /* threads over images, threads per image */
    size_t per;       /* floats of scratch per outer thread: col chunk + GEMM workspace */
    float *base;      /* 64-byte aligned scratch, outer * per floats */
};

static struct plan plan_of(struct kern_ctx *ctx, int n, bool by_image, size_t n_col, size_t (*ws)(int, const void *),
                           const void *arg)
{
    struct plan pl;
    int t = ctx->threads;
    pl.outer = by_image && t > 1 && n >= 2 && (n % t == 0 || n >= 4 * t) ? (n < t ? n : t) : 1;
    pl.inner = pl.outer > 1 ? 1 : t;
    pl.per = (n_col + 15) / 16 * 16 + (ws(pl.inner, arg) + 15) / 16 * 16;
    float *raw = kern_scratch(ctx, pl.per * (size_t)pl.outer + 16);
    pl.base = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    return pl;
}

static inline float *plan_col(const struct plan *pl, int t) { return pl->base + pl->per * (size_t)t; }
static inline float *plan_ws(const struct plan *pl, int t, size_t n_col)
{
    return pl->base + pl->per * (size_t)t + (n_col + 15) / 16 * 16;
}

static inline int thread_id(int outer) { return outer > 1 ? omp_get_thread_num() : 0; }

/* GEMM workspaces of the three passes, for plan_of. */
static size_t ws_fwd(int threads, const void *arg)
{
    const struct geom *g = arg;
    return kcpu_gemm_ws(g->kg, g->pchunk, g->crs, threads);
}
static size_t ws_bwd_data(int threads, const void *arg)
{
    const struct geom *g = arg;
    return kcpu_gemm_ws(g->crs, g->pchunk, g->kg, threads);
}
static size_t ws_bwd_filter(int threads, const void *arg)
{
    const struct geom *g = arg;
    return kcpu_gemm_ws(g->kg, g->crs, g->pchunk, threads);
}

/* One image of the forward pass on `threads` threads. */
static void fwd_image(int threads, const struct kern_conv2d *d, const struct geom *g, int n, const float *x,
                      const float *w, const float *b, float *y, bool accumulate, float *col, float *ws)
{
    int groups = d->c / g->cg;
    for (int gi = 0; gi < groups; gi++) {
        const float *xg = x + ((size_t)n * d->c + (size_t)gi * g->cg) * g->hw;
        const float *wg = w + (size_t)gi * g->kg * g->crs;
        float *yg = y + ((size_t)n * d->k + (size_t)gi * g->kg) * g->p;
        float beta = accumulate ? 1.0f : 0.0f;
        if (b) {
            for (int k = 0; k < g->kg; k++) {
                float bk = b[gi * g->kg + k], *yk = yg + (size_t)k * g->p;
                if (accumulate)
                    for (int p = 0; p < g->p; p++)
                        yk[p] += bk;
                else
                    for (int p = 0; p < g->p; p++)
                        yk[p] = bk;
            }
            beta = 1.0f;
        }
        if (g->direct) {
            kcpu_sgemm(threads, false, false, g->kg, g->p, g->crs, 1.0f, wg, g->crs, xg, g->hw, beta, yg, g->p, ws);
            continue;
        }
        float *xs = g->nxs ? col + col_floats(g) : NULL;
        if (xs)
            deinterleave(threads, d, g, xg, xs);
        for (int p0 = 0; p0 < g->p; p0 += g->pchunk) {
            int p1 = p0 + g->pchunk < g->p ? p0 + g->pchunk : g->p;
            im2col(threads, d, g, xg, xs, p0, p1, col);
            kcpu_sgemm(threads, false, false, g->kg, p1 - p0, g->crs, 1.0f, wg, g->crs, col, p1 - p0, beta, yg + p0,
                       g->p, ws);
        }
    }
}

/* y = conv(x, w) + b, or y += conv(x, w) (+ b) when accumulate. */
static void conv_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y, bool accumulate)
{
    struct geom g = geom_of(d);
    size_t n_col = g.direct ? 0 : col_floats(&g) + g.nxs;
    struct plan pl = plan_of(ctx, d->n, true, n_col, ws_fwd, &g);
#pragma omp parallel for num_threads(pl.outer) schedule(static) if (pl.outer > 1)
    for (int n = 0; n < d->n; n++) {
        int t = thread_id(pl.outer);
        fwd_image(pl.inner, d, &g, n, x, w, b, y, accumulate, plan_col(&pl, t), plan_ws(&pl, t, n_col));
    }
}

/* One image of dx += conv^T(dy, w) on `threads` threads. */
static void bwd_data_image(int threads, const struct kern_conv2d *d, const struct geom *g, int n, const float *dy,
                           const float *w, float *dx, float *col, float *ws)
{
    int groups = d->c / g->cg;
    for (int gi = 0; gi < groups; gi++) {
        float *dxg = dx + ((size_t)n * d->c + (size_t)gi * g->cg) * g->hw;
        const float *wg = w + (size_t)gi * g->kg * g->crs;
        const float *dyg = dy + ((size_t)n * d->k + (size_t)gi * g->kg) * g->p;
        if (g->direct) {
            kcpu_sgemm(threads, true, false, g->crs, g->p, g->kg, 1.0f, wg, g->crs, dyg, g->p, 1.0f, dxg, g->hw, ws);
            continue;
        }
        float *dxs = g->nxs ? col + col_floats(g) : NULL;
        if (dxs)
            memset(dxs, 0, g->nxs * sizeof(float));
        for (int p0 = 0; p0 < g->p; p0 += g->pchunk) {
            int p1 = p0 + g->pchunk < g->p ? p0 + g->pchunk : g->p;
            kcpu_sgemm(threads, true, false, g->crs, p1 - p0, g->kg, 1.0f, wg, g->crs, dyg + p0, g->p, 0.0f, col,
                       p1 - p0, ws);
            col2im(threads, d, g, col, p0, p1, dxg, dxs);
        }
        if (dxs)
            interleave_add(threads, d, g, dxs, dxg);
    }
}

/* dx += conv^T(dy, w). */
static void conv_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx)
{
    struct geom g = geom_of(d);
    size_t n_col = g.direct ? 0 : col_floats(&g) + g.nxs;
    struct plan pl = plan_of(ctx, d->n, true, n_col, ws_bwd_data, &g);
#pragma omp parallel for num_threads(pl.outer) schedule(static) if (pl.outer > 1)
    for (int n = 0; n < d->n; n++) {
        int t = thread_id(pl.outer);
        bwd_data_image(pl.inner, d, &g, n, dy, w, dx, plan_col(&pl, t), plan_ws(&pl, t, n_col));
    }
}

/* db (K) += sum over images and pixels of dy (N, K, P), per channel in a fixed order:
 * each row summed in 16 float lanes (vectorizable), rows added in double. */
static void bias_grad(int threads, int n, int k, int p, const float *dy, float *db)
{
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && (size_t)n * k * p > 65536)
    for (int c = 0; c < k; c++) {
        double s = 0.0;
        for (int i = 0; i < n; i++) {
            const float *row = dy + ((size_t)i * k + c) * p;
            float lane[16] = {0};
            int j = 0;
            for (; j + 16 <= p; j += 16)
                for (int l = 0; l < 16; l++)
                    lane[l] += row[j + l];
            for (; j < p; j++)
                s += row[j];
            for (int l = 0; l < 16; l++)
                s += lane[l];
        }
        db[c] += (float)s;
    }
}

/* dw += sum_n dy[n] col[n]^T;  db += sum dy. */
static void conv_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db)
{
    struct geom g = geom_of(d);
    int groups = d->c / g.cg;
    if (dw) {
        /* Images add into the same dw: they run in order, threads work inside each. */
        size_t n_col = g.direct ? 0 : col_floats(&g) + g.nxs;
        struct plan pl = plan_of(ctx, d->n, false, n_col, ws_bwd_filter, &g);
        float *col = plan_col(&pl, 0), *ws = plan_ws(&pl, 0, n_col);
        float *xs = g.nxs ? col + col_floats(&g) : NULL;
        for (int n = 0; n < d->n; n++)
            for (int gi = 0; gi < groups; gi++) {
                const float *xg = x + ((size_t)n * d->c + (size_t)gi * g.cg) * g.hw;
                const float *dyg = dy + ((size_t)n * d->k + (size_t)gi * g.kg) * g.p;
                float *dwg = dw + (size_t)gi * g.kg * g.crs;
                if (g.direct) {
                    kcpu_sgemm(pl.inner, false, true, g.kg, g.crs, g.p, 1.0f, dyg, g.p, xg, g.hw, 1.0f, dwg, g.crs,
                               ws);
                    continue;
                }
                if (xs)
                    deinterleave(pl.inner, d, &g, xg, xs);
                for (int p0 = 0; p0 < g.p; p0 += g.pchunk) {
                    int p1 = p0 + g.pchunk < g.p ? p0 + g.pchunk : g.p;
                    im2col(pl.inner, d, &g, xg, xs, p0, p1, col);
                    kcpu_sgemm(pl.inner, false, true, g.kg, g.crs, p1 - p0, 1.0f, dyg + p0, g.p, col, p1 - p0, 1.0f,
                               dwg, g.crs, ws);
                }
            }
    }
    if (db)
        bias_grad(ctx->threads, d->n, d->k, g.p, dy, db);
}

/* The conv whose adjoint is the transposed conv `d`: input (N, K, OH, OW) of d's output,
 * output channels d's input channels, output plane d's input plane. */
static struct kern_conv2d adjoint_of(const struct kern_conv2d *d)
{
    struct kern_conv2d a = *d;
    a.c = d->k;
    a.h = d->oh;
    a.w = d->ow;
    a.k = d->c;
    a.oh = d->h;
    a.ow = d->w;
    a.opad_h = a.opad_w = 0;
    return a;
}

void kcpu_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y)
{
    conv_fwd(ctx, d, x, w, b, y, false);
}

void kcpu_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx)
{
    conv_bwd_data(ctx, d, dy, w, dx);
}

void kcpu_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db)
{
    conv_bwd_filter(ctx, d, x, dy, dw, db);
}

void kcpu_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                      const float *b, float *y)
{
    struct kern_conv2d a = adjoint_of(d);
    size_t plane = (size_t)d->oh * d->ow;
    for (int n = 0; n < d->n; n++)
        for (int k = 0; k < d->k; k++) {
            float v = b ? b[k] : 0.0f, *yk = y + ((size_t)n * d->k + k) * plane;
            for (size_t p = 0; p < plane; p++)
                yk[p] = v;
        }
    conv_bwd_data(ctx, &a, x, w, y);
}

void kcpu_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                           float *dx)
{
    struct kern_conv2d a = adjoint_of(d);
    conv_fwd(ctx, &a, dy, w, NULL, dx, true);
}

void kcpu_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                             float *dw, float *db)
{
    struct kern_conv2d a = adjoint_of(d);
    if (dw)
        conv_bwd_filter(ctx, &a, dy, x, dw, NULL);
    if (db)
        bias_grad(ctx->threads, d->n, d->k, d->oh * d->ow, dy, db);
}
