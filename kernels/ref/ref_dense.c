/* ref_dense.c: reference GEMM and fully connected layer, triple loops with double sums.
 * Row-major throughout (kernels.h); linear's weight is (OUT, IN) as torch's nn.Linear. */
#include "kernels/ref/ref.h"

void kern_ref_gemm(struct kern_ctx *ctx, bool ta, bool tb, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                float av = ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p];
                float bv = tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j];
                acc += (double)av * (double)bv;
            }
            float *cij = &c[(size_t)i * ldc + j];
            /* beta == 0 does not read C (BLAS semantics: C may hold garbage or NaN) */
            double prev = beta == 0.0f ? 0.0 : (double)beta * (double)*cij;
            *cij = (float)((double)alpha * acc + prev);
        }
    }
}

void kern_ref_linear_fwd(struct kern_ctx *ctx, int n, int in, int out, const float *x, const float *w,
                         const float *b, float *y)
{
    for (int i = 0; i < n; i++) {
        for (int o = 0; o < out; o++) {
            double acc = b ? (double)b[o] : 0.0;
            for (int p = 0; p < in; p++)
                acc += (double)x[(size_t)i * in + p] * (double)w[(size_t)o * in + p];
            y[(size_t)i * out + o] = (float)acc;
        }
    }
}

void kern_ref_linear_bwd(struct kern_ctx *ctx, int n, int in, int out, const float *dy, const float *x,
                         const float *w, float *dx, float *dw, float *db)
{
    if (dx) {
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < in; p++) {
                double acc = 0.0;
                for (int o = 0; o < out; o++)
                    acc += (double)dy[(size_t)i * out + o] * (double)w[(size_t)o * in + p];
                dx[(size_t)i * in + p] += (float)acc;
            }
        }
    }
    if (dw) {
        for (int o = 0; o < out; o++) {
            for (int p = 0; p < in; p++) {
                double acc = 0.0;
                for (int i = 0; i < n; i++)
                    acc += (double)dy[(size_t)i * out + o] * (double)x[(size_t)i * in + p];
                dw[(size_t)o * in + p] += (float)acc;
            }
        }
    }
    if (db) {
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int i = 0; i < n; i++)
                acc += (double)dy[(size_t)i * out + o];
            db[o] += (float)acc;
        }
    }
}
