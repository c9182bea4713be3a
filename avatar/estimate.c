/* estimate.c: person estimation from a segmented photo (the classical baseline and
 * fallback of DESIGN.md section 1): input checks, then the fit of estimate_body.c, then the
 * fitted body's measurements.
 *
 * Input checks: the height hint's range; the mask must hold exactly one person: an empty
 * mask, or a second separate component at least AV_SECOND_BLOB_FRAC of the largest (two
 * people, or a person and a large object), is TRYON_EINVAL with a message saying which;
 * smaller specks are dropped. The person must not touch the top or bottom edge (cut off)
 * and must be at least 32 pixels tall.
 *
 * Clothing: the person pixels are then classified into skin and clothing by colour
 * (mark_clothing) so the fit can let clothes stand off the body (estimate_body.c). The skin
 * tone comes from the face band of the silhouette (rows FACE_LO..FACE_HI of its height from
 * the top: below the hair, above the neckline; catalog photos never clothe it): the median
 * chromaticity (r, g over r + g + b) and brightness there. A pixel below the head whose
 * chromaticity is farther from the skin's than a threshold adapted to the face band's own
 * spread (CHROMA_K times its median distance, at least CHROMA_MIN), or whose brightness is
 * outside [BRIGHT_LO, BRIGHT_HI] times the skin's (shading on skin stays inside), is
 * clothing: mask value 128 instead of 255.
 *
 * Garment estimation lives in garment_est.c.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FACE_LO 0.045f     /* face band, fraction of the silhouette's height from its top */
#define FACE_HI 0.11f
#define HEAD_END 0.125f    /* rows above this fraction are head: never clothing */
#define CHROMA_K 4.0f      /* clothing threshold: this many times the face band's median chroma distance */
#define CHROMA_MIN 0.02f   /* .. and at least this (chromaticity units) */
#define BRIGHT_LO 0.3f     /* skin brightness range, times the face band's median */
#define BRIGHT_HI 1.8f

/* Copy the largest component of mask into clean (255/0); TRYON_EINVAL for an empty mask
   or two large components. */
static enum tryon_status one_person(const uint8_t *mask, int w, int h, uint8_t *clean)
{
    size_t n = (size_t)w * h;
    int32_t *label = malloc(n * sizeof *label);
    if (!label)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the person mask");
    size_t *sizes = NULL;
    int nlab = av_mask_label(mask, w, h, label, &sizes);
    if (nlab < 0) {
        free(label);
        return TRYON_ENOMEM;
    }
    int best = 0;
    size_t second = 0;
    for (int l = 1; l <= nlab; l++) {
        if (best == 0 || sizes[l] > sizes[best]) {
            second = best ? sizes[best] : 0;
            best = l;
        } else if (sizes[l] > second) {
            second = sizes[l];
        }
    }
    enum tryon_status st = TRYON_OK;
    if (best == 0)
        st = tryon_fail(TRYON_EINVAL, "avatar: the person mask is empty (no person found in the photo)");
    else if ((float)second >= AV_SECOND_BLOB_FRAC * (float)sizes[best])
        st = tryon_fail(TRYON_EINVAL, "avatar: the person mask holds two separate large figures (%zu and %zu pixels); "
                        "one person per photo expected", sizes[best], second);
    for (size_t i = 0; i < n && st == TRYON_OK; i++)
        clean[i] = label[i] == best ? 255 : 0;
    free(label);
    free(sizes);
    return st;
}

/* Median of n values (n > 0); reorders v. */
static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float median(float *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_float);
    return v[n / 2];
}

/* Mark the clothing pixels of mask (255 = person, rows top..bottom) 128 by their colour
   against the face band's (see the top of the file). Photos with fewer than 3 channels,
   or a face band under 8 pixels, are left as they are (all skin: the bare fit). */
static enum tryon_status mark_clothing(const struct img8 *rgba, uint8_t *mask, int top, int bottom)
{
    const int w = rgba->w, c = rgba->c;
    if (c < 3)
        return TRYON_OK;
    const float hpx = (float)(bottom - top + 1);
    const int f0 = top + (int)(FACE_LO * hpx), f1 = top + (int)(FACE_HI * hpx), head_end = top + (int)(HEAD_END * hpx);
    size_t n = 0;
    for (int y = f0; y <= f1; y++)
        for (int x = 0; x < w; x++)
            n += mask[(size_t)y * w + x] != 0;
    if (n < 8)
        return TRYON_OK;
    float *r = malloc(n * sizeof *r), *g = malloc(n * sizeof *g), *b = malloc(n * sizeof *b);
    if (!r || !g || !b) {
        free(r), free(g), free(b);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the skin tone");
    }
    size_t i = 0;
    for (int y = f0; y <= f1; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                const uint8_t *px = rgba->px + ((size_t)y * w + x) * c;
                float s = (float)px[0] + px[1] + px[2] + 1.0f;
                r[i] = px[0] / s, g[i] = px[1] / s, b[i] = s;
                i++;
            }
    const float rs = median(r, n), gs = median(g, n), bs = median(b, n);
    /* the spread: chroma distances of the band's pixels from the skin's (r, g reordered: recompute) */
    i = 0;
    for (int y = f0; y <= f1; y++)
        for (int x = 0; x < w; x++)
            if (mask[(size_t)y * w + x]) {
                const uint8_t *px = rgba->px + ((size_t)y * w + x) * c;
                float s = (float)px[0] + px[1] + px[2] + 1.0f;
                r[i++] = hypotf(px[0] / s - rs, px[1] / s - gs);
            }
    const float thr = fmaxf(CHROMA_MIN, CHROMA_K * median(r, n));
    free(r), free(g), free(b);
    for (int y = head_end; y <= bottom; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *mv = mask + (size_t)y * w + x;
            if (!*mv)
                continue;
            const uint8_t *px = rgba->px + ((size_t)y * w + x) * c;
            float s = (float)px[0] + px[1] + px[2] + 1.0f;
            bool skin = hypotf(px[0] / s - rs, px[1] / s - gs) <= thr && s >= BRIGHT_LO * bs && s <= BRIGHT_HI * bs;
            if (!skin)
                *mv = 128;
        }
    return TRYON_OK;
}

enum tryon_status avatar_estimate_person(const struct avatar_model *m, const struct img8 *rgba,
                                         const uint8_t *mask, float height_hint_cm,
                                         struct avatar_person_est *out)
{
    return avatar_estimate_person_prior(m, rgba, mask, height_hint_cm, NULL, out);
}

enum tryon_status avatar_estimate_person_prior(const struct avatar_model *m, const struct img8 *rgba,
                                               const uint8_t *mask, float height_hint_cm,
                                               const struct avatar_person_prior *prior,
                                               struct avatar_person_est *out)
{
    memset(out, 0, sizeof *out);
    const int w = rgba->w, h = rgba->h;
    if (!(height_hint_cm <= 0.0f || (height_hint_cm >= 50.0f && height_hint_cm <= 260.0f)))
        return tryon_fail(TRYON_EINVAL, "avatar: height hint %g cm is outside [50, 260]", (double)height_hint_cm);
    uint8_t *clean = malloc((size_t)w * h);
    if (!clean)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the person mask");
    enum tryon_status st = one_person(mask, w, h, clean);
    if (st == TRYON_OK) {
        int top = -1, bottom = -1;
        for (int y = 0; y < h; y++)
            if (memchr(clean + (size_t)y * w, 255, (size_t)w)) {
                if (top < 0)
                    top = y;
                bottom = y;
            }
        if (top == 0 || bottom == h - 1 || bottom - top + 1 < 32)
            st = tryon_fail(TRYON_EINVAL, "avatar: the person silhouette (rows %d..%d of %d) is cut off or under 32 px",
                            top, bottom, h);
        else
            st = mark_clothing(rgba, clean, top, bottom);
    }
    struct av_person_fit fit;
    if (st == TRYON_OK)
        st = av_fit_person(m, clean, w, h, height_hint_cm, prior, &fit);
    free(clean);
    if (st == TRYON_OK)
        st = avatar_body_measure(m, &fit.body, &out->meas);
    if (st)
        return st;
    out->body = fit.body;
    out->silhouette_h_px = fit.silhouette_h_px;
    out->stature_m = fit.body.stature_m;
    out->iou = fit.iou;
    memcpy(out->place, fit.place, sizeof out->place);
    out->camera = fit.camera;
    out->camera_tilt_deg = fit.tilt_deg;
    out->camera_solved = height_hint_cm > 0.0f;
    out->iterations = fit.iterations;
    return TRYON_OK;
}
