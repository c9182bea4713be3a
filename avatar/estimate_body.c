/* estimate_body.c: fitting the body model to a person's silhouette by analysis by
 * synthesis (the classical person estimator, DESIGN.md section 1).
 *
 * The person stands upright on the floor y = 0 facing the camera. Without a height hint
 * the photo is assumed taken with the studio photo camera (avatar_photo_camera): its height
 * above the floor gives the scale, so the stature scales with the true camera's height. With
 * a hint the stature gives the scale instead, and the camera is solved: its height and
 * distance with every candidate's placement (solve_place), its tilt searched as one more
 * coordinate (scanned every 4 degrees first); the vertical field of view stays the
 * studio's (a longer or shorter lens shows as a farther or nearer camera, which only the
 * perspective of the body's own depth would tell apart). Height and tilt trade against each
 * other to first order (a camera a little higher reads like one tilted a little down), so
 * on a small or clothed silhouette they come out less sure than the body does. Three
 * stages:
 *  1. Start (as the first version did): the body's feet go where the silhouette's lowest
 *     row meets the floor, sideways under the torso's centre column, and its stature is
 *     scaled until the rendered silhouette is as tall as the photo's. Full resolution, a few
 *     renders. With a hint: the default body at the hinted stature placed by solve_place
 *     (the camera level).
 *  2. Search: the silhouette is compared in a window around the person (the silhouette's
 *     bounds plus a margin) at a reduced resolution, d x d photo pixels to a cell with d
 *     chosen so the person is about FIT_CELLS_TALL cells tall. The photo's mask becomes the
 *     fraction of each cell it covers; the candidate body is rendered straight into the
 *     cells (cell-centre coverage). The loss is the sum over cells of |photo - body|
 *     divided by the photo's area: the area of the symmetric difference, 0 for a perfect
 *     match. Each candidate's stature and placement are solved, not searched: the body is
 *     built at unit stature, and the scale and depth that put its image's top and bottom
 *     rows on the photo's (two equations linear in them)
 *     and the shift that puts its legs on the photo's legs are computed from its vertices.
 *     The arm angle is first scanned coarsely (every 10 degrees). Then, from each of two
 *     starts on the gender axis (0.15 and 0.85: a front silhouette can fit a woman's shape
 *     with a man's of another weight, muscle and torso turn, and the valley between is one
 *     a coordinate search does not cross), the torso turn is scanned coarsely and
 *     coordinate descent runs, first with the gender held, then over everything at finer
 *     steps: gender, weight, muscle, proportions, age (adult range), arm angle, leg spread
 *     and torso turn (its sign is a mirror image away, which the measurements do not
 *     mind). Each coordinate tries one step up and down and keeps an improvement, a sweep
 *     that improved is repeated as a whole (a Hooke-Jeeves pattern move) while that pays,
 *     and when a sweep improves nothing the steps halve, down to each coordinate's
 *     resolution or the evaluation budget. The best of the two starts wins.
 *  3. Polish: stage 1's placement and stature fit again at full resolution for the chosen
 *     phenotype and pose (the top and bottom rows pin the stature to a photo pixel); with a
 *     hint the winner's own solve stands (it is not tied to the cells).
 * Ethnic weights stay at MakeHuman's default: a silhouette says little about them.
 *
 * Clothing: the mask's values say what each person pixel is (estimate.c classifies them by
 * colour): 255 skin (or unknown), 1..254 clothing. Clothes may stand off the body, so the
 * search loss is asymmetric: a body cell outside the mask costs fully, a mask cell the body
 * leaves uncovered costs fully on skin but only CLOTH_WEIGHT on clothing, and a mild prior
 * (PRIOR_WEIGHT times the clothed fraction of the silhouette) pulls weight, muscle and
 * proportions toward the average body where the silhouette no longer constrains them
 * (under a dress). A mask with no clothing pixels fits exactly as the bare loss does.
 * Every coordinate the search scores is clamped to its range and a non-finite one is
 * replaced by the range's middle, so no candidate leaves the parameter ranges.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FIT_CELLS_TALL 200   /* the person's height in search cells (about) */
#define FIT_MARGIN 0.15f     /* window margin around the silhouette, fraction of its height */
#define FIT_STARTS 2         /* searches, from gender 0.15 and 0.85 */
#define FIT_MAX_EVALS 600    /* body renders the search may spend (an equal share per start) */
#define SOLVE_ITERS 4        /* rounds of the per-candidate stature and placement solve */
#define LEG_BAND 0.25f       /* the legs: the lowest quarter of the body (fraction of its height) */
#define AGE_MIN 0.3125f      /* adults: 18 years .. */
#define AGE_MAX 0.8f         /* .. 64 years (MakeHuman's age scale) */
#define CLOTH_WEIGHT 0.15f   /* cost of a clothing mask cell the body does not cover (skin: 1) */
#define PRIOR_WEIGHT 0.05f   /* prior toward the average body, per unit squared deviation, times the clothed fraction */
#define TILT_MAX 20.0f       /* the camera tilt searched with a hint, degrees either way */
#define CAM_H_MIN 0.1f       /* camera heights a hinted solve accepts, metres above the floor */
#define CAM_H_MAX 3.0f

struct sil {
    int top, bottom;   /* first and last foreground rows */
    float h_px;        /* bottom - top + 1 */
    float cx;          /* torso centre column (mean foreground column 45%..75% of the height up), pixels */
    int left, right;   /* first and last foreground columns */
    float leg_cx;      /* mean foreground column of the lowest LEG_BAND of the rows, pixels */
};

/* Whether row y of a mask holds a foreground (nonzero) pixel. */
static bool row_any(const uint8_t *mask, int w, int y)
{
    const uint8_t *r = mask + (size_t)y * w;
    for (int x = 0; x < w; x++)
        if (r[x])
            return true;
    return false;
}

/* Measure a silhouette (nonzero = foreground); false when the mask is empty. */
static bool measure(const uint8_t *mask, int w, int h, struct sil *s)
{
    s->top = -1, s->bottom = -1;
    for (int y = 0; y < h && s->top < 0; y++)
        if (row_any(mask, w, y))
            s->top = y;
    for (int y = h - 1; y >= 0 && s->bottom < 0; y--)
        if (row_any(mask, w, y))
            s->bottom = y;
    if (s->top < 0)
        return false;
    s->h_px = (float)(s->bottom - s->top + 1);
    int ya = s->bottom - (int)(0.75f * s->h_px), yb = s->bottom - (int)(0.45f * s->h_px);
    double sx = 0, n = 0;
    s->left = w, s->right = -1;
    for (int y = s->top; y <= s->bottom; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                if (y >= ya && y <= yb)
                    sx += x, n++;
                if (x < s->left)
                    s->left = x;
                if (x > s->right)
                    s->right = x;
            }
    s->cx = n > 0 ? (float)(sx / n) + 0.5f : 0.5f * (float)w;
    int yl = s->bottom - (int)(LEG_BAND * s->h_px);
    sx = 0, n = 0;
    for (int y = yl; y <= s->bottom; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x])
                sx += x, n++;
    s->leg_cx = n > 0 ? (float)(sx / n) + 0.5f : s->cx;
    return true;
}

/* The photo camera's basis and focal length for a w x h image (as camera.c's). */
struct cam { float eye[3], right[3], up[3], fwd[3]; float focal, cx, cy; };

static void cam_init(const struct avatar_photo_camera *c, int w, int h, struct cam *b)
{
    float f[3], l = 0;
    for (int k = 0; k < 3; k++)
        b->eye[k] = c->eye[k], f[k] = c->target[k] - c->eye[k], l += f[k] * f[k];
    l = sqrtf(l);
    for (int k = 0; k < 3; k++)
        b->fwd[k] = f[k] / l;
    float r[3] = {b->fwd[1] * c->up[2] - b->fwd[2] * c->up[1], b->fwd[2] * c->up[0] - b->fwd[0] * c->up[2],
                  b->fwd[0] * c->up[1] - b->fwd[1] * c->up[0]};
    l = sqrtf(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    for (int k = 0; k < 3; k++)
        b->right[k] = r[k] / l;
    b->up[0] = b->right[1] * b->fwd[2] - b->right[2] * b->fwd[1];
    b->up[1] = b->right[2] * b->fwd[0] - b->right[0] * b->fwd[2];
    b->up[2] = b->right[0] * b->fwd[1] - b->right[1] * b->fwd[0];
    b->focal = 0.5f * (float)h / tanf(c->vfov_deg * (float)M_PI / 360.0f);
    b->cx = 0.5f * (float)w;
    b->cy = 0.5f * (float)h;
}

/* Where the ray through photo pixel position (px, py) meets the floor y = 0; false at or
   above the horizon. */
static bool floor_point(const struct cam *b, float px, float py, float out[3])
{
    float x = (px - b->cx) / b->focal, y = -(py - b->cy) / b->focal, d[3];
    for (int k = 0; k < 3; k++)
        d[k] = b->fwd[k] + x * b->right[k] + y * b->up[k];
    if (!(d[1] < -1e-6f) || !(b->eye[1] > 0.0f))
        return false;
    float t = -b->eye[1] / d[1];
    for (int k = 0; k < 3; k++)
        out[k] = b->eye[k] + t * d[k];
    return true;
}

/* The search's coordinates (stature and placement are solved for each candidate). */
/* P_TILT, the camera's tilt in degrees (up positive), is searched only with a height hint:
   without one the studio camera's height and level are assumed (see the top of the file). */
enum { P_GENDER, P_WEIGHT, P_MUSCLE, P_PROP, P_AGE, P_ARM, P_LEG, P_TURN, P_TILT, NP };
static const float p_lo[NP] = {0, 0, 0, 0, AGE_MIN, -20, -5, -30, -TILT_MAX};
static const float p_hi[NP] = {1, 1, 1, 1, AGE_MAX, 60, 20, 30, TILT_MAX};
static const float p_step0[NP] = {0.25f, 0.25f, 0.25f, 0.25f, 0.1f, 8.0f, 4.0f, 12.0f, 4.0f};
static const float p_step_min[NP] = {0.02f, 0.02f, 0.02f, 0.03f, 0.02f, 0.5f, 0.5f, 1.0f, 0.25f};

struct fit {
    const struct avatar_model *m;
    struct avatar_photo_camera pc;
    struct cam cam;
    int w, h;
    const uint8_t *mask;   /* (w*h) the photo's mask, one component: 255 skin, 1..254 clothing */
    struct sil photo;
    float *verts;          /* (m->nv,3) scratch */
    uint8_t *render;       /* (w*h) full-resolution render */
    /* search window: cells of d x d photo pixels, the first at photo pixel (x0, y0) */
    int d, x0, y0, cw, ch;
    float *cov;            /* (cw*ch) photo coverage per cell, 0..1 */
    float *cloth;          /* (cw*ch) clothing part of cov per cell, 0..cov */
    float prior;           /* weight of the average-body prior: PRIOR_WEIGHT times the clothed fraction */
    const struct avatar_person_prior *net;   /* a learned prior (NULL: classical) */
    float net_q[NP];       /* its coordinates */
    uint8_t *cells;        /* (cw*ch) candidate body, 0/1 */
    float *proj;           /* (nbody,2) projected skin vertices, cell units */
    float photo_area;      /* sum of cov */
    float hint_m;          /* stature fixed by the hint, or 0 */
    float tilt_deg;        /* the camera's tilt that cam holds (0 = the studio's level camera) */
    int evals;
    float stature0, place0[3];   /* stage 1's stature and placement: where every solve starts;
                                    place[1] != 0 only with a hint (the body raised or lowered
                                    against the camera: the camera's height is eye[1] - place[1]) */
    /* the candidate last scored: its stature and placement */
    float stature, place[3];
};

/* Clamp every coordinate to its range; a non-finite one becomes the range's middle. */
static void clamp_q(float q[NP])
{
    for (int k = 0; k < NP; k++)
        q[k] = isfinite(q[k]) ? fminf(p_hi[k], fmaxf(p_lo[k], q[k])) : 0.5f * (p_lo[k] + p_hi[k]);
}

static void params_of(const float q[NP], const struct avatar_body_params *base, struct avatar_body_params *p)
{
    *p = *base;
    p->ph.gender = q[P_GENDER];
    p->ph.weight = q[P_WEIGHT];
    p->ph.muscle = q[P_MUSCLE];
    p->ph.proportions = q[P_PROP];
    p->ph.age = q[P_AGE];
    p->arm_down_deg = q[P_ARM];
    p->leg_spread_deg = q[P_LEG];
    p->torso_turn_deg = q[P_TURN];
}

/* Render body p at place into the full-resolution buffer and measure it; *visible false
   when nothing of it lands in the photo. */
static enum tryon_status render_full(struct fit *f, const struct avatar_body_params *p, const float place[3],
                                     struct sil *s, bool *visible)
{
    enum tryon_status st = av_deform(f->m, p, f->verts);
    if (st)
        return st;
    av_render_silhouette_off(f->verts, f->m->body_tri, f->m->nbt, place, &f->pc, f->w, f->h, f->render);
    *visible = measure(f->render, f->w, f->h, s);
    return TRYON_OK;
}

/* Stage 1 / 3 without a hint: placement (depth from the lowest row, x from the torso centre)
   and stature (from the silhouette's height) of body p. */
static enum tryon_status fit_place(struct fit *f, struct avatar_body_params *p, float place[3])
{
    float target[3];
    if (!floor_point(&f->cam, f->photo.cx, (float)f->photo.bottom + 1.0f, target))
        return tryon_fail(TRYON_EINVAL, "avatar: the silhouette's lowest row is above the horizon of the photo camera");
    for (int it = 0; it < 6; it++) {
        struct sil s;
        bool vis;
        enum tryon_status st = render_full(f, p, place, &s, &vis);
        if (st)
            return st;
        f->evals++;
        float fp[3];
        if (!vis || !floor_point(&f->cam, s.cx, (float)s.bottom + 1.0f, fp))
            return tryon_fail(TRYON_EINVAL, "avatar: the body left the photo while fitting its placement");
        float dz = target[2] - fp[2];
        float dx = (f->photo.cx - s.cx) * (f->cam.eye[2] - place[2]) / f->cam.focal;
        place[0] += dx;
        place[2] += dz;
        float ratio = f->photo.h_px / s.h_px;
        p->stature_m = fminf(2.6f, fmaxf(0.5f, p->stature_m * ratio));
        if (fabsf(dz) < 1e-3f && fabsf(dx) < 1e-3f && fabsf(ratio - 1.0f) < 1e-4f)
            break;
    }
    return TRYON_OK;
}

/* Rasterize the projected skin triangles into the cells (cell-centre coverage). */
static void raster_cells(struct fit *f)
{
    memset(f->cells, 0, (size_t)f->cw * f->ch);
    const int32_t *tri = f->m->body_tri;
    for (int t = 0; t < f->m->nbt; t++) {
        const float *a = f->proj + (size_t)tri[t * 3] * 2, *b = f->proj + (size_t)tri[t * 3 + 1] * 2,
                    *c = f->proj + (size_t)tri[t * 3 + 2] * 2;
        float area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if (area == 0.0f)
            continue;
        if (area < 0.0f) {
            const float *tmp = b;
            b = c, c = tmp;
        }
        /* plain comparisons: this loop is the search's hot spot */
        float xmin = a[0] < b[0] ? a[0] : b[0], xmax = a[0] > b[0] ? a[0] : b[0];
        float ymin = a[1] < b[1] ? a[1] : b[1], ymax = a[1] > b[1] ? a[1] : b[1];
        xmin = c[0] < xmin ? c[0] : xmin, xmax = c[0] > xmax ? c[0] : xmax;
        ymin = c[1] < ymin ? c[1] : ymin, ymax = c[1] > ymax ? c[1] : ymax;
        int i0 = (int)ceilf(xmin - 0.5f), i1 = (int)floorf(xmax - 0.5f);
        int j0 = (int)ceilf(ymin - 0.5f), j1 = (int)floorf(ymax - 0.5f);
        if (i0 > i1 || j0 > j1)
            continue;   /* no cell centre inside the bounds (most triangles at this scale) */
        if (i0 < 0)
            i0 = 0;
        if (j0 < 0)
            j0 = 0;
        if (i1 > f->cw - 1)
            i1 = f->cw - 1;
        if (j1 > f->ch - 1)
            j1 = f->ch - 1;
        for (int j = j0; j <= j1; j++) {
            const float py = (float)j + 0.5f;
            uint8_t *row = f->cells + (size_t)j * f->cw;
            for (int i = i0; i <= i1; i++) {
                const float px = (float)i + 0.5f;
                if ((b[0] - a[0]) * (py - a[1]) - (b[1] - a[1]) * (px - a[0]) >= 0.0f &&
                    (c[0] - b[0]) * (py - b[1]) - (c[1] - b[1]) * (px - b[0]) >= 0.0f &&
                    (a[0] - c[0]) * (py - c[1]) - (a[1] - c[1]) * (px - c[0]) >= 0.0f)
                    row[i] = 1;
            }
        }
    }
}

/* Point cam at the studio camera tilted by deg (up positive) about its eye. */
static void set_tilt(struct fit *f, float deg)
{
    avatar_photo_camera(&f->pc);
    f->pc.target[1] = f->pc.eye[1] + tanf(deg * (float)M_PI / 180.0f) * (f->pc.eye[2] - f->pc.target[2]);
    cam_init(&f->pc, f->w, f->h, &f->cam);
    f->tilt_deg = deg;
}

/* Stature k and placement (dx, dy, dz) of the unit-stature mesh v (world = k v + (dx, dy,
   dz)) that put its image's top and bottom on the photo silhouette's and its legs (the
   mean column of the vertices in the lowest LEG_BAND of the body) on the photo's legs (the
   mean foreground column of the lowest LEG_BAND of the silhouette's rows; arms and a
   turned torso do not move either). A photo row is a ray whose slope, in the level frame
   of the eye e (the camera tilted by f->tilt_deg), is a = tan(atan(row's slope in the
   camera) + tilt); a point at height Y = k y + dy - e_y and horizontal depth
   Z = e_z - k z - dz lies on it when Y = a Z, linear in the unknowns: without a hint
   dy = 0 (the camera at the studio's height) and the top and bottom give (k, dz); with a
   hint k is fixed and they give (dy, dz), which is to say the camera's height above the
   floor (e_y - dy) and its distance. Which vertices are extreme is re-read from the solution
   (SOLVE_ITERS rounds from stage 1's solution, so a candidate's placement does not depend
   on the ones scored before it). False when it fails or the camera lands outside
   CAM_H_MIN..CAM_H_MAX above the floor. */
static bool solve_place(struct fit *f, const float *v, float *k_out, float place[3])
{
    const struct cam *c = &f->cam;
    const float ex = c->eye[0], ey = c->eye[1], ez = c->eye[2];
    const float tr = f->tilt_deg * (float)M_PI / 180.0f, ct = cosf(tr), st = sinf(tr);
    /* pixel-centre coverage: the continuous top edge lies in (top - 0.5, top + 0.5], the bottom in [bottom + 0.5, bottom + 1.5) */
    const float at = tanf(atanf((c->cy - (float)f->photo.top) / c->focal) + tr);
    const float ab = tanf(atanf((c->cy - ((float)f->photo.bottom + 1.0f)) / c->focal) + tr);
    const float xc = (f->photo.leg_cx - c->cx) / c->focal;
    float k = f->hint_m > 0.0f ? f->hint_m : f->stature0, dz = f->place0[2], dx = f->place0[0];
    float dy = f->hint_m > 0.0f ? f->place0[1] : 0.0f;
    for (int it = 0; it < SOLVE_ITERS; it++) {
        /* extreme vertices of the image under the current solution */
        int it_top = 0, it_bot = 0, nleg = 0;
        float best_t = -INFINITY, best_b = INFINITY;
        double leg_x = 0, leg_depth = 0;
        for (int i = 0; i < f->m->nbody; i++) {
            const float *p = v + (size_t)i * 3;
            float Y = k * p[1] + dy - ey, Z = ez - (k * p[2] + dz);
            float depth = Y * st + Z * ct;   /* along the camera's axis */
            if (!(depth > 0.1f))
                return false;
            float a = (Y * ct - Z * st) / depth, x = (k * p[0] + dx - ex) / depth;
            if (a > best_t)
                best_t = a, it_top = i;
            if (a < best_b)
                best_b = a, it_bot = i;
            if (p[1] < LEG_BAND) {
                leg_x += x, leg_depth += depth;
                nleg++;
            }
        }
        const float *t = v + (size_t)it_top * 3, *b = v + (size_t)it_bot * 3;
        if (f->hint_m > 0.0f) {
            /* dy + a dz = a (ez - k z) - k y + ey for the top and the bottom vertex */
            float rt = at * (ez - k * t[2]) - k * t[1] + ey, rb = ab * (ez - k * b[2]) - k * b[1] + ey;
            if (!(at - ab > 0.0f))
                return false;
            dz = (rt - rb) / (at - ab);
            dy = rt - at * dz;
            if (!(ey - dy >= CAM_H_MIN && ey - dy <= CAM_H_MAX))
                return false;
        } else {
            /* k (y + a z) + a dz = a ez + ey for the top and the bottom vertex */
            float m00 = t[1] + at * t[2], m01 = at, r0 = at * ez + ey;
            float m10 = b[1] + ab * b[2], m11 = ab, r1 = ab * ez + ey;
            float det = m00 * m11 - m01 * m10;
            if (det == 0.0f)
                return false;
            k = (r0 * m11 - m01 * r1) / det;
            dz = (m00 * r1 - r0 * m10) / det;
            if (!(k >= 0.5f && k <= 2.6f))
                return false;
        }
        /* centre: move x so the mean of the extreme columns lands on the photo's */
        if (nleg > 0)
            dx += (xc - (float)(leg_x / nleg)) * (float)(leg_depth / nleg);
    }
    *k_out = k;
    place[0] = dx, place[1] = dy, place[2] = dz;
    return true;
}

/* The search loss of coordinates q (see the top of the file); INFINITY for a body that
   cannot be built or placed. The candidate's stature and placement are left in f. */
static float loss(struct fit *f, const struct avatar_body_params *base, float q[NP])
{
    clamp_q(q);
    struct avatar_body_params p;
    params_of(q, base, &p);
    p.stature_m = 1.0f;   /* unit stature: the solved stature scales the posed mesh uniformly */
    f->evals++;
    if (q[P_TILT] != f->tilt_deg)
        set_tilt(f, q[P_TILT]);
    if (av_deform(f->m, &p, f->verts) != TRYON_OK)
        return INFINITY;
    float k, place[3];
    if (!solve_place(f, f->verts, &k, place))
        return INFINITY;
    const struct cam *c = &f->cam;
    const float inv_d = 1.0f / (float)f->d;
    for (int i = 0; i < f->m->nbody; i++) {
        float dv[3];
        for (int j = 0; j < 3; j++)
            dv[j] = k * f->verts[i * 3 + j] + place[j] - c->eye[j];
        float z = dv[0] * c->fwd[0] + dv[1] * c->fwd[1] + dv[2] * c->fwd[2];
        if (!(z > 1e-3f))
            return INFINITY;
        float x = dv[0] * c->right[0] + dv[1] * c->right[1] + dv[2] * c->right[2];
        float y = dv[0] * c->up[0] + dv[1] * c->up[1] + dv[2] * c->up[2];
        f->proj[i * 2] = (c->cx + c->focal * x / z - (float)f->x0) * inv_d;
        f->proj[i * 2 + 1] = (c->cy - c->focal * y / z - (float)f->y0) * inv_d;
    }
    raster_cells(f);
    /* body cells: 1 - cov outside the mask; uncovered mask: skin fully, clothing CLOTH_WEIGHT */
    double sum = 0;
    for (size_t i = 0; i < (size_t)f->cw * f->ch; i++)
        sum += f->cells[i] ? 1.0f - f->cov[i] : f->cov[i] - (1.0f - CLOTH_WEIGHT) * f->cloth[i];
    f->stature = k;
    memcpy(f->place, place, sizeof place);
    double prior = 0;
    if (f->net) {
        /* the learned prior: toward the network's macros, its own strength plus the
           classical clothed-fraction weight */
        static const int pk[5] = {P_GENDER, P_WEIGHT, P_MUSCLE, P_PROP, P_AGE};
        for (int j = 0; j < 5; j++)
            prior += (double)(q[pk[j]] - f->net_q[pk[j]]) * (q[pk[j]] - f->net_q[pk[j]]);
        prior *= f->net->strength + f->prior;
    } else if (f->prior > 0.0f) {
        static const int pk[3] = {P_WEIGHT, P_MUSCLE, P_PROP};
        for (int j = 0; j < 3; j++)
            prior += (double)(q[pk[j]] - 0.5f) * (q[pk[j]] - 0.5f);
        prior *= f->prior;
    }
    float l = (float)(sum / f->photo_area + prior);
    return isfinite(l) ? l : INFINITY;
}

/* Coordinate descent from q (updated in place, loss *best) with first steps scale * p_step0,
   until every active step is below its resolution or the evaluation budget is spent. */
static void descend(struct fit *f, const struct avatar_body_params *base, float q[NP], float *best, float scale,
                    const bool active[NP], int max_evals)
{
    float step[NP];
    for (int k = 0; k < NP; k++)
        step[k] = scale * p_step0[k];
    while (f->evals < max_evals) {
        bool improved = false;
        float q0[NP];
        memcpy(q0, q, sizeof q0);
        for (int k = 0; k < NP && f->evals < max_evals; k++) {
            if (!active[k] || step[k] < p_step_min[k])
                continue;
            for (int dir = 1; dir >= -1; dir -= 2) {
                float t[NP];
                memcpy(t, q, sizeof t);
                t[k] = fminf(p_hi[k], fmaxf(p_lo[k], q[k] + (float)dir * step[k]));
                if (t[k] == q[k])
                    continue;
                float l = loss(f, base, t);
                if (l < *best) {
                    *best = l;
                    q[k] = t[k];
                    improved = true;
                    break;
                }
            }
        }
        /* pattern move (Hooke and Jeeves): the sweep's whole move once more, repeated while
           it pays; it follows the diagonal valleys (gender against weight and muscle) that
           one coordinate at a time crosses in many small steps */
        while (improved && f->evals < max_evals) {
            float t[NP];
            bool moves = false;
            for (int k = 0; k < NP; k++) {
                t[k] = fminf(p_hi[k], fmaxf(p_lo[k], q[k] + (q[k] - q0[k])));
                moves = moves || t[k] != q[k];
            }
            float l = moves ? loss(f, base, t) : INFINITY;
            if (!(l < *best))
                break;
            *best = l;
            memcpy(q0, q, sizeof q0);
            memcpy(q, t, sizeof t);
        }
        if (!improved) {
            bool any = false;
            for (int k = 0; k < NP; k++) {
                step[k] *= 0.5f;
                any = any || (active[k] && step[k] >= p_step_min[k]);
            }
            if (!any)
                break;
        }
    }
}

/* With a hint, the camera's tilt of the lowest loss for the body q, scanned every 4
   degrees over +-TILT_MAX, goes into q[P_TILT]; returns that loss (q's loss without a
   hint, the camera level). */
static float scan_tilt(struct fit *f, const struct avatar_body_params *base, float q[NP])
{
    if (!(f->hint_m > 0.0f))
        return loss(f, base, q);
    float best = INFINITY, best_t = 0.0f;
    for (float t = -TILT_MAX; t <= TILT_MAX; t += 4.0f) {
        q[P_TILT] = t;
        float l = loss(f, base, q);
        if (l < best)
            best = l, best_t = t;
    }
    q[P_TILT] = best_t;
    return best;
}

/* Stage 2: a coarse scan of the arm angle; then, from each start on the gender axis (a
   front silhouette can fit a woman's shape with a man's of another weight, muscle and
   torso turn, and the valley between is one a coordinate search does not cross): a coarse
   scan of the torso turn, a descent with the gender held, and a descent of everything
   from there at finer steps. The best of the starts wins. */
static void search(struct fit *f, const struct avatar_body_params *base, float q[NP])
{
    if (f->net) {
        /* one start at the network's estimate, finer first steps, half the budget */
        memcpy(q, f->net_q, sizeof f->net_q);
        bool all[NP];
        for (int k = 0; k < NP; k++)
            all[k] = k != P_TILT || f->hint_m > 0.0f;
        float l = scan_tilt(f, base, q);
        descend(f, base, q, &l, 0.25f, all, FIT_MAX_EVALS / 2);
        loss(f, base, q);
        return;
    }
    bool all[NP], held[NP];
    for (int k = 0; k < NP; k++)
        all[k] = k != P_TILT || f->hint_m > 0.0f, held[k] = all[k] && k != P_GENDER;
    scan_tilt(f, base, q);
    /* the arms first: from the A-pose the descent could cover arms held close to the body
       with a heavier torso instead */
    float best = INFINITY, best_arm = q[P_ARM];
    for (float a = -10.0f; a <= 50.0f; a += 10.0f) {
        q[P_ARM] = a;
        float l = loss(f, base, q);
        if (l < best)
            best = l, best_arm = a;
    }
    q[P_ARM] = best_arm;
    static const float gender_start[FIT_STARTS] = {0.15f, 0.85f};
    /* the starting point stands in should every start score INFINITY (no candidate body lands
       in the photo): a winner left unset would hand garbage parameters to the caller */
    float winner[NP], win_loss = INFINITY;
    memcpy(winner, q, sizeof winner);
    for (int run = 0; run < FIT_STARTS; run++) {
        float qs[NP];
        memcpy(qs, q, sizeof qs);
        qs[P_GENDER] = gender_start[run];
        /* the torso turn's sign is a mirror image away: one side will do */
        float l = INFINITY, best_turn = 0.0f;
        for (float t = 0.0f; t <= 24.0f; t += 6.0f) {
            qs[P_TURN] = t;
            float lt = loss(f, base, qs);
            if (lt < l)
                l = lt, best_turn = t;
        }
        qs[P_TURN] = best_turn;
        const int budget = FIT_MAX_EVALS * (run + 1) / FIT_STARTS;
        descend(f, base, qs, &l, 0.5f, held, budget);
        descend(f, base, qs, &l, 0.25f, all, budget);
        if (l < win_loss) {
            win_loss = l;
            memcpy(winner, qs, sizeof winner);
        }
    }
    memcpy(q, winner, sizeof winner);
    loss(f, base, q);   /* leaves the winner's stature and placement in f */
}

/* Photo coverage per search cell: the mean of the mask over each cell's d x d pixels
   (pixels outside the photo count as background), its clothing part, and the prior's
   weight from the clothed fraction. */
static void cell_coverage(struct fit *f)
{
    double area = 0, cloth_area = 0;
    for (int j = 0; j < f->ch; j++)
        for (int i = 0; i < f->cw; i++) {
            int n = 0, nc = 0;
            for (int y = f->y0 + j * f->d; y < f->y0 + (j + 1) * f->d; y++)
                for (int x = f->x0 + i * f->d; x < f->x0 + (i + 1) * f->d; x++)
                    if (x >= 0 && y >= 0 && x < f->w && y < f->h) {
                        uint8_t v = f->mask[(size_t)y * f->w + x];
                        n += v != 0;
                        nc += v != 0 && v != 255;
                    }
            float c = (float)n / (float)(f->d * f->d), cc = (float)nc / (float)(f->d * f->d);
            f->cov[(size_t)j * f->cw + i] = c;
            f->cloth[(size_t)j * f->cw + i] = cc;
            area += c, cloth_area += cc;
        }
    f->photo_area = (float)area;
    f->prior = area > 0 ? PRIOR_WEIGHT * (float)(cloth_area / area) : 0.0f;
}

enum tryon_status av_fit_person(const struct avatar_model *m, const uint8_t *mask, int w, int h, float height_hint_cm,
                                const struct avatar_person_prior *prior, struct av_person_fit *out)
{
    memset(out, 0, sizeof *out);
    struct fit f;
    memset(&f, 0, sizeof f);
    f.m = m, f.w = w, f.h = h, f.mask = mask;
    avatar_photo_camera(&f.pc);
    cam_init(&f.pc, w, h, &f.cam);
    if (!measure(mask, w, h, &f.photo))
        return tryon_fail(TRYON_EINVAL, "avatar: the person mask is empty");
    f.d = (int)lrintf(f.photo.h_px / (float)FIT_CELLS_TALL);
    if (f.d < 1)
        f.d = 1;
    const int margin = (int)(FIT_MARGIN * f.photo.h_px);
    f.x0 = f.photo.left - margin, f.y0 = f.photo.top - margin;
    f.cw = (f.photo.right - f.photo.left + 1 + 2 * margin + f.d - 1) / f.d;
    f.ch = (f.photo.bottom - f.photo.top + 1 + 2 * margin + f.d - 1) / f.d;
    f.verts = malloc((size_t)m->nv * 3 * sizeof *f.verts);
    f.render = malloc((size_t)w * h);
    f.cov = malloc((size_t)f.cw * f.ch * sizeof *f.cov);
    f.cloth = malloc((size_t)f.cw * f.ch * sizeof *f.cloth);
    f.cells = malloc((size_t)f.cw * f.ch);
    f.proj = malloc((size_t)m->nbody * 2 * sizeof *f.proj);
    enum tryon_status st = TRYON_OK;
    if (!f.verts || !f.render || !f.cov || !f.cloth || !f.cells || !f.proj)
        st = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the person estimate");

    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    const bool fit_stature = height_hint_cm <= 0.0f;
    float place[3] = {0, 0, 0};
    if (st == TRYON_OK) {
        /* first guess of the stature: the top row's ray at the depth where the bottom row meets the floor */
        float fp[3];
        if (!floor_point(&f.cam, f.photo.cx, (float)f.photo.bottom + 1.0f, fp)) {
            if (fit_stature)
                st = tryon_fail(TRYON_EINVAL, "avatar: the silhouette's lowest row is above the horizon of the photo camera");
            fp[0] = fp[1] = fp[2] = 0.0f;   /* with a hint the camera's height is solved: start at the studio's spot */
        }
        if (st == TRYON_OK && fit_stature) {
            float y = -((float)f.photo.top - f.cam.cy) / f.cam.focal, dist = f.cam.eye[2] - fp[2];
            p.stature_m = fminf(2.6f, fmaxf(0.5f, f.cam.eye[1] + y * dist));
            place[0] = fp[0], place[2] = fp[2] - 0.1f * p.stature_m;
            st = fit_place(&f, &p, place);
        } else if (st == TRYON_OK) {
            /* the hint fixes the stature; the camera's height and distance are solved (solve_place) */
            p.stature_m = height_hint_cm / 100.0f;
            f.hint_m = p.stature_m;
            memcpy(f.place0, fp, sizeof fp);
            struct avatar_body_params unit = p;
            unit.stature_m = 1.0f;
            float k;
            if ((st = av_deform(m, &unit, f.verts)) == TRYON_OK && !solve_place(&f, f.verts, &k, place))
                st = tryon_fail(TRYON_EINVAL, "avatar: no camera between %.1f and %.1f m above the floor shows a body "
                                "of the hinted %.0f cm as this silhouette", (double)CAM_H_MIN, (double)CAM_H_MAX,
                                (double)height_hint_cm);
        }
    }
    if (st == TRYON_OK) {
        cell_coverage(&f);
        f.hint_m = fit_stature ? 0.0f : p.stature_m;
        f.stature = f.stature0 = p.stature_m;
        memcpy(f.place, place, sizeof place);
        memcpy(f.place0, place, sizeof place);
        float q[NP] = {p.ph.gender, p.ph.weight, p.ph.muscle, p.ph.proportions, p.ph.age, p.arm_down_deg,
                       p.leg_spread_deg, p.torso_turn_deg, 0.0f};
        if (prior) {
            float nq[NP] = {prior->gender, prior->weight, prior->muscle, prior->proportions, prior->age,
                            prior->arm_down_deg, prior->leg_spread_deg, prior->torso_turn_deg, 0.0f};
            clamp_q(nq);
            memcpy(f.net_q, nq, sizeof nq);
            f.net = prior;
        }
        search(&f, &p, q);
        clamp_q(q);
        params_of(q, &p, &p);
        p.stature_m = fit_stature ? fminf(2.6f, fmaxf(0.5f, f.stature)) : p.stature_m;
        memcpy(place, f.place, sizeof place);
        /* with a hint the winner's solve (sub-pixel, the winner's camera) stands */
        if (fit_stature)
            st = fit_place(&f, &p, place);
    }
    if (st == TRYON_OK) {
        struct sil s;
        bool vis;
        st = render_full(&f, &p, place, &s, &vis);
        size_t inter = 0, uni = 0;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            bool a = mask[i] != 0, b = f.render[i] != 0;
            inter += a && b;
            uni += a || b;
        }
        out->iou = uni ? (float)((double)inter / (double)uni) : 0.0f;
    }
    free(f.verts), free(f.render), free(f.cov), free(f.cloth), free(f.cells), free(f.proj);
    if (st)
        return st;
    out->body = p;
    out->silhouette_h_px = f.photo.h_px;
    /* the camera in the body's world: the floor at y = 0 */
    out->camera = f.pc;
    out->camera.eye[1] -= place[1], out->camera.target[1] -= place[1];
    out->tilt_deg = f.tilt_deg;
    place[1] = 0.0f;
    memcpy(out->place, place, sizeof place);
    out->iterations = f.evals;
    return TRYON_OK;
}
