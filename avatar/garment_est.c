/* garment_est.c: classical garment estimation from a segmented product photo: type, size
 * parameters, colour and landmarks from the mask's shape.
 *
 * Everything is measured in units of the mask's own widths, so the framing (scale and
 * translation) does not matter:
 *   - columns: cx, the centre of the bounding box (templates are left/right symmetric);
 *   - a leg split (the centre column empty with cloth on both sides in most of the lowest
 *     fifth; or, where the segmentation kept the backdrop between close legs, a stretch of
 *     such rows from the hem up in the mask less the photo's backdrop-coloured pixels,
 *     has_leg_gap) means trousers or shorts; the leg (crotch to bottom) over the rise (top
 *     to crotch, the end of the centre column's run) separates them and gives the length;
 *   - without a split, the centre column's first row (the collar) lies below the mask's top
 *     for a garment with shoulders (tops, dress): the shoulders rise above the back
 *     neckline (a gap over wtop, the extent of the top 4% of rows), or its top is much
 *     wider than its bottom; a skirt's waistband is its top row and it widens downward. A skirt's length comes from height / wtop;
 *   - tops and dress: wmin, the narrowest run through the centre column between a quarter
 *     of the way down and the hem (the waist), scales them; (hem - collar) / wmin separates
 *     the dress and gives the length; the sleeve's end is found along the arm's image
 *     direction from the shoulder joint (both placed from the shoulder landmark by
 *     constants in wmin units), and its distance gives the sleeve length; a long sleeve
 *     makes a long-sleeve.
 * The constants and tables were measured on front views of this module's templates on the
 * default body (the product-photo template frame: avatar_phenotype_default, stature 1.75 m),
 * 512 x 512, framed like raytrace's rt_camera_frame; tests/avatar checks the round trip.
 *
 * Colour: mean of the interior pixels (linear RGB), calibrated by the white backdrop's
 * brightness beside the garment (AV_PRODUCT_GAIN).
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Albedo of a garment whose mean colour in a product photo equals the white backdrop's
   brightness beside it: the backdrop's albedo (about 0.9) times the ratio of the light on
   the backdrop to the mean light on a garment's visible surface. Measured on the studio's
   synthetic product photos (median of true / estimated albedo over the demo garments,
   range 0.67..0.78 of the value at 0.9): 0.65 (AV_PRODUCT_GAIN in internal.h). */

/* ===== calibration (default body, see the top of the file) ===== */
#define SKIRT_TOP_GAP 0.065f   /* collar row below the top by more than this * wtop: shoulders */
#define SHOULDER_DX 0.636f     /* shoulder landmark column: cx +- this * wmin */
#define SHJOINT_DX 0.621f      /* shoulder joint column: cx +- this * wmin */
#define SHJOINT_DY 0.223f      /* shoulder joint: this * wmin below the shoulder landmark */
#define ARM_DX 0.7227f         /* image direction of the arm (shoulder joint -> wrist), unit length */
#define ARM_DY 0.6911f
#define ARM_RADIUS 0.25f       /* sleeve pixels lie within this * wmin of the arm's axis, outward of its joint */
#define LONG_SLEEVE 0.62f      /* sleeve at or above: long-sleeve */
#define DRESS_RATIO 2.25f      /* (hem - collar) / wmin above: dress ... */
#define DRESS_FLARE 1.15f      /* ... when also its bottom is this much wider than wmin */
#define SHORTS_RATIO 1.80f     /* leg / rise above: trousers */
#define CAL_N 5                /* tables at size parameter 0, .25, .5, .75, 1 */
static const float top_len_cal[CAL_N] = {1.248f, 1.395f, 1.620f, 1.750f, 1.850f};     /* (hem-collar)/wmin */
static const float dress_len_cal[CAL_N] = {2.637f, 3.221f, 3.764f, 4.370f, 4.709f};
static const float skirt_len_cal[CAL_N] = {1.044f, 1.578f, 2.063f, 2.533f, 3.000f};   /* height / wtop */
static const float trousers_len_cal[CAL_N] = {2.136f, 2.430f, 2.714f, 2.981f, 3.309f};   /* leg / rise */
static const float shorts_len_cal[CAL_N] = {0.426f, 0.726f, 1.015f, 1.266f, 1.500f};
static const float sleeve_cal[CAL_N] = {0.213f, 0.482f, 0.898f, 1.277f, 1.672f};           /* end distance / wmin */

/* Piecewise-linear inverse of an increasing table over [0,1], clamped. */
static float table_inverse(const float *tab, float f)
{
    if (f <= tab[0])
        return 0.0f;
    for (int i = 0; i + 1 < CAL_N; i++)
        if (f <= tab[i + 1])
            return ((float)i + (f - tab[i]) / (tab[i + 1] - tab[i])) / (CAL_N - 1);
    return 1.0f;
}

/* ===== mask measurements ===== */

struct feat {
    int w, h;
    int bb[4];              /* x0, y0, x1, y1 of the foreground */
    float H;                /* bb height, pixels */
    int cx;                 /* centre column */
    bool split;             /* two legs at the bottom */
    int collar_y;           /* first foreground row of the centre column (-1: none) */
    int hem_y;              /* last row of the centre column's run from collar_y */
    float top_gap;          /* (collar_y - top) / H */
    float wmin;             /* narrowest centre run between a quarter down and the hem */
    int wmin_y;
    float wtop;             /* extent of the top 4% of rows (the waistband or the shoulders) */
    float gap_w;            /* (collar_y - top) / wtop */
    float leg_ratio;        /* legs: (bottom - crotch) / (crotch - top), crotch = hem_y + 1 */
    float wbot;             /* extent of the lowest 4% of rows */
};

bool avatar_mask_bbox(const uint8_t *mask, int w, int h, int bb[4])
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

/* The run of row y containing column x: [*a, *b]; false when x is background. */
static bool run_at(const uint8_t *mask, int w, int y, int x, int *a, int *b)
{
    const uint8_t *row = mask + (size_t)y * w;
    if (x < 0 || x >= w || !row[x])
        return false;
    *a = x, *b = x;
    while (*a > 0 && row[*a - 1])
        (*a)--;
    while (*b < w - 1 && row[*b + 1])
        (*b)++;
    return true;
}

/* Two legs: in most rows of the lowest fifth, the centre column is empty with cloth on
   both sides. */
static bool has_leg_split(const uint8_t *mask, int w, const int bb[4], int cx)
{
    int hgt = bb[3] - bb[1] + 1;
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

/* Outermost foreground pixel (side +1: largest x, -1: smallest x) in rows y0..y1 among
   columns on that side of cx (inclusive); its centre in px, false when none. */
static bool outermost_px(const uint8_t *mask, int w, int y0, int y1, int cx, int side, float px[2])
{
    int best = -1, by = -1;
    for (int y = y0; y <= y1; y++) {
        const uint8_t *row = mask + (size_t)y * w;
        if (side > 0) {
            for (int x = w - 1; x >= cx; x--)
                if (row[x]) {
                    if (best < 0 || x > best)
                        best = x, by = y;
                    break;
                }
        } else {
            for (int x = 0; x <= cx; x++)
                if (row[x]) {
                    if (best < 0 || x < best)
                        best = x, by = y;
                    break;
                }
        }
    }
    if (best < 0)
        return false;
    px[0] = (float)best + 0.5f, px[1] = (float)by + 0.5f;
    return true;
}

static void measure(const uint8_t *mask, int w, int h, const int bb[4], struct feat *f)
{
    memset(f, 0, sizeof *f);
    f->w = w, f->h = h;
    memcpy(f->bb, bb, sizeof f->bb);
    f->H = (float)(bb[3] - bb[1] + 1);
    f->cx = (bb[0] + bb[2]) / 2;
    f->split = has_leg_split(mask, w, bb, f->cx);
    f->collar_y = -1;
    for (int y = bb[1]; y <= bb[3] && f->collar_y < 0; y++)
        if (mask[(size_t)y * w + f->cx])
            f->collar_y = y;
    f->hem_y = f->collar_y;
    while (f->hem_y >= 0 && f->hem_y + 1 <= bb[3] && mask[(size_t)(f->hem_y + 1) * w + f->cx])
        f->hem_y++;
    f->top_gap = f->collar_y >= 0 ? (float)(f->collar_y - bb[1]) / f->H : 1.0f;
    f->wmin = INFINITY;
    if (f->collar_y >= 0) {
        int y0 = f->collar_y + (f->hem_y - f->collar_y) / 4, y1 = f->hem_y - (int)(0.02f * f->H);
        for (int y = y0; y <= y1; y++) {
            int a, b;
            if (run_at(mask, w, y, f->cx, &a, &b) && (float)(b - a + 1) < f->wmin)
                f->wmin = (float)(b - a + 1), f->wmin_y = y;
        }
    }
    if (!isfinite(f->wmin))
        f->wmin = (float)(bb[2] - bb[0] + 1);
    float l[2], r[2];
    int yt = bb[1] + (int)(0.04f * f->H);
    if (outermost_px(mask, w, bb[1], yt, f->cx, -1, l) && outermost_px(mask, w, bb[1], yt, f->cx, 1, r))
        f->wtop = r[0] - l[0] + 1.0f;
    else
        f->wtop = (float)(bb[2] - bb[0] + 1);
    int yb = bb[3] - (int)(0.04f * f->H);
    f->wbot = outermost_px(mask, w, yb, bb[3], f->cx, -1, l) && outermost_px(mask, w, yb, bb[3], f->cx, 1, r)
                  ? r[0] - l[0] + 1.0f : f->wtop;
    f->gap_w = f->collar_y >= 0 ? (float)(f->collar_y - bb[1]) / f->wtop : 1.0f;
    float rise = (float)(f->hem_y + 1 - bb[1]);
    f->leg_ratio = f->collar_y >= 0 && rise > 0 ? (float)(bb[3] + 1 - (f->hem_y + 1)) / rise : 0.0f;
}

/* The sleeve's end on side s (+1 = image right = the wearer's left) of a top: mask pixels
   within ARM_RADIUS * wmin of the arm's axis through the shoulder joint and not inward of
   the joint's column (by more than 0.05 wmin); the mean of those
   within 0.03 wmin of the farthest along the axis. Returns the distance from the shoulder
   joint along the axis (in wmin units) and the end's centre in px; -1 when none. */
static float sleeve_end(const uint8_t *mask, const struct feat *f, const float shoulder[2], int side, float end[2])
{
    float j[2] = {(float)f->cx + 0.5f + side * SHJOINT_DX * f->wmin, shoulder[1] + SHJOINT_DY * f->wmin};
    float d[2] = {side * ARM_DX, ARM_DY};
    float rmax = ARM_RADIUS * f->wmin, pmax = -INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        double sx = 0, sy = 0;
        int n = 0;
        for (int y = f->bb[1]; y <= f->bb[3]; y++)
            for (int x = f->bb[0]; x <= f->bb[2]; x++) {
                if (!mask[(size_t)y * f->w + x])
                    continue;
                float px = (float)x + 0.5f - j[0], py = (float)y + 0.5f - j[1];
                float t = px * d[0] + py * d[1], r = fabsf(px * d[1] - py * d[0]);
                if (t < 0.0f || r > rmax || side * px < -0.05f * f->wmin)   /* the torso lies inward */
                    continue;
                if (pass == 0)
                    pmax = fmaxf(pmax, t);
                else if (t >= pmax - 0.03f * f->wmin)
                    sx += x + 0.5, sy += y + 0.5, n++;
            }
        if (pass == 0 && !isfinite(pmax))
            return -1.0f;
        if (pass == 1 && n > 0) {
            end[0] = (float)(sx / n), end[1] = (float)(sy / n);
            return ((end[0] - j[0]) * d[0] + (end[1] - j[1]) * d[1]) / f->wmin;
        }
    }
    return -1.0f;
}

/* Type, size and landmarks from the measurements. hint_type < 0: classify. */
static void classify(const uint8_t *mask, const struct feat *f, int hint_type, struct avatar_garment_est *out)
{
    for (int l = 0; l < AVATAR_LM_N; l++)
        out->lm[l][0] = out->lm[l][1] = -1.0f;
    float conf = 1.0f;
    /* shoulders: a neck dip at the top, or (a flat-topped drawing) a top much wider than
       the bottom, which a skirt (widening downward) never is */
    bool legs = f->split, shoulders = !f->split && (f->gap_w > SKIRT_TOP_GAP || f->wtop > 1.3f * f->wbot);
    if (hint_type >= 0) {
        legs = hint_type == AVATAR_GARMENT_TROUSERS || hint_type == AVATAR_GARMENT_SHORTS;
        shoulders = !legs && hint_type != AVATAR_GARMENT_SKIRT;
    } else if (!f->split) {
        conf = fminf(conf, fabsf(f->gap_w - SKIRT_TOP_GAP) / SKIRT_TOP_GAP);
    }
    const int y_top = f->bb[1], y_bot = f->bb[3], band = (int)(0.01f * f->H), wband = (int)(0.04f * f->H);
    /* a horizontal hem rim seen from the front is a thin ellipse (the camera's perspective):
       its outermost points lie up to about 2% of the height above its lowest row */
    const int hband = (int)(0.025f * f->H);
    if (legs) {
        float ratio = f->leg_ratio;
        bool trousers = hint_type >= 0 ? hint_type == AVATAR_GARMENT_TROUSERS : ratio > SHORTS_RATIO;
        if (hint_type < 0)
            conf = fminf(conf, fabsf(ratio - SHORTS_RATIO) / (0.25f * SHORTS_RATIO));
        out->type = trousers ? AVATAR_GARMENT_TROUSERS : AVATAR_GARMENT_SHORTS;
        out->length = table_inverse(trousers ? trousers_len_cal : shorts_len_cal, ratio);
        out->sleeve = 0.0f;
        outermost_px(mask, f->w, y_top, y_top + wband, f->cx, 1, out->lm[AVATAR_LM_L_WAIST]);
        outermost_px(mask, f->w, y_top, y_top + wband, f->cx, -1, out->lm[AVATAR_LM_R_WAIST]);
        for (int s = 0; s < 2; s++) {   /* each leg's own lowest rows */
            int side = s ? -1 : 1, lo = -1;
            for (int y = y_bot; y >= y_top && lo < 0; y--) {
                const uint8_t *row = mask + (size_t)y * f->w;
                for (int x = side > 0 ? f->cx + 1 : f->bb[0]; x <= (side > 0 ? f->bb[2] : f->cx - 1); x++)
                    if (row[x]) {
                        lo = y;
                        break;
                    }
            }
            if (lo >= 0)
                outermost_px(mask, f->w, lo - band, lo, f->cx, side, out->lm[AVATAR_LM_L_HEM + s]);
        }
        if (f->collar_y >= 0) {   /* the centre column's run from the waistband ends at the crotch */
            out->lm[AVATAR_LM_CROTCH][0] = (float)f->cx + 0.5f;
            out->lm[AVATAR_LM_CROTCH][1] = (float)f->hem_y + 1.0f;
        }
    } else if (!shoulders) {
        out->type = AVATAR_GARMENT_SKIRT;
        out->length = table_inverse(skirt_len_cal, f->H / f->wtop);
        out->sleeve = 0.0f;
        outermost_px(mask, f->w, y_top, y_top + wband, f->cx, 1, out->lm[AVATAR_LM_L_WAIST]);
        outermost_px(mask, f->w, y_top, y_top + wband, f->cx, -1, out->lm[AVATAR_LM_R_WAIST]);
        outermost_px(mask, f->w, y_bot - hband, y_bot, f->cx, 1, out->lm[AVATAR_LM_L_HEM]);
        outermost_px(mask, f->w, y_bot - hband, y_bot, f->cx, -1, out->lm[AVATAR_LM_R_HEM]);
    } else {
        float collar[2] = {(float)f->cx + 0.5f, (float)f->collar_y};
        memcpy(out->lm[AVATAR_LM_COLLAR], collar, sizeof collar);
        float ratio = (float)(f->hem_y + 1 - f->collar_y) / f->wmin;
        /* a dress is long and flares below the waist */
        bool dress = hint_type >= 0 ? hint_type == AVATAR_GARMENT_DRESS
                                    : ratio > DRESS_RATIO && f->wbot > DRESS_FLARE * f->wmin;
        if (hint_type < 0)
            conf = fminf(conf, fabsf(ratio - DRESS_RATIO) / (0.25f * DRESS_RATIO));
        out->length = table_inverse(dress ? dress_len_cal : top_len_cal, ratio);
        /* shoulders: the top of the columns at +- SHOULDER_DX wmin */
        float sleeve_sum = 0;
        int nsleeve = 0;
        float end[2][2];
        float dist[2] = {-1, -1};
        for (int s = 0; s < 2; s++) {
            int side = s ? -1 : 1;
            int x = (int)lrintf((float)f->cx + 0.5f + side * SHOULDER_DX * f->wmin);
            x = x < 0 ? 0 : x >= f->w ? f->w - 1 : x;
            int y = f->bb[1];
            while (y <= f->bb[3] && !mask[(size_t)y * f->w + x])
                y++;
            if (y > f->bb[3])
                continue;
            float sh[2] = {(float)x + 0.5f, (float)y};
            memcpy(out->lm[AVATAR_LM_L_SHOULDER + s], sh, sizeof sh);
            dist[s] = sleeve_end(mask, f, sh, side, end[s]);
            if (dist[s] >= 0.0f)
                sleeve_sum += dist[s], nsleeve++;
        }
        out->sleeve = nsleeve ? table_inverse(sleeve_cal, sleeve_sum / (float)nsleeve) : 0.0f;
        if (out->sleeve >= 0.2f)
            for (int s = 0; s < 2; s++)
                if (dist[s] >= 0.0f)
                    memcpy(out->lm[AVATAR_LM_L_SLEEVE + s], end[s], sizeof end[s]);
        if (dress)
            out->type = AVATAR_GARMENT_DRESS;
        else if (hint_type >= 0)
            out->type = (enum avatar_garment_type)hint_type;
        else {
            out->type = out->sleeve >= LONG_SLEEVE ? AVATAR_GARMENT_LONGSLEEVE : AVATAR_GARMENT_TSHIRT;
            conf = fminf(conf, fabsf(out->sleeve - LONG_SLEEVE) / 0.2f);
        }
        /* hem corners: the run through the centre column in its lowest rows (2% of the height) */
        for (int s = 0; s < 2; s++) {
            int best = -1, by = -1;
            for (int y = f->hem_y - 2 * band; y <= f->hem_y; y++) {
                int a, b;
                if (!run_at(mask, f->w, y, f->cx, &a, &b))
                    continue;
                int e = s ? a : b;
                if (best < 0 || (s ? e < best : e > best))
                    best = e, by = y;
            }
            if (best >= 0)
                out->lm[AVATAR_LM_L_HEM + s][0] = (float)best + 0.5f, out->lm[AVATAR_LM_L_HEM + s][1] = (float)by + 0.5f;
        }
    }
    out->type_confidence = hint_type >= 0 ? 1.0f : fminf(1.0f, fmaxf(0.0f, conf));
}

/* Shorts and trousers whose legs stand close together: the gap between the legs shows the
   white backdrop, but a segmentation that fills enclosed holes keeps it in the mask (the
   dark rims of the leg openings close it at the bottom). Returns a copy of the mask with
   the backdrop-like pixels (linear luminance above 0.6 of the backdrop's, sRGB chroma
   max - min under 40/255) cleared, or NULL when out of memory. */
static uint8_t *mask_without_backdrop(const struct img8 *im, const uint8_t *mask, const int bb[4], float white)
{
    uint8_t *clean = malloc((size_t)im->w * im->h);
    if (!clean)
        return NULL;
    memcpy(clean, mask, (size_t)im->w * im->h);
    for (int y = bb[1]; y <= bb[3]; y++)
        for (int x = bb[0]; x <= bb[2]; x++) {
            size_t i = (size_t)y * im->w + x;
            if (!mask[i])
                continue;
            const uint8_t *px = im->px + i * im->c;
            if (im->c < 3)
                continue;
            int mx = px[0] > px[1] ? px[0] : px[1], mn = px[0] < px[1] ? px[0] : px[1];
            mx = px[2] > mx ? px[2] : mx, mn = px[2] < mn ? px[2] : mn;
            float l = img_srgb_to_linear((0.2126f * px[0] + 0.7152f * px[1] + 0.0722f * px[2]) / 255.0f);
            if (mx - mn < 40 && l > 0.6f * white)
                clean[i] = 0;
        }
    return clean;
}

/* A leg gap in the cleaned mask: rows in the lower half of the garment where the centre
   column is clear with cloth on both sides, at least 8% of the height of them, in one
   stretch that starts within the lowest 10% (the shaded rims of the leg openings may close
   it below) and is broken by no more than 5% of the height of other rows (shading), under
   cloth at the top of the centre column (the rise); the clear run through the centre
   ends at least 10% of the garment's width in from either side (room for a leg). A pale
   print's horizontal stripes clear whole rows; a vertical one clears the top too. */
static bool has_leg_gap(const uint8_t *clean, int w, const int bb[4], int cx)
{
    int hgt = bb[3] - bb[1] + 1, rows = 0, miss = 0;
    if (!clean[(size_t)(bb[1] + hgt / 10) * w + cx])
        return false;
    for (int y = bb[3]; y >= bb[1] + hgt / 2; y--) {
        const uint8_t *row = clean + (size_t)y * w;
        bool left = memchr(row + bb[0], 255, (size_t)(cx - bb[0])) != NULL;
        bool right = memchr(row + cx + 1, 255, (size_t)(bb[2] - cx)) != NULL;
        int a = cx, b = cx;   /* the clear run through cx: legs beside it, a stripe spans the row */
        while (a > bb[0] && !row[a - 1])
            a--;
        while (b < bb[2] && !row[b + 1])
            b++;
        int bw = bb[2] - bb[0] + 1;
        if (!row[cx] && left && right && (a - bb[0]) * 10 >= bw && (bb[2] - b) * 10 >= bw)
            rows++, miss = 0;
        else if (rows == 0 && (bb[3] - y) * 10 > hgt)
            return false;
        else if (rows > 0 && ++miss * 20 > hgt)
            break;
    }
    return rows * 100 >= hgt * 8;
}

float av_backdrop_luminance(const struct img8 *im, const uint8_t *mask, int y0, int y1)
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
    int hint = -1;
    if (type_hint && type_hint[0]) {
        enum avatar_garment_type t;
        enum tryon_status s = avatar_garment_type_parse(type_hint, &t);
        if (s)
            return s;
        hint = (int)t;
    }
    if (!avatar_mask_bbox(mask, w, h, bb))
        return tryon_fail(TRYON_EINVAL, "avatar: the garment mask is empty");
    /* colour: interior pixels (all 4 neighbours in the mask) avoid the blend with the backdrop */
    double sum[3] = {0, 0, 0}, sall[3] = {0, 0, 0};
    size_t n = 0, nall = 0;
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
       calibrates the light (AV_PRODUCT_GAIN), whatever the exposure. A cut-out (no backdrop
       visible) is taken as is. */
    float white = av_backdrop_luminance(rgba, mask, bb[1], bb[3]);
    if (white > 0.2f)
        for (int c = 0; c < 3; c++)
            out->color[c] = fminf(out->color[c] * AV_PRODUCT_GAIN / white, 0.95f);
    struct feat f;
    measure(mask, w, h, bb, &f);
    uint8_t *clean = NULL;
    if (!f.split && white > 0.2f && (clean = mask_without_backdrop(rgba, mask, bb, white)) &&
        has_leg_gap(clean, w, bb, f.cx)) {
        measure(clean, w, h, bb, &f);
        f.split = true;
    }
    else {
        free(clean);
        clean = NULL;
    }
    classify(clean ? clean : mask, &f, hint, out);
    free(clean);
    out->looseness = 0.0f;
    return TRYON_OK;
}

enum tryon_status av_template_on_default_body(const struct avatar_model *m, const struct avatar_garment_est *g,
                                              enum avatar_garment_style style, struct avatar_body_params *bp,
                                              struct avatar_mesh *gm)
{
    memset(bp, 0, sizeof *bp);
    avatar_phenotype_default(&bp->ph);
    bp->stature_m = 1.75f;
    struct avatar_style_shape shape;
    avatar_garment_style_shape(style, &shape);
    bp->arm_down_deg = shape.arm_down_deg;
    bp->leg_spread_deg = shape.leg_spread_deg;
    struct avatar_mesh body = {0};
    enum tryon_status st = avatar_body_build(m, bp, &body);
    if (st == TRYON_OK)
        st = avatar_garment_build(m, bp, &body, g, gm);
    avatar_mesh_free(&body);
    return st;
}
