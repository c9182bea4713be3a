/* test_kernels_fwd.c: forward values against cases computed by hand (numbers in the
 * comments), plus the host helpers of kernels.h: backend parsing and query, context
 * creation, memory, descriptor init, batch-norm folding; the cloth bending rest angles.
 * Runs on REF and CPU contexts.
 * Tolerance: 1e-5 absolute on values of order 1-50 unless a line says otherwise. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "common/common.h"
#include "kernels/kernels.h"

#define TOL 1e-5

static void check_vec(const char *what, const float *got, const float *want, int n, double tol)
{
    for (int i = 0; i < n; i++)
        CHECK_MSG(fabs((double)got[i] - (double)want[i]) <= tol, "%s[%d]: got %.9g want %.9g", what, i,
                  (double)got[i], (double)want[i]);
}

/* x = 4x4 values 1..16, Sobel-x kernel [[1,0,-1],[2,0,-2],[1,0,-1]], bias 0.5, pad 1. */
static void test_conv_known(struct kern_ctx *ctx)
{
    float x[16], w[9] = {1, 0, -1, 2, 0, -2, 1, 0, -1}, b = 0.5f, y[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    struct kern_conv2d d = {.n = 1, .c = 1, .h = 4, .w = 4, .k = 1, .r = 3, .s = 3, .stride_h = 1, .stride_w = 1,
                            .pad_h = 1, .pad_w = 1};
    kern_conv2d_init(&d);
    CHECK_EQ_INT(d.oh, 4);
    CHECK_EQ_INT(d.ow, 4);
    CHECK_EQ_INT(d.dil_h, 1);
    CHECK_EQ_INT(d.groups, 1);
    kern_conv2d_fwd(ctx, &d, x, w, &b, y);
    /* interior: (x[j-1] - x[j+1]) summed with weights 1,2,1 = -2 * 4 = -8, + 0.5 */
    const float want[16] = {-9.5f, -5.5f, -5.5f, 13.5f, -23.5f, -7.5f, -7.5f, 28.5f,
                            -39.5f, -7.5f, -7.5f, 44.5f, -37.5f, -5.5f, -5.5f, 41.5f};
    check_vec("conv sobel", y, want, 16, TOL);
    /* stride 2 picks rows/cols 0 and 2 of the above */
    d.stride_h = d.stride_w = 2;
    kern_conv2d_init(&d);
    CHECK_EQ_INT(d.oh, 2);
    kern_conv2d_fwd(ctx, &d, x, w, &b, y);
    const float want2[4] = {-9.5f, -5.5f, -39.5f, -7.5f};
    check_vec("conv sobel stride 2", y, want2, 4, TOL);
    /* groups 2: two channels, each with its own 1x1 weight (2 and -1), no bias */
    float x2[8] = {1, 2, 3, 4, 5, 6, 7, 8}, w2[2] = {2, -1}, y2[8];
    struct kern_conv2d g = {.n = 1, .c = 2, .h = 2, .w = 2, .k = 2, .r = 1, .s = 1, .stride_h = 1, .stride_w = 1,
                            .groups = 2};
    kern_conv2d_init(&g);
    kern_conv2d_fwd(ctx, &g, x2, w2, NULL, y2);
    const float want3[8] = {2, 4, 6, 8, -5, -6, -7, -8};
    check_vec("conv groups 2", y2, want3, 8, TOL);
    /* dilation 2: 1x5 row [1..5], kernel 1x2 [1, 10] dilated -> taps at j and j+2 */
    float x3[5] = {1, 2, 3, 4, 5}, w3[2] = {1, 10}, y3[3];
    struct kern_conv2d dd = {.n = 1, .c = 1, .h = 1, .w = 5, .k = 1, .r = 1, .s = 2, .stride_h = 1, .stride_w = 1,
                             .dil_w = 2};
    kern_conv2d_init(&dd);
    CHECK_EQ_INT(dd.ow, 3);
    kern_conv2d_fwd(ctx, &dd, x3, w3, NULL, y3);
    const float want4[3] = {31, 42, 53};
    check_vec("conv dilation 2", y3, want4, 3, TOL);
}

static void test_convt_known(struct kern_ctx *ctx)
{
    /* 2x2 input [[1,2],[3,4]], 2x2 ones kernel, stride 2, bias 0.5: each input becomes a
     * 2x2 block; with output padding 1 the extra last row/column holds only the bias. */
    float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 1, 1}, b = 0.5f, y[25];
    struct kern_conv2d d = {.n = 1, .c = 1, .h = 2, .w = 2, .k = 1, .r = 2, .s = 2, .stride_h = 2, .stride_w = 2,
                            .opad_h = 1, .opad_w = 1};
    kern_convt2d_init(&d);
    CHECK_EQ_INT(d.oh, 5);
    CHECK_EQ_INT(d.ow, 5);
    kern_convt2d_fwd(ctx, &d, x, w, &b, y);
    const float want[25] = {1.5f, 1.5f, 2.5f, 2.5f, 0.5f, 1.5f, 1.5f, 2.5f, 2.5f, 0.5f, 3.5f, 3.5f, 4.5f,
                            4.5f, 0.5f, 3.5f, 3.5f, 4.5f, 4.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    check_vec("convT blocks", y, want, 25, TOL);
    /* overlap: row [1, 2], kernel [1, 2, 3], stride 2 -> [1,2,3,0,0] + [0,0,2,4,6] */
    float x2[2] = {1, 2}, w2[3] = {1, 2, 3}, y2[5];
    struct kern_conv2d o = {.n = 1, .c = 1, .h = 1, .w = 2, .k = 1, .r = 1, .s = 3, .stride_h = 1, .stride_w = 2};
    kern_convt2d_init(&o);
    CHECK_EQ_INT(o.ow, 5);
    kern_convt2d_fwd(ctx, &o, x2, w2, NULL, y2);
    const float want2[5] = {1, 2, 5, 4, 6};
    check_vec("convT overlap", y2, want2, 5, TOL);
}

static void test_bn_known(struct kern_ctx *ctx)
{
    /* one channel, x = 1 2 3 4: mean 2.5, biased var 1.25, unbiased 5/3 */
    float x[4] = {1, 2, 3, 4}, gamma = 2.0f, beta = 1.0f, rm = 0.0f, rv = 1.0f, sm, si, y[4];
    kern_bn_fwd_train(ctx, 1, 1, 4, x, &gamma, &beta, 1e-5f, 0.1f, &rm, &rv, &sm, &si, y);
    double inv = 1.0 / sqrt(1.25 + 1e-5);
    CHECK_NEAR(sm, 2.5, 1e-6);
    CHECK_NEAR(si, inv, 1e-6);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(y[i], 2.0 * (x[i] - 2.5) * inv + 1.0, 1e-5);
    CHECK_NEAR(rm, 0.25, 1e-6);                   /* 0.9 * 0 + 0.1 * 2.5 */
    CHECK_NEAR(rv, 0.9 + 0.1 * (5.0 / 3.0), 1e-6); /* 1.0666667 */
    /* inference with those running stats */
    float yi[4];
    kern_bn_fwd_infer(ctx, 1, 1, 4, x, &gamma, &beta, &rm, &rv, 1e-5f, yi);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(yi[i], 2.0 * (x[i] - 0.25) / sqrt(rv + 1e-5) + 1.0, 1e-5);
    /* two channels, two images: channel statistics over (N, HW) */
    float x2[8] = {1, 3, 10, 20, 5, 7, 30, 40}, g2[2] = {1, 1}, b2[2] = {0, 0}, sm2[2], si2[2], y2[8];
    kern_bn_fwd_train(ctx, 2, 2, 2, x2, g2, b2, 1e-5f, 0.1f, NULL, NULL, sm2, si2, y2);
    CHECK_NEAR(sm2[0], 4.0, 1e-6);  /* 1 3 5 7 */
    CHECK_NEAR(sm2[1], 25.0, 1e-5); /* 10 20 30 40 */
    CHECK_NEAR(si2[0], 1.0 / sqrt(5.0 + 1e-5), 1e-6);
    CHECK_NEAR(si2[1], 1.0 / sqrt(125.0 + 1e-5), 1e-6);
}

static void test_softmax_ce_known(struct kern_ctx *ctx)
{
    /* row 0: logits 1 2 3, label 2: log(e + e^2 + e^3) - 3 = 0.40760596
     * row 1: logits 0 0 0, label 0: log 3 = 1.09861229; mean 0.75310913 */
    float x[6] = {1, 2, 3, 0, 0, 0}, dx[6] = {0};
    int32_t lab[2] = {2, 0};
    float loss = kern_loss_softmax_ce(ctx, 2, 3, x, lab, 1.0f, dx);
    CHECK_NEAR(loss, 0.75310913, 1e-6);
    /* gradient (softmax - onehot) / 2: softmax(1,2,3) = 0.09003057 0.24472847 0.66524096 */
    const float want[6] = {0.09003057f / 2, 0.24472847f / 2, (0.66524096f - 1) / 2,
                           (1.0f / 3 - 1) / 2, 1.0f / 6, 1.0f / 6};
    check_vec("softmax ce grad", dx, want, 6, 1e-6);
    /* huge logits stay finite: logits 1000, 0, label 1 -> loss 1000 */
    float big[2] = {1000, 0};
    int32_t l1 = 1;
    CHECK_NEAR(kern_loss_softmax_ce(ctx, 1, 2, big, &l1, 1.0f, NULL), 1000.0, 1e-3);
}

static void test_losses_known(struct kern_ctx *ctx)
{
    float p[3] = {1, -2, 0.5f}, t[3] = {0, 1, 0.5f}, dp[3] = {0, 0, 0};
    /* L1: (1 + 3 + 0) / 3; grad sign / 3, 0 where equal */
    CHECK_NEAR(kern_loss_l1(ctx, 3, p, t, 1.0f, dp), 4.0 / 3.0, 1e-6);
    const float wl1[3] = {1.0f / 3, -1.0f / 3, 0};
    check_vec("l1 grad", dp, wl1, 3, 1e-7);
    /* MSE: (1 + 9 + 0) / 3; grad 2 (p - t) / 3, here with scale 0.5 added onto the L1 grad */
    CHECK_NEAR(kern_loss_mse(ctx, 3, p, t, 0.5f, dp), 10.0 / 3.0, 1e-6);
    const float wmse[3] = {1.0f / 3 + 1.0f / 3, -1.0f / 3 - 1.0f, 0};
    check_vec("mse grad accumulated", dp, wmse, 3, 1e-6);
    /* BCE on logits: x=0, t=0.5 -> log 2; x=100, t=0 -> 100; x=-100, t=1 -> 100 (stable) */
    float x[3] = {0, 100, -100}, tb[3] = {0.5f, 0, 1}, dx[3] = {0, 0, 0};
    CHECK_NEAR(kern_loss_bce_logits(ctx, 3, x, tb, 3.0f, dx), (log(2.0) + 200.0) / 3.0, 1e-4);
    /* grad = sigmoid(x) - t (scale 3, mean over 3): 0, 1, -1 */
    const float wb[3] = {0, 1, -1};
    check_vec("bce grad", dx, wb, 3, 1e-6);
}

static void test_adamw_known(struct kern_ctx *ctx)
{
    /* p = 1, g = 0.5, lr 0.1, betas 0.9 0.999, eps 1e-8, wd 0.01.
     * step 1: p = 0.999; m = 0.05; v = 0.00025; m^ = 0.5, sqrt(v^) = 0.5 -> p = 0.999 - 0.1 = 0.899
     * step 2: p = 0.899 * 0.999 = 0.898101; m = 0.095; v = 0.00049975; bc1 = 0.19, bc2 = 0.001999;
     *         sqrt(v / bc2) = 0.5; p -= (0.1 / 0.19) * 0.095 / 0.5 = 0.1 -> 0.798101 */
    float p = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    struct kern_adamw h = {0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1};
    kern_adamw_step(ctx, &h, 1, &p, &g, &m, &v);
    /* 1 - beta is formed from the float betas: 1 - 0.999f = 0.000999987 (1.3e-5 relative off
     * the decimal), hence the relative tolerances on m and v */
    CHECK_NEAR(p, 0.899, 1e-6);
    CHECK_NEAR(m, 0.05, 0.05 * 1e-6);
    CHECK_NEAR(v, 0.00025, 0.00025 * 2e-5);
    h.step = 2;
    kern_adamw_step(ctx, &h, 1, &p, &g, &m, &v);
    CHECK_NEAR(p, 0.798101, 1e-6);
    CHECK_NEAR(m, 0.095, 0.095 * 1e-6);
    CHECK_NEAR(v, 0.00049975, 0.00049975 * 2e-5);
}

static void test_resample_known(struct kern_ctx *ctx)
{
    /* bilinear 2x2 -> 4x4, align_corners=False (torch's known result) */
    float x[4] = {1, 2, 3, 4}, y[16];
    kern_upsample_bilinear_fwd(ctx, 1, 1, 2, 2, 4, 4, x, y);
    const float want[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                            2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    check_vec("bilinear up", y, want, 16, 1e-6);
    /* 4x4 (1..16) -> 2x2: source 2d + 0.5, weights 0.5/0.5: the 2x2 block means */
    float x4[16], y2[4];
    for (int i = 0; i < 16; i++)
        x4[i] = (float)(i + 1);
    kern_upsample_bilinear_fwd(ctx, 1, 1, 4, 4, 2, 2, x4, y2);
    const float want2[4] = {3.5f, 5.5f, 11.5f, 13.5f};
    check_vec("bilinear down", y2, want2, 4, 1e-6);
    /* backward of the 2x2 -> 4x4 upsample with dy = 1 everywhere: each input gets 4 */
    float ones[16], dx[4] = {0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        ones[i] = 1.0f;
    kern_upsample_bilinear_bwd(ctx, 1, 1, 2, 2, 4, 4, ones, dx);
    const float want3[4] = {4, 4, 4, 4};
    check_vec("bilinear bwd ones", dx, want3, 4, 1e-6);
    /* nearest x2 */
    float yn[16];
    kern_upsample_nearest_fwd(ctx, 1, 1, 2, 2, 2, x, yn);
    const float wn[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    check_vec("nearest", yn, wn, 16, 0.0);
}

static void test_pool_known(struct kern_ctx *ctx)
{
    float x[16], y[4];
    int32_t arg[4];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    /* 2x2 stride 2: maxima 6 8 14 16 at flat indices 5 7 13 15 */
    struct kern_pool2d d = {.n = 1, .c = 1, .h = 4, .w = 4, .r = 2, .s = 2};
    kern_pool2d_init(&d);
    CHECK_EQ_INT(d.stride_h, 2); /* 0 stride reads as the kernel size */
    CHECK_EQ_INT(d.oh, 2);
    kern_maxpool2d_fwd(ctx, &d, x, y, arg);
    const float wy[4] = {6, 8, 14, 16};
    check_vec("maxpool", y, wy, 4, 0.0);
    CHECK(arg[0] == 5 && arg[1] == 7 && arg[2] == 13 && arg[3] == 15);
    float dy[4] = {1, 2, 3, 4}, dx[16] = {0};
    kern_maxpool2d_bwd(ctx, &d, dy, arg, dx);
    CHECK(dx[5] == 1 && dx[7] == 2 && dx[13] == 3 && dx[15] == 4 && dx[0] == 0);
    /* ties: all equal -> the first element of each window wins; padding never wins even
     * when every input is negative */
    float neg[16];
    for (int i = 0; i < 16; i++)
        neg[i] = -3.0f;
    struct kern_pool2d p = {.n = 1, .c = 1, .h = 4, .w = 4, .r = 3, .s = 3, .stride_h = 2, .stride_w = 2,
                            .pad_h = 1, .pad_w = 1};
    kern_pool2d_init(&p);
    CHECK_EQ_INT(p.oh, 2);
    kern_maxpool2d_fwd(ctx, &p, neg, y, arg);
    CHECK(y[0] == -3.0f && arg[0] == 0 && arg[1] == 1 && arg[2] == 4 && arg[3] == 5);
    /* average 3x3 stride 2 pad 1 on 1..16: window (0,0) holds 1 2 5 6 = 14 */
    p.count_include_pad = true;
    kern_avgpool2d_fwd(ctx, &p, x, y);
    CHECK_NEAR(y[0], 14.0 / 9.0, 1e-6);
    CHECK_NEAR(y[3], (6 + 7 + 8 + 10 + 11 + 12 + 14 + 15 + 16) / 9.0, 1e-6);
    p.count_include_pad = false;
    kern_avgpool2d_fwd(ctx, &p, x, y);
    CHECK_NEAR(y[0], 3.5, 1e-6);
    CHECK_NEAR(y[1], (2 + 3 + 4 + 6 + 7 + 8) / 6.0, 1e-6);
    /* global average */
    float g[2];
    kern_gap_fwd(ctx, 2, 1, 8, x, g);
    CHECK_NEAR(g[0], 4.5, 1e-6);
    CHECK_NEAR(g[1], 12.5, 1e-6);
}

static void test_dense_known(struct kern_ctx *ctx)
{
    /* A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: AB = [[58,64],[139,154]] */
    const float a[6] = {1, 2, 3, 4, 5, 6}, at[6] = {1, 4, 2, 5, 3, 6};
    const float b[6] = {7, 8, 9, 10, 11, 12}, bt[6] = {7, 9, 11, 8, 10, 12};
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            /* C with leading dimension 3 (one padding column that must stay 99) */
            float c[6] = {1, 1, 99, 1, 1, 99};
            kern_gemm(ctx, ta, tb, 2, 2, 3, 2.0f, ta ? at : a, ta ? 2 : 3, tb ? bt : b, tb ? 3 : 2, 0.5f, c, 3);
            const float want[6] = {116.5f, 128.5f, 99, 278.5f, 308.5f, 99};
            check_vec(ta ? (tb ? "gemm TT" : "gemm TN") : (tb ? "gemm NT" : "gemm NN"), c, want, 6, 1e-4);
        }
    /* beta = 0 must not read C, even NaN */
    float c[4] = {NAN, NAN, NAN, NAN};
    kern_gemm(ctx, false, false, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    const float want[4] = {58, 64, 139, 154};
    check_vec("gemm beta 0", c, want, 4, 1e-4);
    /* linear: x [1, 2], w (3, 2) = [[1,0],[0,1],[1,1]], b [0.5, 0, -1] -> [1.5, 2, 2] */
    float x[2] = {1, 2}, w[6] = {1, 0, 0, 1, 1, 1}, bias[3] = {0.5f, 0, -1}, y[3];
    kern_linear_fwd(ctx, 1, 2, 3, x, w, bias, y);
    const float wy[3] = {1.5f, 2, 2};
    check_vec("linear", y, wy, 3, 1e-6);
}

static void test_eltwise_known(struct kern_ctx *ctx)
{
    float x[5] = {-100, -2, 0, 2, 100}, y[5];
    kern_act_fwd(ctx, KERN_ACT_SIGMOID, 0, 5, x, y);
    CHECK(y[0] >= 0.0f && y[0] < 1e-40f && y[4] == 1.0f);
    CHECK_NEAR(y[1], 0.11920292, 1e-7);
    CHECK_NEAR(y[2], 0.5, 0);
    kern_act_fwd(ctx, KERN_ACT_TANH, 0, 5, x, y);
    CHECK(y[0] == -1.0f && y[4] == 1.0f);
    CHECK_NEAR(y[3], 0.96402758, 1e-7);
    kern_act_fwd(ctx, KERN_ACT_LEAKY_RELU, 0.1f, 5, x, y);
    CHECK_NEAR(y[1], -0.2, 1e-7);
    CHECK_NEAR(y[3], 2.0, 0);
    /* in place (y aliases x) */
    float z[3] = {-1, 0, 3};
    kern_act_fwd(ctx, KERN_ACT_RELU, 0, 3, z, z);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 3);
    /* ReLU' is 0 at 0 (torch) */
    float dz[3] = {0, 0, 0}, one[3] = {1, 1, 1}, x0[3] = {-1, 0, 3};
    kern_act_bwd(ctx, KERN_ACT_RELU, 0, 3, x0, NULL, one, dz);
    CHECK(dz[0] == 0 && dz[1] == 0 && dz[2] == 1);
    float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, s[3];
    kern_add(ctx, 3, a, b, s);
    CHECK(s[0] == 11 && s[2] == 33);
    kern_axpy(ctx, 3, -2.0f, a, s);
    CHECK(s[0] == 9 && s[2] == 27);
    kern_scale(ctx, 3, 0.5f, s);
    CHECK(s[0] == 4.5f && s[2] == 13.5f);
    /* concat: a (2, 1, 2), b (2, 2, 2) -> (2, 3, 2) */
    float ca[4] = {1, 2, 3, 4}, cb[8] = {5, 6, 7, 8, 9, 10, 11, 12}, cy[12];
    kern_concat_fwd(ctx, 2, 2, 1, ca, 2, cb, cy);
    const float wc[12] = {1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12};
    check_vec("concat", cy, wc, 12, 0.0);
}

/* Rest angles of hinges on the edge x3 = (0,0,0) -> x4 = (1,0,0), first triangle (x1 = (0,1,0),
   x3, x4): the second wing x2 flat (0,-1,0): 0; up (0,0,1): +pi/2; down (0,0,-1): -pi/2;
   (0,-1,1): pi/4; a degenerate first triangle (x1 = (0.5,0,0) on the edge): 0. */
static void test_cloth_bend_rest_known(struct kern_ctx *ctx)
{
    const float x[8 * 3] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0, -1, 1, 0.5f, 0, 0};
    const int32_t bend[5 * 4] = {2, 3, 0, 1, 2, 4, 0, 1, 2, 5, 0, 1, 2, 6, 0, 1, 7, 3, 0, 1};
    float rest[5];
    kern_cloth_bend_rest(ctx, 5, bend, x, rest);
    const float pi = 3.14159265f;
    const float want[5] = {0, pi / 2, -pi / 2, pi / 4, 0};
    check_vec("cloth_bend_rest", rest, want, 5, 1e-6);
}

/* conv(x; w', b') == bn_infer(conv(x; w, b)) after folding, plain and transposed. */
static void test_bn_fold(struct kern_ctx *ctx)
{
    struct rng r;
    rng_seed(&r, 7);
    for (int t = 0; t <= 1; t++) {
        struct kern_conv2d d = {.n = 2, .c = 4, .h = 5, .w = 7, .k = 6, .r = 3, .s = 3, .stride_h = 2,
                                .stride_w = 2, .pad_h = 1, .pad_w = 1, .groups = 2, .opad_h = t, .opad_w = t};
        if (t)
            kern_convt2d_init(&d);
        else
            kern_conv2d_init(&d);
        size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.k * d.oh * d.ow;
        size_t nw = (size_t)(t ? d.c : d.k) * ((t ? d.k : d.c) / d.groups) * 9;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *y = malloc(ny * 4), *yb = malloc(ny * 4),
              *yf = malloc(ny * 4);
        float b[6], gamma[6], beta[6], mean[6], var[6];
        for (size_t i = 0; i < nx; i++)
            x[i] = rng_float(&r) * 2 - 1;
        for (size_t i = 0; i < nw; i++)
            w[i] = rng_float(&r) * 2 - 1;
        for (int k = 0; k < 6; k++) {
            b[k] = rng_float(&r) - 0.5f;
            gamma[k] = 0.5f + rng_float(&r);
            beta[k] = rng_float(&r) - 0.5f;
            mean[k] = rng_float(&r) - 0.5f;
            var[k] = 0.2f + rng_float(&r);
        }
        if (t)
            kern_convt2d_fwd(ctx, &d, x, w, b, y);
        else
            kern_conv2d_fwd(ctx, &d, x, w, b, y);
        kern_bn_fwd_infer(ctx, d.n, d.k, d.oh * d.ow, y, gamma, beta, mean, var, 1e-5f, yb);
        if (t)
            kern_bn_fold_t(d.c, d.k / d.groups, d.groups, 9, w, b, gamma, beta, mean, var, 1e-5f);
        else
            kern_bn_fold(d.k, (d.c / d.groups) * 9, w, b, gamma, beta, mean, var, 1e-5f);
        if (t)
            kern_convt2d_fwd(ctx, &d, x, w, b, yf);
        else
            kern_conv2d_fwd(ctx, &d, x, w, b, yf);
        check_vec(t ? "bn_fold_t" : "bn_fold", yf, yb, (int)ny, 2e-5);
        free(x), free(w), free(y), free(yb), free(yf);
    }
}

static void test_host_api(void)
{
    enum kern_backend b;
    CHECK_EQ_INT(kern_backend_parse("ref", &b), TRYON_OK);
    CHECK_EQ_INT(b, KERN_BACKEND_REF);
    CHECK_EQ_INT(kern_backend_parse("cpu", &b), TRYON_OK);
    CHECK_EQ_INT(b, KERN_BACKEND_CPU);
    CHECK_EQ_INT(kern_backend_parse("cuda", &b), TRYON_OK);
    CHECK_EQ_INT(b, KERN_BACKEND_CUDA);
    CHECK_EQ_INT(kern_backend_parse("gpu", &b), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "'gpu'");
    struct kern_info info;
    kern_query(&info);
    CHECK(info.cpu_isa != NULL && info.omp_threads >= 1 && info.cuda_devices >= 0);
    CHECK_EQ_INT(kern_backend_parse("auto", &b), TRYON_OK);
    CHECK_EQ_INT(b, info.cuda_devices > 0 ? KERN_BACKEND_CUDA : KERN_BACKEND_CPU);
    CHECK_STR(kern_backend_name(KERN_BACKEND_CPU), "cpu");
    CHECK(kern_create(KERN_BACKEND_CPU, -1) == NULL);
    CHECK_CONTAINS(tryon_errmsg(), "negative");
    struct kern_ctx *c = kern_create(KERN_BACKEND_CPU, 0);
    CHECK(c != NULL);
    if (c) {
        CHECK_EQ_INT(kern_ctx_backend(c), KERN_BACKEND_CPU);
        float *p = kern_alloc(c, 1000);
        CHECK(((uintptr_t)p & 63) == 0);
        int zero = 1;
        for (int i = 0; i < 1000; i++)
            zero &= p[i] == 0.0f;
        CHECK(zero);
        kern_release(c, p);
        kern_release(c, NULL);
        kern_destroy(c);
    }
    kern_destroy(NULL);
}

int main(void)
{
    test_host_api();
    for (int bi = 0; bi < 2; bi++) {
        struct kern_ctx *ctx = kern_create(bi ? KERN_BACKEND_CPU : KERN_BACKEND_REF, 2);
        CHECK(ctx != NULL);
        if (!ctx)
            continue;
        test_conv_known(ctx);
        test_convt_known(ctx);
        test_bn_known(ctx);
        test_softmax_ce_known(ctx);
        test_losses_known(ctx);
        test_adamw_known(ctx);
        test_resample_known(ctx);
        test_pool_known(ctx);
        test_dense_known(ctx);
        test_eltwise_known(ctx);
        test_bn_fold(ctx);
        test_cloth_bend_rest_known(ctx);
        kern_destroy(ctx);
    }
    return check_result("test_kernels_fwd");
}
