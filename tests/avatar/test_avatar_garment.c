/* test_avatar_garment.c: garment templates on three bodies (default; heavy tall man with
 * slim short woman; default with the arms lowered 25 degrees): no garment vertex inside the
 * body (ray parity, independent of the push-out code), under 1% nearer than 7 mm to a body
 * vertex (the offset is 8 mm; narrow gaps leave less room), the intended
 * region covered (a top covers the chest but not the knees; trousers cover the knees but not
 * the chest), unit normals, uv in [0,1], the same bytes whatever the thread count; and the product-photo round trip: a
 * front silhouette of a template, framed like `tryon synth` frames product shots, gives back
 * its type (no hint), and on the calibration body its length and sleeve within 0.08. */
#include <omp.h>
#include <string.h>

#include "av_test_util.h"
#include "check.h"

struct body_case { float gender, weight, stature, arm; };

/* Frame a box like raytrace's rt_camera_frame: vfov 30 degrees, margin 0.08, from +z. */
static void frame_camera(const float lo[3], const float hi[3], struct avatar_photo_camera *c)
{
    float ctr[3], half[3];
    for (int k = 0; k < 3; k++)
        ctr[k] = 0.5f * (lo[k] + hi[k]), half[k] = 0.5f * (hi[k] - lo[k]);
    float tany = tanf(15.0f * (float)M_PI / 180.0f), fill = 1.0f - 0.16f;
    float d = fmaxf(half[1] / (tany * fill), half[0] / (tany * fill)) + half[2];
    memcpy(c->target, ctr, sizeof ctr);
    c->eye[0] = ctr[0], c->eye[1] = ctr[1], c->eye[2] = ctr[2] + d;
    c->up[0] = 0, c->up[1] = 1, c->up[2] = 0;
    c->vfov_deg = 30.0f;
}

/* Estimate a garment from its own front silhouette (512 x 512, uniform colour). */
static void roundtrip(const struct avatar_mesh *g, struct avatar_garment_est *est)
{
    float lo[3], hi[3];
    avatar_mesh_bounds(g, lo, hi);
    struct avatar_photo_camera c;
    frame_camera(lo, hi, &c);
    struct img8 im;
    img8_alloc(&im, 512, 512, 4);
    uint8_t *mask = malloc(512 * 512);
    avatar_render_silhouette(g, &c, 512, 512, mask);
    for (int i = 0; i < 512 * 512; i++) {
        uint8_t *p = im.px + (size_t)i * 4;
        p[0] = mask[i] ? 200 : 230, p[1] = mask[i] ? 40 : 230, p[2] = mask[i] ? 40 : 230, p[3] = 255;
    }
    enum tryon_status s = avatar_estimate_garment(&im, mask, "", est);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    free(mask);
    img8_free(&im);
}

int main(void)
{
    struct avatar_model *m = NULL;
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_garment");

    /* default (the calibration body of the product-photo tables), heavy tall man, slim
       short woman, default with arms lowered 25 degrees */
    const struct body_case bodies[4] = {
        {0.5f, 0.5f, 1.75f, 0.0f}, {1.0f, 1.0f, 1.90f, 0.0f}, {0.0f, 0.0f, 1.58f, 0.0f}, {0.5f, 0.5f, 1.75f, 25.0f}};
    double t_build[8];
    int n_near = 0, n_vert = 0;
    for (int bi = 0; bi < 4; bi++) {
        const struct body_case *bc = &bodies[bi];
        struct avatar_body_params p;
        memset(&p, 0, sizeof p);
        avatar_phenotype_default(&p.ph);
        p.ph.gender = bc->gender, p.ph.weight = bc->weight, p.stature_m = bc->stature, p.arm_down_deg = bc->arm;
        struct avatar_mesh body;
        s = avatar_body_build(m, &p, &body);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        struct parity_grid pg;
        parity_grid_init(&pg, &body, 0.01f);
        const float S = bc->stature;
        /* landmarks: front of the chest on the midline, front of the left knee */
        const float *chest = front_vertex(&body, 0.0f, 0.03f, 0.72f * S, 0.01f);
        double kx = 0;
        int kn = 0;
        for (int i = 0; i < body.nv; i++)
            if (fabsf(body.pos[i * 3 + 1] - 0.28f * S) < 0.01f && body.pos[i * 3] > 0)
                kx += body.pos[i * 3], kn++;
        const float *knee = front_vertex(&body, kn ? (float)(kx / kn) : 0.1f, 0.03f, 0.28f * S, 0.01f);
        CHECK(chest && knee);
        if (!chest || !knee)
            break;

        for (int type = 0; type < AVATAR_GARMENT_NTYPES; type++) {
            struct avatar_garment_est ge = {(enum avatar_garment_type)type, {0.5f, 0.5f, 0.5f}, type ? 1.0f : 0.5f, 0.3f};
            struct avatar_mesh g;
            double t0 = time_now();
            s = avatar_garment_build(m, &p, &body, &ge, &g);
            t_build[bi * 2 + type] = time_now() - t0;
            CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
            if (s)
                continue;
            CHECK(g.nv > 1000 && g.uv != NULL);
            int inside = 0, near = 0, bad_n = 0, bad_uv = 0, bad_idx = 0;
            float dmin = INFINITY;
            for (int i = 0; i < g.nv; i++) {
                const float *q = g.pos + (size_t)i * 3, *n = g.nrm + (size_t)i * 3;
                inside += parity_inside(&pg, q);
                float d = nearest_vertex_dist(&body, q);
                dmin = fminf(dmin, d);
                near += d < 0.007f;
                bad_n += fabsf(sqrtf(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]) - 1.0f) > 1e-4f;
                bad_uv += !(g.uv[i * 2] >= 0 && g.uv[i * 2] <= 1 && g.uv[i * 2 + 1] >= 0 && g.uv[i * 2 + 1] <= 1);
            }
            for (int t = 0; t < g.nt * 3; t++)
                bad_idx += g.tri[t] < 0 || g.tri[t] >= g.nv;
            float d_chest = nearest_vertex_dist(&g, chest), d_knee = nearest_vertex_dist(&g, knee);
            fprintf(stderr, "body %d %s: %d vertices %d triangles, %d inside, nearest body vertex %.1f mm, "
                    "chest %.1f mm, knee %.1f mm, %.0f ms\n", bi, avatar_garment_type_name(ge.type), g.nv, g.nt,
                    inside, dmin * 1e3, d_chest * 1e3, d_knee * 1e3, t_build[bi * 2 + type] * 1e3);
            CHECK_EQ_INT(inside, 0);
            CHECK(near * 100 <= g.nv);   /* narrow gaps (crotch, armpit) leave less room than the offset */
            n_near += near, n_vert += g.nv;
            CHECK_EQ_INT(bad_n, 0);
            CHECK_EQ_INT(bad_uv, 0);
            CHECK_EQ_INT(bad_idx, 0);
            if (type == AVATAR_GARMENT_TOP) {
                CHECK(d_chest < 0.025f);
                CHECK(d_knee > 0.10f);
            } else {
                CHECK(d_knee < 0.025f);
                CHECK(d_chest > 0.10f);
            }
            if (bi == 0) {   /* determinism: the same bytes with one thread and with three */
                struct avatar_mesh g2;
                int nth = omp_get_max_threads();
                omp_set_num_threads(1);
                CHECK(avatar_garment_build(m, &p, &body, &ge, &g2) == TRYON_OK);
                CHECK(g2.nv == g.nv && memcmp(g.pos, g2.pos, (size_t)g.nv * 3 * sizeof(float)) == 0);
                avatar_mesh_free(&g2);
                omp_set_num_threads(3);
                CHECK(avatar_garment_build(m, &p, &body, &ge, &g2) == TRYON_OK);
                CHECK(g2.nv == g.nv && memcmp(g.pos, g2.pos, (size_t)g.nv * 3 * sizeof(float)) == 0);
                CHECK(memcmp(g.nrm, g2.nrm, (size_t)g.nv * 3 * sizeof(float)) == 0);
                avatar_mesh_free(&g2);
                omp_set_num_threads(nth);
            }
            avatar_mesh_free(&g);
        }

        /* the product-photo round trip: on the calibration body the proportions come back;
           on a very different body (whose proportions the tables do not know) the type does */
        if (bi < 2) {
            const float cases[4][3] = {{0, 0.0f, 0.2f}, {0, 0.6f, 0.9f}, {1, 0.1f, 0}, {1, 0.8f, 0}};
            for (int k = 0; k < 4; k++) {
                struct avatar_garment_est ge = {(enum avatar_garment_type)(int)cases[k][0], {0.5f, 0.5f, 0.5f},
                                                cases[k][1], cases[k][2]};
                struct avatar_mesh g;
                if (avatar_garment_build(m, &p, &body, &ge, &g) != TRYON_OK)
                    continue;
                struct avatar_garment_est est;
                roundtrip(&g, &est);
                fprintf(stderr, "body %d round trip %s length %.2f sleeve %.2f -> %s length %.2f sleeve %.2f\n", bi,
                        avatar_garment_type_name(ge.type), ge.length, ge.sleeve, avatar_garment_type_name(est.type),
                        est.length, est.sleeve);
                CHECK_EQ_INT(est.type, ge.type);
                if (bi == 0) {
                    CHECK_NEAR(est.length, ge.length, 0.08);
                    if (ge.type == AVATAR_GARMENT_TOP)
                        CHECK_NEAR(est.sleeve, ge.sleeve, 0.08);
                }
                /* albedo = colour * 0.65 (estimate.c's PRODUCT_GAIN) / the backdrop's brightness */
                CHECK_NEAR(est.color[0], img_srgb_to_linear(200.0f / 255.0f) * 0.65f / img_srgb_to_linear(230.0f / 255.0f),
                           1e-4);
                avatar_mesh_free(&g);
            }
        }
        parity_grid_free(&pg);
        avatar_mesh_free(&body);
    }

    fprintf(stderr, "%d of %d garment vertices nearer than 7 mm to a body vertex\n", n_near, n_vert);

    /* errors */
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    struct avatar_mesh body, g;
    CHECK(avatar_body_build(m, &p, &body) == TRYON_OK);
    struct avatar_garment_est ge = {AVATAR_GARMENT_NTYPES, {0, 0, 0}, 0.5f, 0.5f};
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_EINVAL);
    ge.type = AVATAR_GARMENT_TOP, ge.length = NAN;
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_EINVAL);
    avatar_mesh_free(&body);
    enum avatar_garment_type t;
    CHECK(avatar_garment_type_parse("trousers", &t) == TRYON_OK && t == AVATAR_GARMENT_TROUSERS);
    CHECK(avatar_garment_type_parse("top", &t) == TRYON_OK && t == AVATAR_GARMENT_TOP);
    CHECK(avatar_garment_type_parse("hat", &t) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "hat");
    CHECK_STR(avatar_garment_type_name(AVATAR_GARMENT_TOP), "top");
    CHECK_STR(avatar_garment_type_name(AVATAR_GARMENT_TROUSERS), "trousers");

    avatar_model_free(m);
    return check_result("test_avatar_garment");
}
