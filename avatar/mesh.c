/* mesh.c: struct avatar_mesh utilities: free, bounds, area-weighted vertex normals and
 * the OBJ writer (one `o` group per mesh, written atomically, byte-reproducible). */
#include "avatar/internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void avatar_mesh_free(struct avatar_mesh *m)
{
    if (!m)
        return;
    free(m->pos);
    free(m->nrm);
    free(m->uv);
    free(m->tri);
    memset(m, 0, sizeof *m);
}

void avatar_mesh_bounds(const struct avatar_mesh *m, float bmin[3], float bmax[3])
{
    if (m->nv <= 0) {
        for (int k = 0; k < 3; k++)
            bmin[k] = bmax[k] = 0.0f;
        return;
    }
    for (int k = 0; k < 3; k++)
        bmin[k] = bmax[k] = m->pos[k];
    for (int i = 1; i < m->nv; i++)
        for (int k = 0; k < 3; k++) {
            float v = m->pos[(size_t)i * 3 + k];
            bmin[k] = fminf(bmin[k], v);
            bmax[k] = fmaxf(bmax[k], v);
        }
}

enum tryon_status avatar_mesh_normals(struct avatar_mesh *m)
{
    if (!m->nrm) {
        m->nrm = malloc((size_t)m->nv * 3 * sizeof *m->nrm);
        if (!m->nrm)
            return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for normals");
    }
    /* accumulate in double so the result does not depend on rounding luck of the order */
    double *acc = calloc((size_t)m->nv * 3, sizeof *acc);
    if (!acc)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for normals");
    for (int t = 0; t < m->nt; t++) {
        const int32_t *f = m->tri + (size_t)t * 3;
        const float *a = m->pos + (size_t)f[0] * 3, *b = m->pos + (size_t)f[1] * 3, *c = m->pos + (size_t)f[2] * 3;
        double e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
        double e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
        /* cross product = 2 * area * unit normal: area weighting for free */
        double n[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]};
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 3; j++)
                acc[(size_t)f[k] * 3 + j] += n[j];
    }
    for (int i = 0; i < m->nv; i++) {
        double *n = acc + (size_t)i * 3;
        double l = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
        float *o = m->nrm + (size_t)i * 3;
        if (l > 0) {
            o[0] = (float)(n[0] / l);
            o[1] = (float)(n[1] / l);
            o[2] = (float)(n[2] / l);
        } else {
            o[0] = 0.0f, o[1] = 1.0f, o[2] = 0.0f;
        }
    }
    free(acc);
    return TRYON_OK;
}

/* A growing text buffer for the OBJ writer. */
struct tbuf { char *s; size_t n, cap; bool oom; };

static void tb_printf(struct tbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(struct tbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : (size_t)1 << 20;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

enum tryon_status avatar_write_obj(const char *path, const struct avatar_mesh *const *meshes,
                                   const char *const *names, int n)
{
    struct tbuf b = {0};
    tb_printf(&b, "# tryon-farm avatar meshes (metres, y up)\n");
    long vbase = 0, tbase = 0;
    for (int i = 0; i < n; i++) {
        const struct avatar_mesh *m = meshes[i];
        tb_printf(&b, "o %s\n", names[i]);
        for (int v = 0; v < m->nv; v++) {
            const float *p = m->pos + (size_t)v * 3;
            tb_printf(&b, "v %.6f %.6f %.6f\n", p[0], p[1], p[2]);
        }
        for (int v = 0; v < m->nv; v++) {
            const float *p = m->nrm + (size_t)v * 3;
            tb_printf(&b, "vn %.5f %.5f %.5f\n", p[0], p[1], p[2]);
        }
        if (m->uv)
            for (int v = 0; v < m->nv; v++)
                tb_printf(&b, "vt %.6f %.6f\n", m->uv[v * 2], m->uv[v * 2 + 1]);
        for (int t = 0; t < m->nt; t++) {
            const int32_t *f = m->tri + (size_t)t * 3;
            long a = vbase + f[0] + 1, c = vbase + f[1] + 1, d = vbase + f[2] + 1;
            if (m->uv) {
                long ta = tbase + f[0] + 1, tc = tbase + f[1] + 1, td = tbase + f[2] + 1;
                tb_printf(&b, "f %ld/%ld/%ld %ld/%ld/%ld %ld/%ld/%ld\n", a, ta, a, c, tc, c, d, td, d);
            } else {
                tb_printf(&b, "f %ld//%ld %ld//%ld %ld//%ld\n", a, a, c, c, d, d);
            }
        }
        vbase += m->nv;
        if (m->uv)
            tbase += m->nv;
    }
    if (b.oom) {
        free(b.s);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory writing the OBJ", path);
    }
    enum tryon_status s = fs_write_atomic(path, b.s, b.n);
    free(b.s);
    return s;
}
