/* Parser: expression text -> immutable tree (with line/column/caret errors), plus the
 * compiled expression's public accessors (free, references, bare-attribute test). */
#include "rules/expr_int.h"
#include "util/util_alloc.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct scope_var { const char *name; size_t len; int slot; } scope_var;

typedef struct parser {
    expr_lexer lx;
    token tok;
    expr *x;
    err *e;
    int depth;
    scope_var scope[EXPR_MAX_DEPTH + 2];
    int nscope;
    /* distinct attribute names: a growable array plus an open-addressing hash of indices */
    const char **refs;
    int nrefs, capref;
    int *hash;
    int hcap;
} parser;

/* ---- errors with line, column and caret ------------------------------------------------- */
static int perr(parser *p, int pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, int pos, const char *fmt, ...)
{
    const char *s = p->lx.src;
    size_t n = p->lx.len;
    if (pos < 0) pos = 0;
    if ((size_t)pos > n) pos = (int)n;
    size_t ls = 0, line = 1;
    for (size_t i = 0; i < (size_t)pos; i++)
        if (s[i] == '\n') { line++; ls = i + 1; }
    size_t le = (size_t)pos;
    while (le < n && s[le] != '\n' && s[le] != '\r') le++;
    size_t col = expr_utf8_count(s + ls, (size_t)pos - ls) + 1;
    /* Window of at most ~60 code points before and ~20 after the error on long lines. */
    size_t ws = ls, we = le;
    if (expr_utf8_count(s + ls, (size_t)pos - ls) > 60) {
        size_t back = (size_t)pos;
        for (int k = 0; k < 60 && back > ls; k++) {
            back--;
            while (back > ls && ((unsigned char)s[back] & 0xC0) == 0x80) back--;
        }
        ws = back;
    }
    if (expr_utf8_count(s + pos, le - (size_t)pos) > 20)
        we = (size_t)pos + expr_utf8_offset(s + pos, le - (size_t)pos, 20);
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char shown[400];
    size_t k = 0;
    if (ws > ls) { memcpy(shown, "...", 3); k = 3; }
    for (size_t i = ws; i < we && k + 8 < sizeof shown; i++) {
        unsigned char ch = (unsigned char)s[i];
        shown[k++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    if (we < le && k + 4 < sizeof shown) { memcpy(shown + k, "...", 3); k += 3; }
    shown[k] = '\0';
    size_t caret = (ws > ls ? 3 : 0) + expr_utf8_count(s + ws, (size_t)pos - ws);
    if (caret > 380) caret = 380;
    char pad[400];
    memset(pad, ' ', caret);
    pad[caret] = '\0';
    return err_set(p->e, ERR_USAGE, "line %zu, column %zu: %s\n  %s\n  %s^", line, col, msg, shown, pad);
}

static int next(parser *p)
{
    const char *msg = NULL;
    if (expr_lex_next(&p->lx, &p->tok, &msg) < 0) return perr(p, p->tok.pos, "%s", msg);
    return 0;
}

static node *new_node(parser *p, nkind k, int pos)
{
    node *n = expr_arena_alloc(&p->x->arena, sizeof *n);
    memset(n, 0, sizeof *n);
    n->kind = (unsigned char)k;
    n->pos = pos;
    return n;
}

static char *arena_strndup(parser *p, const char *s, size_t len)
{
    char *d = expr_arena_alloc(&p->x->arena, len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static unsigned hash_ci(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned)tolower((unsigned char)*s)) * 16777619u;
    return h;
}

static void add_ref(parser *p, const char *name)
{
    if (p->nrefs * 2 >= p->hcap) {
        int cap = p->hcap ? p->hcap * 2 : 16;
        int *h = xmalloc(sizeof(int) * (size_t)cap);
        for (int i = 0; i < cap; i++) h[i] = -1;
        for (int i = 0; i < p->nrefs; i++) {
            unsigned j = hash_ci(p->refs[i]) & (unsigned)(cap - 1);
            while (h[j] >= 0) j = (j + 1) & (unsigned)(cap - 1);
            h[j] = i;
        }
        free(p->hash);
        p->hash = h;
        p->hcap = cap;
    }
    unsigned j = hash_ci(name) & (unsigned)(p->hcap - 1);
    while (p->hash[j] >= 0) {
        if (strcasecmp(p->refs[p->hash[j]], name) == 0) return;
        j = (j + 1) & (unsigned)(p->hcap - 1);
    }
    if (p->nrefs == p->capref) {
        p->capref = p->capref ? p->capref * 2 : 8;
        p->refs = xrealloc(p->refs, sizeof(char *) * (size_t)p->capref);
    }
    p->hash[j] = p->nrefs;
    p->refs[p->nrefs++] = name;
}

/* Temporary growable array of node pointers (freed by the caller). */
typedef struct nvec { node **v; unsigned char *ops; int n, cap; } nvec;
static void nvec_push(nvec *a, node *x, int op)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->v = xrealloc(a->v, sizeof(node *) * (size_t)a->cap);
        a->ops = xrealloc(a->ops, (size_t)a->cap);
    }
    a->v[a->n] = x;
    a->ops[a->n] = (unsigned char)op;
    a->n++;
}

static int parse_expr(parser *p, node **out);

/* ---- primaries -------------------------------------------------------------------------- */
/* VBA string rules (Entra Connect's language is a VBA subset): "" inside a string is one quote;
   a backslash is an ordinary character (so "\" & [x] works, and Replace sees its \n monikers). */
static int decode_string(parser *p, const token *t, node *n)
{
    char *d = expr_arena_alloc(&p->x->arena, t->len + 1);
    size_t k = 0;
    for (size_t i = 0; i < t->len; i++) {
        d[k++] = t->s[i];
        if (t->s[i] == '"') i++;  /* the lexer only lets doubled quotes through */
    }
    d[k] = '\0';
    n->cval = expr_str(d, k);
    return 0;
}

static int decode_number(parser *p, const token *t, node *n)
{
    char buf[64];
    if (t->len >= sizeof buf) return perr(p, t->pos, "number too long");
    memcpy(buf, t->s, t->len);
    buf[t->len] = '\0';
    if (t->op) { /* &H hex: up to 16 digits, two's complement like VBA */
        if (t->len > 16) return perr(p, t->pos, "hexadecimal number wider than 64 bits");
        unsigned long long u = strtoull(buf, NULL, 16);
        n->cval = expr_int((long long)u);
        return 0;
    }
    if (!strchr(buf, '.')) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        if (errno == ERANGE) return perr(p, t->pos, "integer %s does not fit in 64 bits", buf);
        n->cval = expr_int(v);
        return 0;
    }
    n->cval.kind = EV_NUM;
    n->cval.isint = 0;
    n->cval.u.d = strtod(buf, NULL);
    return 0;
}

typedef struct named_const { const char *name; int kind; const char *text; int b; } named_const;
static const named_const CONSTS[] = {
    {"True", EV_BOOL, NULL, 1}, {"False", EV_BOOL, NULL, 0},
    {"NULL", EV_NULL, NULL, 0}, {"Nothing", EV_NULL, NULL, 0},
    {"AuthoritativeNull", EV_AUTHNULL, NULL, 0}, {"IgnoreThisFlow", EV_IGNORE, NULL, 0},
    {"CRLF", EV_STR, "\r\n", 0},
    /* enumeration constants some functions take (passed on as their name) */
    {"CaseSensitive", EV_STR, "CaseSensitive", 0}, {"CaseInsensitive", EV_STR, "CaseInsensitive", 0},
    {"vbTextCompare", EV_STR, "vbTextCompare", 0}, {"vbBinaryCompare", EV_STR, "vbBinaryCompare", 0},
    {"UTF8", EV_STR, "UTF8", 0}, {"Unicode", EV_STR, "Unicode", 0}, {"ASCII", EV_STR, "ASCII", 0},
    {"DC", EV_STR, "DC", 0},
};

static int find_var(parser *p, const token *t)
{
    for (int i = p->nscope - 1; i >= 0; i--)
        if (p->scope[i].len == t->len && strncasecmp(p->scope[i].name, t->s, t->len) == 0)
            return p->scope[i].slot;
    return -1;
}

static int enter(parser *p, int pos)
{
    if (++p->depth > EXPR_MAX_DEPTH)
        return perr(p, pos, "expression nested deeper than %d levels", EXPR_MAX_DEPTH);
    return 0;
}

static int parse_call(parser *p, const token *name, node **out)
{
    int rc = 0;
    nvec args = {0};
    const fndef *fn = expr_fn_find(name->s, name->len);
    char fname[80];
    snprintf(fname, sizeof fname, "%.*s", (int)(name->len > 60 ? 60 : name->len), name->s);
    if (!fn) { rc = perr(p, name->pos, "unknown function %s", fname); goto done; }
    if ((rc = enter(p, name->pos)) < 0) goto done;
    if ((rc = next(p)) < 0) goto done;  /* consume '(' */
    node *n = new_node(p, N_CALL, name->pos);
    n->fn = fn;
    bool pushed = false;
    if (p->tok.kind != T_RP) {
        for (;;) {
            node *a = NULL;
            int argno = args.n + 1;
            if ((fn->flags & FN_BIND) && argno == 1) {
                if (p->tok.kind != T_VAR) {
                    rc = perr(p, p->tok.pos, "%s: the first argument must be a variable such as $item", fn->name);
                    goto done;
                }
                a = new_node(p, N_VAR, p->tok.pos);
                a->name = arena_strndup(p, p->tok.s, p->tok.len);
                a->slot = p->x->nslots++;
                if ((rc = next(p)) < 0) goto done;
            } else {
                if ((fn->flags & FN_BIND) && argno == 3 && !pushed) {
                    node *v = args.v[0];
                    p->scope[p->nscope].name = v->name;
                    p->scope[p->nscope].len = strlen(v->name);
                    p->scope[p->nscope].slot = v->slot;
                    p->nscope++;
                    pushed = true;
                }
                if ((rc = parse_expr(p, &a)) < 0) goto done;
            }
            nvec_push(&args, a, 0);
            if (p->tok.kind == T_COMMA) {
                if ((rc = next(p)) < 0) goto done;
                continue;
            }
            break;
        }
    }
    if (pushed) p->nscope--;
    if (p->tok.kind != T_RP) {
        rc = perr(p, p->tok.pos, "expected ')' after arguments of %s", fn->name);
        goto done;
    }
    if (args.n < fn->min || (fn->max >= 0 && args.n > fn->max)) {
        if (fn->min == fn->max)
            rc = perr(p, name->pos, "%s takes %d argument%s, not %d", fn->name, fn->min, fn->min == 1 ? "" : "s", args.n);
        else if (fn->max < 0)
            rc = perr(p, name->pos, "%s takes at least %d arguments, not %d", fn->name, fn->min, args.n);
        else
            rc = perr(p, name->pos, "%s takes %d to %d arguments, not %d", fn->name, fn->min, fn->max, args.n);
        goto done;
    }
    if (strcmp(fn->name, "Switch") == 0 && args.n % 2) {
        rc = perr(p, name->pos, "Switch takes pairs of condition and value, got %d arguments", args.n);
        goto done;
    }
    if ((rc = next(p)) < 0) goto done;  /* consume ')' */
    n->nargs = args.n;
    n->args = expr_arena_alloc(&p->x->arena, sizeof(node *) * (size_t)(args.n ? args.n : 1));
    if (args.n) memcpy(n->args, args.v, sizeof(node *) * (size_t)args.n);
    p->depth--;
    *out = n;
done:
    free(args.v);
    free(args.ops);
    return rc;
}

static int parse_unary(parser *p, node **out);

static int parse_primary(parser *p, node **out)
{
    int rc;
    token t = p->tok;
    switch (t.kind) {
    case T_NUM: {
        node *n = new_node(p, N_CONST, t.pos);
        if ((rc = decode_number(p, &t, n)) < 0) return rc;
        *out = n;
        return next(p);
    }
    case T_STR: {
        node *n = new_node(p, N_CONST, t.pos);
        decode_string(p, &t, n);
        *out = n;
        return next(p);
    }
    case T_ATTR: {
        node *n = new_node(p, N_ATTR, t.pos);
        size_t b = 0, e = t.len;
        while (b < e && t.s[b] == ' ') b++;
        while (e > b && t.s[e - 1] == ' ') e--;
        if (b == e) return perr(p, t.pos, "empty attribute name []");
        n->name = arena_strndup(p, t.s + b, e - b);
        add_ref(p, n->name);
        *out = n;
        return next(p);
    }
    case T_PARAM: {
        node *n = new_node(p, N_PARAM, t.pos);
        n->name = arena_strndup(p, t.s, t.len);
        *out = n;
        return next(p);
    }
    case T_VAR: {
        int slot = find_var(p, &t);
        if (slot < 0)
            return perr(p, t.pos, "unknown variable $%.*s (variables are bound by Select, Where and With)",
                        (int)(t.len > 60 ? 60 : t.len), t.s);
        node *n = new_node(p, N_VAR, t.pos);
        n->name = arena_strndup(p, t.s, t.len);
        n->slot = slot;
        *out = n;
        return next(p);
    }
    case T_IDENT: {
        if ((rc = next(p)) < 0) return rc;
        if (p->tok.kind == T_LP) return parse_call(p, &t, out);
        for (size_t i = 0; i < sizeof CONSTS / sizeof CONSTS[0]; i++) {
            if (strlen(CONSTS[i].name) == t.len && strncasecmp(CONSTS[i].name, t.s, t.len) == 0) {
                node *n = new_node(p, N_CONST, t.pos);
                n->cval.kind = (unsigned char)CONSTS[i].kind;
                if (CONSTS[i].kind == EV_BOOL) n->cval.u.b = CONSTS[i].b;
                if (CONSTS[i].text) n->cval = expr_str(CONSTS[i].text, strlen(CONSTS[i].text));
                *out = n;
                return 0;
            }
        }
        if (expr_fn_find(t.s, t.len))
            return perr(p, p->tok.pos, "expected '(' after function name %.*s", (int)t.len, t.s);
        return perr(p, t.pos, "unknown name %.*s (attributes are written [name], parameters %%name%%, variables $name)",
                    (int)(t.len > 60 ? 60 : t.len), t.s);
    }
    case T_LP: {
        if ((rc = enter(p, t.pos)) < 0) return rc;
        if ((rc = next(p)) < 0) return rc;
        if ((rc = parse_expr(p, out)) < 0) return rc;
        if (p->tok.kind != T_RP) return perr(p, p->tok.pos, "expected ')' to close the '(' at column %d",
                                             (int)expr_utf8_count(p->lx.src, (size_t)t.pos) + 1);
        p->depth--;
        return next(p);
    }
    case T_EOF:
        return perr(p, t.pos, "unexpected end of expression: expected a value");
    case T_RP:
        return perr(p, t.pos, "unexpected ')': expected a value");
    case T_COMMA:
        return perr(p, t.pos, "unexpected ',': expected a value");
    case T_OP:
        return perr(p, t.pos, "unexpected operator %s: expected a value", expr_op_text(t.op));
    }
    return perr(p, t.pos, "unexpected token");
}

static int parse_unary(parser *p, node **out)
{
    int rc;
    if (p->tok.kind == T_OP && (p->tok.op == OP_SUB || p->tok.op == OP_ADD)) {
        token t = p->tok;
        if ((rc = enter(p, t.pos)) < 0) return rc;
        if ((rc = next(p)) < 0) return rc;
        node *a = NULL;
        if ((rc = parse_unary(p, &a)) < 0) return rc;
        p->depth--;
        if (t.op == OP_ADD) { *out = a; return 0; }
        if (a->kind == N_CONST && a->cval.kind == EV_NUM) { /* fold literal negation */
            if (a->cval.isint && a->cval.u.i != INT64_MIN) a->cval.u.i = -a->cval.u.i;
            else if (!a->cval.isint) a->cval.u.d = -a->cval.u.d;
            else return perr(p, t.pos, "integer overflow in negation");
            *out = a;
            return 0;
        }
        node *n = new_node(p, N_NEG, t.pos);
        n->nargs = 1;
        n->args = expr_arena_alloc(&p->x->arena, sizeof(node *));
        n->args[0] = a;
        *out = n;
        return 0;
    }
    return parse_primary(p, out);
}

/* Binary levels, lowest first; every level is a left-associative chain (one node per chain). */
static int level_of(int op)
{
    switch (op) {
    case OP_OR: return 0;
    case OP_AND: return 1;
    case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: return 2;
    case OP_CONCAT: return 3;
    case OP_ADD: case OP_SUB: return 4;
    case OP_MUL: case OP_DIV: return 5;
    default: return -1;
    }
}
#define NLEVELS 6

static int parse_level(parser *p, int level, node **out)
{
    if (level >= NLEVELS) return parse_unary(p, out);
    int rc;
    node *first = NULL;
    if ((rc = parse_level(p, level + 1, &first)) < 0) return rc;
    if (!(p->tok.kind == T_OP && level_of(p->tok.op) == level)) {
        *out = first;
        return 0;
    }
    nvec v = {0};
    nvec_push(&v, first, 0);
    int pos = p->tok.pos;
    while (p->tok.kind == T_OP && level_of(p->tok.op) == level) {
        int op = p->tok.op;
        if ((rc = next(p)) < 0) goto done;
        node *r = NULL;
        if ((rc = parse_level(p, level + 1, &r)) < 0) goto done;
        nvec_push(&v, r, op);
    }
    node *n = new_node(p, N_CHAIN, pos);
    n->nargs = v.n;
    n->args = expr_arena_alloc(&p->x->arena, sizeof(node *) * (size_t)v.n);
    memcpy(n->args, v.v, sizeof(node *) * (size_t)v.n);
    n->ops = expr_arena_alloc(&p->x->arena, (size_t)v.n);
    memcpy(n->ops, v.ops + 1, (size_t)v.n - 1);  /* ops[i] joins args[i+1] */
    *out = n;
done:
    free(v.v);
    free(v.ops);
    return rc;
}

static int parse_expr(parser *p, node **out)
{
    return parse_level(p, 0, out);
}

int expr_compile(const char *src, expr **out, err *e)
{
    int rc = 0;
    *out = NULL;
    if (!src) return err_set(e, ERR_USAGE, "expression is missing (NULL)");
    size_t len = strnlen(src, EXPR_MAX_SOURCE + 1);
    if (len > EXPR_MAX_SOURCE)
        return err_set(e, ERR_USAGE, "expression is longer than %d bytes; split it or simplify it", EXPR_MAX_SOURCE);
    if (!expr_utf8_valid(src, len))
        return err_set(e, ERR_USAGE, "expression is not valid UTF-8");
    parser p;
    memset(&p, 0, sizeof p);
    expr *x = xcalloc(1, sizeof *x);
    x->src = xstrndup(src, len);
    p.x = x;
    p.e = e;
    p.lx.src = x->src;
    p.lx.len = len;
    if ((rc = next(&p)) < 0) goto done;
    if (p.tok.kind == T_EOF) { rc = perr(&p, p.tok.pos, "empty expression"); goto done; }
    if ((rc = parse_expr(&p, &x->root)) < 0) goto done;
    if (p.tok.kind != T_EOF) {
        if (p.tok.kind == T_RP) rc = perr(&p, p.tok.pos, "unexpected ')' (no matching '(')");
        else rc = perr(&p, p.tok.pos, "unexpected text after the end of the expression (missing operator or ','?)");
        goto done;
    }
    x->nrefs = p.nrefs;
    x->refs = expr_arena_alloc(&x->arena, sizeof(char *) * (size_t)(p.nrefs ? p.nrefs : 1));
    if (p.nrefs) memcpy(x->refs, p.refs, sizeof(char *) * (size_t)p.nrefs);
    *out = x;
    x = NULL;
done:
    free(p.refs);
    free(p.hash);
    expr_free(x);
    return rc;
}

void expr_free(expr *x)
{
    if (!x) return;
    expr_arena_free(&x->arena);
    free(x->src);
    free(x);
}

void expr_foreach_ref(const expr *x, void (*fn)(void *ctx, const char *attr_name), void *ctx)
{
    if (!x) return;
    for (int i = 0; i < x->nrefs; i++) fn(ctx, x->refs[i]);
}

bool expr_is_attr_ref(const expr *x, const char **name)
{
    if (!x || !x->root || x->root->kind != N_ATTR) return false;
    if (name) *name = x->root->name;
    return true;
}

const char *expr_source(const expr *x)
{
    return x ? x->src : "";
}
