/* nninput.c: the networks' view of a photo, shared by the training data `tryon synth`
 * writes (farm/shards.c) and inference in the worker, so both see the same bytes.
 *
 * A photo (RGBA as img_load_png returns it) and its segmentation mask become a square
 * S x S input of 4 planar byte channels: R, G, B (sRGB as stored) and the mask (255 =
 * subject). The photo is letterboxed: scaled by S / max(w, h) with the area-weighted
 * filter of img8_resize (mask included, so its edge carries sub-pixel coverage), centred,
 * and the border left 0 in every channel. The framing of the standard photo camera is
 * kept (no crop to the subject), so the subject's size in the input still says its
 * stature. Networks read byte / 127.5 - 1.
 *
 * A person photo from another camera is first re-framed as the studio camera would frame
 * that person (worker_nn_person_view): a crop, padded where it leaves the photo, that puts
 * the figure's top and bottom rows where the studio camera shows a figure of its stature
 * (the height hint's, or the stature the studio camera reads from the silhouette) and its
 * legs on the middle column. The crop keeps the photo's pixels (no resampling); the
 * letterbox's resize makes the scale. A photo already framed as the studio frames it (within
 * 2% of its height) is its own view, so the studio photos the networks were trained on
 * reach them byte for byte as before. */
#include "worker/internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum tryon_status worker_nn_input(const struct img8 *rgba, const uint8_t *mask, int size, uint8_t *out)
{
    assert(rgba->c == 4 && size > 0);
    int w = rgba->w, h = rgba->h, big = w > h ? w : h;
    int nw = (int)lroundf((float)w * size / big), nh = (int)lroundf((float)h * size / big);
    nw = nw < 1 ? 1 : nw > size ? size : nw;
    nh = nh < 1 ? 1 : nh > size ? size : nh;
    struct img8 src, dst;
    if (img8_alloc(&src, w, h, 4))
        return tryon_fail(TRYON_ENOMEM, "out of memory for the network input");
    for (size_t i = 0; i < (size_t)w * h; i++) {
        memcpy(src.px + 4 * i, rgba->px + 4 * i, 3);
        src.px[4 * i + 3] = mask[i] ? 255 : 0;
    }
    enum tryon_status s = img8_resize(&src, nw, nh, &dst);
    img8_free(&src);
    if (s)
        return s;
    memset(out, 0, (size_t)4 * size * size);
    int x0 = (size - nw) / 2, y0 = (size - nh) / 2;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++)
            for (int c = 0; c < 4; c++)
                out[((size_t)c * size + y0 + y) * size + x0 + x] = dst.px[((size_t)y * nw + x) * 4 + c];
    img8_free(&dst);
    return TRYON_OK;
}

enum tryon_status worker_nn_person_view(const struct img8 *rgba, const uint8_t *mask, float hint_cm,
                                       struct img8 *view, uint8_t **view_mask)
{
    assert(rgba->c == 4);
    const int w = rgba->w, h = rgba->h;
    int bb[4];
    const bool any = avatar_mask_bbox(mask, w, h, bb);
    const int top = bb[1], bottom = bb[3];
    float stature = NAN, vt = 0, vb = 0;
    if (any)
        stature = hint_cm > 0 ? 0.01f * hint_cm : avatar_studio_stature((float)h, (float)top, (float)bottom + 1.0f);
    if (isfinite(stature) && stature > 0.0f)
        avatar_studio_rows(1.0f, stature, &vt, &vb);
    /* the frame: rows of the studio frame's height such that the figure keeps its pixels */
    const int big = w > h ? w : h;
    const long ho = vb > vt ? lroundf((float)(bottom + 1 - top) / (vb - vt)) : 0;
    long H = h, W = w, oy = 0, ox = 0;   /* the photo as it is */
    if (ho >= 32 && ho <= 4L * big) {
        H = ho, W = lroundf((float)H * WORKER_STUDIO_ASPECT);
        /* the legs' column: the mean foreground column of the lowest quarter of the figure */
        double sx = 0, n = 0;
        for (int y = bottom - (bottom - top + 1) / 4; y <= bottom; y++)
            for (int x = 0; x < w; x++)
                if (mask[(size_t)y * w + x])
                    sx += x + 0.5, n++;
        oy = lroundf((float)top - vt * (float)H), ox = lround(sx / n - 0.5 * (double)W);
        /* a frame within WORKER_STUDIO_SNAP of the photo's on every side: the photo itself */
        const float tol = WORKER_STUDIO_SNAP * (float)h;
        if (labs(ox) <= tol && labs(oy) <= tol && labs(ox + W - w) <= tol && labs(oy + H - h) <= tol)
            H = h, W = w, oy = 0, ox = 0;
    }
    if (img8_alloc(view, (int)W, (int)H, 4) || !(*view_mask = malloc((size_t)W * H))) {
        img8_free(view);
        return tryon_fail(TRYON_ENOMEM, "out of memory for the network's view of a photo");
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            long px = x + ox, py = y + oy;
            bool inside = px >= 0 && py >= 0 && px < w && py < h;
            long cx = px < 0 ? 0 : px >= w ? w - 1 : px, cy = py < 0 ? 0 : py >= h ? h - 1 : py;
            size_t src = (size_t)cy * w + (size_t)cx, dst = (size_t)y * W + x;
            memcpy(view->px + 4 * dst, rgba->px + 4 * src, 4);
            (*view_mask)[dst] = inside ? mask[src] : 0;
        }
    return TRYON_OK;
}

enum tryon_status worker_nn_person_input(const struct img8 *rgba, const uint8_t *mask, float hint_cm, int size,
                                         uint8_t *out)
{
    struct img8 view;
    uint8_t *vmask;
    enum tryon_status s = worker_nn_person_view(rgba, mask, hint_cm, &view, &vmask);
    if (s)
        return s;
    s = worker_nn_input(&view, vmask, size, out);
    free(vmask);
    img8_free(&view);
    return s;
}

enum tryon_status worker_photo_reduce(struct img8 *im)
{
    int side = im->w > im->h ? im->w : im->h;
    if (side <= WORKER_PHOTO_MAX_SIDE)
        return TRYON_OK;
    struct img8 small;
    enum tryon_status s = img8_reduce(im, (side + WORKER_PHOTO_MAX_SIDE - 1) / WORKER_PHOTO_MAX_SIDE, &small);
    if (s)
        return s;
    img8_free(im);
    *im = small;
    return TRYON_OK;
}

enum tryon_status worker_nn_photo_input(const uint8_t *png, size_t len, const char *name,
                                        const struct img_limits *lim, float person_hint_cm, int size,
                                        uint8_t *out)
{
    struct img8 im;
    uint8_t *mask;
    double t_load = 0, t_segment = 0;
    enum tryon_status s = worker_photo_decode(png, len, name, lim, &im, &mask, &t_load, &t_segment);
    if (s)
        return s;
    s = person_hint_cm >= 0.0f ? worker_nn_person_input(&im, mask, person_hint_cm, size, out)
                               : worker_nn_input(&im, mask, size, out);
    free(mask);
    img8_free(&im);
    return s;
}
