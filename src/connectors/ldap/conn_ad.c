/* The `ad` connector: Active Directory (and Samba AD) with objectGUID anchors, paged full
 * imports that hand over a DirSync cookie, DirSync deltas (conn_ad_dirsync.c). */
#include "connectors/ldap/conn_ldap.h"
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

int conn_ad_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e)
{
    buf start = BUF_INIT;
    int rc = conn_ldap_scope_resolve(c, partition, e);
    if (rc) goto done;
    /* The cookie is taken BEFORE the objects are read: every change made while the
       paged search runs is then replayed by the next delta (replays are harmless, the
       engine compares with the staged object), and nothing can fall between the two.
       Running the full import through DirSync itself would also give a cookie, but
       DirSync cannot be scoped to OUs, returns no ranged values and cannot be paged by
       the client, so a paged search plus a cookie-only DirSync request is both correct
       and fast (the cookie request returns no objects). */
    if ((rc = conn_ad_dirsync_current_cookie(c, partition, &start, e))) goto done;
    if ((rc = conn_ldap_paged_full(c, partition, sink, e))) goto done;
    buf_reset(cookie_out);
    buf_append(cookie_out, start.data ? start.data : "", start.len);
done:
    buf_free(&start);
    return rc;
}

static int ad_validate(const conn_config *cfg, err *e)
{
    return conn_ldap_validate(cfg, true, e);
}

static int ad_open(const conn_config *cfg, const char *secret, conn **out, err *e)
{
    return conn_ldap_open(cfg, secret, true, out, e);
}

const conn_ops conn_ops_ad = {
    .type = "ad",
    .description = "Active Directory (objectGUID anchor, DirSync delta import)",
    .needs_secret = true,
    .secret_optional = conn_ldap_secret_optional,
    .validate = ad_validate,
    .open = ad_open,
    .full_import = conn_ad_full_import,
    .delta_import = conn_ad_delta_import,
    .export_batch = conn_ldap_export_batch,
    .close = conn_ldap_close,
    .lookup_anchor = conn_ldap_lookup_anchor,
};
