/* test_avatar_pose.c: the pose (linear blend skinning with the default rig). A zero pose
 * leaves the unposed mesh bit for bit (the skinning itself runs); posing keeps the limb and
 * spine segments between joint cubes, and every rig bone from cube to cube, at their
 * lengths within 1 mm and every coordinate finite; each angle moves what it
 * names the way the header says (arms down, legs apart with the feet on the floor, torso
 * turned to the body's left); the helper surfaces garments are cut from follow the skin;
 * the joints follow the phenotype (a taller body has proportionally longer bones). */
#include <string.h>

#include "av_test_util.h"
#include "avatar/internal.h"
#include "check.h"

/* Limb segments between joint cubes (the skeleton's joints; each cube is skinned rigidly to
   one bone, while the rig's mid-bone points average vertices of two bones and are not). */
static const enum av_joint segs[][2] = {
    {AV_J_L_SHOULDER, AV_J_L_ELBOW}, {AV_J_L_ELBOW, AV_J_L_HAND}, {AV_J_R_SHOULDER, AV_J_R_ELBOW},
    {AV_J_R_ELBOW, AV_J_R_HAND}, {AV_J_L_UPPER_LEG, AV_J_L_KNEE}, {AV_J_L_KNEE, AV_J_L_ANKLE},
    {AV_J_R_UPPER_LEG, AV_J_R_KNEE}, {AV_J_R_KNEE, AV_J_R_ANKLE}, {AV_J_PELVIS, AV_J_SPINE4},
    {AV_J_SPINE4, AV_J_SPINE3}, {AV_J_SPINE3, AV_J_SPINE2}, {AV_J_SPINE2, AV_J_SPINE1}, {AV_J_SPINE1, AV_J_NECK},
    {AV_J_L_CLAVICLE, AV_J_L_SHOULDER}};
#define NSEG (int)(sizeof segs / sizeof *segs)

static float seg_len(const struct avatar_model *m, const float *v, int s)
{
    float a[3], b[3];
    av_joint_pos(m, v, segs[s][0], a);
    av_joint_pos(m, v, segs[s][1], b);
    return dist3(a, b);
}

/* Bones of the rig whose head and tail are both joint cubes (8 vertices each). */
static bool cube_bone(const struct avatar_model *m, int b)
{
    return m->bones[b].nhead == 8 && m->bones[b].ntail == 8;
}

static float bone_len(const struct avatar_model *m, const float *v, int b)
{
    float h[3], t[3];
    av_bone_ends(m, v, b, h, t);
    return dist3(h, t);
}

static void params(struct avatar_body_params *p, float g, float w, float stature, float arm, float leg, float turn)
{
    memset(p, 0, sizeof *p);
    avatar_phenotype_default(&p->ph);
    p->ph.gender = g, p->ph.weight = w, p->stature_m = stature;
    p->arm_down_deg = arm, p->leg_spread_deg = leg, p->torso_turn_deg = turn;
}

int main(void)
{
    struct avatar_model *m = NULL;
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_pose");
    const size_t n3 = (size_t)m->nv * 3;
    float *rest = malloc(n3 * sizeof *rest), *v = malloc(n3 * sizeof *v);
    int ncube = 0;
    for (int b = 0; b < m->nbones; b++)
        ncube += cube_bone(m, b);
    CHECK(ncube > 50);

    /* zero pose: the skinning runs and leaves every vertex (skin, helpers, cubes) bit for bit */
    struct avatar_body_params p;
    params(&p, 0.3f, 0.7f, 1.72f, 0, 0, 0);
    CHECK(av_deform_unposed(m, &p, rest) == TRYON_OK);
    memcpy(v, rest, n3 * sizeof *v);
    CHECK(av_pose(m, &p, v) == TRYON_OK);
    CHECK(memcmp(v, rest, n3 * sizeof *v) == 0);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    CHECK(memcmp(v, rest, n3 * sizeof *v) == 0);

    /* limb and spine segments and every cube-to-cube bone keep their lengths (1 mm), and
       coordinates stay finite, under poses up to the limits */
    const float poses[][3] = {{AVATAR_CATALOG_ARM_DOWN_DEG, 0, 0}, {60, 0, 0}, {-20, 0, 0}, {0, 20, 0}, {0, -5, 0},
                              {0, 0, 30}, {0, 0, -30}, {45, 12, 20}};
    const int npose = (int)(sizeof poses / sizeof *poses);
    float worst = 0;
    int nonfinite = 0;
    for (int k = 0; k < npose; k++) {
        params(&p, 0.3f, 0.7f, 1.72f, poses[k][0], poses[k][1], poses[k][2]);
        CHECK(av_deform(m, &p, v) == TRYON_OK);
        for (size_t i = 0; i < n3; i++)
            nonfinite += !isfinite(v[i]);
        for (int i = 0; i < NSEG; i++) {
            float d = fabsf(seg_len(m, v, i) - seg_len(m, rest, i));
            CHECK_MSG(d < 0.001f, "pose %d segment %s-%s length changed by %.2f mm", k, av_joint_names[segs[i][0]],
                      av_joint_names[segs[i][1]], d * 1e3);
            worst = fmaxf(worst, d);
        }
        for (int b = 0; b < m->nbones; b++) {
            if (!cube_bone(m, b))
                continue;
            float d = fabsf(bone_len(m, v, b) - bone_len(m, rest, b));
            CHECK_MSG(d < 0.001f, "pose %d bone %s length changed by %.2f mm", k, m->bones[b].name, d * 1e3);
            worst = fmaxf(worst, d);
        }
    }
    fprintf(stderr, "largest length change over %d poses (%d segments, %d cube bones): %.4f mm\n", npose, NSEG,
            ncube, worst * 1e3);
    CHECK_EQ_INT(nonfinite, 0);

    /* each angle does what it names */
    float a0[3], a1[3], b0[3], b1[3];
    av_joint_pos(m, rest, AV_J_L_HAND, a0);
    params(&p, 0.3f, 0.7f, 1.72f, 30, 0, 0);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    av_joint_pos(m, v, AV_J_L_HAND, a1);
    CHECK(a1[1] < a0[1] - 0.05f && fabsf(a1[0]) < fabsf(a0[0]));   /* hand lower and closer to the body */
    av_joint_pos(m, rest, AV_J_L_ANKLE, a0);
    av_joint_pos(m, rest, AV_J_R_ANKLE, b0);
    params(&p, 0.3f, 0.7f, 1.72f, 0, 10, 0);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    av_joint_pos(m, v, AV_J_L_ANKLE, a1);
    av_joint_pos(m, v, AV_J_R_ANKLE, b1);
    CHECK(a1[0] - b1[0] > a0[0] - b0[0] + 0.2f);   /* 10 degrees each side on ~0.8 m legs: ~0.28 m wider */
    float ylo = INFINITY;
    for (int i = 0; i < m->nbody; i++)
        ylo = fminf(ylo, v[i * 3 + 1]);
    CHECK_NEAR(ylo, 0.0, 1e-6);   /* feet back on the floor */
    av_joint_pos(m, rest, AV_J_L_SHOULDER, a0);
    av_joint_pos(m, rest, AV_J_R_SHOULDER, b0);
    params(&p, 0.3f, 0.7f, 1.72f, 0, 0, 20);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    av_joint_pos(m, v, AV_J_L_SHOULDER, a1);
    av_joint_pos(m, v, AV_J_R_SHOULDER, b1);
    CHECK(a1[2] < a0[2] - 0.03f && b1[2] > b0[2] + 0.03f);   /* front turned toward +x: left shoulder back */
    av_joint_pos(m, rest, AV_J_PELVIS, a0);
    av_joint_pos(m, v, AV_J_PELVIS, a1);
    CHECK(dist3(a0, a1) < 1e-6f);   /* the pelvis stays */

    /* the helper surfaces (garment templates) follow the skin: each tights vertex moves
       like its nearest skin vertex, within 1.5 cm, under the combined pose */
    params(&p, 0.3f, 0.7f, 1.72f, 45, 12, 20);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    int far = 0, tested = 0;
    for (int q = 0; q < m->ntq; q += 3)
        for (int c = 0; c < 4; c++) {
            int hv = m->tights[q * 4 + c];
            if (hv < 0)
                continue;
            int best = 0;
            float bd = INFINITY;
            for (int i = 0; i < m->nbody; i += 2) {
                float d = dist3(rest + (size_t)hv * 3, rest + (size_t)i * 3);
                if (d < bd)
                    bd = d, best = i;
            }
            float dh[3], ds[3];
            for (int k = 0; k < 3; k++) {
                dh[k] = v[hv * 3 + k] - rest[hv * 3 + k];
                ds[k] = v[best * 3 + k] - rest[best * 3 + k];
            }
            far += dist3(dh, ds) > 0.015f;
            tested++;
        }
    fprintf(stderr, "tights vertices moving unlike their nearest skin vertex: %d of %d\n", far, tested);
    CHECK(far * 100 <= tested);

    /* joints follow the phenotype: at a larger stature every bone is proportionally longer */
    float *tall = malloc(n3 * sizeof *tall);
    params(&p, 0.3f, 0.7f, 1.50f, 0, 0, 0);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    params(&p, 0.3f, 0.7f, 1.90f, 0, 0, 0);
    CHECK(av_deform(m, &p, tall) == TRYON_OK);
    for (int i = 0; i < NSEG; i++)
        CHECK_NEAR(seg_len(m, tall, i) / seg_len(m, v, i), 1.90 / 1.50, 1e-4);
    /* and on the phenotype's shape: a man's shoulders are wider apart than a woman's */
    params(&p, 0.0f, 0.5f, 1.75f, 0, 0, 0);
    CHECK(av_deform(m, &p, v) == TRYON_OK);
    params(&p, 1.0f, 0.5f, 1.75f, 0, 0, 0);
    CHECK(av_deform(m, &p, tall) == TRYON_OK);
    av_joint_pos(m, v, AV_J_L_SHOULDER, a0);
    av_joint_pos(m, tall, AV_J_L_SHOULDER, a1);
    CHECK(a1[0] > a0[0] + 0.005f);

    /* validation of the new fields */
    params(&p, 0.5f, 0.5f, 0, 0, 25, 0);
    struct avatar_mesh b;
    CHECK(avatar_body_build(m, &p, &b) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "leg_spread_deg");
    params(&p, 0.5f, 0.5f, 0, 0, 0, -31);
    CHECK(avatar_body_build(m, &p, &b) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "torso_turn_deg");

    free(tall);
    free(rest);
    free(v);
    avatar_model_free(m);
    return check_result("test_avatar_pose");
}
