/* test_avatar_measure.c: body measurements on known phenotypes.
 *  - sane anthropometric ranges for the default human and extremes (girths 45..140 cm,
 *    inseam 40..52 % of the height, shoulders 25..48 cm), height = stature (0.05 cm);
 *  - the expected orderings (heavier -> larger waist and hip; man -> wider shoulders and
 *    larger chest-to-hip ratio than a woman of the same weight);
 *  - the pose does not change the measurements (taken in the neutral pose);
 *  - an independent computation at the same levels: the points where skin edges cross
 *    the plane, the arms left out by the rig's arm weights (edges whose endpoints' arm
 *    weights sum to 1 or more; instead of the library's loop connectivity and width rule),
 *    and the perimeter of their convex hull by gift wrapping (instead of the monotone
 *    chain): within 1 cm;
 *  - the inseam against the crotch found independently as the lowest mid-line point of
 *    the skin's plane section x = 0 under the pelvis (1 cm). */
#include <string.h>

#include "av_test_util.h"
#include "avatar/internal.h"
#include "check.h"

#define TOL_INDEP_CM 1.0

/* Perimeter of the convex hull of n points (x,z) by gift wrapping. */
static float gift_wrap_perimeter(const float (*pt)[2], int n)
{
    if (n < 3)
        return 0.0f;
    int start = 0;
    for (int i = 1; i < n; i++)
        if (pt[i][0] < pt[start][0] || (pt[i][0] == pt[start][0] && pt[i][1] < pt[start][1]))
            start = i;
    double per = 0;
    int cur = start;
    for (int guard = 0; guard <= n; guard++) {
        int next = cur == 0 ? 1 : 0;
        for (int i = 0; i < n; i++) {
            if (i == cur)
                continue;
            double cr = ((double)pt[next][0] - pt[cur][0]) * ((double)pt[i][1] - pt[cur][1]) -
                        ((double)pt[next][1] - pt[cur][1]) * ((double)pt[i][0] - pt[cur][0]);
            double dn = hypot(pt[next][0] - pt[cur][0], pt[next][1] - pt[cur][1]);
            double di = hypot(pt[i][0] - pt[cur][0], pt[i][1] - pt[cur][1]);
            if (cr < 0 || (cr == 0 && di > dn))
                next = i;
        }
        per += hypot(pt[next][0] - pt[cur][0], pt[next][1] - pt[cur][1]);
        cur = next;
        if (cur == start)
            break;
    }
    return (float)per;
}

/* Torso girth at level y by the arm-weight method (see the top). */
static float torso_girth_by_weights(const struct avatar_model *m, const struct avatar_mesh *b, float y)
{
    const float *arm[2] = {m->region + (size_t)AV_R_ARM_L * m->nv, m->region + (size_t)AV_R_ARM_R * m->nv};
    float(*pt)[2] = malloc((size_t)b->nt * 3 * sizeof *pt);
    int n = 0;
    for (int t = 0; t < b->nt; t++)
        for (int e = 0; e < 3; e++) {
            int32_t i = b->tri[t * 3 + e], j = b->tri[t * 3 + (e + 1) % 3];
            if (i > j)
                continue;   /* each edge once */
            const float *p = b->pos + (size_t)i * 3, *q = b->pos + (size_t)j * 3;
            if ((p[1] >= y) == (q[1] >= y))
                continue;
            if (arm[0][i] + arm[0][j] + arm[1][i] + arm[1][j] >= 1.0f)
                continue;   /* mostly arm */
            float u = (y - p[1]) / (q[1] - p[1]);
            pt[n][0] = p[0] + u * (q[0] - p[0]), pt[n][1] = p[2] + u * (q[2] - p[2]);
            n++;
        }
    float g = gift_wrap_perimeter((const float(*)[2])pt, n);
    free(pt);
    return g;
}

/* Lowest point of the section of the skin with the plane x = 0, between heights lo and hi. */
static float midline_low(const struct avatar_mesh *b, float lo, float hi)
{
    float best = INFINITY;
    for (int t = 0; t < b->nt; t++)
        for (int e = 0; e < 3; e++) {
            const float *p = b->pos + (size_t)b->tri[t * 3 + e] * 3, *q = b->pos + (size_t)b->tri[t * 3 + (e + 1) % 3] * 3;
            if ((p[0] < 0) == (q[0] < 0) || p[0] == q[0])
                continue;
            float u = p[0] / (p[0] - q[0]);
            float y = p[1] + u * (q[1] - p[1]);
            if (y > lo && y < hi && y < best)
                best = y;
        }
    return best;
}

struct ph_case { const char *name; float g, w, mu, stature; };

int main(void)
{
    struct avatar_model *m = NULL;
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_measure");
    const struct ph_case cases[] = {
        {"default", 0.5f, 0.5f, 0.5f, 0.0f},  {"woman", 0.0f, 0.5f, 0.5f, 1.65f}, {"man", 1.0f, 0.5f, 0.5f, 1.80f},
        {"thin", 0.0f, 0.0f, 0.0f, 1.55f},    {"heavy", 1.0f, 1.0f, 0.0f, 1.85f}, {"muscular", 1.0f, 0.6f, 1.0f, 1.90f},
        {"heavy woman", 0.0f, 1.0f, 0.5f, 1.65f}};
    const int nc = (int)(sizeof cases / sizeof *cases);
    struct avatar_measurements me[8];
    for (int k = 0; k < nc; k++) {
        struct avatar_body_params p;
        memset(&p, 0, sizeof p);
        avatar_phenotype_default(&p.ph);
        p.ph.gender = cases[k].g, p.ph.weight = cases[k].w, p.ph.muscle = cases[k].mu, p.stature_m = cases[k].stature;
        struct av_measure_levels lv;
        double t0 = time_now();
        s = av_body_measure_levels(m, &p, &me[k], &lv);
        double dt = time_now() - t0;
        CHECK_MSG(s == TRYON_OK, "%s: %s", cases[k].name, tryon_errmsg());
        const struct avatar_measurements *x = &me[k];
        struct avatar_mesh b;
        CHECK(avatar_body_build(m, &p, &b) == TRYON_OK);
        float gc = 100.0f * torso_girth_by_weights(m, &b, lv.chest_y), gw = 100.0f * torso_girth_by_weights(m, &b, lv.waist_y),
              gh = 100.0f * torso_girth_by_weights(m, &b, lv.hip_y);
        float crotch = midline_low(&b, 0.3f * x->height_cm / 100.0f, 0.6f * x->height_cm / 100.0f);
        fprintf(stderr,
                "%-12s height %.1f chest %.1f (by weights %.1f) waist %.1f (%.1f) hip %.1f (%.1f) inseam %.1f (%.1f) "
                "shoulder %.1f cm; levels %.3f %.3f %.3f m; %.0f ms\n",
                cases[k].name, x->height_cm, x->chest_cm, gc, x->waist_cm, gw, x->hip_cm, gh, x->inseam_cm,
                100.0f * crotch, x->shoulder_cm, lv.chest_y, lv.waist_y, lv.hip_y, dt * 1e3);
        if (cases[k].stature > 0)
            CHECK_NEAR(x->height_cm, 100.0 * cases[k].stature, 0.05);
        else
            CHECK(x->height_cm > 160 && x->height_cm < 175);   /* MakeHuman's default human: ~166 cm */
        const float *g = &x->chest_cm;
        for (int q = 0; q < 3; q++)
            CHECK_MSG(g[q] > 45 && g[q] < 140, "%s girth %d = %.1f", cases[k].name, q, g[q]);
        CHECK(x->waist_cm < x->chest_cm && x->waist_cm < x->hip_cm);
        CHECK(x->inseam_cm > 0.40f * x->height_cm && x->inseam_cm < 0.52f * x->height_cm);
        CHECK(x->shoulder_cm > 25 && x->shoulder_cm < 48);
        CHECK(lv.crotch_y < lv.hip_y && lv.hip_y < lv.waist_y && lv.waist_y < lv.chest_y);
        CHECK_NEAR(gc, x->chest_cm, TOL_INDEP_CM);
        CHECK_NEAR(gw, x->waist_cm, TOL_INDEP_CM);
        CHECK_NEAR(gh, x->hip_cm, TOL_INDEP_CM);
        CHECK_NEAR(100.0f * crotch, x->inseam_cm, 1.0);
        avatar_mesh_free(&b);
    }
    /* orderings: heavier -> larger waist and hip (woman vs heavy woman); a man's shoulders are
       wider and his chest-to-hip ratio larger than a woman's */
    CHECK(me[6].waist_cm > me[1].waist_cm + 3 && me[6].hip_cm > me[1].hip_cm + 5);
    CHECK(me[2].shoulder_cm > me[1].shoulder_cm + 3);
    CHECK(me[2].chest_cm / me[2].hip_cm > me[1].chest_cm / me[1].hip_cm + 0.05f);
    CHECK(me[4].waist_cm > me[3].waist_cm + 30);

    /* the pose does not change the measurements */
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    p.ph.gender = 1.0f, p.stature_m = 1.80f;
    p.arm_down_deg = 50, p.leg_spread_deg = 15, p.torso_turn_deg = 25;
    struct avatar_measurements posed;
    CHECK(avatar_body_measure(m, &p, &posed) == TRYON_OK);
    CHECK(memcmp(&posed, &me[2], sizeof posed) == 0);
    /* invalid params are refused like avatar_body_build */
    p.ph.weight = -0.1f;
    CHECK(avatar_body_measure(m, &p, &posed) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "weight");

    avatar_model_free(m);
    return check_result("test_avatar_measure");
}
