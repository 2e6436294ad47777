/* Database driver interface: the thin, engine-specific layer under the store. A driver
 * (SQLite, PostgreSQL) executes parameterised SQL written once in a neutral dialect:
 *   - placeholders are `?` (the PostgreSQL driver rewrites them to $1, $2, ...);
 *   - types: INTEGER (64-bit), TEXT, BLOB (PostgreSQL: BYTEA), NULL;
 *   - INSERT ... ON CONFLICT (...) DO UPDATE/NOTHING and RETURNING are allowed (both engines).
 * Everything above the driver (store_*.c) is engine-neutral; values are never formatted
 * into SQL text. */
#ifndef IDSYNC_STORE_DRIVER_H
#define IDSYNC_STORE_DRIVER_H
#include "util/util_err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db db;            /* one open connection; driver-private */
typedef struct db_stmt db_stmt;  /* one prepared statement; driver-private */

enum { DB_ROW = 1, DB_DONE = 0 };   /* db_step results; negative = ERR_* */

typedef enum db_coltype { DB_NULL = 0, DB_INTEGER = 1, DB_TEXT = 2, DB_BLOB = 3 } db_coltype;

typedef struct db_driver {
    const char *engine;   /* "sqlite" or "postgresql" */
    /* location: file path (sqlite) or libpq connection URL (postgresql). password may be NULL.
       create: for sqlite, whether a missing file may be created. */
    int (*open)(const char *location, const char *password, bool create, db **out, err *e);
    void (*close)(db *d);   /* finalizes any statements still cached; accepts NULL */
    /* Runs one or more statements without parameters or results (DDL, migrations). */
    int (*exec)(db *d, const char *sql, err *e);
    /* Prepares sql. The driver may cache by sql text; the caller must db_finalize. */
    int (*prepare)(db *d, const char *sql, db_stmt **out, err *e);
    /* Parameter indices start at 1, as in SQLite. Text and blobs are copied (transient). */
    int (*bind_null)(db_stmt *s, int i);
    int (*bind_int64)(db_stmt *s, int i, int64_t v);
    int (*bind_text)(db_stmt *s, int i, const char *v, size_t len);   /* v NULL binds NULL */
    int (*bind_blob)(db_stmt *s, int i, const void *v, size_t len);   /* v NULL binds NULL */
    /* DB_ROW when a row is available, DB_DONE at the end, negative ERR_* with e filled. */
    int (*step)(db_stmt *s, err *e);
    /* Column accessors for the current row; indices start at 0. Pointers stay valid until
       the next step/reset/finalize. */
    db_coltype (*column_type)(db_stmt *s, int i);
    int64_t (*column_int64)(db_stmt *s, int i);
    const char *(*column_text)(db_stmt *s, int i);                    /* NULL for NULL */
    const void *(*column_blob)(db_stmt *s, int i, size_t *len);       /* NULL for NULL */
    int (*reset)(db_stmt *s);       /* ready to bind and step again; keeps bindings cleared */
    void (*finalize)(db_stmt *s);   /* accepts NULL */
    int (*begin)(db *d, err *e);    /* BEGIN (sqlite: IMMEDIATE, so writers serialize) */
    int (*commit)(db *d, err *e);
    int (*rollback)(db *d, err *e); /* safe to call when no transaction is open */
    int64_t (*changes)(db *d);      /* rows changed by the last statement */
    int (*size_bytes)(db *d, int64_t *out, err *e);  /* database size on disk */
    /* The id the last successful INSERT on d gave its row, for an engine that tells it without
       RETURNING (SQLite: its RETURNING costs ~2 us per row, a quarter of a plain insert); NULL
       for an engine where inserts that need the id use RETURNING (see store_insert.h). */
    int64_t (*last_insert_id)(db *d);
} db_driver;

extern const db_driver db_driver_sqlite;
extern const db_driver db_driver_postgresql;

/* Picks a driver by URL: "sqlite:PATH" or a bare path -> sqlite; "postgresql://..." or
   "postgres://..." -> postgresql. *location_out is a borrowed pointer into url (the path or
   the libpq URL). Returns NULL with e filled for an unknown scheme. */
const db_driver *db_driver_for_url(const char *url, const char **location_out, err *e);
#endif
