/* test_rt_furnace.c: radiometric checks against closed-form answers.
 *
 * (1) Furnace: a diffuse sphere (radius 0.5, 64x128 UV tessellation, smooth normals)
 *     inside a closed cube [-1,1]^3 whose six inner faces are area lights of radiance
 *     L = (1, 0.5, 0.25). The camera, inside the cube, sees the walls, which must read L
 *     exactly, and the sphere, which sees only emitters: its radiance is albedo * L. With
 *     albedo 1 that is the white furnace ("everything reads L"); albedo 0.5 checks the
 *     albedo factor. Tolerance: the mean over the sphere's ~1100 pixels within 0.5%; its
 *     standard error at 512 spp, measured from the spread of the pixels, is under 0.05%
 *     (the residual seen, -0.01%, is the tessellation).
 *     Again with each face tiled by 2 x 2 lights (24 lights, over the 16 for which the
 *     renderer adapts its light choice to each point: the commit-time choice by power).
 * (2) Integrating sphere: the inside of a closed diffuse sphere (radius 1, albedo a = 0.8,
 *     flat facets) lit by a small one-sided light at the centre facing +y. The lower half
 *     gets no direct light; every diffuse reflection in a sphere spreads its power
 *     uniformly over the wall, so the lower wall's irradiance is a Phi / (A (1 - a)) with
 *     Phi = pi Le A_light, i.e. radiance a^2 Le A_light / (A (1 - a)) with A the mesh area.
 *     The light plate (both sides absorb) takes a fraction F = A_light / (2 pi R^2) of each
 *     diffuse reflection (the mean over the wall of A_light |cos| / (pi R^2)), which turns
 *     the radiance into a^2 Le A_light (1 - F) / (A (1 - a (1 - F))): 0.8% less. This
 *     checks the multi-bounce paths and Russian roulette (mean path of 5 bounces).
 *     Tolerance 2%: standard error about 0.3%, and the flat facets of the sphere (the
 *     residual seen is -0.35% at 16k spp).
 */
#include <stdio.h>

#include "check.h"
#include "rt_test_util.h"

/* Inward-facing lights tiling the faces of [-1,1]^3, n x n per face. */
static void add_light_box(struct rt_scene *s, const float L[3], int n)
{
    float step = 2.0f / n;
    for (int axis = 0; axis < 3; axis++)
        for (int side = 0; side < 2; side++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) {
                    int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3; /* e_a1 x e_a2 = e_axis */
                    float c[3] = { -1, -1, -1 }, u[3] = { 0, 0, 0 }, v[3] = { 0, 0, 0 };
                    c[axis] = side ? 1.0f : -1.0f;
                    c[a1] += i * step;
                    c[a2] += j * step;
                    /* low side: normal +e_axis (inwards) = cross(e_a1, e_a2); high side: swap */
                    u[side ? a2 : a1] = step;
                    v[side ? a1 : a2] = step;
                    rt_scene_add_rect_light(s, c, u, v, L);
                }
}

/* Mean radiance over the pixels within radius_px of the centre, and over the corners. */
static void furnace(struct rt_device *dev, float albedo, int tiles)
{
    const float L[3] = { 1.0f, 0.5f, 0.25f };
    struct rt_scene *s = rt_scene_create(dev);
    const float o[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(o, 0.5f, 64, 128);
    const float alb[3] = { albedo, albedo, albedo };
    CHECK(rtt_add(s, &sph, alb, true) == 0);
    add_light_box(s, L, tiles);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    /* eye at z = 0.9 looking at the centre, vfov 90: the sphere (angular radius 33.7 deg)
       covers a disc of radius 0.667 * 32 = 21 px around the centre of a 64x64 image */
    struct rt_camera cam = { { 0, 0, 0.9f }, { 0, 0, 0 }, { 0, 1, 0 }, 90.0f, 64, 64 };
    struct rt_settings set = { .spp = 512, .max_depth = 8, .seed = 11, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double sum[3] = { 0, 0, 0 }, sum2 = 0;
    int n = 0;
    double wall_err = 0;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            double dx = x + 0.5 - 32, dy = y + 0.5 - 32, r = sqrt(dx * dx + dy * dy);
            const float *p = f.rgb + 3 * (y * 64 + x);
            if (r < 19) {
                CHECK(f.alpha[y * 64 + x] == 1.0f);
                for (int c = 0; c < 3; c++)
                    sum[c] += p[c];
                sum2 += (double)p[0] * p[0];
                n++;
            } else if (r > 23) {
                CHECK(f.alpha[y * 64 + x] == 0.0f);
                for (int c = 0; c < 3; c++)
                    wall_err = fmax(wall_err, fabs(p[c] - L[c]));
            }
        }
    double m0 = sum[0] / n, stderr0 = sqrt((sum2 / n - m0 * m0) / (n - 1));
    for (int c = 0; c < 3; c++) {
        double mean = sum[c] / n, want = albedo * L[c];
        fprintf(stderr, "furnace (%d lights) albedo %.2f channel %d: sphere mean %.5f, expected %.5f (%+.2f%%, standard error "
                "%.2f%%)\n", 6 * tiles * tiles, albedo, c, mean, want, 100 * (mean / want - 1), 100 * stderr0 / m0);
        CHECK_NEAR(mean, want, 0.005 * want);
    }
    CHECK_NEAR(wall_err, 0.0, 1e-6);
    rt_film_free(&f);
    rtt_mesh_free(&sph);
    rt_scene_free(s);
}

static void integrating_sphere(struct rt_device *dev)
{
    const float a = 0.8f, le = 400.0f, side = 0.1f;
    struct rt_scene *s = rt_scene_create(dev);
    const float o[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(o, 1.0f, 96, 192);
    const float alb[3] = { a, a, a };
    sph.nrm = (free(sph.nrm), NULL); /* flat facets */
    CHECK(rtt_add(s, &sph, alb, false) == 0);
    double area = 0;
    for (int t = 0; t < sph.nt; t++) {
        const float *p0 = sph.pos + 3 * sph.tri[3 * t], *p1 = sph.pos + 3 * sph.tri[3 * t + 1],
                    *p2 = sph.pos + 3 * sph.tri[3 * t + 2];
        double e1[3], e2[3];
        for (int k = 0; k < 3; k++) {
            e1[k] = p1[k] - p0[k];
            e2[k] = p2[k] - p0[k];
        }
        double cx = e1[1] * e2[2] - e1[2] * e2[1], cy = e1[2] * e2[0] - e1[0] * e2[2], cz = e1[0] * e2[1] - e1[1] * e2[0];
        area += 0.5 * sqrt(cx * cx + cy * cy + cz * cz);
    }
    /* light in the plane y = 0 centred on the origin; cross(u, v) = +y */
    const float c[3] = { -side / 2, 0, -side / 2 }, u[3] = { 0, 0, side }, v[3] = { side, 0, 0 };
    const float L[3] = { le, le, le };
    rt_scene_add_rect_light(s, c, u, v, L);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    /* camera just under the light looking straight down at the unlit lower wall */
    struct rt_camera cam = { { 0, -0.01f, 0 }, { 0, -1, 0 }, { 0, 0, -1 }, 60.0f, 24, 24 };
    struct rt_settings set = { .spp = 256, .max_depth = 64, .seed = 5, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double F = side * side / (2 * M_PI);
    double want = a * a * le * side * side * (1 - F) / (area * (1 - a * (1 - F)));
    double mean = rtt_mean(f.rgb, 24, 3, 1, 0, 0, 24, 24);
    double var = 0;
    for (int i = 0; i < 24 * 24; i++)
        var += (f.rgb[3 * i + 1] - mean) * (f.rgb[3 * i + 1] - mean);
    double se = sqrt(var / (24 * 24 - 1) / (24 * 24));
    fprintf(stderr, "integrating sphere: lower wall %.5f, expected %.5f (%+.2f%%, standard error %.2f%%), mesh "
            "area %.4f (4 pi = %.4f), %.2f bounce rays per camera ray\n", mean, want, 100 * (mean / want - 1),
            100 * se / mean, area, 4 * M_PI, (double)f.stats.bounce_rays / f.stats.camera_rays);
    CHECK_NEAR(mean, want, 0.02 * want);
    rt_film_free(&f);
    rtt_mesh_free(&sph);
    rt_scene_free(s);
}

int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    furnace(dev, 1.0f, 1);
    furnace(dev, 0.5f, 1);
    furnace(dev, 1.0f, 2); /* 24 lights: more than the per-point selection handles */
    integrating_sphere(dev);
    rt_device_free(dev);
    return check_result("test_rt_furnace");
}
