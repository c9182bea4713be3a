/* test_worker_nets.c: the worker's learned estimators (worker/nnest.c).
 *
 * Fallback: a missing folder, a file of another model version and a garment file without
 * its class head each leave that network out with the reason said (nothing fails).
 * Loading: a body encoder saved with random weights in the trainer's format loads, and
 * worker_nets_person's prior is the model's raw "reg" output un-standardised (checked
 * against the same weights run unfolded, relative 1e-3), the same bytes on a second call.
 * The shipped models (models/): on the demo catalog's photos (configs/demo, with truth.json)
 * the garment encoder names all six types, the body encoder's stature is within 6 cm and
 * its phenotype macros within 0.35 of the truth, and the back generator paints a back whose
 * mean colour is within 0.12 (linear) of the garment's true base colour or print colour mix.
 * The person view: a studio photo's is itself, byte for byte; with a height hint the
 * same figure elsewhere in a larger frame gives the same bytes, at half the size half the
 * view.
 * Batches: the shipped models run over the demo photos together (the 4 persons; the 6
 * garments twice over, 12 photos: two forwards of up to WORKER_NET_BATCH) give every photo
 * bit for bit what it gets alone (priors, predictions, types, landmarks, back images).
 * usage: test_worker_nets REPO_DIR */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn/nn.h"
#include "worker/worker.h"

static const char *const TARGETS[15] = {"gender", "age", "muscle", "weight", "proportions", "stature_m",
                                        "arm_down_deg", "leg_spread_deg", "torso_turn_abs_deg", "height_cm",
                                        "chest_cm", "waist_cm", "hip_cm", "inseam_cm", "shoulder_cm"};

/* Save cfg's model with random weights and the trainer's metadata into path. */
static void save_random(struct kern_ctx *ctx, const char *yaml_path, const char *path, const char *version,
                        const float *mean, const float *std)
{
    struct nn_cfg *cfg;
    CHECK_EQ_INT(nn_cfg_load(yaml_path, &cfg), TRYON_OK);
    struct nn_model *m;
    CHECK_EQ_INT(nn_model_create(cfg, ctx, 1, NN_MODE_INFER, &m), TRYON_OK);
    nn_model_init_params(m, 7);
    uint8_t *yaml;
    size_t len;
    CHECK_EQ_INT(fs_read_all(yaml_path, 0, &yaml, &len), TRYON_OK);
    struct json_w w;
    json_w_init(&w);
    json_obj_begin(&w);
    json_key(&w, "type"), json_str(&w, "mse");
    json_key(&w, "targets"), json_arr_begin(&w);
    for (int k = 0; k < 15; k++)
        json_str(&w, TARGETS[k]);
    json_arr_end(&w);
    json_key(&w, "means"), json_arr_begin(&w);
    for (int k = 0; k < 15; k++)
        json_num(&w, mean[k]);
    json_arr_end(&w);
    json_key(&w, "stds"), json_arr_begin(&w);
    for (int k = 0; k < 15; k++)
        json_num(&w, std[k]);
    json_arr_end(&w);
    json_obj_end(&w);
    const char *meta[] = {"tryon_model_version", version, "model_yaml", (const char *)yaml, "output.reg", w.buf, NULL};
    CHECK_EQ_INT(nn_model_save(m, path, meta), TRYON_OK);
    json_w_free(&w);
    free(yaml);
    nn_model_free(m);
    nn_cfg_free(cfg);
}

static void load_photo(const char *path, struct img8 *im, uint8_t **mask)
{
    bool alpha = false;
    CHECK_EQ_INT(img_load_png(path, NULL, im, &alpha), TRYON_OK);
    *mask = malloc((size_t)im->w * im->h);
    CHECK_EQ_INT(avatar_segment(im, alpha, *mask), TRYON_OK);
}

static void fallback_and_format(const char *repo, struct kern_ctx *ctx, const char *photo)
{
    struct worker_nets *n;
    const char *why;
    CHECK_EQ_INT(worker_nets_load("/nonexistent/models", ctx, &n), TRYON_OK);
    CHECK(worker_nets_name(n, WORKER_NET_BODY, &why) == NULL);
    CHECK_CONTAINS(why, "missing");
    CHECK(worker_nets_name(n, WORKER_NET_BACK, &why) == NULL);
    worker_nets_free(n);

    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s/configs/models/body_encoder_cpu.yaml", repo);
    float mean[15], std[15];
    for (int k = 0; k < 15; k++)
        mean[k] = 0.1f * (float)k, std[k] = 1.0f + 0.5f * (float)k;
    CHECK_EQ_INT(fs_mkdirs("nets-old"), TRYON_OK);
    save_random(ctx, yaml, "nets-old/body_encoder.safetensors", "0", mean, std);
    /* a garment file with only a reg head: it lacks the class head */
    save_random(ctx, yaml, "nets-old/garment_encoder.safetensors", NN_MODEL_VERSION, mean, std);
    CHECK_EQ_INT(worker_nets_load("nets-old", ctx, &n), TRYON_OK);
    CHECK(worker_nets_name(n, WORKER_NET_BODY, &why) == NULL);
    CHECK_CONTAINS(why, "model version 0");
    CHECK(worker_nets_name(n, WORKER_NET_GARMENT, &why) == NULL);
    CHECK_CONTAINS(why, "category");
    worker_nets_free(n);

    CHECK_EQ_INT(fs_mkdirs("nets-rand"), TRYON_OK);
    save_random(ctx, yaml, "nets-rand/body_encoder.safetensors", NN_MODEL_VERSION, mean, std);
    CHECK_EQ_INT(worker_nets_load("nets-rand", ctx, &n), TRYON_OK);
    CHECK_STR(worker_nets_name(n, WORKER_NET_BODY, NULL), "body_encoder_cpu");
    struct img8 im;
    uint8_t *mask;
    load_photo(photo, &im, &mask);
    struct avatar_person_prior p1, p2;
    struct worker_net_body b1;
    CHECK_EQ_INT(worker_nets_person(n, &im, mask, 0, &p1, &b1), TRYON_OK);
    CHECK_EQ_INT(worker_nets_person(n, &im, mask, 0, &p2, NULL), TRYON_OK);
    CHECK(memcmp(&p1, &p2, sizeof p1) == 0);
    /* the same weights unfolded, by hand: raw * std + mean */
    struct nn_cfg *cfg;
    struct nn_model *m;
    CHECK_EQ_INT(nn_cfg_load(yaml, &cfg), TRYON_OK);
    CHECK_EQ_INT(nn_model_create(cfg, ctx, 1, NN_MODE_INFER, &m), TRYON_OK);
    CHECK_EQ_INT(nn_model_load(m, "nets-rand/body_encoder.safetensors"), TRYON_OK);
    uint8_t *in8 = malloc(4 * 96 * 96);
    CHECK_EQ_INT(worker_nn_person_input(&im, mask, 0, 96, in8), TRYON_OK);
    float *in = nn_model_input(m, "image");
    for (int i = 0; i < 4 * 96 * 96; i++)
        in[i] = (float)in8[i] / 127.5f - 1.0f;
    nn_model_forward(m, 1, false);
    const float *raw = nn_model_output(m, "reg");
    const float got[9] = {p1.gender, p1.age, p1.muscle, p1.weight, p1.proportions, 0, p1.arm_down_deg,
                          p1.leg_spread_deg, p1.torso_turn_deg};
    for (int k = 0; k < 9; k++) {
        if (k == 5)
            continue;
        float want = raw[k] * std[k] + mean[k];
        CHECK_NEAR(got[k], want, 1e-3f * (1.0f + fabsf(want)));
    }
    CHECK_NEAR(b1.stature_cm, 100.0f * (raw[5] * std[5] + mean[5]), 0.1f * (1.0f + fabsf(b1.stature_cm)) * 1e-2f);
    CHECK_NEAR(b1.meas_cm[1], raw[10] * std[10] + mean[10], 1e-3f * (1.0f + fabsf(b1.meas_cm[1])));
    free(in8);
    nn_model_free(m);
    nn_cfg_free(cfg);
    free(mask);
    img8_free(&im);
    worker_nets_free(n);
}

/* The shipped models on the demo photos against configs/demo/truth.json. */
static void shipped(const char *repo, struct kern_ctx *ctx)
{
    char models[512], tpath[512], path[600];
    snprintf(models, sizeof models, "%s/models", repo);
    snprintf(tpath, sizeof tpath, "%s/configs/demo/truth.json", repo);
    struct worker_nets *n;
    CHECK_EQ_INT(worker_nets_load(models, ctx, &n), TRYON_OK);
    const char *why = "";
    for (int k = 0; k < 3; k++)
        if (!worker_nets_name(n, (enum worker_net_id)k, &why))
            fprintf(stderr, "shipped network %d missing: %s\n", k, why);
    CHECK(worker_nets_name(n, WORKER_NET_BODY, NULL) != NULL);
    CHECK(worker_nets_name(n, WORKER_NET_GARMENT, NULL) != NULL);
    CHECK(worker_nets_name(n, WORKER_NET_BACK, NULL) != NULL);
    struct json_val *truth;
    CHECK_EQ_INT(json_parse_file(tpath, &truth), TRYON_OK);
    const struct json_val *ps = json_get(truth, "persons"), *gs = json_get(truth, "garments");
    for (size_t i = 0; ps && worker_nets_name(n, WORKER_NET_BODY, NULL) && i < ps->n; i++) {
        const struct json_val *t = &ps->items[i];
        snprintf(path, sizeof path, "%s/configs/demo/%s", repo, json_get_str(t, "file"));
        struct img8 im;
        uint8_t *mask;
        load_photo(path, &im, &mask);
        struct avatar_person_prior p;
        struct worker_net_body b;
        CHECK_EQ_INT(worker_nets_person(n, &im, mask, 0, &p, &b), TRYON_OK);
        float stature = 100.0f * (float)json_get_num(t, "stature_m", 0);
        printf("%s: stature %.1f (truth %.1f), gender %.2f (%.2f), weight %.2f (%.2f)\n", json_get_str(t, "id"),
               b.stature_cm, stature, p.gender, json_get_num(t, "gender", 0), p.weight, json_get_num(t, "weight", 0));
        CHECK_NEAR(b.stature_cm, stature, 6.0f);
        CHECK_NEAR(p.gender, json_get_num(t, "gender", 0), 0.35f);
        CHECK_NEAR(p.weight, json_get_num(t, "weight", 0), 0.35f);
        CHECK_NEAR(p.muscle, json_get_num(t, "muscle", 0), 0.35f);
        free(mask);
        img8_free(&im);
    }
    for (size_t i = 0; gs && worker_nets_name(n, WORKER_NET_GARMENT, NULL) && i < gs->n; i++) {
        const struct json_val *t = &gs->items[i];
        snprintf(path, sizeof path, "%s/configs/demo/%s", repo, json_get_str(t, "file"));
        struct img8 im;
        uint8_t *mask;
        load_photo(path, &im, &mask);
        struct worker_net_garment g;
        CHECK_EQ_INT(worker_nets_garment(n, &im, mask, &g), TRYON_OK);
        printf("%s: type %s (truth %s), confidence %.2f\n", json_get_str(t, "id"),
               avatar_garment_type_name(g.type), json_get_str(t, "type"), g.confidence);
        CHECK_STR(avatar_garment_type_name(g.type), json_get_str(t, "type"));
        if (worker_nets_name(n, WORKER_NET_BACK, NULL)) {
            CHECK(g.back.w > 8 && g.back.h == g.back.w && g.back_side_m > 0.0f);
            /* the back's mean colour lies between the base and the print colours */
            double mean[3] = {0, 0, 0};
            for (int k = 0; k < g.back.w * g.back.h; k++)
                for (int c = 0; c < 3; c++)
                    mean[c] += g.back.px[k * 3 + c] / (double)(g.back.w * g.back.h);
            const struct json_val *base = json_get(t, "color_srgb");
            const struct json_val *pr = json_get(json_get(t, "print"), "color_srgb");
            float err = 0;
            for (int c = 0; c < 3; c++) {
                float a = img_srgb_to_linear((float)base->items[c].num);
                float b = pr ? img_srgb_to_linear((float)pr->items[c].num) : a;
                float lo = fminf(a, b) - 0.12f, hi = fmaxf(a, b) + 0.12f;
                err = fmaxf(err, fmaxf((float)mean[c] - hi, lo - (float)mean[c]));
            }
            printf("  back mean %.3f %.3f %.3f (outside the base..print range by %.3f)\n", mean[0], mean[1], mean[2],
                   fmaxf(err, 0));
            CHECK(err <= 0.0f);
        }
        imgf_free(&g.back);
        free(mask);
        img8_free(&im);
    }
    json_free(truth);
    worker_nets_free(n);
}

static bool same_garment_pred(const struct worker_net_garment *a, const struct worker_net_garment *b)
{
    return a->type == b->type && !memcmp(&a->confidence, &b->confidence, sizeof a->confidence) &&
           !memcmp(&a->length, &b->length, sizeof a->length) && !memcmp(&a->sleeve, &b->sleeve, sizeof a->sleeve) &&
           !memcmp(a->lm, b->lm, sizeof a->lm) && a->printed == b->printed &&
           !memcmp(&a->back_side_m, &b->back_side_m, sizeof a->back_side_m) && a->back.w == b->back.w &&
           a->back.h == b->back.h &&
           (a->back.w == 0 || !memcmp(a->back.px, b->back.px, sizeof(float) * 3 * (size_t)a->back.w * a->back.h));
}

/* The shipped models over the demo photos in batches, against each photo alone. */
static void batched(const char *repo, struct kern_ctx *ctx)
{
    static const char *const persons[4] = {"ava", "ben", "chloe", "dev"};
    static const char *const garments[6] = {"tee-red", "skirt-ochre", "longsleeve-teal", "jeans-indigo",
                                            "dress-plum", "shorts-sand"};
    char models[512], path[600];
    snprintf(models, sizeof models, "%s/models", repo);
    struct worker_nets *n;
    CHECK_EQ_INT(worker_nets_load(models, ctx, &n), TRYON_OK);
    if (!worker_nets_name(n, WORKER_NET_BODY, NULL) || !worker_nets_name(n, WORKER_NET_GARMENT, NULL)) {
        worker_nets_free(n);
        return;   /* shipped() says which is missing */
    }
    struct img8 im[10];
    uint8_t *mask[10];
    const struct img8 *ims[12];
    const uint8_t *masks[12];
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "%s/configs/demo/%s/%s.png", repo, i < 4 ? "persons" : "garments",
                 i < 4 ? persons[i] : garments[i - 4]);
        load_photo(path, &im[i], &mask[i]);
    }
    struct avatar_person_prior alone[4], batch[4];
    struct worker_net_body balone[4], bbatch[4];
    enum tryon_status st[12];
    for (int i = 0; i < 4; i++) {
        ims[i] = &im[i], masks[i] = mask[i];
        memset(&alone[i], 0, sizeof alone[i]);
        CHECK_EQ_INT(worker_nets_person(n, &im[i], mask[i], 0, &alone[i], &balone[i]), TRYON_OK);
    }
    memset(batch, 0, sizeof batch);
    worker_nets_person_batch(n, 4, ims, masks, NULL, batch, bbatch, st);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(st[i], TRYON_OK);
        CHECK_MSG(!memcmp(&alone[i], &batch[i], sizeof alone[i]) && !memcmp(&balone[i], &bbatch[i], sizeof balone[i]),
                  "%s: its prior in a batch of 4 differs from its own", persons[i]);
    }
    struct worker_net_garment galone[6], gbatch[12];
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(worker_nets_garment(n, &im[4 + i], mask[4 + i], &galone[i]), TRYON_OK);
    for (int j = 0; j < 12; j++)
        ims[j] = &im[4 + j % 6], masks[j] = mask[4 + j % 6];
    worker_nets_garment_batch(n, 12, ims, masks, gbatch, st);
    for (int j = 0; j < 12; j++) {
        CHECK_EQ_INT(st[j], TRYON_OK);
        CHECK_MSG(same_garment_pred(&galone[j % 6], &gbatch[j]), "%s: its reading as photo %d of a batch of 12 "
                  "differs from its own", garments[j % 6], j);
        imgf_free(&gbatch[j].back);
    }
    for (int i = 0; i < 6; i++)
        imgf_free(&galone[i].back);
    for (int i = 0; i < 10; i++) {
        free(mask[i]);
        img8_free(&im[i]);
    }
    worker_nets_free(n);
}

/* The person view (worker_nn_person_view): a studio photo's view is the photo itself; the
   same figure placed elsewhere in a larger frame (the photo's
   edges repeated around it) gives the same view byte for byte with a height hint; the photo
   at half the size gives a view half the size (within a pixel). */
static void person_view(const char *photo)
{
    struct img8 im, v0, v1, v2;
    uint8_t *mask, *m0, *m1, *m2;
    load_photo(photo, &im, &mask);
    CHECK_EQ_INT(worker_nn_person_view(&im, mask, 0, &v0, &m0), TRYON_OK);
    printf("studio photo %dx%d -> view %dx%d\n", im.w, im.h, v0.w, v0.h);
    CHECK(v0.w == im.w && v0.h == im.h);
    if (v0.w == im.w && v0.h == im.h)
        CHECK(!memcmp(v0.px, im.px, (size_t)4 * im.w * im.h) && !memcmp(m0, mask, (size_t)im.w * im.h));
    free(m0);
    img8_free(&v0);

    /* a wider frame, the figure 100 px right and 37 px down of where it was */
    const int W = 2 * im.w, H = 3 * im.h / 2, ox = 100, oy = 37;
    struct img8 big;
    CHECK_EQ_INT(img8_alloc(&big, W, H, 4), TRYON_OK);
    uint8_t *bmask = calloc((size_t)W * H, 1);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int sx = x - ox < 0 ? 0 : x - ox >= im.w ? im.w - 1 : x - ox;
            int sy = y - oy < 0 ? 0 : y - oy >= im.h ? im.h - 1 : y - oy;
            memcpy(big.px + 4 * ((size_t)y * W + x), im.px + 4 * ((size_t)sy * im.w + sx), 4);
            if (x - ox == sx && y - oy == sy)
                bmask[(size_t)y * W + x] = mask[(size_t)sy * im.w + sx];
        }
    CHECK_EQ_INT(worker_nn_person_view(&im, mask, 172.0f, &v0, &m0), TRYON_OK);
    CHECK_EQ_INT(worker_nn_person_view(&big, bmask, 172.0f, &v1, &m1), TRYON_OK);
    CHECK(v0.w == v1.w && v0.h == v1.h);
    if (v0.w == v1.w && v0.h == v1.h) {
        CHECK(!memcmp(v0.px, v1.px, (size_t)4 * v0.w * v0.h));
        CHECK(!memcmp(m0, m1, (size_t)v0.w * v0.h));
    }
    /* half the size */
    struct img8 half;
    CHECK_EQ_INT(img8_reduce(&im, 2, &half), TRYON_OK);
    uint8_t *hmask = malloc((size_t)half.w * half.h);
    CHECK_EQ_INT(avatar_segment(&half, false, hmask), TRYON_OK);
    CHECK_EQ_INT(worker_nn_person_view(&half, hmask, 172.0f, &v2, &m2), TRYON_OK);
    printf("with a hint: view %dx%d; at half the size %dx%d\n", v0.w, v0.h, v2.w, v2.h);
    CHECK(abs(2 * v2.h - v0.h) <= 2);
    free(m0), free(m1), free(m2), free(hmask), free(bmask), free(mask);
    img8_free(&v0), img8_free(&v1), img8_free(&v2), img8_free(&half), img8_free(&big), img8_free(&im);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_worker_nets REPO_DIR\n");
        return 2;
    }
    const char *repo = argv[1];
    struct kern_ctx *ctx = kern_create(KERN_BACKEND_CPU, 1);
    char photo[512];
    snprintf(photo, sizeof photo, "%s/configs/demo/persons/ava.png", repo);
    fallback_and_format(repo, ctx, photo);
    person_view(photo);
    shipped(repo, ctx);
    batched(repo, ctx);
    kern_destroy(ctx);
    return check_result("test_worker_nets");
}
