/* test_common.c: common/ against known values: SHA-256 test vectors (FIPS 180-4),
 * PNG round trips and rejection of bad files, YAML line numbers and key checks, JSON
 * write/parse round trip, RNG determinism and moments, path containment. */
#include "check.h"
#include "common/common.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_sha256(void)
{
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* streaming in odd pieces equals one shot */
    static char big[1000003];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + 3);
    struct sha256 s;
    uint8_t d1[32];
    sha256_init(&s);
    for (size_t off = 0; off < sizeof big;) {
        size_t take = (off % 97) + 1;
        if (off + take > sizeof big)
            take = sizeof big - off;
        sha256_update(&s, big + off, take);
        off += take;
    }
    sha256_final(&s, d1);
    char h1[65], h2[65];
    for (int i = 0; i < 32; i++)
        snprintf(h1 + 2 * i, 3, "%02x", d1[i]);
    sha256_hex(big, sizeof big, h2);
    CHECK_STR(h1, h2);
}

static void test_rng(void)
{
    struct rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(rng_u64(&a) == rng_u64(&b));
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        float u = rng_float(&a);
        CHECK(u >= 0.0f && u < 1.0f);
        sum += u;
        sum2 += u * u;
        float g = rng_normal(&a);
        nsum += g;
        nsum2 += g * g;
    }
    /* mean 1/2, variance 1/12; standard errors ~ 6.5e-4 and ~ 2e-4: 6 sigma bounds */
    CHECK_NEAR(sum / n, 0.5, 4e-3);
    CHECK_NEAR(sum2 / n - (sum / n) * (sum / n), 1.0 / 12, 1.5e-3);
    CHECK_NEAR(nsum / n, 0.0, 0.015);
    CHECK_NEAR(nsum2 / n, 1.0, 0.02);
    CHECK(hash_pair_seed(1, "ab", "c") != hash_pair_seed(1, "a", "bc"));
    CHECK(hash_pair_seed(1, "p", "g") == hash_pair_seed(1, "p", "g"));
    CHECK(hash_pair_seed(1, "p", "g") != hash_pair_seed(2, "p", "g"));
    struct rng s1, s2;
    rng_split(&b, 7, &s1);
    rng_split(&b, 8, &s2);
    CHECK(rng_u64(&s1) != rng_u64(&s2));
}

static void test_png(void)
{
    struct img8 im;
    CHECK(img8_alloc(&im, 37, 21, 4) == TRYON_OK);
    for (int i = 0; i < 37 * 21 * 4; i++)
        im.px[i] = (uint8_t)(i * 13 + 5);
    CHECK(img_save_png("t_rt.png", &im) == TRYON_OK);
    struct img8 back;
    bool alpha;
    struct img_limits lim = img_default_limits();
    CHECK(img_load_png("t_rt.png", &lim, &back, &alpha) == TRYON_OK);
    CHECK(alpha);
    CHECK(back.w == 37 && back.h == 21 && back.c == 4);
    CHECK(memcmp(back.px, im.px, 37 * 21 * 4) == 0);
    img8_free(&back);
    /* deterministic encoding */
    uint8_t *e1, *e2;
    size_t l1, l2;
    CHECK(img_encode_png(&im, &e1, &l1) == TRYON_OK);
    CHECK(img_encode_png(&im, &e2, &l2) == TRYON_OK);
    CHECK(l1 == l2 && memcmp(e1, e2, l1) == 0);
    /* truncated file: a clear error naming the file */
    CHECK(fs_write_atomic("t_trunc.png", e1, l1 / 2) == TRYON_OK);
    CHECK(img_load_png("t_trunc.png", &lim, &back, NULL) == TRYON_EFORMAT);
    CHECK_CONTAINS(tryon_errmsg(), "t_trunc.png");
    /* huge declared size: rejected before allocating */
    uint8_t hdr[64];
    memcpy(hdr, e1, 64);
    hdr[16] = 0x00; hdr[17] = 0x01; hdr[18] = 0x86; hdr[19] = 0xa0; /* w = 100000 */
    CHECK(fs_write_atomic("t_huge.png", hdr, sizeof hdr) == TRYON_OK);
    CHECK(img_load_png("t_huge.png", &lim, &back, NULL) == TRYON_ELIMIT);
    CHECK_CONTAINS(tryon_errmsg(), "t_huge.png");
    struct img_info info;
    CHECK(img_probe_png("t_huge.png", &lim, &info) == TRYON_ELIMIT);
    /* not a PNG */
    CHECK(fs_write_atomic("t_not.png", "hello world, not a png at all......", 35) == TRYON_OK);
    CHECK(img_load_png("t_not.png", &lim, &back, NULL) == TRYON_EFORMAT);
    CHECK_CONTAINS(tryon_errmsg(), "not a PNG");
    /* a photo in another format is named as what it is */
    static const struct { const char *bytes; size_t n; const char *name; } other[] = {
        {"\xff\xd8\xff\xe0\0\x10JFIF\0", 13, "a JPEG image"},  {"RIFF\x10\0\0\0WEBPVP8 ", 16, "a WebP image"},
        {"\0\0\0\x18" "ftypheic\0\0\0\0", 16, "a HEIF/HEIC image"}, {"\0\0\0\x1c" "ftypavif\0\0\0\0", 16, "an AVIF image"},
        {"II*\0\x08\0\0\0", 8, "a TIFF image"}, {"GIF89a\x01\0\x01\0", 10, "a GIF image"}};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        CHECK(img_decode_png((const uint8_t *)other[i].bytes, other[i].n, "p.png", &lim, &back, NULL) == TRYON_EFORMAT);
        CHECK_CONTAINS(tryon_errmsg(), "p.png: not a PNG file:");
        CHECK_CONTAINS(tryon_errmsg(), other[i].name);
    }
    CHECK(img_load_png("t_missing.png", &lim, &back, NULL) == TRYON_EIO);
    /* found by fuzzing: a 41-byte file whose second chunk (iTXt) declares 1.9 GB made libpng
       allocate that much; now refused from the chunk lengths, before libpng runs */
    static const uint8_t itxt[41] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                     0, 0, 0, 4, 0, 0, 0, 2, 4, 3, 0, 0, 0, 0x8d, 0x86, 0x60, 0x50,
                                     's', 'R', 'G', 'B', 'i', 'T', 'X', 't'};
    CHECK(img_decode_png(itxt, sizeof itxt, "itxt.png", &lim, &back, NULL) == TRYON_EFORMAT);
    CHECK_CONTAINS(tryon_errmsg(), "itxt.png: PNG is truncated: the chunk at byte 33 declares 1934772034 bytes, 0 remain");
    /* RGB without alpha is expanded to RGBA with 255 */
    struct img8 rgb;
    img8_alloc(&rgb, 3, 2, 3);
    for (int i = 0; i < 18; i++)
        rgb.px[i] = (uint8_t)(i * 10);
    CHECK(img_save_png("t_rgb.png", &rgb) == TRYON_OK);
    CHECK(img_load_png("t_rgb.png", &lim, &back, &alpha) == TRYON_OK);
    CHECK(!alpha && back.c == 4 && back.px[3] == 255 && back.px[4] == 30 && back.px[5] == 40);
    img8_free(&back);
    img8_free(&rgb);
    free(e1);
    free(e2);
    img8_free(&im);
}

/* PFM: header, then the rows bottom to top as little-endian floats; 2 channels refused. */
static void test_pfm(void)
{
    struct imgf im;
    CHECK(imgf_alloc(&im, 2, 3, 3) == TRYON_OK);
    for (int i = 0; i < 18; i++)
        im.px[i] = (float)i * 0.5f;
    uint8_t *d = NULL;
    size_t n = 0;
    CHECK(imgf_encode_pfm(&im, &d, &n) == TRYON_OK);
    const char *head = "PF\n2 3\n-1.0\n";
    size_t hl = strlen(head);
    CHECK(n == hl + 18 * sizeof(float) && memcmp(d, head, hl) == 0);
    float first[6], last[6];
    memcpy(first, d + hl, sizeof first);              /* the file's first row is the image's last */
    memcpy(last, d + hl + 12 * sizeof(float), sizeof last);
    CHECK(first[0] == 6.0f && first[5] == 8.5f && last[0] == 0.0f && last[5] == 2.5f);
    free(d);
    im.c = 1;
    CHECK(imgf_encode_pfm(&im, &d, &n) == TRYON_OK && n == strlen("Pf\n2 3\n-1.0\n") + 6 * sizeof(float) && d[1] == 'f');
    free(d);
    im.c = 2;
    CHECK(imgf_encode_pfm(&im, &d, &n) == TRYON_EINVAL);
    im.c = 3;
    imgf_free(&im);
}

static void test_resize(void)
{
    struct imgf a, b;
    imgf_alloc(&a, 8, 6, 1);
    for (int i = 0; i < 48; i++)
        a.px[i] = 0.25f;
    CHECK(imgf_resize(&a, 3, 5, &b) == TRYON_OK);
    for (int i = 0; i < 15; i++)
        CHECK_NEAR(b.px[i], 0.25, 1e-6); /* constant stays constant */
    imgf_free(&b);
    /* box downsample by 2 averages pairs exactly */
    for (int i = 0; i < 48; i++)
        a.px[i] = (float)(i % 8);
    CHECK(imgf_resize(&a, 4, 6, &b) == TRYON_OK);
    CHECK_NEAR(b.px[0], 0.5, 1e-6);
    CHECK_NEAR(b.px[3], 6.5, 1e-6);
    imgf_free(&b);
    imgf_free(&a);
    CHECK_NEAR(img_linear_to_srgb(img_srgb_to_linear(0.5f)), 0.5, 1e-6);
}

/* img8_reduce: premultiplied linear block means, partial blocks at the edges. */
static void test_reduce(void)
{
    struct img8 a, b;
    CHECK(img8_alloc(&a, 5, 3, 4) == TRYON_OK);
    for (int i = 0; i < 15; i++) {
        uint8_t *p = a.px + i * 4;
        bool white = (i % 5) % 2 == 0; /* columns 0, 2, 4 white, 1, 3 black; all opaque */
        p[0] = p[1] = p[2] = white ? 255 : 0;
        p[3] = 255;
    }
    a.px[14 * 4 + 3] = 0; /* the bottom-right pixel transparent: it adds no colour */
    CHECK(img8_reduce(&a, 2, &b) == TRYON_OK);
    CHECK_EQ_INT(b.w, 3);
    CHECK_EQ_INT(b.h, 2);
    /* half white, half black in linear light: 0.5 linear = sRGB 188 */
    CHECK_EQ_INT(b.px[0], (int)lrintf(255.0f * img_linear_to_srgb(0.5f)));
    CHECK_EQ_INT(b.px[3], 255);
    /* the right column's blocks are white only (column 4) */
    CHECK_EQ_INT(b.px[2 * 4], 255);
    /* bottom-right block: one transparent pixel of one: colour 0, alpha 0 */
    CHECK_EQ_INT(b.px[(1 * 3 + 2) * 4 + 3], 0);
    img8_free(&b);
    CHECK(img8_reduce(&a, 1, &b) == TRYON_OK);
    CHECK(b.w == 5 && b.h == 3 && memcmp(a.px, b.px, 14 * 4) == 0); /* k = 1 copies */
    img8_free(&b);
    img8_free(&a);
}

/* fs_confine: no write below the root goes through a symbolic link. */
static void test_confine(void)
{
    CHECK(fs_mkdirs("t_conf/out") == TRYON_OK && fs_mkdirs("t_conf/outside") == TRYON_OK);
    unlink("t_conf/out/renders");
    unlink("t_conf/out/journal.log");
    unlink("t_conf/out/f.txt");
    CHECK(symlink("../outside", "t_conf/out/renders") == 0);
    CHECK(fs_write_atomic("t_conf/outside/victim.txt", "keep", 4) == TRYON_OK);
    CHECK(symlink("../outside/victim.txt", "t_conf/out/journal.log") == 0);
    CHECK(symlink("../outside/victim.txt", "t_conf/out/f.txt") == 0);
    /* unconfined, the link is followed (what the issue saw) */
    CHECK(fs_mkdirs("t_conf/out/renders/ava") == TRYON_OK);
    rmdir("t_conf/outside/ava");
    fs_confine("t_conf/out");
    CHECK(fs_mkdirs("t_conf/out/renders/ava") == TRYON_EIO);
    CHECK_CONTAINS(tryon_errmsg(), "t_conf/out/renders is a symbolic link");
    CHECK(fs_write_atomic("t_conf/out/renders/x.png", "x", 1) == TRYON_EIO);
    int fd = -2;
    CHECK(fs_open_out("t_conf/out/journal.log", O_RDWR | O_CREAT | O_APPEND, 0644, &fd) == TRYON_EIO && fd < 0);
    CHECK_CONTAINS(tryon_errmsg(), "journal.log is a symbolic link");
    /* a link at the final name is replaced, not written through */
    CHECK(fs_write_atomic("t_conf/out/f.txt", "new", 3) == TRYON_OK);
    struct stat st;
    CHECK(lstat("t_conf/out/f.txt", &st) == 0 && S_ISREG(st.st_mode));
    uint8_t *data;
    size_t len;
    CHECK(fs_read_all("t_conf/outside/victim.txt", 0, &data, &len) == TRYON_OK && len == 4 && !memcmp(data, "keep", 4));
    free(data);
    CHECK(!fs_exists("t_conf/outside/ava") && !fs_exists("t_conf/outside/x.png"));
    /* ordinary folders and files below the root work */
    CHECK(fs_mkdirs("t_conf/out/aovs/ben") == TRYON_OK);
    CHECK(fs_write_atomic("t_conf/out/aovs/ben/a.png", "y", 1) == TRYON_OK);
    fd = -1;
    CHECK(fs_open_out("t_conf/out/log.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd) == TRYON_OK && fd >= 0);
    close(fd);
    /* a root that does not exist yet is made on the first write below it */
    fs_confine("t_conf/new-out");
    CHECK(fs_mkdirs("t_conf/new-out/persons") == TRYON_OK && fs_exists("t_conf/new-out/persons"));
    rmdir("t_conf/new-out/persons");
    rmdir("t_conf/new-out");
    fs_confine(NULL);
}

static void test_yaml(void)
{
    const char *text = "a: 1\nb:\n  - x\n  - y: 2.5\n    z: true\nc: hello\n";
    struct yml_doc *d;
    CHECK(yml_load_string(text, strlen(text), "t.yaml", &d) == TRYON_OK);
    CHECK(d->root && d->root->kind == YML_MAP && d->root->n == 3);
    long long v;
    CHECK(yml_as_int(d, yml_get(d->root, "a"), "a", &v) == TRYON_OK && v == 1);
    struct yml_node *b = yml_get(d->root, "b");
    CHECK(b && b->kind == YML_SEQ && b->n == 2 && b->line == 3);
    double f;
    CHECK(yml_as_double(d, yml_get(b->items[1], "y"), "y", &f) == TRYON_OK && f == 2.5);
    CHECK(yml_get(b->items[1], "z")->line == 5);
    static const char *const allowed[] = {"a", "b", NULL};
    CHECK(yml_check_keys(d, d->root, allowed) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "t.yaml:6: unknown key 'c'");
    CHECK(yml_as_int(d, yml_get(d->root, "c"), "c", &v) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "t.yaml:6");
    yml_free(d);
    const char *bad = "a: [1, 2\nb: 3\n";
    CHECK(yml_load_string(bad, strlen(bad), "bad.yaml", &d) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "bad.yaml:");
    const char *alias = "a: &x [1]\nb: *x\n";
    CHECK(yml_load_string(alias, strlen(alias), "alias.yaml", &d) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "alias.yaml:2");
    const char *dup = "a: 1\na: 2\n";
    static const char *const only_a[] = {"a", NULL};
    CHECK(yml_load_string(dup, strlen(dup), "dup.yaml", &d) == TRYON_OK);
    CHECK(yml_check_keys(d, d->root, only_a) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "dup.yaml:2: key 'a' given twice");
    yml_free(d);
    /* found by fuzzing: the second document's message read its node after freeing it */
    const char *two = "first: 1\n---\nsecond: 2\n";
    CHECK(yml_load_string(two, strlen(two), "two.yaml", &d) == TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "two.yaml:3: more than one document");
    /* a list of 2^20 + 1 values is over the node limit; 2^20 - 1 values (and the list) fit */
    for (int extra = -1; extra <= 1; extra += 2) {
        int n = (1 << 20) + extra;
        char *big = malloc((size_t)n * 2 + 4);
        size_t len = 0;
        big[len++] = '[';
        for (int i = 0; i < n; i++) {
            big[len++] = i ? ',' : '0';
            if (i)
                big[len++] = '1';
        }
        big[len++] = ']';
        enum tryon_status s = yml_load_string(big, len, "wide.yaml", &d);
        if (extra < 0) {
            CHECK(s == TRYON_OK && d->root && d->root->n == n);
            yml_free(d);
        } else {
            CHECK(s == TRYON_ELIMIT);
            CHECK_CONTAINS(tryon_errmsg(), "wide.yaml:1: more than 1048576 YAML nodes");
        }
        free(big);
    }
    /* nesting: 64 levels load, 65 do not */
    char nest[160];
    for (int depth = 64; depth <= 65; depth++) {
        memset(nest, '[', (size_t)depth);
        memset(nest + depth, ']', (size_t)depth);
        enum tryon_status s = yml_load_string(nest, 2 * (size_t)depth, "nest.yaml", &d);
        CHECK(depth == 64 ? s == TRYON_OK : s == TRYON_ELIMIT);
        if (s == TRYON_OK)
            yml_free(d);
    }
    CHECK_CONTAINS(tryon_errmsg(), "nest.yaml:1: nesting deeper than 64");
}

static void test_json(void)
{
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "s");
    json_str(&w, "a\"b\n\x01");
    json_key(&w, "n");
    json_num(&w, 0.1);
    json_key(&w, "arr");
    json_arr_begin(&w);
    json_int(&w, -3);
    json_bool(&w, true);
    json_null(&w);
    json_arr_end(&w);
    json_obj_end(&w);
    CHECK_STR(w.buf, "{\"s\":\"a\\\"b\\n\\u0001\",\"n\":0.10000000000000001,\"arr\":[-3,true,null]}");
    struct json_val *v;
    CHECK(json_parse(w.buf, w.len, "w", &v) == TRYON_OK);
    CHECK_STR(json_get_str(v, "s"), "a\"b\n\x01");
    CHECK(json_get_num(v, "n", 0) == 0.1);
    const struct json_val *arr = json_get(v, "arr");
    CHECK(arr && arr->n == 3 && arr->items[0].num == -3 && arr->items[1].b && arr->items[2].type == JSON_NULL);
    json_free(v);
    json_w_free(&w);
    const char *u = "{\"k\": \"\\u00e9\\ud83d\\ude00\"}";
    CHECK(json_parse(u, strlen(u), "u", &v) == TRYON_OK);
    CHECK_STR(json_get_str(v, "k"), "\xc3\xa9\xf0\x9f\x98\x80");
    json_free(v);
    const char *bad[] = {"{", "[1,]", "{\"a\" 1}", "nul", "[1] x", "\"abc", "{\"a\":01x}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(json_parse(bad[i], strlen(bad[i]), "bad", &v) == TRYON_EFORMAT, "input %s", bad[i]);
    }
}

static void test_fs(void)
{
    CHECK(fs_mkdirs("t_dir/sub/deeper") == TRYON_OK);
    CHECK(fs_write_atomic("t_dir/sub/f.txt", "x", 1) == TRYON_OK);
    CHECK(fs_path_inside("t_dir", "sub/f.txt"));
    CHECK(fs_path_inside("t_dir", "sub/missing.png"));
    CHECK(!fs_path_inside("t_dir", "../t_rt.png"));
    CHECK(!fs_path_inside("t_dir", "sub/../../t_rt.png"));
    CHECK(!fs_path_inside("t_dir", "/etc/passwd"));
    unlink("t_dir/link");
    CHECK(symlink("/etc", "t_dir/link") == 0);
    CHECK(!fs_path_inside("t_dir", "link/passwd"));
    char dir[64];
    fs_dirname(dir, sizeof dir, "a/b/c.png");
    CHECK_STR(dir, "a/b");
    uint8_t *data;
    size_t len;
    CHECK(fs_read_all("t_dir/sub/f.txt", 0, &data, &len) == TRYON_OK && len == 1 && data[0] == 'x');
    free(data);
}

int main(void)
{
    test_sha256();
    test_rng();
    test_png();
    test_pfm();
    test_resize();
    test_reduce();
    test_confine();
    test_yaml();
    test_json();
    test_fs();
    return check_result("test_common");
}
