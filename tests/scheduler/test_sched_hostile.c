/* test_sched_hostile.c: catalogs built to hurt, each refused up front with a message naming
 * the file and line, in bounded memory (peak RSS growth measured from /proc/self/status and
 * asserted against a stated bound, except under AddressSanitizer where it is only printed):
 *   - pairs: all over 10^5 persons x 10^5 garments (10^10 pairs): refused before the pair
 *     list is allocated, peak growth < 256 MiB (the YAML tree of 200k entries is ~60 MiB);
 *   - a 100,000-pair explicit list (1000 persons x 100 garments): parses and plans, every
 *     pair to do, peak growth < 128 MiB; parse and plan times are printed;
 *   - YAML bombs: an alias chain (billion laughs), 2^20+ values in one flat list, nesting
 *     1000 deep, a catalog file over the 16 MiB read limit;
 *   - an image whose IHDR declares 100000 x 100000 pixels: an entry error from the header;
 *   - an image reached through a symlinked folder that leaves the catalog folder. */
#include <stdarg.h>
#include <time.h>

#include "check.h"
#include "sched_test_util.h"
#include "scheduler/scheduler.h"

static char g_dir[UTIL_DIR_MAX];

/* A growing text buffer; aborts when memory runs out (test inputs only). */
struct sbuf { char *s; size_t len, cap; };

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        if (!(b->s = realloc(b->s, cap)))
            abort();
        b->cap = cap;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Write text as <scratch>/rel and load it; *peak_mib = peak RSS growth during the load. */
static enum tryon_status load_measured(const char *rel, const char *text, struct sched_catalog **out,
                                       double *peak_mib, double *secs)
{
    char path[PATH_MAX];
    util_write(g_dir, rel, text);
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    tryon_errclear();
    long base = util_peak_reset();
    double t0 = now_s();
    enum tryon_status s = sched_catalog_load(path, NULL, out);
    *secs = now_s() - t0;
    *peak_mib = (double)(util_peak_kb() - base) / 1024.0;
    return s;
}

static void check_peak(const char *what, double peak_mib, double bound_mib)
{
    fprintf(stderr, "%s: peak RSS growth %.1f MiB (bound %.0f MiB%s)\n", what, peak_mib, bound_mib,
            UTIL_ASAN ? ", not asserted under ASan" : "");
    if (!UTIL_ASAN)
        CHECK_MSG(peak_mib < bound_mib, "%s: peak RSS growth %.1f MiB over %.0f MiB", what, peak_mib, bound_mib);
}

/* pairs: all with 10^5 x 10^5 entries: refused from the counts, never expanded. */
static void test_pair_limit(void)
{
    struct sbuf b = {0};
    sb_printf(&b, "persons:\n");
    for (int i = 0; i < 100000; i++)
        sb_printf(&b, "  - {id: p%d, image: img/p.png}\n", i);
    sb_printf(&b, "garments:\n");
    for (int i = 0; i < 100000; i++)
        sb_printf(&b, "  - {id: g%d, image: img/g.png}\n", i);
    sb_printf(&b, "pairs: all\n"); /* line 200003 */
    struct sched_catalog *c = (struct sched_catalog *)1;
    double peak, secs;
    enum tryon_status s = load_measured("all.yaml", b.s, &c, &peak, &secs);
    CHECK_EQ_INT(s, TRYON_ELIMIT);
    CHECK(c == NULL);
    CHECK_CONTAINS(tryon_errmsg(), "all.yaml:200003: pairs: all gives 100000 persons x 100000 garments = "
                                   "10000000000 pairs, over the limit of 10000000");
    fprintf(stderr, "10^5 x 10^5 pairs: all (%.1f MB of YAML): refused in %.2f s\n", b.len / 1e6, secs);
    check_peak("10^5 x 10^5 pairs: all", peak, 256);
    /* the same without a pairs key (all is the default): line 1 named */
    b.len -= strlen("pairs: all\n");
    b.s[b.len] = 0;
    c = (struct sched_catalog *)1;
    s = load_measured("all-default.yaml", b.s, &c, &peak, &secs);
    CHECK_EQ_INT(s, TRYON_ELIMIT);
    CHECK_CONTAINS(tryon_errmsg(), "all-default.yaml:1: pairs: all gives 100000 persons x 100000 garments");
    free(b.s);
}

/* 100,000 explicit pairs over 1000 persons x 100 garments, every image valid. */
static void test_big_list(void)
{
    util_png(g_dir, "img/p.png", 4, 6, 200, 10, 10, 255);
    util_png(g_dir, "img/g.png", 4, 4, 10, 200, 10, 255);
    static const uint8_t huge[33] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                     0, 0x01, 0x86, 0xa0, 0, 0x01, 0x86, 0xa0, 8, 6, 0, 0, 0, 0, 0, 0, 0};
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/img/huge.png", g_dir);
    CHECK(fs_write_atomic(path, huge, sizeof huge) == TRYON_OK);
    struct sbuf b = {0};
    sb_printf(&b, "seed: 5\npersons:\n");
    for (int i = 0; i < 1000; i++)
        sb_printf(&b, "  - {id: person-%04d, image: img/p.png, height_cm: %d}\n", i, 150 + i % 50);
    sb_printf(&b, "garments:\n");
    for (int i = 0; i < 100; i++)
        sb_printf(&b, "  - {id: garment-%03d, image: img/g.png, type: top}\n", i);
    sb_printf(&b, "  - {id: huge, image: img/huge.png}\n"); /* line 1104; no pair names it */
    sb_printf(&b, "pairs:\n");
    /* listed garment-major, so the loader's person-major sort has work to do */
    for (int g = 0; g < 100; g++)
        for (int p = 0; p < 1000; p++)
            sb_printf(&b, "  - {person: person-%04d, garment: garment-%03d}\n", p, g);
    struct sched_catalog *c = NULL;
    double peak, secs;
    enum tryon_status s = load_measured("list.yaml", b.s, &c, &peak, &secs);
    CHECK_EQ_INT(s, TRYON_OK);
    if (!c) {
        fprintf(stderr, "load failed: %s\n", tryon_errmsg());
        free(b.s);
        return;
    }
    long base = util_peak_reset();
    double t0 = now_s();
    struct sched_plan plan;
    CHECK_EQ_INT(sched_plan_make(c, NULL, &plan), TRYON_OK);
    double plan_s = now_s() - t0;
    double plan_peak = (double)(util_peak_kb() - base) / 1024.0;
    fprintf(stderr, "100,000 listed pairs (%.1f MB of YAML): parsed and validated in %.2f s, planned in %.3f s\n",
            b.len / 1e6, secs, plan_s);
    check_peak("100,000-pair catalog load", peak, 128);
    check_peak("100,000-pair plan", plan_peak, 16);
    CHECK_EQ_INT(c->n_pairs, 100000);
    CHECK_EQ_INT(plan.n_todo, 100000);
    CHECK_EQ_INT(plan.n_invalid, 0);
    bool sorted = true;
    for (int i = 0; i < c->n_pairs; i++)
        if (c->pairs[i].person != i / 100 || c->pairs[i].garment != i % 100)
            sorted = false;
    CHECK_MSG(sorted, "pairs are not person-major in catalog order");
    CHECK(c->seed == 5 && c->n_persons == 1000 && c->n_garments == 101);
    CHECK(c->garments[100].error != NULL);
    if (c->garments[100].error)
        CHECK_CONTAINS(c->garments[100].error, "list.yaml:1104: img/huge.png: image is 100000x100000, over the limit");
    sched_plan_free(&plan);
    sched_catalog_free(c);
    free(b.s);
}

static void expect_limit(const char *rel, const char *text, enum tryon_status want, const char *msg, double bound_mib)
{
    struct sched_catalog *c = (struct sched_catalog *)1;
    double peak, secs;
    enum tryon_status s = load_measured(rel, text, &c, &peak, &secs);
    CHECK_MSG(s == want, "%s: status %d, want %d (%s)", rel, s, want, tryon_errmsg());
    CHECK(c == NULL);
    CHECK_CONTAINS(tryon_errmsg(), msg);
    check_peak(rel, peak, bound_mib);
}

static void test_yaml_bombs(void)
{
    /* billion laughs: nine levels of nine aliases would expand to 9^9 values */
    struct sbuf b = {0};
    sb_printf(&b, "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 9; i++)
        sb_printf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i - 1, i - 1, i - 1,
                  i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    expect_limit("laughs.yaml", b.s, TRYON_EINVAL, "laughs.yaml:2: YAML aliases are not supported", 16);
    free(b.s);

    /* one flat list of 1.2M values (2.4 MB of text): over the node limit of 2^20 */
    b = (struct sbuf){0};
    sb_printf(&b, "persons: [");
    for (int i = 0; i < 1200000; i++)
        sb_printf(&b, "%sx", i ? "," : "");
    sb_printf(&b, "]\n");
    expect_limit("wide.yaml", b.s, TRYON_ELIMIT, "wide.yaml:1: more than 1048576 YAML nodes", 256);
    free(b.s);

    /* 1000 nested lists */
    b = (struct sbuf){0};
    sb_printf(&b, "persons:\n  - ");
    for (int i = 0; i < 1000; i++)
        sb_printf(&b, "[");
    sb_printf(&b, "\n");
    expect_limit("deep.yaml", b.s, TRYON_ELIMIT, "deep.yaml:2: nesting deeper than 64", 16);
    free(b.s);

    /* a catalog file over the 16 MiB read limit is refused from its size */
    b = (struct sbuf){0};
    sb_printf(&b, "# padding\n");
    while (b.len <= (16u << 20))
        sb_printf(&b, "# %0120d\n", 0);
    expect_limit("fat.yaml", b.s, TRYON_ELIMIT, "fat.yaml: ", 64);
    CHECK_CONTAINS(tryon_errmsg(), "over the limit of 16777216");
    free(b.s);
}

/* An image reached through a symlinked folder whose target is outside the catalog folder. */
static void test_symlinked_folder(void)
{
    util_png(g_dir, "outside/secret.png", 4, 4, 1, 2, 3, 255);
    util_png(g_dir, "cat/img/ok.png", 4, 6, 200, 10, 10, 255);
    char target[PATH_MAX], link[PATH_MAX];
    snprintf(target, sizeof target, "%s/outside", g_dir);
    snprintf(link, sizeof link, "%s/cat/img/away", g_dir);
    CHECK(symlink(target, link) == 0);
    util_write(g_dir, "cat/c.yaml",
               "persons:\n  - {id: p, image: img/ok.png}\n  - {id: q, image: img/away/secret.png}\n"
               "garments:\n  - {id: g, image: img/./ok.png}\n");
    snprintf(link, sizeof link, "%s/cat/c.yaml", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(link, NULL, &c), TRYON_OK);
    if (!c)
        return;
    CHECK(c->persons[0].error == NULL && c->garments[0].error == NULL);
    CHECK(c->persons[1].error != NULL);
    if (c->persons[1].error)
        CHECK_CONTAINS(c->persons[1].error, "c.yaml:3: img/away/secret.png: path leaves the catalog folder");
    sched_catalog_free(c);
}

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "hostile");
    test_pair_limit();
    test_big_list();
    test_yaml_bombs();
    test_symlinked_folder();
    util_rmtree(g_dir);
    return check_result("test_sched_hostile");
}
