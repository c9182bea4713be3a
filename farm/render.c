/* render.c: `tryon render`, the farm itself (DESIGN.md section 2).
 *
 * Every rank parses the catalog (it is small and on the shared filesystem). Rank 0 is
 * the master: it validates, opens the journal, plans what is left, hands out chunks of
 * pair indices on request (guided self-scheduling: big chunks first, small at the end),
 * appends each finished pair's record to the journal (fsynced) and aggregates at the end.
 * With other ranks present it renders nothing; alone, it renders every pair itself.
 * A signal (SIGTERM, SIGINT, SIGUSR1) drains: no new work, in-flight pairs finish, the
 * journal is complete, the outputs are aggregated, and the exit code asks for a requeue.
 *
 * Faults (README "Operating on a cluster"): a failed pair is retried on another worker
 * (--retries); a worker failing FARM_MAX_STREAK pairs in a row gets no more work; a pair
 * overdue by --pair-timeout writes its rank off as hung (the job ends with MPI_Abort once
 * the rest is done, since a hung rank never finalizes); each render is read back and
 * checked against its record. Open MPI here has no ULFM, so a dead rank ends the job:
 * OUT/inflight.log records every assignment, and on the signal mpirun sends before
 * killing, the master prints what each rank held. Results are journaled in groups (one
 * fsync per burst). --simulate, --chunking and --slice serve benchmarks and array jobs. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"
#include "scheduler/scheduler.h"
#include "worker/worker.h"

struct render_opts {
    const char *catalog;
    const char *out;
    const char *preset;   /* NULL = the catalog's, else preview */
    const char *size;     /* "WxH" or NULL */
    long long seed;       /* -1 = the catalog's */
    int spp;              /* 0 = preset/catalog */
    double noise_threshold; /* --noise-threshold T; < 0 = the preset's */
    int denoise;          /* --denoise 1, --no-denoise 0; -1 = the preset's */
    const char *crop;     /* --crop X,Y,W,H or NULL */
    bool film;            /* --film */
    int threads;          /* 0 = all */
    bool aovs, meshes, quiet;
    const char *simulate; /* --simulate DIST or NULL */
    bool chunking_static; /* --chunking static (default guided) */
    int slice_k, slice_n; /* --slice K/N; slice_n = 0: the whole catalog */
    double pair_timeout;  /* seconds, 0 = none */
    int retries;          /* extra attempts of a failed pair */
    const char *models;   /* --models DIR | none; NULL = $TRYON_MODELS, else the shipped models/ */
    int views;            /* --views N, 0 = none */
    bool turntable;       /* --turntable */
    bool all_sizes;       /* --all-sizes */
    const char *cache;    /* --cache DIR | none; NULL = OUT/assets */
    char cache_dir[PATH_MAX]; /* the folder resolved ("" = none) */
};

static void render_usage(FILE *f)
{
    fprintf(f,
            "usage: tryon render CATALOG.yaml --out DIR [options]\n"
            "\n"
            "Renders every person x garment pair of the catalog into DIR/renders/<person>/<garment>.png,\n"
            "with DIR/manifest.jsonl, DIR/summary.json, DIR/contact/ and DIR/index.html. Re-running the\n"
            "same command resumes: pairs already in DIR/journal.log are not rendered again.\n"
            "\n"
            "options:\n"
            "  --out DIR             output folder (required)\n"
            "  --preset NAME         preview (256x384, 16 spp) | catalog (1024x1536, 256 spp) |\n"
            "                        hero (2048x3072, 1024 spp); default: the catalog's, else preview\n"
            "  --seed N              job seed (default: the catalog's, else 1)\n"
            "  --size WxH            override the output size\n"
            "  --spp N               override the samples per pixel (with --noise-threshold: the most)\n"
            "  --noise-threshold T   adaptive sampling: a pixel stops once its estimated error (one\n"
            "                        standard error, display values 0..1, worst channel over its 3x3\n"
            "                        neighbourhood) is below T; from 16 samples, doubling; 0 = off\n"
            "  --crop X,Y,W,H        render only this window of the image (its pixels as in the whole\n"
            "                        render): a preview of a region, or a benchmark's reference\n"
            "  --denoise, --no-denoise  the learned denoiser (models/denoiser.safetensors) on the\n"
            "                        render, guided by its albedo and normal; on by default at the\n"
            "                        catalog and hero presets\n"
            "  --threads N           render threads per rank (default: all cores)\n"
            "  --aovs                also write alpha, depth, normal and albedo images to DIR/aovs/\n"
            "  --meshes              also write the body and garment as OBJ to DIR/meshes/\n"
            "  --film                also write the render as floats (Portable Float Maps): radiance,\n"
            "                        albedo, normal and samples per pixel, DIR/film/<person>/<garment>.*.pfm\n"
            "  --views N             also write N views evenly around the body, view 0 the front (the\n"
            "                        main render), to DIR/views/<person>/<garment>/<k>.png\n"
            "  --turntable           also write the views as an animated WebP (one turn in 4 s, looping) to\n"
            "                        DIR/views/<person>/<garment>.webp; 12 views unless --views says\n"
            "  --all-sizes           a garment with a size chart: drape every size and write each to\n"
            "                        DIR/renders/<person>/<garment>@<size>.png (the main render shows the\n"
            "                        recommended size)\n"
            "  --quiet               no progress line\n"
            "  --slice K/N           render only block K (0..N-1) of N contiguous blocks of the catalog's\n"
            "                        pairs (for array jobs: one OUT per slice, then `tryon merge`)\n"
            "  --retries N           retry a failed pair N times on another worker (default 1)\n"
            "  --models DIR|none     the trained estimators (body_encoder, garment_encoder .safetensors);\n"
            "                        default $TRYON_MODELS, else the shipped models/ folder; none = the\n"
            "                        classical estimators (also the fallback for a missing model file)\n"
            "  --cache DIR|none      the asset cache: each estimated person and garment is kept there under\n"
            "                        a hash of its photo's bytes, the estimators and the settings, and read\n"
            "                        back by any job that meets the same photo (jobs and ranks may share\n"
            "                        the folder; renders are the same bytes either way); default\n"
            "                        DIR/assets; none = estimate every photo\n"
            "  --pair-timeout S      a pair with no result after S seconds fails (retried elsewhere) and\n"
            "                        its rank gets no more work (default: no timeout); a worker estimates\n"
            "                        up to 8 new persons and 8 new garments before its next pair\n"
            "  --chunking MODE       guided (default: chunks shrink as work runs out) | static (one\n"
            "                        contiguous block per worker)\n"
            "  --simulate DIST       no images: each pair sleeps a cost drawn per pair from DIST\n"
            "                        (const:MS, exp:MS, lognormal:MS:SIGMA; MS = mean milliseconds)\n"
            "                        and OUT/simulate.json reports the scheduler's efficiency\n"
            "\n"
            "exit status: 0 all pairs ok, 1 some failed (see DIR/manifest.jsonl), 2 bad arguments or\n"
            "catalog, 3 environment failure, 75 stopped by a signal (run again to resume). A worker that\n"
            "fails 3 pairs in a row gets no more work; its rank is named.\n");
}

/* ---- simulated pairs (--simulate DIST): the scheduler alone, no images ---- */
enum sim_kind { SIM_OFF = 0, SIM_CONST, SIM_EXP, SIM_LOGNORMAL };
struct sim_dist {
    enum sim_kind kind;
    double mean_s;   /* mean task cost, seconds */
    double sigma;    /* lognormal: standard deviation of log(cost) */
};

/* "const:MS", "exp:MS" or "lognormal:MS:SIGMA" (MS = mean milliseconds); 0 on success. */
static int sim_parse(const char *s, struct sim_dist *d)
{
    char kind[16];
    double ms = 0, sigma = 1.0;
    int n = sscanf(s, "%15[a-z]:%lf:%lf", kind, &ms, &sigma);
    if (n < 2 || !(ms > 0) || ms > 3600e3 || !(sigma > 0) || sigma > 4)
        return -1;
    d->mean_s = ms / 1000.0;
    d->sigma = sigma;
    if (!strcmp(kind, "const") && n == 2)
        d->kind = SIM_CONST;
    else if (!strcmp(kind, "exp") && n == 2)
        d->kind = SIM_EXP;
    else if (!strcmp(kind, "lognormal"))
        d->kind = SIM_LOGNORMAL;
    else
        return -1;
    return 0;
}

static int parse_opts(int argc, char **argv, int rank, struct render_opts *o)
{
    static const struct option longs[] = {
        {"out", required_argument, 0, 'o'},   {"preset", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},  {"size", required_argument, 0, 'z'},
        {"spp", required_argument, 0, 'n'},   {"threads", required_argument, 0, 't'},
        {"aovs", no_argument, 0, 'a'},        {"meshes", no_argument, 0, 'm'},
        {"quiet", no_argument, 0, 'q'},       {"help", no_argument, 0, 'h'},
        {"simulate", required_argument, 0, 'S'}, {"chunking", required_argument, 0, 'C'},
        {"slice", required_argument, 0, 'K'}, {"pair-timeout", required_argument, 0, 'T'},
        {"retries", required_argument, 0, 'R'}, {"models", required_argument, 0, 'M'},
        {"views", required_argument, 0, 'V'}, {"turntable", no_argument, 0, 'W'},
        {"all-sizes", no_argument, 0, 'A'},   {"noise-threshold", required_argument, 0, 'E'},
        {"denoise", no_argument, 0, 'D'},     {"no-denoise", no_argument, 0, 'd'},
        {"crop", required_argument, 0, 'X'},  {"film", no_argument, 0, 'F'},
        {"cache", required_argument, 0, 'c'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->seed = -1;
    o->noise_threshold = -1;
    o->denoise = -1;
    o->retries = 1;
    opterr = rank == 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:p:s:z:n:t:amqhS:C:K:T:R:M:V:WAE:DdX:Fc:", longs, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'p': o->preset = optarg; break;
        case 's':
            o->seed = strtoll(optarg, &end, 10);
            if (*end || o->seed < 0) {
                if (rank == 0) fprintf(stderr, "tryon render: --seed needs a non-negative integer\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'z': o->size = optarg; break;
        case 'n':
            o->spp = (int)strtol(optarg, &end, 10);
            if (*end || o->spp <= 0 || o->spp > 65536) {
                if (rank == 0) fprintf(stderr, "tryon render: --spp needs an integer in 1..65536\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 't':
            o->threads = (int)strtol(optarg, &end, 10);
            if (*end || o->threads < 0) {
                if (rank == 0) fprintf(stderr, "tryon render: --threads needs a non-negative integer\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'M': o->models = optarg; break;
        case 'c':
            if (!optarg[0]) {
                if (rank == 0) fprintf(stderr, "tryon render: --cache needs a folder or none\n");
                return FARM_EXIT_USAGE;
            }
            o->cache = optarg;
            break;
        case 'V':
            o->views = (int)strtol(optarg, &end, 10);
            if (*end || o->views < 1 || o->views > 360) {
                if (rank == 0) fprintf(stderr, "tryon render: --views needs an integer in 1..360\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'E':
            o->noise_threshold = strtod(optarg, &end);
            if (*end || !(o->noise_threshold >= 0) || o->noise_threshold > 1) {
                if (rank == 0) fprintf(stderr, "tryon render: --noise-threshold needs a number in 0..1 (0 = off)\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'D': o->denoise = 1; break;
        case 'X': o->crop = optarg; break;
        case 'F': o->film = true; break;
        case 'd': o->denoise = 0; break;
        case 'W': o->turntable = true; break;
        case 'A': o->all_sizes = true; break;
        case 'a': o->aovs = true; break;
        case 'm': o->meshes = true; break;
        case 'q': o->quiet = true; break;
        case 'S': {
            struct sim_dist d;
            if (sim_parse(optarg, &d)) {
                if (rank == 0) fprintf(stderr, "tryon render: --simulate needs const:MS, exp:MS or lognormal:MS:SIGMA\n");
                return FARM_EXIT_USAGE;
            }
            o->simulate = optarg;
            break;
        }
        case 'C':
            if (strcmp(optarg, "static") && strcmp(optarg, "guided")) {
                if (rank == 0) fprintf(stderr, "tryon render: --chunking is static or guided\n");
                return FARM_EXIT_USAGE;
            }
            o->chunking_static = !strcmp(optarg, "static");
            break;
        case 'K': {
            char slash;
            if (sscanf(optarg, "%d%c%d", &o->slice_k, &slash, &o->slice_n) != 3 || slash != '/' || o->slice_n < 1 ||
                o->slice_k < 0 || o->slice_k >= o->slice_n) {
                if (rank == 0) fprintf(stderr, "tryon render: --slice needs K/N with 0 <= K < N\n");
                return FARM_EXIT_USAGE;
            }
            break;
        }
        case 'T':
            o->pair_timeout = strtod(optarg, &end);
            if (*end || !(o->pair_timeout > 0) || o->pair_timeout > 1e6) {
                if (rank == 0) fprintf(stderr, "tryon render: --pair-timeout needs seconds > 0\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'R':
            o->retries = (int)strtol(optarg, &end, 10);
            if (*end || o->retries < 0 || o->retries > 100) {
                if (rank == 0) fprintf(stderr, "tryon render: --retries needs an integer in 0..100\n");
                return FARM_EXIT_USAGE;
            }
            break;
        case 'h':
            if (rank == 0) render_usage(stdout);
            return -1;
        default:
            if (rank == 0) render_usage(stderr);
            return FARM_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !o->out) {
        if (rank == 0) {
            fprintf(stderr, "tryon render: %s\n", optind != argc - 1 ? "give exactly one CATALOG.yaml" : "--out DIR is required");
            render_usage(stderr);
        }
        return FARM_EXIT_USAGE;
    }
    o->catalog = argv[optind];
    return 0;
}

/* Preset, then the catalog's render map, then the command line. */
static int resolve_settings(struct render_opts *o, const struct sched_catalog *cat, int rank,
                            struct worker_settings *s)
{
    memset(s, 0, sizeof *s);
    const char *preset = o->preset ? o->preset : cat->render.preset[0] ? cat->render.preset : "preview";
    if (worker_preset(preset, s)) {
        if (rank == 0) fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    if (cat->render.width > 0) s->width = cat->render.width;
    if (cat->render.height > 0) s->height = cat->render.height;
    if (cat->render.spp > 0) s->spp = cat->render.spp;
    if (cat->render.max_depth > 0) s->max_depth = cat->render.max_depth;
    if (o->size && farm_parse_size(o->size, &s->width, &s->height)) {
        if (rank == 0) fprintf(stderr, "tryon render: --size needs WxH, e.g. 256x384\n");
        return FARM_EXIT_USAGE;
    }
    if (o->spp) s->spp = o->spp;
    if (o->noise_threshold >= 0) s->noise_threshold = (float)o->noise_threshold;
    if (o->denoise >= 0) s->denoise = o->denoise;
    if (o->crop) {
        struct rt_crop *c = &s->crop;
        char end;
        if (sscanf(o->crop, "%d,%d,%d,%d%c", &c->x, &c->y, &c->w, &c->h, &end) != 4 || c->x < 0 || c->y < 0 ||
            c->w < 1 || c->h < 1 || c->x > s->width - c->w || c->y > s->height - c->h) {
            if (rank == 0) fprintf(stderr, "tryon render: --crop needs X,Y,W,H: a window inside the %dx%d image\n",
                                   s->width, s->height);
            return FARM_EXIT_USAGE;
        }
    }
    s->out_dir = o->out;
    s->job_seed = o->seed >= 0 ? (uint64_t)o->seed : cat->seed;
    s->threads = o->threads;
    s->write_aovs = o->aovs || cat->render.aovs;
    s->write_meshes = o->meshes || cat->render.meshes;
    s->write_film = o->film;
    s->limits = img_default_limits();
    const char *env = getenv("TRYON_MODELS");
    s->models_dir = o->models ? o->models : env && env[0] ? env : TRYON_MODEL_DIR;
    if (!strcmp(s->models_dir, "none"))
        s->models_dir = "";
    /* a preset that denoises, with no denoiser to run: what the preset rendered before it
       (its raw sample count, no threshold), unless the command line or catalog set them */
    char why[400];
    if (s->denoise && !worker_denoiser_present(s->models_dir, why, sizeof why)) {
        if (o->spp == 0 && cat->render.spp <= 0 && o->noise_threshold < 0)
            worker_preset_without_denoiser(s);
        s->denoise = false;
        if (rank == 0)
            fprintf(stderr, "tryon render: no denoiser (%s): renders are not denoised; %d samples per pixel%s\n", why,
                    s->spp, s->noise_threshold > 0 ? " at most" : "");
    }
    s->views = o->views ? o->views : o->turntable ? 12 : 0;
    s->turntable = o->turntable;
    s->all_sizes = o->all_sizes;
    /* the asset cache does not decide output bytes: it is not in job.json, and a resume may
       use another folder */
    if (o->cache && !strcmp(o->cache, "none"))
        o->cache_dir[0] = 0;
    else if (o->cache ? snprintf(o->cache_dir, sizeof o->cache_dir, "%s", o->cache) >= (int)sizeof o->cache_dir
                      : fs_join(o->cache_dir, sizeof o->cache_dir, o->out, "assets") != TRYON_OK) {
        if (rank == 0) fprintf(stderr, "tryon render: --cache: the folder's name is too long\n");
        return FARM_EXIT_USAGE;
    }
    s->cache_dir = o->cache_dir;
    if (s->turntable && !worker_has_webp()) {
        if (rank == 0) fprintf(stderr, "tryon render: --turntable needs libwebp: this build was configured without "
                                       "it (install libwebp-dev, e.g. scripts/install-deps.sh, and configure again)\n");
        return FARM_EXIT_USAGE;
    }
    return 0;
}

/* OUT/job.json records the settings that decide output bytes, and the build that started
 * the folder. Resuming into a folder rendered with other settings would mix two jobs: it is
 * refused with a clear error. Another build may resume (a fix, a new release): it says so,
 * since its renders may differ in bytes from those journaled, and job.json keeps the first. */
static int check_job_file(const struct worker_settings *s, const struct render_opts *o)
{
    char path[PATH_MAX];
    if (fs_join(path, sizeof path, s->out_dir, "job.json"))
        return FARM_EXIT_ENV;
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "preset"); json_str(&w, s->preset);
    json_key(&w, "width"); json_int(&w, s->width);
    json_key(&w, "height"); json_int(&w, s->height);
    json_key(&w, "spp"); json_int(&w, s->spp);
    json_key(&w, "max_depth"); json_int(&w, s->max_depth);
    if (s->noise_threshold > 0) {   /* written only when set, so folders of older builds resume */
        json_key(&w, "noise_threshold"); json_numf(&w, s->noise_threshold, 6);
    }
    if (s->denoise) {
        json_key(&w, "denoise"); json_bool(&w, true);
    }
    if (s->crop.w) {
        json_key(&w, "crop"); json_arr_begin(&w); json_int(&w, s->crop.x); json_int(&w, s->crop.y);
        json_int(&w, s->crop.w); json_int(&w, s->crop.h); json_arr_end(&w);
    }
    json_key(&w, "seed"); json_int(&w, (long long)s->job_seed);
    json_key(&w, "models"); json_str(&w, s->models_dir[0] ? s->models_dir : "none");
    if (o->simulate) {
        json_key(&w, "simulate"); json_str(&w, o->simulate);
    }
    if (o->slice_n) {
        json_key(&w, "slice"); json_int(&w, o->slice_k);
        json_key(&w, "of"); json_int(&w, o->slice_n);
    }
    size_t settings_len = w.len; /* the settings end here; the build follows */
    json_key(&w, "build"); json_str(&w, TRYON_BUILD_ID);
    json_obj_end(&w);
    char text[8192];
    snprintf(text, sizeof text, "%s\n", w.buf);
    size_t tlen = strlen(text);
    int code = 0;
    uint8_t *old;
    size_t len;
    if (fs_exists(path)) {
        if (fs_read_all(path, 1 << 20, &old, &len) == TRYON_OK) {
            const char *ob = strstr((char *)old, ",\"build\":");
            size_t olen = ob ? (size_t)(ob - (char *)old) : strcspn((char *)old, "}");
            if (olen != settings_len || memcmp(old, text, olen) != 0) {
                fprintf(stderr, "tryon render: %s was rendered with other settings (%.*s}); now %.*s}. "
                        "Use another --out folder or remove it.\n", s->out_dir, (int)olen, (char *)old,
                        (int)settings_len, text);
                code = FARM_EXIT_USAGE;
            } else {
                struct json_val *v = NULL;
                const char *build = json_parse((const char *)old, len, path, &v) == TRYON_OK ? json_get_str(v, "build") : NULL;
                if (!build || strcmp(build, TRYON_BUILD_ID))
                    fprintf(stderr, "tryon render: %s was started by build %s; this is build %s: its renders may "
                            "differ in bytes from those already journaled\n", s->out_dir, build ? build : "(unrecorded)",
                            TRYON_BUILD_ID);
                json_free(v);
            }
            free(old);
        }
    } else if (fs_write_atomic(path, text, tlen)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        code = FARM_EXIT_ENV;
    }
    json_w_free(&w);
    return code;
}

/* ---- progress (rank 0) ---- */
struct progress {
    bool quiet, tty;
    int total, done, failed;   /* this run's pairs */
    double t0, last_print;
};

static void progress_print(struct progress *p, bool final)
{
    if (p->quiet)
        return;
    double now = time_now();
    if (!final && !p->tty && now - p->last_print < 10.0)
        return;
    if (!final && p->tty && now - p->last_print < 0.2)
        return;
    p->last_print = now;
    double minutes = (now - p->t0) / 60.0;
    double rate = minutes > 0 ? p->done / minutes : 0;
    char eta[32] = "--:--";
    if (rate > 0 && p->done < p->total) {
        int s = (int)((p->total - p->done) / rate * 60.0);
        snprintf(eta, sizeof eta, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    } else if (p->done >= p->total) {
        snprintf(eta, sizeof eta, "0:00:00");
    }
    printf("%s[%d/%d] %d failed, %.1f pairs/min, ETA %s%s", p->tty ? "\r" : "", p->done, p->total, p->failed, rate,
           eta, p->tty ? "   " : "\n");
    if (p->tty && final)
        printf("\n");
    fflush(stdout);
}

static void pair_of(const struct sched_catalog *cat, uint64_t job_seed, int idx, struct worker_pair *wp)
{
    const struct sched_entry *pe = &cat->persons[cat->pairs[idx].person];
    const struct sched_entry *ge = &cat->garments[cat->pairs[idx].garment];
    wp->person_id = pe->id;
    wp->person_image = pe->image_path;
    wp->height_hint_cm = (float)pe->height_cm;
    wp->garment_id = ge->id;
    wp->garment_image = ge->image_path;
    wp->garment_type = ge->type ? ge->type : "";
    _Static_assert((int)SCHED_SIZE_KEYS == (int)AVATAR_FIT_NREGIONS && SCHED_MAX_SIZES <= WORKER_MAX_SIZES,
                   "a catalog's size rows fit a worker_pair's");
    for (int k = 0; k < SCHED_SIZE_KEYS; k++)
        wp->garment_size_cm[k] = (float)ge->size_cm[k];
    wp->n_sizes = ge->n_sizes;
    for (int i = 0; i < ge->n_sizes; i++) {
        wp->sizes[i].name = ge->sizes[i].name;
        for (int k = 0; k < SCHED_SIZE_KEYS; k++)
            wp->sizes[i].cm[k] = (float)ge->sizes[i].cm[k];
    }
    wp->seed = hash_pair_seed(job_seed, pe->id, ge->id);
}

/* Whether the progress line may redraw itself with \r. Under mpirun a rank's stdout is a
 * pseudo-terminal that mpirun copies to its own stdout, which may be a file or a pipe
 * (a batch log): then ask where mpirun's (our parent's) stdout really goes. */
static bool stdout_is_terminal(void)
{
    if (!isatty(STDOUT_FILENO))
        return false;
    if (!getenv("OMPI_COMM_WORLD_SIZE"))
        return true;
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%ld/fd/1", (long)getppid());
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = 0;
    return strncmp(target, "/dev/pts/", 9) == 0 || strncmp(target, "/dev/tty", 8) == 0;
}


/* A pair's simulated cost in seconds, drawn from the pair seed: the same pair costs the
 * same on every rank and run, so static and dynamic chunking see identical work. */
static double sim_cost(const struct sim_dist *d, uint64_t pair_seed)
{
    struct rng r;
    rng_seed(&r, pair_seed);
    switch (d->kind) {
    case SIM_CONST: return d->mean_s;
    case SIM_EXP: return -d->mean_s * log(1.0 - rng_double(&r));
    case SIM_LOGNORMAL: return d->mean_s * exp(d->sigma * rng_normal(&r) - 0.5 * d->sigma * d->sigma);
    default: assert(0); return 0;
    }
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !farm_stop_requested)
        ;
}

static void sleep_ms(int ms) { sleep_s(ms / 1000.0); }

/* A failed record made by farm/ itself (verification, injected fault); fault as in worker.h. */
static void failed_record(struct json_w *r, const char *person, const char *garment, int rank, const char *fault,
                          const char *error)
{
    json_w_reset(r);
    json_obj_begin(r);
    json_key(r, "person"); json_str(r, person);
    json_key(r, "garment"); json_str(r, garment);
    json_key(r, "status"); json_str(r, "failed");
    json_key(r, "fault"); json_str(r, fault);
    json_key(r, "error"); json_str(r, error);
    json_key(r, "output"); json_str(r, NULL);
    json_key(r, "sha256"); json_str(r, NULL);
    json_key(r, "bytes"); json_int(r, 0);
    json_key(r, "rank"); json_int(r, rank);
    json_obj_end(r);
}

/* After an ok render: the file named in the record exists, has the recorded size and
 * SHA-256, and decodes as a PNG. A mismatch turns the record into a failure (retried). */
static void verify_output(const char *out_dir, int rank, const struct worker_pair *wp, struct json_w *rec)
{
    if (!strstr(rec->buf, "\"status\":\"ok\""))
        return;
    char why[PATH_MAX + 200], err[PATH_MAX + 220];
    if (!sched_verify_output(out_dir, rec->buf, rec->len, true, why, sizeof why)) {
        snprintf(err, sizeof err, "output check: %s", why);
        failed_record(rec, wp->person_id, wp->garment_id, rank, "output", err);
    }
}

/* What one rank does with one pair: render (or simulate) it, check the output, and leave
 * its record in rec. TRYON_OK whenever there is a record. */
struct pair_ctx {
    const struct sched_catalog *cat;
    struct worker *wk;            /* NULL when simulating */
    const struct sim_dist *sim;
    uint64_t job_seed;
    const char *out_dir;
    bool fail_injected;           /* TRYON_TEST_FAIL_RANKS names this rank */
};

static enum tryon_status do_pair(const struct pair_ctx *c, int idx, int rank, struct json_w *rec)
{
    struct worker_pair wp;
    pair_of(c->cat, c->job_seed, idx, &wp);
    if (c->fail_injected) {
        failed_record(rec, wp.person_id, wp.garment_id, rank, "rank", "injected failure (TRYON_TEST_FAIL_RANKS)");
        return TRYON_OK;
    }
    if (c->sim->kind != SIM_OFF) {
        double cost = sim_cost(c->sim, wp.seed);
        sleep_s(cost);
        json_w_reset(rec);
        json_obj_begin(rec);
        json_key(rec, "person"); json_str(rec, wp.person_id);
        json_key(rec, "garment"); json_str(rec, wp.garment_id);
        json_key(rec, "status"); json_str(rec, "ok");
        json_key(rec, "error"); json_str(rec, NULL);
        json_key(rec, "simulated"); json_bool(rec, true);
        json_key(rec, "rank"); json_int(rec, rank);
        json_key(rec, "seconds"); json_obj_begin(rec); json_key(rec, "total"); json_numf(rec, cost, 4); json_obj_end(rec);
        json_obj_end(rec);
        return TRYON_OK;
    }
    enum tryon_status s = worker_run_pair(c->wk, &wp, rank, rec);
    if (!s)
        verify_output(c->out_dir, rank, &wp, rec);
    return s;
}

/* Before rendering chunk pairs idx[0..n): the worker estimates the persons and garments of
 * the leading ones together (worker_prepare_chunk, a batch through the networks), looking at
 * most FARM_PREPARE_AHEAD pairs ahead. Returns how many leading pairs are ready (all of them
 * when there is nothing to estimate: simulated or failing by injection). */
#define FARM_PREPARE_AHEAD 64
static int prepare_ahead(const struct pair_ctx *c, const int32_t *idx, int n)
{
    if (!c->wk || c->fail_injected || c->sim->kind != SIM_OFF)
        return n;
    struct worker_pair wp[FARM_PREPARE_AHEAD];
    int m = n < FARM_PREPARE_AHEAD ? n : FARM_PREPARE_AHEAD;
    for (int i = 0; i < m; i++)
        pair_of(c->cat, c->job_seed, idx[i], &wp[i]);
    return worker_prepare_chunk(c->wk, wp, m);
}

/* What the asset cache did on this rank, one line on stderr (not with --quiet). */
static void report_cache(const struct worker *wk, const struct worker_settings *ws, int rank, bool quiet)
{
    if (!wk || quiet || !ws->cache_dir[0])
        return;
    struct worker_cache_stats st;
    worker_cache_counts(wk, &st);
    fprintf(stderr, "tryon render: rank %d: asset cache %s: %lld hits, %lld misses, %lld invalid (estimated again), "
            "%lld stored, %lld not stored\n", rank, ws->cache_dir, st.hits, st.misses, st.invalid, st.writes,
            st.write_errors);
}

/* Whether TRYON_TEST_FAIL_RANKS (comma-separated ranks; a test hook) names this rank. */
static bool fail_injected(int rank)
{
    const char *e = getenv("TRYON_TEST_FAIL_RANKS");
    for (const char *p = e; p && *p;) {
        char *end;
        long r = strtol(p, &end, 10);
        if (end == p)
            break;
        if (r == rank)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* ---- rank 0 alone: the link to itself ----
 * The master asks, gets chunks and reads results through the same link as over MPI; here
 * "sending" a chunk stores it and each poll renders its next pair. After a signal the
 * rest of the chunk is abandoned (a LEAVING message), as a worker rank does. */
struct self_link {
    const struct pair_ctx *pc;
    int32_t *chunk;
    int n, pos, cap;
    int ready;                /* chunk[pos..ready) are prepared (prepare_ahead) */
    bool asked, stopped;
    int code;                 /* FARM_EXIT_ENV when a pair could not even be recorded */
    struct json_w rec;
};

static char *xstrndup(const char *s, size_t n)
{
    char *d = tryon_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int self_poll(void *user, struct comm_msg *msg)
{
    struct self_link *l = user;
    if (l->stopped)
        return 0;
    *msg = (struct comm_msg){0, COMM_TAG_REQUEST, xstrndup("", 0), 0};
    if (!l->asked) {
        l->asked = true;
        return 1;
    }
    if (l->pos >= l->n)
        return 0; /* waiting for an answer */
    if (farm_stop_requested || l->code) {
        msg->tag = COMM_TAG_LEAVING;
        l->stopped = true;
        return 1;
    }
    if (l->pos == l->ready)
        l->ready = l->pos + prepare_ahead(l->pc, l->chunk + l->pos, l->n - l->pos);
    if (do_pair(l->pc, l->chunk[l->pos], 0, &l->rec)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        l->code = FARM_EXIT_ENV;
        msg->tag = COMM_TAG_LEAVING;
        l->stopped = true;
        return 1;
    }
    l->pos++;
    free(msg->data);
    *msg = (struct comm_msg){0, COMM_TAG_RESULT, xstrndup(l->rec.buf, l->rec.len), l->rec.len};
    if (l->pos >= l->n)
        l->asked = false; /* the chunk is done: ask again on the next poll */
    return 1;
}

static void self_send(void *user, int dst, const int32_t *pairs, int n)
{
    struct self_link *l = user;
    assert(dst == 0);
    if (n == 0) {
        l->stopped = true;
        return;
    }
    if (n > l->cap) {
        l->cap = n;
        l->chunk = tryon_xrealloc(l->chunk, sizeof *l->chunk * (size_t)n);
    }
    memcpy(l->chunk, pairs, sizeof *pairs * (size_t)n);
    l->n = n;
    l->pos = l->ready = 0;
}

/* ---- the master: scheduler/master.c's state machine over a link ---- */
#define FARM_MAX_STREAK 3

struct serve_io {
    const struct sched_catalog *cat;
    struct sched_journal *j;
    struct progress *pg;
    FILE *inflight;           /* OUT/inflight.log: every assignment, for post-mortems (NULL alone) */
    char **batch;             /* journal records waiting for the next group commit */
    int n_batch, cap_batch;
    long long messages;       /* sent and received by the master */
    bool abort;               /* a rank hung: end the job with MPI_Abort */
    int code;
};

/* Journal the batch in one write + fsync and count it. */
static void serve_flush(struct serve_io *io)
{
    if (io->n_batch == 0)
        return;
    if (!io->code && sched_journal_append_batch(io->j, (const char *const *)io->batch, io->n_batch)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        io->code = FARM_EXIT_ENV;
    }
    for (int i = 0; i < io->n_batch; i++) {
        if (!io->code) {
            io->pg->done++;
            if (!strstr(io->batch[i], "\"status\":\"ok\""))
                io->pg->failed++;
        }
        free(io->batch[i]);
    }
    io->n_batch = 0;
    progress_print(io->pg, false);
}

/* What every rank holds now, on stderr (after a signal: e.g. mpirun ending the job
 * because a rank died). */
static void print_held(const struct sched_master *sm, const struct sched_catalog *cat, int world, const char *why)
{
    for (int r = 1; r < world; r++) {
        const int32_t *held;
        int n = sched_master_held(sm, r, &held);
        if (n == 0)
            continue;
        fprintf(stderr, "tryon render: %s: rank %d holds %d unfinished pair%s:", why, r, n, n == 1 ? "" : "s");
        for (int i = 0; i < n && i < 8; i++)
            fprintf(stderr, " %s/%s", cat->persons[cat->pairs[held[i]].person].id,
                    cat->garments[cat->pairs[held[i]].garment].id);
        if (n > 8)
            fprintf(stderr, " and %d more (OUT/inflight.log lists them)", n - 8);
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* Carry out the actions of the master's last event. */
static void serve_actions(struct serve_io *io, struct sched_master *sm, const struct farm_link *link, int world)
{
    struct sched_action a;
    while (sched_master_action(sm, &a)) {
        switch (a.kind) {
        case SCHED_ACT_SEND:
            link->send_work(link->user, a.rank, a.pairs, a.n);
            io->messages++;
            if (io->inflight && a.n > 0) {
                fprintf(io->inflight, "%d", a.rank);
                for (int i = 0; i < a.n; i++)
                    fprintf(io->inflight, " %d", a.pairs[i]);
                fputc('\n', io->inflight);
                fflush(io->inflight);
            }
            break;
        case SCHED_ACT_JOURNAL:
            if (io->n_batch == io->cap_batch) {
                io->cap_batch = io->cap_batch ? 2 * io->cap_batch : 64;
                io->batch = tryon_xrealloc(io->batch, sizeof *io->batch * (size_t)io->cap_batch);
            }
            io->batch[io->n_batch++] = xstrndup(a.text, strlen(a.text));
            if (io->n_batch >= 256)
                serve_flush(io);
            break;
        case SCHED_ACT_EXCLUDE:
        case SCHED_ACT_NOTE:
            fprintf(stderr, "tryon render: %s\n", a.text);
            break;
        case SCHED_ACT_DRAIN:
            if (farm_stop_requested)
                print_held(sm, io->cat, world, "stopping on a signal");
            break;
        case SCHED_ACT_ABORT:
            io->abort = true;
            break;
        }
    }
}

/* Serve until every worker was stopped, left, hung or was lost; then journal what is left. */
static void serve(struct serve_io *io, struct sched_master *sm, const struct farm_link *link, int world,
                  double pair_timeout)
{
    bool stopping = false;
    double next_tick = 0;
    while (!sched_master_finished(sm)) {
        int got = 0;
        struct comm_msg msg;
        for (;;) {
            if (!stopping && (farm_stop_requested || io->code)) {
                /* a signal, or the journal cannot be written: hand out nothing more */
                stopping = true;
                sched_master_stop(sm, time_now());
                serve_actions(io, sm, link, world);
            }
            if (got >= 512 || !link->poll(link->user, &msg))
                break;
            got++;
            io->messages++;
            double now = time_now();
            if (msg.tag == COMM_TAG_REQUEST)
                sched_master_request(sm, msg.src, now);
            else if (msg.tag == COMM_TAG_RESULT)
                sched_master_result(sm, msg.src, msg.data, msg.len, now);
            else if (msg.tag == COMM_TAG_LEAVING)
                sched_master_leaving(sm, msg.src, now);
            free(msg.data);
            serve_actions(io, sm, link, world);
        }
        serve_flush(io);
        if (pair_timeout > 0 && time_now() >= next_tick) {
            sched_master_tick(sm, time_now());
            serve_actions(io, sm, link, world);
            next_tick = time_now() + 0.1;
        }
        if (!got)
            sleep_ms(1);
    }
    sched_master_finish(sm);
    serve_actions(io, sm, link, world);
    serve_flush(io);
}

/* A worker rank: request chunks, do them, report each pair, until told to stop. */
static int run_worker(const struct pair_ctx *pc, int rank)
{
    int cap = pc->cat->n_pairs > 0 ? pc->cat->n_pairs : 1;
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)cap);
    struct json_w rec;
    json_w_init(&rec);
    int code = 0;
    for (;;) {
        int n = comm_request_work(chunk, cap);
        if (n == 0)
            break;
        int i, ready = 0;
        for (i = 0; i < n; i++) {
            if (i == ready)
                ready = i + prepare_ahead(pc, chunk + i, n - i);
            if (do_pair(pc, chunk[i], rank, &rec)) {
                log_error("%s", tryon_errmsg());
                code = FARM_EXIT_ENV;
                break;
            }
            comm_send_result(rec.buf, rec.len);
            if (farm_stop_requested) {
                i++;
                break;
            }
        }
        if (code || farm_stop_requested) {
            comm_send_leaving(n - i);
            break;
        }
    }
    json_w_free(&rec);
    free(chunk);
    return code;
}

/* The previous run's OUT/inflight.log against the journal: name what each rank held
 * when that run ended (a rank that died, or a job that was killed). */
static void report_previous_run(const struct sched_catalog *cat, const struct sched_journal *j, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    /* last assignment per rank: keep lines in order, later ones replace earlier */
    int world = 0;
    char **last = NULL;
    while ((len = getline(&line, &cap, f)) > 0) {
        char *end;
        long r = strtol(line, &end, 10);
        if (end == line || r < 1 || r > 1 << 20)
            continue;
        if (r >= world) {
            last = tryon_xrealloc(last, sizeof *last * (size_t)(r + 1));
            for (int i = world; i <= r; i++)
                last[i] = NULL;
            world = (int)r + 1;
        }
        free(last[r]);
        last[r] = strdup(end);
    }
    free(line);
    fclose(f);
    for (int r = 1; r < world; r++) {
        if (!last[r])
            continue;
        char list[1024] = "";
        int n = 0;
        for (char *p = last[r];;) {
            char *end;
            long idx = strtol(p, &end, 10);
            if (end == p)
                break;
            p = end;
            if (idx < 0 || idx >= cat->n_pairs)
                continue;
            const char *pid = cat->persons[cat->pairs[idx].person].id;
            const char *gid = cat->garments[cat->pairs[idx].garment].id;
            if (sched_journal_get(j, pid, gid, NULL))
                continue;
            n++;
            size_t at = strlen(list);
            if (at < sizeof list - 200)
                snprintf(list + at, sizeof list - at, " %s/%s", pid, gid);
            else if (at < sizeof list - 4)
                snprintf(list + at, sizeof list - at, " ...");
        }
        if (n)
            fprintf(stderr, "tryon render: the previous run ended while rank %d held %d unfinished pair%s:%s; "
                    "they are rendered again\n", r, n, n == 1 ? "" : "s", list);
        free(last[r]);
    }
    free(last);
}
/* w's text and a newline, written atomically. */
static enum tryon_status write_json_file(const char *path, const struct json_w *w)
{
    char *text = tryon_xrealloc(NULL, w->len + 2);
    memcpy(text, w->buf, w->len);
    text[w->len] = '\n';
    enum tryon_status s = fs_write_atomic(path, text, w->len + 1);
    free(text);
    return s;
}

/* OUT/slice.json for `tryon merge`: which catalog and which block of it. */
static int write_slice_file(const struct render_opts *o, int lo, int hi)
{
    char path[PATH_MAX], real[PATH_MAX];
    if (!realpath(o->catalog, real) || fs_join(path, sizeof path, o->out, "slice.json"))
        return FARM_EXIT_ENV;
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "catalog"); json_str(&w, real);
    json_key(&w, "slice"); json_int(&w, o->slice_k);
    json_key(&w, "of"); json_int(&w, o->slice_n);
    json_key(&w, "first_pair"); json_int(&w, lo);
    json_key(&w, "end_pair"); json_int(&w, hi);
    json_obj_end(&w);
    int code = 0;
    if (write_json_file(path, &w)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        code = FARM_EXIT_ENV;
    }
    json_w_free(&w);
    return code;
}

/* OUT/simulate.json: the scheduler's figures for a --simulate run. */
static void write_simulate_report(const struct render_opts *o, const struct sched_catalog *cat,
                                  const struct sched_plan *plan, const struct sim_dist *sim, uint64_t seed, int world,
                                  double wall, long long messages)
{
    double sum = 0;
    for (int i = 0; i < plan->n_todo; i++) {
        struct worker_pair wp;
        pair_of(cat, seed, plan->todo[i], &wp);
        sum += sim_cost(sim, wp.seed);
    }
    int workers = world > 1 ? world - 1 : 1;
    double ideal = sum / workers;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "distribution"); json_str(&w, o->simulate);
    json_key(&w, "chunking"); json_str(&w, o->chunking_static ? "static" : "guided");
    json_key(&w, "pairs"); json_int(&w, plan->n_todo);
    json_key(&w, "workers"); json_int(&w, workers);
    json_key(&w, "task_seconds_sum"); json_numf(&w, sum, 7);
    json_key(&w, "ideal_seconds"); json_numf(&w, ideal, 7);
    json_key(&w, "wall_seconds"); json_numf(&w, wall, 7);
    json_key(&w, "efficiency"); json_numf(&w, wall > 0 ? ideal / wall : 0, 4);
    json_key(&w, "master_messages"); json_int(&w, messages);
    json_key(&w, "master_messages_per_s"); json_numf(&w, wall > 0 ? messages / wall : 0, 6);
    json_key(&w, "overhead_ms_per_pair");
    json_numf(&w, plan->n_todo ? (wall * workers - sum) / plan->n_todo * 1000.0 : 0, 4);
    json_key(&w, "master_peak_rss_kb"); json_int(&w, ru.ru_maxrss);
    json_key(&w, "drained"); json_bool(&w, farm_stop_requested != 0); /* stopped early: figures partial */
    json_obj_end(&w);
    char path[PATH_MAX];
    if (!o->quiet)
        printf("simulate: %s\n", w.buf);
    if (fs_join(path, sizeof path, o->out, "simulate.json") || write_json_file(path, &w))
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
    json_w_free(&w);
}

int farm_cmd_render(int argc, char **argv, int rank, int world)
{
    struct render_opts o;
    int code = parse_opts(argc, argv, rank, &o);
    if (code)
        return code < 0 ? FARM_EXIT_OK : code;
    farm_install_signals();
    double t0 = time_now();
    struct sim_dist sim = {0};
    if (o.simulate)
        sim_parse(o.simulate, &sim);

    struct img_limits lim = img_default_limits();
    struct sched_catalog *full = NULL;
    if (sched_catalog_load(o.catalog, &lim, &full)) {
        if (rank == 0)
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    /* --slice: a view of the catalog holding only block K of its pairs (entries shared) */
    struct sched_catalog view = *full;
    int lo = 0, hi = full->n_pairs;
    if (o.slice_n) {
        lo = (int)((int64_t)full->n_pairs * o.slice_k / o.slice_n);
        hi = (int)((int64_t)full->n_pairs * (o.slice_k + 1) / o.slice_n);
        view.pairs = full->pairs + lo;
        view.n_pairs = hi - lo;
    }
    const struct sched_catalog *cat = &view;
    struct worker_settings ws;
    code = resolve_settings(&o, cat, rank, &ws);
    struct sched_journal *journal = NULL;
    struct sched_plan plan = {0};
    char inflight_path[PATH_MAX] = "";
    FILE *inflight = NULL;
    /* nothing below OUT is written through a symbolic link (a planted OUT/renders or
       OUT/journal.log link is refused, naming it); every rank writes there */
    fs_confine(o.out);
    if (!code && rank == 0) {
        sched_catalog_report(cat, stderr);
        if (fs_mkdirs(o.out)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code)
            code = check_job_file(&ws, &o);
        /* an asset cache folder that cannot be made or is a link below OUT stops the job here,
           named, before any rank starts */
        struct worker_cache *probe = NULL;
        if (!code && !o.simulate && ws.cache_dir[0] && worker_cache_open(ws.cache_dir, &probe)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        worker_cache_free(probe);
        if (!code && o.slice_n)
            code = write_slice_file(&o, lo, hi);
        if (!code && sched_journal_open(o.out, &journal)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        /* a journaled pair counts as done only while its render and photos still match */
        if (!code && (sched_plan_make(cat, journal, &plan) ||
                      (!o.simulate && sched_plan_verify(cat, journal, o.out, &plan, stderr)))) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code && world > 1) {
            fs_join(inflight_path, sizeof inflight_path, o.out, "inflight.log");
            report_previous_run(cat, journal, inflight_path);
            int fd = -1;
            if (fs_open_out(inflight_path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd) || !(inflight = fdopen(fd, "w"))) {
                fprintf(stderr, "tryon render: %s\n", fd < 0 ? tryon_errmsg() : strerror(errno));
                if (fd >= 0)
                    close(fd);
                code = FARM_EXIT_ENV;
            }
        }
    }
    /* every rank learns whether rank 0 could start: a worker must not wait for work
     * that will never come */
    struct nn_comm nc;
    comm_nn(&nc);
    int32_t go = code;
    nc.bcast(nc.user, &go, sizeof go, 0);
    if (go) {
        if (rank == 0) {
            sched_plan_free(&plan);
            sched_journal_close(journal);
        }
        sched_catalog_free(full);
        return go;
    }

    struct worker *wk = NULL;
    if ((rank > 0 || world == 1) && !o.simulate) {
        if (worker_create(&ws, tryon_asset_dir(), &wk)) {
            log_error("cannot start the worker: %s", tryon_errmsg());
            comm_abort(FARM_EXIT_ENV);
        }
        if (rank <= 1 && !o.quiet) {
            char est[1024];
            worker_estimators(wk, est, sizeof est);
            fprintf(stderr, "tryon render: estimators: %s\n", est);
        }
    }
    struct pair_ctx pc = {cat, wk, &sim, ws.job_seed, o.out, fail_injected(rank)};
    if (rank > 0) {
        code = run_worker(&pc, rank);
        report_cache(wk, &ws, rank, o.quiet);
        worker_free(wk);
        sched_catalog_free(full);
        return code;
    }

    if (!o.quiet)
        printf("tryon render: %d pairs (%d already done, %d with bad inputs), preset %s %dx%d %d spp, %d rank%s\n",
               cat->n_pairs, plan.n_done, plan.n_invalid, ws.preset, ws.width, ws.height, ws.spp, world,
               world == 1 ? "" : "s");
    /* live OUT/status.json and progress page (scheduler/status.c, helper G); sched_aggregate stops it */
    sched_status_start(cat, o.out);
    struct progress pg = {o.quiet, stdout_is_terminal(), plan.n_todo, 0, 0, time_now(), 0};
    struct sched_master_opts mo = {world, o.retries, o.pair_timeout, o.chunking_static, FARM_MAX_STREAK};
    struct sched_master *sm = NULL;
    if (sched_master_create(cat, &plan, &mo, &sm)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        comm_abort(FARM_EXIT_ENV);
    }
    struct serve_io io = {.cat = cat, .j = journal, .pg = &pg, .inflight = inflight};
    struct self_link self = {.pc = &pc};
    json_w_init(&self.rec);
    struct farm_link link = {&self, self_poll, self_send};
    if (world > 1)
        comm_link(&link);
    double t_serve = time_now();
    serve(&io, sm, &link, world, o.pair_timeout);
    code = io.code ? io.code : self.code;
    struct sched_master_stats mst;
    sched_master_get_stats(sm, &mst);
    sched_master_free(sm);
    free(io.batch);
    free(self.chunk);
    json_w_free(&self.rec);
    double serve_wall = time_now() - t_serve;
    progress_print(&pg, true);
    report_cache(wk, &ws, rank, o.quiet);
    worker_free(wk);
    if (inflight)
        fclose(inflight);

    struct sched_counts n;
    if (o.simulate) {
        write_simulate_report(&o, cat, &plan, &sim, ws.job_seed, world, serve_wall, io.messages);
    } else {
        struct sched_run_info info = {time_now() - t0, world, ws.preset, pg.done - pg.failed,
                                      ws.width, ws.height, ws.spp, ws.max_depth, ws.job_seed, true};
        if (sched_aggregate(cat, journal, o.out, &info)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            if (!code)
                code = FARM_EXIT_ENV;
        }
    }
    sched_count(cat, journal, &n);
    char manifest[PATH_MAX];
    fs_join(manifest, sizeof manifest, o.out, o.simulate ? "journal.log" : "manifest.jsonl");
    if (n.pending && farm_stop_requested)
        printf("%d ok, %d failed, %d not rendered (stopped early: run the same command again to resume), see %s\n",
               n.ok, n.failed, n.pending, manifest);
    else if (n.pending)
        printf("%d ok, %d failed, %d not rendered (no worker was left to take them: run again), see %s\n", n.ok,
               n.failed, n.pending, manifest);
    else
        printf("%d ok, %d failed, see %s\n", n.ok, n.failed, manifest);
    if (!o.simulate)
        printf("gallery: %s/index.html\n", o.out);
    fflush(stdout);
    /* every worker answered, left or was written off: nothing is held any more (the log
       survives only a master that is killed, and then names what the ranks held) */
    if (inflight_path[0])
        unlink(inflight_path);
    sched_plan_free(&plan);
    sched_journal_close(journal);
    sched_catalog_free(full);
    if (!code)
        code = n.pending ? (farm_stop_requested ? FARM_EXIT_REQUEUE : FARM_EXIT_FAILED)
                         : n.failed ? FARM_EXIT_FAILED : FARM_EXIT_OK;
    if (io.abort) {
        /* a hung rank never reaches MPI_Finalize: end the job, with this run's verdict */
        fprintf(stderr, "tryon render: ending the job with exit code %d: %d rank%s did not answer\n", code, mst.hung,
                mst.hung == 1 ? "" : "s");
        fflush(NULL);
        comm_abort(code);
    }
    return code;
}
