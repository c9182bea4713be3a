/* denoise_pfm.c: the shipped denoiser (worker/denoise.c) on a render saved by
 * `tryon render --film`, so that it and a peer (Intel Open Image Denoise, compare.py) denoise
 * the very same floats.
 *
 *   denoise_pfm MODEL.safetensors PREFIX OUT.pfm [--threads N] [--reps R]
 *
 * PREFIX.radiance.pfm, PREFIX.albedo.pfm, PREFIX.normal.pfm (3 channels) and PREFIX.spp.pfm
 * (1 channel) become a film; the denoiser runs R times (default 3) on copies of it and the
 * median seconds are printed as "seconds S megapixels M" on stdout; the result's radiance
 * goes to OUT.pfm. Also: "size WxH" for the record. Measures, asserts nothing (bench/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "nn/nn.h"
#include "worker/worker.h"

/* A little-endian PFM of c channels into a malloc'd top-to-bottom (h, w, c) array. */
static float *read_pfm(const char *path, int c, int *w, int *h)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (fs_read_all(path, (size_t)1 << 31, &d, &n)) {
        fprintf(stderr, "denoise_pfm: %s\n", tryon_errmsg());
        return NULL;
    }
    char tag[3];
    double scale;
    int off = 0;
    if (sscanf((const char *)d, "%2s %d %d %lf%n", tag, w, h, &scale, &off) != 4 || strcmp(tag, c == 3 ? "PF" : "Pf") ||
        scale >= 0 || *w < 1 || *h < 1 || n < (size_t)off + 1 + (size_t)*w * *h * c * sizeof(float)) {
        fprintf(stderr, "denoise_pfm: %s is not a little-endian %d-channel PFM\n", path, c);
        free(d);
        return NULL;
    }
    size_t row = (size_t)*w * c;
    float *px = malloc(row * *h * sizeof *px);
    const uint8_t *body = d + n - row * *h * sizeof(float);
    for (int y = 0; y < *h; y++)
        memcpy(px + row * (size_t)(*h - 1 - y), body + row * y * sizeof(float), row * sizeof(float));
    free(d);
    return px;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: denoise_pfm MODEL.safetensors PREFIX OUT.pfm [--threads N] [--reps R]\n");
        return 2;
    }
    int threads = 0, reps = 3;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps"))
            reps = atoi(argv[i + 1]) > 0 ? atoi(argv[i + 1]) : 1;
    }
    const char *planes[4] = {"radiance", "albedo", "normal", "spp"};
    float *buf[4];
    int w = 0, h = 0;
    for (int k = 0; k < 4; k++) {
        char p[4096];
        int pw, ph;
        snprintf(p, sizeof p, "%s.%s.pfm", argv[2], planes[k]);
        if (!(buf[k] = read_pfm(p, k == 3 ? 1 : 3, &pw, &ph)))
            return 1;
        if (k && (pw != w || ph != h)) {
            fprintf(stderr, "denoise_pfm: %s is %dx%d, not %dx%d\n", p, pw, ph, w, h);
            return 1;
        }
        w = pw, h = ph;
    }
    struct kern_ctx *ctx = nn_ctx_create(threads);
    struct worker_denoiser *den = NULL;
    if (!ctx || worker_denoiser_load(argv[1], ctx, &den)) {
        fprintf(stderr, "denoise_pfm: %s\n", tryon_errmsg());
        return 1;
    }
    size_t np = (size_t)w * h;
    float *rgb = malloc(np * 3 * sizeof *rgb), *alpha = calloc(np, sizeof *alpha), *depth = calloc(np, sizeof *depth);
    int32_t *spp = malloc(np * sizeof *spp), *obj = calloc(np, sizeof *obj);
    for (size_t i = 0; i < np; i++)
        spp[i] = (int32_t)buf[3][i];
    struct rt_film f = {.w = w, .h = h, .rgb = rgb, .alpha = alpha, .depth = depth, .normal = buf[2],
                        .albedo = buf[1], .object = obj, .spp = spp};
    double *t = malloc((size_t)reps * sizeof *t);
    for (int r = 0; r < reps; r++) {
        memcpy(rgb, buf[0], np * 3 * sizeof *rgb);
        double t0 = time_now();
        if (worker_denoise_film(den, &f)) {
            fprintf(stderr, "denoise_pfm: %s\n", tryon_errmsg());
            return 1;
        }
        t[r] = time_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    struct imgf out = {.w = w, .h = h, .c = 3, .px = rgb};
    uint8_t *data = NULL;
    size_t len = 0;
    if (imgf_encode_pfm(&out, &data, &len) || fs_write_atomic(argv[3], data, len)) {
        fprintf(stderr, "denoise_pfm: %s\n", tryon_errmsg());
        return 1;
    }
    printf("size %dx%d seconds %.4f megapixels %.4f\n", w, h, t[reps / 2], (double)np / 1e6);
    free(data);
    free(t);
    free(rgb), free(alpha), free(depth), free(spp), free(obj);
    for (int k = 0; k < 4; k++)
        free(buf[k]);
    worker_denoiser_free(den);
    nn_ctx_free(ctx);
    return 0;
}
