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
   and the default rig (bones and skinning weights) from asset_dir (the mpfb2 folder; NULL = the
   folder tryon_asset_dir() names). About 40 MiB. Errors name the file (and line). */
enum tryon_status avatar_model_load(const char *asset_dir, struct avatar_model **out);
void avatar_model_free(struct avatar_model *m);
/* Number of skin vertices of every body mesh (13,380 for the MakeHuman hm08 base mesh). */
int avatar_model_body_nv(const struct avatar_model *m);
/* A 256-bit fingerprint (64 hex characters) of everything the model holds (base mesh,
   targets, rig and skinning), so that two models with one digest build the same bodies and
   garments: it names the data in the worker's asset cache keys. Not cryptographic (64-bit
   word mixing, model.c): it tells apart data that differs by accident. Tens of ms. */
void avatar_model_digest(const struct avatar_model *m, char hex[65]);

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
   deformed by the phenotype; every pose angle 0 = the base mesh's A-pose (arms about 43
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
   (the A-pose's upper arms are about 43 degrees from vertical; this leaves about 16). */
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
   level below the armpits, the narrowest level between hip and chest, and the level of the
   buttocks' greatest prominence (between crotch and pelvis joint); inseam = crotch to
   floor; shoulder = straight distance between the tops of the shoulders (the highest skin
   points straight above the two shoulder joint centres). The convention of the levels is
   this module's (close to ISO 8559's), so compare estimates with avatar_body_measure of
   the true body, not with a tailor's numbers. About 60 ms. */
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
   TRYON_EINVAL when nothing is left in the foreground, or (keyed) when a second separate
   component holds at least a quarter of the largest one's pixels (two subjects). */
enum tryon_status avatar_segment(const struct img8 *rgba, bool had_alpha, uint8_t *mask);
/* Bounding box [x0, y0, x1, y1] (inclusive) of the nonzero pixels of a w x h mask; false
   when there are none. */
bool avatar_mask_bbox(const uint8_t *mask, int w, int h, int bb[4]);
/* The top of a silhouette (mask w x h, nonzero = subject), as a person photo shows a head
   above the shoulders: head_ratio = the widest row of the top 8% of its height over the
   widest row between 15% and 50% of it (a standing person: about 0.15-0.3, a head over the
   shoulders and arms; a garment's top is its shoulders, straps or waistband: 0.5 and
   more), head_fill = the share of that top band's bounding box the mask fills (a head
   about 0.7; a thin hook or strap much less). Both 0 for an empty mask. */
void avatar_silhouette_top(const uint8_t *mask, int w, int h, float *head_ratio, float *head_fill);

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
/* The stature the studio camera reads from a standing figure whose silhouette spans the
   continuous rows top..bottom (the top edge of its highest row, the bottom edge of its
   lowest) of an image h rows tall: the bottom is the toes, where that row's ray meets the
   floor, the head stands AVATAR_STUDIO_TOE_M behind them, and the top is the ray's height
   there. Metres; NAN when the bottom is at or above the horizon (the image's middle row). */
#define AVATAR_STUDIO_TOE_M 0.10f   /* how far the toes stand in front of the head (about) */
float avatar_studio_stature(float h, float top, float bottom);
/* The inverse for a figure of stature_m whose head stands at the studio camera's target
   (5 m away): the rows of its top and bottom in an image h rows tall. */
void avatar_studio_rows(float h, float stature_m, float *top, float *bottom);
/* Rasterize the mesh's silhouette through c into mask (w*h bytes): 255 where a pixel's
   centre is covered by a triangle, else 0. Triangles with a vertex not in front of the eye
   are skipped. */
void avatar_render_silhouette(const struct avatar_mesh *m, const struct avatar_photo_camera *c, int w, int h,
                              uint8_t *mask);

/* ===== person estimation ================================================================= */
/* Person estimation, classical (analysis by synthesis): the body model's silhouette through
   the photo camera is fitted to the photo's: the standard photo camera without a height
   hint (the stature then comes from its height above the floor), a camera whose height,
   distance and tilt are solved with one (estimate_body.c). Start: feet where the
   silhouette's lowest row meets the floor, stature from its height (or the hint). Search: coordinate
   descent on gender, weight, muscle, proportions, age (18..64 years), arm angle, leg
   spread and torso turn (stature and placement solved for each candidate), minimising the
   area where the rendered and the photo silhouettes differ, in a window around the person
   at about 200 cells tall. Polish: placement and stature again at full resolution.
   Assumed: the person stands on the floor facing the camera (the torso may be turned);
   ethnic weights stay at MakeHuman's default. The torso turn's sign is not observable (a
   mirror image); measurements do not depend on it. */
struct avatar_person_est {
    struct avatar_body_params body;   /* the fitted body (pose included) */
    float silhouette_h_px;   /* measured */
    float stature_m;         /* estimated (= body.stature_m) */
    float iou;               /* silhouette IoU of the fitted body against the mask, full resolution */
    float place[3];          /* where the body's origin (feet centre) stands in the photo camera's
                                world, metres (y = 0): the body mesh translated by this and seen
                                through `camera` matches the photo */
    struct avatar_photo_camera camera;   /* the photo's camera in that world (the floor at y = 0).
                                With a height hint its height, tilt and distance are solved
                                from the silhouette (the stature fixes the scale; the vertical
                                field of view stays the studio's 27 degrees, which only the
                                perspective's strength could tell); without one it is the studio
                                camera, assumed: the stature then scales with the true camera's
                                height (a level camera h metres high gives stature * h / 0.95) */
    float camera_tilt_deg;   /* camera's tilt, degrees up (0 without a hint) */
    bool camera_solved;      /* camera came from the photo (a hint was given) */
    struct avatar_measurements meas;  /* avatar_body_measure of body */
    int iterations;          /* bodies rendered by the fit (its cost) */
};
/* rgba is the photo (w,h; c = 3 or 4: its RGB is read, alpha not), mask its segmentation
   (w*h, 255 = person). The person's pixels are classified into skin and clothing by colour
   against the face's skin tone, and the fit lets clothes stand off the body (loose clothing
   does not inflate the girths; a photo with fewer than 3 channels fits as bare). TRYON_EINVAL,
   with a message saying which, when the mask holds no person (empty), two separate large
   figures (a second component at least a quarter of the largest; smaller specks are
   ignored), a silhouette touching the top or bottom edge or under 32 pixels tall, or when
   height_hint_cm is outside {<= 0} or [50, 260]. About 1-1.5 s of one core (400-550 renders). */
enum tryon_status avatar_estimate_person(const struct avatar_model *m, const struct img8 *rgba,
                                         const uint8_t *mask, float height_hint_cm,
                                         struct avatar_person_est *out);
/* A learned prior for the fit (the worker's body encoder network): its estimate of the
   phenotype and pose. With it the search starts from this estimate (one start, no coarse
   scans, finer first steps, half the evaluations) and its loss pulls gender, weight,
   muscle, proportions and age toward it with `strength` per unit squared deviation (plus
   the clothed-fraction share of the classical prior's weight), so where the silhouette
   says little (under clothes) the network decides and where it is clear the silhouette
   does. Stature and placement are still solved from the silhouette. */
struct avatar_person_prior {
    float gender, age, muscle, weight, proportions;   /* MakeHuman macros, 0..1 */
    float arm_down_deg, leg_spread_deg, torso_turn_deg;
    float strength;
};
/* avatar_estimate_person with a prior (NULL = the classical estimator exactly). */
enum tryon_status avatar_estimate_person_prior(const struct avatar_model *m, const struct img8 *rgba,
                                               const uint8_t *mask, float height_hint_cm,
                                               const struct avatar_person_prior *prior,
                                               struct avatar_person_est *out);

/* ===== garments ========================================================================== */
/* Garment types. Tops (t-shirt, long-sleeve) and trousers/shorts are the base mesh's
   `helper-tights` surface cut to a region; skirt and dress are a tights yoke (waist..hips,
   or neckline..hips with sleeves for the dress) continued below the hips by a lofted skirt
   whose rings hang around the legs' convex hull, so every type follows every body target
   and the pose. */
enum avatar_garment_type {
    AVATAR_GARMENT_TSHIRT, AVATAR_GARMENT_LONGSLEEVE, AVATAR_GARMENT_DRESS,
    AVATAR_GARMENT_SKIRT, AVATAR_GARMENT_TROUSERS, AVATAR_GARMENT_SHORTS,
    AVATAR_GARMENT_NTYPES,
    AVATAR_GARMENT_TOP = AVATAR_GARMENT_TSHIRT   /* old name, until callers move */
};
/* "t-shirt", "long-sleeve", "dress", "skirt", "trousers", "shorts" ("unknown" otherwise). */
const char *avatar_garment_type_name(enum avatar_garment_type t);
/* The names above; also "top", "tee", "shirt" -> t-shirt, "longsleeve" -> long-sleeve,
   "pants", "jeans" -> trousers. TRYON_EINVAL naming the string otherwise. */
enum tryon_status avatar_garment_type_parse(const char *s, enum avatar_garment_type *t);

/* How a product photo shows the garment: on an invisible (ghost) mannequin, as the
   garment-photo template frame has it; laid flat on a surface and shot from above (its
   depth nearly gone, sleeves and legs spread); hanging from a hanger (sleeves hanging,
   flatter than on a body, the hanger's hook above). */
enum avatar_garment_style { AVATAR_STYLE_GHOST, AVATAR_STYLE_FLAT, AVATAR_STYLE_HANGER, AVATAR_STYLE_N };
/* "ghost", "flat", "hanger" ("unknown" otherwise). */
const char *avatar_garment_style_name(enum avatar_garment_style s);
/* A style's shape on the product-photo body (avatar_phenotype_default at 1.75 m): the arm
   and leg angles it is built with (avatar_body_params' meanings; the ghost's are 0, the
   A-pose) and the factor its depth is scaled by about the garment's middle (1 for the
   ghost). `tryon synth` draws its product photos around these. */
struct avatar_style_shape { float arm_down_deg, leg_spread_deg, depth_scale; };
void avatar_garment_style_shape(enum avatar_garment_style s, struct avatar_style_shape *out);
/* Scale the depth (z) of n points (x, y, z) about z_mid by k. */
void avatar_flatten_depth(float *pos, int n, float z_mid, float k);

/* Garment landmarks. Left/right are the wearer's: the wearer's left (+x) is on the right of
   a front photo. Definitions on the garment mesh seen from the front (x right, y up):
     collar       highest point on the plane x = the neck joint's x         tops, dress
     shoulder     highest point on the plane x = the shoulder joint's x     tops, dress
     sleeve end   centre of the sleeve's opening (mean of the vertices within 1 cm of the
                  farthest along the shoulder->wrist axis)                 tops, dress (sleeve >= 0.2)
     hem corner   tops, dress: outermost points within 2% of the garment height above the
                  centre line's lowest point (within 0.75 shoulder spans of the centre for tops);
                  skirt: outermost points of the lowest 1% of the garment height;
                  trousers, shorts: outermost point of each leg's lowest 1% of the garment height
     waist        outermost points of the highest 4% of the garment height skirt, trousers, shorts
     crotch       lowest point on the plane x = the neck joint's x          trousers, shorts */
enum avatar_landmark {
    AVATAR_LM_COLLAR, AVATAR_LM_L_SHOULDER, AVATAR_LM_R_SHOULDER, AVATAR_LM_L_SLEEVE, AVATAR_LM_R_SLEEVE,
    AVATAR_LM_L_HEM, AVATAR_LM_R_HEM, AVATAR_LM_L_WAIST, AVATAR_LM_R_WAIST, AVATAR_LM_CROTCH, AVATAR_LM_N
};
/* "collar", "l-shoulder", ... "crotch". */
const char *avatar_landmark_name(enum avatar_landmark l);

struct avatar_garment_est {
    enum avatar_garment_type type;
    float color[3];        /* mean colour of the garment pixels, linear RGB albedo */
    float length;          /* 0..1: how far down the template goes: t-shirt/long-sleeve waist..hips;
                              dress and skirt mid-thigh..ankles; trousers mid-calf (0.35 of
                              knees..ankles)..ankles; shorts upper thigh..knees */
    float sleeve;          /* 0..1: sleeve length as a fraction of shoulder..wrist (tops, dress) */
    float looseness;       /* extra offset from the body, metres (0 = snug), at most 0.05 */
    float lm[AVATAR_LM_N][2];   /* landmarks in photo pixels; negative = absent for this type */
    float type_confidence;      /* 0..1: how clearly the mask's shape picked the type (1 for a hint) */
    enum avatar_garment_style style;   /* how the photo shows it, as the outline check found
                                          (avatar_garment_shape_iou); the estimate leaves ghost */
};
/* From the product photo (segmented; rgba c = 3 or 4): type from the hint ("" = from the
   mask's shape: leg split, sleeves, length/width ratios; a gap between close legs that the
   mask kept counts as a split where the photo shows the white backdrop there), colour
   (albedo calibrated by the white backdrop beside the garment), length/sleeve from
   scale-free ratios of the mask (normalised by its own widths, so framing does not
   matter), landmarks in photo pixels,
   looseness 0 (not measurable from a front mask without a scale). Calibrated on front views
   of this module's templates on the default body, the product-photo template frame.
   TRYON_EINVAL for an unknown hint or an empty mask. */
enum tryon_status avatar_estimate_garment(const struct img8 *rgba, const uint8_t *mask, const char *type_hint,
                                          struct avatar_garment_est *out);
/* How well the estimate's outline matches the photo's garment (avatar/garment_shape.c):
   the template of g built on the default body, seen from the front, stretched over the
   bounding box of mask (w*h, nonzero = garment), against the mask, as intersection over
   union on a 96-row grid (framing and scale do not count), the best over the photo styles
   (the template posed as each style poses it, the flat and hanger poses tried when the
   ghost's IoU is under 0.9; *style, when not NULL, gets the best one;
   thin rows on top, a hanger's hook, are left out of the box). A garment of a type we have
   scores high for its type; something else, or a wrong type hint, low. TRYON_EINVAL for an
   empty mask. */
enum tryon_status avatar_garment_shape_iou(const struct avatar_model *m, const uint8_t *mask, int w, int h,
                                           const struct avatar_garment_est *g, float *iou,
                                           enum avatar_garment_style *style);
/* A garment mesh: the template of g->type cut and deformed exactly like the body (same
   targets, scaling and pose), pushed outside the body (AVATAR_GARMENT_OFFSET_M plus
   looseness), then given a cloth thickness AVATAR_GARMENT_THICKNESS_M: an inner layer, an
   outer layer and rims joining them at every opening, so the mesh is closed (every edge
   shared by two triangles once vertices at equal positions are merged, consistently
   oriented outward). uv: the atlas below, with vertices duplicated along the front/back
   seam. body_mesh must be avatar_body_build's result for the same body params. length,
   sleeve, looseness are clamped to their ranges; lm, color, type_confidence are not used.
   A zeroed est is a t-shirt at length 0, sleeveless.

   UV atlas (what avatar_garment_texture fills; raytrace samples it with uv (0,0) at the
   image's bottom-left, v up): with the mesh's bounds lo..hi (metres), a vertex on the front
   (its outer normal has z >= 0) gets u = 0.5 * (x - lo.x) / (hi.x - lo.x), v = (y - lo.y) /
   (hi.y - lo.y); one on the back u = 0.5 + the same. So a print painted in the front half
   of the atlas at (u, v) lands on the front of the garment at x = lo.x + 2u (hi.x - lo.x),
   y = lo.y + v (hi.y - lo.y): in a front product photo framed on the garment's bounds it
   shows at the projection of that point, i.e. the front panel is the garment's front
   orthographic view, left of the image = the wearer's right. The back panel is the same
   view seen through the garment (not mirrored). */
enum tryon_status avatar_garment_build(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       struct avatar_mesh *out);
/* The 3D landmarks (metres, garment frame) of garment g built on body: the definitions
   above, taken on avatar_garment_build's mesh. present[l] false (lm[l] zero) where the
   type has no such landmark. For the product-photo template frame use the default body:
   avatar_phenotype_default, stature 1.75 m, no pose. Errors as avatar_body_build and
   avatar_garment_build. */
enum tryon_status avatar_garment_landmarks_3d(const struct avatar_model *m, const struct avatar_body_params *body,
                                              const struct avatar_garment_est *g, float lm[AVATAR_LM_N][3],
                                              bool present[AVATAR_LM_N]);
/* The garment's UV atlas texture (size x size, c = 3, linear RGB albedo; row 0 = top of the
   image = v 1) from its product photo (rgba c = 3 or 4, mask w*h with 255 = garment, g its
   estimate with landmarks): the front panel is the photo warped by a thin-plate spline
   that maps the template's landmarks (avatar_garment_landmarks_3d on the default body, in
   atlas uv) to g's photo landmarks, sampled bilinearly, divided by the backdrop-calibrated
   light like g->color; texels falling outside the mask get the front's dominant colour (the
   print's ground); the back panel is that colour too (the print is not guessed; see
   avatar_garment_texture_back). out is allocated
   (imgf_free). TRYON_EINVAL for size outside [16, 4096] or fewer than 3 landmarks. */
enum tryon_status avatar_garment_texture(const struct avatar_model *m, const struct img8 *photo, const uint8_t *mask,
                                         const struct avatar_garment_est *g, int size, struct imgf *out);
/* The same with the back panel from a completion of the back's print: `back` (c = 3, linear
   RGB, row 0 = top) is a back_side_m square of the back's surface, laid over the back view
   in mirrored repeats. back NULL = avatar_garment_texture. */
enum tryon_status avatar_garment_texture_back(const struct avatar_model *m, const struct img8 *photo,
                                              const uint8_t *mask, const struct avatar_garment_est *g, int size,
                                              const struct imgf *back, float back_side_m, struct imgf *out);
/* ===== draping and fit =================================================================== */
/* The garment's size as the body girths it is cut for (a size chart's chest, waist, hip in
   cm) and its length (top edge to hem, cm); zero fields = cut for the wearer (the template's
   own ease, the length estimated from the photo). */
struct avatar_size { float chest_cm, waist_cm, hip_cm, length_cm; };
enum avatar_fit_region { AVATAR_FIT_CHEST, AVATAR_FIT_WAIST, AVATAR_FIT_HIPS, AVATAR_FIT_LENGTH, AVATAR_FIT_NREGIONS };
enum avatar_fit_verdict { AVATAR_FIT_NONE = 0, AVATAR_FIT_TIGHT, AVATAR_FIT_GOOD, AVATAR_FIT_LOOSE };
/* "chest", "waist", "hips", "length"; "tight", "good", "loose" ("none" for a region the
   garment does not cover). */
const char *avatar_fit_region_name(enum avatar_fit_region r);
const char *avatar_fit_verdict_name(enum avatar_fit_verdict v);
struct avatar_fit {
    enum avatar_fit_verdict verdict;
    float strain;    /* mean stretch of the cloth along the girth (along the length for LENGTH), fraction */
    float gap_cm;    /* mean distance of the cloth from the body beyond the contact thickness, cm */
    int vertices;    /* cloth vertices the region's figures come from */
};
/* A draped garment: the closed shell (as avatar_garment_build's), the strain per shell
   vertex (mean over its cloth edges of length / rest length - 1), the verdicts, and the
   solver's figures. */
struct avatar_draped {
    struct avatar_mesh mesh;
    float *strain;                     /* (mesh.nv) */
    struct avatar_fit fit[AVATAR_FIT_NREGIONS];
    int steps;                         /* solver steps to settle */
    float residual, mean_speed;        /* at the end: RMS stretch residual, mean speed (m/s) */
    float seconds;                     /* the drape's wall time */
    int cloth_nv;                      /* vertices of the single-layer cloth */
    float length_cm;                   /* the draped cloth's height, top edge to hem, cm */
};
void avatar_draped_free(struct avatar_draped *d);
struct kern_ctx;
/* Drape garment g on the body (body_mesh = avatar_body_build of body): the template of
   avatar_garment_build (its push-outside fit is the start and the rest shape), rest edges
   scaled to `size` (NULL = cut for the wearer) against the body's measurements (girths
   horizontally, one not given following the nearest level given; length_cm vertically against the template's height on this body, which must
   lie within half to twice of it, else TRYON_EINVAL), then XPBD
   cloth (avatar/drape.c): stretch, bending, gravity, friction, the body kept 3 mm away,
   the floor, a waistband for skirts, trousers and shorts, self-collision for dresses and
   long sleeves. under: an inner garment's draped shell the cloth must stay outside (NULL =
   none). kctx: the kernels context for the solver (NULL = CPU). The fit verdicts: tight
   where the cloth is stretched more than 3% along the girth (length: along the garment),
   loose where it stands off the body by more than the region's allowance (chest and hips
   3 cm, waist 5 cm; length: the cloth compressed by more than 3%), good otherwise.
   TRYON_ENOTSETTLED naming speed and residual when the drape does not settle; other
   errors as avatar_garment_build. Deterministic for any thread count. */
enum tryon_status avatar_garment_drape(const struct avatar_model *m, const struct avatar_body_params *body,
                                       const struct avatar_mesh *body_mesh, const struct avatar_garment_est *g,
                                       const struct avatar_size *size, const struct avatar_mesh *under,
                                       struct kern_ctx *kctx, struct avatar_draped *out);

/* The garment's inner layer's distance from the body surface (plus looseness), metres. */
#define AVATAR_GARMENT_OFFSET_M 0.008f
/* Cloth thickness: distance between the inner and the outer layer, metres. */
#define AVATAR_GARMENT_THICKNESS_M 0.002f

#endif
