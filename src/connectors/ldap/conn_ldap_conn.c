/* Opening and closing a directory connection: URL checks, TLS, simple bind, error mapping. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static char **copy_list(char **src, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) out[i] = xstrdup(src[i] ? src[i] : "");
    return out;
}

static void free_list(char **l)
{
    if (!l) return;
    for (char **p = l; *p; p++) free(*p);
    free(l);
}

bool conn_ldap_rc_is_transient(int rc)
{
    return rc == LDAP_BUSY || rc == LDAP_UNAVAILABLE || rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT ||
           rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMELIMIT_EXCEEDED;
}

int conn_ldap_fail(conn *c, int rc, const char *diag, const char *what, err *e)
{
    const char *url = c && c->url ? c->url : "(no url)";
    const char *d = diag && *diag ? diag : NULL;
    if (rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT)
        return err_set(e, ERR_RETRY, "%s on %s failed: %s%s%s; check that the server is running and reachable", what,
                       url, ldap_err2string(rc), d ? ": " : "", d ? d : "");
    if (conn_ldap_rc_is_transient(rc))
        return err_set(e, ERR_RETRY, "%s on %s failed: %s%s%s (transient; will be retried)", what, url,
                       ldap_err2string(rc), d ? ": " : "", d ? d : "");
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH)
        return err_set(e, ERR_AUTH, "%s on %s failed: invalid credentials; check the password with "
                       "`idsync connector set-credentials %s`", what, url, c && c->name ? c->name : "NAME");
    if (rc == LDAP_INSUFFICIENT_ACCESS)
        return err_set(e, ERR_AUTH, "%s on %s failed: insufficient access%s%s; grant the account %s the rights it needs",
                       what, url, d ? ": " : "", d ? d : "", c && c->bind_dn ? c->bind_dn : "(anonymous)");
    if (rc == LDAP_NO_SUCH_OBJECT)
        return err_set(e, ERR_NOTFOUND, "%s on %s failed: no such object%s%s", what, url, d ? ": " : "", d ? d : "");
    if (rc == LDAP_NO_MEMORY) return err_set(e, ERR_FAIL, "%s: out of memory in libldap", what);
    return err_set(e, ERR_FAIL, "%s on %s failed: %s (%d)%s%s", what, url, ldap_err2string(rc), rc, d ? ": " : "",
                   d ? d : "");
}

int conn_ldap_validate(const conn_config *cfg, bool is_ad, err *e)
{
    const char *cname = cfg->name ? cfg->name : "(unnamed)";
    if (!cfg->url || !*cfg->url)
        return err_set(e, ERR_USAGE, "connector %s: a URL is required (ldap://host:389 or ldaps://host:636)", cname);
    LDAPURLDesc *lud = NULL;
    int urc = ldap_url_parse(cfg->url, &lud);
    bool scheme_ok = urc == LDAP_URL_SUCCESS && lud->lud_scheme &&
                     (!strcasecmp(lud->lud_scheme, "ldap") || !strcasecmp(lud->lud_scheme, "ldaps") ||
                      !strcasecmp(lud->lud_scheme, "ldapi"));
    bool ldaps = scheme_ok && !strcasecmp(lud->lud_scheme, "ldaps");
    ldap_free_urldesc(lud);
    if (!scheme_ok)
        return err_set(e, ERR_USAGE, "connector %s: URL '%s' is not an ldap://, ldaps:// or ldapi:// URL", cname, cfg->url);
    int rc = conn_ldap_opts_validate(cfg, is_ad, e);
    if (rc) return rc;
    const char *st = conn_ldap_opt(cfg, "starttls", "false");
    if (ldaps && (!strcasecmp(st, "true") || !strcasecmp(st, "yes") || !strcmp(st, "1") || !strcasecmp(st, "on")))
        return err_set(e, ERR_USAGE, "connector %s: starttls=true cannot be used with an ldaps:// URL; use one of them",
                       cname);
    for (size_t i = 0; i < cfg->npartitions; i++)
        if (conn_ldap_dn_depth(cfg->partitions[i]) < 1)
            return err_set(e, ERR_USAGE, "connector %s: partition '%s' is not a valid DN", cname, cfg->partitions[i]);
    for (size_t i = 0; i < cfg->ninclude + cfg->nexclude; i++) {
        const char *ou = i < cfg->ninclude ? cfg->include_ous[i] : cfg->exclude_ous[i - cfg->ninclude];
        if (ou[0] == '<') {
            size_t l = strlen(ou);
            bool ok = (l == 39 && !strncasecmp(ou, "<GUID=", 6) && ou[38] == '>') ||
                      (l == 43 && !strncasecmp(ou, "<GUID=", 6) && ou[42] == '>') ||
                      (l == 43 && !strncasecmp(ou, "<UUID=", 6) && ou[42] == '>');
            if (!ok)
                return err_set(e, ERR_USAGE, "connector %s: OU filter entry '%s' must be a DN or <GUID=32 hex digits>",
                               cname, ou);
        } else if (conn_ldap_dn_depth(ou) < 1) {
            return err_set(e, ERR_USAGE, "connector %s: OU filter entry '%s' is not a valid DN", cname, ou);
        }
    }
    return 0;
}

/* Reads the root DSE's supportedControl list to learn whether RFC 4533 sync is offered. */
static void probe_root_dse(conn *c)
{
    char *attrs[] = {"supportedControl", NULL};
    LDAPMessage *res = NULL;
    struct timeval tv = {c->timeout_s, 0};
    if (ldap_search_ext_s(c->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res) ==
        LDAP_SUCCESS) {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        struct berval **vals = m ? ldap_get_values_len(c->ld, m, "supportedControl") : NULL;
        for (size_t i = 0; vals && vals[i]; i++)
            if (vals[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
                memcmp(vals[i]->bv_val, LDAP_CONTROL_SYNC, vals[i]->bv_len) == 0)
                c->server_has_sync = true;
        ldap_value_free_len(vals);
    }
    ldap_msgfree(res);
}

static const char *diag_of(LDAP *ld, char **owned)
{
    *owned = NULL;
    if (ld) ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, owned);
    return *owned;
}


/* libldap reads a plain TCP connection message by message: one read for the BER header, one
   for the body, a poll in between, three system calls per entry. A read-ahead layer over the
   socket (below TLS, when there is TLS) fills a buffer per read instead: a full import of
   100,000 entries makes a few thousand reads instead of 300,000 calls. */
static void read_ahead(conn *c)
{
    Sockbuf *sb = NULL;
    ber_len_t size = 65536;
    if (ldap_get_option(c->ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb)
        ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, &size);
}

int conn_ldap_open(const conn_config *cfg, const char *secret, bool is_ad, conn **out, err *e)
{
    int rc = conn_ldap_validate(cfg, is_ad, e);
    if (rc) return rc;
    conn *c = xcalloc(1, sizeof *c);
    char *diag = NULL;
    c->is_ad = is_ad;
    c->name = xstrdup(cfg->name ? cfg->name : "(unnamed)");
    c->url = xstrdup(cfg->url);
    c->bind_dn = cfg->bind_dn && *cfg->bind_dn ? xstrdup(cfg->bind_dn) : NULL;
    c->ninclude = cfg->ninclude;
    c->nexclude = cfg->nexclude;
    c->include_ous = copy_list(cfg->include_ous, cfg->ninclude);
    c->exclude_ous = copy_list(cfg->exclude_ous, cfg->nexclude);
    if ((rc = conn_ldap_opts_load(c, cfg, e))) goto done;

    int lrc = ldap_initialize(&c->ld, c->url);
    if (lrc != LDAP_SUCCESS) {
        rc = err_set(e, ERR_USAGE, "connector %s: cannot use URL %s: %s", c->name, c->url, ldap_err2string(lrc));
        goto done;
    }
    int v3 = LDAP_VERSION3;
    struct timeval ctv = {(time_t)strtol(conn_ldap_opt(cfg, "connect_timeout", "10"), NULL, 10), 0};
    struct timeval otv = {c->timeout_s, 0};
    ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT, &ctv);
    ldap_set_option(c->ld, LDAP_OPT_TIMEOUT, &otv);
    /* TLS: verification on unless tls_verify=false; per-handle context so settings apply. */
    const char *ca = conn_ldap_opt(cfg, "ca_file", NULL);
    const char *verify = conn_ldap_opt(cfg, "tls_verify", "true");
    int req = (!strcasecmp(verify, "false") || !strcasecmp(verify, "no") || !strcmp(verify, "0") ||
               !strcasecmp(verify, "off")) ? LDAP_OPT_X_TLS_NEVER : LDAP_OPT_X_TLS_DEMAND;
    if (ca && ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE, ca) != LDAP_OPT_SUCCESS) {
        rc = err_set(e, ERR_USAGE, "connector %s: cannot use ca_file %s", c->name, ca);
        goto done;
    }
    ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
    int zero = 0;
    ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);

    const char *st = conn_ldap_opt(cfg, "starttls", "false");
    if (!strcasecmp(st, "true") || !strcasecmp(st, "yes") || !strcmp(st, "1") || !strcasecmp(st, "on")) {
        lrc = ldap_start_tls_s(c->ld, NULL, NULL);
        if (lrc != LDAP_SUCCESS) {
            const char *d = diag_of(c->ld, &diag);
            if ((lrc == LDAP_CONNECT_ERROR && d && strstr(d, "certificate")) ||
                (lrc == LDAP_CONNECT_ERROR && req == LDAP_OPT_X_TLS_DEMAND))
                /* libldap reports a rejected certificate as a bare "Connect error" */
                rc = err_set(e, ERR_USAGE, "StartTLS on %s failed (%s%s%s): the server certificate is most likely "
                             "not trusted; set ca_file=PATH to the CA that signed it and use the host name the "
                             "certificate names in the URL (or tls_verify=false for tests only)", c->url,
                             ldap_err2string(lrc), d ? ": " : "", d ? d : "");
            else if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR)
                rc = conn_ldap_fail(c, lrc, d, "connecting", e);
            else
                rc = conn_ldap_fail(c, lrc, d, "StartTLS", e);
            goto done;
        }
    }
    const char *mech = conn_ldap_opt(cfg, "sasl_mech", NULL);
    if (mech && *mech) {
        rc = conn_ldap_sasl_bind(c, cfg, mech, secret, e);
        if (rc) goto done;
    } else {
        struct berval cred = {secret ? strlen(secret) : 0, (char *)(secret ? secret : "")};
        lrc = ldap_sasl_bind_s(c->ld, c->bind_dn ? c->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
        if (lrc != LDAP_SUCCESS) {
            const char *d = diag_of(c->ld, &diag);
            char *what = xasprintf("binding to %s as %s", c->url, c->bind_dn ? c->bind_dn : "(anonymous)");
            if (lrc == LDAP_INVALID_CREDENTIALS)
                rc = err_set(e, ERR_AUTH, "%s failed: invalid credentials; check the password with "
                             "`idsync connector set-credentials %s`", what, c->name);
            else if (lrc == LDAP_STRONG_AUTH_REQUIRED || lrc == LDAP_CONFIDENTIALITY_REQUIRED)
                rc = err_set(e, ERR_USAGE, "%s failed: the server refuses a password over an unencrypted connection "
                             "(%s); use an ldaps:// URL or set option starttls=true", what, ldap_err2string(lrc));
            else if (lrc == LDAP_CONNECT_ERROR && d && strstr(d, "certificate"))
                rc = err_set(e, ERR_USAGE, "%s failed: TLS: %s; set ca_file=PATH to the CA that signed the server "
                             "certificate (or tls_verify=false for tests only)", what, d);
            else if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR || lrc == LDAP_TIMEOUT)
                rc = err_set(e, ERR_RETRY, "cannot reach %s (%s%s%s); check that the server is running and the URL "
                             "is right%s", c->url, ldap_err2string(lrc), d ? ": " : "", d ? d : "",
                             strncasecmp(c->url, "ldaps:", 6) == 0 && req == LDAP_OPT_X_TLS_DEMAND
                                 ? "; if it is, its TLS certificate may not be trusted: set ca_file=PATH to the CA that "
                                   "signed it and use the host name the certificate names (or tls_verify=false for "
                                   "tests only)"
                                 : "");
            else
                rc = conn_ldap_fail(c, lrc, d, what, e);
            free(what);
            goto done;
        }
    }
    read_ahead(c);
    if (!c->is_ad) probe_root_dse(c);
    *out = c;
    c = NULL;
    rc = 0;
done:
    ldap_memfree(diag);
    conn_ldap_close(c);
    return rc;
}

void conn_ldap_close(conn *c)
{
    if (!c) return;
    if (c->ld) ldap_unbind_ext_s(c->ld, NULL, NULL);
    free(c->name);
    free(c->url);
    free(c->bind_dn);
    free_list(c->include_ous);
    free_list(c->exclude_ous);
    free(c->filter);
    free_list(c->ignore);
    conn_ldap_types_free(&c->types);
    conn_ldap_scope_clear(&c->scope);
    free(c);
}
