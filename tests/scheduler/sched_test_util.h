/* sched_test_util.h: helpers the scheduler tests share: a scratch folder under the
 * test's working directory, writing small files and PNGs, and reading a file back. */
#ifndef TRYON_TESTS_SCHED_UTIL_H
#define TRYON_TESTS_SCHED_UTIL_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

/* Scratch paths are kept short so joined paths always fit in PATH_MAX. */
#define UTIL_DIR_MAX 1024

/* A fresh scratch folder (absolute path) for one test, removed by util_rmtree. */
static inline void util_mkscratch(char *out, size_t cap, const char *tag)
{
    char cwd[UTIL_DIR_MAX - 64], tmpl[UTIL_DIR_MAX];
    if (!getcwd(cwd, sizeof cwd))
        abort();
    snprintf(tmpl, sizeof tmpl, "%s/scratch-%s-XXXXXX", cwd, tag);
    if (!mkdtemp(tmpl))
        abort();
    snprintf(out, cap, "%s", tmpl);
}

static int util_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void util_rmtree(const char *dir) { nftw(dir, util_rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Write text to dir/rel, creating folders. */
static inline void util_write(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (fs_mkdirs_parent(path) || fs_write_atomic(path, text, strlen(text)))
        abort();
}

/* A w x h RGBA PNG of one colour at dir/rel. */
static inline void util_png(const char *dir, const char *rel, int w, int h, uint8_t r, uint8_t g, uint8_t b,
                            uint8_t a)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct img8 im;
    if (fs_mkdirs_parent(path) || img8_alloc(&im, w, h, 4))
        abort();
    for (int i = 0; i < w * h; i++) {
        im.px[4 * i] = r;
        im.px[4 * i + 1] = g;
        im.px[4 * i + 2] = b;
        im.px[4 * i + 3] = a;
    }
    if (img_save_png(path, &im))
        abort();
    img8_free(&im);
}

/* Whole file as a NUL-terminated string (caller frees), NULL when unreadable. */
static inline char *util_read(const char *path, size_t *len)
{
    uint8_t *d;
    size_t n;
    if (fs_read_all(path, 0, &d, &n))
        return NULL;
    if (len)
        *len = n;
    return (char *)d;
}

#endif
