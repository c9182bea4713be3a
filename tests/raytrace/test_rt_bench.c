/* test_rt_bench.c: speed of the path tracer on a ~32k-triangle person scene (label long).
 *
 * Loads the MakeHuman base mesh's "body" group (26.8k triangles) and its "helper-tights"
 * surface (5.3k, shaded as a garment) from $TRYON_ASSETS/3dobjs/base.obj (decimetres,
 * scaled to metres, feet on y = 0; loader in rt_obj_util.h), both plain diffuse, puts
 * them in the default studio (key, fill, rim, studio environment), frames them at
 * 256x384 and renders 16 spp, max depth 8, with 1 and 2 render threads, 3 runs each.
 * Prints the median ms per image (wall and CPU time: this machine is shared, so CPU
 * time is the steadier figure) and rays per second (camera, bounce, shadow and total).
 * Then camera-ray and shadow-ray rates, direct light only: the scene without lights and
 * environment (camera rays only) against the scene with them (camera + shadow rays).
 * bench/raytrace/rt_bench measures the same scene with skin and cloth against Embree alone.
 * Writes rt_bench_body.png (RGBA) and rt_bench_body_opaque.png for a look.
 * Asserted: the mesh loaded with the expected triangle counts, the counters are exact
 * (camera rays = w*h*spp; no shadow rays without lights) and identical across thread
 * counts, the image too, and the person covers a plausible share of the frame (alpha). Timings are printed, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "rt_obj_util.h"
#include "rt_test_util.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Render 3 times; median wall and CPU seconds, and the stats of the last run. */
static void time_render(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                        double *wall, double *cpu, struct rt_stats *st)
{
    double w[3], c[3];
    for (int r = 0; r < 3; r++) {
        struct rt_film f;
        double c0 = cpu_now();
        CHECK(rt_render(s, cam, set, &f) == TRYON_OK);
        c[r] = cpu_now() - c0;
        w[r] = f.stats.seconds;
        *st = f.stats;
        rt_film_free(&f);
    }
    qsort(w, 3, sizeof *w, cmp_double);
    qsort(c, 3, sizeof *c, cmp_double);
    *wall = w[1];
    *cpu = c[1];
}

int main(void)
{
    char path[4096];
    CHECK(fs_join(path, sizeof path, tryon_asset_dir(), "3dobjs/base.obj") == TRYON_OK);
    uint8_t *text = NULL;
    size_t len = 0;
    enum tryon_status st = fs_read_all(path, 0, &text, &len);
    CHECK_MSG(st == TRYON_OK, "%s", tryon_errmsg());
    if (st != TRYON_OK)
        return check_result("test_rt_bench");
    const char *names[2] = { "body", "helper-tights" };
    struct obj_group g[2];
    CHECK(load_groups((const char *)text, names, g) == 0);
    free(text);
    CHECK_EQ_INT(g[0].nt, 26756);
    CHECK_EQ_INT(g[1].nt, 5300);
    float bmin[3], bmax[3];
    prepare(g, 2, bmin, bmax);
    fprintf(stderr, "bench: person %.2f x %.2f x %.2f m\n", bmax[0] - bmin[0], bmax[1] - bmin[1], bmax[2] - bmin[2]);

    struct rt_device *dev = rt_device_create(0);
    struct rt_scene *s = rt_scene_create(dev);
    struct rt_material skin = { .albedo = { 0.62f, 0.45f, 0.37f } }, cloth = { .albedo = { 0.15f, 0.22f, 0.45f } };
    CHECK(rt_scene_add_mesh(s, g[0].pos, g[0].nrm, NULL, g[0].nv, g[0].tri, g[0].nt, &skin, true) == 0);
    CHECK(rt_scene_add_mesh(s, g[1].pos, g[1].nrm, NULL, g[1].nv, g[1].tri, g[1].nt, &cloth, true) == 1);
    struct rt_studio studio;
    rt_studio_default(&studio);
    rt_scene_add_studio(s, bmin, bmax, &studio);
    double t0 = time_now();
    CHECK(rt_scene_commit(s) == TRYON_OK);
    fprintf(stderr, "bench: %ld triangles, BVH build %.1f ms\n", rt_scene_triangle_count(s), 1e3 * (time_now() - t0));

    const int W = 256, H = 384, SPP = 16;
    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, W, H, 0.08f, &cam);
    struct rt_film f[2][3];
    for (int th = 1; th <= 2; th++) {
        double ms[3], cpu[3];
        for (int r = 0; r < 3; r++) {
            struct rt_settings set = { .spp = SPP, .max_depth = 8, .seed = 77, .threads = th };
            double c0 = cpu_now();
            CHECK(rt_render(s, &cam, &set, &f[th - 1][r]) == TRYON_OK);
            cpu[r] = 1e3 * (cpu_now() - c0);
            ms[r] = 1e3 * f[th - 1][r].stats.seconds;
        }
        double med_cpu = (qsort(cpu, 3, sizeof *cpu, cmp_double), cpu[1]);
        const struct rt_stats *x = &f[th - 1][0].stats;
        double med_ms = (qsort(ms, 3, sizeof *ms, cmp_double), ms[1]);
        double total = (double)(x->camera_rays + x->bounce_rays + x->shadow_rays);
        fprintf(stderr, "bench: %d thread%s: %dx%d %d spp median %.0f ms (runs %.0f %.0f %.0f); rays: %.2f M camera, "
                "%.2f M bounce, %.2f M shadow; %.2f Mrays/s total; CPU time median %.0f ms (%.2f Mrays per "
                "CPU-second)\n", th, th > 1 ? "s" : "", W, H, SPP, med_ms, ms[0], ms[1], ms[2], x->camera_rays / 1e6,
                x->bounce_rays / 1e6, x->shadow_rays / 1e6, total / (med_ms * 1e-3) / 1e6, med_cpu,
                total / (med_cpu * 1e-3) / 1e6);
        CHECK_EQ_INT(x->camera_rays, (long long)W * H * SPP);
    }
    CHECK_EQ_INT(f[0][0].stats.shadow_rays, f[1][0].stats.shadow_rays);

    /* Ray throughput by kind, direct light only (max_depth 1): the same scene without its
       lights traces camera rays only; with them, camera + shadow rays, so the shadow rate
       is the extra rays over the extra time. */
    struct rt_scene *dark = rt_scene_create(dev);
    CHECK(rt_scene_add_mesh(dark, g[0].pos, g[0].nrm, NULL, g[0].nv, g[0].tri, g[0].nt, &skin, true) == 0);
    CHECK(rt_scene_add_mesh(dark, g[1].pos, g[1].nrm, NULL, g[1].nv, g[1].tri, g[1].nt, &cloth, true) == 1);
    struct rt_studio nolights = studio;
    nolights.key = nolights.fill = nolights.rim = nolights.env = 0.0f;
    rt_scene_add_studio(dark, bmin, bmax, &nolights);
    CHECK(rt_scene_commit(dark) == TRYON_OK);
    for (int th = 1; th <= 2; th++) {
        struct rt_settings set = { .spp = SPP, .max_depth = 1, .seed = 77, .threads = th };
        double wc, cc, ws, cs;
        struct rt_stats sc, ss;
        time_render(dark, &cam, &set, &wc, &cc, &sc);
        time_render(s, &cam, &set, &ws, &cs, &ss);
        CHECK_EQ_INT(sc.shadow_rays, 0);
        CHECK_EQ_INT(ss.camera_rays, sc.camera_rays);
        fprintf(stderr, "bench: %d thread%s, direct light only: camera rays %.2f Mrays/s wall (%.2f per CPU-s); "
                "shadow rays %.2f Mrays/s wall (%.2f per CPU-s)\n", th, th > 1 ? "s" : "", sc.camera_rays / wc / 1e6,
                sc.camera_rays / cc / 1e6, ss.shadow_rays / (ws - wc) / 1e6, ss.shadow_rays / (cs - cc) / 1e6);
    }
    rt_scene_free(dark);
    CHECK(!memcmp(f[0][0].rgb, f[1][2].rgb, sizeof(float) * 3 * W * H));
    double cover = rtt_mean(f[0][0].alpha, W, 1, 0, 0, 0, W, H);
    fprintf(stderr, "bench: person covers %.1f%% of the frame\n", 100 * cover);
    CHECK(cover > 0.1 && cover < 0.5);
    struct img8 im;
    CHECK(rt_film_to_rgba8(&f[0][0], 1.0f, &im) == TRYON_OK);
    CHECK(img_save_png("rt_bench_body.png", &im) == TRYON_OK);
    for (int i = 0; i < W * H; i++)
        im.px[4 * i + 3] = 255;
    CHECK(img_save_png("rt_bench_body_opaque.png", &im) == TRYON_OK);
    img8_free(&im);
    for (int th = 0; th < 2; th++)
        for (int r = 0; r < 3; r++)
            rt_film_free(&f[th][r]);
    for (int j = 0; j < 2; j++) {
        free(g[j].pos);
        free(g[j].nrm);
        free(g[j].tri);
    }
    rt_scene_free(s);
    rt_device_free(dev);
    return check_result("test_rt_bench");
}
