/* rt_obj_util.h: the MakeHuman base mesh's groups as triangle meshes, for the raytrace
 * benchmarks (header-only, static; used by test_rt_bench and bench/raytrace).
 *
 * load_groups reads two named groups of an OBJ text (quads and n-gons fanned, positions
 * only); prepare scales decimetres to metres, puts the feet of the set on y = 0 and adds
 * area-weighted vertex normals. Arrays are malloc'd; the caller frees pos, nrm and tri.
 */
#ifndef TRYON_RT_OBJ_UTIL_H
#define TRYON_RT_OBJ_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raytrace/raytrace.h"

/* One OBJ group as a compact triangle mesh (quads and n-gons fanned), smooth normals. */
struct obj_group { float *pos, *nrm; int32_t *tri; int nv, nt; };

/* Read the groups named g1 and g2 from an OBJ text (positions shared by index). */
static inline int load_groups(const char *text, const char *names[2], struct obj_group out[2])
{
    int nvall = 0, cap = 1 << 15;
    float *vall = malloc(sizeof(float) * 3 * cap);
    int *map[2] = { NULL, NULL };
    int tcap[2] = { 0, 0 };
    memset(out, 0, 2 * sizeof *out);
    int cur = -1;
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (line[0] == 'v' && line[1] == ' ') {
            if (nvall == cap)
                vall = realloc(vall, sizeof(float) * 3 * (cap *= 2));
            sscanf(line + 2, "%f %f %f", &vall[3 * nvall], &vall[3 * nvall + 1], &vall[3 * nvall + 2]);
            nvall++;
        } else if (line[0] == 'g' && line[1] == ' ') {
            cur = -1;
            for (int g = 0; g < 2; g++) {
                size_t n = strlen(names[g]);
                if (!strncmp(line + 2, names[g], n) && (line[2 + n] == '\n' || line[2 + n] == '\r' || !line[2 + n]))
                    cur = g;
            }
        } else if (line[0] == 'f' && line[1] == ' ' && cur >= 0) {
            struct obj_group *g = &out[cur];
            if (!map[cur]) {
                map[cur] = malloc(sizeof(int) * cap * 4);
                for (int i = 0; i < cap * 4; i++)
                    map[cur][i] = -1;
            }
            int idx[16], n = 0;
            const char *p = line + 2;
            while (n < 16) {
                while (*p == ' ')
                    p++;
                if (*p < '0' || *p > '9')
                    break;
                int v = (int)strtol(p, (char **)&p, 10) - 1;
                while (*p && *p != ' ' && *p != '\n')
                    p++;
                if (map[cur][v] < 0) {
                    map[cur][v] = g->nv;
                    g->pos = realloc(g->pos, sizeof(float) * 3 * (g->nv + 1));
                    memcpy(g->pos + 3 * g->nv, vall + 3 * v, sizeof(float) * 3);
                    g->nv++;
                }
                idx[n++] = map[cur][v];
            }
            for (int k = 1; k + 1 < n; k++) {
                if (g->nt == tcap[cur])
                    g->tri = realloc(g->tri, sizeof(int32_t) * 3 * (tcap[cur] = tcap[cur] ? 2 * tcap[cur] : 1024));
                g->tri[3 * g->nt] = idx[0];
                g->tri[3 * g->nt + 1] = idx[k];
                g->tri[3 * g->nt + 2] = idx[k + 1];
                g->nt++;
            }
        }
    }
    free(vall);
    free(map[0]);
    free(map[1]);
    return out[0].nt > 0 && out[1].nt > 0 ? 0 : -1;
}

/* Decimetres -> metres, feet (of the whole set) on y = 0; area-weighted vertex normals. */
static inline void prepare(struct obj_group *g, int ng, float bmin[3], float bmax[3])
{
    for (int k = 0; k < 3; k++) {
        bmin[k] = INFINITY;
        bmax[k] = -INFINITY;
    }
    for (int j = 0; j < ng; j++)
        for (int i = 0; i < 3 * g[j].nv; i++) {
            g[j].pos[i] *= 0.1f;
            bmin[i % 3] = fminf(bmin[i % 3], g[j].pos[i]);
            bmax[i % 3] = fmaxf(bmax[i % 3], g[j].pos[i]);
        }
    float lift = -bmin[1];
    bmin[1] += lift;
    bmax[1] += lift;
    for (int j = 0; j < ng; j++) {
        for (int i = 0; i < g[j].nv; i++)
            g[j].pos[3 * i + 1] += lift;
        g[j].nrm = calloc((size_t)g[j].nv * 3, sizeof(float));
        for (int t = 0; t < g[j].nt; t++) {
            const int32_t *v = g[j].tri + 3 * t;
            const float *a = g[j].pos + 3 * v[0], *b = g[j].pos + 3 * v[1], *c = g[j].pos + 3 * v[2];
            float e1[3] = { b[0] - a[0], b[1] - a[1], b[2] - a[2] }, e2[3] = { c[0] - a[0], c[1] - a[1], c[2] - a[2] };
            float n[3] = { e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0] };
            for (int k = 0; k < 3; k++)
                for (int q = 0; q < 3; q++)
                    g[j].nrm[3 * v[k] + q] += n[q];
        }
    }
}

#endif
