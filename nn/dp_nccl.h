/* dp_nccl.h: the NCCL transport of nn_dp (dp_nccl.c, built only with TRYON_HAVE_NCCL).
 * One communicator per nn_dp: rank 0's ncclUniqueId travels through comm->bcast. Device
 * pointers; calls return after the collective completed on the transport's stream.
 * NCCL and CUDA failures abort with file:line (NCCL_CHECK), as DESIGN.md asks. */
#ifndef TRYON_NN_DP_NCCL_H
#define TRYON_NN_DP_NCCL_H

#include "nn/nn.h"

#ifdef TRYON_HAVE_NCCL
struct nn_nccl;
/* Create the communicator on the current CUDA device. TRYON_EIO if the id broadcast fails. */
enum tryon_status nn_nccl_create(const struct nn_comm *comm, struct nn_nccl **out);
void nn_nccl_free(struct nn_nccl *c); /* NULL is fine */
/* In-place mean over ranks of n floats (ncclAvg). */
enum tryon_status nn_nccl_allreduce_avg(struct nn_nccl *c, float *dev, size_t n);
/* In-place broadcast of n floats from root. */
enum tryon_status nn_nccl_bcast(struct nn_nccl *c, float *dev, size_t n, int root);
#endif

#endif
