/* The vault: the server key (server.key), sealing of connector credentials under it,
 * secret files, and the password-hash transform used by password hash sync.
 *
 * Sealed blob layout (version 1), all stored in the sync database:
 *   byte 0      0x01 (format version)
 *   bytes 1-8   key id: first 8 bytes of BLAKE2b-256(server key), says which server sealed it
 *   bytes 9-32  XChaCha20-Poly1305 nonce (random)
 *   bytes 33-   ciphertext + 16-byte tag (crypto_aead_xchacha20poly1305_ietf)
 * The encryption key is crypto_kdf(server key, subkey 1, context "idsynccr"); the associated
 * data is "idsync-cred-v1|<server_id>|<connector_id>", so a blob copied to another connector
 * or another server id does not open. See docs/SECURITY.md. */
#ifndef IDSYNC_VAULT_VAULT_H
#define IDSYNC_VAULT_VAULT_H
#include "util/util_buf.h"
#include "util/util_err.h"
#include <stddef.h>

#define VAULT_KEY_BYTES 32
#define VAULT_KEY_ID_HEX 17   /* 16 hex digits + NUL */

typedef struct vault_key vault_key;   /* a loaded server key; opaque, wiped on free */

/* Creates a new server key file at path: 32 random bytes, mode 0600, written atomically
   (temp file, fsync, link into place). Refuses (ERR_EXISTS) to overwrite an existing key,
   since that would make every sealed credential unreadable. */
int vault_key_create(const char *path, err *e);
/* Loads path into a new key the caller frees with vault_key_free. Refuses (ERR_REFUSED) a file
   readable or writable by group or others, ERR_CORRUPT one that is not exactly 32 bytes,
   ERR_NOTFOUND a missing file; messages name the path and the fix. */
int vault_key_load(const char *path, vault_key **out, err *e);
void vault_key_free(vault_key *k);   /* wipes the key; accepts NULL */
/* The key id as 16 lowercase hex digits (borrowed; lives as long as k). */
const char *vault_key_id(const vault_key *k);

/* Seals secret[0..len) for one connector of one server; appends the blob to out (caller owns
   out). A secret containing a NUL byte is refused (ERR_USAGE): secrets are text. */
int vault_seal(const vault_key *key, const char *server_id, long long connector_id,
               const void *secret, size_t len, buf *out, err *e);
/* Opens a blob sealed by vault_seal. On success *secret_out is a new NUL-terminated string the
   caller frees with xfree_secret. ERR_AUTH when the blob was sealed by another server key
   (credentials required: the message names the key id and says to run
   `idsync connector set-credentials NAME`); ERR_CORRUPT when the blob is malformed, tampered
   with, or belongs to another connector/server id. */
int vault_open(const vault_key *key, const char *server_id, long long connector_id,
               const void *blob, size_t len, char **secret_out, err *e);
/* Writes the key id recorded in a blob (16 hex digits) into out; returns 0, or ERR_CORRUPT if
   blob is not a version-1 sealed blob. */
int vault_blob_key_id(const void *blob, size_t len, char out[VAULT_KEY_ID_HEX]);

/* Reads a secret from the file path, or from standard input when path is "-": the whole
   content with one trailing newline ("\n" or "\r\n") removed. Refuses an empty secret ("the
   password file F is empty"), a NUL byte, or more than 64 KiB. *out is a new string the caller
   frees with xfree_secret; intermediate copies are wiped. */
int vault_read_secret_file(const char *path, char **out, err *e);

/* NT hash (MD4 of the UTF-16LE password) as Active Directory stores it. Uses OpenSSL's MD4
   from the legacy provider (loaded into a private library context); error if unavailable or
   if utf8_password is not valid UTF-8. */
int vault_nt_hash(const char *utf8_password, unsigned char out[16], err *e);
/* The password-hash-sync transform (as Microsoft Entra Connect does it): the NT hash as 32
   uppercase hex digits, encoded UTF-16LE, through PBKDF2-HMAC-SHA256 with a random 10-byte
   salt and 1000 iterations; appends "v1;PPH1_MD4,<salt hex>,1000,<hash hex>;" (lowercase hex,
   32-byte hash) to out. Returns 0 or ERR_FAIL with e filled. */
int vault_phs_hash(const unsigned char nt_hash[16], buf *out, err *e);
/* Same with a given salt (deterministic; for tests and verification). */
int vault_phs_hash_salted(const unsigned char nt_hash[16], const unsigned char salt[10], buf *out, err *e);
#endif
