/* Internals of the expression language shared by its files: values, the tree, the per-evaluation
 * context with its scratch arena, and the function table. Not for other modules. */
#ifndef IDSYNC_RULES_EXPR_INT_H
#define IDSYNC_RULES_EXPR_INT_H
#include "rules/expr.h"
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/* ---- values ---------------------------------------------------------------------------- */
typedef enum ev_kind {
    EV_NULL = 0,      /* no value (absent attribute, NULL, Nothing) */
    EV_AUTHNULL,      /* AuthoritativeNull */
    EV_IGNORE,        /* IgnoreThisFlow */
    EV_STR,           /* text, u.s[0..len) (not necessarily NUL-terminated) */
    EV_REF,           /* a reference (DN), same layout as EV_STR */
    EV_NUM,           /* isint ? u.i : u.d */
    EV_BOOL,          /* u.b is 0 or 1 */
    EV_BIN,           /* bytes u.s[0..len) */
    EV_DATE,          /* u.t: 100-ns ticks since 1601-01-01T00:00:00Z (Windows FILETIME) */
    EV_LIST,          /* u.items[0..len), every item a scalar of kind EV_STR..EV_DATE */
} ev_kind;

typedef struct ev {
    unsigned char kind;   /* ev_kind */
    unsigned char isint;  /* EV_NUM only */
    size_t len;           /* bytes (STR/REF/BIN) or items (LIST) */
    union {
        const char *s;    /* borrowed from the tree, an attribute, a parameter or the arena */
        long long i;
        double d;
        int b;
        long long t;
        struct ev *items; /* arena */
    } u;
} ev;

#define EV_IS_NULLISH(v) ((v)->kind <= EV_IGNORE)
#define EV_IS_SPECIAL(v) ((v)->kind == EV_AUTHNULL || (v)->kind == EV_IGNORE)
#define EV_IS_TEXT(v) ((v)->kind == EV_STR || (v)->kind == EV_REF)

/* ---- the tree --------------------------------------------------------------------------- */
typedef enum nkind { N_CONST, N_ATTR, N_PARAM, N_VAR, N_CALL, N_CHAIN, N_NEG } nkind;
typedef enum eop {
    OP_CONCAT = 1, OP_ADD, OP_SUB, OP_MUL, OP_DIV,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_AND, OP_OR,
} eop;

struct fndef;
typedef struct node {
    unsigned char kind;        /* nkind */
    int pos;                   /* byte offset in the source, for messages */
    int nargs;                 /* CALL: arguments; CHAIN: operands; NEG: 1 */
    struct node **args;        /* owned by the expr's arena */
    unsigned char *ops;        /* CHAIN: ops[i] combines the result so far with args[i+1] */
    ev cval;                   /* CONST */
    const char *name;          /* ATTR: attribute name; PARAM: parameter name; VAR: variable name */
    int slot;                  /* VAR, and the bound variable of Select/Where/With */
    const struct fndef *fn;    /* CALL */
} node;

/* ---- arena: bump allocation for the tree and for evaluation scratch ------------------ */
typedef struct expr_chunk {
    struct expr_chunk *next;
    size_t cap, used;
    max_align_t data[];
} expr_chunk;
typedef struct expr_arena {
    expr_chunk *head;
    size_t total;              /* bytes allocated in chunks */
    size_t limit;              /* 0 = none */
} expr_arena;
/* Returns n bytes (aligned), or NULL when the arena's limit would be passed. */
void *expr_arena_alloc(expr_arena *a, size_t n);
/* Frees every chunk but keeps the first (up to keep bytes) for reuse. */
void expr_arena_reset(expr_arena *a, size_t keep);
void expr_arena_free(expr_arena *a);

struct expr {
    char *src;                 /* owned copy of the source */
    node *root;
    int nslots;                /* variables bound by Select/Where/With */
    const char **refs;         /* distinct attribute names read, in the arena */
    int nrefs;
    expr_arena arena;          /* owns every node and string of the tree */
};

/* ---- evaluation context --------------------------------------------------------------- */
typedef struct ectx {
    const expr *x;
    const expr_env *env;
    err *e;
    long steps;
    expr_arena *ar;
    ev *vars;                  /* nslots entries */
    jmp_buf jb;                /* limit failures long-jump here (all memory is in the arena) */
} ectx;

/* Fails the whole evaluation: sets the error (ERR_FAIL) and long-jumps out of expr_eval. */
_Noreturn void expr_throw(ectx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the error and returns ERR_FAIL (ordinary error path). */
int expr_fail(ectx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Scratch memory for this evaluation; throws past EXPR_MAX_MEMORY. */
void *expr_alloc(ectx *c, size_t n);
/* A new string buffer of len bytes (+NUL) for function fname; throws past EXPR_MAX_STRING. */
char *expr_strbuf(ectx *c, const char *fname, size_t len);
/* Counts work; throws past EXPR_MAX_STEPS. */
void expr_step(ectx *c, long n);
int expr_eval_node(ectx *c, const node *n, ev *out);

/* List builder (arena). */
typedef struct expr_lb { ev *items; size_t n, cap; } expr_lb;
void expr_lb_push(ectx *c, expr_lb *b, const ev *v);   /* flattens lists; throws past EXPR_MAX_LIST */
void expr_lb_finish(expr_lb *b, ev *out);                /* out = list (possibly empty) */

/* Growable string in the arena. */
typedef struct expr_sb { char *p; size_t len, cap; const char *fname; } expr_sb;
void expr_sb_init(expr_sb *b, const char *fname);
void expr_sb_add(ectx *c, expr_sb *b, const void *p, size_t n);
void expr_sb_addc(ectx *c, expr_sb *b, char ch);
/* Appends n bytes exactly as n calls of expr_sb_addc would (same growth, same step and memory
   accounting, so the same limits apply), in a few copies. */
void expr_sb_add_bytewise(ectx *c, expr_sb *b, const char *p, size_t n);
void expr_sb_finish(expr_sb *b, ev *out, ev_kind kind);

/* ---- value helpers (expr_value.c) ----------------------------------------------------- */
const char *expr_kind_name(int kind);
/* Value constructors, inline: the evaluator builds one for nearly every node it visits. */
static inline ev expr_str(const char *s, size_t len)
{
    ev v = {.kind = EV_STR, .len = len};
    v.u.s = s;
    return v;
}
static inline ev expr_int(long long i)
{
    ev v = {.kind = EV_NUM, .isint = 1};
    v.u.i = i;
    return v;
}
static inline ev expr_bool(int b)
{
    ev v = {.kind = EV_BOOL};
    v.u.b = b ? 1 : 0;
    return v;
}
/* Text form of a scalar (CStr rules); bin and lists have none: returns -1. */
int expr_to_text(ectx *c, const ev *v, ev *out);
/* Parses a number (decimal, optional sign/fraction/exponent, or &H hex), ignoring surrounding
   blanks. Returns 0 and fills *out (EV_NUM) or -1. */
int expr_parse_num(const char *s, size_t len, ev *out);
/* Truth value: bool, non-zero number, "True"/"False" text or numeric text; null = false.
   Returns 0/1, or -1 if v has no truth value. */
int expr_truth(const ev *v);
/* Truth for conditions (IIF, Switch, Where, && ||): like expr_truth, a list is true when any value
   is; fails naming what when v has no truth value. */
int expr_truth_checked(ectx *c, const char *what, const ev *v, int *t);
/* Formats a number into buf (at least 32 bytes), returns length. */
size_t expr_fmt_num(const ev *v, char *buf);
/* Compares scalars (EV_STR..EV_DATE); sets *cmp (<0, 0, >0). Returns -1 when incomparable. */
int expr_compare(const ev *a, const ev *b, int *cmp);
/* Value equality used by RemoveDuplicates (exact). */
bool expr_same(const ev *a, const ev *b);

/* Argument converters for function fname, argument number idx (1-based) — fail with a message. */
int expr_arg_text(ectx *c, const char *fname, int idx, const ev *a, const char **s, size_t *len);
int expr_arg_int(ectx *c, const char *fname, int idx, const ev *a, long long *out);
int expr_arg_date(ectx *c, const char *fname, int idx, const ev *a, long long *ticks);

/* UTF-8: decodes one code point at s[*i] (advancing *i); invalid bytes decode as U+FFFD, 1 byte. */
uint32_t expr_utf8_next(const char *s, size_t len, size_t *i);
size_t expr_utf8_put(uint32_t cp, char *out);        /* out has 4 bytes; returns bytes written */
size_t expr_utf8_count(const char *s, size_t len);   /* code points */
/* Byte offset of code point number k (0-based) in s, or len if past the end. */
size_t expr_utf8_offset(const char *s, size_t len, size_t k);
bool expr_utf8_valid(const char *s, size_t len);
uint32_t expr_lower(uint32_t cp);
uint32_t expr_upper(uint32_t cp);
bool expr_is_space(uint32_t cp);

/* ---- dates (expr_date.c) -------------------------------------------------------------- */
#define EXPR_TICKS_PER_SEC 10000000LL
#define EXPR_UNIX_EPOCH_TICKS 116444736000000000LL   /* 1970-01-01 in FILETIME ticks */
/* Generalized time, ISO 8601, "M/D/YYYY", with optional time, AM/PM and zone. 0 or -1. */
int expr_date_parse(const char *s, size_t len, long long *ticks);
typedef struct expr_tm { int year, mon, day, hour, min, sec; long frac; int wday, yday; } expr_tm;
void expr_date_split(long long ticks, expr_tm *tm);           /* frac in 100-ns units */
/* Ticks from fields (month/day may be out of range: they normalise); -1 if out of 1601..9999. */
int expr_date_make(long long year, long long mon, long long day, long long secs_of_day,
                   long long frac, long long *ticks);
size_t expr_date_gentime(long long ticks, char *buf);        /* "YYYYMMDDHHMMSS.0Z", buf >= 32 */
int expr_date_format(ectx *c, long long ticks, const char *fmt, size_t flen, ev *out);
int expr_date_add(const char *interval, size_t ilen, long long n, long long ticks, long long *out);

/* ---- lexer (expr_lex.c) -------------------------------------------------------------- */
typedef enum tkind {
    T_EOF, T_NUM, T_STR, T_ATTR, T_PARAM, T_VAR, T_IDENT, T_LP, T_RP, T_COMMA, T_OP,
} tkind;
typedef struct token {
    tkind kind;
    int pos;              /* byte offset of the token's first character */
    int op;               /* T_OP: eop; T_NUM: 1 if hexadecimal (&H) */
    const char *s;        /* raw text: inside the brackets/quotes/percent signs, after $ */
    size_t len;
} token;
typedef struct expr_lexer { const char *src; size_t len, pos; } expr_lexer;
/* Reads the next token. Returns 0, or -1 with *msg set and t->pos at the offending character. */
int expr_lex_next(expr_lexer *l, token *t, const char **msg);
const char *expr_op_text(int op);

/* GUID text (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in braces) to 16 bytes in
   Microsoft order (first three groups little-endian). 0 or -1. */
int expr_guid_parse(const char *s, size_t len, unsigned char out[16]);
/* 16 bytes in Microsoft order to "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (buf >= 39). */
void expr_guid_format(const unsigned char g[16], char *buf);

/* ---- functions (expr_func_*.c) -------------------------------------------------------- */
typedef int (*expr_fn_impl)(ectx *c, const node *n, ev *a, int na, ev *out);
typedef int (*expr_fn_lazy)(ectx *c, const node *n, ev *out);
#define FN_BIND     1u   /* first argument is a $variable bound in the last argument */
#define FN_SPECIAL  2u   /* sees NULL-like special values instead of propagating them */
#define FN_VOLATILE 4u   /* result changes between calls (Now, Guid, RandomNum) */
typedef struct fndef {
    const char *name;
    int min, max;            /* max < 0: unbounded */
    unsigned flags;
    unsigned whole;          /* bit i: argument i+1 takes a list whole instead of being mapped */
    expr_fn_impl impl;       /* evaluated arguments */
    expr_fn_lazy lazy;       /* or: unevaluated arguments (program flow) */
} fndef;
const fndef *expr_fn_find(const char *name, size_t len);    /* case-insensitive */

/* Per-file function groups: each returns its table and count. */
const fndef *expr_fns_flow(size_t *n);
const fndef *expr_fns_eval(size_t *n);
const fndef *expr_fns_convert(size_t *n);
const fndef *expr_fns_string(size_t *n);
const fndef *expr_fns_multi(size_t *n);
const fndef *expr_fns_date(size_t *n);
const fndef *expr_fns_dn(size_t *n);

/* Convenience for function implementations. */
#define FNAME (n->fn->name)
#define FN(fname) static int fname(ectx *c, const node *n, ev *a, int na, ev *out)
#define LAZY(fname) static int fname(ectx *c, const node *n, ev *out)
/* a[i] as text (1-based argument number in messages), or return the error. */
#define ARG_TEXT(i, s, l) do { if (expr_arg_text(c, FNAME, (i) + 1, &a[i], &(s), &(l)) < 0) return ERR_FAIL; } while (0)
#define ARG_INT(i, v) do { if (expr_arg_int(c, FNAME, (i) + 1, &a[i], &(v)) < 0) return ERR_FAIL; } while (0)
#define ARG_DATE(i, v) do { if (expr_arg_date(c, FNAME, (i) + 1, &a[i], &(v)) < 0) return ERR_FAIL; } while (0)
#define RET_NULL() do { memset(out, 0, sizeof *out); return 0; } while (0)
#define IS_NULL(i) (a[i].kind == EV_NULL)
#endif
