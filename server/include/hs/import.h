/*
 * Imports of residents, programmes, entitlements and payments, and of the
 * marriage registries (offices, their closures and special dates, and the
 * registry's marital records), from CSV files (server/src/api/import.c), as
 * huimin-admin's import command runs them.
 *
 * A file is all or nothing. Every row is checked first (its fields, the keys
 * it adds, the rows it refers to in the database); when any row is bad,
 * nothing is written and every bad row is reported as "file:line: message",
 * the line being where the row starts in the file. When every row is good,
 * all of them and one audit record for the import (actor, kind, file name,
 * row count, SHA-256 of the file) are written in one transaction through one
 * hs_store_write() call, so a crash or a database error leaves nothing of the
 * file behind.
 *
 * Imports add rows; they never change one. A key that is in the database
 * already, or twice in the file, is a row error, so importing the same file
 * twice refuses every row of the second run and changes nothing. Changing an
 * entitlement or a payment is the benefit logic's business, with a reason and
 * an audit record per change.
 *
 * The file format: UTF-8 (a byte-order mark is skipped), CRLF or LF line
 * ends, RFC 4180 quoting (quoted fields may hold commas, quotes and line
 * breaks), a header row naming every column of the kind in any order (an
 * unknown, missing or repeated column is a file error), blank rows ignored.
 * Money is written in yuan with at most two decimals ("1150.00", "930") and
 * read exactly into integer fen; dates are YYYY-MM-DD, months YYYY-MM.
 *
 * Citizen ID numbers are stored (residents), but every message shows them
 * masked. Marital records are the exception: they are keyed by the person
 * key (hs/seal.h, hs_person_of()), and neither the number nor the spouse's
 * is stored.
 *
 * offices: id,name,region,cross_province,services,hours,slot_minutes,capacity
 *   region a mainland 6-digit code, cross_province yes or no, services names
 *   of hs_marriage_service_parse() separated by ';', hours as
 *   hs_marriage_hours_parse() reads them, slot_minutes 5..240, capacity
 *   (bookings per slot) 1..999.
 * office-days: office_id,date,kind,capacity,hours,opens_at,note
 *   kind closed (capacity, hours and opens_at empty) or special (capacity
 *   1..999, hours empty for the weekday's or "09:00-12:00,...", opens_at
 *   empty for the usual window or "YYYY-MM-DD HH:MM" Beijing time before the
 *   day ends); one row per office and date; the office must be imported.
 * marriages: citizen_id,status,spouse_citizen_id,hukou_region,divorce_application_date
 *   status single, married, divorced or widowed; the spouse's number for
 *   married (only), hukou_region empty or 6 digits, the date of a pending
 *   divorce application (married only, not in the future) or empty.
 */
#ifndef HS_IMPORT_H
#define HS_IMPORT_H

#include "hs/db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_IMPORT_MAX_FILE   (16u * 1024u * 1024u) /* bytes: a larger file is refused whole */
#define HS_IMPORT_MAX_FIELD  1024u                 /* bytes in one field */
#define HS_IMPORT_MAX_ERRORS 1000u                 /* messages kept; the rest are counted */

enum hs_import_kind {
    HS_IMPORT_PROGRAMMES = 1,
    HS_IMPORT_RESIDENTS,
    HS_IMPORT_ENTITLEMENTS,
    HS_IMPORT_PAYMENTS,
    HS_IMPORT_OFFICES,
    HS_IMPORT_OFFICE_DAYS, /* "office-days" */
    HS_IMPORT_MARRIAGES,
};

/* "residents" and so on; false for anything else. */
bool hs_import_kind_parse(const char *s, enum hs_import_kind *out);
/* "residents" and so on, or "?" */
const char *hs_import_kind_name(enum hs_import_kind k);

/* ---- the values the tables hold (shared with the benefit logic) ------------ */

/* residents.flags, a bit set; in CSV a list separated by ';' ("tap_only;voice"). */
enum hs_resident_flag {
    HS_RESIDENT_TAP_ONLY = 1 << 0,   /* may confirm a payment by tapping the card, no PIN
                                      * (aged 80+ or disabled) */
    HS_RESIDENT_VOICE = 1 << 1,      /* screens are read aloud from the start */
    HS_RESIDENT_LARGE_TEXT = 1 << 2, /* the largest type from the start */
};

/* entitlements.status */
enum hs_entitlement_status {
    HS_ENT_ACTIVE = 1,
    HS_ENT_PHASE_OUT, /* 渐退期: paid until end_date, then stopped */
    HS_ENT_SUSPENDED,
    HS_ENT_STOPPED,
};

/* payments.status */
enum hs_payment_status {
    HS_PAY_SCHEDULED = 1,
    HS_PAY_PAID,
    HS_PAY_CONFIRMED, /* the resident confirmed receipt with the card (确认领取) */
    HS_PAY_DISPUTED,
    HS_PAY_RETURNED, /* the bank returned it (closed account, death...) */
};

/* ---- parsers (exposed for their unit test) --------------------------------- */

enum hs_amount_err {
    HS_AMOUNT_OK = 0,
    HS_AMOUNT_EMPTY,
    HS_AMOUNT_NEGATIVE,
    HS_AMOUNT_NOT_NUMBER, /* anything but digits and one '.' with digits either side */
    HS_AMOUNT_LEADING_ZERO,
    HS_AMOUNT_DECIMALS, /* more than two decimals */
    HS_AMOUNT_TOO_LARGE,
};

#define HS_IMPORT_MAX_FEN INT64_C(10000000000) /* 100,000,000.00 yuan, the largest amount */

/*
 * Reads yuan written as digits with at most two decimals ("930", "1150.5",
 * "0.07") into fen, exactly, without floating point. A sign, spaces, an
 * exponent, a thousands or decimal comma, a leading zero ("012") or more
 * than HS_IMPORT_MAX_FEN are refused with the reason.
 */
enum hs_amount_err hs_import_parse_yuan(const char *s, int64_t *fen);
/* The reason as a phrase: "has more than two decimals". */
const char *hs_import_amount_strerror(enum hs_amount_err e);

/*
 * Reads a real calendar date "YYYY-MM-DD" (years 1900-2099, leap years
 * counted) into YYYYMMDD (20260228). False for anything else.
 */
bool hs_import_parse_date(const char *s, int32_t *yyyymmdd);
/* Reads "YYYY-MM" (1900-2099) into YYYYMM. */
bool hs_import_parse_month(const char *s, int32_t *yyyymm);

/* ---- importing ------------------------------------------------------------- */

struct hs_import_opts {
    enum hs_import_kind kind;
    const char *name;  /* the file's name in messages and the audit record ("payments.csv") */
    const char *actor; /* "admin:root" */
    int64_t now;       /* unix seconds, for created_at and the audit record */
    bool dry_run;      /* check and report, write nothing */
    /* marriages: the person key (hs_person_key()), HS_PERSON_KEY_LEN bytes; NULL otherwise */
    const uint8_t *person_key;
};

struct hs_import_msg {
    size_t line; /* 0: about the whole file */
    char *text;  /* "payments.csv:17: amount '12.345' has more than two decimals" */
};

struct hs_import_report {
    size_t rows;     /* data rows read */
    size_t bad_rows; /* rows with at least one error */
    bool file_error; /* the file as a whole was refused (size, encoding, header, quoting) */
    size_t errors;   /* messages, kept or not */
    size_t nmsgs;    /* messages kept (at most HS_IMPORT_MAX_ERRORS), in line order */
    struct hs_import_msg *msgs;
    char sha256[65];   /* lower-case hex of the file's bytes */
    int64_t audit_seq; /* the import's audit record, when written */
};

/* Frees the messages; NULL is a no-op. */
void hs_import_report_cleanup(struct hs_import_report *r);

/*
 * Checks data (len bytes, the whole file) and, unless o->dry_run, writes it.
 * rep is initialised here and always filled in; free it with
 * hs_import_report_cleanup(). Returns HS_OK when every row is good (and
 * written, unless a dry run), HS_E_MALFORMED when a row or the file is bad
 * (nothing written; the report says what), HS_E_TOO_LARGE for a file over
 * HS_IMPORT_MAX_FILE, HS_E_CONFLICT when the database changed between the
 * check and the write so that a key was taken (nothing written), or a storage
 * error.
 */
hs_rc hs_import_buffer(struct hs_store *st, const struct hs_import_opts *o, const uint8_t *data,
                       size_t len, struct hs_import_report *rep);

/* The same for a file: HS_E_IO when it cannot be read, HS_E_TOO_LARGE before reading it. */
hs_rc hs_import_file(struct hs_store *st, const struct hs_import_opts *o, const char *path,
                     struct hs_import_report *rep);

#endif
