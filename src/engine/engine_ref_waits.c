/* Waiting reference contributions per MV object: an open-addressing hash map from MV id to
 * ref_wait (linear probing, deletion by backward shift so no tombstones pile up). */
#include "engine/engine_ref_waits.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

struct slot {
    int64_t key;      /* 0: empty (MV ids start at 1) */
    ref_wait *val;
};

struct ref_waits {
    size_t n, cap;    /* cap: a power of two */
    struct slot *s;
};

static size_t slot_of(const ref_waits *w, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17) & (w->cap - 1);
}

ref_waits *ref_waits_new(void)
{
    ref_waits *w = xcalloc(1, sizeof *w);
    w->cap = 1024;
    w->s = xcalloc(w->cap, sizeof *w->s);
    return w;
}

void ref_wait_free(ref_wait *rw)
{
    if (!rw) return;
    for (size_t i = 0; i < rw->n; i++) {
        attr *a = &rw->v[i].c.value;
        for (size_t k = 0; k < a->nvals; k++) free(a->vals[k].data);
        free(a->vals);
    }
    free(rw->v);
    free(rw);
}

void ref_waits_free(ref_waits *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->cap; i++) ref_wait_free(w->s[i].val);
    free(w->s);
    free(w);
}

static void grow(ref_waits *w)
{
    struct slot *old = w->s;
    size_t oldcap = w->cap;
    w->cap *= 2;
    w->s = xcalloc(w->cap, sizeof *w->s);
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].key) continue;
        size_t j = slot_of(w, old[i].key);
        while (w->s[j].key) j = (j + 1) & (w->cap - 1);
        w->s[j] = old[i];
    }
    free(old);
}

static long find(const ref_waits *w, int64_t key)
{
    for (size_t j = slot_of(w, key);; j = (j + 1) & (w->cap - 1)) {
        if (!w->s[j].key) return -1;
        if (w->s[j].key == key) return (long)j;
    }
}

void ref_waits_put(ref_waits *w, int64_t m, ref_wait *rw)
{
    long at = find(w, m);
    if (at >= 0) {
        ref_wait_free(w->s[at].val);
        w->s[at].val = rw;
        return;
    }
    if ((w->n + 1) * 4 > w->cap * 3) grow(w);
    size_t j = slot_of(w, m);
    while (w->s[j].key) j = (j + 1) & (w->cap - 1);
    w->s[j].key = m;
    w->s[j].val = rw;
    w->n++;
}

/* Removes slot i and shifts back the entries of its probe run that could sit earlier. */
static void remove_at(ref_waits *w, size_t i)
{
    size_t mask = w->cap - 1;
    w->s[i].key = 0;
    w->s[i].val = NULL;
    w->n--;
    for (size_t j = (i + 1) & mask; w->s[j].key; j = (j + 1) & mask) {
        size_t home = slot_of(w, w->s[j].key);
        /* the entry at j may move to the hole i when its home is not within (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (between) continue;
        w->s[i] = w->s[j];
        w->s[j].key = 0;
        w->s[j].val = NULL;
        i = j;
    }
}

ref_wait *ref_waits_take(ref_waits *w, int64_t m)
{
    long at = find(w, m);
    if (at < 0) return NULL;
    ref_wait *rw = w->s[at].val;
    remove_at(w, (size_t)at);
    return rw;
}

void ref_waits_drop(ref_waits *w, int64_t m)
{
    ref_wait_free(ref_waits_take(w, m));
}
