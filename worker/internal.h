/* internal.h: what worker.c shares with synth.c inside worker/ (not a public header). */
#ifndef TRYON_WORKER_INTERNAL_H
#define TRYON_WORKER_INTERNAL_H

#include "worker/worker.h"

struct avatar_model;
struct rt_device;
struct avatar_model *worker_model(struct worker *w);
struct rt_device *worker_device(struct worker *w);

#endif
