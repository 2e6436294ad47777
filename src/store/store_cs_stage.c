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
