/* synth.c: synthetic photos with known truth for `tryon synth`, bench/avatar_eval and tests.
 *
 * Person photos: a MakeHuman body of drawn phenotype, stature and pose, dressed in drawn
 * garments (their templates built on that body, textured with procedural prints), in the
 * studio with drawn lights and backdrop, through the standard photo camera (the camera the
 * person estimator assumes) moved to a drawn distance. Garment product photos: the garment
 * template on the default body, rendered alone, front view framed on its bounds on a white
 * backdrop, in a drawn style: on a ghost mannequin (the template as built), laid flat (its
 * depth pressed to 8%, sleeves spread, legs apart, on the white surface itself: the wall
 * right behind it) or on a hanger (sleeves hanging, depth 30%, a wire hanger's hook above
 * the collar or a clip bar above the waistband). Prints (stripes, checks, dots, a logo-like patch) are painted into the
 * garment's UV texture, in metres on the garment, so the pattern keeps its size whatever
 * the UV layout. Each photo comes with a JSON object of its true parameters. */
#include "worker/internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SYNTH_MAX_DEPTH 4      /* path length of the synthetic photos */
#define DENOISE_DEPTH 8        /* path length of the denoiser's training renders (the catalog preset's) */
#define SYNTH_TEX 1024         /* print texture side, texels */
#define SYNTH_LAYER_M 0.006f   /* extra push of an outer garment over an inner one, metres */

/* The film as 8-bit: RGBA, or RGB when the photo is opaque (no alpha channel at all). */
static enum tryon_status film_to_image(const struct rt_film *f, bool keep_alpha, struct img8 *out)
{
    enum tryon_status s = rt_film_to_rgba8(f, 1.0f, out);
    if (s == TRYON_OK && !keep_alpha) {
        size_t n = (size_t)out->w * out->h;
        for (size_t i = 0; i < n; i++)
            memmove(out->px + i * 3, out->px + i * 4, 3);
        out->c = 3;
    }
    return s;
}

/* Print value at a point of the garment surface (x, y metres in the texture's frame;
   logo centre lx, ly): 1 = print colour, 0 = base. */
static float print_at(const struct worker_synth_garment *g, float x, float y, float lx, float ly)
{
    float p = g->print_scale_m;
    switch (g->print) {
    case WORKER_PRINT_STRIPES:
        return y / p - floorf(y / p) < 0.4f ? 1.0f : 0.0f;
    case WORKER_PRINT_CHECKS: {
        long a = (long)floorf(x / p), b = (long)floorf(y / p);
        return ((a + b) & 1) ? 1.0f : 0.0f;
    }
    case WORKER_PRINT_DOTS: {
        /* dots on a staggered grid, radius a quarter of the spacing */
        float row = floorf(y / p), fx = x / p + 0.5f * fmodf(fabsf(row), 2.0f);
        float dx = fx - floorf(fx) - 0.5f, dy = y / p - row - 0.5f;
        return dx * dx + dy * dy < 0.0625f ? 1.0f : 0.0f;
    }
    case WORKER_PRINT_LOGO: {
        /* a square patch of side 4p in print colour holding a base-coloured ring and bar */
        float dx = x - lx, dy = y - ly, h = 2.0f * p;
        if (fabsf(dx) > h || fabsf(dy) > h)
            return 0.0f;
        float r = sqrtf(dx * dx + dy * dy);
        bool ring = r > 0.9f * p && r < 1.35f * p;
        bool bar = fabsf(dy) < 0.2f * p && fabsf(dx) < 1.6f * p;
        return ring || bar ? 0.0f : 1.0f;
    }
    default:
        return 0.0f;
    }
}

/* Paint the garment's texture (linear RGB, v up) from its colour and print. Metres per uv
   unit come from the mesh's edges (sum of |dx| over sum of |du|, likewise y and v), so a
   pattern keeps its size on any UV layout (a planar projection or avatar's front/back
   atlas). The logo sits on the front's centre line (the mean u of the vertices near
   x = centre in front), 70% up the v range on a top or a dress (the chest), 88% up on a
   bottom (below the waistband). */
static enum tryon_status paint_texture(const struct avatar_mesh *m, const struct worker_synth_garment *g,
                                       struct imgf *tex)
{
    double sx = 0, su = 0, sy = 0, sv = 0;
    for (int t = 0; t < m->nt; t++)
        for (int k = 0; k < 3; k++) {
            int a = m->tri[3 * t + k], b = m->tri[3 * t + (k + 1) % 3];
            sx += fabsf(m->pos[3 * a] - m->pos[3 * b]), sy += fabsf(m->pos[3 * a + 1] - m->pos[3 * b + 1]);
            su += fabsf(m->uv[2 * a] - m->uv[2 * b]), sv += fabsf(m->uv[2 * a + 1] - m->uv[2 * b + 1]);
        }
    float mu = su > 0 ? (float)(sx / su) : 1.0f, mv = sv > 0 ? (float)(sy / sv) : 1.0f;
    /* the front's centre line: mean u of the vertices within 2 cm of x = centre, in front */
    float bmin[3], bmax[3];
    avatar_mesh_bounds(m, bmin, bmax);
    float cx = 0.5f * (bmin[0] + bmax[0]), cz = 0.5f * (bmin[2] + bmax[2]);
    float vmin = 1e30f, vmax = -1e30f;
    double usum = 0;
    int un = 0;
    for (int i = 0; i < m->nv; i++) {
        vmin = fminf(vmin, m->uv[2 * i + 1]), vmax = fmaxf(vmax, m->uv[2 * i + 1]);
        if (fabsf(m->pos[3 * i] - cx) < 0.02f && m->pos[3 * i + 2] > cz)
            usum += m->uv[2 * i], un++;
    }
    float uc = un ? (float)(usum / un) : 0.5f;
    float up = worker_type_cover(g->est.type) == WORKER_COVER_BOTTOM ? 0.88f : 0.7f;
    /* the patch (half side 2p) stays below the top edge */
    float lx = uc * mu, ly = fminf((vmin + up * (vmax - vmin)) * mv, vmax * mv - 2.3f * g->print_scale_m);
    enum tryon_status s = imgf_alloc(tex, SYNTH_TEX, SYNTH_TEX, 3);
    if (s)
        return s;
    for (int ty = 0; ty < SYNTH_TEX; ty++)
        for (int tx = 0; tx < SYNTH_TEX; tx++) {
            /* 2x2 supersampling for smooth pattern edges; texel row 0 is v = 1 */
            float cover = 0;
            for (int k = 0; k < 4; k++) {
                float u = ((float)tx + 0.25f + 0.5f * (float)(k & 1)) / SYNTH_TEX;
                float v = 1.0f - ((float)ty + 0.25f + 0.5f * (float)(k >> 1)) / SYNTH_TEX;
                cover += 0.25f * print_at(g, u * mu, v * mv, lx, ly);
            }
            float *px = tex->px + ((size_t)ty * SYNTH_TEX + tx) * 3;
            for (int c = 0; c < 3; c++)
                px[c] = g->est.color[c] + cover * (g->print_color[c] - g->est.color[c]);
        }
    return TRYON_OK;
}

void worker_synth_back_patch(const struct worker_synth_garment *g, int size, float side_m, uint8_t *out)
{
    for (int ty = 0; ty < size; ty++)
        for (int tx = 0; tx < size; tx++) {
            /* 2x2 supersampling as paint_texture; row 0 is the top (y = side_m) */
            float cover = 0;
            for (int k = 0; k < 4; k++) {
                float x = ((float)tx + 0.25f + 0.5f * (float)(k & 1)) / (float)size * side_m;
                float y = side_m - ((float)ty + 0.25f + 0.5f * (float)(k >> 1)) / (float)size * side_m;
                cover += 0.25f * print_at(g, x, y, -1e6f, -1e6f);
            }
            for (int c = 0; c < 3; c++) {
                float lin = g->est.color[c] + cover * (g->print_color[c] - g->est.color[c]);
                out[((size_t)c * size + ty) * size + tx] =
                    (uint8_t)lrintf(255.0f * fminf(1.0f, fmaxf(0.0f, img_linear_to_srgb(lin))));
            }
        }
}

/* Push every vertex `d` metres along its normal (an outer layer over an inner garment). */
static void push_out(struct avatar_mesh *m, float d)
{
    for (int i = 0; i < 3 * m->nv; i++)
        m->pos[i] += d * m->nrm[i];
}

static void json_vec(struct json_w *t, const char *key, const float *v, int n, int digits)
{
    json_key(t, key);
    json_arr_begin(t);
    for (int k = 0; k < n; k++)
        json_numf(t, v[k], digits);
    json_arr_end(t);
}

static void json_srgb(struct json_w *t, const char *key, const float lin[3])
{
    float s[3];
    for (int k = 0; k < 3; k++)
        s[k] = img_linear_to_srgb(lin[k]);
    json_vec(t, key, s, 3, 4);
}

/* "sensor": the photo's marks (worker_sensor_degrade's parameters). */
static void json_sensor(struct json_w *t, float blur_px, float noise, float blocking)
{
    json_key(t, "sensor");
    json_obj_begin(t);
    json_key(t, "blur_px"); json_numf(t, blur_px, 4);
    json_key(t, "noise"); json_numf(t, noise, 4);
    json_key(t, "blocking"); json_numf(t, blocking, 4);
    json_obj_end(t);
}

static void json_camera(struct json_w *t, const struct rt_camera *cam)
{
    json_key(t, "camera");
    json_obj_begin(t);
    json_vec(t, "eye", cam->eye, 3, 5);
    json_vec(t, "target", cam->target, 3, 5);
    json_key(t, "vfov_deg");
    json_numf(t, cam->vfov_deg, 5);
    json_key(t, "width");
    json_int(t, cam->width);
    json_key(t, "height");
    json_int(t, cam->height);
    json_obj_end(t);
}

/* Pixel bounds [x0, y0, x1, y1) of the film's subject (alpha > 0.5); zeros when none. */
static void json_subject_box(struct json_w *t, const struct rt_film *f)
{
    int x0 = f->w, y0 = f->h, x1 = 0, y1 = 0;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++)
            if (f->alpha[(size_t)y * f->w + x] > 0.5f) {
                x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0;
                x1 = x + 1 > x1 ? x + 1 : x1, y1 = y + 1 > y1 ? y + 1 : y1;
            }
    if (x1 == 0)
        x0 = y0 = 0;
    json_key(t, "subject_box_px");
    json_arr_begin(t);
    json_int(t, x0);
    json_int(t, y0);
    json_int(t, x1);
    json_int(t, y1);
    json_arr_end(t);
}

/* The garment fields of a truth object (inside an open object). */
static void json_garment(struct json_w *t, const struct worker_synth_garment *g)
{
    json_key(t, "type");
    json_str(t, avatar_garment_type_name(g->est.type));
    json_key(t, "type_hint");
    json_bool(t, g->type_hint);
    json_srgb(t, "color_srgb", g->est.color);
    json_key(t, "length");
    json_numf(t, g->est.length, 4);
    json_key(t, "sleeve");
    json_numf(t, g->est.sleeve, 4);
    json_key(t, "print");
    json_obj_begin(t);
    json_key(t, "kind");
    json_str(t, worker_print_name(g->print));
    json_srgb(t, "color_srgb", g->print_color);
    json_key(t, "scale_m");
    json_numf(t, g->print_scale_m, 4);
    json_obj_end(t);
}

/* "landmarks": {name: [x, y]} in photo pixels: the 3D landmarks lm (as the photographed
   mesh has them) projected through cam; those absent for the type (or behind the camera)
   are left out. */
static void json_landmarks(struct json_w *t, const float lm[AVATAR_LM_N][3], const bool present[AVATAR_LM_N],
                           const struct rt_camera *cam)
{
    json_key(t, "landmarks");
    json_obj_begin(t);
    for (int l = 0; l < AVATAR_LM_N; l++) {
        float px[2];
        if (!present[l] || !rt_camera_project(cam, lm[l], &px[0], &px[1]))
            continue;
        json_vec(t, avatar_landmark_name((enum avatar_landmark)l), px, 2, 5);
    }
    json_obj_end(t);
}

/* Build garment g on a body and give it its print texture (tex allocated when the mesh has
   uv). The material points into tex. */
static enum tryon_status garment_mesh(struct worker *w, const struct avatar_body_params *bp,
                                      const struct avatar_mesh *body, const struct worker_synth_garment *g,
                                      struct avatar_mesh *mesh, struct imgf *tex, struct rt_material *mat)
{
    enum tryon_status s = avatar_garment_build(worker_model(w), bp, body, &g->est, mesh);
    if (s)
        return s;
    rt_material_preset(RT_BSDF_CLOTH, g->est.color, mat);
    if (mesh->uv) {
        if ((s = paint_texture(mesh, g, tex)))
            return s;
        mat->texture = tex;
    }
    return TRYON_OK;
}

/* Person p's meshes (the body, then its outfit, outermost last) and their materials (skin;
   cloth textured with its print, the texture in tex[k]). The caller frees meshes and tex,
   zeroed here first, also on an error. */
static enum tryon_status person_scene(struct worker *w, const struct worker_synth_person *p,
                                      struct avatar_mesh meshes[3], struct imgf tex[3], struct rt_material mats[3])
{
    assert(p->n_wear >= 0 && p->n_wear <= 2);
    memset(meshes, 0, 3 * sizeof *meshes);
    memset(tex, 0, 3 * sizeof *tex);
    enum tryon_status s = avatar_body_build(worker_model(w), &p->body, &meshes[0]);
    rt_material_preset(RT_BSDF_SKIN, p->skin, &mats[0]);
    for (int k = 0; k < p->n_wear && s == TRYON_OK; k++) {
        s = garment_mesh(w, &p->body, &meshes[0], &p->wear[k], &meshes[1 + k], &tex[1 + k], &mats[1 + k]);
        if (s == TRYON_OK && k > 0)
            push_out(&meshes[1 + k], SYNTH_LAYER_M * (float)k);
    }
    return s;
}

static void studio_of(const struct worker_synth_person *p, struct rt_studio *st)
{
    rt_studio_default(st);
    memcpy(st->backdrop, p->backdrop, sizeof st->backdrop);
    st->key = p->key;
    st->fill = p->fill;
}

enum tryon_status worker_synth_person_photo(struct worker *w, const struct worker_synth_person *p, int width,
                                            int height, int spp, uint64_t seed, int threads, struct img8 *out,
                                            struct json_w *t)
{
    memset(out, 0, sizeof *out);
    struct avatar_mesh meshes[3];
    struct imgf tex[3];
    struct rt_material mats[3];
    enum tryon_status s = person_scene(w, p, meshes, tex, mats);
    struct avatar_measurements meas;
    if (s == TRYON_OK)
        s = avatar_body_measure(worker_model(w), &p->body, &meas);
    struct rt_film film = {0};
    struct rt_camera cam;
    if (s == TRYON_OK) {
        /* the person's camera: on the z axis, level with cam_height_m, pitched by the tilt */
        float tilt = p->cam_tilt_deg * (float)M_PI / 180.0f;
        cam.eye[0] = 0.0f, cam.eye[1] = p->cam_height_m, cam.eye[2] = p->cam_distance_m;
        cam.target[0] = 0.0f, cam.target[1] = p->cam_height_m + p->cam_distance_m * tanf(tilt), cam.target[2] = 0.0f;
        cam.up[0] = 0.0f, cam.up[1] = 1.0f, cam.up[2] = 0.0f;
        cam.vfov_deg = p->cam_vfov_deg;
        cam.width = width;
        cam.height = height;
        struct rt_studio studio;
        studio_of(p, &studio);
        float bmin[3], bmax[3];
        avatar_mesh_bounds(&meshes[0], bmin, bmax);
        const struct avatar_mesh *list[3] = {&meshes[0], &meshes[1], &meshes[2]};
        struct rt_settings set = worker_rt_settings(spp, SYNTH_MAX_DEPTH, seed, threads);
        s = worker_render_meshes(w, list, mats, 1 + p->n_wear, &cam, &studio, bmin, bmax, &set, &film);
    }
    if (s == TRYON_OK)
        s = film_to_image(&film, p->with_alpha, out);
    if (s == TRYON_OK)
        s = worker_sensor_degrade(out, p->blur_px, p->noise, p->blocking, seed);
    if (s == TRYON_OK) {
        json_key(t, "gender"); json_numf(t, p->body.ph.gender, 4);
        json_key(t, "age"); json_numf(t, p->body.ph.age, 4);
        json_key(t, "muscle"); json_numf(t, p->body.ph.muscle, 4);
        json_key(t, "weight"); json_numf(t, p->body.ph.weight, 4);
        json_key(t, "height"); json_numf(t, p->body.ph.height, 4);
        json_key(t, "proportions"); json_numf(t, p->body.ph.proportions, 4);
        json_key(t, "ethnic");
        json_obj_begin(t);
        json_key(t, "african"); json_numf(t, p->body.ph.african, 4);
        json_key(t, "asian"); json_numf(t, p->body.ph.asian, 4);
        json_key(t, "caucasian"); json_numf(t, p->body.ph.caucasian, 4);
        json_obj_end(t);
        json_key(t, "stature_m"); json_numf(t, p->body.stature_m, 4);
        worker_json_pose(t, &p->body);
        worker_json_measurements(t, &meas);
        json_srgb(t, "skin_srgb", p->skin);
        json_key(t, "alpha"); json_bool(t, p->with_alpha);
        json_key(t, "height_hint"); json_bool(t, p->height_hint);
        json_camera(t, &cam);
        json_key(t, "camera_distance_m"); json_numf(t, p->cam_distance_m, 4);
        json_key(t, "camera_height_m"); json_numf(t, p->cam_height_m, 4);
        json_key(t, "camera_tilt_deg"); json_numf(t, p->cam_tilt_deg, 4);
        json_sensor(t, p->blur_px, p->noise, p->blocking);
        json_key(t, "light");
        json_obj_begin(t);
        json_key(t, "key"); json_numf(t, p->key, 4);
        json_key(t, "fill"); json_numf(t, p->fill, 4);
        json_obj_end(t);
        json_srgb(t, "backdrop_srgb", p->backdrop);
        json_subject_box(t, &film);
        json_key(t, "wearing");
        json_arr_begin(t);
        for (int k = 0; k < p->n_wear; k++) {
            json_obj_begin(t);
            json_garment(t, &p->wear[k]);
            json_obj_end(t);
        }
        json_arr_end(t);
    }
    if (s)
        img8_free(out);
    rt_film_free(&film);
    for (int k = 0; k < 3; k++) {
        avatar_mesh_free(&meshes[k]);
        imgf_free(&tex[k]);
    }
    return s;
}

/* Mean first-hit albedo over the subject's pixels, as sRGB: the colour a garment's photo
   shows on average (base and print mixed), unaffected by light. */
static void json_mean_albedo(struct json_w *t, const struct rt_film *f)
{
    double acc[3] = {0, 0, 0}, wsum = 0;
    for (size_t i = 0; i < (size_t)f->w * f->h; i++)
        if (f->alpha[i] > 0.99f) {
            for (int c = 0; c < 3; c++)
                acc[c] += f->albedo[3 * i + c];
            wsum += 1;
        }
    float m[3] = {0, 0, 0};
    for (int c = 0; c < 3 && wsum > 0; c++)
        m[c] = (float)(acc[c] / wsum);
    json_srgb(t, "mean_color_srgb", m);
}

/* A box of side `thick` along the segment a..b, appended to m (pos and tri only). */
static void add_bar(struct avatar_mesh *m, const float a[3], const float b[3], float thick)
{
    float d[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    float l = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    /* two axes across the segment: z and z x d (the segments lie in x-y) */
    float u[3] = {0.0f, 0.0f, 0.5f * thick}, v[3] = {-d[1] / l * 0.5f * thick, d[0] / l * 0.5f * thick, 0.0f};
    int v0 = m->nv;
    for (int e = 0; e < 2; e++)
        for (int k = 0; k < 4; k++) {
            const float *p = e ? b : a;
            float su = k & 1 ? 1.0f : -1.0f, sv = k & 2 ? 1.0f : -1.0f;
            for (int c = 0; c < 3; c++)
                m->pos[(size_t)m->nv * 3 + c] = p[c] + su * u[c] + sv * v[c];
            m->nv++;
        }
    /* corners k = (su, sv) bits; the four sides and two caps, outward-facing */
    static const int32_t quads[6][4] = {{0, 1, 5, 4}, {1, 3, 7, 5}, {3, 2, 6, 7}, {2, 0, 4, 6}, {0, 2, 3, 1}, {4, 5, 7, 6}};
    for (int q = 0; q < 6; q++) {
        int32_t *t = m->tri + (size_t)m->nt * 3;
        t[0] = v0 + quads[q][0], t[1] = v0 + quads[q][1], t[2] = v0 + quads[q][2];
        t[3] = v0 + quads[q][0], t[4] = v0 + quads[q][2], t[5] = v0 + quads[q][3];
        m->nt += 2;
    }
}

/* A hanger for garment g whose landmarks (3D, as photographed) are lm/present: for a top or
   a dress a wire from the collar down to each shoulder (inside the garment) and a hook
   above the collar; for a skirt, trousers or shorts a clip bar along the waistband and the
   hook above its middle. Wire 8 mm thick. */
static enum tryon_status hanger_mesh(const float lm[AVATAR_LM_N][3], const bool present[AVATAR_LM_N],
                                     struct avatar_mesh *m)
{
    enum { MAX_BARS = 6 };
    memset(m, 0, sizeof *m);
    m->pos = malloc((size_t)MAX_BARS * 8 * 3 * sizeof *m->pos);
    m->tri = malloc((size_t)MAX_BARS * 12 * 3 * sizeof *m->tri);
    if (!m->pos || !m->tri) {
        avatar_mesh_free(m);
        return tryon_fail(TRYON_ENOMEM, "out of memory for a hanger");
    }
    const float wire = 0.008f;
    float base[3];
    if (present[AVATAR_LM_COLLAR]) {
        memcpy(base, lm[AVATAR_LM_COLLAR], sizeof base);
        for (int side = AVATAR_LM_L_SHOULDER; side <= AVATAR_LM_R_SHOULDER; side++)
            if (present[side]) {
                float tip[3] = {lm[side][0], lm[side][1] - 0.03f, lm[side][2]};
                float from[3] = {base[0], base[1] - 0.02f, base[2]};
                add_bar(m, from, tip, wire);
            }
    } else {
        const float *l = lm[AVATAR_LM_L_WAIST], *r = lm[AVATAR_LM_R_WAIST];
        float a[3] = {l[0], l[1] + 0.01f, l[2]}, b[3] = {r[0], r[1] + 0.01f, r[2]};
        add_bar(m, a, b, 2.0f * wire);
        for (int c = 0; c < 3; c++)
            base[c] = 0.5f * (a[c] + b[c]);
    }
    /* the hook: up 7 cm, then a curl over to one side and down */
    float p0[3] = {base[0], base[1] - 0.01f, base[2]}, p1[3] = {base[0], base[1] + 0.07f, base[2]};
    float p2[3] = {base[0] + 0.03f, base[1] + 0.09f, base[2]}, p3[3] = {base[0] + 0.045f, base[1] + 0.065f, base[2]};
    add_bar(m, p0, p1, wire);
    add_bar(m, p1, p2, wire);
    add_bar(m, p2, p3, wire);
    return avatar_mesh_normals(m);
}

enum tryon_status worker_synth_garment_photo(struct worker *w, const struct worker_synth_garment *g, int width,
                                             int height, int spp, uint64_t seed, int threads, struct img8 *out,
                                             struct json_w *t)
{
    memset(out, 0, sizeof *out);
    struct avatar_body_params bp;
    memset(&bp, 0, sizeof bp);
    avatar_phenotype_default(&bp.ph);
    bp.stature_m = 1.75f;
    bp.arm_down_deg = g->shape.arm_down_deg;
    bp.leg_spread_deg = g->shape.leg_spread_deg;
    struct avatar_mesh body = {0}, garment = {0}, hanger = {0};
    struct imgf tex = {0};
    struct rt_material mats[2];
    struct rt_film film = {0};
    struct rt_camera cam;
    float lm[AVATAR_LM_N][3];   /* the landmarks as photographed (the truth's, the hanger's) */
    bool present[AVATAR_LM_N];
    enum tryon_status s = avatar_body_build(worker_model(w), &bp, &body);
    if (s == TRYON_OK)
        s = garment_mesh(w, &bp, &body, g, &garment, &tex, &mats[0]);
    if (s == TRYON_OK)
        s = avatar_garment_landmarks_3d(worker_model(w), &bp, &g->est, lm, present);
    float bmin[3], bmax[3];
    if (s == TRYON_OK) {
        /* the style: the depth pressed flat about the garment's middle, the landmarks with it */
        avatar_mesh_bounds(&garment, bmin, bmax);
        float z_mid = 0.5f * (bmin[2] + bmax[2]);
        if (g->shape.depth_scale != 1.0f) {
            avatar_flatten_depth(&lm[0][0], AVATAR_LM_N, z_mid, g->shape.depth_scale);
            avatar_flatten_depth(garment.pos, garment.nv, z_mid, g->shape.depth_scale);
            s = avatar_mesh_normals(&garment);
        }
    }
    if (s == TRYON_OK && g->style == AVATAR_STYLE_HANGER) {
        s = hanger_mesh(lm, present, &hanger);
        const float wood[3] = {0.12f, 0.1f, 0.09f};
        rt_material_preset(RT_BSDF_DIFFUSE, wood, &mats[1]);
    }
    if (s == TRYON_OK) {
        const struct avatar_mesh *list[2] = {&garment, &hanger};
        const int n = hanger.nv ? 2 : 1;
        avatar_mesh_bounds(&garment, bmin, bmax);
        if (hanger.nv) {
            float hmin[3], hmax[3];
            avatar_mesh_bounds(&hanger, hmin, hmax);
            for (int k = 0; k < 3; k++)
                bmin[k] = fminf(bmin[k], hmin[k]), bmax[k] = fmaxf(bmax[k], hmax[k]);
        }
        rt_camera_frame(bmin, bmax, width, height, 0.08f, &cam);
        struct rt_studio studio;
        rt_studio_default(&studio);
        studio.backdrop[0] = studio.backdrop[1] = studio.backdrop[2] = 0.9f;
        if (g->style == AVATAR_STYLE_FLAT) {
            /* laid on the surface (the wall, seen from the front), the cove out of frame; the
               rim light would stand behind the surface */
            studio.wall_gap = 0.005f;
            studio.floor_drop = 1.0f;
            studio.rim = 0.0f;
        }
        struct rt_settings set = worker_rt_settings(spp, SYNTH_MAX_DEPTH, seed, threads);
        s = worker_render_meshes(w, list, mats, n, &cam, &studio, bmin, bmax, &set, &film);
    }
    if (s == TRYON_OK)
        s = film_to_image(&film, false, out);
    if (s == TRYON_OK)
        s = worker_sensor_degrade(out, g->blur_px, g->noise, g->blocking, seed);
    if (s == TRYON_OK) {
        json_garment(t, g);
        json_key(t, "style");
        json_str(t, avatar_garment_style_name(g->style));
        json_key(t, "style_shape");
        json_obj_begin(t);
        json_key(t, "arm_down_deg"); json_numf(t, g->shape.arm_down_deg, 4);
        json_key(t, "leg_spread_deg"); json_numf(t, g->shape.leg_spread_deg, 4);
        json_key(t, "depth_scale"); json_numf(t, g->shape.depth_scale, 4);
        json_obj_end(t);
        json_mean_albedo(t, &film);
        json_camera(t, &cam);
        json_subject_box(t, &film);
        json_sensor(t, g->blur_px, g->noise, g->blocking);
        json_landmarks(t, lm, present, &cam);
    }
    if (s)
        img8_free(out);
    rt_film_free(&film);
    imgf_free(&tex);
    avatar_mesh_free(&hanger);
    avatar_mesh_free(&garment);
    avatar_mesh_free(&body);
    return s;
}

enum tryon_status worker_synth_image(struct worker *w, const struct worker_synth_config *cfg, int i, int threads,
                                     struct img8 *out, struct json_w *truth)
{
    char id[72], file[160];
    const char *folder;
    worker_synth_image_id(cfg, i, id, &folder);
    snprintf(file, sizeof file, "%s/%s.png", folder, id);
    uint64_t key[3] = {cfg->seed, (uint64_t)i, 0x72656e646572ULL};
    uint64_t seed = hash64(key, sizeof key, 0);
    json_w_reset(truth);
    json_obj_begin(truth);
    json_key(truth, "id");
    json_str(truth, id);
    json_key(truth, "kind");
    json_str(truth, i < cfg->n_persons ? "person" : "garment");
    json_key(truth, "file");
    json_str(truth, file);
    json_key(truth, "index");
    json_int(truth, i);
    enum tryon_status s;
    if (i < cfg->n_persons) {
        struct worker_synth_person p;
        worker_synth_draw_person(cfg, i, &p);
        s = worker_synth_person_photo(w, &p, cfg->width, cfg->height, cfg->spp, seed, threads, out, truth);
    } else {
        struct worker_synth_garment g;
        worker_synth_draw_garment(cfg, i - cfg->n_persons, &g);
        s = worker_synth_garment_photo(w, &g, cfg->width, cfg->height, cfg->spp, seed, threads, out, truth);
    }
    json_obj_end(truth);
    if (s)
        json_w_reset(truth);
    return s;
}

int worker_synth_denoise_count(const struct worker_synth_config *cfg)
{
    return cfg->denoise.crops * (cfg->denoise.n_spp + (cfg->denoise.adaptive ? 1 : 0));
}

/* One window's film as bytes: the network input (worker_denoise_features), or with
   target the radiance's display values (3 planes). */
static void crop_bytes(const struct rt_film *f, bool target, float *tmp, uint8_t *out)
{
    size_t plane = (size_t)f->w * f->h;
    worker_denoise_features(f, 0, 0, f->w, f->h, tmp);
    size_t n = plane * (target ? 3 : WORKER_DENOISE_CHANNELS);
    for (size_t k = 0; k < n; k++)
        out[k] = (uint8_t)lrintf(255.0f * fminf(fmaxf(tmp[k], 0.0f), 1.0f));
}

enum tryon_status worker_synth_denoise(struct worker *w, const struct worker_synth_config *cfg, int i, int threads,
                                       uint8_t *inputs, uint8_t *targets, float *spp_mean)
{
    const struct worker_synth_denoise *d = &cfg->denoise;
    assert(d->crop > 0 && i >= 0 && i < cfg->n_persons);
    struct worker_synth_person p;
    worker_synth_draw_person(cfg, i, &p);
    uint64_t key[3] = {cfg->seed, (uint64_t)i, 0x64656e6f697365ULL};
    uint64_t seed = hash64(key, sizeof key, 0);
    struct rng rng;
    rng_seed(&rng, seed);
    struct avatar_mesh meshes[3];
    struct imgf tex[3];
    struct rt_material mats[3];
    enum tryon_status s = person_scene(w, &p, meshes, tex, mats);
    int n_in = d->n_spp + (d->adaptive ? 1 : 0), S = d->crop;
    size_t plane = (size_t)S * S;
    float *tmp = tryon_xmalloc(plane * WORKER_DENOISE_CHANNELS * sizeof *tmp);
    struct rt_settings *set = tryon_xcalloc((size_t)n_in + 1, sizeof *set);
    struct rt_film *films = tryon_xcalloc((size_t)n_in + 1, sizeof *films);
    if (s == TRYON_OK) {
        float bmin[3], bmax[3];
        avatar_mesh_bounds(&meshes[0], bmin, bmax);
        struct rt_camera cam;
        rt_camera_frame(bmin, bmax, d->width, d->height, 0.06f, &cam);
        struct rt_studio studio;
        studio_of(&p, &studio);
        /* the subject's box in pixels: the projected corners of its bounds */
        float bx0 = (float)d->width, by0 = (float)d->height, bx1 = 0, by1 = 0;
        for (int c = 0; c < 8; c++) {
            float q[3] = {c & 1 ? bmax[0] : bmin[0], c & 2 ? bmax[1] : bmin[1], c & 4 ? bmax[2] : bmin[2]}, px, py;
            if (rt_camera_project(&cam, q, &px, &py)) {
                bx0 = fminf(bx0, px), by0 = fminf(by0, py);
                bx1 = fmaxf(bx1, px), by1 = fmaxf(by1, py);
            }
        }
        const struct avatar_mesh *list[3] = {&meshes[0], &meshes[1], &meshes[2]};
        for (int c = 0; c < d->crops && s == TRYON_OK; c++) {
            bool subject = rng_float(&rng) < 0.75f && bx1 > bx0 && by1 > by0;
            float cx = subject ? bx0 + rng_float(&rng) * (bx1 - bx0) : rng_float(&rng) * (float)d->width;
            float cy = subject ? by0 + rng_float(&rng) * (by1 - by0) : rng_float(&rng) * (float)d->height;
            int x0 = (int)lrintf(cx) - S / 2, y0 = (int)lrintf(cy) - S / 2;
            x0 = x0 < 0 ? 0 : x0 > d->width - S ? d->width - S : x0;
            y0 = y0 < 0 ? 0 : y0 > d->height - S ? d->height - S : y0;
            struct rt_crop win = {x0, y0, S, S};
            float thr = 0.005f * powf(10.0f, rng_float(&rng));   /* log-uniform in [0.005, 0.05] */
            for (int k = 0; k <= n_in; k++) {
                bool ref = k == n_in, ad = !ref && k == d->n_spp;
                set[k] = worker_rt_settings(ref ? d->reference_spp : ad ? 64 : d->spp[k], DENOISE_DEPTH,
                                            seed + (uint64_t)c * 2 + (ref ? 1 : 0), threads);
                set[k].crop = win;
                if (ad) {
                    set[k].noise_threshold = thr;
                    set[k].min_spp = 4;
                }
            }
            s = worker_render_meshes_n(w, list, mats, 1 + p.n_wear, &cam, &studio, bmin, bmax, set, n_in + 1, films);
            for (int k = 0; k < n_in && s == TRYON_OK; k++) {
                size_t at = (size_t)c * n_in + (size_t)k;
                crop_bytes(&films[k], false, tmp, inputs + at * plane * WORKER_DENOISE_CHANNELS);
                crop_bytes(&films[n_in], true, tmp, targets + at * plane * 3);
                double sum = 0;
                for (size_t q = 0; q < plane; q++)
                    sum += films[k].spp[q];
                spp_mean[at] = (float)(sum / (double)plane);
            }
            for (int k = 0; k <= n_in; k++)
                rt_film_free(&films[k]);
        }
    }
    free(films);
    free(set);
    free(tmp);
    for (int k = 0; k < 3; k++) {
        avatar_mesh_free(&meshes[k]);
        imgf_free(&tex[k]);
    }
    return s;
}
