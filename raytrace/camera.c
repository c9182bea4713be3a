/* camera.c: the pinhole camera: its orthonormal basis, framing a box, and projecting
 * points to pixels.
 *
 * Conventions: the image plane at distance 1 along the view direction spans
 * [-tan_x, tan_x] x [-tan_y, tan_y], tan_y = tan(vfov/2), tan_x = tan_y * width/height;
 * pixel x grows to the right, pixel y grows downwards (row 0 = top).
 */
#include <assert.h>

#include "raytrace/rt_internal.h"

#define RT_FRAME_VFOV_DEG 30.0f

bool rt_cam_basis_init(const struct rt_camera *cam, struct rt_cam_basis *b)
{
    if (cam->width <= 0 || cam->height <= 0 || !(cam->vfov_deg > 0.0f && cam->vfov_deg < 179.0f))
        return false;
    v3_copy(b->eye, cam->eye);
    v3_sub(b->fwd, cam->target, cam->eye);
    if (!(v3_normalize(b->fwd) > 0.0f))
        return false;
    v3_cross(b->right, b->fwd, cam->up);
    if (!(v3_normalize(b->right) > 1e-6f * v3_len(cam->up)) || !isfinite(b->right[0]))
        return false;
    v3_cross(b->up, b->right, b->fwd);
    b->tan_y = tanf(cam->vfov_deg * (float)M_PI / 360.0f);
    b->tan_x = b->tan_y * (float)cam->width / (float)cam->height;
    b->w = cam->width;
    b->h = cam->height;
    return true;
}

void rt_camera_frame(const float bmin[3], const float bmax[3], int width, int height, float margin,
                     struct rt_camera *out)
{
    assert(width > 0 && height > 0);
    if (!(margin >= 0.0f))
        margin = 0.0f;
    if (margin > 0.45f)
        margin = 0.45f;
    float c[3], half[3];
    for (int k = 0; k < 3; k++) {
        c[k] = 0.5f * (bmin[k] + bmax[k]);
        half[k] = 0.5f * (bmax[k] - bmin[k]);
        if (half[k] < 0.0f)
            half[k] = 0.0f;
    }
    /* A corner (dx, dy, dz) seen from eye = c + (0, 0, D) sits at depth D - dz and
       projects to ndc y = dy / ((D - dz) tan_y); the worst corners are on the near face
       (dz = +half_z) with |dy| = half_y, so |ndc| <= 1 - 2 margin needs
       D >= half_y / (tan_y (1 - 2 margin)) + half_z, and likewise for x with tan_x. */
    float tan_y = tanf(RT_FRAME_VFOV_DEG * (float)M_PI / 360.0f);
    float tan_x = tan_y * (float)width / (float)height;
    float fill = 1.0f - 2.0f * margin;
    float d = fmaxf(half[1] / (tan_y * fill), half[0] / (tan_x * fill));
    float size = fmaxf(fmaxf(half[0], half[1]), half[2]);
    d = fmaxf(d, 1e-3f * (1.0f + size)) + half[2];
    v3_set(out->eye, c[0], c[1], c[2] + d);
    v3_copy(out->target, c);
    v3_set(out->up, 0.0f, 1.0f, 0.0f);
    out->vfov_deg = RT_FRAME_VFOV_DEG;
    out->width = width;
    out->height = height;
}

bool rt_camera_project(const struct rt_camera *cam, const float p[3], float *px, float *py)
{
    struct rt_cam_basis b;
    if (!rt_cam_basis_init(cam, &b))
        return false;
    float d[3];
    v3_sub(d, p, b.eye);
    float z = v3_dot(d, b.fwd);
    if (!(z > 0.0f))
        return false;
    float nx = v3_dot(d, b.right) / (z * b.tan_x);
    float ny = v3_dot(d, b.up) / (z * b.tan_y);
    *px = 0.5f * (nx + 1.0f) * (float)b.w;
    *py = 0.5f * (1.0f - ny) * (float)b.h;
    return true;
}
