/* Connector rows and watermarks. */
#include "store/store_int.h"
#include "util/util_alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_COLS "id, name, type, url, bind_dn, partitions, include_ous, exclude_ous, options, sealed_secret, " \
                  "full_import_required, full_sync_required, created_at, updated_at"

void store_connector_free(store_connector *c)
{
    if (!c) return;
    free(c->name); free(c->type); free(c->url); free(c->bind_dn);
    free(c->partitions_json); free(c->include_json); free(c->exclude_json); free(c->options_json);
    free(c->sealed_secret);
    free(c);
}

static store_connector *row_to_connector(store *s, db_stmt *st)
{
    store_connector *c = xcalloc(1, sizeof *c);
    c->id = SC_INT(s, st, 0);
    c->name = store_col_strdup(s, st, 1);
    c->type = store_col_strdup(s, st, 2);
    c->url = store_col_strdup(s, st, 3);
    c->bind_dn = store_col_strdup(s, st, 4);
    c->partitions_json = store_col_strdup(s, st, 5);
    c->include_json = store_col_strdup(s, st, 6);
    c->exclude_json = store_col_strdup(s, st, 7);
    c->options_json = store_col_strdup(s, st, 8);
    c->sealed_secret = store_col_blobdup(s, st, 9, &c->sealed_len);
    c->full_import_required = SC_INT(s, st, 10) != 0;
    c->full_sync_required = SC_INT(s, st, 11) != 0;
    c->created_at = SC_INT(s, st, 12);
    c->updated_at = SC_INT(s, st, 13);
    return c;
}

static const char SQL_ADD[] =
    "INSERT INTO connectors(name, type, url, bind_dn, partitions, include_ous, exclude_ous, options, sealed_secret, "
    "full_import_required, full_sync_required, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id";

static void bind_fields(store *s, db_stmt *st, const store_connector *c, int first)
{
    SB_TEXT(s, st, first, c->name);
    SB_TEXT(s, st, first + 1, c->type);
    SB_TEXT(s, st, first + 2, c->url);
    SB_TEXT(s, st, first + 3, c->bind_dn);
    SB_TEXT(s, st, first + 4, c->partitions_json ? c->partitions_json : "[]");
    SB_TEXT(s, st, first + 5, c->include_json ? c->include_json : "[]");
    SB_TEXT(s, st, first + 6, c->exclude_json ? c->exclude_json : "[]");
    SB_TEXT(s, st, first + 7, c->options_json ? c->options_json : "{}");
    SB_BLOB(s, st, first + 8, c->sealed_secret, c->sealed_len);
    SB_INT(s, st, first + 9, c->full_import_required);
    SB_INT(s, st, first + 10, c->full_sync_required);
}

int store_connector_add(store *s, store_connector *c, err *e)
{
    store_connector *existing = NULL;
    if (store_connector_get(s, c->name, &existing, NULL) == 0) {
        store_connector_free(existing);
        return err_set(e, ERR_EXISTS, "a connector named '%s' exists already; pick another name or remove it first "
                       "with `idsync connector remove %s`", c->name, c->name);
    }
    db_stmt *st;
    int rc = store_stmt(s, SQL_ADD, &st, e);
    if (rc) return rc;
    int64_t now = store_now();
    bind_fields(s, st, c, 1);
    SB_INT(s, st, 12, now);
    SB_INT(s, st, 13, now);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        c->id = SC_INT(s, st, 0);
        c->created_at = c->updated_at = now;
        rc = 0;
    }
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

static const char SQL_GET[] = "SELECT " CONN_COLS " FROM connectors WHERE name = ?";
static const char SQL_GET_ID[] = "SELECT " CONN_COLS " FROM connectors WHERE id = ?";

static int get_one(store *s, db_stmt *st, const char *what, store_connector **out, err *e)
{
    int rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *out = row_to_connector(s, st);
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = err_set(e, ERR_NOTFOUND, "no connector named '%s'; see `idsync connector list`", what);
    }
    store_stmt_done(s, st);
    return rc;
}

int store_connector_get(store *s, const char *name, store_connector **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_GET, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, name);
    return get_one(s, st, name, out, e);
}

int store_connector_get_by_id(store *s, int64_t id, store_connector **out, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_GET_ID, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, id);
    char what[32];
    snprintf(what, sizeof what, "#%lld", (long long)id);
    return get_one(s, st, what, out, e);
}

static const char SQL_EACH[] = "SELECT " CONN_COLS " FROM connectors ORDER BY name";

int store_connector_each(store *s, int (*fn)(void *ctx, const store_connector *c, err *e), void *ctx, err *e)
{
    /* Collect first so callbacks may use the store. */
    db_stmt *st;
    int rc = store_stmt(s, SQL_EACH, &st, e);
    if (rc) return rc;
    store_connector **list = NULL;
    size_t n = 0;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        list = xrealloc(list, (n + 1) * sizeof *list);
        list[n++] = row_to_connector(s, st);
    }
    store_stmt_done(s, st);
    if (rc == DB_DONE) rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = fn(ctx, list[i], e);
    for (size_t i = 0; i < n; i++) store_connector_free(list[i]);
    free(list);
    return rc;
}

static const char SQL_UPDATE[] =
    "UPDATE connectors SET name = ?, type = ?, url = ?, bind_dn = ?, partitions = ?, include_ous = ?, "
    "exclude_ous = ?, options = ?, sealed_secret = ?, full_import_required = ?, full_sync_required = ?, "
    "updated_at = ? WHERE id = ?";

int store_connector_update(store *s, const store_connector *c, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_UPDATE, &st, e);
    if (rc) return rc;
    bind_fields(s, st, c, 1);
    SB_INT(s, st, 12, store_now());
    SB_INT(s, st, 13, c->id);
    return store_stmt_exec(s, st, e);
}

static const char SQL_DEL_CS[] = "DELETE FROM cs_objects WHERE connector_id = ?";
static const char SQL_DEL_WM[] = "DELETE FROM watermarks WHERE connector_id = ?";
static const char SQL_DEL[] = "DELETE FROM connectors WHERE id = ?";

int store_connector_remove(store *s, const char *name, err *e)
{
    store_connector *c = NULL;
    int rc = store_connector_get(s, name, &c, e);
    if (rc) return rc;
    bool began;
    rc = store_autobegin(s, &began, e);
    const char *sqls[] = {SQL_DEL_CS, SQL_DEL_WM, SQL_DEL};
    for (int i = 0; i < 3 && rc == 0; i++) {
        db_stmt *st;
        rc = store_stmt(s, sqls[i], &st, e);
        if (rc) break;
        SB_INT(s, st, 1, c->id);
        rc = store_stmt_exec(s, st, e);
    }
    store_connector_free(c);
    return store_autoend(s, began, rc, e);
}

static const char SQL_FLAGS[] =
    "UPDATE connectors SET full_import_required = CASE WHEN ? < 0 THEN full_import_required ELSE ? END, "
    "full_sync_required = CASE WHEN ? < 0 THEN full_sync_required ELSE ? END WHERE id = ? OR ? = 0";

int store_connector_set_flags(store *s, int64_t id, int full_import, int full_sync, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_FLAGS, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, full_import);
    SB_INT(s, st, 2, full_import);
    SB_INT(s, st, 3, full_sync);
    SB_INT(s, st, 4, full_sync);
    SB_INT(s, st, 5, id);
    SB_INT(s, st, 6, id);
    return store_stmt_exec(s, st, e);
}

int store_connector_set_flags_all(store *s, int full_import, int full_sync, err *e)
{
    return store_connector_set_flags(s, 0, full_import, full_sync, e);
}

static const char SQL_WM_GET[] = "SELECT cookie FROM watermarks WHERE connector_id = ? AND partition = ?";
static const char SQL_WM_SET[] =
    "INSERT INTO watermarks(connector_id, partition, cookie, updated_at) VALUES (?,?,?,?) "
    "ON CONFLICT (connector_id, partition) DO UPDATE SET cookie = excluded.cookie, updated_at = excluded.updated_at";

int store_watermark_get(store *s, int64_t connector_id, const char *partition, void **cookie, size_t *len, err *e)
{
    db_stmt *st;
    *cookie = NULL;
    *len = 0;
    int rc = store_stmt(s, SQL_WM_GET, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_TEXT(s, st, 2, partition);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) *cookie = store_col_blobdup(s, st, 0, len);
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

int store_watermark_set(store *s, int64_t connector_id, const char *partition, const void *cookie, size_t len, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_WM_SET, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_TEXT(s, st, 2, partition);
    SB_BLOB(s, st, 3, cookie ? cookie : "", len);
    SB_INT(s, st, 4, store_now());
    return store_stmt_exec(s, st, e);
}

int store_watermark_clear(store *s, int64_t connector_id, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_DEL_WM, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    return store_stmt_exec(s, st, e);
}
