/* drape_bench.c: the XPBD drape (avatar_garment_drape) against the push-outside fit
 * (avatar_garment_build) on synthetic bodies: how much of the garment ends up inside the
 * body, how deep, how stretched the cloth is, and what it costs.
 *
 *   drape_bench [--bodies N] [--seed S] [--type T] [--length L] [--body B]
 *       (defaults: 20 bodies, seed 20261211, every type, length 0.5; --body: only body B of
 *       the N drawn)
 *
 * Bodies: the first eight are the corners of (gender, muscle, weight) in {0,1}^3 (the
 * extremes), the rest draw gender, muscle, weight, proportions uniformly in [0,1]; every
 * body draws age in [0.5, 0.875], stature in [1.5, 1.95] m (all from one xoshiro stream
 * seeded by S), height phenotype 0.5, ethnic default, arms at AVATAR_CATALOG_ARM_DOWN_DEG.
 * Garments: each of the six types (or only T) with length L, sleeve 0.5, looseness 0 (a
 * dress at length 1 is the largest cloth, about 10k vertices); the drape with
 * size NULL (cut for the wearer), no inner garment, kernels context NULL (CPU).
 *
 * Per result, over ALL vertices of the closed shell (inner layer, outer layer and rims):
 * the fraction inside the body by ray parity (tests/avatar/av_test_util.h, independent of
 * avatar/), and for those inside the distance to the nearest body triangle (brute force),
 * in mm. For the drape also d.strain (per shell vertex: mean over its cloth edges of
 * length / rest - 1; mean and max), d.fit[AVATAR_FIT_LENGTH].strain, steps, d.seconds
 * (the solver) and the whole call's wall time, d.cloth_nv. A drape that fails (e.g.
 * TRYON_ENOTSETTLED) is counted and listed, and left out of the figures.
 *
 * Output: one markdown table per type on stdout (rows push-outside and drape), then the
 * failures; one progress line per pair on stderr. Timings are wall clock of this process:
 * run it on one core (run.sh sets OMP_NUM_THREADS=1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avatar/avatar.h"
#include "common/common.h"
#include "tests/avatar/av_test_util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Squared distance from p to the triangle a b c (closest point by the triangle's Voronoi
   regions: the three vertices, the three edges, the face). */
static double tri_dist2(const float *pf, const float *af, const float *bf, const float *cf)
{
    double p[3], a[3], b[3], c[3], ab[3], ac[3], ap[3], q[3];
    for (int k = 0; k < 3; k++) {
        p[k] = pf[k], a[k] = af[k], b[k] = bf[k], c[k] = cf[k];
        ab[k] = b[k] - a[k], ac[k] = c[k] - a[k], ap[k] = p[k] - a[k];
    }
#define DOT(u, v) ((u)[0] * (v)[0] + (u)[1] * (v)[1] + (u)[2] * (v)[2])
    double d1 = DOT(ab, ap), d2 = DOT(ac, ap);
    if (d1 <= 0 && d2 <= 0) {
        memcpy(q, a, sizeof q);
        goto found;
    }
    double bp[3] = {p[0] - b[0], p[1] - b[1], p[2] - b[2]};
    double d3 = DOT(ab, bp), d4 = DOT(ac, bp);
    if (d3 >= 0 && d4 <= d3) {
        memcpy(q, b, sizeof q);
        goto found;
    }
    double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) {
        double t = d1 / (d1 - d3);
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + t * ab[k];
        goto found;
    }
    double cp[3] = {p[0] - c[0], p[1] - c[1], p[2] - c[2]};
    double d5 = DOT(ab, cp), d6 = DOT(ac, cp);
    if (d6 >= 0 && d5 <= d6) {
        memcpy(q, c, sizeof q);
        goto found;
    }
    double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) {
        double t = d2 / (d2 - d6);
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + t * ac[k];
        goto found;
    }
    double va = d3 * d6 - d5 * d4;
    if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
        double t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        for (int k = 0; k < 3; k++)
            q[k] = b[k] + t * (c[k] - b[k]);
        goto found;
    }
    {
        double den = 1.0 / (va + vb + vc), v = vb * den, w = vc * den;
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + v * ab[k] + w * ac[k];
    }
found:;
    double d[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
    return DOT(d, d);
#undef DOT
}

/* Distance (metres) from p to the nearest triangle of m, brute force. */
static double mesh_dist(const struct avatar_mesh *m, const float *p)
{
    double best = INFINITY;
    for (int t = 0; t < m->nt; t++) {
        const int32_t *f = m->tri + (size_t)t * 3;
        double d = tri_dist2(p, m->pos + (size_t)f[0] * 3, m->pos + (size_t)f[1] * 3, m->pos + (size_t)f[2] * 3);
        if (d < best)
            best = d;
    }
    return sqrt(best);
}

/* Vertices of g inside the body (parity) and the deepest of them (metres). */
static int penetration(const struct avatar_mesh *g, const struct parity_grid *pg, const struct avatar_mesh *body,
                       double *worst)
{
    int n = 0;
    *worst = 0;
    for (int i = 0; i < g->nv; i++) {
        const float *p = g->pos + (size_t)i * 3;
        if (!parity_inside(pg, p))
            continue;
        n++;
        double d = mesh_dist(body, p);
        if (d > *worst)
            *worst = d;
    }
    return n;
}

/* One result of one method on one pair. */
struct res {
    int nv, inside;
    double depth_m, call_s;
    /* drape only */
    double solver_s, strain_mean, strain_max, strain_len;
    int steps, cloth_nv;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    if (n == 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct failure { int body; enum avatar_garment_type type; char msg[240]; };

static void table_row(const char *name, const struct res *r, int n, bool drape)
{
    double *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof *tmp);
    long inside = 0, nv = 0;
    double worst_frac = 0, depth = 0, smean = 0, smax = 0, slen = 0;
    for (int i = 0; i < n; i++) {
        inside += r[i].inside, nv += r[i].nv;
        worst_frac = fmax(worst_frac, (double)r[i].inside / r[i].nv);
        depth = fmax(depth, r[i].depth_m);
        smean += r[i].strain_mean / n, slen += r[i].strain_len / n;
        smax = fmax(smax, r[i].strain_max);
    }
    printf("| %s | %d | %.3f (max %.3f) | %.1f |", name, n, nv ? 100.0 * inside / nv : 0.0, 100.0 * worst_frac,
           1e3 * depth);
    if (drape) {
        printf(" %.4f / %.4f | %+.4f |", smean, smax, slen);
        for (int i = 0; i < n; i++)
            tmp[i] = r[i].steps;
        printf(" %.0f |", median(tmp, n));
        for (int i = 0; i < n; i++)
            tmp[i] = r[i].solver_s;
        printf(" %.2f |", median(tmp, n));
    } else {
        printf(" - | - | - | - |");
    }
    for (int i = 0; i < n; i++)
        tmp[i] = r[i].call_s;
    printf(" %.3f |", median(tmp, n));
    for (int i = 0; i < n; i++)
        tmp[i] = drape ? r[i].cloth_nv : r[i].nv;
    printf(" %.0f |\n", median(tmp, n));
    free(tmp);
}

int main(int argc, char **argv)
{
    int nbodies = 20;
    uint64_t seed = 20261211;
    int only = -1;   /* a garment type, or -1 = all */
    int only_body = -1;
    float length = 0.5f;
    for (int i = 1; i < argc; i++) {
        enum avatar_garment_type ty;
        if (!strcmp(argv[i], "--bodies") && i + 1 < argc)
            nbodies = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--type") && i + 1 < argc && avatar_garment_type_parse(argv[i + 1], &ty) == TRYON_OK)
            only = (int)ty, i++;
        else if (!strcmp(argv[i], "--length") && i + 1 < argc)
            length = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--body") && i + 1 < argc)
            only_body = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: drape_bench [--bodies N] [--seed S] [--type T] [--length L] [--body B]\n");
            return 2;
        }
    }
    if (nbodies < 1 || !(length >= 0.0f && length <= 1.0f) || only_body >= nbodies) {
        fprintf(stderr, "drape_bench: --bodies must be at least 1, --length in [0, 1], --body under --bodies\n");
        return 2;
    }
    struct avatar_model *m = NULL;
    if (avatar_model_load(NULL, &m)) {
        fprintf(stderr, "drape_bench: %s\n", tryon_errmsg());
        return 1;
    }
    const int nt = AVATAR_GARMENT_NTYPES;
    struct res *push = calloc((size_t)nbodies * nt, sizeof *push), *drp = calloc((size_t)nbodies * nt, sizeof *drp);
    int npush[AVATAR_GARMENT_NTYPES] = {0}, ndrape[AVATAR_GARMENT_NTYPES] = {0};
    struct failure *fails = calloc((size_t)nbodies * nt * 2, sizeof *fails);
    int nfail = 0;
    struct avatar_body_params *bp = calloc((size_t)nbodies, sizeof *bp);
    struct rng rng;
    rng_seed(&rng, seed);
    for (int b = 0; b < nbodies; b++) {
        struct avatar_body_params *p = &bp[b];
        avatar_phenotype_default(&p->ph);
        p->ph.gender = rng_float(&rng), p->ph.muscle = rng_float(&rng), p->ph.weight = rng_float(&rng);
        p->ph.proportions = rng_float(&rng);
        p->ph.age = 0.5f + 0.375f * rng_float(&rng);
        p->stature_m = 1.5f + 0.45f * rng_float(&rng);
        p->arm_down_deg = AVATAR_CATALOG_ARM_DOWN_DEG;
        if (b < 8)   /* the extremes: corners of (gender, muscle, weight) */
            p->ph.gender = (float)(b & 1), p->ph.muscle = (float)((b >> 1) & 1), p->ph.weight = (float)((b >> 2) & 1);
    }
    for (int b = 0; b < nbodies; b++) {
        if (only_body >= 0 && b != only_body)
            continue;
        const struct avatar_body_params *p = &bp[b];
        struct avatar_mesh body;
        if (avatar_body_build(m, p, &body)) {
            fprintf(stderr, "drape_bench: body %d: %s\n", b, tryon_errmsg());
            return 1;
        }
        struct parity_grid pg;
        parity_grid_init(&pg, &body, 0.01f);
        for (int t = 0; t < nt; t++) {
            if (only >= 0 && t != only)
                continue;
            struct avatar_garment_est est = {.type = (enum avatar_garment_type)t, .length = length, .sleeve = 0.5f};
            struct avatar_mesh g;
            double t0 = now_s();
            enum tryon_status s = avatar_garment_build(m, p, &body, &est, &g);
            double t1 = now_s();
            if (s) {
                struct failure *f = &fails[nfail++];
                f->body = b, f->type = (enum avatar_garment_type)t;
                snprintf(f->msg, sizeof f->msg, "push-outside: %s", tryon_errmsg());
            } else {
                struct res *r = &push[t * nbodies + npush[t]++];
                r->nv = g.nv, r->call_s = t1 - t0;
                r->inside = penetration(&g, &pg, &body, &r->depth_m);
                fprintf(stderr, "body %2d %-11s push-outside: %.2f s, inside %d/%d, depth %.1f mm\n", b,
                        avatar_garment_type_name(est.type), r->call_s, r->inside, r->nv, 1e3 * r->depth_m);
                avatar_mesh_free(&g);
            }
            struct avatar_draped d;
            t0 = now_s();
            s = avatar_garment_drape(m, p, &body, &est, NULL, NULL, NULL, &d);
            t1 = now_s();
            if (s) {
                struct failure *f = &fails[nfail++];
                f->body = b, f->type = (enum avatar_garment_type)t;
                snprintf(f->msg, sizeof f->msg, "drape (%d steps, %.1f s): %s", d.steps, (double)d.seconds,
                         tryon_errmsg());
                fprintf(stderr, "body %2d %-11s drape FAILED: %s\n", b, avatar_garment_type_name(est.type),
                        f->msg);
                avatar_draped_free(&d);
                continue;
            }
            struct res *r = &drp[t * nbodies + ndrape[t]++];
            r->nv = d.mesh.nv, r->call_s = t1 - t0, r->solver_s = d.seconds, r->steps = d.steps;
            r->cloth_nv = d.cloth_nv, r->strain_len = d.fit[AVATAR_FIT_LENGTH].strain;
            double sm = 0, sx = -INFINITY;
            for (int i = 0; i < d.mesh.nv; i++)
                sm += d.strain[i], sx = fmax(sx, d.strain[i]);
            r->strain_mean = sm / d.mesh.nv, r->strain_max = sx;
            r->inside = penetration(&d.mesh, &pg, &body, &r->depth_m);
            fprintf(stderr, "body %2d %-11s drape: %d steps %.2f s (call %.2f s), inside %d/%d, depth %.1f mm, "
                    "strain mean %.4f max %.4f\n", b, avatar_garment_type_name(est.type), r->steps, r->solver_s,
                    r->call_s, r->inside, r->nv, 1e3 * r->depth_m, r->strain_mean, r->strain_max);
            avatar_draped_free(&d);
        }
        parity_grid_free(&pg);
        avatar_mesh_free(&body);
    }

    if (only_body >= 0)
        printf("Body %d of %d drawn", only_body, nbodies);
    else
        printf("Bodies: %d", nbodies);
    printf(" (seed %llu; the first 8 are the corners of gender, muscle, weight in {0,1}), arms %.0f deg "
           "down from the A-pose; garments: length %.2g, sleeve 0.5, looseness 0; drape: size NULL, no under layer, "
           "CPU.\n\n", (unsigned long long)seed, (double)AVATAR_CATALOG_ARM_DOWN_DEG, (double)length);
    printf("Inside fraction and depth: over all vertices of the closed shell (inner layer, outer layer, rims); "
           "inside = ray parity against the body; depth = distance of an inside vertex to the nearest body "
           "triangle. Inside %% = pooled over pairs (max = the worst pair). Strain: d.strain per shell vertex "
           "(mean over pairs of the per-pair mean / max over all), length = mean over pairs of "
           "d.fit[length].strain. Medians over the pairs that succeeded; push-outside's last column is its "
           "shell's vertex count.\n\n");
    for (int t = 0; t < nt; t++) {
        if (only >= 0 && t != only)
            continue;
        printf("### %s\n\n", avatar_garment_type_name((enum avatar_garment_type)t));
        printf("| method | pairs | inside %% | worst depth mm | strain mean / worst vertex | length strain | "
               "steps (median) | solver s (median) | call s (median) | cloth vertices (median) |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|\n");
        table_row("push-outside", push + (size_t)t * nbodies, npush[t], false);
        table_row("drape", drp + (size_t)t * nbodies, ndrape[t], true);
        printf("\n");
    }
    int nbuild_fail = 0;
    for (int i = 0; i < nfail; i++)
        nbuild_fail += !strncmp(fails[i].msg, "push-outside", 12);
    int npairs = (only_body >= 0 ? 1 : nbodies) * (only >= 0 ? 1 : nt);
    printf("Failures: %d of %d drapes, %d of %d push-outside builds.\n", nfail - nbuild_fail, npairs, nbuild_fail,
           npairs);
    for (int i = 0; i < nfail; i++) {
        const struct avatar_body_params *p = &bp[fails[i].body];
        printf("- body %d (gender %.2f muscle %.2f weight %.2f proportions %.2f age %.2f, %.2f m) %s: %s\n",
               fails[i].body, (double)p->ph.gender, (double)p->ph.muscle, (double)p->ph.weight,
               (double)p->ph.proportions, (double)p->ph.age, (double)p->stature_m,
               avatar_garment_type_name(fails[i].type), fails[i].msg);
    }
    free(push), free(drp), free(fails), free(bp);
    avatar_model_free(m);
    return 0;
}
