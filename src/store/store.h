/* The sync database, as the engine and CLI see it. Everything above src/store reaches the
 * database only through these functions; they are written once over the driver interface
 * (store_driver.h), so SQLite and PostgreSQL behave the same.
 *
 * Ownership: functions named *_get / *_load return objects the caller frees with the matching
 * *_free; string/blob arguments are borrowed and copied. Writes outside an explicit
 * store_begin/store_commit run in their own transaction. */
#ifndef IDSYNC_STORE_H
#define IDSYNC_STORE_H
#include "store/store_driver.h"
#include "util/util_attrs.h"
#include "util/util_err.h"
#include <stdbool.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 2

typedef struct store store;

/* Opens an existing database. Refuses one that is not an idsync database (ERR_CORRUPT, naming
   it) and one whose schema is newer than this build (ERR_REFUSED, saying which version to
   install). An older schema is not migrated here: see store_migrate. */
int store_open(const char *url, const char *password, store **out, err *e);
/* Creates the schema in an empty database (ERR_EXISTS if it holds tables already). */
int store_create(const char *url, const char *password, store **out, err *e);
/* Applies pending migrations; from and to report the versions. */
int store_migrate(store *s, int *from, int *to, err *e);
void store_close(store *s);          /* accepts NULL; rolls back an open transaction */
const char *store_engine(const store *s);    /* "sqlite" / "postgresql" */
const char *store_location(const store *s);  /* file path or URL as given (may hold no password) */
int store_schema_version(store *s, int *out, err *e);
db *store_db(store *s);              /* the raw connection, for dump/restore only */
const db_driver *store_driver(store *s);

int store_begin(store *s, err *e);
int store_commit(store *s, err *e);
int store_rollback(store *s);
bool store_in_tx(const store *s);

/* meta key/value settings. *out is malloc'd (NULL when absent). */
int store_meta_get(store *s, const char *key, char **out, err *e);
int store_meta_set(store *s, const char *key, const char *value, err *e);  /* value NULL deletes */
/* Integer convenience; *out = def when absent or not a number. */
int store_meta_get_int(store *s, const char *key, int64_t def, int64_t *out, err *e);
int store_meta_set_int(store *s, const char *key, int64_t value, err *e);

/* ---- connectors ---- */
typedef struct store_connector {
    int64_t id;
    char *name, *type, *url, *bind_dn;          /* bind_dn may be NULL */
    char *partitions_json, *include_json, *exclude_json, *options_json;
    void *sealed_secret;                        /* NULL when none stored */
    size_t sealed_len;
    bool full_import_required, full_sync_required;
    int64_t created_at, updated_at;
} store_connector;
void store_connector_free(store_connector *c);
int store_connector_add(store *s, store_connector *c, err *e);     /* sets c->id; ERR_EXISTS on name clash */
int store_connector_get(store *s, const char *name, store_connector **out, err *e);  /* ERR_NOTFOUND */
int store_connector_get_by_id(store *s, int64_t id, store_connector **out, err *e);
/* Calls fn for every connector ordered by name; the connector is borrowed for the call. */
int store_connector_each(store *s, int (*fn)(void *ctx, const store_connector *c, err *e), void *ctx, err *e);
int store_connector_update(store *s, const store_connector *c, err *e);   /* every field by id */
int store_connector_remove(store *s, const char *name, err *e);
int store_connector_set_flags(store *s, int64_t id, int full_import, int full_sync, err *e); /* -1 = keep */
int store_connector_set_flags_all(store *s, int full_import, int full_sync, err *e);

/* ---- watermarks ---- */
int store_watermark_get(store *s, int64_t connector_id, const char *partition, void **cookie, size_t *len, err *e);
int store_watermark_set(store *s, int64_t connector_id, const char *partition, const void *cookie, size_t len, err *e);
int store_watermark_clear(store *s, int64_t connector_id, err *e);

/* ---- sync rules (stored as canonical JSON; the rules module parses them) ---- */
typedef struct store_rule {
    int64_t id;
    char *name, *direction, *connector, *definition, *hash;
    int64_t precedence;
    bool enabled;
} store_rule;
void store_rule_free(store_rule *r);
int store_rule_put(store *s, const store_rule *r, err *e);        /* insert or replace by name */
int store_rule_get(store *s, const char *name, store_rule **out, err *e);
int store_rule_each(store *s, int (*fn)(void *ctx, const store_rule *r, err *e), void *ctx, err *e);
int store_rule_delete(store *s, const char *name, err *e);

/* ---- connector space ---- */
enum {
    CS_F_PENDING_IMPORT = 1 << 0,   /* changed by import since the last sync */
    CS_F_DELETED = 1 << 1,          /* deleted in the directory (or out of scope); removed after sync */
    CS_F_PROVISIONAL = 1 << 2,      /* created by outbound provisioning, not yet in the target */
    CS_F_EXPORTED = 1 << 3,         /* exported, waiting for a confirming import */
};
enum { CS_EXPORT_NONE = 0, CS_EXPORT_ADD = 1, CS_EXPORT_UPDATE = 2, CS_EXPORT_DELETE = 3 };

typedef struct cs_object {
    int64_t id, connector_id, mv_id;     /* mv_id 0 = not joined (disconnector) */
    void *anchor;
    size_t anchor_len;
    char *dn, *object_type;
    attrs *attrs;                        /* never NULL */
    int flags;
    int64_t seen_run;
    int export_op;                       /* CS_EXPORT_* */
    attrs *export_attrs;                 /* desired values of exported attributes; NULL when none */
    char *export_dn;                     /* desired DN, when it differs */
    char *export_error;
    int export_attempts;
    int64_t updated_at;
} cs_object;
void cs_object_free(cs_object *o);
int store_cs_get_by_anchor(store *s, int64_t connector_id, const void *anchor, size_t len, cs_object **out, err *e);
int store_cs_get_by_dn(store *s, int64_t connector_id, const char *dn, cs_object **out, err *e);
int store_cs_get_by_id(store *s, int64_t id, cs_object **out, err *e);
/* Inserts (o->id == 0, sets o->id) or updates every column by id. */
int store_cs_save(store *s, cs_object *o, err *e);
/* Inserts a new object from attrs_encode() bytes (a first full import: nothing to look up or
   merge); every export column starts empty. Fails on an anchor already staged. */
int store_cs_insert_staged(store *s, int64_t connector_id, const void *anchor, size_t anchor_len, const char *dn,
                           const char *object_type, const void *attrs_blob, size_t blob_len, int flags,
                           int64_t seen_run, err *e);
/* *same = an object with this anchor is staged with exactly this DN, type (NULL: any) and
   attrs_encode() bytes, and none of the flags_clear bits set: a full import's fast "unchanged" test. */
int store_cs_staged_same(store *s, int64_t connector_id, const void *anchor, size_t anchor_len, const char *dn,
                         const char *object_type, const void *attrs_blob, size_t blob_len, int flags_clear,
                         bool *same, err *e);
int store_cs_delete(store *s, int64_t id, err *e);
/* Sets the anchor (provisional -> real, after an export add). */
int store_cs_set_anchor(store *s, int64_t id, const void *anchor, size_t len, err *e);
/* Iteration. where: STORE_CS_ALL, _PENDING (flags <> 0), _EXPORT (export_op <> 0), _JOINED_TO (mv_id = arg).
   The object is borrowed for the callback; returning non-zero stops with that code.
   The callback must not write to the store (collect ids and write after, or use a batch). */
enum { STORE_CS_ALL = 0, STORE_CS_PENDING = 1, STORE_CS_EXPORT = 2, STORE_CS_JOINED_TO = 3, STORE_CS_UNSEEN = 4,
       STORE_CS_EXPORT_DELETES = 5, /* store_cs_count only: pending export deletes */
       STORE_CS_WAITING_MV = 6 /* store_cs_ids only: the mv_ids (not ids) of joined objects flagged 1 << 4
                                  (waiting for a referenced object to be exported) */ };
int store_cs_each(store *s, int64_t connector_id, int where, int64_t arg,
                  int (*fn)(void *ctx, cs_object *o, err *e), void *ctx, err *e);
int store_cs_count(store *s, int64_t connector_id, int where, int64_t *out, err *e);
/* Ids only (no row is decoded), ascending, for where = STORE_CS_ALL, _PENDING or _EXPORT of one
   connector. *ids is a new array the caller frees (NULL when *n is 0). */
int store_cs_ids(store *s, int64_t connector_id, int where, int64_t **ids, size_t *n, err *e);
/* Every connector-space object joined to metaverse object mv_id (only connector_id's when it is not
   0), in id order. No callback runs, so the caller may write to the store while holding them. *out
   is a new array of new objects (free each with cs_object_free, then the array with free); *n may
   be 0 (then *out is NULL). */
int store_cs_load_joined(store *s, int64_t mv_id, int64_t connector_id, cs_object ***out, size_t *n, err *e);
/* Sets only the join and the flags of object id (what inbound sync changes), leaving its attributes
   and pending export as stored. */
int store_cs_set_link(store *s, int64_t id, int64_t mv_id, int flags, err *e);
/* Where a reference to mv_id points in one connector: the first object (id order) of connector_id
   joined to mv_id that is neither provisional nor deleted. *anchor and *dn (either may be NULL
   when not wanted; *dn NULL when the object has none) are new copies. ERR_NOTFOUND when none. */
int store_cs_joined_ref(store *s, int64_t mv_id, int64_t connector_id, void **anchor, size_t *anchor_len,
                        char **dn, err *e);
/* Whether connector_id has an object store_cs_joined_ref could return for some MV object (joined,
   neither provisional nor deleted). When it has none, every object of the connector is read:
   callers weigh that against the lookups the answer saves. */
int store_cs_any_ref_target(store *s, int64_t connector_id, bool *out, err *e);
/* Calls fn with the id and DN of every object of connector_id that has a DN, in no particular
   order, reading the DN index only. fn must not use the store (PostgreSQL streams the rows). */
int store_cs_each_dn(store *s, int64_t connector_id, int (*fn)(void *ctx, int64_t id, const char *dn, err *e),
                     void *ctx, err *e);
/* Ids of every joined connector-space object (mv_id set), of every connector, in no particular
   order, reading the join index only. *ids is a new array the caller frees (NULL when *n is 0). */
int store_cs_joined_ids(store *s, int64_t **ids, size_t *n, err *e);
/* The join (mv_id, 0 when none) and flags of connector_id's object with that DN, without decoding
   its attributes. ERR_NOTFOUND when there is none. */
int store_cs_link_by_dn(store *s, int64_t connector_id, const char *dn, int64_t *mv_id, int *flags, err *e);

/* ---- metaverse ---- */
typedef struct mv_object {
    int64_t id;
    char *object_type;
    attrs *attrs;                        /* never NULL */
    attrs *lineage;                      /* per MV attribute name: one value "connector|rule" */
    int64_t updated_at;
} mv_object;
void mv_object_free(mv_object *o);
int store_mv_get(store *s, int64_t id, mv_object **out, err *e);
/* As store_mv_get, but the lineage is not read (*out's lineage is an empty set): for readers
   that use only the type and attributes (outbound flows). */
int store_mv_get_attrs(store *s, int64_t id, mv_object **out, err *e);
int store_mv_save(store *s, mv_object *o, err *e);        /* insert when id == 0 */
/* Deletes MV object id. Its join-index rows are the caller's to remove first (store_mv_index_set
   with no values): the index is keyed by value. */
int store_mv_delete(store *s, int64_t id, err *e);
/* Ids chosen by the caller (a sync planning its projections): *out = the id an insert by
   store_mv_save would take now (largest id + 1); store_mv_insert_as inserts o with its id
   (o->id > 0, not in use); store_mv_ids_chosen must follow a series of such inserts before the
   transaction commits (PostgreSQL's identity counter is moved past them). */
int store_mv_next_id(store *s, int64_t *out, err *e);
/* Asynchronous writes, for a long pass that writes much and reads little: a writer thread executes
   the writes of store_mv_insert_as, store_cs_set_link and store_cs_save's inserts (whose o->id then
   stays 0: the caller must not need it) in order while the caller goes on; any other store call
   first waits for them (so it sees them) and returns the error of a failed one. store_async_end
   waits, stops the thread and returns the first error. The caller's thread is the only one that
   may call the store meanwhile. */
int store_async_begin(store *s, err *e);
int store_async_end(store *s, err *e);
/* Reads objects ids[0..n) into out[0..n) (NULL where an object is gone) on the writer thread,
   after what was queued before; out must stay valid until store_async_read_wait(ticket) returns. */
int store_async_read(store *s, const int64_t *ids, size_t n, cs_object **out, uint64_t *ticket, err *e);
int store_async_read_wait(store *s, uint64_t ticket, err *e);
/* Frees arg with free_fn on the writer thread (at once when writes are synchronous): memory the
   writer allocated, such as objects it read, is best returned by the thread that took it. */
void store_async_release(store *s, void (*free_fn)(void *), void *arg);
/* Commits the open (outermost) transaction and begins the next one; with asynchronous writes the
   writer thread does both after what is queued, and the caller goes on (a failure surfaces as a
   queued write's does). */
int store_commit_begin(store *s, err *e);
/* Waits until every queued write has executed (no-op when writes are synchronous); returns the
   first failed one's error. */
int store_sync(store *s, err *e);
int store_mv_insert_as(store *s, mv_object *o, err *e);
int store_mv_ids_chosen(store *s, err *e);
int store_mv_each(store *s, int (*fn)(void *ctx, mv_object *o, err *e), void *ctx, err *e);
/* Every metaverse object id, ascending. *ids is a new array the caller frees (NULL when *n is 0). */
int store_mv_ids(store *s, int64_t **ids, size_t *n, err *e);
/* The join index is keyed by (attr, index form of the value, mv_id) only (schema version 2): an MV
   object's rows are found from its values, never by its id. Reference values are also indexed under
   STORE_MV_REF_INDEX, as the engine's reverse-reference index. */
#define STORE_MV_REF_INDEX "~ref"
/* Join index: replace the indexed values of one MV object for one attribute: was (NULL: none) are
   the values indexed now (the attribute as the object held it when they were written), values the
   new ones. Only the rows that change are written. */
int store_mv_index_set(store *s, int64_t mv_id, const char *attr_name, const attr *was, const attr *values, err *e);
/* Join index: add the values of an MV object that has no index rows for attr_name yet (one just
   inserted). */
int store_mv_index_add(store *s, int64_t mv_id, const char *attr_name, const attr *values, err *e);
/* Whether the join index holds any value of attr. */
int store_mv_index_any(store *s, const char *attr_name, bool *out, err *e);
/* Ids of MV objects whose indexed attr has value (case-insensitive); up to max ids. */
int store_mv_index_find(store *s, const char *attr_name, const char *value, int64_t *ids, size_t max, size_t *n, err *e);
/* Join index, bulk: inserts rows (borrowed strings; value already in the index's form). Rows given
   sorted by (attr, value, mv_id) across calls append to the index's B-tree instead of seeking a
   random page each. Rows already present are skipped. */
typedef struct store_index_row {
    const char *attr, *value;
    int64_t mv_id;
} store_index_row;
int store_mv_index_bulk(store *s, const store_index_row *rows, size_t n, err *e);
/* Join index, bulk load: opens a transaction (none may be open) for store_mv_index_bulk. On a
   database still at schema version 1 (an index on mv_id and a foreign key), SQLite's foreign-key
   checks are off until store_mv_index_bulk_end and the mv_id index is built again there. */
int store_mv_index_bulk_begin(store *s, err *e);
/* Commits (rc == 0) or rolls back the bulk-load transaction. Returns rc, or the commit's error. */
int store_mv_index_bulk_end(store *s, int rc, err *e);
/* Join index: removes every row of attr_name. */
int store_mv_index_clear(store *s, const char *attr_name, err *e);
/* Linear search over MV objects (no index): ids with attr = value case-insensitively. */
int store_mv_search(store *s, const char *attr_name, const char *value, int64_t *ids, size_t max, size_t *n, err *e);

/* ---- runs and history ---- */
typedef struct store_run {
    int64_t id, connector_id;
    char *connector_name, *profile, *result, *stats_json, *message;
    int64_t started_at, ended_at;
} store_run;
void store_run_free(store_run *r);
int store_run_start(store *s, int64_t connector_id, const char *connector_name, const char *profile,
                    int64_t *run_id, err *e);
int store_run_finish(store *s, int64_t run_id, const char *result, const char *stats_json, const char *message, err *e);
int store_run_error(store *s, int64_t run_id, const char *dn, const void *anchor, size_t anchor_len,
                    const char *kind, const char *message, err *e);
/* Newest first, at most limit runs. */
int store_run_each(store *s, int limit, int (*fn)(void *ctx, const store_run *r, err *e), void *ctx, err *e);
int store_run_errors_each(store *s, int64_t run_id, int limit,
                          int (*fn)(void *ctx, const char *dn, const char *kind, const char *message, err *e),
                          void *ctx, err *e);

/* Row counts per table (for db info, backup verification). names is NULL-terminated. */
extern const char *const store_tables[];
int store_table_count(store *s, const char *table, int64_t *out, err *e);

int64_t store_now(void);   /* seconds since the epoch; IDSYNC_FAKE_NOW overrides (tests) */
#endif
