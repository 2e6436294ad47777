/* Connector-space objects. */
#include "store/store_int.h"
#include "store/store_async.h"
#include "store/store_insert.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <stdlib.h>
#include <string.h>

#define CS_COLS "id, connector_id, anchor, dn, object_type, attrs, mv_id, flags, seen_run, export_op, " \
                "export_attrs, export_dn, export_error, export_attempts, updated_at"

void cs_object_free(cs_object *o)
{
    if (!o) return;
    free(o->anchor); free(o->dn); free(o->object_type);
    attrs_free(o->attrs); attrs_free(o->export_attrs);
    free(o->export_dn); free(o->export_error);
    free(o);
}

static int row_to_cs(store *s, db_stmt *st, cs_object **out, err *e)
{
    cs_object *o = xcalloc(1, sizeof *o);
    o->id = SC_INT(s, st, 0);
    o->connector_id = SC_INT(s, st, 1);
    o->anchor = store_col_blobdup(s, st, 2, &o->anchor_len);
    o->dn = store_col_strdup(s, st, 3);
    o->object_type = store_col_strdup(s, st, 4);
    o->attrs = store_col_attrs(s, st, 5, true, e);
    o->mv_id = SC_INT(s, st, 6);
    o->flags = (int)SC_INT(s, st, 7);
    o->seen_run = SC_INT(s, st, 8);
    o->export_op = (int)SC_INT(s, st, 9);
    o->export_attrs = store_col_attrs(s, st, 10, false, e);
    o->export_dn = store_col_strdup(s, st, 11);
    o->export_error = store_col_strdup(s, st, 12);
    o->export_attempts = (int)SC_INT(s, st, 13);
    o->updated_at = SC_INT(s, st, 14);
    if (!o->object_type) o->object_type = xstrdup("");
    if (!o->attrs) {
        err_prefix(e, "connector space object %s", o->dn ? o->dn : "(no DN)");
        cs_object_free(o);
        return ERR_CORRUPT;
    }
    *out = o;
    return 0;
}

static int get_one(store *s, db_stmt *st, cs_object **out, err *e)
{
    *out = NULL;
    int rc = s->drv->step(st, e);
    if (rc == DB_ROW) rc = row_to_cs(s, st, out, e);
    else if (rc == DB_DONE) rc = ERR_NOTFOUND, err_set(e, ERR_NOTFOUND, "no such connector space object");
    store_stmt_done(s, st);
    return rc;
}

static const char SQL_BY_ANCHOR[] = "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? AND anchor = ?";
static const char SQL_BY_DN[] = "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? AND dn = ?";
static const char SQL_BY_ID[] = "SELECT " CS_COLS " FROM cs_objects WHERE id = ?";

int store_cs_get_by_anchor(store *s, int64_t connector_id, const void *anchor, size_t len, cs_object **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_BY_ANCHOR, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_BLOB(s, st, 2, anchor, len);
    return get_one(s, st, out, e);
}

int store_cs_get_by_dn(store *s, int64_t connector_id, const char *dn, cs_object **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_BY_DN, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_TEXT(s, st, 2, dn);
    rc = get_one(s, st, out, e);
    if (rc == ERR_NOTFOUND) err_set(e, ERR_NOTFOUND, "no object with DN '%s' in this connector space", dn);
    return rc;
}

int store_cs_get_by_id(store *s, int64_t id, cs_object **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_BY_ID, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, id);
    return get_one(s, st, out, e);
}

#define CS_INSERT                                                                                       \
    "INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, mv_id, flags, seen_run, export_op, " \
    "export_attrs, export_dn, export_error, export_attempts, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
static const char SQL_INSERT[] = CS_INSERT;
static const char SQL_INSERT_RETURNING[] = CS_INSERT " RETURNING id";
static const char SQL_UPDATE[] =
    "UPDATE cs_objects SET connector_id = ?, anchor = ?, dn = ?, object_type = ?, attrs = ?, mv_id = ?, flags = ?, "
    "seen_run = ?, export_op = ?, export_attrs = ?, export_dn = ?, export_error = ?, export_attempts = ?, "
    "updated_at = ? WHERE id = ?";

/* store_cs_save's insert when writes are asynchronous: the id is not known (stays 0). */
static int cs_insert_async(store *s, const cs_object *o, err *e)
{
    buf a = BUF_INIT, x = BUF_INIT;
    attrs_encode(o->attrs, &a);
    if (o->export_attrs) attrs_encode(o->export_attrs, &x);
    store_aop_begin(s, SQL_INSERT);
    store_aop_int(s, o->connector_id);
    store_aop_blob(s, o->anchor, o->anchor_len);
    store_aop_text(s, o->dn);
    store_aop_text(s, o->object_type);
    store_aop_blob_take(s, a.data, a.len);
    if (o->mv_id) store_aop_int(s, o->mv_id);
    else store_aop_null(s);
    store_aop_int(s, o->flags);
    store_aop_int(s, o->seen_run);
    store_aop_int(s, o->export_op);
    if (o->export_attrs) store_aop_blob_take(s, x.data, x.len);
    else store_aop_null(s), buf_free(&x);
    store_aop_text(s, o->export_dn);
    store_aop_text(s, o->export_error);
    store_aop_int(s, o->export_attempts);
    store_aop_int(s, store_now());
    return store_aop_end(s, e);
}

int store_cs_save(store *s, cs_object *o, err *e)
{
    if (!o->id && store_async_active(s)) return cs_insert_async(s, o, e);
    db_stmt *st;
    int rc = o->id ? store_stmt(s, SQL_UPDATE, &st, e) : store_insert_stmt(s, SQL_INSERT, SQL_INSERT_RETURNING, &st, e);
    if (rc) return rc;
    buf a = BUF_INIT, x = BUF_INIT;
    attrs_encode(o->attrs, &a);
    if (o->export_attrs) attrs_encode(o->export_attrs, &x);
    SB_INT(s, st, 1, o->connector_id);
    SB_BLOB(s, st, 2, o->anchor, o->anchor_len);
    SB_TEXT(s, st, 3, o->dn);
    SB_TEXT(s, st, 4, o->object_type);
    SB_BLOB(s, st, 5, a.data, a.len);
    if (o->mv_id) SB_INT(s, st, 6, o->mv_id);
    else s->drv->bind_null(st, 6);
    SB_INT(s, st, 7, o->flags);
    SB_INT(s, st, 8, o->seen_run);
    SB_INT(s, st, 9, o->export_op);
    SB_BLOB(s, st, 10, o->export_attrs ? x.data : NULL, x.len);
    SB_TEXT(s, st, 11, o->export_dn);
    SB_TEXT(s, st, 12, o->export_error);
    SB_INT(s, st, 13, o->export_attempts);
    SB_INT(s, st, 14, store_now());
    if (o->id) {
        SB_INT(s, st, 15, o->id);
        rc = store_stmt_exec(s, st, e);
    } else {
        rc = store_insert_run(s, st, "a connector space object", &o->id, e);
    }
    buf_free(&a);
    buf_free(&x);
    return rc;
}

static const char SQL_DELETE[] = "DELETE FROM cs_objects WHERE id = ?";

int store_cs_delete(store *s, int64_t id, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_DELETE, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, id);
    return store_stmt_exec(s, st, e);
}

static const char SQL_ANCHOR[] = "UPDATE cs_objects SET anchor = ? WHERE id = ?";

int store_cs_set_anchor(store *s, int64_t id, const void *anchor, size_t len, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_ANCHOR, &st, e);
    if (rc) return rc;
    SB_BLOB(s, st, 1, anchor, len);
    SB_INT(s, st, 2, id);
    return store_stmt_exec(s, st, e);
}

static const char SQL_EACH_ALL[] = "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? ORDER BY id";
static const char SQL_EACH_PENDING[] =
    "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? AND flags <> 0 ORDER BY id";
static const char SQL_EACH_EXPORT[] =
    "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? AND export_op <> 0 ORDER BY id";
static const char SQL_EACH_JOINED[] = "SELECT " CS_COLS " FROM cs_objects WHERE mv_id = ? ORDER BY id";
static const char SQL_EACH_UNSEEN[] =
    "SELECT " CS_COLS " FROM cs_objects WHERE connector_id = ? AND seen_run <> ? "
    "AND (flags & 4) = 0 ORDER BY id";

static const char *each_sql(int where)
{
    switch (where) {
    case STORE_CS_PENDING: return SQL_EACH_PENDING;
    case STORE_CS_EXPORT: return SQL_EACH_EXPORT;
    case STORE_CS_JOINED_TO: return SQL_EACH_JOINED;
    case STORE_CS_UNSEEN: return SQL_EACH_UNSEEN;
    default: return SQL_EACH_ALL;
    }
}

int store_cs_each(store *s, int64_t connector_id, int where, int64_t arg,
                  int (*fn)(void *ctx, cs_object *o, err *e), void *ctx, err *e)
{
    /* A dedicated (uncached) statement: callers may nest other store reads in fn. */
    db_stmt *st = NULL;
    int rc = store_sync(s, e);
    if (rc == 0) rc = s->drv->prepare(s->d, each_sql(where), &st, e);
    if (rc) return rc;
    int i = 1;
    if (where == STORE_CS_JOINED_TO) SB_INT(s, st, i++, arg);
    else SB_INT(s, st, i++, connector_id);
    if (where == STORE_CS_UNSEEN) SB_INT(s, st, i++, arg);
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        cs_object *o = NULL;
        rc = row_to_cs(s, st, &o, e);
        if (rc) break;
        rc = fn(ctx, o, e);
        cs_object_free(o);
        if (rc) break;
    }
    if (rc == DB_DONE) rc = 0;
    s->drv->finalize(st);
    return rc;
}

static const char SQL_COUNT_ALL[] = "SELECT count(*) FROM cs_objects WHERE connector_id = ?";
static const char SQL_COUNT_PENDING[] = "SELECT count(*) FROM cs_objects WHERE connector_id = ? AND flags <> 0";
static const char SQL_COUNT_EXPORT[] = "SELECT count(*) FROM cs_objects WHERE connector_id = ? AND export_op <> 0";
static const char SQL_COUNT_EXPORT_DELETES[] =
    "SELECT count(*) FROM cs_objects WHERE connector_id = ? AND export_op <> 0 AND export_op = 3";

int store_cs_count(store *s, int64_t connector_id, int where, int64_t *out, err *e)
{
    const char *sql = where == STORE_CS_PENDING ? SQL_COUNT_PENDING
                    : where == STORE_CS_EXPORT ? SQL_COUNT_EXPORT
                    : where == STORE_CS_EXPORT_DELETES ? SQL_COUNT_EXPORT_DELETES : SQL_COUNT_ALL;
    db_stmt *st;
    int rc = store_stmt(s, sql, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    rc = s->drv->step(st, e);
    *out = rc == DB_ROW ? SC_INT(s, st, 0) : 0;
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

static const char SQL_LOAD_JOINED[] = "SELECT " CS_COLS " FROM cs_objects WHERE mv_id = ? ORDER BY id";
static const char SQL_LOAD_JOINED_IN[] =
    "SELECT " CS_COLS " FROM cs_objects WHERE mv_id = ? AND connector_id = ? ORDER BY id";

int store_cs_load_joined(store *s, int64_t mv_id, int64_t connector_id, cs_object ***out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    db_stmt *st;
    int rc = store_stmt(s, connector_id ? SQL_LOAD_JOINED_IN : SQL_LOAD_JOINED, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, mv_id);
    if (connector_id) SB_INT(s, st, 2, connector_id);
    cs_object **v = NULL;
    size_t nv = 0;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        cs_object *o = NULL;
        rc = row_to_cs(s, st, &o, e);
        if (rc) break;
        v = xrealloc(v, (nv + 1) * sizeof *v);
        v[nv++] = o;
    }
    store_stmt_done(s, st);
    if (rc == DB_DONE) rc = 0;
    if (rc) {
        for (size_t i = 0; i < nv; i++) cs_object_free(v[i]);
        free(v);
        return rc;
    }
    *out = v;
    *n = nv;
    return 0;
}

/* (flags & 6) = 0: neither CS_F_PROVISIONAL (4) nor CS_F_DELETED (2). */
static const char SQL_JOINED_REF[] =
    "SELECT anchor, dn FROM cs_objects WHERE mv_id = ? AND connector_id = ? AND (flags & 6) = 0 ORDER BY id LIMIT 1";

int store_cs_joined_ref(store *s, int64_t mv_id, int64_t connector_id, void **anchor, size_t *anchor_len,
                        char **dn, err *e)
{
    if (anchor) *anchor = NULL;
    if (anchor_len) *anchor_len = 0;
    if (dn) *dn = NULL;
    db_stmt *st;
    int rc = store_stmt(s, SQL_JOINED_REF, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, mv_id);
    SB_INT(s, st, 2, connector_id);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        size_t len = 0;
        if (anchor) *anchor = store_col_blobdup(s, st, 0, &len);
        if (anchor_len) *anchor_len = len;
        if (dn) *dn = store_col_strdup(s, st, 1);
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = err_set(e, ERR_NOTFOUND, "metaverse object %lld has no exported object in connector %lld",
                     (long long)mv_id, (long long)connector_id);
    }
    store_stmt_done(s, st);
    return rc;
}

/* coalesce(): the scan stays on the connector's own rows (the partial mv_id index would visit the
   joined objects of every connector) */
static const char SQL_ANY_REF_TARGET[] =
    "SELECT 1 FROM cs_objects WHERE connector_id = ? AND coalesce(mv_id, 0) <> 0 AND (flags & 6) = 0 LIMIT 1";

int store_cs_any_ref_target(store *s, int64_t connector_id, bool *out, err *e)
{
    *out = false;
    db_stmt *st;
    int rc = store_stmt(s, SQL_ANY_REF_TARGET, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    rc = s->drv->step(st, e);
    *out = rc == DB_ROW;
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

static const char SQL_EACH_DN[] = "SELECT id, dn FROM cs_objects WHERE connector_id = ? AND dn IS NOT NULL";

int store_cs_each_dn(store *s, int64_t connector_id, int (*fn)(void *ctx, int64_t id, const char *dn, err *e),
                     void *ctx, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_EACH_DN, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        const char *dn = SC_TEXT(s, st, 1);
        if (dn && (rc = fn(ctx, SC_INT(s, st, 0), dn, e)) != 0) break;
    }
    store_stmt_done(s, st);
    return rc == DB_DONE ? 0 : rc;
}

static const char SQL_JOINED_IDS[] = "SELECT id FROM cs_objects WHERE mv_id IS NOT NULL";

int store_cs_joined_ids(store *s, int64_t **ids, size_t *n, err *e)
{
    *ids = NULL;
    *n = 0;
    db_stmt *st;
    int rc = store_stmt(s, SQL_JOINED_IDS, &st, e);
    if (rc) return rc;
    return store_collect_ids(s, st, ids, n, e);
}

static const char SQL_LINK_BY_DN[] = "SELECT mv_id, flags FROM cs_objects WHERE connector_id = ? AND dn = ?";

int store_cs_link_by_dn(store *s, int64_t connector_id, const char *dn, int64_t *mv_id, int *flags, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_LINK_BY_DN, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_TEXT(s, st, 2, dn);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *mv_id = SC_INT(s, st, 0);   /* NULL reads as 0 */
        *flags = (int)SC_INT(s, st, 1);
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = err_set(e, ERR_NOTFOUND, "no object with DN '%s' in this connector space", dn);
    }
    store_stmt_done(s, st);
    return rc;
}

static const char SQL_SET_LINK[] = "UPDATE cs_objects SET mv_id = ?, flags = ?, updated_at = ? WHERE id = ?";

int store_cs_set_link(store *s, int64_t id, int64_t mv_id, int flags, err *e)
{
    if (store_async_active(s)) {
        store_aop_begin(s, SQL_SET_LINK);
        if (mv_id) store_aop_int(s, mv_id);
        else store_aop_null(s);
        store_aop_int(s, flags);
        store_aop_int(s, store_now());
        store_aop_int(s, id);
        return store_aop_end(s, e);
    }
    db_stmt *st;
    int rc = store_stmt(s, SQL_SET_LINK, &st, e);
    if (rc) return rc;
    if (mv_id) SB_INT(s, st, 1, mv_id);
    else s->drv->bind_null(st, 1);
    SB_INT(s, st, 2, flags);
    SB_INT(s, st, 3, store_now());
    SB_INT(s, st, 4, id);
    return store_stmt_exec(s, st, e);
}


static const char SQL_IDS_ALL[] = "SELECT id FROM cs_objects WHERE connector_id = ? ORDER BY id";
static const char SQL_IDS_PENDING[] = "SELECT id FROM cs_objects WHERE connector_id = ? AND flags <> 0 ORDER BY id";
static const char SQL_IDS_EXPORT[] = "SELECT id FROM cs_objects WHERE connector_id = ? AND export_op <> 0 ORDER BY id";
static const char SQL_IDS_WAITING[] = "SELECT mv_id FROM cs_objects WHERE connector_id = ? AND flags <> 0 "
                                      "AND (flags & 16) <> 0 AND mv_id IS NOT NULL ORDER BY id";

int store_cs_ids(store *s, int64_t connector_id, int where, int64_t **ids, size_t *n, err *e)
{
    *ids = NULL;
    *n = 0;
    const char *sql = where == STORE_CS_PENDING ? SQL_IDS_PENDING : where == STORE_CS_EXPORT ? SQL_IDS_EXPORT
                    : where == STORE_CS_ALL ? SQL_IDS_ALL : where == STORE_CS_WAITING_MV ? SQL_IDS_WAITING : NULL;
    if (!sql) return err_set(e, ERR_USAGE, "store_cs_ids: selection %d is not supported", where);
    db_stmt *st;
    int rc = store_stmt(s, sql, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    return store_collect_ids(s, st, ids, n, e);
}
