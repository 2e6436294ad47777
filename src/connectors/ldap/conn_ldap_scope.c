/* DN comparison, OU include/exclude scope (with rename-proof <GUID=...> entries) and hex/UUID helpers. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool bv_equal_ci(const struct berval *a, const struct berval *b)
{
    if (a->bv_len != b->bv_len) return false;
    for (size_t i = 0; i < a->bv_len; i++)
        if (tolower((unsigned char)a->bv_val[i]) != tolower((unsigned char)b->bv_val[i])) return false;
    return true;
}

static bool rdn_equal(LDAPRDN x, LDAPRDN y)
{
    size_t i = 0;
    for (; x[i] && y[i]; i++)
        if (!bv_equal_ci(&x[i]->la_attr, &y[i]->la_attr) || !bv_equal_ci(&x[i]->la_value, &y[i]->la_value))
            return false;
    return !x[i] && !y[i];
}

static int dn_count(LDAPDN dn)
{
    int n = 0;
    while (dn && dn[n]) n++;
    return n;
}

int conn_ldap_dn_depth(const char *dn)
{
    LDAPDN parsed = NULL;
    if (!dn || ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) return -1;
    int n = dn_count(parsed);
    ldap_dnfree(parsed);
    return n;
}

bool conn_ldap_dn_is_under(const char *dn, const char *base)
{
    LDAPDN d = NULL, b = NULL;
    bool under = false;
    if (!dn || !base) return false;
    if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) goto done;
    if (ldap_str2dn(base, &b, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS) goto done;
    int nd = dn_count(d), nb = dn_count(b);
    if (nb > nd) goto done;
    under = true;
    for (int i = 0; i < nb && under; i++) under = rdn_equal(d[nd - nb + i], b[i]);
done:
    ldap_dnfree(d);
    ldap_dnfree(b);
    return under;
}

void conn_ldap_hex(const void *data, size_t len, buf *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        buf_putc(out, digits[p[i] >> 4]);
        buf_putc(out, digits[p[i] & 15]);
    }
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int conn_ldap_unhex(const char *hex, unsigned char *out, size_t len)
{
    if (!hex || strlen(hex) != len * 2) return -1;
    for (size_t i = 0; i < len; i++) {
        int h = hexval((unsigned char)hex[2 * i]), l = hexval((unsigned char)hex[2 * i + 1]);
        if (h < 0 || l < 0) return -1;
        out[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

void conn_ldap_uuid_text(const unsigned char raw[16], char out[37])
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = digits[raw[i] >> 4];
        out[o++] = digits[raw[i] & 15];
    }
    out[o] = '\0';
}

void conn_ldap_scope_clear(ldap_scope *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) free(s->dn[i]);
    free(s->dn);
    free(s->include);
    memset(s, 0, sizeof *s);
}

static void scope_add(ldap_scope *s, const char *dn, bool include)
{
    s->dn = xrealloc(s->dn, (s->n + 1) * sizeof *s->dn);
    s->include = xrealloc(s->include, (s->n + 1) * sizeof *s->include);
    s->dn[s->n] = xstrdup(dn);
    s->include[s->n] = include;
    s->n++;
}

/* Finds the current DN of the object named by a <GUID=...> / <UUID=...> entry. */
static int resolve_ref(conn *c, const char *partition, const char *ref, char **dn_out, err *e)
{
    size_t l = strlen(ref);
    const char *body = ref + 6;
    size_t bl = l - 7;
    char text[37];
    char *filter = NULL, *base = NULL;
    int rc = 0;
    LDAPMessage *res = NULL;
    *dn_out = NULL;
    if (bl == 32) {
        unsigned char raw[16];
        char hex[33];
        memcpy(hex, body, 32);
        hex[32] = '\0';
        if (conn_ldap_unhex(hex, raw, 16))
            return err_set(e, ERR_USAGE, "connector %s: OU filter entry %s is not 32 hex digits", c->name, ref);
        if (c->is_ad) base = xasprintf("<GUID=%s>", hex);
        else conn_ldap_uuid_text(raw, text);
    } else if (bl == 36) {
        memcpy(text, body, 36);
        text[36] = '\0';
        if (c->is_ad) base = xasprintf("<GUID=%s>", text);
    } else {
        return err_set(e, ERR_USAGE, "connector %s: OU filter entry %s is not <GUID=32 hex digits>", c->name, ref);
    }
    if (!base) {
        for (size_t i = 0; i < 36; i++)
            if (!(isxdigit((unsigned char)text[i]) || text[i] == '-'))
                return err_set(e, ERR_USAGE, "connector %s: OU filter entry %s is not a UUID", c->name, ref);
        filter = xasprintf("(entryUUID=%s)", text);
    }
    char *attrs[] = {"1.1", NULL};
    struct timeval tv = {c->timeout_s, 0};
    int lrc = ldap_search_ext_s(c->ld, base ? base : partition, base ? LDAP_SCOPE_BASE : LDAP_SCOPE_SUBTREE,
                                filter ? filter : "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 2, &res);
    LDAPMessage *m = (lrc == LDAP_SUCCESS || lrc == LDAP_SIZELIMIT_EXCEEDED) ? ldap_first_entry(c->ld, res) : NULL;
    if (!m) {
        if (lrc == LDAP_SUCCESS || lrc == LDAP_NO_SUCH_OBJECT)
            rc = err_set(e, ERR_NOTFOUND, "connector %s: OU filter entry %s names no object on %s; it was deleted: "
                         "update the connector's OU filter", c->name, ref, c->url);
        else
            rc = conn_ldap_fail(c, lrc, NULL, "resolving an OU filter entry", e);
        goto done;
    }
    char *dn = ldap_get_dn(c->ld, m);
    *dn_out = xstrdup(dn ? dn : "");
    ldap_memfree(dn);
done:
    ldap_msgfree(res);
    free(filter);
    free(base);
    return rc;
}

int conn_ldap_scope_resolve(conn *c, const char *partition, err *e)
{
    conn_ldap_scope_clear(&c->scope);
    c->scope.ninclude = c->ninclude;
    for (size_t i = 0; i < c->ninclude + c->nexclude; i++) {
        bool inc = i < c->ninclude;
        const char *ou = inc ? c->include_ous[i] : c->exclude_ous[i - c->ninclude];
        if (ou[0] != '<') {
            scope_add(&c->scope, ou, inc);
            continue;
        }
        char *dn = NULL;
        int rc = resolve_ref(c, partition, ou, &dn, e);
        if (rc == ERR_NOTFOUND && !inc) {
            err_clear(e); /* an excluded OU that no longer exists excludes nothing */
            continue;
        }
        if (rc) return rc;
        scope_add(&c->scope, dn, inc);
        free(dn);
    }
    return 0;
}

bool conn_ldap_scope_contains(const ldap_scope *s, const char *dn)
{
    int best = -1;
    bool verdict = s->ninclude == 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!conn_ldap_dn_is_under(dn, s->dn[i])) continue;
        int depth = conn_ldap_dn_depth(s->dn[i]);
        /* deepest entry wins; at equal depth an exclude beats an include */
        if (depth > best || (depth == best && !s->include[i])) {
            best = depth;
            verdict = s->include[i];
        }
    }
    return verdict;
}

const char **conn_ldap_scope_bases(const ldap_scope *s, const char *partition)
{
    const char **out = xcalloc(s->n + 2, sizeof *out);
    size_t n = 0;
    if (s->ninclude == 0) {
        out[n++] = partition;
        return out;
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!s->include[i]) continue;
        if (conn_ldap_dn_is_under(partition, s->dn[i])) { /* include at or above the partition */
            n = 0;
            out[n++] = partition;
            break;
        }
        if (!conn_ldap_dn_is_under(s->dn[i], partition)) continue;
        bool nested = false;
        for (size_t j = 0; j < s->n && !nested; j++)
            if (j != i && s->include[j] && conn_ldap_dn_is_under(s->dn[i], s->dn[j]) &&
                (!conn_ldap_dn_is_under(s->dn[j], s->dn[i]) || j < i))
                nested = true;
        if (!nested) out[n++] = s->dn[i];
    }
    out[n] = NULL;
    return out;
}
