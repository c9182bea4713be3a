/* test_nn_golden_ops.c: every kernel op the networks use, against PyTorch on small shapes
 * (tests/golden/data/op_*.safetensors from make_golden.py), on the REF and CPU backends
 * (CUDA too when a device is present):
 * conv (bias; stride+asymmetric padding; dilation+groups), conv-transpose (plain; output
 * padding+groups), BN train (output, input/gamma/beta gradients, running stats) and eval,
 * max and average pooling, nearest and bilinear upsampling, linear, global average
 * pooling, the four losses (value and gradient), and ten AdamW steps.
 *
 * Limit: normalized L2 error (nn_test_util.h) <= 1e-5 for every tensor of every op
 * (float32 against float32; measured worst is printed at the end).
 * usage: test_nn_golden_ops GOLDEN_DIR */
#include "nn_test_util.h"

#include <string.h>

#define LIM 1e-5

static const char *golden;

/* A golden tensor in backend memory. */
static float *dev(struct kern_ctx *ctx, const struct nn_st_file *f, const char *name, size_t *n)
{
    const struct nn_st_tensor *t = nn_st_find(f, name);
    CHECK_MSG(t != NULL, "%s: no tensor %s", f->path, name);
    if (!t)
        return kern_alloc(ctx, 1);
    *n = nn_st_numel(t);
    float *d = kern_alloc(ctx, *n);
    upload_golden(ctx, f, name, d, *n);
    return d;
}

static float *zeros_like(struct kern_ctx *ctx, const struct nn_st_file *f, const char *name, size_t *n)
{
    const struct nn_st_tensor *t = nn_st_find(f, name);
    CHECK_MSG(t != NULL, "%s: no tensor %s", f->path, name);
    *n = t ? nn_st_numel(t) : 1;
    return kern_alloc(ctx, *n);
}

static void conv_case(struct kern_ctx *ctx, const char *file, bool transposed)
{
    struct nn_st_file *f = open_golden(golden, file);
    if (!f)
        return;
    struct kern_conv2d d = {.n = (int)meta_int(f, "n"), .c = (int)meta_int(f, "c"), .h = (int)meta_int(f, "h"),
                            .w = (int)meta_int(f, "w"), .k = (int)meta_int(f, "k"), .r = (int)meta_int(f, "r"),
                            .s = (int)meta_int(f, "s"), .stride_h = (int)meta_int(f, "stride_h"),
                            .stride_w = (int)meta_int(f, "stride_w"), .pad_h = (int)meta_int(f, "pad_h"),
                            .pad_w = (int)meta_int(f, "pad_w"), .dil_h = (int)meta_int(f, "dil_h"),
                            .dil_w = (int)meta_int(f, "dil_w"), .groups = (int)meta_int(f, "groups")};
    if (transposed) {
        d.opad_h = (int)meta_int(f, "opad_h");
        d.opad_w = (int)meta_int(f, "opad_w");
        kern_convt2d_init(&d);
    } else {
        kern_conv2d_init(&d);
    }
    size_t nx, nw, nb = 0, ny, ndy;
    bool bias = nn_st_find(f, "b") != NULL;
    float *x = dev(ctx, f, "x", &nx), *w = dev(ctx, f, "w", &nw), *b = bias ? dev(ctx, f, "b", &nb) : NULL;
    float *y = zeros_like(ctx, f, "y", &ny), *dy = dev(ctx, f, "dy", &ndy);
    CHECK_EQ_INT(ny, (size_t)d.n * d.k * d.oh * d.ow);
    float *dx = kern_alloc(ctx, nx), *dw = kern_alloc(ctx, nw), *db = bias ? kern_alloc(ctx, nb) : NULL;
    if (transposed) {
        kern_convt2d_fwd(ctx, &d, x, w, b, y);
        kern_convt2d_bwd_data(ctx, &d, dy, w, dx);
        kern_convt2d_bwd_filter(ctx, &d, x, dy, dw, db);
    } else {
        kern_conv2d_fwd(ctx, &d, x, w, b, y);
        kern_conv2d_bwd_data(ctx, &d, dy, w, dx);
        kern_conv2d_bwd_filter(ctx, &d, x, dy, dw, db);
    }
    CHECK_TENSOR(ctx, f, "y", y, ny, LIM);
    CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
    CHECK_TENSOR(ctx, f, "dw", dw, nw, LIM);
    if (bias)
        CHECK_TENSOR(ctx, f, "db", db, nb, LIM);
    float *ps[] = {x, w, b, y, dy, dx, dw, db};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        kern_release(ctx, ps[i]);
    nn_st_free(f);
}

static void bn_cases(struct kern_ctx *ctx)
{
    struct nn_st_file *f = open_golden(golden, "op_bn_train");
    if (f) {
        int n = (int)meta_int(f, "n"), c = (int)meta_int(f, "c"), hw = (int)meta_int(f, "hw");
        size_t nx, nc;
        float *x = dev(ctx, f, "x", &nx), *g = dev(ctx, f, "gamma", &nc), *b = dev(ctx, f, "beta", &nc);
        float *rm = dev(ctx, f, "rm0", &nc), *rv = dev(ctx, f, "rv0", &nc), *dy = dev(ctx, f, "dy", &nx);
        float *y = kern_alloc(ctx, nx), *dx = kern_alloc(ctx, nx), *sm = kern_alloc(ctx, nc),
              *si = kern_alloc(ctx, nc), *dg = kern_alloc(ctx, nc), *db = kern_alloc(ctx, nc);
        kern_bn_fwd_train(ctx, n, c, hw, x, g, b, (float)meta_dbl(f, "eps"), (float)meta_dbl(f, "momentum"), rm, rv,
                          sm, si, y);
        kern_bn_bwd(ctx, n, c, hw, dy, x, g, sm, si, dx, dg, db);
        CHECK_TENSOR(ctx, f, "y", y, nx, LIM);
        CHECK_TENSOR(ctx, f, "rm", rm, nc, LIM);
        CHECK_TENSOR(ctx, f, "rv", rv, nc, LIM);
        CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
        CHECK_TENSOR(ctx, f, "dgamma", dg, nc, LIM);
        CHECK_TENSOR(ctx, f, "dbeta", db, nc, LIM);
        float *ps[] = {x, g, b, rm, rv, dy, y, dx, sm, si, dg, db};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            kern_release(ctx, ps[i]);
        nn_st_free(f);
    }
    f = open_golden(golden, "op_bn_eval");
    if (f) {
        int n = (int)meta_int(f, "n"), c = (int)meta_int(f, "c"), hw = (int)meta_int(f, "hw");
        size_t nx, nc;
        float *x = dev(ctx, f, "x", &nx), *g = dev(ctx, f, "gamma", &nc), *b = dev(ctx, f, "beta", &nc);
        float *rm = dev(ctx, f, "rm", &nc), *rv = dev(ctx, f, "rv", &nc), *y = kern_alloc(ctx, nx);
        kern_bn_fwd_infer(ctx, n, c, hw, x, g, b, rm, rv, (float)meta_dbl(f, "eps"), y);
        CHECK_TENSOR(ctx, f, "y", y, nx, LIM);
        float *ps[] = {x, g, b, rm, rv, y};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            kern_release(ctx, ps[i]);
        nn_st_free(f);
    }
}

static void pool_case(struct kern_ctx *ctx, const char *file, bool max)
{
    struct nn_st_file *f = open_golden(golden, file);
    if (!f)
        return;
    struct kern_pool2d d = {.n = (int)meta_int(f, "n"), .c = (int)meta_int(f, "c"), .h = (int)meta_int(f, "h"),
                            .w = (int)meta_int(f, "w"), .r = (int)meta_int(f, "r"), .s = (int)meta_int(f, "s"),
                            .stride_h = (int)meta_int(f, "stride_h"), .stride_w = (int)meta_int(f, "stride_w"),
                            .pad_h = (int)meta_int(f, "pad_h"), .pad_w = (int)meta_int(f, "pad_w"),
                            .count_include_pad = true};
    kern_pool2d_init(&d);
    size_t nx, ny;
    float *x = dev(ctx, f, "x", &nx), *dy = dev(ctx, f, "dy", &ny), *y = kern_alloc(ctx, ny),
          *dx = kern_alloc(ctx, nx);
    CHECK_EQ_INT(ny, (size_t)d.n * d.c * d.oh * d.ow);
    if (max) {
        int32_t *am = kern_alloc_i32(ctx, ny);
        kern_maxpool2d_fwd(ctx, &d, x, y, am);
        kern_maxpool2d_bwd(ctx, &d, dy, am, dx);
        kern_release(ctx, am);
    } else {
        kern_avgpool2d_fwd(ctx, &d, x, y);
        kern_avgpool2d_bwd(ctx, &d, dy, dx);
    }
    CHECK_TENSOR(ctx, f, "y", y, ny, LIM);
    CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
    float *ps[] = {x, dy, y, dx};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        kern_release(ctx, ps[i]);
    nn_st_free(f);
}

static void upsample_cases(struct kern_ctx *ctx)
{
    for (int bil = 0; bil < 2; bil++) {
        struct nn_st_file *f = open_golden(golden, bil ? "op_upsample_bilinear" : "op_upsample_nearest");
        if (!f)
            continue;
        int n = (int)meta_int(f, "n"), c = (int)meta_int(f, "c"), h = (int)meta_int(f, "h"), w = (int)meta_int(f, "w");
        size_t nx, ny;
        float *x = dev(ctx, f, "x", &nx), *dy = dev(ctx, f, "dy", &ny), *y = kern_alloc(ctx, ny),
              *dx = kern_alloc(ctx, nx);
        if (bil) {
            int oh = (int)meta_int(f, "oh"), ow = (int)meta_int(f, "ow");
            kern_upsample_bilinear_fwd(ctx, n, c, h, w, oh, ow, x, y);
            kern_upsample_bilinear_bwd(ctx, n, c, h, w, oh, ow, dy, dx);
        } else {
            int fct = (int)meta_int(f, "f");
            kern_upsample_nearest_fwd(ctx, n, c, h, w, fct, x, y);
            kern_upsample_nearest_bwd(ctx, n, c, h, w, fct, dy, dx);
        }
        CHECK_TENSOR(ctx, f, "y", y, ny, LIM);
        CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
        float *ps[] = {x, dy, y, dx};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            kern_release(ctx, ps[i]);
        nn_st_free(f);
    }
}

static void linear_gap_cases(struct kern_ctx *ctx)
{
    struct nn_st_file *f = open_golden(golden, "op_linear");
    if (f) {
        int n = (int)meta_int(f, "n"), in = (int)meta_int(f, "in"), out = (int)meta_int(f, "out");
        size_t nx, nw, nb, ny;
        float *x = dev(ctx, f, "x", &nx), *w = dev(ctx, f, "w", &nw), *b = dev(ctx, f, "b", &nb),
              *dy = dev(ctx, f, "dy", &ny);
        float *y = kern_alloc(ctx, ny), *dx = kern_alloc(ctx, nx), *dw = kern_alloc(ctx, nw), *db = kern_alloc(ctx, nb);
        kern_linear_fwd(ctx, n, in, out, x, w, b, y);
        kern_linear_bwd(ctx, n, in, out, dy, x, w, dx, dw, db);
        CHECK_TENSOR(ctx, f, "y", y, ny, LIM);
        CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
        CHECK_TENSOR(ctx, f, "dw", dw, nw, LIM);
        CHECK_TENSOR(ctx, f, "db", db, nb, LIM);
        float *ps[] = {x, w, b, dy, y, dx, dw, db};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            kern_release(ctx, ps[i]);
        nn_st_free(f);
    }
    f = open_golden(golden, "op_gap");
    if (f) {
        int n = (int)meta_int(f, "n"), c = (int)meta_int(f, "c"), hw = (int)meta_int(f, "hw");
        size_t nx, ny;
        float *x = dev(ctx, f, "x", &nx), *dy = dev(ctx, f, "dy", &ny), *y = kern_alloc(ctx, ny),
              *dx = kern_alloc(ctx, nx);
        kern_gap_fwd(ctx, n, c, hw, x, y);
        kern_gap_bwd(ctx, n, c, hw, dy, dx);
        CHECK_TENSOR(ctx, f, "y", y, ny, LIM);
        CHECK_TENSOR(ctx, f, "dx", dx, nx, LIM);
        float *ps[] = {x, dy, y, dx};
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            kern_release(ctx, ps[i]);
        nn_st_free(f);
    }
}

static void check_loss(const struct nn_st_file *f, const char *name, float got)
{
    float *ref = NULL;
    CHECK(nn_st_get_f32(f, name, 1, &ref, NULL) == TRYON_OK);
    if (ref)
        CHECK_MSG(fabs(got - ref[0]) <= LIM * fabs(ref[0]), "%s: %.9g vs %.9g", name, got, ref[0]);
    free(ref);
}

static void loss_cases(struct kern_ctx *ctx)
{
    struct nn_st_file *f = open_golden(golden, "op_losses");
    if (!f)
        return;
    size_t n, nl, ncl;
    float *p = dev(ctx, f, "pred", &n), *t = dev(ctx, f, "target", &n), *g = kern_alloc(ctx, n);
    check_loss(f, "loss_l1", kern_loss_l1(ctx, n, p, t, 1.0f, g));
    CHECK_TENSOR(ctx, f, "grad_l1", g, n, LIM);
    kern_zero(ctx, g, n);
    check_loss(f, "loss_mse", kern_loss_mse(ctx, n, p, t, 1.0f, g));
    CHECK_TENSOR(ctx, f, "grad_mse", g, n, LIM);
    float *lg = dev(ctx, f, "logits", &nl), *t01 = dev(ctx, f, "target01", &nl);
    kern_zero(ctx, g, n);
    check_loss(f, "loss_bce", kern_loss_bce_logits(ctx, nl, lg, t01, 1.0f, g));
    CHECK_TENSOR(ctx, f, "grad_bce", g, nl, LIM);
    int cn = (int)meta_int(f, "ce_n"), ck = (int)meta_int(f, "ce_k");
    float *z = dev(ctx, f, "ce_logits", &ncl), *gz = kern_alloc(ctx, ncl);
    const struct nn_st_tensor *lt = nn_st_find(f, "ce_labels");
    CHECK(lt && lt->dtype == NN_I32 && nn_st_numel(lt) == (size_t)cn);
    if (lt && lt->dtype == NN_I32 && nn_st_numel(lt) == (size_t)cn) {
        int32_t host[64];
        nn_st_copy_i32(f, lt, host);
        int32_t *lab = kern_alloc_i32(ctx, (size_t)cn);
        kern_upload_i32(ctx, lab, host, (size_t)cn);
        check_loss(f, "loss_ce", kern_loss_softmax_ce(ctx, cn, ck, z, lab, 1.0f, gz));
        CHECK_TENSOR(ctx, f, "grad_ce", gz, ncl, LIM);
        kern_release(ctx, lab);
    }
    float *ps[] = {p, t, g, lg, t01, z, gz};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        kern_release(ctx, ps[i]);
    nn_st_free(f);
}

static void adamw_case(struct kern_ctx *ctx)
{
    struct nn_st_file *f = open_golden(golden, "op_adamw");
    if (!f)
        return;
    size_t np, ng;
    float *p = dev(ctx, f, "p0", &np), *gall = dev(ctx, f, "grads", &ng);
    float *m = kern_alloc(ctx, np), *v = kern_alloc(ctx, np);
    struct kern_adamw h = {.lr = (float)meta_dbl(f, "lr"), .beta1 = (float)meta_dbl(f, "beta1"),
                           .beta2 = (float)meta_dbl(f, "beta2"), .eps = (float)meta_dbl(f, "eps"),
                           .weight_decay = (float)meta_dbl(f, "weight_decay")};
    int steps = (int)meta_int(f, "steps");
    CHECK_EQ_INT(ng, np * (size_t)steps);
    for (int t = 1; t <= steps && ng == np * (size_t)steps; t++) {
        h.step = t;
        kern_adamw_step(ctx, &h, np, p, gall + (size_t)(t - 1) * np, m, v);
    }
    CHECK_TENSOR(ctx, f, "p10", p, np, LIM);
    float *ps[] = {p, gall, m, v};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        kern_release(ctx, ps[i]);
    nn_st_free(f);
}

int main(int argc, char **argv)
{
    golden = golden_dir(argc, argv);
    enum kern_backend bes[] = {KERN_BACKEND_REF, KERN_BACKEND_CPU, KERN_BACKEND_CUDA};
    for (int b = 0; b < 3; b++) {
        struct kern_ctx *ctx = kern_create(bes[b], bes[b] == KERN_BACKEND_CUDA ? 0 : 2);
        if (!ctx) {
            fprintf(stderr, "%s backend skipped: %s\n", kern_backend_name(bes[b]), tryon_errmsg());
            CHECK(bes[b] == KERN_BACKEND_CUDA); /* REF and CPU always exist */
            continue;
        }
        worst_err = 0;
        conv_case(ctx, "op_conv", false);
        conv_case(ctx, "op_conv_s2", false);
        conv_case(ctx, "op_conv_dil_grp", false);
        conv_case(ctx, "op_convt", true);
        conv_case(ctx, "op_convt_opad", true);
        bn_cases(ctx);
        pool_case(ctx, "op_maxpool", true);
        pool_case(ctx, "op_avgpool", false);
        upsample_cases(ctx);
        linear_gap_cases(ctx);
        loss_cases(ctx);
        adamw_case(ctx);
        fprintf(stderr, "ops on %s: worst normalized error %.3g (limit %g)\n", kern_backend_name(bes[b]), worst_err,
                LIM);
        kern_destroy(ctx);
    }
    return check_result("test_nn_golden_ops");
}
