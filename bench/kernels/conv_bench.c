/* conv_bench.c: convolution layers of a ResNet-style encoder on the REF and CPU backends
 * (kernels.h public API), forward, backward-data and backward-filter, batch 1, 8 and 32,
 * 1 and 2 threads. Prints one tab-separated line per measurement:
 *   impl  layer  batch  threads  pass  median_ms  gflops  cpu_ms
 * (the same format as torch_conv.py, which compares against PyTorch and merges both).
 * cpu_ms (1 thread only) is the median CPU time of the calling thread: unlike wall time it
 * does not count the slices spent descheduled when other processes share the cores.
 *   conv_bench [reps] [max_batch_for_ref] [layer-substring] [max_threads] [passes]
 * passes: "all" (default: fwd, bwd_data, bwd_filter) or "fwd" (fwd and fwd_relu, the
 * fused conv + ReLU of kern_conv2d_fwd_act).
 * REF is single-threaded plain C, so it runs only at batches <= max_batch_for_ref (8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "kernels/kernels.h"

struct layer {
    const char *name;
    int c, h, w, k, r, stride, pad;
};

/* The encoder's kinds of layers on a 128x128 input, then every distinct conv of
 * garment_encoder (configs/models/garment_encoder.yaml, 4x224x224 input, width 32). */
static const struct layer layers[] = {
    {"stem_3-32_7x7s2_128", 3, 128, 128, 32, 7, 2, 3},
    {"3x3_32-64_32", 32, 32, 32, 64, 3, 1, 1},
    {"3x3s2_64-128_32", 64, 32, 32, 128, 3, 2, 1},
    {"3x3_128-128_16", 128, 16, 16, 128, 3, 1, 1},
    {"1x1_64-256_32", 64, 32, 32, 256, 1, 1, 0},
    {"1x1_256-64_32", 256, 32, 32, 64, 1, 1, 0},
    {"ge_stem_4-32_7x7s2_224", 4, 224, 224, 32, 7, 2, 3},
    {"ge_l1_3x3_32-32_56", 32, 56, 56, 32, 3, 1, 1},
    {"ge_l2a_3x3s2_32-64_56", 32, 56, 56, 64, 3, 2, 1},
    {"ge_l2ds_1x1s2_32-64_56", 32, 56, 56, 64, 1, 2, 0},
    {"ge_l2_3x3_64-64_28", 64, 28, 28, 64, 3, 1, 1},
    {"ge_l3a_3x3s2_64-128_28", 64, 28, 28, 128, 3, 2, 1},
    {"ge_l3ds_1x1s2_64-128_28", 64, 28, 28, 128, 1, 2, 0},
    {"ge_l3_3x3_128-128_14", 128, 14, 14, 128, 3, 1, 1},
    {"ge_l4a_3x3s2_128-256_14", 128, 14, 14, 256, 3, 2, 1},
    {"ge_l4ds_1x1s2_128-256_14", 128, 14, 14, 256, 1, 2, 0},
    {"ge_l4_3x3_256-256_7", 256, 7, 7, 256, 3, 1, 1},
};

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

enum pass { FWD, BWD_DATA, BWD_FILTER, FWD_RELU };
static const char *pass_name[] = {"fwd", "bwd_data", "bwd_filter", "fwd_relu"};

static double run_once(struct kern_ctx *ctx, enum pass p, const struct kern_conv2d *d, const float *x,
                       const float *w, const float *b, float *y, float *dx, float *dw, float *db, double *cpu)
{
    double t0 = time_now(), c0 = thread_cpu();
    switch (p) {
    case FWD: kern_conv2d_fwd(ctx, d, x, w, b, y); break;
    case BWD_DATA: kern_conv2d_bwd_data(ctx, d, y, w, dx); break;
    case BWD_FILTER: kern_conv2d_bwd_filter(ctx, d, x, y, dw, db); break;
    case FWD_RELU: kern_conv2d_fwd_act(ctx, d, x, w, b, KERN_ACT_RELU, 0.0f, y); break;
    }
    kern_sync(ctx);
    *cpu = thread_cpu() - c0;
    return time_now() - t0;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    int ref_max_batch = argc > 2 ? atoi(argv[2]) : 8;
    const char *only = argc > 3 ? argv[3] : "";
    int max_threads = argc > 4 ? atoi(argv[4]) : 2;
    bool fwd_only = argc > 5 && strcmp(argv[5], "fwd") == 0;
    static const int batches[] = {1, 8, 32};
    struct rng r;
    rng_seed(&r, 7);
    struct kern_info info;
    kern_query(&info);
    fprintf(stderr, "conv_bench: cpu isa %s, %d reps (median)\n", info.cpu_isa, reps);
    printf("impl\tlayer\tbatch\tthreads\tpass\tmedian_ms\tgflops\tcpu_ms\n");
    for (size_t li = 0; li < sizeof(layers) / sizeof(layers[0]); li++)
        for (int bi = 0; bi < 3; bi++) {
            const struct layer *L = &layers[li];
            if (!strstr(L->name, only))
                continue;
            struct kern_conv2d d = {.n = batches[bi], .c = L->c, .h = L->h, .w = L->w, .k = L->k, .r = L->r,
                                    .s = L->r, .stride_h = L->stride, .stride_w = L->stride, .pad_h = L->pad,
                                    .pad_w = L->pad, .dil_h = 1, .dil_w = 1, .groups = 1};
            kern_conv2d_init(&d);
            size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.k * d.oh * d.ow;
            size_t nw = (size_t)d.k * d.c * d.r * d.s;
            double flops = 2.0 * d.n * d.k * d.oh * d.ow * (double)d.c * d.r * d.s;
            float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), *b = malloc(d.k * sizeof(float));
            float *y = malloc(ny * sizeof(float)), *dx = calloc(nx, sizeof(float)), *dw = calloc(nw, sizeof(float));
            float *db = calloc(d.k, sizeof(float));
            for (size_t i = 0; i < nx; i++)
                x[i] = rng_float(&r) - 0.5f;
            for (size_t i = 0; i < nw; i++)
                w[i] = rng_float(&r) - 0.5f;
            for (int i = 0; i < d.k; i++)
                b[i] = rng_float(&r) - 0.5f;
            for (size_t i = 0; i < ny; i++)
                y[i] = rng_float(&r) - 0.5f;
            for (int impl = 0; impl < 2; impl++)
                for (int th = 1; th <= max_threads; th++) {
                    if (impl == 0 && (th > 1 || d.n > ref_max_batch))
                        continue; /* REF is single-threaded and slow */
                    struct kern_ctx *ctx = kern_create(impl ? KERN_BACKEND_CPU : KERN_BACKEND_REF, th);
                    for (int p = FWD; p <= FWD_RELU; p++) {
                        if (fwd_only ? p != FWD && p != FWD_RELU : p == FWD_RELU)
                            continue;
                        int n = impl == 0 ? (reps < 3 ? reps : 3) : reps;
                        double t[64], tc[64];
                        n = n > 64 ? 64 : n;
                        run_once(ctx, (enum pass)p, &d, x, w, b, y, dx, dw, db, &tc[0]); /* warm-up */
                        for (int i = 0; i < n; i++)
                            t[i] = run_once(ctx, (enum pass)p, &d, x, w, b, y, dx, dw, db, &tc[i]);
                        qsort(t, (size_t)n, sizeof(double), cmp_double);
                        qsort(tc, (size_t)n, sizeof(double), cmp_double);
                        double med = t[n / 2];
                        printf("%s\t%s\t%d\t%d\t%s\t%.3f\t%.1f\t", impl ? "cpu" : "ref", L->name, d.n, th,
                               pass_name[p], med * 1e3, flops / med / 1e9);
                        if (th == 1)
                            printf("%.3f\n", tc[n / 2] * 1e3);
                        else
                            printf("-\n");
                        fflush(stdout);
                    }
                    kern_destroy(ctx);
                }
            free(x); free(w); free(b); free(y); free(dx); free(dw); free(db);
        }
    return 0;
}
