/* test_kernels_cuda.c: the CUDA backend against the reference, or its clean absence.
 *
 * With a GPU: every op of kernels.h (cases.h) on CUDA against REF at the per-op limits of
 * cases.h, and the same case run twice on CUDA must give identical bytes (deterministic
 * kernels, no atomics in the reductions). Without one (this build has no CUDA, or no
 * device/driver is present): kern_query reports zero devices (with the CUDA error code when
 * the runtime returned one), kern_create(KERN_BACKEND_CUDA) returns NULL with a message,
 * and the test says that the GPU checks were skipped. */
#include "cases.h"
#include "check.h"

int main(void)
{
    struct kern_info info;
    kern_query(&info);
    fprintf(stderr, "cuda built %d, devices %d, error %d, gpu '%s'\n", (int)info.cuda_built, info.cuda_devices,
            info.cuda_error, info.gpu_name);
    CHECK(info.cuda_devices >= 0);
    if (!info.cuda_built || info.cuda_devices == 0) {
        CHECK(info.cuda_devices == 0);
        CHECK(info.gpu_name[0] == '\0');
        tryon_errclear();
        struct kern_ctx *ctx = kern_create(KERN_BACKEND_CUDA, 0);
        CHECK(ctx == NULL);
        CHECK(tryon_errmsg()[0] != '\0');
        CHECK_CONTAINS(tryon_errmsg(), "CUDA");
        fprintf(stderr, "kern_create(cuda): %s\n", tryon_errmsg());
        fprintf(stderr, "test_kernels_cuda: no GPU here: GPU checks skipped\n");
        kern_destroy(ctx);
        return check_result("test_kernels_cuda");
    }
    struct kern_ctx *ref = kern_create(KERN_BACKEND_REF, 0);
    struct kern_ctx *cuda = kern_create(KERN_BACKEND_CUDA, 0);
    CHECK(ref != NULL);
    CHECK_MSG(cuda != NULL, "%s", tryon_errmsg());
    if (ref && cuda) {
        for (int i = 0; i < KERN_NCASES; i++) {
            double worst = 0.0;
            int fails = cmp_run_worst(cuda, ref, &kern_cases[i], 12, 5000 + (uint64_t)i, &worst);
            CHECK_MSG(fails == 0, "cuda vs ref: %s: %d failed comparisons", kern_cases[i].name, fails);
            fprintf(stderr, "%-24s worst normalized error %.2g (limit %.0e)\n", kern_cases[i].name, worst,
                    kern_cases[i].limit);
            /* determinism: CUDA against itself must be exact */
            struct cmp_case same = kern_cases[i];
            same.limit = 0.0;
            CHECK_MSG(cmp_run(cuda, cuda, &same, 3, 9000 + (uint64_t)i) == 0, "cuda not deterministic: %s",
                      kern_cases[i].name);
        }
    }
    kern_destroy(cuda);
    kern_destroy(ref);
    return check_result("test_kernels_cuda");
}
