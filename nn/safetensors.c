/* safetensors.c: read and write the safetensors format (weights of every model, and the
 * golden tensors of the tests).
 *
 * Format: u64 little-endian header length, a JSON object header, then raw little-endian
 * tensor bytes. Reading validates everything a corrupt or hostile file could break
 * (lengths, offsets, dtypes, shapes, overlaps) before any data is used; writing pads the
 * header with spaces so the data starts 8-byte aligned, as the reference writer does. */
#include "nn/nn_internal.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian");

#define ST_MAX_HEADER ((size_t)100 << 20) /* the reference library's header limit */
#define ST_DEFAULT_MAX ((size_t)4 << 30)
#define ST_NAME_MAX 1024

static const struct { enum nn_dtype d; const char *name; size_t size; } dtypes[] = {
    {NN_F32, "F32", 4}, {NN_F64, "F64", 8}, {NN_I32, "I32", 4}, {NN_I64, "I64", 8}, {NN_U8, "U8", 1},
};

/* Bytes of one element; 0 for an unknown dtype. */
static size_t dtype_size(enum nn_dtype d)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].d == d)
            return dtypes[i].size;
    return 0;
}

const char *nn_dtype_name(enum nn_dtype d)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].d == d)
            return dtypes[i].name;
    return "?";
}

static bool dtype_parse(const char *s, enum nn_dtype *d)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, s) == 0) {
            *d = dtypes[i].d;
            return true;
        }
    return false;
}

size_t nn_st_numel(const struct nn_st_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

void nn_st_free(struct nn_st_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->t[i].name);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->t);
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->bytes);
    free(f->path);
    free(f);
}

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const struct json_val *v, uint64_t *out)
{
    if (!v || v->type != JSON_NUM || !(v->num >= 0) || v->num > 9007199254740992.0 || floor(v->num) != v->num)
        return false;
    *out = (uint64_t)v->num;
    return true;
}

static int cmp_begin(const void *a, const void *b)
{
    const struct nn_st_tensor *x = *(const struct nn_st_tensor *const *)a;
    const struct nn_st_tensor *y = *(const struct nn_st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const struct nn_st_tensor *const *)a)->name, (*(const struct nn_st_tensor *const *)b)->name);
}

/* Parse and validate the header of f->bytes (already owned by f). */
static enum tryon_status st_validate(struct nn_st_file *f)
{
    const char *p = f->path;
    if (f->len < 8)
        return tryon_fail(TRYON_EFORMAT, "%s: %zu bytes, too short for a safetensors header length", p, f->len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->bytes[i];
    if (hlen > ST_MAX_HEADER)
        return tryon_fail(TRYON_EFORMAT, "%s: header length %llu over the %zu-byte limit", p,
                          (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > f->len - 8)
        return tryon_fail(TRYON_EFORMAT, "%s: header length %llu runs past the end of the file (%zu bytes)", p,
                          (unsigned long long)hlen, f->len);
    if (hlen < 2 || f->bytes[8] != '{')
        return tryon_fail(TRYON_EFORMAT, "%s: header is not a JSON object", p);
    f->data_start = 8 + (size_t)hlen;
    size_t data_len = f->len - f->data_start;

    struct json_val *root = NULL;
    enum tryon_status s = json_parse((const char *)f->bytes + 8, (size_t)hlen, p, &root);
    if (s < 0)
        return tryon_failctx(s, "safetensors header");
    if (root->type != JSON_OBJ) {
        json_free(root);
        return tryon_fail(TRYON_EFORMAT, "%s: header is not a JSON object", p);
    }
    f->t = calloc(root->n ? root->n : 1, sizeof *f->t);
    if (!f->t) {
        json_free(root);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", p);
    }
    for (size_t i = 0; i < root->n && s == TRYON_OK; i++) {
        const char *key = root->keys[i];
        const struct json_val *v = &root->items[i];
        if (strcmp(key, "__metadata__") == 0) {
            if (f->meta_keys) {
                s = tryon_fail(TRYON_EFORMAT, "%s: __metadata__ appears twice", p);
                break;
            }
            if (v->type != JSON_OBJ) {
                s = tryon_fail(TRYON_EFORMAT, "%s: __metadata__ is not an object", p);
                break;
            }
            f->meta_keys = calloc(v->n + 1, sizeof(char *));
            f->meta_vals = calloc(v->n + 1, sizeof(char *));
            if (!f->meta_keys || !f->meta_vals) {
                s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", p);
                break;
            }
            for (size_t j = 0; j < v->n; j++) {
                if (v->items[j].type != JSON_STR) {
                    s = tryon_fail(TRYON_EFORMAT, "%s: __metadata__ value of '%s' is not a string", p, v->keys[j]);
                    break;
                }
                f->meta_keys[j] = strdup(v->keys[j]);
                f->meta_vals[j] = strdup(v->items[j].str);
                f->n_meta = j + 1;
                if (!f->meta_keys[j] || !f->meta_vals[j]) {
                    s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", p);
                    break;
                }
            }
            continue;
        }
        struct nn_st_tensor *t = &f->t[f->n];
        size_t nlen = strlen(key);
        if (nlen == 0 || nlen > ST_NAME_MAX) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor name of %zu bytes (1..%d allowed)", p, nlen, ST_NAME_MAX);
            break;
        }
        t->name = strdup(key);
        if (!t->name) {
            s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", p);
            break;
        }
        f->n++;
        if (v->type != JSON_OBJ) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': entry is not an object", p, key);
            break;
        }
        for (size_t j = 0; j < v->n; j++)
            if (strcmp(v->keys[j], "dtype") && strcmp(v->keys[j], "shape") && strcmp(v->keys[j], "data_offsets")) {
                s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': unknown field '%s'", p, key, v->keys[j]);
                break;
            }
        if (s < 0)
            break;
        const char *dt = json_get_str(v, "dtype");
        if (!dt) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': missing dtype", p, key);
            break;
        }
        if (!dtype_parse(dt, &t->dtype)) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': unsupported dtype '%s' (F32, F64, I32, I64, U8)", p, key,
                           dt);
            break;
        }
        const struct json_val *sh = json_get(v, "shape");
        if (!sh || sh->type != JSON_ARR || sh->n > 8) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': shape must be an array of at most 8 sizes", p, key);
            break;
        }
        t->ndim = (int)sh->n;
        uint64_t numel = 1;
        for (size_t j = 0; j < sh->n; j++) {
            uint64_t d;
            if (!json_uint(&sh->items[j], &d) || d > (1ull << 40)) {
                s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': shape[%zu] is not a size", p, key, j);
                break;
            }
            t->shape[j] = (int64_t)d;
            if (d && numel > (1ull << 50) / d) {
                s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': element count overflows", p, key);
                break;
            }
            numel *= d;
        }
        if (s < 0)
            break;
        const struct json_val *off = json_get(v, "data_offsets");
        uint64_t a, b;
        if (!off || off->type != JSON_ARR || off->n != 2 || !json_uint(&off->items[0], &a) ||
            !json_uint(&off->items[1], &b)) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", p, key);
            break;
        }
        if (a > b || b > data_len) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] outside the %zu data bytes", p,
                           key, (unsigned long long)a, (unsigned long long)b, data_len);
            break;
        }
        if (b - a != numel * dtype_size(t->dtype)) {
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s': %llu bytes for %llu elements of %s", p, key,
                           (unsigned long long)(b - a), (unsigned long long)numel, dt);
            break;
        }
        t->begin = (size_t)a;
        t->end = (size_t)b;
    }
    json_free(root);
    if (s < 0)
        return s;

    /* Unique names, and the tensors tile the data section exactly (no overlap, no hole). */
    struct nn_st_tensor **order = malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", p);
    for (size_t i = 0; i < f->n; i++)
        order[i] = &f->t[i];
    qsort(order, f->n, sizeof *order, cmp_name);
    for (size_t i = 1; i < f->n && s == TRYON_OK; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' appears twice", p, order[i]->name);
    qsort(order, f->n, sizeof *order, cmp_begin);
    size_t pos = 0;
    for (size_t i = 0; i < f->n && s == TRYON_OK; i++) {
        if (order[i]->begin < pos)
            s = tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' overlaps tensor '%s'", p, order[i]->name,
                           order[i - 1]->name);
        else if (order[i]->begin > pos)
            s = tryon_fail(TRYON_EFORMAT, "%s: %zu unused bytes before tensor '%s'", p, order[i]->begin - pos,
                           order[i]->name);
        pos = order[i]->end;
    }
    if (s == TRYON_OK && pos != data_len)
        s = tryon_fail(TRYON_EFORMAT, "%s: %zu data bytes after the last tensor", p, data_len - pos);
    free(order);
    return s;
}

enum tryon_status nn_st_parse(const uint8_t *bytes, size_t len, const char *name, struct nn_st_file **out)
{
    *out = NULL;
    struct nn_st_file *f = calloc(1, sizeof *f);
    if (!f)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", name);
    f->path = strdup(name);
    f->bytes = malloc(len + 1);
    if (!f->path || !f->bytes) {
        nn_st_free(f);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", name);
    }
    memcpy(f->bytes, bytes, len);
    f->len = len;
    enum tryon_status s = st_validate(f);
    if (s < 0) {
        nn_st_free(f);
        return s;
    }
    *out = f;
    return TRYON_OK;
}

enum tryon_status nn_st_read(const char *path, size_t max_bytes, struct nn_st_file **out)
{
    *out = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    enum tryon_status s = fs_read_all(path, max_bytes ? max_bytes : ST_DEFAULT_MAX, &data, &len);
    if (s < 0)
        return s;
    struct nn_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        free(data);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    f->bytes = data;
    f->len = len;
    s = st_validate(f);
    if (s < 0) {
        nn_st_free(f);
        return s;
    }
    *out = f;
    return TRYON_OK;
}

const struct nn_st_tensor *nn_st_find(const struct nn_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

const char *nn_st_meta(const struct nn_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_vals[i];
    return NULL;
}

void nn_st_copy_f32(const struct nn_st_file *f, const struct nn_st_tensor *t, float *dst)
{
    assert(t->dtype == NN_F32);
    memcpy(dst, f->bytes + f->data_start + t->begin, t->end - t->begin);
}

void nn_st_copy_i32(const struct nn_st_file *f, const struct nn_st_tensor *t, int32_t *dst)
{
    assert(t->dtype == NN_I32);
    memcpy(dst, f->bytes + f->data_start + t->begin, t->end - t->begin);
}

enum tryon_status nn_st_get_f32(const struct nn_st_file *f, const char *name, size_t expect_numel,
                                float **out, size_t *numel)
{
    *out = NULL;
    const struct nn_st_tensor *t = nn_st_find(f, name);
    if (!t)
        return tryon_fail(TRYON_EFORMAT, "%s: no tensor '%s'", f->path, name);
    if (t->dtype != NN_F32)
        return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' is %s, expected F32", f->path, name,
                          nn_dtype_name(t->dtype));
    size_t n = nn_st_numel(t);
    if (expect_numel && n != expect_numel)
        return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' has %zu elements, expected %zu", f->path, name, n,
                          expect_numel);
    float *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", f->path);
    nn_st_copy_f32(f, t, d);
    *out = d;
    if (numel)
        *numel = n;
    return TRYON_OK;
}

/* ----- writer ---------------------------------------------------------------------------*/
struct st_item {
    char *name;
    enum nn_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t nbytes;
    void *data;
};

struct nn_st_writer {
    size_t n, cap;
    struct st_item *items;
    size_t n_meta, cap_meta;
    char **meta_keys, **meta_vals;
};

struct nn_st_writer *nn_st_writer_create(void)
{
    return calloc(1, sizeof(struct nn_st_writer));
}

void nn_st_writer_free(struct nn_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].name);
        free(w->items[i].data);
    }
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_vals[i]);
    }
    free(w->items);
    free(w->meta_keys);
    free(w->meta_vals);
    free(w);
}

enum tryon_status nn_st_add(struct nn_st_writer *w, const char *name, enum nn_dtype dtype, int ndim,
                            const int64_t *shape, const void *data)
{
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > ST_NAME_MAX || strcmp(name, "__metadata__") == 0)
        return tryon_fail(TRYON_EINVAL, "safetensors: invalid tensor name '%s'", name);
    if (ndim < 0 || ndim > 8 || dtype_size(dtype) == 0)
        return tryon_fail(TRYON_EINVAL, "safetensors: tensor '%s': bad rank %d or dtype", name, ndim);
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->items[i].name, name) == 0)
            return tryon_fail(TRYON_EINVAL, "safetensors: tensor '%s' added twice", name);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        struct st_item *it = realloc(w->items, cap * sizeof *it);
        if (!it)
            return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory");
        w->items = it;
        w->cap = cap;
    }
    struct st_item *it = &w->items[w->n];
    memset(it, 0, sizeof *it);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return tryon_fail(TRYON_EINVAL, "safetensors: tensor '%s': negative size", name);
        it->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    it->ndim = ndim;
    it->dtype = dtype;
    it->nbytes = numel * dtype_size(dtype);
    it->name = strdup(name);
    it->data = malloc(it->nbytes ? it->nbytes : 1);
    if (!it->name || !it->data) {
        free(it->name);
        free(it->data);
        return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory");
    }
    if (it->nbytes)
        memcpy(it->data, data, it->nbytes);
    w->n++;
    return TRYON_OK;
}

enum tryon_status nn_st_add_meta(struct nn_st_writer *w, const char *key, const char *value)
{
    for (size_t i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta_keys[i], key) == 0)
            return tryon_fail(TRYON_EINVAL, "safetensors: metadata key '%s' added twice", key);
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 8;
        char **k = realloc(w->meta_keys, cap * sizeof *k);
        if (!k)
            return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory");
        w->meta_keys = k;
        char **v = realloc(w->meta_vals, cap * sizeof *v);
        if (!v)
            return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory");
        w->meta_vals = v;
        w->cap_meta = cap;
    }
    w->meta_keys[w->n_meta] = strdup(key);
    w->meta_vals[w->n_meta] = strdup(value);
    if (!w->meta_keys[w->n_meta] || !w->meta_vals[w->n_meta]) {
        free(w->meta_keys[w->n_meta]);
        free(w->meta_vals[w->n_meta]);
        return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory");
    }
    w->n_meta++;
    return TRYON_OK;
}

enum tryon_status nn_st_serialize(const struct nn_st_writer *w, uint8_t **bytes, size_t *len)
{
    struct json_w j;
    json_w_init(&j);
    json_obj_begin(&j);
    if (w->n_meta) {
        json_key(&j, "__metadata__");
        json_obj_begin(&j);
        for (size_t i = 0; i < w->n_meta; i++) {
            json_key(&j, w->meta_keys[i]);
            json_str(&j, w->meta_vals[i]);
        }
        json_obj_end(&j);
    }
    size_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct st_item *it = &w->items[i];
        json_key(&j, it->name);
        json_obj_begin(&j);
        json_key(&j, "dtype");
        json_str(&j, nn_dtype_name(it->dtype));
        json_key(&j, "shape");
        json_arr_begin(&j);
        for (int d = 0; d < it->ndim; d++)
            json_int(&j, (long long)it->shape[d]);
        json_arr_end(&j);
        json_key(&j, "data_offsets");
        json_arr_begin(&j);
        json_int(&j, (long long)off);
        json_int(&j, (long long)(off + it->nbytes));
        json_arr_end(&j);
        json_obj_end(&j);
        off += it->nbytes;
    }
    json_obj_end(&j);
    size_t hlen = (j.len + 7) / 8 * 8; /* spaces pad the data start to 8 bytes */
    size_t total = 8 + hlen + off;
    uint8_t *b = malloc(total);
    if (!b) {
        json_w_free(&j);
        return tryon_fail(TRYON_ENOMEM, "safetensors: out of memory for %zu bytes", total);
    }
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, j.buf, j.len);
    memset(b + 8 + j.len, ' ', hlen - j.len);
    json_w_free(&j);
    uint8_t *d = b + 8 + hlen;
    for (size_t i = 0; i < w->n; i++) {
        memcpy(d, w->items[i].data, w->items[i].nbytes);
        d += w->items[i].nbytes;
    }
    *bytes = b;
    *len = total;
    return TRYON_OK;
}

enum tryon_status nn_st_write(const struct nn_st_writer *w, const char *path)
{
    uint8_t *b;
    size_t len;
    enum tryon_status s = nn_st_serialize(w, &b, &len);
    if (s < 0)
        return s;
    s = fs_write_atomic(path, b, len);
    free(b);
    return s;
}
