/* model.c: loading the MakeHuman data into a struct avatar_model.
 *
 * Reads 3dobjs/base.obj (the hm08 base mesh: skin group `body`, helper surfaces and joint
 * cubes, all in one vertex array), the macro targets of targets/macrodetails (universal,
 * race, height and proportions files: gzipped lines `index dx dy dz`, decimetres with
 * three decimals), the default rig's bones (rigs/standard/rig.default.json: parent, head
 * and tail as joint cubes or vertices) and its skinning weights (weights.default.json) as
 * per-vertex lists and summed into arm and leg region weights. Targets are stored sparse
 * and exact (int16 thousandths of a decimetre, 8 bytes an entry) and loaded in parallel;
 * the result does not depend on the thread count.
 */
#include "avatar/internal.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *const av_joint_names[AV_NJOINTS] = {
    "l-shoulder", "r-shoulder", "l-elbow", "r-elbow", "l-hand", "r-hand",
    "l-upper-leg", "r-upper-leg", "l-knee", "r-knee", "l-ankle", "r-ankle",
    "pelvis", "spine-4", "spine-3", "spine-2", "spine-1", "neck",
    "l-clavicle", "r-clavicle",
};

static const char *const gender_names[2] = {"female", "male"};
static const char *const age_names[AV_NAGES] = {"baby", "child", "young", "old"};
static const char *const muscle_names[3] = {"minmuscle", "averagemuscle", "maxmuscle"};
static const char *const weight_names[3] = {"minweight", "averageweight", "maxweight"};
static const char *const race_names[AV_NRACES] = {"african", "asian", "caucasian"};
static const char *const height_names[2] = {"minheight", "maxheight"};
static const char *const prop_names[2] = {"uncommonproportions", "idealproportions"};

#define MAX_OBJ_BYTES ((size_t)64 << 20)
#define MAX_TARGET_BYTES ((size_t)16 << 20)

/* ---- base.obj ------------------------------------------------------------------------- */

/* Growable int32 array. */
struct ivec { int32_t *a; size_t n, cap; };

static bool ivec_push(struct ivec *v, int32_t x)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 4096;
        int32_t *na = realloc(v->a, cap * sizeof *na);
        if (!na)
            return false;
        v->a = na;
        v->cap = cap;
    }
    v->a[v->n++] = x;
    return true;
}

/* Parse the vertex indices of an `f` line (the part after "f"): up to 4 corners, each
   "v", "v/vt", "v//vn" or "v/vt/vn"; 1-based (negative = relative) indices. */
static int parse_face(const char *s, int nv_so_far, int32_t out[4])
{
    int k = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '\n' || *s == '\r')
            break;
        if (k == 4)
            return -1;
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s)
            return -1;
        if (v < 0)
            v = nv_so_far + v + 1;
        if (v < 1 || v > nv_so_far)
            return -1;
        out[k++] = (int32_t)(v - 1);
        s = end;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            s++;
    }
    return k >= 3 ? k : -1;
}

enum grp { GRP_OTHER, GRP_BODY, GRP_TIGHTS, GRP_JOINT };

/* Every joint cube of base.obj by name (the rig names its bone ends by cube). */
#define MAX_CUBES 160
struct cube_list {
    int n;
    char name[MAX_CUBES][40];   /* without the "joint-" prefix */
    int first[MAX_CUBES], last[MAX_CUBES];
};

static int cube_find(const struct cube_list *cl, const char *name, size_t len)
{
    for (int i = 0; i < cl->n; i++)
        if (strlen(cl->name[i]) == len && strncmp(cl->name[i], name, len) == 0)
            return i;
    return -1;
}

static enum tryon_status load_obj(struct avatar_model *m, const char *path, struct cube_list *cubes)
{
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_all(path, MAX_OBJ_BYTES, &data, &len);
    if (s)
        return s;
    size_t nv = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if ((i == 0 || data[i - 1] == '\n') && data[i] == 'v' && data[i + 1] == ' ')
            nv++;
    if (nv == 0 || nv > 65535) {
        free(data);
        return tryon_fail(TRYON_EFORMAT, "%s: %zu vertices (expected 1..65535)", path, nv);
    }
    m->base = malloc(nv * 3 * sizeof *m->base);
    struct ivec body = {0}, tights = {0};
    int jmin[AV_NJOINTS], jmax[AV_NJOINTS], jcount[AV_NJOINTS];
    for (int j = 0; j < AV_NJOINTS; j++)
        jmin[j] = INT_MAX, jmax[j] = -1, jcount[j] = 0;
    if (!m->base) {
        free(data);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    enum grp grp = GRP_OTHER;
    int joint = -1, cube = -1;
    int line = 0;
    size_t iv = 0;
    char *p = (char *)data, *stop = (char *)data + len;
    s = TRYON_OK;
    while (p < stop && s == TRYON_OK) {
        char *eol = memchr(p, '\n', (size_t)(stop - p));
        if (!eol)
            eol = stop;
        *eol = '\0';
        line++;
        if (p[0] == 'v' && p[1] == ' ') {
            char *e1, *e2, *e3;
            float x = strtof(p + 2, &e1), y = strtof(e1, &e2), z = strtof(e2, &e3);
            if (e1 == p + 2 || e2 == e1 || e3 == e2)
                s = tryon_fail(TRYON_EFORMAT, "%s:%d: bad vertex line", path, line);
            else {
                m->base[iv * 3 + 0] = x;
                m->base[iv * 3 + 1] = y;
                m->base[iv * 3 + 2] = z;
                iv++;
            }
        } else if (p[0] == 'g' && p[1] == ' ') {
            const char *name = p + 2;
            size_t nl = strcspn(name, " \t\r");
            grp = GRP_OTHER;
            joint = -1;
            cube = -1;
            if (nl > 6 && nl - 6 < sizeof cubes->name[0] && strncmp(name, "joint-", 6) == 0) {
                cube = cube_find(cubes, name + 6, nl - 6);
                if (cube < 0 && cubes->n < MAX_CUBES) {
                    cube = cubes->n++;
                    memcpy(cubes->name[cube], name + 6, nl - 6);
                    cubes->name[cube][nl - 6] = '\0';
                    cubes->first[cube] = INT_MAX;
                    cubes->last[cube] = -1;
                }
            }
            if (nl == 4 && strncmp(name, "body", 4) == 0)
                grp = GRP_BODY;
            else if (nl == 13 && strncmp(name, "helper-tights", 13) == 0)
                grp = GRP_TIGHTS;
            else if (nl > 6 && strncmp(name, "joint-", 6) == 0)
                for (int j = 0; j < AV_NJOINTS; j++)
                    if (strlen(av_joint_names[j]) == nl - 6 && strncmp(name + 6, av_joint_names[j], nl - 6) == 0) {
                        grp = GRP_JOINT;
                        joint = j;
                    }
        } else if (p[0] == 'f' && p[1] == ' ' && (grp != GRP_OTHER || cube >= 0)) {
            int32_t c[4];
            int k = parse_face(p + 2, (int)iv, c);
            for (int t = 0; t < k && cube >= 0; t++) {
                if (c[t] < cubes->first[cube])
                    cubes->first[cube] = c[t];
                if (c[t] > cubes->last[cube])
                    cubes->last[cube] = c[t];
            }
            if (k < 0) {
                s = tryon_fail(TRYON_EFORMAT, "%s:%d: bad face (3 or 4 corners with valid indices expected)",
                               path, line);
            } else if (grp == GRP_BODY) {
                for (int t = 1; t + 1 < k && s == TRYON_OK; t++)
                    if (!ivec_push(&body, c[0]) || !ivec_push(&body, c[t]) || !ivec_push(&body, c[t + 1]))
                        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
            } else if (grp == GRP_TIGHTS) {
                for (int t = 0; t < 4 && s == TRYON_OK; t++)
                    if (!ivec_push(&tights, t < k ? c[t] : -1))
                        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
            } else if (grp == GRP_JOINT) {
                for (int t = 0; t < k; t++) {
                    if (c[t] < jmin[joint])
                        jmin[joint] = c[t];
                    if (c[t] > jmax[joint])
                        jmax[joint] = c[t];
                }
                jcount[joint]++;
            }
        }
        p = eol + 1;
    }
    free(data);
    m->nv = (int)iv;
    m->body_tri = body.a;
    m->nbt = (int)(body.n / 3);
    m->tights = tights.a;
    m->ntq = (int)(tights.n / 4);
    if (s)
        return s;
    /* the skin must use exactly the vertices [0, nbody) */
    int maxb = -1;
    for (size_t i = 0; i < body.n; i++)
        if (body.a[i] > maxb)
            maxb = body.a[i];
    m->nbody = maxb + 1;
    char *used = calloc((size_t)m->nv, 1);
    if (!used)
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < body.n; i++)
        used[body.a[i]] = 1;
    int nused = 0;
    for (int i = 0; i < m->nbody; i++)
        nused += used[i];
    free(used);
    if (m->nbt == 0 || nused != m->nbody)
        return tryon_fail(TRYON_EFORMAT, "%s: group body must use the vertices 1..N contiguously (uses %d of %d)",
                          path, nused, m->nbody);
    if (m->ntq == 0)
        return tryon_fail(TRYON_EFORMAT, "%s: no helper-tights faces", path);
    for (int j = 0; j < AV_NJOINTS; j++) {
        if (jcount[j] == 0 || jmax[j] - jmin[j] != 7)
            return tryon_fail(TRYON_EFORMAT, "%s: joint cube joint-%s missing or not 8 contiguous vertices", path,
                              av_joint_names[j]);
        m->joint_first[j] = jmin[j];
    }
    return TRYON_OK;
}

/* ---- targets -------------------------------------------------------------------------- */

/* A decimal with at most three fraction digits as an integer number of thousandths. */
static bool parse_milli(const char **ps, long *out)
{
    const char *s = *ps;
    while (*s == ' ' || *s == '\t')
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    long ip = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && ip < 1000000)
        ip = ip * 10 + (*s++ - '0'), digits++;
    long frac = 0;
    int nf = 0;
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            if (nf == 3)
                return false;
            frac = frac * 10 + (*s++ - '0'), nf++, digits++;
        }
    }
    if (digits == 0 || (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n'))
        return false;
    while (nf < 3)
        frac *= 10, nf++;
    long v = ip * 1000 + frac;
    *out = neg ? -v : v;
    *ps = s;
    return true;
}

/* Read one target file. On failure the message is left in errbuf (the caller may be a
   worker thread, whose thread-local message the main thread cannot see). */
static enum tryon_status load_target(const char *path, int nv, struct av_target *t, char *errbuf, size_t errcap)
{
    uint8_t *data;
    size_t len;
    enum tryon_status s = fs_read_gz(path, MAX_TARGET_BYTES, &data, &len);
    if (s) {
        snprintf(errbuf, errcap, "%s", tryon_errmsg());
        return s;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    t->idx = malloc(lines * sizeof *t->idx);
    t->d = malloc(lines * 3 * sizeof *t->d);
    if (!t->idx || !t->d) {
        free(data);
        snprintf(errbuf, errcap, "%s: out of memory", path);
        return TRYON_ENOMEM;
    }
    t->n = 0;
    const char *p = (const char *)data;
    int line = 0;
    while (*p) {
        line++;
        const char *eol = strchr(p, '\n');
        const char *q = p;
        while (*q == ' ' || *q == '\t' || *q == '\r')
            q++;
        if (*q && *q != '\n' && *q != '#') {
            long idx, d[3];
            bool ok = parse_milli(&q, &idx) && idx >= 0 && idx % 1000 == 0 && idx / 1000 < nv;
            for (int k = 0; k < 3 && ok; k++)
                ok = parse_milli(&q, &d[k]) && d[k] >= INT16_MIN && d[k] <= INT16_MAX;
            while (ok && (*q == ' ' || *q == '\t' || *q == '\r'))
                q++;
            if (!ok || (*q && *q != '\n')) {
                free(data);
                snprintf(errbuf, errcap, "%s:%d: expected `index dx dy dz` (index < %d, |d| <= 32.767, "
                         "at most three decimals)", path, line, nv);
                return TRYON_EFORMAT;
            }
            t->idx[t->n] = (uint16_t)(idx / 1000);
            for (int k = 0; k < 3; k++)
                t->d[t->n * 3 + k] = (int16_t)d[k];
            t->n++;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    free(data);
    return TRYON_OK;
}

static void target_free(struct av_target *t)
{
    free(t->idx);
    free(t->d);
    memset(t, 0, sizeof *t);
}

/* Every target the macro rules use, with its file path relative to the asset folder. */
struct target_job { struct av_target *t; char rel[160]; };

static int list_targets(struct avatar_model *m, struct target_job *jobs)
{
    int n = 0;
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < AV_NAGES; a++) {
            for (int r = 0; r < AV_NRACES; r++) {
                jobs[n].t = &m->race[r][g][a];
                snprintf(jobs[n++].rel, sizeof jobs->rel, "targets/macrodetails/%s-%s-%s.target.gz", race_names[r],
                         gender_names[g], age_names[a]);
            }
            for (int mu = 0; mu < 3; mu++)
                for (int w = 0; w < 3; w++) {
                    jobs[n].t = &m->universal[g][a][mu][w];
                    snprintf(jobs[n++].rel, sizeof jobs->rel, "targets/macrodetails/universal-%s-%s-%s-%s.target.gz",
                             gender_names[g], age_names[a], muscle_names[mu], weight_names[w]);
                    for (int k = 0; k < 2; k++) {
                        jobs[n].t = &m->height[g][a][mu][w][k];
                        snprintf(jobs[n++].rel, sizeof jobs->rel, "targets/macrodetails/height/%s-%s-%s-%s-%s.target.gz",
                                 gender_names[g], age_names[a], muscle_names[mu], weight_names[w], height_names[k]);
                        if (a == 0)
                            continue; /* MakeHuman has no proportion targets for babies */
                        jobs[n].t = &m->prop[g][a][mu][w][k];
                        snprintf(jobs[n++].rel, sizeof jobs->rel,
                                 "targets/macrodetails/proportions/%s-%s-%s-%s-%s.target.gz", gender_names[g],
                                 age_names[a], muscle_names[mu], weight_names[w], prop_names[k]);
                    }
                }
        }
    return n;
}

#define MAX_TARGET_JOBS (2 * AV_NAGES * (AV_NRACES + 9 * 5))

static enum tryon_status load_targets(struct avatar_model *m, const char *dir)
{
    struct target_job *jobs = calloc(MAX_TARGET_JOBS, sizeof *jobs);
    enum tryon_status *st = calloc(MAX_TARGET_JOBS, sizeof *st);
    char(*err)[2048] = calloc(MAX_TARGET_JOBS, sizeof *err);
    if (!jobs || !st || !err) {
        free(jobs), free(st), free(err);
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the target list");
    }
    int n = list_targets(m, jobs);
    assert(n <= MAX_TARGET_JOBS);
    #pragma omp parallel for schedule(dynamic, 4)
    for (int i = 0; i < n; i++) {
        char path[1024];
        if (fs_join(path, sizeof path, dir, jobs[i].rel) != TRYON_OK) {
            st[i] = TRYON_ELIMIT;
            snprintf(err[i], sizeof err[i], "%s: asset path too long", dir);
            continue;
        }
        st[i] = load_target(path, m->nv, jobs[i].t, err[i], sizeof err[i]);
    }
    enum tryon_status s = TRYON_OK;
    for (int i = 0; i < n && s == TRYON_OK; i++)
        if (st[i])
            s = tryon_fail(st[i], "%s", err[i]);
    free(jobs), free(st), free(err);
    return s;
}

/* ---- the default rig ------------------------------------------------------------------ */

/* One bone end of rig.default.json: {"strategy": "CUBE", "cube_name": "joint-x"},
   {"strategy": "VERTEX", "vertex_index": i} or {"strategy": "MEAN", "vertex_indices": [..]}. */
static enum tryon_status parse_bone_end(const struct avatar_model *m, const struct cube_list *cubes,
                                        const struct json_val *e, const char *path, const char *bone,
                                        const char *which, int32_t idx[8], int *n)
{
    const char *strategy = e ? json_get_str(e, "strategy") : NULL;
    *n = 0;
    if (strategy && strcmp(strategy, "CUBE") == 0) {
        const char *cn = json_get_str(e, "cube_name");
        int c = cn && strncmp(cn, "joint-", 6) == 0 ? cube_find(cubes, cn + 6, strlen(cn + 6)) : -1;
        if (c < 0 || cubes->last[c] - cubes->first[c] != 7)
            return tryon_fail(TRYON_EFORMAT, "%s: bone %s %s: joint cube %s missing from base.obj or not 8 vertices",
                              path, bone, which, cn ? cn : "(none)");
        for (int k = 0; k < 8; k++)
            idx[k] = cubes->first[c] + k;
        *n = 8;
    } else if (strategy && strcmp(strategy, "VERTEX") == 0) {
        double v = json_get_num(e, "vertex_index", -1);
        if (!(v >= 0 && v < m->nv))
            return tryon_fail(TRYON_EFORMAT, "%s: bone %s %s: vertex_index outside 0..%d", path, bone, which, m->nv - 1);
        idx[0] = (int32_t)v;
        *n = 1;
    } else if (strategy && strcmp(strategy, "MEAN") == 0) {
        const struct json_val *l = json_get(e, "vertex_indices");
        if (!l || l->type != JSON_ARR || l->n < 1 || l->n > 8)
            return tryon_fail(TRYON_EFORMAT, "%s: bone %s %s: vertex_indices must list 1..8 vertices", path, bone, which);
        for (size_t k = 0; k < l->n; k++) {
            double v = l->items[k].type == JSON_NUM ? l->items[k].num : -1;
            if (!(v >= 0 && v < m->nv))
                return tryon_fail(TRYON_EFORMAT, "%s: bone %s %s: vertex index outside 0..%d", path, bone, which,
                                  m->nv - 1);
            idx[k] = (int32_t)v;
        }
        *n = (int)l->n;
    } else {
        return tryon_fail(TRYON_EFORMAT, "%s: bone %s %s: strategy must be CUBE, VERTEX or MEAN", path, bone, which);
    }
    return TRYON_OK;
}

int av_bone_find(const struct avatar_model *m, const char *name)
{
    for (int b = 0; b < m->nbones; b++)
        if (strcmp(m->bones[b].name, name) == 0)
            return b;
    return -1;
}

/* Bones of rig.default.json, ordered parents first, and the posed bones' indices. */
static enum tryon_status load_rig(struct avatar_model *m, const char *path, const struct cube_list *cubes)
{
    struct json_val *doc;
    enum tryon_status s = json_parse_file(path, &doc);
    if (s)
        return s;
    if (doc->type != JSON_OBJ || doc->n == 0 || doc->n > AV_MAX_BONES) {
        json_free(doc);
        return tryon_fail(TRYON_EFORMAT, "%s: expected an object of 1..%d bones", path, AV_MAX_BONES);
    }
    /* parents first: place every bone whose parent is placed, until none is left */
    bool placed[AV_MAX_BONES] = {false};
    m->nbones = 0;
    for (int progress = 1; progress && s == TRYON_OK;) {
        progress = 0;
        for (size_t i = 0; i < doc->n && s == TRYON_OK; i++) {
            if (placed[i])
                continue;
            const char *name = doc->keys[i];
            const char *par = json_get_str(&doc->items[i], "parent");
            int pb = par && par[0] ? av_bone_find(m, par) : -1;
            if (par && par[0] && pb < 0)
                continue;   /* parent not placed yet */
            if (strlen(name) >= sizeof m->bones[0].name) {
                s = tryon_fail(TRYON_EFORMAT, "%s: bone name %s too long", path, name);
                break;
            }
            struct av_bone *b = &m->bones[m->nbones];
            snprintf(b->name, sizeof b->name, "%s", name);
            b->parent = pb;
            s = parse_bone_end(m, cubes, json_get(&doc->items[i], "head"), path, name, "head", b->head, &b->nhead);
            if (s == TRYON_OK)
                s = parse_bone_end(m, cubes, json_get(&doc->items[i], "tail"), path, name, "tail", b->tail, &b->ntail);
            placed[i] = true;
            m->nbones++;
            progress = 1;
        }
    }
    if (s == TRYON_OK && m->nbones != (int)doc->n)
        s = tryon_fail(TRYON_EFORMAT, "%s: %zu bones have a missing parent or a parent cycle", path,
                       doc->n - (size_t)m->nbones);
    json_free(doc);
    static const char *const posed[AV_NPOSE_BONES] = {"upperarm01.L", "upperarm01.R", "upperleg01.L", "upperleg01.R",
                                                      "spine04", "spine03", "spine02", "spine01"};
    for (int i = 0; i < AV_NPOSE_BONES && s == TRYON_OK; i++)
        if ((m->pose_bone[i] = av_bone_find(m, posed[i])) < 0)
            s = tryon_fail(TRYON_EFORMAT, "%s: no bone %s", path, posed[i]);
    return s;
}

/* ---- skinning regions ----------------------------------------------------------------- */

/* The region a bone of the default rig belongs to, or -1. */
static int bone_region(const char *bone)
{
    size_t n = strlen(bone);
    if (n < 3 || bone[n - 2] != '.')
        return -1;
    bool left = bone[n - 1] == 'L';
    if (!left && bone[n - 1] != 'R')
        return -1;
    static const char *const arm[] = {"upperarm", "lowerarm", "wrist", "metacarpal", "finger"};
    static const char *const leg[] = {"upperleg", "lowerleg", "foot", "toe"};
    for (size_t i = 0; i < sizeof arm / sizeof *arm; i++)
        if (strncmp(bone, arm[i], strlen(arm[i])) == 0)
            return left ? AV_R_ARM_L : AV_R_ARM_R;
    for (size_t i = 0; i < sizeof leg / sizeof *leg; i++)
        if (strncmp(bone, leg[i], strlen(leg[i])) == 0)
            return left ? AV_R_LEG_L : AV_R_LEG_R;
    return -1;
}

/* The skinning weights (weights.default.json) as per-vertex lists (each normalised to sum
   1) and summed into the arm and leg regions. Needs the rig loaded. */
static enum tryon_status load_weights(struct avatar_model *m, const char *path)
{
    struct json_val *doc;
    enum tryon_status s = json_parse_file(path, &doc);
    if (s)
        return s;
    const struct json_val *w = json_get(doc, "weights");
    if (!w || w->type != JSON_OBJ) {
        json_free(doc);
        return tryon_fail(TRYON_EFORMAT, "%s: no \"weights\" object", path);
    }
    m->region = calloc((size_t)AV_NREGIONS * m->nv, sizeof *m->region);
    if (!m->region) {
        json_free(doc);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    m->skin_start = calloc((size_t)m->nv + 1, sizeof *m->skin_start);
    if (!m->skin_start) {
        json_free(doc);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    }
    for (size_t b = 0; b < w->n && s == TRYON_OK; b++) {
        int r = bone_region(w->keys[b]);
        const struct json_val *list = &w->items[b];
        if (list->type != JSON_ARR) {
            s = tryon_fail(TRYON_EFORMAT, "%s: weights of bone %s are not an array", path, w->keys[b]);
            break;
        }
        int bone = av_bone_find(m, w->keys[b]);
        if (bone < 0) {
            s = tryon_fail(TRYON_EFORMAT, "%s: weights for bone %s that the rig does not have", path, w->keys[b]);
            break;
        }
        for (size_t i = 0; i < list->n; i++) {
            const struct json_val *e = &list->items[i];
            if (e->type != JSON_ARR || e->n != 2 || e->items[0].type != JSON_NUM || e->items[1].type != JSON_NUM ||
                e->items[0].num < 0 || e->items[0].num >= m->nv || !(e->items[1].num >= 0 && e->items[1].num <= 1.0001)) {
                s = tryon_fail(TRYON_EFORMAT, "%s: bone %s entry %zu is not [vertex < %d, weight in 0..1]", path,
                               w->keys[b], i, m->nv);
                break;
            }
            m->skin_start[(size_t)e->items[0].num + 1]++;
            if (r >= 0)
                m->region[(size_t)r * m->nv + (size_t)e->items[0].num] += (float)e->items[1].num;
        }
    }
    /* second pass: the per-vertex lists, in the file's bone order */
    for (int i = 0; i < m->nv && s == TRYON_OK; i++)
        m->skin_start[i + 1] += m->skin_start[i];
    size_t ne = s == TRYON_OK ? (size_t)m->skin_start[m->nv] : 0;
    int32_t *fill = s == TRYON_OK ? malloc((size_t)m->nv * sizeof *fill) : NULL;
    m->skin_bone = malloc(ne ? ne : 1);
    m->skin_w = malloc((ne ? ne : 1) * sizeof *m->skin_w);
    if (s == TRYON_OK && (!fill || !m->skin_bone || !m->skin_w))
        s = tryon_fail(TRYON_ENOMEM, "%s: out of memory", path);
    if (s == TRYON_OK) {
        memcpy(fill, m->skin_start, (size_t)m->nv * sizeof *fill);
        for (size_t b = 0; b < w->n; b++) {
            int bone = av_bone_find(m, w->keys[b]);
            const struct json_val *list = &w->items[b];
            for (size_t i = 0; i < list->n; i++) {
                int v = (int)list->items[i].items[0].num;
                m->skin_bone[fill[v]] = (uint8_t)bone;
                m->skin_w[fill[v]++] = (float)list->items[i].items[1].num;
            }
        }
        for (int v = 0; v < m->nv; v++) {
            float sum = 0;
            for (int k = m->skin_start[v]; k < m->skin_start[v + 1]; k++)
                sum += m->skin_w[k];
            for (int k = m->skin_start[v]; k < m->skin_start[v + 1] && sum > 0; k++)
                m->skin_w[k] /= sum;
        }
    }
    free(fill);
    json_free(doc);
    for (size_t i = 0; i < (size_t)AV_NREGIONS * m->nv; i++)
        if (m->region[i] > 1.0f)
            m->region[i] = 1.0f;
    return s;
}

/* ---- public --------------------------------------------------------------------------- */

enum tryon_status avatar_model_load(const char *asset_dir, struct avatar_model **out)
{
    *out = NULL;
    const char *dir = asset_dir ? asset_dir : tryon_asset_dir();
    struct avatar_model *m = calloc(1, sizeof *m);
    if (!m)
        return tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the model");
    char path[4096];
    struct cube_list *cubes = calloc(1, sizeof *cubes);
    enum tryon_status s = cubes ? fs_join(path, sizeof path, dir, "3dobjs/base.obj")
                                : tryon_fail(TRYON_ENOMEM, "avatar: out of memory for the model");
    if (s == TRYON_OK)
        s = load_obj(m, path, cubes);
    if (s == TRYON_OK)
        s = load_targets(m, dir);
    if (s == TRYON_OK)
        s = fs_join(path, sizeof path, dir, "rigs/standard/rig.default.json");
    if (s == TRYON_OK)
        s = load_rig(m, path, cubes);
    if (s == TRYON_OK)
        s = fs_join(path, sizeof path, dir, "rigs/standard/weights.default.json");
    if (s == TRYON_OK)
        s = load_weights(m, path);
    free(cubes);
    if (s) {
        avatar_model_free(m);
        return tryon_failctx(s, "avatar: loading the MakeHuman data from %s", dir);
    }
    *out = m;
    return TRYON_OK;
}

void avatar_model_free(struct avatar_model *m)
{
    if (!m)
        return;
    struct av_target *groups[] = {&m->universal[0][0][0][0], &m->race[0][0][0], &m->height[0][0][0][0][0],
                                  &m->prop[0][0][0][0][0]};
    size_t counts[] = {sizeof m->universal / sizeof(struct av_target), sizeof m->race / sizeof(struct av_target),
                       sizeof m->height / sizeof(struct av_target), sizeof m->prop / sizeof(struct av_target)};
    for (int g = 0; g < 4; g++)
        for (size_t i = 0; i < counts[g]; i++)
            target_free(&groups[g][i]);
    free(m->base);
    free(m->body_tri);
    free(m->tights);
    free(m->region);
    free(m->skin_start);
    free(m->skin_bone);
    free(m->skin_w);
    free(m);
}

int avatar_model_body_nv(const struct avatar_model *m) { return m->nbody; }

/* The model's fingerprint: four lanes of 64-bit words, each word mixed into its lane by
   hash_mix64 (word k into lane k mod 4), the length and lanes then through SHA-256. Not a
   cryptographic hash of the data (common's SHA-256 over it took 1.1 s on a loaded 2-core
   machine, this 0.07 s): it tells apart data that differs by accident, as another release of the
   MakeHuman files does. Arrays are taken as they lie in memory, so the byte order is in it
   too (a cache shared by machines of both orders only misses). */
struct fingerprint {
    uint64_t lane[4];
    uint64_t words;      /* words mixed so far */
    uint64_t bytes;
};

static void fp_update(struct fingerprint *f, const void *data, size_t len)
{
    const uint8_t *p = data;
    f->bytes += len;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t *l = &f->lane[f->words++ & 3];
        *l = hash_mix64(*l ^ w);
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        uint64_t *l = &f->lane[f->words++ & 3];
        *l = hash_mix64(*l ^ w ^ (uint64_t)len << 56);
    }
}

static void fp_int(struct fingerprint *f, int v)
{
    int64_t x = v;
    fp_update(f, &x, 8);
}

void avatar_model_digest(const struct avatar_model *m, char hex[65])
{
    struct fingerprint f = {{0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull},
                            0, 0};
    fp_int(&f, m->nv);
    fp_int(&f, m->nbody);
    fp_update(&f, m->base, sizeof(float) * 3 * (size_t)m->nv);
    fp_int(&f, m->nbt);
    fp_update(&f, m->body_tri, sizeof(int32_t) * 3 * (size_t)m->nbt);
    fp_int(&f, m->ntq);
    fp_update(&f, m->tights, sizeof(int32_t) * 4 * (size_t)m->ntq);
    for (int j = 0; j < AV_NJOINTS; j++)
        fp_int(&f, m->joint_first[j]);
    fp_update(&f, m->region, sizeof(float) * AV_NREGIONS * (size_t)m->nv);
    const struct av_target *groups[] = {&m->universal[0][0][0][0], &m->race[0][0][0], &m->height[0][0][0][0][0],
                                        &m->prop[0][0][0][0][0]};
    const size_t counts[] = {sizeof m->universal / sizeof(struct av_target), sizeof m->race / sizeof(struct av_target),
                             sizeof m->height / sizeof(struct av_target), sizeof m->prop / sizeof(struct av_target)};
    for (int g = 0; g < 4; g++)
        for (size_t i = 0; i < counts[g]; i++) {
            const struct av_target *t = &groups[g][i];
            fp_int(&f, t->n);
            if (t->n > 0) {
                fp_update(&f, t->idx, sizeof(uint16_t) * (size_t)t->n);
                fp_update(&f, t->d, sizeof(int16_t) * 3 * (size_t)t->n);
            }
        }
    fp_int(&f, m->nbones);
    for (int b = 0; b < m->nbones; b++) {
        const struct av_bone *bone = &m->bones[b];
        fp_update(&f, bone->name, strnlen(bone->name, sizeof bone->name));
        fp_int(&f, bone->parent);
        fp_int(&f, bone->nhead);
        fp_int(&f, bone->ntail);
        fp_update(&f, bone->head, sizeof(int32_t) * (size_t)bone->nhead);
        fp_update(&f, bone->tail, sizeof(int32_t) * (size_t)bone->ntail);
    }
    for (int p = 0; p < AV_NPOSE_BONES; p++)
        fp_int(&f, m->pose_bone[p]);
    fp_update(&f, m->skin_start, sizeof(int32_t) * ((size_t)m->nv + 1));
    fp_update(&f, m->skin_bone, (size_t)m->skin_start[m->nv]);
    fp_update(&f, m->skin_w, sizeof(float) * (size_t)m->skin_start[m->nv]);
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, &f, sizeof f);
    uint8_t d[32];
    sha256_final(&h, d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
