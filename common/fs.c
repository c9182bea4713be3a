/* fs.c: whole-file reads, atomic writes, folders and path containment.
 * Atomic writes (temp name, fsync, rename) are what make outputs and the journal survive
 * a killed job: a reader sees the old file or the whole new one, never half. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#ifndef TRYON_ASSET_DIR_DEFAULT
#define TRYON_ASSET_DIR_DEFAULT "mpfb2"
#endif

enum tryon_status fs_read_all(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return tryon_fail(TRYON_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return tryon_fail(TRYON_EIO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (max_bytes && size > max_bytes) {
        fclose(f);
        return tryon_fail(TRYON_ELIMIT, "%s: %zu bytes, over the limit of %zu", path, size, max_bytes);
    }
    uint8_t *buf = malloc(size + 1);
    if (!buf) {
        fclose(f);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    size_t got = fread(buf, 1, size, f);
    int err = ferror(f);
    fclose(f);
    if (err || got != size) {
        free(buf);
        return tryon_fail(TRYON_EIO, "%s: short read (%zu of %zu bytes)", path, got, size);
    }
    buf[size] = 0;
    *data = buf;
    *len = size;
    return TRYON_OK;
}

enum tryon_status fs_read_gz(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    gzFile g = gzopen(path, "rb");
    if (!g)
        return tryon_fail(TRYON_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            gzclose(g);
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
        }
        if (n == cap) {
            if (max_bytes && cap >= max_bytes) {
                free(buf);
                gzclose(g);
                return tryon_fail(TRYON_ELIMIT, "%s: over the limit of %zu bytes", path, max_bytes);
            }
            cap *= 2;
            uint8_t *nb = realloc(buf, cap + 1);
            if (!nb) free(buf);
            buf = nb;
            continue;
        }
        int r = gzread(g, buf + n, (unsigned)(cap - n));
        if (r < 0) {
            int e;
            const char *m = gzerror(g, &e);
            enum tryon_status s = tryon_fail(TRYON_EFORMAT, "%s: corrupt gzip data: %s", path, m);
            free(buf);
            gzclose(g);
            return s;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    gzclose(g);
    if (max_bytes && n > max_bytes) {
        free(buf);
        return tryon_fail(TRYON_ELIMIT, "%s: over the limit of %zu bytes", path, max_bytes);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return TRYON_OK;
}

static void fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    fs_dirname(dir, sizeof dir, path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

enum tryon_status fs_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return tryon_fail(TRYON_ELIMIT, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return tryon_fail(TRYON_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return tryon_fail(TRYON_EIO, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return tryon_fail(TRYON_EIO, "%s: write failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return tryon_fail(TRYON_EIO, "%s: rename failed: %s", path, strerror(e));
    }
    fsync_dir_of(path);
    return TRYON_OK;
}

enum tryon_status fs_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0)
        return TRYON_OK;
    if (n >= sizeof buf)
        return tryon_fail(TRYON_ELIMIT, "%s: path too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return tryon_fail(TRYON_EIO, "%s: cannot create folder: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return tryon_fail(TRYON_EIO, "%s: not a folder", path);
    return TRYON_OK;
}

enum tryon_status fs_mkdirs_parent(const char *path)
{
    char dir[PATH_MAX];
    fs_dirname(dir, sizeof dir, path);
    return fs_mkdirs(dir);
}

bool fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

enum tryon_status fs_join(char *out, size_t cap, const char *dir, const char *rel)
{
    int n;
    if (rel[0] == '/' || dir[0] == 0)
        n = snprintf(out, cap, "%s", rel);
    else
        n = snprintf(out, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
    if (n < 0 || (size_t)n >= cap)
        return tryon_fail(TRYON_ELIMIT, "%s/%s: path too long", dir, rel);
    return TRYON_OK;
}

void fs_dirname(char *out, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(out, cap, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/x" -> "/" */
    if (n >= cap)
        n = cap - 1;
    memcpy(out, path, n);
    out[n] = 0;
}

/* Normalize an absolute path lexically: remove ".", "", and resolve "..". */
static void normalize(char *p)
{
    char *segs[PATH_MAX / 2];
    int ns = 0;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", p);
    for (char *tok = strtok(tmp, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (ns > 0)
                ns--;
            continue;
        }
        segs[ns++] = tok;
    }
    char out[PATH_MAX];
    size_t off = 0;
    out[0] = 0;
    for (int i = 0; i < ns; i++)
        off += (size_t)snprintf(out + off, sizeof out - off, "/%s", segs[i]);
    if (ns == 0)
        snprintf(out, sizeof out, "/");
    strcpy(p, out);
}

bool fs_path_inside(const char *dir, const char *rel)
{
    char rdir[PATH_MAX], full[PATH_MAX], rfull[PATH_MAX];
    if (!realpath(dir, rdir))
        return false;
    if (rel[0] == '/')
        snprintf(full, sizeof full, "%s", rel);
    else if (snprintf(full, sizeof full, "%s/%s", rdir, rel) >= (int)sizeof full)
        return false;
    if (realpath(full, rfull) == NULL) {
        /* missing file: judge the lexical path */
        snprintf(rfull, sizeof rfull, "%s", full);
        normalize(rfull);
    }
    size_t n = strlen(rdir);
    if (strcmp(rdir, "/") == 0)
        return true;
    return strncmp(rfull, rdir, n) == 0 && rfull[n] == '/';
}

const char *tryon_asset_dir(void)
{
    const char *e = getenv("TRYON_ASSETS");
    return (e && e[0]) ? e : TRYON_ASSET_DIR_DEFAULT;
}
