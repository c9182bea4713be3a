/* compare.h: run one op on two kernel backends and compare the results (header-only).
 *
 * A case is a function that draws its shapes and inputs from the environment and runs one
 * op on e->ctx. The harness calls it once per backend with the environment seeded
 * identically, so both runs see the same shapes and the same input bytes; then it downloads
 * every registered output and compares backend A against backend B by normalized error
 *     err = ||a - b||_2 / (||b||_2 + 1e-30)
 * against the case's limit (integer outputs must match exactly).
 *
 * Buffers a case can ask for (all in backend memory, released by the harness):
 *   cmp_in      input, uniform random in [lo, hi)
 *   cmp_out     forward output, prefilled with values that differ between the backends, so
 *               an element the op forgets to write shows up as a difference
 *   cmp_acc     accumulated gradient or in/out state, prefilled identically (random): checks
 *               the += contract and the state update
 *   cmp_tmp     intermediate not compared (e.g. a forward output feeding a backward)
 *   cmp_out_i32 int32 output compared exactly; cmp_in_labels int32 input in [0, k);
 *               cmp_in_perm int32 input, distinct values in [0, k)
 *   cmp_scalar  a host value (a loss) compared by relative error
 * and cmp_int / cmp_unif for shape and scalar draws, cmp_note to describe the shapes in a
 * failure message.
 *
 * Usage (one trial per random shape; returns the number of failed comparisons):
 *   static void case_relu(struct cmp_env *e) { ... kern_act_fwd(e->ctx, ...); }
 *   static const struct cmp_case c = {"relu_fwd", case_relu, 1e-6};
 *   fails += cmp_run(cpu_ctx, ref_ctx, &c, 20, 1234);
 */
#ifndef TRYON_TESTS_KERNELS_COMPARE_H
#define TRYON_TESTS_KERNELS_COMPARE_H

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "kernels/kernels.h"

#define CMP_MAX_BUF 48
#define CMP_MAX_OUT 16

enum cmp_kind { CMP_F32, CMP_I32, CMP_SCALAR };

struct cmp_result {
    const char *name;    /* output name given by the case */
    enum cmp_kind kind;
    size_t n;            /* elements (1 for a scalar) */
    float *f;            /* host copy (CMP_F32, CMP_SCALAR) */
    int32_t *i;          /* host copy (CMP_I32) */
    const void *dev;     /* backend pointer until downloaded */
};

struct cmp_env {
    struct kern_ctx *ctx;
    struct rng data;     /* shapes and inputs: the same sequence on both backends */
    struct rng junk;     /* prefill of forward outputs: a different sequence per backend */
    int nbuf;
    void *bufs[CMP_MAX_BUF];
    int nout;
    struct cmp_result outs[CMP_MAX_OUT];
    char note[256];      /* shapes, for failure messages */
};

struct cmp_case {
    const char *name;
    void (*run)(struct cmp_env *e);
    double limit;        /* largest normalized error accepted */
};

static inline void cmp_track(struct cmp_env *e, void *p)
{
    if (e->nbuf >= CMP_MAX_BUF) {
        fprintf(stderr, "compare.h: more than %d buffers in one case\n", CMP_MAX_BUF);
        abort();
    }
    e->bufs[e->nbuf++] = p;
}

static inline struct cmp_result *cmp_new_out(struct cmp_env *e, const char *name, enum cmp_kind kind, size_t n,
                                             const void *dev)
{
    if (e->nout >= CMP_MAX_OUT) {
        fprintf(stderr, "compare.h: more than %d outputs in one case\n", CMP_MAX_OUT);
        abort();
    }
    struct cmp_result *r = &e->outs[e->nout++];
    memset(r, 0, sizeof(*r));
    r->name = name;
    r->kind = kind;
    r->n = n;
    r->dev = dev;
    return r;
}

/* Uniform integer in [lo, hi]. */
static inline int cmp_int(struct cmp_env *e, int lo, int hi)
{
    return lo + (int)(rng_u32(&e->data) % (uint32_t)(hi - lo + 1));
}

/* Uniform float in [lo, hi). */
static inline float cmp_unif(struct cmp_env *e, float lo, float hi)
{
    return lo + (hi - lo) * rng_float(&e->data);
}

static inline void cmp_note(struct cmp_env *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->note, sizeof(e->note), fmt, ap);
    va_end(ap);
}

/* n floats of backend memory filled from `r` in [lo, hi). */
static inline float *cmp_fill(struct cmp_env *e, struct rng *r, size_t n, float lo, float hi)
{
    float *host = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        host[i] = lo + (hi - lo) * rng_float(r);
    float *dev = kern_alloc(e->ctx, n);
    kern_upload(e->ctx, dev, host, n);
    free(host);
    cmp_track(e, dev);
    return dev;
}

static inline const float *cmp_in(struct cmp_env *e, size_t n, float lo, float hi)
{
    return cmp_fill(e, &e->data, n, lo, hi);
}

static inline float *cmp_tmp(struct cmp_env *e, size_t n)
{
    float *dev = kern_alloc(e->ctx, n);
    cmp_track(e, dev);
    return dev;
}

static inline float *cmp_out(struct cmp_env *e, const char *name, size_t n)
{
    float *dev = cmp_fill(e, &e->junk, n, -1000.0f, 1000.0f);
    cmp_new_out(e, name, CMP_F32, n, dev);
    return dev;
}

static inline float *cmp_acc(struct cmp_env *e, const char *name, size_t n, float lo, float hi)
{
    float *dev = cmp_fill(e, &e->data, n, lo, hi);
    cmp_new_out(e, name, CMP_F32, n, dev);
    return dev;
}

static inline int32_t *cmp_out_i32(struct cmp_env *e, const char *name, size_t n)
{
    int32_t *dev = kern_alloc_i32(e->ctx, n);
    int32_t *host = malloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        host[i] = (int32_t)(rng_u32(&e->junk) & 0xffff) - 40000;
    kern_upload_i32(e->ctx, dev, host, n);
    free(host);
    cmp_track(e, dev);
    cmp_new_out(e, name, CMP_I32, n, dev);
    return dev;
}

static inline const int32_t *cmp_in_labels(struct cmp_env *e, size_t n, int k)
{
    int32_t *dev = kern_alloc_i32(e->ctx, n);
    int32_t *host = malloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        host[i] = (int32_t)(rng_u32(&e->data) % (uint32_t)k);
    kern_upload_i32(e->ctx, dev, host, n);
    free(host);
    cmp_track(e, dev);
    return dev;
}

/* n int32 in backend memory: the first n of a random permutation of [0, k) (n <= k), so
   groups of them share no value (one colour of cloth constraints). */
static inline const int32_t *cmp_in_perm(struct cmp_env *e, size_t n, int k)
{
    int32_t *host = malloc((size_t)(k > 0 ? k : 1) * sizeof(int32_t));
    for (int i = 0; i < k; i++)
        host[i] = i;
    for (int i = k - 1; i > 0; i--) {
        int j = (int)(rng_u32(&e->data) % (uint32_t)(i + 1));
        int32_t t = host[i];
        host[i] = host[j], host[j] = t;
    }
    int32_t *dev = kern_alloc_i32(e->ctx, n);
    kern_upload_i32(e->ctx, dev, host, n);
    free(host);
    cmp_track(e, dev);
    return dev;
}

static inline void cmp_scalar(struct cmp_env *e, const char *name, float v)
{
    struct cmp_result *r = cmp_new_out(e, name, CMP_SCALAR, 1, NULL);
    r->f = malloc(sizeof(float));
    r->f[0] = v;
}

/* Run the case on ctx with the given seeds; results are downloaded into e->outs. */
static inline void cmp_exec(struct cmp_env *e, struct kern_ctx *ctx, const struct cmp_case *c, uint64_t seed,
                            uint64_t junk_seed)
{
    memset(e, 0, sizeof(*e));
    e->ctx = ctx;
    rng_seed(&e->data, seed);
    rng_seed(&e->junk, junk_seed);
    c->run(e);
    kern_sync(ctx);
    for (int i = 0; i < e->nout; i++) {
        struct cmp_result *r = &e->outs[i];
        if (r->kind == CMP_F32) {
            r->f = malloc((r->n ? r->n : 1) * sizeof(float));
            kern_download(ctx, r->f, r->dev, r->n);
        } else if (r->kind == CMP_I32) {
            r->i = malloc((r->n ? r->n : 1) * sizeof(int32_t));
            kern_download_i32(ctx, r->i, r->dev, r->n);
        }
    }
    for (int i = 0; i < e->nbuf; i++)
        kern_release(ctx, e->bufs[i]);
    e->nbuf = 0;
}

static inline void cmp_env_free(struct cmp_env *e)
{
    for (int i = 0; i < e->nout; i++) {
        free(e->outs[i].f);
        free(e->outs[i].i);
    }
    e->nout = 0;
}

/* Normalized error of a against b: ||a-b|| / (||b|| + 1e-30); NaN when either holds one. */
static inline double cmp_nerr(const float *a, const float *b, size_t n)
{
    double d = 0.0, nb = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)a[i] - (double)b[i];
        d += t * t;
        nb += (double)b[i] * (double)b[i];
    }
    return sqrt(d) / (sqrt(nb) + 1e-30);
}

/* Run `trials` random shapes of case c on A and on B, compare each output. Prints one line
 * per failure; returns the number of failed comparisons. *worst (may be NULL) gets the
 * largest normalized error seen. */
static inline int cmp_run_worst(struct kern_ctx *a, struct kern_ctx *b, const struct cmp_case *c, int trials,
                                uint64_t seed, double *worst)
{
    int fails = 0;
    double w = 0.0;
    for (int t = 0; t < trials; t++) {
        uint64_t s = hash_mix64(seed + (uint64_t)t * 0x9e3779b97f4a7c15ULL);
        struct cmp_env ea, eb;
        cmp_exec(&ea, a, c, s, s ^ 0x5555);
        cmp_exec(&eb, b, c, s, s ^ 0xaaaa);
        if (ea.nout != eb.nout) {
            fprintf(stderr, "%s: trial %d: %d outputs on A, %d on B\n", c->name, t, ea.nout, eb.nout);
            fails++;
        }
        for (int i = 0; i < ea.nout && i < eb.nout; i++) {
            struct cmp_result *ra = &ea.outs[i], *rb = &eb.outs[i];
            if (ra->kind == CMP_I32) {
                size_t bad = 0;
                for (size_t j = 0; j < ra->n; j++)
                    bad += ra->i[j] != rb->i[j];
                if (bad) {
                    fprintf(stderr, "%s: trial %d (%s): %s: %zu of %zu integers differ\n", c->name, t, ea.note,
                            ra->name, bad, ra->n);
                    fails++;
                }
                continue;
            }
            double err = cmp_nerr(ra->f, rb->f, ra->n);
            if (ra->kind == CMP_SCALAR)
                err = fabs((double)ra->f[0] - (double)rb->f[0]) / (fabs((double)rb->f[0]) + 1e-30);
            if (!(err <= c->limit)) {
                fprintf(stderr, "%s: trial %d (%s): %s: normalized error %.3g > limit %.3g\n", c->name, t,
                        ea.note, ra->name, err, c->limit);
                fails++;
            }
            if (err > w || err != err)
                w = err;
        }
        cmp_env_free(&ea);
        cmp_env_free(&eb);
    }
    if (worst)
        *worst = w;
    return fails;
}

static inline int cmp_run(struct kern_ctx *a, struct kern_ctx *b, const struct cmp_case *c, int trials,
                          uint64_t seed)
{
    return cmp_run_worst(a, b, c, trials, seed, NULL);
}

/* Fill d's output size with kern_conv2d_init (or kern_convt2d_init when transposed) if
   the random shape is valid: a non-empty output, and for a transposed conv one that its
   adjoint conv maps back onto (h, w). False means: draw another shape. */
static inline bool cmp_conv_init(struct kern_conv2d *d, bool transposed)
{
    if (transposed) {
        int oh = (d->h - 1) * d->stride_h - 2 * d->pad_h + d->dil_h * (d->r - 1) + d->opad_h + 1;
        int ow = (d->w - 1) * d->stride_w - 2 * d->pad_w + d->dil_w * (d->s - 1) + d->opad_w + 1;
        if (oh < 1 || ow < 1 || oh + 2 * d->pad_h < d->dil_h * (d->r - 1) + 1 ||
            ow + 2 * d->pad_w < d->dil_w * (d->s - 1) + 1 ||
            (oh + 2 * d->pad_h - d->dil_h * (d->r - 1) - 1) / d->stride_h + 1 != d->h ||
            (ow + 2 * d->pad_w - d->dil_w * (d->s - 1) - 1) / d->stride_w + 1 != d->w)
            return false;
        kern_convt2d_init(d);
    } else {
        if (d->h + 2 * d->pad_h < d->dil_h * (d->r - 1) + 1 || d->w + 2 * d->pad_w < d->dil_w * (d->s - 1) + 1)
            return false;
        kern_conv2d_init(d);
    }
    return true;
}

#endif
