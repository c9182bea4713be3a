/* comm.c: every MPI call of the project (DESIGN.md: only this file includes mpi.h).
 * Point-to-point messages of the render protocol on MPI_COMM_WORLD, plus the collectives
 * the data-parallel trainer reaches through struct nn_comm. An MPI error is a broken
 * environment, not bad input: MPI_CHECK prints file:line and aborts the job. */
#include "farm/comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MPI_CHECK(call) do { int rc_ = (call); if (rc_ != MPI_SUCCESS) { \
    char es_[MPI_MAX_ERROR_STRING]; int el_ = 0; MPI_Error_string(rc_, es_, &el_); \
    fprintf(stderr, "%s:%d: MPI error: %s\n", __FILE__, __LINE__, es_); \
    MPI_Abort(MPI_COMM_WORLD, 3); } } while (0)

void comm_init(int *argc, char ***argv, int *rank, int *world)
{
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, world));
}

void comm_finalize(void) { MPI_Finalize(); }

void comm_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void comm_describe(char *name, size_t name_cap, char *lib, size_t lib_cap)
{
    char n[MPI_MAX_PROCESSOR_NAME], v[MPI_MAX_LIBRARY_VERSION_STRING];
    int nl = 0, vl = 0;
    MPI_Get_processor_name(n, &nl);
    MPI_Get_library_version(v, &vl);
    /* the version string may run over several lines; keep the first */
    char *nlp = strchr(v, '\n');
    if (nlp)
        *nlp = 0;
    snprintf(name, name_cap, "%s", n);
    snprintf(lib, lib_cap, "%s", v);
}

int comm_poll(struct comm_msg *msg)
{
    int flag = 0;
    MPI_Status st;
    MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    if (!flag)
        return 0;
    int count = 0;
    MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &count));
    char *buf = malloc((size_t)count + 1);
    if (!buf) {
        fprintf(stderr, "comm: out of memory for a %d-byte message\n", count);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    MPI_CHECK(MPI_Recv(buf, count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    buf[count] = 0;
    msg->src = st.MPI_SOURCE;
    msg->tag = (enum comm_tag)st.MPI_TAG;
    msg->data = buf;
    msg->len = (size_t)count;
    return 1;
}

void comm_send_work(int dst, const int32_t *pairs, int n)
{
    MPI_CHECK(MPI_Send(pairs, n, MPI_INT32_T, dst, COMM_TAG_WORK, MPI_COMM_WORLD));
}

static int link_poll(void *user, struct comm_msg *msg)
{
    (void)user;
    return comm_poll(msg);
}

static void link_send(void *user, int dst, const int32_t *pairs, int n)
{
    (void)user;
    comm_send_work(dst, pairs, n);
}

void comm_link(struct farm_link *out) { *out = (struct farm_link){NULL, link_poll, link_send}; }

int comm_request_work(int32_t *pairs, int cap)
{
    MPI_CHECK(MPI_Send(NULL, 0, MPI_BYTE, 0, COMM_TAG_REQUEST, MPI_COMM_WORLD));
    MPI_Status st;
    MPI_Request req;
    MPI_CHECK(MPI_Irecv(pairs, cap, MPI_INT32_T, 0, COMM_TAG_WORK, MPI_COMM_WORLD, &req));
    /* wait without spinning: Open MPI's blocking receive busy-polls, and many waiting
       workers on an oversubscribed node would starve the master of the core it needs */
    for (int done = 0;;) {
        MPI_CHECK(MPI_Test(&req, &done, &st));
        if (done)
            break;
        struct timespec ts = {0, 200000L};
        nanosleep(&ts, NULL);
    }
    int n = 0;
    MPI_CHECK(MPI_Get_count(&st, MPI_INT32_T, &n));
    return n;
}

void comm_send_result(const char *line, size_t len)
{
    MPI_CHECK(MPI_Send(line, (int)len, MPI_BYTE, 0, COMM_TAG_RESULT, MPI_COMM_WORLD));
}

void comm_send_leaving(int abandoned)
{
    int32_t v = abandoned;
    MPI_CHECK(MPI_Send(&v, (int)sizeof v, MPI_BYTE, 0, COMM_TAG_LEAVING, MPI_COMM_WORLD));
}

void comm_barrier(void) { MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

static int nn_allreduce(void *user, float *buf, size_t n)
{
    (void)user;
    /* MPI counts are int: reduce in slices */
    const size_t slice = (size_t)1 << 30;
    for (size_t off = 0; off < n; off += slice) {
        size_t k = n - off < slice ? n - off : slice;
        if (MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

static int nn_bcast(void *user, void *buf, size_t n, int root)
{
    (void)user;
    return MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

void comm_nn(struct nn_comm *out)
{
    memset(out, 0, sizeof *out);
    MPI_Comm_rank(MPI_COMM_WORLD, &out->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &out->world);
    out->allreduce_sum = nn_allreduce;
    out->bcast = nn_bcast;
}
