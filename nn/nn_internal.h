/* nn_internal.h: what the files of nn/ share and nobody else sees: the model struct, the
 * per-layer run-time record, and the lifetime planner. */
#ifndef TRYON_NN_INTERNAL_H
#define TRYON_NN_INTERNAL_H

#include "nn/nn.h"

/* Per-layer run-time state. Pointers are backend memory carved from the model's arenas. */
struct nn_lrt {
    int consumers;        /* layers reading this output */
    int last_use;         /* index of the last consumer (n_layers for outputs and inputs) */
    int aroot;            /* layer whose activation slot this output uses (itself unless a view) */
    int groot;            /* layer whose gradient slot this output's gradient uses */
    bool inplace;         /* activation computed in place over its input */
    int folded_into;      /* BN folded into this conv layer (INFER_FOLD), else -1 */
    int fold_bn;          /* conv: the BN folded into it, else -1 */
    size_t fold_bias_off; /* conv with fold_bn: offset of its folded bias in the param arena */
    int fused_act;        /* conv: the in-place activation layer its forward applies (kern_conv2d_fwd_act), else -1 */
    bool act_fused;       /* activation layer computed by its conv's forward (skipped) */
    bool needs_grad;      /* this tensor carries a gradient in backward */
    bool want_grad;       /* input layer: the caller asked for its gradient */
    int zero_at;          /* backward time when its gradient slot is zeroed, -1 when never */
    int stat_slot;        /* planner slot of BN save_mean/save_invstd */
    size_t argmax_off;    /* maxpool: offset in the int32 arena */
    int pw, pb, pmean, pvar; /* parameter table indices, -1 when absent */
    float *y, *dy;        /* output (N,c,h,w) and its gradient */
    float *w, *b, *dw, *db;  /* weight/bias (conv, convT, linear) or gamma/beta (BN) and gradients */
    float *rmean, *rvar;  /* BN running statistics */
    float *smean, *sinv;  /* BN batch mean and 1/std saved by forward(train), (c) each */
    float *fold_b;        /* conv with a folded BN: the bias used instead of b */
    int32_t *argmax;      /* maxpool winners (training) */
};

struct nn_model {
    struct nn_cfg cfg;           /* owned copy */
    struct kern_ctx *ctx;        /* borrowed */
    enum nn_mode mode;
    int max_batch;
    struct nn_lrt *rt;           /* one per layer */
    int n_params;                /* parameters + buffers */
    struct nn_param_info *params;
    int *param_layer;            /* layer of each parameter */
    size_t *param_off;           /* float offset of each parameter in param_mem */
    size_t n_decay;              /* floats of decayed parameters (the arena's first part) */
    size_t n_train;              /* floats of trainable parameters (decayed + others) */
    size_t n_buffers;            /* floats of BN running statistics after them */
    float *param_mem, *grad_mem, *act_mem, *agrad_mem, *adam_mem;
    int32_t *i32_mem;
    struct nn_mem mem;
    int adam_t;                  /* AdamW steps taken */
    bool folded;                 /* INFER_FOLD: BNs are folded into the current weights */
    int cur_n;                   /* batch of the last forward */
    bool cur_train;              /* last forward was in training mode */
};

/* A buffer for the planner: `size` floats live over the inclusive time range [start, end].
 * Slots with end < start are skipped (offset 0). */
struct nn_slot {
    size_t size;
    int start, end;
    size_t off;                  /* filled by nn_plan_slots */
};
/* Place every slot at the lowest offset (in floats, 16-float aligned) that no slot of
 * overlapping lifetime uses, biggest first. Returns the arena size in floats. */
size_t nn_plan_slots(struct nn_slot *slots, int n);

/* Fold every BN of an INFER_FOLD model into its conv (params.c). */
void nn_model_fold(struct nn_model *m);

#endif
