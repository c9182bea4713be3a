/* check.c: `tryon check` (validate a catalog and read its photos as the render would,
 * render nothing) and `tryon info` (what this build and machine offer). Both print on rank
 * 0 only. */
#include <stdlib.h>
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
   The number of photos with a problem; bad[0][i] / bad[1][i] set for each person / garment
   with one (a file problem included). */
static int check_photos(const struct sched_catalog *cat, const struct img_limits *lim, bool *bad[2])
{
    int n = 0;
    for (int k = 0; k < 2; k++) {
        const struct sched_entry *e = k ? cat->garments : cat->persons;
        int ne = k ? cat->n_garments : cat->n_persons;
        for (int i = 0; i < ne; i++) {
            bad[k][i] = e[i].error != NULL;
            if (e[i].error || worker_photo_load(k ? WORKER_ASSET_GARMENT : WORKER_ASSET_PERSON, e[i].image_path,
                                                lim) == TRYON_OK)
                continue;
            bad[k][i] = true;
            fprintf(stderr, "%s:%d: %s %s: %s\n", cat->path, e[i].line, k ? "garment" : "person", e[i].id,
                    tryon_errmsg());
            n++;
        }
    }
    return n;
}

/* The photos found bad so far (check_photos' flags) and how many the estimates added. */
struct estimate_report { const struct sched_catalog *cat; bool **bad; int n; };

/* A failed estimate, said once per photo with its catalog line. */
static void report_estimate(void *ctx, bool garment, const char *id, const char *error)
{
    struct estimate_report *r = ctx;
    const struct sched_entry *e = garment ? r->cat->garments : r->cat->persons;
    int n = garment ? r->cat->n_garments : r->cat->n_persons, i = 0;
    while (i < n && strcmp(e[i].id, id))
        i++;
    if (i == n || r->bad[garment][i])
        return;
    r->bad[garment][i] = true;
    r->n++;
    fprintf(stderr, "%s:%d: %s\n", r->cat->path, e[i].line, error);
}

/* --estimate: the photos that passed the checks above (bad[0] / bad[1] false: persons /
   garments) estimated as the render would (the body fitted, the garment read:
   worker_check_estimates); those that fail are flagged in bad too. The number of photos
   whose estimate fails; -1 when the estimators cannot be set up (said). */
static int check_estimates(const struct sched_catalog *cat, const struct img_limits *lim, bool *bad[2])
{
    const bool *bad_p = bad[0], *bad_g = bad[1];
    int np = 0, ng = 0;
    int *pi = malloc(sizeof *pi * (size_t)(cat->n_persons + 1));
    int *gi = malloc(sizeof *gi * (size_t)(cat->n_garments + 1));
    struct worker_pair *pairs = calloc((size_t)(cat->n_persons + cat->n_garments + 1), sizeof *pairs);
    if (!pi || !gi || !pairs) {
        free(pi), free(gi), free(pairs);
        fprintf(stderr, "tryon check: out of memory for the estimates\n");
        return -1;
    }
    for (int i = 0; i < cat->n_persons; i++)
        if (!bad_p[i])
            pi[np++] = i;
    for (int i = 0; i < cat->n_garments; i++)
        if (!bad_g[i])
            gi[ng++] = i;
    int n = np && ng ? (np > ng ? np : ng) : 0;
    for (int k = 0; k < n; k++) {   /* every photo in one pair at least */
        const struct sched_entry *pe = &cat->persons[pi[k % np]], *ge = &cat->garments[gi[k % ng]];
        pairs[k] = (struct worker_pair){.person_id = pe->id, .person_image = pe->image_path,
                                        .height_hint_cm = (float)pe->height_cm, .garment_id = ge->id,
                                        .garment_image = ge->image_path, .garment_type = ge->type ? ge->type : ""};
    }
    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    worker_preset("preview", &ws);
    ws.out_dir = ".";
    ws.limits = *lim;
    const char *env = getenv("TRYON_MODELS");
    ws.models_dir = env && env[0] ? env : TRYON_MODEL_DIR;
    ws.cache_dir = "";
    struct worker *w = NULL;
    struct estimate_report ctx = {cat, bad, 0};
    if (n && worker_create(&ws, tryon_asset_dir(), &w)) {
        fprintf(stderr, "tryon check: the estimators: %s\n", tryon_errmsg());
        ctx.n = -1;
    } else if (n) {
        worker_check_estimates(w, pairs, n, report_estimate, &ctx);
    }
    worker_free(w);
    free(pi), free(gi), free(pairs);
    return ctx.n;
}

int farm_cmd_check(int argc, char **argv, int rank, int world)
{
    (void)world;
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        if (rank == 0)
            printf("usage: tryon check CATALOG.yaml [--files-only | --estimate]\n\n"
                   "Validates the catalog (keys, ids, pairs, render settings) and every image it names\n"
                   "(inside the catalog folder, present, a PNG, within the size limits), then reads each\n"
                   "photo as the render would (the subject keyed from its backdrop or alpha, one figure;\n"
                   "a person photo shows the whole person, head and feet inside the frame; a garment photo\n"
                   "shows no person), without rendering. --files-only: the file checks alone.\n"
                   "--estimate: also estimate each photo as the render would (the body fitted, the\n"
                   "garment read: about a second a person photo), for the checks on the estimates\n"
                   "(the stature, the garment's outline).\n"
                   "exit status: 0 no problems, 1 some images have problems (their pairs would fail),\n"
                   "2 the catalog itself cannot be used\n");
        return FARM_EXIT_OK;
    }
    bool files_only = argc == 3 && !strcmp(argv[2], "--files-only");
    bool estimate = argc == 3 && !strcmp(argv[2], "--estimate");
    if (argc != 2 && !files_only && !estimate) {
        if (rank == 0)
            fprintf(stderr, "usage: tryon check CATALOG.yaml [--files-only | --estimate]\n");
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
    bool *bad[2] = {calloc((size_t)cat->n_persons + 1, 1), calloc((size_t)cat->n_garments + 1, 1)};
    if (!bad[0] || !bad[1]) {
        fprintf(stderr, "tryon check: out of memory\n");
        free(bad[0]), free(bad[1]);
        sched_catalog_free(cat);
        return FARM_EXIT_USAGE;
    }
    if (!files_only)
        problems += check_photos(cat, &lim, bad);
    int est = estimate ? check_estimates(cat, &lim, bad) : 0;
    free(bad[0]), free(bad[1]);
    if (est < 0) {
        sched_catalog_free(cat);
        return FARM_EXIT_USAGE;
    }
    problems += est;
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
