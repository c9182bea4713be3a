/* test_rt_plane.c: a Lambertian plane lit by one small area light against the analytic
 * irradiance.
 *
 * The plane y = 0 (albedo 0.7) is lit by a square light of side `side` tilted 40 degrees
 * towards -x; a camera 3 m above looks straight down (the light stays out of frame).
 * Nothing else is in the scene and the light's own surface absorbs, so the plane's
 * radiance is exactly albedo/pi * E(x), E from Lambert's formula for a polygon of
 * radiance L seen from x with normal n:
 *     E = L/2 * | sum_i acos(v_i . v_i+1) * n . (v_i x v_i+1) / |v_i x v_i+1| |,
 * v_i the unit vectors from x to the corners, evaluated where each pixel's centre ray
 * hits. Tolerances at 256 spp: 1% on the mean of each 16x16 block (cos and 1/d^2 vary
 * across the light: about 25% per sample for the large light sampled by area; at most
 * 0.15% standard error per block) and 0.2% on the image mean. Three lights, each path of the sampler: 0.2 m at (1, 0.5, 0), sampled
 * by area (every visible point is farther than its diagonal); 0.5 mm with 160000 times
 * the radiance (by area); 0.6 m at (1.2, 0.6, 0), sampled by solid angle for the points
 * within 0.85 m of its centre (the right third of the image) and by area elsewhere.
 * Two lights (emitter selection per point): the far 0.2 m light plus a 0.3 m light at
 * (-1, 0.4, 0) facing up and +x (normal (cos 60, sin 60, 0)), whose plane crosses the
 * floor at x = -0.31: points left of that get nothing from it (selection probability 0),
 * points right of it get Lambert's E from both; same tolerances, max depth 4 (MIS on).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rt_test_util.h"

/* Lambert's formula for a quad light (corners c[4]) at point x with normal n. */
static double lambert_E(const double c[4][3], const double x[3], const double n[3], double L)
{
    double v[4][3], sum = 0;
    for (int i = 0; i < 4; i++) {
        double len = 0;
        for (int k = 0; k < 3; k++) {
            v[i][k] = c[i][k] - x[k];
            len += v[i][k] * v[i][k];
        }
        len = sqrt(len);
        for (int k = 0; k < 3; k++)
            v[i][k] /= len;
    }
    for (int i = 0; i < 4; i++) {
        const double *a = v[i], *b = v[(i + 1) % 4];
        double cr[3] = { a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0] };
        double cl = sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
        double th = acos(fmin(1.0, a[0] * b[0] + a[1] * b[1] + a[2] * b[2]));
        sum += th * (n[0] * cr[0] + n[1] * cr[1] + n[2] * cr[2]) / cl;
    }
    return 0.5 * L * fabs(sum);
}

/* The rendered film of the plane (64x64, camera 3 m above looking down, 30 deg fov)
   against expected radiance: sums per 16x16 block and over the image. */
struct plane_cmp { double got[4][4], want[4][4], sum, sum_want; };

/* Where pixel (x, y)'s centre ray hits the plane y = 0. Camera basis: fwd -y, right =
   fwd x up = (-y) x (-z) = +x, image up = -z. */
static void plane_point(int x, int y, int W, int H, double p[3])
{
    const double tan_y = tan(15.0 * M_PI / 180.0);
    double nx = 2.0 * (x + 0.5) / W - 1.0, ny = 1.0 - 2.0 * (y + 0.5) / H;
    p[0] = 3.0 * nx * tan_y, p[1] = 0.0, p[2] = -3.0 * ny * tan_y;
}

static void plane_add(struct plane_cmp *c, int x, int y, double got, double want)
{
    c->got[y / 16][x / 16] += got;
    c->want[y / 16][x / 16] += want;
    c->sum += got;
    c->sum_want += want;
}

/* The worst relative error of a block mean. */
static double plane_worst(const struct plane_cmp *c)
{
    double worst = 0;
    for (int by = 0; by < 4; by++)
        for (int bx = 0; bx < 4; bx++)
            worst = fmax(worst, fabs(c->got[by][bx] / c->want[by][bx] - 1));
    return worst;
}

static void plane_case(struct rt_device *dev, const float ctr[3], float side, float radiance)
{
    const float albedo = 0.7f;
    struct rt_scene *s = rt_scene_create(dev);
    const float pc[3] = { -5, 0, 5 }, pu[3] = { 10, 0, 0 }, pv[3] = { 0, 0, -10 };
    struct rtt_mesh plane = rtt_quad(pc, pu, pv);
    const float alb[3] = { albedo, albedo, albedo };
    CHECK(rtt_add(s, &plane, alb, false) == 0);
    /* tilt 40 deg: n = (-sin, -cos, 0), eu along a = (cos, -sin, 0), ev along z:
       cross(a, z) = n */
    const double t = 40.0 * M_PI / 180.0;
    float eu[3] = { side * (float)cos(t), -side * (float)sin(t), 0 }, ev[3] = { 0, 0, side };
    float corner[3];
    for (int k = 0; k < 3; k++)
        corner[k] = ctr[k] - 0.5f * eu[k] - 0.5f * ev[k];
    const float L[3] = { radiance, radiance, radiance };
    rt_scene_add_rect_light(s, corner, eu, ev, L);
    CHECK(rt_scene_commit(s) == TRYON_OK);

    const int W = 64, H = 64;
    struct rt_camera cam = { { 0, 3, 0 }, { 0, 0, 0 }, { 0, 0, -1 }, 30.0f, W, H };
    struct rt_settings set = { .spp = 256, .max_depth = 4, .seed = 2, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);

    double c4[4][3];
    for (int k = 0; k < 3; k++) {
        c4[0][k] = corner[k];
        c4[1][k] = (double)corner[k] + eu[k];
        c4[2][k] = (double)corner[k] + eu[k] + ev[k];
        c4[3][k] = (double)corner[k] + ev[k];
    }
    const double n[3] = { 0, 1, 0 };
    struct plane_cmp cmp;
    memset(&cmp, 0, sizeof cmp);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double p[3];
            plane_point(x, y, W, H, p);
            plane_add(&cmp, x, y, f.rgb[3 * (y * W + x) + 1], albedo / M_PI * lambert_E(c4, p, n, radiance));
        }
    double worst = plane_worst(&cmp), sum = cmp.sum, sum_want = cmp.sum_want;
    fprintf(stderr, "plane, light side %g m: worst 16x16 block %.3f%%, image mean %+.4f%% (%llu shadow rays)\n",
            (double)side, 100 * worst, 100 * (sum / sum_want - 1), (unsigned long long)f.stats.shadow_rays);
    CHECK_NEAR(worst, 0.0, 0.01);
    CHECK_NEAR(sum / sum_want, 1.0, 0.002);
    rt_film_free(&f);
    rtt_mesh_free(&plane);
    rt_scene_free(s);
}

static void two_lights(struct rt_device *dev)
{
    const float albedo = 0.7f;
    struct rt_scene *s = rt_scene_create(dev);
    const float pc[3] = { -5, 0, 5 }, pu[3] = { 10, 0, 0 }, pv[3] = { 0, 0, -10 };
    struct rtt_mesh plane = rtt_quad(pc, pu, pv);
    const float alb[3] = { albedo, albedo, albedo };
    CHECK(rtt_add(s, &plane, alb, false) == 0);
    double c4[2][4][3], rad[2] = { 10.0, 4.0 }, ctr[2][3] = { { 1.0, 0.5, 0.0 }, { -1.0, 0.4, 0.0 } };
    double nb[3] = { cos(M_PI / 3), sin(M_PI / 3), 0 };
    for (int li = 0; li < 2; li++) {
        double side = li ? 0.3 : 0.2, t = 40.0 * M_PI / 180.0;
        /* light 0 as plane_case's (tilted 40 deg towards -x); light 1 normal nb */
        double eu[3] = { li ? -side * sin(M_PI / 3) : side * cos(t), li ? side * cos(M_PI / 3) : -side * sin(t), 0 };
        double ev[3] = { 0, 0, side };
        float feu[3], fev[3], corner[3], L[3];
        for (int k = 0; k < 3; k++) {
            feu[k] = (float)eu[k];
            fev[k] = (float)ev[k];
            corner[k] = (float)(ctr[li][k] - 0.5 * eu[k] - 0.5 * ev[k]);
            L[k] = (float)rad[li];
        }
        rt_scene_add_rect_light(s, corner, feu, fev, L);
        for (int k = 0; k < 3; k++) {
            c4[li][0][k] = corner[k];
            c4[li][1][k] = (double)corner[k] + feu[k];
            c4[li][2][k] = (double)corner[k] + feu[k] + fev[k];
            c4[li][3][k] = (double)corner[k] + fev[k];
        }
    }
    CHECK(rt_scene_commit(s) == TRYON_OK);
    const int W = 64, H = 64;
    struct rt_camera cam = { { 0, 3, 0 }, { 0, 0, 0 }, { 0, 0, -1 }, 30.0f, W, H };
    struct rt_settings set = { .spp = 256, .max_depth = 4, .seed = 3, .threads = 0 };
    struct rt_film f;
    CHECK(rt_render(s, &cam, &set, &f) == TRYON_OK);
    const double n[3] = { 0, 1, 0 };
    struct plane_cmp cmp;
    memset(&cmp, 0, sizeof cmp);
    int behind = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double p[3];
            plane_point(x, y, W, H, p);
            double want = albedo / M_PI * lambert_E(c4[0], p, n, rad[0]);
            double front = (p[0] - ctr[1][0]) * nb[0] + (p[1] - ctr[1][1]) * nb[1];
            if (front > 0)
                want += albedo / M_PI * lambert_E(c4[1], p, n, rad[1]);
            else
                behind++;
            plane_add(&cmp, x, y, f.rgb[3 * (y * W + x) + 1], want);
        }
    double worst = plane_worst(&cmp), sum = cmp.sum, sum_want = cmp.sum_want;
    fprintf(stderr, "plane, two lights: worst 16x16 block %.3f%%, image mean %+.4f%%, %d pixels behind the second "
            "light\n", 100 * worst, 100 * (sum / sum_want - 1), behind);
    CHECK(behind > 500 && behind < W * H - 500);
    CHECK_NEAR(worst, 0.0, 0.01);
    CHECK_NEAR(sum / sum_want, 1.0, 0.002);
    rt_film_free(&f);
    rtt_mesh_free(&plane);
    rt_scene_free(s);
}

int main(void)
{
    struct rt_device *dev = rt_device_create(0);
    CHECK(dev != NULL);
    const float far[3] = { 1.0f, 0.5f, 0.0f }, near[3] = { 1.2f, 0.6f, 0.0f };
    plane_case(dev, far, 0.2f, 10.0f);
    plane_case(dev, far, 0.0005f, 10.0f * 160000.0f);
    plane_case(dev, near, 0.6f, 2.0f);
    two_lights(dev);
    rt_device_free(dev);
    return check_result("test_rt_plane");
}
