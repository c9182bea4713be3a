/* test_avatar_drape.c: the XPBD cloth of avatar/drape.c and kernels/kfn_cloth.h.
 *
 * - the dihedral angle's gradient against central differences (1e-3 relative);
 * - a stretched edge returns to its rest length (1e-4 m) and a bent hinge to its rest
 *   angle (1e-3 rad) under repeated projection;
 * - the reference and the threaded CPU backends give the same bytes for one drape;
 * - a 0.5 m square of cloth dropped on a sphere of radius 0.25 m settles with every vertex
 *   at least thickness - 0.5 mm outside the sphere's mesh, its corners wrapped down to
 *   where the arc length from the top puts them (2 cm), and its edges within 5% of their
 *   rest lengths;
 * - a drape given too few steps fails with TRYON_ENOTSETTLED and a message;
 * - kfn_cloth_atan2 (the bending's polynomial atan2) within 3e-7 rad of atan2 all around;
 * - av_surface_query_within on the sphere: the full query's result bit for bit within its
 *   radius and inside, INFINITY for (nearly all) points farther outside; the same distance
 *   with another point's nearest triangle as the hint.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/internal.h"
#include "kernels/kernels.h"
#include "kernels/kfn_cloth.h"
#include "tests/check.h"

static void test_gradient(void)
{
    float x[12] = {0.1f, 0.9f, 0.2f, 0.8f, -0.2f, 0.3f, 0.0f, 0.0f, 0.0f, 1.0f, 0.1f, -0.1f};
    float g[12];
    kfn_cloth_dihedral_angle(x, x + 3, x + 6, x + 9, g);
    double worst = 0;
    for (int i = 0; i < 12; i++) {
        float xp[12], xm[12], h = 1e-3f;
        memcpy(xp, x, sizeof x), memcpy(xm, x, sizeof x);
        xp[i] += h, xm[i] -= h;
        double fd = (kfn_cloth_dihedral_angle(xp, xp + 3, xp + 6, xp + 9, NULL) -
                     kfn_cloth_dihedral_angle(xm, xm + 3, xm + 6, xm + 9, NULL)) / (2.0 * h);
        worst = fmax(worst, fabs(fd - g[i]));
    }
    printf("dihedral gradient: worst difference %.2e\n", worst);
    CHECK(worst < 2e-3);
}

static void test_constraints(void)
{
    float x[6] = {0, 0, 0, 1.5f, 0, 0}, w[2] = {1, 1};
    for (int it = 0; it < 20; it++) {
        float lambda = 0;
        kfn_cloth_distance(0, 1, 1.0f, 0.0f, &lambda, w, x);
    }
    CHECK_NEAR(x[3] - x[0], 1.0f, 1e-4);
    CHECK_NEAR(x[0] + x[3], 1.5f, 1e-5);   /* equal masses: the midpoint stays */
    /* a hinge: rest flat, start folded 60 degrees */
    float q[12] = {0.5f, 1.0f, 0.0f, 0.5f, -0.5f, 0.866f, 0, 0, 0, 1, 0, 0};
    float wq[4] = {1, 1, 1, 1};
    int32_t ids[4] = {0, 1, 2, 3};
    float th0 = kfn_cloth_dihedral_angle(q, q + 3, q + 6, q + 9, NULL);
    for (int it = 0; it < 200; it++) {
        float lambda = 0;
        kfn_cloth_bend(ids, 0.0f, 0.0f, &lambda, wq, q);
    }
    float th = kfn_cloth_dihedral_angle(q, q + 3, q + 6, q + 9, NULL);
    printf("hinge: %.4f rad -> %.2e rad\n", th0, th);
    CHECK(fabsf(th0) > 0.5f);
    CHECK(fabsf(th) < 1e-3f);
}

/* An n x n grid of size metres centred above the origin at height y0. */
static void grid(int n, float size, float y0, float *x, int32_t *tri)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            float *p = x + (size_t)(j * n + i) * 3;
            p[0] = size * ((float)i / (n - 1) - 0.5f), p[1] = y0, p[2] = size * ((float)j / (n - 1) - 0.5f);
        }
    int t = 0;
    for (int j = 0; j + 1 < n; j++)
        for (int i = 0; i + 1 < n; i++) {
            int a = j * n + i, b = a + 1, c = a + n, d = c + 1;
            int32_t *f = tri + (size_t)t * 6;
            f[0] = a, f[1] = c, f[2] = b, f[3] = b, f[4] = c, f[5] = d;   /* normal +y */
            t++;
        }
}

/* A UV sphere of radius r at c, outward triangles. */
static void sphere(float r, const float c[3], struct avatar_mesh *m)
{
    int nu = 48, nvv = 24;
    m->nv = nu * (nvv - 1) + 2, m->nt = 2 * nu * (nvv - 1);
    m->pos = malloc((size_t)m->nv * 3 * sizeof *m->pos);
    m->tri = malloc((size_t)m->nt * 3 * sizeof *m->tri);
    m->nrm = NULL, m->uv = NULL;
    int k = 0;
    for (int j = 1; j < nvv; j++)
        for (int i = 0; i < nu; i++) {
            float th = (float)M_PI * j / nvv, ph = 2.0f * (float)M_PI * i / nu;
            m->pos[k * 3] = c[0] + r * sinf(th) * cosf(ph);
            m->pos[k * 3 + 1] = c[1] + r * cosf(th);
            m->pos[k * 3 + 2] = c[2] + r * sinf(th) * sinf(ph);
            k++;
        }
    int top = k, bot = k + 1;
    m->pos[top * 3] = c[0], m->pos[top * 3 + 1] = c[1] + r, m->pos[top * 3 + 2] = c[2];
    m->pos[bot * 3] = c[0], m->pos[bot * 3 + 1] = c[1] - r, m->pos[bot * 3 + 2] = c[2];
    int t = 0;
    for (int i = 0; i < nu; i++) {
        int i1 = (i + 1) % nu;
        int32_t *f = m->tri + (size_t)t++ * 3;
        f[0] = top, f[1] = i1, f[2] = i;
        for (int j = 0; j + 1 < nvv - 1; j++) {
            int a = j * nu + i, b = j * nu + i1, cc = (j + 1) * nu + i, d = (j + 1) * nu + i1;
            f = m->tri + (size_t)t++ * 3;
            f[0] = a, f[1] = b, f[2] = d;
            f = m->tri + (size_t)t++ * 3;
            f[0] = a, f[1] = d, f[2] = cc;
        }
        int last = (nvv - 2) * nu;
        f = m->tri + (size_t)t++ * 3;
        f[0] = bot, f[1] = last + i, f[2] = last + i1;
    }
    m->nt = t;
    avatar_mesh_normals(m);
}

static enum tryon_status drop(enum kern_backend be, int threads, int steps, float *x, struct av_cloth_stats *cs,
                              struct av_cloth_mesh *cm, struct avatar_mesh *ball)
{
    const int n = 31;
    static int32_t tri[30 * 30 * 6];
    static float rest[31 * 31 * 3];
    grid(n, 0.5f, 0.55f, x, tri);
    memcpy(rest, x, sizeof rest);
    const float c[3] = {0.0f, 0.25f, 0.0f};
    sphere(0.25f, c, ball);
    struct av_surface *s;
    CHECK(av_surface_create(ball, 0.02f, &s) == TRYON_OK);
    struct av_obstacle ob = {s, INFINITY};
    *cm = (struct av_cloth_mesh){.nv = n * n, .nt = (n - 1) * (n - 1) * 2, .tri = tri, .rest = rest};
    struct av_cloth_params p;
    av_cloth_params_default(&p);
    p.max_steps = steps;
    p.min_steps = steps < p.min_steps ? steps : p.min_steps;
    struct kern_ctx *k = kern_create(be, threads);
    enum tryon_status st = av_cloth_drape(k, &p, cm, &ob, 1, x, cs);
    kern_destroy(k);
    av_surface_free(s);
    return st;
}

static void test_sphere(void)
{
    static float x[31 * 31 * 3], x2[31 * 31 * 3];
    struct av_cloth_stats cs, cs2;
    struct av_cloth_mesh cm;
    struct avatar_mesh ball;
    enum tryon_status st = drop(KERN_BACKEND_CPU, 2, 400, x, &cs, &cm, &ball);
    printf("sphere: status %d, %d steps, %.3f s, speed %.2g m/s, residual %.2g: %s\n", st, cs.steps, cs.seconds,
           cs.mean_speed, cs.residual, st ? tryon_errmsg() : "settled");
    CHECK(st == TRYON_OK);
    float worst = INFINITY, low = INFINITY, strain = 0;
    struct av_surface *s;
    CHECK(av_surface_create(&ball, 0.02f, &s) == TRYON_OK);
    for (int i = 0; i < cm.nv; i++) {
        const float *p = x + (size_t)i * 3;
        float q[3], n[3];
        worst = fminf(worst, av_surface_query(s, p, q, n));
        low = fminf(low, p[1]);
    }
    av_surface_free(s);
    for (int f = 0; f < cm.nt; f++)
        for (int k = 0; k < 3; k++) {
            int a = cm.tri[f * 3 + k], b = cm.tri[f * 3 + (k + 1) % 3];
            float l = 0, r = 0;
            for (int c = 0; c < 3; c++) {
                l += (x[a * 3 + c] - x[b * 3 + c]) * (x[a * 3 + c] - x[b * 3 + c]);
                r += (cm.rest[a * 3 + c] - cm.rest[b * 3 + c]) * (cm.rest[a * 3 + c] - cm.rest[b * 3 + c]);
            }
            strain = fmaxf(strain, fabsf(sqrtf(l / r) - 1.0f));
        }
    printf("sphere: nearest %.4f m from the surface (thickness 0.003), lowest vertex y %.3f, worst strain %.3f\n",
           worst, low, strain);
    CHECK(worst > 0.0025f);
    /* the corners (0.354 m from the centre) wrap the sphere down to y = 0.25 + 0.25 cos(0.354 / 0.25) */
    CHECK_NEAR(low, 0.25f + 0.25f * cosf(0.3536f / 0.25f), 0.02f);
    CHECK(strain < 0.05f);
    /* the reference backend: the same bytes (drop builds the ball again) */
    avatar_mesh_free(&ball);
    st = drop(KERN_BACKEND_REF, 1, 400, x2, &cs2, &cm, &ball);
    CHECK(st == TRYON_OK && cs2.steps == cs.steps);
    CHECK(memcmp(x, x2, sizeof x) == 0);
    avatar_mesh_free(&ball);
    /* too few steps: a clear error */
    st = drop(KERN_BACKEND_CPU, 1, 5, x2, &cs2, &cm, &ball);
    CHECK(st == TRYON_ENOTSETTLED);
    CHECK_CONTAINS(tryon_errmsg(), "did not settle");
    avatar_mesh_free(&ball);
}

static void test_atan2(void)
{
    double worst = 0;
    for (int i = 0; i <= 100000; i++) {
        double a = -M_PI + 2.0 * M_PI * i / 100000;
        for (int k = 0; k < 3; k++) {
            float r = k == 0 ? 1.0f : k == 1 ? 3e-4f : 250.0f;
            float y = r * (float)sin(a), x = r * (float)cos(a);
            worst = fmax(worst, fabs((double)kfn_cloth_atan2(y, x) - atan2((double)y, (double)x)));
        }
    }
    printf("atan2: worst difference %.2e rad\n", worst);
    CHECK(worst < 3e-7);
    CHECK(kfn_cloth_atan2(0.0f, 0.0f) == 0.0f);
    CHECK(kfn_cloth_atan2(1.0f, 0.0f) == 1.57079632679f && kfn_cloth_atan2(0.0f, -1.0f) == 3.14159265359f);
}

static void test_query_within(void)
{
    const float c[3] = {0.0f, 0.25f, 0.0f}, maxd = 0.03f;
    struct avatar_mesh ball;
    sphere(0.25f, c, &ball);
    struct av_surface *s;
    CHECK(av_surface_create(&ball, 0.02f, &s) == TRYON_OK);
    int near = 0, far = 0, far_inf = 0, bad = 0, prev_tri = -1;
    for (int i = 0; i < 20000; i++) {   /* a lattice of points over the sphere's box and 10 cm around */
        float p[3] = {-0.35f + 0.7f * (float)(i % 29) / 28, -0.1f + 0.7f * (float)(i / 29 % 27) / 26,
                      -0.35f + 0.7f * (float)(i / (29 * 27)) / 25};
        float q[3], n[3], qw[3], nw[3];
        int32_t tri = -1;
        float d = av_surface_query(s, p, q, n), dw = av_surface_query_within(s, p, maxd, &tri, qw, nw);
        int32_t hinted = prev_tri;   /* the last point's answer as the hint: the same distance */
        float dh = av_surface_query_within(s, p, maxd, &hinted, qw, nw);
        bad += dh != dw && !(dh == INFINITY && dw == INFINITY);
        prev_tri = tri >= 0 ? tri : prev_tri;
        av_surface_query_within(s, p, maxd, &tri, qw, nw);
        if (d <= maxd) {
            near++;
            bad += dw != d || memcmp(q, qw, sizeof q) || memcmp(n, nw, sizeof n);
        } else {
            far++;
            far_inf += dw == INFINITY;
            bad += dw != INFINITY && dw != d;
        }
    }
    printf("query within %.2f m: %d near or inside, %d farther (%d INFINITY), %d wrong\n", maxd, near, far, far_inf,
           bad);
    CHECK(bad == 0);
    CHECK(near > 1000 && far > 1000 && far_inf > far * 9 / 10);
    av_surface_free(s);
    avatar_mesh_free(&ball);
}

int main(void)
{
    test_gradient();
    test_atan2();
    test_query_within();
    test_constraints();
    test_sphere();
    return check_result("test_avatar_drape");
}
