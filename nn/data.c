/* data.c: the shard dataset `tryon train` reads (written by `tryon synth` in shard mode).
 *
 * DIR/index.json names the shards of each kind ("persons", "garments", "denoise"); each shard
 * is a safetensors file with "input" U8 [n, C, S, S] (photos: C = 4, planar RGB + mask; the
 * denoiser's noisy render and its guides: C = 10, see worker/denoise.c), "target" F32 [n, T]
 * (columns = the kind's target names, NaN = absent) and, for kinds with classes, "label"
 * I32 [n], and optionally a per-sample image tensor named by the caller (the GAN's target:
 * garment shards' "back" U8 [n, 3, B, B], shape [3, B, B] in index.json kinds.<kind>.back).
 * Every shard of the asked kind is loaded into one byte array (inputs stay bytes: 20k
 * samples of 4x96x96 are 740 MB) and split by shards: the last val_shards shards are the
 * validation set. The epoch order is a pure function of (seed, epoch), so a resumed run
 * sees the same batches as an uninterrupted one. */
#include "nn/nn_internal.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DATA_INDEX_MAX ((size_t)64 << 20)  /* bytes of index.json */
#define DATA_SIDE_MAX 1024

struct nn_data_split {
    int n;
    uint8_t *input;   /* (n, C, S, S) */
    float *target;    /* (n, T) */
    int32_t *label;   /* (n), NULL without classes */
    uint8_t *image;   /* (n, C, B, B), NULL without an image tensor */
};

struct nn_data {
    int side, in_c, n_targets, n_classes; /* input (in_c, side, side) */
    char **targets, **classes;
    bool has_labels;
    char image[NN_NAME_MAX];  /* image tensor name, "" when none */
    int img_c, img_side;      /* its per-sample shape (C, B, B) */
    double img_side_m;        /* kinds.<kind>.<image>_side_m, NaN when absent */
    struct nn_data_split split[2];
};

static enum tryon_status fail_idx(const char *path, const char *what)
{
    return tryon_fail(TRYON_EFORMAT, "%s: %s", path, what);
}

/* A non-negative integral JSON number no larger than max. */
static bool json_int_in(const struct json_val *v, double max, long long *out)
{
    if (!v || v->type != JSON_NUM || v->num < 0 || v->num > max || v->num != floor(v->num))
        return false;
    *out = (long long)v->num;
    return true;
}

/* A JSON array of strings into a malloc'd array of strdup'd names; NULL v gives 0 names. */
static enum tryon_status string_list(const char *path, const char *what, const struct json_val *v, int *n,
                                     char ***out)
{
    *n = 0;
    *out = NULL;
    if (!v)
        return TRYON_OK;
    if (v->type != JSON_ARR || v->n > 4096)
        return tryon_fail(TRYON_EFORMAT, "%s: %s must be an array of at most 4096 names", path, what);
    char **names = calloc(v->n ? v->n : 1, sizeof *names);
    if (!names)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < v->n; i++) {
        const struct json_val *s = &v->items[i];
        bool ok = s->type == JSON_STR && s->str[0] && strlen(s->str) < NN_NAME_MAX;
        for (size_t k = 0; ok && k < i; k++)
            ok = strcmp(names[k], s->str) != 0;
        if (!ok || !(names[i] = strdup(s->str))) {
            for (size_t k = 0; k < i; k++)
                free(names[k]);
            free(names);
            return tryon_fail(ok ? TRYON_ENOMEM : TRYON_EFORMAT,
                              "%s: %s[%zu] must be a unique non-empty name of at most %d characters", path, what, i,
                              NN_NAME_MAX - 1);
        }
    }
    *n = (int)v->n;
    *out = names;
    return TRYON_OK;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

void nn_data_free(struct nn_data *d)
{
    if (!d)
        return;
    free_names(d->targets, d->n_targets);
    free_names(d->classes, d->n_classes);
    for (int s = 0; s < 2; s++) {
        free(d->split[s].input);
        free(d->split[s].target);
        free(d->split[s].label);
        free(d->split[s].image);
    }
    free(d);
}

/* One shard entry of index.json that belongs to the kind. */
struct shard_ref {
    const char *file;
    long long first, count;
    size_t index;     /* position in "shards", for messages */
};

/* Check one tensor of a shard: dtype and shape. */
static enum tryon_status check_tensor(const struct nn_st_file *f, const char *name, enum nn_dtype dt, int ndim,
                                      const int64_t *shape, const struct nn_st_tensor **out)
{
    const struct nn_st_tensor *t = nn_st_find(f, name);
    if (!t)
        return tryon_fail(TRYON_EFORMAT, "%s: no tensor '%s'", f->path, name);
    bool ok = t->dtype == dt && t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "";
        for (int i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "", (long long)shape[i]);
        return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' must be %s [%s]", f->path, name, nn_dtype_name(dt), want);
    }
    *out = t;
    return TRYON_OK;
}

/* Load one shard into split sp at sample offset `at`. */
static enum tryon_status load_shard(struct nn_data *d, const char *dir, const struct shard_ref *r,
                                    struct nn_data_split *sp, int at)
{
    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, dir, r->file);
    if (s < 0)
        return s;
    struct nn_st_file *f = NULL;
    s = nn_st_read(path, 0, &f);
    if (s < 0)
        return tryon_failctx(s, "shard %zu of index.json", r->index);
    const struct nn_st_tensor *ti, *tt, *tl = NULL, *tim = NULL;
    int64_t n = r->count, S = d->side;
    int64_t shp_in[4] = {n, d->in_c, S, S}, shp_t[2] = {n, d->n_targets}, shp_l[1] = {n},
            shp_im[4] = {n, d->img_c, d->img_side, d->img_side};
    s = check_tensor(f, "input", NN_U8, 4, shp_in, &ti);
    if (s == TRYON_OK)
        s = check_tensor(f, "target", NN_F32, 2, shp_t, &tt);
    if (s == TRYON_OK && d->has_labels)
        s = check_tensor(f, "label", NN_I32, 1, shp_l, &tl);
    if (s == TRYON_OK && d->image[0])
        s = check_tensor(f, d->image, NN_U8, 4, shp_im, &tim);
    if (s < 0) {
        nn_st_free(f);
        return s;
    }
    size_t per = (size_t)d->in_c * (size_t)S * (size_t)S;
    memcpy(sp->input + (size_t)at * per, f->bytes + f->data_start + ti->begin, (size_t)n * per);
    if (tim) {
        size_t pim = (size_t)d->img_c * (size_t)d->img_side * (size_t)d->img_side;
        memcpy(sp->image + (size_t)at * pim, f->bytes + f->data_start + tim->begin, (size_t)n * pim);
    }
    float *tg = sp->target + (size_t)at * (size_t)d->n_targets;
    nn_st_copy_f32(f, tt, tg);
    for (size_t i = 0; i < (size_t)n * (size_t)d->n_targets; i++)
        if (isinf(tg[i])) {
            s = tryon_fail(TRYON_EFORMAT, "%s: target of sample %zu, column '%s' is infinite", path,
                           i / (size_t)d->n_targets, d->targets[i % (size_t)d->n_targets]);
            break;
        }
    if (s == TRYON_OK && tl) {
        int32_t *lb = sp->label + at;
        nn_st_copy_i32(f, tl, lb);
        for (int64_t i = 0; i < n && s == TRYON_OK; i++)
            if (lb[i] < 0 || lb[i] >= d->n_classes)
                s = tryon_fail(TRYON_EFORMAT, "%s: label of sample %lld is %d, outside [0, %d)", path, (long long)i,
                               lb[i], d->n_classes);
    }
    nn_st_free(f);
    return s;
}

static enum tryon_status alloc_split(struct nn_data *d, struct nn_data_split *sp, const char *path)
{
    size_t per = (size_t)d->in_c * (size_t)d->side * (size_t)d->side;
    size_t n = sp->n ? (size_t)sp->n : 1;
    sp->input = malloc(n * per);
    sp->target = malloc(n * (size_t)(d->n_targets ? d->n_targets : 1) * sizeof(float));
    if (d->has_labels)
        sp->label = malloc(n * sizeof(int32_t));
    if (d->image[0])
        sp->image = malloc(n * (size_t)d->img_c * (size_t)d->img_side * (size_t)d->img_side);
    if (!sp->input || !sp->target || (d->has_labels && !sp->label) || (d->image[0] && !sp->image))
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory for %d samples", path, sp->n);
    return TRYON_OK;
}

/* Validate index.json (already parsed as root) and load the kind's shards. */
static enum tryon_status open_parsed(struct nn_data *d, const char *dir, const char *path, const struct json_val *root,
                                     const char *kind, int val_shards)
{
    char what[256];
    if (root->type != JSON_OBJ)
        return fail_idx(path, "not a JSON object");
    const char *fmt = json_get_str(root, "format");
    if (!fmt || strcmp(fmt, "tryon-shards-1") != 0)
        return fail_idx(path, "\"format\" must be \"tryon-shards-1\"");
    long long v;
    if (!json_int_in(json_get(root, "seed"), 9007199254740992.0, &v))
        return fail_idx(path, "\"seed\" must be a non-negative integer");
    const struct json_val *ho = json_get(root, "hold_out");
    if (!ho || ho->type != JSON_BOOL)
        return fail_idx(path, "\"hold_out\" must be true or false");
    const struct json_val *in = json_get(root, "input");
    long long c, h, w;
    if (!in || in->type != JSON_ARR || in->n != 3 || !json_int_in(&in->items[0], 64, &c) || c < 1 ||
        !json_int_in(&in->items[1], DATA_SIDE_MAX, &h) || !json_int_in(&in->items[2], DATA_SIDE_MAX, &w) || h != w ||
        h < 4)
        return fail_idx(path, "\"input\" must be [C, S, S] with 1 <= C <= 64 and 4 <= S <= 1024");
    d->side = (int)h;
    d->in_c = (int)c;
    const struct json_val *kinds = json_get(root, "kinds");
    if (!kinds || kinds->type != JSON_OBJ)
        return fail_idx(path, "\"kinds\" must be an object");
    const struct json_val *k = json_get(kinds, kind);
    if (!k || k->type != JSON_OBJ) {
        char have[256] = "";
        for (size_t i = 0; i < kinds->n; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "", kinds->keys[i]);
        return tryon_fail(TRYON_EFORMAT, "%s: no kind '%s' in \"kinds\" (it has: %s)", path, kind, have);
    }
    long long count;
    snprintf(what, sizeof what, "kinds.%s.count must be a non-negative integer", kind);
    if (!json_int_in(json_get(k, "count"), INT_MAX, &count))
        return fail_idx(path, what);
    snprintf(what, sizeof what, "kinds.%s.targets", kind);
    enum tryon_status s = string_list(path, what, json_get(k, "targets"), &d->n_targets, &d->targets);
    if (s < 0)
        return s;
    if (!json_get(k, "targets"))
        return tryon_fail(TRYON_EFORMAT, "%s: kinds.%s has no \"targets\"", path, kind);
    snprintf(what, sizeof what, "kinds.%s.classes", kind);
    s = string_list(path, what, json_get(k, "classes"), &d->n_classes, &d->classes);
    if (s < 0)
        return s;
    d->has_labels = d->n_classes > 0;
    d->img_side_m = NAN;
    if (d->image[0]) {
        /* kinds.<kind>.<image> = [C, B, B]; kinds.<kind>.<image>_side_m optional */
        const struct json_val *im = json_get(k, d->image);
        if (!im || im->type != JSON_ARR || im->n != 3 || !json_int_in(&im->items[0], 64, &c) || c < 1 ||
            !json_int_in(&im->items[1], DATA_SIDE_MAX, &h) || !json_int_in(&im->items[2], DATA_SIDE_MAX, &w) ||
            h != w || h < 4) {
            snprintf(what, sizeof what, "kinds.%s.%s must be [C, B, B] with 1 <= C <= 64 and 4 <= B <= 1024 (the "
                     "shape of the shards' '%s' tensor)", kind, d->image, d->image);
            return fail_idx(path, what);
        }
        d->img_c = (int)c, d->img_side = (int)h;
        char key[NN_NAME_MAX + 16];
        snprintf(key, sizeof key, "%s_side_m", d->image);
        const struct json_val *sm = json_get(k, key);
        if (sm && (sm->type != JSON_NUM || !(sm->num > 0))) {
            snprintf(what, sizeof what, "kinds.%s.%s must be a positive number", kind, key);
            return fail_idx(path, what);
        }
        if (sm)
            d->img_side_m = sm->num;
    }

    const struct json_val *sh = json_get(root, "shards");
    if (!sh || sh->type != JSON_ARR)
        return fail_idx(path, "\"shards\" must be an array");
    struct shard_ref *refs = calloc(sh->n ? sh->n : 1, sizeof *refs);
    if (!refs)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    int nr = 0;
    long long end = 0, total = 0;
    for (size_t i = 0; i < sh->n && s == TRYON_OK; i++) {
        const struct json_val *e = &sh->items[i];
        const char *file = e->type == JSON_OBJ ? json_get_str(e, "file") : NULL;
        const char *sk = e->type == JSON_OBJ ? json_get_str(e, "kind") : NULL;
        long long first, cnt;
        if (!file || !sk || !json_int_in(json_get(e, "first"), INT_MAX, &first) ||
            !json_int_in(json_get(e, "count"), INT_MAX, &cnt) || cnt == 0)
            s = tryon_fail(TRYON_EFORMAT, "%s: shards[%zu] must be {file, kind, first, count > 0}", path, i);
        else if (!json_get(kinds, sk))
            s = tryon_fail(TRYON_EFORMAT, "%s: shards[%zu]: kind '%s' is not in \"kinds\"", path, i, sk);
        else if (!file[0] || file[0] == '/' || !fs_path_inside(dir, file))
            s = tryon_fail(TRYON_EFORMAT, "%s: shards[%zu]: file '%s' is not inside %s", path, i, file, dir);
        else if (strcmp(sk, kind) == 0) {
            /* images a shard left out (unsegmentable) leave gaps, never overlaps */
            if (first < end)
                s = tryon_fail(TRYON_EFORMAT, "%s: shards[%zu]: first is %lld, inside the previous '%s' shard (which "
                               "ends at %lld): shards of a kind are in order and do not overlap", path, i, first,
                               kind, end);
            end = first + cnt;
            total += cnt;
            refs[nr++] = (struct shard_ref){file, first, cnt, i};
        }
    }
    if (s == TRYON_OK && total != count)
        s = tryon_fail(TRYON_EFORMAT, "%s: the '%s' shards hold %lld samples, kinds.%s.count says %lld", path, kind,
                       total, kind, count);
    if (s == TRYON_OK && (val_shards < 0 || val_shards >= nr))
        s = tryon_fail(TRYON_EINVAL, "%s: kind '%s' has %d shard%s: val_shards = %d leaves none to train on", path,
                       kind, nr, nr == 1 ? "" : "s", val_shards);
    int n_train_shards = nr - val_shards;
    for (int i = 0; i < nr && s == TRYON_OK; i++)
        d->split[i < n_train_shards ? NN_SPLIT_TRAIN : NN_SPLIT_VAL].n += (int)refs[i].count;
    for (int k2 = 0; k2 < 2 && s == TRYON_OK; k2++)
        s = alloc_split(d, &d->split[k2], path);
    int at[2] = {0, 0};
    for (int i = 0; i < nr && s == TRYON_OK; i++) {
        int sp = i < n_train_shards ? NN_SPLIT_TRAIN : NN_SPLIT_VAL;
        s = load_shard(d, dir, &refs[i], &d->split[sp], at[sp]);
        at[sp] += (int)refs[i].count;
    }
    free(refs);
    return s;
}

enum tryon_status nn_data_open(const char *dir, const char *kind, int val_shards, struct nn_data **out)
{
    return nn_data_open_image(dir, kind, val_shards, NULL, out);
}

enum tryon_status nn_data_open_image(const char *dir, const char *kind, int val_shards, const char *image,
                                     struct nn_data **out)
{
    *out = NULL;
    if (image && (!image[0] || strlen(image) >= NN_NAME_MAX))
        return tryon_fail(TRYON_EINVAL, "%s: image tensor name '%s' is empty or too long", dir, image);
    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, dir, "index.json");
    if (s < 0)
        return s;
    uint8_t *text = NULL;
    size_t len = 0;
    s = fs_read_all(path, DATA_INDEX_MAX, &text, &len);
    if (s < 0)
        return s;
    struct json_val *root = NULL;
    s = json_parse((const char *)text, len, path, &root);
    free(text);
    if (s < 0)
        return s;
    struct nn_data *d = calloc(1, sizeof *d);
    if (!d) {
        json_free(root);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    if (image)
        snprintf(d->image, sizeof d->image, "%s", image);
    s = open_parsed(d, dir, path, root, kind, val_shards);
    json_free(root);
    if (s < 0) {
        nn_data_free(d);
        return s;
    }
    *out = d;
    return TRYON_OK;
}

int nn_data_count(const struct nn_data *d, enum nn_split s) { return d->split[s].n; }
int nn_data_side(const struct nn_data *d) { return d->side; }
int nn_data_channels(const struct nn_data *d) { return d->in_c; }
int nn_data_n_targets(const struct nn_data *d) { return d->n_targets; }
int nn_data_n_classes(const struct nn_data *d) { return d->n_classes; }
bool nn_data_has_labels(const struct nn_data *d) { return d->has_labels; }

const char *nn_data_target_name(const struct nn_data *d, int j)
{
    assert(j >= 0 && j < d->n_targets);
    return d->targets[j];
}

const char *nn_data_class_name(const struct nn_data *d, int k)
{
    assert(k >= 0 && k < d->n_classes);
    return d->classes[k];
}

int nn_data_target_index(const struct nn_data *d, const char *name)
{
    for (int j = 0; j < d->n_targets; j++)
        if (strcmp(d->targets[j], name) == 0)
            return j;
    return -1;
}

const float *nn_data_target(const struct nn_data *d, enum nn_split s, int i)
{
    assert(i >= 0 && i < d->split[s].n);
    return d->split[s].target + (size_t)i * (size_t)d->n_targets;
}

int32_t nn_data_label(const struct nn_data *d, enum nn_split s, int i)
{
    assert(d->has_labels && i >= 0 && i < d->split[s].n);
    return d->split[s].label[i];
}

void nn_data_fill_input(const struct nn_data *d, enum nn_split s, const int32_t *idx, int n, const bool *flip,
                        float *host)
{
    int S = d->side;
    size_t per = (size_t)d->in_c * (size_t)S * (size_t)S;
    for (int i = 0; i < n; i++) {
        assert(idx[i] >= 0 && idx[i] < d->split[s].n);
        const uint8_t *src = d->split[s].input + (size_t)idx[i] * per;
        float *dst = host + (size_t)i * per;
        bool fl = flip && flip[i];
        for (size_t row = 0; row < (size_t)d->in_c * (size_t)S; row++)
            for (int x = 0; x < S; x++)
                dst[row * (size_t)S + (size_t)x] = (float)src[row * (size_t)S + (size_t)(fl ? S - 1 - x : x)] / 127.5f - 1.0f;
    }
}

bool nn_data_image_shape(const struct nn_data *d, int *c, int *side, double *side_m)
{
    if (!d->image[0])
        return false;
    *c = d->img_c, *side = d->img_side;
    if (side_m)
        *side_m = d->img_side_m;
    return true;
}

void nn_data_fill_image(const struct nn_data *d, enum nn_split s, const int32_t *idx, int n, float *host)
{
    assert(d->image[0]);
    size_t per = (size_t)d->img_c * (size_t)d->img_side * (size_t)d->img_side;
    for (int i = 0; i < n; i++) {
        assert(idx[i] >= 0 && idx[i] < d->split[s].n);
        const uint8_t *src = d->split[s].image + (size_t)idx[i] * per;
        float *dst = host + (size_t)i * per;
        for (size_t j = 0; j < per; j++)
            dst[j] = (float)src[j] / 127.5f - 1.0f;
    }
}

void nn_data_permutation(uint64_t seed, int epoch, int n, int32_t *perm)
{
    struct rng r;
    rng_seed(&r, hash_mix64(seed ^ hash_mix64(0x747261696e000000ull + (uint64_t)epoch)));
    for (int i = 0; i < n; i++)
        perm[i] = i;
    /* Fisher-Yates, drawing j uniformly in [0, i] by rejection (no modulo bias) */
    for (int i = n - 1; i > 0; i--) {
        uint64_t range = (uint64_t)i + 1, limit = UINT64_MAX - UINT64_MAX % range, x;
        do
            x = rng_u64(&r);
        while (x >= limit);
        int j = (int)(x % range);
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
