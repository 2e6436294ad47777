/* Sealing connector credentials under the server key (XChaCha20-Poly1305, libsodium). */
#include "vault/vault_int.h"
#include "util/util_alloc.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 0x01
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_HEADER (1 + VAULT_KEY_ID_BYTES + SEAL_NONCE)
#define SEAL_KDF_CONTEXT "idsynccr"   /* crypto_kdf_CONTEXTBYTES == 8 */
#define SEAL_KDF_SUBKEY 1

/* Associated data: binds the blob to one server id and one connector. Caller frees. */
static char *seal_ad(const char *server_id, long long connector_id)
{
    return xasprintf("idsync-cred-v1|%s|%lld", server_id ? server_id : "", connector_id);
}

static void seal_subkey(const vault_key *key, unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES])
{
    crypto_kdf_derive_from_key(sub, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, SEAL_KDF_SUBKEY, SEAL_KDF_CONTEXT,
                               key->key);
}

int vault_seal(const vault_key *key, const char *server_id, long long connector_id,
               const void *secret, size_t len, buf *out, err *e)
{
    int rc = vault_sodium_init(e);
    if (rc) return rc;
    if (memchr(secret, '\0', len))
        return err_set(e, ERR_USAGE, "the credential for connector %lld contains a NUL byte; secrets must be text",
                       connector_id);
    unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned char header[SEAL_HEADER];
    char *ad = seal_ad(server_id, connector_id);
    header[0] = SEAL_VERSION;
    memcpy(header + 1, key->id_raw, VAULT_KEY_ID_BYTES);
    randombytes_buf(header + 1 + VAULT_KEY_ID_BYTES, SEAL_NONCE);
    seal_subkey(key, sub);
    buf_append(out, header, sizeof header);
    buf_reserve(out, len + SEAL_TAG);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt((unsigned char *)out->data + out->len, &clen, secret, len,
                                               (const unsigned char *)ad, strlen(ad), NULL,
                                               header + 1 + VAULT_KEY_ID_BYTES, sub);
    out->len += (size_t)clen;
    out->data[out->len] = '\0';
    xwipe(sub, sizeof sub);
    free(ad);
    return 0;
}

int vault_blob_key_id(const void *blob, size_t len, char out[VAULT_KEY_ID_HEX])
{
    const unsigned char *b = blob;
    out[0] = '\0';
    if (!b || len < SEAL_HEADER + SEAL_TAG || b[0] != SEAL_VERSION) return ERR_CORRUPT;
    vault_hex(b + 1, VAULT_KEY_ID_BYTES, out);
    return 0;
}

int vault_open(const vault_key *key, const char *server_id, long long connector_id,
               const void *blob, size_t len, char **secret_out, err *e)
{
    *secret_out = NULL;
    int rc = vault_sodium_init(e);
    if (rc) return rc;
    const unsigned char *b = blob;
    char blob_id[VAULT_KEY_ID_HEX];
    unsigned char sub[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    char *ad = NULL, *plain = NULL;
    if (vault_blob_key_id(blob, len, blob_id) != 0)
        return err_set(e, ERR_CORRUPT, "the sealed credential of connector %lld is not a version-1 idsync blob "
                       "(%zu bytes); run `idsync connector set-credentials NAME` to set it again", connector_id, len);
    if (sodium_memcmp(b + 1, key->id_raw, VAULT_KEY_ID_BYTES) != 0)
        return err_set(e, ERR_AUTH, "the credential of connector %lld was sealed by another server (key id %s; this "
                       "server's key id is %s); run `idsync connector set-credentials NAME`", connector_id, blob_id,
                       key->id);
    ad = seal_ad(server_id, connector_id);
    seal_subkey(key, sub);
    size_t clen = len - SEAL_HEADER;
    plain = xmalloc(clen - SEAL_TAG + 1);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)plain, &plen, NULL, b + SEAL_HEADER, clen,
                                                   (const unsigned char *)ad, strlen(ad),
                                                   b + 1 + VAULT_KEY_ID_BYTES, sub) != 0) {
        rc = err_set(e, ERR_CORRUPT, "the sealed credential of connector %lld does not verify (altered, or copied "
                     "from another connector or server id); run `idsync connector set-credentials NAME`",
                     connector_id);
        goto done;
    }
    plain[plen] = '\0';
    if (memchr(plain, '\0', (size_t)plen)) {
        rc = err_set(e, ERR_CORRUPT, "the sealed credential of connector %lld contains a NUL byte", connector_id);
        goto done;
    }
    *secret_out = plain;
    plain = NULL;
done:
    xwipe(sub, sizeof sub);
    if (plain) {
        xwipe(plain, clen - SEAL_TAG + 1);
        free(plain);
    }
    free(ad);
    return rc;
}
