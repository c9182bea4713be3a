/* measure.c: body measurements from the skin mesh, the way a tailor's tape takes them.
 *
 * The body is built in the neutral pose (all pose angles 0: the base mesh's A-pose, arms
 * about 43 degrees from vertical, clear of the chest) with the asked phenotype and
 * stature. A girth at level y is the horizontal plane section of the skin: every skin
 * triangle crossing the plane gives one segment between the points where two of its edges
 * cross it; triangles sharing a crossing edge belong to the same loop (union-find over the
 * sorted edge keys). The torso's loop is the widest of the loops reaching STRADDLE_M past
 * the mid-sagittal line on both sides (arm, hand and single-leg loops do not); its girth is
 * the perimeter of its convex hull in (x,z), since a tape bridges the hollows (between the
 * breasts, the small of the back).
 *
 * Levels (all from the deformed mesh, so they follow the phenotype), found by one sweep
 * every 2 mm from just above the crotch up: crotch = lowest vertex of the skin's
 * mid-sagittal seam (x = 0 in the base mesh) in the pelvis band; armpits = the first level
 * above the spine-2 joint where the torso loop disappears or widens by more than 1.5 cm in
 * one step (the arms join it); hip = the level of the buttocks' greatest prominence (the
 * torso loop's most negative z) from the crotch up to 3 cm above the pelvis joint; chest =
 * the fullest girth from the spine-2 joint up to 2 cm under the armpits; waist = the
 * narrowest girth between the hip and chest levels. Shoulder width = distance between the
 * points where the vertical lines through the two shoulder joint centres leave the skin
 * at the top.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_STEP_M 0.002f
#define STRADDLE_M 0.03f

/* A crossing of an edge (a < b) by the plane, in segment `seg`. */
struct xedge { uint32_t a, b; int32_t seg; };
/* The segment a crossing triangle leaves in the plane. */
struct seg { float x0, z0, x1, z1; };

static int cmp_xedge(const void *pa, const void *pb)
{
    const struct xedge *p = pa, *q = pb;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return (p->seg > q->seg) - (p->seg < q->seg);
}

static int uf_find(int32_t *par, int32_t i)
{
    while (par[i] != i)
        i = par[i] = par[par[i]];
    return i;
}

static int cmp_pt(const void *pa, const void *pb)
{
    const float *p = pa, *q = pb;
    if (p[0] != q[0])
        return p[0] < q[0] ? -1 : 1;
    return (p[1] > q[1]) - (p[1] < q[1]);
}

/* Perimeter of the convex hull of n points (x,z) (sorted in place; monotone chain). */
static float hull_perimeter(float (*pt)[2], int n, float (*hull)[2])
{
    if (n < 2)
        return 0.0f;
    qsort(pt, (size_t)n, sizeof *pt, cmp_pt);
    int k = 0;
    for (int pass = 0; pass < 2; pass++) {
        int start = k;
        for (int ii = 0; ii < n; ii++) {
            const float *p = pt[pass == 0 ? ii : n - 1 - ii];
            while (k >= start + 2) {
                const float *a = hull[k - 2], *b = hull[k - 1];
                float cr = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
                if (cr > 0.0f)
                    break;
                k--;
            }
            hull[k][0] = p[0], hull[k][1] = p[1];
            k++;
        }
        k--;   /* the last point of each chain is the first of the other */
    }
    double per = 0;
    for (int i = 0; i < k; i++) {
        const float *a = hull[i], *b = hull[(i + 1) % k];
        per += sqrt((double)(b[0] - a[0]) * (b[0] - a[0]) + (double)(b[1] - a[1]) * (b[1] - a[1]));
    }
    return (float)per;
}

/* Scratch of the section routine, sized for every skin triangle crossing. */
struct section {
    const struct avatar_model *m;
    const float *v;          /* skin positions (metres) */
    struct xedge *xe;        /* (2 * nbt) */
    struct seg *sg;          /* (nbt) */
    int32_t *par;            /* (nbt) union-find over segments */
    float *lx0, *lx1;        /* (nbt) x range per loop root */
    float (*pt)[2], (*hull)[2];   /* (2 * nbt), (4 * nbt + 2) */
};

/* Girth (convex hull perimeter, metres) and bounds (xmin, xmax, zmin, zmax) of the torso
   loop at level y (see below). Returns false when there is none. */
static bool torso_girth(struct section *s, float y, float cx, float *girth, float bounds[4])
{
    const struct avatar_model *m = s->m;
    const float *v = s->v;
    int ne = 0, ns = 0;
    for (int t = 0; t < m->nbt; t++) {
        const int32_t *f = m->body_tri + (size_t)t * 3;
        int above = 0;
        for (int k = 0; k < 3; k++)
            above += v[(size_t)f[k] * 3 + 1] >= y;
        if (above == 0 || above == 3)
            continue;
        float *ends = &s->sg[ns].x0;
        int ends_n = 0;
        for (int k = 0; k < 3; k++) {
            uint32_t a = (uint32_t)f[k], b = (uint32_t)f[(k + 1) % 3];
            const float *pa = v + (size_t)a * 3, *pb = v + (size_t)b * 3;
            if ((pa[1] >= y) == (pb[1] >= y))
                continue;
            float u = (y - pa[1]) / (pb[1] - pa[1]);
            struct xedge *e = &s->xe[ne++];
            e->a = a < b ? a : b, e->b = a < b ? b : a, e->seg = ns;
            ends[ends_n * 2] = pa[0] + u * (pb[0] - pa[0]);
            ends[ends_n * 2 + 1] = pa[2] + u * (pb[2] - pa[2]);
            ends_n++;
        }
        s->par[ns] = ns;
        ns++;
    }
    if (ns == 0)
        return false;
    qsort(s->xe, (size_t)ne, sizeof *s->xe, cmp_xedge);
    for (int i = 0; i + 1 < ne; i++)
        if (s->xe[i].a == s->xe[i + 1].a && s->xe[i].b == s->xe[i + 1].b) {
            int r0 = uf_find(s->par, s->xe[i].seg), r1 = uf_find(s->par, s->xe[i + 1].seg);
            if (r0 != r1)
                s->par[r0 < r1 ? r1 : r0] = r0 < r1 ? r0 : r1;
        }
    /* the torso's loop: of the loops reaching at least STRADDLE_M past the mid-sagittal
       line x = cx on both sides (arm, hand and single-leg loops do not), the widest */
    for (int i = 0; i < ns; i++)
        s->lx0[i] = INFINITY, s->lx1[i] = -INFINITY;
    for (int i = 0; i < ns; i++) {
        int r = uf_find(s->par, i);
        const struct seg *g = &s->sg[i];
        s->lx0[r] = fminf(s->lx0[r], fminf(g->x0, g->x1));
        s->lx1[r] = fmaxf(s->lx1[r], fmaxf(g->x0, g->x1));
    }
    int loop = -1;
    for (int i = 0; i < ns; i++)
        if (uf_find(s->par, i) == i && s->lx0[i] < cx - STRADDLE_M && s->lx1[i] > cx + STRADDLE_M &&
            (loop < 0 || s->lx1[i] - s->lx0[i] > s->lx1[loop] - s->lx0[loop]))
            loop = i;
    if (loop < 0)
        return false;
    int n = 0;
    bounds[0] = bounds[2] = INFINITY, bounds[1] = bounds[3] = -INFINITY;
    for (int i = 0; i < ns; i++)
        if (uf_find(s->par, i) == loop) {
            const struct seg *g = &s->sg[i];
            s->pt[n][0] = g->x0, s->pt[n][1] = g->z0;
            s->pt[n + 1][0] = g->x1, s->pt[n + 1][1] = g->z1;
            bounds[0] = fminf(bounds[0], fminf(g->x0, g->x1)), bounds[1] = fmaxf(bounds[1], fmaxf(g->x0, g->x1));
            bounds[2] = fminf(bounds[2], fminf(g->z0, g->z1)), bounds[3] = fmaxf(bounds[3], fmaxf(g->z0, g->z1));
            n += 2;
        }
    *girth = hull_perimeter(s->pt, n, s->hull);
    return true;
}

/* The highest point where the skin meets the vertical line through c (c itself when the
   line misses the skin). */
static void top_above(const struct avatar_model *m, const float *v, const float c[3], float out[3])
{
    memcpy(out, c, sizeof out[0] * 3);
    for (int t = 0; t < m->nbt; t++) {
        const int32_t *f = m->body_tri + (size_t)t * 3;
        const float *a = v + (size_t)f[0] * 3, *b = v + (size_t)f[1] * 3, *d = v + (size_t)f[2] * 3;
        /* barycentric coordinates of (c.x, c.z) in the triangle's (x,z) projection */
        float det = (b[0] - a[0]) * (d[2] - a[2]) - (d[0] - a[0]) * (b[2] - a[2]);
        if (det == 0.0f)
            continue;
        float u = ((c[0] - a[0]) * (d[2] - a[2]) - (d[0] - a[0]) * (c[2] - a[2])) / det;
        float w = ((b[0] - a[0]) * (c[2] - a[2]) - (c[0] - a[0]) * (b[2] - a[2])) / det;
        if (u < 0.0f || w < 0.0f || u + w > 1.0f)
            continue;
        float y = a[1] + u * (b[1] - a[1]) + w * (d[1] - a[1]);
        if (y > out[1])
            out[1] = y;
    }
}

enum tryon_status av_body_measure_levels(const struct avatar_model *m, const struct avatar_body_params *p,
                                         struct avatar_measurements *out, struct av_measure_levels *lv)
{
    memset(out, 0, sizeof *out);
    struct avatar_body_params q = *p;
    q.arm_down_deg = q.leg_spread_deg = q.torso_turn_deg = 0.0f;
    float *v = malloc((size_t)m->nv * 3 * sizeof *v);
    struct section s = {m, v, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    s.xe = malloc((size_t)m->nbt * 2 * sizeof *s.xe);
    s.sg = malloc((size_t)m->nbt * sizeof *s.sg);
    s.par = malloc((size_t)m->nbt * sizeof *s.par);
    s.lx0 = malloc((size_t)m->nbt * sizeof *s.lx0);
    s.lx1 = malloc((size_t)m->nbt * sizeof *s.lx1);
    s.pt = malloc((size_t)m->nbt * 2 * sizeof *s.pt);
    s.hull = malloc(((size_t)m->nbt * 4 + 2) * sizeof *s.hull);
    /* girth profile from the crotch up to the armpits, one entry per SCAN_STEP_M */
    const int maxlev = 2048;
    float *gir = malloc((size_t)maxlev * sizeof *gir), *zmin = malloc((size_t)maxlev * sizeof *zmin);
    enum tryon_status st = TRYON_OK;
    if (!v || !s.xe || !s.sg || !s.par || !s.lx0 || !s.lx1 || !s.pt || !s.hull || !gir || !zmin)
        st = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the measurements");
    if (st == TRYON_OK)
        st = av_deform(m, &q, v);
    if (st == TRYON_OK) {
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < m->nbody; i++)
            lo = fminf(lo, v[i * 3 + 1]), hi = fmaxf(hi, v[i * 3 + 1]);
        const float height = hi - lo;
        const enum av_joint sj[6] = {AV_J_PELVIS, AV_J_SPINE4, AV_J_SPINE3, AV_J_SPINE2, AV_J_SPINE1, AV_J_NECK};
        float joints[6][3], sh[2][3], top[2][3];
        for (int i = 0; i < 6; i++)
            av_joint_pos(m, v, sj[i], joints[i]);
        av_joint_pos(m, v, AV_J_L_SHOULDER, sh[0]);
        av_joint_pos(m, v, AV_J_R_SHOULDER, sh[1]);
        /* crotch: the lowest vertex of the skin's mid-sagittal seam (x = 0 in the symmetric
           base mesh, so thighs that touch do not count) in the pelvis band */
        float crotch = INFINITY, axis_x = joints[0][0];
        for (int i = 0; i < m->nbody; i++) {
            const float *pp = v + (size_t)i * 3;
            if (fabsf(m->base[i * 3]) < 1e-5f && pp[1] > lo + 0.3f * height && pp[1] < lo + 0.65f * height)
                crotch = fminf(crotch, pp[1]);
        }
        /* sweep up from just above the crotch until the torso loop merges with the arms */
        const float y0 = crotch + 0.01f;
        int n = 0, armpit = -1, first = -1;
        float prev_w = 0.0f;
        for (; n < maxlev; n++) {
            float y = y0 + SCAN_STEP_M * (float)n, g, bb[4];
            if (y > joints[5][1])
                break;
            bool ok = torso_girth(&s, y, axis_x, &g, bb);
            float wdt = ok ? bb[1] - bb[0] : 0.0f;
            if (y > joints[3][1] && (!ok || wdt > prev_w + 0.015f)) {
                armpit = n;
                break;
            }
            if (!ok && first >= 0) {
                st = tryon_fail(TRYON_EINVAL, "avatar: no torso section %.3f m above the floor", (double)(y - lo));
                break;
            }
            if (ok && first < 0)
                first = n;   /* thighs that touch can hide the torso's loop just above the crotch */
            gir[n] = ok ? g : 0.0f, zmin[n] = ok ? bb[2] : INFINITY;
            prev_w = wdt;
        }
        const int chest_lo = (int)ceilf((joints[3][1] - y0) / SCAN_STEP_M);
        const int chest_hi = armpit - (int)(0.02f / SCAN_STEP_M);
        const int hip_hi = (int)((joints[0][1] + 0.03f - y0) / SCAN_STEP_M);
        if (st == TRYON_OK && (crotch == INFINITY || armpit < 0 || chest_hi <= chest_lo || chest_lo < 0 ||
                               first < 0 || hip_hi <= first || hip_hi >= chest_lo))
            st = tryon_fail(TRYON_EINVAL, "avatar: body landmarks out of order (crotch, pelvis, chest, armpits)");
        if (st == TRYON_OK) {
            int ih = first, ic = chest_lo;
            for (int i = first; i <= hip_hi; i++)
                if (zmin[i] < zmin[ih])
                    ih = i;
            for (int i = chest_lo; i <= chest_hi; i++)
                if (gir[i] > gir[ic])
                    ic = i;
            int iw = ih;
            for (int i = ih; i <= ic; i++)
                if (gir[i] < gir[iw])
                    iw = i;
            top_above(m, v, sh[0], top[0]);
            top_above(m, v, sh[1], top[1]);
            out->height_cm = 100.0f * height;
            out->chest_cm = 100.0f * gir[ic];
            out->waist_cm = 100.0f * gir[iw];
            out->hip_cm = 100.0f * gir[ih];
            out->inseam_cm = 100.0f * (crotch - lo);
            out->shoulder_cm = 100.0f * sqrtf((top[0][0] - top[1][0]) * (top[0][0] - top[1][0]) +
                                              (top[0][1] - top[1][1]) * (top[0][1] - top[1][1]) +
                                              (top[0][2] - top[1][2]) * (top[0][2] - top[1][2]));
            if (lv) {
                lv->chest_y = y0 + SCAN_STEP_M * (float)ic - lo;
                lv->waist_y = y0 + SCAN_STEP_M * (float)iw - lo;
                lv->hip_y = y0 + SCAN_STEP_M * (float)ih - lo;
                lv->crotch_y = crotch - lo;
            }
        }
    }
    free(v), free(s.xe), free(s.sg), free(s.par), free(s.lx0), free(s.lx1), free(s.pt), free(s.hull), free(gir), free(zmin);
    return st;
}

enum tryon_status avatar_body_measure(const struct avatar_model *m, const struct avatar_body_params *p,
                                      struct avatar_measurements *out)
{
    return av_body_measure_levels(m, p, out, NULL);
}
