/* `install --use-existing-database`: the rules of adopting an earlier server's database. */
#include "engine/engine_adopt.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

#define STALE_DAYS 21   /* AD's tombstone lifetime can be as short as 60 days; Entra warns after 21 */

void engine_adopt_report_clear(engine_adopt_report *rep)
{
    free(rep->previous_owner);
    free(rep->written_by);
    free(rep->signin_was);
    memset(rep, 0, sizeof *rep);
}

struct cred_ctx {
    engine_adopt_report *rep;
};

static int count_connector(void *ctx, const store_connector *sc, err *e)
{
    struct cred_ctx *c = ctx;
    c->rep->connectors++;
    if (sc->sealed_secret) c->rep->credentials_required++;
    return 0;
}

int engine_adopt(store *s, const char *server_id, bool take_over, engine_adopt_report *rep, err *e)
{
    int rc;
    char *ev = NULL, *owner = NULL, *rules_ver = NULL;
    int64_t hb = 0, last_sync = 0, created = 0;
    memset(rep, 0, sizeof *rep);
    rc = store_meta_get(s, "engine_version", &ev, e);
    if (rc == 0) rc = store_meta_get(s, "owner_server_id", &owner, e);
    if (rc == 0) rc = store_meta_get_int(s, "owner_heartbeat", 0, &hb, e);
    if (rc == 0) rc = store_meta_get_int(s, "last_sync_at", 0, &last_sync, e);
    if (rc == 0) rc = store_meta_get_int(s, "created_at", 0, &created, e);
    if (rc == 0) rc = store_meta_get(s, "default_rules_version", &rules_ver, e);
    if (rc == 0) rc = store_meta_get(s, "signin_method", &rep->signin_was, e);
    if (rc) goto done;
    rep->written_by = ev ? xstrdup(ev) : NULL;
    rep->previous_owner = owner ? xstrdup(owner) : NULL;
    rep->previous_heartbeat = hb;
    if (ev && engine_version_cmp(ev, IDSYNC_VERSION) > 0) {
        rc = err_set(e, ERR_REFUSED, "the sync database was last written by idsync %s, newer than this idsync %s; "
                     "install idsync %s or newer to adopt it", ev, IDSYNC_VERSION, ev);
        goto done;
    }
    int64_t now = store_now();
    if (owner && hb > 0 && now - hb < LEASE_TTL_SECONDS) {
        if (!take_over) {
            rc = err_set(e, ERR_REFUSED, "the sync database is in use by live server %s (last heartbeat %llds ago); "
                         "stop that server first, or pass --take-over once it is gone (it stops at its next heartbeat)",
                         owner, (long long)(now - hb));
            goto done;
        }
        rep->took_over = true;
    }
    rc = store_migrate(s, &rep->schema_from, &rep->schema_to, e);
    if (rc) goto done;
    rc = store_begin(s, e);
    if (rc) goto done;
    if (rep->schema_from != rep->schema_to || (rules_ver && strcmp(rules_ver, IDSYNC_VERSION) != 0) ||
        (ev && engine_version_cmp(ev, IDSYNC_VERSION) < 0)) {
        rep->full_sync_flagged = true;
        if (rc == 0) rc = store_connector_set_flags_all(s, -1, 1, e);
    }
    /* The last sign of life: the last sync, else the last heartbeat, else creation. */
    int64_t last = last_sync > hb ? last_sync : hb;
    if (!last) last = created;
    rep->idle_days = last ? (now - last) / 86400 : 0;
    if (last && now - last > (int64_t)STALE_DAYS * 86400) {
        rep->stale = true;
        if (rc == 0) rc = store_connector_set_flags_all(s, 1, 1, e);
    }
    char nowtxt[32];
    snprintf(nowtxt, sizeof nowtxt, "%lld", (long long)now);
    if (rc == 0) rc = store_meta_set(s, "owner_server_id", server_id, e);
    if (rc == 0) rc = store_meta_set(s, "owner_since", nowtxt, e);
    if (rc == 0) rc = store_meta_set_int(s, "owner_heartbeat", 0, e);
    if (rc == 0) rc = store_meta_set(s, "staging_mode", "1", e);
    if (rc == 0) rc = store_meta_set(s, "signin_method", "none", e);
    if (rc == 0) rc = store_meta_set(s, "default_rules_version", IDSYNC_VERSION, e);
    if (rc == 0) rc = engine_note_engine_version(s, e);
    int64_t phs = 0, wb = 0;
    if (rc == 0) rc = store_meta_get_int(s, "phs_enabled", 0, &phs, e);
    if (rc == 0) rc = store_meta_get_int(s, "writeback_enabled", 0, &wb, e);
    rep->phs = phs != 0;
    rep->writeback = wb != 0;
    struct cred_ctx cc = {rep};
    if (rc == 0) rc = store_connector_each(s, count_connector, &cc, e);
    if (rc) {
        store_rollback(s);
        goto done;
    }
    rc = store_commit(s, e);
done:
    free(ev);
    free(owner);
    free(rules_ver);
    return rc;
}

void engine_adopt_report_print(const engine_adopt_report *rep, FILE *f)
{
    if (rep->previous_owner)
        fprintf(f, "  adopted from server %s%s\n", rep->previous_owner,
                rep->took_over ? " (its live lease was taken over)" : " (no live lease: presumed gone)");
    if (rep->schema_from != rep->schema_to)
        fprintf(f, "  schema migrated from version %d to %d\n", rep->schema_from, rep->schema_to);
    if (rep->full_sync_flagged)
        fprintf(f, "  written by idsync %s: rules or schema changed, every connector will run a full sync\n",
                rep->written_by ? rep->written_by : "?");
    if (rep->stale)
        fprintf(f, "  warning: no sync activity for %lld days (more than 21): every connector will run a full "
                "import, since its watermarks may point past the directory's tombstone lifetime\n",
                (long long)rep->idle_days);
    fprintf(f, "  recovered: %d connector(s) with partitions, filters, rules, connector spaces, metaverse, "
               "watermarks and history\n", rep->connectors);
    fprintf(f, "  password hash sync: %s, password writeback: %s (carried over)\n", rep->phs ? "enabled" : "disabled",
            rep->writeback ? "enabled" : "disabled");
    fprintf(f, "  sign-in method: not carried over (was %s; now not configured)\n",
            rep->signin_was ? rep->signin_was : "none");
    fprintf(f, "This server starts in STAGING MODE (imports and syncs run, nothing is exported).\nChecklist:\n");
    fprintf(f, "  1. set credentials for %d connector(s): `idsync connector set-credentials NAME --password-file F`\n",
            rep->credentials_required);
    fprintf(f, "  2. set the sign-in method: `idsync signin set phs|pta|federation|none`\n");
    fprintf(f, "  3. run `idsync cycle`, then review `idsync status` and `idsync export-preview`\n");
    fprintf(f, "  4. go active: `idsync staging off`\n");
}

void engine_adopt_report_json(const engine_adopt_report *rep, json_t *o)
{
    json_object_set_new(o, "previous_owner", rep->previous_owner ? json_string(rep->previous_owner) : json_null());
    json_object_set_new(o, "took_over", json_boolean(rep->took_over));
    json_object_set_new(o, "schema_from", json_integer(rep->schema_from));
    json_object_set_new(o, "schema_to", json_integer(rep->schema_to));
    json_object_set_new(o, "full_sync_required", json_boolean(rep->full_sync_flagged));
    json_object_set_new(o, "full_import_required", json_boolean(rep->stale));
    json_object_set_new(o, "idle_days", json_integer(rep->idle_days));
    json_object_set_new(o, "connectors", json_integer(rep->connectors));
    json_object_set_new(o, "credentials_required", json_integer(rep->credentials_required));
    json_object_set_new(o, "staging_mode", json_true());
    json_object_set_new(o, "signin_method", json_string("none"));
}
