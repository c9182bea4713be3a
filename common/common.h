/* common.h: the one public header of common/, the bottom of the module stack.
 *
 * Everything every other module needs and that depends on libc (plus libpng, zlib and
 * libyaml) only: status codes and error messages, logging, files, hashing (SHA-256, 64-bit
 * mixing), a seeded RNG, PNG image I/O and resampling, YAML documents with line numbers,
 * and a JSON writer and reader.
 *
 * Prefixes: tryon_ (status), log_, fs_, hash_/sha256_, rng_, img_, yml_, json_.
 * Ownership: a function that returns a pointer through an `out` argument hands it to the
 * caller, who frees it with the matching *_free. Nothing here keeps global state except the
 * log level/rank and a thread-local error message.
 */
#ifndef TRYON_COMMON_H
#define TRYON_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ===== status and error messages ======================================================
 * Errors input or the environment can cause return a negative status and leave a message
 * (thread-local) that names the file and, where known, the line. Bugs assert instead. */
enum tryon_status {
    TRYON_OK = 0,
    TRYON_EINVAL = -1,       /* malformed input: bad YAML value, bad id, bad argument */
    TRYON_EIO = -2,          /* read/write failed: missing file, disk full, permission */
    TRYON_ENOMEM = -3,       /* allocation failed */
    TRYON_EFORMAT = -4,      /* file is not what it claims: not a PNG, truncated, corrupt */
    TRYON_ELIMIT = -5,       /* input over a size limit */
    TRYON_ETIMEOUT = -6,     /* a stage ran past its deadline */
    TRYON_ENOTSETTLED = -7,  /* an iterative solve did not converge */
    TRYON_EUNSUPPORTED = -8, /* feature or backend not available in this build/machine */
    TRYON_EINTERRUPTED = -9, /* stopped by a signal (preemption) */
};

/* Short stable name of a status ("ok", "invalid", "io", ...). */
const char *tryon_status_str(enum tryon_status s);
/* Set the thread's error message (printf-style) and return s, so callers can write
 * `return tryon_fail(TRYON_EIO, "%s: cannot open: %s", path, strerror(errno));`. */
enum tryon_status tryon_fail(enum tryon_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prefix the current message with more context: "context: old message". Returns s. */
enum tryon_status tryon_failctx(enum tryon_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The thread's last message ("" when none). Valid until the next tryon_fail on this thread. */
const char *tryon_errmsg(void);
void tryon_errclear(void);

/* ===== logging ===========================================================================
 * log_info(...) etc. do not evaluate their arguments when the level is off. Lines go to
 * stderr as "[rank N] LEVEL message" (rank prefix only once log_set_rank was called with
 * a world size above 1). */
enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
extern int log_threshold; /* messages with level <= threshold are printed; default LOG_INFO */
void log_set_level(enum log_level lvl);
void log_set_rank(int rank, int world);
void log_write(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_AT(lvl, ...) do { if ((lvl) <= log_threshold) log_write((lvl), __VA_ARGS__); } while (0)
#define log_error(...) LOG_AT(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARN, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

/* ===== memory ==========================================================================
 * The one out-of-memory policy. An allocation whose size the input decides (an image, a
 * catalog, a journal, a tensor file) is checked by its caller and fails with TRYON_ENOMEM
 * naming that input, like any input that is too big. Any other allocation that fails ends
 * the process with a message naming the place and abort(), so the rank ends as a crashed
 * one does (mpirun ends the job; a re-run resumes); these do that for plain allocations
 * ("tryon: out of memory (N bytes) at file:line"). Nothing exits with a status for memory.
 * n = 0 allocates one byte. */
void *tryon_xmalloc_at(size_t n, const char *file, int line);
void *tryon_xcalloc_at(size_t count, size_t size, const char *file, int line);
void *tryon_xrealloc_at(void *p, size_t n, const char *file, int line);
char *tryon_xstrdup_at(const char *s, const char *file, int line);
/* n bytes (rounded up to a multiple of align, a power of two) at an align-byte boundary. */
void *tryon_xaligned_at(size_t align, size_t n, const char *file, int line);
#define tryon_xmalloc(n) tryon_xmalloc_at((n), __FILE__, __LINE__)
#define tryon_xcalloc(count, size) tryon_xcalloc_at((count), (size), __FILE__, __LINE__)
#define tryon_xrealloc(p, n) tryon_xrealloc_at((p), (n), __FILE__, __LINE__)
#define tryon_xstrdup(s) tryon_xstrdup_at((s), __FILE__, __LINE__)
#define tryon_xaligned(align, n) tryon_xaligned_at((align), (n), __FILE__, __LINE__)

/* ===== time ============================================================================ */
double time_now(void); /* monotonic seconds */

/* ===== files =============================================================================*/
/* Read a whole file into a malloc'd buffer with a NUL after the last byte (not counted in
 * *len). max_bytes = 0 means no limit; a larger file fails with TRYON_ELIMIT. */
enum tryon_status fs_read_all(const char *path, size_t max_bytes, uint8_t **data, size_t *len);
/* All n bytes of p written to fd, short writes and EINTR retried: 0, or the errno (EIO for
 * a write that wrote nothing). */
int fs_write_full(int fd, const void *p, size_t n);
/* Up to n bytes read from fd into p until end of file, EINTR retried: the bytes read (fewer
 * than n at end of file or on an error). */
size_t fs_read_full(int fd, void *p, size_t n);
/* Write bytes to path atomically: path.tmp.<pid>, fsync, rename, fsync the folder (under
 * the confinement below: no link followed inside the root; a link at path is replaced). */
enum tryon_status fs_write_atomic(const char *path, const void *data, size_t len);
/* mkdir -p; mode 0755. */
enum tryon_status fs_mkdirs(const char *path);
/* Output confinement. After fs_confine(root) (a command's output folder; NULL lifts it),
 * every write of the process to a path below root (the path string starts with root and
 * "/"), through fs_write_atomic, fs_mkdirs, fs_mkdirs_parent, fs_open_parent and
 * fs_open_out, enters each folder below root with O_NOFOLLOW: a symbolic link inside root
 * is refused with TRYON_EIO naming it, never followed, so nothing is written outside root
 * through a planted link. Root itself (and above it) is resolved as usual. Set it once,
 * before threads start. */
void fs_confine(const char *root);
/* The folder that holds path, opened as *dfd (O_DIRECTORY; mkdir -p first when create),
 * and path's last component in leaf (cap bytes): for openat/renameat/linkat. The caller
 * closes *dfd. */
enum tryon_status fs_open_parent(const char *path, bool create, int *dfd, char *leaf, size_t cap);
/* open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode) under the confinement: a link at any
 * component inside root, the last included, is refused naming it. */
enum tryon_status fs_open_out(const char *path, int flags, unsigned mode, int *fd);
/* mkdir -p of the folder that holds path. */
enum tryon_status fs_mkdirs_parent(const char *path);
bool fs_exists(const char *path);
/* Join a folder and a relative path into out (cap bytes); fails with TRYON_ELIMIT if long. */
enum tryon_status fs_join(char *out, size_t cap, const char *dir, const char *rel);
/* Folder part of path into out ("." when none). */
void fs_dirname(char *out, size_t cap, const char *path);
/* True when rel, resolved against dir (symlinks and .. followed), stays inside dir.
 * A missing file is judged by its normalized path. */
bool fs_path_inside(const char *dir, const char *rel);
/* The folder of the CC0 MakeHuman data: $TRYON_ASSETS, else the build's default. */
const char *tryon_asset_dir(void);

/* ===== hashing ===========================================================================*/
struct sha256 { uint32_t h[8]; uint64_t nbytes; uint8_t buf[64]; size_t nbuf; };
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* One-shot digest as 64 lowercase hex characters plus NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* 64-bit hash of bytes (FNV-1a folded through a splitmix finalizer), seeded. */
uint64_t hash64(const void *data, size_t len, uint64_t seed);
/* splitmix64 finalizer: a good bijective mix of one 64-bit word. */
uint64_t hash_mix64(uint64_t x);
/* The per-pair seed of DESIGN.md: hash(job seed, person id, garment id). */
uint64_t hash_pair_seed(uint64_t job_seed, const char *person, const char *garment);

/* ===== random numbers (xoshiro256**) =====================================================
 * Every random number of a pair comes from one of these seeded by hash_pair_seed. */
struct rng { uint64_t s[4]; };
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_u64(struct rng *r);
uint32_t rng_u32(struct rng *r);
float rng_float(struct rng *r);        /* uniform in [0, 1) with 24 random bits */
double rng_double(struct rng *r);      /* uniform in [0, 1) with 53 random bits */
float rng_normal(struct rng *r);       /* standard normal (Box-Muller) */
/* An independent stream for sub-task k (e.g. pixel tile k): seeded from r's seed and k
 * without advancing r. */
void rng_split(const struct rng *r, uint64_t k, struct rng *out);

/* ===== images ============================================================================
 * img8: interleaved 8-bit pixels, c channels (1 gray, 3 RGB, 4 RGBA), row-major,
 * stride w*c bytes. imgf: same layout in float (linear light unless said otherwise). */
struct img8 { int w, h, c; uint8_t *px; };
struct imgf { int w, h, c; float *px; };

/* Limits checked on the PNG header before any pixel memory is allocated. */
struct img_limits {
    int max_w, max_h;      /* pixels; 0 = no limit */
    int64_t max_pixels;    /* w*h; 0 = no limit */
    size_t max_file_bytes; /* 0 = no limit */
};
#define IMG_DEFAULT_MAX_SIDE 8192
#define IMG_DEFAULT_MAX_PIXELS (40LL * 1000 * 1000)
#define IMG_DEFAULT_MAX_FILE ((size_t)256 << 20)
struct img_limits img_default_limits(void);

/* Header facts of a PNG file, read without decoding pixels. */
struct img_info { int w, h; int bit_depth; bool has_alpha; bool is_palette; bool is_gray; };
/* Check signature and IHDR (and the limits); TRYON_EFORMAT / TRYON_ELIMIT with the file
 * named in the message. */
enum tryon_status img_probe_png(const char *path, const struct img_limits *lim, struct img_info *info);
/* Decode a PNG to 8-bit RGBA (out->c = 4) whatever its colour type; 16-bit is reduced,
 * palette and gray are expanded, no alpha becomes 255. *had_alpha tells whether the file
 * carried transparency (may be NULL). A truncated or corrupt file is TRYON_EFORMAT. */
enum tryon_status img_load_png(const char *path, const struct img_limits *lim, struct img8 *out,
                               bool *had_alpha);
/* Same from bytes in memory; `name` is used in messages. */
enum tryon_status img_decode_png(const uint8_t *data, size_t len, const char *name,
                                 const struct img_limits *lim, struct img8 *out, bool *had_alpha);
/* Encode c = 1, 3 or 4 channel 8-bit image to PNG bytes (malloc'd). Deterministic: the same
 * pixels give the same bytes (fixed zlib level, no time chunk). */
enum tryon_status img_encode_png(const struct img8 *im, uint8_t **data, size_t *len);
/* Encode a float image with c = 1 or 3 as Portable Float Map (header "Pf" or "PF", w h,
   scale -1 = little-endian, then the rows bottom to top): HDR renders for compositing and
   benchmarks. *data is malloc'd. TRYON_EINVAL for another channel count. */
enum tryon_status imgf_encode_pfm(const struct imgf *im, uint8_t **data, size_t *len);
/* Encode and write atomically. */
enum tryon_status img_save_png(const char *path, const struct img8 *im);

enum tryon_status img8_alloc(struct img8 *im, int w, int h, int c); /* zeroed */
enum tryon_status imgf_alloc(struct imgf *im, int w, int h, int c); /* zeroed */
void img8_free(struct img8 *im);
void imgf_free(struct imgf *im);

/* sRGB transfer functions on one value in [0,1]. */
float img_srgb_to_linear(float v);
float img_linear_to_srgb(float v);
/* 8-bit sRGB -> float linear (alpha channel, if c == 4, copied as v/255). */
enum tryon_status img8_to_linear(const struct img8 *src, struct imgf *dst);
/* float linear -> 8-bit sRGB with rounding and clamping (alpha linear). */
enum tryon_status imgf_to_srgb8(const struct imgf *src, struct img8 *dst);
/* Resize with an area-weighted (box) filter when shrinking and bilinear when growing;
 * works on any channel count. dst is allocated. */
enum tryon_status imgf_resize(const struct imgf *src, int w, int h, struct imgf *dst);
enum tryon_status img8_resize(const struct img8 *src, int w, int h, struct img8 *dst);
/* Shrink by an integer factor k: each k x k block (clipped at the edges) becomes its mean in
 * premultiplied linear light, as img8_resize would, but 8-bit to 8-bit without a float copy
 * of the source (for very large photos). c = 3 or 4; dst is allocated. */
enum tryon_status img8_reduce(const struct img8 *src, int k, struct img8 *dst);

/* ===== YAML documents with line numbers ==================================================
 * A parsed YAML file as a plain tree. Lines are 1-based. Aliases are rejected (a catalog
 * needs none, and they are a classic resource-exhaustion trap). */
enum yml_kind { YML_SCALAR, YML_SEQ, YML_MAP };
struct yml_node {
    enum yml_kind kind;
    int line;               /* 1-based line of the node's start */
    char *str;              /* YML_SCALAR: the value (never NULL) */
    int n;                  /* YML_SEQ/YML_MAP: number of items */
    struct yml_node **items;/* YML_SEQ: items; YML_MAP: values */
    char **keys;            /* YML_MAP: keys (scalars) */
    int *key_lines;         /* YML_MAP: line of each key */
};
struct yml_doc {
    char *path;             /* as given, for messages */
    struct yml_node *root;  /* NULL for an empty document */
};
/* Parse a file (size limit max_bytes, 0 = 16 MiB). Syntax errors name path:line:col. */
enum tryon_status yml_load_file(const char *path, size_t max_bytes, struct yml_doc **out);
enum tryon_status yml_load_string(const char *text, size_t len, const char *name, struct yml_doc **out);
void yml_free(struct yml_doc *doc);
/* Map lookup; NULL when absent or when map is not a map. */
struct yml_node *yml_get(const struct yml_node *map, const char *key);
/* Fail with "path:line: unknown key 'k' (expected one of: a, b)" for a key not in the
 * NULL-terminated list `allowed`, and for a duplicated key. */
enum tryon_status yml_check_keys(const struct yml_doc *doc, const struct yml_node *map,
                                 const char *const *allowed);
/* Typed scalar reads; errors name path:line and `what`. */
enum tryon_status yml_as_int(const struct yml_doc *doc, const struct yml_node *n, const char *what, long long *out);
enum tryon_status yml_as_double(const struct yml_doc *doc, const struct yml_node *n, const char *what, double *out);
enum tryon_status yml_as_bool(const struct yml_doc *doc, const struct yml_node *n, const char *what, bool *out);
enum tryon_status yml_as_str(const struct yml_doc *doc, const struct yml_node *n, const char *what, const char **out);
/* Require kind; message "path:line: <what> must be a <kind>". */
enum tryon_status yml_expect(const struct yml_doc *doc, const struct yml_node *n, enum yml_kind kind, const char *what);

/* ===== JSON writer =======================================================================
 * Appends compact JSON to a growing buffer; commas are handled by the writer. Numbers
 * print with %.17g (doubles round-trip) or as integers; strings are escaped. */
struct json_w {
    char *buf;           /* NUL-terminated output */
    size_t len, cap;
    int depth;
    bool first[64];      /* per depth: no item written yet */
    bool after_key;      /* a key was just written, the value follows */
};
void json_w_init(struct json_w *w);
void json_w_free(struct json_w *w);
void json_w_reset(struct json_w *w);
void json_obj_begin(struct json_w *w);
void json_obj_end(struct json_w *w);
void json_arr_begin(struct json_w *w);
void json_arr_end(struct json_w *w);
void json_key(struct json_w *w, const char *k);
void json_str(struct json_w *w, const char *s);
void json_num(struct json_w *w, double v);   /* NaN/inf become null */
void json_numf(struct json_w *w, double v, int digits); /* %.{digits}g */
void json_int(struct json_w *w, long long v);
void json_bool(struct json_w *w, bool v);
void json_null(struct json_w *w);
/* Raw already-valid JSON as one value. */
void json_raw(struct json_w *w, const char *text);

/* ===== JSON reader =======================================================================
 * A DOM for small files: safetensors headers, journal lines, MakeHuman rig and macro data.
 * Objects keep key order. Nesting deeper than 256 is rejected. */
enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };
struct json_val {
    enum json_type type;
    bool b;
    double num;
    char *str;                 /* JSON_STR, NUL-terminated (may contain NUL only via \u0000: rejected) */
    size_t n;                  /* JSON_ARR/JSON_OBJ: number of items */
    struct json_val *items;    /* JSON_ARR/JSON_OBJ: values, contiguous */
    char **keys;               /* JSON_OBJ: keys */
};
/* Parse text[0..len); errors are TRYON_EFORMAT "name: byte N: what". */
enum tryon_status json_parse(const char *text, size_t len, const char *name, struct json_val **out);
/* Parse a whole file (gzip-compressed when the name ends in .gz). */
enum tryon_status json_parse_file(const char *path, struct json_val **out);
void json_free(struct json_val *v);
const struct json_val *json_get(const struct json_val *obj, const char *key); /* NULL if absent */
double json_get_num(const struct json_val *obj, const char *key, double dflt);
const char *json_get_str(const struct json_val *obj, const char *key); /* NULL if absent */

/* ===== gzip ===============================================================================*/
/* Read a whole (optionally gzip-compressed) file; decompression by zlib's gzread, so a
 * plain file reads as is. NUL-terminated like fs_read_all. */
enum tryon_status fs_read_gz(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

#endif
