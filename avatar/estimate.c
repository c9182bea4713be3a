/* estimate.c: classical estimation from segmented photos (the baseline and fallback of
 * DESIGN.md section 1).
 *
 * Person: analysis by synthesis through the standard photo camera. The silhouette gives
 * its top and bottom rows and, at fixed fractions of its height, the widths of the run of
 * foreground through the torso's centre (shoulder, chest, waist, hip). The body is placed
 * on the floor (y = 0) where the lowest silhouette row meets the floor and sideways under
 * the torso's centre; its stature is fitted so the rendered silhouette's top row matches
 * (unless a height hint fixes it); then (gender, weight) are searched on a coarse grid
 * refined twice around the best, comparing width/height ratios of the rendered body with the
 * photo's, and the placement and stature are fitted again for the chosen phenotype.
 *
 * Garment estimation lives in garment_est.c.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Levels (fractions of the silhouette height above its lowest row) where widths are taken. */
#define NLEVELS 4
static const float level_frac[NLEVELS] = {0.80f, 0.72f, 0.62f, 0.52f};   /* shoulder, chest, waist, hip */
#define LEVEL_BAND 0.006f   /* widths averaged over rows within this fraction of the height */

struct sil {
    int top, bottom;        /* first and last foreground rows */
    float h_px;             /* bottom - top + 1 */
    float cx;               /* torso centre column (mean foreground column in the torso band), pixels */
    float width[NLEVELS];   /* run width through the centre, pixels */
};

/* Width of the foreground run of row y containing column x (0 when x is background). */
static int run_width(const uint8_t *mask, int w, int y, int x)
{
    const uint8_t *row = mask + (size_t)y * w;
    if (x < 0 || x >= w || !row[x])
        return 0;
    int a = x, b = x;
    while (a > 0 && row[a - 1])
        a--;
    while (b < w - 1 && row[b + 1])
        b++;
    return b - a + 1;
}

/* Measure a silhouette; false when the mask is empty. */
static bool measure(const uint8_t *mask, int w, int h, struct sil *s)
{
    s->top = -1, s->bottom = -1;
    for (int y = 0; y < h && s->top < 0; y++)
        if (memchr(mask + (size_t)y * w, 255, (size_t)w))
            s->top = y;
    for (int y = h - 1; y >= 0 && s->bottom < 0; y--)
        if (memchr(mask + (size_t)y * w, 255, (size_t)w))
            s->bottom = y;
    if (s->top < 0)
        return false;
    s->h_px = (float)(s->bottom - s->top + 1);
    /* torso band: 45%..75% of the height above the bottom */
    int ya = s->bottom - (int)(0.75f * s->h_px), yb = s->bottom - (int)(0.45f * s->h_px);
    double sx = 0, n = 0;
    for (int y = ya; y <= yb; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x])
                sx += x, n++;
    s->cx = n > 0 ? (float)(sx / n) + 0.5f : 0.5f * (float)w;
    int cxi = (int)s->cx;
    for (int l = 0; l < NLEVELS; l++) {
        float yc = (float)s->bottom + 0.5f - level_frac[l] * s->h_px;
        int y0 = (int)floorf(yc - LEVEL_BAND * s->h_px), y1 = (int)ceilf(yc + LEVEL_BAND * s->h_px);
        if (y0 < s->top)
            y0 = s->top;
        if (y1 > s->bottom)
            y1 = s->bottom;
        double sum = 0;
        int cnt = 0;
        for (int y = y0; y <= y1; y++, cnt++)
            sum += run_width(mask, w, y, cxi);
        s->width[l] = cnt ? (float)(sum / cnt) : 0.0f;
    }
    return true;
}

/* The world ray through pixel (px, py) of a w x h photo: origin = eye, dir (unnormalised). */
static void pixel_ray(const struct avatar_photo_camera *c, int w, int h, float px, float py, float dir[3])
{
    float f[3], r[3], u[3];
    for (int k = 0; k < 3; k++)
        f[k] = c->target[k] - c->eye[k];
    float fl = sqrtf(f[0] * f[0] + f[1] * f[1] + f[2] * f[2]);
    for (int k = 0; k < 3; k++)
        f[k] /= fl;
    r[0] = f[1] * c->up[2] - f[2] * c->up[1];
    r[1] = f[2] * c->up[0] - f[0] * c->up[2];
    r[2] = f[0] * c->up[1] - f[1] * c->up[0];
    float rl = sqrtf(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    for (int k = 0; k < 3; k++)
        r[k] /= rl;
    u[0] = r[1] * f[2] - r[2] * f[1];
    u[1] = r[2] * f[0] - r[0] * f[2];
    u[2] = r[0] * f[1] - r[1] * f[0];
    float focal = 0.5f * (float)h / tanf(c->vfov_deg * (float)M_PI / 360.0f);
    float x = (px - 0.5f * (float)w) / focal, y = -(py - 0.5f * (float)h) / focal;
    for (int k = 0; k < 3; k++)
        dir[k] = f[k] + x * r[k] + y * u[k];
}

/* Where the ray through (px, py) meets the floor y = 0; false when it does not (at or
   above the horizon). */
static bool floor_point(const struct avatar_photo_camera *c, int w, int h, float px, float py, float out[3])
{
    float d[3];
    pixel_ray(c, w, h, px, py, d);
    if (!(d[1] < -1e-6f) || !(c->eye[1] > 0.0f))
        return false;
    float t = -c->eye[1] / d[1];
    for (int k = 0; k < 3; k++)
        out[k] = c->eye[k] + t * d[k];
    return true;
}

/* Work state of one person estimate: the model, the photo size, scratch buffers. */
struct est_ctx {
    const struct avatar_model *m;
    const struct avatar_photo_camera *cam;
    int w, h;
    float *verts;     /* (m->nv,3) */
    uint8_t *render;  /* (w*h) */
};

/* Build the body of p, render it at place, measure. False when nothing is visible. */
static enum tryon_status render_body(struct est_ctx *e, const struct avatar_body_params *p, const float place[3],
                                     struct sil *s, bool *visible)
{
    enum tryon_status st = av_deform(e->m, p, e->verts);
    if (st)
        return st;
    av_render_silhouette_off(e->verts, e->m->body_tri, e->m->nbt, place, e->cam, e->w, e->h, e->render);
    *visible = measure(e->render, e->w, e->h, s);
    return TRYON_OK;
}

/* Fit the placement (depth from the lowest row, x from the torso centre) and, when
   fit_stature, the stature (from the top row) of body p to the photo's silhouette. */
static enum tryon_status fit_place(struct est_ctx *e, const struct sil *photo, struct avatar_body_params *p,
                                   bool fit_stature, float place[3])
{
    float target_floor[3];
    if (!floor_point(e->cam, e->w, e->h, photo->cx, (float)photo->bottom + 1.0f, target_floor))
        return tryon_fail(TRYON_EINVAL, "avatar: the silhouette's lowest row is above the horizon of the photo camera");
    for (int it = 0; it < 6; it++) {
        struct sil s;
        bool vis;
        enum tryon_status st = render_body(e, p, place, &s, &vis);
        if (st)
            return st;
        if (!vis)
            return tryon_fail(TRYON_EINVAL, "avatar: the body left the photo while fitting its placement");
        float fp[3];
        if (!floor_point(e->cam, e->w, e->h, s.cx, (float)s.bottom + 1.0f, fp))
            return tryon_fail(TRYON_EINVAL, "avatar: the body left the floor while fitting its placement");
        float dz = target_floor[2] - fp[2];
        /* sideways: move so the torso centres' columns agree (at the body's depth) */
        float depth = e->cam->eye[2] - place[2];
        float focal = 0.5f * (float)e->h / tanf(e->cam->vfov_deg * (float)M_PI / 360.0f);
        float dx = (photo->cx - s.cx) * depth / focal;
        place[0] += dx;
        place[2] += dz;
        float ratio = photo->h_px / s.h_px;
        if (fit_stature) {
            float st_m = p->stature_m * ratio;
            p->stature_m = fminf(2.6f, fmaxf(0.5f, st_m));
        }
        if (fabsf(dz) < 1e-3f && fabsf(dx) < 1e-3f && (!fit_stature || fabsf(ratio - 1.0f) < 1e-4f))
            break;
    }
    return TRYON_OK;
}

static float width_cost(const struct sil *a, const struct sil *b)
{
    float c = 0;
    for (int l = 0; l < NLEVELS; l++) {
        float d = a->width[l] / a->h_px - b->width[l] / b->h_px;
        c += d * d;
    }
    return c;
}

enum tryon_status avatar_estimate_person(const struct avatar_model *m, const struct img8 *rgba,
                                         const uint8_t *mask, float height_hint_cm,
                                         struct avatar_person_est *out)
{
    memset(out, 0, sizeof *out);
    const int w = rgba->w, h = rgba->h;
    if (!(height_hint_cm <= 0.0f || (height_hint_cm >= 50.0f && height_hint_cm <= 260.0f)))
        return tryon_fail(TRYON_EINVAL, "avatar: height hint %g cm is outside [50, 260]", (double)height_hint_cm);
    struct sil photo;
    if (!measure(mask, w, h, &photo))
        return tryon_fail(TRYON_EINVAL, "avatar: the person mask is empty");
    if (photo.top == 0 || photo.bottom == h - 1 || photo.h_px < 32)
        return tryon_fail(TRYON_EINVAL, "avatar: the person silhouette (rows %d..%d of %d) is cut off or under 32 px",
                          photo.top, photo.bottom, h);
    struct avatar_photo_camera cam;
    avatar_photo_camera(&cam);
    struct est_ctx e = {m, &cam, w, h, NULL, NULL};
    e.verts = malloc((size_t)m->nv * 3 * sizeof *e.verts);
    e.render = malloc((size_t)w * h);
    if (!e.verts || !e.render) {
        free(e.verts), free(e.render);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the person estimate");
    }
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    bool fit_stature = height_hint_cm <= 0.0f;
    /* first guess of the stature: the top row's ray at the depth where the bottom row meets the floor */
    float fp[3], d[3];
    if (!floor_point(&cam, w, h, photo.cx, (float)photo.bottom + 1.0f, fp)) {
        free(e.verts), free(e.render);
        return tryon_fail(TRYON_EINVAL, "avatar: the silhouette's lowest row is above the horizon of the photo camera");
    }
    pixel_ray(&cam, w, h, photo.cx, (float)photo.top, d);
    float t = (fp[2] - cam.eye[2]) / d[2];
    float guess = cam.eye[1] + t * d[1];
    p.stature_m = fit_stature ? fminf(2.6f, fmaxf(0.5f, guess)) : height_hint_cm / 100.0f;
    float place[3] = {fp[0], 0.0f, fp[2] - 0.1f * p.stature_m};

    enum tryon_status st = fit_place(&e, &photo, &p, fit_stature, place);
    /* (gender, weight): 5 x 5 grid, then two 3 x 3 refinements with halved steps */
    float best_g = 0.5f, best_w = 0.5f, best_c = INFINITY;
    float step = 0.25f;
    for (int round = 0; round < 3 && st == TRYON_OK; round++) {
        int half = round == 0 ? 2 : 1;
        float cg = round == 0 ? 0.5f : best_g, cw = round == 0 ? 0.5f : best_w;
        for (int i = -half; i <= half && st == TRYON_OK; i++)
            for (int j = -half; j <= half && st == TRYON_OK; j++) {
                float g = cg + step * (float)i, wt = cw + step * (float)j;
                if (g < 0.0f || g > 1.0f || wt < 0.0f || wt > 1.0f || (round > 0 && i == 0 && j == 0))
                    continue;
                struct avatar_body_params q = p;
                q.ph.gender = g;
                q.ph.weight = wt;
                struct sil s;
                bool vis;
                st = render_body(&e, &q, place, &s, &vis);
                if (st == TRYON_OK && vis) {
                    float c = width_cost(&photo, &s);
                    if (c < best_c) {
                        best_c = c;
                        best_g = g;
                        best_w = wt;
                    }
                }
            }
        step *= 0.5f;
    }
    if (st == TRYON_OK) {
        p.ph.gender = best_g;
        p.ph.weight = best_w;
        st = fit_place(&e, &photo, &p, fit_stature, place);
    }
    if (st == TRYON_OK) {
        struct sil s;
        bool vis;
        st = render_body(&e, &p, place, &s, &vis);
        size_t inter = 0, uni = 0;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            bool a = mask[i] != 0, b = e.render[i] != 0;
            inter += a && b;
            uni += a || b;
        }
        out->iou = uni ? (float)((double)inter / (double)uni) : 0.0f;
    }
    free(e.verts), free(e.render);
    if (st)
        return st;
    out->body = p;
    out->silhouette_h_px = photo.h_px;
    out->stature_m = p.stature_m;
    memcpy(out->place, place, sizeof place);
    return TRYON_OK;
}
