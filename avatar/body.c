/* body.c: the body of a phenotype: MakeHuman's macro rules, the arm pose, the body frame.
 *
 * Macro rules (as MakeHuman 1.1 defines them; the file names and macro.json give the
 * variables): each variable turns into factors that sum to one,
 *   gender  -> female 1-g, male g
 *   age     -> baby/child/young/old, piecewise linear with knots 0, 0.1875, 0.5, 1
 *   muscle  -> min max(0,1-2m), max max(0,2m-1), average the rest (same for weight)
 *   height  -> min max(0,1-2h), max max(0,2h-1) (average has no file)
 *   proportions -> uncommon max(0,1-2p), ideal max(0,2p-1) (regular has no file)
 * and a target's weight is the product of the factors its file name lists:
 * universal-<gender>-<age>-<muscle>-<weight>, <race>-<gender>-<age> (the race factor is the
 * ethnic weight, normalised to sum 1; one third each by default), height/...-<height>,
 * proportions/...-<proportions>. Breast (cup size, firmness) targets are left out: at their
 * default they are all zero.
 *
 * Frame: decimetres -> metres, feet on y = 0, skin bounds centred on x = z = 0, uniform
 * scale about the feet to the requested stature (all on the unposed body).
 *
 * Pose: linear blend skinning with the default rig. Every bone's head and tail are the
 * mean of base vertices (joint cubes), taken on the deformed unposed mesh, so the joints
 * follow the phenotype. A posed bone turns about its head; a bone's global transform is
 * its parent's composed with its own turn (parents first). A vertex moves by the weighted
 * sum of (G_b p - p) over its bones, so bones that do not move add exactly zero and a zero
 * pose leaves the mesh bit for bit. Skin, helpers and joint cubes all carry weights, so
 * garments cut from the helpers follow the pose. The posed body is then moved vertically so
 * its lowest skin point is on the floor.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void avatar_phenotype_default(struct avatar_phenotype *p)
{
    p->gender = p->age = p->muscle = p->weight = p->height = p->proportions = 0.5f;
    p->african = p->asian = p->caucasian = 0.0f;
}

/* Factors of a three-way variable: min, average, max. */
static void three_way(float v, float f[3])
{
    f[2] = fmaxf(0.0f, 2.0f * v - 1.0f);
    f[0] = fmaxf(0.0f, 1.0f - 2.0f * v);
    f[1] = 1.0f - f[0] - f[2];
}

static void age_factors(float a, float f[AV_NAGES])
{
    if (a < 0.5f) {
        f[3] = 0.0f;
        f[0] = fmaxf(0.0f, 1.0f - a / 0.1875f);
        f[2] = fmaxf(0.0f, (a - 0.1875f) / 0.3125f);
        f[1] = fmaxf(0.0f, fminf(1.0f, a / 0.1875f) - f[2]);
    } else {
        f[3] = 2.0f * a - 1.0f;
        f[2] = 1.0f - f[3];
        f[0] = f[1] = 0.0f;
    }
}

static void add_target(float *v, const struct av_target *t, float w)
{
    if (w == 0.0f || t->n == 0)
        return;
    const float s = w * 0.001f;
    for (int i = 0; i < t->n; i++) {
        float *p = v + (size_t)t->idx[i] * 3;
        p[0] += s * t->d[i * 3 + 0];
        p[1] += s * t->d[i * 3 + 1];
        p[2] += s * t->d[i * 3 + 2];
    }
}

void av_bone_ends(const struct avatar_model *m, const float *verts, int b, float head[3], float tail[3])
{
    const struct av_bone *bn = &m->bones[b];
    for (int k = 0; k < 3; k++) {
        float sh = 0, st = 0;
        for (int i = 0; i < bn->nhead; i++)
            sh += verts[(size_t)bn->head[i] * 3 + k];
        for (int i = 0; i < bn->ntail; i++)
            st += verts[(size_t)bn->tail[i] * 3 + k];
        head[k] = sh / (float)bn->nhead;
        tail[k] = st / (float)bn->ntail;
    }
}

void av_joint_pos(const struct avatar_model *m, const float *verts, enum av_joint j, float out[3])
{
    const float *p = verts + (size_t)m->joint_first[j] * 3;
    for (int k = 0; k < 3; k++) {
        float s = 0;
        for (int i = 0; i < 8; i++)
            s += p[i * 3 + k];
        out[k] = s / 8.0f;
    }
}

static enum tryon_status check_params(const struct avatar_body_params *p)
{
    const float ph[9] = {p->ph.gender, p->ph.age, p->ph.muscle, p->ph.weight, p->ph.height, p->ph.proportions,
                         p->ph.african, p->ph.asian, p->ph.caucasian};
    static const char *const names[9] = {"gender", "age", "muscle", "weight", "height", "proportions",
                                         "african", "asian", "caucasian"};
    for (int i = 0; i < 9; i++)
        if (!(ph[i] >= 0.0f && ph[i] <= 1.0f))
            return tryon_fail(TRYON_EINVAL, "avatar: phenotype %s = %g is outside [0,1]", names[i], (double)ph[i]);
    if (!(p->stature_m == 0.0f || (p->stature_m >= 0.5f && p->stature_m <= 2.6f)))
        return tryon_fail(TRYON_EINVAL, "avatar: stature_m = %g is outside {0} and [0.5, 2.6]", (double)p->stature_m);
    if (!(p->arm_down_deg >= -20.0f && p->arm_down_deg <= 60.0f))
        return tryon_fail(TRYON_EINVAL, "avatar: arm_down_deg = %g is outside [-20, 60]", (double)p->arm_down_deg);
    if (!(p->leg_spread_deg >= -5.0f && p->leg_spread_deg <= 20.0f))
        return tryon_fail(TRYON_EINVAL, "avatar: leg_spread_deg = %g is outside [-5, 20]", (double)p->leg_spread_deg);
    if (!(p->torso_turn_deg >= -30.0f && p->torso_turn_deg <= 30.0f))
        return tryon_fail(TRYON_EINVAL, "avatar: torso_turn_deg = %g is outside [-30, 30]", (double)p->torso_turn_deg);
    return TRYON_OK;
}

/* An affine map p -> r p + t (r row-major 3x3). */
struct xf { float r[9], t[3]; bool moves; };

/* Rotation by deg about the axis through pivot: axis 1 = y, 2 = z (counter-clockwise seen
   from the positive axis). */
static void rot_about(int axis, float deg, const float pivot[3], struct xf *x)
{
    const float a = deg * (float)M_PI / 180.0f, c = cosf(a), s = sinf(a);
    static const float id[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(x->r, id, sizeof id);
    if (axis == 1) {   /* (x,z) -> (c x + s z, -s x + c z) */
        x->r[0] = c, x->r[2] = s, x->r[6] = -s, x->r[8] = c;
    } else {           /* (x,y) -> (c x - s y, s x + c y) */
        x->r[0] = c, x->r[1] = -s, x->r[3] = s, x->r[4] = c;
    }
    for (int i = 0; i < 3; i++)
        x->t[i] = pivot[i] - (x->r[i * 3] * pivot[0] + x->r[i * 3 + 1] * pivot[1] + x->r[i * 3 + 2] * pivot[2]);
    x->moves = deg != 0.0f;
}

/* out = a after b (a(b(p))). */
static void xf_compose(const struct xf *a, const struct xf *b, struct xf *out)
{
    struct xf o;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            o.r[i * 3 + j] = a->r[i * 3] * b->r[j] + a->r[i * 3 + 1] * b->r[3 + j] + a->r[i * 3 + 2] * b->r[6 + j];
        o.t[i] = a->r[i * 3] * b->t[0] + a->r[i * 3 + 1] * b->t[1] + a->r[i * 3 + 2] * b->t[2] + a->t[i];
    }
    o.moves = a->moves || b->moves;
    *out = o;
}

enum tryon_status av_pose(const struct avatar_model *m, const struct avatar_body_params *p, float *v)
{
    struct xf *g = malloc((size_t)m->nbones * sizeof *g);
    if (!g)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the pose");
    /* each posed bone's own turn: axis, angle */
    float turn_axis[AV_MAX_BONES] = {0}, turn_deg[AV_MAX_BONES] = {0};
    const float arm = p->arm_down_deg, leg = p->leg_spread_deg, torso = 0.25f * p->torso_turn_deg;
    const float angles[AV_NPOSE_BONES] = {-arm, arm, leg, -leg, torso, torso, torso, torso};
    for (int i = 0; i < AV_NPOSE_BONES; i++) {
        turn_axis[m->pose_bone[i]] = i < AV_B_SPINE04 ? 2 : 1;
        turn_deg[m->pose_bone[i]] = angles[i];
    }
    for (int b = 0; b < m->nbones; b++) {
        float head[3], tail[3];
        av_bone_ends(m, v, b, head, tail);
        struct xf local;
        rot_about(turn_deg[b] != 0.0f ? (int)turn_axis[b] : 2, turn_deg[b], head, &local);
        if (m->bones[b].parent >= 0)
            xf_compose(&g[m->bones[b].parent], &local, &g[b]);
        else
            g[b] = local;
    }
    /* displacements from the rest positions (all heads were read above, before any move) */
    for (int i = 0; i < m->nv; i++) {
        float *q = v + (size_t)i * 3, d[3] = {0, 0, 0};
        for (int k = m->skin_start[i]; k < m->skin_start[i + 1]; k++) {
            const struct xf *x = &g[m->skin_bone[k]];
            if (!x->moves)
                continue;
            const float w = m->skin_w[k];
            for (int c = 0; c < 3; c++)
                d[c] += w * (x->r[c * 3] * q[0] + x->r[c * 3 + 1] * q[1] + x->r[c * 3 + 2] * q[2] + x->t[c] - q[c]);
        }
        q[0] += d[0], q[1] += d[1], q[2] += d[2];
    }
    free(g);
    float lo = INFINITY;
    for (int i = 0; i < m->nbody; i++)
        lo = fminf(lo, v[i * 3 + 1]);
    for (int i = 0; i < m->nv; i++)
        v[i * 3 + 1] -= lo;
    return TRYON_OK;
}

enum tryon_status av_deform_unposed(const struct avatar_model *m, const struct avatar_body_params *p, float *out)
{
    enum tryon_status st = check_params(p);
    if (st)
        return st;
    memcpy(out, m->base, (size_t)m->nv * 3 * sizeof *out);
    const struct avatar_phenotype *ph = &p->ph;
    float fg[2] = {1.0f - ph->gender, ph->gender};
    float fa[AV_NAGES], fm[3], fw[3], fh[3], fp[3];
    age_factors(ph->age, fa);
    three_way(ph->muscle, fm);
    three_way(ph->weight, fw);
    three_way(ph->height, fh);
    three_way(ph->proportions, fp);
    const float fh2[2] = {fh[0], fh[2]}, fp2[2] = {fp[0], fp[2]};
    /* ethnic weights: all zero = one third each (divided, as MakeHuman's default) */
    const float race_sum = ph->african + ph->asian + ph->caucasian;
    const float rs = race_sum > 0.0f ? race_sum : 1.0f;
    const float fr[AV_NRACES] = {ph->african / rs, ph->asian / rs, ph->caucasian / rs};
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < AV_NAGES; a++) {
            float ga = fg[g] * fa[a];
            if (ga == 0.0f)
                continue;
            for (int r = 0; r < AV_NRACES; r++)
                add_target(out, &m->race[r][g][a], race_sum > 0.0f ? ga * fr[r] : ga / AV_NRACES);
            for (int mu = 0; mu < 3; mu++)
                for (int w = 0; w < 3; w++) {
                    float gamw = ga * fm[mu] * fw[w];
                    if (gamw == 0.0f)
                        continue;
                    add_target(out, &m->universal[g][a][mu][w], gamw);
                    for (int k = 0; k < 2; k++) {
                        add_target(out, &m->height[g][a][mu][w][k], gamw * fh2[k]);
                        add_target(out, &m->prop[g][a][mu][w][k], gamw * fp2[k]);
                    }
                }
        }
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (int i = 0; i < m->nbody; i++)
        for (int k = 0; k < 3; k++) {
            lo[k] = fminf(lo[k], out[i * 3 + k]);
            hi[k] = fmaxf(hi[k], out[i * 3 + k]);
        }
    const float origin[3] = {0.5f * (lo[0] + hi[0]), lo[1], 0.5f * (lo[2] + hi[2])};
    float scale = 0.1f;   /* decimetres -> metres */
    if (p->stature_m > 0.0f)
        scale = p->stature_m / (hi[1] - lo[1]);
    for (int i = 0; i < m->nv; i++)
        for (int k = 0; k < 3; k++)
            out[i * 3 + k] = (out[i * 3 + k] - origin[k]) * scale;
    return TRYON_OK;
}

enum tryon_status av_deform(const struct avatar_model *m, const struct avatar_body_params *p, float *out)
{
    enum tryon_status s = av_deform_unposed(m, p, out);
    return s ? s : av_pose(m, p, out);
}

enum tryon_status avatar_body_build(const struct avatar_model *m, const struct avatar_body_params *p,
                                    struct avatar_mesh *out)
{
    memset(out, 0, sizeof *out);
    float *all = malloc((size_t)m->nv * 3 * sizeof *all);
    if (!all)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body");
    enum tryon_status s = av_deform(m, p, all);
    if (s) {
        free(all);
        return s;
    }
    out->nv = m->nbody;
    out->nt = m->nbt;
    out->pos = all;   /* the skin is the array's head; the helpers' tail is left unused */
    out->tri = malloc((size_t)m->nbt * 3 * sizeof *out->tri);
    if (!out->tri) {
        avatar_mesh_free(out);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body");
    }
    memcpy(out->tri, m->body_tri, (size_t)m->nbt * 3 * sizeof *out->tri);
    s = avatar_mesh_normals(out);
    if (s)
        avatar_mesh_free(out);
    return s;
}
