/* nn_internal.h: what the files of nn/ share and nobody else sees: the model struct, the
 * per-layer run-time record, the lifetime planner, and what the supervised trainer
 * (train.c) shares with the GAN trainer (gan.c): agreement over ranks, the batch order,
 * checkpoint folders, optimizer and per-rank buffer files. */
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

/* ===== shared by train.c and gan.c ======================================================*/
/* *comm, or the one-process transport when comm is NULL. */
struct nn_comm nn_tr_comm(const struct nn_comm *comm);
/* Every rank learns whether any rank failed; a rank that did not fail gets a message. */
enum tryon_status nn_tr_agree(const struct nn_comm *comm, enum tryon_status s);

/* The batch order: the epoch permutation of nn_data_permutation(seed, epoch) over n
 * training samples, cut into global batches of `batch` (remainder dropped); rank r takes
 * b samples from position pos + r * b. */
struct nn_tr_batches {
    uint64_t seed;
    int batch, b, rank, n;
    int epoch, pos;       /* next batch: permutation of `epoch`, from position `pos` */
    int perm_epoch;       /* epoch the perm array holds, -1 none */
    int32_t *perm, *idx;  /* (n), this step's slice (b) */
};
enum tryon_status nn_tr_batches_init(struct nn_tr_batches *bt, uint64_t seed, int batch, int b, int rank, int n);
void nn_tr_batches_free(struct nn_tr_batches *bt);
/* Fill bt->idx with this rank's slice of the next global batch; returns the position of
 * its first sample in the epoch permutation. */
int nn_tr_next_batch(struct nn_tr_batches *bt);

/* OUT/ckpt-NNNNNN into out ("" when too long). */
void nn_tr_ckpt_dir(const char *out_dir, int step, char *out, size_t cap);
/* Keep the two newest complete checkpoints; remove every other checkpoint folder. */
void nn_tr_prune_ckpts(const char *out_dir);
/* Write dir/state.json (j's text) then the empty dir/DONE. */
enum tryon_status nn_tr_write_state(const char *dir, struct json_w *j);
/* Rank 0: the newest complete checkpoint's step, epoch and position (0s when none), its
 * state.json checked against the config hash, the training count and the steps. */
enum tryon_status nn_tr_find_resume(const char *out_dir, const char *hash, int n_train, int steps, int world,
                                    int64_t st[3]);
/* AdamW state file: "adamw.m", "adamw.v" F32 [trainable floats], metadata "t". */
enum tryon_status nn_tr_save_optim(struct nn_model *m, struct kern_ctx *ctx, const char *path);
enum tryon_status nn_tr_load_optim(struct nn_model *m, const char *path);
/* One rank's own BN statistics (a checkpoint a signal forced off the grid):
 * OUT/ckpt-NNNNNN/<prefix>buffers-rank<r>-of<W>.safetensors. Loading a missing file is not
 * an error (nothing to restore); a model without buffers writes nothing. */
enum tryon_status nn_tr_rank_buffers_path(const char *out_dir, int step, const char *prefix,
                                          const struct nn_comm *comm, char *out, size_t cap);
enum tryon_status nn_tr_save_buffers(struct nn_model *m, struct kern_ctx *ctx, const char *path);
enum tryon_status nn_tr_load_buffers(struct nn_model *m, struct kern_ctx *ctx, const char *path);
/* Digest of parameters and buffers: update with each model, then the hex string. */
void nn_tr_digest_update(struct sha256 *h, struct nn_model *m, struct kern_ctx *ctx);
void nn_tr_digest_hex(struct sha256 *h, char out[65]);

/* The GAN trainer (gan.c): nn_train_run when cfg->gan is set. */
enum tryon_status nn_gan_run(const struct nn_train_cfg *cfg, const struct nn_comm *comm, struct kern_ctx *ctx,
                             const struct nn_train_opts *opts, struct nn_train_result *res);

#endif
