/* kcpu.h: internal header of kernels/cpu/, the fast CPU backend. Not included outside
 * kernels/cpu/ (and its tests, which link the same static library).
 *
 * The backend picks one instruction set once per process (kcpu_isa): AVX-512 > AVX2 >
 * generic C, the widest the processor supports, or a narrower one forced by the
 * environment variable TRYON_CPU_ISA=avx512|avx2|generic (a wider one than the processor
 * has is refused with a warning). kcpu_isa_force() lets tests switch paths in-process.
 *
 * GEMM: row-major C (m,n) = alpha op(A) op(B) + beta C, packed and cache-blocked
 * (BLIS-style loops: NC columns of B, KC deep, MC rows of A; MR x NR register tiles).
 * Each element of C is produced by one thread with the k-reduction in a fixed order, so
 * results do not depend on the thread count. */
#ifndef TRYON_KERNELS_CPU_KCPU_H
#define TRYON_KERNELS_CPU_KCPU_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/kernels.h"

enum kcpu_isa { KCPU_GENERIC = 0, KCPU_AVX2 = 1, KCPU_AVX512 = 2 };

/* The ISA in use (detected on first call, then fixed unless forced). */
enum kcpu_isa kcpu_isa(void);
/* Widest ISA this processor supports. */
enum kcpu_isa kcpu_isa_max(void);
/* Use `isa` from now on (tests, benchmarks). Asserts isa <= kcpu_isa_max(). */
void kcpu_isa_force(enum kcpu_isa isa);
const char *kcpu_isa_name(enum kcpu_isa isa);

/* A micro-kernel: C tile (mr x nr valid of MR x NR) = alpha * Ap Bp + beta * C, where
 * Ap is MR x kc packed k-major (ap[p*MR + i]) and Bp is kc x NR packed (bp[p*NR + j]).
 * beta == 0 writes C without reading it. */
typedef void (*kcpu_ukr_fn)(int kc, const float *ap, const float *bp, float *c, long ldc, float alpha,
                            float beta, int mr, int nr);

/* Packs rows p0..p0+kc-1, columns j0..j0+nr-1 of op(B) = B^T (B stored (n, k), leading
 * dimension ldb) into an NR-wide panel dst[p*NR + j], zero columns nr..NR-1 (dst 64-byte
 * aligned). Optional per ISA; the generic loop is used where it is NULL. */
typedef void (*kcpu_pack_bt_fn)(const float *b, int ldb, int p0, int kc, int j0, int nr, float *dst);

/* Activations a product tile's write-back can apply (kcpu_ukr_ep_fn, kcpu_cgemm). */
enum kcpu_act { KCPU_ACT_NONE = 0, KCPU_ACT_RELU = 1, KCPU_ACT_LEAKY = 2 };

/* A micro-kernel with an epilogue: C tile (mr x nr valid) = act(A Bp + add), where A is
 * read in place (rows a + i*lda, i < mr, columns 0..kc-1: no packing, the broadcasts read
 * the rows directly), Bp is packed as for kcpu_ukr_fn, add is C itself when load_c, else
 * bias[i] on row i when bias is not NULL, else nothing; act is an enum kcpu_act (slope:
 * leaky ReLU's negative slope), computed as kfn_relu / kfn_leaky_relu do. Same products
 * and sums as kcpu_ukr_fn with alpha = 1 and beta = load_c (a C prefilled with the bias
 * gives the same bits as bias). */
typedef void (*kcpu_ukr_ep_fn)(int kc, const float *a, long lda, const float *bp, float *c, long ldc,
                               const float *bias, bool load_c, int act, float slope, int mr, int nr);

/* The blocking of one ISA path. */
struct kcpu_gemm_arch {
    int mr, nr;     /* register tile */
    int kc, mc, nc; /* cache blocks: mc a multiple of mr, nc of nr */
    kcpu_ukr_fn ukr;
    kcpu_pack_bt_fn pack_bt;
    kcpu_ukr_ep_fn ukr_ep;
};
const struct kcpu_gemm_arch *kcpu_gemm_arch(enum kcpu_isa isa);

/* Micro-kernels, one per file compiled with that ISA's flags. */
void kcpu_ukr_generic(int kc, const float *ap, const float *bp, float *c, long ldc, float alpha, float beta,
                      int mr, int nr);
void kcpu_ukr_avx2(int kc, const float *ap, const float *bp, float *c, long ldc, float alpha, float beta,
                   int mr, int nr);
void kcpu_ukr_avx512(int kc, const float *ap, const float *bp, float *c, long ldc, float alpha, float beta,
                     int mr, int nr);
void kcpu_pack_bt_avx512(const float *b, int ldb, int p0, int kc, int j0, int nr, float *dst);
void kcpu_ukr_ep_generic(int kc, const float *a, long lda, const float *bp, float *c, long ldc, const float *bias,
                         bool load_c, int act, float slope, int mr, int nr);
void kcpu_ukr_ep_avx2(int kc, const float *a, long lda, const float *bp, float *c, long ldc, const float *bias,
                      bool load_c, int act, float slope, int mr, int nr);
void kcpu_ukr_ep_avx512(int kc, const float *a, long lda, const float *bp, float *c, long ldc, const float *bias,
                        bool load_c, int act, float slope, int mr, int nr);
#define KCPU_GENERIC_MR 4
#define KCPU_GENERIC_NR 8
#define KCPU_AVX2_MR 6
#define KCPU_AVX2_NR 16
#define KCPU_AVX512_MR 8
#define KCPU_AVX512_NR 32

/* Floats of workspace kcpu_sgemm needs for these sizes on `threads` threads (packed A
 * and B blocks per thread). */
size_t kcpu_gemm_ws(int m, int n, int k, int threads);
/* C = alpha op(A) op(B) + beta C with the current ISA on `threads` OpenMP threads.
 * ws: kcpu_gemm_ws(m, n, k, threads) floats, 64-byte aligned. beta == 0 ignores C's old contents
 * (NaN included). k == 0 gives C = beta C. */
void kcpu_sgemm(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc, float *ws);

/* A operand packed once and reused by many products (a conv's weights over images and
 * pixel chunks). kcpu_gemm_pack_a writes op(A) (m, k) in the current ISA's panel layout
 * into dst (kcpu_gemm_apack_size(m, k) floats, 64-byte aligned); kcpu_sgemm_pa is
 * kcpu_sgemm with that A. The ISA must not change between the two calls. Results are
 * bit-identical to kcpu_sgemm's. */
size_t kcpu_gemm_apack_size(int m, int k);
void kcpu_gemm_pack_a(bool ta, int m, int k, const float *a, int lda, float *dst);
void kcpu_sgemm_pa(int threads, int m, int n, int k, float alpha, const float *apk, bool tb, const float *b,
                   int ldb, float beta, float *c, int ldc, float *ws);

/* Convolution-style product on the calling thread: C (m, n) = act(A B + bias), or
 * C += A B when ep->accumulate, where
 * - A (m, k) is read in place (row-major, leading dimension lda: a conv's weights as
 *   they are, so nothing is packed per call), in slices of depth kcpu_cgemm_kslice(k);
 * - B (k, n) is never stored whole: pack(user, p0, kc, j0, nr, NR, dst) writes rows
 *   p0..p0+kc-1, columns j0..j0+nr-1 of B as one NR-wide panel dst[p*NR + j] (columns
 *   nr..NR-1 zero), just before the micro-kernels use it (implicit im2col);
 * - the bias (m floats) is added in the first slice and the activation applied in the
 *   last, inside the micro-kernel's write-back (no extra pass over C).
 * Each element of C gets the same slices in the same order wherever its tile lies and
 * whichever thread runs it. ws: kcpu_cgemm_ws(n, k) floats, 64-byte aligned. */
struct kcpu_ep {
    const float *bias; /* m floats, or NULL; not with accumulate */
    bool accumulate;   /* C += A B instead of C = A B (+ bias) */
    int act;           /* enum kcpu_act, applied to the final C */
    float slope;       /* leaky ReLU's negative slope */
};
typedef void (*kcpu_pack_b_fn)(void *user, int p0, int kc, int j0, int nr, int NR, float *dst);
int kcpu_cgemm_kslice(int k);
size_t kcpu_cgemm_ws(int n, int k);
void kcpu_cgemm(int m, int n, int k, const float *a, int lda, kcpu_pack_b_fn pack, void *user, float *c, int ldc,
                const struct kcpu_ep *ep, float *ws);

/* The implicit im2col of one image and group, for kcpu_cgemm: B = col (CRS, P) is
 * packed panel by panel straight from the image, never stored whole. Column j of a panel
 * is output pixel p0 + j0 + j; row q = (c*R + r)*S + s reads src[c*cstride + ih*rstride +
 * coloff[s] + ow] with ih = oh*sh - ph + r*dh, zero where ih leaves [0, H) or ow leaves
 * the tap's valid columns [lo[s], hi[s]). src is the image (stride 1: coloff = s*dw - pw)
 * or its column-phase split copy xs (coloff = phase*wp + shift), where the taps of a
 * strided conv are contiguous runs too. Packed with plain C loops (conv.c:
 * kcpu_pack_im2col_generic) or, on the AVX-512 path, with masked vector loads
 * (kcpu_pack_im2col_avx512); both write the same values. */
struct kcpu_im2col {
    const struct kern_conv2d *d; /* the conv (its input and output sizes, strides, padding) */
    const float *src;     /* xg (Cg, H, W) or xs (Cg, H, sw, wp) */
    size_t cstride;       /* floats between channels of src */
    size_t rstride;       /* floats between input rows of src */
    int p0;               /* output pixel of column 0 */
    bool direct;          /* 1x1, stride 1, no padding: row q is channel q's plane */
    const int *coloff;    /* per tap column s: offset of output column 0 in a row of src */
    const int *lo, *hi;   /* per s: output columns whose input column lies in [0, W) */
};

/* The pixels [P0, P0 + nr) of one panel as runs within output rows: run k covers output
 * columns [ow0, ow1) of a row whose first tap row is ih0 (= oh*sh - ph), and column ow
 * goes to panel column ow + jo. Returns the number of runs (at most nr). */
struct kcpu_run {
    int ih0, ow0, ow1, jo;
};
static inline int kcpu_im2col_runs(const struct kern_conv2d *d, int P0, int nr, struct kcpu_run *run)
{
    int n = 0;
    for (int p = P0; p < P0 + nr;) {
        int oh = p / d->ow, ow0 = p % d->ow;
        int ow1 = d->ow < ow0 + (P0 + nr - p) ? d->ow : ow0 + (P0 + nr - p);
        run[n].ih0 = oh * d->stride_h - d->pad_h;
        run[n].ow0 = ow0;
        run[n].ow1 = ow1;
        run[n].jo = p - P0 - ow0;
        n++;
        p += ow1 - ow0;
    }
    return n;
}

/* kcpu_pack_b_fn's for kcpu_cgemm with user = a struct kcpu_im2col (NR <= 32). */
void kcpu_pack_im2col_generic(void *user, int q0, int kc, int j0, int nr, int NR, float *dst);
void kcpu_pack_im2col_avx512(void *user, int q0, int kc, int j0, int nr, int NR, float *dst);

#endif
