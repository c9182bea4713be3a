/* nn_bench.c: images per second of one model on the CPU backend, inference or one
 * training step, for the comparison with PyTorch (bench_torch.py does the same there).
 *
 *   nn_bench MODEL.yaml WEIGHTS.safetensors infer|train BATCH THREADS [REPS]
 *
 * Writes WEIGHTS first when it does not exist (seeded init), and the input batch to
 * WEIGHTS.in<BATCH>.safetensors, so both sides then load the same weights and inputs
 * (the printed loss after the timed steps must then agree). Inference: NN_MODE_INFER_FOLD (BN folded into convs), eval forward. Training
 * step: zero grads, forward(train), MSE of every output against zeros, backward, AdamW.
 * Prints one JSON line: median seconds per iteration over REPS (after one warm-up),
 * images/s, GFLOP/s (forward flops; a training step counts 3x), peak RSS in MB. */
#include "nn/nn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL.yaml WEIGHTS.safetensors infer|train BATCH THREADS [REPS]\n", argv[0]);
        return 2;
    }
    bool train = strcmp(argv[3], "train") == 0;
    int batch = atoi(argv[4]), threads = atoi(argv[5]), reps = argc > 6 ? atoi(argv[6]) : 5;
    if (batch < 1 || threads < 1 || reps < 1 || reps > 1000) {
        fprintf(stderr, "bad batch, threads or reps\n");
        return 2;
    }
    struct nn_cfg *cfg;
    enum tryon_status s = nn_cfg_load(argv[1], &cfg);
    if (s < 0) {
        fprintf(stderr, "%s\n", tryon_errmsg());
        return 1;
    }
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, threads);
    if (!ctx) {
        fprintf(stderr, "%s\n", tryon_errmsg());
        return 1;
    }
    if (!fs_exists(argv[2])) {
        struct nn_model *w;
        if (nn_model_create(cfg, ctx, 1, NN_MODE_INFER, &w) < 0 || (nn_model_init_params(w, 1), 0) ||
            nn_model_save(w, argv[2], NULL) < 0) {
            fprintf(stderr, "%s\n", tryon_errmsg());
            return 1;
        }
        nn_model_free(w);
    }
    struct nn_model *m;
    if (nn_model_create(cfg, ctx, batch, train ? NN_MODE_TRAIN : NN_MODE_INFER_FOLD, &m) < 0 ||
        nn_model_load(m, argv[2]) < 0) {
        fprintf(stderr, "%s\n", tryon_errmsg());
        return 1;
    }
    /* inputs: a fixed pseudo-random batch, shared with bench_torch.py through a file */
    char inpath[1024];
    snprintf(inpath, sizeof inpath, "%s.in%d.safetensors", argv[2], batch);
    if (!fs_exists(inpath)) {
        struct nn_st_writer *iw = nn_st_writer_create();
        struct rng r;
        rng_seed(&r, 42);
        for (int i = 0; i < cfg->n_layers; i++)
            if (cfg->layers[i].op == NN_OP_INPUT) {
                const struct nn_layer *l = &cfg->layers[i];
                size_t k = (size_t)batch * l->c * l->h * l->w;
                float *h = malloc(k * sizeof *h);
                for (size_t j = 0; j < k; j++)
                    h[j] = rng_normal(&r);
                int64_t sh[4] = {batch, l->c, l->h, l->w};
                nn_st_add(iw, l->name, NN_F32, 4, sh, h);
                free(h);
            }
        if (nn_st_write(iw, inpath) < 0) {
            fprintf(stderr, "%s\n", tryon_errmsg());
            return 1;
        }
        nn_st_writer_free(iw);
    }
    struct nn_st_file *inf;
    if (nn_st_read(inpath, 0, &inf) < 0) {
        fprintf(stderr, "%s\n", tryon_errmsg());
        return 1;
    }
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i].op == NN_OP_INPUT) {
            const struct nn_layer *l = &cfg->layers[i];
            float *h;
            if (nn_st_get_f32(inf, l->name, (size_t)batch * l->c * l->h * l->w, &h, NULL) < 0) {
                fprintf(stderr, "%s\n", tryon_errmsg());
                return 1;
            }
            kern_upload(ctx, nn_model_input(m, l->name), h, (size_t)batch * l->c * l->h * l->w);
            free(h);
        }
    nn_st_free(inf);
    float *zeros[16] = {0};
    if (train)
        for (int o = 0; o < cfg->n_outputs && o < 16; o++) {
            int c, h, w;
            nn_model_tensor_shape(m, cfg->outputs[o].name, &c, &h, &w);
            zeros[o] = kern_alloc(ctx, (size_t)batch * c * h * w);
        }
    struct nn_adamw_cfg oc = nn_adamw_defaults();
    double *t = malloc((size_t)(reps + 1) * sizeof *t);
    float loss = 0;
    for (int it = 0; it <= reps; it++) {
        double t0 = time_now();
        if (train) {
            nn_model_zero_grad(m);
            nn_model_forward(m, batch, true);
            loss = 0;
            for (int o = 0; o < cfg->n_outputs && o < 16; o++) {
                int c, h, w;
                nn_model_tensor_shape(m, cfg->outputs[o].name, &c, &h, &w);
                loss += kern_loss_mse(ctx, (size_t)batch * c * h * w, nn_model_output(m, cfg->outputs[o].name),
                                      zeros[o], 1.0f, nn_model_output_grad(m, cfg->outputs[o].name));
            }
            nn_model_backward(m);
            nn_model_adamw_step(m, &oc);
        } else {
            nn_model_forward(m, batch, false);
        }
        kern_sync(ctx);
        t[it] = time_now() - t0;
    }
    qsort(t + 1, (size_t)reps, sizeof *t, cmp_d); /* t[0] is the warm-up */
    double med = t[1 + reps / 2];
    double gf = nn_model_flops(m, batch) * (train ? 3 : 1) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct nn_mem mem;
    nn_model_mem(m, &mem);
    printf("{\"impl\":\"tryon\",\"model\":\"%s\",\"mode\":\"%s\",\"batch\":%d,\"threads\":%d,\"reps\":%d,"
           "\"sec\":%.6f,\"img_s\":%.3f,\"gflop_s\":%.2f,\"peak_rss_mb\":%.1f,\"model_mb\":%.1f,\"loss\":%.6g}\n",
           cfg->name, train ? "train" : "infer", batch, threads, reps, med, batch / med, gf / med,
           ru.ru_maxrss / 1024.0, (mem.params + mem.grads + mem.acts + mem.act_grads + mem.optim + mem.i32) / 1e6,
           loss);
    for (int o = 0; o < 16; o++)
        kern_release(ctx, zeros[o]);
    free(t);
    nn_model_free(m);
    kern_destroy(ctx);
    nn_cfg_free(cfg);
    return 0;
}
