/* master.c: the render job's master as a state machine (scheduler.h, "master").
 *
 * It owns everything the master decides: which rank gets which pairs (guided or static
 * chunks, retries first), what a failure means (the pair's, or the rank's), when a rank is
 * suspended, excluded or written off, and what goes into the journal. It does no I/O and
 * knows no transport: farm/render.c feeds it the messages and timer ticks and carries out
 * its actions, and tests/scheduler/test_sched_master.c drives it with event scripts.
 *
 * Bookkeeping per rank: the chunk it was last sent (held[0..n)), the position of the pair
 * in progress (results arrive in order), and revoked_from (pairs from there on were taken
 * back: their results are dropped). in_flight counts the pairs held by ranks that may still
 * answer. Per pair with failed attempts: a struct pfail listing the (rank, epoch) of each
 * failure still waiting for a verdict, where a rank's epoch counts its ok results, so a
 * failure from before the rank's last ok is no longer part of its streak.
 */
#include "scheduler/scheduler.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mrank {
    int32_t *held;        /* the chunk last sent, pair indices in order */
    int n, cap;           /* held[0..n), capacity */
    int pos;              /* held[pos] is in progress (has no result yet) */
    int revoked_from;     /* held[revoked_from..n) were taken back: drop their results */
    double started;       /* when held[pos] began (chunk sent or previous result) */
    uint32_t epoch;       /* ok results so far */
    int unresolved;       /* this epoch's failed attempts not yet judged */
    int against;          /* this epoch's failed attempts judged to be the rank's fault */
    bool done;            /* told to stop, or left */
    bool parked;          /* asked while nothing was free: answered later */
    bool suspended;       /* max_streak failures in a row: no fresh pairs until judged */
    bool excluded;        /* max_streak failures held against it: no more work */
    bool hung;            /* a pair ran past the timeout: written off */
    bool lost;            /* died */
    bool got_static;      /* static chunking: its block was handed out */
};

struct fail { int rank; uint32_t epoch; };
struct pfail {            /* a pair with failed attempts and no final verdict yet */
    struct fail *f;       /* failures still in their rank's streak */
    int n, cap;
    char *record;         /* the latest failed record */
};
struct retry { int32_t pair; int last_rank; /* -1: given back uncharged */ };

struct sched_master {
    const struct sched_catalog *cat;
    const struct sched_plan *plan;
    struct sched_master_opts o;
    int first;            /* first worker rank */
    struct mrank *r;      /* [world] */
    int live;             /* workers neither done, hung, excluded nor lost */
    int active;           /* workers neither done, hung nor lost (still to be stopped) */
    int in_flight;        /* pairs held and unanswered by ranks that may answer */
    struct sched_queue q;
    uint8_t *attempts;    /* [n_pairs] failed attempts per catalog pair (saturating) */
    int32_t *pf_of;       /* [n_pairs] index into pf, -1 none */
    struct pfail *pf;
    int n_pf, cap_pf;
    int32_t *pf_free;     /* reusable pf slots */
    int n_pf_free, cap_pf_free;
    struct retry *rq;     /* pairs waiting for another attempt, oldest first */
    int n_rq, cap_rq;
    int32_t *parked;      /* ranks waiting for an answer */
    int n_parked;
    bool draining, hung_abort;
    /* actions of the current event, and the strings they point to */
    struct sched_action *acts;
    int n_acts, cap_acts, next_act;
    char **strs;
    int n_strs, cap_strs;
    struct sched_master_stats st;
};

static void *xgrow(void *p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return p;
    int c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = tryon_xrealloc(p, (size_t)c * elem);
    *cap = c;
    return q;
}

/* ---- actions ---- */
static char *keep_str(struct sched_master *m, char *s)
{
    m->strs = xgrow(m->strs, &m->cap_strs, m->n_strs + 1, sizeof *m->strs);
    m->strs[m->n_strs++] = s;
    return s;
}

static struct sched_action *act(struct sched_master *m, enum sched_act_kind kind, int rank)
{
    m->acts = xgrow(m->acts, &m->cap_acts, m->n_acts + 1, sizeof *m->acts);
    struct sched_action *a = &m->acts[m->n_acts++];
    *a = (struct sched_action){kind, rank, NULL, 0, -1, false, NULL};
    return a;
}

static char *fmt(struct sched_master *m, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(struct sched_master *m, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, f, ap);
    char *s = tryon_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, f, aq);
    va_end(aq);
    va_end(ap);
    return keep_str(m, s);
}

/* A new event: the previous event's actions and strings are gone. */
static void begin_event(struct sched_master *m)
{
    for (int i = 0; i < m->n_strs; i++)
        free(m->strs[i]);
    m->n_strs = m->n_acts = m->next_act = 0;
    m->st.events++;
}

bool sched_master_action(struct sched_master *m, struct sched_action *a)
{
    if (m->next_act >= m->n_acts)
        return false;
    *a = m->acts[m->next_act++];
    return true;
}

/* ---- ranks ---- */
static bool is_worker(const struct sched_master *m, int rank) { return rank >= m->first && rank < m->o.world; }
static bool rank_live(const struct mrank *r) { return !r->done && !r->hung && !r->excluded && !r->lost; }
static int rank_pending(const struct mrank *r)
{
    return r->hung || r->lost || r->pos >= r->revoked_from ? 0 : r->revoked_from - r->pos;
}

static const char *pair_id(const struct sched_master *m, int idx, int which)
{
    const struct sched_pair *p = &m->cat->pairs[idx];
    return which == 0 ? m->cat->persons[p->person].id : m->cat->garments[p->garment].id;
}

/* A failed record made by the master itself (timeout, lost rank, unusable result). */
static char *failed_record(struct sched_master *m, int idx, int rank, const char *error)
{
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "person"); json_str(&w, pair_id(m, idx, 0));
    json_key(&w, "garment"); json_str(&w, pair_id(m, idx, 1));
    json_key(&w, "status"); json_str(&w, "failed");
    json_key(&w, "fault"); json_str(&w, "rank");
    json_key(&w, "error"); json_str(&w, error);
    json_key(&w, "output"); json_str(&w, NULL);
    json_key(&w, "sha256"); json_str(&w, NULL);
    json_key(&w, "bytes"); json_int(&w, 0);
    json_key(&w, "rank"); json_int(&w, rank);
    json_obj_end(&w);
    return w.buf; /* the caller owns it */
}

/* ---- per-pair failure history ---- */
static struct pfail *pf_get(struct sched_master *m, int idx, bool create)
{
    if (m->pf_of[idx] >= 0)
        return &m->pf[m->pf_of[idx]];
    if (!create)
        return NULL;
    int slot;
    if (m->n_pf_free)
        slot = m->pf_free[--m->n_pf_free];
    else {
        m->pf = xgrow(m->pf, &m->cap_pf, m->n_pf + 1, sizeof *m->pf);
        slot = m->n_pf++;
    }
    m->pf[slot] = (struct pfail){0};
    m->pf_of[idx] = slot;
    return &m->pf[slot];
}

static void pf_drop(struct sched_master *m, int idx)
{
    int slot = m->pf_of[idx];
    if (slot < 0)
        return;
    free(m->pf[slot].f);
    free(m->pf[slot].record);
    m->pf[slot] = (struct pfail){0};
    m->pf_of[idx] = -1;
    m->pf_free = xgrow(m->pf_free, &m->cap_pf_free, m->n_pf_free + 1, sizeof *m->pf_free);
    m->pf_free[m->n_pf_free++] = slot;
}

static void revoke(struct sched_master *m, int rank, int from);

/* Suspend, exclude or release rank after its counts changed. */
static void judge_rank(struct sched_master *m, int rank)
{
    struct mrank *r = &m->r[rank];
    if (!rank_live(r))
        return;
    int streak = r->unresolved + r->against;
    if (r->against >= m->o.max_streak) {
        r->excluded = true;
        m->live--;
        if (r->suspended)
            m->st.suspended_now--;
        r->suspended = false;
        m->st.excluded++;
        act(m, SCHED_ACT_EXCLUDE, rank)->text =
            fmt(m, "rank %d failed %d pairs in a row that then succeeded on other ranks; it gets no more work", rank,
                r->against);
        revoke(m, rank, r->pos);
    } else if (streak >= m->o.max_streak && !r->suspended && m->live > 1) {
        r->suspended = true;
        m->st.suspended_now++;
        act(m, SCHED_ACT_EXCLUDE, rank)->text =
            fmt(m, "rank %d failed %d pairs in a row; it gets no new pairs until their retries on other ranks "
                   "show whether the rank or the pairs are at fault", rank, streak);
        revoke(m, rank, r->pos);
    } else if (r->suspended && (streak < m->o.max_streak || m->live <= 1)) {
        r->suspended = false;
        m->st.suspended_now--;
        act(m, SCHED_ACT_NOTE, rank)->text = fmt(m, "rank %d gets new pairs again (%s)", rank,
                                                 streak < m->o.max_streak ? "its failed pairs failed elsewhere too"
                                                                          : "no other rank is left");
    }
}

/* Give a verdict on every failure of pair idx still in a streak: against the rank it
 * happened on (the pair then succeeded on another rank), or not (the pair's fault). */
static void pf_judge(struct sched_master *m, int idx, int ok_rank)
{
    struct pfail *p = pf_get(m, idx, false);
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        struct mrank *r = &m->r[p->f[i].rank];
        if (r->epoch != p->f[i].epoch)
            continue; /* an ok on that rank since: out of its streak already */
        r->unresolved--;
        if (ok_rank >= 0 && p->f[i].rank != ok_rank)
            r->against++;
    }
    for (int i = 0; i < p->n; i++)
        judge_rank(m, p->f[i].rank);
    p->n = 0;
}

/* ---- journal and retries ---- */
static void journal(struct sched_master *m, int idx, const char *line, bool ok)
{
    int attempts = m->attempts[idx] + (ok ? 1 : 0);
    size_t len = strlen(line);
    char *text;
    if (attempts > 1 && len > 2 && line[len - 1] == '}')
        text = fmt(m, "%.*s,\"attempts\":%d}", (int)(len - 1), line, attempts);
    else
        text = keep_str(m, tryon_xstrdup(line));
    struct sched_action *a = act(m, SCHED_ACT_JOURNAL, -1);
    a->pair = idx;
    a->ok = ok;
    a->text = text;
    m->st.journaled++;
    pf_drop(m, idx);
}

static void push_retry(struct sched_master *m, int idx, int last_rank)
{
    m->rq = xgrow(m->rq, &m->cap_rq, m->n_rq + 1, sizeof *m->rq);
    m->rq[m->n_rq++] = (struct retry){idx, last_rank};
}

/* Take back rank's unanswered pairs from position `from` on; not charged as attempts. */
static void revoke(struct sched_master *m, int rank, int from)
{
    struct mrank *r = &m->r[rank];
    if (from >= r->revoked_from)
        return;
    int before = rank_pending(r);
    for (int i = from; i < r->revoked_from; i++)
        push_retry(m, r->held[i], -1);
    r->revoked_from = from;
    m->in_flight += rank_pending(r) - before;
}

/* A failed attempt of pair idx on rank (record: the failure). */
static void failed_attempt(struct sched_master *m, int idx, int rank, const char *record)
{
    if (m->attempts[idx] < 255)
        m->attempts[idx]++;
    if (m->draining) {
        pf_judge(m, idx, -1); /* stays pending; nothing learnt about the ranks */
        pf_drop(m, idx);
        return;
    }
    struct pfail *p = pf_get(m, idx, true);
    bool elsewhere = false;
    for (int i = 0; i < p->n; i++)
        elsewhere |= p->f[i].rank != rank;
    if (elsewhere) {
        /* failed on two ranks: the pair's fault, not theirs */
        pf_judge(m, idx, -1);
    } else if (is_worker(m, rank) && rank_live(&m->r[rank])) {
        p->f = xgrow(p->f, &p->cap, p->n + 1, sizeof *p->f);
        p->f[p->n++] = (struct fail){rank, m->r[rank].epoch};
        m->r[rank].unresolved++;
    }
    free(p->record);
    p->record = tryon_xstrdup(record);
    if (m->attempts[idx] <= m->o.retries) {
        push_retry(m, idx, rank);
    } else {
        pf_judge(m, idx, -1);
        journal(m, idx, record, false);
    }
    judge_rank(m, rank);
}

/* ---- handing out work ---- */
/* Rank r takes no more work (told to stop, or it left): out of the active and live counts. */
static void rank_stopped(struct sched_master *m, struct mrank *r)
{
    if (!r->done && !r->hung && !r->lost) {
        m->active--;
        if (rank_live(r))
            m->live--;
        if (r->suspended)
            m->st.suspended_now--;
        r->suspended = false;
    }
    r->done = true;
}

static void send(struct sched_master *m, int rank, const int32_t *pairs, int n)
{
    struct mrank *r = &m->r[rank];
    struct sched_action *a = act(m, SCHED_ACT_SEND, rank);
    m->st.sends++;
    if (r->parked) {
        r->parked = false;
        for (int i = 0; i < m->n_parked; i++)
            if (m->parked[i] == rank) {
                m->parked[i] = m->parked[--m->n_parked];
                break;
            }
    }
    if (n == 0) {
        rank_stopped(m, r);
        return;
    }
    int before = rank_pending(r);
    r->held = xgrow(r->held, &r->cap, n, sizeof *r->held);
    memmove(r->held, pairs, sizeof *pairs * (size_t)n);
    r->n = r->revoked_from = n;
    r->pos = 0;
    m->in_flight += rank_pending(r) - before;
    a->pairs = r->held;
    a->n = n;
}

static void park(struct sched_master *m, int rank)
{
    if (m->r[rank].parked)
        return;
    m->r[rank].parked = true;
    int cap = m->o.world;
    if (!m->parked)
        m->parked = tryon_xmalloc(sizeof *m->parked * (size_t)cap);
    m->parked[m->n_parked++] = rank;
}

/* Answer rank: a retry (not one it failed itself, while others could take it; for a
 * suspended rank only another rank's failure), else fresh pairs unless it is suspended,
 * else park it while pairs may still come back, else stop. */
static void serve(struct sched_master *m, int rank, double now)
{
    struct mrank *r = &m->r[rank];
    if (m->draining || !rank_live(r)) {
        send(m, rank, NULL, 0);
        return;
    }
    int others = m->live - 1;
    if (r->suspended && others == 0)
        judge_rank(m, rank); /* alone now: nobody can judge its failures */
    for (int i = 0; i < m->n_rq; i++) {
        /* a suspended rank only helps judge other ranks' failures */
        int last = m->rq[i].last_rank;
        if (others == 0 || (last != rank && (!r->suspended || last >= 0))) {
            int32_t idx = m->rq[i].pair;
            memmove(m->rq + i, m->rq + i + 1, sizeof *m->rq * (size_t)(m->n_rq - i - 1));
            m->n_rq--;
            r->started = now;
            send(m, rank, &idx, 1);
            return;
        }
    }
    int start = 0, count = 0;
    if (!r->suspended) {
        if (m->o.chunking_static) {
            if (!r->got_static) {
                int64_t n = m->plan->n_todo, w = m->o.world - m->first, k = rank - m->first;
                start = (int)(n * k / w);
                count = (int)(n * (k + 1) / w) - start;
                r->got_static = true;
            }
        } else if (!sched_queue_next(&m->q, &start, &count)) {
            count = 0;
        }
    }
    if (count > 0) {
        r->started = now;
        send(m, rank, m->plan->todo + start, count);
        return;
    }
    bool fresh_left = !m->o.chunking_static && m->q.next < m->q.total;
    if (m->in_flight > 0 || m->n_rq > 0 || (r->suspended && fresh_left))
        park(m, rank);
    else
        send(m, rank, NULL, 0);
}

/* After an event: answer the parked ranks that can be answered now. Serving one rank can
 * give work back (a lone suspended rank is released), so repeat while anything was sent. */
static void serve_parked(struct sched_master *m, double now)
{
    int32_t *list = NULL;
    int cap = 0;
    for (long long sends = -1; m->n_parked > 0 && sends != m->st.sends;) {
        sends = m->st.sends;
        int n = m->n_parked;
        list = xgrow(list, &cap, n, sizeof *list);
        memcpy(list, m->parked, sizeof *list * (size_t)n);
        m->n_parked = 0;
        for (int i = 0; i < n; i++)
            m->r[list[i]].parked = false;
        for (int i = 0; i < n; i++)
            serve(m, list[i], now);
    }
    free(list);
}

/* ---- life cycle ---- */
enum tryon_status sched_master_create(const struct sched_catalog *c, const struct sched_plan *plan,
                                      const struct sched_master_opts *o, struct sched_master **out)
{
    assert(o->world >= 1 && o->retries >= 0 && o->max_streak >= 1 && o->pair_timeout >= 0);
    struct sched_master *m = calloc(1, sizeof *m);
    if (!m)
        return tryon_fail(TRYON_ENOMEM, "scheduler: out of memory");
    size_t np = (size_t)(c->n_pairs > 0 ? c->n_pairs : 1);
    m->cat = c;
    m->plan = plan;
    m->o = *o;
    m->first = o->world > 1 ? 1 : 0;
    m->r = calloc((size_t)o->world, sizeof *m->r);
    m->attempts = calloc(np, 1);
    m->pf_of = malloc(sizeof *m->pf_of * np);
    if (!m->r || !m->attempts || !m->pf_of) {
        sched_master_free(m);
        return tryon_fail(TRYON_ENOMEM, "scheduler: out of memory for %d pairs", c->n_pairs);
    }
    memset(m->pf_of, 0xff, sizeof *m->pf_of * np);
    m->live = m->active = o->world - m->first;
    sched_queue_init(&m->q, plan->n_todo, m->live, 1);
    *out = m;
    return TRYON_OK;
}

void sched_master_free(struct sched_master *m)
{
    if (!m)
        return;
    if (m->r)
        for (int i = 0; i < m->o.world; i++)
            free(m->r[i].held);
    for (int i = 0; i < m->n_pf; i++) {
        free(m->pf[i].f);
        free(m->pf[i].record);
    }
    for (int i = 0; i < m->n_strs; i++)
        free(m->strs[i]);
    free(m->r);
    free(m->attempts);
    free(m->pf_of);
    free(m->pf);
    free(m->pf_free);
    free(m->rq);
    free(m->parked);
    free(m->acts);
    free(m->strs);
    free(m);
}

/* ---- events ---- */
void sched_master_request(struct sched_master *m, int rank, double now)
{
    begin_event(m);
    assert(is_worker(m, rank));
    serve(m, rank, now);
    serve_parked(m, now);
}

/* What a result record says: ok, and whether a failure is final (the input's or the pair's). */
static void read_record(const char *rec, size_t len, bool *parsed, bool *ok, bool *input, char *person,
                        char *garment)
{
    struct json_val *v = NULL;
    *parsed = *ok = *input = false;
    person[0] = garment[0] = 0;
    if (json_parse(rec, len, "record", &v) == TRYON_OK && v->type == JSON_OBJ) {
        const char *st = json_get_str(v, "status"), *fault = json_get_str(v, "fault");
        const char *p = json_get_str(v, "person"), *g = json_get_str(v, "garment");
        if (st && p && g && strlen(p) <= SCHED_ID_MAX && strlen(g) <= SCHED_ID_MAX &&
            (!strcmp(st, "ok") || !strcmp(st, "failed"))) {
            *parsed = true;
            *ok = !strcmp(st, "ok");
            *input = !*ok && fault && (!strcmp(fault, "input") || !strcmp(fault, "pair"));
            strcpy(person, p);
            strcpy(garment, g);
        }
    }
    json_free(v);
}

void sched_master_result(struct sched_master *m, int rank, const char *record, size_t len, double now)
{
    begin_event(m);
    assert(is_worker(m, rank));
    struct mrank *r = &m->r[rank];
    if (r->pos >= r->n) {
        act(m, SCHED_ACT_NOTE, rank)->text = fmt(m, "rank %d sent a result for no pair it held; ignored", rank);
        return;
    }
    int before = rank_pending(r);
    int idx = r->held[r->pos];
    bool revoked = r->pos >= r->revoked_from;
    r->pos++;
    r->started = now;
    m->in_flight += rank_pending(r) - before;
    if (!revoked && !r->hung && !r->lost) {
        bool parsed, ok, input;
        char person[SCHED_ID_MAX + 1], garment[SCHED_ID_MAX + 1];
        read_record(record, len, &parsed, &ok, &input, person, garment);
        if (parsed && (strcmp(person, pair_id(m, idx, 0)) || strcmp(garment, pair_id(m, idx, 1))))
            parsed = false;
        if (!parsed) {
            char err[160];
            snprintf(err, sizeof err, "rank %d sent a result that is not this pair's record", rank);
            char *rec = keep_str(m, failed_record(m, idx, rank, err));
            failed_attempt(m, idx, rank, rec);
        } else if (ok) {
            r->epoch++;
            r->unresolved = r->against = 0;
            if (r->suspended) {
                r->suspended = false;
                m->st.suspended_now--;
            }
            pf_judge(m, idx, rank);
            journal(m, idx, record, true);
        } else if (input) {
            /* final whatever the rank: journaled even while draining */
            pf_judge(m, idx, -1);
            if (m->attempts[idx] < 255)
                m->attempts[idx]++;
            journal(m, idx, record, false);
        } else {
            failed_attempt(m, idx, rank, record);
        }
    }
    serve_parked(m, now);
}

void sched_master_leaving(struct sched_master *m, int rank, double now)
{
    begin_event(m);
    assert(is_worker(m, rank));
    struct mrank *r = &m->r[rank];
    if (m->draining) {
        int before = rank_pending(r);
        r->revoked_from = r->pos; /* abandoned: they stay pending */
        m->in_flight += rank_pending(r) - before;
    } else {
        revoke(m, rank, r->pos); /* it left on its own: the others take them */
    }
    rank_stopped(m, r);
    serve_parked(m, now);
}

/* Rank is out (hung or lost): the pair in progress is a failed attempt, the rest go back. */
static void write_off(struct sched_master *m, int rank, const char *why, bool hung)
{
    struct mrank *r = &m->r[rank];
    bool had = r->pos < r->revoked_from;
    int idx = had ? r->held[r->pos] : -1;
    if (had)
        revoke(m, rank, r->pos + 1);
    int before = rank_pending(r);
    if (!r->done) {
        m->active--;
        if (rank_live(r))
            m->live--;
    }
    if (r->suspended)
        m->st.suspended_now--;
    r->suspended = false;
    if (hung) {
        r->hung = true;
        m->st.hung++;
    } else {
        r->lost = true;
        m->st.lost++;
    }
    m->in_flight += rank_pending(r) - before;
    if (m->o.chunking_static && !r->got_static) {
        int64_t n = m->plan->n_todo, w = m->o.world - m->first, k = rank - m->first;
        for (int i = (int)(n * k / w); i < (int)(n * (k + 1) / w); i++)
            push_retry(m, m->plan->todo[i], -1);
        r->got_static = true;
    }
    if (had) {
        char *rec = keep_str(m, failed_record(m, idx, rank, why));
        failed_attempt(m, idx, rank, rec);
    }
}

void sched_master_lost(struct sched_master *m, int rank, double now)
{
    begin_event(m);
    assert(is_worker(m, rank));
    struct mrank *r = &m->r[rank];
    if (!r->lost && !r->hung) {
        int n = rank_pending(r);
        act(m, SCHED_ACT_EXCLUDE, rank)->text = fmt(m, "rank %d was lost while it held %d unfinished pair%s", rank,
                                                    n, n == 1 ? "" : "s");
        char why[96];
        snprintf(why, sizeof why, "rank %d was lost while rendering it", rank);
        write_off(m, rank, why, false);
    }
    serve_parked(m, now);
}

void sched_master_tick(struct sched_master *m, double now)
{
    begin_event(m);
    if (m->o.pair_timeout > 0) {
        for (int rank = m->first; rank < m->o.world; rank++) {
            struct mrank *r = &m->r[rank];
            if (r->done || r->hung || r->lost || r->pos >= r->revoked_from || now - r->started <= m->o.pair_timeout)
                continue;
            int idx = r->held[r->pos];
            char why[160];
            snprintf(why, sizeof why, "timed out: no result within %g s on rank %d", m->o.pair_timeout, rank);
            act(m, SCHED_ACT_EXCLUDE, rank)->text = fmt(m, "%s/%s: %s; rank %d gets no more work",
                                                        pair_id(m, idx, 0), pair_id(m, idx, 1), why, rank);
            write_off(m, rank, why, true);
        }
    }
    serve_parked(m, now);
}

void sched_master_stop(struct sched_master *m, double now)
{
    begin_event(m);
    if (!m->draining) {
        m->draining = true;
        act(m, SCHED_ACT_DRAIN, -1);
    }
    serve_parked(m, now);
}

bool sched_master_finished(const struct sched_master *m) { return m->active == 0; }

void sched_master_finish(struct sched_master *m)
{
    begin_event(m);
    for (int i = 0; i < m->n_rq; i++) {
        int idx = m->rq[i].pair;
        struct pfail *p = pf_get(m, idx, false);
        if (p && p->record && !m->draining)
            journal(m, idx, keep_str(m, tryon_xstrdup(p->record)), false);
    }
    m->n_rq = 0;
    if (m->st.hung)
        act(m, SCHED_ACT_ABORT, -1)->text =
            fmt(m, "%d rank%s did not answer", m->st.hung, m->st.hung == 1 ? "" : "s");
}

int sched_master_held(const struct sched_master *m, int rank, const int32_t **pairs)
{
    const struct mrank *r = &m->r[rank];
    if (!is_worker(m, rank) || r->pos >= r->revoked_from) {
        *pairs = NULL;
        return 0;
    }
    *pairs = r->held + r->pos;
    return r->revoked_from - r->pos;
}

void sched_master_get_stats(const struct sched_master *m, struct sched_master_stats *s) { *s = m->st; }
