/* The connector interface: how the engine talks to one directory. A connector type
 * (ad, ldap, scim, ldif) is one table of functions (conn_ops); the engine never
 * includes a connector's own headers.
 *
 * Streaming contract: imports hand objects to the engine one at a time through a
 * conn_sink and never hold a whole directory in memory. After every page the connector
 * calls sink->checkpoint with a cookie that would let a later delta import resume
 * after that page (or NULL/0 when the protocol has no resumable cookie mid-run);
 * the engine commits the staged page together with that cookie in one transaction.
 * The final cookie of a run is returned through cookie_out. */
#ifndef IDSYNC_CONNECTORS_CONNECTOR_H
#define IDSYNC_CONNECTORS_CONNECTOR_H
#include "util/util_attrs.h"
#include "util/util_buf.h"
#include "util/util_err.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct conn_option {
    char *key;    /* owned */
    char *value;  /* owned */
} conn_option;

/* Configuration of one connector as stored in the sync database. All strings owned. */
typedef struct conn_config {
    long long id;           /* database id; part of the sealing associated data */
    char *name;             /* administrator's name, unique */
    char *type;             /* "ad", "ldap", "scim", "ldif" */
    char *url;              /* ldap://host:port, ldaps://..., https://host/scim/v2, file path for ldif */
    char *bind_dn;          /* may be NULL */
    size_t npartitions;
    char **partitions;      /* base DNs / naming contexts (ldap, ad); empty for scim */
    size_t ninclude, nexclude;
    char **include_ous;     /* OU filter: DNs in scope (empty = whole partition) */
    char **exclude_ous;     /* OU filter: DNs out of scope */
    size_t noptions;
    conn_option *options;   /* connector-specific key=value settings */
} conn_config;

/* Returns the option's value (borrowed) or def. */
const char *conn_config_option(const conn_config *cfg, const char *key, const char *def);
void conn_config_free(conn_config *cfg);      /* frees members and cfg; accepts NULL */
conn_config *conn_config_clone(const conn_config *cfg);

typedef enum conn_change {
    CONN_CHANGE_ADD = 1,     /* (full import: every object is reported as ADD) */
    CONN_CHANGE_MODIFY = 2,  /* delta: object changed; see attrs_are_delta */
    CONN_CHANGE_DELETE = 3,  /* delta: object deleted (tombstone, syncIdSet, ...); attrs may be NULL */
} conn_change;

/* One object as read from the directory. Everything is borrowed for the duration of
 * the sink call only; the engine copies what it keeps. */
typedef struct conn_object {
    conn_change change;
    const char *dn;              /* current DN (or SCIM resource location/id); NULL for some deletes */
    const void *anchor;          /* immutable id: objectGUID bytes, entryUUID text, SCIM id */
    size_t anchor_len;
    const char *object_type;     /* connector-neutral class: "user", "group", "contact", "inetOrgPerson",
                                    "groupOfNames", "organizationalUnit", ... (most specific structural class);
                                    NULL on a delta MODIFY with attrs_are_delta (the staged type stays) */
    const attrs *attrs;          /* may be NULL for a delete */
    bool attrs_are_delta;        /* true: only changed attributes are present (DirSync); attributes not in
                                    attrs keep their staged values. false: attrs is the whole object. */
    const attrs *removed_values; /* with attrs_are_delta: values removed from multi-valued attributes
                                    (DirSync incremental member removal); may be NULL */
    const attrs *added_values;   /* with attrs_are_delta: values added to multi-valued attributes
                                    (incremental); applied after removed_values; may be NULL */
} conn_object;

/* Where an import sends objects. Any callback returning non-zero aborts the import;
 * the connector then returns that code with e already filled by the engine. */
typedef struct conn_sink {
    void *ctx;
    int (*object)(void *ctx, const conn_object *obj, err *e);
    /* Called after each page; cookie may be NULL (no resumable position). */
    int (*checkpoint)(void *ctx, const void *cookie, size_t cookie_len, err *e);
    /* Per-object problem that does not stop the import (invalid UTF-8 kept as binary, value
       truncated, entry without anchor skipped...): the engine records it in run history. */
    void (*warning)(void *ctx, const char *dn, const char *message);
    /* Optional progress report (objects seen so far in this run); may be NULL. */
    void (*progress)(void *ctx, size_t objects_done);
    /* Optional, delta imports only (RFC 4533 present phase): the directory could not
       list deletions, so it names every object that still exists instead. present() is
       called for each such anchor (and for every object reported through object() in
       the same run); present_done() then says the list is complete: the engine deletes
       every staged object of the partition that was not named. Without present_done()
       the present() calls mean nothing and must be discarded. When these are NULL and
       the directory answers with a present phase, the delta import fails with
       ERR_CORRUPT (a full import is required). */
    int (*present)(void *ctx, const void *anchor, size_t anchor_len, err *e);
    int (*present_done)(void *ctx, err *e);
} conn_sink;

typedef enum conn_export_op {
    CONN_EXPORT_ADD = 1,
    CONN_EXPORT_UPDATE = 2,
    CONN_EXPORT_DELETE = 3,
    CONN_EXPORT_RENAME = 4,   /* new_dn set; may come with attribute changes */
} conn_export_op;

typedef enum conn_mod_op {
    CONN_MOD_REPLACE = 1,     /* values replace the attribute (empty values = remove attribute) */
    CONN_MOD_ADD = 2,         /* add these values (multi-valued, e.g. one group member) */
    CONN_MOD_DELETE = 3,      /* delete these values (empty values = remove attribute) */
} conn_mod_op;

typedef struct conn_mod {
    conn_mod_op op;
    attr attr;                /* name, type and values (borrowed from the engine) */
} conn_mod;

typedef enum conn_export_status {
    CONN_EXPORT_OK = 0,
    CONN_EXPORT_ERROR = 1,    /* per-object failure (409, 400, constraint violation): recorded, retried next cycle */
    CONN_EXPORT_RETRY = 2,    /* transient and not yet sent successfully; the engine keeps it pending */
} conn_export_status;

/* One pending export handed to the connector. Input fields are borrowed from the engine;
 * output fields are filled by the connector (strings malloc'd, freed by the engine). */
typedef struct conn_export_item {
    /* input */
    conn_export_op op;
    const char *object_type;  /* target object type ("user", "group", "inetOrgPerson", ...) */
    const char *dn;           /* current DN (add: the DN to create) */
    const char *new_dn;       /* RENAME only */
    const void *anchor;       /* target anchor if known (update/delete/rename); NULL for add */
    size_t anchor_len;
    const attrs *full;        /* ADD: every attribute of the new object; else the desired full state (may be NULL) */
    size_t nmods;
    const conn_mod *mods;     /* UPDATE/RENAME: only the changes */
    /* output */
    conn_export_status status;
    char *message;            /* malloc'd, on error: what went wrong for this object */
    void *new_anchor;         /* malloc'd, ADD: the anchor the target assigned (objectGUID, SCIM id) */
    size_t new_anchor_len;
    bool adopted;             /* ADD: an existing target object was adopted (soft match) instead of created */
} conn_export_item;

typedef struct conn conn;     /* a connector instance; opaque to the engine */

typedef struct conn_ops {
    const char *type;         /* "ad", "ldap", "scim", "ldif" */
    const char *description;
    bool needs_secret;        /* true if open() needs a password/token */
    /* Optional: true when this configuration brings its own credentials although the type
       usually needs a secret (an LDAP SASL EXTERNAL or GSSAPI bind). */
    bool (*secret_optional)(const conn_config *cfg);

    /* Validates cfg (url form, required options) without connecting; used by `connector add`. */
    int (*validate)(const conn_config *cfg, err *e);
    /* Connects and authenticates. secret is the unsealed password/token (NULL if none); the
       connector must not keep it longer than needed and never log it. Errors: ERR_AUTH for
       rejected credentials, ERR_RETRY for an unreachable server, with a message naming URL and fix. */
    int (*open)(const conn_config *cfg, const char *secret, conn **out, err *e);
    /* Reads every object of partition and returns the cookie a later delta_import starts from
       (covering every change made after this full import began). */
    int (*full_import)(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e);
    /* Reads changes since cookie. ERR_CORRUPT with a message means the directory rejected the
       cookie: the engine flags full_import_required. NULL when the type has no delta import. */
    int (*delta_import)(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                        const conn_sink *sink, buf *cookie_out, err *e);
    /* Sends items; fills each item's output fields. Returns 0 when every item got a status
       (per-object errors included), non-zero only when the whole batch cannot proceed (e.g.
       ERR_AUTH on a 401): items without a status are then left pending. NULL if read-only. */
    int (*export_batch)(conn *c, conn_export_item *items, size_t n, err *e);
    void (*close)(conn *c);   /* accepts NULL */
    /* Optional (NULL if unsupported): reads the anchor (objectGUID bytes, entryUUID text)
       of the object at dn into anchor_out (reset first). ERR_NOTFOUND if dn does not exist.
       Used by the CLI to turn an OU's DN into a rename-proof <GUID=...> filter entry. */
    int (*lookup_anchor)(conn *c, const char *dn, buf *anchor_out, err *e);
} conn_ops;

/* Registry (conn_registry.c): the ops for a type name, or NULL. */
const conn_ops *conn_ops_find(const char *type);
/* NULL-terminated list of all registered types. */
const conn_ops *const *conn_ops_all(void);

/* Frees the connector-filled output fields of items (message, new_anchor). */
void conn_export_items_free_output(conn_export_item *items, size_t n);
#endif
