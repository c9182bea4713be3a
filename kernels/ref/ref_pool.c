/* ref_pool.c: reference max/average pooling, global average pooling, nearest and bilinear
 * upsampling, forward and backward. Backward passes scatter from each output to the inputs
 * it read (the obvious direction), the GPU gathers instead (kfn.h "_at" functions): the two
 * are compared in tests/kernels/. All tensors NCHW; one (n, c) plane at a time. */
#include <math.h>
#include <stdlib.h>

#include "kernels/kfn.h"
#include "kernels/ref/ref.h"

void kern_ref_maxpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y,
                            int32_t *argmax)
{
    size_t planes = (size_t)d->n * d->c, in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < planes; p++) {
        const float *xp = x + p * in_sz;
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++) {
                float best = 0.0f;
                int32_t arg = -1;
                for (int a = 0; a < d->r; a++)
                    for (int b = 0; b < d->s; b++) {
                        int iy = oy * d->stride_h - d->pad_h + a, ix = ox * d->stride_w - d->pad_w + b;
                        if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                            continue;
                        float v = xp[iy * d->w + ix];
                        /* first maximum wins; a NaN wins and propagates, as torch */
                        if (arg < 0 || v > best || isnan(v)) {
                            best = v;
                            arg = iy * d->w + ix;
                        }
                    }
                y[p * out_sz + (size_t)oy * d->ow + ox] = best;
                if (argmax)
                    argmax[p * out_sz + (size_t)oy * d->ow + ox] = arg;
            }
    }
}

void kern_ref_maxpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy,
                            const int32_t *argmax, float *dx)
{
    size_t planes = (size_t)d->n * d->c, in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < planes; p++)
        for (size_t o = 0; o < out_sz; o++)
            dx[p * in_sz + (size_t)argmax[p * out_sz + o]] += dy[p * out_sz + o];
}

/* Window of output (oy, ox): its in-bounds count and the divisor torch uses. */
static int avg_divisor(const struct kern_pool2d *d, int oy, int ox)
{
    int inside = 0;
    for (int a = 0; a < d->r; a++)
        for (int b = 0; b < d->s; b++) {
            int iy = oy * d->stride_h - d->pad_h + a, ix = ox * d->stride_w - d->pad_w + b;
            inside += iy >= 0 && iy < d->h && ix >= 0 && ix < d->w;
        }
    return d->count_include_pad ? d->r * d->s : inside;
}

void kern_ref_avgpool2d_fwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *x, float *y)
{
    size_t planes = (size_t)d->n * d->c, in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < planes; p++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++) {
                double acc = 0.0;
                for (int a = 0; a < d->r; a++)
                    for (int b = 0; b < d->s; b++) {
                        int iy = oy * d->stride_h - d->pad_h + a, ix = ox * d->stride_w - d->pad_w + b;
                        if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
                            acc += x[p * in_sz + (size_t)iy * d->w + ix];
                    }
                y[p * out_sz + (size_t)oy * d->ow + ox] = (float)(acc / avg_divisor(d, oy, ox));
            }
}

void kern_ref_avgpool2d_bwd(struct kern_ctx *ctx, const struct kern_pool2d *d, const float *dy, float *dx)
{
    size_t planes = (size_t)d->n * d->c, in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < planes; p++)
        for (int oy = 0; oy < d->oh; oy++)
            for (int ox = 0; ox < d->ow; ox++) {
                float g = dy[p * out_sz + (size_t)oy * d->ow + ox] / (float)avg_divisor(d, oy, ox);
                for (int a = 0; a < d->r; a++)
                    for (int b = 0; b < d->s; b++) {
                        int iy = oy * d->stride_h - d->pad_h + a, ix = ox * d->stride_w - d->pad_w + b;
                        if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
                            dx[p * in_sz + (size_t)iy * d->w + ix] += g;
                    }
            }
}

void kern_ref_gap_fwd(struct kern_ctx *ctx, int n, int c, int hw, const float *x, float *y)
{
    for (size_t p = 0; p < (size_t)n * c; p++) {
        double acc = 0.0;
        for (int i = 0; i < hw; i++)
            acc += x[p * hw + i];
        y[p] = (float)(acc / hw);
    }
}

void kern_ref_gap_bwd(struct kern_ctx *ctx, int n, int c, int hw, const float *dy, float *dx)
{
    for (size_t p = 0; p < (size_t)n * c; p++) {
        float g = dy[p] / (float)hw;
        for (int i = 0; i < hw; i++)
            dx[p * hw + i] += g;
    }
}

void kern_ref_upsample_nearest_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *x,
                                   float *y)
{
    int oh = h * f, ow = w * f;
    for (size_t p = 0; p < (size_t)n * c; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                y[(p * oh + oy) * ow + ox] = x[(p * h + oy / f) * w + ox / f];
}

void kern_ref_upsample_nearest_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int f, const float *dy,
                                   float *dx)
{
    int oh = h * f, ow = w * f;
    for (size_t p = 0; p < (size_t)n * c; p++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                dx[(p * h + oy / f) * w + ox / f] += dy[(p * oh + oy) * ow + ox];
}

void kern_ref_upsample_bilinear_fwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                    const float *x, float *y)
{
    float sy = kfn_bilinear_scale(h, oh), sx = kfn_bilinear_scale(w, ow);
    for (size_t p = 0; p < (size_t)n * c; p++) {
        const float *xp = x + p * h * w;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            float ly0, ly1;
            kfn_bilinear_src(oy, sy, h, &y0, &y1, &ly0, &ly1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                float lx0, lx1;
                kfn_bilinear_src(ox, sx, w, &x0, &x1, &lx0, &lx1);
                y[(p * oh + oy) * ow + ox] = ly0 * (lx0 * xp[y0 * w + x0] + lx1 * xp[y0 * w + x1]) +
                                             ly1 * (lx0 * xp[y1 * w + x0] + lx1 * xp[y1 * w + x1]);
            }
        }
    }
}

void kern_ref_upsample_bilinear_bwd(struct kern_ctx *ctx, int n, int c, int h, int w, int oh, int ow,
                                    const float *dy, float *dx)
{
    float sy = kfn_bilinear_scale(h, oh), sx = kfn_bilinear_scale(w, ow);
    size_t nx = (size_t)n * c * h * w;
    double *acc = kern_ref_dalloc(nx);
    for (size_t p = 0; p < (size_t)n * c; p++) {
        double *ap = acc + p * h * w;
        for (int oy = 0; oy < oh; oy++) {
            int y0, y1;
            float ly0, ly1;
            kfn_bilinear_src(oy, sy, h, &y0, &y1, &ly0, &ly1);
            for (int ox = 0; ox < ow; ox++) {
                int x0, x1;
                float lx0, lx1;
                kfn_bilinear_src(ox, sx, w, &x0, &x1, &lx0, &lx1);
                double g = dy[(p * oh + oy) * ow + ox];
                ap[y0 * w + x0] += g * ly0 * lx0;
                ap[y0 * w + x1] += g * ly0 * lx1;
                ap[y1 * w + x0] += g * ly1 * lx0;
                ap[y1 * w + x1] += g * ly1 * lx1;
            }
        }
    }
    for (size_t i = 0; i < nx; i++)
        dx[i] += (float)acc[i];
    free(acc);
}
