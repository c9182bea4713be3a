/* aggregate.c: the end-of-job outputs a person reads: manifest, summary, contact sheets
 * (contact.c) and an HTML gallery.
 *
 * Everything is derived from the catalog and the journal alone, so the same call works
 * after a clean job, a failed one or an interrupted one (unfinished pairs show as
 * pending), and a re-run rewrites the files whole. Each file is written under a temporary
 * name, fsynced and renamed, so a reader never sees half a manifest.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a streamed file written atomically ---- */
struct afile {
    FILE *f;
    char path[PATH_MAX];
    int dfd;                  /* the folder it goes in (opened with no link followed) */
    char leaf[NAME_MAX + 1], tmp[NAME_MAX + 1];
};

static enum tryon_status af_open(struct afile *a, const char *out_dir, const char *rel)
{
    a->f = NULL;
    a->dfd = -1;
    enum tryon_status s = fs_join(a->path, sizeof a->path, out_dir, rel);
    if (s || (s = fs_open_parent(a->path, false, &a->dfd, a->leaf, sizeof a->leaf)))
        return s;
    snprintf(a->tmp, sizeof a->tmp, "%.200s.tmp.%ld", a->leaf, (long)getpid());
    unlinkat(a->dfd, a->tmp, 0);
    int fd = openat(a->dfd, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
        s = tryon_fail(TRYON_EIO, "%s.tmp: cannot create: %s", a->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(a->dfd);
        a->dfd = -1;
        return s;
    }
    return TRYON_OK;
}

static enum tryon_status af_commit(struct afile *a)
{
    int err = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0)
        err = errno ? errno : EIO;
    if (fclose(a->f) != 0 && !err)
        err = errno;
    a->f = NULL;
    if (!err && renameat(a->dfd, a->tmp, a->dfd, a->leaf) != 0)
        err = errno;
    if (err)
        unlinkat(a->dfd, a->tmp, 0);
    else
        fsync(a->dfd);
    close(a->dfd);
    a->dfd = -1;
    if (err)
        return tryon_fail(TRYON_EIO, "%s: write failed: %s", a->path, strerror(err));
    return TRYON_OK;
}

/* ---- the state of each pair ---- */

/* Entry error of pair i (person's, garment's, or both joined), malloc'd; NULL when none. */
static char *entry_error(const struct sched_catalog *c, int i)
{
    const char *pe = c->persons[c->pairs[i].person].error, *ge = c->garments[c->pairs[i].garment].error;
    if (!pe && !ge)
        return NULL;
    size_t n = (pe ? strlen(pe) : 0) + (ge ? strlen(ge) : 0) + 3;
    char *m = malloc(n);
    if (m)
        snprintf(m, n, "%s%s%s", pe ? pe : "", pe && ge ? "; " : "", ge ? ge : "");
    return m;
}

/* Record of pair i: SCHED_FAILED with *line NULL for an entry error, else the journal's
 * latest record (ok or failed) or SCHED_PENDING with *line NULL. */
static enum sched_state pair_state(const struct sched_catalog *c, const struct sched_journal *j, int i,
                                   const char **line)
{
    const struct sched_pair *p = &c->pairs[i];
    *line = NULL;
    if (c->persons[p->person].error || c->garments[p->garment].error)
        return SCHED_FAILED;
    bool ok;
    *line = j ? sched_journal_get(j, c->persons[p->person].id, c->garments[p->garment].id, &ok) : NULL;
    if (!*line)
        return SCHED_PENDING;
    return ok ? SCHED_OK : SCHED_FAILED;
}

void sched_count(const struct sched_catalog *c, const struct sched_journal *j, struct sched_counts *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->n_pairs; i++) {
        const char *line;
        enum sched_state st = pair_state(c, j, i, &line);
        out->ok += st == SCHED_OK;
        out->failed += st == SCHED_FAILED;
        out->pending += st == SCHED_PENDING;
    }
}

/* The error message of a failed pair, malloc'd ("" when the record gives none). */
static char *failure_error(const struct sched_catalog *c, int i, const char *line)
{
    if (!line)
        return entry_error(c, i);
    struct json_val *v;
    char *m = NULL;
    if (json_parse(line, strlen(line), "journal record", &v) == TRYON_OK) {
        const char *e = json_get_str(v, "error");
        m = strdup(e ? e : "");
        json_free(v);
    } else {
        m = strdup("");
    }
    return m;
}

static void synth_record(struct json_w *w, const struct sched_catalog *c, int i, const char *status, const char *error)
{
    json_w_reset(w);
    json_obj_begin(w);
    json_key(w, "person");
    json_str(w, c->persons[c->pairs[i].person].id);
    json_key(w, "garment");
    json_str(w, c->garments[c->pairs[i].garment].id);
    json_key(w, "status");
    json_str(w, status);
    json_key(w, "error");
    json_str(w, error);
    json_obj_end(w);
}

/* ---- manifest.jsonl ---- */
static enum tryon_status write_manifest(const struct sched_catalog *c, const struct sched_journal *j,
                                        const char *out_dir)
{
    struct afile a;
    enum tryon_status s = af_open(&a, out_dir, "manifest.jsonl");
    if (s)
        return s;
    struct json_w w;
    json_w_init(&w);
    for (int i = 0; i < c->n_pairs; i++) {
        const char *line;
        enum sched_state st = pair_state(c, j, i, &line);
        if (!line) {
            char *err = st == SCHED_FAILED ? entry_error(c, i) : NULL;
            synth_record(&w, c, i, st == SCHED_FAILED ? "failed" : "pending", err);
            free(err);
            line = w.buf;
        }
        fputs(line, a.f);
        fputc('\n', a.f);
    }
    json_w_free(&w);
    return af_commit(&a);
}

/* ---- summary.json ---- */
struct stage { char *name; double sum; long long n; };
struct stages { struct stage *v; int n, cap; };

static void stage_add(struct stages *ss, const char *name, double x)
{
    for (int k = 0; k < ss->n; k++)
        if (strcmp(ss->v[k].name, name) == 0) {
            ss->v[k].sum += x;
            ss->v[k].n++;
            return;
        }
    if (ss->n == ss->cap) {
        int cap = ss->cap ? ss->cap * 2 : 16;
        struct stage *v = realloc(ss->v, sizeof *v * (size_t)cap);
        if (!v)
            return; /* a stage left out of the summary beats failing the aggregation */
        ss->v = v;
        ss->cap = cap;
    }
    char *nm = strdup(name);
    if (nm)
        ss->v[ss->n++] = (struct stage){nm, x, 1};
}

static void json_kv_int(struct json_w *w, const char *k, long long v)
{
    json_key(w, k);
    json_int(w, v);
}

static enum tryon_status write_summary(const struct sched_catalog *c, const struct sched_journal *j,
                                       const char *out_dir, const struct sched_run_info *info, const uint8_t *state)
{
    long long n_ok = 0, n_failed = 0, n_pending = 0, n_invalid = 0;
    struct stages ss = {0};
    struct json_w fails;
    json_w_init(&fails);
    json_arr_begin(&fails);
    for (int i = 0; i < c->n_pairs; i++) {
        const char *line;
        pair_state(c, j, i, &line);
        n_ok += state[i] == SCHED_OK;
        n_failed += state[i] == SCHED_FAILED;
        n_pending += state[i] == SCHED_PENDING;
        n_invalid += state[i] == SCHED_FAILED && !line;
        if (line) {
            struct json_val *v;
            if (json_parse(line, strlen(line), "journal record", &v) == TRYON_OK) {
                const struct json_val *sec = json_get(v, "seconds");
                if (sec && sec->type == JSON_OBJ)
                    for (size_t k = 0; k < sec->n; k++)
                        if (sec->items[k].type == JSON_NUM)
                            stage_add(&ss, sec->keys[k], sec->items[k].num);
                json_free(v);
            }
        }
        if (state[i] == SCHED_FAILED) {
            char *err = failure_error(c, i, line);
            json_obj_begin(&fails);
            json_key(&fails, "person");
            json_str(&fails, c->persons[c->pairs[i].person].id);
            json_key(&fails, "garment");
            json_str(&fails, c->garments[c->pairs[i].garment].id);
            json_key(&fails, "error");
            json_str(&fails, err ? err : "");
            json_obj_end(&fails);
            free(err);
        }
    }
    json_arr_end(&fails);

    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "catalog");
    json_str(&w, c->path);
    json_kv_int(&w, "total", c->n_pairs);
    json_kv_int(&w, "ok", n_ok);
    json_kv_int(&w, "failed", n_failed);
    json_kv_int(&w, "pending", n_pending);
    json_kv_int(&w, "invalid_inputs", n_invalid);
    json_key(&w, "wall_s");
    json_numf(&w, info->wall_s, 6);
    json_kv_int(&w, "ranks", info->ranks);
    json_kv_int(&w, "ok_this_run", info->n_ok_this_run);
    json_key(&w, "pairs_per_minute");
    json_numf(&w, info->wall_s > 0 ? info->n_ok_this_run * 60.0 / info->wall_s : 0.0, 6);
    json_key(&w, "preset");
    json_str(&w, info->preset ? info->preset : c->render.preset[0] ? c->render.preset : "preview");
    char seed[24];
    snprintf(seed, sizeof seed, "%" PRIu64, info->has_seed ? info->seed : c->seed);
    json_key(&w, "seed");
    json_raw(&w, seed);
    json_key(&w, "render");
    json_obj_begin(&w);
    json_key(&w, "preset");
    json_str(&w, info->preset ? info->preset : c->render.preset);
    json_kv_int(&w, "width", info->width ? info->width : c->render.width);
    json_kv_int(&w, "height", info->height ? info->height : c->render.height);
    json_kv_int(&w, "spp", info->spp ? info->spp : c->render.spp);
    json_kv_int(&w, "max_depth", info->max_depth ? info->max_depth : c->render.max_depth);
    json_key(&w, "aovs");
    json_bool(&w, c->render.aovs);
    json_key(&w, "meshes");
    json_bool(&w, c->render.meshes);
    json_obj_end(&w);
    json_key(&w, "stages");
    json_obj_begin(&w);
    for (int k = 0; k < ss.n; k++) {
        json_key(&w, ss.v[k].name);
        json_obj_begin(&w);
        json_key(&w, "sum_s");
        json_numf(&w, ss.v[k].sum, 9);
        json_kv_int(&w, "n", ss.v[k].n);
        json_key(&w, "mean_s");
        json_numf(&w, ss.v[k].sum / (double)ss.v[k].n, 9);
        json_obj_end(&w);
        free(ss.v[k].name);
    }
    free(ss.v);
    json_obj_end(&w);
    json_key(&w, "failures");
    json_raw(&w, fails.buf);
    json_obj_end(&w);
    json_w_free(&fails);

    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, out_dir, "summary.json");
    if (!s)
        s = fs_write_atomic(path, w.buf, w.len);
    json_w_free(&w);
    return s;
}

/* ---- index.html ---- */
static void html_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void page_name(char *out, size_t cap, int page)
{
    if (page == 0)
        snprintf(out, cap, "index.html");
    else
        snprintf(out, cap, "index-%03d.html", page + 1);
}

static const char *const CSS =
    "body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}"
    "h1{font-size:1.4em}table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:top}.counts span{display:inline-block;margin-right:1.2em}"
    ".grid{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:170px;background:#fff;border:1px solid #ddd;"
    "padding:5px;font-size:12px;word-break:break-all}figure img{width:160px;background:#ddd;display:block}"
    ".ph{width:160px;height:120px;display:flex;align-items:center;justify-content:center;background:#eee;color:#888}"
    ".ok .st{color:#175}.failed .st{color:#b11}.failed .ph{background:#f6dede;color:#b11}.pending .st{color:#888}"
    ".err{color:#b11;font-size:11px}nav a{margin-right:.6em}";

static void html_counts(FILE *f, const struct sched_catalog *c, const uint8_t *state)
{
    long long n[3] = {0, 0, 0};
    for (int i = 0; i < c->n_pairs; i++)
        n[state[i]]++;
    fprintf(f, "<p class=\"counts\"><span>total <b>%d</b></span><span>ok <b>%lld</b></span>"
               "<span>failed <b>%lld</b></span><span>pending <b>%lld</b></span></p>\n",
            c->n_pairs, n[SCHED_OK], n[SCHED_FAILED], n[SCHED_PENDING]);
}

static void html_nav(FILE *f, int n_pages, int page)
{
    if (n_pages <= 1)
        return;
    fputs("<nav>pages: ", f);
    for (int k = 0; k < n_pages; k++) {
        char name[32];
        page_name(name, sizeof name, k);
        if (k == page)
            fprintf(f, "<b>%d</b> ", k + 1);
        else
            fprintf(f, "<a href=\"%s\">%d</a> ", name, k + 1);
    }
    fputs("</nav>\n", f);
}

static void html_card(FILE *f, const struct sched_catalog *c, const struct sched_journal *j, int i,
                      const uint8_t *state)
{
    static const char *const names[3] = {"pending", "ok", "failed"};
    const char *pid = c->persons[c->pairs[i].person].id, *gid = c->garments[c->pairs[i].garment].id;
    fprintf(f, "<figure class=\"%s\">", names[state[i]]);
    if (state[i] == SCHED_OK) {
        fputs("<a href=\"renders/", f);
        html_esc(f, pid);
        fputc('/', f);
        html_esc(f, gid);
        fputs(".png\"><img loading=\"lazy\" src=\"renders/", f);
        html_esc(f, pid);
        fputc('/', f);
        html_esc(f, gid);
        fputs(".png\" alt=\"", f);
        html_esc(f, pid);
        fputs(" / ", f);
        html_esc(f, gid);
        fputs("\"></a>", f);
    } else {
        fprintf(f, "<div class=\"ph\">%s</div>", names[state[i]]);
    }
    fputs("<figcaption>", f);
    html_esc(f, pid);
    fputs(" / ", f);
    html_esc(f, gid);
    fprintf(f, " <span class=\"st\">%s</span>", names[state[i]]);
    if (state[i] == SCHED_FAILED) {
        const char *line;
        pair_state(c, j, i, &line);
        char *err = failure_error(c, i, line);
        fputs("<div class=\"err\">", f);
        html_esc(f, err ? err : "");
        fputs("</div>", f);
        free(err);
    }
    fputs("</figcaption></figure>\n", f);
}

static enum tryon_status write_page(const struct sched_catalog *c, const struct sched_journal *j,
                                    const char *out_dir, const uint8_t *state, int n_sheets, int n_pages, int page)
{
    char name[32];
    page_name(name, sizeof name, page);
    struct afile a;
    enum tryon_status s = af_open(&a, out_dir, name);
    if (s)
        return s;
    FILE *f = a.f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tryon-farm: ", f);
    html_esc(f, c->path);
    fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>tryon-farm: ", CSS);
    html_esc(f, c->path);
    fputs("</h1>\n", f);
    html_counts(f, c, state);
    fputs("<p><a href=\"manifest.jsonl\">manifest.jsonl</a> &middot; <a href=\"summary.json\">summary.json</a></p>\n",
          f);
    if (page == 0) {
        if (n_sheets > 0) {
            fputs("<h2>Contact sheets</h2>\n<p>", f);
            for (int k = 0; k < n_sheets; k++)
                fprintf(f, "<a href=\"contact/sheet-%03d.png\">sheet %d</a> ", k + 1, k + 1);
            fputs("</p>\n", f);
        }
        bool any = false;
        for (int i = 0; i < c->n_pairs; i++) {
            if (state[i] != SCHED_FAILED)
                continue;
            if (!any)
                fputs("<h2>Failures</h2>\n<table><tr><th>person</th><th>garment</th><th>error</th></tr>\n", f);
            any = true;
            const char *line;
            pair_state(c, j, i, &line);
            char *err = failure_error(c, i, line);
            fputs("<tr><td>", f);
            html_esc(f, c->persons[c->pairs[i].person].id);
            fputs("</td><td>", f);
            html_esc(f, c->garments[c->pairs[i].garment].id);
            fputs("</td><td>", f);
            html_esc(f, err ? err : "");
            fputs("</td></tr>\n", f);
            free(err);
        }
        if (any)
            fputs("</table>\n", f);
    }
    int first = page * SCHED_HTML_PAGE, last = first + SCHED_HTML_PAGE;
    if (last > c->n_pairs)
        last = c->n_pairs;
    fprintf(f, "<h2>Pairs %d to %d of %d</h2>\n", c->n_pairs ? first + 1 : 0, last, c->n_pairs);
    html_nav(f, n_pages, page);
    fputs("<div class=\"grid\">\n", f);
    for (int i = first; i < last; i++)
        html_card(f, c, j, i, state);
    fputs("</div>\n", f);
    html_nav(f, n_pages, page);
    fputs("</body></html>\n", f);
    return af_commit(&a);
}

static enum tryon_status write_html(const struct sched_catalog *c, const struct sched_journal *j,
                                    const char *out_dir, const uint8_t *state, int n_sheets)
{
    int n_pages = c->n_pairs > 0 ? (c->n_pairs + SCHED_HTML_PAGE - 1) / SCHED_HTML_PAGE : 1;
    for (int k = 0; k < n_pages; k++) {
        enum tryon_status s = write_page(c, j, out_dir, state, n_sheets, n_pages, k);
        if (s)
            return s;
    }
    /* pages of an earlier run over a longer catalog */
    for (int k = n_pages;; k++) {
        char name[32], path[PATH_MAX];
        page_name(name, sizeof name, k);
        if (fs_join(path, sizeof path, out_dir, name) || unlink(path) != 0)
            break;
    }
    return TRYON_OK;
}

enum tryon_status sched_aggregate(const struct sched_catalog *c, const struct sched_journal *j,
                                  const char *out_dir, const struct sched_run_info *info)
{
    enum tryon_status s = fs_mkdirs(out_dir);
    if (s)
        return s;
    uint8_t *state = malloc((size_t)(c->n_pairs ? c->n_pairs : 1));
    if (!state)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    for (int i = 0; i < c->n_pairs; i++) {
        const char *line;
        state[i] = (uint8_t)pair_state(c, j, i, &line);
    }
    int n_sheets = 0;
    if (!(s = write_manifest(c, j, out_dir)) && !(s = write_summary(c, j, out_dir, info, state)) &&
        !(s = sched_contact_write(c, out_dir, state, &n_sheets)))
        s = write_html(c, j, out_dir, state, n_sheets);
    free(state);
    sched_status_stop_for(c); /* last status after the gallery: the live page reloads into it */
    return s;
}
