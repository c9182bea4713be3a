/* sched_test_util.h: helpers the scheduler tests share: a scratch folder under the
 * test's working directory, writing small files and PNGs, reading a file back, and
 * headless Chromium on a page. */
#ifndef TRYON_TESTS_SCHED_UTIL_H
#define TRYON_TESTS_SCHED_UTIL_H

#include <ftw.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
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

/* Headless Chromium (CHROMIUM overrides the binary) on file://url (a path, maybe with a
 * #fragment) with a private profile under scratch. screenshot NULL: the DOM after the
 * page's scripts ran (4 s of virtual time), malloc'd; else a 1400x1800 screenshot written
 * to that path and "" returned (static). NULL, with Chromium's log on stderr, when it
 * cannot run. --no-sandbox: tests may run as root. */
static inline char *util_chromium(const char *scratch, const char *url, const char *screenshot)
{
    const char *bin = getenv("CHROMIUM");
    if (!bin || !*bin)
        bin = "chromium";
    char dom_path[PATH_MAX], mode[PATH_MAX + 64], cmd[4 * PATH_MAX];
    snprintf(dom_path, sizeof dom_path, "%s/dom.html", scratch);
    if (screenshot)
        snprintf(mode, sizeof mode, "--window-size=1400,1800 --screenshot='%s'", screenshot);
    else
        snprintf(mode, sizeof mode, "--dump-dom");
    snprintf(cmd, sizeof cmd,
             "timeout 90 '%s' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
             "--allow-file-access-from-files --user-data-dir='%s/profile' --virtual-time-budget=4000 "
             "%s 'file://%s' > '%s' 2> '%s/chromium.log'",
             bin, scratch, mode, url, dom_path, scratch);
    int rc = system(cmd);
    size_t len = 0;
    char *dom = screenshot ? NULL : util_read(dom_path, &len);
    bool ok = rc == 0 && (screenshot ? fs_exists(screenshot) : dom && len > 0);
    if (!ok) {
        char log_path[PATH_MAX];
        snprintf(log_path, sizeof log_path, "%s/chromium.log", scratch);
        char *log = util_read(log_path, NULL);
        fprintf(stderr, "chromium (%s) did not run (exit %d): %.600s\n", bin, rc, log ? log : "");
        free(log);
        free(dom);
        return NULL;
    }
    static char empty[1];
    return screenshot ? empty : dom;
}

/* Peak resident memory, for tests that bound what a hostile input may cost. util_peak_reset
 * resets the kernel's high-water mark (VmHWM) to the current RSS where the kernel allows
 * (/proc/self/clear_refs, mode 5) and returns the current RSS in KiB; util_peak_kb returns
 * VmHWM in KiB (0 when /proc is missing); glibc's malloc_trim first returns freed heap to
 * the kernel. Peak growth = util_peak_kb() - util_peak_reset(). */
static inline long util_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

static inline long util_peak_reset(void)
{
    malloc_trim(0); /* give freed heap back first, so reuse of it is not mistaken for no growth */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    return util_status_kb("VmRSS");
}

static inline long util_peak_kb(void) { return util_status_kb("VmHWM"); }

/* AddressSanitizer keeps freed memory in quarantine and adds redzones, so peak RSS under it
 * says little about the code: memory bounds are measured and printed, asserted only without. */
#if defined(__SANITIZE_ADDRESS__)
#define UTIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UTIL_ASAN 1
#endif
#endif
#ifndef UTIL_ASAN
#define UTIL_ASAN 0
#endif

#endif
