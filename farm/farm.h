/* farm.h: the commands of the `tryon` CLI and what they share (signals, exit codes).
 * farm/ is the top of the module stack: it may call every other module, and it is the
 * only place with MPI (through comm.h). */
#ifndef TRYON_FARM_H
#define TRYON_FARM_H

#include <signal.h>
#include <stdbool.h>

/* Exit codes of `tryon`. */
enum farm_exit {
    FARM_EXIT_OK = 0,          /* every pair (or check) succeeded */
    FARM_EXIT_FAILED = 1,      /* the job ran; some pairs failed (see the manifest) */
    FARM_EXIT_USAGE = 2,       /* bad command line or a catalog that cannot be used */
    FARM_EXIT_ENV = 3,         /* the environment failed: output folder, assets, MPI */
    FARM_EXIT_REQUEUE = 75,    /* stopped by a signal after draining: run again to resume */
};

/* Set by SIGTERM, SIGINT and SIGUSR1 (Slurm's preemption and pre-limit signals). */
extern volatile sig_atomic_t farm_stop_requested;
void farm_install_signals(void);

int farm_cmd_render(int argc, char **argv, int rank, int world);
int farm_cmd_check(int argc, char **argv, int rank, int world);
int farm_cmd_info(int argc, char **argv, int rank, int world);
int farm_cmd_synth(int argc, char **argv, int rank, int world);
/* train.c: `tryon train CONFIG.yaml`, data-parallel over the ranks. */
int farm_cmd_train(int argc, char **argv, int rank, int world);
/* shards.c: synth's shard mode (a config with `shards`): training data as safetensors shard
   files + index.json in out; every rank renders its share, rank 0 writes the index. */
struct worker;
struct worker_synth_config;
int farm_synth_shards(struct worker *wk, const struct worker_synth_config *cfg, const char *out, int rank, int world,
                      int threads, bool quiet);
int farm_cmd_merge(int argc, char **argv, int rank, int world);

/* Parse "WxH" into two positive ints; 0 on success. */
int farm_parse_size(const char *s, int *w, int *h);

#endif
