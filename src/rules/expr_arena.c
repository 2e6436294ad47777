/* Bump allocator for expression trees and per-evaluation scratch (one free, no per-node malloc). */
#include "rules/expr_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>

#define CHUNK_MIN (16 * 1024)
#define ALIGN (sizeof(max_align_t))

void *expr_arena_alloc(expr_arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) / ALIGN * ALIGN;
    if (need == 0) need = ALIGN;
    expr_chunk *h = a->head;
    if (h && h->cap - h->used >= need) {
        void *p = (char *)h->data + h->used;
        h->used += need;
        return p;
    }
    size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;
    if (h && h->cap * 2 > cap && h->cap * 2 <= 4 * 1024 * 1024) cap = h->cap * 2;
    if (a->limit && (a->total + cap > a->limit)) {
        if (a->total + need > a->limit) return NULL;
        cap = need;
    }
    expr_chunk *c = xmalloc(sizeof *c + cap);
    c->cap = cap;
    c->used = need;
    c->next = h;
    a->head = c;
    a->total += cap;
    return c->data;
}

void expr_arena_reset(expr_arena *a, size_t keep)
{
    /* Keep the oldest chunk if it is small enough; free the rest. */
    expr_chunk *c = a->head, *last = NULL;
    while (c && c->next) {
        expr_chunk *n = c->next;
        free(c);
        c = n;
    }
    last = c;
    if (last && last->cap > keep) {
        free(last);
        last = NULL;
    }
    a->head = last;
    a->total = last ? last->cap : 0;
    if (last) last->used = 0;
}

void expr_arena_free(expr_arena *a)
{
    if (!a) return;
    expr_chunk *c = a->head;
    while (c) {
        expr_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
