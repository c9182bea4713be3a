/* test_nn_safetensors.c: the safetensors reader and writer.
 * - writer -> parser round trip of values, shapes, dtypes, metadata; data starts 8-aligned;
 * - a file written by the Python safetensors library (a golden file) reads with the
 *   expected tensors and metadata;
 * - every corruption below is rejected with TRYON_EFORMAT and a message naming the file
 *   (and the tensor where one is at fault): short file, header length past the end,
 *   non-object header, unknown dtype, byte count not matching the shape, offsets past the
 *   data, overlap, hole, trailing bytes, duplicate name, non-string metadata, bad shape.
 * usage: test_nn_safetensors GOLDEN_DIR */
#include "nn_test_util.h"

#include <string.h>

/* Build a file from a header string and n data bytes (pattern). */
static enum tryon_status parse_raw(const char *header, size_t data_len, struct nn_st_file **f)
{
    size_t hl = strlen(header), len = 8 + hl + data_len;
    uint8_t *b = calloc(1, len);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < data_len; i++)
        b[8 + hl + i] = (uint8_t)i;
    enum tryon_status s = nn_st_parse(b, len, "bad.safetensors", f);
    free(b);
    return s;
}

static void expect_bad(const char *header, size_t data_len, const char *needle)
{
    struct nn_st_file *f = NULL;
    enum tryon_status s = parse_raw(header, data_len, &f);
    CHECK_MSG(s == TRYON_EFORMAT, "accepted: %s", header);
    CHECK(f == NULL);
    CHECK_CONTAINS(tryon_errmsg(), "bad.safetensors");
    CHECK_CONTAINS(tryon_errmsg(), needle);
    nn_st_free(f);
}

static void test_round_trip(void)
{
    struct nn_st_writer *w = nn_st_writer_create();
    float a[6] = {1, -2, 3.5f, 1e-30f, -0.0f, 65504};
    int32_t b[3] = {7, -1, 2147483647};
    int64_t sa[2] = {2, 3}, sb[1] = {3}, sc[1] = {0};
    CHECK(nn_st_add(w, "layer.a", NN_F32, 2, sa, a) == TRYON_OK);
    CHECK(nn_st_add(w, "b", NN_I32, 1, sb, b) == TRYON_OK);
    CHECK(nn_st_add(w, "empty", NN_F32, 1, sc, NULL) == TRYON_OK);
    CHECK(nn_st_add(w, "scalar", NN_F32, 0, NULL, a) == TRYON_OK);
    CHECK(nn_st_add(w, "b", NN_F32, 1, sb, a) == TRYON_EINVAL); /* duplicate */
    CHECK(nn_st_add_meta(w, "model", "x \"quoted\"") == TRYON_OK);
    uint8_t *bytes;
    size_t len;
    CHECK(nn_st_serialize(w, &bytes, &len) == TRYON_OK);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | bytes[i];
    CHECK_EQ_INT((8 + hl) % 8, 0);
    CHECK_EQ_INT(len, 8 + hl + 24 + 12 + 0 + 4);
    struct nn_st_file *f = NULL;
    CHECK(nn_st_parse(bytes, len, "mem", &f) == TRYON_OK);
    if (f) {
        CHECK_EQ_INT(f->n, 4);
        const struct nn_st_tensor *t = nn_st_find(f, "layer.a");
        CHECK(t && t->dtype == NN_F32 && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
        float got[6];
        if (t) {
            nn_st_copy_f32(f, t, got);
            CHECK(memcmp(got, a, sizeof a) == 0);
        }
        t = nn_st_find(f, "b");
        int32_t gb[3];
        CHECK(t && t->dtype == NN_I32);
        if (t) {
            nn_st_copy_i32(f, t, gb);
            CHECK(memcmp(gb, b, sizeof b) == 0);
        }
        t = nn_st_find(f, "scalar");
        CHECK(t && t->ndim == 0 && nn_st_numel(t) == 1);
        CHECK_STR(nn_st_meta(f, "model"), "x \"quoted\"");
        CHECK(nn_st_meta(f, "nope") == NULL);
        float *v = NULL;
        CHECK(nn_st_get_f32(f, "b", 0, &v, NULL) == TRYON_EFORMAT); /* wrong dtype */
        CHECK(nn_st_get_f32(f, "layer.a", 5, &v, NULL) == TRYON_EFORMAT); /* wrong count */
        CHECK(nn_st_get_f32(f, "missing", 0, &v, NULL) == TRYON_EFORMAT);
    }
    nn_st_free(f);
    /* truncating the serialized bytes anywhere must fail cleanly */
    for (size_t cut = 0; cut < len; cut += 7) {
        f = NULL;
        CHECK(nn_st_parse(bytes, cut, "cut", &f) == TRYON_EFORMAT);
        nn_st_free(f);
    }
    free(bytes);
    nn_st_writer_free(w);
}

static void test_python_file(const char *dir)
{
    struct nn_st_file *f = open_golden(dir, "op_linear");
    if (!f)
        return;
    const struct nn_st_tensor *w = nn_st_find(f, "w");
    CHECK(w && w->dtype == NN_F32 && w->ndim == 2 && w->shape[0] == 5 && w->shape[1] == 7);
    CHECK_STR(nn_st_meta(f, "in"), "7");
    CHECK_EQ_INT(f->n, 8);
    nn_st_free(f);
}

static void test_rejects(void)
{
    struct nn_st_file *f = NULL;
    uint8_t tiny[4] = {0};
    CHECK(nn_st_parse(tiny, 4, "bad.safetensors", &f) == TRYON_EFORMAT);
    CHECK_CONTAINS(tryon_errmsg(), "too short");
    uint8_t huge[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};
    CHECK(nn_st_parse(huge, 16, "bad.safetensors", &f) == TRYON_EFORMAT);
    CHECK_CONTAINS(tryon_errmsg(), "past the end");
    expect_bad("[1, 2]", 0, "not a JSON object");
    expect_bad("{\"a\": {\"dtype\": \"BF16\", \"shape\": [1], \"data_offsets\": [0, 2]}}", 2, "unsupported dtype");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, "'a'");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 2, "outside");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
               " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "overlaps");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "unused bytes");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 6, "after the last");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
               " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, "twice");
    expect_bad("{\"__metadata__\": {\"k\": 3}}", 0, "not a string");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 0]}}", 0, "shape");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, "shape");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4, "outside");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "data_offsets");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4], \"x\": 1}}", 4, "unknown field");
    expect_bad("{\"a\": 5}", 0, "not an object");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4, "bad.safetensors");
    /* a well-formed one for contrast */
    CHECK(parse_raw("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, &f) == TRYON_OK);
    nn_st_free(f);
    CHECK(nn_st_read("/nonexistent/x.safetensors", 0, &f) == TRYON_EIO);
}

int main(int argc, char **argv)
{
    test_round_trip();
    test_python_file(golden_dir(argc, argv));
    test_rejects();
    return check_result("test_nn_safetensors");
}
