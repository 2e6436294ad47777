/* SQLite driver for the store: WAL mode, busy timeout, cached prepared statements. */
#include "store/store_driver.h"
#include "util/util_alloc.h"
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct db {
    sqlite3 *h;
    char *path;
};

struct db_stmt {
    sqlite3_stmt *s;
    db *d;
};

static int map_rc(db *d, int rc, const char *what, err *e)
{
    int code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? ERR_RETRY
             : (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) ? ERR_CORRUPT
             : (rc == SQLITE_CONSTRAINT) ? ERR_EXISTS : ERR_FAIL;
    const char *hint = code == ERR_RETRY ? " (the database is locked by another idsync process; retry when it finishes)"
                     : code == ERR_CORRUPT ? " (the file is not a valid SQLite database)" : "";
    return err_set(e, code, "SQLite %s failed on %s: %s%s", what, d ? d->path : "?",
                   d ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc), hint);
}

/* Memory statistics make every SQLite allocation take a global mutex; idsync never reads them.
   Must run before SQLite initializes, once per process. */
static void sq_configure_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
}

static int sq_open(const char *location, const char *password, bool create, db **out, err *e)
{
    (void)password;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sq_configure_once);
    struct stat st;
    if (!create && stat(location, &st) != 0)
        return err_set(e, ERR_NOTFOUND, "the SQLite database %s does not exist", location);
    /* A new database file is private (0600) from its first byte: it holds sealed credentials and
       identity data; SQLite gives its -wal and -shm files the same mode. */
    if (create && stat(location, &st) != 0) {
        int fd = open(location, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) close(fd);
    }
    db *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(location);
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(location, &d->h, flags, NULL);
    if (rc != SQLITE_OK) {
        map_rc(d, rc, "open", e);
        sqlite3_close(d->h);
        free(d->path);
        free(d);
        return e ? e->code : ERR_FAIL;
    }
    sqlite3_busy_timeout(d->h, 5000);
    sqlite3_extended_result_codes(d->h, 0);
    /* WAL: readers do not block the writer; NORMAL sync is durable across process crashes,
       which is the failure idsync must survive (a power loss may lose the last commit). */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                          "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;";
    char *msg = NULL;
    rc = sqlite3_exec(d->h, pragmas, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        err_set(e, rc == SQLITE_NOTADB ? ERR_CORRUPT : ERR_FAIL, "%s is not a usable SQLite database: %s",
                location, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(d->h);
        free(d->path);
        free(d);
        return e ? e->code : ERR_FAIL;
    }
    *out = d;
    return 0;
}

static void sq_close(db *d)
{
    if (!d) return;
    sqlite3_stmt *s;
    while ((s = sqlite3_next_stmt(d->h, NULL)) != NULL) sqlite3_finalize(s);
    sqlite3_close(d->h);
    free(d->path);
    free(d);
}

static int sq_exec(db *d, const char *sql, err *e)
{
    char *msg = NULL;
    int rc = sqlite3_exec(d->h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        err_set(e, rc == SQLITE_BUSY ? ERR_RETRY : ERR_FAIL, "SQLite error on %s: %s", d->path,
                msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return e ? e->code : ERR_FAIL;
    }
    return 0;
}

static int sq_prepare(db *d, const char *sql, db_stmt **out, err *e)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) return map_rc(d, rc, "prepare", e);
    db_stmt *st = xmalloc(sizeof *st);
    st->s = s;
    st->d = d;
    *out = st;
    return 0;
}

static int sq_bind_null(db_stmt *s, int i) { return sqlite3_bind_null(s->s, i) == SQLITE_OK ? 0 : ERR_FAIL; }
static int sq_bind_int64(db_stmt *s, int i, int64_t v) { return sqlite3_bind_int64(s->s, i, v) == SQLITE_OK ? 0 : ERR_FAIL; }
static int sq_bind_text(db_stmt *s, int i, const char *v, size_t len)
{
    if (!v) return sq_bind_null(s, i);
    return sqlite3_bind_text64(s->s, i, v, len, SQLITE_TRANSIENT, SQLITE_UTF8) == SQLITE_OK ? 0 : ERR_FAIL;
}
static int sq_bind_blob(db_stmt *s, int i, const void *v, size_t len)
{
    if (!v) return sq_bind_null(s, i);
    return sqlite3_bind_blob64(s->s, i, len ? v : "", len, SQLITE_TRANSIENT) == SQLITE_OK ? 0 : ERR_FAIL;
}

static int sq_step(db_stmt *s, err *e)
{
    int rc = sqlite3_step(s->s);
    if (rc == SQLITE_ROW) return DB_ROW;
    if (rc == SQLITE_DONE) return DB_DONE;
    int r = map_rc(s->d, rc, "statement", e);
    sqlite3_reset(s->s);
    return r;
}

static db_coltype sq_column_type(db_stmt *s, int i)
{
    switch (sqlite3_column_type(s->s, i)) {
    case SQLITE_INTEGER: return DB_INTEGER;
    case SQLITE_TEXT: return DB_TEXT;
    case SQLITE_BLOB: return DB_BLOB;
    case SQLITE_NULL: return DB_NULL;
    default: return DB_TEXT;
    }
}
static int64_t sq_column_int64(db_stmt *s, int i) { return sqlite3_column_int64(s->s, i); }
static const char *sq_column_text(db_stmt *s, int i) { return (const char *)sqlite3_column_text(s->s, i); }
static const void *sq_column_blob(db_stmt *s, int i, size_t *len)
{
    if (sqlite3_column_type(s->s, i) == SQLITE_NULL) {
        *len = 0;
        return NULL;
    }
    const void *p = sqlite3_column_blob(s->s, i);
    *len = (size_t)sqlite3_column_bytes(s->s, i);
    return p ? p : "";
}
static int sq_reset(db_stmt *s)
{
    sqlite3_reset(s->s);
    sqlite3_clear_bindings(s->s);
    return 0;
}
static void sq_finalize(db_stmt *s)
{
    if (!s) return;
    sqlite3_finalize(s->s);
    free(s);
}
static int sq_begin(db *d, err *e) { return sq_exec(d, "BEGIN IMMEDIATE", e); }
static int sq_commit(db *d, err *e) { return sq_exec(d, "COMMIT", e); }
static int sq_rollback(db *d, err *e)
{
    if (sqlite3_get_autocommit(d->h)) return 0;
    return sq_exec(d, "ROLLBACK", e);
}
static int64_t sq_changes(db *d) { return sqlite3_changes64(d->h); }
static int64_t sq_last_insert_id(db *d) { return sqlite3_last_insert_rowid(d->h); }
static int sq_size(db *d, int64_t *out, err *e)
{
    struct stat st;
    int64_t total = 0;
    if (stat(d->path, &st) == 0) total += st.st_size;
    char *wal = xasprintf("%s-wal", d->path);
    if (stat(wal, &st) == 0) total += st.st_size;
    free(wal);
    *out = total;
    return 0;
}

const db_driver db_driver_sqlite = {
    .engine = "sqlite",
    .open = sq_open, .close = sq_close, .exec = sq_exec, .prepare = sq_prepare,
    .bind_null = sq_bind_null, .bind_int64 = sq_bind_int64, .bind_text = sq_bind_text, .bind_blob = sq_bind_blob,
    .step = sq_step, .column_type = sq_column_type, .column_int64 = sq_column_int64,
    .column_text = sq_column_text, .column_blob = sq_column_blob, .reset = sq_reset, .finalize = sq_finalize,
    .begin = sq_begin, .commit = sq_commit, .rollback = sq_rollback, .changes = sq_changes, .size_bytes = sq_size,
    .last_insert_id = sq_last_insert_id,
};
