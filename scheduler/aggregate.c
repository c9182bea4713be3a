/* aggregate.c: the end-of-job outputs a person reads: manifest, summary, contact sheets
 * (contact.c) and the HTML gallery (gallery.c).
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
enum tryon_status sched_af_open(struct sched_afile *a, const char *out_dir, const char *rel)
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

enum tryon_status sched_af_commit(struct sched_afile *a)
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

enum sched_state sched_pair_state(const struct sched_catalog *c, const struct sched_journal *j, int i,
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
        enum sched_state st = sched_pair_state(c, j, i, &line);
        out->ok += st == SCHED_OK;
        out->failed += st == SCHED_FAILED;
        out->pending += st == SCHED_PENDING;
    }
}

char *sched_failure_error(const struct sched_catalog *c, int i, const char *line)
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
    if (!strcmp(status, "failed")) {   /* a catalog entry's photo failed its file checks */
        json_key(w, "fault");
        json_str(w, "input");
    }
    json_obj_end(w);
}

/* ---- manifest.jsonl ---- */
static enum tryon_status write_manifest(const struct sched_catalog *c, const struct sched_journal *j,
                                        const char *out_dir)
{
    struct sched_afile a;
    enum tryon_status s = sched_af_open(&a, out_dir, "manifest.jsonl");
    if (s)
        return s;
    struct json_w w;
    json_w_init(&w);
    for (int i = 0; i < c->n_pairs; i++) {
        const char *line;
        enum sched_state st = sched_pair_state(c, j, i, &line);
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
    return sched_af_commit(&a);
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
        sched_pair_state(c, j, i, &line);
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
            char *err = sched_failure_error(c, i, line);
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
        state[i] = (uint8_t)sched_pair_state(c, j, i, &line);
    }
    int n_sheets = 0;
    if (!(s = write_manifest(c, j, out_dir)) && !(s = write_summary(c, j, out_dir, info, state)) &&
        !(s = sched_contact_write(c, out_dir, state, &n_sheets)))
        s = sched_gallery_write(c, j, out_dir, state, n_sheets);
    free(state);
    sched_status_stop_for(c); /* last status after the gallery: the live page reloads into it */
    return s;
}
