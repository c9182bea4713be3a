/* plan.c: which pairs still need rendering, and how to hand them out.
 *
 * The plan is the catalog's pairs minus those the journal already holds as ok, so a
 * re-run resumes where a killed job stopped; pairs of an entry with a bad image are set
 * apart for the master to record as failed. The queue is guided self-scheduling
 * (Polychronopoulos & Kuck 1987): each request takes a share of what remains, so early
 * chunks are large (little messaging) and late ones small (workers finish together).
 */
#include "scheduler/scheduler.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum tryon_status sched_plan_make(const struct sched_catalog *c, const struct sched_journal *j, struct sched_plan *out)
{
    memset(out, 0, sizeof *out);
    size_t n = (size_t)(c->n_pairs ? c->n_pairs : 1);
    out->todo = malloc(sizeof *out->todo * n);
    out->invalid = malloc(sizeof *out->invalid * n);
    if (!out->todo || !out->invalid) {
        sched_plan_free(out);
        return tryon_fail(TRYON_ENOMEM, "%s: out of memory planning %d pairs", c->path, c->n_pairs);
    }
    for (int i = 0; i < c->n_pairs; i++) {
        const struct sched_entry *p = &c->persons[c->pairs[i].person];
        const struct sched_entry *g = &c->garments[c->pairs[i].garment];
        bool ok = false;
        if (p->error || g->error)
            out->invalid[out->n_invalid++] = i;
        else if (j && sched_journal_get(j, p->id, g->id, &ok) && ok)
            out->n_done++;
        else
            out->todo[out->n_todo++] = i;
    }
    return TRYON_OK;
}

void sched_plan_free(struct sched_plan *p)
{
    free(p->todo);
    free(p->invalid);
    memset(p, 0, sizeof *p);
}

void sched_queue_init(struct sched_queue *q, int total, int workers, int min_chunk)
{
    assert(total >= 0 && workers >= 1 && min_chunk >= 1);
    q->next = 0;
    q->total = total;
    q->workers = workers;
    q->min_chunk = min_chunk;
}

bool sched_queue_next(struct sched_queue *q, int *start, int *count)
{
    int remaining = q->total - q->next;
    if (remaining <= 0)
        return false;
    int64_t share = ((int64_t)remaining + 2 * (int64_t)q->workers - 1) / (2 * (int64_t)q->workers);
    int n = share > q->min_chunk ? (int)share : q->min_chunk;
    if (n > remaining)
        n = remaining;
    *start = q->next;
    *count = n;
    q->next += n;
    return true;
}
