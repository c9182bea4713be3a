/* test_rt_bsdf.c: the BSDFs on their own (rt_bsdf_eval / _pdf / _sample), no rendering.
 *
 * Materials: DIFFUSE and BACKDROP (albedo 1), SKIN at roughness 0.45 and 0.3 (albedo 1 and
 * the default skin), CLOTH with the default sheen, CLOTH without sheen with transmission
 * 0.4 (albedo 1), CLOTH with full white sheen (the scaled-down case).
 * (1) Energy: the directional albedo  int f(wo, wi) |cos_i| dwi  over the sphere, by a
 *     midpoint quadrature (512 x 1024 in cos_i x phi; quadrature error under 0.1% for
 *     these lobes), for wo at 5 angles from 0 to 85 degrees: <= 1.005 for every material,
 *     and within 1% of 1 for the lossless ones (DIFFUSE, BACKDROP, CLOTH without sheen).
 * (2) Reciprocity: f(wo, wi) = f(wi, wo) for 2000 random pairs above the surface, and
 *     f(wo, wi) = f(-wi, -wo) for transmission, to 1e-5 relative.
 * (3) Sampling against the pdf: 400k samples per (material, wo) binned over the sphere
 *     (20 bins in cos theta x 40 in phi, plus one bin for rejected samples), expected
 *     counts from the pdf integrated over each bin (16 x 16 midpoint points per bin); bins
 *     under 5 expected pooled; Pearson chi-square with a Wilson-Hilferty p-value, which must
 *     be above 1e-3 (fixed seeds: the outcome is deterministic). Also the sampled pdf equals
 *     rt_bsdf_pdf of the sampled direction (1e-4 relative) and the sampler's weight
 *     f cos / pdf never exceeds 3 (no fireflies from the BSDF sampler; the largest, 2.6, is
 *     the full white sheen seen at 75 degrees).
 * (4) MIS: the power heuristic weights of two strategies sum to 1 (1e-6) for random
 *     density pairs, including zeros. (The renderer's combination of light and BSDF
 *     sampling is checked unbiased by test_rt_plane and test_rt_env.)
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "raytrace/raytrace.h"

struct mcase { const char *name; struct rt_material m; bool lossless; };

static int make_cases(struct mcase *c)
{
    const float white[3] = { 1, 1, 1 }, skin[3] = { 0.62f, 0.45f, 0.37f }, blue[3] = { 0.15f, 0.22f, 0.45f };
    int n = 0;
    c[n] = (struct mcase){ "diffuse", { .albedo = { 1, 1, 1 } }, true };
    n++;
    rt_material_preset(RT_BSDF_BACKDROP, white, &c[n].m);
    c[n].name = "backdrop";
    c[n++].lossless = true;
    rt_material_preset(RT_BSDF_SKIN, white, &c[n].m);
    c[n].name = "skin white r0.45";
    c[n++].lossless = false;
    rt_material_preset(RT_BSDF_SKIN, skin, &c[n].m);
    c[n].m.roughness = 0.3f;
    c[n].name = "skin r0.3";
    c[n++].lossless = false;
    rt_material_preset(RT_BSDF_CLOTH, blue, &c[n].m);
    c[n].name = "cloth sheen";
    c[n++].lossless = false;
    rt_material_preset(RT_BSDF_CLOTH, white, &c[n].m);
    memset(c[n].m.sheen, 0, sizeof c[n].m.sheen);
    c[n].m.transmission = 0.4f;
    c[n].name = "cloth transmissive";
    c[n++].lossless = true;
    rt_material_preset(RT_BSDF_CLOTH, white, &c[n].m);
    c[n].m.sheen[0] = c[n].m.sheen[1] = c[n].m.sheen[2] = 1.0f;
    c[n].m.sheen_roughness = 0.3f;
    c[n].name = "cloth full sheen";
    c[n++].lossless = true; /* white albedo: the diffuse layer takes all the sheen leaves */
    return n;
}

static void dir_of(double ct, double ph, float w[3])
{
    double st = sqrt(fmax(0.0, 1 - ct * ct));
    w[0] = (float)(st * cos(ph));
    w[1] = (float)(st * sin(ph));
    w[2] = (float)ct;
}

static void energy(const struct mcase *c)
{
    enum { NC = 512, NP = 1024 };
    for (int a = 0; a < 5; a++) {
        double th = (a == 4 ? 85.0 : 20.0 * a) * M_PI / 180.0;
        float wo[3] = { (float)sin(th), 0.0f, (float)cos(th) };
        double e[3] = { 0, 0, 0 };
        for (int i = 0; i < NC; i++) {
            double ct = -1.0 + 2.0 * (i + 0.5) / NC;
            for (int j = 0; j < NP; j++) {
                float wi[3], f[3];
                dir_of(ct, 2 * M_PI * (j + 0.5) / NP, wi);
                rt_bsdf_eval(&c->m, wo, wi, f);
                for (int k = 0; k < 3; k++)
                    e[k] += f[k] * fabs(ct);
            }
        }
        double emax = 0;
        for (int k = 0; k < 3; k++) {
            e[k] *= (2.0 / NC) * (2 * M_PI / NP);
            emax = fmax(emax, e[k]);
        }
        fprintf(stderr, "energy %-18s theta_o %2.0f: albedo %.4f %.4f %.4f\n", c->name, th * 180 / M_PI, e[0], e[1],
                e[2]);
        CHECK_MSG(emax <= 1.005, "%s: directional albedo %.4f > 1", c->name, emax);
        if (c->lossless)
            CHECK_NEAR(e[1], 1.0, 0.01);
    }
}

static double rel(double a, double b) { return fabs(a - b) / fmax(1e-6, fmax(fabs(a), fabs(b))); }

static void reciprocity(const struct mcase *c)
{
    struct rng r;
    rng_seed(&r, 42);
    double worst = 0;
    for (int i = 0; i < 2000; i++) {
        float a[3], b[3], fa[3], fb[3];
        dir_of(rng_float(&r), 2 * M_PI * rng_float(&r), a);
        dir_of(rng_float(&r), 2 * M_PI * rng_float(&r), b);
        rt_bsdf_eval(&c->m, a, b, fa);
        rt_bsdf_eval(&c->m, b, a, fb);
        for (int k = 0; k < 3; k++)
            worst = fmax(worst, rel(fa[k], fb[k]));
        float nb[3] = { -b[0], -b[1], -b[2] }, na[3] = { -a[0], -a[1], -a[2] };
        rt_bsdf_eval(&c->m, a, nb, fa); /* transmission a -> -b */
        rt_bsdf_eval(&c->m, b, na, fb); /* its adjoint b -> -a */
        for (int k = 0; k < 3; k++)
            worst = fmax(worst, rel(fa[k], fb[k]));
    }
    fprintf(stderr, "reciprocity %-18s worst relative difference %.2e\n", c->name, worst);
    CHECK_MSG(worst < 1e-5, "%s: reciprocity %.2e", c->name, worst);
}

/* Upper tail probability of chi-square with k degrees of freedom (Wilson-Hilferty). */
static double chi2_p(double x, int k)
{
    double z = (pow(x / k, 1.0 / 3.0) - (1.0 - 2.0 / (9.0 * k))) / sqrt(2.0 / (9.0 * k));
    return 0.5 * erfc(z / sqrt(2.0));
}

static void chi_square(const struct mcase *c)
{
    enum { NCB = 20, NPB = 40, NB = NCB * NPB, SUB = 16, N = 400000 };
    static double expect[NB + 1], got[NB + 1];
    const double angles[3] = { 10, 45, 75 };
    for (int a = 0; a < 3; a++) {
        double th = angles[a] * M_PI / 180.0;
        float wo[3] = { (float)sin(th), 0.0f, (float)cos(th) };
        double total = 0;
        for (int b = 0; b < NB; b++) {
            int ic = b / NPB, ip = b % NPB;
            double s = 0;
            for (int u = 0; u < SUB; u++)
                for (int v = 0; v < SUB; v++) {
                    double ct = -1.0 + 2.0 * (ic + (u + 0.5) / SUB) / NCB, ph = 2 * M_PI * (ip + (v + 0.5) / SUB) / NPB;
                    float wi[3];
                    dir_of(ct, ph, wi);
                    s += rt_bsdf_pdf(&c->m, wo, wi);
                }
            expect[b] = s / (SUB * SUB) * (2.0 / NCB) * (2 * M_PI / NPB) * N;
            total += expect[b];
            got[b] = 0;
        }
        CHECK_MSG(total <= N * 1.001, "%s: pdf integrates to %.4f", c->name, total / N);
        expect[NB] = fmax(0.0, N - total);
        got[NB] = 0;
        struct rng r;
        rng_seed(&r, 1000 + a);
        double worst_pdf = 0, max_w = 0;
        for (int i = 0; i < N; i++) {
            float wi[3], pdf, f[3];
            float u0 = rng_float(&r), u1 = rng_float(&r), u2 = rng_float(&r);
            if (!rt_bsdf_sample(&c->m, wo, u0, u1, u2, wi, &pdf, f)) {
                got[NB] += 1;
                continue;
            }
            worst_pdf = fmax(worst_pdf, rel(pdf, rt_bsdf_pdf(&c->m, wo, wi)));
            for (int k = 0; k < 3; k++)
                max_w = fmax(max_w, f[k] * fabs(wi[2]) / pdf);
            double ct = fmin(fmax(wi[2], -1.0f), 1.0f), ph = atan2(wi[1], wi[0]);
            if (ph < 0)
                ph += 2 * M_PI;
            int ic = (int)((ct + 1.0) / 2.0 * NCB), ip = (int)(ph / (2 * M_PI) * NPB);
            ic = ic < NCB ? ic : NCB - 1;
            ip = ip < NPB ? ip : NPB - 1;
            got[ic * NPB + ip] += 1;
        }
        double chi = 0, pool_e = 0, pool_g = 0;
        int dof = -1;
        for (int b = 0; b <= NB; b++) {
            if (expect[b] < 5) {
                pool_e += expect[b];
                pool_g += got[b];
                continue;
            }
            chi += (got[b] - expect[b]) * (got[b] - expect[b]) / expect[b];
            dof++;
        }
        if (pool_e > 0) {
            chi += (pool_g - pool_e) * (pool_g - pool_e) / pool_e;
            dof++;
        }
        double p = chi2_p(chi, dof);
        fprintf(stderr, "chi2 %-18s theta_o %2.0f: chi2 %.1f dof %d p %.3g; rejected %.0f (expected %.0f); max "
                "weight %.3f\n", c->name, angles[a], chi, dof, p, got[NB], expect[NB], max_w);
        CHECK_MSG(p > 1e-3, "%s theta %.0f: chi-square p %.3g", c->name, angles[a], p);
        CHECK_MSG(worst_pdf < 1e-4, "%s: sampled pdf differs from rt_bsdf_pdf by %.2e", c->name, worst_pdf);
        CHECK_MSG(max_w <= 3.0, "%s: sample weight %.3f", c->name, max_w);
    }
}

static void mis(void)
{
    struct rng r;
    rng_seed(&r, 7);
    double worst = 0;
    for (int i = 0; i < 10000; i++) {
        float a = rng_float(&r) < 0.1f ? 0.0f : expf(20.0f * (rng_float(&r) - 0.5f));
        float b = rng_float(&r) < 0.1f ? 0.0f : expf(20.0f * (rng_float(&r) - 0.5f));
        if (a == 0.0f && b == 0.0f)
            continue;
        worst = fmax(worst, fabs(rt_mis_weight(a, b) + rt_mis_weight(b, a) - 1.0));
    }
    CHECK_NEAR(worst, 0.0, 1e-6);
    CHECK(rt_mis_weight(0.0f, 0.0f) == 0.0f);
    CHECK(rt_mis_weight(1.0f, 0.0f) == 1.0f);
    CHECK_NEAR(rt_mis_weight(1.0f, 2.0f), 0.2, 1e-7);
}

int main(void)
{
    struct mcase c[8];
    int n = make_cases(c);
    for (int i = 0; i < n; i++) {
        energy(&c[i]);
        reciprocity(&c[i]);
        chi_square(&c[i]);
    }
    mis();
    return check_result("test_rt_bsdf");
}
