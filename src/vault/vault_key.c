/* The server key: creation (random, 0600, atomic, never overwritten), loading with permission
 * and size checks, and its key id (first 8 bytes of BLAKE2b-256 of the key, in hex). */
#include "vault/vault_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vault_sodium_init(err *e)
{
    if (sodium_init() < 0) return err_set(e, ERR_FAIL, "libsodium failed to initialise (no usable random source?)");
    return 0;
}

void vault_key_id_raw(const unsigned char key[VAULT_KEY_BYTES], unsigned char id[VAULT_KEY_ID_BYTES])
{
    unsigned char h[crypto_generichash_BYTES];   /* BLAKE2b-256 */
    crypto_generichash(h, sizeof h, key, VAULT_KEY_BYTES, NULL, 0);
    memcpy(id, h, VAULT_KEY_ID_BYTES);
}

void vault_hex(const unsigned char *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir_of(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

int vault_key_create(const char *path, err *e)
{
    int rc = vault_sodium_init(e);
    if (rc) return rc;
    unsigned char key[VAULT_KEY_BYTES];
    char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    int fd = -1;
    bool linked = false;
    struct stat st;
    if (lstat(path, &st) == 0) {
        rc = err_set(e, ERR_EXISTS, "the server key %s exists already; it is never overwritten (every sealed "
                     "credential depends on it): move it away first if you really mean to replace it", path);
        goto done;
    }
    fd = mkstemp(tmp);   /* created 0600 */
    if (fd < 0) {
        rc = err_set(e, ERR_FAIL, "cannot create a temporary file next to the server key %s: %s", path, strerror(errno));
        goto done;
    }
    randombytes_buf(key, sizeof key);
    if (fchmod(fd, 0600) != 0 || write_all(fd, key, sizeof key) != 0 || fsync(fd) != 0) {
        rc = err_set(e, ERR_FAIL, "cannot write the server key %s: %s", tmp, strerror(errno));
        goto done;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = err_set(e, ERR_FAIL, "cannot write the server key %s: %s", tmp, strerror(errno));
        goto done;
    }
    fd = -1;
    /* link() fails with EEXIST instead of replacing: no race can overwrite an existing key */
    if (link(tmp, path) != 0) {
        rc = err_set(e, errno == EEXIST ? ERR_EXISTS : ERR_FAIL, "cannot create the server key %s: %s", path,
                     strerror(errno));
        goto done;
    }
    linked = true;
    fsync_dir_of(path);
done:
    xwipe(key, sizeof key);
    if (fd >= 0) close(fd);
    if (fd >= 0 || rc || linked) unlink(tmp);
    free(tmp);
    return rc;
}

int vault_key_load(const char *path, vault_key **out, err *e)
{
    *out = NULL;
    int rc = vault_sodium_init(e);
    if (rc) return rc;
    vault_key *k = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            rc = err_set(e, ERR_NOTFOUND, "the server key %s does not exist; restore it from your backup or create "
                         "a new server home", path);
        else
            rc = err_set(e, ERR_FAIL, "cannot open the server key %s: %s", path, strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = err_set(e, ERR_CORRUPT, "the server key %s is not a regular file", path);
        goto done;
    }
    if (st.st_mode & 077) {
        rc = err_set(e, ERR_REFUSED, "the server key %s is accessible by group or others (mode %03o); run "
                     "`chmod 600 %s`", path, (unsigned)(st.st_mode & 0777), path);
        goto done;
    }
    if (st.st_size != VAULT_KEY_BYTES) {
        rc = err_set(e, ERR_CORRUPT, "the server key %s has %lld bytes, expected %d: it is not an idsync server key "
                     "(restore it from your backup)", path, (long long)st.st_size, VAULT_KEY_BYTES);
        goto done;
    }
    k = xcalloc(1, sizeof *k);
    size_t got = 0;
    while (got < VAULT_KEY_BYTES) {
        ssize_t r = read(fd, k->key + got, VAULT_KEY_BYTES - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            rc = err_set(e, ERR_CORRUPT, "cannot read the server key %s: %s", path, r < 0 ? strerror(errno) : "short file");
            goto done;
        }
        got += (size_t)r;
    }
    unsigned char id[VAULT_KEY_ID_BYTES];
    vault_key_id_raw(k->key, id);
    memcpy(k->id_raw, id, sizeof id);
    vault_hex(id, sizeof id, k->id);
    *out = k;
    k = NULL;
done:
    if (fd >= 0) close(fd);
    vault_key_free(k);
    return rc;
}

void vault_key_free(vault_key *k)
{
    if (!k) return;
    xwipe(k, sizeof *k);
    free(k);
}

const char *vault_key_id(const vault_key *k)
{
    return k->id;
}
