/* The join index of a first sync, kept in memory and written at the end (engine_join_mem.h): the
 * rows written are the ones the store would hold, and a sync interrupted after a commit (MV objects
 * saved, their rows not yet written) is repaired before the index is read again, so later joins
 * find their objects and nothing is projected twice. */
#include "engine_test_util.h"
#include "engine/engine_join_mem.h"

/* hr2: a second source of the same people, projecting, joined by entryUUID = sourceAnchor */
#define RULES_HR2 "{'rules': [" \
  "{'name': 'In hr2 person', 'direction': 'inbound', 'connector': 'hr2', 'connector_type': 'ldif'," \
  " 'cs_object_type': 'inetOrgPerson', 'mv_object_type': 'person', 'link_type': 'provision', 'precedence': 30," \
  " 'join': [[{'cs_attribute': 'entryUUID', 'mv_attribute': 'sourceAnchor'}]]," \
  " 'flows': [{'type': 'direct', 'source': 'cn', 'target': 'nickName'}]}]}"

static int setup(void **state)
{
    et_env *t = et_new();
    et_add_ldif(t, "hr", "hr.ldif", "entryUUID");
    et_add_ldif(t, "it", "it.ldif", "itId");
    et_add_ldif(t, "hr2", "hr2.ldif", "entryUUID");
    et_rules(t, RULES_HR);
    et_rules(t, RULES_IT);
    et_rules(t, RULES_HR2);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    et_free(*state);
    return 0;
}

static void exec_sql(et_env *t, const char *sql)
{
    err e = {0};
    if (store_driver(t->st)->exec(store_db(t->st), sql, &e)) fail_msg("%s: %s", sql, e.msg);
}

static int64_t count_rows(et_env *t, const char *sql)
{
    db_stmt *st = NULL;
    err e = {0};
    const db_driver *d = store_driver(t->st);
    if (d->prepare(store_db(t->st), sql, &st, &e)) fail_msg("%s: %s", sql, e.msg);
    int64_t n = d->step(st, &e) == DB_ROW ? d->column_int64(st, 0) : -1;
    d->finalize(st);
    return n;
}

/* Every join-index row as "attr|value|mv_id" lines, sorted. Caller frees. */
static char *index_rows(et_env *t)
{
    db_stmt *st = NULL;
    err e = {0};
    const db_driver *d = store_driver(t->st);
    if (d->prepare(store_db(t->st), "SELECT attr, value, mv_id FROM mv_index ORDER BY 1, 2, 3", &st, &e))
        fail_msg("%s", e.msg);
    buf b = BUF_INIT;
    while (d->step(st, &e) == DB_ROW) {
        char line[512];
        snprintf(line, sizeof line, "%s|%s|%lld\n", d->column_text(st, 0), d->column_text(st, 1),
                 (long long)d->column_int64(st, 2));
        buf_puts(&b, line);
    }
    d->finalize(st);
    buf_putc(&b, '\0');
    return b.data;
}

static char *pending_marker(et_env *t)
{
    char *v = NULL;
    err e = {0};
    if (store_meta_get(t->st, JOIN_INDEX_PENDING_KEY, &v, &e)) fail_msg("%s", e.msg);
    return v;
}

static void load_hr(et_env *t)
{
    et_write(t, "hr.ldif", HR_GROUP HR_ALICE HR_BOB HR_CAROL);
    et_ok(t, "hr", PROFILE_FULL_IMPORT);
}

/* The rows a first sync writes at its end are the ones rebuilt from the MV objects (the forms
   recompute_from writes), and no marker stays. */
static void test_first_sync_rows(void **state)
{
    et_env *t = *state;
    load_hr(t);
    engine_stats st = et_ok(t, "hr", PROFILE_FULL_SYNC);
    assert_int_equal(st.projections, 3);
    assert_null(pending_marker(t));
    char *written = index_rows(t);
    int64_t alice = et_mv_find(t, "sourceAnchor", "u-alice"), bob = et_mv_find(t, "sourceAnchor", "u-bob");
    assert_true(alice > 0 && bob > 0);
    char want[128];
    snprintf(want, sizeof want, "sourceAnchor|u-alice|%lld\n", (long long)alice);
    assert_non_null(strstr(written, want));
    snprintf(want, sizeof want, "employeeNumber|1001|%lld\n", (long long)alice);
    assert_non_null(strstr(written, want));
    snprintf(want, sizeof want, "~ref|%lld|%lld\n", (long long)bob, (long long)alice);   /* alice's manager */
    assert_non_null(strstr(written, want));
    /* rebuilt from the MV objects: the same rows */
    exec_sql(t, "DELETE FROM mv_index");
    err e = {0};
    assert_int_equal(store_meta_set(t->st, JOIN_INDEX_PENDING_KEY, "1", &e), 0);
    sync_ctx x;
    sync_ctx_init(&x, &t->en, 0, &st);
    assert_int_equal(sync_ctx_load(&x, &e), 0);
    sync_ctx_clear(&x);
    char *rebuilt = index_rows(t);
    assert_string_equal(rebuilt, written);
    assert_null(pending_marker(t));
    /* schema version 2: the join index is its key alone, the repair adds no other index */
    assert_int_equal(count_rows(t, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'mv_index'"), 0);
    free(written);
    free(rebuilt);
}

/* A first sync stops after committing its MV objects, before its join-index rows are written (here:
   the write fails). The next sync, after a reopen, rebuilds the index first: it joins hr2's and it's
   objects to the existing people instead of projecting them again. */
static void test_interrupted_sync_repaired(void **state)
{
    et_env *t = *state;
    load_hr(t);
    exec_sql(t, "CREATE TRIGGER crash BEFORE INSERT ON mv_index BEGIN SELECT RAISE(ABORT, 'simulated crash'); END");
    engine_stats st = {0};
    assert_int_not_equal(et_run(t, "hr", PROFILE_FULL_SYNC, &st), 0);
    exec_sql(t, "DROP TRIGGER crash");
    assert_int_equal(et_count_table(t, "mv_objects"), 3);   /* committed */
    assert_int_equal(et_count_table(t, "mv_index"), 0);     /* never written */
    char *marker = pending_marker(t);
    assert_non_null(marker);
    free(marker);
    /* reopen, as after a crash */
    char *url = xasprintf("sqlite:%s/sync.db", t->dir);
    err e = {0};
    store_close(t->st);
    t->st = NULL;
    assert_int_equal(store_open(url, NULL, &t->st, &e), 0);
    free(url);
    t->en.st = t->st;
    et_write(t, "hr2.ldif", HR_ALICE HR_BOB);
    et_ok(t, "hr2", PROFILE_FULL_IMPORT);
    st = et_ok(t, "hr2", PROFILE_FULL_SYNC);
    assert_null(pending_marker(t));
    assert_int_equal(st.joins, 2);
    assert_int_equal(st.projections, 0);
    assert_int_equal(et_count_table(t, "mv_objects"), 3);
    et_write(t, "it.ldif", IT_ALICE IT_BOB);
    et_ok(t, "it", PROFILE_FULL_IMPORT);
    st = et_ok(t, "it", PROFILE_FULL_SYNC);
    assert_int_equal(st.joins, 2);
    assert_int_equal(et_count_table(t, "mv_objects"), 3);
    /* the reverse-reference rows are back too: alice's manager and the group's members */
    int64_t alice = et_mv_find(t, "sourceAnchor", "u-alice"), bob = et_mv_find(t, "sourceAnchor", "u-bob");
    char idtxt[32];
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)bob);
    int64_t ids[4];
    size_t n = 0;
    assert_int_equal(store_mv_index_find(t->st, MV_REF_INDEX, idtxt, ids, 4, &n, &e), 0);
    assert_int_equal(n, 2);   /* alice (manager) and the staff group (member) */
    assert_true(ids[0] == alice || ids[1] == alice);
    assert_int_equal(count_rows(t, "SELECT count(*) FROM pragma_foreign_key_check('mv_index')"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_sync_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_sync_repaired, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
