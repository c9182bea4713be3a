/* ref_conv.c: reference 2-D convolution and transposed convolution, forward and both
 * backward passes, with groups, stride, padding, dilation and output padding.
 *
 * One geometry serves both: a conv2d maps input position (iy, ix) and tap (r, s) to output
 * (oy, ox) with iy = oy*stride - pad + r*dil. The transposed conv is the adjoint of the conv
 * whose input has the transposed conv's output shape, so with x (N,C,H,W) and
 * y (N,K,OH,OW) of the transposed conv: oy = iy*stride - pad + r*dil.
 * Shapes (kernels.h): conv2d w (K, C/G, R, S); convt2d w (C, K/G, R, S); b (K).
 * Gathers accumulate in double; scatters go through a double buffer, then add once. */
#include <stdlib.h>

#include "kernels/ref/ref.h"

#define X4(p, C_, H_, W_, n, c, y, x) (p)[(((size_t)(n) * (C_) + (c)) * (H_) + (y)) * (W_) + (x)]

void kern_ref_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                         const float *b, float *y)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    for (int n = 0; n < d->n; n++)
        for (int k = 0; k < d->k; k++) {
            int g = k / kg;
            for (int oy = 0; oy < d->oh; oy++)
                for (int ox = 0; ox < d->ow; ox++) {
                    double acc = b ? (double)b[k] : 0.0;
                    for (int cc = 0; cc < cg; cc++)
                        for (int r = 0; r < d->r; r++) {
                            int iy = oy * d->stride_h - d->pad_h + r * d->dil_h;
                            if (iy < 0 || iy >= d->h)
                                continue;
                            for (int s = 0; s < d->s; s++) {
                                int ix = ox * d->stride_w - d->pad_w + s * d->dil_w;
                                if (ix < 0 || ix >= d->w)
                                    continue;
                                acc += (double)X4(x, d->c, d->h, d->w, n, g * cg + cc, iy, ix) *
                                       (double)X4(w, cg, d->r, d->s, k, cc, r, s);
                            }
                        }
                    X4(y, d->k, d->oh, d->ow, n, k, oy, ox) = (float)acc;
                }
        }
}

void kern_ref_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                             const float *b, enum kern_act act, float slope, float *y)
{
    kern_ref_conv2d_fwd(ctx, d, x, w, b, y);
    kern_ref_act_fwd(ctx, act, slope, (size_t)d->n * d->k * d->oh * d->ow, y, y);
}

void kern_ref_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                              const float *w, float *dx)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    size_t nx = (size_t)d->n * d->c * d->h * d->w;
    double *acc = kern_ref_dalloc(nx);
    for (int n = 0; n < d->n; n++)
        for (int k = 0; k < d->k; k++) {
            int g = k / kg;
            for (int oy = 0; oy < d->oh; oy++)
                for (int ox = 0; ox < d->ow; ox++) {
                    double gv = X4(dy, d->k, d->oh, d->ow, n, k, oy, ox);
                    for (int cc = 0; cc < cg; cc++)
                        for (int r = 0; r < d->r; r++) {
                            int iy = oy * d->stride_h - d->pad_h + r * d->dil_h;
                            if (iy < 0 || iy >= d->h)
                                continue;
                            for (int s = 0; s < d->s; s++) {
                                int ix = ox * d->stride_w - d->pad_w + s * d->dil_w;
                                if (ix < 0 || ix >= d->w)
                                    continue;
                                X4(acc, d->c, d->h, d->w, n, g * cg + cc, iy, ix) +=
                                    gv * (double)X4(w, cg, d->r, d->s, k, cc, r, s);
                            }
                        }
                }
        }
    for (size_t i = 0; i < nx; i++)
        dx[i] += (float)acc[i];
    free(acc);
}

void kern_ref_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                const float *dy, float *dw, float *db)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    if (dw) {
        for (int k = 0; k < d->k; k++) {
            int g = k / kg;
            for (int cc = 0; cc < cg; cc++)
                for (int r = 0; r < d->r; r++)
                    for (int s = 0; s < d->s; s++) {
                        double acc = 0.0;
                        for (int n = 0; n < d->n; n++)
                            for (int oy = 0; oy < d->oh; oy++) {
                                int iy = oy * d->stride_h - d->pad_h + r * d->dil_h;
                                if (iy < 0 || iy >= d->h)
                                    continue;
                                for (int ox = 0; ox < d->ow; ox++) {
                                    int ix = ox * d->stride_w - d->pad_w + s * d->dil_w;
                                    if (ix < 0 || ix >= d->w)
                                        continue;
                                    acc += (double)X4(dy, d->k, d->oh, d->ow, n, k, oy, ox) *
                                           (double)X4(x, d->c, d->h, d->w, n, g * cg + cc, iy, ix);
                                }
                            }
                        X4(dw, cg, d->r, d->s, k, cc, r, s) += (float)acc;
                    }
        }
    }
    if (db) {
        for (int k = 0; k < d->k; k++) {
            double acc = 0.0;
            for (int n = 0; n < d->n; n++)
                for (int oy = 0; oy < d->oh; oy++)
                    for (int ox = 0; ox < d->ow; ox++)
                        acc += X4(dy, d->k, d->oh, d->ow, n, k, oy, ox);
            db[k] += (float)acc;
        }
    }
}

void kern_ref_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                          const float *b, float *y)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    size_t ny = (size_t)d->n * d->k * d->oh * d->ow;
    double *acc = kern_ref_dalloc(ny);
    for (int n = 0; n < d->n; n++)
        for (int c = 0; c < d->c; c++) {
            int g = c / cg;
            for (int iy = 0; iy < d->h; iy++)
                for (int ix = 0; ix < d->w; ix++) {
                    double xv = X4(x, d->c, d->h, d->w, n, c, iy, ix);
                    for (int kk = 0; kk < kg; kk++)
                        for (int r = 0; r < d->r; r++) {
                            int oy = iy * d->stride_h - d->pad_h + r * d->dil_h;
                            if (oy < 0 || oy >= d->oh)
                                continue;
                            for (int s = 0; s < d->s; s++) {
                                int ox = ix * d->stride_w - d->pad_w + s * d->dil_w;
                                if (ox < 0 || ox >= d->ow)
                                    continue;
                                X4(acc, d->k, d->oh, d->ow, n, g * kg + kk, oy, ox) +=
                                    xv * (double)X4(w, kg, d->r, d->s, c, kk, r, s);
                            }
                        }
                }
        }
    size_t plane = (size_t)d->oh * d->ow;
    for (size_t i = 0; i < ny; i++) {
        int k = (int)((i / plane) % (size_t)d->k);
        y[i] = (float)(acc[i] + (b ? (double)b[k] : 0.0));
    }
    free(acc);
}

void kern_ref_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                               const float *w, float *dx)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    for (int n = 0; n < d->n; n++)
        for (int c = 0; c < d->c; c++) {
            int g = c / cg;
            for (int iy = 0; iy < d->h; iy++)
                for (int ix = 0; ix < d->w; ix++) {
                    double acc = 0.0;
                    for (int kk = 0; kk < kg; kk++)
                        for (int r = 0; r < d->r; r++) {
                            int oy = iy * d->stride_h - d->pad_h + r * d->dil_h;
                            if (oy < 0 || oy >= d->oh)
                                continue;
                            for (int s = 0; s < d->s; s++) {
                                int ox = ix * d->stride_w - d->pad_w + s * d->dil_w;
                                if (ox < 0 || ox >= d->ow)
                                    continue;
                                acc += (double)X4(dy, d->k, d->oh, d->ow, n, g * kg + kk, oy, ox) *
                                       (double)X4(w, kg, d->r, d->s, c, kk, r, s);
                            }
                        }
                    X4(dx, d->c, d->h, d->w, n, c, iy, ix) += (float)acc;
                }
        }
}

void kern_ref_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                 const float *dy, float *dw, float *db)
{
    int cg = d->c / d->groups, kg = d->k / d->groups;
    if (dw) {
        for (int c = 0; c < d->c; c++) {
            int g = c / cg;
            for (int kk = 0; kk < kg; kk++)
                for (int r = 0; r < d->r; r++)
                    for (int s = 0; s < d->s; s++) {
                        double acc = 0.0;
                        for (int n = 0; n < d->n; n++)
                            for (int iy = 0; iy < d->h; iy++) {
                                int oy = iy * d->stride_h - d->pad_h + r * d->dil_h;
                                if (oy < 0 || oy >= d->oh)
                                    continue;
                                for (int ix = 0; ix < d->w; ix++) {
                                    int ox = ix * d->stride_w - d->pad_w + s * d->dil_w;
                                    if (ox < 0 || ox >= d->ow)
                                        continue;
                                    acc += (double)X4(x, d->c, d->h, d->w, n, c, iy, ix) *
                                           (double)X4(dy, d->k, d->oh, d->ow, n, g * kg + kk, oy, ox);
                                }
                            }
                        X4(dw, kg, d->r, d->s, c, kk, r, s) += (float)acc;
                    }
        }
    }
    if (db) {
        for (int k = 0; k < d->k; k++) {
            double acc = 0.0;
            for (int n = 0; n < d->n; n++)
                for (int oy = 0; oy < d->oh; oy++)
                    for (int ox = 0; ox < d->ow; ox++)
                        acc += X4(dy, d->k, d->oh, d->ow, n, k, oy, ox);
            db[k] += (float)acc;
        }
    }
}
