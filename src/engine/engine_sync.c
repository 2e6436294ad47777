/* Synchronization: inbound (connector space -> metaverse: join, project, flow, disconnect,
 * object deletion) and outbound (metaverse -> connector spaces: provision, flow,
 * deprovision), computing pending exports as the exact difference between the desired
 * state and the connector-space copy. */
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_anchor_set.h"
#include "engine/engine_dn_links.h"
#include "engine/engine_id_plan.h"
#include "engine/engine_join_mem.h"
#include "engine/engine_flow.h"
#include "engine/engine_progress.h"
#include "engine/engine_ref_waits.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include "util/util_uuid.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* objects per transaction: larger transactions write each touched index page to the WAL fewer times
   (10,000 -> 50,000: full sync at 1,000,000 objects 115 s -> 98 s). A stop signal is noticed at the
   next commit (about 5 s at that size); a failure rolls back at most this many objects, which the
   next sync redoes. */
#define SYNC_COMMIT_EVERY 50000
#define MAX_JOIN_CANDIDATES 16
/* objects per read of an asynchronous pass (pass_async) */
#define PASS_BATCH 512

/* ---------- context ---------- */

void sync_ctx_init(sync_ctx *x, engine *en, int64_t run_id, engine_stats *st)
{
    memset(x, 0, sizeof *x);
    x->en = en;
    x->run_id = run_id;
    x->st = st;
}

static int load_conn(void *ctx, const store_connector *sc, err *e)
{
    sync_ctx *x = ctx;
    x->conns = xrealloc(x->conns, (x->nconns + 1) * sizeof *x->conns);
    store_connector *c = xcalloc(1, sizeof *c);
    c->id = sc->id;
    c->name = xstrdup(sc->name);
    c->type = xstrdup(sc->type);
    c->url = xstrdup(sc->url);
    x->conns[x->nconns++] = c;
    return 0;
}

int sync_ctx_load(sync_ctx *x, err *e)
{
    int rc = engine_rules_load(x->en->st, &x->rules, e);
    if (rc == 0) rc = rule_validate_set(x->rules, e);
    if (rc) return err_prefix(e, "the stored sync rules are not valid; fix them with `idsync rules import`");
    rc = store_connector_each(x->en->st, load_conn, x, e);
    /* MV attributes used by join rules are kept in the join index. */
    for (size_t i = 0; rc == 0 && i < x->rules->n; i++) {
        const rule *r = x->rules->rules[i];
        for (size_t g = 0; g < r->njoin; g++)
            for (size_t k = 0; k < r->join[g].n; k++) {
                const char *a = r->join[g].clauses[k].mv_attribute;
                bool have = false;
                for (size_t j = 0; j < x->nindexed; j++) have |= strcasecmp(x->indexed[j], a) == 0;
                if (!have) {
                    x->indexed = xrealloc(x->indexed, (x->nindexed + 1) * sizeof(char *));
                    x->indexed[x->nindexed++] = xstrdup(a);
                }
            }
    }
    /* an interrupted sync may have left MV objects without their rows: rebuild them first */
    if (rc == 0) rc = join_index_repair(x->en->st, x->indexed, x->nindexed, MV_REF_INDEX, e);
    return rc;
}

/* Attributes whose index is empty now (a first sync) hold only what this sync adds: their rows
   are kept in memory and written sorted at the end (sync_join_flush). */
static int sync_join_defer(sync_ctx *x, err *e)
{
    int rc = 0;
    x->join_mem = join_mem_new();
    for (size_t i = 0; rc == 0 && i <= x->nindexed; i++) {
        const char *a = i < x->nindexed ? x->indexed[i] : MV_REF_INDEX;
        bool any = true;
        rc = store_mv_index_any(x->en->st, a, &any, e);
        if (rc == 0 && !any) join_mem_cover(x->join_mem, a);
    }
    return rc;
}

/* Writes the kept join-index rows; readers use the store after. A bulk load opens a transaction of
   its own (on a schema-1 database it switches foreign-key checks, which only works outside one): the
   work before it is committed first, as every SYNC_COMMIT_EVERY objects is. */
static int sync_join_flush(sync_ctx *x, err *e)
{
    store *s = x->en->st;
    if (!join_mem_marked(x->join_mem)) return x->join_mem ? join_mem_flush(x->join_mem, s, e) : 0;
    int rc = x->plan ? store_mv_ids_chosen(s, e) : 0;
    if (rc == 0) rc = engine_commit(x->en, e);
    if (rc == 0) rc = store_mv_index_bulk_begin(s, e);
    if (rc == 0) rc = store_mv_index_bulk_end(s, join_mem_flush(x->join_mem, s, e), e);
    if (rc == 0) rc = store_begin(s, e);
    return rc;
}

/* Writes the join-index rows of attribute a for MV object id (was: the values indexed so far, now:
   the new ones, NULL for none): kept in memory when a is deferred, else added (a new object has no
   rows to replace) or replaced in the store. */
static int index_write(sync_ctx *x, int64_t id, bool insert, const char *a, const attr *was, const attr *now, err *e)
{
    if (!join_mem_covers(x->join_mem, a))
        return insert ? store_mv_index_add(x->en->st, id, a, now, e) : store_mv_index_set(x->en->st, id, a, was, now, e);
    int rc = join_mem_mark(x->join_mem, x->en->st, e);
    if (rc == 0) join_mem_set(x->join_mem, id, a, now);
    return rc;
}

/* Queues m for the outbound pass; an earlier outbound result of m (engine_sync_int.h,
   sync_outbound_early) no longer counts. */
static void outbound_add(sync_ctx *x, int64_t m)
{
    idset_add(&x->outbound, m);
    if (x->plan) id_plan_unmark(x->plan, m);
}

int sync_queue_referrers(sync_ctx *x, int64_t m, idset *into, err *e)
{
    char idtxt[32];
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)m);
    size_t max = 65536, n = 0;
    int64_t *ids = xmalloc(max * sizeof(int64_t));
    int rc = 0;
    if (join_mem_covers(x->join_mem, MV_REF_INDEX)) join_mem_find(x->join_mem, MV_REF_INDEX, idtxt, ids, max, &n);
    else rc = store_mv_index_find(x->en->st, MV_REF_INDEX, idtxt, ids, max, &n, e);
    if (!x->queued) x->queued = anchor_set_new();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (ids[i] == m || anchor_set_has(x->queued, &ids[i], sizeof ids[i])) continue;
        anchor_set_add(x->queued, &ids[i], sizeof ids[i]);
        idset_add(into, ids[i]);
        if (into == &x->outbound && x->plan) id_plan_unmark(x->plan, ids[i]);
        /* recomputed in full: a referenced object went away, kept resolutions may name it */
        if (into == &x->retry && x->waits) ref_waits_drop(x->waits, ids[i]);
    }
    free(ids);
    return rc;
}

/* Union of an object's reference values, for the reverse-reference index. */
static attr *ref_union(const attrs *a)
{
    attr *u = xcalloc(1, sizeof *u);
    u->name = MV_REF_INDEX;
    u->type = AT_STRING;
    for (size_t i = 0; a && i < a->n; i++)
        if (a->a[i].type == AT_REFERENCE)
            for (size_t k = 0; k < a->a[i].nvals; k++) attr_add_unique(u, a->a[i].vals[k].data, a->a[i].vals[k].len);
    return u;
}

static void ref_union_free(attr *u)
{
    for (size_t i = 0; u && i < u->nvals; i++) free(u->vals[i].data);
    if (u) free(u->vals);
    free(u);
}

/* Removes every join-index row of mv (about to be deleted): those of its indexed attributes and its
   reverse-reference rows. */
static int index_remove(sync_ctx *x, const mv_object *mv, err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < x->nindexed; i++) {
        const attr *was = attrs_get(mv->attrs, x->indexed[i]);
        if (was && was->nvals) rc = index_write(x, mv->id, false, x->indexed[i], was, NULL, e);
    }
    attr *ru = rc == 0 ? ref_union(mv->attrs) : NULL;
    if (ru && ru->nvals) rc = index_write(x, mv->id, false, MV_REF_INDEX, ru, NULL, e);
    ref_union_free(ru);
    return rc;
}

void sync_ctx_clear(sync_ctx *x)
{
    dn_links_free(x->links);
    id_plan_free(x->plan);
    ref_waits_free(x->waits);
    join_mem_free(x->join_mem);
    anchor_set_free(x->queued);
    rule_set_free(x->rules);
    for (size_t i = 0; i < x->nconns; i++) store_connector_free(x->conns[i]);
    free(x->conns);
    for (size_t i = 0; i < x->nindexed; i++) free(x->indexed[i]);
    free(x->indexed);
    free(x->outbound.v);
    free(x->retry.v);
    free(x->no_ref_target);
    memset(x, 0, sizeof *x);
}

const store_connector *sync_conn(sync_ctx *x, int64_t id)
{
    for (size_t i = 0; i < x->nconns; i++)
        if (x->conns[i]->id == id) return x->conns[i];
    return NULL;
}

void idset_add(idset *s, int64_t id)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = xrealloc(s->v, s->cap * sizeof(int64_t));
    }
    s->v[s->n++] = id;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void idset_sort_unique(idset *s)
{
    if (!s->n) return;
    qsort(s->v, s->n, sizeof(int64_t), cmp_id);
    size_t w = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[w - 1]) s->v[w++] = s->v[i];
    s->n = w;
}

static void object_error(sync_ctx *x, const cs_object *o, const char *kind, const err *e)
{
    x->st->errors++;
    log_warn("%s", e->msg);   /* callers prefix the message with the object's DN */
    store_run_error(x->en->st, x->run_id, o ? o->dn : NULL, o ? o->anchor : NULL, o ? o->anchor_len : 0, kind,
                    e->msg, NULL);
}

static bool connector_has_inbound(sync_ctx *x, const store_connector *c)
{
    for (size_t i = 0; i < x->rules->n; i++) {
        const rule *r = x->rules->rules[i];
        if (r->enabled && r->direction == RULE_INBOUND && (strcmp(r->connector, "*") == 0 ? 
            (strcmp(r->connector_type, "*") == 0 || strcasecmp(r->connector_type, c->type) == 0) :
            strcmp(r->connector, c->name) == 0))
            return true;
    }
    return false;
}

/* ---------- inbound ---------- */

/* A contribution whose reference values did not all resolve: its source values (owned). */
struct waiting {
    size_t idx;                /* the contribution's index in res, until flow_resolve reorders them */
    attr orig;
    int64_t connector_id;
};

struct contrib_ctx {
    sync_ctx *x;
    flow_result res;
    int contributors;
    bool unresolved;
    struct waiting *wait;      /* kept only when x->waits is set */
    size_t nwait;
    int rc;
    err *e;
};

/* Decimal text of a positive id (what "%lld" gives, without printf: once per reference value). */
static size_t id_text(char out[24], int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = (uint64_t)v;
    do tmp[n++] = (char)('0' + u % 10); while ((u /= 10) && n < sizeof tmp);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* Converts reference values (DNs in the source connector) into MV ids and drops values whose
   object is not (yet) in the metaverse. Returns whether some were dropped; then, if orig is not
   NULL, *orig receives the source values (owned) for a later attempt. */
static bool resolve_inbound_refs(sync_ctx *x, int64_t connector_id, attr *a, attr *orig)
{
    aval *got = xmalloc((a->nvals ? a->nvals : 1) * sizeof *got);
    size_t w = 0;
    bool missing = false;
    for (size_t i = 0; i < a->nvals; i++) {
        err e2 = {0};
        int64_t ref_mv = 0;
        int ref_flags = 0;
        int64_t later = 0;
        bool known = x->links && connector_id == x->links_connector &&
                     dn_links_get_pending(x->links, a->vals[i].data, &ref_mv, &ref_flags, &later);
        if (known && later && x->plan) ref_mv = id_plan_use(x->plan, later);   /* later in the pass: its planned id */
        if ((known || store_cs_link_by_dn(x->en->st, connector_id, a->vals[i].data, &ref_mv, &ref_flags, &e2) == 0) &&
            ref_mv && !(ref_flags & CS_F_DELETED)) {
            char idtxt[24];
            got[w].len = id_text(idtxt, ref_mv);
            got[w].data = xstrndup(idtxt, got[w].len);
            w++;
        } else {
            missing = true;
        }
    }
    if (missing && orig) {
        *orig = *a;
    } else {
        for (size_t i = 0; i < a->nvals; i++) free(a->vals[i].data);
        free(a->vals);
    }
    a->cap = a->nvals ? a->nvals : 1;
    a->vals = got;
    a->nvals = w;
    return missing;
}

static int contribute(void *ctx, cs_object *o, err *e)
{
    struct contrib_ctx *c = ctx;
    sync_ctx *x = c->x;
    if (o->flags & CS_F_DELETED) return 0;
    const store_connector *sc = sync_conn(x, o->connector_id);
    if (!sc) return 0;
    flow_source fs;
    flow_source_init(&fs, o->attrs, o->dn);
    bool any = false;
    size_t first = c->res.n;
    for (size_t i = 0; i < x->rules->n; i++) {
        const rule *r = x->rules->rules[i];
        if (r->direction != RULE_INBOUND || !rule_applies_to(r, sc->name, sc->type, o->object_type)) continue;
        if (!rule_scope_match(r, o->dn, o->attrs)) continue;
        any = true;
        int rc = flow_eval_rule(r, sc->name, &fs, &c->res, e);
        if (rc) {
            flow_source_clear(&fs);
            err_prefix(e, "%s", o->dn ? o->dn : "(object)");
            object_error(x, o, "sync-error", e);
            err_clear(e);
            return 0;
        }
    }
    flow_source_clear(&fs);
    for (size_t i = first; i < c->res.n; i++) {
        flow_contrib *fc = &c->res.c[i];
        if (fc->value.type != AT_REFERENCE || fc->outcome != EXPR_VALUE) continue;
        attr orig = {0};
        if (!resolve_inbound_refs(x, o->connector_id, &fc->value, x->waits ? &orig : NULL)) continue;
        c->unresolved = true;
        if (!x->waits) continue;
        c->wait = xrealloc(c->wait, (c->nwait + 1) * sizeof *c->wait);
        c->wait[c->nwait++] = (struct waiting){.idx = i, .orig = orig, .connector_id = o->connector_id};
    }
    if (any) c->contributors++;
    return 0;
}

static void values_free(attr *a)
{
    for (size_t k = 0; k < a->nvals; k++) free(a->vals[k].data);
    free(a->vals);
}

/* A deep copy of a contribution's values (the name is the flow's target, not owned). */
static attr values_copy(const attr *a)
{
    attr d = *a;
    d.cap = a->nvals ? a->nvals : 1;
    d.vals = xmalloc(d.cap * sizeof *d.vals);
    for (size_t k = 0; k < a->nvals; k++) {
        d.vals[k].len = a->vals[k].len;
        d.vals[k].data = xmalloc(a->vals[k].len + 1);
        memcpy(d.vals[k].data, a->vals[k].data, a->vals[k].len + 1);
    }
    return d;
}

/* What a later attempt needs (see engine_ref_waits.h): every contribution to an attribute that has
   waiting reference values; takes the waiting source values over from c. Call before flow_resolve. */
static ref_wait *keep_waiting(struct contrib_ctx *c)
{
    ref_wait *rw = xcalloc(1, sizeof *rw);
    for (size_t i = 0; i < c->res.n; i++) {
        const flow_contrib *fc = &c->res.c[i];
        struct waiting *wt = NULL;
        bool concerned = false;
        for (size_t k = 0; k < c->nwait; k++) {
            concerned |= strcasecmp(c->res.c[c->wait[k].idx].f->target, fc->f->target) == 0;
            if (c->wait[k].idx == i) wt = &c->wait[k];
        }
        if (!concerned) continue;
        rw->v = xrealloc(rw->v, (rw->n + 1) * sizeof *rw->v);
        ref_wait_contrib *k = &rw->v[rw->n++];
        k->c = *fc;
        k->resolve = wt != NULL;
        k->connector_id = wt ? wt->connector_id : 0;
        if (wt) {
            k->c.value = wt->orig;
            memset(&wt->orig, 0, sizeof wt->orig);
        } else {
            k->c.value = values_copy(&fc->value);
        }
    }
    return rw;
}

/* Stores mv's new state (next, lineage: taken over) when it differs; insert: a new object, with
   id insert_as when not 0 (a planned id), else the store's next one. */
static int save_mv(sync_ctx *x, mv_object *mv, attrs *next, attrs *lineage, bool insert, int64_t insert_as,
                   bool *changed, err *e)
{
    int rc = 0;
    *changed = false;
    if (insert || !attrs_equal(next, mv->attrs) || !attrs_equal(lineage, mv->lineage)) {
        bool attrs_changed = !attrs_equal(next, mv->attrs);
        attrs *old = mv->attrs;
        attrs_free(mv->lineage);
        mv->attrs = next;
        mv->lineage = lineage;
        next = lineage = NULL;
        if (insert && insert_as) {
            mv->id = insert_as;
            rc = store_mv_insert_as(x->en->st, mv, e);
        } else {
            rc = store_mv_save(x->en->st, mv, e);
        }
        /* the join index changes only where an indexed attribute did */
        for (size_t i = 0; rc == 0 && i < x->nindexed; i++) {
            const attr *was = attrs_get(old, x->indexed[i]), *now = attrs_get(mv->attrs, x->indexed[i]);
            if ((!was || !was->nvals) && (!now || !now->nvals)) continue;
            if (was && now && attr_equal(was, now)) continue;
            rc = index_write(x, mv->id, insert, x->indexed[i], was, now, e);
        }
        if (rc == 0) {
            attr *ru_old = ref_union(old), *ru_new = ref_union(mv->attrs);
            if (!attr_equal(ru_old, ru_new)) rc = index_write(x, mv->id, insert, MV_REF_INDEX, ru_old, ru_new, e);
            ref_union_free(ru_old);
            ref_union_free(ru_new);
        }
        attrs_free(old);
        *changed = attrs_changed;
    }
    attrs_free(next);
    attrs_free(lineage);
    return rc;
}

/* Recomputes mv (borrowed; id 0 = a new projection, inserted here unless nothing contributes,
   with id insert_as when not 0) from the connector-space objects linked to it. */
static int recompute_from(sync_ctx *x, mv_object *mv, int64_t insert_as, cs_object *const *linked, size_t nlinked,
                          bool *changed, bool *unresolved, err *e)
{
    struct contrib_ctx c = {.x = x, .e = e};
    int rc = 0;
    bool insert = mv->id == 0;
    ref_wait *rw = NULL;
    *changed = false;
    for (size_t i = 0; rc == 0 && i < nlinked; i++) rc = contribute(&c, linked[i], e);
    if (rc) goto done;
    if (unresolved) *unresolved = c.unresolved;
    if (c.contributors == 0) {
        if (insert) goto done;
        if (x->waits) ref_waits_drop(x->waits, mv->id);
        /* Object deletion rule: no connector contributes any more. Objects that point to it
           (group members, managers) are recomputed after this pass, so no dead reference stays. */
        rc = sync_queue_referrers(x, mv->id, &x->retry, e);
        if (rc == 0) rc = index_remove(x, mv, e);   /* the index is keyed by value: its values find its rows */
        if (rc == 0) rc = store_mv_delete(x->en->st, mv->id, e);
        if (rc == 0 && x->join_mem) join_mem_drop(x->join_mem, mv->id);
        x->st->mv_deletes++;
        *changed = true;
        goto done;
    }
    if (c.nwait) rw = keep_waiting(&c);
    attrs *next = attrs_new(), *lineage = attrs_new();
    flow_resolve(&c.res, mv->attrs, next, lineage, NULL);
    x->st->flows += (long long)c.res.n;
    rc = save_mv(x, mv, next, lineage, insert, insert_as, changed, e);
    /* this recomputation decides what a later attempt starts from */
    if (rc == 0 && x->waits && rw) ref_waits_put(x->waits, mv->id, rw), rw = NULL;
    else if (rc == 0 && x->waits && !insert) ref_waits_drop(x->waits, mv->id);
done:
    ref_wait_free(rw);
    for (size_t i = 0; i < c.nwait; i++) values_free(&c.wait[i].orig);
    free(c.wait);
    flow_result_clear(&c.res);
    return rc;
}

/* The attempt after the pass for an MV object whose references waited: only the attributes
   concerned are resolved and decided again (rw: taken over). */
static int retry_waiting(sync_ctx *x, int64_t m, ref_wait *rw, bool *changed, err *e)
{
    mv_object *mv = NULL;
    flow_result res = {0};
    *changed = false;
    int rc = store_mv_get(x->en->st, m, &mv, e);
    if (rc == ERR_NOTFOUND) rc = 0, err_clear(e);
    if (rc || !mv) goto done;
    res.n = res.cap = rw->n;
    res.c = xmalloc((rw->n ? rw->n : 1) * sizeof *res.c);
    for (size_t i = 0; i < rw->n; i++) {
        res.c[i] = rw->v[i].c;
        if (rw->v[i].resolve) resolve_inbound_refs(x, rw->v[i].connector_id, &res.c[i].value, NULL);
    }
    rw->n = 0;   /* the values now belong to res */
    attrs *next = attrs_clone(mv->attrs), *lineage = attrs_clone(mv->lineage);
    for (size_t i = 0; i < res.n; i++) {
        attrs_remove(next, res.c[i].f->target);
        attrs_remove(lineage, res.c[i].f->target);
    }
    flow_resolve(&res, mv->attrs, next, lineage, NULL);
    x->st->flows += (long long)res.n;
    rc = save_mv(x, mv, next, lineage, false, 0, changed, e);
done:
    flow_result_clear(&res);
    mv_object_free(mv);
    ref_wait_free(rw);
    return rc;
}

/* Recomputes MV object m from every connector-space object joined to it. *changed tells
   whether the MV object changed (or was deleted); *unresolved whether a reference waits. */
int sync_recompute_mv(sync_ctx *x, int64_t m, bool *changed, bool *unresolved, err *e)
{
    mv_object *mv = NULL;
    *changed = false;
    int rc = store_mv_get(x->en->st, m, &mv, e);
    if (rc == ERR_NOTFOUND) return err_clear(e), 0;
    if (rc) return rc;
    cs_object **linked = NULL;
    size_t nlinked = 0;
    rc = store_cs_load_joined(x->en->st, m, 0, &linked, &nlinked, e);
    if (rc == 0) rc = recompute_from(x, mv, 0, linked, nlinked, changed, unresolved, e);
    for (size_t i = 0; i < nlinked; i++) cs_object_free(linked[i]);
    free(linked);
    mv_object_free(mv);
    return rc;
}

/* Case-sensitive clauses: the join index holds lower-cased text, so a candidate it found must
   also hold one of the object's values byte for byte. Binary values are exact in the index. */
static bool join_case_exact(const rule_join_group *jg, const attrs *cs_attrs, const attrs *mv_attrs)
{
    for (size_t k = 0; k < jg->n; k++) {
        const rule_join_clause *cl = &jg->clauses[k];
        if (!cl->case_sensitive) continue;
        const attr *v = attrs_get(cs_attrs, cl->cs_attribute);
        const attr *m = attrs_get(mv_attrs, cl->mv_attribute);
        if (!v || v->type == AT_BINARY || (m && m->type == AT_BINARY)) continue;
        bool hit = false;
        for (size_t i = 0; m && i < m->nvals && !hit; i++)
            for (size_t j = 0; j < v->nvals && !hit; j++)
                hit = m->vals[i].len == v->vals[j].len && memcmp(m->vals[i].data, v->vals[j].data, v->vals[j].len) == 0;
        if (!hit) return false;
    }
    return true;
}

/* Join: the first join group of the first in-scope rule that finds exactly one MV object. */
static int try_join(sync_ctx *x, const store_connector *sc, cs_object *o, const rule *const *inscope, size_t nin,
                    int64_t *found, bool *ambiguous, err *e)
{
    *found = 0;
    *ambiguous = false;
    for (size_t i = 0; i < nin; i++) {
        const rule *r = inscope[i];
        for (size_t g = 0; g < r->njoin; g++) {
            const rule_join_group *jg = &r->join[g];
            int64_t cand[MAX_JOIN_CANDIDATES];
            size_t ncand = 0;
            bool first = true, empty = false;
            for (size_t k = 0; k < jg->n && !empty; k++) {
                const attr *v = attrs_get(o->attrs, jg->clauses[k].cs_attribute);
                if (!v || !v->nvals) {
                    empty = true;
                    break;
                }
                int64_t ids[MAX_JOIN_CANDIDATES];
                size_t nids = 0;
                for (size_t vi = 0; vi < v->nvals && nids < MAX_JOIN_CANDIDATES; vi++) {
                    int64_t tmp[MAX_JOIN_CANDIDATES];
                    size_t nt = 0;
                    const char *val = v->vals[vi].data;
                    char *b64 = NULL;
                    if (v->type == AT_BINARY) val = b64 = hex_encode(v->vals[vi].data, v->vals[vi].len);
                    int rc = 0;
                    if (join_mem_covers(x->join_mem, jg->clauses[k].mv_attribute))
                        join_mem_find(x->join_mem, jg->clauses[k].mv_attribute, val, tmp, MAX_JOIN_CANDIDATES, &nt);
                    else
                        rc = store_mv_index_find(x->en->st, jg->clauses[k].mv_attribute, val, tmp,
                                                 MAX_JOIN_CANDIDATES, &nt, e);
                    free(b64);
                    if (rc) return rc;
                    for (size_t t = 0; t < nt && nids < MAX_JOIN_CANDIDATES; t++) ids[nids++] = tmp[t];
                }
                if (first) {
                    memcpy(cand, ids, nids * sizeof(int64_t));
                    ncand = nids;
                    first = false;
                } else {
                    size_t w = 0;
                    for (size_t a = 0; a < ncand; a++)
                        for (size_t b = 0; b < nids; b++)
                            if (cand[a] == ids[b]) {
                                cand[w++] = cand[a];
                                break;
                            }
                    ncand = w;
                }
                if (!ncand) empty = true;
            }
            if (empty || !ncand) continue;
            /* Only MV objects of the rule's type count (and, for case-sensitive clauses, exact values). */
            size_t w = 0;
            for (size_t a = 0; a < ncand; a++) {
                mv_object *mv = NULL;
                if (store_mv_get_attrs(x->en->st, cand[a], &mv, NULL) == 0 && strcasecmp(mv->object_type, r->mv_object_type) == 0 &&
                    join_case_exact(jg, o->attrs, mv->attrs))
                    cand[w++] = cand[a];
                mv_object_free(mv);
            }
            ncand = w;
            if (ncand == 1) {
                *found = cand[0];
                x->st->joins++;
                return 0;
            }
            if (ncand > 1) {
                *ambiguous = true;
                return err_set(e, ERR_FAIL, "join rule of '%s' (group %zu) matches %zu metaverse objects (ids %lld, %lld%s); "
                               "an ambiguous join is never resolved by picking one: make the join attributes unique",
                               r->name, g + 1, ncand, (long long)cand[0], (long long)cand[1], ncand > 2 ? ", ..." : "");
            }
        }
    }
    return 0;
}

static int disconnect(sync_ctx *x, cs_object *o, err *e)
{
    int64_t m = o->mv_id;
    o->mv_id = 0;
    int rc = store_cs_set_link(x->en->st, o->id, 0, o->flags, e);
    if (rc) return rc;
    x->st->disconnects++;
    bool changed = false;
    rc = sync_recompute_mv(x, m, &changed, NULL, e);
    outbound_add(x, m);
    return rc;
}

/* Inbound processing of one connector-space object. */
int sync_inbound_one(sync_ctx *x, const store_connector *sc, cs_object *o, err *e)
{
    int rc = 0;
    store *s = x->en->st;
    if (o->flags & CS_F_DELETED) {
        int64_t m = o->mv_id;
        rc = store_cs_delete(s, o->id, e);
        if (rc == 0 && m) {
            bool changed = false;
            rc = sync_recompute_mv(x, m, &changed, NULL, e);
            outbound_add(x, m);
            /* A target object deleted outside idsync is provisioned again with a new anchor:
               the objects that reference it must point to the new one. */
            if (rc == 0 && !connector_has_inbound(x, sc)) rc = sync_queue_referrers(x, m, &x->outbound, e);
            if (connector_has_inbound(x, sc)) x->st->disconnects++;
        }
        return rc;
    }
    const rule *inscope[64];
    size_t nin = 0;
    const rule *provision = NULL;
    for (size_t i = 0; i < x->rules->n && nin < 64; i++) {
        const rule *r = x->rules->rules[i];
        if (r->direction != RULE_INBOUND || !rule_applies_to(r, sc->name, sc->type, o->object_type)) continue;
        if (!rule_scope_match(r, o->dn, o->attrs)) continue;
        inscope[nin++] = r;
        if (r->link_type == RULE_LINK_PROVISION && (!provision || r->precedence < provision->precedence)) provision = r;
    }
    o->flags &= ~CS_F_PENDING_IMPORT;
    if (nin == 0) {
        if (o->mv_id && connector_has_inbound(x, sc)) return disconnect(x, o, e);
        if (o->mv_id) outbound_add(x, o->mv_id);   /* target-side change: re-check desired state */
        return store_cs_set_link(s, o->id, o->mv_id, o->flags, e);
    }
    if (!o->mv_id) {
        int64_t m = 0;
        bool ambiguous = false;
        rc = try_join(x, sc, o, inscope, nin, &m, &ambiguous, e);
        if (rc) {
            err_prefix(e, "%s", o->dn ? o->dn : "(object)");
            object_error(x, o, "sync-error", e);
            err_clear(e);
            o->flags |= CS_F_PENDING_IMPORT;   /* stays pending: retried by the next sync */
            return store_cs_set_link(s, o->id, o->mv_id, o->flags, e);
        }
        if (!m && provision) {
            /* Projection: the new MV object is computed from this object alone and inserted once. */
            mv_object *mv = xcalloc(1, sizeof *mv);
            mv->object_type = xstrdup(provision->mv_object_type);
            mv->attrs = attrs_new();
            mv->lineage = attrs_new();
            bool changed = false, unresolved = false;
            cs_object *const one[1] = {o};
            int64_t as = 0;
            if (x->plan) as = id_plan_get(x->plan, o->id) ? id_plan_get(x->plan, o->id) : id_plan_extra(x->plan);
            rc = recompute_from(x, mv, as, one, 1, &changed, &unresolved, e);
            m = mv->id;
            if (rc == 0 && m && changed && x->early && !unresolved && id_plan_get(x->plan, o->id) == m) {
                rc = sync_outbound_new(x, mv, e);   /* final already: no need to read it back after the pass */
                id_plan_mark(x->plan, m);
                changed = false;
            }
            mv_object_free(mv);
            if (rc) return rc;
            if (m) {
                x->st->projections++;
                o->mv_id = m;
                if (unresolved) idset_add(&x->retry, m);
                if (changed) outbound_add(x, m);
            }
            return store_cs_set_link(s, o->id, o->mv_id, o->flags, e);
        }
        if (!m) return store_cs_set_link(s, o->id, o->mv_id, o->flags, e);   /* a disconnector: in scope, nothing to join or project */
        o->mv_id = m;
    }
    rc = store_cs_set_link(s, o->id, o->mv_id, o->flags, e);
    if (rc) return rc;
    bool changed = false, unresolved = false;
    rc = sync_recompute_mv(x, o->mv_id, &changed, &unresolved, e);
    if (rc) return rc;
    if (unresolved) idset_add(&x->retry, o->mv_id);
    if (changed) outbound_add(x, o->mv_id);
    return 0;
}

/* ---------- run ---------- */

/* seconds on a monotonic clock, for the phase timings logged at debug level */
static double phase_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static int seed_one(void *ctx, int64_t id, const char *dn, err *e)
{
    (void)e;
    dn_links_seed(ctx, dn, id);
    return 0;
}

/* The DNs of the connector's objects and which objects were joined, from two index scans. */
static int seed_links(sync_ctx *x, const store_connector *sc, err *e)
{
    x->links = dn_links_new();
    x->links_connector = sc->id;
    int64_t *joined = NULL;
    size_t njoined = 0;
    int rc = store_cs_each_dn(x->en->st, sc->id, seed_one, x->links, e);
    if (rc == 0) rc = store_cs_joined_ids(x->en->st, &joined, &njoined, e);
    if (rc == 0) dn_links_seeded(x->links, joined, njoined);
    else free(joined);
    return rc;
}

static bool joined_at_start(void *ctx, int64_t id)
{
    return dn_links_was_joined(ctx, id);
}

/* Plans the MV ids of the pass's projections (engine_id_plan.h), after seed_links. */
static int plan_ids(sync_ctx *x, const idset *ids, err *e)
{
    int64_t base = 0;
    int rc = store_mv_next_id(x->en->st, &base, e);
    if (rc == 0) x->plan = id_plan_new(ids->v, ids->n, joined_at_start, x->links, base);
    return rc;
}

/* After o was processed: if references were resolved to the id planned for it and o is not linked
   to that id now, the objects holding them are decided again after the pass. */
static int plan_check(sync_ctx *x, const cs_object *o, err *e)
{
    int64_t planned = x->plan ? id_plan_get(x->plan, o->id) : 0;
    if (!planned || (o->mv_id == planned && !(o->flags & CS_F_DELETED)) || !id_plan_used(x->plan, o->id)) return 0;
    return sync_queue_referrers(x, planned, &x->retry, e);
}

static void release_cs(void *o)
{
    cs_object_free(o);
}

/* One object of the pass (o: taken over), at position i of the pass. */
static int pass_object(sync_ctx *x, const store_connector *sc, cs_object *o, size_t i, progress *pr, err *e)
{
    engine *en = x->en;
    int rc = sync_inbound_one(x, sc, o, e);
    if (rc == 0) rc = plan_check(x, o, e);
    if (rc == 0 && x->links && o->dn) {
        if (o->flags & CS_F_DELETED) dn_links_forget(x->links, o->dn);   /* its row is gone */
        else dn_links_note(x->links, o->dn, o->id, o->mv_id, o->flags);
    }
    store_async_release(en->st, release_cs, o);   /* read by the writer thread when writes are asynchronous */
    x->st->seen++;
    progress_tick(pr, (size_t)x->st->seen);
    if (rc == 0 && (i + 1) % SYNC_COMMIT_EVERY == 0) {
        if (x->plan) rc = store_mv_ids_chosen(en->st, e);
        if (rc == 0) rc = engine_commit_next(en, e);   /* asynchronous writes: the writer commits */
        if (rc == 0 && en->stop && *en->stop) rc = err_set(e, ERR_RETRY, "stopped by a signal; the sync resumes next time");
    }
    return rc;
}

/* The pass of a first sync with asynchronous writes: the store's writer thread reads the next batch
   of objects and executes the pass's writes (metaverse inserts, links, new target objects) while
   this thread evaluates (store_async_begin in store.h). Objects of a full sync change only when the
   pass reaches them, so reading a batch ahead reads what the pass would read. */
static int pass_async(sync_ctx *x, const store_connector *sc, const idset *ids, progress *pr, err *e)
{
    store *s = x->en->st;
    cs_object **cur = xcalloc(PASS_BATCH, sizeof *cur), **next = xcalloc(PASS_BATCH, sizeof *next);
    uint64_t tcur = 0, tnext = 0;
    size_t pos = 0, ncur = ids->n < PASS_BATCH ? ids->n : PASS_BATCH, nnext = 0;
    int rc = ncur ? store_async_read(s, ids->v, ncur, cur, &tcur, e) : 0;
    while (rc == 0 && ncur) {
        size_t start = pos;
        pos += ncur;
        nnext = ids->n - pos < PASS_BATCH ? ids->n - pos : PASS_BATCH;
        rc = store_async_read_wait(s, tcur, e);
        if (rc == 0 && nnext) rc = store_async_read(s, ids->v + pos, nnext, next, &tnext, e);
        for (size_t k = 0; rc == 0 && k < ncur; k++) {
            cs_object *o = cur[k];
            cur[k] = NULL;
            if (o) rc = pass_object(x, sc, o, start + k, pr, e);
        }
        for (size_t k = 0; k < ncur; k++) {   /* left by an error */
            cs_object_free(cur[k]);
            cur[k] = NULL;
        }
        cs_object **t = cur;
        cur = next;
        next = t;
        tcur = tnext;
        ncur = rc == 0 ? nnext : 0;
    }
    store_sync(s, NULL);   /* a read may still be filling cur */
    for (size_t k = 0; k < PASS_BATCH; k++) {
        cs_object_free(cur[k]);
        cs_object_free(next[k]);
    }
    free(cur);
    free(next);
    return rc;
}

struct pass_ctx {
    sync_ctx *x;
    const store_connector *sc;
    idset ids;
};

int engine_sync(engine *en, const store_connector *sc, bool full, int64_t run_id, engine_stats *st, err *e)
{
    sync_ctx x;
    sync_ctx_init(&x, en, run_id, st);
    struct pass_ctx p = {&x, sc, {0}};
    progress pr;
    int rc = sync_ctx_load(&x, e);
    if (rc == 0) rc = sync_join_defer(&x, e);
    if (rc) goto done;
    x.waits = ref_waits_new();
    /* Ids first, objects one at a time after: the store is written while we go. */
    rc = store_cs_ids(en->st, sc->id, full ? STORE_CS_ALL : STORE_CS_PENDING, &p.ids.v, &p.ids.n, e);
    if (rc) goto done;
    p.ids.cap = p.ids.n;
    progress_init(&pr, en->progress, sc->name, full ? "full sync" : "delta sync");
    pr.total = p.ids.n;
    /* A full sync processes every object of the connector and writes each one's link itself, so
       references to them can be answered from memory (engine_dn_links.h says when). */
    if (full) rc = seed_links(&x, sc, e);
    if (rc == 0) rc = store_begin(en->st, e);
    if (rc == 0 && full) rc = plan_ids(&x, &p.ids, e);
    if (rc == 0 && full) rc = sync_outbound_early(&x, p.ids.n, &x.early, e);
    double T0 = phase_now();   /* phase timings: inbound, retries, outbound (debug log) */
    /* a first sync into targets that need nothing from the rest of the pass (x.early) only writes
       what it decides: its writes go to the store's writer thread */
    bool async = rc == 0 && x.early && x.plan;
    if (async) rc = store_async_begin(en->st, e);
    if (async && rc == 0) {
        rc = pass_async(&x, sc, &p.ids, &pr, e);
        int arc = store_async_end(en->st, rc ? NULL : e);
        if (rc == 0) rc = arc;
    }
    for (size_t i = 0; !async && rc == 0 && i < p.ids.n; i++) {
        cs_object *o = NULL;
        rc = store_cs_get_by_id(en->st, p.ids.v[i], &o, e);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            err_clear(e);
            continue;
        }
        if (rc == 0) rc = pass_object(&x, sc, o, i, &pr, e);
    }
    double T1 = phase_now();
    /* Forward references: objects whose referenced objects appeared later in this pass. */
    idset_sort_unique(&x.retry);
    for (size_t i = 0; rc == 0 && i < x.retry.n; i++) {
        bool changed = false;
        ref_wait *rw = ref_waits_take(x.waits, x.retry.v[i]);
        rc = rw ? retry_waiting(&x, x.retry.v[i], rw, &changed, e)
                : sync_recompute_mv(&x, x.retry.v[i], &changed, NULL, e);
        if (changed) outbound_add(&x, x.retry.v[i]);
    }
    double T2 = phase_now();
    size_t deferred = join_mem_rows(x.join_mem);
    if (rc == 0) rc = sync_join_flush(&x, e);
    double T2b = phase_now();
    /* the outbound pass may provision into this connector: its DNs are no longer all known here */
    dn_links_free(x.links);
    x.links = NULL;
    if (rc == 0 && full) {
        /* A full sync re-evaluates every outbound rule for every metaverse object (rules may have changed). */
        int64_t *all = NULL;
        size_t nall = 0;
        rc = store_mv_ids(en->st, &all, &nall, e);
        for (size_t i = 0; rc == 0 && i < nall; i++)
            if (!x.plan || !id_plan_marked(x.plan, all[i])) idset_add(&x.outbound, all[i]);
        free(all);
    }
    double T3 = phase_now();
    if (rc == 0) rc = sync_outbound_set(&x, &x.outbound, e);
    if (rc == 0 && x.plan) rc = store_mv_ids_chosen(en->st, e);
    if (rc == 0) rc = store_commit(en->st, e);
    else store_rollback(en->st);
    log_debug("%s %s: inbound pass %.2f s, forward-reference retries %.2f s (%zu objects), join index write "
              "%.2f s (%zu rows), outbound pass %.2f s", sc->name, full ? "full sync" : "delta sync", T1 - T0,
              T2 - T1, x.retry.n, T2b - T2, deferred, phase_now() - T3);
    progress_done(&pr, (size_t)st->seen);
    if (rc == 0 && full) rc = store_connector_set_flags(en->st, sc->id, -1, 0, e);
done:
    free(p.ids.v);
    sync_ctx_clear(&x);
    return rc;
}
