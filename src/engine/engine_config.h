/* Bridges between stored configuration and the modules that use it: connector rows to
 * connector configurations (with unsealed credentials), stored rules to a rule set. */
#ifndef IDSYNC_ENGINE_CONFIG_H
#define IDSYNC_ENGINE_CONFIG_H
#include "connectors/connector.h"
#include "rules/rule.h"
#include "store/store.h"
#include "vault/vault.h"

/* New conn_config from a stored connector (caller frees with conn_config_free). */
int engine_conn_config(const store_connector *sc, conn_config **out, err *e);
/* Unseals sc's credential. *secret NULL when none is stored. ERR_AUTH (credentials required)
   when it was sealed by another server's key, with the fix in the message. */
int engine_conn_secret(const store_connector *sc, const vault_key *key, const char *server_id,
                       char **secret, err *e);
/* True when the connector type needs a secret and none can be opened with key. */
bool engine_conn_credentials_required(const store_connector *sc, const vault_key *key, const char *server_id);
/* Opens the connector: config + secret + ops->open. */
int engine_conn_open(const store_connector *sc, const vault_key *key, const char *server_id,
                     const conn_ops **ops, conn **out, err *e);

/* Loads every stored rule into a new set (caller frees). */
int engine_rules_load(store *s, rule_set **out, err *e);
/* Stores one rule (canonical JSON and hash). */
int engine_rule_save(store *s, const rule *r, err *e);
/* Sets full_sync_required on every connector (after a rule change). */
int engine_rules_changed(store *s, err *e);
#endif
