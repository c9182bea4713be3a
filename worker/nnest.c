/* nnest.c: the learned estimators in the worker: the body encoder and the garment encoder
 * trained by `tryon train` and shipped in models/ (DESIGN.md section 1).
 *
 * A weight file is self-contained: its safetensors metadata carries the model description
 * ("model_yaml", configs/models/), the version ("tryon_model_version", must equal
 * NN_MODEL_VERSION), and per trained head "output.<name>" a JSON object (nn/train.c):
 * {"type": "mse", "targets": [...], "means": [...], "stds": [...]} (the head predicts
 * standardised targets) or {"type": "softmax_ce", "classes": [...]}. A file that is missing, unreadable, of
 * another version or lacking a head the worker reads leaves that estimator classical: the
 * reason is kept for the log and the manifest, and nothing fails.
 *
 * Person: the letterboxed photo (worker_nn_input) -> phenotype and pose -> the prior of the
 * silhouette fit (avatar_estimate_person_prior), which still solves stature and placement.
 * Garment: the same input -> the type (arg-max of the class logits) -> the classical
 * estimator reads the colour, the sleeve and which landmarks the type has; the network's
 * length and landmarks replace the classical ones (worker_nets_garment_apply: they were the
 * more accurate on the calibration set, configs/synth/calib.yaml). Inference runs in
 * eval mode with batch norm folded (NN_MODE_INFER_FOLD), on the worker's compute context
 * (nn_ctx_create), in batches of up to WORKER_NET_BATCH photos (the worker estimates a
 * chunk's photos together, worker_prepare_chunk): a photo's outputs do not depend on the
 * thread count, nor on the batch it ran in (every CPU kernel computes a sample with the
 * same arithmetic whatever the batch; a CUDA context's cuBLAS/cuDNN algorithms may differ
 * with the batch size in the last bits, which is why the worker's context is the CPU's). */
#include "worker/internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn.h"

/* Strength of the learned prior in the fit's loss (per unit squared deviation of a macro): chosen
   among 0.05, 0.2, 0.5 and 1 on the calibration set (configs/synth/calib.yaml) as the best
   girths and per-vertex error with the silhouette IoU still above the classical fit's. */
#define PERSON_PRIOR_STRENGTH 0.2f

static const char *const PERSON_NEEDS[] = {"gender", "age", "muscle", "weight", "proportions",
                                           "arm_down_deg", "leg_spread_deg", "torso_turn_abs_deg"};
#define N_PERSON_NEEDS (int)(sizeof PERSON_NEEDS / sizeof PERSON_NEEDS[0])

struct worker_net {
    struct nn_model *m;          /* made for batches of WORKER_NET_BATCH */
    struct nn_cfg *cfg;
    char name[NN_NAME_MAX];
    char sha256[65];             /* of the weight file's bytes */
    int side;                    /* input S (4 x S x S) */
    uint8_t *in8;                /* (4*S*S): one photo's letterboxed input */
    float *in_host;              /* encoder (WORKER_NET_BATCH, 4, S, S); generator: see generator_heads */
    /* the regression head "reg": target names, un-standardisation */
    int n_reg;
    char (*reg_names)[NN_NAME_MAX];
    float *mean, *std;
    /* the class head "category" (garment) */
    int n_classes;
    char (*classes)[NN_NAME_MAX];
    /* the back generator: condition and noise sizes, metres its image spans */
    int cond_dim, noise_dim;
    float side_m;
};

static void net_free(struct worker_net *n)
{
    nn_model_free(n->m);
    nn_cfg_free(n->cfg);
    free(n->in8);
    free(n->in_host);
    free(n->reg_names);
    free(n->mean);
    free(n->std);
    free(n->classes);
    memset(n, 0, sizeof *n);
}

/* Copy the strings of a JSON array into names (allocated, n_out entries). */
static enum tryon_status json_names(const struct json_val *a, const char *path, const char *what,
                                    char (**names)[NN_NAME_MAX], int *n_out)
{
    if (!a || a->type != JSON_ARR || a->n == 0)
        return tryon_fail(TRYON_EFORMAT, "%s: head metadata lacks %s", path, what);
    *names = calloc(a->n, sizeof **names);
    if (!*names)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type != JSON_STR)
            return tryon_fail(TRYON_EFORMAT, "%s: %s[%zu] is not a string", path, what, i);
        snprintf((*names)[i], NN_NAME_MAX, "%s", a->items[i].str);
    }
    *n_out = (int)a->n;
    return TRYON_OK;
}

static enum tryon_status json_floats(const struct json_val *a, int n, const char *path, const char *what, float **out)
{
    if (!a || a->type != JSON_ARR || (int)a->n != n)
        return tryon_fail(TRYON_EFORMAT, "%s: head metadata %s must hold %d numbers", path, what, n);
    *out = malloc(sizeof(float) * (size_t)n);
    if (!*out)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    for (int i = 0; i < n; i++) {
        if (a->items[i].type != JSON_NUM || !isfinite(a->items[i].num))
            return tryon_fail(TRYON_EFORMAT, "%s: %s[%d] is not a number", path, what, i);
        (*out)[i] = (float)a->items[i].num;
    }
    return TRYON_OK;
}

/* Parse metadata "output.<out>" of f (absent: TRYON_OK with nothing set, *present false). */
static enum tryon_status read_head(const struct nn_st_file *f, const char *out, struct worker_net *n, bool *present)
{
    char key[96];
    snprintf(key, sizeof key, "output.%s", out);
    const char *txt = nn_st_meta(f, key);
    *present = txt != NULL;
    if (!txt)
        return TRYON_OK;
    struct json_val *v = NULL;
    enum tryon_status s = json_parse(txt, strlen(txt), f->path, &v);
    if (s)
        return s;
    const char *loss = json_get_str(v, "type");
    if (loss && !strcmp(loss, "mse")) {
        s = json_names(json_get(v, "targets"), f->path, "targets", &n->reg_names, &n->n_reg);
        if (!s)
            s = json_floats(json_get(v, "means"), n->n_reg, f->path, "means", &n->mean);
        if (!s)
            s = json_floats(json_get(v, "stds"), n->n_reg, f->path, "stds", &n->std);
    } else if (loss && !strcmp(loss, "softmax_ce")) {
        s = json_names(json_get(v, "classes"), f->path, "classes", &n->classes, &n->n_classes);
    } else {
        s = tryon_fail(TRYON_EFORMAT, "%s: %s has an unknown loss", f->path, key);
    }
    json_free(v);
    return s;
}

enum net_kind { NET_BODY, NET_GARMENT, NET_BACK };

/* Read dir/<file> and build its model from its own description; the file stays open in *f
   for the heads' metadata. */
static enum tryon_status net_open(const char *path, struct kern_ctx *ctx, struct worker_net *n,
                                  struct nn_st_file **f)
{
    enum tryon_status s = nn_st_read(path, 64u << 20, f);
    const char *ver = s ? NULL : nn_st_meta(*f, "tryon_model_version");
    const char *yaml = s ? NULL : nn_st_meta(*f, "model_yaml");
    if (s == TRYON_OK && (!ver || strcmp(ver, NN_MODEL_VERSION)))
        s = tryon_fail(TRYON_EFORMAT, "%s: model version %s, this build reads %s", path, ver ? ver : "(none)",
                       NN_MODEL_VERSION);
    if (s == TRYON_OK && !yaml)
        s = tryon_fail(TRYON_EFORMAT, "%s: no model_yaml metadata", path);
    if (s == TRYON_OK)
        s = nn_cfg_from_string(yaml, path, &n->cfg);
    if (s == TRYON_OK)
        s = nn_model_create(n->cfg, ctx, WORKER_NET_BATCH, NN_MODE_INFER_FOLD, &n->m);
    if (s == TRYON_OK)
        s = nn_model_load_st(n->m, *f);
    if (s == TRYON_OK) {
        snprintf(n->name, sizeof n->name, "%s", n->cfg->name);
        sha256_hex((*f)->bytes, (*f)->len, n->sha256);
    }
    return s;
}

/* An encoder's heads and input: reg (+ category for the garment), a 4 x S x S image. */
static enum tryon_status encoder_heads(const char *path, const struct nn_st_file *f, bool want_classes,
                                       struct worker_net *n)
{
    bool has_reg = false, has_cls = false;
    enum tryon_status s = read_head(f, "reg", n, &has_reg);
    if (s == TRYON_OK && want_classes)
        s = read_head(f, "category", n, &has_cls);
    if (s == TRYON_OK && (!has_reg || (want_classes && !has_cls)))
        s = tryon_fail(TRYON_EFORMAT, "%s: lacks the %s head", path, has_reg ? "category" : "reg");
    int c = 0, h = 0, w = 0, oc = 0, oh = 0, ow = 0;
    if (s == TRYON_OK && (!nn_model_tensor_shape(n->m, "image", &c, &h, &w) || c != 4 || h != w ||
                          !nn_model_tensor_shape(n->m, "reg", &oc, &oh, &ow) || oc != n->n_reg))
        s = tryon_fail(TRYON_EFORMAT, "%s: the model does not take a 4 x S x S image or its reg head has %d units, "
                       "not %d", path, oc, n->n_reg);
    if (s == TRYON_OK && want_classes &&
        (!nn_model_tensor_shape(n->m, "category", &oc, &oh, &ow) || oc != n->n_classes))
        s = tryon_fail(TRYON_EFORMAT, "%s: category head size does not match its classes", path);
    if (s == TRYON_OK) {
        n->side = h;
        n->in8 = malloc((size_t)4 * h * h);
        n->in_host = malloc(sizeof(float) * WORKER_NET_BATCH * 4 * (size_t)h * h);
        if (!n->in8 || !n->in_host)
            s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    return s;
}

/* The back generator: inputs features and noise, output image (3 x B x B), and the side of
   the square of the back it paints (metadata output.image {"type": "gan", "side_m": ...}).
   in_host holds a batch's condition (WORKER_NET_BATCH, cond_dim), noise (WORKER_NET_BATCH,
   noise_dim) and images (WORKER_NET_BATCH, 3, B, B), in that order. */
static enum tryon_status generator_heads(const char *path, const struct nn_st_file *f, struct worker_net *n)
{
    const char *txt = nn_st_meta(f, "output.image");
    struct json_val *v = NULL;
    enum tryon_status s = txt ? json_parse(txt, strlen(txt), path, &v)
                              : tryon_fail(TRYON_EFORMAT, "%s: no output.image metadata", path);
    const char *type = s ? NULL : json_get_str(v, "type");
    n->side_m = s ? 0.0f : (float)json_get_num(v, "side_m", 0.0);
    if (s == TRYON_OK && (!type || strcmp(type, "gan") || !(n->side_m > 0.0f)))
        s = tryon_fail(TRYON_EFORMAT, "%s: output.image is not a gan image with side_m", path);
    json_free(v);
    int c, h, w, zc = 0;
    if (s == TRYON_OK && (!nn_model_tensor_shape(n->m, "features", &n->cond_dim, &h, &w) ||
                          !nn_model_tensor_shape(n->m, "noise", &zc, &h, &w) ||
                          !nn_model_tensor_shape(n->m, "image", &c, &n->side, &w) || c != 3 || n->side != w))
        s = tryon_fail(TRYON_EFORMAT, "%s: the generator needs inputs features and noise and a 3 x B x B image", path);
    if (s == TRYON_OK) {
        n->noise_dim = zc;
        n->in_host = calloc(WORKER_NET_BATCH * ((size_t)3 * n->side * n->side + (size_t)n->cond_dim + (size_t)zc),
                            sizeof(float));
        if (!n->in_host)
            s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    return s;
}

/* Load dir/<file> into n; any failure leaves n empty and the reason in why. */
static void net_load(const char *dir, const char *file, struct kern_ctx *ctx, enum net_kind kind,
                     struct worker_net *n, char *why, size_t why_n)
{
    char path[PATH_MAX];
    struct nn_st_file *f = NULL;
    enum tryon_status s = fs_join(path, sizeof path, dir, file);
    if (s == TRYON_OK && !fs_exists(path)) {
        snprintf(why, why_n, "%.280s is missing", path);
        return;
    }
    if (s == TRYON_OK)
        s = net_open(path, ctx, n, &f);
    if (s == TRYON_OK)
        s = kind == NET_BACK ? generator_heads(path, f, n) : encoder_heads(path, f, kind == NET_GARMENT, n);
    if (s) {
        snprintf(why, why_n, "%s", tryon_errmsg());
        net_free(n);
    }
    nn_st_free(f);
}

struct worker_nets {
    struct worker_net body, garment, back;
    char body_why[320], garment_why[320], back_why[320];
};

enum tryon_status worker_nets_load(const char *dir, struct kern_ctx *ctx, struct worker_nets **out)
{
    struct worker_nets *n = calloc(1, sizeof *n);
    if (!n)
        return tryon_fail(TRYON_ENOMEM, "worker: out of memory for the networks");
    if (!dir || !dir[0]) {
        snprintf(n->body_why, sizeof n->body_why, "no model folder");
        snprintf(n->garment_why, sizeof n->garment_why, "no model folder");
        snprintf(n->back_why, sizeof n->back_why, "no model folder");
    } else {
        net_load(dir, "body_encoder.safetensors", ctx, NET_BODY, &n->body, n->body_why, sizeof n->body_why);
        net_load(dir, "garment_encoder.safetensors", ctx, NET_GARMENT, &n->garment, n->garment_why,
                 sizeof n->garment_why);
        net_load(dir, "garment_back_generator.safetensors", ctx, NET_BACK, &n->back, n->back_why, sizeof n->back_why);
    }
    *out = n;
    return TRYON_OK;
}

void worker_nets_free(struct worker_nets *n)
{
    if (!n)
        return;
    net_free(&n->body);
    net_free(&n->garment);
    net_free(&n->back);
    free(n);
}

static const struct worker_net *net_of(const struct worker_nets *n, enum worker_net_id id)
{
    return id == WORKER_NET_BODY ? &n->body : id == WORKER_NET_GARMENT ? &n->garment : &n->back;
}

const char *worker_nets_name(const struct worker_nets *n, enum worker_net_id id, const char **why)
{
    if (why)
        *why = id == WORKER_NET_BODY ? n->body_why : id == WORKER_NET_GARMENT ? n->garment_why : n->back_why;
    return net_of(n, id)->m ? net_of(n, id)->name : NULL;
}

const char *worker_nets_sha256(const struct worker_nets *n, enum worker_net_id id)
{
    return net_of(n, id)->m ? net_of(n, id)->sha256 : NULL;
}

/* Forward photos lo..hi-1 (at most WORKER_NET_BATCH) as one batch: sample j of the batch is
   photo batch[j]; person photos through their studio view (hints_cm[i], NULL = none). A
   photo whose input cannot be made fails alone (st[i] set, left out).
   Returns the batch size k; the outputs stay in the model. */
static int net_forward(struct worker_net *n, int lo, int hi, const struct img8 *const *ims,
                       const uint8_t *const *masks, bool person, const float *hints_cm, enum tryon_status *st,
                       int *batch)
{
    int S = n->side, k = 0;
    size_t per = (size_t)4 * S * S;
    for (int i = lo; i < hi; i++) {
        st[i] = person ? worker_nn_person_input(ims[i], masks[i], hints_cm ? hints_cm[i] : 0.0f, S, n->in8)
                       : worker_nn_input(ims[i], masks[i], S, n->in8);
        if (st[i])
            continue;
        float *x = n->in_host + per * (size_t)k;
        for (size_t e = 0; e < per; e++)
            x[e] = (float)n->in8[e] / 127.5f - 1.0f;
        batch[k++] = i;
    }
    if (k) {
        nn_model_set_input(n->m, "image", n->in_host, per * (size_t)k);
        nn_model_forward(n->m, k, false);
    }
    return k;
}

#define MAX_REG 256   /* regression targets a head may have */
#define MAX_CLASSES 64

/* The un-standardised regression outputs of the k samples of the last forward:
   vals (k, n_reg). */
static void reg_values(const struct worker_net *n, int k, float *vals)
{
    nn_model_get_output(n->m, "reg", vals, (size_t)k * n->n_reg);
    for (int j = 0; j < k; j++)
        for (int t = 0; t < n->n_reg; t++)
            vals[j * n->n_reg + t] = vals[j * n->n_reg + t] * n->std[t] + n->mean[t];
}

static float reg_get(const struct worker_net *n, const float *vals, const char *name)
{
    for (int k = 0; k < n->n_reg; k++)
        if (!strcmp(n->reg_names[k], name))
            return vals[k];
    return NAN;
}

/* One photo's prior from its regression outputs vals (n_reg). */
static enum tryon_status person_prior(const struct worker_net *n, const float *vals, struct avatar_person_prior *prior,
                                      struct worker_net_body *pred)
{
    float q[N_PERSON_NEEDS];
    for (int k = 0; k < N_PERSON_NEEDS; k++)
        if (!isfinite(q[k] = reg_get(n, vals, PERSON_NEEDS[k])))
            return tryon_fail(TRYON_EFORMAT, "%s: the body network does not predict %s", n->name, PERSON_NEEDS[k]);
    memset(prior, 0, sizeof *prior);
    prior->gender = q[0], prior->age = q[1], prior->muscle = q[2], prior->weight = q[3], prior->proportions = q[4];
    prior->arm_down_deg = q[5], prior->leg_spread_deg = q[6], prior->torso_turn_deg = q[7];
    prior->strength = PERSON_PRIOR_STRENGTH;
    if (pred) {
        pred->stature_cm = 100.0f * reg_get(n, vals, "stature_m");
        static const char *const meas[6] = {"height_cm", "chest_cm", "waist_cm", "hip_cm", "inseam_cm", "shoulder_cm"};
        for (int k = 0; k < 6; k++)
            pred->meas_cm[k] = reg_get(n, vals, meas[k]);
    }
    return TRYON_OK;
}

void worker_nets_person_batch(struct worker_nets *nets, int n, const struct img8 *const *ims,
                              const uint8_t *const *masks, const float *hints_cm, struct avatar_person_prior *priors,
                              struct worker_net_body *preds, enum tryon_status *st)
{
    struct worker_net *net = &nets->body;
    enum tryon_status unusable = TRYON_OK;
    if (!net->m)
        unusable = tryon_fail(TRYON_EUNSUPPORTED, "no body network: %s", nets->body_why);
    else if (net->n_reg > MAX_REG)
        unusable = tryon_fail(TRYON_EFORMAT, "%s: too many regression targets", net->name);
    if (unusable) {
        for (int i = 0; i < n; i++)
            st[i] = unusable;
        return;
    }
    float vals[WORKER_NET_BATCH * MAX_REG];
    int batch[WORKER_NET_BATCH];
    for (int lo = 0; lo < n; lo += WORKER_NET_BATCH) {
        int hi = lo + WORKER_NET_BATCH < n ? lo + WORKER_NET_BATCH : n;
        int k = net_forward(net, lo, hi, ims, masks, true, hints_cm, st, batch);
        if (k)
            reg_values(net, k, vals);
        for (int j = 0; j < k; j++) {
            int i = batch[j];
            st[i] = person_prior(net, vals + (size_t)j * net->n_reg, &priors[i], preds ? &preds[i] : NULL);
        }
    }
}

enum tryon_status worker_nets_person(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                     float hint_cm, struct avatar_person_prior *prior, struct worker_net_body *pred)
{
    enum tryon_status st;
    worker_nets_person_batch(nets, 1, &im, &mask, &hint_cm, prior, pred, &st);
    return st;
}

/* The back generator on the garment encoder's features of the last forward's k samples
   (zero noise: its most typical completion, and the same bytes every run) -> preds[batch[j]]
   .back (linear RGB) for each sample j whose st is still TRYON_OK. Without a generator, or
   one conditioned on features of another size, the backs stay empty. */
static void back_textures(struct worker_nets *nets, int k, const int *batch, struct worker_net_garment *preds,
                          enum tryon_status *st)
{
    struct worker_net *g = &nets->back, *e = &nets->garment;
    int fc, fh, fw;
    if (!g->m || !nn_model_tensor_shape(e->m, "features", &fc, &fh, &fw) || fc * fh * fw != g->cond_dim)
        return;
    int B = g->side;
    size_t nimg = (size_t)3 * B * B;
    float *cond = g->in_host, *noise = cond + (size_t)WORKER_NET_BATCH * g->cond_dim,
          *img = noise + (size_t)WORKER_NET_BATCH * g->noise_dim;
    nn_model_get_output(e->m, "features", cond, (size_t)k * g->cond_dim);
    memset(noise, 0, sizeof(float) * (size_t)k * g->noise_dim);
    nn_model_set_input(g->m, "features", cond, (size_t)k * g->cond_dim);
    nn_model_set_input(g->m, "noise", noise, (size_t)k * g->noise_dim);
    nn_model_forward(g->m, k, false);
    nn_model_get_output(g->m, "image", img, (size_t)k * nimg);
    for (int j = 0; j < k; j++) {
        struct worker_net_garment *pred = &preds[batch[j]];
        if (st[batch[j]])
            continue;
        if ((st[batch[j]] = imgf_alloc(&pred->back, B, B, 3)))
            continue;
        const float *im = img + (size_t)j * nimg;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < B * B; i++) {
                /* tanh range -> the sRGB byte it was trained on -> linear albedo */
                float byte = rintf(fminf(255.0f, fmaxf(0.0f, (im[(size_t)c * B * B + i] + 1.0f) * 127.5f)));
                pred->back.px[(size_t)i * 3 + c] = img_srgb_to_linear(byte / 255.0f);
            }
        pred->back_side_m = g->side_m;
    }
}

/* One photo's garment reading from its class logits and regression outputs (w x h: the
   photo's size, for the landmarks). */
static enum tryon_status garment_pred(const struct worker_net *n, const float *logits, const float *vals, int w, int h,
                                      struct worker_net_garment *pred)
{
    int best = 0;
    for (int k = 1; k < n->n_classes; k++)
        if (logits[k] > logits[best])
            best = k;
    double z = 0;
    for (int k = 0; k < n->n_classes; k++)
        z += exp((double)(logits[k] - logits[best]));
    if (avatar_garment_type_parse(n->classes[best], &pred->type))
        return tryon_fail(TRYON_EFORMAT, "%s: class '%s' is not a garment type", n->name, n->classes[best]);
    pred->confidence = (float)(1.0 / z);
    pred->printed = fmaxf(reg_get(n, vals, "print_stripes"),
                          fmaxf(reg_get(n, vals, "print_checks"), reg_get(n, vals, "print_dots"))) > 0.5f;
    pred->length = reg_get(n, vals, "length");
    pred->sleeve = reg_get(n, vals, "sleeve");
    for (int l = 0; l < AVATAR_LM_N; l++) {
        char nx[64], ny[64];
        snprintf(nx, sizeof nx, "lm_%s_x", avatar_landmark_name((enum avatar_landmark)l));
        snprintf(ny, sizeof ny, "lm_%s_y", avatar_landmark_name((enum avatar_landmark)l));
        pred->lm[l][0] = (reg_get(n, vals, nx) + 1.0f) * 0.5f * (float)w;
        pred->lm[l][1] = (reg_get(n, vals, ny) + 1.0f) * 0.5f * (float)h;
    }
    return TRYON_OK;
}

void worker_nets_garment_batch(struct worker_nets *nets, int n, const struct img8 *const *ims,
                               const uint8_t *const *masks, struct worker_net_garment *preds, enum tryon_status *st)
{
    struct worker_net *net = &nets->garment;
    for (int i = 0; i < n; i++)
        memset(&preds[i], 0, sizeof preds[i]);
    enum tryon_status unusable = TRYON_OK;
    if (!net->m)
        unusable = tryon_fail(TRYON_EUNSUPPORTED, "no garment network: %s", nets->garment_why);
    else if (net->n_classes > MAX_CLASSES || net->n_reg > MAX_REG)
        unusable = tryon_fail(TRYON_EFORMAT, "%s: too many outputs", net->name);
    if (unusable) {
        for (int i = 0; i < n; i++)
            st[i] = unusable;
        return;
    }
    float logits[WORKER_NET_BATCH * MAX_CLASSES], vals[WORKER_NET_BATCH * MAX_REG];
    int batch[WORKER_NET_BATCH];
    for (int lo = 0; lo < n; lo += WORKER_NET_BATCH) {
        int hi = lo + WORKER_NET_BATCH < n ? lo + WORKER_NET_BATCH : n;
        int k = net_forward(net, lo, hi, ims, masks, false, NULL, st, batch);
        if (!k)
            continue;
        nn_model_get_output(net->m, "category", logits, (size_t)k * net->n_classes);
        reg_values(net, k, vals);
        for (int j = 0; j < k; j++) {
            int i = batch[j];
            st[i] = garment_pred(net, logits + (size_t)j * net->n_classes, vals + (size_t)j * net->n_reg, ims[i]->w,
                                 ims[i]->h, &preds[i]);
        }
        back_textures(nets, k, batch, preds, st);
    }
}

enum tryon_status worker_nets_garment(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                      struct worker_net_garment *pred)
{
    enum tryon_status st;
    worker_nets_garment_batch(nets, 1, &im, &mask, pred, &st);
    return st;
}

void worker_nets_garment_apply(const struct worker_net_garment *pred, struct avatar_garment_est *est)
{
    /* the sleeve stays the classical estimate's: the network's was the less accurate on the
       calibration set (0.054 against 0.028) */
    if (isfinite(pred->length))
        est->length = fminf(1.0f, fmaxf(0.0f, pred->length));
    /* the landmarks the type has (the classical estimate marks them present) */
    for (int l = 0; l < AVATAR_LM_N; l++)
        if (est->lm[l][0] >= 0.0f && est->lm[l][1] >= 0.0f && isfinite(pred->lm[l][0]) && isfinite(pred->lm[l][1]) &&
            pred->lm[l][0] >= 0.0f && pred->lm[l][1] >= 0.0f) {
            est->lm[l][0] = pred->lm[l][0];
            est->lm[l][1] = pred->lm[l][1];
        }
}
