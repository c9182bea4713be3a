/* yaml.c: YAML files as a plain tree with line numbers, through libyaml's event parser.
 * Built from events (not libyaml's document API) so aliases can be refused outright and
 * nesting depth bounded: a catalog or config needs neither. The node count is bounded too
 * (YML_MAX_NODES), so a large flat document cannot make the tree take unbounded memory:
 * together with the file size cap of yml_load_file this bounds a load's memory up front.
 * Every error names the file and line, which is what the catalog validation reports. */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YML_MAX_DEPTH 64
/* Nodes (values, lists, maps; map keys are not counted, each key has a counted value) in
 * one document. About 100 bytes each with its key, so at most ~100 MiB; a catalog of
 * 10^5 persons and 10^5 garments with id and image needs ~600k. */
#define YML_MAX_NODES (1 << 20)

static void node_free(struct yml_node *n)
{
    if (!n)
        return;
    if (n->str != (char *)(n + 1)) /* a scalar's text lives in its node's allocation */
        free(n->str);
    for (int i = 0; i < n->n; i++) {
        node_free(n->items[i]);
        if (n->keys)
            free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_lines);
    free(n);
}

void yml_free(struct yml_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    free(doc->path);
    free(doc);
}

/* Append child (and, for a map, its key) to parent. The arrays' capacity is the next power
 * of two >= n (implied by n, not stored), so they grow geometrically: appending 10^5 items
 * costs O(n) copying, not O(n^2). */
static int push_item(struct yml_node *parent, struct yml_node *child, char *key, int key_line)
{
    int n = parent->n + 1;
    int old = parent->n;
    if (old == 0 || (old & (old - 1)) == 0) { /* full: 0, 1, 2, 4, ... items */
        size_t cap = old ? 2 * (size_t)old : 1;
        struct yml_node **items = realloc(parent->items, sizeof *items * cap);
        if (!items)
            return -1;
        parent->items = items;
        if (parent->kind == YML_MAP) {
            char **keys = realloc(parent->keys, sizeof *keys * cap);
            if (!keys)
                return -1;
            parent->keys = keys;
            int *kl = realloc(parent->key_lines, sizeof *kl * cap);
            if (!kl)
                return -1;
            parent->key_lines = kl;
        }
    }
    if (parent->kind == YML_MAP) {
        parent->keys[n - 1] = key;
        parent->key_lines[n - 1] = key_line;
    }
    parent->items[n - 1] = child;
    parent->n = n;
    return 0;
}

struct builder {
    const char *name;
    yaml_parser_t parser;
    struct yml_node *stack[YML_MAX_DEPTH];
    char *pending_key[YML_MAX_DEPTH]; /* map frames: key waiting for its value */
    int pending_line[YML_MAX_DEPTH];
    int depth;
    long n_nodes;                     /* nodes made so far, against YML_MAX_NODES */
    struct yml_node *root;
};

static enum tryon_status attach(struct builder *b, struct yml_node *n)
{
    if (b->depth == 0) {
        if (b->root) {
            int line = n->line; /* read before the free (found by fuzzing: a use after free) */
            node_free(n);
            return tryon_fail(TRYON_EINVAL, "%s:%d: more than one document", b->name, line);
        }
        b->root = n;
        return TRYON_OK;
    }
    struct yml_node *top = b->stack[b->depth - 1];
    if (top->kind == YML_SEQ) {
        if (push_item(top, n, NULL, 0)) {
            node_free(n);
            return tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->name);
        }
        return TRYON_OK;
    }
    /* map: the value for the pending key (scalar keys never get here: build() keeps them
       as plain strings), or a list or map where a key should be */
    char **pk = &b->pending_key[b->depth - 1];
    if (!*pk) {
        int line = n->line;
        node_free(n);
        return tryon_fail(TRYON_EINVAL, "%s:%d: a map key must be a plain value", b->name, line);
    }
    if (push_item(top, n, *pk, b->pending_line[b->depth - 1])) {
        node_free(n);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->name);
    }
    *pk = NULL;
    return TRYON_OK;
}

static struct yml_node *new_node(enum yml_kind k, int line)
{
    struct yml_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = k;
        n->line = line;
    }
    return n;
}

static enum tryon_status build(struct builder *b)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&b->parser, &ev)) {
            return tryon_fail(TRYON_EINVAL, "%s:%zu:%zu: YAML syntax error: %s%s%s", b->name,
                              b->parser.problem_mark.line + 1, b->parser.problem_mark.column + 1,
                              b->parser.problem ? b->parser.problem : "unknown",
                              b->parser.context ? " " : "", b->parser.context ? b->parser.context : "");
        }
        int line = (int)ev.start_mark.line + 1;
        enum tryon_status s = TRYON_OK;
        bool is_key = b->depth > 0 && b->stack[b->depth - 1]->kind == YML_MAP && !b->pending_key[b->depth - 1];
        if ((ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
             ev.type == YAML_MAPPING_START_EVENT) && !is_key && ++b->n_nodes > YML_MAX_NODES) {
            yaml_event_delete(&ev);
            return tryon_fail(TRYON_ELIMIT, "%s:%d: more than %d YAML nodes (values, lists, maps)", b->name, line,
                              YML_MAX_NODES);
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            yaml_event_delete(&ev);
            return TRYON_OK;
        case YAML_ALIAS_EVENT:
            s = tryon_fail(TRYON_EINVAL, "%s:%d: YAML aliases are not supported", b->name, line);
            break;
        case YAML_SCALAR_EVENT: {
            /* text up to the first NUL (a "\0" escape ends it) */
            const char *text = (const char *)ev.data.scalar.value;
            size_t len = strnlen(text, ev.data.scalar.length);
            if (is_key) { /* a map key: kept as a string until its value arrives */
                if (!(b->pending_key[b->depth - 1] = strndup(text, len))) {
                    s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->name);
                    break;
                }
                b->pending_line[b->depth - 1] = line;
                break;
            }
            /* one allocation for the node and its text: a 10^5-pair catalog has 2 * 10^5 of them */
            struct yml_node *n = calloc(1, sizeof *n + len + 1);
            if (!n) {
                s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->name);
                break;
            }
            n->kind = YML_SCALAR;
            n->line = line;
            n->str = (char *)(n + 1);
            memcpy(n->str, text, len);
            s = attach(b, n);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            if (b->depth >= YML_MAX_DEPTH) {
                s = tryon_fail(TRYON_ELIMIT, "%s:%d: nesting deeper than %d", b->name, line, YML_MAX_DEPTH);
                break;
            }
            struct yml_node *n = new_node(ev.type == YAML_SEQUENCE_START_EVENT ? YML_SEQ : YML_MAP, line);
            if (!n) {
                s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", b->name);
                break;
            }
            s = attach(b, n);
            if (s == TRYON_OK) {
                b->stack[b->depth] = n;
                b->pending_key[b->depth] = NULL;
                b->depth++;
            }
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            b->depth--;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (s)
            return s;
    }
}

enum tryon_status yml_load_string(const char *text, size_t len, const char *name, struct yml_doc **out)
{
    *out = NULL;
    struct builder *b = calloc(1, sizeof *b);
    struct yml_doc *doc = calloc(1, sizeof *doc);
    if (!b || !doc || !(doc->path = strdup(name))) {
        free(b);
        yml_free(doc);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", name);
    }
    b->name = name;
    yaml_parser_initialize(&b->parser);
    yaml_parser_set_input_string(&b->parser, (const unsigned char *)text, len);
    enum tryon_status s = build(b);
    yaml_parser_delete(&b->parser);
    for (int i = 0; i < b->depth; i++)
        free(b->pending_key[i]);
    if (s) {
        node_free(b->root);
        free(b);
        yml_free(doc);
        return s;
    }
    doc->root = b->root;
    free(b);
    *out = doc;
    return TRYON_OK;
}

enum tryon_status yml_load_file(const char *path, size_t max_bytes, struct yml_doc **out)
{
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_all(path, max_bytes ? max_bytes : (16u << 20), &data, &len);
    if (s)
        return s;
    s = yml_load_string((const char *)data, len, path, out);
    free(data);
    return s;
}

struct yml_node *yml_get(const struct yml_node *map, const char *key)
{
    if (!map || map->kind != YML_MAP)
        return NULL;
    for (int i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

enum tryon_status yml_check_keys(const struct yml_doc *doc, const struct yml_node *map,
                                 const char *const *allowed)
{
    if (!map || map->kind != YML_MAP)
        return TRYON_OK;
    for (int i = 0; i < map->n; i++) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, map->keys[i]) == 0)
                ok = true;
        if (!ok) {
            char list[512];
            size_t off = 0;
            list[0] = 0;
            for (const char *const *a = allowed; *a && off < sizeof list; a++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", a == allowed ? "" : ", ", *a);
            return tryon_fail(TRYON_EINVAL, "%s:%d: unknown key '%s' (expected one of: %s)", doc->path,
                              map->key_lines[i], map->keys[i], list);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(map->keys[i], map->keys[j]) == 0)
                return tryon_fail(TRYON_EINVAL, "%s:%d: key '%s' given twice (first on line %d)", doc->path,
                                  map->key_lines[i], map->keys[i], map->key_lines[j]);
    }
    return TRYON_OK;
}

static const char *kind_name(enum yml_kind k)
{
    return k == YML_SCALAR ? "value" : k == YML_SEQ ? "list" : "map";
}

enum tryon_status yml_expect(const struct yml_doc *doc, const struct yml_node *n, enum yml_kind kind,
                             const char *what)
{
    if (!n)
        return tryon_fail(TRYON_EINVAL, "%s: missing %s", doc->path, what);
    if (n->kind != kind)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be a %s, not a %s", doc->path, n->line, what,
                          kind_name(kind), kind_name(n->kind));
    return TRYON_OK;
}

enum tryon_status yml_as_str(const struct yml_doc *doc, const struct yml_node *n, const char *what, const char **out)
{
    enum tryon_status s = yml_expect(doc, n, YML_SCALAR, what);
    if (s)
        return s;
    *out = n->str;
    return TRYON_OK;
}

enum tryon_status yml_as_int(const struct yml_doc *doc, const struct yml_node *n, const char *what, long long *out)
{
    const char *str;
    enum tryon_status s = yml_as_str(doc, n, what, &str);
    if (s)
        return s;
    char *end;
    errno = 0;
    long long v = strtoll(str, &end, 10);
    if (errno || end == str || *end)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be an integer, not '%s'", doc->path, n->line, what, str);
    *out = v;
    return TRYON_OK;
}

enum tryon_status yml_as_double(const struct yml_doc *doc, const struct yml_node *n, const char *what, double *out)
{
    const char *str;
    enum tryon_status s = yml_as_str(doc, n, what, &str);
    if (s)
        return s;
    char *end;
    errno = 0;
    double v = strtod(str, &end);
    if (errno || end == str || *end || v != v)
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be a number, not '%s'", doc->path, n->line, what, str);
    *out = v;
    return TRYON_OK;
}

enum tryon_status yml_as_bool(const struct yml_doc *doc, const struct yml_node *n, const char *what, bool *out)
{
    const char *str;
    enum tryon_status s = yml_as_str(doc, n, what, &str);
    if (s)
        return s;
    if (!strcmp(str, "true") || !strcmp(str, "yes") || !strcmp(str, "on"))
        *out = true;
    else if (!strcmp(str, "false") || !strcmp(str, "no") || !strcmp(str, "off"))
        *out = false;
    else
        return tryon_fail(TRYON_EINVAL, "%s:%d: %s must be true or false, not '%s'", doc->path, n->line, what, str);
    return TRYON_OK;
}
