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

int fs_write_full(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t fs_read_full(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

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

/* ---- output confinement ----
 * The root below which no symbolic link is followed when writing (fs_confine), as given,
 * without trailing slashes; "" = none. */
static char confine_root[PATH_MAX];
static size_t confine_len;

void fs_confine(const char *root)
{
    confine_root[0] = 0;
    confine_len = 0;
    if (!root || !root[0])
        return;
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (n >= sizeof confine_root)
        return;
    memcpy(confine_root, root, n);
    confine_root[n] = 0;
    confine_len = n;
}

/* The part of path below the confinement root, or NULL when path is not below it. */
static const char *below_root(const char *path)
{
    if (!confine_len || strncmp(path, confine_root, confine_len) != 0 || path[confine_len] != '/')
        return NULL;
    const char *rel = path + confine_len;
    while (*rel == '/')
        rel++;
    return rel;
}

/* mkdir -p with no confinement. */
static enum tryon_status mkdirs_plain(const char *path)
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

/* Step from folder fd dfd into its entry `name` (a folder), creating it when asked, never
 * through a symbolic link. Closes dfd; returns the new fd or -1 with a message on `shown`. */
static int step_into(int dfd, const char *name, bool create, const char *shown)
{
    if (!strcmp(name, ".."))
        return close(dfd), tryon_fail(TRYON_EINVAL, "%s: '..' inside the output folder", shown), -1;
    if (create && mkdirat(dfd, name, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        close(dfd);
        tryon_fail(TRYON_EIO, "%s: cannot create folder: %s", shown, strerror(e));
        return -1;
    }
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        bool link = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        close(dfd);
        if (link)
            tryon_fail(TRYON_EIO, "%s is a symbolic link inside the output folder %s: refusing to write through it "
                       "(remove the link)", shown, confine_root);
        else
            tryon_fail(TRYON_EIO, "%s: %s", shown, e == ENOTDIR ? "not a folder" : strerror(e));
        return -1;
    }
    close(dfd);
    return fd;
}

static int open_parent(const char *path, bool create, char *leaf, size_t cap)
{
    const char *rel = below_root(path);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!name[0] || strlen(name) >= cap) {
        tryon_fail(TRYON_EINVAL, "%s: not a file name", path);
        return -1;
    }
    snprintf(leaf, cap, "%s", name);
    if (!rel) {
        char dir[PATH_MAX];
        fs_dirname(dir, sizeof dir, path);
        if (create && fs_mkdirs(dir))
            return -1;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            tryon_fail(TRYON_EIO, "%s: cannot open the folder: %s", dir, strerror(errno));
        return fd;
    }
    int dfd = open(confine_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == ENOENT && create) {
        /* the root itself is made as usual (it is above the confinement) */
        if (mkdirs_plain(confine_root))
            return -1;
        dfd = open(confine_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dfd < 0) {
        tryon_fail(TRYON_EIO, "%s: cannot open the folder: %s", confine_root, strerror(errno));
        return -1;
    }
    char shown[PATH_MAX];
    size_t at = (size_t)snprintf(shown, sizeof shown, "%s", confine_root);
    for (const char *p = rel; dfd >= 0 && p < name;) {
        const char *e = strchr(p, '/');
        size_t n = (size_t)(e - p);
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            char comp[NAME_MAX + 1];
            if (n > NAME_MAX) {
                close(dfd);
                tryon_fail(TRYON_ELIMIT, "%s: name too long", path);
                return -1;
            }
            memcpy(comp, p, n);
            comp[n] = 0;
            if (at < sizeof shown)
                at += (size_t)snprintf(shown + at, sizeof shown - at, "/%s", comp);
            dfd = step_into(dfd, comp, create, shown);
        }
        p = e + 1;
    }
    return dfd;
}

enum tryon_status fs_open_parent(const char *path, bool create, int *dfd, char *leaf, size_t cap)
{
    *dfd = open_parent(path, create, leaf, cap);
    return *dfd < 0 ? TRYON_EIO /* open_parent left the message */ : TRYON_OK;
}

enum tryon_status fs_open_out(const char *path, int flags, unsigned mode, int *fd)
{
    char leaf[NAME_MAX + 1];
    int dfd = open_parent(path, false, leaf, sizeof leaf);
    *fd = -1;
    if (dfd < 0)
        return TRYON_EIO /* open_parent left the message */;
    *fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    int e = errno;
    close(dfd);
    if (*fd < 0)
        return tryon_fail(TRYON_EIO, "%s %s", path,
                          e == ELOOP ? "is a symbolic link: refusing to write through it (remove the link)"
                                     : strerror(e));
    return TRYON_OK;
}

enum tryon_status fs_write_atomic(const char *path, const void *data, size_t len)
{
    char leaf[NAME_MAX + 1], tmp[NAME_MAX + 1];
    int dfd = open_parent(path, false, leaf, sizeof leaf);
    if (dfd < 0)
        return TRYON_EIO /* open_parent left the message */;
    if (snprintf(tmp, sizeof tmp, "%.200s.tmp.%ld", leaf, (long)getpid()) >= (int)sizeof tmp) {
        close(dfd);
        return tryon_fail(TRYON_ELIMIT, "%s: path too long", path);
    }
    /* a stale temporary (or a link planted under its name) is removed, never followed */
    unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        close(dfd);
        return tryon_fail(TRYON_EIO, "%s.tmp.%ld: cannot create: %s", path, (long)getpid(), strerror(e));
    }
    int err = fs_write_full(fd, data, len);
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    /* rename replaces the entry: a link at the final name is replaced, not written through */
    if (!err && renameat(dfd, tmp, dfd, leaf) != 0) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        close(dfd);
        return tryon_fail(TRYON_EIO, "%s: rename failed: %s", path, strerror(e));
    }
    if (err) {
        unlinkat(dfd, tmp, 0);
        close(dfd);
        return tryon_fail(TRYON_EIO, "%s: write failed: %s", path, strerror(err));
    }
    fsync(dfd);
    close(dfd);
    return TRYON_OK;
}

enum tryon_status fs_mkdirs(const char *path)
{
    if (below_root(path)) {
        /* inside the confinement: every folder entered with no link followed */
        char probe[PATH_MAX];
        if (snprintf(probe, sizeof probe, "%s/.", path) >= (int)sizeof probe)
            return tryon_fail(TRYON_ELIMIT, "%s: path too long", path);
        char leaf[8];
        int fd = open_parent(probe, true, leaf, sizeof leaf);
        if (fd < 0)
            return TRYON_EIO /* open_parent left the message */;
        close(fd);
        return TRYON_OK;
    }
    return mkdirs_plain(path);
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
