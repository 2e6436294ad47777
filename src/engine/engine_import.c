/* Import driver: streams a connector's objects into its connector space. A page of objects
 * and the watermark that covers it commit in one transaction, so a failed run never advances
 * a cookie past data it did not store; re-running re-stages idempotently.
 *
 * A full import runs in two threads (engine_pipe): the connector reads and decodes on the
 * calling thread and hands each whole object, encoded, to a writer thread that owns the
 * database for the length of the import. Deltas, deletions and present phases are rare and
 * order-sensitive: the reader drains the writer and handles them itself. */
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_anchor_set.h"
#include "engine/engine_pipe.h"
#include "engine/engine_progress.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <stdlib.h>
#include <string.h>

#define IMPORT_COMMIT_EVERY 2000   /* objects per transaction when the connector gives no cookie */

typedef struct import_ctx {
    engine *en;
    const store_connector *sc;
    const char *partition;
    int64_t run_id;
    bool full;
    engine_stats *st;
    size_t since_commit;
    progress pr;
    /* RFC 4533 present phase: anchors named as still present */
    bool present_mode;
    anchor_set *seen;   /* anchors seen by this full import (or named by a present phase) */
    bool fresh;         /* the connector space was empty when this full import began: no lookups */
    engine_pipe *pipe;  /* full import: the database writer thread; NULL: the reader writes itself */
    buf enc;            /* reader's scratch for encoding attributes */
} import_ctx;

/* What the reader hands the writer, written straight into the pipe's batch: this header, then
   the DN, type and message (each NUL-terminated, when present), the anchor and the blob. */
typedef enum import_rec_kind { REC_OBJECT, REC_COMMIT, REC_WARNING } import_rec_kind;
typedef struct import_rec {
    import_rec_kind kind;
    bool fresh;              /* REC_OBJECT: insert without a lookup */
    bool have_cookie;        /* REC_COMMIT */
    bool has_dn, has_type, has_message;
    size_t dn_len, type_len, message_len;   /* without the NUL */
    size_t anchor_len;
    size_t blob_len;         /* REC_OBJECT: attrs_encode() of the attributes; REC_COMMIT: the cookie */
} import_rec;

/* The record's parts, as pointers into the bytes the writer was handed. */
typedef struct import_rec_view {
    const import_rec *r;
    const char *dn, *object_type, *message;
    const void *anchor, *blob;
} import_rec_view;

static void apply_values(attrs *target, const attrs *delta, bool add)
{
    for (size_t i = 0; delta && i < delta->n; i++) {
        const attr *d = &delta->a[i];
        attr *t = add ? attrs_get_or_add(target, d->name, d->type) : attrs_get(target, d->name);
        if (!t) continue;
        for (size_t k = 0; k < d->nvals; k++) {
            if (add) attr_add_unique(t, d->vals[k].data, d->vals[k].len);
            else attr_remove_value(t, d->vals[k].data, d->vals[k].len);
        }
        if (!add && t->nvals == 0) attrs_remove(target, d->name);
    }
}

static int commit_page(import_ctx *c, const void *cookie, size_t len, bool have_cookie, err *e)
{
    int rc = 0;
    if (have_cookie && cookie && !c->full) rc = store_watermark_set(c->en->st, c->sc->id, c->partition, cookie, len, e);
    if (rc == 0) rc = engine_commit(c->en, e);
    if (rc == 0) rc = store_begin(c->en->st, e);
    return rc;
}

static void record_warning(import_ctx *c, const char *dn, const char *message)
{
    c->st->warnings++;
    store_run_error(c->en->st, c->run_id, dn, NULL, 0, "import-warning", message, NULL);
}

/* Writes a record into the pipe and queues it. */
static int rec_push(import_ctx *c, const import_rec *h, const char *dn, const char *type, const char *message,
                    const void *anchor, const void *blob, err *e)
{
    import_rec r = *h;
    r.has_dn = dn != NULL, r.has_type = type != NULL, r.has_message = message != NULL;
    r.dn_len = dn ? strlen(dn) : 0;
    r.type_len = type ? strlen(type) : 0;
    r.message_len = message ? strlen(message) : 0;
    size_t total = sizeof r + r.dn_len + r.has_dn + r.type_len + r.has_type + r.message_len + r.has_message +
                   r.anchor_len + r.blob_len;
    char *p = engine_pipe_reserve(c->pipe, total);
    memcpy(p, &r, sizeof r);
    p += sizeof r;
    const struct { const void *src; size_t n; } parts[] = {
        {dn, r.has_dn ? r.dn_len + 1 : 0}, {type, r.has_type ? r.type_len + 1 : 0},
        {message, r.has_message ? r.message_len + 1 : 0}, {anchor, r.anchor_len}, {blob, r.blob_len}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!parts[i].n) continue;
        memcpy(p, parts[i].src, parts[i].n);
        p += parts[i].n;
    }
    return engine_pipe_push(c->pipe, e);
}

static import_rec_view rec_view(const void *item)
{
    import_rec_view v = {.r = item};
    const char *p = (const char *)item + sizeof(import_rec);
    if (v.r->has_dn) v.dn = p, p += v.r->dn_len + 1;
    if (v.r->has_type) v.object_type = p, p += v.r->type_len + 1;
    if (v.r->has_message) v.message = p, p += v.r->message_len + 1;
    v.anchor = p, p += v.r->anchor_len;
    v.blob = p;
    return v;
}

/* Commits the staged objects (and the cookie) now or, with a writer thread, in its turn. */
static int import_commit(import_ctx *c, const void *cookie, size_t len, bool have_cookie, err *e)
{
    c->since_commit = 0;
    if (!c->pipe) return commit_page(c, cookie, len, have_cookie, e);
    import_rec h = {.kind = REC_COMMIT, .have_cookie = have_cookie && cookie, .blob_len = cookie ? len : 0};
    return rec_push(c, &h, NULL, NULL, NULL, NULL, cookie, e);
}

static void import_warning(import_ctx *c, const char *dn, const char *message)
{
    if (!c->pipe) {
        record_warning(c, dn, message);
        return;
    }
    /* A failed writer reports its error at the next push; a warning cannot fail the import. */
    err ignored = {0};
    import_rec h = {.kind = REC_WARNING};
    rec_push(c, &h, dn, NULL, message, NULL, NULL, &ignored);
}

/* Writes one imported object to the connector space (either thread, never both at once).
   fresh: the anchor is known to be new, so no lookup. */
static int stage_object(import_ctx *c, const conn_object *o, bool fresh, err *e)
{
    store *s = c->en->st;
    cs_object *cs = NULL;
    int rc = fresh ? ERR_NOTFOUND : store_cs_get_by_anchor(s, c->sc->id, o->anchor, o->anchor_len, &cs, e);
    if (rc == ERR_NOTFOUND) rc = 0, err_clear(e);
    if (rc) return rc;

    if (o->change == CONN_CHANGE_DELETE) {
        if (cs && !(cs->flags & CS_F_DELETED)) {
            cs->flags |= CS_F_PENDING_IMPORT | CS_F_DELETED;
            cs->seen_run = c->run_id;
            rc = store_cs_save(s, cs, e);
            c->st->deletes++;
        }
        goto done;
    }
    if (!cs) {
        cs = xcalloc(1, sizeof *cs);
        cs->connector_id = c->sc->id;
        cs->anchor = xmemdup(o->anchor, o->anchor_len);
        cs->anchor_len = o->anchor_len;
        cs->dn = o->dn ? xstrdup(o->dn) : NULL;
        cs->object_type = xstrdup(o->object_type ? o->object_type : "");
        cs->attrs = o->attrs ? attrs_clone(o->attrs) : attrs_new();
        if (o->attrs_are_delta) {
            apply_values(cs->attrs, o->removed_values, false);
            apply_values(cs->attrs, o->added_values, true);
        }
        cs->flags = CS_F_PENDING_IMPORT;
        cs->seen_run = c->run_id;
        rc = store_cs_save(s, cs, e);
        c->st->adds++;
        goto done;
    }
    /* Existing object: apply and compare, so an unchanged object costs no sync work. */
    attrs *next;
    if (o->attrs_are_delta) {
        next = attrs_clone(cs->attrs);
        for (size_t i = 0; o->attrs && i < o->attrs->n; i++) {
            const attr *a = &o->attrs->a[i];
            attr *t = attrs_put(next, a->name, a->type);
            for (size_t k = 0; k < a->nvals; k++) attr_add(t, a->vals[k].data, a->vals[k].len);
            if (!a->nvals) attrs_remove(next, a->name);
        }
        apply_values(next, o->removed_values, false);
        apply_values(next, o->added_values, true);
    } else {
        next = NULL;   /* cloned only when it differs: most objects of a full import are unchanged */
    }
    /* A provisioned object learns its DN (a SCIM resource location) from its first import:
       recorded, but not a change that needs a sync. */
    bool dn_fill = o->dn && !cs->dn;
    if (dn_fill) cs->dn = xstrdup(o->dn);
    bool dn_changed = o->dn && cs->dn && strcmp(o->dn, cs->dn) != 0;
    bool type_changed = o->object_type && strcmp(o->object_type, cs->object_type) != 0;
    bool was_deleted = (cs->flags & CS_F_DELETED) != 0;
    bool changed = dn_changed || type_changed || was_deleted || !attrs_equal(next ? next : o->attrs, cs->attrs);
    if (changed && !next) next = o->attrs ? attrs_clone(o->attrs) : attrs_new();
    if (changed) {
        cs->seen_run = c->run_id;
        attrs_free(cs->attrs);
        cs->attrs = next;
        next = NULL;
        if (dn_changed) {
            free(cs->dn);
            cs->dn = xstrdup(o->dn);
            c->st->renames++;
        }
        if (type_changed) {
            free(cs->object_type);
            cs->object_type = xstrdup(o->object_type);
        }
        cs->flags = (cs->flags & ~CS_F_DELETED) | CS_F_PENDING_IMPORT;
        c->st->updates++;
    } else {
        c->st->unchanged++;
    }
    /* A confirming import: whatever the directory now holds is the truth; the next sync
       compares it with the desired state and re-sends what did not arrive. */
    bool confirm = (cs->flags & CS_F_EXPORTED) != 0;
    if (confirm) {
        cs->flags &= ~CS_F_EXPORTED;
        if (!changed) cs->export_attempts = 0;
    }
    attrs_free(next);
    /* An unchanged object costs no write: the seen set, not the row, records that it exists. */
    if (changed || confirm || dn_fill) rc = store_cs_save(s, cs, e);
done:
    cs_object_free(cs);
    return rc;
}

/* Writer thread: one record from the reader. */
static int handle_rec(void *ctx, void *item, size_t len, err *e)
{
    (void)len;
    import_ctx *c = ctx;
    import_rec_view v = rec_view(item);
    const import_rec *r = v.r;
    if (r->kind == REC_COMMIT) return commit_page(c, v.blob, r->blob_len, r->have_cookie, e);
    if (r->kind == REC_WARNING) {
        record_warning(c, v.dn, v.message);
        return 0;
    }
    int rc;
    if (r->fresh) {
        /* A first import stores the encoding the reader made: no decode, no clone, no lookup. */
        rc = store_cs_insert_staged(c->en->st, c->sc->id, v.anchor, r->anchor_len, v.dn, v.object_type, v.blob,
                                    r->blob_len, CS_F_PENDING_IMPORT, c->run_id, e);
        if (rc == 0) c->st->adds++;
        return rc;
    }
    /* Most objects of a repeated full import are unchanged: comparing the stored bytes
       answers that without decoding either side. Anything else takes the full path, which
       also compares values order-insensitively. */
    bool same = false;
    rc = store_cs_staged_same(c->en->st, c->sc->id, v.anchor, r->anchor_len, v.dn, v.object_type, v.blob,
                              r->blob_len, CS_F_DELETED | CS_F_EXPORTED, &same, e);
    if (rc) return rc;
    if (same) {
        c->st->unchanged++;
        return 0;
    }
    attrs *a = attrs_decode(v.blob, r->blob_len, e);
    if (!a) return e && e->code ? e->code : ERR_FAIL;
    conn_object o = {.change = CONN_CHANGE_ADD, .dn = v.dn, .anchor = v.anchor, .anchor_len = r->anchor_len,
                     .object_type = v.object_type, .attrs = a};
    rc = stage_object(c, &o, false, e);
    attrs_free(a);
    return rc;
}

/* Reader side of every object the connector reports. */
static int on_object(void *ctx, const conn_object *o, err *e)
{
    import_ctx *c = ctx;
    int rc = 0;
    c->st->seen++;
    progress_tick(&c->pr, (size_t)c->st->seen);
    if (!o->anchor || !o->anchor_len) {
        import_warning(c, o->dn, "object without anchor skipped");
        return 0;
    }
    /* An anchor reported twice in a first import: from then on, look objects up. */
    if (o->change != CONN_CHANGE_DELETE) {
        if (!anchor_set_insert(c->seen, o->anchor, o->anchor_len)) c->fresh = false;
    } else if (c->fresh && anchor_set_has(c->seen, o->anchor, o->anchor_len)) {
        c->fresh = false;
    }
    if (c->pipe && o->change != CONN_CHANGE_DELETE && !o->attrs_are_delta) {
        buf_reset(&c->enc);
        attrs_encode(o->attrs, &c->enc);   /* NULL encodes as the empty set */
        import_rec h = {.kind = REC_OBJECT, .fresh = c->fresh, .anchor_len = o->anchor_len, .blob_len = c->enc.len};
        rc = rec_push(c, &h, o->dn, o->object_type, NULL, o->anchor, c->enc.data, e);
    } else {
        if (c->pipe) rc = engine_pipe_drain(c->pipe, e);
        if (rc == 0) rc = stage_object(c, o, c->fresh, e);
    }
    if (rc == 0 && ++c->since_commit >= IMPORT_COMMIT_EVERY && c->full) rc = import_commit(c, NULL, 0, false, e);
    if (rc == 0 && c->en->stop && *c->en->stop) rc = err_set(e, ERR_RETRY, "stopped by a signal; the run resumes next time");
    return rc;
}

static int on_checkpoint(void *ctx, const void *cookie, size_t len, err *e)
{
    import_ctx *c = ctx;
    return import_commit(c, cookie, len, cookie != NULL, e);
}

static void on_warning(void *ctx, const char *dn, const char *message)
{
    import_ctx *c = ctx;
    log_warn("import %s: %s: %s", c->sc->name, dn ? dn : "(no DN)", message);
    import_warning(c, dn, message);
}

static void on_progress(void *ctx, size_t n)
{
    import_ctx *c = ctx;
    progress_tick(&c->pr, n);
}

/* Present phase (RFC 4533): the connector names every object that still exists; seen_run
   marks them, and present_done deletes the rest of the partition. */
static int on_present(void *ctx, const void *anchor, size_t len, err *e)
{
    import_ctx *c = ctx;
    cs_object *cs = NULL;
    (void)cs;
    (void)e;
    c->present_mode = true;
    if (!c->seen) c->seen = anchor_set_new();
    anchor_set_add(c->seen, anchor, len);
    return 0;
}

struct unseen_ctx {
    import_ctx *c;
    int64_t *ids;
    size_t n, cap;
};

static int collect_unseen(void *ctx, cs_object *o, err *e)
{
    struct unseen_ctx *u = ctx;
    if (o->flags & (CS_F_DELETED | CS_F_PROVISIONAL)) return 0;
    if (u->c->seen && anchor_set_has(u->c->seen, o->anchor, o->anchor_len)) return 0;
    if (u->c->partition && *u->c->partition && o->dn && !rule_dn_has_suffix(o->dn, u->c->partition)) return 0;
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 256;
        u->ids = xrealloc(u->ids, u->cap * sizeof(int64_t));
    }
    u->ids[u->n++] = o->id;
    return 0;
}

/* Marks every object of the partition not seen in this run as deleted. */
static int mark_unseen_deleted(import_ctx *c, err *e)
{
    struct unseen_ctx u = {c, NULL, 0, 0};
    int rc = store_cs_each(c->en->st, c->sc->id, STORE_CS_ALL, 0, collect_unseen, &u, e);
    for (size_t i = 0; rc == 0 && i < u.n; i++) {
        cs_object *cs = NULL;
        rc = store_cs_get_by_id(c->en->st, u.ids[i], &cs, e);
        if (rc) break;
        cs->flags |= CS_F_PENDING_IMPORT | CS_F_DELETED;
        rc = store_cs_save(c->en->st, cs, e);
        cs_object_free(cs);
        c->st->deletes++;
    }
    free(u.ids);
    return rc;
}

static int on_present_done(void *ctx, err *e)
{
    import_ctx *c = ctx;
    int rc = c->pipe ? engine_pipe_drain(c->pipe, e) : 0;
    return rc ? rc : mark_unseen_deleted(c, e);
}

static bool part_full_hint(bool full) { return full; }

int engine_import(engine *en, const store_connector *sc, bool full, int64_t run_id, engine_stats *st, err *e)
{
    const conn_ops *ops = NULL;
    conn *cn = NULL;
    conn_config *cfg = NULL;
    int rc = engine_conn_open(sc, en->key, en->server_id, &ops, &cn, e);
    if (rc) return rc;
    rc = engine_conn_config(sc, &cfg, e);
    if (rc) goto done;
    if (!full && !ops->delta_import) full = true;   /* e.g. SCIM: every import is a full (confirming) import */
    size_t nparts = cfg->npartitions ? cfg->npartitions : 1;
    for (size_t p = 0; p < nparts && rc == 0; p++) {
        const char *part = cfg->npartitions ? cfg->partitions[p] : "";
        import_ctx c = {.en = en, .sc = sc, .partition = part, .run_id = run_id, .full = full, .st = st};
        c.seen = anchor_set_new();
        int64_t existing = 0;
        if (part_full_hint(full) && store_cs_count(en->st, sc->id, STORE_CS_ALL, &existing, e) == 0 && existing == 0)
            c.fresh = true;
        progress_init(&c.pr, en->progress, sc->name, full ? "full import" : "delta import");
        conn_sink sink = {.ctx = &c, .object = on_object, .checkpoint = on_checkpoint, .warning = on_warning,
                          .progress = on_progress, .present = on_present, .present_done = on_present_done};
        buf cookie = BUF_INIT;
        void *old = NULL;
        size_t oldlen = 0;
        bool part_full = full;
        if (!part_full) {
            rc = store_watermark_get(en->st, sc->id, part, &old, &oldlen, e);
            if (rc) break;
            if (!old || !oldlen) part_full = true, c.full = true;   /* no watermark yet */
        }
        rc = store_begin(en->st, e);
        if (rc == 0 && part_full && !(c.pipe = engine_pipe_start(handle_rec, &c, e))) rc = ERR_FAIL;
        if (rc == 0) {
            if (part_full) rc = ops->full_import(cn, part, &sink, &cookie, e);
            else rc = ops->delta_import(cn, part, old, oldlen, &sink, &cookie, e);
        }
        if (c.pipe) {
            /* The writer finishes what the reader handed over, even after a failure: the
               rollback below then discards it as one. */
            err we = {0};
            int wrc = engine_pipe_finish(c.pipe, &we);
            c.pipe = NULL;
            if (rc == 0 && wrc) {
                rc = wrc;
                if (e) *e = we;
            }
        }
        /* Nothing to delete when the connector space was empty before this import. */
        if (rc == 0 && part_full && !c.fresh) rc = mark_unseen_deleted(&c, e);
        if (rc == 0 && cookie.len) rc = store_watermark_set(en->st, sc->id, part, cookie.data, cookie.len, e);
        if (rc == 0) rc = store_commit(en->st, e);
        else store_rollback(en->st);
        progress_done(&c.pr, (size_t)st->seen);
        if (rc == ERR_CORRUPT && !part_full) {
            /* The directory rejected the cookie: flag a full import rather than failing every cycle. */
            store_connector_set_flags(en->st, sc->id, 1, -1, NULL);
            err_prefix(e, "the directory rejected the stored watermark of partition '%s'; connector '%s' is now "
                       "flagged for a full import (`idsync run %s full-import` or the next cycle)", part, sc->name, sc->name);
        }
        free(old);
        buf_free(&cookie);
        buf_free(&c.enc);
        anchor_set_free(c.seen);
    }
    if (rc == 0 && full) rc = store_connector_set_flags(en->st, sc->id, 0, -1, e);
done:
    conn_config_free(cfg);
    if (ops && cn) ops->close(cn);
    return rc;
}
