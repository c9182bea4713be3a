/* test_rt_tonemap.c: the tone curve and the film -> 8-bit sRGB RGBA conversion.
 *
 * (6) At exposure 1 an 18% grey radiance maps to sRGB 118..128; the curve is the identity
 * up to 0.6, continuous with slope 1 at the knee, strictly increasing above, below 1
 * (no clipping) up to radiance 3, under 8-bit 255 at radiance 10 and 255 at 1000; 8-bit output is
 * monotonic over a sweep; exposure multiplies radiance; alpha 0.5 gives 128; NaN and
 * negative radiance give 0.
 * Filmic (ACES fit): 0 and NaN give 0, strictly increasing up to 1 where it saturates
 * (x = 30 gives 1), 0.18 maps to 0.14 +- 0.01 (the fit on 0.6 x); an unknown tone curve is
 * TRYON_EINVAL; RT_TONE_SOFT_KNEE is exactly rt_film_to_rgba8.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "raytrace/raytrace.h"

/* A film of n pixels in one row, grey values v[i], alpha a[i]. */
static void film_row(struct rt_film *f, int n, const float *v, const float *a)
{
    f->w = n;
    f->h = 1;
    f->rgb = malloc(sizeof(float) * 3 * n);
    f->alpha = malloc(sizeof(float) * n);
    f->depth = f->normal = f->albedo = NULL;
    for (int i = 0; i < n; i++) {
        f->rgb[3 * i] = f->rgb[3 * i + 1] = f->rgb[3 * i + 2] = v[i];
        f->alpha[i] = a[i];
    }
}

static void film_row_free(struct rt_film *f)
{
    free(f->rgb);
    free(f->alpha);
}

int main(void)
{
    /* the curve */
    CHECK(rt_tonemap(0.18f) == 0.18f);
    CHECK(rt_tonemap(0.6f) == 0.6f);
    const float h = 1e-3f;
    CHECK_NEAR((rt_tonemap(0.6f + h) - rt_tonemap(0.6f)) / h, 1.0, 3e-3); /* secant: 0.9975 */
    CHECK(rt_tonemap(-1.0f) == 0.0f);
    CHECK(rt_tonemap(NAN) == 0.0f);
    CHECK(rt_tonemap(3.0f) < 1.0f);
    float prev = rt_tonemap(0.0f);
    int non_increasing = 0;
    for (int i = 1; i <= 3000; i++) {
        float y = rt_tonemap(i * 1e-3f);
        non_increasing += !(y > prev);
        prev = y;
    }
    CHECK_EQ_INT(non_increasing, 0);
    /* the inverse: back to the radiance within float rounding up to 100 (tone 0.9984), 0 below 0 */
    int off = 0;
    for (int i = 0; i <= 10000; i++) {
        float x = i * 1e-2f, r = rt_tonemap_inverse(rt_tonemap(x));
        off += fabsf(r - x) > 2e-5f * (1.0f + x * x);
    }
    CHECK_EQ_INT(off, 0);
    CHECK(rt_tonemap_inverse(-0.5f) == 0.0f && rt_tonemap_inverse(NAN) == 0.0f);
    CHECK(isfinite(rt_tonemap_inverse(1.0f)) && rt_tonemap_inverse(1.0f) > 1e4f &&
          rt_tonemap_inverse(2.0f) == rt_tonemap_inverse(1.0f));

    /* 8-bit: mid-grey, alpha, exposure, saturation, monotonic sweep */
    enum { N = 2001 };
    float v[N], a[N];
    for (int i = 0; i < N; i++) {
        v[i] = i * 0.005f; /* 0 .. 10 */
        a[i] = 1.0f;
    }
    v[0] = 0.18f;
    a[0] = 0.5f;
    v[1] = NAN;
    v[2] = -0.5f;
    v[3] = 1000.0f;
    v[4] = 0.09f;
    struct rt_film f;
    film_row(&f, N, v, a);
    struct img8 im;
    CHECK(rt_film_to_rgba8(&f, 1.0f, &im) == TRYON_OK);
    CHECK_EQ_INT(im.c, 4);
    int grey = im.px[0];
    fprintf(stderr, "tonemap: 0.18 -> sRGB %d\n", grey);
    CHECK(grey >= 118 && grey <= 128);
    CHECK(im.px[1] == grey && im.px[2] == grey);
    CHECK_EQ_INT(im.px[3], 128);
    CHECK_EQ_INT(im.px[4 * 1], 0);
    CHECK_EQ_INT(im.px[4 * 2], 0);
    CHECK_EQ_INT(im.px[4 * 3], 255);
    int drops = 0;
    for (int i = 6; i < N; i++)
        drops += im.px[4 * i] < im.px[4 * (i - 1)];
    CHECK_EQ_INT(drops, 0);
    CHECK(im.px[4 * (N - 1)] < 255); /* radiance 10 still below white: rolled off, not clipped */
    img8_free(&im);
    /* exposure 2 on 0.09 equals exposure 1 on 0.18 */
    CHECK(rt_film_to_rgba8(&f, 2.0f, &im) == TRYON_OK);
    CHECK_EQ_INT(im.px[4 * 4], grey);
    img8_free(&im);
    /* filmic */
    CHECK(rt_tonemap_filmic(0.0f) == 0.0f);
    CHECK(rt_tonemap_filmic(NAN) == 0.0f);
    CHECK_NEAR(rt_tonemap_filmic(0.18f), 0.14, 0.01);
    CHECK(rt_tonemap_filmic(30.0f) == 1.0f);
    prev = 0.0f;
    non_increasing = 0;
    for (int i = 1; i <= 10000; i++) {
        float y = rt_tonemap_filmic(i * 1e-3f);
        non_increasing += !(y > prev) && y < 1.0f;
        prev = y;
    }
    CHECK_EQ_INT(non_increasing, 0);
    struct img8 a8, b8;
    CHECK_EQ_INT(rt_film_to_rgba8_tone(&f, 1.0f, (enum rt_tone)5, &a8), TRYON_EINVAL);
    CHECK(rt_film_to_rgba8_tone(&f, 1.0f, RT_TONE_SOFT_KNEE, &a8) == TRYON_OK);
    CHECK(rt_film_to_rgba8(&f, 1.0f, &b8) == TRYON_OK);
    CHECK(!memcmp(a8.px, b8.px, (size_t)N * 4));
    img8_free(&a8);
    img8_free(&b8);
    CHECK(rt_film_to_rgba8_tone(&f, 1.0f, RT_TONE_FILMIC, &a8) == TRYON_OK);
    fprintf(stderr, "tonemap: filmic 0.18 -> sRGB %d\n", a8.px[0]);
    img8_free(&a8);
    film_row_free(&f);
    return check_result("test_rt_tonemap");
}
