/* avatar_eval.c: the estimators against the truth of a synthetic set.
 *
 * usage: avatar_eval DIR [--threads N] [--models MODELS_DIR]
 *   DIR is the output of `tryon synth` (truth.jsonl, persons/, garments/), normally
 *   configs/synth/heldout.yaml's. For each person photo: segment, avatar_estimate_person
 *   (with the height hint only where the synth gave one, i.e. where the camera distance
 *   differs from the standard), and compare stature and the tape measurements of the
 *   fitted body (avatar_body_measure) with the true body's; for each garment photo:
 *   segment, avatar_estimate_garment without a type hint, and compare type (confusion
 *   matrix) and landmarks (distance in % of the image height, over the landmarks both
 *   have). Prints a Markdown report on stdout: error tables, the worst cases with their
 *   true parameters, and every failure with its message.
 *
 *   With --models (a folder holding body_encoder.safetensors and/or
 *   garment_encoder.safetensors, loaded by worker_nets_load) every photo is estimated three
 *   ways: "classical" (as above), "network" (the network alone: worker_nets_person's prior
 *   and its own regression of stature and tape measurements; worker_nets_garment's type,
 *   landmarks, length and sleeve) and "network + fit" (what the worker does: the body
 *   network's prior given to avatar_estimate_person_prior; the garment network's type
 *   given to avatar_estimate_garment as the hint). A summary table comparing the three
 *   ways comes first, with the per-vertex error of the estimated body against the true
 *   one (both built with avatar_body_build, mean vertex distance in the body frame), then
 *   the classical report as without the option, then the girth-by-outfit table of
 *   network + fit.
 *
 * Images are independent, so they are processed in parallel (OpenMP, dynamic schedule;
 * one worker_nets and one single-threaded CPU kernels context per OpenMP thread, since a
 * worker_nets serves one thread at a time); the report is in index order and does not
 * depend on the thread count. Measures, asserts nothing (bench/).
 */
#include <assert.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "common/common.h"
#include "kernels/kernels.h"
#include "worker/worker.h"

/* The three ways an image is estimated (only the first without --models). */
enum way { WAY_CLASSICAL, WAY_NET, WAY_FIT, N_WAYS };
static const char *const WAY_NAMES[N_WAYS] = {"classical", "network", "network + fit"};

/* One person's result by one way. */
struct person_way {
    bool ok;
    char error[300];
    float stature_err_cm;           /* estimate - truth */
    float meas_err[6];              /* height, chest, waist, hip, inseam, shoulder: estimate - truth, cm;
                                       NAN where the network does not predict it */
    float iou;                      /* NAN for the network alone */
    float vert_mm;                  /* mean vertex distance to the true body, mm; NAN when not built */
    int iterations;                 /* bodies rendered by the fit (0 for the network alone) */
};

/* One person's results. */
struct person_res {
    char id[72];
    bool alpha, hint;
    char outfit[64];                /* e.g. "t-shirt+trousers" */
    float weight, gender, arm_down, leg_spread;   /* truth, for the worst-case table */
    struct person_way w[N_WAYS];
};

/* One garment's result by one way. */
struct garment_way {
    bool ok;
    char error[300];
    int type_est;
    float confidence;
    float lm_err_pct;               /* mean landmark distance, % of image height; < 0 = none compared */
    int lm_n;                       /* landmarks compared */
    float length_err, sleeve_err;   /* estimate - truth; NAN where not compared */
};

/* One garment's results. */
struct garment_res {
    char id[72];
    int type_true;
    char print[16];
    float length, sleeve;
    struct garment_way w[N_WAYS];
};

static const char *const MEAS_NAMES[6] = {"height", "chest", "waist", "hip", "inseam", "shoulder"};

static void meas_array(const struct json_val *m, float out[6])
{
    for (int k = 0; k < 6; k++)
        out[k] = (float)json_get_num(m, MEAS_NAMES[k], NAN);
}

/* Load and segment DIR/file. */
static enum tryon_status load(const char *dir, const char *file, struct img8 *im, uint8_t **mask)
{
    char path[1024];
    enum tryon_status s = fs_join(path, sizeof path, dir, file);
    bool alpha = false;
    if (s || (s = img_load_png(path, NULL, im, &alpha)))
        return s;
    *mask = malloc((size_t)im->w * im->h);
    if (!*mask) {
        img8_free(im);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    if ((s = avatar_segment(im, alpha, *mask))) {
        free(*mask);
        *mask = NULL;
        img8_free(im);
        return tryon_failctx(s, "%s", path);
    }
    return TRYON_OK;
}

/* Mark way `w` failed with the current error message. */
static void person_fail(struct person_way *w)
{
    w->ok = false;
    snprintf(w->error, sizeof w->error, "%s", tryon_errmsg());
}

/* Mean distance (mm) between the vertices of the true body mesh and those of the body p
   (same topology, both in the body frame). The torso turn's sign is not observable in a
   front photo (avatar.h), so a turned estimate is also built mirrored and the nearer one
   counts. */
static enum tryon_status vertex_error(const struct avatar_model *model, const struct avatar_mesh *truth,
                                      const struct avatar_body_params *p, float *mm)
{
    struct avatar_body_params q = *p;
    *mm = INFINITY;
    for (int sign = 0; sign < (p->torso_turn_deg != 0.0f ? 2 : 1); sign++) {
        q.torso_turn_deg = sign ? -p->torso_turn_deg : p->torso_turn_deg;
        struct avatar_mesh e;
        enum tryon_status s = avatar_body_build(model, &q, &e);
        if (s)
            return s;
        assert(e.nv == truth->nv);
        double sum = 0;
        for (int v = 0; v < e.nv; v++) {
            const float *a = truth->pos + 3 * (size_t)v, *b = e.pos + 3 * (size_t)v;
            float dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
            sum += sqrt(dx * dx + dy * dy + dz * dz);
        }
        avatar_mesh_free(&e);
        *mm = fminf(*mm, (float)(1000.0 * sum / truth->nv));
    }
    return TRYON_OK;
}

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* The body the network alone describes: its phenotype (ethnic weights and the height
   macro at MakeHuman's default, as the fit leaves them), pose and stature, clamped into
   avatar_body_build's ranges. */
static void net_body(const struct avatar_person_prior *pr, float stature_cm, struct avatar_body_params *b)
{
    memset(b, 0, sizeof *b);
    avatar_phenotype_default(&b->ph);
    b->ph.gender = clampf(pr->gender, 0, 1);
    b->ph.age = clampf(pr->age, 0, 1);
    b->ph.muscle = clampf(pr->muscle, 0, 1);
    b->ph.weight = clampf(pr->weight, 0, 1);
    b->ph.proportions = clampf(pr->proportions, 0, 1);
    b->stature_m = clampf(0.01f * stature_cm, 0.5f, 2.6f);
    b->arm_down_deg = clampf(pr->arm_down_deg, -20, 60);
    b->leg_spread_deg = clampf(pr->leg_spread_deg, -5, 20);
    b->torso_turn_deg = clampf(pr->torso_turn_deg, -30, 30);
}

/* A fitted body's errors against the truth (stature_true cm, mt the true measurements). */
static void fit_errors(const struct avatar_person_est *est, float stature_true, const float mt[6],
                       struct person_way *w)
{
    w->ok = true;
    w->stature_err_cm = 100.0f * est->stature_m - stature_true;
    w->iou = est->iou;
    w->iterations = est->iterations;
    const float me[6] = {est->meas.height_cm, est->meas.chest_cm, est->meas.waist_cm,
                         est->meas.hip_cm, est->meas.inseam_cm, est->meas.shoulder_cm};
    for (int k = 0; k < 6; k++)
        w->meas_err[k] = me[k] - mt[k];
}

static void eval_person(const struct avatar_model *model, struct worker_nets *nets, const char *dir,
                        const struct json_val *t, struct person_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
    for (int k = 0; k < N_WAYS; k++)
        r->w[k].vert_mm = NAN;
    const struct json_val *v;
    r->alpha = (v = json_get(t, "alpha")) && v->b;
    r->hint = (v = json_get(t, "height_hint")) && v->b;
    r->weight = (float)json_get_num(t, "weight", 0);
    r->gender = (float)json_get_num(t, "gender", 0);
    const struct json_val *pose = json_get(t, "pose");
    r->arm_down = (float)json_get_num(pose, "arm_down_deg", 0);
    r->leg_spread = (float)json_get_num(pose, "leg_spread_deg", 0);
    const struct json_val *wear = json_get(t, "wearing");
    r->outfit[0] = 0;
    for (size_t k = 0; wear && k < wear->n; k++) {
        size_t n = strlen(r->outfit);
        snprintf(r->outfit + n, sizeof r->outfit - n, "%s%s", k ? "+" : "", json_get_str(&wear->items[k], "type"));
    }
    if (!r->outfit[0])
        snprintf(r->outfit, sizeof r->outfit, "none");
    float stature_true = 100.0f * (float)json_get_num(t, "stature_m", 0);
    float mt[6];
    meas_array(json_get(t, "measurements_cm"), mt);
    const int n_ways = nets ? N_WAYS : 1;
    struct img8 im;
    uint8_t *mask;
    enum tryon_status s = load(dir, json_get_str(t, "file"), &im, &mask);
    if (s) {
        for (int k = 0; k < n_ways; k++)
            person_fail(&r->w[k]);
        return;
    }
    struct avatar_person_est est;
    if ((s = avatar_estimate_person(model, &im, mask, r->hint ? stature_true : 0, &est)))
        person_fail(&r->w[WAY_CLASSICAL]);
    else
        fit_errors(&est, stature_true, mt, &r->w[WAY_CLASSICAL]);
    struct avatar_body_params fitted[N_WAYS];
    bool built[N_WAYS] = {true, false, false};   /* fitted[k] describes a body to compare */
    fitted[WAY_CLASSICAL] = est.body;
    if (nets) {
        struct avatar_person_prior prior;
        struct worker_net_body pred;
        if (worker_nets_person(nets, &im, mask, &prior, &pred)) {
            person_fail(&r->w[WAY_NET]);
            person_fail(&r->w[WAY_FIT]);
        } else {
            struct person_way *w = &r->w[WAY_NET];
            w->ok = true;
            w->stature_err_cm = pred.stature_cm - stature_true;
            for (int k = 0; k < 6; k++)
                w->meas_err[k] = pred.meas_cm[k] - mt[k];
            w->iou = NAN;
            if ((built[WAY_NET] = isfinite(pred.stature_cm)))
                net_body(&prior, pred.stature_cm, &fitted[WAY_NET]);
            if (avatar_estimate_person_prior(model, &im, mask, r->hint ? stature_true : 0, &prior, &est))
                person_fail(&r->w[WAY_FIT]);
            else {
                fit_errors(&est, stature_true, mt, &r->w[WAY_FIT]);
                fitted[WAY_FIT] = est.body;
                built[WAY_FIT] = true;
            }
        }
    }
    free(mask);
    img8_free(&im);
    if (!nets)
        return;   /* the classical report alone has no per-vertex error */

    /* per-vertex error: the true body (every macro, ethnic weights, stature, pose) against each estimate */
    struct avatar_body_params tb;
    memset(&tb, 0, sizeof tb);
    tb.ph.gender = (float)json_get_num(t, "gender", 0.5);
    tb.ph.age = (float)json_get_num(t, "age", 0.5);
    tb.ph.muscle = (float)json_get_num(t, "muscle", 0.5);
    tb.ph.weight = (float)json_get_num(t, "weight", 0.5);
    tb.ph.height = (float)json_get_num(t, "height", 0.5);
    tb.ph.proportions = (float)json_get_num(t, "proportions", 0.5);
    const struct json_val *eth = json_get(t, "ethnic");
    tb.ph.african = (float)json_get_num(eth, "african", 0);
    tb.ph.asian = (float)json_get_num(eth, "asian", 0);
    tb.ph.caucasian = (float)json_get_num(eth, "caucasian", 0);
    tb.stature_m = 0.01f * stature_true;
    tb.arm_down_deg = r->arm_down;
    tb.leg_spread_deg = r->leg_spread;
    tb.torso_turn_deg = (float)json_get_num(pose, "torso_turn_deg", 0);
    struct avatar_mesh truth;
    if ((s = avatar_body_build(model, &tb, &truth))) {
        for (int k = 0; k < n_ways; k++)
            if (r->w[k].ok)
                person_fail(&r->w[k]);
        return;
    }
    for (int k = 0; k < n_ways; k++)
        if (r->w[k].ok && built[k] && vertex_error(model, &truth, &fitted[k], &r->w[k].vert_mm))
            person_fail(&r->w[k]);
    avatar_mesh_free(&truth);
}

/* Mean distance between the estimated landmarks (photo pixels; absent where not finite,
   or negative when negative_absent) and the true ones the truth has, in % of the image
   height h; lm_n the count compared (0: lm_err_pct -1). */
static void landmark_error(const struct json_val *lm, const float est[AVATAR_LM_N][2], bool negative_absent, int h,
                           struct garment_way *w)
{
    double sum = 0;
    w->lm_n = 0;
    for (int l = 0; lm && l < AVATAR_LM_N; l++) {
        const struct json_val *p = json_get(lm, avatar_landmark_name((enum avatar_landmark)l));
        if (!p || p->type != JSON_ARR || p->n != 2 || !isfinite(est[l][0]) || !isfinite(est[l][1]) ||
            (negative_absent && (est[l][0] < 0 || est[l][1] < 0)))
            continue;
        float dx = est[l][0] - (float)p->items[0].num, dy = est[l][1] - (float)p->items[1].num;
        sum += sqrt(dx * dx + dy * dy);
        w->lm_n++;
    }
    w->lm_err_pct = w->lm_n ? (float)(100.0 * sum / w->lm_n / h) : -1.0f;
}

/* Sleeve length is compared only for the types that have sleeves. */
static bool has_sleeves(int type)
{
    return type == AVATAR_GARMENT_TSHIRT || type == AVATAR_GARMENT_LONGSLEEVE || type == AVATAR_GARMENT_DRESS;
}

/* A classical garment estimate's errors. */
static void garment_errors(const struct avatar_garment_est *est, const struct json_val *t, int h,
                           const struct garment_res *r, struct garment_way *w)
{
    w->ok = true;
    w->type_est = (int)est->type;
    w->confidence = est->type_confidence;
    landmark_error(json_get(t, "landmarks"), est->lm, true, h, w);
    w->length_err = est->length - r->length;
    w->sleeve_err = has_sleeves(r->type_true) ? est->sleeve - r->sleeve : NAN;
}

static void eval_garment(struct worker_nets *nets, const char *dir, const struct json_val *t, struct garment_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
    const int n_ways = nets ? N_WAYS : 1;
    const char *type = json_get_str(t, "type");
    enum avatar_garment_type tt = AVATAR_GARMENT_NTYPES;
    if (!type || avatar_garment_type_parse(type, &tt)) {
        for (int k = 0; k < n_ways; k++)
            snprintf(r->w[k].error, sizeof r->w[k].error, "truth has no known type");
        return;
    }
    r->type_true = (int)tt;
    const struct json_val *pr = json_get(t, "print");
    snprintf(r->print, sizeof r->print, "%s", pr && json_get_str(pr, "kind") ? json_get_str(pr, "kind") : "?");
    r->length = (float)json_get_num(t, "length", 0);
    r->sleeve = (float)json_get_num(t, "sleeve", 0);
    struct img8 im;
    uint8_t *mask;
    enum tryon_status s = load(dir, json_get_str(t, "file"), &im, &mask);
    if (s) {
        for (int k = 0; k < n_ways; k++)
            snprintf(r->w[k].error, sizeof r->w[k].error, "%s", tryon_errmsg());
        return;
    }
    int h = im.h;
    struct avatar_garment_est est;
    if (avatar_estimate_garment(&im, mask, "", &est))
        snprintf(r->w[WAY_CLASSICAL].error, sizeof r->w[WAY_CLASSICAL].error, "%s", tryon_errmsg());
    else
        garment_errors(&est, t, h, r, &r->w[WAY_CLASSICAL]);
    struct worker_net_garment pred;
    if (nets && worker_nets_garment(nets, &im, mask, &pred)) {
        snprintf(r->w[WAY_NET].error, sizeof r->w[WAY_NET].error, "%s", tryon_errmsg());
        snprintf(r->w[WAY_FIT].error, sizeof r->w[WAY_FIT].error, "%s", tryon_errmsg());
    } else if (nets) {
        struct garment_way *w = &r->w[WAY_NET];
        w->ok = true;
        w->type_est = (int)pred.type;
        w->confidence = pred.confidence;
        landmark_error(json_get(t, "landmarks"), pred.lm, false, h, w);
        w->length_err = pred.length - r->length;
        w->sleeve_err = has_sleeves(r->type_true) ? pred.sleeve - r->sleeve : NAN;
        if (avatar_estimate_garment(&im, mask, avatar_garment_type_name(pred.type), &est))
            snprintf(r->w[WAY_FIT].error, sizeof r->w[WAY_FIT].error, "%s", tryon_errmsg());
        else
            garment_errors(&est, t, h, r, &r->w[WAY_FIT]);
    }
    free(mask);
    img8_free(&im);
}

/* Read truth.jsonl into an array of parsed lines. */
static int read_truth(const char *dir, struct json_val ***out)
{
    char path[1024];
    uint8_t *data;
    size_t len;
    if (fs_join(path, sizeof path, dir, "truth.jsonl") || fs_read_all(path, 0, &data, &len)) {
        fprintf(stderr, "avatar_eval: %s\n", tryon_errmsg());
        exit(2);
    }
    int n = 0, cap = 0;
    struct json_val **lines = NULL;
    char *p = (char *)data;
    while (*p) {
        char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > 0) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                lines = realloc(lines, sizeof *lines * (size_t)cap);
            }
            if (json_parse(p, l, path, &lines[n])) {
                fprintf(stderr, "avatar_eval: %s\n", tryon_errmsg());
                exit(2);
            }
            n++;
        }
        p += l + (e ? 1 : 0);
    }
    free(data);
    *out = lines;
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Mean absolute value, median absolute value, 90th percentile, max, and mean (bias). */
static void stats(const float *v, int n, float out[5])
{
    float *a = malloc(sizeof *a * (size_t)(n ? n : 1));
    double sum = 0, sabs = 0;
    for (int i = 0; i < n; i++) {
        a[i] = fabsf(v[i]);
        sabs += a[i];
        sum += v[i];
    }
    qsort(a, (size_t)n, sizeof *a, cmp_float);
    out[0] = n ? (float)(sabs / n) : NAN;
    out[1] = n ? a[n / 2] : NAN;
    out[2] = n ? a[(int)(0.9 * (n - 1))] : NAN;
    out[3] = n ? a[n - 1] : NAN;
    out[4] = n ? (float)(sum / n) : NAN;
    free(a);
}

/* Mean absolute error by outfit of way k (a dress or a skirt hides the legs and hips). */
static void outfit_table(const struct person_res *pr, int np, int k)
{
    printf("| outfit | n | stature | chest | waist | hip | IoU |\n|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < np; i++) {
        if (!pr[i].w[k].ok)
            continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = pr[j].w[k].ok && !strcmp(pr[j].outfit, pr[i].outfit);
        if (seen)
            continue;
        double e[5] = {0};
        int c = 0;
        for (int j = i; j < np; j++) {
            const struct person_way *w = &pr[j].w[k];
            if (w->ok && !strcmp(pr[j].outfit, pr[i].outfit)) {
                e[0] += fabsf(w->stature_err_cm), e[1] += fabsf(w->meas_err[1]);
                e[2] += fabsf(w->meas_err[2]), e[3] += fabsf(w->meas_err[3]), e[4] += w->iou;
                c++;
            }
        }
        printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.3f |\n", pr[i].outfit, c, e[0] / c, e[1] / c, e[2] / c,
               e[3] / c, e[4] / c);
    }
}

/* A summary cell: the mean of |v| (or of v when signed is false) over the finite values
   of the successful estimates, "-" when there are none. */
struct cell_acc { double sum; int n; };
static void acc_add(struct cell_acc *a, float v, bool absolute)
{
    if (isfinite(v))
        a->sum += absolute ? fabsf(v) : v, a->n++;
}
static void print_cell(const struct cell_acc *a, const char *fmt)
{
    if (!a->n) {
        printf(" - |");
        return;
    }
    printf(" ");
    printf(fmt, a->sum / a->n);
    printf(" |");
}

/* The summary of the three ways (first in the report with --models). */
static void summary(const struct person_res *pr, int np, const struct garment_res *gr, int ng,
                    struct worker_nets *nets)
{
    const char *why_b, *why_g;
    const char *nb = worker_nets_name(nets, WORKER_NET_BODY, &why_b), *ngn = worker_nets_name(nets, WORKER_NET_GARMENT, &why_g);
    printf("## Summary: classical, network, network + fit\n\n");
    printf("Body network: %s. Garment network: %s.\n", nb ? nb : "not loaded", ngn ? ngn : "not loaded");
    if (!nb)
        printf("- body network not loaded: %s\n", why_b);
    if (!ngn)
        printf("- garment network not loaded: %s\n", why_g);
    printf("\nMean absolute errors over the photos each way estimated; \"network\" is the network alone "
           "(its own regression of stature and the tape measurements; its body is built from its phenotype, pose "
           "and stature), \"network + fit\" the silhouette fit with the network's prior / the classical garment "
           "estimator with the network's type as the hint. Sleeve: t-shirts, long sleeves and dresses only. "
           "Per-vertex: mean distance of the estimated body's vertices from the true body's, body frame.\n\n");
    printf("| metric | classical | network | network + fit |\n|---|---|---|---|\n");
    printf("| persons estimated (of %d) |", np);
    for (int k = 0; k < N_WAYS; k++) {
        int c = 0;
        for (int i = 0; i < np; i++)
            c += pr[i].w[k].ok;
        printf(" %d |", c);
    }
    printf("\n");
    for (int q = -1; q < 6; q++) {
        if (q == 0)
            continue;   /* the measured height repeats the stature */
        printf("| %s, cm |", q < 0 ? "stature" : MEAS_NAMES[q]);
        for (int k = 0; k < N_WAYS; k++) {
            struct cell_acc a = {0};
            for (int i = 0; i < np; i++)
                if (pr[i].w[k].ok)
                    acc_add(&a, q < 0 ? pr[i].w[k].stature_err_cm : pr[i].w[k].meas_err[q], true);
            print_cell(&a, "%.2f");
        }
        printf("\n");
    }
    printf("| per-vertex error, mm |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < np; i++)
            if (pr[i].w[k].ok)
                acc_add(&a, pr[i].w[k].vert_mm, true);
        print_cell(&a, "%.1f");
    }
    printf("\n| silhouette IoU (mean) |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < np; i++)
            if (pr[i].w[k].ok)
                acc_add(&a, pr[i].w[k].iou, false);
        print_cell(&a, "%.4f");
    }
    printf("\n| fit renders per person (mean) |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < np && k != WAY_NET; i++)
            if (pr[i].w[k].ok)
                acc_add(&a, (float)pr[i].w[k].iterations, false);
        print_cell(&a, "%.0f");
    }
    printf("\n| garments estimated (of %d) |", ng);
    for (int k = 0; k < N_WAYS; k++) {
        int c = 0;
        for (int i = 0; i < ng; i++)
            c += gr[i].w[k].ok;
        printf(" %d |", c);
    }
    printf("\n| garment type accuracy, %% |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok)
                acc_add(&a, 100.0f * (gr[i].w[k].type_est == gr[i].type_true), false);
        print_cell(&a, "%.1f");
    }
    printf("\n| landmark error, %% of image height |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok && gr[i].w[k].lm_n > 0)
                acc_add(&a, gr[i].w[k].lm_err_pct, false);
        print_cell(&a, "%.2f");
    }
    printf("\n| length (0..1) |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok)
                acc_add(&a, gr[i].w[k].length_err, true);
        print_cell(&a, "%.3f");
    }
    printf("\n| sleeve (0..1) |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok)
                acc_add(&a, gr[i].w[k].sleeve_err, true);
        print_cell(&a, "%.3f");
    }
    printf("\n\nFailures by way:\n");
    int nf = 0;
    for (int k = 0; k < N_WAYS; k++) {
        if (k != WAY_CLASSICAL && !nb)
            printf("\n- %s, every person: no body network", WAY_NAMES[k]), nf++;
        for (int i = 0; i < np && (k == WAY_CLASSICAL || nb); i++)
            if (!pr[i].w[k].ok)
                printf("\n- %s, person %s: %s", WAY_NAMES[k], pr[i].id, pr[i].w[k].error), nf++;
        if (k != WAY_CLASSICAL && !ngn)
            printf("\n- %s, every garment: no garment network", WAY_NAMES[k]), nf++;
        for (int i = 0; i < ng && (k == WAY_CLASSICAL || ngn); i++)
            if (!gr[i].w[k].ok)
                printf("\n- %s, garment %s: %s", WAY_NAMES[k], gr[i].id, gr[i].w[k].error), nf++;
    }
    printf("%s", nf ? "\n\n" : "\nnone\n\n");
}

int main(int argc, char **argv)
{
    const char *usage = "usage: avatar_eval DIR [--threads N] [--models MODELS_DIR]\n";
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *dir = argv[1], *models = NULL;
    int threads = 0;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc)
            threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--models") && a + 1 < argc)
            models = argv[++a];
        else {
            fprintf(stderr, "avatar_eval: unknown argument '%s'\n%s", argv[a], usage);
            return 2;
        }
    }
    if (threads > 0)
        omp_set_num_threads(threads);
    struct avatar_model *model;
    if (avatar_model_load(NULL, &model)) {
        fprintf(stderr, "avatar_eval: %s\n", tryon_errmsg());
        return 2;
    }
    /* one kernels context and one set of networks per OpenMP thread */
    const int nt = omp_get_max_threads();
    struct kern_ctx **ctx = calloc((size_t)nt, sizeof *ctx);
    struct worker_nets **nets = calloc((size_t)nt, sizeof *nets);
    for (int k = 0; models && k < nt; k++) {
        if (!(ctx[k] = kern_create(KERN_BACKEND_CPU, 1)) || worker_nets_load(models, ctx[k], &nets[k])) {
            fprintf(stderr, "avatar_eval: %s\n", tryon_errmsg());
            return 2;
        }
    }
    struct json_val **lines;
    int n = read_truth(dir, &lines);
    int np = 0, ng = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(json_get_str(lines[i], "kind"), "person"))
            ng++;
        else
            np++;
    struct person_res *pr = calloc((size_t)np + 1, sizeof *pr);
    struct garment_res *gr = calloc((size_t)ng + 1, sizeof *gr);
    int *slot = malloc(sizeof *slot * (size_t)(n ? n : 1));
    for (int i = 0, a = 0, b = 0; i < n; i++)
        slot[i] = strcmp(json_get_str(lines[i], "kind"), "person") ? b++ : a++;
    double t0 = time_now();
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        struct worker_nets *mine = nets[omp_get_thread_num()];
        if (!strcmp(json_get_str(lines[i], "kind"), "person"))
            eval_person(model, mine, dir, lines[i], &pr[slot[i]]);
        else
            eval_garment(mine, dir, lines[i], &gr[slot[i]]);
    }
    double secs = time_now() - t0;

    if (models)
        summary(pr, np, gr, ng, nets[0]);

    /* ---- persons (classical) ---- */
    int pok = 0;
    float *col = malloc(sizeof *col * (size_t)(np + ng + 1));
    for (int i = 0; i < np; i++)
        pok += pr[i].w[0].ok;
    printf("## Persons (%d photos, %d estimated, %d failed)%s\n\n", np, pok, np - pok, models ? ": classical" : "");
    printf("Error of the estimate against the truth, cm (|e|: mean absolute; bias: mean signed):\n\n");
    printf("| quantity | mean abs | median abs | 90th pct abs | max abs | bias |\n|---|---|---|---|---|---|\n");
    for (int q = -1; q < 6; q++) {
        int k = 0;
        for (int i = 0; i < np; i++)
            if (pr[i].w[0].ok)
                col[k++] = q < 0 ? pr[i].w[0].stature_err_cm : pr[i].w[0].meas_err[q];
        float s[5];
        stats(col, k, s);
        printf("| %s | %.2f | %.2f | %.2f | %.2f | %+.2f |\n", q < 0 ? "stature (fit)" : MEAS_NAMES[q], s[0], s[1],
               s[2], s[3], s[4]);
    }
    {
        int k = 0;
        for (int i = 0; i < np; i++)
            if (pr[i].w[0].ok)
                col[k++] = 1.0f - pr[i].w[0].iou;
        float s[5];
        stats(col, k, s);
        printf("\nSilhouette IoU: mean %.4f, worst %.4f\n\n", 1.0f - s[4], 1.0f - s[3]);
    }
    printf("Mean absolute error by outfit (cm):\n\n");
    outfit_table(pr, np, WAY_CLASSICAL);
    /* the worst five by the sum of the girth errors */
    printf("\nWorst five persons by |chest| + |waist| + |hip| error:\n\n"
           "| id | outfit | gender | weight | arm down | leg spread | stature e | chest e | waist e | hip e | IoU |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    int *order = malloc(sizeof *order * (size_t)(np + 1));
    int no = 0;
    for (int i = 0; i < np; i++)
        if (pr[i].w[0].ok)
            order[no++] = i;
    for (int a = 0; a < no; a++)
        for (int b = a + 1; b < no; b++) {
            const float *ea = pr[order[a]].w[0].meas_err, *eb = pr[order[b]].w[0].meas_err;
            if (fabsf(eb[1]) + fabsf(eb[2]) + fabsf(eb[3]) > fabsf(ea[1]) + fabsf(ea[2]) + fabsf(ea[3])) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
        }
    for (int a = 0; a < no && a < 5; a++) {
        const struct person_res *r = &pr[order[a]];
        const struct person_way *w = &r->w[0];
        printf("| %s | %s | %.2f | %.2f | %.0f | %.0f | %+.1f | %+.1f | %+.1f | %+.1f | %.3f |\n", r->id, r->outfit,
               r->gender, r->weight, r->arm_down, r->leg_spread, w->stature_err_cm, w->meas_err[1], w->meas_err[2],
               w->meas_err[3], w->iou);
    }
    for (int i = 0; i < np; i++)
        if (!pr[i].w[0].ok)
            printf("\n- person %s failed: %s", pr[i].id, pr[i].w[0].error);
    printf("\n\n");
    if (models) {
        printf("## Persons: network + fit\n\nMean absolute error by outfit (cm):\n\n");
        outfit_table(pr, np, WAY_FIT);
        printf("\n");
    }

    /* ---- garments (classical) ---- */
    int gok = 0, correct = 0, conf[AVATAR_GARMENT_NTYPES][AVATAR_GARMENT_NTYPES] = {{0}};
    for (int i = 0; i < ng; i++)
        if (gr[i].w[0].ok) {
            gok++;
            correct += gr[i].w[0].type_est == gr[i].type_true;
            conf[gr[i].type_true][gr[i].w[0].type_est]++;
        }
    printf("## Garments (%d photos, %d estimated, %d failed)%s\n\n", ng, gok, ng - gok, models ? ": classical" : "");
    printf("Type accuracy: %.1f%% (%d of %d)\n\nConfusion matrix (rows: true type, columns: estimated):\n\n| |",
           gok ? 100.0 * correct / gok : 0.0, correct, gok);
    for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++)
        printf(" %s |", avatar_garment_type_name((enum avatar_garment_type)t));
    printf("\n|---|");
    for (int t = 0; t < AVATAR_GARMENT_NTYPES; t++)
        printf("---|");
    printf("\n");
    for (int a = 0; a < AVATAR_GARMENT_NTYPES; a++) {
        printf("| %s |", avatar_garment_type_name((enum avatar_garment_type)a));
        for (int b = 0; b < AVATAR_GARMENT_NTYPES; b++)
            printf(" %d |", conf[a][b]);
        printf("\n");
    }
    int k = 0;
    for (int i = 0; i < ng; i++)
        if (gr[i].w[0].ok && gr[i].w[0].lm_n > 0)
            col[k++] = gr[i].w[0].lm_err_pct;
    float s[5];
    stats(col, k, s);
    printf("\nLandmark error (mean distance per garment over the landmarks both have, %% of image height), "
           "%d garments: mean %.2f, median %.2f, 90th pct %.2f, max %.2f\n", k, s[0], s[1], s[2], s[3]);
    printf("\nMisclassified garments:\n\n| id | true | estimated | confidence | print | length | sleeve |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < ng; i++)
        if (gr[i].w[0].ok && gr[i].w[0].type_est != gr[i].type_true)
            printf("| %s | %s | %s | %.2f | %s | %.2f | %.2f |\n", gr[i].id,
                   avatar_garment_type_name((enum avatar_garment_type)gr[i].type_true),
                   avatar_garment_type_name((enum avatar_garment_type)gr[i].w[0].type_est), gr[i].w[0].confidence,
                   gr[i].print, gr[i].length, gr[i].sleeve);
    for (int i = 0; i < ng; i++)
        if (!gr[i].w[0].ok)
            printf("\n- garment %s failed: %s", gr[i].id, gr[i].w[0].error);
    if (models) {
        printf("\n\n## Garments: network\n\nMisclassified by the garment network (network + fit takes its type):\n\n"
               "| id | true | estimated | confidence | print | length | sleeve |\n|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < ng; i++)
            if (gr[i].w[WAY_NET].ok && gr[i].w[WAY_NET].type_est != gr[i].type_true)
                printf("| %s | %s | %s | %.2f | %s | %.2f | %.2f |\n", gr[i].id,
                       avatar_garment_type_name((enum avatar_garment_type)gr[i].type_true),
                       avatar_garment_type_name((enum avatar_garment_type)gr[i].w[WAY_NET].type_est),
                       gr[i].w[WAY_NET].confidence, gr[i].print, gr[i].length, gr[i].sleeve);
    }
    printf("\n\n(%d images estimated in %.1f s on %d threads)\n", n, secs, omp_get_max_threads());

    free(order);
    free(col);
    free(slot);
    free(pr);
    free(gr);
    for (int i = 0; i < n; i++)
        json_free(lines[i]);
    free(lines);
    for (int t = 0; t < nt; t++) {
        worker_nets_free(nets[t]);
        if (ctx[t])
            kern_destroy(ctx[t]);
    }
    free(nets);
    free(ctx);
    avatar_model_free(model);
    return 0;
}
