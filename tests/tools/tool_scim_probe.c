/* Developer/test tool: drives the SCIM connector directly (no engine, no database): exports
 * batches of users/groups from a JSON spec or generated users, and runs a full import.
 *
 * usage: tool_scim_probe --url URL --token-file F [--opt key=value]... [--spec FILE]
 *                        [--gen-users N [--gen-prefix P] [--gen-start K]] [--batch N] [--import] [--quiet]
 * spec: {"batches": [[ item, ... ], ...]} with items
 *   {"op":"add","type":"user","ref":"alice","attrs":{"userName":"alice","active":true,"manager":"@bob"}}
 *   {"op":"update","type":"group","anchor":"@admins","mods":[{"op":"add","attr":"members","values":["@alice"]}]}
 *   {"op":"delete","type":"user","anchor":"@alice"}
 * "@name" stands for the anchor an earlier add with "ref":"name" got. JSON booleans become AT_BOOLEAN,
 * manager/members AT_REFERENCE, arrays several values.
 * Output: one ITEM line per export item, REF lines, an EXPORT summary, IMPORT lines and summary.
 * Exit: 0 all OK, 1 some item not OK, 2 usage, 3 a batch or the import failed as a whole. */
#include "connectors/scim/conn_scim.h"
#include "util/util_alloc.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct ref { char *name, *anchor; } ref;
static ref *refs;
static size_t nrefs;
static bool quiet;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *ref_find(const char *name)
{
    for (size_t i = 0; i < nrefs; i++)
        if (!strcmp(refs[i].name, name))
            return refs[i].anchor;
    return NULL;
}

static void ref_set(const char *name, const char *anchor)
{
    for (size_t i = 0; i < nrefs; i++)
        if (!strcmp(refs[i].name, name)) {
            free(refs[i].anchor);
            refs[i].anchor = xstrdup(anchor);
            return;
        }
    refs = xrealloc(refs, (nrefs + 1) * sizeof *refs);
    refs[nrefs].name = xstrdup(name);
    refs[nrefs].anchor = xstrdup(anchor);
    nrefs++;
}

/* "@name" -> the anchor of that ref; other strings unchanged. NULL if the ref is unknown. */
static const char *resolve(const char *v)
{
    if (v[0] != '@')
        return v;
    const char *a = ref_find(v + 1);
    if (!a)
        fprintf(stderr, "tool_scim_probe: unknown reference %s (no earlier add with that ref)\n", v);
    return a;
}

static attr_type type_for(const char *name, const json_t *v)
{
    if (json_is_boolean(v))
        return AT_BOOLEAN;
    if (!strcasecmp(name, "manager") || !strcasecmp(name, "members"))
        return AT_REFERENCE;
    if (!strcasecmp(name, "active"))
        return AT_BOOLEAN;
    return AT_STRING;
}

static int add_value(attr *a, const json_t *v)
{
    if (json_is_boolean(v)) {
        attr_add_str(a, json_is_true(v) ? "TRUE" : "FALSE");
        return 0;
    }
    if (json_is_integer(v)) {
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)json_integer_value(v));
        attr_add_str(a, t);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = resolve(json_string_value(v));
    if (!s)
        return -1;
    attr_add_str(a, s);
    return 0;
}

static int fill_attr(attrs *s, const char *name, const json_t *v)
{
    const json_t *first = json_is_array(v) ? json_array_get(v, 0) : v;
    attr *a = attrs_put(s, name, type_for(name, first));
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) if (add_value(a, x) != 0) return -1;
        return 0;
    }
    if (json_is_null(v))
        return 0;
    return add_value(a, v);
}

typedef struct item_src {
    attrs *full;     /* owned */
    attrs **sets;    /* owned: one attribute set per mod (the mods point into them) */
    size_t nsets;
    conn_mod *mods;  /* owned array */
    char *ref;       /* owned, may be NULL */
    char *anchor;    /* owned, may be NULL */
} item_src;

static const char *op_name(conn_export_op op)
{
    return op == CONN_EXPORT_ADD ? "add" : op == CONN_EXPORT_UPDATE ? "update" : op == CONN_EXPORT_DELETE ? "delete" : "rename";
}

typedef struct totals { size_t ok, error, retry, adopted, items; double secs; } totals;

/* Runs one batch and prints the outcome of every item. Returns export_batch's code. */
static int run_batch(conn *c, conn_export_item *items, item_src *src, size_t n, const char *bname, totals *t)
{
    err e = {0};
    double t0 = now_s();
    int rc = conn_ops_scim.export_batch(c, items, n, &e);
    t->secs += now_s() - t0;
    t->items += n;
    if (rc)
        printf("BATCH %s FAILED rc=%d: %s\n", bname, rc, e.msg);
    for (size_t i = 0; i < n; i++) {
        conn_export_item *it = &items[i];
        const char *st = it->status == CONN_EXPORT_OK ? "OK" : it->status == CONN_EXPORT_ERROR ? "ERROR" : "RETRY";
        if (it->status == CONN_EXPORT_OK)
            t->ok++;
        else if (it->status == CONN_EXPORT_ERROR)
            t->error++;
        else
            t->retry++;
        if (it->adopted)
            t->adopted++;
        if (it->status == CONN_EXPORT_OK && it->new_anchor && src && src[i].ref)
            ref_set(src[i].ref, it->new_anchor);
        if (!quiet || it->status != CONN_EXPORT_OK)
            printf("ITEM %s.%zu %s %s -> %s%s%.*s%s%s%s\n", bname, i, op_name(it->op), it->object_type, st,
                   it->new_anchor ? " anchor=" : "", it->new_anchor ? (int)it->new_anchor_len : 0,
                   it->new_anchor ? (const char *)it->new_anchor : "", it->adopted ? " adopted" : "",
                   it->message ? ": " : "", it->message ? it->message : "");
        if (src && src[i].ref && it->new_anchor && !quiet)
            printf("REF %s=%.*s\n", src[i].ref, (int)it->new_anchor_len, (const char *)it->new_anchor);
    }
    for (size_t i = 0; i < n; i++) {
        FREE_AND_NULL(items[i].message);
        FREE_AND_NULL(items[i].new_anchor);
        items[i].new_anchor_len = 0;
    }
    return rc;
}

static int parse_item(const json_t *j, conn_export_item *it, item_src *src)
{
    const char *op = json_string_value(json_object_get(j, "op"));
    const char *type = json_string_value(json_object_get(j, "type"));
    if (!op || !type) {
        fprintf(stderr, "tool_scim_probe: every item needs \"op\" and \"type\"\n");
        return -1;
    }
    it->object_type = type;
    it->op = !strcmp(op, "add") ? CONN_EXPORT_ADD : !strcmp(op, "update") ? CONN_EXPORT_UPDATE
           : !strcmp(op, "delete") ? CONN_EXPORT_DELETE : 0;
    if (!it->op) {
        fprintf(stderr, "tool_scim_probe: unknown op %s\n", op);
        return -1;
    }
    const char *ref = json_string_value(json_object_get(j, "ref"));
    src->ref = ref ? xstrdup(ref) : NULL;
    const char *anchor = json_string_value(json_object_get(j, "anchor"));
    if (anchor) {
        const char *a = resolve(anchor);
        if (!a)
            return -1;
        src->anchor = xstrdup(a);
        it->anchor = src->anchor;
        it->anchor_len = strlen(src->anchor);
    }
    it->dn = json_string_value(json_object_get(j, "dn"));
    const json_t *at = json_object_get(j, "attrs");
    if (at) {
        src->full = attrs_new();
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)at, k, v) if (fill_attr(src->full, k, v) != 0) return -1;
        it->full = src->full;
    }
    const json_t *mods = json_object_get(j, "mods");
    if (json_is_array(mods)) {
        size_t n = json_array_size(mods), i;
        const json_t *m;
        src->mods = xcalloc(n + 1, sizeof *src->mods);
        src->sets = xcalloc(n + 1, sizeof *src->sets);
        json_array_foreach(mods, i, m) {
            const char *mo = json_string_value(json_object_get(m, "op"));
            const char *name = json_string_value(json_object_get(m, "attr"));
            if (!mo || !name)
                return -1;
            attrs *set = src->sets[src->nsets++] = attrs_new();
            const json_t *vals = json_object_get(m, "values");
            if (fill_attr(set, name, vals ? vals : json_null()) != 0)
                return -1;
            src->mods[i].op = !strcmp(mo, "add") ? CONN_MOD_ADD : !strcmp(mo, "delete") ? CONN_MOD_DELETE : CONN_MOD_REPLACE;
            src->mods[i].attr = *attrs_get(set, name);
        }
        it->mods = src->mods;
        it->nmods = n;
    }
    return 0;
}

static void free_src(item_src *s)
{
    attrs_free(s->full);
    for (size_t q = 0; q < s->nsets; q++)
        attrs_free(s->sets[q]);
    free(s->sets);
    free(s->mods);
    free(s->ref);
    free(s->anchor);
    memset(s, 0, sizeof *s);
}

static int run_spec(conn *c, const char *path, totals *t)
{
    json_error_t je;
    json_t *spec = json_load_file(path, 0, &je);
    int worst = 0;
    if (!spec) {
        fprintf(stderr, "tool_scim_probe: %s: %s (line %d)\n", path, je.text, je.line);
        return 2;
    }
    const json_t *batches = json_object_get(spec, "batches");
    size_t b;
    const json_t *batch;
    json_array_foreach(batches, b, batch) {
        size_t n = json_array_size(batch);
        conn_export_item *items = xcalloc(n + 1, sizeof *items);
        item_src *src = xcalloc(n + 1, sizeof *src);
        char bname[32];
        snprintf(bname, sizeof bname, "%zu", b);
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++)
            ok = parse_item(json_array_get(batch, i), &items[i], &src[i]) == 0;
        if (!ok) {
            worst = 2;
        } else {
            int rc = run_batch(c, items, src, n, bname, t);
            if (rc)
                worst = 3;
        }
        for (size_t i = 0; i < n; i++)
            free_src(&src[i]);
        free(items);
        free(src);
        if (worst >= 2)
            break;
    }
    json_decref(spec);
    return worst;
}

static int run_generated(conn *c, long count, long start, const char *prefix, long batch, totals *t)
{
    int worst = 0;
    for (long b0 = 0; b0 < count; b0 += batch) {
        long n = count - b0 < batch ? count - b0 : batch;
        conn_export_item *items = xcalloc((size_t)n, sizeof *items);
        attrs **full = xcalloc((size_t)n, sizeof *full);
        for (long i = 0; i < n; i++) {
            long k = start + b0 + i;
            char v[256];
            attrs *a = full[i] = attrs_new();
            snprintf(v, sizeof v, "%s%06ld", prefix, k);
            attrs_set_str(a, "userName", v);
            snprintf(v, sizeof v, "%s-ext-%06ld", prefix, k);
            attrs_set_str(a, "externalId", v);
            snprintf(v, sizeof v, "User %s %06ld", prefix, k);
            attrs_set_str(a, "displayName", v);
            attrs_set_str(a, "name.givenName", "User");
            snprintf(v, sizeof v, "%s%06ld", prefix, k);
            attrs_set_str(a, "name.familyName", v);
            snprintf(v, sizeof v, "%s%06ld@example.test", prefix, k);
            attrs_set_str(a, "emails.work", v);
            attrs_set_str(a, "department", "Load");
            attr_add_str(attrs_put(a, "active", AT_BOOLEAN), "TRUE");
            items[i].op = CONN_EXPORT_ADD;
            items[i].object_type = "user";
            items[i].full = a;
        }
        char bname[32];
        snprintf(bname, sizeof bname, "g%ld", b0 / batch);
        int rc = run_batch(c, items, NULL, (size_t)n, bname, t);
        for (long i = 0; i < n; i++)
            attrs_free(full[i]);
        free(full);
        free(items);
        if (rc) {
            worst = 3;
            break;
        }
    }
    return worst;
}

typedef struct imp { size_t users, groups, pages; } imp;

static int imp_object(void *ctx, const conn_object *o, err *e)
{
    imp *s = ctx;
    (void)e;
    if (!strcmp(o->object_type, "user"))
        s->users++;
    else
        s->groups++;
    if (quiet)
        return 0;
    printf("IMPORT %s %.*s", o->object_type, (int)o->anchor_len, (const char *)o->anchor);
    for (size_t i = 0; o->attrs && i < o->attrs->n; i++) {
        const attr *a = &o->attrs->a[i];
        printf(" %s=", a->name);
        for (size_t j = 0; j < a->nvals; j++)
            printf("%s%s", j ? "|" : "", a->vals[j].data);
    }
    printf("\n");
    return 0;
}

static int imp_checkpoint(void *ctx, const void *cookie, size_t len, err *e)
{
    imp *s = ctx;
    (void)cookie;
    (void)len;
    (void)e;
    s->pages++;
    return 0;
}

static void imp_warning(void *ctx, const char *dn, const char *msg)
{
    (void)ctx;
    printf("WARNING %s: %s\n", dn, msg);
}

static char *read_secret(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char tmp[4096];
    size_t n = fread(tmp, 1, sizeof tmp - 1, f);
    fclose(f);
    tmp[n] = '\0';
    while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
        tmp[--n] = '\0';
    char *s = xstrdup(tmp);
    xwipe(tmp, sizeof tmp);
    return s;
}

int main(int argc, char **argv)
{
    conn_config cfg = {0};
    const char *spec = NULL, *token_file = NULL, *prefix = "load";
    long gen = 0, gen_start = 0, batch = 500;
    bool do_import = false;
    cfg.name = "probe";
    cfg.type = "scim";
    cfg.options = xcalloc((size_t)argc + 1, sizeof *cfg.options);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--url") && v) cfg.url = argv[++i];
        else if (!strcmp(a, "--token-file") && v) token_file = argv[++i];
        else if (!strcmp(a, "--spec") && v) spec = argv[++i];
        else if (!strcmp(a, "--gen-users") && v) gen = atol(argv[++i]);
        else if (!strcmp(a, "--gen-start") && v) gen_start = atol(argv[++i]);
        else if (!strcmp(a, "--gen-prefix") && v) prefix = argv[++i];
        else if (!strcmp(a, "--batch") && v) batch = atol(argv[++i]);
        else if (!strcmp(a, "--import")) do_import = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--opt") && v && strchr(v, '=')) {
            char *eq = strchr(argv[++i], '=');
            cfg.options[cfg.noptions].key = xstrndup(argv[i], (size_t)(eq - argv[i]));
            cfg.options[cfg.noptions].value = xstrdup(eq + 1);
            cfg.noptions++;
        } else {
            fprintf(stderr, "usage: tool_scim_probe --url URL --token-file F [--opt k=v]... [--spec FILE] "
                            "[--gen-users N [--gen-prefix P] [--gen-start K]] [--batch N] [--import] [--quiet]\n");
            return 2;
        }
    }
    if (!cfg.url || !token_file || batch < 1) {
        fprintf(stderr, "tool_scim_probe: --url and --token-file are required (see --help)\n");
        return 2;
    }
    char *secret = read_secret(token_file);
    if (!secret) {
        fprintf(stderr, "tool_scim_probe: cannot read %s\n", token_file);
        return 2;
    }
    conn *c = NULL;
    err e = {0};
    int rc = conn_ops_scim.open(&cfg, secret, &c, &e);
    xfree_secret(secret);
    int status = 0;
    if (rc) {
        printf("OPEN FAILED rc=%d: %s\n", rc, e.msg);
        status = 3;
        goto done;
    }
    totals t = {0};
    if (spec)
        status = run_spec(c, spec, &t);
    if (!status && gen > 0)
        status = run_generated(c, gen, gen_start, prefix, batch, &t);
    if (spec || gen > 0) {
        printf("EXPORT items=%zu ok=%zu error=%zu retry=%zu adopted=%zu seconds=%.3f rate=%.0f/s\n", t.items, t.ok,
               t.error, t.retry, t.adopted, t.secs, t.secs > 0 ? (double)t.items / t.secs : 0.0);
        if (!status && (t.error || t.retry))
            status = 1;
    }
    if (do_import && status != 2) {
        imp s = {0};
        conn_sink sink = {.ctx = &s, .object = imp_object, .checkpoint = imp_checkpoint, .warning = imp_warning};
        buf cookie = BUF_INIT;
        double t0 = now_s();
        rc = conn_ops_scim.full_import(c, NULL, &sink, &cookie, &e);
        if (rc) {
            printf("IMPORT FAILED rc=%d: %s\n", rc, e.msg);
            status = 3;
        }
        printf("IMPORT users=%zu groups=%zu pages=%zu cookie_len=%zu seconds=%.3f\n", s.users, s.groups, s.pages,
               cookie.len, now_s() - t0);
        buf_free(&cookie);
    }
done:
    conn_ops_scim.close(c);
    for (size_t i = 0; i < cfg.noptions; i++) {
        free(cfg.options[i].key);
        free(cfg.options[i].value);
    }
    free(cfg.options);
    for (size_t i = 0; i < nrefs; i++) {
        free(refs[i].name);
        free(refs[i].anchor);
    }
    free(refs);
    return status;
}
