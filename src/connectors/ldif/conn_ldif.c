/* The ldif connector: full import from a content LDIF file, export to an LDIF change file. */
#include "connectors/ldif/conn_ldif.h"
#include "connectors/ldif/conn_ldif_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LDIF_PAGE 1000   /* entries between checkpoints */

struct conn {
    char *path;          /* owned: content file */
    char *anchor_attr;   /* owned */
    char *export_path;   /* owned */
    size_t ninclude, nexclude;
    char **include_ous;  /* owned */
    char **exclude_ous;  /* owned */
};

/* Option lookup (the connector library does not depend on the registry's helpers). */
static const char *opt(const conn_config *cfg, const char *key, const char *def)
{
    for (size_t i = 0; i < cfg->noptions; i++)
        if (cfg->options[i].key && strcmp(cfg->options[i].key, key) == 0 && cfg->options[i].value)
            return cfg->options[i].value;
    return def;
}

static int ldif_validate(const conn_config *cfg, err *e)
{
    const char *name = cfg->name ? cfg->name : "(unnamed)";
    if (!cfg->url || !*cfg->url)
        return err_set(e, ERR_USAGE, "connector %s: the ldif connector needs the path of an LDIF file as its URL", name);
    if (strncmp(cfg->url, "ldap://", 7) == 0 || strncmp(cfg->url, "ldaps://", 8) == 0 ||
        strncmp(cfg->url, "http://", 7) == 0 || strncmp(cfg->url, "https://", 8) == 0)
        return err_set(e, ERR_USAGE, "connector %s: \"%s\" is a server URL; the ldif connector reads a file path "
                       "(use type ldap, ad or scim for servers)", name, cfg->url);
    const char *anchor = opt(cfg, "anchor_attribute", "entryUUID");
    if (!*anchor) return err_set(e, ERR_USAGE, "connector %s: option anchor_attribute is empty", name);
    for (size_t i = 0; i < cfg->noptions; i++) {
        const char *k = cfg->options[i].key ? cfg->options[i].key : "";
        if (strcmp(k, "anchor_attribute") != 0 && strcmp(k, "export_file") != 0)
            return err_set(e, ERR_USAGE, "connector %s: unknown option \"%s\" for the ldif connector (known: "
                           "anchor_attribute, export_file)", name, k);
    }
    return 0;
}

static char **copy_strv(char **v, size_t n)
{
    char **c = xcalloc(n + 1, sizeof *c);
    for (size_t i = 0; i < n; i++) c[i] = xstrdup(v[i]);
    return c;
}

static void ldif_close(conn *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->ninclude; i++) free(c->include_ous[i]);
    for (size_t i = 0; i < c->nexclude; i++) free(c->exclude_ous[i]);
    free(c->include_ous);
    free(c->exclude_ous);
    free(c->path);
    free(c->anchor_attr);
    free(c->export_path);
    free(c);
}

static int ldif_open(const conn_config *cfg, const char *secret, conn **out, err *e)
{
    (void)secret;   /* files need no credentials */
    *out = NULL;
    int rc = ldif_validate(cfg, e);
    if (rc) return rc;
    if (access(cfg->url, R_OK) != 0)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_FAIL, "connector %s: cannot read the LDIF file %s: %s",
                       cfg->name ? cfg->name : "(unnamed)", cfg->url, strerror(errno));
    conn *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(cfg->url);
    c->anchor_attr = xstrdup(opt(cfg, "anchor_attribute", "entryUUID"));
    const char *ex = opt(cfg, "export_file", NULL);
    c->export_path = ex ? xstrdup(ex) : xasprintf("%s.changes.ldif", cfg->url);
    c->ninclude = cfg->ninclude;
    c->nexclude = cfg->nexclude;
    c->include_ous = copy_strv(cfg->include_ous, cfg->ninclude);
    c->exclude_ous = copy_strv(cfg->exclude_ous, cfg->nexclude);
    *out = c;
    return 0;
}

/* True if dn is base or below it (case-insensitive suffix at an RDN boundary). */
static bool dn_under(const char *dn, const char *base)
{
    size_t dl = strlen(dn), bl = strlen(base);
    if (bl == 0) return true;
    if (dl < bl || strcasecmp(dn + dl - bl, base) != 0) return false;
    return dl == bl || (dn[dl - bl - 1] == ',' && (dl - bl < 2 || dn[dl - bl - 2] != '\\'));
}

static bool in_scope(const conn *c, const char *partition, const char *dn)
{
    if (partition && *partition && !dn_under(dn, partition)) return false;
    for (size_t i = 0; i < c->nexclude; i++)
        if (dn_under(dn, c->exclude_ous[i])) return false;
    if (c->ninclude == 0) return true;
    for (size_t i = 0; i < c->ninclude; i++)
        if (dn_under(dn, c->include_ous[i])) return true;
    return false;
}

static bool is_reference_attr(const char *name)
{
    static const char *const refs[] = {"member", "uniqueMember", "manager", "owner", NULL};
    for (size_t i = 0; refs[i]; i++)
        if (strcasecmp(name, refs[i]) == 0) return true;
    return false;
}

/* Builds the attribute set of ent; sets *anchor (borrowed from ent) and *object_type. */
static void entry_to_attrs(const conn *c, const ldif_entry *ent, attrs *as, const ldif_attrval **anchor,
                           const char **object_type)
{
    *anchor = NULL;
    *object_type = NULL;
    for (size_t i = 0; i < ent->n; i++) {
        const ldif_attrval *av = &ent->av[i];
        bool binary = av->base64 && (memchr(av->val, '\0', av->len) || !utf8_valid(av->val, av->len));
        attr_type t = is_reference_attr(av->name) ? AT_REFERENCE : binary ? AT_BINARY : AT_STRING;
        attr *a = attrs_get_or_add(as, av->name, t);
        if (binary) a->type = AT_BINARY;   /* one binary value makes the attribute binary */
        attr_add(a, av->val, av->len);
        if (!*anchor && strcasecmp(av->name, c->anchor_attr) == 0 && av->len > 0) *anchor = av;
        /* most specific structural class: the last objectClass value that is not "top" */
        if (strcasecmp(av->name, "objectClass") == 0 && strcasecmp(av->val, "top") != 0) *object_type = av->val;
    }
}

static int ldif_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e)
{
    ldif_reader *r = NULL;
    ldif_entry ent = {0};
    attrs *as = attrs_new();
    size_t seen = 0, since_checkpoint = 0;
    int rc = ldif_reader_open(c->path, &r, e);
    if (rc) goto done;
    for (;;) {
        rc = ldif_reader_next(r, &ent, e);
        if (rc < 0) goto done;
        if (rc == 0) break;
        rc = 0;
        if (!in_scope(c, partition, ent.dn)) continue;
        attrs_clear(as);
        const ldif_attrval *anchor;
        const char *otype;
        entry_to_attrs(c, &ent, as, &anchor, &otype);
        if (!anchor) {
            char msg[300];
            snprintf(msg, sizeof msg, "the entry at line %zu has no %s value; skipped (set option anchor_attribute "
                     "to an attribute every entry has)", ent.line, c->anchor_attr);
            if (sink->warning) sink->warning(sink->ctx, ent.dn, msg);
            continue;
        }
        conn_object obj = {
            .change = CONN_CHANGE_ADD,
            .dn = ent.dn,
            .anchor = anchor->val,
            .anchor_len = anchor->len,
            .object_type = otype ? otype : "top",
            .attrs = as,
            .attrs_are_delta = false,
        };
        if ((rc = sink->object(sink->ctx, &obj, e)) != 0) goto done;
        seen++;
        if (sink->progress) sink->progress(sink->ctx, seen);
        if (++since_checkpoint == LDIF_PAGE) {
            since_checkpoint = 0;
            if ((rc = sink->checkpoint(sink->ctx, NULL, 0, e)) != 0) goto done;
        }
    }
    if (since_checkpoint && (rc = sink->checkpoint(sink->ctx, NULL, 0, e)) != 0) goto done;
    if (cookie_out) buf_reset(cookie_out);   /* a file has no change log: no delta cookie */
done:
    ldif_entry_free(&ent);
    attrs_free(as);
    ldif_reader_close(r);
    return rc;
}

/* A random (version 4) UUID in its text form, as the anchor of an added entry. */
static char *new_uuid(void)
{
    unsigned char u[16];
    randombytes_buf(u, sizeof u);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    return xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
                     u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void write_dn(buf *out, const char *label, const char *dn)
{
    ldif_write_attr(out, label, dn, strlen(dn));
}

static void write_attr_values(buf *out, const attr *a)
{
    for (size_t v = 0; v < a->nvals; v++) ldif_write_attr(out, a->name, a->vals[v].data, a->vals[v].len);
}

static void write_mods(buf *out, const char *dn, const conn_export_item *it)
{
    write_dn(out, "dn", dn);
    buf_puts(out, "changetype: modify\n");
    for (size_t m = 0; m < it->nmods; m++) {
        const conn_mod *mod = &it->mods[m];
        const char *op = mod->op == CONN_MOD_ADD ? "add" : mod->op == CONN_MOD_DELETE ? "delete" : "replace";
        buf_printf(out, "%s: %s\n", op, mod->attr.name);
        write_attr_values(out, &mod->attr);
        buf_puts(out, "-\n");
    }
    buf_putc(out, '\n');
}

/* Offset of the comma ending the first RDN of dn, or NULL (dn has one RDN). */
static const char *rdn_end(const char *dn)
{
    for (const char *p = dn; *p; p++) {
        if (*p == '\\' && p[1]) { p++; continue; }
        if (*p == ',') return p;
    }
    return NULL;
}

static bool same_parent(const char *a, const char *b)
{
    const char *pa = rdn_end(a), *pb = rdn_end(b);
    if (!pa || !pb) return !pa && !pb;
    return strcasecmp(pa + 1, pb + 1) == 0;
}

/* Writes one item's change record(s) into out; returns false with item->message set when the
   item itself is unusable. */
static bool write_item(const conn *c, conn_export_item *it, buf *out)
{
    if (!it->dn || !*it->dn) {
        it->message = xstrdup("the export has no DN");
        return false;
    }
    switch (it->op) {
    case CONN_EXPORT_ADD: {
        write_dn(out, "dn", it->dn);
        buf_puts(out, "changetype: add\n");
        bool has_oc = it->full && attrs_get(it->full, "objectClass");
        if (!has_oc && it->object_type) ldif_write_attr(out, "objectClass", it->object_type, strlen(it->object_type));
        for (size_t i = 0; it->full && i < it->full->n; i++)
            if (strcasecmp(it->full->a[i].name, c->anchor_attr) != 0) write_attr_values(out, &it->full->a[i]);
        char *uuid = new_uuid();
        ldif_write_attr(out, c->anchor_attr, uuid, strlen(uuid));
        buf_putc(out, '\n');
        it->new_anchor_len = strlen(uuid);
        it->new_anchor = uuid;
        return true;
    }
    case CONN_EXPORT_UPDATE:
        if (it->nmods == 0) return true;   /* nothing to write */
        write_mods(out, it->dn, it);
        return true;
    case CONN_EXPORT_DELETE:
        write_dn(out, "dn", it->dn);
        buf_puts(out, "changetype: delete\n\n");
        return true;
    case CONN_EXPORT_RENAME: {
        if (!it->new_dn || !*it->new_dn) {
            it->message = xstrdup("the rename has no new DN");
            return false;
        }
        const char *end = rdn_end(it->new_dn);
        size_t rdnlen = end ? (size_t)(end - it->new_dn) : strlen(it->new_dn);
        write_dn(out, "dn", it->dn);
        buf_puts(out, "changetype: modrdn\n");
        ldif_write_attr(out, "newrdn", it->new_dn, rdnlen);
        buf_puts(out, "deleteoldrdn: 1\n");
        if (!same_parent(it->dn, it->new_dn)) {
            const char *sup = end ? end + 1 : "";
            ldif_write_attr(out, "newsuperior", sup, strlen(sup));
        }
        buf_putc(out, '\n');
        if (it->nmods) write_mods(out, it->new_dn, it);
        return true;
    }
    }
    it->message = xasprintf("unknown export operation %d", (int)it->op);
    return false;
}

static int ldif_export_batch(conn *c, conn_export_item *items, size_t n, err *e)
{
    buf out = BUF_INIT;
    int rc = 0, fd = -1;
    bool *ok = xcalloc(n + 1, sizeof *ok);
    for (size_t i = 0; i < n; i++) ok[i] = write_item(c, &items[i], &out);
    if (out.len) {
        fd = open(c->export_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = err_set(e, ERR_FAIL, "cannot open the LDIF export file %s: %s", c->export_path, strerror(errno));
            goto done;
        }
        size_t off = 0;
        while (off < out.len) {
            ssize_t w = write(fd, out.data + off, out.len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                rc = err_set(e, ERR_FAIL, "cannot write the LDIF export file %s: %s", c->export_path,
                             w < 0 ? strerror(errno) : "no progress");
                goto done;
            }
            off += (size_t)w;
        }
        if (fsync(fd) != 0) {
            rc = err_set(e, ERR_FAIL, "cannot flush the LDIF export file %s: %s", c->export_path, strerror(errno));
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) items[i].status = ok[i] ? CONN_EXPORT_OK : CONN_EXPORT_ERROR;
done:
    if (rc) {   /* nothing was confirmed: drop the anchors handed out for this batch */
        for (size_t i = 0; i < n; i++) {
            FREE_AND_NULL(items[i].new_anchor);
            items[i].new_anchor_len = 0;
        }
    }
    if (fd >= 0) close(fd);
    free(ok);
    buf_free(&out);
    return rc;
}

const conn_ops conn_ops_ldif = {
    .type = "ldif",
    .description = "LDIF file: full import of a content file, export as an LDIF change file",
    .needs_secret = false,
    .validate = ldif_validate,
    .open = ldif_open,
    .full_import = ldif_full_import,
    .delta_import = NULL,
    .export_batch = ldif_export_batch,
    .close = ldif_close,
};
