/* Store lifecycle: open/create, schema migrations, transactions, meta settings, statement cache. */
#include "store/store_int.h"
#include "store/store_async.h"
#include "store/store_migrations.h"
#include "util/util_alloc.h"
#include "util/util_buf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const store_tables[] = {"meta", "connectors", "watermarks", "sync_rules", "cs_objects",
                                    "mv_objects", "mv_index", "runs", "run_errors", NULL};

int64_t store_now(void)
{
    const char *fake = getenv("IDSYNC_FAKE_NOW");
    if (fake && *fake) return strtoll(fake, NULL, 10);
    return (int64_t)time(NULL);
}

int store_stmt(store *s, const char *sql, db_stmt **out, err *e)
{
    if (s->async) {   /* queued writes first (store_async.h) */
        int src = store_sync(s, e);
        if (src) return src;
    }
    for (int i = 0; i < s->ncache; i++) {
        if (s->cache[i].sql == sql) {
            *out = s->cache[i].st;
            return 0;
        }
    }
    db_stmt *st = NULL;
    int rc = s->drv->prepare(s->d, sql, &st, e);
    if (rc) return rc;
    if (s->ncache < STORE_STMT_CACHE) {
        s->cache[s->ncache].sql = sql;
        s->cache[s->ncache].st = st;
        s->ncache++;
    } else {
        /* Cache full (should not happen: the store has fewer statements than slots). */
        s->drv->finalize(s->cache[0].st);
        s->cache[0].sql = sql;
        s->cache[0].st = st;
    }
    *out = st;
    return 0;
}

void store_stmt_done(store *s, db_stmt *st)
{
    if (st) s->drv->reset(st);
}

int store_stmt_exec(store *s, db_stmt *st, err *e)
{
    int rc = s->drv->step(st, e);
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

char *store_col_strdup(store *s, db_stmt *st, int i)
{
    const char *t = s->drv->column_text(st, i);
    return t ? xstrdup(t) : NULL;
}

void *store_col_blobdup(store *s, db_stmt *st, int i, size_t *len)
{
    size_t n = 0;
    const void *p = s->drv->column_blob(st, i, &n);
    *len = n;
    if (!p) return NULL;
    return xmemdup(p, n ? n : 1);
}

attrs *store_col_attrs(store *s, db_stmt *st, int i, bool null_is_empty, err *e)
{
    size_t n = 0;
    const void *p = s->drv->column_blob(st, i, &n);
    if (!p) return null_is_empty ? attrs_new() : NULL;
    return attrs_decode(p, n, e);
}

int store_autobegin(store *s, bool *began, err *e)
{
    *began = false;
    if (s->tx_depth) return 0;
    int rc = store_begin(s, e);
    if (rc == 0) *began = true;
    return rc;
}

int store_autoend(store *s, bool began, int rc, err *e)
{
    if (!began) return rc;
    if (rc == 0) return store_commit(s, e);
    store_rollback(s);
    return rc;
}

int store_begin(store *s, err *e)
{
    int src = store_sync(s, e);
    if (src) return src;
    if (s->tx_depth++) return 0;
    int rc = s->drv->begin(s->d, e);
    if (rc) s->tx_depth = 0;
    return rc;
}

int store_commit(store *s, err *e)
{
    int src = store_sync(s, e);
    if (src) return src;
    if (s->tx_depth == 0) return 0;
    if (--s->tx_depth) return 0;
    int rc = s->drv->commit(s->d, e);
    if (rc) s->drv->rollback(s->d, NULL);
    return rc;
}

int store_rollback(store *s)
{
    if (!s || s->tx_depth == 0) return 0;
    store_sync(s, NULL);   /* the writer must be idle; what it failed on is rolled back with the rest */
    s->tx_depth = 0;
    return s->drv->rollback(s->d, NULL);
}

bool store_in_tx(const store *s) { return s->tx_depth > 0; }
const char *store_engine(const store *s) { return s->drv->engine; }
const char *store_location(const store *s) { return s->location; }
db *store_db(store *s) { return s->d; }
const db_driver *store_driver(store *s) { return s->drv; }

void store_close(store *s)
{
    if (!s) return;
    store_async_end(s, NULL);
    store_rollback(s);
    for (int i = 0; i < s->ncache; i++) s->drv->finalize(s->cache[i].st);
    s->drv->close(s->d);
    free(s->location);
    free(s);
}

static int count_tables(store *s, int64_t *n, err *e)
{
    const char *sql = strcmp(s->drv->engine, "sqlite") == 0
        ? "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        : "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()";
    db_stmt *st = NULL;
    int rc = s->drv->prepare(s->d, sql, &st, e);
    if (rc) return rc;
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) {
        *n = s->drv->column_int64(st, 0);
        rc = 0;
    } else if (rc == DB_DONE) {
        *n = 0;
    }
    s->drv->finalize(st);
    return rc < 0 ? rc : 0;
}

static int connect(const char *url, const char *password, bool create, store **out, err *e)
{
    const char *loc = NULL;
    const db_driver *drv = db_driver_for_url(url, &loc, e);
    if (!drv) return e ? e->code : ERR_USAGE;
    db *d = NULL;
    int rc = drv->open(loc, password, create, &d, e);
    if (rc) return rc;
    store *s = xcalloc(1, sizeof *s);
    s->drv = drv;
    s->d = d;
    s->location = xstrdup(loc);
    *out = s;
    return 0;
}

int store_schema_version(store *s, int *out, err *e)
{
    int64_t v = 0;
    int rc = store_meta_get_int(s, "schema_version", 0, &v, e);
    *out = (int)v;
    return rc;
}

static int highest_migration(const char *engine)
{
    int v = 0;
    for (const store_migration *m = store_migrations; m->engine; m++)
        if (strcmp(m->engine, engine) == 0 && m->version > v) v = m->version;
    return v;
}

int store_open(const char *url, const char *password, store **out, err *e)
{
    store *s = NULL;
    int rc = connect(url, password, false, &s, e);
    if (rc) return rc;
    int64_t ntables = 0;
    rc = count_tables(s, &ntables, e);
    if (rc) goto fail;
    if (ntables == 0) {
        rc = err_set(e, ERR_NOTFOUND, "the database %s is empty: it holds no idsync data", s->location);
        goto fail;
    }
    db_stmt *st = NULL;
    err probe = {0};
    if (s->drv->prepare(s->d, "SELECT value FROM meta WHERE key = 'schema_version'", &st, &probe) != 0) {
        rc = err_set(e, ERR_CORRUPT, "the database %s is not an idsync sync database (it has no idsync meta table); "
                     "point idsync at its own database or at an empty one", s->location);
        goto fail;
    }
    s->drv->finalize(st);
    int version = 0;
    rc = store_schema_version(s, &version, e);
    if (rc) goto fail;
    if (version <= 0) {
        rc = err_set(e, ERR_CORRUPT, "the database %s is not an idsync sync database (no schema version recorded)",
                     s->location);
        goto fail;
    }
    if (version > STORE_SCHEMA_VERSION) {
        char *ev = NULL;
        store_meta_get(s, "engine_version", &ev, NULL);
        rc = err_set(e, ERR_REFUSED, "the database %s has schema version %d, newer than this idsync %s understands "
                     "(%d); it was last written by idsync %s: install that version or newer",
                     s->location, version, IDSYNC_VERSION, STORE_SCHEMA_VERSION, ev ? ev : "(unknown)");
        free(ev);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

int store_migrate(store *s, int *from, int *to, err *e)
{
    int cur = 0, rc = 0;
    err probe = {0};
    db_stmt *st = NULL;
    if (s->drv->prepare(s->d, "SELECT value FROM meta WHERE key = 'schema_version'", &st, &probe) == 0) {
        s->drv->finalize(st);
        rc = store_schema_version(s, &cur, e);
        if (rc) return rc;
    }
    if (from) *from = cur;
    int target = highest_migration(s->drv->engine);
    for (int v = cur + 1; v <= target; v++) {
        const store_migration *m = NULL;
        for (const store_migration *x = store_migrations; x->engine; x++)
            if (strcmp(x->engine, s->drv->engine) == 0 && x->version == v) m = x;
        if (!m) return err_set(e, ERR_FAIL, "migration %d for %s is missing from this build", v, s->drv->engine);
        rc = store_begin(s, e);
        if (rc) return rc;
        rc = s->drv->exec(s->d, m->sql, e);
        if (rc == 0) rc = store_meta_set_int(s, "schema_version", v, e);
        if (rc) {
            store_rollback(s);
            return err_prefix(e, "applying migration %s", m->name);
        }
        rc = store_commit(s, e);
        if (rc) return rc;
    }
    if (to) *to = target;
    return 0;
}

int store_create(const char *url, const char *password, store **out, err *e)
{
    store *s = NULL;
    int rc = connect(url, password, true, &s, e);
    if (rc) return rc;
    int64_t ntables = 0;
    rc = count_tables(s, &ntables, e);
    if (rc) goto fail;
    if (ntables > 0) {
        rc = err_set(e, ERR_EXISTS, "the database %s is not empty; idsync installs only into an empty database "
                     "(use --use-existing-database to adopt an idsync database)", s->location);
        goto fail;
    }
    rc = store_migrate(s, NULL, NULL, e);
    if (rc) goto fail;
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

static const char SQL_META_GET[] = "SELECT value FROM meta WHERE key = ?";
static const char SQL_META_SET[] =
    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
static const char SQL_META_DEL[] = "DELETE FROM meta WHERE key = ?";

int store_meta_get(store *s, const char *key, char **out, err *e)
{
    db_stmt *st;
    *out = NULL;
    int rc = store_stmt(s, SQL_META_GET, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, key);
    rc = s->drv->step(st, e);
    if (rc == DB_ROW) *out = store_col_strdup(s, st, 0);
    store_stmt_done(s, st);
    return rc < 0 ? rc : 0;
}

int store_meta_set(store *s, const char *key, const char *value, err *e)
{
    db_stmt *st;
    int rc = store_stmt(s, value ? SQL_META_SET : SQL_META_DEL, &st, e);
    if (rc) return rc;
    SB_TEXT(s, st, 1, key);
    if (value) SB_TEXT(s, st, 2, value);
    return store_stmt_exec(s, st, e);
}

int store_meta_get_int(store *s, const char *key, int64_t def, int64_t *out, err *e)
{
    char *v = NULL;
    *out = def;
    int rc = store_meta_get(s, key, &v, e);
    if (rc == 0 && v && *v) {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (*end == '\0') *out = x;
    }
    free(v);
    return rc;
}

int store_meta_set_int(store *s, const char *key, int64_t value, err *e)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", (long long)value);
    return store_meta_set(s, key, tmp, e);
}

int store_table_count(store *s, const char *table, int64_t *out, err *e)
{
    /* table names come from the fixed store_tables list, never from input */
    int ok = 0;
    for (int i = 0; store_tables[i]; i++) ok |= strcmp(store_tables[i], table) == 0;
    if (!ok) return err_set(e, ERR_USAGE, "unknown table %s", table);
    int src = store_sync(s, e);
    if (src) return src;
    char *sql = xasprintf("SELECT count(*) FROM %s", table);
    db_stmt *st = NULL;
    int rc = s->drv->prepare(s->d, sql, &st, e);
    free(sql);
    if (rc) return rc;
    rc = s->drv->step(st, e);
    *out = rc == DB_ROW ? s->drv->column_int64(st, 0) : 0;
    s->drv->finalize(st);
    return rc < 0 ? rc : 0;
}

int store_collect_ids(store *s, db_stmt *st, int64_t **ids, size_t *n, err *e)
{
    int64_t *v = NULL;
    size_t nv = 0, cap = 0;
    int rc;
    while ((rc = s->drv->step(st, e)) == DB_ROW) {
        if (nv == cap) {
            cap = cap ? cap * 2 : 1024;
            v = xrealloc(v, cap * sizeof *v);
        }
        v[nv++] = SC_INT(s, st, 0);
    }
    store_stmt_done(s, st);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *ids = v;
    *n = nv;
    return 0;
}
