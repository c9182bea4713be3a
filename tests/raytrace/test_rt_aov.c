/* test_rt_aov.c: the film's AOVs, camera framing, texture orientation, input errors.
 *
 * (3) Alpha: a subject sphere (r 0.5) in front of a non-subject wall. Pixels wholly on the
 *     sphere read 1 and wholly off it 0; fractional alpha appears only within 1.5 px of
 *     the projected silhouette (a circle of radius tan(asin(r/d))/tan(fov/2) * h/2), and
 *     the alpha sum equals that circle's area within 1% (64 spp). Depth, normal and albedo
 *     at the centre are the analytic ones.
 * (4) Framing: rt_camera_frame puts a box's centre at the image centre (to 1e-3 px), every
 *     corner inside the margins, the tighter direction touching them (to 0.01 px); the
 *     rendered alpha's centroid sits at the image centre (0.5 px) and its rows span the
 *     projected box (1 px).
 *     Texture: a 2x2 texture on a quad shows its bottom-left texel at uv (0,0) (v up).
 *     Mip-mapping: a 512x512 one-texel black/white checkerboard on a quad seen from 40 m
 *     (about 12 texels per pixel) reads as grey: every pixel's first-hit albedo at 1 spp
 *     within 0.05 of 0.5 (without minification filtering a pixel would be 0 or 1).
 *     Filter: with RT_FILTER_BLACKMAN_HARRIS the sphere's alpha still sums to the disc's
 *     area (1%) and fractional alpha reaches pixels more than 1.5 px outside the silhouette
 *     (the filter's radius is 1.5 px), none beyond 2.5 px.
 *     Errors: bad meshes, settings and cameras give TRYON_EINVAL with a message naming
 *     the file.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rt_test_util.h"

static void test_alpha(struct rt_device *dev)
{
    struct rt_scene *s = rt_scene_create(dev);
    const float o[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(o, 0.5f, 64, 128);
    const float red[3] = { 0.7f, 0.2f, 0.1f }, grey[3] = { 0.5f, 0.5f, 0.5f };
    CHECK(rtt_add(s, &sph, red, true) == 0);
    const float wc[3] = { -5, -5, -2 }, wu[3] = { 10, 0, 0 }, wv[3] = { 0, 10, 0 };
    struct rtt_mesh wall = rtt_quad(wc, wu, wv);
    CHECK(rtt_add(s, &wall, grey, false) == 1);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    CHECK_EQ_INT(rt_scene_triangle_count(s), sph.nt + 2);

    const int W = 64, H = 64;
    const float d = 4.0f;
    struct rt_camera cam = { { 0, 0, d }, { 0, 0, 0 }, { 0, 1, 0 }, 30.0f, W, H };
    struct rt_settings set = { .spp = 64, .max_depth = 1, .seed = 9, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double rpx = tan(asin(0.5 / d)) / tan(15.0 * M_PI / 180.0) * H / 2;
    double asum = 0;
    int nfrac = 0, far_frac = 0, wrong_full = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float a = f.alpha[y * W + x];
            double r = hypot(x + 0.5 - W / 2.0, y + 0.5 - H / 2.0);
            asum += a;
            if (a > 0.0f && a < 1.0f) {
                nfrac++;
                far_frac += fabs(r - rpx) > 1.5;
            }
            if (r < rpx - 1.5 && a != 1.0f)
                wrong_full++;
            if (r > rpx + 1.5 && a != 0.0f)
                wrong_full++;
        }
    fprintf(stderr, "alpha: %d fractional pixels, sum %.2f vs disc area %.2f\n", nfrac, asum, M_PI * rpx * rpx);
    CHECK(nfrac > (int)(2 * M_PI * rpx)); /* at least one per pixel of perimeter */
    CHECK_EQ_INT(far_frac, 0);
    CHECK_EQ_INT(wrong_full, 0);
    CHECK_NEAR(asum, M_PI * rpx * rpx, 0.01 * M_PI * rpx * rpx);
    /* centre: the 4 pixels around the image centre see the sphere's front at distance d-r */
    size_t c = (size_t)(H / 2) * W + W / 2;
    CHECK_NEAR(f.depth[c], d - 0.5, 2e-3);
    CHECK_NEAR(f.normal[3 * c + 2], 1.0, 2e-3); /* the pixel spans 1.7 deg of the sphere: mean 0.9989 */
    CHECK_NEAR(f.albedo[3 * c], 0.7, 1e-6);
    CHECK_NEAR(f.albedo[3 * c + 1], 0.2, 1e-6);
    /* corner pixel: the wall at distance (d + 2) / cos(angle to the pixel centre) */
    double t = tan(15.0 * M_PI / 180.0), nx = (0.5 - W / 2.0) / (W / 2.0) * t, ny = nx;
    CHECK_NEAR(f.depth[0], (d + 2) * sqrt(1 + nx * nx + ny * ny), 2e-3 * (d + 2));
    CHECK_NEAR(f.albedo[0], 0.5, 1e-6);
    CHECK(f.alpha[0] == 0.0f);
    /* no lights: radiance is zero everywhere */
    double rsum = 0;
    for (int i = 0; i < W * H * 3; i++)
        rsum += f.rgb[i];
    CHECK(rsum == 0.0);
    rt_film_free(&f);
    rtt_mesh_free(&sph);
    rtt_mesh_free(&wall);
    rt_scene_free(s);
}

static void test_framing(struct rt_device *dev)
{
    const float bmin[3] = { -0.3f, 0.0f, -0.1f }, bmax[3] = { 0.3f, 1.8f, 0.2f };
    const int W = 96, H = 128;
    const float margin = 0.08f;
    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, W, H, margin, &cam);
    float c[3], px, py;
    for (int k = 0; k < 3; k++)
        c[k] = 0.5f * (bmin[k] + bmax[k]);
    CHECK(rt_camera_project(&cam, c, &px, &py));
    CHECK_NEAR(px, W / 2.0, 1e-3);
    CHECK_NEAR(py, H / 2.0, 1e-3);
    float xmin = 1e9f, xmax = -1e9f, ymin = 1e9f, ymax = -1e9f;
    for (int i = 0; i < 8; i++) {
        float p[3] = { i & 1 ? bmax[0] : bmin[0], i & 2 ? bmax[1] : bmin[1], i & 4 ? bmax[2] : bmin[2] };
        CHECK(rt_camera_project(&cam, p, &px, &py));
        xmin = fminf(xmin, px); xmax = fmaxf(xmax, px);
        ymin = fminf(ymin, py); ymax = fmaxf(ymax, py);
    }
    CHECK(xmin >= margin * W - 1e-3 && xmax <= (1 - margin) * W + 1e-3);
    CHECK(ymin >= margin * H - 1e-3 && ymax <= (1 - margin) * H + 1e-3);
    /* this tall box is limited by the height: it touches the top and bottom margins */
    CHECK_NEAR(ymin, margin * H, 0.01);
    CHECK_NEAR(ymax, (1 - margin) * H, 0.01);
    /* a point behind the camera does not project */
    float behind[3] = { cam.eye[0], cam.eye[1], cam.eye[2] + 1 };
    CHECK(!rt_camera_project(&cam, behind, &px, &py));

    /* render the box as a subject: alpha centroid and vertical span */
    struct rt_scene *s = rt_scene_create(dev);
    struct rtt_mesh box = rtt_box(bmin, bmax);
    const float alb[3] = { 0.5f, 0.5f, 0.5f };
    CHECK(rtt_add(s, &box, alb, true) == 0);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    struct rt_settings set = { .spp = 16, .max_depth = 1, .seed = 4, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double sa = 0, sx = 0, sy = 0;
    int top = -1, bottom = -1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double a = f.alpha[y * W + x];
            sa += a;
            sx += a * (x + 0.5);
            sy += a * (y + 0.5);
            if (a > 0.5 && top < 0)
                top = y;
            if (a > 0.5)
                bottom = y;
        }
    fprintf(stderr, "framing: alpha centroid (%.3f, %.3f) of (%d, %d); rows %d..%d, projected %.2f..%.2f\n", sx / sa,
            sy / sa, W / 2, H / 2, top, bottom, ymin, ymax);
    CHECK_NEAR(sx / sa, W / 2.0, 0.5);
    CHECK_NEAR(sy / sa, H / 2.0, 0.5);
    CHECK_NEAR(top, ymin, 1.0);
    CHECK_NEAR(bottom + 1, ymax, 1.0);
    rt_film_free(&f);
    rtt_mesh_free(&box);
    rt_scene_free(s);
}

static void test_texture(struct rt_device *dev)
{
    /* rows top first: top row red, green; bottom row blue, white */
    float px[2 * 2 * 3] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1 };
    struct imgf tex = { 2, 2, 3, px };
    struct rt_material mat = { .albedo = { 0.5f, 0.5f, 0.5f }, .texture = &tex };
    struct rt_scene *s = rt_scene_create(dev);
    const float qc[3] = { -1, -1, 0 }, qu[3] = { 2, 0, 0 }, qv[3] = { 0, 2, 0 };
    struct rtt_mesh q = rtt_quad(qc, qu, qv);
    CHECK(rt_scene_add_mesh(s, q.pos, NULL, q.uv, q.nv, q.tri, q.nt, &mat, true) == 0);
    px[0] = 0.25f; /* the scene holds its own copy: changing ours changes nothing */
    CHECK(rt_scene_commit(s) == TRYON_OK);
    struct rt_camera cam = { { 0, 0, 3 }, { 0, 0, 0 }, { 0, 1, 0 }, 60.0f, 32, 32 };
    struct rt_settings set = { .spp = 4, .max_depth = 1, .seed = 1, .threads = 1 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    /* world (+-0.8, +-0.8) is uv (0.1 or 0.9): pixels 16 -+ 0.8/(3 tan 30) * 16 */
    const int lo = 8, hi = 23;
    const float *bl = f.albedo + 3 * (hi * 32 + lo), *br = f.albedo + 3 * (hi * 32 + hi);
    const float *tl = f.albedo + 3 * (lo * 32 + lo), *tr = f.albedo + 3 * (lo * 32 + hi);
    CHECK(bl[0] == 0 && bl[1] == 0 && bl[2] == 1);  /* blue */
    CHECK(br[0] == 1 && br[1] == 1 && br[2] == 1);  /* white */
    CHECK(tl[0] == 1 && tl[1] == 0 && tl[2] == 0);  /* red */
    CHECK(tr[0] == 0 && tr[1] == 1 && tr[2] == 0);  /* green */
    rt_film_free(&f);
    rtt_mesh_free(&q);
    rt_scene_free(s);
}

static void test_mips(struct rt_device *dev)
{
    enum { T = 512 };
    struct imgf tex;
    CHECK(imgf_alloc(&tex, T, T, 3) == TRYON_OK);
    for (int y = 0; y < T; y++)
        for (int x = 0; x < T; x++)
            for (int c = 0; c < 3; c++)
                tex.px[((size_t)y * T + x) * 3 + c] = (float)((x + y) & 1);
    struct rt_material mat = { .albedo = { 0.5f, 0.5f, 0.5f }, .texture = &tex };
    struct rt_scene *s = rt_scene_create(dev);
    const float qc[3] = { -4, -4, 0 }, qu[3] = { 8, 0, 0 }, qv[3] = { 0, 8, 0 };
    struct rtt_mesh q = rtt_quad(qc, qu, qv);
    CHECK(rt_scene_add_mesh(s, q.pos, NULL, q.uv, q.nv, q.tri, q.nt, &mat, true) == 0);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    /* 8 m = 512 texels seen from 40 m through a 30 deg, 32 px view: the quad spans
       8 / (2 * 40 * tan 15) * 32 = 11.9 px, about 43 texels per pixel */
    struct rt_camera cam = { { 0, 0, 40 }, { 0, 0, 0 }, { 0, 1, 0 }, 30.0f, 32, 32 };
    struct rt_settings set = { .spp = 1, .max_depth = 1, .seed = 5, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double worst = 0;
    int n = 0;
    for (int y = 12; y < 20; y++)
        for (int x = 12; x < 20; x++) {
            worst = fmax(worst, fabs(f.albedo[3 * (y * 32 + x)] - 0.5));
            n++;
        }
    fprintf(stderr, "mips: worst albedo deviation from 0.5 over %d pixels: %.4f\n", n, worst);
    CHECK(worst < 0.05);
    rt_film_free(&f);
    rtt_mesh_free(&q);
    rt_scene_free(s);
    imgf_free(&tex);
}

static void test_filter(struct rt_device *dev)
{
    struct rt_scene *s = rt_scene_create(dev);
    const float o[3] = { 0, 0, 0 };
    struct rtt_mesh sph = rtt_sphere(o, 0.5f, 64, 128);
    const float red[3] = { 0.7f, 0.2f, 0.1f };
    CHECK(rtt_add(s, &sph, red, true) == 0);
    CHECK(rt_scene_commit(s) == TRYON_OK);
    const int W = 64, H = 64;
    const float d = 4.0f;
    struct rt_camera cam = { { 0, 0, d }, { 0, 0, 0 }, { 0, 1, 0 }, 30.0f, W, H };
    struct rt_settings set = { .spp = 256, .max_depth = 1, .seed = 9, .threads = 0,
                               .filter = RT_FILTER_BLACKMAN_HARRIS };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    double rpx = tan(asin(0.5 / d)) / tan(15.0 * M_PI / 180.0) * H / 2;
    double asum = 0;
    int wide = 0, too_far = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float a = f.alpha[y * W + x];
            double r = hypot(x + 0.5 - W / 2.0, y + 0.5 - H / 2.0);
            asum += a;
            if (a > 0.0f && r > rpx + 1.5)
                wide++;
            if (a > 0.0f && r > rpx + 2.5)
                too_far++;
        }
    fprintf(stderr, "filter: Blackman-Harris alpha sum %.2f vs disc area %.2f; %d pixels beyond 1.5 px, %d beyond 2.5\n",
            asum, M_PI * rpx * rpx, wide, too_far);
    CHECK_NEAR(asum, M_PI * rpx * rpx, 0.01 * M_PI * rpx * rpx);
    CHECK(wide > 0);
    CHECK_EQ_INT(too_far, 0);
    set.filter = (enum rt_filter)7;
    struct rt_film g;
    CHECK_EQ_INT(rt_render(s, &cam, &set, &g), TRYON_EINVAL);
    rt_film_free(&f);
    rtt_mesh_free(&sph);
    rt_scene_free(s);
}

static void test_errors(struct rt_device *dev)
{
    struct rt_scene *s = rt_scene_create(dev);
    CHECK_EQ_INT(rt_scene_commit(s), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "raytrace/scene.c");
    const float qc[3] = { 0, 0, 0 }, qu[3] = { 1, 0, 0 }, qv[3] = { 0, 1, 0 };
    struct rtt_mesh q = rtt_quad(qc, qu, qv);
    struct rt_material mat = { .albedo = { 0.5f, 0.5f, 0.5f } };
    q.tri[5] = 4; /* index out of range */
    CHECK_EQ_INT(rt_scene_add_mesh(s, q.pos, NULL, NULL, q.nv, q.tri, q.nt, &mat, true), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "outside [0,4)");
    q.tri[5] = 3;
    q.pos[4] = NAN;
    CHECK_EQ_INT(rt_scene_add_mesh(s, q.pos, NULL, NULL, q.nv, q.tri, q.nt, &mat, true), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "non-finite");
    q.pos[4] = 0;
    float px[3] = { 1, 1, 1 };
    struct imgf tex = { 1, 1, 3, px };
    struct rt_material tmat = { .albedo = { 0.5f, 0.5f, 0.5f }, .texture = &tex };
    CHECK_EQ_INT(rt_scene_add_mesh(s, q.pos, NULL, NULL, q.nv, q.tri, q.nt, &tmat, true), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "uv");
    CHECK_EQ_INT(rt_scene_add_mesh(s, q.pos, NULL, NULL, 2, q.tri, q.nt, &mat, true), TRYON_EINVAL);
    CHECK_EQ_INT(rt_scene_add_mesh(s, q.pos, NULL, NULL, q.nv, q.tri, q.nt, &mat, true), 0);
    CHECK(rt_scene_commit(s) == TRYON_OK);

    struct rt_camera cam = { { 0, 0, 3 }, { 0, 0, 0 }, { 0, 1, 0 }, 60.0f, 8, 8 };
    struct rt_settings set = { .spp = 0, .max_depth = 1, .seed = 1, .threads = 0 };
    struct rt_film f;
    CHECK_EQ_INT(rt_render(s, &cam, &set, &f), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "raytrace/render.c");
    set.spp = 1;
    set.max_depth = 0;
    CHECK_EQ_INT(rt_render(s, &cam, &set, &f), TRYON_EINVAL);
    set.max_depth = 1;
    struct rt_camera bad = cam;
    bad.up[1] = 0; bad.up[2] = 1; /* up along the view */
    CHECK_EQ_INT(rt_render(s, &bad, &set, &f), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "degenerate camera");
    bad = cam;
    bad.width = 0;
    CHECK_EQ_INT(rt_render(s, &bad, &set, &f), TRYON_EINVAL);
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    struct img8 im;
    CHECK_EQ_INT(rt_film_to_rgba8(&f, NAN, &im), TRYON_EINVAL);
    rt_film_free(&f);
    rtt_mesh_free(&q);
    rt_scene_free(s);
}

int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    test_alpha(dev);
    test_framing(dev);
    test_texture(dev);
    test_mips(dev);
    test_filter(dev);
    test_errors(dev);
    rt_device_free(dev);
    return check_result("test_rt_aov");
}
