/* config.c: model descriptions from the YAML files of configs/models/ expanded into a list of
 * named layers.
 *
 * A YAML file names a template and its sizes; the expansion gives every layer the name
 * its parameters carry in safetensors files ("stem.conv" -> "stem.conv.weight"), the
 * same names the PyTorch twins in tests/golden/make_golden.py use. Shapes are inferred
 * layer by layer and every impossible size is an error naming the YAML file and line. */
#include "nn/nn.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct builder {
    const struct yml_doc *doc;
    struct nn_cfg *cfg;
    int cap_layers, cap_outputs;
    float bn_eps, bn_momentum;
};

static enum tryon_status grow(struct builder *b)
{
    if (b->cfg->n_layers < b->cap_layers)
        return TRYON_OK;
    int cap = b->cap_layers ? 2 * b->cap_layers : 64;
    struct nn_layer *l = realloc(b->cfg->layers, (size_t)cap * sizeof *l);
    if (!l)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->doc->path);
    b->cfg->layers = l;
    b->cap_layers = cap;
    return TRYON_OK;
}

/* Infer the output shape of L from its inputs; fail on sizes the op cannot take. */
static enum tryon_status infer_shape(struct builder *b, struct nn_layer *L, int line)
{
    const struct nn_layer *x = L->nin > 0 ? &b->cfg->layers[L->in[0]] : NULL;
    const struct nn_layer *y = L->nin > 1 ? &b->cfg->layers[L->in[1]] : NULL;
    const char *p = b->doc->path;
    switch (L->op) {
    case NN_OP_INPUT:
        break;
    case NN_OP_CONV:
    case NN_OP_MAXPOOL:
    case NN_OP_AVGPOOL: {
        int oh = (x->h + 2 * L->pad - L->k_h) / L->stride + 1;
        int ow = (x->w + 2 * L->pad - L->k_w) / L->stride + 1;
        if (x->h + 2 * L->pad < L->k_h || x->w + 2 * L->pad < L->k_w || oh < 1 || ow < 1)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': input %dx%d too small for kernel %dx%d", p, line,
                              L->name, x->h, x->w, L->k_h, L->k_w);
        if (L->op != NN_OP_CONV)
            L->c = x->c;
        L->h = oh;
        L->w = ow;
        break;
    }
    case NN_OP_CONVT:
        L->h = (x->h - 1) * L->stride - 2 * L->pad + L->k_h + L->opad;
        L->w = (x->w - 1) * L->stride - 2 * L->pad + L->k_w + L->opad;
        if (L->h < 1 || L->w < 1)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': empty output", p, line, L->name);
        break;
    case NN_OP_BN:
    case NN_OP_ACT:
        L->c = x->c;
        L->h = x->h;
        L->w = x->w;
        break;
    case NN_OP_GAP:
        L->c = x->c;
        L->h = L->w = 1;
        break;
    case NN_OP_LINEAR:
        L->h = L->w = 1;
        break;
    case NN_OP_ADD:
        if (x->c != y->c || x->h != y->h || x->w != y->w)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': adding %dx%dx%d to %dx%dx%d", p, line, L->name, x->c,
                              x->h, x->w, y->c, y->h, y->w);
        L->c = x->c;
        L->h = x->h;
        L->w = x->w;
        break;
    case NN_OP_CONCAT:
        if (x->h != y->h || x->w != y->w)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': concatenating %dx%d with %dx%d maps", p, line,
                              L->name, x->h, x->w, y->h, y->w);
        L->c = x->c + y->c;
        L->h = x->h;
        L->w = x->w;
        break;
    case NN_OP_UPSAMPLE:
        L->c = x->c;
        if (!L->bilinear) {
            L->h = x->h * L->factor;
            L->w = x->w * L->factor;
        }
        break;
    case NN_OP_TILE:
        if (x->h != 1 || x->w != 1)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': tile needs a 1x1 input", p, line, L->name);
        L->c = x->c;
        L->h = L->w = L->factor;
        break;
    case NN_OP_RESHAPE:
        if ((long long)L->c * L->h * L->w != (long long)x->c * x->h * x->w)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': reshape changes the element count", p, line, L->name);
        break;
    }
    if (L->c < 1 || L->h < 1 || L->w < 1 || (long long)L->c * L->h * L->w > (1LL << 30))
        return tryon_fail(TRYON_EINVAL, "%s:%d: layer '%s': output %dx%dx%d out of range", p, line, L->name, L->c,
                          L->h, L->w);
    return TRYON_OK;
}

/* Append a layer named printf(fmt, ...); returns its index or a negative status. */
static int push(struct builder *b, int line, struct nn_layer L, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int push(struct builder *b, int line, struct nn_layer L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(L.name, sizeof L.name, fmt, ap);
    va_end(ap);
    if (len < 0 || len >= (int)sizeof L.name)
        return tryon_fail(TRYON_EINVAL, "%s:%d: layer name too long", b->doc->path, line);
    for (int i = 0; i < b->cfg->n_layers; i++)
        if (strcmp(b->cfg->layers[i].name, L.name) == 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: layer name '%s' used twice", b->doc->path, line, L.name);
    enum tryon_status s = infer_shape(b, &L, line);
    if (s < 0)
        return s;
    if ((s = grow(b)) < 0)
        return s;
    b->cfg->layers[b->cfg->n_layers] = L;
    return b->cfg->n_layers++;
}

static int add_output(struct builder *b, int line, const char *name, int layer)
{
    for (int i = 0; i < b->cfg->n_outputs; i++)
        if (strcmp(b->cfg->outputs[i].name, name) == 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: output name '%s' used twice", b->doc->path, line, name);
    for (int i = 0; i < b->cfg->n_layers; i++)
        if (b->cfg->layers[i].op == NN_OP_INPUT && strcmp(b->cfg->layers[i].name, name) == 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: output name '%s' is also an input", b->doc->path, line, name);
    if (strlen(name) >= NN_NAME_MAX)
        return tryon_fail(TRYON_EINVAL, "%s:%d: output name too long", b->doc->path, line);
    if (b->cfg->n_outputs == b->cap_outputs) {
        int cap = b->cap_outputs ? 2 * b->cap_outputs : 8;
        struct nn_output_spec *o = realloc(b->cfg->outputs, (size_t)cap * sizeof *o);
        if (!o)
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->doc->path);
        b->cfg->outputs = o;
        b->cap_outputs = cap;
    }
    struct nn_output_spec *o = &b->cfg->outputs[b->cfg->n_outputs++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->layer = layer;
    return TRYON_OK;
}

/* ----- layer constructors (shape filled by push) -----------------------------------------*/
static struct nn_layer l_input(int c, int h, int w)
{
    return (struct nn_layer){.op = NN_OP_INPUT, .c = c, .h = h, .w = w};
}
static struct nn_layer l_conv(int in, int k, int kernel, int stride, int pad, bool bias)
{
    return (struct nn_layer){.op = NN_OP_CONV, .in = {in}, .nin = 1, .c = k, .k_h = kernel, .k_w = kernel,
                             .stride = stride, .pad = pad, .bias = bias};
}
static struct nn_layer l_convt(int in, int k, int kernel, int stride, int pad, bool bias)
{
    return (struct nn_layer){.op = NN_OP_CONVT, .in = {in}, .nin = 1, .c = k, .k_h = kernel, .k_w = kernel,
                             .stride = stride, .pad = pad, .bias = bias};
}
static struct nn_layer l_bn(const struct builder *b, int in)
{
    return (struct nn_layer){.op = NN_OP_BN, .in = {in}, .nin = 1, .eps = b->bn_eps, .momentum = b->bn_momentum};
}
static struct nn_layer l_act(int in, enum kern_act act, float slope)
{
    return (struct nn_layer){.op = NN_OP_ACT, .in = {in}, .nin = 1, .act = act, .slope = slope};
}
static struct nn_layer l_pool(int in, enum nn_op op, int kernel, int stride, int pad)
{
    return (struct nn_layer){.op = op, .in = {in}, .nin = 1, .k_h = kernel, .k_w = kernel, .stride = stride,
                             .pad = pad};
}
static struct nn_layer l_linear(int in, int out, bool bias)
{
    return (struct nn_layer){.op = NN_OP_LINEAR, .in = {in}, .nin = 1, .c = out, .bias = bias};
}
static struct nn_layer l_two(enum nn_op op, int a, int b)
{
    return (struct nn_layer){.op = op, .in = {a, b}, .nin = 2};
}

/* ----- YAML helpers -----------------------------------------------------------------------*/
/* Integer key of map in [lo, hi]; absent -> dflt (or an error when dflt < lo). */
static enum tryon_status get_int(const struct yml_doc *doc, const struct yml_node *map, const char *key,
                                 long long lo, long long hi, long long dflt, int *out)
{
    const struct yml_node *n = map ? yml_get(map, key) : NULL;
    if (!n) {
        if (dflt < lo)
            return tryon_fail(TRYON_EINVAL, "%s:%d: missing key '%s'", doc->path, map ? map->line : 1, key);
        *out = (int)dflt;
        return TRYON_OK;
    }
    long long v;
    enum tryon_status s = yml_as_int(doc, n, key, &v);
    if (s < 0)
        return s;
    if (v < lo || v > hi)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s = %lld outside [%lld, %lld]", doc->path, n->line, key, v, lo, hi);
    *out = (int)v;
    return TRYON_OK;
}

static enum tryon_status get_map(const struct yml_doc *doc, const struct yml_node *map, const char *key,
                                 const char *const *allowed, bool required, const struct yml_node **out)
{
    *out = yml_get(map, key);
    if (!*out) {
        if (required)
            return tryon_fail(TRYON_EINVAL, "%s:%d: missing key '%s'", doc->path, map->line, key);
        return TRYON_OK;
    }
    enum tryon_status s = yml_expect(doc, *out, YML_MAP, key);
    if (s < 0)
        return s;
    return yml_check_keys(doc, *out, allowed);
}

static enum tryon_status get_name(const struct yml_doc *doc, const struct yml_node *map, const char *dflt,
                                  char out[NN_NAME_MAX])
{
    const struct yml_node *n = map ? yml_get(map, "name") : NULL;
    const char *v = dflt;
    if (n) {
        enum tryon_status s = yml_as_str(doc, n, "name", &v);
        if (s < 0)
            return s;
    }
    size_t len = strlen(v);
    if (len == 0 || len >= NN_NAME_MAX)
        return tryon_fail(TRYON_EINVAL, "%s:%d: name '%s' must have 1..%d characters", doc->path,
                          n ? n->line : 1, v, NN_NAME_MAX - 1);
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return tryon_fail(TRYON_EINVAL, "%s:%d: name '%s': only letters, digits, '_' and '-'", doc->path,
                              n ? n->line : 1, v);
    }
    memcpy(out, v, len + 1);
    return TRYON_OK;
}

#define TRY(expr) do { int t_ = (expr); if (t_ < 0) return (enum tryon_status)t_; } while (0)
#define TRYI(var, expr) do { int t_ = (expr); if (t_ < 0) return (enum tryon_status)t_; var = t_; } while (0)

/* ----- templates --------------------------------------------------------------------------*/
static enum tryon_status build_resnet(struct builder *b, const struct yml_node *root)
{
    const struct yml_doc *doc = b->doc;
    static const char *const in_keys[] = {"name", "channels", "size", NULL};
    static const char *const stem_keys[] = {"channels", "kernel", "stride", "maxpool", NULL};
    const struct yml_node *in, *stem;
    TRY(get_map(doc, root, "input", in_keys, true, &in));
    TRY(get_map(doc, root, "stem", stem_keys, false, &stem));
    char in_name[NN_NAME_MAX];
    int cin, size, width, stem_c, stem_k, stem_s, features;
    TRY(get_name(doc, in, "image", in_name));
    TRY(get_int(doc, in, "channels", 1, 64, -1, &cin));
    TRY(get_int(doc, in, "size", 8, 4096, -1, &size));
    TRY(get_int(doc, root, "width", 1, 4096, -1, &width));
    TRY(get_int(doc, stem, "channels", 1, 4096, width, &stem_c));
    TRY(get_int(doc, stem, "kernel", 1, 11, 7, &stem_k));
    TRY(get_int(doc, stem, "stride", 1, 4, 2, &stem_s));
    TRY(get_int(doc, root, "features", 1, 65536, -1, &features));
    bool maxpool = true;
    const struct yml_node *mp = stem ? yml_get(stem, "maxpool") : NULL;
    if (mp)
        TRY(yml_as_bool(doc, mp, "maxpool", &maxpool));
    const struct yml_node *stages = yml_get(root, "stages");
    if (!stages)
        return tryon_fail(TRYON_EINVAL, "%s:%d: missing key 'stages'", doc->path, root->line);
    TRY(yml_expect(doc, stages, YML_SEQ, "stages"));
    if (stages->n < 1 || stages->n > 8)
        return tryon_fail(TRYON_EINVAL, "%s:%d: stages needs 1..8 entries", doc->path, stages->line);
    const struct yml_node *heads = yml_get(root, "heads");
    if (heads)
        TRY(yml_expect(doc, heads, YML_MAP, "heads"));
    int line = root->line;

    int x;
    TRYI(x, push(b, in->line, l_input(cin, size, size), "%s", in_name));
    TRYI(x, push(b, line, l_conv(x, stem_c, stem_k, stem_s, stem_k / 2, false), "stem.conv"));
    TRYI(x, push(b, line, l_bn(b, x), "stem.bn"));
    TRYI(x, push(b, line, l_act(x, KERN_ACT_RELU, 0), "stem.relu"));
    if (maxpool)
        TRYI(x, push(b, line, l_pool(x, NN_OP_MAXPOOL, 3, 2, 1), "stem.pool"));
    int c = stem_c;
    for (int s = 0; s < stages->n; s++) {
        int depth;
        long long v;
        TRY(yml_as_int(doc, stages->items[s], "stages[]", &v));
        if (v < 1 || v > 64)
            return tryon_fail(TRYON_EINVAL, "%s:%d: a stage has 1..64 blocks", doc->path, stages->items[s]->line);
        depth = (int)v;
        int cout = width << s;
        if (cout > 65536)
            return tryon_fail(TRYON_EINVAL, "%s:%d: stage %d is %d channels wide", doc->path, stages->line, s + 1,
                              cout);
        int sl = stages->items[s]->line;
        for (int k = 0; k < depth; k++) {
            int stride = (s > 0 && k == 0) ? 2 : 1;
            int in = x, y, sc = x;
            TRYI(y, push(b, sl, l_conv(in, cout, 3, stride, 1, false), "layer%d.%d.conv1", s + 1, k));
            TRYI(y, push(b, sl, l_bn(b, y), "layer%d.%d.bn1", s + 1, k));
            TRYI(y, push(b, sl, l_act(y, KERN_ACT_RELU, 0), "layer%d.%d.relu1", s + 1, k));
            TRYI(y, push(b, sl, l_conv(y, cout, 3, 1, 1, false), "layer%d.%d.conv2", s + 1, k));
            TRYI(y, push(b, sl, l_bn(b, y), "layer%d.%d.bn2", s + 1, k));
            if (stride != 1 || c != cout) {
                TRYI(sc, push(b, sl, l_conv(in, cout, 1, stride, 0, false), "layer%d.%d.downsample.0", s + 1, k));
                TRYI(sc, push(b, sl, l_bn(b, sc), "layer%d.%d.downsample.1", s + 1, k));
            }
            TRYI(y, push(b, sl, l_two(NN_OP_ADD, y, sc), "layer%d.%d.add", s + 1, k));
            TRYI(x, push(b, sl, l_act(y, KERN_ACT_RELU, 0), "layer%d.%d.relu", s + 1, k));
            c = cout;
        }
    }
    TRYI(x, push(b, line, (struct nn_layer){.op = NN_OP_GAP, .in = {x}, .nin = 1}, "pool"));
    int feat;
    TRYI(feat, push(b, line, l_linear(x, features, true), "fc"));
    TRY(add_output(b, line, "features", feat));
    for (int h = 0; heads && h < heads->n; h++) {
        long long dim;
        TRY(yml_as_int(doc, heads->items[h], heads->keys[h], &dim));
        if (dim < 1 || dim > 65536)
            return tryon_fail(TRYON_EINVAL, "%s:%d: head '%s' size %lld outside [1, 65536]", doc->path,
                              heads->items[h]->line, heads->keys[h], dim);
        char hn[NN_NAME_MAX];
        size_t len = strlen(heads->keys[h]);
        if (len == 0 || len + 6 >= NN_NAME_MAX || strspn(heads->keys[h], "abcdefghijklmnopqrstuvwxyz"
                                                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len)
            return tryon_fail(TRYON_EINVAL, "%s:%d: head name '%s': letters, digits and '_' only", doc->path,
                              heads->key_lines[h], heads->keys[h]);
        memcpy(hn, heads->keys[h], len + 1);
        int y;
        TRYI(y, push(b, heads->key_lines[h], l_linear(feat, (int)dim, true), "head.%s", hn));
        TRY(add_output(b, heads->key_lines[h], hn, y));
    }
    return TRYON_OK;
}

static enum tryon_status build_generator(struct builder *b, const struct yml_node *root)
{
    const struct yml_doc *doc = b->doc;
    static const char *const vec_keys[] = {"name", "dim", NULL};
    static const char *const out_keys[] = {"name", "channels", "size", NULL};
    const struct yml_node *cond, *noise, *out;
    TRY(get_map(doc, root, "cond", vec_keys, true, &cond));
    TRY(get_map(doc, root, "noise", vec_keys, true, &noise));
    TRY(get_map(doc, root, "output", out_keys, true, &out));
    char cname[NN_NAME_MAX], zname[NN_NAME_MAX], oname[NN_NAME_MAX];
    int cdim, zdim, oc, size, base, minc;
    TRY(get_name(doc, cond, "features", cname));
    TRY(get_name(doc, noise, "noise", zname));
    TRY(get_name(doc, out, "image", oname));
    TRY(get_int(doc, cond, "dim", 1, 65536, -1, &cdim));
    TRY(get_int(doc, noise, "dim", 1, 65536, -1, &zdim));
    TRY(get_int(doc, out, "channels", 1, 64, -1, &oc));
    TRY(get_int(doc, out, "size", 8, 4096, -1, &size));
    TRY(get_int(doc, root, "base_channels", 1, 65536, -1, &base));
    TRY(get_int(doc, root, "min_channels", 1, 65536, 1, &minc));
    if (size & (size - 1))
        return tryon_fail(TRYON_EINVAL, "%s:%d: output size %d is not a power of two", doc->path, out->line, size);
    if (strcmp(cname, zname) == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: cond and noise need different names", doc->path, noise->line);
    int line = root->line;
    int c, z, x;
    TRYI(c, push(b, cond->line, l_input(cdim, 1, 1), "%s", cname));
    TRYI(z, push(b, noise->line, l_input(zdim, 1, 1), "%s", zname));
    TRYI(x, push(b, line, l_two(NN_OP_CONCAT, c, z), "concat"));
    TRYI(x, push(b, line, l_convt(x, base, 4, 1, 0, false), "up0.convt"));
    TRYI(x, push(b, line, l_bn(b, x), "up0.bn"));
    TRYI(x, push(b, line, l_act(x, KERN_ACT_RELU, 0), "up0.relu"));
    int s = 4, i = 1, ch = base;
    for (; s * 2 < size; s *= 2, i++) {
        ch = ch / 2 > minc ? ch / 2 : minc;
        TRYI(x, push(b, line, l_convt(x, ch, 4, 2, 1, false), "up%d.convt", i));
        TRYI(x, push(b, line, l_bn(b, x), "up%d.bn", i));
        TRYI(x, push(b, line, l_act(x, KERN_ACT_RELU, 0), "up%d.relu", i));
    }
    TRYI(x, push(b, line, l_convt(x, oc, 4, 2, 1, true), "out.convt"));
    TRYI(x, push(b, line, l_act(x, KERN_ACT_TANH, 0), "out.tanh"));
    return add_output(b, out->line, oname, x);
}

static enum tryon_status build_discriminator(struct builder *b, const struct yml_node *root)
{
    const struct yml_doc *doc = b->doc;
    static const char *const img_keys[] = {"name", "channels", "size", NULL};
    static const char *const cond_keys[] = {"name", "dim", "channels", NULL};
    const struct yml_node *img, *cond;
    TRY(get_map(doc, root, "image", img_keys, true, &img));
    TRY(get_map(doc, root, "cond", cond_keys, true, &cond));
    char iname[NN_NAME_MAX], cname[NN_NAME_MAX];
    int ic, size, cdim, cch, base, maxc;
    TRY(get_name(doc, img, "image", iname));
    TRY(get_name(doc, cond, "features", cname));
    TRY(get_int(doc, img, "channels", 1, 64, -1, &ic));
    TRY(get_int(doc, img, "size", 8, 4096, -1, &size));
    TRY(get_int(doc, cond, "dim", 1, 65536, -1, &cdim));
    TRY(get_int(doc, cond, "channels", 1, 4096, -1, &cch));
    TRY(get_int(doc, root, "base_channels", 1, 65536, -1, &base));
    TRY(get_int(doc, root, "max_channels", 1, 65536, 65536, &maxc));
    double slope = 0.2;
    const struct yml_node *sn = yml_get(root, "slope");
    if (sn) {
        TRY(yml_as_double(doc, sn, "slope", &slope));
        if (!(slope >= 0 && slope < 1))
            return tryon_fail(TRYON_EINVAL, "%s:%d: slope must be in [0, 1)", doc->path, sn->line);
    }
    if (size & (size - 1))
        return tryon_fail(TRYON_EINVAL, "%s:%d: image size %d is not a power of two", doc->path, img->line, size);
    if (strcmp(iname, cname) == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: image and cond need different names", doc->path, cond->line);
    int line = root->line;
    int im, c, x;
    TRYI(im, push(b, img->line, l_input(ic, size, size), "%s", iname));
    TRYI(c, push(b, cond->line, l_input(cdim, 1, 1), "%s", cname));
    TRYI(c, push(b, cond->line, l_linear(c, cch, true), "cond.proj"));
    TRYI(c, push(b, cond->line, (struct nn_layer){.op = NN_OP_TILE, .in = {c}, .nin = 1, .factor = size},
                 "cond.tile"));
    TRYI(x, push(b, line, l_two(NN_OP_CONCAT, im, c), "concat"));
    int ch = base < maxc ? base : maxc;
    TRYI(x, push(b, line, l_conv(x, ch, 4, 2, 1, false), "down0.conv"));
    TRYI(x, push(b, line, l_act(x, KERN_ACT_LEAKY_RELU, (float)slope), "down0.act"));
    int s = size / 2;
    for (int i = 1; s > 4; s /= 2, i++) {
        ch = ch * 2 < maxc ? ch * 2 : maxc;
        TRYI(x, push(b, line, l_conv(x, ch, 4, 2, 1, false), "down%d.conv", i));
        TRYI(x, push(b, line, l_bn(b, x), "down%d.bn", i));
        TRYI(x, push(b, line, l_act(x, KERN_ACT_LEAKY_RELU, (float)slope), "down%d.act", i));
    }
    TRYI(x, push(b, line, l_conv(x, 1, 4, 1, 0, true), "out.conv"));
    return add_output(b, line, "logit", x);
}

/* U-Net (Ronneberger et al. 2015) for image-to-image work (the denoiser): level l works at
   1/2^l of the input size with levels[l] channels; each level is two 3x3 convs with bias +
   ReLU; max-pool 2x2 between encoder levels; on the way up, nearest upsampling x2, concat
   with the encoder's features of that level, two 3x3 convs + ReLU; then the input itself
   is concatenated again (out.cat: a linear path from the input, so passing colours through
   is easy to learn) and a 3x3 conv with bias maps to the output channels, no activation.
   The input side must divide by 2^(levels - 1). */
static enum tryon_status build_unet(struct builder *b, const struct yml_node *root)
{
    const struct yml_doc *doc = b->doc;
    static const char *const in_keys[] = {"name", "channels", "size", NULL};
    static const char *const out_keys[] = {"name", "channels", NULL};
    const struct yml_node *in, *out, *lv;
    TRY(get_map(doc, root, "input", in_keys, true, &in));
    TRY(get_map(doc, root, "output", out_keys, true, &out));
    char iname[NN_NAME_MAX], oname[NN_NAME_MAX];
    int ic, size, oc;
    TRY(get_name(doc, in, "image", iname));
    TRY(get_name(doc, out, "clean", oname));
    TRY(get_int(doc, in, "channels", 1, 64, -1, &ic));
    TRY(get_int(doc, in, "size", 4, 4096, -1, &size));
    TRY(get_int(doc, out, "channels", 1, 64, -1, &oc));
    if (!(lv = yml_get(root, "levels")))
        return tryon_fail(TRYON_EINVAL, "%s:%d: missing key 'levels'", doc->path, root->line);
    TRY(yml_expect(doc, lv, YML_SEQ, "levels"));
    int nl = (int)lv->n, ch[8];
    if (nl < 1 || nl > 8)
        return tryon_fail(TRYON_EINVAL, "%s:%d: levels must list 1 to 8 channel counts", doc->path, lv->line);
    for (int l = 0; l < nl; l++) {
        long long v;
        TRY(yml_as_int(doc, lv->items[l], "levels", &v));
        if (v < 1 || v > 4096)
            return tryon_fail(TRYON_EINVAL, "%s:%d: levels[%d] = %lld outside [1, 4096]", doc->path,
                              lv->items[l]->line, l, v);
        ch[l] = (int)v;
    }
    if (size % (1 << (nl - 1)))
        return tryon_fail(TRYON_EINVAL, "%s:%d: input size %d does not divide by 2^%d (levels)", doc->path, in->line,
                          size, nl - 1);
    if (strcmp(iname, oname) == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: input and output need different names", doc->path, out->line);
    int line = root->line, x, input, skip[8];
    TRYI(input, push(b, in->line, l_input(ic, size, size), "%s", iname));
    x = input;
    for (int l = 0; l < nl; l++) {
        if (l > 0)
            TRYI(x, push(b, line, l_pool(x, NN_OP_MAXPOOL, 2, 2, 0), "enc%d.pool", l));
        for (int k = 1; k <= 2; k++) {
            TRYI(x, push(b, line, l_conv(x, ch[l], 3, 1, 1, true), "enc%d.conv%d", l, k));
            TRYI(x, push(b, line, l_act(x, KERN_ACT_RELU, 0), "enc%d.relu%d", l, k));
        }
        skip[l] = x;
    }
    for (int l = nl - 2; l >= 0; l--) {
        TRYI(x, push(b, line, (struct nn_layer){.op = NN_OP_UPSAMPLE, .in = {x}, .nin = 1, .factor = 2}, "dec%d.up",
                     l));
        TRYI(x, push(b, line, l_two(NN_OP_CONCAT, x, skip[l]), "dec%d.cat", l));
        for (int k = 1; k <= 2; k++) {
            TRYI(x, push(b, line, l_conv(x, ch[l], 3, 1, 1, true), "dec%d.conv%d", l, k));
            TRYI(x, push(b, line, l_act(x, KERN_ACT_RELU, 0), "dec%d.relu%d", l, k));
        }
    }
    TRYI(x, push(b, out->line, l_two(NN_OP_CONCAT, x, input), "out.cat"));
    TRYI(x, push(b, out->line, l_conv(x, oc, 3, 1, 1, true), "out.conv"));
    return add_output(b, out->line, oname, x);
}

enum tryon_status nn_cfg_set_input_size(struct nn_cfg *cfg, int h, int w)
{
    int n_in = 0;
    for (int i = 0; i < cfg->n_layers; i++) {
        struct nn_layer *L = &cfg->layers[i];
        n_in += L->op == NN_OP_INPUT;
        if (L->op == NN_OP_LINEAR || L->op == NN_OP_TILE || L->op == NN_OP_RESHAPE || L->op == NN_OP_GAP ||
            (L->op == NN_OP_UPSAMPLE && L->bilinear))
            return tryon_fail(TRYON_EINVAL, "model '%s': layer '%s' depends on the input size: the model is not "
                              "fully convolutional", cfg->name, L->name);
    }
    if (n_in != 1 || h < 1 || w < 1)
        return tryon_fail(TRYON_EINVAL, "model '%s': %d inputs, size %dx%d: resizing needs one input and a positive "
                          "size", cfg->name, n_in, h, w);
    struct yml_doc doc = {.path = cfg->name};
    struct builder b = {.doc = &doc, .cfg = cfg};
    for (int i = 0; i < cfg->n_layers; i++) {
        struct nn_layer *L = &cfg->layers[i];
        if (L->op == NN_OP_INPUT) {
            L->h = h, L->w = w;
            continue;
        }
        enum tryon_status s = infer_shape(&b, L, 0);
        if (s < 0)
            return s;
    }
    return TRYON_OK;
}

void nn_cfg_free(struct nn_cfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->layers);
    free(cfg->outputs);
    free(cfg);
}

static enum tryon_status cfg_from_doc(const struct yml_doc *doc, struct nn_cfg **out)
{
    *out = NULL;
    const struct yml_node *root = doc->root;
    if (!root || root->kind != YML_MAP)
        return tryon_fail(TRYON_EINVAL, "%s:%d: a model file is a map", doc->path, root ? root->line : 1);
    static const char *const keys[] = {"name", "template", "init", "bn", "input", "stem", "stages", "width",
                                       "features", "heads", "cond", "noise", "output", "base_channels",
                                       "min_channels", "max_channels", "image", "slope", "levels", NULL};
    enum tryon_status s = yml_check_keys(doc, root, keys);
    if (s < 0)
        return s;
    struct nn_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    struct builder b = {.doc = doc, .cfg = cfg, .bn_eps = 1e-5f, .bn_momentum = 0.1f};
    const char *tmpl = NULL, *init = "torch";
    const struct yml_node *n;
    if ((s = get_name(doc, root, "model", cfg->name)) < 0)
        goto fail;
    if (!(n = yml_get(root, "template"))) {
        s = tryon_fail(TRYON_EINVAL, "%s:%d: missing key 'template'", doc->path, root->line);
        goto fail;
    }
    if ((s = yml_as_str(doc, n, "template", &tmpl)) < 0)
        goto fail;
    snprintf(cfg->kind, sizeof cfg->kind, "%s", tmpl);
    if ((n = yml_get(root, "init")) && (s = yml_as_str(doc, n, "init", &init)) < 0)
        goto fail;
    if (strcmp(init, "torch") == 0)
        cfg->init = NN_INIT_TORCH;
    else if (strcmp(init, "dcgan") == 0)
        cfg->init = NN_INIT_DCGAN;
    else {
        s = tryon_fail(TRYON_EINVAL, "%s:%d: init '%s' (expected torch or dcgan)", doc->path, n->line, init);
        goto fail;
    }
    static const char *const bn_keys[] = {"eps", "momentum", NULL};
    const struct yml_node *bn;
    if ((s = get_map(doc, root, "bn", bn_keys, false, &bn)) < 0)
        goto fail;
    if (bn) {
        double v;
        if ((n = yml_get(bn, "eps"))) {
            if ((s = yml_as_double(doc, n, "eps", &v)) < 0)
                goto fail;
            if (!(v > 0 && v < 1)) {
                s = tryon_fail(TRYON_EINVAL, "%s:%d: bn eps must be in (0, 1)", doc->path, n->line);
                goto fail;
            }
            b.bn_eps = (float)v;
        }
        if ((n = yml_get(bn, "momentum"))) {
            if ((s = yml_as_double(doc, n, "momentum", &v)) < 0)
                goto fail;
            if (!(v >= 0 && v <= 1)) {
                s = tryon_fail(TRYON_EINVAL, "%s:%d: bn momentum must be in [0, 1]", doc->path, n->line);
                goto fail;
            }
            b.bn_momentum = (float)v;
        }
    }
    if (strcmp(tmpl, "resnet_encoder") == 0)
        s = build_resnet(&b, root);
    else if (strcmp(tmpl, "dcgan_generator") == 0)
        s = build_generator(&b, root);
    else if (strcmp(tmpl, "dcgan_discriminator") == 0)
        s = build_discriminator(&b, root);
    else if (strcmp(tmpl, "unet") == 0)
        s = build_unet(&b, root);
    else
        s = tryon_fail(TRYON_EINVAL,
                       "%s:%d: unknown template '%s' (expected resnet_encoder, dcgan_generator, dcgan_discriminator, "
                       "unet)",
                       doc->path, yml_get(root, "template")->line, tmpl);
    if (s < 0)
        goto fail;
    *out = cfg;
    return TRYON_OK;
fail:
    nn_cfg_free(cfg);
    return s;
}

enum tryon_status nn_cfg_load(const char *path, struct nn_cfg **out)
{
    struct yml_doc *doc;
    enum tryon_status s = yml_load_file(path, 1 << 20, &doc);
    if (s < 0)
        return s;
    s = cfg_from_doc(doc, out);
    yml_free(doc);
    return s;
}

enum tryon_status nn_cfg_from_string(const char *yaml, const char *name, struct nn_cfg **out)
{
    struct yml_doc *doc;
    enum tryon_status s = yml_load_string(yaml, strlen(yaml), name, &doc);
    if (s < 0)
        return s;
    s = cfg_from_doc(doc, out);
    yml_free(doc);
    return s;
}
