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
 * eval mode with batch norm folded (NN_MODE_INFER_FOLD), one photo at a time, on the
 * worker's compute context (nn_ctx_create): its bytes do not depend on the thread count. */
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
    struct nn_model *m;
    struct nn_cfg *cfg;
    char name[NN_NAME_MAX];
    int side;                    /* input S (4 x S x S) */
    uint8_t *in8;                /* (4*S*S) */
    float *in_host;              /* (4*S*S) */
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
        s = nn_model_create(n->cfg, ctx, 1, NN_MODE_INFER_FOLD, &n->m);
    if (s == TRYON_OK)
        s = nn_model_load_st(n->m, *f);
    if (s == TRYON_OK)
        snprintf(n->name, sizeof n->name, "%s", n->cfg->name);
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
        n->in_host = malloc(sizeof(float) * 4 * (size_t)h * h);
        if (!n->in8 || !n->in_host)
            s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    return s;
}

/* The back generator: inputs features and noise, output image (3 x B x B), and the side of
   the square of the back it paints (metadata output.image {"type": "gan", "side_m": ...}). */
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
        n->in_host = calloc((size_t)3 * n->side * n->side + (size_t)n->cond_dim + (size_t)zc, sizeof(float));
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

const char *worker_nets_name(const struct worker_nets *n, enum worker_net_id id, const char **why)
{
    const struct worker_net *net = id == WORKER_NET_BODY ? &n->body : id == WORKER_NET_GARMENT ? &n->garment : &n->back;
    if (why)
        *why = id == WORKER_NET_BODY ? n->body_why : id == WORKER_NET_GARMENT ? n->garment_why : n->back_why;
    return net->m ? net->name : NULL;
}

/* Forward one photo; the outputs stay in the model. */
static enum tryon_status net_forward(struct worker_net *n, const struct img8 *im, const uint8_t *mask)
{
    int S = n->side;
    enum tryon_status s = worker_nn_input(im, mask, S, n->in8);
    if (s)
        return s;
    for (size_t i = 0; i < (size_t)4 * S * S; i++)
        n->in_host[i] = (float)n->in8[i] / 127.5f - 1.0f;
    nn_model_set_input(n->m, "image", n->in_host, (size_t)4 * S * S);
    nn_model_forward(n->m, 1, false);
    return TRYON_OK;
}

/* The un-standardised regression outputs, by target name (NAN when the head lacks it). */
static void reg_values(const struct worker_net *n, float *vals)
{
    nn_model_get_output(n->m, "reg", vals, (size_t)n->n_reg);
    for (int k = 0; k < n->n_reg; k++)
        vals[k] = vals[k] * n->std[k] + n->mean[k];
}

static float reg_get(const struct worker_net *n, const float *vals, const char *name)
{
    for (int k = 0; k < n->n_reg; k++)
        if (!strcmp(n->reg_names[k], name))
            return vals[k];
    return NAN;
}

enum tryon_status worker_nets_person(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                     struct avatar_person_prior *prior, struct worker_net_body *pred)
{
    struct worker_net *n = &nets->body;
    if (!n->m)
        return tryon_fail(TRYON_EUNSUPPORTED, "no body network: %s", nets->body_why);
    enum tryon_status s = net_forward(n, im, mask);
    if (s)
        return s;
    float vals[256];
    if (n->n_reg > 256)
        return tryon_fail(TRYON_EFORMAT, "%s: too many regression targets", n->name);
    reg_values(n, vals);
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

/* The back generator on the garment encoder's features (zero noise: its most typical
   completion, and the same bytes every run) -> pred->back (linear RGB). Without a generator,
   or one conditioned on features of another size, pred->back stays empty. */
static enum tryon_status back_texture(struct worker_nets *nets, struct worker_net_garment *pred)
{
    struct worker_net *g = &nets->back, *e = &nets->garment;
    int fc, fh, fw;
    if (!g->m || !nn_model_tensor_shape(e->m, "features", &fc, &fh, &fw) || fc * fh * fw != g->cond_dim)
        return TRYON_OK;
    float *cond = g->in_host, *noise = cond + g->cond_dim, *img = noise + g->noise_dim;
    nn_model_get_output(e->m, "features", cond, (size_t)g->cond_dim);
    memset(noise, 0, sizeof(float) * (size_t)g->noise_dim);
    nn_model_set_input(g->m, "features", cond, (size_t)g->cond_dim);
    nn_model_set_input(g->m, "noise", noise, (size_t)g->noise_dim);
    nn_model_forward(g->m, 1, false);
    int B = g->side;
    nn_model_get_output(g->m, "image", img, (size_t)3 * B * B);
    enum tryon_status s = imgf_alloc(&pred->back, B, B, 3);
    if (s)
        return s;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < B * B; i++) {
            /* tanh range -> the sRGB byte it was trained on -> linear albedo */
            float byte = rintf(fminf(255.0f, fmaxf(0.0f, (img[(size_t)c * B * B + i] + 1.0f) * 127.5f)));
            pred->back.px[(size_t)i * 3 + c] = img_srgb_to_linear(byte / 255.0f);
        }
    pred->back_side_m = g->side_m;
    return TRYON_OK;
}

enum tryon_status worker_nets_garment(struct worker_nets *nets, const struct img8 *im, const uint8_t *mask,
                                      struct worker_net_garment *pred)
{
    struct worker_net *n = &nets->garment;
    if (!n->m)
        return tryon_fail(TRYON_EUNSUPPORTED, "no garment network: %s", nets->garment_why);
    enum tryon_status s = net_forward(n, im, mask);
    if (s)
        return s;
    float logits[64], vals[256];
    if (n->n_classes > 64 || n->n_reg > 256)
        return tryon_fail(TRYON_EFORMAT, "%s: too many outputs", n->name);
    nn_model_get_output(n->m, "category", logits, (size_t)n->n_classes);
    reg_values(n, vals);
    int best = 0;
    for (int k = 1; k < n->n_classes; k++)
        if (logits[k] > logits[best])
            best = k;
    double z = 0;
    for (int k = 0; k < n->n_classes; k++)
        z += exp((double)(logits[k] - logits[best]));
    memset(pred, 0, sizeof *pred);
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
        pred->lm[l][0] = (reg_get(n, vals, nx) + 1.0f) * 0.5f * (float)im->w;
        pred->lm[l][1] = (reg_get(n, vals, ny) + 1.0f) * 0.5f * (float)im->h;
    }
    return back_texture(nets, pred);
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
