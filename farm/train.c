/* train.c: `tryon train CONFIG.yaml [--out DIR] [--data DIR] [--steps N] [--threads N] [--quiet]`:
 * data-parallel training of one network on a shard dataset (nn_train_run in nn/train.c),
 * alone or under mpirun (one rank per process, gradients averaged through comm.c's MPI
 * allreduce). CPU backend; with several ranks on a node each takes cores / local ranks
 * threads unless --threads says otherwise. SIGTERM/SIGINT/SIGUSR1 stop every rank after
 * the current step with a checkpoint (exit 75: run again to resume). */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"
#include "nn/nn.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tryon train CONFIG.yaml [--out DIR] [--data DIR] [--steps N] [--threads N] [--device cpu|cuda]\n"
               "                   [--quiet]\n"
               "\n"
               "Trains the model a training config names (configs/train/README.md) on a shard dataset\n"
               "written by `tryon synth`, data-parallel over the ranks of mpirun. DIR (default\n"
               "./train-<name>) receives ckpt-NNNNNN/ checkpoints and the final model.safetensors (a GAN\n"
               "config: generator.safetensors and discriminator.safetensors); a re-run resumes from the\n"
               "newest complete checkpoint. --data replaces the config's dataset\n"
               "folder, --steps its step count (a different run: its checkpoints do not mix), --threads\n"
               "the CPU threads per rank (default: cores / ranks on this node). --device cuda trains on the\n"
               "GPU of the rank's node-local index (a CUDA build; gradients then travel by NCCL when it\n"
               "was built, else through host memory over MPI).\n");
}

/* Ranks on this node, from the launcher's environment (Open MPI, MPICH, Slurm). */
static int local_ranks(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        int n = v ? atoi(v) : 0;
        if (n > 0)
            return n;
    }
    return 1;
}

static int exit_code(enum tryon_status s)
{
    switch (s) {
    case TRYON_OK: return FARM_EXIT_OK;
    case TRYON_EINTERRUPTED: return FARM_EXIT_REQUEUE;
    case TRYON_EINVAL:
    case TRYON_EFORMAT:
    case TRYON_ELIMIT: return FARM_EXIT_USAGE;
    default: return FARM_EXIT_ENV;
    }
}

int farm_cmd_train(int argc, char **argv, int rank, int world)
{
    static const struct option longs[] = {{"out", required_argument, 0, 'o'},   {"data", required_argument, 0, 'd'},
                                          {"steps", required_argument, 0, 's'}, {"threads", required_argument, 0, 't'},
                                          {"quiet", no_argument, 0, 'q'},       {"help", no_argument, 0, 'h'},
                                          {"device", required_argument, 0, 'D'}, {0, 0, 0, 0}};
    const char *out = NULL, *data = NULL;
    int steps = 0, threads = 0, c;
    bool quiet = false, bad = false, cuda = false;
    optind = 1;
    opterr = rank == 0;
    while ((c = getopt_long(argc, argv, "o:d:s:t:qhD:", longs, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'd') data = optarg;
        else if (c == 's') bad |= (steps = atoi(optarg)) <= 0;
        else if (c == 't') bad |= (threads = atoi(optarg)) <= 0;
        else if (c == 'q') quiet = true;
        else if (c == 'D') bad |= !(cuda = !strcmp(optarg, "cuda")) && strcmp(optarg, "cpu");
        else {
            if (rank == 0)
                usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? FARM_EXIT_OK : FARM_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || bad) {
        if (rank == 0)
            usage(stderr);
        return FARM_EXIT_USAGE;
    }
    /* every rank parses the config: a bad one stops them all the same way */
    struct nn_train_cfg *cfg = NULL;
    enum tryon_status s = nn_train_cfg_load(argv[optind], &cfg);
    if (s < 0) {
        if (rank == 0)
            fprintf(stderr, "tryon train: %s\n", tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    if (data && snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", data) >= (int)sizeof cfg->data_dir) {
        if (rank == 0)
            fprintf(stderr, "tryon train: --data: path too long\n");
        nn_train_cfg_free(cfg);
        return FARM_EXIT_USAGE;
    }
    if (steps) {
        cfg->steps = steps;
        if (cfg->warmup > steps)
            cfg->warmup = steps;
    }
    char out_def[PATH_MAX];
    if (!out) {
        snprintf(out_def, sizeof out_def, "train-%s", cfg->name);
        out = out_def;
    }
    if (!threads) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = (int)(cores > 0 ? cores : 1) / local_ranks();
        if (threads < 1)
            threads = 1;
    }
    const char *lr = getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    struct kern_ctx *ctx = cuda ? kern_create(KERN_BACKEND_CUDA, lr ? atoi(lr) : 0) : kern_create(KERN_BACKEND_CPU, threads);
    if (!ctx) {
        fprintf(stderr, "tryon train: rank %d: %s\n", rank, tryon_errmsg());
        nn_train_cfg_free(cfg);
        comm_abort(FARM_EXIT_ENV);
        return FARM_EXIT_ENV;
    }
    struct nn_comm comm;
    comm_nn(&comm);
    farm_install_signals();
    if (rank == 0 && !quiet)
        printf("tryon train: %s -> %s on %d rank%s x %d thread%s\n", cfg->path, out, world, world == 1 ? "" : "s",
               threads, threads == 1 ? "" : "s");
    struct nn_train_opts opts = {.out_dir = out, .log = quiet ? NULL : stdout, .stop = &farm_stop_requested};
    struct nn_train_result res;
    s = nn_train_run(cfg, &comm, ctx, &opts, &res);
    /* each rank reports its own failure; "another rank failed" echoes would only repeat it */
    if (s < 0 && s != TRYON_EINTERRUPTED && (rank == 0 || !strstr(tryon_errmsg(), "another rank failed")))
        fprintf(stderr, "tryon train: %s\n", tryon_errmsg());
    else if (rank == 0 && !quiet && s == TRYON_OK)
        printf("tryon train: steps %d-%d, %.1f samples/s, comm %.0f%%, final %s %.4g, val %s %.4g\n",
               res.start_step + 1, res.steps_done, res.samples_per_s, 100.0 * res.comm_share,
               cfg->gan ? "l1" : "loss", res.last_loss, cfg->gan ? "l1" : "loss", res.val_loss);
    kern_destroy(ctx);
    nn_train_cfg_free(cfg);
    return exit_code(s);
}
