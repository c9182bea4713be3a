/* cloth.c: the fast CPU backend's cloth substep operations: each calls the variant of
 * cloth_impl.h compiled for the instruction set kcpu_isa() names at the time of the call
 * (all variants give the reference bytes). The attachments and the bending rest angles,
 * run once per call or per drape, stay the reference loops. */
#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

extern const struct kern_ops kcpu_cloth_ops_generic, kcpu_cloth_ops_avx2, kcpu_cloth_ops_avx512;

static const struct kern_ops *cloth(void)
{
    switch (kcpu_isa()) {
    case KCPU_AVX512: return &kcpu_cloth_ops_avx512;
    case KCPU_AVX2: return &kcpu_cloth_ops_avx2;
    default: return &kcpu_cloth_ops_generic;
    }
}

static void predict(struct kern_ctx *ctx, const struct kern_cloth *c, const float g[3], float h)
{
    cloth()->cloth_predict(ctx, c, g, h);
}

static void stretch(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    cloth()->cloth_stretch(ctx, c, first, count, at);
}

static void bend(struct kern_ctx *ctx, const struct kern_cloth *c, int first, int count, float at)
{
    cloth()->cloth_bend(ctx, c, first, count, at);
}

static void contact(struct kern_ctx *ctx, const struct kern_cloth *c, float thickness, float mu_s, float mu_k,
                    float push_max, float push_cap)
{
    cloth()->cloth_contact(ctx, c, thickness, mu_s, mu_k, push_max, push_cap);
}

static void velocity(struct kern_ctx *ctx, const struct kern_cloth *c, float h, float damping)
{
    cloth()->cloth_velocity(ctx, c, h, damping);
}

void kern_cpu_fill_cloth(struct kern_ops *ops)
{
    ops->cloth_predict = predict;
    ops->cloth_stretch = stretch;
    ops->cloth_bend = bend;
    ops->cloth_contact = contact;
    ops->cloth_velocity = velocity;
}
