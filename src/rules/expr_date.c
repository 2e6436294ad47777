/* Dates of the expression language: parsing (generalized time, ISO 8601, US M/D/YYYY, AM/PM,
 * zones), FILETIME ticks arithmetic, and .NET-style custom formatting for FormatDateTime. */
#include "rules/expr_int.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TPS EXPR_TICKS_PER_SEC
#define TICKS_PER_DAY (86400LL * TPS)
#define MAX_TICKS 2650467743999999999LL   /* 9999-12-31T23:59:59.9999999Z */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, long long m, long long d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int is_leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static int days_in_month(long long y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 ? 28 + is_leap(y) : dm[m - 1];
}

int expr_date_make(long long year, long long mon, long long day, long long secs, long long frac, long long *ticks)
{
    if (year < -100000 || year > 100000 || mon < -1200000 || mon > 1200000) return -1;
    long long m0 = mon - 1;
    year += m0 >= 0 ? m0 / 12 : -((11 - m0) / 12);
    mon = m0 - (m0 >= 0 ? m0 / 12 : -((11 - m0) / 12)) * 12 + 1;
    if (day < -4000000 || day > 4000000 || secs < -400000000000LL || secs > 400000000000LL) return -1;
    long long days = days_from_civil(year, mon, 1) + day - 1;
    long long t = EXPR_UNIX_EPOCH_TICKS + days * TICKS_PER_DAY;
    t += secs * TPS + frac;
    if (t < 0 || t > MAX_TICKS) return -1;
    *ticks = t;
    return 0;
}

void expr_date_split(long long ticks, expr_tm *tm)
{
    long long days = ticks / TICKS_PER_DAY;
    long long rest = ticks % TICKS_PER_DAY;
    long long unix_days = days - EXPR_UNIX_EPOCH_TICKS / TICKS_PER_DAY;
    civil_from_days(unix_days, &tm->year, &tm->mon, &tm->day);
    long long secs = rest / TPS;
    tm->frac = (long)(rest % TPS);
    tm->hour = (int)(secs / 3600);
    tm->min = (int)(secs / 60 % 60);
    tm->sec = (int)(secs % 60);
    tm->wday = (int)((days + 1) % 7);  /* 1601-01-01 was a Monday; 0 = Sunday */
    tm->yday = (int)(unix_days - days_from_civil(tm->year, 1, 1));
}

size_t expr_date_gentime(long long ticks, char *buf)
{
    expr_tm tm;
    expr_date_split(ticks, &tm);
    return (size_t)snprintf(buf, 32, "%04d%02d%02d%02d%02d%02d.0Z", tm.year, tm.mon, tm.day, tm.hour, tm.min, tm.sec);
}

/* ---- parsing ------------------------------------------------------------------------------- */
typedef struct cur { const char *s; size_t n, i; } cur;

static int digits(cur *c, int min, int max, long long *out)
{
    int k = 0;
    long long v = 0;
    while (c->i < c->n && k < max && isdigit((unsigned char)c->s[c->i])) {
        v = v * 10 + (c->s[c->i] - '0');
        c->i++;
        k++;
    }
    if (k < min) return -1;
    *out = v;
    return 0;
}

static bool eat(cur *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) { c->i++; return true; }
    return false;
}

static void spaces(cur *c)
{
    while (c->i < c->n && c->s[c->i] == ' ') c->i++;
}

static bool eat_word(cur *c, const char *w)
{
    size_t l = strlen(w);
    if (c->n - c->i >= l && strncasecmp(c->s + c->i, w, l) == 0 &&
        (c->i + l == c->n || !isalpha((unsigned char)c->s[c->i + l]))) {
        c->i += l;
        return true;
    }
    return false;
}

/* Fraction of a second: up to 7 significant digits become 100-ns units; more are ignored. */
static int fraction(cur *c, long long *frac)
{
    long long f = 0;
    int k = 0;
    if (c->i >= c->n || !isdigit((unsigned char)c->s[c->i])) return -1;
    while (c->i < c->n && isdigit((unsigned char)c->s[c->i])) {
        if (k < 7) { f = f * 10 + (c->s[c->i] - '0'); k++; }
        c->i++;
    }
    while (k < 7) { f *= 10; k++; }
    *frac = f;
    return 0;
}

/* Zone: Z, UTC, GMT, or +H, +HH, +HHMM, +HH:MM (and '-'). Returns offset seconds east of UTC. */
static int zone(cur *c, long long *off)
{
    *off = 0;
    if (c->i >= c->n) return 0;
    if (eat(c, 'Z') || eat(c, 'z') || eat_word(c, "UTC") || eat_word(c, "GMT")) return 0;
    char sign = c->s[c->i];
    if (sign != '+' && sign != '-') return -1;
    c->i++;
    long long h = 0, m = 0;
    size_t st = c->i;
    if (digits(c, 1, 4, &h) < 0) return -1;
    size_t nd = c->i - st;
    if (nd == 4) { m = h % 100; h /= 100; }
    else if (nd == 3) return -1;
    else if (eat(c, ':') && digits(c, 2, 2, &m) < 0) return -1;
    if (h > 14 || m > 59) return -1;
    *off = (h * 3600 + m * 60) * (sign == '-' ? -1 : 1);
    return 0;
}

static int finish(long long y, long long mo, long long d, long long h, long long mi, long long s, long long frac,
                  long long off, long long *ticks)
{
    if (y < 1601 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (int)mo) || h > 23 ||
        mi > 59 || s > 60)
        return -1;
    if (s == 60) s = 59;  /* leap second: clamp */
    return expr_date_make(y, mo, d, h * 3600 + mi * 60 + s - off, frac, ticks);
}

static int parse_generalized(cur *c, long long *ticks)
{
    size_t st = c->i;
    while (c->i < c->n && isdigit((unsigned char)c->s[c->i])) c->i++;
    size_t nd = c->i - st;
    if (nd != 8 && nd != 10 && nd != 12 && nd != 14) return -1;
    const char *p = c->s + st;
    long long v[7] = {0};
    long long y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
    for (size_t k = 4; k < nd; k += 2) v[k / 2] = (p[k] - '0') * 10 + (p[k + 1] - '0');
    long long frac = 0, off = 0;
    if (c->i < c->n && (c->s[c->i] == '.' || c->s[c->i] == ',')) {
        c->i++;
        if (fraction(c, &frac) < 0) return -1;
    }
    if (zone(c, &off) < 0 || c->i != c->n) return -1;
    return finish(y, v[2], v[3], v[4], v[5], v[6], frac, off, ticks);
}

static int parse_time(cur *c, long long *h, long long *mi, long long *s, long long *frac)
{
    if (digits(c, 1, 2, h) < 0 || !eat(c, ':') || digits(c, 2, 2, mi) < 0) return -1;
    if (eat(c, ':')) {
        if (digits(c, 2, 2, s) < 0) return -1;
        if (c->i < c->n && (c->s[c->i] == '.' || c->s[c->i] == ',')) {
            c->i++;
            if (fraction(c, frac) < 0) return -1;
        }
    }
    size_t save = c->i;
    spaces(c);
    if (eat_word(c, "AM") || eat_word(c, "PM")) {
        bool pm = toupper((unsigned char)c->s[c->i - 2]) == 'P';
        if (*h < 1 || *h > 12) return -1;
        if (*h == 12) *h = 0;
        if (pm) *h += 12;
    } else {
        c->i = save;
    }
    return 0;
}

int expr_date_parse(const char *s, size_t len, long long *ticks)
{
    while (len && isspace((unsigned char)*s)) { s++; len--; }
    while (len && isspace((unsigned char)s[len - 1])) len--;
    if (len == 0 || len > 64) return -1;
    cur c = {s, len, 0};
    /* generalized time: a run of 8+ digits at the start with no '-' or '/' after the year */
    if (len >= 8) {
        bool gen = true;
        for (int k = 0; k < 8; k++) if (!isdigit((unsigned char)s[k])) gen = false;
        if (gen) return parse_generalized(&c, ticks);
    }
    long long y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (digits(&c, 4, 4, &y) == 0 && eat(&c, '-')) {
        if (digits(&c, 1, 2, &mo) < 0 || !eat(&c, '-') || digits(&c, 1, 2, &d) < 0) return -1;
    } else {
        c.i = 0;
        if (digits(&c, 1, 2, &mo) < 0 || !eat(&c, '/') || digits(&c, 1, 2, &d) < 0 || !eat(&c, '/') ||
            digits(&c, 4, 4, &y) < 0)
            return -1;
    }
    if (c.i < c.n) {
        if (c.s[c.i] == 'T' || c.s[c.i] == 't') {
            c.i++;
            if (parse_time(&c, &h, &mi, &sec, &frac) < 0) return -1;
        } else {
            size_t save = c.i;
            spaces(&c);
            if (c.i < c.n && isdigit((unsigned char)c.s[c.i])) {
                if (parse_time(&c, &h, &mi, &sec, &frac) < 0) return -1;
            } else {
                c.i = save;
            }
        }
        spaces(&c);
        if (zone(&c, &off) < 0) return -1;
        spaces(&c);
        if (c.i != c.n) return -1;
    }
    return finish(y, mo, d, h, mi, sec, frac, off, ticks);
}

/* ---- formatting ---------------------------------------------------------------------------- */
static const char *MONTHS[] = {"January", "February", "March", "April", "May", "June", "July",
                               "August", "September", "October", "November", "December"};
static const char *DAYS[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static void put_num(ectx *c, expr_sb *b, long long v, int width)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%0*lld", width, v);
    expr_sb_add(c, b, tmp, (size_t)n);
}

int expr_date_format(ectx *c, long long ticks, const char *f, size_t fl, ev *out)
{
    static const char *FN = "FormatDateTime";
    /* one-letter standard formats (invariant culture) */
    if (fl == 1) {
        switch (f[0]) {
        case 'o': case 'O': f = "yyyy-MM-ddTHH:mm:ss.fffffffK"; break;
        case 's': f = "yyyy-MM-ddTHH:mm:ss"; break;
        case 'u': f = "yyyy-MM-dd HH:mm:ssZ"; break;
        case 'd': f = "MM/dd/yyyy"; break;
        case 'D': f = "dddd, dd MMMM yyyy"; break;
        case 'G': f = "MM/dd/yyyy HH:mm:ss"; break;
        case 'g': f = "MM/dd/yyyy HH:mm"; break;
        case 'T': f = "HH:mm:ss"; break;
        case 't': f = "HH:mm"; break;
        default:
            return expr_fail(c, "%s: unsupported standard format \"%c\" (use o, s, u, d, D, G, g, T, t or a "
                             "custom format such as yyyy-MM-dd)", FN, f[0]);
        }
        fl = strlen(f);
    }
    expr_tm tm;
    expr_date_split(ticks, &tm);
    expr_sb b;
    expr_sb_init(&b, FN);
    for (size_t i = 0; i < fl;) {
        char ch = f[i];
        size_t r = 1;
        while (i + r < fl && f[i + r] == ch) r++;
        switch (ch) {
        case 'y':
            if (r == 1) put_num(c, &b, tm.year % 100, 1);
            else if (r == 2) put_num(c, &b, tm.year % 100, 2);
            else put_num(c, &b, tm.year, (int)r);
            break;
        case 'M':
            if (r <= 2) put_num(c, &b, tm.mon, (int)r);
            else if (r == 3) expr_sb_add(c, &b, MONTHS[tm.mon - 1], 3);
            else expr_sb_add(c, &b, MONTHS[tm.mon - 1], strlen(MONTHS[tm.mon - 1]));
            break;
        case 'd':
            if (r <= 2) put_num(c, &b, tm.day, (int)r);
            else if (r == 3) expr_sb_add(c, &b, DAYS[tm.wday], 3);
            else expr_sb_add(c, &b, DAYS[tm.wday], strlen(DAYS[tm.wday]));
            break;
        case 'H': put_num(c, &b, tm.hour, r >= 2 ? 2 : 1); break;
        case 'h': put_num(c, &b, tm.hour % 12 ? tm.hour % 12 : 12, r >= 2 ? 2 : 1); break;
        case 'm': put_num(c, &b, tm.min, r >= 2 ? 2 : 1); break;
        case 's': put_num(c, &b, tm.sec, r >= 2 ? 2 : 1); break;
        case 't':
            if (r == 1) expr_sb_addc(c, &b, tm.hour < 12 ? 'A' : 'P');
            else expr_sb_add(c, &b, tm.hour < 12 ? "AM" : "PM", 2);
            break;
        case 'f':
        case 'F': {
            if (r > 7) return expr_fail(c, "%s: at most 7 '%c' fraction digits", FN, ch);
            long long v = tm.frac;
            for (size_t k = r; k < 7; k++) v /= 10;
            if (ch == 'F') {
                int w = (int)r;
                while (w > 0 && v % 10 == 0) { v /= 10; w--; }
                if (w > 0) put_num(c, &b, v, w);
                else if (b.len && b.p[b.len - 1] == '.') b.len--;  /* .NET drops the '.' before empty F */
            } else {
                put_num(c, &b, v, (int)r);
            }
            break;
        }
        case 'z':
            expr_sb_add(c, &b, r == 1 ? "+0" : r == 2 ? "+00" : "+00:00", r == 1 ? 2 : r == 2 ? 3 : 6);
            break;
        case 'K': for (size_t k = 0; k < r; k++) expr_sb_addc(c, &b, 'Z'); break;
        case '\'':
        case '"': {
            size_t j = i + 1;
            while (j < fl && f[j] != ch) j++;
            if (j >= fl) return expr_fail(c, "%s: unterminated quoted text in format", FN);
            expr_sb_add(c, &b, f + i + 1, j - i - 1);
            r = j - i + 1;
            break;
        }
        case '\\':
            if (i + 1 < fl) expr_sb_addc(c, &b, f[i + 1]);
            r = 2;
            break;
        case '%':
            r = 1;  /* "%d": a lone custom specifier */
            break;
        default:
            expr_sb_add(c, &b, f + i, r);
            break;
        }
        i += r;
    }
    expr_sb_finish(&b, out, EV_STR);
    return 0;
}

int expr_date_add(const char *iv, size_t il, long long n, long long ticks, long long *out)
{
    char k[8] = {0};
    if (il == 0 || il > 4) return -2;
    if (n > 100000000LL * 86400 || n < -100000000LL * 86400) return -1;
    for (size_t i = 0; i < il; i++) k[i] = (char)tolower((unsigned char)iv[i]);
    long long months = 0, secs = 0;
    if (!strcmp(k, "yyyy")) months = n * 12;
    else if (!strcmp(k, "q")) months = n * 3;
    else if (!strcmp(k, "m")) months = n;
    else if (!strcmp(k, "y") || !strcmp(k, "d") || !strcmp(k, "w")) secs = n * 86400;
    else if (!strcmp(k, "ww")) secs = n * 7 * 86400;
    else if (!strcmp(k, "h")) secs = n * 3600;
    else if (!strcmp(k, "n")) secs = n * 60;
    else if (!strcmp(k, "s")) secs = n;
    else return -2;
    if (months) {
        if (months > 120000 || months < -120000) return -1;
        expr_tm tm;
        expr_date_split(ticks, &tm);
        long long m0 = tm.mon - 1 + months;
        long long y = tm.year + (m0 >= 0 ? m0 / 12 : -((11 - m0) / 12));
        long long mon = m0 - (y - tm.year) * 12 + 1;
        if (y < 1601 || y > 9999) return -1;
        int dim = days_in_month(y, (int)mon);
        int day = tm.day > dim ? dim : tm.day;
        long long tod = ticks % TICKS_PER_DAY;
        return expr_date_make(y, mon, day, 0, tod, out);
    }
    long long t;
    if (__builtin_mul_overflow(secs, TPS, &t) || __builtin_add_overflow(ticks, t, &t)) return -1;
    if (t < 0 || t > MAX_TICKS) return -1;
    *out = t;
    return 0;
}
