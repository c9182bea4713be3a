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
   through the fit. Catalog and training photos both go through it (worker.c, nninput.c). */
#define WORKER_PHOTO_MAX_SIDE 1024
enum tryon_status worker_photo_reduce(struct img8 *im);
/* A photo's bytes decoded (errors name path; any format but PNG named as what it is),
   reduced (worker_photo_reduce) and segmented: im (RGBA) and mask (w*h, 255 = subject;
   both the caller's on success). The seconds decoding are added to t_load, segmenting set
   in t_segment. */
enum tryon_status worker_photo_decode(const uint8_t *data, size_t len, const char *path, const struct img_limits *lim,
                                      struct img8 *im, uint8_t **mask, double *t_load, double *t_segment);
/* A camera's and a codec's marks on a synthetic photo (worker/sensor.c): lens blur (Gaussian,
   sigma blur_px pixels), sensor noise (Gaussian, noise levels of 255, drawn from seed) and
   8x8 block artefacts (blocking: 0 none, 1 a low-quality JPEG's), on RGB only; all 0 leaves
   im as it is. */
enum tryon_status worker_sensor_degrade(struct img8 *im, float blur_px, float noise, float blocking, uint64_t seed);
/* worker_photo_decode, then whether the photo shows what its role (kind) needs: a person
   photo one whole figure with a head, a garment photo no person; TRYON_EINVAL with the
   reason (naming path) otherwise. The check's seconds are added to t_segment; im and mask
   are the caller's on success only. */
enum tryon_status worker_photo_read(enum worker_asset_kind kind, const uint8_t *data, size_t len, const char *path,
                                    const struct img_limits *lim, struct img8 *im, uint8_t **mask, double *t_load,
                                    double *t_segment);
const struct worker_settings *worker_settings(const struct worker *w);
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
   copied by the scene) in the studio built around bmin..bmax, through cam, with settings
   set (threads 0 = the worker's; worker_rt_settings gives the usual ones), into film
   (allocated). */
enum tryon_status worker_render_meshes(struct worker *w, const struct avatar_mesh *const *meshes,
                                       const struct rt_material *mats, int n, const struct rt_camera *cam,
                                       const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                       const struct rt_settings *set, struct rt_film *film);
/* The same scene rendered n_set times, with set[k] into films[k] (one scene build); on an
   error every film is freed. */
enum tryon_status worker_render_meshes_n(struct worker *w, const struct avatar_mesh *const *meshes,
                                         const struct rt_material *mats, int n, const struct rt_camera *cam,
                                         const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                         const struct rt_settings *set, int n_set, struct rt_film *films);
/* The worker's denoiser, NULL when it has none (off, or no usable model file). */
struct worker_denoiser *worker_denoiser_of(struct worker *w);
/* Render settings with the Blackman-Harris pixel filter, no adaptive sampling, no crop. */
struct rt_settings worker_rt_settings(int spp, int max_depth, uint64_t seed, int threads);

/* The fit AOV's texture (size x size, c = 3, linear albedo): per-vertex strain of mesh m
   (strain: (m->nv)) painted into m's uv atlas; blue = compressed 5%, green = at rest, red =
   stretched 5%. */
enum tryon_status worker_fit_texture(const struct avatar_mesh *m, const float *strain, int size, struct imgf *out);

/* Write an 8-bit image as PNG at OUT/<sub>/<person>/<name> (atomically; folders made);
   its SHA-256 and size when sha / bytes are not NULL. */
enum tryon_status worker_write_png(const char *out_dir, const char *sub, const char *person, const char *name,
                                   const struct img8 *im, char sha[65], size_t *bytes);

/* What a render of the pair shows, besides the view: the two meshes with their materials,
   the framing (the body's bounds, which place the studio, and the front camera) and the
   pair's seed. */
struct worker_look {
    const struct avatar_mesh *body, *garment;
    struct rt_material mats[2];
    float bmin[3], bmax[3];
    struct rt_camera cam;
    uint64_t seed;
};
/* Render the look (the worker's spp, noise threshold, depth, threads; the default studio;
   then the worker's denoiser when it has one) seen from view_deg
   around the body's vertical axis: the camera orbits with its studio, counter-clockwise
   seen from above (90 = the wearer's left side, 180 = the back); done by turning the body
   and garment by -view_deg about the vertical through x = z = 0 in front of the fixed
   camera and lights. view_deg 0 renders the meshes as they are (the main render). film is
   allocated (rt_film_free). t_denoise (NULL: not wanted): the seconds of it the denoiser
   took (0 without one). */
enum tryon_status worker_render_look(struct worker *w, const struct worker_look *l, float view_deg, struct rt_film *film,
                                     double *t_denoise);
/* OUT/views/<p>/<g>/<k>.png for k = 0..n-1 (view k at 360 k / n degrees; view 0 is `front`,
   the main render's image, written again: the same bytes) and with turntable
   OUT/views/<p>/<g>.webp (WORKER_TURN_MS per turn). turntable_rel receives that file's
   path relative to OUT ("" without a turntable). */
#define WORKER_TURN_MS 4000
enum tryon_status worker_views_write(struct worker *w, const struct worker_pair *p, const struct worker_look *l,
                                     const struct img8 *front, int n, bool turntable, char turntable_rel[256]);

/* A garment's drapes over its size chart (sizes.c). */
struct worker_sized {
    float body_cm[3];                          /* the wearer's chest, waist, hip girths */
    struct worker_size_plan plan;
    struct worker_size_choice choice;
    bool draped[WORKER_MAX_SIZES];             /* the drape of size i settled */
    struct avatar_draped drape[WORKER_MAX_SIZES]; /* zeroed for sizes not draped */
    char error[WORKER_MAX_SIZES][400];         /* why size i did not drape ("" = it did or was not tried) */
    char output[WORKER_MAX_SIZES][256];        /* renders/<p>/<g>@<size>.png once written, else "" */
    double seconds;                            /* the drapes' wall time together */
};
/* Drape the candidates of p's chart (every size when all) on the wearer (pe, its mesh body)
   and choose (worker_size_choose). A size whose drape fails keeps its message in z->error;
   only running out of memory fails the call. Release with worker_sized_free. */
enum tryon_status worker_sizes_drape(const struct avatar_model *m, const struct avatar_person_est *pe,
                                     const struct avatar_mesh *body, const struct avatar_garment_est *g,
                                     const struct worker_pair *p, bool all, struct kern_ctx *kctx,
                                     struct worker_sized *z);
void worker_sized_free(struct worker_sized *z);
/* The record's "size" object (a key and its value, into an open object): recommended,
   verdict, position, between (when between), note, body_cm, candidates, and per size its
   name, draped, error, verdict, fit per region (verdict; size_cm, body_cm and ease_cm for
   a listed girth, size_cm and worn_cm for a listed length; drape, strain, gap_cm where the
   drape judged it) and output. */
void worker_json_sizes(struct json_w *r, const struct worker_pair *p, const struct worker_sized *z);

#endif
