/* Imports residents, programmes, entitlements, payments, marriage registries and marital
 * records from CSV: every row checked first, then a good file written whole in one audited
 * transaction, so nothing is ever half-imported. */
#include "hs/import.h"

#include "hs/audit.h"
#include "hs/marriage.h"
#include "hs/seal.h"

#include "cl/lds.h"
#include "hm/log.h"
#include "hm/util.h"

#include <csv.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_COLS      16 /* columns of the widest kind */
#define MAX_FILE_COLS 64 /* fields in one record before the record is refused */

/* ---- parsers ------------------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum hs_amount_err hs_import_parse_yuan(const char *s, int64_t *fen)
{
    size_t nint = 0, nfrac = 0;
    const char *p = s;
    int64_t yuan = 0, cents = 0;

    if (!s || !*s)
        return HS_AMOUNT_EMPTY;
    if (*s == '-')
        return HS_AMOUNT_NEGATIVE;
    while (is_digit(p[nint]))
        nint++;
    if (nint == 0)
        return HS_AMOUNT_NOT_NUMBER;
    p += nint;
    if (*p == '.') {
        p++;
        while (is_digit(p[nfrac]))
            nfrac++;
        if (nfrac == 0)
            return HS_AMOUNT_NOT_NUMBER;
        p += nfrac;
    }
    if (*p != '\0')
        return HS_AMOUNT_NOT_NUMBER;
    if (nfrac > 2)
        return HS_AMOUNT_DECIMALS;
    if (nint > 1 && s[0] == '0')
        return HS_AMOUNT_LEADING_ZERO;
    if (nint > 9) /* more than 999,999,999 yuan: over the limit whatever the decimals */
        return HS_AMOUNT_TOO_LARGE;
    for (size_t i = 0; i < nint; i++)
        yuan = yuan * 10 + (s[i] - '0');
    for (size_t i = 0; i < 2; i++)
        cents = cents * 10 + (i < nfrac ? s[nint + 1 + i] - '0' : 0);
    if (yuan * 100 + cents > HS_IMPORT_MAX_FEN)
        return HS_AMOUNT_TOO_LARGE;
    *fen = yuan * 100 + cents;
    return HS_AMOUNT_OK;
}

const char *hs_import_amount_strerror(enum hs_amount_err e)
{
    switch (e) {
    case HS_AMOUNT_OK:
        return "is good";
    case HS_AMOUNT_EMPTY:
        return "is empty";
    case HS_AMOUNT_NEGATIVE:
        return "is negative";
    case HS_AMOUNT_NOT_NUMBER:
        return "is not an amount in yuan (digits, then at most two decimals after a '.')";
    case HS_AMOUNT_LEADING_ZERO:
        return "has a leading zero";
    case HS_AMOUNT_DECIMALS:
        return "has more than two decimals";
    case HS_AMOUNT_TOO_LARGE:
        return "is more than 100000000.00 yuan";
    }
    return "is not an amount";
}

static bool digits_at(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return true;
}

static int num_at(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool hs_import_parse_month(const char *s, int32_t *yyyymm)
{
    if (!s || strlen(s) != 7 || !digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2))
        return false;
    int y = num_at(s, 4), m = num_at(s + 5, 2);
    if (y < 1900 || y > 2099 || m < 1 || m > 12)
        return false;
    *yyyymm = y * 100 + m;
    return true;
}

bool hs_import_parse_date(const char *s, int32_t *yyyymmdd)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int32_t ym;

    if (!s || strlen(s) != 10 || s[7] != '-' || !digits_at(s + 8, 2))
        return false;
    char head[8];
    memcpy(head, s, 7);
    head[7] = '\0';
    if (!hs_import_parse_month(head, &ym))
        return false;
    int y = ym / 100, m = ym % 100, d = num_at(s + 8, 2);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int dim = mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    if (d < 1 || d > dim)
        return false;
    *yyyymmdd = ym * 100 + d;
    return true;
}

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

/* ---- kinds and their columns -------------------------------------------------- */

struct kind_spec {
    enum hs_import_kind kind;
    const char *name;  /* "residents" */
    const char *table; /* what a row is, in messages: "resident" */
    const char *cols[MAX_COLS];
    size_t ncols;
    int key_col;          /* the column that must be new; the resident kind has three */
    const char *key_name; /* in messages */
};

enum { P_CODE, P_NAME, P_CATEGORY, P_FORM, P_PERIOD, P_STANDARD, P_TIER, P_REGION, P_SOURCE };
enum { R_ID, R_CITIZEN, R_NAME, R_WELFARE, R_BIRTH, R_REGION, R_FLAGS, R_PHONE };
enum { E_ID, E_RESIDENT, E_PROGRAMME, E_AMOUNT, E_PERIOD, E_START, E_END, E_STATUS, E_REASON };
enum { Y_ID, Y_ENT, Y_PERIOD, Y_AMOUNT, Y_CHANNEL, Y_ACCOUNT, Y_PAID, Y_STATUS };
enum { O_ID, O_NAME, O_REGION, O_CROSS, O_SERVICES, O_HOURS, O_SLOT, O_CAPACITY };
/* OD_KEY is not a column of the file: "office|date", the row's key. */
enum { OD_OFFICE, OD_DATE, OD_KIND, OD_CAPACITY, OD_HOURS, OD_OPENS, OD_NOTE, OD_KEY };
/* M_PERSON and M_SPOUSE are not columns of the file: the person keys of the numbers. */
enum { M_CITIZEN, M_STATUS, M_SPOUSE_ID, M_HUKOU, M_APPLIED, M_PERSON, M_SPOUSE };

static const struct kind_spec kinds[] = {
    { HS_IMPORT_PROGRAMMES,
      "programmes",
      "programme",
      { "code", "name", "category", "form", "period", "standard", "care_tier", "region_code",
        "source" },
      9,
      P_CODE,
      "code" },
    { HS_IMPORT_RESIDENTS,
      "residents",
      "resident",
      { "id", "citizen_id", "name", "welfare_no", "birth_date", "region_code", "flags", "phone" },
      8,
      R_ID,
      "id" },
    { HS_IMPORT_ENTITLEMENTS,
      "entitlements",
      "entitlement",
      { "id", "resident_id", "programme", "amount", "period", "start_date", "end_date", "status",
        "reason" },
      9,
      E_ID,
      "id" },
    { HS_IMPORT_PAYMENTS,
      "payments",
      "payment",
      { "id", "entitlement_id", "period", "amount", "channel", "account", "paid_date", "status" },
      8,
      Y_ID,
      "id" },
    { HS_IMPORT_OFFICES,
      "offices",
      "office",
      { "id", "name", "region", "cross_province", "services", "hours", "slot_minutes", "capacity" },
      8,
      O_ID,
      "id" },
    { HS_IMPORT_OFFICE_DAYS,
      "office-days",
      "office day",
      { "office_id", "date", "kind", "capacity", "hours", "opens_at", "note" },
      7,
      OD_KEY,
      "office and date" },
    { HS_IMPORT_MARRIAGES,
      "marriages",
      "marital record",
      { "citizen_id", "status", "spouse_citizen_id", "hukou_region", "divorce_application_date" },
      5,
      M_PERSON,
      "citizen ID" },
};

static const struct kind_spec *spec_of(enum hs_import_kind k)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(kinds); i++)
        if (kinds[i].kind == k)
            return &kinds[i];
    return NULL;
}

bool hs_import_kind_parse(const char *s, enum hs_import_kind *out)
{
    for (size_t i = 0; s && i < HM_ARRAY_SIZE(kinds); i++)
        if (strcmp(s, kinds[i].name) == 0) {
            *out = kinds[i].kind;
            return true;
        }
    return false;
}

const char *hs_import_kind_name(enum hs_import_kind k)
{
    const struct kind_spec *sp = spec_of(k);
    return sp ? sp->name : "?";
}

/* A word of a closed vocabulary and the number it is stored as. */
struct word {
    const char *s;
    int v;
};

static const struct word categories[] = {
    { "dibao", 1 },
    { "tekun", 2 },
    { "tekun_care", 3 },
    { "temporary", 4 },
    { "orphan", 5 },
    { "unsupported_child", 6 },
    { "disability", 7 },
    { "elderly_allowance", 8 },
    { "elderly_service", 9 },
    { "price_subsidy", 10 },
    { NULL, 0 },
};
static const struct word forms[] = { { "cash", 1 }, { "service", 2 }, { NULL, 0 } };
static const struct word periods[] = { { "month", 1 }, { "year", 2 }, { "once", 3 }, { NULL, 0 } };
static const struct word tiers[] = {
    { "", 0 }, { "full", 1 }, { "partial", 2 }, { "self", 3 }, { NULL, 0 },
};
static const struct word flag_words[] = {
    { "tap_only", HS_RESIDENT_TAP_ONLY },
    { "voice", HS_RESIDENT_VOICE },
    { "large_text", HS_RESIDENT_LARGE_TEXT },
    { NULL, 0 },
};
static const struct word ent_statuses[] = {
    { "active", HS_ENT_ACTIVE },
    { "phase_out", HS_ENT_PHASE_OUT },
    { "suspended", HS_ENT_SUSPENDED },
    { "stopped", HS_ENT_STOPPED },
    { NULL, 0 },
};
static const struct word pay_statuses[] = {
    { "scheduled", HS_PAY_SCHEDULED }, { "paid", HS_PAY_PAID },
    { "confirmed", HS_PAY_CONFIRMED }, { "disputed", HS_PAY_DISPUTED },
    { "returned", HS_PAY_RETURNED },   { NULL, 0 },
};
static const struct word channels[] = {
    { "bank", 1 }, { "sscard", 2 }, { "cash", 3 }, { "service", 4 }, { NULL, 0 },
};

static bool word_find(const struct word *w, const char *s, int *v)
{
    for (; w->s; w++)
        if (strcmp(w->s, s) == 0) {
            *v = w->v;
            return true;
        }
    return false;
}

/* "a, b or c" for messages. */
static void word_list(const struct word *w, char *out, size_t cap)
{
    size_t n = 0, len = 0;

    out[0] = '\0';
    for (const struct word *x = w; x->s; x++)
        if (x->s[0])
            n++;
    for (size_t i = 0; w->s; w++) {
        if (!w->s[0])
            continue;
        int k = snprintf(out + len, cap - len, "%s%s", i == 0 ? "" : (i + 1 == n ? " or " : ", "),
                         w->s);
        if (k < 0 || (size_t)k >= cap - len)
            return;
        len += (size_t)k;
        i++;
    }
}

/* ---- the state of one import -------------------------------------------------- */

struct row {
    size_t line;
    bool bad;
    char *f[MAX_COLS]; /* in the kind's column order; NULL only in a bad row */
    int64_t fen;       /* amount or standard */
    bool fen_null;     /* programmes: no standard */
    int64_t num;       /* residents: flags; entitlements, payments, marriages: status;
                        * offices: slot_minutes; office days: capacity */
    int64_t num2;      /* offices: capacity; office days: opens_at (unix seconds, 0: none) */
    unsigned bits;     /* offices: the services (HS_MARRIAGE_SVC_BIT) */
    char account[24];  /* payments: the account as stored, masked */
};

enum field_err { FE_NONE = 0, FE_LONG, FE_NUL, FE_UTF8 };

struct imp {
    const struct kind_spec *sp;
    const struct hs_import_opts *o;
    struct hs_import_report *rep;
    hs_rc rc; /* HS_E_NO_MEMORY stops everything */

    size_t line;     /* the physical line being fed (1-based) */
    size_t row_line; /* where the record being read began */
    bool in_row;

    char *cur[MAX_FILE_COLS];
    enum field_err cur_err[MAX_FILE_COLS];
    size_t ncur;
    bool cur_many; /* more than MAX_FILE_COLS fields */

    bool header_done;
    int map[MAX_FILE_COLS]; /* file column -> kind column */
    size_t nfile_cols;

    struct row *rows;
    size_t nrows, cap_rows;
    size_t msg_cap;
};

static void add_msg(struct imp *im, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_msg(struct imp *im, size_t line, const char *fmt, ...)
{
    struct hs_import_report *rep = im->rep;
    char body[768], text[1024];
    va_list ap;

    rep->errors++;
    if (rep->nmsgs >= HS_IMPORT_MAX_ERRORS || im->rc != HS_OK)
        return;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (line)
        snprintf(text, sizeof(text), "%s:%zu: %s", im->o->name, line, body);
    else
        snprintf(text, sizeof(text), "%s: %s", im->o->name, body);
    if (rep->nmsgs == im->msg_cap) {
        size_t cap = im->msg_cap ? im->msg_cap * 2 : 16;
        struct hs_import_msg *m = realloc(rep->msgs, cap * sizeof(*m));
        if (!m) {
            im->rc = HS_E_NO_MEMORY;
            return;
        }
        rep->msgs = m;
        im->msg_cap = cap;
    }
    char *dup = strdup(text);
    if (!dup) {
        im->rc = HS_E_NO_MEMORY;
        return;
    }
    rep->msgs[rep->nmsgs].line = line;
    rep->msgs[rep->nmsgs].text = dup;
    rep->nmsgs++;
}

static void file_error(struct imp *im, size_t line, const char *what)
{
    im->rep->file_error = true;
    add_msg(im, line, "%s", what);
}

static void cur_clear(struct imp *im)
{
    for (size_t i = 0; i < im->ncur; i++) {
        free(im->cur[i]);
        im->cur[i] = NULL;
        im->cur_err[i] = FE_NONE;
    }
    im->ncur = 0;
    im->cur_many = false;
}

/* libcsv: one field read (NUL-terminated, CSV_APPEND_NULL). */
static void on_field(void *data, size_t len, void *arg)
{
    struct imp *im = arg;
    const unsigned char *s = data;

    if (im->rc != HS_OK || im->rep->file_error)
        return;
    if (im->ncur == MAX_FILE_COLS) {
        im->cur_many = true;
        return;
    }
    enum field_err e = FE_NONE;
    if (len > HS_IMPORT_MAX_FIELD)
        e = FE_LONG;
    else if (s && memchr(s, '\0', len))
        e = FE_NUL;
    else if (s && !utf8_valid(s, len))
        e = FE_UTF8;
    char *copy = malloc(e == FE_NONE ? len + 1 : 1);
    if (!copy) {
        im->rc = HS_E_NO_MEMORY;
        return;
    }
    if (e == FE_NONE && len)
        memcpy(copy, s, len);
    copy[e == FE_NONE ? len : 0] = '\0';
    im->cur[im->ncur] = copy;
    im->cur_err[im->ncur] = e;
    im->ncur++;
}

static bool record_blank(const struct imp *im)
{
    for (size_t i = 0; i < im->ncur; i++)
        if (im->cur[i][0] || im->cur_err[i] != FE_NONE)
            return false;
    return !im->cur_many;
}

static void take_header(struct imp *im)
{
    const struct kind_spec *sp = im->sp;
    bool seen[MAX_COLS] = { false };
    char list[256] = "";
    size_t len = 0;

    for (size_t c = 0; c < sp->ncols; c++) {
        int k = snprintf(list + len, sizeof(list) - len, "%s%s", c ? ", " : "", sp->cols[c]);
        if (k > 0 && (size_t)k < sizeof(list) - len)
            len += (size_t)k;
    }
    im->header_done = true;
    if (im->cur_many || im->ncur > sp->ncols + 16) {
        file_error(im, im->row_line, "the header has far more columns than a file of this kind");
        return;
    }
    for (size_t i = 0; i < im->ncur; i++) {
        const char *name = im->cur[i];
        size_t c;
        if (im->cur_err[i] != FE_NONE) {
            file_error(im, im->row_line, "the header holds a column name that is not valid text");
            return;
        }
        for (c = 0; c < sp->ncols && strcmp(name, sp->cols[c]) != 0; c++)
            ;
        if (c == sp->ncols) {
            im->rep->file_error = true;
            add_msg(im, im->row_line, "unknown column '%.64s' (the columns of %s are %s)", name,
                    sp->name, list);
            continue;
        }
        if (seen[c]) {
            im->rep->file_error = true;
            add_msg(im, im->row_line, "column '%s' is named twice", name);
            continue;
        }
        seen[c] = true;
        im->map[i] = (int)c;
    }
    for (size_t c = 0; c < sp->ncols; c++)
        if (!seen[c]) {
            im->rep->file_error = true;
            add_msg(im, im->row_line, "missing column '%s' (the columns of %s are %s)", sp->cols[c],
                    sp->name, list);
        }
    im->nfile_cols = im->ncur;
}

static struct row *new_row(struct imp *im)
{
    if (im->nrows == im->cap_rows) {
        size_t cap = im->cap_rows ? im->cap_rows * 2 : 64;
        struct row *r = realloc(im->rows, cap * sizeof(*r));
        if (!r) {
            im->rc = HS_E_NO_MEMORY;
            return NULL;
        }
        im->rows = r;
        im->cap_rows = cap;
    }
    struct row *r = &im->rows[im->nrows++];
    memset(r, 0, sizeof(*r));
    r->line = im->row_line;
    return r;
}

static void take_row(struct imp *im)
{
    struct row *r = new_row(im);

    if (!r)
        return;
    im->rep->rows++;
    if (im->cur_many || im->ncur != im->nfile_cols) {
        r->bad = true;
        add_msg(im, r->line, "has %s%zu fields; the header has %zu", im->cur_many ? "over " : "",
                im->ncur, im->nfile_cols);
        return;
    }
    for (size_t i = 0; i < im->ncur; i++) {
        const char *col = im->sp->cols[im->map[i]];
        switch (im->cur_err[i]) {
        case FE_NONE:
            break;
        case FE_LONG:
            r->bad = true;
            add_msg(im, r->line, "%s is longer than %u bytes", col, HS_IMPORT_MAX_FIELD);
            break;
        case FE_NUL:
            r->bad = true;
            add_msg(im, r->line, "%s holds a NUL byte", col);
            break;
        case FE_UTF8:
            r->bad = true;
            add_msg(im, r->line, "%s is not valid UTF-8", col);
            break;
        }
        r->f[im->map[i]] = im->cur[i]; /* the row takes the field */
        im->cur[i] = NULL;
    }
}

/* libcsv: the end of a record. */
static void on_record(int c, void *arg)
{
    struct imp *im = arg;

    (void)c;
    im->in_row = false;
    if (im->rc == HS_OK && !im->rep->file_error && !record_blank(im)) {
        if (!im->header_done)
            take_header(im);
        else
            take_row(im);
    }
    cur_clear(im);
}

/* True for a line holding nothing but spaces, tabs and its line break. */
static bool line_blank(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return false;
    return true;
}

/*
 * Feeds the parser one physical line at a time (a chunk ends after each CR or
 * LF), so the line a record starts on is known: the first non-blank line fed
 * while no record is open.
 */
static void parse_csv(struct imp *im, const uint8_t *data, size_t len)
{
    struct csv_parser csv;
    size_t i = 0;

    if (csv_init(&csv, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        im->rc = HS_E_NO_MEMORY;
        return;
    }
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
        i = 3;
    im->line = 1;
    while (i < len && im->rc == HS_OK && !im->rep->file_error) {
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r')
            j++;
        if (j < len)
            j++;
        if (!im->in_row && !line_blank(data + i, j - i)) {
            im->in_row = true;
            im->row_line = im->line;
        }
        if (csv_parse(&csv, data + i, j - i, on_field, on_record, im) != j - i) {
            if (csv_error(&csv) == CSV_ENOMEM)
                im->rc = HS_E_NO_MEMORY;
            else
                file_error(im, im->line,
                           "a quote is misplaced (a quoted field must start with '\"' and "
                           "end with '\"' before the next comma or line end; write a '\"' "
                           "inside one as '\"\"')");
            break;
        }
        if (data[j - 1] == '\n' || (data[j - 1] == '\r' && (j == len || data[j] != '\n')))
            im->line++;
        i = j;
    }
    if (im->rc == HS_OK && !im->rep->file_error && csv_fini(&csv, on_field, on_record, im) != 0) {
        file_error(im, im->row_line, "a quoted field is not closed before the end of the file");
    }
    cur_clear(im);
    csv_free(&csv);
    if (im->rc == HS_OK && !im->rep->file_error && !im->header_done)
        file_error(im, 0, "the file is empty: it needs a header row naming the columns");
}

/* ---- checking one row --------------------------------------------------------- */

static const char *F(const struct row *r, int col)
{
    return r->f[col] ? r->f[col] : "";
}

static void row_err(struct imp *im, struct row *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void row_err(struct imp *im, struct row *r, const char *fmt, ...)
{
    char body[640];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    r->bad = true;
    add_msg(im, r->line, "%s", body);
}

/* A key: 1-32 ASCII letters, digits, '-', '_' or '.'. */
static bool key_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void check_key(struct imp *im, struct row *r, int col, const char *what)
{
    if (!key_ok(F(r, col)))
        row_err(im, r, "%s '%.40s' is not 1-32 letters, digits, '-', '_' or '.'", what, F(r, col));
}

static void check_text(struct imp *im, struct row *r, int col, bool required)
{
    if (required && !F(r, col)[0])
        row_err(im, r, "%s is empty", im->sp->cols[col]);
}

static void check_word(struct imp *im, struct row *r, int col, const struct word *w, int *v)
{
    char list[256];

    if (word_find(w, F(r, col), v))
        return;
    word_list(w, list, sizeof(list));
    row_err(im, r, "%s '%.40s' is not %s", im->sp->cols[col], F(r, col), list);
}

/* A region code (GB/T 2260 and its extensions): 6, 9 or 12 digits. */
static void check_region(struct imp *im, struct row *r, int col)
{
    const char *s = F(r, col);
    size_t n = strlen(s);

    if (!((n == 6 || n == 9 || n == 12) && digits_at(s, n)))
        row_err(im, r, "region_code '%.40s' is not 6, 9 or 12 digits", s);
}

static void check_amount(struct imp *im, struct row *r, int col, bool positive)
{
    enum hs_amount_err e = hs_import_parse_yuan(F(r, col), &r->fen);

    if (e != HS_AMOUNT_OK)
        row_err(im, r, "%s '%.40s' %s", im->sp->cols[col], F(r, col), hs_import_amount_strerror(e));
    else if (positive && r->fen == 0)
        row_err(im, r, "%s is 0", im->sp->cols[col]);
}

static bool check_date(struct imp *im, struct row *r, int col, bool required, int32_t *out)
{
    *out = 0;
    if (!F(r, col)[0]) {
        if (required)
            row_err(im, r, "%s is empty", im->sp->cols[col]);
        return !required;
    }
    if (hs_import_parse_date(F(r, col), out))
        return true;
    row_err(im, r, "%s '%.40s' is not a date YYYY-MM-DD that exists", im->sp->cols[col], F(r, col));
    return false;
}

static int32_t today(int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        return 20991231;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void check_programme(struct imp *im, struct row *r)
{
    int cat = 0, v = 0, tier = 0;

    check_key(im, r, P_CODE, "code");
    check_text(im, r, P_NAME, true);
    check_word(im, r, P_CATEGORY, categories, &cat);
    check_word(im, r, P_FORM, forms, &v);
    check_word(im, r, P_PERIOD, periods, &v);
    r->fen_null = F(r, P_STANDARD)[0] == '\0';
    if (!r->fen_null)
        check_amount(im, r, P_STANDARD, false);
    check_word(im, r, P_TIER, tiers, &tier);
    if (cat == 3 && tier == 0)
        row_err(im, r, "category tekun_care needs a care_tier (full, partial or self)");
    if (cat != 3 && cat != 0 && tier != 0)
        row_err(im, r, "care_tier is only for category tekun_care");
    check_region(im, r, P_REGION);
}

/* citizen_id: stored with a capital X; shown masked. */
static void check_citizen(struct imp *im, struct row *r)
{
    char *id = r->f[R_CITIZEN];
    size_t n = strlen(id);
    char masked[64];
    bool ascii = n <= 32;
    int32_t birth;

    for (size_t i = 0; ascii && i < n; i++)
        ascii = id[i] > ' ' && id[i] < 0x7F;
    if (!ascii) {
        row_err(im, r, "citizen_id is not 18 digits and letters (not shown)");
        return;
    }
    if (n == 18 && id[17] == 'x')
        id[17] = 'X';
    hm_mask_id(id, masked, sizeof(masked));
    cl_rc crc = cl_cn_id_check(id, n);
    if (crc == CL_E_CHECK_DIGIT) {
        row_err(im, r, "citizen ID %s has a wrong check digit", masked);
        return;
    }
    if (crc != CL_OK) {
        row_err(im, r,
                "citizen ID %s is not 17 digits and a check character with a real birth "
                "date",
                masked);
        return;
    }
    if (check_date(im, r, R_BIRTH, true, &birth)) {
        char digits[16];
        snprintf(digits, sizeof(digits), "%08ld", (long)birth);
        if (memcmp(digits, id + 6, 8) != 0)
            row_err(im, r, "birth_date %s is not the birth date in citizen ID %s", F(r, R_BIRTH),
                    masked);
        else if (birth > today(im->o->now))
            row_err(im, r, "birth_date %s is in the future", F(r, R_BIRTH));
    }
}

static void check_resident(struct imp *im, struct row *r)
{
    check_key(im, r, R_ID, "id");
    check_text(im, r, R_NAME, true);
    check_citizen(im, r);
    const char *w = F(r, R_WELFARE);
    size_t n = strlen(w);
    bool ok = n == 0 || (n >= 4 && n <= 32);
    for (size_t i = 0; ok && i < n; i++)
        ok = is_digit(w[i]) || (w[i] >= 'A' && w[i] <= 'Z');
    if (!ok)
        row_err(im, r, "welfare_no '%.40s' is not 4-32 capital letters and digits", w);
    check_region(im, r, R_REGION);

    /* flags: words separated by ';', spaces around them ignored. */
    char buf[HS_IMPORT_MAX_FIELD + 1];
    hm_strlcpy(buf, F(r, R_FLAGS), sizeof(buf));
    r->num = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        int v;
        if (!len)
            continue;
        if (!word_find(flag_words, tok, &v)) {
            row_err(im, r, "flag '%.40s' is not tap_only, voice or large_text", tok);
            continue;
        }
        r->num |= v;
    }

    const char *ph = F(r, R_PHONE);
    n = strlen(ph);
    size_t ndigits = 0;
    ok = true;
    for (size_t i = 0; i < n; i++) {
        if (is_digit(ph[i]))
            ndigits++;
        else if (!(ph[i] == '-' || ph[i] == ' ' || (ph[i] == '+' && i == 0)))
            ok = false;
    }
    if (n && (!ok || ndigits < 5 || ndigits > 20))
        row_err(im, r, "phone '%.40s' is not a telephone number", ph);
}

static void check_entitlement(struct imp *im, struct row *r)
{
    int v = 0, status = 0;
    int32_t start, end;

    check_key(im, r, E_ID, "id");
    check_key(im, r, E_RESIDENT, "resident_id");
    check_key(im, r, E_PROGRAMME, "programme");
    check_amount(im, r, E_AMOUNT, true);
    check_word(im, r, E_PERIOD, periods, &v);
    bool dates = check_date(im, r, E_START, true, &start);
    dates = check_date(im, r, E_END, false, &end) && dates;
    if (dates && end && end < start)
        row_err(im, r, "end_date %s is before start_date %s", F(r, E_END), F(r, E_START));
    check_word(im, r, E_STATUS, ent_statuses, &status);
    r->num = status;
    if ((status == HS_ENT_PHASE_OUT || status == HS_ENT_STOPPED) && !F(r, E_END)[0])
        row_err(im, r, "status %s needs an end_date", F(r, E_STATUS));
    if (status != HS_ENT_ACTIVE && status != 0 && !F(r, E_REASON)[0])
        row_err(im, r, "status %s needs a reason", F(r, E_STATUS));
}

/* The account as stored: "****" and the last four digits, never the full number. */
static void check_account(struct imp *im, struct row *r, int channel)
{
    const char *a = F(r, Y_ACCOUNT);
    size_t n = strlen(a), stars = 0;

    r->account[0] = '\0';
    if (channel == 3 || channel == 4) {
        if (n)
            row_err(im, r, "account must be empty for channel %s", F(r, Y_CHANNEL));
        return;
    }
    if (channel == 0)
        return;
    while (stars < n && a[stars] == '*')
        stars++;
    bool plain = stars == 0 && n >= 8 && n <= 32 && digits_at(a, n);
    bool masked = stars > 0 && n - stars == 4 && digits_at(a + stars, 4);
    if (!plain && !masked) {
        row_err(im, r,
                "account is not an account number (8-32 digits) or a masked one "
                "('****' and the last four digits)");
        return;
    }
    snprintf(r->account, sizeof(r->account), "****%s", a + n - 4);
}

static void check_payment(struct imp *im, struct row *r)
{
    int channel = 0, status = 0;
    int32_t month, paid;

    check_key(im, r, Y_ID, "id");
    check_key(im, r, Y_ENT, "entitlement_id");
    if (!hs_import_parse_month(F(r, Y_PERIOD), &month))
        row_err(im, r, "period '%.40s' is not a month YYYY-MM", F(r, Y_PERIOD));
    check_amount(im, r, Y_AMOUNT, true);
    check_word(im, r, Y_CHANNEL, channels, &channel);
    check_account(im, r, channel);
    check_word(im, r, Y_STATUS, pay_statuses, &status);
    r->num = status;
    bool dated = check_date(im, r, Y_PAID, false, &paid);
    if (status == HS_PAY_SCHEDULED && F(r, Y_PAID)[0])
        row_err(im, r, "a scheduled payment has no paid_date");
    else if (status > HS_PAY_SCHEDULED && dated && !F(r, Y_PAID)[0])
        row_err(im, r, "status %s needs a paid_date", F(r, Y_STATUS));
}

/* ---- marriage registries and marital records ---------------------------------- */

static const struct word yes_no[] = { { "yes", 1 }, { "no", 0 }, { NULL, 0 } };
static const struct word day_kinds[] = { { "closed", 1 }, { "special", 2 }, { NULL, 0 } };
static const struct word marital[] = {
    { "single", HS_MARRIAGE_SINGLE },
    { "married", HS_MARRIAGE_MARRIED },
    { "divorced", HS_MARRIAGE_DIVORCED },
    { "widowed", HS_MARRIAGE_WIDOWED },
    { NULL, 0 },
};

/* A whole number lo..hi written as plain digits; false with a row error. */
static bool check_number(struct imp *im, struct row *r, int col, long lo, long hi, int64_t *out)
{
    long v;

    if (hm_parse_long(F(r, col), lo, hi, &v) && F(r, col)[0] != '+' && F(r, col)[0] != '-' &&
        F(r, col)[0] != ' ') {
        *out = v;
        return true;
    }
    row_err(im, r, "%s '%.40s' is not a whole number from %ld to %ld", im->sp->cols[col], F(r, col),
            lo, hi);
    return false;
}

/* A copy of s into the row's hidden column col (freed with the row). */
static void set_hidden(struct imp *im, struct row *r, int col, const char *s)
{
    free(r->f[col]);
    r->f[col] = strdup(s);
    if (!r->f[col])
        im->rc = HS_E_NO_MEMORY;
}

static void check_office(struct imp *im, struct row *r)
{
    struct hs_marriage_office o;
    char err[256];
    int v = 0;

    hs_marriage_office_init(&o);
    const char *id = F(r, O_ID);
    if (!key_ok(id) || strlen(id) >= HS_MARRIAGE_ID_MAX)
        row_err(im, r, "id '%.40s' is not 1-31 letters, digits, '-', '_' or '.'", id);
    else
        hm_strlcpy(o.id, id, sizeof(o.id));
    if (!F(r, O_NAME)[0] || strlen(F(r, O_NAME)) >= HS_MARRIAGE_NAME_MAX)
        row_err(im, r, "name must be 1 to %d bytes", HS_MARRIAGE_NAME_MAX - 1);
    else
        hm_strlcpy(o.name, F(r, O_NAME), sizeof(o.name));
    const char *reg = F(r, O_REGION);
    if (strlen(reg) != 6 || !digits_at(reg, 6))
        row_err(im, r, "region '%.40s' is not a 6-digit region code", reg);
    else
        o.region = (int32_t)strtol(reg, NULL, 10);
    check_word(im, r, O_CROSS, yes_no, &v);
    o.cross_province = v == 1;

    /* services: names separated by ';', spaces around them ignored */
    char buf[HS_IMPORT_MAX_FIELD + 1];
    hm_strlcpy(buf, F(r, O_SERVICES), sizeof(buf));
    o.services = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        enum hs_marriage_service sv;
        if (!len)
            continue;
        if (!hs_marriage_service_parse(tok, len, &sv)) {
            row_err(im, r,
                    "service '%.40s' is not marriage, divorce_application, "
                    "divorce_confirmation or reissue",
                    tok);
            continue;
        }
        o.services |= HS_MARRIAGE_SVC_BIT(sv);
    }
    if (!o.services)
        row_err(im, r, "services is empty: name at least one, separated by ';'");
    r->bits = o.services;
    const char *h = F(r, O_HOURS);
    if (hs_marriage_hours_parse(h, strlen(h), &o.hours, err, sizeof(err)) != HS_OK)
        row_err(im, r, "hours: %s", err);
    int64_t slot = 0, cap = 0;
    if (check_number(im, r, O_SLOT, HS_MARRIAGE_SLOT_MIN, HS_MARRIAGE_SLOT_MAX, &slot))
        o.slot_minutes = (uint16_t)slot;
    if (check_number(im, r, O_CAPACITY, 1, HS_MARRIAGE_MAX_CAPACITY, &cap))
        o.capacity = (uint16_t)cap;
    r->num = slot;
    r->num2 = cap;
    if (!r->bad && hs_marriage_office_check(&o, err, sizeof(err)) != HS_OK)
        row_err(im, r, "%s", err);
}

/* "YYYY-MM-DD HH:MM" (Beijing time) into unix seconds; false for anything else. */
static bool parse_local_time(const char *s, int64_t *unix_s)
{
    int32_t day;
    size_t n = strlen(s);

    if (n != 16 || s[10] != ' ' || s[13] != ':' || !hs_marriage_day_parse(s, 10, &day) ||
        !digits_at(s + 11, 2) || !digits_at(s + 14, 2))
        return false;
    int hh = num_at(s + 11, 2), mm = num_at(s + 14, 2);
    if (hh > 23 || mm > 59)
        return false;
    int64_t local = hs_marriage_local_at(day, hh * 60 + mm);
    if (local < 0 && day >= 0)
        return false;
    *unix_s = local - HS_MARRIAGE_UTC_OFFSET;
    return true;
}

static void check_office_day(struct imp *im, struct row *r)
{
    int kind = 0;
    int32_t day = 0;
    char err[256], key[64];

    check_key(im, r, OD_OFFICE, "office_id");
    const char *d = F(r, OD_DATE);
    bool dated = hs_marriage_day_parse(d, strlen(d), &day);
    if (!dated)
        row_err(im, r, "date '%.40s' is not a date YYYY-MM-DD that exists", d);
    check_word(im, r, OD_KIND, day_kinds, &kind);
    snprintf(key, sizeof(key), "%.32s|%.10s", F(r, OD_OFFICE), d);
    set_hidden(im, r, OD_KEY, key);
    if (kind == 1) {
        if (F(r, OD_CAPACITY)[0] || F(r, OD_HOURS)[0] || F(r, OD_OPENS)[0])
            row_err(im, r, "a closed day has no capacity, hours or opens_at");
        return;
    }
    if (kind != 2)
        return;
    struct hs_marriage_special sp = { .day = day };
    int64_t cap = 0;
    if (check_number(im, r, OD_CAPACITY, 1, HS_MARRIAGE_MAX_CAPACITY, &cap))
        sp.capacity = (uint16_t)cap;
    r->num = cap;
    const char *h = F(r, OD_HOURS);
    if (h[0] && hs_marriage_day_hours_parse(h, strlen(h), &sp.hours, err, sizeof(err)) != HS_OK)
        row_err(im, r, "hours: %s", err);
    const char *op = F(r, OD_OPENS);
    r->num2 = 0;
    if (op[0]) {
        int64_t u;
        if (!parse_local_time(op, &u)) {
            row_err(im, r, "opens_at '%.40s' is not a time YYYY-MM-DD HH:MM (Beijing time)", op);
        } else if (dated && u + HS_MARRIAGE_UTC_OFFSET >= hs_marriage_local_at(day, 1440)) {
            row_err(im, r, "opens_at %s is not before the end of %s", op, d);
        } else {
            r->num2 = u;
            sp.opens_at = u + HS_MARRIAGE_UTC_OFFSET;
        }
    }
    if (!r->bad) {
        /* The library's own checks of a special date, on an office that has nothing else. */
        struct hs_marriage_office o;
        hs_marriage_office_init(&o);
        hm_strlcpy(o.id, "check", sizeof(o.id));
        hm_strlcpy(o.name, "check", sizeof(o.name));
        o.region = 110101;
        if (hs_marriage_office_add_special(&o, &sp, err, sizeof(err)) != HS_OK)
            row_err(im, r, "%s", err);
    }
}

/* A citizen ID in column col: valid, with a capital X; false with a row error (masked). */
static bool check_id_number(struct imp *im, struct row *r, int col)
{
    char *id = r->f[col];
    size_t n = strlen(id);
    char masked[64];
    bool ascii = n <= 32;

    for (size_t i = 0; ascii && i < n; i++)
        ascii = id[i] > ' ' && id[i] < 0x7F;
    if (!ascii) {
        row_err(im, r, "%s is not 18 digits and letters (not shown)", im->sp->cols[col]);
        return false;
    }
    if (n == 18 && id[17] == 'x')
        id[17] = 'X';
    hm_mask_id(id, masked, sizeof(masked));
    cl_rc crc = cl_cn_id_check(id, n);
    if (crc == CL_E_CHECK_DIGIT) {
        row_err(im, r, "%s %s has a wrong check digit", im->sp->cols[col], masked);
        return false;
    }
    if (crc != CL_OK) {
        row_err(im, r, "%s %s is not 17 digits and a check character with a real birth date",
                im->sp->cols[col], masked);
        return false;
    }
    return true;
}

static void check_marriage(struct imp *im, struct row *r)
{
    int status = 0;
    char person[HS_PERSON_LEN + 1];
    bool id_ok = check_id_number(im, r, M_CITIZEN);

    if (id_ok) {
        if (hs_person_of(im->o->person_key, F(r, M_CITIZEN), strlen(F(r, M_CITIZEN)), person) !=
            HS_OK) {
            im->rc = HS_E_CRYPTO;
            return;
        }
        set_hidden(im, r, M_PERSON, person);
    }
    check_word(im, r, M_STATUS, marital, &status);
    r->num = status;
    bool has_spouse = F(r, M_SPOUSE_ID)[0] != '\0';
    if (status == HS_MARRIAGE_MARRIED && !has_spouse)
        row_err(im, r, "status married needs spouse_citizen_id");
    else if (status != HS_MARRIAGE_MARRIED && status != 0 && has_spouse)
        row_err(im, r, "spouse_citizen_id is only for status married");
    if (has_spouse && check_id_number(im, r, M_SPOUSE_ID)) {
        if (id_ok && strcmp(F(r, M_SPOUSE_ID), F(r, M_CITIZEN)) == 0)
            row_err(im, r, "spouse_citizen_id is the person's own number");
        if (hs_person_of(im->o->person_key, F(r, M_SPOUSE_ID), strlen(F(r, M_SPOUSE_ID)), person) !=
            HS_OK) {
            im->rc = HS_E_CRYPTO;
            return;
        }
        set_hidden(im, r, M_SPOUSE, person);
    }
    const char *hk = F(r, M_HUKOU);
    if (hk[0] && (strlen(hk) != 6 || !digits_at(hk, 6)))
        row_err(im, r, "hukou_region '%.40s' is not a 6-digit region code", hk);
    int32_t applied;
    if (check_date(im, r, M_APPLIED, false, &applied) && F(r, M_APPLIED)[0]) {
        if (status != HS_MARRIAGE_MARRIED && status != 0)
            row_err(im, r, "divorce_application_date is only for status married");
        else if (applied > today(im->o->now))
            row_err(im, r, "divorce_application_date %s is in the future", F(r, M_APPLIED));
    }
}

/* ---- keys: twice in the file, or in the database already ---------------------- */

struct seen {
    int ns;          /* which key */
    const char *val; /* points into a row */
    size_t row;
};

static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = x->ns - y->ns;

    if (!c)
        c = strcmp(x->val, y->val);
    if (!c)
        c = x->row < y->row ? -1 : x->row > y->row;
    return c;
}

/* A key shown in a message: masked when it is a citizen ID. */
static void show_key(int ns, const char *val, char *out, size_t cap)
{
    if (ns == 1)
        hm_mask_id(val, out, cap);
    else
        snprintf(out, cap, "%.40s", val);
}

static const char *const key_names[] = { "id", "citizen ID", "welfare_no" };

static void check_duplicates(struct imp *im)
{
    size_t nkeys = im->sp->kind == HS_IMPORT_RESIDENTS ? 3 : 1, n = 0;
    static const int resident_cols[] = { R_ID, R_CITIZEN, R_WELFARE };
    bool marriages = im->sp->kind == HS_IMPORT_MARRIAGES;
    struct seen *s = calloc(im->nrows * nkeys + 1, sizeof(*s));

    if (!s) {
        im->rc = HS_E_NO_MEMORY;
        return;
    }
    for (size_t i = 0; i < im->nrows; i++) {
        for (size_t k = 0; k < nkeys; k++) {
            const char *v = im->rows[i].f[nkeys == 3 ? resident_cols[k] : im->sp->key_col];
            if (v && v[0])
                s[n++] = (struct seen){ .ns = (int)k, .val = v, .row = i };
        }
    }
    qsort(s, n, sizeof(*s), seen_cmp);
    for (size_t i = 1; i < n; i++) {
        if (s[i].ns != s[i - 1].ns || strcmp(s[i].val, s[i - 1].val) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && s[first - 1].ns == s[i].ns && strcmp(s[first - 1].val, s[i].val) == 0)
            first--;
        char shown[64];
        struct row *r = &im->rows[s[i].row];
        if (marriages)
            hm_mask_id(F(r, M_CITIZEN), shown, sizeof(shown)); /* not the person key */
        else
            show_key(nkeys == 3 ? s[i].ns : 0, s[i].val, shown, sizeof(shown));
        row_err(im, r, "%s %s is on line %zu already",
                nkeys == 3 ? key_names[s[i].ns] : im->sp->key_name, shown,
                im->rows[s[first].row].line);
    }
    free(s);
}

/* 1 when the query finds a row, 0 when not, -1 on a database error. */
static int db_has(struct hs_conn *c, const char *sql, const char *key)
{
    struct hs_val p[] = { hs_text(key) };
    struct hs_rows *rows = NULL;
    int found;

    if (hs_exec(c, sql, p, 1, &rows) != HS_OK)
        return -1;
    found = hs_rows_count(rows) > 0;
    hs_rows_free(rows);
    return found;
}

struct db_check {
    int col;
    bool must_exist; /* a reference; otherwise a key that must be new */
    const char *what;
    const char *sql;
};

static const struct db_check checks_programmes[] = {
    { P_CODE, false, "programme", "SELECT 1 FROM programmes WHERE code = $1" },
};
static const struct db_check checks_residents[] = {
    { R_ID, false, "resident", "SELECT 1 FROM residents WHERE id = $1" },
    { R_CITIZEN, false, "resident with citizen ID",
      "SELECT 1 FROM residents WHERE citizen_id = $1" },
    { R_WELFARE, false, "resident with welfare_no",
      "SELECT 1 FROM residents WHERE welfare_no = $1" },
};
static const struct db_check checks_entitlements[] = {
    { E_ID, false, "entitlement", "SELECT 1 FROM entitlements WHERE id = $1" },
    { E_RESIDENT, true, "resident", "SELECT 1 FROM residents WHERE id = $1" },
    { E_PROGRAMME, true, "programme", "SELECT 1 FROM programmes WHERE code = $1" },
};
static const struct db_check checks_payments[] = {
    { Y_ID, false, "payment", "SELECT 1 FROM payments WHERE id = $1" },
    { Y_ENT, true, "entitlement", "SELECT 1 FROM entitlements WHERE id = $1" },
};
static const struct db_check checks_offices[] = {
    { O_ID, false, "office", "SELECT 1 FROM offices WHERE id = $1" },
};
static const struct db_check checks_office_days[] = {
    { OD_OFFICE, true, "office", "SELECT 1 FROM offices WHERE id = $1" },
    { OD_KEY, false, "office day", "SELECT 1 FROM office_days WHERE office_id || '|' || day = $1" },
};
static const struct db_check checks_marriages[] = {
    { M_PERSON, false, "marital record of citizen ID",
      "SELECT 1 FROM marriages WHERE person = $1" },
};

/* An office holds at most HS_MARRIAGE_MAX_CLOSURES closures and as many special dates. */
static void check_day_counts(struct imp *im, struct hs_conn *c)
{
    for (size_t i = 0; i < im->nrows && im->rc == HS_OK; i++) {
        struct row *r = &im->rows[i];
        if (r->bad)
            continue;
        size_t same = 0;
        for (size_t j = 0; j <= i; j++)
            same += strcmp(F(&im->rows[j], OD_OFFICE), F(r, OD_OFFICE)) == 0 &&
                    strcmp(F(&im->rows[j], OD_KIND), F(r, OD_KIND)) == 0;
        const struct hs_val p[] = { hs_text(F(r, OD_OFFICE)), hs_text(F(r, OD_KIND)) };
        struct hs_rows *rows = NULL;
        if (hs_exec(c, "SELECT COUNT(*) FROM office_days WHERE office_id = $1 AND kind = $2", p, 2,
                    &rows) != HS_OK) {
            im->rc = HS_E_DB;
            return;
        }
        size_t total = same + (size_t)hs_rows_int(rows, 0, 0);
        hs_rows_free(rows);
        if (total > HS_MARRIAGE_MAX_CLOSURES)
            row_err(im, r, "office %.31s would have more than %d %s days", F(r, OD_OFFICE),
                    HS_MARRIAGE_MAX_CLOSURES, F(r, OD_KIND));
    }
}

static void check_database(struct imp *im, struct hs_store *st)
{
    const struct db_check *ck;
    size_t nck;

    switch (im->sp->kind) {
    case HS_IMPORT_PROGRAMMES:
        ck = checks_programmes, nck = HM_ARRAY_SIZE(checks_programmes);
        break;
    case HS_IMPORT_RESIDENTS:
        ck = checks_residents, nck = HM_ARRAY_SIZE(checks_residents);
        break;
    case HS_IMPORT_ENTITLEMENTS:
        ck = checks_entitlements, nck = HM_ARRAY_SIZE(checks_entitlements);
        break;
    case HS_IMPORT_OFFICES:
        ck = checks_offices, nck = HM_ARRAY_SIZE(checks_offices);
        break;
    case HS_IMPORT_OFFICE_DAYS:
        ck = checks_office_days, nck = HM_ARRAY_SIZE(checks_office_days);
        break;
    case HS_IMPORT_MARRIAGES:
        ck = checks_marriages, nck = HM_ARRAY_SIZE(checks_marriages);
        break;
    default:
        ck = checks_payments, nck = HM_ARRAY_SIZE(checks_payments);
        break;
    }
    struct hs_conn *c = hs_store_reader(st);
    if (!c) {
        im->rc = HS_E_DB;
        return;
    }
    for (size_t i = 0; i < im->nrows && im->rc == HS_OK; i++) {
        struct row *r = &im->rows[i];
        for (size_t k = 0; k < nck && !r->bad; k++) {
            const char *v = F(r, ck[k].col);
            if (!v[0])
                continue;
            int found = db_has(c, ck[k].sql, v);
            if (found < 0) {
                im->rc = HS_E_DB;
                return;
            }
            char shown[64];
            if (im->sp->kind == HS_IMPORT_MARRIAGES)
                hm_mask_id(F(r, M_CITIZEN), shown, sizeof(shown)); /* not the person key */
            else if (im->sp->kind == HS_IMPORT_OFFICE_DAYS && ck[k].col == OD_KEY)
                snprintf(shown, sizeof(shown), "%.31s on %.10s", F(r, OD_OFFICE), F(r, OD_DATE));
            else
                show_key(ck[k].col == R_CITIZEN && im->sp->kind == HS_IMPORT_RESIDENTS ? 1 : 0, v,
                         shown, sizeof(shown));
            if (ck[k].must_exist && !found)
                row_err(im, r, "no %s %s", ck[k].what, shown);
            else if (!ck[k].must_exist && found)
                row_err(im, r, "%s %s exists already (imports add rows, they never change one)",
                        ck[k].what, shown);
        }
    }
    if (im->sp->kind == HS_IMPORT_OFFICE_DAYS && im->rc == HS_OK)
        check_day_counts(im, c);
}

/* ---- writing ------------------------------------------------------------------ */

struct write_arg {
    const struct imp *im;
    const char *detail;
    int64_t seq;
};

static struct hs_val opt_text(const char *s)
{
    return s && s[0] ? hs_text(s) : hs_null();
}

static hs_rc write_row(struct hs_conn *c, const struct kind_spec *sp, const struct row *r,
                       int64_t now)
{
    switch (sp->kind) {
    case HS_IMPORT_PROGRAMMES: {
        const struct hs_val p[] = {
            hs_text(F(r, P_CODE)),     hs_text(F(r, P_NAME)),
            hs_text(F(r, P_CATEGORY)), hs_text(F(r, P_FORM)),
            hs_text(F(r, P_PERIOD)),   r->fen_null ? hs_null() : hs_int(r->fen),
            hs_text(F(r, P_TIER)),     hs_text(F(r, P_REGION)),
            hs_text(F(r, P_SOURCE)),   hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO programmes (code, name, category, form, period, standard_fen, "
                       "care_tier, region_code, source, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                       p, 10, NULL);
    }
    case HS_IMPORT_RESIDENTS: {
        const struct hs_val p[] = {
            hs_text(F(r, R_ID)),
            hs_text(F(r, R_CITIZEN)),
            hs_text(F(r, R_NAME)),
            opt_text(F(r, R_WELFARE)),
            hs_text(F(r, R_BIRTH)),
            hs_text(F(r, R_REGION)),
            hs_int(r->num),
            opt_text(F(r, R_PHONE)),
            hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO residents (id, citizen_id, name, welfare_no, birth_date, "
                       "region_code, flags, phone, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       p, 9, NULL);
    }
    case HS_IMPORT_ENTITLEMENTS: {
        const struct hs_val p[] = {
            hs_text(F(r, E_ID)),        hs_text(F(r, E_RESIDENT)),
            hs_text(F(r, E_PROGRAMME)), hs_int(r->fen),
            hs_text(F(r, E_PERIOD)),    hs_text(F(r, E_START)),
            opt_text(F(r, E_END)),      hs_int(r->num),
            hs_text(F(r, E_REASON)),    hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO entitlements (id, resident_id, programme, amount_fen, period, "
                       "start_date, end_date, status, reason, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
                       p, 10, NULL);
    }
    case HS_IMPORT_PAYMENTS: {
        const struct hs_val p[] = {
            hs_text(F(r, Y_ID)),    hs_text(F(r, Y_ENT)),     hs_text(F(r, Y_PERIOD)),
            hs_int(r->fen),         hs_text(F(r, Y_CHANNEL)), hs_text(r->account),
            opt_text(F(r, Y_PAID)), hs_int(r->num),           hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO payments (id, entitlement_id, period, amount_fen, channel, "
                       "account_masked, paid_date, status, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                       p, 9, NULL);
    }
    case HS_IMPORT_OFFICES: {
        const struct hs_val p[] = {
            hs_text(F(r, O_ID)),
            hs_text(F(r, O_NAME)),
            hs_text(F(r, O_REGION)),
            hs_int(strcmp(F(r, O_CROSS), "yes") == 0),
            hs_text(F(r, O_SERVICES)),
            hs_text(F(r, O_HOURS)),
            hs_int(r->num),
            hs_int(r->num2),
            hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO offices (id, name, region, cross_province, services, hours, "
                       "slot_minutes, capacity, created_at) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                       p, 9, NULL);
    }
    case HS_IMPORT_OFFICE_DAYS: {
        bool special = strcmp(F(r, OD_KIND), "special") == 0;
        const struct hs_val p[] = {
            hs_text(F(r, OD_OFFICE)), hs_text(F(r, OD_DATE)),
            hs_text(F(r, OD_KIND)),   special ? hs_int(r->num) : hs_null(),
            hs_text(F(r, OD_HOURS)),  special && r->num2 ? hs_int(r->num2) : hs_null(),
            hs_text(F(r, OD_NOTE)),
        };
        return hs_exec(c,
                       "INSERT INTO office_days (office_id, day, kind, capacity, hours, opens_at, "
                       "note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       p, 7, NULL);
    }
    case HS_IMPORT_MARRIAGES: {
        const struct hs_val p[] = {
            hs_text(F(r, M_PERSON)),   hs_int(r->num),
            opt_text(F(r, M_SPOUSE)),  hs_text(F(r, M_HUKOU)),
            opt_text(F(r, M_APPLIED)), hs_int(now),
        };
        return hs_exec(c,
                       "INSERT INTO marriages (person, status, spouse, hukou_region, "
                       "divorce_applied, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                       p, 6, NULL);
    }
    }
    return HS_E_INVALID_ARG;
}

static hs_rc write_fn(struct hs_conn *c, void *arg)
{
    struct write_arg *a = arg;
    const struct imp *im = a->im;
    hs_rc rc = HS_OK;

    for (size_t i = 0; i < im->nrows && rc == HS_OK; i++)
        rc = write_row(c, im->sp, &im->rows[i], im->o->now);
    if (rc == HS_E_DB_CONSTRAINT)
        return HS_E_CONFLICT; /* a key taken, or a reference gone, since the check */
    if (rc != HS_OK)
        return rc;
    char action[32];
    snprintf(action, sizeof(action), "import.%s", im->sp->name);
    struct hs_audit_rec rec = {
        .actor = im->o->actor,
        .action = action,
        .subject = im->o->name,
        .detail = a->detail,
        .at = im->o->now,
    };
    return hs_audit_append(c, &rec, &a->seq);
}

/* ---- the whole import --------------------------------------------------------- */

/* Sorts the messages by line, keeping the order within a line (insertion sort: stable). */
static void sort_msgs(struct imp *im)
{
    struct hs_import_report *rep = im->rep;

    for (size_t i = 1; i < rep->nmsgs; i++) {
        struct hs_import_msg m = rep->msgs[i];
        size_t j = i;
        while (j > 0 && rep->msgs[j - 1].line > m.line) {
            rep->msgs[j] = rep->msgs[j - 1];
            j--;
        }
        rep->msgs[j] = m;
    }
}

static void imp_cleanup(struct imp *im)
{
    for (size_t i = 0; i < im->nrows; i++)
        for (size_t c = 0; c < MAX_COLS; c++)
            free(im->rows[i].f[c]);
    free(im->rows);
    cur_clear(im);
}

static bool sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

static char *audit_detail(const struct imp *im)
{
    json_t *d = json_pack("{s:s, s:s, s:I, s:s}", "file", im->o->name, "kind", im->sp->name, "rows",
                          (json_int_t)im->nrows, "sha256", im->rep->sha256);
    char *s = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(d);
    return s;
}

hs_rc hs_import_buffer(struct hs_store *st, const struct hs_import_opts *o, const uint8_t *data,
                       size_t len, struct hs_import_report *rep)
{
    struct imp im = { 0 };
    hs_rc rc;

    if (rep)
        memset(rep, 0, sizeof(*rep));
    if (!st || !o || !o->name || !o->actor || !rep || (!data && len) || !spec_of(o->kind) ||
        (o->kind == HS_IMPORT_MARRIAGES && !o->person_key))
        return HS_E_INVALID_ARG;
    im.sp = spec_of(o->kind);
    im.o = o;
    im.rep = rep;
    if (len > HS_IMPORT_MAX_FILE) {
        add_msg(&im, 0, "the file is %zu bytes; the largest import is %u bytes", len,
                HS_IMPORT_MAX_FILE);
        rep->file_error = true;
        rc = im.rc != HS_OK ? im.rc : HS_E_TOO_LARGE;
        goto out;
    }
    if (!sha256_hex(data ? data : (const uint8_t *)"", len, rep->sha256)) {
        rc = HS_E_CRYPTO;
        goto out;
    }
    parse_csv(&im, data, len);
    for (size_t i = 0; i < im.nrows && im.rc == HS_OK && !rep->file_error; i++) {
        struct row *r = &im.rows[i];
        if (r->bad)
            continue; /* its fields are not all there */
        switch (o->kind) {
        case HS_IMPORT_PROGRAMMES:
            check_programme(&im, r);
            break;
        case HS_IMPORT_RESIDENTS:
            check_resident(&im, r);
            break;
        case HS_IMPORT_ENTITLEMENTS:
            check_entitlement(&im, r);
            break;
        case HS_IMPORT_PAYMENTS:
            check_payment(&im, r);
            break;
        case HS_IMPORT_OFFICES:
            check_office(&im, r);
            break;
        case HS_IMPORT_OFFICE_DAYS:
            check_office_day(&im, r);
            break;
        case HS_IMPORT_MARRIAGES:
            check_marriage(&im, r);
            break;
        }
    }
    if (im.rc == HS_OK && !rep->file_error)
        check_duplicates(&im);
    if (im.rc == HS_OK && !rep->file_error)
        check_database(&im, st);
    for (size_t i = 0; i < im.nrows; i++)
        rep->bad_rows += im.rows[i].bad;
    sort_msgs(&im);
    if (im.rc != HS_OK) {
        rc = im.rc;
        goto out;
    }
    if (rep->file_error || rep->bad_rows || rep->errors) {
        rc = HS_E_MALFORMED;
        goto out;
    }
    if (o->dry_run) {
        rc = HS_OK;
        goto out;
    }
    char *detail = audit_detail(&im);
    if (!detail) {
        rc = HS_E_NO_MEMORY;
        goto out;
    }
    struct write_arg wa = { .im = &im, .detail = detail };
    rc = hs_store_write(st, write_fn, &wa);
    free(detail);
    if (rc == HS_OK)
        rep->audit_seq = wa.seq;
    else
        hm_log_warn("import: %s (%s, %zu rows) not written: %s", o->name, im.sp->name, im.nrows,
                    hs_strerror(rc));
out:
    imp_cleanup(&im);
    return rc;
}

hs_rc hs_import_file(struct hs_store *st, const struct hs_import_opts *o, const char *path,
                     struct hs_import_report *rep)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t got = 0;
    hs_rc rc;
    int fd;

    if (rep)
        memset(rep, 0, sizeof(*rep));
    if (!path || !o || !rep)
        return HS_E_INVALID_ARG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return HS_E_IO;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = HS_E_IO;
        goto out_close;
    }
    if ((uint64_t)sb.st_size > HS_IMPORT_MAX_FILE) {
        /* Refused before reading: hs_import_buffer() words the message. */
        struct imp im = { .o = o, .rep = rep };
        add_msg(&im, 0, "the file is %lld bytes; the largest import is %u bytes",
                (long long)sb.st_size, HS_IMPORT_MAX_FILE);
        rep->file_error = true;
        rc = HS_E_TOO_LARGE;
        goto out_close;
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        rc = HS_E_NO_MEMORY;
        goto out_close;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != (size_t)sb.st_size) {
        rc = HS_E_IO;
        goto out_free;
    }
    rc = hs_import_buffer(st, o, buf, got, rep);
out_free:
    free(buf);
out_close:
    close(fd);
    return rc;
}

void hs_import_report_cleanup(struct hs_import_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nmsgs; i++)
        free(r->msgs[i].text);
    free(r->msgs);
    r->msgs = NULL;
    r->nmsgs = 0;
}
