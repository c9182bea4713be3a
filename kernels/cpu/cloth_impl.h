/* cloth_impl.h: the fast CPU backend's cloth substep operations, as a template compiled
 * once per instruction set (cloth_generic.c, cloth_avx2.c, cloth_avx512.c, each with its
 * ISA's flags; cloth.c calls the variant kcpu_isa() names).
 *
 * The per-element math is kernels/kfn_cloth.h's (the functions REF and CUDA call). The
 * hinges of one bending call (one colour) share no vertex, so they run in batches of BATCH:
 * a vector loop computes every hinge's step from the positions (kfn_cloth_bend_dl: some
 * two hundred operations on twelve gathered coordinates, no stores to x, so it vectorizes),
 * then a plain loop stores the new places (kfn_cloth_bend_apply). That is the sequential
 * result bit for bit: no variant contracts a*b+c into an FMA (-ffp-contract=off), vector
 * square roots and divisions round as scalar ones do, and batches go to OpenMP threads
 * whole, so the bytes depend neither on the ISA nor on the thread count. A distance
 * constraint is too little arithmetic for its six gathers and six scattered updates to
 * gain from that: the stretch stays one plain loop. Small calls stay on one thread.
 *
 * The including file defines KCPU_FN(name) (the variant's names) first; the only external
 * symbol is the table KCPU_FN(cloth_ops). */
#include "kernels/backend.h"
#include "kernels/kfn_cloth.h"

#ifndef KCPU_FN
#error "define KCPU_FN(name) before including cloth_impl.h"
#endif

#define CLOTH_PAR 2048   /* elements below which a call runs on one thread */
#define BATCH 64         /* constraints computed by one vector loop before they are applied */

static int nthreads(const struct kern_ctx *ctx, int n) { return n >= CLOTH_PAR ? ctx->threads : 1; }

static void KCPU_FN(predict)(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
    int nt = nthreads(ctx, c->nv);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_predict(i, c->x, c->xprev, c->v, c->w, g, h);
}

static void KCPU_FN(stretch)(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    int nt = nthreads(ctx, count);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int e = first; e < first + count; e++)
        kfn_cloth_distance(c->edge[e * 2], c->edge[e * 2 + 1], c->edge_rest[e], at, c->edge_lambda + e, c->w, c->x);
}

static void KCPU_FN(bend)(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    int nt = nthreads(ctx, count), nbatch = (count + BATCH - 1) / BATCH;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int bi = 0; bi < nbatch; bi++) {
        int b0 = first + bi * BATCH, n = first + count - b0 < BATCH ? first + count - b0 : BATCH;
        float xn[12 * BATCH], dl[BATCH];   /* (12, BATCH) the four points' new places, (BATCH) multiplier steps */
        const int32_t *q = c->bend + (size_t)b0 * 4;
        const float *rest = c->bend_rest + b0, *w = c->w, *x = c->x;
        float *lambda = c->bend_lambda + b0;
#pragma omp simd
        for (int j = 0; j < n; j++)
            dl[j] = kfn_cloth_bend_dl(q + j * 4, rest[j], at, lambda[j], w, x, xn + j, BATCH);
        for (int j = 0; j < n; j++)
            kfn_cloth_bend_apply(q + j * 4, dl[j], xn + j, BATCH, lambda + j, c->x);
    }
}

static void KCPU_FN(contact)(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                             float push_max, float push_cap)
{
    int nt = nthreads(ctx, c->nv);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_contact(i, c->plane, thickness, mu_s, mu_k, push_max, push_cap, c->w, c->xprev, c->x);
}

static void KCPU_FN(velocity)(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
    int nt = nthreads(ctx, c->nv);
#pragma omp parallel for simd num_threads(nt) schedule(static) if (parallel : nt > 1)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_velocity(i, c->x, c->xprev, c->v, h, damping);
}

const struct kern_ops KCPU_FN(cloth_ops) = {
    .cloth_predict = KCPU_FN(predict),
    .cloth_stretch = KCPU_FN(stretch),
    .cloth_bend = KCPU_FN(bend),
    .cloth_contact = KCPU_FN(contact),
    .cloth_velocity = KCPU_FN(velocity),
};
