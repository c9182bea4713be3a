/* dp.c: data-parallel gradient averaging over ranks, behind the caller's struct nn_comm.
 *
 * The model's gradients live in one flat arena (parameters in a fixed order), so a bucket
 * is a contiguous run of whole parameters and "packing" costs nothing: buckets are cut in
 * backward order (last layers first, as DDP does, so a future overlap with backward can
 * reduce each bucket once its layers are done). Each bucket is summed in place by the
 * transport and scaled by 1/world:
 *   - host memory (REF/CPU backends): comm->allreduce_sum on the arena slice directly;
 *   - CUDA with NCCL built: ncclAllReduce(ncclAvg) on the device slice (dp_nccl.c);
 *   - CUDA without NCCL: staged through a host buffer of one bucket.
 * Sums over ranks happen in the transport (MPI/NCCL), whose order is fixed for a given
 * world size, so every rank gets the same bytes. */
#include "nn/nn_internal.h"
#include "nn/dp_nccl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
    size_t off, n; /* float range of the gradient arena */
};

struct nn_dp {
    struct nn_model *m;
    struct nn_comm comm;
    int n_buckets;
    struct bucket *buckets;
    float *stage;         /* host staging (CUDA without NCCL), one bucket or all buffers */
    size_t stage_n;
    struct nn_nccl *nccl; /* NULL unless CUDA + NCCL */
};

int nn_dp_n_buckets(const struct nn_dp *dp)
{
    return dp->n_buckets;
}

const char *nn_dp_transport(const struct nn_dp *dp)
{
    return dp->nccl ? "nccl" : "host";
}

static bool on_device(const struct nn_dp *dp)
{
    return kern_ctx_backend(dp->m->ctx) == KERN_BACKEND_CUDA;
}

enum tryon_status nn_dp_create(struct nn_model *m, const struct nn_comm *comm, size_t bucket_bytes,
                               struct nn_dp **out)
{
    *out = NULL;
    if (m->mode != NN_MODE_TRAIN)
        return tryon_fail(TRYON_EINVAL, "nn_dp: model '%s' is not in TRAIN mode", m->cfg.name);
    if (comm->world < 1 || comm->rank < 0 || comm->rank >= comm->world || !comm->allreduce_sum || !comm->bcast)
        return tryon_fail(TRYON_EINVAL, "nn_dp: bad communicator (rank %d of %d)", comm->rank, comm->world);
    if (bucket_bytes == 0)
        bucket_bytes = (size_t)25 << 20;
    size_t cap = bucket_bytes / sizeof(float);
    if (cap < 16)
        cap = 16;
    struct nn_dp *dp = calloc(1, sizeof *dp);
    if (!dp)
        return tryon_fail(TRYON_ENOMEM, "nn_dp: out of memory");
    dp->m = m;
    dp->comm = *comm;
    dp->buckets = calloc((size_t)m->n_params + 1, sizeof *dp->buckets);
    if (!dp->buckets) {
        free(dp);
        return tryon_fail(TRYON_ENOMEM, "nn_dp: out of memory");
    }
    /* Trainable parameters in reverse registration order = backward order. The arena puts
     * decayed weights before biases/BN, so a run of consecutive parameters in backward order
     * is contiguous only within one group: buckets never straddle the two groups. */
    size_t max_n = 0;
    for (int group = 0; group < 2; group++) {
        struct bucket cur = {0, 0};
        for (int i = m->n_params - 1; i >= 0; i--) {
            const struct nn_param_info *p = &m->params[i];
            if (!p->trainable || (int)!p->decay != group)
                continue;
            size_t off = m->param_off[i];
            bool adjacent = cur.n && off + p->numel == cur.off;
            if (cur.n && (!adjacent || cur.n + p->numel > cap)) {
                dp->buckets[dp->n_buckets++] = cur;
                cur.n = 0;
            }
            if (cur.n == 0)
                cur = (struct bucket){off, p->numel};
            else
                cur = (struct bucket){off, cur.n + p->numel};
        }
        if (cur.n)
            dp->buckets[dp->n_buckets++] = cur;
    }
    for (int b = 0; b < dp->n_buckets; b++)
        if (dp->buckets[b].n > max_n)
            max_n = dp->buckets[b].n;
    size_t covered = 0;
    for (int b = 0; b < dp->n_buckets; b++)
        covered += dp->buckets[b].n;
    assert(covered == m->n_train);

    dp->stage_n = max_n > 16 ? max_n : 16;
    enum tryon_status s = TRYON_OK;
#ifdef TRYON_HAVE_NCCL
    if (on_device(dp))
        s = nn_nccl_create(&dp->comm, &dp->nccl);
#endif
    if (s == TRYON_OK && on_device(dp) && !dp->nccl && !(dp->stage = malloc(dp->stage_n * sizeof(float))))
        s = tryon_fail(TRYON_ENOMEM, "nn_dp: out of memory for a %zu-float staging buffer", dp->stage_n);
    if (s < 0) {
        nn_dp_free(dp);
        return s;
    }
    *out = dp;
    return TRYON_OK;
}

void nn_dp_free(struct nn_dp *dp)
{
    if (!dp)
        return;
#ifdef TRYON_HAVE_NCCL
    nn_nccl_free(dp->nccl);
#endif
    free(dp->stage);
    free(dp->buckets);
    free(dp);
}

/* Sum n floats of backend memory over ranks, in place (host transport). */
static enum tryon_status host_sum(struct nn_dp *dp, float *p, size_t n)
{
    if (!on_device(dp)) {
        if (dp->comm.allreduce_sum(dp->comm.user, p, n) != 0)
            return tryon_fail(TRYON_EIO, "nn_dp: allreduce of %zu floats failed on rank %d", n, dp->comm.rank);
        return TRYON_OK;
    }
    for (size_t done = 0; done < n; done += dp->stage_n) {
        size_t k = n - done < dp->stage_n ? n - done : dp->stage_n;
        kern_download(dp->m->ctx, dp->stage, p + done, k);
        if (dp->comm.allreduce_sum(dp->comm.user, dp->stage, k) != 0)
            return tryon_fail(TRYON_EIO, "nn_dp: allreduce of %zu floats failed on rank %d", k, dp->comm.rank);
        kern_upload(dp->m->ctx, p + done, dp->stage, k);
    }
    return TRYON_OK;
}

/* Mean over ranks of n floats of backend memory, in place. */
static enum tryon_status mean_over_ranks(struct nn_dp *dp, float *p, size_t n)
{
    if (dp->comm.world == 1 || n == 0)
        return TRYON_OK;
#ifdef TRYON_HAVE_NCCL
    if (dp->nccl) {
        kern_sync(dp->m->ctx);
        return nn_nccl_allreduce_avg(dp->nccl, p, n);
    }
#endif
    enum tryon_status s = host_sum(dp, p, n);
    if (s == TRYON_OK)
        kern_scale(dp->m->ctx, n, 1.0f / (float)dp->comm.world, p);
    return s;
}

enum tryon_status nn_dp_average_grads(struct nn_dp *dp)
{
    for (int b = 0; b < dp->n_buckets; b++) {
        enum tryon_status s = mean_over_ranks(dp, dp->m->grad_mem + dp->buckets[b].off, dp->buckets[b].n);
        if (s < 0)
            return s;
    }
    return TRYON_OK;
}

enum tryon_status nn_dp_average_buffers(struct nn_dp *dp)
{
    return mean_over_ranks(dp, dp->m->param_mem + dp->m->n_train, dp->m->n_buffers);
}

enum tryon_status nn_dp_broadcast_params(struct nn_dp *dp, int root)
{
    if (root < 0 || root >= dp->comm.world)
        return tryon_fail(TRYON_EINVAL, "nn_dp: broadcast root %d outside [0, %d)", root, dp->comm.world);
    float *p = dp->m->param_mem;
    size_t n = dp->m->n_train + dp->m->n_buffers;
    if (dp->comm.world == 1 || n == 0)
        return TRYON_OK;
#ifdef TRYON_HAVE_NCCL
    if (dp->nccl) {
        kern_sync(dp->m->ctx);
        return nn_nccl_bcast(dp->nccl, p, n, root);
    }
#endif
    if (!on_device(dp)) {
        if (dp->comm.bcast(dp->comm.user, p, n * sizeof(float), root) != 0)
            return tryon_fail(TRYON_EIO, "nn_dp: broadcast of parameters failed on rank %d", dp->comm.rank);
        return TRYON_OK;
    }
    for (size_t done = 0; done < n; done += dp->stage_n) {
        size_t k = n - done < dp->stage_n ? n - done : dp->stage_n;
        if (dp->comm.rank == root)
            kern_download(dp->m->ctx, dp->stage, p + done, k);
        if (dp->comm.bcast(dp->comm.user, dp->stage, k * sizeof(float), root) != 0)
            return tryon_fail(TRYON_EIO, "nn_dp: broadcast of parameters failed on rank %d", dp->comm.rank);
        kern_upload(dp->m->ctx, p + done, dp->stage, k);
    }
    return TRYON_OK;
}
