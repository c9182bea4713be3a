/* internal.h: what worker.c shares with synth.c inside worker/ (not a public header):
 * the model and the one scene-building render path both use. */
#ifndef TRYON_WORKER_INTERNAL_H
#define TRYON_WORKER_INTERNAL_H

#include "worker/worker.h"

#include "avatar/avatar.h"
#include "raytrace/raytrace.h"

struct avatar_model *worker_model(struct worker *w);
/* Render meshes (each with a constant albedo, all subjects) in the studio built around
   bmin..bmax, through cam, into film (allocated). */
enum tryon_status worker_render_meshes(struct worker *w, const struct avatar_mesh *const *meshes,
                                       const float (*albedo)[3], int n, const struct rt_camera *cam,
                                       const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                       int spp, int max_depth, uint64_t seed, int threads, struct rt_film *film);

#endif
