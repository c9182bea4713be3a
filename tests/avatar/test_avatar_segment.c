/* test_avatar_segment.c: segmentation on synthetic photos: a rectangle on a grey backdrop
 * with and without alpha (within 1% of the pixels), with sensor noise and a vertical
 * studio gradient, an opaque alpha channel (keyed like none), a backdrop lit unevenly
 * across rows with a soft shadow, a pool of light on the wall away from the borders (backdrop:
 * its outline is soft), hole filling, dropping of a small separate blob, the
 * error for a second large blob (two subjects) and for an image with nothing in front of
 * the backdrop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "check.h"

#define W 200
#define H 150
#define RX0 60
#define RX1 140   /* exclusive */
#define RY0 30
#define RY1 120

static bool in_rect(int x, int y) { return x >= RX0 && x < RX1 && y >= RY0 && y < RY1; }

/* Backdrop grey level at row y: flat 128, or a gradient 100 (top) .. 160 (bottom). */
static int backdrop(int y, bool gradient) { return gradient ? 100 + 60 * y / (H - 1) : 128; }

static void make_photo(struct img8 *im, bool gradient, int noise, bool alpha, struct rng *r)
{
    img8_alloc(im, W, H, 4);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = im->px + ((size_t)y * W + x) * 4;
            int rgb[3];
            if (in_rect(x, y))
                rgb[0] = 190, rgb[1] = 60, rgb[2] = 50;
            else
                rgb[0] = rgb[1] = rgb[2] = backdrop(y, gradient);
            for (int c = 0; c < 3; c++) {
                int v = rgb[c] + (noise ? (int)(rng_u32(r) % (2 * noise + 1)) - noise : 0);
                p[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
            p[3] = alpha ? (in_rect(x, y) ? 255 : 0) : 255;
        }
}

/* Pixels where mask disagrees with the rectangle. */
static int mismatches(const uint8_t *mask)
{
    int bad = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            bad += (mask[y * W + x] != 0) != in_rect(x, y);
    return bad;
}

int main(void)
{
    uint8_t *mask = malloc(W * H);
    struct rng r;
    rng_seed(&r, 7);
    const int limit = W * H / 100;   /* 1% of the pixels */
    struct img8 im;

    /* alpha: exact, whatever the colours say */
    make_photo(&im, false, 0, true, &r);
    memset(im.px, 128, 4);   /* the corner pixel's colour is irrelevant with alpha... */
    im.px[3] = 0;            /* ...only its alpha counts */
    CHECK(avatar_segment(&im, true, mask) == TRYON_OK);
    CHECK_EQ_INT(mismatches(mask), 0);
    CHECK(mask[RY0 * W + RX0] == 255 && mask[0] == 0);
    img8_free(&im);

    /* no alpha: flat backdrop, then noise, then noise plus a vertical gradient */
    const int noise[3] = {0, 6, 6};
    const bool grad[3] = {false, false, true};
    for (int k = 0; k < 3; k++) {
        make_photo(&im, grad[k], noise[k], false, &r);
        CHECK(avatar_segment(&im, false, mask) == TRYON_OK);
        int bad = mismatches(mask);
        fprintf(stderr, "keyed rectangle (noise %d, gradient %d): %d mismatched pixels\n", noise[k], grad[k], bad);
        CHECK(bad <= limit);
        img8_free(&im);
    }

    /* an alpha channel that is 255 everywhere carries no cut-out: the backdrop is keyed */
    make_photo(&im, true, 6, false, &r);
    CHECK(avatar_segment(&im, true, mask) == TRYON_OK);
    CHECK(mismatches(mask) <= limit);
    img8_free(&im);

    /* a studio backdrop lit unevenly across a row: brighter in the middle, a soft shadow
       falling off to the right of the subject (what a key light from the left leaves) */
    make_photo(&im, true, 6, false, &r);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (in_rect(x, y))
                continue;
            uint8_t *p = im.px + ((size_t)y * W + x) * 4;
            float lit = 1.0f + 0.15f * (1.0f - fabsf((float)x - W / 2) / (W / 2));
            float shade = x >= RX1 && y > H / 2 ? 0.75f + 0.25f * (float)(x - RX1) / (float)(W - RX1) : 1.0f;
            for (int c = 0; c < 3; c++) {
                float v = p[c] * lit * shade;
                p[c] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    CHECK(avatar_segment(&im, false, mask) == TRYON_OK);
    int uneven = mismatches(mask);
    fprintf(stderr, "keyed rectangle on an unevenly lit backdrop: %d mismatched pixels\n", uneven);
    CHECK(uneven <= limit);
    img8_free(&im);

    /* a pool of light on the wall beside the subject, away from every border: up to 1.7x the
       backdrop's brightness in a smooth bump (sigma 20 px), much brighter than the rows'
       borders say, so the flood's guard does not take its core (about 2100 px, over a
       quarter of the rectangle: a second subject, were it kept); its outline is soft all
       round, so it is backdrop */
    make_photo(&im, false, 6, false, &r);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (in_rect(x, y))
                continue;
            uint8_t *p = im.px + ((size_t)y * W + x) * 4;
            float d2 = (float)((x - 172) * (x - 172) + (y - 75) * (y - 75));
            float lit = 1.0f + 0.7f * expf(-d2 / (2.0f * 20.0f * 20.0f));
            for (int c = 0; c < 3; c++) {
                float v = p[c] * lit;
                p[c] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    CHECK_MSG(avatar_segment(&im, false, mask) == TRYON_OK, "%s", tryon_errmsg());
    int pool = mismatches(mask);
    fprintf(stderr, "keyed rectangle beside a pool of light on the wall: %d mismatched pixels\n", pool);
    CHECK(pool <= limit);
    img8_free(&im);

    /* a backdrop-coloured hole inside the rectangle is filled; a smaller blob elsewhere is dropped */
    make_photo(&im, false, 0, false, &r);
    for (int y = 60; y < 80; y++)
        for (int x = 90; x < 110; x++)
            memset(im.px + ((size_t)y * W + x) * 4, 128, 3);
    for (int y = 5; y < 15; y++)
        for (int x = 5; x < 25; x++) {
            uint8_t *p = im.px + ((size_t)y * W + x) * 4;
            p[0] = 20, p[1] = 200, p[2] = 20;
        }
    CHECK(avatar_segment(&im, false, mask) == TRYON_OK);
    CHECK_EQ_INT(mismatches(mask), 0);
    /* a second blob a third the rectangle's size is a second subject: an error saying so */
    for (int y = 5; y < 55; y++)
        for (int x = 150; x < 190; x++) {
            uint8_t *p = im.px + ((size_t)y * W + x) * 4;
            p[0] = 20, p[1] = 200, p[2] = 20;
        }
    CHECK(avatar_segment(&im, false, mask) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "two separate");
    img8_free(&im);

    /* nothing but backdrop: an error, not an empty success */
    img8_alloc(&im, W, H, 4);
    memset(im.px, 128, (size_t)W * H * 4);
    CHECK(avatar_segment(&im, false, mask) == TRYON_EINVAL);
    CHECK(avatar_segment(&im, true, mask) == TRYON_OK);   /* alpha 128 > 127: all foreground */
    memset(im.px, 0, (size_t)W * H * 4);
    CHECK(avatar_segment(&im, true, mask) == TRYON_EINVAL);
    img8_free(&im);

    /* the top of a silhouette: a head above the shoulders, a garment's shoulders, a hook */
    float ratio, fill;
    for (int shape = 0; shape < 3; shape++) {
        memset(mask, 0, W * H);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                bool on = false;
                if (shape == 0) /* a head of radius 9 at rows 10-28 over a 70 px wide body to row 140 */
                    on = (x - 100) * (x - 100) + (y - 19) * (y - 19) <= 81 || (y >= 30 && y < 140 && x >= 65 && x < 135);
                else if (shape == 1) /* a tee: shoulders at the top, as wide as below */
                    on = y >= 10 && y < 110 && x >= 50 && x < 150;
                else /* a hanger's hook (2 px) over a garment */
                    on = (y >= 10 && y < 25 && x >= 99 && x < 101) || (y >= 25 && y < 140 && x >= 50 && x < 150);
                mask[y * W + x] = on ? 255 : 0;
            }
        avatar_silhouette_top(mask, W, H, &ratio, &fill);
        if (shape == 0) {
            CHECK_NEAR(ratio, 19.0 / 70.0, 0.03); /* the top 8% of 130 rows are all head */
            CHECK(fill > 0.6f);
        } else if (shape == 1) {
            CHECK_NEAR(ratio, 1.0, 1e-6);
            CHECK_NEAR(fill, 1.0, 1e-6);
        } else {
            /* its box is the hook itself: full, but far too narrow for a head */
            CHECK(ratio < 0.05f);
            CHECK_NEAR(fill, 1.0, 1e-6);
        }
    }
    memset(mask, 0, W * H);
    avatar_silhouette_top(mask, W, H, &ratio, &fill);
    CHECK(ratio == 0 && fill == 0);
    free(mask);
    return check_result("test_avatar_segment");
}
