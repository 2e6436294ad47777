/* AD delta import with the DirSync control (MS-ADTS 3.1.1.3.4.1.3, OID 1.2.840.113556.1.4.841):
 * changed attributes only, incremental member values, renames/moves, tombstones. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIRSYNC_INCREMENTAL_VALUES 0x80000000u
#define DIRSYNC_ANCESTORS_FIRST 0x00000800u
#define DIRSYNC_OBJECT_SECURITY 0x00000001u

static bool strcasestr_ascii(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

/* One DirSync request: streams entries to cb, returns the server's next cookie and more-flag. */
static int dirsync_page(conn *c, const char *partition, const char *filter, char **attrs, const buf *cookie,
                        const ldap_search_cb *cb, buf *cookie_out, bool *more, err *e)
{
    struct berval val = {0, NULL};
    ldap_search_res res = {0};
    LDAPControl *ctrl = NULL;
    unsigned flags = DIRSYNC_INCREMENTAL_VALUES | DIRSYNC_ANCESTORS_FIRST |
                     (c->object_security ? DIRSYNC_OBJECT_SECURITY : 0);
    int rc = conn_ldap_dirsync_encode(flags, 0, cookie->data, cookie->len, &val, e);
    if (rc) return rc;
    int lrc = ldap_control_create(LDAP_CONTROL_X_DIRSYNC, 1, &val, 1, &ctrl);
    if (lrc != LDAP_SUCCESS) {
        rc = conn_ldap_fail(c, lrc, NULL, "creating the DirSync control", e);
        goto done;
    }
    LDAPControl *ctrls[] = {ctrl, NULL};
    rc = conn_ldap_search(c, partition, LDAP_SCOPE_SUBTREE, filter, attrs, ctrls, cb, &res, e);
    if (rc) goto done;
    if (res.rc != LDAP_SUCCESS) {
        const char *d = res.diag && *res.diag ? res.diag : ldap_err2string(res.rc);
        if (cookie->len && (res.rc == LDAP_OTHER || res.rc == LDAP_PROTOCOL_ERROR ||
                            res.rc == LDAP_UNWILLING_TO_PERFORM || res.rc == LDAP_OPERATIONS_ERROR ||
                            (res.diag && strcasestr_ascii(res.diag, "cookie"))))
            rc = err_set(e, ERR_CORRUPT, "connector %s: the directory %s rejected the stored DirSync cookie (%s); "
                         "a full import is required", c->name, c->url, d);
        else if (res.rc == LDAP_INSUFFICIENT_ACCESS)
            rc = err_set(e, ERR_AUTH, "connector %s: DirSync on %s refused for %s (%s); grant the account the "
                         "'Replicating Directory Changes' right on %s, or set option object_security=true",
                         c->name, c->url, c->bind_dn ? c->bind_dn : "(anonymous)", d, partition);
        else if (res.rc == LDAP_UNAVAILABLE_CRITICAL_EXTENSION)
            rc = err_set(e, ERR_USAGE, "connector %s: %s does not support DirSync; is it an Active Directory "
                         "domain controller? (use type ldap otherwise)", c->name, c->url);
        else if (res.rc == LDAP_NO_SUCH_OBJECT)
            rc = err_set(e, ERR_NOTFOUND, "connector %s: partition %s does not exist on %s (%s); DirSync needs "
                         "a naming context root", c->name, partition, c->url, d);
        else {
            char *what = xasprintf("DirSync search of %s", partition);
            rc = conn_ldap_fail(c, res.rc, res.diag, what, e);
            free(what);
        }
        goto done;
    }
    LDAPControl *resp = ldap_control_find(LDAP_CONTROL_X_DIRSYNC, res.ctrls, NULL);
    if (!resp) {
        rc = err_set(e, ERR_CORRUPT, "connector %s: %s answered a DirSync search without a DirSync control",
                     c->name, c->url);
        goto done;
    }
    rc = conn_ldap_dirsync_decode(&resp->ldctl_value, more, cookie_out, e);
done:
    ldap_control_free(ctrl);
    ber_memfree(val.bv_val);
    conn_ldap_search_res_clear(&res);
    return rc;
}

int conn_ad_dirsync_current_cookie(conn *c, const char *partition, buf *cookie_out, err *e)
{
    /* A DirSync search whose filter matches nothing still advances the cookie to the
       server's current USN (verified on Samba 4.17 and documented for AD: the cookie is
       the replication state, the filter only selects what is returned). */
    static char *none[] = {"objectGUID", NULL};
    buf cookie = BUF_INIT, next = BUF_INIT;
    bool more = true;
    int rc = 0;
    for (int i = 0; more && i < 10000; i++) {
        rc = dirsync_page(c, partition, "(objectClass=idsyncNoSuchClassForCookie)", none, &cookie, NULL, &next,
                          &more, e);
        if (rc) goto done;
        buf_reset(&cookie);
        buf_append(&cookie, next.data ? next.data : "", next.len);
    }
    buf_reset(cookie_out);
    buf_append(cookie_out, cookie.data ? cookie.data : "", cookie.len);
done:
    buf_free(&cookie);
    buf_free(&next);
    return rc;
}

typedef struct delta_ctx {
    conn *c;
    const conn_sink *sink;
    size_t done;
} delta_ctx;

typedef struct subtree_ctx {
    conn *c;
    const conn_sink *sink;
    const char *top;       /* the renamed/moved container itself: already reported */
} subtree_ctx;

static int subtree_entry(void *ctx, LDAPMessage *m, err *e)
{
    subtree_ctx *s = ctx;
    ldap_entry ent = {0};
    const void *anchor;
    size_t alen;
    int rc = conn_ldap_entry_read(s->c, m, false, s->sink, &ent, e);
    if (rc || conn_ldap_dn_is_under(s->top, ent.dn)) goto done;
    if (!conn_ldap_scope_contains(&s->c->scope, ent.dn)) {
        if (conn_ldap_entry_anchor(s->c, &ent, &anchor, &alen)) {
            conn_object o = {.change = CONN_CHANGE_DELETE, .dn = ent.dn, .anchor = anchor, .anchor_len = alen};
            rc = s->sink->object(s->sink->ctx, &o, e);
        }
        goto done;
    }
    rc = conn_ldap_report_full(s->c, s->sink, CONN_CHANGE_ADD, &ent, e);
done:
    conn_ldap_entry_clear(&ent);
    return rc;
}

/* DirSync reports a renamed or moved container but not the objects below it, whose DNs
   (and so their place in the OU filter) changed too: re-read the subtree and report each
   object again, as ADD when in scope and as DELETE when the move took it out of scope. */
static int report_subtree(conn *c, const conn_sink *sink, const char *dn, err *e)
{
    subtree_ctx s = {c, sink, dn};
    ldap_search_cb cb = {&s, subtree_entry, NULL};
    return conn_ldap_search_paged(c, dn, LDAP_SCOPE_SUBTREE, c->filter, conn_ldap_import_attrs(c), &cb, NULL, e);
}

static bool is_container(const attrs *a)
{
    attr *oc = a ? attrs_get(a, "objectClass") : NULL;
    for (size_t i = 0; oc && i < oc->nvals; i++)
        if (!strcasecmp(oc->vals[i].data, "organizationalUnit") || !strcasecmp(oc->vals[i].data, "container") ||
            !strcasecmp(oc->vals[i].data, "builtinDomain"))
            return true;
    return false;
}

static bool is_tombstone(const ldap_entry *ent)
{
    const char *d = attrs_get_str(ent->a, "isDeleted");
    if (d && strcasecmp(d, "TRUE") == 0) return true;
    /* tombstone RDNs end in "\0ADEL:<guid>" (escaped newline) and live under CN=Deleted Objects */
    return strstr(ent->dn, "\\0ADEL:") != NULL || strstr(ent->dn, "\\0aDEL:") != NULL ||
           strstr(ent->dn, "\nDEL:") != NULL;
}

static int delta_entry(void *ctx, LDAPMessage *m, err *e)
{
    delta_ctx *d = ctx;
    conn *c = d->c;
    ldap_entry ent = {0}, full = {0};
    buf base = BUF_INIT;
    const void *anchor;
    size_t alen;
    int rc = conn_ldap_entry_read(c, m, true, d->sink, &ent, e);
    if (rc) goto done;
    if (!conn_ldap_entry_anchor(c, &ent, &anchor, &alen)) {
        if (d->sink->warning) d->sink->warning(d->sink->ctx, ent.dn, "DirSync entry without objectGUID; skipped");
        goto done;
    }
    d->done++;
    if (is_tombstone(&ent)) {
        conn_object o = {.change = CONN_CHANGE_DELETE, .dn = ent.dn, .anchor = anchor, .anchor_len = alen};
        rc = d->sink->object(d->sink->ctx, &o, e);
        goto done;
    }
    bool in_scope = conn_ldap_scope_contains(&c->scope, ent.dn);
    if (attrs_get(ent.a, "name")) {
        /* "name" (the RDN value) is sent for new, renamed and moved objects: the connector
           cannot tell which, nor whether the object was in scope before, so it reports the
           whole current object as ADD (an upsert by anchor for the engine), or a DELETE when
           it is now outside the OU filter. */
        bool container = is_container(ent.a); /* objectClass is present for new objects only */
        buf_puts(&base, "<GUID=");
        conn_ldap_hex(anchor, alen, &base);
        buf_putc(&base, '>');
        rc = conn_ldap_entry_fetch(c, base.data, d->sink, &full, e);
        if (rc == ERR_NOTFOUND) { /* deleted since: a later page carries the tombstone */
            err_clear(e);
            rc = 0;
            goto done;
        }
        if (rc) goto done;
        if (conn_ldap_scope_contains(&c->scope, full.dn)) {
            rc = conn_ldap_report_full(c, d->sink, CONN_CHANGE_ADD, &full, e);
        } else {
            conn_object o = {.change = CONN_CHANGE_DELETE, .dn = full.dn, .anchor = anchor, .anchor_len = alen};
            rc = d->sink->object(d->sink->ctx, &o, e);
        }
        /* a new container has no children yet that DirSync would not report itself */
        if (!rc && is_container(full.a) && !container) rc = report_subtree(c, d->sink, full.dn, e);
        goto done;
    }
    if (!in_scope) goto done; /* a change to an object the OU filter leaves out */
    conn_object o = {
        .change = CONN_CHANGE_MODIFY,
        .dn = ent.dn,
        .anchor = anchor,
        .anchor_len = alen,
        .object_type = conn_ldap_object_type(c, ent.a), /* NULL unless objectClass changed */
        .attrs = ent.a,
        .attrs_are_delta = true,
        .removed_values = ent.removed,
        .added_values = ent.added,
    };
    rc = d->sink->object(d->sink->ctx, &o, e);
done:
    if (!rc && d->sink->progress && d->done % 1000 == 0) d->sink->progress(d->sink->ctx, d->done);
    conn_ldap_entry_clear(&ent);
    conn_ldap_entry_clear(&full);
    buf_free(&base);
    return rc;
}

int conn_ad_delta_import(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                         const conn_sink *sink, buf *cookie_out, err *e)
{
    buf cur = BUF_INIT, next = BUF_INIT;
    bool more = true;
    int rc = 0;
    if (!cookie || !cookie_len) {
        return err_set(e, ERR_CORRUPT, "connector %s: no DirSync cookie is stored for partition %s; a full import "
                       "is required", c->name, partition);
    }
    /* AD and Samba cookies start with the "MSDS" signature (MS-ADTS 3.1.1.3.4.1.3): anything
       else was not written by a DC and would only earn an obscure server error */
    if (cookie_len < 4 || memcmp(cookie, "MSDS", 4) != 0)
        return err_set(e, ERR_CORRUPT, "connector %s: the stored watermark of partition %s is not a DirSync "
                       "cookie; a full import is required", c->name, partition);
    if ((rc = conn_ldap_scope_resolve(c, partition, e))) return rc;
    buf_append(&cur, cookie, cookie_len);
    delta_ctx d = {c, sink, 0};
    ldap_search_cb cb = {&d, delta_entry, NULL};
    while (more) {
        rc = dirsync_page(c, partition, c->filter, conn_ldap_import_attrs(c), &cur, &cb, &next, &more, e);
        if (rc) goto done;
        if (!next.len) {
            rc = err_set(e, ERR_CORRUPT, "connector %s: %s returned an empty DirSync cookie", c->name, c->url);
            goto done;
        }
        buf_reset(&cur);
        buf_append(&cur, next.data, next.len);
        if (sink->checkpoint && (rc = sink->checkpoint(sink->ctx, cur.data, cur.len, e))) goto done;
    }
    if (sink->progress) sink->progress(sink->ctx, d.done);
    buf_reset(cookie_out);
    buf_append(cookie_out, cur.data, cur.len);
done:
    buf_free(&cur);
    buf_free(&next);
    return rc;
}
