/* gemm_bench.c: SGEMM of the fast CPU backend (kernels/cpu/) on square and network-like
 * shapes, every ISA path this processor has, 1 and 2 threads: checks each result against
 * a double-precision naive product (normalized error) and prints the median GFLOP/s of
 * several runs. With 1 thread it also prints the median thread CPU time as GFLOP/s
 * ("cpu"), which stays meaningful when other processes share the cores (wall time then
 * includes the slices spent descheduled).
 *   gemm_bench [reps] [isa]   one line per (isa, shape, threads); isa limits to one path */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "kernels/cpu/kcpu.h"

static void naive(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k; p++)
                s += (double)(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                     (tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
            float *cc = c + (size_t)i * ldc + j;
            *cc = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *cc));
        }
}

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

struct shape { int m, n, k; bool ta, tb; const char *what; };

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    const char *only = argc > 2 ? argv[2] : NULL;
    const struct shape shapes[] = {
        {256, 256, 256, false, false, "square"},
        {512, 512, 512, false, false, "square"},
        {1024, 1024, 1024, false, false, "square"},
        {1536, 1536, 1536, false, false, "square"},
        {1024, 1024, 1024, true, true, "square tt"},
        {64, 1024, 288, false, false, "conv 32->64 3x3 32x32 fwd"},
        {32, 4096, 147, false, false, "conv 3->32 7x7 s2 128 fwd"},
        {128, 256, 576, false, false, "conv 64->128 3x3 s2 fwd"},
        {576, 1024, 64, true, false, "conv 32->64 bwd-data (W^T dY)"},
        {64, 288, 1024, false, true, "conv 32->64 bwd-filter (dY col^T)"},
        {32, 256, 512, false, true, "linear n=32 in=512 out=256"},
    };
    struct rng r;
    rng_seed(&r, 1);
    for (int isa = kcpu_isa_max(); isa >= 0; isa--) {
        if (only && strcmp(only, kcpu_isa_name((enum kcpu_isa)isa)) != 0)
            continue;
        kcpu_isa_force((enum kcpu_isa)isa);
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            const struct shape *sh = &shapes[s];
            int m = sh->m, n = sh->n, k = sh->k;
            int lda = sh->ta ? m : k, ldb = sh->tb ? k : n;
            float *a = aligned_alloc(64, sizeof(float) * ((size_t)m * k + 16));
            float *b = aligned_alloc(64, sizeof(float) * ((size_t)k * n + 16));
            float *c = aligned_alloc(64, sizeof(float) * ((size_t)m * n + 16));
            float *cr = malloc(sizeof(float) * (size_t)m * n);
            float *ws = aligned_alloc(64, sizeof(float) * (kcpu_gemm_ws(m, n, k, 2) + 16));
            for (size_t i = 0; i < (size_t)m * k; i++)
                a[i] = rng_float(&r) - 0.5f;
            for (size_t i = 0; i < (size_t)k * n; i++)
                b[i] = rng_float(&r) - 0.5f;
            double err = 0, ref = 0;
            if ((double)m * n * k <= 3e8) {
                naive(sh->ta, sh->tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, cr, n);
                kcpu_sgemm(2, sh->ta, sh->tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n, ws);
                for (size_t i = 0; i < (size_t)m * n; i++) {
                    err += (double)(c[i] - cr[i]) * (c[i] - cr[i]);
                    ref += (double)cr[i] * cr[i];
                }
            }
            for (int th = 1; th <= 2; th++) {
                double t[64], tc[64];
                int nrep = reps > 64 ? 64 : reps;
                for (int it = 0; it < nrep; it++) {
                    double t0 = time_now(), c0 = thread_cpu();
                    kcpu_sgemm(th, sh->ta, sh->tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n, ws);
                    t[it] = time_now() - t0;
                    tc[it] = thread_cpu() - c0;
                }
                qsort(t, (size_t)nrep, sizeof(double), cmp_double);
                qsort(tc, (size_t)nrep, sizeof(double), cmp_double);
                double fl = 2.0 * m * n * k;
                printf("%-8s %-36s m=%5d n=%5d k=%5d th=%d  wall %6.1f GFLOP/s", kcpu_isa_name((enum kcpu_isa)isa),
                       sh->what, m, n, k, th, fl / t[nrep / 2] / 1e9);
                if (th == 1)
                    printf("  cpu %6.1f GFLOP/s", fl / tc[nrep / 2] / 1e9);
                printf("  err=%.2e\n", ref > 0 ? sqrt(err / ref) : 0.0);
            }
            free(a); free(b); free(c); free(cr); free(ws);
        }
    }
    return 0;
}
