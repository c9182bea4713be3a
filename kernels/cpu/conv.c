/* conv.c: conv2d and transposed conv2d (forward, backward-data, backward-filter) of the
 * fast CPU backend, on the packed SGEMM of gemm.c.
 *
 * Per image n and group g, with Cg = C/groups input and Kg = K/groups output channels,
 * CRS = Cg*R*S and P = OH*OW:
 *   forward      y[n,g] (Kg, P)   = act(W_g (Kg, CRS) col (CRS, P) + b)
 *   bwd-data     dcol   (CRS, P)  = W_g^T dy[n,g],  then col2im adds dcol into dx[n,g]
 *   bwd-filter   dW_g   (Kg, CRS) += dy[n,g] (Kg, P) col^T (P, CRS)
 * where col(q = (c*R + r)*S + s, p = oh*OW + ow) = x[c, oh*sh - ph + r*dh, ow*sw - pw + s*dw]
 * (zero outside). The forward pass never stores col: kcpu_cgemm asks for one 32-pixel
 * panel of it at a time and pack_im2col (generic C here, masked AVX-512 loads in
 * conv_avx512.c) builds it straight from the image in the GEMM's packed layout; the
 * weights are read in place (nothing is packed per call); the bias and ReLU / leaky ReLU
 * happen in the micro-kernel's write-back (kern_conv2d_fwd_act). The backward passes build col (or dcol) in chunks of at most COL_CHUNK floats so scratch
 * stays bounded; a 1x1 conv with stride 1 and no padding uses x itself as col.
 * With a column stride sw > 1, im2col reads (and col2im adds into) a copy of the image
 * split by column phase, where the strided accesses become contiguous runs.
 * Threads: see the block before struct scratch (one region per pass, no barriers).
 *
 * A transposed conv is the adjoint of a conv: its forward is conv bwd-data with the roles
 * of input and output swapped (same weight layout (C, K/groups, R, S)), its bwd-data is a
 * conv forward, and its bwd-filter is conv bwd-filter with x and dy swapped.
 *
 * Determinism: every output element is computed by one thread with the same arithmetic
 * in the same order whichever thread that is (GEMM elements do not depend on where their
 * tile lies, gemm.c), the images of a weight gradient add in order, col2im adds in a
 * fixed order, and bias sums run per channel in a fixed order: bit-identical results
 * for any thread count. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
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
 * gathering every sw-th float. Channels [c0, c1) only. */
static void deinterleave_rows(const struct kern_conv2d *d, const struct geom *g, const float *xg, int c0, int c1,
                              int ih0, int ih1, float *xs)
{
    const int H = d->h, W = d->w, sw = d->stride_w, wp = g->wp;
    ih0 = ih0 < 0 ? 0 : ih0;
    ih1 = ih1 > H ? H : ih1;
    for (int c = c0; c < c1; c++)
        for (int ih = ih0; ih < ih1; ih++) {
            size_t row = (size_t)c * H + ih;
            const float *src = xg + row * W;
            float *dst = xs + row * sw * wp;
            for (int phase = 0; phase < sw; phase++) {
                int n = (W - phase + sw - 1) / sw; /* columns j*sw + phase inside the row */
                float *o = dst + phase * wp;
                const float *in = src + phase;
                if (sw == 2)
                    for (int j = 0; j < n; j++) /* a literal stride: vectorized with shuffles */
                        o[j] = in[2 * j];
                else
                    for (int j = 0; j < n; j++)
                        o[j] = in[j * sw];
                for (int j = n; j < wp; j++)
                    o[j] = 0.0f;
            }
        }
}

static void deinterleave(const struct kern_conv2d *d, const struct geom *g, const float *xg, int c0, int c1,
                         float *xs)
{
    deinterleave_rows(d, g, xg, c0, c1, 0, d->h, xs);
}

/* col rows [q0, q1) for output pixels [p0, p1) of one image and group: xg is (Cg, H, W),
 * col is (q1-q0, p1-p0); xs is xg deinterleaved (strided convs) or NULL. Per output row:
 * zeros where the window leaves the image, a copy where it does not. */
static void im2col(const struct kern_conv2d *d, const struct geom *g, const float *xg, const float *xs, int q0,
                   int q1, int p0, int p1, float *col)
{
    const int R = d->r, S = d->s, H = d->h, W = d->w, OW = d->ow;
    const int sh = d->stride_h, sw = d->stride_w, ph = d->pad_h, pw = d->pad_w;
    const int dh = dil(d->dil_h), dw = dil(d->dil_w);
    const int np = p1 - p0;
    for (int q = q0; q < q1; q++) {
        int c = q / (R * S), r = q / S % R, s = q % S;
        const float *xc = xg + (size_t)c * H * W;
        float *dst = col + (size_t)(q - q0) * np;
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
                } else {
                    for (int ow = lo; ow < hi; ow++)
                        o[ow - ow0] = xr[ow * sw + off];
                }
                for (int ow = hi; ow < ow1; ow++)
                    o[ow - ow0] = 0.0f;
            }
            p += ow1 - ow0;
        }
    }
}

/* dxg (Cg, H, W) += col2im of dcol for input channels [c0, c1) and output pixels
 * [p0, p1); dcol row (c - c0)*R*S + r*S + s. Rows and pixels in a fixed order. For strided
 * convs the sums go into dxs, a column-phase-split buffer (see deinterleave) where they
 * are contiguous, and interleave_add adds it to dxg once all chunks are in. */
static void col2im(const struct kern_conv2d *d, const struct geom *g, const float *dcol, int c0, int c1, int p0,
                   int p1, float *dxg, float *dxs)
{
    const int R = d->r, S = d->s, H = d->h, W = d->w, OW = d->ow;
    const int sh = d->stride_h, sw = d->stride_w, ph = d->pad_h, pw = d->pad_w;
    const int dh = dil(d->dil_h), dw = dil(d->dil_w);
    const int np = p1 - p0;
    for (int c = c0; c < c1; c++) {
        float *xc = dxg + (size_t)c * H * W;
        for (int rs = 0; rs < R * S; rs++) {
            int r = rs / S, s = rs % S;
            const float *src = dcol + ((size_t)(c - c0) * R * S + rs) * np;
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
                    } else {
                        for (int ow = lo; ow < hi; ow++)
                            xr[ow * sw + off] += o[ow - ow0];
                    }
                }
                p += ow1 - ow0;
            }
        }
    }
}

/* dxg (Cg, H, W) += dxs (Cg, H, sw, wp) for channels [c0, c1), the inverse of
 * deinterleave. */
static void interleave_add(const struct kern_conv2d *d, const struct geom *g, const float *dxs, int c0, int c1,
                           float *dxg)
{
    const int H = d->h, W = d->w, sw = d->stride_w, wp = g->wp;
    for (int row = c0 * H; row < c1 * H; row++) {
        const float *src = dxs + (size_t)row * sw * wp;
        float *dst = dxg + (size_t)row * W;
        for (int phase = 0; phase < sw; phase++)
            for (int j = 0; j * sw + phase < W; j++)
                dst[j * sw + phase] += src[phase * wp + j];
    }
}

/* Threads. Each pass is one OpenMP region with no barrier inside: a thread owns whole
 * images when the batch splits evenly over the threads (or is large), else a share of
 * every image (output pixels in the forward pass, input channels in backward-data, weight
 * columns in backward-filter). Every output element is produced by one thread with the
 * same arithmetic in the same order whoever owns it, so the split never changes a bit.
 * Each thread has its own scratch: col chunk, phase-split copy, GEMM workspace. */
struct scratch {
    size_t per;  /* floats per thread */
    size_t col;  /* floats of the col chunk, rounded up to 16 (0 in the forward pass) */
    size_t ws;   /* floats of GEMM workspace, rounded up to 16 */
    float *base; /* 64-byte aligned, threads * per floats */
};

static inline size_t r16(size_t n) { return (n + 15) / 16 * 16; }

/* Per thread: col chunk (col_n floats), phase-split copy, GEMM workspace, then apk floats
 * for packed weights (backward-data: each thread packs the weights it uses once per call,
 * not once per image). */
static struct scratch scratch_of(struct kern_ctx *ctx, const struct geom *g, size_t col_n, size_t gemm_ws,
                                 size_t apk)
{
    struct scratch sc;
    sc.col = r16(col_n);
    sc.ws = r16(gemm_ws);
    sc.per = sc.col + r16(g->nxs) + sc.ws + r16(apk);
    float *raw = kern_scratch(ctx, sc.per * (size_t)ctx->threads + 16);
    sc.base = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    return sc;
}

static inline float *sc_col(const struct scratch *sc, int t) { return sc->base + sc->per * (size_t)t; }
static inline float *sc_xs(const struct scratch *sc, const struct geom *g, int t)
{
    return g->nxs ? sc_col(sc, t) + sc->col : NULL;
}
static inline float *sc_ws(const struct scratch *sc, const struct geom *g, int t)
{
    return sc_col(sc, t) + sc->col + r16(g->nxs);
}
static inline float *sc_apk(const struct scratch *sc, const struct geom *g, int t)
{
    return sc_ws(sc, g, t) + sc->ws;
}

static inline bool by_image(int threads, int n) { return threads > 1 && n >= 2 && (n % threads == 0 || n >= 4 * threads); }

/* [*lo, *hi): share t of nt of `total` items, in units of `unit`. */
static inline void share(int total, int unit, int t, int nt, int *lo, int *hi)
{
    int units = (total + unit - 1) / unit;
    int a = (int)((long)units * t / nt) * unit, b = (int)((long)units * (t + 1) / nt) * unit;
    *lo = a < total ? a : total;
    *hi = b < total ? b : total;
}

void kcpu_pack_im2col_generic(void *user, int q0, int kc, int j0, int nr, int NR, float *dst)
{
    const struct kcpu_im2col *cp = user;
    const struct kern_conv2d *d = cp->d;
    const int P0 = cp->p0 + j0;
    assert(NR <= 32);
    if (cp->direct) {
        for (int q = 0; q < kc; q++) {
            const float *src = cp->src + (size_t)(q0 + q) * cp->cstride + P0;
            float *o = dst + (size_t)q * NR;
            for (int j = 0; j < nr; j++)
                o[j] = src[j];
            for (int j = nr; j < NR; j++)
                o[j] = 0.0f;
        }
        return;
    }
    struct kcpu_run run[32];
    int nrun = kcpu_im2col_runs(d, P0, nr, run);
    const int R = d->r, S = d->s, H = d->h, dh = dil(d->dil_h);
    int c = q0 / (R * S), r = q0 / S % R, s = q0 % S;
    for (int q = 0; q < kc; q++) {
        float *o = dst + (size_t)q * NR;
        const float *plane = cp->src + (size_t)c * cp->cstride;
        int co = cp->coloff[s], los = cp->lo[s], his = cp->hi[s];
        for (int k = 0; k < nrun; k++) {
            int ih = run[k].ih0 + r * dh, ow0 = run[k].ow0, ow1 = run[k].ow1, jo = run[k].jo;
            int lo = los > ow0 ? los : ow0, hi = his < ow1 ? his : ow1;
            if (ih < 0 || ih >= H || hi <= lo) {
                for (int ow = ow0; ow < ow1; ow++)
                    o[ow + jo] = 0.0f;
                continue;
            }
            const float *row = plane + (size_t)ih * cp->rstride;
            for (int ow = ow0; ow < lo; ow++)
                o[ow + jo] = 0.0f;
            for (int ow = lo; ow < hi; ow++)
                o[ow + jo] = row[ow + co];
            for (int ow = hi; ow < ow1; ow++)
                o[ow + jo] = 0.0f;
        }
        for (int j = nr; j < NR; j++)
            o[j] = 0.0f;
        if (++s == S) {
            s = 0;
            if (++r == R) {
                r = 0;
                c++;
            }
        }
    }
}

/* y = act(conv(x, w) + b), or y += conv(x, w) when accumulate (then b is NULL and act
 * KCPU_ACT_NONE): one kcpu_cgemm per image, group and thread share, with the bias and
 * the activation in its write-back. */
static void conv_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                     const float *b, float *y, bool accumulate, int act, float slope)
{
    struct geom g = geom_of(d);
    int groups = d->c / g.cg, S = d->s, sw = d->stride_w;
    struct scratch sc = scratch_of(ctx, &g, 0, kcpu_cgemm_ws(g.p, g.crs), 0);
    bool whole = by_image(ctx->threads, d->n);
    kcpu_pack_b_fn pack = kcpu_isa() == KCPU_AVX512 ? kcpu_pack_im2col_avx512 : kcpu_pack_im2col_generic;
    int *taps = tryon_xmalloc(sizeof(int) * 3 * (size_t)S);
    for (int s = 0; s < S; s++) {
        int off = s * dil(d->dil_w) - d->pad_w;
        int phase = ((off % sw) + sw) % sw;
        taps[s] = sw == 1 ? off : phase * g.wp + (off - phase) / sw;
        valid_cols(0, d->ow, sw, off, d->w, &taps[S + s], &taps[2 * S + s]);
    }
#pragma omp parallel num_threads(ctx->threads) if (ctx->threads > 1)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *xs = sc_xs(&sc, &g, t), *ws = sc_ws(&sc, &g, t);
        /* whole images take every pixel; shared ones a slice in whole 32-pixel panels */
        int p0 = 0, p1 = g.p;
        if (!whole)
            share(g.p, 32, t, nt, &p0, &p1);
        for (int n = 0; n < d->n && p1 > p0; n++) {
            if (whole && n % nt != t)
                continue;
            for (int gi = 0; gi < groups; gi++) {
                const float *xg = x + ((size_t)n * d->c + (size_t)gi * g.cg) * g.hw;
                if (xs) /* the input rows this share's output rows read */
                    deinterleave_rows(d, &g, xg, 0, g.cg, p0 / d->ow * d->stride_h - d->pad_h,
                                      (p1 - 1) / d->ow * d->stride_h - d->pad_h + (d->r - 1) * dil(d->dil_h) + 1, xs);
                struct kcpu_im2col cp = {.d = d, .src = xs ? xs : xg, .cstride = xs ? (size_t)d->h * sw * g.wp : (size_t)g.hw,
                                   .rstride = xs ? (size_t)sw * g.wp : (size_t)d->w, .p0 = p0, .direct = g.direct,
                                   .coloff = taps, .lo = taps + S, .hi = taps + 2 * S};
                struct kcpu_ep ep = {.bias = b ? b + gi * g.kg : NULL, .accumulate = accumulate, .act = act,
                                     .slope = slope};
                kcpu_cgemm(g.kg, p1 - p0, g.crs, w + (size_t)gi * g.kg * g.crs, g.crs, pack, &cp,
                           y + ((size_t)n * d->k + (size_t)gi * g.kg) * g.p + p0, g.p, &ep, ws);
            }
        }
    }
    free(taps);
}

/* dx += conv^T(dy, w). */
static void conv_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy, const float *w,
                          float *dx)
{
    struct geom g = geom_of(d);
    int groups = d->c / g.cg, rs = d->r * d->s;
    size_t apk_n = kcpu_gemm_apack_size(g.crs, g.kg);
    struct scratch sc = scratch_of(ctx, &g, col_floats(&g), kcpu_gemm_ws(g.crs, g.p, g.kg, 1), apk_n * groups);
    bool whole = by_image(ctx->threads, d->n);
#pragma omp parallel num_threads(ctx->threads) if (ctx->threads > 1)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float *col = sc_col(&sc, t), *dxs = sc_xs(&sc, &g, t), *ws = sc_ws(&sc, &g, t), *apk = sc_apk(&sc, &g, t);
        int c0 = 0, c1 = g.cg;
        if (!whole)
            share(g.cg, 1, t, nt, &c0, &c1);
        int rows = (c1 - c0) * rs;
        for (int gi = 0; gi < groups && rows > 0; gi++) /* this thread's rows of W_g^T, packed */
            kcpu_gemm_pack_a(true, rows, g.kg, w + (size_t)gi * g.kg * g.crs + (size_t)c0 * rs, g.crs,
                             apk + apk_n * gi);
        for (int n = 0; n < d->n && c1 > c0; n++) {
            if (whole && n % nt != t)
                continue;
            for (int gi = 0; gi < groups; gi++) {
                float *dxg = dx + ((size_t)n * d->c + (size_t)gi * g.cg) * g.hw;
                const float *wp = apk + apk_n * gi;
                const float *dyg = dy + ((size_t)n * d->k + (size_t)gi * g.kg) * g.p;
                if (g.direct) {
                    kcpu_sgemm_pa(1, rows, g.p, g.kg, 1.0f, wp, false, dyg, g.p, 1.0f, dxg + (size_t)c0 * g.hw, g.hw,
                                  ws);
                    continue;
                }
                if (dxs)
                    memset(dxs + (size_t)c0 * d->h * d->stride_w * g.wp, 0,
                           (size_t)(c1 - c0) * d->h * d->stride_w * g.wp * sizeof(float));
                for (int p0 = 0; p0 < g.p; p0 += g.pchunk) {
                    int p1 = p0 + g.pchunk < g.p ? p0 + g.pchunk : g.p;
                    kcpu_sgemm_pa(1, rows, p1 - p0, g.kg, 1.0f, wp, false, dyg + p0, g.p, 0.0f, col, p1 - p0, ws);
                    col2im(d, &g, col, c0, c1, p0, p1, dxg, dxs);
                }
                if (dxs)
                    interleave_add(d, &g, dxs, c0, c1, dxg);
            }
        }
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

/* dw += sum_n dy[n] col[n]^T;  db += sum dy. Images run in order (they add into the same
 * dw); each thread owns a share of dw's columns (CRS) and builds only those col rows. */
static void conv_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *dy,
                            float *dw, float *db)
{
    struct geom g = geom_of(d);
    int groups = d->c / g.cg, rs = d->r * d->s;
    if (dw) {
        struct scratch sc = scratch_of(ctx, &g, col_floats(&g), kcpu_gemm_ws(g.kg, g.crs, g.p, 1), 0);
#pragma omp parallel num_threads(ctx->threads) if (ctx->threads > 1)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            float *col = sc_col(&sc, t), *xs = sc_xs(&sc, &g, t), *ws = sc_ws(&sc, &g, t);
            int q0, q1;
            share(g.crs, 16, t, nt, &q0, &q1);
            for (int n = 0; n < d->n && q1 > q0; n++)
                for (int gi = 0; gi < groups; gi++) {
                    const float *xg = x + ((size_t)n * d->c + (size_t)gi * g.cg) * g.hw;
                    const float *dyg = dy + ((size_t)n * d->k + (size_t)gi * g.kg) * g.p;
                    float *dwg = dw + (size_t)gi * g.kg * g.crs + q0;
                    if (g.direct) {
                        kcpu_sgemm(1, false, true, g.kg, q1 - q0, g.p, 1.0f, dyg, g.p, xg + (size_t)q0 * g.hw, g.hw,
                                   1.0f, dwg, g.crs, ws);
                        continue;
                    }
                    if (xs)
                        deinterleave(d, &g, xg, q0 / rs, (q1 - 1) / rs + 1, xs);
                    for (int p0 = 0; p0 < g.p; p0 += g.pchunk) {
                        int p1 = p0 + g.pchunk < g.p ? p0 + g.pchunk : g.p;
                        im2col(d, &g, xg, xs, q0, q1, p0, p1, col);
                        kcpu_sgemm(1, false, true, g.kg, q1 - q0, p1 - p0, 1.0f, dyg + p0, g.p, col, p1 - p0, 1.0f,
                                   dwg, g.crs, ws);
                    }
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
    conv_fwd(ctx, d, x, w, b, y, false, KCPU_ACT_NONE, 0.0f);
}

/* ReLU and leaky ReLU run in the GEMM's write-back; tanh and sigmoid (no cheap exact
 * vector form there) as a second pass, the same one kern_act_fwd makes. */
void kcpu_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, enum kern_act act, float slope, float *y)
{
    if (act == KERN_ACT_RELU || act == KERN_ACT_LEAKY_RELU) {
        conv_fwd(ctx, d, x, w, b, y, false, act == KERN_ACT_RELU ? KCPU_ACT_RELU : KCPU_ACT_LEAKY, slope);
        return;
    }
    conv_fwd(ctx, d, x, w, b, y, false, KCPU_ACT_NONE, 0.0f);
    kcpu_act_fwd(ctx, act, slope, (size_t)d->n * d->k * d->oh * d->ow, y, y);
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
    conv_fwd(ctx, &a, dy, w, NULL, dx, true, KCPU_ACT_NONE, 0.0f);
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
