/* Export to LDAP/AD: add (with AD defaults), modify, rename/move, delete, per-item status,
 * and the anchor read-back used after adds and by `lookup_anchor`. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* Attributes the directory maintains itself: never sent in an ADD. */
static const char *const not_on_add[] = {
    "objectGUID", "objectSid", "entryUUID", "entryCSN", "entryDN", "createTimestamp", "modifyTimestamp",
    "creatorsName", "modifiersName", "structuralObjectClass", "subschemaSubentry", "hasSubordinates", "memberOf",
    "whenCreated", "whenChanged", "uSNCreated", "uSNChanged", "instanceType", "distinguishedName", "name",
    "objectCategory", "sAMAccountType", "dSCorePropagationData", "isDeleted", "parentGUID", "nTSecurityDescriptor",
    "badPwdCount", "logonCount", "lastLogon", "lastLogonTimestamp", "lastLogoff", "badPasswordTime",
    "isCriticalSystemObject", "replPropertyMetaData", "pwdChangedTime", "contextCSN", "numSubordinates", NULL};

static bool skip_on_add(const char *name)
{
    for (size_t i = 0; not_on_add[i]; i++)
        if (strcasecmp(not_on_add[i], name) == 0) return true;
    return false;
}

/* A list of LDAPMod under construction; values point into the engine's attrs (borrowed). */
typedef struct modlist {
    size_t n;
    LDAPMod **mods;        /* NULL-terminated */
} modlist;

static void modlist_add(modlist *l, int op, const char *name, const aval *vals, size_t nvals)
{
    LDAPMod *m = xcalloc(1, sizeof *m);
    m->mod_op = op | LDAP_MOD_BVALUES;
    m->mod_type = (char *)name;
    if (nvals) {
        m->mod_bvalues = xcalloc(nvals + 1, sizeof *m->mod_bvalues);
        for (size_t i = 0; i < nvals; i++) {
            struct berval *bv = xcalloc(1, sizeof *bv);
            bv->bv_len = vals[i].len;
            bv->bv_val = vals[i].data;
            m->mod_bvalues[i] = bv;
        }
    }
    l->mods = xrealloc(l->mods, (l->n + 2) * sizeof *l->mods);
    l->mods[l->n++] = m;
    l->mods[l->n] = NULL;
}

static void modlist_add_str(modlist *l, int op, const char *name, const char *value, aval *scratch)
{
    scratch->data = (char *)value;
    scratch->len = strlen(value);
    modlist_add(l, op, name, scratch, 1);
}

static void modlist_free(modlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        for (size_t j = 0; l->mods[i]->mod_bvalues && l->mods[i]->mod_bvalues[j]; j++) free(l->mods[i]->mod_bvalues[j]);
        free(l->mods[i]->mod_bvalues);
        free(l->mods[i]);
    }
    free(l->mods);
    l->mods = NULL;
    l->n = 0;
}

/* Splits dn into its first RDN (malloc'd) and parent DN (malloc'd, "" at the root). */
static int split_dn(const char *dn, char **rdn, char **parent)
{
    LDAPDN parsed = NULL;
    *rdn = *parent = NULL;
    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !parsed || !parsed[0]) {
        ldap_dnfree(parsed);
        return -1;
    }
    char *r = NULL, *p = NULL;
    ldap_rdn2str(parsed[0], &r, LDAP_DN_FORMAT_LDAPV3);
    if (parsed[1]) ldap_dn2str(&parsed[1], &p, LDAP_DN_FORMAT_LDAPV3);
    *rdn = xstrdup(r ? r : "");
    *parent = xstrdup(p ? p : "");
    ldap_memfree(r);
    ldap_memfree(p);
    ldap_dnfree(parsed);
    return 0;
}

/* The value of dn's first RDN, made into a valid sAMAccountName (MS-ADTS 3.1.1.5.2.3). */
static char *sam_from_dn(const char *dn, size_t maxlen)
{
    LDAPDN parsed = NULL;
    char *out = NULL;
    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && parsed && parsed[0] && parsed[0][0]) {
        struct berval *v = &parsed[0][0]->la_value;
        size_t l = v->bv_len < maxlen ? v->bv_len : maxlen;
        out = xstrndup(v->bv_val, l);
        for (char *p = out; *p; p++)
            if (strchr("\"/\\[]:;|=,+*?<>@", *p)) *p = '_';
    }
    ldap_dnfree(parsed);
    return out;
}

static char *target_of(conn *c, const conn_export_item *it, const char *dn)
{
    /* AD accepts <GUID=...> as the DN of any operation: it survives renames made elsewhere */
    if (c->is_ad && it->anchor && it->anchor_len == 16) {
        buf b = BUF_INIT;
        buf_puts(&b, "<GUID=");
        conn_ldap_hex(it->anchor, it->anchor_len, &b);
        buf_putc(&b, '>');
        return buf_steal(&b, NULL);
    }
    return xstrdup(dn ? dn : "");
}

int conn_ldap_lookup_anchor(conn *c, const char *dn, buf *anchor_out, err *e)
{
    const char *aname = c->is_ad ? "objectGUID" : "entryUUID";
    char *attrs[] = {(char *)aname, NULL};
    LDAPMessage *res = NULL;
    struct timeval tv = {c->timeout_s, 0};
    int rc = 0;
    int lrc = ldap_search_ext_s(c->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res);
    if (lrc == LDAP_NO_SUCH_OBJECT) {
        rc = err_set(e, ERR_NOTFOUND, "connector %s: %s does not exist on %s", c->name, dn, c->url);
        goto done;
    }
    if (lrc != LDAP_SUCCESS) {
        char *what = xasprintf("reading the %s of %s", aname, dn);
        rc = conn_ldap_fail(c, lrc, NULL, what, e);
        free(what);
        goto done;
    }
    LDAPMessage *m = ldap_first_entry(c->ld, res);
    struct berval **v = m ? ldap_get_values_len(c->ld, m, aname) : NULL;
    if (!v || !v[0] || (c->is_ad && v[0]->bv_len != 16)) {
        rc = err_set(e, m ? ERR_CORRUPT : ERR_NOTFOUND, "connector %s: %s on %s has no readable %s", c->name, dn,
                     c->url, aname);
    } else {
        buf_reset(anchor_out);
        buf_append(anchor_out, v[0]->bv_val, v[0]->bv_len);
    }
    ldap_value_free_len(v);
done:
    ldap_msgfree(res);
    return rc;
}

static bool has_attr(const attrs *a, const char *name)
{
    attr *x = a ? attrs_get(a, name) : NULL;
    return x && x->nvals;
}

static int do_add(conn *c, conn_export_item *it, int *lrc)
{
    modlist ml = {0};
    aval scratch[4];
    char *sam = NULL;
    const char *type = it->object_type;
    for (size_t i = 0; it->full && i < it->full->n; i++) {
        const attr *a = &it->full->a[i];
        if (!a->nvals || skip_on_add(a->name)) continue;
        if (c->is_ad && strcasecmp(a->name, "unicodePwd") == 0) continue; /* set by the password flow over LDAPS */
        modlist_add(&ml, LDAP_MOD_ADD, a->name, a->vals, a->nvals);
    }
    if (!has_attr(it->full, "objectClass") && type) modlist_add_str(&ml, LDAP_MOD_ADD, "objectClass", type, &scratch[0]);
    if (c->is_ad && type) {
        bool is_user = !strcasecmp(type, "user") || !strcasecmp(type, "inetOrgPerson");
        bool is_sec = is_user || !strcasecmp(type, "group") || !strcasecmp(type, "computer");
        if (is_sec && !has_attr(it->full, "sAMAccountName") && (sam = sam_from_dn(it->dn, is_user ? 20 : 256)))
            modlist_add_str(&ml, LDAP_MOD_ADD, "sAMAccountName", sam, &scratch[1]);
        /* AD refuses an enabled account without a password: create it disabled
           (ACCOUNTDISABLE 0x2 | NORMAL_ACCOUNT 0x200) unless the item says otherwise */
        if (is_user && !has_attr(it->full, "userAccountControl"))
            modlist_add_str(&ml, LDAP_MOD_ADD, "userAccountControl", "514", &scratch[2]);
    }
    *lrc = ldap_add_ext_s(c->ld, it->dn, ml.mods, NULL, NULL);
    modlist_free(&ml);
    free(sam);
    return 0;
}

static void mods_from_item(const conn_export_item *it, modlist *ml)
{
    for (size_t i = 0; i < it->nmods; i++) {
        const conn_mod *m = &it->mods[i];
        int op = m->op == CONN_MOD_ADD ? LDAP_MOD_ADD : m->op == CONN_MOD_DELETE ? LDAP_MOD_DELETE : LDAP_MOD_REPLACE;
        modlist_add(ml, op, m->attr.name, m->attr.vals, m->attr.nvals);
    }
}

static int do_rename(conn *c, conn_export_item *it, const char *target, int *lrc)
{
    char *rdn = NULL, *parent = NULL, *old_rdn = NULL, *old_parent = NULL;
    if (!it->new_dn || split_dn(it->new_dn, &rdn, &parent)) {
        *lrc = LDAP_INVALID_DN_SYNTAX;
        return 0;
    }
    bool moved = true;
    if (it->dn && split_dn(it->dn, &old_rdn, &old_parent) == 0)
        moved = !(conn_ldap_dn_is_under(parent, old_parent) && conn_ldap_dn_is_under(old_parent, parent));
    *lrc = ldap_rename_s(c->ld, target, rdn, moved ? parent : NULL, 1, NULL, NULL);
    free(rdn);
    free(parent);
    free(old_rdn);
    free(old_parent);
    return 0;
}

static void set_status(conn *c, conn_export_item *it, int lrc, const char *what)
{
    char *diag = NULL;
    if (lrc == LDAP_SUCCESS) {
        it->status = CONN_EXPORT_OK;
        return;
    }
    ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    it->status = conn_ldap_rc_is_transient(lrc) ? CONN_EXPORT_RETRY : CONN_EXPORT_ERROR;
    free(it->message);
    it->message = xasprintf("%s %s on %s failed: %s%s%s", what, it->dn ? it->dn : "(no dn)", c->url,
                            ldap_err2string(lrc), diag && *diag ? ": " : "", diag && *diag ? diag : "");
    ldap_memfree(diag);
}

int conn_ldap_export_batch(conn *c, conn_export_item *items, size_t n, err *e)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        conn_export_item *it = &items[i];
        int lrc = LDAP_SUCCESS;
        const char *what = "exporting";
        char *target = target_of(c, it, it->dn);
        modlist ml = {0};
        it->status = CONN_EXPORT_OK;
        switch (it->op) {
        case CONN_EXPORT_ADD:
            what = "adding";
            do_add(c, it, &lrc);
            if (lrc == LDAP_SUCCESS) {
                buf anchor = BUF_INIT;
                err ae = {0};
                if (conn_ldap_lookup_anchor(c, it->dn, &anchor, &ae) == 0) {
                    it->new_anchor = xmemdup(anchor.data, anchor.len);
                    it->new_anchor_len = anchor.len;
                } else {
                    it->status = CONN_EXPORT_ERROR;
                    it->message = xasprintf("added %s but could not read its anchor back: %s", it->dn, ae.msg);
                }
                buf_free(&anchor);
            }
            break;
        case CONN_EXPORT_UPDATE:
            what = "modifying";
            mods_from_item(it, &ml);
            if (ml.n) lrc = ldap_modify_ext_s(c->ld, target, ml.mods, NULL, NULL);
            break;
        case CONN_EXPORT_RENAME:
            what = "renaming";
            do_rename(c, it, target, &lrc);
            if (lrc == LDAP_SUCCESS && it->nmods) {
                what = "modifying (after rename)";
                free(target);
                target = target_of(c, it, it->new_dn);
                mods_from_item(it, &ml);
                lrc = ldap_modify_ext_s(c->ld, target, ml.mods, NULL, NULL);
            }
            break;
        case CONN_EXPORT_DELETE:
            what = "deleting";
            lrc = ldap_delete_ext_s(c->ld, target, NULL, NULL);
            if (lrc == LDAP_NO_SUCH_OBJECT) lrc = LDAP_SUCCESS; /* already gone: the desired state holds */
            break;
        default:
            it->status = CONN_EXPORT_ERROR;
            it->message = xasprintf("unknown export operation %d for %s", (int)it->op, it->dn ? it->dn : "");
            break;
        }
        modlist_free(&ml);
        free(target);
        if (lrc != LDAP_SUCCESS) set_status(c, it, lrc, what);
        if (lrc == LDAP_SERVER_DOWN || lrc == LDAP_CONNECT_ERROR) {
            /* the connection is gone: nothing else can be sent in this batch */
            for (size_t j = i + 1; j < n; j++) {
                items[j].status = CONN_EXPORT_RETRY;
                items[j].message = xasprintf("not sent: connection to %s lost", c->url);
            }
            rc = err_set(e, ERR_RETRY, "connector %s: connection to %s lost during export; the remaining %zu item(s) "
                         "stay pending", c->name, c->url, n - i - 1);
            break;
        }
    }
    return rc;
}
