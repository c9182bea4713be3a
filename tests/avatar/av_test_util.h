/* av_test_util.h: helpers shared by the avatar tests: an inside/outside test against a
 * closed triangle mesh by ray parity, written independently of avatar/surface.c so the
 * garment fit is checked by other means than the ones that produced it, plus small
 * geometry helpers. Header-only: each test is one executable. */
#ifndef TRYON_TESTS_AVATAR_UTIL_H
#define TRYON_TESTS_AVATAR_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "avatar/avatar.h"

/* Triangles binned by their xy bounds into a 2D grid, for rays along +z. */
struct parity_grid {
    const struct avatar_mesh *m;
    float lo[2], cell;
    int nx, ny;
    int32_t *start, *items;   /* CSR: cell -> triangle ids */
};

static inline void parity_grid_init(struct parity_grid *g, const struct avatar_mesh *m, float cell)
{
    float bmin[3], bmax[3];
    avatar_mesh_bounds(m, bmin, bmax);
    g->m = m;
    g->cell = cell;
    g->lo[0] = bmin[0] - cell, g->lo[1] = bmin[1] - cell;
    g->nx = (int)((bmax[0] - bmin[0]) / cell) + 3;
    g->ny = (int)((bmax[1] - bmin[1]) / cell) + 3;
    g->start = calloc((size_t)g->nx * g->ny + 1, sizeof *g->start);
    g->items = NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < m->nt; t++) {
            float x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
            for (int k = 0; k < 3; k++) {
                const float *p = m->pos + (size_t)m->tri[t * 3 + k] * 3;
                x0 = fminf(x0, p[0]), x1 = fmaxf(x1, p[0]), y0 = fminf(y0, p[1]), y1 = fmaxf(y1, p[1]);
            }
            int i0 = (int)((x0 - g->lo[0]) / cell), i1 = (int)((x1 - g->lo[0]) / cell);
            int j0 = (int)((y0 - g->lo[1]) / cell), j1 = (int)((y1 - g->lo[1]) / cell);
            for (int j = j0; j <= j1; j++)
                for (int i = i0; i <= i1; i++) {
                    int c = j * g->nx + i;
                    if (pass == 0)
                        g->start[c + 1]++;
                    else
                        g->items[g->start[c]++] = t;
                }
        }
        if (pass == 0) {
            for (int c = 0; c < g->nx * g->ny; c++)
                g->start[c + 1] += g->start[c];
            g->items = malloc((size_t)g->start[g->nx * g->ny] * sizeof *g->items);
        } else {
            for (int c = g->nx * g->ny; c > 0; c--)
                g->start[c] = g->start[c - 1];
            g->start[0] = 0;
        }
    }
}

static inline void parity_grid_free(struct parity_grid *g)
{
    free(g->start);
    free(g->items);
}

/* Side of p against the directed edge u->v in xy, with the edge taken in a canonical
   direction (smaller vertex id first) so two triangles sharing an edge see exactly opposite
   values; an exact zero counts as "left of the canonical edge" (a symbolic perturbation),
   so a ray through an edge crosses exactly one of its two triangles. */
static inline int edge_side(const struct avatar_mesh *m, int32_t u, int32_t v, double px, double py)
{
    int flip = 1;
    if (u > v) {
        int32_t t = u;
        u = v, v = t, flip = -1;
    }
    const float *a = m->pos + (size_t)u * 3, *b = m->pos + (size_t)v * 3;
    double e = ((double)b[0] - a[0]) * (py - a[1]) - ((double)b[1] - a[1]) * (px - a[0]);
    return (e >= 0 ? 1 : -1) * flip;
}

/* True when p is inside the closed mesh: odd number of crossings of the ray p + t (0,0,1). */
static inline int parity_inside(const struct parity_grid *g, const float p[3])
{
    int i = (int)((p[0] - g->lo[0]) / g->cell), j = (int)((p[1] - g->lo[1]) / g->cell);
    if (i < 0 || j < 0 || i >= g->nx || j >= g->ny)
        return 0;
    const struct avatar_mesh *m = g->m;
    int crossings = 0;
    int c = j * g->nx + i;
    for (int32_t k = g->start[c]; k < g->start[c + 1]; k++) {
        const int32_t *f = m->tri + (size_t)g->items[k] * 3;
        int s0 = edge_side(m, f[0], f[1], p[0], p[1]);
        int s1 = edge_side(m, f[1], f[2], p[0], p[1]);
        int s2 = edge_side(m, f[2], f[0], p[0], p[1]);
        if (!(s0 == s1 && s1 == s2))
            continue;
        /* z of the triangle's plane at (px, py) */
        const float *a = m->pos + (size_t)f[0] * 3, *b = m->pos + (size_t)f[1] * 3, *cc = m->pos + (size_t)f[2] * 3;
        double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {cc[0] - a[0], cc[1] - a[1], cc[2] - a[2]};
        double n[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]};
        if (n[2] == 0)
            continue;
        double z = a[2] - (n[0] * (p[0] - a[0]) + n[1] * (p[1] - a[1])) / n[2];
        crossings += z > p[2];
    }
    return crossings & 1;
}

static inline float dist3(const float *a, const float *b)
{
    float d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return sqrtf(d0 * d0 + d1 * d1 + d2 * d2);
}

/* Smallest distance from p to a vertex of m. */
static inline float nearest_vertex_dist(const struct avatar_mesh *m, const float p[3])
{
    float best = INFINITY;
    for (int i = 0; i < m->nv; i++)
        best = fminf(best, dist3(p, m->pos + (size_t)i * 3));
    return best;
}

/* The front-most (max z) vertex of m with |x - x0| < dx and |y - y0| < dy (NULL if none). */
static inline const float *front_vertex(const struct avatar_mesh *m, float x0, float dx, float y0, float dy)
{
    const float *best = NULL;
    for (int i = 0; i < m->nv; i++) {
        const float *p = m->pos + (size_t)i * 3;
        if (fabsf(p[0] - x0) < dx && fabsf(p[1] - y0) < dy && (!best || p[2] > best[2]))
            best = p;
    }
    return best;
}

#endif
