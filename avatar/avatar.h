/* avatar.h: the one public header of avatar/: the MakeHuman body model, person and garment
 * estimation from photos, garment templates, silhouettes through the studio photo camera,
 * and OBJ export.
 *
 * The body is the CC0 MakeHuman base mesh plus its macro targets (gender, age, muscle,
 * weight, height, proportions and the three ethnic weights), uniformly scaled to a stature,
 * posed by linear blend skinning with the default rig (arm angle, leg spread, torso turn),
 * and measured like a tape measure (height, girths, inseam, shoulders). Garments are the base mesh's `helper-tights` surface cut to a
 * region, deformed exactly like the body, subdivided once and pushed outside the body.
 * Estimation is classical (silhouette measurements), the baseline later networks must beat.
 *
 * Frame of every mesh: metres, y up, feet on y = 0, body bounding box centred on x = z = 0,
 * facing +z (the person's left hand is on +x).
 *
 * Ownership: a function filling a `struct avatar_mesh *out` hands the arrays to the caller,
 * who releases them with avatar_mesh_free. The model is created by avatar_model_load and
 * released by avatar_model_free; after loading it is read-only, so threads may share it.
 * Every function here is deterministic: same inputs, same bytes.
 */
#ifndef TRYON_AVATAR_H
#define TRYON_AVATAR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

/* ===== meshes ============================================================================ */
struct avatar_mesh {
    int nv, nt;
    float *pos;    /* (nv,3) metres; y up, feet on y = 0, body centred on x = z = 0, facing +z */
    float *nrm;    /* (nv,3) unit area-weighted vertex normals */
    float *uv;     /* (nv,2) texture coordinates or NULL */
    int32_t *tri;  /* (nt,3) counter-clockwise seen from outside */
};
/* Free the arrays and zero the struct; a zeroed struct is fine. */
void avatar_mesh_free(struct avatar_mesh *m);
/* Axis-aligned bounds of the vertices (metres). An empty mesh gives zeros. */
void avatar_mesh_bounds(const struct avatar_mesh *m, float bmin[3], float bmax[3]);
/* Recompute m->nrm (allocated if NULL) as unit area-weighted vertex normals of m->tri. A
   vertex no triangle uses gets (0,1,0). TRYON_ENOMEM when the allocation fails. */
enum tryon_status avatar_mesh_normals(struct avatar_mesh *m);
/* One OBJ with one `o` group per mesh (v, vn, vt, f); written atomically. vt lines and the
   /vt part of faces only for meshes with uv. Numbers use fixed formats, so the same meshes
   give the same bytes. */
enum tryon_status avatar_write_obj(const char *path, const struct avatar_mesh *const *meshes,
                                   const char *const *names, int n);

/* ===== the body model ==================================================================== */
struct avatar_model;   /* MakeHuman data loaded once per process (read-only, shareable by threads) */
/* Load base mesh, macro targets (about 350 gzipped files, loaded in parallel with OpenMP)
   and the default rig's skinning weights from asset_dir (the mpfb2 folder; NULL = the
   folder tryon_asset_dir() names). About 40 MiB. Errors name the file (and line). */
enum tryon_status avatar_model_load(const char *asset_dir, struct avatar_model **out);
void avatar_model_free(struct avatar_model *m);
/* Number of skin vertices of every body mesh (13,380 for the MakeHuman hm08 base mesh). */
int avatar_model_body_nv(const struct avatar_model *m);

/* MakeHuman macro parameters, each in [0,1] as MakeHuman defines them (0.5 = average;
   gender 0 female .. 1 male; age 0 = 1 year, 0.1875 = 11, 0.5 = 25 years, 1 = 90 years;
   height and proportions 0.5 = no height or proportion target). The three ethnic weights
   (african, asian, caucasian) weight MakeHuman's race targets: all three 0 = MakeHuman's
   default of one third each; otherwise they are normalised to sum 1 (each in [0,1]). */
struct avatar_phenotype {
    float gender, age, muscle, weight, height, proportions;
    float african, asian, caucasian;
};
/* Macro values 0.5, ethnic weights 0 (= one third each): MakeHuman's default human. */
void avatar_phenotype_default(struct avatar_phenotype *p);
/* A body: phenotype, stature and pose. The pose is linear blend skinning with the default
   rig (rigs/standard/rig.default.json, weights.default.json), joints placed on the body
   deformed by the phenotype; every pose angle 0 = the base mesh's A-pose (arms about 45
   degrees from vertical), bit for bit the unposed mesh. A zeroed struct with a default
   phenotype is MakeHuman's default human, unposed, at its own stature. */
struct avatar_body_params {
    struct avatar_phenotype ph;
    float stature_m;       /* height in metres of the unposed body after uniform scaling; 0 = as the targets give */
    float arm_down_deg;    /* both upper arms turned down toward the body about the shoulder joints in the
                              frontal plane, degrees, from the A-pose; in [-20, 60] */
    float leg_spread_deg;  /* each leg turned away from the centre line about the hip joint in the frontal
                              plane, degrees; in [-5, 20] */
    float torso_turn_deg;  /* the upper body turned about the vertical axis above the pelvis (spread over the
                              four upper spine joints), + = to the body's left; in [-30, 30] */
};
/* arm_down_deg of the standard catalog pose: arms hanging slightly away from the body
   (about 18 degrees from vertical). */
#define AVATAR_CATALOG_ARM_DOWN_DEG 27.0f
/* The body mesh: 13,380 skin vertices, 26,756 triangles, uv NULL (the base mesh's UVs have
   seams that need split vertices; they come with the texture work). Frame: the unposed
   body's skin bounds centre x = z = 0; after posing the body is moved vertically so its
   lowest skin point is on y = 0 (spread legs keep the feet on the floor). Phenotype values
   must lie in [0,1], stature_m in {0} or [0.5, 2.6], angles in the ranges above:
   TRYON_EINVAL otherwise, naming the field. */
enum tryon_status avatar_body_build(const struct avatar_model *m, const struct avatar_body_params *p,
                                    struct avatar_mesh *out);

/* Body measurements in centimetres, taken on the skin mesh like a tape measure:
   height = top of the head to the floor; chest, waist, hip = horizontal girths (the convex
   hull of the torso's plane section, so the tape bridges concavities) at the chest's fullest
   level below the armpits, the narrowest level between chest and hips, and the fullest
   level around the seat above the crotch; inseam = crotch to floor; shoulder = straight
   distance between the tops of the shoulders (the highest skin points above the two
   shoulder joints). */
struct avatar_measurements { float height_cm, chest_cm, waist_cm, hip_cm, inseam_cm, shoulder_cm; };
/* Measure the body of params p, in the neutral pose of the same phenotype and stature (all
   pose angles 0), so the arms never cut the chest section. TRYON_EINVAL for invalid
   params (as avatar_body_build) or a body whose torso section cannot be found. */
enum tryon_status avatar_body_measure(const struct avatar_model *m, const struct avatar_body_params *p,
                                      struct avatar_measurements *out);

/* ===== segmentation ====================================================================== */
/* Segmentation: mask (w*h bytes, 255 = foreground). With an alpha channel: alpha > 127.
   Without: key out the backdrop colour (estimated from the image border) by colour distance,
   then keep the largest connected component and fill its holes. rgba has c = 4 (assert).
   TRYON_EINVAL when nothing is left in the foreground. */
enum tryon_status avatar_segment(const struct img8 *rgba, bool had_alpha, uint8_t *mask);

/* ===== the studio photo camera =========================================================== */
/* The studio camera person photos are assumed to be taken with (and that `tryon synth`
   renders the demo persons with): a pinhole looking horizontally at the body from +z.
   Conventions shared with raytrace/: vfov_deg is the full vertical field of view, pixels
   are square, pixel (i,j) covers [i,i+1) x [j,j+1) with x right and y down from the top
   left corner, whatever the image size. */
struct avatar_photo_camera { float eye[3], target[3], up[3]; float vfov_deg; };
/* eye (0, 0.95, 5.0), target (0, 0.95, 0), up (0,1,0), vfov 27 degrees: a 2.1 m tall body
   on the floor at the origin fits a 2:3 portrait photo. */
void avatar_photo_camera(struct avatar_photo_camera *c);
/* Project a world point (metres) into a w x h image through c: continuous pixel
   coordinates as above. Returns false (px untouched) for a point not in front of the eye. */
bool avatar_camera_project(const struct avatar_photo_camera *c, int w, int h, const float p[3], float px[2]);
/* Rasterize the mesh's silhouette through c into mask (w*h bytes): 255 where a pixel's
   centre is covered by a triangle, else 0. Triangles with a vertex not in front of the eye
   are skipped. */
void avatar_render_silhouette(const struct avatar_mesh *m, const struct avatar_photo_camera *c, int w, int h,
                              uint8_t *mask);

/* ===== person estimation ================================================================= */
/* Person estimation, first version: stature from the height hint when > 0, else from the
   silhouette's pixel height through the standard photo camera (feet on the floor plane
   y = 0); build (gender, weight) from silhouette width ratios (shoulder, waist, hip widths
   over height) by a small search over the phenotype comparing against the widths of the
   built body's projected silhouette. The body is assumed to stand upright facing the
   camera, arms as in the base mesh (arm_down_deg 0). */
struct avatar_person_est {
    struct avatar_body_params body;
    float silhouette_h_px;   /* measured */
    float stature_m;         /* estimated */
    float iou;               /* silhouette IoU of the built body against the mask, in the photo camera */
    float place[3];          /* where the body's origin (feet centre) stands in the photo camera's
                                world, metres (y = 0): the body mesh translated by this matches
                                the photo */
};
/* rgba is the photo (w,h; c = 4), mask its segmentation (w*h, 255 = person). TRYON_EINVAL
   when the mask holds no usable silhouette (empty, touching the top or bottom edge, or
   under 32 pixels tall) or height_hint_cm is outside {<= 0} or [50, 260]. */
enum tryon_status avatar_estimate_person(const struct avatar_model *m, const struct img8 *rgba,
                                         const uint8_t *mask, float height_hint_cm,
                                         struct avatar_person_est *out);

/* ===== garments ========================================================================== */
/* Garments, first version: types TOP (t-shirt-like) and TROUSERS. */
enum avatar_garment_type { AVATAR_GARMENT_TOP, AVATAR_GARMENT_TROUSERS, AVATAR_GARMENT_NTYPES };
const char *avatar_garment_type_name(enum avatar_garment_type t);   /* "top", "trousers" */
/* "top" or "trousers" (also "t-shirt", "shirt", "pants"); TRYON_EINVAL naming the string otherwise. */
enum tryon_status avatar_garment_type_parse(const char *s, enum avatar_garment_type *t);
struct avatar_garment_est {
    enum avatar_garment_type type;
    float color[3];   /* mean colour of the garment pixels, linear RGB */
    float length;     /* 0..1: how far down the template goes (e.g. top: waist..hip; trousers: knee..ankle) */
    float sleeve;     /* 0..1: sleeve length for tops (0 sleeveless .. 1 long) */
};
/* From the product photo (segmented): type from the hint ("" = estimate from the mask's
   shape: a leg split at the bottom -> trousers, else top), colour, length/sleeve from the
   mask's proportions (calibrated on front views of this module's own templates on the
   default body). TRYON_EINVAL for an unknown hint or an empty mask. */
enum tryon_status avatar_estimate_garment(const struct img8 *rgba, const uint8_t *mask, const char *type_hint,
                                          struct avatar_garment_est *out);
/* A garment mesh: the base mesh's `helper-tights` faces cut to the garment region
   (torso + upper arms for a top, pelvis + legs for trousers), deformed exactly like the
   body (same targets, same scaling), then pushed outside the body along the normals so no
   garment vertex is inside the body (offset ~8 mm plus looseness), uv for texturing.
   body_mesh must be avatar_body_build's result for the same body params. The surface is
   subdivided once (each quad into four) before the push. uv is a front planar projection
   of the garment's bounds (u along +x, v up), so a front product photo maps directly onto
   the front and mirrors onto the back. length and sleeve are clamped to [0,1]. */
enum tryon_status avatar_garment_build(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       struct avatar_mesh *out);
/* The garment's distance from the body surface after the push, metres. */
#define AVATAR_GARMENT_OFFSET_M 0.008f

#endif
