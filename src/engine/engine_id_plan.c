/* Planned MV ids: one array parallel to the pass's sorted ids, found by binary search. */
#include "engine/engine_id_plan.h"
#include "util/util_alloc.h"
#include <stdlib.h>

struct id_plan {
    const int64_t *ids;
    size_t n;
    int64_t *planned;    /* per ids[i]: the planned MV id, 0 for none */
    unsigned char *used; /* per ids[i]: a reference was resolved to it */
    int64_t base, end, next_extra;   /* planned ids: [base, end) */
    unsigned char *mark; /* per planned MV id - base */
};

id_plan *id_plan_new(const int64_t *ids, size_t n, bool (*joined)(void *ctx, int64_t id), void *ctx, int64_t base)
{
    id_plan *p = xcalloc(1, sizeof *p);
    p->ids = ids;
    p->n = n;
    p->planned = xcalloc(n ? n : 1, sizeof *p->planned);
    p->used = xcalloc(n ? n : 1, 1);
    int64_t next = base;
    for (size_t i = 0; i < n; i++)
        if (!joined(ctx, ids[i])) p->planned[i] = next++;
    p->base = base;
    p->end = next;
    p->next_extra = next;
    p->mark = xcalloc((size_t)(next - base) + 1, 1);
    return p;
}

void id_plan_free(id_plan *p)
{
    if (!p) return;
    free(p->planned);
    free(p->used);
    free(p->mark);
    free(p);
}

static long position(const id_plan *p, int64_t cs_id)
{
    if (p->n && p->ids[p->n - 1] - p->ids[0] == (int64_t)p->n - 1) {   /* contiguous ids: direct */
        int64_t k = cs_id - p->ids[0];
        return k >= 0 && k < (int64_t)p->n ? (long)k : -1;
    }
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->ids[mid] < cs_id) lo = mid + 1;
        else hi = mid;
    }
    return lo < p->n && p->ids[lo] == cs_id ? (long)lo : -1;
}

int64_t id_plan_get(const id_plan *p, int64_t cs_id)
{
    long i = p ? position(p, cs_id) : -1;
    return i < 0 ? 0 : p->planned[i];
}

int64_t id_plan_use(id_plan *p, int64_t cs_id)
{
    long i = p ? position(p, cs_id) : -1;
    if (i < 0 || !p->planned[i]) return 0;
    p->used[i] = 1;
    return p->planned[i];
}

bool id_plan_used(const id_plan *p, int64_t cs_id)
{
    long i = p ? position(p, cs_id) : -1;
    return i >= 0 && p->used[i];
}

int64_t id_plan_extra(id_plan *p)
{
    return p->next_extra++;
}

static bool in_range(const id_plan *p, int64_t mv_id)
{
    return p && mv_id >= p->base && mv_id < p->end;
}

void id_plan_mark(id_plan *p, int64_t mv_id)
{
    if (in_range(p, mv_id)) p->mark[mv_id - p->base] = 1;
}

void id_plan_unmark(id_plan *p, int64_t mv_id)
{
    if (in_range(p, mv_id)) p->mark[mv_id - p->base] = 0;
}

bool id_plan_marked(const id_plan *p, int64_t mv_id)
{
    return in_range(p, mv_id) && p->mark[mv_id - p->base];
}
