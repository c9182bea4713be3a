/* sensor.c: what a real camera and its files do to a photo, for the synthetic training and
 * evaluation photos (`tryon synth`): our renderer's images are clean, a photographer's are
 * not. In the order light meets them: lens blur (a Gaussian of sigma blur_px pixels), sensor
 * noise (Gaussian, noise levels of 255 per channel, from its own seed), and a lossy codec's
 * 8x8 block artefacts (each channel's 8x8 blocks through a DCT whose coefficient (u, v) is
 * rounded to a step of blocking * (4 + 6 (u + v)) levels: blocking 1 keeps the blocks' mean
 * to 4 levels and flattens their fine detail, as a JPEG of low quality does). RGB only; an
 * alpha channel is left as it is. All three 0 leaves the image untouched. */
#include "worker/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Separable Gaussian blur of channel c of the w x h float image f (stride 3), edges clamped. */
static void blur_channel(float *f, float *tmp, int w, int h, float sigma)
{
    int r = (int)ceilf(3.0f * sigma);
    float k[64];
    r = r > 31 ? 31 : r;
    float sum = 0.0f;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] /= sum;
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float acc = 0.0f;
                for (int i = -r; i <= r; i++) {
                    int xx = pass ? x : x + i, yy = pass ? y + i : y;
                    xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
                    yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
                    acc += k[i + r] * f[((size_t)yy * w + xx) * 3];
                }
                tmp[(size_t)y * w + x] = acc;
            }
        for (size_t i = 0; i < (size_t)w * h; i++)
            f[i * 3] = tmp[i];
    }
}

/* The 8x8 DCT-II basis: cosine[u][x] = a(u) cos((2x + 1) u pi / 16), orthonormal. */
static void dct_basis(float cosine[8][8])
{
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            cosine[u][x] = (u ? sqrtf(0.25f) : sqrtf(0.125f)) * cosf((float)((2 * x + 1) * u) * (float)M_PI / 16.0f);
}

/* Channel 0 of f (stride 3) through the quantised 8x8 DCT, block by block (a partial block
   at the right or bottom edge is padded by repeating its last pixel, and only its own pixels
   written back). */
static void block_channel(float *f, int w, int h, float blocking, const float cosine[8][8])
{
    for (int by = 0; by < h; by += 8)
        for (int bx = 0; bx < w; bx += 8) {
            float b[8][8], c[8][8], t[8][8];
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) {
                    int xx = bx + x < w ? bx + x : w - 1, yy = by + y < h ? by + y : h - 1;
                    b[y][x] = f[((size_t)yy * w + xx) * 3];
                }
            for (int v = 0; v < 8; v++)   /* c = C b C^T, then rounded to the steps */
                for (int x = 0; x < 8; x++) {
                    float acc = 0.0f;
                    for (int y = 0; y < 8; y++)
                        acc += cosine[v][y] * b[y][x];
                    t[v][x] = acc;
                }
            for (int v = 0; v < 8; v++)
                for (int u = 0; u < 8; u++) {
                    float acc = 0.0f;
                    for (int x = 0; x < 8; x++)
                        acc += t[v][x] * cosine[u][x];
                    float step = blocking * (4.0f + 6.0f * (float)(u + v));
                    c[v][u] = step > 0.0f ? step * rintf(acc / step) : acc;
                }
            for (int y = 0; y < 8; y++)   /* b = C^T c C */
                for (int u = 0; u < 8; u++) {
                    float acc = 0.0f;
                    for (int v = 0; v < 8; v++)
                        acc += cosine[v][y] * c[v][u];
                    t[y][u] = acc;
                }
            for (int y = 0; y < 8 && by + y < h; y++)
                for (int x = 0; x < 8 && bx + x < w; x++) {
                    float acc = 0.0f;
                    for (int u = 0; u < 8; u++)
                        acc += t[y][u] * cosine[u][x];
                    f[((size_t)(by + y) * w + bx + x) * 3] = acc;
                }
        }
}

enum tryon_status worker_sensor_degrade(struct img8 *im, float blur_px, float noise, float blocking, uint64_t seed)
{
    if (!(blur_px > 0.0f) && !(noise > 0.0f) && !(blocking > 0.0f))
        return TRYON_OK;
    const int w = im->w, h = im->h;
    size_t n = (size_t)w * h;
    float *f = malloc(n * 3 * sizeof *f), *tmp = malloc(n * sizeof *tmp);
    if (!f || !tmp) {
        free(f), free(tmp);
        return tryon_fail(TRYON_ENOMEM, "synth: out of memory for the sensor degradations");
    }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            f[i * 3 + c] = (float)im->px[i * im->c + (im->c >= 3 ? c : 0)];
    float cosine[8][8];
    dct_basis(cosine);
    struct rng r;
    rng_seed(&r, seed ^ 0x73656e736f72ULL);
    for (int c = 0; c < 3; c++) {
        if (blur_px > 0.0f)
            blur_channel(f + c, tmp, w, h, blur_px);
        if (noise > 0.0f)
            for (size_t i = 0; i < n; i++)
                f[i * 3 + c] += noise * rng_normal(&r);
        if (blocking > 0.0f)
            block_channel(f + c, w, h, blocking, cosine);
    }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < (im->c >= 3 ? 3 : 1); c++) {
            float v = rintf(f[i * 3 + c]);
            im->px[i * im->c + c] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
        }
    free(f), free(tmp);
    return TRYON_OK;
}
