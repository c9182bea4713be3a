/* nn_internal.h: what the files of nn/ share and no other module sees (nn's tests may): the
 * safetensors, model, data-parallel and dataset functions only nn/ calls, the model struct,
 * the per-layer run-time record, the lifetime planner, and what the supervised trainer
 * (train.c) shares with the GAN trainer (gan.c): agreement over ranks, the batch order,
 * checkpoint folders, optimizer and per-rank buffer files. */
#ifndef TRYON_NN_INTERNAL_H
#define TRYON_NN_INTERNAL_H

#include "nn/nn.h"

/* ===== nn's internal API ================================================================
 * Used by the files of nn/ and by nn's tests (tests/nn, tests/farm/test_nn_mpi.c); no other
 * module calls these (the public ones are in nn.h). */

/* --- safetensors (format in nn.h) ---------------------------------------------------- */
/* nn_st_read from bytes in memory (copied); `name` is used in messages. */
enum tryon_status nn_st_parse(const uint8_t *bytes, size_t len, const char *name, struct nn_st_file **out);
const struct nn_st_tensor *nn_st_find(const struct nn_st_file *f, const char *name); /* NULL if absent */
size_t nn_st_numel(const struct nn_st_tensor *t);
const char *nn_dtype_name(enum nn_dtype d); /* "F32", ... */
/* Copy a tensor's bytes out (unaligned-safe). *_f32 asserts t is F32, *_i32 that it is I32. */
void nn_st_copy_f32(const struct nn_st_file *f, const struct nn_st_tensor *t, float *dst);
void nn_st_copy_i32(const struct nn_st_file *f, const struct nn_st_tensor *t, int32_t *dst);
/* Serialize to a malloc'd buffer (caller frees); nn_st_write writes these bytes. */
enum tryon_status nn_st_serialize(const struct nn_st_writer *w, uint8_t **bytes, size_t *len);

/* --- models: parameters, arenas, input gradients --------------------------------------*/
/* The model's own copy of its description. */
const struct nn_cfg *nn_model_cfg(const struct nn_model *m);
/* Parameters (trainable) and buffers (BN running statistics), by name, in a fixed order. */
struct nn_param_info {
    char name[NN_NAME_MAX + 16];
    int ndim;
    int64_t shape[4];
    size_t numel;
    bool trainable;       /* false for buffers */
    bool decay;           /* conv/linear weights: AdamW weight decay applies */
    float *data;          /* backend memory, inside the parameter allocation */
    float *grad;          /* backend memory (NULL for buffers and outside TRAIN mode) */
};
int nn_model_n_params(const struct nn_model *m);              /* params + buffers */
const struct nn_param_info *nn_model_param(const struct nn_model *m, int i);
const struct nn_param_info *nn_model_find_param(const struct nn_model *m, const char *name);
size_t nn_model_numel_trainable(const struct nn_model *m);
/* The flat arenas: trainable parameters first (decayed ones first), then buffers.
 * grads has nn_model_numel_trainable floats in the same order. */
float *nn_model_param_arena(const struct nn_model *m, size_t *numel_all);
float *nn_model_grad_arena(const struct nn_model *m);

/* Gradient of an input (after backward), when requested with nn_model_want_input_grad. */
const float *nn_model_input_grad(const struct nn_model *m, const char *name);
enum tryon_status nn_model_want_input_grad(struct nn_model *m, const char *name);
/* AdamW steps taken (nn_model_adamw_step). */
int nn_model_adamw_t(const struct nn_model *m);

/* --- data-parallel gradient averaging over the caller's struct nn_comm (nn.h) -----------*/
struct nn_dp;
/* Plan buckets of at most bucket_bytes (0 = 25 MiB) over the model's gradient arena, in
 * backward order (last layers first), each a run of whole parameters (a parameter bigger
 * than a bucket gets its own). On a CUDA context with NCCL built, creates the NCCL
 * communicator (unique id from rank 0 through comm->bcast, one per nn_dp); otherwise
 * gradients travel through comm->allreduce_sum (staged through host memory on CUDA).
 * comm is copied. */
enum tryon_status nn_dp_create(struct nn_model *m, const struct nn_comm *comm, size_t bucket_bytes,
                               struct nn_dp **out);
void nn_dp_free(struct nn_dp *dp);
int nn_dp_n_buckets(const struct nn_dp *dp);
/* Replace every gradient by its mean over ranks. Same result bytes on every rank. */
enum tryon_status nn_dp_average_grads(struct nn_dp *dp);
/* Copy parameters and buffers of rank `root` to every rank (start of training). */
enum tryon_status nn_dp_broadcast_params(struct nn_dp *dp, int root);
/* Replace BN running statistics by their mean over ranks (before saving or evaluating). */
enum tryon_status nn_dp_average_buffers(struct nn_dp *dp);
/* "nccl" or "host" */
const char *nn_dp_transport(const struct nn_dp *dp);

/* --- dataset: DIR/index.json (format "tryon-shards-1") + safetensors shards -------------
 * Every shard of one kind is loaded into RAM (inputs as bytes); the last val_shards shards
 * are the validation split, never trained on. */
struct nn_data;
enum nn_split { NN_SPLIT_TRAIN = 0, NN_SPLIT_VAL = 1 };
/* Open DIR/index.json, validate every field (shard files must lie inside DIR), and load
 * the shards of `kind`. Errors name the file (index.json field, or the shard). val_shards
 * must leave at least one training shard. */
enum tryon_status nn_data_open(const char *dir, const char *kind, int val_shards, struct nn_data **out);
/* As nn_data_open, and also load every shard's per-sample image tensor `image` (NULL =
 * none): U8 [n, C, B, B] with [C, B, B] given by index.json kinds.<kind>.<image>, and the
 * optional positive number kinds.<kind>.<image>_side_m (the image's side in metres). */
enum tryon_status nn_data_open_image(const char *dir, const char *kind, int val_shards, const char *image,
                                     struct nn_data **out);
void nn_data_free(struct nn_data *d);
/* The image tensor's per-sample shape (C, B, B) and side_m (NaN when index.json has none);
 * false when the dataset was opened without one. side_m may be NULL. */
bool nn_data_image_shape(const struct nn_data *d, int *c, int *side, double *side_m);
/* Image tensor of samples idx[0..n) of a split into host memory (n, C, B, B): byte / 127.5 - 1. */
void nn_data_fill_image(const struct nn_data *d, enum nn_split s, const int32_t *idx, int n, float *host);
int nn_data_count(const struct nn_data *d, enum nn_split s);   /* samples */
int nn_data_side(const struct nn_data *d);                     /* S of input [C, S, S] */
int nn_data_channels(const struct nn_data *d);                 /* C of input [C, S, S] */
int nn_data_n_targets(const struct nn_data *d);
const char *nn_data_target_name(const struct nn_data *d, int j);
int nn_data_target_index(const struct nn_data *d, const char *name); /* -1 when absent */
int nn_data_n_classes(const struct nn_data *d);                /* 0 when the kind has none */
const char *nn_data_class_name(const struct nn_data *d, int k);
bool nn_data_has_labels(const struct nn_data *d);
/* Sample i of a split: its target row (n_targets floats, NaN = absent) and class label. */
const float *nn_data_target(const struct nn_data *d, enum nn_split s, int i);
int32_t nn_data_label(const struct nn_data *d, enum nn_split s, int i);
/* Network input of samples idx[0..n) of a split into host memory (n, C, S, S):
 * byte / 127.5 - 1; flip[i] (flip may be NULL) mirrors sample i horizontally. */
void nn_data_fill_input(const struct nn_data *d, enum nn_split s, const int32_t *idx, int n, const bool *flip,
                        float *host);
/* The training order of one epoch: a permutation of 0..n-1 that depends only on (seed,
 * epoch). */
void nn_data_permutation(uint64_t seed, int epoch, int n, int32_t *perm);

/* --- training -------------------------------------------------------------------------*/
/* Learning rate of step s (1-based): linear warm-up to lr_max over `warmup` steps, then a
 * cosine from lr_max to lr_min at step `steps`. */
double nn_train_lr(const struct nn_train_cfg *cfg, int step);

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
