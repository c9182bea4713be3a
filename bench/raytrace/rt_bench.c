/* rt_bench.c: the path tracer's speed and look on a person in the default studio.
 *
 * Scene: the MakeHuman base mesh's "body" (26.8k triangles, SKIN preset, albedo
 * 0.62 0.45 0.37) and "helper-tights" (5.3k, CLOTH preset, navy albedo with its default
 * sheen) from $TRYON_ASSETS/3dobjs/base.obj in rt_scene_add_studio's default studio (key,
 * fill, rim, studio environment), framed by rt_camera_frame.
 *
 *   rt_bench [--threads N] [--spp S] [--size W H]      speed (default 256x384, 16 spp,
 *                                                        max depth 8, threads 1 and 2)
 *   rt_bench --rmse REF_SPP [--size W H] [--depth D]     convergence: RMSE of the linear
 *                                                        film at 4, 16, 64, 256 spp against
 *                                                        a REF_SPP render (another seed),
 *                                                        with render times
 *   rt_bench --look OUT_DIR [--spp S] [--size W H] [--depth D] [--zoom]
 *                                                        render and write PNGs to look at
 *                                                        (--zoom: frame the top 40% of
 *                                                        the person, head and shoulders)
 *
 * Speed: median of 3 runs of each: (a) the full render (all ray kinds); (b) camera rays
 * only: the same scene without lights and environment at max depth 1 (camera ray +
 * first-hit shading for the AOVs); secondary rays = (a) - (b) in rays and in time;
 * (c) rt_trace_probe: the same kinds of rays through Embree with no shading, the ceiling.
 * Printed: Mrays per CPU-second of each (CPU time of the process over all threads: on a
 * shared machine the steadier figure; wall time of the full render too), and the
 * overhead ratios ceiling / render.
 * Look: film written as <OUT>/look_soft.png (rt_tonemap), look_filmic.png (filmic),
 * look_albedo.png and look_normal.png (AOVs), and a firefly count: pixels whose
 * luminance is over 4x the median of their 3x3 neighbourhood and over 0.5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/raytrace/rt_obj_util.h"

struct person { struct obj_group g[2]; float bmin[3], bmax[3]; };

static int load_person(struct person *p)
{
    char path[4096];
    if (fs_join(path, sizeof path, tryon_asset_dir(), "3dobjs/base.obj") != TRYON_OK)
        return -1;
    uint8_t *text = NULL;
    size_t len = 0;
    if (fs_read_all(path, 0, &text, &len) != TRYON_OK) {
        fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
        return -1;
    }
    const char *names[2] = { "body", "helper-tights" };
    int r = load_groups((const char *)text, names, p->g);
    free(text);
    if (r == 0)
        prepare(p->g, 2, p->bmin, p->bmax);
    return r;
}

static struct rt_scene *make_scene(struct rt_device *dev, const struct person *p, bool lit)
{
    struct rt_scene *s = rt_scene_create(dev);
    const float skin_c[3] = { 0.62f, 0.45f, 0.37f }, navy[3] = { 0.08f, 0.11f, 0.28f };
    struct rt_material skin, cloth;
    rt_material_preset(RT_BSDF_SKIN, skin_c, &skin);
    rt_material_preset(RT_BSDF_CLOTH, navy, &cloth);
    rt_scene_add_mesh(s, p->g[0].pos, p->g[0].nrm, NULL, p->g[0].nv, p->g[0].tri, p->g[0].nt, &skin, true);
    rt_scene_add_mesh(s, p->g[1].pos, p->g[1].nrm, NULL, p->g[1].nv, p->g[1].tri, p->g[1].nt, &cloth, true);
    struct rt_studio st;
    rt_studio_default(&st);
    if (!lit)
        st.key = st.fill = st.rim = st.env = 0.0f;
    rt_scene_add_studio(s, p->bmin, p->bmax, &st);
    if (rt_scene_commit(s) != TRYON_OK) {
        fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
        exit(1);
    }
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double *v)
{
    qsort(v, 3, sizeof *v, cmp_double);
    return v[1];
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Median CPU seconds (all threads; the steadier figure on a shared machine) of 3 renders;
   *wall gets the median wall seconds, st the last run's counters. */
static double time_render(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                          struct rt_stats *st, double *wall)
{
    double t[3], c[3];
    for (int r = 0; r < 3; r++) {
        struct rt_film f;
        double c0 = cpu_now();
        if (rt_render(s, cam, set, &f) != TRYON_OK) {
            fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
            exit(1);
        }
        c[r] = cpu_now() - c0;
        t[r] = f.stats.seconds;
        *st = f.stats;
        rt_film_free(&f);
    }
    *wall = median3(t);
    return median3(c);
}

int main(int argc, char **argv)
{
    int W = 256, H = 384, spp = 16, depth = 8, threads = 0;
    const char *look = NULL;
    bool zoom = false;
    int rmse_ref = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--spp") && i + 1 < argc)
            spp = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
            depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 2 < argc) {
            W = atoi(argv[++i]);
            H = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--look") && i + 1 < argc)
            look = argv[++i];
        else if (!strcmp(argv[i], "--zoom"))
            zoom = true;
        else if (!strcmp(argv[i], "--rmse") && i + 1 < argc)
            rmse_ref = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: rt_bench [--threads N] [--spp S] [--size W H] [--depth D] [--look OUT_DIR [--zoom]]\n");
            return 2;
        }
    }
    struct person p;
    if (load_person(&p) != 0)
        return 1;
    struct rt_device *dev = rt_device_create(0);
    struct rt_scene *lit = make_scene(dev, &p, true);
    struct rt_camera cam;
    float fmin[3] = { p.bmin[0], p.bmin[1], p.bmin[2] };
    if (zoom)
        fmin[1] = p.bmax[1] - 0.4f * (p.bmax[1] - p.bmin[1]);
    rt_camera_frame(fmin, p.bmax, W, H, 0.08f, &cam);
    printf("rt_bench: %s\nrt_bench: %ld triangles, %dx%d, %d spp, max depth %d\n", rt_describe(),
           rt_scene_triangle_count(lit), W, H, spp, depth);

    if (rmse_ref > 0) {
        struct rt_settings set = { .spp = rmse_ref, .max_depth = depth, .seed = 1, .threads = threads };
        struct rt_film ref;
        if (rt_render(lit, &cam, &set, &ref) != TRYON_OK) {
            fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
            return 1;
        }
        double mean = 0;
        for (int i = 0; i < W * H * 3; i++)
            mean += ref.rgb[i];
        mean /= (double)W * H * 3;
        printf("rt_bench: reference %d spp in %.1f s, mean radiance %.4f\n", rmse_ref, ref.stats.seconds, mean);
        for (int sp = 4; sp <= 256 && sp < rmse_ref; sp *= 4) {
            set.spp = sp;
            set.seed = 2;
            struct rt_film f;
            double c0 = cpu_now();
            if (rt_render(lit, &cam, &set, &f) != TRYON_OK)
                return 1;
            double cpu = cpu_now() - c0, se = 0;
            for (int i = 0; i < W * H * 3; i++)
                se += (double)(f.rgb[i] - ref.rgb[i]) * (f.rgb[i] - ref.rgb[i]);
            printf("rt_bench: %3d spp: RMSE %.5f (%.2f%% of the mean), wall %.2f s, CPU %.2f s\n", sp,
                   sqrt(se / ((double)W * H * 3)), 100 * sqrt(se / ((double)W * H * 3)) / mean, f.stats.seconds, cpu);
            rt_film_free(&f);
        }
        rt_film_free(&ref);
    } else if (look) {
        struct rt_settings set = { .spp = spp, .max_depth = depth, .seed = 77, .threads = threads,
                                   .filter = RT_FILTER_BLACKMAN_HARRIS };
        struct rt_film f;
        if (rt_render(lit, &cam, &set, &f) != TRYON_OK) {
            fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
            return 1;
        }
        printf("rt_bench: look render %.1f s, %.2f Mrays/s\n", f.stats.seconds,
               (f.stats.camera_rays + f.stats.bounce_rays + f.stats.shadow_rays) / f.stats.seconds / 1e6);
        /* fireflies: luminance over 4x the 3x3 median and over 0.5 */
        int ff = 0;
        for (int y = 1; y < H - 1; y++)
            for (int x = 1; x < W - 1; x++) {
                float v[9];
                int k = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        const float *q = f.rgb + 3 * ((size_t)(y + dy) * W + x + dx);
                        v[k++] = 0.2126f * q[0] + 0.7152f * q[1] + 0.0722f * q[2];
                    }
                float c = v[4];
                for (int i = 1; i < 9; i++) /* insertion sort for the median */
                    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
                        float t = v[j];
                        v[j] = v[j - 1];
                        v[j - 1] = t;
                    }
                ff += c > 0.5f && c > 4.0f * v[4];
            }
        printf("rt_bench: fireflies (luminance > 4x 3x3 median and > 0.5): %d of %d pixels\n", ff, W * H);
        struct img8 im;
        char path[4096];
        const char *names[2] = { "look_soft.png", "look_filmic.png" };
        for (int t = 0; t < 2; t++) {
            rt_film_to_rgba8_tone(&f, t ? 1.6f : 1.0f, t ? RT_TONE_FILMIC : RT_TONE_SOFT_KNEE, &im);
            for (int i = 0; i < W * H; i++)
                im.px[4 * i + 3] = 255;
            fs_join(path, sizeof path, look, names[t]);
            img_save_png(path, &im);
            img8_free(&im);
        }
        img8_alloc(&im, W, H, 3);
        for (int i = 0; i < W * H * 3; i++)
            im.px[i] = (uint8_t)(255.0f * fminf(fmaxf(f.albedo[i], 0.0f), 1.0f) + 0.5f);
        fs_join(path, sizeof path, look, "look_albedo.png");
        img_save_png(path, &im);
        for (int i = 0; i < W * H * 3; i++)
            im.px[i] = (uint8_t)(127.5f * (1.0f + fminf(fmaxf(f.normal[i], -1.0f), 1.0f)));
        fs_join(path, sizeof path, look, "look_normal.png");
        img_save_png(path, &im);
        img8_free(&im);
        rt_film_free(&f);
    } else {
        struct rt_scene *dark = make_scene(dev, &p, false);
        for (int th = threads ? threads : 1; th <= (threads ? threads : 2); th++) {
            struct rt_settings set = { .spp = spp, .max_depth = depth, .seed = 77, .threads = th };
            struct rt_stats full, cam_only;
            double wf, wc;
            double tf = time_render(lit, &cam, &set, &full, &wf);
            set.max_depth = 1;
            double tc = time_render(dark, &cam, &set, &cam_only, &wc);
            /* the probe's passes in CPU time: its wall time per pass scaled by the run's
               CPU / wall ratio (the passes run back to back with the same threads) */
            double probe_c[3], probe_b[3], probe_s[3];
            struct rt_probe pr;
            for (int r = 0; r < 3; r++) {
                double c0 = cpu_now();
                if (rt_trace_probe(lit, &cam, &set, &pr) != TRYON_OK) {
                    fprintf(stderr, "rt_bench: %s\n", tryon_errmsg());
                    return 1;
                }
                double k = (cpu_now() - c0) / (pr.camera_s + pr.bounce_s + pr.shadow_s);
                probe_c[r] = k * pr.camera_s;
                probe_b[r] = k * pr.bounce_s;
                probe_s[r] = k * pr.shadow_s;
            }
            double pc = median3(probe_c), pb = median3(probe_b), ps = median3(probe_s);
            double n_full = (double)(full.camera_rays + full.bounce_rays + full.shadow_rays);
            double n_sec = (double)(full.bounce_rays + full.shadow_rays);
            double r_cam = cam_only.camera_rays / tc / 1e6, r_sec = n_sec / (tf - tc) / 1e6;
            double c_cam = pr.camera_rays / pc / 1e6, c_sec = (pr.bounce_rays + pr.shadow_rays) / (pb + ps) / 1e6;
            const char *pl = th > 1 ? "s" : "";
            printf("rt_bench: %d thread%s: render wall %.0f ms, CPU %.0f ms (%.2f Mrays per CPU-s, %.2f Mrays/s wall; "
                   "%.2f M camera, %.2f M bounce, %.2f M shadow rays)\n", th, pl, 1e3 * wf, 1e3 * tf, n_full / tf / 1e6,
                   n_full / wf / 1e6, full.camera_rays / 1e6, full.bounce_rays / 1e6, full.shadow_rays / 1e6);
            printf("rt_bench: %d thread%s: camera rays %.2f Mrays per CPU-s (render, first-hit shading) vs %.2f (Embree "
                   "alone): overhead %.2fx\n", th, pl, r_cam, c_cam, c_cam / r_cam);
            printf("rt_bench: %d thread%s: secondary rays %.2f Mrays per CPU-s (render, full shading) vs %.2f (Embree "
                   "alone: bounce %.2f, shadow %.2f): overhead %.2fx\n", th, pl, r_sec, c_sec,
                   pr.bounce_rays / pb / 1e6, pr.shadow_rays / ps / 1e6, c_sec / r_sec);
            /* the render's ray mix traced at the ceiling rates */
            double t_ceiling = full.camera_rays / (c_cam * 1e6) + n_sec / (c_sec * 1e6);
            printf("rt_bench: %d thread%s: whole render %.2f Mrays per CPU-s vs Embree alone on the same mix %.2f: "
                   "overhead %.2fx\n", th, pl, n_full / tf / 1e6, n_full / t_ceiling / 1e6, tf / t_ceiling);
        }
        rt_scene_free(dark);
    }
    rt_scene_free(lit);
    rt_device_free(dev);
    for (int j = 0; j < 2; j++) {
        free(p.g[j].pos);
        free(p.g[j].nrm);
        free(p.g[j].tri);
    }
    return 0;
}
