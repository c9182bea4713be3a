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
 * Garment estimation lives in garment_est.c.
 */
#include "avatar/internal.h"

#include <stdlib.h>
#include <string.h>

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

enum tryon_status avatar_estimate_person(const struct avatar_model *m, const struct img8 *rgba,
                                         const uint8_t *mask, float height_hint_cm,
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
    }
    struct av_person_fit fit;
    if (st == TRYON_OK)
        st = av_fit_person(m, clean, w, h, height_hint_cm, &fit);
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
    out->iterations = fit.iterations;
    return TRYON_OK;
}
