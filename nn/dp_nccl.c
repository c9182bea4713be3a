/* dp_nccl.c: NCCL allreduce and broadcast for nn_dp on CUDA builds (TRYON_HAVE_NCCL).
 *
 * The unique id is made on rank 0 and sent to the others through the caller's bcast
 * callback (MPI in farm/comm.c), then ncclCommInitRank joins the one communicator of the
 * job. Collectives run on a stream of their own; the caller syncs the kernel context
 * first, and each call waits for its collective, so gradients are final on return. */
#include "nn/dp_nccl.h"

#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>

#define NN_CHECK_GEN(call, type, ok, errstr)                                                       \
    do {                                                                                           \
        type e_ = (call);                                                                          \
        if (e_ != (ok)) {                                                                          \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, errstr(e_));      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
#define NCCL_CHECK(call) NN_CHECK_GEN(call, ncclResult_t, ncclSuccess, ncclGetErrorString)
#define CUDA_CHECK(call) NN_CHECK_GEN(call, cudaError_t, cudaSuccess, cudaGetErrorString)

struct nn_nccl {
    ncclComm_t comm;
    cudaStream_t stream;
    int rank, world;
};

enum tryon_status nn_nccl_create(const struct nn_comm *comm, struct nn_nccl **out)
{
    *out = NULL;
    ncclUniqueId id;
    if (comm->rank == 0)
        NCCL_CHECK(ncclGetUniqueId(&id));
    if (comm->bcast(comm->user, &id, sizeof id, 0) != 0)
        return tryon_fail(TRYON_EIO, "nn_dp: broadcast of the NCCL id failed on rank %d", comm->rank);
    struct nn_nccl *c = calloc(1, sizeof *c);
    if (!c)
        return tryon_fail(TRYON_ENOMEM, "nn_dp: out of memory");
    c->rank = comm->rank;
    c->world = comm->world;
    NCCL_CHECK(ncclCommInitRank(&c->comm, comm->world, id, comm->rank));
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    *out = c;
    return TRYON_OK;
}

void nn_nccl_free(struct nn_nccl *c)
{
    if (!c)
        return;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    NCCL_CHECK(ncclCommDestroy(c->comm));
    CUDA_CHECK(cudaStreamDestroy(c->stream));
    free(c);
}

enum tryon_status nn_nccl_allreduce_avg(struct nn_nccl *c, float *dev, size_t n)
{
    NCCL_CHECK(ncclAllReduce(dev, dev, n, ncclFloat, ncclAvg, c->comm, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return TRYON_OK;
}

enum tryon_status nn_nccl_bcast(struct nn_nccl *c, float *dev, size_t n, int root)
{
    NCCL_CHECK(ncclBroadcast(dev, dev, n, ncclFloat, root, c->comm, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return TRYON_OK;
}
