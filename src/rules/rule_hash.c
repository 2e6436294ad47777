/* Content hashes: a rule's hash covers everything that changes sync results, so a changed
 * hash (or set hash) tells the engine that a full sync is required. */
#include "rules/rule_int.h"
#include "util/util_alloc.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

void rule_hash(const rule *r, char out[65])
{
    /* Canonical form: the export JSON without name and description (they do not change results),
       keys sorted, compact, ASCII-escaped; array order is meaningful and kept. */
    json_t *j = rule_to_json(r);
    json_object_del(j, "name");
    json_object_del(j, "description");
    char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!txt) txt = xstrdup("");
    sha256_hex(txt, strlen(txt), out);
    free(txt);
}

static int cmp_hex(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

void rule_set_hash(const rule_set *s, char out[65])
{
    size_t n = 0;
    char (*hs)[65] = xcalloc(s && s->n ? s->n : 1, 65);
    for (size_t i = 0; s && i < s->n; i++)
        if (s->rules[i]->enabled) rule_hash(s->rules[i], hs[n++]);
    qsort(hs, n, 65, cmp_hex);
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < n; i++) crypto_hash_sha256_update(&st, (const unsigned char *)hs[i], 64);
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof h);
    free(hs);
}
