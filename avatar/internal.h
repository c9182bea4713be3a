/* internal.h: what the files of avatar/ share and nobody else sees: the loaded model's
 * layout (base mesh, sparse macro targets, joint cubes, region weights), the deformation
 * of the whole base mesh into the body frame, and the body-surface proximity query used
 * by the garment fit. */
#ifndef TRYON_AVATAR_INTERNAL_H
#define TRYON_AVATAR_INTERNAL_H

#include "avatar/avatar.h"

/* One sparse morph target: n entries (vertex, delta). Deltas are stored exactly as the
   files give them, in thousandths of a decimetre (the files have three decimals). */
struct av_target {
    int n;
    uint16_t *idx;   /* (n) base vertex index */
    int16_t *d;      /* (n,3) delta, 1e-3 dm */
};

/* Joint cubes of the base mesh (`g joint-<name>`, 8 vertices each) whose centres follow
   every target: the landmarks the pose and the garment regions use. */
enum av_joint {
    AV_J_L_SHOULDER, AV_J_R_SHOULDER, AV_J_L_ELBOW, AV_J_R_ELBOW, AV_J_L_HAND, AV_J_R_HAND,
    AV_J_L_UPPER_LEG, AV_J_R_UPPER_LEG, AV_J_L_KNEE, AV_J_R_KNEE, AV_J_L_ANKLE, AV_J_R_ANKLE,
    AV_J_PELVIS, AV_J_SPINE4, AV_J_SPINE3, AV_J_SPINE2, AV_J_SPINE1, AV_J_NECK,
    AV_J_L_CLAVICLE, AV_J_R_CLAVICLE, AV_NJOINTS
};
extern const char *const av_joint_names[AV_NJOINTS];   /* "l-shoulder", ... */

/* Skinning regions (sums of the default rig's bone weights, per side): arm = upper arm
   down to the fingers; leg = upper leg down to the toes. */
enum av_region { AV_R_ARM_L, AV_R_ARM_R, AV_R_LEG_L, AV_R_LEG_R, AV_NREGIONS };

/* One bone of the default rig. Its head and tail are the mean of up to 8 base vertices
   (a joint cube's 8 corners, one vertex, or two), so they follow every target. */
#define AV_MAX_BONES 192
struct av_bone {
    char name[24];
    int parent;                  /* bone index, -1 for the root; parents come before children */
    int nhead, ntail;
    int32_t head[8], tail[8];    /* base vertex indices averaged */
};
/* Bones the pose turns (indices into avatar_model.bones). */
enum av_pose_bone {
    AV_B_UPPERARM_L, AV_B_UPPERARM_R, AV_B_UPPERLEG_L, AV_B_UPPERLEG_R,
    AV_B_SPINE04, AV_B_SPINE03, AV_B_SPINE02, AV_B_SPINE01, AV_NPOSE_BONES
};

#define AV_NAGES 4     /* baby, child, young, old */
#define AV_NRACES 3    /* african, asian, caucasian */

struct avatar_model {
    int nv;                        /* all base vertices: skin, helpers, joint cubes */
    int nbody;                     /* skin vertices: indices [0, nbody) */
    float *base;                   /* (nv,3) base mesh, decimetres */
    int nbt;                       /* skin triangles */
    int32_t *body_tri;             /* (nbt,3) */
    int ntq;                       /* helper-tights faces */
    int32_t *tights;               /* (ntq,4) corner vertex indices; a triangle has [3] = -1 */
    int joint_first[AV_NJOINTS];   /* first of the 8 contiguous vertices of each joint cube */
    float *region;                 /* (AV_NREGIONS, nv) weights in [0,1] */
    /* macro targets, indexed like the file names; a missing combination is empty */
    struct av_target universal[2][AV_NAGES][3][3];     /* gender, age, muscle, weight */
    struct av_target race[AV_NRACES][2][AV_NAGES];     /* race, gender, age */
    struct av_target height[2][AV_NAGES][3][3][2];     /* ... x {minheight, maxheight} */
    struct av_target prop[2][AV_NAGES][3][3][2];       /* ... x {uncommon, ideal}; no baby files */
    /* the default rig: bones (parents first) and per-vertex skinning weights (CSR) */
    int nbones;
    struct av_bone bones[AV_MAX_BONES];
    int pose_bone[AV_NPOSE_BONES];  /* index of each posed bone */
    int32_t *skin_start;            /* (nv+1) */
    uint8_t *skin_bone;             /* (skin_start[nv]) bone index */
    float *skin_w;                  /* (skin_start[nv]) weight; a vertex's weights sum to 1 */
};

/* The whole base mesh (m->nv vertices) deformed by p into the body frame (metres, feet on
   y = 0, skin bounds centred on x = z = 0, scaled to p->stature_m): out is (m->nv,3). The
   skin part of out is the body mesh's pos. Validates p (TRYON_EINVAL). */
enum tryon_status av_deform(const struct avatar_model *m, const struct avatar_body_params *p, float *out);
/* av_deform in two steps: the unposed body (pose angles ignored), then the pose applied in
   place (linear blend skinning; a zero pose leaves every vertex bit for bit). */
enum tryon_status av_deform_unposed(const struct avatar_model *m, const struct avatar_body_params *p, float *out);
enum tryon_status av_pose(const struct avatar_model *m, const struct avatar_body_params *p, float *v);
/* Centre of a joint cube in a deformed vertex array. */
void av_joint_pos(const struct avatar_model *m, const float *verts, enum av_joint j, float out[3]);
/* Head and tail of bone b in a deformed vertex array (the same units). */
void av_bone_ends(const struct avatar_model *m, const float *verts, int b, float head[3], float tail[3]);
/* Index of the bone named name, or -1. */
int av_bone_find(const struct avatar_model *m, const char *name);
/* Levels (metres above the floor) avatar_body_measure took its girths at, for tests. */
struct av_measure_levels { float chest_y, waist_y, hip_y, crotch_y; };
enum tryon_status av_body_measure_levels(const struct avatar_model *m, const struct avatar_body_params *p,
                                         struct avatar_measurements *out, struct av_measure_levels *lv);

/* Nearest-point queries against a closed triangle mesh (the body), with the sign of the
   side from angle-weighted pseudonormals (exact for a closed manifold mesh). */
struct av_surface;
enum tryon_status av_surface_create(const struct avatar_mesh *mesh, float cell_m, struct av_surface **out);
void av_surface_free(struct av_surface *s);
/* Nearest surface point q of p, the smooth (interpolated vertex) normal there, and the
   signed distance (negative inside). */
float av_surface_query(const struct av_surface *s, const float p[3], float q[3], float n[3]);
/* av_surface_query for the points within maxd metres of the surface (the same q, n and
   distance); a point outside the mesh farther than that returns INFINITY with q = p and
   n = +y, after visiting only the grid cells within maxd of it. A point inside, or one the
   grid cannot place (a cell a triangle touches), gets the full query. tri (may be NULL):
   in, a triangle likely nearest (the last answer for a point that moved a little; -1 =
   none), which bounds the search from the start; out, the nearest triangle (-1 when
   INFINITY). The answer is the nearest point whatever the hint (among triangles exactly
   equally near, the hint may decide which one answers). */
float av_surface_query_within(const struct av_surface *s, const float p[3], float maxd, int32_t *tri, float q[3],
                              float n[3]);

/* ===== cloth drape (drape.c) ===== */
struct kern_ctx;
/* An obstacle: a closed surface (the body) or a garment's outer layer; a cloth vertex
   collides with it while it is less than `reach` metres behind it (INFINITY for the
   body: anything inside is pushed out). */
struct av_obstacle { const struct av_surface *surf; float reach; };
/* The cloth: triangles (consistently oriented), rest shape, optional per-vertex rest
   scale (nv,2): horizontal (x, z) and vertical factors applied to the rest edges (NULL = 1),
   pinned (nv) vertices that never move, attach (nv) vertices pulled toward their start
   (a waistband); both optional. */
struct av_cloth_mesh {
    int nv, nt;
    const int32_t *tri;
    const float *rest;
    const float *rest_scale;
    const uint8_t *pinned, *attach;
};
struct av_cloth_params {
    float thickness;            /* collision distance from obstacles, metres (3 mm) */
    float dt;                   /* step, seconds */
    int substeps;               /* XPBD substeps per step */
    int stretch_iterations;     /* sweeps of the stretch constraints per substep (the rest: one) */
    float stretch_compliance;   /* per unit mass, m/N-like units of XPBD (1e-7: nearly inextensible) */
    float bend_compliance;
    float attach_compliance;
    float damping;              /* 1/s */
    float mu_s, mu_k;           /* static and kinetic friction against obstacles */
    float gravity;              /* m/s^2 */
    int min_steps, max_steps;
    float settle_speed;         /* m/s, mean vertex speed */
    float settle_residual;      /* RMS of (C + at lambda) over the stretch constraints / mean rest length */
    float self_radius;          /* metres; 0 = no self-collision */
    bool floor;                 /* the plane y = 0 is an obstacle too */
    int threads;                /* CPU backend threads when no context is given (0 = all) */
};
struct av_cloth_stats {
    int steps;
    bool settled;
    float mean_speed, residual;   /* at the last settle check */
    double seconds;
};
void av_cloth_params_default(struct av_cloth_params *p);
/* Rest length of edge a-b of cm: the rest shape's edge, scaled by cm->rest_scale (the mean of
   the two ends' factors) when given. */
float av_cloth_rest_length(const struct av_cloth_mesh *cm, int a, int b);
/* Drape cloth cm starting at x (nv,3; updated in place, also on failure) against the
   obstacles. kctx: the kernels context to run the substeps on (NULL = a CPU one made
   here). TRYON_ENOTSETTLED (message with speed and residual) when max_steps pass
   without settling; TRYON_ENOMEM. Deterministic for any thread count. */
enum tryon_status av_cloth_drape(struct kern_ctx *kctx, const struct av_cloth_params *prm,
                                 const struct av_cloth_mesh *cm, const struct av_obstacle *obs, int nobs,
                                 float *x, struct av_cloth_stats *stats);

/* The fit of a drape (fit.c): vstrain (cm->nv) per cloth vertex, the region verdicts. lv: the
   body's girth levels (av_body_measure_levels), x the draped cloth, bs the body's surface,
   thickness the drape's contact distance. */
enum tryon_status av_drape_fit(const struct avatar_model *m, const struct av_measure_levels *lv,
                               const struct avatar_mesh *body_mesh, const struct av_surface *bs,
                               const struct av_cloth_mesh *cm, const float *x, float thickness, float *vstrain,
                               struct avatar_fit fit[AVATAR_FIT_NREGIONS]);

/* Person fit by analysis by synthesis (estimate_body.c): mask (w*h, one component; 255 =
   skin, 1..254 = clothing as estimate.c marks it, 0 = background) through the standard
   photo camera; height_hint_cm > 0 fixes the stature. */
struct av_person_fit {
    struct avatar_body_params body;
    float place[3];          /* body origin in the camera's world, metres (y = 0: the floor) */
    struct avatar_photo_camera camera;   /* the photo's camera: the studio's, or with a hint solved */
    float tilt_deg;          /* its tilt, degrees up */
    float silhouette_h_px;   /* the photo silhouette's height */
    float iou;               /* full-resolution silhouette IoU of the fitted body */
    int iterations;          /* bodies rendered */
};
enum tryon_status av_fit_person(const struct avatar_model *m, const uint8_t *mask, int w, int h, float height_hint_cm,
                                const struct avatar_person_prior *prior, struct av_person_fit *out);

/* A second mask component at least this fraction of the largest one's pixels makes a
   photo hold two subjects (TRYON_EINVAL). */
#define AV_SECOND_BLOB_FRAC 0.25f

/* 4-connected foreground components of mask (w*h, nonzero = foreground): label (w*h) gets
   0 for background and 1..n in raster order of first pixel; *sizes (n+1 entries, [0]
   unused, malloc'd for the caller) their pixel counts. Returns n, or -1 (TRYON_ENOMEM
   message set) when out of memory. */
int av_mask_label(const uint8_t *mask, int w, int h, int32_t *label, size_t **sizes);

/* Silhouette of the deformed skin vertices translated by `offset` (metres; NULL = none). */
void av_render_silhouette_off(const float *pos, const int32_t *tri, int nt, const float offset[3],
                              const struct avatar_photo_camera *c, int w, int h, uint8_t *mask);

/* ===== garments (garment_est.c, texture.c) ===== */
/* Albedo of a garment whose mean colour in a product photo equals the white backdrop's
   brightness beside it (see garment_est.c). */
#define AV_PRODUCT_GAIN 0.65f
/* Median linear luminance of the opaque backdrop pixels (outside the mask) in rows y0..y1,
   or 0 when under 5% of those rows' pixels are backdrop. */
float av_backdrop_luminance(const struct img8 *im, const uint8_t *mask, int y0, int y1);
/* The product-photo template frame: bp = the default phenotype at 1.75 m in the pose of the
   photo style (avatar_garment_style_shape; the ghost's is the neutral pose), and gm
   (allocated) the garment g built on that body, its depth not pressed; the ghost's is the
   frame the garment estimator is calibrated in, shared by the texture transfer and the
   outline check (garment_est.c). */
enum tryon_status av_template_on_default_body(const struct avatar_model *m, const struct avatar_garment_est *g,
                                              enum avatar_garment_style style, struct avatar_body_params *bp,
                                              struct avatar_mesh *gm);

#endif
