/* sizes.c: a garment's size chart against its wearer: which sizes to drape, which one to
 * recommend and why, per region (the rule is stated in worker.h), and the record's "size"
 * object.
 *
 * Fit is why clothes come back, so a try-on with a chart drapes the sizes around the
 * wearer (the nearest smaller and larger, by the chart's girths against the body
 * estimate's measurements) and shows the recommended one. Draping costs about a second
 * per size, so only those candidates are draped unless every size is to be rendered.
 * The rule is pure (worker_size_plan, worker_size_choose) so it is tested without a drape.
 */
#include "worker/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NGIRTHS 3   /* chest, waist, hips: the regions a chart's girths and the body's measurements share */

const char *worker_size_position_name(enum worker_size_position p)
{
    static const char *const n[] = {"on", "between", "below", "above"};
    return (unsigned)p <= WORKER_SIZE_ABOVE ? n[p] : "unknown";
}

/* Half the size step at size i, girth r: half the distance to the next smaller size (the
   next larger for the smallest; half of WORKER_SIZE_STEP_CM for a one-size chart), cm. */
static float half_step(const struct worker_size *sizes, int n, int i, int r)
{
    if (n == 1)
        return 0.5f * WORKER_SIZE_STEP_CM;
    int j = i > 0 ? i - 1 : 1;
    return 0.5f * fabsf(sizes[i].cm[r] - sizes[j].cm[r]);
}

void worker_size_plan(const struct worker_size *sizes, int n, const float body_cm[3], struct worker_size_plan *out)
{
    int up = n;
    for (int i = 0; i < n && up == n; i++) {
        bool fits = true;
        for (int r = 0; r < NGIRTHS; r++)
            fits &= !(sizes[i].cm[r] > 0) || sizes[i].cm[r] >= body_cm[r];
        if (fits)
            up = i;
    }
    if (up == n) {
        *out = (struct worker_size_plan){WORKER_SIZE_ABOVE, n - 1, n - 1};
        return;
    }
    if (up == 0) {
        bool below = true;
        for (int r = 0; r < NGIRTHS; r++)
            if (sizes[0].cm[r] > 0)
                below &= sizes[0].cm[r] - body_cm[r] > half_step(sizes, n, 0, r);
        *out = (struct worker_size_plan){below ? WORKER_SIZE_BELOW : WORKER_SIZE_ON, 0, 0};
        return;
    }
    bool match = true;
    for (int r = 0; r < NGIRTHS; r++)
        if (sizes[up].cm[r] > 0)
            match &= sizes[up].cm[r] - body_cm[r] <= WORKER_SIZE_MATCH_CM;
    *out = (struct worker_size_plan){match ? WORKER_SIZE_ON : WORKER_SIZE_BETWEEN, up - 1, up};
}

/* The combined verdict of draped size i at region r (rule in worker.h). */
static enum avatar_fit_verdict region_verdict(const struct worker_size *sizes, int n, int i, int r, const float body_cm[3],
                                              enum worker_size_position pos, enum avatar_fit_verdict drape)
{
    bool listed = r < NGIRTHS && sizes[i].cm[r] > 0;
    if (!listed)
        return drape;
    float ease = sizes[i].cm[r] - body_cm[r], half = half_step(sizes, n, i, r);
    if (drape == AVATAR_FIT_TIGHT || ease < -half || (ease < 0 && (pos == WORKER_SIZE_ABOVE || drape == AVATAR_FIT_NONE)))
        return AVATAR_FIT_TIGHT;
    if (drape == AVATAR_FIT_LOOSE || ease > half)
        return AVATAR_FIT_LOOSE;
    return AVATAR_FIT_GOOD;
}

void worker_size_choose(const struct worker_size *sizes, int n, const float body_cm[3],
                        const struct worker_size_plan *plan, const enum avatar_fit_verdict (*drape)[AVATAR_FIT_NREGIONS],
                        const bool *draped, struct worker_size_choice *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < AVATAR_FIT_NREGIONS && draped[i]; r++)
            out->region[i][r] = region_verdict(sizes, n, i, r, body_cm, plan->position, drape[i][r]);
    /* the smallest candidate that draped and is tight nowhere, else the largest that draped */
    int largest = -1;
    out->recommended = -1;
    for (int i = plan->lo; i <= plan->hi; i++) {
        if (!draped[i])
            continue;
        largest = i;
        bool tight = false;
        for (int r = 0; r < AVATAR_FIT_NREGIONS; r++)
            tight |= out->region[i][r] == AVATAR_FIT_TIGHT;
        if (!tight && out->recommended < 0)
            out->recommended = i;
    }
    if (out->recommended < 0)
        out->recommended = largest;
    if (out->recommended < 0)
        return;
    const enum avatar_fit_verdict *v = out->region[out->recommended];
    bool tight = false, loose = false;
    for (int r = 0; r < AVATAR_FIT_NREGIONS; r++)
        tight |= v[r] == AVATAR_FIT_TIGHT, loose |= v[r] == AVATAR_FIT_LOOSE;
    out->verdict = plan->position == WORKER_SIZE_ABOVE   ? AVATAR_FIT_TIGHT
                   : plan->position == WORKER_SIZE_BELOW ? AVATAR_FIT_LOOSE
                   : tight                               ? AVATAR_FIT_TIGHT
                   : loose                               ? AVATAR_FIT_LOOSE
                                                         : AVATAR_FIT_GOOD;
}

enum tryon_status worker_sizes_drape(const struct avatar_model *m, const struct avatar_person_est *pe,
                                     const struct avatar_mesh *body, const struct avatar_garment_est *g,
                                     const struct worker_pair *p, bool all, struct kern_ctx *kctx,
                                     struct worker_sized *z)
{
    memset(z, 0, sizeof *z);
    z->choice.recommended = -1;   /* until worker_size_choose: nothing chosen */
    z->body_cm[0] = pe->meas.chest_cm, z->body_cm[1] = pe->meas.waist_cm, z->body_cm[2] = pe->meas.hip_cm;
    worker_size_plan(p->sizes, p->n_sizes, z->body_cm, &z->plan);
    enum avatar_fit_verdict v[WORKER_MAX_SIZES][AVATAR_FIT_NREGIONS];
    memset(v, 0, sizeof v);
    for (int i = 0; i < p->n_sizes; i++) {
        if (!all && (i < z->plan.lo || i > z->plan.hi))
            continue;
        const float *cm = p->sizes[i].cm;
        struct avatar_size size = {cm[0], cm[1], cm[2], cm[3]};
        enum tryon_status s = avatar_garment_drape(m, &pe->body, body, g, &size, NULL, kctx, &z->drape[i]);
        z->seconds += z->drape[i].seconds;
        if (s == TRYON_ENOMEM)
            return s;
        if (s) {
            snprintf(z->error[i], sizeof z->error[i], "size %s: %s", p->sizes[i].name, tryon_errmsg());
            continue;
        }
        z->draped[i] = true;
        for (int r = 0; r < AVATAR_FIT_NREGIONS; r++)
            v[i][r] = z->drape[i].fit[r].verdict;
    }
    worker_size_choose(p->sizes, p->n_sizes, z->body_cm, &z->plan, (const enum avatar_fit_verdict(*)[AVATAR_FIT_NREGIONS])v,
                       z->draped, &z->choice);
    return TRYON_OK;
}

void worker_sized_free(struct worker_sized *z)
{
    for (int i = 0; i < WORKER_MAX_SIZES; i++)
        avatar_draped_free(&z->drape[i]);
}

/* The first region (avatar_fit_region order) where size i is judged `v`; -1 when none. */
static int first_region(const struct worker_sized *z, int i, enum avatar_fit_verdict v)
{
    for (int r = 0; r < AVATAR_FIT_NREGIONS; r++)
        if (z->choice.region[i][r] == v)
            return r;
    return -1;
}

/* One sentence for the shopper: where the wearer stands in the chart and why this size. */
static void size_note(const struct worker_pair *p, const struct worker_sized *z, char *out, size_t cap)
{
    const struct worker_size_plan *pl = &z->plan;
    int rec = z->choice.recommended;
    const char *rn = p->sizes[rec].name, *verdict = avatar_fit_verdict_name(z->choice.verdict);
    switch (pl->position) {
    case WORKER_SIZE_ABOVE:
        snprintf(out, cap, "bigger than the largest size, %s: %s recommended, %s", p->sizes[pl->hi].name, rn, verdict);
        return;
    case WORKER_SIZE_BELOW:
        snprintf(out, cap, "smaller than the smallest size, %s: %s recommended, %s", p->sizes[pl->lo].name, rn, verdict);
        return;
    case WORKER_SIZE_ON:
        snprintf(out, cap, "on size %s's measurements: %s recommended, %s", p->sizes[pl->hi].name, rn, verdict);
        break;
    case WORKER_SIZE_BETWEEN:
        snprintf(out, cap, "between sizes %s and %s: %s recommended, %s", p->sizes[pl->lo].name, p->sizes[pl->hi].name,
                 rn, verdict);
        break;
    }
    int r;
    size_t n = strlen(out);
    if (rec == pl->hi && pl->lo < pl->hi && z->draped[pl->lo] && (r = first_region(z, pl->lo, AVATAR_FIT_TIGHT)) >= 0)
        snprintf(out + n, cap - n, " (%s is tight at the %s)", p->sizes[pl->lo].name,
                 avatar_fit_region_name((enum avatar_fit_region)r));
    else if (rec == pl->hi && pl->lo < pl->hi && !z->draped[pl->lo])
        snprintf(out + n, cap - n, " (%s did not drape)", p->sizes[pl->lo].name);
}

/* One region of size i: the chart's figures where it lists the region, the drape's where
   it judged it, the combined verdict. */
static void json_region(struct json_w *r, const struct worker_pair *p, const struct worker_sized *z, int i, int k)
{
    const struct avatar_draped *d = &z->drape[i];
    float cm = p->sizes[i].cm[k];
    bool judged = z->draped[i] && d->fit[k].verdict != AVATAR_FIT_NONE;
    json_key(r, avatar_fit_region_name((enum avatar_fit_region)k));
    json_obj_begin(r);
    if (z->choice.region[i][k] != AVATAR_FIT_NONE) {
        json_key(r, "verdict");
        json_str(r, avatar_fit_verdict_name(z->choice.region[i][k]));
    }
    if (cm > 0) {
        json_key(r, "size_cm");
        json_numf(r, cm, 5);
        json_key(r, k < NGIRTHS ? "body_cm" : "worn_cm");
        json_numf(r, k < NGIRTHS ? z->body_cm[k] : d->length_cm, 5);
        if (k < NGIRTHS) {
            json_key(r, "ease_cm");
            json_numf(r, cm - z->body_cm[k], 4);
        }
    }
    if (judged) {
        json_key(r, "drape");
        json_str(r, avatar_fit_verdict_name(d->fit[k].verdict));
        json_key(r, "strain");
        json_numf(r, d->fit[k].strain, 4);
        json_key(r, "gap_cm");
        json_numf(r, d->fit[k].gap_cm, 4);
    }
    json_obj_end(r);
}

void worker_json_sizes(struct json_w *r, const struct worker_pair *p, const struct worker_sized *z)
{
    const struct worker_size_plan *pl = &z->plan;
    int rec = z->choice.recommended;
    json_key(r, "size");
    json_obj_begin(r);
    json_key(r, "recommended");
    json_str(r, rec >= 0 ? p->sizes[rec].name : NULL);
    json_key(r, "verdict");
    json_str(r, rec >= 0 ? avatar_fit_verdict_name(z->choice.verdict) : NULL);
    json_key(r, "position");
    json_str(r, worker_size_position_name(pl->position));
    if (pl->position == WORKER_SIZE_BETWEEN) {
        json_key(r, "between");
        json_arr_begin(r);
        json_str(r, p->sizes[pl->lo].name);
        json_str(r, p->sizes[pl->hi].name);
        json_arr_end(r);
    }
    if (rec >= 0) {
        char note[400];
        size_note(p, z, note, sizeof note);
        json_key(r, "note");
        json_str(r, note);
    }
    json_key(r, "body_cm");
    json_obj_begin(r);
    for (int k = 0; k < NGIRTHS; k++) {
        json_key(r, avatar_fit_region_name((enum avatar_fit_region)k));
        json_numf(r, z->body_cm[k], 5);
    }
    json_obj_end(r);
    json_key(r, "candidates");
    json_arr_begin(r);
    for (int i = pl->lo; i <= pl->hi; i++)
        json_str(r, p->sizes[i].name);
    json_arr_end(r);
    json_key(r, "sizes");
    json_arr_begin(r);
    for (int i = 0; i < p->n_sizes; i++) {
        json_obj_begin(r);
        json_key(r, "name");
        json_str(r, p->sizes[i].name);
        json_key(r, "draped");
        json_bool(r, z->draped[i]);
        if (z->error[i][0]) {
            json_key(r, "error");
            json_str(r, z->error[i]);
        }
        if (z->draped[i]) {
            bool tight = first_region(z, i, AVATAR_FIT_TIGHT) >= 0, loose = first_region(z, i, AVATAR_FIT_LOOSE) >= 0;
            json_key(r, "verdict");
            json_str(r, i == rec ? avatar_fit_verdict_name(z->choice.verdict) : tight ? "tight" : loose ? "loose" : "good");
        }
        json_key(r, "fit");
        json_obj_begin(r);
        for (int k = 0; k < AVATAR_FIT_NREGIONS; k++)
            if (p->sizes[i].cm[k] > 0 || (z->draped[i] && z->drape[i].fit[k].verdict != AVATAR_FIT_NONE))
                json_region(r, p, z, i, k);
        json_obj_end(r);
        if (z->output[i][0]) {
            json_key(r, "output");
            json_str(r, z->output[i]);
        }
        json_obj_end(r);
    }
    json_arr_end(r);
    json_obj_end(r);
}
