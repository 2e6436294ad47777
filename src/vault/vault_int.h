/* Vault internals shared by its files (not part of the module contract). */
#ifndef IDSYNC_VAULT_VAULT_INT_H
#define IDSYNC_VAULT_VAULT_INT_H
#include "vault/vault.h"
#include <stdbool.h>

#define VAULT_KEY_ID_BYTES 8

struct vault_key {
    unsigned char key[VAULT_KEY_BYTES];        /* the secret; wiped by vault_key_free */
    unsigned char id_raw[VAULT_KEY_ID_BYTES];
    char id[VAULT_KEY_ID_HEX];
};

int vault_sodium_init(err *e);
void vault_key_id_raw(const unsigned char key[VAULT_KEY_BYTES], unsigned char id[VAULT_KEY_ID_BYTES]);
/* Lowercase hex of p[0..n) into out (2n+1 bytes). */
void vault_hex(const unsigned char *p, size_t n, char *out);
#endif
