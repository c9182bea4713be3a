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
            "  --spp N               override the samples per pixel\n"
            "  --threads N           render threads per rank (default: all cores)\n"
            "  --aovs                also write alpha, depth, normal and albedo images to DIR/aovs/\n"
            "  --meshes              also write the body and garment as OBJ to DIR/meshes/\n"
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
            "  --pair-timeout S      a pair with no result after S seconds fails (retried elsewhere) and\n"
            "                        its rank gets no more work (default: no timeout)\n"
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
        {"all-sizes", no_argument, 0, 'A'},   {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->seed = -1;
    o->retries = 1;
    opterr = rank == 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:p:s:z:n:t:amqhS:C:K:T:R:M:V:WA", longs, NULL)) != -1) {
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
        case 'V':
            o->views = (int)strtol(optarg, &end, 10);
            if (*end || o->views < 1 || o->views > 360) {
                if (rank == 0) fprintf(stderr, "tryon render: --views needs an integer in 1..360\n");
                return FARM_EXIT_USAGE;
            }
            break;
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
static int resolve_settings(const struct render_opts *o, const struct sched_catalog *cat, int rank,
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
    s->out_dir = o->out;
    s->job_seed = o->seed >= 0 ? (uint64_t)o->seed : cat->seed;
    s->threads = o->threads;
    s->write_aovs = o->aovs || cat->render.aovs;
    s->write_meshes = o->meshes || cat->render.meshes;
    s->limits = img_default_limits();
    const char *env = getenv("TRYON_MODELS");
    s->models_dir = o->models ? o->models : env && env[0] ? env : TRYON_MODEL_DIR;
    if (!strcmp(s->models_dir, "none"))
        s->models_dir = "";
    s->views = o->views ? o->views : o->turntable ? 12 : 0;
    s->turntable = o->turntable;
    s->all_sizes = o->all_sizes;
    if (s->turntable && !worker_has_webp()) {
        if (rank == 0) fprintf(stderr, "tryon render: --turntable needs libwebp: this build was configured without "
                                       "it (install libwebp-dev, e.g. scripts/install-deps.sh, and configure again)\n");
        return FARM_EXIT_USAGE;
    }
    return 0;
}

/* OUT/job.json records the settings that decide output bytes; resuming into a folder
 * rendered with other settings would mix two jobs, so it is refused with a clear error. */
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
    json_key(&w, "seed"); json_int(&w, (long long)s->job_seed);
    json_key(&w, "models"); json_str(&w, s->models_dir[0] ? s->models_dir : "none");
    if (o->simulate) {
        json_key(&w, "simulate"); json_str(&w, o->simulate);
    }
    if (o->slice_n) {
        json_key(&w, "slice"); json_int(&w, o->slice_k);
        json_key(&w, "of"); json_int(&w, o->slice_n);
    }
    json_obj_end(&w);
    char text[8192];
    snprintf(text, sizeof text, "%s\n", w.buf);
    size_t tlen = strlen(text);
    int code = 0;
    uint8_t *old;
    size_t len;
    if (fs_exists(path)) {
        if (fs_read_all(path, 1 << 20, &old, &len) == TRYON_OK) {
            if (len != tlen || memcmp(old, text, len) != 0) {
                fprintf(stderr, "tryon render: %s was rendered with other settings (%.*s); now %s. "
                        "Use another --out folder or remove it.\n", s->out_dir, (int)strcspn((char *)old, "\n"),
                        (char *)old, w.buf);
                code = FARM_EXIT_USAGE;
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

static void pair_of(const struct sched_catalog *cat, int idx, struct worker_pair *wp)
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
static double sim_cost(const struct sim_dist *d, uint64_t job_seed, const char *person, const char *garment)
{
    struct rng r;
    rng_seed(&r, hash_pair_seed(job_seed, person, garment));
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

/* A failed record made by farm/ itself (timeout, verification, injected fault). */
static void failed_record(struct json_w *r, const char *person, const char *garment, int rank, const char *error)
{
    json_w_reset(r);
    json_obj_begin(r);
    json_key(r, "person"); json_str(r, person);
    json_key(r, "garment"); json_str(r, garment);
    json_key(r, "status"); json_str(r, "failed");
    json_key(r, "error"); json_str(r, error);
    json_key(r, "output"); json_str(r, NULL);
    json_key(r, "sha256"); json_str(r, NULL);
    json_key(r, "bytes"); json_int(r, 0);
    json_key(r, "rank"); json_int(r, rank);
    json_obj_end(r);
}

/* After an ok render: the file named in the record exists, has the recorded size and
 * SHA-256, and decodes as a PNG. A mismatch turns the record into a failure (retried). */
static void verify_output(const char *out_dir, int rank, struct json_w *rec)
{
    struct json_val *v;
    if (json_parse(rec->buf, rec->len, "record", &v))
        return; /* the journal refuses it with a message */
    const char *status = json_get_str(v, "status"), *output = json_get_str(v, "output");
    const char *sha = json_get_str(v, "sha256");
    const struct json_val *bytes = json_get(v, "bytes");
    char err[PATH_MAX + 200] = "";
    if (status && !strcmp(status, "ok") && output && sha && bytes && bytes->type == JSON_NUM) {
        char path[PATH_MAX];
        uint8_t *data = NULL;
        size_t len = 0;
        char got[65];
        struct img8 im = {0};
        struct img_limits lim = img_default_limits();
        if (fs_join(path, sizeof path, out_dir, output) || fs_read_all(path, lim.max_file_bytes, &data, &len))
            snprintf(err, sizeof err, "output check: %s", tryon_errmsg());
        else if ((double)len != bytes->num)
            snprintf(err, sizeof err, "output check: %s has %zu bytes, the record says %.0f", path, len, bytes->num);
        else if (sha256_hex(data, len, got), strcmp(got, sha) != 0)
            snprintf(err, sizeof err, "output check: %s does not match its recorded SHA-256", path);
        else if (img_decode_png(data, len, path, &lim, &im, NULL))
            snprintf(err, sizeof err, "output check: %s", tryon_errmsg());
        img8_free(&im);
        free(data);
    }
    if (err[0]) {
        char person[SCHED_ID_MAX + 1], garment[SCHED_ID_MAX + 1];
        snprintf(person, sizeof person, "%s", json_get_str(v, "person"));
        snprintf(garment, sizeof garment, "%s", json_get_str(v, "garment"));
        failed_record(rec, person, garment, rank, err);
    }
    json_free(v);
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
    pair_of(c->cat, idx, &wp);
    if (c->fail_injected) {
        failed_record(rec, wp.person_id, wp.garment_id, rank, "injected failure (TRYON_TEST_FAIL_RANKS)");
        return TRYON_OK;
    }
    if (c->sim->kind != SIM_OFF) {
        double cost = sim_cost(c->sim, c->job_seed, wp.person_id, wp.garment_id);
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
        verify_output(c->out_dir, rank, rec);
    return s;
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

/* ---- the master's bookkeeping ---- */
struct mrank {                /* one worker rank as the master sees it */
    int32_t *held;            /* the chunk it was last given, pair indices in order */
    int n, cap, pos;          /* held[pos] is in progress; results arrive in order */
    int revoked_from;         /* held[revoked_from..] were taken back: drop their results */
    double started;           /* when held[pos] began (chunk sent or previous result) */
    int streak;               /* failed pairs in a row */
    bool done;                /* told to stop, or left after a signal */
    bool parked;              /* asked for work while none was free: answered later */
    bool excluded;            /* failed FARM_MAX_STREAK pairs in a row: no more work */
    bool hung;                /* a pair ran past --pair-timeout: written off */
    bool got_static;          /* --chunking static: its block was handed out */
};
#define FARM_MAX_STREAK 3

struct retry { int pair, last_rank; char *record; /* last failed record, or NULL */ };

struct master {
    const struct sched_catalog *cat;
    const struct sched_plan *plan;
    const struct render_opts *o;
    struct sched_journal *j;
    struct progress *pg;
    FILE *inflight;           /* OUT/inflight.log: every assignment, for post-mortems */
    int world, active;        /* active: ranks neither done nor hung */
    struct mrank *r;
    struct sched_queue q;
    uint8_t *attempts;        /* failed attempts per catalog pair */
    struct retry *retries;
    int n_retries, cap_retries;
    char **batch;             /* records waiting for the next group commit */
    int n_batch, cap_batch;
    long long messages;       /* sent and received by the master */
    int code;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "tryon render: out of memory\n");
        exit(FARM_EXIT_ENV);
    }
    return q;
}

/* Journal the batch in one write + fsync and count it. */
static void master_flush(struct master *m)
{
    if (m->n_batch == 0)
        return;
    if (!m->code && sched_journal_append_batch(m->j, (const char *const *)m->batch, m->n_batch)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        m->code = FARM_EXIT_ENV;
    }
    for (int i = 0; i < m->n_batch; i++) {
        if (!m->code) {
            m->pg->done++;
            if (!strstr(m->batch[i], "\"status\":\"ok\""))
                m->pg->failed++;
        }
        free(m->batch[i]);
    }
    m->n_batch = 0;
    progress_print(m->pg, false);
}

/* Queue a record for the journal; attempts > 1 is written into it. */
static void master_record(struct master *m, const char *line, int attempts)
{
    if (m->n_batch == m->cap_batch) {
        m->cap_batch = m->cap_batch ? 2 * m->cap_batch : 64;
        m->batch = xrealloc(m->batch, sizeof *m->batch * (size_t)m->cap_batch);
    }
    size_t len = strlen(line);
    char *copy = xrealloc(NULL, len + 32);
    if (attempts > 1 && len > 2 && line[len - 1] == '}')
        snprintf(copy, len + 32, "%.*s,\"attempts\":%d}", (int)(len - 1), line, attempts);
    else
        memcpy(copy, line, len + 1);
    m->batch[m->n_batch++] = copy;
    if (m->n_batch >= 256)
        master_flush(m);
}

static void pair_name(const struct sched_catalog *cat, int idx, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", cat->persons[cat->pairs[idx].person].id, cat->garments[cat->pairs[idx].garment].id);
}

/* A failed attempt of pair idx on rank: retried while attempts last, else journaled. */
static void master_failed(struct master *m, int idx, int rank, const char *line)
{
    int a = ++m->attempts[idx];
    if (a <= m->o->retries && !farm_stop_requested) {
        if (m->n_retries == m->cap_retries) {
            m->cap_retries = m->cap_retries ? 2 * m->cap_retries : 16;
            m->retries = xrealloc(m->retries, sizeof *m->retries * (size_t)m->cap_retries);
        }
        m->retries[m->n_retries++] = (struct retry){idx, rank, strdup(line)};
    } else if (!farm_stop_requested) {
        master_record(m, line, a);
    }
}

/* Give back rank's pairs from position `from` on (not charged as attempts). */
static void master_revoke(struct master *m, int rank, int from)
{
    struct mrank *mr = &m->r[rank];
    for (int i = from; i < mr->revoked_from; i++) {
        if (m->n_retries == m->cap_retries) {
            m->cap_retries = m->cap_retries ? 2 * m->cap_retries : 16;
            m->retries = xrealloc(m->retries, sizeof *m->retries * (size_t)m->cap_retries);
        }
        m->retries[m->n_retries++] = (struct retry){mr->held[i], -1, NULL};
    }
    if (from < mr->revoked_from)
        mr->revoked_from = from;
}

static bool rank_live(const struct mrank *mr) { return !mr->done && !mr->hung && !mr->excluded; }

/* Pairs in progress on ranks that may still answer. */
static int master_in_flight(const struct master *m)
{
    int n = 0;
    for (int r = 1; r < m->world; r++)
        if (!m->r[r].hung && m->r[r].pos < m->r[r].revoked_from)
            n += m->r[r].revoked_from - m->r[r].pos;
    return n;
}

static void master_send(struct master *m, int rank, const int32_t *pairs, int count)
{
    struct mrank *mr = &m->r[rank];
    comm_send_work(rank, pairs, count);
    m->messages++;
    mr->parked = false;
    if (count == 0) {
        if (!mr->done && !mr->hung)
            m->active--;
        mr->done = true;
        return;
    }
    if (count > mr->cap) {
        mr->cap = count;
        mr->held = xrealloc(mr->held, sizeof *mr->held * (size_t)count);
    }
    memcpy(mr->held, pairs, sizeof *pairs * (size_t)count);
    mr->n = mr->revoked_from = count;
    mr->pos = 0;
    mr->started = time_now();
    if (m->inflight) {
        fprintf(m->inflight, "%d", rank);
        for (int i = 0; i < count; i++)
            fprintf(m->inflight, " %d", pairs[i]);
        fputc('\n', m->inflight);
        fflush(m->inflight);
    }
}

/* Answer rank's request: a retry from another rank, else fresh pairs, else (while pairs
 * are still in flight elsewhere and might come back) park it, else stop it. */
static void master_serve(struct master *m, int rank, int32_t *chunk)
{
    struct mrank *mr = &m->r[rank];
    if (farm_stop_requested || m->code || !rank_live(mr)) {
        master_send(m, rank, NULL, 0);
        return;
    }
    int others = 0;
    for (int r = 1; r < m->world; r++)
        others += r != rank && rank_live(&m->r[r]);
    for (int i = 0; i < m->n_retries; i++) {
        if (m->retries[i].last_rank != rank || others == 0) {
            chunk[0] = m->retries[i].pair;
            free(m->retries[i].record);
            m->retries[i] = m->retries[--m->n_retries];
            master_send(m, rank, chunk, 1);
            return;
        }
    }
    int start = 0, count = 0;
    if (m->o->chunking_static) {
        if (!mr->got_static) {
            int64_t n = m->plan->n_todo, w = m->world - 1;
            start = (int)(n * (rank - 1) / w);
            count = (int)(n * rank / w) - start;
            mr->got_static = true;
        }
    } else if (!sched_queue_next(&m->q, &start, &count)) {
        count = 0;
    }
    if (count > 0) {
        for (int i = 0; i < count; i++)
            chunk[i] = m->plan->todo[start + i];
        master_send(m, rank, chunk, count);
        return;
    }
    if (master_in_flight(m) > 0 || m->n_retries > 0) {
        mr->parked = true;
        return;
    }
    master_send(m, rank, NULL, 0);
}

static void master_result(struct master *m, int rank, const char *line)
{
    struct mrank *mr = &m->r[rank];
    if (mr->pos >= mr->n) {
        log_warn("rank %d sent a result for no pair it held; ignored", rank);
        return;
    }
    int idx = mr->held[mr->pos];
    bool revoked = mr->pos >= mr->revoked_from;
    mr->pos++;
    mr->started = time_now();
    if (revoked || mr->hung)
        return;
    if (strstr(line, "\"status\":\"ok\"")) {
        mr->streak = 0;
        master_record(m, line, m->attempts[idx] + 1);
        return;
    }
    master_failed(m, idx, rank, line);
    if (++mr->streak >= FARM_MAX_STREAK && !mr->excluded) {
        mr->excluded = true;
        fprintf(stderr, "tryon render: rank %d failed %d pairs in a row; it gets no more work\n", rank, mr->streak);
        master_revoke(m, rank, mr->pos);
    }
}

/* --pair-timeout: a rank whose current pair is overdue is written off as hung; the pair
 * is a failed attempt and the rest of its chunk goes to the others. */
static void master_check_deadlines(struct master *m)
{
    double now = time_now();
    for (int r = 1; r < m->world; r++) {
        struct mrank *mr = &m->r[r];
        if (mr->done || mr->hung || mr->pos >= mr->revoked_from || now - mr->started <= m->o->pair_timeout)
            continue;
        int idx = mr->held[mr->pos];
        char name[2 * SCHED_ID_MAX + 2], err[256];
        pair_name(m->cat, idx, name, sizeof name);
        snprintf(err, sizeof err, "timed out: no result within %g s on rank %d", m->o->pair_timeout, r);
        fprintf(stderr, "tryon render: %s: %s; rank %d gets no more work\n", name, err, r);
        const struct sched_entry *pe = &m->cat->persons[m->cat->pairs[idx].person];
        const struct sched_entry *ge = &m->cat->garments[m->cat->pairs[idx].garment];
        struct json_w rec;
        json_w_init(&rec);
        failed_record(&rec, pe->id, ge->id, r, err);
        mr->hung = true;
        m->active--;
        master_revoke(m, r, mr->pos + 1);
        mr->revoked_from = mr->pos;
        master_failed(m, idx, r, rec.buf);
        json_w_free(&rec);
    }
}

/* What every rank holds now, on stderr (after a signal: e.g. mpirun ending the job
 * because a rank died). */
static void master_print_held(const struct master *m, const char *why)
{
    for (int r = 1; r < m->world; r++) {
        const struct mrank *mr = &m->r[r];
        if (mr->pos >= mr->revoked_from)
            continue;
        fprintf(stderr, "tryon render: %s: rank %d holds %d unfinished pair%s:", why, r, mr->revoked_from - mr->pos,
                mr->revoked_from - mr->pos == 1 ? "" : "s");
        for (int i = mr->pos; i < mr->revoked_from && i < mr->pos + 8; i++) {
            char name[2 * SCHED_ID_MAX + 2];
            pair_name(m->cat, mr->held[i], name, sizeof name);
            fprintf(stderr, " %s", name);
        }
        if (mr->revoked_from - mr->pos > 8)
            fprintf(stderr, " and %d more (OUT/inflight.log lists them)", mr->revoked_from - mr->pos - 8);
        fputc('\n', stderr);
    }
    fflush(stderr);
}

struct master_result { long long messages; int hung, excluded; };

/* Rank 0 with workers: serve until every worker was told to stop, left, or hung. */
static int run_master(struct master *m, struct master_result *res)
{
    m->r = calloc((size_t)m->world, sizeof *m->r);
    m->attempts = calloc((size_t)(m->cat->n_pairs > 0 ? m->cat->n_pairs : 1), 1);
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)(m->plan->n_todo > 0 ? m->plan->n_todo : 1));
    if (!m->r || !m->attempts || !chunk) {
        fprintf(stderr, "tryon render: out of memory\n");
        exit(FARM_EXIT_ENV);
    }
    sched_queue_init(&m->q, m->plan->n_todo, m->world - 1, 1);
    m->active = m->world - 1;
    bool told = false;
    double next_deadline_check = 0;
    while (m->active > 0) {
        struct comm_msg msg;
        int got = 0;
        while (got < 512 && comm_poll(&msg)) {
            got++;
            m->messages++;
            if (msg.tag == COMM_TAG_REQUEST) {
                master_serve(m, msg.src, chunk);
            } else if (msg.tag == COMM_TAG_RESULT) {
                master_result(m, msg.src, msg.data);
            } else if (msg.tag == COMM_TAG_LEAVING) {
                struct mrank *mr = &m->r[msg.src];
                mr->revoked_from = mr->pos; /* abandoned: they stay pending */
                if (!mr->done && !mr->hung) {
                    mr->done = true;
                    m->active--;
                }
            }
            free(msg.data);
        }
        master_flush(m);
        if (farm_stop_requested && !told) {
            told = true;
            master_print_held(m, "stopping on a signal");
        }
        for (int r = 1; r < m->world; r++)
            if (m->r[r].parked)
                master_serve(m, r, chunk);
        if (m->o->pair_timeout > 0 && time_now() >= next_deadline_check) {
            master_check_deadlines(m);
            next_deadline_check = time_now() + 0.1;
        }
        if (!got)
            sleep_ms(1);
    }
    /* pairs whose retries never found a worker keep their last failure */
    for (int i = 0; i < m->n_retries; i++) {
        if (m->retries[i].record && !farm_stop_requested)
            master_record(m, m->retries[i].record, m->attempts[m->retries[i].pair]);
        free(m->retries[i].record);
    }
    master_flush(m);
    res->messages = m->messages;
    res->hung = res->excluded = 0;
    for (int r = 1; r < m->world; r++) {
        res->hung += m->r[r].hung;
        res->excluded += m->r[r].excluded;
        if (m->r[r].hung || m->r[r].excluded)
            fprintf(stderr, "tryon render: rank %d was %s\n", r,
                    m->r[r].hung ? "written off (a pair timed out)" : "excluded (failed pairs in a row)");
        free(m->r[r].held);
    }
    free(m->r);
    free(m->attempts);
    free(m->retries);
    free(m->batch);
    free(chunk);
    return m->code;
}

/* Rank 0 alone: do the plan in order. A failed pair is retried in place (there is no
 * other worker), --retries times. */
static int run_single(struct master *m, const struct pair_ctx *pc)
{
    struct json_w rec;
    json_w_init(&rec);
    for (int i = 0; i < m->plan->n_todo && !m->code; i++) {
        if (farm_stop_requested)
            break;
        int idx = m->plan->todo[i];
        for (int attempt = 1;; attempt++) {
            if (do_pair(pc, idx, 0, &rec)) {
                fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
                m->code = FARM_EXIT_ENV;
                break;
            }
            bool ok = strstr(rec.buf, "\"status\":\"ok\"") != NULL;
            if (ok || attempt > m->o->retries || farm_stop_requested) {
                if (ok || !farm_stop_requested)
                    master_record(m, rec.buf, attempt);
                break;
            }
        }
        master_flush(m);
    }
    master_flush(m);
    free(m->batch);
    json_w_free(&rec);
    return m->code;
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
        int i;
        for (i = 0; i < n; i++) {
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
            last = xrealloc(last, sizeof *last * (size_t)(r + 1));
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
    char *text = xrealloc(NULL, w->len + 2);
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
        int idx = plan->todo[i];
        sum += sim_cost(sim, seed, cat->persons[cat->pairs[idx].person].id, cat->garments[cat->pairs[idx].garment].id);
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
    if (!code && rank == 0) {
        sched_catalog_report(cat, stderr);
        if (fs_mkdirs(o.out)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code)
            code = check_job_file(&ws, &o);
        if (!code && o.slice_n)
            code = write_slice_file(&o, lo, hi);
        if (!code && sched_journal_open(o.out, &journal)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code && sched_plan_make(cat, journal, &plan)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code && world > 1) {
            fs_join(inflight_path, sizeof inflight_path, o.out, "inflight.log");
            report_previous_run(cat, journal, inflight_path);
            inflight = fopen(inflight_path, "w");
            if (!inflight) {
                fprintf(stderr, "tryon render: %s: cannot write: %s\n", inflight_path, strerror(errno));
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
    struct master m = {.cat = cat, .plan = &plan, .o = &o, .j = journal, .pg = &pg, .inflight = inflight,
                       .world = world};
    struct master_result mres = {0};
    double t_serve = time_now();
    code = world == 1 ? run_single(&m, &pc) : run_master(&m, &mres);
    double serve_wall = time_now() - t_serve;
    progress_print(&pg, true);
    worker_free(wk);
    if (inflight)
        fclose(inflight);

    struct sched_counts n;
    if (o.simulate) {
        write_simulate_report(&o, cat, &plan, &sim, ws.job_seed, world, serve_wall, mres.messages);
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
    if (!n.pending && inflight_path[0])
        unlink(inflight_path);
    sched_plan_free(&plan);
    sched_journal_close(journal);
    sched_catalog_free(full);
    if (!code)
        code = n.pending ? (farm_stop_requested ? FARM_EXIT_REQUEUE : FARM_EXIT_FAILED)
                         : n.failed ? FARM_EXIT_FAILED : FARM_EXIT_OK;
    if (mres.hung) {
        /* a hung rank never reaches MPI_Finalize: end the job, with this run's verdict */
        fprintf(stderr, "tryon render: ending the job with exit code %d: %d rank%s did not answer\n", code, mres.hung,
                mres.hung == 1 ? "" : "s");
        fflush(NULL);
        comm_abort(code);
    }
    return code;
}
