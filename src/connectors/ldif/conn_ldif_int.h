/* ldif connector internals: the streaming LDIF reader and the LDIF value writer. */
#ifndef IDSYNC_CONNECTORS_LDIF_CONN_LDIF_INT_H
#define IDSYNC_CONNECTORS_LDIF_CONN_LDIF_INT_H
#include "util/util_buf.h"
#include "util/util_err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* One attribute value line of an entry. */
typedef struct ldif_attrval {
    char *name;          /* owned: attribute description as written (options kept, e.g. "cn;lang-en") */
    char *val;           /* owned: value bytes, NUL-terminated (binary values may contain NULs) */
    size_t len;
    bool base64;         /* the value was written "name:: base64" */
    size_t line;         /* line number where the value starts */
} ldif_attrval;

/* One entry of a content LDIF file. All members owned; reuse across ldif_reader_next calls. */
typedef struct ldif_entry {
    char *dn;            /* NUL-terminated */
    size_t line;         /* line number of the dn: line */
    size_t n, cap;
    ldif_attrval *av;    /* in file order */
} ldif_entry;

typedef struct ldif_reader ldif_reader;   /* opaque; reads one logical line at a time */

/* Opens path for reading ("-" is not accepted: the connector reads files). The caller closes
   the reader with ldif_reader_close. */
int ldif_reader_open(const char *path, ldif_reader **out, err *e);
/* Same over an already open stream (borrowed: not closed by ldif_reader_close); name is used
   in messages. */
ldif_reader *ldif_reader_from_stream(FILE *f, const char *name);
/* Reads the next entry into ent (previous content cleared). Returns 1 with an entry, 0 at the
   end of the file, or a negative ERR_* (ERR_CORRUPT for malformed input, message
   "FILE line N: ...") after which the reader must not be used; ent may then hold part of the
   entry (release it with ldif_entry_free as usual). Change records (changetype:),
   `:<` URL values and invalid base64 or UTF-8 are errors. */
int ldif_reader_next(ldif_reader *r, ldif_entry *ent, err *e);
void ldif_reader_close(ldif_reader *r);   /* accepts NULL */
void ldif_entry_clear(ldif_entry *ent);   /* frees the values, keeps ent reusable */
void ldif_entry_free(ldif_entry *ent);    /* frees everything ent holds (ent itself is the caller's) */

/* Appends "name: value\n" (or "name:: base64\n" when the value is not a SAFE-STRING per
   RFC 2849 section 2 / note 8, e.g. non-ASCII, leading space/colon/<, trailing space, CR/LF/NUL),
   folded at 76 columns. */
void ldif_write_attr(buf *out, const char *name, const void *val, size_t len);
#endif
