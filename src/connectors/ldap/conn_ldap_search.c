/* Streaming searches: one search with its messages handed out one at a time, and RFC 2696 paging. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

void conn_ldap_search_res_clear(ldap_search_res *r)
{
    if (!r) return;
    ldap_memfree(r->diag);
    ldap_controls_free(r->ctrls);
    r->diag = NULL;
    r->ctrls = NULL;
    r->rc = 0;
}

int conn_ldap_search(conn *c, const char *base, int scope, const char *filter, char **attrs,
                     LDAPControl **sctrls, const ldap_search_cb *cb, ldap_search_res *res, err *e)
{
    int msgid = -1, rc = 0;
    LDAPMessage *msg = NULL;
    conn_ldap_search_res_clear(res);
    int lrc = ldap_search_ext(c->ld, base, scope, filter, attrs, 0, sctrls, NULL, NULL, 0, &msgid);
    if (lrc != LDAP_SUCCESS) {
        char *diag = NULL;
        ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
        char *what = xasprintf("searching %s", base);
        rc = conn_ldap_fail(c, lrc, diag, what, e);
        free(what);
        ldap_memfree(diag);
        return rc;
    }
    for (;;) {
        struct timeval tv = {c->timeout_s, 0};
        int t = ldap_result(c->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
        if (t == 0) {
            ldap_abandon_ext(c->ld, msgid, NULL, NULL);
            rc = err_set(e, ERR_RETRY, "searching %s on %s: no answer within %d s (option timeout); will be retried",
                         base, c->url, c->timeout_s);
            goto done;
        }
        if (t < 0) {
            int erc = LDAP_SERVER_DOWN;
            ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &erc);
            char *what = xasprintf("searching %s", base);
            rc = conn_ldap_fail(c, erc, NULL, what, e);
            free(what);
            goto done;
        }
        if (t == LDAP_RES_SEARCH_ENTRY) {
            if (cb && cb->entry && (rc = cb->entry(cb->ctx, msg, e))) {
                ldap_abandon_ext(c->ld, msgid, NULL, NULL);
                goto done;
            }
        } else if (t == LDAP_RES_INTERMEDIATE) {
            if (cb && cb->intermediate && (rc = cb->intermediate(cb->ctx, msg, e))) {
                ldap_abandon_ext(c->ld, msgid, NULL, NULL);
                goto done;
            }
        } else if (t == LDAP_RES_SEARCH_RESULT) {
            int prc = ldap_parse_result(c->ld, msg, &res->rc, NULL, &res->diag, NULL, &res->ctrls, 0);
            if (prc != LDAP_SUCCESS) {
                rc = conn_ldap_fail(c, prc, NULL, "reading a search result", e);
                goto done;
            }
            rc = 0;
            goto done;
        }
        /* search references (e.g. AD's DomainDnsZones) are ignored: referrals are off */
        ldap_msgfree(msg);
        msg = NULL;
    }
done:
    ldap_msgfree(msg);
    return rc;
}

int conn_ldap_search_paged(conn *c, const char *base, int scope, const char *filter, char **attrs,
                           const ldap_search_cb *cb, int (*page_done)(void *ctx, err *e), err *e)
{
    struct berval cookie = {0, NULL};
    ldap_search_res res = {0};
    LDAPControl *page = NULL;
    int rc = 0;
    for (;;) {
        LDAPControl *ctrls[2] = {NULL, NULL};
        int lrc = ldap_create_page_control(c->ld, c->page_size, &cookie, 0, &page);
        if (lrc != LDAP_SUCCESS) {
            rc = conn_ldap_fail(c, lrc, NULL, "creating the paged results control", e);
            goto done;
        }
        ctrls[0] = page;
        rc = conn_ldap_search(c, base, scope, filter, attrs, ctrls, cb, &res, e);
        ldap_control_free(page);
        page = NULL;
        if (rc) goto done;
        if (res.rc != LDAP_SUCCESS) {
            char *what = xasprintf("searching %s with filter %s", base, filter);
            rc = conn_ldap_fail(c, res.rc, res.diag, what, e);
            free(what);
            goto done;
        }
        if (page_done && (rc = page_done(cb ? cb->ctx : NULL, e))) goto done;
        LDAPControl *resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, res.ctrls, NULL);
        ber_memfree(cookie.bv_val);
        cookie.bv_val = NULL;
        cookie.bv_len = 0;
        if (!resp) break; /* server ignored paging (non-critical): everything came in one page */
        ber_int_t count = 0;
        lrc = ldap_parse_pageresponse_control(c->ld, resp, &count, &cookie);
        if (lrc != LDAP_SUCCESS) {
            rc = conn_ldap_fail(c, lrc, NULL, "decoding the paged results response", e);
            goto done;
        }
        if (!cookie.bv_len) break;
        conn_ldap_search_res_clear(&res);
    }
done:
    ber_memfree(cookie.bv_val);
    ldap_control_free(page);
    conn_ldap_search_res_clear(&res);
    return rc;
}
