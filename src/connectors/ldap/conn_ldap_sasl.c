/* SASL binds (option sasl_mech): EXTERNAL (a TLS client certificate, or the peer credentials of an
 * ldapi:// socket), GSSAPI (the Kerberos ticket or keytab of the account idsync runs as), and the
 * password mechanisms (DIGEST-MD5, SCRAM-SHA-*, PLAIN) with the connector's sealed password.
 * Cyrus SASL does the mechanism; libldap drives it; this file only answers its questions. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <sasl/sasl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct sasl_answers {
    const char *authcid, *authzid, *realm, *password;
} sasl_answers;

static int interact(LDAP *ld, unsigned flags, void *defaults, void *in)
{
    (void)ld;
    (void)flags;
    const sasl_answers *a = defaults;
    for (sasl_interact_t *it = in; it->id != SASL_CB_LIST_END; it++) {
        const char *v;
        switch (it->id) {
        case SASL_CB_AUTHNAME: v = a->authcid; break;
        case SASL_CB_USER: v = a->authzid; break;
        case SASL_CB_PASS: v = a->password; break;
        case SASL_CB_GETREALM: v = a->realm; break;
        default: v = it->defresult; break;
        }
        if (!v) v = "";
        it->result = v;
        it->len = (unsigned)strlen(v);
    }
    return LDAP_SUCCESS;
}

bool conn_ldap_sasl_mech_needs_password(const char *mech)
{
    return mech && *mech && strcasecmp(mech, "EXTERNAL") != 0 && strcasecmp(mech, "GSSAPI") != 0 &&
           strcasecmp(mech, "GSS-SPNEGO") != 0;
}

bool conn_ldap_secret_optional(const conn_config *cfg)
{
    const char *mech = conn_ldap_opt(cfg, "sasl_mech", NULL);
    return mech && *mech && !conn_ldap_sasl_mech_needs_password(mech);
}

int conn_ldap_sasl_bind(conn *c, const conn_config *cfg, const char *mech, const char *secret, err *e)
{
    sasl_answers a = {
        .authcid = conn_ldap_opt(cfg, "sasl_authcid", c->bind_dn),
        .authzid = conn_ldap_opt(cfg, "sasl_authzid", NULL),
        .realm = conn_ldap_opt(cfg, "sasl_realm", NULL),
        .password = secret,
    };
    int lrc = ldap_sasl_interactive_bind_s(c->ld, NULL, mech, NULL, NULL, LDAP_SASL_QUIET, interact, &a);
    if (lrc == LDAP_SUCCESS) return 0;
    char *diag = NULL;
    ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    const char *d = diag && *diag ? diag : NULL;
    int rc;
    if (lrc == LDAP_INVALID_CREDENTIALS)
        rc = err_set(e, ERR_AUTH, "SASL %s bind to %s failed: invalid credentials%s%s; check sasl_authcid and the "
                     "password (`idsync connector set-credentials %s`)", mech, c->url, d ? ": " : "", d ? d : "",
                     c->name);
    else if (lrc == LDAP_AUTH_UNKNOWN || lrc == LDAP_NOT_SUPPORTED || lrc == LDAP_AUTH_METHOD_NOT_SUPPORTED ||
             lrc == LDAP_STRONG_AUTH_NOT_SUPPORTED || (d && strstr(d, "no mechanism available")))
        rc = err_set(e, ERR_USAGE, "SASL %s bind to %s failed (%s%s%s): the mechanism is not available on this "
                     "machine or not offered by the server; the server's supportedSASLMechanisms lists what it "
                     "offers%s", mech, c->url, ldap_err2string(lrc), d ? ": " : "", d ? d : "",
                     strcasecmp(mech, "GSSAPI") == 0 ? " (GSSAPI here needs the package libsasl2-modules-gssapi-mit "
                                                       "and a Kerberos ticket or keytab)" : "");
    else if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR || lrc == LDAP_TIMEOUT)
        rc = err_set(e, ERR_RETRY, "cannot reach %s (%s%s%s); check that the server is running and the URL is right",
                     c->url, ldap_err2string(lrc), d ? ": " : "", d ? d : "");
    else {
        char *what = xasprintf("SASL %s bind to %s", mech, c->url);
        rc = conn_ldap_fail(c, lrc, d, what, e);
        free(what);
    }
    ldap_memfree(diag);
    return rc;
}
