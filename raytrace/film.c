/* film.c: tone mapping a film to displayable 8-bit sRGB RGBA.
 *
 * The curve keeps everything up to 0.6 linear as is (so an 18% grey stays 18% grey:
 * sRGB 118) and rolls off above with a rational (Reinhard-like) shoulder
 * y = k + s t / (t + s), t = x - k, s = 1 - k, which meets the identity with slope 1 and
 * approaches 1 slowly: radiance 1 -> 0.8, 2 -> 0.91, 10 -> 0.98 (sRGB 253); only
 * radiances above about 80 reach 255, so highlights keep their detail.
 * The filmic alternative is Narkowicz's published fit of the ACES RRT+ODT on 0.6 x.
 */
#include <assert.h>

#include "raytrace/rt_internal.h"

#define RT_KNEE 0.6f

float rt_tonemap(float x)
{
    if (!(x > 0.0f))
        return 0.0f; /* negatives and NaN */
    if (x <= RT_KNEE)
        return x;
    const float s = 1.0f - RT_KNEE, t = x - RT_KNEE;
    return RT_KNEE + s * t / (t + s);
}

float rt_tonemap_inverse(float y)
{
    if (!(y > 0.0f))
        return 0.0f;
    if (y <= RT_KNEE)
        return y;
    const float s = 1.0f - RT_KNEE, top = 1.0f - 0x1p-20f;
    float u = (y < top ? y : top) - RT_KNEE;   /* u = s t / (t + s)  =>  t = s u / (s - u) */
    return RT_KNEE + s * u / (s - u);
}

static uint8_t to8(float v)
{
    float s = img_linear_to_srgb(fminf(fmaxf(v, 0.0f), 1.0f)) * 255.0f + 0.5f;
    return (uint8_t)(s > 255.0f ? 255.0f : s);
}

float rt_tonemap_filmic(float x)
{
    if (!(x > 0.0f))
        return 0.0f;
    x *= 0.6f;
    float y = x * (2.51f * x + 0.03f) / (x * (2.43f * x + 0.59f) + 0.14f);
    return y < 1.0f ? y : 1.0f;
}

enum tryon_status rt_film_to_rgba8_tone(const struct rt_film *f, float exposure, enum rt_tone tone,
                                        struct img8 *out)
{
    assert(f && f->rgb && out);
    if (!(exposure >= 0.0f) || !isfinite(exposure))
        return tryon_fail(TRYON_EINVAL, "raytrace/film.c: exposure %g must be finite and >= 0", (double)exposure);
    if (tone != RT_TONE_SOFT_KNEE && tone != RT_TONE_FILMIC)
        return tryon_fail(TRYON_EINVAL, "raytrace/film.c: unknown tone curve %d", (int)tone);
    enum tryon_status st = img8_alloc(out, f->w, f->h, 4);
    if (st < 0)
        return st;
    float (*curve)(float) = tone == RT_TONE_FILMIC ? rt_tonemap_filmic : rt_tonemap;
    size_t np = (size_t)f->w * f->h;
    for (size_t i = 0; i < np; i++) {
        for (int c = 0; c < 3; c++)
            out->px[i * 4 + c] = to8(curve(exposure * f->rgb[i * 3 + c]));
        float a = fminf(fmaxf(f->alpha[i], 0.0f), 1.0f);
        out->px[i * 4 + 3] = (uint8_t)(a * 255.0f + 0.5f);
    }
    return TRYON_OK;
}

enum tryon_status rt_film_to_rgba8(const struct rt_film *f, float exposure, struct img8 *out)
{
    return rt_film_to_rgba8_tone(f, exposure, RT_TONE_SOFT_KNEE, out);
}
