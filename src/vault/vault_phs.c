/* NT hash (MD4 of UTF-16LE) and the password-hash-sync transform (PBKDF2-HMAC-SHA256 of the
 * hex NT hash), as Microsoft Entra Connect computes it before sending hashes to the cloud. */
#include "vault/vault_int.h"
#include "util/util_alloc.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PHS_SALT_BYTES 10
#define PHS_ITERATIONS 1000
#define PHS_HASH_BYTES 32

/* MD4 lives in OpenSSL 3's legacy provider; load it into a private library context so the
 * process-wide default context (used by libcurl, libldap) is left as configured. */
static OSSL_LIB_CTX *phs_ctx;
static EVP_MD *phs_md4;
static pthread_once_t phs_once = PTHREAD_ONCE_INIT;

static void phs_load_md4(void)
{
    phs_md4 = EVP_MD_fetch(NULL, "MD4", NULL);
    if (phs_md4) return;
    phs_ctx = OSSL_LIB_CTX_new();
    if (!phs_ctx) return;
    if (!OSSL_PROVIDER_load(phs_ctx, "legacy")) return;
    phs_md4 = EVP_MD_fetch(phs_ctx, "MD4", NULL);
}

/* UTF-8 to UTF-16LE; NULL on invalid UTF-8. *outlen in bytes. Caller wipes and frees. */
static unsigned char *utf8_to_utf16le(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    unsigned char *o = xmalloc(n * 4 + 2);
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned cp;
        int extra;
        if (*p < 0x80) { cp = *p; extra = 0; }
        else if ((*p & 0xe0) == 0xc0) { cp = *p & 0x1f; extra = 1; }
        else if ((*p & 0xf0) == 0xe0) { cp = *p & 0x0f; extra = 2; }
        else if ((*p & 0xf8) == 0xf0) { cp = *p & 0x07; extra = 3; }
        else goto bad;
        if (end - p <= extra) goto bad;
        for (int i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80) goto bad;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static const unsigned minv[] = {0, 0x80, 0x800, 0x10000};
        if (cp < minv[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) goto bad;
        p += extra + 1;
        if (cp >= 0x10000) {
            unsigned v = cp - 0x10000, hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
            o[k++] = hi & 0xff; o[k++] = hi >> 8;
            o[k++] = lo & 0xff; o[k++] = lo >> 8;
        } else {
            o[k++] = cp & 0xff; o[k++] = cp >> 8;
        }
    }
    *outlen = k;
    return o;
bad:
    xwipe(o, n * 4 + 2);
    free(o);
    return NULL;
}

int vault_nt_hash(const char *utf8_password, unsigned char out[16], err *e)
{
    int rc = 0;
    size_t ulen = 0, cap = strlen(utf8_password) * 4 + 2;
    unsigned char *u16 = NULL;
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = NULL;
    pthread_once(&phs_once, phs_load_md4);
    if (!phs_md4)
        return err_set(e, ERR_FAIL, "MD4 is not available from OpenSSL (the legacy provider could not be loaded: "
                       "install it, e.g. the libssl3 package's ossl-modules/legacy.so); NT hashes cannot be computed");
    u16 = utf8_to_utf16le(utf8_password, &ulen);
    if (!u16) return err_set(e, ERR_USAGE, "the password is not valid UTF-8; it cannot be converted to an NT hash");
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, phs_md4, NULL) != 1 || EVP_DigestUpdate(ctx, u16, ulen) != 1 ||
        EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != 16)
        rc = err_set(e, ERR_FAIL, "OpenSSL MD4 failed while computing an NT hash");
    EVP_MD_CTX_free(ctx);
    xwipe(u16, cap);
    free(u16);
    return rc;
}

int vault_phs_hash_salted(const unsigned char nt_hash[16], const unsigned char salt[PHS_SALT_BYTES], buf *out, err *e)
{
    static const char HX[] = "0123456789ABCDEF";
    unsigned char u16[64];   /* 32 uppercase hex digits, UTF-16LE */
    unsigned char dk[PHS_HASH_BYTES];
    char salt_hex[2 * PHS_SALT_BYTES + 1], dk_hex[2 * PHS_HASH_BYTES + 1];
    int rc = 0;
    for (int i = 0; i < 16; i++) {
        u16[4 * i] = (unsigned char)HX[nt_hash[i] >> 4];
        u16[4 * i + 1] = 0;
        u16[4 * i + 2] = (unsigned char)HX[nt_hash[i] & 15];
        u16[4 * i + 3] = 0;
    }
    if (PKCS5_PBKDF2_HMAC((const char *)u16, sizeof u16, salt, PHS_SALT_BYTES, PHS_ITERATIONS, EVP_sha256(),
                          sizeof dk, dk) != 1) {
        rc = err_set(e, ERR_FAIL, "OpenSSL PBKDF2-HMAC-SHA256 failed while transforming a password hash");
        goto done;
    }
    vault_hex(salt, PHS_SALT_BYTES, salt_hex);
    vault_hex(dk, sizeof dk, dk_hex);
    buf_printf(out, "v1;PPH1_MD4,%s,%d,%s;", salt_hex, PHS_ITERATIONS, dk_hex);
done:
    xwipe(u16, sizeof u16);
    xwipe(dk, sizeof dk);
    return rc;
}

int vault_phs_hash(const unsigned char nt_hash[16], buf *out, err *e)
{
    int rc = vault_sodium_init(e);
    if (rc) return rc;
    unsigned char salt[PHS_SALT_BYTES];
    randombytes_buf(salt, sizeof salt);
    return vault_phs_hash_salted(nt_hash, salt, out, e);
}
