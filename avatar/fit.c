/* fit.c: how a draped garment fits: the strain of every cloth vertex against the rest
 * shape, and a verdict per region (chest, waist, hips at the levels avatar_body_measure
 * takes its girths at; length along the garment) from the cloth's stretch and its
 * distance from the body.
 *
 * Region figures come from the cloth near the level (within FIT_BAND_M) over the torso
 * (|x| within the arm-free skin's half width there plus FIT_SIDE_M, so sleeves and arms do
 * not count): strain = mean (length / rest - 1) over the edges running along the girth
 * (|dy| < half their length); gap = mean signed distance of those vertices from the body
 * minus the contact thickness. Length: the mean strain of the edges running down the
 * garment (|dy| > 0.8 of their length).
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_BAND_M 0.03f
#define FIT_SIDE_M 0.02f
#define FIT_MIN_VERTICES 20
#define TIGHT_STRAIN 0.03f     /* stretched more than 3% along the girth or the length */
#define LOOSE_COMPRESS -0.03f  /* length: compressed more than 3% (bunched) */
static const float loose_gap_cm[3] = {3.0f, 5.0f, 3.0f};   /* chest, waist, hips */

const char *avatar_fit_region_name(enum avatar_fit_region r)
{
    static const char *const n[] = {"chest", "waist", "hips", "length"};
    return (unsigned)r < AVATAR_FIT_NREGIONS ? n[r] : "unknown";
}

const char *avatar_fit_verdict_name(enum avatar_fit_verdict v)
{
    static const char *const n[] = {"none", "tight", "good", "loose"};
    return (unsigned)v <= AVATAR_FIT_LOOSE ? n[v] : "unknown";
}

static float dist3(const float *a, const float *b)
{
    float d[3] = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    return sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
}

enum tryon_status av_drape_fit(const struct avatar_model *m, const struct av_measure_levels *lv,
                               const struct avatar_mesh *body_mesh, const struct av_surface *bs,
                               const struct av_cloth_mesh *cm, const float *x, float thickness, float *vstrain,
                               struct avatar_fit fit[AVATAR_FIT_NREGIONS])
{
    memset(fit, 0, AVATAR_FIT_NREGIONS * sizeof *fit);
    int *cnt = calloc((size_t)cm->nv, sizeof *cnt);
    float *gap = malloc((size_t)cm->nv * sizeof *gap);
    if (!cnt || !gap) {
        free(cnt), free(gap);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the fit");
    }
    /* per-vertex strain over the half-edges of the triangles (an interior edge counts twice
       on each end, a boundary edge once: both ends see the same weights) */
    memset(vstrain, 0, (size_t)cm->nv * sizeof *vstrain);
    for (int f = 0; f < cm->nt; f++)
        for (int k = 0; k < 3; k++) {
            int a = cm->tri[f * 3 + k], b = cm->tri[f * 3 + (k + 1) % 3];
            float r = av_cloth_rest_length(cm, a, b);
            float e = r > 1e-9f ? dist3(x + (size_t)a * 3, x + (size_t)b * 3) / r - 1.0f : 0.0f;
            vstrain[a] += e, vstrain[b] += e;
            cnt[a]++, cnt[b]++;
        }
    for (int i = 0; i < cm->nv; i++)
        vstrain[i] = cnt[i] ? vstrain[i] / (float)cnt[i] : 0.0f;
    #pragma omp parallel for schedule(dynamic, 256)
    for (int i = 0; i < cm->nv; i++) {
        float q[3], n[3];
        gap[i] = av_surface_query(bs, x + (size_t)i * 3, q, n) - thickness;
    }
    /* the torso's half width at each level: arm-free skin within the band */
    const float level[3] = {lv->chest_y, lv->waist_y, lv->hip_y};
    const float *arm_l = m->region + (size_t)AV_R_ARM_L * m->nv, *arm_r = m->region + (size_t)AV_R_ARM_R * m->nv;
    for (int r = 0; r < 3; r++) {
        float half = 0;
        for (int i = 0; i < body_mesh->nv; i++) {
            const float *p = body_mesh->pos + (size_t)i * 3;
            if (fabsf(p[1] - level[r]) < FIT_BAND_M && arm_l[i] < 0.5f && arm_r[i] < 0.5f)
                half = fmaxf(half, fabsf(p[0]));
        }
        half += FIT_SIDE_M;
        double s_sum = 0, g_sum = 0;
        int ns = 0, ng = 0;
        for (int i = 0; i < cm->nv; i++) {
            const float *p = x + (size_t)i * 3;
            if (fabsf(p[1] - level[r]) < FIT_BAND_M && fabsf(p[0]) < half)
                g_sum += gap[i], ng++;
        }
        for (int f = 0; f < cm->nt; f++)
            for (int k = 0; k < 3; k++) {
                int a = cm->tri[f * 3 + k], b = cm->tri[f * 3 + (k + 1) % 3];
                const float *pa = x + (size_t)a * 3, *pb = x + (size_t)b * 3;
                float l = dist3(pa, pb), rl = av_cloth_rest_length(cm, a, b);
                if (rl <= 1e-9f || fabsf(pa[1] - pb[1]) >= 0.5f * l)
                    continue;
                if (fabsf(pa[1] - level[r]) >= FIT_BAND_M || fabsf(pa[0]) >= half || fabsf(pb[0]) >= half)
                    continue;
                s_sum += l / rl - 1.0f, ns++;
            }
        if (ng < FIT_MIN_VERTICES || ns == 0)
            continue;
        struct avatar_fit *o = &fit[r];
        o->vertices = ng;
        o->strain = (float)(s_sum / ns);
        o->gap_cm = (float)(100.0 * g_sum / ng);
        o->verdict = o->strain > TIGHT_STRAIN ? AVATAR_FIT_TIGHT
                     : o->gap_cm > loose_gap_cm[r] ? AVATAR_FIT_LOOSE : AVATAR_FIT_GOOD;
    }
    /* length: the edges running down the garment */
    double s_sum = 0, g_sum = 0;
    int ns = 0;
    for (int f = 0; f < cm->nt; f++)
        for (int k = 0; k < 3; k++) {
            int a = cm->tri[f * 3 + k], b = cm->tri[f * 3 + (k + 1) % 3];
            const float *pa = x + (size_t)a * 3, *pb = x + (size_t)b * 3;
            float l = dist3(pa, pb), rl = av_cloth_rest_length(cm, a, b);
            if (rl > 1e-9f && fabsf(pa[1] - pb[1]) > 0.8f * l)
                s_sum += l / rl - 1.0f, ns++;
        }
    for (int i = 0; i < cm->nv; i++)
        g_sum += gap[i];
    if (ns > 0) {
        struct avatar_fit *o = &fit[AVATAR_FIT_LENGTH];
        o->vertices = cm->nv;
        o->strain = (float)(s_sum / ns);
        o->gap_cm = (float)(100.0 * g_sum / cm->nv);
        o->verdict = o->strain > TIGHT_STRAIN ? AVATAR_FIT_TIGHT
                     : o->strain < LOOSE_COMPRESS ? AVATAR_FIT_LOOSE : AVATAR_FIT_GOOD;
    }
    free(cnt), free(gap);
    return TRYON_OK;
}
