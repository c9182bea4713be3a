/* test_worker_webp.c: the turntable encoder (worker_webp_*, worker/views.c).
 *
 * Three 48x32 RGBA frames (gradients, a half-transparent band, each frame different) are
 * encoded twice: the bytes must be equal (deterministic output). libwebp's own demuxer
 * (WebPAnimDecoder) reads the file back: a 48x32 canvas, 3 frames that loop forever, end
 * timestamps 120, 240, 360 ms, alpha exact (it is coded losslessly) and RGB within a mean
 * absolute error of 4 levels (lossy at WORKER_WEBP_QUALITY). A frame of another size is
 * refused. Without libwebp in the build, begin must say so: the test then exits 77. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "worker/worker.h"

#ifdef TRYON_HAVE_WEBPDEMUX
#include <webp/demux.h>
#endif

enum { W = 48, H = 32, NF = 3, MS = 120 };

static void frame(int k, struct img8 *im)
{
    CHECK_EQ_INT(img8_alloc(im, W, H, 4), TRYON_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = im->px + ((size_t)y * W + x) * 4;
            p[0] = (uint8_t)(x * 5 + k * 40);
            p[1] = (uint8_t)(y * 7);
            p[2] = (uint8_t)(128 + k * 30);
            p[3] = y >= 12 && y < 18 ? 128 : 255;
        }
}

static enum tryon_status encode(uint8_t **data, size_t *len)
{
    struct worker_webp *a = NULL;
    enum tryon_status s = worker_webp_begin(W, H, MS, &a);
    for (int k = 0; k < NF && s == TRYON_OK; k++) {
        struct img8 im;
        frame(k, &im);
        s = worker_webp_add(a, &im);
        img8_free(&im);
    }
    if (s) {
        worker_webp_free(a);
        return s;
    }
    return worker_webp_end(a, data, len);
}

int main(void)
{
    uint8_t *d1 = NULL, *d2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (!worker_has_webp()) {
        struct worker_webp *a = NULL;
        CHECK_EQ_INT(worker_webp_begin(W, H, MS, &a), TRYON_EUNSUPPORTED);
        CHECK_CONTAINS(tryon_errmsg(), "libwebp-dev");
        fprintf(stderr, "test_worker_webp: SKIPPED: this build has no libwebp\n");
        return check_result("test_worker_webp") ? 1 : 77;
    }
    CHECK_EQ_INT(encode(&d1, &n1), TRYON_OK);
    CHECK_EQ_INT(encode(&d2, &n2), TRYON_OK);
    CHECK(n1 > 100 && n1 == n2 && d1 && d2 && memcmp(d1, d2, n1) == 0);
    CHECK(n1 > 12 && memcmp(d1, "RIFF", 4) == 0 && memcmp(d1 + 8, "WEBP", 4) == 0);

    struct worker_webp *a = NULL;
    CHECK_EQ_INT(worker_webp_begin(W, H, MS, &a), TRYON_OK);
    struct img8 wrong;
    CHECK_EQ_INT(img8_alloc(&wrong, W + 1, H, 4), TRYON_OK);
    CHECK_EQ_INT(worker_webp_add(a, &wrong), TRYON_EINVAL);
    img8_free(&wrong);
    worker_webp_free(a);

#ifdef TRYON_HAVE_WEBPDEMUX
    WebPData wd = {d1, n1};
    WebPAnimDecoderOptions opt;
    CHECK(WebPAnimDecoderOptionsInit(&opt));
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opt);
    CHECK(dec != NULL);
    WebPAnimInfo info;
    if (dec && WebPAnimDecoderGetInfo(dec, &info)) {
        CHECK(info.canvas_width == W && info.canvas_height == H);
        CHECK_EQ_INT(info.frame_count, NF);
        CHECK_EQ_INT(info.loop_count, 0);
        for (int k = 0; k < NF && WebPAnimDecoderHasMoreFrames(dec); k++) {
            uint8_t *px;
            int ts;
            CHECK(WebPAnimDecoderGetNext(dec, &px, &ts));
            CHECK_EQ_INT(ts, (k + 1) * MS);
            struct img8 im;
            frame(k, &im);
            double err = 0;
            int alpha_off = 0;
            for (int i = 0; i < W * H; i++) {
                for (int c = 0; c < 3; c++)
                    err += abs((int)px[i * 4 + c] - (int)im.px[i * 4 + c]);
                alpha_off += px[i * 4 + 3] != im.px[i * 4 + 3];
            }
            err /= 3.0 * W * H;
            CHECK_MSG(err <= 4.0, "frame %d: mean RGB error %.2f > 4", k, err);
            CHECK_EQ_INT(alpha_off, 0);
            img8_free(&im);
        }
    }
    WebPAnimDecoderDelete(dec);
#else
    CHECK_MSG(false, "libwebp without libwebpdemux: the file cannot be read back (tests/worker/CMakeLists.txt)");
#endif
    free(d1);
    free(d2);
    return check_result("test_worker_webp");
}
