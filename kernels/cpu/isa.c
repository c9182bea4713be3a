/* isa.c: which instruction set the fast CPU path uses. Detected once with
 * __builtin_cpu_supports (AVX-512 needs F, BW, VL and the OS-enabled state gcc checks;
 * AVX2 needs FMA too); TRYON_CPU_ISA=avx512|avx2|generic forces a narrower path so every
 * path can be tested on one machine. */
#include "kernels/cpu/kcpu.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static int isa_cur = -1; /* -1 until first use */

enum kcpu_isa kcpu_isa_max(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
        return KCPU_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return KCPU_AVX2;
    return KCPU_GENERIC;
}

const char *kcpu_isa_name(enum kcpu_isa isa)
{
    switch (isa) {
    case KCPU_AVX512: return "avx512";
    case KCPU_AVX2: return "avx2";
    default: return "generic";
    }
}

enum kcpu_isa kcpu_isa(void)
{
    int cur = __atomic_load_n(&isa_cur, __ATOMIC_ACQUIRE);
    if (cur >= 0)
        return (enum kcpu_isa)cur;
    enum kcpu_isa best = kcpu_isa_max(), pick = best;
    const char *env = getenv("TRYON_CPU_ISA");
    if (env && *env) {
        enum kcpu_isa want = best;
        if (strcmp(env, "avx512") == 0)
            want = KCPU_AVX512;
        else if (strcmp(env, "avx2") == 0)
            want = KCPU_AVX2;
        else if (strcmp(env, "generic") == 0)
            want = KCPU_GENERIC;
        else
            log_warn("TRYON_CPU_ISA=%s is not avx512|avx2|generic; using %s", env, kcpu_isa_name(best));
        if (want > best)
            log_warn("TRYON_CPU_ISA=%s is not supported by this processor; using %s", env, kcpu_isa_name(best));
        else
            pick = want;
    }
    __atomic_store_n(&isa_cur, (int)pick, __ATOMIC_RELEASE);
    return pick;
}

void kcpu_isa_force(enum kcpu_isa isa)
{
    assert(isa <= kcpu_isa_max());
    __atomic_store_n(&isa_cur, (int)isa, __ATOMIC_RELEASE);
}
