/* `ldap` delta import with RFC 4533 refreshOnly (content synchronization): add/modify entries,
 * delete phase (syncIdSet refreshDeletes) and present phase (present set -> engine deletes the rest). */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

#define SYNC_COOKIE_PREFIX "sync:"

/* Runs one refreshOnly search; cb may be NULL. Fills the syncDone fields. */
static int sync_search(conn *c, const char *base, int scope, const char *filter, char **attrs, const buf *cookie,
                       const ldap_search_cb *cb, buf *done_cookie, bool *has_done_cookie, bool *refresh_deletes,
                       err *e)
{
    struct berval val = {0, NULL};
    ldap_search_res res = {0};
    LDAPControl *ctrl = NULL;
    int rc = conn_ldap_syncreq_encode(LDAP_SYNC_REFRESH_ONLY, cookie ? cookie->data : NULL, cookie ? cookie->len : 0,
                                      &val, e);
    if (rc) return rc;
    int lrc = ldap_control_create(LDAP_CONTROL_SYNC, 1, &val, 1, &ctrl);
    if (lrc != LDAP_SUCCESS) {
        rc = conn_ldap_fail(c, lrc, NULL, "creating the sync request control", e);
        goto done;
    }
    LDAPControl *ctrls[] = {ctrl, NULL};
    rc = conn_ldap_search(c, base, scope, filter, attrs, ctrls, cb, &res, e);
    if (rc) goto done;
    if (res.rc != LDAP_SUCCESS) {
        const char *d = res.diag && *res.diag ? res.diag : ldap_err2string(res.rc);
        if (res.rc == LDAP_SYNC_REFRESH_REQUIRED)
            rc = err_set(e, ERR_CORRUPT, "connector %s: %s can no longer replay changes since the stored sync "
                         "cookie (e-syncRefreshRequired: %s); a full import is required", c->name, c->url, d);
        else if (res.rc == LDAP_UNAVAILABLE_CRITICAL_EXTENSION || res.rc == LDAP_UNWILLING_TO_PERFORM)
            rc = err_set(e, ERR_USAGE, "connector %s: %s does not offer RFC 4533 content synchronization (%s); "
                         "enable the syncprov overlay or set option delta_mode=timestamp", c->name, c->url, d);
        else if (cookie && cookie->len && (res.rc == LDAP_PROTOCOL_ERROR || res.rc == LDAP_OTHER))
            rc = err_set(e, ERR_CORRUPT, "connector %s: %s rejected the stored sync cookie (%s); a full import is "
                         "required", c->name, c->url, d);
        else {
            char *what = xasprintf("sync search of %s", base);
            rc = conn_ldap_fail(c, res.rc, res.diag, what, e);
            free(what);
        }
        goto done;
    }
    LDAPControl *dc = ldap_control_find(LDAP_CONTROL_SYNC_DONE, res.ctrls, NULL);
    *has_done_cookie = false;
    *refresh_deletes = false;
    if (dc) rc = conn_ldap_syncdone_decode(&dc->ldctl_value, done_cookie, has_done_cookie, refresh_deletes, e);
done:
    ldap_control_free(ctrl);
    ber_memfree(val.bv_val);
    conn_ldap_search_res_clear(&res);
    return rc;
}

int conn_ldap_sync_current_cookie(conn *c, const char *partition, buf *cookie_out, err *e)
{
    /* A base-scope refreshOnly search returns one entry and, in syncDone, the cookie of
       the whole database's current state (the contextCSN): cheap, and it covers every
       change made after this point. */
    static char *none[] = {"1.1", NULL};
    bool has = false, rd = false;
    buf ck = BUF_INIT;
    int rc = sync_search(c, partition, LDAP_SCOPE_BASE, "(objectClass=*)", none, NULL, NULL, &ck, &has, &rd, e);
    if (!rc && !has)
        rc = err_set(e, ERR_USAGE, "connector %s: %s returned no sync cookie for %s; is the syncprov overlay "
                     "configured on this database? (or set delta_mode=timestamp)", c->name, c->url, partition);
    if (!rc) {
        buf_reset(cookie_out);
        buf_puts(cookie_out, SYNC_COOKIE_PREFIX);
        buf_append(cookie_out, ck.data, ck.len);
    }
    buf_free(&ck);
    return rc;
}

typedef struct sync_ctx {
    conn *c;
    const conn_sink *sink;
    buf cookie;            /* latest cookie seen (without prefix) */
    bool has_cookie;
    bool present_phase;    /* the server used (part of) a present phase */
    bool present_missing;  /* present phase but the sink has no present callback */
    size_t done, since_checkpoint;
} sync_ctx;

static int present(sync_ctx *s, const char *anchor, err *e)
{
    s->present_phase = true;
    if (!s->sink->present) {
        s->present_missing = true;
        return 0;
    }
    return s->sink->present(s->sink->ctx, anchor, strlen(anchor), e);
}

static int maybe_checkpoint(sync_ctx *s, err *e)
{
    s->done++;
    if (s->sink->progress && s->done % 1000 == 0) s->sink->progress(s->sink->ctx, s->done);
    if (++s->since_checkpoint < (size_t)s->c->page_size) return 0;
    s->since_checkpoint = 0;
    /* no resumable position in the middle of a refresh: commit without a cookie */
    return s->sink->checkpoint ? s->sink->checkpoint(s->sink->ctx, NULL, 0, e) : 0;
}

static int sync_entry(void *ctx, LDAPMessage *m, err *e)
{
    sync_ctx *s = ctx;
    conn *c = s->c;
    LDAPControl **ctrls = NULL;
    ldap_entry ent = {0};
    buf ck = BUF_INIT;
    unsigned char uuid[16];
    char text[37];
    int state = 0, rc = 0;
    bool has_ck = false;
    char *dn = ldap_get_dn(c->ld, m);
    ldap_get_entry_controls(c->ld, m, &ctrls);
    LDAPControl *sc = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL);
    if (!sc) {
        rc = err_set(e, ERR_CORRUPT, "connector %s: %s sent entry %s without a sync state control", c->name, c->url,
                     dn ? dn : "");
        goto done;
    }
    if ((rc = conn_ldap_syncstate_decode(&sc->ldctl_value, &state, uuid, &ck, &has_ck, e))) goto done;
    if (has_ck) {
        buf_reset(&s->cookie);
        buf_append(&s->cookie, ck.data, ck.len);
        s->has_cookie = true;
    }
    conn_ldap_uuid_text(uuid, text);
    if (state == LDAP_SYNC_PRESENT) {
        if (dn && conn_ldap_scope_contains(&c->scope, dn)) rc = present(s, text, e);
        else s->present_phase = true;
    } else if (state == LDAP_SYNC_DELETE) {
        conn_object o = {.change = CONN_CHANGE_DELETE, .dn = dn, .anchor = text, .anchor_len = strlen(text)};
        rc = s->sink->object(s->sink->ctx, &o, e);
    } else {
        if ((rc = conn_ldap_entry_read(c, m, false, s->sink, &ent, e))) goto done;
        if (!conn_ldap_scope_contains(&c->scope, ent.dn)) {
            /* outside the OU filter now: it may have moved out, so it leaves the connector space */
            conn_object o = {.change = CONN_CHANGE_DELETE, .dn = ent.dn, .anchor = text, .anchor_len = strlen(text)};
            rc = s->sink->object(s->sink->ctx, &o, e);
            goto done;
        }
        if (!attrs_get(ent.a, "entryUUID")) attrs_set_str(ent.a, "entryUUID", text);
        rc = conn_ldap_report_full(c, s->sink, state == LDAP_SYNC_ADD ? CONN_CHANGE_ADD : CONN_CHANGE_MODIFY, &ent, e);
        if (!rc && s->sink->present) rc = s->sink->present(s->sink->ctx, text, strlen(text), e);
    }
    if (!rc) rc = maybe_checkpoint(s, e);
done:
    ldap_memfree(dn);
    ldap_controls_free(ctrls);
    conn_ldap_entry_clear(&ent);
    buf_free(&ck);
    return rc;
}

static int sync_intermediate(void *ctx, LDAPMessage *m, err *e)
{
    sync_ctx *s = ctx;
    conn *c = s->c;
    char *oid = NULL;
    struct berval *data = NULL;
    ldap_syncinfo si = {0};
    int rc = 0;
    int lrc = ldap_parse_intermediate(c->ld, m, &oid, &data, NULL, 0);
    if (lrc != LDAP_SUCCESS) {
        rc = conn_ldap_fail(c, lrc, NULL, "reading an intermediate response", e);
        goto done;
    }
    if (!oid || strcmp(oid, LDAP_SYNC_INFO) != 0) goto done; /* not ours: ignore */
    if ((rc = conn_ldap_syncinfo_decode(data, &si, e))) goto done;
    if (si.has_cookie) {
        buf_reset(&s->cookie);
        buf_append(&s->cookie, si.cookie.data, si.cookie.len);
        s->has_cookie = true;
    }
    if (si.kind == SYNCINFO_REFRESH_PRESENT) s->present_phase = true;
    if (si.kind == SYNCINFO_ID_SET) {
        for (size_t i = 0; i < si.nuuids && !rc; i++) {
            char text[37];
            conn_ldap_uuid_text(si.uuids[i], text);
            if (si.refresh_deletes) {
                conn_object o = {.change = CONN_CHANGE_DELETE, .anchor = text, .anchor_len = strlen(text)};
                rc = s->sink->object(s->sink->ctx, &o, e);
            } else {
                rc = present(s, text, e);
            }
            if (!rc) rc = maybe_checkpoint(s, e);
        }
    }
done:
    ldap_memfree(oid);
    ber_bvfree(data);
    conn_ldap_syncinfo_clear(&si);
    return rc;
}

int conn_ldap_sync_delta(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                         const conn_sink *sink, buf *cookie_out, err *e)
{
    size_t pl = strlen(SYNC_COOKIE_PREFIX);
    if (!cookie || cookie_len <= pl || memcmp(cookie, SYNC_COOKIE_PREFIX, pl) != 0 ||
        memchr(cookie, '\0', cookie_len))
        return err_set(e, ERR_CORRUPT, "connector %s: the stored watermark of partition %s is not an RFC 4533 "
                       "sync cookie written by idsync; a full import is required", c->name, partition);
    buf in = BUF_INIT, done_ck = BUF_INIT;
    buf_append(&in, (const char *)cookie + pl, cookie_len - pl);
    sync_ctx s = {.c = c, .sink = sink};
    ldap_search_cb cb = {&s, sync_entry, sync_intermediate};
    bool has_done = false, refresh_deletes = false;
    int rc = sync_search(c, partition, LDAP_SCOPE_SUBTREE, c->filter, conn_ldap_import_attrs(c), &in, &cb, &done_ck,
                         &has_done, &refresh_deletes, e);
    if (rc) goto done;
    if (has_done) {
        buf_reset(&s.cookie);
        buf_append(&s.cookie, done_ck.data, done_ck.len);
        s.has_cookie = true;
    }
    /* RFC 4533 3.3.2: refreshDeletes FALSE in syncDone means the refresh used the present
       phase: every entry not named in this refresh no longer exists (or left the scope). */
    if (!refresh_deletes) s.present_phase = true;
    if (s.present_phase) {
        if (!sink->present || !sink->present_done || s.present_missing) {
            rc = err_set(e, ERR_CORRUPT, "connector %s: %s could not list deletions since the stored cookie "
                         "(present phase) and the caller cannot take a present list; a full import is required",
                         c->name, c->url);
            goto done;
        }
        if ((rc = sink->present_done(sink->ctx, e))) goto done;
    }
    if (sink->progress) sink->progress(sink->ctx, s.done);
    buf_reset(cookie_out);
    buf_puts(cookie_out, SYNC_COOKIE_PREFIX);
    if (s.has_cookie) buf_append(cookie_out, s.cookie.data, s.cookie.len);
    else buf_append(cookie_out, in.data, in.len);
done:
    buf_free(&in);
    buf_free(&done_ck);
    buf_free(&s.cookie);
    return rc;
}
