/* internal.h (internal to scheduler/): what aggregate.c, contact.c and gallery.c share. */
#ifndef TRYON_SCHEDULER_INTERNAL_H
#define TRYON_SCHEDULER_INTERNAL_H

#include "scheduler/scheduler.h"

/* State of one catalog pair at aggregation time. */
enum sched_state { SCHED_PENDING = 0, SCHED_OK = 1, SCHED_FAILED = 2 };

#include <limits.h>

/* A file streamed under a temporary name in OUT and renamed over OUT/<rel> on commit
   (fsynced, folder too); a failed commit removes the temporary and names the file. */
struct sched_afile {
    FILE *f;
    char path[PATH_MAX];
    int dfd;                  /* the folder it goes in (opened with no link followed: fs_open_parent) */
    char leaf[NAME_MAX + 1], tmp[NAME_MAX + 1];
};
enum tryon_status sched_af_open(struct sched_afile *a, const char *out_dir, const char *rel);
enum tryon_status sched_af_commit(struct sched_afile *a);

/* Record of pair i: SCHED_FAILED with *line NULL for an entry error, else the journal's
 * latest record (ok or failed) or SCHED_PENDING with *line NULL. */
enum sched_state sched_pair_state(const struct sched_catalog *c, const struct sched_journal *j, int i,
                                  const char **line);
/* The error message of failed pair i (its entry error when line is NULL, else the record's),
   malloc'd ("" when the record gives none). */
char *sched_failure_error(const struct sched_catalog *c, int i, const char *line);

/* OUT/index.html (and index-NNN.html past SCHED_HTML_PAGE pairs; stale pages removed) from
 * the pairs' states and records, and OUT/photos/{persons,garments}/<id>.png (the catalog's
 * photos, hard-linked or copied) it shows. gallery.c. */
enum tryon_status sched_gallery_write(const struct sched_catalog *c, const struct sched_journal *j,
                                      const char *out_dir, const uint8_t *state, int n_sheets);

/* Write OUT/contact/sheet-NNN.png for the pairs whose state[i] (i indexes c->pairs) is ok
 * or failed, in catalog order; remove sheets beyond the new count. *n_sheets = how many. */
enum tryon_status sched_contact_write(const struct sched_catalog *c, const char *out_dir, const uint8_t *state,
                                      int *n_sheets);

/* Stop the live status (status.c) when it watches catalog c; otherwise do nothing. */
void sched_status_stop_for(const struct sched_catalog *c);

#endif
