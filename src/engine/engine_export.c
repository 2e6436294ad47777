/* Export driver: sends a connector's pending exports in batches and records per-object
 * results. A successful export updates the connector-space copy optimistically and marks it
 * as awaiting a confirming import; failures stay pending with their error and are retried. */
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_progress.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXPORT_BATCH 256
#define EXPORT_MAX_UNCONFIRMED 5   /* exports of the same change without the import ever showing it */

typedef struct item_scratch {
    conn_mod *mods;
    size_t nmods;
    attrs *full;        /* ADD: desired attributes without internal ones */
    attrs *adds, *dels; /* value lists for incremental multi-valued changes */
} item_scratch;

static void scratch_free(item_scratch *s)
{
    free(s->mods);
    attrs_free(s->full);
    attrs_free(s->adds);
    attrs_free(s->dels);
    memset(s, 0, sizeof *s);
}

static void push_mod(item_scratch *s, conn_mod_op op, const attr *a)
{
    s->mods = xrealloc(s->mods, (s->nmods + 1) * sizeof(conn_mod));
    s->mods[s->nmods].op = op;
    s->mods[s->nmods].attr = *a;   /* borrowed: owned by the object or the scratch sets */
    s->nmods++;
}

/* Builds the modifications of an update: multi-valued references as single-value adds and
   deletes (one member change costs one member operation), everything else as replace. */
static void build_mods(const cs_object *o, item_scratch *s)
{
    s->adds = attrs_new();
    s->dels = attrs_new();
    for (size_t i = 0; o->export_attrs && i < o->export_attrs->n; i++) {
        const attr *want = &o->export_attrs->a[i];
        if (strcmp(want->name, EXPORT_CLEAR_ATTR) == 0) continue;
        const attr *have = attrs_get(o->attrs, want->name);
        bool multi = want->nvals > 1 || (have && have->nvals > 1) || strcasecmp(want->name, "member") == 0 ||
                     strcasecmp(want->name, "members") == 0 || strcasecmp(want->name, "uniqueMember") == 0;
        if (want->type == AT_REFERENCE && multi) {
            attr *add = attrs_get_or_add(s->adds, want->name, want->type);
            attr *del = attrs_get_or_add(s->dels, want->name, want->type);
            for (size_t k = 0; k < want->nvals; k++)
                if (!have || !attr_has_value(have, want->vals[k].data, want->vals[k].len))
                    attr_add(add, want->vals[k].data, want->vals[k].len);
            for (size_t k = 0; have && k < have->nvals; k++)
                if (!attr_has_value(want, have->vals[k].data, have->vals[k].len))
                    attr_add(del, have->vals[k].data, have->vals[k].len);
            continue;
        }
        push_mod(s, CONN_MOD_REPLACE, want);
    }
    for (size_t i = 0; i < s->adds->n; i++)
        if (s->adds->a[i].nvals) push_mod(s, CONN_MOD_ADD, &s->adds->a[i]);
    for (size_t i = 0; i < s->dels->n; i++)
        if (s->dels->a[i].nvals) push_mod(s, CONN_MOD_DELETE, &s->dels->a[i]);
    const attr *clear = o->export_attrs ? attrs_get(o->export_attrs, EXPORT_CLEAR_ATTR) : NULL;
    for (size_t k = 0; clear && k < clear->nvals; k++) {
        attr *empty = attrs_put(s->dels, clear->vals[k].data, AT_STRING);
        push_mod(s, CONN_MOD_REPLACE, empty);
    }
}

/* Applies an exported change to the connector-space copy (until an import confirms it). */
static void apply_export(cs_object *o)
{
    for (size_t i = 0; o->export_attrs && i < o->export_attrs->n; i++) {
        const attr *a = &o->export_attrs->a[i];
        if (strcmp(a->name, EXPORT_CLEAR_ATTR) == 0) {
            for (size_t k = 0; k < a->nvals; k++) attrs_remove(o->attrs, a->vals[k].data);
            continue;
        }
        attr *t = attrs_put(o->attrs, a->name, a->type);
        for (size_t k = 0; k < a->nvals; k++) attr_add(t, a->vals[k].data, a->vals[k].len);
    }
    if (o->export_dn) {
        free(o->dn);
        o->dn = o->export_dn;
        o->export_dn = NULL;
    }
    attrs_free(o->export_attrs);
    o->export_attrs = NULL;
    o->export_op = CS_EXPORT_NONE;
    free(o->export_error);
    o->export_error = NULL;
    o->flags = (o->flags & ~CS_F_PROVISIONAL) | CS_F_EXPORTED;
}

static void record_error(engine *en, int64_t run_id, engine_stats *st, cs_object *o, const char *msg)
{
    st->export_errors++;
    st->errors++;
    free(o->export_error);
    o->export_error = xstrdup(msg);
    /* Target objects without a DN (SCIM) are named by their userName / displayName. */
    const char *name = o->dn;
    const attrs *src = o->export_attrs ? o->export_attrs : o->attrs;
    if (!name) name = attrs_get_str(src, "userName");
    if (!name) name = attrs_get_str(src, "displayName");
    if (!name) name = attrs_get_str(o->attrs, "userName");
    char label[512];
    if (!o->dn && name) snprintf(label, sizeof label, "%s %s", o->object_type, name);
    else snprintf(label, sizeof label, "%s", name ? name : "(unnamed object)");
    log_warn("export of %s failed: %s", label, msg);
    store_run_error(en->st, run_id, label, o->flags & CS_F_PROVISIONAL ? NULL : o->anchor,
                    o->flags & CS_F_PROVISIONAL ? 0 : o->anchor_len, "export-error", msg, NULL);
}

static int apply_result(engine *en, const store_connector *sc, int64_t run_id, engine_stats *st, cs_object *o,
                        conn_export_item *it, err *e)
{
    store *s = en->st;
    if (it->status == CONN_EXPORT_RETRY) {
        st->retries++;
        return 0;
    }
    if (it->status == CONN_EXPORT_ERROR) {
        o->export_attempts++;
        record_error(en, run_id, st, o, it->message ? it->message : "the target refused the change (no details)");
        return store_cs_save(s, o, e);
    }
    st->exported++;
    if (o->export_op == CS_EXPORT_DELETE) {
        st->export_deletes++;
        return store_cs_delete(s, o->id, e);
    }
    if (o->export_op == CS_EXPORT_ADD) {
        st->export_adds++;
        if (it->adopted) st->adopted++;
        if (!it->new_anchor || !it->new_anchor_len) {
            record_error(en, run_id, st, o, "the target created the object but returned no identifier; it will be "
                         "matched by the next import");
            return store_cs_save(s, o, e);
        }
        /* A soft match may adopt an object the last import staged as a disconnector: this
           provisioned object takes its place. */
        cs_object *twin = NULL;
        int rc = store_cs_get_by_anchor(s, sc->id, it->new_anchor, it->new_anchor_len, &twin, e);
        if (rc == 0 && twin->id != o->id) {
            attrs_free(o->attrs);
            o->attrs = twin->attrs;
            twin->attrs = NULL;
            rc = store_cs_delete(s, twin->id, e);
        } else if (rc == ERR_NOTFOUND) {
            rc = 0;
            err_clear(e);
        }
        cs_object_free(twin);
        if (rc) return rc;
        free(o->anchor);
        o->anchor = xmemdup(it->new_anchor, it->new_anchor_len);
        o->anchor_len = it->new_anchor_len;
        if (it->adopted) store_run_error(s, run_id, o->dn, o->anchor, o->anchor_len, "export-adopted",
                                         "soft match: an existing target object was adopted instead of created", NULL);
    } else {
        st->export_updates++;
        o->export_attempts++;
        if (o->export_attempts > EXPORT_MAX_UNCONFIRMED) {
            char msg[256];
            snprintf(msg, sizeof msg, "exported %d times but the target never showed the values on import; check "
                     "the target's attribute mapping", o->export_attempts - 1);
            record_error(en, run_id, st, o, msg);
        }
    }
    apply_export(o);
    return store_cs_save(s, o, e);
}

static int export_batch(engine *en, const store_connector *sc, const conn_ops *ops, conn *cn, int64_t run_id,
                        engine_stats *st, const int64_t *ids, size_t n, err *e)
{
    cs_object **objs = xcalloc(n, sizeof *objs);
    conn_export_item *items = xcalloc(n, sizeof *items);
    item_scratch *scr = xcalloc(n, sizeof *scr);
    size_t m = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cs_object *o = NULL;
        rc = store_cs_get_by_id(en->st, ids[i], &o, e);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            err_clear(e);
            continue;
        }
        if (rc) break;
        if (o->export_op == CS_EXPORT_NONE) {
            cs_object_free(o);
            continue;
        }
        conn_export_item *it = &items[m];
        item_scratch *sc2 = &scr[m];
        objs[m] = o;
        it->object_type = o->object_type;
        it->dn = o->dn;
        it->status = CONN_EXPORT_RETRY;   /* items the connector never reaches stay pending */
        bool provisional = (o->flags & CS_F_PROVISIONAL) != 0;
        if (!provisional) {
            it->anchor = o->anchor;
            it->anchor_len = o->anchor_len;
        }
        switch (o->export_op) {
        case CS_EXPORT_ADD:
            it->op = CONN_EXPORT_ADD;
            sc2->full = o->export_attrs ? attrs_clone(o->export_attrs) : attrs_new();
            attrs_remove(sc2->full, EXPORT_CLEAR_ATTR);
            it->full = sc2->full;
            break;
        case CS_EXPORT_DELETE:
            it->op = CONN_EXPORT_DELETE;
            break;
        default:
            it->op = o->export_dn ? CONN_EXPORT_RENAME : CONN_EXPORT_UPDATE;
            it->new_dn = o->export_dn;
            build_mods(o, sc2);
            it->mods = sc2->mods;
            it->nmods = sc2->nmods;
            it->full = o->attrs;
            break;
        }
        m++;
    }
    if (rc == 0 && m) {
        err be = {0};
        int brc = ops->export_batch(cn, items, m, &be);
        rc = store_begin(en->st, e);
        for (size_t i = 0; rc == 0 && i < m; i++) rc = apply_result(en, sc, run_id, st, objs[i], &items[i], e);
        if (rc == 0) rc = engine_commit(en, e);
        else store_rollback(en->st);
        if (rc == 0 && brc) {
            *e = be;
            rc = brc;
        }
    }
    conn_export_items_free_output(items, m);
    for (size_t i = 0; i < n; i++) {
        cs_object_free(objs[i]);
        scratch_free(&scr[i]);
    }
    free(objs);
    free(items);
    free(scr);
    return rc;
}

struct count_ctx {
    long long deletes;
};

int engine_export(engine *en, const store_connector *sc, int64_t run_id, engine_stats *st, err *e)
{
    if (engine_staging_on_for(en))
        return err_set(e, ERR_REFUSED, "staging mode is on: connector '%s' is not exported; review pending changes "
                       "with `idsync export-preview %s` and turn staging off with `idsync staging off`", sc->name, sc->name);
    idset ids = {0};
    const conn_ops *ops = NULL;
    conn *cn = NULL;
    progress pr;
    int rc = store_cs_ids(en->st, sc->id, STORE_CS_EXPORT, &ids.v, &ids.n, e);
    ids.cap = ids.n;
    if (rc || !ids.n) goto done;
    /* Deletion threshold: a mass delete (a broken filter, a renamed OU) waits for a human. */
    int64_t threshold = 0;
    store_meta_get_int(en->st, "deletion_threshold", 500, &threshold, NULL);
    struct count_ctx cc = {0};
    int64_t ndel = 0;
    rc = store_cs_count(en->st, sc->id, STORE_CS_EXPORT_DELETES, &ndel, e);
    if (rc) goto done;
    cc.deletes = ndel;
    if (threshold > 0 && cc.deletes > threshold && !en->allow_deletes) {
        rc = err_set(e, ERR_REFUSED, "connector '%s' has %lld pending deletes, more than the deletion threshold of %lld; "
                     "review them with `idsync export-preview %s`, then export with `idsync run %s export "
                     "--allow-deletes` if they are intended", sc->name, cc.deletes, (long long)threshold, sc->name, sc->name);
        goto done;
    }
    rc = engine_conn_open(sc, en->key, en->server_id, &ops, &cn, e);
    if (rc) goto done;
    if (!ops->export_batch) {
        rc = err_set(e, ERR_USAGE, "connector '%s' (%s) cannot export", sc->name, sc->type);
        goto done;
    }
    progress_init(&pr, en->progress, sc->name, "export");
    pr.total = ids.n;
    for (size_t i = 0; rc == 0 && i < ids.n; i += EXPORT_BATCH) {
        size_t n = ids.n - i < EXPORT_BATCH ? ids.n - i : EXPORT_BATCH;
        rc = export_batch(en, sc, ops, cn, run_id, st, ids.v + i, n, e);
        st->seen += (long long)n;
        progress_tick(&pr, (size_t)st->seen);
        if (rc == 0 && en->stop && *en->stop) rc = err_set(e, ERR_RETRY, "stopped by a signal; the export resumes next time");
    }
    progress_done(&pr, (size_t)st->seen);
done:
    if (ops && cn) ops->close(cn);
    free(ids.v);
    return rc;
}
