/* test_nn_unet.c: the unet template, nn_cfg_set_input_size and the l1_image loss (the
 * denoiser's network and training, worker/denoise.c).
 * - A tiny U-Net (input 2x16x16, levels [4, 8, 8], output 1 channel) expands into the named
 *   layers of the template with 4655 parameters (counted by hand below) and a 1x16x16 output.
 * - Its YAML errors name the line: no levels, a size that does not divide by 2^(levels-1),
 *   a level out of range.
 * - nn_cfg_set_input_size: 24x40 gives a 1x24x40 output; 22x40 is refused (the skip
 *   connection's sizes no longer match); a resnet encoder is refused as not fully
 *   convolutional.
 * - Fully convolutional: the same weights on a 128x128 input that holds a 64x64 input at
 *   (32, 32) give the same outputs as the 64x64 model on that input, within 1e-5, wherever
 *   the 64x64 model's zero padding cannot reach (more than the receptive field, 24 pixels,
 *   from its border).
 * - tryon train with an l1_image loss on 2-channel inputs (a noisy smooth image and its
 *   noise level) and 1-channel clean targets: the validation L1 ends below half the L1 of
 *   the noisy input itself (it learned to denoise), and the final weights say "l1_image".
 * - Config errors: flip with an l1_image loss, two l1_image losses, 'image' on an mse loss, an
 *   l1_image loss without 'image', an output whose shape is not the dataset image's.
 * - With a GPU (scripts/gpu-check.sh): the 64x64 U-Net's forward on CUDA equals the CPU's
 *   within 1e-4, and the training above on CUDA (one rank: NCCL's allreduce where the build
 *   has NCCL) reaches the same bar. Without one the CUDA checks say they were skipped.
 * usage: test_nn_unet (writes under a fresh folder in $TMPDIR or /tmp) */
#include "nn_train_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *tiny_unet = "name: tiny_unet\n"
                               "template: unet\n"
                               "input: {name: image, channels: 2, size: 16}\n"
                               "levels: [4, 8, 8]\n"
                               "output: {name: clean, channels: 1}\n";

static void test_expand(void)
{
    struct nn_cfg *cfg = NULL;
    CHECK(nn_cfg_from_string(tiny_unet, "tiny_unet.yaml", &cfg) == TRYON_OK);
    static const char *const names[] = {
        "image", "enc0.conv1", "enc0.relu1", "enc0.conv2", "enc0.relu2", "enc1.pool", "enc1.conv1", "enc1.relu1",
        "enc1.conv2", "enc1.relu2", "enc2.pool", "enc2.conv1", "enc2.relu1", "enc2.conv2", "enc2.relu2", "dec1.up",
        "dec1.cat", "dec1.conv1", "dec1.relu1", "dec1.conv2", "dec1.relu2", "dec0.up", "dec0.cat", "dec0.conv1",
        "dec0.relu1", "dec0.conv2", "dec0.relu2", "out.cat", "out.conv"};
    int n = (int)(sizeof names / sizeof names[0]);
    CHECK_EQ_INT(cfg->n_layers, n);
    for (int i = 0; i < n && i < cfg->n_layers; i++)
        CHECK_MSG(!strcmp(cfg->layers[i].name, names[i]), "layer %d is %s, not %s", i, cfg->layers[i].name, names[i]);
    CHECK(cfg->n_outputs == 1 && !strcmp(cfg->outputs[0].name, "clean"));
    const struct nn_layer *o = &cfg->layers[cfg->outputs[0].layer];
    CHECK(o->c == 1 && o->h == 16 && o->w == 16);
    CHECK(cfg->layers[16].c == 16 && cfg->layers[16].h == 8);   /* dec1.cat: 8 up + 8 skip at 8x8 */
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    struct nn_model *m = NULL;
    CHECK(nn_model_create(cfg, ctx, 1, NN_MODE_INFER, &m) == TRYON_OK);
    size_t np = 0;
    nn_model_param_arena(m, &np);
    /* weights + biases: enc0 2*4*9+4 + 4*4*9+4 = 224; enc1 4*8*9+8 + 8*8*9+8 = 880;
       enc2 584 + 584 = 1168; dec1 16*8*9+8 + 584 = 1744; dec0 12*4*9+4 + 148 = 584;
       out (4 + 2 input channels)*1*9+1 = 55 */
    CHECK_EQ_INT((long long)np, 4655);
    nn_model_free(m);
    kern_destroy(ctx);

    /* resizing */
    CHECK(nn_cfg_set_input_size(cfg, 24, 40) == TRYON_OK);
    o = &cfg->layers[cfg->outputs[0].layer];
    CHECK(o->c == 1 && o->h == 24 && o->w == 40);
    CHECK(nn_cfg_set_input_size(cfg, 22, 40) < 0);
    CHECK_CONTAINS(tryon_errmsg(), "concatenating");
    nn_cfg_free(cfg);
    const char *enc = "name: e\ntemplate: resnet_encoder\ninput: {name: image, channels: 4, size: 32}\n"
                      "width: 8\nstages: [1]\nfeatures: 8\n";
    CHECK(nn_cfg_from_string(enc, "e.yaml", &cfg) == TRYON_OK);
    CHECK(nn_cfg_set_input_size(cfg, 64, 64) < 0);
    CHECK_CONTAINS(tryon_errmsg(), "not fully convolutional");
    nn_cfg_free(cfg);

    /* YAML errors */
    static const struct { const char *yaml, *want; } bad[] = {
        {"name: u\ntemplate: unet\ninput: {name: image, channels: 2, size: 16}\noutput: {name: clean, channels: 1}\n",
         "u.yaml:1: missing key 'levels'"},
        {"name: u\ntemplate: unet\ninput: {name: image, channels: 2, size: 18}\nlevels: [4, 8, 8]\n"
         "output: {name: clean, channels: 1}\n",
         "u.yaml:3: input size 18 does not divide by 2^2"},
        {"name: u\ntemplate: unet\ninput: {name: image, channels: 2, size: 16}\nlevels: [4, 0]\n"
         "output: {name: clean, channels: 1}\n",
         "u.yaml:4: levels[1] = 0 outside [1, 4096]"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(nn_cfg_from_string(bad[k].yaml, "u.yaml", &cfg) < 0);
        CHECK_CONTAINS(tryon_errmsg(), bad[k].want);
    }
}

/* Same weights, a 64x64 input and a 128x128 input holding it at (32, 32). */
static void test_translation(void)
{
    const char *yaml = "name: tu\ntemplate: unet\ninput: {name: image, channels: 2, size: 64}\nlevels: [4, 8, 8]\n"
                       "output: {name: clean, channels: 1}\n";
    struct nn_cfg *small = NULL, *big = NULL;
    CHECK(nn_cfg_from_string(yaml, "tu.yaml", &small) == TRYON_OK);
    CHECK(nn_cfg_from_string(yaml, "tu.yaml", &big) == TRYON_OK);
    CHECK(nn_cfg_set_input_size(big, 128, 128) == TRYON_OK);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    struct nn_model *ms = NULL, *mb = NULL;
    CHECK(nn_model_create(small, ctx, 1, NN_MODE_INFER, &ms) == TRYON_OK);
    CHECK(nn_model_create(big, ctx, 1, NN_MODE_INFER, &mb) == TRYON_OK);
    nn_model_init_params(ms, 5);
    size_t n1 = 0, n2 = 0;
    float *p1 = nn_model_param_arena(ms, &n1), *p2 = nn_model_param_arena(mb, &n2);
    CHECK(n1 == n2);
    float *hp = malloc(n1 * sizeof *hp);
    kern_download(ctx, hp, p1, n1);
    kern_upload(ctx, p2, hp, n1);
    free(hp);
    float *in_s = calloc(2 * 64 * 64, sizeof *in_s), *in_b = calloc(2 * 128 * 128, sizeof *in_b);
    struct rng r;
    rng_seed(&r, 9);
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 128; y++)
            for (int x = 0; x < 128; x++) {
                float v = rng_float(&r) * 2.0f - 1.0f;
                in_b[(c * 128 + y) * 128 + x] = v;
                if (x >= 32 && x < 96 && y >= 32 && y < 96)
                    in_s[(c * 64 + y - 32) * 64 + x - 32] = v;
            }
    nn_model_set_input(ms, "image", in_s, 2 * 64 * 64);
    nn_model_set_input(mb, "image", in_b, 2 * 128 * 128);
    nn_model_forward(ms, 1, false);
    nn_model_forward(mb, 1, false);
    float *os = malloc(64 * 64 * sizeof *os), *ob = malloc(128 * 128 * sizeof *ob);
    nn_model_get_output(ms, "clean", os, 64 * 64);
    nn_model_get_output(mb, "clean", ob, 128 * 128);
    double worst = 0;
    for (int y = 24; y < 40; y++)
        for (int x = 24; x < 40; x++)
            worst = fmax(worst, fabs((double)os[y * 64 + x] - (double)ob[(y + 32) * 128 + x + 32]));
    CHECK_MSG(worst < 1e-5, "interior outputs differ by %g", worst);
    free(in_s), free(in_b), free(os), free(ob);
    nn_model_free(ms);
    nn_model_free(mb);
    nn_cfg_free(small);
    nn_cfg_free(big);
    kern_destroy(ctx);
}

#define S 16
#define PER_SHARD 48
#define N_SHARDS 3

/* Smooth images (a gradient and a blob) with Gaussian noise of a drawn level: input
   (noisy, level), image "clean" (the smooth image), one target column "level". Returns the
   mean |noisy - clean| in network units (byte / 127.5) over the validation shard. */
static double write_denoise_data(const char *dir)
{
    struct rng r;
    rng_seed(&r, 17);
    double l1_val = 0;
    for (int sh = 0; sh < N_SHARDS; sh++) {
        uint8_t *in = malloc((size_t)PER_SHARD * 2 * S * S), *cl = malloc((size_t)PER_SHARD * S * S);
        float lv[PER_SHARD];
        for (int i = 0; i < PER_SHARD; i++) {
            float a = rng_float(&r), b = rng_float(&r), cx = rng_float(&r) * S, cy = rng_float(&r) * S;
            float sigma = 10.0f + 30.0f * rng_float(&r);
            lv[i] = sigma;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    float d2 = ((float)x - cx) * ((float)x - cx) + ((float)y - cy) * ((float)y - cy);
                    float v = 40.0f + 120.0f * a * (float)x / S + 90.0f * b * expf(-d2 / 18.0f);
                    float nz = v + sigma * rng_normal(&r);
                    uint8_t c8 = (uint8_t)lrintf(v), n8 = (uint8_t)lrintf(fminf(fmaxf(nz, 0.0f), 255.0f));
                    size_t o = (size_t)y * S + (size_t)x;
                    cl[(size_t)i * S * S + o] = c8;
                    in[(size_t)i * 2 * S * S + o] = n8;
                    in[(size_t)i * 2 * S * S + (size_t)S * S + o] = (uint8_t)lrintf(sigma * 4.0f);
                    if (sh == N_SHARDS - 1)
                        l1_val += fabs((double)n8 - (double)c8) / 127.5;
                }
        }
        struct nn_st_writer *w = nn_st_writer_create();
        int64_t si[4] = {PER_SHARD, 2, S, S}, st[2] = {PER_SHARD, 1}, sc[4] = {PER_SHARD, 1, S, S};
        CHECK(nn_st_add(w, "input", NN_U8, 4, si, in) == TRYON_OK);
        CHECK(nn_st_add(w, "target", NN_F32, 2, st, lv) == TRYON_OK);
        CHECK(nn_st_add(w, "clean", NN_U8, 4, sc, cl) == TRYON_OK);
        char p[2048];
        snprintf(p, sizeof p, "%s/shards/denoise-%05d.st", dir, sh);
        CHECK(fs_mkdirs_parent(p) == TRYON_OK);
        CHECK(nn_st_write(w, p) == TRYON_OK);
        nn_st_writer_free(w);
        free(in);
        free(cl);
    }
    char idx[2048], p[2048];
    snprintf(idx, sizeof idx,
             "{\"format\": \"tryon-shards-1\", \"seed\": 17, \"hold_out\": false, \"input\": [2, %d, %d],\n"
             " \"kinds\": {\"denoise\": {\"count\": %d, \"targets\": [\"level\"], \"clean\": [1, %d, %d]}},\n"
             " \"shards\": [{\"file\": \"shards/denoise-00000.st\", \"kind\": \"denoise\", \"first\": 0, \"count\": %d},\n"
             "            {\"file\": \"shards/denoise-00001.st\", \"kind\": \"denoise\", \"first\": %d, \"count\": %d},\n"
             "            {\"file\": \"shards/denoise-00002.st\", \"kind\": \"denoise\", \"first\": %d, \"count\": %d}]}\n",
             S, S, N_SHARDS * PER_SHARD, S, S, PER_SHARD, PER_SHARD, PER_SHARD, 2 * PER_SHARD, PER_SHARD);
    snprintf(p, sizeof p, "%s/index.json", dir);
    CHECK(fs_write_atomic(p, idx, strlen(idx)) == TRYON_OK);
    return l1_val / ((double)PER_SHARD * S * S);
}

static void write_train_cfg(const char *rel, const char *model, const char *extra, const char *losses)
{
    char text[2048];
    snprintf(text, sizeof text,
             "name: unet_test\nmodel: %s\ndata: data\nkind: denoise\nseed: 4\nbatch: 8\nsteps: 150\n"
             "lr: {max: 4.0e-3, min: 1.0e-4, warmup: 10}\nweight_decay: 0\ncheckpoint_every: 150\n"
             "val_shards: 1\nbucket_mb: 0.01\nlog_every: 50\n%slosses:\n%s",
             model, extra ? extra : "", losses ? losses : "  - {output: clean, type: l1_image, image: clean}\n");
    write_text(rel, text);
}

/* Train the denoise config on ctx into OUT=root/<out>; the validation L1 it reaches. */
static double train_on(struct kern_ctx *ctx, const char *outrel, double l1_noisy)
{
    struct nn_train_cfg *c = load_cfg("train.yaml");
    char out[1024];
    path_of(out, sizeof out, outrel);
    struct nn_train_opts opts = {.out_dir = out};
    struct nn_train_result res = {0};
    enum tryon_status s = c ? nn_train_run(c, NULL, ctx, &opts, &res) : TRYON_EINVAL;
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    fprintf(stderr, "unet l1_image (%s): first loss %.4f, validation L1 %.4f, noisy input's L1 %.4f\n", outrel,
            res.first_loss, res.val_loss, l1_noisy);
    CHECK_MSG(res.val_loss < 0.5 * l1_noisy, "validation L1 %.4f vs the noisy input's %.4f", res.val_loss, l1_noisy);
    nn_train_cfg_free(c);
    return res.val_loss;
}

static void test_cuda(double l1_noisy)
{
    struct kern_info info;
    kern_query(&info);
    if (!info.cuda_built || info.cuda_devices == 0) {
        fprintf(stderr, "test_nn_unet: no GPU here: CUDA checks skipped\n");
        return;
    }
    const char *yaml = "name: tu\ntemplate: unet\ninput: {name: image, channels: 2, size: 64}\nlevels: [4, 8, 8]\n"
                       "output: {name: clean, channels: 1}\n";
    struct nn_cfg *cfg = NULL;
    CHECK(nn_cfg_from_string(yaml, "tu.yaml", &cfg) == TRYON_OK);
    struct kern_ctx *cpu = kern_create(KERN_BACKEND_CPU, 1), *gpu = kern_create(KERN_BACKEND_CUDA, 0);
    CHECK_MSG(gpu != NULL, "%s", tryon_errmsg());
    struct nn_model *mc = NULL, *mg = NULL;
    CHECK(nn_model_create(cfg, cpu, 1, NN_MODE_INFER, &mc) == TRYON_OK);
    CHECK(gpu && nn_model_create(cfg, gpu, 1, NN_MODE_INFER, &mg) == TRYON_OK);
    if (mc && mg) {
        nn_model_init_params(mc, 5);
        nn_model_init_params(mg, 5);
        float *in = malloc(2 * 64 * 64 * sizeof *in), *oc = malloc(64 * 64 * sizeof *oc), *og = malloc(64 * 64 * sizeof *og);
        struct rng r;
        rng_seed(&r, 3);
        for (int i = 0; i < 2 * 64 * 64; i++)
            in[i] = rng_float(&r) * 2.0f - 1.0f;
        nn_model_set_input(mc, "image", in, 2 * 64 * 64);
        nn_model_set_input(mg, "image", in, 2 * 64 * 64);
        nn_model_forward(mc, 1, false);
        nn_model_forward(mg, 1, false);
        nn_model_get_output(mc, "clean", oc, 64 * 64);
        nn_model_get_output(mg, "clean", og, 64 * 64);
        double worst = 0;
        for (int i = 0; i < 64 * 64; i++)
            worst = fmax(worst, fabs((double)oc[i] - (double)og[i]));
        fprintf(stderr, "unet forward: CUDA vs CPU worst difference %g\n", worst);
        CHECK_MSG(worst < 1e-4, "CUDA vs CPU forward differ by %g", worst);
        free(in), free(oc), free(og);
    }
    nn_model_free(mc);
    nn_model_free(mg);
    nn_cfg_free(cfg);
    if (gpu)
        train_on(gpu, "out_cuda", l1_noisy);
    kern_destroy(cpu);
    kern_destroy(gpu);
}

static void test_train(void)
{
    char dir[1024];
    path_of(dir, sizeof dir, "data");
    double l1_noisy = write_denoise_data(dir);
    write_text("model.yaml", "name: tu\ntemplate: unet\ninput: {name: image, channels: 2, size: 16}\n"
                             "levels: [8, 16]\noutput: {name: clean, channels: 1}\n");
    write_text("model3.yaml", "name: tu3\ntemplate: unet\ninput: {name: image, channels: 2, size: 16}\n"
                              "levels: [8, 16]\noutput: {name: clean, channels: 3}\n");
    write_train_cfg("train.yaml", "model.yaml", NULL, NULL);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 2);
    train_on(ctx, "out", l1_noisy);
    kern_destroy(ctx);
    char out[1024];
    path_of(out, sizeof out, "out");
    struct nn_st_file *f = NULL;
    char mp[1100];
    snprintf(mp, sizeof mp, "%s/model.safetensors", out);
    CHECK(nn_st_read(mp, 0, &f) == TRYON_OK);
    const char *head = f ? nn_st_meta(f, "output.clean") : NULL;
    CHECK(head && strstr(head, "\"l1_image\"") && strstr(head, "\"image\":\"clean\""));
    CHECK(f && !strcmp(nn_st_meta(f, "input"), "2x16x16"));
    nn_st_free(f);
    test_cuda(l1_noisy);
    struct nn_train_result res;
    enum tryon_status s;

    /* config errors */
    static const struct { const char *extra, *losses, *model, *want; } bad[] = {
        {"augment: {flip: true}\n", NULL, "model.yaml", "set flip: false"},
        {NULL, "  - {output: clean, type: l1_image, image: clean}\n  - {output: image, type: l1_image, image: clean}\n",
         "model.yaml", "a second l1_image loss"},
        {NULL, "  - {output: clean, type: mse, targets: [level], image: clean}\n", "model.yaml",
         "only an l1_image loss takes 'image'"},
        {NULL, "  - {output: clean, type: l1_image}\n", "model.yaml", "it needs 'image'"},
        {NULL, NULL, "model3.yaml", "output 'clean' of model 'tu3' is 3x16x16, the dataset's 'clean' is 1x16x16"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_train_cfg("bad.yaml", bad[k].model, bad[k].extra, bad[k].losses);
        char p[1024];
        path_of(p, sizeof p, "bad.yaml");
        struct nn_train_cfg *bc = NULL;
        s = nn_train_cfg_load(p, &bc);
        if (s == TRYON_OK) {
            struct kern_ctx *c1 = kern_create(KERN_BACKEND_CPU, 1);
            char o2[1024];
            path_of(o2, sizeof o2, "out_bad");
            struct nn_train_opts o = {.out_dir = o2};
            s = nn_train_run(bc, NULL, c1, &o, &res);
            kern_destroy(c1);
            nn_train_cfg_free(bc);
        }
        CHECK(s < 0);
        CHECK_CONTAINS(tryon_errmsg(), bad[k].want);
    }
}

int main(void)
{
    test_expand();
    test_translation();
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/tryon-unet-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        fprintf(stderr, "cannot create a temporary folder\n");
        return 1;
    }
    test_train();
    if (!check_failures) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        CHECK(system(cmd) == 0);
    }
    return check_result("test_nn_unet");
}
