/* Inserts that need the new row's id, without RETURNING where the engine can do without
 * (store internal). Usage: store_insert_stmt, bind, store_insert_run. */
#ifndef IDSYNC_STORE_INSERT_H
#define IDSYNC_STORE_INSERT_H
#include "store/store_int.h"

/* The cached statement for an INSERT: plain_sql on an engine whose driver has last_insert_id,
   else returning_sql (the same INSERT followed by " RETURNING id"). Both static strings. */
int store_insert_stmt(store *s, const char *plain_sql, const char *returning_sql, db_stmt **out, err *e);
/* Runs st (from store_insert_stmt, bound) and resets it; *id is the new row's id. what names the
   row for the error message ("a metaverse object"). */
int store_insert_run(store *s, db_stmt *st, const char *what, int64_t *id, err *e);
#endif
