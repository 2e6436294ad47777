/* Internals shared by the store_*.c files; not part of the store contract. */
#ifndef IDSYNC_STORE_INT_H
#define IDSYNC_STORE_INT_H
#include "store/store.h"

#define STORE_STMT_CACHE 96

struct store {
    const db_driver *drv;
    db *d;
    char *location;
    int tx_depth;
    struct { const char *sql; db_stmt *st; } cache[STORE_STMT_CACHE];
    int ncache;
    struct store_async *async;   /* asynchronous writes on (store_async.h), or NULL */
};

/* Returns a prepared statement for sql (cached by pointer: pass a static string). The
   statement is reset and unbound; call store_stmt_done after use. */
int store_stmt(store *s, const char *sql, db_stmt **out, err *e);
void store_stmt_done(store *s, db_stmt *st);
/* Runs a statement that returns no rows; binds are done by the caller beforehand. */
int store_stmt_exec(store *s, db_stmt *st, err *e);
/* Binding helpers over the driver. */
#define SB_INT(s, st, i, v) (s)->drv->bind_int64((st), (i), (int64_t)(v))
#define SB_TEXT(s, st, i, v) (s)->drv->bind_text((st), (i), (v), (v) ? strlen(v) : 0)
#define SB_BLOB(s, st, i, v, n) (s)->drv->bind_blob((st), (i), (v), (n))
#define SC_INT(s, st, i) (s)->drv->column_int64((st), (i))
#define SC_TEXT(s, st, i) (s)->drv->column_text((st), (i))
/* Copies a text column (NULL stays NULL). */
char *store_col_strdup(store *s, db_stmt *st, int i);
/* Copies a blob column into a new buffer; *len set. NULL when the column is NULL. */
void *store_col_blobdup(store *s, db_stmt *st, int i, size_t *len);
/* Decodes an attrs blob column (NULL column -> empty set when empty_ok, else NULL). */
attrs *store_col_attrs(store *s, db_stmt *st, int i, bool null_is_empty, err *e);
/* Reads the first column of every row of st (already bound) into a new array the caller frees. */
int store_collect_ids(store *s, db_stmt *st, int64_t **ids, size_t *n, err *e);
/* Implicit transaction around one write when none is open. */
int store_autobegin(store *s, bool *began, err *e);
int store_autoend(store *s, bool began, int rc, err *e);
#endif
