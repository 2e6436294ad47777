/* Run profiles and sync cycles: the engine moves objects directory -> connector space ->
 * metaverse -> connector space -> directory. Every run is recorded in the store's history.
 *
 * Ownership: the engine borrows the store, the key and the server id from its caller for
 * the duration of each call. */
#ifndef IDSYNC_ENGINE_H
#define IDSYNC_ENGINE_H
#include "rules/rule.h"
#include "store/store.h"
#include "vault/vault.h"
#include <stdbool.h>
#include <stdio.h>

typedef struct engine {
    store *st;
    const vault_key *key;
    const char *server_id;
    bool progress;          /* progress lines on stderr (only when it is a terminal) */
    bool quiet;             /* no summary lines */
    FILE *out;              /* where run summaries go (stdout by default) */
    volatile int *stop;     /* set non-zero (SIGTERM) to finish the current batch and stop */
    bool allow_deletes;     /* export even when pending deletes exceed the deletion threshold */
    int64_t lease_at;       /* when this process last wrote its lease heartbeat (engine_commit) */
} engine;

/* Counters of one run (also stored as JSON in history). */
typedef struct engine_stats {
    long long seen, adds, updates, deletes, unchanged, renames;           /* import / export */
    long long joins, projections, disconnects, mv_deletes, flows;         /* inbound sync */
    long long provisions, deprovisions, export_adds, export_updates, export_deletes; /* outbound */
    long long exported, export_errors, adopted, retries;                  /* export */
    long long warnings, errors;
} engine_stats;

typedef enum engine_profile {
    PROFILE_FULL_IMPORT, PROFILE_DELTA_IMPORT, PROFILE_FULL_SYNC, PROFILE_DELTA_SYNC, PROFILE_EXPORT,
} engine_profile;

int engine_profile_parse(const char *s, engine_profile *out);
const char *engine_profile_name(engine_profile p);

/* Runs one profile on the named connector; the run is recorded in history (result success,
   completed-with-errors, failed, refused). Returns 0, ERR_PARTIAL when some objects had errors,
   or the error of the run. st (may be NULL) receives the counters. */
int engine_run(engine *en, const char *connector, engine_profile p, engine_stats *st, err *e);

typedef enum cycle_mode { CYCLE_AUTO, CYCLE_INITIAL, CYCLE_DELTA } cycle_mode;
/* A sync cycle over every connector: imports, syncs, then exports (skipped in staging mode).
   Connectors needing credentials are skipped with a warning naming the fix. */
int engine_cycle(engine *en, cycle_mode mode, err *e);

/* Stats as a JSON object (new reference). */
struct json_t;
struct json_t *engine_stats_json(const engine_stats *st);

bool engine_staging_on_for(engine *en);

/* Connector-space state and pending-export encoding beyond store.h, shown by the CLI. */
#define CS_F_UNRESOLVED (1 << 4)   /* target object waits for a referenced object to be exported */
#define EXPORT_CLEAR_ATTR "__clear" /* in export_attrs: names of attributes to remove in the target */

/* Internals shared by the engine's files. */
int engine_import(engine *en, const store_connector *sc, bool full, int64_t run_id, engine_stats *st, err *e);
/* Commits the open transaction of a long step (import page, sync or export batch). Every
   LEASE_TTL_SECONDS/4 it first refreshes this server's lease heartbeat in that transaction, so a
   step longer than the lease's lifetime keeps the database owned; ERR_REFUSED (nothing
   committed) when another server has taken the database over meanwhile. */
int engine_commit(engine *en, err *e);
/* engine_commit, then a new transaction; with the store's asynchronous writes on and no heartbeat
   due, the store's writer thread does both while the caller goes on (store_commit_begin). */
int engine_commit_next(engine *en, err *e);
int engine_sync(engine *en, const store_connector *sc, bool full, int64_t run_id, engine_stats *st, err *e);
int engine_export(engine *en, const store_connector *sc, int64_t run_id, engine_stats *st, err *e);
/* Re-evaluates outbound rules for metaverse objects whose target objects wait for a reference
   (after exports assigned anchors). */
int engine_sync_pending_references(engine *en, int64_t run_id, engine_stats *st, err *e);
#endif
