/* cuda_pool.cu: pooling and resampling on the GPU. Forward kernels are one thread per
 * output element; backward kernels are one thread per INPUT element that gathers from the
 * outputs that read it (kfn.h "_at" functions), so no two threads write the same address
 * and no atomics are needed: deterministic by construction. The same "_at" functions are
 * run over every index on the host by tests/kernels/test_kernels_kfn.c. */
#include "kernels/cuda/kcuda.cuh"

#define LAUNCH(kernel, n, ...)                                                                       \
    do {                                                                                             \
        kernel<<<kcuda_blocks(n), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>((size_t)(n), __VA_ARGS__);  \
        KCUDA_LAUNCHED();                                                                            \
    } while (0)

__global__ static void k_maxpool_fwd(size_t total, struct kern_pool2d d, const float *x, float *y, int32_t *argmax)
{
    size_t osz = (size_t)d.oh * d.ow, isz = (size_t)d.h * d.w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / osz, o = i % osz;
        int32_t a;
        y[i] = kfn_maxpool_fwd_at(&d, x + p * isz, (int)(o / d.ow), (int)(o % d.ow), &a);
        if (argmax)
            argmax[i] = a;
    }
}

__global__ static void k_maxpool_bwd(size_t total, struct kern_pool2d d, const float *dy, const int32_t *argmax,
                                     float *dx)
{
    size_t osz = (size_t)d.oh * d.ow, isz = (size_t)d.h * d.w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / isz, q = i % isz;
        dx[i] += kfn_maxpool_bwd_at(&d, dy + p * osz, argmax + p * osz, (int)(q / d.w), (int)(q % d.w));
    }
}

__global__ static void k_avgpool_fwd(size_t total, struct kern_pool2d d, const float *x, float *y)
{
    size_t osz = (size_t)d.oh * d.ow, isz = (size_t)d.h * d.w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / osz, o = i % osz;
        y[i] = kfn_avgpool_fwd_at(&d, x + p * isz, (int)(o / d.ow), (int)(o % d.ow));
    }
}

__global__ static void k_avgpool_bwd(size_t total, struct kern_pool2d d, const float *dy, float *dx)
{
    size_t osz = (size_t)d.oh * d.ow, isz = (size_t)d.h * d.w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / isz, q = i % isz;
        dx[i] += kfn_avgpool_bwd_at(&d, dy + p * osz, (int)(q / d.w), (int)(q % d.w));
    }
}

/* one block per (n, c) plane */
__global__ static void k_gap_fwd(int hw, const float *x, float *y)
{
    size_t p = blockIdx.x;
    double s = 0.0;
    for (int j = threadIdx.x; j < hw; j += blockDim.x)
        s += x[p * hw + j];
    s = kcuda_block_sum(s);
    if (threadIdx.x == 0)
        y[p] = (float)(s / hw);
}

__global__ static void k_gap_bwd(size_t total, int hw, const float *dy, float *dx)
{
    KCUDA_FOR(i, total) dx[i] += dy[i / (size_t)hw] / (float)hw;
}

__global__ static void k_upnear_fwd(size_t total, int h, int w, int f, const float *x, float *y)
{
    size_t ow = (size_t)w * f, osz = (size_t)h * f * ow;
    KCUDA_FOR(i, total)
    {
        size_t p = i / osz, o = i % osz;
        y[i] = kfn_upnear_fwd_at(x + p * h * w, w, f, (int)(o / ow), (int)(o % ow));
    }
}

__global__ static void k_upnear_bwd(size_t total, int h, int w, int f, const float *dy, float *dx)
{
    size_t isz = (size_t)h * w, osz = isz * f * f;
    KCUDA_FOR(i, total)
    {
        size_t p = i / isz, q = i % isz;
        dx[i] += kfn_upnear_bwd_at(dy + p * osz, w, f, (int)(q / w), (int)(q % w));
    }
}

__global__ static void k_bilinear_fwd(size_t total, int h, int w, int oh, int ow, const float *x, float *y)
{
    size_t osz = (size_t)oh * ow, isz = (size_t)h * w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / osz, o = i % osz;
        y[i] = kfn_bilinear_fwd_at(x + p * isz, h, w, oh, ow, (int)(o / ow), (int)(o % ow));
    }
}

__global__ static void k_bilinear_bwd(size_t total, int h, int w, int oh, int ow, const float *dy, float *dx)
{
    size_t osz = (size_t)oh * ow, isz = (size_t)h * w;
    KCUDA_FOR(i, total)
    {
        size_t p = i / isz, q = i % isz;
        dx[i] += kfn_bilinear_bwd_at(dy + p * osz, h, w, oh, ow, (int)(q / w), (int)(q % w));
    }
}

extern "C" {

void kcuda_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                         int32_t *argmax)
{
    LAUNCH(k_maxpool_fwd, (size_t)d->n * d->c * d->oh * d->ow, *d, x, y, argmax);
}

void kcuda_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                         float *dx)
{
    LAUNCH(k_maxpool_bwd, (size_t)d->n * d->c * d->h * d->w, *d, dy, argmax, dx);
}

void kcuda_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y)
{
    LAUNCH(k_avgpool_fwd, (size_t)d->n * d->c * d->oh * d->ow, *d, x, y);
}

void kcuda_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx)
{
    LAUNCH(k_avgpool_bwd, (size_t)d->n * d->c * d->h * d->w, *d, dy, dx);
}

void kcuda_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y)
{
    k_gap_fwd<<<(unsigned)((size_t)n * c), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(hw, x, y);
    KCUDA_LAUNCHED();
}

void kcuda_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx)
{
    LAUNCH(k_gap_bwd, (size_t)n * c * hw, hw, dy, dx);
}

void kcuda_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y)
{
    LAUNCH(k_upnear_fwd, (size_t)n * c * h * w * f * f, h, w, f, x, y);
}

void kcuda_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx)
{
    LAUNCH(k_upnear_bwd, (size_t)n * c * h * w, h, w, f, dy, dx);
}

void kcuda_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *x,
                                 float *y)
{
    LAUNCH(k_bilinear_fwd, (size_t)n * c * oh * ow, h, w, oh, ow, x, y);
}

void kcuda_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *dy,
                                 float *dx)
{
    LAUNCH(k_bilinear_bwd, (size_t)n * c * h * w, h, w, oh, ow, dy, dx);
}
}
