/* Server-level operations on the sync database that several commands share: initial
 * settings of a new database, ownership lease, staging checks. */
#ifndef IDSYNC_ENGINE_SERVER_H
#define IDSYNC_ENGINE_SERVER_H
#include "store/store.h"
#include <stdbool.h>

#define LEASE_TTL_SECONDS 120   /* a lease without heartbeat for this long is dead (docs/CLI.md) */

/* Writes the settings of a brand-new database (engine version, owner, defaults). */
int engine_db_init_meta(store *s, const char *server_id, err *e);
/* Records this build as the newest writer when it is newer than the recorded one. */
int engine_note_engine_version(store *s, err *e);

/* Lease: take it for server_id (refusing when another server holds a live lease), refresh it,
   release it. A lease is "live" when its heartbeat is younger than LEASE_TTL_SECONDS. */
int engine_lease_acquire(store *s, const char *server_id, err *e);
int engine_lease_heartbeat(store *s, const char *server_id, err *e);
int engine_lease_release(store *s, const char *server_id, err *e);

bool engine_staging_on(store *s);

/* Compares dotted versions "1.2.3": <0, 0, >0. */
int engine_version_cmp(const char *a, const char *b);
#endif
