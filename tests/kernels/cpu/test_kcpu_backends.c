/* test_kcpu_backends.c: the fast CPU backend against the reference, on every instruction
 * set path this processor has (AVX-512, AVX2, generic; forced in-process), and against
 * itself across thread counts.
 *
 * For every case (tests/kernels/cases.h: each op on small odd shapes; kcpu_cases.h: the
 * large shapes that reach blocking, chunking and threading) and trial, the reference runs
 * once; then on each ISA the CPU backend with 2 threads must be within the case's
 * normalized-error limit of it, and the CPU backend with 1 thread must give exactly the
 * same bits as with 2 (determinism); the fused conv + activation must give the bits of
 * conv then activation. Forward outputs are prefilled with different junk on
 * every run, so an element a kernel forgets to write shows up. */
#include "check.h"
#include "kernels/cases.h"
#include "kernels/cpu/kcpu.h"
#include "kcpu_cases.h"

/* Compare every output of a against b; limit 0 asks for identical bits. Returns the
 * number of failures, prints each, and raises *worst. */
static int compare(const struct cmp_env *a, const struct cmp_env *b, const char *what, const char *isa,
                   double limit, double *worst)
{
    int fails = 0;
    if (a->nout != b->nout) {
        fprintf(stderr, "%s [%s]: %d outputs vs %d\n", what, isa, a->nout, b->nout);
        return 1;
    }
    for (int i = 0; i < a->nout; i++) {
        const struct cmp_result *ra = &a->outs[i], *rb = &b->outs[i];
        double err;
        if (ra->kind == CMP_I32) {
            err = memcmp(ra->i, rb->i, ra->n * sizeof(int32_t)) ? 1.0 : 0.0;
        } else if (limit == 0.0) {
            err = memcmp(ra->f, rb->f, ra->n * sizeof(float)) ? 1.0 : 0.0;
        } else if (ra->kind == CMP_SCALAR) {
            err = fabs((double)ra->f[0] - rb->f[0]) / (fabs((double)rb->f[0]) + 1e-30);
        } else {
            err = cmp_nerr(ra->f, rb->f, ra->n);
        }
        if (!(err <= limit)) {
            fprintf(stderr, "%s [%s] (%s): %s: error %.3g > limit %.3g\n", what, isa, a->note, ra->name, err, limit);
            fails++;
        }
        if (err > *worst || err != err)
            *worst = err;
    }
    return fails;
}

static void run_case(struct kern_ctx *ref, struct kern_ctx *cpu1, struct kern_ctx *cpu2, const struct cmp_case *c,
                     int trials, uint64_t seed)
{
    double worst[3] = {0, 0, 0}, worst_det = 0.0;
    for (int t = 0; t < trials; t++) {
        uint64_t s = hash_mix64(seed + (uint64_t)t * 0x9e3779b97f4a7c15ULL);
        struct cmp_env er;
        cmp_exec(&er, ref, c, s, s ^ 0x1111);
        for (int isa = kcpu_isa_max(); isa >= KCPU_GENERIC; isa--) {
            kcpu_isa_force((enum kcpu_isa)isa);
            const char *name = kcpu_isa_name((enum kcpu_isa)isa);
            struct cmp_env e2, e1;
            cmp_exec(&e2, cpu2, c, s, s ^ 0x2222);
            cmp_exec(&e1, cpu1, c, s, s ^ 0x3333);
            int f = compare(&e2, &er, c->name, name, c->limit, &worst[isa]);
            CHECK_MSG(f == 0, "%s [%s] trial %d: cpu (2 threads) vs ref", c->name, name, t);
            f = compare(&e1, &e2, c->name, name, 0.0, &worst_det);
            CHECK_MSG(f == 0, "%s [%s] trial %d: cpu 1 thread vs 2 threads not bit-identical", c->name, name, t);
            cmp_env_free(&e1);
            cmp_env_free(&e2);
        }
        cmp_env_free(&er);
    }
    fprintf(stderr, "%-22s worst normalized error vs ref: avx512 %.2g avx2 %.2g generic %.2g (limit %.0e)\n",
            c->name, worst[KCPU_AVX512], worst[KCPU_AVX2], worst[KCPU_GENERIC], c->limit);
}

/* On every ISA path, the fused conv + activation gives exactly the bits of the CPU conv
 * followed by the CPU activation (the fusion moves the bias and ReLU into the GEMM's
 * write-back without changing any arithmetic), on shapes from both case sets. */
static void check_fused_exact(struct kern_ctx *cpu, int trials, uint64_t seed)
{
    for (int t = 0; t < trials; t++)
        for (int isa = kcpu_isa_max(); isa >= KCPU_GENERIC; isa--) {
            kcpu_isa_force((enum kcpu_isa)isa);
            struct cmp_env e;
            memset(&e, 0, sizeof e);
            e.ctx = cpu;
            rng_seed(&e.data, seed + (uint64_t)t);
            rng_seed(&e.junk, seed + 1000 + (uint64_t)t);
            struct kern_conv2d d = t % 2 ? kc_conv_shape(&e, false) : case_conv_shape(&e, false);
            size_t nx = nx_of(&d), ny = ny_of(&d), nw = nw_of(&d);
            bool bias = cmp_int(&e, 0, 1);
            enum kern_act act = (enum kern_act)cmp_int(&e, 0, 3);
            float slope = cmp_unif(&e, 0.01f, 0.3f);
            const float *x = cmp_in(&e, nx, -1, 1), *w = cmp_in(&e, nw, -1, 1);
            const float *b = bias ? cmp_in(&e, d.k, -1, 1) : NULL;
            float *fused = cmp_tmp(&e, ny), *two = cmp_tmp(&e, ny);
            kern_conv2d_fwd_act(cpu, &d, x, w, b, act, slope, fused);
            kern_conv2d_fwd(cpu, &d, x, w, b, two);
            kern_act_fwd(cpu, act, slope, ny, two, two);
            CHECK_MSG(memcmp(fused, two, ny * sizeof(float)) == 0, "[%s] %s act %d bias %d: fused != conv then act",
                      kcpu_isa_name((enum kcpu_isa)isa), e.note, (int)act, (int)bias);
            for (int i = 0; i < e.nbuf; i++)
                kern_release(cpu, e.bufs[i]);
        }
}

int main(void)
{
    struct kern_ctx *ref = kern_create(KERN_BACKEND_REF, 1);
    struct kern_ctx *cpu1 = kern_create(KERN_BACKEND_CPU, 1), *cpu2 = kern_create(KERN_BACKEND_CPU, 2);
    CHECK(ref && cpu1 && cpu2);
    if (!ref || !cpu1 || !cpu2)
        return check_result("test_kcpu_backends");
    fprintf(stderr, "widest ISA here: %s\n", kcpu_isa_name(kcpu_isa_max()));
    for (int i = 0; i < KERN_NCASES; i++)
        run_case(ref, cpu1, cpu2, &kern_cases[i], 8, 7000 + (uint64_t)i);
    for (int i = 0; i < KC_NCASES; i++)
        run_case(ref, cpu1, cpu2, &kc_cases[i].c, kc_cases[i].trials, 9000 + (uint64_t)i);
    check_fused_exact(cpu2, 16, 12000);
    kern_destroy(cpu2);
    kern_destroy(cpu1);
    kern_destroy(ref);
    return check_result("test_kcpu_backends");
}
