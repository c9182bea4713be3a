/* plan.c: place buffers with known lifetimes in one arena (activation and gradient slots).
 *
 * Greedy by decreasing size: each slot goes to the lowest 16-float-aligned offset where it
 * overlaps no already placed slot whose lifetime intersects its own. Simple, O(n^2 log n),
 * and close to optimal for the chain-like graphs here. Deterministic (ties by index) and reentrant (qsort_r). */
#include "nn/nn_internal.h"

#include <stdlib.h>

static int by_size_desc(const void *a, const void *b, void *ctx)
{
    const struct nn_slot *sl = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (sl[i].size != sl[j].size)
        return sl[i].size > sl[j].size ? -1 : 1;
    return i - j;
}

static int by_off(const void *a, const void *b, void *ctx)
{
    const struct nn_slot *sl = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (sl[i].off != sl[j].off)
        return sl[i].off < sl[j].off ? -1 : 1;
    return i - j;
}

size_t nn_plan_slots(struct nn_slot *s, int n)
{
    int *order = tryon_xmalloc((size_t)n * sizeof *order);
    int *placed = tryon_xmalloc((size_t)n * sizeof *placed);
    int *near = tryon_xmalloc((size_t)n * sizeof *near);
    int k = 0;
    for (int i = 0; i < n; i++) {
        s[i].off = 0;
        s[i].size = (s[i].size + 15) & ~(size_t)15;
        if (s[i].end >= s[i].start && s[i].size)
            order[k++] = i;
    }
    qsort_r(order, (size_t)k, sizeof *order, by_size_desc, s);
    size_t total = 0;
    int np = 0;
    for (int q = 0; q < k; q++) {
        int i = order[q], nn = 0;
        for (int p = 0; p < np; p++) {
            const struct nn_slot *o = &s[placed[p]];
            if (o->start <= s[i].end && s[i].start <= o->end)
                near[nn++] = placed[p];
        }
        qsort_r(near, (size_t)nn, sizeof *near, by_off, s);
        size_t off = 0;
        for (int p = 0; p < nn; p++) {
            const struct nn_slot *o = &s[near[p]];
            if (off + s[i].size <= o->off)
                break;
            if (o->off + o->size > off)
                off = o->off + o->size;
        }
        s[i].off = off;
        if (off + s[i].size > total)
            total = off + s[i].size;
        placed[np++] = i;
    }
    free(order);
    free(placed);
    free(near);
    return total;
}
