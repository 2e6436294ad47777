/* Option table of the ldap and ad connectors: names, kinds, bounds, defaults, one parser. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum opt_kind { OPT_INT, OPT_BOOL, OPT_STRING, OPT_ENUM } opt_kind;

typedef struct opt_def {
    const char *name;
    opt_kind kind;
    long min, max;            /* OPT_INT bounds */
    const char *choices;      /* OPT_ENUM: '|'-separated */
    unsigned types;           /* OPT_LDAP | OPT_AD */
    const char *help;
} opt_def;

#define OPT_LDAP 1u
#define OPT_AD 2u

static const opt_def opt_table[] = {
    {"page_size", OPT_INT, 1, 100000, NULL, OPT_LDAP | OPT_AD, "entries per page of a paged search (default 1000)"},
    {"max_value_bytes", OPT_INT, 1, 64L << 20, NULL, OPT_LDAP | OPT_AD, "larger values are dropped with a warning (default 524288)"},
    {"timeout", OPT_INT, 1, 86400, NULL, OPT_LDAP | OPT_AD, "seconds to wait for each server response (default 120)"},
    {"connect_timeout", OPT_INT, 1, 3600, NULL, OPT_LDAP | OPT_AD, "seconds to wait for the TCP connection (default 10)"},
    {"starttls", OPT_BOOL, 0, 0, NULL, OPT_LDAP | OPT_AD, "upgrade ldap:// with StartTLS (default false)"},
    {"tls_verify", OPT_BOOL, 0, 0, NULL, OPT_LDAP | OPT_AD, "verify the server certificate (default true)"},
    {"ca_file", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "PEM file of CA certificates to trust"},
    {"sasl_mech", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD,
     "SASL mechanism instead of a simple bind: EXTERNAL, GSSAPI, DIGEST-MD5, SCRAM-SHA-256, ... (default none)"},
    {"sasl_authcid", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "SASL authentication identity (default: the bind DN)"},
    {"sasl_authzid", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "SASL identity to act as (default: none)"},
    {"sasl_realm", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "SASL realm (default: the mechanism's)"},
    {"filter", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "LDAP filter selecting the objects to import"},
    {"ignore_attributes", OPT_STRING, 0, 0, NULL, OPT_LDAP | OPT_AD, "comma-separated attributes never imported"},
    {"schema", OPT_BOOL, 0, 0, NULL, OPT_LDAP | OPT_AD, "read attribute syntaxes from the server schema (default true)"},
    {"object_security", OPT_BOOL, 0, 0, NULL, OPT_AD, "DirSync OBJECT_SECURITY flag for accounts without replication rights"},
    {"delta_mode", OPT_ENUM, 0, 0, "auto|sync|timestamp", OPT_LDAP, "RFC 4533 sync or modifyTimestamp watermark (default auto)"},
    {"timestamp_margin", OPT_INT, 0, 86400, NULL, OPT_LDAP, "seconds subtracted from the watermark for clock skew (default 300)"},
};

static const char ad_default_filter[] =
    "(|(objectClass=user)(objectClass=group)(objectClass=contact)(objectClass=organizationalUnit))";
/* Attributes whose values are not replicated or are back links (DirSync never reports
 * them: memberOf) or that only
 * describe the object's storage: importing them would make every full import differ
 * from the deltas before it. distinguishedName duplicates the object's DN. */
static const char ad_default_ignore[] =
    "nTSecurityDescriptor,parentGUID,instanceType,whenChanged,uSNChanged,uSNCreated,"
    "dSCorePropagationData,replPropertyMetaData,distinguishedName,lastLogon,lastLogonTimestamp,"
    "logonCount,badPwdCount,badPasswordTime,lastLogoff,objectCategory,memberOf";

const char *conn_ldap_opt(const conn_config *cfg, const char *key, const char *def)
{
    for (size_t i = 0; cfg && i < cfg->noptions; i++)
        if (cfg->options[i].key && strcasecmp(cfg->options[i].key, key) == 0) return cfg->options[i].value;
    return def;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) return -1;
    *out = x;
    return 0;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == vl && strncasecmp(p, v, l) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

int conn_ldap_opts_validate(const conn_config *cfg, bool is_ad, err *e)
{
    unsigned mask = is_ad ? OPT_AD : OPT_LDAP;
    const char *type = is_ad ? "ad" : "ldap";
    const char *cname = cfg->name ? cfg->name : "(unnamed)";
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *k = cfg->options[i].key, *v = cfg->options[i].value;
        const opt_def *d = NULL;
        for (size_t j = 0; j < sizeof opt_table / sizeof opt_table[0]; j++)
            if (k && strcasecmp(opt_table[j].name, k) == 0 && (opt_table[j].types & mask)) d = &opt_table[j];
        if (!d) {
            buf known = BUF_INIT;
            for (size_t j = 0; j < sizeof opt_table / sizeof opt_table[0]; j++)
                if (opt_table[j].types & mask) buf_printf(&known, "%s%s", known.len ? ", " : "", opt_table[j].name);
            err_set(e, ERR_USAGE, "connector %s: unknown option '%s' for type %s; known options: %s", cname,
                    k ? k : "", type, known.data);
            buf_free(&known);
            return ERR_USAGE;
        }
        if (!v) return err_set(e, ERR_USAGE, "connector %s: option %s has no value", cname, d->name);
        long x;
        bool b;
        switch (d->kind) {
        case OPT_INT:
            if (parse_long(v, &x) || x < d->min || x > d->max)
                return err_set(e, ERR_USAGE, "connector %s: option %s=%s must be an integer from %ld to %ld (%s)",
                               cname, d->name, v, d->min, d->max, d->help);
            break;
        case OPT_BOOL:
            if (parse_bool(v, &b))
                return err_set(e, ERR_USAGE, "connector %s: option %s=%s must be true or false", cname, d->name, v);
            break;
        case OPT_ENUM:
            if (!enum_has(d->choices, v))
                return err_set(e, ERR_USAGE, "connector %s: option %s=%s must be one of %s", cname, d->name, v,
                               d->choices);
            break;
        case OPT_STRING:
            if (!*v && strcmp(d->name, "ignore_attributes") != 0)
                return err_set(e, ERR_USAGE, "connector %s: option %s is empty (%s)", cname, d->name, d->help);
            break;
        }
    }
    return 0;
}

static long opt_long(const conn_config *cfg, const char *key, long def)
{
    long x;
    const char *v = conn_ldap_opt(cfg, key, NULL);
    return v && parse_long(v, &x) == 0 ? x : def;
}

static bool opt_bool(const conn_config *cfg, const char *key, bool def)
{
    bool b;
    const char *v = conn_ldap_opt(cfg, key, NULL);
    return v && parse_bool(v, &b) == 0 ? b : def;
}

static char **split_list(const char *s)
{
    size_t n = 0, cap = 8;
    char **out = xcalloc(cap, sizeof *out);
    const char *p = s;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        while (l && (*p == ' ' || *p == '\t')) p++, l--;
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
        if (l) {
            if (n + 2 > cap) {
                cap *= 2;
                out = xrealloc(out, cap * sizeof *out);
            }
            out[n++] = xstrndup(p, l);
        }
        if (!comma) break;
        p = comma + 1;
    }
    out[n] = NULL;
    return out;
}

int conn_ldap_opts_load(conn *c, const conn_config *cfg, err *e)
{
    int rc = conn_ldap_opts_validate(cfg, c->is_ad, e);
    if (rc) return rc;
    c->page_size = (int)opt_long(cfg, "page_size", 1000);
    c->max_value_bytes = (size_t)opt_long(cfg, "max_value_bytes", 512L * 1024);
    c->timeout_s = (int)opt_long(cfg, "timeout", 120);
    c->filter = xstrdup(conn_ldap_opt(cfg, "filter", c->is_ad ? ad_default_filter : "(objectClass=*)"));
    c->object_security = opt_bool(cfg, "object_security", false);
    const char *dm = conn_ldap_opt(cfg, "delta_mode", "auto");
    c->delta_mode = !strcasecmp(dm, "sync") ? LDAP_DELTA_SYNC
                    : !strcasecmp(dm, "timestamp") ? LDAP_DELTA_TIMESTAMP : LDAP_DELTA_AUTO;
    c->ts_margin_s = (int)opt_long(cfg, "timestamp_margin", 300);
    c->ignore = split_list(conn_ldap_opt(cfg, "ignore_attributes", c->is_ad ? ad_default_ignore : ""));
    c->load_schema = opt_bool(cfg, "schema", true);
    return 0;
}
