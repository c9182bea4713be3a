/* test_sched_aggregate.c: aggregation after a partly finished job. The manifest has one
 * line per pair in catalog order (journal records copied byte for byte, entry errors and
 * pending pairs synthesized); summary counts and stage sums match the records; contact
 * sheets decode at the documented size with the expected cell colours, are identical for
 * 1 and 2 threads, and stale sheets are removed; index.html holds every id and message
 * HTML-escaped; the gallery pages past SCHED_HTML_PAGE pairs; the 5x7 font is complete. */
#include "check.h"
#include "sched_test_util.h"
#include "scheduler/font.h"
#include "scheduler/scheduler.h"

#include <omp.h>

static char g_dir[UTIL_DIR_MAX];

static const char *const PERSONS[] = {"a.b-c_d", "p2", "p3", "p4", "p5"};
static const char *const GARMENTS[] = {"g1", "g2", "g3", "g4"};

/* The record the test journals for (person index, garment index), or NULL for none. */
static const char *record_for(int p, int g, char *buf, size_t cap)
{
    if (p == 2 || (p == 3 && g > 0))
        return NULL; /* p3: bad image (never run); p4: only g1 ran */
    if (p == 0 && g == 2)
        snprintf(buf, cap,
                 "{\"person\":\"%s\",\"garment\":\"%s\",\"status\":\"failed\",\"error\":\"drape <did not> settle & "
                 "\\\"x\\\"\",\"rank\":1,\"seconds\":{\"load\":0.5,\"render\":0.25}}",
                 PERSONS[p], GARMENTS[g]);
    else
        snprintf(buf, cap,
                 "{\"person\":\"%s\",\"garment\":\"%s\",\"status\":\"ok\",\"error\":null,\"output\":\"renders/%s/%s.png\","
                 "\"rank\":2,\"seconds\":{\"render\":%d.5,\"total\":2},\"body\":{\"height_cm\":170}}",
                 PERSONS[p], GARMENTS[g], PERSONS[p], GARMENTS[g], p * 4 + g);
    return buf;
}

static void pixel(const struct img8 *im, int x, int y, uint8_t out[3])
{
    memcpy(out, im->px + ((size_t)y * im->w + x) * im->c, 3);
}

static bool px_is(const struct img8 *im, int x, int y, int r, int g, int b)
{
    uint8_t p[3];
    pixel(im, x, y, p);
    if (p[0] == r && p[1] == g && p[2] == b)
        return true;
    fprintf(stderr, "pixel (%d,%d) is %d,%d,%d, expected %d,%d,%d\n", x, y, p[0], p[1], p[2], r, g, b);
    return false;
}

static void test_aggregate(void)
{
    char cat[PATH_MAX], out[UTIL_DIR_MAX + 32], path[PATH_MAX], buf[1024];
    snprintf(out, sizeof out, "%s/out", g_dir);
    /* catalog: p3's image is missing and its name holds HTML metacharacters */
    util_write(g_dir, "catalog.yaml",
               "seed: 42\nrender:\n  preset: catalog\n  width: 200\n  height: 300\n"
               "persons:\n  - {id: a.b-c_d, image: persons/a.png}\n  - {id: p2, image: persons/a.png}\n"
               "  - {id: p3, image: \"persons/<missing>.png\"}\n  - {id: p4, image: persons/a.png}\n"
               "  - {id: p5, image: persons/a.png}\n"
               "garments:\n  - {id: g1, image: g.png}\n  - {id: g2, image: g.png}\n  - {id: g3, image: g.png}\n"
               "  - {id: g4, image: g.png}\n");
    util_png(g_dir, "persons/a.png", 10, 15, 90, 90, 90, 255);
    util_png(g_dir, "g.png", 10, 10, 90, 90, 90, 255);
    snprintf(cat, sizeof cat, "%s/catalog.yaml", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(cat, NULL, &c), TRYON_OK);
    if (!c)
        return;
    CHECK_EQ_INT(c->n_pairs, 20);
    CHECK_EQ_INT(sched_thumb_h(c), 240);
    struct sched_journal *j = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    double render_sum = 0;
    int render_n = 0;
    for (int p = 0; p < 5; p++)
        for (int g = 0; g < 4; g++) {
            const char *r = record_for(p, g, buf, sizeof buf);
            if (!r)
                continue;
            CHECK(sched_journal_append(j, r) == TRYON_OK);
            render_sum += p == 0 && g == 2 ? 0.25 : p * 4 + g + 0.5;
            render_n++;
        }
    /* renders: blue (opaque), fully transparent, none for a.b-c_d/g4 (unreadable), others grey */
    char rel[128];
    util_png(out, "renders/a.b-c_d/g1.png", 20, 30, 0, 0, 255, 255);
    util_png(out, "renders/a.b-c_d/g2.png", 20, 30, 255, 0, 0, 0);
    for (int p = 1; p < 5; p++)
        for (int g = 0; g < 4; g++) {
            snprintf(rel, sizeof rel, "renders/%s/%s.png", PERSONS[p], GARMENTS[g]);
            util_png(out, rel, 40, 60, (uint8_t)(40 * p), (uint8_t)(50 * g), 100, 255);
        }
    util_png(out, "contact/sheet-003.png", 4, 4, 0, 0, 0, 255); /* stale, from a longer run */
    util_write(out, "index-002.html", "stale page\n");

    struct sched_run_info info = {.wall_s = 120.0, .ranks = 3, .preset = NULL, .n_ok_this_run = 6};
    omp_set_num_threads(1);
    CHECK_EQ_INT(sched_aggregate(c, j, out, &info), TRYON_OK);

    /* manifest */
    snprintf(path, sizeof path, "%s/manifest.jsonl", out);
    char *man = util_read(path, NULL);
    CHECK(man != NULL);
    int i = 0;
    for (char *l = man; l && *l && i < 25; i++) {
        char *nl = strchr(l, '\n');
        CHECK(nl != NULL);
        if (!nl)
            break;
        *nl = 0;
        int p = i / 4, g = i % 4;
        struct json_val *v = NULL;
        CHECK(json_parse(l, strlen(l), "manifest", &v) == TRYON_OK);
        if (v && i < 20) {
            CHECK_STR(json_get_str(v, "person"), PERSONS[p]);
            CHECK_STR(json_get_str(v, "garment"), GARMENTS[g]);
            const char *want = record_for(p, g, buf, sizeof buf);
            if (want)
                CHECK_STR(l, want);
            else if (p == 2) {
                CHECK_STR(json_get_str(v, "status"), "failed");
                CHECK_CONTAINS(json_get_str(v, "error"), "catalog.yaml:9: persons/<missing>.png: file not found");
            } else {
                CHECK_STR(json_get_str(v, "status"), "pending");
                CHECK(json_get(v, "error") && json_get(v, "error")->type == JSON_NULL);
            }
        }
        json_free(v);
        l = nl + 1;
    }
    CHECK_EQ_INT(i, 20);
    free(man);

    /* summary */
    snprintf(path, sizeof path, "%s/summary.json", out);
    struct json_val *s = NULL;
    CHECK(json_parse_file(path, &s) == TRYON_OK);
    if (s) {
        CHECK_EQ_INT(json_get_num(s, "total", -1), 20);
        CHECK_EQ_INT(json_get_num(s, "ok", -1), 12);
        CHECK_EQ_INT(json_get_num(s, "failed", -1), 5);
        CHECK_EQ_INT(json_get_num(s, "pending", -1), 3);
        struct sched_counts n;   /* what `tryon render` prints agrees with the summary */
        sched_count(c, j, &n);
        CHECK(n.ok == 12 && n.failed == 5 && n.pending == 3);
        CHECK_EQ_INT(json_get_num(s, "invalid_inputs", -1), 4);
        CHECK_EQ_INT(json_get_num(s, "ranks", -1), 3);
        CHECK_EQ_INT(json_get_num(s, "seed", -1), 42);
        CHECK_NEAR(json_get_num(s, "wall_s", -1), 120.0, 1e-9);
        CHECK_NEAR(json_get_num(s, "pairs_per_minute", -1), 3.0, 1e-9);
        CHECK_STR(json_get_str(s, "preset"), "catalog");
        const struct json_val *st = json_get(s, "stages");
        const struct json_val *r = json_get(st, "render"), *ld = json_get(st, "load"), *tot = json_get(st, "total");
        CHECK(r && ld && tot);
        CHECK_NEAR(json_get_num(r, "sum_s", -1), render_sum, 1e-6);
        CHECK_EQ_INT(json_get_num(r, "n", -1), render_n);
        CHECK_NEAR(json_get_num(r, "mean_s", -1), render_sum / render_n, 1e-6);
        CHECK_NEAR(json_get_num(ld, "sum_s", -1), 0.5, 1e-12);
        CHECK_EQ_INT(json_get_num(tot, "n", -1), 12);
        const struct json_val *f = json_get(s, "failures");
        CHECK(f && f->type == JSON_ARR && f->n == 5);
        if (f && f->n == 5) {
            CHECK_STR(json_get_str(&f->items[0], "error"), "drape <did not> settle & \"x\"");
            CHECK_STR(json_get_str(&f->items[1], "person"), "p3");
        }
        json_free(s);
    }

    /* contact sheets: 17 cells (12 ok + 5 failed) make 2 sheets; the stale third is gone */
    const int cell_w = SCHED_THUMB_W + SCHED_SHEET_PAD, cell_h = 240 + SCHED_LABEL_H + SCHED_SHEET_PAD;
    uint8_t *sheet_bytes[2] = {NULL, NULL};
    size_t sheet_len[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/contact/sheet-%03d.png", out, k + 1);
        struct img8 im = {0};
        CHECK(img_load_png(path, NULL, &im, NULL) == TRYON_OK);
        CHECK_EQ_INT(im.w, SCHED_SHEET_COLS * cell_w + SCHED_SHEET_PAD);
        CHECK_EQ_INT(im.h, SCHED_SHEET_ROWS * cell_h + SCHED_SHEET_PAD);
        CHECK_EQ_INT(im.w, 680);
        CHECK_EQ_INT(im.h, 1080);
        if (k == 0 && im.px) {
            int cy = SCHED_SHEET_PAD + 120, x0 = SCHED_SHEET_PAD;
            CHECK(px_is(&im, x0 + 80, cy, 0, 0, 255));                 /* blue render */
            CHECK(px_is(&im, x0 + cell_w + 80, cy, 221, 221, 221));    /* transparent: grey shows */
            CHECK(px_is(&im, x0 + 2 * cell_w + 80, cy, 200, 24, 24));  /* failed: red cross */
            CHECK(px_is(&im, x0 + 2 * cell_w + 10, cy, 246, 222, 222)); /* ... on pale red */
            CHECK(px_is(&im, x0 + 3 * cell_w + 80, cy, 120, 120, 120)); /* unreadable: grey cross */
            CHECK(px_is(&im, x0 + 3 * cell_w + 10, cy, 221, 221, 221));
            CHECK(px_is(&im, 2, 2, 255, 255, 255));                    /* sheet background */
            /* the label of cell 0 has ink; the label band of an empty cell does not */
            int ink = 0;
            for (int y = SCHED_SHEET_PAD + 240; y < SCHED_SHEET_PAD + 240 + SCHED_LABEL_H; y++)
                for (int x = x0; x < x0 + SCHED_THUMB_W; x++)
                    ink += memcmp(im.px + ((size_t)y * im.w + x) * im.c, "\x20\x20\x20", 3) == 0;
            CHECK(ink > 40);
        }
        if (k == 1 && im.px) {
            /* the 17th cell (p5/g4, colour 40*4, 50*3, 100) opens sheet 2; cell 2 of sheet 2 is empty */
            CHECK(px_is(&im, SCHED_SHEET_PAD + 80, SCHED_SHEET_PAD + 120, 160, 150, 100));
            CHECK(px_is(&im, SCHED_SHEET_PAD + cell_w + 80, SCHED_SHEET_PAD + 120, 255, 255, 255));
        }
        img8_free(&im);
        char *b = util_read(path, &sheet_len[k]);
        sheet_bytes[k] = (uint8_t *)b;
    }
    snprintf(path, sizeof path, "%s/contact/sheet-003.png", out);
    CHECK(!fs_exists(path));

    /* index.html */
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = util_read(path, NULL);
    CHECK(html != NULL);
    for (int p = 0; p < 5; p++)
        CHECK_CONTAINS(html, PERSONS[p]);
    for (int g = 0; g < 4; g++)
        CHECK_CONTAINS(html, GARMENTS[g]);
    CHECK_CONTAINS(html, "drape &lt;did not&gt; settle &amp; &quot;x&quot;");
    CHECK(html && !strstr(html, "<did not>"));
    CHECK_CONTAINS(html, "persons/&lt;missing&gt;.png: file not found");
    CHECK(html && !strstr(html, "<missing>"));
    CHECK_CONTAINS(html, "<img loading=\"lazy\" src=\"renders/a.b-c_d/g1.png\"");
    CHECK_CONTAINS(html, "href=\"contact/sheet-002.png\"");
    CHECK_CONTAINS(html, "href=\"manifest.jsonl\"");
    CHECK_CONTAINS(html, "ok <b>12</b>");
    CHECK_CONTAINS(html, "pending <b>3</b>");
    CHECK(html && !strstr(html, "index-002.html"));
    free(html);
    snprintf(path, sizeof path, "%s/index-002.html", out);
    CHECK(!fs_exists(path)); /* one page now: the stale second page is gone */

    /* two threads give the same sheet bytes */
    omp_set_num_threads(2);
    CHECK_EQ_INT(sched_aggregate(c, j, out, &info), TRYON_OK);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/contact/sheet-%03d.png", out, k + 1);
        size_t len;
        char *b = util_read(path, &len);
        CHECK(b && sheet_bytes[k] && len == sheet_len[k] && memcmp(b, sheet_bytes[k], len) == 0);
        free(b);
        free(sheet_bytes[k]);
    }
    sched_journal_close(j);

    /* without a journal every valid pair is pending */
    CHECK_EQ_INT(sched_aggregate(c, NULL, out, &info), TRYON_OK);
    snprintf(path, sizeof path, "%s/summary.json", out);
    CHECK(json_parse_file(path, &s) == TRYON_OK);
    if (s) {
        CHECK_EQ_INT(json_get_num(s, "pending", -1), 16);
        CHECK_EQ_INT(json_get_num(s, "failed", -1), 4);
        json_free(s);
    }
    sched_catalog_free(c);
}

/* 1001 pairs (all with missing images): the gallery continues on index-002.html. */
static void test_pages(void)
{
    char text[8192], cat[PATH_MAX], out[UTIL_DIR_MAX + 32], path[PATH_MAX];
    size_t off = (size_t)snprintf(text, sizeof text, "persons:\n");
    for (int p = 0; p < 77; p++)
        off += (size_t)snprintf(text + off, sizeof text - off, "  - {id: person%d, image: x.png}\n", p);
    off += (size_t)snprintf(text + off, sizeof text - off, "garments:\n");
    for (int g = 0; g < 13; g++)
        off += (size_t)snprintf(text + off, sizeof text - off, "  - {id: garment%d, image: y.png}\n", g);
    util_write(g_dir, "pages/catalog.yaml", text);
    snprintf(cat, sizeof cat, "%s/pages/catalog.yaml", g_dir);
    snprintf(out, sizeof out, "%s/pages/out", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(cat, NULL, &c), TRYON_OK);
    if (!c)
        return;
    CHECK_EQ_INT(c->n_pairs, 1001);
    struct sched_run_info info = {.wall_s = 1.0, .ranks = 1, .preset = "preview", .n_ok_this_run = 0};
    CHECK_EQ_INT(sched_aggregate(c, NULL, out, &info), TRYON_OK);
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = util_read(path, NULL);
    CHECK_CONTAINS(html, "href=\"index-002.html\"");
    CHECK_CONTAINS(html, "person76 / garment11");
    CHECK(html && !strstr(html, "person76 / garment12 <span"));
    free(html);
    snprintf(path, sizeof path, "%s/index-002.html", out);
    html = util_read(path, NULL);
    CHECK_CONTAINS(html, "person76 / garment12 <span class=\"st\">failed</span>");
    CHECK_CONTAINS(html, "href=\"index.html\"");
    free(html);
    snprintf(path, sizeof path, "%s/contact/sheet-063.png", out); /* ceil(1001 / 16) */
    CHECK(fs_exists(path));
    snprintf(path, sizeof path, "%s/contact/sheet-064.png", out);
    CHECK(!fs_exists(path));
    sched_catalog_free(c);
}

static void test_font(void)
{
    int inked = 0, distinct = 1;
    for (int ch = 0x20; ch <= 0x7e; ch++) {
        const char *const *g = sched_font_glyph((unsigned char)ch);
        bool any = false, shape = true;
        for (int r = 0; r < SCHED_FONT_H; r++) {
            shape &= strlen(g[r]) == SCHED_FONT_W && strspn(g[r], ".#") == SCHED_FONT_W;
            any |= strchr(g[r], '#') != NULL;
        }
        CHECK_MSG(shape, "glyph 0x%02x is not 7 rows of 5 '.' or '#'", ch);
        inked += any;
        for (int other = 0x20; other < ch; other++) {
            const char *const *h = sched_font_glyph((unsigned char)other);
            bool same = true;
            for (int r = 0; r < SCHED_FONT_H; r++)
                same &= strcmp(g[r], h[r]) == 0;
            if (same) {
                distinct = 0;
                fprintf(stderr, "glyphs 0x%02x and 0x%02x are the same\n", ch, other);
            }
        }
    }
    CHECK_EQ_INT(inked, 94); /* all but the space */
    CHECK(distinct);
    CHECK(sched_font_glyph(0x01) == sched_font_glyph('?'));
    CHECK_EQ_INT(sched_font_width("abc"), 17);
    /* drawing 'I' at (1,1): its top bar is ink, the corner stays clear, clipping is safe */
    struct img8 im;
    CHECK(img8_alloc(&im, 8, 9, 3) == TRYON_OK);
    static const uint8_t ink[3] = {9, 8, 7};
    sched_font_draw(&im, 1, 1, "I", ink);
    sched_font_draw(&im, 6, 6, "WW", ink);
    sched_font_draw(&im, -3, -4, "W", ink);
    CHECK(px_is(&im, 2, 1, 9, 8, 7) && px_is(&im, 3, 4, 9, 8, 7) && px_is(&im, 5, 1, 0, 0, 0));
    img8_free(&im);
}

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "aggregate");
    test_font();
    test_aggregate();
    test_pages();
    util_rmtree(g_dir);
    return check_result("test_sched_aggregate");
}
