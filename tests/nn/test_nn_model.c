/* test_nn_model.c: model mechanics that need no PyTorch.
 * - seeded init is deterministic and seed-dependent;
 * - save -> load round trip gives identical bytes, metadata names the model; loading a file
 *   with a missing tensor, a wrong shape or an unknown tensor fails (TRYON_EFORMAT naming the
 *   tensor) and leaves the model unchanged; PyTorch's num_batches_tracked is accepted;
 * - eval forward of n < max_batch samples equals the first n of a full batch;
 * - the same forward+backward on the CPU backend gives the same bytes with 1 and 2 threads,
 *   and so does an inference forward (folded BN, fused conv + activation);
 * - a conv whose output feeds an in-place ReLU / leaky ReLU (directly or through a folded
 *   BN) applies it itself (kern_conv2d_fwd_act), with the same output bytes as the
 *   separate activation pass (the model's plan is edited back to compare);
 * - inference memory by lifetime is under a third of training memory, and for a ResNet-18
 *   shape stays within 4 times the largest activation plus the input;
 * - the host I/O a caller without kernels calls uses (nn_ctx_create, nn_model_set_input,
 *   nn_model_get_output) moves exactly the bytes kern_upload / kern_download move, and its
 *   context computes what a CPU context of the same thread count does, bit for bit.
 * usage: test_nn_model CONFIG_DIR */
#include "nn_test_util.h"

#include <string.h>
#include <unistd.h>

static const char *dir;

static struct nn_cfg *load_cfg(const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct nn_cfg *c = NULL;
    enum tryon_status s = nn_cfg_load(path, &c);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    return c;
}

/* All parameters and buffers as one host array (malloc'd). */
static float *snapshot(struct kern_ctx *ctx, const struct nn_model *m, size_t *n)
{
    float *arena = nn_model_param_arena(m, n);
    float *h = malloc(*n * sizeof *h);
    kern_download(ctx, h, arena, *n);
    return h;
}

static void test_init_save_load(struct nn_cfg *cfg)
{
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_REF, 1);
    struct nn_model *a = NULL, *b = NULL;
    CHECK(nn_model_create(cfg, ctx, 2, NN_MODE_TRAIN, &a) == TRYON_OK);
    CHECK(nn_model_create(cfg, ctx, 2, NN_MODE_INFER, &b) == TRYON_OK);
    if (!a || !b)
        return;
    size_t n;
    nn_model_init_params(a, 7);
    nn_model_init_params(b, 7);
    float *pa = snapshot(ctx, a, &n), *pb = snapshot(ctx, b, &n);
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0);
    nn_model_init_params(b, 8);
    free(pb);
    pb = snapshot(ctx, b, &n);
    CHECK(memcmp(pa, pb, n * sizeof *pa) != 0);

    char path[256];
    snprintf(path, sizeof path, "/tmp/test_nn_model_%d.safetensors", (int)getpid());
    const char *meta[] = {"step", "12", NULL};
    CHECK(nn_model_save(a, path, meta) == TRYON_OK);
    CHECK(nn_model_load(b, path) == TRYON_OK);
    free(pb);
    pb = snapshot(ctx, b, &n);
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0);
    struct nn_st_file *f = NULL;
    CHECK(nn_st_read(path, 0, &f) == TRYON_OK);
    if (f) {
        CHECK_STR(nn_st_meta(f, "model"), cfg->name);
        CHECK_STR(nn_st_meta(f, "step"), "12");
        CHECK_EQ_INT(f->n, (size_t)nn_model_n_params(a));
    }

    /* corrupt variants: rebuild the file with one change each */
    for (int variant = 0; variant < 4 && f; variant++) {
        struct nn_st_writer *w = nn_st_writer_create();
        bool reshaped = false;
        for (size_t i = 0; i < f->n; i++) {
            const struct nn_st_tensor *t = &f->t[i];
            float *h = NULL;
            CHECK(nn_st_get_f32(f, t->name, 0, &h, NULL) == TRYON_OK);
            if (variant == 0 && i == 3) {
                free(h);
                continue; /* missing */
            }
            int64_t sh[8];
            memcpy(sh, t->shape, sizeof sh);
            if (variant == 1 && !reshaped && t->ndim == 4) {
                reshaped = true;
                sh[2] = sh[2] * sh[3]; /* same count, other shape */
                sh[3] = 1;
            }
            nn_st_add(w, t->name, NN_F32, t->ndim, sh, h);
            free(h);
        }
        int64_t one = 1;
        float z = 0;
        if (variant == 2)
            nn_st_add(w, "extra.weight", NN_F32, 1, &one, &z);
        if (variant == 3) {
            int64_t cnt = 5;
            nn_st_add(w, "stem.bn.num_batches_tracked", NN_I64, 0, NULL, &cnt);
        }
        CHECK(nn_st_write(w, path) == TRYON_OK);
        nn_st_writer_free(w);
        nn_model_init_params(b, 99);
        float *before = snapshot(ctx, b, &n);
        enum tryon_status s = nn_model_load(b, path);
        float *after = snapshot(ctx, b, &n);
        if (variant == 3) {
            CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
            CHECK(memcmp(after, pa, n * sizeof *pa) == 0);
        } else {
            CHECK(s == TRYON_EFORMAT);
            CHECK(memcmp(before, after, n * sizeof *pa) == 0);
            CHECK_CONTAINS(tryon_errmsg(), variant == 0 ? "missing tensor" : variant == 1 ? "shape" : "extra.weight");
        }
        free(before);
        free(after);
    }
    nn_st_free(f);
    unlink(path);
    free(pa);
    free(pb);
    nn_model_free(a);
    nn_model_free(b);
    kern_destroy(ctx);
}

static void test_partial_batch(struct nn_cfg *cfg)
{
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    struct nn_model *m = NULL;
    CHECK(nn_model_create(cfg, ctx, 4, NN_MODE_INFER_FOLD, &m) == TRYON_OK);
    if (!m)
        return;
    nn_model_init_params(m, 3);
    nn_test_fill_inputs(ctx, m, 4, 5);
    int c, h, w;
    const char *out = cfg->outputs[0].name;
    nn_model_tensor_shape(m, out, &c, &h, &w);
    size_t k = (size_t)c * h * w;
    float *full = malloc(4 * k * sizeof *full), *part = malloc(2 * k * sizeof *part);
    nn_model_forward(m, 4, false);
    kern_download(ctx, full, nn_model_output(m, out), 4 * k);
    nn_model_forward(m, 2, false);
    kern_download(ctx, part, nn_model_output(m, out), 2 * k);
    CHECK(nerr(part, full, 2 * k) < 1e-6);
    free(full);
    free(part);
    nn_model_free(m);
    kern_destroy(ctx);
}

/* Gradients after one training step on a CPU context with `threads` threads (malloc'd). */
static float *train_grads(struct nn_cfg *cfg, int threads, size_t *n)
{
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, threads);
    struct nn_model *m = NULL;
    if (nn_model_create(cfg, ctx, 4, NN_MODE_TRAIN, &m) != TRYON_OK)
        return NULL;
    nn_model_init_params(m, 11);
    nn_test_fill_inputs(ctx, m, 4, 12);
    nn_model_zero_grad(m);
    nn_model_forward(m, 4, true);
    for (int o = 0; o < cfg->n_outputs; o++) {
        int c, h, w;
        nn_model_tensor_shape(m, cfg->outputs[o].name, &c, &h, &w);
        size_t k = (size_t)4 * c * h * w;
        float *zero = kern_alloc(ctx, k);
        kern_loss_mse(ctx, k, nn_model_output(m, cfg->outputs[o].name), zero, 1.0f,
                      nn_model_output_grad(m, cfg->outputs[o].name));
        kern_release(ctx, zero);
    }
    nn_model_backward(m);
    *n = nn_model_numel_trainable(m);
    float *g = malloc(*n * sizeof *g);
    kern_download(ctx, g, nn_model_grad_arena(m), *n);
    nn_model_free(m);
    kern_destroy(ctx);
    return g;
}

/* Host copy of output 0 after an eval forward of 3 samples (malloc'd, *k floats). */
static float *eval_out(struct kern_ctx *ctx, struct nn_model *m, size_t *k)
{
    const struct nn_cfg *cfg = nn_model_cfg(m);
    int c, h, w;
    nn_model_tensor_shape(m, cfg->outputs[0].name, &c, &h, &w);
    *k = (size_t)3 * c * h * w;
    nn_model_forward(m, 3, false);
    float *o = malloc(*k * sizeof *o);
    kern_download(ctx, o, nn_model_output(m, cfg->outputs[0].name), *k);
    return o;
}

/* Fused conv + activation against the unfused plan of the same model, bit for bit, in
 * `mode`; expect_fused: whether the config has a conv -> (folded BN ->) ReLU chain. */
static void test_fused_act(struct nn_cfg *cfg, enum nn_mode mode, bool expect_fused)
{
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 2);
    struct nn_model *m = NULL;
    CHECK(nn_model_create(cfg, ctx, 3, mode, &m) == TRYON_OK);
    if (!m)
        return;
    nn_model_init_params(m, 21);
    nn_test_fill_inputs(ctx, m, 3, 22);
    int fused = 0;
    for (int i = 0; i < cfg->n_layers; i++)
        fused += m->rt[i].fused_act >= 0;
    CHECK_MSG((fused > 0) == expect_fused, "%s mode %d: %d fused convs", cfg->name, (int)mode, fused);
    size_t k;
    float *a = eval_out(ctx, m, &k);
    for (int i = 0; i < cfg->n_layers; i++) {
        m->rt[i].fused_act = -1;
        m->rt[i].act_fused = false;
    }
    float *b = eval_out(ctx, m, &k);
    CHECK_MSG(memcmp(a, b, k * sizeof *a) == 0, "%s mode %d: fused conv + activation differs from two passes",
              cfg->name, (int)mode);
    free(a);
    free(b);
    nn_model_free(m);
    kern_destroy(ctx);
}

/* Inference (folded BN, fused activations) gives the same bytes on 1 and 2 threads. */
static void test_infer_determinism(struct nn_cfg *cfg)
{
    float *o[2] = {NULL, NULL};
    size_t k = 0;
    for (int t = 1; t <= 2; t++) {
        struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, t);
        struct nn_model *m = NULL;
        CHECK(nn_model_create(cfg, ctx, 3, NN_MODE_INFER_FOLD, &m) == TRYON_OK);
        if (m) {
            nn_model_init_params(m, 31);
            nn_test_fill_inputs(ctx, m, 3, 32);
            o[t - 1] = eval_out(ctx, m, &k);
        }
        nn_model_free(m);
        kern_destroy(ctx);
    }
    if (o[0] && o[1])
        CHECK_MSG(memcmp(o[0], o[1], k * sizeof(float)) == 0, "%s: inference differs between 1 and 2 threads",
                  cfg->name);
    free(o[0]);
    free(o[1]);
}

/* One sample through nn_model_set_input / nn_model_get_output on an nn_ctx_create context,
   against kern_upload / kern_download on a kern_create(CPU) context: the same bytes. */
static void test_host_io(struct nn_cfg *cfg)
{
    struct kern_ctx *ctx[2] = {nn_ctx_create(2), kern_create(KERN_BACKEND_CPU, 2)};
    struct nn_model *m[2] = {NULL, NULL};
    float *out[2] = {NULL, NULL};
    CHECK(ctx[0] && ctx[1]);
    size_t k = 0;
    for (int v = 0; v < 2 && ctx[0] && ctx[1]; v++) {
        CHECK(nn_model_create(cfg, ctx[v], 2, NN_MODE_INFER_FOLD, &m[v]) == TRYON_OK);
        if (!m[v])
            break;
        nn_model_init_params(m[v], 41);
        struct rng r;
        rng_seed(&r, 42);
        for (int i = 0; i < cfg->n_layers; i++) {
            const struct nn_layer *L = &cfg->layers[i];
            if (L->op != NN_OP_INPUT)
                continue;
            size_t n = (size_t)L->c * L->h * L->w;
            float *h = malloc(n * sizeof *h), *back = malloc(n * sizeof *back);
            for (size_t j = 0; j < n; j++)
                h[j] = rng_normal(&r);
            if (v == 0)
                nn_model_set_input(m[v], L->name, h, n);
            else
                kern_upload(ctx[v], nn_model_input(m[v], L->name), h, n);
            kern_download(ctx[v], back, nn_model_input(m[v], L->name), n);
            CHECK_MSG(memcmp(h, back, n * sizeof *h) == 0, "%s: input %s holds other bytes than were set", cfg->name,
                      L->name);
            free(h);
            free(back);
        }
        nn_model_forward(m[v], 1, false);
        int c, hh, w;
        nn_model_tensor_shape(m[v], cfg->outputs[0].name, &c, &hh, &w);
        k = (size_t)c * hh * w;
        out[v] = malloc(k * sizeof(float));
        if (v == 0) {
            nn_model_get_output(m[v], cfg->outputs[0].name, out[v], k);
            float *direct = malloc(k * sizeof *direct);
            kern_download(ctx[v], direct, nn_model_output(m[v], cfg->outputs[0].name), k);
            CHECK_MSG(memcmp(out[v], direct, k * sizeof *direct) == 0, "%s: nn_model_get_output differs from the "
                      "output tensor", cfg->name);
            free(direct);
        } else {
            kern_download(ctx[v], out[v], nn_model_output(m[v], cfg->outputs[0].name), k);
        }
    }
    if (out[0] && out[1])
        CHECK_MSG(memcmp(out[0], out[1], k * sizeof(float)) == 0, "%s: nn_ctx_create's context computes other bytes "
                  "than a CPU context", cfg->name);
    for (int v = 0; v < 2; v++) {
        free(out[v]);
        nn_model_free(m[v]);
    }
    nn_ctx_free(ctx[0]);
    kern_destroy(ctx[1]);
}

static void test_thread_determinism(struct nn_cfg *cfg)
{
    size_t n1 = 0, n2 = 0;
    float *g1 = train_grads(cfg, 1, &n1), *g2 = train_grads(cfg, 2, &n2);
    CHECK(g1 && g2 && n1 == n2);
    if (g1 && g2 && n1 == n2)
        CHECK_MSG(memcmp(g1, g2, n1 * sizeof *g1) == 0, "%s: gradients differ between 1 and 2 threads", cfg->name);
    free(g1);
    free(g2);
}

static void test_memory_plan(void)
{
    struct nn_cfg *cfg = load_cfg("body_encoder.yaml");
    if (!cfg)
        return;
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_REF, 1);
    struct nn_model *inf = NULL, *tr = NULL;
    CHECK(nn_model_create(cfg, ctx, 2, NN_MODE_INFER, &inf) == TRYON_OK);
    CHECK(nn_model_create(cfg, ctx, 2, NN_MODE_TRAIN, &tr) == TRYON_OK);
    if (inf && tr) {
        struct nn_mem mi, mt;
        nn_model_mem(inf, &mi);
        nn_model_mem(tr, &mt);
        size_t biggest = 0;
        for (int i = 1; i < cfg->n_layers; i++) {
            size_t b = (size_t)2 * cfg->layers[i].c * cfg->layers[i].h * cfg->layers[i].w * sizeof(float);
            if (b > biggest)
                biggest = b;
        }
        size_t input = (size_t)2 * cfg->layers[0].c * cfg->layers[0].h * cfg->layers[0].w * sizeof(float);
        CHECK_MSG(mi.acts <= 4 * biggest + input + 4096, "inference activations %zu > 4 x %zu + %zu", mi.acts,
                  biggest, input);
        CHECK(mi.acts * 3 < mt.acts);
        CHECK(mt.act_grads < mt.acts);
        CHECK_EQ_INT(mt.grads, nn_model_numel_trainable(tr) * sizeof(float));
        fprintf(stderr, "body_encoder batch 2: infer acts %.1f MB, train acts %.1f MB + act grads %.1f MB\n",
                mi.acts / 1e6, mt.acts / 1e6, mt.act_grads / 1e6);
    }
    nn_model_free(inf);
    nn_model_free(tr);
    kern_destroy(ctx);
    nn_cfg_free(cfg);
}

int main(int argc, char **argv)
{
    dir = argc > 1 ? argv[1] : "configs/models";
    const char *tiny[] = {"tiny/encoder.yaml", "tiny/generator.yaml", "tiny/discriminator.yaml"};
    for (int i = 0; i < 3; i++) {
        struct nn_cfg *cfg = load_cfg(tiny[i]);
        if (!cfg)
            continue;
        test_init_save_load(cfg);
        test_partial_batch(cfg);
        test_thread_determinism(cfg);
        test_infer_determinism(cfg);
        test_host_io(cfg);
        /* encoder: conv -> BN -> ReLU (fused once the BN is folded); generator: convT
         * only (never fused); discriminator: conv -> leaky ReLU (fused in every mode) */
        test_fused_act(cfg, NN_MODE_INFER_FOLD, i != 1);
        test_fused_act(cfg, NN_MODE_INFER, i == 2);
        test_fused_act(cfg, NN_MODE_TRAIN, i == 2);
        nn_cfg_free(cfg);
    }
    test_memory_plan();
    return check_result("test_nn_model");
}
