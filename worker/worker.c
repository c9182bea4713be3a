/* worker.c: one pair from two photos to a PNG (DESIGN.md section 1, classical estimators).
 *
 *   person.png  -> load -> segment -> fit the body (avatar: phenotype, pose, stature by
 *                  analysis by synthesis; tape measurements) -> body mesh, skin colour
 *   garment.png -> load -> segment -> estimate type/size/looseness/landmarks -> UV atlas
 *                  texture warped from the photo by the landmarks -> garment draped on that
 *                  body (with a size chart: the candidate sizes, sizes.c; the recommended
 *                  one is shown)
 *   studio scene (raytrace: skin and cloth BSDFs) -> path trace -> tone map -> PNG,
 *   written atomically; on demand every size's render, the views around the body and the
 *   turntable (views.c), AOVs, meshes
 *
 * Estimates (DESIGN.md section 2, "Assets"): before rendering a chunk's pairs the worker
 * estimates their persons and garments together (worker_prepare_chunk): each photo is read
 * and its asset cache entry looked up (cache.c); the photos not there are decoded and
 * segmented, the networks run once over them as a batch (nnest.c), then each fit runs and
 * its estimate is stored. Estimates are held per rank: the persons of the pairs being
 * rendered (pairs arrive person-major, so a body is built once per person) and every
 * garment the rank has estimated. A failure a photo causes (bad photo) fails every pair
 * that uses it, with the same message, without re-reading; it is not cached on disk. */
#include "worker/internal.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "nn/nn.h"
#include "raytrace/raytrace.h"

#define WORKER_TEXTURE_SIZE 512   /* garment UV atlas texture side, texels */
/* The fitted body covers a person's silhouette at IoU 0.61 and more on the calibration set
 * (configs/synth/calib.yaml; 0.8 and more on the demo), a garment photo's at 0.3-0.5. The
 * checks before the fit are worker/photo.c's. */
#define WORKER_PERSON_MIN_IOU 0.5f
/* Without a height hint the stature is read through the assumed camera: a fit outside an
 * adult's range (the synthetic sets span 145-205 cm) says the camera or the framing is not
 * the assumed one, and the body, its measurements and its fit verdicts would be wrong. */
#define WORKER_STATURE_MIN_M 1.30f
#define WORKER_STATURE_MAX_M 2.20f
/* Without a hint the record gives the statures the silhouette would mean through a level
 * camera anywhere between these heights (a photographer's, as `tryon synth` draws them):
 * the fit's stature scales with the camera's height, assumed 0.95 m. */
#define WORKER_CAMERA_HEIGHT_MIN_M 0.6f
#define WORKER_CAMERA_HEIGHT_MAX_M 1.7f

/* The estimate of one person photo and the body built from it. */
struct person_slot {
    char id[72];                   /* "" = a free slot */
    bool ok;
    char error[600];
    const char *fault;             /* when !ok: the record's "fault" (fault_of) */
    char sha256[65];               /* of the photo's bytes as read ("" when unreadable) */
    struct worker_person_asset a;  /* the estimate: a.est, a.skin, a.net */
    struct avatar_mesh body;       /* avatar_body_build(a.est.body) */
    enum worker_cache_result cache;/* where the estimate came from */
    double t_load, t_segment, t_body;
    bool charged;                  /* its stage times were reported in a pair's record */
};

/* The estimate of one garment photo. */
struct garment_slot {
    char id[72];                   /* "" = a free slot */
    bool ok;
    char error[600];
    const char *fault;             /* when !ok: the record's "fault" (fault_of) */
    char sha256[65];               /* of the photo's bytes as read ("" when unreadable) */
    struct worker_garment_asset a; /* the estimate: a.est, a.tex (w = 0: plain colour), a.tex_error,
                                      a.net, a.back_net */
    enum worker_cache_result cache;/* where the estimate came from */
    double t_load, t_segment, t_estimate;
    bool charged;                  /* its stage times were reported in a pair's record */
};

struct worker {
    const struct worker_settings *s;
    struct avatar_model *model;
    struct rt_device *dev;
    struct kern_ctx *kctx;         /* the drape's and the networks' compute context (nn_ctx_create: CPU, the
                                      render's thread count) */
    struct worker_nets *nets;      /* the learned estimators (either may be absent: classical) */
    struct worker_denoiser *den;   /* with settings.denoise and a usable model file, else NULL */
    char den_why[400];             /* why den is NULL */
    struct person_slot *persons;   /* the persons of the prepared pairs (worker_prepare_chunk) */
    int n_persons;
    struct garment_slot *garments; /* every garment this rank has estimated */
    int n_garments, cap_garments;
    struct worker_cache *cache;    /* the asset cache; NULL = none */
    char person_ids[400];          /* the estimators' identity in the cache keys ("" until first needed) */
    char garment_ids[400];
    char (*warned)[65];            /* keys of the invalid entries said on stderr (once each) */
    int n_warned;
    bool said_write_error;         /* a failed cache write was said (once per worker) */
    struct worker_cache_stats stats;
};

/* The presets. With the denoiser, catalog and hero sample adaptively up to spp (noise
   threshold) and denoise; without its model file they render raw_spp samples, no threshold
   (worker_preset_without_denoiser), which is what they rendered before the denoiser. */
static const struct preset {
    const char *name;
    int w, h, spp, depth;
    float noise_threshold;
    bool denoise;
    int raw_spp;
} PRESETS[] = {
    {"preview", 256, 384, 16, 4, 0.0f, false, 16},
    {"catalog", 1024, 1536, WORKER_CATALOG_SPP, 8, WORKER_CATALOG_NOISE, true, 256},
    {"hero", 2048, 3072, 4 * WORKER_CATALOG_SPP, 12, WORKER_CATALOG_NOISE / 2, true, 1024},
};

static const struct preset *preset_named(const char *name)
{
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(name, PRESETS[i].name) == 0)
            return &PRESETS[i];
    return NULL;
}

enum tryon_status worker_preset(const char *name, struct worker_settings *s)
{
    const struct preset *p = preset_named(name);
    if (!p)
        return tryon_fail(TRYON_EINVAL, "unknown preset '%s' (expected preview, catalog or hero)", name);
    s->preset = p->name;
    s->width = p->w;
    s->height = p->h;
    s->spp = p->spp;
    s->max_depth = p->depth;
    s->noise_threshold = p->noise_threshold;
    s->denoise = p->denoise;
    return TRYON_OK;
}

void worker_preset_without_denoiser(struct worker_settings *s)
{
    const struct preset *p = preset_named(s->preset);
    s->denoise = false;
    s->noise_threshold = 0.0f;
    s->spp = p ? p->raw_spp : s->spp;
}

bool worker_denoiser_present(const char *models_dir, char *why, size_t n)
{
    char path[PATH_MAX];
    if (!models_dir || !models_dir[0])
        snprintf(why, n, "no model folder");
    else if (fs_join(path, sizeof path, models_dir, WORKER_DENOISE_FILE) || !fs_exists(path))
        snprintf(why, n, "%.300s/%s is missing", models_dir, WORKER_DENOISE_FILE);
    else
        return true;
    return false;
}

enum tryon_status worker_create(const struct worker_settings *s, const char *asset_dir, struct worker **out)
{
    *out = NULL;
    struct worker *w = calloc(1, sizeof *w);
    if (!w)
        return tryon_fail(TRYON_ENOMEM, "worker: out of memory");
    w->s = s;
    enum tryon_status st = avatar_model_load(asset_dir, &w->model);
    if (st) {
        free(w);
        return st;
    }
    w->dev = rt_device_create(s->threads);
    w->kctx = w->dev ? nn_ctx_create(s->threads) : NULL;
    if (!w->kctx) {
        rt_device_free(w->dev);
        avatar_model_free(w->model);
        free(w);
        return TRYON_EUNSUPPORTED;
    }
    if ((st = worker_nets_load(s->models_dir, w->kctx, &w->nets)) ||
        (s->cache_dir && s->cache_dir[0] && (st = worker_cache_open(s->cache_dir, &w->cache)))) {
        worker_free(w);
        return st;
    }
    char path[PATH_MAX];
    if (!s->denoise)
        snprintf(w->den_why, sizeof w->den_why, "off");
    else if (worker_denoiser_present(s->models_dir, w->den_why, sizeof w->den_why) &&
             (fs_join(path, sizeof path, s->models_dir, WORKER_DENOISE_FILE) ||
              worker_denoiser_load(path, w->kctx, &w->den)))
        snprintf(w->den_why, sizeof w->den_why, "%s", tryon_errmsg());
    w->persons = tryon_xcalloc(WORKER_NET_BATCH, sizeof *w->persons);
    *out = w;
    return TRYON_OK;
}

void worker_estimators(const struct worker *w, char *buf, size_t n)
{
    char part[3][512];
    for (int k = 0; k < 3; k++) {
        const char *why, *name = worker_nets_name(w->nets, (enum worker_net_id)k, &why);
        if (name)
            snprintf(part[k], sizeof part[k], "network %s", name);
        else
            snprintf(part[k], sizeof part[k], "classical (%.400s)", why);
    }
    int k = snprintf(buf, n, "body %s, garment %s, garment back %s", part[0], part[1], part[2]);
    if (k >= 0 && (size_t)k < n) {
        if (w->den)
            snprintf(buf + k, n - (size_t)k, ", denoiser network %s", worker_denoiser_name(w->den));
        else
            snprintf(buf + k, n - (size_t)k, ", denoiser %s%.400s", strcmp(w->den_why, "off") ? "none: " : "",
                     w->den_why);
    }
}

void worker_cache_counts(const struct worker *w, struct worker_cache_stats *out) { *out = w->stats; }

static void person_clear(struct person_slot *p)
{
    avatar_mesh_free(&p->body);
    memset(p, 0, sizeof *p);
}

static void garment_clear(struct garment_slot *g)
{
    imgf_free(&g->a.tex);
    memset(g, 0, sizeof *g);
}

void worker_free(struct worker *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_persons; i++)
        person_clear(&w->persons[i]);
    free(w->persons);
    for (int i = 0; i < w->n_garments; i++)
        garment_clear(&w->garments[i]);
    free(w->garments);
    free(w->warned);
    worker_cache_free(w->cache);
    worker_nets_free(w->nets);
    worker_denoiser_free(w->den);
    nn_ctx_free(w->kctx);
    rt_device_free(w->dev);
    avatar_model_free(w->model);
    free(w);
}

/* What a failure says about the pair, as the record's "fault" (scheduler.h, "master"):
 * "input" when the photo itself cannot be used (not a PNG, over the limits, no figure the
 * segmentation or the estimator can read) — the same on every rank, never retried; else
 * `other` (a read error, memory: worth a retry elsewhere). */
static const char *fault_of(enum tryon_status s, const char *other)
{
    switch (s) {
    case TRYON_EINVAL:
    case TRYON_EFORMAT:
    case TRYON_ELIMIT:
    case TRYON_ENOTSETTLED:
    case TRYON_EUNSUPPORTED: return "input";
    default: return other;
    }
}

/* Skin albedo: the median colour of the head region of the silhouette (its top tenth),
 * in linear light. The head is bare in every photo we accept, so it carries skin tone. */
static void sample_skin(const struct img8 *im, const uint8_t *mask, float skin[3])
{
    int top = -1, bottom = -1;
    for (int y = 0; y < im->h && top < 0; y++)
        for (int x = 0; x < im->w; x++)
            if (mask[(size_t)y * im->w + x]) {
                top = y;
                break;
            }
    for (int y = im->h - 1; y >= 0 && bottom < 0; y--)
        for (int x = 0; x < im->w; x++)
            if (mask[(size_t)y * im->w + x]) {
                bottom = y;
                break;
            }
    /* a neutral default for a silhouette too small to sample */
    skin[0] = 0.50f, skin[1] = 0.33f, skin[2] = 0.25f;
    if (top < 0 || bottom - top < 20)
        return;
    int y1 = top + (bottom - top) / 10;
    int hist[3][256] = {{0}};
    int n = 0;
    for (int y = top; y <= y1; y++)
        for (int x = 0; x < im->w; x++)
            if (mask[(size_t)y * im->w + x]) {
                const uint8_t *px = im->px + ((size_t)y * im->w + x) * 4;
                for (int c = 0; c < 3; c++)
                    hist[c][px[c]]++;
                n++;
            }
    if (n < 10)
        return;
    for (int c = 0; c < 3; c++) {
        int acc = 0, v = 0;
        while (v < 255 && acc + hist[c][v] <= n / 2)
            acc += hist[c][v++];
        skin[c] = img_srgb_to_linear((float)v / 255.0f);
    }
}

/* Whether a silhouette's top reads as a head (avatar_silhouette_top's figures). */
/* ---- the asset cache around the estimates ---- */

/* The estimators' identity for the keys: the network files' SHA-256 (or "classical") and
   the body model data's digest, made once. */
static void estimator_ids(struct worker *w)
{
    if (w->person_ids[0])
        return;
    char model[65];
    avatar_model_digest(w->model, model);
    const char *body = worker_nets_sha256(w->nets, WORKER_NET_BODY);
    const char *garment = worker_nets_sha256(w->nets, WORKER_NET_GARMENT);
    const char *back = worker_nets_sha256(w->nets, WORKER_NET_BACK);
    snprintf(w->person_ids, sizeof w->person_ids, "body %s; avatar %s", body ? body : "classical", model);
    snprintf(w->garment_ids, sizeof w->garment_ids, "garment %s; back %s; avatar %s", garment ? garment : "classical",
             back ? back : "classical", model);
}

static void asset_key(struct worker *w, enum worker_asset_kind kind, const struct worker_pair *p, const char *sha,
                      char key[65])
{
    estimator_ids(w);
    struct worker_asset_id id = {.kind = kind, .limits = w->s->limits};
    snprintf(id.photo_sha256, sizeof id.photo_sha256, "%s", sha);
    if (kind == WORKER_ASSET_PERSON) {
        id.estimators = w->person_ids;
        id.height_hint_cm = p->height_hint_cm;
        id.type_hint = "";
    } else {
        id.estimators = w->garment_ids;
        id.type_hint = p->garment_type ? p->garment_type : "";
        id.texture_size = WORKER_TEXTURE_SIZE;
    }
    worker_asset_key(&id, key);
}

/* Count a lookup; an entry that did not verify is said once per key. */
static void lookup_done(struct worker *w, enum worker_cache_result r, const char key[65])
{
    if (r == WORKER_CACHE_HIT) {
        w->stats.hits++;
        return;
    }
    if (r == WORKER_CACHE_MISS) {
        w->stats.misses++;
        return;
    }
    w->stats.invalid++;
    for (int i = 0; i < w->n_warned; i++)
        if (!strcmp(w->warned[i], key))
            return;
    w->warned = tryon_xrealloc(w->warned, sizeof *w->warned * (size_t)(w->n_warned + 1));
    snprintf(w->warned[w->n_warned++], 65, "%s", key);
    log_warn("asset cache: %s; estimating it again", tryon_errmsg());
}

static void stored(struct worker *w, enum tryon_status s)
{
    if (s == TRYON_OK) {
        w->stats.writes++;
        return;
    }
    w->stats.write_errors++;
    if (!w->said_write_error)
        log_warn("%s (estimates are not kept; said once)", tryon_errmsg());
    w->said_write_error = true;
}

/* Read a photo's bytes (recording their SHA-256 in sha) and, with a cache, its entry's key
   and the lookup's result. t: seconds reading. */
static enum tryon_status read_photo(struct worker *w, enum worker_asset_kind kind, const struct worker_pair *p,
                                    const char *path, uint8_t **data, size_t *len, char sha[65], char key[65],
                                    double *t)
{
    double t0 = time_now();
    enum tryon_status s = fs_read_all(path, w->s->limits.max_file_bytes, data, len);
    if (s == TRYON_OK) {
        sha256_hex(*data, *len, sha);
        if (w->cache)
            asset_key(w, kind, p, sha, key);
    }
    *t = time_now() - t0;
    return s;
}

/* A photo on its way through the estimate: decoded, segmented, waiting for the batch. */
struct pending {
    const struct worker_pair *p;
    void *slot;                    /* struct person_slot * or struct garment_slot * */
    char key[65];                  /* its cache entry ("" without a cache) */
    struct img8 im;
    uint8_t *mask;
    double t0;                     /* when its estimate stage began */
};

static void pending_free(struct pending *q)
{
    free(q->mask);
    img8_free(&q->im);
}

/* Estimate persons: slots ps[i] (empty, id set) for pairs p[i], i < n <= WORKER_NET_BATCH.
   A cache hit rebuilds the body; the others are decoded and segmented, the body encoder runs
   once over those that pass the head check, then each is fitted and stored. */
static void estimate_persons(struct worker *w, struct person_slot **ps, const struct worker_pair **pp, int n)
{
    struct pending q[WORKER_NET_BATCH];
    int nq = 0;
    for (int i = 0; i < n; i++) {
        struct person_slot *s = ps[i];
        const struct worker_pair *p = pp[i];
        uint8_t *data = NULL;
        size_t len = 0;
        char key[65] = "";
        s->cache = w->cache ? WORKER_CACHE_MISS : WORKER_CACHE_OFF;
        enum tryon_status st = read_photo(w, WORKER_ASSET_PERSON, p, p->person_image, &data, &len, s->sha256, key,
                                          &s->t_load);
        if (st == TRYON_OK && w->cache) {
            double t0 = time_now();
            s->cache = worker_cache_get_person(w->cache, key, &s->a);
            /* the estimate was stored by a job that built its body from it: an entry whose body
               does not build lies, and is estimated again */
            if (s->cache == WORKER_CACHE_HIT && avatar_body_build(w->model, &s->a.est.body, &s->body)) {
                char path[PATH_MAX];
                worker_cache_entry_path(w->cache, WORKER_ASSET_PERSON, key, path, sizeof path);
                tryon_failctx(TRYON_EFORMAT, "%s: the stored body does not build", path);
                s->cache = WORKER_CACHE_INVALID;
            }
            lookup_done(w, s->cache, key);
            if (s->cache == WORKER_CACHE_HIT) {
                s->ok = true;
                s->t_body = time_now() - t0;
                free(data);
                continue;
            }
            avatar_mesh_free(&s->body);
            memset(&s->a, 0, sizeof s->a);
            s->t_load += time_now() - t0;
        }
        struct img8 im;
        uint8_t *mask = NULL;
        if (st == TRYON_OK)
            st = worker_photo_read(WORKER_ASSET_PERSON, data, len, p->person_image, &w->s->limits, &im, &mask,
                                   &s->t_load, &s->t_segment);
        free(data);
        if (st) {   /* unreadable: io; not a photo of one whole person: input (fault_of) */
            snprintf(s->error, sizeof s->error, "person %s: %s", p->person_id, tryon_errmsg());
            s->fault = fault_of(st, "io");
            continue;
        }
        q[nq] = (struct pending){p, s, "", im, mask, time_now()};
        memcpy(q[nq++].key, key, sizeof key);
    }
    /* the body encoder over the batch; its time is shared out evenly */
    struct avatar_person_prior prior[WORKER_NET_BATCH];
    enum tryon_status net_st[WORKER_NET_BATCH];
    const struct img8 *ims[WORKER_NET_BATCH];
    const uint8_t *masks[WORKER_NET_BATCH];
    float hints[WORKER_NET_BATCH];
    for (int j = 0; j < nq; j++)
        ims[j] = &q[j].im, masks[j] = q[j].mask, hints[j] = q[j].p->height_hint_cm, net_st[j] = TRYON_EUNSUPPORTED;
    double t_net = 0;
    if (nq && worker_nets_name(w->nets, WORKER_NET_BODY, NULL)) {
        double t0 = time_now();
        worker_nets_person_batch(w->nets, nq, ims, masks, hints, prior, NULL, net_st);
        t_net = (time_now() - t0) / nq;
    }
    for (int j = 0; j < nq; j++) {
        struct person_slot *s = q[j].slot;
        const struct worker_pair *p = q[j].p;
        double t0 = time_now();
        s->a.net = net_st[j] == TRYON_OK;
        enum tryon_status st = avatar_estimate_person_prior(w->model, &q[j].im, q[j].mask, p->height_hint_cm,
                                                            s->a.net ? &prior[j] : NULL, &s->a.est);
        if (st == TRYON_OK && s->a.est.iou < WORKER_PERSON_MIN_IOU)
            st = tryon_fail(TRYON_EINVAL, "the photo does not show one full standing figure: the body fitted to its "
                            "silhouette covers it at IoU %.2f (a person photo gives 0.6 or more); is the figure cut "
                            "off, or are there several?", s->a.est.iou);
        if (st == TRYON_OK && !(p->height_hint_cm > 0) &&
            (s->a.est.stature_m < WORKER_STATURE_MIN_M || s->a.est.stature_m > WORKER_STATURE_MAX_M))
            st = tryon_fail(TRYON_EINVAL, "the body fitted to the photo is %.0f cm tall, outside the %.0f-%.0f cm "
                            "of an adult: the photo is not from the camera the estimators assume (README, \"Photos\") "
                            "or shows a figure too small or too large in its frame; give height_cm, or a photo "
                            "framed as the README says", 100.0f * s->a.est.stature_m, 100.0f * WORKER_STATURE_MIN_M,
                            100.0f * WORKER_STATURE_MAX_M);
        if (st == TRYON_OK)
            st = avatar_body_build(w->model, &s->a.est.body, &s->body);
        if (st == TRYON_OK)
            sample_skin(&q[j].im, q[j].mask, s->a.skin);
        if (st) {
            snprintf(s->error, sizeof s->error, "person %s: %s: %s", p->person_id, p->person_image, tryon_errmsg());
            s->fault = fault_of(st, "estimate");
        } else {
            s->ok = true;
            if (w->cache)
                stored(w, worker_cache_put_person(w->cache, q[j].key, &s->a));
        }
        s->t_body = (t0 - q[j].t0) + t_net + (time_now() - t0);
        pending_free(&q[j]);
    }
}

/* Estimate garments: slots gs[i] (empty, id set) for pairs p[i], i < n <= WORKER_NET_BATCH,
   as estimate_persons does persons: cache, then the garment encoder and back generator once
   over the photos that pass, then each classical estimate and texture. */
static void estimate_garments(struct worker *w, struct garment_slot **gs, const struct worker_pair **pp, int n)
{
    struct pending q[WORKER_NET_BATCH];
    int nq = 0;
    for (int i = 0; i < n; i++) {
        struct garment_slot *s = gs[i];
        const struct worker_pair *p = pp[i];
        uint8_t *data = NULL;
        size_t len = 0;
        char key[65] = "";
        s->cache = w->cache ? WORKER_CACHE_MISS : WORKER_CACHE_OFF;
        enum tryon_status st = read_photo(w, WORKER_ASSET_GARMENT, p, p->garment_image, &data, &len, s->sha256, key,
                                          &s->t_load);
        if (st == TRYON_OK && w->cache) {
            double t0 = time_now();
            s->cache = worker_cache_get_garment(w->cache, key, &s->a);
            lookup_done(w, s->cache, key);
            if (s->cache == WORKER_CACHE_HIT) {
                s->ok = true;
                s->t_estimate = time_now() - t0;
                free(data);
                continue;
            }
            s->t_load += time_now() - t0;
        }
        struct img8 im;
        uint8_t *mask = NULL;
        if (st == TRYON_OK)
            st = worker_photo_read(WORKER_ASSET_GARMENT, data, len, p->garment_image, &w->s->limits, &im, &mask,
                                   &s->t_load, &s->t_segment);
        free(data);
        if (st) {   /* unreadable: io; a person photo as a garment: input (fault_of) */
            snprintf(s->error, sizeof s->error, "garment %s: %s", p->garment_id, tryon_errmsg());
            s->fault = fault_of(st, "io");
            continue;
        }
        q[nq] = (struct pending){p, s, "", im, mask, time_now()};
        memcpy(q[nq++].key, key, sizeof key);
    }
    /* the garment encoder and back generator over the batch; the time shared out evenly */
    struct worker_net_garment pred[WORKER_NET_BATCH];
    enum tryon_status net_st[WORKER_NET_BATCH];
    const struct img8 *ims[WORKER_NET_BATCH];
    const uint8_t *masks[WORKER_NET_BATCH];
    for (int j = 0; j < nq; j++) {
        ims[j] = &q[j].im, masks[j] = q[j].mask, net_st[j] = TRYON_EUNSUPPORTED;
        memset(&pred[j], 0, sizeof pred[j]);
    }
    double t_net = 0;
    if (nq && worker_nets_name(w->nets, WORKER_NET_GARMENT, NULL)) {
        double t0 = time_now();
        worker_nets_garment_batch(w->nets, nq, ims, masks, pred, net_st);
        t_net = (time_now() - t0) / nq;
    }
    for (int j = 0; j < nq; j++) {
        struct garment_slot *s = q[j].slot;
        const struct worker_pair *p = q[j].p;
        struct worker_net_garment *gp = &pred[j];
        double t0 = time_now();
        /* the network names the type unless the catalog does; the classical estimator reads
           the rest for that type; the back generator completes the back's print */
        const char *type = p->garment_type ? p->garment_type : "";
        bool net = net_st[j] == TRYON_OK;
        if (net && !type[0]) {
            type = avatar_garment_type_name(gp->type);
            s->a.net = true;
        }
        enum tryon_status st = avatar_estimate_garment(&q[j].im, q[j].mask, type, &s->a.est);
        if (st == TRYON_OK && net && gp->type == s->a.est.type)   /* the network read this type of garment */
            worker_nets_garment_apply(gp, &s->a.est);
        float shape_iou = 1.0f;
        bool hinted = p->garment_type && p->garment_type[0];
        if (st == TRYON_OK &&
            (st = avatar_garment_shape_iou(w->model, q[j].mask, q[j].im.w, q[j].im.h, &s->a.est, &shape_iou,
                                           &s->a.est.style)) ==
                TRYON_OK && shape_iou < WORKER_GARMENT_MIN_SHAPE_IOU)
            st = tryon_fail(TRYON_EINVAL, "its outline matches a %s (%s) at IoU %.2f only, where a garment of our "
                            "types gives 0.84 or more: is it a garment we have no template for (we have t-shirt, "
                            "long-sleeve, dress, skirt, trousers and shorts)%s?", avatar_garment_type_name(s->a.est.type),
                            hinted ? "the catalog's type" : "the type read from the photo", shape_iou,
                            hinted ? ", or is the catalog's `type:` wrong" : "");
        if (st) {
            snprintf(s->error, sizeof s->error, "garment %s: %s: %s", p->garment_id, p->garment_image,
                     tryon_errmsg());
            s->fault = fault_of(st, "estimate");
        } else {
            s->ok = true;
        }
        /* the texture is a refinement: without it (too few landmarks) the garment is plain */
        s->a.back_net = gp->back.w > 0 && gp->printed;   /* a plain or logo garment keeps a plain back */
        if (st == TRYON_OK &&
            avatar_garment_texture_back(w->model, &q[j].im, q[j].mask, &s->a.est, WORKER_TEXTURE_SIZE,
                                        s->a.back_net ? &gp->back : NULL, gp->back_side_m, &s->a.tex))
            snprintf(s->a.tex_error, sizeof s->a.tex_error, "%s", tryon_errmsg());
        imgf_free(&gp->back);
        if (s->ok && w->cache)
            stored(w, worker_cache_put_garment(w->cache, q[j].key, &s->a));
        s->t_estimate = (t0 - q[j].t0) + t_net + (time_now() - t0);
        pending_free(&q[j]);
    }
}

static struct person_slot *find_person(struct worker *w, const char *id)
{
    for (int i = 0; i < w->n_persons; i++)
        if (w->persons[i].id[0] && !strcmp(w->persons[i].id, id))
            return &w->persons[i];
    return NULL;
}

static struct garment_slot *find_garment(struct worker *w, const char *id)
{
    for (int i = 0; i < w->n_garments; i++)
        if (w->garments[i].id[0] && !strcmp(w->garments[i].id, id))
            return &w->garments[i];
    return NULL;
}

/* A free garment slot with id set, from the room reserve_garments made (the list only
   grows: every garment stays held, so the slots do not move while it has room). */
static void reserve_garments(struct worker *w, int n)
{
    if (w->n_garments + n <= w->cap_garments)
        return;
    int cap = w->cap_garments ? w->cap_garments : 16;
    while (cap < w->n_garments + n)
        cap *= 2;
    w->garments = tryon_xrealloc(w->garments, sizeof *w->garments * (size_t)cap);
    w->cap_garments = cap;
}

static struct garment_slot *new_garment(struct worker *w, const char *id)
{
    struct garment_slot *g = NULL;
    for (int i = 0; i < w->n_garments && !g; i++)
        if (!w->garments[i].id[0])
            g = &w->garments[i];
    if (!g) {
        assert(w->n_garments < w->cap_garments);
        g = &w->garments[w->n_garments++];
    }
    memset(g, 0, sizeof *g);
    snprintf(g->id, sizeof g->id, "%s", id);
    return g;
}

int worker_prepare_chunk(struct worker *w, const struct worker_pair *pairs, int n)
{
    if (n <= 0)
        return 0;
    /* the window: the longest prefix with at most WORKER_NET_BATCH persons and as many
       garments not held; pp / gp: the first pair of each */
    const struct worker_pair *pp[WORKER_NET_BATCH], *gp[WORKER_NET_BATCH];
    int np = 0, ng = 0, k = 0;
    for (; k < n; k++) {
        const struct worker_pair *p = &pairs[k];
        bool new_p = true, new_g = !find_garment(w, p->garment_id);
        for (int i = 0; i < np && new_p; i++)
            new_p = strcmp(pp[i]->person_id, p->person_id) != 0;
        for (int i = 0; i < ng && new_g; i++)
            new_g = strcmp(gp[i]->garment_id, p->garment_id) != 0;
        if ((new_p && np == WORKER_NET_BATCH) || (new_g && ng == WORKER_NET_BATCH))
            break;
        if (new_p)
            pp[np++] = p;
        if (new_g)
            gp[ng++] = p;
    }
    /* hold the window's persons only: keep those held, free the rest */
    bool held[WORKER_NET_BATCH] = {false};
    for (int i = 0; i < w->n_persons; i++) {
        struct person_slot *s = &w->persons[i];
        bool in = false;
        for (int j = 0; j < np && !in; j++)
            if (s->id[0] && !strcmp(s->id, pp[j]->person_id))
                in = held[j] = true;
        if (!in)
            person_clear(s);
    }
    struct person_slot *ps[WORKER_NET_BATCH];
    const struct worker_pair *todo[WORKER_NET_BATCH];
    int nt = 0, free_at = 0;
    for (int j = 0; j < np; j++) {
        if (held[j])
            continue;
        while (w->persons[free_at].id[0])
            free_at++;
        assert(free_at < WORKER_NET_BATCH);
        struct person_slot *s = &w->persons[free_at];
        snprintf(s->id, sizeof s->id, "%s", pp[j]->person_id);
        if (free_at >= w->n_persons)
            w->n_persons = free_at + 1;
        ps[nt] = s;
        todo[nt++] = pp[j];
    }
    estimate_persons(w, ps, todo, nt);
    struct garment_slot *gs[WORKER_NET_BATCH];
    reserve_garments(w, ng);
    for (int j = 0; j < ng; j++)
        gs[j] = new_garment(w, gp[j]->garment_id);
    estimate_garments(w, gs, gp, ng);
    return k;
}

void worker_check_estimates(struct worker *w, const struct worker_pair *pairs, int n,
                            void (*report)(void *ctx, bool garment, const char *id, const char *error), void *ctx)
{
    for (int k = 0; k < n;) {
        int used = worker_prepare_chunk(w, pairs + k, n - k);
        for (int i = k; i < k + used; i++) {
            const struct person_slot *ps = find_person(w, pairs[i].person_id);
            const struct garment_slot *gs = find_garment(w, pairs[i].garment_id);
            if (ps && !ps->ok)
                report(ctx, false, pairs[i].person_id, ps->error);
            if (gs && !gs->ok)
                report(ctx, true, pairs[i].garment_id, gs->error);
        }
        k += used;
    }
}

enum tryon_status worker_render_meshes_n(struct worker *w, const struct avatar_mesh *const *meshes,
                                         const struct rt_material *mats, int n, const struct rt_camera *cam,
                                         const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                         const struct rt_settings *set, int n_set, struct rt_film *films)
{
    memset(films, 0, (size_t)n_set * sizeof *films);
    struct rt_scene *sc = rt_scene_create(w->dev);
    if (!sc)
        return TRYON_ENOMEM;
    for (int i = 0; i < n; i++) {
        const struct avatar_mesh *m = meshes[i];
        int id = rt_scene_add_mesh(sc, m->pos, m->nrm, m->uv, m->nv, m->tri, m->nt, &mats[i], true);
        if (id < 0) {
            rt_scene_free(sc);
            return (enum tryon_status)id;
        }
    }
    rt_scene_add_studio(sc, bmin, bmax, studio);
    enum tryon_status s = rt_scene_commit(sc);
    for (int k = 0; k < n_set && s == TRYON_OK; k++)
        s = rt_render(sc, cam, &set[k], &films[k]);
    if (s)
        for (int k = 0; k < n_set; k++)
            rt_film_free(&films[k]);
    rt_scene_free(sc);
    return s;
}

enum tryon_status worker_render_meshes(struct worker *w, const struct avatar_mesh *const *meshes,
                                       const struct rt_material *mats, int n, const struct rt_camera *cam,
                                       const struct rt_studio *studio, const float bmin[3], const float bmax[3],
                                       const struct rt_settings *set, struct rt_film *film)
{
    return worker_render_meshes_n(w, meshes, mats, n, cam, studio, bmin, bmax, set, 1, film);
}

struct rt_settings worker_rt_settings(int spp, int max_depth, uint64_t seed, int threads)
{
    return (struct rt_settings){.spp = spp, .max_depth = max_depth, .seed = seed, .threads = threads,
                                .filter = RT_FILTER_BLACKMAN_HARRIS};
}

/* Write bytes at OUT/<sub>/<person>/<name> (atomically; folders made); they came from
   encoding an image, whose failure s (if any) names that file. The data is freed. */
static enum tryon_status write_encoded(const char *out_dir, const char *sub, const char *person, const char *name,
                                       enum tryon_status s, uint8_t *data, size_t len)
{
    char rel[PATH_MAX], path[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/%s/%s", sub, person, name);
    enum tryon_status t = fs_join(path, sizeof path, out_dir, rel);
    if (s)
        s = t ? s : tryon_failctx(s, "%s", path);
    else if (!(s = t) && !(s = fs_mkdirs_parent(path)))
        s = fs_write_atomic(path, data, len);
    free(data);
    return s;
}

enum tryon_status worker_write_png(const char *out_dir, const char *sub, const char *person, const char *name,
                                   const struct img8 *im, char sha[65], size_t *bytes)
{
    uint8_t *data = NULL;
    size_t len = 0;
    enum tryon_status s = img_encode_png(im, &data, &len);
    if (s == TRYON_OK && sha)
        sha256_hex(data, len, sha);
    if (s == TRYON_OK && bytes)
        *bytes = len;
    return write_encoded(out_dir, sub, person, name, s, data, len);
}

/* --film: OUT/film/<p>/<g>.<plane>.pfm for the radiance (after the denoiser, when it ran),
   the albedo and normal AOVs and the sample counts, as floats. */
static enum tryon_status write_film(struct worker *w, const struct worker_pair *p, const struct rt_film *f)
{
    const char *names[4] = {"radiance", "albedo", "normal", "spp"};
    enum tryon_status s = TRYON_OK;
    for (int k = 0; k < 4 && s == TRYON_OK; k++) {
        struct imgf im;
        if ((s = imgf_alloc(&im, f->w, f->h, k == 3 ? 1 : 3)))
            return s;
        size_t n = (size_t)f->w * f->h;
        for (size_t i = 0; i < n * (size_t)im.c; i++)
            im.px[i] = k == 0 ? f->rgb[i] : k == 1 ? f->albedo[i] : k == 2 ? f->normal[i] : (float)f->spp[i];
        uint8_t *data = NULL;
        size_t len = 0;
        char name[160];
        snprintf(name, sizeof name, "%s.%s.pfm", p->garment_id, names[k]);
        s = imgf_encode_pfm(&im, &data, &len);
        imgf_free(&im);
        s = write_encoded(w->s->out_dir, "film", p->person_id, name, s, data, len);
    }
    return s;
}

/* v in [0,1] (clamped) as an 8-bit value. */
static uint8_t unit8(float v) { return (uint8_t)lrintf(255.0f * fminf(fmaxf(v, 0.0f), 1.0f)); }

/* The fit AOV: the scene again with the garment's albedo = its strain map (worker_fit_texture)
   and the body grey, FIT_SPP samples of the camera rays' first hit; the film's albedo is the
   image (sRGB). */
#define FIT_SPP 4
#define FIT_TEX 512
static enum tryon_status write_fit_aov(struct worker *w, const struct worker_pair *p, const struct worker_look *vw,
                                       const struct avatar_mesh *body, const struct avatar_draped *d)
{
    struct imgf heat = {0};
    enum tryon_status s = worker_fit_texture(&d->mesh, d->strain, FIT_TEX, &heat);
    if (s)
        return s;
    float grey[3] = {0.35f, 0.35f, 0.35f};
    const struct avatar_mesh *meshes[2] = {body, &d->mesh};
    struct rt_material mats[2];
    rt_material_preset(RT_BSDF_DIFFUSE, grey, &mats[0]);
    rt_material_preset(RT_BSDF_DIFFUSE, grey, &mats[1]);
    mats[1].texture = &heat;
    struct rt_studio studio;
    rt_studio_default(&studio);
    struct rt_film ff = {0};
    struct rt_settings set = worker_rt_settings(FIT_SPP, 1, p->seed, w->s->threads);
    s = worker_render_meshes(w, meshes, mats, 2, &vw->cam, &studio, vw->bmin, vw->bmax, &set, &ff);
    imgf_free(&heat);
    struct img8 im;
    if (s == TRYON_OK && (s = img8_alloc(&im, ff.w, ff.h, 3)) == TRYON_OK) {
        for (size_t i = 0; i < (size_t)ff.w * ff.h * 3; i++)
            im.px[i] = unit8(img_linear_to_srgb(ff.albedo[i]));
        char name[160];
        snprintf(name, sizeof name, "%s.fit.png", p->garment_id);
        s = worker_write_png(w->s->out_dir, "aovs", p->person_id, name, &im, NULL, NULL);
        img8_free(&im);
    }
    rt_film_free(&ff);
    return s;
}

/* AOVs as 8-bit PNGs: alpha (gray), depth (gray, near bright), normal (RGB = n/2+1/2),
 * albedo (sRGB), and the garment's UV atlas texture (sRGB, when it has one). */
static enum tryon_status write_aovs(struct worker *w, const struct worker_pair *p, const struct rt_film *f,
                                    const struct worker_look *vw, const struct imgf *tex, const struct avatar_mesh *body,
                                    const struct avatar_draped *d)
{
    struct img8 im;
    enum tryon_status s = TRYON_OK;
    size_t n = (size_t)f->w * f->h;
    float dmax = 0;
    for (size_t i = 0; i < n; i++)
        if (f->depth[i] > dmax)
            dmax = f->depth[i];
    static const char *names[] = {"alpha", "depth", "normal", "albedo"};
    for (int a = 0; a < 4 && s == TRYON_OK; a++) {
        int c = a < 2 ? 1 : 3;
        if ((s = img8_alloc(&im, f->w, f->h, c)))
            return s;
        for (size_t i = 0; i < n; i++) {
            if (a == 0)
                im.px[i] = unit8(f->alpha[i]);
            else if (a == 1)
                im.px[i] = f->depth[i] > 0 && dmax > 0 ? (uint8_t)lrintf(255.0f * (1.0f - 0.8f * f->depth[i] / dmax)) : 0;
            else
                for (int k = 0; k < 3; k++) {
                    float v = a == 2 ? 0.5f * f->normal[i * 3 + k] + 0.5f
                                     : img_linear_to_srgb(f->albedo[i * 3 + k]);
                    im.px[i * 3 + k] = unit8(v);
                }
        }
        char name[160];
        snprintf(name, sizeof name, "%s.%s.png", p->garment_id, names[a]);
        s = worker_write_png(w->s->out_dir, "aovs", p->person_id, name, &im, NULL, NULL);
        img8_free(&im);
    }
    /* adaptive sampling's sample counts: grey log2(n) / log2(spp) (white = spp) */
    if (s == TRYON_OK && w->s->noise_threshold > 0 && (s = img8_alloc(&im, f->w, f->h, 1)) == TRYON_OK) {
        double top = log2(w->s->spp > 1 ? w->s->spp : 2);
        for (size_t i = 0; i < n; i++)
            im.px[i] = unit8((float)(log2(f->spp[i]) / top));
        char name[160];
        snprintf(name, sizeof name, "%s.spp.png", p->garment_id);
        s = worker_write_png(w->s->out_dir, "aovs", p->person_id, name, &im, NULL, NULL);
        img8_free(&im);
    }
    if (s == TRYON_OK && tex->w) {
        if ((s = imgf_to_srgb8(tex, &im)))
            return s;
        char name[160];
        snprintf(name, sizeof name, "%s.texture.png", p->garment_id);
        s = worker_write_png(w->s->out_dir, "aovs", p->person_id, name, &im, NULL, NULL);
        img8_free(&im);
    }
    if (s == TRYON_OK)
        s = write_fit_aov(w, p, vw, body, d);
    return s;
}

void worker_json_measurements(struct json_w *r, const struct avatar_measurements *m)
{
    json_key(r, "measurements_cm");
    json_obj_begin(r);
    json_key(r, "height");
    json_numf(r, m->height_cm, 5);
    json_key(r, "chest");
    json_numf(r, m->chest_cm, 5);
    json_key(r, "waist");
    json_numf(r, m->waist_cm, 5);
    json_key(r, "hip");
    json_numf(r, m->hip_cm, 5);
    json_key(r, "inseam");
    json_numf(r, m->inseam_cm, 5);
    json_key(r, "shoulder");
    json_numf(r, m->shoulder_cm, 5);
    json_obj_end(r);
}

void worker_json_pose(struct json_w *r, const struct avatar_body_params *b)
{
    json_key(r, "pose");
    json_obj_begin(r);
    json_key(r, "arm_down_deg");
    json_numf(r, b->arm_down_deg, 4);
    json_key(r, "leg_spread_deg");
    json_numf(r, b->leg_spread_deg, 4);
    json_key(r, "torso_turn_deg");
    json_numf(r, b->torso_turn_deg, 4);
    json_obj_end(r);
}

static void record_body(struct json_w *r, const struct person_slot *ps)
{
    const struct avatar_person_est *e = &ps->a.est;
    json_key(r, "body");
    json_obj_begin(r);
    json_key(r, "stature_cm");
    json_numf(r, 100.0 * e->stature_m, 5);
    json_key(r, "silhouette_h_px");
    json_numf(r, e->silhouette_h_px, 5);
    json_key(r, "iou");
    json_numf(r, e->iou, 4);
    json_key(r, "estimator");
    json_str(r, ps->a.net ? "network" : "classical");
    /* the photo's camera: solved with a height hint, else the studio's assumed, and the
       statures the silhouette would mean through other camera heights */
    json_key(r, "camera");
    json_obj_begin(r);
    json_key(r, "source");
    json_str(r, e->camera_solved ? "solved" : "assumed");
    json_key(r, "height_m");
    json_numf(r, e->camera.eye[1], 4);
    json_key(r, "tilt_deg");
    json_numf(r, e->camera_tilt_deg, 4);
    json_key(r, "distance_m");
    json_numf(r, e->camera.eye[2] - e->place[2], 4);
    json_key(r, "vfov_deg");
    json_numf(r, e->camera.vfov_deg, 4);
    json_obj_end(r);
    if (!e->camera_solved) {
        const float h0 = e->camera.eye[1];
        json_key(r, "stature_range_cm");
        json_arr_begin(r);
        json_numf(r, 100.0 * e->stature_m * WORKER_CAMERA_HEIGHT_MIN_M / h0, 4);
        json_numf(r, 100.0 * e->stature_m * WORKER_CAMERA_HEIGHT_MAX_M / h0, 4);
        json_arr_end(r);
    }
    json_key(r, "phenotype");
    json_obj_begin(r);
    json_key(r, "gender");
    json_numf(r, e->body.ph.gender, 4);
    json_key(r, "age");
    json_numf(r, e->body.ph.age, 4);
    json_key(r, "muscle");
    json_numf(r, e->body.ph.muscle, 4);
    json_key(r, "weight");
    json_numf(r, e->body.ph.weight, 4);
    json_key(r, "height");
    json_numf(r, e->body.ph.height, 4);
    json_key(r, "proportions");
    json_numf(r, e->body.ph.proportions, 4);
    json_obj_end(r);
    worker_json_pose(r, &e->body);
    worker_json_measurements(r, &e->meas);
    json_key(r, "fit_iterations");
    json_int(r, e->iterations);
    json_obj_end(r);
}

static void record_garment(struct json_w *r, const struct garment_slot *gs)
{
    json_key(r, "garment_info");
    json_obj_begin(r);
    json_key(r, "type");
    json_str(r, avatar_garment_type_name(gs->a.est.type));
    json_key(r, "photo_style");
    json_str(r, avatar_garment_style_name(gs->a.est.style));
    json_key(r, "estimator");
    json_str(r, gs->a.net ? "network" : "classical");
    json_key(r, "back");
    json_str(r, gs->a.back_net ? "generated" : "ground colour");
    json_key(r, "color_srgb");
    json_arr_begin(r);
    for (int c = 0; c < 3; c++)
        json_numf(r, img_linear_to_srgb(gs->a.est.color[c]), 4);
    json_arr_end(r);
    json_key(r, "length");
    json_numf(r, gs->a.est.length, 4);
    json_key(r, "sleeve");
    json_numf(r, gs->a.est.sleeve, 4);
    json_key(r, "looseness");
    json_numf(r, gs->a.est.looseness, 4);
    json_key(r, "type_confidence");
    json_numf(r, gs->a.est.type_confidence, 4);
    int n_lm = 0;
    for (int l = 0; l < AVATAR_LM_N; l++)
        n_lm += gs->a.est.lm[l][0] >= 0 && gs->a.est.lm[l][1] >= 0;
    json_key(r, "landmarks");
    json_int(r, n_lm);
    json_key(r, "texture");
    json_bool(r, gs->a.tex.w > 0);
    if (gs->a.tex_error[0]) {
        json_key(r, "texture_error");
        json_str(r, gs->a.tex_error);
    }
    json_obj_end(r);
}

/* The drape's figures and the size verdicts (the verdicts only when the drape settled). */
static void record_fit(struct json_w *r, const struct avatar_draped *d)
{
    json_key(r, "drape");
    json_obj_begin(r);
    json_key(r, "cloth_vertices");
    json_int(r, d->cloth_nv);
    json_key(r, "steps");
    json_int(r, d->steps);
    json_key(r, "seconds");
    json_numf(r, d->seconds, 4);
    json_key(r, "residual");
    json_numf(r, d->residual, 4);
    json_key(r, "mean_speed_mm_s");
    json_numf(r, 1e3 * d->mean_speed, 4);
    if (d->mesh.nv) {
        json_key(r, "length_cm");
        json_numf(r, d->length_cm, 5);
    }
    json_obj_end(r);
    if (!d->mesh.nv)
        return;
    json_key(r, "fit");
    json_obj_begin(r);
    for (int k = 0; k < AVATAR_FIT_NREGIONS; k++) {
        const struct avatar_fit *f = &d->fit[k];
        json_key(r, avatar_fit_region_name((enum avatar_fit_region)k));
        if (f->verdict == AVATAR_FIT_NONE) {
            json_str(r, NULL);
            continue;
        }
        json_obj_begin(r);
        json_key(r, "verdict");
        json_str(r, avatar_fit_verdict_name(f->verdict));
        json_key(r, "strain");
        json_numf(r, f->strain, 4);
        json_key(r, "gap_cm");
        json_numf(r, f->gap_cm, 4);
        json_obj_end(r);
    }
    json_obj_end(r);
}

/* --all-sizes: OUT/renders/<p>/<g>@<size>.png for every size that draped (the recommended
   one is the main render's image again; the others are rendered with its look), their paths
   into z->output. */
static enum tryon_status write_sizes(struct worker *w, const struct worker_pair *p, const struct worker_look *look,
                                     const struct img8 *front, struct worker_sized *z)
{
    for (int i = 0; i < p->n_sizes; i++) {
        if (!z->draped[i])
            continue;
        struct img8 im = {0};
        enum tryon_status s = TRYON_OK;
        if (i != z->choice.recommended) {
            struct worker_look l = *look;
            l.garment = &z->drape[i].mesh;
            struct rt_film film = {0};
            s = worker_render_look(w, &l, 0.0f, &film, NULL);
            if (s == TRYON_OK)
                s = rt_film_to_rgba8(&film, 1.0f, &im);
            rt_film_free(&film);
        }
        char name[160];
        snprintf(name, sizeof name, "%s@%s.png", p->garment_id, p->sizes[i].name);
        if (s == TRYON_OK)
            s = worker_write_png(w->s->out_dir, "renders", p->person_id, name, i == z->choice.recommended ? front : &im,
                                 NULL, NULL);
        img8_free(&im);
        if (s)
            return s;
        snprintf(z->output[i], sizeof z->output[i], "renders/%s/%s", p->person_id, name);
    }
    return TRYON_OK;
}

enum tryon_status worker_run_pair(struct worker *w, const struct worker_pair *p, int rank, struct json_w *r)
{
    double t_garment = 0, t_render = 0, t_denoise = 0, t_encode = 0, t_extra = 0;
    char error[1400] = "";
    const char *fault = NULL;      /* the record's "fault" when error is set */
    char sha[65] = "";
    size_t bytes = 0;
    char output[PATH_MAX];
    snprintf(output, sizeof output, "renders/%s/%s.png", p->person_id, p->garment_id);

    struct person_slot *ps = find_person(w, p->person_id);
    struct garment_slot *gs = find_garment(w, p->garment_id);
    if (!ps || !gs) {
        worker_prepare_chunk(w, p, 1);
        ps = find_person(w, p->person_id);
        gs = find_garment(w, p->garment_id);
    }
    assert(ps && gs);
    /* the pair's own work from here; "total" adds the estimates' stages charged to it */
    double t_start = time_now();
    if (!ps->ok) {
        snprintf(error, sizeof error, "%s", ps->error);
        fault = ps->fault;
    } else if (!gs->ok) {
        snprintf(error, sizeof error, "%s", gs->error);
        fault = gs->fault;
    }

    struct avatar_draped plain = {0};          /* the drape of a garment without a size chart */
    const struct avatar_draped *draped = &plain;
    struct worker_sized *sized = NULL;         /* the drapes over its chart, when it has one */
    if (!error[0]) {
        double t0 = time_now();
        enum tryon_status s;
        if (p->n_sizes > 0) {
            sized = tryon_xmalloc(sizeof *sized);
            s = worker_sizes_drape(w->model, &ps->a.est, &ps->body, &gs->a.est, p, w->s->all_sizes, w->kctx, sized);
            int rec = sized->choice.recommended, lo = sized->plan.lo;
            draped = &sized->drape[rec >= 0 ? rec : lo];
            if (s == TRYON_OK && rec < 0)
                s = tryon_fail(TRYON_ENOTSETTLED, "no candidate size draped: %s", sized->error[lo]);
        } else {
            const float *cm = p->garment_size_cm;
            struct avatar_size size = {cm[0], cm[1], cm[2], cm[3]};
            s = avatar_garment_drape(w->model, &ps->a.est.body, &ps->body, &gs->a.est, &size, NULL, w->kctx, &plain);
        }
        t_garment = time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "garment %s on person %s: %s", p->garment_id, p->person_id, tryon_errmsg());
            /* a drape that does not settle, or a size it cannot take, fails the same anywhere */
            fault = s == TRYON_ENOTSETTLED || s == TRYON_EINVAL ? "pair" : "drape";
        }
    }
    const struct avatar_mesh *garment = &draped->mesh;
    struct worker_look look;
    struct rt_film film = {0};
    if (!error[0]) {
        double t0 = time_now();
        look.body = &ps->body;
        look.garment = garment;
        avatar_mesh_bounds(&ps->body, look.bmin, look.bmax);
        rt_camera_frame(look.bmin, look.bmax, w->s->width, w->s->height, 0.06f, &look.cam);
        rt_material_preset(RT_BSDF_SKIN, ps->a.skin, &look.mats[0]);
        rt_material_preset(RT_BSDF_CLOTH, gs->a.est.color, &look.mats[1]);
        if (gs->a.tex.w)
            look.mats[1].texture = &gs->a.tex;
        look.seed = p->seed;
        enum tryon_status s = worker_render_look(w, &look, 0.0f, &film, &t_denoise);
        t_render = time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "render: %s", tryon_errmsg());
            fault = "render";
        }
    }
    struct img8 front = {0};   /* the main render, kept for the views and the sizes' files */
    if (!error[0]) {
        double t0 = time_now();
        enum tryon_status s = rt_film_to_rgba8(&film, 1.0f, &front);
        if (s == TRYON_OK) {
            char name[160];
            snprintf(name, sizeof name, "%s.png", p->garment_id);
            s = worker_write_png(w->s->out_dir, "renders", p->person_id, name, &front, sha, &bytes);
        }
        t_encode = time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "output: %s", tryon_errmsg());
            fault = "output";
        }
    }
    if (!error[0] && sized && w->s->all_sizes) {
        double t0 = time_now();
        enum tryon_status s = write_sizes(w, p, &look, &front, sized);
        t_extra += time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "size renders: %s", tryon_errmsg());
            fault = "output";
        }
    }
    char turntable[256] = "";
    if (!error[0] && w->s->views > 0) {
        double t0 = time_now();
        enum tryon_status s = worker_views_write(w, p, &look, &front, w->s->views, w->s->turntable, turntable);
        t_extra += time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "views: %s", tryon_errmsg());
            fault = "output";
        }
    }
    img8_free(&front);
    if (!error[0] && w->s->write_film) {
        double t0 = time_now();
        enum tryon_status s = write_film(w, p, &film);
        t_extra += time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "film: %s", tryon_errmsg());
            fault = "output";
        }
    }
    if (!error[0] && (w->s->write_aovs || w->s->write_meshes)) {
        double t0 = time_now();
        enum tryon_status s = TRYON_OK;
        if (w->s->write_aovs)
            s = write_aovs(w, p, &film, &look, &gs->a.tex, &ps->body, draped);
        if (s == TRYON_OK && w->s->write_meshes) {
            char rel[PATH_MAX], path[PATH_MAX];
            snprintf(rel, sizeof rel, "meshes/%s/%s.obj", p->person_id, p->garment_id);
            s = fs_join(path, sizeof path, w->s->out_dir, rel);
            if (s == TRYON_OK)
                s = fs_mkdirs_parent(path);
            const struct avatar_mesh *meshes[2] = {&ps->body, garment};
            const char *names[2] = {"body", "garment"};
            if (s == TRYON_OK)
                s = avatar_write_obj(path, meshes, names, 2);
        }
        t_extra += time_now() - t0;
        if (s) {
            snprintf(error, sizeof error, "extra outputs: %s", tryon_errmsg());
            fault = "output";
        }
    }
    double film_spp = 0;   /* the main render's mean samples per pixel (0: none rendered) */
    for (size_t i = 0, np = (size_t)film.w * film.h; i < np; i++)
        film_spp += film.spp[i] / (double)np;
    rt_film_free(&film);

    /* the record: held stages are charged to the pair that first paid for them */
    bool person_fresh = !ps->charged, garment_fresh = !gs->charged;
    ps->charged = gs->charged = true;
    double t_load = (person_fresh ? ps->t_load : 0) + (garment_fresh ? gs->t_load : 0);
    double t_seg = (person_fresh ? ps->t_segment : 0) + (garment_fresh ? gs->t_segment : 0);
    double t_body = person_fresh ? ps->t_body : 0;
    double t_estimate = garment_fresh ? gs->t_estimate : 0;
    t_garment += t_estimate;

    json_w_reset(r);
    json_obj_begin(r);
    json_key(r, "person");
    json_str(r, p->person_id);
    json_key(r, "garment");
    json_str(r, p->garment_id);
    json_key(r, "status");
    json_str(r, error[0] ? "failed" : "ok");
    json_key(r, "fault");
    json_str(r, error[0] ? fault : NULL);
    json_key(r, "error");
    json_str(r, error[0] ? error : NULL);
    json_key(r, "output");
    json_str(r, error[0] ? NULL : output);
    json_key(r, "sha256");
    json_str(r, error[0] ? NULL : sha);
    json_key(r, "bytes");
    json_int(r, (long long)bytes);
    json_key(r, "rank");
    json_int(r, rank);
    /* what the render was made from: a resume re-renders the pair when these change */
    json_key(r, "inputs");
    json_obj_begin(r);
    json_key(r, "person_sha256");
    json_str(r, ps->sha256[0] ? ps->sha256 : NULL);
    json_key(r, "garment_sha256");
    json_str(r, gs->sha256[0] ? gs->sha256 : NULL);
    json_obj_end(r);
    json_key(r, "cache");
    json_obj_begin(r);
    json_key(r, "person");
    json_str(r, worker_cache_result_name(ps->cache));
    json_key(r, "garment");
    json_str(r, worker_cache_result_name(gs->cache));
    json_obj_end(r);
    json_key(r, "seconds");
    json_obj_begin(r);
    json_key(r, "load");
    json_numf(r, t_load, 4);
    json_key(r, "segment");
    json_numf(r, t_seg, 4);
    json_key(r, "body");
    json_numf(r, t_body, 4);
    json_key(r, "garment");
    json_numf(r, t_garment, 4);
    json_key(r, "render");
    json_numf(r, t_render, 4);
    if (w->den) {   /* the denoiser's part of render */
        json_key(r, "denoise");
        json_numf(r, t_denoise, 4);
    }
    json_key(r, "encode");
    json_numf(r, t_encode + t_extra, 4);
    json_key(r, "total");
    json_numf(r, time_now() - t_start + t_load + t_seg + t_body + t_estimate, 4);
    json_obj_end(r);
    if (film_spp > 0) {   /* how the main render was sampled and finished */
        json_key(r, "render");
        json_obj_begin(r);
        json_key(r, "spp_mean");
        json_numf(r, film_spp, 5);
        json_key(r, "denoised");
        json_bool(r, w->den != NULL);
        json_obj_end(r);
    }
    if (ps->ok)
        record_body(r, ps);
    if (gs->ok)
        record_garment(r, gs);
    if (draped->steps)
        record_fit(r, draped);
    if (sized)
        worker_json_sizes(r, p, sized);
    if (!error[0] && w->s->views > 0) {
        char folder[256];
        snprintf(folder, sizeof folder, "views/%s/%s", p->person_id, p->garment_id);
        json_key(r, "views");
        json_obj_begin(r);
        json_key(r, "count");
        json_int(r, w->s->views);
        json_key(r, "folder");
        json_str(r, folder);
        json_key(r, "turntable");
        json_str(r, turntable[0] ? turntable : NULL);
        json_obj_end(r);
    }
    json_obj_end(r);
    avatar_draped_free(&plain);
    if (sized)
        worker_sized_free(sized);
    free(sized);
    /* a failure that may pass on a second try (a read error) is not cached */
    if (!ps->ok && strcmp(ps->fault, "input"))
        person_clear(ps);
    if (!gs->ok && strcmp(gs->fault, "input"))
        garment_clear(gs);
    return TRYON_OK;
}

struct avatar_model *worker_model(struct worker *w) { return w->model; }

struct worker_denoiser *worker_denoiser_of(struct worker *w) { return w->den; }

const struct worker_settings *worker_settings(const struct worker *w) { return w->s; }
