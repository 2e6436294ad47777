/* The backup file: a streaming writer (temp file, fsync, rename) and a verifying reader. */
#include "engine/engine_backup_int.h"
#include "util/util_alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BK_FORMAT_NAME "idsync-backup"

struct bk_writer {
    char *path, *tmp;     /* owned */
    FILE *f;              /* owned */
    char *b64;            /* owned scratch for base64 */
    size_t b64cap;
};

static int w_line(bk_writer *w, json_t *j, err *e)
{
    int rc = 0;
    if (!j) return err_set(e, ERR_FAIL, "cannot encode a line of the backup %s (out of memory)", w->path);
    if (json_dumpf(j, w->f, JSON_COMPACT) != 0 || fputc('\n', w->f) == EOF)
        rc = err_set(e, ERR_FAIL, "cannot write the backup %s: %s; check free space in its directory", w->tmp,
                     strerror(errno));
    json_decref(j);
    return rc;
}

int bk_writer_open(const char *path, const backup_report *h, bk_writer **out, err *e)
{
    bk_writer *w = xcalloc(1, sizeof *w);
    w->path = xstrdup(path);
    w->tmp = xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkstemp(w->tmp);
    if (fd < 0) {
        int rc = err_set(e, ERR_FAIL, "cannot create the backup file %s: %s; check that its directory exists and "
                         "is writable", w->tmp, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        bk_writer_abort(w);
        return rc;
    }
    fchmod(fd, 0600);
    w->f = fdopen(fd, "w");
    if (!w->f) {
        close(fd);
        bk_writer_abort(w);
        return err_set(e, ERR_FAIL, "cannot open the backup file %s: %s", path, strerror(errno));
    }
    setvbuf(w->f, NULL, _IOFBF, 1 << 20);
    json_t *hdr = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:I}", "format", BK_FORMAT_NAME, "format_version",
                            BACKUP_FORMAT_VERSION, "idsync_version", IDSYNC_VERSION, "schema_version",
                            h->schema_version, "source_engine", h->source_engine, "database_id", h->database_id,
                            "created_at", (json_int_t)h->created_at);
    int rc = w_line(w, hdr, e);
    if (rc) {
        bk_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

static int w_begin(void *ctx, const bk_table *t, err *e)
{
    bk_writer *w = ctx;
    json_t *cols = json_array();
    for (int i = 0; i < t->ncols; i++)
        json_array_append_new(cols, json_pack("[s, s]", t->cols[i].name, bk_class_name(t->cols[i].cls)));
    return w_line(w, json_pack("{s:s, s:o}", "table", t->name, "columns", cols), e);
}

static int w_row(void *ctx, const bk_table *t, const bk_val *v, err *e)
{
    bk_writer *w = ctx;
    json_t *a = json_array();
    for (int i = 0; i < t->ncols; i++) {
        json_t *x = NULL;
        switch (v[i].t) {
        case BK_NULL: x = json_null(); break;
        case BK_INTEGER: x = json_integer((json_int_t)v[i].i); break;
        case BK_TEXT: x = json_stringn(v[i].p, v[i].n); break;
        case BK_BLOB: {
            size_t need = sodium_base64_ENCODED_LEN(v[i].n, sodium_base64_VARIANT_ORIGINAL);
            if (need > w->b64cap) {
                w->b64 = xrealloc(w->b64, need);
                w->b64cap = need;
            }
            sodium_bin2base64(w->b64, need, v[i].p, v[i].n, sodium_base64_VARIANT_ORIGINAL);
            x = json_string(w->b64);
            break;
        }
        }
        if (!x) {
            json_decref(a);
            return err_set(e, ERR_CORRUPT, "table %s column %s holds text that is not valid UTF-8; idsync cannot "
                           "back it up: find the row with the sqlite3/psql tools and fix the value",
                           t->name, t->cols[i].name);
        }
        json_array_append_new(a, x);
    }
    return w_line(w, a, e);
}

static int w_end(void *ctx, const bk_table *t, const backup_table_sum *sum, err *e)
{
    bk_writer *w = ctx;
    char hex[65];
    engine_backup_sum_hex(sum->sum, hex);
    return w_line(w, json_pack("{s:s, s:I, s:s}", "end", t->name, "rows", (json_int_t)sum->rows, "sha256sum", hex), e);
}

bk_sink bk_writer_sink(bk_writer *w)
{
    return (bk_sink){.ctx = w, .begin = w_begin, .row = w_row, .end = w_end};
}

static void fsync_dir(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int bk_writer_commit(bk_writer *w, int ntables, int64_t *bytes, err *e)
{
    int rc = w_line(w, json_pack("{s:b, s:i}", "end_of_backup", 1, "tables", ntables), e);
    if (rc) goto done;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) {
        rc = err_set(e, ERR_FAIL, "cannot write the backup %s: %s; check free space", w->tmp, strerror(errno));
        goto done;
    }
    struct stat st;
    *bytes = fstat(fileno(w->f), &st) == 0 ? (int64_t)st.st_size : 0;
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0) {
        rc = err_set(e, ERR_FAIL, "cannot close the backup %s: %s", w->tmp, strerror(errno));
        goto done;
    }
    if (rename(w->tmp, w->path) != 0) {
        rc = err_set(e, ERR_FAIL, "cannot move the backup into place at %s: %s", w->path, strerror(errno));
        goto done;
    }
    fsync_dir(w->path);
    free(w->tmp);
    w->tmp = NULL;
done:
    bk_writer_abort(w);
    return rc;
}

void bk_writer_abort(bk_writer *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->b64);
    free(w);
}

/* ---- reader ---- */

typedef struct bk_reader {
    const char *path;
    long line;
    bk_table t;               /* current table */
    bool in_table;
    backup_table_sum sum;
    bk_val *vals;             /* t.ncols */
    unsigned char **bins;     /* per column base64 decode buffers */
    size_t *bincaps;
} bk_reader;

static void r_table_clear(bk_reader *r)
{
    for (int i = 0; i < r->t.ncols; i++) free(r->bins ? r->bins[i] : NULL);
    free(r->bins);
    free(r->bincaps);
    free(r->vals);
    r->bins = NULL;
    r->bincaps = NULL;
    r->vals = NULL;
    bk_table_clear(&r->t);
    r->in_table = false;
}

static int r_bad(bk_reader *r, err *e, const char *what)
{
    return err_set(e, ERR_CORRUPT, "the backup %s is damaged at line %ld%s%s: %s; use another backup", r->path,
                   r->line, r->in_table ? " in table " : "", r->in_table ? r->t.name : "", what);
}

static int r_header(bk_reader *r, json_t *j, backup_report *rep, err *e)
{
    const char *fmt = json_string_value(json_object_get(j, "format"));
    if (!fmt || strcmp(fmt, BK_FORMAT_NAME) != 0)
        return err_set(e, ERR_CORRUPT, "%s is not an idsync backup file (its first line is not an idsync-backup "
                       "header); pass a file written by `idsync db backup`", r->path);
    json_int_t ver = json_integer_value(json_object_get(j, "format_version"));
    const char *by = json_string_value(json_object_get(j, "idsync_version"));
    if (ver > BACKUP_FORMAT_VERSION)
        return err_set(e, ERR_REFUSED, "the backup %s has format version %lld, newer than this idsync %s reads (%d); "
                       "it was written by idsync %s: restore it with that version or newer", r->path,
                       (long long)ver, IDSYNC_VERSION, BACKUP_FORMAT_VERSION, by ? by : "?");
    if (ver < 1) return r_bad(r, e, "the header has no valid format_version");
    const char *eng = json_string_value(json_object_get(j, "source_engine"));
    const char *dbid = json_string_value(json_object_get(j, "database_id"));
    rep->schema_version = (int)json_integer_value(json_object_get(j, "schema_version"));
    rep->created_at = json_integer_value(json_object_get(j, "created_at"));
    snprintf(rep->source_engine, sizeof rep->source_engine, "%s", eng ? eng : "");
    snprintf(rep->database_id, sizeof rep->database_id, "%s", dbid ? dbid : "");
    snprintf(rep->idsync_version, sizeof rep->idsync_version, "%s", by ? by : "");
    if (rep->schema_version <= 0) return r_bad(r, e, "the header has no valid schema_version");
    return 0;
}

static int r_table_begin(bk_reader *r, json_t *j, const bk_sink *sink, backup_report *rep, err *e)
{
    const char *name = json_string_value(json_object_get(j, "table"));
    json_t *cols = json_object_get(j, "columns");
    if (!name || !json_is_array(cols) || json_array_size(cols) == 0 || json_array_size(cols) > 256)
        return r_bad(r, e, "a table header without a name or columns");
    if (bk_known_table(name) < 0) return r_bad(r, e, "a table idsync does not know");
    for (int i = 0; i < rep->ntables; i++)
        if (strcmp(rep->tables[i].name, name) == 0) return r_bad(r, e, "a table that appears twice");
    r->t.name = xstrdup(name);
    r->in_table = true;
    r->t.ncols = (int)json_array_size(cols);
    r->t.cols = xcalloc((size_t)r->t.ncols, sizeof *r->t.cols);
    r->vals = xcalloc((size_t)r->t.ncols, sizeof *r->vals);
    r->bins = xcalloc((size_t)r->t.ncols, sizeof *r->bins);
    r->bincaps = xcalloc((size_t)r->t.ncols, sizeof *r->bincaps);
    for (int i = 0; i < r->t.ncols; i++) {
        json_t *c = json_array_get(cols, (size_t)i);
        const char *cn = json_string_value(json_array_get(c, 0));
        const char *cls = json_string_value(json_array_get(c, 1));
        char k = cls ? bk_class_parse(cls) : 0;
        if (!cn || !k) return r_bad(r, e, "a column without a name or with an unknown type");
        r->t.cols[i].name = xstrdup(cn);
        r->t.cols[i].cls = k;
    }
    memset(&r->sum, 0, sizeof r->sum);
    snprintf(r->sum.name, sizeof r->sum.name, "%s", name);
    return sink->begin ? sink->begin(sink->ctx, &r->t, e) : 0;
}

static int r_row(bk_reader *r, json_t *a, const bk_sink *sink, err *e)
{
    if (json_array_size(a) != (size_t)r->t.ncols) return r_bad(r, e, "a row with the wrong number of values");
    for (int i = 0; i < r->t.ncols; i++) {
        json_t *x = json_array_get(a, (size_t)i);
        bk_val *v = &r->vals[i];
        memset(v, 0, sizeof *v);
        if (json_is_null(x)) {
            v->t = BK_NULL;
            continue;
        }
        v->t = r->t.cols[i].cls;
        if (v->t == BK_INTEGER) {
            if (!json_is_integer(x)) return r_bad(r, e, "a non-integer value in an integer column");
            v->i = json_integer_value(x);
        } else if (v->t == BK_TEXT) {
            if (!json_is_string(x)) return r_bad(r, e, "a non-string value in a text column");
            v->p = json_string_value(x);
            v->n = json_string_length(x);
        } else {
            if (!json_is_string(x)) return r_bad(r, e, "a non-base64 value in a blob column");
            size_t n64 = json_string_length(x), need = n64 / 4 * 3 + 3, len = 0;
            if (need > r->bincaps[i]) {
                r->bins[i] = xrealloc(r->bins[i], need);
                r->bincaps[i] = need;
            }
            if (sodium_base642bin(r->bins[i], need, json_string_value(x), n64, NULL, &len, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0)
                return r_bad(r, e, "invalid base64 in a blob column");
            v->p = r->bins[i];
            v->n = len;
        }
    }
    bk_sum_row(&r->sum, r->vals, r->t.ncols);
    return sink->row ? sink->row(sink->ctx, &r->t, r->vals, e) : 0;
}

static int r_table_end(bk_reader *r, json_t *j, const bk_sink *sink, backup_report *rep, err *e)
{
    const char *name = json_string_value(json_object_get(j, "end"));
    const char *hex = json_string_value(json_object_get(j, "sha256sum"));
    json_t *rows = json_object_get(j, "rows");
    if (!name || strcmp(name, r->t.name) != 0 || !hex || !json_is_integer(rows))
        return r_bad(r, e, "a table end marker that does not match its table");
    char mine[65];
    engine_backup_sum_hex(r->sum.sum, mine);
    if (json_integer_value(rows) != r->sum.rows)
        return err_set(e, ERR_CORRUPT, "the backup %s is damaged: table %s has %lld rows but its end marker says "
                       "%lld (the file was altered or truncated after it was written); use another backup",
                       r->path, r->t.name, (long long)r->sum.rows, (long long)json_integer_value(rows));
    if (strcmp(mine, hex) != 0)
        return err_set(e, ERR_CORRUPT, "the backup %s is damaged: table %s does not match its checksum (the file "
                       "was altered or damaged after it was written); use another backup", r->path, r->t.name);
    int rc = sink->end ? sink->end(sink->ctx, &r->t, &r->sum, e) : 0;
    if (rc) return rc;
    if (rep->ntables >= BACKUP_MAX_TABLES) return r_bad(r, e, "too many tables");
    rep->tables[rep->ntables++] = r->sum;
    r_table_clear(r);
    return 0;
}

static int r_finish(bk_reader *r, json_t *j, backup_report *rep, err *e)
{
    if (json_integer_value(json_object_get(j, "tables")) != rep->ntables)
        return r_bad(r, e, "the end marker counts a different number of tables");
    for (int i = 0; store_tables[i]; i++) {
        bool found = false;
        for (int k = 0; k < rep->ntables; k++) found |= strcmp(rep->tables[k].name, store_tables[i]) == 0;
        if (!found)
            return err_set(e, ERR_CORRUPT, "the backup %s has no table %s; it is incomplete: use another backup",
                           r->path, store_tables[i]);
    }
    return 0;
}

int bk_read_file(const char *path, const bk_sink *sink, backup_report *rep, err *e)
{
    int rc = 0, state = 0;   /* 0 header, 1 between tables, 2 in table, 3 finished */
    bk_reader r = {.path = path};
    char *line = NULL;
    size_t cap = 0;
    json_t *j = NULL;
    memset(rep, 0, sizeof *rep);
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, errno == ENOENT ? ERR_NOTFOUND : ERR_FAIL, "cannot open the backup %s: %s", path,
                       strerror(errno));
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        r.line++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (n == 0) continue;
        if (state == 3) {
            rc = r_bad(&r, e, "data after the end of the backup");
            goto done;
        }
        json_error_t je;
        j = json_loadb(line, (size_t)n, 0, &je);
        if (!j && state == 0) {
            rc = err_set(e, ERR_CORRUPT, "%s is not an idsync backup file (its first line is not an idsync-backup "
                         "header); pass a file written by `idsync db backup`", path);
            goto done;
        }
        if (!j) {
            rc = r_bad(&r, e, "a line that is not valid JSON");
            goto done;
        }
        if (state == 0) {
            rc = r_header(&r, j, rep, e);
            state = 1;
        } else if (state == 2 && json_is_array(j)) {
            rc = r_row(&r, j, sink, e);
        } else if (state == 2 && json_is_object(j) && json_object_get(j, "end")) {
            rc = r_table_end(&r, j, sink, rep, e);
            state = 1;
        } else if (state == 1 && json_is_object(j) && json_object_get(j, "table")) {
            rc = r_table_begin(&r, j, sink, rep, e);
            state = 2;
        } else if (state == 1 && json_is_object(j) && json_is_true(json_object_get(j, "end_of_backup"))) {
            rc = r_finish(&r, j, rep, e);
            state = 3;
        } else {
            rc = r_bad(&r, e, "a line that does not belong here");
        }
        json_decref(j);
        j = NULL;
        if (rc) goto done;
    }
    if (ferror(f)) {
        rc = err_set(e, ERR_FAIL, "cannot read the backup %s: %s", path, strerror(errno));
        goto done;
    }
    if (state != 3) {
        rc = err_set(e, ERR_CORRUPT, "the backup %s is truncated (it ends %s%s before its end marker); it is "
                     "incomplete: use another backup", path, r.in_table ? "inside table " : "",
                     r.in_table ? r.t.name : "");
        goto done;
    }
    rep->bytes = (int64_t)ftell(f);
done:
    json_decref(j);
    r_table_clear(&r);
    free(line);
    fclose(f);
    return rc;
}
