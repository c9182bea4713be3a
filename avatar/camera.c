/* camera.c: the studio photo camera person photos are assumed to come from, projection of
 * points into an image of any size, and a silhouette rasterizer (pixel-centre coverage),
 * which the person estimator uses for analysis by synthesis and tests use for inputs. */
#include "avatar/internal.h"

#include <math.h>
#include <string.h>

void avatar_photo_camera(struct avatar_photo_camera *c)
{
    const float eye[3] = {0.0f, 0.95f, 5.0f}, target[3] = {0.0f, 0.95f, 0.0f}, up[3] = {0.0f, 1.0f, 0.0f};
    memcpy(c->eye, eye, sizeof eye);
    memcpy(c->target, target, sizeof target);
    memcpy(c->up, up, sizeof up);
    c->vfov_deg = 27.0f;
}

/* The studio camera's focal length in pixels for an image h rows tall. */
static float studio_focal(float h)
{
    struct avatar_photo_camera c;
    avatar_photo_camera(&c);
    return 0.5f * h / tanf(c.vfov_deg * (float)M_PI / 360.0f);
}

float avatar_studio_stature(float h, float top, float bottom)
{
    struct avatar_photo_camera c;
    avatar_photo_camera(&c);
    const float f = studio_focal(h), cy = 0.5f * h;
    if (!(bottom > cy))
        return NAN;
    float depth = c.eye[1] * f / (bottom - cy) + AVATAR_STUDIO_TOE_M;
    return c.eye[1] + (cy - top) * depth / f;
}

void avatar_studio_rows(float h, float stature_m, float *top, float *bottom)
{
    struct avatar_photo_camera c;
    avatar_photo_camera(&c);
    const float f = studio_focal(h), cy = 0.5f * h, depth = c.eye[2] - c.target[2];
    *bottom = cy + f * c.eye[1] / (depth - AVATAR_STUDIO_TOE_M);
    *top = cy - f * (stature_m - c.eye[1]) / depth;
}

/* Orthonormal camera basis and focal length in pixels. */
struct cam_basis { float eye[3], right[3], up[3], fwd[3]; float focal_px, cx, cy; };

static void normalize3(float v[3])
{
    float l = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (l > 0)
        v[0] /= l, v[1] /= l, v[2] /= l;
}

static void basis_init(const struct avatar_photo_camera *c, int w, int h, struct cam_basis *b)
{
    for (int k = 0; k < 3; k++) {
        b->eye[k] = c->eye[k];
        b->fwd[k] = c->target[k] - c->eye[k];
    }
    normalize3(b->fwd);
    /* right = fwd x up, up' = right x fwd */
    b->right[0] = b->fwd[1] * c->up[2] - b->fwd[2] * c->up[1];
    b->right[1] = b->fwd[2] * c->up[0] - b->fwd[0] * c->up[2];
    b->right[2] = b->fwd[0] * c->up[1] - b->fwd[1] * c->up[0];
    normalize3(b->right);
    b->up[0] = b->right[1] * b->fwd[2] - b->right[2] * b->fwd[1];
    b->up[1] = b->right[2] * b->fwd[0] - b->right[0] * b->fwd[2];
    b->up[2] = b->right[0] * b->fwd[1] - b->right[1] * b->fwd[0];
    b->focal_px = 0.5f * (float)h / tanf(c->vfov_deg * (float)M_PI / 360.0f);
    b->cx = 0.5f * (float)w;
    b->cy = 0.5f * (float)h;
}

static bool project(const struct cam_basis *b, const float p[3], const float off[3], float px[2])
{
    float d[3];
    for (int k = 0; k < 3; k++)
        d[k] = p[k] + (off ? off[k] : 0.0f) - b->eye[k];
    float z = d[0] * b->fwd[0] + d[1] * b->fwd[1] + d[2] * b->fwd[2];
    if (!(z > 1e-4f))
        return false;
    float x = d[0] * b->right[0] + d[1] * b->right[1] + d[2] * b->right[2];
    float y = d[0] * b->up[0] + d[1] * b->up[1] + d[2] * b->up[2];
    px[0] = b->cx + b->focal_px * x / z;
    px[1] = b->cy - b->focal_px * y / z;
    return true;
}

bool avatar_camera_project(const struct avatar_photo_camera *c, int w, int h, const float p[3], float px[2])
{
    struct cam_basis b;
    basis_init(c, w, h, &b);
    return project(&b, p, NULL, px);
}

void av_render_silhouette_off(const float *pos, const int32_t *tri, int nt, const float offset[3],
                              const struct avatar_photo_camera *c, int w, int h, uint8_t *mask)
{
    memset(mask, 0, (size_t)w * h);
    struct cam_basis b;
    basis_init(c, w, h, &b);
    for (int t = 0; t < nt; t++) {
        float v[3][2];
        const int32_t *f = tri + (size_t)t * 3;
        if (!project(&b, pos + (size_t)f[0] * 3, offset, v[0]) || !project(&b, pos + (size_t)f[1] * 3, offset, v[1]) ||
            !project(&b, pos + (size_t)f[2] * 3, offset, v[2]))
            continue;
        float area = (v[1][0] - v[0][0]) * (v[2][1] - v[0][1]) - (v[1][1] - v[0][1]) * (v[2][0] - v[0][0]);
        if (area == 0.0f)
            continue;
        if (area < 0) {   /* make the winding positive so "inside" is all edge functions >= 0 */
            float tx = v[1][0], ty = v[1][1];
            v[1][0] = v[2][0], v[1][1] = v[2][1];
            v[2][0] = tx, v[2][1] = ty;
        }
        float xmin = fminf(v[0][0], fminf(v[1][0], v[2][0])), xmax = fmaxf(v[0][0], fmaxf(v[1][0], v[2][0]));
        float ymin = fminf(v[0][1], fminf(v[1][1], v[2][1])), ymax = fmaxf(v[0][1], fmaxf(v[1][1], v[2][1]));
        /* pixel centres i + 0.5 inside [min, max] */
        int i0 = (int)ceilf(xmin - 0.5f), i1 = (int)floorf(xmax - 0.5f);
        int j0 = (int)ceilf(ymin - 0.5f), j1 = (int)floorf(ymax - 0.5f);
        if (i0 < 0)
            i0 = 0;
        if (j0 < 0)
            j0 = 0;
        if (i1 > w - 1)
            i1 = w - 1;
        if (j1 > h - 1)
            j1 = h - 1;
        for (int j = j0; j <= j1; j++) {
            float py = (float)j + 0.5f;
            uint8_t *row = mask + (size_t)j * w;
            for (int i = i0; i <= i1; i++) {
                float px = (float)i + 0.5f;
                bool in = true;
                for (int e = 0; e < 3 && in; e++) {
                    const float *a = v[e], *bb = v[(e + 1) % 3];
                    in = (bb[0] - a[0]) * (py - a[1]) - (bb[1] - a[1]) * (px - a[0]) >= 0.0f;
                }
                if (in)
                    row[i] = 255;
            }
        }
    }
}

void avatar_render_silhouette(const struct avatar_mesh *m, const struct avatar_photo_camera *c, int w, int h,
                              uint8_t *mask)
{
    av_render_silhouette_off(m->pos, m->tri, m->nt, NULL, c, w, h, mask);
}
