/* ops_bench.c: the memory-bound ops of a training step on the REF and CPU backends, on
 * an activation of batch 32 x 64 channels x 32x32 (8 MiB): batch norm (train forward,
 * backward), ReLU / leaky ReLU / sigmoid forward and ReLU backward, 3x3 s2 max pooling,
 * x2 bilinear upsampling, and AdamW over 1M parameters. Prints tab-separated lines
 *   impl  op  threads  median_ms  gb_per_s  cpu_ms
 * (gb_per_s counts the bytes each op must read and write once; cpu_ms is the calling
 * thread's CPU time, 1 thread only), the format of torch_ops.py.
 *   ops_bench [reps] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/common.h"
#include "kernels/kernels.h"

enum { N = 32, C = 64, H = 32, W = 32 };
#define NX ((size_t)N * C * H * W)
#define NP ((size_t)1 << 20)

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

struct bufs {
    float *x, *y, *dy, *dx, *gamma, *beta, *mean, *invstd, *rm, *rv, *dg, *db, *up, *p, *g, *m, *v;
    int32_t *arg;
    struct kern_pool2d pool;
};

/* Runs op `i` once; returns its name and the bytes it moves. */
static const char *run_op(struct kern_ctx *ctx, int i, struct bufs *B, double *bytes)
{
    const double f = sizeof(float);
    size_t ny = (size_t)N * C * B->pool.oh * B->pool.ow;
    switch (i) {
    case 0:
        kern_bn_fwd_train(ctx, N, C, H * W, B->x, B->gamma, B->beta, 1e-5f, 0.1f, B->rm, B->rv, B->mean, B->invstd,
                          B->y);
        *bytes = 3 * NX * f; /* read x for the statistics, read it again and write y */
        return "bn_fwd_train";
    case 1:
        kern_bn_bwd(ctx, N, C, H * W, B->dy, B->x, B->gamma, B->mean, B->invstd, B->dx, B->dg, B->db);
        *bytes = 6 * NX * f; /* read dy, x for the sums; read dy, x, dx and write dx */
        return "bn_bwd";
    case 2:
        kern_act_fwd(ctx, KERN_ACT_RELU, 0, NX, B->x, B->y);
        *bytes = 2 * NX * f;
        return "relu_fwd";
    case 3:
        kern_act_bwd(ctx, KERN_ACT_RELU, 0, NX, B->x, B->y, B->dy, B->dx);
        *bytes = 4 * NX * f;
        return "relu_bwd";
    case 4:
        kern_act_fwd(ctx, KERN_ACT_LEAKY_RELU, 0.2f, NX, B->x, B->y);
        *bytes = 2 * NX * f;
        return "leaky_relu_fwd";
    case 5:
        kern_act_fwd(ctx, KERN_ACT_SIGMOID, 0, NX, B->x, B->y);
        *bytes = 2 * NX * f;
        return "sigmoid_fwd";
    case 6:
        kern_maxpool2d_fwd(ctx, &B->pool, B->x, B->y, B->arg);
        *bytes = NX * f + 2 * ny * f;
        return "maxpool3x3s2_fwd";
    case 7:
        kern_maxpool2d_bwd(ctx, &B->pool, B->dy, B->arg, B->dx);
        *bytes = 2 * NX * f + 2 * ny * f;
        return "maxpool3x3s2_bwd";
    case 8:
        kern_upsample_bilinear_fwd(ctx, N, C, H, W, 2 * H, 2 * W, B->x, B->up);
        *bytes = 5 * NX * f;
        return "bilinear_x2_fwd";
    default: {
        struct kern_adamw h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 10};
        kern_adamw_step(ctx, &h, NP, B->p, B->g, B->m, B->v);
        *bytes = 7 * NP * f;
        return "adamw_1M";
    }
    }
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    struct rng r;
    rng_seed(&r, 3);
    struct bufs B;
    float **fl[] = {&B.x, &B.y, &B.dy, &B.dx};
    for (int i = 0; i < 4; i++) {
        *fl[i] = malloc(NX * sizeof(float));
        for (size_t j = 0; j < NX; j++)
            (*fl[i])[j] = rng_float(&r) * 4.0f - 2.0f;
    }
    float **ch[] = {&B.gamma, &B.beta, &B.mean, &B.invstd, &B.rm, &B.rv, &B.dg, &B.db};
    for (int i = 0; i < 8; i++) {
        *ch[i] = malloc(C * sizeof(float));
        for (int j = 0; j < C; j++)
            (*ch[i])[j] = 0.5f + rng_float(&r);
    }
    B.up = malloc(NX * 4 * sizeof(float));
    float **pr[] = {&B.p, &B.g, &B.m, &B.v};
    for (int i = 0; i < 4; i++) {
        *pr[i] = malloc(NP * sizeof(float));
        for (size_t j = 0; j < NP; j++)
            (*pr[i])[j] = rng_float(&r) * 0.01f;
    }
    B.pool = (struct kern_pool2d){.n = N, .c = C, .h = H, .w = W, .r = 3, .s = 3, .stride_h = 2, .stride_w = 2,
                                  .pad_h = 1, .pad_w = 1};
    kern_pool2d_init(&B.pool);
    B.arg = malloc((size_t)N * C * B.pool.oh * B.pool.ow * sizeof(int32_t));

    printf("impl\top\tthreads\tmedian_ms\tgb_per_s\tcpu_ms\n");
    for (int impl = 0; impl < 2; impl++)
        for (int th = 1; th <= 2; th++) {
            if (impl == 0 && th > 1)
                continue;
            struct kern_ctx *ctx = kern_create(impl ? KERN_BACKEND_CPU : KERN_BACKEND_REF, th);
            for (int op = 0; op < 10; op++) {
                double t[64], tc[64], bytes = 0;
                int n = reps > 64 ? 64 : reps;
                const char *name = run_op(ctx, op, &B, &bytes);
                for (int i = 0; i < n; i++) {
                    double t0 = time_now(), c0 = thread_cpu();
                    run_op(ctx, op, &B, &bytes);
                    tc[i] = thread_cpu() - c0;
                    t[i] = time_now() - t0;
                }
                qsort(t, (size_t)n, sizeof(double), cmp_double);
                qsort(tc, (size_t)n, sizeof(double), cmp_double);
                printf("%s\t%s\t%d\t%.3f\t%.1f\t", impl ? "cpu" : "ref", name, th, t[n / 2] * 1e3,
                       bytes / t[n / 2] / 1e9);
                if (th == 1)
                    printf("%.3f\n", tc[n / 2] * 1e3);
                else
                    printf("-\n");
                fflush(stdout);
            }
            kern_destroy(ctx);
        }
    return 0;
}
