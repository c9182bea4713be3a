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
 * universal-<gender>-<age>-<muscle>-<weight>, <race>-<gender>-<age> (race fixed at one third
 * each, MakeHuman's default), height/...-<height>, proportions/...-<proportions>. Breast
 * (cup size, firmness) targets are left out: at their default they are all zero.
 *
 * Arm pose: each arm rotates about its shoulder joint cube in the frontal (x,y) plane, the
 * hand toward the hip, blended per vertex by the rig's arm weight (upper arm .. fingers), so
 * the shoulder bends smoothly. Then decimetres -> metres, feet on y = 0, skin bounds centred
 * on x = z = 0, uniform scale about the feet to the requested stature.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void avatar_phenotype_default(struct avatar_phenotype *p)
{
    p->gender = p->age = p->muscle = p->weight = p->height = p->proportions = 0.5f;
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
    const float *ph = &p->ph.gender;
    static const char *const names[6] = {"gender", "age", "muscle", "weight", "height", "proportions"};
    for (int i = 0; i < 6; i++)
        if (!(ph[i] >= 0.0f && ph[i] <= 1.0f))
            return tryon_fail(TRYON_EINVAL, "avatar: phenotype %s = %g is outside [0,1]", names[i], (double)ph[i]);
    if (!(p->stature_m == 0.0f || (p->stature_m >= 0.5f && p->stature_m <= 2.6f)))
        return tryon_fail(TRYON_EINVAL, "avatar: stature_m = %g is outside {0} and [0.5, 2.6]", (double)p->stature_m);
    if (!(p->arm_down_deg >= -20.0f && p->arm_down_deg <= 60.0f))
        return tryon_fail(TRYON_EINVAL, "avatar: arm_down_deg = %g is outside [-20, 60]", (double)p->arm_down_deg);
    return TRYON_OK;
}

/* Rotate the arms about the shoulder joints (in place, decimetres). */
static void pose_arms(const struct avatar_model *m, float *v, float deg)
{
    if (deg == 0.0f)
        return;
    float piv[2][3];
    av_joint_pos(m, v, AV_J_L_SHOULDER, piv[0]);
    av_joint_pos(m, v, AV_J_R_SHOULDER, piv[1]);
    /* left arm (+x) turns clockwise seen from the front (+z), the right arm mirrored */
    const float a = deg * (float)M_PI / 180.0f;
    const float c = cosf(a), s[2] = {-sinf(a), sinf(a)};
    const float *w[2] = {m->region + (size_t)AV_R_ARM_L * m->nv, m->region + (size_t)AV_R_ARM_R * m->nv};
    for (int i = 0; i < m->nv; i++) {
        float *p = v + (size_t)i * 3;
        float dx = 0, dy = 0;
        for (int side = 0; side < 2; side++) {
            float wi = w[side][i];
            if (wi == 0.0f)
                continue;
            float x = p[0] - piv[side][0], y = p[1] - piv[side][1];
            float rx = c * x - s[side] * y, ry = s[side] * x + c * y;
            dx += wi * (rx - x);
            dy += wi * (ry - y);
        }
        p[0] += dx;
        p[1] += dy;
    }
}

enum tryon_status av_deform(const struct avatar_model *m, const struct avatar_body_params *p, float *out)
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
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < AV_NAGES; a++) {
            float ga = fg[g] * fa[a];
            if (ga == 0.0f)
                continue;
            for (int r = 0; r < AV_NRACES; r++)
                add_target(out, &m->race[r][g][a], ga / AV_NRACES);
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
    pose_arms(m, out, p->arm_down_deg);
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
