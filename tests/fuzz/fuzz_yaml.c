/* fuzz_yaml.c: libFuzzer harness for the YAML tree builder (common/yaml.c). The input is
 * one YAML text; a tree that loads is walked through the accessors the catalog and model
 * loaders use (yml_get, yml_check_keys, yml_as_*), recursively, then freed. */
#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"

static const char *const KEYS[] = {"id", "image", "persons", "garments", "pairs", "seed", NULL};

static void walk(const struct yml_doc *doc, const struct yml_node *n, int depth)
{
    long long i64;
    double d;
    bool b;
    const char *s;
    if (!n || depth > 100)
        return;
    switch (n->kind) {
    case YML_SCALAR:
        (void)yml_as_int(doc, n, "v", &i64);
        (void)yml_as_double(doc, n, "v", &d);
        (void)yml_as_bool(doc, n, "v", &b);
        (void)yml_as_str(doc, n, "v", &s);
        break;
    case YML_MAP:
        (void)yml_check_keys(doc, n, KEYS);
        (void)yml_get(n, "id");
        for (int i = 0; i < n->n; i++) {
            (void)yml_get(n, n->keys[i]);
            walk(doc, n->items[i], depth + 1);
        }
        break;
    case YML_SEQ:
        for (int i = 0; i < n->n; i++)
            walk(doc, n->items[i], depth + 1);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yml_doc *doc = NULL;
    if (yml_load_string((const char *)data, size, "fuzz.yaml", &doc) == TRYON_OK) {
        walk(doc, doc->root, 0);
        yml_free(doc);
    }
    tryon_errclear();
    return 0;
}
