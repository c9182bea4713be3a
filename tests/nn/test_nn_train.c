/* test_nn_train.c: `tryon train`'s dataset reader and training loop (nn/data.c, nn/train.c)
 * on a synthetic shard dataset written here with nn_st_writer: 32x32 images holding one
 * coloured square on a noisy backdrop (mask channel = the square); regression targets are
 * its red level and centre (cy absent, NaN, on every fifth sample), the class is small/large.
 * A tiny 4-channel resnet_encoder (heads reg: 3, category: 2) trains on it. Checks:
 * - the total loss falls: the final validation loss is below 0.5x the first step's loss;
 * - the final weight file carries the inference metadata (version, kind, input, per-output
 *   targets/means/stds and classes) and only the two newest checkpoints stay, each with DONE;
 * - two runs (2 threads, then 1 thread) write identical model.safetensors bytes;
 * - a run stopped after step 45 (checkpoints at 20 and 40) and resumed ends with the same
 *   bytes; so does one whose newest checkpoint lost its DONE (resumes from 20);
 * - 2 ranks over an in-process threaded nn_comm end with identical parameters on both, and
 *   a 2-rank run stopped after step 45 and resumed ends with the same bytes as one that was not;
 *   so does one a signal stops after step 1 (a checkpoint off the grid: each rank's own BN
 *   statistics are kept), compared at checkpoint 40 and at the end;
 * - the LR schedule's warm-up and cosine end points; the epoch permutation is one;
 * - config errors name file:line; a missing shard is named; a bad index.json is named
 *   (overlapping shards, a file outside the folder, the format); gaps between shards load.
 * usage: test_nn_train (writes under a fresh folder in $TMPDIR or /tmp) */
#include "nn_train_test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 32
#define PER_SHARD 40
#define N_SHARDS 3
#define N_TGT 3

/* The dataset: DIR/index.json + N_SHARDS shards of the kind "shapes" (and one "other"). */
static void write_dataset(const char *dir)
{
    struct rng r;
    rng_seed(&r, 7);
    char p[2048];
    for (int sh = 0; sh < N_SHARDS; sh++) {
        uint8_t *in = calloc((size_t)PER_SHARD * 4 * S * S, 1);
        float tg[PER_SHARD * N_TGT];
        int32_t lab[PER_SHARD];
        for (int i = 0; i < PER_SHARD; i++) {
            uint8_t *im = in + (size_t)i * 4 * S * S;
            int sz = 6 + (int)(rng_u32(&r) % 8), x0 = (int)(rng_u32(&r) % (uint32_t)(S - sz)),
                y0 = (int)(rng_u32(&r) % (uint32_t)(S - sz));
            int col[3] = {100 + (int)(rng_u32(&r) % 156), 40 + (int)(rng_u32(&r) % 200),
                          40 + (int)(rng_u32(&r) % 200)};
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    bool on = x >= x0 && x < x0 + sz && y >= y0 && y < y0 + sz;
                    for (int c = 0; c < 3; c++)
                        im[(size_t)c * S * S + (size_t)y * S + (size_t)x] =
                            (uint8_t)(on ? col[c] : 50 + (int)(rng_u32(&r) % 30));
                    im[(size_t)3 * S * S + (size_t)y * S + (size_t)x] = on ? 255 : 0;
                }
            int k = sh * PER_SHARD + i;
            tg[i * N_TGT + 0] = (float)col[0] / 255.0f;
            tg[i * N_TGT + 1] = ((float)x0 + 0.5f * (float)sz) / S;
            tg[i * N_TGT + 2] = k % 5 == 0 ? NAN : ((float)y0 + 0.5f * (float)sz) / S;
            lab[i] = sz >= 10;
        }
        struct nn_st_writer *w = nn_st_writer_create();
        int64_t si[4] = {PER_SHARD, 4, S, S}, st[2] = {PER_SHARD, N_TGT}, sl[1] = {PER_SHARD};
        CHECK(nn_st_add(w, "input", NN_U8, 4, si, in) == TRYON_OK);
        CHECK(nn_st_add(w, "target", NN_F32, 2, st, tg) == TRYON_OK);
        CHECK(nn_st_add(w, "label", NN_I32, 1, sl, lab) == TRYON_OK);
        char rel[64];
        snprintf(rel, sizeof rel, "shards/shapes-%05d.st", sh);
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        CHECK(fs_mkdirs_parent(p) == TRYON_OK);
        CHECK(nn_st_write(w, p) == TRYON_OK);
        nn_st_writer_free(w);
        free(in);
    }
    char idx[2048];
    snprintf(idx, sizeof idx,
             "{\"format\": \"tryon-shards-1\", \"seed\": 7, \"hold_out\": false, \"input\": [4, %d, %d],\n"
             " \"kinds\": {\"shapes\": {\"count\": %d, \"targets\": [\"red\", \"cx\", \"cy\"], "
             "\"classes\": [\"small\", \"large\"]},\n"
             "           \"other\": {\"count\": 0, \"targets\": []}},\n"
             " \"shards\": [{\"file\": \"shards/shapes-00000.st\", \"kind\": \"shapes\", \"first\": 0, \"count\": %d},\n"
             "            {\"file\": \"shards/shapes-00001.st\", \"kind\": \"shapes\", \"first\": %d, \"count\": %d},\n"
             "            {\"file\": \"shards/shapes-00002.st\", \"kind\": \"shapes\", \"first\": %d, \"count\": %d}]}\n",
             S, S, N_SHARDS * PER_SHARD, PER_SHARD, PER_SHARD, PER_SHARD, 2 * PER_SHARD, PER_SHARD);
    snprintf(p, sizeof p, "%s/index.json", dir);
    CHECK(fs_write_atomic(p, idx, strlen(idx)) == TRYON_OK);
}

static const char *model_yaml =
    "name: tiny_train\n"
    "template: resnet_encoder\n"
    "input: {name: image, channels: 4, size: 32}\n"
    "stem: {channels: 8, kernel: 3, stride: 1, maxpool: true}\n"
    "width: 8\n"
    "stages: [1, 1]\n"
    "features: 16\n"
    "heads:\n"
    "  reg: 3\n"
    "  category: 2\n";

/* The training config; `losses` replaces the default loss list when not NULL. */
static void write_cfg(const char *rel, const char *extra, const char *losses)
{
    char text[2048];
    snprintf(text, sizeof text,
             "name: tiny_train_test\n"
             "model: model.yaml\n"
             "data: data\n"
             "kind: shapes\n"
             "seed: 3\n"
             "batch: 16\n"
             "steps: 60\n"
             "lr: {max: 5.0e-3, min: 1.0e-4, warmup: 5}\n"
             "weight_decay: 1.0e-4\n"
             "checkpoint_every: 20\n"
             "val_shards: 1\n"
             "bucket_mb: 0.01\n"
             "%s"
             "losses:\n%s",
             extra ? extra : "",
             losses ? losses
                    : "  - {output: reg, type: mse, targets: [red, cx, cy], weight: 1.0}\n"
                      "  - {output: category, type: softmax_ce, weight: 0.5}\n");
    write_text(rel, text);
}

/* One single-process run into OUT=root/out; stop_after as in nn_train_opts. */
static enum tryon_status run1(const struct nn_train_cfg *c, const char *out, int threads, int stop_after,
                              struct nn_train_result *res)
{
    char o[1024];
    path_of(o, sizeof o, out);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, threads);
    struct nn_train_opts opts = {.out_dir = o, .log = NULL, .stop_after = stop_after};
    enum tryon_status s = nn_train_run(c, NULL, ctx, &opts, res);
    kern_destroy(ctx);
    return s;
}

/* ----- error cases --------------------------------------------------------------------*/
/* Load (and, when the config parses, run) a config; the message must hold `want`. */
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
    /* unknown key: line 13 (after the 12 fixed lines) */
    write_cfg("bad1.yaml", "batchsize: 3\n", NULL);
    snprintf(want, sizeof want, "%s/bad1.yaml:13", root);
    expect_error("bad1.yaml", want);
    /* a loss on an output the model lacks: the loss entry's line (14) */
    write_cfg("bad2.yaml", NULL, "  - {output: reg, type: mse, targets: [red, cx, cy]}\n"
                                 "  - {output: colour, type: mse, targets: [red]}\n");
    snprintf(want, sizeof want, "%s/bad2.yaml:15: model 'tiny_train' has no output 'colour'", root);
    expect_error("bad2.yaml", want);
    /* head units do not match the targets */
    write_cfg("bad3.yaml", NULL, "  - {output: reg, type: mse, targets: [red, cx]}\n");
    snprintf(want, sizeof want, "%s/bad3.yaml:14: output 'reg' of model 'tiny_train' has 3 units", root);
    expect_error("bad3.yaml", want);
    /* a target the dataset does not have */
    write_cfg("bad4.yaml", NULL, "  - {output: reg, type: mse, targets: [red, cx, cz]}\n");
    snprintf(want, sizeof want, "%s/bad4.yaml:14: target 'cz' is not in the 'shapes' data", root);
    expect_error("bad4.yaml", want);
    /* bad value type */
    write_cfg("bad5.yaml", "log_every: often\n", NULL);
    snprintf(want, sizeof want, "%s/bad5.yaml:13", root);
    expect_error("bad5.yaml", want);
    /* batch that does not fit the data: 200 > 80 training samples */
    write_cfg("bad6.yaml", NULL, NULL);
    size_t len;
    uint8_t *b = read_file("bad6.yaml", &len);
    char *at = b ? strstr((char *)b, "batch: 16") : NULL;
    if (at) {
        memcpy(at, "batch: 99", 9);
        write_text("bad6.yaml", (char *)b);
    }
    free(b);
    snprintf(want, sizeof want, "%s/bad6.yaml:6: batch 99 is larger than the 80 training samples", root);
    expect_error("bad6.yaml", want);

    /* a missing shard is named */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -r %s/data %s/data_broken && rm %s/data_broken/shards/shapes-00001.st", root, root,
             root);
    CHECK(system(cmd) == 0);
    write_cfg("bad7.yaml", NULL, NULL);
    b = read_file("bad7.yaml", &len);
    at = b ? strstr((char *)b, "data: data\n") : NULL;
    if (at) {
        char fixed[2048];
        snprintf(fixed, sizeof fixed, "%.*sdata: data_broken\n%s", (int)(at - (char *)b), (char *)b,
                 at + strlen("data: data\n"));
        write_text("bad7.yaml", fixed);
    }
    free(b);
    expect_error("bad7.yaml", "shards/shapes-00001.st");
    /* overlapping shards are refused; gaps (images a shard left out) are not */
    snprintf(cmd, sizeof cmd, "sed -i 's|\"first\": 40|\"first\": 30|' %s/data_broken/index.json", root);
    CHECK(system(cmd) == 0);
    expect_error("bad7.yaml", "index.json: shards[1]: first is 30, inside the previous 'shapes' shard");
    snprintf(cmd, sizeof cmd, "cp -r %s/data %s/data_gap && sed -i -e 's|\"first\": 40|\"first\": 45|' "
             "-e 's|\"first\": 80|\"first\": 99|' %s/data_gap/index.json", root, root, root);
    CHECK(system(cmd) == 0);
    struct nn_data *d = NULL;
    path_of(cmd, sizeof cmd, "data_gap");
    enum tryon_status s = nn_data_open(cmd, "shapes", 1, &d);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (d)
        CHECK_EQ_INT(nn_data_count(d, NN_SPLIT_TRAIN), 80);
    nn_data_free(d);
    /* a shard outside the folder and a bad format are named in index.json */
    snprintf(cmd, sizeof cmd, "sed -i 's|shards/shapes-00000.st|../x.st|' %s/data_broken/index.json", root);
    CHECK(system(cmd) == 0);
    expect_error("bad7.yaml", "index.json: shards[0]: file '../x.st' is not inside");
    snprintf(cmd, sizeof cmd, "sed -i 's|tryon-shards-1|tryon-shards-9|' %s/data_broken/index.json", root);
    CHECK(system(cmd) == 0);
    expect_error("bad7.yaml", "index.json: \"format\" must be");
}

static void test_schedule_and_perm(const struct nn_train_cfg *c)
{
    CHECK_NEAR(nn_train_lr(c, 1), 1.0e-3, 1e-12);       /* 5e-3 * 1/5 */
    CHECK_NEAR(nn_train_lr(c, 5), 5.0e-3, 1e-12);
    CHECK_NEAR(nn_train_lr(c, 60), 1.0e-4, 1e-12);
    CHECK_NEAR(nn_train_lr(c, 33), 1.0e-4 + 0.5 * 4.9e-3 * (1.0 + cos(3.14159265358979323846 * 28.0 / 55.0)), 1e-12);
    int32_t a[100], b[100], seen[100] = {0};
    nn_data_permutation(3, 0, 100, a);
    nn_data_permutation(3, 1, 100, b);
    for (int i = 0; i < 100; i++)
        if (a[i] >= 0 && a[i] < 100)
            seen[a[i]]++;
    int ok = 1, same = 1;
    for (int i = 0; i < 100; i++)
        ok &= seen[i] == 1, same &= a[i] == b[i];
    CHECK(ok);
    CHECK(!same);
    nn_data_permutation(3, 1, 100, a);
    CHECK(memcmp(a, b, sizeof a) == 0);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/tryon-train-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    char p[1024];
    path_of(p, sizeof p, "data");
    write_dataset(p);
    write_text("model.yaml", model_yaml);
    write_cfg("train.yaml", NULL, NULL);
    struct nn_train_cfg *c = load_cfg("train.yaml");
    if (!c)
        return check_result("test_nn_train");
    test_schedule_and_perm(c);

    /* the dataset as read back */
    struct nn_data *d = NULL;
    CHECK(nn_data_open(p, "shapes", 1, &d) == TRYON_OK);
    if (d) {
        CHECK_EQ_INT(nn_data_count(d, NN_SPLIT_TRAIN), 80);
        CHECK_EQ_INT(nn_data_count(d, NN_SPLIT_VAL), 40);
        CHECK_EQ_INT(nn_data_side(d), S);
        CHECK_EQ_INT(nn_data_target_index(d, "cy"), 2);
        CHECK(isnan(nn_data_target(d, NN_SPLIT_TRAIN, 5)[2]));
        CHECK_STR(nn_data_class_name(d, 1), "large");
        nn_data_free(d);
    }

    /* A: uninterrupted, 2 threads */
    struct nn_train_result ra, rb, rc, rd;
    enum tryon_status s = run1(c, "out_a", 2, 0, &ra);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    fprintf(stderr, "run A: first loss %.4f, last %.4f, val %.4f, %.0f samples/s\n", ra.first_loss, ra.last_loss,
            ra.val_loss, ra.samples_per_s);
    CHECK_EQ_INT(ra.steps_done, 60);
    CHECK(ra.val_loss < 0.5 * ra.first_loss);
    CHECK(ra.last_loss < 0.5 * ra.first_loss);
    CHECK(exists("out_a/ckpt-000060/DONE") && exists("out_a/ckpt-000040/DONE"));
    CHECK(exists("out_a/ckpt-000040/optim.safetensors") && exists("out_a/ckpt-000040/state.json"));
    CHECK(!exists("out_a/ckpt-000020"));
    struct nn_st_file *f = NULL;
    path_of(p, sizeof p, "out_a/model.safetensors");
    CHECK(nn_st_read(p, 0, &f) == TRYON_OK);
    if (f) {
        CHECK_STR(nn_st_meta(f, "tryon_model_version"), NN_MODEL_VERSION);
        CHECK_STR(nn_st_meta(f, "model"), "tiny_train");
        CHECK_STR(nn_st_meta(f, "kind"), "shapes");
        CHECK_STR(nn_st_meta(f, "input"), "4x32x32");
        CHECK_CONTAINS(nn_st_meta(f, "output.reg"), "\"targets\":[\"red\",\"cx\",\"cy\"],\"means\":[");
        CHECK_CONTAINS(nn_st_meta(f, "output.reg"), "\"stds\":[");
        CHECK_STR(nn_st_meta(f, "output.category"), "{\"type\":\"softmax_ce\",\"classes\":[\"small\",\"large\"]}");
        nn_st_free(f);
    }
    /* B: the same, 1 thread: same bytes */
    s = run1(c, "out_b", 1, 0, &rb);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK(same_file("out_a/model.safetensors", "out_b/model.safetensors"));
    CHECK_STR(ra.params_sha256, rb.params_sha256);

    /* C: killed after step 45, resumed from 40 */
    s = run1(c, "out_c", 2, 45, &rc);
    CHECK_EQ_INT(s, TRYON_EINTERRUPTED);
    CHECK(exists("out_c/ckpt-000040/DONE") && !exists("out_c/model.safetensors"));
    s = run1(c, "out_c", 2, 0, &rc);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK_EQ_INT(rc.start_step, 40);
    CHECK(same_file("out_a/model.safetensors", "out_c/model.safetensors"));

    /* D: killed after 45, and checkpoint 40 lost its DONE: resumes from 20 */
    s = run1(c, "out_d", 1, 45, &rd);
    CHECK_EQ_INT(s, TRYON_EINTERRUPTED);
    path_of(p, sizeof p, "out_d/ckpt-000040/DONE");
    CHECK(unlink(p) == 0);
    s = run1(c, "out_d", 1, 0, &rd);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    CHECK_EQ_INT(rd.start_step, 20);
    CHECK(same_file("out_a/model.safetensors", "out_d/model.safetensors"));

    /* E: 2 ranks over threads: every rank ends with the same parameters */
    struct rank_job jobs[W];
    run_ranks(c, "out_dp", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[1].status, TRYON_OK);
    CHECK_STR(jobs[0].res.params_sha256, jobs[1].res.params_sha256);
    CHECK(jobs[0].res.val_loss < 0.5 * jobs[0].res.first_loss);
    CHECK(exists("out_dp/model.safetensors"));
    fprintf(stderr, "2 ranks: first loss %.4f, val %.4f\n", jobs[0].res.first_loss, jobs[0].res.val_loss);
    /* F: 2 ranks stopped after 45 and resumed from 40 (BN statistics averaged at 20 and 40
       in both runs): the same bytes as E */
    run_ranks(c, "out_dp2", 45, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_EINTERRUPTED);
    CHECK_EQ_INT(jobs[1].status, TRYON_EINTERRUPTED);
    run_ranks(c, "out_dp2", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[1].res.start_step, 40);
    CHECK_STR(jobs[0].res.params_sha256, jobs[1].res.params_sha256);
    CHECK(same_file("out_dp/model.safetensors", "out_dp2/model.safetensors"));
    /* G: a signal (the flag set from the start) stops both ranks after step 1 with a
       checkpoint off the checkpoint_every grid; resumed, the same bytes as E */
    static volatile sig_atomic_t stop_now = 1;
    run_ranks(c, "out_dp3", 0, &stop_now, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_EINTERRUPTED);
    CHECK_EQ_INT(jobs[1].status, TRYON_EINTERRUPTED);
    CHECK(exists("out_dp3/ckpt-000001/DONE"));
    run_ranks(c, "out_dp3", 0, NULL, jobs);
    CHECK_EQ_INT(jobs[0].status, TRYON_OK);
    CHECK_EQ_INT(jobs[0].res.start_step, 1);
    CHECK(same_file("out_dp/model.safetensors", "out_dp3/model.safetensors"));
    /* the BN statistics of step 40 too (by step 60 a rounding difference has decayed) */
    CHECK(same_file("out_dp/ckpt-000040/model.safetensors", "out_dp3/ckpt-000040/model.safetensors"));

    test_errors();
    nn_train_cfg_free(c);
    if (!check_failures) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        CHECK(system(cmd) == 0);
    }
    return check_result("test_nn_train");
}
