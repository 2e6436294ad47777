/* Stored configuration -> connector configs, credentials and rule sets. */
#include "engine/engine_config.h"
#include "util/util_alloc.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int json_strings(const char *json, const char *what, const char *name, char ***out, size_t *n, err *e)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *a = json_loads(json ? json : "[]", 0, &je);
    if (!a || !json_is_array(a)) {
        json_decref(a);
        return err_set(e, ERR_CORRUPT, "connector '%s': stored %s are not a JSON array", name, what);
    }
    size_t i;
    json_t *v;
    *out = xcalloc(json_array_size(a) + 1, sizeof(char *));
    json_array_foreach(a, i, v) {
        if (json_is_string(v)) (*out)[(*n)++] = xstrdup(json_string_value(v));
    }
    json_decref(a);
    return 0;
}

int engine_conn_config(const store_connector *sc, conn_config **out, err *e)
{
    conn_config *c = xcalloc(1, sizeof *c);
    c->id = sc->id;
    c->name = xstrdup(sc->name);
    c->type = xstrdup(sc->type);
    c->url = xstrdup(sc->url);
    c->bind_dn = sc->bind_dn ? xstrdup(sc->bind_dn) : NULL;
    int rc = json_strings(sc->partitions_json, "partitions", sc->name, &c->partitions, &c->npartitions, e);
    if (!rc) rc = json_strings(sc->include_json, "included OUs", sc->name, &c->include_ous, &c->ninclude, e);
    if (!rc) rc = json_strings(sc->exclude_json, "excluded OUs", sc->name, &c->exclude_ous, &c->nexclude, e);
    if (!rc) {
        json_error_t je;
        json_t *o = json_loads(sc->options_json ? sc->options_json : "{}", 0, &je);
        if (!o || !json_is_object(o)) {
            rc = err_set(e, ERR_CORRUPT, "connector '%s': stored options are not a JSON object", sc->name);
        } else {
            const char *k;
            json_t *v;
            c->options = xcalloc(json_object_size(o) + 1, sizeof(conn_option));
            json_object_foreach(o, k, v) {
                if (!json_is_string(v)) continue;
                c->options[c->noptions].key = xstrdup(k);
                c->options[c->noptions].value = xstrdup(json_string_value(v));
                c->noptions++;
            }
        }
        json_decref(o);
    }
    if (rc) {
        conn_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int engine_conn_secret(const store_connector *sc, const vault_key *key, const char *server_id,
                       char **secret, err *e)
{
    *secret = NULL;
    if (!sc->sealed_secret || !sc->sealed_len) return 0;
    if (!key) return err_set(e, ERR_AUTH, "connector '%s': the server key is not loaded", sc->name);
    int rc = vault_open(key, server_id, sc->id, sc->sealed_secret, sc->sealed_len, secret, e);
    if (rc == ERR_AUTH)
        return err_set(e, ERR_AUTH, "connector '%s' needs credentials: they were sealed by another server's key; "
                       "run `idsync connector set-credentials %s --password-file F` (or --token-file F)",
                       sc->name, sc->name);
    if (rc) return err_prefix(e, "connector '%s': cannot open its stored credentials", sc->name);
    return 0;
}

/* The connector's configuration needs no secret (e.g. an LDAP SASL EXTERNAL bind). */
static bool secret_optional(const conn_ops *ops, const store_connector *sc)
{
    if (!ops->secret_optional) return false;
    conn_config *cfg = NULL;
    bool optional = engine_conn_config(sc, &cfg, NULL) == 0 && ops->secret_optional(cfg);
    conn_config_free(cfg);
    return optional;
}

bool engine_conn_credentials_required(const store_connector *sc, const vault_key *key, const char *server_id)
{
    const conn_ops *ops = conn_ops_find(sc->type);
    if (ops && !ops->needs_secret) return false;
    if (!sc->sealed_secret || !sc->sealed_len) {
        if (!ops) return false;
        return !secret_optional(ops, sc);
    }
    if (!key) {
        char kid[VAULT_KEY_ID_HEX];
        if (vault_blob_key_id(sc->sealed_secret, sc->sealed_len, kid) != 0) return true;
        return false;  /* cannot tell without the key; status shows it when the key is loaded */
    }
    char *secret = NULL;
    err e = {0};
    int rc = vault_open(key, server_id, sc->id, sc->sealed_secret, sc->sealed_len, &secret, &e);
    xfree_secret(secret);
    return rc != 0;
}

int engine_conn_open(const store_connector *sc, const vault_key *key, const char *server_id,
                     const conn_ops **ops_out, conn **out, err *e)
{
    const conn_ops *ops = conn_ops_find(sc->type);
    if (!ops) return err_set(e, ERR_USAGE, "connector '%s' has type '%s', which this build does not support", sc->name, sc->type);
    conn_config *cfg = NULL;
    char *secret = NULL;
    int rc = engine_conn_config(sc, &cfg, e);
    if (rc) return rc;
    rc = engine_conn_secret(sc, key, server_id, &secret, e);
    if (rc == 0 && ops->needs_secret && !secret && !(ops->secret_optional && ops->secret_optional(cfg)))
        rc = err_set(e, ERR_AUTH, "connector '%s' has no credentials; run `idsync connector set-credentials %s "
                     "--password-file F` (or --token-file F for scim)", sc->name, sc->name);
    if (rc == 0) {
        rc = ops->open(cfg, secret, out, e);
        if (rc) err_prefix(e, "connector '%s'", sc->name);
    }
    xfree_secret(secret);
    conn_config_free(cfg);
    if (rc == 0) *ops_out = ops;
    return rc;
}

struct load_ctx {
    rule_set *set;
};

static int load_one(void *ctx, const store_rule *r, err *e)
{
    struct load_ctx *c = ctx;
    char *wrapped = xasprintf("{\"rules\":[%s]}", r->definition);
    char *origin = xasprintf("database rule '%s'", r->name);
    int rc = rule_set_load_json(c->set, wrapped, origin, e);
    free(wrapped);
    free(origin);
    return rc;
}

int engine_rules_load(store *s, rule_set **out, err *e)
{
    struct load_ctx c = {rule_set_new()};
    int rc = store_rule_each(s, load_one, &c, e);
    if (rc) {
        rule_set_free(c.set);
        return rc;
    }
    rule_set_sort(c.set);
    *out = c.set;
    return 0;
}

int engine_rule_save(store *s, const rule *r, err *e)
{
    json_t *j = rule_to_json(r);
    char *def = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    char hash[65];
    rule_hash(r, hash);
    store_rule sr = {.name = r->name, .direction = (char *)rule_direction_name(r->direction),
                     .connector = r->connector, .precedence = r->precedence, .enabled = r->enabled,
                     .definition = def, .hash = hash};
    int rc = store_rule_put(s, &sr, e);
    free(def);
    return rc;
}

int engine_rules_changed(store *s, err *e)
{
    return store_connector_set_flags_all(s, -1, 1, e);
}
