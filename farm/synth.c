/* synth.c: `tryon synth demo --out DIR`: the demo catalog made by our own renderer.
 *
 * Person photos are MakeHuman bodies of different gender, weight and stature rendered in
 * the studio through the standard photo camera (two with an alpha channel, two opaque so
 * the backdrop must be keyed out); garment photos are garment templates of different
 * cuts and colours on white. DIR/truth.json records the parameters each image was made
 * from, so tests know the truth; DIR/catalog.yaml pairs them all. Deterministic: the same
 * command writes the same bytes. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "farm/farm.h"
#include "worker/worker.h"

struct demo_person { const char *id; struct worker_synth_person p; float hint_cm; };
struct demo_garment { const char *id; struct worker_synth_garment g; bool give_type; };

static const struct demo_person demo_persons[] = {
    {"ava", {0.0f, 0.45f, 0.5f, 0.5f, 1.64f, true}, 164},
    {"ben", {1.0f, 0.62f, 0.55f, 0.5f, 1.84f, false}, 184},
    {"chloe", {0.1f, 0.80f, 0.45f, 0.5f, 1.70f, false}, 0},
    {"dev", {0.9f, 0.30f, 0.65f, 0.5f, 1.76f, true}, 0},
};

static const struct demo_garment demo_garments[] = {
    {"tee-red", {"top", {0.78f, 0.12f, 0.12f}, 0.45f, 0.25f}, true},
    {"longsleeve-teal", {"top", {0.10f, 0.55f, 0.55f}, 0.55f, 1.0f}, false},
    {"jeans-indigo", {"trousers", {0.16f, 0.22f, 0.48f}, 1.0f, 0.0f}, true},
    {"shorts-sand", {"trousers", {0.80f, 0.70f, 0.48f}, 0.25f, 0.0f}, false},
};

static int write_image(const char *dir, const char *sub, const char *id, const struct img8 *im)
{
    char rel[256], path[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/%s.png", sub, id);
    if (fs_join(path, sizeof path, dir, rel) || fs_mkdirs_parent(path) || img_save_png(path, im)) {
        fprintf(stderr, "tryon synth: %s\n", tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    printf("  %s\n", path);
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    if (fs_join(path, sizeof path, dir, name) || fs_write_atomic(path, text, strlen(text))) {
        fprintf(stderr, "tryon synth: %s\n", tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    printf("  %s\n", path);
    return 0;
}

int farm_cmd_synth(int argc, char **argv, int rank, int world)
{
    (void)world;
    static const struct option longs[] = {{"out", required_argument, 0, 'o'}, {"size", required_argument, 0, 'z'},
                                          {"spp", required_argument, 0, 'n'}, {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *out = NULL, *size = "256x384";
    int spp = 64, c;
    optind = 1;
    opterr = rank == 0;
    while ((c = getopt_long(argc, argv, "o:z:n:h", longs, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 'z') size = optarg;
        else if (c == 'n') spp = atoi(optarg);
        else {
            if (rank == 0)
                printf("usage: tryon synth demo --out DIR [--size WxH] [--spp N]\n\n"
                       "Renders the demo catalog's person and garment photos (default 256x384, 64 spp)\n"
                       "with DIR/truth.json (the parameters of each image) and DIR/catalog.yaml.\n");
            return c == 'h' ? FARM_EXIT_OK : FARM_EXIT_USAGE;
        }
    }
    int w, h;
    if (optind != argc - 1 || strcmp(argv[optind], "demo") != 0 || !out || farm_parse_size(size, &w, &h) ||
        spp <= 0) {
        if (rank == 0)
            fprintf(stderr, "usage: tryon synth demo --out DIR [--size WxH] [--spp N]\n");
        return FARM_EXIT_USAGE;
    }
    if (rank != 0)
        return FARM_EXIT_OK;

    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    worker_preset("preview", &ws);
    ws.out_dir = out;
    ws.limits = img_default_limits();
    struct worker *wk;
    if (worker_create(&ws, tryon_asset_dir(), &wk)) {
        fprintf(stderr, "tryon synth: %s\n", tryon_errmsg());
        return FARM_EXIT_ENV;
    }
    printf("tryon synth: writing the demo catalog to %s\n", out);
    int code = 0;
    struct json_w t;
    json_w_init(&t);
    json_obj_begin(&t);
    json_key(&t, "size");
    json_arr_begin(&t);
    json_int(&t, w);
    json_int(&t, h);
    json_arr_end(&t);
    json_key(&t, "persons");
    json_arr_begin(&t);
    for (size_t i = 0; i < sizeof demo_persons / sizeof demo_persons[0] && !code; i++) {
        const struct demo_person *d = &demo_persons[i];
        struct img8 im;
        if (worker_synth_person(wk, &d->p, w, h, spp, hash64(d->id, strlen(d->id), 1), &im)) {
            fprintf(stderr, "tryon synth: person %s: %s\n", d->id, tryon_errmsg());
            code = FARM_EXIT_ENV;
            break;
        }
        code = write_image(out, "persons", d->id, &im);
        img8_free(&im);
        json_obj_begin(&t);
        json_key(&t, "id"); json_str(&t, d->id);
        json_key(&t, "gender"); json_numf(&t, d->p.gender, 4);
        json_key(&t, "weight"); json_numf(&t, d->p.weight, 4);
        json_key(&t, "muscle"); json_numf(&t, d->p.muscle, 4);
        json_key(&t, "age"); json_numf(&t, d->p.age, 4);
        json_key(&t, "stature_m"); json_numf(&t, d->p.stature_m, 4);
        json_key(&t, "alpha"); json_bool(&t, d->p.with_alpha);
        json_obj_end(&t);
    }
    json_arr_end(&t);
    json_key(&t, "garments");
    json_arr_begin(&t);
    for (size_t i = 0; i < sizeof demo_garments / sizeof demo_garments[0] && !code; i++) {
        const struct demo_garment *d = &demo_garments[i];
        struct img8 im;
        if (worker_synth_garment(wk, &d->g, w, h, spp, hash64(d->id, strlen(d->id), 2), &im)) {
            fprintf(stderr, "tryon synth: garment %s: %s\n", d->id, tryon_errmsg());
            code = FARM_EXIT_ENV;
            break;
        }
        code = write_image(out, "garments", d->id, &im);
        img8_free(&im);
        json_obj_begin(&t);
        json_key(&t, "id"); json_str(&t, d->id);
        json_key(&t, "type"); json_str(&t, d->g.type);
        json_key(&t, "color_srgb");
        json_arr_begin(&t);
        for (int k = 0; k < 3; k++)
            json_numf(&t, d->g.color_srgb[k], 4);
        json_arr_end(&t);
        json_key(&t, "length"); json_numf(&t, d->g.length, 4);
        json_key(&t, "sleeve"); json_numf(&t, d->g.sleeve, 4);
        json_obj_end(&t);
    }
    json_arr_end(&t);
    json_obj_end(&t);
    if (!code) {
        char *text = malloc(t.len + 2);
        snprintf(text, t.len + 2, "%s\n", t.buf);
        code = write_text(out, "truth.json", text);
        free(text);
    }
    if (!code) {
        char yaml[4096];
        size_t n = (size_t)snprintf(yaml, sizeof yaml,
                                    "# The demo catalog, written by `tryon synth demo` (see truth.json for the\n"
                                    "# parameters each photo was made from).\n"
                                    "seed: 1\nrender:\n  preset: preview\npersons:\n");
        for (size_t i = 0; i < sizeof demo_persons / sizeof demo_persons[0]; i++) {
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "  - id: %s\n    image: persons/%s.png\n",
                                  demo_persons[i].id, demo_persons[i].id);
            if (demo_persons[i].hint_cm > 0)
                n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    height_cm: %g\n", demo_persons[i].hint_cm);
        }
        n += (size_t)snprintf(yaml + n, sizeof yaml - n, "garments:\n");
        for (size_t i = 0; i < sizeof demo_garments / sizeof demo_garments[0]; i++) {
            n += (size_t)snprintf(yaml + n, sizeof yaml - n, "  - id: %s\n    image: garments/%s.png\n",
                                  demo_garments[i].id, demo_garments[i].id);
            if (demo_garments[i].give_type)
                n += (size_t)snprintf(yaml + n, sizeof yaml - n, "    type: %s\n", demo_garments[i].g.type);
        }
        snprintf(yaml + n, sizeof yaml - n, "pairs: all\n");
        code = write_text(out, "catalog.yaml", yaml);
    }
    json_w_free(&t);
    worker_free(wk);
    return code;
}
