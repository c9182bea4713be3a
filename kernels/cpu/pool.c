/* pool.c: pooling, global average pooling and upsampling of the fast CPU backend.
 *
 * (Max-pool forward is in elt_impl.h, compiled per instruction set so its loops vectorize.)
 * Every op works on independent (n, c) planes, so planes run in parallel and each plane's
 * result is computed by one thread in a fixed order (thread-count independent). Forward
 * outputs and the gathering backward passes use the "_at" functions of kernels/kfn.h,
 * the same per-element code the CUDA kernels run; max-pool backward scatters each dy to
 * its stored argmax (one plane per thread, so no races). */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "kernels/cpu/kcpu_ops.h"
#include "kernels/kfn.h"

#define PAR_MIN ((size_t)1 << 14)

static inline int nthreads(const struct kern_ctx *ctx, size_t work) { return work >= PAR_MIN ? ctx->threads : 1; }

void kcpu_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, const int32_t *argmax,
                        float *dx)
{
    long planes = (long)d->n * d->c;
    size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    int nt = nthreads(ctx, planes * out_sz);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        float *xp = dx + p * in_sz;
        const float *gp = dy + p * out_sz;
        const int32_t *ap = argmax + p * out_sz;
        for (size_t o = 0; o < out_sz; o++)
            xp[ap[o]] += gp[o];
    }
}

void kcpu_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y)
{
    long planes = (long)d->n * d->c;
    size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    int nt = nthreads(ctx, planes * out_sz * d->r * d->s);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * in_sz;
        float *yp = y + p * out_sz;
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++)
                yp[oy * d->ow + ox] = kfn_avgpool_fwd_at(d, xp, oy, ox);
    }
}

void kcpu_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx)
{
    long planes = (long)d->n * d->c;
    size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    int nt = nthreads(ctx, planes * in_sz * d->r * d->s);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *gp = dy + p * out_sz;
        float *xp = dx + p * in_sz;
        for (int iy = 0; iy < d->h; iy++)
            for (int ix = 0; ix < d->w; ix++)
                xp[iy * d->w + ix] += kfn_avgpool_bwd_at(d, gp, iy, ix);
    }
}

void kcpu_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y)
{
    long planes = (long)n * c;
    int nt = nthreads(ctx, planes * hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * hw;
        float lane[16] = {0};
        int i = 0;
        for (; i + 16 <= hw; i += 16)
            for (int j = 0; j < 16; j++)
                lane[j] += xp[i + j];
        double acc = 0.0;
        for (; i < hw; i++)
            acc += xp[i];
        for (int j = 0; j < 16; j++)
            acc += lane[j];
        y[p] = (float)(acc / hw);
    }
}

void kcpu_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx)
{
    long planes = (long)n * c;
    int nt = nthreads(ctx, planes * hw);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        float g = dy[p] / (float)hw, *xp = dx + p * hw;
        for (int i = 0; i < hw; i++)
            xp[i] += g;
    }
}

void kcpu_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x, float *y)
{
    long planes = (long)n * c;
    int ow = w * f;
    int nt = nthreads(ctx, planes * h * w * f * f);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *yp = y + p * (size_t)h * w * f * f;
        for (int iy = 0; iy < h; iy++) {
            float *row = yp + (size_t)iy * f * ow;
            for (int ox = 0; ox < ow; ox++)
                row[ox] = kfn_upnear_fwd_at(xp, w, f, iy * f, ox);
            for (int a = 1; a < f; a++)
                memcpy(row + (size_t)a * ow, row, (size_t)ow * sizeof(float));
        }
    }
}

void kcpu_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy, float *dx)
{
    long planes = (long)n * c;
    int nt = nthreads(ctx, planes * h * w * f * f);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *gp = dy + p * (size_t)h * w * f * f;
        float *xp = dx + p * h * w;
        for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix++)
                xp[iy * w + ix] += kfn_upnear_bwd_at(gp, w, f, iy, ix);
    }
}

void kcpu_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *x,
                                float *y)
{
    long planes = (long)n * c;
    int nt = nthreads(ctx, planes * oh * ow * 4);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *yp = y + p * oh * ow;
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                yp[oy * ow + ox] = kfn_bilinear_fwd_at(xp, h, w, oh, ow, oy, ox);
    }
}

void kcpu_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow, const float *dy,
                                float *dx)
{
    long planes = (long)n * c;
    int nt = nthreads(ctx, planes * oh * ow * 4);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (long p = 0; p < planes; p++) {
        const float *gp = dy + p * oh * ow;
        float *xp = dx + p * h * w;
        for (int iy = 0; iy < h; iy++)
            for (int ix = 0; ix < w; ix++)
                xp[iy * w + ix] += kfn_bilinear_bwd_at(gp, h, w, oh, ow, iy, ix);
    }
}
