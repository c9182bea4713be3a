/* internal.h: what worker.c shares with synth.c inside worker/ (not a public header):
 * the model and the one scene-building render path both use. */
#ifndef TRYON_WORKER_INTERNAL_H
#define TRYON_WORKER_INTERNAL_H

#include "worker/worker.h"

#include "avatar/avatar.h"
#include "raytrace/raytrace.h"

struct avatar_model *worker_model(struct worker *w);
/* Photos are worked on at most WORKER_PHOTO_MAX_SIDE pixels on their long side: a larger
   decoded photo is shrunk in place by the smallest integer factor that fits (img8_reduce)
   before segmentation, so a 6000x4000 photo costs its decoded 96 MB, not a gigabyte
   through the fit. Catalog
   and training photos both go through it (worker.c, nninput.c). */
#define WORKER_PHOTO_MAX_SIDE 1024
enum tryon_status worker_photo_reduce(struct img8 *im);
/* Which part of the body a garment type covers: dress full; skirt, trousers, shorts
   bottom; t-shirt, long-sleeve top. */
enum worker_cover { WORKER_COVER_TOP, WORKER_COVER_BOTTOM, WORKER_COVER_FULL };
enum worker_cover worker_type_cover(enum avatar_garment_type t);
/* "measurements_cm": {height, chest, waist, hip, inseam, shoulder} into an open object. */
void worker_json_measurements(struct json_w *r, const struct avatar_measurements *m);
/* "pose": {arm_down_deg, leg_spread_deg, torso_turn_deg} into an open object (the pair
   record's estimate and the synthetic photo's truth share the layout). */
void worker_json_pose(struct json_w *r, const struct avatar_body_params *b);
/* Render meshes (mats[i] for meshes[i], all subjects; materials and their textures are
   copied by the scene) in the studio built around bmin..bmax, through cam, into film
   (allocated), Blackman-Harris pixel filter. threads 0 = the worker's. */
enum tryon_status worker_render_meshes(struct worker *w, const struct avatar_mesh *const *meshes,
                                       const struct rt_material *mats, int n, const struct rt_camera *cam,
                                       const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                       int spp, int max_depth, uint64_t seed, int threads, struct rt_film *film);

/* The fit AOV's texture (size x size, c = 3, linear albedo): per-vertex strain of mesh m
   (strain: (m->nv)) painted into m's uv atlas; blue = compressed 5%, green = at rest, red =
   stretched 5%. */
enum tryon_status worker_fit_texture(const struct avatar_mesh *m, const float *strain, int size, struct imgf *out);

#endif
