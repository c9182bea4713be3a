/* test_rt_studio.c: the default studio looks like a studio photo.
 *
 * Renders a sphere (subject) and a box (subject) standing on the floor of the default
 * studio, writes rt_studio.png (RGBA) and rt_studio_opaque.png (alpha 255) into the
 * working folder (the build's tests/raytrace/) for a visual check, and asserts what "no
 * black areas, no blown-out areas, lights out of frame" means in numbers: every pixel's
 * first hit is the cyclorama or a subject (depth > 0, never a light: albedo 0 marks one),
 * no 8-bit channel is 255, and 99% of the pixels have an 8-bit luma of 40 or more. Then
 * the lights-out-of-frame and backdrop-fills-frame claims are checked for other subject
 * shapes, aspect ratios (1:4 to 4:1) and margins (0, 0.1) at 1 spp, direct light only.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rt_test_util.h"

/* Count pixels whose first hit is a light or nothing. */
static void count_bad(const struct rt_film *f, int *lights, int *misses)
{
    *lights = *misses = 0;
    for (int i = 0; i < f->w * f->h; i++) {
        const float *a = f->albedo + 3 * (size_t)i;
        if (f->depth[i] == 0.0f)
            (*misses)++;
        else if (a[0] + a[1] + a[2] == 0.0f)
            (*lights)++;
    }
}


int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    float bmin[3], bmax[3];
    struct rt_scene *s = rtt_still_life(dev, 48, bmin, bmax);
    CHECK(s != NULL);

    /* The photo. */
    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, 192, 256, 0.08f, &cam);
    struct rt_settings set = { .spp = 32, .max_depth = 8, .seed = 7, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    struct img8 im;
    CHECK(rt_film_to_rgba8(&f, 1.0f, &im) == TRYON_OK);
    CHECK(img_save_png("rt_studio.png", &im) == TRYON_OK);
    int lights, misses;
    count_bad(&f, &lights, &misses);
    CHECK_EQ_INT(lights, 0);
    CHECK_EQ_INT(misses, 0);
    /* 8-bit luma (Rec. 709 weights): its 1st percentile ("no black areas": contact
       shadows may be dark, a region may not) and the brightest channel */
    int hist[256] = { 0 }, hi8 = 0;
    for (int i = 0; i < im.w * im.h; i++) {
        const uint8_t *p = im.px + 4 * i;
        hist[(int)(0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2])]++;
        for (int c = 0; c < 3; c++)
            hi8 = p[c] > hi8 ? p[c] : hi8;
    }
    int p1 = 0;
    for (int acc = 0; p1 < 255 && (acc += hist[p1]) < im.w * im.h / 100; p1++)
        ;
    fprintf(stderr, "studio: luma 1st percentile %d, channel max %d; %llu camera, %llu bounce, %llu shadow rays "
            "in %.3f s\n", p1, hi8, (unsigned long long)f.stats.camera_rays, (unsigned long long)f.stats.bounce_rays,
            (unsigned long long)f.stats.shadow_rays, f.stats.seconds);
    CHECK_MSG(p1 >= 40, "1st percentile of luma %d", p1);
    CHECK_MSG(hi8 < 255, "brightest channel %d", hi8);
    for (int i = 0; i < im.w * im.h; i++)
        im.px[4 * i + 3] = 255;
    CHECK(img_save_png("rt_studio_opaque.png", &im) == TRYON_OK);
    CHECK_EQ_INT(f.stats.camera_rays, (long long)192 * 256 * 32);
    img8_free(&im);
    rt_film_free(&f);
    rt_scene_free(s);

    /* Other shapes (a box as the subject: person-like, wide, deep, tiny), aspects and
       margins: lights never in frame, the backdrop always fills it. */
    const float shapes[][3] = { { 0.5f, 1.8f, 0.3f }, { 2.0f, 0.5f, 0.3f }, { 0.3f, 0.3f, 1.2f }, { 0.1f, 0.1f, 0.1f } };
    const int aspects[][2] = { { 64, 96 }, { 128, 64 }, { 64, 64 }, { 32, 128 }, { 256, 64 } };
    struct rt_settings fast = { .spp = 1, .max_depth = 1, .seed = 1, .threads = 0 };
    for (int i = 0; i < 4; i++) {
        s = rt_scene_create(dev);
        float lo[3] = { -0.5f * shapes[i][0], 0.0f, -0.5f * shapes[i][2] };
        float hi[3] = { 0.5f * shapes[i][0], shapes[i][1], 0.5f * shapes[i][2] };
        struct rtt_mesh box = rtt_box(lo, hi);
        const float grey[3] = { 0.5f, 0.5f, 0.5f };
        CHECK(rtt_add(s, &box, grey, true) == 0);
        struct rt_studio st;
        rt_studio_default(&st);
        rt_scene_add_studio(s, lo, hi, &st);
        CHECK(rt_scene_commit(s) == TRYON_OK);
        for (int a = 0; a < 5; a++)
            for (int m = 0; m < 2; m++) {
                rt_camera_frame(lo, hi, aspects[a][0], aspects[a][1], 0.1f * m, &cam);
                CHECK(rt_render(s, &cam, &fast, &f) == TRYON_OK);
                count_bad(&f, &lights, &misses);
                CHECK_MSG(lights == 0 && misses == 0, "shape %d aspect %dx%d margin %.1f: %d light pixels, %d misses",
                          i, aspects[a][0], aspects[a][1], 0.1 * m, lights, misses);
                rt_film_free(&f);
            }
        rtt_mesh_free(&box);
        rt_scene_free(s);
    }
    rt_device_free(dev);
    return check_result("test_rt_studio");
}
