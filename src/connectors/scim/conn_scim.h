/* The SCIM 2.0 connector (RFC 7643/7644 client over libcurl + jansson): public contract.
 * The engine reaches it only through conn_ops_scim (see connectors/connector.h); the
 * mapping between connector space attributes and SCIM JSON is in docs/CONNECTORS-SCIM.md. */
#ifndef IDSYNC_CONNECTORS_SCIM_CONN_SCIM_H
#define IDSYNC_CONNECTORS_SCIM_CONN_SCIM_H
#include "connectors/connector.h"

/* type "scim": users <-> /Users, groups <-> /Groups; anchor = the SCIM id (text). */
extern const conn_ops conn_ops_scim;
#endif
