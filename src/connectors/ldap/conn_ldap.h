/* Public contract of the directory connectors: `ldap` (OpenLDAP and other RFC 4533 servers,
 * anchor entryUUID text) and `ad` (Active Directory / Samba AD, anchor objectGUID bytes).
 * The engine reaches them only through these two operation tables (see connector.h). */
#ifndef IDSYNC_CONNECTORS_LDAP_CONN_LDAP_H
#define IDSYNC_CONNECTORS_LDAP_CONN_LDAP_H
#include "connectors/connector.h"

extern const conn_ops conn_ops_ldap;
extern const conn_ops conn_ops_ad;
#endif
