/* fuzz_catalog.c: libFuzzer harness for the catalog loader (scheduler/catalog.c), the
 * whole path a user's catalog takes: file read, YAML tree, validation, id index, pair
 * expansion, image probing. Each input is written as catalog.yaml in a scratch folder
 * that holds one valid PNG (imgs/a.png), a non-PNG (imgs/t.png) and a symlink leaving
 * the folder (imgs/out.png), so inputs can reach the per-entry image checks. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "scheduler/scheduler.h"

static char g_cat[PATH_MAX];
static char g_tmp[] = "/tmp/tryon-fuzz-catalog-XXXXXX";

/* Remove the scratch folder at exit (libFuzzer exits through exit() when its time is up). */
static void cleanup(void)
{
    static const char *const files[] = {"catalog.yaml", "imgs/a.png", "imgs/t.png", "imgs/out.png", "imgs", NULL};
    char path[PATH_MAX];
    for (const char *const *f = files; *f; f++) {
        snprintf(path, sizeof path, "%s/%s", g_tmp, *f);
        remove(path);
    }
    remove(g_tmp);
}

static void setup(void)
{
    char *tmpl = g_tmp;
    if (!mkdtemp(tmpl))
        abort();
    atexit(cleanup);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/imgs/a.png", tmpl);
    struct img8 im;
    if (fs_mkdirs_parent(path) || img8_alloc(&im, 4, 6, 4) || img_save_png(path, &im))
        abort();
    img8_free(&im);
    snprintf(path, sizeof path, "%s/imgs/t.png", tmpl);
    if (fs_write_atomic(path, "not a png", 9))
        abort();
    snprintf(path, sizeof path, "%s/imgs/out.png", tmpl);
    if (symlink("/etc/hostname", path) != 0)
        abort();
    snprintf(g_cat, sizeof g_cat, "%s/catalog.yaml", tmpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_cat[0])
        setup();
    FILE *f = fopen(g_cat, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    struct sched_catalog *c = NULL;
    if (sched_catalog_load(g_cat, NULL, &c) == TRYON_OK) {
        FILE *null = fopen("/dev/null", "w");
        sched_catalog_report(c, null);
        fclose(null);
        for (int i = 0; i < c->n_pairs; i++)
            if (c->pairs[i].person < 0 || c->pairs[i].person >= c->n_persons || c->pairs[i].garment < 0 ||
                c->pairs[i].garment >= c->n_garments)
                abort(); /* a pair indexes outside the entry lists */
        sched_catalog_free(c);
    }
    tryon_errclear();
    return 0;
}
