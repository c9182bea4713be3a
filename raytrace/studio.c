/* studio.c: the default photo studio around a subject: a cyclorama, a three-point rig of
 * softboxes and a dim studio environment.
 *
 * Everything scales with s = the largest side of the subject's box, so a person, a
 * garment on its own, or a shoe gets the same look. Layout (subject centre c, facing +z):
 *   - cyclorama: floor at y = bmin.y from z = c.z + 12s back to the wall, a quarter-circle
 *     cove of radius 0.5s, then a back wall at z = bmin.z - 1.2s rising to 5s (wall_gap and
 *     floor_drop move the wall and the floor for a subject lying on a surface); x spans
 *     c.x +- 5s. Smooth normals on the cove. Large enough to fill the frame of
 *     rt_camera_frame (camera about 2.2s / min(aspect, 1) in front) for aspects 1:4 to 4:1.
 *   - key softbox 0.6s x 0.9s at distance 2.0s, 40 deg towards -x (image left), 35 deg
 *     up; fill 0.6s x 0.9s at 2.2s, 45 deg towards +x, 10 deg up; rim 0.35s x 0.5s at
 *     1.73s behind and above on the +x side (offset (1.1s, 1.2s, -0.6s) from c: azimuth
 *     -119 deg, elevation 44 deg); all aimed at c. Radiances give an irradiance at c, on a
 *     surface facing the light, of 2.0 (key), 0.9 (fill) and 2.5 (rim), so an albedo-0.5
 *     surface facing the camera reads about 0.3-0.4 (mid-grey and a little above) at
 *     exposure 1; the rim draws a bright edge on the right shoulder, arm and hair.
 *   - environment: rt_env_studio(128) times `env` (a dim dome, about 0.1, with soft
 *     patches), the light that reaches the subject from the open front, sides and top.
 * Why the lights stay out of frame: rt_camera_frame's view half-size at any depth in front
 * of the subject's centre is at most s/(2 (1 - 2 margin)) + (s/2) tan, i.e. for margins
 * up to 0.1 and aspects 1:4 to 4:1 under 0.76 s vertically (tan_y = 0.27) and 1.16 s
 * horizontally (tan_x up to 1.07); the key's lowest edge is 0.78 s above c and the fill's
 * nearest edge 1.3 s to the side. The rim is both high (lowest edge 1.0 s above c, out of
 * wide frames) and far to the side (nearest edge 0.9 s, out of tall frames, whose view is
 * narrow). test_rt_studio checks it by rendering.
 */
#include <assert.h>
#include <stdlib.h>

#include "raytrace/rt_internal.h"

#define COVE_SEGS 16

void rt_studio_default(struct rt_studio *st)
{
    v3_set(st->backdrop, 0.6f, 0.6f, 0.6f);
    st->key = 1.0f;
    st->fill = 1.0f;
    st->rim = 1.0f;
    st->env = 1.0f;
    st->wall_gap = 1.2f;
    st->floor_drop = 0.0f;
}

/* The cyclorama as one mesh: a profile in (z, y) extruded along x. */
static void add_cyclorama(struct rt_scene *sc, const float c[3], float floor_y, float z_wall, float s,
                          const float backdrop[3])
{
    enum { NP = COVE_SEGS + 3 }; /* profile points: front, cove (COVE_SEGS+1), wall top */
    float pz[NP], py[NP], nz[NP], ny[NP];
    float r = 0.5f * s;
    pz[0] = c[2] + 12.0f * s; py[0] = floor_y; nz[0] = 0.0f; ny[0] = 1.0f;
    for (int i = 0; i <= COVE_SEGS; i++) {
        float phi = 0.5f * (float)M_PI * (float)i / COVE_SEGS; /* 0 = floor, pi/2 = wall */
        pz[1 + i] = z_wall + r - r * sinf(phi);
        py[1 + i] = floor_y + r - r * cosf(phi);
        nz[1 + i] = sinf(phi);
        ny[1 + i] = cosf(phi);
    }
    pz[NP - 1] = z_wall; py[NP - 1] = floor_y + 5.0f * s; nz[NP - 1] = 1.0f; ny[NP - 1] = 0.0f;

    float pos[NP * 2 * 3], nrm[NP * 2 * 3];
    int32_t tri[(NP - 1) * 2 * 3];
    float x0 = c[0] - 5.0f * s, x1 = c[0] + 5.0f * s;
    for (int i = 0; i < NP; i++) {
        v3_set(pos + 6 * i, x0, py[i], pz[i]);
        v3_set(pos + 6 * i + 3, x1, py[i], pz[i]);
        v3_set(nrm + 6 * i, 0.0f, ny[i], nz[i]);
        v3_set(nrm + 6 * i + 3, 0.0f, ny[i], nz[i]);
    }
    for (int i = 0; i < NP - 1; i++) {
        int a = 2 * i, b = 2 * i + 1, cc = 2 * i + 2, d = 2 * i + 3;
        int32_t *t = tri + 6 * i;
        t[0] = a; t[1] = b; t[2] = d;
        t[3] = a; t[4] = d; t[5] = cc;
    }
    struct rt_material m = { .texture = NULL, .kind = RT_BSDF_BACKDROP };
    v3_copy(m.albedo, backdrop);
    int id = rt_scene_add_mesh(sc, pos, nrm, NULL, NP * 2, tri, (NP - 1) * 2, &m, false);
    assert(id >= 0); /* finite inputs and valid indices by construction */
    (void)id;
}

/* A w x h softbox at distance d from aim, azimuth az (radians, + towards -x), elevation el,
   facing aim, giving irradiance e at aim on a surface facing it. */
static void add_softbox(struct rt_scene *sc, const float aim[3], float d, float az, float el, float w, float h,
                        float e)
{
    float dir[3] = { -sinf(az) * cosf(el), sinf(el), cosf(az) * cosf(el) };
    float ctr[3], n[3], u[3], v[3], corner[3];
    const float yup[3] = { 0.0f, 1.0f, 0.0f };
    v3_madd(ctr, aim, dir, d);
    v3_scale(n, dir, -1.0f);
    v3_cross(u, yup, n);
    v3_normalize(u);
    v3_cross(v, n, u); /* cross(u, v) = n: the emitting side faces aim */
    v3_scale(u, u, w);
    v3_scale(v, v, h);
    v3_madd(corner, ctr, u, -0.5f);
    v3_madd(corner, corner, v, -0.5f);
    /* E = L * A / d^2 for a small light facing the point head-on */
    float rad = e * d * d / (w * h);
    float radiance[3] = { rad, rad, rad };
    rt_scene_add_rect_light(sc, corner, u, v, radiance);
}

void rt_scene_add_studio(struct rt_scene *s, const float bmin[3], const float bmax[3], const struct rt_studio *st)
{
    float c[3], size = 0.0f;
    for (int k = 0; k < 3; k++) {
        assert(bmax[k] >= bmin[k]);
        c[k] = 0.5f * (bmin[k] + bmax[k]);
        size = fmaxf(size, bmax[k] - bmin[k]);
    }
    float sz = fmaxf(size, 1e-3f);
    add_cyclorama(s, c, bmin[1] - st->floor_drop * sz, bmin[2] - st->wall_gap * sz, sz, st->backdrop);
    const float deg = (float)M_PI / 180.0f;
    if (st->key > 0.0f)
        add_softbox(s, c, 2.0f * sz, 40.0f * deg, 35.0f * deg, 0.6f * sz, 0.9f * sz, 2.0f * st->key);
    if (st->fill > 0.0f)
        add_softbox(s, c, 2.2f * sz, -45.0f * deg, 10.0f * deg, 0.6f * sz, 0.9f * sz, 0.9f * st->fill);
    if (st->rim > 0.0f)
        add_softbox(s, c, 1.73f * sz, -119.0f * deg, 44.0f * deg, 0.35f * sz, 0.5f * sz, 2.5f * st->rim);
    if (st->env > 0.0f) {
        struct imgf env = { 0 };
        enum tryon_status e = rt_env_studio(128, &env);
        if (e == TRYON_OK)
            e = rt_scene_set_env(s, &env, st->env);
        imgf_free(&env);
        if (e != TRYON_OK) { /* only out-of-memory gets here */
            log_error("raytrace/studio.c: no studio environment: %s", tryon_errmsg());
            abort();
        }
    }
}
