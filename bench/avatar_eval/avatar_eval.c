/* avatar_eval.c: the classical estimators against the truth of a synthetic set.
 *
 * usage: avatar_eval DIR [--threads N]
 *   DIR is the output of `tryon synth` (truth.jsonl, persons/, garments/), normally
 *   configs/synth/heldout.yaml's. For each person photo: segment, avatar_estimate_person
 *   (with the height hint only where the synth gave one, i.e. where the camera distance
 *   differs from the standard), and compare stature and the tape measurements of the
 *   fitted body (avatar_body_measure) with the true body's; for each garment photo:
 *   segment, avatar_estimate_garment without a type hint, and compare type (confusion
 *   matrix) and landmarks (distance in % of the image height, over the landmarks both
 *   have). Prints a Markdown report on stdout: error tables, the worst cases with their
 *   true parameters, and every failure with its message. Images are independent, so they
 *   are processed in parallel (OpenMP, dynamic schedule); the report is in index order and
 *   does not depend on the thread count. Measures, asserts nothing (bench/).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"
#include "common/common.h"

#define MAX_LINE (1 << 20)

/* One person's result. */
struct person_res {
    char id[72];
    bool ok;
    char error[300];
    float stature_err_cm;           /* estimate - truth */
    float meas_err[6];              /* height, chest, waist, hip, inseam, shoulder: estimate - truth, cm */
    float iou;
    bool alpha, hint;
    char outfit[64];                /* e.g. "t-shirt+trousers" */
    float weight, gender, arm_down, leg_spread;   /* truth, for the worst-case table */
};

/* One garment's result. */
struct garment_res {
    char id[72];
    bool ok;
    char error[300];
    int type_true, type_est;
    float confidence;
    float lm_err_pct;               /* mean landmark distance, % of image height; < 0 = none compared */
    int lm_n;                       /* landmarks compared */
    char print[16];
    float length, sleeve;
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

static void eval_person(const struct avatar_model *model, const char *dir, const struct json_val *t,
                        struct person_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
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
    struct img8 im;
    uint8_t *mask;
    enum tryon_status s = load(dir, json_get_str(t, "file"), &im, &mask);
    struct avatar_person_est est;
    if (s == TRYON_OK) {
        s = avatar_estimate_person(model, &im, mask, r->hint ? stature_true : 0, &est);
        free(mask);
        img8_free(&im);
    }
    if (s) {
        snprintf(r->error, sizeof r->error, "%s", tryon_errmsg());
        return;
    }
    r->ok = true;
    r->stature_err_cm = 100.0f * est.stature_m - stature_true;
    r->iou = est.iou;
    float mt[6];
    meas_array(json_get(t, "measurements_cm"), mt);
    const float me[6] = {est.meas.height_cm, est.meas.chest_cm, est.meas.waist_cm,
                         est.meas.hip_cm, est.meas.inseam_cm, est.meas.shoulder_cm};
    for (int k = 0; k < 6; k++)
        r->meas_err[k] = me[k] - mt[k];
}

static void eval_garment(const char *dir, const struct json_val *t, struct garment_res *r)
{
    snprintf(r->id, sizeof r->id, "%s", json_get_str(t, "id"));
    const char *type = json_get_str(t, "type");
    enum avatar_garment_type tt = AVATAR_GARMENT_NTYPES;
    if (!type || avatar_garment_type_parse(type, &tt)) {
        snprintf(r->error, sizeof r->error, "truth has no known type");
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
    struct avatar_garment_est est;
    int h = im.h;
    if (s == TRYON_OK) {
        s = avatar_estimate_garment(&im, mask, "", &est);
        free(mask);
        img8_free(&im);
    }
    if (s) {
        snprintf(r->error, sizeof r->error, "%s", tryon_errmsg());
        return;
    }
    r->ok = true;
    r->type_est = (int)est.type;
    r->confidence = est.type_confidence;
    /* landmarks: truth {"name": [x, y]} for the ones the true type has */
    const struct json_val *lm = json_get(t, "landmarks");
    double sum = 0;
    r->lm_n = 0;
    for (int l = 0; lm && l < AVATAR_LM_N; l++) {
        const struct json_val *p = json_get(lm, avatar_landmark_name((enum avatar_landmark)l));
        if (!p || p->type != JSON_ARR || p->n != 2 || est.lm[l][0] < 0 || est.lm[l][1] < 0)
            continue;
        float dx = est.lm[l][0] - (float)p->items[0].num, dy = est.lm[l][1] - (float)p->items[1].num;
        sum += sqrt(dx * dx + dy * dy);
        r->lm_n++;
    }
    r->lm_err_pct = r->lm_n ? (float)(100.0 * sum / r->lm_n / h) : -1.0f;
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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: avatar_eval DIR [--threads N]\n");
        return 2;
    }
    const char *dir = argv[1];
    int threads = argc >= 4 && !strcmp(argv[2], "--threads") ? atoi(argv[3]) : 0;
    if (threads > 0)
        omp_set_num_threads(threads);
    struct avatar_model *model;
    if (avatar_model_load(NULL, &model)) {
        fprintf(stderr, "avatar_eval: %s\n", tryon_errmsg());
        return 2;
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
        if (!strcmp(json_get_str(lines[i], "kind"), "person"))
            eval_person(model, dir, lines[i], &pr[slot[i]]);
        else
            eval_garment(dir, lines[i], &gr[slot[i]]);
    }
    double secs = time_now() - t0;

    /* ---- persons ---- */
    int pok = 0;
    float *col = malloc(sizeof *col * (size_t)(np + ng + 1));
    for (int i = 0; i < np; i++)
        pok += pr[i].ok;
    printf("## Persons (%d photos, %d estimated, %d failed)\n\n", np, pok, np - pok);
    printf("Error of the estimate against the truth, cm (|e|: mean absolute; bias: mean signed):\n\n");
    printf("| quantity | mean abs | median abs | 90th pct abs | max abs | bias |\n|---|---|---|---|---|---|\n");
    for (int q = -1; q < 6; q++) {
        int k = 0;
        for (int i = 0; i < np; i++)
            if (pr[i].ok)
                col[k++] = q < 0 ? pr[i].stature_err_cm : pr[i].meas_err[q];
        float s[5];
        stats(col, k, s);
        printf("| %s | %.2f | %.2f | %.2f | %.2f | %+.2f |\n", q < 0 ? "stature (fit)" : MEAS_NAMES[q], s[0], s[1],
               s[2], s[3], s[4]);
    }
    {
        int k = 0;
        for (int i = 0; i < np; i++)
            if (pr[i].ok)
                col[k++] = 1.0f - pr[i].iou;
        float s[5];
        stats(col, k, s);
        printf("\nSilhouette IoU: mean %.4f, worst %.4f\n\n", 1.0f - s[4], 1.0f - s[3]);
    }
    /* by outfit: a dress or a skirt hides the legs and hips */
    printf("Mean absolute error by outfit (cm):\n\n| outfit | n | stature | chest | waist | hip | IoU |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < np; i++) {
        if (!pr[i].ok)
            continue;
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = pr[j].ok && !strcmp(pr[j].outfit, pr[i].outfit);
        if (seen)
            continue;
        double e[5] = {0};
        int k = 0;
        for (int j = i; j < np; j++)
            if (pr[j].ok && !strcmp(pr[j].outfit, pr[i].outfit)) {
                e[0] += fabsf(pr[j].stature_err_cm), e[1] += fabsf(pr[j].meas_err[1]);
                e[2] += fabsf(pr[j].meas_err[2]), e[3] += fabsf(pr[j].meas_err[3]), e[4] += pr[j].iou;
                k++;
            }
        printf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.3f |\n", pr[i].outfit, k, e[0] / k, e[1] / k, e[2] / k,
               e[3] / k, e[4] / k);
    }
    /* the worst five by the sum of the girth errors */
    printf("\nWorst five persons by |chest| + |waist| + |hip| error:\n\n"
           "| id | outfit | gender | weight | arm down | leg spread | stature e | chest e | waist e | hip e | IoU |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|\n");
    int *order = malloc(sizeof *order * (size_t)(np + 1));
    int no = 0;
    for (int i = 0; i < np; i++)
        if (pr[i].ok)
            order[no++] = i;
    for (int a = 0; a < no; a++)
        for (int b = a + 1; b < no; b++) {
            const float *ea = pr[order[a]].meas_err, *eb = pr[order[b]].meas_err;
            if (fabsf(eb[1]) + fabsf(eb[2]) + fabsf(eb[3]) > fabsf(ea[1]) + fabsf(ea[2]) + fabsf(ea[3])) {
                int t = order[a];
                order[a] = order[b];
                order[b] = t;
            }
        }
    for (int a = 0; a < no && a < 5; a++) {
        const struct person_res *r = &pr[order[a]];
        printf("| %s | %s | %.2f | %.2f | %.0f | %.0f | %+.1f | %+.1f | %+.1f | %+.1f | %.3f |\n", r->id, r->outfit,
               r->gender, r->weight, r->arm_down, r->leg_spread, r->stature_err_cm, r->meas_err[1], r->meas_err[2],
               r->meas_err[3], r->iou);
    }
    for (int i = 0; i < np; i++)
        if (!pr[i].ok)
            printf("\n- person %s failed: %s", pr[i].id, pr[i].error);
    printf("\n\n");

    /* ---- garments ---- */
    int gok = 0, correct = 0, conf[AVATAR_GARMENT_NTYPES][AVATAR_GARMENT_NTYPES] = {{0}};
    for (int i = 0; i < ng; i++)
        if (gr[i].ok) {
            gok++;
            correct += gr[i].type_est == gr[i].type_true;
            conf[gr[i].type_true][gr[i].type_est]++;
        }
    printf("## Garments (%d photos, %d estimated, %d failed)\n\n", ng, gok, ng - gok);
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
        if (gr[i].ok && gr[i].lm_n > 0)
            col[k++] = gr[i].lm_err_pct;
    float s[5];
    stats(col, k, s);
    printf("\nLandmark error (mean distance per garment over the landmarks both have, %% of image height), "
           "%d garments: mean %.2f, median %.2f, 90th pct %.2f, max %.2f\n", k, s[0], s[1], s[2], s[3]);
    printf("\nMisclassified garments:\n\n| id | true | estimated | confidence | print | length | sleeve |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < ng; i++)
        if (gr[i].ok && gr[i].type_est != gr[i].type_true)
            printf("| %s | %s | %s | %.2f | %s | %.2f | %.2f |\n", gr[i].id,
                   avatar_garment_type_name((enum avatar_garment_type)gr[i].type_true),
                   avatar_garment_type_name((enum avatar_garment_type)gr[i].type_est), gr[i].confidence, gr[i].print,
                   gr[i].length, gr[i].sleeve);
    for (int i = 0; i < ng; i++)
        if (!gr[i].ok)
            printf("\n- garment %s failed: %s", gr[i].id, gr[i].error);
    printf("\n\n(%d images estimated in %.1f s on %d threads)\n", n, secs, omp_get_max_threads());

    free(order);
    free(col);
    free(slot);
    free(pr);
    free(gr);
    for (int i = 0; i < n; i++)
        json_free(lines[i]);
    free(lines);
    avatar_model_free(model);
    return 0;
}
