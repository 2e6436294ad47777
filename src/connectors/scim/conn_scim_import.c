/* SCIM connector: full import by paging through /Users and /Groups with startIndex/count
 * (RFC 7644 3.4.2.4), one page in memory at a time. SCIM has no standard delta, so there is
 * no cookie. */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads one page; *got = resources on it, *total = totalResults (or -1 if absent). */
static int import_page(conn *c, scim_kind k, long start, const conn_sink *sink, size_t *seen, size_t *got,
                       long *total, err *e)
{
    int rc = 0;
    json_t *j = NULL;
    attrs *a = attrs_new();
    scim_req r;
    *got = 0;
    *total = -1;
    scim_req_init(&r, "GET", xasprintf("%s/%s?startIndex=%ld&count=%ld", c->base, scim_kind_endpoint(k), start,
                                       c->page_size), NULL, 0);
    if ((rc = scim_http_one(c, &r, e)) != 0)
        goto done;
    if (r.curl_code || r.status != 200) {
        char *d = scim_http_describe(&r);
        rc = err_set(e, r.curl_code || r.status == 429 || r.status >= 500 ? ERR_RETRY : ERR_FAIL,
                     "importing %s from %s failed at startIndex %ld: %s", scim_kind_endpoint(k), c->base, start, d);
        free(d);
        goto done;
    }
    json_error_t je;
    j = json_loadb(r.resp.data, r.resp.len, 0, &je);
    const json_t *res = json_object_get(j, "Resources");
    const json_t *tot = json_object_get(j, "totalResults");
    const json_t *si = json_object_get(j, "startIndex");
    if (!json_is_object(j) || (res && !json_is_array(res)) || !json_is_integer(tot)) {
        rc = err_set(e, ERR_CORRUPT, "importing %s from %s: the answer at startIndex %ld is not a SCIM ListResponse "
                     "(%s)", scim_kind_endpoint(k), c->base, start, j ? "no totalResults or Resources" : je.text);
        goto done;
    }
    if (json_is_integer(si) && json_integer_value(si) != start && json_array_size(res) > 0) {
        rc = err_set(e, ERR_CORRUPT, "importing %s from %s: asked for startIndex %ld but the server answered %lld; "
                     "the server does not page correctly", scim_kind_endpoint(k), c->base, start,
                     (long long)json_integer_value(si));
        goto done;
    }
    *total = (long)json_integer_value(tot);
    size_t i;
    const json_t *it;
    json_array_foreach(res, i, it) {
        const char *id = NULL;
        attrs_clear(a);
        (*got)++;
        err e2 = {0};
        if (scim_map_from_json(k, it, a, &id, &e2) != 0 || !id) {
            if (sink->warning) {
                char *where = xasprintf("%s/%s?startIndex=%ld #%zu", c->base, scim_kind_endpoint(k), start, i + 1);
                sink->warning(sink->ctx, where, id ? e2.msg : "SCIM resource without id skipped");
                free(where);
            }
            continue;
        }
        const char *loc = json_string_value(json_object_get(json_object_get(it, "meta"), "location"));
        char *dn = loc ? NULL : xasprintf("%s/%s", scim_kind_endpoint(k), id);
        conn_object o = {
            .change = CONN_CHANGE_ADD,
            .dn = loc ? loc : dn,
            .anchor = id,
            .anchor_len = strlen(id),
            .object_type = scim_kind_type(k),
            .attrs = a,
            .attrs_are_delta = false,
        };
        rc = sink->object(sink->ctx, &o, e);
        free(dn);
        if (rc)
            goto done;
        (*seen)++;
    }
    if (sink->progress)
        sink->progress(sink->ctx, *seen);
    if (sink->checkpoint && (rc = sink->checkpoint(sink->ctx, NULL, 0, e)) != 0)
        goto done;
done:
    json_decref(j);
    attrs_free(a);
    scim_req_free(&r);
    return rc;
}

int scim_full_import(conn *c, const char *partition, const conn_sink *sink, buf *cookie_out, err *e)
{
    bool users = true, groups = true;
    size_t seen = 0;
    (void)cookie_out;   /* SCIM has no standard delta: the cookie stays empty */
    if (partition && *partition) {
        scim_kind k;
        const char *p = partition;
        if (!strcasecmp(p, "Users"))
            p = "user";
        else if (!strcasecmp(p, "Groups"))
            p = "group";
        if (scim_kind_parse(p, &k) != 0)
            return err_set(e, ERR_USAGE, "SCIM connector %s has no partition \"%s\" (use none, Users or Groups)",
                           c->name, partition);
        users = k == SCIM_USER;
        groups = k == SCIM_GROUP;
    }
    for (int pass = 0; pass < 2; pass++) {
        scim_kind k = pass == 0 ? SCIM_USER : SCIM_GROUP;
        if ((k == SCIM_USER && !users) || (k == SCIM_GROUP && !groups))
            continue;
        long start = 1, total = 0;
        for (;;) {
            size_t got = 0;
            int rc = import_page(c, k, start, sink, &seen, &got, &total, e);
            if (rc)
                return rc;
            if (got == 0)
                break;
            start += (long)got;
            if (total >= 0 && start > total)
                break;
        }
    }
    return 0;
}
