/* alloc.c: the allocators of common.h's out-of-memory policy: allocations no input sizes
 * either succeed or end the process with a message naming the call site. A rank that
 * cannot allocate a few kilobytes has nothing sensible left to do, and the journal makes
 * its job resumable; returning a status from every such call would only hide that. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t n, const char *file, int line)
{
    fprintf(stderr, "tryon: out of memory (%zu bytes) at %s:%d\n", n, file, line);
    abort();
}

void *tryon_xmalloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n, file, line);
    return p;
}

void *tryon_xcalloc_at(size_t count, size_t size, const char *file, int line)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size, file, line);
    return p;
}

void *tryon_xrealloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n, file, line);
    return q;
}

char *tryon_xstrdup_at(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *d = tryon_xmalloc_at(n, file, line);
    memcpy(d, s, n);
    return d;
}

void *tryon_xaligned_at(size_t align, size_t n, const char *file, int line)
{
    size_t rounded = (n + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, rounded ? rounded : align);
    if (!p)
        out_of_memory(n, file, line);
    return p;
}
