/* cache.c: the asset cache of DESIGN.md section 2 ("Assets"): estimated persons and garments
 * kept as files under a key of everything they depend on, so that a re-run, another job
 * over the same photos, or a catalog that adds ten garments estimates only what is new.
 *
 * The key and the entry file's layout are described in worker.h ("the asset cache"). This
 * file makes the keys, writes entries (temporary name in the entry's folder, then rename,
 * so a reader never sees half an entry, even with many ranks of many jobs writing the same
 * folder), and reads them back with every check: a torn, flipped, truncated, foreign or
 * linked entry reads as INVALID, never as an estimate. Nothing is fsynced: an entry cut by
 * a crash fails its checksum and is recomputed.
 *
 * Payloads are the estimate's fields in a fixed order, each float as its IEEE-754 bit
 * pattern (u32 little-endian), each int as i32, each flag as one byte, strings as u32
 * length + bytes, so a read gives back exactly the floats that were written. */
#include "worker/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_MAGIC "TRYONAST"
#define HEADER_BYTES 88
#define MAX_TEXTURE_SIDE 4096                  /* texels; the worker writes 512 x 512 (3 MiB) */
#define MAX_ENTRY_BYTES ((size_t)256 << 20)    /* over a 4096^2 texture's 192 MiB */

struct worker_cache {
    char dir[PATH_MAX - 128]; /* as given, for messages (room left for "/<shard>/<key>.<kind>") */
    int dfd;              /* the folder, open for the cache's lifetime */
    uint64_t tmp_tag;     /* host and process, for temporary names */
    unsigned tmp_seq;     /* per call */
};

const char *worker_cache_result_name(enum worker_cache_result r)
{
    switch (r) {
    case WORKER_CACHE_MISS: return "miss";
    case WORKER_CACHE_HIT: return "hit";
    case WORKER_CACHE_INVALID: return "invalid";
    default: return "off";
    }
}

/* ---- the key ---- */
static void key_field(struct sha256 *h, const char *name, const void *data, size_t len)
{
    uint8_t n[8];
    size_t nl = strlen(name);
    for (int i = 0; i < 4; i++)
        n[i] = (uint8_t)(nl >> (8 * i)), n[4 + i] = (uint8_t)(len >> (8 * i));
    sha256_update(h, n, 8);
    sha256_update(h, name, nl);
    sha256_update(h, data, len);
}

static void key_text(struct sha256 *h, const char *name, const char *text)
{
    key_field(h, name, text ? text : "", text ? strlen(text) : 0);
}

static void key_u64(struct sha256 *h, const char *name, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    key_field(h, name, b, 8);
}

static uint32_t f32_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}

void worker_asset_key(const struct worker_asset_id *id, char key[65])
{
    struct sha256 h;
    sha256_init(&h);
    key_u64(&h, "version", WORKER_ASSET_VERSION);
    key_text(&h, "kind", id->kind == WORKER_ASSET_PERSON ? "person" : "garment");
    key_text(&h, "photo", id->photo_sha256);
    key_text(&h, "estimators", id->estimators);
    key_u64(&h, "height_hint", f32_bits(id->height_hint_cm));
    key_text(&h, "type_hint", id->type_hint);
    key_u64(&h, "texture_size", (uint64_t)(int64_t)id->texture_size);
    key_u64(&h, "max_w", (uint64_t)(int64_t)id->limits.max_w);
    key_u64(&h, "max_h", (uint64_t)(int64_t)id->limits.max_h);
    key_u64(&h, "max_pixels", (uint64_t)id->limits.max_pixels);
    key_u64(&h, "max_file_bytes", (uint64_t)id->limits.max_file_bytes);
    key_u64(&h, "photo_max_side", WORKER_PHOTO_MAX_SIDE);
    uint8_t d[32];
    sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", d[i]);
}

static bool key_valid(const char *key)
{
    for (int i = 0; i < 64; i++)
        if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return false;
    return key[64] == 0;
}

static void key_bytes(const char key[65], uint8_t out[32])
{
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(key + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* ---- the folder ---- */
enum tryon_status worker_cache_open(const char *dir, struct worker_cache **out)
{
    *out = NULL;
    char probe[PATH_MAX], leaf[8];
    if (!dir || !dir[0] || strlen(dir) >= sizeof ((struct worker_cache *)0)->dir)
        return tryon_fail(TRYON_EINVAL, "asset cache: bad folder name '%.200s'", dir ? dir : "");
    snprintf(probe, sizeof probe, "%s/.", dir);
    int dfd;
    /* mkdir -p, and below the output folder every step without following a link */
    if (fs_open_parent(probe, true, &dfd, leaf, sizeof leaf))
        return tryon_failctx(TRYON_EIO, "asset cache");
    struct worker_cache *c = tryon_xcalloc(1, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    c->dfd = dfd;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    c->tmp_tag = hash64(host, strlen(host), (uint64_t)getpid()) ^ hash_mix64((uint64_t)getpid());
    *out = c;
    return TRYON_OK;
}

void worker_cache_free(struct worker_cache *c)
{
    if (!c)
        return;
    close(c->dfd);
    free(c);
}

static const char *kind_ext(enum worker_asset_kind kind) { return kind == WORKER_ASSET_PERSON ? "person" : "garment"; }

void worker_cache_entry_path(const struct worker_cache *c, enum worker_asset_kind kind, const char key[65],
                             char *path, size_t cap)
{
    snprintf(path, cap, "%s/%.2s/%s.%s", c->dir, key, key, kind_ext(kind));
}

/* The shard folder of key (DIR/<key[0:2]>), made when create; -1 with a message and the
   errno in *err when it cannot be opened or is a link. */
static int shard_open(struct worker_cache *c, const char key[65], bool create, int *err)
{
    char name[3] = {key[0], key[1], 0};
    *err = 0;
    if (create && mkdirat(c->dfd, name, 0755) != 0 && errno != EEXIST) {
        *err = errno;
        tryon_fail(TRYON_EIO, "%s/%s: cannot create folder: %s", c->dir, name, strerror(*err));
        return -1;
    }
    int fd = openat(c->dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *err = errno;
        tryon_fail(TRYON_EIO, "%s/%s: %s", c->dir, name,
                   *err == ELOOP || *err == ENOTDIR ? "a symbolic link or not a folder: refusing it" : strerror(*err));
    }
    return fd;
}

/* ---- payload encoding ---- */
struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->p = tryon_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(b, x, 4);
}

static void put_f32(struct buf *b, float v) { put_u32(b, f32_bits(v)); }
static void put_i32(struct buf *b, int v) { put_u32(b, (uint32_t)v); }
static void put_flag(struct buf *b, bool v) { uint8_t x = v; put(b, &x, 1); }
static void put_f32s(struct buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_f32(b, v[i]);
}

/* A reader over a payload: any read past the end sets bad (and reads zeros). */
struct rd {
    const uint8_t *p;
    size_t len, at;
    bool bad;
};

static const uint8_t *take(struct rd *r, size_t n)
{
    if (r->bad || n > r->len - r->at) {
        r->bad = true;
        return NULL;
    }
    r->at += n;
    return r->p + r->at - n;
}

static uint32_t get_u32(struct rd *r)
{
    const uint8_t *x = take(r, 4);
    return x ? (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24 : 0;
}

static float get_f32(struct rd *r)
{
    uint32_t u = get_u32(r);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

static int get_i32(struct rd *r) { return (int)(int32_t)get_u32(r); }

static bool get_flag(struct rd *r)
{
    const uint8_t *x = take(r, 1);
    if (x && *x > 1)
        r->bad = true;
    return x && *x == 1;
}

static void get_f32s(struct rd *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = get_f32(r);
}

static void put_body(struct buf *b, const struct avatar_body_params *p)
{
    const struct avatar_phenotype *h = &p->ph;
    const float v[13] = {h->gender, h->age, h->muscle, h->weight, h->height, h->proportions, h->african, h->asian,
                         h->caucasian, p->stature_m, p->arm_down_deg, p->leg_spread_deg, p->torso_turn_deg};
    put_f32s(b, v, 13);
}

static void get_body(struct rd *r, struct avatar_body_params *p)
{
    float v[13];
    get_f32s(r, v, 13);
    struct avatar_phenotype *h = &p->ph;
    h->gender = v[0], h->age = v[1], h->muscle = v[2], h->weight = v[3], h->height = v[4], h->proportions = v[5];
    h->african = v[6], h->asian = v[7], h->caucasian = v[8];
    p->stature_m = v[9], p->arm_down_deg = v[10], p->leg_spread_deg = v[11], p->torso_turn_deg = v[12];
}

static void put_meas(struct buf *b, const struct avatar_measurements *m)
{
    const float v[6] = {m->height_cm, m->chest_cm, m->waist_cm, m->hip_cm, m->inseam_cm, m->shoulder_cm};
    put_f32s(b, v, 6);
}

static void get_meas(struct rd *r, struct avatar_measurements *m)
{
    float v[6];
    get_f32s(r, v, 6);
    m->height_cm = v[0], m->chest_cm = v[1], m->waist_cm = v[2], m->hip_cm = v[3], m->inseam_cm = v[4];
    m->shoulder_cm = v[5];
}

static void encode_person(struct buf *b, const struct worker_person_asset *a)
{
    const struct avatar_person_est *e = &a->est;
    put_body(b, &e->body);
    put_f32(b, e->silhouette_h_px);
    put_f32(b, e->stature_m);
    put_f32(b, e->iou);
    put_f32s(b, e->place, 3);
    put_f32s(b, e->camera.eye, 3);
    put_f32s(b, e->camera.target, 3);
    put_f32s(b, e->camera.up, 3);
    put_f32(b, e->camera.vfov_deg);
    put_f32(b, e->camera_tilt_deg);
    put_flag(b, e->camera_solved);
    put_meas(b, &e->meas);
    put_i32(b, e->iterations);
    put_f32s(b, a->skin, 3);
    put_flag(b, a->net);
}

static void decode_person(struct rd *r, struct worker_person_asset *a)
{
    struct avatar_person_est *e = &a->est;
    get_body(r, &e->body);
    e->silhouette_h_px = get_f32(r);
    e->stature_m = get_f32(r);
    e->iou = get_f32(r);
    get_f32s(r, e->place, 3);
    get_f32s(r, e->camera.eye, 3);
    get_f32s(r, e->camera.target, 3);
    get_f32s(r, e->camera.up, 3);
    e->camera.vfov_deg = get_f32(r);
    e->camera_tilt_deg = get_f32(r);
    e->camera_solved = get_flag(r);
    get_meas(r, &e->meas);
    e->iterations = get_i32(r);
    get_f32s(r, a->skin, 3);
    a->net = get_flag(r);
}

static void encode_garment(struct buf *b, const struct worker_garment_asset *a)
{
    const struct avatar_garment_est *e = &a->est;
    put_i32(b, (int)e->type);
    put_f32s(b, e->color, 3);
    put_f32(b, e->length);
    put_f32(b, e->sleeve);
    put_f32(b, e->looseness);
    put_f32s(b, &e->lm[0][0], 2 * AVATAR_LM_N);
    put_f32(b, e->type_confidence);
    put_i32(b, (int)e->style);
    put_flag(b, a->net);
    put_flag(b, a->back_net);
    uint32_t n = (uint32_t)strnlen(a->tex_error, sizeof a->tex_error - 1);
    put_u32(b, n);
    put(b, a->tex_error, n);
    bool tex = a->tex.w > 0;
    put_i32(b, tex ? a->tex.w : 0);
    put_i32(b, tex ? a->tex.h : 0);
    put_i32(b, tex ? a->tex.c : 0);
    if (tex)
        put_f32s(b, a->tex.px, (size_t)a->tex.w * a->tex.h * a->tex.c);
}

static void decode_garment(struct rd *r, struct worker_garment_asset *a)
{
    struct avatar_garment_est *e = &a->est;
    int type = get_i32(r);
    if (type < 0 || type >= AVATAR_GARMENT_NTYPES)
        r->bad = true;
    e->type = (enum avatar_garment_type)type;
    get_f32s(r, e->color, 3);
    e->length = get_f32(r);
    e->sleeve = get_f32(r);
    e->looseness = get_f32(r);
    get_f32s(r, &e->lm[0][0], 2 * AVATAR_LM_N);
    e->type_confidence = get_f32(r);
    int style = get_i32(r);
    if (style < 0 || style >= AVATAR_STYLE_N)
        r->bad = true;
    e->style = (enum avatar_garment_style)style;
    a->net = get_flag(r);
    a->back_net = get_flag(r);
    uint32_t n = get_u32(r);
    const uint8_t *t = n < sizeof a->tex_error ? take(r, n) : NULL;
    if (!t)
        r->bad = true;
    else
        memcpy(a->tex_error, t, n);
    int w = get_i32(r), h = get_i32(r), c = get_i32(r);
    if (r->bad)
        return;
    if (w == 0 && h == 0 && c == 0)
        return;
    /* the texture's floats must be exactly what is left */
    if (w < 1 || h < 1 || w > MAX_TEXTURE_SIDE || h > MAX_TEXTURE_SIDE || c != 3 ||
        (size_t)w * h * c * 4 != r->len - r->at || imgf_alloc(&a->tex, w, h, c)) {
        r->bad = true;
        return;
    }
    get_f32s(r, a->tex.px, (size_t)w * h * c);
}

/* ---- entries ---- */
static void header(uint8_t *h, enum worker_asset_kind kind, const char key[65], const uint8_t *payload, size_t len)
{
    memcpy(h, ENTRY_MAGIC, 8);
    const uint32_t u[2] = {WORKER_ASSET_FORMAT, (uint32_t)kind};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            h[8 + 4 * k + i] = (uint8_t)(u[k] >> (8 * i));
    key_bytes(key, h + 16);
    for (int i = 0; i < 8; i++)
        h[48 + i] = (uint8_t)((uint64_t)len >> (8 * i));
    struct sha256 s;
    sha256_init(&s);
    sha256_update(&s, payload, len);
    sha256_final(&s, h + 56);
}

static enum tryon_status put_entry(struct worker_cache *c, enum worker_asset_kind kind, const char key[65],
                                   const struct buf *payload)
{
    if (!key_valid(key))
        return tryon_fail(TRYON_EINVAL, "asset cache: '%.64s' is not a key", key);
    char path[PATH_MAX], name[80], tmp[128];
    worker_cache_entry_path(c, kind, key, path, sizeof path);
    snprintf(name, sizeof name, "%s.%s", key, kind_ext(kind));
    snprintf(tmp, sizeof tmp, ".%s.tmp.%016llx.%u", name, (unsigned long long)c->tmp_tag, c->tmp_seq++);
    int e;
    int sfd = shard_open(c, key, true, &e);
    if (sfd < 0)
        return tryon_failctx(TRYON_EIO, "asset cache");
    uint8_t h[HEADER_BYTES];
    header(h, kind, key, payload->p, payload->len);
    int fd = openat(sfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    int err = fd < 0 ? errno : 0;
    if (!err)
        err = fs_write_full(fd, h, HEADER_BYTES);
    if (!err)
        err = fs_write_full(fd, payload->p, payload->len);
    if (fd >= 0 && close(fd) != 0 && !err)
        err = errno;
    /* rename replaces the entry's name: a link planted there is replaced, not followed */
    if (!err && renameat(sfd, tmp, sfd, name) != 0)
        err = errno;
    if (err && fd >= 0)
        unlinkat(sfd, tmp, 0);
    close(sfd);
    if (err)
        return tryon_fail(TRYON_EIO, "asset cache: %s: cannot write: %s", path, strerror(err));
    return TRYON_OK;
}

/* Read and check the entry of key: MISS (no file), INVALID (message set) or HIT with the
   payload in *payload (malloc'd) and its length. */
static enum worker_cache_result get_entry(struct worker_cache *c, enum worker_asset_kind kind, const char key[65],
                                          uint8_t **payload, size_t *len)
{
    *payload = NULL;
    *len = 0;
    if (!key_valid(key)) {
        tryon_fail(TRYON_EINVAL, "asset cache: '%.64s' is not a key", key);
        return WORKER_CACHE_INVALID;
    }
    char path[PATH_MAX], name[80];
    worker_cache_entry_path(c, kind, key, path, sizeof path);
    snprintf(name, sizeof name, "%s.%s", key, kind_ext(kind));
    int e;
    int sfd = shard_open(c, key, false, &e);
    if (sfd < 0) {
        if (e == ENOENT)
            return WORKER_CACHE_MISS;
        tryon_failctx(TRYON_EIO, "asset cache");
        return WORKER_CACHE_INVALID;
    }
    int fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    e = errno;
    close(sfd);
    if (fd < 0) {
        if (e == ENOENT)
            return WORKER_CACHE_MISS;
        tryon_fail(TRYON_EIO, "%s: %s", path, e == ELOOP ? "a symbolic link: refusing it" : strerror(e));
        return WORKER_CACHE_INVALID;
    }
    struct stat st;
    const char *why = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if ((size_t)st.st_size < HEADER_BYTES)
        why = "shorter than its header";
    else if ((size_t)st.st_size > MAX_ENTRY_BYTES)
        why = "over the size limit";
    else {
        size = (size_t)st.st_size;
        data = tryon_xmalloc(size);
        if (fs_read_full(fd, data, size) != size)
            why = "short read";
    }
    close(fd);
    uint8_t want[HEADER_BYTES];
    if (!why) {
        uint64_t plen = 0;
        for (int i = 0; i < 8; i++)
            plen |= (uint64_t)data[48 + i] << (8 * i);
        if (memcmp(data, ENTRY_MAGIC, 8))
            why = "not an asset cache entry (bad magic)";
        else if (plen != size - HEADER_BYTES)
            why = "truncated or padded (payload length does not match the file)";
        else {
            header(want, kind, key, data + HEADER_BYTES, size - HEADER_BYTES);
            if (memcmp(data + 8, want + 8, 4))
                why = "another format version";
            else if (memcmp(data + 12, want + 12, 4))
                why = "another kind of asset";
            else if (memcmp(data + 16, want + 16, 32))
                why = "another key";
            else if (memcmp(data + 56, want + 56, 32))
                why = "payload checksum mismatch";
        }
    }
    if (why) {
        free(data);
        tryon_fail(TRYON_EFORMAT, "%s: %s", path, why);
        return WORKER_CACHE_INVALID;
    }
    memmove(data, data + HEADER_BYTES, size - HEADER_BYTES);
    *payload = data;
    *len = size - HEADER_BYTES;
    return WORKER_CACHE_HIT;
}

enum worker_cache_result worker_cache_get_person(struct worker_cache *c, const char key[65],
                                                 struct worker_person_asset *a)
{
    memset(a, 0, sizeof *a);
    uint8_t *p;
    size_t len;
    enum worker_cache_result r = get_entry(c, WORKER_ASSET_PERSON, key, &p, &len);
    if (r != WORKER_CACHE_HIT)
        return r;
    struct rd rd = {p, len, 0, false};
    decode_person(&rd, a);
    free(p);
    if (rd.bad || rd.at != len) {
        char path[PATH_MAX];
        worker_cache_entry_path(c, WORKER_ASSET_PERSON, key, path, sizeof path);
        tryon_fail(TRYON_EFORMAT, "%s: the payload does not parse as a person estimate", path);
        memset(a, 0, sizeof *a);
        return WORKER_CACHE_INVALID;
    }
    return WORKER_CACHE_HIT;
}

enum worker_cache_result worker_cache_get_garment(struct worker_cache *c, const char key[65],
                                                  struct worker_garment_asset *a)
{
    memset(a, 0, sizeof *a);
    uint8_t *p;
    size_t len;
    enum worker_cache_result r = get_entry(c, WORKER_ASSET_GARMENT, key, &p, &len);
    if (r != WORKER_CACHE_HIT)
        return r;
    struct rd rd = {p, len, 0, false};
    decode_garment(&rd, a);
    free(p);
    if (rd.bad || rd.at != len) {
        char path[PATH_MAX];
        worker_cache_entry_path(c, WORKER_ASSET_GARMENT, key, path, sizeof path);
        tryon_fail(TRYON_EFORMAT, "%s: the payload does not parse as a garment estimate", path);
        imgf_free(&a->tex);
        memset(a, 0, sizeof *a);
        return WORKER_CACHE_INVALID;
    }
    return WORKER_CACHE_HIT;
}

enum tryon_status worker_cache_put_person(struct worker_cache *c, const char key[65], const struct worker_person_asset *a)
{
    struct buf b = {0};
    encode_person(&b, a);
    enum tryon_status s = put_entry(c, WORKER_ASSET_PERSON, key, &b);
    free(b.p);
    return s;
}

enum tryon_status worker_cache_put_garment(struct worker_cache *c, const char key[65],
                                           const struct worker_garment_asset *a)
{
    assert(a->tex.w == 0 || a->tex.c == 3);
    struct buf b = {0};
    encode_garment(&b, a);
    enum tryon_status s = put_entry(c, WORKER_ASSET_GARMENT, key, &b);
    free(b.p);
    return s;
}
