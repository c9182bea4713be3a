/* test_nn_mpi.c: data-parallel gradient averaging over real MPI (farm/comm.c's nn_comm),
 * run under mpirun -np 3.
 *
 * Every rank builds the tiny encoder with a different seed, broadcasts rank 0's weights,
 * and computes the gradient of its own shard. Because the replicas are equal after the
 * broadcast, every rank can also compute every other rank's shard gradient by itself; the
 * mean of those, summed in rank order, is the expected result of nn_dp_average_grads,
 * which must match it (normalized error <= 1e-6) with the default buckets and with
 * one-parameter buckets, and give the same bytes on every rank (checked through a
 * broadcast of rank 0's result). usage: test_nn_mpi CONFIG_DIR */
#include <stdlib.h>
#include <string.h>

#include "farm/comm.h"
#include "nn/nn_test_util.h"

#define BATCH 2

/* Zero the gradients, run the shard of rank `shard` forward and backward (MSE to zero). */
static void shard_grads(struct kern_ctx *ctx, struct nn_model *m, int shard)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    nn_test_fill_inputs(ctx, m, BATCH, 1000 + (uint64_t)shard);
    nn_model_zero_grad(m);
    nn_model_forward(m, BATCH, true);
    for (int o = 0; o < cfg->n_outputs; o++) {
        int c, h, w;
        nn_model_tensor_shape(m, cfg->outputs[o].name, &c, &h, &w);
        size_t k = (size_t)BATCH * c * h * w;
        float *zero = kern_alloc(ctx, k);
        kern_loss_mse(ctx, k, nn_model_output(m, cfg->outputs[o].name), zero, 1.0f,
                      nn_model_output_grad(m, cfg->outputs[o].name));
        kern_release(ctx, zero);
    }
    nn_model_backward(m);
}

static void run(const struct nn_cfg *cfg, const struct nn_comm *comm, size_t bucket_bytes)
{
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    struct nn_model *m = NULL;
    struct nn_dp *dp = NULL;
    CHECK(ctx != NULL);
    CHECK(nn_model_create(cfg, ctx, BATCH, NN_MODE_TRAIN, &m) == TRYON_OK);
    CHECK(nn_dp_create(m, comm, bucket_bytes, &dp) == TRYON_OK);
    CHECK_STR(nn_dp_transport(dp), "host");
    nn_model_init_params(m, 7 + (uint64_t)comm->rank);
    CHECK(nn_dp_broadcast_params(dp, 0) == TRYON_OK);

    size_t n_all = 0, nt = nn_model_numel_trainable(m);
    float *arena = nn_model_param_arena(m, &n_all);
    /* the replicas are equal: rank 0's parameters, broadcast again, match each rank's own */
    float *mine = malloc(n_all * sizeof *mine), *root = malloc(n_all * sizeof *root);
    kern_download(ctx, mine, arena, n_all);
    memcpy(root, mine, n_all * sizeof *root);
    CHECK(comm->bcast(comm->user, root, n_all * sizeof *root, 0) == 0);
    CHECK(memcmp(mine, root, n_all * sizeof *root) == 0);

    /* expected: the mean over ranks of the shard gradients, summed in rank order */
    float *expect = calloc(nt, sizeof *expect), *g = malloc(nt * sizeof *g);
    for (int k = 0; k < comm->world; k++) {
        shard_grads(ctx, m, k);
        kern_download(ctx, g, nn_model_grad_arena(m), nt);
        for (size_t i = 0; i < nt; i++)
            expect[i] += g[i];
    }
    for (size_t i = 0; i < nt; i++)
        expect[i] /= (float)comm->world;
    /* the shards differ, or the test would prove nothing */
    shard_grads(ctx, m, (comm->rank + 1) % comm->world);
    float *other = malloc(nt * sizeof *other);
    kern_download(ctx, other, nn_model_grad_arena(m), nt);
    shard_grads(ctx, m, comm->rank);
    kern_download(ctx, g, nn_model_grad_arena(m), nt);
    CHECK(nerr(g, other, nt) > 1e-3);

    CHECK(nn_dp_average_grads(dp) == TRYON_OK);
    kern_download(ctx, g, nn_model_grad_arena(m), nt);
    double e = nerr(g, expect, nt);
    CHECK_MSG(e <= 1e-6, "rank %d, %d buckets: normalized error %.3g", comm->rank, nn_dp_n_buckets(dp), e);
    memcpy(other, g, nt * sizeof *g);
    CHECK(comm->bcast(comm->user, other, nt * sizeof *other, 0) == 0);
    CHECK(memcmp(other, g, nt * sizeof *g) == 0);

    free(mine), free(root), free(expect), free(g), free(other);
    nn_dp_free(dp);
    nn_model_free(m);
    kern_destroy(ctx);
}

int main(int argc, char **argv)
{
    int rank, world;
    comm_init(&argc, &argv, &rank, &world);
    struct nn_comm comm;
    comm_nn(&comm);
    CHECK(comm.world == world && world >= 2);
    char path[1024];
    snprintf(path, sizeof path, "%s/tiny/encoder.yaml", argc > 1 ? argv[1] : "configs/models");
    struct nn_cfg *cfg = NULL;
    CHECK(nn_cfg_load(path, &cfg) == TRYON_OK);
    if (cfg) {
        run(cfg, &comm, 0);   /* default buckets */
        run(cfg, &comm, 64);  /* one parameter per bucket */
        nn_cfg_free(cfg);
    }
    /* every rank's verdict reaches rank 0 */
    float failures = (float)check_failures;
    comm.allreduce_sum(comm.user, &failures, 1);
    int code = failures > 0 ? 1 : 0;
    if (rank == 0 && code)
        fprintf(stderr, "test_nn_mpi: %.0f failed checks over %d ranks\n", failures, world);
    check_result("test_nn_mpi");
    comm_finalize();
    return code;
}
