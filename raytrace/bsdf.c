/* bsdf.c: the materials' scattering functions: evaluation, sampling and densities.
 *
 * Everything works in the local frame of the shading normal (z up); wo points to the
 * viewer (wo.z > 0), wi to the light. Values are the BSDF f (1/sr) without the cosine.
 *   DIFFUSE, BACKDROP: albedo / pi, cosine sampling.
 *   SKIN: f = F D G2 / (4 cos_i cos_o) (GGX, Smith height-correlated G2, Schlick F with
 *     f0 = ((ior-1)/(ior+1))^2, F at the half vector) + albedo/pi (1-F(cos_i))(1-F(cos_o))
 *     k(cos_i, cos_o), k = 1 + a (cos_i - 2/3)(cos_o - 2/3). k is symmetric and
 *     integrates to 1 against cos_i / pi for every wo (the cos-weighted mean of cos_i is
 *     2/3), so the base alone conserves energy exactly; a < 0 flattens the fall-off of
 *     f cos towards the terminator for views near the normal; a >= -2.25 keeps k >= 0
 *     (the product of the two factors is at most 4/9).
 *     Sampling: the GGX visible normals (Heitz 2018) with a probability set by the
 *     lobes' estimated shares of the energy (skin_pspec), else cosine; the pdf is the
 *     mixture.
 *   CLOTH: sheen s D_charlie V + albedo (1 - trans) / pi B on the viewer's side and
 *     albedo trans / pi B on the other, D_charlie(h) = (2 + 1/r) sin^(1/r)/(2 pi),
 *     V = 1 / (4 (cos_i + cos_o - cos_i cos_o)), and the diffuse layer's share
 *     B = (1 - s E(cos_i)) (1 - s E(cos_o)) / (1 - s Eavg) (per channel), where E(mu) is
 *     the sheen lobe's directional albedo (tabulated once by quadrature) and Eavg its
 *     cosine-weighted mean: the total albedo is then s E(cos_o) + albedo (1 - s E(cos_o))
 *     exactly (<= 1, = 1 for a white albedo) and B is symmetric. Cosine sampling on each
 *     side (probability 1 - trans and trans).
 * All lobes are symmetric in wi and wo (reciprocal).
 */
#include <assert.h>
#include <pthread.h>
#include <string.h>

#include "raytrace/rt_internal.h"

#define INV_PI 0.318309886f
#define SHEEN_TAB 32 /* E_max tabulated for r = 0.07 .. 1 */
#define SHEEN_R0 0.07f

static inline float schlick(float f0, float c)
{
    float m = clampf(1.0f - c, 0.0f, 1.0f), m2 = m * m;
    return f0 + (1.0f - f0) * m2 * m2 * m;
}

static inline float ggx_d(float alpha, float cz)
{
    float a2 = alpha * alpha, t = cz * cz * (a2 - 1.0f) + 1.0f;
    return a2 / ((float)M_PI * t * t);
}

/* Smith Lambda for GGX: (-1 + sqrt(1 + alpha^2 tan^2)) / 2 */
static inline float ggx_lambda(float alpha, float cz)
{
    float c2 = cz * cz, t2 = (1.0f - c2) / (c2 > 1e-12f ? c2 : 1e-12f);
    return 0.5f * (-1.0f + sqrtf(1.0f + alpha * alpha * t2));
}

static inline float charlie_d(float r, float cz)
{
    float s2 = maxf(0.0f, 1.0f - cz * cz);
    float inv = 1.0f / r;
    return (2.0f + inv) * powf(s2, 0.5f * inv) * (0.5f * INV_PI);
}

static inline float sheen_v(float ci, float co) { return 1.0f / (4.0f * (ci + co - ci * co)); }

/* The sheen lobe's value (per unit colour) at local wo, wi (both above). */
static float sheen_val(float r, const float wo[3], const float wi[3])
{
    float h[3] = { wo[0] + wi[0], wo[1] + wi[1], wo[2] + wi[2] };
    if (!(v3_normalize(h) > 0.0f))
        return 0.0f;
    return charlie_d(r, h[2]) * sheen_v(wi[2], wo[2]);
}

/* Directional albedo of the unit sheen lobe, E(r, cos_o), tabulated once by midpoint
   quadrature (48 x 96 over the hemisphere, the half phi in [0, pi] doubled: the lobe is
   symmetric about the plane of wo and the normal) at SHEEN_TAB roughnesses x SHEEN_MU cosines
   (midpoints), with its cosine-weighted mean Eavg(r) = 2 int E mu dmu and maximum. */
#define SHEEN_MU 32
static float sheen_e_tab[SHEEN_TAB][SHEEN_MU], sheen_eavg_tab[SHEEN_TAB], sheen_emax_tab[SHEEN_TAB];
static pthread_once_t sheen_once = PTHREAD_ONCE_INIT;

static void sheen_table_init(void)
{
    enum { NT = 48, NP = 96 };
    for (int k = 0; k < SHEEN_TAB; k++) {
        float r = SHEEN_R0 + (1.0f - SHEEN_R0) * (float)k / (SHEEN_TAB - 1);
        double avg = 0.0, emax = 0.0;
        for (int o = 0; o < SHEEN_MU; o++) {
            double co = (o + 0.5) / SHEEN_MU;
            float wo[3] = { (float)sqrt(1 - co * co), 0.0f, (float)co };
            double e = 0.0;
            for (int i = 0; i < NT; i++) {
                double th = 0.5 * M_PI * (i + 0.5) / NT;
                for (int j = 0; j < NP / 2; j++) {
                    double ph = 2 * M_PI * (j + 0.5) / NP;
                    float wi[3] = { (float)(sin(th) * cos(ph)), (float)(sin(th) * sin(ph)), (float)cos(th) };
                    e += 2.0 * sheen_val(r, wo, wi) * cos(th) * sin(th);
                }
            }
            e *= (0.5 * M_PI / NT) * (2 * M_PI / NP);
            sheen_e_tab[k][o] = (float)e;
            avg += 2.0 * e * co / SHEEN_MU;
            emax = e > emax ? e : emax;
        }
        sheen_eavg_tab[k] = (float)avg;
        sheen_emax_tab[k] = (float)emax;
    }
}

/* Bilinear E(r, mu) from the table (r index clamped, mu clamped to the midpoints). */
static float sheen_e(float rk, float mu)
{
    int i = (int)rk;
    float fr = rk - (float)i;
    int i1 = i + 1 < SHEEN_TAB ? i + 1 : i;
    float x = clampf(mu * SHEEN_MU - 0.5f, 0.0f, SHEEN_MU - 1.0f);
    int j = (int)x;
    float fm = x - (float)j;
    int j1 = j + 1 < SHEEN_MU ? j + 1 : j;
    float a = sheen_e_tab[i][j] + fm * (sheen_e_tab[i][j1] - sheen_e_tab[i][j]);
    float b = sheen_e_tab[i1][j] + fm * (sheen_e_tab[i1][j1] - sheen_e_tab[i1][j]);
    return a + fr * (b - a);
}

static float clamp01f(float x) { return clampf(x, 0.0f, 1.0f); }

void rt_bsdf_resolve(const struct rt_material *m, struct rt_bsdf_p *p)
{
    memset(p, 0, sizeof *p);
    p->kind = (int)m->kind;
    for (int k = 0; k < 3; k++)
        p->albedo[k] = clamp01f(isfinite(m->albedo[k]) ? m->albedo[k] : 0.0f);
    if (m->kind == RT_BSDF_SKIN) {
        float r = clampf(isfinite(m->roughness) ? m->roughness : 0.45f, 0.05f, 1.0f);
        p->alpha = r * r;
        float ior = m->ior > 1.0f && isfinite(m->ior) ? m->ior : 1.4f;
        p->f0 = (ior - 1.0f) * (ior - 1.0f) / ((ior + 1.0f) * (ior + 1.0f));
        p->ss_a = -2.25f * clamp01f(isfinite(m->subsurface) ? m->subsurface : 0.0f);
    } else if (m->kind == RT_BSDF_CLOTH) {
        p->sheen_r = clampf(isfinite(m->sheen_roughness) ? m->sheen_roughness : 0.5f, SHEEN_R0, 1.0f);
        pthread_once(&sheen_once, sheen_table_init);
        p->sheen_rk = (p->sheen_r - SHEEN_R0) / (1.0f - SHEEN_R0) * (SHEEN_TAB - 1);
        int i = (int)p->sheen_rk, i1 = i + 1 < SHEEN_TAB ? i + 1 : i;
        float fr = p->sheen_rk - (float)i;
        float emax = maxf(sheen_emax_tab[i], sheen_emax_tab[i1]) * 1.001f;
        float eavg = sheen_eavg_tab[i] + fr * (sheen_eavg_tab[i1] - sheen_eavg_tab[i]);
        for (int k = 0; k < 3; k++) {
            p->sheen[k] = clamp01f(isfinite(m->sheen[k]) ? m->sheen[k] : 0.0f);
            if (p->sheen[k] * emax > 1.0f) /* brighter than the lobe can carry: scale it down */
                p->sheen[k] = 1.0f / emax;
            p->dnorm[k] = 1.0f / (1.0f - p->sheen[k] * eavg);
        }
        p->trans = clamp01f(isfinite(m->transmission) ? m->transmission : 0.0f);
    } else {
        p->kind = m->kind == RT_BSDF_BACKDROP ? RT_BSDF_BACKDROP : RT_BSDF_DIFFUSE;
    }
}

/* GGX specular lobe value (per unit Fresnel-weighted) for wo, wi above. */
static float skin_spec(const struct rt_bsdf_p *p, const float wo[3], const float wi[3])
{
    float h[3] = { wo[0] + wi[0], wo[1] + wi[1], wo[2] + wi[2] };
    if (!(v3_normalize(h) > 0.0f))
        return 0.0f;
    float d = ggx_d(p->alpha, h[2]);
    float g2 = 1.0f / (1.0f + ggx_lambda(p->alpha, wo[2]) + ggx_lambda(p->alpha, wi[2]));
    float f = schlick(p->f0, v3_dot(wi, h));
    return f * d * g2 / (4.0f * wi[2] * wo[2]);
}

void bsdf_eval(const struct rt_bsdf_p *p, const float wo[3], const float wi[3], float f[3])
{
    f[0] = f[1] = f[2] = 0.0f;
    if (wo[2] <= 0.0f)
        return;
    if (p->kind == RT_BSDF_CLOTH) {
        float ci = fabsf(wi[2]);
        if (ci == 0.0f || (wi[2] < 0.0f && !(p->trans > 0.0f)))
            return;
        float eo = sheen_e(p->sheen_rk, wo[2]), ei = sheen_e(p->sheen_rk, ci);
        float s = wi[2] > 0.0f ? sheen_val(p->sheen_r, wo, wi) : 0.0f;
        float d = (wi[2] > 0.0f ? 1.0f - p->trans : p->trans) * INV_PI;
        for (int k = 0; k < 3; k++)
            f[k] = p->sheen[k] * s +
                   d * p->albedo[k] * (1.0f - p->sheen[k] * eo) * (1.0f - p->sheen[k] * ei) * p->dnorm[k];
        return;
    }
    if (wi[2] <= 0.0f)
        return;
    if (p->kind == RT_BSDF_SKIN) {
        float s = skin_spec(p, wo, wi);
        float kern = 1.0f + p->ss_a * (wi[2] - 2.0f / 3.0f) * (wo[2] - 2.0f / 3.0f);
        float d = (1.0f - schlick(p->f0, wi[2])) * (1.0f - schlick(p->f0, wo[2])) * kern * INV_PI;
        for (int k = 0; k < 3; k++)
            f[k] = s + d * p->albedo[k];
        return;
    }
    for (int k = 0; k < 3; k++)
        f[k] = p->albedo[k] * INV_PI;
}

/* SKIN: the probability of sampling the specular lobe given wo: its share of the
   reflected energy estimated as F(cos_o) against (1 - F(cos_o)) x the albedo's mean,
   clamped to [0.05, 0.9] (at normal incidence about 6% for skin, most of it at grazing). */
static float skin_pspec(const struct rt_bsdf_p *p, const float wo[3])
{
    float fo = schlick(p->f0, wo[2]);
    float d = (1.0f - fo) * (p->albedo[0] + p->albedo[1] + p->albedo[2]) * (1.0f / 3.0f);
    return clampf(fo / (fo + d + 1e-6f), 0.05f, 0.9f);
}

/* Density of the GGX visible-normal sampler in wi: G1(wo) D(h) / (4 cos_o). */
static float ggx_vndf_pdf(float alpha, const float wo[3], const float wi[3])
{
    float h[3] = { wo[0] + wi[0], wo[1] + wi[1], wo[2] + wi[2] };
    if (!(v3_normalize(h) > 0.0f) || h[2] <= 0.0f)
        return 0.0f;
    float g1 = 1.0f / (1.0f + ggx_lambda(alpha, wo[2]));
    return g1 * ggx_d(alpha, h[2]) / (4.0f * wo[2]);
}

float bsdf_pdf(const struct rt_bsdf_p *p, const float wo[3], const float wi[3])
{
    if (wo[2] <= 0.0f)
        return 0.0f;
    if (p->kind == RT_BSDF_CLOTH) {
        if (wi[2] > 0.0f)
            return (1.0f - p->trans) * wi[2] * INV_PI;
        return p->trans * -wi[2] * INV_PI;
    }
    if (wi[2] <= 0.0f)
        return 0.0f;
    if (p->kind == RT_BSDF_SKIN) {
        float ps = skin_pspec(p, wo);
        return ps * ggx_vndf_pdf(p->alpha, wo, wi) + (1.0f - ps) * wi[2] * INV_PI;
    }
    return wi[2] * INV_PI;
}

static void cosine_dir(float u1, float u2, float w[3])
{
    float r = sqrtf(u1), phi = 2.0f * (float)M_PI * u2;
    w[0] = r * cosf(phi);
    w[1] = r * sinf(phi);
    w[2] = sqrtf(maxf(0.0f, 1.0f - u1));
}

/* Heitz 2018, "Sampling the GGX distribution of visible normals" (isotropic alpha). */
static void ggx_vndf_sample(float alpha, const float wo[3], float u1, float u2, float h[3])
{
    float vh[3] = { alpha * wo[0], alpha * wo[1], wo[2] };
    v3_normalize(vh);
    float len2 = vh[0] * vh[0] + vh[1] * vh[1];
    float t1[3], t2[3];
    if (len2 > 0.0f) {
        float il = 1.0f / sqrtf(len2);
        v3_set(t1, -vh[1] * il, vh[0] * il, 0.0f);
    } else {
        v3_set(t1, 1.0f, 0.0f, 0.0f);
    }
    v3_cross(t2, vh, t1);
    float r = sqrtf(u1), phi = 2.0f * (float)M_PI * u2;
    float p1 = r * cosf(phi), p2 = r * sinf(phi), s = 0.5f * (1.0f + vh[2]);
    p2 = (1.0f - s) * sqrtf(maxf(0.0f, 1.0f - p1 * p1)) + s * p2;
    float p3 = sqrtf(maxf(0.0f, 1.0f - p1 * p1 - p2 * p2));
    float nh[3];
    for (int k = 0; k < 3; k++)
        nh[k] = p1 * t1[k] + p2 * t2[k] + p3 * vh[k];
    v3_set(h, alpha * nh[0], alpha * nh[1], maxf(0.0f, nh[2]));
    v3_normalize(h);
}

bool bsdf_sample(const struct rt_bsdf_p *p, const float wo[3], float u0, float u1, float u2, float wi[3],
                 float *pdf, float f[3])
{
    if (wo[2] <= 0.0f)
        return false;
    if (p->kind == RT_BSDF_CLOTH) {
        cosine_dir(u1, u2, wi);
        if (u0 < p->trans)
            wi[2] = -wi[2];
    } else if (p->kind == RT_BSDF_SKIN && u0 < skin_pspec(p, wo)) {
        float h[3];
        ggx_vndf_sample(p->alpha, wo, u1, u2, h);
        float d = v3_dot(wo, h);
        v3_scale(wi, h, 2.0f * d);
        v3_sub(wi, wi, wo);
        if (wi[2] <= 0.0f)
            return false;
    } else {
        cosine_dir(u1, u2, wi);
    }
    *pdf = bsdf_pdf(p, wo, wi);
    if (!(*pdf > 0.0f))
        return false;
    bsdf_eval(p, wo, wi, f);
    return true;
}

/* ---- public wrappers ---- */
void rt_material_preset(enum rt_bsdf kind, const float albedo[3], struct rt_material *out)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    v3_copy(out->albedo, albedo);
    if (kind == RT_BSDF_SKIN) {
        out->roughness = 0.45f;
        out->ior = 1.4f;
        out->subsurface = 0.6f;
    } else if (kind == RT_BSDF_CLOTH) {
        for (int k = 0; k < 3; k++)
            out->sheen[k] = clamp01f(0.5f * albedo[k] + 0.03f); /* tinted: keeps the colour */
        out->sheen_roughness = 0.5f;
    }
}

void rt_bsdf_eval(const struct rt_material *m, const float wo[3], const float wi[3], float f[3])
{
    struct rt_bsdf_p p;
    rt_bsdf_resolve(m, &p);
    bsdf_eval(&p, wo, wi, f);
}

float rt_bsdf_pdf(const struct rt_material *m, const float wo[3], const float wi[3])
{
    struct rt_bsdf_p p;
    rt_bsdf_resolve(m, &p);
    return bsdf_pdf(&p, wo, wi);
}

bool rt_bsdf_sample(const struct rt_material *m, const float wo[3], float u0, float u1, float u2, float wi[3],
                    float *pdf, float f[3])
{
    struct rt_bsdf_p p;
    rt_bsdf_resolve(m, &p);
    return bsdf_sample(&p, wo, u0, u1, u2, wi, pdf, f);
}

float rt_mis_weight(float pa, float pb) { return rt_power_heuristic(pa, pb); }
