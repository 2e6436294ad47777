/* `ldap` delta import without RFC 4533: a modifyTimestamp watermark (delta_mode=timestamp).
 * It sees adds and modifications only; deletions need a full import (documented). */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TS_PREFIX "ts:"

static void format_ts(time_t t, char out[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%SZ", &tm);
}

int conn_ldap_ts_current_cookie(conn *c, buf *cookie_out)
{
    /* The directory's clock is not readable over LDAP on every server, so the watermark is
       this host's clock minus timestamp_margin (clock skew allowance): changes in the margin
       are read twice, which is harmless. */
    char ts[16];
    format_ts(time(NULL) - c->ts_margin_s, ts);
    buf_reset(cookie_out);
    buf_puts(cookie_out, TS_PREFIX);
    buf_puts(cookie_out, ts);
    return 0;
}

static bool valid_ts(const char *p, size_t len)
{
    if (len != 15 || p[14] != 'Z') return false;
    for (size_t i = 0; i < 14; i++)
        if (!isdigit((unsigned char)p[i])) return false;
    return true;
}

typedef struct ts_ctx {
    conn *c;
    const conn_sink *sink;
    const char *since;
    size_t done;
} ts_ctx;

static int ts_entry(void *ctx, LDAPMessage *m, err *e)
{
    ts_ctx *t = ctx;
    ldap_entry ent = {0};
    int rc = conn_ldap_entry_read(t->c, m, false, t->sink, &ent, e);
    if (!rc) {
        const char *created = attrs_get_str(ent.a, "createTimestamp");
        bool is_new = created && strncmp(created, t->since, 14) >= 0;
        rc = conn_ldap_report_full(t->c, t->sink, is_new ? CONN_CHANGE_ADD : CONN_CHANGE_MODIFY, &ent, e);
    }
    conn_ldap_entry_clear(&ent);
    t->done++;
    return rc;
}

static int ts_page_done(void *ctx, err *e)
{
    ts_ctx *t = ctx;
    if (t->sink->progress) t->sink->progress(t->sink->ctx, t->done);
    return t->sink->checkpoint ? t->sink->checkpoint(t->sink->ctx, NULL, 0, e) : 0;
}

int conn_ldap_ts_delta(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                       const conn_sink *sink, buf *cookie_out, err *e)
{
    size_t pl = strlen(TS_PREFIX);
    if (!cookie || cookie_len != pl + 15 || memcmp(cookie, TS_PREFIX, pl) != 0 ||
        !valid_ts((const char *)cookie + pl, 15))
        return err_set(e, ERR_CORRUPT, "connector %s: the stored watermark of partition %s is not a modifyTimestamp "
                       "watermark written by idsync; a full import is required", c->name, partition);
    char since[16];
    memcpy(since, (const char *)cookie + pl, 15);
    since[15] = '\0';
    buf next = BUF_INIT;
    conn_ldap_ts_current_cookie(c, &next); /* taken before reading: covers changes made meanwhile */
    char *filter = xasprintf("(&%s(modifyTimestamp>=%s))", c->filter, since);
    ts_ctx t = {c, sink, since, 0};
    ldap_search_cb cb = {&t, ts_entry, NULL};
    const char **bases = NULL;
    int rc = conn_ldap_scope_resolve(c, partition, e);
    if (!rc) bases = conn_ldap_scope_bases(&c->scope, partition);
    for (size_t i = 0; !rc && bases[i]; i++)
        rc = conn_ldap_search_paged(c, bases[i], LDAP_SCOPE_SUBTREE, filter, conn_ldap_import_attrs(c), &cb,
                                    ts_page_done, e);
    if (!rc) {
        buf_reset(cookie_out);
        buf_append(cookie_out, next.data, next.len);
    }
    free(bases);
    free(filter);
    buf_free(&next);
    return rc;
}
