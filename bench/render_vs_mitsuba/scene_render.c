/* scene_render.c: the tryon side of bench/render_vs_mitsuba (tryon's path tracer against
 * Mitsuba 3 on the same scenes).
 *
 * Two commands:
 *   scene_render assets OUTDIR
 *       Builds MakeHuman's default body (1.75 m) and a textured top with the avatar module
 *       and writes, under OUTDIR: body.obj, garment.obj (each one mesh, v/vt/vn), a
 *       procedural garment texture garment.png (8-bit sRGB), the studio geometry as
 *       cyclorama_<scene>.obj, and the scene files studio_body.json and
 *       studio_dressed.json (schema below). The studio is written as explicit triangles,
 *       rectangle lights and environment map computed exactly as raytrace/studio.c's
 *       rt_scene_add_studio builds them (cyclorama, key, fill and rim softboxes,
 *       rt_env_studio(128) as env_studio.pfm), so Mitsuba and tryon get the same emitters
 *       and triangles and tryon never calls rt_scene_add_studio here (`studio-check`
 *       verifies the copy against it).
 *   scene_render render SCENE.json --spp 1,4,16 [--depth D] [--seed S] [--threads T]
 *                [--repeat R] [--warmup W] [--out PREFIX]
 *       Loads the scene, renders it once per spp value (after W untimed warm-up renders,
 *       R timed ones with the same seed), writes PREFIX_spp<N>.pfm (the linear radiance
 *       film, 32-bit float RGB, PFM rows bottom to top) and prints one JSON line per timed
 *       render: {"renderer":"tryon","spp":N,"rep":i,"seconds":t,"cpu_s":c,"build_s":b}. seconds is
 *       rt_render's tracing-loop wall time (rt_stats.seconds), cpu_s the process CPU time
 *       over the rt_render call (all threads), build_s the scene build
 *       (OBJ parse + BVH commit) once.
 *   scene_render studio-check OUTDIR
 *       Renders studio_body.json's body once with the mirrored studio and once with
 *       rt_scene_add_studio (same seed, 16 spp) and prints the largest relative pixel
 *       difference: 0 when the mirror is exact (same triangles, same lights, same order).
 *
 * Scene JSON (one file is the single source for both renderers; paths relative to it):
 *   {"name": str,
 *    "camera": {"eye":[3], "target":[3], "up":[3], "vfov_deg": f, "width": n, "height": n},
 *    "meshes": [{"obj": "x.obj", "albedo": [3] | "texture": "x.png", "subject": bool,
 *                "backdrop": bool}],
 *    "lights": [{"corner":[3], "edge_u":[3], "edge_v":[3], "radiance":[3]}],
 *    "env": {"pfm": "x.pfm", "scale": f}}   (optional)
 * Every material is Lambertian (RT_BSDF_DIFFUSE; "backdrop" selects RT_BSDF_BACKDROP, the
 * same lobe, as the studio's cyclorama uses). The environment is a lat-long PFM in
 * raytrace's convention (rt_scene_set_env: row 0 straight up, u = 0.5 + atan2(x,-z)/2pi,
 * nearest-pixel lookups). Renders use the box pixel filter (RT_FILTER_BOX).
 * albedo is linear RGB; a texture PNG is 8-bit sRGB decoded to linear with the exact sRGB
 * curve (common's img8_to_linear), as Mitsuba's bitmap does with raw=false. OBJ uv follow
 * tryon's convention (uv (0,0) = the image's bottom-left), which is also the OBJ one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avatar/avatar.h"
#include "common/common.h"
#include "raytrace/raytrace.h"

#define SR_MAX_SPP_LIST 32
#define SR_OBJ_MAX_BYTES ((size_t)512 << 20)

static void v3set(float *o, float x, float y, float z) { o[0] = x; o[1] = y; o[2] = z; }
static void v3cross(float *o, const float *a, const float *b)
{
    float x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2], z = a[0] * b[1] - a[1] * b[0];
    v3set(o, x, y, z);
}
static float v3norm(float *a)
{
    float l = sqrtf(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    if (l > 0.0f)
        for (int k = 0; k < 3; k++)
            a[k] /= l;
    return l;
}

/* ===== OBJ reading ========================================================================
 * v, vt, vn and f lines (v, v/t, v//n, v/t/n; polygons as fans; negative indices
 * relative). A corner's (v, vt, vn) triple becomes one vertex, shared between faces that
 * use the same triple (what Mitsuba's OBJ loader does too). Other lines are ignored. */
struct sr_mesh {
    int nv, nt;
    float *pos, *nrm, *uv; /* (nv,3), (nv,3) or NULL, (nv,2) or NULL */
    int32_t *tri;          /* (nt,3) */
};

static void sr_mesh_free(struct sr_mesh *m)
{
    free(m->pos); free(m->nrm); free(m->uv); free(m->tri);
    memset(m, 0, sizeof *m);
}

struct fvec { float *a; size_t n, cap; };
static bool fvec_push(struct fvec *v, const float *x, int k)
{
    if (v->n + (size_t)k > v->cap) {
        size_t nc = v->cap ? 2 * v->cap : 1024;
        while (nc < v->n + (size_t)k)
            nc *= 2;
        float *p = realloc(v->a, nc * sizeof *p);
        if (!p)
            return false;
        v->a = p;
        v->cap = nc;
    }
    memcpy(v->a + v->n, x, (size_t)k * sizeof *x);
    v->n += (size_t)k;
    return true;
}

/* Open-addressing map (v, vt, vn) -> output vertex index. */
struct sr_vmap { int64_t *keys; int32_t *vals; size_t cap, n; };
static uint64_t key3(int a, int b, int c) { return ((uint64_t)(uint32_t)a << 42) ^ ((uint64_t)(uint32_t)b << 21) ^ (uint32_t)c; }

static bool vmap_grow(struct sr_vmap *m)
{
    size_t nc = m->cap ? 2 * m->cap : 4096;
    int64_t *k = malloc(nc * sizeof *k);
    int32_t *v = malloc(nc * sizeof *v);
    if (!k || !v) {
        free(k); free(v);
        return false;
    }
    for (size_t i = 0; i < nc; i++)
        k[i] = -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] < 0)
            continue;
        size_t h = hash_mix64((uint64_t)m->keys[i]) & (nc - 1);
        while (k[h] >= 0)
            h = (h + 1) & (nc - 1);
        k[h] = m->keys[i];
        v[h] = m->vals[i];
    }
    free(m->keys); free(m->vals);
    m->keys = k; m->vals = v; m->cap = nc;
    return true;
}

static enum tryon_status obj_load(const char *path, struct sr_mesh *out)
{
    memset(out, 0, sizeof *out);
    uint8_t *data = NULL;
    size_t len = 0;
    enum tryon_status s = fs_read_all(path, SR_OBJ_MAX_BYTES, &data, &len);
    if (s)
        return s;
    struct fvec P = {0}, T = {0}, N = {0}, oP = {0}, oT = {0}, oN = {0};
    int32_t *tri = NULL;
    size_t nt = 0, cap_t = 0;
    struct sr_vmap vm = {0};
    int nout = 0, line = 0;
    bool any_t = false, any_n = false;
    s = TRYON_OK;
    char *p = (char *)data, *end = (char *)data + len;
    while (p < end && s == TRYON_OK) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        *eol = '\0';
        line++;
        char *q = p;
        p = eol + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (q[0] == 'v' && (q[1] == ' ' || q[1] == '\t' || q[1] == 'n' || q[1] == 't')) {
            int k = q[1] == 't' ? 2 : 3;
            float x[3] = {0, 0, 0};
            char *c = q + (q[1] == ' ' || q[1] == '\t' ? 1 : 2);
            for (int i = 0; i < k; i++) {
                char *e;
                x[i] = strtof(c, &e);
                if (e == c) {
                    s = tryon_fail(TRYON_EFORMAT, "%s:%d: bad number", path, line);
                    break;
                }
                c = e;
            }
            struct fvec *dst = q[1] == 't' ? &T : (q[1] == 'n' ? &N : &P);
            if (s == TRYON_OK && !fvec_push(dst, x, k))
                s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
        } else if (q[0] == 'f' && (q[1] == ' ' || q[1] == '\t')) {
            char *c = q + 1;
            int32_t corner[64];
            int nc = 0;
            while (s == TRYON_OK) {
                while (*c == ' ' || *c == '\t' || *c == '\r')
                    c++;
                if (!*c)
                    break;
                long idx[3] = {0, 0, 0};
                for (int f = 0; f < 3; f++) {
                    if (*c == '/' || !*c || *c == ' ' || *c == '\t' || *c == '\r') {
                        idx[f] = 0;
                    } else {
                        char *e;
                        idx[f] = strtol(c, &e, 10);
                        if (e == c) {
                            s = tryon_fail(TRYON_EFORMAT, "%s:%d: bad face index", path, line);
                            break;
                        }
                        c = e;
                    }
                    if (*c != '/')
                        break;
                    c++;
                }
                if (s)
                    break;
                long cnt[3] = {(long)(P.n / 3), (long)(T.n / 2), (long)(N.n / 3)};
                for (int f = 0; f < 3; f++) {
                    if (idx[f] < 0)
                        idx[f] = cnt[f] + idx[f] + 1;
                    if (idx[f] < 0 || idx[f] > cnt[f] || (f == 0 && idx[f] == 0)) {
                        s = tryon_fail(TRYON_EFORMAT, "%s:%d: face index out of range", path, line);
                        break;
                    }
                }
                if (s)
                    break;
                if (nc == 64) {
                    s = tryon_fail(TRYON_EFORMAT, "%s:%d: polygon with over 64 corners", path, line);
                    break;
                }
                if (2 * (vm.n + 1) > vm.cap && !vmap_grow(&vm)) {
                    s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
                    break;
                }
                int64_t key = (int64_t)(key3((int)idx[0], (int)idx[1], (int)idx[2]) & 0x7fffffffffffffffULL);
                size_t h = hash_mix64((uint64_t)key) & (vm.cap - 1);
                while (vm.keys[h] >= 0 && vm.keys[h] != key)
                    h = (h + 1) & (vm.cap - 1);
                if (vm.keys[h] < 0) {
                    float zero[3] = {0, 0, 0};
                    vm.keys[h] = key;
                    vm.vals[h] = nout++;
                    vm.n++;
                    any_t |= idx[1] > 0;
                    any_n |= idx[2] > 0;
                    bool ok = fvec_push(&oP, P.a + 3 * (idx[0] - 1), 3) &&
                              fvec_push(&oT, idx[1] ? T.a + 2 * (idx[1] - 1) : zero, 2) &&
                              fvec_push(&oN, idx[2] ? N.a + 3 * (idx[2] - 1) : zero, 3);
                    if (!ok) {
                        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
                        break;
                    }
                }
                corner[nc++] = vm.vals[h];
            }
            for (int i = 2; s == TRYON_OK && i < nc; i++) {
                if (nt + 1 > cap_t) {
                    cap_t = cap_t ? 2 * cap_t : 4096;
                    int32_t *t2 = realloc(tri, cap_t * 3 * sizeof *t2);
                    if (!t2) {
                        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
                        break;
                    }
                    tri = t2;
                }
                tri[3 * nt] = corner[0];
                tri[3 * nt + 1] = corner[i - 1];
                tri[3 * nt + 2] = corner[i];
                nt++;
            }
        }
    }
    free(data);
    free(P.a); free(T.a); free(N.a);
    free(vm.keys); free(vm.vals);
    if (s == TRYON_OK && nt == 0)
        s = tryon_fail(TRYON_EFORMAT, "%s: no faces", path);
    if (s) {
        free(oP.a); free(oT.a); free(oN.a); free(tri);
        return s;
    }
    out->nv = nout;
    out->nt = (int)nt;
    out->pos = oP.a;
    out->tri = tri;
    if (any_t) out->uv = oT.a; else free(oT.a);
    if (any_n) out->nrm = oN.a; else free(oN.a);
    return TRYON_OK;
}

/* ===== scene JSON ========================================================================= */
static bool get_vec(const struct json_val *o, const char *key, int n, float *out)
{
    const struct json_val *a = json_get(o, key);
    if (!a || a->type != JSON_ARR || (int)a->n != n)
        return false;
    for (int i = 0; i < n; i++) {
        if (a->items[i].type != JSON_NUM)
            return false;
        out[i] = (float)a->items[i].num;
    }
    return true;
}

/* Read a PFM written by write_pfm (RGB, little-endian, rows bottom to top) into out. */
static enum tryon_status read_pfm(const char *path, struct imgf *out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    enum tryon_status s = fs_read_all(path, (size_t)1 << 28, &data, &len);
    if (s)
        return s;
    int w = 0, h = 0, off = 0;
    float scale = 0;
    if (sscanf((const char *)data, "PF %d %d %f%n", &w, &h, &scale, &off) != 3 || w <= 0 || h <= 0 ||
        scale >= 0 || w > 16384 || h > 16384 || len < (size_t)off + 1 + (size_t)w * h * 12) {
        free(data);
        return tryon_fail(TRYON_EFORMAT, "%s: not a little-endian RGB PFM", path);
    }
    s = imgf_alloc(out, w, h, 3);
    if (s == TRYON_OK)
        for (int y = 0; y < h; y++)
            memcpy(out->px + (size_t)(h - 1 - y) * w * 3, data + off + 1 + (size_t)y * w * 12, (size_t)w * 12);
    free(data);
    return s;
}

/* Build the scene described by path on dev; fills cam. */
static enum tryon_status scene_load(struct rt_device *dev, const char *path, struct rt_scene **out,
                                    struct rt_camera *cam)
{
    struct json_val *root = NULL;
    enum tryon_status s = json_parse_file(path, &root);
    if (s)
        return s;
    char dir[4096];
    fs_dirname(dir, sizeof dir, path);
    struct rt_scene *sc = rt_scene_create(dev);
    if (!sc) {
        json_free(root);
        return TRYON_ENOMEM;
    }
    const struct json_val *jc = json_get(root, "camera"), *jm = json_get(root, "meshes"),
                          *jl = json_get(root, "lights");
    memset(cam, 0, sizeof *cam);
    if (!jc || !get_vec(jc, "eye", 3, cam->eye) || !get_vec(jc, "target", 3, cam->target) ||
        !get_vec(jc, "up", 3, cam->up) || !jm || jm->type != JSON_ARR || !jl || jl->type != JSON_ARR) {
        s = tryon_fail(TRYON_EFORMAT, "%s: needs camera{eye,target,up,vfov_deg,width,height}, meshes[], lights[]",
                       path);
        goto done;
    }
    cam->vfov_deg = (float)json_get_num(jc, "vfov_deg", 0);
    cam->width = (int)json_get_num(jc, "width", 0);
    cam->height = (int)json_get_num(jc, "height", 0);
    for (size_t i = 0; i < jm->n && s == TRYON_OK; i++) {
        const struct json_val *m = &jm->items[i];
        const char *obj = json_get_str(m, "obj"), *tex = json_get_str(m, "texture");
        const struct json_val *subj = json_get(m, "subject"), *bd = json_get(m, "backdrop");
        struct rt_material mat = {.albedo = {0, 0, 0}, .texture = NULL, .kind = RT_BSDF_DIFFUSE};
        if (bd && bd->type == JSON_BOOL && bd->b)
            mat.kind = RT_BSDF_BACKDROP;
        if (!obj || (!tex && !get_vec(m, "albedo", 3, mat.albedo))) {
            s = tryon_fail(TRYON_EFORMAT, "%s: mesh %zu needs obj and albedo[3] or texture", path, i);
            break;
        }
        char p[4096];
        struct sr_mesh me;
        if ((s = fs_join(p, sizeof p, dir, obj)) || (s = obj_load(p, &me)))
            break;
        struct img8 im8 = {0};
        struct imgf imf = {0};
        if (tex) {
            struct img_limits lim = img_default_limits();
            if ((s = fs_join(p, sizeof p, dir, tex)) == TRYON_OK && (s = img_load_png(p, &lim, &im8, NULL)) == TRYON_OK)
                s = img8_to_linear(&im8, &imf);
            mat.texture = &imf;
        }
        if (s == TRYON_OK) {
            int id = rt_scene_add_mesh(sc, me.pos, me.nrm, me.uv, me.nv, me.tri, me.nt, &mat,
                                       subj && subj->type == JSON_BOOL && subj->b);
            if (id < 0)
                s = (enum tryon_status)id;
        }
        img8_free(&im8);
        imgf_free(&imf);
        sr_mesh_free(&me);
    }
    for (size_t i = 0; i < jl->n && s == TRYON_OK; i++) {
        float c[3], u[3], v[3], r[3];
        const struct json_val *l = &jl->items[i];
        if (!get_vec(l, "corner", 3, c) || !get_vec(l, "edge_u", 3, u) || !get_vec(l, "edge_v", 3, v) ||
            !get_vec(l, "radiance", 3, r)) {
            s = tryon_fail(TRYON_EFORMAT, "%s: light %zu needs corner, edge_u, edge_v, radiance [3]", path, i);
            break;
        }
        rt_scene_add_rect_light(sc, c, u, v, r);
    }
    const struct json_val *je = json_get(root, "env");
    if (s == TRYON_OK && je) {
        const char *f = json_get_str(je, "pfm");
        char p[4096];
        struct imgf env = {0};
        if (!f)
            s = tryon_fail(TRYON_EFORMAT, "%s: env needs pfm and scale", path);
        else if ((s = fs_join(p, sizeof p, dir, f)) == TRYON_OK && (s = read_pfm(p, &env)) == TRYON_OK)
            s = rt_scene_set_env(sc, &env, (float)json_get_num(je, "scale", 1.0));
        imgf_free(&env);
    }
    if (s == TRYON_OK)
        s = rt_scene_commit(sc);
done:
    json_free(root);
    if (s) {
        rt_scene_free(sc);
        return s;
    }
    *out = sc;
    return TRYON_OK;
}

/* PFM: header, then float32 little-endian RGB rows from the bottom row up. */
static enum tryon_status write_pfm(const char *path, const float *rgb, int w, int h)
{
    char hdr[64];
    int hl = snprintf(hdr, sizeof hdr, "PF\n%d %d\n-1.0\n", w, h);
    size_t row = (size_t)w * 3 * sizeof(float), len = (size_t)hl + row * h;
    uint8_t *buf = malloc(len);
    if (!buf)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    memcpy(buf, hdr, (size_t)hl);
    for (int y = 0; y < h; y++)
        memcpy(buf + hl + row * y, rgb + (size_t)(h - 1 - y) * w * 3, row);
    enum tryon_status s = fs_write_atomic(path, buf, len);
    free(buf);
    return s;
}

/* CPU time of the whole process (all threads), seconds. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmd_render(int argc, char **argv)
{
    const char *scene_path = argv[0], *prefix = "out";
    int spp_list[SR_MAX_SPP_LIST], nspp = 0, depth = 6, threads = 2, repeat = 1, warmup = 0;
    uint64_t seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--spp")) {
            for (const char *c = v; *c && nspp < SR_MAX_SPP_LIST;) {
                spp_list[nspp++] = atoi(c);
                c = strchr(c, ',');
                if (!c)
                    break;
                c++;
            }
        } else if (!strcmp(k, "--depth")) depth = atoi(v);
        else if (!strcmp(k, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--threads")) threads = atoi(v);
        else if (!strcmp(k, "--repeat")) repeat = atoi(v);
        else if (!strcmp(k, "--warmup")) warmup = atoi(v);
        else if (!strcmp(k, "--out")) prefix = v;
        else {
            fprintf(stderr, "scene_render: unknown option %s\n", k);
            return 2;
        }
    }
    if (nspp == 0 || repeat < 1 || warmup < 0) {
        fprintf(stderr, "scene_render render: needs --spp N[,N...], repeat >= 1\n");
        return 2;
    }
    struct rt_device *dev = rt_device_create(threads);
    if (!dev) {
        fprintf(stderr, "scene_render: %s\n", tryon_errmsg());
        return 1;
    }
    double t0 = time_now();
    struct rt_scene *sc = NULL;
    struct rt_camera cam;
    enum tryon_status s = scene_load(dev, scene_path, &sc, &cam);
    double build_s = time_now() - t0;
    for (int i = 0; i < nspp && s == TRYON_OK; i++) {
        struct rt_settings set = {.spp = spp_list[i], .max_depth = depth, .seed = seed, .threads = threads,
                                  .filter = RT_FILTER_BOX};
        struct rt_film film = {0};
        for (int r = 0; r < warmup + repeat && s == TRYON_OK; r++) {
            rt_film_free(&film);
            double c0 = cpu_seconds();
            s = rt_render(sc, &cam, &set, &film);
            double cpu = cpu_seconds() - c0;
            if (s == TRYON_OK && r >= warmup)
                printf("{\"renderer\":\"tryon\",\"spp\":%d,\"rep\":%d,\"seconds\":%.6f,\"cpu_s\":%.6f,"
                       "\"build_s\":%.4f}\n", set.spp, r - warmup, film.stats.seconds, cpu, build_s);
            fflush(stdout);
        }
        if (s == TRYON_OK) {
            char path[4096];
            snprintf(path, sizeof path, "%s_spp%d.pfm", prefix, set.spp);
            s = write_pfm(path, film.rgb, film.w, film.h);
        }
        rt_film_free(&film);
    }
    rt_scene_free(sc);
    rt_device_free(dev);
    if (s) {
        fprintf(stderr, "scene_render: %s\n", tryon_errmsg());
        return 1;
    }
    return 0;
}

/* ===== assets: body, garment, texture, studio ============================================= */

/* The studio as raytrace/studio.c builds it (same float expressions, same order): the
   cyclorama mesh, the three softboxes (key, fill, rim) as corner/edges/radiance; the
   environment is rt_env_studio(SR_ENV_W) at scale 1. */
#define SR_ENV_W 128
#define SR_NLIGHTS 3
#define SR_COVE_SEGS 16
struct sr_light { float corner[3], eu[3], ev[3], radiance[3]; };

static void studio_cyclorama(const float c[3], float floor_y, float z_wall, float s, struct avatar_mesh *m)
{
    enum { NP = SR_COVE_SEGS + 3 };
    float pz[NP], py[NP], nz[NP], ny[NP];
    float r = 0.5f * s;
    pz[0] = c[2] + 12.0f * s; py[0] = floor_y; nz[0] = 0.0f; ny[0] = 1.0f;
    for (int i = 0; i <= SR_COVE_SEGS; i++) {
        float phi = 0.5f * (float)M_PI * (float)i / SR_COVE_SEGS;
        pz[1 + i] = z_wall + r - r * sinf(phi);
        py[1 + i] = floor_y + r - r * cosf(phi);
        nz[1 + i] = sinf(phi);
        ny[1 + i] = cosf(phi);
    }
    pz[NP - 1] = z_wall; py[NP - 1] = floor_y + 5.0f * s; nz[NP - 1] = 1.0f; ny[NP - 1] = 0.0f;
    m->nv = NP * 2;
    m->nt = (NP - 1) * 2;
    m->pos = malloc(sizeof(float) * 3 * m->nv);
    m->nrm = malloc(sizeof(float) * 3 * m->nv);
    m->uv = NULL;
    m->tri = malloc(sizeof(int32_t) * 3 * m->nt);
    if (!m->pos || !m->nrm || !m->tri) {
        fprintf(stderr, "scene_render: out of memory\n");
        exit(1);
    }
    float x0 = c[0] - 5.0f * s, x1 = c[0] + 5.0f * s;
    for (int i = 0; i < NP; i++) {
        v3set(m->pos + 6 * i, x0, py[i], pz[i]);
        v3set(m->pos + 6 * i + 3, x1, py[i], pz[i]);
        v3set(m->nrm + 6 * i, 0.0f, ny[i], nz[i]);
        v3set(m->nrm + 6 * i + 3, 0.0f, ny[i], nz[i]);
    }
    for (int i = 0; i < NP - 1; i++) {
        int a = 2 * i, b = 2 * i + 1, cc = 2 * i + 2, d = 2 * i + 3;
        int32_t *t = m->tri + 6 * i;
        t[0] = a; t[1] = b; t[2] = d;
        t[3] = a; t[4] = d; t[5] = cc;
    }
}

static void studio_softbox(const float aim[3], float d, float az, float el, float w, float h, float e,
                           struct sr_light *l)
{
    float dir[3] = {-sinf(az) * cosf(el), sinf(el), cosf(az) * cosf(el)};
    float ctr[3], n[3], u[3], v[3];
    const float yup[3] = {0.0f, 1.0f, 0.0f};
    for (int k = 0; k < 3; k++) {
        ctr[k] = aim[k] + dir[k] * d;
        n[k] = dir[k] * -1.0f;
    }
    v3cross(u, yup, n);
    v3norm(u);
    v3cross(v, n, u);
    for (int k = 0; k < 3; k++) {
        u[k] = u[k] * w;
        v[k] = v[k] * h;
    }
    for (int k = 0; k < 3; k++) {
        l->corner[k] = ctr[k] + u[k] * -0.5f;
        l->corner[k] = l->corner[k] + v[k] * -0.5f;
    }
    memcpy(l->eu, u, sizeof u);
    memcpy(l->ev, v, sizeof v);
    float rad = e * d * d / (w * h);
    v3set(l->radiance, rad, rad, rad);
}

/* Default studio (rt_studio_default: key, fill, rim and env 1) around bmin..bmax. */
static void studio_build(const float bmin[3], const float bmax[3], struct avatar_mesh *cyc,
                         struct sr_light lights[SR_NLIGHTS])
{
    float c[3], size = 0.0f;
    for (int k = 0; k < 3; k++) {
        c[k] = 0.5f * (bmin[k] + bmax[k]);
        size = fmaxf(size, bmax[k] - bmin[k]);
    }
    float sz = fmaxf(size, 1e-3f);
    studio_cyclorama(c, bmin[1], bmin[2] - 1.2f * sz, sz, cyc);
    const float deg = (float)M_PI / 180.0f;
    studio_softbox(c, 2.0f * sz, 40.0f * deg, 35.0f * deg, 0.6f * sz, 0.9f * sz, 2.0f, &lights[0]);
    studio_softbox(c, 2.2f * sz, -45.0f * deg, 10.0f * deg, 0.6f * sz, 0.9f * sz, 0.9f, &lights[1]);
    studio_softbox(c, 1.73f * sz, -119.0f * deg, 44.0f * deg, 0.35f * sz, 0.5f * sz, 2.5f, &lights[2]);
}

/* The garment texture (32 x 32, 8-bit sRGB): diagonal colour bands 4 texels wide, a dark
   band near the top (v near 1) and a light one near the bottom, so a flipped v shows at
   once. Coarse on purpose: at the studio scenes' 96 x 144 film a texel is about one pixel
   wide, so tryon's mip-mapping (level from the ray footprint) stays at level 0 for camera
   rays, where Mitsuba's bitmap (no mipmaps) looks up the same texels. */
static enum tryon_status write_texture(const char *path)
{
    struct img8 im;
    enum tryon_status s = img8_alloc(&im, 32, 32, 3);
    if (s)
        return s;
    static const uint8_t pal[4][3] = {{200, 60, 50}, {230, 190, 70}, {60, 110, 190}, {240, 240, 230}};
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            uint8_t *p = im.px + ((size_t)y * im.w + x) * 3;
            const uint8_t *c = pal[((x + y) / 4) & 3];
            if (y < 5) /* row 0 = image top = v near 1 */
                c = (const uint8_t[3]){30, 30, 40};
            else if (y >= 27)
                c = (const uint8_t[3]){250, 250, 250};
            memcpy(p, c, 3);
        }
    s = img_save_png(path, &im);
    img8_free(&im);
    return s;
}

static void json_vec(struct json_w *w, const char *key, const float *v)
{
    json_key(w, key);
    json_arr_begin(w);
    for (int k = 0; k < 3; k++)
        json_numf(w, v[k], 9);
    json_arr_end(w);
}

/* One studio scene file: the given subject meshes (obj names, albedo or texture), the
   cyclorama and the two softboxes around bounds bmin..bmax, camera by rt_camera_frame. */
static enum tryon_status write_studio_scene(const char *dir, const char *name, int n, const char *const *objs,
                                            const float (*albedo)[3], const char *const *tex, const float bmin[3],
                                            const float bmax[3], int width, int height)
{
    struct avatar_mesh cyc = {0};
    struct sr_light lights[SR_NLIGHTS];
    studio_build(bmin, bmax, &cyc, lights);
    char cyc_name[256], path[4096];
    snprintf(cyc_name, sizeof cyc_name, "cyclorama_%s.obj", name);
    const struct avatar_mesh *mm[1] = {&cyc};
    const char *nn[1] = {"cyclorama"};
    enum tryon_status s = fs_join(path, sizeof path, dir, cyc_name);
    if (s == TRYON_OK)
        s = avatar_write_obj(path, mm, nn, 1);
    avatar_mesh_free(&cyc);
    if (s)
        return s;

    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, width, height, 0.06f, &cam);
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "name"); json_str(&w, name);
    json_key(&w, "camera");
    json_obj_begin(&w);
    json_vec(&w, "eye", cam.eye); json_vec(&w, "target", cam.target); json_vec(&w, "up", cam.up);
    json_key(&w, "vfov_deg"); json_numf(&w, cam.vfov_deg, 9);
    json_key(&w, "width"); json_int(&w, cam.width);
    json_key(&w, "height"); json_int(&w, cam.height);
    json_obj_end(&w);
    json_key(&w, "meshes");
    json_arr_begin(&w);
    for (int i = 0; i < n; i++) {
        json_obj_begin(&w);
        json_key(&w, "obj"); json_str(&w, objs[i]);
        if (tex[i]) {
            json_key(&w, "texture"); json_str(&w, tex[i]);
        } else {
            json_vec(&w, "albedo", albedo[i]);
        }
        json_key(&w, "subject"); json_bool(&w, true);
        json_obj_end(&w);
    }
    const float backdrop[3] = {0.6f, 0.6f, 0.6f}; /* rt_studio_default's */
    json_obj_begin(&w);
    json_key(&w, "obj"); json_str(&w, cyc_name);
    json_vec(&w, "albedo", backdrop);
    json_key(&w, "subject"); json_bool(&w, false);
    json_key(&w, "backdrop"); json_bool(&w, true);
    json_obj_end(&w);
    json_arr_end(&w);
    json_key(&w, "lights");
    json_arr_begin(&w);
    for (int i = 0; i < SR_NLIGHTS; i++) {
        json_obj_begin(&w);
        json_vec(&w, "corner", lights[i].corner); json_vec(&w, "edge_u", lights[i].eu);
        json_vec(&w, "edge_v", lights[i].ev); json_vec(&w, "radiance", lights[i].radiance);
        json_obj_end(&w);
    }
    json_arr_end(&w);
    json_key(&w, "env");
    json_obj_begin(&w);
    json_key(&w, "pfm"); json_str(&w, "env_studio.pfm");
    json_key(&w, "scale"); json_numf(&w, 1.0, 9);
    json_obj_end(&w);
    json_obj_end(&w);
    char fname[256];
    snprintf(fname, sizeof fname, "studio_%s.json", name);
    s = fs_join(path, sizeof path, dir, fname);
    if (s == TRYON_OK)
        s = fs_write_atomic(path, w.buf, w.len);
    json_w_free(&w);
    return s;
}

static enum tryon_status write_one_obj(const char *dir, const char *name, const struct avatar_mesh *m)
{
    char path[4096], file[256];
    snprintf(file, sizeof file, "%s.obj", name);
    enum tryon_status s = fs_join(path, sizeof path, dir, file);
    const struct avatar_mesh *mm[1] = {m};
    const char *nn[1] = {name};
    return s ? s : avatar_write_obj(path, mm, nn, 1);
}

static int cmd_assets(const char *dir)
{
    struct avatar_model *model = NULL;
    struct avatar_mesh body = {0}, garment = {0};
    enum tryon_status s = fs_mkdirs(dir);
    if (s == TRYON_OK)
        s = avatar_model_load(NULL, &model);
    struct avatar_body_params bp;
    avatar_phenotype_default(&bp.ph);
    bp.stature_m = 1.75f;
    bp.arm_down_deg = 30.0f;
    if (s == TRYON_OK)
        s = avatar_body_build(model, &bp, &body);
    struct avatar_garment_est ge = {.type = AVATAR_GARMENT_TOP, .color = {0.5f, 0.5f, 0.5f},
                                    .length = 0.6f, .sleeve = 0.5f};
    if (s == TRYON_OK)
        s = avatar_garment_build(model, &bp, &body, &ge, &garment);
    char path[4096];
    if (s == TRYON_OK)
        s = write_one_obj(dir, "body", &body);
    if (s == TRYON_OK)
        s = write_one_obj(dir, "garment", &garment);
    if (s == TRYON_OK && (s = fs_join(path, sizeof path, dir, "garment.png")) == TRYON_OK)
        s = write_texture(path);
    struct imgf env = {0};
    if (s == TRYON_OK && (s = rt_env_studio(SR_ENV_W, &env)) == TRYON_OK &&
        (s = fs_join(path, sizeof path, dir, "env_studio.pfm")) == TRYON_OK)
        s = write_pfm(path, env.px, env.w, env.h);
    imgf_free(&env);
    float bmin[3], bmax[3];
    avatar_mesh_bounds(&body, bmin, bmax);
    const float skin[2][3] = {{0.56f, 0.36f, 0.27f}, {0, 0, 0}};
    const char *objs[2] = {"body.obj", "garment.obj"}, *tex[2] = {NULL, "garment.png"};
    /* portrait 2:3 film, as the worker's renders */
    if (s == TRYON_OK)
        s = write_studio_scene(dir, "body", 1, objs, skin, tex, bmin, bmax, 96, 144);
    if (s == TRYON_OK)
        s = write_studio_scene(dir, "dressed", 2, objs, skin, tex, bmin, bmax, 96, 144);
    avatar_mesh_free(&body);
    avatar_mesh_free(&garment);
    avatar_model_free(model);
    if (s) {
        fprintf(stderr, "scene_render assets: %s\n", tryon_errmsg());
        return 1;
    }
    printf("assets written to %s\n", dir);
    return 0;
}

/* Render studio_body.json's subject with the mirrored studio and with
   rt_scene_add_studio; print the largest relative pixel difference. */
static int cmd_studio_check(const char *dir)
{
    char path[4096];
    enum tryon_status s = fs_join(path, sizeof path, dir, "body.obj");
    struct sr_mesh body = {0};
    if (s == TRYON_OK)
        s = obj_load(path, &body);
    struct rt_device *dev = s ? NULL : rt_device_create(2);
    if (!dev) {
        fprintf(stderr, "scene_render studio-check: %s\n", tryon_errmsg());
        sr_mesh_free(&body);
        return 1;
    }
    float bmin[3] = {INFINITY, INFINITY, INFINITY}, bmax[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (int i = 0; i < body.nv; i++)
        for (int k = 0; k < 3; k++) {
            bmin[k] = fminf(bmin[k], body.pos[3 * i + k]);
            bmax[k] = fmaxf(bmax[k], body.pos[3 * i + k]);
        }
    struct rt_camera cam;
    rt_camera_frame(bmin, bmax, 48, 72, 0.06f, &cam);
    struct rt_settings set = {.spp = 16, .max_depth = 4, .seed = 7, .threads = 2, .filter = RT_FILTER_BOX};
    struct rt_film f[2] = {{0}};
    const struct rt_material skin = {.albedo = {0.56f, 0.36f, 0.27f}, .texture = NULL, .kind = RT_BSDF_DIFFUSE};
    for (int v = 0; v < 2 && s == TRYON_OK; v++) {
        struct rt_scene *sc = rt_scene_create(dev);
        if (!sc) {
            s = TRYON_ENOMEM;
            break;
        }
        int id = rt_scene_add_mesh(sc, body.pos, body.nrm, NULL, body.nv, body.tri, body.nt, &skin, true);
        s = id < 0 ? (enum tryon_status)id : TRYON_OK;
        if (s == TRYON_OK && v == 0) {
            struct rt_studio st;
            rt_studio_default(&st);
            rt_scene_add_studio(sc, bmin, bmax, &st);
        } else if (s == TRYON_OK) {
            struct avatar_mesh cyc = {0};
            struct sr_light l[SR_NLIGHTS];
            studio_build(bmin, bmax, &cyc, l);
            const struct rt_material bd = {.albedo = {0.6f, 0.6f, 0.6f}, .texture = NULL, .kind = RT_BSDF_BACKDROP};
            id = rt_scene_add_mesh(sc, cyc.pos, cyc.nrm, NULL, cyc.nv, cyc.tri, cyc.nt, &bd, false);
            s = id < 0 ? (enum tryon_status)id : TRYON_OK;
            for (int i = 0; i < SR_NLIGHTS && s == TRYON_OK; i++)
                rt_scene_add_rect_light(sc, l[i].corner, l[i].eu, l[i].ev, l[i].radiance);
            avatar_mesh_free(&cyc);
            struct imgf env = {0};
            if (s == TRYON_OK && (s = rt_env_studio(SR_ENV_W, &env)) == TRYON_OK)
                s = rt_scene_set_env(sc, &env, 1.0f);
            imgf_free(&env);
        }
        if (s == TRYON_OK)
            s = rt_scene_commit(sc);
        if (s == TRYON_OK)
            s = rt_render(sc, &cam, &set, &f[v]);
        rt_scene_free(sc);
    }
    double worst = 0.0;
    if (s == TRYON_OK)
        for (size_t i = 0; i < (size_t)f[0].w * f[0].h * 3; i++) {
            double a = f[0].rgb[i], b = f[1].rgb[i];
            double d = fabs(a - b) / fmax(1e-6, fmax(fabs(a), fabs(b)));
            worst = fmax(worst, d);
        }
    rt_film_free(&f[0]);
    rt_film_free(&f[1]);
    rt_device_free(dev);
    sr_mesh_free(&body);
    if (s) {
        fprintf(stderr, "scene_render studio-check: %s\n", tryon_errmsg());
        return 1;
    }
    printf("{\"studio_check_max_rel_diff\":%.3g}\n", worst);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "assets"))
        return cmd_assets(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "studio-check"))
        return cmd_studio_check(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "render"))
        return cmd_render(argc - 2, argv + 2);
    fprintf(stderr, "usage: scene_render assets OUTDIR | studio-check OUTDIR |\n"
                    "       scene_render render SCENE.json --spp N[,N..] [--depth D] [--seed S] [--threads T]\n"
                    "                           [--repeat R] [--warmup W] [--out PREFIX]\n");
    return 2;
}
