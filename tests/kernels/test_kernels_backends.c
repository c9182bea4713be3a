/* test_kernels_backends.c: every op of kernels.h on the CPU backend against the reference
 * backend, on random odd shapes (cases.h, compare.h), each at its per-op limit. While
 * kernels/cpu/ overrides nothing this compares REF with itself; every fast CPU kernel that
 * lands is then held to the same limits. Run with 1 and 2 threads: the fast path must not
 * depend on the thread count beyond its limit. */
#include "cases.h"
#include "check.h"

int main(void)
{
    struct kern_ctx *ref = kern_create(KERN_BACKEND_REF, 0);
    CHECK(ref != NULL);
    for (int threads = 1; threads <= 2; threads++) {
        struct kern_ctx *cpu = kern_create(KERN_BACKEND_CPU, threads);
        CHECK(cpu != NULL);
        if (!cpu || !ref)
            break;
        for (int i = 0; i < KERN_NCASES; i++) {
            double worst = 0.0;
            int fails = cmp_run_worst(cpu, ref, &kern_cases[i], 12, 1000 + (uint64_t)i, &worst);
            CHECK_MSG(fails == 0, "cpu(%d threads) vs ref: %s: %d failed comparisons", threads, kern_cases[i].name,
                      fails);
            if (threads == 1)
                fprintf(stderr, "%-24s worst normalized error %.2g (limit %.0e)\n", kern_cases[i].name, worst,
                        kern_cases[i].limit);
        }
        kern_destroy(cpu);
    }
    kern_destroy(ref);
    return check_result("test_kernels_backends");
}
