/* Lexer of the expression language: attributes [x], parameters %x%, variables $x, strings,
 * numbers (decimal and &H hex), identifiers and operators. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <string.h>

const char *expr_op_text(int op)
{
    switch (op) {
    case OP_CONCAT: return "&";
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_EQ: return "=";
    case OP_NE: return "<>";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    case OP_AND: return "&&";
    case OP_OR: return "||";
    default: return "?";
    }
}

static bool is_ident_start(int c) { return isalpha(c) || c == '_'; }
static bool is_ident(int c) { return isalnum(c) || c == '_'; }
static bool is_param_char(int c) { return isalnum(c) || c == '.' || c == '_' || c == '-'; }

int expr_lex_next(expr_lexer *l, token *t, const char **msg)
{
    const char *s = l->src;
    size_t n = l->len, i = l->pos;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
    memset(t, 0, sizeof *t);
    t->pos = (int)i;
    if (i >= n) {
        t->kind = T_EOF;
        l->pos = i;
        return 0;
    }
    unsigned char c = (unsigned char)s[i];
    size_t start = i;
    switch (c) {
    case '(': t->kind = T_LP; i++; break;
    case ')': t->kind = T_RP; i++; break;
    case ',': t->kind = T_COMMA; i++; break;
    case '+': t->kind = T_OP; t->op = OP_ADD; i++; break;
    case '-': t->kind = T_OP; t->op = OP_SUB; i++; break;
    case '*': t->kind = T_OP; t->op = OP_MUL; i++; break;
    case '/': t->kind = T_OP; t->op = OP_DIV; i++; break;
    case '=': t->kind = T_OP; t->op = OP_EQ; i++; break;
    case '<':
        t->kind = T_OP;
        if (i + 1 < n && s[i + 1] == '>') { t->op = OP_NE; i += 2; }
        else if (i + 1 < n && s[i + 1] == '=') { t->op = OP_LE; i += 2; }
        else { t->op = OP_LT; i++; }
        break;
    case '>':
        t->kind = T_OP;
        if (i + 1 < n && s[i + 1] == '=') { t->op = OP_GE; i += 2; }
        else { t->op = OP_GT; i++; }
        break;
    case '|':
        if (i + 1 < n && s[i + 1] == '|') { t->kind = T_OP; t->op = OP_OR; i += 2; break; }
        *msg = "'|' is not an operator (use || for Or)";
        return -1;
    case '&':
        if (i + 1 < n && s[i + 1] == '&') { t->kind = T_OP; t->op = OP_AND; i += 2; break; }
        if (i + 2 < n && (s[i + 1] == 'H' || s[i + 1] == 'h') && isxdigit((unsigned char)s[i + 2])) {
            i += 2;
            size_t b = i;
            while (i < n && isxdigit((unsigned char)s[i])) i++;
            t->kind = T_NUM;
            t->op = 1;
            t->s = s + b;
            t->len = i - b;
            break;
        }
        t->kind = T_OP; t->op = OP_CONCAT; i++;
        break;
    case '[': {
        i++;
        size_t b = i;
        while (i < n && s[i] != ']') {
            unsigned char ch = (unsigned char)s[i];
            if (ch == '[' || ch < 0x20) { t->pos = (int)i; *msg = "unexpected character in attribute name (missing ']'?)"; return -1; }
            i++;
        }
        if (i >= n) { *msg = "unterminated attribute reference: missing ']'"; return -1; }
        if (i == b) { *msg = "empty attribute name []"; return -1; }
        t->kind = T_ATTR;
        t->s = s + b;
        t->len = i - b;
        i++;
        break;
    }
    case '%': {
        i++;
        size_t b = i;
        while (i < n && is_param_char((unsigned char)s[i])) i++;
        if (i >= n || s[i] != '%') { *msg = "unterminated parameter: expected %Name% (letters, digits, '.', '_', '-')"; return -1; }
        if (i == b) { *msg = "empty parameter name %%"; return -1; }
        t->kind = T_PARAM;
        t->s = s + b;
        t->len = i - b;
        i++;
        break;
    }
    case '$': {
        i++;
        size_t b = i;
        while (i < n && is_ident((unsigned char)s[i])) i++;
        if (i == b) { *msg = "expected a variable name after '$'"; return -1; }
        t->kind = T_VAR;
        t->s = s + b;
        t->len = i - b;
        break;
    }
    case '"': {
        i++;
        size_t b = i;
        for (;;) {
            if (i >= n) { *msg = "unterminated string: missing closing '\"'"; return -1; }
            if (s[i] == '"') {
                if (i + 1 < n && s[i + 1] == '"') { i += 2; continue; }  /* VBA "" escape */
                break;
            }
            i++;
        }
        t->kind = T_STR;
        t->s = s + b;
        t->len = i - b;
        i++;
        break;
    }
    default:
        if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
            while (i < n && isdigit((unsigned char)s[i])) i++;
            if (i < n && s[i] == '.') {
                i++;
                while (i < n && isdigit((unsigned char)s[i])) i++;
            }
            if (i < n && (is_ident((unsigned char)s[i]) || s[i] == '.')) {
                t->pos = (int)i;
                *msg = "malformed number";
                return -1;
            }
            t->kind = T_NUM;
            t->s = s + start;
            t->len = i - start;
            break;
        }
        if (is_ident_start(c)) {
            while (i < n && is_ident((unsigned char)s[i])) i++;
            t->kind = T_IDENT;
            t->s = s + start;
            t->len = i - start;
            break;
        }
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x9C || (unsigned char)s[i + 2] == 0x9D)) {
            *msg = "smart quote: strings must use straight quotes \"...\"";
            return -1;
        }
        *msg = "unexpected character";
        return -1;
    }
    l->pos = i;
    return 0;
}
