/* render.c: the path-tracing integrator, its sampler and the film's AOVs.
 *
 * The image (or the settings' crop of it) is cut into 16x16 tiles handed to OpenMP threads
 * with dynamic scheduling, in one pass (spp samples a pixel) or, with adaptive sampling, in
 * passes of doubling sample counts over the pixels still active (raytrace.h). Each pixel
 * owns 13 scramble seeds from hash(settings.seed, image pixel index), and each of its
 * samples a xoshiro RNG seeded by (pixel, sample index); a pass merges its samples' double
 * sums into the film's running means, so the film does not depend on thread count or tile
 * order, and sample k of a pixel is the same in whatever pass it is taken.
 * Sampler: sample k uses, for dimension pair d, the k-th point of the 2-D Sobol
 * (0,2)-sequence with its index shuffled and its coordinates Owen-scrambled by seeds of
 * (pixel, d) (Burley 2020: nested uniform scrambling via the Laine-Karras hash on reversed
 * bits). Pairs: 0 film position; for vertex b = 0, 1: 1 + 3b light point, 2 + 3b BSDF
 * direction, 3 + 3b (emitter choice, lobe choice). Later vertices and Russian roulette use
 * the pixel's RNG. Film position: uniform in the pixel (box) or drawn from the separable
 * Blackman-Harris filter of radius 1.5 px through a tabulated inverse CDF; a pixel is the
 * mean of its samples.
 *
 * Per surface hit: next-event estimation (every emitter that can light the point at the
 * camera hit, RT_NEE_ALL: measured on the studio person at equal CPU time, RMSE^2 x time
 * 1.6x lower at 4 spp, 1.3x at 16, 1.07x at 64, for 1.6x the time per sample; one
 * emitter at later hits, see raytrace.h), then a BSDF
 * sample; emission found by the BSDF sample is weighted by the power heuristic against
 * the density with which next-event estimation would have picked it from the previous
 * vertex (the rectangle's solid-angle or area density, chosen by the same rule, times its
 * selection probability; the environment's map density times its share). At the vertex
 * max_depth allows last, no bounce follows and next-event estimation takes weight 1.
 * Russian roulette after 3 bounces (on the 4th bounce and later) with survival
 * probability max(throughput) clamped to [0.05, 0.95].
 * Textures: the level of detail is log2(footprint width x texels per metre) with the
 * footprint a cone from the eye of 2 tan(vfov/2)/height radians per pixel, widened by
 * 0.2 rad at each bounce.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "raytrace/rt_internal.h"

#define RT_TILE 16
#define RT_MAX_SIDE 16384
#define RT_MAX_PIXELS (1L << 26)
#define RT_RR_BOUNCES 3 /* bounces always taken before Russian roulette starts */
#define RT_SOBOL_VERTS 2 /* vertices whose numbers come from the scrambled Sobol points */
#define RT_PAIRS (1 + 3 * RT_SOBOL_VERTS)
#define RT_BOUNCE_SPREAD 0.2f /* footprint cone widening per bounce (radians) */
#define RT_BH_RADIUS 1.5f
#define RT_BH_TAB 256

/* What the shader needs of one surface hit. */
struct rt_hit {
    int kind;          /* RT_OBJ_MESH or RT_OBJ_LIGHT */
    int index;         /* mesh or light index */
    float t;           /* ray distance (directions are unit) */
    float p[3];        /* hit point */
    float ng[3];       /* unit geometric normal, facing the ray's origin */
    float ns[3];       /* unit shading normal, same hemisphere as ng */
    float albedo[3];
    float width;       /* footprint width at the hit (metres) */
};

/* Ray offset from a surface: relative to the coordinates' magnitude (float spacing). */
static inline float hit_eps(const float p[3])
{
    float m = maxf(maxf(fabsf(p[0]), fabsf(p[1])), fabsf(p[2]));
    return 3e-5f * (1.0f + m);
}

/* Bilinear, clamp-to-edge lookup of a (h,w,3) texture; v up (row 0 is v = 1). */
static void sample_texture(const struct imgf *t, float u, float v, float out[3])
{
    float x = u * (float)t->w - 0.5f, y = (1.0f - v) * (float)t->h - 0.5f;
    x = clampf(x, 0.0f, (float)(t->w - 1));
    y = clampf(y, 0.0f, (float)(t->h - 1));
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < t->w ? x0 + 1 : x0, y1 = y0 + 1 < t->h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const float *a = t->px + ((size_t)y0 * t->w + x0) * 3, *b = t->px + ((size_t)y0 * t->w + x1) * 3;
    const float *c = t->px + ((size_t)y1 * t->w + x0) * 3, *d = t->px + ((size_t)y1 * t->w + x1) * 3;
    for (int k = 0; k < 3; k++) {
        float top = a[k] + fx * (b[k] - a[k]), bot = c[k] + fx * (d[k] - c[k]);
        out[k] = top + fy * (bot - top);
    }
}

/* Trilinear lookup in a mesh's mip chain at level of detail lod (0 = finest). */
static void sample_mips(const struct rt_mesh *m, float u, float v, float lod, float out[3])
{
    lod = clampf(lod, 0.0f, (float)(m->nmips - 1));
    int l0 = (int)lod;
    float f = lod - (float)l0;
    sample_texture(&m->mips[l0], u, v, out);
    if (f > 0.0f && l0 + 1 < m->nmips) {
        float o2[3];
        sample_texture(&m->mips[l0 + 1], u, v, o2);
        for (int k = 0; k < 3; k++)
            out[k] += f * (o2[k] - out[k]);
    }
}

/* Trace a ray (dir unit) whose footprint is w0 + t * spread wide; fill h and return true
   on a hit. */
static bool trace(RTCScene scene, struct RTCIntersectContext *ctx, const struct rt_scene *s,
                  const float o[3], const float dir[3], float w0, float spread, struct rt_hit *h)
{
    struct RTCRayHit rh;
    rh.ray.org_x = o[0]; rh.ray.org_y = o[1]; rh.ray.org_z = o[2];
    rh.ray.dir_x = dir[0]; rh.ray.dir_y = dir[1]; rh.ray.dir_z = dir[2];
    rh.ray.tnear = 0.0f;
    rh.ray.tfar = INFINITY;
    rh.ray.time = 0.0f;
    rh.ray.mask = 0xffffffffu;
    rh.ray.id = 0;
    rh.ray.flags = 0;
    rh.hit.geomID = RTC_INVALID_GEOMETRY_ID;
    rh.hit.instID[0] = RTC_INVALID_GEOMETRY_ID;
    rtcIntersect1(scene, ctx, &rh);
    if (rh.hit.geomID == RTC_INVALID_GEOMETRY_ID)
        return false;

    const struct rt_obj *ob = &s->objs[rh.hit.geomID];
    h->kind = ob->kind;
    h->index = ob->index;
    h->t = rh.ray.tfar;
    h->width = w0 + h->t * spread;
    v3_madd(h->p, o, dir, h->t);
    v3_set(h->ng, rh.hit.Ng_x, rh.hit.Ng_y, rh.hit.Ng_z);
    v3_normalize(h->ng);
    bool flip = v3_dot(h->ng, dir) > 0.0f;
    if (flip)
        v3_scale(h->ng, h->ng, -1.0f);
    if (ob->kind == RT_OBJ_LIGHT) {
        v3_copy(h->ns, h->ng);
        v3_set(h->albedo, 0.0f, 0.0f, 0.0f);
        return true;
    }

    const struct rt_mesh *m = &s->meshes[ob->index];
    const int32_t *tv = m->tri + 3 * (size_t)rh.hit.primID;
    float bu = rh.hit.u, bv = rh.hit.v, bw = 1.0f - bu - bv; /* p = bw p0 + bu p1 + bv p2 */
    v3_copy(h->ns, h->ng);
    if (m->nrm) {
        float n[3];
        const float *n0 = m->nrm + 3 * tv[0], *n1 = m->nrm + 3 * tv[1], *n2 = m->nrm + 3 * tv[2];
        for (int k = 0; k < 3; k++)
            n[k] = bw * n0[k] + bu * n1[k] + bv * n2[k];
        if (v3_normalize(n) > 1e-6f) {
            if (v3_dot(n, h->ng) < 0.0f)
                v3_scale(n, n, -1.0f);
            v3_copy(h->ns, n);
        }
    }
    if (m->nmips) {
        const float *u0 = m->uv + 2 * tv[0], *u1 = m->uv + 2 * tv[1], *u2 = m->uv + 2 * tv[2];
        float tu = bw * u0[0] + bu * u1[0] + bv * u2[0];
        float tvv = bw * u0[1] + bu * u1[1] + bv * u2[1];
        float texels = h->width * m->texel_scale[rh.hit.primID];
        sample_mips(m, tu, tvv, texels > 1.0f ? log2f(texels) : 0.0f, h->albedo);
    } else {
        v3_copy(h->albedo, m->albedo);
    }
    return true;
}

/* True when the segment from o along unit dir is blocked before distance tfar. */
static bool occluded(RTCScene scene, struct RTCIntersectContext *ctx, const float o[3], const float dir[3],
                     float tfar)
{
    struct RTCRay r;
    r.org_x = o[0]; r.org_y = o[1]; r.org_z = o[2];
    r.dir_x = dir[0]; r.dir_y = dir[1]; r.dir_z = dir[2];
    r.tnear = 0.0f;
    r.tfar = tfar;
    r.time = 0.0f;
    r.mask = 0xffffffffu;
    r.id = 0;
    r.flags = 0;
    rtcOccluded1(scene, ctx, &r);
    return r.tfar < 0.0f;
}

/* Orthonormal basis (t, b) around unit n (Duff et al. 2017, branchless). */
static void onb(const float n[3], float t[3], float b[3])
{
    float sign = copysignf(1.0f, n[2]);
    float a = -1.0f / (sign + n[2]);
    float c = n[0] * n[1] * a;
    v3_set(t, 1.0f + sign * n[0] * n[0] * a, sign * c, -sign * n[0]);
    v3_set(b, c, sign + n[1] * n[1] * a, -n[1]);
}

struct rt_counts { uint64_t camera, bounce, shadow; };

/* The spherical rectangle of light l seen from o (Urena, Fajardo, King 2013, "An
   area-preserving parametrization for spherical rectangles"): its solid angle, or 0 when
   o is not on the emitting side or the solid angle is under RT_SA_MIN (float precision of
   the angle sums, about 1e-6 sr, then matters, and area sampling is as good). */
#define RT_SA_MIN 1e-3f
struct rt_sph_rect { float x0, y0, z0, x1, y1, b0, b1, k, sa; };
static float sph_rect(const struct rt_light *l, const float o[3], struct rt_sph_rect *q)
{
    float d[3];
    v3_sub(d, l->corner, o);
    float x0 = v3_dot(d, l->ex), y0 = v3_dot(d, l->ey), z0 = v3_dot(d, l->n);
    if (!(z0 < 0.0f))
        return 0.0f; /* o is behind the emitting side (or in its plane) */
    float x1 = x0 + l->exl, y1 = y0 + l->eyl, z2 = z0 * z0;
    /* the planes through o and each edge have unit normals (in the ex, ey, n frame)
       n0 = (0, z0, -y0)/|.|, n1 = (-z0, 0, x1)/|.|, n2 = (0, -z0, y1)/|.|, n3 = (z0, 0, -x0)/|.|;
       g_i = acos(-n_i . n_i+1) are the spherical rectangle's inner angles */
    float i0 = 1.0f / sqrtf(z2 + y0 * y0), i1 = 1.0f / sqrtf(z2 + x1 * x1);
    float i2 = 1.0f / sqrtf(z2 + y1 * y1), i3 = 1.0f / sqrtf(z2 + x0 * x0);
    float g0 = acosf(clampf(y0 * x1 * i0 * i1, -1.0f, 1.0f));
    float g1 = acosf(clampf(-x1 * y1 * i1 * i2, -1.0f, 1.0f));
    float g2 = acosf(clampf(y1 * x0 * i2 * i3, -1.0f, 1.0f));
    float g3 = acosf(clampf(-x0 * y0 * i3 * i0, -1.0f, 1.0f));
    q->x0 = x0; q->y0 = y0; q->z0 = z0; q->x1 = x1; q->y1 = y1;
    q->b0 = -y0 * i0; /* z components of n0 and n2 */
    q->b1 = y1 * i2;
    q->k = 2.0f * (float)M_PI - g2 - g3;
    q->sa = g0 + g1 - q->k;
    return q->sa > RT_SA_MIN ? q->sa : 0.0f;
}

/* A point y of the spherical rectangle q (sa > 0) uniformly in solid angle. */
static void sph_rect_sample(const struct rt_light *l, const float o[3], const struct rt_sph_rect *q, float r1,
                            float r2, float y[3])
{
    /* invert the solid angle along x, then the height along y */
    float z2 = q->z0 * q->z0;
    float au = r1 * q->sa + q->k;
    float fu = (cosf(au) * q->b0 - q->b1) / sinf(au);
    float cu = clampf(copysignf(1.0f, fu) / sqrtf(fu * fu + q->b0 * q->b0), -1.0f, 1.0f);
    float sq = sqrtf(1.0f - cu * cu);
    float xu = -(cu * q->z0) / (sq > 1e-7f ? sq : 1e-7f);
    xu = clampf(xu, q->x0, q->x1);
    float dd = sqrtf(xu * xu + z2);
    float h0 = q->y0 / sqrtf(dd * dd + q->y0 * q->y0), h1 = q->y1 / sqrtf(dd * dd + q->y1 * q->y1);
    float hv = h0 + r2 * (h1 - h0), hv2 = hv * hv;
    float yv = hv2 < 1.0f - 1e-6f ? hv * dd / sqrtf(1.0f - hv2) : q->y1;
    yv = clampf(yv, q->y0, q->y1);
    for (int c = 0; c < 3; c++)
        y[c] = o[c] + xu * l->ex[c] + yv * l->ey[c] + q->z0 * l->n[c];
}

/* The solid angle next-event estimation samples light l by from p: the spherical
   rectangle's when p is closer to the light's centre than its diagonal (where 1/d^2 and
   cos_l vary a lot across it), else 0 (uniform by area: as good there and a fifth of the
   cost). The choice depends on p only, so the MIS density of a bounce hit uses it too. */
static float nee_solid_angle(const struct rt_light *l, const float p[3], struct rt_sph_rect *q)
{
    float dc[3];
    v3_sub(dc, l->centre, p);
    return v3_dot(dc, dc) < l->diag2 ? sph_rect(l, p, q) : 0.0f;
}

/* Emitter selection at one vertex. With up to RT_SEL_MAX rectangles it adapts to the
   point: rectangle i gets weight lum_i A_i / max(d_i^2, A_i) (d to its centre), or 0 when
   it cannot light the point at all (the point is behind its emitting side, or, for a
   surface that does not transmit, all four corners are below the shading normal's
   horizon: the rectangle is convex, so then all of it is); the environment gets its share
   of the commit-time estimate (scene.c) clamped to [0.05, 0.5] when a rectangle can
   light the point, 1 when none can. More rectangles: the commit-time probabilities. The
   same function gives the MIS density of a bounce hit from the previous vertex. */
#define RT_SEL_MAX 16
#define RT_NEE_ALL 1 /* vertices (from the camera hit) that sample every emitter */
struct rt_sel {
    float p_env;            /* probability of the environment */
    float cdf[RT_SEL_MAX];  /* cumulative probabilities of the rectangles given not env */
    float p[RT_SEL_MAX];    /* probability of rectangle i (env share included) */
    bool adaptive;          /* false: use the lights' commit-time p_sel and s->light_cdf */
    bool all;               /* sample every emitter (p_env and p[i] are 1 or 0) */
};

static void select_probs(const struct rt_scene *s, const float p[3], const float ns[3], bool transmits, bool all,
                         struct rt_sel *sel)
{
    sel->adaptive = s->nlights <= RT_SEL_MAX;
    sel->all = all && sel->adaptive;
    if (!sel->adaptive) {
        sel->p_env = s->p_env;
        return;
    }
    float total = 0.0f;
    for (int i = 0; i < s->nlights; i++) {
        const struct rt_light *l = &s->lights[i];
        float d[3], w = 0.0f;
        v3_sub(d, p, l->corner);
        if (v3_dot(d, l->n) > 0.0f) {
            bool up = transmits;
            for (int c = 0; c < 4 && !up; c++) {
                float q[3];
                v3_copy(q, l->corner);
                if (c & 1)
                    v3_add(q, q, l->eu);
                if (c & 2)
                    v3_add(q, q, l->ev);
                v3_sub(q, q, p);
                up = v3_dot(q, ns) > 0.0f;
            }
            if (up) {
                v3_sub(d, l->centre, p);
                w = l->lum_area / maxf(v3_dot(d, d), l->area);
            }
        }
        total += w;
        sel->cdf[i] = total;
    }
    if (sel->all) { /* every emitter that can light the point, each with probability 1 */
        sel->p_env = s->p_env > 0.0f ? 1.0f : 0.0f;
        for (int i = 0; i < s->nlights; i++)
            sel->p[i] = s->lights[i].lum_area > 0.0f && sel->cdf[i] > (i > 0 ? sel->cdf[i - 1] : 0.0f) ? 1.0f : 0.0f;
        return;
    }
    if (s->p_env > 0.0f)
        sel->p_env = total > 0.0f ? clampf(s->env_w / (s->env_w + total), 0.05f, 0.5f) : 1.0f;
    else
        sel->p_env = 0.0f;
    float inv = total > 0.0f ? 1.0f / total : 0.0f, prev = 0.0f;
    for (int i = 0; i < s->nlights; i++) {
        float c = sel->cdf[i] * inv;
        sel->p[i] = (1.0f - sel->p_env) * (c - prev);
        prev = c;
        sel->cdf[i] = c;
    }
    if (total > 0.0f)
        sel->cdf[s->nlights - 1] = 1.0f;
}

static inline float sel_light(const struct rt_scene *s, const struct rt_sel *sel, int i)
{
    return sel->adaptive ? sel->p[i] : s->lights[i].p_sel;
}

/* Density (solid angle, selection probability p_sel included) with which next-event
   estimation from p picks point x of light l in direction dir (unit, p to x). */
static float light_pdf(const struct rt_light *l, float p_sel, const float p[3], const float x[3], const float dir[3])
{
    if (!(p_sel > 0.0f))
        return 0.0f;
    struct rt_sph_rect q;
    float sa = nee_solid_angle(l, p, &q);
    if (sa > 0.0f)
        return p_sel / sa;
    float cos_l = -v3_dot(dir, l->n);
    if (!(cos_l > 0.0f))
        return 0.0f;
    float d[3];
    v3_sub(d, x, p);
    return p_sel * v3_dot(d, d) / (cos_l * l->area);
}

/* ---- sampler ---- */
static inline uint32_t rev32(uint32_t x)
{
    x = __builtin_bswap32(x);
    x = ((x & 0x0f0f0f0fu) << 4) | ((x & 0xf0f0f0f0u) >> 4);
    x = ((x & 0x33333333u) << 2) | ((x & 0xccccccccu) >> 2);
    x = ((x & 0x55555555u) << 1) | ((x & 0xaaaaaaaau) >> 1);
    return x;
}

/* Laine-Karras style hash: a random permutation of x whose high bits depend only on its
   low bits (constants from Burley 2020). */
static inline uint32_t lk_perm(uint32_t x, uint32_t seed)
{
    x += seed;
    x ^= x * 0x6c50b47cu;
    x ^= x * 0xb82f1e52u;
    x ^= x * 0xc7afe638u;
    x ^= x * 0x8d22f6e6u;
    return x;
}

/* Nested uniform (Owen) scramble of a 32-bit fraction. */
static inline uint32_t owen(uint32_t x, uint32_t seed) { return rev32(lk_perm(rev32(x), seed)); }

/* Sobol's second dimension: the XOR of direction numbers v_j over the set bits j of the
   index, v_0 = 2^31, v_{j+1} = v_j ^ (v_j >> 1). The shuffled indices use all 32 bits, so
   it is tabulated per byte: sobol1_tab[b][x] = the XOR for byte b of the index equal to x. */
static uint32_t sobol1_tab[4][256];
static pthread_once_t sobol_once = PTHREAD_ONCE_INIT;

static void sobol_init(void)
{
    uint32_t v[32];
    v[0] = 0x80000000u;
    for (int j = 1; j < 32; j++)
        v[j] = v[j - 1] ^ (v[j - 1] >> 1);
    for (int b = 0; b < 4; b++)
        for (int x = 0; x < 256; x++) {
            uint32_t r = 0;
            for (int j = 0; j < 8; j++)
                if (x >> j & 1)
                    r ^= v[8 * b + j];
            sobol1_tab[b][x] = r;
        }
}

static inline uint32_t sobol1(uint32_t i)
{
    return sobol1_tab[0][i & 255u] ^ sobol1_tab[1][(i >> 8) & 255u] ^ sobol1_tab[2][(i >> 16) & 255u] ^
           sobol1_tab[3][i >> 24];
}

static inline float u32f(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

/* What one sample of one pixel draws its numbers from. */
struct rt_smp {
    const uint32_t *seeds; /* (RT_PAIRS, 3) scramble seeds of the pixel */
    uint32_t k;            /* sample index */
    struct rng *rng;
};

/* The two numbers of dimension pair d. */
static void smp2(const struct rt_smp *sm, int d, float *a, float *b)
{
    if (d >= RT_PAIRS) {
        *a = rng_float(sm->rng);
        *b = rng_float(sm->rng);
        return;
    }
    const uint32_t *sd = sm->seeds + 3 * d;
    uint32_t i = owen(sm->k, sd[0]);
    /* owen(rev32(i), s) = rev32(lk_perm(i, s)): the first coordinate is the radical inverse */
    *a = u32f(rev32(lk_perm(i, sd[1])));
    *b = u32f(owen(sobol1(i), sd[2]));
}

/* ---- Blackman-Harris filter importance sampling ---- */
static float bh_inv[RT_BH_TAB + 1]; /* offset (px) at CDF j / RT_BH_TAB */
static pthread_once_t bh_once = PTHREAD_ONCE_INIT;

static void bh_init(void)
{
    enum { N = 8192 };
    static double cdf[N + 1];
    cdf[0] = 0.0;
    for (int i = 0; i < N; i++) {
        double s = (i + 0.5) / N; /* position across the window, 0..1 */
        double w = 0.35875 - 0.48829 * cos(2 * M_PI * s) + 0.14128 * cos(4 * M_PI * s) - 0.01168 * cos(6 * M_PI * s);
        cdf[i + 1] = cdf[i] + w;
    }
    int i = 0;
    for (int j = 0; j <= RT_BH_TAB; j++) {
        double target = cdf[N] * j / RT_BH_TAB;
        while (i < N - 1 && cdf[i + 1] < target)
            i++;
        double f = cdf[i + 1] > cdf[i] ? (target - cdf[i]) / (cdf[i + 1] - cdf[i]) : 0.0;
        f = f < 0 ? 0 : (f > 1 ? 1 : f);
        bh_inv[j] = (float)(((i + f) / N * 2.0 - 1.0) * RT_BH_RADIUS);
    }
}

static inline float bh_offset(float u)
{
    float x = u * RT_BH_TAB;
    int j = (int)x;
    if (j >= RT_BH_TAB)
        return bh_inv[RT_BH_TAB];
    return bh_inv[j] + (x - (float)j) * (bh_inv[j + 1] - bh_inv[j]);
}

/* ---- integrator ---- */
struct rt_pctx {
    RTCScene scene;
    struct RTCIntersectContext *ctx;
    const struct rt_scene *s;
    const struct rt_settings *set;
    const struct rt_cam_basis *cb;
    float spread; /* camera footprint cone: radians per pixel */
    struct rt_counts *cnt;
};

/* Next-event estimation at hit h (material bp, local frame t, b, ns, viewer wo local):
   one emitter, one shadow ray; adds thr * f * Le * cos / pdf * w to L, w the power
   heuristic weight against BSDF sampling when `mis`. */
static void nee_one(const struct rt_pctx *pc, int e, float p_sel, float r1, float r2, const struct rt_hit *h,
                    const struct rt_bsdf_p *bp, const float fr[2][3], const float wo[3], const float thr[3], bool mis,
                    float L[3])
{
    const struct rt_scene *s = pc->s;
    float wi[3], Le[3], pdf_l, dist = INFINITY, y[3] = { 0, 0, 0 };
    bool env = e < 0;
    if (env) {
        float pe = env_sample(&s->env, r1, r2, wi, Le);
        pdf_l = p_sel * pe;
    } else {
        const struct rt_light *l = &s->lights[e];
        struct rt_sph_rect q;
        float sa = nee_solid_angle(l, h->p, &q);
        if (sa > 0.0f) {
            sph_rect_sample(l, h->p, &q, r1, r2, y);
        } else {
            v3_madd(y, l->corner, l->eu, r1);
            v3_madd(y, y, l->ev, r2);
        }
        v3_sub(wi, y, h->p);
        float d2 = v3_dot(wi, wi), d = sqrtf(d2);
        if (!(d > 0.0f))
            return;
        v3_scale(wi, wi, 1.0f / d);
        float cos_l = -v3_dot(wi, l->n);
        if (!(cos_l > 0.0f))
            return;
        pdf_l = sa > 0.0f ? p_sel / sa : p_sel * d2 / (cos_l * l->area);
        v3_copy(Le, l->radiance);
    }
    if (!(pdf_l > 0.0f))
        return;
    float wl[3] = { v3_dot(wi, fr[0]), v3_dot(wi, fr[1]), v3_dot(wi, h->ns) };
    float cg = v3_dot(wi, h->ng);
    if (!(cg * wl[2] > 0.0f))
        return; /* shading and geometric normals disagree about the side */
    float f[3];
    bsdf_eval(bp, wo, wl, f);
    if (f[0] + f[1] + f[2] <= 0.0f || Le[0] + Le[1] + Le[2] <= 0.0f)
        return;
    float o[3], sd[3];
    v3_madd(o, h->p, h->ng, cg > 0.0f ? hit_eps(h->p) : -hit_eps(h->p));
    if (env) {
        v3_copy(sd, wi);
    } else {
        v3_sub(sd, y, o);
        dist = v3_normalize(sd);
        if (!(dist > 0.0f))
            return;
        dist *= 1.0f - 1e-4f;
    }
    pc->cnt->shadow++;
    if (occluded(pc->scene, pc->ctx, o, sd, dist))
        return;
    float w = mis ? rt_power_heuristic(pdf_l, bsdf_pdf(bp, wo, wl)) : 1.0f;
    float g = fabsf(wl[2]) * w / pdf_l;
    for (int k = 0; k < 3; k++)
        L[k] += thr[k] * f[k] * Le[k] * g;
}

static void next_event(const struct rt_pctx *pc, const struct rt_smp *sm, int vert, float usel, const struct rt_sel *sel,
                       const struct rt_hit *h, const struct rt_bsdf_p *bp, const float fr[2][3], const float wo[3],
                       const float thr[3], bool mis, float L[3])
{
    const struct rt_scene *s = pc->s;
    float r1, r2;
    smp2(sm, 1 + 3 * vert, &r1, &r2);
    if (sel->all) {
        if (sel->p_env > 0.0f)
            nee_one(pc, -1, 1.0f, r1, r2, h, bp, fr, wo, thr, mis, L);
        for (int i = 0; i < s->nlights; i++)
            if (sel->p[i] > 0.0f)
                nee_one(pc, i, 1.0f, r1, r2, h, bp, fr, wo, thr, mis, L);
        return;
    }
    if (usel < sel->p_env) {
        nee_one(pc, -1, sel->p_env, r1, r2, h, bp, fr, wo, thr, mis, L);
        return;
    }
    float u = (usel - sel->p_env) / (1.0f - sel->p_env);
    const float *cdf = sel->adaptive ? sel->cdf : s->light_cdf;
    int i = 0;
    while (i < s->nlights - 1 && u >= cdf[i])
        i++;
    float p_sel = sel_light(s, sel, i);
    if (p_sel > 0.0f)
        nee_one(pc, i, p_sel, r1, r2, h, bp, fr, wo, thr, mis, L);
}

/* One camera path through pixel position (fx, fy) (continuous pixel coordinates).
   Adds radiance to L and the first hit's AOVs to the accumulators; *obj (when not NULL)
   gets the first hit's object id. */
struct rt_aov_acc { double alpha, depth, depth_n, normal[3], albedo[3]; };

static void path(const struct rt_pctx *pc, const struct rt_smp *sm, float fx, float fy, float L[3],
                 struct rt_aov_acc *aov, int32_t *obj)
{
    const struct rt_scene *s = pc->s;
    const struct rt_cam_basis *cb = pc->cb;
    float nx = 2.0f * fx / (float)cb->w - 1.0f, ny = 1.0f - 2.0f * fy / (float)cb->h;
    float dir[3], o[3], thr[3] = { 1.0f, 1.0f, 1.0f };
    v3_madd(dir, cb->fwd, cb->right, nx * cb->tan_x);
    v3_madd(dir, dir, cb->up, ny * cb->tan_y);
    v3_normalize(dir);
    v3_copy(o, cb->eye);
    L[0] = L[1] = L[2] = 0.0f;
    float width = 0.0f, spread = pc->spread, pdf_prev = 0.0f, pprev[3] = { 0, 0, 0 };
    struct rt_sel sel; /* emitter selection at the current vertex, then the previous one */
    bool emitters = s->nlights > 0 || s->p_env > 0.0f;

    for (int depth = 0; depth < pc->set->max_depth; depth++) {
        struct rt_hit h;
        if (depth == 0)
            pc->cnt->camera++;
        else
            pc->cnt->bounce++;
        if (!trace(pc->scene, pc->ctx, s, o, dir, width, spread, &h)) {
            if (s->p_env > 0.0f) {
                float Le[3];
                float pe = env_lookup(&s->env, dir, Le);
                float w = depth == 0 ? 1.0f : rt_power_heuristic(pdf_prev, sel.p_env * pe);
                for (int k = 0; k < 3; k++)
                    L[k] += thr[k] * Le[k] * w;
            }
            if (depth == 0 && obj)
                *obj = -1;
            return;
        }
        if (depth == 0) {
            aov->depth += h.t;
            aov->depth_n += 1.0;
            for (int k = 0; k < 3; k++) {
                aov->normal[k] += h.ns[k];
                aov->albedo[k] += h.albedo[k];
            }
            if (h.kind == RT_OBJ_MESH && s->meshes[h.index].subject)
                aov->alpha += 1.0;
            if (obj)
                *obj = h.kind == RT_OBJ_MESH ? h.index : -1;
        }
        if (h.kind == RT_OBJ_LIGHT) {
            const struct rt_light *l = &s->lights[h.index];
            if (v3_dot(dir, l->n) < 0.0f) { /* the emitting side */
                float w = depth == 0 ? 1.0f
                                     : rt_power_heuristic(pdf_prev, light_pdf(l, sel_light(s, &sel, h.index), pprev,
                                                                              h.p, dir));
                for (int k = 0; k < 3; k++)
                    L[k] += thr[k] * l->radiance[k] * w;
            }
            return; /* light surfaces absorb */
        }
        const struct rt_mesh *m = &s->meshes[h.index];
        struct rt_bsdf_p bp = m->bsdf;
        if (m->nmips)
            v3_copy(bp.albedo, h.albedo);
        float fr[2][3], wo[3];
        onb(h.ns, fr[0], fr[1]);
        wo[0] = -v3_dot(dir, fr[0]);
        wo[1] = -v3_dot(dir, fr[1]);
        wo[2] = maxf(-v3_dot(dir, h.ns), 1e-4f); /* interpolated normals may face away a little */
        v3_normalize(wo);
        bool mis = depth + 1 < pc->set->max_depth;
        float usel, u0; /* emitter choice, lobe choice */
        smp2(sm, 3 + 3 * depth, &usel, &u0);
        if (emitters) {
            select_probs(s, h.p, h.ns, bp.kind == RT_BSDF_CLOTH && bp.trans > 0.0f, depth < RT_NEE_ALL, &sel);
            next_event(pc, sm, depth, usel, &sel, &h, &bp, (const float(*)[3])fr, wo, thr, mis, L);
        }
        if (!mis)
            return;

        float u1, u2, wl[3], pdf, f[3];
        smp2(sm, 2 + 3 * depth, &u1, &u2);
        if (!bsdf_sample(&bp, wo, u0, u1, u2, wl, &pdf, f))
            return;
        float w[3];
        for (int k = 0; k < 3; k++)
            w[k] = wl[0] * fr[0][k] + wl[1] * fr[1][k] + wl[2] * h.ns[k];
        v3_normalize(w);
        float cg = v3_dot(w, h.ng);
        if (!(cg * wl[2] > 0.0f))
            return; /* below the true surface: absorbed (shading-normal artefact) */
        float g = fabsf(wl[2]) / pdf;
        for (int k = 0; k < 3; k++)
            thr[k] *= f[k] * g;
        if (depth + 1 > RT_RR_BOUNCES) { /* this is bounce number depth + 1 */
            float q = minf(0.95f, maxf(maxf(thr[0], thr[1]), thr[2]));
            if (q < 0.05f)
                q = 0.05f;
            if (rng_float(sm->rng) >= q)
                return;
            v3_scale(thr, thr, 1.0f / q);
        }
        v3_madd(o, h.p, h.ng, cg > 0.0f ? hit_eps(h.p) : -hit_eps(h.p));
        v3_copy(dir, w);
        v3_copy(pprev, h.p);
        pdf_prev = pdf;
        width = h.width;
        spread = RT_BOUNCE_SPREAD;
    }
}

/* What samples k0..k1-1 of one pixel add up to (double sums, in sample order). */
struct rt_px_sum {
    double rgb[3], sq[3]; /* sum of L and of L^2 per channel */
    struct rt_aov_acc aov;
};

/* Samples k0..k1-1 of image pixel (x, y); *obj gets sample 0's first hit when k0 == 0. */
static void pixel_samples(const struct rt_pctx *pc, uint64_t seed_h, int x, int y, int k0, int k1,
                          struct rt_px_sum *sum, int32_t *obj)
{
    const struct rt_settings *set = pc->set;
    uint64_t ps = seed_h ^ hash_mix64((uint64_t)y * (uint64_t)pc->cb->w + (uint64_t)x);
    uint32_t seeds[3 * RT_PAIRS];
    for (int d = 0; d < 3 * RT_PAIRS; d++)
        seeds[d] = (uint32_t)(hash_mix64(ps + 0x9e3779b97f4a7c15ull * (uint64_t)(d + 1)) >> 32);
    struct rng rng;
    struct rt_smp sm = { .seeds = seeds, .rng = &rng };
    memset(sum, 0, sizeof *sum);
    for (int k = k0; k < k1; k++) {
        float jx, jy, fx, fy;
        rng_seed(&rng, ps ^ hash_mix64(0xd1b54a32d192ed03ull * (uint64_t)(k + 1)));
        sm.k = (uint32_t)k;
        smp2(&sm, 0, &jx, &jy);
        if (set->filter == RT_FILTER_BLACKMAN_HARRIS) {
            fx = (float)x + 0.5f + bh_offset(jx);
            fy = (float)y + 0.5f + bh_offset(jy);
        } else {
            fx = (float)x + jx;
            fy = (float)y + jy;
        }
        float L[3];
        path(pc, &sm, fx, fy, L, &sum->aov, k == 0 ? obj : NULL);
        for (int c = 0; c < 3; c++) {
            sum->rgb[c] += L[c];
            sum->sq[c] += (double)L[c] * L[c];
        }
    }
}

/* The display curve the adaptive error is measured through: rt_tonemap then sRGB, 0..1. */
static double display(double x)
{
    return img_linear_to_srgb(rt_tonemap((float)x));
}

/* Merge a pixel's sums of samples n..n+m-1 into its film means (n samples so far; depth is
   merged by the caller, which counts the samples that hit) and, in adaptive mode, into its
   per-channel sums of squared deviations m2 (Chan et al.'s pairwise update); returns the
   pixel's display-space error (0 without m2). */
static float merge_pixel(struct rt_film *f, float *m2, size_t i, int n, int m, const struct rt_px_sum *b)
{
    double nt = n + m, inv = 1.0 / nt, err = 0.0;
    for (int c = 0; c < 3; c++) {
        double mean_b = b->rgb[c] / m, mean_a = f->rgb[i * 3 + c];
        double mean = n ? (mean_a * n + b->rgb[c]) * inv : b->rgb[c] * inv;
        if (m2) {
            double m2_b = fmax(b->sq[c] - b->rgb[c] * mean_b, 0.0), d = mean_b - mean_a;
            double q = n ? m2[i * 3 + c] + m2_b + d * d * n * m * inv : m2_b;
            m2[i * 3 + c] = (float)q;
            if (nt > 1) {
                double se = sqrt(q / (nt - 1) * inv);
                err = fmax(err, 0.5 * (display(mean + se) - display(fmax(mean - se, 0.0))));
            }
        }
        f->rgb[i * 3 + c] = (float)mean;
        f->normal[i * 3 + c] = (float)(n ? (f->normal[i * 3 + c] * (double)n + b->aov.normal[c]) * inv
                                         : b->aov.normal[c] * inv);
        f->albedo[i * 3 + c] = (float)(n ? (f->albedo[i * 3 + c] * (double)n + b->aov.albedo[c]) * inv
                                         : b->aov.albedo[c] * inv);
    }
    f->alpha[i] = (float)(n ? (f->alpha[i] * (double)n + b->aov.alpha) * inv : b->aov.alpha * inv);
    return (float)err;
}

enum tryon_status rt_render(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                            struct rt_film *out)
{
    assert(s && cam && set && out);
    assert(s->committed && "rt_render: call rt_scene_commit after the last add");
    memset(out, 0, sizeof *out);
    struct rt_cam_basis cb;
    if (cam->width <= 0 || cam->height <= 0 || cam->width > RT_MAX_SIDE || cam->height > RT_MAX_SIDE ||
        (long)cam->width * cam->height > RT_MAX_PIXELS)
        return tryon_fail(TRYON_EINVAL, "raytrace/render.c: image size %dx%d outside 1..%d per side, %ld pixels",
                          cam->width, cam->height, RT_MAX_SIDE, RT_MAX_PIXELS);
    if (!rt_cam_basis_init(cam, &cb))
        return tryon_fail(TRYON_EINVAL, "raytrace/render.c: degenerate camera (eye on target, up along the "
                          "view, or vfov %g outside (0,179))", (double)cam->vfov_deg);
    if (set->spp < 1 || set->max_depth < 1 || set->threads < 0 ||
        (set->filter != RT_FILTER_BOX && set->filter != RT_FILTER_BLACKMAN_HARRIS) ||
        !(set->noise_threshold >= 0.0f && isfinite(set->noise_threshold)) || set->min_spp < 0)
        return tryon_fail(TRYON_EINVAL, "raytrace/render.c: bad settings spp=%d max_depth=%d threads=%d filter=%d "
                          "noise_threshold=%g min_spp=%d", set->spp, set->max_depth, set->threads, (int)set->filter,
                          (double)set->noise_threshold, set->min_spp);
    struct rt_crop crop = set->crop;
    if (crop.w == 0)
        crop = (struct rt_crop){ 0, 0, cam->width, cam->height };
    if (crop.x < 0 || crop.y < 0 || crop.w < 1 || crop.h < 1 || crop.x > cam->width - crop.w ||
        crop.y > cam->height - crop.h)
        return tryon_fail(TRYON_EINVAL, "raytrace/render.c: crop %dx%d at (%d,%d) is not inside the %dx%d image",
                          crop.w, crop.h, crop.x, crop.y, cam->width, cam->height);

    int w = crop.w, h = crop.h;
    size_t np = (size_t)w * h;
    /* 11 float channels + the int32 object id and sample count */
    float *buf = calloc(np * 13, sizeof(float));
    if (!buf)
        return tryon_fail(TRYON_ENOMEM, "raytrace/render.c: out of memory for a %dx%d film", w, h);
    bool adaptive = set->noise_threshold > 0.0f;
    float *m2 = NULL, *err = NULL;   /* adaptive: (h, w, 3) squared deviations, (h, w) errors */
    uint8_t *active = NULL;          /* adaptive: (h, w) 1 = sample this pixel in the next pass */
    if (adaptive && !(m2 = malloc(np * 4 * sizeof(float)), active = malloc(np), m2 && active)) {
        free(buf), free(m2), free(active);
        return tryon_fail(TRYON_ENOMEM, "raytrace/render.c: out of memory for a %dx%d film", w, h);
    }
    if (adaptive)
        err = m2 + np * 3;
    out->w = w;
    out->h = h;
    out->rgb = buf;
    out->alpha = buf + np * 3;
    out->depth = buf + np * 4;
    out->normal = buf + np * 5;
    out->albedo = buf + np * 8;
    out->object = (int32_t *)(buf + np * 11);
    out->spp = (int32_t *)(buf + np * 12);
    if (set->filter == RT_FILTER_BLACKMAN_HARRIS)
        pthread_once(&bh_once, bh_init);
    pthread_once(&sobol_once, sobol_init);
    int ntx = (w + RT_TILE - 1) / RT_TILE, nty = (h + RT_TILE - 1) / RT_TILE;
    int nthreads = set->threads > 0 ? set->threads : s->dev->threads;
    struct rt_pctx pc0 = { .scene = s->scene, .s = s, .set = set, .cb = &cb,
                           .spread = 2.0f * cb.tan_y / (float)cam->height };
    uint64_t seed_h = hash_mix64(set->seed);
    uint64_t n_cam = 0, n_bounce = 0, n_shadow = 0;
    double t0 = time_now();

    /* passes: n0 samples in every pixel, then doubling in the active ones, up to spp */
    int n_done = 0, n_next = adaptive ? (set->min_spp ? set->min_spp : RT_MIN_SPP) : set->spp;
    if (n_next > set->spp)
        n_next = set->spp;
    float *depth_hits = NULL; /* (h, w) samples whose camera ray hit something (the depth mean's count) */
    if (!(depth_hits = calloc(np, sizeof(float)))) {
        free(buf), free(m2), free(active);
        memset(out, 0, sizeof *out);
        return tryon_fail(TRYON_ENOMEM, "raytrace/render.c: out of memory for a %dx%d film", w, h);
    }
    for (;;) {
        int k0 = n_done, k1 = n_next;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads) reduction(+ : n_cam, n_bounce, n_shadow)
        for (int tile = 0; tile < ntx * nty; tile++) {
            struct RTCIntersectContext ctx;
            rtcInitIntersectContext(&ctx);
            struct rt_counts cnt = { 0, 0, 0 };
            struct rt_pctx pc = pc0;
            pc.ctx = &ctx;
            pc.cnt = &cnt;
            int x0 = (tile % ntx) * RT_TILE, y0 = (tile / ntx) * RT_TILE;
            int x1 = x0 + RT_TILE < w ? x0 + RT_TILE : w, y1 = y0 + RT_TILE < h ? y0 + RT_TILE : h;
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    size_t pix = (size_t)y * w + x;
                    if (k0 > 0 && !active[pix])
                        continue;
                    struct rt_px_sum b;
                    pixel_samples(&pc, seed_h, crop.x + x, crop.y + y, k0, k1, &b, &out->object[pix]);
                    float e = merge_pixel(out, m2, pix, k0, k1 - k0, &b);
                    if (adaptive)
                        err[pix] = e;
                    double hits = depth_hits[pix] + b.aov.depth_n;
                    if (hits > 0)
                        out->depth[pix] = (float)((out->depth[pix] * (double)depth_hits[pix] + b.aov.depth) / hits);
                    depth_hits[pix] = (float)hits;
                    out->spp[pix] = k1;
                }
            }
            n_cam += cnt.camera;
            n_bounce += cnt.bounce;
            n_shadow += cnt.shadow;
        }
        n_done = n_next;
        if (!adaptive || n_done >= set->spp)
            break;
        n_next = n_done * 2 < set->spp ? n_done * 2 : set->spp;
        /* the next pass samples the pixels whose 3x3 neighbourhood still has an error above
           the threshold (and that were sampled in this pass: a stopped pixel stays stopped) */
        size_t n_active = 0;
#pragma omp parallel for schedule(static) num_threads(nthreads) reduction(+ : n_active)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t pix = (size_t)y * w + x;
                bool on = false;
                if (out->spp[pix] == n_done)
                    for (int dy = -1; dy <= 1 && !on; dy++)
                        for (int dx = -1; dx <= 1 && !on; dx++) {
                            int xx = x + dx, yy = y + dy;
                            on = xx >= 0 && xx < w && yy >= 0 && yy < h && err[(size_t)yy * w + xx] > set->noise_threshold;
                        }
                active[pix] = on;
                n_active += on;
            }
        if (n_active == 0)
            break;
    }
    free(depth_hits);
    free(m2);
    free(active);
    out->stats.camera_rays = n_cam;
    out->stats.bounce_rays = n_bounce;
    out->stats.shadow_rays = n_shadow;
    out->stats.seconds = time_now() - t0;
    return TRYON_OK;
}

void rt_film_free(struct rt_film *f)
{
    if (!f)
        return;
    free(f->rgb); /* rgb is the start of the one allocation that holds every buffer */
    memset(f, 0, sizeof *f);
}
