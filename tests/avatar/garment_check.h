/* garment_check.h: mesh checks for the garment tests, written independently of
 * avatar/garment.c: closedness and orientation (every edge of the position-welded mesh used
 * by exactly two triangles, once in each direction) and self-intersection (every pair of
 * triangles that share no welded vertex, binned in a uniform grid, tested edge against
 * triangle). Header-only: each test is one executable. */
#ifndef TRYON_TESTS_AVATAR_GARMENT_CHECK_H
#define TRYON_TESTS_AVATAR_GARMENT_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/avatar.h"

static const float *gc_sort_pos;
static int gc_cmp_pos(const void *a, const void *b)
{
    const float *p = gc_sort_pos + (size_t)*(const int32_t *)a * 3, *q = gc_sort_pos + (size_t)*(const int32_t *)b * 3;
    int c = memcmp(p, q, 3 * sizeof(float));
    if (c)
        return c;
    return (*(const int32_t *)a > *(const int32_t *)b) - (*(const int32_t *)a < *(const int32_t *)b);
}

/* weld[i] = the smallest index of a vertex at exactly the same position as i. */
static inline int32_t *gc_weld(const struct avatar_mesh *m)
{
    int32_t *order = malloc((size_t)m->nv * sizeof *order), *weld = malloc((size_t)m->nv * sizeof *weld);
    for (int i = 0; i < m->nv; i++)
        order[i] = i;
    gc_sort_pos = m->pos;
    qsort(order, (size_t)m->nv, sizeof *order, gc_cmp_pos);
    for (int i = 0; i < m->nv;) {
        int j = i;
        while (j < m->nv && memcmp(m->pos + (size_t)order[j] * 3, m->pos + (size_t)order[i] * 3, 12) == 0)
            j++;
        for (int k = i; k < j; k++)
            weld[order[k]] = order[i];
        i = j;
    }
    free(order);
    return weld;
}

static int gc_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Directed edges of the welded mesh that do not appear exactly once, or whose reverse does
   not appear exactly once (0 = closed and consistently oriented); degenerate triangles
   (two welded corners equal) are counted too. */
static inline int gc_open_edges(const struct avatar_mesh *m, const int32_t *weld)
{
    size_t n = (size_t)m->nt * 3;
    uint64_t *e = malloc(n * sizeof *e);
    int bad = 0;
    for (int t = 0; t < m->nt; t++)
        for (int k = 0; k < 3; k++) {
            uint32_t a = (uint32_t)weld[m->tri[t * 3 + k]], b = (uint32_t)weld[m->tri[t * 3 + (k + 1) % 3]];
            bad += a == b;
            e[t * 3 + k] = (uint64_t)a << 32 | b;
        }
    qsort(e, n, sizeof *e, gc_cmp_u64);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && e[i + 1] == e[i]) {
            bad++;
            continue;
        }
        uint64_t r = (e[i] & 0xffffffffu) << 32 | (e[i] >> 32);
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (e[mid] < r)
                lo = mid + 1;
            else
                hi = mid;
        }
        bad += !(lo < n && e[lo] == r);
    }
    free(e);
    return bad;
}

/* Segment p0-p1 against triangle abc (Moller-Trumbore), strictly inside both. */
static inline int gc_seg_tri(const float *p0, const float *p1, const float *a, const float *b, const float *c)
{
    double d[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
    double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    double h[3] = {d[1] * e2[2] - d[2] * e2[1], d[2] * e2[0] - d[0] * e2[2], d[0] * e2[1] - d[1] * e2[0]};
    double det = e1[0] * h[0] + e1[1] * h[1] + e1[2] * h[2];
    if (fabs(det) < 1e-18)
        return 0;
    double s[3] = {p0[0] - a[0], p0[1] - a[1], p0[2] - a[2]};
    double u = (s[0] * h[0] + s[1] * h[1] + s[2] * h[2]) / det;
    if (u <= 0 || u >= 1)
        return 0;
    double q[3] = {s[1] * e1[2] - s[2] * e1[1], s[2] * e1[0] - s[0] * e1[2], s[0] * e1[1] - s[1] * e1[0]};
    double v = (d[0] * q[0] + d[1] * q[1] + d[2] * q[2]) / det;
    if (v <= 0 || u + v >= 1)
        return 0;
    double t = (e2[0] * q[0] + e2[1] * q[1] + e2[2] * q[2]) / det;
    return t > 0 && t < 1;
}

static inline int gc_tri_tri(const struct avatar_mesh *m, int ta, int tb)
{
    const float *A[3], *B[3];
    for (int k = 0; k < 3; k++) {
        A[k] = m->pos + (size_t)m->tri[ta * 3 + k] * 3;
        B[k] = m->pos + (size_t)m->tri[tb * 3 + k] * 3;
    }
    for (int k = 0; k < 3; k++) {
        if (gc_seg_tri(A[k], A[(k + 1) % 3], B[0], B[1], B[2]))
            return 1;
        if (gc_seg_tri(B[k], B[(k + 1) % 3], A[0], A[1], A[2]))
            return 1;
    }
    return 0;
}

/* Number of intersecting pairs of triangles that share no welded vertex. Triangles are
   binned by their bounds into cells of `cell` metres; a pair is tested only in the first
   cell of the overlap of their bounds, so each pair once. */
static inline int gc_self_intersections(const struct avatar_mesh *m, const int32_t *weld, float cell)
{
    float lo[3], hi[3];
    avatar_mesh_bounds(m, lo, hi);
    int dim[3];
    for (int k = 0; k < 3; k++)
        dim[k] = (int)((hi[k] - lo[k]) / cell) + 1;
    size_t ncell = (size_t)dim[0] * dim[1] * dim[2];
    int32_t *start = calloc(ncell + 1, sizeof *start), *items = NULL;
    int32_t(*box)[6] = malloc((size_t)m->nt * sizeof *box);
    for (int t = 0; t < m->nt; t++)
        for (int k = 0; k < 3; k++) {
            float a = INFINITY, b = -INFINITY;
            for (int j = 0; j < 3; j++) {
                float v = m->pos[(size_t)m->tri[t * 3 + j] * 3 + k];
                a = fminf(a, v), b = fmaxf(b, v);
            }
            box[t][k] = (int)((a - lo[k]) / cell), box[t][3 + k] = (int)((b - lo[k]) / cell);
            if (box[t][3 + k] >= dim[k])
                box[t][3 + k] = dim[k] - 1;
        }
    for (int pass = 0; pass < 2; pass++) {
        for (int t = 0; t < m->nt; t++)
            for (int z = box[t][2]; z <= box[t][5]; z++)
                for (int y = box[t][1]; y <= box[t][4]; y++)
                    for (int x = box[t][0]; x <= box[t][3]; x++) {
                        size_t c = ((size_t)z * dim[1] + y) * dim[0] + x;
                        if (pass == 0)
                            start[c + 1]++;
                        else
                            items[start[c]++] = t;
                    }
        if (pass == 0) {
            for (size_t c = 0; c < ncell; c++)
                start[c + 1] += start[c];
            items = malloc((size_t)start[ncell] * sizeof *items);
        } else {
            for (size_t c = ncell; c > 0; c--)
                start[c] = start[c - 1];
            start[0] = 0;
        }
    }
    int hits = 0;
    for (size_t c = 0; c < ncell; c++) {
        int cx = (int)(c % dim[0]), cy = (int)(c / dim[0] % dim[1]), cz = (int)(c / dim[0] / dim[1]);
        for (int32_t i = start[c]; i < start[c + 1]; i++)
            for (int32_t j = i + 1; j < start[c + 1]; j++) {
                int a = items[i], b = items[j];
                /* first cell of the overlap */
                if (cx != (box[a][0] > box[b][0] ? box[a][0] : box[b][0]) ||
                    cy != (box[a][1] > box[b][1] ? box[a][1] : box[b][1]) ||
                    cz != (box[a][2] > box[b][2] ? box[a][2] : box[b][2]))
                    continue;
                int share = 0;
                for (int u = 0; u < 3; u++)
                    for (int v = 0; v < 3; v++)
                        share |= weld[m->tri[a * 3 + u]] == weld[m->tri[b * 3 + v]];
                if (!share)
                    hits += gc_tri_tri(m, a, b);
            }
    }
    free(start), free(items), free(box);
    return hits;
}

#endif
