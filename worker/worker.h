/* worker.h: the per-pair pipeline of DESIGN.md section 1, and the synthetic photos that
 * `tryon synth` makes for the demo catalog and tests.
 *
 * One struct worker per rank: it owns the body model data, the Embree device and the
 * per-rank caches of person and garment estimates (pairs arrive person-major, so a
 * person's estimate is reused for all its garments). worker_run_pair never fails because
 * of one pair's input: the failure is written into the pair's record and the worker goes
 * on. Everything random in a pair is seeded by hash_pair_seed(job seed, person, garment),
 * so the output bytes depend on nothing else (not the rank, chunk or resume). */
#ifndef TRYON_WORKER_H
#define TRYON_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* Render settings resolved from the preset, the catalog and the command line. */
struct worker_settings {
    const char *out_dir;     /* OUT: renders/, aovs/, meshes/ go under it */
    const char *preset;      /* preview | catalog | hero */
    int width, height;       /* output pixels */
    int spp;                 /* samples per pixel */
    int max_depth;           /* path length cap */
    uint64_t job_seed;
    int threads;             /* OpenMP threads for rendering (0 = all) */
    bool write_aovs;         /* OUT/aovs/<p>/<g>.<aov>.png */
    bool write_meshes;       /* OUT/meshes/<p>/<g>.obj */
    struct img_limits limits;/* input image limits */
};

/* Fill width/height/spp/max_depth from a preset name; TRYON_EINVAL for an unknown one. */
enum tryon_status worker_preset(const char *name, struct worker_settings *s);

/* One pair to render: ids (validated) and the catalog's inputs. */
struct worker_pair {
    const char *person_id, *person_image;   /* image: a path the process can open */
    float height_hint_cm;                   /* 0 = none */
    const char *garment_id, *garment_image;
    const char *garment_type;               /* "" = estimate */
};

struct worker;
/* Load the body model from `asset_dir` and create the renderer. The settings (and the
 * strings they point to) must outlive the worker. */
enum tryon_status worker_create(const struct worker_settings *s, const char *asset_dir, struct worker **out);
void worker_free(struct worker *w);

/* Render one pair into OUT/renders/<person>/<garment>.png (written under a temporary name
 * and renamed) and write its journal record into `record` (reset first): one JSON object
 * with person, garment, status ("ok"|"failed"), error, output, sha256, bytes, rank,
 * seconds per stage, body and garment estimates. Returns TRYON_OK whenever a record was
 * produced, the pair's own failure included. */
enum tryon_status worker_run_pair(struct worker *w, const struct worker_pair *p, int rank, struct json_w *record);

/* ---- synthetic photos (`tryon synth`) ----
 * A person photo: a MakeHuman body of the given phenotype and stature rendered by our
 * path tracer through the standard photo camera (avatar_photo_camera) in the studio.
 * with_alpha: keep the subject alpha (else an opaque photo whose backdrop must be keyed). */
struct worker_synth_person {
    float gender, weight, muscle, age; /* MakeHuman macro values in [0,1] */
    float stature_m;
    bool with_alpha;
};
/* A garment product photo: the garment template on a default body, front view, rendered
 * without the body on a white backdrop (no alpha). */
struct worker_synth_garment {
    const char *type;                  /* top | trousers */
    float color_srgb[3];               /* in [0,1] */
    float length, sleeve;              /* template size parameters in [0,1] */
};
enum tryon_status worker_synth_person(struct worker *w, const struct worker_synth_person *p, int width, int height,
                                      int spp, uint64_t seed, struct img8 *out);
enum tryon_status worker_synth_garment(struct worker *w, const struct worker_synth_garment *g, int width,
                                       int height, int spp, uint64_t seed, struct img8 *out);

#endif
