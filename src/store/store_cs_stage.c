/* The bulk path of a first full import: a new connector-space object stored straight from the
 * attribute encoding the import already made. */
#include "store/store_int.h"
#include <string.h>

static const char SQL_INSERT_STAGED[] =
    "INSERT INTO cs_objects(connector_id, anchor, dn, object_type, attrs, flags, seen_run, updated_at) "
    "VALUES (?,?,?,?,?,?,?,?)";

int store_cs_insert_staged(store *s, int64_t connector_id, const void *anchor, size_t anchor_len, const char *dn,
                           const char *object_type, const void *attrs_blob, size_t blob_len, int flags,
                           int64_t seen_run, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, SQL_INSERT_STAGED, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_BLOB(s, st, 2, anchor, anchor_len);
    SB_TEXT(s, st, 3, dn);
    SB_TEXT(s, st, 4, object_type ? object_type : "");
    SB_BLOB(s, st, 5, attrs_blob, blob_len);
    SB_INT(s, st, 6, flags);
    SB_INT(s, st, 7, seen_run);
    SB_INT(s, st, 8, store_now());
    return store_stmt_exec(s, st, e);
}

static const char SQL_STAGED_SAME[] =
    "SELECT dn, object_type, attrs, flags FROM cs_objects WHERE connector_id = ? AND anchor = ?";

int store_cs_staged_same(store *s, int64_t connector_id, const void *anchor, size_t anchor_len, const char *dn,
                         const char *object_type, const void *attrs_blob, size_t blob_len, int flags_clear,
                         bool *same, err *e)
{
    *same = false;
    db_stmt *st;
    int rc = store_stmt(s, SQL_STAGED_SAME, &st, e);
    if (rc) return rc;
    SB_INT(s, st, 1, connector_id);
    SB_BLOB(s, st, 2, anchor, anchor_len);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        const char *sdn = s->drv->column_text(st, 0), *stype = s->drv->column_text(st, 1);
        size_t slen = 0;
        const void *sblob = s->drv->column_blob(st, 2, &slen);
        int64_t flags = SC_INT(s, st, 3);
        *same = sdn && dn && strcmp(sdn, dn) == 0 && (!object_type || (stype && strcmp(stype, object_type) == 0)) &&
                slen == blob_len && (blob_len == 0 || (sblob && memcmp(sblob, attrs_blob, blob_len) == 0)) &&
                (flags & flags_clear) == 0;
        rc = 0;
    } else if (rc == DB_DONE) {
        rc = 0;
    }
    store_stmt_done(s, st);
    return rc;
}
