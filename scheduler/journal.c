/* journal.c: OUT/journal.log, the durable record of finished pairs that makes a job resumable.
 *
 * One JSON object per line, appended with a single write() and fsynced before the master
 * counts the pair as done. A job killed mid-write leaves at most one torn last line: it is
 * ignored when the journal is opened and truncated away before the next append, so the
 * file is always a sequence of whole records. The records are indexed in memory by
 * (person, garment) in an open-addressing hash table; the latest record of a pair wins.
 */
#include "scheduler/scheduler.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct jrec {
    char *person, *garment; /* NULL person = empty slot */
    char *line;             /* the record, without newline */
    uint64_t hash;
    bool ok;                /* status is "ok" */
};

struct sched_journal {
    char *path;             /* OUT/journal.log */
    int fd;                 /* O_RDWR | O_APPEND, flock'ed where supported */
    off_t valid_len;        /* bytes of whole lines: everything after is a torn tail */
    off_t disk_len;         /* bytes on disk (> valid_len until the torn tail is truncated) */
    struct jrec *slots;     /* hash table, cap a power of two, at most half full */
    size_t cap, n;
    int n_ok;               /* records whose latest status is ok */
};

static uint64_t pair_hash(const char *person, const char *garment)
{
    return hash64(garment, strlen(garment), hash64(person, strlen(person), 0x6a6f75726e616cULL));
}

static struct jrec *find_slot(struct jrec *slots, size_t cap, const char *person, const char *garment, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
        struct jrec *r = &slots[i];
        if (!r->person || (r->hash == h && strcmp(r->person, person) == 0 && strcmp(r->garment, garment) == 0))
            return r;
    }
}

static enum tryon_status grow(struct sched_journal *j)
{
    size_t cap = j->cap ? j->cap * 2 : 1024;
    struct jrec *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", j->path);
    for (size_t i = 0; i < j->cap; i++)
        if (j->slots[i].person)
            *find_slot(slots, cap, j->slots[i].person, j->slots[i].garment, j->slots[i].hash) = j->slots[i];
    free(j->slots);
    j->slots = slots;
    j->cap = cap;
    return TRYON_OK;
}

/* Index one record line (len bytes, not NUL-terminated); `name` is used in messages.
 * TRYON_EINVAL/EFORMAT when it is not a record. */
static enum tryon_status index_record(struct sched_journal *j, const char *text, size_t len, const char *name)
{
    struct json_val *v;
    enum tryon_status s = json_parse(text, len, name, &v);
    if (s)
        return s;
    const char *person = json_get_str(v, "person"), *garment = json_get_str(v, "garment");
    const char *status = json_get_str(v, "status");
    if (v->type != JSON_OBJ || !person || !garment || !status) {
        json_free(v);
        return tryon_fail(TRYON_EINVAL, "%s: a record needs string fields \"person\", \"garment\" and \"status\"", name);
    }
    if ((j->n + 1) * 2 > j->cap && (s = grow(j))) {
        json_free(v);
        return s;
    }
    char *line = strndup(text, len);
    if (!line) {
        json_free(v);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", name);
    }
    uint64_t h = pair_hash(person, garment);
    struct jrec *r = find_slot(j->slots, j->cap, person, garment, h);
    if (r->person) {
        j->n_ok -= r->ok;
        free(r->line);
    } else {
        r->person = tryon_xstrdup(person);
        r->garment = tryon_xstrdup(garment);
        r->hash = h;
        j->n++;
    }
    r->line = line;
    r->ok = strcmp(status, "ok") == 0;
    j->n_ok += r->ok;
    json_free(v);
    return TRYON_OK;
}

static enum tryon_status read_fd(int fd, const char *path, off_t size, char **out)
{
    char *buf = malloc((size_t)size + 1);
    if (!buf)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory (%lld bytes)", path, (long long)size);
    off_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, (size_t)(size - got), got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return tryon_fail(TRYON_EIO, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "file shrank");
        }
        got += r;
    }
    buf[size] = 0;
    *out = buf;
    return TRYON_OK;
}

/* Index every whole line; note where the whole lines end. */
static enum tryon_status scan(struct sched_journal *j, const char *buf, off_t size)
{
    off_t start = 0;
    int lineno = 0;
    while (start < size) {
        const char *nl = memchr(buf + start, '\n', (size_t)(size - start));
        if (!nl) {
            log_warn("%s: ignoring a torn last line (%lld bytes) left by an interrupted job", j->path,
                     (long long)(size - start));
            break;
        }
        off_t end = nl - buf;
        lineno++;
        if (end > start) {
            char name[PATH_MAX + 16];
            snprintf(name, sizeof name, "%s:%d", j->path, lineno);
            enum tryon_status s = index_record(j, buf + start, (size_t)(end - start), name);
            if (s == TRYON_ENOMEM)
                return s;
            if (s)
                log_warn("skipping a line that is not a journal record: %s", tryon_errmsg());
        }
        start = end + 1;
        j->valid_len = start;
    }
    return TRYON_OK;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

enum tryon_status sched_journal_open(const char *out_dir, struct sched_journal **out)
{
    *out = NULL;
    enum tryon_status s = fs_mkdirs(out_dir);
    if (s)
        return s;
    struct sched_journal *j = calloc(1, sizeof *j);
    char path[PATH_MAX];
    if (!j)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", out_dir);
    j->fd = -1;
    if ((s = fs_join(path, sizeof path, out_dir, "journal.log")))
        goto fail;
    if (!(j->path = strdup(path))) {
        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
        goto fail;
    }
    bool existed = fs_exists(path);
    /* never through a link planted at OUT/journal.log (fs_open_out refuses it) */
    if ((s = fs_open_out(path, O_RDWR | O_CREAT | O_APPEND, 0644, &j->fd)))
        goto fail;
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        s = tryon_fail(TRYON_EIO, "%s: another job is using this output folder", path);
        goto fail;
    }
    if (!existed)
        fsync_dir(out_dir);
    struct stat st;
    if (fstat(j->fd, &st) != 0) {
        s = tryon_fail(TRYON_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    j->disk_len = st.st_size;
    if ((s = grow(j)))
        goto fail;
    if (st.st_size > 0) {
        char *buf = NULL;
        if ((s = read_fd(j->fd, path, st.st_size, &buf)))
            goto fail;
        s = scan(j, buf, st.st_size);
        free(buf);
        if (s)
            goto fail;
    }
    *out = j;
    return TRYON_OK;
fail:
    sched_journal_close(j);
    return s;
}

const char *sched_journal_get(const struct sched_journal *j, const char *person, const char *garment, bool *ok)
{
    const struct jrec *r = find_slot(j->slots, j->cap, person, garment, pair_hash(person, garment));
    if (ok)
        *ok = r->person && r->ok;
    return r->person ? r->line : NULL;
}

/* Check that json_line is a record the journal accepts (see the header). */
static enum tryon_status check_record(const struct sched_journal *j, const char *json_line)
{
    if (strpbrk(json_line, "\r\n"))
        return tryon_fail(TRYON_EINVAL, "%s: a record must be one line", j->path);
    struct json_val *v;
    enum tryon_status s = json_parse(json_line, strlen(json_line), "journal record", &v);
    if (s)
        return s;
    const char *status = json_get_str(v, "status");
    if (v->type != JSON_OBJ || !json_get_str(v, "person") || !json_get_str(v, "garment") || !status)
        s = tryon_fail(TRYON_EINVAL, "%s: a record needs string fields \"person\", \"garment\" and \"status\"", j->path);
    else if (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0)
        s = tryon_fail(TRYON_EINVAL, "%s: record status must be \"ok\" or \"failed\", not \"%.40s\"", j->path, status);
    json_free(v);
    return s;
}

enum tryon_status sched_journal_append(struct sched_journal *j, const char *json_line)
{
    return sched_journal_append_batch(j, &json_line, 1);
}

/* Group commit: every record is checked first, then all go down in one write() and one
 * fsync, so a master fed by many workers pays one disk flush per burst, not per pair. */
enum tryon_status sched_journal_append_batch(struct sched_journal *j, const char *const *lines, int n)
{
    enum tryon_status s;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if ((s = check_record(j, lines[i])))
            return s;
        total += strlen(lines[i]) + 1;
    }
    if (n == 0)
        return TRYON_OK;
    if (j->disk_len != j->valid_len) {
        if (ftruncate(j->fd, j->valid_len) != 0)
            return tryon_fail(TRYON_EIO, "%s: cannot truncate the torn last line: %s", j->path, strerror(errno));
        j->disk_len = j->valid_len;
    }
    char *buf = malloc(total);
    if (!buf)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", j->path);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(buf + at, lines[i], l);
        buf[at + l] = '\n';
        at += l + 1;
    }
    size_t len = total - 1; /* the loop below writes len + 1 bytes */
    size_t done = 0;
    int err = 0;
    while (done < len + 1) {
        ssize_t w = write(j->fd, buf + done, len + 1 - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = w < 0 ? errno : EIO;
            break;
        }
        done += (size_t)w;
    }
    free(buf);
    if (!err && fsync(j->fd) != 0)
        err = errno;
    if (err) {
        /* leave whole lines only; if even this fails the next open drops the torn tail */
        if (ftruncate(j->fd, j->valid_len) == 0)
            j->disk_len = j->valid_len;
        else
            j->disk_len = j->valid_len + (off_t)done;
        return tryon_fail(TRYON_EIO, "%s: append failed: %s", j->path, strerror(err));
    }
    j->valid_len += (off_t)total;
    j->disk_len = j->valid_len;
    for (int i = 0; i < n; i++)
        if ((s = index_record(j, lines[i], strlen(lines[i]), j->path)))
            return s;
    return TRYON_OK;
}

int sched_journal_count(const struct sched_journal *j, int *n_ok)
{
    if (n_ok)
        *n_ok = j->n_ok;
    return (int)j->n;
}

void sched_journal_close(struct sched_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd); /* releases the flock */
    for (size_t i = 0; i < j->cap; i++) {
        free(j->slots[i].person);
        free(j->slots[i].garment);
        free(j->slots[i].line);
    }
    free(j->slots);
    free(j->path);
    free(j);
}
