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

/* The blocking of one ISA path. */
struct kcpu_gemm_arch {
    int mr, nr;     /* register tile */
    int kc, mc, nc; /* cache blocks: mc a multiple of mr, nc of nr */
    kcpu_ukr_fn ukr;
    kcpu_pack_bt_fn pack_bt;
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

#endif
