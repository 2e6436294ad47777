/* Entry -> attribute set: typing, UTF-8 and size checks, AD ranged retrieval ("member;range=0-1499")
 * and DirSync incremental values (";range=1-1" added, ";range=0-0" removed). */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

static char *ad_attrs[] = {"*", "isDeleted", NULL};
static char *ldap_attrs[] = {"*", "entryUUID", "structuralObjectClass", NULL};
static char *ldap_ts_attrs[] = {"*", "entryUUID", "structuralObjectClass", "modifyTimestamp", "createTimestamp", NULL};

char **conn_ldap_import_attrs(const conn *c)
{
    if (c->is_ad) return ad_attrs;
    return c->delta_mode == LDAP_DELTA_TIMESTAMP ? ldap_ts_attrs : ldap_attrs;
}

void conn_ldap_entry_clear(ldap_entry *ent)
{
    if (!ent) return;
    free(ent->dn);
    attrs_free(ent->a);
    attrs_free(ent->added);
    attrs_free(ent->removed);
    memset(ent, 0, sizeof *ent);
}

bool conn_ldap_parse_range(const char *desc, buf *base_out, long *low, long *high)
{
    bool found = false;
    buf_reset(base_out);
    const char *p = desc;
    while (*p) {
        const char *semi = strchr(p, ';');
        size_t l = semi ? (size_t)(semi - p) : strlen(p);
        if (p != desc && l > 6 && strncasecmp(p, "range=", 6) == 0) {
            char tmp[64];
            if (l < sizeof tmp) {
                memcpy(tmp, p + 6, l - 6);
                tmp[l - 6] = '\0';
                char *end = NULL;
                long lo = strtol(tmp, &end, 10);
                if (end != tmp && *end == '-' && lo >= 0) {
                    const char *h = end + 1;
                    long hi;
                    if (strcmp(h, "*") == 0) hi = -1;
                    else {
                        char *end2 = NULL;
                        hi = strtol(h, &end2, 10);
                        if (end2 == h || *end2 || hi < lo) goto keep;
                    }
                    *low = lo;
                    *high = hi;
                    found = true;
                    p = semi ? semi + 1 : p + l;
                    continue;
                }
            }
        }
    keep:
        if (base_out->len) buf_putc(base_out, ';');
        buf_append(base_out, p, l);
        p = semi ? semi + 1 : p + l;
    }
    if (!base_out->data) buf_puts(base_out, "");
    return found;
}

static bool is_ignored(const conn *c, const char *name)
{
    for (char **p = c->ignore; p && *p; p++)
        if (strcasecmp(*p, name) == 0) return true;
    return false;
}

static void warn(const conn_sink *sink, const char *dn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(const conn_sink *sink, const char *dn, const char *fmt, ...)
{
    if (!sink || !sink->warning) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sink->warning(sink->ctx, dn, msg);
}

static bool is_decimal(const struct berval *v)
{
    size_t i = 0;
    if (v->bv_len && v->bv_val[0] == '-') i = 1;
    if (i == v->bv_len || v->bv_len - i > 19) return false;
    for (; i < v->bv_len; i++)
        if (!isdigit((unsigned char)v->bv_val[i])) return false;
    return true;
}

/* Adds vals to set[name], typed; drops oversized values and degrades invalid text to binary. */
static void add_values(conn *c, const conn_sink *sink, const char *dn, attrs *set, const char *name,
                       struct berval **vals)
{
    attr_type t = conn_ldap_attr_type(c, name);
    attr *existing = attrs_get(set, name);
    if (existing) t = existing->type;
    if (t != AT_BINARY) {
        for (size_t i = 0; vals && vals[i]; i++) {
            if (!utf8_valid(vals[i]->bv_val, vals[i]->bv_len)) {
                warn(sink, dn, "attribute %s has a value that is not valid UTF-8; kept as binary", name);
                t = AT_BINARY;
                break;
            }
            if (t == AT_INTEGER && !is_decimal(vals[i])) t = AT_STRING;
        }
    }
    attr *a = attrs_get_or_add(set, name, t);
    if (a->type != t) {
        if (t == AT_BINARY || a->nvals == 0) a->type = t; /* binary wins: it holds any bytes */
    }
    for (size_t i = 0; vals && vals[i]; i++) {
        if (vals[i]->bv_len > c->max_value_bytes) {
            warn(sink, dn, "attribute %s: a value of %zu bytes exceeds max_value_bytes=%zu and was dropped", name,
                 (size_t)vals[i]->bv_len, c->max_value_bytes);
            continue;
        }
        attr_add(a, vals[i]->bv_val, vals[i]->bv_len);
    }
    if (a->nvals == 0) attrs_remove(set, name);
}

/* AD ranged retrieval (MS-ADTS 3.1.1.3.1.3.3): asks for name;range=start-* until the
 * server answers with a range ending in '*'. */
static int fetch_rest(conn *c, const conn_sink *sink, const char *dn, const char *name, long start, attrs *set,
                      err *e)
{
    buf want = BUF_INIT, base = BUF_INIT;
    int rc = 0;
    LDAPMessage *res = NULL;
    for (int rounds = 0; rounds < 100000; rounds++) {
        buf_reset(&want);
        buf_printf(&want, "%s;range=%ld-*", name, start);
        char *attrs_req[] = {want.data, NULL};
        struct timeval tv = {c->timeout_s, 0};
        ldap_msgfree(res);
        res = NULL;
        int lrc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs_req, 0, NULL, NULL, &tv, 1,
                                    &res);
        if (lrc != LDAP_SUCCESS) {
            char *what = xasprintf("reading values %ld- of %s of %s", start, name, dn);
            rc = conn_ldap_fail(c, lrc, NULL, what, e);
            free(what);
            goto done;
        }
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        if (!m) {
            rc = err_set(e, ERR_RETRY, "reading values of %s of %s: the object disappeared during the import", name, dn);
            goto done;
        }
        BerElement *ber = NULL;
        bool progressed = false, last = true;
        for (char *ad = ldap_first_attribute(c->ld, m, &ber); ad; ad = ldap_next_attribute(c->ld, m, ber)) {
            long lo = 0, hi = -1;
            if (conn_ldap_parse_range(ad, &base, &lo, &hi) && strcasecmp(base.data, name) == 0 && lo == start) {
                struct berval **vals = ldap_get_values_len(c->ld, m, ad);
                add_values(c, sink, dn, set, name, vals);
                ldap_value_free_len(vals);
                progressed = true;
                if (hi >= start) {
                    last = false;
                    start = hi + 1;
                }
            }
            ldap_memfree(ad);
        }
        ber_free(ber, 0);
        if (!progressed || last) break; /* no range in the answer means no more values */
    }
done:
    ldap_msgfree(res);
    buf_free(&want);
    buf_free(&base);
    return rc;
}

int conn_ldap_entry_read(conn *c, LDAPMessage *msg, bool incremental, const conn_sink *sink, ldap_entry *ent,
                         err *e)
{
    conn_ldap_entry_clear(ent);
    conn_ldap_types_load(c);
    /* One sequential pass over the entry's BER (ldap_get_attribute_ber): ldap_get_values_len would
       re-scan the entry for every attribute. */
    BerElement *ber = NULL;
    struct berval dnbv = {0, NULL};
    if (ldap_get_dn_ber(c->ld, msg, &ber, &dnbv) != LDAP_SUCCESS || !ber) {
        ber_free(ber, 0);
        return err_set(e, ERR_CORRUPT, "the directory at %s sent an entry that cannot be decoded", c->url);
    }
    ent->dn = xstrndup(dnbv.bv_val ? dnbv.bv_val : "", dnbv.bv_len);
    /* Pooled: an entry's names and values are a few allocations instead of one per value. */
    ent->a = attrs_new_pooled();
    buf base = BUF_INIT, namebuf = BUF_INIT;
    int rc = 0;
    struct berval ad = {0, NULL};
    BerVarray bvals = NULL;
    struct berval **vals = NULL;
    size_t cap = 0;
    while (ldap_get_attribute_ber(c->ld, msg, ber, &ad, &bvals) == LDAP_SUCCESS && ad.bv_val) {
        /* the description points into the BER: copy it to terminate it */
        buf_reset(&namebuf);
        buf_append(&namebuf, ad.bv_val, ad.bv_len);
        buf_putc(&namebuf, '\0');
        const char *name = namebuf.data;
        long lo = 0, hi = -1;
        bool ranged = conn_ldap_parse_range(name, &base, &lo, &hi);
        if (!is_ignored(c, base.data)) {
            size_t n = 0;
            while (bvals && bvals[n].bv_val) n++;
            if (n + 1 > cap) {
                cap = n + 1 > 2 * cap ? n + 1 : 2 * cap;
                vals = xrealloc(vals, cap * sizeof *vals);
            }
            for (size_t i = 0; i < n; i++) vals[i] = &bvals[i];
            vals[n] = NULL;
            if (ranged && incremental && lo == hi && (lo == 0 || lo == 1)) {
                attrs **set = lo == 1 ? &ent->added : &ent->removed;
                if (!*set) *set = attrs_new_pooled();
                add_values(c, sink, ent->dn, *set, base.data, vals);
                ent->has_incremental = true;
            } else {
                add_values(c, sink, ent->dn, ent->a, base.data, vals);
                if (ranged && hi >= 0 && !incremental) rc = fetch_rest(c, sink, ent->dn, base.data, hi + 1, ent->a, e);
            }
        }
        ber_memfree(bvals);
        bvals = NULL;
        if (rc) break;
    }
    free(vals);
    ber_free(ber, 0);
    buf_free(&base);
    buf_free(&namebuf);
    return rc;
}

typedef struct fetch_ctx {
    conn *c;
    const conn_sink *sink;
    ldap_entry *ent;
    bool found;
} fetch_ctx;

static int fetch_entry(void *ctx, LDAPMessage *m, err *e)
{
    fetch_ctx *f = ctx;
    if (f->found) return 0;
    f->found = true;
    return conn_ldap_entry_read(f->c, m, false, f->sink, f->ent, e);
}

int conn_ldap_entry_fetch(conn *c, const char *base, const conn_sink *sink, ldap_entry *ent, err *e)
{
    fetch_ctx f = {c, sink, ent, false};
    ldap_search_cb cb = {&f, fetch_entry, NULL};
    ldap_search_res res = {0};
    int rc = conn_ldap_search(c, base, LDAP_SCOPE_BASE, "(objectClass=*)", conn_ldap_import_attrs(c), NULL, &cb,
                              &res, e);
    if (rc) goto done;
    if (res.rc == LDAP_NO_SUCH_OBJECT || (res.rc == LDAP_SUCCESS && !f.found)) {
        rc = err_set(e, ERR_NOTFOUND, "%s does not exist on %s", base, c->url);
        goto done;
    }
    if (res.rc != LDAP_SUCCESS) {
        char *what = xasprintf("reading %s", base);
        rc = conn_ldap_fail(c, res.rc, res.diag, what, e);
        free(what);
    }
done:
    conn_ldap_search_res_clear(&res);
    return rc;
}

const char *conn_ldap_object_type(const conn *c, const attrs *a)
{
    if (!a) return NULL;
    if (!c->is_ad) {
        const char *s = attrs_get_str(a, "structuralObjectClass");
        if (s) return s;
    }
    /* AD lists objectClass from top to the most specific class (computer after user) */
    attr *oc = attrs_get(a, "objectClass");
    for (size_t i = oc ? oc->nvals : 0; i > 0; i--)
        if (strcasecmp(oc->vals[i - 1].data, "top") != 0) return oc->vals[i - 1].data;
    return NULL;
}

bool conn_ldap_entry_anchor(const conn *c, const ldap_entry *ent, const void **anchor, size_t *len)
{
    attr *a = attrs_get(ent->a, c->is_ad ? "objectGUID" : "entryUUID");
    if (!a || a->nvals != 1) return false;
    if (c->is_ad && a->vals[0].len != 16) return false;
    if (!c->is_ad && a->vals[0].len == 0) return false;
    *anchor = a->vals[0].data;
    *len = a->vals[0].len;
    return true;
}

int conn_ldap_report_full(conn *c, const conn_sink *sink, conn_change change, ldap_entry *ent, err *e)
{
    const void *anchor;
    size_t alen;
    if (!conn_ldap_entry_anchor(c, ent, &anchor, &alen)) {
        warn(sink, ent->dn, "entry has no %s (anchor); skipped", c->is_ad ? "objectGUID" : "entryUUID");
        return 0;
    }
    if (!conn_ldap_scope_contains(&c->scope, ent->dn)) return 0;
    conn_object o = {
        .change = change,
        .dn = ent->dn,
        .anchor = anchor,
        .anchor_len = alen,
        .object_type = conn_ldap_object_type(c, ent->a),
        .attrs = ent->a,
        .attrs_are_delta = false,
    };
    return sink->object(sink->ctx, &o, e);
}
