/* `idsync run`, `cycle`, `serve`, `history`, `export-preview`. */
#include "cli/cli.h"
#include "engine/engine.h"
#include "engine/engine_server.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void engine_init(cli *c, engine *en)
{
    memset(en, 0, sizeof *en);
    en->st = c->st;
    en->key = c->key;
    en->server_id = c->conf.server_id;
    en->progress = !c->quiet;
    en->quiet = c->quiet;
    en->out = stdout;
    en->stop = &stop_requested;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

int cli_run(cli *c, int argc, char **argv)
{
    bool help = cli_opt_flag(&argc, argv, "--help");   /* before argc is tested: the flag is removed */
    if (help || argc < 1) {
        fputs("usage: idsync run CONNECTOR full-import|delta-import|full-sync|delta-sync|export [--allow-deletes]\n"
              "Runs one run profile on one connector and records it in `idsync history`.\n", help ? stdout : stderr);
        return help ? EXIT_OK : EXIT_USAGE;
    }
    bool allow = cli_opt_flag(&argc, argv, "--allow-deletes");
    if (cli_unknown_option(argc, argv)) return cli_usage("run: unknown option %s", cli_unknown_option(argc, argv));
    engine_profile p;
    if (argc != 2 || engine_profile_parse(argv[1], &p) != 0)
        return cli_usage("usage: idsync run CONNECTOR full-import|delta-import|full-sync|delta-sync|export");
    err e = {0};
    int fd = -1;
    if (cli_open(c, &e) || cli_run_lock(c, &fd, &e)) return cli_fail(&e);
    engine en;
    engine_init(c, &en);
    en.allow_deletes = allow;
    int rc = engine_run(&en, argv[0], p, NULL, &e);
    close(fd);
    if (rc) return cli_fail(&e);
    return EXIT_OK;
}

int cli_cycle(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync cycle [--initial|--delta] [--allow-deletes]\nImports every connector, syncs, then "
             "exports (not in staging mode). Default: delta, or full where a connector is flagged.");
        return EXIT_OK;
    }
    bool initial = cli_opt_flag(&argc, argv, "--initial"), delta = cli_opt_flag(&argc, argv, "--delta");
    bool allow = cli_opt_flag(&argc, argv, "--allow-deletes");
    if (argc) return cli_usage("cycle: unexpected argument %s", argv[0]);
    if (initial && delta) return cli_usage("give --initial or --delta, not both");
    err e = {0};
    int fd = -1;
    if (cli_open(c, &e) || cli_run_lock(c, &fd, &e)) return cli_fail(&e);
    engine en;
    engine_init(c, &en);
    en.allow_deletes = allow;
    int rc = engine_cycle(&en, initial ? CYCLE_INITIAL : delta ? CYCLE_DELTA : CYCLE_AUTO, &e);
    close(fd);
    if (rc) return cli_fail(&e);
    return EXIT_OK;
}

int cli_serve(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync serve [--interval MINUTES] [--once]\nRuns sync cycles on a schedule (default: the "
             "database's scheduler_interval_minutes, 30), keeps the ownership lease alive with a heartbeat, and on "
             "SIGTERM finishes the current batch and exits 0.");
        return EXIT_OK;
    }
    bool bad = false;
    const char *iv = cli_opt_value(&argc, argv, "--interval", &bad);
    bool once = cli_opt_flag(&argc, argv, "--once");
    if (bad || argc) return cli_usage("usage: idsync serve [--interval MINUTES] [--once]");
    err e = {0};
    int fd = -1;
    if (cli_open(c, &e) || cli_run_lock(c, &fd, &e)) return cli_fail(&e);
    engine en;
    engine_init(c, &en);
    en.progress = false;
    int64_t minutes = 30;
    store_meta_get_int(c->st, "scheduler_interval_minutes", 30, &minutes, NULL);
    if (iv) minutes = strtoll(iv, NULL, 10);
    if (minutes < 1) minutes = 1;
    log_set_level(LOG_INFO);
    log_info("serving: a sync cycle every %lld minute(s); SIGTERM stops after the current batch", (long long)minutes);
    int rc = 0;
    while (!stop_requested) {
        rc = engine_cycle(&en, CYCLE_AUTO, &e);
        if (rc == ERR_REFUSED && strstr(e.msg, "taken over")) break;
        if (rc) log_warn("cycle: %s", e.msg);
        if (once) break;
        for (int64_t s = 0; s < minutes * 60 && !stop_requested; s += 10) {
            if (engine_lease_heartbeat(c->st, c->conf.server_id, &e) == ERR_REFUSED) {
                log_error("%s", e.msg);
                stop_requested = 1;
                rc = ERR_REFUSED;
                break;
            }
            for (int k = 0; k < 10 && !stop_requested; k++) sleep(1);
        }
    }
    engine_lease_release(c->st, c->conf.server_id, NULL);
    close(fd);
    log_info("serve stopped");
    if (rc == ERR_REFUSED) return cli_fail(&e);
    return EXIT_OK;
}

struct hist_ctx {
    cli *c;
    json_t *arr;
    bool errors;
};

static int hist_err(void *ctx, const char *dn, const char *kind, const char *msg, err *e)
{
    json_array_append_new(ctx, json_pack("{s:s?, s:s, s:s}", "dn", dn, "kind", kind, "message", msg));
    return 0;
}

static int hist_one(void *ctx, const store_run *r, err *e)
{
    struct hist_ctx *h = ctx;
    json_error_t je;
    json_t *stats = json_loads(r->stats_json ? r->stats_json : "{}", 0, &je);
    char t1[32], t2[32];
    json_t *o = json_pack("{s:I, s:s?, s:s, s:s, s:s, s:s, s:o, s:s?}", "id", (json_int_t)r->id, "connector",
                          r->connector_name, "profile", r->profile, "started_at", cli_time(r->started_at, t1, sizeof t1),
                          "ended_at", cli_time(r->ended_at, t2, sizeof t2), "result", r->result, "counts",
                          stats ? stats : json_object(), "message", r->message);
    if (h->errors) {
        json_t *errs = json_array();
        store_run_errors_each(h->c->st, r->id, 1000, hist_err, errs, e);
        json_object_set_new(o, "errors", errs);
    }
    json_array_append_new(h->arr, o);
    return 0;
}

int cli_history(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync history [--json] [--limit N] [--errors]\nRuns, newest first: connector, profile, start, "
             "end, result, counts; --errors adds each run's per-object errors.");
        return EXIT_OK;
    }
    bool bad = false;
    c->json = cli_opt_flag(&argc, argv, "--json");
    bool errors = cli_opt_flag(&argc, argv, "--errors");
    const char *lim = cli_opt_value(&argc, argv, "--limit", &bad);
    if (bad || argc) return cli_usage("usage: idsync history [--json] [--limit N] [--errors]");
    int limit = lim ? atoi(lim) : 20;
    if (limit <= 0) return cli_usage("--limit needs a positive number");
    err e = {0};
    if (cli_open_nokey(c, &e)) return cli_fail(&e);
    struct hist_ctx h = {c, json_array(), errors};
    if (store_run_each(c->st, limit, hist_one, &h, &e)) {
        json_decref(h.arr);
        return cli_fail(&e);
    }
    if (c->json) {
        cli_print_json(json_pack("{s:o}", "runs", h.arr));
        return EXIT_OK;
    }
    size_t i;
    json_t *r;
    if (!json_array_size(h.arr)) puts("No runs yet. Start with `idsync cycle --initial`.");
    json_array_foreach(h.arr, i, r) {
        char *counts = json_dumps(json_object_get(r, "counts"), JSON_COMPACT | JSON_SORT_KEYS);
        printf("#%-5lld %-20s %-14s %-12s %-22s %s\n", (long long)json_integer_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "started_at")),
               json_string_value(json_object_get(r, "connector")) ? json_string_value(json_object_get(r, "connector")) : "-",
               json_string_value(json_object_get(r, "profile")), json_string_value(json_object_get(r, "result")), counts);
        free(counts);
        const char *msg = json_string_value(json_object_get(r, "message"));
        if (msg) printf("       %s\n", msg);
        size_t k;
        json_t *er;
        json_array_foreach(json_object_get(r, "errors"), k, er)
            printf("       %s %s: %s\n", json_string_value(json_object_get(er, "kind")),
                   json_string_value(json_object_get(er, "dn")) ? json_string_value(json_object_get(er, "dn")) : "-",
                   json_string_value(json_object_get(er, "message")));
    }
    json_decref(h.arr);
    return EXIT_OK;
}

/* ---- export-preview ---- */

json_t *cli_attr_values_json(const attr *a)
{
    json_t *arr = json_array();
    for (size_t k = 0; a && k < a->nvals; k++) {
        if (a->type == AT_BINARY || !utf8_valid(a->vals[k].data, a->vals[k].len)) {
            size_t n = sodium_base64_encoded_len(a->vals[k].len, sodium_base64_VARIANT_ORIGINAL);
            char *b = xmalloc(n);
            sodium_bin2base64(b, n, (const unsigned char *)a->vals[k].data, a->vals[k].len, sodium_base64_VARIANT_ORIGINAL);
            json_array_append_new(arr, json_sprintf("base64:%s", b));
            free(b);
        } else {
            json_array_append_new(arr, json_stringn(a->vals[k].data, a->vals[k].len));
        }
    }
    return arr;
}

static const char *op_name(int op)
{
    return op == CS_EXPORT_ADD ? "add" : op == CS_EXPORT_UPDATE ? "update" : op == CS_EXPORT_DELETE ? "delete" : "none";
}

struct preview_ctx {
    const char *connector;
    json_t *arr;
};

static int preview_one(void *ctx, cs_object *o, err *e)
{
    struct preview_ctx *p = ctx;
    json_t *changes = json_array();
    for (size_t i = 0; o->export_attrs && i < o->export_attrs->n; i++) {
        const attr *a = &o->export_attrs->a[i];
        if (strcmp(a->name, EXPORT_CLEAR_ATTR) == 0) {
            for (size_t k = 0; k < a->nvals; k++)
                json_array_append_new(changes, json_pack("{s:s, s:o, s:[]}", "attribute", a->vals[k].data, "before",
                                      cli_attr_values_json(attrs_get(o->attrs, a->vals[k].data)), "after"));
            continue;
        }
        json_array_append_new(changes, json_pack("{s:s, s:o, s:o}", "attribute", a->name, "before",
                              cli_attr_values_json(o->export_op == CS_EXPORT_ADD ? NULL : attrs_get(o->attrs, a->name)),
                              "after", cli_attr_values_json(a)));
    }
    if (o->export_op == CS_EXPORT_DELETE)
        for (size_t i = 0; i < o->attrs->n; i++)
            json_array_append_new(changes, json_pack("{s:s, s:o, s:[]}", "attribute", o->attrs->a[i].name, "before",
                                  cli_attr_values_json(&o->attrs->a[i]), "after"));
    json_array_append_new(p->arr, json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:I, s:o, s:s?}", "connector",
        p->connector, "operation", op_name(o->export_op), "dn", o->dn, "new_dn", o->export_dn, "object_type",
        o->object_type, "mv_id", (json_int_t)o->mv_id, "changes", changes, "last_error", o->export_error));
    return 0;
}

struct preview_all {
    cli *c;
    const char *only;
    json_t *arr;
};

static int preview_conn(void *ctx, const store_connector *sc, err *e)
{
    struct preview_all *pa = ctx;
    if (pa->only && strcmp(pa->only, sc->name) != 0) return 0;
    struct preview_ctx p = {sc->name, pa->arr};
    return store_cs_each(pa->c->st, sc->id, STORE_CS_EXPORT, 0, preview_one, &p, e);
}

static void csv_field(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static char *join_values(json_t *arr)
{
    buf b = BUF_INIT;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (i) buf_puts(&b, "; ");
        buf_puts(&b, json_string_value(v));
    }
    return buf_steal(&b, NULL);
}

int cli_export_preview(cli *c, int argc, char **argv)
{
    if (cli_opt_flag(&argc, argv, "--help")) {
        puts("usage: idsync export-preview [CONNECTOR] [--json|--csv]\nEvery pending add/update/delete with the "
             "attribute-level before/after: what the next export would send.");
        return EXIT_OK;
    }
    c->json = cli_opt_flag(&argc, argv, "--json");
    bool csv = cli_opt_flag(&argc, argv, "--csv");
    if (cli_unknown_option(argc, argv) || argc > 1) return cli_usage("usage: idsync export-preview [CONNECTOR] [--json|--csv]");
    err e = {0};
    if (cli_open_nokey(c, &e)) return cli_fail(&e);
    struct preview_all pa = {c, argc ? argv[0] : NULL, json_array()};
    if (pa.only) {
        store_connector *sc = NULL;
        if (store_connector_get(c->st, pa.only, &sc, &e)) {
            json_decref(pa.arr);
            return cli_fail(&e);
        }
        store_connector_free(sc);
    }
    if (store_connector_each(c->st, preview_conn, &pa, &e)) {
        json_decref(pa.arr);
        return cli_fail(&e);
    }
    size_t i, k;
    json_t *x, *ch;
    if (c->json) {
        json_t *sum = json_object();
        json_array_foreach(pa.arr, i, x) {
            const char *op = json_string_value(json_object_get(x, "operation"));
            json_object_set_new(sum, op, json_integer(json_integer_value(json_object_get(sum, op)) + 1));
        }
        cli_print_json(json_pack("{s:o, s:o}", "pending_exports", pa.arr, "summary", sum));
        return EXIT_OK;
    }
    if (csv) puts("connector,operation,dn,attribute,before,after");
    json_array_foreach(pa.arr, i, x) {
        const char *conn = json_string_value(json_object_get(x, "connector"));
        const char *op = json_string_value(json_object_get(x, "operation"));
        const char *dn = json_string_value(json_object_get(x, "dn"));
        if (!csv) printf("%s %s %s%s%s\n", conn, op, dn ? dn : "(no DN)", json_object_get(x, "new_dn") ? " -> " : "",
                         json_object_get(x, "new_dn") ? json_string_value(json_object_get(x, "new_dn")) : "");
        json_array_foreach(json_object_get(x, "changes"), k, ch) {
            char *before = join_values(json_object_get(ch, "before")), *after = join_values(json_object_get(ch, "after"));
            if (csv) {
                csv_field(conn), putchar(','), csv_field(op), putchar(','), csv_field(dn), putchar(',');
                csv_field(json_string_value(json_object_get(ch, "attribute"))), putchar(',');
                csv_field(before), putchar(','), csv_field(after), putchar('\n');
            } else {
                printf("    %-22s %s -> %s\n", json_string_value(json_object_get(ch, "attribute")),
                       *before ? before : "(none)", *after ? after : "(none)");
            }
            free(before);
            free(after);
        }
        if (!csv && json_object_get(x, "last_error"))
            printf("    last error: %s\n", json_string_value(json_object_get(x, "last_error")));
    }
    if (!csv) printf("%zu pending export(s)%s\n", json_array_size(pa.arr),
                     json_array_size(pa.arr) ? "" : ": nothing would be sent");
    json_decref(pa.arr);
    return EXIT_OK;
}
