/* fuzz_png.c: libFuzzer harness for the PNG decoder (common/image.c img_decode_png).
 * The input is one PNG file in memory. Limits are the defaults, except a smaller pixel cap
 * so a valid-but-large image does not make each execution slow (the check under test is
 * the same code path). Decoded images are freed; any result is fine, a crash is not. */
#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct img_limits lim = img_default_limits();
    lim.max_w = 2048;
    lim.max_h = 2048;
    lim.max_pixels = 1 << 20;
    struct img8 im = {0};
    bool had_alpha = false;
    if (img_decode_png(data, size, "fuzz.png", &lim, &im, &had_alpha) == TRYON_OK) {
        /* touch every pixel so a short buffer shows up under ASan */
        unsigned sum = 0;
        for (size_t i = 0; i < (size_t)im.w * im.h * im.c; i++)
            sum += im.px[i];
        (void)sum;
        img8_free(&im);
    }
    tryon_errclear();
    return 0;
}
