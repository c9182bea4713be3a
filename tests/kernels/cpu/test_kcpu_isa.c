/* test_kcpu_isa.c: the TRYON_CPU_ISA override of the fast CPU backend.
 *   test_kcpu_isa REQUEST
 * sets TRYON_CPU_ISA=REQUEST before the backend first looks, then checks that the path in
 * use is REQUEST when this processor has it, else the widest it has (also for a name that
 * is no ISA), that kern_query and kern_cpu_isa report it, and that a GEMM run through the
 * public API on that path matches a double-precision product. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/cpu/kcpu.h"
#include "kernels/kernels.h"

int main(int argc, char **argv)
{
    const char *req = argc > 1 ? argv[1] : "generic";
    setenv("TRYON_CPU_ISA", req, 1);
    enum kcpu_isa max = kcpu_isa_max(), want = max;
    if (strcmp(req, "generic") == 0)
        want = KCPU_GENERIC;
    else if (strcmp(req, "avx2") == 0 && max >= KCPU_AVX2)
        want = KCPU_AVX2;
    else if (strcmp(req, "avx512") == 0 && max >= KCPU_AVX512)
        want = KCPU_AVX512;

    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 2);
    CHECK(ctx != NULL);
    if (!ctx)
        return check_result("test_kcpu_isa");
    struct kern_info info;
    kern_query(&info);
    CHECK_STR(info.cpu_isa, kcpu_isa_name(want));
    CHECK_EQ_INT(kcpu_isa(), want);
    fprintf(stderr, "TRYON_CPU_ISA=%s -> %s (widest here %s), register tile %dx%d\n", req, info.cpu_isa,
            kcpu_isa_name(max), kcpu_gemm_arch(kcpu_isa())->mr, kcpu_gemm_arch(kcpu_isa())->nr);

    /* C (m,n) = A (m,k) B^T with B stored (n,k): sizes not multiples of any tile. */
    enum { M = 37, N = 71, K = 300 };
    float *a = kern_alloc(ctx, (size_t)M * K), *b = kern_alloc(ctx, (size_t)N * K), *c = kern_alloc(ctx, (size_t)M * N);
    struct rng r;
    rng_seed(&r, 42);
    for (int i = 0; i < M * K; i++)
        a[i] = rng_float(&r) - 0.5f;
    for (int i = 0; i < N * K; i++)
        b[i] = rng_float(&r) - 0.5f;
    kern_gemm(ctx, false, true, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    double err = 0.0, nrm = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int p = 0; p < K; p++)
                s += (double)a[i * K + p] * b[j * K + p];
            err += (c[i * N + j] - s) * (c[i * N + j] - s);
            nrm += s * s;
        }
    CHECK_NEAR(sqrt(err / nrm), 0.0, 1e-6);
    kern_release(ctx, a);
    kern_release(ctx, b);
    kern_release(ctx, c);
    kern_destroy(ctx);
    return check_result("test_kcpu_isa");
}
