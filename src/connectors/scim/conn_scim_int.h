/* Internals shared by the files of the SCIM connector (not for the engine): the connector
 * instance, the HTTP transport, authentication and the attribute <-> JSON mapping. */
#ifndef IDSYNC_CONNECTORS_SCIM_CONN_SCIM_INT_H
#define IDSYNC_CONNECTORS_SCIM_CONN_SCIM_INT_H
#include "connectors/connector.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>

#define SCIM_SCHEMA_USER "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_SCHEMA_GROUP "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_SCHEMA_ENTERPRISE "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_MSG_PATCHOP "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_MSG_LIST "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_MSG_BULKREQ "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

/* ---------- resource kinds ---------- */
typedef enum scim_kind { SCIM_USER = 0, SCIM_GROUP = 1 } scim_kind;
/* "user" / "group" (case-insensitive) -> kind; -1 for any other object type. */
int scim_kind_parse(const char *object_type, scim_kind *out);
const char *scim_kind_endpoint(scim_kind k);   /* "Users" / "Groups" */
const char *scim_kind_type(scim_kind k);       /* "user" / "group" */

/* ---------- authentication (conn_scim_auth.c) ---------- */
typedef struct scim_auth {
    bool oauth2;
    char *token;            /* owned secret: the bearer token in use (static or issued); wiped on free */
    char *client_secret;    /* owned secret (oauth2 only); wiped on free */
    char *token_url;        /* owned (oauth2) */
    char *client_id;        /* owned (oauth2) */
    char *scope;            /* owned, may be NULL */
    double expires_at;      /* monotonic ms; 0 = never (static token) */
    double ttl_ms;          /* lifetime of the current oauth2 token */
    unsigned refreshes;     /* number of tokens fetched so far (tests, logs) */
} scim_auth;

/* ---------- the connector instance ---------- */
struct conn {
    char *name;             /* owned: connector name (messages) */
    char *base;             /* owned: base URL without trailing '/' */
    scim_auth auth;
    CURLM *multi;           /* owned: connection cache shared by every request of this instance */
    /* options (see conn_scim.c option table) */
    long concurrency;
    long timeout_ms;
    long connect_timeout_ms;
    bool tls_verify;
    char *ca_file;          /* owned, may be NULL */
    bool soft_delete;
    char *match_attr;       /* owned: "externalId", "userName" or NULL (soft match off) */
    bool bulk_auto;         /* bulk=auto */
    long page_size;         /* import page size (count) */
    long retry_max_wait_ms; /* total wait budget per request for 429/503 */
    long max_retries_5xx;    /* retries of 500/502/504 and broken connections */
    /* discovered from /ServiceProviderConfig at open */
    bool bulk_supported;
    int bulk_max_ops;
    long bulk_max_payload;
    bool or_match_broken;   /* the server refused an OR filter: soft match one GET per object */
};

/* Fills c->auth from cfg/secret and, for oauth2, fetches the first token. secret is borrowed
   (copied for oauth2's refreshes; copied as the token for bearer). */
int scim_auth_init(conn *c, const conn_config *cfg, const char *secret, err *e);
/* Refreshes an oauth2 token that expires within 60 s (no-op for bearer). */
int scim_auth_ensure(conn *c, err *e);
/* Fetches a new oauth2 token now; ERR_AUTH for bearer (nothing to refresh). */
int scim_auth_refresh(conn *c, err *e);
/* Wipes and frees the secrets in a; accepts an already-freed (zeroed) a. */
void scim_auth_free(scim_auth *a);

/* ---------- HTTP transport (conn_scim_http.c) ---------- */
typedef struct scim_req {
    /* input, set by scim_req_init */
    const char *method;     /* static string: GET, POST, PATCH, DELETE */
    char *url;              /* owned */
    char *body;             /* owned, may be NULL */
    size_t tag;             /* caller's cookie (e.g. item index) */
    /* output */
    long status;            /* HTTP status of the final attempt; 0 = no response */
    int curl_code;          /* CURLcode of the final attempt (0 = a response came) */
    bool sent;              /* at least one attempt was started */
    bool skipped;           /* never completed because the run stopped (auth/connection failure) */
    int attempts;
    double waited_ms;       /* total backoff waited */
    buf resp;               /* response body (owned) */
    char curl_msg[CURL_ERROR_SIZE]; /* transport error text */
    /* internal */
    CURL *easy;
    struct curl_slist *hdrs;
    double not_before;      /* monotonic ms */
    long retry_after_ms;    /* from the Retry-After header of the last answer, -1 if none */
    int state;
    size_t idx;             /* position in the current run */
} scim_req;

/* Initialises r for method url (consumed: freed by scim_req_free) with body (consumed, may be NULL). */
void scim_req_init(scim_req *r, const char *method, char *url, char *body, size_t tag);
void scim_req_free(scim_req *r);   /* frees owned members; r itself is the caller's; accepts NULL */

/* Sends every request, up to c->concurrency in flight over reused connections, retrying 429/503
   (Retry-After, bounded exponential backoff within c->retry_max_wait_ms), 500/502/504 and broken
   connections (c->max_retries_5xx times) and, with oauth2, a 401 once after refreshing the token.
   Returns 0 when every request has a final answer in status/curl_code (error statuses included);
   ERR_AUTH when the server rejects the credentials (401/403): requests not yet answered are
   marked skipped; ERR_RETRY when the server cannot be reached (connection refused, DNS): same. */
int scim_http_run(conn *c, scim_req **reqs, size_t n, err *e);
/* One request (convenience around scim_http_run). */
int scim_http_one(conn *c, scim_req *r, err *e);
/* Joins c->base, "/", path (path not escaped: escape its parts with scim_escape). Caller frees. */
char *scim_url(const conn *c, const char *path);
/* URL-escapes s (percent-encoding). Caller frees. */
char *scim_escape(const char *s, size_t len);
/* Milliseconds of a monotonic clock. */
double scim_now_ms(void);
/* "HTTP 409 (uniqueness): userName 'x' already in use" from an error answer; caller frees. */
char *scim_http_describe(const scim_req *r);
/* The ERR_AUTH message for a 401/403 from url (fills e, returns ERR_AUTH). */
int scim_auth_error(const conn *c, long status, err *e);

/* ---------- attribute mapping (conn_scim_map.c) ---------- */
/* Maps one SCIM resource (user or group) to connector space attributes (added to out, which
   should be empty). *id_out borrows the resource's id from res (NULL when absent). Unknown SCIM
   attributes are ignored. Returns 0, or ERR_CORRUPT when res is not an object. */
int scim_map_from_json(scim_kind k, const json_t *res, attrs *out, const char **id_out, err *e);
/* Builds the JSON resource (with schemas) for a POST from connector space attributes.
   Returns a new reference, or NULL with e filled (unknown attribute, bad boolean, several values
   for a single-valued attribute). */
json_t *scim_map_to_json(scim_kind k, const attrs *a, err *e);
/* Builds a PatchOp message (RFC 7644 3.5.2) carrying only the given changes; group members are
   added/removed value by value. Returns a new reference (Operations may be empty), or NULL with e. */
json_t *scim_patch_from_mods(scim_kind k, const conn_mod *mods, size_t n, err *e);
/* PatchOp turning current into desired for the attributes present in desired (attributes absent
   from desired are left alone); members by add/remove of the differences only. New reference or NULL. */
json_t *scim_patch_from_diff(scim_kind k, const attrs *desired, const attrs *current, err *e);
/* True if name is a connector space attribute the mapping knows for kind. */
bool scim_map_known(scim_kind k, const char *name);
/* Appends s as a SCIM filter string literal (quotes, escapes) to b (RFC 7644 3.4.2.2). */
void scim_filter_quote(buf *b, const char *s);

/* ---------- export (conn_scim_export.c, conn_scim_bulk.c) ---------- */
typedef enum scim_step { JS_DONE = 0, JS_MATCH, JS_POST, JS_PATCH, JS_DELETE } scim_step;

/* One export item on its way: what to send next and how to read the answer. */
typedef struct scim_job {
    conn_export_item *it;   /* borrowed from the engine */
    scim_kind kind;
    scim_step step;
    char *id;               /* owned: target SCIM id (update/delete/adopt) */
    char *label;            /* owned: how messages name the object */
    char *body;             /* owned: JSON body of the next POST/PATCH */
    bool adopting;          /* ADD that matched an existing resource */
    bool deleting;          /* DELETE (also when sent as PATCH active=false) */
} scim_job;

/* Sets the final outcome of a job (message: printf, may be NULL for success). */
void scim_job_finish(scim_job *j, conn_export_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads the answer (status, body) to j's current step, as from a single request or a Bulk
   operation, and sets the job's next step or outcome. body may be NULL. */
void scim_job_answer(conn *c, scim_job *j, long status, const json_t *body, const char *describe);
/* Relative path of j's current request ("Users", "Users/<escaped id>"); caller frees. */
char *scim_job_path(const scim_job *j);
/* Method of j's current step ("POST", "PATCH", "DELETE"). */
const char *scim_job_method(const scim_job *j);
/* Sends the POST/PATCH/DELETE steps of jobs through /Bulk (RFC 7644 3.7). Jobs the server did not
   settle (Bulk refused, per-operation 429/5xx) keep their step for one-by-one sending. Returns 0
   or the run's ERR_AUTH/ERR_RETRY (jobs left unsettled). */
int scim_bulk_send(conn *c, scim_job **jobs, size_t n, err *e);

/* ---------- export / import ---------- */
int scim_export_batch(conn *c, conn_export_item *items, size_t n, err *e);
int scim_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e);
#endif
