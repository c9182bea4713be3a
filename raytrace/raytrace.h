/* raytrace.h: the one public header of raytrace/, the Embree 3 path tracer.
 *
 * A scene holds triangle meshes with materials (Lambertian, skin, cloth, backdrop; constant
 * or textured albedo), one-sided rectangular area lights and an optional lat-long
 * environment map; rt_render path-traces it through a pinhole camera into a film of linear
 * radiance plus AOVs (alpha, depth, normal, albedo, object id), and rt_film_to_rgba8 /
 * rt_film_to_rgba8_tone tone-map the film to 8-bit sRGB RGBA.
 *
 * Integrator (unbiased): at the camera ray's hit every emitter that can light the point
 * is sampled once (each rectangle and the environment: one shadow ray each); at every
 * later surface hit one emitter is chosen (the environment with
 * a probability from its estimated share of the irradiance, else a rectangle with
 * probability proportional to radiance x area / distance^2, zero for rectangles that
 * cannot light the point: it is behind their emitting side or they lie wholly below its
 * horizon), a point or direction on it is sampled (rectangles: uniformly in
 * the solid angle they subtend when the hit is closer to the light's centre than the
 * light's diagonal, uniformly by area farther away; environment: a 2-D piecewise-constant
 * distribution over its pixels) and added after a shadow ray (next-event estimation). The
 * path continues by sampling the BSDF; a bounce ray that hits a light's emitting side or
 * leaves the scene adds that emission too, and the two estimates are combined by multiple
 * importance sampling with the power heuristic (Veach 1997). At the last vertex allowed by
 * max_depth only next-event estimation runs (weight 1). Russian roulette after 3 bounces;
 * max_depth caps the number of surface hits.
 *
 * Sampling: per pixel, sample k of the pixel's spp draws its film position, and for the
 * first 2 vertices its light and BSDF numbers, from 2-D Sobol points (0,2)-sequence
 * shuffled and Owen-scrambled per pixel and per dimension pair (Burley 2020, "Practical
 * hash-based Owen scrambling"); later bounces and Russian roulette use a xoshiro seeded
 * by (pixel, sample).
 * Determinism: every random number depends only on (settings.seed, pixel, sample), and
 * each pixel sums its samples in order, so the film is bit-identical for any thread count
 * or tile order.
 *
 * Units: metres, y up; radiance in linear RGB, arbitrary scale (exposure 1 maps 0.18 to
 * mid-grey). Ownership: every *_create result is freed by the matching *_free; the scene
 * copies everything it is given (mesh arrays, textures, environment); rt_render allocates
 * the film and the caller frees it with rt_film_free. A device must outlive its scenes.
 * Thread safety: building a scene is single-threaded; rt_render on a committed scene may
 * run concurrently on several threads.
 */
#ifndef TRYON_RAYTRACE_H
#define TRYON_RAYTRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* ===== device ==================================================================== */
struct rt_device; /* one Embree device per process */
/* threads: Embree's BVH-build threads and the default render thread count (0 = all
 * cores). NULL with tryon_errmsg set on failure. */
struct rt_device *rt_device_create(int threads);
void rt_device_free(struct rt_device *d);
/* One line for `tryon info`: the Embree version and what the integrator does. */
const char *rt_describe(void);

/* ===== scene ===================================================================== */
/* BSDF kinds. Zero is Lambertian, so a zero-initialised material (albedo and texture
   set) is plain diffuse. Every lobe is reciprocal and conserves energy (directional
   albedo <= 1; = albedo for DIFFUSE and BACKDROP; sheen E(cos_o) + albedo (1 - sheen
   E(cos_o)) for CLOTH, E the sheen lobe's own albedo, so 1 for a white cloth; SKIN loses
   what single-scattering GGX and the Fresnel-weighted base do not return: 0.92 for a
   white skin seen head-on, 0.53 at 85 degrees). */
enum rt_bsdf {
    RT_BSDF_DIFFUSE = 0, /* Lambertian albedo/pi */
    RT_BSDF_SKIN = 1,    /* dielectric GGX specular lobe (Smith height-correlated, Schlick
                            Fresnel of `ior`, alpha = roughness^2) over a diffuse base scaled by
                            (1 - F(cos_i))(1 - F(cos_o)); the base's cosine fall-off is
                            flattened by `subsurface` (a reciprocal, energy-conserving kernel
                            1 + a (cos_i - 2/3)(cos_o - 2/3), a = -2.25 subsurface), which
                            softens the terminator as light scattered under skin does */
    RT_BSDF_CLOTH = 2,   /* Lambertian (textured) + Charlie sheen lobe (Estevez & Kulla 2017,
                            Neubelt-Pettineo visibility) in colour `sheen`, roughness
                            `sheen_roughness`; the diffuse layer, scaled by
                            (1 - sheen E(cos_i))(1 - sheen E(cos_o)) / (1 - sheen Eavg), takes
                            what the sheen leaves; `transmission` of it goes through the sheet
                            (thin diffuse transmission) */
    RT_BSDF_BACKDROP = 3 /* matte Lambertian, as DIFFUSE (the studio's cyclorama) */
};
struct rt_material {
    float albedo[3];            /* linear RGB reflectance in [0,1] (the diffuse part) */
    const struct imgf *texture; /* optional: linear RGB(A) albedo map sampled by the mesh uv
                                   (trilinear over a mip chain, level chosen from the ray
                                   footprint; clamped to the edge, v up: uv (0,0) is the
                                   image's bottom-left; alpha ignored); NULL = albedo. The
                                   scene copies the texture. */
    enum rt_bsdf kind;          /* 0 = RT_BSDF_DIFFUSE */
    float roughness;            /* SKIN: GGX roughness, clamped to [0.05, 1] */
    float ior;                  /* SKIN: index of refraction of the specular layer (<= 1: 1.4) */
    float subsurface;           /* SKIN: terminator softening in [0, 1] */
    float sheen[3];             /* CLOTH: sheen colour in [0, 1] */
    float sheen_roughness;      /* CLOTH: in [0.07, 1] (clamped) */
    float transmission;         /* CLOTH: fraction of the diffuse part transmitted, [0, 1] */
};
/* A material of `kind` with its studio defaults: SKIN roughness 0.45, ior 1.4, subsurface
   0.6; CLOTH sheen 0.5 x albedo + 0.03 (tinted, so the garment keeps its colour),
   sheen_roughness 0.5, transmission 0; the
   others plain. texture NULL. */
void rt_material_preset(enum rt_bsdf kind, const float albedo[3], struct rt_material *out);
/* The BSDF of material m (its albedo; the texture is ignored) in the local frame where
   the shading normal is +z; wo (towards the viewer, wo[2] > 0) and wi (towards the light)
   unit vectors. f: BSDF value (1/sr, cosine not included). For tests and tools; the
   renderer uses the same code. */
void rt_bsdf_eval(const struct rt_material *m, const float wo[3], const float wi[3], float f[3]);
/* Solid-angle density with which rt_bsdf_sample picks wi given wo. */
float rt_bsdf_pdf(const struct rt_material *m, const float wo[3], const float wi[3]);
/* Sample wi from three uniform numbers in [0,1): returns false when the sample is
   rejected (e.g. a microfacet reflection below the horizon); else wi, its pdf > 0 and
   the BSDF value f there. */
bool rt_bsdf_sample(const struct rt_material *m, const float wo[3], float u0, float u1, float u2, float wi[3],
                    float *pdf, float f[3]);
/* The power heuristic weight of a sample of density pa against a second strategy of
   density pb: pa^2 / (pa^2 + pb^2) (0 when both are 0). */
float rt_mis_weight(float pa, float pb);
struct rt_scene;
/* An empty scene on device d (NULL with tryon_errmsg set on failure). */
struct rt_scene *rt_scene_create(struct rt_device *d);
/* Add a triangle mesh; data is copied. pos (nv,3) metres, nrm (nv,3) or NULL (geometric
   normals then), uv (nv,2) or NULL, tri (nt,3) vertex indices. `subject` marks body and
   garment (alpha=1 where a camera ray's first hit is a subject mesh). Surfaces are
   two-sided. Returns the object id (>= 0, counting meshes from 0 in the order added), or
   a negative tryon_status (bad counts or indices, non-finite values, a texture without
   uv) with tryon_errmsg set. */
int rt_scene_add_mesh(struct rt_scene *s, const float *pos, const float *nrm, const float *uv, int nv,
                      const int32_t *tri, int nt, const struct rt_material *mat, bool subject);
/* A rectangular area light: corner + two edges (metres); emits from the side the normal
   cross(edge_u, edge_v) points to; radiance in linear RGB (W/sr/m^2, arbitrary scale).
   The light is also a surface: visible to camera rays (its emitting side shows its
   radiance, its back is black) and it blocks other lights' shadow rays. Edges that are
   not perpendicular, zero area and non-positive radiance are bugs (assert). */
void rt_scene_add_rect_light(struct rt_scene *s, const float corner[3], const float edge_u[3],
                             const float edge_v[3], const float radiance[3]);
/* The environment: a lat-long map (h, w, 3) (or 1 or 4 channels) of linear radiance times
   `scale`; row 0 is straight up (+y), the centre column looks along -z, u grows with
   atan2(x, -z). Lookups are nearest-pixel (piecewise constant, so the sampling density
   matches the radiance exactly). Camera rays that miss see it; it lights the scene with
   importance sampling. NULL (or scale 0) removes it. Copied. TRYON_EINVAL for a bad
   image, a negative or non-finite pixel or scale. */
enum tryon_status rt_scene_set_env(struct rt_scene *s, const struct imgf *env, float scale);
/* The project's studio environment, (h, w, 3) with h = w / 2 (w >= 8, even): a dim
   gradient dome (0.03 below the horizon to 0.12 at the zenith) with three soft bright
   patches (an overhead panel and two side windows, up to about 1.5). out is allocated
   (imgf_free). */
enum tryon_status rt_env_studio(int w, struct imgf *out);
/* Environment direction <-> map coordinates (u, v) in [0,1)^2, v = 0 straight up. */
void rt_env_dir_to_uv(const float dir[3], float *u, float *v);
/* Sampling the committed scene's environment (for tests and tools): a direction from two
   uniform numbers, returning its solid-angle pdf (0 when there is no environment) and the
   radiance there; rt_scene_env_pdf gives the pdf of any direction. */
float rt_scene_env_sample(const struct rt_scene *s, float u1, float u2, float dir[3], float rgb[3]);
float rt_scene_env_pdf(const struct rt_scene *s, const float dir[3]);
/* The default studio around a subject whose bounds are bmin..bmax (metres, y up, feet at
   floor_y = bmin[1], subject facing +z): a matte cyclorama (RT_BSDF_BACKDROP: floor curving
   up into a back wall behind the subject) in backdrop colour, and a three-point rig of
   rectangular softboxes sized and placed from the bounds: key (front-left, above), fill
   (front-right, low), rim (behind and above, on the right, lighting hair and shoulders
   from the back), plus the studio environment (rt_env_studio) at `env` times its
   radiance, so the subject is evenly lit with no black or blown-out areas at exposure 1.
   The lights stay outside, and the cyclorama fills, the frame of rt_camera_frame for
   aspects 1:4 to 4:1 and margins up to 0.1. A studio with rim and env 0 is the two-light
   studio of earlier versions. Adding a studio replaces the scene's environment when env
   > 0. */
struct rt_studio { float backdrop[3]; /* linear albedo, e.g. 0.6 grey; white for product shots */
                   float key, fill;   /* light intensities, 1 = default */
                   float rim;         /* rim (back) light intensity, 1 = default, 0 = none */
                   float env;         /* studio environment intensity, 1 = default, 0 = none */
                   float wall_gap;    /* the back wall's distance behind the subject's box, in units of
                                         the box's largest side; 1.2 = default, about 0 = the subject
                                         lies on it (a flat-lay's surface) */
                   float floor_drop;  /* the floor this far below the box (same units); 0 = default */ };
void rt_studio_default(struct rt_studio *st); /* backdrop 0.6 grey, key 1, fill 1, rim 1, env 1, wall_gap 1.2,
                                                 floor_drop 0 */
void rt_scene_add_studio(struct rt_scene *s, const float bmin[3], const float bmax[3], const struct rt_studio *st);
/* Build the BVH (high quality, robust) and the emitters' sampling tables. Must be called
   after the last add (or rt_scene_set_env) and before rt_render; calling it again after
   more adds rebuilds. TRYON_EINVAL for an empty scene,
   TRYON_ENOMEM / TRYON_EUNSUPPORTED when Embree reports an error. */
enum tryon_status rt_scene_commit(struct rt_scene *s);
void rt_scene_free(struct rt_scene *s);
/* Number of triangles in the scene (meshes, studio and lights). */
long rt_scene_triangle_count(const struct rt_scene *s);

/* ===== camera ==================================================================== */
struct rt_camera { float eye[3], target[3], up[3]; float vfov_deg; int width, height; };
/* Frame a box: camera in front (+z) looking at its centre, vertical fov 30 deg, up +y, at
   the distance where the box fills the frame with `margin` (fraction of the image size,
   e.g. 0.08, clamped to [0, 0.45]) to spare on each side: every corner projects inside
   [margin, 1-margin] of the width and height, and the tighter direction touches that
   bound. width, height > 0 (assert). */
void rt_camera_frame(const float bmin[3], const float bmax[3], int width, int height, float margin,
                     struct rt_camera *out);
/* Project a world point to continuous pixel coordinates (x right from the left edge, y down
   from the top edge; pixel (i,j) covers [i,i+1) x [j,j+1)). Returns false when the point
   is not in front of the camera or the camera is degenerate (px, py untouched). */
bool rt_camera_project(const struct rt_camera *cam, const float p[3], float *px, float *py);

/* ===== render ==================================================================== */
/* Pixel filters (filter importance sampling: each sample's film position is drawn from
   the filter, and a pixel is the plain mean of its samples). */
enum rt_filter { RT_FILTER_BOX = 0,            /* the pixel's own square */
                 RT_FILTER_BLACKMAN_HARRIS = 1 /* separable, radius 1.5 px */ };
/* A window of the camera's image: the film is its w x h pixels, film pixel (i, j) being
   image pixel (x + i, y + j), with that pixel's samples (so a crop equals the same region of
   the whole render). w = 0: the whole image. */
struct rt_crop { int x, y, w, h; };
struct rt_settings { int spp;        /* samples per pixel, >= 1 (adaptive: at most) */
                     int max_depth;  /* max surface hits per path, >= 1 (1 = direct light only) */
                     uint64_t seed;  /* e.g. the pair seed */
                     int threads;    /* render threads; 0 = the device's count */
                     enum rt_filter filter; /* 0 = box */
                     float noise_threshold; /* > 0: adaptive sampling (below); 0 = every pixel spp */
                     int min_spp;    /* adaptive: samples every pixel gets first (0 = RT_MIN_SPP) */
                     struct rt_crop crop; /* {0} = the whole image */ };
/* Adaptive sampling. Pixels are sampled in passes: every pixel gets min(min_spp, spp)
   samples, then each pass doubles the count of the pixels still active, up to spp. After a
   pass a pixel's error is the standard error of its mean, per channel, carried through the
   display curve (rt_tonemap at exposure 1, then sRGB, 0..1): (D(m + se) - D(m - se)) / 2 for
   mean m and se = sqrt(var / n), the largest of the three channels. A pixel stays active while
   the largest error over its 3x3 neighbourhood exceeds noise_threshold (the neighbourhood
   keeps a pixel whose few samples all missed a rare bright path from stopping alone).
   Sample k of a pixel is the same whatever the pass it falls in, so a pixel that stopped at
   n samples is (up to float rounding of the running mean) that pixel rendered with spp = n;
   film.spp says n for every pixel. */
#define RT_MIN_SPP 16
/* Counters of one render (deterministic except seconds). */
struct rt_stats {
    uint64_t camera_rays;  /* rtcIntersect1 calls for primary rays (= the sum of film.spp) */
    uint64_t bounce_rays;  /* rtcIntersect1 calls for indirect rays */
    uint64_t shadow_rays;  /* rtcOccluded1 calls */
    double seconds;        /* wall time of the tracing loop */
};
struct rt_film {
    int w, h;
    float *rgb;    /* (h, w, 3) linear radiance, row 0 = top of the image */
    float *alpha;  /* (h, w) fraction of samples whose camera ray first hit a subject mesh */
    float *depth;  /* (h, w) camera-space distance of the first hit (metres, mean over the
                      samples that hit something; 0 = all missed) */
    float *normal; /* (h, w, 3) first-hit shading normal, world space, facing the camera;
                      mean over samples (misses count as 0), not renormalised */
    float *albedo; /* (h, w, 3) first-hit albedo, mean over samples (misses and lights 0) */
    struct rt_stats stats;
    int32_t *object; /* (h, w) object id (rt_scene_add_mesh's return) of the first camera
                        sample's first hit; -1 for a miss or a light */
    int32_t *spp;    /* (h, w) samples taken in each pixel (settings.spp unless adaptive) */
};
/* Render; allocates out's buffers (one allocation, freed by rt_film_free). Opens its own
   OpenMP parallel region of settings.threads threads; called from inside another
   parallel region it runs on the calling thread alone (OpenMP nesting is off by
   default), with the same result. TRYON_EINVAL for a bad camera or settings (sizes <= 0
   or above 16384 or 2^26 pixels, spp < 1, max_depth < 1, threads < 0, a degenerate
   view, an unknown filter, a negative or non-finite noise threshold, min_spp < 0, a crop
   not inside the image), TRYON_ENOMEM. The scene must be committed (assert). */
enum tryon_status rt_render(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                            struct rt_film *out);
void rt_film_free(struct rt_film *f);
/* Ray throughput with no shading, the ceiling the renderer's rays/s are compared with in
   benchmarks. Three timed passes over the image, each an OpenMP loop of settings.threads
   threads: (1) spp camera rays per pixel (rtcIntersect1, jittered in the pixel); (2) from
   every camera hit, one cosine-distributed ray around the geometric normal
   (rtcIntersect1, as the renderer's bounce rays); (3) from every camera hit, one shadow
   ray (rtcOccluded1) to a uniform point of a light picked uniformly, or along the bounce
   direction to infinity when the scene has no light. Only ray set-up, the Embree call and
   the hit point are computed. TRYON_EINVAL as rt_render (and above 2^25 camera rays),
   TRYON_ENOMEM. */
struct rt_probe {
    uint64_t camera_rays, bounce_rays, shadow_rays;
    double camera_s, bounce_s, shadow_s; /* wall time of each pass */
};
enum tryon_status rt_trace_probe(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                                 struct rt_probe *out);
/* The tone curve: identity up to 0.6 (mid-greys kept), then a rational shoulder
   0.6 + 0.4 t / (t + 0.4), t = x - 0.6, tangent to it and approaching 1 (radiance 1 ->
   0.8, 10 -> 0.98: highlights roll off instead of clipping). Increasing; NaN and
   negatives give 0. */
float rt_tonemap(float x);
/* Its inverse on [0, 1): the radiance that rt_tonemap maps to y (y <= 0 gives 0; y >= 1,
   which no radiance reaches, gives the radiance of 1 - 2^-20). */
float rt_tonemap_inverse(float y);
/* ACES-like filmic curve: Narkowicz's fit of the ACES RRT+ODT,
   y = x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14) applied to 0.6 x (so 0.18 maps to
   about 0.14, a toe darkens the shadows a little and the shoulder reaches 1 near x = 18);
   clamped to [0, 1]; NaN and negatives give 0. */
float rt_tonemap_filmic(float x);
/* Tone map (exposure, rt_tonemap per channel) to 8-bit sRGB RGBA; alpha channel from film
   alpha. out is allocated (img8_free). */
enum tryon_status rt_film_to_rgba8(const struct rt_film *f, float exposure, struct img8 *out);
enum rt_tone { RT_TONE_SOFT_KNEE = 0, /* rt_tonemap */
               RT_TONE_FILMIC = 1     /* rt_tonemap_filmic */ };
/* As rt_film_to_rgba8 with the chosen curve (TRYON_EINVAL for an unknown one). */
enum tryon_status rt_film_to_rgba8_tone(const struct rt_film *f, float exposure, enum rt_tone tone,
                                        struct img8 *out);

#endif
