/* Database side of backup, restore and move: catalogs, snapshots, checksums, batched inserts. */
#include "engine/engine_backup_int.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BK_COMMIT_ROWS 20000   /* rows per restore transaction */
#define BK_MULTI_PARAMS 900     /* parameters per multi-row INSERT (both engines allow far more) */

/* A strong reference to the PostgreSQL driver: store_driver.c refers to it weakly, so without one the
   linker leaves it out of the idsync binary ("no PostgreSQL support"). */
static bool is_pg(store *s) { return store_driver(s) == &db_driver_postgresql; }

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void engine_backup_sum_hex(const unsigned char sum[32], char out[65])
{
    sodium_bin2hex(out, 65, sum, 32);
}

int bk_known_table(const char *name)
{
    for (int i = 0; store_tables[i]; i++)
        if (strcmp(store_tables[i], name) == 0) return i;
    return -1;
}

const char *bk_class_name(char cls)
{
    return cls == BK_INTEGER ? "integer" : cls == BK_TEXT ? "text" : "blob";
}

char bk_class_parse(const char *name)
{
    if (strcmp(name, "integer") == 0) return BK_INTEGER;
    if (strcmp(name, "text") == 0) return BK_TEXT;
    if (strcmp(name, "blob") == 0) return BK_BLOB;
    return 0;
}

void bk_table_clear(bk_table *t)
{
    for (int i = 0; i < t->ncols; i++) free(t->cols[i].name);
    free(t->cols);
    free(t->name);
    memset(t, 0, sizeof *t);
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

void bk_sum_row(backup_table_sum *sum, const bk_val *v, int n)
{
    crypto_hash_sha256_state h;
    unsigned char hdr[9], out[32];
    crypto_hash_sha256_init(&h);
    for (int i = 0; i < n; i++) {
        hdr[0] = (unsigned char)v[i].t;
        if (v[i].t == BK_NULL) {
            crypto_hash_sha256_update(&h, hdr, 1);
            continue;
        }
        put_be64(hdr + 1, v[i].t == BK_INTEGER ? (uint64_t)v[i].i : (uint64_t)v[i].n);
        crypto_hash_sha256_update(&h, hdr, 9);
        if (v[i].t != BK_INTEGER && v[i].n) crypto_hash_sha256_update(&h, v[i].p, v[i].n);
    }
    crypto_hash_sha256_final(&h, out);
    unsigned carry = 0;   /* sum += out, big-endian, modulo 2^256 */
    for (int i = 31; i >= 0; i--) {
        unsigned x = (unsigned)sum->sum[i] + out[i] + carry;
        sum->sum[i] = (unsigned char)(x & 0xff);
        carry = x >> 8;
    }
    sum->rows++;
}

/* Column list of a table, from the engine's own catalog (engine-specific SQL, here only). */
int bk_catalog(store *s, const char *table, bk_table *out, err *e)
{
    const db_driver *drv = store_driver(s);
    const char *sql = is_pg(s)
        ? "SELECT column_name, data_type FROM information_schema.columns "
          "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
        : "SELECT name, type FROM pragma_table_info(?) ORDER BY cid";
    db_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    if (bk_known_table(table) < 0) return err_set(e, ERR_USAGE, "unknown table %s", table);
    int rc = drv->prepare(store_db(s), sql, &st, e);
    if (rc) return rc;
    drv->bind_text(st, 1, table, strlen(table));
    out->name = xstrdup(table);
    while ((rc = drv->step(st, e)) == DB_ROW) {
        const char *name = drv->column_text(st, 0), *type = drv->column_text(st, 1);
        char up[64] = "";
        for (size_t i = 0; type && type[i] && i + 1 < sizeof up; i++)
            up[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
        char cls = strstr(up, "INT") ? BK_INTEGER : (strstr(up, "BLOB") || strstr(up, "BYTEA")) ? BK_BLOB
                 : (strstr(up, "TEXT") || strstr(up, "CHAR")) ? BK_TEXT : 0;
        if (!name || !cls) {
            rc = err_set(e, ERR_CORRUPT, "table %s of %s has column %s of type %s, which no idsync schema uses; "
                         "the database was altered outside idsync", table, store_location(s), name ? name : "?",
                         type ? type : "?");
            break;
        }
        out->cols = xrealloc(out->cols, (size_t)(out->ncols + 1) * sizeof *out->cols);
        out->cols[out->ncols].name = xstrdup(name);
        out->cols[out->ncols].cls = cls;
        out->ncols++;
    }
    drv->finalize(st);
    if (rc < 0) goto fail;
    if (out->ncols == 0) {
        rc = err_set(e, ERR_CORRUPT, "the database %s has no table %s; it is not a complete idsync database",
                     store_location(s), table);
        goto fail;
    }
    return 0;
fail:
    bk_table_clear(out);
    return rc;
}

/* A read transaction that sees one consistent state of every table. */
static int snapshot_begin(store *s, err *e)
{
    const char *sql = is_pg(s) ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN DEFERRED";
    if (store_in_tx(s))
        return err_set(e, ERR_FAIL, "internal: a snapshot of %s was requested inside a transaction", store_location(s));
    return store_driver(s)->exec(store_db(s), sql, e);
}

static void snapshot_end(store *s)
{
    store_driver(s)->rollback(store_db(s), NULL);
}

static int read_value(store *s, db_stmt *st, const bk_table *t, int i, bk_val *v, err *e)
{
    const db_driver *drv = store_driver(s);
    memset(v, 0, sizeof *v);
    db_coltype ct = drv->column_type(st, i);
    if (ct == DB_NULL) {
        v->t = BK_NULL;
        return 0;
    }
    v->t = t->cols[i].cls;
    switch (v->t) {
    case BK_INTEGER:
        if (ct != DB_INTEGER)
            return err_set(e, ERR_CORRUPT, "table %s column %s of %s holds a value that is not an integer; the "
                           "database was altered outside idsync", t->name, t->cols[i].name, store_location(s));
        v->i = drv->column_int64(st, i);
        break;
    case BK_TEXT:
        v->p = drv->column_text(st, i);
        v->n = v->p ? strlen(v->p) : 0;
        if (!v->p) v->t = BK_NULL;
        break;
    default:
        v->p = drv->column_blob(st, i, &v->n);
        if (!v->p) v->t = BK_NULL;
        break;
    }
    return 0;
}

/* Streams every table of s (already inside a snapshot) to sink; fills rep->tables. */
static int scan_tables(store *s, const bk_sink *sink, backup_report *rep, err *e)
{
    int rc = 0;
    bk_table t = {0};
    bk_val *vals = NULL;
    db_stmt *st = NULL;
    const db_driver *drv = store_driver(s);
    rep->ntables = 0;
    for (int k = 0; store_tables[k] && rc == 0; k++) {
        rc = bk_catalog(s, store_tables[k], &t, e);
        if (rc) break;
        buf sql = BUF_INIT;
        buf_puts(&sql, "SELECT ");
        for (int i = 0; i < t.ncols; i++) buf_printf(&sql, "%s\"%s\"", i ? ", " : "", t.cols[i].name);
        buf_printf(&sql, " FROM %s ORDER BY 1", t.name);
        rc = drv->prepare(store_db(s), sql.data, &st, e);
        buf_free(&sql);
        if (rc) break;
        backup_table_sum sum = {0};
        snprintf(sum.name, sizeof sum.name, "%s", t.name);
        vals = xcalloc((size_t)t.ncols, sizeof *vals);
        if (sink && sink->begin) rc = sink->begin(sink->ctx, &t, e);
        while (rc == 0 && (rc = drv->step(st, e)) == DB_ROW) {
            rc = 0;
            for (int i = 0; rc == 0 && i < t.ncols; i++) rc = read_value(s, st, &t, i, &vals[i], e);
            if (rc) break;
            bk_sum_row(&sum, vals, t.ncols);
            if (sink && sink->row) rc = sink->row(sink->ctx, &t, vals, e);
        }
        if (rc == DB_DONE) rc = 0;
        drv->finalize(st);
        st = NULL;
        if (rc == 0 && sink && sink->end) rc = sink->end(sink->ctx, &t, &sum, e);
        if (rc == 0) rep->tables[rep->ntables++] = sum;
        FREE_AND_NULL(vals);
        bk_table_clear(&t);
    }
    free(vals);
    bk_table_clear(&t);
    return rc;
}

static int read_header(store *s, backup_report *rep, err *e)
{
    char *dbid = NULL;
    int rc = store_schema_version(s, &rep->schema_version, e);
    if (rc == 0) rc = store_meta_get(s, "database_id", &dbid, e);
    snprintf(rep->database_id, sizeof rep->database_id, "%s", dbid ? dbid : "");
    snprintf(rep->source_engine, sizeof rep->source_engine, "%s", store_engine(s));
    snprintf(rep->idsync_version, sizeof rep->idsync_version, "%s", IDSYNC_VERSION);
    rep->created_at = store_now();
    free(dbid);
    return rc;
}

int engine_backup_checksums(store *s, backup_report *rep, err *e)
{
    memset(rep, 0, sizeof *rep);
    double t0 = now_seconds();
    int rc = snapshot_begin(s, e);
    if (rc) return rc;
    rc = read_header(s, rep, e);
    if (rc == 0) rc = scan_tables(s, NULL, rep, e);
    snapshot_end(s);
    rep->seconds = now_seconds() - t0;
    return rc;
}

int engine_backup_write(store *s, const char *path, backup_report *rep, err *e)
{
    bk_writer *w = NULL;
    memset(rep, 0, sizeof *rep);
    double t0 = now_seconds();
    int rc = snapshot_begin(s, e);
    if (rc) return rc;
    rc = read_header(s, rep, e);
    if (rc == 0) rc = bk_writer_open(path, rep, &w, e);
    if (rc == 0) {
        bk_sink sink = bk_writer_sink(w);
        rc = scan_tables(s, &sink, rep, e);
    }
    snapshot_end(s);
    if (rc == 0) {
        rc = bk_writer_commit(w, rep->ntables, &rep->bytes, e);
        w = NULL;
    }
    bk_writer_abort(w);
    rep->seconds = now_seconds() - t0;
    if (rc) err_prefix(e, "backing up %s to %s", store_location(s), path);
    return rc;
}

int engine_backup_verify_file(const char *path, backup_report *rep, err *e)
{
    double t0 = now_seconds();
    bk_sink none = {0};
    int rc = bk_read_file(path, &none, rep, e);
    rep->seconds = now_seconds() - t0;
    return rc;
}

int engine_backup_compare(const backup_report *a, const char *a_name, const backup_report *b, const char *b_name,
                          err *e)
{
    for (int i = 0; i < a->ntables; i++) {
        const backup_table_sum *x = &a->tables[i], *y = NULL;
        for (int k = 0; k < b->ntables; k++)
            if (strcmp(b->tables[k].name, x->name) == 0) y = &b->tables[k];
        if (!y) return err_set(e, ERR_CORRUPT, "table %s of %s is missing from %s", x->name, a_name, b_name);
        if (x->rows != y->rows)
            return err_set(e, ERR_CORRUPT, "table %s differs: %s has %lld rows, %s has %lld", x->name, a_name,
                           (long long)x->rows, b_name, (long long)y->rows);
        if (memcmp(x->sum, y->sum, sizeof x->sum) != 0)
            return err_set(e, ERR_CORRUPT, "table %s differs: %s and %s hold the same number of rows (%lld) but "
                           "different data (checksums do not match)", x->name, a_name, b_name, (long long)x->rows);
    }
    if (a->ntables != b->ntables)
        return err_set(e, ERR_CORRUPT, "%s has %d tables, %s has %d", a_name, a->ntables, b_name, b->ntables);
    return 0;
}

/* ---- inserting rows into a target database ---- */

typedef struct bk_slot {
    char t;
    int64_t i;
    size_t off, n;   /* into the arena */
} bk_slot;

typedef struct bk_inserter {
    store *s;                 /* borrowed target */
    bk_table t;               /* target catalog of the current table */
    db_stmt *multi, *single;  /* owned */
    int per_stmt;             /* rows per multi-row INSERT */
    bk_slot *slots;           /* per_stmt * ncols */
    int pending;              /* rows buffered */
    buf arena;                /* text and blob bytes of buffered rows */
    int64_t uncommitted;
} bk_inserter;

static char *insert_sql(const bk_table *t, int rows)
{
    buf b = BUF_INIT;
    buf_printf(&b, "INSERT INTO %s (", t->name);
    for (int i = 0; i < t->ncols; i++) buf_printf(&b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
    buf_puts(&b, ") VALUES ");
    for (int r = 0; r < rows; r++) {
        buf_puts(&b, r ? ", (" : "(");
        for (int i = 0; i < t->ncols; i++) buf_puts(&b, i ? ", ?" : "?");
        buf_putc(&b, ')');
    }
    return buf_steal(&b, NULL);
}

static void ins_close_stmts(bk_inserter *in)
{
    if (in->s) {
        store_driver(in->s)->finalize(in->multi);
        store_driver(in->s)->finalize(in->single);
    }
    in->multi = in->single = NULL;
    FREE_AND_NULL(in->slots);
    bk_table_clear(&in->t);
}

static int ins_begin(void *ctx, const bk_table *src, err *e)
{
    bk_inserter *in = ctx;
    const db_driver *drv = store_driver(in->s);
    int rc = bk_catalog(in->s, src->name, &in->t, e);
    if (rc) return rc;
    bool same = in->t.ncols == src->ncols;
    for (int i = 0; same && i < src->ncols; i++)
        same = strcmp(in->t.cols[i].name, src->cols[i].name) == 0 && in->t.cols[i].cls == src->cols[i].cls;
    if (!same)
        return err_set(e, ERR_CORRUPT, "table %s has different columns in the source than in the new database %s; "
                       "the source was written by another schema or altered outside idsync", src->name,
                       store_location(in->s));
    in->per_stmt = BK_MULTI_PARAMS / in->t.ncols;
    if (in->per_stmt < 1) in->per_stmt = 1;
    in->slots = xcalloc((size_t)(in->per_stmt * in->t.ncols), sizeof *in->slots);
    in->pending = 0;
    buf_reset(&in->arena);
    char *m = insert_sql(&in->t, in->per_stmt), *one = insert_sql(&in->t, 1);
    rc = drv->prepare(store_db(in->s), m, &in->multi, e);
    if (rc == 0) rc = drv->prepare(store_db(in->s), one, &in->single, e);
    free(m);
    free(one);
    if (rc) return rc;
    if (!store_in_tx(in->s)) rc = store_begin(in->s, e);
    /* the schema's own rows (meta schema_version) make way for the copied ones */
    char *del = xasprintf("DELETE FROM %s", in->t.name);
    if (rc == 0) rc = drv->exec(store_db(in->s), del, e);
    free(del);
    return rc;
}

static int ins_flush(bk_inserter *in, err *e)
{
    const db_driver *drv = store_driver(in->s);
    int ncols = in->t.ncols, rc = 0, done = 0;
    while (rc == 0 && done < in->pending) {
        bool multi = in->pending - done >= in->per_stmt;
        db_stmt *st = multi ? in->multi : in->single;
        int rows = multi ? in->per_stmt : 1;
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < ncols; i++) {
                const bk_slot *v = &in->slots[(done + r) * ncols + i];
                int idx = r * ncols + i + 1;
                const char *p = in->arena.data ? in->arena.data + v->off : "";
                if (v->t == BK_NULL) drv->bind_null(st, idx);
                else if (v->t == BK_INTEGER) drv->bind_int64(st, idx, v->i);
                else if (v->t == BK_TEXT) drv->bind_text(st, idx, p, v->n);
                else drv->bind_blob(st, idx, p, v->n);
            }
        }
        rc = drv->step(st, e);
        drv->reset(st);
        rc = rc < 0 ? rc : 0;
        done += rows;
    }
    in->uncommitted += in->pending;
    in->pending = 0;
    buf_reset(&in->arena);
    if (rc == 0 && in->uncommitted >= BK_COMMIT_ROWS) {
        rc = store_commit(in->s, e);
        if (rc == 0) rc = store_begin(in->s, e);
        in->uncommitted = 0;
    }
    if (rc) err_prefix(e, "writing table %s into %s", in->t.name, store_location(in->s));
    return rc;
}

static int ins_row(void *ctx, const bk_table *t, const bk_val *v, err *e)
{
    bk_inserter *in = ctx;
    bk_slot *row = &in->slots[in->pending * in->t.ncols];
    for (int i = 0; i < in->t.ncols; i++) {
        row[i].t = v[i].t;
        row[i].i = v[i].i;
        row[i].n = v[i].n;
        row[i].off = in->arena.len;
        if ((v[i].t == BK_TEXT || v[i].t == BK_BLOB) && v[i].n) buf_append(&in->arena, v[i].p, v[i].n);
    }
    if (++in->pending == in->per_stmt) return ins_flush(in, e);
    return 0;
}

static int ins_end(void *ctx, const bk_table *t, const backup_table_sum *sum, err *e)
{
    bk_inserter *in = ctx;
    int rc = ins_flush(in, e);
    ins_close_stmts(in);
    return rc;
}

static void ins_free(bk_inserter *in)
{
    ins_close_stmts(in);
    buf_free(&in->arena);
}

/* PostgreSQL identity columns keep their own counter: move it past the copied ids. */
static int fix_sequences(store *s, err *e)
{
    if (!is_pg(s)) return 0;   /* SQLite's INTEGER PRIMARY KEY continues from max(rowid) */
    int rc = 0;
    for (int k = 0; store_tables[k] && rc == 0; k++) {
        bk_table t = {0};
        rc = bk_catalog(s, store_tables[k], &t, e);
        bool has_id = false;
        for (int i = 0; rc == 0 && i < t.ncols; i++) has_id |= strcmp(t.cols[i].name, "id") == 0;
        if (rc == 0 && has_id) {
            char *sql = xasprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), max(id)) FROM %s "
                                  "HAVING max(id) IS NOT NULL", t.name, t.name);
            rc = store_driver(s)->exec(store_db(s), sql, e);
            free(sql);
        }
        bk_table_clear(&t);
    }
    if (rc) err_prefix(e, "resetting the id sequences of %s", store_location(s));
    return rc;
}

/* Target handling shared by restore and copy. */
typedef struct bk_target {
    const char *url;
    store *s;
    char *sqlite_path;   /* owned; the file when the engine is SQLite */
    bool created_file;   /* the SQLite file did not exist before */
    bool created_schema;
} bk_target;

static int target_create(bk_target *t, const char *url, const char *password, err *e)
{
    const char *loc = NULL;
    memset(t, 0, sizeof *t);
    t->url = url;
    const db_driver *drv = db_driver_for_url(url, &loc, e);
    if (!drv) return e && e->code ? e->code : ERR_USAGE;
    if (drv == &db_driver_sqlite) {
        struct stat st;
        t->sqlite_path = xstrdup(loc);
        t->created_file = stat(loc, &st) != 0;
    }
    int rc = store_create(url, password, &t->s, e);
    if (rc == ERR_EXISTS)
        return err_set(e, ERR_REFUSED, "the target database %s is not empty (it holds tables); idsync restores only "
                       "into an empty database: create a new one (or drop its tables) and retry", loc);
    if (rc) {
        if (t->created_file && t->sqlite_path) unlink(t->sqlite_path);
        return err_prefix(e, "creating the schema in the target database %s", loc);
    }
    t->created_schema = true;
    if (t->sqlite_path) chmod(t->sqlite_path, 0600);   /* it will hold sealed credentials */
    return 0;
}

/* After a failure: drop what we created so a retry finds an empty target. */
static void target_discard(bk_target *t, err *e)
{
    if (!t->created_schema) {
        free(t->sqlite_path);
        return;
    }
    err de = {0};
    int rc = 0;
    char *where = t->s ? xstrdup(store_location(t->s)) : xstrdup(t->url);
    if (t->s) {
        store_rollback(t->s);
        store_driver(t->s)->rollback(store_db(t->s), NULL);
        int n = 0;
        while (store_tables[n]) n++;
        for (int k = n - 1; k >= 0 && rc == 0; k--) {
            char *sql = xasprintf("DROP TABLE IF EXISTS %s", store_tables[k]);
            rc = store_driver(t->s)->exec(store_db(t->s), sql, &de);
            free(sql);
        }
        store_close(t->s);
        t->s = NULL;
    }
    if (t->created_file && t->sqlite_path) {
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            char *p = xasprintf("%s%s", t->sqlite_path, sfx[i]);
            unlink(p);
            free(p);
        }
        rc = 0;
    }
    if (rc && e)
        err_prefix(e, "the partial copy in %s could not be removed (%s); drop its tables before retrying. Cause",
                   where, de.msg);
    free(where);
    free(t->sqlite_path);
    t->sqlite_path = NULL;
}

/* Fix sequences, re-read the target, compare with what was copied, release the lease. */
static int target_finish(bk_target *t, const backup_report *copied, const char *copied_name, err *e)
{
    backup_report got;
    int rc = store_commit(t->s, e);
    if (rc == 0) rc = fix_sequences(t->s, e);
    if (rc == 0) rc = engine_backup_checksums(t->s, &got, e);
    if (rc == 0) {
        char *name = xasprintf("the new database %s", store_location(t->s));
        rc = engine_backup_compare(copied, copied_name, &got, name, e);
        free(name);
        if (rc) err_prefix(e, "verifying the copy");
    }
    if (rc == 0) rc = store_meta_set_int(t->s, "owner_heartbeat", 0, e);
    return rc;
}

/* Backups this build restores: its own schema version, and version 1, whose tables have the same
   columns (version 2 changed only the join index's key, indexes and foreign key; a version-1
   database has no join-index row without its MV object, as migration 002 requires). */
static bool schema_restorable(int v)
{
    return v == STORE_SCHEMA_VERSION || (STORE_SCHEMA_VERSION == 2 && v == 1);
}

int engine_backup_restore(const char *path, const char *url, const char *password, backup_report *rep, err *e)
{
    bk_target t = {0};
    bk_inserter in = {0};
    backup_report pass;
    double t0 = now_seconds();
    int rc = engine_backup_verify_file(path, rep, e);
    if (rc) goto done;
    if (!schema_restorable(rep->schema_version)) {
        rc = err_set(e, ERR_REFUSED, "the backup %s holds schema version %d but this idsync %s creates version %d; "
                     "restoring across schema versions is not supported yet: restore with idsync %s, then adopt "
                     "the database with this version (`install --use-existing-database` migrates it)", path,
                     rep->schema_version, IDSYNC_VERSION, STORE_SCHEMA_VERSION, rep->idsync_version);
        goto done;
    }
    rc = target_create(&t, url, password, e);
    if (rc) goto done;
    in.s = t.s;
    bk_sink sink = {.ctx = &in, .begin = ins_begin, .row = ins_row, .end = ins_end};
    rc = bk_read_file(path, &sink, &pass, e);
    if (rc == 0) {
        char *name = xasprintf("the backup %s", path);
        rc = target_finish(&t, rep, name, e);
        free(name);
    }
    /* the copied meta rows name the backup's version; the tables are this build's */
    if (rc == 0 && rep->schema_version != STORE_SCHEMA_VERSION)
        rc = store_meta_set_int(t.s, "schema_version", STORE_SCHEMA_VERSION, e);
done:
    ins_free(&in);
    if (rc) target_discard(&t, e);
    else {
        store_close(t.s);
        free(t.sqlite_path);
    }
    rep->seconds = now_seconds() - t0;
    return rc;
}

int engine_backup_copy(store *src, const char *url, const char *password, backup_report *rep, err *e)
{
    bk_target t = {0};
    bk_inserter in = {0};
    memset(rep, 0, sizeof *rep);
    double t0 = now_seconds();
    int rc = target_create(&t, url, password, e);
    if (rc) goto done;
    in.s = t.s;
    bk_sink sink = {.ctx = &in, .begin = ins_begin, .row = ins_row, .end = ins_end};
    rc = snapshot_begin(src, e);
    if (rc) goto done;
    rc = read_header(src, rep, e);
    if (rc == 0) rc = scan_tables(src, &sink, rep, e);
    snapshot_end(src);
    if (rc == 0) {
        char *name = xasprintf("the source database %s", store_location(src));
        rc = target_finish(&t, rep, name, e);
        free(name);
    }
    if (rc == 0) {
        /* last, read the source again: a write by another process since the snapshot would be lost */
        backup_report again;
        rc = engine_backup_checksums(src, &again, e);
        if (rc == 0) rc = engine_backup_compare(rep, "the copied snapshot", &again, "the source database now", e);
        if (rc == ERR_CORRUPT)
            err_prefix(e, "the source database changed during the copy (another idsync process wrote to it); retry "
                       "when no run or cycle is active");
    }
done:
    ins_free(&in);
    if (rc) target_discard(&t, e);
    else {
        store_close(t.s);
        free(t.sqlite_path);
    }
    rep->seconds = now_seconds() - t0;
    return rc;
}
