/* status.c: live progress of a running job, for people watching OUT/index.html.
 *
 * sched_status_start writes OUT/index.html as a small live page and starts one thread that,
 * every SCHED_STATUS_PERIOD_MS, reads the whole lines appended to OUT/journal.log since its
 * last look, updates the state of each catalog pair (the latest record wins, as in the
 * manifest), and rewrites OUT/status.json and OUT/status.js atomically. The thread only
 * reads the journal file (never the master's in-memory journal) and the catalog (which does
 * not change while a job runs), so it shares no mutable memory with the master; it makes
 * no MPI call. sched_aggregate writes the gallery over index.html and then stops the thread
 * (so does sched_catalog_free): one last read and status ("done" or "stopped"), then join.
 *
 * The page loads status.js (`tryon_status({...});`) with a fresh <script> element every
 * second rather than fetching status.json: browsers refuse fetch() of file:// URLs, but
 * not scripts, so the page works opened straight from disk as well as served over HTTP.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fail_rec { char *person, *garment, *error; };

struct sched_live {
    const struct sched_catalog *c;
    char out_dir[PATH_MAX];
    char journal[PATH_MAX];
    off_t offset;             /* journal bytes consumed (whole lines) */
    off_t run_offset;         /* journal size when the job started: later records are this run's */
    uint8_t *state;           /* per catalog pair: enum sched_state */
    int *pord, *gord;         /* persons and garments sorted by id (indices), for lookups */
    int n[3];                 /* pairs per state */
    int run_ok, run_failed;   /* records appended by this run */
    int n_input_errors;       /* entries (persons + garments) with an entry error */
    struct fail_rec recent[SCHED_STATUS_RECENT]; /* ring of this run's latest failures */
    int n_recent, recent_next;
    double t0;                /* monotonic seconds at start */
    time_t started;           /* wall clock at start */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

/* One job per process: the master of `tryon render`. */
static struct sched_live *g_live;

/* ---- pair lookup by ids ---- */

/* Index of the entry with this id, -1 when none; order lists the entries sorted by id. */
static int entry_index(const struct sched_entry *e, const int *order, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int cmp = strcmp(e[order[mid]].id, id);
        if (cmp == 0)
            return order[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int cmp_order(const void *a, const void *b, void *entries)
{
    const struct sched_entry *e = entries;
    return strcmp(e[*(const int *)a].id, e[*(const int *)b].id);
}

static int *sorted_order(const struct sched_entry *e, int n)
{
    int *o = malloc(sizeof *o * (size_t)(n ? n : 1));
    if (!o)
        return NULL;
    for (int i = 0; i < n; i++)
        o[i] = i;
    qsort_r(o, (size_t)n, sizeof *o, cmp_order, (void *)e);
    return o;
}

/* The catalog pair (person p, garment g), -1 when the catalog does not list it. c->pairs is
 * sorted by (person, garment). */
static int pair_index(const struct sched_catalog *c, int p, int g)
{
    int lo = 0, hi = c->n_pairs - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const struct sched_pair *q = &c->pairs[mid];
        int cmp = q->person != p ? (q->person < p ? -1 : 1) : q->garment != g ? (q->garment < g ? -1 : 1) : 0;
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* ---- reading the journal ---- */

static char *dup_or_empty(const char *s)
{
    char *d = tryon_xstrdup(s ? s : "");
    return d;
}

static void remember_failure(struct sched_live *L, const char *person, const char *garment, const char *error)
{
    struct fail_rec *r = &L->recent[L->recent_next];
    free(r->person);
    free(r->garment);
    free(r->error);
    r->person = dup_or_empty(person);
    r->garment = dup_or_empty(garment);
    r->error = dup_or_empty(error);
    L->recent_next = (L->recent_next + 1) % SCHED_STATUS_RECENT;
    if (L->n_recent < SCHED_STATUS_RECENT)
        L->n_recent++;
}

/* Apply one record line; lines that are not records are skipped (the journal warns). */
static void apply_record(struct sched_live *L, const int *pord, const int *gord, const char *text, size_t len,
                         bool this_run)
{
    struct json_val *v;
    if (json_parse(text, len, "journal", &v) != TRYON_OK)
        return;
    const char *person = json_get_str(v, "person"), *garment = json_get_str(v, "garment");
    const char *status = json_get_str(v, "status");
    if (person && garment && status) {
        const struct sched_catalog *c = L->c;
        int p = entry_index(c->persons, pord, c->n_persons, person);
        int g = entry_index(c->garments, gord, c->n_garments, garment);
        int i = p >= 0 && g >= 0 ? pair_index(c, p, g) : -1;
        bool ok = strcmp(status, "ok") == 0;
        if (i >= 0 && !c->persons[p].error && !c->garments[g].error) {
            L->n[L->state[i]]--;
            L->state[i] = ok ? SCHED_OK : SCHED_FAILED;
            L->n[L->state[i]]++;
        }
        if (this_run) {
            L->run_ok += ok;
            L->run_failed += !ok;
            if (!ok)
                remember_failure(L, person, garment, json_get_str(v, "error"));
        }
    }
    json_free(v);
}

/* Read the journal's new whole lines. A missing journal is no news. */
static void read_journal(struct sched_live *L, const int *pord, const int *gord)
{
    int fd = open(L->journal, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= L->offset) {
        /* a journal shorter than what was read is another file (removed and recreated):
           read it from the top; its records apply again, the latest still winning */
        if (fstat(fd, &st) == 0 && st.st_size < L->offset)
            L->offset = 0;
        close(fd);
        return;
    }
    size_t want = (size_t)(st.st_size - L->offset);
    char *buf = malloc(want);
    ssize_t got = buf ? pread(fd, buf, want, L->offset) : -1;
    close(fd);
    if (got <= 0) {
        free(buf);
        return;
    }
    size_t start = 0;
    for (size_t k = 0; k < (size_t)got; k++) {
        if (buf[k] != '\n')
            continue;
        if (k > start)
            apply_record(L, pord, gord, buf + start, k - start, L->offset + (off_t)start >= L->run_offset);
        start = k + 1;
    }
    L->offset += (off_t)start; /* a torn last line waits for its newline */
    free(buf);
}

/* ---- writing the status ---- */

static enum tryon_status write_status(struct sched_live *L, const char *state)
{
    double el = time_now() - L->t0;
    int run_done = L->run_ok + L->run_failed;
    double rate = el > 0 ? run_done / (el / 60.0) : 0; /* pairs per minute */
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "state"); json_str(&w, state);
    json_key(&w, "catalog"); json_str(&w, L->c->path);
    json_key(&w, "started"); json_int(&w, (long long)L->started);
    json_key(&w, "updated"); json_int(&w, (long long)time(NULL));
    json_key(&w, "elapsed_s"); json_numf(&w, el, 6);
    json_key(&w, "total"); json_int(&w, L->c->n_pairs);
    json_key(&w, "ok"); json_int(&w, L->n[SCHED_OK]);
    json_key(&w, "failed"); json_int(&w, L->n[SCHED_FAILED]);
    json_key(&w, "pending"); json_int(&w, L->n[SCHED_PENDING]);
    json_key(&w, "done_this_run"); json_int(&w, run_done);
    json_key(&w, "failed_this_run"); json_int(&w, L->run_failed);
    json_key(&w, "pairs_per_min"); json_numf(&w, rate, 4);
    json_key(&w, "eta_s");
    if (rate > 0 && L->n[SCHED_PENDING] > 0)
        json_numf(&w, L->n[SCHED_PENDING] / rate * 60.0, 4);
    else if (L->n[SCHED_PENDING] == 0)
        json_int(&w, 0);
    else
        json_null(&w);
    json_key(&w, "recent_failures"); /* newest first */
    json_arr_begin(&w);
    for (int k = 0; k < L->n_recent; k++) {
        const struct fail_rec *r =
            &L->recent[(L->recent_next - 1 - k + 2 * SCHED_STATUS_RECENT) % SCHED_STATUS_RECENT];
        json_obj_begin(&w);
        json_key(&w, "person"); json_str(&w, r->person);
        json_key(&w, "garment"); json_str(&w, r->garment);
        json_key(&w, "error"); json_str(&w, r->error);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "n_input_errors"); json_int(&w, L->n_input_errors);
    json_key(&w, "input_errors"); /* catalog order, persons first, at most SCHED_STATUS_RECENT */
    json_arr_begin(&w);
    int shown = 0;
    for (int k = 0; k < L->c->n_persons + L->c->n_garments && shown < SCHED_STATUS_RECENT; k++) {
        const struct sched_entry *e =
            k < L->c->n_persons ? &L->c->persons[k] : &L->c->garments[k - L->c->n_persons];
        if (e->error) {
            json_str(&w, e->error);
            shown++;
        }
    }
    json_arr_end(&w);
    json_obj_end(&w);

    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, L->out_dir, "status.json");
    if (!s) {
        char *text = tryon_xmalloc(w.len + 2);
        memcpy(text, w.buf, w.len);
        text[w.len] = '\n';
        s = fs_write_atomic(path, text, w.len + 1);
        free(text);
    }
    if (!s && !(s = fs_join(path, sizeof path, L->out_dir, "status.js"))) {
        size_t cap = w.len + 32;
        char *text = tryon_xmalloc(cap);
        int n = snprintf(text, cap, "tryon_status(%s);\n", w.buf);
        s = fs_write_atomic(path, text, (size_t)n);
        free(text);
    }
    json_w_free(&w);
    return s;
}

/* ---- the live page ---- */

static const char *const LIVE_PAGE =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tryon-farm: rendering</title>\n"
    "<style>body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}"
    "table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left;"
    "vertical-align:top}.bar{width:30em;height:1em;background:#eee;display:flex}.bar div{height:100%}"
    "#bar-ok{background:#3a7}#bar-failed{background:#c33}.err{color:#b11}</style></head><body>\n"
    "<h1>tryon-farm: <span id=\"state\">waiting for the first status</span></h1>\n"
    "<p>catalog <code id=\"catalog\"></code>; last update <span id=\"age\">never</span></p>\n"
    "<div class=\"bar\"><div id=\"bar-ok\"></div><div id=\"bar-failed\"></div></div>\n"
    "<table>\n<tr><th>total</th><td id=\"total\"></td></tr>\n<tr><th>ok</th><td id=\"ok\"></td></tr>\n"
    "<tr><th>failed</th><td id=\"failed\"></td></tr>\n<tr><th>pending</th><td id=\"pending\"></td></tr>\n"
    "<tr><th>this run</th><td id=\"run\"></td></tr>\n<tr><th>rate</th><td id=\"rate\"></td></tr>\n"
    "<tr><th>ETA</th><td id=\"eta\"></td></tr>\n</table>\n"
    "<h2>Recent failures</h2>\n<table id=\"failures\"><tr><th>person</th><th>garment</th><th>error</th></tr></table>\n"
    "<h2>Catalog entries that cannot be used (<span id=\"n-input-errors\">0</span>)</h2>\n"
    "<ul id=\"input-errors\"></ul>\n"
    "<noscript>This page shows progress with JavaScript; status.json holds the same numbers.</noscript>\n"
    "<p>The gallery replaces this page when the job ends.</p>\n"
    "<script>\n"
    "var last = null, sawRunning = false;\n"
    "function put(id, v) { document.getElementById(id).textContent = v; }\n"
    "function hms(s) { s = Math.round(s); var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, x = s % 60;\n"
    "  return h + ':' + (m < 10 ? '0' : '') + m + ':' + (x < 10 ? '0' : '') + x; }\n"
    "function tryon_status(s) {\n"
    "  last = s;\n"
    "  put('state', s.state === 'running' ? 'rendering' : s.state === 'done' ? 'finished' : 'stopped');\n"
    "  put('catalog', s.catalog); put('total', s.total); put('ok', s.ok); put('failed', s.failed);\n"
    "  put('pending', s.pending);\n"
    "  put('run', s.done_this_run + ' pairs (' + s.failed_this_run + ' failed) in ' + hms(s.elapsed_s));\n"
    "  put('rate', s.pairs_per_min.toFixed(1) + ' pairs/min');\n"
    "  put('eta', s.eta_s === null ? 'unknown' : hms(s.eta_s));\n"
    "  var t = Math.max(s.total, 1);\n"
    "  document.getElementById('bar-ok').style.width = (100 * s.ok / t) + '%';\n"
    "  document.getElementById('bar-failed').style.width = (100 * s.failed / t) + '%';\n"
    "  var tb = document.getElementById('failures');\n"
    "  while (tb.rows.length > 1) tb.deleteRow(1);\n"
    "  s.recent_failures.forEach(function (f) { var r = tb.insertRow(-1); r.className = 'failure';\n"
    "    r.insertCell(-1).textContent = f.person; r.insertCell(-1).textContent = f.garment;\n"
    "    var e = r.insertCell(-1); e.textContent = f.error; e.className = 'err'; });\n"
    "  put('n-input-errors', s.n_input_errors);\n"
    "  var ul = document.getElementById('input-errors'); ul.textContent = '';\n"
    "  s.input_errors.forEach(function (m) { var li = document.createElement('li'); li.textContent = m;\n"
    "    li.className = 'err'; ul.appendChild(li); });\n"
    "  if (s.state === 'running') sawRunning = true;\n"
    "  else if (sawRunning) setTimeout(function () { location.reload(); }, 1500); /* now the gallery */\n"
    "  age();\n"
    "}\n"
    "function age() { if (last) put('age', Math.max(0, Math.round(Date.now() / 1000 - last.updated)) + ' s ago'); }\n"
    "function poll() { var e = document.createElement('script'); e.src = 'status.js?t=' + Date.now();\n"
    "  e.onload = e.onerror = function () { e.remove(); }; document.head.appendChild(e); }\n"
    "poll(); setInterval(poll, 1000); setInterval(age, 1000);\n"
    "</script>\n</body></html>\n";

/* ---- the thread ---- */

static void *live_main(void *arg)
{
    struct sched_live *L = arg;
    bool warned = false;
    pthread_mutex_lock(&L->mu);
    for (;;) {
        bool stop = L->stop;
        pthread_mutex_unlock(&L->mu);
        read_journal(L, L->pord, L->gord);
        enum tryon_status s =
            write_status(L, !stop ? "running" : L->n[SCHED_PENDING] ? "stopped" : "done");
        if (s && !warned) {
            log_warn("live status: %s", tryon_errmsg());
            warned = true;
        }
        pthread_mutex_lock(&L->mu);
        if (stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(SCHED_STATUS_PERIOD_MS % 1000) * 1000000L;
        until.tv_sec += SCHED_STATUS_PERIOD_MS / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!L->stop && pthread_cond_timedwait(&L->cv, &L->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

static void live_free(struct sched_live *L)
{
    for (int k = 0; k < SCHED_STATUS_RECENT; k++) {
        free(L->recent[k].person);
        free(L->recent[k].garment);
        free(L->recent[k].error);
    }
    free(L->state);
    free(L->pord);
    free(L->gord);
    free(L);
}

static enum tryon_status start(const struct sched_catalog *c, const char *out_dir);

enum tryon_status sched_status_start(const struct sched_catalog *c, const char *out_dir)
{
    enum tryon_status s = start(c, out_dir);
    if (s)
        log_warn("no live status for this job: %s", tryon_errmsg());
    return s;
}

static enum tryon_status start(const struct sched_catalog *c, const char *out_dir)
{
    sched_status_stop();
    struct sched_live *L = calloc(1, sizeof *L);
    if (!L)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    L->c = c;
    enum tryon_status s = fs_mkdirs(out_dir);
    if (!s && snprintf(L->out_dir, sizeof L->out_dir, "%s", out_dir) >= (int)sizeof L->out_dir)
        s = tryon_fail(TRYON_ELIMIT, "%s: path too long", out_dir);
    if (!s)
        s = fs_join(L->journal, sizeof L->journal, out_dir, "journal.log");
    if (!s && (!(L->state = malloc((size_t)(c->n_pairs ? c->n_pairs : 1))) ||
               !(L->pord = sorted_order(c->persons, c->n_persons)) ||
               !(L->gord = sorted_order(c->garments, c->n_garments))))
        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    if (s) {
        live_free(L);
        return s;
    }
    for (int i = 0; i < c->n_pairs; i++) {
        const struct sched_pair *p = &c->pairs[i];
        L->state[i] = c->persons[p->person].error || c->garments[p->garment].error ? SCHED_FAILED : SCHED_PENDING;
        L->n[L->state[i]]++;
    }
    for (int i = 0; i < c->n_persons; i++)
        L->n_input_errors += c->persons[i].error != NULL;
    for (int i = 0; i < c->n_garments; i++)
        L->n_input_errors += c->garments[i].error != NULL;
    struct stat st;
    L->run_offset = stat(L->journal, &st) == 0 ? st.st_size : 0;
    L->t0 = time_now();
    L->started = time(NULL);
    char page[PATH_MAX];
    if (!(s = fs_join(page, sizeof page, out_dir, "index.html")))
        s = fs_write_atomic(page, LIVE_PAGE, strlen(LIVE_PAGE));
    if (s) {
        live_free(L);
        return s;
    }
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    /* the thread blocks every signal (it inherits the mask set here), so SIGTERM, SIGUSR1
       and the like always reach the threads of the job that handle them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&L->thread, NULL, live_main, L);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        pthread_cond_destroy(&L->cv);
        pthread_mutex_destroy(&L->mu);
        live_free(L);
        return tryon_fail(TRYON_EIO, "%s: cannot start the status thread: %s", out_dir, strerror(e));
    }
    g_live = L;
    return TRYON_OK;
}

void sched_status_stop(void)
{
    struct sched_live *L = g_live;
    if (!L)
        return;
    g_live = NULL;
    pthread_mutex_lock(&L->mu);
    L->stop = true;
    pthread_cond_signal(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    live_free(L);
}

void sched_status_stop_for(const struct sched_catalog *c)
{
    /* a view of c (a slice of its pairs, the same entries) counts as c */
    if (g_live && (g_live->c == c || g_live->c->persons == c->persons))
        sched_status_stop();
}
