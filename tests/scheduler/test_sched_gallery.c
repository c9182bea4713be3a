/* test_sched_gallery.c: the gallery (scheduler/gallery.c) of a finished job, in the file
 * and in a real browser.
 *
 * A catalog of 2 persons x 2 garments and a journal as the worker writes it: (p1, g1) ok
 * with a size chart's record (M recommended, good; a note holding markup), a turntable and
 * a fit map; (p1, g2) ok, S recommended and loose; (p2, g1) ok without a chart (the drape's
 * verdicts); (p2, g2) failed with an error holding markup. The page must show each pair's
 * person and garment photos (copied into OUT/photos, byte-equal, files even where the
 * catalog's photo is a link, kept on a re-run, a link planted there replaced), the
 * try-on, the turntable and fit map only where they exist, the size verdicts, and escape
 * every message. Then headless Chromium (file:// URLs, CHROMIUM overrides the binary) runs
 * the filters from the URL fragment: size=loose leaves only (p1, g2), person=p2 with
 * status=failed only (p2, g2) (a malformed %-escape beside them ignored), and no filter
 * all four; a screenshot is written to
 * gallery-shot.png in the test's folder for a person to look at. Without Chromium the
 * browser checks are skipped (exit 77) after every other check passed. */
#include "check.h"
#include "sched_test_util.h"
#include "scheduler/scheduler.h"

static char g_dir[UTIL_DIR_MAX];

static const char *const REC_SIZED =
    "{\"person\":\"p1\",\"garment\":\"g1\",\"status\":\"ok\",\"error\":null,\"output\":\"renders/p1/g1.png\","
    "\"fit\":{\"chest\":{\"verdict\":\"good\"}},"
    "\"size\":{\"recommended\":\"M\",\"verdict\":\"good\",\"position\":\"between\",\"between\":[\"S\",\"M\"],"
    "\"note\":\"between sizes S and M: M recommended, good <b>(S is tight at the chest)</b>\","
    "\"sizes\":[{\"name\":\"S\",\"draped\":true,\"verdict\":\"tight\",\"fit\":{\"chest\":{\"verdict\":\"tight\","
    "\"size_cm\":84,\"body_cm\":91.5}}},"
    "{\"name\":\"M\",\"draped\":true,\"verdict\":\"good\",\"fit\":{\"chest\":{\"verdict\":\"good\",\"size_cm\":92,"
    "\"body_cm\":91.5,\"ease_cm\":0.5},\"length\":{\"verdict\":\"good\",\"size_cm\":70,\"worn_cm\":69.25}},"
    "\"output\":\"renders/p1/g1@M.png\"},"
    "{\"name\":\"L\",\"draped\":false,\"fit\":{\"chest\":{\"size_cm\":100,\"body_cm\":91.5}}}]},"
    "\"views\":{\"count\":4,\"folder\":\"views/p1/g1\",\"turntable\":\"views/p1/g1.webp\"}}";
static const char *const REC_LOOSE =
    "{\"person\":\"p1\",\"garment\":\"g2\",\"status\":\"ok\",\"error\":null,"
    "\"size\":{\"recommended\":\"S\",\"verdict\":\"loose\",\"position\":\"below\","
    "\"note\":\"smaller than the smallest size, S: S recommended, loose\","
    "\"sizes\":[{\"name\":\"S\",\"draped\":true,\"verdict\":\"loose\",\"fit\":{\"chest\":{\"verdict\":\"loose\","
    "\"size_cm\":104,\"body_cm\":91.5}}}]}}";
static const char *const REC_PLAIN =
    "{\"person\":\"p2\",\"garment\":\"g1\",\"status\":\"ok\",\"error\":null,"
    "\"fit\":{\"chest\":{\"verdict\":\"tight\"},\"waist\":null,\"length\":{\"verdict\":\"good\"}}}";
static const char *const REC_FAILED =
    "{\"person\":\"p2\",\"garment\":\"g2\",\"status\":\"failed\",\"error\":\"drape <did not> settle & more\"}";

/* How many cards the DOM shows (a card hidden by the filters has display: none). */
static int shown_cards(const char *dom)
{
    int n = 0;
    for (const char *p = dom; (p = strstr(p, "<figure class=\"card ")); p++) {
        const char *end = strchr(p, '>');
        const char *hid = strstr(p, "display: none");
        n += !(hid && end && hid < end);
    }
    return n;
}

/* The card of person/garment in dom is shown. */
static bool card_shown(const char *dom, const char *pid, const char *gid)
{
    char key[128];
    snprintf(key, sizeof key, "data-person=\"%s\" data-garment=\"%s\"", pid, gid);
    const char *p = strstr(dom, key), *end = p ? strchr(p, '>') : NULL, *hid = p ? strstr(p, "display: none") : NULL;
    return p && !(hid && hid < end);
}

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "gallery");
    util_png(g_dir, "cat/img/p1.png", 4, 6, 200, 10, 10, 255);
    util_png(g_dir, "cat/img/p2-photo.png", 4, 6, 10, 10, 200, 255);
    char lnk[PATH_MAX];   /* p2's photo is a relative link inside the catalog folder */
    snprintf(lnk, sizeof lnk, "%s/cat/img/p2.png", g_dir);
    CHECK(symlink("p2-photo.png", lnk) == 0);
    util_png(g_dir, "cat/img/g.png", 4, 4, 10, 200, 10, 255);
    util_write(g_dir, "cat/catalog.yaml",
               "persons:\n  - {id: p1, image: img/p1.png}\n  - {id: p2, image: img/p2.png}\n"
               "garments:\n  - {id: g1, image: img/g.png}\n  - {id: g2, image: img/g.png}\n");
    char path[PATH_MAX], out[UTIL_DIR_MAX + 8];
    snprintf(path, sizeof path, "%s/cat/catalog.yaml", g_dir);
    snprintf(out, sizeof out, "%s/out", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(path, NULL, &c), TRYON_OK);
    struct sched_journal *j = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!c || !j)
        return check_result("test_sched_gallery");
    const char *recs[] = {REC_SIZED, REC_LOOSE, REC_PLAIN, REC_FAILED};
    for (int k = 0; k < 4; k++)
        CHECK_EQ_INT(sched_journal_append(j, recs[k]), TRYON_OK);
    util_png(out, "renders/p1/g1.png", 40, 60, 90, 90, 200, 255);
    util_png(out, "renders/p1/g1@M.png", 40, 60, 90, 90, 200, 255);
    util_png(out, "renders/p1/g2.png", 40, 60, 200, 90, 90, 255);
    util_png(out, "renders/p2/g1.png", 40, 60, 90, 200, 90, 255);
    util_png(out, "aovs/p1/g1.fit.png", 40, 60, 20, 220, 20, 255);
    util_png(out, "views/p1/g1.webp", 40, 60, 90, 90, 200, 255);   /* a PNG under the name: the browser shows it */

    struct sched_run_info info = {.wall_s = 1.0, .ranks = 1};
    CHECK_EQ_INT(sched_aggregate(c, j, out, &info), TRYON_OK);
    snprintf(path, sizeof path, "%s/index.html", out);
    char *html = util_read(path, NULL);
    CHECK(html != NULL);
    if (!html)
        return check_result("test_sched_gallery");
    /* the photos: copied, byte-equal, one per entry */
    static const char *const photos[][2] = {{"cat/img/p1.png", "photos/persons/p1.png"},
                                            {"cat/img/p2.png", "photos/persons/p2.png"},
                                            {"cat/img/g.png", "photos/garments/g1.png"},
                                            {"cat/img/g.png", "photos/garments/g2.png"}};
    for (int k = 0; k < 4; k++) {
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof a, "%s/%s", g_dir, photos[k][0]);
        snprintf(b, sizeof b, "%s/%s", out, photos[k][1]);
        size_t la = 0, lb = 0;
        char *da = util_read(a, &la), *db = util_read(b, &lb);
        CHECK_MSG(da && db && la == lb && memcmp(da, db, la) == 0, "%s is a copy of %s", photos[k][1], photos[k][0]);
        struct stat st;
        CHECK_MSG(lstat(b, &st) == 0 && S_ISREG(st.st_mode), "%s is a file, not a link", photos[k][1]);
        free(da), free(db);
        char tag[PATH_MAX];
        snprintf(tag, sizeof tag, "src=\"%s\"", photos[k][1]);
        CHECK_CONTAINS(html, tag);
    }
    CHECK_CONTAINS(html, "<img loading=\"lazy\" src=\"renders/p1/g1.png\"");
    CHECK_CONTAINS(html, "src=\"views/p1/g1.webp\" alt=\"turntable\"");
    CHECK_CONTAINS(html, "src=\"aovs/p1/g1.fit.png\" alt=\"fit map\"");
    CHECK(!strstr(html, "views/p1/g2.webp") && !strstr(html, "aovs/p1/g2.fit.png") && !strstr(html, "renders/p2/g2.png"));
    CHECK_CONTAINS(html, "data-person=\"p1\" data-garment=\"g1\" data-status=\"ok\" data-size=\"good\"");
    CHECK_CONTAINS(html, "data-person=\"p1\" data-garment=\"g2\" data-status=\"ok\" data-size=\"loose\"");
    CHECK_CONTAINS(html, "data-person=\"p2\" data-garment=\"g1\" data-status=\"ok\" data-size=\"none\"");
    CHECK_CONTAINS(html, "data-person=\"p2\" data-garment=\"g2\" data-status=\"failed\" data-size=\"none\"");
    CHECK_CONTAINS(html, "<h3>Size M <span class=\"v good\">good</span></h3>");
    CHECK_CONTAINS(html, "M recommended, good &lt;b&gt;(S is tight at the chest)&lt;/b&gt;");
    CHECK(!strstr(html, "<b>(S is"));
    CHECK_CONTAINS(html, "<tr><td>chest</td><td>92.0</td><td>91.5</td><td><span class=\"v good\">good</span></td></tr>");
    CHECK_CONTAINS(html, "<tr><td>length</td><td>70.0</td><td>69.2 worn</td>");
    CHECK_CONTAINS(html, "<span class=\"chip\">S <span class=\"v tight\">tight</span></span>");
    CHECK_CONTAINS(html, "<span class=\"chip rec\"><a href=\"renders/p1/g1@M.png\">M</a> <span class=\"v good\">");
    CHECK_CONTAINS(html, "<span class=\"chip\">L not draped</span>");
    CHECK_CONTAINS(html, "<h3>Size S <span class=\"v loose\">loose</span></h3>");
    CHECK_CONTAINS(html, "fit: chest <span class=\"v tight\">tight</span> length <span class=\"v good\">good</span>");
    CHECK_CONTAINS(html, "drape &lt;did not&gt; settle &amp; more");
    CHECK(!strstr(html, "<did not>"));
    CHECK_CONTAINS(html, "<select id=\"f-person\"><option value=\"\">all</option><option>p1</option><option>p2</option>"
                         "</select>");
    free(html);
    /* a re-run keeps the photos (the same files) and replaces a link planted in their place */
    snprintf(path, sizeof path, "%s/photos/persons/p1.png", out);
    char other[PATH_MAX];
    snprintf(other, sizeof other, "%s/cat/img/g.png", g_dir);
    CHECK(unlink(path) == 0 && symlink(other, path) == 0);
    CHECK_EQ_INT(sched_aggregate(c, j, out, &info), TRYON_OK);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    size_t l1 = 0, l2 = 0;
    snprintf(other, sizeof other, "%s/cat/img/p1.png", g_dir);
    char *d1 = util_read(path, &l1), *d2 = util_read(other, &l2);
    CHECK(d1 && d2 && l1 == l2 && memcmp(d1, d2, l1) == 0);
    free(d1), free(d2);

    bool browser = true;
    char page[PATH_MAX];
    snprintf(page, sizeof page, "%s/index.html", out);
    char *dom = util_chromium(g_dir, page, NULL);
    if (!dom) {
        browser = false;
    } else {
        CHECK_EQ_INT(shown_cards(dom), 4);
        CHECK_CONTAINS(dom, "4 of 4 pairs shown");
        free(dom);
        snprintf(page, sizeof page, "%s/index.html#size=loose", out);
        if ((dom = util_chromium(g_dir, page, NULL))) {
            CHECK_EQ_INT(shown_cards(dom), 1);
            CHECK(card_shown(dom, "p1", "g2") && !card_shown(dom, "p1", "g1"));
            CHECK_CONTAINS(dom, "1 of 4 pairs shown");
            free(dom);
        }
        snprintf(page, sizeof page, "%s/index.html#person=p2&garment=%%E0&status=failed", out);   /* a bad escape ignored */
        if ((dom = util_chromium(g_dir, page, NULL))) {
            CHECK_EQ_INT(shown_cards(dom), 1);
            CHECK(card_shown(dom, "p2", "g2"));
            free(dom);
        }
        char shot[PATH_MAX], cwd[PATH_MAX - 32];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        snprintf(shot, sizeof shot, "%s/gallery-shot.png", cwd);
        snprintf(page, sizeof page, "%s/index.html", out);
        CHECK(util_chromium(g_dir, page, shot) != NULL);
        struct img_info ii = {0};
        CHECK_EQ_INT(img_probe_png(shot, NULL, &ii), TRYON_OK);
        CHECK(ii.w == 1400 && ii.h == 1800);
    }
    sched_journal_close(j);
    sched_catalog_free(c);
    util_rmtree(g_dir);
    int rc = check_result("test_sched_gallery");
    if (rc == 0 && !browser) {
        fprintf(stderr, "test_sched_gallery: SKIPPED the browser checks: chromium cannot start "
                        "(install it with scripts/install-deps.sh --test)\n");
        return 77;
    }
    return rc;
}
