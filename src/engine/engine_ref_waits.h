/* Reference values that waited during a sync pass, per MV object.
 *
 * An inbound reference (member, manager) names an object by DN; it resolves to an MV id only
 * once that object is in the metaverse. A sync processes objects one after the other, so a
 * reference to an object later in the pass cannot resolve yet (about half of the objects of a
 * first full sync). Re-evaluating every flow of every contributor after the pass only to fill
 * in those values cost a quarter of a full sync. Instead, the pass keeps, for each MV object
 * with waiting values, every contribution to the attributes concerned (the waiting ones with
 * their values as the source had them, DNs); after the pass only those attributes are resolved
 * and decided again by precedence. Attribute decisions are independent of each other (see
 * flow_resolve), so this gives the same MV object as a full recomputation as long as nothing
 * else about the object changed: each recomputation of the object replaces what was kept, and
 * an object queued for other reasons (a referenced object was deleted) drops it. */
#ifndef IDSYNC_ENGINE_REF_WAITS_H
#define IDSYNC_ENGINE_REF_WAITS_H
#include "engine/engine_flow.h"
#include <stdint.h>

/* One kept contribution: resolve says whether its values are still source references (DNs in
   connector connector_id) or already final (resolved MV ids, or not references at all). */
typedef struct ref_wait_contrib {
    flow_contrib c;       /* owns its values */
    bool resolve;
    int64_t connector_id;
} ref_wait_contrib;

typedef struct ref_wait {
    size_t n;
    ref_wait_contrib *v;  /* owned */
} ref_wait;

typedef struct ref_waits ref_waits;

ref_waits *ref_waits_new(void);         /* caller frees with ref_waits_free */
void ref_waits_free(ref_waits *w);      /* accepts NULL */
/* Keeps rw (taken over, values included) for MV object m, replacing what was kept for it. */
void ref_waits_put(ref_waits *w, int64_t m, ref_wait *rw);
/* Forgets what was kept for m (nothing kept: no effect). */
void ref_waits_drop(ref_waits *w, int64_t m);
/* Hands over what was kept for m (caller frees with ref_wait_free) and forgets it; NULL if nothing. */
ref_wait *ref_waits_take(ref_waits *w, int64_t m);
void ref_wait_free(ref_wait *rw);       /* accepts NULL */
#endif
