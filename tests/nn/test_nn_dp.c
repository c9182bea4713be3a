/* test_nn_dp.c: data-parallel gradient averaging (nn_dp) over an in-process fake comm:
 * W threads, each a rank with its own kernel context and model replica, exchanging
 * through shared slots and a barrier (sums in rank order, like a fixed MPI reduction).
 * - broadcast_params makes every replica equal to the root's (different seeds before);
 * - average_grads gives every rank the same bytes, equal (1e-6 normalized) to the mean of
 *   the per-rank gradients computed by hand from copies taken before the exchange, with the
 *   default buckets (2: weights, biases/BN) and with tiny buckets (one parameter each);
 * - average_buffers averages the BN running statistics the same way;
 * - after an AdamW step on averaged gradients the replicas stay bit-identical;
 * - a failing transport is reported as TRYON_EIO.
 * usage: test_nn_dp CONFIG_DIR */
#include "nn_test_util.h"

#include <pthread.h>
#include <string.h>

#define W 3

struct fake {
    pthread_barrier_t bar;
    float *slot[W];
    void *bslot;
    bool fail;
};

struct rank_ctx {
    struct fake *f;
    int rank;
};

static int fake_allreduce(void *user, float *buf, size_t n)
{
    struct rank_ctx *r = user;
    if (r->f->fail)
        return -1;
    r->f->slot[r->rank] = buf;
    pthread_barrier_wait(&r->f->bar);
    float *sum = malloc(n * sizeof *sum);
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int k = 0; k < W; k++)
            s += r->f->slot[k][i];
        sum[i] = s;
    }
    pthread_barrier_wait(&r->f->bar);
    memcpy(buf, sum, n * sizeof *sum);
    free(sum);
    pthread_barrier_wait(&r->f->bar);
    return 0;
}

static int fake_bcast(void *user, void *buf, size_t n, int root)
{
    struct rank_ctx *r = user;
    if (r->rank == root)
        r->f->bslot = buf;
    pthread_barrier_wait(&r->f->bar);
    if (r->rank != root)
        memcpy(buf, r->f->bslot, n);
    pthread_barrier_wait(&r->f->bar);
    return 0;
}

struct job {
    struct fake *f;
    int rank;
    const struct nn_cfg *cfg;
    enum kern_backend be;
    size_t bucket_bytes;
    /* results, host copies */
    size_t n_train, n_all;
    float *params0;       /* after broadcast */
    float *grads_local;   /* before averaging */
    float *grads_avg;     /* after averaging */
    float *bufs_local, *bufs_avg;
    float *params1;       /* after one AdamW step */
    int n_buckets;
    int errors;
};

static void *rank_main(void *arg)
{
    struct job *j = arg;
    struct rank_ctx rc = {j->f, j->rank};
    struct nn_comm comm = {.rank = j->rank, .world = W, .user = &rc, .allreduce_sum = fake_allreduce,
                           .bcast = fake_bcast};
    struct kern_ctx *ctx = kern_create(j->be, 1);
    struct nn_model *m = NULL;
    struct nn_dp *dp = NULL;
    if (!ctx || nn_model_create(j->cfg, ctx, 3, NN_MODE_TRAIN, &m) != TRYON_OK ||
        nn_dp_create(m, &comm, j->bucket_bytes, &dp) != TRYON_OK) {
        j->errors++;
        pthread_barrier_wait(&j->f->bar); /* keep the others from waiting forever */
        return NULL;
    }
    j->n_buckets = nn_dp_n_buckets(dp);
    nn_model_init_params(m, 100 + (uint64_t)j->rank);
    if (nn_dp_broadcast_params(dp, 0) != TRYON_OK)
        j->errors++;
    float *arena = nn_model_param_arena(m, &j->n_all);
    j->n_train = nn_model_numel_trainable(m);
    j->params0 = malloc(j->n_all * sizeof(float));
    kern_download(ctx, j->params0, arena, j->n_all);

    nn_test_fill_inputs(ctx, m, 3, 200 + (uint64_t)j->rank); /* each rank its own shard */
    nn_model_zero_grad(m);
    nn_model_forward(m, 3, true);
    const struct nn_cfg *cfg = j->cfg;
    for (int o = 0; o < cfg->n_outputs; o++) {
        int c, h, w;
        nn_model_tensor_shape(m, cfg->outputs[o].name, &c, &h, &w);
        size_t k = (size_t)3 * c * h * w;
        float *zero = kern_alloc(ctx, k);
        kern_loss_mse(ctx, k, nn_model_output(m, cfg->outputs[o].name), zero, 1.0f,
                      nn_model_output_grad(m, cfg->outputs[o].name));
        kern_release(ctx, zero);
    }
    nn_model_backward(m);
    j->grads_local = malloc(j->n_train * sizeof(float));
    kern_download(ctx, j->grads_local, nn_model_grad_arena(m), j->n_train);
    size_t nb = j->n_all - j->n_train;
    j->bufs_local = malloc((nb ? nb : 1) * sizeof(float));
    kern_download(ctx, j->bufs_local, arena + j->n_train, nb);
    if (nn_dp_average_grads(dp) != TRYON_OK || nn_dp_average_buffers(dp) != TRYON_OK)
        j->errors++;
    j->grads_avg = malloc(j->n_train * sizeof(float));
    kern_download(ctx, j->grads_avg, nn_model_grad_arena(m), j->n_train);
    j->bufs_avg = malloc((nb ? nb : 1) * sizeof(float));
    kern_download(ctx, j->bufs_avg, arena + j->n_train, nb);
    struct nn_adamw_cfg oc = nn_adamw_defaults();
    nn_model_adamw_step(m, &oc);
    j->params1 = malloc(j->n_all * sizeof(float));
    kern_download(ctx, j->params1, arena, j->n_all);

    /* a broken transport: every rank fails alike, no barrier is entered */
    j->f->fail = true;
    if (nn_dp_average_grads(dp) != TRYON_EIO)
        j->errors++;
    nn_dp_free(dp);
    nn_model_free(m);
    kern_destroy(ctx);
    return NULL;
}

static void run(const struct nn_cfg *cfg, enum kern_backend be, size_t bucket_bytes, int expect_buckets)
{
    struct fake f = {0};
    pthread_barrier_init(&f.bar, NULL, W);
    struct job jobs[W];
    pthread_t th[W];
    for (int r = 0; r < W; r++) {
        jobs[r] = (struct job){.f = &f, .rank = r, .cfg = cfg, .be = be, .bucket_bytes = bucket_bytes};
        pthread_create(&th[r], NULL, rank_main, &jobs[r]);
    }
    for (int r = 0; r < W; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&f.bar);
    for (int r = 0; r < W; r++)
        CHECK_EQ_INT(jobs[r].errors, 0);
    if (jobs[0].errors || jobs[1].errors || jobs[2].errors)
        return;
    if (expect_buckets > 0)
        CHECK_EQ_INT(jobs[0].n_buckets, expect_buckets);
    else
        CHECK(jobs[0].n_buckets > 2);
    size_t nt = jobs[0].n_train, na = jobs[0].n_all, nb = na - nt;
    float *mean = malloc(nt * sizeof *mean), *bmean = malloc((nb ? nb : 1) * sizeof *bmean);
    for (size_t i = 0; i < nt; i++)
        mean[i] = (jobs[0].grads_local[i] + jobs[1].grads_local[i] + jobs[2].grads_local[i]) / 3.0f;
    for (size_t i = 0; i < nb; i++)
        bmean[i] = (jobs[0].bufs_local[i] + jobs[1].bufs_local[i] + jobs[2].bufs_local[i]) / 3.0f;
    /* the shards differ, so the local gradients must too (else the test proves nothing) */
    CHECK(nerr(jobs[0].grads_local, jobs[1].grads_local, nt) > 1e-3);
    for (int r = 0; r < W; r++) {
        CHECK(memcmp(jobs[r].params0, jobs[0].params0, na * sizeof(float)) == 0);
        CHECK(memcmp(jobs[r].grads_avg, jobs[0].grads_avg, nt * sizeof(float)) == 0);
        CHECK(memcmp(jobs[r].params1, jobs[0].params1, na * sizeof(float)) == 0);
        CHECK_MSG(nerr(jobs[r].grads_avg, mean, nt) <= 1e-6, "rank %d: error %.3g", r,
                  nerr(jobs[r].grads_avg, mean, nt));
        if (nb)
            CHECK(nerr(jobs[r].bufs_avg, bmean, nb) <= 1e-6);
    }
    free(mean);
    free(bmean);
    for (int r = 0; r < W; r++) {
        free(jobs[r].params0);
        free(jobs[r].grads_local);
        free(jobs[r].grads_avg);
        free(jobs[r].bufs_local);
        free(jobs[r].bufs_avg);
        free(jobs[r].params1);
    }
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "configs/models";
    const char *files[] = {"tiny/generator.yaml", "tiny/encoder.yaml"};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        struct nn_cfg *cfg = NULL;
        CHECK(nn_cfg_load(path, &cfg) == TRYON_OK);
        if (!cfg)
            continue;
        run(cfg, KERN_BACKEND_REF, 0, 2);
        run(cfg, KERN_BACKEND_CPU, 64, -1);
        nn_cfg_free(cfg);
    }
    return check_result("test_nn_dp");
}
