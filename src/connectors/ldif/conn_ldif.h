/* The ldif connector: imports a content LDIF file (RFC 2849) and exports to an LDIF change file. */
#ifndef IDSYNC_CONNECTORS_LDIF_CONN_LDIF_H
#define IDSYNC_CONNECTORS_LDIF_CONN_LDIF_H
#include "connectors/connector.h"

/* Options (conn_config options):
 *   anchor_attribute  attribute whose value is the anchor (default "entryUUID"); entries without
 *                     it are skipped with a warning.
 *   export_file       where export_batch appends change records (default "<url>.changes.ldif").
 * cfg->url is the path of the content file. Partitions, include_ous and exclude_ous restrict the
 * entries imported by DN suffix (case-insensitive). */
extern const conn_ops conn_ops_ldif;
#endif
