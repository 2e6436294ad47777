/* SCIM connector: export of a batch. Adds are soft-matched first (GET ?filter=externalId eq "x")
 * and either adopted (PATCH to the desired state) or created (POST); updates are PATCH with only
 * the changes; deletes are DELETE or PATCH active=false. Requests of a batch run in parallel. */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void scim_job_finish(scim_job *j, conn_export_status st, const char *fmt, ...)
{
    conn_export_item *it = j->it;
    it->status = st;
    FREE_AND_NULL(it->message);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        char tmp[1200];
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        it->message = xstrdup(tmp);
    }
    j->step = JS_DONE;
}

const char *scim_job_method(const scim_job *j)
{
    switch (j->step) {
    case JS_MATCH:
        return "GET";
    case JS_POST:
        return "POST";
    case JS_PATCH:
        return "PATCH";
    case JS_DELETE:
        return "DELETE";
    default:
        return "-";
    }
}

char *scim_job_path(const scim_job *j)
{
    const char *ep = scim_kind_endpoint(j->kind);
    if (j->step == JS_POST || j->step == JS_MATCH || !j->id)
        return xstrdup(ep);
    char *esc = scim_escape(j->id, strlen(j->id));
    char *p = xasprintf("%s/%s", ep, esc);
    free(esc);
    return p;
}

static void set_anchor(conn_export_item *it, const char *id)
{
    free(it->new_anchor);
    it->new_anchor = xstrdup(id);
    it->new_anchor_len = strlen(id);
}

/* The soft-match attribute for a kind: groups have no userName, their unique name is displayName. */
static const char *match_attr(const conn *c, scim_kind k)
{
    const char *ma = c->match_attr;
    if (ma && k == SCIM_GROUP && !strcmp(ma, "userName"))
        ma = "displayName";
    return ma;
}

/* Settles a soft match from the resources found (nfound of them; res0 is the first). */
static void match_settle(conn *c, scim_job *j, size_t nfound, const json_t *res0)
{
    if (nfound == 0) {
        j->step = JS_POST;
        return;
    }
    if (nfound > 1) {
        scim_job_finish(j, CONN_EXPORT_ERROR,
                        "soft match of %s \"%s\" is ambiguous: %zu SCIM %s have the same %s; remove the duplicates "
                        "on the server or change option match_attribute",
                        scim_kind_type(j->kind), j->label, nfound, scim_kind_endpoint(j->kind), match_attr(c, j->kind));
        return;
    }
    attrs *cur = attrs_new();
    const char *id = NULL;
    err e = {0};
    if (scim_map_from_json(j->kind, res0, cur, &id, &e) != 0 || !id) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "soft match of %s \"%s\": the server returned a resource without id",
                        scim_kind_type(j->kind), j->label);
        goto done;
    }
    free(j->id);
    j->id = xstrdup(id);
    json_t *patch = scim_patch_from_diff(j->kind, j->it->full, cur, &e);
    if (!patch) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "%s \"%s\": %s", scim_kind_type(j->kind), j->label, e.msg);
        goto done;
    }
    j->adopting = true;
    if (json_array_size(json_object_get(patch, "Operations")) == 0) {
        set_anchor(j->it, j->id);
        j->it->adopted = true;
        scim_job_finish(j, CONN_EXPORT_OK, NULL);
    } else {
        free(j->body);
        j->body = json_dumps(patch, JSON_COMPACT);
        j->step = JS_PATCH;
    }
    json_decref(patch);
done:
    attrs_free(cur);
}

static void answer_match(conn *c, scim_job *j, const json_t *body)
{
    const json_t *res = json_object_get(body, "Resources");
    const json_t *tot = json_object_get(body, "totalResults");
    size_t n = json_is_array(res) ? json_array_size(res) : 0;
    if (json_is_integer(tot) && json_integer_value(tot) > 0 && (size_t)json_integer_value(tot) > n)
        n = (size_t)json_integer_value(tot);
    match_settle(c, j, n, json_array_get(res, 0));
}

void scim_job_answer(conn *c, scim_job *j, long status, const json_t *body, const char *describe)
{
    const char *what = scim_kind_type(j->kind);
    char *path = scim_job_path(j);
    const char *m = scim_job_method(j);
    if (status == 429 || status == 503) {
        scim_job_finish(j, CONN_EXPORT_RETRY, "%s %s for %s \"%s\": still throttled (%s); it stays pending", m, path,
                        what, j->label, describe);
        goto done;
    }
    if (j->step == JS_DELETE || (j->deleting && j->step == JS_PATCH)) {
        if ((status >= 200 && status < 300) || status == 404)   /* 404: already gone */
            scim_job_finish(j, CONN_EXPORT_OK, NULL);
        else
            scim_job_finish(j, CONN_EXPORT_ERROR, "%s %s for %s \"%s\": %s", m, path, what, j->label, describe);
        goto done;
    }
    if (status < 200 || status >= 300) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "%s %s for %s \"%s\": %s", m, path, what, j->label, describe);
        goto done;
    }
    switch (j->step) {
    case JS_MATCH:
        answer_match(c, j, body);
        break;
    case JS_POST: {
        const json_t *id = json_object_get(body, "id");
        if (!json_is_string(id) || json_string_length(id) == 0) {
            scim_job_finish(j, CONN_EXPORT_ERROR, "POST %s for %s \"%s\": the server answered HTTP %ld without an id",
                            path, what, j->label, status);
            break;
        }
        set_anchor(j->it, json_string_value(id));
        scim_job_finish(j, CONN_EXPORT_OK, NULL);
        break;
    }
    case JS_PATCH:
        if (j->adopting) {
            set_anchor(j->it, j->id);
            j->it->adopted = true;
        }
        scim_job_finish(j, CONN_EXPORT_OK, NULL);
        break;
    default:
        scim_job_finish(j, CONN_EXPORT_OK, NULL);
        break;
    }
done:
    free(path);
}

/* Outcome of a request that got no usable answer. */
static void answer_failed(scim_job *j, const scim_req *r)
{
    char *d = scim_http_describe(r);
    char *path = scim_job_path(j);
    scim_job_finish(j, CONN_EXPORT_RETRY, "%s %s for %s \"%s\": %s; it stays pending", scim_job_method(j), path,
                    scim_kind_type(j->kind), j->label, d);
    free(path);
    free(d);
}

static char *anchor_text(const conn_export_item *it)
{
    if (!it->anchor || it->anchor_len == 0)
        return NULL;
    const char *p = it->anchor;
    for (size_t i = 0; i < it->anchor_len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return NULL;
    return xstrndup(p, it->anchor_len);
}

/* Prepares j from its item: first step, body, or an immediate outcome. */
static void job_prepare(conn *c, scim_job *j)
{
    conn_export_item *it = j->it;
    err e = {0};
    it->status = CONN_EXPORT_RETRY;   /* until a real outcome is known */
    if (scim_kind_parse(it->object_type, &j->kind) != 0) {
        j->label = xstrdup(it->dn ? it->dn : "?");
        scim_job_finish(j, CONN_EXPORT_ERROR, "object type \"%s\" of \"%s\" cannot be exported to SCIM (only user and "
                        "group); fix the outbound sync rule", it->object_type ? it->object_type : "", j->label);
        return;
    }
    const char *nm = it->full ? attrs_get_str(it->full, j->kind == SCIM_USER ? "userName" : "displayName") : NULL;
    j->id = anchor_text(it);
    j->label = xstrdup(nm ? nm : it->dn ? it->dn : j->id ? j->id : "?");
    if (it->op == CONN_EXPORT_ADD) {
        json_t *res = scim_map_to_json(j->kind, it->full, &e);
        if (!res) {
            scim_job_finish(j, CONN_EXPORT_ERROR, "%s \"%s\": %s", scim_kind_type(j->kind), j->label, e.msg);
            return;
        }
        j->body = json_dumps(res, JSON_COMPACT);
        json_decref(res);
        const char *ma = match_attr(c, j->kind);
        j->step = ma && it->full && attrs_get_str(it->full, ma) ? JS_MATCH : JS_POST;
        return;
    }
    if (!j->id) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "%s \"%s\" has no SCIM id (anchor) to %s; run a full import of the "
                        "connector first", scim_kind_type(j->kind), j->label,
                        it->op == CONN_EXPORT_DELETE ? "delete" : "update");
        return;
    }
    if (it->op == CONN_EXPORT_DELETE) {
        j->deleting = true;
        if (c->soft_delete && j->kind == SCIM_USER) {
            j->body = xstrdup("{\"schemas\":[\"" SCIM_MSG_PATCHOP "\"],\"Operations\":[{\"op\":\"replace\","
                              "\"path\":\"active\",\"value\":false}]}");
            j->step = JS_PATCH;
        } else {
            j->step = JS_DELETE;
        }
        return;
    }
    if (it->op != CONN_EXPORT_UPDATE && it->op != CONN_EXPORT_RENAME) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "%s \"%s\": unknown export operation %d", scim_kind_type(j->kind),
                        j->label, (int)it->op);
        return;
    }
    json_t *patch = scim_patch_from_mods(j->kind, it->mods, it->nmods, &e);
    if (!patch) {
        scim_job_finish(j, CONN_EXPORT_ERROR, "%s \"%s\": %s", scim_kind_type(j->kind), j->label, e.msg);
        return;
    }
    if (json_array_size(json_object_get(patch, "Operations")) == 0) {
        scim_job_finish(j, CONN_EXPORT_OK, NULL);   /* nothing SCIM stores changed (e.g. a rename) */
    } else {
        j->body = json_dumps(patch, JSON_COMPACT);
        j->step = JS_PATCH;
    }
    json_decref(patch);
}

static char *match_url(conn *c, const scim_job *j)
{
    const char *ma = match_attr(c, j->kind);
    buf f = BUF_INIT;
    buf_printf(&f, "%s eq ", ma);
    scim_filter_quote(&f, attrs_get_str(j->it->full, ma));
    char *esc = scim_escape(f.data, f.len);
    char *u = xasprintf("%s/%s?filter=%s&count=2", c->base, scim_kind_endpoint(j->kind), esc);
    free(esc);
    buf_free(&f);
    return u;
}

/* Sends the current step of every job whose step is in [lo, hi] one request each, in parallel. */
static int send_step(conn *c, scim_job **jobs, size_t n, scim_step lo, scim_step hi, err *e)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i]->step >= lo && jobs[i]->step <= hi)
            m++;
    if (m == 0)
        return 0;
    scim_req *reqs = xcalloc(m, sizeof *reqs);
    scim_req **rp = xcalloc(m, sizeof *rp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        scim_job *j = jobs[i];
        if (!(j->step >= lo && j->step <= hi))
            continue;
        char *url;
        if (j->step == JS_MATCH) {
            url = match_url(c, j);
        } else {
            char *p = scim_job_path(j);
            url = scim_url(c, p);
            free(p);
        }
        char *body = j->step == JS_POST || j->step == JS_PATCH ? xstrdup(j->body) : NULL;
        scim_req_init(&reqs[k], scim_job_method(j), url, body, i);
        rp[k] = &reqs[k];
        k++;
    }
    int rc = scim_http_run(c, rp, m, e);
    for (size_t q = 0; q < m; q++) {
        scim_req *r = &reqs[q];
        scim_job *j = jobs[r->tag];
        if (r->skipped || r->curl_code || r->status == 0) {
            answer_failed(j, r);
        } else {
            json_error_t je;
            json_t *body = r->resp.len ? json_loadb(r->resp.data, r->resp.len, 0, &je) : NULL;
            char *d = scim_http_describe(r);
            if (r->status == 429 || r->status == 503) {
                char *d2 = xasprintf("%s after %d attempts over %.1f s", d, r->attempts, r->waited_ms / 1000.0);
                free(d);
                d = d2;
            }
            scim_job_answer(c, j, r->status, body, d);
            free(d);
            json_decref(body);
        }
        scim_req_free(r);
    }
    free(reqs);
    free(rp);
    return rc;
}

#define MATCH_GROUP 50
#define MATCH_FILTER_MAX 4000

/* A top-level string attribute of a resource, name compared case-insensitively. */
static const char *res_str(const json_t *res, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)res, k, v) {
        if (!strcasecmp(k, name))
            return json_string_value(v);
    }
    return NULL;
}

/* Soft match of many adds with one GET per group of up to MATCH_GROUP objects
   (filter=externalId eq "a" or externalId eq "b" ...). Jobs a group could not settle (server
   refused the filter, capped the page, failed) keep JS_MATCH for one GET each. */
static int match_grouped(conn *c, scim_job **jobs, size_t n, err *e)
{
    size_t ng = 0, *gfirst = xcalloc(n + 1, sizeof *gfirst), *gcount = xcalloc(n + 1, sizeof *gcount);
    scim_job **order = xcalloc(n + 1, sizeof *order);
    size_t no = 0;
    scim_req *reqs = xcalloc(n + 1, sizeof *reqs);
    scim_req **rp = xcalloc(n + 1, sizeof *rp);
    for (int kind = SCIM_USER; kind <= SCIM_GROUP; kind++) {
        buf f = BUF_INIT;
        size_t start = no;
        for (size_t i = 0; i <= n; i++) {
            scim_job *j = i < n ? jobs[i] : NULL;
            bool take = j && j->step == JS_MATCH && (int)j->kind == kind;
            bool flush = no > start && (!j || (take && (no - start >= MATCH_GROUP || f.len > MATCH_FILTER_MAX)));
            if (flush) {
                char *esc = scim_escape(f.data, f.len);
                scim_req_init(&reqs[ng], "GET", xasprintf("%s/%s?filter=%s&count=%zu", c->base,
                              scim_kind_endpoint((scim_kind)kind), esc, 2 * (no - start) + 1), NULL, ng);
                free(esc);
                rp[ng] = &reqs[ng];
                gfirst[ng] = start;
                gcount[ng] = no - start;
                ng++;
                start = no;
                buf_reset(&f);
            }
            if (!take)
                continue;
            const char *ma = match_attr(c, j->kind);
            buf_printf(&f, "%s%s eq ", f.len ? " or " : "", ma);
            scim_filter_quote(&f, attrs_get_str(j->it->full, ma));
            order[no++] = j;
        }
        buf_free(&f);
    }
    int rc = ng ? scim_http_run(c, rp, ng, e) : 0;
    for (size_t g = 0; g < ng; g++) {
        scim_req *r = &reqs[g];
        json_t *body = NULL;
        if (r->skipped)
            goto next;   /* the run stopped: the caller reports these pending */
        if (r->curl_code || r->status == 429 || r->status >= 500) {
            /* retried already: settle the group now rather than wait again one by one */
            char *d = scim_http_describe(r);
            for (size_t q = gfirst[g]; q < gfirst[g] + gcount[g]; q++) {
                if (r->curl_code)
                    answer_failed(order[q], r);
                else
                    scim_job_answer(c, order[q], r->status, NULL, d);
            }
            free(d);
            goto next;
        }
        if (r->status == 400)
            c->or_match_broken = true;   /* filter with "or" refused: one GET per object */
        if (r->status != 200)
            goto next;
        json_error_t je;
        body = json_loadb(r->resp.data, r->resp.len, 0, &je);
        const json_t *res = json_object_get(body, "Resources"), *tot = json_object_get(body, "totalResults");
        if (!json_is_integer(tot) || (res && !json_is_array(res)) ||
            (size_t)json_integer_value(tot) > json_array_size(res))
            goto next;   /* capped or odd answer: one GET per object instead */
        for (size_t q = gfirst[g]; q < gfirst[g] + gcount[g]; q++) {
            scim_job *j = order[q];
            const char *ma = match_attr(c, j->kind), *want = attrs_get_str(j->it->full, ma);
            bool exact = !strcmp(ma, "externalId");   /* caseExact in RFC 7643 4.1 */
            size_t nf = 0, k;
            const json_t *first = NULL, *x;
            json_array_foreach(res, k, x) {
                const char *v = res_str(x, ma);
                if (v && (exact ? !strcmp(v, want) : !strcasecmp(v, want))) {
                    if (!nf++)
                        first = x;
                }
            }
            match_settle(c, j, nf, first);
        }
    next:
        json_decref(body);
        scim_req_free(r);
    }
    free(gfirst);
    free(gcount);
    free(order);
    free(reqs);
    free(rp);
    return rc;
}

int scim_export_batch(conn *c, conn_export_item *items, size_t n, err *e)
{
    int rc = 0;
    scim_job *jobs = n ? xcalloc(n, sizeof *jobs) : NULL;
    scim_job **jp = n ? xcalloc(n, sizeof *jp) : NULL;
    for (size_t i = 0; i < n; i++) {
        jobs[i].it = &items[i];
        jp[i] = &jobs[i];
        job_prepare(c, &jobs[i]);
    }
    /* 1: soft match of adds: grouped, then one by one for what a group could not settle */
    size_t nmatch = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].step == JS_MATCH)
            nmatch++;
    if (nmatch > 1 && !c->or_match_broken && (rc = match_grouped(c, jp, n, e)) != 0)
        goto done;
    if ((rc = send_step(c, jp, n, JS_MATCH, JS_MATCH, e)) != 0)
        goto done;
    /* 2: writes, through /Bulk when the server offers it and it is worth it */
    size_t writes = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].step != JS_DONE)
            writes++;
    if (c->bulk_supported && writes > 1 && (rc = scim_bulk_send(c, jp, n, e)) != 0)
        goto done;
    rc = send_step(c, jp, n, JS_POST, JS_DELETE, e);
done:
    for (size_t i = 0; i < n; i++) {
        scim_job *j = &jobs[i];
        if (j->step != JS_DONE) {
            char *p = scim_job_path(j);
            scim_job_finish(j, CONN_EXPORT_RETRY, "%s %s for %s \"%s\" was not sent: %s", scim_job_method(j), p,
                            scim_kind_type(j->kind), j->label, rc && e ? e->msg : "the batch stopped");
            free(p);
        }
        free(j->id);
        free(j->label);
        free(j->body);
    }
    free(jobs);
    free(jp);
    return rc;
}
