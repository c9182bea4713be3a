/* test_avatar_drape_garment.c: avatar_garment_drape on the body model.
 *
 * - every type on the default body in the catalog pose settles; at most 0.1% of the shell's
 *   vertices lie inside the body (ray parity, av_test_util.h, independent of the solver);
 *   the shell stays closed (every welded edge used twice, garment_check.h);
 * - a t-shirt drapes to the same bytes with 1 and 2 threads;
 * - the waistband holds trousers: their top ends within 1.5 cm of where the template put it;
 * - size verdicts: a t-shirt cut for a chest 20% smaller than the body's is "tight" at the
 *   chest with the cloth stretched; one cut 15% larger is tight nowhere and stands off the
 *   body farther on average (over the whole cloth) than the one cut for the wearer;
 * - layering: a t-shirt draped over trousers keeps out of them: at most 0.5% of its vertices
 *   inside the trousers' shell, and where both cover the hips the shirt is farther from the
 *   body (median over the band) than the trousers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "kernels/kernels.h"
#include "tests/check.h"

#include "av_test_util.h"
#include "garment_check.h"

static int median_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static enum tryon_status drape(const struct avatar_model *m, const struct avatar_body_params *p,
                               const struct avatar_mesh *body, enum avatar_garment_type t,
                               const struct avatar_size *size, const struct avatar_mesh *under, int threads,
                               struct avatar_draped *d)
{
    struct avatar_garment_est ge = {.type = t, .length = 0.5f, .sleeve = 0.5f};
    struct kern_ctx *k = kern_create(KERN_BACKEND_CPU, threads);
    enum tryon_status st = avatar_garment_drape(m, p, body, &ge, size, under, k, d);
    kern_destroy(k);
    return st;
}

int main(void)
{
    struct avatar_model *m;
    enum tryon_status st = avatar_model_load(NULL, &m);
    CHECK_MSG(st == TRYON_OK, "%s", tryon_errmsg());
    if (st)
        return check_result("test_avatar_drape_garment");
    struct avatar_body_params p = {0};
    avatar_phenotype_default(&p.ph);
    p.stature_m = 1.75f, p.arm_down_deg = AVATAR_CATALOG_ARM_DOWN_DEG;
    struct avatar_mesh body;
    CHECK(avatar_body_build(m, &p, &body) == TRYON_OK);
    struct parity_grid pg;
    parity_grid_init(&pg, &body, 0.01f);

    /* every type: settles, outside the body, closed */
    for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++) {
        struct avatar_draped d;
        st = drape(m, &p, &body, (enum avatar_garment_type)t, NULL, NULL, 1, &d);
        CHECK_MSG(st == TRYON_OK, "%s: %s", avatar_garment_type_name(t), tryon_errmsg());
        if (st)
            continue;
        int inside = 0;
        for (int i = 0; i < d.mesh.nv; i++)
            inside += parity_inside(&pg, d.mesh.pos + (size_t)i * 3);
        int32_t *weld = gc_weld(&d.mesh);
        int open = gc_open_edges(&d.mesh, weld);
        free(weld);
        printf("%-11s cloth %5d vertices, %3d steps, %.2f s, residual %.4f; shell %d vertices, %d inside, %d open "
               "edges; chest %s waist %s hips %s length %s\n",
               avatar_garment_type_name(t), d.cloth_nv, d.steps, d.seconds, d.residual, d.mesh.nv, inside, open,
               avatar_fit_verdict_name(d.fit[0].verdict), avatar_fit_verdict_name(d.fit[1].verdict),
               avatar_fit_verdict_name(d.fit[2].verdict), avatar_fit_verdict_name(d.fit[3].verdict));
        CHECK(inside <= d.mesh.nv / 1000);
        CHECK(open == 0);
        CHECK(d.strain != NULL && d.fit[AVATAR_FIT_LENGTH].verdict != AVATAR_FIT_NONE);
        avatar_draped_free(&d);
    }

    /* determinism across thread counts */
    struct avatar_draped d1, d2;
    CHECK(drape(m, &p, &body, AVATAR_GARMENT_TSHIRT, NULL, NULL, 1, &d1) == TRYON_OK);
    CHECK(drape(m, &p, &body, AVATAR_GARMENT_TSHIRT, NULL, NULL, 2, &d2) == TRYON_OK);
    CHECK(d1.mesh.nv == d2.mesh.nv && d1.steps == d2.steps);
    if (d1.mesh.nv == d2.mesh.nv)
        CHECK(memcmp(d1.mesh.pos, d2.mesh.pos, (size_t)d1.mesh.nv * 3 * sizeof(float)) == 0);

    /* the waistband */
    struct avatar_garment_est ge = {.type = AVATAR_GARMENT_TROUSERS, .length = 0.5f};
    struct avatar_mesh tmpl;
    struct avatar_draped tr;
    CHECK(avatar_garment_build(m, &p, &body, &ge, &tmpl) == TRYON_OK);
    CHECK(drape(m, &p, &body, AVATAR_GARMENT_TROUSERS, NULL, NULL, 1, &tr) == TRYON_OK);
    float lo[3], hi[3], tlo[3], thi[3];
    avatar_mesh_bounds(&tr.mesh, lo, hi);
    avatar_mesh_bounds(&tmpl, tlo, thi);
    printf("trousers: top %.4f m (template %.4f), hem %.4f m (template %.4f)\n", hi[1], thi[1], lo[1], tlo[1]);
    CHECK_NEAR(hi[1], thi[1], 0.015f);
    avatar_mesh_free(&tmpl);

    /* size verdicts */
    struct avatar_measurements meas;
    CHECK(avatar_body_measure(m, &p, &meas) == TRYON_OK);
    struct avatar_size small = {.chest_cm = 0.8f * meas.chest_cm, .waist_cm = 0.8f * meas.waist_cm};
    struct avatar_size big = {.chest_cm = 1.15f * meas.chest_cm, .waist_cm = 1.15f * meas.waist_cm};
    struct avatar_draped ds, db;
    st = drape(m, &p, &body, AVATAR_GARMENT_TSHIRT, &small, NULL, 1, &ds);
    CHECK_MSG(st == TRYON_OK, "small: %s", tryon_errmsg());
    st = drape(m, &p, &body, AVATAR_GARMENT_TSHIRT, &big, NULL, 1, &db);
    CHECK_MSG(st == TRYON_OK, "big: %s", tryon_errmsg());
    for (int r = 0; r < 2; r++)
        printf("%s: small %s (strain %.3f, gap %.2f cm), own %s (%.3f, %.2f cm), big %s (%.3f, %.2f cm)\n",
               avatar_fit_region_name(r), avatar_fit_verdict_name(ds.fit[r].verdict), ds.fit[r].strain,
               ds.fit[r].gap_cm, avatar_fit_verdict_name(d1.fit[r].verdict), d1.fit[r].strain, d1.fit[r].gap_cm,
               avatar_fit_verdict_name(db.fit[r].verdict), db.fit[r].strain, db.fit[r].gap_cm);
    CHECK(ds.fit[AVATAR_FIT_CHEST].verdict == AVATAR_FIT_TIGHT);
    CHECK(ds.fit[AVATAR_FIT_CHEST].strain > 0.03f);
    CHECK(d1.fit[AVATAR_FIT_CHEST].verdict == AVATAR_FIT_GOOD);
    CHECK(db.fit[AVATAR_FIT_CHEST].verdict != AVATAR_FIT_TIGHT && db.fit[AVATAR_FIT_WAIST].verdict != AVATAR_FIT_TIGHT);
    CHECK(db.fit[AVATAR_FIT_LENGTH].gap_cm > d1.fit[AVATAR_FIT_LENGTH].gap_cm);
    avatar_draped_free(&ds), avatar_draped_free(&db);

    /* layering: a t-shirt over the trousers */
    struct avatar_draped top;
    st = drape(m, &p, &body, AVATAR_GARMENT_TSHIRT, NULL, &tr.mesh, 1, &top);
    CHECK_MSG(st == TRYON_OK, "%s", tryon_errmsg());
    if (st == TRYON_OK) {
        struct parity_grid tg;
        parity_grid_init(&tg, &tr.mesh, 0.01f);
        int in_tr = 0, nb = 0, nt = 0;
        float *dtop = malloc((size_t)top.mesh.nv * sizeof *dtop), *dtr = malloc((size_t)tr.mesh.nv * sizeof *dtr);
        float band_lo = top.mesh.pos[1], band_hi = hi[1] - 0.02f;   /* the shirt's hem .. below the waistband */
        for (int i = 0; i < top.mesh.nv; i++)
            band_lo = fminf(band_lo, top.mesh.pos[(size_t)i * 3 + 1]);
        for (int i = 0; i < top.mesh.nv; i++) {
            const float *q = top.mesh.pos + (size_t)i * 3;
            in_tr += parity_inside(&tg, q);
            if (q[1] > band_lo && q[1] < band_hi && fabsf(q[0]) < 0.12f)
                dtop[nt++] = nearest_vertex_dist(&body, q);
        }
        for (int i = 0; i < tr.mesh.nv; i++) {
            const float *q = tr.mesh.pos + (size_t)i * 3;
            if (q[1] > band_lo && q[1] < band_hi && fabsf(q[0]) < 0.12f)
                dtr[nb++] = nearest_vertex_dist(&body, q);
        }
        qsort(dtop, (size_t)nt, sizeof *dtop, median_cmp);
        qsort(dtr, (size_t)nb, sizeof *dtr, median_cmp);
        float mt = nt ? dtop[nt / 2] : 0, mb = nb ? dtr[nb / 2] : 0;
        printf("layering: %d of %d shirt vertices inside the trousers; over the hips (%d, %d vertices) the shirt "
               "is %.1f mm from the body, the trousers %.1f mm\n", in_tr, top.mesh.nv, nt, nb, 1e3 * mt, 1e3 * mb);
        CHECK(in_tr <= top.mesh.nv / 200);
        CHECK(nt > 50 && nb > 50 && mt > mb);
        free(dtop), free(dtr);
        parity_grid_free(&tg);
        avatar_draped_free(&top);
    }
    avatar_draped_free(&tr), avatar_draped_free(&d1), avatar_draped_free(&d2);
    parity_grid_free(&pg);
    avatar_mesh_free(&body);
    avatar_model_free(m);
    return check_result("test_avatar_drape_garment");
}
