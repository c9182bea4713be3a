/* worker.h: the per-pair pipeline of DESIGN.md section 1, and the synthetic photos that
 * `tryon synth` makes for the demo catalog and tests.
 *
 * One struct worker per rank: it owns the body model data, the Embree device, the
 * estimates it holds (pairs arrive person-major, so a person's estimate is reused for all
 * its garments; worker_prepare_chunk) and the asset cache folder shared with other ranks
 * and jobs (worker/cache.c). worker_run_pair never fails because
 * of one pair's input: the failure is written into the pair's record and the worker goes
 * on. Everything random in a pair is seeded by its worker_pair.seed (hash_pair_seed(job
 * seed, person, garment), computed once by the caller), so the output bytes depend on
 * nothing else (not the rank, chunk or resume).
 *
 * A failed pair's record carries "fault": "input" (a photo cannot be used: not a PNG, over
 * the limits, no figure the segmentation or estimator reads), "pair" (its drape does not
 * settle: the same anywhere), or what failed that might not fail elsewhere: "io" (reading a
 * photo), "estimate", "drape", "render", "output" (writing the files). The master retries
 * only the latter kind (scheduler.h, "master"). */
#ifndef TRYON_WORKER_H
#define TRYON_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "avatar/avatar.h"
#include "common/common.h"
#include "raytrace/raytrace.h"

/* Render settings resolved from the preset, the catalog and the command line. */
struct worker_settings {
    const char *out_dir;     /* OUT: renders/, aovs/, meshes/ go under it */
    const char *preset;      /* preview | catalog | hero */
    int width, height;       /* output pixels */
    int spp;                 /* samples per pixel (adaptive: at most) */
    float noise_threshold;   /* > 0: adaptive sampling to this display-space error (rt_settings) */
    bool denoise;            /* run the learned denoiser on every render (worker/denoise.c) */
    struct rt_crop crop;     /* w > 0: render only this window of the image (same pixels as the whole) */
    bool write_film;         /* OUT/film/<p>/<g>.{radiance,albedo,normal,spp}.pfm (worker.c) */
    int max_depth;           /* path length cap */
    uint64_t job_seed;
    int threads;             /* OpenMP threads for rendering (0 = all) */
    bool write_aovs;         /* OUT/aovs/<p>/<g>.<aov>.png */
    bool write_meshes;       /* OUT/meshes/<p>/<g>.obj */
    struct img_limits limits;/* input image limits */
    const char *models_dir;  /* trained estimators (body_encoder / garment_encoder .safetensors);
                                NULL or "" = the classical estimators only */
    int views;               /* > 0: also OUT/views/<p>/<g>/<k>.png, k = 0..views-1 (worker/views.c) */
    bool turntable;          /* with views: also OUT/views/<p>/<g>.webp, the views animated */
    bool all_sizes;          /* a garment with a size chart: drape every size and write
                                OUT/renders/<p>/<g>@<size>.png for each (worker/sizes.c) */
    const char *cache_dir;   /* the asset cache (worker/cache.c) the estimates are kept in and
                                read from; NULL or "" = none (every photo estimated) */
};

/* Fill width/height/spp/max_depth/noise_threshold/denoise from a preset name; TRYON_EINVAL
 * for an unknown one. preview: 256x384, 16 spp, depth 4, no denoiser. catalog: 1024x1536,
 * depth 8, adaptive up to WORKER_CATALOG_SPP samples to WORKER_CATALOG_NOISE, denoised.
 * hero: 2048x3072, depth 12, adaptive up to 4x the catalog's samples to half its threshold,
 * denoised. The catalog figures were chosen with bench/catalog_cost (bench/RESULTS.md). */
#define WORKER_CATALOG_SPP 64
#define WORKER_CATALOG_NOISE 0.04f
enum tryon_status worker_preset(const char *name, struct worker_settings *s);
/* The preset's settings when the denoiser cannot run: its raw sample count (catalog 256,
 * hero 1024), no adaptive sampling, no denoiser. */
void worker_preset_without_denoiser(struct worker_settings *s);
/* Whether models_dir holds the denoiser's weight file; if not, why (for the log). */
bool worker_denoiser_present(const char *models_dir, char *why, size_t n);

/* One row of a garment's size chart: the body girths it is cut for and its length, cm, in
   the order of enum avatar_fit_region (chest, waist, hips, length); 0 = not listed. */
#define WORKER_MAX_SIZES 16
struct worker_size { const char *name; float cm[AVATAR_FIT_NREGIONS]; };

/* One pair to render: ids (validated) and the catalog's inputs. */
struct worker_pair {
    const char *person_id, *person_image;   /* image: a path the process can open */
    float height_hint_cm;                   /* 0 = none */
    const char *garment_id, *garment_image;
    const char *garment_type;               /* "" = estimate */
    float garment_size_cm[AVATAR_FIT_NREGIONS]; /* chest, waist, hip girths it is cut for and its
                                               length; 0 = the wearer's (ignored with sizes) */
    int n_sizes;                            /* 0 = no size chart */
    struct worker_size sizes[WORKER_MAX_SIZES];  /* the chart, smallest first (names validated as
                                               ids, every girth growing from row to row) */
    uint64_t seed;                          /* hash_pair_seed(job seed, person, garment): every
                                               random number of the pair comes from it */
};

struct worker;
/* Load the body model from `asset_dir` and create the renderer. The settings (and the
 * strings they point to) must outlive the worker. */
enum tryon_status worker_create(const struct worker_settings *s, const char *asset_dir, struct worker **out);
void worker_free(struct worker *w);
/* One line saying which estimators the worker uses: "body network <model>, garment
   classical (<why>)". */
void worker_estimators(const struct worker *w, char *buf, size_t n);

/* Estimate, ahead of their renders, the persons and garments of the leading pairs of
 * pairs[0..n) (a chunk, person-major): the persons and garments the worker does not hold
 * are looked up in the asset cache, and those not there are estimated together: the body
 * encoder runs once over their person photos as one batch (WORKER_NET_BATCH at a time),
 * the garment encoder and back generator once over the garment photos, then each fit. The
 * estimates are what worker_run_pair would make for each pair alone, bit for bit. Memory
 * stays bounded: it covers the longest prefix of the chunk with at most WORKER_NET_BATCH
 * persons and WORKER_NET_BATCH garments not yet held, and the worker then holds only those
 * persons (every garment it has estimated stays held). Returns how many leading pairs are
 * covered (1..n; 0 for n = 0): render them (worker_run_pair), then call again with the
 * rest. A photo that fails is kept as that pair's failure, as worker_run_pair says it. */
int worker_prepare_chunk(struct worker *w, const struct worker_pair *pairs, int n);

/* The estimates a render would make of the photos of pairs[0..n) (through
   worker_prepare_chunk: the same checks, networks and cache), rendering nothing: for each
   pair, report() gets its person and its garment if their estimate failed, with the message
   the pair's record would carry ("person <id>: <path>: ..."); a photo in several pairs is
   reported at each. */
void worker_check_estimates(struct worker *w, const struct worker_pair *pairs, int n,
                            void (*report)(void *ctx, bool garment, const char *id, const char *error), void *ctx);

/* Render one pair into OUT/renders/<person>/<garment>.png (written under a temporary name
 * and renamed) and write its journal record into `record` (reset first): one JSON object
 * with person, garment, status ("ok"|"failed"), fault, error, output, sha256, bytes, rank,
 * inputs (person_sha256, garment_sha256: of the photo files' bytes), cache (person,
 * garment: where the estimate came from, worker_cache_result_name: "hit", "miss",
 * "invalid" (an entry that did not verify, recomputed) or "off"), seconds per stage (an
 * estimate's stages are charged to the first pair that used it, and counted in its total,
 * wherever they ran: a cache hit's are the photo's read and the lookup), body and garment estimates, the drape and
 * its fit; with a size chart "size" (worker_json_sizes: the recommended size, which the
 * render shows); with views "views" {"count", "folder", "turntable" (path or null)}.
 * Estimates the pair's person and garment first when the worker does not hold them
 * (worker_prepare_chunk on this pair alone). Returns TRYON_OK whenever a record was
 * produced, the pair's own failure included. */
enum tryon_status worker_run_pair(struct worker *w, const struct worker_pair *p, int rank, struct json_w *record);

/* What the asset cache did for this worker so far (worker/cache.c's counters). */
struct worker_cache_stats {
    long long hits, misses;   /* estimates read from the cache / not found there */
    long long invalid;        /* entries that did not verify (recomputed and rewritten) */
    long long writes;         /* entries written */
    long long write_errors;   /* entries that could not be written (said once) */
};
void worker_cache_counts(const struct worker *w, struct worker_cache_stats *out);

/* ---- the asset cache (worker/cache.c) ----
 * DESIGN.md section 2, "Assets": each estimated person and garment is kept as one file in a
 * folder shared by jobs and ranks, named by a key = SHA-256 over everything the estimate
 * depends on (worker_asset_key): the photo's bytes, the estimators' identity (each network
 * file's SHA-256, or "classical"; the body model data's digest), the settings that enter
 * the estimate (height hint, type hint, texture size, photo limits) and
 * WORKER_ASSET_VERSION. A job that meets the same photo with the same estimators and
 * settings reads the estimate instead of making it; the render is the same bytes either
 * way (floats are stored exactly, the body mesh is rebuilt by avatar_body_build).
 *
 * Folder layout: DIR/<key[0:2]>/<key>.person | .garment. An entry file is a header and a
 * payload, little-endian:
 *   0  magic "TRYONAST" (8 bytes)     8  u32 WORKER_ASSET_FORMAT     12 u32 kind (1 person, 2 garment)
 *   16 key (32 bytes)                 48 u64 payload bytes           56 payload SHA-256 (32 bytes)
 *   88 payload (cache.c: the estimate's fields in order, floats as their IEEE-754 bits)
 * A reader checks every header field against what it asked for, the length and the
 * payload's SHA-256, and parses the payload to its exact end: any mismatch (truncated,
 * flipped byte, another format, another key, a link in the entry's place) reads as
 * INVALID and the caller recomputes and rewrites the entry. Writes go to a temporary name
 * unique to host, process and call in the entry's folder, then rename: concurrent jobs and
 * ranks see a whole entry or none, and an entry or shard folder that is a symbolic link
 * is never followed (the folder DIR itself may be reached through links the user made).
 * Only estimates that succeeded are stored: a refused photo (fault "input") is examined
 * again by each job, so its message names that job's catalog. */
/* The outline of the estimated garment against the product photo's (avatar_garment_shape_iou):
 * 0.84-0.97 on the 24 garments of configs/synth/calib.yaml and the demo's 6; a shoe, a hat
 * or a wrong type hint (a t-shirt read as trousers: 0.45, as a skirt: 0.63) fall below
 * 0.7, and the worker refuses such a garment photo. Shapes a skirt's plain trapezoid takes
 * in (a bag, a towel) still pass, and so does a skirt given any wrong type (as trousers
 * 0.76, as a t-shirt 0.73). */
#define WORKER_GARMENT_MIN_SHAPE_IOU 0.7f
#define WORKER_ASSET_VERSION 4   /* bump when an estimator's code or the payload changes */
#define WORKER_ASSET_FORMAT 1    /* the entry file's header layout */
enum worker_asset_kind { WORKER_ASSET_PERSON = 1, WORKER_ASSET_GARMENT = 2 };
/* A person's estimate as the render needs it (the body mesh is avatar_body_build(est.body)). */
struct worker_person_asset {
    struct avatar_person_est est;
    float skin[3];           /* linear RGB albedo sampled from the photo */
    bool net;                /* the body network gave the fit its prior */
};
/* A garment's estimate: its parameters and UV atlas texture. */
struct worker_garment_asset {
    struct avatar_garment_est est;
    struct imgf tex;         /* UV atlas texture (c = 3, linear); w = 0: none (plain colour) */
    char tex_error[200];     /* why there is no texture ("" otherwise) */
    bool net;                /* the garment network named the type */
    bool back_net;           /* the back generator completed the back's print */
};
/* What the key is made of. */
struct worker_asset_id {
    enum worker_asset_kind kind;
    char photo_sha256[65];   /* of the photo file's bytes (hex) */
    const char *estimators;  /* the estimators' identity (worker.c: "body <sha|classical> avatar <digest>") */
    float height_hint_cm;    /* person: the catalog's height (0 = none) */
    const char *type_hint;   /* garment: the catalog's type ("" = estimated) */
    int texture_size;        /* garment: the UV atlas side */
    struct img_limits limits;/* a photo over them is refused, so they enter the key */
};
/* The key: SHA-256 over WORKER_ASSET_VERSION and every field of id, each length-prefixed,
   as 64 hex characters. */
void worker_asset_key(const struct worker_asset_id *id, char key[65]);

enum worker_cache_result { WORKER_CACHE_OFF, WORKER_CACHE_MISS, WORKER_CACHE_HIT, WORKER_CACHE_INVALID };
const char *worker_cache_result_name(enum worker_cache_result r); /* "off", "miss", "hit", "invalid" */
struct worker_cache;
/* Open (mkdir -p) the cache folder dir; below an fs_confine root every folder is entered
   without following links. TRYON_EIO naming dir when it cannot be made or opened. */
enum tryon_status worker_cache_open(const char *dir, struct worker_cache **out);
void worker_cache_free(struct worker_cache *c);   /* NULL is fine */
/* Read the entry of key into *a: HIT with *a filled (a garment's tex allocated: the caller
   frees it), MISS when there is none, INVALID when one is there but does not verify, with
   the reason as the thread's message (tryon_errmsg) and *a zeroed. */
enum worker_cache_result worker_cache_get_person(struct worker_cache *c, const char key[65],
                                                 struct worker_person_asset *a);
enum worker_cache_result worker_cache_get_garment(struct worker_cache *c, const char key[65],
                                                  struct worker_garment_asset *a);
/* Write the entry of key (replacing any). TRYON_EIO naming the file when it cannot. */
enum tryon_status worker_cache_put_person(struct worker_cache *c, const char key[65], const struct worker_person_asset *a);
enum tryon_status worker_cache_put_garment(struct worker_cache *c, const char key[65],
                                           const struct worker_garment_asset *a);
/* DIR/<key[0:2]>/<key>.<kind> into path (cap bytes), for messages and tests. */
void worker_cache_entry_path(const struct worker_cache *c, enum worker_asset_kind kind, const char key[65],
                             char *path, size_t cap);

/* ---- size charts (worker/sizes.c) ----
 * Which size of a chart to recommend to a wearer with girths body_cm (chest, waist, hip, cm;
 * the body estimate's measurements). The rule, in two steps around the drapes:
 *  1. worker_size_plan places the wearer in the chart by the girths it lists (length plays
 *     no part): the nearest larger size U is the smallest whose every listed girth is at
 *     least the wearer's; the nearest smaller is the one before it. Those one or two are the
 *     candidates the worker drapes. Position: ABOVE when no size is that large (the largest
 *     is the candidate); BELOW when U is the smallest and every listed girth exceeds the
 *     wearer's by more than half a size step (the step to the next size; WORKER_SIZE_STEP_CM
 *     for a one-size chart); ON when U's girths are within WORKER_SIZE_MATCH_CM of the
 *     wearer's (or U is the smallest, not BELOW); BETWEEN the two candidates otherwise.
 *  2. worker_size_choose judges each draped size per region, the chart and the cloth
 *     together: tight when the drape finds it tight or the wearer's girth exceeds the
 *     size's by more than half a size step (by anything ABOVE the chart); loose when the
 *     drape finds it loose or the size's girth exceeds the wearer's by more than half a
 *     size step; good otherwise: within half a step the cloth decides. A listed girth the
 *     drape does not judge (a chest on trousers) takes the chart's verdict alone (tight
 *     when the wearer's girth exceeds it at all). So a wearer nearer the larger candidate
 *     never gets the smaller, whatever its drape says. The recommended
 *     size is the smallest candidate that draped and is tight nowhere, else the largest
 *     candidate that draped. Its overall verdict: tight ABOVE the chart, loose BELOW it,
 *     otherwise tight if any region is, else loose if any is, else good. */
#define WORKER_SIZE_STEP_CM 8.0f   /* a one-size chart's size step, cm */
#define WORKER_SIZE_MATCH_CM 1.0f  /* a size whose girths are this close to the wearer's is "on" */
enum worker_size_position { WORKER_SIZE_ON, WORKER_SIZE_BETWEEN, WORKER_SIZE_BELOW, WORKER_SIZE_ABOVE };
const char *worker_size_position_name(enum worker_size_position p); /* "on", "between", "below", "above" */
struct worker_size_plan {
    enum worker_size_position position;
    int lo, hi;                     /* candidates: sizes lo..hi (hi == lo or lo + 1) */
};
void worker_size_plan(const struct worker_size *sizes, int n, const float body_cm[3], struct worker_size_plan *out);
struct worker_size_choice {
    int recommended;                /* index into the chart; -1 when no candidate draped */
    enum avatar_fit_verdict verdict;/* the recommended size's overall verdict */
    /* per size and region (avatar_fit_region): the combined verdict; NONE for a size not draped
       or a region neither the chart nor the drape judges */
    enum avatar_fit_verdict region[WORKER_MAX_SIZES][AVATAR_FIT_NREGIONS];
};
/* drape[i]: the drape's verdicts of size i (read only where draped[i]: it settled). */
void worker_size_choose(const struct worker_size *sizes, int n, const float body_cm[3],
                        const struct worker_size_plan *plan, const enum avatar_fit_verdict (*drape)[AVATAR_FIT_NREGIONS],
                        const bool *draped, struct worker_size_choice *out);

/* ---- the turntable (worker/views.c) ----
 * An animated WebP (libwebp's animation encoder) that loops forever, built frame by frame:
 * RGBA frames (c = 4) of the begin's size, each shown frame_ms milliseconds, lossy at a fixed
 * quality (WORKER_WEBP_QUALITY, alpha lossless), single-threaded, so the same frames give
 * the same bytes. begin: TRYON_EUNSUPPORTED naming the package when the build has no
 * libwebp. end hands the file's bytes to the caller (*data, malloc'd) and frees the
 * encoder, as free does without output (NULL is fine). */
#define WORKER_WEBP_QUALITY 85
struct worker_webp;
enum tryon_status worker_webp_begin(int width, int height, int frame_ms, struct worker_webp **out);
enum tryon_status worker_webp_add(struct worker_webp *a, const struct img8 *frame);
enum tryon_status worker_webp_end(struct worker_webp *a, uint8_t **data, size_t *len);
void worker_webp_free(struct worker_webp *a);
/* Whether this build can write turntables (libwebp was found at configure time). */
bool worker_has_webp(void);

/* ---- the learned denoiser (worker/denoise.c) ----
 * WORKER_DENOISE_CHANNELS planes of network input from a film (the noisy radiance through
 * the display curve, the albedo, the normal, log2 of the sample count; each in [0, 1]; see
 * denoise.c), for the window x0..x0+w, y0..y0+h, which may reach past the film (its edge
 * pixels repeat): out (10, h, w). The training data (tryon synth's denoise shards) and
 * inference both go through it. */
#define WORKER_DENOISE_CHANNELS 10
#define WORKER_DENOISE_FILE "denoiser.safetensors"   /* in the models folder */
void worker_denoise_features(const struct rt_film *f, int x0, int y0, int w, int h, float *out);
struct worker_denoiser;
/* Load a trained denoiser (a unet weight file with its model_yaml); ctx is borrowed.
   TRYON_EIO / TRYON_EFORMAT naming the file. */
enum tryon_status worker_denoiser_load(const char *path, struct kern_ctx *ctx, struct worker_denoiser **out);
void worker_denoiser_free(struct worker_denoiser *d);
const char *worker_denoiser_name(const struct worker_denoiser *d);
/* Replace the film's radiance by the denoised image (alpha and the AOVs stay). */
enum tryon_status worker_denoise_film(struct worker_denoiser *d, struct rt_film *f);

/* ---- reading a catalog photo (worker/photo.c) ----
 * The file at path read, decoded, segmented and checked as the render reads it for its role
 * (kind): TRYON_OK, or the same error the pair would fail with (`tryon check`). */
enum tryon_status worker_photo_load(enum worker_asset_kind kind, const char *path, const struct img_limits *lim);

/* ---- the networks' input (worker/nninput.c) ----
 * A photo as the networks see it: rgba (c = 4) and its segmentation mask (w*h, nonzero =
 * subject) letterboxed into out = 4 planar channels of size x size bytes (R, G, B, mask),
 * scaled by size / max(w, h) with img8_resize's area filter, centred, border 0. Training
 * data (`tryon synth` shards) and inference both go through it. */
enum tryon_status worker_nn_input(const struct img8 *rgba, const uint8_t *mask, int size, uint8_t *out);
/* A person photo (rgba c = 4, mask) re-framed as the studio camera (avatar_photo_camera)
   frames a figure of its stature: hint_cm (> 0) or, without one, the stature the studio
   camera reads from the silhouette (avatar_studio_stature). *view (c = 4, aspect
   WORKER_STUDIO_ASPECT) is a crop of the photo, edge pixels repeated outside it, whose
   height puts the figure's top and bottom rows on the studio rows (avatar_studio_rows) and
   whose middle column is the mean column of the figure's lowest quarter; *view_mask (the
   caller frees it) the mask's crop, 0 outside the photo. A photo without a figure the
   studio camera could frame, and one whose frame is already the studio's within
   WORKER_STUDIO_SNAP of its height on every side (a studio photo: the toes' distance
   varies with the body), come back as they are. The body network reads a person photo
   through it, so a figure nearer, farther or higher in its frame than the studio's is seen
   at the size and place the network learned. */
#define WORKER_STUDIO_ASPECT (2.0f / 3.0f)   /* width / height of the studio's person photos */
#define WORKER_STUDIO_SNAP 0.02f
enum tryon_status worker_nn_person_view(const struct img8 *rgba, const uint8_t *mask, float hint_cm,
                                       struct img8 *view, uint8_t **view_mask);
/* worker_nn_input of a person photo's view (worker_nn_person_view): what the body network
   reads. */
enum tryon_status worker_nn_person_input(const struct img8 *rgba, const uint8_t *mask, float hint_cm, int size,
                                         uint8_t *out);
/* From PNG bytes: decode, segment (avatar_segment, as a catalog photo is), for a person
   photo (person_hint_cm >= 0; > 0 is its height hint) the view above, letterbox. Errors name
   `name`. */
enum tryon_status worker_nn_photo_input(const uint8_t *png, size_t len, const char *name,
                                        const struct img_limits *lim, float person_hint_cm, int size,
                                        uint8_t *out);

/* ---- the learned estimators (worker/nnest.c) ----
 * The body and garment encoders of a model folder (models/), as the worker uses them and
 * bench/avatar_eval measures them. worker_nets_load never fails on a missing or unusable
 * file: that network is left out (classical fallback) and worker_nets_name says why. One
 * worker_nets serves one thread at a time (the models keep their activations); ctx is
 * borrowed and must outlive it. */
struct kern_ctx;
struct worker_nets;
enum tryon_status worker_nets_load(const char *dir, struct kern_ctx *ctx, struct worker_nets **out);
void worker_nets_free(struct worker_nets *n);
/* The loaded network's model name, or NULL with *why (may be NULL) set to the reason. */
enum worker_net_id { WORKER_NET_BODY, WORKER_NET_GARMENT, WORKER_NET_BACK };
const char *worker_nets_name(const struct worker_nets *n, enum worker_net_id id, const char **why);
/* What the body network reads from a photo beside the prior (for the record and the bench). */
struct worker_net_body {
    float stature_cm;
    float meas_cm[6];   /* height, chest, waist, hip, inseam, shoulder */
};
/* Person photo (rgba c = 4 and its mask; hint_cm > 0 its height hint) -> the fit's prior
   (and the raw predictions). The network reads the photo's studio view
   (worker_nn_person_view). */
enum tryon_status worker_nets_person(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                     float hint_cm, struct avatar_person_prior *prior, struct worker_net_body *pred);
struct worker_net_garment {
    enum avatar_garment_type type;
    float confidence;          /* softmax probability of the type */
    float length, sleeve;      /* NAN when the head lacks them */
    float lm[AVATAR_LM_N][2];  /* photo pixels; NAN where absent */
    struct imgf back;          /* the back generator's completion of the back's print (linear RGB,
                                  row 0 = top; w = 0 without a generator); the caller frees it */
    float back_side_m;         /* metres of the back its side spans */
    bool printed;              /* the network reads a print that covers the garment (stripes,
                                  checks, dots): the back carries it. False for a plain garment
                                  or a logo (on the front only): its back is plain */
};
enum tryon_status worker_nets_garment(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                      struct worker_net_garment *pred);
/* n photos at once (n >= 0): ims[i] (rgba c = 4) with masks[i] (and for persons hints_cm[i],
   0 = none; hints_cm NULL = none at all); the encoder runs in
   forwards of up to WORKER_NET_BATCH photos (the back generator likewise on their
   features). st[i] is photo i's status and priors[i] / preds[i] (preds may be NULL) what
   worker_nets_person / worker_nets_garment give for it alone, bit for bit: on the CPU
   backend (the worker's) every kernel computes one sample's outputs with the same
   arithmetic whatever the batch (tests/worker/test_worker_nets.c checks it). */
#define WORKER_NET_BATCH 8
void worker_nets_person_batch(struct worker_nets *nets, int n, const struct img8 *const *ims,
                              const uint8_t *const *masks, const float *hints_cm, struct avatar_person_prior *priors,
                              struct worker_net_body *preds, enum tryon_status *st);
void worker_nets_garment_batch(struct worker_nets *nets, int n, const struct img8 *const *ims,
                               const uint8_t *const *masks, struct worker_net_garment *preds, enum tryon_status *st);
/* The SHA-256 (hex) of the weight file the network was loaded from, or NULL when it is
   absent (the estimators' identity in the asset cache's keys). */
const char *worker_nets_sha256(const struct worker_nets *n, enum worker_net_id id);
/* Put the network's length and landmarks into a classical estimate made for the same photo
   with the network's type (landmarks only where the estimate has them; the sleeve stays). */
void worker_nets_garment_apply(const struct worker_net_garment *pred, struct avatar_garment_est *est);

/* ---- synthetic photos (`tryon synth`, bench/avatar_eval, tests) ----
 * A synth config (a YAML file in configs/synth/, format in its README.md) describes a set
 * of person photos and garment product photos drawn at random within parameter ranges.
 * Image i (persons first: 0 .. n_persons-1, then garments) is drawn from an RNG seeded by
 * (config seed, i) alone and path-traced with a seed derived the same way, so its bytes
 * depend only on the config and i: not on which rank renders it, the thread count or a
 * resume. Each image comes with one JSON object of the true parameters it was made from. */

/* Procedural prints painted into a garment's UV texture. */
enum worker_print { WORKER_PRINT_NONE, WORKER_PRINT_STRIPES, WORKER_PRINT_CHECKS, WORKER_PRINT_DOTS,
                    WORKER_PRINT_LOGO, WORKER_PRINT_N };
const char *worker_print_name(enum worker_print p);   /* "none", "stripes", "checks", "dots", "logo" */

/* One garment of a synthetic photo: the template's parameters (the truth an estimator
 * should recover) and its print. */
struct worker_synth_garment {
    struct avatar_garment_est est;   /* type, colour (linear RGB), size parameters */
    enum worker_print print;
    float print_color[3];            /* linear RGB */
    float print_scale_m;             /* period of stripes/checks/dots, half the logo's side; metres */
    bool type_hint;                  /* a product photo whose type the written catalog names */
    float blur_px, noise, blocking;  /* its product photo's sensor marks (worker_sensor_degrade; 0 = clean;
                                        a worn garment's are unused) */
    enum avatar_garment_style style; /* how its product photo shows it (a worn garment's is unused) */
    struct avatar_style_shape shape; /* the product photo's arm and leg angles and depth scale, drawn
                                        around the style's (avatar_garment_style_shape) */
};

/* One person photo: body, look, camera and studio. */
struct worker_synth_person {
    struct avatar_body_params body;  /* phenotype, stature, pose */
    float skin[3];                   /* linear RGB skin albedo */
    float cam_distance_m;            /* eye distance along +z; the standard photo camera's is 5 m (at least
                                        what frames the whole figure: the drawn one raised if need be) */
    float cam_height_m;              /* eye height; the standard camera's 0.95 m */
    float cam_tilt_deg;              /* pitch, positive looking up; the standard camera's 0 (level); the
                                        drawn one brought toward the figure if it would cut it */
    float cam_vfov_deg;              /* vertical field of view; the standard camera's 27 degrees */
    float blur_px, noise, blocking;  /* the photo's lens blur, sensor noise and codec blocks
                                        (worker_sensor_degrade); 0 = a clean render */
    float key, fill;                 /* studio light intensities (1 = default) */
    float backdrop[3];               /* linear albedo of the cyclorama */
    bool with_alpha;                 /* RGBA photo with the subject's alpha, else opaque RGB */
    bool height_hint;                /* the written catalog gives this person's height_cm */
    int n_wear;                      /* garments worn, 0..2; the last one is outermost */
    struct worker_synth_garment wear[2];
};

/* A parsed synth config (plain struct; worker_synth_config_free releases its strings). */
struct worker_synth_range { float lo, hi; };
struct worker_synth_config {
    char *path;                      /* as given, for messages */
    uint64_t seed;
    int width, height, spp;
    bool hold_out;                   /* this seed is a held-out evaluation set (never train on it) */
    bool write_catalog;              /* write OUT/catalog.yaml pairing every person with every garment */
    char catalog_preset[16];         /* render preset named in that catalog */
    int shard_size;                  /* > 0: write network-input shard files of this many images
                                        (training data) instead of PNGs; see farm/shards.c */
    int input_size;                  /* side of the letterboxed network input (shards.input, 96) */
    /* denoiser training data (key `denoise`, with shards): each person is a scene framed like a
       try-on render; crop == 0: not this mode (worker_synth_denoise) */
    struct worker_synth_denoise {
        int crop, crops;             /* crop side (px, a multiple of 8) and crops per scene */
        int n_spp, spp[8];           /* the inputs' fixed sample counts */
        bool adaptive;               /* and one adaptive input per crop */
        int reference_spp;           /* the target's */
        int width, height;           /* the framing's image size */
    } denoise;
    int n_persons, n_garments;
    char **person_ids, **garment_ids;/* optional names (NULL = p0000.., g0000..) */
    /* persons */
    float alpha_fraction, hint_fraction, clothed_fraction;   /* of the persons, spread evenly by index */
    float type_hint_fraction;                                /* of the garments, likewise */
    bool ethnic_mix;                 /* draw the three ethnic weights uniformly on the simplex
                                        (false: MakeHuman's default of one third each) */
    struct worker_synth_range gender, age, muscle, weight, proportions, stature_cm, arm_down_deg, leg_spread_deg,
        torso_turn_deg, cam_distance_m, cam_height_m, cam_tilt_deg, cam_vfov_deg, key, fill, backdrop, skin,
        blur_px, noise, blocking;
    /* garments */
    int n_types;
    enum avatar_garment_type types[16];       /* cycled by garment index */
    int n_prints;
    enum worker_print prints[16];             /* cycled by garment index */
    int n_styles;
    enum avatar_garment_style styles[8];      /* product photo styles, cycled by garment index / n_types
                                                 (every type meets every style); default ghost alone */
    int n_colors;
    float colors[16][3];                      /* sRGB, cycled; none = random colours */
    struct worker_synth_range length, sleeve;  /* lo < 0: the type's own range (synth_config.c) */
    struct worker_synth_range print_scale_m;
    struct worker_synth_range g_blur_px, g_noise, g_blocking;   /* the product photos' sensor marks */
};
/* Parse and validate a config; errors name path:line. cfg is zeroed first. */
enum tryon_status worker_synth_config_load(const char *path, struct worker_synth_config *cfg);
void worker_synth_config_free(struct worker_synth_config *cfg);
/* n_persons + n_garments. */
int worker_synth_count(const struct worker_synth_config *cfg);
/* Id of image i (validated ids from the config, else p0000 / g0000) and its folder
   ("persons" or "garments"). */
void worker_synth_image_id(const struct worker_synth_config *cfg, int i, char id[72], const char **folder);
/* The parameters of person image i (0 <= i < n_persons) / garment image j (0 <= j < n_garments). */
void worker_synth_draw_person(const struct worker_synth_config *cfg, int i, struct worker_synth_person *p);
void worker_synth_draw_garment(const struct worker_synth_config *cfg, int j, struct worker_synth_garment *g);

/* Render a person photo: the body and its garments (textured with their prints) in the
   studio through the person's camera (cam_distance_m, cam_height_m, cam_tilt_deg,
   cam_vfov_deg: the standard photo camera by default). The true parameters,
   measurements and camera are appended as fields to `truth`, an object the caller opened.
   threads: render threads (0 = the worker's). out is allocated (img8_free): RGBA or RGB (with_alpha). */
enum tryon_status worker_synth_person_photo(struct worker *w, const struct worker_synth_person *p, int width,
                                            int height, int spp, uint64_t seed, int threads, struct img8 *out,
                                            struct json_w *truth);
/* Render a garment product photo: the garment on the default body, rendered without the
   body, front view framed on its bounds, on a white backdrop (RGB, no alpha). Truth
   fields appended as above. */
enum tryon_status worker_synth_garment_photo(struct worker *w, const struct worker_synth_garment *g, int width,
                                             int height, int spp, uint64_t seed, int threads, struct img8 *out,
                                             struct json_w *truth);
/* The garment's back as the print makes it: a side_m x side_m square of its surface (the
   print's own frame from its origin; the logo, which sits on the front, left out) sampled
   at size x size texels, 3 planar sRGB byte channels (row 0 = top). The truth a back-texture
   completion is trained against (tryon synth's garment shards, tensor "back"). */
void worker_synth_back_patch(const struct worker_synth_garment *g, int size, float side_m, uint8_t *out);
/* Denoiser training samples of scene i (person i of a config with `denoise`): the person and
   its outfit, framed as the worker frames a pair (rt_camera_frame of the body, margin 0.06,
   denoise.width x height), in its studio. cfg->denoise.crops windows of crop x crop pixels,
   drawn from (seed, i): three in four centred in the subject's projected box, the rest
   anywhere. Each window is rendered once at reference_spp (another seed) for the target and
   once per input: every spp of the list, then (adaptive) up to 64 samples with a noise
   threshold drawn log-uniformly in [0.005, 0.05]. Per window and input one sample: inputs
   (WORKER_DENOISE_CHANNELS, crop, crop) bytes round(255 v) of worker_denoise_features,
   targets (3, crop, crop) the reference through the display curve as bytes, spp_mean the
   input's mean sample count. Samples in window-major order; the buffers hold
   worker_synth_denoise_count(cfg) samples. */
int worker_synth_denoise_count(const struct worker_synth_config *cfg);
enum tryon_status worker_synth_denoise(struct worker *w, const struct worker_synth_config *cfg, int i, int threads,
                                       uint8_t *inputs, uint8_t *targets, float *spp_mean);
/* Image i of a config: draw and render it; truth is reset to one JSON object: "id", "kind"
   ("person" | "garment"), "file" (folder/id.png), "index", then the photo's fields. */
enum tryon_status worker_synth_image(struct worker *w, const struct worker_synth_config *cfg, int i, int threads,
                                     struct img8 *out, struct json_w *truth);

#endif
