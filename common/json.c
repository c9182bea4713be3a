/* json.c: a small JSON writer (manifests, summaries, safetensors headers, journal lines)
 * and a DOM reader (safetensors headers, journals, MakeHuman rig and macro files).
 * The reader is strict RFC 8259 with a depth limit; numbers go through strtod. */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ---- */
static void w_put(struct json_w *w, const char *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1)
            cap *= 2;
        char *nb = tryon_xrealloc(w->buf, cap);
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

static void w_puts(struct json_w *w, const char *s) { w_put(w, s, strlen(s)); }

void json_w_init(struct json_w *w)
{
    memset(w, 0, sizeof *w);
    w->first[0] = true;
}

void json_w_free(struct json_w *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

void json_w_reset(struct json_w *w)
{
    w->len = 0;
    if (w->buf)
        w->buf[0] = 0;
    w->depth = 0;
    w->first[0] = true;
    w->after_key = false;
}

/* comma before a value or key, unless it is the first in its container or follows a key */
static void w_sep(struct json_w *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        w_put(w, ",", 1);
    w->first[w->depth] = false;
}

static void w_open(struct json_w *w, char c)
{
    w_sep(w);
    w_put(w, &c, 1);
    if (w->depth + 1 >= (int)(sizeof w->first / sizeof w->first[0]))
        abort(); /* a bug: nothing we write nests this deep */
    w->first[++w->depth] = true;
}

static void w_close(struct json_w *w, char c)
{
    w->depth--;
    w_put(w, &c, 1);
}

void json_obj_begin(struct json_w *w) { w_open(w, '{'); }
void json_obj_end(struct json_w *w) { w_close(w, '}'); }
void json_arr_begin(struct json_w *w) { w_open(w, '['); }
void json_arr_end(struct json_w *w) { w_close(w, ']'); }

static void w_string(struct json_w *w, const char *s)
{
    w_put(w, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': w_put(w, "\\\"", 2); break;
        case '\\': w_put(w, "\\\\", 2); break;
        case '\n': w_put(w, "\\n", 2); break;
        case '\r': w_put(w, "\\r", 2); break;
        case '\t': w_put(w, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                w_puts(w, esc);
            } else {
                w_put(w, (const char *)p, 1);
            }
        }
    }
    w_put(w, "\"", 1);
}

void json_key(struct json_w *w, const char *k)
{
    w_sep(w);
    w_string(w, k);
    w_put(w, ":", 1);
    w->after_key = true;
}

void json_str(struct json_w *w, const char *s)
{
    w_sep(w);
    if (s)
        w_string(w, s);
    else
        w_puts(w, "null");
}

void json_numf(struct json_w *w, double v, int digits)
{
    w_sep(w);
    if (!isfinite(v)) {
        w_puts(w, "null");
        return;
    }
    char b[40];
    snprintf(b, sizeof b, "%.*g", digits, v);
    w_puts(w, b);
}

void json_num(struct json_w *w, double v) { json_numf(w, v, 17); }

void json_int(struct json_w *w, long long v)
{
    char b[32];
    w_sep(w);
    snprintf(b, sizeof b, "%lld", v);
    w_puts(w, b);
}

void json_bool(struct json_w *w, bool v)
{
    w_sep(w);
    w_puts(w, v ? "true" : "false");
}

void json_null(struct json_w *w)
{
    w_sep(w);
    w_puts(w, "null");
}

void json_raw(struct json_w *w, const char *text)
{
    w_sep(w);
    w_puts(w, text);
}

/* ---- reader ---- */
#define JSON_MAX_DEPTH 256

struct jp {
    const char *s, *end, *name;
    const char *start;
    char err[160];
};

static void jp_err(struct jp *p, const char *what)
{
    if (!p->err[0])
        snprintf(p->err, sizeof p->err, "%s", what);
}

static void skip_ws(struct jp *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static void val_clear(struct json_val *v)
{
    if (v->type == JSON_STR)
        free(v->str);
    if (v->type == JSON_ARR || v->type == JSON_OBJ) {
        for (size_t i = 0; i < v->n; i++) {
            val_clear(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static char *parse_string(struct jp *p)
{
    /* p->s at the opening quote; the decoded string is never longer than the source */
    const char *q = ++p->s;
    while (q < p->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= p->end) {
        jp_err(p, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - p->s) + 1), *o = out;
    if (!out) {
        jp_err(p, "out of memory");
        return NULL;
    }
    while (*p->s != '"') {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) {
            jp_err(p, "control character in string");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        char e = *p->s++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = p->s < q ? hexval(*p->s++) : -1;
                if (h < 0) {
                    jp_err(p, "bad \\u escape");
                    free(out);
                    return NULL;
                }
                cp = cp << 4 | (uint32_t)h;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && p->s + 6 <= q && p->s[0] == '\\' && p->s[1] == 'u') {
                uint32_t lo = 0;
                int ok = 1;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(p->s[2 + i]);
                    if (h < 0) ok = 0;
                    lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
                }
                if (ok && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    p->s += 6;
                }
            }
            if (cp == 0) {
                jp_err(p, "\\u0000 in string");
                free(out);
                return NULL;
            }
            /* a \uXXXX escape (6 source bytes) never encodes to more than 4 bytes */
            o += put_utf8(o, cp);
            break;
        }
        default:
            jp_err(p, "bad escape");
            free(out);
            return NULL;
        }
    }
    p->s++;
    *o = 0;
    return out;
}

static int parse_value(struct jp *p, struct json_val *v, int depth);

static int parse_container(struct jp *p, struct json_val *v, int depth, bool obj)
{
    v->type = obj ? JSON_OBJ : JSON_ARR;
    size_t cap = 0;
    p->s++;
    skip_ws(p);
    if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
        p->s++;
        return 0;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 4;
            struct json_val *ni = realloc(v->items, sizeof *ni * cap);
            if (!ni) { jp_err(p, "out of memory"); return -1; }
            v->items = ni;
            if (obj) {
                char **nk = realloc(v->keys, sizeof *nk * cap);
                if (!nk) { jp_err(p, "out of memory"); return -1; }
                v->keys = nk;
            }
        }
        skip_ws(p);
        char *key = NULL;
        if (obj) {
            if (p->s >= p->end || *p->s != '"') { jp_err(p, "expected a key"); return -1; }
            if (!(key = parse_string(p)))
                return -1;
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':') { free(key); jp_err(p, "expected ':'"); return -1; }
            p->s++;
        }
        struct json_val *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (obj)
            v->keys[v->n] = key;
        v->n++;
        if (parse_value(p, item, depth + 1))
            return -1;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == (obj ? '}' : ']')) {
            p->s++;
            return 0;
        }
        jp_err(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        return -1;
    }
}

static int parse_value(struct jp *p, struct json_val *v, int depth)
{
    if (depth > JSON_MAX_DEPTH) {
        jp_err(p, "nesting too deep");
        return -1;
    }
    skip_ws(p);
    if (p->s >= p->end) {
        jp_err(p, "unexpected end");
        return -1;
    }
    char c = *p->s;
    if (c == '{' || c == '[')
        return parse_container(p, v, depth, c == '{');
    if (c == '"') {
        v->type = JSON_STR;
        v->str = parse_string(p);
        return v->str ? 0 : -1;
    }
    static const struct { const char *w; enum json_type t; bool b; } lits[] = {
        {"null", JSON_NULL, false}, {"true", JSON_BOOL, true}, {"false", JSON_BOOL, false}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i].w);
        if ((size_t)(p->end - p->s) >= n && memcmp(p->s, lits[i].w, n) == 0) {
            v->type = lits[i].t;
            v->b = lits[i].b;
            p->s += n;
            return 0;
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t n = 0;
        while (p->s + n < p->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[n]))
            n++;
        memcpy(buf, p->s, n);
        buf[n] = 0;
        char *e;
        v->type = JSON_NUM;
        v->num = strtod(buf, &e);
        if (e != buf + n || n == 0) {
            jp_err(p, "bad number");
            return -1;
        }
        p->s += n;
        return 0;
    }
    jp_err(p, "unexpected character");
    return -1;
}

enum tryon_status json_parse(const char *text, size_t len, const char *name, struct json_val **out)
{
    *out = NULL;
    struct jp p = {text, text + len, name, text, {0}};
    struct json_val *v = calloc(1, sizeof *v);
    if (!v)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", name);
    int r = parse_value(&p, v, 0);
    if (r == 0) {
        skip_ws(&p);
        if (p.s != p.end) {
            jp_err(&p, "trailing characters");
            r = -1;
        }
    }
    if (r) {
        json_free(v);
        return tryon_fail(TRYON_EFORMAT, "%s: byte %zu: invalid JSON: %s", name, (size_t)(p.s - text), p.err);
    }
    *out = v;
    return TRYON_OK;
}

enum tryon_status json_parse_file(const char *path, struct json_val **out)
{
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_gz(path, (size_t)1 << 30, &data, &len);
    if (s)
        return s;
    s = json_parse((const char *)data, len, path, out);
    free(data);
    return s;
}

void json_free(struct json_val *v)
{
    if (!v)
        return;
    val_clear(v);
    free(v);
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

double json_get_num(const struct json_val *obj, const char *key, double dflt)
{
    const struct json_val *v = json_get(obj, key);
    return v && v->type == JSON_NUM ? v->num : dflt;
}

const char *json_get_str(const struct json_val *obj, const char *key)
{
    const struct json_val *v = json_get(obj, key);
    return v && v->type == JSON_STR ? v->str : NULL;
}
