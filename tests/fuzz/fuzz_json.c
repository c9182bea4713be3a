/* fuzz_json.c: libFuzzer harness for the JSON reader (common/json.c json_parse), which
 * reads journal lines and summary files. A value that parses is re-serialized with the
 * JSON writer and parsed again: the second parse must succeed (round trip). */
#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"

static void emit(struct json_w *w, const struct json_val *v)
{
    switch (v->type) {
    case JSON_NULL: json_null(w); break;
    case JSON_BOOL: json_bool(w, v->b); break;
    case JSON_NUM: json_num(w, v->num); break;
    case JSON_STR: json_str(w, v->str); break;
    case JSON_ARR:
        json_arr_begin(w);
        for (size_t i = 0; i < v->n; i++)
            emit(w, &v->items[i]);
        json_arr_end(w);
        break;
    case JSON_OBJ:
        json_obj_begin(w);
        for (size_t i = 0; i < v->n; i++) {
            json_key(w, v->keys[i]);
            emit(w, &v->items[i]);
        }
        json_obj_end(w);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_val *v = NULL;
    if (json_parse((const char *)data, size, "fuzz.json", &v) == TRYON_OK) {
        struct json_w w;
        json_w_init(&w);
        emit(&w, v);
        struct json_val *again = NULL;
        if (json_parse(w.buf, w.len, "again.json", &again) != TRYON_OK)
            abort(); /* the writer produced text the reader refuses */
        json_free(again);
        json_w_free(&w);
        (void)json_get_str(v, "person");
        (void)json_get_num(v, "seconds", 0);
        json_free(v);
    }
    tryon_errclear();
    return 0;
}
