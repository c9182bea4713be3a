/* test_sched_catalog.c: catalog parsing and validation. Every structural error stops the
 * load with a message naming the catalog and the right line; every image problem (missing,
 * not a PNG, huge declared size, ../ escape, absolute path outside, escaping symlink) is
 * recorded on its entry while the load goes on; pairs expand person-major, de-duplicated;
 * size charts load row by row and each of their rules fails naming its line. */
#include "check.h"
#include "sched_test_util.h"
#include "scheduler/scheduler.h"

static char g_dir[UTIL_DIR_MAX];

/* Load `text` as <scratch>/NAME.yaml; return the status and leave the message. */
static enum tryon_status load_text(const char *name, const char *text, struct sched_catalog **out)
{
    char rel[128], path[PATH_MAX];
    snprintf(rel, sizeof rel, "%.100s.yaml", name);
    util_write(g_dir, rel, text);
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    tryon_errclear();
    return sched_catalog_load(path, NULL, out);
}

/* The catalog must fail with a message containing "NAME.yaml:<expect>". */
static void expect_fail(const char *name, const char *text, const char *expect)
{
    struct sched_catalog *c = (struct sched_catalog *)1;
    enum tryon_status s = load_text(name, text, &c);
    char want[512];
    snprintf(want, sizeof want, "%s.yaml:%s", name, expect);
    CHECK_MSG(s < 0, "%s: loaded but should fail with %s", name, want);
    CHECK(c == NULL);
    CHECK_CONTAINS(tryon_errmsg(), want);
    if (s >= 0)
        sched_catalog_free(c);
}

#define HEAD "persons:\n  - id: p1\n    image: img/p.png\ngarments:\n  - id: g1\n    image: img/g.png\n"

static void test_structural(void)
{
    expect_fail("syntax", HEAD "pairs: [ {person: p1\n", "8:");
    expect_fail("syntax2", "persons:\n  - id: p1\n   image: x\n", "3:");
    expect_fail("root_list", "- a\n- b\n", "1: the catalog must be a map");
    expect_fail("unknown_root", HEAD "colour: red\n", "7: unknown key 'colour'");
    expect_fail("unknown_render", "render:\n  preset: hero\n  fps: 3\n" HEAD, "3: unknown key 'fps'");
    expect_fail("unknown_person",
                "persons:\n  - id: p1\n    image: img/p.png\n    weight: 70\ngarments:\n  - id: g1\n    image: img/g.png\n",
                "4: unknown key 'weight'");
    expect_fail("unknown_pair", HEAD "pairs:\n  - {person: p1, garment: g1, size: M}\n", "8: unknown key 'size'");
    expect_fail("repeated_key", "seed: 1\nseed: 2\n" HEAD, "2: key 'seed' given twice (first on line 1)");
    expect_fail("no_persons", "seed: 3\ngarments:\n  - id: g1\n    image: img/g.png\n",
                "1: the catalog is missing required key 'persons'");
    expect_fail("no_image", "persons:\n  - id: p1\n    image: img/p.png\ngarments:\n  - id: g1\n  - id: g2\n    image: x.png\n",
                "5: garments[1] is missing required key 'image'");
    expect_fail("no_id", "persons:\n  - image: img/p.png\ngarments:\n  - id: g1\n    image: img/g.png\n",
                "2: persons[1] is missing required key 'id'");
    expect_fail("dup_id",
                "persons:\n  - id: p1\n    image: a.png\n  - id: p2\n    image: b.png\n  - id: p1\n    image: c.png\n"
                "garments:\n  - id: g1\n    image: img/g.png\n",
                "6: duplicate person id 'p1' (first on line 2)");
    expect_fail("bad_id_space", "persons:\n  - id: a b\n    image: a.png\ngarments:\n  - id: g1\n    image: g.png\n",
                "2: id 'a b' must be");
    expect_fail("bad_id_slash", "persons:\n  - id: p1\n    image: a.png\ngarments:\n  - id: ../g\n    image: g.png\n",
                "5: id '../g' must be");
    expect_fail("bad_id_dotdot", "persons:\n  - id: ..\n    image: a.png\ngarments:\n  - id: g\n    image: g.png\n",
                "2: id '..' must be");
    expect_fail("bad_id_long",
                "persons:\n  - id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    image: a.png\n"
                "garments:\n  - id: g\n    image: g.png\n",
                "2: id 'aaaa");
    expect_fail("unknown_pair_id", HEAD "pairs:\n  - person: p1\n    garment: g1\n  - person: p1\n    garment: g9\n",
                "11: pairs[2] names unknown garment 'g9'");
    expect_fail("unknown_pair_person", HEAD "pairs:\n  - {person: px, garment: g1}\n", "8: pairs[1] names unknown person 'px'");
    expect_fail("pairs_scalar", HEAD "pairs: some\n", "7: pairs must be 'all' or a list");
    expect_fail("pairs_empty", HEAD "pairs: []\n", "7: pairs is an empty list");
    expect_fail("pair_missing", HEAD "pairs:\n  - {person: p1}\n", "8: pairs[1] is missing required key 'garment'");
    expect_fail("bad_preset", "render:\n  preset: ultra\n" HEAD, "2: render.preset 'ultra' is not one of");
    expect_fail("bad_width", "render:\n  width: 0\n" HEAD, "2: render.width must be between 1 and 8192, not 0");
    expect_fail("big_height", "render:\n  height: 9000\n" HEAD, "2: render.height must be between 1 and 8192");
    expect_fail("big_spp", "render:\n  spp: 70000\n" HEAD, "2: render.spp must be between 1 and 65536");
    expect_fail("bad_depth", "render:\n  max_depth: x\n" HEAD, "2: render.max_depth must be an integer");
    expect_fail("bad_bool", "render:\n  aovs: maybe\n" HEAD, "2: render.aovs must be true or false");
    expect_fail("render_list", "render: [1]\n" HEAD, "1: render must be a map");
    expect_fail("bad_seed", "seed: -4\n" HEAD, "1: seed must be an integer");
    expect_fail("bad_height_cm", "persons:\n  - id: p1\n    image: a.png\n    height_cm: 12\ngarments:\n  - id: g\n    image: g.png\n",
                "4: height_cm must be between 50 and 300");
    expect_fail("bad_chest_cm", "persons:\n  - id: p1\n    image: a.png\ngarments:\n  - id: g\n    image: g.png\n    chest_cm: 9\n",
                "7: chest_cm must be between 40 and 300");
    expect_fail("bad_type", "persons:\n  - id: p1\n    image: a.png\ngarments:\n  - id: g\n    image: g.png\n    type: hat\n",
                "7: unknown garment type 'hat'");
    expect_fail("empty_persons", "persons: []\ngarments:\n  - id: g\n    image: g.png\n", "1: persons must list at least one");
    expect_fail("persons_map", "persons:\n  id: p\ngarments:\n  - id: g\n    image: g.png\n", "2: persons must be a list");
    expect_fail("image_empty", "persons:\n  - id: p1\n    image: ''\ngarments:\n  - id: g\n    image: g.png\n",
                "3: image must not be empty");
    expect_fail("image_map", "persons:\n  - id: p1\n    image: {a: 1}\ngarments:\n  - id: g\n    image: g.png\n",
                "3: image must be a value");
    struct sched_catalog *c;
    tryon_errclear();
    CHECK(load_text("empty", "", &c) < 0);
    CHECK_CONTAINS(tryon_errmsg(), "empty.yaml: the catalog is empty");
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/nope.yaml", g_dir);
    CHECK_EQ_INT(sched_catalog_load(missing, NULL, &c), TRYON_EIO);
    CHECK_CONTAINS(tryon_errmsg(), "nope.yaml");
}

/* A PNG signature and an IHDR declaring 100000 x 100000 pixels; no pixel data. */
static void write_huge_ihdr(const char *rel)
{
    static const uint8_t head[33] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                     0, 0x01, 0x86, 0xa0, 0, 0x01, 0x86, 0xa0, 8, 6, 0, 0, 0, 0, 0, 0, 0};
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    CHECK(fs_write_atomic(path, head, sizeof head) == TRYON_OK);
}

static const struct sched_entry *find(const struct sched_entry *e, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].id, id) == 0)
            return &e[i];
    return NULL;
}

static void test_entry_errors(void)
{
    char outside_dir[UTIL_DIR_MAX], outside[PATH_MAX], text[3 * PATH_MAX], link[PATH_MAX];
    util_png(g_dir, "imgs/ok.png", 8, 12, 200, 10, 10, 255);
    util_png(g_dir, "imgs/g.png", 6, 6, 10, 200, 10, 255);
    util_write(g_dir, "imgs/text.png", "this is not a png\n");
    write_huge_ihdr("imgs/huge.png");
    /* a real PNG outside the catalog folder: the catalog lives in g_dir/cat */
    snprintf(outside_dir, sizeof outside_dir, "%s", g_dir);
    util_png(outside_dir, "secret.png", 4, 4, 1, 2, 3, 255);
    snprintf(outside, sizeof outside, "%s/secret.png", outside_dir);
    snprintf(link, sizeof link, "%s/cat/imgs/link.png", g_dir);
    util_png(g_dir, "cat/imgs/ok.png", 8, 12, 200, 10, 10, 255);
    util_png(g_dir, "cat/imgs/g.png", 6, 6, 10, 200, 10, 255);
    util_write(g_dir, "cat/imgs/text.png", "this is not a png\n");
    char huge_rel[] = "cat/imgs/huge.png";
    write_huge_ihdr(huge_rel);
    CHECK(symlink(outside, link) == 0);
    char inside_abs[PATH_MAX];
    snprintf(inside_abs, sizeof inside_abs, "%s/cat/imgs/ok.png", g_dir);
    snprintf(text, sizeof text,
             "seed: 18446744073709551615\n"          /* 1 */
             "persons:\n"                            /* 2 */
             "  - id: good\n"                        /* 3 */
             "    image: imgs/ok.png\n"              /* 4 */
             "    height_cm: 172.5\n"                /* 5 */
             "  - id: missing\n"                     /* 6 */
             "    image: imgs/nothere.png\n"         /* 7 */
             "  - id: text\n"                        /* 8 */
             "    image: imgs/text.png\n"            /* 9 */
             "  - id: huge\n"                        /* 10 */
             "    image: imgs/huge.png\n"            /* 11 */
             "  - id: dotdot\n"                      /* 12 */
             "    image: ../secret.png\n"            /* 13 */
             "  - id: absout\n"                      /* 14 */
             "    image: %s\n"                       /* 15 */
             "  - id: link\n"                        /* 16 */
             "    image: imgs/link.png\n"            /* 17 */
             "  - id: absin\n"                       /* 18 */
             "    image: %s\n"                       /* 19 */
             "  - id: folder\n"                      /* 20 */
             "    image: imgs\n"                     /* 21 */
             "garments:\n"                           /* 22 */
             "  - id: g\n"                           /* 23 */
             "    image: imgs/g.png\n"               /* 24 */
             "    type: long-sleeve\n"               /* 25 */
             "    chest_cm: 104\n",                  /* 26 */
             outside, inside_abs);
    char path[PATH_MAX];
    util_write(g_dir, "cat/catalog.yaml", text);
    snprintf(path, sizeof path, "%s/cat/catalog.yaml", g_dir);
    struct sched_catalog *c = NULL;
    struct img_limits lim = img_default_limits();
    CHECK_EQ_INT(sched_catalog_load(path, &lim, &c), TRYON_OK);
    if (!c) {
        fprintf(stderr, "load failed: %s\n", tryon_errmsg());
        return;
    }
    CHECK(c->seed == UINT64_MAX);
    CHECK_EQ_INT(c->n_persons, 9);
    CHECK_EQ_INT(c->n_pairs, 9);
    const struct sched_entry *e;
    CHECK((e = find(c->persons, c->n_persons, "good")) && !e->error);
    CHECK(e && e->height_cm == 172.5 && e->line == 3 && strcmp(e->type, "") == 0);
    CHECK(e && strstr(e->image_path, "/cat/imgs/ok.png") && e->image_path[0] == '/');
    CHECK((e = find(c->persons, c->n_persons, "absin")) && !e->error);
    CHECK_STR(c->garments[0].type, "long-sleeve");
    CHECK(c->garments[0].size_cm[0] == 104.0 && c->garments[0].size_cm[1] == 0.0 && c->garments[0].size_cm[2] == 0.0);
    CHECK(c->garments[0].error == NULL);
    struct { const char *id, *msg; } want[] = {
        {"missing", "catalog.yaml:7: imgs/nothere.png: file not found"},
        {"text", "catalog.yaml:9: imgs/text.png: not a PNG file"},
        {"huge", "catalog.yaml:11: imgs/huge.png: image is 100000x100000, over the limit"},
        {"dotdot", "catalog.yaml:13: ../secret.png: path leaves the catalog folder"},
        {"absout", ": path leaves the catalog folder"},
        {"link", "catalog.yaml:17: imgs/link.png: path leaves the catalog folder"},
        {"folder", "catalog.yaml:21: imgs: not a regular file"},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        e = find(c->persons, c->n_persons, want[k].id);
        CHECK_MSG(e && e->error, "%s has no error", want[k].id);
        if (e && e->error)
            CHECK_CONTAINS(e->error, want[k].msg);
    }
    e = find(c->persons, c->n_persons, "absout");
    if (e && e->error)
        CHECK_CONTAINS(e->error, "catalog.yaml:15: ");
    /* report prints exactly the entry errors */
    char rpath[PATH_MAX];
    snprintf(rpath, sizeof rpath, "%s/report.txt", g_dir);
    FILE *f = fopen(rpath, "w");
    CHECK_EQ_INT(sched_catalog_report(c, f), 7);
    fclose(f);
    char *rep = util_read(rpath, NULL);
    int lines = 0;
    for (char *p = rep; p && *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, 7);
    CHECK_CONTAINS(rep, "imgs/text.png: not a PNG file");
    free(rep);
    /* plan: pairs of bad entries are set apart, not rendered */
    struct sched_plan plan;
    CHECK_EQ_INT(sched_plan_make(c, NULL, &plan), TRYON_OK);
    CHECK_EQ_INT(plan.n_todo, 2);
    CHECK_EQ_INT(plan.n_invalid, 7);
    CHECK_EQ_INT(plan.n_done, 0);
    sched_plan_free(&plan);
    sched_catalog_free(c);

    /* a smaller size limit from the caller turns the good image into an entry error */
    lim.max_w = 4;
    CHECK_EQ_INT(sched_catalog_load(path, &lim, &c), TRYON_OK);
    if (c) {
        e = find(c->persons, c->n_persons, "good");
        CHECK(e && e->error && strstr(e->error, "catalog.yaml:4: imgs/ok.png: image is 8x12, over the limit"));
        sched_catalog_free(c);
    }
}

static void test_pairs(void)
{
    struct sched_catalog *c = NULL;
    const char *ents = "render:\n  preset: hero\n  width: 300\n  height: 450\n  spp: 64\n  max_depth: 6\n"
                       "  aovs: yes\n  meshes: false\n"
                       "persons:\n  - {id: p0, image: a.png}\n  - {id: p1, image: b.png}\n"
                       "garments:\n  - {id: g0, image: c.png}\n  - {id: g1, image: d.png}\n  - {id: g2, image: e.png}\n";
    CHECK_EQ_INT(load_text("all", ents, &c), TRYON_OK);
    if (c) {
        CHECK_EQ_INT(c->n_pairs, 6);
        for (int i = 0; i < c->n_pairs; i++) {
            CHECK_EQ_INT(c->pairs[i].person, i / 3);
            CHECK_EQ_INT(c->pairs[i].garment, i % 3);
        }
        CHECK(c->seed == 1);
        CHECK_STR(c->render.preset, "hero");
        CHECK(c->render.width == 300 && c->render.height == 450 && c->render.spp == 64 && c->render.max_depth == 6);
        CHECK(c->render.aovs && !c->render.meshes);
        CHECK_EQ_INT(sched_thumb_h(c), 240);
        /* every image is missing here: all pairs invalid, errors on every entry */
        CHECK(c->persons[0].error && strstr(c->persons[0].error, "a.png: file not found"));
        sched_catalog_free(c);
    }
    char text[2048];
    snprintf(text, sizeof text, "%spairs: all\n", ents);
    CHECK_EQ_INT(load_text("all2", text, &c), TRYON_OK);
    if (c) {
        CHECK_EQ_INT(c->n_pairs, 6);
        sched_catalog_free(c);
    }
    snprintf(text, sizeof text,
             "%spairs:\n  - {person: p1, garment: g2}\n  - {person: p0, garment: g1}\n  - {person: p1, garment: g0}\n"
             "  - {person: p0, garment: g1}\n  - {person: p1, garment: g2}\n  - {person: p0, garment: g0}\n",
             ents);
    CHECK_EQ_INT(load_text("list", text, &c), TRYON_OK);
    if (c) {
        static const int want[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 2}};
        CHECK_EQ_INT(c->n_pairs, 4);
        for (int i = 0; i < 4 && i < c->n_pairs; i++) {
            CHECK_EQ_INT(c->pairs[i].person, want[i][0]);
            CHECK_EQ_INT(c->pairs[i].garment, want[i][1]);
        }
        CHECK_EQ_INT(sched_thumb_h(c), 240);
        sched_catalog_free(c);
    }
    /* ids are per list: a person and a garment may share one */
    CHECK_EQ_INT(load_text("shared", "persons:\n  - {id: x, image: a.png}\ngarments:\n  - {id: x, image: b.png}\n", &c),
                 TRYON_OK);
    if (c) {
        CHECK_EQ_INT(c->n_pairs, 1);
        CHECK_EQ_INT(sched_thumb_h(c), 240); /* 2:3 default box */
        sched_catalog_free(c);
    }
}

/* Every garment type name avatar/ builds, and each alias it parses, is a valid catalog type. */
static void test_garment_types(void)
{
    static const char *const names[] = {"t-shirt", "long-sleeve", "dress", "skirt", "trousers", "shorts",
                                        "top", "tee", "shirt", "longsleeve", "pants", "jeans"};
    enum { N = sizeof names / sizeof names[0] };
    char text[4096];
    int len = snprintf(text, sizeof text, "persons:\n  - id: p\n    image: p.png\ngarments:\n");
    for (int k = 0; k < N; k++)
        len += snprintf(text + len, sizeof text - (size_t)len, "  - id: g%d\n    image: g.png\n    type: %s\n", k,
                        names[k]);
    util_write(g_dir, "types/catalog.yaml", text);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/types/catalog.yaml", g_dir);
    struct sched_catalog *c = NULL;
    struct img_limits lim = img_default_limits();
    CHECK_EQ_INT(sched_catalog_load(path, &lim, &c), TRYON_OK);
    if (!c)
        return;
    CHECK_EQ_INT(c->n_garments, N);
    for (int k = 0; k < N && k < c->n_garments; k++)
        CHECK_STR(c->garments[k].type, names[k]);
    sched_catalog_free(c);
    /* the old name of the first version is refused with the list of known types */
    util_write(g_dir, "types/old.yaml", "persons:\n  - id: p\n    image: p.png\ngarments:\n  - id: g\n"
                                         "    image: g.png\n    type: long-sleeve-top\n");
    snprintf(path, sizeof path, "%s/types/old.yaml", g_dir);
    CHECK_EQ_INT(sched_catalog_load(path, &lim, &c), TRYON_EINVAL);
    CHECK_CONTAINS(tryon_errmsg(), "old.yaml:7: unknown garment type 'long-sleeve-top'");
}

/* Size charts: a good chart loads row by row; every rule of scheduler.h fails on its line. */
#define GHEAD "persons:\n  - id: p1\n    image: img/p.png\ngarments:\n  - id: g1\n    image: img/g.png\n"
static void test_sizes(void)
{
    struct sched_catalog *c = NULL;
    CHECK_EQ_INT(load_text("chart",
                           GHEAD "    sizes:\n"
                                 "      - {name: S, chest_cm: 84, waist_cm: 68}\n"
                                 "      - {name: M, chest_cm: 92, waist_cm: 76}\n"
                                 "      - {name: XL-2.b_c, chest_cm: 100, waist_cm: 84.5}\n"
                                 "  - id: g2\n    image: img/g.png\n    length_cm: 70\n    hip_cm: 96\n",
                           &c),
                 TRYON_OK);
    if (c) {
        const struct sched_entry *g = &c->garments[0];
        CHECK_EQ_INT(g->n_sizes, 3);
        if (g->n_sizes == 3) {
            CHECK_STR(g->sizes[0].name, "S");
            CHECK_STR(g->sizes[2].name, "XL-2.b_c");
            CHECK(g->sizes[1].cm[SCHED_SIZE_CHEST] == 92 && g->sizes[1].cm[SCHED_SIZE_WAIST] == 76);
            CHECK(g->sizes[2].cm[SCHED_SIZE_WAIST] == 84.5 && g->sizes[2].cm[SCHED_SIZE_HIP] == 0 &&
                  g->sizes[2].cm[SCHED_SIZE_LENGTH] == 0);
            CHECK_EQ_INT(g->sizes[1].line, 9);
        }
        CHECK(g->size_cm[0] == 0 && g->size_cm[3] == 0);
        CHECK(c->garments[1].n_sizes == 0 && !c->garments[1].sizes);
        CHECK(c->garments[1].size_cm[SCHED_SIZE_LENGTH] == 70 && c->garments[1].size_cm[SCHED_SIZE_HIP] == 96);
        sched_catalog_free(c);
    }
    expect_fail("sz_not_list", GHEAD "    sizes: M\n", "7: sizes must be");
    expect_fail("sz_empty", GHEAD "    sizes: []\n", "7: sizes must list 1 to 16 sizes, not 0");
    char big[4096];
    int len = snprintf(big, sizeof big, GHEAD "    sizes:\n");
    for (int k = 0; k < 17; k++)
        len += snprintf(big + len, sizeof big - (size_t)len, "      - {name: s%d, chest_cm: %d}\n", k, 60 + k);
    expect_fail("sz_many", big, "8: sizes must list 1 to 16 sizes, not 17");
    expect_fail("sz_row_map", GHEAD "    sizes:\n      - S\n", "8: sizes[1] must be a map");
    expect_fail("sz_no_name", GHEAD "    sizes:\n      - {chest_cm: 84}\n", "8: sizes[1] is missing required key 'name'");
    expect_fail("sz_bad_name", GHEAD "    sizes:\n      - {name: S/M, chest_cm: 84}\n",
                "8: size name 'S/M' must be 1 to 64 characters");
    expect_fail("sz_dotdot", GHEAD "    sizes:\n      - {name: .., chest_cm: 84}\n", "8: size name '..' must be");
    expect_fail("sz_unknown", GHEAD "    sizes:\n      - {name: S, chest_cm: 84, inseam_cm: 80}\n",
                "8: unknown key 'inseam_cm'");
    expect_fail("sz_no_girth", GHEAD "    sizes:\n      - {name: S, length_cm: 70}\n",
                "8: size 'S' lists none of chest_cm, waist_cm, hip_cm");
    expect_fail("sz_range", GHEAD "    sizes:\n      - {name: S, chest_cm: 84}\n      - {name: M, chest_cm: 400}\n",
                "9: chest_cm must be between 40 and 300, not 400");
    expect_fail("sz_length", GHEAD "    sizes:\n      - {name: S, chest_cm: 84, length_cm: 10}\n",
                "8: length_cm must be between 20 and 300, not 10");
    expect_fail("sz_text", GHEAD "    sizes:\n      - {name: S, chest_cm: big}\n", "8:");
    expect_fail("sz_dup", GHEAD "    sizes:\n      - {name: M, chest_cm: 84}\n      - {name: M, chest_cm: 92}\n",
                "9: duplicate size name 'M' (first on line 8)");
    expect_fail("sz_order",
                GHEAD "    sizes:\n      - {name: S, chest_cm: 84, waist_cm: 68}\n"
                      "      - {name: M,\n         chest_cm: 92,\n         waist_cm: 68}\n",
                "11: size 'M': waist_cm 68 is not above the 68 of size 'S' (list the sizes smallest first)");
    expect_fail("sz_keys", GHEAD "    sizes:\n      - {name: S, chest_cm: 84, waist_cm: 68}\n      - {name: M, chest_cm: 92}\n",
                "9: size 'M' lacks waist_cm but size 'S' does");
    expect_fail("sz_keys2", GHEAD "    sizes:\n      - {name: S, chest_cm: 84}\n      - {name: M, chest_cm: 92, length_cm: 70}\n",
                "9: size 'M' gives length_cm but size 'S' does not");
    expect_fail("sz_both", GHEAD "    chest_cm: 90\n    sizes:\n      - {name: S, chest_cm: 84}\n",
                "7: garment 'g1' gives both chest_cm and sizes");
    expect_fail("sz_person", "persons:\n  - id: p1\n    image: img/p.png\n    sizes: []\n"
                             "garments:\n  - id: g1\n    image: img/g.png\n",
                "4: unknown key 'sizes'");
}

int main(void)
{
    util_mkscratch(g_dir, sizeof g_dir, "catalog");
    test_structural();
    test_entry_errors();
    test_pairs();
    test_garment_types();
    test_sizes();
    util_rmtree(g_dir);
    return check_result("test_sched_catalog");
}
