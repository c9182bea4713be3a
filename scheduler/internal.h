/* internal.h (internal to scheduler/): what aggregate.c and contact.c share. */
#ifndef TRYON_SCHEDULER_INTERNAL_H
#define TRYON_SCHEDULER_INTERNAL_H

#include "scheduler/scheduler.h"

/* State of one catalog pair at aggregation time. */
enum sched_state { SCHED_PENDING = 0, SCHED_OK = 1, SCHED_FAILED = 2 };

/* Write OUT/contact/sheet-NNN.png for the pairs whose state[i] (i indexes c->pairs) is ok
 * or failed, in catalog order; remove sheets beyond the new count. *n_sheets = how many. */
enum tryon_status sched_contact_write(const struct sched_catalog *c, const char *out_dir, const uint8_t *state,
                                      int *n_sheets);

/* Stop the live status (status.c) when it watches catalog c; otherwise do nothing. */
void sched_status_stop_for(const struct sched_catalog *c);

#endif
