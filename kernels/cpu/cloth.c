/* cloth.c: the fast CPU backend's cloth substep operations: the reference loops of
 * kernels/ref/ref_cloth.c split over OpenMP threads. Each element is computed by its
 * kfn_cloth.h function and the constraints of one call share no vertex, so the result is
 * bit for bit the reference one for any thread count. Small batches stay on one thread. */
#include "kernels/backend.h"
#include "kernels/cpu/kcpu.h"
#include "kernels/kfn_cloth.h"

#define CLOTH_PAR 2048   /* elements below which a call runs on one thread */

static void predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
#pragma omp parallel for num_threads(ctx->threads) if (ctx->threads > 1 && c->nv >= CLOTH_PAR) schedule(static)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_predict(i, c->x, c->xprev, c->v, c->w, g, h);
}

static void stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
#pragma omp parallel for num_threads(ctx->threads) if (ctx->threads > 1 && count >= CLOTH_PAR) schedule(static)
    for (int e = first; e < first + count; e++)
        kfn_cloth_distance(c->edge[e * 2], c->edge[e * 2 + 1], c->edge_rest[e], at, c->edge_lambda + e, c->w, c->x);
}

static void bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
#pragma omp parallel for num_threads(ctx->threads) if (ctx->threads > 1 && count >= CLOTH_PAR) schedule(static)
    for (int b = first; b < first + count; b++)
        kfn_cloth_bend(c->bend + (size_t)b * 4, c->bend_rest[b], at, c->bend_lambda + b, c->w, c->x);
}

static void contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k, float push_cap)
{
#pragma omp parallel for num_threads(ctx->threads) if (ctx->threads > 1 && c->nv >= CLOTH_PAR) schedule(static)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_contact(i, c->plane, thickness, mu_s, mu_k, push_cap, c->w, c->xprev, c->x);
}

static void velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
#pragma omp parallel for num_threads(ctx->threads) if (ctx->threads > 1 && c->nv >= CLOTH_PAR) schedule(static)
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_velocity(i, c->x, c->xprev, c->v, h, damping);
}

void kern_cpu_fill_cloth(struct kern_ops *ops)
{
    ops->cloth_predict = predict;
    ops->cloth_stretch = stretch;
    ops->cloth_bend = bend;
    ops->cloth_contact = contact;
    ops->cloth_velocity = velocity;
}
