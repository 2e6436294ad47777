/* Streaming reader for content LDIF files (RFC 2849): folded lines, comments, base64 values.
 * Strict: anything it does not understand is an error with the line number. Plain values may
 * hold UTF-8 (RFC 2849 asks for base64 there, but every LDAP tool writes UTF-8 directly). */
#include "connectors/ldif/conn_ldif_int.h"
#include "util/util_alloc.h"
#include "util/util_attrs.h"
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

struct ldif_reader {
    FILE *f;
    bool own;             /* f is closed by ldif_reader_close */
    char *name;           /* owned: file name for messages */
    char *phys;           /* owned: getline buffer (one physical line, newline stripped) */
    size_t physcap;
    size_t physlen;
    size_t physno;        /* line number of phys */
    bool have_phys;       /* phys holds a line read ahead, not yet consumed */
    bool eof;
    bool bad_phys;        /* phys contained a NUL byte */
    size_t lineno;        /* physical lines read so far */
    buf logical;          /* the current logical (unfolded) line */
    size_t logical_no;    /* its first line number */
    bool started;         /* an entry (or version line) was seen */
};

ldif_reader *ldif_reader_from_stream(FILE *f, const char *name)
{
    ldif_reader *r = xcalloc(1, sizeof *r);
    r->f = f;
    r->name = xstrdup(name);
    return r;
}

int ldif_reader_open(const char *path, ldif_reader **out, err *e)
{
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_FAIL, "cannot open the LDIF file %s: %s", path,
                       strerror(errno));
    ldif_reader *r = ldif_reader_from_stream(f, path);
    r->own = true;
    *out = r;
    return 0;
}

void ldif_reader_close(ldif_reader *r)
{
    if (!r) return;
    if (r->own && r->f) fclose(r->f);
    free(r->name);
    free(r->phys);
    buf_free(&r->logical);
    free(r);
}

void ldif_entry_clear(ldif_entry *ent)
{
    free(ent->dn);
    ent->dn = NULL;
    for (size_t i = 0; i < ent->n; i++) {
        free(ent->av[i].name);
        free(ent->av[i].val);
    }
    ent->n = 0;
    ent->line = 0;
}

void ldif_entry_free(ldif_entry *ent)
{
    ldif_entry_clear(ent);
    free(ent->av);
    ent->av = NULL;
    ent->cap = 0;
}

/* Reads one physical line into r->phys. 1 = line, 0 = end of file, <0 = read error. */
static int read_phys(ldif_reader *r, err *e)
{
    if (r->eof) return 0;
    ssize_t n = getline(&r->phys, &r->physcap, r->f);
    if (n < 0) {
        if (ferror(r->f)) return err_set(e, ERR_FAIL, "cannot read the LDIF file %s: %s", r->name, strerror(errno));
        r->eof = true;
        return 0;
    }
    r->lineno++;
    r->physno = r->lineno;
    size_t len = (size_t)n;
    if (len && r->phys[len - 1] == '\n') len--;
    if (len && r->phys[len - 1] == '\r') len--;
    r->phys[len] = '\0';
    r->physlen = len;
    r->bad_phys = strlen(r->phys) != len;
    return 1;
}

/* Next logical line (continuations joined) into r->logical. 1 = line, 0 = end of file. */
static int next_logical(ldif_reader *r, err *e)
{
    int rc;
    if (!r->have_phys) {
        rc = read_phys(r, e);
        if (rc <= 0) return rc;
    }
    r->have_phys = false;
    if (r->bad_phys) return err_set(e, ERR_CORRUPT, "%s line %zu: the line contains a NUL byte", r->name, r->physno);
    buf_reset(&r->logical);
    buf_append(&r->logical, r->phys, r->physlen);
    r->logical_no = r->physno;
    bool empty = r->physlen == 0;
    for (;;) {
        rc = read_phys(r, e);
        if (rc < 0) return rc;
        if (rc == 0) break;
        if (!empty && r->physlen > 0 && r->phys[0] == ' ') {   /* RFC 2849 note 2: folded line */
            if (r->bad_phys)
                return err_set(e, ERR_CORRUPT, "%s line %zu: the line contains a NUL byte", r->name, r->physno);
            buf_append(&r->logical, r->phys + 1, r->physlen - 1);
            continue;
        }
        r->have_phys = true;
        break;
    }
    if (!r->logical.data) buf_reserve(&r->logical, 0);
    return 1;
}

static bool name_char(char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '-' || c == ';' || c == '.');
}

/* Splits the logical line into attribute description and decoded value. */
static int parse_attrval(ldif_reader *r, ldif_attrval *av, err *e)
{
    const char *line = r->logical.data;
    size_t no = r->logical_no;
    const char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return err_set(e, ERR_CORRUPT, "%s line %zu: expected \"attribute: value\", found \"%.40s%s\"", r->name, no,
                       line, strlen(line) > 40 ? "..." : "");
    for (const char *p = line; p < colon; p++)
        if (!name_char(*p, p == line))
            return err_set(e, ERR_CORRUPT, "%s line %zu: \"%.*s\" is not a valid attribute description", r->name, no,
                           (int)(colon - line > 60 ? 60 : colon - line), line);
    const char *v = colon + 1;
    av->line = no;
    av->base64 = false;
    if (*v == '<')
        return err_set(e, ERR_CORRUPT, "%s line %zu: URL values (\"%.*s:<\") are not supported; put the value in "
                       "the file, base64-encoded with \"::\"", r->name, no, (int)(colon - line), line);
    if (*v == ':') {
        v++;
        while (*v == ' ') v++;
        size_t b64len = strlen(v);
        size_t cap = b64len / 4 * 3 + 3;
        unsigned char *bin = xmalloc(cap + 1);
        size_t binlen = 0;
        const char *end = NULL;
        if (b64len && (sodium_base642bin(bin, cap, v, b64len, NULL, &binlen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
                       (end && *end != '\0'))) {
            free(bin);
            return err_set(e, ERR_CORRUPT, "%s line %zu: the value of \"%.*s\" is not valid base64", r->name, no,
                           (int)(colon - line), line);
        }
        bin[binlen] = '\0';
        av->val = (char *)bin;
        av->len = binlen;
        av->base64 = true;
    } else {
        while (*v == ' ') v++;
        size_t len = strlen(v);
        if (!utf8_valid(v, len))
            return err_set(e, ERR_CORRUPT, "%s line %zu: the value of \"%.*s\" is not valid UTF-8; base64-encode "
                           "binary values with \"::\"", r->name, no, (int)(colon - line), line);
        av->val = xmemdup(v, len + 1);
        av->len = len;
    }
    av->name = xstrndup(line, (size_t)(colon - line));
    return 0;
}

static int skip_to_content(ldif_reader *r, err *e)
{
    for (;;) {
        int rc = next_logical(r, e);
        if (rc <= 0) return rc;
        const char *l = r->logical.data;
        if (r->logical.len == 0 || l[0] == '#') continue;
        return 1;
    }
}

int ldif_reader_next(ldif_reader *r, ldif_entry *ent, err *e)
{
    ldif_entry_clear(ent);
    int rc = skip_to_content(r, e);
    if (rc <= 0) return rc;
    if (!r->started && strncasecmp(r->logical.data, "version:", 8) == 0) {
        const char *v = r->logical.data + 8;
        while (*v == ' ') v++;
        if (strcmp(v, "1") != 0)
            return err_set(e, ERR_CORRUPT, "%s line %zu: unsupported LDIF version \"%s\" (only 1 is defined)", r->name,
                           r->logical_no, v);
        r->started = true;
        rc = skip_to_content(r, e);
        if (rc <= 0) return rc;
    }
    r->started = true;
    if (r->logical.data[0] == ' ')
        return err_set(e, ERR_CORRUPT, "%s line %zu: a continuation line (leading space) without a line to continue",
                       r->name, r->logical_no);
    ldif_attrval dn = {0};
    if ((rc = parse_attrval(r, &dn, e)) != 0) return rc;
    if (strcasecmp(dn.name, "dn") != 0) {
        rc = err_set(e, ERR_CORRUPT, "%s line %zu: expected \"dn:\" to start an entry, found \"%s:\"", r->name,
                     dn.line, dn.name);
        free(dn.name);
        free(dn.val);
        return rc;
    }
    free(dn.name);
    if (memchr(dn.val, '\0', dn.len) || !utf8_valid(dn.val, dn.len)) {
        free(dn.val);
        return err_set(e, ERR_CORRUPT, "%s line %zu: the DN is not valid UTF-8 text", r->name, dn.line);
    }
    ent->dn = dn.val;
    ent->line = dn.line;
    for (;;) {
        rc = next_logical(r, e);
        if (rc < 0) return rc;
        if (rc == 0 || r->logical.len == 0) break;
        if (r->logical.data[0] == '#') continue;
        if (r->logical.data[0] == ' ')
            return err_set(e, ERR_CORRUPT, "%s line %zu: unexpected leading space", r->name, r->logical_no);
        if (r->logical.len == 1 && r->logical.data[0] == '-')
            return err_set(e, ERR_CORRUPT, "%s line %zu: \"-\" belongs to a change record; this connector reads "
                           "content files only", r->name, r->logical_no);
        ldif_attrval av = {0};
        if ((rc = parse_attrval(r, &av, e)) != 0) return rc;
        if (strcasecmp(av.name, "changetype") == 0 || strcasecmp(av.name, "control") == 0) {
            rc = err_set(e, ERR_CORRUPT, "%s line %zu: \"%s:\" starts a change record (entry %s); the ldif connector "
                         "imports content files only (entries without changetype)", r->name, av.line, av.name, ent->dn);
            free(av.name);
            free(av.val);
            return rc;
        }
        if (ent->n == ent->cap) {
            ent->cap = ent->cap ? ent->cap * 2 : 16;
            ent->av = xrealloc(ent->av, ent->cap * sizeof *ent->av);
        }
        ent->av[ent->n++] = av;
    }
    if (ent->n == 0)
        return err_set(e, ERR_CORRUPT, "%s line %zu: the entry %s has no attributes", r->name, ent->line, ent->dn);
    return 1;
}
