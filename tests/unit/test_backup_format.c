/* Backup, restore and copy of the sync database on SQLite: round trip of every value kind, checksums,
 * tamper/truncation/version detection, refused targets and cleanup after a failed restore. */
#include "engine/engine_backup.h"
#include "engine/engine_backup_int.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_file.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_store_v1.h"

static char g_dir[512];
static char *g_src_url, *g_backup;

static char *path_in(const char *name) { return xasprintf("%s/%s", g_dir, name); }
static char *url_in(const char *name) { return xasprintf("sqlite:%s/%s", g_dir, name); }

/* A database holding blobs with NUL bytes, an empty blob, NULLs and non-ASCII text. */
static void make_source(void)
{
    err e = {0};
    store *s = NULL;
    assert_int_equal(store_create(g_src_url, NULL, &s, &e), 0);
    assert_int_equal(engine_db_init_meta(s, "11111111-2222-3333-4444-555555555555", &e), 0);
    store_connector c = {.name = "src1", .type = "ldif", .url = "/tmp/x.ldif", .partitions_json = "[\"DC=ex\"]",
                         .include_json = "[]", .exclude_json = "[]", .options_json = "{}"};
    c.sealed_secret = "\x00\x01secret\x00\xff";
    c.sealed_len = 10;
    assert_int_equal(store_connector_add(s, &c, &e), 0);
    assert_int_equal(store_watermark_set(s, c.id, "DC=ex", "", 0, &e), 0);
    for (int i = 0; i < 50; i++) {
        cs_object o = {.connector_id = c.id, .object_type = "user", .attrs = attrs_new()};
        unsigned char anchor[5] = {0, (unsigned char)i, 0, 0xfe, 7};
        o.anchor = anchor;
        o.anchor_len = sizeof anchor;
        char dn[64];
        snprintf(dn, sizeof dn, "CN=Jürgen %d,DC=ex", i);
        o.dn = i % 5 ? dn : NULL;
        attrs_set_str(o.attrs, "cn", dn);
        o.flags = i % 3;
        assert_int_equal(store_cs_save(s, &o, &e), 0);
        attrs_free(o.attrs);
    }
    store_close(s);
}

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("IDSYNC_TEST_TMP");
    if (base) mkdir(base, 0700);
    snprintf(g_dir, sizeof g_dir, "%s/backup-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(g_dir)) return -1;
    g_src_url = url_in("src.db");
    g_backup = path_in("src.idsync");
    make_source();
    err e = {0};
    store *s = NULL;
    backup_report rep;
    assert_int_equal(store_open(g_src_url, NULL, &s, &e), 0);
    int rc = engine_backup_write(s, g_backup, &rep, &e);
    store_close(s);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    free(g_src_url);
    free(g_backup);
    return system(cmd) == 0 ? 0 : -1;
}

static void sums_of(const char *url, backup_report *rep)
{
    err e = {0};
    store *s = NULL;
    assert_int_equal(store_open(url, NULL, &s, &e), 0);
    assert_int_equal(engine_backup_checksums(s, rep, &e), 0);
    store_close(s);
}

/* Rewrites the backup with the first line containing `match` passed through edit(). */
static char *edited_copy(const char *name, const char *match, void (*edit)(char *line))
{
    char *text = NULL;
    size_t len = 0;
    err e = {0};
    assert_int_equal(file_read_all(g_backup, 1 << 26, &text, &len, &e), 0);
    char *hit = strstr(text, match);
    assert_non_null(hit);
    while (hit > text && hit[-1] != '\n') hit--;
    char *eol = strchr(hit, '\n');
    *eol = '\0';
    edit(hit);
    *eol = '\n';
    char *p = path_in(name);
    assert_int_equal(file_write_atomic(p, text, strlen(text), 0600, &e), 0);
    free(text);
    return p;
}

static void test_backup_file_is_private_and_complete(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(stat(g_backup, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    backup_report rep, db;
    err e = {0};
    assert_int_equal(engine_backup_verify_file(g_backup, &rep, &e), 0);
    assert_int_equal(rep.schema_version, STORE_SCHEMA_VERSION);
    assert_string_equal(rep.source_engine, "sqlite");
    sums_of(g_src_url, &db);
    assert_int_equal(engine_backup_compare(&db, "db", &rep, "file", &e), 0);
    bool saw_cs = false;
    for (int i = 0; i < rep.ntables; i++)
        if (strcmp(rep.tables[i].name, "cs_objects") == 0) saw_cs = rep.tables[i].rows == 50;
    assert_true(saw_cs);
}

static void test_restore_round_trip(void **state)
{
    (void)state;
    char *url = url_in("restored.db");
    backup_report rep, a, b;
    err e = {0};
    assert_int_equal(engine_backup_restore(g_backup, url, NULL, &rep, &e), 0);
    sums_of(g_src_url, &a);
    sums_of(url, &b);
    assert_int_equal(engine_backup_compare(&a, "source", &b, "restored", &e), 0);
    /* a second restore into the same (now non-empty) target is refused and changes nothing */
    assert_int_equal(engine_backup_restore(g_backup, url, NULL, &rep, &e), ERR_REFUSED);
    assert_non_null(strstr(e.msg, "restored.db"));
    backup_report again;
    sums_of(url, &again);
    assert_int_equal(engine_backup_compare(&b, "before", &again, "after", &e), 0);
    free(url);
}

static void test_copy_round_trip(void **state)
{
    (void)state;
    char *url = url_in("copy.db");
    backup_report rep, b;
    err e = {0};
    store *s = NULL;
    assert_int_equal(store_open(g_src_url, NULL, &s, &e), 0);
    assert_int_equal(engine_backup_copy(s, url, NULL, &rep, &e), 0);
    store_close(s);
    sums_of(url, &b);
    assert_int_equal(engine_backup_compare(&rep, "source", &b, "copy", &e), 0);
    free(url);
}

static void flip_digit(char *line)
{
    char *p = strrchr(line, ',');   /* the last value of the row (updated_at) */
    assert_non_null(p);
    p[1] = p[1] == '1' ? '2' : '1';
}

static void test_tampered_row_fails_naming_table(void **state)
{
    (void)state;
    char *p = edited_copy("tampered.idsync", "\"user\"", flip_digit);
    backup_report rep;
    err e = {0};
    assert_int_equal(engine_backup_verify_file(p, &rep, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "table cs_objects does not match its checksum"));
    char *url = url_in("tampered.db"), *file = path_in("tampered.db");
    assert_int_equal(engine_backup_restore(p, url, NULL, &rep, &e), ERR_CORRUPT);
    assert_int_equal(access(file, F_OK), -1);   /* no database was created */
    free(url), free(file), free(p);
}

static void bump_format(char *line)
{
    char *p = strstr(line, "\"format_version\":1");
    assert_non_null(p);
    p[strlen("\"format_version\":")] = '7';
}

static void bump_schema(char *line)
{
    char *p = strstr(line, "\"schema_version\":");
    assert_non_null(p);
    p[strlen("\"schema_version\":")] = '9';   /* version 9 (or 9x) */
}

/* A backup of a version-1 database (same columns, the join index with its old keys) restores into
   this build's schema, which the restored database then says; an unknown version is refused. */
static void test_restore_older_schema(void **state)
{
    (void)state;
    char *v1path = path_in("v1.db"), *v1url = url_in("v1.db"), *bk = path_in("v1.idsync"), *to = url_in("from-v1.db");
    err e = {0};
    assert_int_equal(test_make_v1_db(v1path,
        "INSERT INTO mv_objects(id, object_type, attrs, updated_at) VALUES (7, 'person', x'', 0);"
        "INSERT INTO mv_index(attr, value, mv_id) VALUES ('mail', 'ada@example.test', 7);", &e), 0);
    store *s = NULL;
    assert_int_equal(store_open(v1url, NULL, &s, &e), 0);
    backup_report rep;
    assert_int_equal(engine_backup_write(s, bk, &rep, &e), 0);
    store_close(s);
    assert_int_equal(rep.schema_version, 1);
    assert_int_equal(engine_backup_restore(bk, to, NULL, &rep, &e), 0);
    assert_int_equal(store_open(to, NULL, &s, &e), 0);
    int v = 0;
    assert_int_equal(store_schema_version(s, &v, &e), 0);
    assert_int_equal(v, STORE_SCHEMA_VERSION);
    int64_t ids[2];
    size_t n = 0;
    assert_int_equal(store_mv_index_find(s, "mail", "Ada@example.test", ids, 2, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 7);
    store_close(s);
    free(v1path);
    free(v1url);
    free(bk);
    free(to);
    /* a version this build does not know */
    char *p = edited_copy("schema9.idsync", "\"schema_version\"", bump_schema);
    char *url = url_in("schema9.db");
    assert_int_equal(engine_backup_restore(p, url, NULL, &rep, &e), ERR_REFUSED);
    assert_non_null(strstr(e.msg, "schema version 9"));
    free(p);
    free(url);
}

static void test_newer_format_refused(void **state)
{
    (void)state;
    char *p = edited_copy("future.idsync", "\"format_version\"", bump_format);
    backup_report rep;
    err e = {0};
    assert_int_equal(engine_backup_verify_file(p, &rep, &e), ERR_REFUSED);
    assert_non_null(strstr(e.msg, "format version 7"));
    free(p);
}

static void drop_trailer_rows(char *line)
{
    char *p = strstr(line, "\"rows\":");
    assert_non_null(p);
    p[strlen("\"rows\":")] = '9';   /* claims a different count */
}

static void test_count_mismatch_and_truncation(void **state)
{
    (void)state;
    char *p = edited_copy("count.idsync", "{\"end\":\"connectors\"", drop_trailer_rows);
    backup_report rep;
    err e = {0};
    assert_int_equal(engine_backup_verify_file(p, &rep, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "table connectors has 1 rows"));
    free(p);
    /* truncated in the middle of the file */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(g_backup, 1 << 26, &text, &len, &e), 0);
    char *t = path_in("trunc.idsync");
    assert_int_equal(file_write_atomic(t, text, len / 2, 0600, &e), 0);
    int rc = engine_backup_verify_file(t, &rep, &e);
    assert_int_equal(rc, ERR_CORRUPT);
    free(text), free(t);
}

static void test_checksum_is_order_independent_and_typed(void **state)
{
    (void)state;
    bk_val r1[2] = {{.t = BK_INTEGER, .i = 1}, {.t = BK_TEXT, .p = "a", .n = 1}};
    bk_val r2[2] = {{.t = BK_INTEGER, .i = 2}, {.t = BK_BLOB, .p = "\0b", .n = 2}};
    backup_table_sum x = {0}, y = {0};
    bk_sum_row(&x, r1, 2);
    bk_sum_row(&x, r2, 2);
    bk_sum_row(&y, r2, 2);
    bk_sum_row(&y, r1, 2);
    assert_memory_equal(x.sum, y.sum, 32);
    assert_int_equal(x.rows, 2);
    /* NULL, empty text, empty blob and the integer 0 are all different values */
    bk_val kinds[4] = {{.t = BK_NULL}, {.t = BK_TEXT, .p = "", .n = 0}, {.t = BK_BLOB, .p = "", .n = 0},
                       {.t = BK_INTEGER, .i = 0}};
    backup_table_sum s[4];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 4; i++) bk_sum_row(&s[i], &kinds[i], 1);
    for (int i = 0; i < 4; i++)
        for (int k = i + 1; k < 4; k++) assert_memory_not_equal(s[i].sum, s[k].sum, 32);
}

static void test_failed_restore_removes_created_file(void **state)
{
    (void)state;
    /* a valid file whose table has a column the schema does not have: fails after the schema exists */
    char *text = NULL;
    size_t len = 0;
    err e = {0};
    assert_int_equal(file_read_all(g_backup, 1 << 26, &text, &len, &e), 0);
    char *hit = strstr(text, "[\"key\",\"text\"]");
    assert_non_null(hit);
    memcpy(hit, "[\"kez\"", 6);
    char *p = path_in("badcol.idsync");
    assert_int_equal(file_write_atomic(p, text, len, 0600, &e), 0);
    char *url = url_in("badcol.db"), *file = path_in("badcol.db");
    backup_report rep;
    assert_int_equal(engine_backup_restore(p, url, NULL, &rep, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "table meta has different columns"));
    assert_int_equal(access(file, F_OK), -1);
    free(text), free(p), free(url), free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_file_is_private_and_complete),
        cmocka_unit_test(test_restore_round_trip),
        cmocka_unit_test(test_restore_older_schema),
        cmocka_unit_test(test_copy_round_trip),
        cmocka_unit_test(test_tampered_row_fails_naming_table),
        cmocka_unit_test(test_newer_format_refused),
        cmocka_unit_test(test_count_mismatch_and_truncation),
        cmocka_unit_test(test_checksum_is_order_independent_and_typed),
        cmocka_unit_test(test_failed_restore_removes_created_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
