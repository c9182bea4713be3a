/* raytrace.h: the one public header of raytrace/, the Embree 3 path tracer.
 *
 * A scene holds triangle meshes with Lambertian materials (constant or textured albedo) and
 * one-sided rectangular area lights; rt_render path-traces it through a pinhole camera
 * into a film of linear radiance plus AOVs (alpha, depth, normal, albedo), and
 * rt_film_to_rgba8 tone-maps the film to 8-bit sRGB RGBA.
 *
 * Integrator (unbiased, no MIS in this version): at every surface hit one light is chosen
 * with probability proportional to its power (area x mean radiance), a point on it is
 * sampled (uniformly in the solid angle it subtends when the hit is closer to the light's
 * centre than the light's diagonal, uniformly by area farther away or when the solid
 * angle is under 1e-3 sr), and its contribution is added after an rtcOccluded1 shadow ray
 * (next-event estimation). The path continues by cosine-weighted sampling of the
 * Lambertian lobe. Emission is counted only where a CAMERA ray hits the front of a light;
 * a bounce ray that hits a light ends the path without adding it (NEE already counted
 * that light), and light surfaces have zero albedo, so every light path is counted
 * exactly once. Russian roulette after 3 bounces (on the 4th and later); max_depth caps
 * the number of surface hits. Environment (rays that leave the scene) is black.
 *
 * Determinism: one RNG per pixel seeded from hash(settings.seed, pixel index); each pixel
 * sums its samples in order; so the film is bit-identical for any thread count or tile
 * order.
 *
 * Units: metres, y up; radiance in linear RGB, arbitrary scale (exposure 1 maps 0.18 to
 * mid-grey). Ownership: every *_create result is freed by the matching *_free; the scene
 * copies everything it is given (mesh arrays and textures); rt_render allocates the film
 * and the caller frees it with rt_film_free. A device must outlive its scenes.
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
struct rt_material {
    float albedo[3];            /* linear RGB reflectance in [0,1] (Lambertian) */
    const struct imgf *texture; /* optional: linear RGB(A) albedo map sampled by the mesh uv
                                   (bilinear, clamped to the edge, v up: uv (0,0) is the
                                   image's bottom-left; alpha ignored); NULL = albedo. The
                                   scene copies the texture. */
};
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
/* The default studio around a subject whose bounds are bmin..bmax (metres, y up, feet at
   floor_y = bmin[1], subject facing +z): a matte cyclorama (floor curving up into a back
   wall behind the subject) in backdrop colour, and two rectangular softboxes (key front-left
   above, fill front-right) sized and placed from the bounds so the subject is evenly lit
   with no black or blown-out areas at exposure 1. The lights stay outside, and the
   cyclorama fills, the frame of rt_camera_frame for aspects 1:4 to 4:1 and margins up to
   0.1. */
struct rt_studio { float backdrop[3]; /* linear albedo, e.g. 0.6 grey; white for product shots */
                   float key, fill;   /* light intensities, 1 = default */ };
void rt_studio_default(struct rt_studio *st); /* backdrop 0.6 grey, key 1, fill 1 */
void rt_scene_add_studio(struct rt_scene *s, const float bmin[3], const float bmax[3], const struct rt_studio *st);
/* Build the BVH (high quality, robust). Must be called after the last add and before
   rt_render; calling it again after more adds rebuilds. TRYON_EINVAL for an empty scene,
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
struct rt_settings { int spp;        /* samples per pixel, >= 1, stratified when possible */
                     int max_depth;  /* max surface hits per path, >= 1 (1 = direct light only) */
                     uint64_t seed;  /* e.g. the pair seed */
                     int threads;    /* render threads; 0 = the device's count */ };
/* Counters of one render (deterministic except seconds). */
struct rt_stats {
    uint64_t camera_rays;  /* rtcIntersect1 calls for primary rays (= w*h*spp) */
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
};
/* Render; allocates out's buffers (one allocation, freed by rt_film_free). Opens its own
   OpenMP parallel region of settings.threads threads; called from inside another
   parallel region it runs on the calling thread alone (OpenMP nesting is off by
   default), with the same result. TRYON_EINVAL for a bad camera or settings (sizes <= 0
   or above 16384 or 2^26 pixels, spp < 1, max_depth < 1, threads < 0, a degenerate
   view), TRYON_ENOMEM. The scene must be committed (assert). */
enum tryon_status rt_render(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                            struct rt_film *out);
void rt_film_free(struct rt_film *f);
/* The tone curve: identity up to 0.6 (mid-greys kept), then a rational shoulder
   0.6 + 0.4 t / (t + 0.4), t = x - 0.6, tangent to it and approaching 1 (radiance 1 ->
   0.8, 10 -> 0.98: highlights roll off instead of clipping). Increasing; NaN and
   negatives give 0. */
float rt_tonemap(float x);
/* Tone map (exposure, rt_tonemap per channel) to 8-bit sRGB RGBA; alpha channel from film
   alpha. out is allocated (img8_free). */
enum tryon_status rt_film_to_rgba8(const struct rt_film *f, float exposure, struct img8 *out);

#endif
