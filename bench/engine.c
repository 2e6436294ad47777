/* Sync engine benchmark: N synthetic AD-like objects written straight into the connector space of an
 * "ad" connector (default AD rules) with a "scim" target (default SCIM rules; no server needed: sync
 * only computes pending exports); times a full sync, then a delta sync after changing N/100 users,
 * and reports peak RSS.  usage: engine [N] [--keep] [--resync] [--full-only] [--phases]   (N default 100000; --keep leaves the
 * database; --resync then deletes N/1000 users as an import would and times a second full sync, with
 * every object already joined; --full-only stops after the full sync, for profiling it;
 * --phases prints the engine's phase timings: its debug log; IDSYNC_BENCH_URL (and IDSYNC_BENCH_PASSWORD)
 * names another, empty database, e.g. PostgreSQL) */
#include "engine/engine.h"
#include "engine/engine_config.h"
#include "engine/engine_server.h"
#include "engine/engine_sync_int.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <malloc.h>
#include <time.h>

#define SERVER_ID "be0cbe0c-0000-4000-8000-00000000e001"
#define BASE "DC=bench,DC=test"
#define LOAD_BATCH 10000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;   /* Linux: KiB */
}

static long cur_rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * 4 / 1024;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void guid(int64_t k, unsigned char out[16])
{
    uint64_t a = (uint64_t)k * 0x9e3779b97f4a7c15ULL + 0x1234567, b = a ^ 0xa5a5a5a5deadbeefULL;
    a ^= a >> 29;
    b *= 0xbf58476d1ce4e5b9ULL;
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
}

static void die(const char *what, const err *e)
{
    fprintf(stderr, "engine bench: %s: %s\n", what, e->msg);
    exit(1);
}

/* Object k of the directory: every tenth is a group, the rest users (user number u). */
static bool is_group(int64_t k) { return k % 10 == 9; }
static int64_t user_no(int64_t k) { return k - k / 10; }
static int64_t user_k(int64_t u) { return u + u / 9; }   /* inverse of user_no for users */

static char *user_dn(int64_t u) { return xasprintf("CN=User %lld,OU=Users," BASE, (long long)u); }

static void user_attrs(attrs *a, int64_t u, int64_t nusers, const unsigned char g[16], const char *title)
{
    attr *x = attrs_put(a, "objectGUID", AT_BINARY);
    attr_add(x, g, 16);
    char *s = xasprintf("user%lld", (long long)u);
    attrs_set_str(a, "sAMAccountName", s);
    free(s);
    s = xasprintf("user%lld@bench.test", (long long)u);
    attrs_set_str(a, "userPrincipalName", s);
    attrs_set_str(a, "mail", s);
    free(s);
    s = xasprintf("User %lld", (long long)u);
    attrs_set_str(a, "cn", s);
    free(s);
    s = xasprintf("Given%lld", (long long)u);
    attrs_set_str(a, "givenName", s);
    free(s);
    s = xasprintf("Surname%lld", (long long)(u % 5000));
    attrs_set_str(a, "sn", s);
    free(s);
    s = xasprintf("Given%lld Surname%lld", (long long)u, (long long)(u % 5000));
    attrs_set_str(a, "displayName", s);
    free(s);
    attrs_set_str(a, "title", title);
    s = xasprintf("Department %lld", (long long)(u % 40));
    attrs_set_str(a, "department", s);
    free(s);
    x = attrs_put(a, "userAccountControl", AT_INTEGER);
    attr_add_str(x, u % 50 == 0 ? "514" : "512");
    x = attrs_put(a, "objectClass", AT_STRING);
    attr_add_str(x, "top");
    attr_add_str(x, "person");
    attr_add_str(x, "organizationalPerson");
    attr_add_str(x, "user");
    if (u > 0 && nusers > 1) {   /* a manager (a reference, sometimes to an object later in the directory) */
        char *m = user_dn((u * 7 + 3) % nusers);
        x = attrs_put(a, "manager", AT_REFERENCE);
        attr_add_str(x, m);
        free(m);
    }
}

static void group_attrs(attrs *a, int64_t gno, int64_t nusers, const unsigned char g[16])
{
    attr *x = attrs_put(a, "objectGUID", AT_BINARY);
    attr_add(x, g, 16);
    char *s = xasprintf("group%lld", (long long)gno);
    attrs_set_str(a, "sAMAccountName", s);
    free(s);
    s = xasprintf("Group %lld", (long long)gno);
    attrs_set_str(a, "cn", s);
    attrs_set_str(a, "displayName", s);
    free(s);
    x = attrs_put(a, "groupType", AT_INTEGER);
    attr_add_str(x, "-2147483646");
    x = attrs_put(a, "objectClass", AT_STRING);
    attr_add_str(x, "top");
    attr_add_str(x, "group");
    int nm = 10 + (int)(rnd() % 21);   /* 10..30 members, 20 on average */
    x = attrs_put(a, "member", AT_REFERENCE);
    for (int i = 0; i < nm && nusers > 0; i++) {
        char *m = user_dn((int64_t)(rnd() % (uint64_t)nusers));
        attr_add_unique(x, m, strlen(m));
        free(m);
    }
}

static int64_t add_connector(store *st, const char *name, const char *type, const char *url, const char *parts)
{
    store_connector sc = {.name = (char *)name, .type = (char *)type, .url = (char *)url, .partitions_json = (char *)parts,
                          .include_json = "[]", .exclude_json = "[]", .options_json = "{}",
                          .full_import_required = true, .full_sync_required = true};
    err e = {0};
    if (store_connector_add(st, &sc, &e)) die("adding a connector", &e);
    return sc.id;
}

static void print_stats(const char *what, double secs, const engine_stats *s)
{
    printf("%-12s %8.2f s  seen %lld, projected %lld, joined %lld, provisioned %lld, updates pending %lld, "
           "flows %lld, errors %lld\n", what, secs, s->seen, s->projections, s->joins, s->provisions,
           s->export_updates, s->flows, s->errors);
}

int main(int argc, char **argv)
{
    int64_t n = 100000;
    bool keep = false, resync = false, full_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0) keep = true;
        else if (strcmp(argv[i], "--resync") == 0) resync = true;
        else if (strcmp(argv[i], "--full-only") == 0) full_only = true;
        else if (strcmp(argv[i], "--phases") == 0) log_set_level(LOG_DEBUG);
        else if (atoll(argv[i]) > 0) n = atoll(argv[i]);
        else {
            fprintf(stderr, "usage: engine [N] [--keep] [--resync] [--full-only] [--phases]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/idsync-bench-engine.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* IDSYNC_BENCH_URL: another database (an empty PostgreSQL one; password in IDSYNC_BENCH_PASSWORD) */
    const char *other = getenv("IDSYNC_BENCH_URL");
    char *url = other ? xstrdup(other) : xasprintf("sqlite:%s/sync.db", dir);
    err e = {0};
    store *st = NULL;
    if (store_create(url, getenv("IDSYNC_BENCH_PASSWORD"), &st, &e)) die("creating the database", &e);
    if (engine_db_init_meta(st, SERVER_ID, &e)) die("initialising the database", &e);
    int64_t ad = add_connector(st, "ad", "ad", "ldap://127.0.0.1:1", "[\"" BASE "\"]");
    add_connector(st, "scim", "scim", "https://127.0.0.1:1/scim/v2", "[]");
    rule_set *rules = rule_set_new();
    if (rule_set_defaults_for(rules, "ad", "ad", &e) || rule_set_defaults_for(rules, "scim", "scim", &e))
        die("default rules", &e);
    for (size_t i = 0; i < rules->n; i++)
        if (engine_rule_save(st, rules->rules[i], &e)) die("saving a rule", &e);
    rule_set_free(rules);

    /* ---- load: what a full import would have staged ---- */
    int64_t nusers = 0, ngroups = 0;
    for (int64_t k = 0; k < n; k++) is_group(k) ? ngroups++ : nusers++;
    double t0 = now_s();
    if (store_begin(st, &e)) die("begin", &e);
    long long members = 0;
    for (int64_t k = 0; k < n; k++) {
        cs_object o = {.connector_id = ad, .flags = CS_F_PENDING_IMPORT};
        unsigned char g[16];
        guid(k, g);
        o.anchor = g;
        o.anchor_len = 16;
        o.attrs = attrs_new();
        if (is_group(k)) {
            o.object_type = "group";
            o.dn = xasprintf("CN=Group %lld,OU=Groups," BASE, (long long)(k / 10));
            group_attrs(o.attrs, k / 10, nusers, g);
            members += (long long)attrs_get(o.attrs, "member")->nvals;
        } else {
            o.object_type = "user";
            o.dn = user_dn(user_no(k));
            user_attrs(o.attrs, user_no(k), nusers, g, "Engineer");
        }
        if (store_cs_save(st, &o, &e)) die("staging an object", &e);
        free(o.dn);
        attrs_free(o.attrs);
        if ((k + 1) % LOAD_BATCH == 0 && (store_commit(st, &e) || store_begin(st, &e))) die("commit", &e);
    }
    if (store_commit(st, &e)) die("commit", &e);
    double t1 = now_s();
    printf("engine benchmark: %lld objects (%lld users, %lld groups, %.1f members per group), database %s\n",
           (long long)n, (long long)nusers, (long long)ngroups, ngroups ? (double)members / (double)ngroups : 0.0, dir);
    printf("%-12s %8.2f s  (staged straight into the connector space, like a first full import)\n", "load", t1 - t0);
    long rss_before = cur_rss_mib();

    engine en = {.st = st, .server_id = SERVER_ID, .quiet = true};
    engine_stats s = {0};
    double t2 = now_s();
    int rc = engine_run(&en, "ad", PROFILE_FULL_SYNC, &s, &e);
    double t3 = now_s();
    if (rc && rc != ERR_PARTIAL) die("full sync", &e);
    print_stats("full sync", t3 - t2, &s);
    struct mallinfo2 mi = mallinfo2();
    printf("%-12s %8.0f objects/s; RSS now %ld MiB, peak %ld MiB (heap %zu MiB, in use %zu MiB)\n", "",
           (double)n / (t3 - t2), cur_rss_mib(), peak_rss_mib(), (mi.arena + mi.hblkhd) >> 20, mi.uordblks >> 20);
    int64_t pending = 0;
    int64_t scim_id = 0;
    store_connector *sc = NULL;
    if (store_connector_get(st, "scim", &sc, &e)) die("scim connector", &e);
    scim_id = sc->id;
    store_connector_free(sc);
    store_cs_count(st, scim_id, STORE_CS_EXPORT, &pending, &e);
    printf("%-12s %lld pending exports on scim\n", "", (long long)pending);
    if (full_only) goto finish;

    /* ---- what an export of the adds leaves behind (no SCIM server): anchors assigned, values applied;
       then the engine resolves the references that waited for those anchors, as an export run does ---- */
    double te0 = now_s();
    idset ids = {0};
    if (store_cs_ids(st, scim_id, STORE_CS_EXPORT, &ids.v, &ids.n, &e)) die("pending exports", &e);
    if (store_begin(st, &e)) die("begin", &e);
    for (size_t i = 0; i < ids.n; i++) {
        cs_object *o = NULL;
        if (store_cs_get_by_id(st, ids.v[i], &o, &e)) die("pending export", &e);
        char *anchor = xasprintf("scim-%08lld", (long long)o->id);
        free(o->anchor);
        o->anchor = anchor;
        o->anchor_len = strlen(anchor);
        attrs_free(o->attrs);
        o->attrs = o->export_attrs ? o->export_attrs : attrs_new();
        o->export_attrs = NULL;
        o->export_op = CS_EXPORT_NONE;
        o->flags &= ~CS_F_PROVISIONAL;
        if (store_cs_save(st, o, &e)) die("applying an export", &e);
        cs_object_free(o);
        if ((i + 1) % LOAD_BATCH == 0 && (store_commit(st, &e) || store_begin(st, &e))) die("commit", &e);
    }
    if (store_commit(st, &e)) die("commit", &e);
    free(ids.v);
    double te1 = now_s();
    printf("%-12s %8.2f s  (simulated export of the adds: anchors and values applied)\n", "apply adds", te1 - te0);
    memset(&s, 0, sizeof s);
    if (engine_sync_pending_references(&en, 0, &s, &e)) die("reference resolution", &e);
    double te2 = now_s();
    store_cs_count(st, scim_id, STORE_CS_EXPORT, &pending, &e);
    printf("%-12s %8.2f s  (references waiting for exported objects: %lld updates pending)\n", "resolve refs",
           te2 - te1, (long long)pending);

    /* ---- delta: N/100 users change (what a delta import would stage) ---- */
    int64_t nchange = n / 100 ? n / 100 : 1;
    if (nchange > nusers) nchange = nusers;
    double t4 = now_s();
    if (store_begin(st, &e)) die("begin", &e);
    for (int64_t i = 0; i < nchange; i++) {
        int64_t u = (i * (nusers / nchange)) % nusers;
        unsigned char g[16];
        guid(user_k(u), g);
        cs_object *o = NULL;
        if (store_cs_get_by_anchor(st, ad, g, 16, &o, &e)) die("changed user", &e);
        attrs_set_str(o->attrs, "title", "Senior Engineer");
        o->flags |= CS_F_PENDING_IMPORT;
        if (store_cs_save(st, o, &e)) die("staging a change", &e);
        cs_object_free(o);
    }
    if (store_commit(st, &e)) die("commit", &e);
    double t5 = now_s();
    printf("%-12s %8.2f s  (%lld users changed: title)\n", "stage delta", t5 - t4, (long long)nchange);
    memset(&s, 0, sizeof s);
    double t6 = now_s();
    rc = engine_run(&en, "ad", PROFILE_DELTA_SYNC, &s, &e);
    double t7 = now_s();
    if (rc && rc != ERR_PARTIAL) die("delta sync", &e);
    print_stats("delta sync", t7 - t6, &s);
    if (resync) {
        int64_t ndel = n / 1000 ? n / 1000 : 1;
        if (ndel > nusers) ndel = nusers;
        if (store_begin(st, &e)) die("begin", &e);
        for (int64_t i = 0; i < ndel; i++) {
            unsigned char g[16];
            guid(user_k((i * (nusers / ndel) + 1) % nusers), g);
            cs_object *o = NULL;
            if (store_cs_get_by_anchor(st, ad, g, 16, &o, &e)) die("deleted user", &e);
            o->flags |= CS_F_DELETED | CS_F_PENDING_IMPORT;
            if (store_cs_save(st, o, &e)) die("staging a deletion", &e);
            cs_object_free(o);
        }
        if (store_commit(st, &e)) die("commit", &e);
        memset(&s, 0, sizeof s);
        double t8 = now_s();
        rc = engine_run(&en, "ad", PROFILE_FULL_SYNC, &s, &e);
        double t9 = now_s();
        if (rc && rc != ERR_PARTIAL) die("second full sync", &e);
        print_stats("full resync", t9 - t8, &s);
        printf("%-12s %lld users deleted first; %lld deprovisioned, %lld MV objects deleted\n", "",
               (long long)ndel, s.deprovisions, s.mv_deletes);
    }
finish:;
    int64_t dbsize = 0;
    store_driver(st)->size_bytes(store_db(st), &dbsize, &e);
    printf("peak RSS %ld MiB (%ld MiB after loading); database %.0f MB\n", peak_rss_mib(), rss_before,
           (double)dbsize / 1e6);
    store_close(st);
    free(url);
    if (!keep) {
        char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
        free(cmd);
    }
    return 0;
}
