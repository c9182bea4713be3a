/* surface.c: nearest-point and inside/outside queries against the body surface, for
 * pushing garment vertices out of the body.
 *
 * Triangles are binned into a uniform grid (cell_m metres: the cells of their bounds that
 * their plane crosses). A full query visits rings of cells around the point, skipping the
 * cells farther than the nearest point found so far, until no unvisited cell can hold
 * anything nearer; a query within a distance scans the box of cells that distance (or a
 * hint triangle's, when nearer) reaches, and answers "far" at once from a cell with no
 * triangle within CLEAR_RINGS cells, on the side the flood fill of the empty cells gave it.
 * Candidates are pruned by their bounds, a sphere around them and their plane before the
 * exact nearest point on them. The side of a nearest point comes from
 * angle-weighted pseudonormals (Baerentzen and Aanaes 2005): the normal of the feature the
 * nearest point lies on (face, edge: sum of the two face normals, vertex: angle-weighted
 * sum), which gives the exact sign for a closed manifold mesh. Queries are read-only, so
 * threads may share one struct av_surface.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct av_surface {
    const float *pos;       /* (nv,3) the mesh's, not owned */
    const float *nrm;       /* (nv,3) the mesh's smooth normals, not owned */
    const int32_t *tri;     /* (nt,3) the mesh's, not owned */
    int nv, nt;
    float *fn;              /* (nt,3) unit face normals */
    float *en;              /* (nt,3,3) pseudonormal of edge k (v[k] -> v[k+1]) of each triangle */
    float *vn;              /* (nv,3) angle-weighted vertex pseudonormals */
    float *box;             /* (nt,6) triangle bounds: min xyz, max xyz */
    float *sph;             /* (nt,4) a sphere around each triangle: centroid xyz, radius */
    float lo[3], cell;      /* grid origin and cell size, metres */
    int dim[3];             /* cells per axis */
    int32_t *start;         /* (ncells+1) CSR offsets into items */
    int32_t *items;         /* triangle ids */
    uint8_t *side;          /* (ncells) CELL_TOUCHED, CELL_INSIDE or CELL_OUTSIDE */
    uint8_t *clear;         /* (ncells) 1 = no touched cell within CLEAR_RINGS rings of it */
};

static inline void sub3(float o[3], const float a[3], const float b[3])
{
    o[0] = a[0] - b[0], o[1] = a[1] - b[1], o[2] = a[2] - b[2];
}
static inline float dot3(const float a[3], const float b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static inline void cross3(float o[3], const float a[3], const float b[3])
{
    o[0] = a[1] * b[2] - a[2] * b[1];
    o[1] = a[2] * b[0] - a[0] * b[2];
    o[2] = a[0] * b[1] - a[1] * b[0];
}
static inline void norm3(float v[3])
{
    float l = sqrtf(dot3(v, v));
    if (l > 0)
        v[0] /= l, v[1] /= l, v[2] /= l;
}

struct edge_rec { uint64_t key; int32_t te; };
static int cmp_edge(const void *a, const void *b)
{
    const struct edge_rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->te > y->te) - (x->te < y->te);
}

static int cell_index(const struct av_surface *s, int ix, int iy, int iz)
{
    return (iz * s->dim[1] + iy) * s->dim[0] + ix;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
/* max and min without fmaxf's NaN rules, which keep them libm calls on x86-64: one instruction */
static inline float maxf(float a, float b) { return a > b ? a : b; }
static inline float minf(float a, float b) { return a < b ? a : b; }

/* s->side: the cells a triangle is binned into are CELL_TOUCHED; a flood through
   face-adjacent empty cells from the grid's border (empty: the grid has a cell of margin)
   marks the cells it reaches CELL_OUTSIDE and leaves the rest CELL_INSIDE. The surface
   crosses no empty cell, so for a closed mesh a point in an inside cell is inside it and one
   in an outside cell outside. Returns -1 when out of memory. */
enum { CELL_TOUCHED, CELL_INSIDE, CELL_OUTSIDE };
static int flood_outside(struct av_surface *s, size_t ncell)
{
    s->side = malloc(ncell);
    int32_t *stack = malloc(ncell * sizeof *stack);
    if (!s->side || !stack) {
        free(stack);
        return -1;
    }
    for (size_t i = 0; i < ncell; i++)
        s->side[i] = s->start[i] == s->start[i + 1] ? CELL_INSIDE : CELL_TOUCHED;
    size_t top = 0;
    for (int iz = 0; iz < s->dim[2]; iz++)
        for (int iy = 0; iy < s->dim[1]; iy++)
            for (int ix = 0; ix < s->dim[0]; ix++) {
                bool border = ix == 0 || iy == 0 || iz == 0 || ix == s->dim[0] - 1 || iy == s->dim[1] - 1 ||
                              iz == s->dim[2] - 1;
                int ci = cell_index(s, ix, iy, iz);
                if (border && s->side[ci] == CELL_INSIDE)
                    s->side[ci] = CELL_OUTSIDE, stack[top++] = ci;
            }
    const int step[3] = {1, s->dim[0], s->dim[0] * s->dim[1]};
    while (top > 0) {
        int ci = stack[--top];
        int co[3] = {ci % s->dim[0], ci / s->dim[0] % s->dim[1], ci / step[2]};
        for (int k = 0; k < 3; k++)
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                if (co[k] + sgn < 0 || co[k] + sgn >= s->dim[k])
                    continue;
                int cn = ci + sgn * step[k];
                if (s->side[cn] == CELL_INSIDE)
                    s->side[cn] = CELL_OUTSIDE, stack[top++] = cn;
            }
    }
    free(stack);
    return 0;
}

/* s->clear: the cells with no touched cell within CLEAR_RINGS rings (a point in one is at
   least CLEAR_RINGS cells from every triangle): the touched flags dilated by a box of that
   radius, one axis at a time. Returns -1 when out of memory. */
#define CLEAR_RINGS 2
static int mark_clear(struct av_surface *s, size_t ncell)
{
    uint8_t *a = malloc(ncell), *b = malloc(ncell);
    if (!a || !b) {
        free(a), free(b);
        return -1;
    }
    for (size_t i = 0; i < ncell; i++)
        a[i] = s->side[i] == CELL_TOUCHED;
    const int step[3] = {1, s->dim[0], s->dim[0] * s->dim[1]};
    uint8_t *src = a, *dst = b;
    for (int k = 0; k < 3; k++) {   /* dst = src dilated along axis k */
        int ci = 0;
        for (int iz = 0; iz < s->dim[2]; iz++)
            for (int iy = 0; iy < s->dim[1]; iy++)
                for (int ix = 0; ix < s->dim[0]; ix++, ci++) {
                    int co = k == 0 ? ix : k == 1 ? iy : iz;
                    int d0 = co < CLEAR_RINGS ? -co : -CLEAR_RINGS;
                    int d1 = s->dim[k] - 1 - co < CLEAR_RINGS ? s->dim[k] - 1 - co : CLEAR_RINGS;
                    uint8_t v = 0;
                    for (int d = d0; d <= d1; d++)
                        v |= src[ci + d * step[k]];
                    dst[ci] = v;
                }
        uint8_t *t = src;
        src = dst, dst = t;
    }
    for (size_t i = 0; i < ncell; i++)
        src[i] = !src[i];
    s->clear = src;
    free(dst);
    return 0;
}

enum tryon_status av_surface_create(const struct avatar_mesh *mesh, float cell_m, struct av_surface **out)
{
    *out = NULL;
    struct av_surface *s = calloc(1, sizeof *s);
    if (!s)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body surface");
    s->pos = mesh->pos, s->nrm = mesh->nrm, s->tri = mesh->tri, s->nv = mesh->nv, s->nt = mesh->nt;
    s->fn = malloc((size_t)s->nt * 3 * sizeof *s->fn);
    s->en = malloc((size_t)s->nt * 9 * sizeof *s->en);
    s->vn = calloc((size_t)s->nv * 3, sizeof *s->vn);
    s->box = malloc((size_t)s->nt * 6 * sizeof *s->box);
    s->sph = malloc((size_t)s->nt * 4 * sizeof *s->sph);
    struct edge_rec *edges = malloc((size_t)s->nt * 3 * sizeof *edges);
    if (!s->fn || !s->en || !s->vn || !s->box || !s->sph || !edges) {
        free(edges);
        av_surface_free(s);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body surface");
    }
    for (int t = 0; t < s->nt; t++) {
        const int32_t *f = s->tri + (size_t)t * 3;
        const float *p[3] = {s->pos + (size_t)f[0] * 3, s->pos + (size_t)f[1] * 3, s->pos + (size_t)f[2] * 3};
        float e1[3], e2[3], n[3];
        sub3(e1, p[1], p[0]);
        sub3(e2, p[2], p[0]);
        cross3(n, e1, e2);
        norm3(n);
        memcpy(s->fn + (size_t)t * 3, n, sizeof n);
        for (int k = 0; k < 3; k++) {
            s->box[t * 6 + k] = fminf(p[0][k], fminf(p[1][k], p[2][k]));
            s->box[t * 6 + 3 + k] = fmaxf(p[0][k], fmaxf(p[1][k], p[2][k]));
        }
        float *sp = s->sph + (size_t)t * 4, r2 = 0.0f;
        for (int k = 0; k < 3; k++)
            sp[k] = (p[0][k] + p[1][k] + p[2][k]) / 3.0f;
        for (int j = 0; j < 3; j++) {
            float d[3];
            sub3(d, p[j], sp);
            r2 = fmaxf(r2, dot3(d, d));
        }
        sp[3] = sqrtf(r2) * 1.0001f + 1e-6f;   /* a little over: rounding never leaves a corner outside */
        for (int k = 0; k < 3; k++) {
            float a[3], b[3];
            sub3(a, p[(k + 1) % 3], p[k]);
            sub3(b, p[(k + 2) % 3], p[k]);
            float la = sqrtf(dot3(a, a)), lb = sqrtf(dot3(b, b));
            float c = la > 0 && lb > 0 ? dot3(a, b) / (la * lb) : 1.0f;
            float ang = acosf(fmaxf(-1.0f, fminf(1.0f, c)));
            for (int j = 0; j < 3; j++)
                s->vn[(size_t)f[k] * 3 + j] += ang * n[j];
            uint32_t u = (uint32_t)f[k], v = (uint32_t)f[(k + 1) % 3];
            edges[t * 3 + k].key = u < v ? ((uint64_t)u << 32 | v) : ((uint64_t)v << 32 | u);
            edges[t * 3 + k].te = t * 3 + k;
        }
    }
    for (int i = 0; i < s->nv; i++)
        norm3(s->vn + (size_t)i * 3);
    qsort(edges, (size_t)s->nt * 3, sizeof *edges, cmp_edge);
    for (int t = 0; t < s->nt; t++)
        for (int k = 0; k < 3; k++)
            memcpy(s->en + (size_t)(t * 3 + k) * 3, s->fn + (size_t)t * 3, 3 * sizeof(float));
    for (size_t i = 0; i + 1 < (size_t)s->nt * 3; i++)
        if (edges[i].key == edges[i + 1].key) {
            int ta = edges[i].te / 3, tb = edges[i + 1].te / 3;
            float n[3];
            for (int j = 0; j < 3; j++)
                n[j] = s->fn[(size_t)ta * 3 + j] + s->fn[(size_t)tb * 3 + j];
            norm3(n);
            memcpy(s->en + (size_t)edges[i].te * 3, n, sizeof n);
            memcpy(s->en + (size_t)edges[i + 1].te * 3, n, sizeof n);
        }
    free(edges);

    /* grid over the bounds, one cell of margin */
    float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (int i = 0; i < s->nv; i++)
        for (int k = 0; k < 3; k++) {
            lo[k] = fminf(lo[k], s->pos[(size_t)i * 3 + k]);
            hi[k] = fmaxf(hi[k], s->pos[(size_t)i * 3 + k]);
        }
    s->cell = cell_m;
    size_t ncell = 1;
    for (int k = 0; k < 3; k++) {
        s->lo[k] = lo[k] - cell_m;
        s->dim[k] = (int)ceilf((hi[k] - lo[k]) / cell_m) + 2;
        ncell *= (size_t)s->dim[k];
    }
    s->start = calloc(ncell + 1, sizeof *s->start);
    if (!s->start) {
        av_surface_free(s);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body grid");
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < s->nt; t++) {
            const int32_t *f = s->tri + (size_t)t * 3;
            int c0[3], c1[3];
            for (int k = 0; k < 3; k++) {
                float a = s->pos[(size_t)f[0] * 3 + k], b = s->pos[(size_t)f[1] * 3 + k], c = s->pos[(size_t)f[2] * 3 + k];
                c0[k] = clampi((int)floorf((fminf(a, fminf(b, c)) - s->lo[k]) / cell_m), 0, s->dim[k] - 1);
                c1[k] = clampi((int)floorf((fmaxf(a, fmaxf(b, c)) - s->lo[k]) / cell_m), 0, s->dim[k] - 1);
            }
            const float *n = s->fn + (size_t)t * 3, *a = s->pos + (size_t)f[0] * 3;
            float slab = 0.5f * cell_m * (fabsf(n[0]) + fabsf(n[1]) + fabsf(n[2])) * 1.001f + 1e-6f;
            for (int iz = c0[2]; iz <= c1[2]; iz++)
                for (int iy = c0[1]; iy <= c1[1]; iy++)
                    for (int ix = c0[0]; ix <= c1[0]; ix++) {
                        float cc[3] = {s->lo[0] + ((float)ix + 0.5f) * cell_m - a[0],
                                       s->lo[1] + ((float)iy + 0.5f) * cell_m - a[1],
                                       s->lo[2] + ((float)iz + 0.5f) * cell_m - a[2]};
                        if (fabsf(dot3(cc, n)) > slab)
                            continue;   /* the triangle's plane misses the cell */
                        int ci = cell_index(s, ix, iy, iz);
                        if (pass == 0)
                            s->start[ci + 1]++;
                        else
                            s->items[s->start[ci]++] = t;
                    }
        }
        if (pass == 0) {
            for (size_t i = 0; i < ncell; i++)
                s->start[i + 1] += s->start[i];
            s->items = malloc((size_t)s->start[ncell] * sizeof *s->items);
            if (!s->items) {
                av_surface_free(s);
                return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body grid");
            }
        } else {
            /* the fill advanced each start to its end: shift back */
            for (size_t i = ncell; i > 0; i--)
                s->start[i] = s->start[i - 1];
            s->start[0] = 0;
        }
    }
    if (flood_outside(s, ncell) || mark_clear(s, ncell)) {
        av_surface_free(s);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the body grid");
    }
    *out = s;
    return TRYON_OK;
}

void av_surface_free(struct av_surface *s)
{
    if (!s)
        return;
    free(s->fn);
    free(s->en);
    free(s->vn);
    free(s->box);
    free(s->sph);
    free(s->start);
    free(s->items);
    free(s->side);
    free(s->clear);
    free(s);
}

/* Nearest point of triangle (a,b,c) to p (the Voronoi-region walk of Ericson's
   "Real-Time Collision Detection", 5.1.5). Returns the feature: 0..2 vertex a/b/c, 3..5
   edge ab/bc/ca, 6 face; bary gets the barycentric weights of q. */
static int closest_on_tri(const float p[3], const float a[3], const float b[3], const float c[3], float q[3],
                          float bary[3])
{
    float ab[3], ac[3], ap[3], bp[3], cp[3];
    sub3(ab, b, a);
    sub3(ac, c, a);
    sub3(ap, p, a);
    float d1 = dot3(ab, ap), d2 = dot3(ac, ap);
    if (d1 <= 0 && d2 <= 0) {
        bary[0] = 1, bary[1] = 0, bary[2] = 0;
        memcpy(q, a, 3 * sizeof *q);
        return 0;
    }
    sub3(bp, p, b);
    float d3 = dot3(ab, bp), d4 = dot3(ac, bp);
    if (d3 >= 0 && d4 <= d3) {
        bary[0] = 0, bary[1] = 1, bary[2] = 0;
        memcpy(q, b, 3 * sizeof *q);
        return 1;
    }
    float vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) {
        float v = d1 / (d1 - d3);
        bary[0] = 1 - v, bary[1] = v, bary[2] = 0;
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + v * ab[k];
        return 3;
    }
    sub3(cp, p, c);
    float d5 = dot3(ab, cp), d6 = dot3(ac, cp);
    if (d6 >= 0 && d5 <= d6) {
        bary[0] = 0, bary[1] = 0, bary[2] = 1;
        memcpy(q, c, 3 * sizeof *q);
        return 2;
    }
    float vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) {
        float w = d2 / (d2 - d6);
        bary[0] = 1 - w, bary[1] = 0, bary[2] = w;
        for (int k = 0; k < 3; k++)
            q[k] = a[k] + w * ac[k];
        return 5;
    }
    float va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
        float w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        bary[0] = 0, bary[1] = 1 - w, bary[2] = w;
        for (int k = 0; k < 3; k++)
            q[k] = b[k] + w * (c[k] - b[k]);
        return 4;
    }
    float den = 1.0f / (va + vb + vc);
    float v = vb * den, w = vc * den;
    bary[0] = 1 - v - w, bary[1] = v, bary[2] = w;
    for (int k = 0; k < 3; k++)
        q[k] = a[k] + ab[k] * v + ac[k] * w;
    return 6;
}

/* Distance along axis k from coordinate v to cell i's slab of the grid (0 inside it), less
   a thousandth of a cell so that rounding never skips a cell a triangle was binned into. */
static inline float cell_gap(const struct av_surface *s, int k, int i, float v)
{
    float lo = s->lo[k] + (float)i * s->cell, hi = lo + s->cell;
    return maxf(0.0f, maxf(lo - v, v - hi) - 1e-3f * s->cell);
}

/* The side of p, whose ball of radius maxd no triangle reaches: that of an empty cell the
   ball overlaps (p's cell or one of the 26 around it; the ball and that cell hold no
   surface, so no surface parts them), CELL_OUTSIDE for a point outside the grid, or
   CELL_TOUCHED when every such cell has triangles. c: p's cell, clamped. */
static int ball_side(const struct av_surface *s, const float p[3], const int c[3], float maxd)
{
    for (int k = 0; k < 3; k++)
        if (!(p[k] >= s->lo[k] && p[k] < s->lo[k] + (float)s->dim[k] * s->cell))
            return CELL_OUTSIDE;
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int ix = c[0] + dx, iy = c[1] + dy, iz = c[2] + dz;
                if (ix < 0 || iy < 0 || iz < 0 || ix >= s->dim[0] || iy >= s->dim[1] || iz >= s->dim[2])
                    continue;
                float gx = cell_gap(s, 0, ix, p[0]), gy = cell_gap(s, 1, iy, p[1]), gz = cell_gap(s, 2, iz, p[2]);
                int side = s->side[cell_index(s, ix, iy, iz)];
                if (side != CELL_TOUCHED && gx * gx + gy * gy + gz * gz < maxd * maxd * 0.999f)
                    return side;
            }
    return CELL_TOUCHED;
}

/* The nearest point found so far by a query. */
#define PRUNE_MARGIN(d) ((d) * 1.0001f + 1e-6f)   /* a distance a little over d (metres): rounding never prunes a tie */
struct nearest {
    float best;        /* its squared distance (or the query's limit while t < 0) */
    float best_d;      /* PRUNE_MARGIN(sqrt(best)) */
    int t, feat;       /* its triangle (-1: none yet) and feature (closest_on_tri) */
    float q[3], bary[3];
};

/* Triangle t as a candidate for the nearest point to p: tests from the cheapest (its bounds,
   a sphere around it, its plane: none is nearer than the triangle, each with a margin for
   rounding), then the nearest point on it; ties go to the lower triangle index. */
static void consider(const struct av_surface *s, const float p[3], int t, struct nearest *nb)
{
    const float *bx = s->box + (size_t)t * 6;
    float e2 = 0;
    for (int k = 0; k < 3; k++) {
        float e = maxf(0.0f, maxf(bx[k] - p[k], p[k] - bx[3 + k]));
        e2 += e * e;
    }
    if (e2 > nb->best)
        return;
    const float *sp = s->sph + (size_t)t * 4;
    float cp[3], reach = sp[3] + nb->best_d;
    sub3(cp, p, sp);
    if (dot3(cp, cp) > reach * reach)
        return;
    const int32_t *f = s->tri + (size_t)t * 3;
    float ap[3];
    sub3(ap, p, s->pos + (size_t)f[0] * 3);
    if (fabsf(dot3(ap, s->fn + (size_t)t * 3)) > nb->best_d)
        return;
    float q[3], bary[3], d[3];
    int feat = closest_on_tri(p, s->pos + (size_t)f[0] * 3, s->pos + (size_t)f[1] * 3, s->pos + (size_t)f[2] * 3, q,
                              bary);
    sub3(d, p, q);
    float d2 = dot3(d, d);
    if (d2 < nb->best || (d2 == nb->best && t < nb->t)) {
        nb->best = d2, nb->best_d = PRUNE_MARGIN(sqrtf(d2)), nb->t = t, nb->feat = feat;
        memcpy(nb->q, q, sizeof q);
        memcpy(nb->bary, bary, sizeof bary);
    }
}

/* The triangles of cell (ix, iy, iz) when the cell is nearer than the best so far. */
static void scan_cell(const struct av_surface *s, const float p[3], int ix, int iy, int iz, float gyz2,
                      struct nearest *nb)
{
    float gx = cell_gap(s, 0, ix, p[0]);
    if (gyz2 + gx * gx > nb->best)
        return;
    int ci = cell_index(s, ix, iy, iz);
    for (int32_t it = s->start[ci]; it < s->start[ci + 1]; it++)
        consider(s, p, s->items[it], nb);
}

/* The nearest surface point to p within maxd metres (INFINITY: anywhere), as
   av_surface_query_within describes; *tri (may be NULL) as there. A bounded query scans
   the box of cells within the best distance so far (the hint's, else maxd); an unbounded one
   visits rings of cells until no unvisited cell can hold anything nearer. */
static float query(const struct av_surface *s, const float p[3], float maxd, int32_t *tri, float q_out[3],
                   float n_out[3])
{
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = clampi((int)floorf((p[k] - s->lo[k]) / s->cell), 0, s->dim[k] - 1);
    int ci = cell_index(s, c[0], c[1], c[2]);
    bool in_grid = true;
    for (int k = 0; k < 3; k++)
        in_grid = in_grid && p[k] >= s->lo[k] && p[k] < s->lo[k] + (float)s->dim[k] * s->cell;
    if (maxd <= CLEAR_RINGS * s->cell && in_grid && s->clear[ci]) {   /* no triangle within maxd */
        if (s->side[ci] != CELL_OUTSIDE)
            return query(s, p, INFINITY, tri, q_out, n_out);
        memcpy(q_out, p, 3 * sizeof *q_out);
        n_out[0] = 0, n_out[1] = 1, n_out[2] = 0;
        return INFINITY;
    }
    struct nearest nb = {.best = maxd * maxd, .best_d = PRUNE_MARGIN(maxd), .t = -1};
    if (tri && *tri >= 0 && *tri < s->nt)   /* the hint: its distance bounds the search from the start */
        consider(s, p, *tri, &nb);
    if (maxd < INFINITY) {
        int c0[3], c1[3];
        for (int k = 0; k < 3; k++) {
            c0[k] = clampi((int)floorf((p[k] - nb.best_d - s->lo[k]) / s->cell), 0, s->dim[k] - 1);
            c1[k] = clampi((int)floorf((p[k] + nb.best_d - s->lo[k]) / s->cell), 0, s->dim[k] - 1);
        }
        for (int iz = c0[2]; iz <= c1[2]; iz++) {
            float gz = cell_gap(s, 2, iz, p[2]), gz2 = gz * gz;
            for (int iy = c0[1]; iy <= c1[1] && gz2 <= nb.best; iy++) {
                float gy = cell_gap(s, 1, iy, p[1]), gyz2 = gz2 + gy * gy;
                for (int ix = c0[0]; ix <= c1[0] && gyz2 <= nb.best; ix++)
                    scan_cell(s, p, ix, iy, iz, gyz2, &nb);
            }
        }
    } else {
        int maxr = s->dim[0] > s->dim[1] ? s->dim[0] : s->dim[1];
        if (s->dim[2] > maxr)
            maxr = s->dim[2];
        for (int r = 0; r <= maxr; r++) {
            for (int iz = c[2] - r; iz <= c[2] + r; iz++) {
                if (iz < 0 || iz >= s->dim[2])
                    continue;
                float gz = cell_gap(s, 2, iz, p[2]), gz2 = gz * gz;
                for (int iy = c[1] - r; iy <= c[1] + r && gz2 <= nb.best; iy++) {
                    if (iy < 0 || iy >= s->dim[1])
                        continue;
                    float gy = cell_gap(s, 1, iy, p[1]), gyz2 = gz2 + gy * gy;
                    bool shell_yz = abs(iz - c[2]) == r || abs(iy - c[1]) == r;
                    for (int ix = c[0] - r; ix <= c[0] + r && gyz2 <= nb.best;
                         ix += (shell_yz || r == 0) ? 1 : 2 * r)
                        if (ix >= 0 && ix < s->dim[0])
                            scan_cell(s, p, ix, iy, iz, gyz2, &nb);
                }
            }
            /* every unvisited cell lies beyond the visited block's faces (sides at the grid's
               edge have nothing beyond them) */
            float bound = INFINITY;
            for (int k = 0; k < 3; k++) {
                if (c[k] - r > 0)
                    bound = minf(bound, p[k] - (s->lo[k] + (float)(c[k] - r) * s->cell));
                if (c[k] + r < s->dim[k] - 1)
                    bound = minf(bound, s->lo[k] + (float)(c[k] + r + 1) * s->cell - p[k]);
            }
            if (nb.best <= bound * bound)
                break;
        }
    }
    float best = nb.best;
    int best_t = nb.t, best_feat = nb.feat;
    const float *best_q = nb.q, *best_bary = nb.bary;
    if (best_t < 0 && maxd < INFINITY && ball_side(s, p, c, maxd) != CELL_OUTSIDE)
        return query(s, p, INFINITY, tri, q_out, n_out);   /* inside, or undecided: the full query */
    if (tri && best_t >= 0)
        *tri = best_t;
    if (best_t < 0) {   /* an empty mesh, or nothing within maxd outside it: "far outside" */
        memcpy(q_out, p, 3 * sizeof *q_out);
        n_out[0] = 0, n_out[1] = 1, n_out[2] = 0;
        return INFINITY;
    }
    const int32_t *f = s->tri + (size_t)best_t * 3;
    const float *pn;
    if (best_feat < 3)
        pn = s->vn + (size_t)f[best_feat] * 3;
    else if (best_feat < 6)
        pn = s->en + (size_t)(best_t * 3 + (best_feat - 3)) * 3;
    else
        pn = s->fn + (size_t)best_t * 3;
    float d[3];
    sub3(d, p, best_q);
    float dist = sqrtf(best);
    if (dot3(d, pn) < 0)
        dist = -dist;
    for (int k = 0; k < 3; k++)
        n_out[k] = best_bary[0] * s->nrm[(size_t)f[0] * 3 + k] + best_bary[1] * s->nrm[(size_t)f[1] * 3 + k] +
                   best_bary[2] * s->nrm[(size_t)f[2] * 3 + k];
    norm3(n_out);
    memcpy(q_out, best_q, 3 * sizeof *q_out);
    return dist;
}

float av_surface_query(const struct av_surface *s, const float p[3], float q_out[3], float n_out[3])
{
    return query(s, p, INFINITY, NULL, q_out, n_out);
}

float av_surface_query_within(const struct av_surface *s, const float p[3], float maxd, int32_t *tri,
                              float q_out[3], float n_out[3])
{
    return query(s, p, maxd, tri, q_out, n_out);
}
