/* params.c: parameter values: seeded initialisation, safetensors load and save, single
 * parameter updates, and BN folding for NN_MODE_INFER_FOLD.
 *
 * Every parameter is initialised from its own RNG stream seeded by hash(seed, name), so a
 * value does not depend on the order of layers or on the backend. Host staging buffers
 * move values between files and backend memory. */
#include "nn/nn_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t max_param_numel(const struct nn_model *m)
{
    size_t mx = 1;
    for (int i = 0; i < m->n_params; i++)
        if (m->params[i].numel > mx)
            mx = m->params[i].numel;
    return mx;
}

/* fan_in of a weight as PyTorch computes it: shape[1] * receptive field. */
static double fan_in(const struct nn_param_info *w)
{
    double f = (double)w->shape[1];
    for (int d = 2; d < w->ndim; d++)
        f *= (double)w->shape[d];
    return f;
}

void nn_model_init_params(struct nn_model *m, uint64_t seed)
{
    float *host = tryon_xmalloc(max_param_numel(m) * sizeof *host);
    for (int i = 0; i < m->n_params; i++) {
        struct nn_param_info *p = &m->params[i];
        const struct nn_layer *l = &m->cfg.layers[m->param_layer[i]];
        struct rng r;
        rng_seed(&r, hash64(p->name, strlen(p->name), seed));
        const char *suffix = strrchr(p->name, '.') + 1;
        bool dcgan = m->cfg.init == NN_INIT_DCGAN && l->op != NN_OP_LINEAR;
        if (l->op == NN_OP_BN) {
            bool one = strcmp(suffix, "weight") == 0 || strcmp(suffix, "running_var") == 0;
            for (size_t j = 0; j < p->numel; j++)
                host[j] = one ? 1.0f : 0.0f;
            if (dcgan && strcmp(suffix, "weight") == 0)
                for (size_t j = 0; j < p->numel; j++)
                    host[j] = 1.0f + 0.02f * rng_normal(&r);
        } else if (dcgan) {
            bool w = strcmp(suffix, "weight") == 0;
            for (size_t j = 0; j < p->numel; j++)
                host[j] = w ? 0.02f * rng_normal(&r) : 0.0f;
        } else {
            /* torch default: kaiming_uniform(a = sqrt 5) for weights = U(+-1/sqrt(fan_in)),
             * and the same bound for biases. */
            const struct nn_param_info *w = &m->params[m->rt[m->param_layer[i]].pw];
            float bound = (float)(1.0 / sqrt(fan_in(w)));
            for (size_t j = 0; j < p->numel; j++)
                host[j] = bound * (2.0f * rng_float(&r) - 1.0f);
        }
        kern_upload(m->ctx, p->data, host, p->numel);
    }
    free(host);
    m->folded = false;
    if (m->mode == NN_MODE_INFER_FOLD)
        nn_model_fold(m);
}

void nn_model_fold(struct nn_model *m)
{
    assert(m->mode == NN_MODE_INFER_FOLD && !m->folded);
    size_t mx = max_param_numel(m);
    float *w = tryon_xmalloc(mx * sizeof *w), *st = tryon_xmalloc(4 * mx * sizeof *st), *b = tryon_xmalloc(mx * sizeof *b);
    for (int i = 0; i < m->cfg.n_layers; i++) {
        struct nn_lrt *r = &m->rt[i];
        if (r->fold_bn < 0)
            continue;
        const struct nn_layer *l = &m->cfg.layers[i], *bl = &m->cfg.layers[r->fold_bn];
        const struct nn_lrt *br = &m->rt[r->fold_bn];
        const struct nn_param_info *pw = &m->params[r->pw];
        int k = l->c;
        kern_download(m->ctx, w, r->w, pw->numel);
        if (r->b)
            kern_download(m->ctx, b, r->b, (size_t)k);
        else
            memset(b, 0, (size_t)k * sizeof *b);
        float *gamma = st, *beta = st + k, *mean = st + 2 * k, *var = st + 3 * k;
        kern_download(m->ctx, gamma, br->w, (size_t)k);
        kern_download(m->ctx, beta, br->b, (size_t)k);
        kern_download(m->ctx, mean, br->rmean, (size_t)k);
        kern_download(m->ctx, var, br->rvar, (size_t)k);
        if (l->op == NN_OP_CONV)
            kern_bn_fold(k, (int)(pw->numel / (size_t)k), w, b, gamma, beta, mean, var, bl->eps);
        else
            kern_bn_fold_t((int)pw->shape[0], k, 1, l->k_h * l->k_w, w, b, gamma, beta, mean, var, bl->eps);
        kern_upload(m->ctx, r->w, w, pw->numel);
        kern_upload(m->ctx, r->fold_b, b, (size_t)k);
    }
    free(w);
    free(st);
    free(b);
    m->folded = true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

enum tryon_status nn_model_load_st(struct nn_model *m, const struct nn_st_file *f)
{
    /* Check everything before touching the model, so a bad file leaves it as it was. */
    for (int i = 0; i < m->n_params; i++) {
        const struct nn_param_info *p = &m->params[i];
        const struct nn_st_tensor *t = nn_st_find(f, p->name);
        if (!t)
            return tryon_fail(TRYON_EFORMAT, "%s: missing tensor '%s' of model '%s'", f->path, p->name, m->cfg.name);
        if (t->dtype != NN_F32)
            return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' is %s, expected F32", f->path, p->name,
                              nn_dtype_name(t->dtype));
        bool same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++)
            same = t->shape[d] == p->shape[d];
        if (!same) {
            char a[96] = "", b[96] = "";
            for (int d = 0; d < t->ndim; d++)
                snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "," : "", (long long)t->shape[d]);
            for (int d = 0; d < p->ndim; d++)
                snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? "," : "", (long long)p->shape[d]);
            return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' has shape [%s], model '%s' expects [%s]", f->path,
                              p->name, a, m->cfg.name, b);
        }
    }
    for (size_t i = 0; i < f->n; i++)
        if (!nn_model_find_param(m, f->t[i].name) && !ends_with(f->t[i].name, ".num_batches_tracked"))
            return tryon_fail(TRYON_EFORMAT, "%s: tensor '%s' is not a parameter of model '%s'", f->path,
                              f->t[i].name, m->cfg.name);
    float *host = malloc(max_param_numel(m) * sizeof *host);
    if (!host)
        return tryon_fail(TRYON_ENOMEM, "nn: out of memory");
    for (int i = 0; i < m->n_params; i++) {
        const struct nn_param_info *p = &m->params[i];
        nn_st_copy_f32(f, nn_st_find(f, p->name), host);
        kern_upload(m->ctx, p->data, host, p->numel);
    }
    free(host);
    m->folded = false;
    if (m->mode == NN_MODE_INFER_FOLD)
        nn_model_fold(m);
    return TRYON_OK;
}

enum tryon_status nn_model_load(struct nn_model *m, const char *path)
{
    struct nn_st_file *f;
    enum tryon_status s = nn_st_read(path, 0, &f);
    if (s < 0)
        return s;
    s = nn_model_load_st(m, f);
    nn_st_free(f);
    return s;
}

enum tryon_status nn_model_save(const struct nn_model *m, const char *path, const char *const *extra_meta)
{
    if (m->folded)
        return tryon_fail(TRYON_EUNSUPPORTED, "%s: model '%s' has folded batch norms; save from a TRAIN or INFER model",
                          path, m->cfg.name);
    struct nn_st_writer *w = nn_st_writer_create();
    float *host = malloc(max_param_numel(m) * sizeof *host);
    if (!w || !host) {
        nn_st_writer_free(w);
        free(host);
        return tryon_fail(TRYON_ENOMEM, "nn: out of memory");
    }
    enum tryon_status s = nn_st_add_meta(w, "format", "tryon-nn");
    if (s == TRYON_OK)
        s = nn_st_add_meta(w, "model", m->cfg.name);
    if (s == TRYON_OK)
        s = nn_st_add_meta(w, "template", m->cfg.kind);
    for (int i = 0; extra_meta && extra_meta[i] && s == TRYON_OK; i += 2) {
        if (!extra_meta[i + 1])
            s = tryon_fail(TRYON_EINVAL, "nn: metadata key '%s' has no value", extra_meta[i]);
        else
            s = nn_st_add_meta(w, extra_meta[i], extra_meta[i + 1]);
    }
    for (int i = 0; i < m->n_params && s == TRYON_OK; i++) {
        const struct nn_param_info *p = &m->params[i];
        kern_download(m->ctx, host, p->data, p->numel);
        s = nn_st_add(w, p->name, NN_F32, p->ndim, p->shape, host);
    }
    if (s == TRYON_OK)
        s = nn_st_write(w, path);
    nn_st_writer_free(w);
    free(host);
    return s;
}
