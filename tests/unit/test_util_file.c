/* File helpers: whole-file reads with a size cap, atomic replacement with a mode (no temp
 * file left behind, target untouched on failure), mkdir -p, existence checks. */
#include "util/util_file.h"
#include "util/util_alloc.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_tmpdir.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(g_dir, sizeof g_dir, "util-file");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(g_dir);
}

static char *tpath(const char *name) { return xasprintf("%s/%s", g_dir, name); }

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void test_write_atomic_and_read(void **state)
{
    (void)state;
    char *p = tpath("a.conf");
    err e = {0};
    assert_int_equal(file_exists(p), 0);
    assert_int_equal(file_write_atomic(p, "one\n", 4, 0600, &e), 0);
    assert_int_equal(file_exists(p), 1);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(file_read_all(p, 100, &data, &len, &e), 0);
    assert_int_equal(len, 4);
    assert_string_equal(data, "one\n");
    free(data);
    /* replace: new content and new mode, no temp file left */
    assert_int_equal(file_write_atomic(p, "two\0bin", 7, 0640, &e), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(file_read_all(p, 100, &data, &len, &e), 0);
    assert_int_equal(len, 7);
    assert_memory_equal(data, "two\0bin", 7);
    assert_int_equal(data[7], '\0');
    free(data);
    assert_int_equal(count_entries(g_dir), 1);
    /* empty file */
    assert_int_equal(file_write_atomic(p, "", 0, 0600, &e), 0);
    assert_int_equal(file_read_all(p, 100, &data, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
    /* len may be NULL */
    assert_int_equal(file_read_all(p, 100, &data, NULL, &e), 0);
    free(data);
    unlink(p);
    free(p);
}

static void test_write_atomic_failure_keeps_target(void **state)
{
    (void)state;
    err e = {0};
    /* directory missing: error names the path, nothing created */
    char *p = tpath("nodir/x.conf");
    assert_true(file_write_atomic(p, "x", 1, 0600, &e) < 0);
    assert_int_equal(e.code, ERR_FAIL);
    assert_non_null(strstr(e.msg, "nodir"));
    assert_int_equal(file_exists(p), 0);
    free(p);
    /* target is a directory: rename fails, the directory stays and no temp file is left */
    char *d = tpath("isdir");
    char *inner = tpath("isdir/keep");
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(file_write_atomic(inner, "k", 1, 0600, &e), 0);
    err_clear(&e);
    assert_true(file_write_atomic(d, "x", 1, 0600, &e) < 0);
    assert_non_null(strstr(e.msg, "isdir"));
    struct stat st;
    assert_int_equal(stat(d, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_entries(g_dir), 1);
    unlink(inner);
    rmdir(d);
    free(inner);
    free(d);
}

static void test_read_limits_and_missing(void **state)
{
    (void)state;
    err e = {0};
    char *data = NULL;
    char *missing = tpath("missing");
    assert_int_equal(file_read_all(missing, 100, &data, NULL, &e), ERR_NOTFOUND);
    assert_null(data);
    assert_non_null(strstr(e.msg, "missing"));
    free(missing);
    char *p = tpath("big");
    char block[300];
    memset(block, 'q', sizeof block);
    assert_int_equal(file_write_atomic(p, block, sizeof block, 0600, &e), 0);
    err_clear(&e);
    assert_int_equal(file_read_all(p, 299, &data, NULL, &e), ERR_USAGE);
    assert_null(data);
    assert_non_null(strstr(e.msg, "too large"));
    size_t len = 0;
    assert_int_equal(file_read_all(p, 300, &data, &len, &e), 0);
    assert_int_equal(len, 300);
    free(data);
    /* a directory is not a file to read */
    err_clear(&e);
    assert_int_equal(file_read_all(g_dir, 1 << 20, &data, NULL, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "directory"));
    unlink(p);
    free(p);
    /* a file without read permission (skip as root, who reads anything) */
    if (geteuid() != 0) {
        p = tpath("noread");
        assert_int_equal(file_write_atomic(p, "s", 1, 0000, &e), 0);
        err_clear(&e);
        assert_int_equal(file_read_all(p, 100, &data, NULL, &e), ERR_FAIL);
        unlink(p);
        free(p);
    }
}

static void test_mkdirs(void **state)
{
    (void)state;
    err e = {0};
    char *p = tpath("a/b/c/d");
    assert_int_equal(file_mkdirs(p, 0700, &e), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    /* idempotent */
    assert_int_equal(file_mkdirs(p, 0700, &e), 0);
    /* trailing slash */
    char *q = tpath("a/b/e/");
    assert_int_equal(file_mkdirs(q, 0700, &e), 0);
    char *qe = tpath("a/b/e");
    assert_int_equal(file_exists(qe), 1);
    /* a file in the way */
    char *f = tpath("a/file");
    assert_int_equal(file_write_atomic(f, "x", 1, 0600, &e), 0);
    char *under = tpath("a/file/sub");
    assert_true(file_mkdirs(under, 0700, &e) < 0);
    assert_non_null(strstr(e.msg, "a/file"));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/a'", g_dir);
    assert_int_equal(system(cmd), 0);
    free(p);
    free(q);
    free(qe);
    free(f);
    free(under);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_atomic_and_read),
        cmocka_unit_test(test_write_atomic_failure_keeps_target),
        cmocka_unit_test(test_read_limits_and_missing),
        cmocka_unit_test(test_mkdirs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
