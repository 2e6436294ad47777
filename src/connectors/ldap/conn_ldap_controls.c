/* BER codecs (via liblber's ber_printf/ber_scanf) for the AD DirSync control (MS-ADTS 3.1.1.3.4.1.3)
 * and the RFC 4533 content synchronization controls and syncInfo message. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int flatten(BerElement *ber, struct berval *out, const char *what, err *e)
{
    out->bv_val = NULL;
    out->bv_len = 0;
    if (ber_flatten2(ber, out, 1) == -1) return err_set(e, ERR_FAIL, "encoding the %s control failed", what);
    return 0;
}

int conn_ldap_dirsync_encode(unsigned int flags, int max_bytes, const void *cookie, size_t cookie_len,
                             struct berval *out, err *e)
{
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "encoding the DirSync control: out of memory");
    /* flags is an unsigned 32-bit mask on the wire encoded as a signed INTEGER
       (LDAP_DIRSYNC_INCREMENTAL_VALUES 0x80000000 is a negative number there). */
    ber_int_t f = (ber_int_t)(int32_t)flags;
    if (ber_printf(ber, "{iio}", f, (ber_int_t)max_bytes, cookie ? (const char *)cookie : "",
                   (ber_len_t)(cookie ? cookie_len : 0)) == -1)
        rc = err_set(e, ERR_FAIL, "encoding the DirSync control failed");
    else
        rc = flatten(ber, out, "DirSync", e);
    ber_free(ber, 1);
    return rc;
}

int conn_ldap_dirsync_decode(const struct berval *val, bool *more, buf *cookie, err *e)
{
    if (!val || !val->bv_val) return err_set(e, ERR_CORRUPT, "the DirSync response control has no value");
    BerElement *ber = ber_init((struct berval *)val);
    ber_int_t m = 0, unused = 0;
    struct berval ck = {0, NULL};
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "decoding the DirSync response: out of memory");
    if (ber_scanf(ber, "{iim}", &m, &unused, &ck) == LBER_ERROR) {
        rc = err_set(e, ERR_CORRUPT, "the DirSync response control is malformed");
        goto done;
    }
    *more = m != 0;
    buf_reset(cookie);
    buf_append(cookie, ck.bv_val ? ck.bv_val : "", ck.bv_len);
done:
    ber_free(ber, 1);
    return rc;
}

int conn_ldap_syncreq_encode(int mode, const void *cookie, size_t cookie_len, struct berval *out, err *e)
{
    BerElement *ber = ber_alloc_t(LBER_USE_DER);
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "encoding the sync request control: out of memory");
    int prc = ber_printf(ber, "{e", (ber_int_t)mode);
    if (prc != -1 && cookie && cookie_len) prc = ber_printf(ber, "o", (const char *)cookie, (ber_len_t)cookie_len);
    if (prc != -1) prc = ber_printf(ber, "}");
    if (prc == -1) rc = err_set(e, ERR_FAIL, "encoding the sync request control failed");
    else rc = flatten(ber, out, "sync request", e);
    ber_free(ber, 1);
    return rc;
}

int conn_ldap_syncstate_decode(const struct berval *val, int *state, unsigned char uuid[16], buf *cookie,
                               bool *has_cookie, err *e)
{
    if (!val || !val->bv_val) return err_set(e, ERR_CORRUPT, "a sync state control has no value");
    BerElement *ber = ber_init((struct berval *)val);
    ber_int_t st = 0;
    struct berval u = {0, NULL}, ck = {0, NULL};
    ber_len_t len;
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "decoding a sync state control: out of memory");
    *has_cookie = false;
    if (ber_scanf(ber, "{em", &st, &u) == LBER_ERROR || u.bv_len != 16) {
        rc = err_set(e, ERR_CORRUPT, "a sync state control is malformed (RFC 4533 2.3: state and 16-byte entryUUID)");
        goto done;
    }
    if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE) {
        if (ber_scanf(ber, "m", &ck) == LBER_ERROR) {
            rc = err_set(e, ERR_CORRUPT, "a sync state control has a malformed cookie");
            goto done;
        }
        buf_reset(cookie);
        buf_append(cookie, ck.bv_val ? ck.bv_val : "", ck.bv_len);
        *has_cookie = true;
    }
    if (st < LDAP_SYNC_PRESENT || st > LDAP_SYNC_DELETE) {
        rc = err_set(e, ERR_CORRUPT, "a sync state control has unknown state %d", (int)st);
        goto done;
    }
    *state = (int)st;
    memcpy(uuid, u.bv_val, 16);
done:
    ber_free(ber, 1);
    return rc;
}

int conn_ldap_syncdone_decode(const struct berval *val, buf *cookie, bool *has_cookie, bool *refresh_deletes,
                              err *e)
{
    *has_cookie = false;
    *refresh_deletes = false;
    if (!val || !val->bv_val || !val->bv_len) return 0; /* an empty value means all defaults */
    BerElement *ber = ber_init((struct berval *)val);
    ber_len_t len;
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "decoding the sync done control: out of memory");
    if (ber_scanf(ber, "{") == LBER_ERROR) {
        rc = err_set(e, ERR_CORRUPT, "the sync done control is malformed");
        goto done;
    }
    ber_tag_t tag = ber_peek_tag(ber, &len);
    if (tag == LDAP_TAG_SYNC_COOKIE) {
        struct berval ck = {0, NULL};
        if (ber_scanf(ber, "m", &ck) == LBER_ERROR) {
            rc = err_set(e, ERR_CORRUPT, "the sync done control has a malformed cookie");
            goto done;
        }
        buf_reset(cookie);
        buf_append(cookie, ck.bv_val ? ck.bv_val : "", ck.bv_len);
        *has_cookie = true;
        tag = ber_peek_tag(ber, &len);
    }
    if (tag == LDAP_TAG_REFRESHDELETES) {
        ber_int_t b = 0;
        if (ber_scanf(ber, "b", &b) == LBER_ERROR) {
            rc = err_set(e, ERR_CORRUPT, "the sync done control has a malformed refreshDeletes");
            goto done;
        }
        *refresh_deletes = b != 0;
    }
done:
    ber_free(ber, 1);
    return rc;
}

void conn_ldap_syncinfo_clear(ldap_syncinfo *si)
{
    if (!si) return;
    buf_free(&si->cookie);
    free(si->uuids);
    memset(si, 0, sizeof *si);
}

/* Reads the optional cookie at the current position. */
static int opt_cookie(BerElement *ber, ldap_syncinfo *out)
{
    ber_len_t len;
    if (ber_peek_tag(ber, &len) != LDAP_TAG_SYNC_COOKIE) return 0;
    struct berval ck = {0, NULL};
    if (ber_scanf(ber, "m", &ck) == LBER_ERROR) return -1;
    buf_reset(&out->cookie);
    buf_append(&out->cookie, ck.bv_val ? ck.bv_val : "", ck.bv_len);
    out->has_cookie = true;
    return 0;
}

int conn_ldap_syncinfo_decode(const struct berval *val, ldap_syncinfo *out, err *e)
{
    memset(out, 0, sizeof *out);
    if (!val || !val->bv_val) return err_set(e, ERR_CORRUPT, "a syncInfo message has no value");
    BerElement *ber = ber_init((struct berval *)val);
    BerVarray uuids = NULL;
    ber_len_t len;
    int rc = 0;
    if (!ber) return err_set(e, ERR_FAIL, "decoding a syncInfo message: out of memory");
    ber_tag_t tag = ber_peek_tag(ber, &len);
    switch (tag) {
    case LDAP_TAG_SYNC_NEW_COOKIE: {
        struct berval ck = {0, NULL};
        out->kind = SYNCINFO_NEWCOOKIE;
        if (ber_scanf(ber, "m", &ck) == LBER_ERROR) goto bad;
        buf_append(&out->cookie, ck.bv_val ? ck.bv_val : "", ck.bv_len);
        out->has_cookie = true;
        break;
    }
    case LDAP_TAG_SYNC_REFRESH_DELETE:
    case LDAP_TAG_SYNC_REFRESH_PRESENT:
        out->kind = tag == LDAP_TAG_SYNC_REFRESH_DELETE ? SYNCINFO_REFRESH_DELETE : SYNCINFO_REFRESH_PRESENT;
        out->refresh_done = true; /* DEFAULT TRUE */
        if (ber_scanf(ber, "{") == LBER_ERROR || opt_cookie(ber, out)) goto bad;
        if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDONE) {
            ber_int_t b = 0;
            if (ber_scanf(ber, "b", &b) == LBER_ERROR) goto bad;
            out->refresh_done = b != 0;
        }
        break;
    case LDAP_TAG_SYNC_ID_SET:
        out->kind = SYNCINFO_ID_SET;
        if (ber_scanf(ber, "{") == LBER_ERROR || opt_cookie(ber, out)) goto bad;
        if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES) {
            ber_int_t b = 0;
            if (ber_scanf(ber, "b", &b) == LBER_ERROR) goto bad;
            out->refresh_deletes = b != 0;
        }
        if (ber_scanf(ber, "[W]", &uuids) == LBER_ERROR) goto bad;
        for (size_t i = 0; uuids && uuids[i].bv_val; i++) {
            if (uuids[i].bv_len != 16) goto bad;
            out->nuuids++;
        }
        out->uuids = out->nuuids ? xcalloc(out->nuuids, 16) : NULL;
        for (size_t i = 0; i < out->nuuids; i++) memcpy(out->uuids[i], uuids[i].bv_val, 16);
        break;
    default:
        goto bad;
    }
    goto done;
bad:
    rc = err_set(e, ERR_CORRUPT, "a syncInfo message (RFC 4533 2.5) is malformed");
    conn_ldap_syncinfo_clear(out);
done:
    ber_bvarray_free(uuids);
    ber_free(ber, 1);
    return rc;
}
