/* nninput.c: the networks' view of a photo, shared by the training data `tryon synth`
 * writes (farm/shards.c) and inference in the worker, so both see the same bytes.
 *
 * A photo (RGBA as img_load_png returns it) and its segmentation mask become a square
 * S x S input of 4 planar byte channels: R, G, B (sRGB as stored) and the mask (255 =
 * subject). The photo is letterboxed: scaled by S / max(w, h) with the area-weighted
 * filter of img8_resize (mask included, so its edge carries sub-pixel coverage), centred,
 * and the border left 0 in every channel. The framing of the standard photo camera is
 * kept (no crop to the subject), so the subject's size in the input still says its
 * stature. Networks read byte / 127.5 - 1. */
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
                                        const struct img_limits *lim, int size, uint8_t *out)
{
    struct img8 im;
    uint8_t *mask;
    double t_load = 0, t_segment = 0;
    enum tryon_status s = worker_photo_decode(png, len, name, lim, &im, &mask, &t_load, &t_segment);
    if (s)
        return s;
    s = worker_nn_input(&im, mask, size, out);
    free(mask);
    img8_free(&im);
    return s;
}
