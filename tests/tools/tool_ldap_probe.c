/* Developer tool: opens an ldap/ad connector from the command line, runs a full or delta
 * import (cookie kept in a file) or one export, and prints one line per object. */
#include "connectors/ldap/conn_ldap.h"
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage[] =
    "usage: tool_ldap_probe --type ad|ldap --url URL [--bind-dn DN --password-file FILE] --base DN\n"
    "         [--include OU]... [--exclude OU]... [--option KEY=VALUE]... [--show ATTR]...\n"
    "         [--cookie-file FILE] [--no-present] COMMAND\n"
    "commands: full | delta | lookup DN\n"
    "          ranged DN ATTR STEP   (reads ATTR;range=0-(STEP-1) the way a DC truncates a large attribute,\n"
    "                                 then decodes it as an import does; prints ATTR's value count)\n"
    "          export-add DN TYPE [ATTR=VALUE]... | export-replace DN ATTR=VALUE...\n"
    "          export-add-value DN ATTR=VALUE | export-delete-value DN ATTR=VALUE\n"
    "          export-rename DN NEWDN | export-delete DN\n"
    "output: CHANGE<TAB>DN<TAB>ANCHOR-HEX<TAB>TYPE<TAB>attrs=NAMES[<TAB>added=..][<TAB>removed=..][<TAB>ATTR=VALUES]\n"
    "exit: 0 ok, 10+N for error code -N (16 retry, 17 auth, 18 corrupt), 2 usage\n";

typedef struct probe {
    char **show;
    size_t nshow;
    size_t objects, checkpoints, presents;
} probe;

static void hex(FILE *f, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", ((const unsigned char *)p)[i]);
}

static void print_values(const attrs *a, const char *label)
{
    if (!a || !a->n) return;
    printf("\t%s=", label);
    for (size_t i = 0; i < a->n; i++) {
        printf("%s%s:", i ? ";" : "", a->a[i].name);
        for (size_t j = 0; j < a->a[i].nvals; j++) printf("%s%s", j ? "|" : "", a->a[i].vals[j].data);
    }
}

static int on_object(void *ctx, const conn_object *o, err *e)
{
    probe *p = ctx;
    static const char *names[] = {"?", "ADD", "MODIFY", "DELETE"};
    p->objects++;
    printf("%s\t%s\t", names[o->change <= 3 ? o->change : 0], o->dn ? o->dn : "-");
    if (o->anchor_len == 16) hex(stdout, o->anchor, o->anchor_len);
    else fwrite(o->anchor, 1, o->anchor_len, stdout);
    printf("\t%s\t%s", o->object_type ? o->object_type : "-", o->attrs_are_delta ? "delta:" : "attrs=");
    for (size_t i = 0; o->attrs && i < o->attrs->n; i++) printf("%s%s", i ? "," : "", o->attrs->a[i].name);
    print_values(o->added_values, "added");
    print_values(o->removed_values, "removed");
    for (size_t s = 0; s < p->nshow; s++) {
        attr *a = o->attrs ? attrs_get(o->attrs, p->show[s]) : NULL;
        if (!a) continue;
        printf("\t%s=", a->name);
        for (size_t j = 0; j < a->nvals; j++) {
            if (a->type == AT_BINARY) hex(stdout, a->vals[j].data, a->vals[j].len);
            else printf("%s", a->vals[j].data);
            if (j + 1 < a->nvals) printf("|");
        }
        printf("(%s)", attr_type_name(a->type));
    }
    printf("\n");
    return 0;
}

static int on_checkpoint(void *ctx, const void *cookie, size_t len, err *e)
{
    ((probe *)ctx)->checkpoints++;
    return 0;
}

static void on_warning(void *ctx, const char *dn, const char *msg)
{
    fprintf(stderr, "WARN %s: %s\n", dn ? dn : "-", msg);
}

static int on_present(void *ctx, const void *anchor, size_t len, err *e)
{
    ((probe *)ctx)->presents++;
    printf("PRESENT\t%.*s\n", (int)len, (const char *)anchor);
    return 0;
}

static int on_present_done(void *ctx, err *e)
{
    printf("PRESENT_DONE\n");
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf_append(&b, tmp, n);
    fclose(f);
    if (!b.data) buf_puts(&b, "");
    return buf_steal(&b, len);
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static int fail(int code, const char *msg)
{
    fprintf(stderr, "ERROR code=%d %s\n", code, msg);
    return code < 0 ? 10 - code : 1;
}

int main(int argc, char **argv)
{
    conn_config cfg = {0};
    char *partition = NULL, *password_file = NULL, *cookie_file = NULL;
    char *includes[16], *excludes[16];
    conn_option opts[32];
    char *show[16];
    bool no_present = false;
    probe p = {show, 0, 0, 0, 0};
    int i = 1;
    cfg.name = "probe";
    cfg.include_ous = includes;
    cfg.exclude_ous = excludes;
    cfg.options = opts;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-present")) {
            no_present = true;
            continue;
        }
        if (!v) return fprintf(stderr, "%s", usage), 2;
        i++;
        if (!strcmp(a, "--type")) cfg.type = (char *)v;
        else if (!strcmp(a, "--url")) cfg.url = (char *)v;
        else if (!strcmp(a, "--bind-dn")) cfg.bind_dn = (char *)v;
        else if (!strcmp(a, "--password-file")) password_file = (char *)v;
        else if (!strcmp(a, "--base")) partition = (char *)v;
        else if (!strcmp(a, "--cookie-file")) cookie_file = (char *)v;
        else if (!strcmp(a, "--include") && cfg.ninclude < 16) includes[cfg.ninclude++] = (char *)v;
        else if (!strcmp(a, "--exclude") && cfg.nexclude < 16) excludes[cfg.nexclude++] = (char *)v;
        else if (!strcmp(a, "--show") && p.nshow < 16) show[p.nshow++] = (char *)v;
        else if (!strcmp(a, "--option") && cfg.noptions < 32 && strchr(v, '=')) {
            char *kv = (char *)v, *eq = strchr(kv, '=');   /* split in place: argv is writable */
            *eq = '\0';
            opts[cfg.noptions].key = kv;
            opts[cfg.noptions].value = eq + 1;
            cfg.noptions++;
        } else return fprintf(stderr, "%s", usage), 2;
    }
    if (i >= argc || !cfg.type || !cfg.url || !partition) return fprintf(stderr, "%s", usage), 2;
    const char *cmd = argv[i++];
    const conn_ops *ops = !strcmp(cfg.type, "ad") ? &conn_ops_ad : !strcmp(cfg.type, "ldap") ? &conn_ops_ldap : NULL;
    if (!ops) return fprintf(stderr, "unknown type %s\n", cfg.type), 2;
    cfg.npartitions = 1;
    cfg.partitions = &partition;

    char *secret = NULL;
    if (password_file) {
        size_t sl = 0;
        secret = read_file(password_file, &sl);
        if (!secret) return fprintf(stderr, "cannot read %s: %s\n", password_file, strerror(errno)), 2;
        while (sl && (secret[sl - 1] == '\n' || secret[sl - 1] == '\r')) secret[--sl] = '\0';
    }
    err e = {0};
    conn *c = NULL;
    int rc = ops->validate(&cfg, &e);
    if (!rc) rc = ops->open(&cfg, secret, &c, &e);
    xfree_secret(secret);
    if (rc) return fail(rc, e.msg);

    conn_sink sink = {&p, on_object, on_checkpoint, on_warning, NULL, NULL, NULL};
    if (!no_present) {
        sink.present = on_present;
        sink.present_done = on_present_done;
    }
    buf cookie = BUF_INIT;
    int exitc = 0;
    if (!strcmp(cmd, "full") || !strcmp(cmd, "delta")) {
        if (!strcmp(cmd, "full")) {
            rc = ops->full_import(c, partition, &sink, &cookie, &e);
        } else {
            size_t cl = 0;
            char *old = cookie_file ? read_file(cookie_file, &cl) : NULL;
            if (!old) {
                ops->close(c);
                return fprintf(stderr, "delta needs --cookie-file with a cookie\n"), 2;
            }
            rc = ops->delta_import(c, partition, old, cl, &sink, &cookie, &e);
            free(old);
        }
        if (rc) exitc = fail(rc, e.msg);
        else {
            if (cookie_file && write_file(cookie_file, cookie.data, cookie.len)) {
                fprintf(stderr, "cannot write %s\n", cookie_file);
                exitc = 1;
            }
            fprintf(stderr, "objects=%zu checkpoints=%zu presents=%zu cookie_bytes=%zu\n", p.objects, p.checkpoints,
                    p.presents, cookie.len);
        }
    } else if (!strcmp(cmd, "ranged") && i + 2 < argc) {
        /* Samba sends every value unless asked for a range; asking for the first range
           reproduces what Active Directory sends for an attribute over MaxValRange, and the
           import's decoding must then fetch the rest (;range=STEP-*) itself. */
        char want[256];
        snprintf(want, sizeof want, "%s;range=0-%ld", argv[i + 1], atol(argv[i + 2]) - 1);
        char *req[] = {want, NULL};
        LDAPMessage *res = NULL;
        int lrc = ldap_search_ext_s(c->ld, argv[i], LDAP_SCOPE_BASE, "(objectClass=*)", req, 0, NULL, NULL, NULL, 0,
                                    &res);
        LDAPMessage *m = lrc == LDAP_SUCCESS ? ldap_first_entry(c->ld, res) : NULL;
        if (!m) {
            exitc = fail(ERR_NOTFOUND, ldap_err2string(lrc));
        } else {
            BerElement *ber = NULL;
            char *first = ldap_first_attribute(c->ld, m, &ber);
            printf("first-response\t%s\n", first ? first : "-");
            ldap_memfree(first);
            ber_free(ber, 0);
            ldap_entry ent = {0};
            rc = conn_ldap_entry_read(c, m, false, &sink, &ent, &e);
            if (rc) exitc = fail(rc, e.msg);
            else {
                attr *a = attrs_get(ent.a, argv[i + 1]);
                size_t distinct = 0;
                for (size_t k = 0; a && k < a->nvals; k++) {
                    bool dup = false;
                    for (size_t j = 0; j < k && !dup; j++) dup = attr_value_equal(a->type, &a->vals[j], &a->vals[k]);
                    distinct += !dup;
                }
                printf("values\t%zu\tdistinct\t%zu\n", a ? a->nvals : 0, distinct);
            }
            conn_ldap_entry_clear(&ent);
        }
        ldap_msgfree(res);
    } else if (!strcmp(cmd, "lookup") && i < argc) {
        rc = ops->lookup_anchor(c, argv[i], &cookie, &e);
        if (rc) exitc = fail(rc, e.msg);
        else {
            if (cookie.len == 16) hex(stdout, cookie.data, cookie.len);
            else fwrite(cookie.data, 1, cookie.len, stdout);
            printf("\n");
        }
    } else if (!strncmp(cmd, "export-", 7) && i < argc) {
        conn_export_item it = {0};
        attrs *full = attrs_new();
        conn_mod mods[16];
        size_t nm = 0;
        buf anchor = BUF_INIT;
        it.dn = argv[i++];
        const char *op = cmd + 7;
        if (!strcmp(op, "add")) {
            it.op = CONN_EXPORT_ADD;
            it.object_type = i < argc ? argv[i++] : NULL;
            for (; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                if (!eq) continue;
                *eq = '\0';
                attr_add_str(attrs_get_or_add(full, argv[i], AT_STRING), eq + 1);
            }
            it.full = full;
        } else if (!strcmp(op, "replace") || !strcmp(op, "add-value") || !strcmp(op, "delete-value")) {
            it.op = CONN_EXPORT_UPDATE;
            for (; i < argc && nm < 16; i++) {
                char *eq = strchr(argv[i], '=');
                if (!eq) continue;
                *eq = '\0';
                attr *a = attrs_get_or_add(full, argv[i], AT_STRING);
                attr_add_str(a, eq + 1);
            }
            for (size_t k = 0; k < full->n && nm < 16; k++) {
                mods[nm].op = !strcmp(op, "replace") ? CONN_MOD_REPLACE
                              : !strcmp(op, "add-value") ? CONN_MOD_ADD : CONN_MOD_DELETE;
                mods[nm].attr = full->a[k];
                nm++;
            }
            it.mods = mods;
            it.nmods = nm;
        } else if (!strcmp(op, "rename") && i < argc) {
            it.op = CONN_EXPORT_RENAME;
            it.new_dn = argv[i++];
        } else if (!strcmp(op, "delete")) {
            it.op = CONN_EXPORT_DELETE;
        }
        if (it.op != CONN_EXPORT_ADD && it.op != 0 && ops->lookup_anchor(c, it.dn, &anchor, &e) == 0) {
            it.anchor = anchor.data;
            it.anchor_len = anchor.len;
        }
        err_clear(&e);
        if (!it.op) {
            fprintf(stderr, "%s", usage);
            exitc = 2;
        } else if ((rc = ops->export_batch(c, &it, 1, &e))) exitc = fail(rc, e.msg);
        else {
            printf("STATUS\t%d\t%s\t", (int)it.status, it.message ? it.message : "ok");
            if (it.new_anchor_len == 16) hex(stdout, it.new_anchor, it.new_anchor_len);
            else if (it.new_anchor) fwrite(it.new_anchor, 1, it.new_anchor_len, stdout);
            printf("\n");
            if (it.status != CONN_EXPORT_OK) exitc = 3;
        }
        free(it.message);
        free(it.new_anchor);
        buf_free(&anchor);
        attrs_free(full);
    } else {
        fprintf(stderr, "%s", usage);
        exitc = 2;
    }
    buf_free(&cookie);
    ops->close(c);
    return exitc;
}
