/*
 * The ICAO Doc 9303 LDS parsers (EF.COM, DG1, DG2, DG11, DG14, DG15, EF.SOD,
 * the LDS Security Object) and the citizen ID number check, because every
 * byte a chip sends must be checked against the standard before anything is
 * shown, compared or trusted.
 *
 * Pure parsing: no allocation and no cryptography. Results are copies into
 * fixed slots or pointers into the caller's buffer.
 */
#include "cl/lds.h"

#include "cl/emrtd.h"
#include "cl/tlv.h"
#include "hm/cursor.h"

#include <string.h>

/* ---- data-group numbers, tags and file identifiers ---------------------- */

static const uint8_t dg_tags[CL_LDS_MAX_DG] = { 0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68,
                                                0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70 };

int cl_lds_dg_number(uint8_t tag)
{
    for (int i = 0; i < CL_LDS_MAX_DG; i++)
        if (dg_tags[i] == tag)
            return i + 1;
    return 0;
}

uint8_t cl_lds_dg_tag(int dg)
{
    if (dg < 1 || dg > CL_LDS_MAX_DG)
        return 0;
    return dg_tags[dg - 1];
}

uint16_t cl_lds_dg_fid(int dg)
{
    if (dg < 1 || dg > CL_LDS_MAX_DG)
        return 0;
    return (uint16_t)(0x0100 + dg);
}

/* ---- helpers ------------------------------------------------------------ */

/* Parses the one object that fills p[0..n) and requires its tag. */
static cl_rc parse_outer(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *t)
{
    cl_rc rc = cl_tlv_parse_one(p, n, t);

    if (rc != CL_OK)
        return rc;
    return t->tag == tag ? CL_OK : CL_E_DATA_MALFORMED;
}

/* The next object of a structure that requires one: none left is malformed. */
static cl_rc next_required(struct hm_cursor *c, struct cl_tlv *t)
{
    if (hm_cursor_empty(c))
        return CL_E_DATA_MALFORMED;
    return cl_tlv_next(c, t);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool all_digits(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(p[i]))
            return false;
    return true;
}

/* Copies exactly n digits into out (n + 1 bytes). */
static cl_rc copy_digits(const struct cl_tlv *t, size_t n, char *out)
{
    if (t->len != n || !all_digits(t->value, n))
        return CL_E_DATA_MALFORMED;
    memcpy(out, t->value, n);
    out[n] = '\0';
    return CL_OK;
}

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF; and no NUL, C0 or C1 control characters or DEL.
 */
static bool utf8_text_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t b = s[i];
        uint32_t cp;
        size_t len;

        if (b < 0x80) {
            if (b < 0x20 || b == 0x7F)
                return false;
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            len = 2;
            cp = b & 0x1Fu;
        } else if (b >= 0xE0 && b <= 0xEF) {
            len = 3;
            cp = b & 0x0Fu;
        } else if (b >= 0xF0 && b <= 0xF4) {
            len = 4;
            cp = b & 0x07u;
        } else {
            return false; /* a continuation byte, C0/C1 (overlong), or F5..FF */
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        if ((cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            return false;
        i += len;
    }
    return true;
}

/* Copies a UTF-8 text field into its slot; too long or not clean text: malformed. */
static cl_rc copy_text(const struct cl_tlv *t, char *out, size_t cap)
{
    if (t->len >= cap || !utf8_text_ok(t->value, t->len))
        return CL_E_DATA_MALFORMED;
    memcpy(out, t->value, t->len);
    out[t->len] = '\0';
    return CL_OK;
}

/* A DER INTEGER of one content byte (0..127), the only size LDS versions and numbers take. */
static cl_rc small_int(const struct cl_tlv *t, int *v)
{
    if (t->tag != 0x02 || t->len != 1 || t->value[0] > 0x7F)
        return CL_E_DATA_MALFORMED;
    *v = t->value[0];
    return CL_OK;
}

/* An OBJECT IDENTIFIER's content: non-empty, each arc minimal and complete. */
static bool oid_ok(const struct cl_tlv *t)
{
    bool arc_start = true;

    if (t->tag != 0x06 || t->len == 0 || (t->value[t->len - 1] & 0x80))
        return false;
    for (size_t i = 0; i < t->len; i++) {
        if (arc_start && t->value[i] == 0x80)
            return false;
        arc_start = (t->value[i] & 0x80) == 0;
    }
    return true;
}

static bool oid_is(const struct cl_tlv *t, const uint8_t *oid, size_t n)
{
    return t->len == n && memcmp(t->value, oid, n) == 0;
}

static bool oid_has_prefix(const struct cl_tlv *t, const uint8_t *prefix, size_t n)
{
    return t->len >= n && memcmp(t->value, prefix, n) == 0;
}

/* ---- EF.COM --------------------------------------------------------------- */

static cl_rc parse_com(const uint8_t *p, size_t n, struct cl_lds_com *out)
{
    struct cl_tlv com, t;
    struct hm_cursor c;
    bool have_list = false;
    cl_rc rc;

    rc = parse_outer(p, n, CL_LDS_TAG_COM, &com);
    if (rc != CL_OK)
        return rc;
    c = hm_cursor_make(com.value, com.len);
    while (!hm_cursor_empty(&c)) {
        rc = cl_tlv_next(&c, &t);
        if (rc != CL_OK)
            return rc;
        if (t.tag == 0x5F01) {
            if (out->lds_version[0])
                return CL_E_DATA_MALFORMED;
            rc = copy_digits(&t, 4, out->lds_version);
        } else if (t.tag == 0x5F36) {
            if (out->unicode_version[0])
                return CL_E_DATA_MALFORMED;
            rc = copy_digits(&t, 6, out->unicode_version);
        } else if (t.tag == 0x5C) {
            if (have_list)
                return CL_E_DATA_MALFORMED;
            have_list = true;
            for (size_t i = 0; i < t.len; i++) {
                int dg = cl_lds_dg_number(t.value[i]);

                /* A repeat is caught here, so there are never more than 16. */
                if (dg == 0 || (out->present & (1u << dg)))
                    return CL_E_DATA_MALFORMED;
                out->present |= 1u << dg;
                out->tags[out->n_tags++] = t.value[i];
            }
        }
        if (rc != CL_OK)
            return rc;
    }
    if (!out->lds_version[0] || !have_list)
        return CL_E_DATA_MALFORMED;
    return CL_OK;
}

cl_rc cl_lds_parse_com(const uint8_t *p, size_t n, struct cl_lds_com *out)
{
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_com(p, n, out);
    if (rc != CL_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- DG1: the MRZ --------------------------------------------------------- */

#define TD1_LINE 30
#define TD2_LINE 36
#define TD3_LINE 44
#define DOC_LEN  9
#define DATE_LEN 6

static bool mrz_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '<';
}

static bool alpha_or_filler(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '<'))
            return false;
    return true;
}

static bool all_fillers(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '<')
            return false;
    return true;
}

/* Dates are digits; '<' stands for an unknown part (Doc 9303 Part 3). */
static bool date_ok(const char *s)
{
    for (size_t i = 0; i < DATE_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '<'))
            return false;
    return true;
}

/* Copies s[0..n) into its slot without the trailing fillers. */
static cl_rc copy_field(const char *s, size_t n, char *out, size_t cap)
{
    while (n > 0 && s[n - 1] == '<')
        n--;
    if (n >= cap)
        return CL_E_DATA_MALFORMED;
    memcpy(out, s, n);
    out[n] = '\0';
    return CL_OK;
}

/* Compares the check digit character cd with the one computed over s[0..n). */
static cl_rc check(const char *s, size_t n, char cd)
{
    int d = cl_emrtd_check_digit(s, n);

    if (d < 0)
        return CL_E_DATA_MALFORMED;
    return cd == (char)('0' + d) ? CL_OK : CL_E_CHECK_DIGIT;
}

/* One part of the name: fillers at either end dropped, each run of '<' inside becomes ' '. */
static cl_rc name_part(const char *s, size_t n, char *out, size_t cap)
{
    size_t len = 0;

    while (n > 0 && s[n - 1] == '<')
        n--;
    while (n > 0 && s[0] == '<') {
        s++;
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];

        if (ch == '<') {
            if (len > 0 && out[len - 1] == ' ')
                continue; /* one space for a run of fillers */
            ch = ' ';
        }
        if (len + 1 >= cap)
            return CL_E_DATA_MALFORMED;
        out[len++] = ch;
    }
    out[len] = '\0';
    return CL_OK;
}

/* The name field: primary identifier "<<" secondary identifier. */
static cl_rc parse_name(const char *s, size_t n, struct cl_mrz *out)
{
    size_t split = n;
    cl_rc rc;

    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] == '<' && s[i + 1] == '<') {
            split = i;
            break;
        }
    }
    rc = name_part(s, split, out->primary, sizeof(out->primary));
    if (rc != CL_OK || split == n)
        return rc;
    return name_part(s + split + 2, n - split - 2, out->secondary, sizeof(out->secondary));
}

/*
 * The document number: 9 characters and their check digit cd; or, when cd
 * is '<', a longer number whose other characters start the optional field
 * opt[0..olen) and run up to its check digit, which a filler (or the end of
 * the field) follows (Part 5 §4.2.4 for TD1; Part 6 for TD2). *used tells
 * how much of the optional field the number took.
 */
static cl_rc parse_doc_number(const char *num, char cd, const char *opt, size_t olen,
                              struct cl_mrz *out, size_t *used)
{
    char whole[DOC_LEN + TD1_LINE];
    size_t run = 0;
    cl_rc rc;

    *used = 0;
    if (cd != '<') {
        rc = check(num, DOC_LEN, cd);
        if (rc != CL_OK)
            return rc;
        return copy_field(num, DOC_LEN, out->doc_number, sizeof(out->doc_number));
    }
    while (run < olen && opt[run] != '<')
        run++;
    if (run == 0)
        return CL_E_CHECK_DIGIT; /* a filler where the check digit belongs, and nothing after */
    /* The 9 principal characters are all used, and at least one more follows. */
    if (run < 2 || memchr(num, '<', DOC_LEN))
        return CL_E_DATA_MALFORMED;
    memcpy(whole, num, DOC_LEN);
    memcpy(whole + DOC_LEN, opt, run - 1);
    rc = check(whole, DOC_LEN + run - 1, opt[run - 1]);
    if (rc != CL_OK)
        return rc;
    if (DOC_LEN + run - 1 >= sizeof(out->doc_number))
        return CL_E_DATA_MALFORMED;
    memcpy(out->doc_number, whole, DOC_LEN + run - 1);
    out->doc_number[DOC_LEN + run - 1] = '\0';
    *used = run < olen ? run + 1 : run;
    return CL_OK;
}

/* Code and issuing State, the first 5 characters of every format. */
static cl_rc parse_head(const char *l1, struct cl_mrz *out)
{
    cl_rc rc;

    if (l1[0] < 'A' || l1[0] > 'Z' || !alpha_or_filler(l1, 5))
        return CL_E_DATA_MALFORMED;
    rc = copy_field(l1, 2, out->doc_code, sizeof(out->doc_code));
    if (rc == CL_OK)
        rc = copy_field(l1 + 2, 3, out->issuer, sizeof(out->issuer));
    return rc;
}

/* Birth date, sex, expiry date (with their check digits) from b[0..15). */
static cl_rc parse_dates(const char *b, struct cl_mrz *out)
{
    cl_rc rc;

    if (!date_ok(b) || !date_ok(b + 8) || (b[7] != 'M' && b[7] != 'F' && b[7] != '<'))
        return CL_E_DATA_MALFORMED;
    rc = check(b, DATE_LEN, b[6]);
    if (rc == CL_OK)
        rc = check(b + 8, DATE_LEN, b[14]);
    if (rc != CL_OK)
        return rc;
    memcpy(out->birth, b, DATE_LEN);
    out->birth[DATE_LEN] = '\0';
    out->sex = b[7];
    memcpy(out->expiry, b + 8, DATE_LEN);
    out->expiry[DATE_LEN] = '\0';
    return CL_OK;
}

static cl_rc parse_nationality(const char *s, struct cl_mrz *out)
{
    if (!alpha_or_filler(s, 3))
        return CL_E_DATA_MALFORMED;
    return copy_field(s, 3, out->nationality, sizeof(out->nationality));
}

/* Appends s[0..n) to the composite check digit's input. */
static void composite_add(char *buf, size_t *len, const char *s, size_t n)
{
    memcpy(buf + *len, s, n);
    *len += n;
}

static cl_rc parse_td1(const char *m, struct cl_mrz *out)
{
    const char *l1 = m, *l2 = m + TD1_LINE, *l3 = m + 2 * TD1_LINE;
    char comp[64];
    size_t clen = 0, used;
    cl_rc rc;

    rc = parse_head(l1, out);
    if (rc == CL_OK)
        rc = parse_nationality(l2 + 15, out);
    if (rc == CL_OK)
        rc = parse_doc_number(l1 + 5, l1[14], l1 + 15, 15, out, &used);
    if (rc == CL_OK)
        rc = copy_field(l1 + 15 + used, 15 - used, out->optional1, sizeof(out->optional1));
    if (rc == CL_OK)
        rc = parse_dates(l2, out);
    if (rc == CL_OK)
        rc = copy_field(l2 + 18, 11, out->optional2, sizeof(out->optional2));
    if (rc != CL_OK)
        return rc;
    composite_add(comp, &clen, l1 + 5, 25);
    composite_add(comp, &clen, l2, 7);
    composite_add(comp, &clen, l2 + 8, 7);
    composite_add(comp, &clen, l2 + 18, 11);
    rc = check(comp, clen, l2[29]);
    if (rc != CL_OK)
        return rc;
    return parse_name(l3, TD1_LINE, out);
}

/*
 * TD2 and TD3 share the second line up to the optional data: document
 * number, check digit, nationality, birth, sex, expiry. opt_len is 7 (TD2)
 * or 14 (TD3, the personal number, with its own check digit after it).
 */
static cl_rc parse_td23(const char *m, size_t line, struct cl_mrz *out)
{
    const char *l1 = m, *l2 = m + line;
    size_t opt_len = line == TD3_LINE ? 14 : 7;
    size_t comp_end = 28 + opt_len + (line == TD3_LINE ? 1 : 0);
    char comp[64];
    size_t clen = 0, used = 0;
    cl_rc rc;

    rc = parse_head(l1, out);
    if (rc == CL_OK)
        rc = parse_nationality(l2 + 10, out);
    if (rc != CL_OK)
        return rc;
    if (line == TD3_LINE) {
        /* A passport number has at most 9 characters: no continuation. */
        rc = parse_doc_number(l2, l2[9], l2 + 28, 0, out, &used);
        /* A personal number of fillers only may have '<' or '0' as its check digit (Part 4). */
        if (rc == CL_OK && all_fillers(l2 + 28, opt_len))
            rc = l2[42] == '<' || l2[42] == '0' ? CL_OK : CL_E_CHECK_DIGIT;
        else if (rc == CL_OK)
            rc = check(l2 + 28, opt_len, l2[42]);
    } else {
        rc = parse_doc_number(l2, l2[9], l2 + 28, opt_len, out, &used);
    }
    if (rc == CL_OK)
        rc = copy_field(l2 + 28 + used, opt_len - used, out->optional1, sizeof(out->optional1));
    if (rc == CL_OK)
        rc = parse_dates(l2 + 13, out);
    if (rc != CL_OK)
        return rc;
    composite_add(comp, &clen, l2, 10);
    composite_add(comp, &clen, l2 + 13, 7);
    composite_add(comp, &clen, l2 + 21, comp_end - 21);
    rc = check(comp, clen, l2[comp_end]);
    if (rc != CL_OK)
        return rc;
    return parse_name(l1 + 5, line - 5, out);
}

cl_rc cl_mrz_parse(const char *mrz, size_t n, struct cl_mrz *out)
{
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    if (!mrz)
        return CL_E_INVALID_ARG;
    if (n != 3 * TD1_LINE && n != 2 * TD2_LINE && n != 2 * TD3_LINE)
        return CL_E_DATA_MALFORMED;
    for (size_t i = 0; i < n; i++)
        if (!mrz_char(mrz[i]))
            return CL_E_DATA_MALFORMED;
    if (n == 3 * TD1_LINE) {
        out->format = CL_MRZ_TD1;
        rc = parse_td1(mrz, out);
    } else if (n == 2 * TD2_LINE) {
        out->format = CL_MRZ_TD2;
        rc = parse_td23(mrz, TD2_LINE, out);
    } else {
        out->format = CL_MRZ_TD3;
        rc = parse_td23(mrz, TD3_LINE, out);
    }
    if (rc != CL_OK) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    memcpy(out->raw, mrz, n);
    out->raw[n] = '\0';
    return CL_OK;
}

cl_rc cl_lds_parse_dg1(const uint8_t *p, size_t n, struct cl_mrz *out)
{
    struct cl_tlv dg, mrz;
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_outer(p, n, CL_LDS_TAG_DG1, &dg);
    if (rc == CL_OK)
        rc = parse_outer(dg.value, dg.len, 0x5F1F, &mrz);
    if (rc != CL_OK)
        return rc;
    return cl_mrz_parse((const char *)mrz.value, mrz.len, out);
}

/* ---- DG2: the face -------------------------------------------------------- */

#define FAC_HEADER      14 /* format identifier, version, record length, number of faces */
#define FACE_HEADER     20 /* the facial record header, with the face block length */
#define FEATURE_POINT   8
#define IMAGE_INFO      12
#define FACE_BLOCK_MIN  (FACE_HEADER + IMAGE_INFO + 1)
#define IMG_TYPE_JPEG   0
#define IMG_TYPE_JPEG2K 1

static const uint8_t jp2_box[12] = { 0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                     0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A };
static const uint8_t j2k_soc_siz[4] = { 0xFF, 0x4F, 0xFF, 0x51 };
static const uint8_t jpeg_soi[3] = { 0xFF, 0xD8, 0xFF };

static bool image_magic_ok(uint8_t type, const uint8_t *img, size_t n)
{
    if (type == IMG_TYPE_JPEG)
        return n >= sizeof(jpeg_soi) && memcmp(img, jpeg_soi, sizeof(jpeg_soi)) == 0;
    return (n >= sizeof(jp2_box) && memcmp(img, jp2_box, sizeof(jp2_box)) == 0) ||
           (n >= sizeof(j2k_soc_siz) && memcmp(img, j2k_soc_siz, sizeof(j2k_soc_siz)) == 0);
}

/* One face block (its length already read): header, feature points, image information, image. */
static cl_rc parse_face_block(struct hm_cursor *b, struct cl_face *face)
{
    uint16_t points, width, height;
    uint8_t gender, image_type, data_type;

    /* Feature point count, gender, eye colour, hair colour, mask (3), expression (2), pose
     * angles (3), pose uncertainty (3). */
    if (!hm_cursor_be16(b, &points) || !hm_cursor_u8(b, &gender) || !hm_cursor_skip(b, 13))
        return CL_E_DATA_MALFORMED;
    if (!hm_cursor_skip(b, (size_t)points * FEATURE_POINT))
        return CL_E_DATA_MALFORMED;
    /* Image type, data type, width, height, colour space, source type, device type, quality. */
    if (!hm_cursor_u8(b, &image_type) || !hm_cursor_u8(b, &data_type) ||
        !hm_cursor_be16(b, &width) || !hm_cursor_be16(b, &height) || !hm_cursor_skip(b, 6))
        return CL_E_DATA_MALFORMED;
    if (data_type != IMG_TYPE_JPEG && data_type != IMG_TYPE_JPEG2K)
        return CL_E_DATA_MALFORMED;
    if (hm_cursor_empty(b) || !image_magic_ok(data_type, b->p, b->left))
        return CL_E_DATA_MALFORMED;
    face->format = data_type == IMG_TYPE_JPEG ? CL_FACE_JPEG : CL_FACE_JPEG2000;
    face->image = b->p;
    face->image_len = b->left;
    face->width = width;
    face->height = height;
    face->gender = gender;
    face->image_type = image_type;
    return CL_OK;
}

/* An ISO/IEC 19794-5 facial record filling p[0..n); the first face goes to *face. */
static cl_rc parse_facial_record(const uint8_t *p, size_t n, struct cl_face *face)
{
    static const uint8_t fac[4] = { 'F', 'A', 'C', 0 };
    static const uint8_t v010[4] = { '0', '1', '0', 0 };
    struct hm_cursor c = hm_cursor_make(p, n);
    const uint8_t *magic, *version;
    uint32_t record_len;
    uint16_t faces;

    if (!hm_cursor_bytes(&c, 4, &magic) || !hm_cursor_bytes(&c, 4, &version) ||
        !hm_cursor_be32(&c, &record_len) || !hm_cursor_be16(&c, &faces))
        return CL_E_DATA_MALFORMED;
    if (memcmp(magic, fac, 4) != 0 || memcmp(version, v010, 4) != 0 || record_len != n ||
        faces == 0)
        return CL_E_DATA_MALFORMED;
    for (uint16_t i = 0; i < faces; i++) {
        struct cl_face this_face;
        struct hm_cursor b;
        uint32_t block_len;
        cl_rc rc;

        if (!hm_cursor_be32(&c, &block_len) || block_len < FACE_BLOCK_MIN ||
            !hm_cursor_sub(&c, block_len - 4, &b))
            return CL_E_DATA_MALFORMED;
        rc = parse_face_block(&b, i == 0 ? face : &this_face);
        if (rc != CL_OK)
            return rc;
    }
    /* The face blocks fill the record exactly. */
    return hm_cursor_empty(&c) ? CL_OK : CL_E_DATA_MALFORMED;
}

/* One biometric information template: 7F60 { A1 header, 5F2E or 7F2E data }. */
static cl_rc parse_bit(const struct cl_tlv *bit, struct cl_face *face)
{
    struct hm_cursor c = hm_cursor_make(bit->value, bit->len);
    struct cl_tlv bht, bdb;
    cl_rc rc;

    rc = next_required(&c, &bht);
    if (rc != CL_OK)
        return rc;
    if (bht.tag != 0xA1)
        return CL_E_DATA_MALFORMED;
    rc = cl_tlv_validate(bht.value, bht.len, 0);
    if (rc != CL_OK)
        return rc;
    rc = next_required(&c, &bdb);
    if (rc != CL_OK)
        return rc;
    if ((bdb.tag != 0x5F2E && bdb.tag != 0x7F2E) || !hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED;
    return parse_facial_record(bdb.value, bdb.len, face);
}

static cl_rc parse_dg2(const uint8_t *p, size_t n, struct cl_face *out)
{
    struct cl_tlv dg, group, count, bit;
    struct hm_cursor c;
    int templates;
    cl_rc rc;

    rc = parse_outer(p, n, CL_LDS_TAG_DG2, &dg);
    if (rc == CL_OK)
        rc = parse_outer(dg.value, dg.len, 0x7F61, &group);
    if (rc != CL_OK)
        return rc;
    c = hm_cursor_make(group.value, group.len);
    rc = next_required(&c, &count);
    if (rc != CL_OK)
        return rc;
    if (small_int(&count, &templates) != CL_OK || templates < 1)
        return CL_E_DATA_MALFORMED;
    for (int i = 0; i < templates; i++) {
        struct cl_face other;

        rc = next_required(&c, &bit); /* none left: fewer templates than announced */
        if (rc != CL_OK)
            return rc;
        if (bit.tag != 0x7F60)
            return CL_E_DATA_MALFORMED;
        rc = parse_bit(&bit, i == 0 ? out : &other);
        if (rc != CL_OK)
            return rc;
    }
    if (!hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED; /* more templates than announced, or something else */
    out->n_faces = (size_t)templates;
    return CL_OK;
}

cl_rc cl_lds_parse_dg2(const uint8_t *p, size_t n, struct cl_face *out)
{
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_dg2(p, n, out);
    if (rc != CL_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- DG11: additional personal details ----------------------------------- */

cl_rc cl_lds_parse_dg11(const uint8_t *p, size_t n, struct cl_dg11 *out)
{
    struct cl_tlv dg, t;
    struct hm_cursor c;
    bool have_list = false;
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_outer(p, n, CL_LDS_TAG_DG11, &dg);
    if (rc != CL_OK)
        return rc;
    c = hm_cursor_make(dg.value, dg.len);
    while (!hm_cursor_empty(&c)) {
        bool *seen = NULL;

        rc = cl_tlv_next(&c, &t);
        if (rc != CL_OK)
            break;
        switch (t.tag) {
        case 0x5C:
            seen = &have_list;
            break;
        case 0x5F0E:
            seen = &out->has_name;
            rc = copy_text(&t, out->full_name, sizeof(out->full_name));
            break;
        case 0x5F10:
            seen = &out->has_personal_number;
            rc = copy_text(&t, out->personal_number, sizeof(out->personal_number));
            break;
        case 0x5F2B:
            seen = &out->has_full_birth;
            rc = copy_digits(&t, 8, out->full_birth);
            break;
        case 0x5F11:
            seen = &out->has_place_of_birth;
            rc = copy_text(&t, out->place_of_birth, sizeof(out->place_of_birth));
            break;
        case 0x5F42:
            seen = &out->has_address;
            rc = copy_text(&t, out->address, sizeof(out->address));
            break;
        default:
            break; /* other names (A0 { 5F0F }), title, profession, telephone... */
        }
        if (rc != CL_OK)
            break;
        if (seen) {
            if (*seen) {
                rc = CL_E_DATA_MALFORMED; /* a field given twice */
                break;
            }
            *seen = true;
        }
    }
    if (rc == CL_OK && !have_list)
        rc = CL_E_DATA_MALFORMED;
    if (rc != CL_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- DG14: security infos ------------------------------------------------- */

static const uint8_t oid_aa[] = { 0x67, 0x81, 0x08, 0x01, 0x01, 0x05 }; /* 2.23.136.1.1.5 */
/* ecdsa-plain-signatures 0.4.0.127.0.7.1.1.4.1, then .1 SHA-1 ... .5 SHA-512 */
static const uint8_t oid_ecdsa_plain[] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01 };
static const uint8_t oid_ca[] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03 };
static const uint8_t oid_pace[] = { 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04 };

/* ActiveAuthenticationInfo ::= SEQUENCE { protocol, version INTEGER (1), signatureAlgorithm OID
 * OPTIONAL }. */
static cl_rc parse_aa_info(const struct cl_tlv *required, const struct cl_tlv *optional,
                           struct cl_dg14 *out)
{
    int version;

    if (out->has_aa_info)
        return CL_E_DATA_MALFORMED; /* two, which one would count? */
    if (small_int(required, &version) != CL_OK || version != 1)
        return CL_E_DATA_MALFORMED;
    out->has_aa_info = true;
    out->aa_hash = CL_HASH_NONE;
    if (!optional)
        return CL_OK; /* RSA: the hash is in the signature (ISO/IEC 9796-2) */
    if (!oid_ok(optional) || optional->len != sizeof(oid_ecdsa_plain) + 1 ||
        !oid_has_prefix(optional, oid_ecdsa_plain, sizeof(oid_ecdsa_plain)))
        return CL_E_DATA_MALFORMED;
    switch (optional->value[sizeof(oid_ecdsa_plain)]) {
    case 1:
        out->aa_hash = CL_HASH_SHA1;
        break;
    case 2:
        out->aa_hash = CL_HASH_SHA224;
        break;
    case 3:
        out->aa_hash = CL_HASH_SHA256;
        break;
    case 4:
        out->aa_hash = CL_HASH_SHA384;
        break;
    case 5:
        out->aa_hash = CL_HASH_SHA512;
        break;
    default:
        return CL_E_DATA_MALFORMED;
    }
    return CL_OK;
}

/* SecurityInfo ::= SEQUENCE { protocol OID, requiredData ANY, optionalData ANY OPTIONAL }. */
static cl_rc parse_security_info(const struct cl_tlv *info, struct cl_dg14 *out)
{
    struct hm_cursor c = hm_cursor_make(info->value, info->len);
    struct cl_tlv oid, required, optional;
    bool has_optional = false;
    cl_rc rc;

    if (info->tag != 0x30)
        return CL_E_DATA_MALFORMED;
    rc = next_required(&c, &oid);
    if (rc != CL_OK)
        return rc;
    if (!oid_ok(&oid))
        return CL_E_DATA_MALFORMED;
    rc = next_required(&c, &required);
    if (rc != CL_OK)
        return rc;
    if (!hm_cursor_empty(&c)) {
        rc = cl_tlv_next(&c, &optional);
        if (rc != CL_OK)
            return rc;
        has_optional = true;
    }
    if (!hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED;
    if (oid_is(&oid, oid_aa, sizeof(oid_aa)))
        return parse_aa_info(&required, has_optional ? &optional : NULL, out);
    if (oid_has_prefix(&oid, oid_ca, sizeof(oid_ca)))
        out->has_chip_auth = true;
    else if (oid_has_prefix(&oid, oid_pace, sizeof(oid_pace)))
        out->has_pace = true;
    return CL_OK;
}

cl_rc cl_lds_parse_dg14(const uint8_t *p, size_t n, struct cl_dg14 *out)
{
    struct cl_tlv dg, set, info;
    struct hm_cursor c;
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_outer(p, n, CL_LDS_TAG_DG14, &dg);
    if (rc == CL_OK)
        rc = parse_outer(dg.value, dg.len, 0x31, &set);
    if (rc != CL_OK)
        return rc;
    c = hm_cursor_make(set.value, set.len);
    while (!hm_cursor_empty(&c)) {
        rc = cl_tlv_next(&c, &info);
        if (rc == CL_OK)
            rc = parse_security_info(&info, out);
        if (rc != CL_OK) {
            memset(out, 0, sizeof(*out));
            return rc;
        }
        out->n_infos++;
    }
    return CL_OK;
}

/* ---- DG15 and EF.SOD: wrappers around DER ---------------------------------- */

/* The single SEQUENCE that fills the value of the outer object tagged tag. */
static cl_rc inner_sequence(const uint8_t *p, size_t n, uint32_t tag, struct cl_tlv *seq)
{
    struct cl_tlv outer;
    cl_rc rc = parse_outer(p, n, tag, &outer);

    if (rc != CL_OK)
        return rc;
    return parse_outer(outer.value, outer.len, 0x30, seq);
}

cl_rc cl_lds_parse_dg15(const uint8_t *p, size_t n, const uint8_t **spki, size_t *spki_len)
{
    struct cl_tlv seq, alg, key;
    struct hm_cursor c;
    cl_rc rc;

    if (!spki || !spki_len)
        return CL_E_INVALID_ARG;
    *spki = NULL;
    *spki_len = 0;
    rc = inner_sequence(p, n, CL_LDS_TAG_DG15, &seq);
    if (rc != CL_OK)
        return rc;
    /* SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING }. */
    c = hm_cursor_make(seq.value, seq.len);
    rc = next_required(&c, &alg);
    if (rc == CL_OK)
        rc = next_required(&c, &key);
    if (rc != CL_OK)
        return rc;
    if (alg.tag != 0x30 || alg.len == 0 || key.tag != 0x03 || key.len < 2 || key.value[0] > 7 ||
        !hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED;
    *spki = seq.raw;
    *spki_len = seq.raw_len;
    return CL_OK;
}

cl_rc cl_lds_parse_sod(const uint8_t *p, size_t n, const uint8_t **cms, size_t *cms_len)
{
    struct cl_tlv seq;
    cl_rc rc;

    if (!cms || !cms_len)
        return CL_E_INVALID_ARG;
    *cms = NULL;
    *cms_len = 0;
    rc = inner_sequence(p, n, CL_LDS_TAG_SOD, &seq);
    if (rc != CL_OK)
        return rc;
    if (seq.len == 0)
        return CL_E_DATA_MALFORMED;
    *cms = seq.raw;
    *cms_len = seq.raw_len;
    return CL_OK;
}

/* ---- the LDS Security Object ---------------------------------------------- */

static const uint8_t oid_sha1[] = { 0x2B, 0x0E, 0x03, 0x02, 0x1A };
static const uint8_t oid_sha2[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02 }; /* then .x */

size_t cl_lds_hash_len(enum cl_lds_hash h)
{
    switch (h) {
    case CL_HASH_SHA1:
        return 20;
    case CL_HASH_SHA224:
        return 28;
    case CL_HASH_SHA256:
        return 32;
    case CL_HASH_SHA384:
        return 48;
    case CL_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

const char *cl_lds_hash_name(enum cl_lds_hash h)
{
    switch (h) {
    case CL_HASH_SHA1:
        return "SHA-1";
    case CL_HASH_SHA224:
        return "SHA-224";
    case CL_HASH_SHA256:
        return "SHA-256";
    case CL_HASH_SHA384:
        return "SHA-384";
    case CL_HASH_SHA512:
        return "SHA-512";
    default:
        return "none";
    }
}

/* AlgorithmIdentifier ::= SEQUENCE { OID, parameters (absent or NULL) } of a hash we know. */
static cl_rc parse_hash_alg(const struct cl_tlv *alg, enum cl_lds_hash *h)
{
    struct hm_cursor c = hm_cursor_make(alg->value, alg->len);
    struct cl_tlv oid, params;
    cl_rc rc;

    if (alg->tag != 0x30)
        return CL_E_DATA_MALFORMED;
    rc = next_required(&c, &oid);
    if (rc != CL_OK)
        return rc;
    if (!hm_cursor_empty(&c)) {
        rc = cl_tlv_next(&c, &params);
        if (rc != CL_OK)
            return rc;
        if (params.tag != 0x05 || params.len != 0 || !hm_cursor_empty(&c))
            return CL_E_DATA_MALFORMED;
    }
    if (!oid_ok(&oid))
        return CL_E_DATA_MALFORMED;
    if (oid_is(&oid, oid_sha1, sizeof(oid_sha1))) {
        *h = CL_HASH_SHA1;
        return CL_OK;
    }
    if (oid.len != sizeof(oid_sha2) + 1 || !oid_has_prefix(&oid, oid_sha2, sizeof(oid_sha2)))
        return CL_E_DATA_MALFORMED;
    switch (oid.value[sizeof(oid_sha2)]) {
    case 1:
        *h = CL_HASH_SHA256;
        return CL_OK;
    case 2:
        *h = CL_HASH_SHA384;
        return CL_OK;
    case 3:
        *h = CL_HASH_SHA512;
        return CL_OK;
    case 4:
        *h = CL_HASH_SHA224;
        return CL_OK;
    default:
        return CL_E_DATA_MALFORMED;
    }
}

/* DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }.
 */
static cl_rc parse_dg_hash(const struct cl_tlv *seq, struct cl_lso *out, uint32_t *seen)
{
    struct hm_cursor c = hm_cursor_make(seq->value, seq->len);
    struct cl_tlv num, hash;
    struct cl_lso_entry *e;
    int dg;
    cl_rc rc;

    if (seq->tag != 0x30)
        return CL_E_DATA_MALFORMED;
    rc = next_required(&c, &num);
    if (rc == CL_OK)
        rc = next_required(&c, &hash);
    if (rc != CL_OK)
        return rc;
    if (!hm_cursor_empty(&c) || small_int(&num, &dg) != CL_OK || dg < 1 || dg > CL_LDS_MAX_DG ||
        (*seen & (1u << dg)))
        return CL_E_DATA_MALFORMED;
    if (hash.tag != 0x04 || hash.len != cl_lds_hash_len(out->hash))
        return CL_E_DATA_MALFORMED;
    *seen |= 1u << dg;
    e = &out->entries[out->n_entries++];
    e->dg = dg;
    memcpy(e->hash, hash.value, hash.len);
    e->hash_len = hash.len;
    return CL_OK;
}

/* LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }. */
static cl_rc parse_version_info(const struct cl_tlv *seq, struct cl_lso *out)
{
    struct hm_cursor c = hm_cursor_make(seq->value, seq->len);
    struct cl_tlv lds, uni;
    cl_rc rc;

    if (seq->tag != 0x30)
        return CL_E_DATA_MALFORMED;
    rc = next_required(&c, &lds);
    if (rc == CL_OK)
        rc = next_required(&c, &uni);
    if (rc != CL_OK)
        return rc;
    if (lds.tag != 0x13 || uni.tag != 0x13 || !hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED;
    rc = copy_digits(&lds, 4, out->lds_version);
    if (rc == CL_OK)
        rc = copy_digits(&uni, 6, out->unicode_version);
    return rc;
}

static cl_rc parse_lso(const uint8_t *p, size_t n, struct cl_lso *out)
{
    struct cl_tlv lso, version, alg, hashes, info, h;
    struct hm_cursor c, hc;
    uint32_t seen = 0;
    cl_rc rc;

    rc = parse_outer(p, n, 0x30, &lso);
    if (rc != CL_OK)
        return rc;
    c = hm_cursor_make(lso.value, lso.len);
    rc = next_required(&c, &version);
    if (rc == CL_OK)
        rc = next_required(&c, &alg);
    if (rc == CL_OK)
        rc = next_required(&c, &hashes);
    if (rc != CL_OK)
        return rc;
    if (small_int(&version, &out->version) != CL_OK || out->version > 1)
        return CL_E_DATA_MALFORMED;
    rc = parse_hash_alg(&alg, &out->hash);
    if (rc != CL_OK)
        return rc;
    if (hashes.tag != 0x30 || hashes.len == 0)
        return CL_E_DATA_MALFORMED;
    hc = hm_cursor_make(hashes.value, hashes.len);
    while (!hm_cursor_empty(&hc)) {
        rc = cl_tlv_next(&hc, &h);
        if (rc == CL_OK)
            rc = parse_dg_hash(&h, out, &seen);
        if (rc != CL_OK)
            return rc;
    }
    /* ldsVersionInfo is there exactly when the version is V1. */
    if (hm_cursor_empty(&c))
        return out->version == 1 ? CL_E_DATA_MALFORMED : CL_OK;
    rc = cl_tlv_next(&c, &info);
    if (rc != CL_OK)
        return rc;
    if (out->version != 1 || !hm_cursor_empty(&c))
        return CL_E_DATA_MALFORMED;
    return parse_version_info(&info, out);
}

cl_rc cl_lds_parse_lso(const uint8_t *p, size_t n, struct cl_lso *out)
{
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    rc = parse_lso(p, n, out);
    if (rc != CL_OK)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- the Chinese citizen ID number ---------------------------------------- */

#define CN_ID_DIGITS 17

char cl_cn_id_check_char(const char *digits17)
{
    static const int weights[CN_ID_DIGITS] = {
        7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2
    };
    static const char map[] = "10X98765432";
    int sum = 0;

    if (!digits17)
        return 0;
    for (size_t i = 0; i < CN_ID_DIGITS; i++) {
        /* A NUL stops here, so a shorter string is never read past its end. */
        if (!is_digit((uint8_t)digits17[i]))
            return 0;
        sum += (digits17[i] - '0') * weights[i];
    }
    return map[sum % 11];
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* YYYYMMDD, 8 digits already checked: a real date in 1900..2099. */
static bool cn_date_ok(const char *s)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[4] - '0') * 10 + (s[5] - '0');
    int d = (s[6] - '0') * 10 + (s[7] - '0');
    int max;

    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1)
        return false;
    max = days[m - 1] + (m == 2 && leap_year(y) ? 1 : 0);
    return d <= max;
}

cl_rc cl_cn_id_check(const char *id, size_t n)
{
    char want, got;

    if (!id)
        return CL_E_INVALID_ARG;
    if (n != CL_CN_ID_LEN || !all_digits((const uint8_t *)id, CN_ID_DIGITS))
        return CL_E_DATA_MALFORMED;
    got = id[CN_ID_DIGITS] == 'x' ? 'X' : id[CN_ID_DIGITS];
    if (!is_digit((uint8_t)got) && got != 'X')
        return CL_E_DATA_MALFORMED;
    if (!cn_date_ok(id + 6))
        return CL_E_DATA_MALFORMED;
    want = cl_cn_id_check_char(id);
    return got == want ? CL_OK : CL_E_CHECK_DIGIT;
}

#define MASK_KEEP_HEAD 3
#define MASK_KEEP_TAIL 4

cl_rc cl_id_mask(const char *id, size_t n, char *out, size_t cap)
{
    if ((!id && n > 0) || !out)
        return CL_E_INVALID_ARG;
    if (cap < n + 1 || n == SIZE_MAX) {
        if (cap > 0)
            out[0] = '\0';
        return CL_E_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < n; i++) {
        bool keep =
            n > MASK_KEEP_HEAD + MASK_KEEP_TAIL && (i < MASK_KEEP_HEAD || i >= n - MASK_KEEP_TAIL);
        char ch = id[i];

        /* What is shown must not be able to break a log line or a screen. */
        if (keep && (ch < 0x20 || ch > 0x7E))
            ch = '?';
        out[i] = keep ? ch : '*';
    }
    out[n] = '\0';
    return CL_OK;
}
