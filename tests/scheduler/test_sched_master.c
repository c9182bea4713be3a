/* test_sched_master.c: the master's state machine (scheduler/master.c) without MPI.
 *
 * A small literal script checks the protocol action by action (a streak suspends a rank,
 * the retries' verdicts exclude it or release it). Then a discrete-event simulation drives
 * the master with thousands of events per run: simulated workers (good, failing every pair,
 * hanging, dying) ask for work, render pairs (ok, a bad input photo, a pair that fails
 * everywhere) after a seeded cost, and answer in order; a clock ticks; a stop may come.
 * Every run checks the invariants: each pair journaled at most once (exactly once unless
 * the job was stopped), input failures journaled at once and held against no rank, a
 * healthy rank never excluded, a rank failing everything excluded when another rank can
 * prove it, attempts within --retries, the same script giving the same actions.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "scheduler/scheduler.h"

/* ---- an in-memory catalog of np persons x ng garments ---- */
struct cat {
    struct sched_catalog c;
    struct sched_plan plan;
    char ids[2][512][16];
};

static void cat_make(struct cat *k, int np, int ng)
{
    memset(k, 0, sizeof *k);
    k->c.persons = calloc((size_t)np, sizeof *k->c.persons);
    k->c.garments = calloc((size_t)ng, sizeof *k->c.garments);
    k->c.pairs = calloc((size_t)np * ng, sizeof *k->c.pairs);
    k->plan.todo = calloc((size_t)np * ng, sizeof *k->plan.todo);
    for (int i = 0; i < np; i++) {
        snprintf(k->ids[0][i], 16, "p%d", i);
        k->c.persons[i].id = k->ids[0][i];
    }
    for (int j = 0; j < ng; j++) {
        snprintf(k->ids[1][j], 16, "g%d", j);
        k->c.garments[j].id = k->ids[1][j];
    }
    k->c.n_persons = np;
    k->c.n_garments = ng;
    for (int i = 0; i < np; i++)
        for (int j = 0; j < ng; j++) {
            int idx = i * ng + j;
            k->c.pairs[idx] = (struct sched_pair){i, j};
            k->plan.todo[k->plan.n_todo++] = idx;
        }
    k->c.n_pairs = np * ng;
    k->c.path = "test.yaml";
}

static void cat_free(struct cat *k)
{
    free(k->c.persons);
    free(k->c.garments);
    free(k->c.pairs);
    free(k->plan.todo);
}

static void record(const struct cat *k, int idx, int rank, const char *status, const char *fault, char *out,
                   size_t cap)
{
    const struct sched_pair *p = &k->c.pairs[idx];
    snprintf(out, cap, "{\"person\":\"%s\",\"garment\":\"%s\",\"status\":\"%s\",\"fault\":%s%s%s,\"rank\":%d}",
             k->c.persons[p->person].id, k->c.garments[p->garment].id, status, fault ? "\"" : "",
             fault ? fault : "null", fault ? "\"" : "", rank);
}

/* ---- the literal script ---- */
struct lit {
    char log[64][256];   /* the actions of the last event, as text */
    int n;
};

static void drain_actions(struct sched_master *m, struct lit *l)
{
    struct sched_action a;
    l->n = 0;
    while (sched_master_action(m, &a) && l->n < 64) {
        char *s = l->log[l->n++];
        switch (a.kind) {
        case SCHED_ACT_SEND: {
            int at = snprintf(s, 256, "send %d:", a.rank);
            for (int i = 0; i < a.n && at < 200; i++)
                at += snprintf(s + at, (size_t)(256 - at), " %d", a.pairs[i]);
            break;
        }
        case SCHED_ACT_JOURNAL: snprintf(s, 256, "journal %d %s", a.pair, a.text); break;
        case SCHED_ACT_EXCLUDE: snprintf(s, 256, "exclude %d %s", a.rank, a.text); break;
        case SCHED_ACT_DRAIN: snprintf(s, 256, "drain"); break;
        case SCHED_ACT_ABORT: snprintf(s, 256, "abort %s", a.text); break;
        case SCHED_ACT_NOTE: snprintf(s, 256, "note %d %s", a.rank, a.text); break;
        }
    }
}

static bool has(const struct lit *l, const char *needle)
{
    for (int i = 0; i < l->n; i++)
        if (strstr(l->log[i], needle))
            return true;
    return false;
}

/* Results of pairs first..last from rank, in order, at time t; l holds the last event's actions. */
static void results(struct sched_master *m, const struct cat *k, int rank, int first, int last, const char *status,
                    const char *fault, double t, struct lit *l)
{
    char rec[256];
    for (int idx = first; idx <= last; idx++) {
        record(k, idx, rank, status, fault, rec, sizeof rec);
        sched_master_result(m, rank, rec, strlen(rec), t);
        drain_actions(m, l);
    }
}

/* Three workers; rank 1 fails its first pairs; the retries on ranks 2 and 3 decide. */
static void test_literal(void)
{
    struct cat k;
    cat_make(&k, 4, 6); /* 24 pairs */
    struct sched_master_opts o = {.world = 4, .retries = 1, .max_streak = 3};
    struct sched_master *m;
    CHECK(sched_master_create(&k.c, &k.plan, &o, &m) == TRYON_OK);
    struct lit l;
    char rec[256];
    sched_master_request(m, 1, 0.0);
    drain_actions(m, &l);
    /* guided: ceil(24 / (2 * 3)) = 4 pairs */
    CHECK_EQ_INT(l.n, 1);
    CHECK_STR(l.log[0], "send 1: 0 1 2 3");
    sched_master_request(m, 2, 0.0);
    drain_actions(m, &l);
    CHECK_STR(l.log[0], "send 2: 4 5 6 7"); /* ceil(20 / 6) = 4 */
    sched_master_request(m, 3, 0.0);
    drain_actions(m, &l);
    CHECK_STR(l.log[0], "send 3: 8 9 10"); /* ceil(16 / 6) = 3 */
    /* an input failure: journaled at once, attempts 1, not held against rank 1 */
    record(&k, 0, 1, "failed", "input", rec, sizeof rec);
    sched_master_result(m, 1, rec, strlen(rec), 1.0);
    drain_actions(m, &l);
    CHECK_EQ_INT(l.n, 1);
    CHECK(has(&l, "journal 0 {\"person\":\"p0\",\"garment\":\"g0\",\"status\":\"failed\",\"fault\":\"input\""));
    CHECK(!strstr(l.log[0], "attempts"));
    /* three other failures in a row: rank 1 is suspended, its last pair goes back */
    results(m, &k, 1, 1, 3, "failed", "render", 2.0, &l);
    CHECK(has(&l, "exclude 1 rank 1 failed 3 pairs in a row; it gets no new pairs"));
    struct sched_master_stats st;
    sched_master_get_stats(m, &st);
    CHECK_EQ_INT(st.suspended_now, 1);
    /* rank 1 asks: only retries of other ranks' failures could go to it: none, it is parked */
    sched_master_request(m, 1, 5.0);
    drain_actions(m, &l);
    CHECK_EQ_INT(l.n, 0);
    /* rank 2 finishes pair 4 and asks: it gets rank 1's failed pair 1 (retries first) */
    results(m, &k, 2, 4, 4, "ok", NULL, 5.0, &l);
    CHECK(has(&l, "journal 4 "));
    results(m, &k, 2, 5, 7, "ok", NULL, 6.0, &l);
    sched_master_request(m, 2, 13.0);
    drain_actions(m, &l);
    CHECK_STR(l.log[0], "send 2: 1");
    /* pair 1 fails on rank 2 as well: the pair's fault; rank 1's streak drops to 2, it is
       released and (parked) gets fresh pairs */
    record(&k, 1, 2, "failed", "drape", rec, sizeof rec);
    sched_master_result(m, 2, rec, strlen(rec), 14.0);
    drain_actions(m, &l);
    CHECK(has(&l, "journal 1 "));
    CHECK(has(&l, "\"attempts\":2}"));
    CHECK(has(&l, "note 1 rank 1 gets new pairs again"));
    /* its own failures 2 and 3 wait for another rank; it gets fresh pairs: ceil(13 / 6) */
    CHECK(has(&l, "send 1: 11 12 13"));
    /* rank 3 takes pair 2 after its chunk and it succeeds: held against rank 1 */
    results(m, &k, 3, 8, 10, "ok", NULL, 20.0, &l);
    sched_master_request(m, 3, 30.0);
    drain_actions(m, &l);
    CHECK_STR(l.log[0], "send 3: 2");
    record(&k, 2, 3, "ok", NULL, rec, sizeof rec);
    sched_master_result(m, 3, rec, strlen(rec), 31.0);
    drain_actions(m, &l);
    CHECK(has(&l, "journal 2 "));
    CHECK(has(&l, "\"attempts\":2}"));
    sched_master_get_stats(m, &st);
    CHECK_EQ_INT(st.excluded, 0); /* one failure held against it, not three */
    /* a stop: requests are answered with stop, a failure stays pending */
    sched_master_stop(m, 32.0);
    drain_actions(m, &l);
    CHECK(has(&l, "drain"));
    record(&k, 11, 1, "failed", "render", rec, sizeof rec);
    sched_master_result(m, 1, rec, strlen(rec), 33.0);
    drain_actions(m, &l);
    CHECK_EQ_INT(l.n, 0);
    sched_master_leaving(m, 1, 33.0);
    sched_master_request(m, 2, 33.0);
    sched_master_request(m, 3, 33.0);
    drain_actions(m, &l);
    CHECK(has(&l, "send 3:") && l.n == 1);
    CHECK(sched_master_finished(m));
    sched_master_free(m);
    cat_free(&k);
}

/* ---- the simulation ---- */
enum wkind { W_GOOD, W_BAD, W_HANG, W_LOST };
struct sim_worker {
    enum wkind kind;
    double at;           /* W_HANG / W_LOST: when */
    int32_t q[4096];     /* pairs sent, in order */
    int nq, iq;
    double next;         /* time of its next message; < 0: nothing scheduled */
    bool waiting, stopped, gone, left;
};
struct sim {
    int world, retries, pairs;
    bool chunk_static;
    double timeout, stop_at;
    uint8_t *input_bad, *flaky; /* per pair: fails with fault input / fails everywhere */
    int *interrupted;   /* per pair: times it was in progress on a rank that hung or died */
    int workers_out;    /* excluded, hung or lost at the end */
    struct sim_worker w[16];
    /* observations */
    int *journaled, *attempts;
    char *status;       /* 'o' ok, 'f' failed */
    bool excluded_for_good[16], fresh_after_exclusion, aborted, drained;
    long long events;
    uint64_t digest;    /* of every action, for the determinism check */
};

static uint64_t mix(uint64_t h, uint64_t v) { return hash_mix64(h ^ (v + 0x9e3779b97f4a7c15ULL)); }

static double pair_cost(int idx) { return 0.2 + (double)(hash_mix64((uint64_t)idx * 31 + 7) % 1000) / 1000.0; }

static void sim_actions(struct sim *s, struct sched_master *m, double now)
{
    struct sched_action a;
    while (sched_master_action(m, &a)) {
        s->digest = mix(s->digest, (uint64_t)a.kind * 131 + (uint64_t)(a.rank + 1));
        switch (a.kind) {
        case SCHED_ACT_SEND: {
            struct sim_worker *w = &s->w[a.rank];
            CHECK(w->waiting);
            w->waiting = false;
            if (a.n == 0) {
                w->stopped = true;
                break;
            }
            if (s->excluded_for_good[a.rank])
                s->fresh_after_exclusion = true;
            CHECK(a.n <= 4096);
            memcpy(w->q, a.pairs, sizeof *a.pairs * (size_t)a.n);
            w->nq = a.n;
            w->iq = 0;
            w->next = now + pair_cost(w->q[0]);
            for (int i = 0; i < a.n; i++)
                s->digest = mix(s->digest, (uint64_t)a.pairs[i]);
            break;
        }
        case SCHED_ACT_JOURNAL: {
            s->journaled[a.pair]++;
            const char *at = strstr(a.text, "\"attempts\":");
            s->attempts[a.pair] = at ? atoi(at + 11) : 1;
            s->status[a.pair] = a.ok ? 'o' : 'f';
            CHECK(a.ok == (strstr(a.text, "\"status\":\"ok\"") != NULL));
            s->digest = mix(s->digest, hash64(a.text, strlen(a.text), 1));
            break;
        }
        case SCHED_ACT_EXCLUDE:
            if (strstr(a.text, "it gets no more work") && a.rank > 0 && !strstr(a.text, "timed out"))
                s->excluded_for_good[a.rank] = true;
            break;
        case SCHED_ACT_ABORT: s->aborted = true; break;
        case SCHED_ACT_DRAIN: s->drained = true; break;
        case SCHED_ACT_NOTE: break;
        }
    }
}

/* Run the simulation to its end; returns the master's stats. */
static void sim_run(struct sim *s, struct sched_master_stats *st)
{
    struct cat k;
    int ng = 20;
    cat_make(&k, (s->pairs + ng - 1) / ng, ng);
    k.plan.n_todo = k.c.n_pairs = s->pairs;
    s->journaled = calloc((size_t)s->pairs, sizeof *s->journaled);
    s->attempts = calloc((size_t)s->pairs, sizeof *s->attempts);
    s->status = calloc((size_t)s->pairs, 1);
    struct sched_master_opts o = {.world = s->world, .retries = s->retries, .pair_timeout = s->timeout,
                                  .chunking_static = s->chunk_static, .max_streak = 3};
    struct sched_master *m;
    CHECK(sched_master_create(&k.c, &k.plan, &o, &m) == TRYON_OK);
    int first = s->world > 1 ? 1 : 0;
    for (int r = first; r < s->world; r++) {
        s->w[r].next = 0.001 * r; /* first request */
        s->w[r].waiting = false;
    }
    double now = 0, next_tick = 0.5;
    bool stop_sent = false;
    char rec[512];
    while (!sched_master_finished(m) && now < 1e5) {
        /* the earliest message of a worker, else the tick */
        int who = -1;
        for (int r = first; r < s->world; r++) {
            struct sim_worker *w = &s->w[r];
            if (w->gone || w->stopped || w->left || w->next < 0)
                continue;
            if (who < 0 || w->next < s->w[who].next)
                who = r;
        }
        double t = who >= 0 && s->w[who].next < next_tick ? s->w[who].next : next_tick;
        if (s->stop_at > 0 && !stop_sent && s->stop_at <= t) {
            now = s->stop_at;
            stop_sent = true;
            sched_master_stop(m, now);
            s->events++;
            sim_actions(s, m, now);
            continue;
        }
        now = t;
        if (who < 0 || s->w[who].next > next_tick) {
            next_tick += 0.5;
            sched_master_tick(m, now);
            s->events++;
            sim_actions(s, m, now);
            CHECK(next_tick < 1e5);
            continue;
        }
        struct sim_worker *w = &s->w[who];
        if ((w->kind == W_HANG || w->kind == W_LOST) && now >= w->at) {
            w->gone = true;
            if (w->iq < w->nq && !w->waiting)
                s->interrupted[w->q[w->iq]]++;
            if (w->kind == W_LOST) {
                sched_master_lost(m, who, now);
                s->events++;
                sim_actions(s, m, now);
            }
            continue;
        }
        if (w->iq >= w->nq) {
            /* nothing held: ask (or, stopping, the master answers stop) */
            w->waiting = true;
            w->next = -1;
            sched_master_request(m, who, now);
        } else {
            int idx = w->q[w->iq++];
            bool ok = w->kind != W_BAD && !s->input_bad[idx] && !s->flaky[idx];
            record(&k, idx, who, ok ? "ok" : "failed",
                   ok ? NULL : s->input_bad[idx] ? "input" : w->kind == W_BAD ? "rank" : "drape", rec, sizeof rec);
            sched_master_result(m, who, rec, strlen(rec), now);
            if (stop_sent && w->iq < w->nq) {
                /* a worker stopping on the signal abandons the rest of its chunk */
                s->events++;
                sim_actions(s, m, now);
                sched_master_leaving(m, who, now);
                w->left = true;
            }
            w->next = w->iq < w->nq ? now + pair_cost(w->q[w->iq]) : now;
        }
        s->events++;
        sim_actions(s, m, now);
    }
    CHECK(sched_master_finished(m));
    sched_master_finish(m);
    sim_actions(s, m, now);
    sched_master_get_stats(m, st);
    s->workers_out = st->excluded + st->hung + st->lost;
    sched_master_free(m);
    cat_free(&k);
}

static void sim_free(struct sim *s)
{
    free(s->journaled);
    free(s->attempts);
    free(s->status);
    free(s->input_bad);
    free(s->flaky);
    free(s->interrupted);
}

static void sim_init(struct sim *s, int world, int pairs, int retries)
{
    memset(s, 0, sizeof *s);
    s->world = world;
    s->pairs = pairs;
    s->retries = retries;
    s->input_bad = calloc((size_t)pairs, 1);
    s->flaky = calloc((size_t)pairs, 1);
    s->interrupted = calloc((size_t)pairs, sizeof *s->interrupted);
}

/* The invariants every run keeps. */
static void sim_check(const struct sim *s, const char *what)
{
    bool stopped = s->stop_at > 0;
    int bad_input = 0, pending = 0;
    for (int i = 0; i < s->pairs; i++) {
        CHECK_MSG(s->journaled[i] <= 1, "%s: pair %d journaled %d times", what, i, s->journaled[i]);
        if (!s->journaled[i]) {
            pending++;
            continue;
        }
        CHECK_MSG(s->attempts[i] >= 1 && s->attempts[i] <= s->retries + 1, "%s: pair %d attempts %d", what, i,
                  s->attempts[i]);
        if (s->input_bad[i]) {
            bad_input++;
            /* an interrupted attempt is charged unless the master had taken the pair back */
            CHECK_MSG(s->status[i] == 'f' && s->attempts[i] >= 1 && s->attempts[i] <= 1 + s->interrupted[i],
                      "%s: bad input %d failed once (%c %d)", what, i, s->status[i], s->attempts[i]);
        }
        if (s->flaky[i])
            CHECK_MSG(s->status[i] == 'f', "%s: pair %d fails everywhere", what, i);
    }
    /* pairs stay pending after a stop, or when no worker is left to take them */
    int workers = s->world > 1 ? s->world - 1 : 1;
    if (!stopped && s->workers_out < workers)
        CHECK_MSG(pending == 0, "%s: %d pairs never journaled", what, pending);
    for (int r = 1; r < s->world; r++)
        if (s->w[r].kind == W_GOOD)
            CHECK_MSG(!s->excluded_for_good[r], "%s: healthy rank %d excluded", what, r);
    CHECK_MSG(!s->fresh_after_exclusion, "%s: an excluded rank got work", what);
    (void)bad_input;
}

static void test_all_good(bool chunk_static)
{
    struct sim s;
    sim_init(&s, 9, 2000, 1);
    s.chunk_static = chunk_static;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, chunk_static ? "good/static" : "good/guided");
    for (int i = 0; i < s.pairs; i++)
        CHECK(s.status[i] == 'o' && s.attempts[i] == 1);
    CHECK(st.events > 2000);
    CHECK_EQ_INT(st.excluded + st.hung + st.lost, 0);
    sim_free(&s);
}

/* The issue: a few bad photos must not take healthy workers out. */
static void test_bad_inputs(void)
{
    struct sim s;
    sim_init(&s, 4, 600, 1);
    /* persons 0, 3 and 7 are unreadable: 60 failed pairs, 20 of them in a row per person */
    for (int i = 0; i < s.pairs; i++)
        s.input_bad[i] = i / 20 == 0 || i / 20 == 3 || i / 20 == 7;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "bad inputs");
    CHECK_EQ_INT(st.excluded, 0);
    int ok = 0;
    for (int i = 0; i < s.pairs; i++)
        ok += s.status[i] == 'o';
    CHECK_EQ_INT(ok, 540);
    sim_free(&s);
}

/* Pairs that fail on every rank (not input faults): retried, then failed; nobody excluded. */
static void test_flaky_pairs(void)
{
    struct sim s;
    sim_init(&s, 5, 800, 2);
    for (int i = 0; i < s.pairs; i++)
        s.flaky[i] = hash_mix64((uint64_t)i) % 4 == 0 || (i >= 100 && i < 140);
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "flaky pairs");
    CHECK_EQ_INT(st.excluded, 0);
    for (int i = 0; i < s.pairs; i++)
        if (s.flaky[i])
            CHECK_MSG(s.attempts[i] == 3, "flaky pair %d: %d attempts", i, s.attempts[i]);
    sim_free(&s);
}

/* A rank that fails every pair is excluded once the retries succeed elsewhere. */
static void test_bad_rank(int retries)
{
    struct sim s;
    sim_init(&s, 5, 1000, retries);
    s.w[2].kind = W_BAD;
    for (int i = 0; i < s.pairs; i++)
        s.input_bad[i] = i % 97 == 5;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "bad rank");
    int ok = 0, retried = 0, fail = 0;
    for (int i = 0; i < s.pairs; i++) {
        ok += s.status[i] == 'o';
        fail += s.status[i] == 'f' && !s.input_bad[i];
        retried += s.status[i] == 'o' && s.attempts[i] == 2;
    }
    if (retries) {
        CHECK(s.excluded_for_good[2]);
        CHECK_EQ_INT(st.excluded, 1);
        CHECK_EQ_INT(fail, 0);
        CHECK_EQ_INT(retried, 3); /* the streak that suspended it, then excluded it */
    } else {
        /* no retry can prove anything: its pairs stay failed, it is not excluded */
        CHECK(!s.excluded_for_good[2]);
        CHECK(fail > 0);
        CHECK_EQ_INT(retried, 0);
    }
    sim_free(&s);
}

/* Every rank fails every pair (a full shared disk): nobody can be blamed. */
static void test_all_bad(void)
{
    struct sim s;
    sim_init(&s, 4, 300, 1);
    for (int r = 1; r < 4; r++)
        s.w[r].kind = W_BAD;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "all bad");
    CHECK_EQ_INT(st.excluded, 0);
    for (int i = 0; i < s.pairs; i++)
        CHECK(s.status[i] == 'f' && s.attempts[i] == 2);
    sim_free(&s);
}

static void test_hang_and_loss(void)
{
    struct sim s;
    sim_init(&s, 6, 1500, 1);
    s.timeout = 5.0;
    s.w[3].kind = W_HANG;
    s.w[3].at = 40.0;
    s.w[4].kind = W_LOST;
    s.w[4].at = 60.0;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "hang and loss");
    CHECK_EQ_INT(st.hung, 1);
    CHECK_EQ_INT(st.lost, 1);
    CHECK(s.aborted); /* a hung rank never finalizes */
    for (int i = 0; i < s.pairs; i++)
        CHECK(s.status[i] == 'o');
    sim_free(&s);
}

static void test_stop(bool chunk_static)
{
    struct sim s;
    sim_init(&s, 5, 2000, 1);
    s.chunk_static = chunk_static;
    s.stop_at = 150.0;
    for (int i = 0; i < s.pairs; i++)
        s.flaky[i] = i % 50 == 1;
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "stop");
    CHECK(s.drained);
    int done = 0;
    for (int i = 0; i < s.pairs; i++)
        done += s.journaled[i];
    CHECK(done > 100 && done < 2000);
    sim_free(&s);
}

/* One rank alone renders everything itself, retrying in place. */
static void test_single(void)
{
    struct sim s;
    sim_init(&s, 1, 300, 2);
    s.w[0].kind = W_GOOD;
    for (int i = 0; i < s.pairs; i++) {
        s.flaky[i] = i % 10 == 3;
        s.input_bad[i] = i % 10 == 4;
    }
    struct sched_master_stats st;
    sim_run(&s, &st);
    sim_check(&s, "single");
    for (int i = 0; i < s.pairs; i++)
        if (s.flaky[i])
            CHECK(s.attempts[i] == 3);
    CHECK_EQ_INT(st.excluded, 0);
    sim_free(&s);
}

/* Random mixtures: the invariants hold, and the same script gives the same actions. */
static void test_random(void)
{
    long long events = 0;
    for (int seed = 1; seed <= 40; seed++) {
        uint64_t d[2];
        for (int rep = 0; rep < 2; rep++) {
            uint64_t h = hash_mix64((uint64_t)seed);
            struct sim s;
            int world = 2 + (int)(h % 9);
            sim_init(&s, world, 100 + (int)((h >> 8) % 900), (int)((h >> 20) % 3));
            s.chunk_static = (h >> 24) & 1;
            s.timeout = (h >> 25) & 1 ? 4.0 : 0;
            s.stop_at = (h >> 26) % 4 == 0 ? 30.0 + (double)((h >> 28) % 100) : 0;
            for (int r = 1; r < world; r++) {
                uint64_t x = hash_mix64(h + (uint64_t)r);
                s.w[r].kind = x % 7 == 0 ? W_BAD : x % 7 == 1 && s.timeout > 0 ? W_HANG : x % 7 == 2 ? W_LOST : W_GOOD;
                s.w[r].at = 5.0 + (double)((x >> 8) % 100);
            }
            for (int i = 0; i < s.pairs; i++) {
                uint64_t x = hash_mix64(h ^ (uint64_t)i * 977);
                s.input_bad[i] = x % 23 == 0;
                s.flaky[i] = x % 29 == 1;
            }
            struct sched_master_stats st;
            sim_run(&s, &st);
            char what[32];
            snprintf(what, sizeof what, "random %d", seed);
            sim_check(&s, what);
            /* with a healthy rank alive to the end and no stop, every good pair is ok */
            bool healthy = false, bad = false;
            for (int r = 1; r < world; r++) {
                healthy |= s.w[r].kind == W_GOOD;
                bad |= s.w[r].kind == W_BAD;
            }
            if (healthy && !bad && s.stop_at == 0)
                for (int i = 0; i < s.pairs; i++)
                    if (!s.input_bad[i] && !s.flaky[i] && s.retries > 0 && s.status[i] != 'o')
                        CHECK_MSG(false, "%s: good pair %d not ok", what, i);
            d[rep] = s.digest;
            events += s.events;
            sim_free(&s);
        }
        CHECK_MSG(d[0] == d[1], "random %d: the same script gave other actions", seed);
    }
    CHECK(events > 20000);
}

int main(void)
{
    test_literal();
    test_all_good(false);
    test_all_good(true);
    test_bad_inputs();
    test_flaky_pairs();
    test_bad_rank(1);
    test_bad_rank(0);
    test_all_bad();
    test_hang_and_loss();
    test_stop(false);
    test_stop(true);
    test_single();
    test_random();
    return check_result("test_sched_master");
}
