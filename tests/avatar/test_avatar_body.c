/* test_avatar_body.c: the MakeHuman body model: loading, vertex and triangle counts, the
 * default stature, exact stature scaling, the frame (feet on y = 0, centred), gender and
 * weight moving widths and volume the expected way, the ethnic weights (default, sum
 * normalisation, effect), outward unit normals, the arm pose, parameter validation,
 * determinism and the OBJ writer (the pose itself: test_avatar_pose.c). */
#include <string.h>
#include <unistd.h>

#include "av_test_util.h"
#include "check.h"

static double signed_volume(const struct avatar_mesh *b)
{
    double v = 0;
    for (int t = 0; t < b->nt; t++) {
        const float *a = b->pos + (size_t)b->tri[t * 3] * 3, *c = b->pos + (size_t)b->tri[t * 3 + 1] * 3,
                    *d = b->pos + (size_t)b->tri[t * 3 + 2] * 3;
        v += (a[0] * ((double)c[1] * d[2] - (double)c[2] * d[1]) - a[1] * ((double)c[0] * d[2] - (double)c[2] * d[0]) +
              a[2] * ((double)c[0] * d[1] - (double)c[1] * d[0])) / 6.0;
    }
    return v;
}

/* Silhouette width (x extent) of the skin in a horizontal slab around height y, only
   vertices with |x| < xmax (the torso, not the arms). */
static float slab_width(const struct avatar_mesh *b, float y, float dy, float xmax)
{
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < b->nv; i++) {
        const float *p = b->pos + (size_t)i * 3;
        if (fabsf(p[1] - y) < dy && fabsf(p[0]) < xmax)
            lo = fminf(lo, p[0]), hi = fmaxf(hi, p[0]);
    }
    return hi - lo;
}

static void build(const struct avatar_model *m, float gender, float weight, float stature, float arm,
                  struct avatar_mesh *b)
{
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    p.ph.gender = gender;
    p.ph.weight = weight;
    p.stature_m = stature;
    p.arm_down_deg = arm;
    enum tryon_status s = avatar_body_build(m, &p, b);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
}

int main(void)
{
    struct avatar_model *m = NULL;
    double t0 = time_now();
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_body");
    fprintf(stderr, "model load %.2f s\n", time_now() - t0);
    CHECK_EQ_INT(avatar_model_body_nv(m), 13380);

    /* a missing folder names the file it could not read */
    struct avatar_model *bad = NULL;
    s = avatar_model_load("/nonexistent-assets", &bad);
    CHECK(s == TRYON_EIO && bad == NULL);
    CHECK_CONTAINS(tryon_errmsg(), "/nonexistent-assets/3dobjs/base.obj");

    /* default body: counts, frame, stature ~1.66 m (MakeHuman's default human; 1.60..1.75 accepted) */
    struct avatar_mesh b;
    build(m, 0.5f, 0.5f, 0.0f, 0.0f, &b);
    CHECK_EQ_INT(b.nv, 13380);
    CHECK_EQ_INT(b.nt, 2 * 13378);
    CHECK(b.uv == NULL);
    float lo[3], hi[3];
    avatar_mesh_bounds(&b, lo, hi);
    float stature = hi[1] - lo[1];
    fprintf(stderr, "default stature %.4f m, bounds x %.3f..%.3f z %.3f..%.3f\n", stature, lo[0], hi[0], lo[2], hi[2]);
    CHECK(stature > 1.60f && stature < 1.75f);
    CHECK_NEAR(lo[1], 0.0, 1e-6);
    CHECK_NEAR(lo[0] + hi[0], 0.0, 1e-5);
    CHECK_NEAR(lo[2] + hi[2], 0.0, 1e-5);
    CHECK(hi[2] - lo[2] > 0.2f && hi[2] - lo[2] < 0.5f);   /* depth of a human, not a unit mix-up */

    /* normals: unit, and outward: stepping 1 mm along them leaves the body, 1 mm against
       them enters it (ray parity), for all but thin-feature vertices; volume positive */
    double vol = signed_volume(&b);
    fprintf(stderr, "default volume %.1f litres\n", vol * 1000);
    CHECK(vol > 0.035 && vol < 0.09);
    struct parity_grid pg;
    parity_grid_init(&pg, &b, 0.01f);
    int bad_len = 0, tested = 0, out_ok = 0, in_ok = 0;
    for (int i = 0; i < b.nv; i += 7) {
        const float *p = b.pos + (size_t)i * 3, *n = b.nrm + (size_t)i * 3;
        float len = sqrtf(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        bad_len += fabsf(len - 1.0f) > 1e-5f;
        float po[3], pi[3];
        for (int k = 0; k < 3; k++)
            po[k] = p[k] + 0.001f * n[k], pi[k] = p[k] - 0.001f * n[k];
        out_ok += !parity_inside(&pg, po);
        in_ok += parity_inside(&pg, pi);
        tested++;
    }
    fprintf(stderr, "normals: %d/%d step out outside, %d/%d step in inside\n", out_ok, tested, in_ok, tested);
    CHECK_EQ_INT(bad_len, 0);
    CHECK(out_ok >= tested * 99 / 100);
    CHECK(in_ok >= tested * 97 / 100);
    parity_grid_free(&pg);

    /* determinism: a second build gives the same bytes */
    struct avatar_mesh b2;
    build(m, 0.5f, 0.5f, 0.0f, 0.0f, &b2);
    CHECK(memcmp(b.pos, b2.pos, (size_t)b.nv * 3 * sizeof(float)) == 0);
    CHECK(memcmp(b.nrm, b2.nrm, (size_t)b.nv * 3 * sizeof(float)) == 0);
    avatar_mesh_free(&b2);

    /* stature scales exactly and uniformly (same shape: width/height ratio kept) */
    struct avatar_mesh bs;
    build(m, 0.5f, 0.5f, 1.83f, 0.0f, &bs);
    float lo2[3], hi2[3];
    avatar_mesh_bounds(&bs, lo2, hi2);
    CHECK_NEAR(hi2[1] - lo2[1], 1.83, 1e-5);
    CHECK_NEAR(lo2[1], 0.0, 1e-6);
    CHECK_NEAR((hi2[0] - lo2[0]) / 1.83, (hi[0] - lo[0]) / stature, 1e-5);
    avatar_mesh_free(&bs);

    /* gender at the same stature: a man has wider shoulders relative to his hips than a woman */
    struct avatar_mesh bf, bm;
    build(m, 0.0f, 0.5f, 1.70f, 0.0f, &bf);
    build(m, 1.0f, 0.5f, 1.70f, 0.0f, &bm);
    float sh_f = slab_width(&bf, 0.80f * 1.70f, 0.01f, 0.30f), hip_f = slab_width(&bf, 0.52f * 1.70f, 0.01f, 0.22f);
    float sh_m = slab_width(&bm, 0.80f * 1.70f, 0.01f, 0.30f), hip_m = slab_width(&bm, 0.52f * 1.70f, 0.01f, 0.22f);
    fprintf(stderr, "female shoulders %.3f hips %.3f; male shoulders %.3f hips %.3f (m)\n", sh_f, hip_f, sh_m, hip_m);
    CHECK(sh_m > sh_f);
    CHECK(hip_m < hip_f);
    CHECK(sh_m / hip_m > sh_f / hip_f + 0.1f);
    avatar_mesh_free(&bf);
    avatar_mesh_free(&bm);

    /* weight: more volume at the same stature */
    struct avatar_mesh bl, bh;
    build(m, 0.5f, 0.0f, 1.70f, 0.0f, &bl);
    build(m, 0.5f, 1.0f, 1.70f, 0.0f, &bh);
    double vl = signed_volume(&bl), vh = signed_volume(&bh);
    fprintf(stderr, "volume at weight 0 / 1: %.1f / %.1f litres\n", vl * 1000, vh * 1000);
    CHECK(vh > 1.15 * vl);
    avatar_mesh_free(&bl);
    avatar_mesh_free(&bh);

    /* arm pose: lowering the arms 30 degrees keeps the head and feet, narrows the span, and
       brings the hands down; the mesh stays closed with positive volume */
    struct avatar_mesh ba;
    build(m, 0.5f, 0.5f, 0.0f, 30.0f, &ba);
    float lo3[3], hi3[3];
    avatar_mesh_bounds(&ba, lo3, hi3);
    CHECK_NEAR(hi3[1] - lo3[1], stature, 1e-4);
    CHECK(hi3[0] - lo3[0] < 0.85f * (hi[0] - lo[0]));
    float min_hand_y_a = INFINITY, min_hand_y = INFINITY;   /* lowest point with |x| > 0.3 m: the hands */
    for (int i = 0; i < b.nv; i++) {
        if (fabsf(b.pos[i * 3]) > 0.3f)
            min_hand_y = fminf(min_hand_y, b.pos[i * 3 + 1]);
        if (fabsf(ba.pos[i * 3]) > 0.2f && ba.pos[i * 3 + 1] > 0.5f)
            min_hand_y_a = fminf(min_hand_y_a, ba.pos[i * 3 + 1]);
    }
    fprintf(stderr, "lowest hand point: %.3f m as is, %.3f m with arms down 30 deg\n", min_hand_y, min_hand_y_a);
    CHECK(min_hand_y_a < min_hand_y - 0.05f);
    CHECK(signed_volume(&ba) > 0.9 * vol && signed_volume(&ba) < 1.1 * vol);
    avatar_mesh_free(&ba);

    /* ethnic weights: all zero = one third each; weights are normalised to sum 1, so
       (0.5,0.5,0.5) is the default and (0.5,0,0) is (1,0,0); one race alone moves the body */
    {
        struct avatar_body_params pe;
        memset(&pe, 0, sizeof pe);
        avatar_phenotype_default(&pe.ph);
        CHECK(pe.ph.african == 0.0f && pe.ph.asian == 0.0f && pe.ph.caucasian == 0.0f);
        struct avatar_mesh e0, e1, e2, e3;
        CHECK(avatar_body_build(m, &pe, &e0) == TRYON_OK);
        pe.ph.african = pe.ph.asian = pe.ph.caucasian = 0.5f;
        CHECK(avatar_body_build(m, &pe, &e1) == TRYON_OK);
        pe.ph.asian = pe.ph.caucasian = 0.0f;
        CHECK(avatar_body_build(m, &pe, &e2) == TRYON_OK);
        pe.ph.african = 1.0f;
        CHECK(avatar_body_build(m, &pe, &e3) == TRYON_OK);
        float d01 = 0, d02 = 0;
        for (int i = 0; i < e0.nv; i++) {
            d01 = fmaxf(d01, dist3(e0.pos + (size_t)i * 3, e1.pos + (size_t)i * 3));
            d02 = fmaxf(d02, dist3(e0.pos + (size_t)i * 3, e2.pos + (size_t)i * 3));
        }
        fprintf(stderr, "ethnic: (.5,.5,.5) vs default %.2g m; african alone vs default %.4f m\n", d01, d02);
        CHECK(d01 < 1e-6f);
        CHECK(d02 > 0.005f);
        CHECK(memcmp(e2.pos, e3.pos, (size_t)e2.nv * 3 * sizeof(float)) == 0);
        avatar_mesh_free(&e0), avatar_mesh_free(&e1), avatar_mesh_free(&e2), avatar_mesh_free(&e3);
        pe.ph.asian = -0.1f;
        CHECK(avatar_body_build(m, &pe, &e0) == TRYON_EINVAL);
        CHECK_CONTAINS(tryon_errmsg(), "asian");
    }

    /* validation */
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    p.ph.weight = 1.5f;
    struct avatar_mesh bx;
    CHECK(avatar_body_build(m, &p, &bx) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "weight");
    p.ph.weight = 0.5f;
    p.stature_m = 0.1f;
    CHECK(avatar_body_build(m, &p, &bx) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "stature");
    p.stature_m = 0.0f;
    p.ph.gender = NAN;
    CHECK(avatar_body_build(m, &p, &bx) == TRYON_EINVAL);

    /* OBJ: one o group per mesh, v/vn per vertex, vt only with uv, faces 1-based across groups */
    char path[] = "/tmp/test_avatar_body_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct avatar_mesh tri = {0};
    tri.nv = 3, tri.nt = 1;
    float tp[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0}, tn[9] = {0, 0, 1, 0, 0, 1, 0, 0, 1}, tu[6] = {0, 0, 1, 0, 0, 1};
    int32_t tt[3] = {0, 1, 2};
    tri.pos = tp, tri.nrm = tn, tri.uv = tu, tri.tri = tt;
    const struct avatar_mesh *ms[2] = {&b, &tri};
    const char *names[2] = {"body", "patch"};
    s = avatar_write_obj(path, ms, names, 2);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    uint8_t *txt;
    size_t len;
    CHECK(fs_read_all(path, 0, &txt, &len) == TRYON_OK);
    int nv = 0, nvn = 0, nvt = 0, nf = 0, no = 0;
    const char *last_f = NULL;
    for (const char *q = (const char *)txt; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) {
        nv += strncmp(q, "v ", 2) == 0;
        nvn += strncmp(q, "vn ", 3) == 0;
        nvt += strncmp(q, "vt ", 3) == 0;
        no += strncmp(q, "o ", 2) == 0;
        if (strncmp(q, "f ", 2) == 0)
            nf++, last_f = q;
    }
    CHECK_EQ_INT(nv, b.nv + 3);
    CHECK_EQ_INT(nvn, b.nv + 3);
    CHECK_EQ_INT(nvt, 3);
    CHECK_EQ_INT(no, 2);
    CHECK_EQ_INT(nf, b.nt + 1);
    CHECK(last_f && strncmp(last_f, "f 13381/1/13381 13382/2/13382 13383/3/13383\n", 44) == 0);
    CHECK_CONTAINS((const char *)txt, "o body\n");
    free(txt);
    unlink(path);

    /* timing (reported, not asserted): median of 5 builds */
    double tb[5];
    for (int i = 0; i < 5; i++) {
        struct avatar_mesh bt;
        double t1 = time_now();
        build(m, 0.3f + 0.1f * i, 0.6f, 1.75f, 10.0f, &bt);
        tb[i] = time_now() - t1;
        avatar_mesh_free(&bt);
    }
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            if (tb[j] < tb[i]) {
                double t = tb[i];
                tb[i] = tb[j], tb[j] = t;
            }
    fprintf(stderr, "body build median %.2f ms\n", tb[2] * 1e3);

    avatar_mesh_free(&b);
    avatar_model_free(m);
    return check_result("test_avatar_body");
}
