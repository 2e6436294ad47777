/* SCIM connector: sending the writes of an export batch through /Bulk (RFC 7644 3.7), within the
 * server's maxOperations and maxPayloadSize, several Bulk requests in parallel. */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>

#define BULK_OPS_CAP 1000

typedef struct chunk {
    size_t first, count;   /* range in the list of bulk jobs */
} chunk;

/* Bulk operation status: "201" (RFC 7644) or 201. */
static long op_status(const json_t *op)
{
    const json_t *s = json_object_get(op, "status");
    if (json_is_integer(s))
        return (long)json_integer_value(s);
    if (json_is_string(s))
        return strtol(json_string_value(s), NULL, 10);
    if (json_is_object(s)) {   /* early drafts: {"code": "201"} */
        const json_t *code = json_object_get(s, "code");
        if (json_is_integer(code))
            return (long)json_integer_value(code);
        if (json_is_string(code))
            return strtol(json_string_value(code), NULL, 10);
    }
    return 0;
}

static json_t *bulk_op(const scim_job *j, size_t idx)
{
    char *path = scim_job_path(j);
    char *ref = xasprintf("/%s", path);
    char bid[32];
    snprintf(bid, sizeof bid, "j%zu", idx);
    json_t *o = json_pack("{s:s,s:s,s:s}", "method", scim_job_method(j), "path", ref, "bulkId", bid);
    if (j->step == JS_POST || j->step == JS_PATCH) {
        json_error_t je;
        json_t *data = json_loads(j->body, 0, &je);
        json_object_set_new(o, "data", data ? data : json_object());
    }
    free(ref);
    free(path);
    return o;
}

/* Settles the jobs of one chunk from the server's BulkResponse. Retryable per-operation statuses
   (429, 5xx) and operations missing from the answer stay unsettled for one-by-one sending. */
static void read_response(conn *c, scim_job **bj, const chunk *ch, const json_t *resp)
{
    const json_t *ops = json_object_get(resp, "Operations");
    size_t i;
    const json_t *op;
    json_array_foreach(ops, i, op) {
        const char *bid = json_string_value(json_object_get(op, "bulkId"));
        size_t k = ch->first + i;
        if (bid && bid[0] == 'j') {
            char *end;
            unsigned long v = strtoul(bid + 1, &end, 10);
            if (*end || v < ch->first || v >= ch->first + ch->count)
                continue;
            k = v;
        } else if (i >= ch->count) {
            continue;
        }
        scim_job *j = bj[k];
        if (j->step == JS_DONE)
            continue;
        long st = op_status(op);
        if (st == 0 || st == 429 || st >= 500)
            continue;
        const json_t *r = json_object_get(op, "response");
        json_t *body = NULL;
        if (j->step == JS_POST && st >= 200 && st < 300) {
            /* the id is the last segment of location (RFC 7644 3.7.3); some servers add response.id */
            const char *id = json_string_value(json_object_get(r, "id"));
            const char *loc = json_string_value(json_object_get(op, "location"));
            const char *slash = loc ? strrchr(loc, '/') : NULL;
            if (!id && slash && slash[1])
                id = slash + 1;
            body = id ? json_pack("{s:s}", "id", id) : json_object();
        }
        char *d;
        const char *detail = json_string_value(json_object_get(r, "detail"));
        const char *stype = json_string_value(json_object_get(r, "scimType"));
        if (detail)
            d = xasprintf("HTTP %ld%s%s%s: %.400s", st, stype ? " (" : "", stype ? stype : "", stype ? ")" : "", detail);
        else
            d = xasprintf("HTTP %ld", st);
        scim_job_answer(c, j, st, body, d);
        free(d);
        json_decref(body);
    }
}

int scim_bulk_send(conn *c, scim_job **jobs, size_t n, err *e)
{
    int rc = 0;
    size_t nb = 0, nch = 0;
    scim_job **bj = xcalloc(n ? n : 1, sizeof *bj);
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->step == JS_POST || jobs[i]->step == JS_PATCH || jobs[i]->step == JS_DELETE)
            bj[nb++] = jobs[i];
    chunk *chunks = xcalloc(nb ? nb : 1, sizeof *chunks);
    scim_req *reqs = xcalloc(nb ? nb : 1, sizeof *reqs);
    scim_req **rp = xcalloc(nb ? nb : 1, sizeof *rp);
    size_t max_ops = (size_t)c->bulk_max_ops < BULK_OPS_CAP ? (size_t)c->bulk_max_ops : BULK_OPS_CAP;
    /* spread the operations over the parallel connections, but not into tiny requests */
    size_t per = (nb + (size_t)c->concurrency - 1) / (size_t)c->concurrency;
    if (per < 25)
        per = 25;
    if (per < max_ops)
        max_ops = per;
    size_t max_bytes = (size_t)c->bulk_max_payload - (size_t)c->bulk_max_payload / 10;   /* headroom */
    for (size_t i = 0; i < nb;) {
        json_t *arr = json_array();
        size_t bytes = 200, first = i;
        while (i < nb && json_array_size(arr) < max_ops) {
            json_t *o = bulk_op(bj[i], i);
            size_t sz = json_dumpb(o, NULL, 0, JSON_COMPACT) + 1;
            if (json_array_size(arr) > 0 && bytes + sz > max_bytes) {
                json_decref(o);
                break;
            }
            bytes += sz;
            json_array_append_new(arr, o);
            i++;
        }
        json_t *msg = json_pack("{s:[s],s:o}", "schemas", SCIM_MSG_BULKREQ, "Operations", arr);
        chunks[nch] = (chunk){first, i - first};
        scim_req_init(&reqs[nch], "POST", scim_url(c, "Bulk"), json_dumps(msg, JSON_COMPACT), nch);
        rp[nch] = &reqs[nch];
        nch++;
        json_decref(msg);
    }
    rc = scim_http_run(c, rp, nch, e);
    for (size_t q = 0; q < nch; q++) {
        scim_req *r = &reqs[q];
        const chunk *ch = &chunks[q];
        if (r->skipped)
            goto next;   /* left unsettled: the caller reports them pending */
        if (!r->curl_code && (r->status == 404 || r->status == 405 || r->status == 501)) {
            c->bulk_supported = false;   /* advertised but absent: one by one from now on */
            goto next;
        }
        if (r->curl_code || r->status == 429 || r->status >= 500) {
            /* maybe applied, maybe not: do not send twice in this batch */
            char *d = scim_http_describe(r);
            for (size_t k = ch->first; k < ch->first + ch->count; k++)
                if (bj[k]->step != JS_DONE)
                    scim_job_finish(bj[k], CONN_EXPORT_RETRY, "POST /Bulk for %s \"%s\": %s; it stays pending",
                                    scim_kind_type(bj[k]->kind), bj[k]->label, d);
            free(d);
            goto next;
        }
        if (r->status == 200) {
            json_error_t je;
            json_t *resp = json_loadb(r->resp.data, r->resp.len, 0, &je);
            read_response(c, bj, ch, resp);
            json_decref(resp);
        }
        /* other answers (413, 400: nothing was applied): the jobs go one by one */
    next:
        scim_req_free(r);
    }
    free(bj);
    free(chunks);
    free(reqs);
    free(rp);
    return rc;
}
