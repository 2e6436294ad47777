/* Adopting a sync database that an earlier server wrote (`install --use-existing-database`). */
#ifndef IDSYNC_ENGINE_ADOPT_H
#define IDSYNC_ENGINE_ADOPT_H
#include "store/store.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct engine_adopt_report {
    char *previous_owner;        /* server id that owned the database, or NULL */
    int64_t previous_heartbeat;  /* its last heartbeat (0 = none) */
    bool took_over;              /* --take-over overrode a live lease */
    int schema_from, schema_to;  /* migration applied */
    char *written_by;            /* engine_version recorded before adoption */
    bool full_sync_flagged;      /* rules or schema changed between versions */
    bool stale;                  /* last activity older than 21 days: full import flagged */
    int64_t idle_days;
    int connectors, credentials_required;
    char *signin_was;            /* sign-in method before (not carried over) */
    bool phs, writeback;         /* carried over */
} engine_adopt_report;

/* Applies the adoption rules to an opened idsync database for new server server_id: version
   rules, migrations, staleness, ownership (refuses a live owner unless take_over), sign-in
   reset, staging on. Fills rep. Runs in one transaction where the engine allows. */
int engine_adopt(store *s, const char *server_id, bool take_over, engine_adopt_report *rep, err *e);
void engine_adopt_report_clear(engine_adopt_report *rep);
void engine_adopt_report_print(const engine_adopt_report *rep, FILE *f);
void engine_adopt_report_json(const engine_adopt_report *rep, json_t *obj);
#endif
