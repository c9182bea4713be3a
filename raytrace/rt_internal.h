/* rt_internal.h: structures shared by the files of raytrace/ (not part of the public API).
 *
 * The scene keeps its own copy of every mesh (positions for Embree, normals, uvs and
 * material for shading) and of every light; Embree geometry ids index `objs`, which says
 * whether a hit is a mesh (and which) or a light (and which). Small vector helpers on
 * float[3] live here as static inline functions.
 */
#ifndef TRYON_RT_INTERNAL_H
#define TRYON_RT_INTERNAL_H

#include <embree3/rtcore.h>
#include <math.h>

#include "raytrace/raytrace.h"

struct rt_device {
    RTCDevice dev;
    int threads;   /* default render thread count (>= 1) */
};

/* A material resolved for shading (see bsdf.c): everything the lobes need, with the
   defaults and clamps applied. */
struct rt_bsdf_p {
    int kind;          /* enum rt_bsdf */
    float albedo[3];   /* diffuse reflectance in [0,1] */
    float alpha;       /* SKIN: GGX alpha = roughness^2 */
    float f0;          /* SKIN: Fresnel reflectance at normal incidence */
    float ss_a;        /* SKIN: terminator kernel coefficient in [-2.25, 0] */
    float sheen[3];    /* CLOTH: sheen colour (already scaled so the total albedo <= 1) */
    float sheen_r;     /* CLOTH: Charlie roughness */
    float sheen_rk;    /* CLOTH: sheen_r as a fractional index of the albedo table */
    float dnorm[3];    /* CLOTH: 1 / (1 - sheen * Eavg), the diffuse layer's normalisation */
    float trans;       /* CLOTH: diffuse transmission fraction */
};
void rt_bsdf_resolve(const struct rt_material *m, struct rt_bsdf_p *p);
/* f (no cosine) for local wo (wo[2] > 0) and wi; pdf of bsdf_sample; sample. */
void bsdf_eval(const struct rt_bsdf_p *p, const float wo[3], const float wi[3], float f[3]);
float bsdf_pdf(const struct rt_bsdf_p *p, const float wo[3], const float wi[3]);
bool bsdf_sample(const struct rt_bsdf_p *p, const float wo[3], float u0, float u1, float u2, float wi[3],
                 float *pdf, float f[3]);
static inline float rt_power_heuristic(float pa, float pb)
{
    float a = pa * pa, b = pb * pb;
    return a + b > 0.0f ? a / (a + b) : 0.0f;
}

struct rt_mesh {
    int nv, nt;
    float *nrm;          /* (nv,3) unit vertex normals or NULL */
    float *uv;           /* (nv,2) or NULL */
    int32_t *tri;        /* (nt,3) indices (copy kept for normal/uv interpolation) */
    float albedo[3];     /* constant albedo, clamped to [0,1] */
    struct rt_bsdf_p bsdf; /* the material resolved (albedo = the constant one) */
    struct imgf *mips;   /* textured: mip chain, level 0 (h,w,3) linear RGB albedo rows top
                            first, each next level half the size (box filter) down to 1x1 */
    int nmips;           /* 0 = no texture */
    float *texel_scale;  /* textured: (nt) texels per metre of each triangle (sqrt of the
                            texel area over the world area) */
    bool subject;
};

/* The environment map and its sampling distribution. */
struct rt_env {
    struct imgf img;   /* (h,w,4): radiance x scale, then the pixel's probability times
                          w h / (2 pi^2) (so the solid-angle pdf is that / sin theta);
                          img.px NULL = no environment */
    float *marg;       /* (h+1) CDF over rows, marg[0] = 0, marg[h] = 1 */
    float *cond;       /* (h, w+1) CDF over the columns of each row */
    double mean;       /* sin-weighted mean of the channel mean (the hemisphere irradiance
                          from a uniform map of this value is pi * mean) */
};
void rt_env_clear(struct rt_env *e);
/* Radiance in direction dir (unit) into rgb; returns the solid-angle pdf of env_sample
   there. */
float env_lookup(const struct rt_env *e, const float dir[3], float rgb[3]);
float env_pdf(const struct rt_env *e, const float dir[3]);
float env_sample(const struct rt_env *e, float u1, float u2, float dir[3], float rgb[3]);

struct rt_light {
    float corner[3], eu[3], ev[3]; /* metres */
    float n[3];                    /* unit normal cross(eu, ev) / |..|, emitting side */
    float ex[3], ey[3];            /* eu, ev as unit vectors */
    float exl, eyl;                /* |eu|, |ev| (metres) */
    float centre[3];               /* corner + (eu + ev) / 2 */
    float diag2;                   /* |eu|^2 + |ev|^2 (m^2) */
    float area;                    /* m^2 */
    float radiance[3];
    float p_sel;                   /* commit-time probability that next-event estimation
                                      picks it (used with more than RT_SEL_MAX lights) */
    float lum_area;                /* mean radiance x area (selection weight numerator) */
};

/* What an Embree geometry id stands for. */
struct rt_obj { int kind; int index; };
enum { RT_OBJ_MESH = 0, RT_OBJ_LIGHT = 1 };

struct rt_scene {
    struct rt_device *dev;
    RTCScene scene;
    struct rt_mesh *meshes; int nmeshes, cap_meshes;
    struct rt_light *lights; int nlights, cap_lights;
    struct rt_obj *objs; int nobjs, cap_objs;  /* indexed by Embree geometry id */
    float *light_cdf;      /* (nlights) cumulative power fractions, last = 1 */
    struct rt_env env;
    float p_env;           /* commit-time probability that next-event estimation picks the
                              environment (> 0 iff there is one) */
    float env_w;           /* the environment's irradiance estimate pi * mean / 2 */
    long ntri;
    bool committed;
};

/* ---- float[3] helpers ---- */
static inline void v3_set(float o[3], float x, float y, float z) { o[0] = x; o[1] = y; o[2] = z; }
static inline void v3_copy(float o[3], const float a[3]) { o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; }
static inline void v3_sub(float o[3], const float a[3], const float b[3])
{ o[0] = a[0] - b[0]; o[1] = a[1] - b[1]; o[2] = a[2] - b[2]; }
static inline void v3_add(float o[3], const float a[3], const float b[3])
{ o[0] = a[0] + b[0]; o[1] = a[1] + b[1]; o[2] = a[2] + b[2]; }
static inline void v3_scale(float o[3], const float a[3], float s) { o[0] = a[0] * s; o[1] = a[1] * s; o[2] = a[2] * s; }
/* o = a + s * b */
static inline void v3_madd(float o[3], const float a[3], const float b[3], float s)
{ o[0] = a[0] + s * b[0]; o[1] = a[1] + s * b[1]; o[2] = a[2] + s * b[2]; }
static inline float v3_dot(const float a[3], const float b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static inline void v3_cross(float o[3], const float a[3], const float b[3])
{
    float x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2], z = a[0] * b[1] - a[1] * b[0];
    o[0] = x; o[1] = y; o[2] = z;
}
/* max / min by plain compares (fmaxf/fminf are libm calls at -O2 without -ffast-math);
   a NaN in a gives b */
static inline float maxf(float a, float b) { return a > b ? a : b; }
static inline float minf(float a, float b) { return a < b ? a : b; }
/* x clamped to [lo, hi] (NaN gives hi); plain compares, no libm call */
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x <= hi ? x : hi); }
static inline float v3_len(const float a[3]) { return sqrtf(v3_dot(a, a)); }
/* Normalise in place; returns the old length (0 leaves a untouched). */
static inline float v3_normalize(float a[3])
{
    float l = v3_len(a);
    if (l > 0.0f) {
        float inv = 1.0f / l;
        a[0] *= inv; a[1] *= inv; a[2] *= inv;
    }
    return l;
}

/* Pinhole camera basis shared by the renderer and rt_camera_project. */
struct rt_cam_basis {
    float eye[3];
    float fwd[3], right[3], up[3]; /* orthonormal; right = fwd x up_hint */
    float tan_y, tan_x;            /* half-extent of the image plane at distance 1 */
    int w, h;
};
/* false for a degenerate camera (eye == target, up parallel to the view, bad fov/size). */
bool rt_cam_basis_init(const struct rt_camera *cam, struct rt_cam_basis *b);

#endif
