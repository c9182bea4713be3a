/* photo.c: reading a catalog photo as what the catalog says it is, shared by the render
 * (worker.c's estimates) and `tryon check`, so both give the same reasons.
 *
 * A photo's bytes are decoded (PNG; any other format is named as what it is by
 * img_decode_png), reduced to WORKER_PHOTO_MAX_SIDE, and segmented (avatar_segment: the
 * backdrop keyed out, or the alpha channel; two figures refused there). Then what the photo
 * shows is checked against its role:
 *   - a person photo shows a head above the shoulders (avatar_silhouette_top; thresholds
 *     below) and the whole figure: a figure that meets the top or bottom edge of the photo
 *     has its head or feet cut off, one that meets a side edge an arm, and the body fitted
 *     to it would be wrong;
 *   - a garment photo shows no head (a person photo given as a garment).
 * The fitted body's cover of the silhouette (IoU) is checked after the fit, in worker.c. */
#include "worker/internal.h"

#include <stdlib.h>

/* What a photo must look like to be read as what the catalog says it is. A standing
 * person's top is a head: on the calibration set (configs/synth/calib.yaml, 60 persons, 60
 * garments) its width is 0.16-0.32 of the widest row below it and it fills 0.66-0.83 of its
 * box, while every garment's top is 0.50 of the width below it or more. */
#define HEAD_RATIO_MIN 0.1f   /* narrower is a hanger's hook, not a head */
#define HEAD_RATIO_MAX 0.4f
#define HEAD_FILL_MIN 0.5f
#define EDGE_MIN_PX 3         /* mask pixels on an edge row or column that make a cut (not noise) */

static bool has_head(float ratio, float fill)
{
    return ratio >= HEAD_RATIO_MIN && ratio < HEAD_RATIO_MAX && fill > HEAD_FILL_MIN;
}

/* Mask pixels on the top, bottom, left and right edges of a w x h mask. */
static void edge_counts(const uint8_t *mask, int w, int h, int n[4])
{
    n[0] = n[1] = n[2] = n[3] = 0;
    for (int x = 0; x < w; x++)
        n[0] += mask[x] != 0, n[1] += mask[(size_t)(h - 1) * w + x] != 0;
    for (int y = 0; y < h; y++)
        n[2] += mask[(size_t)y * w] != 0, n[3] += mask[(size_t)y * w + w - 1] != 0;
}

/* Whether a decoded, segmented photo shows what its role needs; TRYON_EINVAL with the reason. */
static enum tryon_status photo_check(enum worker_asset_kind kind, const char *path, const struct img8 *im,
                                     const uint8_t *mask)
{
    float ratio, fill;
    avatar_silhouette_top(mask, im->w, im->h, &ratio, &fill);
    if (kind == WORKER_ASSET_GARMENT) {
        if (has_head(ratio, fill))
            return tryon_fail(TRYON_EINVAL, "%s looks like a person photo (a head above the shoulders: its top is "
                              "%.2f of the width below it, a garment's is 0.5 or more); give a product photo of the "
                              "garment alone", path, ratio);
        return TRYON_OK;
    }
    int n[4];
    edge_counts(mask, im->w, im->h, n);
    if (n[0] >= EDGE_MIN_PX)
        return tryon_fail(TRYON_EINVAL, "%s: the figure meets the top edge of the photo (%d pixels): is the head cut "
                          "off? Frame the whole person with a margin above the head", path, n[0]);
    if (n[1] >= EDGE_MIN_PX)
        return tryon_fail(TRYON_EINVAL, "%s: the figure meets the bottom edge of the photo (%d pixels): are the feet "
                          "cut off? Frame the whole person, feet included, with a margin below them", path, n[1]);
    if (n[2] >= EDGE_MIN_PX || n[3] >= EDGE_MIN_PX)
        return tryon_fail(TRYON_EINVAL, "%s: the figure meets the %s edge of the photo (%d pixels): is an arm cut "
                          "off? Frame the whole person with a margin at the sides", path,
                          n[2] >= EDGE_MIN_PX ? "left" : "right", n[2] >= EDGE_MIN_PX ? n[2] : n[3]);
    if (!has_head(ratio, fill))
        return tryon_fail(TRYON_EINVAL, "%s shows no head above the shoulders (its top is %.2f of the width below "
                          "it, a standing person's 0.15-0.3): is it a garment photo, or is the head cut off?", path,
                          ratio);
    return TRYON_OK;
}

enum tryon_status worker_photo_decode(const uint8_t *data, size_t len, const char *path, const struct img_limits *lim,
                                      struct img8 *im, uint8_t **mask, double *t_load, double *t_segment)
{
    double t0 = time_now();
    bool alpha = false;
    *mask = NULL;
    enum tryon_status s = img_decode_png(data, len, path, lim, im, &alpha);
    if (s == TRYON_OK && (s = worker_photo_reduce(im)))
        img8_free(im);
    *t_load += time_now() - t0;
    if (s)
        return s;
    t0 = time_now();
    *mask = malloc((size_t)im->w * im->h);
    if (!*mask) {
        img8_free(im);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory for the mask", path);
    }
    s = avatar_segment(im, alpha, *mask);
    *t_segment = time_now() - t0;
    if (s) {
        free(*mask);
        *mask = NULL;
        img8_free(im);
        return tryon_failctx(s, "%s", path);
    }
    return TRYON_OK;
}

enum tryon_status worker_photo_read(enum worker_asset_kind kind, const uint8_t *data, size_t len, const char *path,
                                    const struct img_limits *lim, struct img8 *im, uint8_t **mask, double *t_load,
                                    double *t_segment)
{
    enum tryon_status s = worker_photo_decode(data, len, path, lim, im, mask, t_load, t_segment);
    if (s)
        return s;
    double t0 = time_now();
    s = photo_check(kind, path, im, *mask);
    *t_segment += time_now() - t0;
    if (s) {
        free(*mask);
        *mask = NULL;
        img8_free(im);
    }
    return s;
}

enum tryon_status worker_photo_load(enum worker_asset_kind kind, const char *path, const struct img_limits *lim)
{
    uint8_t *data = NULL, *mask = NULL;
    size_t len = 0;
    double t_load = 0, t_segment = 0;
    struct img8 im;
    enum tryon_status s = fs_read_all(path, lim->max_file_bytes, &data, &len);
    if (s == TRYON_OK)
        s = worker_photo_read(kind, data, len, path, lim, &im, &mask, &t_load, &t_segment);
    free(data);
    if (s == TRYON_OK) {
        free(mask);
        img8_free(&im);
    }
    return s;
}
