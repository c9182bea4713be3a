/* synth_config.c: the synth config (YAML in configs/synth/) and the random draw of each
 * image's parameters.
 *
 * Parsing validates everything up front with messages naming path:line (unknown keys,
 * ranges outside what the body model or the renderer accepts, unknown types and prints),
 * so a long synth job never fails half way through on a typo. Drawing is a pure function
 * of (config, image index): an RNG seeded by hash(seed, index) is read in a fixed order,
 * and classes (garment type, print, colour list) are assigned in turn by index so every
 * set is balanced. */
#include "worker/internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const ROOT_KEYS[] = {"seed", "size", "spp", "hold_out", "catalog", "catalog_preset",
                                        "shards", "denoise", "persons", "garments", NULL};
static const char *const SHARD_KEYS[] = {"size", "input", NULL};
static const char *const DENOISE_KEYS[] = {"crop", "crops", "spp", "adaptive", "reference_spp", "size", NULL};
static const char *const PERSON_KEYS[] = {"count", "ids", "alpha", "height_hint", "clothed", "gender", "age",
                                          "muscle", "weight", "proportions", "ethnic_mix", "stature_cm", "arm_down_deg",
                                          "leg_spread_deg", "torso_turn_deg",
                                          "camera_distance_m", "camera_height_m", "camera_tilt_deg",
                                          "camera_vfov_deg", "key", "fill", "backdrop", "skin", "blur_px",
                                          "noise", "blocking", NULL};
static const char *const GARMENT_KEYS[] = {"count", "ids", "types", "prints", "styles", "colors", "length",
                                           "sleeve", "print_scale_m", "type_hint", "blur_px", "noise", "blocking",
                                           NULL};

#define SYNTH_MAX_IMAGES 100000   /* per kind; far above any data set we make */

static enum tryon_status parse_denoise(const struct yml_doc *doc, const struct yml_node *n,
                                       struct worker_synth_config *c);

const char *worker_print_name(enum worker_print p)
{
    static const char *const names[WORKER_PRINT_N] = {"none", "stripes", "checks", "dots", "logo"};
    return (int)p >= 0 && p < WORKER_PRINT_N ? names[p] : "?";
}

static const char *print_name(int k) { return worker_print_name((enum worker_print)k); }
static const char *style_name(int k) { return avatar_garment_style_name((enum avatar_garment_style)k); }

/* The list under `key`: 1 to max names, each one of the n_names that name_of gives
   (`expected` says them in the error), as indices into idx; *count is how many (0 when the
   key is absent). Errors name file:line. */
static enum tryon_status name_list(const struct yml_doc *doc, const struct yml_node *m, const char *key,
                                   const char *item, int max, int n_names, const char *(*name_of)(int),
                                   const char *expected, int *count, int *idx)
{
    *count = 0;
    const struct yml_node *n = yml_get(m, key);
    if (!n)
        return TRYON_OK;
    enum tryon_status s = yml_expect(doc, n, YML_SEQ, key);
    if (s)
        return s;
    if (n->n < 1 || n->n > max)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must list 1 to %d names", doc->path, n->line, key, max);
    for (int i = 0; i < n->n; i++) {
        const char *str;
        if ((s = yml_as_str(doc, n->items[i], item, &str)))
            return s;
        int k = 0;
        while (k < n_names && strcmp(str, name_of(k)))
            k++;
        if (k == n_names)
            return tryon_fail(TRYON_EINVAL, "%s:%d: unknown %s '%.80s' (expected %s)", doc->path, n->items[i]->line,
                              item, str, expected);
        idx[i] = k;
    }
    *count = n->n;
    return TRYON_OK;
}

/* Ids name files: [A-Za-z0-9_.-]{1,64}, not "." or "..". */
static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.' || *s == '-'))
            return false;
    return true;
}

/* A number in [lo, hi]. */
static enum tryon_status num_in(const struct yml_doc *doc, const struct yml_node *n, const char *what, double lo,
                                double hi, float *out)
{
    double v;
    enum tryon_status s = yml_as_double(doc, n, what, &v);
    if (s)
        return s;
    if (!(v >= lo && v <= hi))
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be between %g and %g, not %s", doc->path, n->line, what, lo,
                          hi, n->str);
    *out = (float)v;
    return TRYON_OK;
}

/* An optional range key: absent keeps *r; a number gives [v, v]; [lo, hi] with lo <= hi,
   both inside [min, max]. */
static enum tryon_status range_key(const struct yml_doc *doc, const struct yml_node *map, const char *key,
                                   double min, double max, struct worker_synth_range *r)
{
    const struct yml_node *n = yml_get(map, key);
    if (!n)
        return TRYON_OK;
    enum tryon_status s;
    if (n->kind == YML_SCALAR) {
        if ((s = num_in(doc, n, key, min, max, &r->lo)))
            return s;
        r->hi = r->lo;
        return TRYON_OK;
    }
    if (n->kind != YML_SEQ || n->n != 2)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be a number or a [low, high] pair", doc->path, n->line, key);
    if ((s = num_in(doc, n->items[0], key, min, max, &r->lo)) || (s = num_in(doc, n->items[1], key, min, max, &r->hi)))
        return s;
    if (r->lo > r->hi)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s: low %g is above high %g", doc->path, n->line, key, r->lo, r->hi);
    return TRYON_OK;
}

static enum tryon_status frac_key(const struct yml_doc *doc, const struct yml_node *map, const char *key, float *out)
{
    const struct yml_node *n = yml_get(map, key);
    return n ? num_in(doc, n, key, 0.0, 1.0, out) : TRYON_OK;
}

static enum tryon_status count_key(const struct yml_doc *doc, const struct yml_node *map, const char *what,
                                   int *out)
{
    const struct yml_node *n = yml_get(map, "count");
    if (!n)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s is missing required key 'count'", doc->path, map->line, what);
    long long v;
    enum tryon_status s = yml_as_int(doc, n, "count", &v);
    if (s)
        return s;
    if (v < 0 || v > SYNTH_MAX_IMAGES)
        return tryon_fail(TRYON_EINVAL, "%s:%d: count must be between 0 and %d, not %s", doc->path, n->line,
                          SYNTH_MAX_IMAGES, n->str);
    *out = (int)v;
    return TRYON_OK;
}

/* Optional list of `count` ids, unique and valid. */
static enum tryon_status ids_key(const struct yml_doc *doc, const struct yml_node *map, int count, char ***out)
{
    const struct yml_node *n = yml_get(map, "ids");
    if (!n)
        return TRYON_OK;
    enum tryon_status s = yml_expect(doc, n, YML_SEQ, "ids");
    if (s)
        return s;
    if (n->n != count)
        return tryon_fail(TRYON_EINVAL, "%s:%d: ids lists %d names for count %d", doc->path, n->line, n->n, count);
    char **ids = calloc((size_t)count + 1, sizeof *ids);
    if (!ids)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    *out = ids;
    for (int i = 0; i < count; i++) {
        const char *str;
        if ((s = yml_as_str(doc, n->items[i], "id", &str)))
            return s;
        if (!id_valid(str))
            return tryon_fail(TRYON_EINVAL, "%s:%d: id '%.80s' must match [A-Za-z0-9_.-]{1,64}", doc->path,
                              n->items[i]->line, str);
        for (int k = 0; k < i; k++)
            if (!strcmp(ids[k], str))
                return tryon_fail(TRYON_EINVAL, "%s:%d: id '%s' is listed twice", doc->path, n->items[i]->line, str);
        if (!(ids[i] = strdup(str)))
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    }
    return TRYON_OK;
}

static enum tryon_status parse_persons(const struct yml_doc *doc, const struct yml_node *m,
                                       struct worker_synth_config *c)
{
    enum tryon_status s;
    const struct yml_node *em = yml_get(m, "ethnic_mix");
    if (em && (s = yml_as_bool(doc, em, "ethnic_mix", &c->ethnic_mix)))
        return s;
    if ((s = yml_expect(doc, m, YML_MAP, "persons")) || (s = yml_check_keys(doc, m, PERSON_KEYS)) ||
        (s = count_key(doc, m, "persons", &c->n_persons)) || (s = ids_key(doc, m, c->n_persons, &c->person_ids)) ||
        (s = frac_key(doc, m, "alpha", &c->alpha_fraction)) ||
        (s = frac_key(doc, m, "height_hint", &c->hint_fraction)) ||
        (s = frac_key(doc, m, "clothed", &c->clothed_fraction)) ||
        (s = range_key(doc, m, "gender", 0, 1, &c->gender)) || (s = range_key(doc, m, "age", 0, 1, &c->age)) ||
        (s = range_key(doc, m, "muscle", 0, 1, &c->muscle)) || (s = range_key(doc, m, "weight", 0, 1, &c->weight)) ||
        (s = range_key(doc, m, "proportions", 0, 1, &c->proportions)) ||
        (s = range_key(doc, m, "stature_cm", 120, 210, &c->stature_cm)) ||
        (s = range_key(doc, m, "arm_down_deg", -20, 60, &c->arm_down_deg)) ||
        (s = range_key(doc, m, "leg_spread_deg", -5, 20, &c->leg_spread_deg)) ||
        (s = range_key(doc, m, "torso_turn_deg", -30, 30, &c->torso_turn_deg)) ||
        (s = range_key(doc, m, "camera_distance_m", 1.5, 8.0, &c->cam_distance_m)) ||
        (s = range_key(doc, m, "camera_height_m", 0.3, 2.2, &c->cam_height_m)) ||
        (s = range_key(doc, m, "camera_tilt_deg", -25, 25, &c->cam_tilt_deg)) ||
        (s = range_key(doc, m, "camera_vfov_deg", 10, 60, &c->cam_vfov_deg)) ||
        (s = range_key(doc, m, "key", 0.3, 2.0, &c->key)) || (s = range_key(doc, m, "fill", 0.3, 2.0, &c->fill)) ||
        (s = range_key(doc, m, "backdrop", 0.05, 0.9, &c->backdrop)) ||
        (s = range_key(doc, m, "skin", 0, 1, &c->skin)) || (s = range_key(doc, m, "blur_px", 0, 4, &c->blur_px)) ||
        (s = range_key(doc, m, "noise", 0, 30, &c->noise)) || (s = range_key(doc, m, "blocking", 0, 2, &c->blocking)))
        return s;
    return TRYON_OK;
}

static enum tryon_status parse_garments(const struct yml_doc *doc, const struct yml_node *m,
                                        struct worker_synth_config *c)
{
    enum tryon_status s;
    if ((s = yml_expect(doc, m, YML_MAP, "garments")) || (s = yml_check_keys(doc, m, GARMENT_KEYS)) ||
        (s = count_key(doc, m, "garments", &c->n_garments)) ||
        (s = ids_key(doc, m, c->n_garments, &c->garment_ids)) || (s = range_key(doc, m, "length", 0, 1, &c->length)) ||
        (s = range_key(doc, m, "sleeve", 0, 1, &c->sleeve)) ||
        (s = range_key(doc, m, "print_scale_m", 0.01, 0.2, &c->print_scale_m)) ||
        (s = frac_key(doc, m, "type_hint", &c->type_hint_fraction)) ||
        (s = range_key(doc, m, "blur_px", 0, 4, &c->g_blur_px)) ||
        (s = range_key(doc, m, "noise", 0, 30, &c->g_noise)) ||
        (s = range_key(doc, m, "blocking", 0, 2, &c->g_blocking)))
        return s;
    const struct yml_node *n;
    if ((n = yml_get(m, "types"))) {
        if ((s = yml_expect(doc, n, YML_SEQ, "types")))
            return s;
        if (n->n < 1 || n->n > 16)
            return tryon_fail(TRYON_EINVAL, "%s:%d: types must list 1 to 16 names", doc->path, n->line);
        c->n_types = n->n;
        for (int i = 0; i < n->n; i++) {
            const char *str;
            if ((s = yml_as_str(doc, n->items[i], "type", &str)))
                return s;
            if (avatar_garment_type_parse(str, &c->types[i]))
                return tryon_failctx(TRYON_EINVAL, "%s:%d", doc->path, n->items[i]->line);
        }
    }
    int idx[16], nl;
    if ((s = name_list(doc, m, "prints", "print", 16, WORKER_PRINT_N, print_name, "none, stripes, checks, dots or logo",
                       &nl, idx)))
        return s;
    if (nl)
        c->n_prints = nl;
    for (int i = 0; i < nl; i++)
        c->prints[i] = (enum worker_print)idx[i];
    if ((s = name_list(doc, m, "styles", "style", 8, AVATAR_STYLE_N, style_name, "ghost, flat or hanger", &nl, idx)))
        return s;
    if (nl)
        c->n_styles = nl;
    for (int i = 0; i < nl; i++)
        c->styles[i] = (enum avatar_garment_style)idx[i];
    if ((n = yml_get(m, "colors"))) {
        if ((s = yml_expect(doc, n, YML_SEQ, "colors")))
            return s;
        if (n->n < 1 || n->n > 16)
            return tryon_fail(TRYON_EINVAL, "%s:%d: colors must list 1 to 16 [r, g, b] triples", doc->path, n->line);
        c->n_colors = n->n;
        for (int i = 0; i < n->n; i++) {
            const struct yml_node *t = n->items[i];
            if (t->kind != YML_SEQ || t->n != 3)
                return tryon_fail(TRYON_EINVAL, "%s:%d: a colour is an sRGB triple [r, g, b] in [0, 1]", doc->path,
                                  t->line);
            for (int k = 0; k < 3; k++)
                if ((s = num_in(doc, t->items[k], "colour component", 0, 1, &c->colors[i][k])))
                    return s;
        }
    }
    return TRYON_OK;
}

static void config_defaults(struct worker_synth_config *c)
{
    c->width = 256, c->height = 384, c->spp = 64;
    c->write_catalog = true;
    snprintf(c->catalog_preset, sizeof c->catalog_preset, "preview");
    c->alpha_fraction = 0.5f, c->hint_fraction = 0.0f, c->clothed_fraction = 1.0f;
    c->gender = (struct worker_synth_range){0, 1};
    c->age = (struct worker_synth_range){0.35f, 0.65f};
    c->muscle = (struct worker_synth_range){0.3f, 0.7f};
    c->weight = (struct worker_synth_range){0.2f, 0.85f};
    c->proportions = (struct worker_synth_range){0.5f, 0.5f};
    c->stature_cm = (struct worker_synth_range){155, 195};
    c->arm_down_deg = (struct worker_synth_range){0, 0};
    c->leg_spread_deg = (struct worker_synth_range){0, 0};
    c->torso_turn_deg = (struct worker_synth_range){0, 0};
    c->ethnic_mix = true;
    c->cam_distance_m = (struct worker_synth_range){5, 5};
    c->cam_height_m = (struct worker_synth_range){0.95f, 0.95f};
    c->cam_tilt_deg = (struct worker_synth_range){0, 0};
    c->cam_vfov_deg = (struct worker_synth_range){27, 27};
    c->blur_px = c->noise = c->blocking = (struct worker_synth_range){0, 0};
    c->key = (struct worker_synth_range){0.85f, 1.15f};
    c->fill = (struct worker_synth_range){0.8f, 1.1f};
    c->backdrop = (struct worker_synth_range){0.45f, 0.7f};
    c->skin = (struct worker_synth_range){0, 1};
    c->n_types = AVATAR_GARMENT_NTYPES;
    for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++)
        c->types[t] = (enum avatar_garment_type)t;
    c->n_styles = 1;
    c->styles[0] = AVATAR_STYLE_GHOST;
    c->n_prints = WORKER_PRINT_N;
    for (int p = 0; p < WORKER_PRINT_N; p++)
        c->prints[p] = (enum worker_print)p;
    c->length = c->sleeve = (struct worker_synth_range){-1, -1};   /* per type, see type_ranges */
    c->print_scale_m = (struct worker_synth_range){0.03f, 0.07f};
    c->g_blur_px = c->g_noise = c->g_blocking = (struct worker_synth_range){0, 0};
}

enum tryon_status worker_synth_config_load(const char *path, struct worker_synth_config *c)
{
    memset(c, 0, sizeof *c);
    config_defaults(c);
    if (!(c->path = strdup(path)))
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    struct yml_doc *doc;
    enum tryon_status s = yml_load_file(path, 1 << 20, &doc);
    if (s)
        return s;
    const struct yml_node *root = doc->root, *n;
    if (!root) {
        s = tryon_fail(TRYON_EINVAL, "%s:1: the config is empty", path);
        goto done;
    }
    if ((s = yml_expect(doc, root, YML_MAP, "the config")) || (s = yml_check_keys(doc, root, ROOT_KEYS)))
        goto done;
    if (!(n = yml_get(root, "seed"))) {
        s = tryon_fail(TRYON_EINVAL, "%s:%d: the config is missing required key 'seed'", path, root->line);
        goto done;
    }
    long long v;
    if ((s = yml_as_int(doc, n, "seed", &v)))
        goto done;
    if (v < 0) {
        s = tryon_fail(TRYON_EINVAL, "%s:%d: seed must be >= 0", path, n->line);
        goto done;
    }
    c->seed = (uint64_t)v;
    if ((n = yml_get(root, "size"))) {
        float wh[2];
        if (n->kind != YML_SEQ || n->n != 2) {
            s = tryon_fail(TRYON_EINVAL, "%s:%d: size must be [width, height]", path, n->line);
            goto done;
        }
        for (int k = 0; k < 2; k++) {
            if ((s = num_in(doc, n->items[k], k ? "height" : "width", 16, 8192, &wh[k])))
                goto done;
            if (wh[k] != floorf(wh[k])) {
                s = tryon_fail(TRYON_EINVAL, "%s:%d: size must be whole pixels", path, n->line);
                goto done;
            }
        }
        c->width = (int)wh[0], c->height = (int)wh[1];
    }
    if ((n = yml_get(root, "spp"))) {
        float spp;
        if ((s = num_in(doc, n, "spp", 1, 65536, &spp)))
            goto done;
        c->spp = (int)spp;
    }
    if ((n = yml_get(root, "shards"))) {
        const struct yml_node *k;
        float v;
        if ((s = yml_expect(doc, n, YML_MAP, "shards")) || (s = yml_check_keys(doc, n, SHARD_KEYS)))
            goto done;
        if (!(k = yml_get(n, "size"))) {
            s = tryon_fail(TRYON_EINVAL, "%s:%d: shards needs 'size' (images per shard file)", path, n->line);
            goto done;
        }
        if ((s = num_in(doc, k, "shards.size", 1, 65536, &v)))
            goto done;
        if (v != floorf(v)) {
            s = tryon_fail(TRYON_EINVAL, "%s:%d: shards.size must be a whole number", path, k->line);
            goto done;
        }
        c->shard_size = (int)v;
        c->input_size = 96;
        if ((k = yml_get(n, "input"))) {
            if ((s = num_in(doc, k, "shards.input", 16, 1024, &v)))
                goto done;
            if (v != floorf(v) || ((int)v & 7)) {
                s = tryon_fail(TRYON_EINVAL, "%s:%d: shards.input must be a whole multiple of 8", path, k->line);
                goto done;
            }
            c->input_size = (int)v;
        }
    }
    if ((n = yml_get(root, "denoise")) && (s = parse_denoise(doc, n, c)))
        goto done;
    if ((n = yml_get(root, "hold_out")) && (s = yml_as_bool(doc, n, "hold_out", &c->hold_out)))
        goto done;
    if ((n = yml_get(root, "catalog")) && (s = yml_as_bool(doc, n, "catalog", &c->write_catalog)))
        goto done;
    if ((n = yml_get(root, "catalog_preset"))) {
        const char *str;
        struct worker_settings ws;
        if ((s = yml_as_str(doc, n, "catalog_preset", &str)))
            goto done;
        if (worker_preset(str, &ws)) {
            s = tryon_failctx(TRYON_EINVAL, "%s:%d", path, n->line);
            goto done;
        }
        snprintf(c->catalog_preset, sizeof c->catalog_preset, "%s", str);
    }
    if (!(n = yml_get(root, "persons")) || (s = parse_persons(doc, n, c))) {
        if (!n)
            s = tryon_fail(TRYON_EINVAL, "%s:%d: the config is missing required key 'persons'", path, root->line);
        goto done;
    }
    if (!(n = yml_get(root, "garments")) || (s = parse_garments(doc, n, c))) {
        if (!n)
            s = tryon_fail(TRYON_EINVAL, "%s:%d: the config is missing required key 'garments'", path, root->line);
        goto done;
    }
    /* person and garment ids share the truth/ folder, so they must differ */
    for (int i = 0; c->person_ids && c->garment_ids && i < c->n_persons; i++)
        for (int j = 0; j < c->n_garments; j++)
            if (!strcmp(c->person_ids[i], c->garment_ids[j])) {
                s = tryon_fail(TRYON_EINVAL, "%s:%d: id '%s' names a person and a garment", path,
                               yml_get(yml_get(root, "garments"), "ids")->line, c->garment_ids[j]);
                goto done;
            }
done:
    yml_free(doc);
    return s;
}

/* A whole number of key `key` of map in [lo, hi]; absent: dflt (or an error when required). */
static enum tryon_status whole_key(const struct yml_doc *doc, const struct yml_node *map, const char *key, int lo,
                                   int hi, int dflt, bool required, int *out)
{
    const struct yml_node *n = yml_get(map, key);
    *out = dflt;
    if (!n)
        return required ? tryon_fail(TRYON_EINVAL, "%s:%d: denoise needs '%s'", doc->path, map->line, key) : TRYON_OK;
    float v;
    char what[48];
    snprintf(what, sizeof what, "denoise.%s", key);
    enum tryon_status s = num_in(doc, n, what, lo, hi, &v);
    if (s == TRYON_OK && v != floorf(v))
        s = tryon_fail(TRYON_EINVAL, "%s:%d: %s must be a whole number", doc->path, n->line, what);
    if (s == TRYON_OK)
        *out = (int)v;
    return s;
}

/* `denoise: {crop, crops, spp: [..], adaptive, reference_spp, size: [w, h]}` (needs shards). */
static enum tryon_status parse_denoise(const struct yml_doc *doc, const struct yml_node *n,
                                       struct worker_synth_config *c)
{
    struct worker_synth_denoise *d = &c->denoise;
    enum tryon_status s;
    if ((s = yml_expect(doc, n, YML_MAP, "denoise")) || (s = yml_check_keys(doc, n, DENOISE_KEYS)))
        return s;
    if (c->shard_size <= 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: denoise writes training shards: give 'shards' too", doc->path,
                          n->line);
    if ((s = whole_key(doc, n, "crop", 16, 512, 0, true, &d->crop)) ||
        (s = whole_key(doc, n, "crops", 1, 64, 4, false, &d->crops)) ||
        (s = whole_key(doc, n, "reference_spp", 1, 65536, 256, false, &d->reference_spp)))
        return s;
    if (d->crop % 8)
        return tryon_fail(TRYON_EINVAL, "%s:%d: denoise.crop must be a multiple of 8", doc->path, n->line);
    const struct yml_node *k = yml_get(n, "spp");
    if (!k || k->kind != YML_SEQ || k->n < 1 || k->n > 8)
        return tryon_fail(TRYON_EINVAL, "%s:%d: denoise.spp must list 1 to 8 sample counts", doc->path,
                          k ? k->line : n->line);
    d->n_spp = (int)k->n;
    for (int i = 0; i < d->n_spp; i++) {
        float v;
        if ((s = num_in(doc, k->items[i], "denoise.spp", 1, 4096, &v)))
            return s;
        d->spp[i] = (int)v;
    }
    d->adaptive = true;
    if ((k = yml_get(n, "adaptive")) && (s = yml_as_bool(doc, k, "denoise.adaptive", &d->adaptive)))
        return s;
    d->width = 1024, d->height = 1536;
    if ((k = yml_get(n, "size"))) {
        if (k->kind != YML_SEQ || k->n != 2)
            return tryon_fail(TRYON_EINVAL, "%s:%d: denoise.size must be [width, height]", doc->path, k->line);
        float wh[2];
        for (int i = 0; i < 2; i++)
            if ((s = num_in(doc, k->items[i], "denoise.size", 64, 8192, &wh[i])))
                return s;
        d->width = (int)wh[0], d->height = (int)wh[1];
    }
    if (d->crop > d->width || d->crop > d->height)
        return tryon_fail(TRYON_EINVAL, "%s:%d: denoise.crop %d is larger than the %dx%d image", doc->path, n->line,
                          d->crop, d->width, d->height);
    return TRYON_OK;
}

static void free_ids(char **ids)
{
    for (char **p = ids; p && *p; p++)
        free(*p);
    free(ids);
}

void worker_synth_config_free(struct worker_synth_config *c)
{
    free(c->path);
    free_ids(c->person_ids);
    free_ids(c->garment_ids);
    memset(c, 0, sizeof *c);
}

int worker_synth_count(const struct worker_synth_config *c) { return c->n_persons + c->n_garments; }

void worker_synth_image_id(const struct worker_synth_config *c, int i, char id[72], const char **folder)
{
    assert(i >= 0 && i < worker_synth_count(c));
    if (i < c->n_persons) {
        *folder = "persons";
        if (c->person_ids)
            snprintf(id, 72, "%s", c->person_ids[i]);
        else
            snprintf(id, 72, "p%04d", i);
    } else {
        int j = i - c->n_persons;
        *folder = "garments";
        if (c->garment_ids)
            snprintf(id, 72, "%s", c->garment_ids[j]);
        else
            snprintf(id, 72, "g%04d", j);
    }
}

/* The RNG of image i of kind k (0 person, 1 garment) and of slot `slot` within it. */
static void image_rng(const struct worker_synth_config *c, int kind, int i, int slot, struct rng *r)
{
    uint64_t key[4] = {c->seed, (uint64_t)kind, (uint64_t)i, (uint64_t)slot};
    rng_seed(r, hash64(key, sizeof key, 0x73796e7468ULL));
}

static float draw(struct rng *r, struct worker_synth_range g) { return g.lo + (g.hi - g.lo) * rng_float(r); }

/* Frame person p's whole figure in a width x height photo through its drawn camera, as a
   photographer would: stepping back from the drawn distance until the figure fits the field
   of view, then tilting no further than keeps it in frame (the drawn tilt kept when it
   does). The figure: feet 2 cm below the floor to 3 cm above the stature, within 98% of the
   half field of view from the optical axis; the arms' reach (0.36 of the stature plus 3 cm
   to either side; the demo's A-poses reach 0.33) within 98% of the half width. The standard
   camera (5 m, level) frames every figure up to 2.10 m as it is. */
static void synth_frame(struct worker_synth_person *p, int width, int height)
{
    float stature = p->body.stature_m > 0.0f ? p->body.stature_m : 1.75f;
    float rad = (float)M_PI / 180.0f, half_v = 0.98f * 0.5f * p->cam_vfov_deg * rad;
    float tan_h = 0.98f * tanf(0.5f * p->cam_vfov_deg * rad) * (float)width / (float)height;
    float reach = 0.36f * stature + 0.03f, d = p->cam_distance_m, lo = 0.0f, hi = 0.0f;
    for (int k = 0; k < 200; k++, d *= 1.02f) {
        lo = atan2f(-0.02f - p->cam_height_m, d), hi = atan2f(stature + 0.03f - p->cam_height_m, d);
        if (hi - lo <= 2.0f * half_v && reach <= d * tan_h)
            break;
    }
    float t = p->cam_tilt_deg * rad;
    t = fminf(fmaxf(t, hi - half_v), lo + half_v);
    p->cam_distance_m = d;
    p->cam_tilt_deg = t / rad;
}

/* i-th of n gets the flag when floor((i+1) f) > floor(i f): exactly round-down(n f) of
   every n consecutive images, spread evenly. */
static bool spread_flag(int i, float f) { return floorf((float)(i + 1) * f) > floorf((float)i * f); }

/* A saturated colour from HSV (hue uniform, saturation 0.35..0.9, value 0.3..0.9), linear. */
static void random_color(struct rng *r, float out[3])
{
    float h = 6.0f * rng_float(r), s = 0.35f + 0.55f * rng_float(r), v = 0.3f + 0.6f * rng_float(r);
    int k = (int)h % 6;
    float f = h - floorf(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    float rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    for (int c = 0; c < 3; c++)
        out[c] = img_srgb_to_linear(rgb[k][c]);
}

/* A print colour that contrasts with the base: drawn from a palette of strong colours
   among those at least 0.35 away from the base in linear RGB (the farthest when none is).
   No white or pale grey: such a print merges with the white backdrop of the product
   photos and splits the keyed garment into pieces. */
static void print_color(struct rng *r, const float base[3], float out[3])
{
    static const float palette[][3] = {
        {0.85f, 0.62f, 0.04f}, {0.02f, 0.02f, 0.03f}, {0.03f, 0.45f, 0.70f},
        {0.80f, 0.12f, 0.30f}, {0.05f, 0.30f, 0.06f}, {0.90f, 0.25f, 0.02f},
    };
    enum { NP = sizeof palette / sizeof palette[0] };
    int ok[NP], n = 0, far = 0;
    float dmax = -1;
    for (int k = 0; k < NP; k++) {
        float d = 0;
        for (int c = 0; c < 3; c++)
            d += (palette[k][c] - base[c]) * (palette[k][c] - base[c]);
        d = sqrtf(d);
        if (d >= 0.35f)
            ok[n++] = k;
        if (d > dmax)
            dmax = d, far = k;
    }
    int pick = n ? ok[rng_u32(r) % (uint32_t)n] : far;
    memcpy(out, palette[pick], sizeof palette[pick]);
}

/* Default size ranges per type, so that a photo shows its type: avatar's t-shirt and
   long-sleeve differ only by the sleeve parameter, trousers and shorts meet at the knee
   (trousers at length 0 end there, shorts at length 1). A t-shirt's sleeve covers at most
   45% of shoulder..wrist, a long-sleeve's at least 80%; trousers reach below mid-calf
   (length >= 0.4), shorts stay above the knee (length <= 0.7). */
static void type_ranges(enum avatar_garment_type t, struct worker_synth_range *len, struct worker_synth_range *slv)
{
    *len = (struct worker_synth_range){0, 1};
    *slv = (struct worker_synth_range){0, 1};
    const char *n = avatar_garment_type_name(t);
    if (!strcmp(n, "t-shirt"))
        *slv = (struct worker_synth_range){0.1f, 0.45f};
    else if (!strcmp(n, "long-sleeve"))
        *slv = (struct worker_synth_range){0.8f, 1.0f};
    else if (!strcmp(n, "trousers"))
        *len = (struct worker_synth_range){0.4f, 1.0f};
    else if (!strcmp(n, "shorts"))
        *len = (struct worker_synth_range){0.0f, 0.7f};
}

/* A garment's parameters from its RNG; type and class indices are given. */
static void draw_garment(const struct worker_synth_config *c, struct rng *r, enum avatar_garment_type type,
                         int print_slot, const float *srgb, struct worker_synth_garment *g)
{
    memset(g, 0, sizeof *g);
    g->est.type = type;
    float rc[3];
    random_color(r, rc);
    for (int k = 0; k < 3; k++)
        g->est.color[k] = srgb ? img_srgb_to_linear(srgb[k]) : rc[k];
    struct worker_synth_range len, slv;
    type_ranges(type, &len, &slv);
    g->est.length = draw(r, c->length.lo >= 0 ? c->length : len);
    g->est.sleeve = draw(r, c->sleeve.lo >= 0 ? c->sleeve : slv);
    g->print = c->prints[print_slot % c->n_prints];
    print_color(r, g->est.color, g->print_color);
    g->print_scale_m = draw(r, c->print_scale_m);
}

void worker_synth_draw_garment(const struct worker_synth_config *c, int j, struct worker_synth_garment *g)
{
    assert(j >= 0 && j < c->n_garments);
    struct rng r;
    image_rng(c, 1, j, 0, &r);
    draw_garment(c, &r, c->types[j % c->n_types], j, c->n_colors ? c->colors[j % c->n_colors] : NULL, g);
    g->type_hint = spread_flag(j, c->type_hint_fraction);
    struct rng sr;   /* the sensor's marks, from a stream of their own */
    image_rng(c, 1, j, 8, &sr);
    g->blur_px = draw(&sr, c->g_blur_px);
    g->noise = draw(&sr, c->g_noise);
    g->blocking = draw(&sr, c->g_blocking);
    /* the photo's style and its pose, from a stream of their own; the ghost's is fixed */
    g->style = c->styles[(j / c->n_types) % c->n_styles];
    avatar_garment_style_shape(g->style, &g->shape);
    if (g->style != AVATAR_STYLE_GHOST) {
        struct rng yr;
        image_rng(c, 1, j, 9, &yr);
        g->shape.arm_down_deg += draw(&yr, (struct worker_synth_range){-6.0f, 6.0f});
        g->shape.leg_spread_deg = fmaxf(0.0f, g->shape.leg_spread_deg + draw(&yr, (struct worker_synth_range){-3.0f, 3.0f}));
    }
}

enum worker_cover worker_type_cover(enum avatar_garment_type t)
{
    switch (t) {
    case AVATAR_GARMENT_DRESS:
        return WORKER_COVER_FULL;
    case AVATAR_GARMENT_SKIRT:
    case AVATAR_GARMENT_TROUSERS:
    case AVATAR_GARMENT_SHORTS:
        return WORKER_COVER_BOTTOM;
    default:
        return WORKER_COVER_TOP;
    }
}

/* Skin albedos (linear RGB) from light to dark; a draw in [0,1] interpolates along them. */
static const float skin_ramp[][3] = {
    {0.66f, 0.47f, 0.38f}, {0.55f, 0.37f, 0.27f}, {0.40f, 0.25f, 0.17f}, {0.24f, 0.14f, 0.09f}, {0.12f, 0.07f, 0.05f},
};

void worker_synth_draw_person(const struct worker_synth_config *c, int i, struct worker_synth_person *p)
{
    assert(i >= 0 && i < c->n_persons);
    memset(p, 0, sizeof *p);
    struct rng r;
    image_rng(c, 0, i, 0, &r);
    avatar_phenotype_default(&p->body.ph);
    p->body.ph.gender = draw(&r, c->gender);
    p->body.ph.age = draw(&r, c->age);
    p->body.ph.muscle = draw(&r, c->muscle);
    p->body.ph.weight = draw(&r, c->weight);
    p->body.ph.proportions = draw(&r, c->proportions);
    p->body.stature_m = 0.01f * draw(&r, c->stature_cm);
    p->body.arm_down_deg = draw(&r, c->arm_down_deg);
    p->body.leg_spread_deg = draw(&r, c->leg_spread_deg);
    p->body.torso_turn_deg = draw(&r, c->torso_turn_deg);
    if (c->ethnic_mix) {
        /* uniform on the simplex: normalised exponential draws */
        float e[3], sum = 0;
        for (int k = 0; k < 3; k++)
            sum += e[k] = -logf(1.0f - rng_float(&r));
        p->body.ph.african = e[0] / sum;
        p->body.ph.asian = e[1] / sum;
        p->body.ph.caucasian = e[2] / sum;
    }
    float t = draw(&r, c->skin) * (float)(sizeof skin_ramp / sizeof skin_ramp[0] - 1);
    int k = (int)fminf(floorf(t), (float)(sizeof skin_ramp / sizeof skin_ramp[0] - 2));
    for (int ch = 0; ch < 3; ch++)
        p->skin[ch] = skin_ramp[k][ch] + (t - (float)k) * (skin_ramp[k + 1][ch] - skin_ramp[k][ch]);
    p->cam_distance_m = draw(&r, c->cam_distance_m);
    p->key = draw(&r, c->key);
    p->fill = draw(&r, c->fill);
    /* an opaque photo is segmented by keying the backdrop: keep its grey at least 0.15 (linear)
       away from the skin's luminance, darker behind light skin, lighter behind dark skin */
    float grey = draw(&r, c->backdrop);
    float lum = 0.2126f * p->skin[0] + 0.7152f * p->skin[1] + 0.0722f * p->skin[2];
    if (fabsf(grey - lum) < 0.15f)
        grey = lum > 0.25f ? lum - 0.2f : lum + 0.3f;
    for (int ch = 0; ch < 3; ch++)
        p->backdrop[ch] = grey * (0.94f + 0.12f * rng_float(&r));
    p->with_alpha = spread_flag(i, c->alpha_fraction);
    /* the camera's height, tilt and field of view from a stream of their own (configs that
       keep the standard camera draw every other parameter as before), then the figure
       framed (synth_frame) */
    struct rng cr;
    image_rng(c, 0, i, 7, &cr);
    p->cam_height_m = draw(&cr, c->cam_height_m);
    p->cam_tilt_deg = draw(&cr, c->cam_tilt_deg);
    p->cam_vfov_deg = draw(&cr, c->cam_vfov_deg);
    synth_frame(p, c->width, c->height);
    struct rng sr;   /* the sensor's marks, from a stream of their own too */
    image_rng(c, 0, i, 8, &sr);
    p->blur_px = draw(&sr, c->blur_px);
    p->noise = draw(&sr, c->noise);
    p->blocking = draw(&sr, c->blocking);
    /* a camera other than the standard one breaks the estimator's scale: the hint fixes it */
    p->height_hint = spread_flag(i, c->hint_fraction) || fabsf(p->cam_distance_m - 5.0f) > 0.01f ||
                     fabsf(p->cam_height_m - 0.95f) > 0.005f || fabsf(p->cam_tilt_deg) > 0.05f ||
                     fabsf(p->cam_vfov_deg - 27.0f) > 0.05f;
    bool clothed = rng_float(&r) < c->clothed_fraction;

    /* the outfit: a dress alone, or a bottom and a top (outermost), from the config's types */
    enum avatar_garment_type by[3][16];
    int nby[3] = {0, 0, 0};
    for (int q = 0; q < c->n_types; q++) {
        enum worker_cover cv = worker_type_cover(c->types[q]);
        by[cv][nby[cv]++] = c->types[q];
    }
    float u = rng_float(&r);
    struct rng gr;
    image_rng(c, 0, i, 1, &gr);
    int print_slot = (int)(rng_u32(&gr) % (uint32_t)c->n_prints);
    if (!clothed)
        return;
    if (nby[WORKER_COVER_FULL] && (u < 0.2f || (!nby[WORKER_COVER_TOP] && !nby[WORKER_COVER_BOTTOM]))) {
        enum avatar_garment_type t = by[WORKER_COVER_FULL][rng_u32(&gr) % (uint32_t)nby[WORKER_COVER_FULL]];
        draw_garment(c, &gr, t, print_slot, NULL, &p->wear[p->n_wear++]);
        return;
    }
    if (nby[WORKER_COVER_BOTTOM]) {
        enum avatar_garment_type t = by[WORKER_COVER_BOTTOM][rng_u32(&gr) % (uint32_t)nby[WORKER_COVER_BOTTOM]];
        draw_garment(c, &gr, t, print_slot + 1, NULL, &p->wear[p->n_wear++]);
    }
    if (nby[WORKER_COVER_TOP]) {
        enum avatar_garment_type t = by[WORKER_COVER_TOP][rng_u32(&gr) % (uint32_t)nby[WORKER_COVER_TOP]];
        draw_garment(c, &gr, t, print_slot, NULL, &p->wear[p->n_wear++]);
    }
}
