/* garment.c: garment templates cut from the base mesh's helper-tights surface.
 *
 * The tights follow every macro target and the arm pose like the skin, so a garment is:
 * the whole base mesh deformed by the body's params (av_deform); the tights surface
 * subdivided once (each quad into four, new vertices at edge midpoints and face centres);
 * the sub-quads whose centre lies in the garment's region (below); the cut's boundary
 * straightened by a few smoothing steps along it; then every vertex inside the body or
 * nearer than AVATAR_GARMENT_OFFSET_M to it moved to that distance along the body's normal
 * at its nearest body point (repeated so that pushes in concave places settle).
 *
 * Regions, from the deformed joint cubes and the rig's region weights (arm = arm weight
 * above 0.5, averaged over the sub-quad's corners):
 *   top:      non-arm sub-quads from the neckline (those within 0.28 shoulder spans of the
 *             neck's vertical axis and above the clavicles are left out) down to the hem,
 *             which runs from the waist (spine-3 joint, length 0) to the hip joints
 *             (length 1); arm sub-quads up to the fraction `sleeve` of the shoulder-to-wrist
 *             axis.
 *   trousers: non-arm sub-quads from the waistband (spine-4 joint) down to the hem, from
 *             the knees (length 0) to the ankles (length 1).
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_ITERATIONS 8
#define PUSH_TRIGGER 0.95f   /* push vertices nearer than this fraction of the offset */
#define SAFETY_GAP_M 0.001f  /* last resort: this far outside */
#define GRID_CELL_M 0.01f
#define BOUNDARY_SMOOTH_STEPS 6

const char *avatar_garment_type_name(enum avatar_garment_type t)
{
    switch (t) {
    case AVATAR_GARMENT_TOP: return "top";
    case AVATAR_GARMENT_TROUSERS: return "trousers";
    default: return "unknown";
    }
}

enum tryon_status avatar_garment_type_parse(const char *s, enum avatar_garment_type *t)
{
    static const struct { const char *name; enum avatar_garment_type t; } names[] = {
        {"top", AVATAR_GARMENT_TOP}, {"t-shirt", AVATAR_GARMENT_TOP}, {"shirt", AVATAR_GARMENT_TOP},
        {"trousers", AVATAR_GARMENT_TROUSERS}, {"pants", AVATAR_GARMENT_TROUSERS},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].name) == 0) {
            *t = names[i].t;
            return TRYON_OK;
        }
    return tryon_fail(TRYON_EINVAL, "avatar: unknown garment type '%s' (expected top or trousers)", s ? s : "(null)");
}

/* The cut: which tights faces a garment keeps. */
struct cut {
    enum avatar_garment_type type;
    float hem_y, top_y;          /* torso/leg faces between these heights (metres) */
    float neck[3], neck_r, neck_y0;  /* top: leave out faces within neck_r of the neck axis above neck_y0 */
    float sh[2][3], wrist[2][3];  /* shoulder and wrist joints, left and right */
    float sleeve;                /* top: keep arm faces up to this fraction of shoulder..wrist */
};

static float lerpf(float a, float b, float t) { return a + t * (b - a); }

static void make_cut(const struct avatar_model *m, const float *v, const struct avatar_garment_est *g, struct cut *c)
{
    float j[AV_NJOINTS][3];
    for (int i = 0; i < AV_NJOINTS; i++)
        av_joint_pos(m, v, (enum av_joint)i, j[i]);
    memset(c, 0, sizeof *c);
    c->type = g->type;
    memcpy(c->sh[0], j[AV_J_L_SHOULDER], sizeof c->sh[0]);
    memcpy(c->sh[1], j[AV_J_R_SHOULDER], sizeof c->sh[1]);
    memcpy(c->wrist[0], j[AV_J_L_HAND], sizeof c->wrist[0]);
    memcpy(c->wrist[1], j[AV_J_R_HAND], sizeof c->wrist[1]);
    c->sleeve = g->sleeve;
    float shoulder_span = fabsf(j[AV_J_L_SHOULDER][0] - j[AV_J_R_SHOULDER][0]);
    if (g->type == AVATAR_GARMENT_TOP) {
        c->top_y = INFINITY;
        float hip_y = 0.5f * (j[AV_J_L_UPPER_LEG][1] + j[AV_J_R_UPPER_LEG][1]);
        c->hem_y = lerpf(j[AV_J_SPINE3][1], hip_y, g->length);
        memcpy(c->neck, j[AV_J_NECK], sizeof c->neck);
        c->neck_r = 0.28f * shoulder_span;
        c->neck_y0 = 0.5f * (j[AV_J_L_CLAVICLE][1] + j[AV_J_R_CLAVICLE][1]);
    } else {
        c->top_y = j[AV_J_SPINE4][1];
        float knee_y = 0.5f * (j[AV_J_L_KNEE][1] + j[AV_J_R_KNEE][1]);
        float ankle_y = 0.5f * (j[AV_J_L_ANKLE][1] + j[AV_J_R_ANKLE][1]);
        c->hem_y = lerpf(knee_y, ankle_y, g->length);
    }
}

/* Whether a tights face (centre ctr, mean arm weights arm[2]) belongs to the garment. */
static bool face_kept(const struct cut *c, const float ctr[3], const float arm[2])
{
    int side = arm[0] >= arm[1] ? 0 : 1;
    bool on_arm = arm[side] > 0.5f;
    if (c->type == AVATAR_GARMENT_TROUSERS)
        return !on_arm && ctr[1] <= c->top_y && ctr[1] >= c->hem_y;
    if (on_arm) {
        float ax[3], d[3];
        for (int k = 0; k < 3; k++) {
            ax[k] = c->wrist[side][k] - c->sh[side][k];
            d[k] = ctr[k] - c->sh[side][k];
        }
        float t = (d[0] * ax[0] + d[1] * ax[1] + d[2] * ax[2]) / (ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
        return t <= c->sleeve;
    }
    if (ctr[1] < c->hem_y)
        return false;
    float dx = ctr[0] - c->neck[0], dz = ctr[2] - c->neck[2];
    return !(ctr[1] > c->neck_y0 && dx * dx + dz * dz < c->neck_r * c->neck_r);
}

/* Undirected edge -> midpoint vertex, by binary search in a sorted key list. */
static uint64_t edge_key(int32_t a, int32_t b)
{
    return a < b ? ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) : ((uint64_t)(uint32_t)b << 32 | (uint32_t)a);
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}
static int32_t edge_find(const uint64_t *keys, size_t n, uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int32_t)lo;
}

/* The tights subdivided once: every k-gon into k quads (corner, midpoint of the next edge,
   centre, midpoint of the previous edge), vertices = corners, edge midpoints, face centres.
   pos is (nv,3) metres from the deformed array, arm (nv,2) the mean arm weights of the
   parents, quad (nq,4). */
struct fine { int nv, nq; float *pos, *arm; int32_t *quad; };

static void fine_free(struct fine *f)
{
    free(f->pos);
    free(f->arm);
    free(f->quad);
}

static enum tryon_status subdivide_tights(const struct avatar_model *m, const float *v, struct fine *out)
{
    memset(out, 0, sizeof *out);
    enum tryon_status s = TRYON_OK;
    int32_t *remap = malloc((size_t)m->nv * sizeof *remap);
    uint64_t *keys = malloc((size_t)m->ntq * 4 * sizeof *keys);
    if (!remap || !keys) {
        s = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
        goto done;
    }
    for (int i = 0; i < m->nv; i++)
        remap[i] = -1;
    int ncorner = 0, nsub = 0;
    size_t nkeys = 0;
    for (int f = 0; f < m->ntq; f++) {
        const int32_t *q = m->tights + (size_t)f * 4;
        int k = q[3] < 0 ? 3 : 4;
        nsub += k;
        for (int i = 0; i < k; i++) {
            remap[q[i]] = 0;
            keys[nkeys++] = edge_key(q[i], q[(i + 1) % k]);
        }
    }
    qsort(keys, nkeys, sizeof *keys, cmp_u64);
    size_t nedge = 0;
    for (size_t i = 0; i < nkeys; i++)
        if (i == 0 || keys[i] != keys[i - 1])
            keys[nedge++] = keys[i];
    for (int i = 0; i < m->nv; i++)
        if (remap[i] == 0)
            remap[i] = ncorner++;
    out->nv = ncorner + (int)nedge + m->ntq;
    out->nq = nsub;
    out->pos = malloc((size_t)out->nv * 3 * sizeof *out->pos);
    out->arm = malloc((size_t)out->nv * 2 * sizeof *out->arm);
    out->quad = malloc((size_t)out->nq * 4 * sizeof *out->quad);
    if (!out->pos || !out->arm || !out->quad) {
        s = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
        goto done;
    }
    const float *armw[2] = {m->region + (size_t)AV_R_ARM_L * m->nv, m->region + (size_t)AV_R_ARM_R * m->nv};
    for (int i = 0; i < m->nv; i++)
        if (remap[i] >= 0) {
            memcpy(out->pos + (size_t)remap[i] * 3, v + (size_t)i * 3, 3 * sizeof *out->pos);
            out->arm[remap[i] * 2 + 0] = armw[0][i];
            out->arm[remap[i] * 2 + 1] = armw[1][i];
        }
    for (size_t e = 0; e < nedge; e++) {
        int32_t a = (int32_t)(keys[e] >> 32), b = (int32_t)(keys[e] & 0xffffffffu);
        size_t o = (size_t)ncorner + e;
        for (int k = 0; k < 3; k++)
            out->pos[o * 3 + k] = 0.5f * (v[(size_t)a * 3 + k] + v[(size_t)b * 3 + k]);
        for (int k = 0; k < 2; k++)
            out->arm[o * 2 + k] = 0.5f * (armw[k][a] + armw[k][b]);
    }
    int nq = 0;
    for (int f = 0; f < m->ntq; f++) {
        const int32_t *q = m->tights + (size_t)f * 4;
        int k = q[3] < 0 ? 3 : 4;
        int32_t fc = ncorner + (int32_t)nedge + f;
        for (int j = 0; j < 3; j++) {
            float sum = 0;
            for (int i = 0; i < k; i++)
                sum += v[(size_t)q[i] * 3 + j];
            out->pos[(size_t)fc * 3 + j] = sum / (float)k;
        }
        for (int j = 0; j < 2; j++) {
            float sum = 0;
            for (int i = 0; i < k; i++)
                sum += armw[j][q[i]];
            out->arm[(size_t)fc * 2 + j] = sum / (float)k;
        }
        for (int i = 0; i < k; i++) {
            int32_t *o = out->quad + (size_t)nq++ * 4;
            o[0] = remap[q[i]];
            o[1] = ncorner + edge_find(keys, nedge, edge_key(q[i], q[(i + 1) % k]));
            o[2] = fc;
            o[3] = ncorner + edge_find(keys, nedge, edge_key(q[(i + k - 1) % k], q[i]));
        }
    }
done:
    free(remap);
    free(keys);
    if (s)
        fine_free(out);
    return s;
}

/* Straighten the cut's jagged boundary: each vertex with exactly two boundary neighbours
   moves halfway to their mean, a few times (the push-out afterwards keeps it off the body). */
static enum tryon_status smooth_boundary(struct avatar_mesh *g, const int32_t *quad, int nq)
{
    uint64_t *keys = malloc((size_t)nq * 4 * sizeof *keys);
    int32_t *nb = malloc((size_t)g->nv * 2 * sizeof *nb);
    int8_t *nnb = calloc((size_t)g->nv, 1);
    float *tmp = malloc((size_t)g->nv * 3 * sizeof *tmp);
    if (!keys || !nb || !nnb || !tmp) {
        free(keys), free(nb), free(nnb), free(tmp);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
    }
    for (int q = 0; q < nq; q++)
        for (int i = 0; i < 4; i++)
            keys[q * 4 + i] = edge_key(quad[q * 4 + i], quad[q * 4 + (i + 1) % 4]);
    qsort(keys, (size_t)nq * 4, sizeof *keys, cmp_u64);
    for (size_t i = 0; i < (size_t)nq * 4;) {
        size_t j = i;
        while (j < (size_t)nq * 4 && keys[j] == keys[i])
            j++;
        if (j - i == 1) {   /* used by one face: a boundary edge */
            int32_t a = (int32_t)(keys[i] >> 32), b = (int32_t)(keys[i] & 0xffffffffu);
            if (nnb[a] < 2)
                nb[a * 2 + nnb[a]] = b;
            if (nnb[b] < 2)
                nb[b * 2 + nnb[b]] = a;
            nnb[a] = (int8_t)(nnb[a] < 3 ? nnb[a] + 1 : 3);
            nnb[b] = (int8_t)(nnb[b] < 3 ? nnb[b] + 1 : 3);
        }
        i = j;
    }
    for (int it = 0; it < BOUNDARY_SMOOTH_STEPS; it++) {
        memcpy(tmp, g->pos, (size_t)g->nv * 3 * sizeof *tmp);
        for (int i = 0; i < g->nv; i++) {
            if (nnb[i] != 2)
                continue;
            const float *a = tmp + (size_t)nb[i * 2] * 3, *b = tmp + (size_t)nb[i * 2 + 1] * 3;
            for (int k = 0; k < 3; k++)
                g->pos[(size_t)i * 3 + k] = 0.5f * tmp[(size_t)i * 3 + k] + 0.25f * (a[k] + b[k]);
        }
    }
    free(keys), free(nb), free(nnb), free(tmp);
    return TRYON_OK;
}

/* Cut: the sub-quads of the subdivided tights whose centre is in the garment region,
   compacted into out (pos, tri), the boundary smoothed. */
static enum tryon_status cut_garment(const struct fine *fm, const struct cut *c, struct avatar_mesh *out)
{
    int32_t *remap = malloc((size_t)fm->nv * sizeof *remap);
    int32_t *quad = malloc((size_t)fm->nq * 4 * sizeof *quad);
    if (!remap || !quad) {
        free(remap), free(quad);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
    }
    for (int i = 0; i < fm->nv; i++)
        remap[i] = -1;
    int nq = 0;
    for (int q = 0; q < fm->nq; q++) {
        const int32_t *f = fm->quad + (size_t)q * 4;
        float ctr[3] = {0, 0, 0}, arm[2] = {0, 0};
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++)
                ctr[j] += 0.25f * fm->pos[(size_t)f[i] * 3 + j];
            arm[0] += 0.25f * fm->arm[f[i] * 2];
            arm[1] += 0.25f * fm->arm[f[i] * 2 + 1];
        }
        if (!face_kept(c, ctr, arm))
            continue;
        for (int i = 0; i < 4; i++) {
            quad[nq * 4 + i] = f[i];
            remap[f[i]] = 0;
        }
        nq++;
    }
    if (nq == 0) {
        free(remap), free(quad);
        return tryon_fail(TRYON_EINVAL, "avatar: the %s region holds no tights faces", avatar_garment_type_name(c->type));
    }
    int nv = 0;
    for (int i = 0; i < fm->nv; i++)
        if (remap[i] == 0)
            remap[i] = nv++;
    out->nv = nv;
    out->nt = 2 * nq;
    out->pos = malloc((size_t)nv * 3 * sizeof *out->pos);
    out->tri = malloc((size_t)out->nt * 3 * sizeof *out->tri);
    if (!out->pos || !out->tri) {
        free(remap), free(quad);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
    }
    for (int i = 0; i < fm->nv; i++)
        if (remap[i] >= 0)
            memcpy(out->pos + (size_t)remap[i] * 3, fm->pos + (size_t)i * 3, 3 * sizeof *out->pos);
    for (int q = 0; q < nq; q++) {
        int32_t *f = quad + (size_t)q * 4;
        for (int i = 0; i < 4; i++)
            f[i] = remap[f[i]];
        int32_t *t = out->tri + (size_t)q * 6;
        t[0] = f[0], t[1] = f[1], t[2] = f[2];
        t[3] = f[0], t[4] = f[2], t[5] = f[3];
    }
    enum tryon_status s = smooth_boundary(out, quad, nq);
    free(remap), free(quad);
    return s;
}

/* Move vertices inside the body, or nearer than PUSH_TRIGGER * offset, out to offset along
   the body's smooth normal at their nearest point; repeat for the vertices that moved (the
   others keep their distance) while any move: concave places take a few rounds. Where the
   body leaves less room than that (a narrow gap between two body parts) a vertex may still
   be inside after the rounds: it is then moved just outside along the direction to its
   nearest point. active is scratch (nv bytes). */
static void push_out(const struct av_surface *surf, float *pos, int nv, float offset, uint8_t *active)
{
    memset(active, 1, (size_t)nv);
    for (int it = 0; it < PUSH_ITERATIONS; it++) {
        int moved = 0;
        #pragma omp parallel for schedule(dynamic, 256) reduction(+ : moved)
        for (int i = 0; i < nv; i++) {
            if (!active[i])
                continue;
            float *p = pos + (size_t)i * 3, q[3], n[3];
            float d = av_surface_query(surf, p, q, n);
            active[i] = d < PUSH_TRIGGER * offset;
            if (!active[i])
                continue;
            for (int k = 0; k < 3; k++)
                p[k] = q[k] + offset * n[k];
            moved++;
        }
        if (moved == 0)
            break;
    }
    #pragma omp parallel for schedule(dynamic, 256)
    for (int i = 0; i < nv; i++) {
        if (!active[i])
            continue;
        float *p = pos + (size_t)i * 3, q[3], n[3];
        for (int tries = 0; tries < 4; tries++) {
            float d = av_surface_query(surf, p, q, n);
            if (d > 0.0f)
                break;
            float dir[3] = {q[0] - p[0], q[1] - p[1], q[2] - p[2]};
            float l = sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
            for (int k = 0; k < 3; k++)
                p[k] = q[k] + (l > 0.0f ? dir[k] / l : n[k]) * SAFETY_GAP_M;
        }
    }
}

enum tryon_status avatar_garment_build(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       struct avatar_mesh *out)
{
    memset(out, 0, sizeof *out);
    if ((unsigned)g->type >= AVATAR_GARMENT_NTYPES)
        return tryon_fail(TRYON_EINVAL, "avatar: garment type %d is not a known type", (int)g->type);
    if (!isfinite(g->length) || !isfinite(g->sleeve))
        return tryon_fail(TRYON_EINVAL, "avatar: garment length/sleeve must be finite");
    struct avatar_garment_est ge = *g;
    ge.length = fminf(1.0f, fmaxf(0.0f, ge.length));
    ge.sleeve = fminf(1.0f, fmaxf(0.0f, ge.sleeve));
    float *v = malloc((size_t)m->nv * 3 * sizeof *v);
    if (!v)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
    enum tryon_status s = av_deform(m, body, v);
    struct cut c;
    if (s == TRYON_OK) {
        make_cut(m, v, &ge, &c);
        struct fine fm;
        s = subdivide_tights(m, v, &fm);
        if (s == TRYON_OK) {
            s = cut_garment(&fm, &c, out);
            fine_free(&fm);
        }
    }
    free(v);
    struct av_surface *surf = NULL;
    if (s == TRYON_OK)
        s = av_surface_create(body_mesh, GRID_CELL_M, &surf);
    if (s == TRYON_OK) {
        uint8_t *active = malloc((size_t)out->nv);
        if (active) {
            push_out(surf, out->pos, out->nv, AVATAR_GARMENT_OFFSET_M, active);
            free(active);
            s = avatar_mesh_normals(out);
        } else {
            s = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
        }
        av_surface_free(surf);
    }
    if (s == TRYON_OK) {
        out->uv = malloc((size_t)out->nv * 2 * sizeof *out->uv);
        if (!out->uv)
            s = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment");
    }
    if (s) {
        avatar_mesh_free(out);
        return s;
    }
    float lo[3], hi[3];
    avatar_mesh_bounds(out, lo, hi);
    float sx = hi[0] > lo[0] ? 1.0f / (hi[0] - lo[0]) : 0.0f, sy = hi[1] > lo[1] ? 1.0f / (hi[1] - lo[1]) : 0.0f;
    for (int i = 0; i < out->nv; i++) {
        out->uv[i * 2 + 0] = (out->pos[(size_t)i * 3 + 0] - lo[0]) * sx;
        out->uv[i * 2 + 1] = (out->pos[(size_t)i * 3 + 1] - lo[1]) * sy;
    }
    return TRYON_OK;
}
