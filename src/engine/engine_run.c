/* Run profiles and cycles: run records, statistics, ordering of connectors. */
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const profile_names[] = {"full-import", "delta-import", "full-sync", "delta-sync", "export"};

int engine_profile_parse(const char *s, engine_profile *out)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, profile_names[i]) == 0) {
            *out = (engine_profile)i;
            return 0;
        }
    return -1;
}

const char *engine_profile_name(engine_profile p) { return profile_names[p]; }

bool engine_staging_on_for(engine *en) { return engine_staging_on(en->st); }

json_t *engine_stats_json(const engine_stats *s)
{
    json_t *o = json_object();
#define F(name) if (s->name) json_object_set_new(o, #name, json_integer(s->name));
    F(seen) F(adds) F(updates) F(deletes) F(unchanged) F(renames) F(joins) F(projections) F(disconnects)
    F(mv_deletes) F(flows) F(provisions) F(deprovisions) F(export_adds) F(export_updates) F(export_deletes)
    F(exported) F(export_errors) F(adopted) F(retries) F(warnings) F(errors)
#undef F
    return o;
}

static void summary(engine *en, const char *conn, engine_profile p, const engine_stats *s, int rc, const err *e)
{
    if (en->quiet) return;
    FILE *f = en->out ? en->out : stdout;
    fprintf(f, "%-14s %-12s ", conn, engine_profile_name(p));
    switch (p) {
    case PROFILE_FULL_IMPORT:
    case PROFILE_DELTA_IMPORT:
        fprintf(f, "seen %lld: %lld added, %lld updated, %lld deleted, %lld unchanged", s->seen, s->adds, s->updates,
                s->deletes, s->unchanged);
        break;
    case PROFILE_FULL_SYNC:
    case PROFILE_DELTA_SYNC:
        fprintf(f, "%lld objects: %lld projected, %lld joined, %lld disconnected, %lld provisioned, %lld deprovisioned, "
                "%lld updates pending", s->seen, s->projections, s->joins, s->disconnects, s->provisions,
                s->deprovisions, s->export_updates);
        break;
    case PROFILE_EXPORT:
        fprintf(f, "%lld exported: %lld added (%lld adopted), %lld updated, %lld deleted; %lld errors, %lld retry later",
                s->exported, s->export_adds, s->adopted, s->export_updates, s->export_deletes, s->export_errors, s->retries);
        break;
    }
    if (s->warnings) fprintf(f, "; %lld warnings", s->warnings);
    if (s->errors && p != PROFILE_EXPORT) fprintf(f, "; %lld errors", s->errors);
    if (rc && rc != ERR_PARTIAL) fprintf(f, "\n  failed: %s", e->msg);
    fputc('\n', f);
}

static int run_on(engine *en, const store_connector *sc, engine_profile p, engine_stats *out, err *e)
{
    engine_stats st = {0};
    int64_t run_id = 0;
    int rc = store_run_start(en->st, sc->id, sc->name, engine_profile_name(p), &run_id, e);
    if (rc) return rc;
    char ctx[160];
    snprintf(ctx, sizeof ctx, "connector=%s run=%lld", sc->name, (long long)run_id);
    log_set_context(ctx);
    switch (p) {
    case PROFILE_FULL_IMPORT: rc = engine_import(en, sc, true, run_id, &st, e); break;
    case PROFILE_DELTA_IMPORT: rc = engine_import(en, sc, false, run_id, &st, e); break;
    case PROFILE_FULL_SYNC: rc = engine_sync(en, sc, true, run_id, &st, e); break;
    case PROFILE_DELTA_SYNC: rc = engine_sync(en, sc, false, run_id, &st, e); break;
    case PROFILE_EXPORT:
        rc = engine_export(en, sc, run_id, &st, e);
        if (rc == 0) {
            /* References to objects this export just created can now be resolved. */
            engine_stats st2 = {0};
            rc = engine_sync_pending_references(en, run_id, &st2, e);
            if (rc == 0 && st2.export_updates) rc = engine_export(en, sc, run_id, &st, e);
        }
        break;
    }
    log_set_context(NULL);
    if (rc == 0 && st.errors) rc = err_set(e, ERR_PARTIAL, "%lld object(s) had errors; see `idsync history --errors`", st.errors);
    const char *result = rc == 0 ? "success" : rc == ERR_PARTIAL ? "completed-with-errors"
                       : rc == ERR_REFUSED ? "refused" : "failed";
    json_t *j = engine_stats_json(&st);
    char *stats = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    err fe = {0};
    store_run_finish(en->st, run_id, result, stats, rc && rc != ERR_PARTIAL ? e->msg : NULL, &fe);
    free(stats);
    summary(en, sc->name, p, &st, rc, e);
    if (out) *out = st;
    return rc;
}

int engine_run(engine *en, const char *connector, engine_profile p, engine_stats *out, err *e)
{
    store_connector *sc = NULL;
    int rc = store_connector_get(en->st, connector, &sc, e);
    if (rc) return rc;
    rc = engine_lease_acquire(en->st, en->server_id, e);
    if (rc == 0) {
        rc = run_on(en, sc, p, out, e);
        engine_lease_release(en->st, en->server_id, NULL);
    }
    if (rc == 0 && (p == PROFILE_DELTA_SYNC || p == PROFILE_FULL_SYNC))
        store_meta_set_int(en->st, "last_sync_at", store_now(), NULL);
    store_connector_free(sc);
    return rc;
}

static int rank(const store_connector *c)
{
    /* Sources first, the cloud last: a target's sync then sees the metaverse of this cycle. */
    return strcmp(c->type, "scim") == 0 ? 1 : 0;
}

struct names_ctx {
    char **names;
    size_t n;
};

static int collect_names(void *ctx, const store_connector *sc, err *e)
{
    struct names_ctx *l = ctx;
    l->names = xrealloc(l->names, (l->n + 1) * sizeof(char *));
    l->names[l->n++] = xstrdup(sc->name);
    return 0;
}

int engine_cycle(engine *en, cycle_mode mode, err *e)
{
    struct names_ctx names = {0};
    store_connector **conns = NULL;
    size_t n = 0;
    int failures = 0, partial = 0, rc;
    rc = engine_lease_acquire(en->st, en->server_id, e);
    if (rc) return rc;
    rc = store_connector_each(en->st, collect_names, &names, e);
    if (rc) goto done;
    conns = xcalloc(names.n + 1, sizeof *conns);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < names.n; i++) {
            store_connector *sc = NULL;
            if (store_connector_get(en->st, names.names[i], &sc, e) != 0) continue;
            if (rank(sc) != pass) {
                store_connector_free(sc);
                continue;
            }
            if (engine_conn_credentials_required(sc, en->key, en->server_id)) {
                fprintf(stderr, "idsync: warning: skipping connector '%s': it needs credentials; run `idsync connector "
                        "set-credentials %s --password-file F` (or --token-file F)\n", sc->name, sc->name);
                store_connector_free(sc);
                continue;
            }
            conns[n++] = sc;
        }
    if (!n) {
        rc = err_set(e, ERR_USAGE, "no connector can run; add one with `idsync connector add` or set credentials");
        goto done;
    }
    bool staging = engine_staging_on(en->st);
    bool *imported = xcalloc(n, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        bool full = mode == CYCLE_INITIAL || conns[i]->full_import_required;
        err re = {0};
        int r = run_on(en, conns[i], full ? PROFILE_FULL_IMPORT : PROFILE_DELTA_IMPORT, NULL, &re);
        imported[i] = r == 0 || r == ERR_PARTIAL;
        if (r == ERR_PARTIAL) partial++;
        else if (r) failures++;
        engine_lease_heartbeat(en->st, en->server_id, NULL);
        if (en->stop && *en->stop) break;
    }
    for (size_t i = 0; i < n && !(en->stop && *en->stop); i++) {
        if (!imported[i]) continue;   /* never sync over a failed import's half-staged state */
        store_connector *fresh = NULL;
        store_connector_get(en->st, conns[i]->name, &fresh, NULL);
        bool full = mode == CYCLE_INITIAL || (fresh && fresh->full_sync_required);
        store_connector_free(fresh);
        err re = {0};
        int r = run_on(en, conns[i], full ? PROFILE_FULL_SYNC : PROFILE_DELTA_SYNC, NULL, &re);
        if (r == ERR_PARTIAL) partial++;
        else if (r) failures++;
        engine_lease_heartbeat(en->st, en->server_id, NULL);
    }
    free(imported);
    store_meta_set_int(en->st, "last_sync_at", store_now(), NULL);
    if (staging) {
        if (!en->quiet)
            fprintf(en->out ? en->out : stdout, "staging mode: exports skipped; review with `idsync export-preview`\n");
    } else {
        for (size_t i = 0; i < n && !(en->stop && *en->stop); i++) {
            int64_t pending = 0;
            store_cs_count(en->st, conns[i]->id, STORE_CS_EXPORT, &pending, NULL);
            if (!pending) continue;
            err re = {0};
            int r = run_on(en, conns[i], PROFILE_EXPORT, NULL, &re);
            if (r == ERR_PARTIAL) partial++;
            else if (r) failures++;
            engine_lease_heartbeat(en->st, en->server_id, NULL);
        }
    }
    /* Exit codes (docs/CLI.md): a failed run fails the cycle (1); per-object errors alone give 3. */
    if (failures)
        rc = err_set(e, ERR_FAIL, "%d run(s) of this cycle failed%s; see `idsync history`", failures,
                     partial ? " and others had per-object errors" : "");
    else if (partial)
        rc = err_set(e, ERR_PARTIAL, "%d run(s) of this cycle completed with per-object errors; see "
                     "`idsync history --errors`", partial);
    else
        rc = 0;
done:
    engine_lease_release(en->st, en->server_id, NULL);
    for (size_t i = 0; i < n; i++) store_connector_free(conns[i]);
    free(conns);
    for (size_t i = 0; i < names.n; i++) free(names.names[i]);
    free(names.names);
    return rc;
}
