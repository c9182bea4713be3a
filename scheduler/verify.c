/* verify.c: the disk against the journal, so that resume and merge trust neither alone.
 *
 * A journal record of an ok pair names its output file with its size and SHA-256, and the
 * SHA-256 of the two photos it was made from. A record is only as good as the files it
 * names: before a resume skips a pair, and before `tryon merge` adopts a part's render,
 * the file must still be there (a regular file, no symbolic link followed), with the
 * recorded size and digest, and the photos must still hash to what they did. Records
 * written before the inputs were recorded are checked on their output alone.
 */
#include "scheduler/scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Read a regular file whole without following a link at its last component. */
static enum tryon_status read_nofollow(const char *path, size_t max_bytes, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return tryon_fail(TRYON_EIO, "%s %s", path,
                          errno == ENOENT ? "is missing" : errno == ELOOP ? "is a symbolic link" : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tryon_fail(TRYON_EIO, "%s is not a regular file", path);
    }
    if (max_bytes && (size_t)st.st_size > max_bytes) {
        close(fd);
        return tryon_fail(TRYON_ELIMIT, "%s has %lld bytes, over the limit", path, (long long)st.st_size);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = buf ? fs_read_full(fd, buf, (size_t)st.st_size) : 0;
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return tryon_fail(buf ? TRYON_EIO : TRYON_ENOMEM, "%s: cannot read it whole", path);
    }
    buf[got] = 0;
    *data = buf;
    *len = got;
    return TRYON_OK;
}

bool sched_verify_output(const char *out_dir, const char *record, size_t len, bool decode, char *why, size_t cap)
{
    struct json_val *v = NULL;
    why[0] = 0;
    if (json_parse(record, len, "record", &v) || v->type != JSON_OBJ) {
        snprintf(why, cap, "its journal record is not readable");
        json_free(v);
        return false;
    }
    const char *output = json_get_str(v, "output"), *sha = json_get_str(v, "sha256");
    const struct json_val *bytes = json_get(v, "bytes");
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t n = 0;
    struct img_limits lim = img_default_limits();
    if (!output || !sha || !bytes || bytes->type != JSON_NUM)
        snprintf(why, cap, "its journal record names no output, size and SHA-256");
    else if (output[0] == '/' || strstr(output, "..") || fs_join(path, sizeof path, out_dir, output))
        snprintf(why, cap, "its output %s is not a path inside %s", output, out_dir);
    else if (read_nofollow(path, lim.max_file_bytes, &data, &n))
        snprintf(why, cap, "%s", tryon_errmsg());
    else if (!fs_path_inside(out_dir, output))
        snprintf(why, cap, "%s: a folder on the way to it is a symbolic link out of %s", path, out_dir);
    else if ((double)n != bytes->num)
        snprintf(why, cap, "%s has %zu bytes, its record says %.0f", path, n, bytes->num);
    else {
        char got[65];
        sha256_hex(data, n, got);
        struct img8 im = {0};
        if (strcmp(got, sha) != 0)
            snprintf(why, cap, "%s does not match its recorded SHA-256", path);
        else if (decode && img_decode_png(data, n, path, &lim, &im, NULL))
            snprintf(why, cap, "%s", tryon_errmsg());
        img8_free(&im);
    }
    free(data);
    json_free(v);
    return why[0] == 0;
}

/* SHA-256 of each entry's image file ("" when it cannot be read). */
static void hash_entries(const struct sched_entry *e, int n, const bool *need, char (*out)[65])
{
    struct img_limits lim = img_default_limits();
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        out[i][0] = 0;
        uint8_t *data;
        size_t len;
        if (need[i] && !e[i].error && fs_read_all(e[i].image_path, lim.max_file_bytes, &data, &len) == TRYON_OK) {
            sha256_hex(data, len, out[i]);
            free(data);
        }
    }
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

enum tryon_status sched_plan_verify(const struct sched_catalog *c, const struct sched_journal *j, const char *out_dir,
                                    struct sched_plan *plan, FILE *report)
{
    if (!j || plan->n_done == 0)
        return TRYON_OK;
    /* the ok pairs the plan skips, and the photos they were made from */
    int *done = malloc(sizeof *done * (size_t)plan->n_done);
    bool *need_p = calloc((size_t)c->n_persons + 1, 1), *need_g = calloc((size_t)c->n_garments + 1, 1);
    char (*hp)[65] = malloc(sizeof *hp * (size_t)(c->n_persons + 1));
    char (*hg)[65] = malloc(sizeof *hg * (size_t)(c->n_garments + 1));
    char (*why)[400] = malloc(sizeof *why * (size_t)plan->n_done);
    if (!done || !need_p || !need_g || !hp || !hg || !why) {
        free(done), free(need_p), free(need_g), free(hp), free(hg), free(why);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory verifying %d renders", c->path, plan->n_done);
    }
    int nd = 0;
    for (int i = 0; i < c->n_pairs && nd < plan->n_done; i++) {
        const struct sched_entry *p = &c->persons[c->pairs[i].person], *g = &c->garments[c->pairs[i].garment];
        bool ok = false;
        if (!p->error && !g->error && sched_journal_get(j, p->id, g->id, &ok) && ok) {
            done[nd++] = i;
            need_p[c->pairs[i].person] = need_g[c->pairs[i].garment] = true;
        }
    }
    hash_entries(c->persons, c->n_persons, need_p, hp);
    hash_entries(c->garments, c->n_garments, need_g, hg);
#pragma omp parallel for schedule(dynamic, 4)
    for (int k = 0; k < nd; k++) {
        const struct sched_pair *pr = &c->pairs[done[k]];
        const struct sched_entry *p = &c->persons[pr->person], *g = &c->garments[pr->garment];
        const char *line = sched_journal_get(j, p->id, g->id, NULL);
        why[k][0] = 0;
        if (!sched_verify_output(out_dir, line, strlen(line), false, why[k], sizeof why[k]))
            continue;
        struct json_val *v = NULL;
        if (json_parse(line, strlen(line), "record", &v) == TRYON_OK) {
            const struct json_val *in = json_get(v, "inputs");
            const char *ps = in ? json_get_str(in, "person_sha256") : NULL;
            const char *gs = in ? json_get_str(in, "garment_sha256") : NULL;
            if (ps && strcmp(ps, hp[pr->person]))
                snprintf(why[k], sizeof why[k], "the person photo %s changed since it was rendered", p->image);
            else if (gs && strcmp(gs, hg[pr->garment]))
                snprintf(why[k], sizeof why[k], "the garment photo %s changed since it was rendered", g->image);
        }
        json_free(v);
    }
    int redo = 0;
    for (int k = 0; k < nd; k++) {
        if (!why[k][0])
            continue;
        if (report && redo < 20)
            fprintf(report, "tryon render: %s/%s is rendered again: %s\n",
                    c->persons[c->pairs[done[k]].person].id, c->garments[c->pairs[done[k]].garment].id, why[k]);
        plan->todo[plan->n_todo++] = done[k];
        redo++;
    }
    if (report && redo > 20)
        fprintf(report, "tryon render: and %d more journaled pairs are rendered again\n", redo - 20);
    plan->n_done -= redo;
    if (redo)
        qsort(plan->todo, (size_t)plan->n_todo, sizeof *plan->todo, cmp_int); /* catalog order */
    free(done), free(need_p), free(need_g), free(hp), free(hg), free(why);
    return TRYON_OK;
}
