/* Vault: server key create/load rules and sealing/opening of connector credentials. */
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
    return test_tmpdir_make(g_dir, sizeof g_dir, "vault-seal");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(g_dir);
}

static char *tpath(const char *name)
{
    return xasprintf("%s/%s", g_dir, name);
}

static vault_key *new_key(const char *name)
{
    char *p = tpath(name);
    err e = {0};
    assert_int_equal(vault_key_create(p, &e), 0);
    vault_key *k = NULL;
    assert_int_equal(vault_key_load(p, &k, &e), 0);
    free(p);
    return k;
}

static void test_key_create_load(void **state)
{
    (void)state;
    char *p = tpath("server.key");
    err e = {0};
    assert_int_equal(vault_key_create(p, &e), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    /* never overwritten */
    assert_int_equal(vault_key_create(p, &e), ERR_EXISTS);
    assert_non_null(strstr(e.msg, p));
    vault_key *k = NULL;
    assert_int_equal(vault_key_load(p, &k, &e), 0);
    assert_int_equal(strlen(vault_key_id(k)), 16);
    vault_key *k2 = NULL;
    assert_int_equal(vault_key_load(p, &k2, &e), 0);
    assert_string_equal(vault_key_id(k), vault_key_id(k2));   /* id is a function of the key */
    vault_key_free(k2);
    vault_key_free(NULL);

    /* group/other access refused, naming the fix */
    assert_int_equal(chmod(p, 0644), 0);
    k2 = NULL;
    assert_int_equal(vault_key_load(p, &k2, &e), ERR_REFUSED);
    assert_null(k2);
    char *fix = xasprintf("chmod 600 %s", p);
    assert_non_null(strstr(e.msg, fix));
    free(fix);
    assert_int_equal(chmod(p, 0660), 0);
    assert_int_equal(vault_key_load(p, &k2, &e), ERR_REFUSED);
    assert_int_equal(chmod(p, 0400), 0);
    assert_int_equal(vault_key_load(p, &k2, &e), 0);
    vault_key_free(k2);

    /* wrong size refused */
    char *q = tpath("short.key");
    int fd = open(q, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    close(fd);
    k2 = NULL;
    assert_int_equal(vault_key_load(q, &k2, &e), ERR_CORRUPT);
    assert_non_null(strstr(e.msg, q));
    assert_null(k2);
    free(q);
    q = tpath("missing.key");
    assert_int_equal(vault_key_load(q, &k2, &e), ERR_NOTFOUND);
    free(q);
    vault_key_free(k);
    free(p);
}

static void test_seal_open(void **state)
{
    (void)state;
    vault_key *k = new_key("a.key");
    const char *secret = "P@ssw0rd with spaces and \xc3\xa9";
    buf blob = BUF_INIT;
    err e = {0};
    assert_int_equal(vault_seal(k, "srv-1", 7, secret, strlen(secret), &blob, &e), 0);
    assert_int_equal(blob.len, 1 + 8 + 24 + strlen(secret) + 16);
    for (size_t i = 0; i + strlen(secret) <= blob.len; i++)   /* the plaintext does not appear */
        assert_false(memcmp(blob.data + i, secret, strlen(secret)) == 0);
    char id[17];
    assert_int_equal(vault_blob_key_id(blob.data, blob.len, id), 0);
    assert_string_equal(id, vault_key_id(k));
    char *out = NULL;
    assert_int_equal(vault_open(k, "srv-1", 7, blob.data, blob.len, &out, &e), 0);
    assert_string_equal(out, secret);
    xfree_secret(out);

    /* two seals of the same secret differ (random nonce) */
    buf blob2 = BUF_INIT;
    assert_int_equal(vault_seal(k, "srv-1", 7, secret, strlen(secret), &blob2, &e), 0);
    assert_int_equal(blob2.len, blob.len);
    assert_memory_not_equal(blob.data, blob2.data, blob.len);
    buf_free(&blob2);

    /* wrong connector id or server id -> ERR_CORRUPT */
    out = NULL;
    assert_int_equal(vault_open(k, "srv-1", 8, blob.data, blob.len, &out, &e), ERR_CORRUPT);
    assert_null(out);
    assert_int_equal(vault_open(k, "srv-2", 7, blob.data, blob.len, &out, &e), ERR_CORRUPT);
    /* each tampered byte -> ERR_CORRUPT (header bytes: version/key id give CORRUPT or AUTH) */
    for (size_t i = 0; i < blob.len; i++) {
        blob.data[i] ^= 0x20;
        int rc = vault_open(k, "srv-1", 7, blob.data, blob.len, &out, &e);
        if (i >= 1 && i <= 8) assert_int_equal(rc, ERR_AUTH);
        else assert_int_equal(rc, ERR_CORRUPT);
        assert_null(out);
        blob.data[i] ^= 0x20;
    }
    assert_int_equal(vault_open(k, "srv-1", 7, blob.data, blob.len - 1, &out, &e), ERR_CORRUPT);
    assert_int_equal(vault_open(k, "srv-1", 7, blob.data, 20, &out, &e), ERR_CORRUPT);

    /* another server's key -> ERR_AUTH naming the blob's key id and the command */
    vault_key *other = new_key("b.key");
    assert_string_not_equal(vault_key_id(other), vault_key_id(k));
    assert_int_equal(vault_open(other, "srv-1", 7, blob.data, blob.len, &out, &e), ERR_AUTH);
    assert_non_null(strstr(e.msg, vault_key_id(k)));
    assert_non_null(strstr(e.msg, "idsync connector set-credentials"));
    assert_null(out);

    /* NUL inside a secret is refused; empty secret round-trips */
    assert_int_equal(vault_seal(k, "srv-1", 7, "a\0b", 3, &blob2, &e), ERR_USAGE);
    buf_reset(&blob2);
    assert_int_equal(vault_seal(k, "srv-1", 7, "", 0, &blob2, &e), 0);
    assert_int_equal(vault_open(k, "srv-1", 7, blob2.data, blob2.len, &out, &e), 0);
    assert_string_equal(out, "");
    xfree_secret(out);
    buf_free(&blob2);
    buf_free(&blob);
    vault_key_free(other);
    vault_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_create_load),
        cmocka_unit_test(test_seal_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
