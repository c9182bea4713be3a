/* avatar_eval.c: the estimators against the truth of a synthetic set.
 *
 * usage: avatar_eval DIR [--threads N] [--models MODELS_DIR] [--no-hints]
 *   DIR is the output of `tryon synth` (truth.jsonl, persons/, garments/), normally
 *   configs/synth/heldout.yaml's. For each person photo: segment, avatar_estimate_person
 *   (with the height hint only where the synth gave one, i.e. where the camera differs
 *   from the standard one; never with --no-hints), and compare stature and the tape measurements of the
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
 *   When the folder also holds a back generator (garment_back_generator.safetensors), the
 *   back texture is measured: for every garment photo the generator's patch
 *   (worker_nets_garment's back, zero noise) and the classical back (the constant back
 *   panel of avatar_garment_texture on the classical estimate) against the true back
 *   (worker_synth_back_patch of the garment rebuilt from its truth object, at the
 *   generator's size and side): mean L1 by print kind, and the patches as sets (kernel
 *   MMD^2 with a permutation p-value, a Frechet distance on PCA features of thumbnails);
 *   rows "back texture ..." in the summary and a section "Back texture".
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
    float cam_h_err_cm, cam_tilt_err_deg;   /* the solved camera's height and tilt against the
                                               truth's; NAN where no camera was solved (no hint) */
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
    float shape_iou;                /* the worker's outline check (avatar_garment_shape_iou) on the
                                       estimate; NAN for the network alone or when it fails */
};

/* One garment's results. */
struct garment_res {
    char id[72];
    int type_true;
    char print[16];
    float length, sleeve;
    struct garment_way w[N_WAYS];
    /* the back texture (only with a back generator) */
    bool synth_ok;                     /* synth rebuilt from the truth object */
    struct worker_synth_garment synth; /* what worker_synth_back_patch needs: colours, print, scale */
    uint8_t *back_gen;                 /* the generated patch: 3 planar sRGB byte channels of
                                          back_b x back_b (row 0 = top); NULL when none */
    int back_b;
    float back_side_m;
    char back_error[300];              /* why there is no generated patch */
    bool base_ok;                      /* the classical texture's back colour was read */
    float base_lin[3];                 /* that colour, linear RGB */
    char base_error[300];
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
                       const struct json_val *t, struct person_way *w)
{
    w->ok = true;
    w->cam_h_err_cm = w->cam_tilt_err_deg = NAN;
    if (est->camera_solved) {
        w->cam_h_err_cm = 100.0f * (est->camera.eye[1] - (float)json_get_num(t, "camera_height_m", NAN));
        w->cam_tilt_err_deg = est->camera_tilt_deg - (float)json_get_num(t, "camera_tilt_deg", NAN);
    }
    w->stature_err_cm = 100.0f * est->stature_m - stature_true;
    w->iou = est->iou;
    w->iterations = est->iterations;
    const float me[6] = {est->meas.height_cm, est->meas.chest_cm, est->meas.waist_cm,
                         est->meas.hip_cm, est->meas.inseam_cm, est->meas.shoulder_cm};
    for (int k = 0; k < 6; k++)
        w->meas_err[k] = me[k] - mt[k];
}

static void eval_person(const struct avatar_model *model, struct worker_nets *nets, const char *dir,
                        const struct json_val *t, bool no_hints, struct person_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
    for (int k = 0; k < N_WAYS; k++)
        r->w[k].vert_mm = NAN;
    const struct json_val *v;
    r->alpha = (v = json_get(t, "alpha")) && v->b;
    r->hint = !no_hints && (v = json_get(t, "height_hint")) && v->b;
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
        fit_errors(&est, stature_true, mt, t, &r->w[WAY_CLASSICAL]);
    struct avatar_body_params fitted[N_WAYS];
    bool built[N_WAYS] = {true, false, false};   /* fitted[k] describes a body to compare */
    fitted[WAY_CLASSICAL] = est.body;
    if (nets) {
        struct avatar_person_prior prior;
        struct worker_net_body pred;
        if (worker_nets_person(nets, &im, mask, r->hint ? stature_true : 0, &prior, &pred)) {
            person_fail(&r->w[WAY_NET]);
            person_fail(&r->w[WAY_FIT]);
        } else {
            struct person_way *w = &r->w[WAY_NET];
            w->ok = true;
            w->stature_err_cm = pred.stature_cm - stature_true;
            for (int k = 0; k < 6; k++)
                w->meas_err[k] = pred.meas_cm[k] - mt[k];
            w->iou = w->cam_h_err_cm = w->cam_tilt_err_deg = NAN;
            if ((built[WAY_NET] = isfinite(pred.stature_cm)))
                net_body(&prior, pred.stature_cm, &fitted[WAY_NET]);
            if (avatar_estimate_person_prior(model, &im, mask, r->hint ? stature_true : 0, &prior, &est))
                person_fail(&r->w[WAY_FIT]);
            else {
                fit_errors(&est, stature_true, mt, t, &r->w[WAY_FIT]);
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
    w->shape_iou = NAN;
    landmark_error(json_get(t, "landmarks"), est->lm, true, h, w);
    w->length_err = est->length - r->length;
    w->sleeve_err = has_sleeves(r->type_true) ? est->sleeve - r->sleeve : NAN;
}

/* A truth object's colour field (sRGB array of 3) as linear RGB; false when malformed. */
static bool truth_color(const struct json_val *a, float lin[3])
{
    if (!a || a->type != JSON_ARR || a->n != 3)
        return false;
    for (int c = 0; c < 3; c++) {
        if (a->items[c].type != JSON_NUM)
            return false;
        lin[c] = img_srgb_to_linear((float)a->items[c].num);
    }
    return true;
}

/* The synth garment a truth object describes (json_garment's fields in worker/synth.c), as
   far as its back's print needs it; false when a field is missing or unknown. */
static bool synth_from_truth(const struct json_val *t, enum avatar_garment_type type, struct worker_synth_garment *g)
{
    memset(g, 0, sizeof *g);
    g->est.type = type;
    const struct json_val *pr = json_get(t, "print");
    const char *kind = pr ? json_get_str(pr, "kind") : NULL;
    if (!truth_color(json_get(t, "color_srgb"), g->est.color) || !kind)
        return false;
    int k = 0;
    while (k < WORKER_PRINT_N && strcmp(kind, worker_print_name((enum worker_print)k)))
        k++;
    g->print = (enum worker_print)k;
    g->print_scale_m = (float)json_get_num(pr, "scale_m", 0);
    if (k == WORKER_PRINT_NONE)
        return true;   /* a plain back: no print colour or scale needed */
    return k < WORKER_PRINT_N && g->print_scale_m > 0 && truth_color(json_get(pr, "color_srgb"), g->print_color);
}

/* A linear albedo as the sRGB byte worker_synth_back_patch writes. */
static uint8_t srgb_byte(float lin)
{
    return (uint8_t)lrintf(255.0f * fminf(1.0f, fmaxf(0.0f, img_linear_to_srgb(lin))));
}

/* The classical back colour: the garment texture the classical way builds (the worker's
   texture size), read at one back-panel texel (u = 0.75, v = 0.5; the panel is constant). */
#define EVAL_TEXTURE_SIZE 512
static void classical_back(const struct avatar_model *model, const struct img8 *im, const uint8_t *mask,
                           const struct avatar_garment_est *est, struct garment_res *r)
{
    struct imgf tex;
    if (avatar_garment_texture(model, im, mask, est, EVAL_TEXTURE_SIZE, &tex)) {
        snprintf(r->base_error, sizeof r->base_error, "%s", tryon_errmsg());
        return;
    }
    const float *px = tex.px + ((size_t)(EVAL_TEXTURE_SIZE / 2) * EVAL_TEXTURE_SIZE + 3 * EVAL_TEXTURE_SIZE / 4) * 3;
    memcpy(r->base_lin, px, sizeof r->base_lin);
    r->base_ok = true;
    imgf_free(&tex);
}

/* The generator's patch (pred->back, linear RGB interleaved) as planar sRGB bytes into r. */
static void generated_back(const struct worker_net_garment *pred, struct garment_res *r)
{
    int B = pred->back.w;
    r->back_gen = malloc((size_t)3 * B * B);
    if (!r->back_gen) {
        snprintf(r->back_error, sizeof r->back_error, "out of memory");
        return;
    }
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < B * B; i++)
            r->back_gen[(size_t)c * B * B + i] = srgb_byte(pred->back.px[(size_t)i * 3 + c]);
    r->back_b = B;
    r->back_side_m = pred->back_side_m;
}

/* back: the models folder has a back generator (then the back texture is measured too). */
/* The worker's outline check of an estimate (w->shape_iou; NAN when it cannot be made). */
static void shape_check(const struct avatar_model *model, const uint8_t *mask, const struct img8 *im,
                        const struct avatar_garment_est *est, struct garment_way *w)
{
    float iou;
    w->shape_iou = avatar_garment_shape_iou(model, mask, im->w, im->h, est, &iou, NULL) == TRYON_OK ? iou : NAN;
}

static void eval_garment(const struct avatar_model *model, struct worker_nets *nets, bool back, const char *dir,
                         const struct json_val *t, struct garment_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
    const int n_ways = nets ? N_WAYS : 1;
    const char *type = json_get_str(t, "type");
    enum avatar_garment_type tt = AVATAR_GARMENT_NTYPES;
    if (!type || avatar_garment_type_parse(type, &tt)) {
        for (int k = 0; k < n_ways; k++)
            snprintf(r->w[k].error, sizeof r->w[k].error, "truth has no known type");
        snprintf(r->back_error, sizeof r->back_error, "truth has no known type");
        snprintf(r->base_error, sizeof r->base_error, "truth has no known type");
        return;
    }
    r->type_true = (int)tt;
    const struct json_val *pr = json_get(t, "print");
    snprintf(r->print, sizeof r->print, "%s", pr && json_get_str(pr, "kind") ? json_get_str(pr, "kind") : "?");
    r->length = (float)json_get_num(t, "length", 0);
    r->sleeve = (float)json_get_num(t, "sleeve", 0);
    r->synth_ok = back && synth_from_truth(t, tt, &r->synth);
    struct img8 im;
    uint8_t *mask;
    enum tryon_status s = load(dir, json_get_str(t, "file"), &im, &mask);
    if (s) {
        for (int k = 0; k < n_ways; k++)
            snprintf(r->w[k].error, sizeof r->w[k].error, "%s", tryon_errmsg());
        snprintf(r->back_error, sizeof r->back_error, "%s", tryon_errmsg());
        snprintf(r->base_error, sizeof r->base_error, "%s", tryon_errmsg());
        return;
    }
    int h = im.h;
    struct avatar_garment_est est;
    if (avatar_estimate_garment(&im, mask, "", &est)) {
        snprintf(r->w[WAY_CLASSICAL].error, sizeof r->w[WAY_CLASSICAL].error, "%s", tryon_errmsg());
        snprintf(r->base_error, sizeof r->base_error, "%s", tryon_errmsg());
    } else {
        garment_errors(&est, t, h, r, &r->w[WAY_CLASSICAL]);
        shape_check(model, mask, &im, &est, &r->w[WAY_CLASSICAL]);
        if (back)
            classical_back(model, &im, mask, &est, r);
    }
    struct worker_net_garment pred;
    if (nets && worker_nets_garment(nets, &im, mask, &pred)) {
        snprintf(r->w[WAY_NET].error, sizeof r->w[WAY_NET].error, "%s", tryon_errmsg());
        snprintf(r->w[WAY_FIT].error, sizeof r->w[WAY_FIT].error, "%s", tryon_errmsg());
        snprintf(r->back_error, sizeof r->back_error, "%s", tryon_errmsg());
    } else if (nets) {
        struct garment_way *w = &r->w[WAY_NET];
        w->ok = true;
        w->type_est = (int)pred.type;
        w->confidence = pred.confidence;
        w->shape_iou = NAN;
        landmark_error(json_get(t, "landmarks"), pred.lm, false, h, w);
        w->length_err = pred.length - r->length;
        w->sleeve_err = has_sleeves(r->type_true) ? pred.sleeve - r->sleeve : NAN;
        if (back && pred.back.w > 0 && !pred.printed && r->base_ok) {
            /* as the worker: a garment the network reads as plain (or logo) keeps the
               texture's plain back colour */
            for (int i = 0; i < pred.back.w * pred.back.h; i++)
                memcpy(pred.back.px + (size_t)i * 3, r->base_lin, sizeof r->base_lin);
            generated_back(&pred, r);
        } else if (back && pred.back.w > 0) {
            generated_back(&pred, r);
        }
        else if (back)
            snprintf(r->back_error, sizeof r->back_error, "the generator is not conditioned on this garment "
                     "encoder's features");
        imgf_free(&pred.back);
        if (avatar_estimate_garment(&im, mask, avatar_garment_type_name(pred.type), &est)) {
            snprintf(r->w[WAY_FIT].error, sizeof r->w[WAY_FIT].error, "%s", tryon_errmsg());
        } else {
            worker_nets_garment_apply(&pred, &est);   /* as the worker does */
            garment_errors(&est, t, h, r, &r->w[WAY_FIT]);
            shape_check(model, mask, &im, &est, &r->w[WAY_FIT]);
        }
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

/* ---- the back texture: the generator and the classical constant against the true back ----
 * Both ways are compared with the true patch (worker_synth_back_patch of the garment the
 * truth object describes, at the generator's B and side) texel by texel (mean L1 of the sRGB
 * bytes / 255) and as sets: each patch box-downsampled to an 8x8x3 thumbnail (sRGB 0..1,
 * d = 192), kernel MMD^2 (unbiased, Gaussian kernel, bandwidth the median pairwise distance
 * of the pooled set) with a permutation p-value (BACK_PERMS label shuffles from a fixed
 * seed), and a Frechet distance between Gaussians fitted to the thumbnails' coordinates on
 * the 16 leading principal axes of the TRUE thumbnails (the same axes for both ways). All
 * of it runs after the parallel loop, in garment order: the figures do not depend on the
 * thread count. */
#define BACK_THUMB 8
#define BACK_D (3 * BACK_THUMB * BACK_THUMB)
#define BACK_PCA 16
#define BACK_PERMS 200
#define BACK_SEED 0x6261636b6d6d6431ull   /* the permutations' RNG seed */

enum { BACK_CLASSICAL, BACK_NET, N_BACK };   /* the two ways that paint a back */

struct back_set {
    int n;                       /* patches compared with their truth */
    struct cell_acc l1[WORKER_PRINT_N + 1];   /* by print kind; [WORKER_PRINT_N] = all */
    double mmd2, p, bandwidth;   /* NAN when n < 2 */
    double fd;                   /* NAN when n < 2 */
};
struct back_stats {
    bool on;                     /* a back generator was loaded */
    const char *name;            /* its model name */
    int B;                       /* its patch side, texels (0: it painted no patch) */
    float side_m;                /* metres the side spans */
    int n_truth;                 /* garments whose truth could be rebuilt */
    struct back_set way[N_BACK];
};

/* 8x8 box thumbnail of a planar 3 x B x B byte patch -> BACK_D floats in 0..1 (B >= 8;
   cell i spans texels [i B / 8, (i + 1) B / 8)). */
static void thumbnail(const uint8_t *patch, int B, float *out)
{
    for (int c = 0; c < 3; c++)
        for (int ty = 0; ty < BACK_THUMB; ty++)
            for (int tx = 0; tx < BACK_THUMB; tx++) {
                int y0 = ty * B / BACK_THUMB, y1 = (ty + 1) * B / BACK_THUMB;
                int x0 = tx * B / BACK_THUMB, x1 = (tx + 1) * B / BACK_THUMB;
                double sum = 0;
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        sum += patch[((size_t)c * B + y) * B + x];
                out[(c * BACK_THUMB + ty) * BACK_THUMB + tx] = (float)(sum / (255.0 * (y1 - y0) * (x1 - x0)));
            }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Unbiased MMD^2 of the labelling in K (N x N kernel matrix): the first nx indices of idx
   are one set, the other N - nx the other. */
static double mmd2_of(const double *K, int N, const int *idx, int nx)
{
    double sxx = 0, syy = 0, sxy = 0;
    int ny = N - nx;
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            if (a == b)
                continue;
            double k = K[(size_t)idx[a] * N + idx[b]];
            if (a < nx && b < nx)
                sxx += k;
            else if (a >= nx && b >= nx)
                syy += k;
            else if (a < nx)
                sxy += k;
        }
    return sxx / ((double)nx * (nx - 1)) + syy / ((double)ny * (ny - 1)) - 2.0 * sxy / ((double)nx * ny);
}

/* Two-sample test of x (n x BACK_D) against y (n x BACK_D): MMD^2, its bandwidth and the
   permutation p-value (1 + #{permuted >= observed}) / (1 + BACK_PERMS). n >= 2. */
static void mmd_test(const float *x, const float *y, int n, struct back_set *o)
{
    const int N = 2 * n;
    double *D = malloc(sizeof *D * (size_t)N * N), *pairs = malloc(sizeof *pairs * (size_t)N * (N - 1) / 2);
    int *idx = malloc(sizeof *idx * (size_t)N);
    assert(D && pairs && idx);
    size_t np = 0;
    for (int a = 0; a < N; a++)
        for (int b = a; b < N; b++) {
            const float *u = a < n ? x + (size_t)a * BACK_D : y + (size_t)(a - n) * BACK_D;
            const float *v = b < n ? x + (size_t)b * BACK_D : y + (size_t)(b - n) * BACK_D;
            double d2 = 0;
            for (int k = 0; k < BACK_D; k++)
                d2 += ((double)u[k] - v[k]) * ((double)u[k] - v[k]);
            D[(size_t)a * N + b] = D[(size_t)b * N + a] = d2;
            if (b > a)
                pairs[np++] = sqrt(d2);
        }
    qsort(pairs, np, sizeof *pairs, cmp_double);
    double h = np % 2 ? pairs[np / 2] : 0.5 * (pairs[np / 2 - 1] + pairs[np / 2]);
    o->bandwidth = h;
    if (!(h > 0))
        h = 1.0;   /* every patch alike: any bandwidth gives MMD^2 = 0 */
    for (size_t k = 0; k < (size_t)N * N; k++)
        D[k] = exp(-D[k] / (2.0 * h * h));
    for (int a = 0; a < N; a++)
        idx[a] = a;
    o->mmd2 = mmd2_of(D, N, idx, n);
    struct rng r;
    rng_seed(&r, BACK_SEED);
    int above = 0;
    for (int t = 0; t < BACK_PERMS; t++) {
        for (int a = N - 1; a > 0; a--) {   /* Fisher-Yates */
            int b = (int)(rng_double(&r) * (a + 1));
            int tmp = idx[a];
            idx[a] = idx[b];
            idx[b] = tmp;
        }
        above += mmd2_of(D, N, idx, n) >= o->mmd2;
    }
    o->p = (1.0 + above) / (1.0 + BACK_PERMS);
    free(D);
    free(pairs);
    free(idx);
}

/* Eigen-decomposition of the symmetric n x n matrix a (row-major, destroyed) by cyclic
   Jacobi rotations: eigenvalues in w, unit eigenvectors in the columns of v. */
static void sym_eigen(double *a, int n, double *w, double *v)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            v[i * n + j] = i == j;
    for (int sweep = 0; sweep < 64; sweep++) {
        double off = 0, diag = 0;
        for (int i = 0; i < n; i++) {
            diag += a[i * n + i] * a[i * n + i];
            for (int j = i + 1; j < n; j++)
                off += a[i * n + j] * a[i * n + j];
        }
        if (off <= 1e-30 * diag || off == 0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (apq == 0)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) {   /* A <- A J (columns p, q) */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {   /* A <- J^T A (rows p, q) */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {   /* V <- V J */
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++)
        w[i] = a[i * n + i];
}

/* Mean (d) and covariance (d x d, divided by n - 1) of n rows of x (n x d). */
static void mean_cov(const double *x, int n, int d, double *mean, double *cov)
{
    for (int k = 0; k < d; k++) {
        mean[k] = 0;
        for (int i = 0; i < n; i++)
            mean[k] += x[(size_t)i * d + k] / n;
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += (x[(size_t)i * d + a] - mean[a]) * (x[(size_t)i * d + b] - mean[b]);
            cov[a * d + b] = s / (n - 1);
        }
}

/* The principal axes of the true thumbnails t (n x BACK_D): their mean and the BACK_PCA
   leading eigenvectors of their covariance (axes: BACK_PCA x BACK_D, rows). */
static void pca_axes(const float *t, int n, double *mean, double *axes)
{
    double *x = malloc(sizeof *x * (size_t)n * BACK_D), *cov = malloc(sizeof *cov * BACK_D * BACK_D);
    double *w = malloc(sizeof *w * BACK_D), *v = malloc(sizeof *v * BACK_D * BACK_D);
    assert(x && cov && w && v);
    for (size_t k = 0; k < (size_t)n * BACK_D; k++)
        x[k] = t[k];
    mean_cov(x, n, BACK_D, mean, cov);
    sym_eigen(cov, BACK_D, w, v);
    bool *used = calloc(BACK_D, 1);
    for (int a = 0; a < BACK_PCA; a++) {   /* the largest unused eigenvalue, lowest index on a tie */
        int best = -1;
        for (int k = 0; k < BACK_D; k++)
            if (!used[k] && (best < 0 || w[k] > w[best]))
                best = k;
        used[best] = true;
        for (int k = 0; k < BACK_D; k++)
            axes[a * BACK_D + k] = v[k * BACK_D + best];
    }
    free(used);
    free(x);
    free(cov);
    free(w);
    free(v);
}

/* Frechet distance between Gaussians fitted to the PCA coordinates of x and of y (n rows
   each): |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). */
static double frechet(const float *x, const float *y, int n, const double *mean, const double *axes)
{
    enum { K = BACK_PCA };
    double *px = malloc(sizeof *px * (size_t)n * K), *py = malloc(sizeof *py * (size_t)n * K);
    assert(px && py);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < K; a++) {
            double sx = 0, sy = 0;
            for (int k = 0; k < BACK_D; k++) {
                sx += axes[a * BACK_D + k] * (x[(size_t)i * BACK_D + k] - mean[k]);
                sy += axes[a * BACK_D + k] * (y[(size_t)i * BACK_D + k] - mean[k]);
            }
            px[(size_t)i * K + a] = sx, py[(size_t)i * K + a] = sy;
        }
    double m1[K], m2[K], s1[K * K], s2[K * K], w[K], v[K * K], r[K * K], m[K * K], tmp[K * K];
    mean_cov(px, n, K, m1, s1);
    mean_cov(py, n, K, m2, s2);
    double fd = 0;
    for (int a = 0; a < K; a++)
        fd += (m1[a] - m2[a]) * (m1[a] - m2[a]) + s1[a * K + a] + s2[a * K + a];
    sym_eigen(s1, K, w, v);   /* r = S1^1/2 = V diag(sqrt w) V^T */
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += v[a * K + k] * sqrt(fmax(w[k], 0.0)) * v[b * K + k];
            r[a * K + b] = s;
        }
    for (int a = 0; a < K; a++)   /* m = r S2 r */
        for (int b = 0; b < K; b++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += r[a * K + k] * s2[k * K + b];
            tmp[a * K + b] = s;
        }
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += tmp[a * K + k] * r[k * K + b];
            m[a * K + b] = s;
        }
    for (int a = 0; a < K; a++)   /* symmetric up to rounding: average it */
        for (int b = a + 1; b < K; b++)
            m[a * K + b] = m[b * K + a] = 0.5 * (m[a * K + b] + m[b * K + a]);
    sym_eigen(m, K, w, v);
    for (int a = 0; a < K; a++)
        fd -= 2.0 * sqrt(fmax(w[a], 0.0));
    free(px);
    free(py);
    return fd;
}

/* The back-texture figures of the garments (with a back generator loaded). */
static void back_eval(struct garment_res *gr, int ng, struct worker_nets *nets, struct back_stats *bs)
{
    memset(bs, 0, sizeof *bs);
    bs->name = worker_nets_name(nets, WORKER_NET_BACK, NULL);
    bs->on = bs->name != NULL;
    for (int w = 0; w < N_BACK; w++)
        bs->way[w].mmd2 = bs->way[w].p = bs->way[w].bandwidth = bs->way[w].fd = NAN;
    for (int i = 0; i < ng && bs->on && !bs->B; i++)
        if (gr[i].back_gen)
            bs->B = gr[i].back_b, bs->side_m = gr[i].back_side_m;
    if (!bs->B)
        return;
    const int B = bs->B;
    const size_t P = (size_t)3 * B * B;
    uint8_t *truth = malloc(P), *base = malloc(P);
    float *th_true[N_BACK], *th_way[N_BACK];
    int cnt[N_BACK] = {0};
    for (int w = 0; w < N_BACK; w++) {
        th_true[w] = malloc(sizeof(float) * BACK_D * (size_t)ng);
        th_way[w] = malloc(sizeof(float) * BACK_D * (size_t)ng);
        assert(th_true[w] && th_way[w]);
    }
    float *th_all = malloc(sizeof(float) * BACK_D * (size_t)ng);
    assert(truth && base && th_all);
    for (int i = 0; i < ng; i++) {
        struct garment_res *r = &gr[i];
        if (!r->synth_ok)
            continue;
        worker_synth_back_patch(&r->synth, B, bs->side_m, truth);
        thumbnail(truth, B, th_all + (size_t)bs->n_truth * BACK_D);
        bs->n_truth++;
        for (int c = 0; c < 3 && r->base_ok; c++)
            memset(base + (size_t)c * B * B, srgb_byte(r->base_lin[c]), (size_t)B * B);
        for (int w = 0; w < N_BACK; w++) {
            const uint8_t *est = w == BACK_NET ? r->back_gen : r->base_ok ? base : NULL;
            if (!est || (w == BACK_NET && r->back_b != B))
                continue;
            double sum = 0;
            for (size_t k = 0; k < P; k++)
                sum += abs((int)est[k] - (int)truth[k]);
            float l1 = (float)(sum / (255.0 * (double)P));
            acc_add(&bs->way[w].l1[r->synth.print], l1, false);
            acc_add(&bs->way[w].l1[WORKER_PRINT_N], l1, false);
            thumbnail(truth, B, th_true[w] + (size_t)cnt[w] * BACK_D);
            thumbnail(est, B, th_way[w] + (size_t)cnt[w] * BACK_D);
            cnt[w]++;
        }
    }
    double *mean = malloc(sizeof *mean * BACK_D), *axes = malloc(sizeof *axes * BACK_PCA * BACK_D);
    assert(mean && axes);
    if (bs->n_truth >= 2)
        pca_axes(th_all, bs->n_truth, mean, axes);
    for (int w = 0; w < N_BACK; w++) {
        struct back_set *o = &bs->way[w];
        o->n = cnt[w];
        if (cnt[w] >= 2) {
            mmd_test(th_way[w], th_true[w], cnt[w], o);
            o->fd = frechet(th_way[w], th_true[w], cnt[w], mean, axes);
        }
        free(th_true[w]);
        free(th_way[w]);
    }
    free(mean);
    free(axes);
    free(th_all);
    free(truth);
    free(base);
}

/* "0.123 (p 0.005)" or "-". */
static void print_mmd(const struct back_set *o)
{
    if (isfinite(o->mmd2))
        printf(" %.4f (p %.3f) |", o->mmd2, o->p);
    else
        printf(" - |");
}

/* The "Back texture" section. */
static void back_section(const struct garment_res *gr, int ng, const struct back_stats *bs)
{
    printf("## Back texture\n\n");
    if (!bs->B) {
        printf("The back generator %s painted no patch:\n", bs->name);
        for (int i = 0; i < ng; i++)
            if (gr[i].back_error[0])
                printf("\n- garment %s: %s", gr[i].id, gr[i].back_error);
        printf("\n\n");
        return;
    }
    printf("Generator %s: %d x %d texels over %.3f m of the back, zero noise, for the garments the network reads as printed (stripes, checks, dots); the others keep "
           "the classical plain back colour, as the worker does. Truth: "
           "worker_synth_back_patch of the garment rebuilt from its truth object (%d of %d garments; a logo sits on "
           "the front, so a logo garment's back is plain). Classical: the constant back panel of "
           "avatar_garment_texture (the front's dominant colour). Mean L1 per texel and channel, sRGB 0..1:\n\n",
           bs->name, bs->B, bs->B, bs->side_m, bs->n_truth, ng);
    printf("| print | n classical | classical | n network | network |\n|---|---|---|---|---|\n");
    for (int k = 0; k <= WORKER_PRINT_N; k++) {
        printf("| %s |", k < WORKER_PRINT_N ? worker_print_name((enum worker_print)k) : "all");
        for (int w = 0; w < N_BACK; w++) {
            printf(" %d |", bs->way[w].l1[k].n);
            print_cell(&bs->way[w].l1[k], "%.4f");
        }
        printf("\n");
    }
    printf("\nThe patches against the true patches as sets: %dx%dx3 box thumbnails (sRGB 0..1); MMD^2 unbiased, "
           "Gaussian kernel with the bandwidth the median pairwise distance of the pooled thumbnails, p from %d "
           "label permutations (fixed seed); Frechet distance between Gaussians fitted to the thumbnails' "
           "coordinates on the %d leading principal axes of the true thumbnails (with fewer than %d patches the "
           "covariances are rank-deficient and the distance is indicative only).\n\n",
           BACK_THUMB, BACK_THUMB, BACK_PERMS, BACK_PCA, BACK_PCA + 1);
    printf("| way | n | MMD^2 | bandwidth | p | Frechet distance |\n|---|---|---|---|---|---|\n");
    for (int w = 0; w < N_BACK; w++) {
        const struct back_set *o = &bs->way[w];
        printf("| %s | %d |", w == BACK_NET ? "network" : "classical", o->n);
        if (isfinite(o->mmd2))
            printf(" %.4f | %.3f | %.3f | %.4f |\n", o->mmd2, o->bandwidth, o->p, o->fd);
        else
            printf(" - | - | - | - |\n");
    }
    int nf = 0;
    for (int i = 0; i < ng; i++) {
        if (!gr[i].synth_ok)
            printf("\n- garment %s: the truth object does not describe its print", gr[i].id), nf++;
        if (!gr[i].back_gen)
            printf("\n- garment %s, network: %s", gr[i].id, gr[i].back_error), nf++;
        if (!gr[i].base_ok)
            printf("\n- garment %s, classical: %s", gr[i].id, gr[i].base_error), nf++;
    }
    printf("%s\n", nf ? "\n" : "");
}

/* The summary of the three ways (first in the report with --models). */
static void summary(const struct person_res *pr, int np, const struct garment_res *gr, int ng,
                    struct worker_nets *nets, const struct back_stats *bs)
{
    const char *why_b, *why_g, *why_k;
    const char *nb = worker_nets_name(nets, WORKER_NET_BODY, &why_b), *ngn = worker_nets_name(nets, WORKER_NET_GARMENT, &why_g);
    const char *nk = worker_nets_name(nets, WORKER_NET_BACK, &why_k);
    printf("## Summary: classical, network, network + fit\n\n");
    printf("Body network: %s. Garment network: %s. Back generator: %s.\n", nb ? nb : "not loaded",
           ngn ? ngn : "not loaded", nk ? nk : "not loaded");
    if (!nb)
        printf("- body network not loaded: %s\n", why_b);
    if (!ngn)
        printf("- garment network not loaded: %s\n", why_g);
    if (!nk)
        printf("- back generator not loaded (no back-texture figures): %s\n", why_k);
    printf("\nMean absolute errors over the photos each way estimated; \"network\" is the network alone "
           "(its own regression of stature and the tape measurements; its body is built from its phenotype, pose "
           "and stature), \"network + fit\" the silhouette fit with the network's prior / the classical garment "
           "estimator with the network's type as the hint, then the network's length and landmarks "
           "(what the worker does). Sleeve: t-shirts, long sleeves and dresses only. "
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
    static const char *const cam_rows[2] = {"camera height (hinted photos), cm", "camera tilt (hinted photos), deg"};
    for (int q = 0; q < 2; q++) {
        printf("| %s |", cam_rows[q]);
        for (int k = 0; k < N_WAYS; k++) {
            struct cell_acc a = {0};
            for (int i = 0; i < np; i++)
                if (pr[i].w[k].ok)
                    acc_add(&a, q ? pr[i].w[k].cam_tilt_err_deg : pr[i].w[k].cam_h_err_cm, true);
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
    printf("\n| outline IoU (mean) |");
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok)
                acc_add(&a, gr[i].w[k].shape_iou, false);
        print_cell(&a, "%.3f");
    }
    printf("\n| refused by the outline check (IoU < %.2f), %% |", WORKER_GARMENT_MIN_SHAPE_IOU);
    for (int k = 0; k < N_WAYS; k++) {
        struct cell_acc a = {0};
        for (int i = 0; i < ng; i++)
            if (gr[i].w[k].ok && isfinite(gr[i].w[k].shape_iou))
                acc_add(&a, 100.0f * (gr[i].w[k].shape_iou < WORKER_GARMENT_MIN_SHAPE_IOU), false);
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
    if (bs->on) {
        printf("\n| back texture L1 vs truth, sRGB 0..1 |");
        print_cell(&bs->way[BACK_CLASSICAL].l1[WORKER_PRINT_N], "%.4f");
        print_cell(&bs->way[BACK_NET].l1[WORKER_PRINT_N], "%.4f");
        printf(" - |\n| back texture MMD^2 vs truth (permutation p) |");
        print_mmd(&bs->way[BACK_CLASSICAL]);
        print_mmd(&bs->way[BACK_NET]);
        printf(" - |\n| back texture Frechet distance (PCA-%d) |", BACK_PCA);
        for (int w = 0; w < N_BACK; w++)
            printf(isfinite(bs->way[w].fd) ? " %.4f |" : " - |", bs->way[w].fd);
        printf(" - |");
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
    const char *usage = "usage: avatar_eval DIR [--threads N] [--models MODELS_DIR] [--no-hints]\n"
                        "  --no-hints: no person's height is given to the estimators, even where the set gives it\n";
    if (argc < 2) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    const char *dir = argv[1], *models = NULL;
    int threads = 0;
    bool no_hints = false;
    for (int a = 2; a < argc; a++) {
        if (!strcmp(argv[a], "--threads") && a + 1 < argc)
            threads = atoi(argv[++a]);
        else if (!strcmp(argv[a], "--models") && a + 1 < argc)
            models = argv[++a];
        else if (!strcmp(argv[a], "--no-hints"))
            no_hints = true;
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
    const bool back = models && worker_nets_name(nets[0], WORKER_NET_BACK, NULL);
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
            eval_person(model, mine, dir, lines[i], no_hints, &pr[slot[i]]);
        else
            eval_garment(model, mine, back, dir, lines[i], &gr[slot[i]]);
    }
    double secs = time_now() - t0;

    struct back_stats bs = {0};
    if (back)
        back_eval(gr, ng, nets[0], &bs);
    if (models)
        summary(pr, np, gr, ng, nets[0], &bs);

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
    printf("\n\n");
    if (back)
        back_section(gr, ng, &bs);
    printf("(%d images estimated in %.1f s on %d threads)\n", n, secs, omp_get_max_threads());

    free(order);
    free(col);
    free(slot);
    free(pr);
    for (int i = 0; i < ng; i++)
        free(gr[i].back_gen);
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
