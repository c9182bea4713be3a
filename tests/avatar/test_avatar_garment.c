/* test_avatar_garment.c: the six garment templates on the extreme phenotypes (smallest:
 * short slim woman; largest: tall muscular man; heaviest: heavy man) and the default body
 * with the arms lowered 25 degrees: every mesh closed and consistently oriented (edges of
 * the position-welded mesh used once in each direction), free of self-intersections
 * (grid-accelerated triangle pairs) on the smallest and largest bodies and for the skirt
 * on all (on the heaviest and arms-down bodies the skin itself passes through itself, a
 * heavy arm into the torso, heavy thighs, a lowered arm into the side: no garment covering
 * both parts separately can stay outside both, so the crossings are only reported), no
 * vertex inside the body
 * (ray parity, independent of the push-out code), under 1% nearer than 7 mm to a body
 * vertex, the intended region covered (chest / knee / shin), unit normals, uv in [0,1] with
 * front vertices in u < 0.5 and back ones in u >= 0.5; the same bytes whatever the thread
 * count; size parameters act (a longer garment reaches lower, looseness moves it out);
 * type names and parsing; input errors. */
#include <omp.h>
#include <string.h>

#include "av_test_util.h"
#include "check.h"
#include "garment_check.h"

/* strict: the garment must not cross itself (false where the skin passes through itself
   between two parts the garment covers separately: a heavy upper arm into the torso, heavy
   thighs into each other, a lowered arm into the side) */
struct body_case { const char *name; float gender, age, muscle, weight, height, stature, arm; bool strict; };

/* Mean distance of the garment's vertices to the nearest body vertex (a coarse probe of
   the offset: every 7th vertex). */
static float mean_gap(const struct avatar_mesh *g, const struct avatar_mesh *body)
{
    double s = 0;
    int n = 0;
    for (int i = 0; i < g->nv; i += 7, n++)
        s += nearest_vertex_dist(body, g->pos + (size_t)i * 3);
    return (float)(s / n);
}

int main(void)
{
    struct avatar_model *m = NULL;
    enum tryon_status s = avatar_model_load(NULL, &m);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (s)
        return check_result("test_avatar_garment");

    const struct body_case bodies[] = {
        {"smallest", 0.0f, 0.5f, 0.0f, 0.0f, 0.0f, 1.50f, 0.0f, true},
        {"largest", 1.0f, 0.5f, 1.0f, 0.5f, 1.0f, 2.05f, 0.0f, true},
        {"heaviest", 1.0f, 0.5f, 0.5f, 1.0f, 0.5f, 1.80f, 0.0f, false},
        {"arms-down", 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 1.75f, 25.0f, false},
    };
    const int nbodies = (int)(sizeof bodies / sizeof bodies[0]);
    /* per type: length, sleeve (a typical size) */
    const float size[AVATAR_GARMENT_NTYPES][2] = {{0.5f, 0.3f}, {0.5f, 0.95f}, {0.4f, 0.25f},
                                                  {0.3f, 0.0f}, {1.0f, 0.0f}, {0.3f, 0.0f}};
    int n_near = 0, n_vert = 0;
    for (int bi = 0; bi < nbodies; bi++) {
        const struct body_case *bc = &bodies[bi];
        struct avatar_body_params p;
        memset(&p, 0, sizeof p);
        avatar_phenotype_default(&p.ph);
        p.ph.gender = bc->gender, p.ph.age = bc->age, p.ph.muscle = bc->muscle, p.ph.weight = bc->weight;
        p.ph.height = bc->height, p.stature_m = bc->stature, p.arm_down_deg = bc->arm;
        struct avatar_mesh body;
        s = avatar_body_build(m, &p, &body);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        if (s)
            continue;
        struct parity_grid pg;
        parity_grid_init(&pg, &body, 0.01f);
        int32_t *bweld = gc_weld(&body);
        int body_isect = gc_self_intersections(&body, bweld, 0.01f);
        free(bweld);
        fprintf(stderr, "%s: the skin itself has %d intersecting triangle pairs\n", bc->name, body_isect);
        const float S = bc->stature;
        /* probes: front of the chest on the midline, front of the left knee and shin */
        const float *chest = front_vertex(&body, 0.0f, 0.03f, 0.72f * S, 0.01f);
        const float *probe[2] = {NULL, NULL};
        const float probe_y[2] = {0.28f * S, 0.15f * S};
        for (int k = 0; k < 2; k++) {
            double kx = 0;
            int kn = 0;
            for (int i = 0; i < body.nv; i++)
                if (fabsf(body.pos[i * 3 + 1] - probe_y[k]) < 0.01f && body.pos[i * 3] > 0)
                    kx += body.pos[i * 3], kn++;
            probe[k] = front_vertex(&body, kn ? (float)(kx / kn) : 0.1f, 0.03f, probe_y[k], 0.01f);
        }
        CHECK(chest && probe[0] && probe[1]);
        if (!chest || !probe[0] || !probe[1])
            break;

        for (int type = 0; type < AVATAR_GARMENT_NTYPES; type++) {
            struct avatar_garment_est ge;
            memset(&ge, 0, sizeof ge);
            ge.type = (enum avatar_garment_type)type;
            ge.length = size[type][0], ge.sleeve = size[type][1];
            struct avatar_mesh g;
            double t0 = time_now();
            s = avatar_garment_build(m, &p, &body, &ge, &g);
            double t_build = time_now() - t0;
            CHECK_MSG(s == TRYON_OK, "%s %s: %s", bc->name, avatar_garment_type_name(ge.type), tryon_errmsg());
            if (s)
                continue;
            CHECK(g.nv > 1000 && g.uv != NULL);
            int inside = 0, near = 0, bad_n = 0, bad_uv = 0, bad_idx = 0, bad_side = 0;
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
            /* a triangle's corners all on one panel, the panel its normal faces (inner layer
               triangles face the body, so only triangles clearly facing front or back count) */
            for (int t = 0; t < g.nt; t++) {
                const int32_t *f = g.tri + (size_t)t * 3;
                int fr = (g.uv[f[0] * 2] < 0.5f) + (g.uv[f[1] * 2] < 0.5f) + (g.uv[f[2] * 2] < 0.5f);
                bad_side += fr != 0 && fr != 3;
            }
            int32_t *weld = gc_weld(&g);
            int open = gc_open_edges(&g, weld);
            double t1 = time_now();
            int isect = gc_self_intersections(&g, weld, 0.01f);
            double t_isect = time_now() - t1;
            free(weld);
            float d_chest = nearest_vertex_dist(&g, chest), d_knee = nearest_vertex_dist(&g, probe[0]);
            float d_shin = nearest_vertex_dist(&g, probe[1]);
            fprintf(stderr,
                    "%-9s %-11s %6d vertices %6d triangles: %d open edges, %d intersecting pairs, %d inside, "
                    "nearest body vertex %.1f mm, chest %.0f knee %.0f shin %.0f mm; build %.0f ms, check %.0f ms\n",
                    bc->name, avatar_garment_type_name(ge.type), g.nv, g.nt, open, isect, inside, dmin * 1e3,
                    d_chest * 1e3, d_knee * 1e3, d_shin * 1e3, t_build * 1e3, t_isect * 1e3);
            CHECK_EQ_INT(open, 0);
            if (bc->strict || ge.type == AVATAR_GARMENT_SKIRT)
                CHECK_EQ_INT(isect, 0);
            CHECK_EQ_INT(inside, 0);
            CHECK(near * 100 <= g.nv);   /* narrow gaps (crotch, armpit) leave less room than the offset */
            n_near += near, n_vert += g.nv;
            CHECK_EQ_INT(bad_n, 0);
            CHECK_EQ_INT(bad_uv, 0);
            CHECK_EQ_INT(bad_idx, 0);
            CHECK_EQ_INT(bad_side, 0);
            const float on = 0.03f, off = 0.10f;   /* covered: a garment vertex within 3 cm; not: none within 10 cm */
            switch (ge.type) {
            case AVATAR_GARMENT_TSHIRT:
            case AVATAR_GARMENT_LONGSLEEVE:
                CHECK(d_chest < on && d_knee > off);
                break;
            case AVATAR_GARMENT_DRESS:
                CHECK(d_chest < on && d_shin > off);
                break;
            case AVATAR_GARMENT_SKIRT:
                CHECK(d_chest > off && d_shin > off);
                break;
            case AVATAR_GARMENT_TROUSERS:
                CHECK(d_chest > off && d_knee < on && d_shin < on);
                break;
            default:
                CHECK(d_chest > off && d_shin > off);
                break;
            }
            if (bi == 0 && (type == AVATAR_GARMENT_TSHIRT || type == AVATAR_GARMENT_DRESS)) {
                /* determinism: the same bytes with one thread and with three */
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
                CHECK(memcmp(g.uv, g2.uv, (size_t)g.nv * 2 * sizeof(float)) == 0);
                avatar_mesh_free(&g2);
                omp_set_num_threads(nth);
            }
            if (bi == 0 && type != AVATAR_GARMENT_LONGSLEEVE && type != AVATAR_GARMENT_SHORTS) {
                /* size parameters: longer reaches lower; looseness moves the cloth out */
                struct avatar_mesh g2;
                struct avatar_garment_est g3 = ge;
                g3.length = ge.length > 0.5f ? 0.0f : 1.0f;
                float lo1[3], hi1[3], lo2[3], hi2[3];
                avatar_mesh_bounds(&g, lo1, hi1);
                CHECK(avatar_garment_build(m, &p, &body, &g3, &g2) == TRYON_OK);
                avatar_mesh_bounds(&g2, lo2, hi2);
                if (g3.length > ge.length)
                    CHECK(lo2[1] < lo1[1] - 0.02f);
                else
                    CHECK(lo2[1] > lo1[1] + 0.02f);
                avatar_mesh_free(&g2);
                if (type == AVATAR_GARMENT_TSHIRT || type == AVATAR_GARMENT_TROUSERS) {
                    g3 = ge;
                    g3.looseness = 0.02f;
                    CHECK(avatar_garment_build(m, &p, &body, &g3, &g2) == TRYON_OK);
                    float gap1 = mean_gap(&g, &body), gap2 = mean_gap(&g2, &body);
                    CHECK_NEAR(gap2 - gap1, 0.02f, 0.008f);
                    avatar_mesh_free(&g2);
                }
            }
            avatar_mesh_free(&g);
        }
        parity_grid_free(&pg);
        avatar_mesh_free(&body);
    }
    fprintf(stderr, "%d of %d garment vertices nearer than 7 mm to a body vertex\n", n_near, n_vert);

    /* errors, names */
    struct avatar_body_params p;
    memset(&p, 0, sizeof p);
    avatar_phenotype_default(&p.ph);
    struct avatar_mesh body, g;
    CHECK(avatar_body_build(m, &p, &body) == TRYON_OK);
    struct avatar_garment_est ge;
    memset(&ge, 0, sizeof ge);
    ge.type = AVATAR_GARMENT_NTYPES;
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_EINVAL);
    ge.type = AVATAR_GARMENT_TSHIRT, ge.length = NAN;
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_EINVAL);
    ge.length = 0, ge.looseness = INFINITY;
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_EINVAL);
    memset(&ge, 0, sizeof ge);   /* zeroed: the old default, a t-shirt */
    CHECK(avatar_garment_build(m, &p, &body, &ge, &g) == TRYON_OK);
    avatar_mesh_free(&g);
    avatar_mesh_free(&body);
    const char *names[AVATAR_GARMENT_NTYPES] = {"t-shirt", "long-sleeve", "dress", "skirt", "trousers", "shorts"};
    for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++) {
        enum avatar_garment_type pt;
        CHECK_STR(avatar_garment_type_name((enum avatar_garment_type)t), names[t]);
        CHECK(avatar_garment_type_parse(names[t], &pt) == TRYON_OK && (int)pt == t);
    }
    const struct { const char *s; enum avatar_garment_type t; } aliases[] = {
        {"top", AVATAR_GARMENT_TSHIRT}, {"tee", AVATAR_GARMENT_TSHIRT}, {"shirt", AVATAR_GARMENT_TSHIRT},
        {"longsleeve", AVATAR_GARMENT_LONGSLEEVE}, {"pants", AVATAR_GARMENT_TROUSERS},
        {"jeans", AVATAR_GARMENT_TROUSERS}};
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
        enum avatar_garment_type pt;
        CHECK(avatar_garment_type_parse(aliases[i].s, &pt) == TRYON_OK && pt == aliases[i].t);
    }
    enum avatar_garment_type t;
    CHECK(avatar_garment_type_parse("hat", &t) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "hat");
    CHECK_STR(avatar_landmark_name(AVATAR_LM_CROTCH), "crotch");

    avatar_model_free(m);
    return check_result("test_avatar_garment");
}
