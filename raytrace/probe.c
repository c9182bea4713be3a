/* probe.c: rt_trace_probe, Embree's ray throughput on a scene with no shading at all.
 *
 * It exists to split a render's time into "Embree traversal" and "everything else": the
 * renderer's rays/s divided by these gives the shading overhead. The rays mimic the
 * renderer's kinds (coherent camera rays, incoherent cosine bounces, shadow rays to the
 * lights) from the same camera; the per-pass hit buffer (position and geometric normal
 * per camera sample, 24 bytes) is why the sample count is capped.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raytrace/rt_internal.h"

#define RT_PROBE_MAX (1L << 25)

struct probe_hit { float p[3], n[3]; }; /* n = 0: the camera ray missed */

enum tryon_status rt_trace_probe(const struct rt_scene *s, const struct rt_camera *cam, const struct rt_settings *set,
                                 struct rt_probe *out)
{
    assert(s && cam && set && out);
    assert(s->committed);
    memset(out, 0, sizeof *out);
    struct rt_cam_basis cb;
    if (cam->width <= 0 || cam->height <= 0 || !rt_cam_basis_init(cam, &cb) || set->spp < 1 || set->threads < 0 ||
        (long)cam->width * cam->height * set->spp > RT_PROBE_MAX)
        return tryon_fail(TRYON_EINVAL, "raytrace/probe.c: bad camera or settings (%dx%d, spp %d, threads %d; at most "
                          "%ld camera rays)", cam->width, cam->height, set->spp, set->threads, RT_PROBE_MAX);
    int w = cam->width, h = cam->height, spp = set->spp;
    long n = (long)w * h * spp;
    struct probe_hit *hits = malloc(sizeof *hits * (size_t)n);
    if (!hits)
        return tryon_fail(TRYON_ENOMEM, "raytrace/probe.c: out of memory for %ld hits", n);
    int nthreads = set->threads > 0 ? set->threads : s->dev->threads;
    uint64_t seed = hash_mix64(set->seed);

    double t0 = time_now();
#pragma omp parallel for schedule(dynamic, 64) num_threads(nthreads)
    for (long row = 0; row < h; row++) {
        struct RTCIntersectContext ctx;
        rtcInitIntersectContext(&ctx);
        struct rng r;
        rng_seed(&r, seed ^ hash_mix64((uint64_t)row));
        for (long i = row * w * spp; i < (row + 1) * w * spp; i++) {
            long x = (i / spp) % w;
            float fx = (float)x + rng_float(&r), fy = (float)row + rng_float(&r);
            float nx = 2.0f * fx / (float)w - 1.0f, ny = 1.0f - 2.0f * fy / (float)h, d[3];
            v3_madd(d, cb.fwd, cb.right, nx * cb.tan_x);
            v3_madd(d, d, cb.up, ny * cb.tan_y);
            v3_normalize(d);
            struct RTCRayHit rh = { 0 };
            rh.ray.org_x = cb.eye[0]; rh.ray.org_y = cb.eye[1]; rh.ray.org_z = cb.eye[2];
            rh.ray.dir_x = d[0]; rh.ray.dir_y = d[1]; rh.ray.dir_z = d[2];
            rh.ray.tfar = INFINITY;
            rh.ray.mask = 0xffffffffu;
            rh.hit.geomID = RTC_INVALID_GEOMETRY_ID;
            rtcIntersect1(s->scene, &ctx, &rh);
            struct probe_hit *ph = &hits[i];
            if (rh.hit.geomID == RTC_INVALID_GEOMETRY_ID) {
                v3_set(ph->n, 0.0f, 0.0f, 0.0f);
                continue;
            }
            v3_madd(ph->p, cb.eye, d, rh.ray.tfar);
            v3_set(ph->n, rh.hit.Ng_x, rh.hit.Ng_y, rh.hit.Ng_z);
            v3_normalize(ph->n);
            if (v3_dot(ph->n, d) > 0.0f)
                v3_scale(ph->n, ph->n, -1.0f);
        }
    }
    out->camera_s = time_now() - t0;
    uint64_t nb = 0, ns = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t cnt = 0;
        double tp = time_now();
#pragma omp parallel for schedule(dynamic, 64) num_threads(nthreads) reduction(+ : cnt)
        for (long row = 0; row < h; row++) {
            struct RTCIntersectContext ctx;
            rtcInitIntersectContext(&ctx);
            struct rng r;
            rng_seed(&r, seed ^ hash_mix64((uint64_t)(row + 1) * (pass + 2)));
            for (long i = row * w * spp; i < (row + 1) * w * spp; i++) {
                const struct probe_hit *ph = &hits[i];
                if (ph->n[0] == 0.0f && ph->n[1] == 0.0f && ph->n[2] == 0.0f)
                    continue;
                float t[3], b[3], d[3], o[3], tfar = INFINITY;
                float u1 = rng_float(&r), u2 = rng_float(&r), rr = sqrtf(u1), phi = 2.0f * (float)M_PI * u2;
                float lx = rr * cosf(phi), ly = rr * sinf(phi), lz = sqrtf(fmaxf(0.0f, 1.0f - u1));
                float sign = copysignf(1.0f, ph->n[2]), a = -1.0f / (sign + ph->n[2]), c = ph->n[0] * ph->n[1] * a;
                v3_set(t, 1.0f + sign * ph->n[0] * ph->n[0] * a, sign * c, -sign * ph->n[0]);
                v3_set(b, c, sign + ph->n[1] * ph->n[1] * a, -ph->n[1]);
                for (int k = 0; k < 3; k++)
                    d[k] = lx * t[k] + ly * b[k] + lz * ph->n[k];
                float m = fmaxf(fmaxf(fabsf(ph->p[0]), fabsf(ph->p[1])), fabsf(ph->p[2]));
                v3_madd(o, ph->p, ph->n, 3e-5f * (1.0f + m));
                if (pass == 1 && s->nlights > 0) {
                    const struct rt_light *l = &s->lights[(int)(rng_float(&r) * (float)s->nlights) % s->nlights];
                    float y[3];
                    v3_madd(y, l->corner, l->eu, u1);
                    v3_madd(y, y, l->ev, u2);
                    v3_sub(d, y, o);
                    tfar = v3_normalize(d) * (1.0f - 1e-4f);
                }
                if (pass == 0) {
                    struct RTCRayHit rh = { 0 };
                    rh.ray.org_x = o[0]; rh.ray.org_y = o[1]; rh.ray.org_z = o[2];
                    rh.ray.dir_x = d[0]; rh.ray.dir_y = d[1]; rh.ray.dir_z = d[2];
                    rh.ray.tfar = tfar;
                    rh.ray.mask = 0xffffffffu;
                    rh.hit.geomID = RTC_INVALID_GEOMETRY_ID;
                    rtcIntersect1(s->scene, &ctx, &rh);
                } else {
                    struct RTCRay ray = { 0 };
                    ray.org_x = o[0]; ray.org_y = o[1]; ray.org_z = o[2];
                    ray.dir_x = d[0]; ray.dir_y = d[1]; ray.dir_z = d[2];
                    ray.tfar = tfar;
                    ray.mask = 0xffffffffu;
                    rtcOccluded1(s->scene, &ctx, &ray);
                }
                cnt++;
            }
        }
        if (pass == 0) {
            nb = cnt;
            out->bounce_s = time_now() - tp;
        } else {
            ns = cnt;
            out->shadow_s = time_now() - tp;
        }
    }
    free(hits);
    out->camera_rays = (uint64_t)n;
    out->bounce_rays = nb;
    out->shadow_rays = ns;
    return TRYON_OK;
}
