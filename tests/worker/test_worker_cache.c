/* test_worker_cache.c: the asset cache (worker/cache.c) and the worker around it.
 *
 * Keys: the same inputs give the same key; the photo's bytes, the estimators, the kind, the
 * height hint, the type hint, the texture size and the photo limits each change it.
 * Entries: a person and a garment (texture included, floats with odd bit patterns: -0,
 * a denormal, NaN) read back bit for bit; a flipped payload byte, a flipped kind, a file
 * cut short or padded, another format version, another key's file, a symbolic link in an
 * entry's place or a shard folder that is a link read as INVALID (never as an estimate),
 * a missing entry as MISS; writing again makes it a HIT; no temporary file is left.
 * The worker: one pair of the demo catalog (ben in shorts-sand, cheap to drape) rendered
 * with the cache off, then into an empty cache (miss, miss), then by a fresh worker (hit,
 * hit: the same render bytes and the same estimates in the record, the body stage a small
 * share of the first's), then after a byte of the person's entry is flipped (invalid:
 * estimated again, the same bytes, the entry rewritten so it verifies).
 * usage: test_worker_cache REPO_DIR */
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "worker/worker.h"

static void keys(void)
{
    struct worker_asset_id a = {.kind = WORKER_ASSET_PERSON, .estimators = "body classical; avatar x",
                                .height_hint_cm = 0.0f, .type_hint = "", .texture_size = 0,
                                .limits = img_default_limits()};
    snprintf(a.photo_sha256, sizeof a.photo_sha256, "%064d", 1);
    char k0[65], k[65];
    worker_asset_key(&a, k0);
    CHECK_EQ_INT(strlen(k0), 64);
    struct worker_asset_id b = a;
    worker_asset_key(&b, k);
    CHECK_STR(k, k0);
#define CHANGES(what, edit) do { b = a; edit; worker_asset_key(&b, k); CHECK_MSG(strcmp(k, k0) != 0, "%s", what); } while (0)
    CHANGES("photo bytes", b.photo_sha256[63] = '2');
    CHANGES("estimators", b.estimators = "body 5e3f; avatar x");
    CHANGES("kind", b.kind = WORKER_ASSET_GARMENT);
    CHANGES("height hint", b.height_hint_cm = 170.1f);
    CHANGES("type hint", b.type_hint = "skirt");
    CHANGES("texture size", b.texture_size = 512);
    CHANGES("limits", b.limits.max_pixels = 1000);
    /* the fields are length-prefixed: moving text from one to the next is another key */
    struct worker_asset_id c = a, d = a;
    c.estimators = "ab", c.type_hint = "c";
    d.estimators = "a", d.type_hint = "bc";
    worker_asset_key(&c, k0);
    worker_asset_key(&d, k);
    CHECK(strcmp(k, k0) != 0);
#undef CHANGES
}

static float bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void fill_person(struct worker_person_asset *p)
{
    memset(p, 0, sizeof *p);
    float *v = (float *)&p->est;   /* the estimate is floats, one int and one flag */
    for (size_t i = 0; i < sizeof p->est / sizeof(float); i++)
        v[i] = 0.1f * (float)i + 1e-3f;
    /* the flag's slot, its padding included, then the flag */
    memset(&p->est.camera_solved, 0,
           offsetof(struct avatar_person_est, meas) - offsetof(struct avatar_person_est, camera_solved));
    p->est.camera_solved = true;
    p->est.body.ph.asian = -0.0f;
    p->est.body.torso_turn_deg = bits(1);   /* the smallest denormal */
    p->est.iterations = 437;
    p->skin[0] = 0.5f, p->skin[1] = bits(0x7fc00001), p->skin[2] = 1.0f / 3.0f;
    p->net = true;
}

static void fill_garment(struct worker_garment_asset *g)
{
    memset(g, 0, sizeof *g);
    g->est.type = AVATAR_GARMENT_SKIRT;
    g->est.color[0] = 0.2f, g->est.color[1] = -0.0f, g->est.color[2] = bits(0x00400000);
    g->est.length = 0.7f, g->est.sleeve = 0.0f, g->est.looseness = 0.01f, g->est.type_confidence = 0.93f;
    g->est.style = AVATAR_STYLE_HANGER;
    for (int l = 0; l < AVATAR_LM_N; l++)
        g->est.lm[l][0] = l % 3 ? 10.0f * (float)l + 0.25f : -1.0f, g->est.lm[l][1] = 3.5f * (float)l;
    snprintf(g->tex_error, sizeof g->tex_error, "only %d landmarks", 2);
    g->net = false, g->back_net = true;
    CHECK_EQ_INT(imgf_alloc(&g->tex, 8, 4, 3), TRYON_OK);
    for (int i = 0; i < 8 * 4 * 3; i++)
        g->tex.px[i] = bits(0x3f000000u + (uint32_t)i * 7919u);
}

static bool same_person(const struct worker_person_asset *a, const struct worker_person_asset *b)
{
    return !memcmp(&a->est, &b->est, sizeof a->est) && !memcmp(a->skin, b->skin, sizeof a->skin) && a->net == b->net;
}

static bool same_garment(const struct worker_garment_asset *a, const struct worker_garment_asset *b)
{
    return !memcmp(&a->est, &b->est, sizeof a->est) && !strcmp(a->tex_error, b->tex_error) && a->net == b->net &&
           a->back_net == b->back_net && a->tex.w == b->tex.w && a->tex.h == b->tex.h && a->tex.c == b->tex.c &&
           (a->tex.w == 0 || !memcmp(a->tex.px, b->tex.px, sizeof(float) * (size_t)a->tex.w * a->tex.h * a->tex.c));
}

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *d = NULL;
    CHECK_EQ_INT(fs_read_all(path, 0, &d, len), TRYON_OK);
    return d;
}

static void spit(const char *path, const uint8_t *d, size_t len)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(d, 1, len, f) == len);
    if (f)
        fclose(f);
}

/* Files in folder whose name contains ".tmp.". */
static int temporaries(const char *folder)
{
    int n = 0;
    DIR *d = opendir(folder);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static enum worker_cache_result get_g(struct worker_cache *c, const char *key)
{
    struct worker_garment_asset g;
    enum worker_cache_result r = worker_cache_get_garment(c, key, &g);
    CHECK(r == WORKER_CACHE_HIT || (g.tex.w == 0 && g.tex.px == NULL));
    imgf_free(&g.tex);
    return r;
}

static void entries(void)
{
    struct worker_cache *c;
    CHECK_EQ_INT(system("rm -rf cache-unit"), 0);
    CHECK_EQ_INT(worker_cache_open("cache-unit", &c), TRYON_OK);
    if (!c)
        return;
    char kp[65], kg[65], kother[65];
    memset(kp, 'a', 64), kp[64] = 0;
    memset(kg, 'b', 64), kg[64] = 0;
    memset(kother, 'b', 64), kother[63] = 'c', kother[64] = 0;

    struct worker_person_asset p, p2;
    fill_person(&p);
    CHECK_EQ_INT(worker_cache_get_person(c, kp, &p2), WORKER_CACHE_MISS);
    CHECK_EQ_INT(worker_cache_put_person(c, kp, &p), TRYON_OK);
    CHECK_EQ_INT(worker_cache_get_person(c, kp, &p2), WORKER_CACHE_HIT);
    CHECK(same_person(&p, &p2));
    /* the same key as a garment is another file */
    CHECK_EQ_INT(get_g(c, kp), WORKER_CACHE_MISS);

    struct worker_garment_asset g, g2;
    fill_garment(&g);
    CHECK_EQ_INT(worker_cache_put_garment(c, kg, &g), TRYON_OK);
    CHECK_EQ_INT(worker_cache_get_garment(c, kg, &g2), WORKER_CACHE_HIT);
    CHECK(same_garment(&g, &g2));
    imgf_free(&g2.tex);
    /* a garment without a texture */
    struct worker_garment_asset plain = g;
    plain.tex = (struct imgf){0};
    CHECK_EQ_INT(worker_cache_put_garment(c, kother, &plain), TRYON_OK);
    CHECK_EQ_INT(worker_cache_get_garment(c, kother, &g2), WORKER_CACHE_HIT);
    CHECK(same_garment(&plain, &g2) && g2.tex.px == NULL);

    char path[4096], other[4096];
    worker_cache_entry_path(c, WORKER_ASSET_GARMENT, kg, path, sizeof path);
    CHECK_STR(path, "cache-unit/bb/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.garment");
    worker_cache_entry_path(c, WORKER_ASSET_GARMENT, kother, other, sizeof other);
    size_t len;
    uint8_t *good = slurp(path, &len);
    /* header, type, colour, length, sleeve, looseness, landmarks, confidence, style, flags, message, texture */
    CHECK(len == 88 + 4 * (1 + 3 + 3 + 2 * AVATAR_LM_N + 1 + 1) + 2 + 4 + strlen(g.tex_error) + 12 + 8 * 4 * 3 * 4);
    struct { const char *what; size_t at; int cut; } bad[] = {
        {"a flipped payload byte", 88 + 5, 0},
        {"a flipped texture byte", len - 3, 0},
        {"a flipped kind", 12, 0},
        {"a flipped key byte", 20, 0},
        {"a flipped checksum byte", 60, 0},
        {"a flipped magic", 0, 0},
        {"a file cut short", 0, -7},
        {"a file cut in its header", 0, -(int)(len - 40)},
        {"a padded file", 0, 5},
    };
    uint8_t *buf = malloc(len + 8);
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        memcpy(buf, good, len);
        size_t n = len;
        if (bad[t].cut)
            n = (size_t)((long)len + bad[t].cut), memset(buf + len, 0, 8);
        else
            buf[bad[t].at] ^= 0x10;
        spit(path, buf, n);
        enum worker_cache_result r = get_g(c, kg);
        CHECK_MSG(r == WORKER_CACHE_INVALID, "%s reads as %s", bad[t].what, worker_cache_result_name(r));
        CHECK_CONTAINS(tryon_errmsg(), path);
    }
    /* another format version, its checksum right */
    memcpy(buf, good, len);
    buf[8] = WORKER_ASSET_FORMAT + 1;
    spit(path, buf, len);
    CHECK_EQ_INT(get_g(c, kg), WORKER_CACHE_INVALID);
    CHECK_CONTAINS(tryon_errmsg(), "format version");
    /* another key's entry under this key's name */
    size_t olen;
    uint8_t *ob = slurp(other, &olen);
    spit(path, ob, olen);
    CHECK_EQ_INT(get_g(c, kg), WORKER_CACHE_INVALID);
    CHECK_CONTAINS(tryon_errmsg(), "another key");
    /* a link in the entry's place is refused, and a write replaces it without following it */
    unlink(path);
    CHECK_EQ_INT(symlink(other + strlen("cache-unit/bb/"), path), 0);
    CHECK_EQ_INT(get_g(c, kg), WORKER_CACHE_INVALID);
    CHECK_CONTAINS(tryon_errmsg(), "symbolic link");
    CHECK_EQ_INT(worker_cache_put_garment(c, kg, &g), TRYON_OK);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    CHECK_EQ_INT(worker_cache_get_garment(c, kg, &g2), WORKER_CACHE_HIT);
    CHECK(same_garment(&g, &g2));
    imgf_free(&g2.tex);
    size_t olen2;
    uint8_t *ob2 = slurp(other, &olen2);
    CHECK(olen2 == olen && !memcmp(ob, ob2, olen));   /* the link's target was not written */
    free(ob2);
    free(ob);
    CHECK_EQ_INT(temporaries("cache-unit/bb"), 0);
    /* a shard folder that is a link: not read, not written through */
    CHECK_EQ_INT(rename("cache-unit/aa", "outside-aa"), 0);
    CHECK_EQ_INT(symlink("../outside-aa", "cache-unit/aa"), 0);
    CHECK_EQ_INT(worker_cache_get_person(c, kp, &p2), WORKER_CACHE_INVALID);
    CHECK_CONTAINS(tryon_errmsg(), "symbolic link");
    CHECK_EQ_INT(worker_cache_put_person(c, kp, &p), TRYON_EIO);
    CHECK_EQ_INT(temporaries("outside-aa"), 0);
    unlink("cache-unit/aa");
    CHECK_EQ_INT(rename("outside-aa", "cache-unit/aa"), 0);
    CHECK_EQ_INT(worker_cache_get_person(c, kp, &p2), WORKER_CACHE_HIT);
    free(buf);
    free(good);
    imgf_free(&g.tex);
    worker_cache_free(c);
}

/* A pair's record parsed; its render's bytes' SHA-256 in sha. */
static struct json_val *run(struct worker *w, const struct worker_pair *p, char sha[65])
{
    struct json_w rec;
    json_w_init(&rec);
    CHECK_EQ_INT(worker_run_pair(w, p, 0, &rec), TRYON_OK);
    struct json_val *r = NULL;
    CHECK_EQ_INT(json_parse(rec.buf, rec.len, "record", &r), TRYON_OK);
    json_w_free(&rec);
    CHECK_STR(json_get_str(r, "status"), "ok");
    snprintf(sha, 65, "%s", json_get_str(r, "sha256") ? json_get_str(r, "sha256") : "");
    return r;
}

static const char *cache_of(const struct json_val *r, const char *what)
{
    return json_get_str(json_get(r, "cache"), what);
}

static void put_val(struct json_w *out, const struct json_val *v)
{
    switch (v->type) {
    case JSON_NULL: json_null(out); break;
    case JSON_BOOL: json_bool(out, v->b); break;
    case JSON_NUM: json_num(out, v->num); break;
    case JSON_STR: json_str(out, v->str); break;
    case JSON_ARR:
        json_arr_begin(out);
        for (size_t i = 0; i < v->n; i++)
            put_val(out, &v->items[i]);
        json_arr_end(out);
        break;
    case JSON_OBJ:
        json_obj_begin(out);
        for (size_t i = 0; i < v->n; i++) {
            json_key(out, v->keys[i]);
            put_val(out, &v->items[i]);
        }
        json_obj_end(out);
        break;
    }
}

/* The record's estimates (its body and garment_info objects) as text, to compare. */
static void estimates(const struct json_val *r, struct json_w *out)
{
    json_w_reset(out);
    json_arr_begin(out);
    const char *keys[2] = {"body", "garment_info"};
    for (int k = 0; k < 2; k++) {
        const struct json_val *o = json_get(r, keys[k]);
        CHECK(o && o->type == JSON_OBJ);
        if (o)
            put_val(out, o);
    }
    json_arr_end(out);
}

static double body_seconds(const struct json_val *r) { return json_get_num(json_get(r, "seconds"), "body", -1); }

static void worker_pairs(const char *repo)
{
    char person[512], garment[512], models[512];
    snprintf(person, sizeof person, "%s/configs/demo/persons/ben.png", repo);
    snprintf(garment, sizeof garment, "%s/configs/demo/garments/shorts-sand.png", repo);
    snprintf(models, sizeof models, "%s/models", repo);
    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    CHECK_EQ_INT(worker_preset("preview", &ws), TRYON_OK);
    ws.out_dir = "cache-out";
    ws.width = 40, ws.height = 60, ws.spp = 2;
    ws.job_seed = 1;
    ws.threads = 2;
    ws.limits = img_default_limits();
    ws.models_dir = models;
    struct worker_pair p = {.person_id = "ben", .person_image = person, .height_hint_cm = 162.1f,
                            .garment_id = "shorts-sand", .garment_image = garment, .garment_type = "shorts",
                            .seed = hash_pair_seed(1, "ben", "shorts-sand")};
    CHECK_EQ_INT(system("rm -rf cache-out cache-pairs"), 0);
    char sha0[65], sha[65];
    struct json_w e0, e;
    json_w_init(&e0);
    json_w_init(&e);

    /* cache off */
    struct worker *w;
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    if (!w)
        return;
    struct json_val *r = run(w, &p, sha0);
    CHECK_STR(cache_of(r, "person"), "off");
    CHECK_STR(cache_of(r, "garment"), "off");
    estimates(r, &e0);
    json_free(r);
    worker_free(w);

    /* an empty cache: both estimated and stored */
    ws.cache_dir = "cache-pairs";
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    r = run(w, &p, sha);
    CHECK_STR(cache_of(r, "person"), "miss");
    CHECK_STR(cache_of(r, "garment"), "miss");
    CHECK_STR(sha, sha0);
    double t_first = body_seconds(r);
    json_free(r);
    struct worker_cache_stats st;
    worker_cache_counts(w, &st);
    CHECK(st.misses == 2 && st.writes == 2 && st.hits == 0 && st.invalid == 0 && st.write_errors == 0);
    worker_free(w);

    /* a fresh worker (another job): both read from the cache, the same bytes and estimates */
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    r = run(w, &p, sha);
    CHECK_STR(cache_of(r, "person"), "hit");
    CHECK_STR(cache_of(r, "garment"), "hit");
    CHECK_STR(sha, sha0);
    estimates(r, &e);
    CHECK_STR(e.buf, e0.buf);
    double t_hit = body_seconds(r);
    printf("body stage: %.3f s estimated, %.3f s from the cache\n", t_first, t_hit);
    CHECK(t_hit >= 0 && t_hit < 0.2 * t_first);
    json_free(r);
    worker_free(w);

    /* a flipped byte in the person's entry: said, estimated again, rewritten */
    DIR *d = opendir("cache-pairs");
    char entry[700] = "";
    for (struct dirent *s; d && (s = readdir(d));) {
        if (s->d_name[0] == '.')
            continue;
        char sub[300];
        snprintf(sub, sizeof sub, "cache-pairs/%.200s", s->d_name);
        DIR *d2 = opendir(sub);
        for (struct dirent *f; d2 && (f = readdir(d2));)
            if (strstr(f->d_name, ".person"))
                snprintf(entry, sizeof entry, "%s/%.300s", sub, f->d_name);
        if (d2)
            closedir(d2);
    }
    if (d)
        closedir(d);
    CHECK(entry[0]);
    size_t len;
    uint8_t *bytes = slurp(entry, &len);
    bytes[len - 2] ^= 1;
    spit(entry, bytes, len);
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    r = run(w, &p, sha);
    CHECK_STR(cache_of(r, "person"), "invalid");
    CHECK_STR(cache_of(r, "garment"), "hit");
    CHECK_STR(sha, sha0);
    estimates(r, &e);
    CHECK_STR(e.buf, e0.buf);
    json_free(r);
    worker_cache_counts(w, &st);
    CHECK(st.invalid == 1 && st.hits == 1 && st.writes == 1);
    worker_free(w);
    size_t len2;
    uint8_t *again = slurp(entry, &len2);
    bytes[len - 2] ^= 1;
    CHECK(len2 == len && !memcmp(again, bytes, len));   /* rewritten as it was */
    free(again);
    free(bytes);
    json_w_free(&e0);
    json_w_free(&e);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_worker_cache REPO_DIR\n");
        return 2;
    }
    keys();
    entries();
    worker_pairs(argv[1]);
    return check_result("test_worker_cache");
}
