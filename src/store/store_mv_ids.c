/* Metaverse ids chosen by the engine: a full sync plans the ids of the objects it will project
 * (see engine_id_plan.h), so a reference to an object later in the pass resolves at once. */
#include "store/store_int.h"
#include "store/store_async.h"
#include "store/store_lineage.h"
#include "util/util_buf.h"
#include <string.h>

static const char SQL_MAX_ID[] = "SELECT coalesce(max(id), 0) FROM mv_objects";
static const char SQL_INSERT_AS[] =
    "INSERT INTO mv_objects(id, object_type, attrs, lineage, updated_at) VALUES (?,?,?,?,?)";
/* PostgreSQL's identity counter does not see explicit ids: move it past them */
static const char SQL_PG_IDENTITY[] =
    "SELECT setval(pg_get_serial_sequence('mv_objects', 'id'), max(id)) FROM mv_objects HAVING max(id) IS NOT NULL";

int store_mv_next_id(store *s, int64_t *out, err *e)
{
    db_stmt *st;
    *out = 0;
    int rc = store_stmt(s, SQL_MAX_ID, &st, e);
    if (rc) return rc;
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *out = SC_INT(s, st, 0) + 1;
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = err_set(e, ERR_FAIL, "reading the largest metaverse id returned no row");
    }
    store_stmt_done(s, st);
    return rc;
}

int store_mv_insert_as(store *s, mv_object *o, err *e)
{
    if (o->id <= 0) return err_set(e, ERR_FAIL, "inserting a metaverse object with a chosen id needs an id > 0");
    if (store_async_active(s)) {
        buf a = BUF_INIT, l = BUF_INIT;
        attrs_encode(o->attrs, &a);
        store_lineage_encode(o->lineage, o->attrs, &l);   /* as store_mv_save: both columns together */
        o->updated_at = store_now();
        store_aop_begin(s, SQL_INSERT_AS);
        store_aop_int(s, o->id);
        store_aop_text(s, o->object_type);
        store_aop_blob_take(s, a.data, a.len);
        store_aop_blob_take(s, l.data, l.len);
        store_aop_int(s, o->updated_at);
        return store_aop_end(s, e);
    }
    db_stmt *st;
    int rc = store_stmt(s, SQL_INSERT_AS, &st, e);
    if (rc) return rc;
    buf a = BUF_INIT, l = BUF_INIT;
    attrs_encode(o->attrs, &a);
    store_lineage_encode(o->lineage, o->attrs, &l);   /* as store_mv_save: both columns together */
    o->updated_at = store_now();
    SB_INT(s, st, 1, o->id);
    SB_TEXT(s, st, 2, o->object_type);
    SB_BLOB(s, st, 3, a.data, a.len);
    SB_BLOB(s, st, 4, l.data, l.len);
    SB_INT(s, st, 5, o->updated_at);
    rc = store_stmt_exec(s, st, e);
    buf_free(&a);
    buf_free(&l);
    if (rc) err_prefix(e, "metaverse object %lld", (long long)o->id);
    return rc;
}

int store_mv_ids_chosen(store *s, err *e)
{
    if (strcmp(s->drv->engine, "postgresql") != 0) return 0;   /* SQLite continues from max(rowid) */
    int rc = store_sync(s, e);
    return rc ? rc : s->drv->exec(s->d, SQL_PG_IDENTITY, e);
}
