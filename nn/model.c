/* model.c: a model = a layer list (nn_cfg) bound to a kernel context, its memory, and the
 * forward and backward passes over it.
 *
 * Memory is sized at creation and carved from one backend allocation per category
 * (llm.c's malloc_and_point_parameters): parameters+buffers, parameter gradients,
 * activations, activation gradients, int32 max-pool winners, and (at the first AdamW step)
 * the two moment vectors. Activation slots and activation-gradient slots are placed by a
 * lifetime planner (plan.c), so:
 *   - inference reuses memory as soon as a tensor has no consumer left;
 *   - training keeps every forward activation but only the live activation gradients;
 *   - ReLU/leaky ReLU after conv, BN or add runs in place (its backward only needs the sign
 *     of the output); reshape is a view; a folded BN (NN_MODE_INFER_FOLD) is a view;
 *   - an in-place ReLU/leaky ReLU on a conv's output (directly or through a folded BN) is
 *     done by the conv itself (kern_conv2d_fwd_act), not as a pass of its own.
 *
 * Backward runs the layers in reverse; kernels ACCUMULATE gradients, so each
 * activation-gradient slot is zeroed when it becomes live. */
#include "nn/nn_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

const struct nn_cfg *nn_model_cfg(const struct nn_model *m)
{
    return &m->cfg;
}

int nn_model_n_params(const struct nn_model *m)
{
    return m->n_params;
}

const struct nn_param_info *nn_model_param(const struct nn_model *m, int i)
{
    assert(i >= 0 && i < m->n_params);
    return &m->params[i];
}

const struct nn_param_info *nn_model_find_param(const struct nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

size_t nn_model_numel_trainable(const struct nn_model *m)
{
    return m->n_train;
}

float *nn_model_param_arena(const struct nn_model *m, size_t *numel_all)
{
    if (numel_all)
        *numel_all = m->n_train + m->n_buffers;
    return m->param_mem;
}

float *nn_model_grad_arena(const struct nn_model *m)
{
    return m->grad_mem;
}

void nn_model_mem(const struct nn_model *m, struct nn_mem *out)
{
    *out = m->mem;
}

int nn_model_adamw_t(const struct nn_model *m)
{
    return m->adam_t;
}

/* ----- parameter table ---------------------------------------------------------------------*/
/* Register one parameter of layer li; the data pointer is set once the arena exists. */
static void add_param(struct nn_model *m, int li, const char *suffix, int ndim, const int64_t *shape, bool trainable,
                      bool decay, int *slot)
{
    struct nn_param_info *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", m->cfg.layers[li].name, suffix);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->trainable = trainable;
    p->decay = decay;
    m->param_layer[m->n_params] = li;
    *slot = m->n_params++;
}

static void build_param_table(struct nn_model *m)
{
    int cap = 4 * m->cfg.n_layers + 1;
    m->params = tryon_xcalloc((size_t)cap, sizeof *m->params);
    m->param_layer = tryon_xcalloc((size_t)cap, sizeof *m->param_layer);
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const struct nn_layer *L = &m->cfg.layers[i];
        struct nn_lrt *r = &m->rt[i];
        r->pw = r->pb = r->pmean = r->pvar = -1;
        const struct nn_layer *x = L->nin ? &m->cfg.layers[L->in[0]] : NULL;
        switch (L->op) {
        case NN_OP_CONV: {
            int64_t sh[4] = {L->c, x->c, L->k_h, L->k_w};
            add_param(m, i, "weight", 4, sh, true, true, &r->pw);
            if (L->bias)
                add_param(m, i, "bias", 1, sh, true, false, &r->pb);
            break;
        }
        case NN_OP_CONVT: {
            int64_t sh[4] = {x->c, L->c, L->k_h, L->k_w};
            add_param(m, i, "weight", 4, sh, true, true, &r->pw);
            int64_t shb[1] = {L->c};
            if (L->bias)
                add_param(m, i, "bias", 1, shb, true, false, &r->pb);
            break;
        }
        case NN_OP_LINEAR: {
            int64_t sh[2] = {L->c, (int64_t)x->c * x->h * x->w};
            add_param(m, i, "weight", 2, sh, true, true, &r->pw);
            if (L->bias)
                add_param(m, i, "bias", 1, sh, true, false, &r->pb);
            break;
        }
        case NN_OP_BN: {
            int64_t sh[1] = {L->c};
            add_param(m, i, "weight", 1, sh, true, false, &r->pw);
            add_param(m, i, "bias", 1, sh, true, false, &r->pb);
            add_param(m, i, "running_mean", 1, sh, false, false, &r->pmean);
            add_param(m, i, "running_var", 1, sh, false, false, &r->pvar);
            break;
        }
        default:
            break;
        }
    }
}

/* Lay the parameter arena out: decayed trainable, other trainable, buffers, then the hidden
 * biases of folded convs. Returns the float count. */
static size_t layout_params(struct nn_model *m)
{
    size_t off = 0;
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < m->n_params; i++) {
            struct nn_param_info *p = &m->params[i];
            int want = p->trainable ? (p->decay ? 0 : 1) : 2;
            if (want != pass)
                continue;
            m->param_off[i] = off;
            off += p->numel;
            if (pass == 0)
                m->n_decay = off;
            if (pass <= 1)
                m->n_train = off;
        }
    m->n_buffers = off - m->n_train;
    for (int i = 0; i < m->cfg.n_layers; i++)
        if (m->rt[i].fold_bn >= 0) {
            m->rt[i].fold_bias_off = off;
            off += (size_t)m->cfg.layers[i].c;
        }
    return off;
}

/* ----- graph analysis ---------------------------------------------------------------------*/
static bool is_output(const struct nn_model *m, int li)
{
    for (int i = 0; i < m->cfg.n_outputs; i++)
        if (m->cfg.outputs[i].layer == li)
            return true;
    return false;
}

static void analyse(struct nn_model *m)
{
    int L = m->cfg.n_layers;
    for (int i = 0; i < L; i++) {
        m->rt[i].fold_bn = -1;
        m->rt[i].folded_into = -1;
        m->rt[i].last_use = is_output(m, i) ? L : i;
    }
    for (int i = 0; i < L; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        for (int j = 0; j < l->nin; j++) {
            m->rt[l->in[j]].consumers++;
            if (m->rt[l->in[j]].last_use < i)
                m->rt[l->in[j]].last_use = i;
        }
    }
    for (int i = 0; i < L; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        struct nn_lrt *r = &m->rt[i];
        r->aroot = i;
        if (l->op == NN_OP_INPUT)
            r->last_use = L; /* the caller's input stays intact */
        if (l->nin == 0)
            continue;
        int x = l->in[0];
        const struct nn_layer *xl = &m->cfg.layers[x];
        bool single = m->rt[x].consumers == 1 && !is_output(m, x);
        if (l->op == NN_OP_RESHAPE) {
            r->aroot = m->rt[x].aroot;
        } else if (l->op == NN_OP_ACT && (l->act == KERN_ACT_RELU || (l->act == KERN_ACT_LEAKY_RELU && l->slope >= 0)) &&
                   single && (xl->op == NN_OP_CONV || xl->op == NN_OP_CONVT || xl->op == NN_OP_BN ||
                              xl->op == NN_OP_ADD || xl->op == NN_OP_LINEAR)) {
            r->aroot = m->rt[x].aroot;
            r->inplace = true;
        } else if (l->op == NN_OP_BN && m->mode == NN_MODE_INFER_FOLD && single &&
                   (xl->op == NN_OP_CONV || xl->op == NN_OP_CONVT) && m->rt[x].aroot == x) {
            r->aroot = x;
            r->folded_into = x;
            m->rt[x].fold_bn = i;
        }
    }
    /* An in-place ReLU / leaky ReLU on a conv's output (directly, or through a BN folded
     * into the conv) is applied by the conv's forward itself: one pass over the tensor.
     * Nothing else reads the pre-activation values (each link has a single consumer), and
     * backward needs only the output, as for any in-place activation. */
    for (int i = 0; i < L; i++)
        m->rt[i].fused_act = -1;
    for (int i = 0; i < L; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        if (l->op != NN_OP_ACT || !m->rt[i].inplace)
            continue;
        int x = l->in[0];
        int conv = m->rt[x].folded_into >= 0 ? m->rt[x].folded_into : x;
        if (m->cfg.layers[conv].op == NN_OP_CONV && m->rt[conv].fused_act < 0) {
            m->rt[conv].fused_act = i;
            m->rt[i].act_fused = true;
        }
    }
}

/* Which tensors carry a gradient: those downstream of a parameter or of an input whose
 * gradient was asked for. */
static void mark_needs_grad(struct nn_model *m)
{
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        struct nn_lrt *r = &m->rt[i];
        r->needs_grad = l->op == NN_OP_INPUT ? r->want_grad : r->pw >= 0;
        for (int j = 0; j < l->nin; j++)
            r->needs_grad |= m->rt[l->in[j]].needs_grad;
    }
}

/* ----- memory plans -----------------------------------------------------------------------*/
/* Activations: one slot per storage root, live from its producer to its last consumer
 * (inference) or to the end (training). BN statistics ride along in training. */
static void plan_acts(struct nn_model *m)
{
    int L = m->cfg.n_layers;
    size_t n_bn = 0;
    for (int i = 0; i < L; i++)
        n_bn += m->cfg.layers[i].op == NN_OP_BN;
    struct nn_slot *s = tryon_xcalloc((size_t)(unsigned)L + n_bn, sizeof *s);
    for (int i = 0; i < L; i++) {
        s[i].start = i;
        s[i].end = -1;
    }
    for (int i = 0; i < L; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        int r = m->rt[i].aroot;
        if (r == i)
            s[i].size = round16((size_t)m->max_batch * l->c * l->h * l->w);
        int end = m->mode == NN_MODE_TRAIN ? L : m->rt[i].last_use;
        if (s[r].end < end)
            s[r].end = end;
    }
    int k = L;
    for (int i = 0; i < L; i++)
        if (m->cfg.layers[i].op == NN_OP_BN && m->mode == NN_MODE_TRAIN) {
            s[k].size = round16(2 * (size_t)m->cfg.layers[i].c);
            s[k].start = i;
            s[k].end = L;
            m->rt[i].stat_slot = k++;
        }
    size_t total = nn_plan_slots(s, k);
    m->act_mem = kern_alloc(m->ctx, total ? total : 16);
    m->mem.acts = total * sizeof(float);
    for (int i = 0; i < L; i++)
        m->rt[i].y = m->act_mem + s[m->rt[i].aroot].off;
    for (int i = 0; i < L; i++)
        if (m->cfg.layers[i].op == NN_OP_BN && m->mode == NN_MODE_TRAIN) {
            m->rt[i].smean = m->act_mem + s[m->rt[i].stat_slot].off;
            m->rt[i].sinv = m->rt[i].smean + m->cfg.layers[i].c;
        }
    free(s);

    size_t n_i32 = 0;
    if (m->mode == NN_MODE_TRAIN)
        for (int i = 0; i < L; i++)
            if (m->cfg.layers[i].op == NN_OP_MAXPOOL) {
                const struct nn_layer *l = &m->cfg.layers[i];
                m->rt[i].argmax_off = n_i32;
                n_i32 += round16((size_t)m->max_batch * l->c * l->h * l->w);
            }
    if (n_i32) {
        m->i32_mem = kern_alloc_i32(m->ctx, n_i32);
        m->mem.i32 = n_i32 * sizeof(int32_t);
        for (int i = 0; i < L; i++)
            if (m->cfg.layers[i].op == NN_OP_MAXPOOL)
                m->rt[i].argmax = m->i32_mem + m->rt[i].argmax_off;
    }
}

/* Activation gradients (training): the gradient of tensor t is written first by the
 * backward of its last consumer and read last by its own backward. Times: layer i's
 * backward runs at L - i; outputs' gradients are live from 0 (the caller fills them);
 * wanted input gradients stay live to the end (L + 1). */
static void plan_grads(struct nn_model *m)
{
    int L = m->cfg.n_layers;
    kern_release(m->ctx, m->agrad_mem);
    m->agrad_mem = NULL;
    mark_needs_grad(m);
    struct nn_slot *s = tryon_xcalloc((size_t)L, sizeof *s);
    for (int i = 0; i < L; i++) {
        s[i].start = L + 2;
        s[i].end = -1;
        m->rt[i].groot = m->cfg.layers[i].op == NN_OP_RESHAPE ? m->rt[m->cfg.layers[i].in[0]].groot : i;
    }
    for (int i = 0; i < L; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        if (!m->rt[i].needs_grad)
            continue;
        int r = m->rt[i].groot;
        if (r == i)
            s[i].size = round16((size_t)m->max_batch * l->c * l->h * l->w);
        int start = is_output(m, i) ? 0 : L + 1, end = l->op == NN_OP_INPUT ? L + 1 : L - i;
        for (int j = i + 1; j < L; j++)
            for (int q = 0; q < m->cfg.layers[j].nin; q++)
                if (m->cfg.layers[j].in[q] == i && L - j < start)
                    start = L - j;
        if (s[r].start > start)
            s[r].start = start;
        if (s[r].end < end)
            s[r].end = end;
    }
    for (int i = 0; i < L; i++)
        if (s[i].size == 0)
            s[i].end = -1; /* not a root or no gradient: the planner skips it */
    size_t total = nn_plan_slots(s, L);
    m->agrad_mem = kern_alloc(m->ctx, total ? total : 16);
    m->mem.act_grads = total * sizeof(float);
    for (int i = 0; i < L; i++) {
        struct nn_lrt *r = &m->rt[i];
        r->dy = r->needs_grad ? m->agrad_mem + s[r->groot].off : NULL;
        r->zero_at = (r->needs_grad && r->groot == i) ? s[i].start : -1;
    }
    free(s);
}

/* ----- create / free ----------------------------------------------------------------------*/
static enum tryon_status copy_cfg(struct nn_cfg *dst, const struct nn_cfg *src)
{
    *dst = *src;
    dst->layers = malloc((size_t)src->n_layers * sizeof *dst->layers);
    dst->outputs = malloc((size_t)(src->n_outputs ? src->n_outputs : 1) * sizeof *dst->outputs);
    if (!dst->layers || !dst->outputs)
        return tryon_fail(TRYON_ENOMEM, "nn: out of memory");
    memcpy(dst->layers, src->layers, (size_t)src->n_layers * sizeof *dst->layers);
    memcpy(dst->outputs, src->outputs, (size_t)src->n_outputs * sizeof *dst->outputs);
    return TRYON_OK;
}

struct kern_ctx *nn_ctx_create(int threads) { return kern_create(KERN_BACKEND_CPU, threads); }

void nn_ctx_free(struct kern_ctx *ctx) { kern_destroy(ctx); }

enum tryon_status nn_model_create(const struct nn_cfg *cfg, struct kern_ctx *ctx, int max_batch, enum nn_mode mode,
                                  struct nn_model **out)
{
    *out = NULL;
    if (max_batch < 1 || max_batch > (1 << 16))
        return tryon_fail(TRYON_EINVAL, "nn: batch size %d outside [1, 65536]", max_batch);
    if (cfg->n_layers < 1)
        return tryon_fail(TRYON_EINVAL, "nn: model '%s' has no layers", cfg->name);
    struct nn_model *m = calloc(1, sizeof *m);
    if (!m)
        return tryon_fail(TRYON_ENOMEM, "nn: out of memory");
    m->ctx = ctx;
    m->mode = mode;
    m->max_batch = max_batch;
    enum tryon_status s = copy_cfg(&m->cfg, cfg);
    m->rt = calloc((size_t)cfg->n_layers, sizeof *m->rt);
    if (s < 0 || !m->rt) {
        nn_model_free(m);
        return s < 0 ? s : tryon_fail(TRYON_ENOMEM, "nn: out of memory");
    }
    analyse(m);
    build_param_table(m);
    m->param_off = tryon_xcalloc((size_t)m->n_params + 1, sizeof *m->param_off);
    size_t np = layout_params(m);
    m->param_mem = kern_alloc(ctx, np ? np : 16);
    m->mem.params = np * sizeof(float);
    for (int i = 0; i < m->n_params; i++)
        m->params[i].data = m->param_mem + m->param_off[i];
    if (mode == NN_MODE_TRAIN) {
        m->grad_mem = kern_alloc(ctx, m->n_train ? m->n_train : 16);
        m->mem.grads = m->n_train * sizeof(float);
        for (int i = 0; i < m->n_params; i++)
            if (m->params[i].trainable)
                m->params[i].grad = m->grad_mem + m->param_off[i];
    }
    for (int i = 0; i < cfg->n_layers; i++) {
        struct nn_lrt *r = &m->rt[i];
        r->w = r->pw >= 0 ? m->params[r->pw].data : NULL;
        r->b = r->pb >= 0 ? m->params[r->pb].data : NULL;
        r->dw = r->pw >= 0 ? m->params[r->pw].grad : NULL;
        r->db = r->pb >= 0 ? m->params[r->pb].grad : NULL;
        r->rmean = r->pmean >= 0 ? m->params[r->pmean].data : NULL;
        r->rvar = r->pvar >= 0 ? m->params[r->pvar].data : NULL;
        r->fold_b = r->fold_bn >= 0 ? m->param_mem + r->fold_bias_off : NULL;
    }
    plan_acts(m);
    if (mode == NN_MODE_TRAIN)
        plan_grads(m);
    nn_model_init_params(m, 0);
    *out = m;
    return TRYON_OK;
}

void nn_model_free(struct nn_model *m)
{
    if (!m)
        return;
    kern_release(m->ctx, m->param_mem);
    kern_release(m->ctx, m->grad_mem);
    kern_release(m->ctx, m->act_mem);
    kern_release(m->ctx, m->agrad_mem);
    kern_release(m->ctx, m->i32_mem);
    kern_release(m->ctx, m->adam_mem);
    free(m->params);
    free(m->param_layer);
    free(m->param_off);
    free(m->rt);
    free(m->cfg.layers);
    free(m->cfg.outputs);
    free(m);
}

/* ----- named tensors ----------------------------------------------------------------------*/
static size_t numel(const struct nn_layer *l, int n)
{
    return (size_t)n * l->c * l->h * l->w;
}

static int find_input(const struct nn_model *m, const char *name)
{
    for (int i = 0; i < m->cfg.n_layers; i++)
        if (m->cfg.layers[i].op == NN_OP_INPUT && strcmp(m->cfg.layers[i].name, name) == 0)
            return i;
    return -1;
}

static int find_output(const struct nn_model *m, const char *name)
{
    for (int i = 0; i < m->cfg.n_outputs; i++)
        if (strcmp(m->cfg.outputs[i].name, name) == 0)
            return m->cfg.outputs[i].layer;
    return -1;
}

float *nn_model_input(struct nn_model *m, const char *name)
{
    int i = find_input(m, name);
    return i < 0 ? NULL : m->rt[i].y;
}

const float *nn_model_output(const struct nn_model *m, const char *name)
{
    int i = find_output(m, name);
    return i < 0 ? NULL : m->rt[i].y;
}

void nn_model_set_input(struct nn_model *m, const char *name, const float *host, size_t n)
{
    int i = find_input(m, name);
    assert(i >= 0 && n <= numel(&m->cfg.layers[i], m->max_batch));
    kern_upload(m->ctx, m->rt[i].y, host, n);
}

void nn_model_get_output(const struct nn_model *m, const char *name, float *host, size_t n)
{
    int i = find_output(m, name);
    assert(i >= 0 && n <= numel(&m->cfg.layers[i], m->max_batch));
    kern_download(m->ctx, host, m->rt[i].y, n);
}

float *nn_model_output_grad(struct nn_model *m, const char *name)
{
    int i = find_output(m, name);
    return i < 0 || m->mode != NN_MODE_TRAIN ? NULL : m->rt[i].dy;
}

const float *nn_model_input_grad(const struct nn_model *m, const char *name)
{
    int i = find_input(m, name);
    return i < 0 || !m->rt[i].want_grad ? NULL : m->rt[i].dy;
}

enum tryon_status nn_model_want_input_grad(struct nn_model *m, const char *name)
{
    int i = find_input(m, name);
    if (i < 0)
        return tryon_fail(TRYON_EINVAL, "nn: model '%s' has no input '%s'", m->cfg.name, name);
    if (m->mode != NN_MODE_TRAIN)
        return tryon_fail(TRYON_EUNSUPPORTED, "nn: input gradients need a TRAIN-mode model");
    if (!m->rt[i].want_grad) {
        m->rt[i].want_grad = true;
        plan_grads(m);
    }
    return TRYON_OK;
}

bool nn_model_tensor_shape(const struct nn_model *m, const char *name, int *c, int *h, int *w)
{
    int i = find_input(m, name);
    if (i < 0)
        i = find_output(m, name);
    if (i < 0)
        return false;
    *c = m->cfg.layers[i].c;
    *h = m->cfg.layers[i].h;
    *w = m->cfg.layers[i].w;
    return true;
}

/* ----- forward / backward -----------------------------------------------------------------*/
static struct kern_conv2d conv_desc(const struct nn_model *m, int i, int n)
{
    const struct nn_layer *l = &m->cfg.layers[i];
    const struct nn_layer *x = &m->cfg.layers[l->in[0]];
    struct kern_conv2d d = {.n = n, .c = x->c, .h = x->h, .w = x->w, .k = l->c, .r = l->k_h, .s = l->k_w,
                            .stride_h = l->stride, .stride_w = l->stride, .pad_h = l->pad, .pad_w = l->pad,
                            .dil_h = 1, .dil_w = 1, .opad_h = l->opad, .opad_w = l->opad, .groups = 1};
    if (l->op == NN_OP_CONVT)
        kern_convt2d_init(&d);
    else
        kern_conv2d_init(&d);
    assert(d.oh == l->h && d.ow == l->w);
    return d;
}

static struct kern_pool2d pool_desc(const struct nn_model *m, int i, int n)
{
    const struct nn_layer *l = &m->cfg.layers[i];
    const struct nn_layer *x = &m->cfg.layers[l->in[0]];
    struct kern_pool2d d = {.n = n, .c = x->c, .h = x->h, .w = x->w, .r = l->k_h, .s = l->k_w, .stride_h = l->stride,
                            .stride_w = l->stride, .pad_h = l->pad, .pad_w = l->pad, .count_include_pad = true};
    kern_pool2d_init(&d);
    assert(d.oh == l->h && d.ow == l->w);
    return d;
}

void nn_model_forward(struct nn_model *m, int n, bool train)
{
    assert(n >= 1 && n <= m->max_batch);
    assert(!train || m->mode == NN_MODE_TRAIN);
    assert(m->mode != NN_MODE_INFER_FOLD || m->folded);
    struct kern_ctx *ctx = m->ctx;
    m->cur_n = n;
    m->cur_train = train;
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        struct nn_lrt *r = &m->rt[i];
        const float *x = l->nin > 0 ? m->rt[l->in[0]].y : NULL;
        const float *x2 = l->nin > 1 ? m->rt[l->in[1]].y : NULL;
        const struct nn_layer *xl = l->nin > 0 ? &m->cfg.layers[l->in[0]] : NULL;
        switch (l->op) {
        case NN_OP_INPUT:
        case NN_OP_RESHAPE:
            break;
        case NN_OP_CONV: {
            struct kern_conv2d d = conv_desc(m, i, n);
            const float *b = r->fold_b ? r->fold_b : r->b;
            if (r->fused_act >= 0) {
                const struct nn_layer *a = &m->cfg.layers[r->fused_act];
                kern_conv2d_fwd_act(ctx, &d, x, r->w, b, a->act, a->slope, r->y);
            } else {
                kern_conv2d_fwd(ctx, &d, x, r->w, b, r->y);
            }
            break;
        }
        case NN_OP_CONVT: {
            struct kern_conv2d d = conv_desc(m, i, n);
            kern_convt2d_fwd(ctx, &d, x, r->w, r->fold_b ? r->fold_b : r->b, r->y);
            break;
        }
        case NN_OP_BN:
            if (r->folded_into >= 0)
                break;
            if (train)
                kern_bn_fwd_train(ctx, n, l->c, l->h * l->w, x, r->w, r->b, l->eps, l->momentum, r->rmean, r->rvar,
                                  r->smean, r->sinv, r->y);
            else
                kern_bn_fwd_infer(ctx, n, l->c, l->h * l->w, x, r->w, r->b, r->rmean, r->rvar, l->eps, r->y);
            break;
        case NN_OP_ACT:
            if (!r->act_fused)
                kern_act_fwd(ctx, l->act, l->slope, numel(l, n), x, r->y);
            break;
        case NN_OP_MAXPOOL: {
            struct kern_pool2d d = pool_desc(m, i, n);
            kern_maxpool2d_fwd(ctx, &d, x, r->y, train ? r->argmax : NULL);
            break;
        }
        case NN_OP_AVGPOOL: {
            struct kern_pool2d d = pool_desc(m, i, n);
            kern_avgpool2d_fwd(ctx, &d, x, r->y);
            break;
        }
        case NN_OP_GAP:
            kern_gap_fwd(ctx, n, l->c, xl->h * xl->w, x, r->y);
            break;
        case NN_OP_LINEAR:
            kern_linear_fwd(ctx, n, xl->c * xl->h * xl->w, l->c, x, r->w, r->b, r->y);
            break;
        case NN_OP_ADD:
            kern_add(ctx, numel(l, n), x, x2, r->y);
            break;
        case NN_OP_CONCAT:
            kern_concat_fwd(ctx, n, l->h * l->w, xl->c, x, m->cfg.layers[l->in[1]].c, x2, r->y);
            break;
        case NN_OP_UPSAMPLE:
            if (l->bilinear)
                kern_upsample_bilinear_fwd(ctx, n, l->c, xl->h, xl->w, l->h, l->w, x, r->y);
            else
                kern_upsample_nearest_fwd(ctx, n, l->c, xl->h, xl->w, l->factor, x, r->y);
            break;
        case NN_OP_TILE:
            kern_upsample_nearest_fwd(ctx, n, l->c, 1, 1, l->factor, x, r->y);
            break;
        }
    }
    if (train)
        for (int i = 0; i < m->cfg.n_layers; i++)
            if (m->rt[i].zero_at == 0)
                kern_zero(ctx, m->rt[i].dy, numel(&m->cfg.layers[i], n));
}

void nn_model_backward(struct nn_model *m)
{
    assert(m->mode == NN_MODE_TRAIN && m->cur_train);
    struct kern_ctx *ctx = m->ctx;
    int n = m->cur_n, L = m->cfg.n_layers;
    for (int i = L - 1; i >= 0; i--) {
        const struct nn_layer *l = &m->cfg.layers[i];
        struct nn_lrt *r = &m->rt[i];
        int t = L - i;
        for (int j = 0; j < i; j++)
            if (m->rt[j].zero_at == t)
                kern_zero(ctx, m->rt[j].dy, numel(&m->cfg.layers[j], n));
        if (!r->needs_grad || l->op == NN_OP_INPUT || l->op == NN_OP_RESHAPE)
            continue;
        const struct nn_layer *xl = &m->cfg.layers[l->in[0]];
        const struct nn_lrt *xr = &m->rt[l->in[0]];
        const float *x = xr->y, *dy = r->dy;
        float *dx = xr->needs_grad ? xr->dy : NULL;
        switch (l->op) {
        case NN_OP_INPUT:
        case NN_OP_RESHAPE:
            break;
        case NN_OP_CONV: {
            struct kern_conv2d d = conv_desc(m, i, n);
            if (dx)
                kern_conv2d_bwd_data(ctx, &d, dy, r->w, dx);
            kern_conv2d_bwd_filter(ctx, &d, x, dy, r->dw, r->db);
            break;
        }
        case NN_OP_CONVT: {
            struct kern_conv2d d = conv_desc(m, i, n);
            if (dx)
                kern_convt2d_bwd_data(ctx, &d, dy, r->w, dx);
            kern_convt2d_bwd_filter(ctx, &d, x, dy, r->dw, r->db);
            break;
        }
        case NN_OP_BN:
            kern_bn_bwd(ctx, n, l->c, l->h * l->w, dy, x, r->w, r->smean, r->sinv, dx, r->dw, r->db);
            break;
        case NN_OP_ACT:
            if (dx)
                kern_act_bwd(ctx, l->act, l->slope, numel(l, n), x, r->y, dy, dx);
            break;
        case NN_OP_MAXPOOL:
            if (dx) {
                struct kern_pool2d d = pool_desc(m, i, n);
                kern_maxpool2d_bwd(ctx, &d, dy, r->argmax, dx);
            }
            break;
        case NN_OP_AVGPOOL:
            if (dx) {
                struct kern_pool2d d = pool_desc(m, i, n);
                kern_avgpool2d_bwd(ctx, &d, dy, dx);
            }
            break;
        case NN_OP_GAP:
            if (dx)
                kern_gap_bwd(ctx, n, l->c, xl->h * xl->w, dy, dx);
            break;
        case NN_OP_LINEAR:
            kern_linear_bwd(ctx, n, xl->c * xl->h * xl->w, l->c, dy, x, r->w, dx, r->dw, r->db);
            break;
        case NN_OP_ADD: {
            const struct nn_lrt *br = &m->rt[l->in[1]];
            if (dx)
                kern_axpy(ctx, numel(l, n), 1.0f, dy, dx);
            if (br->needs_grad)
                kern_axpy(ctx, numel(l, n), 1.0f, dy, br->dy);
            break;
        }
        case NN_OP_CONCAT: {
            const struct nn_lrt *br = &m->rt[l->in[1]];
            kern_concat_bwd(ctx, n, l->h * l->w, xl->c, m->cfg.layers[l->in[1]].c, dy, dx,
                            br->needs_grad ? br->dy : NULL);
            break;
        }
        case NN_OP_UPSAMPLE:
            if (dx) {
                if (l->bilinear)
                    kern_upsample_bilinear_bwd(ctx, n, l->c, xl->h, xl->w, l->h, l->w, dy, dx);
                else
                    kern_upsample_nearest_bwd(ctx, n, l->c, xl->h, xl->w, l->factor, dy, dx);
            }
            break;
        case NN_OP_TILE:
            if (dx)
                kern_upsample_nearest_bwd(ctx, n, l->c, 1, 1, l->factor, dy, dx);
            break;
        }
    }
}

void nn_model_zero_grad(struct nn_model *m)
{
    if (m->grad_mem && m->n_train)
        kern_zero(m->ctx, m->grad_mem, m->n_train);
}

double nn_model_flops(const struct nn_model *m, int n)
{
    double f = 0;
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const struct nn_layer *l = &m->cfg.layers[i];
        if (l->nin == 0)
            continue;
        const struct nn_layer *x = &m->cfg.layers[l->in[0]];
        if (l->op == NN_OP_CONV)
            f += 2.0 * n * l->c * l->h * l->w * (double)x->c * l->k_h * l->k_w;
        else if (l->op == NN_OP_CONVT)
            f += 2.0 * n * x->c * x->h * x->w * (double)l->c * l->k_h * l->k_w;
        else if (l->op == NN_OP_LINEAR)
            f += 2.0 * n * (double)x->c * x->h * x->w * l->c;
    }
    return f;
}

/* ----- AdamW ------------------------------------------------------------------------------*/
struct nn_adamw_cfg nn_adamw_defaults(void)
{
    return (struct nn_adamw_cfg){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f,
                                 .decay_all = false};
}

void nn_model_adamw_step(struct nn_model *m, const struct nn_adamw_cfg *cfg)
{
    assert(m->mode == NN_MODE_TRAIN);
    if (!m->n_train)
        return;
    if (!m->adam_mem) {
        m->adam_mem = kern_alloc(m->ctx, 2 * m->n_train);
        m->mem.optim = 2 * m->n_train * sizeof(float);
    }
    m->adam_t++;
    float *mm = m->adam_mem, *vv = m->adam_mem + m->n_train;
    struct kern_adamw h = {.lr = cfg->lr, .beta1 = cfg->beta1, .beta2 = cfg->beta2, .eps = cfg->eps,
                           .weight_decay = cfg->weight_decay, .step = m->adam_t};
    if (cfg->decay_all) {
        kern_adamw_step(m->ctx, &h, m->n_train, m->param_mem, m->grad_mem, mm, vv);
        return;
    }
    if (m->n_decay)
        kern_adamw_step(m->ctx, &h, m->n_decay, m->param_mem, m->grad_mem, mm, vv);
    h.weight_decay = 0;
    size_t rest = m->n_train - m->n_decay;
    if (rest)
        kern_adamw_step(m->ctx, &h, rest, m->param_mem + m->n_decay, m->grad_mem + m->n_decay, mm + m->n_decay,
                        vv + m->n_decay);
}
