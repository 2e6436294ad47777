/* Internals of the sync engine shared by engine_sync.c, engine_outbound.c and trace. */
#ifndef IDSYNC_ENGINE_SYNC_INT_H
#define IDSYNC_ENGINE_SYNC_INT_H
#include "engine/engine.h"

typedef struct idset {
    size_t n, cap;
    int64_t *v;
} idset;
void idset_add(idset *s, int64_t id);
void idset_sort_unique(idset *s);

typedef struct sync_ctx {
    engine *en;
    int64_t run_id;
    engine_stats *st;
    rule_set *rules;
    store_connector **conns;   /* id, name, type, url only */
    size_t nconns;
    char **indexed;            /* MV attributes kept in the join index */
    size_t nindexed;
    idset outbound;            /* MV ids whose outbound state must be re-evaluated */
    idset retry;               /* MV ids with unresolved inbound references */
    idset *current;            /* the outbound set being evaluated now (appendable), or NULL */
    struct anchor_set *queued; /* MV ids already queued as referrers (each queued once per run) */
    struct dn_links *links;    /* full sync: links of links_connector's objects already processed, or NULL */
    int64_t links_connector;
    struct id_plan *plan;      /* full sync: planned MV ids of the pass's projections, or NULL */
    bool early;                /* outbound evaluated at projection (see sync_outbound_early) */
    struct ref_waits *waits;   /* sync pass: waiting reference contributions per MV id, or NULL */
    struct join_mem *join_mem; /* engine_sync only: join-index rows kept until the end (engine_join_mem.h), or NULL */
    bool *no_ref_target;       /* outbound pass: per conns[i], no object a reference could point to */
} sync_ctx;

/* The reverse-reference index: every MV object's reference values (MV ids) are kept in the
   join index under this attribute name, so the objects that point to an MV object can be found
   when it is deleted or its target object is replaced. */
#define MV_REF_INDEX STORE_MV_REF_INDEX
/* Appends the MV objects that reference m to into (each at most once per run). */
int sync_queue_referrers(sync_ctx *x, int64_t m, idset *into, err *e);

void sync_ctx_init(sync_ctx *x, engine *en, int64_t run_id, engine_stats *st);
int sync_ctx_load(sync_ctx *x, err *e);
void sync_ctx_clear(sync_ctx *x);
const store_connector *sync_conn(sync_ctx *x, int64_t id);
int sync_inbound_one(sync_ctx *x, const store_connector *sc, cs_object *o, err *e);
int sync_recompute_mv(sync_ctx *x, int64_t m, bool *changed, bool *unresolved, err *e);
/* Outbound evaluation for every MV id in ids (sorted and de-duplicated here). */
int sync_outbound_set(sync_ctx *x, idset *ids, err *e);
int sync_outbound_one(sync_ctx *x, int64_t m, err *e);
/* Outbound evaluation of an MV object this pass just projected with a planned id, never used before
   (so no connector-space object is joined to it; mv: borrowed, final state). */
int sync_outbound_new(sync_ctx *x, const mv_object *mv, err *e);
/* Before a full sync's pass of npass objects: *early = every target has no object a reference
   could point to (sync_outbound_set explains why none can appear), so a new MV object's outbound
   result cannot depend on anything the rest of the pass does, and the pass may evaluate it at
   once (sync_outbound_new) instead of reading it back afterwards. Keeps x->no_ref_target. */
int sync_outbound_early(sync_ctx *x, size_t npass, bool *early, err *e);

#define CS_F_UNRESOLVED (1 << 4)   /* target object waits for a referenced object to be exported */
#define EXPORT_CLEAR_ATTR "__clear" /* in export_attrs: names of attributes to remove in the target */
#endif
