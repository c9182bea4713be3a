/* test_nn_gan.c: `tryon train` in GAN mode (nn/gan.c) on a synthetic garment dataset written
 * here with nn_st_writer. Each 16x16 input holds a rectangle of one of 8 colours (every
 * channel 30 or 225; the class label is the colour) on a noisy grey backdrop; its "back"
 * (U8 [3, 8, 8]) is horizontal stripes of that colour and its complement (255 - colour).
 * Over the 8 colours every back pixel is +-0.765 in tanh units with mean 0, so an image that
 * ignores the condition cannot get its L1 below 0.765: an L1 far below it shows the
 * generator reads the condition. The condition is a tiny encoder trained here for 30 steps
 * by the supervised trainer on the colour class (its final weights carry model_yaml).
 * Checks:
 * - the validation L1 (zero noise) at the end is below 0.4x the first step's training L1;
 * - OUT/generator.safetensors carries tryon_model_version, model_yaml and output.image
 *   {"type": "gan", "target": "back", "side_m": 0.32, "condition_sha256": the condition
 *   file's digest, "condition_model"}; OUT/discriminator.safetensors exists; checkpoints keep
 *   the two newest, each with both models, both optimizers and DONE;
 * - two runs (2 threads, then 1 thread) write identical generator and discriminator bytes;
 * - a run stopped after step 45 (checkpoints at 20 and 40) and resumed ends with the same bytes;
 * - 2 ranks over an in-process threaded nn_comm end with identical parameters on both ranks;
 *   stopped after 45 and resumed, and stopped by a signal after step 1 (a checkpoint off the
 *   grid) and resumed, they end with the same bytes as the uninterrupted 2-rank run;
 * - bad gan configs name file:line (unknown key, gan with losses, a generator that does not
 *   fit the condition, a target the shards lack, both weights 0, flip).
 * usage: test_nn_gan (writes under a fresh folder in $TMPDIR or /tmp) */
#include "nn_train_test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 16          /* input side */
#define B 8           /* back side */
#define PER_SHARD 32
#define N_SHARDS 3

/* DIR/index.json + N_SHARDS garment shards with input, target, label and back. */
static void write_dataset(const char *dir)
{
    struct rng r;
    rng_seed(&r, 11);
    char p[2048];
    for (int sh = 0; sh < N_SHARDS; sh++) {
        uint8_t *in = calloc((size_t)PER_SHARD * 4 * S * S, 1), *back = calloc((size_t)PER_SHARD * 3 * B * B, 1);
        float tg[PER_SHARD];
        int32_t lab[PER_SHARD];   /* the colour code */
        for (int i = 0; i < PER_SHARD; i++) {
            int k = sh * PER_SHARD + i, code = k % 8;
            int col[3] = {code & 1 ? 225 : 30, code & 2 ? 225 : 30, code & 4 ? 225 : 30};
            int x0 = 2 + (int)(rng_u32(&r) % 4), y0 = 2 + (int)(rng_u32(&r) % 4), sz = 8 + (int)(rng_u32(&r) % 3);
            uint8_t *im = in + (size_t)i * 4 * S * S;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    bool on = x >= x0 && x < x0 + sz && y >= y0 && y < y0 + sz;
                    for (int c = 0; c < 3; c++)
                        im[(size_t)c * S * S + (size_t)y * S + (size_t)x] =
                            (uint8_t)(on ? col[c] : 110 + (int)(rng_u32(&r) % 30));
                    im[(size_t)3 * S * S + (size_t)y * S + (size_t)x] = on ? 255 : 0;
                }
            uint8_t *bk = back + (size_t)i * 3 * B * B;
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < B; y++)
                    for (int x = 0; x < B; x++)
                        bk[(size_t)c * B * B + (size_t)y * B + (size_t)x] =
                            (uint8_t)((y / 2) % 2 ? 255 - col[c] : col[c]);
            tg[i] = (float)sz;
            lab[i] = code;
        }
        struct nn_st_writer *w = nn_st_writer_create();
        int64_t si[4] = {PER_SHARD, 4, S, S}, st[2] = {PER_SHARD, 1}, sl[1] = {PER_SHARD}, sb[4] = {PER_SHARD, 3, B, B};
        CHECK(nn_st_add(w, "input", NN_U8, 4, si, in) == TRYON_OK);
        CHECK(nn_st_add(w, "target", NN_F32, 2, st, tg) == TRYON_OK);
        CHECK(nn_st_add(w, "label", NN_I32, 1, sl, lab) == TRYON_OK);
        CHECK(nn_st_add(w, "back", NN_U8, 4, sb, back) == TRYON_OK);
        snprintf(p, sizeof p, "%s/shards/garments-%05d.st", dir, sh);
        CHECK(fs_mkdirs_parent(p) == TRYON_OK);
        CHECK(nn_st_write(w, p) == TRYON_OK);
        nn_st_writer_free(w);
        free(in);
        free(back);
    }
    char idx[2048];
    snprintf(idx, sizeof idx,
             "{\"format\": \"tryon-shards-1\", \"seed\": 11, \"hold_out\": false, \"input\": [4, %d, %d],\n"
             " \"kinds\": {\"garments\": {\"count\": %d, \"targets\": [\"size\"],\n"
             "                          \"classes\": [\"k\", \"r\", \"g\", \"y\", \"b\", \"m\", \"c\", \"w\"],\n"
             "                          \"back\": [3, %d, %d], \"back_side_m\": 0.32}},\n"
             " \"shards\": [{\"file\": \"shards/garments-00000.st\", \"kind\": \"garments\",\n"
             "              \"first\": 0, \"count\": %d},\n"
             "            {\"file\": \"shards/garments-00001.st\", \"kind\": \"garments\",\n"
             "             \"first\": %d, \"count\": %d},\n"
             "            {\"file\": \"shards/garments-00002.st\", \"kind\": \"garments\",\n"
             "             \"first\": %d, \"count\": %d}]}\n",
             S, S, N_SHARDS * PER_SHARD, B, B, PER_SHARD, PER_SHARD, PER_SHARD, 2 * PER_SHARD, PER_SHARD);
    snprintf(p, sizeof p, "%s/index.json", dir);
    CHECK(fs_write_atomic(p, idx, strlen(idx)) == TRYON_OK);
}

static const char *encoder_yaml =
    "name: tiny_cond_encoder\n"
    "template: resnet_encoder\n"
    "input: {name: image, channels: 4, size: 16}\n"
    "stem: {channels: 8, kernel: 3, stride: 1, maxpool: false}\n"
    "width: 8\n"
    "stages: [1]\n"
    "features: 16\n"
    "heads:\n"
    "  category: 8\n";

static const char *generator_yaml =
    "name: tiny_back_generator\n"
    "template: dcgan_generator\n"
    "init: dcgan\n"
    "cond: {name: features, dim: 16}\n"
    "noise: {name: noise, dim: 4}\n"
    "base_channels: 32\n"
    "min_channels: 8\n"
    "output: {name: image, channels: 3, size: 8}\n";

static const char *discriminator_yaml =
    "name: tiny_back_discriminator\n"
    "template: dcgan_discriminator\n"
    "init: dcgan\n"
    "image: {name: image, channels: 3, size: 8}\n"
    "cond: {name: features, dim: 16, channels: 2}\n"
    "base_channels: 8\n"
    "max_channels: 16\n";

/* The frozen condition: the encoder trained on the colour class, in enc/model.safetensors. */
static void train_condition(void)
{
    write_text("encoder.yaml", encoder_yaml);
    write_text("enc.yaml", "name: tiny_cond\nmodel: encoder.yaml\ndata: data\nkind: garments\nseed: 4\nbatch: 16\n"
                           "steps: 30\nlr: {max: 5.0e-3, warmup: 3}\nval_shards: 1\n"
                           "losses: [{output: category, type: softmax_ce}]\n");
    char p[1024], o[1024];
    path_of(p, sizeof p, "enc.yaml");
    path_of(o, sizeof o, "enc");
    struct nn_train_cfg *c = NULL;
    enum tryon_status s = nn_train_cfg_load(p, &c);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 2);
    struct nn_train_opts opts = {.out_dir = o};
    struct nn_train_result res;
    if (c && (s = nn_train_run(c, NULL, ctx, &opts, &res)) != TRYON_OK)
        CHECK_MSG(false, "%s", tryon_errmsg());
    kern_destroy(ctx);
    nn_train_cfg_free(c);
}

/* The training config; `gan` replaces the default gan map, `extra` goes before it. */
static void write_cfg(const char *rel, const char *extra, const char *gan)
{
    char text[2048];
    snprintf(text, sizeof text,
             "name: tiny_gan_test\n"
             "data: data\n"
             "kind: garments\n"
             "seed: 21\n"
             "batch: 16\n"
             "steps: 60\n"
             "lr: {max: 2.0e-3, min: 2.0e-4, warmup: 5}\n"
             "checkpoint_every: 20\n"
             "val_shards: 1\n"
             "bucket_mb: 0.01\n"
             "%s"
             "gan:\n%s",
             extra ? extra : "",
             gan ? gan
                 : "  generator: generator.yaml\n"
                   "  discriminator: discriminator.yaml\n"
                   "  condition: enc/model.safetensors\n"
                   "  target: back\n"
                   "  l1: 100\n"
                   "  adversarial: 1\n");
    write_text(rel, text);
}

static enum tryon_status run1(const struct nn_train_cfg *c, const char *out, int threads, int stop_after,
                              struct nn_train_result *res)
{
    char o[1024];
    path_of(o, sizeof o, out);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, threads);
    struct nn_train_opts opts = {.out_dir = o, .log = getenv("TRYON_GAN_TEST_LOG") ? stderr : NULL,
                                 .stop_after = stop_after};
    enum tryon_status s = nn_train_run(c, NULL, ctx, &opts, res);
    kern_destroy(ctx);
    return s;
}

/* Both final files of two output folders are byte-identical. */
static bool same_outputs(const char *a, const char *b)
{
    char pa[256], pb[256], qa[256], qb[256];
    snprintf(pa, sizeof pa, "%s/generator.safetensors", a);
    snprintf(pb, sizeof pb, "%s/generator.safetensors", b);
    snprintf(qa, sizeof qa, "%s/discriminator.safetensors", a);
    snprintf(qb, sizeof qb, "%s/discriminator.safetensors", b);
    return same_file(pa, pb) && same_file(qa, qb);
}

/* ----- error cases --------------------------------------------------------------------*/
static void expect_error(const char *rel, const char *want)
{
    char p[1024];
    path_of(p, sizeof p, rel);
    struct nn_train_cfg *c = NULL;
    enum tryon_status s = nn_train_cfg_load(p, &c);
    if (s == TRYON_OK) {
        struct nn_train_result res;
        s = run1(c, "out_err", 1, 0, &res);
        nn_train_cfg_free(c);
    }
    CHECK(s < 0);
    CHECK_CONTAINS(tryon_errmsg(), want);
}

static void test_errors(void)
{
    char want[1200];
    /* an unknown key inside gan: line 12 is "gan:", 13.. its keys */
    write_cfg("bad1.yaml", NULL, "  generator: generator.yaml\n  discriminator: discriminator.yaml\n"
                                 "  condition: enc/model.safetensors\n  target: back\n  l2: 5\n");
    snprintf(want, sizeof want, "%s/bad1.yaml:16", root);
    expect_error("bad1.yaml", want);
    /* gan and losses together: the losses line */
    write_cfg("bad2.yaml", "losses: [{output: reg, type: mse, targets: [size]}]\n", NULL);
    snprintf(want, sizeof want, "%s/bad2.yaml:11: 'losses' is for supervised training", root);
    expect_error("bad2.yaml", want);
    /* a generator conditioned on 8 features where the encoder gives 16: the generator line */
    write_text("gen8.yaml", "name: gen8\ntemplate: dcgan_generator\ncond: {name: features, dim: 8}\n"
                            "noise: {name: noise, dim: 4}\nbase_channels: 8\n"
                            "output: {name: image, channels: 3, size: 8}\n");
    write_cfg("bad3.yaml", NULL, "  generator: gen8.yaml\n  discriminator: discriminator.yaml\n"
                                 "  condition: enc/model.safetensors\n  target: back\n");
    snprintf(want, sizeof want, "%s/bad3.yaml:12: generator 'gen8' takes 8 features, the condition model "
             "'tiny_cond_encoder' gives 16", root);
    expect_error("bad3.yaml", want);
    /* a target the dataset lacks */
    write_cfg("bad4.yaml", NULL, "  generator: generator.yaml\n  discriminator: discriminator.yaml\n"
                                 "  condition: enc/model.safetensors\n  target: front\n");
    snprintf(want, sizeof want, "%s/bad4.yaml:15: gan.target 'front'", root);
    expect_error("bad4.yaml", want);
    CHECK_CONTAINS(tryon_errmsg(), "kinds.garments.front must be [C, B, B]");
    /* both weights 0: the gan line */
    write_cfg("bad5.yaml", NULL, "  generator: generator.yaml\n  discriminator: discriminator.yaml\n"
                                 "  condition: enc/model.safetensors\n  target: back\n  l1: 0\n  adversarial: 0\n");
    snprintf(want, sizeof want, "%s/bad5.yaml:12: gan.l1 and gan.adversarial are both 0", root);
    expect_error("bad5.yaml", want);
    /* a missing key of gan */
    write_cfg("bad6.yaml", NULL, "  generator: generator.yaml\n  discriminator: discriminator.yaml\n  target: back\n");
    snprintf(want, sizeof want, "%s/bad6.yaml:12: gan needs 'condition'", root);
    expect_error("bad6.yaml", want);
    /* flip makes no sense with precomputed conditions */
    write_cfg("bad7.yaml", "augment: {flip: true}\n", NULL);
    snprintf(want, sizeof want, "%s/bad7.yaml:11: augment.flip does not apply to a gan config", root);
    expect_error("bad7.yaml", want);
    /* a condition file without model_yaml */
    write_cfg("bad8.yaml", NULL, "  generator: generator.yaml\n  discriminator: discriminator.yaml\n"
                                 "  condition: out_a/ckpt-000060/generator.safetensors\n  target: back\n");
    snprintf(want, sizeof want, "%s/bad8.yaml:14: gan.condition: ", root);
    expect_error("bad8.yaml", want);
    CHECK_CONTAINS(tryon_errmsg(), "has no metadata 'model_yaml'");
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/tryon-gan-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    char p[1024];
    path_of(p, sizeof p, "data");
    write_dataset(p);
    write_text("generator.yaml", generator_yaml);
    write_text("discriminator.yaml", discriminator_yaml);
    train_condition();
    write_cfg("train.yaml", NULL, NULL);
    struct nn_train_cfg *c = load_cfg("train.yaml");
    if (!c)
        return check_result("test_nn_gan");
    CHECK(c->gan != NULL);
    if (c->gan) {
        CHECK_STR(c->gan->target, "back");
        CHECK_NEAR(c->gan->l1, 100.0, 0.0);
        CHECK_EQ_INT(c->gan->line_condition, 14);
    }

    /* A: uninterrupted, 2 threads */
    struct nn_train_result ra, rb, rc;
    enum tryon_status s = run1(c, "out_a", 2, 0, &ra);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    fprintf(stderr, "run A: first l1 %.4f, last %.4f, val %.4f, %.0f samples/s\n", ra.first_loss, ra.last_loss,
            ra.val_loss, ra.samples_per_s);
    CHECK_EQ_INT(ra.steps_done, 60);
    CHECK(ra.first_loss > 0.7);               /* the untrained generator paints about 0 */
    CHECK(ra.val_loss < 0.4 * ra.first_loss);  /* and 0.765 is the best without the condition */
    CHECK(exists("out_a/ckpt-000060/DONE") && exists("out_a/ckpt-000040/DONE") && !exists("out_a/ckpt-000020"));
    CHECK(exists("out_a/ckpt-000040/optim-generator.safetensors") &&
          exists("out_a/ckpt-000040/optim-discriminator.safetensors") &&
          exists("out_a/ckpt-000040/discriminator.safetensors") && exists("out_a/ckpt-000040/state.json"));
    CHECK(exists("out_a/discriminator.safetensors"));
    struct nn_st_file *f = NULL;
    path_of(p, sizeof p, "out_a/generator.safetensors");
    CHECK(nn_st_read(p, 0, &f) == TRYON_OK);
    if (f) {
        char sha[65], want[256];
        size_t len;
        uint8_t *enc = read_file("enc/model.safetensors", &len);
        sha256_hex(enc, len, sha);
        free(enc);
        CHECK_STR(nn_st_meta(f, "tryon_model_version"), NN_MODEL_VERSION);
        CHECK_STR(nn_st_meta(f, "model"), "tiny_back_generator");
        CHECK_STR(nn_st_meta(f, "model_yaml"), generator_yaml);
        snprintf(want, sizeof want, "{\"type\":\"gan\",\"target\":\"back\",\"side_m\":0.32,\"condition_sha256\":"
                 "\"%s\",\"condition_model\":\"tiny_cond_encoder\"}", sha);
        CHECK_STR(nn_st_meta(f, "output.image"), want);
        nn_st_free(f);
    }

    /* B: the same, 1 thread: same bytes */
    s = run1(c, "out_b", 1, 0, &rb);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK(same_outputs("out_a", "out_b"));
    CHECK_STR(ra.params_sha256, rb.params_sha256);

    /* C: killed after step 45, resumed from 40 */
    s = run1(c, "out_c", 2, 45, &rc);
    CHECK_EQ_INT(s, TRYON_EINTERRUPTED);
    CHECK(exists("out_c/ckpt-000040/DONE") && !exists("out_c/generator.safetensors"));
    s = run1(c, "out_c", 2, 0, &rc);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK_EQ_INT(rc.start_step, 40);
    CHECK(same_outputs("out_a", "out_c"));

    /* D: 2 ranks over threads: every rank ends with the same parameters, and learns */
    struct rank_job jobs[W];
    run_ranks(c, "out_dp", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[1].status, TRYON_OK);
    CHECK_STR(jobs[0].res.params_sha256, jobs[1].res.params_sha256);
    CHECK(jobs[0].res.val_loss < 0.4 * jobs[0].res.first_loss);
    fprintf(stderr, "2 ranks: first l1 %.4f, val %.4f\n", jobs[0].res.first_loss, jobs[0].res.val_loss);
    /* E: 2 ranks stopped after 45 and resumed from 40: the same bytes as D */
    run_ranks(c, "out_dp2", 45, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_EINTERRUPTED);
    CHECK_EQ_INT(jobs[1].status, TRYON_EINTERRUPTED);
    run_ranks(c, "out_dp2", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[1].res.start_step, 40);
    CHECK(same_outputs("out_dp", "out_dp2"));
    /* F: a signal stops both ranks after step 1 (off the grid: each rank's own BN statistics
       of both models are kept); resumed, the same bytes as D */
    static volatile sig_atomic_t stop_now = 1;
    run_ranks(c, "out_dp3", 0, &stop_now, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_EINTERRUPTED);
    /* (the 8x8 discriminator goes from 4x4 straight to its logit: it has no batch norm) */
    CHECK(exists("out_dp3/ckpt-000001/DONE") &&
          exists("out_dp3/ckpt-000001/generator-buffers-rank0-of2.safetensors") &&
          exists("out_dp3/ckpt-000001/generator-buffers-rank1-of2.safetensors") &&
          !exists("out_dp3/ckpt-000001/discriminator-buffers-rank0-of2.safetensors"));
    run_ranks(c, "out_dp3", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[0].res.start_step, 1);
    CHECK(same_outputs("out_dp", "out_dp3"));

    test_errors();
    nn_train_cfg_free(c);
    if (!check_failures) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        CHECK(system(cmd) == 0);
    }
    return check_result("test_nn_gan");
}
