/* nn_infer.c: inference throughput of a trained weight file, as the worker runs it.
 *
 *   nn_infer MODEL.safetensors [--threads N] [--backend cpu|ref|cuda] [--reps R]
 *
 * The weight file is self-contained: its "model_yaml" metadata is the model description
 * (nn_cfg_from_string), and the weights are loaded in NN_MODE_INFER_FOLD (batch norm
 * folded into the convs, eval forward), which is how worker/nnest.c runs the body and
 * garment encoders. For batches of 1, 8 and 32 samples of seeded uniform input in [-1, 1]
 * (the networks' input range): two warm-up forwards, then R timed forwards (default 7);
 * prints one Markdown table row per batch with the median, the fastest and the slowest
 * seconds per forward, images/s at the median and GFLOP/s (nn_model_flops). Threads are
 * the CPU backend's OpenMP threads (0 = all); with cuda, N is the device ordinal.
 * Measures, asserts nothing (bench/). */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "kernels/kernels.h"
#include "nn/nn.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *usage = "usage: nn_infer MODEL.safetensors [--threads N] [--backend cpu|ref|cuda] [--reps R]\n";
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *path = argv[1], *backend = "cpu";
    int threads = 1, reps = 7;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc)
            threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--backend") && a + 1 < argc)
            backend = argv[++a];
        else if (!strcmp(argv[a], "--reps") && a + 1 < argc)
            reps = atoi(argv[++a]);
        else {
            fprintf(stderr, "nn_infer: unknown argument '%s'\n%s", argv[a], usage);
            return 2;
        }
    }
    if (threads < 0 || reps < 1 || reps > 1000) {
        fprintf(stderr, "nn_infer: --threads must be >= 0 and --reps in 1..1000\n");
        return 2;
    }
    enum kern_backend kb;
    struct nn_st_file *f = NULL;
    struct nn_cfg *cfg = NULL;
    enum tryon_status s = kern_backend_parse(backend, &kb);
    if (s == TRYON_OK)
        s = nn_st_read(path, 0, &f);
    const char *yaml = s ? NULL : nn_st_meta(f, "model_yaml");
    if (s == TRYON_OK && !yaml)
        s = tryon_fail(TRYON_EFORMAT, "%s: no model_yaml metadata (not a trained weight file)", path);
    if (s == TRYON_OK)
        s = nn_cfg_from_string(yaml, path, &cfg);
    if (s) {
        fprintf(stderr, "nn_infer: %s\n", tryon_errmsg());
        return 1;
    }
    struct kern_ctx *ctx = kern_create(kb, threads);
    if (!ctx) {
        fprintf(stderr, "nn_infer: %s\n", tryon_errmsg());
        return 1;
    }
    static const int BATCHES[] = {1, 8, 32};
    const int max_batch = BATCHES[sizeof BATCHES / sizeof BATCHES[0] - 1];
    struct nn_model *m;
    if ((s = nn_model_create(cfg, ctx, max_batch, NN_MODE_INFER_FOLD, &m)) || (s = nn_model_load_st(m, f))) {
        fprintf(stderr, "nn_infer: %s\n", tryon_errmsg());
        return 1;
    }
    nn_st_free(f);
    /* every input of the graph: seeded uniform values in [-1, 1] for the largest batch */
    struct rng r;
    rng_seed(&r, 1);
    for (int l = 0; l < cfg->n_layers; l++) {
        const struct nn_layer *L = &cfg->layers[l];
        if (L->op != NN_OP_INPUT)
            continue;
        size_t n = (size_t)max_batch * L->c * L->h * L->w;
        float *host = malloc(sizeof *host * n);
        if (!host) {
            fprintf(stderr, "nn_infer: out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            host[i] = 2.0f * rng_float(&r) - 1.0f;
        kern_upload(ctx, nn_model_input(m, L->name), host, n);
        free(host);
    }
    struct kern_info info;
    kern_query(&info);
    int c = 0, h = 0, w = 0;
    nn_model_tensor_shape(m, cfg->layers[0].name, &c, &h, &w);
    printf("model %s (%s), input %s %d x %d x %d, backend %s, threads %d, cpu isa %s, %d timed reps\n\n", cfg->name,
           path, cfg->layers[0].name, c, h, w, kern_backend_name(kb), threads, info.cpu_isa, reps);
    printf("| model | threads | batch | median s | min s | max s | images/s | GFLOP/s |\n"
           "|---|---|---|---|---|---|---|---|\n");
    double *t = malloc(sizeof *t * (size_t)reps);
    for (size_t b = 0; b < sizeof BATCHES / sizeof BATCHES[0]; b++) {
        int n = BATCHES[b];
        for (int i = 0; i < 2; i++)
            nn_model_forward(m, n, false);
        kern_sync(ctx);
        for (int i = 0; i < reps; i++) {
            double t0 = time_now();
            nn_model_forward(m, n, false);
            kern_sync(ctx);
            t[i] = time_now() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_d);
        double med = t[reps / 2];
        printf("| %s | %d | %d | %.5f | %.5f | %.5f | %.1f | %.2f |\n", cfg->name, threads, n, med, t[0],
               t[reps - 1], n / med, nn_model_flops(m, n) / med * 1e-9);
        fflush(stdout);
    }
    free(t);
    nn_model_free(m);
    nn_cfg_free(cfg);
    kern_destroy(ctx);
    return 0;
}
