/* views.c: the pair seen from around the body, and the turntable made of those views.
 *
 * A 3D try-on can show what a 2D one cannot: the back and the sides. View k of n is the
 * camera at 360 k / n degrees around the body's vertical axis, orbiting together with its
 * studio (the cyclorama and the softboxes stand around the camera, so a camera orbiting
 * alone would look at the back of the backdrop): the body and garment are turned the other
 * way in front of the fixed camera, as on a turntable. Every view keeps the front's framing
 * and seed, so view 0 is the main render, byte for byte, and the animation does not jump.
 * The turntable is an animated WebP from libwebp's animation encoder (webp/mux.h).
 */
#include "worker/internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef TRYON_HAVE_WEBP
#include <webp/encode.h>
#include <webp/mux.h>
#endif

/* dst = src turned by deg about the vertical axis through x = z = 0 (positions and normals;
   uv and triangles copied). dst is allocated (avatar_mesh_free). */
static enum tryon_status mesh_turn(const struct avatar_mesh *src, float deg, struct avatar_mesh *dst)
{
    memset(dst, 0, sizeof *dst);
    size_t nv = (size_t)src->nv, nt = (size_t)src->nt;
    dst->nv = src->nv, dst->nt = src->nt;
    dst->pos = malloc(nv * 3 * sizeof *dst->pos);
    dst->nrm = src->nrm ? malloc(nv * 3 * sizeof *dst->nrm) : NULL;
    dst->uv = src->uv ? malloc(nv * 2 * sizeof *dst->uv) : NULL;
    dst->tri = malloc(nt * 3 * sizeof *dst->tri);
    if (!dst->pos || (src->nrm && !dst->nrm) || (src->uv && !dst->uv) || !dst->tri) {
        avatar_mesh_free(dst);
        return tryon_fail(TRYON_ENOMEM, "worker: out of memory for a turned view");
    }
    double a = (double)deg * M_PI / 180.0;
    float c = (float)cos(a), s = (float)sin(a);
    for (size_t i = 0; i < nv; i++) {
        const float *p = src->pos + i * 3;
        dst->pos[i * 3] = c * p[0] + s * p[2];
        dst->pos[i * 3 + 1] = p[1];
        dst->pos[i * 3 + 2] = -s * p[0] + c * p[2];
        if (dst->nrm) {
            const float *n = src->nrm + i * 3;
            dst->nrm[i * 3] = c * n[0] + s * n[2];
            dst->nrm[i * 3 + 1] = n[1];
            dst->nrm[i * 3 + 2] = -s * n[0] + c * n[2];
        }
    }
    if (dst->uv)
        memcpy(dst->uv, src->uv, nv * 2 * sizeof *dst->uv);
    memcpy(dst->tri, src->tri, nt * 3 * sizeof *dst->tri);
    return TRYON_OK;
}

enum tryon_status worker_render_look(struct worker *w, const struct worker_look *l, float view_deg, struct rt_film *film,
                                     double *t_denoise)
{
    const struct worker_settings *ws = worker_settings(w);
    struct rt_studio studio;
    rt_studio_default(&studio);
    struct rt_settings set = worker_rt_settings(ws->spp, ws->max_depth, l->seed, ws->threads);
    set.noise_threshold = ws->noise_threshold;
    set.crop = ws->crop;
    enum tryon_status s;
    if (view_deg == 0.0f) {
        const struct avatar_mesh *meshes[2] = {l->body, l->garment};
        s = worker_render_meshes(w, meshes, l->mats, 2, &l->cam, &studio, l->bmin, l->bmax, &set, film);
    } else {
        /* the subject turns by -view_deg: the camera's orbit the other way */
        struct avatar_mesh turned[2];
        if ((s = mesh_turn(l->body, -view_deg, &turned[0])))
            return s;
        if ((s = mesh_turn(l->garment, -view_deg, &turned[1]))) {
            avatar_mesh_free(&turned[0]);
            return s;
        }
        const struct avatar_mesh *meshes[2] = {&turned[0], &turned[1]};
        s = worker_render_meshes(w, meshes, l->mats, 2, &l->cam, &studio, l->bmin, l->bmax, &set, film);
        avatar_mesh_free(&turned[0]);
        avatar_mesh_free(&turned[1]);
    }
    struct worker_denoiser *den = worker_denoiser_of(w);
    double t0 = time_now();
    if (s == TRYON_OK && den && (s = worker_denoise_film(den, film)))
        rt_film_free(film);
    if (t_denoise)
        *t_denoise = den ? time_now() - t0 : 0.0;
    return s;
}

enum tryon_status worker_views_write(struct worker *w, const struct worker_pair *p, const struct worker_look *l,
                                     const struct img8 *front, int n, bool turntable, char turntable_rel[256])
{
    const struct worker_settings *ws = worker_settings(w);
    turntable_rel[0] = 0;
    struct worker_webp *anim = NULL;
    enum tryon_status s = TRYON_OK;
    if (turntable && (s = worker_webp_begin(front->w, front->h, WORKER_TURN_MS / n, &anim)))
        return s;
    for (int k = 0; k < n && s == TRYON_OK; k++) {
        struct img8 im = {0};
        const struct img8 *frame = front;
        if (k > 0) {
            struct rt_film film = {0};
            s = worker_render_look(w, l, 360.0f * (float)k / (float)n, &film, NULL);
            if (s == TRYON_OK)
                s = rt_film_to_rgba8(&film, 1.0f, &im);
            rt_film_free(&film);
            frame = &im;
        }
        char name[160];
        snprintf(name, sizeof name, "%s/%d.png", p->garment_id, k);
        if (s == TRYON_OK)
            s = worker_write_png(ws->out_dir, "views", p->person_id, name, frame, NULL, NULL);
        if (s == TRYON_OK && anim)
            s = worker_webp_add(anim, frame);
        img8_free(&im);
    }
    if (s || !anim) {
        worker_webp_free(anim);
        return s;
    }
    uint8_t *data;
    size_t len;
    if ((s = worker_webp_end(anim, &data, &len)))
        return s;
    char rel[256], path[PATH_MAX];
    snprintf(rel, sizeof rel, "views/%s/%s.webp", p->person_id, p->garment_id);
    if (!(s = fs_join(path, sizeof path, ws->out_dir, rel)) && !(s = fs_mkdirs_parent(path)) &&
        !(s = fs_write_atomic(path, data, len)))
        snprintf(turntable_rel, 256, "%s", rel);
    free(data);
    return s;
}

#ifdef TRYON_HAVE_WEBP
struct worker_webp {
    WebPAnimEncoder *enc;
    WebPConfig config;
    int w, h, frame_ms;
    int n;                 /* frames added */
};

bool worker_has_webp(void) { return true; }

enum tryon_status worker_webp_begin(int width, int height, int frame_ms, struct worker_webp **out)
{
    *out = NULL;
    if (width < 1 || height < 1 || width > WEBP_MAX_DIMENSION || height > WEBP_MAX_DIMENSION || frame_ms < 1)
        return tryon_fail(TRYON_EINVAL, "webp: %dx%d frames shown %d ms cannot be encoded", width, height, frame_ms);
    struct worker_webp *a = calloc(1, sizeof *a);
    if (!a)
        return tryon_fail(TRYON_ENOMEM, "webp: out of memory");
    WebPAnimEncoderOptions opt;
    if (!WebPAnimEncoderOptionsInit(&opt) || !WebPConfigInit(&a->config)) {
        free(a);
        return tryon_fail(TRYON_EUNSUPPORTED, "webp: the libwebp library does not match its headers");
    }
    opt.anim_params.loop_count = 0;   /* forever */
    opt.anim_params.bgcolor = 0x00000000;
    opt.minimize_size = 0;
    opt.allow_mixed = 0;
    a->config.quality = WORKER_WEBP_QUALITY;
    a->config.method = 4;
    a->config.thread_level = 0;
    a->config.alpha_quality = 100;
    a->enc = WebPAnimEncoderNew(width, height, &opt);
    if (!a->enc) {
        free(a);
        return tryon_fail(TRYON_ENOMEM, "webp: cannot create the animation encoder");
    }
    a->w = width, a->h = height, a->frame_ms = frame_ms;
    *out = a;
    return TRYON_OK;
}

enum tryon_status worker_webp_add(struct worker_webp *a, const struct img8 *frame)
{
    if (frame->w != a->w || frame->h != a->h || frame->c != 4)
        return tryon_fail(TRYON_EINVAL, "webp: a %dx%dx%d frame in a %dx%d RGBA animation", frame->w, frame->h,
                          frame->c, a->w, a->h);
    WebPPicture pic;
    if (!WebPPictureInit(&pic))
        return tryon_fail(TRYON_EUNSUPPORTED, "webp: the libwebp library does not match its headers");
    pic.width = a->w, pic.height = a->h, pic.use_argb = 1;
    enum tryon_status s = TRYON_OK;
    if (!WebPPictureImportRGBA(&pic, frame->px, a->w * 4))
        s = tryon_fail(TRYON_ENOMEM, "webp: out of memory for a frame");
    else if (!WebPAnimEncoderAdd(a->enc, &pic, a->n * a->frame_ms, &a->config))
        s = tryon_fail(TRYON_EIO, "webp: frame %d: %s", a->n, WebPAnimEncoderGetError(a->enc));
    WebPPictureFree(&pic);
    a->n += s == TRYON_OK;
    return s;
}

enum tryon_status worker_webp_end(struct worker_webp *a, uint8_t **data, size_t *len)
{
    *data = NULL, *len = 0;
    WebPData out;
    WebPDataInit(&out);
    enum tryon_status s = TRYON_OK;
    if (!WebPAnimEncoderAdd(a->enc, NULL, a->n * a->frame_ms, NULL) || !WebPAnimEncoderAssemble(a->enc, &out))
        s = tryon_fail(TRYON_EIO, "webp: %s", WebPAnimEncoderGetError(a->enc));
    else if (!(*data = malloc(out.size)))
        s = tryon_fail(TRYON_ENOMEM, "webp: out of memory");
    else
        memcpy(*data, out.bytes, *len = out.size);
    WebPDataClear(&out);
    worker_webp_free(a);
    return s;
}

void worker_webp_free(struct worker_webp *a)
{
    if (!a)
        return;
    WebPAnimEncoderDelete(a->enc);
    free(a);
}
#else
struct worker_webp { int unused; };

bool worker_has_webp(void) { return false; }

enum tryon_status worker_webp_begin(int width, int height, int frame_ms, struct worker_webp **out)
{
    (void)width, (void)height, (void)frame_ms;
    *out = NULL;
    return tryon_fail(TRYON_EUNSUPPORTED, "turntables need libwebp: this build was configured without it "
                      "(install libwebp-dev, e.g. scripts/install-deps.sh, and configure again)");
}

enum tryon_status worker_webp_add(struct worker_webp *a, const struct img8 *frame)
{
    (void)a, (void)frame;
    return TRYON_EUNSUPPORTED;
}

enum tryon_status worker_webp_end(struct worker_webp *a, uint8_t **data, size_t *len)
{
    (void)a;
    *data = NULL, *len = 0;
    return TRYON_EUNSUPPORTED;
}

void worker_webp_free(struct worker_webp *a) { (void)a; }
#endif
