/* env.c: the environment map: lookup, importance sampling, and the studio environment.
 *
 * The map is lat-long: pixel (row r, column c) of an (h, w) map covers v in [r/h, (r+1)/h),
 * u in [c/w, (c+1)/w); direction (theta = pi v from +y, phi = 2 pi (u - 1/2)) is
 * (sin theta sin phi, cos theta, -sin theta cos phi). Radiance is piecewise constant per
 * pixel. Sampling picks a pixel with probability proportional to its channel mean times
 * sin(theta at the row centre) (marginal CDF over rows, conditional CDF over columns),
 * then a uniform (u, v) inside it: density p(u, v) = w h P(pixel) on the unit square, so
 * the solid-angle pdf is p(u, v) / (2 pi^2 sin theta).
 */
#include <stdlib.h>
#include <string.h>

#include "raytrace/rt_internal.h"

void rt_env_clear(struct rt_env *e)
{
    imgf_free(&e->img);
    free(e->marg);
    free(e->cond);
    memset(e, 0, sizeof *e);
}

void rt_env_dir_to_uv(const float dir[3], float *u, float *v)
{
    float y = clampf(dir[1], -1.0f, 1.0f);
    float uu = 0.5f + atan2f(dir[0], -dir[2]) * (float)(0.5 / M_PI);
    float vv = acosf(y) * (float)(1.0 / M_PI);
    *u = uu >= 1.0f ? 0.0f : (uu < 0.0f ? 0.0f : uu);
    *v = vv >= 1.0f ? nextafterf(1.0f, 0.0f) : vv;
}

static void uv_to_dir(float u, float v, float dir[3], float *sin_t)
{
    float th = (float)M_PI * v, ph = 2.0f * (float)M_PI * (u - 0.5f);
    float st = sinf(th);
    v3_set(dir, st * sinf(ph), cosf(th), -st * cosf(ph));
    *sin_t = st;
}

static void pixel_of(const struct rt_env *e, const float dir[3], int *r, int *c, float *sin_t)
{
    float u, v;
    rt_env_dir_to_uv(dir, &u, &v);
    int w = e->img.w, h = e->img.h;
    int cc = (int)(u * (float)w), rr = (int)(v * (float)h);
    *c = cc < w ? cc : w - 1;
    *r = rr < h ? rr : h - 1;
    *sin_t = sqrtf(dir[0] * dir[0] + dir[2] * dir[2]); /* not from dir[1]: exact near the poles */
}

float env_lookup(const struct rt_env *e, const float dir[3], float rgb[3])
{
    if (!e->img.px) {
        rgb[0] = rgb[1] = rgb[2] = 0.0f;
        return 0.0f;
    }
    int r, c;
    float st;
    pixel_of(e, dir, &r, &c, &st);
    const float *q = e->img.px + ((size_t)r * e->img.w + c) * 4;
    v3_copy(rgb, q);
    return st > 1e-7f ? q[3] / st : 0.0f;
}

float env_pdf(const struct rt_env *e, const float dir[3])
{
    float rgb[3];
    return env_lookup(e, dir, rgb);
}

/* Index i in [0, n) with cdf[i] <= x < cdf[i+1] (cdf has n+1 entries, cdf[n] = 1), skipping
   empty intervals. */
static int find_interval(const float *cdf, int n, float x)
{
    int lo = 0, hi = n; /* cdf[lo] <= x < cdf[hi] */
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    while (lo + 1 < n && !(cdf[lo + 1] > cdf[lo]))
        lo++;
    return lo;
}

float env_sample(const struct rt_env *e, float u1, float u2, float dir[3], float rgb[3])
{
    if (!e->img.px)
        return 0.0f;
    int w = e->img.w, h = e->img.h;
    int r = find_interval(e->marg, h, u1);
    float dr = (u1 - e->marg[r]) / maxf(e->marg[r + 1] - e->marg[r], 1e-30f);
    const float *cc = e->cond + (size_t)r * (w + 1);
    int c = find_interval(cc, w, u2);
    float dc = (u2 - cc[c]) / maxf(cc[c + 1] - cc[c], 1e-30f);
    float u = ((float)c + clampf(dc, 0.0f, 0.99999f)) / (float)w;
    float v = ((float)r + clampf(dr, 0.0f, 0.99999f)) / (float)h;
    float st;
    uv_to_dir(u, v, dir, &st);
    v3_normalize(dir);
    /* radiance and density of the pixel the direction maps back to: the same as (r, c)
       except where float rounding moves a sample across a pixel edge, and then exactly
       what env_eval and env_pdf say, so MIS weights and estimates stay consistent */
    return env_lookup(e, dir, rgb);
}

enum tryon_status rt_scene_set_env(struct rt_scene *s, const struct imgf *env, float scale)
{
    rt_env_clear(&s->env);
    s->committed = false;
    if (!env || scale == 0.0f)
        return TRYON_OK;
    if (!env->px || env->w < 1 || env->h < 1 || (env->c != 1 && env->c != 3 && env->c != 4) || !(scale > 0.0f) ||
        !isfinite(scale))
        return tryon_fail(TRYON_EINVAL, "raytrace/env.c: environment must be a 1, 3 or 4 channel image with pixels "
                          "and a finite scale >= 0 (got %dx%dx%d, scale %g)", env->w, env->h, env->c, (double)scale);
    struct rt_env *e = &s->env;
    int w = env->w, h = env->h;
    enum tryon_status st = imgf_alloc(&e->img, w, h, 4);
    if (st < 0)
        return st;
    e->marg = malloc(sizeof(float) * (h + 1));
    e->cond = malloc(sizeof(float) * (size_t)h * (w + 1));
    double *rows = malloc(sizeof(double) * h);
    if (!e->marg || !e->cond || !rows) {
        free(rows);
        rt_env_clear(e);
        return tryon_fail(TRYON_ENOMEM, "raytrace/env.c: out of memory for a %dx%d environment", w, h);
    }
    double total = 0.0, mean = 0.0, wsum = 0.0;
    for (int r = 0; r < h; r++) {
        double sin_t = sin(M_PI * (r + 0.5) / h), row = 0.0;
        float *cc = e->cond + (size_t)r * (w + 1);
        cc[0] = 0.0f;
        for (int c = 0; c < w; c++) {
            const float *p = env->px + ((size_t)r * w + c) * env->c;
            float *q = e->img.px + ((size_t)r * w + c) * 4;
            double m = 0.0;
            for (int k = 0; k < 3; k++) {
                float x = env->c == 1 ? p[0] : p[k];
                if (!(x >= 0.0f) || !isfinite(x)) {
                    free(rows);
                    rt_env_clear(e);
                    return tryon_fail(TRYON_EINVAL, "raytrace/env.c: environment pixel (%d,%d) has a negative or "
                                      "non-finite value", c, r);
                }
                q[k] = x * scale;
                m += q[k] / 3.0;
            }
            double wt = m * sin_t;
            q[3] = (float)wt;
            row += wt;
            cc[c + 1] = (float)row;
        }
        for (int c = 1; c <= w; c++)
            cc[c] = row > 0.0 ? (float)(cc[c] / row) : (float)c / (float)w;
        cc[w] = 1.0f;
        rows[r] = row;
        total += row;
        wsum += sin_t * w;
    }
    mean = total / wsum;
    e->marg[0] = 0.0f;
    double acc = 0.0;
    for (int r = 0; r < h; r++) {
        acc += rows[r];
        e->marg[r + 1] = total > 0.0 ? (float)(acc / total) : (float)(r + 1) / (float)h;
    }
    e->marg[h] = 1.0f;
    /* channel 3: the pixel's probability times w h / (2 pi^2), the solid-angle pdf times
       sin(theta) */
    for (size_t i = 0; i < (size_t)w * h; i++)
        e->img.px[4 * i + 3] = total > 0.0 ? (float)(e->img.px[4 * i + 3] / total * w * h / (2 * M_PI * M_PI)) : 0.0f;
    free(rows);
    e->mean = mean;
    if (!(total > 0.0)) /* an all-black map lights nothing: drop it */
        rt_env_clear(e);
    return TRYON_OK;
}

float rt_scene_env_sample(const struct rt_scene *s, float u1, float u2, float dir[3], float rgb[3])
{
    return env_sample(&s->env, u1, u2, dir, rgb);
}

float rt_scene_env_pdf(const struct rt_scene *s, const float dir[3]) { return env_pdf(&s->env, dir); }

/* A soft patch: amplitude a, centred on unit direction c, Gaussian in the angle with
   standard deviation sig (radians). */
static float patch(const float d[3], const float c[3], float sig, float a)
{
    float ang = acosf(clampf(v3_dot(d, c), -1.0f, 1.0f));
    return a * expf(-0.5f * ang * ang / (sig * sig));
}

enum tryon_status rt_env_studio(int w, struct imgf *out)
{
    if (w < 8 || w % 2)
        return tryon_fail(TRYON_EINVAL, "raytrace/env.c: studio environment width %d must be even and >= 8", w);
    int h = w / 2;
    enum tryon_status st = imgf_alloc(out, w, h, 3);
    if (st < 0)
        return st;
    const float deg = (float)M_PI / 180.0f;
    float top[3] = { 0.0f, 0.95f, 0.3f }, left[3] = { -0.9f, 0.25f, 0.35f }, right[3] = { 0.85f, 0.3f, -0.4f };
    v3_normalize(top);
    v3_normalize(left);
    v3_normalize(right);
    for (int r = 0; r < h; r++)
        for (int c = 0; c < w; c++) {
            float d[3], sin_t;
            uv_to_dir((c + 0.5f) / (float)w, (r + 0.5f) / (float)h, d, &sin_t);
            /* dome: 0.03 at and below the horizon rising to 0.12 at the zenith */
            float g = 0.03f + 0.09f * sqrtf(maxf(0.0f, d[1]));
            float p = patch(d, top, 18.0f * deg, 1.0f) + patch(d, left, 10.0f * deg, 1.5f) +
                      patch(d, right, 12.0f * deg, 1.2f);
            float *q = out->px + ((size_t)r * w + c) * 3;
            /* slightly warm patches over a slightly cool dome */
            q[0] = 0.97f * g + 1.00f * p;
            q[1] = 1.00f * g + 0.97f * p;
            q[2] = 1.05f * g + 0.92f * p;
        }
    return TRYON_OK;
}
