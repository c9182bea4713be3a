/* fitmap.c: the `fit` AOV's texture: the draped garment's per-vertex strain painted into
 * its UV atlas, so a cheap second render shows where the garment pulls (red), lies at rest
 * (green) or gathers (blue) from the camera's view.
 *
 * Colour scale (linear RGB albedo): strain -FIT_RANGE or less -> blue, 0 -> green,
 * +FIT_RANGE or more -> red, linear in between. Triangles are rasterized in uv space with
 * the colour interpolated barycentrically; texels no triangle covers stay grey.
 */
#include <math.h>
#include <stdlib.h>

#include "worker/internal.h"

#define FIT_RANGE 0.05f   /* +-5% strain spans the scale */

static void strain_colour(float e, float c[3])
{
    float t = fminf(fmaxf(e / FIT_RANGE, -1.0f), 1.0f);
    if (t >= 0)
        c[0] = t, c[1] = 1.0f - t, c[2] = 0.0f;
    else
        c[0] = 0.0f, c[1] = 1.0f + t, c[2] = -t;
    for (int k = 0; k < 3; k++)
        c[k] = 0.05f + 0.75f * c[k];
}

enum tryon_status worker_fit_texture(const struct avatar_mesh *m, const float *strain, int size, struct imgf *out)
{
    enum tryon_status s = imgf_alloc(out, size, size, 3);
    if (s)
        return s;
    for (size_t i = 0; i < (size_t)size * size * 3; i++)
        out->px[i] = 0.2f;
    if (!m->uv)
        return TRYON_OK;
    for (int f = 0; f < m->nt; f++) {
        const int32_t *t = m->tri + (size_t)f * 3;
        float u[3], v[3], col[3][3];
        for (int k = 0; k < 3; k++) {
            u[k] = m->uv[(size_t)t[k] * 2] * size;
            v[k] = (1.0f - m->uv[(size_t)t[k] * 2 + 1]) * size;   /* row 0 = v 1 */
            strain_colour(strain[t[k]], col[k]);
        }
        float den = (v[1] - v[2]) * (u[0] - u[2]) + (u[2] - u[1]) * (v[0] - v[2]);
        if (fabsf(den) < 1e-12f)
            continue;
        int x0 = (int)fmaxf(floorf(fminf(u[0], fminf(u[1], u[2]))), 0);
        int x1 = (int)fminf(ceilf(fmaxf(u[0], fmaxf(u[1], u[2]))), size - 1);
        int y0 = (int)fmaxf(floorf(fminf(v[0], fminf(v[1], v[2]))), 0);
        int y1 = (int)fminf(ceilf(fmaxf(v[0], fmaxf(v[1], v[2]))), size - 1);
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                float px = x + 0.5f, py = y + 0.5f;
                float a = ((v[1] - v[2]) * (px - u[2]) + (u[2] - u[1]) * (py - v[2])) / den;
                float b = ((v[2] - v[0]) * (px - u[2]) + (u[0] - u[2]) * (py - v[2])) / den;
                float c = 1.0f - a - b;
                const float eps = -0.02f;   /* a little past the edges: no seams of grey */
                if (a < eps || b < eps || c < eps)
                    continue;
                for (int k = 0; k < 3; k++)
                    out->px[((size_t)y * size + x) * 3 + k] = a * col[0][k] + b * col[1][k] + c * col[2][k];
            }
    }
    return TRYON_OK;
}
