/* test_nn_golden_models.c: the tiny encoder, generator and discriminator against PyTorch
 * (tests/golden/make_golden.py), on the REF and CPU backends (and CUDA when a device is
 * present; skipped otherwise), like llm.c's test_gpt2.c: from the same initial weights
 * and inputs, compare the training-mode outputs and loss, every parameter gradient, the
 * input gradients, the BN running statistics, the losses of ten AdamW steps and every
 * parameter after them, and the eval-mode outputs of the trained weights (also through
 * NN_MODE_INFER and NN_MODE_INFER_FOLD models).
 *
 * Limits (normalized L2 error, see nn_test_util.h), float32 against float32 with other
 * summation orders:
 *   outputs, loss, eval outputs        1e-4
 *   gradients (params and inputs)      1e-3   (BN backward over 4 samples amplifies)
 *   parameters after 10 AdamW steps    1e-4   (Adam's step is ~lr per element whatever g)
 *   folded-BN eval outputs             1e-4
 * usage: test_nn_golden_models GOLDEN_DIR CONFIG_DIR */
#include "nn_test_util.h"

#include <string.h>

#define LIM_OUT 1e-4
#define LIM_GRAD 1e-3
#define LIM_PARAM 1e-4

static const char *golden, *cfgdir;

static size_t out_numel(const struct nn_model *m, const char *name, int n)
{
    int c, h, w;
    CHECK(nn_model_tensor_shape(m, name, &c, &h, &w));
    return (size_t)n * c * h * w;
}

/* Build a safetensors image of the golden tensors "<prefix><param>" under the model's own
 * names, and load it (exercises writer, parser and loader together). */
static void load_prefixed(struct nn_model *m, const struct nn_st_file *f, const char *prefix)
{
    struct nn_st_writer *w = nn_st_writer_create();
    for (int i = 0; i < nn_model_n_params(m); i++) {
        const struct nn_param_info *p = nn_model_param(m, i);
        char key[256];
        snprintf(key, sizeof key, "%s%s", prefix, p->name);
        float *h = NULL;
        enum tryon_status s = nn_st_get_f32(f, key, p->numel, &h, NULL);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
        if (s == TRYON_OK)
            CHECK(nn_st_add(w, p->name, NN_F32, p->ndim, p->shape, h) == TRYON_OK);
        free(h);
    }
    uint8_t *bytes;
    size_t len;
    CHECK(nn_st_serialize(w, &bytes, &len) == TRYON_OK);
    struct nn_st_file *g = NULL;
    enum tryon_status s = nn_st_parse(bytes, len, "golden-weights", &g);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (g) {
        s = nn_model_load_st(m, g);
        CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    }
    nn_st_free(g);
    free(bytes);
    nn_st_writer_free(w);
}

static void upload_inputs(struct kern_ctx *ctx, struct nn_model *m, const struct nn_st_file *f, int n)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i].op == NN_OP_INPUT) {
            char key[128];
            snprintf(key, sizeof key, "input.%s", cfg->layers[i].name);
            upload_golden(ctx, f, key, nn_model_input(m, cfg->layers[i].name), out_numel(m, cfg->layers[i].name, n));
        }
}

/* Sum of the per-output mean losses; accumulates into the output gradients. */
static float loss_step(struct kern_ctx *ctx, struct nn_model *m, float **targets, int n, bool bce)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    float loss = 0;
    for (int o = 0; o < cfg->n_outputs; o++) {
        const char *name = cfg->outputs[o].name;
        size_t k = out_numel(m, name, n);
        if (bce)
            loss += kern_loss_bce_logits(ctx, k, nn_model_output(m, name), targets[o], 1.0f,
                                         nn_model_output_grad(m, name));
        else
            loss += kern_loss_mse(ctx, k, nn_model_output(m, name), targets[o], 1.0f, nn_model_output_grad(m, name));
    }
    return loss;
}

static void check_eval_outputs(struct kern_ctx *ctx, struct nn_model *m, const struct nn_st_file *f, int n,
                               double limit)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    for (int o = 0; o < cfg->n_outputs; o++) {
        char key[128];
        snprintf(key, sizeof key, "eval_output.%s", cfg->outputs[o].name);
        CHECK_TENSOR(ctx, f, key, nn_model_output(m, cfg->outputs[o].name),
                     out_numel(m, cfg->outputs[o].name, n), limit);
    }
}

static void run_case(enum kern_backend be, const char *file, const char *yaml)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tiny/%s", cfgdir, yaml);
    struct nn_cfg *cfg = NULL;
    enum tryon_status s = nn_cfg_load(path, &cfg);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    struct nn_st_file *f = open_golden(golden, file);
    struct kern_ctx *ctx = kern_create(be, 1);
    CHECK_MSG(ctx != NULL, "%s", tryon_errmsg());
    if (!cfg || !f || !ctx) {
        nn_cfg_free(cfg);
        nn_st_free(f);
        kern_destroy(ctx);
        return;
    }
    double before = worst_err;
    worst_err = 0;
    int n = (int)meta_int(f, "batch");
    bool bce = strcmp(cfg->kind, "dcgan_discriminator") == 0;
    struct nn_model *m = NULL;
    CHECK(nn_model_create(cfg, ctx, n, NN_MODE_TRAIN, &m) == TRYON_OK);
    load_prefixed(m, f, "init.");
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i].op == NN_OP_INPUT)
            CHECK(nn_model_want_input_grad(m, cfg->layers[i].name) == TRYON_OK);
    upload_inputs(ctx, m, f, n);
    float *targets[8] = {0};
    CHECK(cfg->n_outputs <= 8);
    for (int o = 0; o < cfg->n_outputs && o < 8; o++) {
        char key[128];
        snprintf(key, sizeof key, "target.%s", cfg->outputs[o].name);
        size_t k = out_numel(m, cfg->outputs[o].name, n);
        targets[o] = kern_alloc(ctx, k);
        upload_golden(ctx, f, key, targets[o], k);
    }

    /* one training step, checked in full */
    nn_model_zero_grad(m);
    nn_model_forward(m, n, true);
    for (int o = 0; o < cfg->n_outputs; o++) {
        char key[128];
        snprintf(key, sizeof key, "output.%s", cfg->outputs[o].name);
        CHECK_TENSOR(ctx, f, key, nn_model_output(m, cfg->outputs[o].name), out_numel(m, cfg->outputs[o].name, n),
                     LIM_OUT);
    }
    float loss = loss_step(ctx, m, targets, n, bce);
    float *ref_loss = NULL;
    CHECK(nn_st_get_f32(f, "loss", 1, &ref_loss, NULL) == TRYON_OK);
    if (ref_loss)
        CHECK_NEAR(loss, ref_loss[0], LIM_OUT * fabs(ref_loss[0]));
    free(ref_loss);
    nn_model_backward(m);
    for (int i = 0; i < nn_model_n_params(m); i++) {
        const struct nn_param_info *p = nn_model_param(m, i);
        char key[256];
        if (p->trainable) {
            snprintf(key, sizeof key, "grad.%s", p->name);
            CHECK_TENSOR(ctx, f, key, p->grad, p->numel, LIM_GRAD);
        } else {
            snprintf(key, sizeof key, "step1.%s", p->name);
            CHECK_TENSOR(ctx, f, key, p->data, p->numel, LIM_OUT);
        }
    }
    for (int i = 0; i < cfg->n_layers; i++)
        if (cfg->layers[i].op == NN_OP_INPUT) {
            char key[128];
            snprintf(key, sizeof key, "input_grad.%s", cfg->layers[i].name);
            CHECK_TENSOR(ctx, f, key, nn_model_input_grad(m, cfg->layers[i].name),
                         out_numel(m, cfg->layers[i].name, n), LIM_GRAD);
        }

    /* ten AdamW steps (the first on the gradients above), decay on weights only */
    struct nn_adamw_cfg oc = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f,
                              .decay_all = false};
    float losses[10];
    losses[0] = loss;
    nn_model_adamw_step(m, &oc);
    for (int step = 1; step < 10; step++) {
        nn_model_zero_grad(m);
        nn_model_forward(m, n, true);
        losses[step] = loss_step(ctx, m, targets, n, bce);
        nn_model_backward(m);
        nn_model_adamw_step(m, &oc);
    }
    CHECK_EQ_INT(nn_model_adamw_t(m), 10);
    float *ref_losses = NULL;
    CHECK(nn_st_get_f32(f, "step_losses", 10, &ref_losses, NULL) == TRYON_OK);
    if (ref_losses)
        CHECK_MSG(nerr(losses, ref_losses, 10) <= LIM_OUT, "step losses: error %.3g", nerr(losses, ref_losses, 10));
    free(ref_losses);
    for (int i = 0; i < nn_model_n_params(m); i++) {
        const struct nn_param_info *p = nn_model_param(m, i);
        char key[256];
        snprintf(key, sizeof key, "final.%s", p->name);
        CHECK_TENSOR(ctx, f, key, p->data, p->numel, LIM_PARAM);
    }
    nn_model_forward(m, n, false);
    check_eval_outputs(ctx, m, f, n, LIM_OUT);

    /* inference models from the trained weights: plain, and with BN folded into convs */
    for (int mode = NN_MODE_INFER; mode <= NN_MODE_INFER_FOLD; mode++) {
        struct nn_model *im = NULL;
        CHECK(nn_model_create(cfg, ctx, n, (enum nn_mode)mode, &im) == TRYON_OK);
        if (!im)
            continue;
        load_prefixed(im, f, "final.");
        upload_inputs(ctx, im, f, n);
        nn_model_forward(im, n, false);
        check_eval_outputs(ctx, im, f, n, LIM_OUT);
        struct nn_mem mt, mi;
        nn_model_mem(m, &mt);
        nn_model_mem(im, &mi);
        CHECK(mi.acts < mt.acts);
        CHECK_EQ_INT(mi.grads, 0);
        nn_model_free(im);
    }
    fprintf(stderr, "%s on %s: worst normalized error %.3g\n", file, kern_backend_name(be), worst_err);
    if (before > worst_err)
        worst_err = before;
    for (int o = 0; o < cfg->n_outputs && o < 8; o++)
        kern_release(ctx, targets[o]);
    nn_model_free(m);
    kern_destroy(ctx);
    nn_st_free(f);
    nn_cfg_free(cfg);
}

int main(int argc, char **argv)
{
    golden = golden_dir(argc, argv);
    cfgdir = argc > 2 ? argv[2] : "configs/models";
    enum kern_backend bes[] = {KERN_BACKEND_REF, KERN_BACKEND_CPU, KERN_BACKEND_CUDA};
    for (int b = 0; b < 3; b++) {
        struct kern_ctx *probe = kern_create(bes[b], 0);
        if (!probe) {
            fprintf(stderr, "%s backend skipped: %s\n", kern_backend_name(bes[b]), tryon_errmsg());
            CHECK(bes[b] == KERN_BACKEND_CUDA); /* REF and CPU always exist */
            continue;
        }
        kern_destroy(probe);
        run_case(bes[b], "model_encoder", "encoder.yaml");
        run_case(bes[b], "model_generator", "generator.yaml");
        run_case(bes[b], "model_discriminator", "discriminator.yaml");
    }
    return check_result("test_nn_golden_models");
}
