/* comm.h: farm/'s internal view of the message layer. comm.c is the only file in the
 * project that includes mpi.h (DESIGN.md section 3); everything else talks through these
 * functions, so the rest of farm/ reads as plain C and a one-rank run never blocks.
 *
 * The render protocol (rank 0 = master, others = workers):
 *   worker -> master  TAG_REQUEST   (empty)               "give me work"
 *   master -> worker  TAG_WORK      int32[n] pair indices  n = 0 means stop
 *   worker -> master  TAG_RESULT    bytes: one journal record (JSON, no newline)
 *   worker -> master  TAG_LEAVING   int32 abandoned count  "stopping after a signal"
 */
#ifndef TRYON_FARM_COMM_H
#define TRYON_FARM_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

enum comm_tag { COMM_TAG_REQUEST = 11, COMM_TAG_WORK = 12, COMM_TAG_RESULT = 13, COMM_TAG_LEAVING = 14 };

struct comm_msg {
    int src;          /* sender rank */
    enum comm_tag tag;
    char *data;       /* malloc'd payload (NUL-terminated for convenience), caller frees */
    size_t len;       /* payload bytes */
};

/* MPI_Init_thread (funneled) and rank/size. Safe to call when launched without mpirun. */
void comm_init(int *argc, char ***argv, int *rank, int *world);
void comm_finalize(void);
/* Abort every rank (a bug or an unrecoverable environment failure). */
void comm_abort(int code);
/* Processor name and the MPI library's version string, for `tryon info`. */
void comm_describe(char *name, size_t name_cap, char *lib, size_t lib_cap);

/* Non-blocking receive of any message for the master; 1 when *msg was filled, 0 when none
 * is waiting. The caller sleeps briefly between empty polls so the master does not steal
 * a core from the workers (Open MPI's blocking receive busy-polls). */
int comm_poll(struct comm_msg *msg);
void comm_send_work(int dst, const int32_t *pairs, int n);
/* Worker side: ask for work and wait for the answer; returns n (0 = stop) and fills
 * pairs (capacity cap; the master never sends more than cap). */
int comm_request_work(int32_t *pairs, int cap);
void comm_send_result(const char *line, size_t len);
void comm_send_leaving(int abandoned);

/* The master's side of the render protocol as a small interface, as struct nn_comm is
 * for training: over MPI (comm_link) or, when rank 0 renders alone, in-process
 * (farm/render.c). The master's logic (scheduler/master.c) sees only this. */
struct farm_link {
    void *user;
    /* The next message for the master: 1 when *msg was filled (data malloc'd, the caller
       frees it), 0 when none is waiting. */
    int (*poll)(void *user, struct comm_msg *msg);
    /* Pairs for rank dst; n = 0 tells it to stop. */
    void (*send_work)(void *user, int dst, const int32_t *pairs, int n);
};
/* The link over MPI_COMM_WORLD (comm_poll, comm_send_work). */
void comm_link(struct farm_link *out);

/* Collectives used outside the render protocol. */
void comm_barrier(void);
/* An nn_comm over MPI_COMM_WORLD for data-parallel training (allreduce + bcast). */
void comm_nn(struct nn_comm *out);

#endif
