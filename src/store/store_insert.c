/* Inserts that need the new row's id; see store_insert.h. */
#include "store/store_insert.h"
#include <string.h>

int store_insert_stmt(store *s, const char *plain_sql, const char *returning_sql, db_stmt **out, err *e)
{
    return store_stmt(s, s->drv->last_insert_id ? plain_sql : returning_sql, out, e);
}

int store_insert_run(store *s, db_stmt *st, const char *what, int64_t *id, err *e)
{
    int rc = s->drv->step(st, e);
    if (s->drv->last_insert_id) {
        /* the id is read before anything else can insert on this connection */
        if (rc == DB_DONE) *id = s->drv->last_insert_id(s->d);
    } else if (rc == DB_ROW) {
        *id = SC_INT(s, st, 0);
        rc = DB_DONE;
    }
    store_stmt_done(s, st);
    if (rc == DB_DONE) return 0;
    return rc < 0 ? rc : err_set(e, ERR_FAIL, "inserting %s returned no id", what);
}
