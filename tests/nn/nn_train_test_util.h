/* nn_train_test_util.h: what test_nn_train.c and test_nn_gan.c share: files under the
 * test's scratch folder `root`, and W = 2 ranks as threads over an in-process nn_comm (sums
 * in rank order, like a fixed MPI reduction) running nn_train_run. Header-only (static), as
 * nn_test_util.h. */
#ifndef TRYON_NN_TRAIN_TEST_UTIL_H
#define TRYON_NN_TRAIN_TEST_UTIL_H

#include "nn_test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char root[512];   /* the test's scratch folder */

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", root, rel);
}

static void write_text(const char *rel, const char *text)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    CHECK(fs_mkdirs_parent(p) == TRYON_OK);
    CHECK(fs_write_atomic(p, text, strlen(text)) == TRYON_OK);
}

static struct nn_train_cfg *load_cfg(const char *rel)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    struct nn_train_cfg *c = NULL;
    enum tryon_status s = nn_train_cfg_load(p, &c);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    return c;
}

static uint8_t *read_file(const char *rel, size_t *len)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    uint8_t *d = NULL;
    *len = 0;
    if (fs_read_all(p, 0, &d, len) != TRYON_OK)
        return NULL;
    return d;
}

static inline bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *da = read_file(a, &la), *db = read_file(b, &lb);
    bool same = da && db && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static inline bool exists(const char *rel)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    return fs_exists(p);
}

/* ----- 2 ranks over threads ----------------------------------------------------------*/
#define W 2
struct fake {
    pthread_barrier_t bar;
    float *slot[W];
    void *bslot;
};
struct rank_job {
    struct fake *f;
    int rank;
    const struct nn_train_cfg *cfg;
    const char *out;
    int stop_after;
    volatile sig_atomic_t *stop;
    enum tryon_status status;
    struct nn_train_result res;
};

static int fake_allreduce(void *user, float *buf, size_t n)
{
    struct rank_job *j = user;
    j->f->slot[j->rank] = buf;
    pthread_barrier_wait(&j->f->bar);
    float *sum = malloc((n ? n : 1) * sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < W; k++)
            s += j->f->slot[k][i];
        sum[i] = s;
    }
    pthread_barrier_wait(&j->f->bar);
    memcpy(buf, sum, n * sizeof *sum);
    free(sum);
    pthread_barrier_wait(&j->f->bar);
    return 0;
}

static int fake_bcast(void *user, void *buf, size_t n, int rt)
{
    struct rank_job *j = user;
    if (j->rank == rt)
        j->f->bslot = buf;
    pthread_barrier_wait(&j->f->bar);
    if (j->rank != rt)
        memcpy(buf, j->f->bslot, n);
    pthread_barrier_wait(&j->f->bar);
    return 0;
}

static void *rank_main(void *arg)
{
    struct rank_job *j = arg;
    struct nn_comm comm = {.rank = j->rank, .world = W, .user = j, .allreduce_sum = fake_allreduce,
                           .bcast = fake_bcast};
    char o[1024];
    path_of(o, sizeof o, j->out);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    struct nn_train_opts opts = {.out_dir = o, .stop_after = j->stop_after, .stop = j->stop};
    j->status = nn_train_run(j->cfg, &comm, ctx, &opts, &j->res);
    if (j->status != TRYON_OK && j->status != TRYON_EINTERRUPTED)
        fprintf(stderr, "rank %d: %s\n", j->rank, tryon_errmsg());
    kern_destroy(ctx);
    return NULL;
}

/* W ranks as threads over one fake transport, into root/out. */
static inline void run_ranks(const struct nn_train_cfg *c, const char *out, int stop_after, volatile sig_atomic_t *stop,
                      struct rank_job *jobs)
{
    struct fake fk;
    memset(&fk, 0, sizeof fk);
    pthread_barrier_init(&fk.bar, NULL, W);
    pthread_t th[W];
    for (int r = 0; r < W; r++) {
        jobs[r] = (struct rank_job){.f = &fk, .rank = r, .cfg = c, .out = out, .stop_after = stop_after,
                                    .stop = stop};
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < W; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&fk.bar);
}

#endif
