/* New-database settings, ownership lease, staging flag. */
#include "engine/engine.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_uuid.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int engine_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y) return x < y ? -1 : 1;
        if (*a == '.') a++;
        if (*b == '.') b++;
        if (!*a && !*b) break;
        if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9'))) break;
    }
    return 0;
}

int engine_db_init_meta(store *s, const char *server_id, err *e)
{
    char dbid[37], now[32];
    uuid_v4(dbid);
    snprintf(now, sizeof now, "%lld", (long long)store_now());
    const char *kv[][2] = {
        {"engine_version", IDSYNC_VERSION},
        {"created_at", now},
        {"database_id", dbid},
        {"owner_server_id", server_id},
        {"owner_since", now},
        {"owner_heartbeat", "0"},
        {"last_sync_at", "0"},
        {"staging_mode", "0"},
        {"scheduler_interval_minutes", "30"},
        {"scheduler_enabled", "1"},
        {"deletion_threshold", "500"},
        {"signin_method", "none"},
        {"phs_enabled", "0"},
        {"writeback_enabled", "0"},
        {"default_rules_version", IDSYNC_VERSION},
    };
    int rc = store_begin(s, e);
    for (size_t i = 0; rc == 0 && i < sizeof kv / sizeof kv[0]; i++) rc = store_meta_set(s, kv[i][0], kv[i][1], e);
    if (rc) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, e);
}

int engine_note_engine_version(store *s, err *e)
{
    char *v = NULL;
    int rc = store_meta_get(s, "engine_version", &v, e);
    if (rc == 0 && (!v || engine_version_cmp(v, IDSYNC_VERSION) < 0)) rc = store_meta_set(s, "engine_version", IDSYNC_VERSION, e);
    free(v);
    return rc;
}

int engine_lease_acquire(store *s, const char *server_id, err *e)
{
    char *owner = NULL;
    int64_t hb = 0;
    int rc = store_begin(s, e);
    if (rc) return rc;
    rc = store_meta_get(s, "owner_server_id", &owner, e);
    if (rc == 0) rc = store_meta_get_int(s, "owner_heartbeat", 0, &hb, e);
    if (rc) goto done;
    int64_t now = store_now();
    if (owner && strcmp(owner, server_id) != 0 && now - hb < LEASE_TTL_SECONDS) {
        rc = err_set(e, ERR_REFUSED, "the sync database is in use by server %s (heartbeat %llds ago); wait for it "
                     "to finish or stop it", owner, (long long)(now - hb));
        goto done;
    }
    if (owner && strcmp(owner, server_id) != 0) {
        rc = err_set(e, ERR_REFUSED, "the sync database belongs to server %s; adopt it with `idsync install "
                     "--use-existing-database`", owner);
        goto done;
    }
    rc = store_meta_set_int(s, "owner_heartbeat", now, e);
done:
    free(owner);
    if (rc) {
        store_rollback(s);
        return rc;
    }
    return store_commit(s, e);
}

int engine_lease_heartbeat(store *s, const char *server_id, err *e)
{
    char *owner = NULL;
    int rc = store_meta_get(s, "owner_server_id", &owner, e);
    if (rc == 0 && owner && strcmp(owner, server_id) != 0)
        rc = err_set(e, ERR_REFUSED, "server %s has taken over this sync database; this server stops now", owner);
    if (rc == 0) rc = store_meta_set_int(s, "owner_heartbeat", store_now(), e);
    free(owner);
    return rc;
}

int engine_lease_release(store *s, const char *server_id, err *e)
{
    char *owner = NULL;
    int rc = store_meta_get(s, "owner_server_id", &owner, e);
    if (rc == 0 && owner && strcmp(owner, server_id) == 0) rc = store_meta_set_int(s, "owner_heartbeat", 0, e);
    free(owner);
    return rc;
}

bool engine_staging_on(store *s)
{
    int64_t v = 0;
    store_meta_get_int(s, "staging_mode", 0, &v, NULL);
    return v != 0;
}

int engine_commit_next(engine *en, err *e)
{
    if (en->server_id && store_now() - en->lease_at >= LEASE_TTL_SECONDS / 4) {
        int rc = engine_commit(en, e);   /* the heartbeat goes into the transaction it commits */
        return rc ? rc : store_begin(en->st, e);
    }
    return store_commit_begin(en->st, e);
}

int engine_commit(engine *en, err *e)
{
    int64_t now = store_now();
    if (en->server_id && now - en->lease_at >= LEASE_TTL_SECONDS / 4) {
        int rc = engine_lease_heartbeat(en->st, en->server_id, e);
        if (rc) {
            store_rollback(en->st);
            return rc;
        }
        en->lease_at = now;
    }
    return store_commit(en->st, e);
}
