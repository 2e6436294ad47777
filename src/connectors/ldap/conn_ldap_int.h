/* Internals shared by the ldap and ad connectors: the connection object, option table,
 * entry conversion, paged/ranged search, DN scope helpers and control codecs.
 * Not part of the engine's contract (that is conn_ldap.h + connector.h). */
#ifndef IDSYNC_CONNECTORS_LDAP_CONN_LDAP_INT_H
#define IDSYNC_CONNECTORS_LDAP_CONN_LDAP_INT_H
#include "connectors/connector.h"
#include <lber.h>
#include <ldap.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- attribute type map (conn_ldap_types.c) ---- */
typedef struct ldap_type_ent {
    char *name;       /* owned, lower-case attribute name */
    attr_type type;
} ldap_type_ent;

typedef struct ldap_type_map {
    size_t n, cap;
    ldap_type_ent *e;  /* owned, sorted by name once conn_ldap_types_sort ran */
    bool loaded;       /* schema read (or attempted) from the server */
} ldap_type_map;

/* ---- resolved OU scope (conn_ldap_scope.c) ---- */
typedef struct ldap_scope {
    size_t n;
    char **dn;        /* owned DNs, current (after <GUID=...> resolution) */
    bool *include;    /* parallel to dn: true = include, false = exclude */
    size_t ninclude;  /* number of include entries (0 = whole partition in scope) */
} ldap_scope;

typedef enum ldap_delta_mode {
    LDAP_DELTA_AUTO = 0,       /* sync when the server advertises it, else timestamp */
    LDAP_DELTA_SYNC = 1,       /* RFC 4533 refreshOnly */
    LDAP_DELTA_TIMESTAMP = 2,  /* modifyTimestamp watermark; deletes need a full import */
} ldap_delta_mode;

/* A connector instance. Everything is owned by it and freed by conn_ldap_close. */
struct conn {
    bool is_ad;               /* ad: objectGUID anchor, DirSync; else ldap: entryUUID, RFC 4533 */
    LDAP *ld;
    char *name;               /* connector name, for messages */
    char *url;
    char *bind_dn;            /* may be NULL (anonymous) */
    size_t ninclude, nexclude;
    char **include_ous;       /* as configured (DNs or <GUID=hex32>) */
    char **exclude_ous;
    /* options */
    int page_size;
    size_t max_value_bytes;
    int timeout_s;            /* per network read */
    char *filter;             /* object filter for imports */
    bool object_security;     /* ad: DirSync flag LDAP_DIRSYNC_OBJECT_SECURITY */
    ldap_delta_mode delta_mode;
    int ts_margin_s;          /* timestamp mode: watermark = start time - margin */
    char **ignore;            /* owned NULL-terminated list of attribute names dropped on import */
    bool load_schema;         /* read attribute syntaxes from the server */
    bool server_has_sync;     /* ldap: rootDSE lists the RFC 4533 sync control */
    ldap_type_map types;
    ldap_scope scope;
    /* attribute name -> type, remembered per connection: every entry repeats the same names */
    struct { char name[48]; attr_type type; } type_cache[128];
};

/* ---- options (conn_ldap_opts.c) ---- */
/* The value of option key in cfg (borrowed), or def. */
const char *conn_ldap_opt(const conn_config *cfg, const char *key, const char *def);
/* Checks every option against the table for this connector type. */
int conn_ldap_opts_validate(const conn_config *cfg, bool is_ad, err *e);
/* Fills c's option fields from cfg (validated first). */
int conn_ldap_opts_load(conn *c, const conn_config *cfg, err *e);

/* ---- connection (conn_ldap_conn.c) ---- */
int conn_ldap_validate(const conn_config *cfg, bool is_ad, err *e);
int conn_ldap_open(const conn_config *cfg, const char *secret, bool is_ad, conn **out, err *e);
/* SASL (conn_ldap_sasl.c): binds with mechanism mech, answering libldap's questions from the
   sasl_authcid (default: the bind DN), sasl_authzid, sasl_realm options and secret. */
int conn_ldap_sasl_bind(conn *c, const conn_config *cfg, const char *mech, const char *secret, err *e);
/* True for mechanisms that take a password (not EXTERNAL, GSSAPI, GSS-SPNEGO). */
bool conn_ldap_sasl_mech_needs_password(const char *mech);
/* conn_ops.secret_optional: a SASL mechanism that brings its own credentials. */
bool conn_ldap_secret_optional(const conn_config *cfg);
void conn_ldap_close(conn *c);
/* Maps an LDAP result code of operation `what` to an ERR_* code and message naming the
 * connector URL; diag is the server's text (may be NULL). Returns the ERR_* code. */
int conn_ldap_fail(conn *c, int rc, const char *diag, const char *what, err *e);
/* True for result codes worth retrying later (busy, unavailable, server down, timeout). */
bool conn_ldap_rc_is_transient(int rc);

/* ---- search (conn_ldap_search.c) ---- */
typedef struct ldap_search_cb {
    void *ctx;
    /* Called for every entry; non-zero aborts the search with that code. */
    int (*entry)(void *ctx, LDAPMessage *msg, err *e);
    /* Called for intermediate responses (may be NULL: ignored). */
    int (*intermediate)(void *ctx, LDAPMessage *msg, err *e);
} ldap_search_cb;

typedef struct ldap_search_res {
    int rc;                   /* LDAP result code of the SearchResultDone */
    char *diag;               /* owned server message (may be NULL) */
    LDAPControl **ctrls;      /* owned response controls (may be NULL) */
} ldap_search_res;
void conn_ldap_search_res_clear(ldap_search_res *r);

/* Runs one search and streams its messages to cb. Returns 0 when a SearchResultDone
 * arrived (its code is in res->rc; res is the caller's to clear), or a negative ERR_*
 * when the connection failed or a callback aborted. */
int conn_ldap_search(conn *c, const char *base, int scope, const char *filter, char **attrs,
                     LDAPControl **sctrls, const ldap_search_cb *cb, ldap_search_res *res, err *e);
/* Paged search (RFC 2696) of the whole result; calls page_done(ctx) after each page.
 * Any result code other than success is turned into an error. */
int conn_ldap_search_paged(conn *c, const char *base, int scope, const char *filter, char **attrs,
                           const ldap_search_cb *cb, int (*page_done)(void *ctx, err *e), err *e);

/* ---- entries (conn_ldap_entry.c) ---- */
typedef struct ldap_entry {
    char *dn;                 /* owned */
    attrs *a;                 /* owned: attribute values */
    attrs *added;             /* owned: incremental (DirSync ;range=1-1) added values */
    attrs *removed;           /* owned: incremental (DirSync ;range=0-0) removed values */
    bool has_incremental;
} ldap_entry;
void conn_ldap_entry_clear(ldap_entry *ent);
/* Converts msg into ent (cleared first). incremental: treat ;range=1-1 / ;range=0-0 as
 * DirSync incremental values; otherwise a ranged attribute is completed by further base
 * searches. Problems with single values are reported through sink->warning. */
int conn_ldap_entry_read(conn *c, LDAPMessage *msg, bool incremental, const conn_sink *sink,
                         ldap_entry *ent, err *e);
/* Reads the object at base (a DN or <GUID=...>) fully into ent. ERR_NOTFOUND if absent. */
int conn_ldap_entry_fetch(conn *c, const char *base, const conn_sink *sink, ldap_entry *ent, err *e);
/* Attribute list requested on imports (static storage). */
char **conn_ldap_import_attrs(const conn *c);
/* Most specific object class (borrowed from a), or NULL. */
const char *conn_ldap_object_type(const conn *c, const attrs *a);
/* The anchor of ent: objectGUID (16 bytes) for ad, entryUUID text for ldap. */
bool conn_ldap_entry_anchor(const conn *c, const ldap_entry *ent, const void **anchor, size_t *len);
/* Parses "name;range=LOW-HIGH" (other options kept in name). Returns true if a range was present;
   high is -1 for "*". base_out receives the name without the range option. */
bool conn_ldap_parse_range(const char *desc, buf *base_out, long *low, long *high);

/* ---- attribute types (conn_ldap_types.c) ---- */
attr_type conn_ldap_attr_type(conn *c, const char *name);
/* Reads attribute syntaxes from the server schema (once); failures fall back to the built-in table. */
void conn_ldap_types_load(conn *c);
void conn_ldap_types_free(ldap_type_map *m);
void conn_ldap_types_put(ldap_type_map *m, const char *name, attr_type t);
void conn_ldap_types_sort(ldap_type_map *m);
/* Type for an LDAP syntax OID (RFC 4517) or an AD attributeSyntax (2.5.5.x). */
attr_type conn_ldap_syntax_type(const char *oid);

/* ---- DN and scope (conn_ldap_scope.c) ---- */
/* True if dn equals base or lies below it (RDN-wise, case-insensitive). Unparsable -> false. */
bool conn_ldap_dn_is_under(const char *dn, const char *base);
/* Number of RDNs in dn, or -1 if it does not parse. */
int conn_ldap_dn_depth(const char *dn);
/* Resolves the configured OU lists (DNs or <GUID=hex32> / <UUID=text>) to current DNs. */
int conn_ldap_scope_resolve(conn *c, const char *partition, err *e);
void conn_ldap_scope_clear(ldap_scope *s);
/* In scope: the deepest include/exclude entry containing dn decides; none: in scope iff
   there are no includes. */
bool conn_ldap_scope_contains(const ldap_scope *s, const char *dn);
/* Bases a full import must search: the includes (minus nested ones) below partition, or partition.
   Returns a NULL-terminated array of borrowed strings; the caller frees the array only. */
const char **conn_ldap_scope_bases(const ldap_scope *s, const char *partition);
/* Hex helpers: out gets 2*len lower-case hex chars. */
void conn_ldap_hex(const void *data, size_t len, buf *out);
/* 16 raw UUID bytes -> "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (RFC 4122 byte order). */
void conn_ldap_uuid_text(const unsigned char raw[16], char out[37]);
/* Parses hex (any case) of exactly len*2 digits; returns 0 or -1. */
int conn_ldap_unhex(const char *hex, unsigned char *out, size_t len);

/* ---- controls (conn_ldap_controls.c) ---- */
/* DirSync request (MS-ADTS 3.1.1.3.4.1.3): SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING } */
int conn_ldap_dirsync_encode(unsigned int flags, int max_bytes, const void *cookie, size_t cookie_len,
                             struct berval *out, err *e);  /* out->bv_val freed with ber_memfree */
/* DirSync response: SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING } */
int conn_ldap_dirsync_decode(const struct berval *val, bool *more, buf *cookie, err *e);
/* RFC 4533 syncRequestValue: SEQUENCE { mode ENUMERATED, cookie OCTET STRING OPTIONAL, reloadHint BOOLEAN } */
int conn_ldap_syncreq_encode(int mode, const void *cookie, size_t cookie_len, struct berval *out, err *e);
/* syncStateValue: SEQUENCE { state ENUMERATED, entryUUID OCTET STRING(16), cookie OCTET STRING OPTIONAL } */
int conn_ldap_syncstate_decode(const struct berval *val, int *state, unsigned char uuid[16],
                               buf *cookie, bool *has_cookie, err *e);
/* syncDoneValue: SEQUENCE { cookie OCTET STRING OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE } */
int conn_ldap_syncdone_decode(const struct berval *val, buf *cookie, bool *has_cookie,
                              bool *refresh_deletes, err *e);

/* syncInfoValue (RFC 4533 2.5): one of newcookie, refreshDelete, refreshPresent, syncIdSet. */
typedef enum ldap_syncinfo_kind {
    SYNCINFO_NEWCOOKIE = 0,
    SYNCINFO_REFRESH_DELETE = 1,
    SYNCINFO_REFRESH_PRESENT = 2,
    SYNCINFO_ID_SET = 3,
} ldap_syncinfo_kind;
typedef struct ldap_syncinfo {
    ldap_syncinfo_kind kind;
    buf cookie;               /* owned */
    bool has_cookie;
    bool refresh_done;        /* refreshDelete / refreshPresent */
    bool refresh_deletes;     /* syncIdSet: true = the UUIDs were deleted, false = present */
    size_t nuuids;
    unsigned char (*uuids)[16]; /* owned */
} ldap_syncinfo;
int conn_ldap_syncinfo_decode(const struct berval *val, ldap_syncinfo *out, err *e);
void conn_ldap_syncinfo_clear(ldap_syncinfo *si);

/* ---- imports ---- */
int conn_ad_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e);
int conn_ad_delta_import(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                         const conn_sink *sink, buf *cookie_out, err *e);
/* Obtains a DirSync cookie covering the directory's current state without reading objects. */
int conn_ad_dirsync_current_cookie(conn *c, const char *partition, buf *cookie_out, err *e);
int conn_ldap_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e);
int conn_ldap_delta_import(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                           const conn_sink *sink, buf *cookie_out, err *e);
/* RFC 4533 (conn_ldap_syncrepl.c): cookie "sync:<server cookie>" of the current state; delta since it. */
int conn_ldap_sync_current_cookie(conn *c, const char *partition, buf *cookie_out, err *e);
int conn_ldap_sync_delta(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                         const conn_sink *sink, buf *cookie_out, err *e);
/* modifyTimestamp watermark (conn_ldap_tsdelta.c): cookie "ts:YYYYmmddHHMMSSZ". */
int conn_ldap_ts_current_cookie(conn *c, buf *cookie_out);
int conn_ldap_ts_delta(conn *c, const char *partition, const void *cookie, size_t cookie_len,
                       const conn_sink *sink, buf *cookie_out, err *e);
/* Pages through every base of the resolved OU scope, reporting each object as ADD and
   checkpointing (without cookie) after each page. */
int conn_ldap_paged_full(conn *c, const char *partition, const conn_sink *sink, err *e);
/* Reports one object (ADD, full attributes) if it is in scope and has an anchor. */
int conn_ldap_report_full(conn *c, const conn_sink *sink, conn_change change, ldap_entry *ent, err *e);

/* ---- export (conn_ldap_export.c) ---- */
int conn_ldap_export_batch(conn *c, conn_export_item *items, size_t n, err *e);
int conn_ldap_lookup_anchor(conn *c, const char *dn, buf *anchor_out, err *e);
#endif
