/* Attribute sets: the in-memory form of a directory object's attributes, shared by
 * connectors (what they import/export), the engine (CS and MV objects) and the
 * expression language (its inputs). Names compare case-insensitively (LDAP rule);
 * the set keeps them sorted so lookups are binary searches and diffs are merges. */
#ifndef IDSYNC_UTIL_ATTRS_H
#define IDSYNC_UTIL_ATTRS_H
#include "util/util_buf.h"
#include "util/util_err.h"
#include <stdbool.h>
#include <stddef.h>

typedef enum attr_type {
    AT_STRING = 1,    /* UTF-8 text */
    AT_BINARY = 2,    /* raw bytes (objectGUID, objectSid, ms-DS-ConsistencyGuid) */
    AT_INTEGER = 3,   /* decimal text of a signed 64-bit integer */
    AT_BOOLEAN = 4,   /* "TRUE" or "FALSE" (LDAP syntax) */
    AT_REFERENCE = 5, /* DN of another object in the same connector (CS) or an MV id (MV) */
    AT_DATETIME = 6,  /* text, generalized time or ISO 8601 */
} attr_type;

typedef struct aval {
    size_t len;  /* bytes, excluding the terminating NUL */
    char *data;  /* owned; always NUL-terminated so text values are C strings */
} aval;

struct attrs_pool;

typedef struct attr {
    char *name;      /* owned; case preserved as first seen */
    attr_type type;
    size_t nvals;    /* 0 is allowed transiently; attrs_encode skips empty attributes */
    size_t cap;
    aval *vals;      /* owned */
    struct attrs_pool *pool;  /* non-NULL: name, vals and values live in the set's pool (see attrs_new_pooled) */
} attr;

typedef struct attrs {
    size_t n;
    size_t cap;
    attr *a;         /* owned, sorted by strcasecmp(name) */
    struct attrs_pool *pool;  /* owned; NULL for an ordinary set */
} attrs;

/* Attribute name order and equality: ASCII case-insensitive, the same result as strcasecmp
   in the C locale (idsync never changes LC_CTYPE), inlined because set lookups, merges and
   flow resolution compare names for every attribute of every object. */
static inline int attr_name_cmp(const char *x, const char *y)
{
    const unsigned char *p = (const unsigned char *)x, *q = (const unsigned char *)y;
    for (;; p++, q++) {
        unsigned a = *p, b = *q;
        if (a == b) {
            if (!a) return 0;
            continue;
        }
        a += (a - 'A' < 26u) << 5;
        b += (b - 'A' < 26u) << 5;
        if (a != b) return (int)a - (int)b;
    }
}
static inline bool attr_name_eq(const char *x, const char *y) { return attr_name_cmp(x, y) == 0; }

const char *attr_type_name(attr_type t);  /* "string", "binary", ... */
int attr_type_parse(const char *s, attr_type *out);  /* inverse; -1 if unknown */

attrs *attrs_new(void);                        /* caller frees with attrs_free */
/* A set whose names and values come from one growing pool, freed all at once by attrs_free:
   for short-lived sets built value by value (a directory entry being decoded), where one
   allocation per value dominates. Same API; only code that assigns aval.data or attr.vals
   directly must not be given a pooled set. attrs_clone of it is an ordinary set. */
attrs *attrs_new_pooled(void);
/* Makes an empty ordinary set pooled (as attrs_new_pooled), for a set its creator hands to code
   that fills it attribute by attribute. Returns false and changes nothing if s has attributes
   or is pooled already. */
bool attrs_use_pool(attrs *s);
void attrs_free(attrs *s);                     /* accepts NULL */
void attrs_clear(attrs *s);                    /* removes all attributes, keeps s */
attrs *attrs_clone(const attrs *s);            /* deep copy; caller frees */

/* Borrowed pointer into s, or NULL. Invalidated by any insertion or removal. */
attr *attrs_get(const attrs *s, const char *name);
/* First value as text, or NULL when absent or empty. Borrowed. */
const char *attrs_get_str(const attrs *s, const char *name);
/* Returns the attribute named name, created empty if absent; if present, its values
 * are removed and its type set to type. Borrowed pointer, invalidated as above. */
attr *attrs_put(attrs *s, const char *name, attr_type type);
/* Returns the existing attribute (values kept) or a new empty one of type. */
attr *attrs_get_or_add(attrs *s, const char *name, attr_type type);
/* Removes the attribute; returns true if it existed. */
bool attrs_remove(attrs *s, const char *name);

/* Appends a copy of data[0..len) to a's values. */
void attr_add(attr *a, const void *data, size_t len);
void attr_add_str(attr *a, const char *s);
/* Appends data (len bytes, NUL-terminated, from malloc) taking ownership of it: no copy unless a
   is pooled (then it is copied into the pool and freed). */
void attr_add_owned(attr *a, char *data, size_t len);
/* Adds only if no equal value is present (equality per attr_value_equal). Returns true if added. */
bool attr_add_unique(attr *a, const void *data, size_t len);
/* Removes the first equal value; returns true if found. */
bool attr_remove_value(attr *a, const void *data, size_t len);
bool attr_has_value(const attr *a, const void *data, size_t len);
/* Convenience: attrs_put(name, AT_STRING) + one value. */
void attrs_set_str(attrs *s, const char *name, const char *value);

/* Value equality: binary and integer compare exactly; string, boolean, reference and
 * datetime compare ASCII-case-insensitively (directory matching rules). */
bool attr_value_equal(attr_type t, const aval *x, const aval *y);
/* Same type, same multiset of values (order ignored). */
bool attr_equal(const attr *x, const attr *y);
bool attrs_equal(const attrs *x, const attrs *y);

/* Compact binary encoding for the database (engine-neutral, versioned by a first byte).
 * attrs_decode returns a new set the caller frees, or NULL with e filled on bad input; the set
 * is pooled (see attrs_new_pooled: its names and values are one allocation), unless empty. */
void attrs_encode(const attrs *s, buf *out);
attrs *attrs_decode(const void *data, size_t len, err *e);

/* True if data[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const void *data, size_t len);
#endif
