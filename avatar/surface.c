/* surface.c: nearest-point and inside/outside queries against the body surface, for
 * pushing garment vertices out of the body.
 *
 * Triangles are binned into a uniform grid (cell_m metres); a query visits rings of cells
 * around the point, skipping the cells farther than the nearest point found so far, until no
 * unvisited cell can hold anything nearer. The side comes from
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
    float lo[3], cell;      /* grid origin and cell size, metres */
    int dim[3];             /* cells per axis */
    int32_t *start;         /* (ncells+1) CSR offsets into items */
    int32_t *items;         /* triangle ids */
    uint8_t *side;          /* (ncells) CELL_TOUCHED, CELL_INSIDE or CELL_OUTSIDE */
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
    struct edge_rec *edges = malloc((size_t)s->nt * 3 * sizeof *edges);
    if (!s->fn || !s->en || !s->vn || !s->box || !edges) {
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
            for (int iz = c0[2]; iz <= c1[2]; iz++)
                for (int iy = c0[1]; iy <= c1[1]; iy++)
                    for (int ix = c0[0]; ix <= c1[0]; ix++) {
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
    if (flood_outside(s, ncell)) {
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
    free(s->start);
    free(s->items);
    free(s->side);
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

/* The nearest surface point to p within maxd metres (INFINITY: anywhere), as
   av_surface_query_within describes; *tri (may be NULL) as there. */
static float query(const struct av_surface *s, const float p[3], float maxd, int32_t *tri, float q_out[3],
                   float n_out[3])
{
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = clampi((int)floorf((p[k] - s->lo[k]) / s->cell), 0, s->dim[k] - 1);
    int maxr = s->dim[0] > s->dim[1] ? s->dim[0] : s->dim[1];
    if (s->dim[2] > maxr)
        maxr = s->dim[2];
    float best = maxd * maxd;   /* squared distance of the nearest point so far, or the limit */
    int best_t = -1, best_feat = 0;
    float best_q[3] = {0}, best_bary[3] = {0};
    if (tri && *tri >= 0 && *tri < s->nt) {   /* the hint: its distance bounds the search from the start */
        const int32_t *f = s->tri + (size_t)*tri * 3;
        float q[3], bary[3], d[3];
        int feat = closest_on_tri(p, s->pos + (size_t)f[0] * 3, s->pos + (size_t)f[1] * 3, s->pos + (size_t)f[2] * 3,
                                  q, bary);
        sub3(d, p, q);
        float d2 = dot3(d, d);
        if (d2 < best) {
            best = d2, best_t = *tri, best_feat = feat;
            memcpy(best_q, q, sizeof q);
            memcpy(best_bary, bary, sizeof bary);
        }
    }
    for (int r = 0; r <= maxr; r++) {
        for (int iz = c[2] - r; iz <= c[2] + r; iz++) {
            if (iz < 0 || iz >= s->dim[2])
                continue;
            float gz = cell_gap(s, 2, iz, p[2]), gz2 = gz * gz;
            if (gz2 > best)
                continue;
            for (int iy = c[1] - r; iy <= c[1] + r; iy++) {
                if (iy < 0 || iy >= s->dim[1])
                    continue;
                float gy = cell_gap(s, 1, iy, p[1]), gyz2 = gz2 + gy * gy;
                if (gyz2 > best)
                    continue;
                bool shell_yz = abs(iz - c[2]) == r || abs(iy - c[1]) == r;
                for (int ix = c[0] - r; ix <= c[0] + r; ix += (shell_yz || r == 0) ? 1 : 2 * r) {
                    if (ix < 0 || ix >= s->dim[0])
                        continue;
                    float gx = cell_gap(s, 0, ix, p[0]);
                    if (gyz2 + gx * gx > best)
                        continue;   /* nothing in this cell is nearer than the best so far */
                    int ci = cell_index(s, ix, iy, iz);
                    for (int32_t it = s->start[ci]; it < s->start[ci + 1]; it++) {
                        int t = s->items[it];
                        const float *bx = s->box + (size_t)t * 6;
                        float e2 = 0;
                        for (int k = 0; k < 3; k++) {
                            float e = maxf(0.0f, maxf(bx[k] - p[k], p[k] - bx[3 + k]));
                            e2 += e * e;
                        }
                        if (e2 > best)
                            continue;
                        const int32_t *f = s->tri + (size_t)t * 3;
                        float ap[3];   /* the triangle's plane is no farther than the triangle (with a margin for rounding) */
                        sub3(ap, p, s->pos + (size_t)f[0] * 3);
                        float pd = dot3(ap, s->fn + (size_t)t * 3);
                        if (pd * pd > best * 1.0001f)
                            continue;
                        float q[3], bary[3];
                        int feat = closest_on_tri(p, s->pos + (size_t)f[0] * 3, s->pos + (size_t)f[1] * 3,
                                                  s->pos + (size_t)f[2] * 3, q, bary);
                        float d[3];
                        sub3(d, p, q);
                        float d2 = dot3(d, d);
                        if (d2 < best || (d2 == best && t < best_t)) {
                            best = d2, best_t = t, best_feat = feat;
                            memcpy(best_q, q, sizeof q);
                            memcpy(best_bary, bary, sizeof bary);
                        }
                    }
                }
            }
        }
        /* every unvisited cell lies beyond the visited block's faces (sides at the grid's edge
           have nothing beyond them) */
        float bound = INFINITY;
        for (int k = 0; k < 3; k++) {
            if (c[k] - r > 0)
                bound = minf(bound, p[k] - (s->lo[k] + (float)(c[k] - r) * s->cell));
            if (c[k] + r < s->dim[k] - 1)
                bound = minf(bound, s->lo[k] + (float)(c[k] + r + 1) * s->cell - p[k]);
        }
        if (best <= bound * bound)
            break;
    }
    if (best_t < 0 && maxd < INFINITY) {   /* nothing within maxd: far outside when p is outside */
        bool in_grid = true;
        for (int k = 0; k < 3; k++)
            in_grid = in_grid && p[k] >= s->lo[k] && p[k] < s->lo[k] + (float)s->dim[k] * s->cell;
        if (in_grid && s->side[cell_index(s, c[0], c[1], c[2])] != CELL_OUTSIDE)
            return query(s, p, INFINITY, tri, q_out, n_out);
    }
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
