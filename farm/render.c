/* render.c: `tryon render`, the farm itself (DESIGN.md section 2).
 *
 * Every rank parses the catalog (it is small and on the shared filesystem). Rank 0 is
 * the master: it validates, opens the journal, plans what is left, hands out chunks of
 * pair indices on request (guided self-scheduling: big chunks first, small at the end),
 * appends each finished pair's record to the journal (fsynced) and aggregates at the end.
 * With other ranks present it renders nothing; alone, it renders every pair itself.
 * A signal (SIGTERM, SIGINT, SIGUSR1) drains: no new work, in-flight pairs finish, the
 * journal is complete, the outputs are aggregated, and the exit code asks for a requeue. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
            "  --quiet               no progress line\n"
            "\n"
            "exit status: 0 all pairs ok, 1 some failed (see DIR/manifest.jsonl), 2 bad arguments or\n"
            "catalog, 3 environment failure, 75 stopped by a signal (run again to resume)\n");
}

static int parse_opts(int argc, char **argv, int rank, struct render_opts *o)
{
    static const struct option longs[] = {
        {"out", required_argument, 0, 'o'},   {"preset", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},  {"size", required_argument, 0, 'z'},
        {"spp", required_argument, 0, 'n'},   {"threads", required_argument, 0, 't'},
        {"aovs", no_argument, 0, 'a'},        {"meshes", no_argument, 0, 'm'},
        {"quiet", no_argument, 0, 'q'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->seed = -1;
    opterr = rank == 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:p:s:z:n:t:amqh", longs, NULL)) != -1) {
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
        case 'a': o->aovs = true; break;
        case 'm': o->meshes = true; break;
        case 'q': o->quiet = true; break;
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
    return 0;
}

/* OUT/job.json records the settings that decide output bytes; resuming into a folder
 * rendered with other settings would mix two jobs, so it is refused with a clear error. */
static int check_job_file(const struct worker_settings *s)
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
    json_obj_end(&w);
    char text[512];
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

/* Journal one record and count it. */
static int master_take_result(struct sched_journal *j, struct progress *pg, const char *line)
{
    if (sched_journal_append(j, line)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    pg->done++;
    if (!strstr(line, "\"status\":\"ok\""))
        pg->failed++;
    progress_print(pg, false);
    return 0;
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

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Rank 0 alone: render the plan in order. */
static int run_single(const struct sched_catalog *cat, const struct sched_plan *plan, struct worker *wk,
                      struct sched_journal *j, struct progress *pg)
{
    struct json_w rec;
    json_w_init(&rec);
    int code = 0;
    for (int i = 0; i < plan->n_todo && !code; i++) {
        if (farm_stop_requested)
            break;
        struct worker_pair wp;
        pair_of(cat, plan->todo[i], &wp);
        if (worker_run_pair(wk, &wp, 0, &rec)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
            break;
        }
        code = master_take_result(j, pg, rec.buf);
    }
    json_w_free(&rec);
    return code;
}

/* Rank 0 with workers: serve chunks until every worker has been told to stop or left. */
static int run_master(const struct sched_plan *plan, int world, struct sched_journal *j, struct progress *pg)
{
    struct sched_queue q;
    sched_queue_init(&q, plan->n_todo, world - 1, 1);
    int active = world - 1, code = 0;
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)(plan->n_todo > 0 ? plan->n_todo : 1));
    while (active > 0) {
        struct comm_msg m;
        if (!comm_poll(&m)) {
            sleep_ms(2);
            continue;
        }
        if (m.tag == COMM_TAG_REQUEST) {
            int start = 0, count = 0;
            if (farm_stop_requested || code || !sched_queue_next(&q, &start, &count))
                count = 0;
            for (int i = 0; i < count; i++)
                chunk[i] = plan->todo[start + i];
            comm_send_work(m.src, chunk, count);
            if (count == 0)
                active--;
        } else if (m.tag == COMM_TAG_RESULT) {
            int c = master_take_result(j, pg, m.data);
            if (c && !code)
                code = c;
        } else if (m.tag == COMM_TAG_LEAVING) {
            active--;
        }
        free(m.data);
    }
    free(chunk);
    return code;
}

/* A worker rank: request chunks, render, report each pair, until told to stop. */
static int run_worker(const struct sched_catalog *cat, struct worker *wk, int rank)
{
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)(cat->n_pairs > 0 ? cat->n_pairs : 1));
    struct json_w rec;
    json_w_init(&rec);
    int code = 0;
    for (;;) {
        int n = comm_request_work(chunk, cat->n_pairs > 0 ? cat->n_pairs : 1);
        if (n == 0)
            break;
        int i;
        for (i = 0; i < n; i++) {
            struct worker_pair wp;
            pair_of(cat, chunk[i], &wp);
            if (worker_run_pair(wk, &wp, rank, &rec)) {
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

int farm_cmd_render(int argc, char **argv, int rank, int world)
{
    struct render_opts o;
    int code = parse_opts(argc, argv, rank, &o);
    if (code)
        return code < 0 ? FARM_EXIT_OK : code;
    farm_install_signals();
    double t0 = time_now();

    struct img_limits lim = img_default_limits();
    struct sched_catalog *cat = NULL;
    if (sched_catalog_load(o.catalog, &lim, &cat)) {
        if (rank == 0)
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    struct worker_settings ws;
    code = resolve_settings(&o, cat, rank, &ws);
    struct sched_journal *journal = NULL;
    struct sched_plan plan = {0};
    if (!code && rank == 0) {
        sched_catalog_report(cat, stderr);
        if (fs_mkdirs(o.out)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code)
            code = check_job_file(&ws);
        if (!code && sched_journal_open(o.out, &journal)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        if (!code && sched_plan_make(cat, journal, &plan)) {
            fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
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
        sched_catalog_free(cat);
        return go;
    }

    struct worker *wk = NULL;
    if (rank > 0 || world == 1) {
        if (worker_create(&ws, tryon_asset_dir(), &wk)) {
            log_error("cannot start the worker: %s", tryon_errmsg());
            comm_abort(FARM_EXIT_ENV);
        }
    }
    if (rank > 0) {
        code = run_worker(cat, wk, rank);
        worker_free(wk);
        sched_catalog_free(cat);
        return code;
    }

    if (!o.quiet)
        printf("tryon render: %d pairs (%d already done, %d with bad inputs), preset %s %dx%d %d spp, %d rank%s\n",
               cat->n_pairs, plan.n_done, plan.n_invalid, ws.preset, ws.width, ws.height, ws.spp, world,
               world == 1 ? "" : "s");
    struct progress pg = {o.quiet, stdout_is_terminal(), plan.n_todo, 0, 0, time_now(), 0};
    code = world == 1 ? run_single(cat, &plan, wk, journal, &pg) : run_master(&plan, world, journal, &pg);
    progress_print(&pg, true);
    worker_free(wk);

    struct sched_run_info info = {time_now() - t0, world, ws.preset, pg.done - pg.failed,
                                  ws.width, ws.height, ws.spp, ws.max_depth, ws.job_seed, true};
    if (sched_aggregate(cat, journal, o.out, &info)) {
        fprintf(stderr, "tryon render: %s\n", tryon_errmsg());
        if (!code)
            code = FARM_EXIT_ENV;
    }
    struct sched_counts n;
    sched_count(cat, journal, &n);
    char manifest[PATH_MAX];
    fs_join(manifest, sizeof manifest, o.out, "manifest.jsonl");
    if (n.pending)
        printf("%d ok, %d failed, %d not rendered (stopped early: run the same command again to resume), see %s\n",
               n.ok, n.failed, n.pending, manifest);
    else
        printf("%d ok, %d failed, see %s\n", n.ok, n.failed, manifest);
    printf("gallery: %s/index.html\n", o.out);
    fflush(stdout);
    sched_plan_free(&plan);
    sched_journal_close(journal);
    sched_catalog_free(cat);
    if (code)
        return code;
    if (n.pending)
        return FARM_EXIT_REQUEUE;
    return n.failed ? FARM_EXIT_FAILED : FARM_EXIT_OK;
}
