/* test_sched_status.c: the live progress of a job (scheduler/status.c) and the page that
 * shows it, checked in a real browser.
 *
 * A catalog of 2 persons x 2 garments where one person's image is missing (2 pairs failed
 * up front), one pair journaled ok by an "earlier run", then the live status is started and
 * one failure is journaled with an error holding HTML. status.json must reach ok 1,
 * failed 3, pending 0 with that failure first in recent_failures. Then headless Chromium
 * (`chromium --headless --dump-dom`, file:// URL; CHROMIUM overrides the binary) runs the
 * live index.html: the DOM after its script ran must show those counts, the failure's
 * person, garment and error as text (escaped in the DOM dump, never markup), and the
 * missing image's entry error. After sched_aggregate the status is "done" and the page is
 * the gallery, whose DOM must hold the ok pair's image link and the failure's reason.
 * When Chromium is not installed or cannot start, the browser checks are skipped with a
 * message and the test exits 77 (ctest SKIP) after every other check passed. */
#include <errno.h>
#include <time.h>

#include "check.h"
#include "sched_test_util.h"
#include "scheduler/scheduler.h"

static char g_dir[UTIL_DIR_MAX];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* status.json parsed, NULL when it is not there yet. */
static struct json_val *read_status(const char *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/status.json", out);
    struct json_val *v = NULL;
    if (json_parse_file(path, &v) != TRYON_OK)
        return NULL;
    return v;
}

/* Wait (up to 20 s: the thread writes every second) until status.json shows `failed`. */
static struct json_val *wait_status(const char *out, int failed)
{
    for (int k = 0; k < 200; k++) {
        struct json_val *v = read_status(out);
        if (v && json_get_num(v, "failed", -1) == failed)
            return v;
        json_free(v);
        sleep_ms(100);
    }
    return read_status(out);
}

/* The DOM of file://path after its scripts ran, malloc'd; NULL when Chromium cannot run. */
static char *dump_dom(const char *path) { return util_chromium(g_dir, path, NULL); }

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "status");
    util_png(g_dir, "cat/img/p1.png", 4, 6, 200, 10, 10, 255);
    util_png(g_dir, "cat/img/g.png", 4, 4, 10, 200, 10, 255);
    util_write(g_dir, "cat/catalog.yaml",
               "persons:\n  - {id: p1, image: img/p1.png}\n  - {id: p2, image: img/gone.png}\n"
               "garments:\n  - {id: g1, image: img/g.png}\n  - {id: g2, image: img/g.png}\n");
    char path[PATH_MAX], out[UTIL_DIR_MAX + 8];
    snprintf(path, sizeof path, "%s/cat/catalog.yaml", g_dir);
    snprintf(out, sizeof out, "%s/out", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(path, NULL, &c), TRYON_OK);
    if (!c)
        return check_result("test_sched_status");
    struct sched_journal *j = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return check_result("test_sched_status");
    /* an earlier run rendered (p1, g1) */
    CHECK_EQ_INT(sched_journal_append(j, "{\"person\":\"p1\",\"garment\":\"g1\",\"status\":\"ok\",\"error\":null}"),
                 TRYON_OK);
    util_png(out, "renders/p1/g1.png", 4, 6, 90, 90, 200, 255);

    CHECK_EQ_INT(sched_status_start(c, out), TRYON_OK);
    char page[PATH_MAX];
    snprintf(page, sizeof page, "%s/index.html", out);
    char *html = util_read(page, NULL);
    CHECK(html && strstr(html, "status.js") && strstr(html, "tryon_status"));
    free(html);
    struct json_val *v = wait_status(out, 2);
    CHECK(v != NULL);
    if (v) {
        CHECK_STR(json_get_str(v, "state"), "running");
        CHECK_EQ_INT(json_get_num(v, "total", -1), 4);
        CHECK_EQ_INT(json_get_num(v, "ok", -1), 1);
        CHECK_EQ_INT(json_get_num(v, "pending", -1), 1);
        CHECK_EQ_INT(json_get_num(v, "done_this_run", -1), 0); /* the earlier run's record is not this run's */
        CHECK_EQ_INT(json_get_num(v, "n_input_errors", -1), 1);
        json_free(v);
    }
    /* this run: (p1, g2) fails with an error that holds markup */
    CHECK_EQ_INT(sched_journal_append(j, "{\"person\":\"p1\",\"garment\":\"g2\",\"status\":\"failed\","
                                         "\"error\":\"garment mask empty <script>alert(1)</script> & more\"}"),
                 TRYON_OK);
    v = wait_status(out, 3);
    CHECK(v != NULL);
    if (v) {
        CHECK_STR(json_get_str(v, "state"), "running");
        CHECK_EQ_INT(json_get_num(v, "ok", -1), 1);
        CHECK_EQ_INT(json_get_num(v, "failed", -1), 3);
        CHECK_EQ_INT(json_get_num(v, "pending", -1), 0);
        CHECK_EQ_INT(json_get_num(v, "done_this_run", -1), 1);
        CHECK_EQ_INT(json_get_num(v, "eta_s", -1), 0);
        const struct json_val *rf = json_get(v, "recent_failures");
        CHECK(rf && rf->type == JSON_ARR && rf->n == 1);
        if (rf && rf->n == 1) {
            CHECK_STR(json_get_str(&rf->items[0], "garment"), "g2");
            CHECK_CONTAINS(json_get_str(&rf->items[0], "error"), "garment mask empty <script>");
        }
        const struct json_val *ie = json_get(v, "input_errors");
        CHECK(ie && ie->type == JSON_ARR && ie->n == 1 && ie->items[0].type == JSON_STR);
        if (ie && ie->n == 1 && ie->items[0].type == JSON_STR)
            CHECK_CONTAINS(ie->items[0].str, "catalog.yaml:3: img/gone.png: file not found");
        json_free(v);
    }
    bool browser = true;
    char *dom = dump_dom(page);
    if (!dom) {
        browser = false;
    } else {
        CHECK_CONTAINS(dom, "<span id=\"state\">rendering</span>");
        CHECK_CONTAINS(dom, "<td id=\"total\">4</td>");
        CHECK_CONTAINS(dom, "<td id=\"ok\">1</td>");
        CHECK_CONTAINS(dom, "<td id=\"failed\">3</td>");
        CHECK_CONTAINS(dom, "<td id=\"pending\">0</td>");
        CHECK_CONTAINS(dom, "<tr class=\"failure\"><td>p1</td><td>g2</td><td class=\"err\">garment mask empty "
                            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</td></tr>");
        CHECK_CONTAINS(dom, "img/gone.png: file not found</li>");
        CHECK(!strstr(dom, "<script>alert(1)"));
        free(dom);
    }

    struct sched_run_info info = {.wall_s = 1.0, .ranks = 1};
    CHECK_EQ_INT(sched_aggregate(c, j, out, &info), TRYON_OK);
    v = read_status(out);
    CHECK(v != NULL);
    if (v) {
        CHECK_STR(json_get_str(v, "state"), "done");
        CHECK_EQ_INT(json_get_num(v, "failed", -1), 3);
        json_free(v);
    }
    html = util_read(page, NULL);
    CHECK(html && !strstr(html, "status.js"));   /* the gallery, no longer the live page */
    free(html);
    if (browser && (dom = dump_dom(page))) {
        CHECK_CONTAINS(dom, "<a href=\"renders/p1/g1.png\"><img loading=\"lazy\" src=\"renders/p1/g1.png\"");
        CHECK_CONTAINS(dom, "<td>p1</td><td>g2</td><td>garment mask empty &lt;script&gt;");
        CHECK_CONTAINS(dom, "ok <b>1</b>");
        free(dom);
    }
    sched_status_stop(); /* already stopped by the aggregation: a no-op */
    sched_journal_close(j);
    sched_catalog_free(c);
    util_rmtree(g_dir);
    int rc = check_result("test_sched_status");
    if (rc == 0 && !browser) {
        fprintf(stderr, "test_sched_status: SKIPPED the browser checks: chromium cannot start "
                        "(install it with scripts/install-deps.sh --test)\n");
        return 77;
    }
    return rc;
}
