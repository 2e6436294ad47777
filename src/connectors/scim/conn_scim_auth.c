/* SCIM connector: credentials. Static bearer token, or OAuth2 client credentials (RFC 6749 4.4)
 * with the access token cached in memory and refreshed before it expires or once on a 401. */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

#define REFRESH_MARGIN_MS 60000.0

static const char *opt(const conn_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key && !strcmp(cfg->options[i].key, key))
            return cfg->options[i].value;
    return NULL;
}

void scim_auth_free(scim_auth *a)
{
    if (!a)
        return;
    xfree_secret(a->token);
    xfree_secret(a->client_secret);
    free(a->token_url);
    free(a->client_id);
    free(a->scope);
    memset(a, 0, sizeof *a);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buf *b = ud;
    if (b->len + size * n > 1u << 20)
        return 0;
    buf_append(b, p, size * n);
    return size * n;
}

/* Form-urlencodes s (RFC 6749 2.3.1 asks this for client id and secret in HTTP Basic too). */
static char *form_escape(CURL *h, const char *s)
{
    char *t = curl_easy_escape(h, s, 0);
    char *r = xstrdup(t ? t : "");
    if (t) {
        xwipe(t, strlen(t));
        curl_free(t);
    }
    return r;
}

int scim_auth_refresh(conn *c, err *e)
{
    scim_auth *a = &c->auth;
    int rc = 0;
    CURL *h = NULL;
    char *user = NULL, *pass = NULL, *form = NULL;
    buf body = BUF_INIT;
    json_t *j = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    if (!a->oauth2)
        return scim_auth_error(c, 401, e);
    if (!(h = curl_easy_init())) {
        rc = err_set(e, ERR_FAIL, "cannot create an HTTP handle for %s (libcurl)", a->token_url);
        goto done;
    }
    user = form_escape(h, a->client_id);
    pass = form_escape(h, a->client_secret);
    if (a->scope) {
        char *sc = form_escape(h, a->scope);
        form = xasprintf("grant_type=client_credentials&scope=%s", sc);
        free(sc);
    } else {
        form = xstrdup("grant_type=client_credentials");
    }
    curl_easy_setopt(h, CURLOPT_URL, a->token_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, pass);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        rc = err_set(e, ERR_RETRY, "cannot reach the OAuth2 token endpoint %s: %s; check that it runs and that "
                     "the connector's token_url is right", a->token_url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    json_error_t je;
    j = body.len ? json_loadb(body.data, body.len, 0, &je) : NULL;
    if (status != 200) {
        const char *oe = json_is_object(j) ? json_string_value(json_object_get(j, "error")) : NULL;
        if (status == 400 || status == 401 || status == 403)
            rc = err_set(e, ERR_AUTH, "the OAuth2 token endpoint %s rejected client id \"%s\" (HTTP %ld%s%.80s); set "
                         "the client secret with `idsync connector set-credentials %s --secret-file F`",
                         a->token_url, a->client_id, status, oe ? ": " : "", oe ? oe : "", c->name ? c->name : "NAME");
        else
            rc = err_set(e, ERR_RETRY, "the OAuth2 token endpoint %s answered HTTP %ld; retry later", a->token_url,
                         status);
        goto done;
    }
    json_t *tok = json_is_object(j) ? json_object_get(j, "access_token") : NULL;
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        rc = err_set(e, ERR_CORRUPT, "the OAuth2 token endpoint %s answered without an access_token", a->token_url);
        goto done;
    }
    json_t *exp = json_object_get(j, "expires_in");
    double ttl = json_is_number(exp) ? json_number_value(exp) * 1000.0 : 3600000.0;
    xfree_secret(a->token);
    a->token = xstrdup(json_string_value(tok));
    xwipe((char *)json_string_value(tok), json_string_length(tok));
    a->ttl_ms = ttl;
    a->expires_at = scim_now_ms() + ttl;
    a->refreshes++;
done:
    if (body.data)
        xwipe(body.data, body.len);
    buf_free(&body);
    json_decref(j);
    xfree_secret(user);
    xfree_secret(pass);
    free(form);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

int scim_auth_ensure(conn *c, err *e)
{
    scim_auth *a = &c->auth;
    if (!a->oauth2)
        return 0;
    /* refresh a minute before expiry, or at 3/4 of the lifetime of short-lived tokens */
    double margin = a->ttl_ms / 4 < REFRESH_MARGIN_MS ? a->ttl_ms / 4 : REFRESH_MARGIN_MS;
    if (a->token && a->expires_at - scim_now_ms() > margin)
        return 0;
    return scim_auth_refresh(c, e);
}

int scim_auth_init(conn *c, const conn_config *cfg, const char *secret, err *e)
{
    scim_auth *a = &c->auth;
    const char *mode = opt(cfg, "auth");
    memset(a, 0, sizeof *a);
    if (!secret || !*secret)
        return err_set(e, ERR_AUTH, "SCIM connector %s has no %s; set it with `idsync connector set-credentials %s "
                       "--%s`", c->name, mode && !strcmp(mode, "oauth2") ? "client secret" : "token", c->name,
                       mode && !strcmp(mode, "oauth2") ? "secret-file F" : "token-file F");
    if (mode && !strcmp(mode, "oauth2")) {
        a->oauth2 = true;
        a->token_url = xstrdup(opt(cfg, "token_url"));
        a->client_id = xstrdup(opt(cfg, "client_id"));
        a->scope = opt(cfg, "scope") ? xstrdup(opt(cfg, "scope")) : NULL;
        a->client_secret = xstrdup(secret);
        return scim_auth_refresh(c, e);
    }
    a->token = xstrdup(secret);
    return 0;
}
