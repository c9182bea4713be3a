/* test_nn_config.c: the model YAMLs of configs/models/ and the template expansion.
 * - the four shipped models expand to the layer names the safetensors files use, with the
 *   output shapes, and exactly the trainable/buffer element counts of their PyTorch twins
 *   in tests/golden/make_golden.py (counted with torch: body_encoder 11332307 + 9600,
 *   garment_encoder 2837214 + 4800, body_generator 5447686 + 2048, body_discriminator
 *   6984465 + 2816);
 * - malformed descriptions fail with TRYON_EINVAL and name the file and line.
 * usage: test_nn_config CONFIG_DIR */
#include "nn_test_util.h"

#include <string.h>

static const char *dir;

static int find_layer(const struct nn_cfg *c, const char *name)
{
    for (int i = 0; i < c->n_layers; i++)
        if (strcmp(c->layers[i].name, name) == 0)
            return i;
    return -1;
}

static void check_model(const char *file, size_t n_train, size_t n_buf, const char *const *layers,
                        const char *out, int oc, int oh)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    struct nn_cfg *c = NULL;
    enum tryon_status s = nn_cfg_load(path, &c);
    CHECK_MSG(s == TRYON_OK, "%s", tryon_errmsg());
    if (!c)
        return;
    for (int i = 0; layers[i]; i++)
        CHECK_MSG(find_layer(c, layers[i]) >= 0, "%s: no layer %s", file, layers[i]);
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_REF, 1);
    struct nn_model *m = NULL;
    CHECK(nn_model_create(c, ctx, 1, NN_MODE_INFER, &m) == TRYON_OK);
    if (m) {
        size_t all;
        nn_model_param_arena(m, &all);
        CHECK_EQ_INT(nn_model_numel_trainable(m), n_train);
        CHECK_EQ_INT(all - n_train, n_buf);
        int ch, h, w;
        CHECK(nn_model_tensor_shape(m, out, &ch, &h, &w));
        CHECK_EQ_INT(ch, oc);
        CHECK_EQ_INT(h, oh);
        CHECK_EQ_INT(w, oh);
        nn_model_free(m);
    }
    kern_destroy(ctx);
    nn_cfg_free(c);
}

static void expect_bad(const char *yaml, const char *needle)
{
    struct nn_cfg *c = NULL;
    enum tryon_status s = nn_cfg_from_string(yaml, "bad.yaml", &c);
    CHECK_MSG(s == TRYON_EINVAL, "accepted (%d): %s", s, yaml);
    CHECK(c == NULL);
    CHECK_CONTAINS(tryon_errmsg(), "bad.yaml:");
    CHECK_CONTAINS(tryon_errmsg(), needle);
    nn_cfg_free(c);
}

int main(int argc, char **argv)
{
    dir = argc > 1 ? argv[1] : "configs/models";
    static const char *const enc[] = {"image", "stem.conv", "stem.bn", "stem.pool", "layer1.0.conv1", "layer1.1.bn2",
                                      "layer2.0.downsample.0", "layer2.0.downsample.1", "layer4.1.relu", "fc",
                                      "head.beta", "head.theta", "head.camera", NULL};
    check_model("body_encoder.yaml", 11332307, 9600, enc, "theta", 72, 1);
    static const char *const genc[] = {"layer3.0.downsample.0", "head.category", "head.landmarks", NULL};
    check_model("garment_encoder.yaml", 2837214, 4800, genc, "features", 128, 1);
    static const char *const gen[] = {"features", "noise", "concat", "up0.convt", "up4.bn", "out.convt", NULL};
    check_model("body_generator.yaml", 5447686, 2048, gen, "image", 6, 128);
    static const char *const dis[] = {"cond.proj", "cond.tile", "down0.conv", "down4.bn", "out.conv", NULL};
    check_model("body_discriminator.yaml", 6984465, 2816, dis, "logit", 1, 1);

    expect_bad("name: a\ntemplate: resnet_encoder\ninput: {channels: 3, size: 32}\nwidth: 8\nstages: [1]\n"
               "features: 4\nwidht: 3\n", ":7: unknown key 'widht'");
    expect_bad("name: a\ntemplate: mlp\n", ":2: unknown template 'mlp'");
    expect_bad("name: a\ntemplate: resnet_encoder\ninput: {channels: 3, size: 32}\nwidth: 8\nstages: []\n"
               "features: 4\n", "stages needs 1..8");
    expect_bad("name: a\ntemplate: resnet_encoder\ninput: {channels: 3, size: 32}\nwidth: 8\nstages: [1]\n"
               "features: 4\nheads: {\"be ta\": 3}\n", "head name");
    expect_bad("name: a\ntemplate: resnet_encoder\ninput: {channels: 3, size: 4}\nwidth: 8\nstages: [1]\n"
               "features: 4\n", ":3: size = 4 outside");
    expect_bad("name: a\ntemplate: dcgan_generator\ncond: {dim: 8}\nnoise: {dim: 4}\nbase_channels: 8\n"
               "output: {channels: 3, size: 24}\n", "not a power of two");
    expect_bad("name: a\ntemplate: dcgan_discriminator\nimage: {channels: 3, size: 16}\ncond: {dim: 8, channels: 2}\n"
               "base_channels: 8\nslope: 2\n", ":6: slope");
    expect_bad("name: a\ntemplate: resnet_encoder\ninput: {channels: 3}\nwidth: 8\nstages: [1]\nfeatures: 4\n",
               "missing key 'size'");
    expect_bad("name: a/b\ntemplate: resnet_encoder\n", "name 'a/b'");
    return check_result("test_nn_config");
}
