/* Registry of connector types, and helpers shared by every connector. */
#include "connectors/connector.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

#include "connectors/ldap/conn_ldap.h"
#include "connectors/ldif/conn_ldif.h"
#include "connectors/scim/conn_scim.h"

static const conn_ops *const all_ops[] = {&conn_ops_ad, &conn_ops_ldap, &conn_ops_scim, &conn_ops_ldif, NULL};

const conn_ops *const *conn_ops_all(void) { return all_ops; }

const conn_ops *conn_ops_find(const char *type)
{
    const conn_ops *const *all = conn_ops_all();
    for (size_t i = 0; all[i]; i++)
        if (strcmp(all[i]->type, type) == 0) return all[i];
    return NULL;
}

const char *conn_config_option(const conn_config *cfg, const char *key, const char *def)
{
    for (size_t i = 0; cfg && i < cfg->noptions; i++)
        if (strcmp(cfg->options[i].key, key) == 0) return cfg->options[i].value;
    return def;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static char **clone_strv(char **v, size_t n)
{
    char **c = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) c[i] = xstrdup(v[i]);
    return c;
}

void conn_config_free(conn_config *cfg)
{
    if (!cfg) return;
    free(cfg->name); free(cfg->type); free(cfg->url); free(cfg->bind_dn);
    free_strv(cfg->partitions, cfg->npartitions);
    free_strv(cfg->include_ous, cfg->ninclude);
    free_strv(cfg->exclude_ous, cfg->nexclude);
    for (size_t i = 0; i < cfg->noptions; i++) {
        free(cfg->options[i].key);
        free(cfg->options[i].value);
    }
    free(cfg->options);
    free(cfg);
}

conn_config *conn_config_clone(const conn_config *cfg)
{
    conn_config *c = xcalloc(1, sizeof *c);
    c->id = cfg->id;
    c->name = xstrdup(cfg->name);
    c->type = xstrdup(cfg->type);
    c->url = xstrdup(cfg->url);
    c->bind_dn = cfg->bind_dn ? xstrdup(cfg->bind_dn) : NULL;
    c->npartitions = cfg->npartitions;
    c->partitions = clone_strv(cfg->partitions, cfg->npartitions);
    c->ninclude = cfg->ninclude;
    c->include_ous = clone_strv(cfg->include_ous, cfg->ninclude);
    c->nexclude = cfg->nexclude;
    c->exclude_ous = clone_strv(cfg->exclude_ous, cfg->nexclude);
    c->noptions = cfg->noptions;
    c->options = xcalloc(cfg->noptions + 1, sizeof(conn_option));
    for (size_t i = 0; i < cfg->noptions; i++) {
        c->options[i].key = xstrdup(cfg->options[i].key);
        c->options[i].value = xstrdup(cfg->options[i].value);
    }
    return c;
}

void conn_export_items_free_output(conn_export_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].message);
        free(items[i].new_anchor);
        items[i].message = NULL;
        items[i].new_anchor = NULL;
        items[i].new_anchor_len = 0;
    }
}
