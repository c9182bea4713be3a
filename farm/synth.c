/* synth.c: `tryon synth CONFIG.yaml --out DIR`: synthetic person and garment photos with
 * their true parameters (the demo catalog, training data, the held-out evaluation set).
 *
 * Under mpirun the images are sharded by index (image i on rank i mod world); every rank
 * renders, so a synth job has no master. An image is written as DIR/<folder>/<id>.png and
 * then DIR/truth/<id>.json (both atomically, in that order), so an image whose truth file
 * exists is complete and a re-run skips it (resume). After a barrier rank 0 gathers the
 * truth files in index order into DIR/truth.jsonl (one line per image) and DIR/truth.json
 * (persons and garments arrays), and writes DIR/catalog.yaml when the config asks for it.
 * Image i's bytes depend only on the config and i (see worker.h), whatever the rank count,
 * thread count or resume. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "farm/comm.h"
#include "farm/farm.h"
#include "worker/worker.h"

#define SYNTH_TRUTH_MAX (1 << 20)   /* bytes of one image's truth file */

static void usage(FILE *f)
{
    fprintf(f, "usage: tryon synth CONFIG.yaml --out DIR [--threads N] [--size WxH] [--spp N] [--quiet]\n"
               "\n"
               "Renders the synthetic person and garment photos a synth config describes (configs/synth/,\n"
               "e.g. configs/synth/demo.yaml makes the demo catalog) with their true parameters:\n"
               "DIR/persons/*.png, DIR/garments/*.png, DIR/truth.jsonl (one JSON line per image),\n"
               "DIR/truth.json, and DIR/catalog.yaml (every person x every garment) when the config\n"
               "says catalog: true. Under mpirun the images are shared out by index; a re-run skips the\n"
               "images already complete. --size and --spp override the config (quick previews, tests).\n");
}

static int fail_env(const char *what)
{
    fprintf(stderr, "tryon synth: %s%s%s\n", what ? what : "", what ? ": " : "", tryon_errmsg());
    return FARM_EXIT_ENV;
}

/* DIR/truth/<id>.json */
static enum tryon_status truth_path(const char *out, const char *id, char path[PATH_MAX])
{
    char rel[128];
    snprintf(rel, sizeof rel, "truth/%s.json", id);
    return fs_join(path, PATH_MAX, out, rel);
}

/* Render image i unless it is complete. Returns 0, or FARM_EXIT_ENV after printing why. */
static int synth_one(struct worker *wk, const struct worker_synth_config *cfg, const char *out, int i, int threads,
                     bool quiet, struct json_w *truth)
{
    char id[72], rel[160], png[PATH_MAX], tpath[PATH_MAX];
    const char *folder;
    worker_synth_image_id(cfg, i, id, &folder);
    snprintf(rel, sizeof rel, "%s/%s.png", folder, id);
    if (fs_join(png, sizeof png, out, rel) || truth_path(out, id, tpath))
        return fail_env(NULL);
    if (fs_exists(tpath) && fs_exists(png)) {
        if (!quiet)
            printf("  %s (done)\n", png);
        return 0;
    }
    struct img8 im;
    if (worker_synth_image(wk, cfg, i, threads, &im, truth)) {
        fprintf(stderr, "tryon synth: %s: image %d (%s): %s\n", cfg->path, i, id, tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    enum tryon_status s = fs_mkdirs_parent(png);
    if (s == TRYON_OK)
        s = img_save_png(png, &im);
    img8_free(&im);
    if (s == TRYON_OK)
        s = fs_mkdirs_parent(tpath);
    if (s == TRYON_OK) {
        /* one line: the object and a newline */
        char *line = malloc(truth->len + 1);
        if (!line)
            return fail_env("out of memory");
        memcpy(line, truth->buf, truth->len);
        line[truth->len] = '\n';
        s = fs_write_atomic(tpath, line, truth->len + 1);
        free(line);
    }
    if (s)
        return fail_env(png);
    if (!quiet)
        printf("  %s\n", png);
    return 0;
}

/* A growing text buffer for the index files. */
struct text { char *buf; size_t len, cap; };
static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        char *nb = tryon_xrealloc(t->buf, cap);
        t->buf = nb, t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = 0;
}
static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Formatted text of at most 511 bytes (ids and numbers; long strings go through text_add). */
static void text_printf(struct text *t, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    text_add(t, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
}

static int write_text(const char *out, const char *name, const struct text *t, bool quiet)
{
    char path[PATH_MAX];
    if (fs_join(path, sizeof path, out, name) || fs_write_atomic(path, t->buf, t->len))
        return fail_env(NULL);
    if (!quiet)
        printf("  %s\n", path);
    return 0;
}

/* Rank 0, after every rank is done: truth.jsonl, truth.json, catalog.yaml. */
static int write_index(const struct worker_synth_config *cfg, const char *out, bool quiet)
{
    int n = worker_synth_count(cfg), code = 0;
    struct text jsonl = {0}, json = {0}, cat = {0};
    text_printf(&json, "{\"config\":");
    struct json_w hdr;
    json_w_init(&hdr);
    json_str(&hdr, cfg->path);
    text_add(&json, hdr.buf, hdr.len);
    json_w_free(&hdr);
    text_printf(&json, ",\"seed\":%llu,\"hold_out\":%s,\"size\":[%d,%d],\"spp\":%d,\"persons\":[",
                (unsigned long long)cfg->seed, cfg->hold_out ? "true" : "false", cfg->width, cfg->height, cfg->spp);
    text_printf(&cat, "# Written by `tryon synth` from ");
    text_add(&cat, cfg->path, strlen(cfg->path));
    text_printf(&cat,
                "\n# (truth.jsonl holds the parameters each photo was made from). height_cm is given for\n"
                "# the persons the config hints, and for every photo taken at another camera distance\n"
                "# than the standard photo camera's (it fixes the body's scale).\n"
                "seed: %llu\nrender:\n  preset: %s\npersons:\n",
                (unsigned long long)cfg->seed, cfg->catalog_preset);
    for (int i = 0; i < n && !code; i++) {
        char id[72], tpath[PATH_MAX];
        const char *folder;
        worker_synth_image_id(cfg, i, id, &folder);
        uint8_t *data;
        size_t len;
        struct json_val *v = NULL;
        if (truth_path(out, id, tpath) || fs_read_all(tpath, SYNTH_TRUTH_MAX, &data, &len)) {
            fprintf(stderr, "tryon synth: image %d (%s) is missing: %s\n", i, id, tryon_errmsg());
            code = FARM_EXIT_ENV;
            break;
        }
        while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            data[--len] = 0;
        if (json_parse((const char *)data, len, tpath, &v)) {
            free(data);
            code = fail_env(NULL);
            break;
        }
        text_add(&jsonl, (const char *)data, len);
        text_add(&jsonl, "\n", 1);
        if (i == cfg->n_persons)
            text_printf(&json, "],\"garments\":[");
        else if (i > 0)
            text_add(&json, ",", 1);
        text_add(&json, (const char *)data, len);
        if (i == cfg->n_persons)
            text_printf(&cat, "garments:\n");
        text_printf(&cat, "  - id: %s\n    image: %s/%s.png\n", id, folder, id);
        const struct json_val *hint = json_get(v, "height_hint");
        if (i < cfg->n_persons && hint && hint->type == JSON_BOOL && hint->b)
            text_printf(&cat, "    height_cm: %.1f\n", 100.0 * json_get_num(v, "stature_m", 0));
        const struct json_val *th = json_get(v, "type_hint");
        if (i >= cfg->n_persons && th && th->type == JSON_BOOL && th->b)
            text_printf(&cat, "    type: %s\n", json_get_str(v, "type"));
        json_free(v);
        free(data);
    }
    if (cfg->n_persons == n)
        text_printf(&json, "],\"garments\":[");
    text_printf(&json, "]}\n");
    if (cfg->n_garments == 0)
        text_printf(&cat, "garments:\n");
    text_printf(&cat, "pairs: all\n");
    if (!code)
        code = write_text(out, "truth.jsonl", &jsonl, quiet);
    if (!code)
        code = write_text(out, "truth.json", &json, quiet);
    if (!code && cfg->write_catalog)
        code = write_text(out, "catalog.yaml", &cat, quiet);
    free(jsonl.buf);
    free(json.buf);
    free(cat.buf);
    return code;
}

int farm_cmd_synth(int argc, char **argv, int rank, int world)
{
    static const struct option longs[] = {{"out", required_argument, 0, 'o'},    {"size", required_argument, 0, 'z'},
                                          {"spp", required_argument, 0, 'n'},    {"threads", required_argument, 0, 't'},
                                          {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *out = NULL, *size = NULL;
    int spp = -1, threads = 0, c;   /* spp -1: the config's */
    bool quiet = false;
    optind = 1;
    opterr = rank == 0;
    while ((c = getopt_long(argc, argv, "o:z:n:t:qh", longs, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'z') size = optarg;
        else if (c == 'n') spp = atoi(optarg) > 0 ? atoi(optarg) : 0;   /* 0: refused below */
        else if (c == 't') threads = atoi(optarg);
        else if (c == 'q') quiet = true;
        else {
            if (rank == 0)
                usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? FARM_EXIT_OK : FARM_EXIT_USAGE;
        }
    }
    int w = 0, h = 0;
    if (optind != argc - 1 || !out || (size && farm_parse_size(size, &w, &h)) || spp == 0 ||
        threads < 0) {
        if (rank == 0)
            usage(stderr);
        return FARM_EXIT_USAGE;
    }
    /* every rank parses the config: a bad one stops them all the same way, before any barrier */
    struct worker_synth_config cfg;
    if (worker_synth_config_load(argv[optind], &cfg)) {
        if (rank == 0)
            fprintf(stderr, "tryon synth: %s\n", tryon_errmsg());
        worker_synth_config_free(&cfg);
        return FARM_EXIT_USAGE;
    }
    if (size)
        cfg.width = w, cfg.height = h;
    if (spp > 0)
        cfg.spp = spp;

    fs_confine(out); /* nothing below OUT is written through a symbolic link */
    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    worker_preset("preview", &ws);
    ws.out_dir = out;
    ws.threads = threads;
    ws.limits = img_default_limits();
    struct worker *wk = NULL;
    int code = 0;
    if (worker_create(&ws, tryon_asset_dir(), &wk))
        code = fail_env("loading the body model");
    int n = worker_synth_count(&cfg);
    if (rank == 0 && !quiet && cfg.denoise.crop)
        printf("tryon synth: denoiser data: %d scenes (%dx%d framing) x %d samples of %dx%d from %s into %s on %d "
               "rank%s\n", cfg.n_persons, cfg.denoise.width, cfg.denoise.height, worker_synth_denoise_count(&cfg),
               cfg.denoise.crop, cfg.denoise.crop, cfg.path, out, world, world == 1 ? "" : "s");
    else if (rank == 0 && !quiet)
        printf("tryon synth: %d persons and %d garments (%dx%d, %d spp) from %s into %s on %d rank%s\n",
               cfg.n_persons, cfg.n_garments, cfg.width, cfg.height, cfg.spp, cfg.path, out, world,
               world == 1 ? "" : "s");
    farm_install_signals();
    if (cfg.shard_size > 0) {
        if (!code)
            code = farm_synth_shards(wk, &cfg, out, rank, world, threads, quiet);
        else if (world > 1)
            comm_barrier();
        worker_free(wk);
        worker_synth_config_free(&cfg);
        return code;
    }
    struct json_w truth;
    json_w_init(&truth);
    for (int i = rank; i < n && !code; i += world) {
        if (farm_stop_requested) {
            code = FARM_EXIT_REQUEUE;
            break;
        }
        code = synth_one(wk, &cfg, out, i, threads, quiet, &truth);
    }
    json_w_free(&truth);
    worker_free(wk);
    if (world > 1)
        comm_barrier();
    if (rank == 0 && !code && !farm_stop_requested) {
        code = write_index(&cfg, out, quiet);
        if (!code && !quiet)
            printf("tryon synth: %d images complete in %s\n", n, out);
    } else if (rank == 0 && farm_stop_requested && !code) {
        code = FARM_EXIT_REQUEUE;
    }
    worker_synth_config_free(&cfg);
    return code;
}
