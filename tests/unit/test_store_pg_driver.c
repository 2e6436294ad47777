/* PostgreSQL driver against a real PostgreSQL started by tests/peers/start-pg.sh on 127.0.0.1:55432. */
#include "store/store_driver.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define PG_PORT "55432"
#define PG_URL "postgresql://test@127.0.0.1:" PG_PORT "/testdb"
#define PG_PASS "testpass"

/* Freed per-row results must be reusable for the bounded-memory check under ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=4"; }

static const db_driver *D = &db_driver_postgresql;
static char g_dir[64];
static pid_t g_pid;
static bool g_available;
static db *g_db;

static void stop_server(void)
{
    if (g_pid <= 0) return;
    if (kill(g_pid, SIGINT) == 0)
        for (int i = 0; i < 200 && kill(g_pid, 0) == 0; i++) usleep(50000);
    g_pid = 0;
}

/* A watchdog child stops the server if this process dies without its teardown (crash, abort):
 * it waits for EOF on a pipe and then stops the PID in DIR/server.pid if that file remains. */
static void start_watchdog(void)
{
    int p[2];
    if (pipe(p) != 0) return;
    pid_t c = fork();
    if (c < 0) { close(p[0]); close(p[1]); return; }
    if (c == 0) {
        close(p[1]);
        char ch;
        while (read(p[0], &ch, 1) > 0) {}
        char path[128];
        snprintf(path, sizeof path, "%s/server.pid", g_dir);
        FILE *f = fopen(path, "r");
        int pid = 0;
        if (f && fscanf(f, "%d", &pid) == 1 && pid > 0) kill(pid, SIGINT);
        if (f) fclose(f);
        _exit(0);
    }
    close(p[0]);   /* the write end stays open (and is inherited by nothing else) until we exit */
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
}

static int group_setup(void **state)
{
    (void)state;
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0) {
        fprintf(stderr, "PostgreSQL server binaries are absent: PostgreSQL driver tests skipped\n");
        return 0;
    }
    globfree(&g);
    char srcbuf[512];
    const char *src = getenv("IDSYNC_SRC");
    if (!src) {   /* run by hand: derive the repository root from this file's path */
        snprintf(srcbuf, sizeof srcbuf, "%s", __FILE__);
        char *cut = strstr(srcbuf, "/tests/unit/");
        if (cut) *cut = '\0';
        src = srcbuf;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/idsync-pgt-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "bash %s/tests/peers/start-pg.sh %s %s >%s/start.out 2>%s/start.err",
             src, g_dir, PG_PORT, g_dir, g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "start-pg.sh failed, see %s/start.err\n", g_dir);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/server.pid", g_dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d", &g_pid) != 1) { if (f) fclose(f); return -1; }
    fclose(f);
    start_watchdog();
    g_available = true;
    err e = {0};
    if (D->open(PG_URL, PG_PASS, false, &g_db, &e) != 0) {
        fprintf(stderr, "open: %s\n", e.msg);
        stop_server();
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    D->close(g_db);
    stop_server();
    if (g_dir[0]) {   /* removing server.pid also tells the watchdog there is nothing to stop */
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    }
    return 0;
}

#define NEED_PG() do { if (!g_available) skip(); } while (0)

static void exec_ok(const char *sql)
{
    err e = {0};
    int rc = D->exec(g_db, sql, &e);
    if (rc) fprintf(stderr, "%s: %s\n", sql, e.msg);
    assert_int_equal(rc, 0);
}

static db_stmt *prep(const char *sql)
{
    err e = {0};
    db_stmt *s = NULL;
    int rc = D->prepare(g_db, sql, &s, &e);
    if (rc) fprintf(stderr, "%s: %s\n", sql, e.msg);
    assert_int_equal(rc, 0);
    return s;
}

static int step(db_stmt *s)
{
    err e = {0};
    int rc = D->step(s, &e);
    if (rc < 0) fprintf(stderr, "step: %s\n", e.msg);
    return rc;
}

static int64_t query_int(const char *sql)
{
    db_stmt *s = prep(sql);
    assert_int_equal(step(s), DB_ROW);
    int64_t v = D->column_int64(s, 0);
    assert_int_equal(step(s), DB_DONE);
    D->finalize(s);
    return v;
}

static void test_open_errors(void **state)
{
    (void)state;
    NEED_PG();
    db *d = NULL;
    err e = {0};
    int rc = D->open(PG_URL, "wrong-secret-pw", false, &d, &e);
    assert_int_equal(rc, ERR_AUTH);
    assert_null(d);
    assert_non_null(strstr(e.msg, "127.0.0.1:" PG_PORT "/testdb"));
    assert_null(strstr(e.msg, "wrong-secret-pw"));
    /* password inside the URL is not echoed either */
    err_clear(&e);
    rc = D->open("postgresql://test:urlsecret99@127.0.0.1:1/testdb", NULL, false, &d, &e);
    assert_int_equal(rc, ERR_RETRY);
    assert_non_null(strstr(e.msg, "127.0.0.1:1/testdb"));
    assert_null(strstr(e.msg, "urlsecret99"));
}

static void test_types_roundtrip(void **state)
{
    (void)state;
    NEED_PG();
    exec_ok("DROP TABLE IF EXISTS t_types; CREATE TABLE t_types (id BIGINT PRIMARY KEY, s TEXT, b BYTEA, n BIGINT)");
    size_t big = 1024 * 1024;
    unsigned char *blob = xmalloc(big);
    for (size_t i = 0; i < big; i++) blob[i] = (unsigned char)((i * 2654435761u) >> 13);
    blob[0] = 0;
    blob[big - 1] = 0;
    const unsigned char nul3[] = {0x00, 0x01, 0x00, 0xff, 0x5c, 0x27};   /* NUL, \, ' */
    const char *utf8 = "Zo\xc3\xab \xe2\x82\xac 'quoted' \\ ?";
    db_stmt *s = prep("INSERT INTO t_types (id, s, b, n) VALUES (?, ?, ?, ?)");
    struct { int64_t id; const char *s; const void *b; size_t blen; bool nn; int64_t n; } rows[] = {
        {1, utf8, nul3, sizeof nul3, true, INT64_MIN},
        {2, NULL, blob, big, true, INT64_MAX},
        {3, "", "", 0, false, 0},
    };
    for (int r = 0; r < 3; r++) {
        assert_int_equal(D->bind_int64(s, 1, rows[r].id), 0);
        assert_int_equal(D->bind_text(s, 2, rows[r].s, rows[r].s ? strlen(rows[r].s) : 0), 0);
        assert_int_equal(D->bind_blob(s, 3, rows[r].b, rows[r].blen), 0);
        if (rows[r].nn) assert_int_equal(D->bind_int64(s, 4, rows[r].n), 0);
        else assert_int_equal(D->bind_null(s, 4), 0);
        assert_int_equal(step(s), DB_DONE);
        assert_int_equal(D->changes(g_db), 1);
        D->reset(s);
    }
    D->finalize(s);

    s = prep("SELECT id, s, b, n FROM t_types ORDER BY id");
    for (int r = 0; r < 3; r++) {
        assert_int_equal(step(s), DB_ROW);
        assert_int_equal(D->column_type(s, 0), DB_INTEGER);
        assert_int_equal(D->column_int64(s, 0), rows[r].id);
        if (rows[r].s) {
            assert_int_equal(D->column_type(s, 1), DB_TEXT);
            assert_string_equal(D->column_text(s, 1), rows[r].s);
        } else {
            assert_int_equal(D->column_type(s, 1), DB_NULL);
            assert_null(D->column_text(s, 1));
        }
        size_t len = 99;
        const void *b = D->column_blob(s, 2, &len);
        assert_int_equal(D->column_type(s, 2), DB_BLOB);
        assert_int_equal(len, rows[r].blen);
        assert_non_null(b);
        if (rows[r].blen) assert_memory_equal(b, rows[r].b, rows[r].blen);
        if (rows[r].nn) assert_int_equal(D->column_int64(s, 3), rows[r].n);
        else assert_int_equal(D->column_type(s, 3), DB_NULL);
    }
    assert_int_equal(step(s), DB_DONE);
    D->finalize(s);

    /* NULL blob, booleans and counts */
    s = prep("SELECT CAST(? AS BYTEA), count(*) > 0, count(*), sum(id), CAST(1.5 AS NUMERIC) FROM t_types");
    D->bind_blob(s, 1, NULL, 0);
    assert_int_equal(step(s), DB_ROW);
    assert_int_equal(D->column_type(s, 0), DB_NULL);
    size_t len = 5;
    assert_null(D->column_blob(s, 0, &len));
    assert_int_equal(len, 0);
    assert_int_equal(D->column_int64(s, 1), 1);
    assert_int_equal(D->column_int64(s, 2), 3);
    assert_int_equal(D->column_type(s, 3), DB_INTEGER);   /* sum(bigint) is NUMERIC on PostgreSQL */
    assert_int_equal(D->column_int64(s, 3), 6);
    assert_int_equal(D->column_type(s, 4), DB_TEXT);
    assert_string_equal(D->column_text(s, 4), "1.5");
    D->finalize(s);

    /* text with a NUL byte cannot be stored in PostgreSQL text: refused, not truncated */
    s = prep("SELECT CAST(? AS TEXT)");
    assert_int_not_equal(D->bind_text(s, 1, "a\0b", 3), 0);
    err e = {0};
    assert_int_equal(D->step(s, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "NUL"));
    D->finalize(s);
    free(blob);
}

static void test_placeholders_in_literals(void **state)
{
    (void)state;
    NEED_PG();
    db_stmt *s = prep("SELECT 'a?b' AS \"q?\", CAST(? AS TEXT), 'it''s ?', E'x\\'?', /* ? /* ? */ ? */ "
                      "CAST(? AS BIGINT) -- trailing ?\n, $$ ? $$");
    D->bind_text(s, 1, "one", 3);
    D->bind_int64(s, 2, 42);
    assert_int_equal(step(s), DB_ROW);
    assert_string_equal(D->column_text(s, 0), "a?b");
    assert_string_equal(D->column_text(s, 1), "one");
    assert_string_equal(D->column_text(s, 2), "it's ?");
    assert_string_equal(D->column_text(s, 3), "x'?");
    assert_int_equal(D->column_int64(s, 4), 42);
    assert_string_equal(D->column_text(s, 5), " ? ");
    assert_int_equal(step(s), DB_DONE);
    D->finalize(s);
    /* an unbound index out of range is an error at step, not a crash */
    s = prep("SELECT CAST(? AS TEXT)");
    assert_int_not_equal(D->bind_text(s, 2, "x", 1), 0);
    err e = {0};
    assert_int_equal(D->step(s, &e), ERR_USAGE);
    D->finalize(s);
}

static void test_upsert_returning_cache(void **state)
{
    (void)state;
    NEED_PG();
    exec_ok("DROP TABLE IF EXISTS t_kv; CREATE TABLE t_kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL, "
            "id BIGSERIAL UNIQUE)");
    int64_t before = query_int("SELECT count(*) FROM pg_prepared_statements");
    const char *sql = "INSERT INTO t_kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = t_kv.v + excluded.v "
                      "RETURNING id, v";
    int64_t first_id = 0;
    for (int i = 0; i < 500; i++) {   /* prepare/finalize in a loop: one server-side statement */
        db_stmt *s = prep(sql);
        D->bind_text(s, 1, "key", 3);
        D->bind_int64(s, 2, 2);
        assert_int_equal(step(s), DB_ROW);
        if (i == 0) first_id = D->column_int64(s, 0);
        assert_int_equal(D->column_int64(s, 0), first_id);
        assert_int_equal(D->column_int64(s, 1), 2 * (i + 1));
        assert_int_equal(step(s), DB_DONE);
        assert_int_equal(D->changes(g_db), 1);
        D->finalize(s);
    }
    assert_int_equal(query_int("SELECT count(*) FROM pg_prepared_statements") - before, 1);
    db_stmt *s = prep("INSERT INTO t_kv (k, v) VALUES (?, 1) ON CONFLICT (k) DO NOTHING");
    D->bind_text(s, 1, "key", 3);
    assert_int_equal(step(s), DB_DONE);
    assert_int_equal(D->changes(g_db), 0);
    D->finalize(s);
    /* unique violation -> ERR_EXISTS */
    s = prep("INSERT INTO t_kv (k, v) VALUES (?, 1)");
    D->bind_text(s, 1, "key", 3);
    err e = {0};
    assert_int_equal(D->step(s, &e), ERR_EXISTS);
    assert_non_null(strstr(e.msg, "127.0.0.1:" PG_PORT "/testdb"));
    D->finalize(s);
    s = prep("UPDATE t_kv SET v = v + 1");
    assert_int_equal(step(s), DB_DONE);
    assert_int_equal(D->changes(g_db), 1);
    D->finalize(s);
}

static void test_transactions(void **state)
{
    (void)state;
    NEED_PG();
    err e = {0};
    exec_ok("DROP TABLE IF EXISTS t_tx; CREATE TABLE t_tx (k BIGINT PRIMARY KEY)");
    assert_int_equal(D->rollback(g_db, &e), 0);   /* no transaction open: fine */
    assert_int_equal(D->begin(g_db, &e), 0);
    exec_ok("INSERT INTO t_tx VALUES (1)");
    assert_int_equal(D->rollback(g_db, &e), 0);
    assert_int_equal(query_int("SELECT count(*) FROM t_tx"), 0);
    assert_int_equal(D->begin(g_db, &e), 0);
    exec_ok("INSERT INTO t_tx VALUES (1)");
    exec_ok("INSERT INTO t_tx VALUES (2)");
    assert_int_equal(D->commit(g_db, &e), 0);
    assert_int_equal(query_int("SELECT count(*) FROM t_tx"), 2);
    /* a failed statement aborts the transaction; commit reports it instead of silently rolling back */
    assert_int_equal(D->begin(g_db, &e), 0);
    exec_ok("INSERT INTO t_tx VALUES (3)");
    assert_int_equal(D->exec(g_db, "INSERT INTO t_tx VALUES (1)", &e), ERR_EXISTS);
    err_clear(&e);
    assert_int_not_equal(D->commit(g_db, &e), 0);
    assert_non_null(strstr(e.msg, "rolled back"));
    assert_int_equal(query_int("SELECT count(*) FROM t_tx"), 2);
    int64_t size = 0;
    assert_int_equal(D->size_bytes(g_db, &size, &e), 0);
    assert_true(size > 1000000);
}

static void test_interleaved_statements(void **state)
{
    (void)state;
    NEED_PG();
    exec_ok("DROP TABLE IF EXISTS t_il; CREATE TABLE t_il (k BIGINT PRIMARY KEY, v BIGINT)");
    exec_ok("INSERT INTO t_il SELECT g, 0 FROM generate_series(1, 100) g");
    db_stmt *scan = prep("SELECT k, CAST(NULL AS TEXT), decode('00ff', 'hex'), k > 50 FROM t_il ORDER BY k");
    db_stmt *upd = prep("UPDATE t_il SET v = ? WHERE k = ?");
    err e = {0};
    assert_int_equal(D->begin(g_db, &e), 0);
    int64_t n = 0, sum = 0;
    while (step(scan) == DB_ROW) {   /* writing while a scan is open, as with SQLite */
        int64_t k = D->column_int64(scan, 0);
        size_t blen = 0;
        const unsigned char *b = D->column_blob(scan, 2, &blen);
        assert_int_equal(blen, 2);
        assert_true(b[0] == 0 && b[1] == 0xff);
        assert_int_equal(D->column_type(scan, 1), DB_NULL);
        assert_int_equal(D->column_type(scan, 2), DB_BLOB);
        assert_int_equal(D->column_int64(scan, 3), k > 50);
        n++;
        sum += k;
        D->bind_int64(upd, 1, k * 10);
        D->bind_int64(upd, 2, k);
        assert_int_equal(step(upd), DB_DONE);
        D->reset(upd);
    }
    assert_int_equal(D->commit(g_db, &e), 0);
    assert_int_equal(n, 100);
    assert_int_equal(sum, 5050);
    assert_int_equal(query_int("SELECT sum(v) FROM t_il"), 50500);
    D->finalize(upd);
    /* a scan abandoned early leaves the connection usable */
    D->reset(scan);
    assert_int_equal(step(scan), DB_ROW);
    D->finalize(scan);
    assert_int_equal(query_int("SELECT count(*) FROM t_il"), 100);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_large_scan_bounded_memory(void **state)
{
    (void)state;
    NEED_PG();
    exec_ok("DROP TABLE IF EXISTS t_big; CREATE TABLE t_big (k BIGINT PRIMARY KEY, payload TEXT, b BYTEA)");
    exec_ok("INSERT INTO t_big SELECT g, repeat(md5(g::text), 16), decode(md5(g::text), 'hex') "
            "FROM generate_series(1, 200000) g");
    /* buffered whole, the result would be > 100 MB (200k rows x 512 + 16 bytes) */
    db_stmt *s = prep("SELECT k, payload, b FROM t_big ORDER BY k");
    long base = 0, peak = 0;
    int64_t n = 0, sum = 0;
    while (step(s) == DB_ROW) {
        n++;
        sum += D->column_int64(s, 0);
        assert_int_equal(strlen(D->column_text(s, 1)), 512);
        size_t len = 0;
        assert_non_null(D->column_blob(s, 2, &len));
        assert_int_equal(len, 16);
        if (n == 1000) base = rss_kb();
        if (n % 10000 == 0) {
            long r = rss_kb();
            if (r > peak) peak = r;
        }
    }
    D->finalize(s);
    assert_int_equal(n, 200000);
    assert_int_equal(sum, (int64_t)200000 * 200001 / 2);
    fprintf(stderr, "scan of 200000 rows: RSS grew %ld KiB\n", peak - base);
    assert_true(peak - base < 40 * 1024);
}

static void test_server_gone(void **state)
{
    (void)state;
    NEED_PG();
    /* the server goes away in the middle of a scan */
    db_stmt *scan = prep("SELECT k, payload FROM t_big ORDER BY k");
    for (int i = 0; i < 10; i++) assert_int_equal(step(scan), DB_ROW);
    stop_server();
    err e = {0};
    int rc, rows = 10;
    while ((rc = D->step(scan, &e)) == DB_ROW) rows++;
    assert_int_equal(rc, ERR_RETRY);
    assert_true(rows < 200000);
    assert_non_null(strstr(e.msg, "lost the connection to PostgreSQL at 127.0.0.1:" PG_PORT));
    assert_non_null(strstr(e.msg, "the run will resume next time"));
    D->finalize(scan);
    /* and every later call fails fast with the same kind of error */
    err_clear(&e);
    assert_int_equal(D->exec(g_db, "SELECT 1", &e), ERR_RETRY);
    assert_non_null(strstr(e.msg, "lost the connection"));
    assert_int_equal(D->rollback(g_db, &e), 0);
    db_stmt *s = NULL;
    assert_int_equal(D->prepare(g_db, "SELECT 2", &s, &e), ERR_RETRY);
    assert_null(s);
    /* a fresh open reports the server as unreachable (retry later), naming it */
    db *d2 = NULL;
    err_clear(&e);
    assert_int_equal(D->open(PG_URL, PG_PASS, false, &d2, &e), ERR_RETRY);
    assert_non_null(strstr(e.msg, "127.0.0.1:" PG_PORT "/testdb"));
    assert_null(strstr(e.msg, PG_PASS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_types_roundtrip),
        cmocka_unit_test(test_placeholders_in_literals),
        cmocka_unit_test(test_upsert_returning_cache),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_interleaved_statements),
        cmocka_unit_test(test_large_scan_bounded_memory),
        cmocka_unit_test(test_server_gone),   /* last: stops the server */
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
