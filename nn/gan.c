/* gan.c: `tryon train` in GAN mode (a training config with `gan:`, configs/train/README.md):
 * a conditional DCGAN that paints a per-sample image of the dataset (the garment's back
 * print, shard tensor "back") from the features of a frozen encoder.
 *
 * Start: the encoder (a trained weight file carrying its model_yaml) is built folded in
 * eval mode and run once over every training and validation sample: its "features" output
 * is the condition c of that sample for the whole run. Then, each step on every rank, for
 * this rank's slice of the global batch (the same epoch order as supervised training):
 *   z      = noise from an RNG seeded by (seed, step, position of the sample in the epoch
 *            order), so the bytes do not depend on a resume, and the slot of the global
 *            batch fixes the noise whatever the rank count;
 *   fake   = G(c, z) (train mode), real = the target bytes / 127.5 - 1 (tanh range);
 *   D step : BCE(D(real, c), 1) + BCE(D(fake, c), 0), two forward/backward passes that
 *            accumulate into D's gradients; gradients averaged over ranks; AdamW;
 *   G step : D (updated) on the fake again: adversarial * BCE(D(fake, c), 1), whose
 *            gradient reaches D's image input (nn_model_want_input_grad); plus
 *            l1 * L1(fake, real); the sum is G's output gradient; backward G; gradients
 *            averaged over ranks; AdamW.
 * Both optimizers: AdamW with betas (0.5, 0.999) (DCGAN's), the config's weight decay, the
 * config's learning-rate schedule. Every loss is a mean over a rank's slice, so averaged
 * gradients are those of the global batch.
 *
 * Checkpoints (every checkpoint_every steps, at the end, and when a signal stops the run):
 * BN statistics of both models averaged over ranks (off the grid with several ranks, each
 * rank's own are saved first), rank 0 measures the validation L1 (generator in eval mode,
 * zero noise) and writes OUT/ckpt-NNNNNN/{generator,discriminator}.safetensors,
 * optim-{generator,discriminator}.safetensors, state.json and last DONE. The final files
 * are OUT/generator.safetensors (with the metadata the worker reads: output.image) and
 * OUT/discriminator.safetensors. */
#include "nn/nn_internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAN_COND_CHUNK 32  /* samples per forward of the condition encoder */

struct gan {
    const struct nn_train_cfg *cfg;
    const struct nn_train_gan *gc;
    struct nn_comm comm;
    struct kern_ctx *ctx;             /* borrowed */
    const struct nn_train_opts *opts;
    struct nn_data *data;
    struct nn_cfg *gcfg, *dcfg;
    struct nn_model *g, *d;
    struct nn_dp *gdp, *ddp;
    struct nn_tr_batches bt;
    int b;                            /* per-rank batch */
    int fdim, zdim;                   /* condition features, noise values per sample */
    int ic, is;                       /* image channels and side (ic, is, is) */
    size_t img_n;                     /* floats per image */
    double side_m;                    /* the image's side in metres (index.json), NaN unknown */
    float *feat[2];                   /* host (n, fdim) per split: the encoder's features */
    char cond_sha[65];                /* sha256 of the condition file */
    char cond_model[NN_NAME_MAX];     /* its model name */
    float *h_cond, *h_noise;          /* host (b, fdim), (b, zdim) */
    float *h_img, *h_fake;            /* host (b, ic, is, is) */
    float *real, *ones, *zeros;       /* backend (b, ic, is, is), (b), (b) */
    char hash[65];                    /* config hash */
    double lr;
    double info[4];                   /* last step: loss_d, loss_g (adversarial BCE), l1, stop flag */
    double val_l1;                    /* validation L1 at the last checkpoint, NaN none */
};

/* ----- setup ----------------------------------------------------------------------------*/
/* Run the frozen encoder over every sample: t->feat[split], t->fdim, cond_sha, cond_model. */
static enum tryon_status condition_features(struct gan *t)
{
    const struct nn_train_gan *gc = t->gc;
    const char *cpath = t->cfg->path;
    struct nn_st_file *f = NULL;
    enum tryon_status s = nn_st_read(gc->condition_path, 0, &f);
    if (s < 0)
        return tryon_failctx(s, "%s:%d: gan.condition", cpath, gc->line_condition);
    sha256_hex(f->bytes, f->len, t->cond_sha);
    const char *yaml = nn_st_meta(f, "model_yaml");
    struct nn_cfg *ec = NULL;
    struct nn_model *em = NULL;
    float *in = NULL;
    int32_t idx[GAN_COND_CHUNK];
    if (!yaml)
        s = tryon_fail(TRYON_EFORMAT, "%s:%d: gan.condition: %s has no metadata 'model_yaml' (a weight file "
                       "written by tryon train carries it)", cpath, gc->line_condition, gc->condition_path);
    else if ((s = nn_cfg_from_string(yaml, gc->condition_path, &ec)) < 0)
        s = tryon_failctx(s, "%s:%d: gan.condition", cpath, gc->line_condition);
    int n_in = 0, li = -1;
    for (int i = 0; s == TRYON_OK && i < ec->n_layers; i++)
        if (ec->layers[i].op == NN_OP_INPUT)
            n_in++, li = i;
    int S = nn_data_side(t->data), fc = 0, fh = 0, fw = 0;
    if (s == TRYON_OK && (n_in != 1 || ec->layers[li].c != 4 || ec->layers[li].h != S || ec->layers[li].w != S))
        s = tryon_fail(TRYON_EINVAL, "%s:%d: gan.condition: model '%s' must take one input 4x%dx%d (the dataset's)",
                       cpath, gc->line_condition, ec->name, S, S);
    if (s == TRYON_OK)
        snprintf(t->cond_model, sizeof t->cond_model, "%s", ec->name);
    if (s == TRYON_OK && (s = nn_model_create(ec, t->ctx, GAN_COND_CHUNK, NN_MODE_INFER_FOLD, &em)) == TRYON_OK &&
        (s = nn_model_load_st(em, f)) < 0)
        s = tryon_failctx(s, "%s:%d: gan.condition", cpath, gc->line_condition);
    if (s == TRYON_OK && (!nn_model_tensor_shape(em, "features", &fc, &fh, &fw) || !nn_model_output(em, "features")))
        s = tryon_fail(TRYON_EINVAL, "%s:%d: gan.condition: model '%s' has no output 'features'", cpath,
                       gc->line_condition, ec->name);
    t->fdim = fc * fh * fw;
    size_t per = (size_t)nn_data_channels(t->data) * (size_t)S * (size_t)S;
    if (s == TRYON_OK && !(in = malloc(GAN_COND_CHUNK * per * sizeof *in)))
        s = tryon_fail(TRYON_ENOMEM, "train: out of memory");
    for (int sp = 0; sp < 2 && s == TRYON_OK; sp++) {
        int n = nn_data_count(t->data, (enum nn_split)sp);
        if (!(t->feat[sp] = malloc((size_t)(n ? n : 1) * (size_t)t->fdim * sizeof(float)))) {
            s = tryon_fail(TRYON_ENOMEM, "train: out of memory");
            break;
        }
        for (int at = 0; at < n; at += GAN_COND_CHUNK) {
            int k = n - at < GAN_COND_CHUNK ? n - at : GAN_COND_CHUNK;
            for (int i = 0; i < k; i++)
                idx[i] = at + i;
            nn_data_fill_input(t->data, (enum nn_split)sp, idx, k, NULL, in);
            kern_upload(t->ctx, nn_model_input(em, ec->layers[li].name), in, (size_t)k * per);
            nn_model_forward(em, k, false);
            kern_download(t->ctx, t->feat[sp] + (size_t)at * (size_t)t->fdim, nn_model_output(em, "features"),
                          (size_t)k * (size_t)t->fdim);
        }
    }
    free(in);
    nn_model_free(em);
    nn_cfg_free(ec);
    nn_st_free(f);
    return s;
}

/* Per-sample size c*h*w of a model's named input or output; -1 when it has none. */
static int tensor_numel(struct nn_model *m, const char *name, bool output, int *c, int *h, int *w)
{
    int cc, hh, ww;
    if (!nn_model_tensor_shape(m, name, &cc, &hh, &ww))
        return -1;
    if ((output && !nn_model_output(m, name)) || (!output && !nn_model_input(m, name)))
        return -1;
    if (c)
        *c = cc, *h = hh, *w = ww;
    return cc * hh * ww;
}

/* The generator and discriminator against each other, the condition and the data. */
static enum tryon_status check_models(struct gan *t)
{
    const struct nn_train_gan *gc = t->gc;
    const char *p = t->cfg->path;
    int c, h, w;
    int gf = tensor_numel(t->g, "features", false, NULL, NULL, NULL);
    t->zdim = tensor_numel(t->g, "noise", false, NULL, NULL, NULL);
    int gi = tensor_numel(t->g, "image", true, &c, &h, &w);
    if (gf < 0 || t->zdim < 0 || gi < 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: generator '%s' needs inputs 'features' and 'noise' and an output "
                          "'image'", p, gc->line_generator, t->gcfg->name);
    if (gf != t->fdim)
        return tryon_fail(TRYON_EINVAL, "%s:%d: generator '%s' takes %d features, the condition model '%s' gives %d",
                          p, gc->line_generator, t->gcfg->name, gf, t->cond_model, t->fdim);
    if (c != t->ic || h != t->is || w != t->is)
        return tryon_fail(TRYON_EINVAL, "%s:%d: generator '%s' paints %dx%dx%d, the dataset's '%s' is %dx%dx%d", p,
                          gc->line_generator, t->gcfg->name, c, h, w, gc->target, t->ic, t->is, t->is);
    int di = tensor_numel(t->d, "image", false, &c, &h, &w);
    int df = tensor_numel(t->d, "features", false, NULL, NULL, NULL);
    int dl = tensor_numel(t->d, "logit", true, NULL, NULL, NULL);
    if (di < 0 || df < 0 || dl != 1)
        return tryon_fail(TRYON_EINVAL, "%s:%d: discriminator '%s' needs inputs 'image' and 'features' and an output "
                          "'logit' of one unit", p, gc->line_discriminator, t->dcfg->name);
    if (c != t->ic || h != t->is || w != t->is || df != t->fdim)
        return tryon_fail(TRYON_EINVAL, "%s:%d: discriminator '%s' takes %dx%dx%d and %d features, the generator "
                          "paints %dx%dx%d from %d", p, gc->line_discriminator, t->dcfg->name, c, h, w, df, t->ic,
                          t->is, t->is, t->fdim);
    return TRYON_OK;
}

/* The config hash: every setting that shapes the weights (not the data folder), the bytes
 * of both model descriptions and of the condition file. */
static enum tryon_status config_hash(struct gan *t)
{
    const struct nn_train_cfg *c = t->cfg;
    const struct nn_train_gan *gc = t->gc;
    char gh[65], dh[65];
    const char *paths[2] = {gc->generator_path, gc->discriminator_path};
    char *hex[2] = {gh, dh};
    int lines[2] = {gc->line_generator, gc->line_discriminator};
    for (int i = 0; i < 2; i++) {
        uint8_t *mb = NULL;
        size_t ml = 0;
        enum tryon_status s = fs_read_all(paths[i], 0, &mb, &ml);
        if (s < 0)
            return tryon_failctx(s, "%s:%d: gan.%s", c->path, lines[i], i ? "discriminator" : "generator");
        sha256_hex(mb, ml, hex[i]);
        free(mb);
    }
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "mode"), json_str(&w, "gan");
    json_key(&w, "name"), json_str(&w, c->name);
    json_key(&w, "generator_sha256"), json_str(&w, gh);
    json_key(&w, "discriminator_sha256"), json_str(&w, dh);
    json_key(&w, "condition_sha256"), json_str(&w, t->cond_sha);
    json_key(&w, "target"), json_str(&w, gc->target);
    json_key(&w, "l1"), json_num(&w, gc->l1);
    json_key(&w, "adversarial"), json_num(&w, gc->adversarial);
    json_key(&w, "kind"), json_str(&w, c->kind);
    json_key(&w, "seed"), json_int(&w, (long long)c->seed);
    json_key(&w, "batch"), json_int(&w, c->batch);
    json_key(&w, "steps"), json_int(&w, c->steps);
    json_key(&w, "lr"), json_arr_begin(&w), json_num(&w, c->lr_max), json_num(&w, c->lr_min),
        json_int(&w, c->warmup), json_arr_end(&w);
    json_key(&w, "weight_decay"), json_num(&w, c->weight_decay);
    json_key(&w, "checkpoint_every"), json_int(&w, c->checkpoint_every);
    json_key(&w, "val_shards"), json_int(&w, c->val_shards);
    json_obj_end(&w);
    sha256_hex(w.buf, w.len, t->hash);
    json_w_free(&w);
    return TRYON_OK;
}

static void gan_free(struct gan *t)
{
    for (int i = 0; i < 2; i++)
        free(t->feat[i]);
    free(t->h_cond);
    free(t->h_noise);
    free(t->h_img);
    free(t->h_fake);
    kern_release(t->ctx, t->real);
    kern_release(t->ctx, t->ones);
    kern_release(t->ctx, t->zeros);
    nn_tr_batches_free(&t->bt);
    nn_dp_free(t->gdp);
    nn_dp_free(t->ddp);
    nn_model_free(t->g);
    nn_model_free(t->d);
    nn_cfg_free(t->gcfg);
    nn_cfg_free(t->dcfg);
    nn_data_free(t->data);
}

/* Data, condition features, models, buffers: everything before the first step. */
static enum tryon_status setup(struct gan *t)
{
    const struct nn_train_cfg *c = t->cfg;
    const struct nn_train_gan *gc = t->gc;
    if (!c->data_dir[0])
        return tryon_fail(TRYON_EINVAL, "%s: no dataset: set 'data:' or pass --data", c->path);
    if (c->batch % t->comm.world)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d does not split evenly over %d ranks", c->path, c->line_batch,
                          c->batch, t->comm.world);
    t->b = c->batch / t->comm.world;
    enum tryon_status s = nn_cfg_load(gc->generator_path, &t->gcfg);
    if (s < 0)
        return tryon_failctx(s, "%s:%d: gan.generator", c->path, gc->line_generator);
    if ((s = nn_cfg_load(gc->discriminator_path, &t->dcfg)) < 0)
        return tryon_failctx(s, "%s:%d: gan.discriminator", c->path, gc->line_discriminator);
    if ((s = nn_data_open_image(c->data_dir, c->kind, c->val_shards, gc->target, &t->data)) < 0)
        return tryon_failctx(s, "%s:%d: gan.target '%s'", c->path, gc->line_target, gc->target);
    nn_data_image_shape(t->data, &t->ic, &t->is, &t->side_m);
    if (isnan(t->side_m))
        return tryon_fail(TRYON_EINVAL, "%s:%d: gan.target '%s': %s/index.json has no kinds.%s.%s_side_m (the "
                          "generator's output.image metadata carries the side in metres)", c->path, gc->line_target,
                          gc->target, c->data_dir, c->kind, gc->target);
    t->img_n = (size_t)t->ic * (size_t)t->is * (size_t)t->is;
    int n_train = nn_data_count(t->data, NN_SPLIT_TRAIN);
    if (c->batch > n_train)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d is larger than the %d training samples", c->path,
                          c->line_batch, c->batch, n_train);
    if (t->b < 2)
        return tryon_fail(TRYON_EINVAL, "%s:%d: batch %d over %d ranks leaves %d sample per rank; batch norm needs "
                          "at least 2", c->path, c->line_batch, c->batch, t->comm.world, t->b);
    if ((s = condition_features(t)) < 0)
        return s;
    if ((s = nn_model_create(t->gcfg, t->ctx, t->b, NN_MODE_TRAIN, &t->g)) < 0 ||
        (s = nn_model_create(t->dcfg, t->ctx, t->b, NN_MODE_TRAIN, &t->d)) < 0 || (s = check_models(t)) < 0 ||
        (s = nn_model_want_input_grad(t->d, "image")) < 0 || (s = config_hash(t)) < 0)
        return s;
    if ((s = nn_tr_batches_init(&t->bt, c->seed, c->batch, t->b, t->comm.rank, n_train)) < 0)
        return s;
    t->h_cond = malloc((size_t)t->b * (size_t)t->fdim * sizeof(float));
    t->h_noise = malloc((size_t)t->b * (size_t)(t->zdim ? t->zdim : 1) * sizeof(float));
    t->h_img = malloc((size_t)t->b * t->img_n * sizeof(float));
    t->h_fake = malloc((size_t)t->b * t->img_n * sizeof(float));
    if (!t->h_cond || !t->h_noise || !t->h_img || !t->h_fake)
        return tryon_fail(TRYON_ENOMEM, "train: out of memory");
    t->real = kern_alloc(t->ctx, (size_t)t->b * t->img_n);
    t->ones = kern_alloc(t->ctx, (size_t)t->b);
    t->zeros = kern_alloc(t->ctx, (size_t)t->b);
    for (int i = 0; i < t->b; i++)   /* h_fake (b * img_n >= b floats) stages the BCE targets 1 */
        t->h_fake[i] = 1.0f;
    kern_upload(t->ctx, t->ones, t->h_fake, (size_t)t->b);
    t->val_l1 = NAN;
    size_t bucket = (size_t)(c->bucket_mb * 1048576.0);
    if ((s = nn_dp_create(t->g, &t->comm, bucket, &t->gdp)) < 0)
        return s;
    return nn_dp_create(t->d, &t->comm, bucket, &t->ddp);
}

/* ----- a step ---------------------------------------------------------------------------*/
/* Noise of the b samples whose epoch positions start at `first`, for step `step`. */
static void fill_noise(struct gan *t, int step, int first)
{
    for (int i = 0; i < t->b; i++) {
        uint64_t h = hash_mix64(t->cfg->seed ^ 0x67616e6e6f697365ull);   /* "gannoise" */
        h = hash_mix64(h ^ (uint64_t)step);
        h = hash_mix64(h ^ (uint64_t)(first + i));
        struct rng r;
        rng_seed(&r, h);
        for (int k = 0; k < t->zdim; k++)
            t->h_noise[(size_t)i * (size_t)t->zdim + (size_t)k] = rng_normal(&r);
    }
}

/* Condition rows of samples idx[0..n) of split sp into h_cond. */
static void gather_cond(struct gan *t, enum nn_split sp, const int32_t *idx, int n)
{
    size_t F = (size_t)t->fdim;
    for (int i = 0; i < n; i++)
        memcpy(t->h_cond + (size_t)i * F, t->feat[sp] + (size_t)idx[i] * F, F * sizeof(float));
}

static void adamw(struct gan *t, struct nn_model *m)
{
    struct nn_adamw_cfg oc = nn_adamw_defaults();
    oc.lr = (float)t->lr;
    oc.beta1 = 0.5f;
    oc.beta2 = 0.999f;
    oc.weight_decay = (float)t->cfg->weight_decay;
    nn_model_adamw_step(m, &oc);
}

/* One step on this rank (D then G); fills info (averaged over ranks) and the seconds spent
 * averaging gradients. */
static enum tryon_status gan_step(struct gan *t, int step, bool stop_local, double *comm_s)
{
    struct kern_ctx *ctx = t->ctx;
    int b = t->b;
    size_t ni = (size_t)b * t->img_n;
    int first = nn_tr_next_batch(&t->bt);
    gather_cond(t, NN_SPLIT_TRAIN, t->bt.idx, b);
    fill_noise(t, step, first);
    nn_data_fill_image(t->data, NN_SPLIT_TRAIN, t->bt.idx, b, t->h_img);
    kern_upload(ctx, t->real, t->h_img, ni);
    kern_upload(ctx, nn_model_input(t->g, "features"), t->h_cond, (size_t)b * (size_t)t->fdim);
    kern_upload(ctx, nn_model_input(t->g, "noise"), t->h_noise, (size_t)b * (size_t)t->zdim);
    kern_upload(ctx, nn_model_input(t->d, "features"), t->h_cond, (size_t)b * (size_t)t->fdim);
    float *d_img = nn_model_input(t->d, "image");
    const float *logit = nn_model_output(t->d, "logit");
    float *dlogit = nn_model_output_grad(t->d, "logit");

    nn_model_zero_grad(t->g);
    nn_model_forward(t->g, b, true);
    const float *fake = nn_model_output(t->g, "image");
    t->lr = nn_train_lr(t->cfg, step);

    /* discriminator: real -> 1, fake (a copy: no gradient reaches G) -> 0 */
    nn_model_zero_grad(t->d);
    kern_copy(ctx, d_img, t->real, ni);
    nn_model_forward(t->d, b, true);
    float loss_d = kern_loss_bce_logits(ctx, (size_t)b, logit, t->ones, 1.0f, dlogit);
    nn_model_backward(t->d);
    kern_copy(ctx, d_img, fake, ni);
    nn_model_forward(t->d, b, true);
    loss_d += kern_loss_bce_logits(ctx, (size_t)b, logit, t->zeros, 1.0f, dlogit);
    nn_model_backward(t->d);
    double t0 = time_now();
    enum tryon_status s = nn_dp_average_grads(t->ddp);
    *comm_s = time_now() - t0;
    if (s < 0)
        return s;
    adamw(t, t->d);

    /* generator: the updated D on the same fake -> 1 (through D's image input), plus L1 */
    float *gout = nn_model_output_grad(t->g, "image");
    nn_model_forward(t->d, b, true);
    float loss_g = kern_loss_bce_logits(ctx, (size_t)b, logit, t->ones, (float)t->gc->adversarial, dlogit);
    if (t->gc->adversarial > 0) {
        nn_model_backward(t->d);
        kern_axpy(ctx, ni, 1.0f, nn_model_input_grad(t->d, "image"), gout);
    }
    float l1 = kern_loss_l1(ctx, ni, fake, t->real, (float)t->gc->l1, gout);
    nn_model_backward(t->g);
    t0 = time_now();
    s = nn_dp_average_grads(t->gdp);
    *comm_s += time_now() - t0;
    if (s < 0)
        return s;
    adamw(t, t->g);

    float info[4] = {loss_d, loss_g, l1, stop_local ? 1.0f : 0.0f};
    if (t->comm.world > 1 && t->comm.allreduce_sum(t->comm.user, info, 4) != 0)
        return tryon_fail(TRYON_EIO, "train: rank %d: the allreduce of the step's losses failed", t->comm.rank);
    for (int i = 0; i < 3; i++)
        t->info[i] = (double)info[i] / (double)t->comm.world;
    t->info[3] = info[3];
    return TRYON_OK;
}

/* ----- validation and checkpoints -------------------------------------------------------*/
/* Rank 0: mean |G(c, 0) - real| over the validation split, generator in eval mode. */
static void validate(struct gan *t)
{
    int n = nn_data_count(t->data, NN_SPLIT_VAL);
    t->val_l1 = NAN;
    if (!n)
        return;
    int32_t *idx = tryon_xmalloc((size_t)t->b * sizeof *idx);
    memset(t->h_noise, 0, (size_t)t->b * (size_t)t->zdim * sizeof(float));
    kern_upload(t->ctx, nn_model_input(t->g, "noise"), t->h_noise, (size_t)t->b * (size_t)t->zdim);
    double sum = 0;
    for (int at = 0; at < n; at += t->b) {
        int k = n - at < t->b ? n - at : t->b;
        for (int i = 0; i < k; i++)
            idx[i] = at + i;
        gather_cond(t, NN_SPLIT_VAL, idx, k);
        kern_upload(t->ctx, nn_model_input(t->g, "features"), t->h_cond, (size_t)k * (size_t)t->fdim);
        nn_model_forward(t->g, k, false);
        size_t m = (size_t)k * t->img_n;
        kern_download(t->ctx, t->h_fake, nn_model_output(t->g, "image"), m);
        nn_data_fill_image(t->data, NN_SPLIT_VAL, idx, k, t->h_img);
        for (size_t j = 0; j < m; j++)
            sum += fabs((double)t->h_fake[j] - (double)t->h_img[j]);
    }
    t->val_l1 = sum / ((double)n * (double)t->img_n);
    free(idx);
}

static const char *const PART[2] = {"generator", "discriminator"};

static struct nn_model *part_model(struct gan *t, int i) { return i ? t->d : t->g; }

static enum tryon_status write_ckpt(struct gan *t, int step)
{
    char d[PATH_MAX], p[PATH_MAX], rel[64];
    nn_tr_ckpt_dir(t->opts->out_dir, step, d, sizeof d);
    if (!d[0])
        return tryon_fail(TRYON_ELIMIT, "%s: output path too long", t->opts->out_dir);
    enum tryon_status s = fs_mkdirs(d);
    for (int i = 0; i < 2 && s == TRYON_OK; i++) {
        snprintf(rel, sizeof rel, "%s.safetensors", PART[i]);
        if ((s = fs_join(p, sizeof p, d, rel)) == TRYON_OK)
            s = nn_model_save(part_model(t, i), p, NULL);
        snprintf(rel, sizeof rel, "optim-%s.safetensors", PART[i]);
        if (s == TRYON_OK && (s = fs_join(p, sizeof p, d, rel)) == TRYON_OK)
            s = nn_tr_save_optim(part_model(t, i), t->ctx, p);
    }
    if (s < 0)
        return s;
    struct json_w j;
    json_w_init(&j);
    json_obj_begin(&j);
    json_key(&j, "mode"), json_str(&j, "gan");
    json_key(&j, "step"), json_int(&j, step);
    json_key(&j, "steps"), json_int(&j, t->cfg->steps);
    json_key(&j, "epoch"), json_int(&j, t->bt.epoch);
    json_key(&j, "position"), json_int(&j, t->bt.pos);
    json_key(&j, "seed"), json_int(&j, (long long)t->cfg->seed);
    json_key(&j, "order"), json_str(&j, "epoch permutation = nn_data_permutation(seed, epoch); noise from (seed, "
                                        "step, position)");
    json_key(&j, "adamw_t"), json_arr_begin(&j), json_int(&j, nn_model_adamw_t(t->g)),
        json_int(&j, nn_model_adamw_t(t->d)), json_arr_end(&j);
    json_key(&j, "lr"), json_num(&j, t->lr);
    json_key(&j, "loss_d"), json_num(&j, t->info[0]);
    json_key(&j, "loss_g"), json_num(&j, t->info[1]);
    json_key(&j, "l1"), json_num(&j, t->info[2]);
    json_key(&j, "val_l1"), json_num(&j, t->val_l1);
    json_key(&j, "world"), json_int(&j, t->comm.world);
    json_key(&j, "config_hash"), json_str(&j, t->hash);
    json_obj_end(&j);
    s = nn_tr_write_state(d, &j);
    json_w_free(&j);
    if (s == TRYON_OK)
        nn_tr_prune_ckpts(t->opts->out_dir);
    return s;
}

/* Every rank: both models, both optimizers, and this rank's own BN statistics when the
 * checkpoint has them. */
static enum tryon_status load_ckpt(struct gan *t, int step)
{
    char d[PATH_MAX], p[PATH_MAX], rel[64];
    nn_tr_ckpt_dir(t->opts->out_dir, step, d, sizeof d);
    enum tryon_status s = TRYON_OK;
    for (int i = 0; i < 2 && s == TRYON_OK; i++) {
        struct nn_model *m = part_model(t, i);
        snprintf(rel, sizeof rel, "%s.safetensors", PART[i]);
        if ((s = fs_join(p, sizeof p, d, rel)) == TRYON_OK)
            s = nn_model_load(m, p);
        snprintf(rel, sizeof rel, "optim-%s.safetensors", PART[i]);
        if (s == TRYON_OK && (s = fs_join(p, sizeof p, d, rel)) == TRYON_OK)
            s = nn_tr_load_optim(m, p);
        snprintf(rel, sizeof rel, "%s-", PART[i]);
        if (s == TRYON_OK)
            s = nn_tr_rank_buffers_path(t->opts->out_dir, step, rel, &t->comm, p, sizeof p);
        if (s == TRYON_OK)
            s = nn_tr_load_buffers(m, t->ctx, p);
    }
    return s;
}

/* A checkpoint on every rank (see the top of the file). */
static enum tryon_status checkpoint(struct gan *t, int step)
{
    const struct nn_train_cfg *c = t->cfg;
    bool on_grid = (c->checkpoint_every && step % c->checkpoint_every == 0) || step == c->steps;
    enum tryon_status s = TRYON_OK;
    for (int i = 0; i < 2 && !on_grid && t->comm.world > 1; i++) {
        char p[PATH_MAX], prefix[32];
        snprintf(prefix, sizeof prefix, "%s-", PART[i]);
        s = nn_tr_rank_buffers_path(t->opts->out_dir, step, prefix, &t->comm, p, sizeof p);
        if ((s = nn_tr_agree(&t->comm, s == TRYON_OK ? nn_tr_save_buffers(part_model(t, i), t->ctx, p) : s)) < 0)
            return s;
    }
    if ((s = nn_dp_average_buffers(t->gdp)) < 0 || (s = nn_dp_average_buffers(t->ddp)) < 0)
        return s;
    if (t->comm.rank == 0) {
        validate(t);
        s = write_ckpt(t, step);
        FILE *f = t->opts->log;
        if (s == TRYON_OK && f) {
            char d[PATH_MAX];
            nn_tr_ckpt_dir(t->opts->out_dir, step, d, sizeof d);
            if (isnan(t->val_l1))
                fprintf(f, "checkpoint %d: val (no validation shards) -> %s\n", step, d);
            else
                fprintf(f, "checkpoint %d: val l1 %.4g -> %s\n", step, t->val_l1, d);
            fflush(f);
        }
    }
    return nn_tr_agree(&t->comm, s);
}

/* ----- final weights --------------------------------------------------------------------*/
static enum tryon_status write_final(struct gan *t)
{
    const struct nn_train_cfg *c = t->cfg;
    const struct nn_train_gan *gc = t->gc;
    char steps[32], seed[32];
    snprintf(steps, sizeof steps, "%d", c->steps);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "type"), json_str(&w, "gan");
    json_key(&w, "target"), json_str(&w, gc->target);
    json_key(&w, "side_m"), json_numf(&w, t->side_m, 9);
    json_key(&w, "condition_sha256"), json_str(&w, t->cond_sha);
    json_key(&w, "condition_model"), json_str(&w, t->cond_model);
    json_obj_end(&w);
    enum tryon_status s = TRYON_OK;
    for (int i = 0; i < 2 && s == TRYON_OK; i++) {
        const char *ypath = i ? gc->discriminator_path : gc->generator_path;
        uint8_t *yaml = NULL;
        size_t ylen = 0;
        if ((s = fs_read_all(ypath, 0, &yaml, &ylen)) < 0) {
            s = tryon_failctx(s, "%s:%d: gan.%s", c->path, i ? gc->line_discriminator : gc->line_generator, PART[i]);
            break;
        }
        /* the model description travels with the weights: a weight file is self-contained */
        const char *meta[] = {"tryon_model_version", NN_MODEL_VERSION, "kind", c->kind, "train_config", c->name,
                              "train_steps", steps, "train_seed", seed, "model_yaml", (const char *)yaml,
                              i ? NULL : "output.image", i ? NULL : w.buf, NULL};
        char path[PATH_MAX], rel[64];
        snprintf(rel, sizeof rel, "%s.safetensors", PART[i]);
        if ((s = fs_join(path, sizeof path, t->opts->out_dir, rel)) == TRYON_OK)
            s = nn_model_save(part_model(t, i), path, meta);
        free(yaml);
    }
    json_w_free(&w);
    return s;
}

static void params_digest(struct gan *t, char out[65])
{
    struct sha256 h;
    sha256_init(&h);
    nn_tr_digest_update(&h, t->g, t->ctx);
    nn_tr_digest_update(&h, t->d, t->ctx);
    nn_tr_digest_hex(&h, out);
}

/* ----- the run --------------------------------------------------------------------------*/
enum tryon_status nn_gan_run(const struct nn_train_cfg *cfg, const struct nn_comm *comm, struct kern_ctx *ctx,
                             const struct nn_train_opts *opts, struct nn_train_result *res)
{
    struct gan t;
    memset(&t, 0, sizeof t);
    memset(res, 0, sizeof *res);
    res->val_loss = NAN;
    t.cfg = cfg;
    t.gc = cfg->gan;
    t.ctx = ctx;
    t.opts = opts;
    t.comm = nn_tr_comm(comm);
    int log_every = opts->log_every > 0 ? opts->log_every : cfg->log_every;
    FILE *log = t.comm.rank == 0 ? opts->log : NULL;

    enum tryon_status s = setup(&t);
    if (s == TRYON_OK && t.comm.rank == 0)
        s = fs_mkdirs(opts->out_dir);
    s = nn_tr_agree(&t.comm, s);
    /* rank 0 picks the checkpoint to resume from and tells the others */
    int64_t st[4] = {0, 0, 0, 0};
    if (s == TRYON_OK) {
        if (t.comm.rank == 0)
            st[3] = nn_tr_find_resume(opts->out_dir, t.hash, nn_data_count(t.data, NN_SPLIT_TRAIN), cfg->steps,
                                      t.comm.world, st);
        if (t.comm.bcast(t.comm.user, st, sizeof st, 0) != 0)
            s = tryon_fail(TRYON_EIO, "train: rank %d: the broadcast failed", t.comm.rank);
        else if (st[3] < 0)
            s = t.comm.rank == 0 ? (enum tryon_status)st[3]
                                 : tryon_fail(TRYON_EINVAL, "train: rank 0 cannot resume (see its message)");
    }
    int start = (int)st[0];
    if (s == TRYON_OK) {
        if (start > 0) {
            s = nn_tr_agree(&t.comm, load_ckpt(&t, start));
            t.bt.epoch = (int)st[1];
            t.bt.pos = (int)st[2];
        } else {
            nn_model_init_params(t.g, cfg->seed);
            nn_model_init_params(t.d, hash_mix64(cfg->seed ^ 0x646973637269ull));   /* "discri" */
            s = nn_dp_broadcast_params(t.gdp, 0);
            if (s == TRYON_OK)
                s = nn_dp_broadcast_params(t.ddp, 0);
        }
    }
    if (s == TRYON_OK && log)
        fprintf(log, "train %s (gan): generator %s, discriminator %s, condition %s (%d features), target %s %dx%dx%d, "
                "%d training and %d validation samples (%s), batch %d over %d rank%s, %s\n", cfg->name,
                t.gcfg->name, t.dcfg->name, t.cond_model, t.fdim, t.gc->target, t.ic, t.is, t.is,
                nn_data_count(t.data, NN_SPLIT_TRAIN), nn_data_count(t.data, NN_SPLIT_VAL), cfg->kind, cfg->batch,
                t.comm.world, t.comm.world == 1 ? "" : "s", start ? "resuming" : "from scratch");
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
        s = gan_step(&t, step, stop_local, &cs);
        if (s < 0)
            break;
        double dt = time_now() - t0;
        run_time += dt, run_comm += cs, win_time += dt, win_comm += cs, win_steps++;
        if (first)
            res->first_loss = t.info[2];
        first = false;
        res->last_loss = t.info[2];
        res->steps_done = step;
        if (log && (step % log_every == 0 || step == cfg->steps)) {
            fprintf(log, "step %d/%d lr %.2e loss_d %.4g loss_g %.4g l1 %.4g %.1f samples/s comm %.0f%%\n", step,
                    cfg->steps, t.lr, t.info[0], t.info[1], t.info[2],
                    win_time > 0 ? win_steps * cfg->batch / win_time : 0.0,
                    win_time > 0 ? 100.0 * win_comm / win_time : 0.0);
            fflush(log);
            win_time = win_comm = 0;
            win_steps = 0;
        }
        bool stop = t.info[3] > 0;
        if ((cfg->checkpoint_every && step % cfg->checkpoint_every == 0) || step == cfg->steps || stop) {
            s = checkpoint(&t, step);
            res->val_loss = t.val_l1;
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
        validate(&t), res->val_loss = t.val_l1;
    if (s == TRYON_OK && t.comm.rank == 0) {
        s = write_final(&t);
        if (s == TRYON_OK && log) {
            fprintf(log, "wrote %s/generator.safetensors and discriminator.safetensors\n", opts->out_dir);
            fflush(log);
        }
    }
    if (s == TRYON_OK || s == TRYON_EINTERRUPTED) {
        enum tryon_status a = nn_tr_agree(&t.comm, s == TRYON_EINTERRUPTED ? TRYON_OK : s);
        if (a < 0 && s == TRYON_OK)
            s = a;
    }
    if (t.g && t.d)
        params_digest(&t, res->params_sha256);
    res->samples_per_s = run_time > 0 ? (double)(res->steps_done - start) * cfg->batch / run_time : 0.0;
    res->comm_share = run_time > 0 ? run_comm / run_time : 0.0;
    gan_free(&t);
    return s;
}
