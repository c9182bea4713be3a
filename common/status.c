/* status.c: status names, the thread-local error message, logging and the clock.
 * Small enough to share one file; everything else in common/ reports through it. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char err_msg[1024];

const char *tryon_status_str(enum tryon_status s)
{
    switch (s) {
    case TRYON_OK: return "ok";
    case TRYON_EINVAL: return "invalid";
    case TRYON_EIO: return "io";
    case TRYON_ENOMEM: return "nomem";
    case TRYON_EFORMAT: return "format";
    case TRYON_ELIMIT: return "limit";
    case TRYON_ETIMEOUT: return "timeout";
    case TRYON_ENOTSETTLED: return "not-settled";
    case TRYON_EUNSUPPORTED: return "unsupported";
    case TRYON_EINTERRUPTED: return "interrupted";
    }
    return "unknown";
}

enum tryon_status tryon_fail(enum tryon_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    return s;
}

enum tryon_status tryon_failctx(enum tryon_status s, const char *fmt, ...)
{
    char ctx[512], old[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof old);
    if (old[0])
        snprintf(err_msg, sizeof err_msg, "%.500s: %.500s", ctx, old);
    else
        snprintf(err_msg, sizeof err_msg, "%s", ctx);
    return s;
}

const char *tryon_errmsg(void) { return err_msg; }
void tryon_errclear(void) { err_msg[0] = 0; }

/* ---- logging ---- */
int log_threshold = LOG_INFO;
static int log_rank = -1;

void log_set_level(enum log_level lvl) { log_threshold = (int)lvl; }
void log_set_rank(int rank, int world) { log_rank = world > 1 ? rank : -1; }

void log_write(enum log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    char line[2048];
    int off = 0;
    if (log_rank >= 0)
        off = snprintf(line, sizeof line, "[rank %d] ", log_rank);
    if (lvl != LOG_INFO)
        off += snprintf(line + off, sizeof line - (size_t)off, "%s: ", names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
    va_end(ap);
    /* one fputs per line so lines from threads and ranks do not interleave mid-line */
    size_t n = strlen(line);
    if (n + 1 < sizeof line) {
        line[n] = '\n';
        line[n + 1] = 0;
    }
    fputs(line, stderr);
}

double time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
