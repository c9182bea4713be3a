/* main.c: `tryon`, the one executable. Starts MPI (a plain `tryon` is a one-rank job),
 * dispatches to the subcommand and returns rank 0's verdict as the exit code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"

volatile sig_atomic_t farm_stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    farm_stop_requested = 1;
}

void farm_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int farm_parse_size(const char *s, int *w, int *h)
{
    char x;
    if (sscanf(s, "%d%c%d", w, &x, h) != 3 || (x != 'x' && x != 'X') || *w <= 0 || *h <= 0 || *w > 16384 ||
        *h > 16384)
        return -1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tryon COMMAND [options]   (run under mpirun -np N for a multi-rank job)\n"
            "\n"
            "commands:\n"
            "  render CATALOG.yaml --out DIR   render every pair of a catalog (resumes from DIR/journal.log)\n"
            "  check CATALOG.yaml              validate a catalog and its images without rendering\n"
            "  synth CONFIG.yaml --out DIR     synthetic photos + truth (configs/synth/demo.yaml: the demo)\n"
            "  train CONFIG.yaml [--out DIR]   train a network on a shard dataset (configs/train/README.md)\n"
            "  merge PART... --out DIR         merge the folders of `render --slice K/N` runs (array jobs)\n"
            "  info                            build options, backends, ranks, assets\n"
            "\n"
            "`tryon COMMAND --help` describes each command's options.\n");
}

int main(int argc, char **argv)
{
    int rank = 0, world = 1;
    comm_init(&argc, &argv, &rank, &world);
    log_set_rank(rank, world);
    int code;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (rank == 0)
            usage(argc < 2 ? stderr : stdout);
        code = argc < 2 ? FARM_EXIT_USAGE : FARM_EXIT_OK;
    } else if (!strcmp(argv[1], "render")) {
        code = farm_cmd_render(argc - 1, argv + 1, rank, world);
    } else if (!strcmp(argv[1], "check")) {
        code = farm_cmd_check(argc - 1, argv + 1, rank, world);
    } else if (!strcmp(argv[1], "info")) {
        code = farm_cmd_info(argc - 1, argv + 1, rank, world);
    } else if (!strcmp(argv[1], "merge")) {
        code = farm_cmd_merge(argc - 1, argv + 1, rank, world);
    } else if (!strcmp(argv[1], "synth")) {
        code = farm_cmd_synth(argc - 1, argv + 1, rank, world);
    } else if (!strcmp(argv[1], "train")) {
        code = farm_cmd_train(argc - 1, argv + 1, rank, world);
    } else {
        if (rank == 0) {
            fprintf(stderr, "tryon: unknown command '%s'\n", argv[1]);
            usage(stderr);
        }
        code = FARM_EXIT_USAGE;
    }
    comm_finalize();
    return code;
}
