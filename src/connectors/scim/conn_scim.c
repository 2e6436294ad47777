/* SCIM connector: the conn_ops table, option parsing/validation, open (auth + service
 * discovery through /ServiceProviderConfig, RFC 7644 4) and close. */
#include "connectors/scim/conn_scim.h"
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum opt_type { OT_STR = 1, OT_BOOL, OT_LONG, OT_ENUM } opt_type;

/* Options as a table: name, type, bounds or choices, default, and where the value goes (offset
   into struct conn, or -1 when another file reads it straight from the config). */
typedef struct scim_opt {
    const char *name;
    opt_type type;
    long min, max;
    const char *choices;   /* OT_ENUM: "a|b|c" */
    const char *def;
    ptrdiff_t off;
} scim_opt;

#define OFF(f) ((ptrdiff_t)offsetof(struct conn, f))
static const scim_opt OPTS[] = {
    {"auth", OT_ENUM, 0, 0, "bearer|oauth2", "bearer", -1},
    {"token_url", OT_STR, 0, 0, NULL, NULL, -1},
    {"client_id", OT_STR, 0, 0, NULL, NULL, -1},
    {"scope", OT_STR, 0, 0, NULL, NULL, -1},
    {"ca_file", OT_STR, 0, 0, NULL, NULL, OFF(ca_file)},
    {"tls_verify", OT_BOOL, 0, 0, NULL, "true", OFF(tls_verify)},
    {"concurrency", OT_LONG, 1, 64, NULL, "8", OFF(concurrency)},
    {"timeout_ms", OT_LONG, 100, 600000, NULL, "30000", OFF(timeout_ms)},
    {"connect_timeout_ms", OT_LONG, 100, 600000, NULL, "10000", OFF(connect_timeout_ms)},
    {"soft_delete", OT_BOOL, 0, 0, NULL, "false", OFF(soft_delete)},
    {"match_attribute", OT_ENUM, 0, 0, "externalId|userName|none", "externalId", OFF(match_attr)},
    {"bulk", OT_ENUM, 0, 0, "auto|off", "auto", -1},
    {"count", OT_LONG, 1, 1000, NULL, "200", OFF(page_size)},
    {"retry_max_wait_ms", OT_LONG, 0, 3600000, NULL, "60000", OFF(retry_max_wait_ms)},
    {"max_retries", OT_LONG, 0, 10, NULL, "3", OFF(max_retries_5xx)},
};
#define NOPTS (sizeof OPTS / sizeof OPTS[0])

static const char *cfg_opt(const conn_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key && !strcmp(cfg->options[i].key, key))
            return cfg->options[i].value;
    return NULL;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") || !strcasecmp(s, "on")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no") || !strcasecmp(s, "off")) {
        *out = false;
        return 0;
    }
    return -1;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t l = strlen(v);
    for (const char *p = choices; *p;) {
        const char *q = strchr(p, '|');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == l && !strncmp(p, v, n))
            return true;
        if (!q)
            break;
        p = q + 1;
    }
    return false;
}

/* Checks one option value against the table; with c non-NULL also stores it. */
static int opt_apply(const conn_config *cfg, const scim_opt *o, const char *v, conn *c, err *e)
{
    const char *cn = cfg->name ? cfg->name : "(unnamed)";
    switch (o->type) {
    case OT_BOOL: {
        bool b;
        if (parse_bool(v, &b) != 0)
            return err_set(e, ERR_USAGE, "SCIM connector %s: option %s must be true or false, not \"%.64s\"", cn,
                           o->name, v);
        if (c && o->off >= 0)
            *(bool *)((char *)c + o->off) = b;
        return 0;
    }
    case OT_LONG: {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < o->min || n > o->max)
            return err_set(e, ERR_USAGE, "SCIM connector %s: option %s must be a number from %ld to %ld, not \"%.64s\"",
                           cn, o->name, o->min, o->max, v);
        if (c && o->off >= 0)
            *(long *)((char *)c + o->off) = n;
        return 0;
    }
    case OT_ENUM:
        if (!enum_has(o->choices, v))
            return err_set(e, ERR_USAGE, "SCIM connector %s: option %s must be one of %s, not \"%.64s\"", cn, o->name,
                           o->choices, v);
        /* fallthrough */
    case OT_STR:
        if (!*v)
            return err_set(e, ERR_USAGE, "SCIM connector %s: option %s is empty", cn, o->name);
        if (c && o->off >= 0) {
            char **slot = (char **)((char *)c + o->off);
            free(*slot);
            *slot = xstrdup(v);
        }
        return 0;
    }
    return 0;
}

static bool url_ok(const char *u)
{
    if (!u)
        return false;
    const char *rest = !strncasecmp(u, "https://", 8) ? u + 8 : !strncasecmp(u, "http://", 7) ? u + 7 : NULL;
    if (!rest || !*rest || *rest == '/')
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#')
            return false;
    return true;
}

static int scim_validate(const conn_config *cfg, err *e)
{
    const char *cn = cfg && cfg->name ? cfg->name : "(unnamed)";
    if (!cfg)
        return err_set(e, ERR_USAGE, "SCIM connector: no configuration");
    if (!url_ok(cfg->url))
        return err_set(e, ERR_USAGE, "SCIM connector %s: URL \"%.200s\" is not an http(s) base URL such as "
                       "https://host/scim/v2 (no query or fragment)", cn, cfg->url ? cfg->url : "");
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *k = cfg->options[i].key, *v = cfg->options[i].value ? cfg->options[i].value : "";
        const scim_opt *o = NULL;
        for (size_t j = 0; k && j < NOPTS; j++)
            if (!strcmp(OPTS[j].name, k))
                o = &OPTS[j];
        if (!o)
            return err_set(e, ERR_USAGE, "SCIM connector %s: unknown option \"%.64s\" (known: auth, token_url, "
                           "client_id, scope, ca_file, tls_verify, concurrency, timeout_ms, connect_timeout_ms, "
                           "soft_delete, match_attribute, bulk, count, retry_max_wait_ms, max_retries)",
                           cn, k ? k : "");
        int rc = opt_apply(cfg, o, v, NULL, e);
        if (rc)
            return rc;
    }
    const char *auth = cfg_opt(cfg, "auth");
    if (auth && !strcmp(auth, "oauth2")) {
        if (!url_ok(cfg_opt(cfg, "token_url")))
            return err_set(e, ERR_USAGE, "SCIM connector %s: auth=oauth2 needs option token_url=https://... (the "
                           "OAuth2 token endpoint)", cn);
        if (!cfg_opt(cfg, "client_id"))
            return err_set(e, ERR_USAGE, "SCIM connector %s: auth=oauth2 needs option client_id", cn);
    }
    const char *ca = cfg_opt(cfg, "ca_file");
    if (ca && access(ca, R_OK) != 0)
        return err_set(e, ERR_USAGE, "SCIM connector %s: ca_file %s cannot be read", cn, ca);
    return 0;
}

static void scim_close(conn *c)
{
    if (!c)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    scim_auth_free(&c->auth);
    free(c->name);
    free(c->base);
    free(c->ca_file);
    free(c->match_attr);
    free(c);
}

/* GET /ServiceProviderConfig: proves the URL and credentials, and tells whether /Bulk exists. */
static int discover(conn *c, bool bulk_auto, err *e)
{
    scim_req r;
    int rc;
    json_t *j = NULL;
    scim_req_init(&r, "GET", scim_url(c, "ServiceProviderConfig"), NULL, 0);
    if ((rc = scim_http_one(c, &r, e)) != 0)
        goto done;
    if (r.curl_code) {
        char *d = scim_http_describe(&r);
        rc = err_set(e, ERR_RETRY, "cannot reach the SCIM server at %s: %s", c->base, d);
        free(d);
        goto done;
    }
    if (r.status == 404) {
        rc = err_set(e, ERR_USAGE, "no SCIM service at %s (GET ServiceProviderConfig answered 404); the connector URL "
                     "must be the SCIM base, e.g. https://host/scim/v2", c->base);
        goto done;
    }
    if (r.status != 200) {
        char *d = scim_http_describe(&r);
        rc = err_set(e, r.status >= 500 || r.status == 429 ? ERR_RETRY : ERR_FAIL,
                     "the SCIM server at %s answered GET ServiceProviderConfig with %s", c->base, d);
        free(d);
        goto done;
    }
    json_error_t je;
    j = json_loadb(r.resp.data, r.resp.len, 0, &je);
    json_t *bulk = json_object_get(j, "bulk");
    if (bulk_auto && json_is_true(json_object_get(bulk, "supported"))) {
        json_t *mo = json_object_get(bulk, "maxOperations"), *mp = json_object_get(bulk, "maxPayloadSize");
        c->bulk_max_ops = json_is_integer(mo) ? (int)json_integer_value(mo) : 0;
        c->bulk_max_payload = json_is_integer(mp) ? (long)json_integer_value(mp) : 0;
        c->bulk_supported = c->bulk_max_ops > 1 && c->bulk_max_payload > 4096;
    }
done:
    json_decref(j);
    scim_req_free(&r);
    return rc;
}

static int scim_open(const conn_config *cfg, const char *secret, conn **out, err *e)
{
    static bool curl_ready;
    int rc;
    conn *c = NULL;
    *out = NULL;
    if ((rc = scim_validate(cfg, e)) != 0)
        return rc;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return err_set(e, ERR_FAIL, "libcurl could not be initialised");
        curl_ready = true;
    }
    c = xcalloc(1, sizeof *c);
    c->name = xstrdup(cfg->name ? cfg->name : "scim");
    c->base = xstrdup(cfg->url);
    for (size_t l = strlen(c->base); l > 0 && c->base[l - 1] == '/'; l--)
        c->base[l - 1] = '\0';
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = cfg_opt(cfg, OPTS[i].name);
        if (!v)
            v = OPTS[i].def;
        if (v && (rc = opt_apply(cfg, &OPTS[i], v, c, e)) != 0)
            goto done;
    }
    if (c->match_attr && !strcmp(c->match_attr, "none"))
        FREE_AND_NULL(c->match_attr);
    const char *bulk = cfg_opt(cfg, "bulk");
    c->bulk_auto = !bulk || !strcmp(bulk, "auto");
    if (!(c->multi = curl_multi_init())) {
        rc = err_set(e, ERR_FAIL, "libcurl could not create a transfer handle");
        goto done;
    }
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->concurrency);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->concurrency);
    if ((rc = scim_auth_init(c, cfg, secret, e)) != 0)
        goto done;
    rc = discover(c, c->bulk_auto, e);
done:
    if (rc) {
        scim_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int scim_full_import_op(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e)
{
    return scim_full_import(c, partition, sink, cookie_out, e);
}

static int scim_export_op(conn *c, conn_export_item *items, size_t n, err *e)
{
    return scim_export_batch(c, items, n, e);
}

const conn_ops conn_ops_scim = {
    .type = "scim",
    .description = "SCIM 2.0 service provider (RFC 7643/7644): users and groups",
    .needs_secret = true,
    .validate = scim_validate,
    .open = scim_open,
    .full_import = scim_full_import_op,
    .delta_import = NULL,
    .export_batch = scim_export_op,
    .close = scim_close,
};
