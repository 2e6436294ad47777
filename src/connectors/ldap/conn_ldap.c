/* The `ldap` connector: OpenLDAP and other LDAPv3 directories, entryUUID anchors, paged full
 * imports and RFC 4533 refreshOnly deltas (or a modifyTimestamp watermark without syncprov). */
#include "connectors/ldap/conn_ldap.h"
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

static bool uses_sync(const conn *c)
{
    return c->delta_mode == LDAP_DELTA_SYNC || (c->delta_mode == LDAP_DELTA_AUTO && c->server_has_sync);
}

int conn_ldap_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e)
{
    buf start = BUF_INIT;
    int rc = conn_ldap_scope_resolve(c, partition, e);
    if (rc) goto done;
    /* The watermark is taken BEFORE the objects are read, so changes made during the
       paged search are replayed by the next delta instead of being lost. */
    if (uses_sync(c)) rc = conn_ldap_sync_current_cookie(c, partition, &start, e);
    else rc = conn_ldap_ts_current_cookie(c, &start);
    if (rc) goto done;
    if ((rc = conn_ldap_paged_full(c, partition, sink, e))) goto done;
    buf_reset(cookie_out);
    buf_append(cookie_out, start.data, start.len);
done:
    buf_free(&start);
    return rc;
}

int conn_ldap_delta_import(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                           const conn_sink *sink, buf *cookie_out, err *e)
{
    /* the watermark says which mechanism wrote it; a mismatch with delta_mode means the
       option changed since the last full import */
    if (cookie && cookie_len >= 3 && memcmp(cookie, "ts:", 3) == 0) {
        if (uses_sync(c))
            return err_set(e, ERR_CORRUPT, "connector %s: the stored watermark is a timestamp but the connector now "
                           "uses RFC 4533 sync; a full import is required", c->name);
        return conn_ldap_ts_delta(c, partition, cookie, cookie_len, sink, cookie_out, e);
    }
    if (!uses_sync(c) && cookie && cookie_len >= 5 && memcmp(cookie, "sync:", 5) == 0)
        return err_set(e, ERR_CORRUPT, "connector %s: the stored watermark is an RFC 4533 cookie but the connector "
                       "now uses delta_mode=timestamp; a full import is required", c->name);
    int rc = conn_ldap_scope_resolve(c, partition, e);
    if (rc) return rc;
    return conn_ldap_sync_delta(c, partition, cookie, cookie_len, sink, cookie_out, e);
}

static int ldap_validate(const conn_config *cfg, err *e)
{
    return conn_ldap_validate(cfg, false, e);
}

static int ldap_open(const conn_config *cfg, const char *secret, conn **out, err *e)
{
    int rc = conn_ldap_open(cfg, secret, false, out, e);
    if (!rc && (*out)->delta_mode == LDAP_DELTA_AUTO && !(*out)->server_has_sync)
        (*out)->delta_mode = LDAP_DELTA_TIMESTAMP; /* fixes the attribute list for watermark deltas */
    return rc;
}

const conn_ops conn_ops_ldap = {
    .type = "ldap",
    .description = "LDAPv3 directory such as OpenLDAP (entryUUID anchor, RFC 4533 delta import)",
    .needs_secret = true,
    .secret_optional = conn_ldap_secret_optional,
    .validate = ldap_validate,
    .open = ldap_open,
    .full_import = conn_ldap_full_import,
    .delta_import = conn_ldap_delta_import,
    .export_batch = conn_ldap_export_batch,
    .close = conn_ldap_close,
    .lookup_anchor = conn_ldap_lookup_anchor,
};
