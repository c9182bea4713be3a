/* garment_shape.c: how well a garment estimate's outline matches its product photo.
 *
 * The estimated garment (type, length, sleeve) is built on the default body, as the texture
 * transfer builds it (av_template_on_default_body), and its triangles are drawn seen from the front
 * (orthographic, x-y) into a grid laid over the photo mask's bounding box, the template's
 * x-y bounds stretched onto it: both outlines are compared free of framing and scale. The
 * score is their intersection over union on that grid, the best of the template in each
 * photo style (on a ghost mannequin, laid flat, on a hanger: the style's arm and leg angles;
 * the depth does not show from the front; the other styles are tried only when the ghost's
 * scores under 0.9), over the box without the thin rows a hanger's hook adds on top. A photo of a garment type we have
 * gives a high score for the type read; a photo of something else (a bag, a shoe, a hat, a
 * coat open at the front) matches no type's outline, and a wrong `type:` hint scores low. */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID_H 96       /* grid rows over the mask's bounding box; columns keep its aspect */
#define HOOK_FRAC 0.06f /* rows above the first with this share of the widest row's pixels are a hook */
#define GHOST_ENOUGH 0.9f /* a ghost-template IoU this high ends the search over styles */

/* Cells of the g_w x g_h grid whose centres the triangle (a, b, c: grid coordinates, row
   axis down) covers, set to 1. */
static void fill_tri(uint8_t *g, int g_w, int g_h, const float a[2], const float b[2], const float c[2])
{
    float area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if (fabsf(area) < 1e-12f)
        return;
    int x0 = (int)floorf(fminf(a[0], fminf(b[0], c[0]))), x1 = (int)ceilf(fmaxf(a[0], fmaxf(b[0], c[0])));
    int y0 = (int)floorf(fminf(a[1], fminf(b[1], c[1]))), y1 = (int)ceilf(fmaxf(a[1], fmaxf(b[1], c[1])));
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > g_w - 1 ? g_w - 1 : x1, y1 = y1 > g_h - 1 ? g_h - 1 : y1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            float px = (float)x + 0.5f, py = (float)y + 0.5f;
            float w0 = ((b[0] - px) * (c[1] - py) - (b[1] - py) * (c[0] - px)) / area;
            float w1 = ((c[0] - px) * (a[1] - py) - (c[1] - py) * (a[0] - px)) / area;
            if (w0 >= 0.0f && w1 >= 0.0f && w0 + w1 <= 1.0f)
                g[(size_t)y * g_w + x] = 1;
        }
}

/* Mask pixels of row y within the columns of box bb. */
static int row_count(const uint8_t *mask, int w, const int bb[4], int y)
{
    int n = 0;
    for (int x = bb[0]; x <= bb[2]; x++)
        n += mask[(size_t)y * w + x] != 0;
    return n;
}

/* The first row of the mask's bounding box bb (updated) that holds at least HOOK_FRAC of the
   widest row's pixels: a hanger's hook or wire above the garment is not its outline. */
static void trim_hook(const uint8_t *mask, int w, int bb[4])
{
    int widest = 0;
    for (int y = bb[1]; y <= bb[3]; y++) {
        int n = row_count(mask, w, bb, y);
        widest = n > widest ? n : widest;
    }
    int y = bb[1];
    while (y < bb[3] && (float)row_count(mask, w, bb, y) < HOOK_FRAC * (float)widest)
        y++;
    bb[1] = y;
}

/* The outline IoU of g's template in photo style `style` against mask over its box bb. */
static enum tryon_status style_iou(const struct avatar_model *m, const uint8_t *mask, int w, const int bb[4],
                                   const struct avatar_garment_est *g, enum avatar_garment_style style, float *iou)
{
    int bw = bb[2] - bb[0] + 1, bh = bb[3] - bb[1] + 1;
    int g_h = GRID_H, g_w = (int)lroundf((float)GRID_H * (float)bw / (float)bh);
    g_w = g_w < 1 ? 1 : g_w > 8 * GRID_H ? 8 * GRID_H : g_w;
    struct avatar_body_params bp;
    struct avatar_mesh gm = {0};
    enum tryon_status st = av_template_on_default_body(m, g, style, &bp, &gm);
    uint8_t *tmpl = st == TRYON_OK ? calloc((size_t)g_w * g_h, 1) : NULL;
    if (st == TRYON_OK && !tmpl)
        st = tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment outline");
    if (st) {
        avatar_mesh_free(&gm);
        return st;
    }
    float lo[3], hi[3];
    avatar_mesh_bounds(&gm, lo, hi);
    float sx = (float)g_w / fmaxf(hi[0] - lo[0], 1e-6f), sy = (float)g_h / fmaxf(hi[1] - lo[1], 1e-6f);
    for (int t = 0; t < gm.nt; t++) {
        float p[3][2];
        for (int k = 0; k < 3; k++) {
            const float *v = gm.pos + (size_t)gm.tri[t * 3 + k] * 3;
            p[k][0] = (v[0] - lo[0]) * sx, p[k][1] = (hi[1] - v[1]) * sy;
        }
        fill_tri(tmpl, g_w, g_h, p[0], p[1], p[2]);
    }
    avatar_mesh_free(&gm);
    /* the mask on the grid: a cell is garment when the mask pixel under its centre is */
    size_t inter = 0, uni = 0;
    for (int y = 0; y < g_h; y++)
        for (int x = 0; x < g_w; x++) {
            int mx = bb[0] + (int)(((float)x + 0.5f) * (float)bw / (float)g_w);
            int my = bb[1] + (int)(((float)y + 0.5f) * (float)bh / (float)g_h);
            bool a = mask[(size_t)my * w + mx] != 0, b = tmpl[(size_t)y * g_w + x] != 0;
            inter += a && b;
            uni += a || b;
        }
    free(tmpl);
    *iou = uni ? (float)inter / (float)uni : 0.0f;
    return TRYON_OK;
}

enum tryon_status avatar_garment_shape_iou(const struct avatar_model *m, const uint8_t *mask, int w, int h,
                                           const struct avatar_garment_est *g, float *iou,
                                           enum avatar_garment_style *style)
{
    *iou = 0.0f;
    if (style)
        *style = AVATAR_STYLE_GHOST;
    int bb[4];
    if (!avatar_mask_bbox(mask, w, h, bb))
        return tryon_fail(TRYON_EINVAL, "avatar: the garment mask is empty");
    trim_hook(mask, w, bb);
    /* the ghost's template first: a photo it matches this well is one (each style costs a
       body and a garment build) */
    for (int k = 0; k < AVATAR_STYLE_N && !(k > 0 && *iou >= GHOST_ENOUGH); k++) {
        float v;
        enum tryon_status st = style_iou(m, mask, w, bb, g, (enum avatar_garment_style)k, &v);
        if (st)
            return st;
        if (v > *iou) {
            *iou = v;
            if (style)
                *style = (enum avatar_garment_style)k;
        }
    }
    return TRYON_OK;
}
