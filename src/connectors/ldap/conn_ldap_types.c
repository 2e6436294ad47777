/* Attribute typing: which idsync attr_type an LDAP/AD attribute has, from the server schema
 * (RFC 4512 attributeTypes / AD attributeSchema) with a built-in table as fallback. */
#include "connectors/ldap/conn_ldap_int.h"
#include "util/util_alloc.h"
#include <ctype.h>
#include <ldap_schema.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* Built-in knowledge, used before (and over) the schema: the attributes every
 * deployment has, including ones whose schema syntax would mislead (objectCategory is a
 * DN of a schema object, not a reference to a synchronized object). */
static const struct { const char *name; attr_type type; } builtin[] = {
    {"objectguid", AT_BINARY}, {"objectsid", AT_BINARY}, {"ms-ds-consistencyguid", AT_BINARY},
    {"msds-consistencyguid", AT_BINARY}, {"jpegphoto", AT_BINARY}, {"thumbnailphoto", AT_BINARY},
    {"usercertificate", AT_BINARY}, {"cacertificate", AT_BINARY}, {"usersmimecertificate", AT_BINARY},
    {"userpkcs12", AT_BINARY}, {"sidhistory", AT_BINARY}, {"tokengroups", AT_BINARY},
    {"ntsecuritydescriptor", AT_BINARY}, {"logonhours", AT_BINARY}, {"msexchmailboxguid", AT_BINARY},
    {"userpassword", AT_BINARY}, {"unicodepwd", AT_BINARY}, {"parentguid", AT_BINARY},
    {"audio", AT_BINARY}, {"photo", AT_BINARY}, {"msds-generationid", AT_BINARY},
    {"member", AT_REFERENCE}, {"memberof", AT_REFERENCE}, {"manager", AT_REFERENCE},
    {"directreports", AT_REFERENCE}, {"owner", AT_REFERENCE}, {"uniquemember", AT_REFERENCE},
    {"seealso", AT_REFERENCE}, {"secretary", AT_REFERENCE}, {"managedby", AT_REFERENCE},
    {"managedobjects", AT_REFERENCE}, {"roleoccupant", AT_REFERENCE}, {"lastknownparent", AT_REFERENCE},
    {"objectcategory", AT_STRING}, {"defaultobjectcategory", AT_STRING}, {"distinguishedname", AT_STRING},
    {"entrydn", AT_STRING}, {"creatorsname", AT_STRING}, {"modifiersname", AT_STRING},
    {"subschemasubentry", AT_STRING},
    {"useraccountcontrol", AT_INTEGER}, {"grouptype", AT_INTEGER}, {"samaccounttype", AT_INTEGER},
    {"primarygroupid", AT_INTEGER}, {"accountexpires", AT_INTEGER}, {"pwdlastset", AT_INTEGER},
    {"badpwdcount", AT_INTEGER}, {"logoncount", AT_INTEGER}, {"lastlogon", AT_INTEGER},
    {"lastlogontimestamp", AT_INTEGER}, {"lockouttime", AT_INTEGER}, {"countrycode", AT_INTEGER},
    {"codepage", AT_INTEGER}, {"instancetype", AT_INTEGER}, {"usnchanged", AT_INTEGER},
    {"usncreated", AT_INTEGER}, {"admincount", AT_INTEGER}, {"uidnumber", AT_INTEGER},
    {"gidnumber", AT_INTEGER}, {"badpasswordtime", AT_INTEGER}, {"lastlogoff", AT_INTEGER},
    {"systemflags", AT_INTEGER}, {"msds-supportedencryptiontypes", AT_INTEGER},
    {"isdeleted", AT_BOOLEAN}, {"iscriticalsystemobject", AT_BOOLEAN}, {"showinadvancedviewonly", AT_BOOLEAN},
    {"isrecycled", AT_BOOLEAN},
    {"whencreated", AT_DATETIME}, {"whenchanged", AT_DATETIME}, {"createtimestamp", AT_DATETIME},
    {"modifytimestamp", AT_DATETIME}, {"dscorepropagationdata", AT_DATETIME},
};

attr_type conn_ldap_syntax_type(const char *oid)
{
    if (!oid) return AT_STRING;
    static const struct { const char *oid; attr_type t; } map[] = {
        /* RFC 4517 */
        {"1.3.6.1.4.1.1466.115.121.1.12", AT_REFERENCE},  /* DN */
        {"1.3.6.1.4.1.1466.115.121.1.34", AT_REFERENCE},  /* Name and Optional UID */
        {"1.3.6.1.4.1.1466.115.121.1.27", AT_INTEGER},
        {"1.3.6.1.4.1.1466.115.121.1.7", AT_BOOLEAN},
        {"1.3.6.1.4.1.1466.115.121.1.24", AT_DATETIME},   /* Generalized Time */
        {"1.3.6.1.4.1.1466.115.121.1.53", AT_DATETIME},   /* UTC Time */
        {"1.3.6.1.4.1.1466.115.121.1.40", AT_BINARY},     /* Octet String */
        {"1.3.6.1.4.1.1466.115.121.1.5", AT_BINARY},      /* Binary */
        {"1.3.6.1.4.1.1466.115.121.1.28", AT_BINARY},     /* JPEG */
        {"1.3.6.1.4.1.1466.115.121.1.8", AT_BINARY},      /* Certificate */
        {"1.3.6.1.4.1.1466.115.121.1.9", AT_BINARY},      /* Certificate List */
        {"1.3.6.1.4.1.1466.115.121.1.10", AT_BINARY},     /* Certificate Pair */
        {"1.3.6.1.4.1.1466.115.121.1.4", AT_BINARY},      /* Audio */
        {"1.3.6.1.4.1.1466.115.121.1.23", AT_BINARY},     /* Fax */
        /* MS-ADTS 3.1.1.2.2.2 attributeSyntax */
        {"2.5.5.1", AT_REFERENCE},   /* Object(DS-DN) */
        {"2.5.5.8", AT_BOOLEAN},
        {"2.5.5.9", AT_INTEGER},
        {"2.5.5.16", AT_INTEGER},    /* Large integer */
        {"2.5.5.10", AT_BINARY},     /* Octet string */
        {"2.5.5.15", AT_BINARY},     /* NT security descriptor */
        {"2.5.5.17", AT_BINARY},     /* SID */
        {"2.5.5.11", AT_DATETIME},   /* Generalized/UTC time */
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].oid, oid) == 0) return map[i].t;
    return AT_STRING;
}

void conn_ldap_types_free(ldap_type_map *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) free(m->e[i].name);
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
    m->loaded = false;
}

void conn_ldap_types_put(ldap_type_map *m, const char *name, attr_type t)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->e = xrealloc(m->e, m->cap * sizeof *m->e);
    }
    char *lower = xstrdup(name);
    for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
    m->e[m->n].name = lower;
    m->e[m->n].type = t;
    m->n++;
}

static int ent_cmp(const void *a, const void *b)
{
    return strcmp(((const ldap_type_ent *)a)->name, ((const ldap_type_ent *)b)->name);
}

void conn_ldap_types_sort(ldap_type_map *m)
{
    if (!m->n) return;
    qsort(m->e, m->n, sizeof *m->e, ent_cmp);
    /* keep the last of equal names (later puts override earlier ones): stable pass */
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (w && strcmp(m->e[w - 1].name, m->e[i].name) == 0) {
            free(m->e[w - 1].name);
            m->e[w - 1] = m->e[i];
        } else {
            m->e[w++] = m->e[i];
        }
    }
    m->n = w;
}

static attr_type lookup(const ldap_type_map *m, const char *lower, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->e[mid].name, lower);
        if (!c) {
            *found = true;
            return m->e[mid].type;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return AT_STRING;
}

static attr_type attr_type_uncached(conn *c, const char *name);

attr_type conn_ldap_attr_type(conn *c, const char *name)
{
    size_t len = strlen(name);
    if (len >= sizeof c->type_cache[0].name) return attr_type_uncached(c, name);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 16777619u;
    size_t slot = h % (sizeof c->type_cache / sizeof c->type_cache[0]);
    if (c->type_cache[slot].type && strcmp(c->type_cache[slot].name, name) == 0) return c->type_cache[slot].type;
    attr_type t = attr_type_uncached(c, name);
    memcpy(c->type_cache[slot].name, name, len + 1);
    c->type_cache[slot].type = t;
    return t;
}

static attr_type attr_type_uncached(conn *c, const char *name)
{
    char lower[256];
    size_t l = strcspn(name, ";");
    if (l >= sizeof lower) return AT_STRING;
    for (size_t i = 0; i < l; i++) lower[i] = (char)tolower((unsigned char)name[i]);
    lower[l] = '\0';
    /* ";binary" transfer option (RFC 4522) always means raw bytes */
    for (const char *o = strchr(name, ';'); o; o = strchr(o + 1, ';'))
        if (strncasecmp(o, ";binary", 7) == 0 && (o[7] == '\0' || o[7] == ';')) return AT_BINARY;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i].name, lower) == 0) return builtin[i].type;
    bool found = false;
    attr_type t = lookup(&c->types, lower, &found);
    return found ? t : AT_STRING;
}

static char *root_dse_value(conn *c, const char *attr)
{
    char *attrs[] = {(char *)attr, NULL};
    LDAPMessage *res = NULL;
    char *out = NULL;
    struct timeval tv = {c->timeout_s, 0};
    if (ldap_search_ext_s(c->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, &res) ==
        LDAP_SUCCESS) {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        struct berval **v = m ? ldap_get_values_len(c->ld, m, attr) : NULL;
        if (v && v[0]) out = xstrndup(v[0]->bv_val, v[0]->bv_len);
        ldap_value_free_len(v);
    }
    ldap_msgfree(res);
    return out;
}

/* AD: one paged search of attributeSchema objects (lDAPDisplayName, attributeSyntax). */
typedef struct ad_schema_ctx {
    conn *c;
} ad_schema_ctx;

static int ad_schema_entry(void *ctx, LDAPMessage *m, err *e)
{
    conn *c = ((ad_schema_ctx *)ctx)->c;
    struct berval **name = ldap_get_values_len(c->ld, m, "lDAPDisplayName");
    struct berval **syn = ldap_get_values_len(c->ld, m, "attributeSyntax");
    if (name && name[0] && syn && syn[0] && name[0]->bv_len < 256 && syn[0]->bv_len < 64) {
        char n[256], s[64];
        memcpy(n, name[0]->bv_val, name[0]->bv_len);
        n[name[0]->bv_len] = '\0';
        memcpy(s, syn[0]->bv_val, syn[0]->bv_len);
        s[syn[0]->bv_len] = '\0';
        conn_ldap_types_put(&c->types, n, conn_ldap_syntax_type(s));
    }
    ldap_value_free_len(name);
    ldap_value_free_len(syn);
    return 0;
}

static void load_ad(conn *c)
{
    char *schema_nc = root_dse_value(c, "schemaNamingContext");
    if (!schema_nc) return;
    char *attrs[] = {"lDAPDisplayName", "attributeSyntax", NULL};
    ad_schema_ctx ctx = {c};
    ldap_search_cb cb = {&ctx, ad_schema_entry, NULL};
    err e = {0};
    if (conn_ldap_search_paged(c, schema_nc, LDAP_SCOPE_ONELEVEL, "(objectClass=attributeSchema)", attrs, &cb,
                               NULL, &e))
        conn_ldap_types_free(&c->types); /* fall back to the built-in table */
    free(schema_nc);
}

/* RFC 4512: attributeTypes values; SUP chains give the syntax of types without their own. */
static void load_ldap(conn *c)
{
    char *sub = root_dse_value(c, "subschemaSubentry");
    if (!sub) return;
    char *attrs[] = {"attributeTypes", NULL};
    LDAPMessage *res = NULL;
    struct timeval tv = {c->timeout_s, 0};
    LDAPAttributeType **ats = NULL;
    size_t nat = 0;
    if (ldap_search_ext_s(c->ld, sub, LDAP_SCOPE_BASE, "(objectClass=subschema)", attrs, 0, NULL, NULL, &tv, 0,
                          &res) == LDAP_SUCCESS) {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        struct berval **v = m ? ldap_get_values_len(c->ld, m, "attributeTypes") : NULL;
        size_t nv = 0;
        while (v && v[nv]) nv++;
        ats = xcalloc(nv + 1, sizeof *ats);
        for (size_t i = 0; i < nv; i++) {
            int code = 0;
            const char *errp = NULL;
            char *s = xstrndup(v[i]->bv_val, v[i]->bv_len);
            LDAPAttributeType *at = ldap_str2attributetype(s, &code, &errp, LDAP_SCHEMA_ALLOW_ALL);
            free(s);
            if (at) ats[nat++] = at;
        }
        ldap_value_free_len(v);
    }
    /* resolve syntaxes through SUP (bounded depth, schemas can be malformed) */
    for (size_t i = 0; i < nat; i++) {
        const LDAPAttributeType *at = ats[i];
        const char *syn = at->at_syntax_oid;
        for (int depth = 0; !syn && at && at->at_sup_oid && depth < 16; depth++) {
            const LDAPAttributeType *sup = NULL;
            for (size_t j = 0; j < nat && !sup; j++) {
                if (ats[j]->at_oid && strcmp(ats[j]->at_oid, at->at_sup_oid) == 0) sup = ats[j];
                for (char **n = ats[j]->at_names; !sup && n && *n; n++)
                    if (strcasecmp(*n, at->at_sup_oid) == 0) sup = ats[j];
            }
            at = sup;
            syn = at ? at->at_syntax_oid : NULL;
        }
        for (char **n = ats[i]->at_names; n && *n; n++) conn_ldap_types_put(&c->types, *n, conn_ldap_syntax_type(syn));
    }
    for (size_t i = 0; i < nat; i++) ldap_attributetype_free(ats[i]);
    free(ats);
    ldap_msgfree(res);
    free(sub);
}

void conn_ldap_types_load(conn *c)
{
    if (c->types.loaded) return;
    c->types.loaded = true;
    if (!c->load_schema) return;
    if (c->is_ad) load_ad(c);
    else load_ldap(c);
    conn_ldap_types_sort(&c->types);
    memset(c->type_cache, 0, sizeof c->type_cache);   /* answers given before the schema was known */
}
