/* denoise.c: the learned denoiser (models/denoiser.safetensors): a U-Net (configs/models/
 * denoiser.yaml, nn's unet template) trained by `tryon train` on renders the farm makes of
 * itself (`tryon synth` with `denoise:`, farm/shards.c), run on our own kernels.
 *
 * Its input is what worker_denoise_features computes from a film: everything in [0, 1], in
 * the display space the catalog looks at, so the loss weighs errors as a viewer would:
 *   0-2  the noisy radiance through the display curve (rt_tonemap, then sRGB)
 *   3-5  the first hit's albedo, sRGB-encoded
 *   6-8  the first hit's shading normal, (n + 1) / 2
 *   9    the pixel's sample count, log2(spp) / 10 (adaptive renders vary it per pixel)
 * The training shards store these as bytes (round(255 v)) and the network sees byte / 127.5
 * - 1; here it gets 2 v - 1 without the rounding. Its output, (y + 1) / 2, is the clean
 * display value; the film's radiance becomes its inverse through the display curve
 * (sRGB to linear, rt_tonemap_inverse), so the tone-mapped PNG shows the network's image.
 * Alpha and the other AOVs are left as rendered.
 *
 * The film is cut into DENOISE_CORE-pixel tiles; each is run with DENOISE_MARGIN pixels of
 * context on every side (edge pixels repeated beyond the film) and only its core is kept,
 * so the result does not depend on the tiling beyond what the margin cuts off of the
 * network's receptive field. The model is built once at the tile's input size
 * (nn_cfg_set_input_size: the weights are those trained on small patches). Inference runs
 * in eval mode on the worker's compute context: its bytes do not depend on the thread count. */
#include "worker/internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

#define DENOISE_CORE 256
#define DENOISE_MARGIN 32
#define DENOISE_SIDE (DENOISE_CORE + 2 * DENOISE_MARGIN)

struct worker_denoiser {
    struct nn_cfg *cfg;
    struct nn_model *m;
    struct kern_ctx *ctx;
    char name[NN_NAME_MAX];
    float *in, *out; /* host (C, SIDE, SIDE) and (3, SIDE, SIDE) */
};

static float display(float x) { return img_linear_to_srgb(fminf(rt_tonemap(x), 1.0f)); }

void worker_denoise_features(const struct rt_film *f, int x0, int y0, int w, int h, float *out)
{
    size_t plane = (size_t)w * h;
    for (int y = 0; y < h; y++) {
        int fy = y0 + y < 0 ? 0 : y0 + y >= f->h ? f->h - 1 : y0 + y;
        for (int x = 0; x < w; x++) {
            int fx = x0 + x < 0 ? 0 : x0 + x >= f->w ? f->w - 1 : x0 + x;
            size_t i = (size_t)fy * f->w + fx, o = (size_t)y * w + x;
            for (int c = 0; c < 3; c++) {
                out[c * plane + o] = display(f->rgb[i * 3 + c]);
                out[(3 + c) * plane + o] = img_linear_to_srgb(fminf(fmaxf(f->albedo[i * 3 + c], 0.0f), 1.0f));
                out[(6 + c) * plane + o] = fminf(fmaxf(0.5f * f->normal[i * 3 + c] + 0.5f, 0.0f), 1.0f);
            }
            float n = f->spp ? (float)f->spp[i] : 1.0f;
            out[9 * plane + o] = fminf(log2f(n > 1.0f ? n : 1.0f) / 10.0f, 1.0f);
        }
    }
}

void worker_denoiser_free(struct worker_denoiser *d)
{
    if (!d)
        return;
    nn_model_free(d->m);
    nn_cfg_free(d->cfg);
    free(d->in);
    free(d->out);
    free(d);
}

enum tryon_status worker_denoiser_load(const char *path, struct kern_ctx *ctx, struct worker_denoiser **out)
{
    *out = NULL;
    struct nn_st_file *f = NULL;
    enum tryon_status s = nn_st_read(path, 64u << 20, &f);
    if (s)
        return s;
    struct worker_denoiser *d = tryon_xcalloc(1, sizeof *d);
    d->ctx = ctx;
    const char *ver = nn_st_meta(f, "tryon_model_version"), *yaml = nn_st_meta(f, "model_yaml");
    if (!ver || strcmp(ver, NN_MODEL_VERSION))
        s = tryon_fail(TRYON_EFORMAT, "%s: model version %s, this build reads %s", path, ver ? ver : "(none)",
                       NN_MODEL_VERSION);
    else if (!yaml)
        s = tryon_fail(TRYON_EFORMAT, "%s: no model_yaml metadata", path);
    if (s == TRYON_OK)
        s = nn_cfg_from_string(yaml, path, &d->cfg);
    if (s == TRYON_OK && strcmp(d->cfg->kind, "unet"))
        s = tryon_fail(TRYON_EFORMAT, "%s: a %s model, not a unet", path, d->cfg->kind);
    if (s == TRYON_OK && (s = nn_cfg_set_input_size(d->cfg, DENOISE_SIDE, DENOISE_SIDE)))
        s = tryon_failctx(s, "%s", path);
    if (s == TRYON_OK)
        s = nn_model_create(d->cfg, ctx, 1, NN_MODE_INFER, &d->m);
    if (s == TRYON_OK)
        s = nn_model_load_st(d->m, f);
    int c = 0, h = 0, w = 0;
    if (s == TRYON_OK && (!nn_model_tensor_shape(d->m, "image", &c, &h, &w) || c != WORKER_DENOISE_CHANNELS ||
                          !nn_model_tensor_shape(d->m, "clean", &c, &h, &w) || c != 3))
        s = tryon_fail(TRYON_EFORMAT, "%s: the denoiser must take a %d-channel 'image' and give a 3-channel 'clean'",
                       path, WORKER_DENOISE_CHANNELS);
    nn_st_free(f);
    if (s) {
        worker_denoiser_free(d);
        return s;
    }
    snprintf(d->name, sizeof d->name, "%s", d->cfg->name);
    size_t plane = (size_t)DENOISE_SIDE * DENOISE_SIDE;
    d->in = tryon_xmalloc(plane * WORKER_DENOISE_CHANNELS * sizeof *d->in);
    d->out = tryon_xmalloc(plane * 3 * sizeof *d->out);
    *out = d;
    return TRYON_OK;
}

const char *worker_denoiser_name(const struct worker_denoiser *d) { return d->name; }

enum tryon_status worker_denoise_film(struct worker_denoiser *d, struct rt_film *f)
{
    size_t plane = (size_t)DENOISE_SIDE * DENOISE_SIDE;
    float *rgb = malloc((size_t)f->w * f->h * 3 * sizeof *rgb);   /* the result; the film's stays the input */
    if (!rgb)
        return tryon_fail(TRYON_ENOMEM, "denoise: out of memory for a %dx%d film", f->w, f->h);
    for (int ty = 0; ty < f->h; ty += DENOISE_CORE)
        for (int tx = 0; tx < f->w; tx += DENOISE_CORE) {
            worker_denoise_features(f, tx - DENOISE_MARGIN, ty - DENOISE_MARGIN, DENOISE_SIDE, DENOISE_SIDE, d->in);
            for (size_t i = 0; i < plane * WORKER_DENOISE_CHANNELS; i++)
                d->in[i] = 2.0f * d->in[i] - 1.0f;
            nn_model_set_input(d->m, "image", d->in, plane * WORKER_DENOISE_CHANNELS);
            nn_model_forward(d->m, 1, false);
            nn_model_get_output(d->m, "clean", d->out, plane * 3);
            int cw = f->w - tx < DENOISE_CORE ? f->w - tx : DENOISE_CORE;
            int ch = f->h - ty < DENOISE_CORE ? f->h - ty : DENOISE_CORE;
            for (int y = 0; y < ch; y++)
                for (int x = 0; x < cw; x++) {
                    size_t o = (size_t)(y + DENOISE_MARGIN) * DENOISE_SIDE + (size_t)(x + DENOISE_MARGIN);
                    size_t i = (size_t)(ty + y) * f->w + (size_t)(tx + x);
                    for (int c = 0; c < 3; c++) {
                        float v = fminf(fmaxf(0.5f * d->out[c * plane + o] + 0.5f, 0.0f), 1.0f);
                        rgb[i * 3 + c] = rt_tonemap_inverse(img_srgb_to_linear(v));
                    }
                }
        }
    memcpy(f->rgb, rgb, (size_t)f->w * f->h * 3 * sizeof *rgb);
    free(rgb);
    return TRYON_OK;
}
