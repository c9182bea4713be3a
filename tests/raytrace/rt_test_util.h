/* rt_test_util.h: mesh builders shared by the raytrace tests (header-only, static).
 *
 * A UV sphere (with outward unit normals and uvs), an axis-aligned box (flat faces, 12
 * triangles) and a quad; each returns malloc'd arrays the caller frees with
 * rtt_mesh_free. Also the mean of a film channel over a pixel rectangle.
 */
#ifndef TRYON_RT_TEST_UTIL_H
#define TRYON_RT_TEST_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "raytrace/raytrace.h"

struct rtt_mesh { float *pos, *nrm, *uv; int32_t *tri; int nv, nt; };

static inline void rtt_mesh_free(struct rtt_mesh *m)
{
    free(m->pos); free(m->nrm); free(m->uv); free(m->tri);
}

/* Sphere of radius r at c: nlat bands x nlon segments, (nlat+1)(nlon+1) vertices,
   2 nlat nlon triangles (the pole rows give degenerate ones Embree skips). */
static inline struct rtt_mesh rtt_sphere(const float c[3], float r, int nlat, int nlon)
{
    struct rtt_mesh m;
    m.nv = (nlat + 1) * (nlon + 1);
    m.nt = 2 * nlat * nlon;
    m.pos = malloc(sizeof(float) * 3 * m.nv);
    m.nrm = malloc(sizeof(float) * 3 * m.nv);
    m.uv = malloc(sizeof(float) * 2 * m.nv);
    m.tri = malloc(sizeof(int32_t) * 3 * m.nt);
    for (int i = 0; i <= nlat; i++) {
        double th = M_PI * i / nlat;
        for (int j = 0; j <= nlon; j++) {
            double ph = 2 * M_PI * j / nlon;
            int v = i * (nlon + 1) + j;
            float n[3] = { (float)(sin(th) * cos(ph)), (float)cos(th), (float)(sin(th) * sin(ph)) };
            for (int k = 0; k < 3; k++) {
                m.nrm[3 * v + k] = n[k];
                m.pos[3 * v + k] = c[k] + r * n[k];
            }
            m.uv[2 * v] = (float)j / nlon;
            m.uv[2 * v + 1] = 1.0f - (float)i / nlat;
        }
    }
    int t = 0;
    for (int i = 0; i < nlat; i++)
        for (int j = 0; j < nlon; j++) {
            int a = i * (nlon + 1) + j, b = a + 1, cc = a + nlon + 1, d = cc + 1;
            int32_t *q = m.tri + 6 * t++;
            q[0] = a; q[1] = cc; q[2] = b;
            q[3] = b; q[4] = cc; q[5] = d;
        }
    return m;
}

/* Box lo..hi, 24 vertices (flat normals per face), 12 triangles, no uv. */
static inline struct rtt_mesh rtt_box(const float lo[3], const float hi[3])
{
    struct rtt_mesh m = { .nv = 24, .nt = 12, .uv = NULL };
    m.pos = malloc(sizeof(float) * 72);
    m.nrm = malloc(sizeof(float) * 72);
    m.tri = malloc(sizeof(int32_t) * 36);
    int v = 0;
    for (int axis = 0; axis < 3; axis++)
        for (int side = 0; side < 2; side++) {
            int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
            for (int q = 0; q < 4; q++) {
                float p[3];
                p[axis] = side ? hi[axis] : lo[axis];
                p[a1] = (q == 1 || q == 2) ? hi[a1] : lo[a1];
                p[a2] = (q >= 2) ? hi[a2] : lo[a2];
                for (int k = 0; k < 3; k++) {
                    m.pos[3 * (v + q) + k] = p[k];
                    m.nrm[3 * (v + q) + k] = k == axis ? (side ? 1.0f : -1.0f) : 0.0f;
                }
            }
            int32_t *t = m.tri + 3 * (v / 2);
            t[0] = v; t[1] = v + 1; t[2] = v + 2;
            t[3] = v; t[4] = v + 2; t[5] = v + 3;
            v += 4;
        }
    return m;
}

/* Quad corner, corner+u, corner+u+v, corner+v with uv (0,0),(1,0),(1,1),(0,1); no normals. */
static inline struct rtt_mesh rtt_quad(const float c[3], const float u[3], const float v[3])
{
    struct rtt_mesh m = { .nv = 4, .nt = 2, .nrm = NULL };
    m.pos = malloc(sizeof(float) * 12);
    m.uv = malloc(sizeof(float) * 8);
    m.tri = malloc(sizeof(int32_t) * 6);
    const float cu[4] = { 0, 1, 1, 0 }, cv[4] = { 0, 0, 1, 1 };
    for (int q = 0; q < 4; q++) {
        for (int k = 0; k < 3; k++)
            m.pos[3 * q + k] = c[k] + cu[q] * u[k] + cv[q] * v[k];
        m.uv[2 * q] = cu[q];
        m.uv[2 * q + 1] = cv[q];
    }
    const int32_t t[6] = { 0, 1, 2, 0, 2, 3 };
    for (int i = 0; i < 6; i++)
        m.tri[i] = t[i];
    return m;
}

static inline int rtt_add(struct rt_scene *s, const struct rtt_mesh *m, const float albedo[3], bool subject)
{
    struct rt_material mat = { .albedo = { albedo[0], albedo[1], albedo[2] } };
    return rt_scene_add_mesh(s, m->pos, m->nrm, m->uv, m->nv, m->tri, m->nt, &mat, subject);
}

/* The tests' still life: a red sphere (radius 0.3 m at (-0.25, 0.3, 0), nlat x 2 nlat
   quads) and a blue box (0.15..0.5, 0..0.9, -0.2..0.15), Lambertian subjects 0 and 1, in
   the default studio built around bmin..bmax = (-0.55, 0, -0.3)..(0.5, 0.9, 0.3);
   committed. NULL when a step fails. */
static inline struct rt_scene *rtt_still_life(struct rt_device *dev, int nlat, float bmin[3], float bmax[3])
{
    struct rt_scene *s = rt_scene_create(dev);
    const float c[3] = { -0.25f, 0.3f, 0.0f }, lo[3] = { 0.15f, 0.0f, -0.2f }, hi[3] = { 0.5f, 0.9f, 0.15f };
    struct rtt_mesh sph = rtt_sphere(c, 0.3f, nlat, 2 * nlat), box = rtt_box(lo, hi);
    const float red[3] = { 0.6f, 0.15f, 0.1f }, blue[3] = { 0.2f, 0.3f, 0.7f };
    const float b0[3] = { -0.55f, 0.0f, -0.3f }, b1[3] = { 0.5f, 0.9f, 0.3f };
    for (int k = 0; k < 3; k++)
        bmin[k] = b0[k], bmax[k] = b1[k];
    bool ok = s && rtt_add(s, &sph, red, true) == 0 && rtt_add(s, &box, blue, true) == 1;
    if (ok) {
        struct rt_studio st;
        rt_studio_default(&st);
        rt_scene_add_studio(s, bmin, bmax, &st);
        ok = rt_scene_commit(s) == TRYON_OK;
    }
    rtt_mesh_free(&sph);
    rtt_mesh_free(&box);
    if (!ok) {
        rt_scene_free(s);
        return NULL;
    }
    return s;
}

/* Mean of channel ch of a (h,w,nc) buffer over pixels [x0,x1) x [y0,y1). */
static inline double rtt_mean(const float *buf, int w, int nc, int ch, int x0, int y0, int x1, int y1)
{
    double sum = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            sum += buf[((size_t)y * w + x) * nc + ch];
    return sum / ((double)(x1 - x0) * (y1 - y0));
}

#endif
