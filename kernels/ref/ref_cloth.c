/* ref_cloth.c: the reference cloth substep operations and bending rest angles: plain loops
 * over vertices, over a colour's constraints or over hinges, each element computed by its
 * kfn_cloth.h function. The fast CPU backend (kernels/cpu/cloth_impl.h) runs the same
 * functions on OpenMP threads, the bending in vectorized batches (the attachments and the
 * rest angles, run once per call or per drape, stay these loops there). */
#include "kernels/kfn_cloth.h"
#include "kernels/ref/ref.h"

void kern_ref_cloth_predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
    (void)ctx;
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_predict(i, c->x, c->xprev, c->v, c->w, g, h);
}

void kern_ref_cloth_stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    (void)ctx;
    for (int e = first; e < first + count; e++)
        kfn_cloth_distance(c->edge[e * 2], c->edge[e * 2 + 1], c->edge_rest[e], at, c->edge_lambda + e, c->w, c->x);
}

void kern_ref_cloth_bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    (void)ctx;
    for (int b = first; b < first + count; b++)
        kfn_cloth_bend(c->bend + (size_t)b * 4, c->bend_rest[b], at, c->bend_lambda + b, c->w, c->x);
}

void kern_ref_cloth_attach(struct kern_ctx *ctx, const struct kern_cloth *c, float at)
{
    (void)ctx;
    for (int a = 0; a < c->na; a++)
        kfn_cloth_attach(c->att[a], c->att_pos + (size_t)a * 3, at, c->w, c->x);
}

void kern_ref_cloth_contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                            float push_max, float push_cap)
{
    (void)ctx;
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_contact(i, c->plane, thickness, mu_s, mu_k, push_max, push_cap, c->w, c->xprev, c->x);
}

void kern_ref_cloth_velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
    (void)ctx;
    for (int i = 0; i < c->nv; i++)
        kfn_cloth_velocity(i, c->x, c->xprev, c->v, h, damping);
}

void kern_ref_cloth_bend_rest(struct kern_ctx *ctx, int nb, const int32_t *bend, const float *x, float *rest)
{
    (void)ctx;
    for (int b = 0; b < nb; b++) {
        const int32_t *q = bend + (size_t)b * 4;
        rest[b] = kfn_cloth_dihedral_angle(x + (size_t)q[0] * 3, x + (size_t)q[1] * 3, x + (size_t)q[2] * 3,
                                           x + (size_t)q[3] * 3, NULL);
    }
}
