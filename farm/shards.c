/* shards.c: `tryon synth` in shard mode: training data for `tryon train` as a few large
 * files instead of one PNG per image (configs/synth/README.md, key `shards`).
 *
 * The images of each kind are cut into shards of `shards.size` consecutive images
 * (persons-00000.st, persons-00001.st, ..., then garments-00000.st, ...). Shard j of the
 * combined list is made by rank j mod world: every image is drawn and path-traced exactly as
 * in PNG mode (worker_synth_image), encoded to PNG bytes, decoded, segmented and letterboxed
 * (worker_nn_photo_input: the same bytes the worker's networks see from a catalog photo; a
 * person photo through its studio view, with the height hint where the synth gives one),
 * and its true parameters become one row of targets. A shard is one safetensors file
 * written atomically when complete, so a re-run skips the shards that exist (resume) and a
 * shard's bytes depend only on the config:
 *   "input"  U8  [n, 4, S, S]  R, G, B, mask (worker_nn_input)
 *   "target" F32 [n, T]        the kind's target columns (below); NaN = absent
 *   "label"  I32 [n]           garment shards: the garment type (avatar_garment_type)
 *   "back"   U8  [n, 3, B, B]  garment shards: the back's print, a BACK_SIDE_M square at B =
 *                              BACK_TEXELS (worker_synth_back_patch): the target of the
 *                              back-texture completion
 *   metadata: "kind", "first" (index of its first image within the kind), "count", and
 *             "truth": the images' truth objects, one JSON line each.
 * After a barrier rank 0 writes DIR/index.json: format, seed, hold_out, input shape, per
 * kind its count, target names and classes, and the shard list.
 * With `denoise:` the shards hold the denoiser's training samples instead (one kind,
 * "denoise", shards of `shards.size` scenes, worker_synth_denoise's samples of each):
 *   "input"  U8  [n, 10, C, C]  the noisy render's network input (worker_denoise_features)
 *   "target" F32 [n, 1]         "spp": the input's mean samples per pixel
 *   "clean"  U8  [n, 3, C, C]   the reference render through the display curve
 * Landmark targets are photo coordinates scaled to [-1, 1] (x / w * 2 - 1, y / h * 2 - 1). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"
#include "nn/nn.h"
#include "worker/worker.h"

#define SHARD_FORMAT "tryon-shards-1"
#define BACK_TEXELS 64
#define BACK_SIDE_M 0.32f

/* Person targets: phenotype, stature, pose (the torso turn's sign is a mirror image away,
   so its magnitude), tape measurements of the true body. */
static const char *const PERSON_TARGETS[] = {
    "gender", "age", "muscle", "weight", "proportions", "stature_m", "arm_down_deg", "leg_spread_deg",
    "torso_turn_abs_deg", "height_cm", "chest_cm", "waist_cm", "hip_cm", "inseam_cm", "shoulder_cm"};
#define N_PERSON_T (int)(sizeof PERSON_TARGETS / sizeof PERSON_TARGETS[0])
/* Garment targets: the template's size parameters, x, y of every landmark, then the look:
   base and print colours (sRGB 0..1; the print's is the base's without a print), the print
   kind one-hot and its scale in cm (NaN without a print). The look is what the back
   generator's condition must carry. */
static const char *const GARMENT_LOOK[] = {"color_r", "color_g", "color_b", "print_r", "print_g", "print_b",
                                           "print_stripes", "print_checks", "print_dots", "print_logo",
                                           "print_scale_cm"};
#define N_LOOK (int)(sizeof GARMENT_LOOK / sizeof GARMENT_LOOK[0])
#define N_GARMENT_T (2 + 2 * AVATAR_LM_N + N_LOOK)

static int n_targets(bool person) { return person ? N_PERSON_T : N_GARMENT_T; }

static void garment_target_name(int k, char *buf, size_t n)
{
    if (k < 2)
        snprintf(buf, n, "%s", k ? "sleeve" : "length");
    else if (k >= 2 + 2 * AVATAR_LM_N)
        snprintf(buf, n, "%s", GARMENT_LOOK[k - 2 - 2 * AVATAR_LM_N]);
    else
        snprintf(buf, n, "lm_%s_%c", avatar_landmark_name((enum avatar_landmark)((k - 2) / 2)), (k - 2) % 2 ? 'y' : 'x');
}

/* One truth object -> its target row (and label). */
static enum tryon_status targets_of(const struct json_val *v, bool person, float *row, int32_t *label)
{
    int T = n_targets(person);
    for (int k = 0; k < T; k++)
        row[k] = NAN;
    if (person) {
        for (int k = 0; k < 6; k++)
            row[k] = (float)json_get_num(v, PERSON_TARGETS[k], NAN);
        const struct json_val *pose = json_get(v, "pose"), *m = json_get(v, "measurements_cm");
        row[6] = (float)json_get_num(pose, "arm_down_deg", NAN);
        row[7] = (float)json_get_num(pose, "leg_spread_deg", NAN);
        row[8] = fabsf((float)json_get_num(pose, "torso_turn_deg", NAN));
        static const char *const meas[6] = {"height", "chest", "waist", "hip", "inseam", "shoulder"};
        for (int k = 0; k < 6; k++)
            row[9 + k] = (float)json_get_num(m, meas[k], NAN);
        for (int k = 0; k < T; k++)
            if (!isfinite(row[k]))
                return tryon_fail(TRYON_EFORMAT, "truth of %s lacks %s", json_get_str(v, "id"), PERSON_TARGETS[k]);
        return TRYON_OK;
    }
    enum avatar_garment_type t;
    const char *type = json_get_str(v, "type");
    if (!type || avatar_garment_type_parse(type, &t))
        return tryon_fail(TRYON_EFORMAT, "truth of %s has no garment type", json_get_str(v, "id"));
    *label = (int32_t)t;
    row[0] = (float)json_get_num(v, "length", NAN);
    row[1] = (float)json_get_num(v, "sleeve", NAN);
    const struct json_val *cam = json_get(v, "camera"), *lm = json_get(v, "landmarks");
    float w = (float)json_get_num(cam, "width", 0), h = (float)json_get_num(cam, "height", 0);
    if (!(w > 0 && h > 0))
        return tryon_fail(TRYON_EFORMAT, "truth of %s has no camera size", json_get_str(v, "id"));
    for (int l = 0; l < AVATAR_LM_N; l++) {
        const struct json_val *p = json_get(lm, avatar_landmark_name((enum avatar_landmark)l));
        if (p && p->type == JSON_ARR && p->n == 2) {
            row[2 + 2 * l] = (float)(p->items[0].num / w * 2 - 1);
            row[3 + 2 * l] = (float)(p->items[1].num / h * 2 - 1);
        }
    }
    float *look = row + 2 + 2 * AVATAR_LM_N;
    const struct json_val *base = json_get(v, "color_srgb"), *print = json_get(v, "print");
    const struct json_val *pc = json_get(print, "color_srgb");
    const char *kind = json_get_str(print, "kind");
    if (!base || base->type != JSON_ARR || base->n != 3 || !kind)
        return tryon_fail(TRYON_EFORMAT, "truth of %s has no colour or print", json_get_str(v, "id"));
    bool plain = !strcmp(kind, "none") || !pc || pc->type != JSON_ARR || pc->n != 3;
    for (int c = 0; c < 3; c++) {
        look[c] = (float)base->items[c].num;
        look[3 + c] = plain ? look[c] : (float)pc->items[c].num;
    }
    static const char *const kinds[4] = {"stripes", "checks", "dots", "logo"};
    for (int k = 0; k < 4; k++)
        look[6 + k] = strcmp(kind, kinds[k]) ? 0.0f : 1.0f;
    look[10] = plain ? NAN : (float)(100.0 * json_get_num(print, "scale_m", NAN));
    return TRYON_OK;
}

struct shard_ref {
    bool person;
    bool denoise;        /* a denoise shard (its images are scenes: persons) */
    int k;               /* shard number within its kind */
    int first, count;    /* images within the kind */
};

static int n_shards_of(int n, int size) { return (n + size - 1) / size; }

static int n_shards(const struct worker_synth_config *cfg)
{
    int np = n_shards_of(cfg->n_persons, cfg->shard_size);
    return cfg->denoise.crop ? np : np + n_shards_of(cfg->n_garments, cfg->shard_size);
}

static struct shard_ref shard_at(const struct worker_synth_config *cfg, int j)
{
    int np = n_shards_of(cfg->n_persons, cfg->shard_size);
    struct shard_ref r = {.person = j < np, .denoise = cfg->denoise.crop > 0, .k = j < np ? j : j - np};
    int total = r.person ? cfg->n_persons : cfg->n_garments;
    r.first = r.k * cfg->shard_size;
    r.count = total - r.first < cfg->shard_size ? total - r.first : cfg->shard_size;
    return r;
}

static const char *kind_name(const struct shard_ref *r)
{
    return r->denoise ? "denoise" : r->person ? "persons" : "garments";
}

static void shard_rel(const struct shard_ref *r, char *buf, size_t n)
{
    snprintf(buf, n, "shards/%s-%05d.st", kind_name(r), r->k);
}

/* A denoise shard: scenes first..first+count-1, each worker_synth_denoise_count samples. */
static enum tryon_status make_denoise_shard(struct worker *wk, const struct worker_synth_config *cfg,
                                            const struct shard_ref *r, const char *path, int threads)
{
    int per = worker_synth_denoise_count(cfg), n = per * r->count, C = cfg->denoise.crop;
    size_t in_sz = (size_t)WORKER_DENOISE_CHANNELS * C * C, tg_sz = (size_t)3 * C * C;
    uint8_t *input = malloc(in_sz * n), *clean = malloc(tg_sz * n);
    float *spp = malloc(sizeof(float) * n);
    enum tryon_status s = input && clean && spp ? TRYON_OK : tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
    for (int i = 0; i < r->count && s == TRYON_OK; i++) {
        size_t at = (size_t)i * per;
        if ((s = worker_synth_denoise(wk, cfg, r->first + i, threads, input + at * in_sz, clean + at * tg_sz,
                                      spp + at)))
            s = tryon_failctx(s, "%s: scene %d", cfg->path, r->first + i);
    }
    struct nn_st_writer *w = s == TRYON_OK ? nn_st_writer_create() : NULL;
    if (s == TRYON_OK && !w)
        s = tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
    if (s == TRYON_OK) {
        int64_t ishape[4] = {n, WORKER_DENOISE_CHANNELS, C, C}, tshape[2] = {n, 1}, cshape[4] = {n, 3, C, C};
        char first[24], count[24];
        snprintf(first, sizeof first, "%d", r->first * per);
        snprintf(count, sizeof count, "%d", n);
        if (!(s = nn_st_add(w, "input", NN_U8, 4, ishape, input)) &&
            !(s = nn_st_add(w, "target", NN_F32, 2, tshape, spp)) &&
            !(s = nn_st_add(w, "clean", NN_U8, 4, cshape, clean)) && !(s = nn_st_add_meta(w, "kind", "denoise")) &&
            !(s = nn_st_add_meta(w, "first", first)) && !(s = nn_st_add_meta(w, "count", count)) &&
            !(s = fs_mkdirs_parent(path)))
            s = nn_st_write(w, path);
    }
    nn_st_writer_free(w);
    free(input);
    free(clean);
    free(spp);
    return s;
}

/* Render one shard and write it. */
static enum tryon_status make_shard(struct worker *wk, const struct worker_synth_config *cfg, const struct shard_ref *r,
                                    const char *path, int threads)
{
    int S = cfg->input_size, T = n_targets(r->person);
    size_t in_sz = (size_t)4 * S * S;
    uint8_t *input = malloc(in_sz * r->count);
    float *target = malloc(sizeof(float) * T * r->count);
    int32_t *label = calloc((size_t)r->count, sizeof *label);
    const size_t back_sz = (size_t)3 * BACK_TEXELS * BACK_TEXELS;
    uint8_t *back = r->person ? NULL : malloc(back_sz * r->count);
    struct json_w truth;
    json_w_init(&truth);
    char *lines = NULL;   /* the truth objects of the kept images, one line each */
    size_t lines_len = 0;
    char *skipped = NULL; /* "id: why" lines of the images left out */
    size_t skipped_len = 0;
    int kept = 0;         /* images stored */
    struct img_limits lim = img_default_limits();
    enum tryon_status s = input && target && label && (r->person || back) ? TRYON_OK
                                                                           : tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
    for (int n = 0; n < r->count && s == TRYON_OK; n++) {
        int i = (r->person ? 0 : cfg->n_persons) + r->first + n;
        char id[72];
        const char *folder;
        worker_synth_image_id(cfg, i, id, &folder);
        struct img8 im;
        if ((s = worker_synth_image(wk, cfg, i, threads, &im, &truth))) {
            s = tryon_failctx(s, "%s: image %d (%s)", cfg->path, i, id);
            break;
        }
        uint8_t *png = NULL;
        size_t len = 0;
        s = img_encode_png(&im, &png, &len);
        img8_free(&im);
        struct json_val *v = NULL;   /* the image's truth: the input's height hint, the targets */
        if (s == TRYON_OK && (s = json_parse(truth.buf, truth.len, id, &v))) {
            free(png);
            s = tryon_failctx(s, "%s: image %d (%s)", cfg->path, i, id);
            break;
        }
        /* a person photo with a height hint is seen through the hint, as the worker sees it */
        float hint = -1.0f;
        if (s == TRYON_OK && r->person) {
            const struct json_val *hv = json_get(v, "height_hint");
            hint = hv && hv->b ? 100.0f * (float)json_get_num(v, "stature_m", 0) : 0.0f;
        }
        if (s == TRYON_OK)
            s = worker_nn_photo_input(png, len, id, &lim, hint, S, input + in_sz * kept);
        free(png);
        if (s == TRYON_EINVAL) {
            /* a photo the worker could not segment either (two figures, nothing left):
               left out of the shard and named in its metadata */
            json_free(v);
            char line[400];
            int ln = snprintf(line, sizeof line, "%s: %s\n", id, tryon_errmsg());
            char *ns = realloc(skipped, skipped_len + (size_t)ln + 1);
            if (!ns) {
                s = tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
                break;
            }
            skipped = ns;
            memcpy(skipped + skipped_len, line, (size_t)ln + 1);
            skipped_len += (size_t)ln;
            s = TRYON_OK;
            continue;
        }
        if (s == TRYON_OK)
            s = targets_of(v, r->person, target + (size_t)T * kept, &label[kept]);
        json_free(v);
        char *nl = s == TRYON_OK ? realloc(lines, lines_len + truth.len + 2) : NULL;
        if (s == TRYON_OK && !nl)
            s = tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
        if (s == TRYON_OK && !r->person) {
            struct worker_synth_garment g;
            worker_synth_draw_garment(cfg, r->first + n, &g);
            worker_synth_back_patch(&g, BACK_TEXELS, BACK_SIDE_M, back + back_sz * kept);
        }
        if (s == TRYON_OK) {
            lines = nl;
            memcpy(lines + lines_len, truth.buf, truth.len);
            lines_len += truth.len;
            lines[lines_len++] = '\n';
            lines[lines_len] = 0;
            kept++;
        } else {
            s = tryon_failctx(s, "%s: image %d (%s)", cfg->path, i, id);
        }
    }
    struct nn_st_writer *w = s == TRYON_OK ? nn_st_writer_create() : NULL;
    if (s == TRYON_OK && !w)
        s = tryon_fail(TRYON_ENOMEM, "out of memory for a shard");
    if (s == TRYON_OK) {
        int64_t ishape[4] = {kept, 4, S, S}, tshape[2] = {kept, T}, lshape[1] = {kept};
        int64_t bshape[4] = {kept, 3, BACK_TEXELS, BACK_TEXELS};
        char first[24], count[24];
        snprintf(first, sizeof first, "%d", r->first);
        snprintf(count, sizeof count, "%d", kept);
        if (!(s = nn_st_add(w, "input", NN_U8, 4, ishape, input)) &&
            !(s = nn_st_add(w, "target", NN_F32, 2, tshape, target)) &&
            (r->person || !(s = nn_st_add(w, "label", NN_I32, 1, lshape, label))) &&
            (r->person || !(s = nn_st_add(w, "back", NN_U8, 4, bshape, back))) &&
            !(s = nn_st_add_meta(w, "kind", r->person ? "persons" : "garments")) &&
            !(s = nn_st_add_meta(w, "first", first)) && !(s = nn_st_add_meta(w, "count", count)) &&
            !(s = nn_st_add_meta(w, "truth", lines ? lines : "")) &&
            !(s = nn_st_add_meta(w, "skipped", skipped ? skipped : "")) && !(s = fs_mkdirs_parent(path)))
            s = nn_st_write(w, path);
    }
    nn_st_writer_free(w);
    json_w_free(&truth);
    free(lines);
    free(skipped);
    free(input);
    free(target);
    free(label);
    free(back);
    return s;
}

/* Rank 0: DIR/index.json; the counts are the images each shard kept (its "count"). */
static enum tryon_status write_index(const struct worker_synth_config *cfg, const char *out)
{
    int n = n_shards(cfg);
    int *kept = calloc((size_t)n, sizeof *kept), total[2] = {0, 0};
    if (!kept)
        return tryon_fail(TRYON_ENOMEM, "out of memory for the index");
    for (int k = 0; k < n; k++) {
        struct shard_ref r = shard_at(cfg, k);
        char rel[64], path[PATH_MAX];
        struct nn_st_file *f = NULL;
        shard_rel(&r, rel, sizeof rel);
        enum tryon_status s = fs_join(path, sizeof path, out, rel);
        if (s == TRYON_OK)
            s = nn_st_read(path, 0, &f);
        const char *c = s ? NULL : nn_st_meta(f, "count");
        if (s == TRYON_OK && !c)
            s = tryon_fail(TRYON_EFORMAT, "%s: no count", path);
        if (s == TRYON_OK)
            total[r.person] += kept[k] = atoi(c);
        nn_st_free(f);
        if (s) {
            free(kept);
            return s;
        }
    }
    struct json_w j;
    json_w_init(&j);
    json_obj_begin(&j);
    json_key(&j, "format"); json_str(&j, SHARD_FORMAT);
    json_key(&j, "config"); json_str(&j, cfg->path);
    json_key(&j, "seed"); json_int(&j, (long long)cfg->seed);
    json_key(&j, "hold_out"); json_bool(&j, cfg->hold_out);
    json_key(&j, "size"); json_arr_begin(&j); json_int(&j, cfg->width); json_int(&j, cfg->height); json_arr_end(&j);
    json_key(&j, "spp"); json_int(&j, cfg->spp);
    int C = cfg->denoise.crop;
    json_key(&j, "input");
    json_arr_begin(&j);
    if (C) {
        json_int(&j, WORKER_DENOISE_CHANNELS); json_int(&j, C); json_int(&j, C);
    } else {
        json_int(&j, 4); json_int(&j, cfg->input_size); json_int(&j, cfg->input_size);
    }
    json_arr_end(&j);
    json_key(&j, "kinds");
    json_obj_begin(&j);
    if (C) {
        json_key(&j, "denoise");
        json_obj_begin(&j);
        json_key(&j, "count"); json_int(&j, total[1]);
        json_key(&j, "targets"); json_arr_begin(&j); json_str(&j, "spp"); json_arr_end(&j);
        json_key(&j, "clean"); json_arr_begin(&j); json_int(&j, 3); json_int(&j, C); json_int(&j, C); json_arr_end(&j);
        json_obj_end(&j);
    }
    for (int person = 1; person >= 0 && !C; person--) {
        json_key(&j, person ? "persons" : "garments");
        json_obj_begin(&j);
        json_key(&j, "count"); json_int(&j, total[person]);
        json_key(&j, "targets");
        json_arr_begin(&j);
        for (int k = 0; k < n_targets(person); k++) {
            char name[64];
            if (person)
                snprintf(name, sizeof name, "%s", PERSON_TARGETS[k]);
            else
                garment_target_name(k, name, sizeof name);
            json_str(&j, name);
        }
        json_arr_end(&j);
        if (!person) {
            json_key(&j, "classes");
            json_arr_begin(&j);
            for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++)
                json_str(&j, avatar_garment_type_name((enum avatar_garment_type)t));
            json_arr_end(&j);
            json_key(&j, "back");
            json_arr_begin(&j); json_int(&j, 3); json_int(&j, BACK_TEXELS); json_int(&j, BACK_TEXELS); json_arr_end(&j);
            json_key(&j, "back_side_m"); json_numf(&j, BACK_SIDE_M, 4);
        }
        json_obj_end(&j);
    }
    json_obj_end(&j);
    json_key(&j, "shards");
    json_arr_begin(&j);
    for (int k = 0; k < n; k++) {
        struct shard_ref r = shard_at(cfg, k);
        char rel[64];
        shard_rel(&r, rel, sizeof rel);
        json_obj_begin(&j);
        json_key(&j, "file"); json_str(&j, rel);
        json_key(&j, "kind"); json_str(&j, kind_name(&r));
        json_key(&j, "first"); json_int(&j, r.denoise ? r.first * worker_synth_denoise_count(cfg) : r.first);
        json_key(&j, "count"); json_int(&j, kept[k]);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, out, "index.json");
    if (s == TRYON_OK)
        s = fs_write_atomic(path, j.buf, j.len);
    json_w_free(&j);
    free(kept);
    return s;
}

int farm_synth_shards(struct worker *wk, const struct worker_synth_config *cfg, const char *out, int rank, int world,
                      int threads, bool quiet)
{
    int n = n_shards(cfg);
    int code = 0;
    for (int j = rank; j < n && !code; j += world) {
        if (farm_stop_requested) {
            code = FARM_EXIT_REQUEUE;
            break;
        }
        struct shard_ref r = shard_at(cfg, j);
        char rel[64], path[PATH_MAX];
        shard_rel(&r, rel, sizeof rel);
        if (fs_join(path, sizeof path, out, rel)) {
            fprintf(stderr, "tryon synth: %s\n", tryon_errmsg());
            return FARM_EXIT_ENV;
        }
        if (fs_exists(path)) {
            if (!quiet)
                printf("  %s (done)\n", path);
            continue;
        }
        double t0 = time_now();
        if (r.denoise ? make_denoise_shard(wk, cfg, &r, path, threads) : make_shard(wk, cfg, &r, path, threads)) {
            fprintf(stderr, "tryon synth: %s: %s\n", path, tryon_errmsg());
            code = FARM_EXIT_ENV;
        } else if (!quiet) {
            printf("  %s (%d images, %.1f s)\n", path, r.count, time_now() - t0);
            fflush(stdout);
        }
    }
    if (world > 1)
        comm_barrier();
    if (rank == 0 && !code && !farm_stop_requested) {
        if (write_index(cfg, out)) {
            fprintf(stderr, "tryon synth: %s: %s\n", out, tryon_errmsg());
            return FARM_EXIT_ENV;
        }
        if (!quiet)
            printf("tryon synth: %d shards complete in %s\n", n, out);
    } else if (farm_stop_requested && !code) {
        code = FARM_EXIT_REQUEUE;
    }
    return code;
}
