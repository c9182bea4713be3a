/* dense.c: GEMM and linear layers of the fast CPU backend on the packed SGEMM (gemm.c).
 *   linear fwd  y (N,OUT) = x (N,IN) w^T + b        -> one GEMM, bias pre-filled
 *   linear bwd  dx += dy w;  dw += dy^T x;  db += column sums of dy (fixed order) */
#include <stdint.h>
#include <string.h>

#include "kernels/cpu/kcpu.h"
#include "kernels/cpu/kcpu_ops.h"

/* GEMM workspace for (m, n, k), 64-byte aligned, from the context's scratch. */
static float *gemm_ws(struct kern_ctx *ctx, int m, int n, int k)
{
    float *base = kern_scratch(ctx, kcpu_gemm_ws(m, n, k, ctx->threads) + 16);
    return (float *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
}

void kcpu_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc)
{
    kcpu_sgemm(ctx->threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, gemm_ws(ctx, m, n, k));
}

void kcpu_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                     const float *b, float *y)
{
    if (b)
        for (int i = 0; i < n; i++)
            memcpy(y + (size_t)i * out, b, sizeof(float) * (size_t)out);
    kcpu_sgemm(ctx->threads, false, true, n, out, in, 1.0f, x, in, w, in, b ? 1.0f : 0.0f, y, out,
               gemm_ws(ctx, n, out, in));
}

void kcpu_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                     const float *w, float *dx, float *dw, float *db)
{
    if (dx)
        kcpu_sgemm(ctx->threads, false, false, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in,
                   gemm_ws(ctx, n, in, out));
    if (dw)
        kcpu_sgemm(ctx->threads, true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in,
                   gemm_ws(ctx, out, in, n));
    if (db)
        for (int i = 0; i < n; i++) {
            const float *row = dy + (size_t)i * out;
            for (int o = 0; o < out; o++)
                db[o] += row[o];
        }
}
