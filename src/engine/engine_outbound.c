/* Outbound synchronization: for one metaverse object and every target connector, provision,
 * update or deprovision its connector-space object and record the pending export as the exact
 * difference between the desired state and the connector-space copy. */
#include "engine/engine_flow.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include "util/util_uuid.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROVISIONAL_PREFIX "provisional:"
/* objects per transaction (as SYNC_COMMIT_EVERY in engine_sync.c): fewer, larger WAL commits */
#define OUTBOUND_COMMIT_EVERY 50000

struct linked_ctx {
    cs_object **v;
    size_t n;
};

/* PROVISIONAL_PREFIX "%012llx-%010llx-%.8s" of (time, sequence, uuid), without printf: one per
   provisioned object. Caller frees. */
static char *provisional_anchor(uint64_t t, uint64_t seq, const char *uuid)
{
    if (t >> 48 || seq >> 40)   /* wider than the fixed digits: as printf writes it */
        return xasprintf(PROVISIONAL_PREFIX "%012llx-%010llx-%.8s", (unsigned long long)t, (unsigned long long)seq, uuid);
    static const char hx[] = "0123456789abcdef";
    size_t pl = strlen(PROVISIONAL_PREFIX), ul = strnlen(uuid, 8);
    char *out = xmalloc(pl + 12 + 1 + 10 + 1 + ul + 1), *p = out + pl;
    memcpy(out, PROVISIONAL_PREFIX, pl);
    for (int i = 11; i >= 0; i--, t >>= 4) p[i] = hx[t & 15];
    p += 12;
    *p++ = '-';
    for (int i = 9; i >= 0; i--, seq >>= 4) p[i] = hx[seq & 15];
    p += 10;
    *p++ = '-';
    memcpy(p, uuid, ul);
    p[ul] = '\0';
    return out;
}

static bool is_target_rule(const rule *r, const store_connector *t, const mv_object *mv)
{
    if (r->direction != RULE_OUTBOUND || !r->enabled) return false;
    return rule_applies_to(r, t->name, t->type, mv->object_type);
}

static bool has_inbound(sync_ctx *x, const store_connector *c)
{
    for (size_t i = 0; i < x->rules->n; i++) {
        const rule *r = x->rules->rules[i];
        if (!r->enabled || r->direction != RULE_INBOUND) continue;
        if (strcmp(r->connector, "*") == 0 ? (strcmp(r->connector_type, "*") == 0 || strcasecmp(r->connector_type, c->type) == 0)
                                           : strcmp(r->connector, c->name) == 0)
            return true;
    }
    return false;
}

/* MV ids in reference values -> the target's own reference (SCIM id or DN); values whose
   target object does not exist yet (or is not exported yet) are dropped and reported. */
static void resolve_outbound_refs(sync_ctx *x, const store_connector *t, attr *a, bool *unresolved)
{
    size_t w = 0;
    bool by_anchor = strcmp(t->type, "scim") == 0;
    bool none = false;   /* the target has no object a reference could point to (see sync_outbound_set) */
    for (size_t i = 0; i < x->nconns; i++)
        if (x->conns[i] == t) none = x->no_ref_target && x->no_ref_target[i];
    for (size_t i = 0; i < a->nvals; i++) {
        int64_t m = strtoll(a->vals[i].data, NULL, 10);
        err e2 = {0};
        char *val = NULL, *dn = NULL;
        void *anchor = NULL;
        size_t vlen = 0, alen = 0;
        /* the first exported object of the target joined to m (neither provisional nor deleted) */
        if (m > 0 && !none && store_cs_joined_ref(x->en->st, m, t->id, by_anchor ? &anchor : NULL, &alen,
                                         by_anchor ? NULL : &dn, &e2) == 0) {
            if (by_anchor && anchor) val = xstrndup(anchor, alen), vlen = strlen(val);
            else if (dn) val = dn, dn = NULL, vlen = strlen(val);
        }
        free(anchor);
        free(dn);
        free(a->vals[i].data);
        if (!val) {
            *unresolved = true;
            continue;
        }
        a->vals[w].data = val;
        a->vals[w].len = vlen;
        w++;
    }
    a->nvals = w;
}

/* desired vs current: the attributes to send (changed values) plus the clear list. */
static attrs *export_diff(const attrs *desired, const attrs *managed, const attrs *current)
{
    attrs *d = attrs_new();
    for (size_t i = 0; i < desired->n; i++) {
        const attr *want = &desired->a[i];
        if (strcasecmp(want->name, "dn") == 0) continue;
        const attr *have = attrs_get(current, want->name);
        if (have && attr_equal(want, have)) continue;
        if (have && have->type != want->type && have->nvals == want->nvals) {
            /* Same values under another type (e.g. a string imported for an integer): compare as text. */
            bool same = true;
            for (size_t k = 0; k < want->nvals && same; k++)
                same = attr_has_value(have, want->vals[k].data, want->vals[k].len);
            if (same) continue;
        }
        attr *o = attrs_put(d, want->name, want->type);
        for (size_t k = 0; k < want->nvals; k++) attr_add(o, want->vals[k].data, want->vals[k].len);
    }
    attr *clear = NULL;
    for (size_t i = 0; managed && i < managed->n; i++) {
        const char *name = managed->a[i].name;
        if (strcasecmp(name, "dn") == 0 || attrs_get(desired, name)) continue;
        const attr *have = attrs_get(current, name);
        if (!have || !have->nvals) continue;
        if (!clear) clear = attrs_put(d, EXPORT_CLEAR_ATTR, AT_STRING);
        attr_add_str(clear, name);
    }
    if (!d->n) {
        attrs_free(d);
        return NULL;
    }
    return d;
}

static int outbound_target(sync_ctx *x, const mv_object *mv, int64_t m, const store_connector *t,
                           cs_object *existing, err *e)
{
    store *s = x->en->st;
    const rule *inscope[64];
    size_t nin = 0;
    const rule *provision = NULL;
    for (size_t i = 0; mv && i < x->rules->n && nin < 64; i++) {
        const rule *r = x->rules->rules[i];
        if (!is_target_rule(r, t, mv) || !rule_scope_match(r, NULL, mv->attrs)) continue;
        inscope[nin++] = r;
        if (r->link_type == RULE_LINK_PROVISION && (!provision || r->precedence < provision->precedence)) provision = r;
    }
    if (nin == 0) {
        /* Out of scope (or the MV object is gone): deprovision what we provisioned. */
        if (!existing || has_inbound(x, t)) return 0;
        x->st->deprovisions++;
        if (x->current) {
            int qrc = sync_queue_referrers(x, m, x->current, e);
            if (qrc) return qrc;
        }
        if (existing->flags & CS_F_PROVISIONAL) return store_cs_delete(s, existing->id, e);
        if (existing->export_op == CS_EXPORT_DELETE) return 0;
        existing->export_op = CS_EXPORT_DELETE;
        attrs_free(existing->export_attrs);
        existing->export_attrs = NULL;
        existing->mv_id = mv ? m : 0;
        return store_cs_save(s, existing, e);
    }
    flow_source fs;
    flow_source_init(&fs, mv->attrs, NULL);
    flow_result res = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nin; i++) rc = flow_eval_rule(inscope[i], t->name, &fs, &res, e);
    flow_source_clear(&fs);
    if (rc) {
        flow_result_clear(&res);
        err_prefix(e, "metaverse object %lld -> %s", (long long)m, t->name);
        x->st->errors++;
        store_run_error(s, x->run_id, existing ? existing->dn : NULL, NULL, 0, "sync-error", e->msg, NULL);
        err_clear(e);
        return 0;
    }
    bool unresolved = false;
    for (size_t i = 0; i < res.n; i++)
        if (res.c[i].value.type == AT_REFERENCE && res.c[i].outcome == EXPR_VALUE)
            resolve_outbound_refs(x, t, &res.c[i].value, &unresolved);
    attrs *desired = attrs_new(), *managed = attrs_new();
    flow_resolve(&res, existing ? existing->attrs : NULL, desired, NULL, managed);
    x->st->flows += (long long)res.n;   /* before the clear, which zeroes the count */
    flow_result_clear(&res);
    /* owned copy: "dn" is removed from desired below, which frees the attribute's values */
    char *want_dn = attrs_get_str(desired, "dn") ? xstrdup(attrs_get_str(desired, "dn")) : NULL;
    cs_object *o = existing;
    bool dirty = false;
    if (!o) {
        if (!provision) goto out;   /* join-only rules: nothing to create */
        o = xcalloc(1, sizeof *o);
        /* Time-ordered (run start, sequence) with a random tail: new rows land at the end of
           the anchor index instead of on random pages, and stay unique across servers. */
        static unsigned long long seq;
        char uuid[37];
        uuid_v4(uuid);
        char *anchor = provisional_anchor((uint64_t)store_now(), ++seq, uuid);
        o->anchor_len = strlen(anchor);
        o->anchor = anchor;
        o->connector_id = t->id;
        o->object_type = xstrdup(provision->cs_object_type);
        o->dn = want_dn ? xstrdup(want_dn) : NULL;
        o->attrs = attrs_new();
        o->mv_id = m;
        o->flags = CS_F_PROVISIONAL;
        o->export_op = CS_EXPORT_ADD;
        attrs_remove(desired, "dn");
        o->export_attrs = attrs_clone(desired);
        x->st->provisions++;
        dirty = true;
    } else if ((o->flags & CS_F_PROVISIONAL) || o->export_op == CS_EXPORT_ADD) {
        attrs_remove(desired, "dn");
        if (!o->export_attrs || !attrs_equal(o->export_attrs, desired)) {
            attrs_free(o->export_attrs);
            o->export_attrs = attrs_clone(desired);
            o->export_op = CS_EXPORT_ADD;
            dirty = true;
        }
        if (want_dn && (!o->dn || strcmp(o->dn, want_dn) != 0)) {
            free(o->dn);
            o->dn = xstrdup(want_dn);
            dirty = true;
        }
    } else {
        attrs *diff = export_diff(desired, managed, o->attrs);
        bool rename = want_dn && o->dn && strcasecmp(want_dn, o->dn) != 0;
        int op = (diff || rename) ? CS_EXPORT_UPDATE : CS_EXPORT_NONE;
        if (o->export_op == CS_EXPORT_DELETE) op = diff || rename ? CS_EXPORT_UPDATE : CS_EXPORT_NONE;
        bool same = op == o->export_op && ((!diff && !o->export_attrs) ||
                    (diff && o->export_attrs && attrs_equal(diff, o->export_attrs))) &&
                    ((!rename && !o->export_dn) || (rename && o->export_dn && strcmp(o->export_dn, want_dn) == 0));
        if (!same) {
            attrs_free(o->export_attrs);
            o->export_attrs = diff;
            diff = NULL;
            o->export_op = op;
            free(o->export_dn);
            o->export_dn = rename ? xstrdup(want_dn) : NULL;
            if (op == CS_EXPORT_NONE) {
                free(o->export_error);
                o->export_error = NULL;
            }
            dirty = true;
            if (op == CS_EXPORT_UPDATE) x->st->export_updates++;
        }
        attrs_free(diff);
    }
    int want_flag = unresolved ? CS_F_UNRESOLVED : 0;
    if ((o->flags & CS_F_UNRESOLVED) != want_flag) {
        o->flags = (o->flags & ~CS_F_UNRESOLVED) | want_flag;
        dirty = true;
    }
    if (dirty) rc = store_cs_save(s, o, e);
    if (o != existing) cs_object_free(o);
out:
    free(want_dn);
    attrs_free(desired);
    attrs_free(managed);
    return rc;
}

static bool has_outbound(sync_ctx *x, const store_connector *t)
{
    bool any_rule = false;
    for (size_t r = 0; r < x->rules->n && !any_rule; r++) {
        const rule *ru = x->rules->rules[r];
        any_rule = ru->enabled && ru->direction == RULE_OUTBOUND &&
                   (strcmp(ru->connector, "*") == 0 ? (strcmp(ru->connector_type, "*") == 0 ||
                    strcasecmp(ru->connector_type, t->type) == 0) : strcmp(ru->connector, t->name) == 0);
    }
    return any_rule;
}

/* Outbound evaluation of MV object m (mv: its current state, borrowed; NULL: it is gone). brand_new:
   m was just created with an id never used before, so no connector-space object is joined to it. */
static int outbound_mv(sync_ctx *x, int64_t m, const mv_object *mv, bool brand_new, err *e)
{
    struct linked_ctx l = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < x->nconns; i++) {
        const store_connector *t = x->conns[i];
        /* Only connectors with outbound rules (which may also have objects to deprovision). */
        if (!has_outbound(x, t)) continue;
        /* this target's objects only: the sources' (larger) objects are not decoded */
        if (!brand_new) rc = store_cs_load_joined(x->en->st, m, t->id, &l.v, &l.n, e);
        cs_object *existing = NULL;
        for (size_t k = 0; rc == 0 && k < l.n && !existing; k++)
            if (!(l.v[k]->flags & CS_F_DELETED)) existing = l.v[k];
        if (rc == 0 && (mv || existing)) rc = outbound_target(x, mv, m, t, existing, e);
        for (size_t k = 0; k < l.n; k++) cs_object_free(l.v[k]);
        free(l.v);
        l.v = NULL;
        l.n = 0;
    }
    return rc;
}

int sync_outbound_one(sync_ctx *x, int64_t m, err *e)
{
    mv_object *mv = NULL;
    int rc = store_mv_get_attrs(x->en->st, m, &mv, e);   /* outbound reads no lineage */
    if (rc == ERR_NOTFOUND) rc = 0, err_clear(e), mv = NULL;
    if (rc == 0) rc = outbound_mv(x, m, mv, false, e);
    mv_object_free(mv);
    return rc;
}

int sync_outbound_new(sync_ctx *x, const mv_object *mv, err *e)
{
    return outbound_mv(x, mv->id, mv, true, e);
}

/* Large sets only: below this, scanning a target's objects could cost more than the lookups it saves. */
#define REF_TARGET_CHECK_MIN 50000

/* Marks the targets that have no object a reference can point to (joined, neither provisional nor
   deleted), typically before the first export. None can appear during an outbound pass: it creates
   provisional objects only, and changes no existing object's provisional or deleted flag or join
   (other than to none), so every reference lookup into such a target would fail. */
static int find_targets_without_refs(sync_ctx *x, size_t nids, size_t min, err *e)
{
    int rc = 0;
    if (nids < min) return 0;
    x->no_ref_target = xcalloc(x->nconns ? x->nconns : 1, sizeof(bool));
    for (size_t i = 0; rc == 0 && i < x->nconns; i++) {
        int64_t n = 0;
        bool any = true;
        if (!has_outbound(x, x->conns[i])) continue;   /* never a target: no reference lookups */
        rc = store_cs_count(x->en->st, x->conns[i]->id, STORE_CS_ALL, &n, e);
        /* the scan below reads each of the target's objects once: worth it against about three
           lookups per MV object when the target is not much larger than the set */
        if (rc == 0 && (size_t)n <= 4 * nids) rc = store_cs_any_ref_target(x->en->st, x->conns[i]->id, &any, e);
        x->no_ref_target[i] = !any;
    }
    return rc;
}

int sync_outbound_early(sync_ctx *x, size_t npass, bool *early, err *e)
{
    *early = false;
    free(x->no_ref_target);
    x->no_ref_target = NULL;
    /* any size: a pass that can skip reading its objects back gains more than the scan costs */
    int rc = find_targets_without_refs(x, npass, 0, e);
    if (rc || !x->no_ref_target) return rc;
    bool all = true;
    for (size_t i = 0; i < x->nconns; i++)
        if (has_outbound(x, x->conns[i]) && !x->no_ref_target[i]) all = false;
    *early = all;
    return 0;
}

int sync_outbound_set(sync_ctx *x, idset *ids, err *e)
{
    idset_sort_unique(ids);
    bool *outer = x->no_ref_target;
    x->no_ref_target = NULL;
    int rc = find_targets_without_refs(x, ids->n, REF_TARGET_CHECK_MIN, e);
    idset *prev = x->current;
    x->current = ids;   /* referrers found while evaluating are appended and evaluated too */
    for (size_t i = 0; rc == 0 && i < ids->n; i++) {
        rc = sync_outbound_one(x, ids->v[i], e);
        if (rc == 0 && (i + 1) % OUTBOUND_COMMIT_EVERY == 0 && store_in_tx(x->en->st)) {
            rc = engine_commit(x->en, e);
            if (rc == 0) rc = store_begin(x->en->st, e);
        }
    }
    x->current = prev;
    free(x->no_ref_target);
    x->no_ref_target = outer;
    return rc;
}

int engine_sync_pending_references(engine *en, int64_t run_id, engine_stats *st, err *e)
{
    sync_ctx x;
    sync_ctx_init(&x, en, run_id, st);
    int rc = sync_ctx_load(&x, e);
    idset ids = {0};
    for (size_t i = 0; rc == 0 && i < x.nconns; i++) {
        int64_t *v = NULL;
        size_t n = 0;
        rc = store_cs_ids(en->st, x.conns[i]->id, STORE_CS_WAITING_MV, &v, &n, e);
        for (size_t k = 0; k < n; k++) idset_add(&ids, v[k]);
        free(v);
    }
    if (rc == 0 && ids.n) {
        rc = store_begin(en->st, e);
        if (rc == 0) rc = sync_outbound_set(&x, &ids, e);
        if (rc == 0) rc = store_commit(en->st, e);
        else store_rollback(en->st);
    }
    free(ids.v);
    sync_ctx_clear(&x);
    return rc;
}
