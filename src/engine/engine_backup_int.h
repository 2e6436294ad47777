/* Internals shared by engine_backup*.c: table catalogs, row values, checksums, row sinks. */
#ifndef IDSYNC_ENGINE_BACKUP_INT_H
#define IDSYNC_ENGINE_BACKUP_INT_H
#include "engine/engine_backup.h"
#include <stddef.h>

/* Column classes, as written in the file. */
enum { BK_INTEGER = 'I', BK_TEXT = 'T', BK_BLOB = 'B', BK_NULL = 'N' };

typedef struct bk_col {
    char *name;    /* owned */
    char cls;      /* BK_INTEGER / BK_TEXT / BK_BLOB */
} bk_col;

typedef struct bk_table {
    char *name;    /* owned; always one of store_tables[] once validated */
    bk_col *cols;  /* owned, ncols entries */
    int ncols;
} bk_table;

/* One value of a row; p is borrowed (valid until the next row). */
typedef struct bk_val {
    char t;          /* BK_NULL or the column class */
    int64_t i;
    const void *p;
    size_t n;
} bk_val;

/* Where rows go. Any callback may be NULL. */
typedef struct bk_sink {
    void *ctx;
    int (*begin)(void *ctx, const bk_table *t, err *e);
    int (*row)(void *ctx, const bk_table *t, const bk_val *v, err *e);
    int (*end)(void *ctx, const bk_table *t, const backup_table_sum *sum, err *e);
} bk_sink;

void bk_table_clear(bk_table *t);
/* Loads the column catalog of table (must be in store_tables) from the database. */
int bk_catalog(store *s, const char *table, bk_table *out, err *e);
/* Returns the index of name in store_tables, or -1. */
int bk_known_table(const char *name);
const char *bk_class_name(char cls);
char bk_class_parse(const char *name);   /* 0 when unknown */

/* Adds the canonical hash of one row to sum. */
void bk_sum_row(backup_table_sum *sum, const bk_val *v, int n);

/* File writer sink: opens a temp file beside path (mode 0600) and writes the header. */
typedef struct bk_writer bk_writer;
int bk_writer_open(const char *path, const backup_report *header, bk_writer **out, err *e);
bk_sink bk_writer_sink(bk_writer *w);
/* Writes the final line, fsyncs and renames into place; *bytes = file size. */
int bk_writer_commit(bk_writer *w, int ntables, int64_t *bytes, err *e);
void bk_writer_abort(bk_writer *w);   /* removes the temp file; accepts NULL */

/* Reads path, checks each table against its trailer and the file's completeness, and feeds
   every row to sink (which may be all NULL to only verify). Fills rep. */
int bk_read_file(const char *path, const bk_sink *sink, backup_report *rep, err *e);
#endif
