/* Open-addressing hash map DN -> link, for one full sync. */
#include "engine/engine_dn_links.h"
#include "util/util_alloc.h"
#include "util/util_arena.h"
#include <stdlib.h>
#include <string.h>

enum { S_SEEDED = 0, S_DONE = 1, S_UNKNOWN = 2 };

typedef struct slot {
    uint64_t h;
    char *dn;          /* NULL = empty */
    int64_t id, mv_id;
    int flags;
    int state;         /* S_SEEDED: not processed yet; S_DONE: link known; S_UNKNOWN: ask the store */
} slot;

/* DNs are copied into an arena of 1 MiB chunks: a million small allocations that live for the whole
   sync, between the sync's short-lived ones, fragmented the heap and made every malloc slower */
#define DN_CHUNK (1u << 20)

struct dn_links {
    size_t n, cap;     /* cap is a power of two */
    slot *s;
    util_arena dns;    /* the DNs of the slots */
    bool seeded;
    int64_t *joined;   /* sorted */
    size_t njoined;
};

static char *copy_dn(dn_links *m, const char *dn)
{
    size_t len = strlen(dn) + 1;
    return memcpy(arena_alloc_bytes(&m->dns, len), dn, len);
}

static uint64_t hash(const char *p)
{
    /* FNV-1a 64: DNs come from the directory, not from an attacker of this process */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *b = (const unsigned char *)p; *b; b++) h = (h ^ *b) * 1099511628211ULL;
    return h;
}

dn_links *dn_links_new(void)
{
    dn_links *m = xcalloc(1, sizeof *m);
    m->dns = (util_arena)UTIL_ARENA_INIT(DN_CHUNK);
    m->cap = 1024;
    m->s = xcalloc(m->cap, sizeof(slot));
    return m;
}

void dn_links_free(dn_links *m)
{
    if (!m) return;
    arena_free(&m->dns);
    free(m->s);
    free(m->joined);
    free(m);
}

static slot *find(const dn_links *m, uint64_t h, const char *dn)
{
    size_t i = (size_t)h & (m->cap - 1);
    for (;;) {
        slot *x = &m->s[i];
        if (!x->dn || (x->h == h && strcmp(x->dn, dn) == 0)) return x;
        i = (i + 1) & (m->cap - 1);
    }
}

static void grow(dn_links *m)
{
    slot *old = m->s;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->s = xcalloc(m->cap, sizeof(slot));
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].dn) *find(m, old[i].h, old[i].dn) = old[i];
    free(old);
}

/* The slot of dn, added (empty link) when absent; *added tells which. */
static slot *get_or_add(dn_links *m, const char *dn, bool *added)
{
    if ((m->n + 1) * 2 > m->cap) grow(m);
    uint64_t h = hash(dn);
    slot *x = find(m, h, dn);
    *added = !x->dn;
    if (*added) {
        x->h = h;
        x->dn = copy_dn(m, dn);
        m->n++;
    }
    return x;
}

void dn_links_seed(dn_links *m, const char *dn, int64_t id)
{
    bool added;
    slot *x = get_or_add(m, dn, &added);
    if (added) x->id = id;
    else if (x->id != id) x->state = S_UNKNOWN;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void dn_links_seeded(dn_links *m, int64_t *joined, size_t njoined)
{
    free(m->joined);
    m->joined = joined;
    m->njoined = njoined;
    if (njoined) qsort(joined, njoined, sizeof *joined, cmp_id);
    m->seeded = true;
}

void dn_links_note(dn_links *m, const char *dn, int64_t id, int64_t mv_id, int flags)
{
    bool added;
    slot *x = get_or_add(m, dn, &added);
    if (!added && x->id != id) {
        x->state = S_UNKNOWN;
        return;
    }
    if (x->state == S_UNKNOWN) return;
    x->id = id;
    x->mv_id = mv_id;
    x->flags = flags;
    x->state = S_DONE;
}

void dn_links_forget(dn_links *m, const char *dn)
{
    bool added;
    get_or_add(m, dn, &added)->state = S_UNKNOWN;
}

static bool was_joined(const dn_links *m, int64_t id)
{
    size_t lo = 0, hi = m->njoined;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->joined[mid] == id) return true;
        if (m->joined[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

bool dn_links_get(const dn_links *m, const char *dn, int64_t *mv_id, int *flags)
{
    const slot *x = find(m, hash(dn), dn);
    *mv_id = 0;
    *flags = 0;
    if (!x->dn) return m->seeded;                       /* no object has the DN */
    if (x->state == S_DONE) {
        *mv_id = x->mv_id;
        *flags = x->flags;
        return true;
    }
    return x->state == S_SEEDED && m->seeded && !was_joined(m, x->id);   /* not joined, not processed */
}

bool dn_links_get_pending(const dn_links *m, const char *dn, int64_t *mv_id, int *flags, int64_t *pending)
{
    const slot *x = find(m, hash(dn), dn);
    *mv_id = 0;
    *flags = 0;
    *pending = 0;
    if (!x->dn) return m->seeded;
    if (x->state == S_DONE) {
        *mv_id = x->mv_id;
        *flags = x->flags;
        return true;
    }
    bool known = x->state == S_SEEDED && m->seeded && !was_joined(m, x->id);
    if (known) *pending = x->id;
    return known;
}

int64_t dn_links_pending_id(const dn_links *m, const char *dn)
{
    const slot *x = find(m, hash(dn), dn);
    if (!x->dn || x->state != S_SEEDED || !m->seeded || was_joined(m, x->id)) return 0;
    return x->id;
}

bool dn_links_was_joined(const dn_links *m, int64_t id)
{
    return was_joined(m, id);
}
