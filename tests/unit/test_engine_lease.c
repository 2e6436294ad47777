/* The lease stays live through a long step: engine_commit refreshes the heartbeat inside the
 * step's own transaction (at most every LEASE_TTL_SECONDS/4), and a server that has lost the
 * database to another one commits nothing. */
#include "engine_test_util.h"

static int64_t meta_int(et_env *t, const char *key)
{
    int64_t v = -1;
    err e = {0};
    assert_int_equal(store_meta_get_int(t->st, key, -1, &v, &e), 0);
    return v;
}

static void set_meta(et_env *t, const char *key, const char *value)
{
    err e = {0};
    assert_int_equal(store_meta_set(t->st, key, value, &e), 0);
}

static void test_commit_refreshes_heartbeat(void **state)
{
    (void)state;
    et_env *t = et_new();
    err e = {0};
    set_meta(t, "owner_heartbeat", "5");   /* long ago: a step has been running for a while */
    t->en.lease_at = 0;
    assert_int_equal(store_begin(t->st, &e), 0);
    set_meta(t, "step_marker", "1");
    assert_int_equal(engine_commit(&t->en, &e), 0);
    int64_t hb = meta_int(t, "owner_heartbeat");
    assert_true(hb >= store_now() - 1);
    assert_int_equal(meta_int(t, "step_marker"), 1);
    /* within a quarter of the lease's lifetime the next commit writes no heartbeat */
    set_meta(t, "owner_heartbeat", "7");
    assert_int_equal(store_begin(t->st, &e), 0);
    assert_int_equal(engine_commit(&t->en, &e), 0);
    assert_int_equal(meta_int(t, "owner_heartbeat"), 7);
    et_free(t);
}

static void test_commit_refused_after_take_over(void **state)
{
    (void)state;
    et_env *t = et_new();
    err e = {0};
    set_meta(t, "owner_server_id", "another-server");
    t->en.lease_at = 0;
    assert_int_equal(store_begin(t->st, &e), 0);
    set_meta(t, "step_marker", "1");
    assert_int_equal(engine_commit(&t->en, &e), ERR_REFUSED);
    assert_non_null(strstr(e.msg, "another-server has taken over"));
    assert_false(store_in_tx(t->st));
    assert_int_equal(meta_int(t, "step_marker"), -1);   /* the step's writes were rolled back */
    et_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_refreshes_heartbeat),
        cmocka_unit_test(test_commit_refused_after_take_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
