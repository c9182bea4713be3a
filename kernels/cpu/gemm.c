/* gemm.c: the packed, cache-blocked SGEMM driver of the fast CPU backend, its packing
 * routines and the portable micro-kernel.
 *
 * Loop nest (BLIS): for each NC-wide column block of C, for each KC-deep slice of k,
 * pack op(B) (kc x nc) into NR-wide panels; for each MC-tall row block, pack op(A)
 * (mc x kc) into MR-tall panels; then every MR x NR tile of the block runs the
 * micro-kernel over kc. Transposes are absorbed by the packing; ragged edges are packed
 * with zeros and the micro-kernel writes only the valid part of its tile.
 *
 * Threads: C is cut into one slab per thread along its longer side, in whole register
 * tiles; each thread runs the blocked loops on its slab with its own packing buffers, so
 * there is no barrier inside the call (barriers cost a scheduler slice when the cores are
 * shared). Every element of C gets the same k slices in the same order, and the
 * micro-kernels compute an element identically wherever its tile lies, so the results are
 * bit-identical for 1..N threads.
 *
 * kcpu_cgemm is the convolution-forward variant (single-threaded; conv.c shares the work):
 * A read in place, B panels produced by a callback (implicit im2col), bias and activation
 * in the micro-kernel's write-back (kcpu_ukr_ep_fn). */
#include "kernels/cpu/kcpu.h"

#include <assert.h>
#include <string.h>

#include <omp.h>

static const struct kcpu_gemm_arch arch_generic = {KCPU_GENERIC_MR, KCPU_GENERIC_NR, 256, 128, 2048,
                                                   kcpu_ukr_generic, NULL, kcpu_ukr_ep_generic};
static const struct kcpu_gemm_arch arch_avx2 = {KCPU_AVX2_MR, KCPU_AVX2_NR, 256, 144, 4096, kcpu_ukr_avx2, NULL,
                                                kcpu_ukr_ep_avx2};
static const struct kcpu_gemm_arch arch_avx512 = {KCPU_AVX512_MR, KCPU_AVX512_NR, 256, 144, 4096,
                                                  kcpu_ukr_avx512, kcpu_pack_bt_avx512, kcpu_ukr_ep_avx512};

const struct kcpu_gemm_arch *kcpu_gemm_arch(enum kcpu_isa isa)
{
    switch (isa) {
    case KCPU_AVX512: return &arch_avx512;
    case KCPU_AVX2: return &arch_avx2;
    default: return &arch_generic;
    }
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* Floats of one thread's workspace for one arch: packed B block (kc x nc rounded to NR)
 * + packed A block (mc rounded to MR x kc), each rounded to 16 floats so every block
 * stays 64-byte aligned. */
static size_t ws_for(const struct kcpu_gemm_arch *ar, int m, int n, int k)
{
    size_t kc = (size_t)imin(k, ar->kc);
    size_t nb = round_up(kc * round_up((size_t)imin(n, ar->nc), (size_t)ar->nr), 16);
    size_t na = round_up(kc * round_up((size_t)imin(m, ar->mc), (size_t)ar->mr), 16);
    return nb + na;
}

size_t kcpu_gemm_ws(int m, int n, int k, int threads)
{
    size_t w = 0;
    for (int i = KCPU_GENERIC; i <= KCPU_AVX512; i++) {
        size_t s = ws_for(kcpu_gemm_arch((enum kcpu_isa)i), m, n, k);
        w = s > w ? s : w;
    }
    return w * (size_t)(threads > 1 ? threads : 1);
}

/* Pack rows i0..i0+mr-1, columns p0..p0+kc-1 of op(A) into dst[p*MR + i], zero rows
 * mr..MR-1. op(A)(i,p) = a[i*lda + p], or a[p*lda + i] when ta. */
static void pack_a(bool ta, const float *a, int lda, int i0, int mr, int p0, int kc, int MR, float *dst)
{
    if (!ta) {
        for (int i = 0; i < mr; i++) {
            const float *src = a + (size_t)(i0 + i) * lda + p0;
            for (int p = 0; p < kc; p++)
                dst[(size_t)p * MR + i] = src[p];
        }
        for (int i = mr; i < MR; i++)
            for (int p = 0; p < kc; p++)
                dst[(size_t)p * MR + i] = 0.0f;
    } else {
        for (int p = 0; p < kc; p++) {
            const float *src = a + (size_t)(p0 + p) * lda + i0;
            float *d = dst + (size_t)p * MR;
            for (int i = 0; i < mr; i++)
                d[i] = src[i];
            for (int i = mr; i < MR; i++)
                d[i] = 0.0f;
        }
    }
}

/* Pack rows p0..p0+kc-1, columns j0..j0+nr-1 of op(B) into dst[p*NR + j], zero columns
 * nr..NR-1. op(B)(p,j) = b[p*ldb + j], or b[j*ldb + p] when tb. */
static void pack_b(bool tb, const float *b, int ldb, int p0, int kc, int j0, int nr, int NR, float *dst)
{
    if (!tb) {
        if (nr == NR && (NR == 8 || NR == 16 || NR == 32)) {
            /* whole panels: fixed-size copies the compiler turns into vector moves */
            for (int p = 0; p < kc; p++) {
                const float *src = b + (size_t)(p0 + p) * ldb + j0;
                float *d = dst + (size_t)p * NR;
                if (NR == 32)
                    memcpy(d, src, 32 * sizeof(float));
                else if (NR == 16)
                    memcpy(d, src, 16 * sizeof(float));
                else
                    memcpy(d, src, 8 * sizeof(float));
            }
            return;
        }
        for (int p = 0; p < kc; p++) {
            const float *src = b + (size_t)(p0 + p) * ldb + j0;
            float *d = dst + (size_t)p * NR;
            for (int j = 0; j < nr; j++)
                d[j] = src[j];
            for (int j = nr; j < NR; j++)
                d[j] = 0.0f;
        }
    } else {
        /* A transpose, 16 values of k (one cache line) per source row at a time: the NR
         * source rows are often a power-of-two stride apart and share L1 sets, so each
         * line must be used up in one visit. */
        const float *src = b + (size_t)j0 * ldb + p0;
        for (int pb = 0; pb < kc; pb += 16) {
            int pe = pb + 16 < kc ? pb + 16 : kc;
            for (int j = 0; j < nr; j++) {
                const float *sj = src + (size_t)j * ldb;
                for (int p = pb; p < pe; p++)
                    dst[(size_t)p * NR + j] = sj[p];
            }
            for (int p = pb; p < pe; p++)
                for (int j = nr; j < NR; j++)
                    dst[(size_t)p * NR + j] = 0.0f;
        }
    }
}

/* C = beta C over m x n (beta == 0 clears, NaN included). */
static void scale_c(int m, int n, float beta, float *c, int ldc)
{
    if (beta == 1.0f)
        return;
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        if (beta == 0.0f)
            memset(row, 0, (size_t)n * sizeof(float));
        else
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
}

/* The blocked product of rows [m0, m1) and columns [n0, n1) of C on the calling thread,
 * with its own packing buffers at ws. */
static void gemm_part(const struct kcpu_gemm_arch *ar, bool ta, bool tb, int m0, int m1, int n0, int n1, int k,
                      float alpha, const float *a, int lda, const float *apk, int m, const float *b, int ldb,
                      float beta, float *c, int ldc, float *ws)
{
    const int MR = ar->mr, NR = ar->nr, KC = ar->kc, MC = ar->mc, NC = ar->nc;
    const kcpu_ukr_fn ukr = ar->ukr;
    float *bp = ws;
    float *ap = ws + round_up((size_t)imin(k, KC) * round_up((size_t)imin(n1 - n0, NC), (size_t)NR), 16);
    for (int jc = n0; jc < n1; jc += NC) {
        int nc = imin(NC, n1 - jc);
        int npan = (nc + NR - 1) / NR;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = imin(KC, k - pc);
            float bt = pc == 0 ? beta : 1.0f;
            for (int jp = 0; jp < npan; jp++) {
                float *dst = bp + (size_t)jp * NR * kc;
                if (tb && ar->pack_bt)
                    ar->pack_bt(b, ldb, pc, kc, jc + jp * NR, imin(NR, nc - jp * NR), dst);
                else
                    pack_b(tb, b, ldb, pc, kc, jc + jp * NR, imin(NR, nc - jp * NR), NR, dst);
            }
            for (int ic = m0; ic < m1; ic += MC) {
                int mc = imin(MC, m1 - ic);
                int mpan = (mc + MR - 1) / MR;
                const float *apan; /* the mpan packed panels of rows ic .. ic+mc */
                if (apk) {
                    apan = apk + (size_t)pc * round_up((size_t)m, (size_t)MR) + (size_t)ic * kc;
                } else {
                    for (int ip = 0; ip < mpan; ip++)
                        pack_a(ta, a, lda, ic + ip * MR, imin(MR, mc - ip * MR), pc, kc, MR,
                               ap + (size_t)ip * MR * kc);
                    apan = ap;
                }
                for (int jp = 0; jp < npan; jp++)
                    for (int ip = 0; ip < mpan; ip++)
                        ukr(kc, apan + (size_t)ip * MR * kc, bp + (size_t)jp * NR * kc,
                            c + (size_t)(ic + ip * MR) * ldc + jc + jp * NR, ldc, alpha, bt,
                            imin(MR, mc - ip * MR), imin(NR, nc - jp * NR));
            }
        }
    }
}

/* The threaded driver behind kcpu_sgemm and kcpu_sgemm_pa: apk (may be NULL) is A
 * packed by kcpu_gemm_pack_a. */
static void sgemm(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                  const float *apk, const float *b, int ldb, float beta, float *c, int ldc, float *ws)
{
    assert(m >= 0 && n >= 0 && k >= 0 && threads >= 1);
    if (m == 0 || n == 0)
        return;
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    const struct kcpu_gemm_arch *ar = kcpu_gemm_arch(kcpu_isa());
    /* Split C into one slab per thread along its longer side (in register tiles), so the
     * threads never wait for each other inside the call: each packs what it needs. Small
     * products run on the calling thread. */
    int mt = (m + ar->mr - 1) / ar->mr, nt_ = (n + ar->nr - 1) / ar->nr;
    bool split_n = nt_ >= mt;
    int units = split_n ? nt_ : mt;
    int nt = 2.0 * m * n * k < 4.0e6 ? 1 : imin(threads, units);
    size_t per = kcpu_gemm_ws(m, n, k, 1);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = nt > 1 ? omp_get_thread_num() : 0;
        int u0 = (int)((long)units * t / nt), u1 = (int)((long)units * (t + 1) / nt);
        float *w = ws + per * (size_t)t;
        if (split_n)
            gemm_part(ar, ta, tb, 0, m, u0 * ar->nr, imin(n, u1 * ar->nr), k, alpha, a, lda, apk, m, b, ldb, beta, c,
                      ldc, w);
        else
            gemm_part(ar, ta, tb, u0 * ar->mr, imin(m, u1 * ar->mr), 0, n, k, alpha, a, lda, apk, m, b, ldb, beta, c,
                      ldc, w);
    }
}

void kcpu_sgemm(int threads, bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                const float *b, int ldb, float beta, float *c, int ldc, float *ws)
{
    sgemm(threads, ta, tb, m, n, k, alpha, a, lda, NULL, b, ldb, beta, c, ldc, ws);
}

size_t kcpu_gemm_apack_size(int m, int k)
{
    size_t w = 0;
    for (int i = KCPU_GENERIC; i <= KCPU_AVX512; i++) {
        size_t s = round_up((size_t)m, (size_t)kcpu_gemm_arch((enum kcpu_isa)i)->mr) * (size_t)k;
        w = s > w ? s : w;
    }
    return w;
}

/* Layout: for each KC slice pc (depth kc), the MR-row panels of all m rows (rounded up
 * to MR), panel ip at (pc * m_r + ip * MR * kc), each dst[p*MR + i] as pack_a writes. */
void kcpu_gemm_pack_a(bool ta, int m, int k, const float *a, int lda, float *dst)
{
    const struct kcpu_gemm_arch *ar = kcpu_gemm_arch(kcpu_isa());
    const int MR = ar->mr, KC = ar->kc;
    size_t mr_ = round_up((size_t)m, (size_t)MR);
    for (int pc = 0; pc < k; pc += KC) {
        int kc = imin(KC, k - pc);
        for (int i0 = 0; i0 < m; i0 += MR)
            pack_a(ta, a, lda, i0, imin(MR, m - i0), pc, kc, MR, dst + (size_t)pc * mr_ + (size_t)i0 * kc);
    }
}

void kcpu_sgemm_pa(int threads, int m, int n, int k, float alpha, const float *apk, bool tb, const float *b,
                   int ldb, float beta, float *c, int ldc, float *ws)
{
    sgemm(threads, false, tb, m, n, k, alpha, NULL, 0, apk, b, ldb, beta, c, ldc, ws);
}

/* ----- convolution-style products (kcpu_cgemm) -----------------------------------------
 * The depth k is cut into equal slices of at most the arch's KC (288 = 2 x 144 rather than
 * 256 + 32), so no slice is a short one that pays a full C round trip for little work.
 * The slicing depends on k only, never on the thread count. Columns run in blocks of
 * CG_BLOCK_FLOATS / kslice (whole panels), so a packed B block stays in L2. */
#define CG_BLOCK_FLOATS 65536

int kcpu_cgemm_kslice(int k)
{
    int kc = kcpu_gemm_arch(kcpu_isa())->kc;
    int ns = (k + kc - 1) / kc;
    return ns > 0 ? (k + ns - 1) / ns : 1;
}

/* Columns per block for slices of depth ks on an arch with panel width nr. */
static int cg_cols(int ks, int nr)
{
    int c = CG_BLOCK_FLOATS / (ks > 0 ? ks : 1) / nr * nr;
    return c < nr ? nr : c;
}

size_t kcpu_cgemm_ws(int n, int k)
{
    size_t w = 0, ks = (size_t)kcpu_cgemm_kslice(k);
    for (int i = KCPU_GENERIC; i <= KCPU_AVX512; i++) {
        const struct kcpu_gemm_arch *ar = kcpu_gemm_arch((enum kcpu_isa)i);
        size_t s = ks * round_up((size_t)imin(n, cg_cols((int)ks, ar->nr)), (size_t)ar->nr);
        w = s > w ? s : w;
    }
    return round_up(w, 16);
}

void kcpu_cgemm(int m, int n, int k, const float *a, int lda, kcpu_pack_b_fn pack, void *user, float *c, int ldc,
                const struct kcpu_ep *ep, float *ws)
{
    assert(m >= 0 && n >= 0 && k >= 1);
    assert(!(ep->accumulate && ep->bias));
    const struct kcpu_gemm_arch *ar = kcpu_gemm_arch(kcpu_isa());
    const int MR = ar->mr, NR = ar->nr, MC = ar->mc, KS = kcpu_cgemm_kslice(k);
    const int NB = cg_cols(KS, NR);
    const kcpu_ukr_ep_fn ukr = ar->ukr_ep;
    for (int jc = 0; jc < n; jc += NB) {
        int nc = imin(NB, n - jc);
        int npan = (nc + NR - 1) / NR;
        for (int pc = 0; pc < k; pc += KS) {
            int kc = imin(KS, k - pc);
            bool first = pc == 0, last = pc + kc >= k;
            for (int jp = 0; jp < npan; jp++)
                pack(user, pc, kc, jc + jp * NR, imin(NR, nc - jp * NR), NR, ws + (size_t)jp * NR * kc);
            for (int ic = 0; ic < m; ic += MC) {
                int mc = imin(MC, m - ic);
                int mpan = (mc + MR - 1) / MR;
                for (int jp = 0; jp < npan; jp++)
                    for (int ip = 0; ip < mpan; ip++) {
                        int row = ic + ip * MR;
                        ukr(kc, a + (size_t)row * lda + pc, lda, ws + (size_t)jp * NR * kc,
                            c + (size_t)row * ldc + jc + jp * NR, ldc,
                            first && ep->bias ? ep->bias + row : NULL, !first || ep->accumulate,
                            last ? ep->act : KCPU_ACT_NONE, ep->slope, imin(MR, mc - ip * MR), imin(NR, nc - jp * NR));
                    }
            }
        }
    }
}

/* Portable micro-kernel (MR x NR accumulators in an array the compiler keeps in
 * vector registers where it can). */
void kcpu_ukr_generic(int kc, const float *restrict ap, const float *restrict bp, float *restrict c, long ldc,
                      float alpha, float beta, int mr, int nr)
{
    enum { MR = KCPU_GENERIC_MR, NR = KCPU_GENERIC_NR };
    float acc[MR][NR];
    memset(acc, 0, sizeof(acc));
    for (int p = 0; p < kc; p++) {
        const float *bq = bp + (size_t)p * NR;
        for (int i = 0; i < MR; i++) {
            float av = ap[(size_t)p * MR + i];
            for (int j = 0; j < NR; j++)
                acc[i][j] += av * bq[j];
        }
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++)
                ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++)
                ci[j] = beta * ci[j] + alpha * acc[i][j];
    }
}

/* The portable micro-kernel with an epilogue (kcpu_ukr_ep_fn). */
void kcpu_ukr_ep_generic(int kc, const float *restrict a, long lda, const float *restrict bp, float *restrict c,
                         long ldc, const float *bias, bool load_c, int act, float slope, int mr, int nr)
{
    enum { MR = KCPU_GENERIC_MR, NR = KCPU_GENERIC_NR };
    float acc[MR][NR];
    memset(acc, 0, sizeof(acc));
    for (int p = 0; p < kc; p++) {
        const float *bq = bp + (size_t)p * NR;
        for (int i = 0; i < MR; i++) {
            float av = a[(i < mr ? i : mr - 1) * lda + p];
            for (int j = 0; j < NR; j++)
                acc[i][j] += av * bq[j];
        }
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < nr; j++) {
            float v = acc[i][j];
            if (load_c)
                v = v + ci[j];
            else if (bias)
                v = v + bias[i];
            if (act == KCPU_ACT_RELU)
                v = v > 0.0f ? v : 0.0f;
            else if (act == KCPU_ACT_LEAKY)
                v = v > 0.0f ? v : v * slope;
            ci[j] = v;
        }
    }
}
