/* arena.c: bump allocator over chained blocks, for per-pair scratch memory that is
 * released all at once between pairs. */
#include "common.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    struct arena_block *next; /* older block */
    size_t cap, used;         /* bytes in data, bytes handed out */
    _Alignas(64) unsigned char data[];
};

static struct arena_block *block_new(size_t cap)
{
    /* the header is a multiple of 64 bytes, so data[] inherits the 64-byte alignment */
    size_t bytes = (sizeof(struct arena_block) + cap + 63) & ~(size_t)63;
    struct arena_block *b = aligned_alloc(64, bytes);
    if (!b) {
        fprintf(stderr, "arena: out of memory for %zu bytes\n", cap);
        abort();
    }
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

void arena_init(struct arena *a, size_t block_size)
{
    a->block_size = block_size ? block_size : (1u << 20);
    a->head = NULL;
    a->used_total = 0;
}

void *arena_alloc(struct arena *a, size_t size, size_t align)
{
    if (align < 8)
        align = 8;
    assert(align <= 64);
    struct arena_block *b = a->head;
    size_t off = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || off + size > b->cap) {
        size_t cap = size + align > a->block_size ? size + align : a->block_size;
        struct arena_block *nb = block_new(cap);
        nb->next = b;
        a->head = b = nb;
        off = 0;
    }
    void *p = b->data + off;
    b->used = off + size;
    a->used_total += size;
    memset(p, 0, size);
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(a, n, 1);
    memcpy(p, s, n);
    return p;
}

void arena_reset(struct arena *a)
{
    struct arena_block *b = a->head;
    if (!b)
        return;
    /* keep the oldest block (the usual working size), free the others */
    while (b->next) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    a->head = b;
    a->used_total = 0;
}

void arena_free(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
