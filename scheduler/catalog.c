/* catalog.c: parse and validate a catalog YAML into a struct sched_catalog.
 *
 * Validation happens up front, on rank 0, before any rendering: a structural problem
 * (syntax, unknown key, missing key, bad id or value, a pair naming an unknown id) stops
 * the job with a message naming the catalog and the line, while a problem of one image
 * (outside the catalog folder, missing, not a PNG, too large) is recorded on its entry so
 * only the pairs of that entry fail. Images are probed by their header, never decoded.
 */
#include "scheduler/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const ROOT_KEYS[] = {"seed", "render", "persons", "garments", "pairs", NULL};
static const char *const RENDER_KEYS[] = {"preset", "width", "height", "spp", "max_depth", "aovs", "meshes", NULL};
static const char *const PERSON_KEYS[] = {"id", "image", "height_cm", NULL};
static const char *const GARMENT_KEYS[] = {"id",     "image",     "type",  "chest_cm", "waist_cm",
                                            "hip_cm", "length_cm", "sizes", NULL};
static const char *const SIZE_KEYS[] = {"name", "chest_cm", "waist_cm", "hip_cm", "length_cm", NULL};
/* A size row's keys (the garment's own row takes the same ones), their order in size_cm[]. */
static const char *const ROW_KEYS[SCHED_SIZE_KEYS] = {"chest_cm", "waist_cm", "hip_cm", "length_cm"};
static const char *const PAIR_KEYS[] = {"person", "garment", NULL};
static const char *const PRESETS[] = {"preview", "catalog", "hero", NULL};
/* The garment types avatar/ builds and the aliases avatar_garment_type_parse accepts (kept
   equal by hand: test_sched_catalog loads all twelve, test_avatar_garment parses them). */
static const char *const GARMENT_TYPES[] = {"t-shirt", "long-sleeve", "dress", "skirt", "trousers", "shorts",
                                            "top", "tee", "shirt", "longsleeve", "pants", "jeans", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static void join_list(char *out, size_t cap, const char *const *list)
{
    size_t off = 0;
    out[0] = 0;
    for (const char *const *a = list; *a && off < cap; a++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s", a == list ? "" : ", ", *a);
}

/* Ids name output files: [A-Za-z0-9_.-]{1,64}, and not "." or "..". */
static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SCHED_ID_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '.' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* A required key of `map`; the message names the map's line. */
static enum tryon_status require(const struct yml_doc *doc, const struct yml_node *map, const char *key,
                                 const char *what, struct yml_node **out)
{
    *out = yml_get(map, key);
    if (!*out)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s is missing required key '%s'", doc->path, map->line, what, key);
    return TRYON_OK;
}

static enum tryon_status int_in(const struct yml_doc *doc, const struct yml_node *n, const char *what,
                                long long lo, long long hi, int *out)
{
    long long v;
    enum tryon_status s = yml_as_int(doc, n, what, &v);
    if (s)
        return s;
    if (v < lo || v > hi)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be between %lld and %lld, not %lld", doc->path, n->line,
                          what, lo, hi, v);
    *out = (int)v;
    return TRYON_OK;
}

static enum tryon_status parse_seed(const struct yml_doc *doc, const struct yml_node *n, uint64_t *out)
{
    const char *str;
    enum tryon_status s = yml_as_str(doc, n, "seed", &str);
    if (s)
        return s;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(str, &end, 10);
    if (str[0] < '0' || str[0] > '9' || errno || *end)
        return tryon_fail(TRYON_EINVAL, "%s:%d: seed must be an integer from 0 to 18446744073709551615, not '%s'",
                          doc->path, n->line, str);
    *out = (uint64_t)v;
    return TRYON_OK;
}

static enum tryon_status parse_render(const struct yml_doc *doc, const struct yml_node *n, struct sched_render *r)
{
    enum tryon_status s = yml_expect(doc, n, YML_MAP, "render");
    if (s || (s = yml_check_keys(doc, n, RENDER_KEYS)))
        return s;
    const struct yml_node *v;
    if ((v = yml_get(n, "preset"))) {
        const char *p;
        if ((s = yml_as_str(doc, v, "render.preset", &p)))
            return s;
        if (!in_list(p, PRESETS)) {
            char list[128];
            join_list(list, sizeof list, PRESETS);
            return tryon_fail(TRYON_EINVAL, "%s:%d: render.preset '%s' is not one of: %s", doc->path, v->line, p, list);
        }
        snprintf(r->preset, sizeof r->preset, "%s", p);
    }
    if ((v = yml_get(n, "width")) && (s = int_in(doc, v, "render.width", 1, 8192, &r->width)))
        return s;
    if ((v = yml_get(n, "height")) && (s = int_in(doc, v, "render.height", 1, 8192, &r->height)))
        return s;
    if ((v = yml_get(n, "spp")) && (s = int_in(doc, v, "render.spp", 1, 65536, &r->spp)))
        return s;
    if ((v = yml_get(n, "max_depth")) && (s = int_in(doc, v, "render.max_depth", 1, 64, &r->max_depth)))
        return s;
    if ((v = yml_get(n, "aovs")) && (s = yml_as_bool(doc, v, "render.aovs", &r->aovs)))
        return s;
    if ((v = yml_get(n, "meshes")) && (s = yml_as_bool(doc, v, "render.meshes", &r->meshes)))
        return s;
    return TRYON_OK;
}

static char *xstrdup(const char *s)
{
    char *d = tryon_xstrdup(s);
    return d;
}

/* A size row's girths and length (ROW_KEYS) of map m into cm[] (0 = not given): girths
   40..300 cm, length 20..300 cm. */
static enum tryon_status parse_row(const struct yml_doc *doc, const struct yml_node *m, double cm[SCHED_SIZE_KEYS])
{
    for (int k = 0; k < SCHED_SIZE_KEYS; k++) {
        const struct yml_node *v = yml_get(m, ROW_KEYS[k]);
        if (!v)
            continue;
        enum tryon_status s = yml_as_double(doc, v, ROW_KEYS[k], &cm[k]);
        if (s)
            return s;
        double lo = k == SCHED_SIZE_LENGTH ? 20.0 : 40.0;
        if (!(cm[k] >= lo && cm[k] <= 300.0))
            return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be between %.0f and 300, not %s", doc->path, v->line,
                              ROW_KEYS[k], lo, v->str);
    }
    return TRYON_OK;
}

/* A garment's `sizes:` chart (list) into e->sizes; m is the garment's map. Rules in
   scheduler.h: names as ids and unique, smallest first, every row the same keys, girths
   growing from row to row, not together with the garment's own chest_cm..length_cm. */
static enum tryon_status parse_sizes(const struct yml_doc *doc, const struct yml_node *m, const struct yml_node *list,
                                     struct sched_entry *e)
{
    for (int k = 0; k < SCHED_SIZE_KEYS; k++)
        if (e->size_cm[k] > 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: garment '%s' gives both %s and sizes (a chart lists the girths per size)",
                              doc->path, yml_get(m, ROW_KEYS[k])->line, e->id, ROW_KEYS[k]);
    enum tryon_status s = yml_expect(doc, list, YML_SEQ, "sizes");
    if (s)
        return s;
    if (list->n == 0 || list->n > SCHED_MAX_SIZES)
        return tryon_fail(TRYON_EINVAL, "%s:%d: sizes must list 1 to %d sizes, not %d", doc->path, list->line,
                          SCHED_MAX_SIZES, list->n);
    if (!(e->sizes = calloc((size_t)list->n, sizeof *e->sizes)))
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    e->n_sizes = list->n;
    for (int i = 0; i < list->n; i++) {
        const struct yml_node *row = list->items[i];
        struct yml_node *nm;
        struct sched_size *z = &e->sizes[i];
        char what[48];
        snprintf(what, sizeof what, "sizes[%d]", i + 1);
        const char *name;
        if ((s = yml_expect(doc, row, YML_MAP, what)) || (s = yml_check_keys(doc, row, SIZE_KEYS)) ||
            (s = require(doc, row, "name", what, &nm)) || (s = yml_as_str(doc, nm, "name", &name)))
            return s;
        if (!id_valid(name))
            return tryon_fail(TRYON_EINVAL,
                              "%s:%d: size name '%.80s' must be 1 to %d characters of A-Z a-z 0-9 _ . - (and not . or "
                              "..): it names files (renders/<person>/<garment>@<size>.png)",
                              doc->path, nm->line, name, SCHED_ID_MAX);
        z->name = xstrdup(name);
        z->line = row->line;
        if ((s = parse_row(doc, row, z->cm)))
            return s;
        if (!(z->cm[SCHED_SIZE_CHEST] > 0 || z->cm[SCHED_SIZE_WAIST] > 0 || z->cm[SCHED_SIZE_HIP] > 0))
            return tryon_fail(TRYON_EINVAL, "%s:%d: size '%s' lists none of chest_cm, waist_cm, hip_cm", doc->path,
                              row->line, name);
        for (int j = 0; j < i; j++)
            if (strcmp(e->sizes[j].name, name) == 0)
                return tryon_fail(TRYON_EINVAL, "%s:%d: duplicate size name '%s' (first on line %d)", doc->path,
                                  nm->line, name, e->sizes[j].line);
        if (i == 0)
            continue;
        const struct sched_size *prev = &e->sizes[i - 1];
        for (int k = 0; k < SCHED_SIZE_KEYS; k++) {
            if ((prev->cm[k] > 0) != (z->cm[k] > 0))
                return tryon_fail(TRYON_EINVAL, "%s:%d: size '%s' %s %s but size '%s' %s (every size lists the same keys)",
                                  doc->path, row->line, name, z->cm[k] > 0 ? "gives" : "lacks", ROW_KEYS[k],
                                  prev->name, z->cm[k] > 0 ? "does not" : "does");
            if (k != SCHED_SIZE_LENGTH && z->cm[k] > 0 && !(z->cm[k] > prev->cm[k]))
                return tryon_fail(TRYON_EINVAL,
                                  "%s:%d: size '%s': %s %g is not above the %g of size '%s' (list the sizes smallest "
                                  "first)",
                                  doc->path, yml_get(row, ROW_KEYS[k])->line, name, ROW_KEYS[k], z->cm[k], prev->cm[k],
                                  prev->name);
        }
    }
    return TRYON_OK;
}

/* Parse one list of persons or garments (structure only; images are checked later). */
static enum tryon_status parse_entries(const struct yml_doc *doc, const struct yml_node *list, bool garment,
                                       struct sched_entry **out, int *n_out)
{
    const char *what = garment ? "garments" : "persons";
    enum tryon_status s = yml_expect(doc, list, YML_SEQ, what);
    if (s)
        return s;
    if (list->n == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must list at least one entry", doc->path, list->line, what);
    struct sched_entry *e = calloc((size_t)list->n, sizeof *e);
    if (!e)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    *out = e;
    *n_out = list->n;
    for (int i = 0; i < list->n; i++) {
        const struct yml_node *m = list->items[i];
        char name[48];
        snprintf(name, sizeof name, "%s[%d]", what, i + 1);
        if ((s = yml_expect(doc, m, YML_MAP, name)) || (s = yml_check_keys(doc, m, garment ? GARMENT_KEYS : PERSON_KEYS)))
            return s;
        struct yml_node *id, *image, *v;
        const char *str;
        if ((s = require(doc, m, "id", name, &id)) || (s = require(doc, m, "image", name, &image)))
            return s;
        if ((s = yml_as_str(doc, id, "id", &str)))
            return s;
        if (!id_valid(str))
            return tryon_fail(TRYON_EINVAL,
                              "%s:%d: id '%.80s' must be 1 to %d characters of A-Z a-z 0-9 _ . - (and not . or ..)",
                              doc->path, id->line, str, SCHED_ID_MAX);
        e[i].id = xstrdup(str);
        if ((s = yml_as_str(doc, image, "image", &str)))
            return s;
        if (str[0] == 0)
            return tryon_fail(TRYON_EINVAL, "%s:%d: image must not be empty", doc->path, image->line);
        e[i].image = xstrdup(str);
        e[i].line = m->line;
        if ((v = yml_get(m, "height_cm"))) {
            if ((s = yml_as_double(doc, v, "height_cm", &e[i].height_cm)))
                return s;
            if (!(e[i].height_cm >= 50.0 && e[i].height_cm <= 300.0))
                return tryon_fail(TRYON_EINVAL, "%s:%d: height_cm must be between 50 and 300, not %s", doc->path,
                                  v->line, v->str);
        }
        if (garment && (s = parse_row(doc, m, e[i].size_cm)))
            return s;
        if (garment && (v = yml_get(m, "sizes")) && (s = parse_sizes(doc, m, v, &e[i])))
            return s;
        str = "";
        if ((v = yml_get(m, "type"))) {
            if ((s = yml_as_str(doc, v, "type", &str)))
                return s;
            if (!in_list(str, GARMENT_TYPES)) {
                char list_txt[160];
                join_list(list_txt, sizeof list_txt, GARMENT_TYPES);
                return tryon_fail(TRYON_EINVAL, "%s:%d: unknown garment type '%.80s' (known: %s)", doc->path, v->line,
                                  str, list_txt);
            }
        }
        e[i].type = xstrdup(str);
    }
    return TRYON_OK;
}

/* Entries sorted by id (ties by index) for duplicate detection and id lookup. */
struct id_ref { const char *id; int index; };
static int cmp_id_ref(const void *a, const void *b)
{
    const struct id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static enum tryon_status index_ids(const struct yml_doc *doc, const struct sched_entry *e, int n,
                                   const char *what, struct id_ref **out)
{
    struct id_ref *r = malloc(sizeof *r * (size_t)n);
    if (!r)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    for (int i = 0; i < n; i++)
        r[i] = (struct id_ref){e[i].id, i};
    qsort(r, (size_t)n, sizeof *r, cmp_id_ref);
    /* report the duplicate that appears first in the file */
    int worst = -1;
    for (int i = 1; i < n; i++)
        if (strcmp(r[i].id, r[i - 1].id) == 0 && (worst < 0 || r[i].index < r[worst].index))
            worst = i;
    if (worst >= 0) {
        int first = worst - 1;
        while (first > 0 && strcmp(r[first - 1].id, r[worst].id) == 0)
            first--;
        enum tryon_status s = tryon_fail(TRYON_EINVAL, "%s:%d: duplicate %s id '%s' (first on line %d)", doc->path,
                                         e[r[worst].index].line, what, r[worst].id, e[r[first].index].line);
        free(r);
        return s;
    }
    *out = r;
    return TRYON_OK;
}

static int find_id(const struct id_ref *r, int n, const char *id)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(r[mid].id, id);
        if (c == 0)
            return r[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static enum tryon_status parse_pairs(const struct yml_doc *doc, const struct yml_node *n, struct sched_catalog *c,
                                     const struct id_ref *pref, const struct id_ref *gref)
{
    int64_t all = (int64_t)c->n_persons * c->n_garments;
    if (!n || (n->kind == YML_SCALAR && strcmp(n->str, "all") == 0)) {
        if (all > SCHED_MAX_PAIRS)
            return tryon_fail(TRYON_ELIMIT,
                              "%s:%d: pairs: all gives %d persons x %d garments = %lld pairs, over the limit of %d "
                              "(split the catalog)",
                              doc->path, n ? n->line : 1, c->n_persons, c->n_garments, (long long)all, SCHED_MAX_PAIRS);
        c->pairs = malloc(sizeof *c->pairs * (size_t)(all ? all : 1));
        if (!c->pairs)
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
        for (int p = 0; p < c->n_persons; p++)
            for (int g = 0; g < c->n_garments; g++)
                c->pairs[c->n_pairs++] = (struct sched_pair){p, g};
        return TRYON_OK;
    }
    if (n->kind != YML_SEQ)
        return tryon_fail(TRYON_EINVAL, "%s:%d: pairs must be 'all' or a list of {person: ID, garment: ID}",
                          doc->path, n->line);
    if (n->n == 0)
        return tryon_fail(TRYON_EINVAL, "%s:%d: pairs is an empty list (write 'all' or list pairs)", doc->path, n->line);
    if (n->n > SCHED_MAX_PAIRS)
        return tryon_fail(TRYON_ELIMIT, "%s:%d: %d pairs, over the limit of %d (split the catalog)", doc->path, n->line,
                          n->n, SCHED_MAX_PAIRS);
    uint64_t *keys = malloc(sizeof *keys * (size_t)n->n);
    if (!keys)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    enum tryon_status s = TRYON_OK;
    for (int i = 0; i < n->n && !s; i++) {
        const struct yml_node *m = n->items[i];
        char name[48];
        snprintf(name, sizeof name, "pairs[%d]", i + 1);
        struct yml_node *pn, *gn;
        const char *pid, *gid;
        if ((s = yml_expect(doc, m, YML_MAP, name)) || (s = yml_check_keys(doc, m, PAIR_KEYS)) ||
            (s = require(doc, m, "person", name, &pn)) || (s = require(doc, m, "garment", name, &gn)) ||
            (s = yml_as_str(doc, pn, "person", &pid)) || (s = yml_as_str(doc, gn, "garment", &gid)))
            break;
        int p = find_id(pref, c->n_persons, pid);
        int g = find_id(gref, c->n_garments, gid);
        if (p < 0)
            s = tryon_fail(TRYON_EINVAL, "%s:%d: %s names unknown person '%.80s'", doc->path, pn->line, name, pid);
        else if (g < 0)
            s = tryon_fail(TRYON_EINVAL, "%s:%d: %s names unknown garment '%.80s'", doc->path, gn->line, name, gid);
        else
            keys[i] = (uint64_t)p << 32 | (uint32_t)g;
    }
    if (s) {
        free(keys);
        return s;
    }
    /* person-major, catalog order, duplicates dropped */
    qsort(keys, (size_t)n->n, sizeof *keys, cmp_u64);
    c->pairs = malloc(sizeof *c->pairs * (size_t)n->n);
    if (!c->pairs) {
        free(keys);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", doc->path);
    }
    for (int i = 0; i < n->n; i++)
        if (i == 0 || keys[i] != keys[i - 1])
            c->pairs[c->n_pairs++] = (struct sched_pair){(int)(keys[i] >> 32), (int)(keys[i] & 0xffffffffu)};
    free(keys);
    return TRYON_OK;
}

/* The catalog's line of the entry's `image` value, for messages. */
static int image_line(const struct yml_node *list, int i)
{
    const struct yml_node *v = yml_get(list->items[i], "image");
    return v ? v->line : list->items[i]->line;
}

/* Why one entry's image cannot be used, into reason; "" when it can. */
static void image_problem(const struct sched_catalog *c, const struct img_limits *lim, const struct sched_entry *e,
                          char *reason, size_t cap)
{
    const char *path = e->image_path;
    struct stat st;
    reason[0] = 0;
    if (!fs_path_inside(c->dir, e->image)) {
        snprintf(reason, cap, "path leaves the catalog folder");
    } else if (stat(path, &st) != 0) {
        snprintf(reason, cap, "%s", errno == ENOENT || errno == ENOTDIR ? "file not found" : strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(reason, cap, "not a regular file");
    } else {
        struct img_info info;
        tryon_errclear();
        if (img_probe_png(path, lim, &info) != TRYON_OK) {
            /* common names the full path first; the entry message names the image as written */
            const char *m = tryon_errmsg();
            size_t n = strlen(path);
            if (strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
                m += n + 2;
            snprintf(reason, cap, "%s", m);
        }
    }
}

/* Resolve one entry's image path and check it; a problem goes to e->error (the load goes on). */
static void check_image(const struct sched_catalog *c, const struct img_limits *lim, struct sched_entry *e, int line)
{
    char path[PATH_MAX], reason[768];
    if (fs_join(path, sizeof path, c->dir, e->image)) {
        e->image_path = xstrdup(e->image);
        snprintf(reason, sizeof reason, "path too long");
    } else {
        e->image_path = xstrdup(path);
        image_problem(c, lim, e, reason, sizeof reason);
    }
    if (reason[0]) {
        char msg[1600];
        snprintf(msg, sizeof msg, "%s:%d: %s: %s", c->path, line, e->image, reason);
        e->error = xstrdup(msg);
    }
}

static enum tryon_status load_doc(const struct yml_doc *doc, const struct img_limits *lim, struct sched_catalog *c)
{
    const struct yml_node *root = doc->root;
    if (!root)
        return tryon_fail(TRYON_EINVAL, "%s: the catalog is empty", doc->path);
    enum tryon_status s = yml_expect(doc, root, YML_MAP, "the catalog");
    if (s || (s = yml_check_keys(doc, root, ROOT_KEYS)))
        return s;
    const struct yml_node *v;
    if ((v = yml_get(root, "seed")) && (s = parse_seed(doc, v, &c->seed)))
        return s;
    if ((v = yml_get(root, "render")) && (s = parse_render(doc, v, &c->render)))
        return s;
    struct yml_node *plist, *glist;
    if ((s = require(doc, root, "persons", "the catalog", &plist)) ||
        (s = require(doc, root, "garments", "the catalog", &glist)))
        return s;
    if ((s = parse_entries(doc, plist, false, &c->persons, &c->n_persons)) ||
        (s = parse_entries(doc, glist, true, &c->garments, &c->n_garments)))
        return s;
    struct id_ref *pref = NULL, *gref = NULL;
    if (!(s = index_ids(doc, c->persons, c->n_persons, "person", &pref)) &&
        !(s = index_ids(doc, c->garments, c->n_garments, "garment", &gref)))
        s = parse_pairs(doc, yml_get(root, "pairs"), c, pref, gref);
    free(pref);
    free(gref);
    if (s)
        return s;
    /* the structure is sound: now the images, whose problems are per entry */
    for (int i = 0; i < c->n_persons; i++)
        check_image(c, lim, &c->persons[i], image_line(plist, i));
    for (int i = 0; i < c->n_garments; i++)
        check_image(c, lim, &c->garments[i], image_line(glist, i));
    return TRYON_OK;
}

enum tryon_status sched_catalog_load(const char *path, const struct img_limits *lim, struct sched_catalog **out)
{
    *out = NULL;
    struct img_limits dflt = img_default_limits();
    if (!lim)
        lim = &dflt;
    struct sched_catalog *c = calloc(1, sizeof *c);
    if (!c)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    c->path = xstrdup(path);
    c->seed = 1;
    char dir[PATH_MAX], rdir[PATH_MAX];
    fs_dirname(dir, sizeof dir, path);
    struct yml_doc *doc = NULL;
    enum tryon_status s = yml_load_file(path, 0, &doc);
    if (!s && !realpath(dir, rdir))
        s = tryon_fail(TRYON_EIO, "%s: cannot resolve the catalog folder: %s", dir, strerror(errno));
    if (!s) {
        c->dir = xstrdup(rdir);
        s = load_doc(doc, lim, c);
    }
    yml_free(doc);
    if (s) {
        sched_catalog_free(c);
        return s;
    }
    *out = c;
    return TRYON_OK;
}

static void free_entries(struct sched_entry *e, int n)
{
    if (!e)
        return;
    for (int i = 0; i < n; i++) {
        free(e[i].id);
        free(e[i].image);
        free(e[i].image_path);
        free(e[i].type);
        free(e[i].error);
        for (int k = 0; k < e[i].n_sizes; k++)
            free(e[i].sizes[k].name);
        free(e[i].sizes);
    }
    free(e);
}

void sched_catalog_free(struct sched_catalog *c)
{
    if (!c)
        return;
    sched_status_stop_for(c); /* its thread reads this catalog */
    free_entries(c->persons, c->n_persons);
    free_entries(c->garments, c->n_garments);
    free(c->pairs);
    free(c->path);
    free(c->dir);
    free(c);
}

int sched_catalog_report(const struct sched_catalog *c, FILE *f)
{
    int n = 0;
    for (int i = 0; i < c->n_persons; i++)
        if (c->persons[i].error) {
            fprintf(f, "%s\n", c->persons[i].error);
            n++;
        }
    for (int i = 0; i < c->n_garments; i++)
        if (c->garments[i].error) {
            fprintf(f, "%s\n", c->garments[i].error);
            n++;
        }
    return n;
}
