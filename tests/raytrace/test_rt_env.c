/* test_rt_env.c: the environment map: its sampling distribution and rendering with it.
 *
 * (1) Sampling the studio environment (rt_env_studio(128), 128 x 64): 1M directions from
 *     rt_scene_env_sample binned by map pixel; expected counts from the pdf
 *     (rt_scene_env_pdf at the pixel centre x 2 pi^2 sin(theta) / (w h): the probability
 *     of the pixel, since the density is constant over a pixel in (u, v)); bins under 5
 *     expected pooled; Pearson chi-square with a Wilson-Hilferty p-value above 1e-3. The
 *     pdf returned by the sampler equals rt_scene_env_pdf of the direction (1e-6 relative),
 *     and the pdf integrates to 1 over the sphere (midpoint
 *     quadrature, 1e-3).
 * (2) White furnace: a sphere (radius 0.5, smooth normals) inside a uniform environment of
 *     radiance 1, no lights, max depth 16: the sphere reads its albedo exactly for the
 *     lossless materials (DIFFUSE, BACKDROP, CLOTH white with sheen and with transmission
 *     0.4 so paths go through the sphere), within 1% (mean over the sphere's pixels, 64
 *     spp); the default white SKIN reads between 0.85 and 1 (its specular lobe loses
 *     energy at grazing angles); pixels that miss read 1 exactly.
 * (3) MIS against light sampling alone: a diffuse plane (albedo 0.8) under the studio
 *     environment and one area light outside the view. With max depth 1 only next-event
 *     estimation runs (weight 1); with max depth 2 the same direct light is the MIS
 *     combination of it and BSDF sampling (the plane sees nothing else). Both image means
 *     agree with a 256 spp MIS render within 1%, and the MIS noise (rms of pixels about
 *     their 4x4 block mean) at 16 spp is at most half the light-only noise (measured: 3.6x
 *     lower).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rt_test_util.h"

static double chi2_p(double x, int k)
{
    double z = (pow(x / k, 1.0 / 3.0) - (1.0 - 2.0 / (9.0 * k))) / sqrt(2.0 / (9.0 * k));
    return 0.5 * erfc(z / sqrt(2.0));
}

static void env_sampling(struct rt_device *dev)
{
    struct imgf env;
    CHECK(rt_env_studio(128, &env) == TRYON_OK);
    const int W = env.w, H = env.h;
    CHECK_EQ_INT(H, 64);
    struct rt_scene *s = rt_scene_create(dev);
    const float c[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(c, 0.1f, 8, 16);
    const float grey[3] = { 0.5f, 0.5f, 0.5f };
    CHECK(rtt_add(s, &sph, grey, false) == 0);
    CHECK(rt_scene_set_env(s, &env, 2.0f) == TRYON_OK);
    CHECK(rt_scene_commit(s) == TRYON_OK);

    static double expect[128 * 64], got[128 * 64];
    double total = 0;
    for (int r = 0; r < H; r++)
        for (int q = 0; q < W; q++) {
            double th = M_PI * (r + 0.5) / H, ph = 2 * M_PI * ((q + 0.5) / W - 0.5);
            float d[3] = { (float)(sin(th) * sin(ph)), (float)cos(th), (float)(-sin(th) * cos(ph)) };
            expect[r * W + q] = rt_scene_env_pdf(s, d) * 2 * M_PI * M_PI * sin(th) / (W * H);
            total += expect[r * W + q];
            got[r * W + q] = 0;
        }
    CHECK_NEAR(total, 1.0, 1e-3);
    /* integral of the pdf over the sphere, finer than the map */
    double integral = 0;
    for (int i = 0; i < 512; i++)
        for (int j = 0; j < 1024; j++) {
            double ct = -1 + 2 * (i + 0.5) / 512, ph = 2 * M_PI * (j + 0.5) / 1024, st = sqrt(1 - ct * ct);
            float d[3] = { (float)(st * cos(ph)), (float)ct, (float)(st * sin(ph)) };
            integral += rt_scene_env_pdf(s, d);
        }
    integral *= (2.0 / 512) * (2 * M_PI / 1024);
    CHECK_NEAR(integral, 1.0, 1e-3);

    const int N = 1000000;
    struct rng rng;
    rng_seed(&rng, 99);
    double worst = 0;
    int zero_pdf = 0;
    for (int i = 0; i < N; i++) {
        float d[3], rgb[3];
        float pdf = rt_scene_env_sample(s, rng_float(&rng), rng_float(&rng), d, rgb);
        if (!(pdf > 0.0f)) {
            zero_pdf++;
            continue;
        }
        float p2 = rt_scene_env_pdf(s, d);
        worst = fmax(worst, fabs(pdf - p2) / pdf);
        float u, v;
        rt_env_dir_to_uv(d, &u, &v);
        int q = (int)(u * W), r = (int)(v * H);
        got[(r < H ? r : H - 1) * W + (q < W ? q : W - 1)] += 1;
    }
    double chi = 0, pe = 0, pg = 0;
    int dof = -1;
    for (int b = 0; b < W * H; b++) {
        double e = expect[b] * N;
        if (e < 5) {
            pe += e;
            pg += got[b];
            continue;
        }
        chi += (got[b] - e) * (got[b] - e) / e;
        dof++;
    }
    if (pe > 0) {
        chi += (pg - pe) * (pg - pe) / pe;
        dof++;
    }
    double p = chi2_p(chi, dof);
    fprintf(stderr, "env sampling: chi2 %.1f dof %d p %.3g; pdf integral %.5f; sampler vs pdf worst %.2e; %d zero "
            "pdfs\n", chi, dof, p, integral, worst, zero_pdf);
    CHECK(p > 1e-3);
    CHECK(worst < 1e-6);
    CHECK_EQ_INT(zero_pdf, 0);
    rtt_mesh_free(&sph);
    rt_scene_free(s);
    imgf_free(&env);
}

static void furnace(struct rt_device *dev, const char *name, const struct rt_material *m, double lo, double hi)
{
    float px[16 * 8 * 3];
    for (int i = 0; i < 16 * 8 * 3; i++)
        px[i] = 1.0f;
    struct imgf env = { 16, 8, 3, px };
    struct rt_scene *s = rt_scene_create(dev);
    const float o[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(o, 0.5f, 64, 128);
    CHECK(rt_scene_add_mesh(s, sph.pos, sph.nrm, sph.uv, sph.nv, sph.tri, sph.nt, m, true) == 0);
    CHECK(rt_scene_set_env(s, &env, 1.0f) == TRYON_OK);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    struct rt_camera cam = { { 0, 0, 3 }, { 0, 0, 0 }, { 0, 1, 0 }, 30.0f, 48, 48 };
    struct rt_settings set = { .spp = 64, .max_depth = 16, .seed = 3, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double sum = 0, miss_err = 0;
    int n = 0;
    for (int i = 0; i < 48 * 48; i++) {
        if (f.alpha[i] == 1.0f) {
            sum += f.rgb[3 * i + 1];
            n++;
        } else if (f.alpha[i] == 0.0f) {
            miss_err = fmax(miss_err, fabs(f.rgb[3 * i + 1] - 1.0));
            CHECK_EQ_INT(f.object[i], -1);
        }
    }
    double mean = sum / n;
    fprintf(stderr, "env furnace %-18s: sphere mean %.5f over %d px (want %.2f..%.2f), misses off by %.1e\n", name,
            mean, n, lo, hi, miss_err);
    CHECK(n > 300);
    CHECK_MSG(mean >= lo && mean <= hi, "%s: furnace %.5f outside [%.3f, %.3f]", name, mean, lo, hi);
    CHECK_NEAR(miss_err, 0.0, 1e-6);
    CHECK_EQ_INT(f.object[24 * 48 + 24], 0);
    rt_film_free(&f);
    rtt_mesh_free(&sph);
    rt_scene_free(s);
}

/* Mean and noise (rms of pixel minus its 4x4 block mean) of channel 1. */
static void stats(const struct rt_film *f, double *mean, double *noise)
{
    double sum = 0, n2 = 0;
    for (int by = 0; by < f->h / 4; by++)
        for (int bx = 0; bx < f->w / 4; bx++) {
            double b = rtt_mean(f->rgb, f->w, 3, 1, 4 * bx, 4 * by, 4 * bx + 4, 4 * by + 4);
            sum += 16 * b;
            for (int y = 4 * by; y < 4 * by + 4; y++)
                for (int x = 4 * bx; x < 4 * bx + 4; x++) {
                    double d = f->rgb[3 * ((size_t)y * f->w + x) + 1] - b;
                    n2 += d * d;
                }
        }
    *mean = sum / (f->w * f->h);
    *noise = sqrt(n2 / (f->w * f->h));
}

static void mis_plane(struct rt_device *dev)
{
    struct imgf env;
    CHECK(rt_env_studio(64, &env) == TRYON_OK);
    struct rt_scene *s = rt_scene_create(dev);
    const float pc[3] = { -5, 0, 5 }, pu[3] = { 10, 0, 0 }, pv[3] = { 0, 0, -10 };
    struct rtt_mesh plane = rtt_quad(pc, pu, pv);
    const float alb[3] = { 0.8f, 0.8f, 0.8f };
    CHECK(rtt_add(s, &plane, alb, false) == 0);
    /* out of the camera's view, facing the plane (normal cross(lu, lv) towards -x, -y) */
    const float lc[3] = { 1.2f, 0.6f, -0.3f }, lu[3] = { 0.4f, -0.3f, 0 }, lv[3] = { 0, 0, 0.6f };
    const float L[3] = { 6, 6, 6 };
    rt_scene_add_rect_light(s, lc, lu, lv, L);
    CHECK(rt_scene_set_env(s, &env, 1.0f) == TRYON_OK);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    struct rt_camera cam = { { 0, 3, 0 }, { 0, 0, 0 }, { 0, 0, -1 }, 30.0f, 64, 64 };
    struct rt_settings set = { .spp = 16, .max_depth = 1, .seed = 8, .threads = 0 };
    struct rt_film nee, mis, ref;
    CHECK(rt_render(s, &cam, &set, &nee) == TRYON_OK); /* light sampling only, weight 1 */
    set.max_depth = 2;
    CHECK(rt_render(s, &cam, &set, &mis) == TRYON_OK);
    set.spp = 256;
    set.seed = 9;
    CHECK(rt_render(s, &cam, &set, &ref) == TRYON_OK);
    double mn, nn, mm, nm, mr, nr;
    stats(&nee, &mn, &nn);
    stats(&mis, &mm, &nm);
    stats(&ref, &mr, &nr);
    fprintf(stderr, "env MIS plane: light-only mean %.5f noise %.5f; MIS (16 spp) mean %.5f noise %.5f; MIS 256 spp "
            "mean %.5f noise %.5f\n", mn, nn, mm, nm, mr, nr);
    CHECK_NEAR(mm, mr, 0.01 * mr);
    CHECK_NEAR(mn, mr, 0.01 * mr); /* a plane sees no other surface: max depth 1 is the whole answer */
    CHECK(nm <= 0.5 * nn);
    rt_film_free(&nee);
    rt_film_free(&mis);
    rt_film_free(&ref);
    rtt_mesh_free(&plane);
    rt_scene_free(s);
    imgf_free(&env);
}

int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    env_sampling(dev);
    const float white[3] = { 1, 1, 1 };
    struct rt_material m;
    rt_material_preset(RT_BSDF_DIFFUSE, white, &m);
    furnace(dev, "diffuse", &m, 0.99, 1.01);
    rt_material_preset(RT_BSDF_BACKDROP, white, &m);
    furnace(dev, "backdrop", &m, 0.99, 1.01);
    rt_material_preset(RT_BSDF_CLOTH, white, &m);
    furnace(dev, "cloth sheen", &m, 0.99, 1.01);
    m.transmission = 0.4f;
    furnace(dev, "cloth transmissive", &m, 0.99, 1.01);
    rt_material_preset(RT_BSDF_SKIN, white, &m);
    furnace(dev, "skin", &m, 0.85, 1.0);
    mis_plane(dev);
    rt_device_free(dev);
    return check_result("test_rt_env");
}
