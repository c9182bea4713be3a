/* nn_test_util.h: helpers shared by the nn/ tests: golden-file access, the normalized
 * error used against PyTorch, and backend iteration. Header-only (one executable per test).
 * It includes nn/nn_internal.h: the tests also check what only nn/ itself calls. */
#ifndef TRYON_TESTS_NN_UTIL_H
#define TRYON_TESTS_NN_UTIL_H

#include "check.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

/* Normalized error of a against the reference b: ||a - b||_2 / max(||b||_2, 1e-6).
 * Scale-free, so one limit per op serves tensors of any magnitude. */
static inline double nerr(const float *a, const float *b, size_t n)
{
    double d = 0, r = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - (double)b[i];
        d += e * e;
        r += (double)b[i] * (double)b[i];
    }
    if (!(d == d))
        return INFINITY;
    r = sqrt(r);
    return sqrt(d) / (r > 1e-6 ? r : 1e-6);
}

/* Fill every input of model m (batch n) with standard normal numbers from seed. */
static inline void nn_test_fill_inputs(struct kern_ctx *ctx, struct nn_model *m, int n, uint64_t seed)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    struct rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i].op == NN_OP_INPUT) {
            size_t k = (size_t)n * cfg->layers[i].c * cfg->layers[i].h * cfg->layers[i].w;
            float *h = malloc(k * sizeof *h);
            for (size_t j = 0; j < k; j++)
                h[j] = rng_normal(&r);
            kern_upload(ctx, nn_model_input(m, cfg->layers[i].name), h, k);
            free(h);
        }
}

static double worst_err __attribute__((unused)); /* largest normalized error seen by CHECK_TENSOR, for the log */

/* Compare n floats of backend memory (downloaded through ctx) with the golden tensor
 * `name`; the element count must match and the normalized error stay <= limit. */
#define CHECK_TENSOR(ctx, f, name, dev, n, limit) do { \
    float *ref_ = NULL, *got_ = malloc(((n) ? (n) : 1) * sizeof(float)); \
    enum tryon_status s_ = nn_st_get_f32((f), (name), (n), &ref_, NULL); \
    CHECK_MSG(s_ == TRYON_OK, "%s", tryon_errmsg()); \
    if (s_ == TRYON_OK) { \
        kern_download((ctx), got_, (dev), (n)); \
        double e_ = nerr(got_, ref_, (n)); \
        if (e_ > worst_err) worst_err = e_; \
        CHECK_MSG(e_ <= (limit), "%s: normalized error %.3g > %.3g", (name), e_, (double)(limit)); \
    } \
    free(ref_); free(got_); } while (0)

/* Upload golden tensor `name` (n floats) into backend memory dev. */
static inline void upload_golden(struct kern_ctx *ctx, const struct nn_st_file *f, const char *name, float *dev,
                                 size_t n)
{
    float *h = NULL;
    enum tryon_status s = nn_st_get_f32(f, name, n, &h, NULL);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s == TRYON_OK)
        kern_upload(ctx, dev, h, n);
    free(h);
}

/* The golden data folder: argv[1] or the source tree's default. */
static inline const char *golden_dir(int argc, char **argv)
{
    return argc > 1 ? argv[1] : "tests/golden/data";
}

static inline struct nn_st_file *open_golden(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    struct nn_st_file *f = NULL;
    enum tryon_status s = nn_st_read(path, 0, &f);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    return f;
}

static inline long meta_int(const struct nn_st_file *f, const char *key)
{
    const char *v = nn_st_meta(f, key);
    CHECK_MSG(v != NULL, "%s: no metadata '%s'", f->path, key);
    return v ? strtol(v, NULL, 10) : 0;
}

static inline double meta_dbl(const struct nn_st_file *f, const char *key)
{
    const char *v = nn_st_meta(f, key);
    CHECK_MSG(v != NULL, "%s: no metadata '%s'", f->path, key);
    return v ? strtod(v, NULL) : 0;
}

#endif
