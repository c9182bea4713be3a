/* test_worker_synth.c: the synth config parser (good config read as written, bad ones
 * refused naming file:line), the per-index draws (pure functions of config and index,
 * classes assigned in turn), and the photos: identical bytes and truth for 1 and 2 render
 * threads, RGBA or RGB as drawn, the subject inside the frame (also through drawn cameras
 * of other heights, tilts, fields of view and distances), truth fields present; the sensor's
 * marks (noise, blur, blocks) change a photo by what they should; product photos in each style
 * (ghost, flat, hanger) read as garment photos and match their own style's outline.
 * usage: test_worker_synth CONFIG_DIR (configs/synth) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "worker/worker.h"

static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s", name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

/* A config must fail with a message holding `needle` (e.g. "bad.yaml:4:"). */
static void expect_bad(const char *text, const char *needle)
{
    struct worker_synth_config c;
    enum tryon_status s = worker_synth_config_load(write_tmp("bad.yaml", text), &c);
    CHECK_MSG(s == TRYON_EINVAL, "status %d for: %s", (int)s, text);
    CHECK_CONTAINS(tryon_errmsg(), needle);
    worker_synth_config_free(&c);
}

static void test_config(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/demo.yaml", dir);
    struct worker_synth_config c;
    CHECK_EQ_INT(worker_synth_config_load(path, &c), TRYON_OK);
    CHECK_EQ_INT(c.n_persons, 4);
    CHECK_EQ_INT(c.n_garments, 6);
    CHECK_EQ_INT(worker_synth_count(&c), 10);
    CHECK_EQ_INT(c.width, 256);
    CHECK_EQ_INT(c.height, 384);
    CHECK(c.write_catalog);
    char id[72];
    const char *folder;
    worker_synth_image_id(&c, 0, id, &folder);
    CHECK_STR(id, "ava");
    CHECK_STR(folder, "persons");
    worker_synth_image_id(&c, 4, id, &folder);
    CHECK_STR(id, "tee-red");
    CHECK_STR(folder, "garments");
    /* 2 of 4 persons with alpha, 2 with a height hint; prints and colours in turn */
    int alpha = 0, hint = 0;
    for (int i = 0; i < 4; i++) {
        struct worker_synth_person p, q;
        worker_synth_draw_person(&c, i, &p);
        worker_synth_draw_person(&c, i, &q);
        CHECK(memcmp(&p, &q, sizeof p) == 0);
        alpha += p.with_alpha;
        hint += p.height_hint;
        CHECK(p.body.stature_m >= 1.60f && p.body.stature_m <= 1.88f);
        CHECK_NEAR(p.body.ph.african + p.body.ph.asian + p.body.ph.caucasian, 1.0, 1e-5);
        CHECK(p.n_wear >= 1);
    }
    CHECK_EQ_INT(alpha, 2);
    CHECK_EQ_INT(hint, 2);
    static const enum worker_print prints[4] = {WORKER_PRINT_STRIPES, WORKER_PRINT_CHECKS, WORKER_PRINT_DOTS,
                                                WORKER_PRINT_LOGO};
    for (int j = 0; j < 6; j++) {
        struct worker_synth_garment g;
        worker_synth_draw_garment(&c, j, &g);
        CHECK_EQ_INT(g.print, prints[j % 4]);
        CHECK_EQ_INT(g.est.type, c.types[j]);
        CHECK_NEAR(img_linear_to_srgb(g.est.color[0]), c.colors[j][0], 1e-4);
    }
    worker_synth_config_free(&c);

    /* unnamed images are numbered */
    CHECK_EQ_INT(worker_synth_config_load(write_tmp("ok.yaml", "seed: 7\npersons: {count: 2}\ngarments: {count: 3}\n"),
                                          &c), TRYON_OK);
    worker_synth_image_id(&c, 1, id, &folder);
    CHECK_STR(id, "p0001");
    worker_synth_image_id(&c, 4, id, &folder);
    CHECK_STR(id, "g0002");
    worker_synth_config_free(&c);

    expect_bad("seed: 1\npersons:\n  count: 2\n  colour: red\ngarments:\n  count: 2\n", "bad.yaml:4: unknown key 'colour'");
    expect_bad("seed: 1\npersons:\n  count: 2\n  gender: [0, 1.5]\ngarments:\n  count: 2\n", "bad.yaml:4:");
    expect_bad("seed: 1\npersons:\n  count: 2\ngarments:\n  count: 2\n  prints: [stripes, paisley]\n",
               "bad.yaml:6: unknown print 'paisley'");
    expect_bad("seed: 1\npersons:\n  count: 2\ngarments:\n  count: 2\n  types: [top, cape]\n", "bad.yaml:6: ");
    expect_bad("seed: 1\npersons:\n  count: 2\n  ids: [a, b, c]\ngarments:\n  count: 2\n", "bad.yaml:4:");
    expect_bad("persons:\n  count: 2\ngarments:\n  count: 2\n", "missing required key 'seed'");
    expect_bad("seed: 1\nsize: [64, x]\npersons:\n  count: 2\ngarments:\n  count: 2\n", "bad.yaml:2:");
    expect_bad("seed: 1\npersons:\n  count: 2\n  stature_cm: [190, 170]\ngarments:\n  count: 2\n", "bad.yaml:4:");
    unlink("bad.yaml");
    unlink("ok.yaml");
}

/* Render image i at 1 and 2 threads: identical pixels and truth. */
static void test_determinism(struct worker *w, const struct worker_synth_config *c, int i)
{
    struct img8 a, b;
    struct json_w ta, tb;
    json_w_init(&ta);
    json_w_init(&tb);
    CHECK_EQ_INT(worker_synth_image(w, c, i, 1, &a, &ta), TRYON_OK);
    CHECK_EQ_INT(worker_synth_image(w, c, i, 2, &b, &tb), TRYON_OK);
    CHECK(a.w == b.w && a.h == b.h && a.c == b.c);
    CHECK_MSG(memcmp(a.px, b.px, (size_t)a.w * a.h * a.c) == 0, "image %d differs between 1 and 2 threads", i);
    CHECK_STR(ta.buf, tb.buf);

    struct json_val *v;
    CHECK_EQ_INT(json_parse(ta.buf, ta.len, "truth", &v), TRYON_OK);
    CHECK_EQ_INT((long long)json_get_num(v, "index", -1), i);
    const struct json_val *box = json_get(v, "subject_box_px");
    CHECK(box && box->type == JSON_ARR && box->n == 4);
    if (box && box->n == 4) {
        /* the subject is in the frame, not touching its top or bottom edge */
        CHECK(box->items[0].num >= 0 && box->items[2].num <= a.w && box->items[2].num > box->items[0].num);
        CHECK(box->items[1].num >= 1 && box->items[3].num <= a.h - 1 && box->items[3].num > box->items[1].num);
    }
    if (i < c->n_persons) {
        struct worker_synth_person p;
        worker_synth_draw_person(c, i, &p);
        CHECK_EQ_INT(a.c, p.with_alpha ? 4 : 3);
        CHECK_STR(json_get_str(v, "kind"), "person");
        CHECK_NEAR(json_get_num(v, "stature_m", 0), p.body.stature_m, 1e-3);
        CHECK(json_get(v, "camera") && json_get(v, "pose") && json_get(v, "wearing") && json_get(v, "ethnic"));
    } else {
        CHECK_EQ_INT(a.c, 3);
        CHECK_STR(json_get_str(v, "kind"), "garment");
        CHECK(json_get_str(v, "type") && json_get(v, "print") && json_get(v, "mean_color_srgb"));
        /* the white backdrop fills the corners */
        for (int k = 0; k < 3; k++)
            CHECK(a.px[k] > 150);
    }
    json_free(v);
    img8_free(&a);
    img8_free(&b);
    json_w_free(&ta);
    json_w_free(&tb);
}

/* Person 0 of a small config (its sensor keys `extra`) rendered at 64x96, 2 spp, RGB. */
static bool sensor_photo(struct worker *w, const char *extra, struct img8 *out)
{
    char text[512];
    snprintf(text, sizeof text, "seed: 5\nsize: [64, 96]\nspp: 2\npersons:\n  count: 1\n  alpha: 0\n%s"
             "garments: {count: 1}\n", extra);
    struct worker_synth_config c;
    bool ok = worker_synth_config_load(write_tmp("sensor.yaml", text), &c) == TRYON_OK;
    struct json_w t;
    json_w_init(&t);
    ok = ok && worker_synth_image(w, &c, 0, 2, out, &t) == TRYON_OK;
    json_w_free(&t);
    worker_synth_config_free(&c);
    CHECK(ok);
    return ok;
}

/* Mean absolute difference of two RGB images' bytes, and their summed horizontal gradient. */
static double mad(const struct img8 *a, const struct img8 *b)
{
    double acc = 0;
    for (size_t i = 0; i < (size_t)a->w * a->h * 3; i++)
        acc += fabs((double)a->px[i] - (double)b->px[i]);
    return acc / ((double)a->w * a->h * 3);
}

static double gradient(const struct img8 *a)
{
    double acc = 0;
    for (int y = 0; y < a->h; y++)
        for (int x = 1; x < a->w; x++)
            for (int c = 0; c < 3; c++)
                acc += abs((int)a->px[((size_t)y * a->w + x) * 3 + c] - (int)a->px[((size_t)y * a->w + x - 1) * 3 + c]);
    return acc;
}

/* The sensor's marks (worker_sensor_degrade through the synth): against the clean photo of
   the same person (its other draws unchanged), noise of sigma 8 moves the bytes by its mean
   absolute value (0.8 sigma, 4.5-8.5 allowed for the clipping and rounding), a blur of 1.5 px
   takes a quarter or more of the horizontal gradient, blocking 1 moves the bytes (0.5-10). */
static void test_sensor(struct worker *w)
{
    struct img8 clean, noisy, blurred, blocky;
    if (!sensor_photo(w, "", &clean))
        return;
    if (sensor_photo(w, "  noise: [8, 8]\n", &noisy)) {
        double m = mad(&clean, &noisy);
        fprintf(stderr, "sensor noise 8: mean absolute change %.2f\n", m);
        CHECK(m > 4.5 && m < 8.5);
        img8_free(&noisy);
    }
    if (sensor_photo(w, "  blur_px: [1.5, 1.5]\n", &blurred)) {
        fprintf(stderr, "blur 1.5 px: gradient %.0f -> %.0f\n", gradient(&clean), gradient(&blurred));
        CHECK(gradient(&blurred) < 0.75 * gradient(&clean));
        img8_free(&blurred);
    }
    if (sensor_photo(w, "  blocking: [1, 1]\n", &blocky)) {
        double m = mad(&clean, &blocky);
        fprintf(stderr, "blocking 1: mean absolute change %.2f\n", m);
        CHECK(m > 0.5 && m < 10.0);
        img8_free(&blocky);
    }
    img8_free(&clean);
    /* a product photo's marks are drawn from the garments' keys */
    struct worker_synth_config c;
    const char *text = "seed: 5\nsize: [64, 96]\nspp: 2\npersons: {count: 1}\ngarments:\n  count: 2\n"
                       "  noise: [5, 5]\n  blur_px: [0.5, 0.5]\n  blocking: [0.25, 0.25]\n";
    if (worker_synth_config_load(write_tmp("gsensor.yaml", text), &c) == TRYON_OK) {
        struct worker_synth_garment g;
        worker_synth_draw_garment(&c, 1, &g);
        CHECK(g.noise == 5.0f && g.blur_px == 0.5f && g.blocking == 0.25f);
        struct img8 a, b;
        struct json_w ta, tb;
        json_w_init(&ta);
        json_w_init(&tb);
        if (worker_synth_image(w, &c, 2, 1, &a, &ta) == TRYON_OK) {   /* image 2: garment 1 */
            c.g_noise = c.g_blur_px = c.g_blocking = (struct worker_synth_range){0, 0};
            if (worker_synth_image(w, &c, 2, 1, &b, &tb) == TRYON_OK) {
                double m = mad(&a, &b);
                fprintf(stderr, "product photo marks: mean absolute change %.2f\n", m);
                CHECK(m > 2.0 && m < 8.0);
                img8_free(&b);
            }
            img8_free(&a);
        }
        json_w_free(&ta);
        json_w_free(&tb);
    } else {
        CHECK(0);
    }
    worker_synth_config_free(&c);
}

/* The product photo styles: a long-sleeve top (whose sleeves show the pose) on a ghost
   mannequin, laid flat and on a hanger
   (192x288, 4 spp): the truth names the style; each photo reads as a garment photo (the
   hanger's hook is no head), and the outline check, given the drawn garment, finds its own
   style's template the closest, at IoU 0.8 or more. */
static void test_styles(struct worker *w)
{
    struct worker_synth_config c;
    CHECK_EQ_INT(worker_synth_config_load(write_tmp("styles.yaml", "seed: 13\nsize: [192, 288]\nspp: 4\n"
                                                    "persons: {count: 0}\ngarments:\n  count: 3\n"
                                                    "  types: [long-sleeve]\n  prints: [stripes]\n"
                                                    "  styles: [ghost, flat, hanger]\n"), &c), TRYON_OK);
    struct avatar_model *m = NULL;
    CHECK_EQ_INT(avatar_model_load(NULL, &m), TRYON_OK);
    struct img_limits lim = img_default_limits();
    for (int j = 0; j < 3 && m; j++) {
        struct img8 im;
        struct json_w t;
        json_w_init(&t);
        CHECK_EQ_INT(worker_synth_image(w, &c, j, 2, &im, &t), TRYON_OK);
        char want[64];
        snprintf(want, sizeof want, "\"style\":\"%s\"", avatar_garment_style_name((enum avatar_garment_style)j));
        CHECK_CONTAINS(t.buf, want);
        char path[64];
        snprintf(path, sizeof path, "style-%d.png", j);
        CHECK_EQ_INT(img_save_png(path, &im), TRYON_OK);
        CHECK_MSG(worker_photo_load(WORKER_ASSET_GARMENT, path, &lim) == TRYON_OK, "%s: %s", path, tryon_errmsg());
        img8_free(&im);
        bool alpha = false;
        CHECK_EQ_INT(img_load_png(path, NULL, &im, &alpha), TRYON_OK);   /* RGBA, as a catalog photo is read */
        uint8_t *mask = malloc((size_t)im.w * im.h);
        CHECK_EQ_INT(avatar_segment(&im, alpha, mask), TRYON_OK);
        /* the outline of the drawn garment (its true length and sleeve: the estimators' own
           errors are bench/garment_styles's) */
        struct avatar_garment_est est;
        CHECK_EQ_INT(avatar_estimate_garment(&im, mask, "long-sleeve", &est), TRYON_OK);
        struct worker_synth_garment g;
        worker_synth_draw_garment(&c, j, &g);
        est.length = g.est.length, est.sleeve = g.est.sleeve;
        float iou = 0;
        enum avatar_garment_style style = AVATAR_STYLE_N;
        CHECK_EQ_INT(avatar_garment_shape_iou(m, mask, im.w, im.h, &est, &iou, &style), TRYON_OK);
        fprintf(stderr, "%s photo: outline IoU %.3f, closest style %s\n",
                avatar_garment_style_name((enum avatar_garment_style)j), iou, avatar_garment_style_name(style));
        CHECK(iou >= 0.8f);
        CHECK_EQ_INT(style, j);
        free(mask);
        img8_free(&im);
        json_w_free(&t);
    }
    avatar_model_free(m);
    worker_synth_config_free(&c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_worker_synth CONFIG_DIR\n");
        return 2;
    }
    test_config(argv[1]);

    char path[512];
    snprintf(path, sizeof path, "%s/demo.yaml", argv[1]);
    struct worker_synth_config c;
    CHECK_EQ_INT(worker_synth_config_load(path, &c), TRYON_OK);
    c.width = 64, c.height = 96, c.spp = 2;
    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    worker_preset("preview", &ws);
    ws.out_dir = ".";
    ws.threads = 2;
    struct worker *w;
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    struct worker_synth_config cam;
    CHECK_EQ_INT(worker_synth_config_load(write_tmp("cam.yaml", "seed: 11\nsize: [64, 96]\nspp: 2\npersons:\n"
                                                    "  count: 6\n  camera_distance_m: [2, 7]\n"
                                                    "  camera_height_m: [0.5, 1.7]\n  camera_tilt_deg: [-15, 15]\n"
                                                    "  camera_vfov_deg: [15, 50]\n  stature_cm: [150, 205]\n"
                                                    "garments: {count: 1}\n"), &cam), TRYON_OK);
    /* a drawn camera: within its ranges, far enough back to frame the figure (the distance
       only ever raised), every such person given a height hint */
    for (int i = 0; i < 6; i++) {
        struct worker_synth_person p;
        worker_synth_draw_person(&cam, i, &p);
        CHECK(p.cam_height_m >= 0.5f && p.cam_height_m <= 1.7f && fabsf(p.cam_tilt_deg) <= 15.0f);
        CHECK(p.cam_vfov_deg >= 15.0f && p.cam_vfov_deg <= 50.0f && p.cam_distance_m >= 2.0f);
        CHECK(p.height_hint);
        fprintf(stderr, "camera %d: %.2f m high, %.2f m away, tilt %.1f, vfov %.1f, stature %.2f m\n", i,
                p.cam_height_m, p.cam_distance_m, p.cam_tilt_deg, p.cam_vfov_deg, p.body.stature_m);
    }
    if (w) {
        test_determinism(w, &c, 1);   /* a person with alpha, two garments */
        test_determinism(w, &c, 7);   /* a garment with a logo */
        for (int i = 0; i < 6; i++)   /* the whole figure in frame through every drawn camera */
            test_determinism(w, &cam, i);
        test_sensor(w);
        test_styles(w);
        worker_free(w);
    }
    worker_synth_config_free(&cam);
    worker_synth_config_free(&c);
    return check_result("test_worker_synth");
}
