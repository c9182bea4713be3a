/* cuda_dense.cu: GEMM and the fully connected layer on cuBLAS.
 * cuBLAS is column-major; a row-major (m, n) matrix with leading dimension ld is the same
 * memory as a column-major (n, m) one, so row-major C = op(A) op(B) is computed as the
 * column-major C^T = op(B)^T op(A)^T: swap the operands and the m/n sizes, keep the flags.
 * The bias gradient is a column sum in a fixed order (one thread per column). */
#include "kernels/cuda/kcuda.cuh"

void kcuda_gemm_rm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
    CUBLAS_CHECK(cublasSgemm(kcuda_of(ctx)->cublas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                             n, m, k, &alpha, b, ldb, a, lda, &beta, c, ldc));
}

extern "C" void kcuda_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                           int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    kcuda_gemm_rm(ctx, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

extern "C" void kcuda_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                                 const float *b, float *y)
{
    /* y (n, out) = x (n, in) w^T, w stored (out, in) */
    kcuda_gemm_rm(ctx, false, true, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
    if (b)
        kcuda_bias_add(ctx, n, out, 1, b, y);
}

/* db[o] += sum over rows of dy (n, out). */
__global__ static void k_col_sum(int n, int out, const float *dy, float *db)
{
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= out)
        return;
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += dy[(size_t)i * out + o];
    db[o] += (float)s;
}

extern "C" void kcuda_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                                 const float *w, float *dx, float *dw, float *db)
{
    if (dx) /* dx (n, in) += dy (n, out) w (out, in) */
        kcuda_gemm_rm(ctx, false, false, n, in, out, 1.0f, dy, out, w, in, 1.0f, dx, in);
    if (dw) /* dw (out, in) += dy^T x */
        kcuda_gemm_rm(ctx, true, false, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in);
    if (db) {
        k_col_sum<<<(out + KCUDA_THREADS - 1) / KCUDA_THREADS, KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(n, out, dy, db);
        KCUDA_LAUNCHED();
    }
}
