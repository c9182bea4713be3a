/* test_worker_pair.c: one pair through the worker's pipeline on synthetic photos whose
 * truth is known: the person and garment photos of configs/synth/demo.yaml are rendered
 * small, written to PNG, and worker_run_pair estimates, drapes and renders them. Checks:
 * the record's fields are present and sane (status ok, output PNG with the recorded
 * size and SHA-256, stage times), the body estimate's stature and measured height within
 * 4 cm of the truth, chest/waist/hip girths within 14 cm (one small clothed photo), IoU
 * >= 0.8, the garment's type as drawn with a confidence in [0,1], landmarks and a texture,
 * the AOVs (texture included) written; a missing photo fails only its
 * pair, with the file named in the record.
 * usage: test_worker_pair CONFIG_DIR (configs/synth) */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "worker/worker.h"

/* Render image i of the config into DIR/<folder>/<id>.png; the truth into *truth (parsed). */
static void synth_to_file(struct worker *w, const struct worker_synth_config *c, int i, char path[256],
                          struct json_val **truth)
{
    struct img8 im;
    struct json_w t;
    json_w_init(&t);
    CHECK_EQ_INT(worker_synth_image(w, c, i, 0, &im, &t), TRYON_OK);
    char id[72];
    const char *folder;
    worker_synth_image_id(c, i, id, &folder);
    snprintf(path, 256, "pair-in/%s.png", id);
    CHECK_EQ_INT(fs_mkdirs_parent(path), TRYON_OK);
    CHECK_EQ_INT(img_save_png(path, &im), TRYON_OK);
    CHECK_EQ_INT(json_parse(t.buf, t.len, "truth", truth), TRYON_OK);
    img8_free(&im);
    json_w_free(&t);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_worker_pair CONFIG_DIR\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/demo.yaml", argv[1]);
    struct worker_synth_config c;
    CHECK_EQ_INT(worker_synth_config_load(path, &c), TRYON_OK);
    c.width = 160, c.height = 240, c.spp = 32;

    struct worker_settings ws;
    memset(&ws, 0, sizeof ws);
    CHECK_EQ_INT(worker_preset("preview", &ws), TRYON_OK);
    ws.out_dir = "pair-out";
    ws.width = 64, ws.height = 96, ws.spp = 2;
    ws.job_seed = 5;
    ws.threads = 2;
    ws.write_aovs = true;
    ws.limits = img_default_limits();
    struct worker *w;
    CHECK_EQ_INT(worker_create(&ws, tryon_asset_dir(), &w), TRYON_OK);
    if (!w)
        return check_result("test_worker_pair");

    char person_png[256], garment_png[256];
    struct json_val *pt, *gt;
    synth_to_file(w, &c, 1, person_png, &pt);               /* ben: alpha */
    synth_to_file(w, &c, c.n_persons + 3, garment_png, &gt); /* jeans-indigo */

    struct worker_pair p = {.person_id = "ben", .person_image = person_png, .garment_id = "jeans-indigo",
                            .garment_image = garment_png, .garment_type = "",
                            .seed = hash_pair_seed(ws.job_seed, "ben", "jeans-indigo")};
    struct json_w rec;
    json_w_init(&rec);
    CHECK_EQ_INT(worker_run_pair(w, &p, 0, &rec), TRYON_OK);
    struct json_val *r;
    CHECK_EQ_INT(json_parse(rec.buf, rec.len, "record", &r), TRYON_OK);
    CHECK_STR(json_get_str(r, "status"), "ok");
    CHECK_STR(json_get_str(r, "output"), "renders/ben/jeans-indigo.png");
    CHECK(json_get(r, "fault") && json_get(r, "fault")->type == JSON_NULL);
    {
        /* the inputs' hashes are the photo files' SHA-256 */
        uint8_t *bytes;
        size_t n;
        char want[65];
        CHECK(fs_read_all(person_png, 0, &bytes, &n) == TRYON_OK);
        sha256_hex(bytes, n, want);
        free(bytes);
        const struct json_val *in = json_get(r, "inputs");
        CHECK(in && json_get_str(in, "person_sha256") && !strcmp(json_get_str(in, "person_sha256"), want));
        CHECK(in && json_get_str(in, "garment_sha256") && strlen(json_get_str(in, "garment_sha256")) == 64);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fs_read_all("pair-out/renders/ben/jeans-indigo.png", 0, &data, &len), TRYON_OK);
    char sha[65] = "";
    if (data)
        sha256_hex(data, len, sha);
    CHECK_STR(json_get_str(r, "sha256"), sha);
    CHECK_EQ_INT((long long)json_get_num(r, "bytes", -1), (long long)len);
    free(data);
    const struct json_val *secs = json_get(r, "seconds");
    CHECK(secs && json_get(secs, "render") && json_get_num(secs, "total", -1) >= 0);

    const struct json_val *body = json_get(r, "body");
    CHECK(body != NULL);
    if (body) {
        CHECK_NEAR(json_get_num(body, "stature_cm", 0), 100.0 * json_get_num(pt, "stature_m", 0), 4.0);
        CHECK(json_get_num(body, "iou", 0) >= 0.8);
        CHECK(json_get(body, "phenotype") != NULL && json_get(body, "pose") != NULL);
        /* measurements of the fitted body against the true body's (one photo, 160x240; the
           estimator fits the clothed outline, so girths come out several cm large: see
           bench/avatar_eval/RESULTS.md) */
        const struct json_val *me = json_get(body, "measurements_cm"), *mt = json_get(pt, "measurements_cm");
        CHECK(me != NULL && mt != NULL);
        static const char *const girths[] = {"chest", "waist", "hip"};
        for (int k = 0; me && mt && k < 3; k++)
            CHECK_NEAR(json_get_num(me, girths[k], 0), json_get_num(mt, girths[k], -100), 14.0);
        if (me && mt)
            CHECK_NEAR(json_get_num(me, "height", 0), json_get_num(mt, "height", -100), 4.0);
    }
    const struct json_val *gi = json_get(r, "garment_info");
    CHECK(gi != NULL);
    if (gi) {
        CHECK_STR(json_get_str(gi, "type"), json_get_str(gt, "type"));
        double conf = json_get_num(gi, "type_confidence", -1);
        CHECK(conf >= 0 && conf <= 1);
        CHECK(json_get_num(gi, "landmarks", 0) >= 3);   /* trousers: waist, hems, crotch */
        const struct json_val *tex = json_get(gi, "texture");
        CHECK(tex && tex->type == JSON_BOOL && tex->b);
    }
    /* the AOVs, the garment's texture among them */
    static const char *const aovs[] = {"alpha", "depth", "normal", "albedo", "texture"};
    for (int k = 0; k < 5; k++) {
        char aov[256];
        snprintf(aov, sizeof aov, "pair-out/aovs/ben/jeans-indigo.%s.png", aovs[k]);
        struct img_info info;
        struct img_limits lim = img_default_limits();
        CHECK_MSG(img_probe_png(aov, &lim, &info) == TRYON_OK, "%s", aov);
    }
    json_free(r);

    /* a missing garment photo fails its pair alone, naming the file */
    struct worker_pair bad = {.person_id = "ben", .person_image = person_png, .garment_id = "ghost",
                              .garment_image = "pair-in/nothing-here.png", .garment_type = "",
                            .seed = hash_pair_seed(ws.job_seed, "ben", "ghost")};
    CHECK_EQ_INT(worker_run_pair(w, &bad, 0, &rec), TRYON_OK);
    CHECK_EQ_INT(json_parse(rec.buf, rec.len, "record", &r), TRYON_OK);
    CHECK_STR(json_get_str(r, "status"), "failed");
    CHECK_CONTAINS(json_get_str(r, "error"), "nothing-here.png");
    CHECK_STR(json_get_str(r, "fault"), "io"); /* a file that cannot be read may be readable elsewhere */
    json_free(r);
    /* a file that is not a PNG is the input's fault: the master journals it without a retry */
    char text_png[300];
    snprintf(text_png, sizeof text_png, "%s.txt.png", garment_png);
    CHECK(fs_write_atomic(text_png, "not a png\n", 10) == TRYON_OK);
    struct worker_pair txt = {.person_id = "ben", .person_image = person_png, .garment_id = "text",
                              .garment_image = text_png, .garment_type = "",
                              .seed = hash_pair_seed(ws.job_seed, "ben", "text")};
    CHECK_EQ_INT(worker_run_pair(w, &txt, 0, &rec), TRYON_OK);
    CHECK_EQ_INT(json_parse(rec.buf, rec.len, "record", &r), TRYON_OK);
    CHECK_STR(json_get_str(r, "status"), "failed");
    CHECK_STR(json_get_str(r, "fault"), "input");
    json_free(r);

    json_free(pt);
    json_free(gt);
    json_w_free(&rec);
    worker_free(w);
    worker_synth_config_free(&c);
    return check_result("test_worker_pair");
}
