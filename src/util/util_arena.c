/* Bump allocation over a list of chunks (see util_arena.h). */
#include "util/util_arena.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

static arena_chunk *chunk_new(size_t cap)
{
    arena_chunk *c = xmalloc(sizeof *c + cap);
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

void *arena_alloc_slow(util_arena *a, size_t n)
{
    if (a->head && n > a->chunk / 4) {
        /* a large block: a chunk of its own behind the current one, which goes on being cut */
        arena_chunk *c = chunk_new(n);
        c->used = n;
        c->next = a->head->next;
        a->head->next = c;
        return c->data;
    }
    arena_chunk *c = chunk_new(n > a->chunk ? n : a->chunk);
    c->next = a->head;
    a->head = c;
    c->used = n;
    return c->data;
}

char *arena_strdup(util_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(arena_alloc(a, n), s, n);
}

void arena_reserve(util_arena *a, size_t n)
{
    arena_chunk *c = chunk_new(n);
    c->next = a->head;
    a->head = c;
}

void arena_free(util_arena *a)
{
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
}
