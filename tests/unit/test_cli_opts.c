/* CLI option parsing: flags, values, repeats, --name=value, missing values, unknown options,
 * and the idsync.conf reader's refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "cli/cli.h"
#include "util/util_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_flags_and_values(void **state)
{
    char *argv[] = {"corp", "--json", "--type", "ldap", "--base=dc=a", "--base", "dc=b", "--quiet", NULL};
    int argc = 8;
    bool bad = false;
    assert_true(cli_opt_flag(&argc, argv, "--json"));
    assert_false(cli_opt_flag(&argc, argv, "--json"));   /* consumed */
    assert_string_equal(cli_opt_value(&argc, argv, "--type", &bad), "ldap");
    const char **bases = NULL;
    assert_int_equal(cli_opt_values(&argc, argv, "--base", &bases, &bad), 2);
    assert_string_equal(bases[0], "dc=a");
    assert_string_equal(bases[1], "dc=b");
    free(bases);
    assert_false(bad);
    assert_string_equal(cli_unknown_option(argc, argv), "--quiet");
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "corp");
    assert_null(argv[argc]);
}

static void test_missing_value(void **state)
{
    char *argv[] = {"x", "--url", NULL};
    int argc = 2;
    bool bad = false;
    assert_null(cli_opt_value(&argc, argv, "--url", &bad));
    assert_true(bad);
    assert_int_equal(argc, 1);
}

static void test_double_dash_stops(void **state)
{
    char *argv[] = {"--", "--json", NULL};
    int argc = 2;
    assert_false(cli_opt_flag(&argc, argv, "--json"));
    assert_null(cli_unknown_option(argc, argv));
}

static void test_prefix_is_not_match(void **state)
{
    char *argv[] = {"--basement", "x", NULL};
    int argc = 2;
    bool bad = false;
    assert_null(cli_opt_value(&argc, argv, "--base", &bad));
    assert_int_equal(argc, 2);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/idsync-cli-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_conf_roundtrip_and_errors(void **state)
{
    server_conf conf = {.server_id = "0123456789abcdef", .database = "sqlite:/x/idsync.db", .installed_at = 42};
    char *path = write_tmp("");
    err e = {0};
    assert_int_equal(server_conf_save(path, &conf, &e), 0);
    server_conf back;
    assert_int_equal(server_conf_load(path, &back, &e), 0);
    assert_string_equal(back.server_id, conf.server_id);
    assert_string_equal(back.database, conf.database);
    assert_int_equal(back.installed_at, 42);
    server_conf_clear(&back);
    unlink(path);
    free(path);

    path = write_tmp("server_id = 0123456789abcdef\ngarbage line\n");
    assert_int_equal(server_conf_load(path, &back, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "line 2"));
    unlink(path);
    free(path);

    path = write_tmp("server_id = 0123456789abcdef\ndatabase = sqlite:/x\ncolour = blue\n");
    assert_int_equal(server_conf_load(path, &back, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "unknown setting 'colour'"));
    unlink(path);
    free(path);

    path = write_tmp("database = sqlite:/x\n");
    assert_int_equal(server_conf_load(path, &back, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, "server_id"));
    unlink(path);
    free(path);

    assert_int_equal(server_conf_load("/nonexistent/idsync.conf", &back, &e), ERR_NOTFOUND);
    assert_non_null(strstr(e.msg, "idsync install"));
}

static void test_exit_codes(void **state)
{
    assert_int_equal(cli_exit_code(0), EXIT_OK);
    assert_int_equal(cli_exit_code(ERR_USAGE), EXIT_USAGE);
    assert_int_equal(cli_exit_code(ERR_PARTIAL), EXIT_PARTIAL);
    assert_int_equal(cli_exit_code(ERR_REFUSED), EXIT_REFUSED);
    assert_int_equal(cli_exit_code(ERR_AUTH), EXIT_FAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_and_values), cmocka_unit_test(test_missing_value),
        cmocka_unit_test(test_double_dash_stops), cmocka_unit_test(test_prefix_is_not_match),
        cmocka_unit_test(test_conf_roundtrip_and_errors), cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
