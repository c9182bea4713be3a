/* garment.c: garment templates (six types) cut from the base mesh's helper-tights surface,
 * given a cloth thickness, with the front/back UV atlas, and their 3D landmarks.
 *
 * The tights follow every macro target and the pose like the skin (av_deform deforms the
 * whole base mesh), so a garment is built from the deformed tights:
 *   1. the tights (corners at one position welded: the helper's parts meet in seams)
 *      subdivided once (each k-gon into k quads at edge midpoints and centre);
 *   2. the sub-quads whose centre lies in the type's region (below) kept (the cut's rims
 *      stay as the sub-quads give them, a staircase of about 1 cm: smoothing them along
 *      themselves folded the faces beside them); faces meeting the rest at one corner only
 *      are dropped, so every rim is a simple loop;
 *   3. every vertex inside the body or nearer than the offset (AVATAR_GARMENT_OFFSET_M +
 *      looseness) moved out by its deficit along the body's normal at its nearest point;
 *      then rounds of umbrella smoothing of the interior and the push again (relax), so
 *      the cloth bridges the body's creases (buttocks, crotch) instead of folding there;
 *   4. skirt and dress: below the yoke's lowest rim a lofted skirt: horizontal rings every
 *      LOFT_RING_M down to the hem, each ring LOFT_N points around the rim's centroid at
 *      the radius of the legs' convex hull (skin vertices in a thin height band, arms left
 *      out) plus the offset, never smaller than the ring above (plus a small A-line flare),
 *      so the cloth hangs around the legs; the yoke's rim is zipped to the first ring by
 *      merging the two angle-sorted sequences, then step 3's relax again;
 *   5. thickness: the surface above is the inner layer; the outer layer is it moved
 *      AVATAR_GARMENT_THICKNESS_M along the vertex normals smoothed over a few rings; each
 *      boundary edge gets a rim quad joining the two, so the mesh is closed and oriented
 *      outward; where the layers still cross (a crease sharper than the smoothed normals),
 *      the outer vertices of the crossing triangles halve their offset, a few rounds;
 *   6. uv: the front/back atlas of avatar.h; a triangle whose corners lie on both sides goes
 *      to its majority side and its other corners are duplicated there.
 *
 * Regions (joints from the deformed joint cubes; arm = the rig's arm weight above 0.5,
 * averaged over the sub-quad's corners; "neckline" leaves out the faces within 0.28
 * shoulder spans of the neck's vertical axis above the clavicles):
 *   t-shirt, long-sleeve: neckline down to the hem (waist = spine-3 joint at length 0, hip
 *             joints at 1); arm faces up to the fraction `sleeve` of shoulder..wrist;
 *   dress:    as a top down to the hip joints (yoke), then the loft down to the hem
 *             (mid-thigh at length 0, ankles at 1);
 *   skirt:    non-arm faces from the spine-4 joint down to the hip joints, then the loft;
 *   trousers: non-arm faces from the spine-4 joint down to the hem (0.35 of knees..ankles
 *             at length 0, so that the longest shorts and the shortest trousers differ;
 *             ankles at 1);
 *   shorts:   the same down to the hem (0.4 of hips..knees at length 0, knees at 1).
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PUSH_ITERATIONS 8
#define PUSH_TRIGGER 0.95f   /* push vertices nearer than this fraction of the offset */
#define SAFETY_GAP_M 0.001f  /* last resort: this far outside */
#define GRID_CELL_M 0.01f
#define THIN_ROUNDS 8       /* rounds of thinning the cloth where its layers cross */
#define RELAX_ROUNDS 8
#define RELAX_SUBSTEPS 6   /* smoothing steps per push */
#define NORMAL_SMOOTH_STEPS 12   /* rings over which the outer layer's offset direction is smoothed */
#define LOFT_RING_M 0.02f    /* vertical spacing of the skirt's rings */
#define LOFT_N 96            /* points per ring */
#define LOFT_BAND_M 0.012f   /* skin vertices within this height of a ring make its hull */
#define LOFT_FLARE 0.06f     /* radius added per metre down the skirt (A-line) */
#define LOFT_GAP_M 0.004f    /* the first ring this far below the yoke's lowest rim vertex */
#define MAX_LOOSENESS_M 0.05f
#define WAISTBAND_M 0.02f      /* drape: the top this deep of skirts and trousers is the waistband */
#define UNDER_REACH_M 0.02f    /* drape: a cloth vertex this far behind an inner garment is pushed out */
#define SELF_RADIUS_M 0.005f   /* drape: self-collision distance for dresses and long sleeves */

const char *avatar_garment_style_name(enum avatar_garment_style s)
{
    static const char *const names[AVATAR_STYLE_N] = {"ghost", "flat", "hanger"};
    return (int)s >= 0 && s < AVATAR_STYLE_N ? names[s] : "unknown";
}

void avatar_garment_style_shape(enum avatar_garment_style s, struct avatar_style_shape *out)
{
    /* flat: the upper arms 55 degrees from vertical (sleeves spread toward the
       horizontal), the legs 6 degrees apart, 2-3 cm of depth left; hanger: the upper arms 10
       degrees from vertical, legs together, a third of the depth */
    static const struct avatar_style_shape shapes[AVATAR_STYLE_N] = {
        {0.0f, 0.0f, 1.0f}, {-12.0f, 6.0f, 0.08f}, {33.0f, 0.0f, 0.3f}};
    *out = shapes[(int)s >= 0 && s < AVATAR_STYLE_N ? s : AVATAR_STYLE_GHOST];
}

void avatar_flatten_depth(float *pos, int n, float z_mid, float k)
{
    for (int i = 0; i < n; i++)
        pos[i * 3 + 2] = z_mid + k * (pos[i * 3 + 2] - z_mid);
}

const char *avatar_garment_type_name(enum avatar_garment_type t)
{
    switch (t) {
    case AVATAR_GARMENT_TSHIRT: return "t-shirt";
    case AVATAR_GARMENT_LONGSLEEVE: return "long-sleeve";
    case AVATAR_GARMENT_DRESS: return "dress";
    case AVATAR_GARMENT_SKIRT: return "skirt";
    case AVATAR_GARMENT_TROUSERS: return "trousers";
    case AVATAR_GARMENT_SHORTS: return "shorts";
    default: return "unknown";
    }
}

enum tryon_status avatar_garment_type_parse(const char *s, enum avatar_garment_type *t)
{
    static const struct { const char *name; enum avatar_garment_type t; } names[] = {
        {"t-shirt", AVATAR_GARMENT_TSHIRT},   {"top", AVATAR_GARMENT_TSHIRT},
        {"tee", AVATAR_GARMENT_TSHIRT},       {"shirt", AVATAR_GARMENT_TSHIRT},
        {"long-sleeve", AVATAR_GARMENT_LONGSLEEVE}, {"longsleeve", AVATAR_GARMENT_LONGSLEEVE},
        {"dress", AVATAR_GARMENT_DRESS},      {"skirt", AVATAR_GARMENT_SKIRT},
        {"trousers", AVATAR_GARMENT_TROUSERS}, {"pants", AVATAR_GARMENT_TROUSERS},
        {"jeans", AVATAR_GARMENT_TROUSERS},   {"shorts", AVATAR_GARMENT_SHORTS},
    };
    for (size_t i = 0; s && i < sizeof names / sizeof *names; i++)
        if (strcmp(s, names[i].name) == 0) {
            *t = names[i].t;
            return TRYON_OK;
        }
    return tryon_fail(TRYON_EINVAL,
                      "avatar: unknown garment type '%s' (expected t-shirt, long-sleeve, dress, skirt, trousers or "
                      "shorts)", s ? s : "(null)");
}

const char *avatar_landmark_name(enum avatar_landmark l)
{
    static const char *const names[AVATAR_LM_N] = {"collar", "l-shoulder", "r-shoulder", "l-sleeve", "r-sleeve",
                                                   "l-hem", "r-hem", "l-waist", "r-waist", "crotch"};
    return (unsigned)l < AVATAR_LM_N ? names[l] : "unknown";
}

static float lerpf(float a, float b, float t) { return a + t * (b - a); }
static float clampf(float v, float lo, float hi) { return fminf(hi, fmaxf(lo, v)); }

/* ===== regions ============================================================================ */

/* The garment's joints and heights, from the deformed base mesh. */
struct frame {
    float j[AV_NJOINTS][3];
    float hip_y, knee_y, ankle_y;
};

static void frame_init(const struct avatar_model *m, const float *v, struct frame *f)
{
    for (int i = 0; i < AV_NJOINTS; i++)
        av_joint_pos(m, v, (enum av_joint)i, f->j[i]);
    f->hip_y = 0.5f * (f->j[AV_J_L_UPPER_LEG][1] + f->j[AV_J_R_UPPER_LEG][1]);
    f->knee_y = 0.5f * (f->j[AV_J_L_KNEE][1] + f->j[AV_J_R_KNEE][1]);
    f->ankle_y = 0.5f * (f->j[AV_J_L_ANKLE][1] + f->j[AV_J_R_ANKLE][1]);
}

static bool has_loft(enum avatar_garment_type t) { return t == AVATAR_GARMENT_DRESS || t == AVATAR_GARMENT_SKIRT; }
static bool has_neck(enum avatar_garment_type t)
{
    return t == AVATAR_GARMENT_TSHIRT || t == AVATAR_GARMENT_LONGSLEEVE || t == AVATAR_GARMENT_DRESS;
}

/* The cut: which tights faces a garment keeps. */
struct cut {
    bool arms;                       /* keep arm faces up to `sleeve` */
    float top_y, bottom_y;           /* non-arm faces between these heights (metres) */
    bool neck;                       /* leave out faces within neck_r of the neck axis above neck_y0 */
    float neck_xz[2], neck_r, neck_y0;
    float sh[2][3], wrist[2][3];     /* shoulder and wrist joints, left and right */
    float sleeve;
    float hem_y;                     /* where the garment ends (the loft's last ring for skirt/dress) */
};

static void make_cut(const struct frame *f, const struct avatar_garment_est *g, struct cut *c)
{
    memset(c, 0, sizeof *c);
    for (int s = 0; s < 2; s++) {
        memcpy(c->sh[s], f->j[s ? AV_J_R_SHOULDER : AV_J_L_SHOULDER], sizeof c->sh[s]);
        memcpy(c->wrist[s], f->j[s ? AV_J_R_HAND : AV_J_L_HAND], sizeof c->wrist[s]);
    }
    c->sleeve = g->sleeve;
    c->neck = has_neck(g->type);
    c->arms = c->neck;
    float span = fabsf(f->j[AV_J_L_SHOULDER][0] - f->j[AV_J_R_SHOULDER][0]);
    c->neck_xz[0] = f->j[AV_J_NECK][0], c->neck_xz[1] = f->j[AV_J_NECK][2];
    c->neck_r = 0.28f * span;
    c->neck_y0 = 0.5f * (f->j[AV_J_L_CLAVICLE][1] + f->j[AV_J_R_CLAVICLE][1]);
    c->top_y = c->neck ? INFINITY : f->j[AV_J_SPINE4][1];
    float mid_thigh = lerpf(f->hip_y, f->knee_y, 0.5f);
    switch (g->type) {
    case AVATAR_GARMENT_TSHIRT:
    case AVATAR_GARMENT_LONGSLEEVE:
        c->bottom_y = c->hem_y = lerpf(f->j[AV_J_SPINE3][1], f->hip_y, g->length);
        break;
    case AVATAR_GARMENT_DRESS:
    case AVATAR_GARMENT_SKIRT:
        c->bottom_y = f->hip_y;
        c->hem_y = lerpf(mid_thigh, f->ankle_y, g->length);
        break;
    case AVATAR_GARMENT_TROUSERS:
        c->bottom_y = c->hem_y = lerpf(f->knee_y, f->ankle_y, 0.35f + 0.65f * g->length);
        break;
    default:   /* shorts */
        c->bottom_y = c->hem_y = lerpf(lerpf(f->hip_y, f->knee_y, 0.4f), f->knee_y, g->length);
        break;
    }
}

/* Whether a tights face (centre ctr, mean arm weights arm[2]) belongs to the garment. */
static bool face_kept(const struct cut *c, const float ctr[3], const float arm[2])
{
    int side = arm[0] >= arm[1] ? 0 : 1;
    if (arm[side] > 0.5f) {
        if (!c->arms)
            return false;
        float ax[3], d[3];
        for (int k = 0; k < 3; k++) {
            ax[k] = c->wrist[side][k] - c->sh[side][k];
            d[k] = ctr[k] - c->sh[side][k];
        }
        float t = (d[0] * ax[0] + d[1] * ax[1] + d[2] * ax[2]) / (ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
        return t <= c->sleeve;
    }
    if (ctr[1] < c->bottom_y || ctr[1] > c->top_y)
        return false;
    float dx = ctr[0] - c->neck_xz[0], dz = ctr[2] - c->neck_xz[1];
    return !(c->neck && ctr[1] > c->neck_y0 && dx * dx + dz * dz < c->neck_r * c->neck_r);
}

/* ===== growable triangle surface ========================================================== */

struct surf { int nv, nt, cv, ct; float *pos; int32_t *tri; };

static void surf_free(struct surf *s)
{
    free(s->pos);
    free(s->tri);
    memset(s, 0, sizeof *s);
}

static bool surf_reserve(struct surf *s, int nv, int nt)
{
    if (nv > s->cv) {
        int c = nv + nv / 2 + 64;
        float *p = realloc(s->pos, (size_t)c * 3 * sizeof *p);
        if (!p)
            return false;
        s->pos = p, s->cv = c;
    }
    if (nt > s->ct) {
        int c = nt + nt / 2 + 64;
        int32_t *t = realloc(s->tri, (size_t)c * 3 * sizeof *t);
        if (!t)
            return false;
        s->tri = t, s->ct = c;
    }
    return true;
}

static int32_t surf_vertex(struct surf *s, float x, float y, float z)
{
    float *p = s->pos + (size_t)s->nv * 3;
    p[0] = x, p[1] = y, p[2] = z;
    return s->nv++;
}

static void surf_tri(struct surf *s, int32_t a, int32_t b, int32_t c)
{
    int32_t *t = s->tri + (size_t)s->nt++ * 3;
    t[0] = a, t[1] = b, t[2] = c;
}

static enum tryon_status oom(void) { return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment"); }

/* Undirected edge keys, sorted, for counting how many triangles share an edge. */
static uint64_t edge_key(int32_t a, int32_t b)
{
    return a < b ? ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) : ((uint64_t)(uint32_t)b << 32 | (uint32_t)a);
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}
static size_t key_lower(const uint64_t *keys, size_t n, uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keys[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Boundary edges of s (used by one triangle), in their triangle's direction: bnext[a] = b
   for the boundary edge a -> b (-1 where none; a vertex with several keeps the first).
   Returns the number of boundary edges, or -1 when out of memory. */
static int boundary_next(const struct surf *s, int32_t *bnext)
{
    size_t n = (size_t)s->nt * 3;
    uint64_t *keys = malloc(n * sizeof *keys);
    if (!keys)
        return -1;
    for (int t = 0; t < s->nt; t++)
        for (int k = 0; k < 3; k++)
            keys[t * 3 + k] = edge_key(s->tri[t * 3 + k], s->tri[t * 3 + (k + 1) % 3]);
    qsort(keys, n, sizeof *keys, cmp_u64);
    for (int i = 0; i < s->nv; i++)
        bnext[i] = -1;
    int nb = 0;
    for (int t = 0; t < s->nt; t++)
        for (int k = 0; k < 3; k++) {
            int32_t a = s->tri[t * 3 + k], b = s->tri[t * 3 + (k + 1) % 3];
            uint64_t key = edge_key(a, b);
            size_t i = key_lower(keys, n, key);
            if (i + 1 < n && keys[i + 1] == key)
                continue;
            if (bnext[a] < 0)
                bnext[a] = b;
            nb++;
        }
    free(keys);
    return nb;
}

/* ===== the tights, subdivided and cut ===================================================== */

/* The tights subdivided once: vertices = corners, edge midpoints, face centres; arm (nv,2)
   the mean arm weights of the parents; quad (nq,4). */
struct fine { int nv, nq; float *pos, *arm; int32_t *quad; };

static void fine_free(struct fine *f)
{
    free(f->pos);
    free(f->arm);
    free(f->quad);
}

/* A base vertex with its position, sorted by position (numerically) then index. */
struct pos_idx { float p[3]; int32_t i; };
static int cmp_pos_idx(const void *pa, const void *pb)
{
    const struct pos_idx *a = pa, *b = pb;
    for (int k = 0; k < 3; k++)
        if (a->p[k] != b->p[k])
            return a->p[k] < b->p[k] ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static enum tryon_status subdivide_tights(const struct avatar_model *m, const float *v, struct fine *out)
{
    memset(out, 0, sizeof *out);
    enum tryon_status s = TRYON_OK;
    int32_t *remap = malloc((size_t)m->nv * sizeof *remap), *tq = NULL;
    struct pos_idx *order = NULL;
    uint64_t *keys = malloc((size_t)m->ntq * 4 * sizeof *keys);
    if (!remap || !keys) {
        s = oom();
        goto done;
    }
    for (int i = 0; i < m->nv; i++)
        remap[i] = -1;
    /* the tights' faces with their corners welded: several base vertices at one position
       (the seams of the helper's parts) become one */
    tq = malloc((size_t)m->ntq * 4 * sizeof *tq);
    order = malloc((size_t)m->ntq * 4 * sizeof *order);
    if (!tq || !order) {
        s = oom();
        goto done;
    }
    int ncorner = 0, nsub = 0;
    size_t nkeys = 0;
    for (int f = 0; f < m->ntq; f++)
        for (int i = 0; i < 4; i++)
            if (m->tights[f * 4 + i] >= 0) {
                int32_t v = m->tights[f * 4 + i];
                memcpy(order[nkeys].p, m->base + (size_t)v * 3, sizeof order[nkeys].p);
                order[nkeys++].i = v;
            }
    qsort(order, nkeys, sizeof *order, cmp_pos_idx);
    for (size_t i = 0; i < nkeys; i++) {   /* remap[v] = the first vertex at v's position */
        const float *a = order[i].p, *b = i > 0 ? order[i - 1].p : NULL;
        bool same = b && a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
        remap[order[i].i] = same ? remap[order[i - 1].i] : order[i].i;
    }
    for (int f = 0; f < m->ntq * 4; f++)
        tq[f] = m->tights[f] >= 0 ? remap[m->tights[f]] : -1;
    for (int i = 0; i < m->nv; i++)
        remap[i] = -1;
    nkeys = 0;
    for (int f = 0; f < m->ntq; f++) {
        const int32_t *q = tq + (size_t)f * 4;
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
        s = oom();
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
        const int32_t *q = tq + (size_t)f * 4;
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
            o[1] = ncorner + (int32_t)key_lower(keys, nedge, edge_key(q[i], q[(i + 1) % k]));
            o[2] = fc;
            o[3] = ncorner + (int32_t)key_lower(keys, nedge, edge_key(q[(i + k - 1) % k], q[i]));
        }
    }
done:
    free(remap);
    free(keys);
    free(tq);
    free(order);
    if (s)
        fine_free(out);
    return s;
}

/* Remove "bow-tie" faces: a vertex where the kept faces meet in more than one fan has two
   outgoing boundary edges, which a rim cannot join; the faces of all but its largest fan are
   dropped, repeatedly, until every boundary vertex has one boundary edge in and one out.
   keep (nq) is updated in place. */
static void drop_bowties(const struct fine *fm, uint8_t *keep)
{
    int32_t *cnt = malloc((size_t)fm->nv * sizeof *cnt);
    uint64_t *keys = malloc((size_t)fm->nq * 4 * sizeof *keys);
    if (!cnt || !keys) {
        free(cnt), free(keys);
        return;
    }
    for (int round = 0; round < 8; round++) {
        size_t n = 0;
        for (int q = 0; q < fm->nq; q++)
            if (keep[q])
                for (int i = 0; i < 4; i++)
                    keys[n++] = edge_key(fm->quad[q * 4 + i], fm->quad[q * 4 + (i + 1) % 4]);
        qsort(keys, n, sizeof *keys, cmp_u64);
        memset(cnt, 0, (size_t)fm->nv * sizeof *cnt);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && keys[j] == keys[i])
                j++;
            if (j - i == 1) {
                cnt[keys[i] >> 32]++;
                cnt[keys[i] & 0xffffffffu]++;
            }
            i = j;
        }
        /* a vertex on more than two boundary edges: drop its kept faces that have only one
           kept neighbour across their edges at that vertex (the thin side of the bow-tie) */
        int dropped = 0;
        for (int q = 0; q < fm->nq; q++) {
            if (!keep[q])
                continue;
            const int32_t *f = fm->quad + (size_t)q * 4;
            for (int i = 0; i < 4; i++) {
                if (cnt[f[i]] <= 2)
                    continue;
                uint64_t e1 = edge_key(f[i], f[(i + 1) % 4]), e2 = edge_key(f[(i + 3) % 4], f[i]);
                size_t a = key_lower(keys, n, e1), b = key_lower(keys, n, e2);
                bool open1 = !(a + 1 < n && keys[a + 1] == e1), open2 = !(b + 1 < n && keys[b + 1] == e2);
                if (open1 && open2) {   /* a face touching the rest only at this corner */
                    keep[q] = 0;
                    dropped++;
                    break;
                }
            }
        }
        if (!dropped)
            break;
    }
    free(cnt), free(keys);
}

/* Cut: the sub-quads whose centre is in the garment region, compacted into s as two
   triangles each. */
static enum tryon_status cut_garment(const struct fine *fm, const struct cut *c, struct surf *s)
{
    int32_t *remap = malloc((size_t)fm->nv * sizeof *remap);
    uint8_t *keep = calloc((size_t)fm->nq, 1);
    if (!remap || !keep) {
        free(remap), free(keep);
        return oom();
    }
    for (int q = 0; q < fm->nq; q++) {
        const int32_t *f = fm->quad + (size_t)q * 4;
        float ctr[3] = {0, 0, 0}, arm[2] = {0, 0};
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++)
                ctr[j] += 0.25f * fm->pos[(size_t)f[i] * 3 + j];
            arm[0] += 0.25f * fm->arm[f[i] * 2];
            arm[1] += 0.25f * fm->arm[f[i] * 2 + 1];
        }
        keep[q] = face_kept(c, ctr, arm);
    }
    drop_bowties(fm, keep);
    for (int i = 0; i < fm->nv; i++)
        remap[i] = -1;
    int nq = 0;
    for (int q = 0; q < fm->nq; q++)
        if (keep[q]) {
            nq++;
            for (int i = 0; i < 4; i++)
                remap[fm->quad[q * 4 + i]] = 0;
        }
    int nv = 0;
    for (int i = 0; i < fm->nv; i++)
        if (remap[i] == 0)
            remap[i] = nv++;
    enum tryon_status st = TRYON_OK;
    if (nq == 0)
        st = tryon_fail(TRYON_EINVAL, "avatar: the garment region holds no tights faces");
    else if (!surf_reserve(s, nv, 2 * nq))
        st = oom();
    if (st == TRYON_OK) {
        for (int i = 0; i < fm->nv; i++)
            if (remap[i] >= 0)
                memcpy(s->pos + (size_t)remap[i] * 3, fm->pos + (size_t)i * 3, 3 * sizeof *s->pos);
        s->nv = nv;
        for (int q = 0; q < fm->nq; q++) {
            if (!keep[q])
                continue;
            const int32_t *f = fm->quad + (size_t)q * 4;
            surf_tri(s, remap[f[0]], remap[f[1]], remap[f[2]]);
            surf_tri(s, remap[f[0]], remap[f[2]], remap[f[3]]);
        }
    }
    free(remap), free(keep);
    return st;
}

/* ===== push-out =========================================================================== */

/* Move vertices inside the body, or nearer than PUSH_TRIGGER * offset, out by their deficit
   (offset - distance) along the body's smooth normal at their nearest point; repeat for the vertices that moved while
   any move. Where the body leaves less room (a narrow gap between two body parts) a vertex
   still inside after the rounds is moved just outside along the direction to its nearest
   point. */
static enum tryon_status push_out(const struct av_surface *surf, float *pos, int nv, float offset)
{
    uint8_t *active = malloc((size_t)nv);
    if (!active)
        return oom();
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
            for (int k = 0; k < 3; k++)   /* by the deficit: neighbours never collapse onto one point */
                p[k] += (offset - d) * n[k];
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
    free(active);
    return TRYON_OK;
}

/* Cloth bridges the body's creases (between the buttocks, the crotch, under the arms)
   instead of following them, and the push along two facing normals folds the surface
   there: a few rounds of umbrella smoothing of the interior vertices (each moves halfway to
   its neighbours' mean), each followed by the push, let the surface span such creases.
   Boundary vertices stay where the cut put them (smoothing a closed rim along itself
   would shrink it over the faces beside it). */
static enum tryon_status relax(struct surf *s, const struct av_surface *bs, float offset)
{
    size_t n = (size_t)s->nt * 3;
    uint64_t *keys = malloc(n * sizeof *keys);
    int32_t *start = calloc((size_t)s->nv + 1, sizeof *start), *nb = malloc(2 * n * sizeof *nb);
    uint8_t *border = calloc((size_t)s->nv, 1);
    float *tmp = malloc((size_t)s->nv * 3 * sizeof *tmp);
    enum tryon_status st = TRYON_OK;
    if (!keys || !start || !nb || !border || !tmp) {
        st = oom();
        goto done;
    }
    for (int t = 0; t < s->nt; t++)
        for (int k = 0; k < 3; k++)
            keys[t * 3 + k] = edge_key(s->tri[t * 3 + k], s->tri[t * 3 + (k + 1) % 3]);
    qsort(keys, n, sizeof *keys, cmp_u64);
    size_t ne = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && keys[j] == keys[i])
            j++;
        int32_t a = (int32_t)(keys[i] >> 32), b = (int32_t)(keys[i] & 0xffffffffu);
        if (j - i == 1)
            border[a] = border[b] = 1;
        keys[ne++] = keys[i];
        start[a + 1]++, start[b + 1]++;
        i = j;
    }
    for (int v = 0; v < s->nv; v++)
        start[v + 1] += start[v];
    for (size_t e = 0; e < ne; e++) {   /* fill, then restore the starts */
        int32_t a = (int32_t)(keys[e] >> 32), b = (int32_t)(keys[e] & 0xffffffffu);
        nb[start[a]++] = b;
        nb[start[b]++] = a;
    }
    for (int v = s->nv; v > 0; v--)
        start[v] = start[v - 1];
    start[0] = 0;
    for (int r = 0; r < RELAX_ROUNDS * RELAX_SUBSTEPS && st == TRYON_OK; r++) {
        memcpy(tmp, s->pos, (size_t)s->nv * 3 * sizeof *tmp);
        for (int v = 0; v < s->nv; v++) {
            if (border[v])
                continue;
            if (start[v + 1] == start[v])
                continue;
            float mean[3] = {0, 0, 0}, w = 1.0f / (float)(start[v + 1] - start[v]);
            for (int32_t k = start[v]; k < start[v + 1]; k++)
                for (int j = 0; j < 3; j++)
                    mean[j] += w * tmp[(size_t)nb[k] * 3 + j];
            for (int j = 0; j < 3; j++)
                s->pos[(size_t)v * 3 + j] = 0.5f * (tmp[(size_t)v * 3 + j] + mean[j]);
        }
        if (r % RELAX_SUBSTEPS == RELAX_SUBSTEPS - 1)
            st = push_out(bs, s->pos, s->nv, offset);
    }
done:
    free(keys), free(start), free(nb), free(border), free(tmp);
    return st;
}

/* ===== the lofted skirt =================================================================== */

/* Farthest distance from c along the direction (cos th, sin th) at which the closed polygon
   (n points, xz pairs) is crossed; 0 when it is not. */
static float ray_poly(const float *poly, int n, const float c[2], float th)
{
    float dx = cosf(th), dz = sinf(th), best = 0;
    for (int i = 0; i < n; i++) {
        const float *a = poly + i * 2, *b = poly + ((i + 1) % n) * 2;
        float ex = b[0] - a[0], ez = b[1] - a[1];
        float den = dx * ez - dz * ex;
        if (fabsf(den) < 1e-12f)
            continue;
        float ax = a[0] - c[0], az = a[1] - c[1];
        float t = (ax * ez - az * ex) / den;       /* along the ray */
        float u = (ax * dz - az * dx) / den;       /* along the edge */
        if (u >= 0.0f && u <= 1.0f && t > best)
            best = t;
    }
    return best;
}

static int cmp_xz(const void *pa, const void *pb)
{
    const float *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

static float cross2(const float *o, const float *a, const float *b)
{
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/* Convex hull of n xz points (sorted in place) by the monotone chain, into hull (2n floats);
   returns its point count. */
static int hull2(float *pts, int n, float *hull)
{
    if (n < 3)
        return 0;
    qsort(pts, (size_t)n, 2 * sizeof *pts, cmp_xz);
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross2(hull + (k - 2) * 2, hull + (k - 1) * 2, pts + i * 2) <= 0)
            k--;
        hull[k * 2] = pts[i * 2], hull[k * 2 + 1] = pts[i * 2 + 1], k++;
    }
    for (int i = n - 2, lo = k + 1; i >= 0; i--) {
        while (k >= lo && cross2(hull + (k - 2) * 2, hull + (k - 1) * 2, pts + i * 2) <= 0)
            k--;
        hull[k * 2] = pts[i * 2], hull[k * 2 + 1] = pts[i * 2 + 1], k++;
    }
    return k - 1;
}

/* Triangle (a, b, c), or (a, c, b) when flip. */
static void add_tri(struct surf *s, bool flip, int32_t a, int32_t b, int32_t c)
{
    if (flip)
        surf_tri(s, a, c, b);
    else
        surf_tri(s, a, b, c);
}

/* Add the skirt below the yoke's lowest rim down to hem_y, zipped to the rim. body_pos /
   body_arm: the skin vertices (nb) and their arm weight (max of the sides). */
static enum tryon_status add_loft(struct surf *s, const float *body_pos, const float *arm_l, const float *arm_r,
                                  int nb, float hem_y, float offset)
{
    int32_t *next = malloc((size_t)s->nv * sizeof *next);
    uint8_t *seen = calloc((size_t)s->nv, 1);
    int32_t *loop = NULL, *best = NULL;
    float *pts = NULL, *hull = NULL, *ang = NULL, *rad = NULL, *lxz = NULL;
    enum tryon_status st = TRYON_OK;
    if (!next || !seen || boundary_next(s, next) < 0) {
        st = oom();
        goto done;
    }
    /* the boundary loop with the lowest mean height */
    loop = malloc((size_t)s->nv * sizeof *loop);
    best = malloc((size_t)s->nv * sizeof *best);
    if (!loop || !best) {
        st = oom();
        goto done;
    }
    int nbest = 0;
    float best_y = INFINITY;
    for (int i = 0; i < s->nv; i++) {
        if (next[i] < 0 || seen[i])
            continue;
        int n = 0;
        double ys = 0;
        for (int v = i; v >= 0 && !seen[v]; v = next[v]) {
            seen[v] = 1;
            loop[n++] = v;
            ys += s->pos[(size_t)v * 3 + 1];
        }
        if (n >= 3 && ys / n < best_y) {
            best_y = (float)(ys / n);
            memcpy(best, loop, (size_t)n * sizeof *best);
            nbest = n;
        }
    }
    if (nbest < 3) {
        st = tryon_fail(TRYON_EINVAL, "avatar: the skirt's yoke has no lower rim");
        goto done;
    }
    /* axis: the rim's centroid; the rim's angles unwrapped in the rim's direction */
    float c[2] = {0, 0}, rim_lo = INFINITY;
    for (int i = 0; i < nbest; i++) {
        const float *p = s->pos + (size_t)best[i] * 3;
        c[0] += p[0] / (float)nbest, c[1] += p[2] / (float)nbest;
        rim_lo = fminf(rim_lo, p[1]);
    }
    ang = malloc((size_t)(nbest + 1) * sizeof *ang);
    lxz = malloc((size_t)nbest * 2 * sizeof *lxz);
    if (!ang || !lxz) {
        st = oom();
        goto done;
    }
    double turn = 0;
    for (int i = 0; i < nbest; i++) {
        const float *p = s->pos + (size_t)best[i] * 3, *q = s->pos + (size_t)best[(i + 1) % nbest] * 3;
        double d = atan2(q[2] - c[1], q[0] - c[0]) - atan2(p[2] - c[1], p[0] - c[0]);
        turn += d - 2.0 * M_PI * floor((d + M_PI) / (2.0 * M_PI));
    }
    bool rev = turn < 0;   /* walk the rim so that its angle increases */
    if (rev)
        for (int i = 0; i < nbest / 2; i++) {
            int32_t t = best[i];
            best[i] = best[nbest - 1 - i], best[nbest - 1 - i] = t;
        }
    int i0 = 0;
    for (int i = 0; i < nbest; i++) {
        const float *p = s->pos + (size_t)best[i] * 3;
        lxz[i * 2] = p[0], lxz[i * 2 + 1] = p[2];
        if (atan2f(p[2] - c[1], p[0] - c[0]) < atan2f(s->pos[(size_t)best[i0] * 3 + 2] - c[1],
                                                       s->pos[(size_t)best[i0] * 3] - c[0]))
            i0 = i;
    }
    for (int i = 0; i <= nbest; i++) {
        const float *p = s->pos + (size_t)best[(i0 + i) % nbest] * 3;
        float a = atan2f(p[2] - c[1], p[0] - c[0]);
        if (i > 0) {
            while (a < ang[i - 1] - (float)M_PI)
                a += 2.0f * (float)M_PI;
            a = fmaxf(a, ang[i - 1]);
        }
        ang[i] = a;
    }
    ang[nbest] = fmaxf(ang[nbest], ang[0] + 2.0f * (float)M_PI);

    /* rings */
    float y0 = rim_lo - LOFT_GAP_M;
    int nring = y0 > hem_y ? 1 + (int)ceilf((y0 - hem_y) / LOFT_RING_M) : 1;
    pts = malloc((size_t)nb * 2 * sizeof *pts);
    hull = malloc((size_t)(nb + 1) * 2 * sizeof *hull);
    rad = malloc(LOFT_N * sizeof *rad);
    if (!pts || !hull || !rad || !surf_reserve(s, s->nv + nring * LOFT_N, s->nt + nbest + LOFT_N * (2 * nring + 1))) {
        st = oom();
        goto done;
    }
    int32_t first = s->nv;
    for (int k = 0; k < nring; k++) {
        float y = nring > 1 ? lerpf(y0, hem_y, (float)k / (float)(nring - 1)) : y0;
        int np = 0;
        for (int i = 0; i < nb; i++) {
            const float *p = body_pos + (size_t)i * 3;
            if (fabsf(p[1] - y) < LOFT_BAND_M && fmaxf(arm_l[i], arm_r[i]) <= 0.5f)
                pts[np * 2] = p[0], pts[np * 2 + 1] = p[2], np++;
        }
        int nh = hull2(pts, np, hull);
        for (int j = 0; j < LOFT_N; j++) {
            float th = ang[0] + 2.0f * (float)M_PI * (float)j / LOFT_N;
            float r = nh ? ray_poly(hull, nh, c, th) + offset : 0.0f;
            if (k == 0)
                r = fmaxf(r, ray_poly(lxz, nbest, c, th));
            else
                r = fmaxf(r, rad[j] + LOFT_FLARE * (y0 - hem_y) / (float)(nring - 1));
            rad[j] = r;
            surf_vertex(s, c[0] + r * cosf(th), y, c[1] + r * sinf(th));
        }
    }
    /* walls between rings and the zip, oriented like the yoke: its triangles hold the rim's
       edges in the direction of `best` unless the walk was reversed, so the zip holds them
       the other way (and the rings follow) */
    for (int k = 0; k + 1 < nring; k++)
        for (int j = 0; j < LOFT_N; j++) {
            int32_t a = first + k * LOFT_N + j, b = first + k * LOFT_N + (j + 1) % LOFT_N;
            add_tri(s, rev, b, a, a + LOFT_N);
            add_tri(s, rev, b, a + LOFT_N, b + LOFT_N);
        }
    /* zip the rim (angles ang[0..nbest]) to the first ring (angles ang[0] + 2 pi j / N) */
    for (int i = 0, j = 0; i < nbest || j < LOFT_N;) {
        float bj1 = ang[0] + 2.0f * (float)M_PI * (float)(j + 1) / LOFT_N;
        int32_t li = best[(i0 + i) % nbest], rj = first + j % LOFT_N;
        if (j == LOFT_N || (i < nbest && ang[i + 1] <= bj1)) {
            add_tri(s, rev, best[(i0 + i + 1) % nbest], li, rj);
            i++;
        } else {
            add_tri(s, rev, li, rj, first + (j + 1) % LOFT_N);
            j++;
        }
    }
done:
    free(next), free(seen), free(loop), free(best), free(pts), free(hull), free(ang), free(rad), free(lxz);
    return st;
}

/* ===== self-intersection repair =========================================================== */

/* Whether segment p0-p1 crosses triangle abc strictly inside both (Moller-Trumbore). */
static bool seg_tri(const float *p0, const float *p1, const float *a, const float *b, const float *c)
{
    double d[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
    double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double h[3] = {d[1] * e2[2] - d[2] * e2[1], d[2] * e2[0] - d[0] * e2[2], d[0] * e2[1] - d[1] * e2[0]};
    double det = e1[0] * h[0] + e1[1] * h[1] + e1[2] * h[2];
    if (fabs(det) < 1e-20)
        return false;
    double w[3] = {p0[0] - a[0], p0[1] - a[1], p0[2] - a[2]};
    double u = (w[0] * h[0] + w[1] * h[1] + w[2] * h[2]) / det;
    if (u < 0 || u > 1)
        return false;
    double q[3] = {w[1] * e1[2] - w[2] * e1[1], w[2] * e1[0] - w[0] * e1[2], w[0] * e1[1] - w[1] * e1[0]};
    double v = (d[0] * q[0] + d[1] * q[1] + d[2] * q[2]) / det;
    if (v < 0 || u + v > 1)
        return false;
    double t = (e2[0] * q[0] + e2[1] * q[1] + e2[2] * q[2]) / det;
    return t >= 0 && t <= 1;
}

/* Mark (hit[v] = 1) the vertices of every pair of triangles of g that share no vertex and
   intersect; triangles binned by their bounds in cells of GRID_CELL_M, a pair tested in the
   first cell of the overlap of their bounds. Returns the number of pairs, -1 out of memory. */
static int mark_intersections(const struct avatar_mesh *g, uint8_t *hit)
{
    float lo[3], hi[3];
    avatar_mesh_bounds(g, lo, hi);
    int dim[3];
    for (int k = 0; k < 3; k++)
        dim[k] = (int)((hi[k] - lo[k]) / GRID_CELL_M) + 1;
    size_t ncell = (size_t)dim[0] * dim[1] * dim[2];
    int32_t *start = calloc(ncell + 1, sizeof *start), *items = NULL;
    int32_t(*box)[6] = malloc((size_t)g->nt * sizeof *box);
    int pairs = -1;
    if (!start || !box)
        goto done;
    for (int t = 0; t < g->nt; t++)
        for (int k = 0; k < 3; k++) {
            float a = INFINITY, b = -INFINITY;
            for (int j = 0; j < 3; j++) {
                float v = g->pos[(size_t)g->tri[t * 3 + j] * 3 + k];
                a = fminf(a, v), b = fmaxf(b, v);
            }
            box[t][k] = (int)((a - lo[k]) / GRID_CELL_M);
            box[t][3 + k] = (int)((b - lo[k]) / GRID_CELL_M);
            if (box[t][3 + k] >= dim[k])
                box[t][3 + k] = dim[k] - 1;
        }
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < g->nt; t++)
            for (int z = box[t][2]; z <= box[t][5]; z++)
                for (int y = box[t][1]; y <= box[t][4]; y++)
                    for (int x = box[t][0]; x <= box[t][3]; x++) {
                        size_t c = ((size_t)z * dim[1] + y) * dim[0] + x;
                        if (pass == 0)
                            start[c + 1]++;
                        else
                            items[start[c]++] = t;
                    }
        if (pass == 0) {
            for (size_t c = 0; c < ncell; c++)
                start[c + 1] += start[c];
            items = malloc((size_t)start[ncell] * sizeof *items + 1);
            if (!items)
                goto done;
        } else {
            for (size_t c = ncell; c > 0; c--)
                start[c] = start[c - 1];
            start[0] = 0;
        }
    }
    pairs = 0;
    for (size_t c = 0; c < ncell; c++) {
        int cx = (int)(c % dim[0]), cy = (int)(c / dim[0] % dim[1]), cz = (int)(c / dim[0] / dim[1]);
        for (int32_t i = start[c]; i < start[c + 1]; i++)
            for (int32_t j = i + 1; j < start[c + 1]; j++) {
                int a = items[i], b = items[j];
                if (cx != (box[a][0] > box[b][0] ? box[a][0] : box[b][0]) ||
                    cy != (box[a][1] > box[b][1] ? box[a][1] : box[b][1]) ||
                    cz != (box[a][2] > box[b][2] ? box[a][2] : box[b][2]))
                    continue;
                const int32_t *fa = g->tri + (size_t)a * 3, *fb = g->tri + (size_t)b * 3;
                bool share = false;
                for (int u = 0; u < 3; u++)
                    for (int v = 0; v < 3; v++)
                        share |= fa[u] == fb[v];
                if (share)
                    continue;
                const float *A[3], *B[3];
                for (int k = 0; k < 3; k++)
                    A[k] = g->pos + (size_t)fa[k] * 3, B[k] = g->pos + (size_t)fb[k] * 3;
                bool x = false;
                for (int k = 0; k < 3 && !x; k++)
                    x = seg_tri(A[k], A[(k + 1) % 3], B[0], B[1], B[2]) || seg_tri(B[k], B[(k + 1) % 3], A[0], A[1], A[2]);
                if (!x)
                    continue;
                pairs++;
                for (int k = 0; k < 3; k++)
                    hit[fa[k]] = hit[fb[k]] = 1;
            }
    }
done:
    free(start), free(items), free(box);
    return pairs;
}

/* ===== thickness and uv =================================================================== */

/* The closed shell of surface s (its normals n): inner layer = s, outer layer = s moved
   thickness along n, rims at the boundary edges; uv from the atlas of the shell itself
   (uvpos NULL) or of the rest surface at uvpos with normals uvn (a drape's rest shape, so
   the print stays where the template has it), seam vertices duplicated. origin (optional): malloc'd (out->nv),
   the vertex of s each shell vertex comes from. */
static enum tryon_status thicken(const struct surf *s, const float *n, float thickness, const float *uvpos,
                                 const float *uvn, struct avatar_mesh *out, int32_t **origin)
{
    int32_t *bnext = malloc((size_t)s->nv * sizeof *bnext);
    if (!bnext)
        return oom();
    int nbe = boundary_next(s, bnext);
    if (nbe < 0) {
        free(bnext);
        return oom();
    }
    int nv = 2 * s->nv, nt = 2 * s->nt + 2 * nbe;
    struct avatar_mesh g = {0};
    g.pos = malloc((size_t)nv * 3 * sizeof *g.pos);
    g.tri = malloc((size_t)nt * 3 * sizeof *g.tri);
    uint8_t *front = malloc((size_t)nv);
    if (!g.pos || !g.tri || !front) {
        free(bnext), free(front), avatar_mesh_free(&g);
        return oom();
    }
    /* the outer layer moves along the normals smoothed over a few rings, so that at a
       crease (where the surface bridges a fold of the body) neighbouring offsets do not
       cross */
    float *ns = malloc((size_t)s->nv * 3 * sizeof *ns);
    double *acc = malloc((size_t)s->nv * 3 * sizeof *acc);
    if (!ns || !acc) {
        free(bnext), free(front), free(ns), free(acc), avatar_mesh_free(&g);
        return oom();
    }
    memcpy(ns, n, (size_t)s->nv * 3 * sizeof *ns);
    for (int it = 0; it < NORMAL_SMOOTH_STEPS; it++) {
        memset(acc, 0, (size_t)s->nv * 3 * sizeof *acc);
        for (int f = 0; f < s->nt; f++) {
            const int32_t *a = s->tri + (size_t)f * 3;
            for (int k = 0; k < 3; k++) {
                double sum = (double)ns[(size_t)a[0] * 3 + k] + ns[(size_t)a[1] * 3 + k] + ns[(size_t)a[2] * 3 + k];
                for (int c = 0; c < 3; c++)
                    acc[(size_t)a[c] * 3 + k] += sum;
            }
        }
        for (int i = 0; i < s->nv; i++) {
            double *v = acc + (size_t)i * 3, l = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
            if (l > 0)
                for (int k = 0; k < 3; k++)
                    ns[(size_t)i * 3 + k] = (float)(v[k] / l);
        }
    }
    for (int i = 0; i < s->nv; i++)
        for (int k = 0; k < 3; k++) {
            g.pos[(size_t)i * 3 + k] = s->pos[(size_t)i * 3 + k];
            g.pos[(size_t)(s->nv + i) * 3 + k] = s->pos[(size_t)i * 3 + k] + thickness * ns[(size_t)i * 3 + k];
        }
    const float *side_n = uvpos ? uvn : n;
    for (int i = 0; i < s->nv; i++)
        front[i] = front[s->nv + i] = side_n[(size_t)i * 3 + 2] >= 0.0f;
    int t = 0, o = s->nv;
    for (int f = 0; f < s->nt; f++) {
        const int32_t *a = s->tri + (size_t)f * 3;
        int32_t *po = g.tri + (size_t)t++ * 3, *pi = g.tri + (size_t)t++ * 3;
        po[0] = a[0] + o, po[1] = a[1] + o, po[2] = a[2] + o;   /* outer, as s */
        pi[0] = a[0], pi[1] = a[2], pi[2] = a[1];               /* inner, reversed */
    }
    /* rim: boundary edge a -> b (direction in its triangle): quad (b', a', a, b) */
    for (int a = 0; a < s->nv; a++) {
        int32_t b = bnext[a];
        if (b < 0)
            continue;
        int32_t *r1 = g.tri + (size_t)t++ * 3, *r2 = g.tri + (size_t)t++ * 3;
        r1[0] = b + o, r1[1] = a + o, r1[2] = a;
        r2[0] = b + o, r2[1] = a, r2[2] = b;
    }
    g.nv = nv;
    g.nt = t;
    free(bnext);
    /* where the layers still cross (a crease sharper than the smoothed normals follow), the
       cloth is made thinner there: the outer vertices of crossing triangles halve their
       offset, until nothing crosses (at zero thickness the layers coincide, and the single
       layer does not cross itself) */
    uint8_t *hit = calloc((size_t)nv, 1);
    float *th = malloc((size_t)s->nv * sizeof *th);
    if (!hit || !th) {
        free(hit), free(th), free(ns), free(acc), free(front), avatar_mesh_free(&g);
        return oom();
    }
    for (int i = 0; i < s->nv; i++)
        th[i] = thickness;
    for (int round = 0; round < THIN_ROUNDS; round++) {
        memset(hit, 0, (size_t)nv);
        int pairs = mark_intersections(&g, hit);
        if (pairs <= 0)
            break;
        for (int i = 0; i < s->nv; i++) {
            if (!hit[i] && !hit[s->nv + i])
                continue;
            th[i] *= 0.5f;
            for (int k = 0; k < 3; k++)
                g.pos[(size_t)(s->nv + i) * 3 + k] = s->pos[(size_t)i * 3 + k] + th[i] * ns[(size_t)i * 3 + k];
        }
    }
    free(hit), free(th), free(ns), free(acc);
    enum tryon_status st = avatar_mesh_normals(&g);
    if (st) {
        free(front), avatar_mesh_free(&g);
        return st;
    }
    /* seam: a triangle goes to its majority side; its corners on the other side use a
       duplicate of the vertex (one per vertex at most) */
    int32_t *dup = malloc((size_t)nv * sizeof *dup);
    int ndup = 0;
    if (!dup) {
        free(front), avatar_mesh_free(&g);
        return oom();
    }
    for (int i = 0; i < nv; i++)
        dup[i] = -1;
    for (int f = 0; f < g.nt; f++) {
        int32_t *tr = g.tri + (size_t)f * 3;
        int nf = front[tr[0]] + front[tr[1]] + front[tr[2]];
        if (nf == 0 || nf == 3)
            continue;
        uint8_t side = nf >= 2;
        for (int k = 0; k < 3; k++)
            if (front[tr[k]] != side) {
                if (dup[tr[k]] < 0)
                    dup[tr[k]] = nv + ndup++;
                tr[k] = dup[tr[k]];
            }
    }
    float *pos = realloc(g.pos, (size_t)(nv + ndup) * 3 * sizeof *pos);
    if (pos)
        g.pos = pos;
    float *nrm = pos ? realloc(g.nrm, (size_t)(nv + ndup) * 3 * sizeof *nrm) : NULL;
    if (nrm)
        g.nrm = nrm;
    uint8_t *fr = nrm ? realloc(front, (size_t)(nv + ndup)) : NULL;
    if (fr)
        front = fr;
    g.uv = fr ? malloc((size_t)(nv + ndup) * 2 * sizeof *g.uv) : NULL;
    if (!g.uv) {
        free(front), free(dup), avatar_mesh_free(&g);
        return oom();
    }
    for (int i = 0; i < nv; i++)
        if (dup[i] >= 0) {
            memcpy(g.pos + (size_t)dup[i] * 3, g.pos + (size_t)i * 3, 3 * sizeof *g.pos);
            memcpy(g.nrm + (size_t)dup[i] * 3, g.nrm + (size_t)i * 3, 3 * sizeof *g.nrm);
            front[dup[i]] = !front[i];
        }
    g.nv = nv + ndup;
    int32_t *org = malloc((size_t)g.nv * sizeof *org);
    if (!org) {
        free(front), free(dup), avatar_mesh_free(&g);
        return oom();
    }
    for (int i = 0; i < nv; i++) {
        org[i] = i % s->nv;
        if (dup[i] >= 0)
            org[dup[i]] = i % s->nv;
    }
    struct avatar_mesh src = {.nv = s->nv, .pos = (float *)uvpos};
    float lo[3], hi[3];
    avatar_mesh_bounds(uvpos ? &src : &g, lo, hi);
    float sx = hi[0] > lo[0] ? 0.5f / (hi[0] - lo[0]) : 0.0f, sy = hi[1] > lo[1] ? 1.0f / (hi[1] - lo[1]) : 0.0f;
    for (int i = 0; i < g.nv; i++) {
        const float *p = uvpos ? uvpos + (size_t)org[i] * 3 : g.pos + (size_t)i * 3;
        g.uv[i * 2 + 0] = clampf((p[0] - lo[0]) * sx, 0.0f, 0.5f) + (front[i] ? 0.0f : 0.5f);
        g.uv[i * 2 + 1] = clampf((p[1] - lo[1]) * sy, 0.0f, 1.0f);
        if (front[i] && g.uv[i * 2] >= 0.5f)
            g.uv[i * 2] = nextafterf(0.5f, 0.0f);
        if (!front[i] && g.uv[i * 2] > 1.0f)
            g.uv[i * 2] = 1.0f;
    }
    free(front), free(dup);
    if (origin)
        *origin = org;
    else
        free(org);
    *out = g;
    return TRYON_OK;
}

/* ===== build ============================================================================== */

static enum tryon_status check_est(const struct avatar_garment_est *g, struct avatar_garment_est *ge)
{
    if ((unsigned)g->type >= AVATAR_GARMENT_NTYPES)
        return tryon_fail(TRYON_EINVAL, "avatar: garment type %d is not a known type", (int)g->type);
    if (!isfinite(g->length) || !isfinite(g->sleeve) || !isfinite(g->looseness))
        return tryon_fail(TRYON_EINVAL, "avatar: garment length/sleeve/looseness must be finite");
    *ge = *g;
    ge->length = clampf(ge->length, 0.0f, 1.0f);
    ge->sleeve = clampf(ge->sleeve, 0.0f, 1.0f);
    ge->looseness = clampf(ge->looseness, 0.0f, MAX_LOOSENESS_M);
    return TRYON_OK;
}

/* The single-layer surface of garment ge (validated) on the deformed base mesh v. */
static enum tryon_status build_surface(const struct avatar_model *m, const float *v, const struct frame *fr,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *ge,
                                       struct surf *s)
{
    struct cut c;
    make_cut(fr, ge, &c);
    struct fine fm;
    enum tryon_status st = subdivide_tights(m, v, &fm);
    if (st)
        return st;
    st = cut_garment(&fm, &c, s);
    fine_free(&fm);
    struct av_surface *bs = NULL;
    if (st == TRYON_OK)
        st = av_surface_create(body_mesh, GRID_CELL_M, &bs);
    float offset = AVATAR_GARMENT_OFFSET_M + ge->looseness;
    if (st == TRYON_OK)
        st = push_out(bs, s->pos, s->nv, offset);
    if (st == TRYON_OK)
        st = relax(s, bs, offset);
    if (st == TRYON_OK && has_loft(ge->type)) {
        int nb = body_mesh->nv;
        st = add_loft(s, body_mesh->pos, m->region + (size_t)AV_R_ARM_L * m->nv,
                      m->region + (size_t)AV_R_ARM_R * m->nv, nb, c.hem_y, offset);
        if (st == TRYON_OK)
            st = relax(s, bs, offset);
    }
    av_surface_free(bs);
    if (st)
        surf_free(s);
    return st;
}

/* The single-layer template of ge (validated) on the body: the push-outside fit. */
static enum tryon_status template_surface(const struct avatar_model *m, const struct avatar_body_params *body,
                                          const struct avatar_mesh *body_mesh, const struct avatar_garment_est *ge,
                                          struct surf *s)
{
    float *v = malloc((size_t)m->nv * 3 * sizeof *v);
    if (!v)
        return oom();
    enum tryon_status st = av_deform(m, body, v);
    if (st == TRYON_OK) {
        struct frame fr;
        frame_init(m, v, &fr);
        st = build_surface(m, v, &fr, body_mesh, ge, s);
    }
    free(v);
    return st;
}

enum tryon_status avatar_garment_build(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       struct avatar_mesh *out)
{
    memset(out, 0, sizeof *out);
    struct avatar_garment_est ge;
    enum tryon_status st = check_est(g, &ge);
    if (st)
        return st;
    struct surf s = {0};
    if ((st = template_surface(m, body, body_mesh, &ge, &s)))
        return st;
    struct avatar_mesh single = {.nv = s.nv, .nt = s.nt, .pos = s.pos, .tri = s.tri};
    st = avatar_mesh_normals(&single);
    if (st == TRYON_OK)
        st = thicken(&s, single.nrm, AVATAR_GARMENT_THICKNESS_M, NULL, NULL, out, NULL);
    free(single.nrm);
    surf_free(&s);
    return st;
}

/* ===== drape ============================================================================== */

void avatar_draped_free(struct avatar_draped *d)
{
    avatar_mesh_free(&d->mesh);
    free(d->strain);
    memset(d, 0, sizeof *d);
}

/* The inner garment's outward-facing triangles (its outer layer; rims half way), as the
   obstacle the outer garment stays outside of: a point between the body and that layer
   is behind it, not in a gap the closed shell would leave. */
static enum tryon_status under_layer(const struct avatar_mesh *under, const struct av_surface *bs,
                                     struct avatar_mesh *out)
{
    memset(out, 0, sizeof *out);
    out->tri = malloc((size_t)under->nt * 3 * sizeof *out->tri);
    if (!out->tri)
        return oom();
    out->pos = under->pos, out->nv = under->nv;
    for (int f = 0; f < under->nt; f++) {
        const int32_t *t = under->tri + (size_t)f * 3;
        const float *a = under->pos + (size_t)t[0] * 3, *b = under->pos + (size_t)t[1] * 3, *c = under->pos + (size_t)t[2] * 3;
        float e1[3], e2[3], nf[3], ctr[3], q[3], n[3];
        for (int k = 0; k < 3; k++)
            e1[k] = b[k] - a[k], e2[k] = c[k] - a[k], ctr[k] = (a[k] + b[k] + c[k]) / 3.0f;
        nf[0] = e1[1] * e2[2] - e1[2] * e2[1], nf[1] = e1[2] * e2[0] - e1[0] * e2[2], nf[2] = e1[0] * e2[1] - e1[1] * e2[0];
        av_surface_query(bs, ctr, q, n);
        float l = sqrtf(nf[0] * nf[0] + nf[1] * nf[1] + nf[2] * nf[2]);
        if (l > 0 && (nf[0] * n[0] + nf[1] * n[1] + nf[2] * n[2]) / l > 0.3f)
            memcpy(out->tri + (size_t)out->nt++ * 3, t, 3 * sizeof *t);
    }
    return avatar_mesh_normals(out);
}

/* Ease of a garment cut for its wearer: girth added to the template (which lies on the body
   at the push-outside offset), per type. */
static const float type_ease[AVATAR_GARMENT_NTYPES] = {
    [AVATAR_GARMENT_TSHIRT] = 0.08f, [AVATAR_GARMENT_LONGSLEEVE] = 0.08f, [AVATAR_GARMENT_DRESS] = 0.06f,
    [AVATAR_GARMENT_SKIRT] = 0.05f, [AVATAR_GARMENT_TROUSERS] = 0.05f, [AVATAR_GARMENT_SHORTS] = 0.05f,
};

/* A garment's length as worn: the height of its points (n,3) from the top edge to the hem,
   metres. For tops and dresses only the points within LENGTH_BAND_M of the body's midline
   (x = 0) count, so sleeves hanging below a short hem do not; bottoms have no sleeves. */
#define LENGTH_BAND_M 0.12f
static float height_m(const float *pos, int n, enum avatar_garment_type t)
{
    bool bottom = t == AVATAR_GARMENT_SKIRT || t == AVATAR_GARMENT_TROUSERS || t == AVATAR_GARMENT_SHORTS;
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++)
        if (bottom || fabsf(pos[(size_t)i * 3]) < LENGTH_BAND_M)
            lo = fminf(lo, pos[(size_t)i * 3 + 1]), hi = fmaxf(hi, pos[(size_t)i * 3 + 1]);
    return hi > lo ? hi - lo : 0.0f;
}

/* Per-vertex rest scale (nv,2) for a garment of `size` on a body (meas, lv: its girths and
   their levels): the horizontal factor is size girth / body girth at the chest, waist and
   hip levels, linear between them and constant beyond; a girth the size does not give takes
   the factor of the nearest level it gives (a shirt sized by chest and waist keeps the
   waist's below it), `ease` when it gives none. The vertical factor is size->length_cm /
   the template's height (1 when 0). */
static void size_scale(const struct avatar_measurements *meas, const struct av_measure_levels *lv,
                       const struct avatar_size *size, const struct surf *s, float ease, float natural_cm, float *scale)
{
    float v = size->length_cm > 0 ? size->length_cm / natural_cm : 1.0f;
    float given[3] = {size->chest_cm, size->waist_cm, size->hip_cm}, body[3] = {meas->chest_cm, meas->waist_cm, meas->hip_cm};
    float f[3];
    for (int k = 0; k < 3; k++) {
        int near = -1;   /* the nearest level with a girth: itself, then the next one down or up */
        for (int d = 0; d < 3 && near < 0; d++)
            for (int sgn = 1; sgn >= -1 && near < 0; sgn -= 2)
                if (k + sgn * d >= 0 && k + sgn * d < 3 && given[k + sgn * d] > 0)
                    near = k + sgn * d;
        f[k] = near >= 0 ? given[near] / body[near] : ease;
    }
    float y[3] = {lv->chest_y, lv->waist_y, lv->hip_y};
    for (int i = 0; i < s->nv; i++) {
        float py = s->pos[(size_t)i * 3 + 1], h;
        if (py >= y[0])
            h = f[0];
        else if (py >= y[1])
            h = lerpf(f[1], f[0], (py - y[1]) / fmaxf(y[0] - y[1], 1e-3f));
        else if (py >= y[2])
            h = lerpf(f[2], f[1], (py - y[2]) / fmaxf(y[1] - y[2], 1e-3f));
        else
            h = f[2];
        scale[i * 2] = h;
        scale[i * 2 + 1] = v;
    }
}

enum tryon_status avatar_garment_drape(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       const struct avatar_size *size, const struct avatar_mesh *under,
                                       struct kern_ctx *kctx, struct avatar_draped *out)
{
    memset(out, 0, sizeof *out);
    struct avatar_garment_est ge;
    enum tryon_status st = check_est(g, &ge);
    if (st)
        return st;
    if (size && (!(size->chest_cm >= 0) || !(size->waist_cm >= 0) || !(size->hip_cm >= 0) || !(size->length_cm >= 0) ||
                 size->chest_cm > 300 || size->waist_cm > 300 || size->hip_cm > 300 || size->length_cm > 300))
        return tryon_fail(TRYON_EINVAL, "avatar: garment size out of range (girths and length 0..300 cm)");
    struct surf s = {0};
    if ((st = template_surface(m, body, body_mesh, &ge, &s)))
        return st;
    float natural_cm = 100.0f * height_m(s.pos, s.nv, ge.type);
    if (size && size->length_cm > 0 && !(size->length_cm >= 0.5f * natural_cm && size->length_cm <= 2.0f * natural_cm)) {
        surf_free(&s);
        return tryon_fail(TRYON_EINVAL, "avatar: a length of %.1f cm is not within half to twice the garment's %.1f cm "
                          "on this body", size->length_cm, natural_cm);
    }
    float *rest = malloc((size_t)s.nv * 3 * sizeof *rest), *scale = NULL, *vstrain = malloc((size_t)s.nv * sizeof *vstrain);
    uint8_t *attach = calloc((size_t)s.nv, 1);
    struct avatar_mesh pat = {.nv = s.nv, .nt = s.nt, .pos = rest, .tri = s.tri}, drp = {.nv = s.nv, .nt = s.nt, .tri = s.tri};
    struct avatar_mesh layer = {0};
    struct av_surface *bs = NULL, *us = NULL;
    int32_t *org = NULL;
    if (!rest || !vstrain || !attach) {
        st = oom();
        goto done;
    }
    memcpy(rest, s.pos, (size_t)s.nv * 3 * sizeof *rest);
    if ((st = avatar_mesh_normals(&pat)))
        goto done;
    if (!(scale = malloc((size_t)s.nv * 2 * sizeof *scale))) {
        st = oom();
        goto done;
    }
    struct avatar_measurements meas;   /* girths and their levels: the size's scale and the fit's bands */
    struct av_measure_levels lv;
    if ((st = av_body_measure_levels(m, body, &meas, &lv)))
        goto done;
    if (size && (size->chest_cm > 0 || size->waist_cm > 0 || size->hip_cm > 0 || size->length_cm > 0)) {
        size_scale(&meas, &lv, size, &s, 1.0f + type_ease[ge.type], natural_cm, scale);
    } else {   /* cut for the wearer: the type's ease around the girth */
        float e = 1.0f + type_ease[ge.type];
        for (int i = 0; i < s.nv; i++)
            scale[i * 2] = e, scale[i * 2 + 1] = 1.0f;
    }
    /* the waistband: the top 2 cm of skirts, trousers and shorts hold where they start */
    if (ge.type == AVATAR_GARMENT_SKIRT || ge.type == AVATAR_GARMENT_TROUSERS || ge.type == AVATAR_GARMENT_SHORTS) {
        float top = -INFINITY;
        for (int i = 0; i < s.nv; i++)
            top = fmaxf(top, s.pos[(size_t)i * 3 + 1]);
        for (int i = 0; i < s.nv; i++)
            attach[i] = s.pos[(size_t)i * 3 + 1] > top - WAISTBAND_M;
    }
    if ((st = av_surface_create(body_mesh, GRID_CELL_M, &bs)))
        goto done;
    struct av_obstacle obs[2] = {{bs, INFINITY}, {NULL, UNDER_REACH_M}};
    int nobs = 1;
    if (under) {
        if ((st = under_layer(under, bs, &layer)) || (st = av_surface_create(&layer, GRID_CELL_M, &us)))
            goto done;
        obs[nobs++].surf = us;
    }
    struct av_cloth_params prm;
    av_cloth_params_default(&prm);
    if (ge.type == AVATAR_GARMENT_DRESS || ge.type == AVATAR_GARMENT_LONGSLEEVE)
        prm.self_radius = SELF_RADIUS_M;
    struct av_cloth_mesh cm = {.nv = s.nv, .nt = s.nt, .tri = s.tri, .rest = rest, .rest_scale = scale,
                               .attach = attach};
    struct av_cloth_stats cs;
    st = av_cloth_drape(kctx, &prm, &cm, obs, nobs, s.pos, &cs);
    out->steps = cs.steps, out->residual = cs.residual, out->mean_speed = cs.mean_speed;
    out->seconds = (float)cs.seconds, out->cloth_nv = s.nv;
    if (st)
        goto done;
    out->length_cm = 100.0f * height_m(s.pos, s.nv, ge.type);
    if ((st = av_drape_fit(m, &lv, body_mesh, bs, &cm, s.pos, prm.thickness, vstrain, out->fit)))
        goto done;
    drp.pos = s.pos;
    if ((st = avatar_mesh_normals(&drp)))
        goto done;
    if ((st = thicken(&s, drp.nrm, AVATAR_GARMENT_THICKNESS_M, rest, pat.nrm, &out->mesh, &org)))
        goto done;
    if (!(out->strain = malloc((size_t)out->mesh.nv * sizeof *out->strain))) {
        st = oom();
        goto done;
    }
    for (int i = 0; i < out->mesh.nv; i++)
        out->strain[i] = vstrain[org[i]];
done:
    if (st) {
        struct avatar_draped keep = *out;   /* the solver's figures stay for the message */
        avatar_draped_free(out);
        out->steps = keep.steps, out->residual = keep.residual, out->mean_speed = keep.mean_speed;
        out->seconds = keep.seconds, out->cloth_nv = keep.cloth_nv;
    }
    av_surface_free(bs), av_surface_free(us);
    free(layer.tri), free(layer.nrm);
    free(rest), free(scale), free(vstrain), free(attach), free(pat.nrm), free(drp.nrm), free(org);
    surf_free(&s);
    return st;
}

/* ===== landmarks ========================================================================== */

/* Highest (top != 0) or lowest point of g's surface on the plane x = x0: over the edges
   crossing the plane, their crossing points (what a front view's column x0 shows); false
   when none crosses. */
static bool plane_extreme(const struct avatar_mesh *g, float x0, int top, float out[3])
{
    bool found = false;
    for (int t = 0; t < g->nt; t++)
        for (int k = 0; k < 3; k++) {
            const float *a = g->pos + (size_t)g->tri[t * 3 + k] * 3, *b = g->pos + (size_t)g->tri[t * 3 + (k + 1) % 3] * 3;
            if ((a[0] - x0) * (b[0] - x0) > 0.0f || a[0] == b[0])
                continue;
            float u = (x0 - a[0]) / (b[0] - a[0]), p[3];
            for (int j = 0; j < 3; j++)
                p[j] = a[j] + u * (b[j] - a[j]);
            if (!found || (top ? p[1] > out[1] : p[1] < out[1])) {
                memcpy(out, p, sizeof p);
                found = true;
            }
        }
    return found;
}

/* Outermost vertex (largest side * x) of g with y in [y0, y1] and side * (x - xc) >= 0 and,
   when xmax > 0, |x - xc| <= xmax. */
static bool outermost(const struct avatar_mesh *g, float y0, float y1, float xc, float side, float xmax, float out[3])
{
    bool found = false;
    for (int i = 0; i < g->nv; i++) {
        const float *p = g->pos + (size_t)i * 3;
        float dx = side * (p[0] - xc);
        if (p[1] < y0 || p[1] > y1 || dx < 0.0f || (xmax > 0.0f && dx > xmax))
            continue;
        if (!found || dx > side * (out[0] - xc)) {
            memcpy(out, p, 3 * sizeof *out);
            found = true;
        }
    }
    return found;
}

enum tryon_status avatar_garment_landmarks_3d(const struct avatar_model *m, const struct avatar_body_params *body,
                                              const struct avatar_garment_est *g, float lm[AVATAR_LM_N][3],
                                              bool present[AVATAR_LM_N])
{
    memset(lm, 0, sizeof(float) * 3 * AVATAR_LM_N);
    memset(present, 0, sizeof(bool) * AVATAR_LM_N);
    struct avatar_garment_est ge;
    enum tryon_status st = check_est(g, &ge);
    if (st)
        return st;
    struct avatar_mesh bm = {0}, gm = {0};
    float *v = malloc((size_t)m->nv * 3 * sizeof *v);
    if (!v)
        return oom();
    st = av_deform(m, body, v);
    if (st == TRYON_OK)
        st = avatar_body_build(m, body, &bm);
    if (st == TRYON_OK)
        st = avatar_garment_build(m, body, &bm, &ge, &gm);
    if (st) {
        free(v), avatar_mesh_free(&bm);
        return st;
    }
    struct frame fr;
    frame_init(m, v, &fr);
    free(v);
    float lo[3], hi[3];
    avatar_mesh_bounds(&gm, lo, hi);
    float H = hi[1] - lo[1], xc = fr.j[AV_J_NECK][0];
    if (has_neck(ge.type)) {
        present[AVATAR_LM_COLLAR] = plane_extreme(&gm, xc, 1, lm[AVATAR_LM_COLLAR]);
        for (int s = 0; s < 2; s++) {
            const float *sh = fr.j[s ? AV_J_R_SHOULDER : AV_J_L_SHOULDER], *wr = fr.j[s ? AV_J_R_HAND : AV_J_L_HAND];
            present[AVATAR_LM_L_SHOULDER + s] = plane_extreme(&gm, sh[0], 1, lm[AVATAR_LM_L_SHOULDER + s]);
            if (ge.sleeve >= 0.2f) {
                /* the sleeve's end ring: vertices near the arm axis (within 12 cm, not
                   inward of the joint by more than 1.5 cm) with the largest axis parameter
                   (within 1 cm of it); their mean */
                float ax[3] = {wr[0] - sh[0], wr[1] - sh[1], wr[2] - sh[2]};
                float al2 = ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2], tmax = -INFINITY;
                for (int pass = 0; pass < 2; pass++) {
                    double acc[3] = {0, 0, 0};
                    int n = 0;
                    for (int i = 0; i < gm.nv; i++) {
                        const float *p = gm.pos + (size_t)i * 3;
                        float d[3] = {p[0] - sh[0], p[1] - sh[1], p[2] - sh[2]};
                        float t = (d[0] * ax[0] + d[1] * ax[1] + d[2] * ax[2]) / al2;
                        float r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - t * t * al2;
                        float out_x = (s ? -1.0f : 1.0f) * d[0];   /* the torso lies inward of the joint */
                        if (t < 0.05f || r2 > 0.12f * 0.12f || out_x < -0.015f)
                            continue;
                        if (pass == 0)
                            tmax = fmaxf(tmax, t);
                        else if (t >= tmax - 0.01f / sqrtf(al2)) {
                            for (int k = 0; k < 3; k++)
                                acc[k] += p[k];
                            n++;
                        }
                    }
                    if (pass == 1 && n > 0) {
                        for (int k = 0; k < 3; k++)
                            lm[AVATAR_LM_L_SLEEVE + s][k] = (float)(acc[k] / n);
                        present[AVATAR_LM_L_SLEEVE + s] = true;
                    }
                }
            }
        }
        /* hem: the torso's lowest rim (the centre line's lowest point), outermost within
           the shoulders' span so a sleeve is never taken */
        float low[3];
        if (plane_extreme(&gm, xc, 0, low)) {
            float span = fabsf(fr.j[AV_J_L_SHOULDER][0] - fr.j[AV_J_R_SHOULDER][0]);
            float xmax = ge.type == AVATAR_GARMENT_DRESS ? 0.0f : 0.75f * span;
            for (int s = 0; s < 2; s++)
                present[AVATAR_LM_L_HEM + s] =
                    outermost(&gm, low[1], low[1] + 0.02f * H, xc, s ? -1.0f : 1.0f, xmax,
                              lm[AVATAR_LM_L_HEM + s]);
        }
    } else {
        for (int s = 0; s < 2; s++) {
            float side = s ? -1.0f : 1.0f;
            present[AVATAR_LM_L_WAIST + s] = outermost(&gm, hi[1] - 0.04f * H, hi[1], xc, side, 0.0f,
                                                       lm[AVATAR_LM_L_WAIST + s]);
            if (ge.type == AVATAR_GARMENT_SKIRT) {
                present[AVATAR_LM_L_HEM + s] = outermost(&gm, lo[1], lo[1] + 0.01f * H, xc, side, 0.0f,
                                                         lm[AVATAR_LM_L_HEM + s]);
            } else {
                /* each leg's own lowest 1% */
                float leg_lo = INFINITY;
                for (int i = 0; i < gm.nv; i++)
                    if (side * (gm.pos[(size_t)i * 3] - xc) > 0.0f)
                        leg_lo = fminf(leg_lo, gm.pos[(size_t)i * 3 + 1]);
                present[AVATAR_LM_L_HEM + s] = outermost(&gm, leg_lo, leg_lo + 0.01f * H, xc, side, 0.0f,
                                                         lm[AVATAR_LM_L_HEM + s]);
            }
        }
        if (ge.type != AVATAR_GARMENT_SKIRT)
            present[AVATAR_LM_CROTCH] = plane_extreme(&gm, xc, 0, lm[AVATAR_LM_CROTCH]);
    }
    for (int l = 0; l < AVATAR_LM_N; l++)
        if (!present[l])
            memset(lm[l], 0, sizeof lm[l]);
    avatar_mesh_free(&gm);
    avatar_mesh_free(&bm);
    return TRYON_OK;
}
