/* Planned metaverse ids for the projections of a full sync.
 *
 * A full sync processes its connector's objects in id order; a reference (member, manager) to an
 * object later in the pass cannot resolve while that object has no MV object yet, and the
 * referring MV object had to be decided again after the pass (half of the objects of a first
 * sync). The plan gives every object of the pass that is not joined when the sync starts the MV
 * id it will get if it projects: consecutive ids in pass order from the next free id, the ids
 * the store would have handed out one insert after the other. A reference to such an object
 * resolves to its planned id at once.
 *
 * A plan can fail for an object: it joins an existing MV object, is out of scope, is a
 * disconnector, has an error. Its planned id then stays unused; the objects whose references
 * were resolved to it (the plan remembers that some were) are decided again after the pass,
 * found through the reverse-reference index. Projections the plan did not foresee take ids
 * after the planned range, so no id is handed out twice. */
#ifndef IDSYNC_ENGINE_ID_PLAN_H
#define IDSYNC_ENGINE_ID_PLAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct id_plan id_plan;

/* ids: the pass's connector-space ids in ascending order (borrowed, must outlive the plan);
   joined(ctx, id) tells the objects joined at the start (they get no planned id); base: the next
   free MV id. Caller frees with id_plan_free. */
id_plan *id_plan_new(const int64_t *ids, size_t n, bool (*joined)(void *ctx, int64_t id), void *ctx, int64_t base);
void id_plan_free(id_plan *p);   /* accepts NULL */
/* The planned MV id of connector-space object cs_id, or 0. */
int64_t id_plan_get(const id_plan *p, int64_t cs_id);
/* As id_plan_get, and remembers that a reference was resolved to the id. */
int64_t id_plan_use(id_plan *p, int64_t cs_id);
/* Whether a reference was resolved to cs_id's planned id. */
bool id_plan_used(const id_plan *p, int64_t cs_id);
/* An MV id for a projection the plan did not foresee (after the planned range). */
int64_t id_plan_extra(id_plan *p);
/* A mark per planned MV id (outbound evaluated early): set, clear, test. Ids outside the planned
   range are never marked. */
void id_plan_mark(id_plan *p, int64_t mv_id);
void id_plan_unmark(id_plan *p, int64_t mv_id);
bool id_plan_marked(const id_plan *p, int64_t mv_id);
#endif
