/* train.c: the training config and the data-parallel training loop of `tryon train`.
 *
 * A step on every rank: this rank's slice of the global batch (the epoch permutation of
 * nn_data_permutation, cut into global batches, remainder dropped) -> forward(train) ->
 * losses on the host (the heads are small: download the outputs, compute each loss and its
 * gradient in double, upload the gradient into nn_model_output_grad, which keeps the loop
 * backend-agnostic) -> backward -> nn_dp_average_grads -> AdamW at the scheduled rate.
 * Regression targets are standardised by per-column mean and std of the training split
 * (NaN entries are absent: no loss, no gradient); the statistics go into the final weight
 * file so inference can undo them.
 *
 * Checkpoints (every checkpoint_every steps and at the end): BN running statistics are
 * averaged over ranks, rank 0 measures the validation loss and writes
 * OUT/ckpt-NNNNNN/{model.safetensors, optim.safetensors, state.json} and LAST the empty
 * DONE. A start resumes from the newest folder holding DONE. Every run, resumed or not,
 * averages the buffers at the same steps (a checkpoint a signal forces off that grid also
 * keeps each rank's own buffers, restored on resume), and the batches are a function of
 * (seed, step), so a resumed run ends with the same bytes as an uninterrupted one. */
#include "nn/nn_internal.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ===== AdamW state accessors =============================================================*/
/* The checkpoints' view of AdamW: the moments m (returned) and v (*v), backend memory of
   nn_model_numel_trainable floats each, owned by the model; NULL before the first step. */
static float *adamw_moments(struct nn_model *m, float **v)
{
    if (v)
        *v = m->adam_mem ? m->adam_mem + m->n_train : NULL;
    return m->adam_mem;
}

/* Restore AdamW state from host copies of both moments (numel_trainable floats each) and
   the step count t (>= 0); allocates the moment memory when needed. */
static void adamw_set_state(struct nn_model *m, const float *m_host, const float *v_host, int t)
{
    assert(m->mode == NN_MODE_TRAIN && t >= 0);
    if (!m->n_train)
        return;
    if (!m->adam_mem) {
        m->adam_mem = kern_alloc(m->ctx, 2 * m->n_train);
        m->mem.optim = 2 * m->n_train * sizeof(float);
    }
    kern_upload(m->ctx, m->adam_mem, m_host, m->n_train);
    kern_upload(m->ctx, m->adam_mem + m->n_train, v_host, m->n_train);
    m->adam_t = t;
}

/* ===== config ============================================================================*/
static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= NN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.'))
            return false;
    }
    return true;
}

void nn_train_cfg_free(struct nn_train_cfg *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->n_losses; i++)
        free(cfg->losses[i].targets);
    free(cfg->losses);
    free(cfg->gan);
    free(cfg);
}

static enum tryon_status cfg_int(const struct yml_doc *doc, const struct yml_node *n, const char *what, long long lo,
                                 long long hi, int *out)
{
    long long v;
    enum tryon_status s = yml_as_int(doc, n, what, &v);
    if (s < 0)
        return s;
    if (v < lo || v > hi)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be in [%lld, %lld], got %lld", doc->path, n->line, what, lo,
                          hi, v);
    *out = (int)v;
    return TRYON_OK;
}

static enum tryon_status cfg_dbl(const struct yml_doc *doc, const struct yml_node *n, const char *what, double lo,
                                 double hi, double *out)
{
    double v;
    enum tryon_status s = yml_as_double(doc, n, what, &v);
    if (s < 0)
        return s;
    if (!(v >= lo && v <= hi))
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be in [%g, %g], got %g", doc->path, n->line, what, lo, hi, v);
    *out = v;
    return TRYON_OK;
}

/* A path from the YAML, resolved against base (absolute paths kept). */
static enum tryon_status cfg_path(const struct yml_doc *doc, const struct yml_node *n, const char *what,
                                  const char *base, char *out, size_t cap)
{
    const char *v;
    enum tryon_status s = yml_as_str(doc, n, what, &v);
    if (s < 0)
        return s;
    if (!v[0])
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s is empty", doc->path, n->line, what);
    if (v[0] == '/' || !base[0]) {
        if (snprintf(out, cap, "%s", v) >= (int)cap)
            return tryon_fail(TRYON_ELIMIT, "%s:%d: %s is too long", doc->path, n->line, what);
        return TRYON_OK;
    }
    s = fs_join(out, cap, base, v);
    return s < 0 ? tryon_failctx(s, "%s:%d: %s", doc->path, n->line, what) : s;
}

static enum tryon_status parse_loss(const struct yml_doc *doc, const struct yml_node *n, int i,
                                    struct nn_train_loss *L)
{
    static const char *const keys[] = {"output", "type", "targets", "weight", "image", NULL};
    char what[64];
    snprintf(what, sizeof what, "losses[%d]", i);
    enum tryon_status s = yml_expect(doc, n, YML_MAP, what);
    if (s == TRYON_OK)
        s = yml_check_keys(doc, n, keys);
    if (s < 0)
        return s;
    L->line = n->line;
    L->weight = 1.0f;
    const struct yml_node *o = yml_get(n, "output"), *t = yml_get(n, "type"), *tg = yml_get(n, "targets"),
                          *w = yml_get(n, "weight"), *im = yml_get(n, "image");
    const char *v;
    if (!o || !t)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s needs 'output' and 'type'", doc->path, n->line, what);
    if ((s = yml_as_str(doc, o, "output", &v)) < 0)
        return s;
    if (!valid_name(v))
        return tryon_fail(TRYON_EINVAL, "%s:%d: output '%s' is not a valid name", doc->path, o->line, v);
    snprintf(L->output, sizeof L->output, "%s", v);
    if ((s = yml_as_str(doc, t, "type", &v)) < 0)
        return s;
    if (strcmp(v, "mse") == 0)
        L->type = NN_LOSS_MSE;
    else if (strcmp(v, "softmax_ce") == 0)
        L->type = NN_LOSS_SOFTMAX_CE;
    else if (strcmp(v, "l1_image") == 0)
        L->type = NN_LOSS_L1_IMAGE;
    else
        return tryon_fail(TRYON_EINVAL, "%s:%d: loss type '%s' is unknown (expected mse, softmax_ce or l1_image)",
                          doc->path, t->line, v);
    if (im && L->type != NN_LOSS_L1_IMAGE)
        return tryon_fail(TRYON_EINVAL, "%s:%d: only an l1_image loss takes 'image'", doc->path, im->line);
    if (w) {
        double d;
        if ((s = cfg_dbl(doc, w, "weight", 0, 1e6, &d)) < 0)
            return s;
        L->weight = (float)d;
    }
    if (L->type == NN_LOSS_SOFTMAX_CE) {
        if (tg)
            return tryon_fail(TRYON_EINVAL, "%s:%d: a softmax_ce loss compares with the dataset's labels and takes no "
                              "targets", doc->path, tg->line);
        return TRYON_OK;
    }
    if (L->type == NN_LOSS_L1_IMAGE) {
        if (tg || !im)
            return tryon_fail(TRYON_EINVAL, "%s:%d: an l1_image loss compares with the dataset's image tensor: it "
                              "needs 'image' and takes no targets", doc->path, (tg ? tg : n)->line);
        if ((s = yml_as_str(doc, im, "image", &v)) < 0)
            return s;
        if (!valid_name(v))
            return tryon_fail(TRYON_EINVAL, "%s:%d: image '%s' is not a valid name", doc->path, im->line, v);
        snprintf(L->image, sizeof L->image, "%s", v);
        return TRYON_OK;
    }
    if (!tg)
        return tryon_fail(TRYON_EINVAL, "%s:%d: an mse loss needs 'targets'", doc->path, n->line);
    if ((s = yml_expect(doc, tg, YML_SEQ, "targets")) < 0)
        return s;
    if (tg->n < 1 || tg->n > 4096)
        return tryon_fail(TRYON_EINVAL, "%s:%d: targets must list 1 to 4096 names", doc->path, tg->line);
    L->targets = calloc((size_t)tg->n, sizeof *L->targets);
    if (!L->targets)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    L->n_targets = tg->n;
    for (int k = 0; k < tg->n; k++) {
        if ((s = yml_as_str(doc, tg->items[k], "target", &v)) < 0)
            return s;
        if (!v[0] || strlen(v) >= NN_NAME_MAX)
            return tryon_fail(TRYON_EINVAL, "%s:%d: target '%s' is not a valid name", doc->path, tg->items[k]->line,
                              v);
        for (int j = 0; j < k; j++)
            if (strcmp(L->targets[j], v) == 0)
                return tryon_fail(TRYON_EINVAL, "%s:%d: target '%s' is listed twice", doc->path, tg->items[k]->line,
                                  v);
        snprintf(L->targets[k], NN_NAME_MAX, "%s", v);
    }
    return TRYON_OK;
}

/* The `gan:` map (GAN mode). */
static enum tryon_status parse_gan(const struct yml_doc *doc, const struct yml_node *n, const char *base,
                                   struct nn_train_gan *g)
{
    static const char *const keys[] = {"generator", "discriminator", "condition", "target", "l1", "adversarial",
                                       NULL};
    enum tryon_status s = yml_expect(doc, n, YML_MAP, "gan");
    if (s == TRYON_OK)
        s = yml_check_keys(doc, n, keys);
    if (s < 0)
        return s;
    g->line = n->line;
    static const char *const required[] = {"generator", "discriminator", "condition", "target", NULL};
    for (int i = 0; required[i]; i++)
        if (!yml_get(n, required[i]))
            return tryon_fail(TRYON_EINVAL, "%s:%d: gan needs '%s'", doc->path, n->line, required[i]);
    const struct yml_node *v = yml_get(n, "generator");
    g->line_generator = v->line;
    if ((s = cfg_path(doc, v, "gan.generator", base, g->generator_path, sizeof g->generator_path)) < 0)
        return s;
    v = yml_get(n, "discriminator");
    g->line_discriminator = v->line;
    if ((s = cfg_path(doc, v, "gan.discriminator", base, g->discriminator_path, sizeof g->discriminator_path)) < 0)
        return s;
    v = yml_get(n, "condition");
    g->line_condition = v->line;
    if ((s = cfg_path(doc, v, "gan.condition", base, g->condition_path, sizeof g->condition_path)) < 0)
        return s;
    v = yml_get(n, "target");
    g->line_target = v->line;
    const char *str;
    if ((s = yml_as_str(doc, v, "gan.target", &str)) < 0)
        return s;
    if (!valid_name(str))
        return tryon_fail(TRYON_EINVAL, "%s:%d: gan.target '%s' is not a valid tensor name", doc->path, v->line, str);
    snprintf(g->target, sizeof g->target, "%s", str);
    g->l1 = 100, g->adversarial = 1;
    if ((v = yml_get(n, "l1")) && (s = cfg_dbl(doc, v, "gan.l1", 0, 1e6, &g->l1)) < 0)
        return s;
    if ((v = yml_get(n, "adversarial")) && (s = cfg_dbl(doc, v, "gan.adversarial", 0, 1e6, &g->adversarial)) < 0)
        return s;
    if (g->l1 == 0 && g->adversarial == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: gan.l1 and gan.adversarial are both 0: the generator would learn "
                          "nothing", doc->path, n->line);
    return TRYON_OK;
}

static enum tryon_status parse_cfg(const struct yml_doc *doc, const char *base, struct nn_train_cfg *c)
{
    static const char *const keys[] = {"name", "model", "data", "kind", "seed", "batch", "steps", "lr",
                                       "weight_decay", "checkpoint_every", "val_shards", "bucket_mb", "augment",
                                       "losses", "gan", "log_every", NULL};
    const struct yml_node *r = doc->root;
    if (!r)
        return tryon_fail(TRYON_EINVAL, "%s:1: the training config is empty", doc->path);
    enum tryon_status s = yml_expect(doc, r, YML_MAP, "the training config");
    if (s == TRYON_OK)
        s = yml_check_keys(doc, r, keys);
    if (s < 0)
        return s;
    /* supervised (model + losses) or GAN (gan), never both */
    const struct yml_node *n = yml_get(r, "gan");
    if (n) {
        static const char *const not_gan[] = {"model", "losses", NULL};
        for (int i = 0; not_gan[i]; i++)
            if (yml_get(r, not_gan[i]))
                return tryon_fail(TRYON_EINVAL, "%s:%d: '%s' is for supervised training; a config with 'gan' (line "
                                  "%d) names its models under gan", doc->path, yml_get(r, not_gan[i])->line,
                                  not_gan[i], n->line);
        if (!(c->gan = calloc(1, sizeof *c->gan)))
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
        if ((s = parse_gan(doc, n, base, c->gan)) < 0)
            return s;
    }
    static const char *const required[] = {"name", "kind", "batch", "steps", "lr", NULL};
    for (int i = 0; required[i]; i++)
        if (!yml_get(r, required[i]))
            return tryon_fail(TRYON_EINVAL, "%s:%d: missing key '%s'", doc->path, r->line, required[i]);
    if (!c->gan && (!yml_get(r, "model") || !yml_get(r, "losses")))
        return tryon_fail(TRYON_EINVAL, "%s:%d: missing key '%s' (or a 'gan' map instead of model and losses)",
                          doc->path, r->line, yml_get(r, "model") ? "losses" : "model");
    const char *v;
    n = yml_get(r, "name");
    if ((s = yml_as_str(doc, n, "name", &v)) < 0)
        return s;
    if (!valid_name(v))
        return tryon_fail(TRYON_EINVAL, "%s:%d: name '%s' must be 1-63 of [A-Za-z0-9_.-]", doc->path, n->line, v);
    snprintf(c->name, sizeof c->name, "%s", v);
    if ((n = yml_get(r, "model"))) {
        c->line_model = n->line;
        if ((s = cfg_path(doc, n, "model", base, c->model_path, sizeof c->model_path)) < 0)
            return s;
    }
    if ((n = yml_get(r, "data")) && (s = cfg_path(doc, n, "data", base, c->data_dir, sizeof c->data_dir)) < 0)
        return s;
    n = yml_get(r, "kind");
    c->line_kind = n->line;
    if ((s = yml_as_str(doc, n, "kind", &v)) < 0)
        return s;
    if (!valid_name(v) || strlen(v) >= sizeof c->kind)
        return tryon_fail(TRYON_EINVAL, "%s:%d: kind '%s' is not a valid name", doc->path, n->line, v);
    snprintf(c->kind, sizeof c->kind, "%s", v);
    if ((n = yml_get(r, "seed"))) {
        long long sd;
        if ((s = yml_as_int(doc, n, "seed", &sd)) < 0)
            return s;
        if (sd < 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: seed must be >= 0", doc->path, n->line);
        c->seed = (uint64_t)sd;
    }
    n = yml_get(r, "batch");
    c->line_batch = n->line;
    if ((s = cfg_int(doc, n, "batch", 1, 1 << 20, &c->batch)) < 0)
        return s;
    if ((s = cfg_int(doc, yml_get(r, "steps"), "steps", 1, 100000000, &c->steps)) < 0)
        return s;
    n = yml_get(r, "lr");
    static const char *const lr_keys[] = {"max", "min", "warmup", NULL};
    if ((s = yml_expect(doc, n, YML_MAP, "lr")) < 0 || (s = yml_check_keys(doc, n, lr_keys)) < 0)
        return s;
    if (!yml_get(n, "max"))
        return tryon_fail(TRYON_EINVAL, "%s:%d: lr needs 'max'", doc->path, n->line);
    if ((s = cfg_dbl(doc, yml_get(n, "max"), "lr.max", 0, 10, &c->lr_max)) < 0)
        return s;
    if (yml_get(n, "min") && (s = cfg_dbl(doc, yml_get(n, "min"), "lr.min", 0, c->lr_max, &c->lr_min)) < 0)
        return s;
    if (yml_get(n, "warmup") && (s = cfg_int(doc, yml_get(n, "warmup"), "lr.warmup", 0, c->steps, &c->warmup)) < 0)
        return s;
    if ((n = yml_get(r, "weight_decay")) && (s = cfg_dbl(doc, n, "weight_decay", 0, 10, &c->weight_decay)) < 0)
        return s;
    if ((n = yml_get(r, "checkpoint_every")) &&
        (s = cfg_int(doc, n, "checkpoint_every", 1, 100000000, &c->checkpoint_every)) < 0)
        return s;
    if ((n = yml_get(r, "val_shards")) && (s = cfg_int(doc, n, "val_shards", 0, 1000000, &c->val_shards)) < 0)
        return s;
    c->bucket_mb = 4;
    if ((n = yml_get(r, "bucket_mb")) && (s = cfg_dbl(doc, n, "bucket_mb", 0.001, 4096, &c->bucket_mb)) < 0)
        return s;
    c->log_every = 1;
    if ((n = yml_get(r, "log_every")) && (s = cfg_int(doc, n, "log_every", 1, 100000000, &c->log_every)) < 0)
        return s;
    if ((n = yml_get(r, "augment"))) {
        static const char *const aug_keys[] = {"flip", NULL};
        if ((s = yml_expect(doc, n, YML_MAP, "augment")) < 0 || (s = yml_check_keys(doc, n, aug_keys)) < 0)
            return s;
        if (yml_get(n, "flip") && (s = yml_as_bool(doc, yml_get(n, "flip"), "augment.flip", &c->flip)) < 0)
            return s;
        if (c->gan && c->flip)
            return tryon_fail(TRYON_EINVAL, "%s:%d: augment.flip does not apply to a gan config (the condition "
                              "features are computed once from the unflipped inputs)", doc->path, n->line);
    }
    if (c->gan)
        return TRYON_OK;
    n = yml_get(r, "losses");
    if ((s = yml_expect(doc, n, YML_SEQ, "losses")) < 0)
        return s;
    if (n->n < 1 || n->n > 64)
        return tryon_fail(TRYON_EINVAL, "%s:%d: losses must list 1 to 64 losses", doc->path, n->line);
    c->losses = calloc((size_t)n->n, sizeof *c->losses);
    if (!c->losses)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    c->n_losses = n->n;
    for (int i = 0; i < n->n; i++) {
        if ((s = parse_loss(doc, n->items[i], i, &c->losses[i])) < 0)
            return s;
        for (int j = 0; j < i; j++) {
            if (strcmp(c->losses[j].output, c->losses[i].output) == 0)
                return tryon_fail(TRYON_EINVAL, "%s:%d: output '%s' already has a loss (line %d)", doc->path,
                                  c->losses[i].line, c->losses[i].output, c->losses[j].line);
            if (c->losses[i].type == NN_LOSS_L1_IMAGE && c->losses[j].type == NN_LOSS_L1_IMAGE)
                return tryon_fail(TRYON_EINVAL, "%s:%d: a second l1_image loss (the first is at line %d): the dataset "
                                  "holds one image tensor", doc->path, c->losses[i].line, c->losses[j].line);
        }
        if (c->losses[i].type == NN_LOSS_L1_IMAGE && c->flip)
            return tryon_fail(TRYON_EINVAL, "%s:%d: flip would mirror the input but not the l1_image target: set "
                              "flip: false", doc->path, c->losses[i].line);
    }
    return TRYON_OK;
}

static enum tryon_status cfg_finish(struct yml_doc *doc, enum tryon_status s, const char *path, const char *base,
                                    struct nn_train_cfg **out)
{
    *out = NULL;
    if (s < 0)
        return s;
    struct nn_train_cfg *c = calloc(1, sizeof *c);
    if (!c) {
        yml_free(doc);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    s = parse_cfg(doc, base, c);
    yml_free(doc);
    if (s < 0) {
        nn_train_cfg_free(c);
        return s;
    }
    *out = c;
    return TRYON_OK;
}

enum tryon_status nn_train_cfg_load(const char *path, struct nn_train_cfg **out)
{
    struct yml_doc *doc = NULL;
    enum tryon_status s = yml_load_file(path, 0, &doc);
    char base[PATH_MAX];
    fs_dirname(base, sizeof base, path);
    return cfg_finish(doc, s, path, base, out);
}

double nn_train_lr(const struct nn_train_cfg *cfg, int step)
{
    if (step <= cfg->warmup && cfg->warmup > 0)
        return cfg->lr_max * (double)step / (double)cfg->warmup;
    int span = cfg->steps - cfg->warmup;
    double p = span > 0 ? (double)(step - cfg->warmup) / (double)span : 1.0;
    if (p > 1)
        p = 1;
    return cfg->lr_min + 0.5 * (cfg->lr_max - cfg->lr_min) * (1.0 + cos(3.14159265358979323846 * p));
}

/* ===== the trainer =======================================================================*/
/* One loss at run time: the head, its columns in the dataset, and host staging. */
struct loss_rt {
    const struct nn_train_loss *L;
    int units;            /* head outputs per sample */
    int *cols;            /* mse: dataset column of each unit */
    double *mean, *std;   /* mse: standardisation of each unit */
    float *out_host, *grad_host; /* (b, units) */
    float *tgt_host;      /* l1_image: (b, units) the target images */
};

struct trainer {
    const struct nn_train_cfg *cfg;
    struct nn_comm comm;
    struct kern_ctx *ctx;
    const struct nn_train_opts *opts;
    struct nn_cfg *mcfg;
    struct nn_model *m;
    struct nn_dp *dp;
    struct nn_data *data;
    char input_name[NN_NAME_MAX];
    int side, in_c, b;    /* input (in_c, side, side), per-rank batch */
    struct loss_rt *loss;
    float *in_host;       /* (b, in_c, S, S) */
    struct nn_tr_batches bt; /* the batch order; bt.idx = this step's slice */
    bool *flip;           /* (b) */
    char hash[65];        /* config hash */
    double *step_losses;  /* n_losses + 2 doubles: total, per loss, stop flag (averaged) */
    double val_total;
    double *val_losses;
    double lr;
};

/* ----- what the supervised and the GAN trainer share (nn_internal.h) ------------------*/
static int solo_allreduce(void *user, float *buf, size_t n)
{
    (void)user, (void)buf, (void)n;
    return 0;
}

static int solo_bcast(void *user, void *buf, size_t n, int root)
{
    (void)user, (void)buf, (void)n, (void)root;
    return 0;
}

struct nn_comm nn_tr_comm(const struct nn_comm *comm)
{
    if (comm)
        return *comm;
    return (struct nn_comm){.rank = 0, .world = 1, .allreduce_sum = solo_allreduce, .bcast = solo_bcast};
}

enum tryon_status nn_tr_agree(const struct nn_comm *comm, enum tryon_status s)
{
    if (comm->world == 1)
        return s;
    float flag = s < 0 ? 1.0f : 0.0f;
    if (comm->allreduce_sum(comm->user, &flag, 1) != 0)
        return tryon_fail(TRYON_EIO, "train: rank %d: the allreduce failed", comm->rank);
    if (s < 0)
        return s;
    if (flag > 0)
        return tryon_fail(TRYON_EIO, "train: rank %d: another rank failed (see its message)", comm->rank);
    return TRYON_OK;
}

static enum tryon_status agree(struct trainer *t, enum tryon_status s)
{
    return nn_tr_agree(&t->comm, s);
}

enum tryon_status nn_tr_batches_init(struct nn_tr_batches *bt, uint64_t seed, int batch, int b, int rank, int n)
{
    *bt = (struct nn_tr_batches){.seed = seed, .batch = batch, .b = b, .rank = rank, .n = n, .perm_epoch = -1};
    bt->perm = malloc((size_t)(n ? n : 1) * sizeof *bt->perm);
    bt->idx = malloc((size_t)(b ? b : 1) * sizeof *bt->idx);
    return bt->perm && bt->idx ? TRYON_OK : tryon_fail(TRYON_ENOMEM, "train: out of memory");
}

void nn_tr_batches_free(struct nn_tr_batches *bt)
{
    free(bt->perm);
    free(bt->idx);
    bt->perm = bt->idx = NULL;
}

int nn_tr_next_batch(struct nn_tr_batches *bt)
{
    if (bt->pos + bt->batch > bt->n) {
        bt->epoch++;
        bt->pos = 0;
    }
    if (bt->perm_epoch != bt->epoch) {
        nn_data_permutation(bt->seed, bt->epoch, bt->n, bt->perm);
        bt->perm_epoch = bt->epoch;
    }
    int first = bt->pos + bt->rank * bt->b;
    for (int i = 0; i < bt->b; i++)
        bt->idx[i] = bt->perm[first + i];
    bt->pos += bt->batch;
    return first;
}

/* ----- setup checks ---------------------------------------------------------------------*/
static enum tryon_status check_model_input(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    const struct nn_cfg *mc = t->mcfg;
    int n_in = 0, li = -1;
    for (int i = 0; i < mc->n_layers; i++)
        if (mc->layers[i].op == NN_OP_INPUT)
            n_in++, li = i;
    if (n_in != 1)
        return tryon_fail(TRYON_EINVAL, "%s:%d: model '%s' has %d inputs; training takes a one-input model",
                          c->path, c->line_model, mc->name, n_in);
    const struct nn_layer *l = &mc->layers[li];
    if (l->c != t->in_c || l->h != t->side || l->w != t->side)
        return tryon_fail(TRYON_EINVAL, "%s:%d: model '%s' takes input %dx%dx%d, the dataset holds %dx%dx%d", c->path,
                          c->line_model, mc->name, l->c, l->h, l->w, t->in_c, t->side, t->side);
    snprintf(t->input_name, sizeof t->input_name, "%s", l->name);
    return TRYON_OK;
}

/* Mean and std of column j over the training split, NaN ignored (std 1 for a constant). */
static enum tryon_status column_stats(struct trainer *t, int j, const char *name, double *mean, double *std)
{
    int n = nn_data_count(t->data, NN_SPLIT_TRAIN);
    double s = 0, ss = 0;
    long k = 0;
    for (int i = 0; i < n; i++) {
        float v = nn_data_target(t->data, NN_SPLIT_TRAIN, i)[j];
        if (isnan(v))
            continue;
        s += v;
        k++;
    }
    if (!k)
        return tryon_fail(TRYON_EINVAL, "%s: target '%s' has no value in the training shards of %s", t->cfg->path,
                          name, t->cfg->data_dir);
    *mean = s / (double)k;
    for (int i = 0; i < n; i++) {
        float v = nn_data_target(t->data, NN_SPLIT_TRAIN, i)[j];
        if (!isnan(v))
            ss += ((double)v - *mean) * ((double)v - *mean);
    }
    double sd = sqrt(ss / (double)k);
    *std = sd > 1e-8 ? sd : 1.0;
    return TRYON_OK;
}

static enum tryon_status setup_losses(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    t->loss = calloc((size_t)c->n_losses, sizeof *t->loss);
    if (!t->loss)
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    for (int i = 0; i < c->n_losses; i++) {
        const struct nn_train_loss *L = &c->losses[i];
        struct loss_rt *r = &t->loss[i];
        r->L = L;
        int oc, oh, ow;
        if (!nn_model_tensor_shape(t->m, L->output, &oc, &oh, &ow) || !nn_model_output(t->m, L->output)) {
            char have[256] = "";
            for (int k = 0; k < t->mcfg->n_outputs; k++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", k ? ", " : "",
                         t->mcfg->outputs[k].name);
            return tryon_fail(TRYON_EINVAL, "%s:%d: model '%s' has no output '%s' (it has: %s)", c->path, L->line,
                              t->mcfg->name, L->output, have);
        }
        r->units = oc * oh * ow;
        int ic, iside;
        if (L->type == NN_LOSS_L1_IMAGE) {
            nn_data_image_shape(t->data, &ic, &iside, NULL);
            if (oc != ic || oh != iside || ow != iside)
                return tryon_fail(TRYON_EINVAL, "%s:%d: output '%s' of model '%s' is %dx%dx%d, the dataset's '%s' is "
                                  "%dx%dx%d", c->path, L->line, L->output, t->mcfg->name, oc, oh, ow, L->image, ic,
                                  iside, iside);
            r->tgt_host = malloc((size_t)t->b * (size_t)r->units * sizeof(float));
            if (!r->tgt_host)
                return tryon_fail(TRYON_ENOMEM, "train: out of memory");
        } else if (L->type == NN_LOSS_MSE) {
            if (r->units != L->n_targets)
                return tryon_fail(TRYON_EINVAL, "%s:%d: output '%s' of model '%s' has %d units, the loss lists %d "
                                  "targets", c->path, L->line, L->output, t->mcfg->name, r->units, L->n_targets);
            r->cols = malloc((size_t)r->units * sizeof *r->cols);
            r->mean = malloc((size_t)r->units * sizeof *r->mean);
            r->std = malloc((size_t)r->units * sizeof *r->std);
            if (!r->cols || !r->mean || !r->std)
                return tryon_fail(TRYON_ENOMEM, "train: out of memory");
            for (int u = 0; u < r->units; u++) {
                r->cols[u] = nn_data_target_index(t->data, L->targets[u]);
                if (r->cols[u] < 0) {
                    char have[512] = "";
                    for (int k = 0; k < nn_data_n_targets(t->data); k++)
                        snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", k ? ", " : "",
                                 nn_data_target_name(t->data, k));
                    return tryon_fail(TRYON_EINVAL, "%s:%d: target '%s' is not in the '%s' data of %s (it has: %s)",
                                      c->path, L->line, L->targets[u], c->kind, c->data_dir, have);
                }
                enum tryon_status s = column_stats(t, r->cols[u], L->targets[u], &r->mean[u], &r->std[u]);
                if (s < 0)
                    return s;
            }
        } else {
            if (!nn_data_has_labels(t->data))
                return tryon_fail(TRYON_EINVAL, "%s:%d: a softmax_ce loss needs class labels; the '%s' data of %s has "
                                  "no classes", c->path, L->line, c->kind, c->data_dir);
            if (r->units != nn_data_n_classes(t->data))
                return tryon_fail(TRYON_EINVAL, "%s:%d: output '%s' of model '%s' has %d units, the data has %d "
                                  "classes", c->path, L->line, L->output, t->mcfg->name, r->units,
                                  nn_data_n_classes(t->data));
        }
        r->out_host = malloc((size_t)t->b * (size_t)r->units * sizeof(float));
        r->grad_host = malloc((size_t)t->b * (size_t)r->units * sizeof(float));
        if (!r->out_host || !r->grad_host)
            return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    }
    return TRYON_OK;
}

/* The config hash: every setting that shapes the weights (not the data folder), plus the
 * model description's bytes. */
static enum tryon_status config_hash(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    uint8_t *mb = NULL;
    size_t ml = 0;
    enum tryon_status s = fs_read_all(c->model_path, 0, &mb, &ml);
    if (s < 0)
        return tryon_failctx(s, "%s:%d: model", c->path, c->line_model);
    char mhex[65];
    sha256_hex(mb, ml, mhex);
    free(mb);
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "name"), json_str(&w, c->name);
    json_key(&w, "model_sha256"), json_str(&w, mhex);
    json_key(&w, "kind"), json_str(&w, c->kind);
    json_key(&w, "seed"), json_int(&w, (long long)c->seed);
    json_key(&w, "batch"), json_int(&w, c->batch);
    json_key(&w, "steps"), json_int(&w, c->steps);
    json_key(&w, "lr"), json_arr_begin(&w), json_num(&w, c->lr_max), json_num(&w, c->lr_min),
        json_int(&w, c->warmup), json_arr_end(&w);
    json_key(&w, "weight_decay"), json_num(&w, c->weight_decay);
    json_key(&w, "checkpoint_every"), json_int(&w, c->checkpoint_every);
    json_key(&w, "val_shards"), json_int(&w, c->val_shards);
    json_key(&w, "flip"), json_bool(&w, c->flip);
    json_key(&w, "losses"), json_arr_begin(&w);
    for (int i = 0; i < c->n_losses; i++) {
        const struct nn_train_loss *L = &c->losses[i];
        json_arr_begin(&w);
        json_str(&w, L->output), json_int(&w, L->type), json_num(&w, L->weight);
        for (int k = 0; k < L->n_targets; k++)
            json_str(&w, L->targets[k]);
        if (L->type == NN_LOSS_L1_IMAGE)
            json_str(&w, L->image);
        json_arr_end(&w);
    }
    json_arr_end(&w);
    json_obj_end(&w);
    sha256_hex(w.buf, w.len, t->hash);
    json_w_free(&w);
    return TRYON_OK;
}

/* ----- losses on the host ---------------------------------------------------------------*/
/* Loss r on n samples idx of split sp, from r->out_host. Returns the summed loss and, in
 * *count, what it is a sum over (valid mse entries, or samples). With grad, writes
 * weight * d(mean)/d(out) into r->grad_host. */
static double loss_eval(const struct trainer *t, struct loss_rt *r, enum nn_split sp, const int32_t *idx, int n,
                        bool grad, double *count)
{
    int U = r->units;
    double sum = 0;
    if (r->L->type == NN_LOSS_L1_IMAGE) {
        size_t k = (size_t)n * (size_t)U;
        nn_data_fill_image(t->data, sp, idx, n, r->tgt_host);
        for (size_t i = 0; i < k; i++) {
            double d = (double)r->out_host[i] - (double)r->tgt_host[i];
            sum += fabs(d);
            if (grad)
                r->grad_host[i] = (float)(r->L->weight * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) / (double)k);
        }
        *count = (double)k;
        return sum;
    }
    if (r->L->type == NN_LOSS_MSE) {
        long k = 0;
        for (int i = 0; i < n; i++) {
            const float *tg = nn_data_target(t->data, sp, idx[i]);
            for (int u = 0; u < U; u++)
                k += !isnan(tg[r->cols[u]]);
        }
        double inv = k ? 1.0 / (double)k : 0.0;
        for (int i = 0; i < n; i++) {
            const float *tg = nn_data_target(t->data, sp, idx[i]);
            for (int u = 0; u < U; u++) {
                float v = tg[r->cols[u]];
                size_t o = (size_t)i * (size_t)U + (size_t)u;
                double d = 0;
                if (!isnan(v)) {
                    d = (double)r->out_host[o] - ((double)v - r->mean[u]) / r->std[u];
                    sum += d * d;
                }
                if (grad)
                    r->grad_host[o] = (float)(r->L->weight * 2.0 * d * inv);
            }
        }
        *count = (double)k;
        return sum;
    }
    for (int i = 0; i < n; i++) {
        const float *z = r->out_host + (size_t)i * (size_t)U;
        int32_t lab = nn_data_label(t->data, sp, idx[i]);
        double mx = z[0];
        for (int u = 1; u < U; u++)
            mx = z[u] > mx ? z[u] : mx;
        double se = 0;
        for (int u = 0; u < U; u++)
            se += exp((double)z[u] - mx);
        double lse = mx + log(se);
        sum += lse - (double)z[lab];
        if (grad)
            for (int u = 0; u < U; u++) {
                double p = exp((double)z[u] - lse);
                r->grad_host[(size_t)i * (size_t)U + (size_t)u] =
                    (float)(r->L->weight * (p - (u == lab ? 1.0 : 0.0)) / (double)n);
            }
    }
    *count = (double)n;
    return sum;
}

/* ----- batches --------------------------------------------------------------------------*/
/* This rank's slice of the next global batch and its flips; advances the order. */
static void next_batch(struct trainer *t)
{
    int first = nn_tr_next_batch(&t->bt);
    if (t->cfg->flip)
        for (int i = 0; i < t->b; i++) {
            /* a coin per (seed, epoch, position): independent of ranks and resumes */
            uint64_t h =
                hash_mix64(t->cfg->seed ^ hash_mix64(((uint64_t)t->bt.epoch << 32) | (uint64_t)(first + i)));
            t->flip[i] = (h >> 63) != 0;
        }
}

/* ----- validation -----------------------------------------------------------------------*/
/* Eval-mode losses over the validation split (rank 0), into val_losses and val_total. */
static void validate(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    int n = nn_data_count(t->data, NN_SPLIT_VAL);
    t->val_total = NAN;
    if (!n)
        return;
    double *sum = tryon_xcalloc((size_t)c->n_losses * 2, sizeof *sum);
    int32_t *idx = tryon_xmalloc((size_t)t->b * sizeof *idx);
    for (int at = 0; at < n; at += t->b) {
        int k = n - at < t->b ? n - at : t->b;
        for (int i = 0; i < k; i++)
            idx[i] = at + i;
        nn_data_fill_input(t->data, NN_SPLIT_VAL, idx, k, NULL, t->in_host);
        kern_upload(t->ctx, nn_model_input(t->m, t->input_name), t->in_host, (size_t)k * t->in_c * t->side * t->side);
        nn_model_forward(t->m, k, false);
        for (int l = 0; l < c->n_losses; l++) {
            struct loss_rt *r = &t->loss[l];
            kern_download(t->ctx, r->out_host, nn_model_output(t->m, r->L->output), (size_t)k * (size_t)r->units);
            double cnt;
            sum[2 * l] += loss_eval(t, r, NN_SPLIT_VAL, idx, k, false, &cnt);
            sum[2 * l + 1] += cnt;
        }
    }
    t->val_total = 0;
    for (int l = 0; l < c->n_losses; l++) {
        t->val_losses[l] = sum[2 * l + 1] > 0 ? sum[2 * l] / sum[2 * l + 1] : 0.0;
        t->val_total += c->losses[l].weight * t->val_losses[l];
    }
    free(idx);
    free(sum);
}

/* ----- checkpoints ----------------------------------------------------------------------*/
void nn_tr_ckpt_dir(const char *out_dir, int step, char *out, size_t cap)
{
    char rel[32];
    snprintf(rel, sizeof rel, "ckpt-%06d", step);
    if (fs_join(out, cap, out_dir, rel) < 0)
        out[0] = 0;
}

static void ckpt_dir(const struct trainer *t, int step, char *out, size_t cap)
{
    nn_tr_ckpt_dir(t->opts->out_dir, step, out, cap);
}

/* Step of a "ckpt-NNNNNN" name, -1 for anything else. */
static int ckpt_step(const char *name)
{
    if (strncmp(name, "ckpt-", 5) != 0 || strlen(name) != 11)
        return -1;
    int v = 0;
    for (int i = 5; i < 11; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static bool ckpt_done(const char *out_dir, int step)
{
    char d[PATH_MAX], p[PATH_MAX];
    nn_tr_ckpt_dir(out_dir, step, d, sizeof d);
    return d[0] && fs_join(p, sizeof p, d, "DONE") == TRYON_OK && fs_exists(p);
}

/* Checkpoint steps present in out_dir (any, DONE or not), ascending; caller frees. */
static int list_ckpts(const char *out_dir, int **steps)
{
    *steps = NULL;
    DIR *dir = opendir(out_dir);
    if (!dir)
        return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        int s = ckpt_step(e->d_name);
        if (s < 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            int *ns = tryon_xrealloc(*steps, (size_t)cap * sizeof *ns);
            *steps = ns;
        }
        (*steps)[n++] = s;
    }
    closedir(dir);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            int x = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1];
            (*steps)[j - 1] = x;
        }
    return n;
}

/* Remove a checkpoint folder: DONE first, so a half-removed folder reads as incomplete. */
static void remove_ckpt(const char *out_dir, int step)
{
    char d[PATH_MAX], p[PATH_MAX];
    nn_tr_ckpt_dir(out_dir, step, d, sizeof d);
    if (!d[0] || fs_join(p, sizeof p, d, "DONE") < 0)
        return;
    unlink(p);
    DIR *dir = opendir(d);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && fs_join(p, sizeof p, d, e->d_name) == TRYON_OK)
            unlink(p);
    closedir(dir);
    if (rmdir(d) != 0)
        log_warn("train: cannot remove %s: %s", d, strerror(errno));
}

void nn_tr_prune_ckpts(const char *out_dir)
{
    int *steps, n = list_ckpts(out_dir, &steps), kept = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (kept < 2 && ckpt_done(out_dir, steps[i]))
            kept++;
        else
            remove_ckpt(out_dir, steps[i]);
    }
    free(steps);
}

enum tryon_status nn_tr_save_optim(struct nn_model *m, struct kern_ctx *ctx, const char *path)
{
    size_t nt = nn_model_numel_trainable(m);
    float *vdev, *mdev = adamw_moments(m, &vdev);
    float *host = malloc((nt ? nt : 1) * sizeof *host);
    struct nn_st_writer *w = nn_st_writer_create();
    if (!host || !w) {
        free(host);
        nn_st_writer_free(w);
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    }
    char tbuf[32];
    snprintf(tbuf, sizeof tbuf, "%d", nn_model_adamw_t(m));
    enum tryon_status s = nn_st_add_meta(w, "format", "tryon-adamw");
    if (s == TRYON_OK)
        s = nn_st_add_meta(w, "t", tbuf);
    int64_t shape[1] = {(int64_t)nt};
    if (s == TRYON_OK && mdev) {
        kern_download(ctx, host, mdev, nt);
        s = nn_st_add(w, "adamw.m", NN_F32, 1, shape, host);
        if (s == TRYON_OK) {
            kern_download(ctx, host, vdev, nt);
            s = nn_st_add(w, "adamw.v", NN_F32, 1, shape, host);
        }
    }
    if (s == TRYON_OK)
        s = nn_st_write(w, path);
    nn_st_writer_free(w);
    free(host);
    return s;
}

enum tryon_status nn_tr_load_optim(struct nn_model *m, const char *path)
{
    struct nn_st_file *f = NULL;
    enum tryon_status s = nn_st_read(path, 0, &f);
    if (s < 0)
        return s;
    const char *tv = nn_st_meta(f, "t");
    char *end = NULL;
    long at = tv ? strtol(tv, &end, 10) : -1;
    size_t nt = nn_model_numel_trainable(m);
    float *mh = NULL, *vh = NULL;
    if (!tv || *end || at < 0 || at > INT_MAX)
        s = tryon_fail(TRYON_EFORMAT, "%s: metadata 't' is missing or not a step count", path);
    else if (at > 0 && ((s = nn_st_get_f32(f, "adamw.m", nt, &mh, NULL)) < 0 ||
                        (s = nn_st_get_f32(f, "adamw.v", nt, &vh, NULL)) < 0))
        s = tryon_failctx(s, "%s", path);
    if (s == TRYON_OK && at > 0)
        adamw_set_state(m, mh, vh, (int)at);
    free(mh);
    free(vh);
    nn_st_free(f);
    return s;
}

static void json_losses(struct json_w *w, const struct trainer *t, const double *v)
{
    json_obj_begin(w);
    for (int l = 0; l < t->cfg->n_losses; l++)
        json_key(w, t->cfg->losses[l].output), json_num(w, v[l]);
    json_obj_end(w);
}

enum tryon_status nn_tr_write_state(const char *dir, struct json_w *j)
{
    char p[PATH_MAX];
    enum tryon_status s = fs_join(p, sizeof p, dir, "state.json");
    if (s == TRYON_OK)
        s = fs_write_atomic(p, j->buf, j->len);
    if (s == TRYON_OK && (s = fs_join(p, sizeof p, dir, "DONE")) == TRYON_OK)
        s = fs_write_atomic(p, "", 0);
    return s;
}

static enum tryon_status write_ckpt(struct trainer *t, int step)
{
    char d[PATH_MAX], p[PATH_MAX];
    ckpt_dir(t, step, d, sizeof d);
    if (!d[0])
        return tryon_fail(TRYON_ELIMIT, "%s: output path too long", t->opts->out_dir);
    enum tryon_status s = fs_mkdirs(d);
    if (s == TRYON_OK && (s = fs_join(p, sizeof p, d, "model.safetensors")) == TRYON_OK)
        s = nn_model_save(t->m, p, NULL);
    /* optimizer: both moments and the step count */
    if (s == TRYON_OK && (s = fs_join(p, sizeof p, d, "optim.safetensors")) == TRYON_OK)
        s = nn_tr_save_optim(t->m, t->ctx, p);
    if (s < 0)
        return s;
    struct json_w j;
    json_w_init(&j);
    json_obj_begin(&j);
    json_key(&j, "step"), json_int(&j, step);
    json_key(&j, "steps"), json_int(&j, t->cfg->steps);
    json_key(&j, "epoch"), json_int(&j, t->bt.epoch);
    json_key(&j, "position"), json_int(&j, t->bt.pos);
    json_key(&j, "seed"), json_int(&j, (long long)t->cfg->seed);
    json_key(&j, "order"), json_str(&j, "epoch permutation = nn_data_permutation(seed, epoch); flips from (seed, "
                                        "epoch, position)");
    json_key(&j, "adamw_t"), json_int(&j, nn_model_adamw_t(t->m));
    json_key(&j, "lr"), json_num(&j, t->lr);
    json_key(&j, "loss"), json_num(&j, t->step_losses[0]);
    json_key(&j, "losses"), json_losses(&j, t, t->step_losses + 1);
    json_key(&j, "val_loss"), json_num(&j, t->val_total);
    json_key(&j, "val_losses"), json_losses(&j, t, t->val_losses);
    json_key(&j, "world"), json_int(&j, t->comm.world);
    json_key(&j, "config_hash"), json_str(&j, t->hash);
    json_obj_end(&j);
    s = nn_tr_write_state(d, &j);
    json_w_free(&j);
    if (s == TRYON_OK)
        nn_tr_prune_ckpts(t->opts->out_dir);
    return s;
}

enum tryon_status nn_tr_find_resume(const char *out_dir, const char *hash, int n_train, int steps, int world,
                                    int64_t st[3])
{
    st[0] = st[1] = st[2] = 0;
    int *list, n = list_ckpts(out_dir, &list), step = -1;
    for (int i = n - 1; i >= 0 && step < 0; i--)
        if (ckpt_done(out_dir, list[i]))
            step = list[i];
    free(list);
    if (step < 0)
        return TRYON_OK;
    char d[PATH_MAX], p[PATH_MAX];
    nn_tr_ckpt_dir(out_dir, step, d, sizeof d);
    enum tryon_status s = fs_join(p, sizeof p, d, "state.json");
    struct json_val *v = NULL;
    if (s == TRYON_OK)
        s = json_parse_file(p, &v);
    if (s < 0)
        return s;
    const char *h = json_get_str(v, "config_hash");
    double ss = json_get_num(v, "step", -1), ep = json_get_num(v, "epoch", -1), po = json_get_num(v, "position", -1);
    if (!h || strcmp(h, hash) != 0)
        s = tryon_fail(TRYON_EINVAL, "%s: written by another training config (config_hash differs); use a fresh "
                       "output folder or remove the checkpoints", p);
    else if (ss != step || ep < 0 || po < 0 || ep > INT_MAX || po > n_train)
        s = tryon_fail(TRYON_EFORMAT, "%s: step, epoch or position is missing or wrong", p);
    else if (step > steps)
        s = tryon_fail(TRYON_EINVAL, "%s: step %d is past the config's %d steps", p, step, steps);
    else if (json_get_num(v, "world", world) != world)
        log_warn("%s: written by a %g-rank run, resuming on %d ranks: the batches split differently from here on",
                 p, json_get_num(v, "world", 0), world);
    st[0] = step, st[1] = (int64_t)ep, st[2] = (int64_t)po;
    json_free(v);
    return s;
}

enum tryon_status nn_tr_rank_buffers_path(const char *out_dir, int step, const char *prefix,
                                          const struct nn_comm *comm, char *out, size_t cap)
{
    char d[PATH_MAX], rel[96];
    nn_tr_ckpt_dir(out_dir, step, d, sizeof d);
    snprintf(rel, sizeof rel, "%sbuffers-rank%d-of%d.safetensors", prefix, comm->rank, comm->world);
    return d[0] ? fs_join(out, cap, d, rel) : tryon_fail(TRYON_ELIMIT, "%s: output path too long", out_dir);
}

enum tryon_status nn_tr_save_buffers(struct nn_model *m, struct kern_ctx *ctx, const char *path)
{
    size_t n_all, nt = nn_model_numel_trainable(m);
    float *arena = nn_model_param_arena(m, &n_all);
    if (n_all == nt)
        return TRYON_OK;
    enum tryon_status s = fs_mkdirs_parent(path);
    if (s < 0)
        return s;
    float *host = malloc((n_all - nt) * sizeof *host);
    struct nn_st_writer *w = nn_st_writer_create();
    if (!host || !w) {
        free(host);
        nn_st_writer_free(w);
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    }
    kern_download(ctx, host, arena + nt, n_all - nt);
    int64_t shape[1] = {(int64_t)(n_all - nt)};
    s = nn_st_add(w, "buffers", NN_F32, 1, shape, host);
    if (s == TRYON_OK)
        s = nn_st_write(w, path);
    nn_st_writer_free(w);
    free(host);
    return s;
}

enum tryon_status nn_tr_load_buffers(struct nn_model *m, struct kern_ctx *ctx, const char *path)
{
    size_t n_all, nt = nn_model_numel_trainable(m);
    float *arena = nn_model_param_arena(m, &n_all);
    if (n_all == nt || !fs_exists(path))
        return TRYON_OK;
    struct nn_st_file *f = NULL;
    float *host = NULL;
    enum tryon_status s = nn_st_read(path, 0, &f);
    if (s == TRYON_OK && (s = nn_st_get_f32(f, "buffers", n_all - nt, &host, NULL)) < 0)
        s = tryon_failctx(s, "%s", path);
    if (s == TRYON_OK)
        kern_upload(ctx, arena + nt, host, n_all - nt);
    free(host);
    nn_st_free(f);
    return s;
}

/* Every rank: weights and optimizer of checkpoint `step`, and this rank's own BN
 * statistics when the checkpoint has them. */
static enum tryon_status load_ckpt(struct trainer *t, int step)
{
    char d[PATH_MAX], p[PATH_MAX];
    ckpt_dir(t, step, d, sizeof d);
    enum tryon_status s = fs_join(p, sizeof p, d, "model.safetensors");
    if (s == TRYON_OK)
        s = nn_model_load(t->m, p);
    if (s == TRYON_OK && (s = fs_join(p, sizeof p, d, "optim.safetensors")) == TRYON_OK)
        s = nn_tr_load_optim(t->m, p);
    if (s == TRYON_OK && (s = nn_tr_rank_buffers_path(t->opts->out_dir, step, "", &t->comm, p, sizeof p)) == TRYON_OK)
        s = nn_tr_load_buffers(t->m, t->ctx, p);
    return s;
}

/* ----- final weights --------------------------------------------------------------------*/
static enum tryon_status write_final(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    char path[PATH_MAX];
    enum tryon_status s = fs_join(path, sizeof path, t->opts->out_dir, "model.safetensors");
    if (s < 0)
        return s;
    int nm = 0;
    const char **meta = calloc((size_t)(2 * (c->n_losses + 9) + 1), sizeof *meta);
    char **owned = calloc((size_t)(c->n_losses * 2 + 8), sizeof *owned);
    if (!meta || !owned) {
        free(meta);
        free(owned);
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    }
    int no = 0;
    char input[64], steps[32], seed[32];
    snprintf(input, sizeof input, "%dx%dx%d", t->in_c, t->side, t->side);
    snprintf(steps, sizeof steps, "%d", c->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    /* the model description travels with the weights: a weight file is self-contained */
    uint8_t *yaml = NULL;
    size_t ylen = 0;
    if ((s = fs_read_all(c->model_path, 0, &yaml, &ylen)) < 0) {
        free(meta);
        free(owned);
        return tryon_failctx(s, "%s:%d: model", c->path, c->line_model);
    }
    const char *fixed[] = {"tryon_model_version", NN_MODEL_VERSION, "kind", c->kind, "input", input,
                           "train_config", c->name, "train_steps", steps, "train_seed", seed,
                           "model_yaml", (const char *)yaml};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        meta[nm++] = fixed[i];
    for (int l = 0; l < c->n_losses; l++) {
        const struct loss_rt *r = &t->loss[l];
        struct json_w w;
        json_w_init(&w);
        json_obj_begin(&w);
        static const char *const type_names[] = {"mse", "softmax_ce", "l1_image"};
        json_key(&w, "type"), json_str(&w, type_names[r->L->type]);
        if (r->L->type == NN_LOSS_L1_IMAGE) {
            json_key(&w, "image"), json_str(&w, r->L->image);
        } else if (r->L->type == NN_LOSS_MSE) {
            json_key(&w, "targets"), json_arr_begin(&w);
            for (int u = 0; u < r->units; u++)
                json_str(&w, r->L->targets[u]);
            json_arr_end(&w);
            json_key(&w, "means"), json_arr_begin(&w);
            for (int u = 0; u < r->units; u++)
                json_num(&w, r->mean[u]);
            json_arr_end(&w);
            json_key(&w, "stds"), json_arr_begin(&w);
            for (int u = 0; u < r->units; u++)
                json_num(&w, r->std[u]);
            json_arr_end(&w);
        } else {
            json_key(&w, "classes"), json_arr_begin(&w);
            for (int k = 0; k < nn_data_n_classes(t->data); k++)
                json_str(&w, nn_data_class_name(t->data, k));
            json_arr_end(&w);
        }
        json_obj_end(&w);
        char key[NN_NAME_MAX + 16];
        snprintf(key, sizeof key, "output.%s", r->L->output);
        owned[no] = strdup(key);
        meta[nm++] = owned[no++];
        owned[no++] = w.buf;   /* the writer's buffer changes hands */
        meta[nm++] = w.buf;
        if (!owned[no - 2])
            s = tryon_fail(TRYON_ENOMEM, "train: out of memory");
    }
    meta[nm] = NULL;
    if (s == TRYON_OK)
        s = nn_model_save(t->m, path, meta);
    for (int i = 0; i < no; i++)
        free(owned[i]);
    free(owned);
    free(meta);
    free(yaml);
    return s;
}

void nn_tr_digest_update(struct sha256 *h, struct nn_model *m, struct kern_ctx *ctx)
{
    size_t n;
    float *arena = nn_model_param_arena(m, &n);
    float *host = tryon_xmalloc((n ? n : 1) * sizeof *host);
    kern_download(ctx, host, arena, n);
    sha256_update(h, host, n * sizeof *host);
    free(host);
}

void nn_tr_digest_hex(struct sha256 *h, char out[65])
{
    uint8_t d[32];
    sha256_final(h, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void params_digest(struct trainer *t, char out[65])
{
    struct sha256 h;
    sha256_init(&h);
    nn_tr_digest_update(&h, t->m, t->ctx);
    nn_tr_digest_hex(&h, out);
}

static void trainer_free(struct trainer *t)
{
    if (t->loss)
        for (int i = 0; i < t->cfg->n_losses; i++) {
            free(t->loss[i].cols);
            free(t->loss[i].mean);
            free(t->loss[i].std);
            free(t->loss[i].out_host);
            free(t->loss[i].grad_host);
            free(t->loss[i].tgt_host);
        }
    free(t->loss);
    free(t->in_host);
    nn_tr_batches_free(&t->bt);
    free(t->flip);
    free(t->step_losses);
    free(t->val_losses);
    nn_dp_free(t->dp);
    nn_model_free(t->m);
    nn_cfg_free(t->mcfg);
    nn_data_free(t->data);
}

/* Model, data, losses, buffers: everything before the first step. */
static enum tryon_status setup(struct trainer *t)
{
    const struct nn_train_cfg *c = t->cfg;
    if (!c->data_dir[0])
        return tryon_fail(TRYON_EINVAL, "%s: no dataset: set 'data:' or pass --data", c->path);
    if (c->batch % t->comm.world)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d does not split evenly over %d ranks", c->path, c->line_batch,
                          c->batch, t->comm.world);
    t->b = c->batch / t->comm.world;
    enum tryon_status s = nn_cfg_load(c->model_path, &t->mcfg);
    if (s < 0)
        return tryon_failctx(s, "%s:%d: model", c->path, c->line_model);
    const char *image = NULL;   /* the l1_image loss's tensor, loaded with the data */
    for (int i = 0; i < c->n_losses; i++)
        if (c->losses[i].type == NN_LOSS_L1_IMAGE)
            image = c->losses[i].image;
    if ((s = nn_data_open_image(c->data_dir, c->kind, c->val_shards, image, &t->data)) < 0)
        return tryon_failctx(s, "%s", c->path);
    t->side = nn_data_side(t->data);
    t->in_c = nn_data_channels(t->data);
    int n_train = nn_data_count(t->data, NN_SPLIT_TRAIN);
    if (c->batch > n_train)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d is larger than the %d training samples", c->path,
                          c->line_batch, c->batch, n_train);
    if (t->b < 2)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d over %d ranks leaves %d sample per rank; batch norm needs "
                          "at least 2", c->path, c->line_batch, c->batch, t->comm.world, t->b);
    if ((s = check_model_input(t)) < 0)
        return s;
    if ((s = nn_model_create(t->mcfg, t->ctx, t->b, NN_MODE_TRAIN, &t->m)) < 0)
        return s;
    if ((s = setup_losses(t)) < 0 || (s = config_hash(t)) < 0)
        return s;
    size_t per = (size_t)t->in_c * (size_t)t->side * (size_t)t->side;
    t->in_host = malloc((size_t)t->b * per * sizeof(float));
    t->flip = calloc((size_t)t->b, sizeof *t->flip);
    t->step_losses = calloc((size_t)c->n_losses + 2, sizeof(double));
    t->val_losses = calloc((size_t)c->n_losses, sizeof(double));
    if (!t->in_host || !t->flip || !t->step_losses || !t->val_losses)
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    if ((s = nn_tr_batches_init(&t->bt, c->seed, c->batch, t->b, t->comm.rank, n_train)) < 0)
        return s;
    t->val_total = NAN;
    return nn_dp_create(t->m, &t->comm, (size_t)(c->bucket_mb * 1048576.0), &t->dp);
}

/* One training step on this rank; fills step_losses (averaged over ranks) and the
 * seconds spent in gradient averaging. */
static enum tryon_status train_step(struct trainer *t, int step, bool stop_local, double *comm_s)
{
    const struct nn_train_cfg *c = t->cfg;
    next_batch(t);
    nn_data_fill_input(t->data, NN_SPLIT_TRAIN, t->bt.idx, t->b, c->flip ? t->flip : NULL, t->in_host);
    kern_upload(t->ctx, nn_model_input(t->m, t->input_name), t->in_host, (size_t)t->b * t->in_c * t->side * t->side);
    nn_model_zero_grad(t->m);
    nn_model_forward(t->m, t->b, true);
    int nl = c->n_losses;
    float *info = calloc((size_t)nl + 2, sizeof *info);
    if (!info)
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    for (int l = 0; l < nl; l++) {
        struct loss_rt *r = &t->loss[l];
        size_t k = (size_t)t->b * (size_t)r->units;
        kern_download(t->ctx, r->out_host, nn_model_output(t->m, r->L->output), k);
        double cnt;
        double sum = loss_eval(t, r, NN_SPLIT_TRAIN, t->bt.idx, t->b, true, &cnt);
        double mean = cnt > 0 ? sum / cnt : 0.0;
        kern_upload(t->ctx, nn_model_output_grad(t->m, r->L->output), r->grad_host, k);
        info[1 + l] = (float)mean;
        info[0] += (float)(r->L->weight * mean);
    }
    info[nl + 1] = stop_local ? 1.0f : 0.0f;
    nn_model_backward(t->m);
    double t0 = time_now();
    enum tryon_status s = nn_dp_average_grads(t->dp);
    *comm_s = time_now() - t0;
    if (s == TRYON_OK) {
        t->lr = nn_train_lr(c, step);
        struct nn_adamw_cfg oc = nn_adamw_defaults();
        oc.lr = (float)t->lr;
        oc.weight_decay = (float)c->weight_decay;
        nn_model_adamw_step(t->m, &oc);
        if (t->comm.world > 1 && t->comm.allreduce_sum(t->comm.user, info, (size_t)nl + 2) != 0)
            s = tryon_fail(TRYON_EIO, "train: rank %d: the allreduce of the step's losses failed", t->comm.rank);
    }
    for (int i = 0; i < nl + 1; i++)
        t->step_losses[i] = (double)info[i] / (double)t->comm.world;
    t->step_losses[nl + 1] = info[nl + 1];
    free(info);
    return s;
}

static void log_losses(FILE *f, const struct trainer *t, double total, const double *per)
{
    fprintf(f, "loss %.4g [", total);
    for (int l = 0; l < t->cfg->n_losses; l++)
        fprintf(f, "%s%s %.4g", l ? " " : "", t->cfg->losses[l].output, per[l]);
    fprintf(f, "]");
}

/* A checkpoint on every rank: buffers averaged, rank 0 validates and writes. Off the
 * checkpoint_every grid (a signal) with several ranks, each rank first saves its own
 * buffers, so that the resumed run goes on exactly as an uninterrupted one would. */
static enum tryon_status checkpoint(struct trainer *t, int step)
{
    const struct nn_train_cfg *c = t->cfg;
    bool on_grid = (c->checkpoint_every && step % c->checkpoint_every == 0) || step == c->steps;
    enum tryon_status s = TRYON_OK;
    if (!on_grid && t->comm.world > 1) {
        char p[PATH_MAX];
        s = nn_tr_rank_buffers_path(t->opts->out_dir, step, "", &t->comm, p, sizeof p);
        if ((s = agree(t, s == TRYON_OK ? nn_tr_save_buffers(t->m, t->ctx, p) : s)) < 0)
            return s;
    }
    if ((s = nn_dp_average_buffers(t->dp)) < 0)
        return s;
    if (t->comm.rank == 0) {
        validate(t);
        s = write_ckpt(t, step);
        FILE *f = t->opts->log;
        if (s == TRYON_OK && f) {
            char d[PATH_MAX];
            ckpt_dir(t, step, d, sizeof d);
            fprintf(f, "checkpoint %d: val ", step);
            if (isnan(t->val_total))
                fprintf(f, "(no validation shards)");
            else
                log_losses(f, t, t->val_total, t->val_losses);
            fprintf(f, " -> %s\n", d);
            fflush(f);
        }
    }
    return agree(t, s);
}

enum tryon_status nn_train_run(const struct nn_train_cfg *cfg, const struct nn_comm *comm, struct kern_ctx *ctx,
                               const struct nn_train_opts *opts, struct nn_train_result *res)
{
    if (cfg->gan)
        return nn_gan_run(cfg, comm, ctx, opts, res);
    struct trainer t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    t.cfg = cfg;
    t.ctx = ctx;
    t.opts = opts;
    t.comm = nn_tr_comm(comm);
    int log_every = opts->log_every > 0 ? opts->log_every : cfg->log_every;
    FILE *log = t.comm.rank == 0 ? opts->log : NULL;

    enum tryon_status s = setup(&t);
    if (s == TRYON_OK && t.comm.rank == 0)
        s = fs_mkdirs(opts->out_dir);
    s = agree(&t, s);
    /* rank 0 picks the checkpoint to resume from and tells the others */
    int64_t st[4] = {0, 0, 0, 0};
    if (s == TRYON_OK) {
        if (t.comm.rank == 0) {
            enum tryon_status rs = nn_tr_find_resume(opts->out_dir, t.hash, nn_data_count(t.data, NN_SPLIT_TRAIN),
                                                     cfg->steps, t.comm.world, st);
            st[3] = rs;
        }
        if (t.comm.bcast(t.comm.user, st, sizeof st, 0) != 0)
            s = tryon_fail(TRYON_EIO, "train: rank %d: the broadcast failed", t.comm.rank);
        else if (st[3] < 0)
            s = t.comm.rank == 0 ? (enum tryon_status)st[3]
                                 : tryon_fail(TRYON_EINVAL, "train: rank 0 cannot resume (see its message)");
    }
    int start = (int)st[0];
    if (s == TRYON_OK) {
        if (start > 0) {
            s = agree(&t, load_ckpt(&t, start));
            t.bt.epoch = (int)st[1];
            t.bt.pos = (int)st[2];
        } else {
            nn_model_init_params(t.m, cfg->seed);
            s = nn_dp_broadcast_params(t.dp, 0);
        }
    }
    if (s == TRYON_OK && log)
        fprintf(log, "train %s: model %s, %d training and %d validation samples (%s), batch %d over %d rank%s, %s\n",
                cfg->name, t.mcfg->name, nn_data_count(t.data, NN_SPLIT_TRAIN), nn_data_count(t.data, NN_SPLIT_VAL),
                cfg->kind, cfg->batch, t.comm.world, t.comm.world == 1 ? "" : "s",
                start ? "resuming" : "from scratch");
    if (s == TRYON_OK && log && start)
        fprintf(log, "resuming from %s/ckpt-%06d (epoch %d, position %d)\n", opts->out_dir, start, t.bt.epoch,
                t.bt.pos);
    res->start_step = start;
    res->steps_done = start;
    double run_time = 0, run_comm = 0, win_time = 0, win_comm = 0;
    int win_steps = 0;
    bool first = true;
    for (int step = start + 1; step <= cfg->steps && s == TRYON_OK; step++) {
        double t0 = time_now(), cs = 0;
        bool stop_local = opts->stop && *opts->stop;
        s = train_step(&t, step, stop_local, &cs);
        if (s < 0)
            break;
        double dt = time_now() - t0;
        run_time += dt, run_comm += cs, win_time += dt, win_comm += cs, win_steps++;
        if (first)
            res->first_loss = t.step_losses[0];
        first = false;
        res->last_loss = t.step_losses[0];
        res->steps_done = step;
        if (log && (step % log_every == 0 || step == cfg->steps)) {
            fprintf(log, "step %d/%d lr %.2e ", step, cfg->steps, t.lr);
            log_losses(log, &t, t.step_losses[0], t.step_losses + 1);
            fprintf(log, " %.1f samples/s comm %.0f%%\n", win_time > 0 ? win_steps * cfg->batch / win_time : 0.0,
                    win_time > 0 ? 100.0 * win_comm / win_time : 0.0);
            fflush(log);
            win_time = win_comm = 0;
            win_steps = 0;
        }
        bool stop = t.step_losses[cfg->n_losses + 1] > 0;
        if ((cfg->checkpoint_every && step % cfg->checkpoint_every == 0) || step == cfg->steps || stop) {
            s = checkpoint(&t, step);
            res->val_loss = t.val_total;
        }
        if (s == TRYON_OK && stop) {
            s = tryon_fail(TRYON_EINTERRUPTED, "train: stopped by a signal after step %d (checkpoint written)", step);
            if (log)
                fprintf(log, "stopped after step %d; run again to resume\n", step);
        } else if (s == TRYON_OK && opts->stop_after > 0 && step >= opts->stop_after && step < cfg->steps) {
            s = tryon_fail(TRYON_EINTERRUPTED, "train: stopped after step %d (stop_after)", step);
        }
    }
    if (s == TRYON_OK && start == cfg->steps && t.comm.rank == 0)
        validate(&t), res->val_loss = t.val_total;
    if (s == TRYON_OK && t.comm.rank == 0) {
        s = write_final(&t);
        if (s == TRYON_OK && log) {
            fprintf(log, "wrote %s/model.safetensors\n", opts->out_dir);
            fflush(log);
        }
    }
    if (s == TRYON_OK || s == TRYON_EINTERRUPTED) {
        enum tryon_status a = agree(&t, s == TRYON_EINTERRUPTED ? TRYON_OK : s);
        if (a < 0 && s == TRYON_OK)
            s = a;
    }
    if (t.m)
        params_digest(&t, res->params_sha256);
    res->samples_per_s = run_time > 0 ? (double)(res->steps_done - start) * cfg->batch / run_time : 0.0;
    res->comm_share = run_time > 0 ? run_comm / run_time : 0.0;
    trainer_free(&t);
    return s;
}
