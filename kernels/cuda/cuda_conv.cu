/* cuda_conv.cu: convolution and transposed convolution through cuDNN's convolution API.
 *
 * One cuDNN convolution describes both ops (kernels/ref/ref_conv.c has the same picture):
 *   conv2d:  "conv input" x (N, C, H, W)   -> "conv output" y (N, K, OH, OW),  filter (K, C/G, R, S)
 *   convt2d: "conv input" y (N, K, OH, OW) -> "conv output" x (N, C, H, W),    filter (C, K/G, R, S)
 * so the transposed conv's forward is cuDNN's backward-data, its backward-data is cuDNN's
 * forward, and its filter gradient is cuDNN's backward-filter with the roles of x and dy
 * swapped. Output padding needs nothing: the tensor shapes carry it (kernels.h asserts
 * opad < stride, so the conv from (OH, OW) lands exactly on (H, W)).
 * Accumulation (+=) uses cuDNN's beta = 1. The bias add and bias gradient are our own
 * kernels (kcuda_bias_add/kcuda_bias_grad); the fused conv + activation is the cuDNN
 * forward then one bias-and-activation pass (k_bias_act). Algorithms: cuDNN's heuristic list filtered to
 * deterministic ones, preferring strict FP32 (CUDNN_FMA_MATH, no TF32); descriptors are
 * made per call (microseconds, no cache to invalidate). */
#include "kernels/cuda/kcuda.cuh"

struct conv_descs {
    cudnnTensorDescriptor_t in, out;   /* the cuDNN convolution's input and output */
    cudnnFilterDescriptor_t filt;
    cudnnConvolutionDescriptor_t conv;
};

static void descs_make(struct conv_descs *cd, const struct kern_conv2d *d, bool transposed)
{
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&cd->in));
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&cd->out));
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&cd->filt));
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd->conv));
    if (!transposed) {
        CUDNN_CHECK(cudnnSetTensor4dDescriptor(cd->in, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n, d->c, d->h, d->w));
        CUDNN_CHECK(cudnnSetTensor4dDescriptor(cd->out, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n, d->k, d->oh, d->ow));
        CUDNN_CHECK(cudnnSetFilter4dDescriptor(cd->filt, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->k, d->c / d->groups,
                                               d->r, d->s));
    } else {
        CUDNN_CHECK(cudnnSetTensor4dDescriptor(cd->in, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n, d->k, d->oh, d->ow));
        CUDNN_CHECK(cudnnSetTensor4dDescriptor(cd->out, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n, d->c, d->h, d->w));
        CUDNN_CHECK(cudnnSetFilter4dDescriptor(cd->filt, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->c, d->k / d->groups,
                                               d->r, d->s));
    }
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd->conv, d->pad_h, d->pad_w, d->stride_h, d->stride_w, d->dil_h,
                                                d->dil_w, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionGroupCount(cd->conv, d->groups));
    CUDNN_CHECK(cudnnSetConvolutionMathType(cd->conv, CUDNN_FMA_MATH));
}

static void descs_free(struct conv_descs *cd)
{
    CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(cd->conv));
    CUDNN_CHECK(cudnnDestroyFilterDescriptor(cd->filt));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(cd->out));
    CUDNN_CHECK(cudnnDestroyTensorDescriptor(cd->in));
}

/* From cuDNN's ranked list: the first deterministic, supported algorithm in strict FP32,
 * else the first deterministic one in any math mode. Sets the descriptor's math type to
 * the chosen one's and returns its index in perf; aborts when none qualifies (a shape
 * cuDNN cannot run deterministically is a bug to fix here, not an input error). */
template <typename Perf> static int pick_algo(const Perf *perf, int n, const char *what)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++)
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].determinism == CUDNN_DETERMINISTIC &&
                (pass == 1 || perf[i].mathType == CUDNN_FMA_MATH))
                return i;
    fprintf(stderr, "%s:%d: kernels: cuDNN offers no deterministic %s algorithm for this shape\n", __FILE__, __LINE__,
            what);
    abort();
}

/* conv output = conv(conv input) (cuDNN forward), beta 0 (overwrite) or 1 (accumulate). */
static void run_fwd(struct kern_ctx *ctx, const struct conv_descs *cd, const float *in, const float *w, float *out,
                    float beta)
{
    cudnnHandle_t h = kcuda_of(ctx)->cudnn;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int got = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, cd->in, cd->filt, cd->conv, cd->out,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
    int i = pick_algo(perf, got, "forward");
    CUDNN_CHECK(cudnnSetConvolutionMathType(cd->conv, perf[i].mathType));
    size_t bytes = 0;
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, cd->in, cd->filt, cd->conv, cd->out, perf[i].algo, &bytes));
    void *ws = bytes ? kcuda_workspace(ctx, bytes) : NULL;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionForward(h, &one, cd->in, in, cd->filt, w, cd->conv, perf[i].algo, ws, bytes, &beta,
                                        cd->out, out));
}

/* conv input gradient from conv output gradient (cuDNN backward data). */
static void run_bwd_data(struct kern_ctx *ctx, const struct conv_descs *cd, const float *w, const float *dout,
                         float *din, float beta)
{
    cudnnHandle_t h = kcuda_of(ctx)->cudnn;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int got = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, cd->filt, cd->out, cd->conv, cd->in,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
    int i = pick_algo(perf, got, "backward-data");
    CUDNN_CHECK(cudnnSetConvolutionMathType(cd->conv, perf[i].mathType));
    size_t bytes = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, cd->filt, cd->out, cd->conv, cd->in, perf[i].algo,
                                                             &bytes));
    void *ws = bytes ? kcuda_workspace(ctx, bytes) : NULL;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, cd->filt, w, cd->out, dout, cd->conv, perf[i].algo, ws, bytes,
                                             &beta, cd->in, din));
}

/* filter gradient += from conv input and conv output gradient (cuDNN backward filter). */
static void run_bwd_filter(struct kern_ctx *ctx, const struct conv_descs *cd, const float *in, const float *dout,
                           float *dw)
{
    cudnnHandle_t h = kcuda_of(ctx)->cudnn;
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int got = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, cd->in, cd->out, cd->conv, cd->filt,
                                                              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
    int i = pick_algo(perf, got, "backward-filter");
    CUDNN_CHECK(cudnnSetConvolutionMathType(cd->conv, perf[i].mathType));
    size_t bytes = 0;
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, cd->in, cd->out, cd->conv, cd->filt, perf[i].algo,
                                                               &bytes));
    void *ws = bytes ? kcuda_workspace(ctx, bytes) : NULL;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, cd->in, in, cd->out, dout, cd->conv, perf[i].algo, ws, bytes,
                                               &one, cd->filt, dw));
}

extern "C" void kcuda_conv2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                                 const float *b, float *y)
{
    struct conv_descs cd;
    descs_make(&cd, d, false);
    run_fwd(ctx, &cd, x, w, y, 0.0f);
    descs_free(&cd);
    if (b)
        kcuda_bias_add(ctx, d->n, d->k, (size_t)d->oh * d->ow, b, y);
}

/* y = act(y + b[channel]) in one pass after the cuDNN convolution (b may be NULL), the
 * per-element math of kfn_act. */
__global__ static void k_bias_act(size_t total, int k, size_t plane, const float *b, enum kern_act act, float slope,
                                  float *y)
{
    KCUDA_FOR(i, total)
    {
        float v = y[i];
        if (b)
            v += b[(i / plane) % (size_t)k];
        y[i] = kfn_act(act, slope, v);
    }
}

extern "C" void kcuda_conv2d_fwd_act(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                     const float *w, const float *b, enum kern_act act, float slope, float *y)
{
    struct conv_descs cd;
    descs_make(&cd, d, false);
    run_fwd(ctx, &cd, x, w, y, 0.0f);
    descs_free(&cd);
    size_t plane = (size_t)d->oh * d->ow, total = (size_t)d->n * d->k * plane;
    k_bias_act<<<kcuda_blocks(total), KCUDA_THREADS, 0, kcuda_stream(ctx)>>>(total, d->k, plane, b, act, slope, y);
    KCUDA_LAUNCHED();
}

extern "C" void kcuda_conv2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                                      const float *w, float *dx)
{
    struct conv_descs cd;
    descs_make(&cd, d, false);
    run_bwd_data(ctx, &cd, w, dy, dx, 1.0f);
    descs_free(&cd);
}

extern "C" void kcuda_conv2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                        const float *dy, float *dw, float *db)
{
    if (dw) {
        struct conv_descs cd;
        descs_make(&cd, d, false);
        run_bwd_filter(ctx, &cd, x, dy, dw);
        descs_free(&cd);
    }
    if (db)
        kcuda_bias_grad(ctx, d->n, d->k, (size_t)d->oh * d->ow, dy, db);
}

extern "C" void kcuda_convt2d_fwd(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x, const float *w,
                                  const float *b, float *y)
{
    struct conv_descs cd;
    descs_make(&cd, d, true);
    /* y is the cuDNN conv's input: its "gradient" from x in the output role */
    run_bwd_data(ctx, &cd, w, x, y, 0.0f);
    descs_free(&cd);
    if (b)
        kcuda_bias_add(ctx, d->n, d->k, (size_t)d->oh * d->ow, b, y);
}

extern "C" void kcuda_convt2d_bwd_data(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *dy,
                                       const float *w, float *dx)
{
    struct conv_descs cd;
    descs_make(&cd, d, true);
    run_fwd(ctx, &cd, dy, w, dx, 1.0f);
    descs_free(&cd);
}

extern "C" void kcuda_convt2d_bwd_filter(struct kern_ctx *ctx, const struct kern_conv2d *d, const float *x,
                                         const float *dy, float *dw, float *db)
{
    if (dw) {
        struct conv_descs cd;
        descs_make(&cd, d, true);
        /* cuDNN conv input = dy (N, K, OH, OW), cuDNN output gradient = x (N, C, H, W) */
        run_bwd_filter(ctx, &cd, dy, x, dw);
        descs_free(&cd);
    }
    if (db)
        kcuda_bias_grad(ctx, d->n, d->k, (size_t)d->oh * d->ow, dy, db);
}
