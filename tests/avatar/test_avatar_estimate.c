/* test_avatar_estimate.c: person estimation on silhouettes rendered from known bodies
 * through the photo camera (stature within 3 cm without a hint, exactly the hint with one,
 * phenotype near the truth, IoU, a photo from another camera with the hint (its height,
 * tilt and distance solved), a body standing off-centre, the full path through keyed
 * segmentation of a photo without alpha; the measurement round trip is test_avatar_fit.c),
 * the input errors, and garment estimation on
 * drawn masks (two legs -> trousers, a T shape -> top, hints, colour). */
#include <math.h>
#include <string.h>

#include "av_test_util.h"
#include "check.h"

#define PW 400
#define PH 600
/* The solved camera's height and tilt against the truth: they trade against each other to
   first order (a horizon a little lower is a camera a little higher or tilted a little
   more), so only the perspective of the body's own depth parts them; on this clean 600-px
   silhouette they come within 2 cm and 0.25 degrees. */
#define CAMERA_H_TOL 0.08
#define CAMERA_TILT_TOL 1.0

/* Render the body of (gender, weight, stature) translated by off into a PW x PH mask
   through camera c (NULL = the studio's). */
static void render_person_cam(const struct avatar_model *m, float gender, float weight, float stature,
                              const float off[3], const struct avatar_photo_camera *cam, uint8_t *mask)
{
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    p.ph.gender = gender, p.ph.weight = weight, p.stature_m = stature;
    struct avatar_mesh b;
    enum tryon_status s = avatar_body_build(m, &p, &b);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    for (int i = 0; i < b.nv; i++)
        for (int k = 0; k < 3; k++)
            b.pos[i * 3 + k] += off[k];
    struct avatar_photo_camera c;
    avatar_photo_camera(&c);
    avatar_render_silhouette(&b, cam ? cam : &c, PW, PH, mask);
    avatar_mesh_free(&b);
}

static void render_person(const struct avatar_model *m, float gender, float weight, float stature, const float off[3],
                          uint8_t *mask)
{
    render_person_cam(m, gender, weight, stature, off, NULL, mask);
}

/* Fill a polygon-free shape: rectangles in a mask. */
static void rect(uint8_t *mask, int w, int x0, int y0, int x1, int y1)
{
    for (int y = y0; y < y1; y++)
        memset(mask + (size_t)y * w + x0, 255, (size_t)(x1 - x0));
}

int main(void)
{
    struct avatar_model *m = NULL;
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_estimate");
    uint8_t *mask = malloc(PW * PH);
    struct img8 photo;
    img8_alloc(&photo, PW, PH, 4);
    const float zero[3] = {0, 0, 0};

    /* known bodies at the origin, no hint */
    const float cases[4][3] = {{0.5f, 0.5f, 1.70f}, {0.0f, 0.2f, 1.60f}, {1.0f, 0.8f, 1.88f}, {0.3f, 1.0f, 1.52f}};
    double times[4];
    for (int k = 0; k < 4; k++) {
        render_person(m, cases[k][0], cases[k][1], cases[k][2], zero, mask);
        struct avatar_person_est e;
        double t0 = time_now();
        s = avatar_estimate_person(m, &photo, mask, 0.0f, &e);
        times[k] = time_now() - t0;
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        fprintf(stderr, "truth g %.2f w %.2f %.3f m -> g %.3f w %.3f %.4f m, iou %.4f, %.0f px, %.0f ms\n", cases[k][0],
                cases[k][1], cases[k][2], e.body.ph.gender, e.body.ph.weight, e.stature_m, e.iou, e.silhouette_h_px,
                times[k] * 1e3);
        CHECK_NEAR(e.stature_m, cases[k][2], 0.03);
        CHECK_NEAR(e.body.stature_m, e.stature_m, 1e-6);
        /* muscle, age and proportions are searched too, so weight trades a little against
           muscle: phenotype within 0.2, the silhouette within IoU 0.97 */
        CHECK_NEAR(e.body.ph.gender, cases[k][0], 0.2);
        CHECK_NEAR(e.body.ph.weight, cases[k][1], 0.2);
        CHECK(e.iou > 0.97f);
        CHECK(e.silhouette_h_px > 300 && e.silhouette_h_px < 500);
        CHECK_NEAR(e.place[0], 0.0, 0.02);
        CHECK_NEAR(e.place[2], 0.0, 0.05);
        /* the estimate builds */
        struct avatar_mesh b;
        CHECK(avatar_body_build(m, &e.body, &b) == TRYON_OK);
        avatar_mesh_free(&b);
    }

    /* the height hint fixes the stature */
    render_person(m, 0.5f, 0.5f, 1.70f, zero, mask);
    struct avatar_person_est e;
    s = avatar_estimate_person(m, &photo, mask, 181.0f, &e);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK_NEAR(e.stature_m, 1.81, 1e-5);

    /* another camera: 1.35 m high, 4.5 m away, tilted 4 degrees down. With the hint the
       camera's height and distance are solved and its tilt searched; the figure is read
       through it (the studio camera reads the same silhouette as a 1.61 m body). */
    {
        struct avatar_photo_camera c;
        avatar_photo_camera(&c);
        c.eye[1] = 1.35f, c.eye[2] = 4.5f;
        c.target[1] = c.eye[1] - tanf(4.0f * (float)M_PI / 180.0f) * c.eye[2];
        render_person_cam(m, 0.3f, 0.6f, 1.74f, zero, &c, mask);
        s = avatar_estimate_person(m, &photo, mask, 174.0f, &e);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        float dist = e.camera.eye[2] - e.place[2];
        fprintf(stderr, "camera 1.35 m, -4 deg, 4.5 m: solved %.3f m, %.2f deg, %.2f m; g %.3f w %.3f, iou %.4f\n",
                e.camera.eye[1], e.camera_tilt_deg, dist, e.body.ph.gender, e.body.ph.weight, e.iou);
        CHECK(e.camera_solved);
        CHECK_NEAR(e.stature_m, 1.74, 1e-5);
        CHECK_NEAR(e.body.ph.gender, 0.3, 0.2);
        CHECK_NEAR(e.body.ph.weight, 0.6, 0.2);
        CHECK(e.iou > 0.95f);
        CHECK_NEAR(e.camera.eye[1], 1.35, CAMERA_H_TOL);
        CHECK_NEAR(e.camera_tilt_deg, -4.0, CAMERA_TILT_TOL);
        CHECK_NEAR(dist, 4.5, 0.3);
        s = avatar_estimate_person(m, &photo, mask, 0.0f, &e);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        fprintf(stderr, "the same without the hint, through the studio camera: %.3f m\n", e.stature_m);
        CHECK(!e.camera_solved && e.camera.eye[1] == 0.95f && e.camera_tilt_deg == 0.0f);
    }

    /* standing 0.15 m to the side and 0.4 m further back */
    const float off[3] = {0.15f, 0.0f, -0.4f};
    render_person(m, 0.7f, 0.4f, 1.78f, off, mask);
    s = avatar_estimate_person(m, &photo, mask, 0.0f, &e);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    fprintf(stderr, "off-centre: %.4f m, place %.3f %.3f %.3f, iou %.4f\n", e.stature_m, e.place[0], e.place[1],
            e.place[2], e.iou);
    CHECK_NEAR(e.stature_m, 1.78, 0.03);
    CHECK_NEAR(e.place[0], 0.15, 0.03);
    CHECK_NEAR(e.place[2], -0.4, 0.08);
    CHECK(e.iou > 0.95f);

    /* the whole path: a photo without alpha (skin-coloured body, noisy grey backdrop) -> keyed mask -> estimate */
    render_person(m, 0.4f, 0.6f, 1.66f, zero, mask);
    struct rng r;
    rng_seed(&r, 3);
    for (int i = 0; i < PW * PH; i++) {
        uint8_t *p = photo.px + (size_t)i * 4;
        int base[3] = {150, 150, 150};
        if (mask[i])
            base[0] = 205, base[1] = 150, base[2] = 120;
        for (int c = 0; c < 3; c++)
            p[c] = (uint8_t)(base[c] + (int)(rng_u32(&r) % 9) - 4);
        p[3] = 255;
    }
    uint8_t *keyed = malloc(PW * PH);
    CHECK(avatar_segment(&photo, false, keyed) == TRYON_OK);
    s = avatar_estimate_person(m, &photo, keyed, 0.0f, &e);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    fprintf(stderr, "keyed photo: %.4f m, iou %.4f\n", e.stature_m, e.iou);
    CHECK_NEAR(e.stature_m, 1.66, 0.03);
    free(keyed);

    /* the camera frames a 2.10 m person in the demo's 256 x 384 portrait, feet and head inside */
    {
        uint8_t *small = malloc(256 * 384);
        struct avatar_body_params p;
        memset(&p, 0, sizeof p);
        avatar_phenotype_default(&p.ph);
        p.stature_m = 2.10f;
        struct avatar_mesh b;
        CHECK(avatar_body_build(m, &p, &b) == TRYON_OK);
        struct avatar_photo_camera c;
        avatar_photo_camera(&c);
        avatar_render_silhouette(&b, &c, 256, 384, small);
        int top = -1, bottom = -1, left = 256, right = -1;
        for (int y = 0; y < 384; y++)
            for (int x = 0; x < 256; x++)
                if (small[y * 256 + x]) {
                    if (top < 0)
                        top = y;
                    bottom = y;
                    left = x < left ? x : left;
                    right = x > right ? x : right;
                }
        fprintf(stderr, "2.10 m in 256x384: rows %d..%d, columns %d..%d\n", top, bottom, left, right);
        CHECK(top > 0 && bottom < 383 && left > 0 && right < 255);
        struct img8 sp;
        img8_alloc(&sp, 256, 384, 4);
        s = avatar_estimate_person(m, &sp, small, 0.0f, &e);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        CHECK_NEAR(e.stature_m, 2.10, 0.03);
        img8_free(&sp);
        avatar_mesh_free(&b);
        free(small);
    }

    /* input errors */
    memset(mask, 0, PW * PH);
    CHECK(avatar_estimate_person(m, &photo, mask, 0.0f, &e) == TRYON_EINVAL);
    rect(mask, PW, 150, 100, 250, PH);   /* touches the bottom edge: the feet are cut off */
    CHECK(avatar_estimate_person(m, &photo, mask, 0.0f, &e) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "cut off");
    render_person(m, 0.5f, 0.5f, 1.70f, zero, mask);
    CHECK(avatar_estimate_person(m, &photo, mask, 500.0f, &e) == TRYON_EINVAL);

    /* garments on drawn masks, uniform colour sRGB (40, 90, 200) */
    for (int i = 0; i < PW * PH; i++) {
        uint8_t *p = photo.px + (size_t)i * 4;
        p[0] = 40, p[1] = 90, p[2] = 200, p[3] = 255;
    }
    struct avatar_garment_est ge;
    memset(mask, 0, PW * PH);
    rect(mask, PW, 120, 60, 280, 200);    /* waist and seat */
    rect(mask, PW, 120, 200, 195, 540);   /* left leg */
    rect(mask, PW, 205, 200, 280, 540);   /* right leg */
    CHECK(avatar_estimate_garment(&photo, mask, "", &ge) == TRYON_OK);
    CHECK_EQ_INT(ge.type, AVATAR_GARMENT_TROUSERS);
    CHECK(ge.length >= 0.0f && ge.length <= 1.0f);
    CHECK_NEAR(ge.color[0], img_srgb_to_linear(40.0f / 255.0f), 1e-5);
    CHECK_NEAR(ge.color[2], img_srgb_to_linear(200.0f / 255.0f), 1e-5);
    CHECK(avatar_estimate_garment(&photo, mask, "top", &ge) == TRYON_OK);
    CHECK_EQ_INT(ge.type, AVATAR_GARMENT_TOP);
    CHECK(avatar_estimate_garment(&photo, mask, "scarf", &ge) == TRYON_EINVAL);
    memset(mask, 0, PW * PH);
    rect(mask, PW, 60, 100, 340, 200);    /* shoulders and sleeves */
    rect(mask, PW, 130, 100, 270, 420);   /* body */
    CHECK(avatar_estimate_garment(&photo, mask, "", &ge) == TRYON_OK);
    CHECK_EQ_INT(ge.type, AVATAR_GARMENT_TOP);
    CHECK(ge.sleeve > 0.0f && ge.sleeve <= 1.0f);
    memset(mask, 0, PW * PH);
    CHECK(avatar_estimate_garment(&photo, mask, "", &ge) == TRYON_EINVAL);

    free(mask);
    img8_free(&photo);
    avatar_model_free(m);
    return check_result("test_avatar_estimate");
}
