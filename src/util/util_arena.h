/* Bump allocation: many small blocks that live and die together (a pooled attribute set, the DNs of
 * a sync's DN map, the keys of its in-memory join index) are cut from large chunks and freed with
 * them in one go. Thousands of small long-lived allocations interleaved with short-lived ones had
 * fragmented the heap and made every malloc slower. Not thread-safe: one owner at a time. */
#ifndef IDSYNC_UTIL_ARENA_H
#define IDSYNC_UTIL_ARENA_H
#include <stddef.h>

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

typedef struct util_arena {
    arena_chunk *head;   /* the chunk being cut; NULL before the first allocation */
    size_t chunk;        /* bytes of an ordinary chunk */
} util_arena;

#define UTIL_ARENA_INIT(chunk_bytes) {NULL, (chunk_bytes)}
/* the alignment arena_alloc gives: a caller that measures what it will allocate counts
   ARENA_ROUND(n) per block */
#define ARENA_ROUND(n) (((n) + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1))

/* The allocation paths when the chunk being cut has no room (a new chunk). */
void *arena_alloc_slow(util_arena *a, size_t n);
/* n bytes aligned for any type; valid until arena_free. Uses at most ARENA_ROUND(n) bytes of a
   chunk. A block larger than a quarter of a chunk gets a chunk of its own, behind the one being cut. */
static inline void *arena_alloc(util_arena *a, size_t n)
{
    arena_chunk *c = a->head;
    size_t off = c ? ARENA_ROUND(c->used) : 0;
    if (c && off <= c->cap && c->cap - off >= n) {
        c->used = off + n;
        return (char *)c->data + off;
    }
    return arena_alloc_slow(a, n);
}
/* n bytes with no alignment (text): as arena_alloc, without rounding. */
static inline char *arena_alloc_bytes(util_arena *a, size_t n)
{
    arena_chunk *c = a->head;
    if (c && c->cap - c->used >= n) {
        char *r = (char *)c->data + c->used;
        c->used += n;
        return r;
    }
    return arena_alloc_slow(a, n);
}
/* A copy of s in the arena. */
char *arena_strdup(util_arena *a, const char *s);
/* The next allocations, up to n bytes in all (sizes rounded as arena_alloc does), come from one new
   chunk of exactly that size: for a caller that measured what it will need. */
void arena_reserve(util_arena *a, size_t n);
/* Frees every chunk; the arena is empty and usable again. */
void arena_free(util_arena *a);
#endif
