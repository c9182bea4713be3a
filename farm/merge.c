/* merge.c: `tryon merge PART... --out OUT`, the aggregation step of an array job.
 *
 * Each array task rendered one --slice K/N of the same catalog into its own folder
 * (OUT/part-K, with slice.json naming the catalog and the block). Merging copies every
 * part's journal records into OUT/journal.log, hard-links (or copies, across file
 * systems) the renders, AOVs and meshes into OUT, and aggregates the whole catalog once:
 * one manifest, one summary, one set of contact sheets and one gallery. Re-running it is
 * safe: the merged journal is rebuilt from the parts each time. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "farm/farm.h"
#include "scheduler/scheduler.h"

static void merge_usage(FILE *f)
{
    fprintf(f,
            "usage: tryon merge PART... --out OUT\n"
            "\n"
            "Merges the output folders of `tryon render --slice K/N` runs of one catalog into OUT:\n"
            "journal, renders (hard links where possible), manifest, summary, contact sheets, gallery.\n"
            "\n"
            "Every ok record of every part is checked against its render (size, SHA-256, PNG) first;\n"
            "a part whose files do not match its journal is refused and nothing is merged.\n"
            "\n"
            "exit status: 0 every pair of the catalog ok; 1 some failed or are missing (a slice not\n"
            "rendered or not finished: the message names it); 2 bad arguments, parts that do not\n"
            "belong together, or a part whose files do not match its journal; 3 environment failure\n");
}

/* Link src to dst (replacing dst; no link followed inside OUT), else copy it. */
static enum tryon_status link_or_copy(const char *src, const char *dst)
{
    char leaf[NAME_MAX + 1];
    int dfd;
    enum tryon_status ls = fs_open_parent(dst, false, &dfd, leaf, sizeof leaf);
    if (ls)
        return ls;
    unlinkat(dfd, leaf, 0);
    int linked = linkat(AT_FDCWD, src, dfd, leaf, 0);
    close(dfd);
    if (linked == 0)
        return TRYON_OK;
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_all(src, (size_t)1 << 31, &data, &len);
    if (s)
        return s;
    s = fs_write_atomic(dst, data, len);
    free(data);
    return s;
}

/* Mirror the regular files under src into dst (folders created as needed). */
static enum tryon_status link_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    if (!d)
        return errno == ENOENT ? TRYON_OK : tryon_fail(TRYON_EIO, "%s: cannot read: %s", src, strerror(errno));
    enum tryon_status s = fs_mkdirs(dst);
    struct dirent *e;
    while (!s && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || strstr(e->d_name, ".tmp"))
            continue;
        char a[PATH_MAX], b[PATH_MAX];
        struct stat st;
        if ((s = fs_join(a, sizeof a, src, e->d_name)) || (s = fs_join(b, sizeof b, dst, e->d_name)))
            break;
        if (lstat(a, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            s = link_tree(a, b);
        else if (S_ISREG(st.st_mode))
            s = link_or_copy(a, b);
    }
    closedir(d);
    return s;
}

struct part {
    const char *dir;
    int slice, of, first, end;  /* end: one past the last pair index */
    char *catalog;              /* realpath of the catalog it rendered */
};

static int read_part(const char *dir, struct part *p)
{
    char path[PATH_MAX];
    struct json_val *v;
    p->dir = dir;
    if (fs_join(path, sizeof path, dir, "slice.json") || json_parse_file(path, &v)) {
        fprintf(stderr, "tryon merge: %s is not a slice of a render (%s)\n", dir, tryon_errmsg());
        return FARM_EXIT_USAGE;
    }
    const char *cat = json_get_str(v, "catalog");
    p->slice = (int)json_get_num(v, "slice", -1);
    p->of = (int)json_get_num(v, "of", 0);
    p->first = (int)json_get_num(v, "first_pair", -1);
    p->end = (int)json_get_num(v, "end_pair", -1);
    p->catalog = cat ? strdup(cat) : NULL;
    json_free(v);
    if (!p->catalog || p->of < 1 || p->slice < 0 || p->slice >= p->of || p->first < 0 || p->end < p->first) {
        fprintf(stderr, "tryon merge: %s: slice.json lacks catalog, slice, of, first_pair or end_pair\n", path);
        return FARM_EXIT_USAGE;
    }
    return 0;
}

/* A part's ok records against its files (sched_verify_output): a render deleted, changed
 * or replaced by a link after its slice finished is refused, naming the file, before
 * anything is merged. */
static int verify_part(const struct part *p, const struct sched_catalog *cat)
{
    if (p->end > cat->n_pairs)
        return 0; /* refused below: the catalog changed */
    struct sched_journal *pj = NULL;
    if (sched_journal_open(p->dir, &pj)) {
        fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    int code = 0, bad = 0;
    for (int k = p->first; k < p->end && bad < 10; k++) {
        bool ok = false;
        const char *l = sched_journal_get(pj, cat->persons[cat->pairs[k].person].id,
                                          cat->garments[cat->pairs[k].garment].id, &ok);
        char why[PATH_MAX + 200];
        if (l && ok && !sched_verify_output(p->dir, l, strlen(l), true, why, sizeof why)) {
            fprintf(stderr, "tryon merge: %s: %s\n", p->dir, why);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "tryon merge: %s does not match its journal: nothing was merged; render slice %d/%d again "
                "into it (`tryon render CATALOG --slice %d/%d --out %s` re-renders what does not match)\n",
                p->dir, p->slice, p->of, p->slice, p->of, p->dir);
        code = FARM_EXIT_USAGE;
    }
    sched_journal_close(pj);
    return code;
}

int farm_cmd_merge(int argc, char **argv, int rank, int world)
{
    (void)world;
    const char *out = NULL;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    int n_dirs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0)
                merge_usage(stdout);
            free(dirs);
            return FARM_EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-') {
            if (rank == 0) {
                fprintf(stderr, "tryon merge: unknown option '%s'\n", argv[i]);
                merge_usage(stderr);
            }
            free(dirs);
            return FARM_EXIT_USAGE;
        } else {
            dirs[n_dirs++] = argv[i];
        }
    }
    if (!out || n_dirs == 0) {
        if (rank == 0) {
            fprintf(stderr, "tryon merge: %s\n", !out ? "--out OUT is required" : "name at least one PART folder");
            merge_usage(stderr);
        }
        free(dirs);
        return FARM_EXIT_USAGE;
    }
    if (rank != 0) {
        free(dirs);
        return FARM_EXIT_OK;
    }
    double t0 = time_now();
    int code = 0;
    fs_confine(out); /* nothing below OUT is written through a symbolic link */
    struct part *parts = calloc((size_t)n_dirs, sizeof *parts);
    char *job_text = NULL;
    struct sched_catalog *cat = NULL;
    struct sched_journal *oj = NULL;
    bool *seen = NULL;
    for (int i = 0; i < n_dirs && !code; i++) {
        code = read_part(dirs[i], &parts[i]);
        if (!code && (strcmp(parts[i].catalog, parts[0].catalog) || parts[i].of != parts[0].of)) {
            fprintf(stderr, "tryon merge: %s is slice %d/%d of %s, but %s is a slice of %d of %s\n", dirs[i],
                    parts[i].slice, parts[i].of, parts[i].catalog, dirs[0], parts[0].of, parts[0].catalog);
            code = FARM_EXIT_USAGE;
        }
        /* every part must have been rendered with the same settings */
        char path[PATH_MAX];
        uint8_t *text = NULL;
        size_t len;
        if (!code && (fs_join(path, sizeof path, dirs[i], "job.json") || fs_read_all(path, 1 << 20, &text, &len))) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_USAGE;
        }
        if (!code && job_text) {
            /* the slice fields differ by design: compare up to them */
            const char *a = strstr(job_text, ",\"slice\""), *b = strstr((char *)text, ",\"slice\"");
            size_t la = a ? (size_t)(a - job_text) : strlen(job_text), lb = b ? (size_t)(b - (char *)text) : len;
            if (la != lb || memcmp(job_text, text, la)) {
                fprintf(stderr, "tryon merge: %s/job.json differs from %s/job.json: the parts were rendered with "
                        "other settings\n", dirs[i], dirs[0]);
                code = FARM_EXIT_USAGE;
            }
            free(text);
        } else if (!code) {
            job_text = (char *)text;
        }
    }
    struct img_limits lim = img_default_limits();
    if (!code && sched_catalog_load(parts[0].catalog, &lim, &cat)) {
        fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
        code = FARM_EXIT_USAGE;
    }
    /* every ok record of every part must match its render before anything is merged */
    for (int i = 0; i < n_dirs && !code; i++)
        code = verify_part(&parts[i], cat);
    char path[PATH_MAX], marker[PATH_MAX];
    if (!code) {
        fs_join(path, sizeof path, out, "journal.log");
        fs_join(marker, sizeof marker, out, "merged.json");
        if (fs_exists(path) && !fs_exists(marker)) {
            fprintf(stderr, "tryon merge: %s holds a render's journal; merge into a new folder\n", out);
            code = FARM_EXIT_USAGE;
        } else if (fs_mkdirs(out) || (unlink(path) != 0 && errno != ENOENT) || sched_journal_open(out, &oj)) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg()[0] ? tryon_errmsg() : strerror(errno));
            code = FARM_EXIT_ENV;
        }
    }
    if (!code) {
        /* the job settings without the slice fields */
        char *cut = strstr(job_text, ",\"slice\"");
        char job[1024];
        snprintf(job, sizeof job, "%.*s}\n", (int)(cut ? cut - job_text : (long)strcspn(job_text, "}")), job_text);
        char jpath[PATH_MAX];
        fs_join(jpath, sizeof jpath, out, "job.json");
        if (fs_write_atomic(jpath, job, strlen(job))) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
    }
    seen = calloc((size_t)parts[0].of, sizeof *seen);
    for (int i = 0; i < n_dirs && !code; i++) {
        struct part *p = &parts[i];
        if (p->end > cat->n_pairs) {
            fprintf(stderr, "tryon merge: %s covers pairs up to %d but %s has %d: the catalog changed\n", p->dir,
                    p->end, p->catalog, cat->n_pairs);
            code = FARM_EXIT_USAGE;
            break;
        }
        seen[p->slice] = true;
        struct sched_journal *pj = NULL;
        if (sched_journal_open(p->dir, &pj)) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
            break;
        }
        const char **lines = malloc(sizeof *lines * (size_t)(p->end - p->first + 1));
        int n = 0;
        for (int k = p->first; k < p->end; k++) {
            const char *l = sched_journal_get(pj, cat->persons[cat->pairs[k].person].id,
                                              cat->garments[cat->pairs[k].garment].id, NULL);
            if (l)
                lines[n++] = l;
        }
        if (sched_journal_append_batch(oj, lines, n)) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        free(lines);
        sched_journal_close(pj);
        static const char *const trees[] = {"renders", "aovs", "meshes", "views"};
        for (int t = 0; t < 4 && !code; t++) {
            char a[PATH_MAX], b[PATH_MAX];
            if (fs_join(a, sizeof a, p->dir, trees[t]) || fs_join(b, sizeof b, out, trees[t]) || link_tree(a, b)) {
                fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
                code = FARM_EXIT_ENV;
            }
        }
    }
    if (!code) {
        struct json_val *jv = NULL;
        char jpath[PATH_MAX];
        fs_join(jpath, sizeof jpath, out, "job.json");
        json_parse_file(jpath, &jv);
        char preset[16];
        snprintf(preset, sizeof preset, "%s", jv && json_get_str(jv, "preset") ? json_get_str(jv, "preset") : "");
        struct sched_run_info info = {time_now() - t0, 0, preset[0] ? preset : NULL, 0,
                                      (int)json_get_num(jv, "width", 0), (int)json_get_num(jv, "height", 0),
                                      (int)json_get_num(jv, "spp", 0), (int)json_get_num(jv, "max_depth", 0),
                                      (uint64_t)json_get_num(jv, "seed", 0), jv && json_get(jv, "seed")};
        json_free(jv);
        if (sched_aggregate(cat, oj, out, &info)) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
    }
    if (!code) {
        struct json_w w;
        json_w_init(&w);
        json_obj_begin(&w);
        json_key(&w, "catalog"); json_str(&w, parts[0].catalog);
        json_key(&w, "slices"); json_int(&w, parts[0].of);
        json_key(&w, "parts"); json_arr_begin(&w);
        for (int i = 0; i < n_dirs; i++)
            json_str(&w, parts[i].dir);
        json_arr_end(&w);
        json_obj_end(&w);
        if (fs_write_atomic(marker, w.buf, w.len)) {
            fprintf(stderr, "tryon merge: %s\n", tryon_errmsg());
            code = FARM_EXIT_ENV;
        }
        json_w_free(&w);
        struct sched_counts c;
        sched_count(cat, oj, &c);
        int missing = 0;
        for (int k = 0; k < parts[0].of; k++)
            if (!seen[k]) {
                fprintf(stderr, "tryon merge: slice %d/%d is missing\n", k, parts[0].of);
                missing++;
            }
        if (c.pending)
            printf("%d ok, %d failed, %d not rendered (%s), see %s/manifest.jsonl\n", c.ok, c.failed, c.pending,
                   missing ? "missing slices" : "unfinished slices: re-run them", out);
        else
            printf("%d ok, %d failed, see %s/manifest.jsonl\n", c.ok, c.failed, out);
        printf("gallery: %s/index.html\n", out);
        if (!code)
            code = c.pending || c.failed ? FARM_EXIT_FAILED : FARM_EXIT_OK;
    }
    for (int i = 0; i < n_dirs; i++)
        free(parts[i].catalog);
    free(parts);
    free(seen);
    free(job_text);
    free(dirs);
    sched_journal_close(oj);
    sched_catalog_free(cat);
    return code;
}
