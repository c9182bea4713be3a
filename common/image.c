/* image.c: PNG decode/encode through libpng, sRGB conversions and resampling.
 *
 * Decoding checks the signature and the header's declared size against limits before any
 * pixel memory is allocated, so a PNG that declares 100000x100000 fails fast and cleanly.
 * libpng reports errors by longjmp; every exit path frees what it allocated. Encoding uses
 * a fixed zlib level and writes no time chunk, so equal pixels give equal bytes. */
#include "common.h"

#include <assert.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct img_limits img_default_limits(void)
{
    struct img_limits l = {IMG_DEFAULT_MAX_SIDE, IMG_DEFAULT_MAX_SIDE, IMG_DEFAULT_MAX_PIXELS,
                           IMG_DEFAULT_MAX_FILE};
    return l;
}

enum tryon_status img8_alloc(struct img8 *im, int w, int h, int c)
{
    im->w = w;
    im->h = h;
    im->c = c;
    im->px = calloc((size_t)w * h * c, 1);
    if (!im->px)
        return tryon_fail(TRYON_ENOMEM, "image %dx%dx%d: out of memory", w, h, c);
    return TRYON_OK;
}

enum tryon_status imgf_alloc(struct imgf *im, int w, int h, int c)
{
    im->w = w;
    im->h = h;
    im->c = c;
    im->px = calloc((size_t)w * h * c, sizeof(float));
    if (!im->px)
        return tryon_fail(TRYON_ENOMEM, "image %dx%dx%d: out of memory", w, h, c);
    return TRYON_OK;
}

void img8_free(struct img8 *im)
{
    free(im->px);
    im->px = NULL;
}

void imgf_free(struct imgf *im)
{
    free(im->px);
    im->px = NULL;
}

/* ---- decoding ---- */
struct mem_reader { const uint8_t *data; size_t len, pos; };

struct png_err { char msg[256]; };

static void on_png_error(png_structp png, png_const_charp msg)
{
    struct png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void mem_read(png_structp png, png_bytep out, png_size_t n)
{
    struct mem_reader *r = png_get_io_ptr(png);
    if (r->pos + n > r->len)
        png_error(png, "file is truncated");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

static enum tryon_status check_limits(const char *name, const struct img_limits *lim, int w, int h)
{
    if (w <= 0 || h <= 0)
        return tryon_fail(TRYON_EFORMAT, "%s: PNG declares an empty image (%dx%d)", name, w, h);
    if (!lim)
        return TRYON_OK;
    if ((lim->max_w && w > lim->max_w) || (lim->max_h && h > lim->max_h) ||
        (lim->max_pixels && (int64_t)w * h > lim->max_pixels))
        return tryon_fail(TRYON_ELIMIT, "%s: image is %dx%d, over the limit of %dx%d (%lld pixels)",
                          name, w, h, lim->max_w, lim->max_h, (long long)lim->max_pixels);
    return TRYON_OK;
}

/* The image format a file's first bytes announce ("a JPEG"), for a file that is not a PNG (photos
   come from cameras and photographers' tools as JPEG, HEIC, TIFF ...); NULL if none known. */
static const char *other_format(const uint8_t *d, size_t len)
{
    if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return "a JPEG";
    if (len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
        return "a WebP";
    if (len >= 12 && !memcmp(d + 4, "ftyp", 4))
        return !memcmp(d + 8, "avif", 4) || !memcmp(d + 8, "avis", 4) ? "an AVIF" : "a HEIF/HEIC";
    if (len >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4)))
        return "a TIFF";
    if (len >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6)))
        return "a GIF";
    if (len >= 2 && d[0] == 'B' && d[1] == 'M')
        return "a BMP";
    return NULL;
}

/* Parse the IHDR chunk by hand: 8-byte signature, length, "IHDR", w, h, depth, colour. */
static enum tryon_status parse_ihdr(const uint8_t *d, size_t len, const char *name, struct img_info *info)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    const char *fmt = len < 8 || memcmp(d, sig, 8) != 0 ? other_format(d, len) : NULL;
    if (fmt)
        return tryon_fail(TRYON_EFORMAT, "%s: not a PNG file: %s image (tryon reads PNG; convert it to PNG, "
                          "keeping its full resolution)", name, fmt);
    if (len < 8 || memcmp(d, sig, 8) != 0)
        return tryon_fail(TRYON_EFORMAT, "%s: not a PNG file (bad signature)", name);
    if (len < 33 || memcmp(d + 12, "IHDR", 4) != 0)
        return tryon_fail(TRYON_EFORMAT, "%s: PNG is truncated or has no IHDR header", name);
    uint32_t w = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16 | (uint32_t)d[18] << 8 | d[19];
    uint32_t h = (uint32_t)d[20] << 24 | (uint32_t)d[21] << 16 | (uint32_t)d[22] << 8 | d[23];
    if (w > 0x7fffffff || h > 0x7fffffff)
        return tryon_fail(TRYON_EFORMAT, "%s: PNG declares an invalid size", name);
    info->w = (int)w;
    info->h = (int)h;
    info->bit_depth = d[24];
    int ct = d[25];
    info->is_palette = ct == 3;
    info->is_gray = ct == 0 || ct == 4;
    info->has_alpha = ct == 4 || ct == 6; /* tRNS is found only by decoding */
    return TRYON_OK;
}

enum tryon_status img_probe_png(const char *path, const struct img_limits *lim, struct img_info *info)
{
    uint8_t head[33];
    FILE *f = fopen(path, "rb");
    if (!f)
        return tryon_fail(TRYON_EIO, "%s: cannot open", path);
    size_t n = fread(head, 1, sizeof head, f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    enum tryon_status s = parse_ihdr(head, n, path, info);
    if (s)
        return s;
    if (lim && lim->max_file_bytes && size > 0 && (size_t)size > lim->max_file_bytes)
        return tryon_fail(TRYON_ELIMIT, "%s: %ld bytes, over the limit of %zu", path, size, lim->max_file_bytes);
    return check_limits(path, lim, info->w, info->h);
}

/* Every chunk before IEND must fit in the data. libpng allocates a text chunk's declared
 * length before reading it: a 41-byte file declaring a 1.9 GB iTXt chunk made it allocate
 * 1.9 GB (found by fuzzing), and its chunk size cap does not cover that path. Walking the
 * chunk lengths first bounds every allocation by the file size. */
static enum tryon_status check_chunks(const uint8_t *d, size_t len, const char *name)
{
    size_t pos = 8; /* after the signature */
    while (len - pos >= 8) {
        uint32_t n = (uint32_t)d[pos] << 24 | (uint32_t)d[pos + 1] << 16 | (uint32_t)d[pos + 2] << 8 | d[pos + 3];
        size_t left = len - pos - 8;
        if (n > 0x7fffffffu || n > left || left - n < 4)
            return tryon_fail(TRYON_EFORMAT, "%s: PNG is truncated: the chunk at byte %zu declares %u bytes, %zu remain",
                              name, pos, n, left);
        if (memcmp(d + pos + 4, "IEND", 4) == 0)
            break;
        pos += 12 + (size_t)n;
    }
    return TRYON_OK; /* a missing IEND is left to libpng */
}

enum tryon_status img_decode_png(const uint8_t *data, size_t len, const char *name,
                                 const struct img_limits *lim, struct img8 *out, bool *had_alpha)
{
    memset(out, 0, sizeof *out);
    struct img_info info;
    enum tryon_status s = parse_ihdr(data, len, name, &info);
    if (s)
        return s;
    if ((s = check_limits(name, lim, info.w, info.h)) || (s = check_chunks(data, len, name)))
        return s;

    struct png_err err = {{0}};
    struct mem_reader rd = {data, len, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    if (!png)
        return tryon_fail(TRYON_ENOMEM, "%s: libpng init failed", name);
    png_infop pinfo = png_create_info_struct(png);
    uint8_t *volatile px = NULL;
    png_bytep *volatile rows = NULL;
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        return tryon_fail(TRYON_ENOMEM, "%s: libpng init failed", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        free(px);
        free(rows);
        png_destroy_read_struct(&png, &pinfo, NULL);
        return tryon_fail(TRYON_EFORMAT, "%s: corrupt PNG: %s", name, err.msg[0] ? err.msg : "decode error");
    }
    png_set_read_fn(png, &rd, mem_read);
    /* the limit check above already bounded the size; tell libpng too */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, pinfo);
    png_uint_32 w, h;
    int depth, ctype;
    png_get_IHDR(png, pinfo, &w, &h, &depth, &ctype, NULL, NULL, NULL);
    bool alpha = (ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, pinfo, PNG_INFO_tRNS);
    if (depth == 16)
        png_set_strip_16(png);
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, pinfo, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    if (!(ctype & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, pinfo, PNG_INFO_tRNS))
        png_set_filler(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    if (png_get_rowbytes(png, pinfo) != (size_t)w * 4)
        png_error(png, "unexpected row layout");
    px = malloc((size_t)w * h * 4);
    rows = malloc(sizeof(png_bytep) * h);
    if (!px || !rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = px + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &pinfo, NULL);
    free(rows);
    out->w = (int)w;
    out->h = (int)h;
    out->c = 4;
    out->px = px;
    if (had_alpha)
        *had_alpha = alpha;
    return TRYON_OK;
}

enum tryon_status img_load_png(const char *path, const struct img_limits *lim, struct img8 *out,
                               bool *had_alpha)
{
    memset(out, 0, sizeof *out);
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_all(path, lim ? lim->max_file_bytes : 0, &data, &len);
    if (s)
        return s;
    s = img_decode_png(data, len, path, lim, out, had_alpha);
    free(data);
    return s;
}

/* ---- encoding ---- */
struct mem_writer { uint8_t *data; size_t len, cap; bool oom; };

static void mem_write(png_structp png, png_bytep in, png_size_t n)
{
    struct mem_writer *w = png_get_io_ptr(png);
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *nd = realloc(w->data, cap);
        if (!nd) {
            w->oom = true;
            png_error(png, "out of memory");
        }
        w->data = nd;
        w->cap = cap;
    }
    memcpy(w->data + w->len, in, n);
    w->len += n;
}

static void mem_flush(png_structp png) { (void)png; }

enum tryon_status img_encode_png(const struct img8 *im, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int ctype = im->c == 1 ? PNG_COLOR_TYPE_GRAY : im->c == 3 ? PNG_COLOR_TYPE_RGB
              : im->c == 4 ? PNG_COLOR_TYPE_RGBA : -1;
    if (ctype < 0 || im->w <= 0 || im->h <= 0)
        return tryon_fail(TRYON_EINVAL, "cannot encode a %dx%d image of %d channels", im->w, im->h, im->c);
    struct png_err err = {{0}};
    struct mem_writer mw = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return tryon_fail(TRYON_ENOMEM, "libpng init failed");
    }
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(mw.data);
        png_destroy_write_struct(&png, &info);
        return tryon_fail(TRYON_ENOMEM, "PNG encode failed: %s", err.msg);
    }
    png_set_write_fn(png, &mw, mem_write, mem_flush);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, ctype, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    png_write_info(png, info);
    rows = malloc(sizeof(png_bytep) * (size_t)im->h);
    if (!rows)
        png_error(png, "out of memory");
    for (int y = 0; y < im->h; y++)
        rows[y] = im->px + (size_t)y * im->w * im->c;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *data = mw.data;
    *len = mw.len;
    return TRYON_OK;
}

enum tryon_status img_save_png(const char *path, const struct img8 *im)
{
    uint8_t *data;
    size_t len;
    enum tryon_status s = img_encode_png(im, &data, &len);
    if (s)
        return tryon_failctx(s, "%s", path);
    s = fs_write_atomic(path, data, len);
    free(data);
    return s;
}

/* ---- colour ---- */
float img_srgb_to_linear(float v)
{
    return v <= 0.04045f ? v / 12.92f : powf((v + 0.055f) / 1.055f, 2.4f);
}

float img_linear_to_srgb(float v)
{
    if (v <= 0.0f)
        return 0.0f;
    if (v >= 1.0f)
        return 1.0f;
    return v <= 0.0031308f ? 12.92f * v : 1.055f * powf(v, 1.0f / 2.4f) - 0.055f;
}

enum tryon_status img8_to_linear(const struct img8 *src, struct imgf *dst)
{
    float lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = img_srgb_to_linear((float)i / 255.0f);
    enum tryon_status s = imgf_alloc(dst, src->w, src->h, src->c);
    if (s)
        return s;
    size_t n = (size_t)src->w * src->h;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < src->c; c++) {
            uint8_t v = src->px[i * src->c + c];
            dst->px[i * src->c + c] = (src->c == 4 && c == 3) ? v / 255.0f : lut[v];
        }
    return TRYON_OK;
}

enum tryon_status imgf_to_srgb8(const struct imgf *src, struct img8 *dst)
{
    enum tryon_status s = img8_alloc(dst, src->w, src->h, src->c);
    if (s)
        return s;
    size_t n = (size_t)src->w * src->h;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < src->c; c++) {
            float v = src->px[i * src->c + c];
            float e = (src->c == 4 && c == 3) ? fminf(fmaxf(v, 0.0f), 1.0f) : img_linear_to_srgb(v);
            dst->px[i * src->c + c] = (uint8_t)lrintf(e * 255.0f);
        }
    return TRYON_OK;
}

/* ---- resampling ----
 * One axis at a time. Shrinking: each output sample averages the source interval it covers
 * (box filter with fractional end weights). Growing: bilinear with pixel centres at +0.5. */
/* weights of output sample i over the source axis */
static void axis_weights(int n_src, int n_dst, int i, int *i0, int *i1, float *w, int wcap, int *nw)
{
    double scale = (double)n_src / n_dst;
    if (scale > 1.0) {
        double a = i * scale, b = (i + 1) * scale;
        int lo = (int)floor(a), hi = (int)ceil(b);
        if (hi > n_src) hi = n_src;
        *i0 = lo;
        *i1 = hi;
        int k = 0;
        for (int j = lo; j < hi && k < wcap; j++, k++) {
            double l = j > a ? j : a, r = j + 1 < b ? j + 1 : b;
            w[k] = (float)((r - l) / scale);
        }
        *nw = k;
    } else {
        double x = (i + 0.5) * scale - 0.5;
        int j = (int)floor(x);
        double f = x - j;
        int ja = j < 0 ? 0 : j, jb = j + 1 >= n_src ? n_src - 1 : j + 1;
        if (ja > n_src - 1) ja = n_src - 1;
        *i0 = ja;
        *i1 = jb;
        w[0] = (float)(1.0 - f);
        w[1] = (float)f;
        *nw = -2; /* marker: two taps at i0 and i1 */
    }
}

enum tryon_status imgf_resize(const struct imgf *src, int w, int h, struct imgf *dst)
{
    if (w <= 0 || h <= 0)
        return tryon_fail(TRYON_EINVAL, "resize to %dx%d", w, h);
    int c = src->c;
    struct imgf tmp;
    enum tryon_status s = imgf_alloc(&tmp, w, src->h, c);
    if (s)
        return s;
    int wcap = (int)(src->w / w) + 3;
    if (wcap < 3) wcap = 3;
    int hcap = (int)(src->h / h) + 3;
    if (hcap < 3) hcap = 3;
    int cap = wcap > hcap ? wcap : hcap;
    float *wt = malloc(sizeof(float) * (size_t)cap);
    if (!wt) {
        imgf_free(&tmp);
        return tryon_fail(TRYON_ENOMEM, "resize: out of memory");
    }
    /* horizontal pass: src (src->w x src->h) -> tmp (w x src->h) */
    for (int x = 0; x < w; x++) {
        int i0, i1, nw;
        axis_weights(src->w, w, x, &i0, &i1, wt, cap, &nw);
        for (int y = 0; y < src->h; y++)
            for (int k = 0; k < c; k++) {
                const float *row = src->px + (size_t)y * src->w * c;
                float acc = 0;
                if (nw == -2)
                    acc = wt[0] * row[(size_t)i0 * c + k] + wt[1] * row[(size_t)i1 * c + k];
                else
                    for (int j = 0; j < nw; j++)
                        acc += wt[j] * row[(size_t)(i0 + j) * c + k];
                tmp.px[((size_t)y * w + x) * c + k] = acc;
            }
    }
    s = imgf_alloc(dst, w, h, c);
    if (s) {
        free(wt);
        imgf_free(&tmp);
        return s;
    }
    /* vertical pass: tmp (w x src->h) -> dst (w x h) */
    for (int y = 0; y < h; y++) {
        int i0, i1, nw;
        axis_weights(src->h, h, y, &i0, &i1, wt, cap, &nw);
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                float acc = 0;
                if (nw == -2)
                    acc = wt[0] * tmp.px[((size_t)i0 * w + x) * c + k] + wt[1] * tmp.px[((size_t)i1 * w + x) * c + k];
                else
                    for (int j = 0; j < nw; j++)
                        acc += wt[j] * tmp.px[((size_t)(i0 + j) * w + x) * c + k];
                dst->px[((size_t)y * w + x) * c + k] = acc;
            }
    }
    free(wt);
    imgf_free(&tmp);
    return TRYON_OK;
}

enum tryon_status img8_resize(const struct img8 *src, int w, int h, struct img8 *dst)
{
    /* resample premultiplied linear light so edges against transparency do not darken */
    struct imgf lin, out;
    enum tryon_status s = img8_to_linear(src, &lin);
    if (s)
        return s;
    size_t n = (size_t)src->w * src->h;
    if (src->c == 4)
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++)
                lin.px[i * 4 + k] *= lin.px[i * 4 + 3];
    s = imgf_resize(&lin, w, h, &out);
    imgf_free(&lin);
    if (s)
        return s;
    if (src->c == 4)
        for (size_t i = 0; i < (size_t)w * h; i++) {
            float a = out.px[i * 4 + 3];
            for (int k = 0; k < 3; k++)
                out.px[i * 4 + k] = a > 1e-6f ? out.px[i * 4 + k] / a : 0.0f;
        }
    s = imgf_to_srgb8(&out, dst);
    imgf_free(&out);
    return s;
}

enum tryon_status img8_reduce(const struct img8 *src, int k, struct img8 *dst)
{
    assert(k >= 1 && (src->c == 3 || src->c == 4));
    int w = (src->w + k - 1) / k, h = (src->h + k - 1) / k, c = src->c;
    enum tryon_status s = img8_alloc(dst, w, h, c);
    if (s)
        return s;
    float lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = img_srgb_to_linear((float)v / 255.0f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            /* block [x k, min((x+1) k, w)) x [y k, ...): premultiplied linear mean */
            double sum[4] = {0, 0, 0, 0};
            int n = 0;
            for (int sy = y * k; sy < (y + 1) * k && sy < src->h; sy++)
                for (int sx = x * k; sx < (x + 1) * k && sx < src->w; sx++, n++) {
                    const uint8_t *p = src->px + ((size_t)sy * src->w + sx) * c;
                    double a = c == 4 ? p[3] / 255.0 : 1.0;
                    for (int q = 0; q < 3; q++)
                        sum[q] += lut[p[q]] * a;
                    sum[3] += a;
                }
            uint8_t *o = dst->px + ((size_t)y * w + x) * c;
            double a = sum[3] / n;
            for (int q = 0; q < 3; q++) {
                double lin = sum[3] > 1e-9 ? sum[q] / sum[3] : 0.0;
                o[q] = (uint8_t)lrintf(255.0f * fminf(fmaxf(img_linear_to_srgb((float)lin), 0.0f), 1.0f));
            }
            if (c == 4)
                o[3] = (uint8_t)lrint(255.0 * a);
        }
    return TRYON_OK;
}

enum tryon_status imgf_encode_pfm(const struct imgf *im, uint8_t **data, size_t *len)
{
    if (im->c != 1 && im->c != 3)
        return tryon_fail(TRYON_EINVAL, "PFM holds 1 or 3 channels, not %d", im->c);
    char head[64];
    int hl = snprintf(head, sizeof head, "%s\n%d %d\n-1.0\n", im->c == 3 ? "PF" : "Pf", im->w, im->h);
    size_t row = (size_t)im->w * im->c * sizeof(float);
    *len = (size_t)hl + row * im->h;
    *data = malloc(*len);
    if (!*data)
        return tryon_fail(TRYON_ENOMEM, "out of memory for a %dx%d PFM", im->w, im->h);
    memcpy(*data, head, (size_t)hl);
    for (int y = 0; y < im->h; y++)   /* floats are little-endian on every machine we build for */
        memcpy(*data + hl + row * (size_t)y, im->px + (size_t)(im->h - 1 - y) * im->w * im->c, row);
    return TRYON_OK;
}
