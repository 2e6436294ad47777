/* Open-addressing hash set of anchors. */
#include "engine/engine_anchor_set.h"
#include "util/util_alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    uint64_t h;
    size_t n;
    char *p;    /* NULL = empty */
} slot;

struct anchor_set {
    size_t n, cap;   /* cap is a power of two */
    slot *s;
};

static uint64_t hash(const void *p, size_t n)
{
    /* FNV-1a 64: anchors are ids chosen by directories, not by an attacker of this process. */
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

anchor_set *anchor_set_new(void)
{
    anchor_set *s = xcalloc(1, sizeof *s);
    s->cap = 1024;
    s->s = xcalloc(s->cap, sizeof(slot));
    return s;
}

void anchor_set_free(anchor_set *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->cap; i++) free(s->s[i].p);
    free(s->s);
    free(s);
}

static slot *find(const anchor_set *s, uint64_t h, const void *p, size_t n)
{
    size_t i = (size_t)h & (s->cap - 1);
    for (;;) {
        slot *x = &s->s[i];
        if (!x->p || (x->h == h && x->n == n && memcmp(x->p, p, n) == 0)) return x;
        i = (i + 1) & (s->cap - 1);
    }
}

static void grow(anchor_set *s)
{
    slot *old = s->s;
    size_t oldcap = s->cap;
    s->cap *= 2;
    s->s = xcalloc(s->cap, sizeof(slot));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].p) *find(s, old[i].h, old[i].p, old[i].n) = old[i];
    free(old);
}

bool anchor_set_insert(anchor_set *s, const void *p, size_t n)
{
    if ((s->n + 1) * 2 > s->cap) grow(s);
    uint64_t h = hash(p, n);
    slot *x = find(s, h, p, n);
    if (x->p) return false;
    x->h = h;
    x->n = n;
    x->p = xmemdup(p, n ? n : 1);
    s->n++;
    return true;
}

void anchor_set_add(anchor_set *s, const void *p, size_t n)
{
    anchor_set_insert(s, p, n);
}

bool anchor_set_has(const anchor_set *s, const void *p, size_t n)
{
    return find(s, hash(p, n), p, n)->p != NULL;
}
