/* test_rt_adaptive.c: crops and adaptive sampling (raytrace.h, rt_settings).
 *
 * The scene: a red sphere and a blue box in the default studio, 64x96 pixels, depth 8.
 * 1. A crop is the same region of the whole render, byte for byte (fixed spp), and its
 *    stats count its own pixels only; crops outside the image are refused.
 * 2. Adaptive sampling: every pixel's count is min_spp times a power of two, at most spp;
 *    film.spp sums to the camera rays; a pixel that stopped at n samples equals (within
 *    float rounding of the running mean, 2e-5 relative) that pixel rendered with spp = n,
 *    AOVs too; the same settings give the same bytes with 1 and 2 threads.
 * 3. It does what it is for: against a 512-spp reference, the adaptive film's
 *    display-space RMSE is at most 1.5x the threshold, its pixels stopped at fewer samples
 *    where the image is smooth (the mean count is under half of spp), and it is no worse
 *    than a fixed-spp film that took as many samples in all (ratio <= 1.1).
 * 4. Bad settings (negative or NaN threshold, negative min_spp) are refused.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rt_test_util.h"

#define W 64
#define H 96


/* The display value of a linear radiance (the adaptive error's curve). */
static double disp(float x) { return img_linear_to_srgb(rt_tonemap(x)); }

/* Display-space RMSE of film a against film b over all pixels and channels. */
static double rmse(const struct rt_film *a, const struct rt_film *b)
{
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++) {
        double d = disp(a->rgb[i]) - disp(b->rgb[i]);
        s += d * d;
    }
    return sqrt(s / (double)n);
}

static bool near(float a, float b, float rel) { return fabsf(a - b) <= rel * fmaxf(fabsf(b), 1e-3f); }

int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    float bmin[3], bmax[3];
    struct rt_scene *s = rtt_still_life(dev, 48, bmin, bmax);
    CHECK(s != NULL);
    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, W, H, 0.08f, &cam);

    /* 1. crops */
    struct rt_settings set = { .spp = 8, .max_depth = 8, .seed = 7, .threads = 0, .filter = RT_FILTER_BLACKMAN_HARRIS };
    struct rt_film whole, part;
    CHECK(rt_render(s, &cam, &set, &whole) == TRYON_OK);
    set.crop = (struct rt_crop){ 17, 40, 33, 50 };
    CHECK(rt_render(s, &cam, &set, &part) == TRYON_OK);
    CHECK(part.w == 33 && part.h == 50);
    CHECK_EQ_INT(part.stats.camera_rays, 33 * 50 * 8);
    int same = 0;
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 33; x++) {
            size_t i = (size_t)y * 33 + x, j = (size_t)(y + 40) * W + (x + 17);
            same += memcmp(part.rgb + 3 * i, whole.rgb + 3 * j, 12) == 0 && part.alpha[i] == whole.alpha[j] &&
                    part.depth[i] == whole.depth[j] && memcmp(part.normal + 3 * i, whole.normal + 3 * j, 12) == 0 &&
                    memcmp(part.albedo + 3 * i, whole.albedo + 3 * j, 12) == 0 && part.object[i] == whole.object[j] &&
                    part.spp[i] == 8;
        }
    CHECK_EQ_INT(same, 33 * 50);
    rt_film_free(&part);
    const struct rt_crop bad[] = { { -1, 0, 10, 10 }, { 0, 0, W + 1, 10 }, { W - 5, 0, 6, 10 }, { 0, H - 2, 4, 3 },
                                   { 0, 0, -3, 4 } };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        set.crop = bad[k];
        CHECK_EQ_INT(rt_render(s, &cam, &set, &part), TRYON_EINVAL);
    }
    rt_film_free(&whole);

    /* 2. adaptive: counts, samples identical to fixed-spp renders, threads */
    const float thr = 0.02f;
    struct rt_settings ad = { .spp = 256, .max_depth = 8, .seed = 3, .threads = 2,
                              .filter = RT_FILTER_BLACKMAN_HARRIS, .noise_threshold = thr, .min_spp = 8 };
    struct rt_film fa, fa1;
    CHECK(rt_render(s, &cam, &ad, &fa) == TRYON_OK);
    ad.threads = 1;
    CHECK(rt_render(s, &cam, &ad, &fa1) == TRYON_OK);
    CHECK(memcmp(fa.rgb, fa1.rgb, (size_t)W * H * 13 * sizeof(float)) == 0);
    rt_film_free(&fa1);
    long long total = 0;
    int bad_count = 0, counts[6] = { 0 };   /* pixels at 8, 16, ..., 256 samples */
    for (int i = 0; i < W * H; i++) {
        int n = fa.spp[i], lg = 0;
        while ((8 << lg) < n)
            lg++;
        bad_count += (8 << lg) != n || n > 256;
        if (lg < 6)
            counts[lg]++;
        total += n;
    }
    CHECK_EQ_INT(bad_count, 0);
    CHECK_EQ_INT((long long)fa.stats.camera_rays, total);
    double mean_spp = (double)total / (W * H);
    fprintf(stderr, "adaptive: mean %.1f spp; pixels at 8/16/32/64/128/256: %d %d %d %d %d %d\n", mean_spp,
            counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
    /* every count that occurs: its pixels equal a fixed render with that spp */
    struct rt_settings fx = { .spp = 8, .max_depth = 8, .seed = 3, .threads = 0, .filter = RT_FILTER_BLACKMAN_HARRIS };
    for (int lg = 0; lg < 6; lg++) {
        if (!counts[lg])
            continue;
        fx.spp = 8 << lg;
        struct rt_film ff;
        CHECK(rt_render(s, &cam, &fx, &ff) == TRYON_OK);
        int ok = 0, n = 0;
        for (int i = 0; i < W * H; i++) {
            if (fa.spp[i] != fx.spp)
                continue;
            n++;
            bool e = near(fa.alpha[i], ff.alpha[i], 2e-5f) && near(fa.depth[i], ff.depth[i], 2e-5f) &&
                     fa.object[i] == ff.object[i];
            for (int c = 0; c < 3; c++)
                e = e && near(fa.rgb[3 * i + c], ff.rgb[3 * i + c], 2e-5f) &&
                    near(fa.normal[3 * i + c], ff.normal[3 * i + c], 2e-5f) &&
                    near(fa.albedo[3 * i + c], ff.albedo[3 * i + c], 2e-5f);
            ok += e;
        }
        CHECK_MSG(ok == n, "%d of %d pixels at %d spp equal the fixed render", ok, n, fx.spp);
        rt_film_free(&ff);
    }

    /* 3. the error it reaches against a reference, and against fixed spp at equal cost */
    struct rt_settings rs = { .spp = 512, .max_depth = 8, .seed = 99, .threads = 0, .filter = RT_FILTER_BLACKMAN_HARRIS };
    struct rt_film ref, same_cost;
    CHECK(rt_render(s, &cam, &rs, &ref) == TRYON_OK);
    fx.spp = (int)ceil(mean_spp);
    CHECK(rt_render(s, &cam, &fx, &same_cost) == TRYON_OK);
    double e_ad = rmse(&fa, &ref), e_fx = rmse(&same_cost, &ref);
    fprintf(stderr, "adaptive: display RMSE %.5f (threshold %.3f), fixed %d spp %.5f\n", e_ad, (double)thr, fx.spp,
            e_fx);
    CHECK_MSG(e_ad <= 1.5 * thr, "adaptive RMSE %.5f", e_ad);
    CHECK_MSG(mean_spp < 128, "mean spp %.1f", mean_spp);
    CHECK_MSG(e_ad <= 1.1 * e_fx, "adaptive %.5f vs fixed %.5f at the same cost", e_ad, e_fx);
    rt_film_free(&ref);
    rt_film_free(&same_cost);
    rt_film_free(&fa);

    /* 4. bad settings */
    struct rt_film fb;
    ad.noise_threshold = -0.1f;
    CHECK_EQ_INT(rt_render(s, &cam, &ad, &fb), TRYON_EINVAL);
    ad.noise_threshold = NAN;
    CHECK_EQ_INT(rt_render(s, &cam, &ad, &fb), TRYON_EINVAL);
    ad.noise_threshold = 0.01f;
    ad.min_spp = -1;
    CHECK_EQ_INT(rt_render(s, &cam, &ad, &fb), TRYON_EINVAL);

    rt_scene_free(s);
    rt_device_free(dev);
    return check_result("test_rt_adaptive");
}
