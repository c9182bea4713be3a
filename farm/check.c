/* check.c: `tryon check` (validate a catalog and read its photos as the render would,
 * render nothing) and `tryon info` (what this build and machine offer). Both print on rank
 * 0 only. */
#include <string.h>

#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"
#include "kernels/kernels.h"
#include "raytrace/raytrace.h"
#include "scheduler/scheduler.h"
#include "worker/worker.h"

/* Read every photo that passed the file checks as the render reads it for its role
   (worker_photo_load: decode, segmentation, one whole figure with a head, no person as a
   garment); print each problem as the pair's record would say it, naming the catalog line.
   The number of photos with a problem. */
static int check_photos(const struct sched_catalog *cat, const struct img_limits *lim)
{
    int n = 0;
    for (int k = 0; k < 2; k++) {
        const struct sched_entry *e = k ? cat->garments : cat->persons;
        int ne = k ? cat->n_garments : cat->n_persons;
        for (int i = 0; i < ne; i++) {
            if (e[i].error || worker_photo_load(k ? WORKER_ASSET_GARMENT : WORKER_ASSET_PERSON, e[i].image_path,
                                                lim) == TRYON_OK)
                continue;
            fprintf(stderr, "%s:%d: %s %s: %s\n", cat->path, e[i].line, k ? "garment" : "person", e[i].id,
                    tryon_errmsg());
            n++;
        }
    }
    return n;
}

int farm_cmd_check(int argc, char **argv, int rank, int world)
{
    (void)world;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        if (rank == 0)
            printf("usage: tryon check CATALOG.yaml [--files-only]\n\n"
                   "Validates the catalog (keys, ids, pairs, render settings) and every image it names\n"
                   "(inside the catalog folder, present, a PNG, within the size limits), then reads each\n"
                   "photo as the render would (the subject keyed from its backdrop or alpha, one figure;\n"
                   "a person photo shows the whole person, head and feet inside the frame; a garment photo\n"
                   "shows no person), without rendering. --files-only: the file checks alone.\n"
                   "exit status: 0 no problems, 1 some images have problems (their pairs would fail),\n"
                   "2 the catalog itself cannot be used\n");
        return FARM_EXIT_OK;
    }
    bool files_only = argc == 3 && !strcmp(argv[2], "--files-only");
    if (argc != 2 && !files_only) {
        if (rank == 0)
            fprintf(stderr, "usage: tryon check CATALOG.yaml [--files-only]\n");
        return FARM_EXIT_USAGE;
    }
    if (rank != 0)
        return FARM_EXIT_OK;
    struct img_limits lim = img_default_limits();
    struct sched_catalog *cat;
    if (sched_catalog_load(argv[1], &lim, &cat)) {
        fprintf(stderr, "tryon check: %s\n", tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    int problems = sched_catalog_report(cat, stderr);
    if (!files_only)
        problems += check_photos(cat, &lim);
    printf("%s: %d persons, %d garments, %d pairs, %d problem%s\n", argv[1], cat->n_persons, cat->n_garments,
           cat->n_pairs, problems, problems == 1 ? "" : "s");
    sched_catalog_free(cat);
    return problems ? FARM_EXIT_FAILED : FARM_EXIT_OK;
}

int farm_cmd_info(int argc, char **argv, int rank, int world)
{
    (void)argv;
    if (argc > 1) {
        if (rank == 0)
            printf("usage: tryon info\n\nPrints the build options, compute backends, MPI ranks and asset folder.\n");
        return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? FARM_EXIT_OK : FARM_EXIT_USAGE;
    }
    if (rank != 0)
        return FARM_EXIT_OK;
    struct kern_info ki;
    kern_query(&ki);
    char host[256], lib[256];
    comm_describe(host, sizeof host, lib, sizeof lib);
    const char *assets = tryon_asset_dir();
    char base[4096];
    fs_join(base, sizeof base, assets, "3dobjs/base.obj");
    printf("tryon %s\n", TRYON_VERSION);
    printf("build:     C17, %s (%s)\n", TRYON_BUILD_TYPE, TRYON_BUILD_ID);
    printf("mpi:       %d rank%s on %s (%s)\n", world, world == 1 ? "" : "s", host, lib);
    printf("cpu:       %s SIMD, %d OpenMP threads\n", ki.cpu_isa, ki.omp_threads);
    if (!ki.cuda_built)
        printf("cuda:      not built (no nvcc at configure time)\n");
    else if (ki.cuda_devices > 0)
        printf("cuda:      built, %d GPU%s found (%s)\n", ki.cuda_devices, ki.cuda_devices == 1 ? "" : "s",
               ki.gpu_name);
    else
        printf("cuda:      built, no GPU found (cudaGetDeviceCount error %d)\n", ki.cuda_error);
    printf("backends:  ref, cpu%s\n", ki.cuda_devices > 0 ? ", cuda" : "");
    printf("nccl:      %s\n", TRYON_NCCL_BUILT ? "built" : "not built");
    printf("raytrace:  %s\n", rt_describe());
    printf("assets:    %s (%s)\n", assets, fs_exists(base) ? "present" : "MISSING: run scripts/fetch-assets.sh");
    return FARM_EXIT_OK;
}
