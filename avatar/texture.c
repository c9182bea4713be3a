/* texture.c: the garment's UV atlas texture from its product photo.
 *
 * The atlas's front panel (u in [0, 0.5)) is the garment's front orthographic view over
 * its bounds (avatar.h). The template of the estimated garment on the default body (the
 * product-photo template frame) gives each landmark's position in that view; a thin-plate
 * spline fitted to those positions -> the photo's landmarks (plus the four corners of the
 * view -> the corners of the mask's bounding box, which pin the overall framing) maps every
 * front texel into the photo, where the photo is sampled bilinearly if the (bilinearly
 * sampled) mask covers it: the garment's own colours only, never the backdrop's along its
 * outline (garment_colours). Colours are linear RGB divided by the studio light measured on
 * the white backdrop beside the garment (as avatar_estimate_garment's colour). Texels
 * outside the mask and the whole back panel get the dominant colour of the covered front
 * texels (the print's ground colour); the back panel too, unless a completion of the back
 * is given (avatar_garment_texture_back: the worker's back-texture generator): a square
 * patch of the back's print of known side in metres, laid over the back view in mirrored
 * repeats (a print's stripes, checks and dots continue across a mirrored seam), sampled
 * bilinearly.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TPS_MAX (AVATAR_LM_N + 4)
#define TPS_LAMBDA 1e-4   /* regularisation (in units of the view's size squared) */

/* Thin-plate spline from n points src (view coordinates in [0,1]^2) to dst (photo px):
   f(p) = a0 + a1 x + a2 y + sum_i w_i U(|p - src_i|), U(r) = r^2 log r^2. coef is
   (n+3, 2): w_0..w_{n-1}, a0, a1, a2 per output. False when the system is singular. */
struct tps { int n; double src[TPS_MAX][2], coef[TPS_MAX + 3][2]; };

static double tps_u(double r2) { return r2 > 1e-20 ? r2 * log(r2) : 0.0; }

static bool tps_fit(struct tps *t, int n, const double src[][2], const double dst[][2])
{
    int m = n + 3;
    double a[TPS_MAX + 3][TPS_MAX + 3 + 2];
    memset(a, 0, sizeof a);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double dx = src[i][0] - src[j][0], dy = src[i][1] - src[j][1];
            a[i][j] = tps_u(dx * dx + dy * dy) + (i == j ? TPS_LAMBDA : 0.0);
        }
        a[i][n] = a[n][i] = 1.0;
        a[i][n + 1] = a[n + 1][i] = src[i][0];
        a[i][n + 2] = a[n + 2][i] = src[i][1];
        a[i][m] = dst[i][0];
        a[i][m + 1] = dst[i][1];
    }
    for (int c = 0; c < m; c++) {   /* Gaussian elimination with partial pivoting */
        int p = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        if (fabs(a[p][c]) < 1e-12)
            return false;
        if (p != c)
            for (int k = 0; k < m + 2; k++) {
                double tmp = a[c][k];
                a[c][k] = a[p][k], a[p][k] = tmp;
            }
        for (int r = 0; r < m; r++) {
            if (r == c || a[r][c] == 0.0)
                continue;
            double f = a[r][c] / a[c][c];
            for (int k = c; k < m + 2; k++)
                a[r][k] -= f * a[c][k];
        }
    }
    t->n = n;
    memcpy(t->src, src, (size_t)n * sizeof src[0]);
    for (int r = 0; r < m; r++)
        for (int k = 0; k < 2; k++)
            t->coef[r][k] = a[r][m + k] / a[r][r];
    return true;
}

static void tps_eval(const struct tps *t, double x, double y, double out[2])
{
    for (int k = 0; k < 2; k++)
        out[k] = t->coef[t->n][k] + t->coef[t->n + 1][k] * x + t->coef[t->n + 2][k] * y;
    for (int i = 0; i < t->n; i++) {
        double dx = x - t->src[i][0], dy = y - t->src[i][1], u = tps_u(dx * dx + dy * dy);
        out[0] += t->coef[i][0] * u;
        out[1] += t->coef[i][1] * u;
    }
}

/* Bilinear sample at continuous pixel coordinates (pixel centres at +0.5) of a w x h
   single-channel byte image (0 outside), scaled to [0,1]. */
static float sample_mask(const uint8_t *mask, int w, int h, double x, double y)
{
    double fx = x - 0.5, fy = y - 0.5;
    int x0 = (int)floor(fx), y0 = (int)floor(fy);
    double tx = fx - x0, ty = fy - y0, acc = 0;
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            int xi = x0 + i, yj = y0 + j;
            if (xi < 0 || yj < 0 || xi >= w || yj >= h)
                continue;
            acc += (i ? tx : 1 - tx) * (j ? ty : 1 - ty) * mask[(size_t)yj * w + xi] / 255.0;
        }
    return (float)acc;
}

/* The photo's colours for the texture, free of the backdrop: linear RGB (w x h x 3) where
   only the garment's inner pixels (the mask eroded by one pixel: an edge pixel is a blend
   of garment and backdrop) keep their own colour, and the BLEED_RINGS rings of pixels
   around them take the mean of their already-filled 8-neighbours, ring by ring. A texel the
   (bilinear) mask covers lies within a pixel of the mask, so none of its four bilinear taps
   is a backdrop colour: a product photo on white leaves no white along the garment's
   outline. Pixels farther out stay 0 and are never sampled. NULL when out of memory. */
#define BLEED_RINGS 3
static float *garment_colours(const struct img8 *im, const uint8_t *mask)
{
    const int w = im->w, h = im->h;
    size_t n = (size_t)w * h;
    float *lin = calloc(n * 3, sizeof *lin);
    uint8_t *known = calloc(n, 1), *next = malloc(n);
    if (!lin || !known || !next) {
        free(lin), free(known), free(next);
        return NULL;
    }
    size_t inner = 0;
    for (int pass = 0; pass < 2 && !inner; pass++)   /* a garment too thin to erode keeps its edge */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                bool in = mask[i] && (pass || (x > 0 && mask[i - 1] && x + 1 < w && mask[i + 1] && y > 0 &&
                                               mask[i - w] && y + 1 < h && mask[i + w]));
                if (!in)
                    continue;
                const uint8_t *p = im->px + i * im->c;
                for (int c = 0; c < 3; c++)
                    lin[i * 3 + c] = img_srgb_to_linear((float)p[im->c >= 3 ? c : 0] / 255.0f);
                known[i] = 1;
                inner++;
            }
    for (int r = 0; r < BLEED_RINGS; r++) {
        memcpy(next, known, n);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                if (known[i])
                    continue;
                float acc[3] = {0, 0, 0};
                int k = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int xx = x + dx, yy = y + dy;
                        if (xx < 0 || yy < 0 || xx >= w || yy >= h || !known[(size_t)yy * w + xx])
                            continue;
                        for (int c = 0; c < 3; c++)
                            acc[c] += lin[((size_t)yy * w + xx) * 3 + c];
                        k++;
                    }
                if (!k)
                    continue;
                for (int c = 0; c < 3; c++)
                    lin[i * 3 + c] = acc[c] / (float)k;
                next[i] = 1;
            }
        memcpy(known, next, n);
    }
    free(known), free(next);
    return lin;
}

/* Bilinear sample of garment_colours' image (w x h x 3, clamped at the border). */
static void sample_photo(const float *lin, int w, int h, double x, double y, float rgb[3])
{
    double fx = x - 0.5, fy = y - 0.5;
    int x0 = (int)floor(fx), y0 = (int)floor(fy);
    double tx = fx - x0, ty = fy - y0;
    double acc[3] = {0, 0, 0};
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            int xi = x0 + i, yj = y0 + j;
            xi = xi < 0 ? 0 : xi >= w ? w - 1 : xi;
            yj = yj < 0 ? 0 : yj >= h ? h - 1 : yj;
            double wgt = (i ? tx : 1 - tx) * (j ? ty : 1 - ty);
            for (int c = 0; c < 3; c++)
                acc[c] += wgt * lin[((size_t)yj * w + xi) * 3 + c];
        }
    for (int c = 0; c < 3; c++)
        rgb[c] = (float)acc[c];
}

/* Bilinear sample of patch (c = 3, row 0 = top) at metres (x, y from the bottom-left) of a
   side_m square repeated in mirror image. */
static void sample_patch(const struct imgf *p, float side_m, float x, float y, float rgb[3])
{
    float q[2] = {x / side_m, 1.0f - y / side_m};   /* patch units, row axis down */
    for (int k = 0; k < 2; k++) {
        float f = fmodf(fabsf(q[k]), 2.0f);
        q[k] = f > 1.0f ? 2.0f - f : f;
    }
    float fx = q[0] * (float)p->w - 0.5f, fy = q[1] * (float)p->h - 0.5f;
    int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
    float ax = fx - (float)x0, ay = fy - (float)y0;
    for (int c = 0; c < 3; c++)
        rgb[c] = 0.0f;
    for (int k = 0; k < 4; k++) {
        int xi = x0 + (k & 1), yi = y0 + (k >> 1);
        xi = xi < 0 ? 0 : xi >= p->w ? p->w - 1 : xi;
        yi = yi < 0 ? 0 : yi >= p->h ? p->h - 1 : yi;
        float wgt = ((k & 1) ? ax : 1.0f - ax) * ((k >> 1) ? ay : 1.0f - ay);
        for (int c = 0; c < 3; c++)
            rgb[c] += wgt * p->px[((size_t)yi * p->w + xi) * 3 + c];
    }
}

enum tryon_status avatar_garment_texture(const struct avatar_model *m, const struct img8 *photo, const uint8_t *mask,
                                         const struct avatar_garment_est *g, int size, struct imgf *out)
{
    return avatar_garment_texture_back(m, photo, mask, g, size, NULL, 0.0f, out);
}

enum tryon_status avatar_garment_texture_back(const struct avatar_model *m, const struct img8 *photo,
                                              const uint8_t *mask, const struct avatar_garment_est *g, int size,
                                              const struct imgf *back, float back_side_m, struct imgf *out)
{
    memset(out, 0, sizeof *out);
    if (back && (back->c != 3 || back->w < 2 || back->h < 2 || !(back_side_m > 0.0f)))
        return tryon_fail(TRYON_EINVAL, "avatar: the back patch must be RGB, at least 2x2, with a positive side");
    if (size < 16 || size > 4096)
        return tryon_fail(TRYON_EINVAL, "avatar: texture size %d outside [16, 4096]", size);
    int nlm = 0;
    for (int l = 0; l < AVATAR_LM_N; l++)
        nlm += g->lm[l][0] >= 0.0f && g->lm[l][1] >= 0.0f;
    if (nlm < 3)
        return tryon_fail(TRYON_EINVAL, "avatar: the garment estimate has %d landmarks (3 needed for the texture)", nlm);
    int bb[4];
    if (!avatar_mask_bbox(mask, photo->w, photo->h, bb))
        return tryon_fail(TRYON_EINVAL, "avatar: the garment mask is empty");

    /* the template on the default body: its bounds (the atlas's view) and landmarks */
    struct avatar_body_params bp;
    struct avatar_mesh gm = {0};
    float lm3[AVATAR_LM_N][3];
    bool present[AVATAR_LM_N];
    enum tryon_status st = av_template_on_default_body(m, g, AVATAR_STYLE_GHOST, &bp, &gm);
    if (st == TRYON_OK)
        st = avatar_garment_landmarks_3d(m, &bp, g, lm3, present);
    float lo[3], hi[3];
    avatar_mesh_bounds(&gm, lo, hi);
    avatar_mesh_free(&gm);
    if (st)
        return st;

    double src[TPS_MAX][2], dst[TPS_MAX][2];
    int n = 0;
    const double corner[4][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
    for (int k = 0; k < 4; k++, n++) {
        src[n][0] = corner[k][0], src[n][1] = corner[k][1];
        dst[n][0] = corner[k][0] ? bb[2] + 1.0 : bb[0];
        dst[n][1] = corner[k][1] ? bb[1] : bb[3] + 1.0;
    }
    for (int l = 0; l < AVATAR_LM_N; l++) {
        if (!present[l] || g->lm[l][0] < 0.0f || g->lm[l][1] < 0.0f)
            continue;
        src[n][0] = (lm3[l][0] - lo[0]) / (hi[0] - lo[0]);
        src[n][1] = (lm3[l][1] - lo[1]) / (hi[1] - lo[1]);
        dst[n][0] = g->lm[l][0], dst[n][1] = g->lm[l][1];
        n++;
    }
    struct tps t;
    if (!tps_fit(&t, n, src, dst))
        return tryon_fail(TRYON_EINVAL, "avatar: the garment's landmarks are degenerate (thin-plate spline singular)");

    float white = av_backdrop_luminance(photo, mask, bb[1], bb[3]);
    float gain = white > 0.2f ? AV_PRODUCT_GAIN / white : 1.0f;
    st = imgf_alloc(out, size, size, 3);
    if (st)
        return st;
    int half = size / 2;
    uint8_t *covered = calloc((size_t)size * half, 1);
    float *lin = garment_colours(photo, mask);
    if (!covered || !lin) {
        free(covered), free(lin);
        imgf_free(out);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment texture");
    }
    /* front panel: texel (i, j), i < size/2; row j = 0 is the top (v = 1) */
    for (int j = 0; j < size; j++)
        for (int i = 0; i < half; i++) {
            double a = ((double)i + 0.5) / half, b = 1.0 - ((double)j + 0.5) / size, p[2];
            tps_eval(&t, a, b, p);
            if (sample_mask(mask, photo->w, photo->h, p[0], p[1]) < 0.5f)
                continue;
            float *o = out->px + ((size_t)j * size + i) * 3;
            sample_photo(lin, photo->w, photo->h, p[0], p[1], o);
            for (int c = 0; c < 3; c++)
                o[c] = fminf(o[c] * gain, 0.95f);
            covered[(size_t)j * half + i] = 1;
        }
    free(lin);
    /* the dominant colour of the covered front texels: a 8x8x8 histogram over sqrt(linear)
       (roughly perceptual steps), the fullest bin (the lowest index on a tie) and the mean
       of the texels in it. A print's ground colour wins over its stripes or dots, and never
       a blend of the two that the garment does not show (as a per-channel median would). */
    enum { LEVELS = 8, BINS = LEVELS * LEVELS * LEVELS };
    uint32_t *count = calloc(BINS, sizeof *count);
    double (*sum)[3] = calloc(BINS, sizeof *sum);
    if (!count || !sum) {
        free(covered), free(count), free(sum), imgf_free(out);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the garment texture");
    }
    for (int j = 0; j < size; j++)
        for (int i = 0; i < half; i++) {
            if (!covered[(size_t)j * half + i])
                continue;
            const float *o = out->px + ((size_t)j * size + i) * 3;
            int bin = 0;
            for (int c = 0; c < 3; c++) {
                int q = (int)(sqrtf(fmaxf(o[c], 0.0f)) * LEVELS);
                bin = bin * LEVELS + (q < LEVELS ? q : LEVELS - 1);
            }
            count[bin]++;
            for (int c = 0; c < 3; c++)
                sum[bin][c] += o[c];
        }
    int top = 0;
    for (int b = 1; b < BINS; b++)
        if (count[b] > count[top])
            top = b;
    float ground[3];
    for (int c = 0; c < 3; c++)
        ground[c] = count[top] ? (float)(sum[top][c] / count[top]) : g->color[c];
    free(count), free(sum);
    for (int j = 0; j < size; j++)
        for (int i = 0; i < size; i++) {
            if (i < half && covered[(size_t)j * half + i])
                continue;
            float *o = out->px + ((size_t)j * size + i) * 3;
            if (back && i >= half)   /* the back view spans the same bounds as the front */
                sample_patch(back, back_side_m, ((float)(i - half) + 0.5f) / (float)half * (hi[0] - lo[0]),
                             (1.0f - ((float)j + 0.5f) / (float)size) * (hi[1] - lo[1]), o);
            else
                memcpy(o, ground, sizeof ground);
        }
    free(covered);
    return TRYON_OK;
}
