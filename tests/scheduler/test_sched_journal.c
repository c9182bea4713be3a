/* test_sched_journal.c: the journal (append, reopen, latest record wins, torn last line
 * ignored then truncated, malformed records refused, second opener locked out), the plan
 * (ok pairs dropped, failed ones kept, bad inputs set apart) and the guided chunk queue
 * (non-increasing chunks of the documented size covering every item exactly once). */
#include "check.h"
#include "sched_test_util.h"
#include "scheduler/scheduler.h"

#include <fcntl.h>

static char g_dir[UTIL_DIR_MAX];

static void rec(char *out, size_t cap, const char *p, const char *g, const char *status, double render_s)
{
    snprintf(out, cap,
             "{\"person\":\"%s\",\"garment\":\"%s\",\"status\":\"%s\",\"error\":%s,\"seconds\":{\"render\":%g}}", p,
             g, status, strcmp(status, "ok") ? "\"drape did not settle\"" : "null", render_s);
}

/* Every line of the file is a JSON object and the file ends with a newline. */
static int check_file_valid(const char *path)
{
    size_t len;
    char *text = util_read(path, &len);
    CHECK(text != NULL);
    if (!text)
        return -1;
    CHECK(len == 0 || text[len - 1] == '\n');
    int lines = 0;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        struct json_val *v;
        CHECK(json_parse(p, (size_t)(nl - p), "line", &v) == TRYON_OK);
        if (v) {
            CHECK(v->type == JSON_OBJ);
            json_free(v);
        }
        lines++;
        p = nl + 1;
    }
    free(text);
    return lines;
}

static void append_raw(const char *path, const char *bytes)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, bytes, strlen(bytes)) == (ssize_t)strlen(bytes));
    close(fd);
}

static void test_journal(void)
{
    char out[UTIL_DIR_MAX + 64], path[PATH_MAX], line[512];
    snprintf(out, sizeof out, "%s/job/out", g_dir); /* created by open */
    snprintf(path, sizeof path, "%s/journal.log", out);
    struct sched_journal *j = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    bool ok = true;
    CHECK(sched_journal_get(j, "p1", "g1", &ok) == NULL && !ok);
    rec(line, sizeof line, "p1", "g1", "failed", 0.5);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    rec(line, sizeof line, "p1", "g2", "ok", 1.0);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    CHECK_STR(sched_journal_get(j, "p1", "g2", &ok), line);
    CHECK(ok);
    const char *got = sched_journal_get(j, "p1", "g1", &ok);
    CHECK(got && strstr(got, "\"failed\"") && !ok);
    /* a second job on the same folder is refused while the first holds it */
    struct sched_journal *j2 = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j2), TRYON_EIO);
    CHECK_CONTAINS(tryon_errmsg(), "another job");
    /* malformed records are refused and leave the file alone */
    CHECK_EQ_INT(sched_journal_append(j, "{\"person\":\"p1\",\"garment\":\"g3\"}"), TRYON_EINVAL);
    CHECK_EQ_INT(sched_journal_append(j, "{\"person\":\"p1\",\"garment\":\"g3\",\"status\":\"done\"}"), TRYON_EINVAL);
    CHECK_EQ_INT(sched_journal_append(j, "{\"person\":\"p1\",\n\"garment\":\"g3\",\"status\":\"ok\"}"), TRYON_EINVAL);
    CHECK_EQ_INT(sched_journal_append(j, "[1,2]"), TRYON_EINVAL);
    CHECK(sched_journal_append(j, "{\"person\":") < 0);
    CHECK_EQ_INT(check_file_valid(path), 2);
    int n_ok = -1;
    CHECK_EQ_INT(sched_journal_count(j, &n_ok), 2);
    CHECK_EQ_INT(n_ok, 1);
    sched_journal_close(j);

    /* reopen: records come back; a newer record of p1/g1 wins */
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    CHECK(sched_journal_get(j, "p1", "g2", &ok) && ok);
    CHECK(sched_journal_get(j, "p1", "g1", &ok) && !ok);
    rec(line, sizeof line, "p1", "g1", "ok", 2.0);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    CHECK_STR(sched_journal_get(j, "p1", "g1", &ok), line);
    CHECK(ok);
    CHECK_EQ_INT(sched_journal_count(j, &n_ok), 2);
    CHECK_EQ_INT(n_ok, 2);
    sched_journal_close(j);
    CHECK_EQ_INT(check_file_valid(path), 3);

    /* a killed job: a torn last line, and a garbage line in the middle from a foreign writer */
    append_raw(path, "this is not json\n");
    append_raw(path, "{\"person\":\"p2\",\"garment\":\"g1\",\"status\":\"ok\",\"sec");
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    CHECK(sched_journal_get(j, "p2", "g1", &ok) == NULL);
    CHECK_STR(sched_journal_get(j, "p1", "g1", &ok), line);
    CHECK_EQ_INT(sched_journal_count(j, NULL), 2);
    /* the torn tail is still on disk until the next append truncates it */
    size_t len;
    char *text = util_read(path, &len);
    CHECK(text && text[len - 1] != '\n');
    free(text);
    rec(line, sizeof line, "p2", "g1", "ok", 3.0);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    sched_journal_close(j);
    text = util_read(path, &len);
    CHECK(text && text[len - 1] == '\n');
    CHECK(text && !strstr(text, "\"sec{"));
    CHECK(text && strstr(text, line));
    free(text);
    /* reopen once more: everything is whole; the garbage middle line is skipped */
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    CHECK_STR(sched_journal_get(j, "p2", "g1", &ok), line);
    CHECK(ok);
    CHECK_EQ_INT(sched_journal_count(j, &n_ok), 3);
    CHECK_EQ_INT(n_ok, 3);
    sched_journal_close(j);

    /* many pairs: the index grows and keeps every latest record */
    snprintf(out, sizeof out, "%s/many", g_dir);
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (!j)
        return;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 1500; i++) {
            char p[16], g[16];
            snprintf(p, sizeof p, "p%d", i / 10);
            snprintf(g, sizeof g, "g%d", i % 10);
            rec(line, sizeof line, p, g, round ? "ok" : "failed", i);
            CHECK(sched_journal_append(j, line) == TRYON_OK);
        }
    CHECK_EQ_INT(sched_journal_count(j, &n_ok), 1500);
    CHECK_EQ_INT(n_ok, 1500);
    sched_journal_close(j);
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    if (j) {
        rec(line, sizeof line, "p77", "g3", "ok", 773);
        CHECK_STR(sched_journal_get(j, "p77", "g3", &ok), line);
        CHECK_EQ_INT(sched_journal_count(j, &n_ok), 1500);
        sched_journal_close(j);
    }
}

static void test_plan(void)
{
    util_png(g_dir, "plan/p0.png", 4, 6, 1, 2, 3, 255);
    util_png(g_dir, "plan/p1.png", 4, 6, 1, 2, 3, 255);
    util_png(g_dir, "plan/g0.png", 4, 4, 1, 2, 3, 255);
    util_write(g_dir, "plan/catalog.yaml",
               "persons:\n  - {id: p0, image: p0.png}\n  - {id: p1, image: p1.png}\n"
               "garments:\n  - {id: g0, image: g0.png}\n  - {id: g1, image: missing.png}\n  - {id: g2, image: g0.png}\n");
    char path[PATH_MAX], out[PATH_MAX], line[512];
    snprintf(path, sizeof path, "%s/plan/catalog.yaml", g_dir);
    snprintf(out, sizeof out, "%s/plan/out", g_dir);
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(sched_catalog_load(path, NULL, &c), TRYON_OK);
    if (!c)
        return;
    struct sched_journal *j = NULL;
    CHECK_EQ_INT(sched_journal_open(out, &j), TRYON_OK);
    rec(line, sizeof line, "p0", "g0", "ok", 1);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    rec(line, sizeof line, "p1", "g0", "failed", 1);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    rec(line, sizeof line, "p0", "g2", "failed", 1);
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    rec(line, sizeof line, "p0", "g2", "ok", 1); /* retried and now ok */
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    rec(line, sizeof line, "zz", "g0", "ok", 1); /* a pair not in this catalog: ignored */
    CHECK_EQ_INT(sched_journal_append(j, line), TRYON_OK);
    struct sched_plan plan;
    CHECK_EQ_INT(sched_plan_make(c, j, &plan), TRYON_OK);
    /* pairs: 0 p0g0 ok, 1 p0g1 bad, 2 p0g2 ok, 3 p1g0 failed, 4 p1g1 bad, 5 p1g2 never run */
    CHECK_EQ_INT(plan.n_done, 2);
    CHECK_EQ_INT(plan.n_todo, 2);
    CHECK_EQ_INT(plan.n_invalid, 2);
    if (plan.n_todo == 2) {
        CHECK_EQ_INT(plan.todo[0], 3);
        CHECK_EQ_INT(plan.todo[1], 5);
    }
    if (plan.n_invalid == 2) {
        CHECK_EQ_INT(plan.invalid[0], 1);
        CHECK_EQ_INT(plan.invalid[1], 4);
    }
    sched_plan_free(&plan);
    CHECK_EQ_INT(sched_plan_make(c, NULL, &plan), TRYON_OK);
    CHECK_EQ_INT(plan.n_todo, 4);
    CHECK_EQ_INT(plan.n_done, 0);
    sched_plan_free(&plan);
    sched_journal_close(j);
    sched_catalog_free(c);
}

static void test_queue(void)
{
    static const int cases[][3] = {{0, 1, 1}, {1, 4, 1}, {7, 1, 1},   {100, 3, 1},  {100, 3, 8},
                                   {1000, 7, 1}, {1000, 7, 5}, {5, 8, 2}, {99999, 64, 4}, {12, 2, 100}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int total = cases[k][0], workers = cases[k][1], min_chunk = cases[k][2];
        struct sched_queue q;
        sched_queue_init(&q, total, workers, min_chunk);
        char *seen = calloc((size_t)total + 1, 1);
        int start, count, prev = 1 << 30, expect_start = 0, chunks = 0;
        bool sizes_ok = true, formula_ok = true, order_ok = true;
        while (sched_queue_next(&q, &start, &count)) {
            int remaining = total - expect_start;
            int share = (remaining + 2 * workers - 1) / (2 * workers);
            int want = share > min_chunk ? share : min_chunk;
            if (want > remaining)
                want = remaining;
            formula_ok &= count == want;
            sizes_ok &= count >= 1 && count <= prev;
            order_ok &= start == expect_start;
            for (int i = start; i < start + count && i < total; i++)
                seen[i]++;
            prev = count;
            expect_start = start + count;
            chunks++;
        }
        CHECK_MSG(sizes_ok, "case %zu: chunk sizes increase", k);
        CHECK_MSG(formula_ok, "case %zu: a chunk is not max(min_chunk, ceil(rem / 2w))", k);
        CHECK_MSG(order_ok, "case %zu: chunks are not contiguous", k);
        CHECK_EQ_INT(expect_start, total);
        bool once = true;
        for (int i = 0; i < total; i++)
            once &= seen[i] == 1;
        CHECK_MSG(once, "case %zu: an item was not handed out exactly once", k);
        CHECK(!sched_queue_next(&q, &start, &count)); /* stays empty */
        CHECK(total > 0 || chunks == 0);
        free(seen);
    }
    /* the first chunk of 100 items over 3 workers is ceil(100 / 6) = 17, the last ones 1 */
    struct sched_queue q;
    int start, count;
    sched_queue_init(&q, 100, 3, 1);
    CHECK(sched_queue_next(&q, &start, &count) && start == 0 && count == 17);
    CHECK(sched_queue_next(&q, &start, &count) && start == 17 && count == 14);
}

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "journal");
    test_journal();
    test_plan();
    test_queue();
    util_rmtree(g_dir);
    return check_result("test_sched_journal");
}
