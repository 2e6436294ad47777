/* SCIM connector: HTTP transport over one curl multi handle (parallel requests on reused
 * connections) with the retry policy: 429/503 honour Retry-After (RFC 6585 4, RFC 9110 10.2.3)
 * with bounded exponential backoff, 500/502/504 and broken connections are retried a few times,
 * and an oauth2 token is refreshed once on 401. */
#include "connectors/scim/conn_scim_int.h"
#include "util/util_alloc.h"
#include "util/util_log.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { RS_WAIT = 0, RS_FLIGHT = 1, RS_DONE = 2 };

#define BACKOFF_BASE_MS 200.0
#define BACKOFF_CAP_MS 8000.0
#define RETRY_AFTER_CAP_MS 60000L
#define MAX_ATTEMPTS_THROTTLED 12

double scim_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void scim_req_init(scim_req *r, const char *method, char *url, char *body, size_t tag)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->url = url;
    r->body = body;
    r->tag = tag;
    r->retry_after_ms = -1;
}

static void wipe_slist(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p; p = p->next)
        if (p->data)
            xwipe(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

void scim_req_free(scim_req *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    r->easy = NULL;
    wipe_slist(r->hdrs);
    r->hdrs = NULL;
    free(r->url);
    free(r->body);
    buf_free(&r->resp);
    r->url = r->body = NULL;
}

char *scim_url(const conn *c, const char *path)
{
    return xasprintf("%s/%s", c->base, path);
}

char *scim_escape(const char *s, size_t len)
{
    char *t = curl_easy_escape(NULL, s, (int)len);
    char *r = xstrdup(t ? t : "");
    curl_free(t);
    return r;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    scim_req *r = ud;
    if (r->resp.len + size * n > (size_t)256 << 20)   /* a SCIM answer is never this large */
        return 0;
    buf_append(&r->resp, p, size * n);
    return size * n;
}

/* Retry-After: delta-seconds or an HTTP date (RFC 9110 10.2.3). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    scim_req *r = ud;
    size_t len = size * n;
    static const char key[] = "retry-after:";
    if (len > sizeof key - 1 && !strncasecmp(p, key, sizeof key - 1)) {
        char tmp[128];
        size_t l = len - (sizeof key - 1);
        if (l >= sizeof tmp)
            l = sizeof tmp - 1;
        memcpy(tmp, p + sizeof key - 1, l);
        tmp[l] = '\0';
        char *s = tmp;
        while (*s == ' ' || *s == '\t')
            s++;
        for (char *q = s + strlen(s); q > s && isspace((unsigned char)q[-1]); q--)
            q[-1] = '\0';
        if (*s >= '0' && *s <= '9') {
            long v = strtol(s, NULL, 10);
            r->retry_after_ms = v > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS : v * 1000;
        } else {
            time_t t = curl_getdate(s, NULL);
            if (t > 0) {
                long d = (long)(t - time(NULL));
                r->retry_after_ms = d <= 0 ? 0 : (d > RETRY_AFTER_CAP_MS / 1000 ? RETRY_AFTER_CAP_MS : d * 1000);
            }
        }
    }
    return len;
}

/* Prepares a fresh easy handle for r's next attempt. */
static int start_attempt(conn *c, scim_req *r, err *e)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    wipe_slist(r->hdrs);
    r->hdrs = NULL;
    buf_reset(&r->resp);
    r->status = 0;
    r->curl_code = 0;
    r->curl_msg[0] = '\0';
    r->retry_after_ms = -1;
    CURL *h = curl_easy_init();
    if (!h)
        return err_set(e, ERR_FAIL, "cannot create an HTTP handle for %s (libcurl)", r->url);
    r->easy = h;
    char *auth = xasprintf("Authorization: Bearer %s", c->auth.token ? c->auth.token : "");
    r->hdrs = curl_slist_append(r->hdrs, auth);
    xfree_secret(auth);
    r->hdrs = curl_slist_append(r->hdrs, "Accept: application/scim+json, application/json");
    if (r->body)
        r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/scim+json");
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "idsync/" IDSYNC_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);   /* never send the token elsewhere */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->tls_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curl_msg);
    curl_easy_setopt(h, CURLOPT_PRIVATE, r);
    if (!strcmp(r->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(r->method, "POST"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
        } else if (!strcmp(r->method, "POST")) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        }
    }
    r->attempts++;
    r->sent = true;
    return 0;
}

static double backoff_ms(int attempt)
{
    double d = BACKOFF_BASE_MS;
    for (int i = 1; i < attempt && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    /* jitter in [0.75, 1.25) so parallel requests do not retry in lockstep */
    return d * (0.75 + (double)(rand() % 500) / 1000.0);
}

static bool transport_retryable(int cc)
{
    return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

static bool transport_unreachable(int cc)
{
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY ||
           cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
}

/* Decides after a completed attempt: returns the delay before the next attempt, or -1 when final. */
static double retry_delay(conn *c, scim_req *r)
{
    if (r->curl_code) {
        if (transport_retryable(r->curl_code) && r->attempts <= c->max_retries_5xx)
            return backoff_ms(r->attempts);
        return -1;
    }
    if (r->status == 429 || r->status == 503) {
        if (r->attempts >= MAX_ATTEMPTS_THROTTLED)
            return -1;
        double d = r->retry_after_ms >= 0 ? (double)r->retry_after_ms : backoff_ms(r->attempts);
        if (r->retry_after_ms >= 0 && r->attempts > 2) {
            double b = backoff_ms(r->attempts - 2);   /* server asks again: grow beyond its hint */
            if (b > d)
                d = b;
        }
        if (r->waited_ms + d > (double)c->retry_max_wait_ms)
            return -1;
        return d;
    }
    if ((r->status == 500 || r->status == 502 || r->status == 504) && r->attempts <= c->max_retries_5xx)
        return backoff_ms(r->attempts);
    return -1;
}

int scim_auth_error(const conn *c, long status, err *e)
{
    return err_set(e, ERR_AUTH,
                   "the SCIM server at %s rejected the %s (HTTP %ld); set a valid %s with `idsync connector "
                   "set-credentials %s --%s`",
                   c->base, c->auth.oauth2 ? "OAuth2 access token" : "token", status,
                   c->auth.oauth2 ? "client secret" : "token", c->name ? c->name : "NAME",
                   c->auth.oauth2 ? "secret-file F" : "token-file F");
}

int scim_http_run(conn *c, scim_req **reqs, size_t n, err *e)
{
    int rc = 0;
    size_t inflight = 0, done = 0;
    size_t *ready = n ? xcalloc(n, sizeof *ready) : NULL;   /* FIFO of RS_WAIT requests due now */
    size_t rhead = 0, rtail = 0, rcount = 0;
    size_t *delayed = n ? xcalloc(n, sizeof *delayed) : NULL; /* RS_WAIT requests with not_before */
    size_t ndelayed = 0;
    bool stop = false, refreshed = false;
    int stop_rc = 0;

    if ((rc = scim_auth_ensure(c, e)) != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        reqs[i]->state = RS_WAIT;
        reqs[i]->idx = i;
        reqs[i]->not_before = 0;
        ready[rtail] = i;
        rtail = (rtail + 1) % n;
        rcount++;
    }
    while (done < n) {
        double now = scim_now_ms();
        /* delayed requests whose time has come go to the ready queue */
        for (size_t j = 0; j < ndelayed;) {
            if (stop || reqs[delayed[j]]->not_before <= now) {
                ready[rtail] = delayed[j];
                rtail = (rtail + 1) % n;
                rcount++;
                delayed[j] = delayed[--ndelayed];
            } else {
                j++;
            }
        }
        while (rcount > 0 && (stop || inflight < (size_t)c->concurrency)) {
            scim_req *r = reqs[ready[rhead]];
            rhead = (rhead + 1) % n;
            rcount--;
            if (stop) {
                r->skipped = true;
                r->state = RS_DONE;
                done++;
                continue;
            }
            if ((rc = start_attempt(c, r, e)) != 0)
                goto done;
            CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
            if (mc != CURLM_OK) {
                rc = err_set(e, ERR_FAIL, "cannot queue the request to %s: %s", r->url, curl_multi_strerror(mc));
                goto done;
            }
            r->state = RS_FLIGHT;
            inflight++;
        }
        if (done >= n)
            break;
        int running = 0;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        if (mc != CURLM_OK) {
            rc = err_set(e, ERR_FAIL, "HTTP transfer to %s failed: %s", c->base, curl_multi_strerror(mc));
            goto done;
        }
        CURLMsg *msg;
        int left;
        bool progressed = false;
        while ((msg = curl_multi_info_read(c->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            scim_req *r = NULL;
            CURL *h = msg->easy_handle;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&r);
            r->curl_code = msg->data.result;
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
            curl_multi_remove_handle(c->multi, h);
            inflight--;
            progressed = true;
            if (r->curl_code)
                r->status = 0;
            double delay = -1;
            if (!stop && r->curl_code == 0 && r->status == 401 && c->auth.oauth2) {
                /* one refresh per run; requests that carried the old token are re-sent once */
                if (!refreshed) {
                    err e2 = {0};
                    refreshed = true;
                    if (scim_auth_refresh(c, &e2) != 0) {
                        stop = true;
                        stop_rc = e2.code ? e2.code : ERR_AUTH;
                        *e = e2;
                    }
                }
                if (!stop && r->attempts < 3)
                    delay = 0;
            }
            if (!stop && delay < 0 && r->curl_code == 0 && (r->status == 401 || r->status == 403)) {
                stop = true;
                stop_rc = scim_auth_error(c, r->status, e);
            } else if (!stop && delay < 0 && r->curl_code && transport_unreachable(r->curl_code)) {
                stop = true;
                stop_rc = err_set(e, ERR_RETRY, "cannot reach the SCIM server at %s: %s; check that it runs and "
                                  "that the connector URL is right", c->base,
                                  r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_code));
            } else if (!stop && delay < 0) {
                delay = retry_delay(c, r);
            }
            if (stop && (r->status == 401 || r->status == 403 || transport_unreachable(r->curl_code)))
                r->skipped = true;
            if (!stop && delay >= 0) {
                log_debug("SCIM %s %s: %s%ld, attempt %d, retrying in %.0f ms", r->method, r->url,
                          r->curl_code ? "transport error " : "HTTP ", r->curl_code ? (long)r->curl_code : r->status,
                          r->attempts, delay);
                r->waited_ms += delay;
                r->not_before = scim_now_ms() + delay;
                r->state = RS_WAIT;
                delayed[ndelayed++] = r->idx;
            } else {
                r->state = RS_DONE;
                done++;
            }
        }
        if (done >= n)
            break;
        if (!progressed) {
            long timeout = 1000;
            now = scim_now_ms();
            for (size_t j = 0; j < ndelayed; j++) {
                double d = reqs[delayed[j]]->not_before - now;
                if (d < 0)
                    d = 0;
                if ((long)d < timeout)
                    timeout = (long)d;
            }
            if (rcount > 0 && inflight < (size_t)c->concurrency)
                timeout = 0;
            if (inflight > 0 || timeout > 0) {
                mc = curl_multi_poll(c->multi, NULL, 0, (int)timeout, NULL);
                if (mc != CURLM_OK) {
                    rc = err_set(e, ERR_FAIL, "waiting for %s failed: %s", c->base, curl_multi_strerror(mc));
                    goto done;
                }
            }
        }
    }
    rc = stop ? stop_rc : 0;
done:
    /* on an internal failure, detach whatever is still in flight */
    for (size_t i = 0; i < n; i++) {
        scim_req *r = reqs[i];
        if (r->state == RS_FLIGHT && r->easy) {
            curl_multi_remove_handle(c->multi, r->easy);
            r->state = RS_DONE;
            r->skipped = true;
        } else if (r->state == RS_WAIT && rc != 0) {
            r->state = RS_DONE;
            r->skipped = true;
        }
        if (r->easy) {
            curl_easy_cleanup(r->easy);
            r->easy = NULL;
        }
        wipe_slist(r->hdrs);
        r->hdrs = NULL;
    }
    free(ready);
    free(delayed);
    return rc;
}

int scim_http_one(conn *c, scim_req *r, err *e)
{
    scim_req *one[1] = {r};
    return scim_http_run(c, one, 1, e);
}

char *scim_http_describe(const scim_req *r)
{
    if (r->skipped)
        return xstrdup("not sent: the batch stopped early");
    if (r->curl_code)
        return xasprintf("%s %s failed: %s", r->method, r->url,
                         r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_code));
    json_error_t je;
    json_t *j = r->resp.len ? json_loadb(r->resp.data, r->resp.len, 0, &je) : NULL;
    const char *detail = NULL, *stype = NULL;
    if (json_is_object(j)) {
        detail = json_string_value(json_object_get(j, "detail"));
        stype = json_string_value(json_object_get(j, "scimType"));
    }
    char *s;
    if (detail)
        s = xasprintf("HTTP %ld%s%s%s: %.400s", r->status, stype ? " (" : "", stype ? stype : "", stype ? ")" : "",
                      detail);
    else
        s = xasprintf("HTTP %ld", r->status);
    json_decref(j);
    return s;
}
