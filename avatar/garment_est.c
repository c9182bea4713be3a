/* garment_est.c: classical garment estimation from a segmented product photo: type from
 * the bottom of the mask (a gap under the centre with cloth on both sides = two legs =
 * trousers), colour = mean of the interior pixels (linear RGB), length and sleeve from
 * width/height ratios through tables measured on front silhouettes of this module's
 * templates on the default body (tests/avatar checks the round trip).
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Albedo of a garment whose mean colour in a product photo equals the white backdrop's
   brightness beside it: the backdrop's albedo (about 0.9) times the ratio of the light on
   the backdrop to the mean light on a garment's visible surface. Measured on the studio's
   synthetic product photos (median of true / estimated albedo over the demo garments,
   range 0.67..0.78 of the value at 0.9): 0.65. */
#define PRODUCT_GAIN 0.65f
/* Calibration tables: features of front silhouettes of this module's templates on the
   default body (stature 1.75 m), framed like raytrace's rt_camera_frame (vfov 30 degrees,
   margin 0.08), 512 x 512 pixels. Tops: [length 0, .25, .5, .75, 1][sleeve 0 .. 1] of
   {height / torso width, total width / torso width}, the torso width being the mean width
   of the run through the centre column 75%..95% down (rows where it is cloth). Trousers: height / waistband width
   (mean over rows 1%..6% down) at length 0 .. 1. */
#define CAL_N 5
static const float top_cal[CAL_N][CAL_N][2] = {
    {{1.450f, 1.516f}, {1.453f, 2.077f}, {1.452f, 2.614f}, {1.456f, 3.238f}, {1.599f, 3.819f}},
    {{1.590f, 1.477f}, {1.590f, 2.026f}, {1.587f, 2.555f}, {1.584f, 3.168f}, {1.591f, 3.655f}},
    {{1.651f, 1.428f}, {1.649f, 1.941f}, {1.646f, 2.451f}, {1.654f, 3.031f}, {1.648f, 3.497f}},
    {{1.706f, 1.375f}, {1.709f, 1.864f}, {1.708f, 2.348f}, {1.708f, 2.911f}, {1.708f, 3.367f}},
    {{1.755f, 1.323f}, {1.753f, 1.786f}, {1.757f, 2.252f}, {1.756f, 2.788f}, {1.762f, 3.232f}},
};
static const float trousers_cal[CAL_N] = {1.772f, 2.077f, 2.382f, 2.700f, 2.974f};

/* Bilinear interpolation of top_cal's feature k at (length, sleeve) in [0,1]^2. */
static float top_feature(float len, float slv, int k)
{
    float fl = len * (CAL_N - 1), fs = slv * (CAL_N - 1);
    int il = fl >= CAL_N - 1 ? CAL_N - 2 : (int)fl, is = fs >= CAL_N - 1 ? CAL_N - 2 : (int)fs;
    float tl = fl - (float)il, ts = fs - (float)is;
    float a = top_cal[il][is][k] + ts * (top_cal[il][is + 1][k] - top_cal[il][is][k]);
    float b = top_cal[il + 1][is][k] + ts * (top_cal[il + 1][is + 1][k] - top_cal[il + 1][is][k]);
    return a + tl * (b - a);
}

/* (length, sleeve) of a top whose features are (f_h, f_w): the nearest point of the
   interpolated table on a 101 x 101 grid, features scaled by their ranges. */
static void top_inverse(float f_h, float f_w, float *len, float *slv)
{
    float best = INFINITY;
    for (int i = 0; i <= 100; i++)
        for (int j = 0; j <= 100; j++) {
            float l = (float)i / 100.0f, sl = (float)j / 100.0f;
            float dh = (top_feature(l, sl, 0) - f_h) / 0.28f, dw = (top_feature(l, sl, 1) - f_w) / 2.0f;
            float c = dh * dh + dw * dw;
            if (c < best) {
                best = c;
                *len = l;
                *slv = sl;
            }
        }
}

/* Length of trousers whose height / waist ratio is f: piecewise-linear inverse of the table. */
static float trousers_inverse(float f)
{
    if (f <= trousers_cal[0])
        return 0.0f;
    for (int i = 0; i + 1 < CAL_N; i++)
        if (f <= trousers_cal[i + 1])
            return ((float)i + (f - trousers_cal[i]) / (trousers_cal[i + 1] - trousers_cal[i])) / (CAL_N - 1);
    return 1.0f;
}

/* Mean width of the runs through column x over rows y0..y1 where x is foreground. */
static float band_width(const uint8_t *mask, int w, int y0, int y1, int x)
{
    double sum = 0;
    int n = 0;
    for (int y = y0; y <= y1; y++) {
        int r = run_width(mask, w, y, x);
        sum += r;
        n += r > 0;
    }
    return n ? (float)(sum / n) : 0.0f;
}

/* Foreground bounding box; false when empty. */
static bool mask_bbox(const uint8_t *mask, int w, int h, int bb[4])
{
    bb[0] = w, bb[1] = h, bb[2] = -1, bb[3] = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                if (x < bb[0]) bb[0] = x;
                if (x > bb[2]) bb[2] = x;
                if (y < bb[1]) bb[1] = y;
                if (y > bb[3]) bb[3] = y;
            }
    return bb[2] >= 0;
}

/* Two legs: in most rows of the lowest fifth, the centre column is empty with cloth on
   both sides. */
static bool has_leg_split(const uint8_t *mask, int w, const int bb[4])
{
    int cx = (bb[0] + bb[2]) / 2, hgt = bb[3] - bb[1] + 1;
    int y0 = bb[3] - hgt / 5, split = 0, rows = 0;
    for (int y = y0; y <= bb[3]; y++, rows++) {
        const uint8_t *row = mask + (size_t)y * w;
        if (row[cx])
            continue;
        bool left = memchr(row + bb[0], 255, (size_t)(cx - bb[0])) != NULL;
        bool right = memchr(row + cx + 1, 255, (size_t)(bb[2] - cx)) != NULL;
        split += left && right;
    }
    return rows > 0 && split * 10 >= rows * 6;
}

/* Median linear luminance of the opaque backdrop pixels (outside the mask) in rows
   y0..y1, or 0 when under 5% of those rows' pixels are backdrop. */
static float backdrop_luminance(const struct img8 *im, const uint8_t *mask, int y0, int y1)
{
    int hist[256] = {0};
    size_t n = 0, total = (size_t)(y1 - y0 + 1) * im->w;
    for (int y = y0; y <= y1; y++)
        for (int x = 0; x < im->w; x++) {
            size_t i = (size_t)y * im->w + x;
            const uint8_t *px = im->px + i * im->c;
            if (mask[i] || (im->c == 4 && px[3] < 255))
                continue;
            int l = im->c >= 3 ? (int)lrintf(0.2126f * px[0] + 0.7152f * px[1] + 0.0722f * px[2]) : px[0];
            hist[l]++;
            n++;
        }
    if (n * 20 < total)
        return 0.0f;
    size_t acc = 0;
    int v = 0;
    while (v < 255 && acc + (size_t)hist[v] <= n / 2)
        acc += (size_t)hist[v++];
    return img_srgb_to_linear((float)v / 255.0f);
}

enum tryon_status avatar_estimate_garment(const struct img8 *rgba, const uint8_t *mask, const char *type_hint,
                                          struct avatar_garment_est *out)
{
    memset(out, 0, sizeof *out);
    const int w = rgba->w, h = rgba->h;
    int bb[4];
    if (!mask_bbox(mask, w, h, bb))
        return tryon_fail(TRYON_EINVAL, "avatar: the garment mask is empty");
    if (type_hint && type_hint[0]) {
        enum tryon_status s = avatar_garment_type_parse(type_hint, &out->type);
        if (s)
            return s;
    } else {
        out->type = has_leg_split(mask, w, bb) ? AVATAR_GARMENT_TROUSERS : AVATAR_GARMENT_TOP;
    }
    /* colour: interior pixels (all 4 neighbours in the mask) avoid the blend with the backdrop */
    double sum[3] = {0, 0, 0};
    size_t n = 0, nall = 0;
    double sall[3] = {0, 0, 0};
    for (int y = bb[1]; y <= bb[3]; y++)
        for (int x = bb[0]; x <= bb[2]; x++) {
            size_t i = (size_t)y * w + x;
            if (!mask[i])
                continue;
            const uint8_t *px = rgba->px + i * rgba->c;
            float lin[3];
            for (int c = 0; c < 3; c++)
                lin[c] = img_srgb_to_linear((float)px[rgba->c >= 3 ? c : 0] / 255.0f);
            bool interior = x > 0 && x < w - 1 && y > 0 && y < h - 1 && mask[i - 1] && mask[i + 1] && mask[i - w] &&
                            mask[i + w];
            for (int c = 0; c < 3; c++) {
                sall[c] += lin[c];
                if (interior)
                    sum[c] += lin[c];
            }
            nall++;
            n += interior;
        }
    for (int c = 0; c < 3; c++)
        out->color[c] = n ? (float)(sum[c] / (double)n) : (float)(sall[c] / (double)nall);
    /* What the photo shows is albedo times the studio's light. Product photos are shot on
       a white backdrop: where the photo shows it beside the garment, its brightness
       calibrates the light (PRODUCT_GAIN), whatever the exposure. A cut-out (no backdrop
       visible) is taken as is. */
    float white = backdrop_luminance(rgba, mask, bb[1], bb[3]);
    if (white > 0.2f)
        for (int c = 0; c < 3; c++)
            out->color[c] = fminf(out->color[c] * PRODUCT_GAIN / white, 0.95f);

    /* proportions */
    float hgt = (float)(bb[3] - bb[1] + 1), wid = (float)(bb[2] - bb[0] + 1);
    int cx = (bb[0] + bb[2]) / 2;
    if (out->type == AVATAR_GARMENT_TROUSERS) {
        float waist = band_width(mask, w, bb[1] + (int)(0.01f * hgt), bb[1] + (int)(0.06f * hgt), cx);
        if (waist < 1.0f)
            waist = wid;
        out->length = trousers_inverse(hgt / waist);
        out->sleeve = 0.0f;
    } else {
        float torso = band_width(mask, w, bb[1] + (int)(0.75f * hgt), bb[1] + (int)(0.95f * hgt), cx);
        if (torso < 1.0f)
            torso = wid;
        top_inverse(hgt / torso, wid / torso, &out->length, &out->sleeve);
    }
    return TRYON_OK;
}
