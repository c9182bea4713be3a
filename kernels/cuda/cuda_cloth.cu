/* cuda_cloth.cu: the XPBD cloth substep operations on the GPU (kern_cloth_predict ...
 * kern_cloth_velocity) and the bending rest angles (kern_cloth_bend_rest): one thread per
 * vertex, per constraint of the colour being solved, per attachment or per hinge, each
 * calling the kfn_cloth.h function the reference loops of kernels/ref/ref_cloth.c call, so
 * both backends run the same arithmetic. Constraints of one call share no vertex, so
 * threads never write the same position: no atomics, and the result does not depend on the
 * launch geometry. The struct kern_cloth is passed to the kernels by value (its arrays are
 * device memory on this backend); every kernel runs on the context's stream. */
#include "kernels/cuda/kcuda.cuh"
#include "kernels/kfn_cloth.h"

/* one thread per vertex i in [0, nv) */
__global__ static void k_cloth_predict(struct kern_cloth c, float gx, float gy, float gz, float h)
{
    const float g[3] = {gx, gy, gz};   /* m/s^2 */
    KCUDA_FOR(i, (size_t)c.nv) kfn_cloth_predict((int)i, c.x, c.xprev, c.v, c.w, g, h);
}

/* one thread per distance constraint first + t, t in [0, count) */
__global__ static void k_cloth_stretch(struct kern_cloth c, int first, int count, float at)
{
    KCUDA_FOR(t, (size_t)count)
    {
        int e = first + (int)t;
        kfn_cloth_distance(c.edge[e * 2], c.edge[e * 2 + 1], c.edge_rest[e], at, c.edge_lambda + e, c.w, c.x);
    }
}

/* one thread per hinge first + t, t in [0, count) */
__global__ static void k_cloth_bend(struct kern_cloth c, int first, int count, float at)
{
    KCUDA_FOR(t, (size_t)count)
    {
        int b = first + (int)t;
        kfn_cloth_bend(c.bend + (size_t)b * 4, c.bend_rest[b], at, c.bend_lambda + b, c.w, c.x);
    }
}

/* one thread per attachment a in [0, na); attached vertices are distinct */
__global__ static void k_cloth_attach(struct kern_cloth c, float at)
{
    KCUDA_FOR(a, (size_t)c.na) kfn_cloth_attach(c.att[a], c.att_pos + a * 3, at, c.w, c.x);
}

/* one thread per vertex i in [0, nv) */
__global__ static void k_cloth_contact(struct kern_cloth c, float thickness, float mu_s, float mu_k, float push_max,
                                       float push_cap)
{
    KCUDA_FOR(i, (size_t)c.nv)
    kfn_cloth_contact((int)i, c.plane, thickness, mu_s, mu_k, push_max, push_cap, c.w, c.xprev, c.x);
}

/* one thread per vertex i in [0, nv) */
__global__ static void k_cloth_velocity(struct kern_cloth c, float h, float damping)
{
    KCUDA_FOR(i, (size_t)c.nv) kfn_cloth_velocity((int)i, c.x, c.xprev, c.v, h, damping);
}

/* one thread per hinge b in [0, nb) */
__global__ static void k_cloth_bend_rest(int nb, const int32_t *bend, const float *x, float *rest)
{
    KCUDA_FOR(b, (size_t)nb)
    {
        const int32_t *q = bend + b * 4;
        rest[b] = kfn_cloth_dihedral_angle(x + (size_t)q[0] * 3, x + (size_t)q[1] * 3, x + (size_t)q[2] * 3,
                                           x + (size_t)q[3] * 3, NULL);
    }
}

extern "C" {

void kcuda_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
    if (c->nv <= 0)
        return;
    k_cloth_predict<<<kcuda_blocks((size_t)c->nv), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, g[0], g[1], g[2], h);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    if (count <= 0)
        return;
    k_cloth_stretch<<<kcuda_blocks((size_t)count), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, first, count, at);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    if (count <= 0)
        return;
    k_cloth_bend<<<kcuda_blocks((size_t)count), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, first, count, at);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at)
{
    if (c->na <= 0)
        return;
    k_cloth_attach<<<kcuda_blocks((size_t)c->na), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, at);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                         float push_max, float push_cap)
{
    if (c->nv <= 0)
        return;
    k_cloth_contact<<<kcuda_blocks((size_t)c->nv), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, thickness, mu_s,
                                                                                         mu_k, push_max, push_cap);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
    if (c->nv <= 0)
        return;
    k_cloth_velocity<<<kcuda_blocks((size_t)c->nv), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(*c, h, damping);
    KCUDA_LAUNCHED();
}

void kcuda_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest)
{
    if (nb <= 0)
        return;
    k_cloth_bend_rest<<<kcuda_blocks((size_t)nb), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(nb, bend, x, rest);
    KCUDA_LAUNCHED();
}

}
