/* ref_mem.c: host memory for the REF and CPU backends: 64-byte aligned, zeroed buffers,
 * plain memcpy for upload/download, nothing queued so sync is empty. Out-of-memory aborts
 * (kernels.h contract: tensors are sized by the network, not by untrusted input). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ref/ref.h"

/* n bytes (n may be 0), 64-byte aligned and zeroed. */
static void *host_alloc(size_t bytes)
{
    size_t rounded = bytes ? (bytes + 63) & ~(size_t)63 : 64;
    void *p = tryon_xaligned(64, rounded);
    memset(p, 0, rounded);
    return p;
}

float *kern_ref_alloc(struct kern_ctx *ctx, size_t n) { return host_alloc(n * sizeof(float)); }
int32_t *kern_ref_alloc_i32(struct kern_ctx *ctx, size_t n) { return host_alloc(n * sizeof(int32_t)); }
double *kern_ref_dalloc(size_t n) { return host_alloc(n * sizeof(double)); }
void kern_ref_release(struct kern_ctx *ctx, void *p) { free(p); }

void kern_ref_upload(struct kern_ctx *ctx, void *dst, const void *host_src, size_t bytes)
{
    if (bytes)
        memmove(dst, host_src, bytes);
}

void kern_ref_download(struct kern_ctx *ctx, void *host_dst, const void *src, size_t bytes)
{
    if (bytes)
        memmove(host_dst, src, bytes);
}

void kern_ref_zero(struct kern_ctx *ctx, float *p, size_t n)
{
    if (n)
        memset(p, 0, n * sizeof(float));
}

void kern_ref_copy(struct kern_ctx *ctx, float *dst, const float *src, size_t n)
{
    if (n)
        memmove(dst, src, n * sizeof(float));
}

void kern_ref_sync(struct kern_ctx *ctx) {}
