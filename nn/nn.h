/* nn.h: the one public header of nn/, the networks of tryon-farm.
 *
 * What is here
 * - safetensors files (nn_st_*): read with full validation, write atomically.
 * - models (nn_model_*): a small graph of named layers built from a YAML description in
 *   configs/models/ (ResNet-style encoder, DCGAN-style conditional generator and
 *   discriminator), with forward, backward, AdamW, and weights I/O whose tensor names are
 *   the layer names ("stem.conv.weight", "layer1.0.bn1.running_mean"); the compute context
 *   they run on (nn_ctx_*) and host copies of their inputs and outputs, so that a caller
 *   that only runs networks (worker/) needs no kernels call.
 * - training (nn_train_*): the config and the data-parallel loop, the ranks' transport
 *   provided by the caller (struct nn_comm): bucketed in-place allreduce of the flat
 *   gradient arena; NCCL on CUDA builds that have it (TRYON_HAVE_NCCL), host staging
 *   through the callbacks otherwise.
 * What only nn/ (and its tests) call -- the dataset, the data-parallel planner, parameter
 * tables -- is declared in nn/nn_internal.h.
 *
 * Memory (sized up front and carved, as llm.c does): a model makes one backend allocation
 * per category -- parameters+buffers, parameter gradients, activations (+ one int32
 * allocation for max-pool winners), activation gradients, optimizer state (at the first
 * step). Activation and activation-gradient slots are placed by lifetime, so inference
 * reuses memory across layers and backward keeps only the live gradients.
 *
 * Tensors are float32 NCHW in backend memory (see kernels/kernels.h). A vector of C
 * features is the tensor (N, C, 1, 1).
 *
 * Ownership: *_create / *_load functions return objects the caller frees with the matching
 * *_free. Pointers returned by nn_model_input/output/... are owned by the model and stay
 * valid until nn_model_free. The model borrows the kern_ctx (the caller keeps it alive).
 */
#ifndef TRYON_NN_H
#define TRYON_NN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "kernels/kernels.h"

/* ===== safetensors ======================================================================
 * File = u64 little-endian header length L, L bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [a, b]}, ...,
 *    "__metadata__": {"key": "value", ...}}
 * then the raw little-endian tensor bytes; offsets are relative to the data start.
 * Reading validates: header bounds, JSON shape, known dtype, non-negative integral shape,
 * b - a == numel * element size, tensors covering the data exactly with no overlap or
 * hole, unique names, metadata values being strings. */
enum nn_dtype { NN_F32, NN_F64, NN_I32, NN_I64, NN_U8 };

struct nn_st_tensor {
    char *name;
    enum nn_dtype dtype;
    int ndim;              /* 0..8 */
    int64_t shape[8];
    size_t begin, end;     /* byte range in the data section */
};

struct nn_st_file {
    char *path;                 /* for messages */
    size_t n;                   /* tensors, in header order */
    struct nn_st_tensor *t;
    size_t n_meta;              /* __metadata__ pairs */
    char **meta_keys, **meta_vals;
    uint8_t *bytes;             /* the whole file */
    size_t len;
    size_t data_start;          /* 8 + header length */
};

/* Read and validate a file; max_bytes 0 = 4 GiB. Errors: TRYON_EIO, TRYON_ELIMIT,
 * TRYON_EFORMAT with "path: what" (the tensor named where one is at fault). */
enum tryon_status nn_st_read(const char *path, size_t max_bytes, struct nn_st_file **out);
void nn_st_free(struct nn_st_file *f);
const char *nn_st_meta(const struct nn_st_file *f, const char *key);                   /* NULL if absent */
/* Convenience for tests and tools: a malloc'd float copy of tensor `name`, checking dtype
 * F32 and, when expect_numel > 0, its element count. */
enum tryon_status nn_st_get_f32(const struct nn_st_file *f, const char *name, size_t expect_numel,
                                float **out, size_t *numel);

/* Writer: collects tensors (data copied) and metadata, then writes the file atomically. */
struct nn_st_writer;
struct nn_st_writer *nn_st_writer_create(void);
void nn_st_writer_free(struct nn_st_writer *w);
/* Add a tensor; fails with TRYON_EINVAL on a duplicate or over-long name. */
enum tryon_status nn_st_add(struct nn_st_writer *w, const char *name, enum nn_dtype dtype, int ndim,
                            const int64_t *shape, const void *data);
enum tryon_status nn_st_add_meta(struct nn_st_writer *w, const char *key, const char *value);
/* Write to path atomically (fs_write_atomic). */
enum tryon_status nn_st_write(const struct nn_st_writer *w, const char *path);

/* ===== model description ================================================================
 * A YAML file in configs/models/ names a template and its sizes; nn_cfg_load expands it
 * into a list of named layers. Templates (see configs/models/README.md for every key):
 *   resnet_encoder       image -> stem conv/bn/relu(/maxpool) -> stages of basic blocks ->
 *                        global average pool -> fc "features" -> linear heads
 *   dcgan_generator      concat(cond, noise) -> convT 1->4 -> convT x2 ... -> tanh image
 *   dcgan_discriminator  concat(image, tiled linear(cond)) -> strided convs -> 1 logit
 *   unet                 image -> conv pairs down (max-pool) and up (nearest x2, concat
 *                        with the encoder's level) -> conv to the output image (denoiser)
 */
enum nn_op {
    NN_OP_INPUT, NN_OP_CONV, NN_OP_CONVT, NN_OP_BN, NN_OP_ACT, NN_OP_MAXPOOL, NN_OP_AVGPOOL,
    NN_OP_GAP, NN_OP_LINEAR, NN_OP_ADD, NN_OP_CONCAT, NN_OP_UPSAMPLE, NN_OP_TILE, NN_OP_RESHAPE,
};

#define NN_NAME_MAX 64

/* One layer = one output tensor (N, c, h, w). */
struct nn_layer {
    char name[NN_NAME_MAX];  /* unique; parameter names are name + ".weight" etc. */
    enum nn_op op;
    int in[2];               /* producing layer indices (earlier in the list) */
    int nin;                 /* 0 (input), 1, or 2 (add, concat) */
    int c, h, w;             /* output shape per sample */
    /* op parameters (those the op uses) */
    int k_h, k_w, stride, pad, opad; /* conv, convT, pools: kernel, stride, padding, output padding */
    bool bias;               /* conv, convT, linear */
    enum kern_act act;       /* act */
    float slope;             /* leaky ReLU negative slope */
    float eps, momentum;     /* bn */
    int factor;              /* upsample nearest: integer factor; tile: output side */
    bool bilinear;           /* upsample: bilinear to (h, w) instead of nearest */
};

struct nn_output_spec {
    char name[NN_NAME_MAX];  /* public name ("beta", "features", "image", "logit") */
    int layer;               /* layer index whose tensor it is */
};

enum nn_init { NN_INIT_TORCH, NN_INIT_DCGAN };

struct nn_cfg {
    char name[NN_NAME_MAX];  /* model name from the YAML (goes into safetensors metadata) */
    char kind[32];           /* template name */
    int n_layers;
    struct nn_layer *layers; /* inputs first (NN_OP_INPUT), in graph order */
    int n_outputs;
    struct nn_output_spec *outputs;
    enum nn_init init;       /* default weight initialisation */
};

/* Parse a model YAML and expand it. Errors name path:line. */
enum tryon_status nn_cfg_load(const char *path, struct nn_cfg **out);
enum tryon_status nn_cfg_from_string(const char *yaml, const char *name, struct nn_cfg **out);
void nn_cfg_free(struct nn_cfg *cfg);
/* Give a fully convolutional model (one input; no linear, tile, reshape, global pooling or
 * bilinear resize) another input size h x w and infer every layer's shape again: the
 * parameters stay the same, so weights trained on small patches run on a whole tile.
 * TRYON_EINVAL naming the layer when the model is not fully convolutional or a size does
 * not fit (the U-Net's side must divide by 2^(levels - 1)). */
enum tryon_status nn_cfg_set_input_size(struct nn_cfg *cfg, int h, int w);

/* ===== models ===========================================================================*/
enum nn_mode {
    NN_MODE_TRAIN = 0,      /* gradients, all activations kept, forward(train) and forward(eval) */
    NN_MODE_INFER = 1,      /* forward(eval) only; activations share memory by lifetime */
    NN_MODE_INFER_FOLD = 2, /* as INFER, and every BN that follows a conv is folded into it
                               whenever parameters are set (load / init) */
};

struct nn_model;

/* A compute context on the CPU backend with `threads` threads (0 = all cores), for models
 * and for what else a caller shares it with (avatar's drape takes the same struct
 * kern_ctx). NULL with a message when it cannot be made. The caller owns it and frees it
 * with nn_ctx_free after every model made on it. */
struct kern_ctx *nn_ctx_create(int threads);
void nn_ctx_free(struct kern_ctx *ctx);   /* NULL is fine */

/* Build a model for batches of up to max_batch samples on ctx (borrowed). cfg is copied.
 * Every category of memory is allocated here (optimizer state at its first step). */
enum tryon_status nn_model_create(const struct nn_cfg *cfg, struct kern_ctx *ctx, int max_batch,
                                  enum nn_mode mode, struct nn_model **out);
void nn_model_free(struct nn_model *m);

/* Initialise every parameter from seed (cfg->init scheme; deterministic). */
void nn_model_init_params(struct nn_model *m, uint64_t seed);
/* Load all parameters and buffers from safetensors: every model tensor must be present
 * with dtype F32 and the model's shape; a file tensor the model does not know is an error
 * (PyTorch's "*.num_batches_tracked" counters are accepted and ignored). */
enum tryon_status nn_model_load(struct nn_model *m, const char *path);
enum tryon_status nn_model_load_st(struct nn_model *m, const struct nn_st_file *f);
/* Save all parameters and buffers (TRYON_EUNSUPPORTED on a folded model). The metadata
 * gets "model" = cfg name and "format" = "tryon-nn"; `extra_meta` (may be NULL) is a
 * NULL-terminated list of key, value, key, value, ... */
enum tryon_status nn_model_save(const struct nn_model *m, const char *path, const char *const *extra_meta);

/* Input and output tensors by name (backend memory, max_batch samples). Shapes via
 * nn_model_tensor_shape. NULL when there is no such input/output. */
float *nn_model_input(struct nn_model *m, const char *name);
const float *nn_model_output(const struct nn_model *m, const char *name);
/* Copy n floats of host memory into input `name`, or the first n floats of output `name`
 * into host memory (n <= max_batch samples of its shape; an unknown name or a bigger n is
 * a bug: assert). Waits for the copy (and, for an output, the forward before it). */
void nn_model_set_input(struct nn_model *m, const char *name, const float *host, size_t n);
void nn_model_get_output(const struct nn_model *m, const char *name, float *host, size_t n);
/* Gradient of an output (TRAIN mode): zeroed by every forward(train); the caller adds
 * d loss / d output into it (kern_loss_* do) before nn_model_backward. */
float *nn_model_output_grad(struct nn_model *m, const char *name);
/* Per-sample shape (c, h, w) of a named input or output; false when unknown. */
bool nn_model_tensor_shape(const struct nn_model *m, const char *name, int *c, int *h, int *w);

/* Forward n <= max_batch samples. train = batch-statistics BN (updates running stats) and
 * keeps what backward needs (TRAIN mode only); otherwise running statistics. */
void nn_model_forward(struct nn_model *m, int n, bool train);
/* Backward of the last forward(train): ACCUMULATES into parameter gradients (call
 * nn_model_zero_grad first, or not, to accumulate over micro-batches). */
void nn_model_backward(struct nn_model *m);
void nn_model_zero_grad(struct nn_model *m);

/* AdamW on every trainable parameter (torch.optim.AdamW semantics, see kern_adamw).
 * decay_all = false leaves biases and BN parameters out of weight decay. The moment
 * buffers are allocated (zeroed) at the first step; steps count from 1. */
struct nn_adamw_cfg {
    float lr, beta1, beta2, eps, weight_decay;
    bool decay_all;
};
struct nn_adamw_cfg nn_adamw_defaults(void); /* lr 1e-3, 0.9, 0.999, 1e-8, wd 0.01, decay_all false */
void nn_model_adamw_step(struct nn_model *m, const struct nn_adamw_cfg *cfg);

/* Bytes of backend memory per category (for reports and benchmarks). */
struct nn_mem {
    size_t params, grads, acts, act_grads, optim, i32;
};
void nn_model_mem(const struct nn_model *m, struct nn_mem *out);
/* Multiply-adds x2 of one forward of n samples (convs, convTs, linears). */
double nn_model_flops(const struct nn_model *m, int n);

/* ===== the ranks' transport ============================================================
 * Training averages gradients over ranks through a transport the caller provides
 * (farm/comm.c wraps MPI; tests use threads). */
struct nn_comm {
    int rank, world;
    void *user;
    /* in-place sum over ranks of n floats in host memory; 0 on success */
    int (*allreduce_sum)(void *user, float *buf, size_t n);
    /* broadcast n bytes from root to every rank; 0 on success */
    int (*bcast)(void *user, void *buf, size_t n, int root);
};


/* ===== training =========================================================================
 * `tryon train`: a shard dataset written by `tryon synth` (nn/data.c), a training config
 * (configs/train/README.md), and the data-parallel loop with checkpoints and resume
 * (nn/train.c). */
#define NN_MODEL_VERSION "1"   /* metadata "tryon_model_version" of trained weight files */

/* --- training config (a YAML in configs/train/) ----------------------------------------------*/
/* mse: standardised regression targets; softmax_ce: class labels; l1_image: mean absolute
   difference between an image output (C, B, B) and the dataset's image tensor `image`
   (U8 [n, C, B, B] as byte / 127.5 - 1), at most one such loss. */
enum nn_loss_type { NN_LOSS_MSE, NN_LOSS_SOFTMAX_CE, NN_LOSS_L1_IMAGE };
struct nn_train_loss {
    char output[NN_NAME_MAX];  /* model output (head) it applies to */
    enum nn_loss_type type;
    char image[NN_NAME_MAX];   /* l1_image: the dataset's image tensor */
    int n_targets;             /* mse: dataset target columns compared with the head's units */
    char (*targets)[NN_NAME_MAX];
    float weight;              /* factor of this loss in the total */
    int line;                  /* YAML line, for messages */
};
/* GAN mode (key `gan:` instead of `model:` and `losses:`; nn/gan.c): a conditional DCGAN
 * generator (inputs "features" and "noise", output "image") and discriminator (inputs
 * "image" and "features", output "logit") learn the dataset's image tensor `target` from
 * the "features" output of a frozen encoder (a trained weight file with metadata model_yaml)
 * applied to each sample's network input. Generator loss = adversarial * BCE(D(G(c, z)), 1)
 * + l1 * |G(c, z) - real|; discriminator loss = BCE(D(real, c), 1) + BCE(D(G(c, z), c), 0). */
struct nn_train_gan {
    char generator_path[1024];     /* model YAMLs, resolved against the config's folder */
    char discriminator_path[1024];
    char condition_path[1024];     /* the frozen encoder's weight file */
    char target[NN_NAME_MAX];      /* shard image tensor U8 [n, C, B, B] */
    double l1, adversarial;        /* loss weights (default 100, 1) */
    int line, line_generator, line_discriminator, line_condition, line_target;
};
struct nn_train_cfg {
    char path[1024];           /* the YAML file (messages); "" for a string */
    char name[NN_NAME_MAX];
    struct nn_train_gan *gan;  /* GAN mode when not NULL (then no model and no losses) */
    char model_path[1024];     /* resolved against the YAML's folder */
    char data_dir[1024];       /* resolved against the YAML's folder; --data replaces it */
    char kind[32];             /* dataset kind: "persons", "garments" */
    uint64_t seed;
    int batch;                 /* global batch, split evenly over ranks */
    int steps;
    double lr_max, lr_min;
    int warmup;                /* steps of linear warm-up, then cosine to lr_min */
    double weight_decay;
    int checkpoint_every;      /* steps; a checkpoint is also written at the end */
    int val_shards;
    double bucket_mb;          /* gradient allreduce bucket size */
    bool flip;                 /* augment: random horizontal flip (images only) */
    int log_every;             /* steps between log lines (default 1) */
    int n_losses;
    struct nn_train_loss *losses;
    /* lines of keys, for messages from checks made against the model and data */
    int line_model, line_batch, line_kind;
};
/* Parse a training YAML; every error names path:line. */
enum tryon_status nn_train_cfg_load(const char *path, struct nn_train_cfg **out);
void nn_train_cfg_free(struct nn_train_cfg *cfg);

/* --- the training loop ------------------------------------------------------------------*/
struct nn_train_opts {
    const char *out_dir;       /* checkpoints and the final weights (created) */
    FILE *log;                 /* rank 0's step lines (flushed); NULL = none */
    int log_every;             /* 0 = the config's */
    /* > 0: return TRYON_EINTERRUPTED after this step without writing anything more (tests:
     * a run killed between checkpoints) */
    int stop_after;
    /* when non-NULL and set (a signal), every rank stops after the current step, writes a
     * checkpoint and returns TRYON_EINTERRUPTED */
    volatile const sig_atomic_t *stop;
};
struct nn_train_result {
    int start_step;            /* 0, or the checkpoint resumed from */
    int steps_done;            /* last step completed */
    /* the losses below are, in GAN mode, the generator's L1 to the targets (tanh units) */
    double first_loss;         /* total training loss of the first step this run took */
    double last_loss;          /* total training loss of the last step */
    double val_loss;           /* validation loss at the last checkpoint (NaN without val shards) */
    double samples_per_s;      /* global samples per second over this run's steps */
    double comm_share;         /* fraction of step time in nn_dp_average_grads */
    char params_sha256[65];    /* digest of the final parameters and buffers (every rank; GAN:
                                  of the generator's, then the discriminator's) */
};
/* Train cfg's model on its dataset as rank comm->rank of comm->world (comm NULL = one
 * process). Resumes from the newest OUT/ckpt-NNNNNN holding DONE; writes a checkpoint every
 * checkpoint_every steps and at the end (keeping the last two), then OUT/model.safetensors
 * with the metadata inference needs (GAN mode: OUT/generator.safetensors and
 * OUT/discriminator.safetensors). Rank 0 writes every file. The same config, seed, data and
 * rank count give the same bytes, resumed or not. ctx is borrowed. */
enum tryon_status nn_train_run(const struct nn_train_cfg *cfg, const struct nn_comm *comm, struct kern_ctx *ctx,
                               const struct nn_train_opts *opts, struct nn_train_result *res);

#endif
