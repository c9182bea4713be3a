/* drape.c: cloth draping by extended position-based dynamics (XPBD) on any triangle
 * surface against obstacles (the body, an inner garment, the floor).
 *
 * Model (per unit mass, metres and seconds):
 *   - stretch and shear: a distance constraint on every edge (the three edges of a triangle
 *     fix its in-plane shape), rest lengths from the rest shape, optionally scaled
 *     anisotropically per vertex (horizontal girth factor, vertical length factor) so a
 *     garment of another size than the body drapes stretched or with ease;
 *   - bending: a signed dihedral-angle constraint on every interior edge, rest angles from
 *     the rest shape;
 *   - gravity, velocity damping; attachments (a waistband) pull chosen vertices toward
 *     their start positions;
 *   - contact: each vertex keeps the tangent plane of its nearest obstacle point (refreshed
 *     once per step for vertices that moved or came near; looked up within QUERY_FAR_M, a
 *     vertex farther from everything keeping only that bound) and is kept `thickness` outside
 *     it (moved out at most CONTACT_PUSH_SPEED times the substep per substep), with Coulomb
 *     friction on its tangential motion; an inner garment counts only for
 *     vertices less than its `reach` behind it, so a vertex never snaps through a layer;
 *   - self-collision (optional): vertices closer than self_radius whose rest positions are
 *     farther apart than 1.5 self_radius are pushed apart, once per step, in a Jacobi pass
 *     gathered per vertex in a fixed order.
 * Integration: per step of dt, `substeps` substeps of one XPBD iteration each (Macklin et
 * al. 2019), constraints in colour order (greedy colouring: one colour shares no vertex),
 * so the threaded CPU and the CUDA backends give the reference result bit for bit. The
 * per-constraint math is kernels/kfn_cloth.h behind the kern_cloth_* ops; the loops of this
 * file (contact queries, self-collision) run on the kernels context's threads. (More
 * substeps of one stretch sweep, e.g. 24 for these 16 of two, stretch the cloth less per
 * sweep, but on heavy bodies a top's free-hanging part then keeps quivering at about
 * 1 cm/s and never settles; bending every 2nd substep crumples the cloth.)
 *
 * Settling, checked after every step from min_steps on over the window of the last
 * SETTLE_WINDOW steps: the mean net speed of the vertices over the window (displacement /
 * window time: vertices caught between two contacts jitter in place and cancel, a drift does
 * not) under settle_speed, and the RMS stretch residual (C + at lambda) over the mean rest
 * length, counted on the edges whose ends touch no obstacle, under settle_residual or held
 * still by the body (changed by less than RESIDUAL_STILL of itself over the window: a
 * garment smaller than its wearer stays in tension). After max_steps without that:
 * TRYON_ENOTSETTLED.
 */
#include "avatar/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"

#define REQUERY_MOVE_M 0.002f   /* a vertex that moved this far since its last query asks again */
#define CONTACT_RANGE_M 0.01f   /* planes farther than thickness + this are inactive */
#define CONTACT_PUSH_SPEED 0.96f   /* m/s a contact moves a vertex out at most (1 mm per substep of 1/960 s) */
#define QUERY_FAR_M 0.016f         /* an obstacle query looks this far (> thickness + CONTACT_RANGE_M) */
#define MAX_COLOURS 256
#define SETTLE_WINDOW 10        /* steps a settle check looks back over */
#define RESIDUAL_STILL 0.02f    /* a residual that moved less than this fraction in a window is held */

void av_cloth_params_default(struct av_cloth_params *p)
{
    memset(p, 0, sizeof *p);
    p->thickness = 0.003f;
    p->dt = 1.0f / 60.0f;
    p->substeps = 16;
    p->stretch_iterations = 2;
    p->stretch_compliance = 1e-7f;
    p->bend_compliance = 1.0f;
    p->attach_compliance = 1e-6f;
    p->damping = 10.0f;
    p->mu_s = 0.5f;
    p->mu_k = 0.3f;
    p->gravity = 9.81f;
    p->min_steps = 20;
    p->max_steps = 300;
    p->settle_speed = 0.004f;
    p->settle_residual = 0.02f;
    p->self_radius = 0.0f;
    p->floor = true;
    p->threads = 0;
}

static enum tryon_status oom(void) { return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the drape"); }

static uint64_t ekey(int32_t a, int32_t b)
{
    return a < b ? ((uint64_t)(uint32_t)a << 32) | (uint32_t)b : ((uint64_t)(uint32_t)b << 32) | (uint32_t)a;
}

struct half { uint64_t key; int32_t tri, k; };   /* edge k of triangle tri */
static int cmp_half(const void *pa, const void *pb)
{
    const struct half *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->tri > b->tri) - (a->tri < b->tri);
}

/* Greedy colouring of n constraints of `arity` vertices each (ids: (n, arity)); writes
   order (n) = constraint indices sorted by colour and start (ncol + 1). Returns the number
   of colours, or -1 when more than MAX_COLOURS are needed or memory fails. */
static int colour(const int32_t *ids, int n, int arity, int nv, int32_t *order, int32_t *start)
{
    uint64_t *used = calloc((size_t)nv * (MAX_COLOURS / 64), sizeof *used);
    uint8_t *col = malloc((size_t)n + 1);
    if (!used || !col) {
        free(used), free(col);
        return -1;
    }
    int ncol = 0;
    for (int c = 0; c < n; c++) {
        const int32_t *v = ids + (size_t)c * arity;
        int pick = -1;
        for (int word = 0; word < MAX_COLOURS / 64 && pick < 0; word++) {
            uint64_t m = 0;
            for (int j = 0; j < arity; j++)
                m |= used[(size_t)v[j] * (MAX_COLOURS / 64) + word];
            if (~m)
                pick = word * 64 + __builtin_ctzll(~m);
        }
        if (pick < 0) {
            free(used), free(col);
            return -1;
        }
        col[c] = (uint8_t)pick;
        for (int j = 0; j < arity; j++)
            used[(size_t)v[j] * (MAX_COLOURS / 64) + pick / 64] |= 1ull << (pick % 64);
        if (pick + 1 > ncol)
            ncol = pick + 1;
    }
    memset(start, 0, (size_t)(ncol + 1) * sizeof *start);
    for (int c = 0; c < n; c++)
        start[col[c] + 1]++;
    for (int k = 0; k < ncol; k++)
        start[k + 1] += start[k];
    int32_t *fill = malloc((size_t)(ncol + 1) * sizeof *fill);
    if (!fill) {
        free(used), free(col);
        return -1;
    }
    memcpy(fill, start, (size_t)(ncol + 1) * sizeof *fill);
    for (int c = 0; c < n; c++)
        order[fill[col[c]]++] = c;
    free(fill), free(used), free(col);
    return ncol;
}

/* The cloth's topology on the host: edges and hinges sorted by colour. */
struct topo {
    int ne, nb, necol, nbcol;
    int32_t *edge, *bend;          /* (ne,2), (nb,4) */
    int32_t ecol[MAX_COLOURS + 1], bcol[MAX_COLOURS + 1];
};

static void topo_free(struct topo *t) { free(t->edge), free(t->bend); }

static enum tryon_status topo_build(int nv, int nt, const int32_t *tri, struct topo *t)
{
    memset(t, 0, sizeof *t);
    size_t nh = (size_t)nt * 3;
    struct half *h = malloc(nh * sizeof *h);
    int32_t *e = malloc(nh * 2 * sizeof *e), *b = malloc(nh * 4 * sizeof *b), *ord = malloc(nh * sizeof *ord);
    if (!h || !e || !b || !ord) {
        free(h), free(e), free(b), free(ord);
        return oom();
    }
    for (int f = 0; f < nt; f++)
        for (int k = 0; k < 3; k++)
            h[f * 3 + k] = (struct half){ekey(tri[f * 3 + k], tri[f * 3 + (k + 1) % 3]), f, k};
    qsort(h, nh, sizeof *h, cmp_half);
    int ne = 0, nb = 0;
    for (size_t i = 0; i < nh;) {
        size_t j = i;
        while (j < nh && h[j].key == h[i].key)
            j++;
        e[ne * 2] = (int32_t)(h[i].key >> 32), e[ne * 2 + 1] = (int32_t)(h[i].key & 0xffffffffu);
        ne++;
        if (j - i == 2) {   /* a hinge: x3 -> x4 as the first triangle has it, x1 its opposite corner */
            const int32_t *t1 = tri + (size_t)h[i].tri * 3, *t2 = tri + (size_t)h[i + 1].tri * 3;
            int k1 = h[i].k, k2 = h[i + 1].k;
            int32_t x3 = t1[k1], x4 = t1[(k1 + 1) % 3], x1 = t1[(k1 + 2) % 3], x2 = t2[(k2 + 2) % 3];
            if (t2[k2] == x4 && x1 != x2) {   /* consistently oriented neighbours only */
                b[nb * 4] = x1, b[nb * 4 + 1] = x2, b[nb * 4 + 2] = x3, b[nb * 4 + 3] = x4;
                nb++;
            }
        }
        i = j;
    }
    free(h);
    enum tryon_status st = TRYON_OK;
    t->edge = malloc((size_t)(ne ? ne : 1) * 2 * sizeof *t->edge);
    t->bend = malloc((size_t)(nb ? nb : 1) * 4 * sizeof *t->bend);
    if (!t->edge || !t->bend) {
        st = oom();
    } else {
        t->ne = ne, t->nb = nb;
        t->necol = colour(e, ne, 2, nv, ord, t->ecol);
        if (t->necol >= 0)
            for (int i = 0; i < ne; i++)
                memcpy(t->edge + i * 2, e + (size_t)ord[i] * 2, 2 * sizeof *e);
        t->nbcol = t->necol >= 0 ? colour(b, nb, 4, nv, ord, t->bcol) : -1;
        if (t->nbcol >= 0)
            for (int i = 0; i < nb; i++)
                memcpy(t->bend + i * 4, b + (size_t)ord[i] * 4, 4 * sizeof *b);
        if (t->necol < 0 || t->nbcol < 0)
            st = tryon_fail(TRYON_EINVAL, "avatar: the cloth mesh needs more than %d constraint colours", MAX_COLOURS);
    }
    free(e), free(b), free(ord);
    if (st)
        topo_free(t);
    return st;
}

float av_cloth_rest_length(const struct av_cloth_mesh *cm, int a, int b)
{
    float s2 = 0;
    for (int k = 0; k < 3; k++) {
        float d = cm->rest[(size_t)a * 3 + k] - cm->rest[(size_t)b * 3 + k];
        if (cm->rest_scale) {   /* horizontal (x, z) and vertical factors, mean of the two ends */
            int c = k == 1 ? 1 : 0;
            d *= 0.5f * (cm->rest_scale[(size_t)a * 2 + c] + cm->rest_scale[(size_t)b * 2 + c]);
        }
        s2 += d * d;
    }
    return sqrtf(s2);
}

/* Nearest obstacle point of p within `far` metres as a plane (q, n, active flag: within
   range) and its signed distance; when no obstacle nor the floor is that near, an inactive
   plane and *dist = far (a lower bound). hint (nobs): each obstacle's nearest triangle at
   the vertex's last query (-1: none), updated. */
static void nearest_plane(const struct av_obstacle *obs, int nobs, bool floor, const float p[3], float range,
                          float far, int32_t *hint, float plane[7], float *dist)
{
    float best = far;
    for (int o = 0; o < nobs; o++) {
        float q[3], n[3];
        float d = av_surface_query_within(obs[o].surf, p, far, hint + o, q, n);
        if (d < -obs[o].reach || d >= best)
            continue;
        best = d;
        plane[0] = q[0], plane[1] = q[1], plane[2] = q[2];
        plane[3] = n[0], plane[4] = n[1], plane[5] = n[2];
    }
    if (floor && p[1] < best) {
        best = p[1];
        plane[0] = p[0], plane[1] = 0.0f, plane[2] = p[2];
        plane[3] = 0.0f, plane[4] = 1.0f, plane[5] = 0.0f;
    }
    *dist = best;
    plane[6] = best < range ? 1.0f : 0.0f;
}

/* Self-collision: a spatial hash of cell self_radius over the vertices (bucket of a cell =
   a hash of its integer coordinates; buckets filled by a counting sort in ascending vertex
   order), each vertex gathers pushes from the vertices of the 27 cells around it, cell by
   cell in a fixed order and in ascending index within a cell (a bucket's other cells are
   skipped), so the sum does not depend on the thread count. */
struct self_grid {
    uint32_t mask;      /* buckets - 1: a power of two, at least 2 nv buckets */
    int32_t *cell;      /* (nv,3) integer cell coordinates of each vertex */
    int32_t *start;     /* (mask+2) CSR offsets into items */
    int32_t *items;     /* (nv) vertex ids, grouped by bucket, ascending within one */
    float *dx;          /* (nv,3) the pushes gathered */
};

static uint32_t cell_hash(const int32_t c[3], uint32_t mask)
{
    return (((uint32_t)c[0] * 73856093u) ^ ((uint32_t)c[1] * 19349663u) ^ ((uint32_t)c[2] * 83492791u)) & mask;
}

static void self_collide(int nv, float *x, const float *rest, float r, struct self_grid *sg, int threads)
{
    memset(sg->start, 0, ((size_t)sg->mask + 2) * sizeof *sg->start);
    for (int i = 0; i < nv; i++) {
        int32_t *c = sg->cell + (size_t)i * 3;
        for (int k = 0; k < 3; k++)
            c[k] = (int32_t)floorf(x[(size_t)i * 3 + k] / r);
        sg->start[cell_hash(c, sg->mask) + 1]++;
    }
    for (uint32_t b = 0; b <= sg->mask; b++)
        sg->start[b + 1] += sg->start[b];
    for (int i = 0; i < nv; i++)   /* start[b] runs to the end of bucket b; shifted back below */
        sg->items[sg->start[cell_hash(sg->cell + (size_t)i * 3, sg->mask)]++] = i;
    for (uint32_t b = sg->mask + 1; b > 0; b--)
        sg->start[b] = sg->start[b - 1];
    sg->start[0] = 0;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int i = 0; i < nv; i++) {
        const float *p = x + (size_t)i * 3;
        const int32_t *ci = sg->cell + (size_t)i * 3;
        float acc[3] = {0, 0, 0};
        for (int dz = -1; dz <= 1; dz++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dxi = -1; dxi <= 1; dxi++) {
                    int32_t cn[3] = {ci[0] + dxi, ci[1] + dy, ci[2] + dz};
                    uint32_t b = cell_hash(cn, sg->mask);
                    for (int32_t s = sg->start[b]; s < sg->start[b + 1]; s++) {
                        int j = sg->items[s];
                        const int32_t *cj = sg->cell + (size_t)j * 3;
                        if (j == i || cj[0] != cn[0] || cj[1] != cn[1] || cj[2] != cn[2])
                            continue;
                        const float *q = x + (size_t)j * 3;
                        float d[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
                        float l2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                        if (l2 >= r * r || l2 <= 1e-20f)
                            continue;
                        const float *ri = rest + (size_t)i * 3, *rj = rest + (size_t)j * 3;
                        float e[3] = {ri[0] - rj[0], ri[1] - rj[1], ri[2] - rj[2]};
                        if (e[0] * e[0] + e[1] * e[1] + e[2] * e[2] < 2.25f * r * r)
                            continue;
                        float l = sqrtf(l2), f = 0.5f * (r - l) / l;
                        for (int c = 0; c < 3; c++)
                            acc[c] += f * d[c];
                    }
                }
        float *o = sg->dx + (size_t)i * 3;
        o[0] = acc[0], o[1] = acc[1], o[2] = acc[2];
    }
    for (size_t k = 0; k < (size_t)nv * 3; k++)
        x[k] += sg->dx[k];
}

/* Vertex i lies on its contact plane (within half a millimetre of the thickness). */
static bool touching(const float *plane, const float *x, int i, float thickness)
{
    const float *p = plane + (size_t)i * 7, *q = x + (size_t)i * 3;
    if (p[6] == 0.0f)
        return false;
    float d = (q[0] - p[0]) * p[3] + (q[1] - p[1]) * p[4] + (q[2] - p[2]) * p[5];
    return d < thickness + 0.0005f;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum tryon_status av_cloth_drape(struct kern_ctx *kctx, const struct av_cloth_params *prm,
                                 const struct av_cloth_mesh *cm, const struct av_obstacle *obs, int nobs,
                                 float *x, struct av_cloth_stats *stats)
{
    double t0 = now_s();
    memset(stats, 0, sizeof *stats);
    const int nv = cm->nv;
    struct topo tp;
    enum tryon_status st = topo_build(nv, cm->nt, cm->tri, &tp);
    if (st)
        return st;
    struct kern_ctx *own = NULL;
    if (!kctx) {
        own = kctx = kern_create(KERN_BACKEND_CPU, prm->threads);
        if (!kctx) {
            topo_free(&tp);
            return tryon_failctx(TRYON_EUNSUPPORTED, "avatar: drape");
        }
    }
    const int threads = kern_ctx_threads(kctx);   /* the host loops' share: the context's threads */
    /* host arrays */
    float *h_rest = malloc((size_t)(tp.ne ? tp.ne : 1) * sizeof *h_rest);
    float *h_w = malloc((size_t)nv * sizeof *h_w), *h_plane = calloc((size_t)nv * 7, sizeof *h_plane);
    float *xwin = malloc((size_t)SETTLE_WINDOW * nv * 3 * sizeof *xwin);   /* (SETTLE_WINDOW,nv,3) positions of the last steps */
    float *h_lam = malloc((size_t)(tp.ne ? tp.ne : 1) * sizeof *h_lam);
    float *qpos = malloc((size_t)nv * 3 * sizeof *qpos), *qdist = malloc((size_t)nv * sizeof *qdist);
    int32_t *hint = malloc((size_t)nv * (nobs > 0 ? nobs : 1) * sizeof *hint);   /* (nv,nobs) last nearest triangles */
    int na = 0;
    for (int i = 0; i < nv; i++)
        na += cm->attach && cm->attach[i];
    int32_t *h_att = malloc((size_t)(na ? na : 1) * sizeof *h_att);
    float *h_attpos = malloc((size_t)(na ? na : 1) * 3 * sizeof *h_attpos);
    struct self_grid sg = {.mask = 1};
    while (sg.mask < 2u * (uint32_t)nv)
        sg.mask *= 2;
    sg.mask--;
    if (prm->self_radius > 0) {
        sg.cell = malloc((size_t)nv * 3 * sizeof *sg.cell), sg.items = malloc((size_t)nv * sizeof *sg.items);
        sg.start = malloc(((size_t)sg.mask + 2) * sizeof *sg.start), sg.dx = malloc((size_t)nv * 3 * sizeof *sg.dx);
    }
    if (!h_rest || !h_w || !h_plane || !xwin || !h_lam || !qpos || !qdist || !hint || !h_att || !h_attpos ||
        (prm->self_radius > 0 && (!sg.cell || !sg.items || !sg.start || !sg.dx))) {
        st = oom();
        goto done_host;
    }
    for (int e = 0; e < tp.ne; e++)
        h_rest[e] = av_cloth_rest_length(cm, tp.edge[e * 2], tp.edge[e * 2 + 1]);
    double mean_rest = 0;
    for (int e = 0; e < tp.ne; e++)
        mean_rest += h_rest[e] / tp.ne;
    if (mean_rest <= 0)
        mean_rest = 1;
    na = 0;
    for (int i = 0; i < nv; i++) {
        h_w[i] = cm->pinned && cm->pinned[i] ? 0.0f : 1.0f;
        if (cm->attach && cm->attach[i]) {
            h_att[na] = i;
            memcpy(h_attpos + (size_t)na * 3, x + (size_t)i * 3, 3 * sizeof *x);
            na++;
        }
        qdist[i] = -INFINITY;   /* never queried */
        for (int o = 0; o < nobs; o++)
            hint[(size_t)i * nobs + o] = -1;
    }

    /* device arrays (host memory on the CPU backends) */
    struct kern_cloth c = {.nv = nv, .na = na};
    size_t nv3 = (size_t)nv * 3;
    c.x = kern_alloc(kctx, nv3), c.xprev = kern_alloc(kctx, nv3), c.v = kern_alloc(kctx, nv3);
    c.w = kern_alloc(kctx, (size_t)nv), c.plane = kern_alloc(kctx, (size_t)nv * 7);
    int32_t *d_edge = kern_alloc_i32(kctx, (size_t)tp.ne * 2 + 1), *d_bend = kern_alloc_i32(kctx, (size_t)tp.nb * 4 + 1);
    int32_t *d_att = kern_alloc_i32(kctx, (size_t)na + 1);
    float *d_rest = kern_alloc(kctx, (size_t)tp.ne + 1), *d_brest = kern_alloc(kctx, (size_t)tp.nb + 1);
    float *d_attpos = kern_alloc(kctx, (size_t)na * 3 + 1);
    c.edge_lambda = kern_alloc(kctx, (size_t)tp.ne + 1), c.bend_lambda = kern_alloc(kctx, (size_t)tp.nb + 1);
    kern_upload(kctx, c.x, x, nv3);
    kern_upload(kctx, c.w, h_w, (size_t)nv);
    kern_upload_i32(kctx, d_edge, tp.edge, (size_t)tp.ne * 2);
    kern_upload_i32(kctx, d_bend, tp.bend, (size_t)tp.nb * 4);
    kern_upload_i32(kctx, d_att, h_att, (size_t)na);
    kern_upload(kctx, d_rest, h_rest, (size_t)tp.ne);
    float *d_xrest = kern_alloc(kctx, nv3);   /* (nv,3) the rest shape, for the hinges' rest angles */
    kern_upload(kctx, d_xrest, cm->rest, nv3);
    kern_cloth_bend_rest(kctx, tp.nb, d_bend, d_xrest, d_brest);
    kern_release(kctx, d_xrest);
    kern_upload(kctx, d_attpos, h_attpos, (size_t)na * 3);
    c.edge = d_edge, c.edge_rest = d_rest, c.bend = d_bend, c.bend_rest = d_brest, c.att = d_att, c.att_pos = d_attpos;

    const float h = prm->dt / (float)prm->substeps;
    const float at_s = prm->stretch_compliance / (h * h), at_b = prm->bend_compliance / (h * h);
    const float at_a = prm->attach_compliance / (h * h);
    const float g[3] = {0.0f, -prm->gravity, 0.0f};
    const float range = prm->thickness + CONTACT_RANGE_M;
    bool settled = false;
    float res_hist[SETTLE_WINDOW];   /* the residual after the last steps, as xwin */
    for (int k = 0; k < SETTLE_WINDOW; k++)
        res_hist[k] = INFINITY;
    memcpy(xwin, x, (size_t)nv * 3 * sizeof *x);
    int step;
    for (step = 0; step < prm->max_steps && !settled; step++) {
        /* contact planes for the vertices that moved or came near */
        #pragma omp parallel for num_threads(threads) schedule(dynamic, 256)
        for (int i = 0; i < nv; i++) {
            const float *p = x + (size_t)i * 3, *q = qpos + (size_t)i * 3;
            float mv[3] = {p[0] - q[0], p[1] - q[1], p[2] - q[2]};
            float moved = sqrtf(mv[0] * mv[0] + mv[1] * mv[1] + mv[2] * mv[2]);
            bool fresh = qdist[i] != -INFINITY;
            if (fresh && moved < REQUERY_MOVE_M)
                continue;   /* the plane still holds */
            if (fresh && qdist[i] - moved > range + REQUERY_MOVE_M) {
                h_plane[(size_t)i * 7 + 6] = 0.0f;   /* far from everything, certainly */
                continue;
            }
            float d;
            nearest_plane(obs, nobs, prm->floor, p, range, QUERY_FAR_M, hint + (size_t)i * nobs, h_plane + (size_t)i * 7, &d);
            qdist[i] = d;
            memcpy(qpos + (size_t)i * 3, p, 3 * sizeof *p);
        }
        kern_upload(kctx, c.plane, h_plane, (size_t)nv * 7);
        for (int sub = 0; sub < prm->substeps; sub++) {
            kern_cloth_predict(kctx, &c, g, h);
            kern_zero(kctx, c.edge_lambda, (size_t)tp.ne);
            for (int it = 0; it < prm->stretch_iterations; it++)
                for (int k = 0; k < tp.necol; k++)
                    kern_cloth_stretch(kctx, &c, tp.ecol[k], tp.ecol[k + 1] - tp.ecol[k], at_s);
            kern_zero(kctx, c.bend_lambda, (size_t)tp.nb);
            for (int k = 0; k < tp.nbcol; k++)
                kern_cloth_bend(kctx, &c, tp.bcol[k], tp.bcol[k + 1] - tp.bcol[k], at_b);
            kern_cloth_attach(kctx, &c, at_a);
            kern_cloth_contact(kctx, &c, prm->thickness, prm->mu_s, prm->mu_k, CONTACT_PUSH_SPEED * h,
                               prm->gravity * h * h);
            kern_cloth_velocity(kctx, &c, h, prm->damping);
        }
        kern_download(kctx, x, c.x, nv3);
        if (prm->self_radius > 0) {
            self_collide(nv, x, cm->rest, prm->self_radius, &sg, threads);
            kern_upload(kctx, c.x, x, nv3);
        }
        /* settle, after every step once a window has passed: the mean net speed over the last
           SETTLE_WINDOW steps (the jitter of vertices caught between contacts cancels, a drift
           does not) and the stretch residual of the last substep against the window's start */
        int t = step + 1;   /* steps done; xwin slot t % SETTLE_WINDOW holds the positions after step t - SETTLE_WINDOW */
        float *xw = xwin + (size_t)(t % SETTLE_WINDOW) * nv3;
        if (t < SETTLE_WINDOW) {
            memcpy(xw, x, nv3 * sizeof *x);
            continue;
        }
        kern_download(kctx, h_lam, c.edge_lambda, (size_t)tp.ne);
        double sp = 0, res = 0;
        for (int i = 0; i < nv; i++) {
            const float *a = x + (size_t)i * 3, *b = xw + (size_t)i * 3;
            double s = sqrt((double)(a[0] - b[0]) * (a[0] - b[0]) + (double)(a[1] - b[1]) * (a[1] - b[1]) +
                            (double)(a[2] - b[2]) * (a[2] - b[2])) / (SETTLE_WINDOW * prm->dt);
            sp += s;
        }
        memcpy(xw, x, nv3 * sizeof *x);
        int nfree = 0;
        for (int e = 0; e < tp.ne; e++) {
            if (touching(h_plane, x, tp.edge[e * 2], prm->thickness) ||
                touching(h_plane, x, tp.edge[e * 2 + 1], prm->thickness))
                continue;   /* held by a contact: its tension balances the push, not a residual */
            nfree++;
            const float *a = x + (size_t)tp.edge[e * 2] * 3, *b = x + (size_t)tp.edge[e * 2 + 1] * 3;
            double l = sqrt((double)(a[0] - b[0]) * (a[0] - b[0]) + (double)(a[1] - b[1]) * (a[1] - b[1]) +
                            (double)(a[2] - b[2]) * (a[2] - b[2]));
            double r = l - h_rest[e] + at_s * h_lam[e];
            res += r * r;
        }
        res /= mean_rest * mean_rest;
        stats->mean_speed = nv ? (float)(sp / nv) : 0.0f;
        stats->residual = nfree ? (float)sqrt(res / nfree) : 0.0f;
        float res_change = fabsf(stats->residual - res_hist[t % SETTLE_WINDOW]);
        res_hist[t % SETTLE_WINDOW] = stats->residual;
        settled = t >= prm->min_steps && stats->mean_speed < prm->settle_speed &&
                  (stats->residual < prm->settle_residual || res_change < RESIDUAL_STILL * stats->residual);
    }
    stats->steps = step;
    stats->settled = settled;
    if (!settled)
        st = tryon_fail(TRYON_ENOTSETTLED,
                        "avatar: the drape did not settle in %d steps (mean speed %.1f mm/s, stretch residual %.2g)",
                        step, 1e3 * stats->mean_speed, stats->residual);
    kern_release(kctx, c.x), kern_release(kctx, c.xprev), kern_release(kctx, c.v), kern_release(kctx, c.w);
    kern_release(kctx, c.plane), kern_release(kctx, d_edge), kern_release(kctx, d_bend), kern_release(kctx, d_att);
    kern_release(kctx, d_rest), kern_release(kctx, d_brest), kern_release(kctx, d_attpos);
    kern_release(kctx, c.edge_lambda), kern_release(kctx, c.bend_lambda);
done_host:
    free(h_rest), free(h_w), free(h_plane), free(xwin), free(h_lam), free(qpos), free(qdist), free(hint);
    free(h_att), free(h_attpos), free(sg.cell), free(sg.items), free(sg.start), free(sg.dx);
    if (own)
        kern_destroy(own);
    topo_free(&tp);
    stats->seconds = now_s() - t0;
    return st;
}
