/* Vault: secret files, NT hash and the password-hash-sync transform. */
#include "vault/vault.h"
#include "util/util_alloc.h"
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
    return test_tmpdir_make(g_dir, sizeof g_dir, "vault-sec");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(g_dir);
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *p = xasprintf("%s/%s", g_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return p;
}

static int read_secret(const char *content, size_t len, char **out, err *e)
{
    char *p = write_file("pw", content, len);
    int rc = vault_read_secret_file(p, out, e);
    free(p);
    return rc;
}

static void test_secret_file(void **state)
{
    (void)state;
    err e = {0};
    char *s = NULL;
    assert_int_equal(read_secret("hunter2\n", 8, &s, &e), 0);
    assert_string_equal(s, "hunter2");
    xfree_secret(s);
    assert_int_equal(read_secret("hunter2\r\n", 9, &s, &e), 0);
    assert_string_equal(s, "hunter2");
    xfree_secret(s);
    assert_int_equal(read_secret("two\n\n", 5, &s, &e), 0);   /* only one newline removed */
    assert_string_equal(s, "two\n");
    xfree_secret(s);
    assert_int_equal(read_secret(" spaced ", 8, &s, &e), 0);
    assert_string_equal(s, " spaced ");
    xfree_secret(s);
    /* long secret (grows the buffer several times) */
    char big[5000];
    memset(big, 'x', sizeof big);
    assert_int_equal(read_secret(big, sizeof big, &s, &e), 0);
    assert_int_equal(strlen(s), sizeof big);
    xfree_secret(s);
    s = NULL;
    assert_int_equal(read_secret("", 0, &s, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "is empty"));
    assert_non_null(strstr(e.msg, g_dir));
    assert_null(s);
    assert_int_equal(read_secret("\n", 1, &s, &e), ERR_USAGE);
    assert_non_null(strstr(e.msg, "is empty"));
    assert_int_equal(read_secret("a\0b", 3, &s, &e), ERR_USAGE);
    char *missing = xasprintf("%s/none", g_dir);
    assert_int_equal(vault_read_secret_file(missing, &s, &e), ERR_NOTFOUND);
    free(missing);

    /* "-" reads standard input */
    char *p = write_file("stdin", "from-stdin\n", 11);
    int saved = dup(STDIN_FILENO);
    int fd = open(p, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDIN_FILENO);
    close(fd);
    int rc = vault_read_secret_file("-", &s, &e);
    dup2(saved, STDIN_FILENO);
    close(saved);
    assert_int_equal(rc, 0);
    assert_string_equal(s, "from-stdin");
    xfree_secret(s);
    free(p);
}

static void hex_upper(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02X", p[i]);
}

static void test_nt_hash(void **state)
{
    (void)state;
    unsigned char h[16];
    char hex[33];
    err e = {0};
    assert_int_equal(vault_nt_hash("password", h, &e), 0);
    hex_upper(h, 16, hex);
    assert_string_equal(hex, "8846F7EAEE8FB117AD06BDD830B7586C");
    assert_int_equal(vault_nt_hash("", h, &e), 0);
    hex_upper(h, 16, hex);
    assert_string_equal(hex, "31D6CFE0D16AE931B73C59D7E0C089C0");
    /* non-ASCII and astral characters go through UTF-16LE (surrogate pairs) without error */
    unsigned char h2[16];
    assert_int_equal(vault_nt_hash("p\xc3\xa4ss\xf0\x9f\x94\x91", h2, &e), 0);
    assert_memory_not_equal(h, h2, 16);
    assert_int_equal(vault_nt_hash("bad\xc3", h2, &e), ERR_USAGE);
    assert_int_equal(vault_nt_hash("\xc0\xaf", h2, &e), ERR_USAGE);   /* overlong */
}

static void test_phs_hash(void **state)
{
    (void)state;
    unsigned char nt[16] = {0x88, 0x46, 0xF7, 0xEA, 0xEE, 0x8F, 0xB1, 0x17,
                            0xAD, 0x06, 0xBD, 0xD8, 0x30, 0xB7, 0x58, 0x6C};
    const unsigned char salt[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    buf out = BUF_INIT;
    err e = {0};
    assert_int_equal(vault_phs_hash_salted(nt, salt, &out, &e), 0);
    /* expected value computed independently (Python hashlib.pbkdf2_hmac over the UTF-16LE hex) */
    assert_string_equal(out.data, "v1;PPH1_MD4,0102030405060708090a,1000,"
                                  "86a8194e60929aca01ac903df82e30afaea0279741d442d98e01f9600912f005;");
    buf out2 = BUF_INIT;
    assert_int_equal(vault_phs_hash(nt, &out2, &e), 0);
    assert_int_equal(out2.len, out.len);
    assert_memory_equal(out2.data, "v1;PPH1_MD4,", 12);
    assert_memory_equal(out2.data + 12 + 20, ",1000,", 6);
    buf_reset(&out);
    assert_int_equal(vault_phs_hash(nt, &out, &e), 0);
    assert_string_not_equal(out.data, out2.data);   /* random salt */
    buf_free(&out);
    buf_free(&out2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_file),
        cmocka_unit_test(test_nt_hash),
        cmocka_unit_test(test_phs_hash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
