/* synth.c: synthetic photos for `tryon synth`: person photos (a MakeHuman body of known
 * phenotype and stature, rendered through the standard photo camera in the studio) and
 * garment product photos (a garment template alone, front view, on a white backdrop).
 * They make the demo catalog and give tests inputs whose truth is known. */
#include "worker/internal.h"

#include <math.h>
#include <string.h>

#include "avatar/avatar.h"
#include "raytrace/raytrace.h"

#define SYNTH_MAX_DEPTH 4   /* path length of the synthetic photos */

/* Skin albedos (linear RGB) spanning light to dark tones; a person's tone is picked by
 * its seed. */
static const float skin_tones[][3] = {
    {0.62f, 0.43f, 0.34f}, {0.50f, 0.33f, 0.24f}, {0.36f, 0.22f, 0.15f}, {0.20f, 0.12f, 0.08f},
};

/* Render a film into 8-bit RGBA with the given alpha policy. */
static enum tryon_status film_to_image(const struct rt_film *f, bool keep_alpha, struct img8 *out)
{
    enum tryon_status s = rt_film_to_rgba8(f, 1.0f, out);
    if (s == TRYON_OK && !keep_alpha) {
        /* an opaque photo is stored as RGB, so it carries no alpha channel at all */
        size_t n = (size_t)out->w * out->h;
        for (size_t i = 0; i < n; i++)
            memmove(out->px + i * 3, out->px + i * 4, 3);
        out->c = 3;
    }
    return s;
}

enum tryon_status worker_synth_person(struct worker *w, const struct worker_synth_person *p, int width, int height,
                                      int spp, uint64_t seed, struct img8 *out)
{
    struct avatar_model *model = worker_model(w);
    struct avatar_body_params bp;
    avatar_phenotype_default(&bp.ph);
    bp.ph.gender = p->gender;
    bp.ph.weight = p->weight;
    bp.ph.muscle = p->muscle;
    bp.ph.age = p->age;
    bp.stature_m = p->stature_m;
    bp.arm_down_deg = 0;
    struct avatar_mesh body = {0};
    enum tryon_status s = avatar_body_build(model, &bp, &body);
    if (s)
        return s;
    struct avatar_photo_camera pc;
    avatar_photo_camera(&pc);
    struct rt_camera cam;
    memcpy(cam.eye, pc.eye, sizeof cam.eye);
    memcpy(cam.target, pc.target, sizeof cam.target);
    memcpy(cam.up, pc.up, sizeof cam.up);
    cam.vfov_deg = pc.vfov_deg;
    cam.width = width;
    cam.height = height;
    struct rt_studio studio;
    rt_studio_default(&studio);
    float bmin[3], bmax[3];
    avatar_mesh_bounds(&body, bmin, bmax);
    const float(*tone)[3] = &skin_tones[seed % (sizeof skin_tones / sizeof skin_tones[0])];
    const struct avatar_mesh *meshes[1] = {&body};
    struct rt_film film = {0};
    s = worker_render_meshes(w, meshes, tone, 1, &cam, &studio, bmin, bmax, spp, SYNTH_MAX_DEPTH, seed, 0, &film);
    if (s == TRYON_OK)
        s = film_to_image(&film, p->with_alpha, out);
    rt_film_free(&film);
    avatar_mesh_free(&body);
    return s;
}

enum tryon_status worker_synth_garment(struct worker *w, const struct worker_synth_garment *g, int width,
                                       int height, int spp, uint64_t seed, struct img8 *out)
{
    struct avatar_model *model = worker_model(w);
    struct avatar_garment_est est;
    memset(&est, 0, sizeof est);
    enum tryon_status s = avatar_garment_type_parse(g->type, &est.type);
    if (s)
        return s;
    for (int c = 0; c < 3; c++)
        est.color[c] = img_srgb_to_linear(g->color_srgb[c]);
    est.length = g->length;
    est.sleeve = g->sleeve;
    struct avatar_body_params bp;
    avatar_phenotype_default(&bp.ph);
    bp.stature_m = 1.75f;
    bp.arm_down_deg = 0;
    struct avatar_mesh body = {0}, garment = {0};
    s = avatar_body_build(model, &bp, &body);
    if (s == TRYON_OK)
        s = avatar_garment_build(model, &bp, &body, &est, &garment);
    if (s == TRYON_OK) {
        float bmin[3], bmax[3];
        avatar_mesh_bounds(&garment, bmin, bmax);
        struct rt_camera cam;
        rt_camera_frame(bmin, bmax, width, height, 0.08f, &cam);
        struct rt_studio studio;
        rt_studio_default(&studio);
        studio.backdrop[0] = studio.backdrop[1] = studio.backdrop[2] = 0.9f;
        const struct avatar_mesh *meshes[1] = {&garment};
        const float(*albedo)[3] = (const float(*)[3])est.color;
        struct rt_film film = {0};
        s = worker_render_meshes(w, meshes, albedo, 1, &cam, &studio, bmin, bmax, spp, SYNTH_MAX_DEPTH, seed, 0,
                                     &film);
        if (s == TRYON_OK)
            s = film_to_image(&film, false, out);
        rt_film_free(&film);
    }
    avatar_mesh_free(&garment);
    avatar_mesh_free(&body);
    return s;
}
