/* scene.c: building a scene: triangle meshes with materials, rectangular area lights, and
 * the commit that builds Embree's BVH and the emitters' selection probabilities.
 *
 * Every array handed in is copied: positions and indices into Embree-owned buffers (which
 * Embree pads as it needs), normals, uvs, indices and the texture (as a mip chain) into
 * our rt_mesh, which the shader reads at a hit. Lights are kept as rt_light for sampling
 * and are also added to Embree as two triangles so camera rays see them and shadow rays
 * are blocked by them.
 * Emitter selection for next-event estimation: the environment gets probability
 * E_env / (E_env + sum E_i), clamped to [0.05, 0.5] when there are rectangles too, where
 * E_env = pi * mean radiance / 2 (half the sky seen) and E_i = luminance * area /
 * (d^2 + area) the irradiance a light gives at the centre of the scene's bounds; the
 * rest is shared among rectangles by power (area x mean radiance). These are the
 * probabilities of scenes with many lights; with up to 16 the renderer adapts them to
 * each shading point (render.c, select_probs) from lum_area and env_w.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raytrace/rt_internal.h"

#define RT_MAX_ELEMS (1 << 28) /* vertices or triangles per mesh */

struct rt_scene *rt_scene_create(struct rt_device *d)
{
    struct rt_scene *s = calloc(1, sizeof *s);
    if (!s) {
        tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory");
        return NULL;
    }
    s->dev = d;
    s->scene = rtcNewScene(d->dev);
    if (!s->scene) {
        tryon_fail(TRYON_EUNSUPPORTED, "raytrace/scene.c: rtcNewScene failed (embree error %d)",
                   (int)rtcGetDeviceError(d->dev));
        free(s);
        return NULL;
    }
    rtcSetSceneFlags(s->scene, RTC_SCENE_FLAG_ROBUST);
    rtcSetSceneBuildQuality(s->scene, RTC_BUILD_QUALITY_HIGH);
    return s;
}

void rt_scene_free(struct rt_scene *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nmeshes; i++) {
        free(s->meshes[i].nrm);
        free(s->meshes[i].uv);
        free(s->meshes[i].tri);
        free(s->meshes[i].texel_scale);
        for (int k = 0; k < s->meshes[i].nmips; k++)
            imgf_free(&s->meshes[i].mips[k]);
        free(s->meshes[i].mips);
    }
    rt_env_clear(&s->env);
    free(s->meshes);
    free(s->lights);
    free(s->objs);
    free(s->light_cdf);
    rtcReleaseScene(s->scene);
    free(s);
}

long rt_scene_triangle_count(const struct rt_scene *s) { return s->ntri; }

/* Grow an array of `elem` bytes to hold n+1 items; false on out-of-memory. */
static bool grow(void **arr, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return true;
    int nc = *cap ? 2 * *cap : 8;
    void *p = realloc(*arr, (size_t)nc * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

/* Register an Embree geometry id -> (kind, index). Ids are dense and in attach order. */
static bool add_obj(struct rt_scene *s, unsigned geom_id, int kind, int index)
{
    assert((int)geom_id == s->nobjs);
    if (!grow((void **)&s->objs, &s->cap_objs, s->nobjs, sizeof *s->objs))
        return false;
    s->objs[s->nobjs].kind = kind;
    s->objs[s->nobjs].index = index;
    s->nobjs++;
    return true;
}

static float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }

/* Copy a 1, 3 or 4 channel texture to (h,w,3) RGB clamped to [0,1]. */
static enum tryon_status copy_texture(const struct imgf *src, struct imgf *dst)
{
    if (!src->px || src->w <= 0 || src->h <= 0 || (src->c != 1 && src->c != 3 && src->c != 4))
        return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: texture must be 1, 3 or 4 channels with pixels "
                          "(got %dx%dx%d)", src->w, src->h, src->c);
    enum tryon_status st = imgf_alloc(dst, src->w, src->h, 3);
    if (st < 0)
        return st;
    size_t n = (size_t)src->w * src->h;
    for (size_t i = 0; i < n; i++) {
        const float *p = src->px + i * src->c;
        for (int k = 0; k < 3; k++) {
            float v = src->c == 1 ? p[0] : p[k];
            dst->px[i * 3 + k] = isfinite(v) ? clamp01(v) : 0.0f;
        }
    }
    return TRYON_OK;
}

/* The mip chain of a (h,w,3) level 0 (taken over): each level half the previous (rounded
   up, 2x2 box filter with the edge texel repeated for odd sizes) down to 1x1. */
static enum tryon_status build_mips(struct imgf *l0, struct imgf **mips, int *nmips)
{
    int n = 1;
    for (int w = l0->w, h = l0->h; w > 1 || h > 1; n++) {
        w = (w + 1) / 2;
        h = (h + 1) / 2;
    }
    struct imgf *m = calloc((size_t)n, sizeof *m);
    if (!m)
        return tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory for mip levels");
    m[0] = *l0;
    memset(l0, 0, sizeof *l0);
    for (int k = 1; k < n; k++) {
        const struct imgf *a = &m[k - 1];
        enum tryon_status st = imgf_alloc(&m[k], (a->w + 1) / 2, (a->h + 1) / 2, 3);
        if (st < 0) {
            for (int j = 0; j < k; j++)
                imgf_free(&m[j]);
            free(m);
            return st;
        }
        for (int y = 0; y < m[k].h; y++)
            for (int x = 0; x < m[k].w; x++) {
                int x0 = 2 * x, y0 = 2 * y;
                int x1 = x0 + 1 < a->w ? x0 + 1 : x0, y1 = y0 + 1 < a->h ? y0 + 1 : y0;
                for (int c = 0; c < 3; c++)
                    m[k].px[((size_t)y * m[k].w + x) * 3 + c] =
                        0.25f * (a->px[((size_t)y0 * a->w + x0) * 3 + c] + a->px[((size_t)y0 * a->w + x1) * 3 + c] +
                                 a->px[((size_t)y1 * a->w + x0) * 3 + c] + a->px[((size_t)y1 * a->w + x1) * 3 + c]);
            }
    }
    *mips = m;
    *nmips = n;
    return TRYON_OK;
}

/* Texels per metre of each triangle: sqrt(uv area * w * h / world area); 0 for a
   degenerate one. */
static float *texel_scales(const float *pos, const float *uv, const int32_t *tri, int nt, int w, int h)
{
    float *ts = malloc(sizeof(float) * (size_t)nt);
    if (!ts)
        return NULL;
    for (int t = 0; t < nt; t++) {
        const int32_t *v = tri + 3 * (size_t)t;
        float e1[3], e2[3], cr[3];
        v3_sub(e1, pos + 3 * v[1], pos + 3 * v[0]);
        v3_sub(e2, pos + 3 * v[2], pos + 3 * v[0]);
        v3_cross(cr, e1, e2);
        float wa = v3_len(cr);
        const float *a = uv + 2 * v[0], *b = uv + 2 * v[1], *c = uv + 2 * v[2];
        float ua = fabsf((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1]));
        ts[t] = wa > 0.0f ? sqrtf(ua * (float)w * (float)h / wa) : 0.0f;
    }
    return ts;
}

static bool all_finite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return false;
    return true;
}

int rt_scene_add_mesh(struct rt_scene *s, const float *pos, const float *nrm, const float *uv, int nv,
                      const int32_t *tri, int nt, const struct rt_material *mat, bool subject)
{
    assert(s && mat);
    if (nv < 3 || nt < 1 || nv > RT_MAX_ELEMS || nt > RT_MAX_ELEMS || !pos || !tri)
        return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: mesh needs >= 3 vertices and >= 1 triangle "
                          "(got nv=%d nt=%d)", nv, nt);
    if (!all_finite(pos, (size_t)nv * 3) || (nrm && !all_finite(nrm, (size_t)nv * 3)) ||
        (uv && !all_finite(uv, (size_t)nv * 2)) || !all_finite(mat->albedo, 3))
        return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: mesh has a non-finite position, normal, uv or albedo");
    for (size_t i = 0; i < (size_t)nt * 3; i++)
        if (tri[i] < 0 || tri[i] >= nv)
            return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: triangle %zu has vertex index %d outside [0,%d)",
                              i / 3, (int)tri[i], nv);
    if (mat->texture && !uv)
        return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: a textured material needs uv coordinates");
    if (!grow((void **)&s->meshes, &s->cap_meshes, s->nmeshes, sizeof *s->meshes))
        return tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory");

    struct rt_mesh m = { .nv = nv, .nt = nt, .subject = subject };
    for (int k = 0; k < 3; k++)
        m.albedo[k] = clamp01(mat->albedo[k]);
    rt_bsdf_resolve(mat, &m.bsdf);
    m.tri = malloc((size_t)nt * 3 * sizeof *m.tri);
    if (nrm)
        m.nrm = malloc((size_t)nv * 3 * sizeof *m.nrm);
    if (uv)
        m.uv = malloc((size_t)nv * 2 * sizeof *m.uv);
    if (!m.tri || (nrm && !m.nrm) || (uv && !m.uv))
        goto oom;
    memcpy(m.tri, tri, (size_t)nt * 3 * sizeof *m.tri);
    if (uv)
        memcpy(m.uv, uv, (size_t)nv * 2 * sizeof *m.uv);
    if (nrm) {
        for (int i = 0; i < nv; i++) {
            v3_copy(m.nrm + 3 * i, nrm + 3 * i);
            v3_normalize(m.nrm + 3 * i); /* a zero normal stays zero: the shader falls back */
        }
    }
    if (mat->texture) {
        struct imgf l0 = { 0 };
        enum tryon_status st = copy_texture(mat->texture, &l0);
        if (st == TRYON_OK)
            st = build_mips(&l0, &m.mips, &m.nmips);
        if (st == TRYON_OK && !(m.texel_scale = texel_scales(pos, uv, tri, nt, mat->texture->w, mat->texture->h)))
            st = tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory");
        if (st < 0) {
            imgf_free(&l0);
            for (int k = 0; k < m.nmips; k++)
                imgf_free(&m.mips[k]);
            free(m.mips); free(m.tri); free(m.nrm); free(m.uv);
            return st;
        }
    }

    RTCGeometry g = rtcNewGeometry(s->dev->dev, RTC_GEOMETRY_TYPE_TRIANGLE);
    if (!g)
        goto oom;
    float *vb = rtcSetNewGeometryBuffer(g, RTC_BUFFER_TYPE_VERTEX, 0, RTC_FORMAT_FLOAT3, 3 * sizeof(float), nv);
    unsigned *ib = rtcSetNewGeometryBuffer(g, RTC_BUFFER_TYPE_INDEX, 0, RTC_FORMAT_UINT3, 3 * sizeof(unsigned), nt);
    if (!vb || !ib) {
        rtcReleaseGeometry(g);
        goto oom;
    }
    memcpy(vb, pos, (size_t)nv * 3 * sizeof(float));
    for (size_t i = 0; i < (size_t)nt * 3; i++)
        ib[i] = (unsigned)tri[i];
    rtcSetGeometryBuildQuality(g, RTC_BUILD_QUALITY_HIGH);
    rtcCommitGeometry(g);
    unsigned id = rtcAttachGeometry(s->scene, g);
    rtcReleaseGeometry(g);
    if (!add_obj(s, id, RT_OBJ_MESH, s->nmeshes))
        goto oom;
    s->meshes[s->nmeshes] = m;
    s->ntri += nt;
    s->committed = false;
    return s->nmeshes++;
oom:
    free(m.tri); free(m.nrm); free(m.uv); free(m.texel_scale);
    for (int k = 0; k < m.nmips; k++)
        imgf_free(&m.mips[k]);
    free(m.mips);
    return tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory adding a mesh of %d vertices", nv);
}

void rt_scene_add_rect_light(struct rt_scene *s, const float corner[3], const float edge_u[3],
                             const float edge_v[3], const float radiance[3])
{
    struct rt_light l;
    v3_copy(l.corner, corner);
    v3_copy(l.eu, edge_u);
    v3_copy(l.ev, edge_v);
    v3_cross(l.n, edge_u, edge_v);
    l.area = v3_normalize(l.n);
    assert(l.area > 0.0f && isfinite(l.area));
    v3_copy(l.ex, edge_u);
    v3_copy(l.ey, edge_v);
    l.exl = v3_normalize(l.ex);
    l.eyl = v3_normalize(l.ey);
    for (int k = 0; k < 3; k++)
        l.centre[k] = corner[k] + 0.5f * (edge_u[k] + edge_v[k]);
    l.diag2 = l.exl * l.exl + l.eyl * l.eyl;
    /* edges must be perpendicular: a rectangle, not a parallelogram */
    assert(fabsf(v3_dot(l.ex, l.ey)) < 1e-3f);
    for (int k = 0; k < 3; k++) {
        assert(radiance[k] >= 0.0f && isfinite(radiance[k]));
        l.radiance[k] = radiance[k];
    }
    assert(radiance[0] + radiance[1] + radiance[2] > 0.0f);

    /* The rectangle as two triangles (0,1,2) (0,2,3) over corners c, c+u, c+u+v, c+v;
       winding follows cross(u, v) (not needed: surfaces are two-sided). */
    RTCGeometry g = rtcNewGeometry(s->dev->dev, RTC_GEOMETRY_TYPE_TRIANGLE);
    float *vb = rtcSetNewGeometryBuffer(g, RTC_BUFFER_TYPE_VERTEX, 0, RTC_FORMAT_FLOAT3, 3 * sizeof(float), 4);
    unsigned *ib = rtcSetNewGeometryBuffer(g, RTC_BUFFER_TYPE_INDEX, 0, RTC_FORMAT_UINT3, 3 * sizeof(unsigned), 2);
    assert(vb && ib); /* four vertices: only a broken device fails here */
    v3_copy(vb + 0, corner);
    v3_add(vb + 3, corner, edge_u);
    v3_add(vb + 6, vb + 3, edge_v);
    v3_add(vb + 9, corner, edge_v);
    const unsigned idx[6] = { 0, 1, 2, 0, 2, 3 };
    memcpy(ib, idx, sizeof idx);
    rtcCommitGeometry(g);
    unsigned id = rtcAttachGeometry(s->scene, g);
    rtcReleaseGeometry(g);
    bool ok = grow((void **)&s->lights, &s->cap_lights, s->nlights, sizeof *s->lights) &&
              add_obj(s, id, RT_OBJ_LIGHT, s->nlights);
    if (!ok) {
        log_error("raytrace/scene.c: out of memory adding a light");
        abort();
    }
    s->lights[s->nlights++] = l;
    s->ntri += 2;
    s->committed = false;
}

enum tryon_status rt_scene_commit(struct rt_scene *s)
{
    if (s->nobjs == 0)
        return tryon_fail(TRYON_EINVAL, "raytrace/scene.c: cannot commit an empty scene");
    rtcGetDeviceError(s->dev->dev); /* clear a stale code */
    rtcCommitScene(s->scene);
    enum RTCError e = rtcGetDeviceError(s->dev->dev);
    if (e != RTC_ERROR_NONE)
        return tryon_fail(e == RTC_ERROR_OUT_OF_MEMORY ? TRYON_ENOMEM : TRYON_EUNSUPPORTED,
                          "raytrace/scene.c: rtcCommitScene failed (embree error %d)", (int)e);
    /* Light selection by power: area x mean radiance. */
    free(s->light_cdf);
    s->light_cdf = NULL;
    if (s->nlights > 0) {
        s->light_cdf = malloc((size_t)s->nlights * sizeof *s->light_cdf);
        if (!s->light_cdf)
            return tryon_fail(TRYON_ENOMEM, "raytrace/scene.c: out of memory");
        double total = 0.0;
        for (int i = 0; i < s->nlights; i++) {
            const struct rt_light *l = &s->lights[i];
            total += (double)l->area * (l->radiance[0] + l->radiance[1] + l->radiance[2]);
            s->light_cdf[i] = (float)total;
        }
        for (int i = 0; i < s->nlights; i++)
            s->light_cdf[i] = (float)(s->light_cdf[i] / total);
        s->light_cdf[s->nlights - 1] = 1.0f;
    }
    /* The environment's share (see the top of the file). */
    s->p_env = 0.0f;
    if (s->env.img.px) {
        s->p_env = 1.0f;
        if (s->nlights > 0) {
            struct RTCBounds b;
            rtcGetSceneBounds(s->scene, &b);
            float c[3] = { 0.5f * (b.lower_x + b.upper_x), 0.5f * (b.lower_y + b.upper_y),
                           0.5f * (b.lower_z + b.upper_z) };
            double el = 0.0, ee = 0.5 * M_PI * s->env.mean;
            for (int i = 0; i < s->nlights; i++) {
                const struct rt_light *l = &s->lights[i];
                float d[3];
                v3_sub(d, l->centre, c);
                double lum = (l->radiance[0] + l->radiance[1] + l->radiance[2]) / 3.0;
                el += lum * l->area / (v3_dot(d, d) + l->area);
            }
            s->p_env = (float)fmin(0.5, fmax(0.05, ee / (ee + el)));
        }
    }
    s->env_w = s->env.img.px ? (float)(0.5 * M_PI * s->env.mean) : 0.0f;
    for (int i = 0; i < s->nlights; i++) {
        struct rt_light *l = &s->lights[i];
        l->p_sel = (1.0f - s->p_env) * (s->light_cdf[i] - (i > 0 ? s->light_cdf[i - 1] : 0.0f));
        l->lum_area = (l->radiance[0] + l->radiance[1] + l->radiance[2]) / 3.0f * l->area;
    }
    s->committed = true;
    return TRYON_OK;
}
