/* segment.c: foreground masks of person and product photos.
 *
 * With alpha the mask is alpha > 127. Without (or with an alpha channel that is opaque
 * everywhere), the backdrop is keyed out by a flood from the image border over a 3 x 3
 * box-filtered copy (so per-pixel noise, a path tracer's or a sensor's, averages out):
 * the flood crosses from a backdrop pixel to its neighbour when the two differ by no more
 * than a noise-sized step, so smooth studio gradients (a cyclorama's floor to wall, light
 * fall-off, soft shadows) are followed while the subject's edge stops it. As a guard
 * against leaks through a low-contrast stretch of edge, a flooded pixel must also look
 * like backdrop: near the row's backdrop colour (medians of the left and right border
 * columns, interpolated across the row), or that colour scaled by k in [0.3, 1.3] (a
 * shadow, or a floor lit more brightly in the middle). Every threshold scales with the
 * noise measured on the border. The flood starts from the border pixels that look like
 * backdrop, so a subject cut by the frame meets the mask's edge (worker/photo.c refuses a
 * person photo so cut). What the flood does not reach is foreground, less any region
 * whose outline the flood met softly nearly everywhere (noise-sized steps: backdrop lit
 * unevenly across a row, which the row's estimate does not follow; a wide lens shows such
 * walls); the largest 4-connected component is kept and its holes are filled. A second component at least
 * AV_SECOND_BLOB_FRAC of the largest is a second subject: TRYON_EINVAL. Known limits: a subject that
 * covers most of a side column sets that column's backdrop estimate and is keyed out
 * there; cloth of the backdrop's own hue that meets it with a soft edge can be keyed out.
 */
#include "avatar/internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BORDER_COLS 3     /* border columns sampled on each side */
#define ROW_WINDOW 4      /* rows above and below pooled into a row's border median */
#define BLUR_RADIUS 1      /* 3 x 3 box before keying */
#define MIN_STEP 6.0f      /* sRGB units: smallest neighbour step refused by the backdrop flood */
#define MIN_GLOBAL 16.0f   /* sRGB units: smallest allowed distance from the row's backdrop estimate */
#define MIN_RAW 16.0f      /* sRGB units: edge pixels this close to the backdrop beside them are backdrop */
#define MIN_CHROMA 10.0f   /* a shadow's colour may stray this far from the scaled backdrop */
#define SHADOW_K_MIN 0.3f  /* shadows darker than this fraction of the backdrop are kept */
#define SHADOW_K_MAX 1.3f  /* backdrop lit up to this much more brightly than at the borders */
#define SOFT_FRAC 0.9f     /* a region whose outline is this soft is backdrop (drop_soft_components) */

/* The 4-neighbours of pixel p of a w x h image (left, right, up, down), -1 off the image. */
static void neighbours4(int32_t p, int w, int h, int32_t nb[4])
{
    int x = p % w, y = p / w;
    nb[0] = x > 0 ? p - 1 : -1, nb[1] = x < w - 1 ? p + 1 : -1;
    nb[2] = y > 0 ? p - w : -1, nb[3] = y < h - 1 ? p + w : -1;
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median colour of the border columns [x0, x0+BORDER_COLS) over rows y-ROW_WINDOW..y+ROW_WINDOW
   of the smoothed image sm (w,h,3). */
static void border_median(const float *sm, int w, int h, int x0, int y, float *scratch, float out[3])
{
    int ya = y - ROW_WINDOW < 0 ? 0 : y - ROW_WINDOW, yb = y + ROW_WINDOW >= h ? h - 1 : y + ROW_WINDOW;
    int cols = BORDER_COLS < w ? BORDER_COLS : w;
    for (int c = 0; c < 3; c++) {
        int n = 0;
        for (int yy = ya; yy <= yb; yy++)
            for (int xx = x0; xx < x0 + cols; xx++)
                scratch[n++] = sm[((size_t)yy * w + xx) * 3 + c];
        qsort(scratch, (size_t)n, sizeof *scratch, cmp_f);
        out[c] = scratch[n / 2];
    }
}

/* Box filter of the RGB channels with radius BLUR_RADIUS (clamped at the edges), into
   sm (w,h,3): averages away per-pixel noise (a path tracer's, a sensor's) before keying. */
static void smooth_rgb(const struct img8 *im, float *sm, float *tmp)
{
    const int w = im->w, h = im->h, r = BLUR_RADIUS;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0;
                for (int k = -r; k <= r; k++) {
                    int xx = x + k < 0 ? 0 : x + k >= w ? w - 1 : x + k;
                    s += im->px[((size_t)y * w + xx) * 4 + c];
                }
                tmp[((size_t)y * w + x) * 3 + c] = s / (float)(2 * r + 1);
            }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                float s = 0;
                for (int k = -r; k <= r; k++) {
                    int yy = y + k < 0 ? 0 : y + k >= h ? h - 1 : y + k;
                    s += tmp[((size_t)yy * w + x) * 3 + c];
                }
                sm[((size_t)y * w + x) * 3 + c] = s / (float)(2 * r + 1);
            }
}

int av_mask_label(const uint8_t *mask, int w, int h, int32_t *label, size_t **sizes)
{
    size_t n = (size_t)w * h, cap = 64;
    int32_t *queue = malloc(n * sizeof *queue);
    size_t *sz = malloc(cap * sizeof *sz);
    if (!queue || !sz) {
        free(queue), free(sz);
        tryon_fail(TRYON_ENOMEM, "avatar: out of memory for mask components");
        return -1;
    }
    memset(label, 0, n * sizeof *label);
    int32_t nlab = 0;
    sz[0] = 0;
    for (size_t s = 0; s < n; s++) {
        if (!mask[s] || label[s])
            continue;
        int32_t lab = ++nlab;
        if ((size_t)lab >= cap) {
            size_t *nsz = realloc(sz, 2 * cap * sizeof *sz);
            if (!nsz) {
                free(queue), free(sz);
                tryon_fail(TRYON_ENOMEM, "avatar: out of memory for mask components");
                return -1;
            }
            sz = nsz, cap *= 2;
        }
        size_t qh = 0, qt = 0;
        queue[qt++] = (int32_t)s;
        label[s] = lab;
        while (qh < qt) {
            int32_t p = queue[qh++];
            int32_t nb[4];
            neighbours4(p, w, h, nb);
            for (int k = 0; k < 4; k++)
                if (nb[k] >= 0 && mask[nb[k]] && !label[nb[k]]) {
                    label[nb[k]] = lab;
                    queue[qt++] = nb[k];
                }
        }
        sz[lab] = qt;
    }
    free(queue);
    *sizes = sz;
    return nlab;
}

/* Keep the largest 4-connected component of mask (255/0) and fill its holes. Returns the
   component's pixel count ((size_t)-1 when out of memory); *second gets the pixel count of
   the second largest component (0 if none). */
static size_t keep_largest_filled(uint8_t *mask, int w, int h, size_t *second)
{
    size_t n = (size_t)w * h;
    int32_t *label = malloc(n * sizeof *label);
    int32_t *queue = malloc(n * sizeof *queue);
    size_t *sizes = NULL;
    int nlab = label && queue ? av_mask_label(mask, w, h, label, &sizes) : -1;
    if (nlab < 0) {
        free(label), free(queue);
        return (size_t)-1;
    }
    int32_t best = 0;
    size_t best_size = 0;
    *second = 0;
    for (int32_t lab = 1; lab <= nlab; lab++) {
        if (sizes[lab] > best_size) {   /* strictly larger: the first of equal components wins */
            *second = best_size;
            best_size = sizes[lab];
            best = lab;
        } else if (sizes[lab] > *second) {
            *second = sizes[lab];
        }
    }
    free(sizes);
    /* background = everything not in the best component reachable from the border */
    memset(mask, 0, n);
    size_t qh = 0, qt = 0;
    for (int x = 0; x < w; x++)
        for (int e = 0; e < 2; e++) {
            size_t p = (size_t)(e ? h - 1 : 0) * w + x;
            if (label[p] != best && !mask[p]) {
                mask[p] = 1;
                queue[qt++] = (int32_t)p;
            }
        }
    for (int y = 0; y < h; y++)
        for (int e = 0; e < 2; e++) {
            size_t p = (size_t)y * w + (e ? w - 1 : 0);
            if (label[p] != best && !mask[p]) {
                mask[p] = 1;
                queue[qt++] = (int32_t)p;
            }
        }
    while (qh < qt) {
        int32_t p = queue[qh++];
        int32_t nb[4];
        neighbours4(p, w, h, nb);
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && !mask[nb[k]] && label[nb[k]] != best) {
                mask[nb[k]] = 1;
                queue[qt++] = nb[k];
            }
    }
    size_t count = 0;
    for (size_t p = 0; p < n; p++) {
        mask[p] = mask[p] ? 0 : 255;   /* not reached from the border: the component or a hole */
        count += mask[p] != 0;
    }
    free(label);
    free(queue);
    return best ? count : 0;
}

/* Turn back into backdrop each foreground component of mask (255/0) whose boundary with the
   backdrop is soft: at least SOFT_FRAC of its 4-neighbour pairs with a backdrop pixel differ
   in the smoothed image sm by no more than step_thr. Such a region is backdrop that the
   flood reached only through steps of noise size but that did not look like the row's
   backdrop (a wall lit unevenly across the row: brighter in the middle than at either
   border, or darker where the light falls off); a subject's outline is an edge, soft at
   most along the stretches where its colour meets the backdrop's. Returns false when out
   of memory (message set). */
static bool drop_soft_components(uint8_t *mask, const float *sm, int w, int h, float step_thr)
{
    const size_t n = (size_t)w * h;
    int32_t *label = malloc(n * sizeof *label);
    size_t *sizes = NULL;
    int nlab = label ? av_mask_label(mask, w, h, label, &sizes) : -1;
    size_t *pairs = nlab > 0 ? calloc((size_t)nlab + 1, 2 * sizeof *pairs) : NULL;   /* [2 lab]: all, [2 lab + 1]: soft */
    if (nlab < 0 || (nlab > 0 && !pairs)) {
        free(label), free(sizes), free(pairs);
        if (!label || nlab >= 0)   /* av_mask_label says its own */
            tryon_fail(TRYON_ENOMEM, "avatar: out of memory for segmentation");
        return false;
    }
    for (size_t i = 0; i < n && nlab > 0; i++) {
        if (!label[i])
            continue;
        int32_t nb[4];
        neighbours4((int32_t)i, w, h, nb);
        for (int k = 0; k < 4; k++) {
            if (nb[k] < 0 || label[nb[k]])
                continue;
            float d2 = 0;
            for (int c = 0; c < 3; c++)
                d2 += (sm[i * 3 + c] - sm[(size_t)nb[k] * 3 + c]) * (sm[i * 3 + c] - sm[(size_t)nb[k] * 3 + c]);
            pairs[2 * label[i]]++;
            pairs[2 * label[i] + 1] += d2 <= step_thr * step_thr;
        }
    }
    for (size_t i = 0; i < n && nlab > 0; i++)
        if (label[i] && pairs[2 * label[i]] > 0 && pairs[2 * label[i] + 1] >= SOFT_FRAC * pairs[2 * label[i]])
            mask[i] = 0;
    free(label), free(sizes), free(pairs);
    return true;
}

/* Could the smoothed colour px be backdrop? Near the row's backdrop estimate (the border
   colours interpolated across the row at fraction t), or a shadow on it: the estimate's
   colour scaled by k in [SHADOW_K_MIN, SHADOW_K_MAX] (same chromaticity; the upper end
   allows a floor lit more brightly in the middle than at the borders). */
static bool backdrop_like(const float px[3], const float l[3], const float r[3], float t, float glob_thr,
                          float chroma_thr)
{
    float b[3], d2 = 0, pb = 0, bb = 0;
    for (int c = 0; c < 3; c++) {
        b[c] = l[c] + t * (r[c] - l[c]);
        d2 += (px[c] - b[c]) * (px[c] - b[c]);
        pb += px[c] * b[c];
        bb += b[c] * b[c];
    }
    if (d2 <= glob_thr * glob_thr)
        return true;
    if (bb <= 0)
        return false;
    float k = pb / bb, r2 = 0;
    for (int c = 0; c < 3; c++)
        r2 += (px[c] - k * b[c]) * (px[c] - k * b[c]);
    return k >= SHADOW_K_MIN && k <= SHADOW_K_MAX && r2 < chroma_thr * chroma_thr;
}

enum tryon_status avatar_segment(const struct img8 *rgba, bool had_alpha, uint8_t *mask)
{
    assert(rgba->c == 4);
    const int w = rgba->w, h = rgba->h;
    const size_t n = (size_t)w * h;
    size_t fg = 0;
    if (had_alpha) {
        for (size_t i = 0; i < n; i++) {
            mask[i] = rgba->px[i * 4 + 3] > 127 ? 255 : 0;
            fg += mask[i] != 0;
        }
        if (fg == 0)
            return tryon_fail(TRYON_EINVAL, "avatar: the alpha channel leaves no foreground");
        /* an alpha channel that is fully opaque everywhere carries no cut-out: key the backdrop */
        bool opaque = true;
        for (size_t i = 0; i < n && opaque; i++)
            opaque = rgba->px[i * 4 + 3] == 255;
        if (!opaque)
            return TRYON_OK;
    }
    float *left = malloc((size_t)h * 3 * sizeof *left), *right = malloc((size_t)h * 3 * sizeof *right);
    float *scratch = malloc((size_t)(2 * ROW_WINDOW + 1) * BORDER_COLS * sizeof *scratch);
    float *dist = malloc((size_t)2 * h * sizeof *dist);
    float *sm = malloc(n * 3 * sizeof *sm), *tmp = malloc(n * 3 * sizeof *tmp);
    if (!left || !right || !scratch || !dist || !sm || !tmp) {
        free(left), free(right), free(scratch), free(dist), free(sm), free(tmp);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for segmentation");
    }
    smooth_rgb(rgba, sm, tmp);
    int xr = w - BORDER_COLS < 0 ? 0 : w - BORDER_COLS;
    for (int y = 0; y < h; y++) {
        border_median(sm, w, h, 0, y, scratch, left + y * 3);
        border_median(sm, w, h, xr, y, scratch, right + y * 3);
    }
    /* noise: distance of each row's outermost (smoothed) pixels to their row estimate */
    for (int y = 0; y < h; y++)
        for (int e = 0; e < 2; e++) {
            const float *px = sm + ((size_t)y * w + (e ? w - 1 : 0)) * 3;
            const float *b = e ? right + y * 3 : left + y * 3;
            float d2 = 0;
            for (int c = 0; c < 3; c++)
                d2 += (px[c] - b[c]) * (px[c] - b[c]);
            dist[y * 2 + e] = sqrtf(d2);
        }
    qsort(dist, (size_t)2 * h, sizeof *dist, cmp_f);
    float noise = dist[(size_t)(2 * h * 9 / 10)];
    /* A step between neighbouring smoothed pixels of the backdrop is noise-sized, a step
       across the subject's edge is not; the global bound stops a flood from leaking in
       through a low-contrast stretch of edge. */
    float step_thr = fmaxf(MIN_STEP, 2.0f * noise + 3.0f);
    float glob_thr = fmaxf(MIN_GLOBAL, 3.0f * noise + 4.0f);
    float chroma_thr = fmaxf(MIN_CHROMA, 2.0f * noise + 4.0f);
    int32_t *queue = malloc(n * sizeof *queue);
    if (!queue) {
        free(left), free(right), free(scratch), free(dist), free(sm), free(tmp);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for segmentation");
    }
    /* mask: 1 = backdrop reached by the flood, 0 = not (yet). The flood starts from the
       border pixels that look like backdrop: a subject that meets the border (feet or a
       head cut off by the frame) stays subject there, so the mask shows the cut */
    memset(mask, 0, n);
    size_t qh = 0, qt = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) &&
                backdrop_like(sm + ((size_t)y * w + x) * 3, left + y * 3, right + y * 3,
                              (float)x / (float)(w > 1 ? w - 1 : 1), glob_thr, chroma_thr)) {
                mask[(size_t)y * w + x] = 1;
                queue[qt++] = (int32_t)((size_t)y * w + x);
            }
    while (qh < qt) {
        int32_t p = queue[qh++];
        int32_t nb[4];
        neighbours4(p, w, h, nb);
        const float *pp = sm + (size_t)p * 3;
        for (int k = 0; k < 4; k++) {
            if (nb[k] < 0 || mask[nb[k]] == 1)
                continue;
            const float *q = sm + (size_t)nb[k] * 3;
            float d2 = 0;
            for (int c = 0; c < 3; c++)
                d2 += (q[c] - pp[c]) * (q[c] - pp[c]);
            if (d2 > step_thr * step_thr)
                continue;
            if (!backdrop_like(q, left + (nb[k] / w) * 3, right + (nb[k] / w) * 3, (float)(nb[k] % w) / (float)(w > 1 ? w - 1 : 1),
                               glob_thr, chroma_thr))
                continue;
            mask[nb[k]] = 1;
            queue[qt++] = nb[k];
        }
    }
    /* The box filter blurs the edge by its radius, so the flood stops up to one pixel
       short of it: a pixel next to the flooded backdrop whose own (unsmoothed) colour is
       within the noise of that backdrop joins it. */
    float raw_thr = fmaxf(MIN_RAW, 3.0f * noise + 4.0f);
    for (size_t i = 0; i < n; i++) {
        if (mask[i] == 1)
            continue;
        int32_t nb[4];
        neighbours4((int32_t)i, w, h, nb);
        for (int k = 0; k < 4; k++) {
            if (nb[k] < 0 || mask[nb[k]] != 1)
                continue;
            const uint8_t *raw = rgba->px + i * 4;
            const float *b = sm + (size_t)nb[k] * 3;
            float d2 = 0;
            for (int c = 0; c < 3; c++)
                d2 += ((float)raw[c] - b[c]) * ((float)raw[c] - b[c]);
            if (d2 <= raw_thr * raw_thr) {
                mask[i] = 3;   /* backdrop, but not a flood source for this pass */
                break;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        mask[i] = mask[i] == 1 || mask[i] == 3 ? 0 : 255;
    free(queue);
    bool ok = drop_soft_components(mask, sm, w, h, step_thr);
    free(left), free(right), free(scratch), free(dist), free(sm), free(tmp);
    if (!ok)
        return TRYON_ENOMEM;
    size_t second;
    fg = keep_largest_filled(mask, w, h, &second);
    if (fg == (size_t)-1)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for segmentation");
    if (fg == 0)
        return tryon_fail(TRYON_EINVAL, "avatar: no foreground differs from the backdrop colour");
    if ((float)second >= AV_SECOND_BLOB_FRAC * (float)fg && second * 1000 >= n)
        return tryon_fail(TRYON_EINVAL, "avatar: two separate large figures in the photo (%zu and %zu pixels); "
                          "one subject per photo expected", fg, second);
    return TRYON_OK;
}

void avatar_silhouette_top(const uint8_t *mask, int w, int h, float *head_ratio, float *head_fill)
{
    *head_ratio = *head_fill = 0;
    int bb[4];
    if (!avatar_mask_bbox(mask, w, h, bb))
        return;
    const int top = bb[1], bottom = bb[3];
    int H = bottom - top + 1;
    /* widest span of a row in [y0, y1], and the union of those rows' spans */
    int band_x0 = w, band_x1 = -1, head = 0, body = 0;
    long band_px = 0;
    for (int y = top; y <= bottom && y <= top + H / 2; y++) {
        int x0 = -1, x1 = -1;
        long px = 0;
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                if (x0 < 0)
                    x0 = x;
                x1 = x;
                px++;
            }
        if (x0 < 0)
            continue;
        int span = x1 - x0 + 1;
        if (y <= top + H * 8 / 100) {
            head = span > head ? span : head;
            band_x0 = x0 < band_x0 ? x0 : band_x0;
            band_x1 = x1 > band_x1 ? x1 : band_x1;
            band_px += px;
        } else if (y >= top + H * 15 / 100) {
            body = span > body ? span : body;
        }
    }
    int rows = H * 8 / 100 + 1;
    if (body > 0)
        *head_ratio = (float)head / (float)body;
    if (band_x1 >= band_x0)
        *head_fill = (float)band_px / ((float)(band_x1 - band_x0 + 1) * (float)rows);
}
