/* Metaverse objects and the join index. */
#include "store/store_int.h"
#include "store/store_async.h"
#include "store/store_insert.h"
#include "store/store_lineage.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include "util/util_uuid.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mv_object_free(mv_object *o)
{
    if (!o) return;
    free(o->object_type);
    attrs_free(o->attrs);
    attrs_free(o->lineage);
    free(o);
}

/* The lineage column i, decoded against the row's attributes (its compact form names them by
   reference, see store_lineage.h); a NULL column is the empty set. NULL on corrupt data. */
static attrs *col_lineage(store *s, db_stmt *st, int i, const attrs *row_attrs, err *e)
{
    size_t n = 0;
    const void *p = s->drv->column_blob(st, i, &n);
    if (!p) return attrs_new();
    return store_lineage_decode(p, n, row_attrs, e);
}

/* with_lineage false: the row has no lineage column (the updated_at is column 3) */
static int row_to_mv_cols(store *s, db_stmt *st, bool with_lineage, mv_object **out, err *e)
{
    mv_object *o = xcalloc(1, sizeof *o);
    o->id = SC_INT(s, st, 0);
    o->object_type = store_col_strdup(s, st, 1);
    o->attrs = store_col_attrs(s, st, 2, true, e);
    o->lineage = !with_lineage ? attrs_new() : o->attrs ? col_lineage(s, st, 3, o->attrs, e) : NULL;
    o->updated_at = SC_INT(s, st, with_lineage ? 4 : 3);
    if (!o->object_type) o->object_type = xstrdup("");
    if (!o->attrs || !o->lineage) {
        err_prefix(e, "metaverse object %lld", (long long)o->id);
        mv_object_free(o);
        return ERR_CORRUPT;
    }
    *out = o;
    return 0;
}

static int row_to_mv(store *s, db_stmt *st, mv_object **out, err *e)
{
    return row_to_mv_cols(s, st, true, out, e);
}

static const char SQL_GET_ATTRS[] = "SELECT id, object_type, attrs, updated_at FROM mv_objects WHERE id = ?";
static const char SQL_GET[] = "SELECT id, object_type, attrs, lineage, updated_at FROM mv_objects WHERE id = ?";
static const char SQL_EACH[] = "SELECT id, object_type, attrs, lineage, updated_at FROM mv_objects ORDER BY id";
#define MV_INSERT "INSERT INTO mv_objects(object_type, attrs, lineage, updated_at) VALUES (?,?,?,?)"
static const char SQL_INSERT[] = MV_INSERT;
static const char SQL_INSERT_RETURNING[] = MV_INSERT " RETURNING id";
static const char SQL_UPDATE[] =
    "UPDATE mv_objects SET object_type = ?, attrs = ?, lineage = ?, updated_at = ? WHERE id = ?";
static const char SQL_DELETE[] = "DELETE FROM mv_objects WHERE id = ?";
static const char SQL_IDX_DEL_ONE[] = "DELETE FROM mv_index WHERE attr = ? AND value = ? AND mv_id = ?";
static const char SQL_IDX_ADD[] =
    "INSERT INTO mv_index(attr, value, mv_id) VALUES (?,?,?) ON CONFLICT (attr, value, mv_id) DO NOTHING";
static const char SQL_IDX_ANY[] = "SELECT 1 FROM mv_index WHERE attr = ? LIMIT 1";
static const char SQL_IDX_FIND[] = "SELECT mv_id FROM mv_index WHERE attr = ? AND value = ? ORDER BY mv_id";

static int mv_get(store *s, int64_t id, bool with_lineage, mv_object **out, err *e)
{
    db_stmt *st;
    *out = NULL;
    int rc = store_stmt(s, with_lineage ? SQL_GET : SQL_GET_ATTRS, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, id);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) rc = row_to_mv_cols(s, st, with_lineage, out, e);
    else if (rc == DB_DONE)
        rc = err_set(e, ERR_NOTFOUND, "no metaverse object with id %lld; find one with `idsync mv search ATTR=VALUE`",
                     (long long)id);
    store_stmt_done(s, st);
    return rc;
}

int store_mv_get(store *s, int64_t id, mv_object **out, err *e)
{
    return mv_get(s, id, true, out, e);
}

int store_mv_get_attrs(store *s, int64_t id, mv_object **out, err *e)
{
    return mv_get(s, id, false, out, e);
}

int store_mv_save(store *s, mv_object *o, err *e)
{
    db_stmt *st;
    int rc = o->id ? store_stmt(s, SQL_UPDATE, &st, e) : store_insert_stmt(s, SQL_INSERT, SQL_INSERT_RETURNING, &st, e);
    if (rc) return rc;
    buf a = BUF_INIT, l = BUF_INIT;
    attrs_encode(o->attrs, &a);
    /* written with the attrs it refers to (store_lineage.h) */
    store_lineage_encode(o->lineage, o->attrs, &l);
    o->updated_at = store_now();
    SB_TEXT(s, st, 1, o->object_type);
    SB_BLOB(s, st, 2, a.data, a.len);
    SB_BLOB(s, st, 3, l.data, l.len);
    SB_INT(s, st, 4, o->updated_at);
    if (o->id) {
        SB_INT(s, st, 5, o->id);
        rc = store_stmt_exec(s, st, e);
    } else {
        rc = store_insert_run(s, st, "a metaverse object", &o->id, e);
    }
    buf_free(&a);
    buf_free(&l);
    return rc;
}

int store_mv_delete(store *s, int64_t id, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_DELETE, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, id);
    return store_stmt_exec(s, st, e);
}

int store_mv_each(store *s, int (*fn)(void *ctx, mv_object *o, err *e), void *ctx, err *e)
{
    db_stmt *st = NULL;
    int rc = store_sync(s, e);
    if (rc == 0) rc = s->drv->prepare(s->d, SQL_EACH, &st, e);
    if (rc) return rc;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        mv_object *o = NULL;
        rc = row_to_mv(s, st, &o, e);
        if (rc) break;
        rc = fn(ctx, o, e);
        mv_object_free(o);
        if (rc) break;
    }
    if (rc == DB_DONE) rc = 0;
    s->drv->finalize(st);
    return rc;
}

static char *lower_dup(const char *p, size_t n)
{
    char *v = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) v[i] = (char)tolower((unsigned char)p[i]);
    v[n] = '\0';
    return v;
}

/* The indexed form of value i: hex for binary values, lower case otherwise. */
static char *index_form(const attr *values, size_t i)
{
    return values->type == AT_BINARY ? hex_encode(values->vals[i].data, values->vals[i].len)
                                     : lower_dup(values->vals[i].data, values->vals[i].len);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_mv_index_add(store *s, int64_t mv_id, const char *attr_name, const attr *values, err *e)
{
    db_stmt *st;
    int rc = 0;
    for (size_t i = 0; rc == 0 && values && i < values->nvals; i++) {
        rc = store_stmt(s, SQL_IDX_ADD, &st, e);
        if (rc) break;
        /* Binary values (objectGUID) are indexed as hex, the form join lookups use. */
        char *v = index_form(values, i);
        SB_TEXT(s, st, 1, attr_name);
        SB_TEXT(s, st, 2, v);
        SB_INT(s, st, 3, mv_id);
        rc = store_stmt_exec(s, st, e);
        free(v);
    }
    return rc;
}

/* Only the rows that change are written: the index's key is random (hex GUIDs, referenced ids), so
   every row deleted and inserted again is a write to a random page; a forward-reference retry
   typically adds values to an attribute and keeps the rest. */
int store_mv_index_set(store *s, int64_t mv_id, const char *attr_name, const attr *old, const attr *values, err *e)
{
    db_stmt *st;
    int rc = 0;
    size_t nnew = values ? values->nvals : 0, nold = old ? old->nvals : 0;
    char **now = nnew ? xcalloc(nnew, sizeof(char *)) : NULL, **was = nold ? xcalloc(nold, sizeof(char *)) : NULL;
    for (size_t i = 0; i < nnew; i++) now[i] = index_form(values, i);
    for (size_t i = 0; i < nold; i++) was[i] = index_form(old, i);
    /* a merge of the two sorted lists: large groups have thousands of values */
    if (nnew) qsort(now, nnew, sizeof(char *), cmp_str);
    if (nold) qsort(was, nold, sizeof(char *), cmp_str);
    size_t i = 0, j = 0;
    while (rc == 0 && (i < nold || j < nnew)) {
        int c = i == nold ? 1 : j == nnew ? -1 : strcmp(was[i], now[j]);
        if (c == 0) {   /* kept (skipping repeats of the value on both sides) */
            const char *v = was[i];
            while (i < nold && strcmp(was[i], v) == 0) i++;
            while (j < nnew && strcmp(now[j], v) == 0) j++;
            continue;
        }
        const char *v = c < 0 ? was[i] : now[j];
        rc = store_stmt(s, c < 0 ? SQL_IDX_DEL_ONE : SQL_IDX_ADD, &st, e);
        if (rc) break;
        SB_TEXT(s, st, 1, attr_name);
        SB_TEXT(s, st, 2, v);
        SB_INT(s, st, 3, mv_id);
        rc = store_stmt_exec(s, st, e);
        if (c < 0) while (i < nold && strcmp(was[i], v) == 0) i++;
        else while (j < nnew && strcmp(now[j], v) == 0) j++;
    }
    for (size_t k = 0; k < nnew; k++) free(now[k]);
    for (size_t k = 0; k < nold; k++) free(was[k]);
    free(now);
    free(was);
    return rc;
}

int store_mv_index_any(store *s, const char *attr_name, bool *out, err *e)
{
    db_stmt *st;
    *out = false;
    int rc = store_stmt(s, SQL_IDX_ANY, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, attr_name);
    rc = s->drv->step(st, e);
    *out = rc == DB_ROW;
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

int store_mv_index_find(store *s, const char *attr_name, const char *value, int64_t *ids, size_t max, size_t *n, err *e)
{
    db_stmt *st;
    *n = 0;
    int rc = store_stmt(s, SQL_IDX_FIND, &st, e);
    if (rc) return rc;
    char *v = lower_dup(value, strlen(value));
    SB_TEXT(s, st, 1, attr_name);
    SB_TEXT(s, st, 2, v);
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        if (*n < max) ids[*n] = SC_INT(s, st, 0);
        (*n)++;
    }
    free(v);
    store_stmt_done(s, st);
    if (*n > max) *n = max;
    return rc < 0 ? rc : 0;
}

static const char SQL_IDX_CLEAR[] = "DELETE FROM mv_index WHERE attr = ?";

/* rows per multi-row INSERT: one statement step per BULK_ROWS rows (192 parameters, under both
   engines' limits) */
#define BULK_ROWS 64

/* "INSERT ... VALUES (?,?,?),... (BULK_ROWS times) ON CONFLICT ... DO NOTHING", built once: the
   statement cache keys on this buffer's address. */
static const char *bulk_sql(void)
{
    static char sql[64 + BULK_ROWS * 8 + 64];
    if (sql[0]) return sql;
    char *p = sql;
    p += sprintf(p, "INSERT INTO mv_index(attr, value, mv_id) VALUES ");
    for (int i = 0; i < BULK_ROWS; i++) p += sprintf(p, i ? ",(?,?,?)" : "(?,?,?)");
    sprintf(p, " ON CONFLICT (attr, value, mv_id) DO NOTHING");
    return sql;
}

int store_mv_index_bulk(store *s, const store_index_row *rows, size_t n, err *e)
{
    db_stmt *st;
    int rc = 0;
    size_t i = 0;
    for (; rc == 0 && i + BULK_ROWS <= n; i += BULK_ROWS) {
        rc = store_stmt(s, bulk_sql(), &st, e);
        for (int k = 0; rc == 0 && k < BULK_ROWS; k++) {
            SB_TEXT(s, st, 3 * k + 1, rows[i + k].attr);
            SB_TEXT(s, st, 3 * k + 2, rows[i + k].value);
            SB_INT(s, st, 3 * k + 3, rows[i + k].mv_id);
        }
        if (rc == 0) rc = store_stmt_exec(s, st, e);
    }
    for (; rc == 0 && i < n; i++) {
        rc = store_stmt(s, SQL_IDX_ADD, &st, e);
        if (rc) break;
        SB_TEXT(s, st, 1, rows[i].attr);
        SB_TEXT(s, st, 2, rows[i].value);
        SB_INT(s, st, 3, rows[i].mv_id);
        rc = store_stmt_exec(s, st, e);
    }
    return rc;
}

static bool is_sqlite(const store *s)
{
    return strcmp(s->drv->engine, "sqlite") == 0;
}

/* Schema version 1 has an index on mv_id and a foreign key on mv_index (version 2 has neither). */
static bool index_v1(store *s)
{
    int v = STORE_SCHEMA_VERSION;
    err e = {0};
    return store_schema_version(s, &v, &e) == 0 && v < 2;
}

int store_mv_index_bulk_begin(store *s, err *e)
{
    if (store_in_tx(s)) return err_set(e, ERR_FAIL, "internal: a join-index bulk load needs its own transaction");
    if (!index_v1(s)) return store_begin(s, e);
    /* a no-op inside a transaction, hence before it */
    int rc = is_sqlite(s) ? s->drv->exec(s->d, "PRAGMA foreign_keys=OFF", e) : 0;
    bool began = false;
    if (rc == 0) began = (rc = store_begin(s, e)) == 0;
    /* the mv_id index is built again at the end (CREATE INDEX sorts): rows sorted by (attr, value)
       would each go to a random place in it (300,000 objects: inserts 1.9 s less, the CREATE INDEX
       1.2 s more) */
    if (rc == 0) rc = s->drv->exec(s->d, "DROP INDEX mv_index_mv", e);
    if (rc && began) store_rollback(s);
    if (rc && is_sqlite(s)) {
        err e2 = {0};
        s->drv->exec(s->d, "PRAGMA foreign_keys=ON", &e2);
    }
    return rc;
}

int store_mv_index_bulk_end(store *s, int rc, err *e)
{
    if (!index_v1(s)) {
        if (rc == 0) return store_commit(s, e);
        store_rollback(s);
        return rc;
    }
    if (rc == 0) rc = s->drv->exec(s->d, "CREATE INDEX mv_index_mv ON mv_index(mv_id)", e);
    if (rc == 0) rc = store_commit(s, e);
    else store_rollback(s);
    if (is_sqlite(s)) {
        err e2 = {0};
        int frc = s->drv->exec(s->d, "PRAGMA foreign_keys=ON", &e2);
        if (frc && rc == 0) {
            *e = e2;
            rc = frc;
        }
    }
    return rc;
}

int store_mv_index_clear(store *s, const char *attr_name, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_IDX_CLEAR, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, attr_name);
    return store_stmt_exec(s, st, e);
}

struct search_ctx {
    const char *attr, *value;
    int64_t *ids;
    size_t max, n;
};

static int search_one(void *ctx, mv_object *o, err *e)
{
    struct search_ctx *c = ctx;
    attr *a = attrs_get(o->attrs, c->attr);
    if (a && attr_has_value(a, c->value, strlen(c->value)) && c->n < c->max) c->ids[c->n++] = o->id;
    return 0;
}

int store_mv_search(store *s, const char *attr_name, const char *value, int64_t *ids, size_t max, size_t *n, err *e)
{
    struct search_ctx c = {attr_name, value, ids, max, 0};
    int rc = store_mv_each(s, search_one, &c, e);
    *n = c.n;
    return rc;
}


static const char SQL_IDS[] = "SELECT id FROM mv_objects ORDER BY id";

int store_mv_ids(store *s, int64_t **ids, size_t *n, err *e)
{
    *ids = NULL;
    *n = 0;
    db_stmt *st;
    int rc = store_stmt(s, SQL_IDS, &st, e);
    if (rc) return rc;
    return store_collect_ids(s, st, ids, n, e);
}
