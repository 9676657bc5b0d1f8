/*
 * The LDS parsers (cl/lds.h) against the ICAO Doc 9303 specimens and
 * synthetic data groups, then against every way the bytes can be wrong:
 * each check digit corrupted, bad characters, lengths that disagree, and
 * every truncation of every valid input (run it under the ASan build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cl/emrtd.h"
#include "cl/lds.h"
#include "cl/tlv.h"
#include "hm/cursor.h"
#include "hm/hex.h"

/*
 * Specimens. Every check digit below was recomputed with the 7-3-1 rule
 * (test_specimen_check_digits): the values given in Doc 9303 are right.
 */
/* Part 4 (TD3, passport): the specimen. */
#define TD3_L1 "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
#define TD3_L2 "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
/* Part 5 (TD1, card): the specimen. */
#define TD1_L1 "I<UTOD231458907<<<<<<<<<<<<<<<"
#define TD1_L2 "7408122F1204159UTO<<<<<<<<<<<6"
#define TD1_L3 "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
/* Part 5 §4.2.4 (TD1 with a 12-character document number, D23145890734, check digit 9). */
#define TD1L_L1 "I<UTOD23145890<7349<<<<<<<<<<<"
#define TD1L_L2 "3407127M9507122UTO<<<<<<<<<<<2"
#define TD1L_L3 "STEVENSON<<PETER<JOHN<<<<<<<<<"
/* Part 6 (TD2): the specimen. */
#define TD2_L1 "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<"
#define TD2_L2 "D231458907UTO7408122F1204159<<<<<<<6"
/* A TD2 with a long number as Part 6 allows (D23145890734, then its check digit 9). */
#define TD2L_L2 "D23145890<UTO7408122F12041597349<<<2"
/* A Chinese card-like TD1, made for these tests (check digits computed). */
#define CHN_L1 "I<CHNC030059887<<<<<<<<<<<<<<<"
#define CHN_L2 "9001011M3001019CHN<<<<<<<<<<<2"
#define CHN_L3 "ZHANG<<SAN<<<<<<<<<<<<<<<<<<<<"
/* ... with an 11-character number (C0300598812, check digit 0), more optional data after it. */
#define CHNL_L1 "I<CHNC03005988<120<AB12<<<<<<<"
#define CHNL_L2 "9001011F3001019CHNOPT2<X<<<<<9"
/* TD3 with an empty personal number: its check digit '<' (or '0'). */
#define TD3E_L2 "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<8"

/* EF.COM of fixtures/cards/id-card-specimen.json (and Part 11 Appendix D.4). */
#define EF_COM "60145F0104303130365F36063034303030305C026175"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;

    assert_true(hm_hex_decode(s, out, cap, &n));
    return n;
}

/* ---- parsing every prefix of an input, and single-byte corruptions ----- */

/* A parser behind one signature: returns its result for p[0..n). */
typedef cl_rc (*parse_fn)(const uint8_t *p, size_t n);

static cl_rc run_com(const uint8_t *p, size_t n)
{
    struct cl_lds_com c;

    return cl_lds_parse_com(p, n, &c);
}

static cl_rc run_dg1(const uint8_t *p, size_t n)
{
    struct cl_mrz m;

    return cl_lds_parse_dg1(p, n, &m);
}

static cl_rc run_mrz(const uint8_t *p, size_t n)
{
    struct cl_mrz m;

    return cl_mrz_parse((const char *)p, n, &m);
}

static cl_rc run_dg2(const uint8_t *p, size_t n)
{
    struct cl_face f;
    cl_rc rc = cl_lds_parse_dg2(p, n, &f);

    if (rc == CL_OK) {
        assert_true(f.image >= p && f.image_len > 0 && f.image + f.image_len <= p + n);
        assert_true(f.n_faces >= 1);
    }
    return rc;
}

static cl_rc run_dg11(const uint8_t *p, size_t n)
{
    struct cl_dg11 d;

    return cl_lds_parse_dg11(p, n, &d);
}

static cl_rc run_dg14(const uint8_t *p, size_t n)
{
    struct cl_dg14 d;

    return cl_lds_parse_dg14(p, n, &d);
}

static cl_rc run_dg15(const uint8_t *p, size_t n)
{
    const uint8_t *spki;
    size_t len;
    cl_rc rc = cl_lds_parse_dg15(p, n, &spki, &len);

    if (rc == CL_OK)
        assert_true(spki > p && spki + len <= p + n && spki[0] == 0x30);
    return rc;
}

static cl_rc run_sod(const uint8_t *p, size_t n)
{
    const uint8_t *cms;
    size_t len;
    cl_rc rc = cl_lds_parse_sod(p, n, &cms, &len);

    if (rc == CL_OK)
        assert_true(cms > p && cms + len <= p + n && cms[0] == 0x30);
    return rc;
}

static cl_rc run_lso(const uint8_t *p, size_t n)
{
    struct cl_lso l;
    cl_rc rc = cl_lds_parse_lso(p, n, &l);

    if (rc == CL_OK) {
        assert_true(l.n_entries >= 1 && l.n_entries <= CL_LDS_MAX_DG);
        for (size_t i = 0; i < l.n_entries; i++)
            assert_int_equal(l.entries[i].hash_len, cl_lds_hash_len(l.hash));
    }
    return rc;
}

/* A heap copy of exactly n bytes, so that ASan sees any read past the end. */
static cl_rc run_exact(parse_fn fn, const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    cl_rc rc;

    assert_non_null(copy);
    if (n)
        memcpy(copy, p, n);
    rc = fn(copy, n);
    free(copy);
    return rc;
}

/* The whole input parses; every shorter prefix of it is an error (and no crash). */
static void assert_prefixes_fail(parse_fn fn, const uint8_t *p, size_t n)
{
    assert_int_equal(run_exact(fn, p, n), CL_OK);
    for (size_t i = 0; i < n; i++) {
        cl_rc rc = run_exact(fn, p, i);

        if (rc == CL_OK)
            fail_msg("a prefix of %zu of %zu bytes parsed", i, n);
    }
}

/* Every byte replaced by a few other values: whatever the result, no crash. */
static void mutate_each_byte(parse_fn fn, const uint8_t *p, size_t n)
{
    static const uint8_t values[] = { 0x00, 0x01, 0x7F, 0x80, 0x81, 0xFF };
    uint8_t *copy = malloc(n ? n : 1);

    assert_non_null(copy);
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v <= sizeof(values); v++) {
            memcpy(copy, p, n);
            copy[i] = v < sizeof(values) ? values[v] : (uint8_t)(p[i] ^ 0x20);
            (void)fn(copy, n);
        }
    }
    free(copy);
}

/* ---- data-group numbers ---------------------------------------------- */

static void test_dg_numbers(void **state)
{
    (void)state;
    for (int dg = 1; dg <= CL_LDS_MAX_DG; dg++) {
        assert_int_equal(cl_lds_dg_number(cl_lds_dg_tag(dg)), dg);
        assert_int_equal(cl_lds_dg_fid(dg), 0x0100 + dg);
    }
    assert_int_equal(cl_lds_dg_tag(1), CL_LDS_TAG_DG1);
    assert_int_equal(cl_lds_dg_tag(2), CL_LDS_TAG_DG2);
    assert_int_equal(cl_lds_dg_tag(3), 0x63);
    assert_int_equal(cl_lds_dg_tag(4), 0x76);
    assert_int_equal(cl_lds_dg_tag(11), CL_LDS_TAG_DG11);
    assert_int_equal(cl_lds_dg_tag(14), CL_LDS_TAG_DG14);
    assert_int_equal(cl_lds_dg_tag(15), CL_LDS_TAG_DG15);
    assert_int_equal(cl_lds_dg_tag(16), 0x70);
    assert_int_equal(cl_lds_dg_fid(1), CL_EMRTD_FID_DG1);
    assert_int_equal(cl_lds_dg_fid(15), CL_EMRTD_FID_DG15);
    assert_int_equal(cl_lds_dg_fid(16), 0x0110);
    assert_int_equal(cl_lds_dg_tag(0), 0);
    assert_int_equal(cl_lds_dg_tag(17), 0);
    assert_int_equal(cl_lds_dg_tag(-1), 0);
    assert_int_equal(cl_lds_dg_fid(0), 0);
    assert_int_equal(cl_lds_dg_fid(17), 0);
    assert_int_equal(cl_lds_dg_number(CL_LDS_TAG_COM), 0);
    assert_int_equal(cl_lds_dg_number(CL_LDS_TAG_SOD), 0);
    assert_int_equal(cl_lds_dg_number(0x62), 0); /* between DG1 and DG3 */
    assert_int_equal(cl_lds_dg_number(0x71), 0);
    assert_int_equal(cl_lds_dg_number(0x00), 0);
    assert_int_equal(cl_lds_dg_number(0xFF), 0);
}

/* ---- EF.COM ------------------------------------------------------------ */

static void test_com(void **state)
{
    uint8_t b[64];
    size_t n = unhex(EF_COM, b, sizeof(b));
    struct cl_lds_com c;

    (void)state;
    assert_int_equal(cl_lds_parse_com(b, n, &c), CL_OK);
    assert_string_equal(c.lds_version, "0106");
    assert_string_equal(c.unicode_version, "040000");
    assert_int_equal(c.n_tags, 2);
    assert_int_equal(c.tags[0], 0x61);
    assert_int_equal(c.tags[1], 0x75);
    assert_int_equal(c.present, (1u << 1) | (1u << 2));
    assert_prefixes_fail(run_com, b, n);
    mutate_each_byte(run_com, b, n);

    /* 5F36 is optional; the tag list keeps its order. */
    n = unhex("600C 5F0104 30313037 5C03 6E 61 6F", b, sizeof(b));
    assert_int_equal(cl_lds_parse_com(b, n, &c), CL_OK);
    assert_string_equal(c.lds_version, "0107");
    assert_string_equal(c.unicode_version, "");
    assert_int_equal(c.n_tags, 3);
    assert_int_equal(c.tags[0], 0x6E);
    assert_int_equal(c.tags[2], 0x6F);
    assert_int_equal(c.present, (1u << 14) | (1u << 1) | (1u << 15));
    /* All 16 data groups. */
    n = unhex("6019 5F0104 30313037 5C10 6175637665666768696A6B6C6D6E6F70", b, sizeof(b));
    assert_int_equal(cl_lds_parse_com(b, n, &c), CL_OK);
    assert_int_equal(c.n_tags, 16);
    assert_int_equal(c.present, 0x1FFFEu);

    struct {
        const char *hex;
        cl_rc rc;
    } bad[] = {
        { "6009 5F3606303430", CL_E_TLV_TRUNCATED },
        { "6008 5F360630343030303030", CL_E_TLV_TRAILING },
        { "600B 5F36063034303030305C00", CL_E_DATA_MALFORMED },           /* no LDS version */
        { "6007 5F010430313037", CL_E_DATA_MALFORMED },                   /* no tag list */
        { "600A 5F0104303130375C0177", CL_E_DATA_MALFORMED },             /* EF.SOD is not a DG */
        { "600A 5F0104303130375C0160", CL_E_DATA_MALFORMED },             /* nor EF.COM */
        { "600B 5F0104303130375C026161", CL_E_DATA_MALFORMED },           /* listed twice */
        { "600D 5F0104303130375C01615C0175", CL_E_DATA_MALFORMED },       /* two lists */
        { "600A 5F01043031304A5C0161", CL_E_DATA_MALFORMED },             /* not digits */
        { "6009 5F0103303130 5C0161", CL_E_DATA_MALFORMED },              /* 3 digits */
        { "600B 5F01053031303730 5C0161", CL_E_DATA_MALFORMED },          /* 5 */
        { "6010 5F0104303130375F0104303130375C00", CL_E_DATA_MALFORMED }, /* two versions */
        { "6011 5F0104303130375F36053034303030 5C00", CL_E_DATA_MALFORMED },
        { "610A 5F0104303130375C0161", CL_E_DATA_MALFORMED }, /* DG1's tag */
        { "600A 5F0104303130375C0161 00", CL_E_TLV_TRAILING },
        { "", CL_E_TLV_TRUNCATED },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = unhex(bad[i].hex, b, sizeof(b));
        if (cl_lds_parse_com(b, n, &c) != bad[i].rc)
            fail_msg("case %zu (%s): %d", i, bad[i].hex, (int)cl_lds_parse_com(b, n, &c));
        assert_int_equal(c.n_tags, 0);
    }
    /* An empty list is a list; other objects inside are skipped. */
    n = unhex("600E 5F0104303130375C00 5F0200 0100", b, sizeof(b));
    assert_int_equal(cl_lds_parse_com(b, n, &c), CL_OK);
    assert_int_equal(c.present, 0);
    assert_int_equal(cl_lds_parse_com(b, n, NULL), CL_E_INVALID_ARG);
    assert_int_equal(cl_lds_parse_com(NULL, 0, &c), CL_E_TLV_TRUNCATED);
}

/* ---- the MRZ ------------------------------------------------------------ */

static void test_specimen_check_digits(void **state)
{
    const char *td3 = TD3_L2, *td1 = TD1_L1 TD1_L2;

    (void)state;
    assert_int_equal(cl_emrtd_check_digit(td3, 9), 6);
    assert_int_equal(cl_emrtd_check_digit(td3 + 13, 6), 2);
    assert_int_equal(cl_emrtd_check_digit(td3 + 21, 6), 9);
    assert_int_equal(cl_emrtd_check_digit(td3 + 28, 14), 1);
    assert_int_equal(cl_emrtd_check_digit(td1 + 5, 9), 7);
    assert_int_equal(cl_emrtd_check_digit(td1 + 30, 6), 2);
    assert_int_equal(cl_emrtd_check_digit(td1 + 38, 6), 9);
    assert_int_equal(cl_emrtd_check_digit("D23145890734", 12), 9);
}

static void test_mrz_td3(void **state)
{
    struct cl_mrz m;

    (void)state;
    assert_int_equal(cl_mrz_parse(TD3_L1 TD3_L2, 88, &m), CL_OK);
    assert_int_equal(m.format, CL_MRZ_TD3);
    assert_string_equal(m.raw, TD3_L1 TD3_L2);
    assert_string_equal(m.doc_code, "P");
    assert_string_equal(m.issuer, "UTO");
    assert_string_equal(m.doc_number, "L898902C3");
    assert_string_equal(m.nationality, "UTO");
    assert_string_equal(m.birth, "740812");
    assert_int_equal(m.sex, 'F');
    assert_string_equal(m.expiry, "120415");
    assert_string_equal(m.optional1, "ZE184226B");
    assert_string_equal(m.optional2, "");
    assert_string_equal(m.primary, "ERIKSSON");
    assert_string_equal(m.secondary, "ANNA MARIA");
    assert_prefixes_fail(run_mrz, (const uint8_t *)TD3_L1 TD3_L2, 88);

    /* An empty personal number: its check digit '<' or '0', nothing else. */
    assert_int_equal(cl_mrz_parse(TD3_L1 TD3E_L2, 88, &m), CL_OK);
    assert_string_equal(m.optional1, "");
    char mrz[89];
    memcpy(mrz, TD3_L1 TD3E_L2, 89);
    mrz[44 + 42] = '0';
    assert_int_equal(cl_mrz_parse(mrz, 88, &m), CL_OK);
    mrz[44 + 42] = '1';
    assert_int_equal(cl_mrz_parse(mrz, 88, &m), CL_E_CHECK_DIGIT);
    /* A personal number that is there needs a digit. */
    memcpy(mrz, TD3_L1 TD3_L2, 89);
    mrz[44 + 42] = '<';
    assert_int_equal(cl_mrz_parse(mrz, 88, &m), CL_E_CHECK_DIGIT);
    /* A passport number has no continuation: '<' in its check digit is wrong. */
    memcpy(mrz, TD3_L1 TD3_L2, 89);
    mrz[44 + 9] = '<';
    assert_int_equal(cl_mrz_parse(mrz, 88, &m), CL_E_CHECK_DIGIT);
    assert_string_equal(m.doc_number, "");
}

static void test_mrz_td1(void **state)
{
    struct cl_mrz m;

    (void)state;
    assert_int_equal(cl_mrz_parse(TD1_L1 TD1_L2 TD1_L3, 90, &m), CL_OK);
    assert_int_equal(m.format, CL_MRZ_TD1);
    assert_string_equal(m.raw, TD1_L1 TD1_L2 TD1_L3);
    assert_string_equal(m.doc_code, "I");
    assert_string_equal(m.issuer, "UTO");
    assert_string_equal(m.doc_number, "D23145890");
    assert_string_equal(m.optional1, "");
    assert_string_equal(m.birth, "740812");
    assert_int_equal(m.sex, 'F');
    assert_string_equal(m.expiry, "120415");
    assert_string_equal(m.nationality, "UTO");
    assert_string_equal(m.optional2, "");
    assert_string_equal(m.primary, "ERIKSSON");
    assert_string_equal(m.secondary, "ANNA MARIA");
    assert_prefixes_fail(run_mrz, (const uint8_t *)TD1_L1 TD1_L2 TD1_L3, 90);

    /* Part 5 §4.2.4: the long number. */
    assert_int_equal(cl_mrz_parse(TD1L_L1 TD1L_L2 TD1L_L3, 90, &m), CL_OK);
    assert_string_equal(m.doc_number, "D23145890734");
    assert_string_equal(m.optional1, "");
    assert_string_equal(m.birth, "340712");
    assert_int_equal(m.sex, 'M');
    assert_string_equal(m.expiry, "950712");
    assert_string_equal(m.primary, "STEVENSON");
    assert_string_equal(m.secondary, "PETER JOHN");
}

static void test_mrz_td1_chn(void **state)
{
    struct cl_mrz m;
    char mrz[91];

    (void)state;
    assert_int_equal(cl_mrz_parse(CHN_L1 CHN_L2 CHN_L3, 90, &m), CL_OK);
    assert_string_equal(m.issuer, "CHN");
    assert_string_equal(m.nationality, "CHN");
    assert_string_equal(m.doc_number, "C03005988");
    assert_string_equal(m.birth, "900101");
    assert_int_equal(m.sex, 'M');
    assert_string_equal(m.expiry, "300101");
    assert_string_equal(m.primary, "ZHANG");
    assert_string_equal(m.secondary, "SAN");

    /* An 11-character number, then a filler, then more optional data. */
    assert_int_equal(cl_mrz_parse(CHNL_L1 CHNL_L2 CHN_L3, 90, &m), CL_OK);
    assert_string_equal(m.doc_number, "C0300598812");
    assert_string_equal(m.optional1, "AB12");
    assert_string_equal(m.optional2, "OPT2<X"); /* inner fillers stay */
    assert_int_equal(m.sex, 'F');
    assert_prefixes_fail(run_mrz, (const uint8_t *)CHNL_L1 CHNL_L2 CHN_L3, 90);

    /* Its check digit (position 18) wrong. */
    memcpy(mrz, CHNL_L1 CHNL_L2 CHN_L3, 91);
    mrz[17] = '1';
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_E_CHECK_DIGIT);
    /* A letter where the check digit is. */
    mrz[17] = 'A';
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_E_CHECK_DIGIT);
    /* '<' instead of the check digit and nothing after it. */
    memcpy(mrz, CHN_L1 CHN_L2 CHN_L3, 91);
    mrz[14] = '<';
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_E_CHECK_DIGIT);
    /* A continuation of only a check digit: not the layout of §4.2.4. */
    mrz[15] = '7';
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_E_DATA_MALFORMED);
    /* A short principal part cannot continue. */
    memcpy(mrz, "I<CHNC0300598<<120<AB12<<<<<<<", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_E_DATA_MALFORMED);
    /* The longest: 9 + 14 characters and the check digit in the last position. */
    memcpy(mrz, "I<UTOD23145890<ABCDEFGHIJKLMN", 29);
    mrz[29] = (char)('0' + cl_emrtd_check_digit("D23145890ABCDEFGHIJKLMN", 23));
    memcpy(mrz + 30, "3407127M9507122UTO<<<<<<<<<<<", 29);
    {
        char comp[64];

        memcpy(comp, mrz + 5, 25);
        memcpy(comp + 25, mrz + 30, 7);
        memcpy(comp + 32, mrz + 38, 7);
        memcpy(comp + 39, mrz + 48, 11);
        mrz[59] = (char)('0' + cl_emrtd_check_digit(comp, 50));
    }
    memcpy(mrz + 60, TD1L_L3, 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.doc_number, "D23145890ABCDEFGHIJKLMN");
    assert_int_equal(strlen(m.doc_number), 23);
    assert_string_equal(m.optional1, "");
}

static void test_mrz_td2(void **state)
{
    struct cl_mrz m;

    (void)state;
    assert_int_equal(cl_mrz_parse(TD2_L1 TD2_L2, 72, &m), CL_OK);
    assert_int_equal(m.format, CL_MRZ_TD2);
    assert_string_equal(m.doc_code, "I");
    assert_string_equal(m.issuer, "UTO");
    assert_string_equal(m.doc_number, "D23145890");
    assert_string_equal(m.nationality, "UTO");
    assert_string_equal(m.birth, "740812");
    assert_int_equal(m.sex, 'F');
    assert_string_equal(m.expiry, "120415");
    assert_string_equal(m.optional1, "");
    assert_string_equal(m.primary, "ERIKSSON");
    assert_string_equal(m.secondary, "ANNA MARIA");
    assert_prefixes_fail(run_mrz, (const uint8_t *)TD2_L1 TD2_L2, 72);

    /* A long number in a TD2 (Part 6). */
    assert_int_equal(cl_mrz_parse(TD2_L1 TD2L_L2, 72, &m), CL_OK);
    assert_string_equal(m.doc_number, "D23145890734");
    assert_string_equal(m.optional1, "");
}

/* Each check digit in turn made wrong: CL_E_CHECK_DIGIT, and nothing left in the result. */
static void test_mrz_each_check_digit(void **state)
{
    static const struct {
        const char *mrz;
        size_t n;
        size_t pos[6];
    } cases[] = {
        { TD3_L1 TD3_L2, 88, { 53, 63, 71, 86, 87 } },
        { TD1_L1 TD1_L2 TD1_L3, 90, { 14, 36, 44, 59 } },
        { TD1L_L1 TD1L_L2 TD1L_L3, 90, { 18, 36, 44, 59 } },
        { CHN_L1 CHN_L2 CHN_L3, 90, { 14, 36, 44, 59 } },
        { TD2_L1 TD2_L2, 72, { 45, 55, 63, 71 } },
        { TD2_L1 TD2L_L2, 72, { 67, 55, 63, 71 } },
    };
    struct cl_mrz m;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t j = 0; j < 6 && cases[i].pos[j]; j++) {
            char mrz[CL_MRZ_MAX + 1];
            size_t p = cases[i].pos[j];

            memcpy(mrz, cases[i].mrz, cases[i].n);
            assert_true(mrz[p] >= '0' && mrz[p] <= '9');
            for (char d = '0'; d <= '9'; d++) {
                if (d == cases[i].mrz[p])
                    continue;
                mrz[p] = d;
                if (cl_mrz_parse(mrz, cases[i].n, &m) != CL_E_CHECK_DIGIT)
                    fail_msg("case %zu position %zu digit %c", i, p, d);
                assert_string_equal(m.doc_number, "");
                assert_string_equal(m.raw, "");
            }
        }
    }
}

static void test_mrz_bad(void **state)
{
    static const size_t lengths[] = { 0, 1, 30, 44, 71, 73, 87, 89, 91, 132 };
    char buf[200];
    struct cl_mrz m;

    (void)state;
    memset(buf, '<', sizeof(buf));
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
        assert_int_equal(cl_mrz_parse(buf, lengths[i], &m), CL_E_DATA_MALFORMED);
    /* Line breaks are not MRZ characters. */
    assert_int_equal(cl_mrz_parse(TD2_L1 "\n" TD2_L2, 73, &m), CL_E_DATA_MALFORMED);

    /* Each position given a character outside A-Z 0-9 <. */
    static const char bad_chars[] = { 'a', 'z', ' ', '\0', '\n', '>', '-', (char)0xC3, (char)0x7F };
    for (size_t pos = 0; pos < 88; pos++) {
        for (size_t k = 0; k < sizeof(bad_chars); k++) {
            memcpy(buf, TD3_L1 TD3_L2, 88);
            buf[pos] = bad_chars[k];
            assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);
        }
    }
    /* Fields whose characters are MRZ characters but not the field's. */
    memcpy(buf, TD3_L1 TD3_L2, 88);
    buf[44 + 20] = 'X'; /* sex */
    assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);
    memcpy(buf, TD3_L1 TD3_L2, 88);
    buf[44 + 14] = 'A'; /* a letter in the birth date */
    assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);
    memcpy(buf, TD3_L1 TD3_L2, 88);
    buf[0] = '1'; /* document code */
    assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);
    memcpy(buf, TD3_L1 TD3_L2, 88);
    buf[3] = '7'; /* issuing State */
    assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);
    memcpy(buf, TD3_L1 TD3_L2, 88);
    buf[44 + 11] = '0'; /* nationality */
    assert_int_equal(cl_mrz_parse(buf, 88, &m), CL_E_DATA_MALFORMED);

    /* Unknown parts of a date are fillers; the check digit counts them as 0. */
    memcpy(buf, TD2_L1 TD2_L2, 72);
    memcpy(buf + 36 + 13, "74<<<<", 6);
    buf[36 + 19] = (char)('0' + cl_emrtd_check_digit("74<<<<", 6));
    {
        char comp[31];

        memcpy(comp, buf + 36, 10);
        memcpy(comp + 10, buf + 36 + 13, 7);
        memcpy(comp + 17, buf + 36 + 21, 14);
        buf[36 + 35] = (char)('0' + cl_emrtd_check_digit(comp, 31));
    }
    assert_int_equal(cl_mrz_parse(buf, 72, &m), CL_OK);
    assert_string_equal(m.birth, "74<<<<");

    assert_int_equal(cl_mrz_parse(NULL, 88, &m), CL_E_INVALID_ARG);
    assert_int_equal(cl_mrz_parse(TD3_L1 TD3_L2, 88, NULL), CL_E_INVALID_ARG);
}

static void test_mrz_names(void **state)
{
    struct cl_mrz m;
    char mrz[91];

    (void)state;
    /* Several words in each part; a name with a single part; fillers runs. */
    memcpy(mrz, TD1_L1 TD1_L2, 60);
    memcpy(mrz + 60, "VAN<DER<BERG<<JAN<<PIETER<<<<<", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.primary, "VAN DER BERG");
    assert_string_equal(m.secondary, "JAN PIETER");
    memcpy(mrz + 60, "MADONNA<<<<<<<<<<<<<<<<<<<<<<<", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.primary, "MADONNA");
    assert_string_equal(m.secondary, "");
    memcpy(mrz + 60, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.primary, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCD");
    memcpy(mrz + 60, "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.primary, "");
    assert_string_equal(m.secondary, "");
    memcpy(mrz + 60, "A<<B<<<<<<<<<<<<<<<<<<<<<<<<<C", 30);
    assert_int_equal(cl_mrz_parse(mrz, 90, &m), CL_OK);
    assert_string_equal(m.primary, "A");
    assert_string_equal(m.secondary, "B C");
}

static size_t wrap_dg1(const char *mrz, size_t n, uint8_t *out, size_t cap)
{
    struct hm_writer w = hm_writer_make(out, cap);

    cl_tlv_put_header(&w, CL_LDS_TAG_DG1, cl_tlv_header_size(0x5F1F, n) + n);
    cl_tlv_put(&w, 0x5F1F, mrz, n);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

static void test_dg1(void **state)
{
    uint8_t b[128];
    size_t n;
    struct cl_mrz m;

    (void)state;
    n = wrap_dg1(TD3_L1 TD3_L2, 88, b, sizeof(b));
    assert_int_equal(n, 93);
    assert_int_equal(b[0], 0x61);
    assert_int_equal(b[1], 0x5B);
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_OK);
    assert_string_equal(m.doc_number, "L898902C3");
    assert_prefixes_fail(run_dg1, b, n);
    mutate_each_byte(run_dg1, b, n);

    n = wrap_dg1(TD1_L1 TD1_L2 TD1_L3, 90, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_OK);
    assert_int_equal(m.format, CL_MRZ_TD1);
    assert_prefixes_fail(run_dg1, b, n);
    n = wrap_dg1(TD2_L1 TD2_L2, 72, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_OK);
    assert_int_equal(m.format, CL_MRZ_TD2);

    /* The wrong tags, a check digit, trailing bytes inside and out. */
    n = wrap_dg1(TD3_L1 TD3_L2, 88, b, sizeof(b));
    b[0] = 0x75;
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_E_DATA_MALFORMED);
    b[0] = 0x61;
    b[3] = 0x1E;
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_E_DATA_MALFORMED);
    b[3] = 0x1F;
    b[5 + 44 + 9] = '0';
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_E_CHECK_DIGIT);
    b[5 + 44 + 9] = '6';
    b[n] = 0;
    assert_int_equal(cl_lds_parse_dg1(b, n + 1, &m), CL_E_TLV_TRAILING);
    b[1]++;
    assert_int_equal(cl_lds_parse_dg1(b, n + 1, &m), CL_E_TLV_TRAILING);
    /* An MRZ of another length. */
    n = wrap_dg1(TD3_L1 TD3_L2, 87, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg1(b, n, &m), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_lds_parse_dg1(b, n, NULL), CL_E_INVALID_ARG);
}

/* ---- DG2 ----------------------------------------------------------------- */

static const uint8_t jpeg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',  'F',  'I',  'F',  0x00,
                                0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9 };
static const uint8_t jp2[] = { 0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87,
                               0x0A, 0x00, 0x00, 0x00, 0x14, 0x66, 0x74, 0x79, 0x70, 0x6A, 0x70,
                               0x32, 0x20, 0x00, 0x00, 0x00, 0x00, 0x6A, 0x70, 0x32, 0x20 };
static const uint8_t j2k[] = { 0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00, 0xFF, 0xD9 };

struct dg2_spec {
    uint8_t data_type;
    const uint8_t *img;
    size_t img_len;
    uint16_t points;
    int templates;         /* 7F60 templates written */
    int count;             /* the count announced (02 01 count) */
    int faces;             /* faces in the facial record; each is the same face */
    long record_len_delta; /* added to the record length field */
    long block_len_delta;  /* added to the first face block length field */
    uint32_t bdb_tag;      /* 5F2E or 7F2E */
    const char *version;   /* "010" */
    bool no_header;        /* leave A1 out */
};

static void put_face(struct hm_writer *w, const struct dg2_spec *s, long delta)
{
    uint32_t block = (uint32_t)(20 + 8 * s->points + 12 + s->img_len);

    hm_writer_be32(w, (uint32_t)((long)block + delta));
    hm_writer_be16(w, s->points);
    hm_writer_u8(w, 2);      /* gender: female */
    hm_writer_u8(w, 1);      /* eye colour */
    hm_writer_u8(w, 1);      /* hair colour */
    hm_writer_fill(w, 0, 3); /* feature mask */
    hm_writer_be16(w, 0);    /* expression */
    hm_writer_fill(w, 0, 6); /* pose angles and their uncertainty */
    for (uint16_t i = 0; i < s->points; i++) {
        hm_writer_u8(w, 1);
        hm_writer_u8(w, (uint8_t)i);
        hm_writer_be16(w, 100);
        hm_writer_be16(w, 120);
        hm_writer_be16(w, 0);
    }
    hm_writer_u8(w, 1); /* full frontal */
    hm_writer_u8(w, s->data_type);
    hm_writer_be16(w, 240);
    hm_writer_be16(w, 320);
    hm_writer_u8(w, 1); /* 24-bit RGB */
    hm_writer_u8(w, 2); /* static photo, digital camera */
    hm_writer_be16(w, 0);
    hm_writer_be16(w, 0);
    hm_writer_bytes(w, s->img, s->img_len);
}

static size_t build_dg2(const struct dg2_spec *s, uint8_t *out, size_t cap)
{
    static const uint8_t bht[] = { 0x80, 0x02, 0x01, 0x01, 0x81, 0x01, 0x02, 0x87,
                                   0x02, 0x01, 0x01, 0x88, 0x02, 0x00, 0x08 };
    uint8_t rec[4096], bit[4200], group[4 * 4300];
    size_t face_len = 20 + 8 * (size_t)s->points + 12 + s->img_len;
    struct hm_writer w = hm_writer_make(rec, sizeof(rec));
    struct hm_writer b, g, d;

    hm_writer_bytes(&w, "FAC", 4);
    hm_writer_bytes(&w, s->version ? s->version : "010", 4);
    hm_writer_be32(&w, (uint32_t)((long)(14 + face_len * (size_t)s->faces) + s->record_len_delta));
    hm_writer_be16(&w, (uint16_t)s->faces);
    for (int i = 0; i < s->faces; i++)
        put_face(&w, s, i == 0 ? s->block_len_delta : 0);
    assert_true(hm_writer_ok(&w));

    b = hm_writer_make(bit, sizeof(bit));
    if (!s->no_header)
        cl_tlv_put(&b, 0xA1, bht, sizeof(bht));
    cl_tlv_put(&b, s->bdb_tag ? s->bdb_tag : 0x5F2E, rec, w.len);
    assert_true(hm_writer_ok(&b));

    g = hm_writer_make(group, sizeof(group));
    hm_writer_bytes(&g, "\x02\x01", 2);
    hm_writer_u8(&g, (uint8_t)s->count);
    for (int i = 0; i < s->templates; i++)
        cl_tlv_put(&g, 0x7F60, bit, b.len);
    assert_true(hm_writer_ok(&g));

    d = hm_writer_make(out, cap);
    cl_tlv_put_header(&d, CL_LDS_TAG_DG2, cl_tlv_header_size(0x7F61, g.len) + g.len);
    cl_tlv_put(&d, 0x7F61, group, g.len);
    assert_true(hm_writer_ok(&d));
    return d.len;
}

static struct dg2_spec spec_jpeg(void)
{
    struct dg2_spec s = { .data_type = 0,
                          .img = jpeg,
                          .img_len = sizeof(jpeg),
                          .points = 0,
                          .templates = 1,
                          .count = 1,
                          .faces = 1 };
    return s;
}

static void test_dg2(void **state)
{
    static uint8_t b[20000];
    struct dg2_spec s = spec_jpeg();
    struct cl_face f;
    size_t n;

    (void)state;
    n = build_dg2(&s, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_OK);
    assert_int_equal(f.format, CL_FACE_JPEG);
    assert_int_equal(f.image_len, sizeof(jpeg));
    assert_memory_equal(f.image, jpeg, sizeof(jpeg));
    assert_true(f.image > b && f.image + f.image_len == b + n);
    assert_int_equal(f.width, 240);
    assert_int_equal(f.height, 320);
    assert_int_equal(f.gender, 2);
    assert_int_equal(f.image_type, 1);
    assert_int_equal(f.n_faces, 1);
    assert_prefixes_fail(run_dg2, b, n);
    mutate_each_byte(run_dg2, b, n);

    /* JPEG 2000: the JP2 signature box, or a bare codestream; 7F2E; feature points. */
    s.data_type = 1;
    s.img = jp2;
    s.img_len = sizeof(jp2);
    s.points = 3;
    s.bdb_tag = 0x7F2E;
    n = build_dg2(&s, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_OK);
    assert_int_equal(f.format, CL_FACE_JPEG2000);
    assert_int_equal(f.image_len, sizeof(jp2));
    assert_memory_equal(f.image, jp2, sizeof(jp2));
    assert_prefixes_fail(run_dg2, b, n);
    s.img = j2k;
    s.img_len = sizeof(j2k);
    n = build_dg2(&s, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_OK);
    assert_int_equal(f.format, CL_FACE_JPEG2000);
    assert_memory_equal(f.image, j2k, sizeof(j2k));

    /* Two templates, two faces in a record. */
    s = spec_jpeg();
    s.templates = s.count = 2;
    s.faces = 2;
    n = build_dg2(&s, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_OK);
    assert_int_equal(f.n_faces, 2);
    assert_prefixes_fail(run_dg2, b, n);

    /* A large image (a long-form length) is fine. */
    {
        static uint8_t big[3000];

        memset(big, 0x55, sizeof(big));
        memcpy(big, jpeg, 4);
        s = spec_jpeg();
        s.img = big;
        s.img_len = sizeof(big);
        n = build_dg2(&s, b, sizeof(b));
        assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_OK);
        assert_int_equal(f.image_len, sizeof(big));
    }
    assert_int_equal(cl_lds_parse_dg2(b, n, NULL), CL_E_INVALID_ARG);
}

static void test_dg2_bad(void **state)
{
    static uint8_t b[20000];
    static const uint8_t not_jpeg[] = { 0xFF, 0xD8, 0xFE, 0x00 };
    static const uint8_t short_jpeg[] = { 0xFF, 0xD8 };
    static const uint8_t bad_jp2[] = { 0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20,
                                       0x20, 0x0D, 0x0A, 0x87, 0x0B, 0x00 };
    struct dg2_spec s;
    struct cl_face f;
    size_t n;

    (void)state;
#define EXPECT_DG2(rc_)                                    \
    do {                                                   \
        n = build_dg2(&s, b, sizeof(b));                   \
        assert_int_equal(cl_lds_parse_dg2(b, n, &f), rc_); \
        assert_null(f.image);                              \
    } while (0)

    /* Magic bytes that disagree with the declared type, or none at all. */
    s = spec_jpeg();
    s.data_type = 1;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.img = jp2;
    s.img_len = sizeof(jp2);
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s.img = not_jpeg;
    s.img_len = sizeof(not_jpeg);
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s.img = short_jpeg;
    s.img_len = sizeof(short_jpeg);
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s.data_type = 1;
    s.img = bad_jp2;
    s.img_len = sizeof(bad_jp2);
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.data_type = 2; /* neither JPEG nor JPEG 2000 */
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.img_len = 0; /* no image at all */
    EXPECT_DG2(CL_E_DATA_MALFORMED);

    /* Lengths that disagree. */
    for (long d = -3; d <= 3; d++) {
        if (d == 0)
            continue;
        s = spec_jpeg();
        s.record_len_delta = d;
        EXPECT_DG2(CL_E_DATA_MALFORMED);
        s = spec_jpeg();
        s.block_len_delta = d;
        EXPECT_DG2(CL_E_DATA_MALFORMED);
    }
    s = spec_jpeg();
    s.block_len_delta = 0x7FFFFFF0L;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.block_len_delta = -(long)(20 + 12 + sizeof(jpeg)) + 2; /* a block length of 2 */
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    /* Feature points that eat the image. */
    s = spec_jpeg();
    s.block_len_delta = -(long)sizeof(jpeg);
    EXPECT_DG2(CL_E_DATA_MALFORMED);

    /* Counts that disagree: templates, faces. */
    s = spec_jpeg();
    s.count = 2;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.templates = 2;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.count = 0;
    s.templates = 0;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.count = 0xFF; /* a negative INTEGER */
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.faces = 0;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.faces = 2;
    s.record_len_delta = -(long)(20 + 12 + sizeof(jpeg)); /* says one face, holds two */
    EXPECT_DG2(CL_E_DATA_MALFORMED);

    /* Another record format, another version, the header or the data missing. */
    s = spec_jpeg();
    s.version = "030";
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.bdb_tag = 0x5F2F;
    EXPECT_DG2(CL_E_DATA_MALFORMED);
    s = spec_jpeg();
    s.no_header = true;
    EXPECT_DG2(CL_E_DATA_MALFORMED);

    /* Hand-made: the wrong outer tags; a second face that is broken. */
    s = spec_jpeg();
    n = build_dg2(&s, b, sizeof(b));
    b[0] = 0x76;
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_E_DATA_MALFORMED);
    b[0] = 0x75;
    b[3] = 0x62;
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_E_DATA_MALFORMED);
    b[3] = 0x61;
    b[n] = 0;
    assert_int_equal(cl_lds_parse_dg2(b, n + 1, &f), CL_E_TLV_TRAILING);
    s = spec_jpeg();
    s.templates = s.count = 2;
    n = build_dg2(&s, b, sizeof(b));
    b[n - 1 - sizeof(jpeg) + 2] = 0x00; /* the last template's JPEG magic */
    assert_int_equal(cl_lds_parse_dg2(b, n, &f), CL_E_DATA_MALFORMED);
    assert_null(f.image);
    {
        uint8_t raw[64];

        n = unhex("7509 7F6106 020101 7F6000", raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_DATA_MALFORMED);
        n = unhex("7508 7F6105 020101 0000", raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_DATA_MALFORMED);
        n = unhex("7503 7F6100", raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_DATA_MALFORMED);
        n = unhex("7509 7F6106 02020001 3000", raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_DATA_MALFORMED);
        n = unhex("750E 7F610B 020101 7F6005 A100 5F2E00", raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_DATA_MALFORMED);
        /* An A1 whose contents are not TLV. */
        n = unhex("7523 7F6120 020101 7F601A A103 800501 5F2E12"
                  "46414300 30313000 00000012 0001 00000000",
                  raw, sizeof(raw));
        assert_int_equal(cl_lds_parse_dg2(raw, n, &f), CL_E_TLV_TRUNCATED);
    }
#undef EXPECT_DG2
}

/* ---- DG11 ------------------------------------------------------------------ */

/* 6B { 5C list, then the objects given as hex }. */
static size_t build_dg11(const char *objects_hex, uint8_t *out, size_t cap)
{
    uint8_t inner[1024];
    size_t n = unhex(objects_hex, inner, sizeof(inner));
    struct hm_writer w = hm_writer_make(out, cap);
    static const uint8_t list[] = { 0x5F, 0x0E, 0x5F, 0x10, 0x5F, 0x2B };

    cl_tlv_put_header(&w, CL_LDS_TAG_DG11, 2 + sizeof(list) + n);
    cl_tlv_put(&w, 0x5C, list, sizeof(list));
    hm_writer_bytes(&w, inner, n);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

/* A text object of tag 5F0E holding hex bytes. */
static size_t dg11_name(const char *text_hex, uint8_t *out, size_t cap)
{
    uint8_t t[512], obj[600];
    size_t tn = unhex(text_hex, t, sizeof(t));
    struct hm_writer w = hm_writer_make(obj, sizeof(obj));
    char hex[1300];

    cl_tlv_put(&w, 0x5F0E, t, tn);
    assert_true(hm_writer_ok(&w));
    assert_true(hm_hex_encode(obj, w.len, hex, sizeof(hex)));
    return build_dg11(hex, out, cap);
}

static void test_dg11(void **state)
{
    uint8_t b[1200];
    size_t n;
    struct cl_dg11 d;

    (void)state;
    /* 张三 (E5 BC A0 E4 B8 89), a citizen ID number, birth date, place, address. */
    n = build_dg11("5F0E06 E5BCA0E4B889"
                   "5F1012 3131303130353139343931323331303032 58"
                   "5F2B08 3139343931323331"
                   "5F1106 E58C97E4BAAC"
                   "5F420E 4245494A494E473C3C4348494E41"
                   "A0085F0F05 4F54484552" /* other names: skipped */
                   "5F1203 313233",        /* telephone: skipped */
                   b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_OK);
    assert_true(d.has_name && d.has_personal_number && d.has_full_birth);
    assert_true(d.has_place_of_birth && d.has_address);
    assert_string_equal(d.full_name, "\xE5\xBC\xA0\xE4\xB8\x89");
    assert_string_equal(d.full_name, "张三");
    assert_string_equal(d.personal_number, "11010519491231002X");
    assert_int_equal(cl_cn_id_check(d.personal_number, strlen(d.personal_number)), CL_OK);
    assert_string_equal(d.full_birth, "19491231");
    assert_string_equal(d.place_of_birth, "北京");
    assert_string_equal(d.address, "BEIJING<<CHINA");
    assert_prefixes_fail(run_dg11, b, n);
    mutate_each_byte(run_dg11, b, n);

    /* Only the list; the MRZ style name; 4-byte UTF-8. */
    n = build_dg11("", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_OK);
    assert_false(d.has_name || d.has_personal_number || d.has_full_birth);
    assert_string_equal(d.full_name, "");
    n = dg11_name("5A48414E473C3C53414E", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_OK);
    assert_string_equal(d.full_name, "ZHANG<<SAN");
    n = dg11_name("F0A0808B 20 F48FBFBF 20 EFBFBF 20 C2A0", b, sizeof(b)); /* U+2000B, U+10FFFF */
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_OK);

    /* Invalid UTF-8 and control characters. */
    static const char *bad_text[] = {
        "C080",       /* overlong NUL */
        "C1BF",       /* overlong */
        "E08080",     /* overlong 3-byte */
        "E09FBF",     /* overlong 3-byte, highest */
        "F08FBFBF",   /* overlong 4-byte */
        "EDA080",     /* surrogate U+D800 */
        "EDBFBF",     /* surrogate U+DFFF */
        "F4908080",   /* U+110000 */
        "F5808080",   /* beyond */
        "FF",         /* never in UTF-8 */
        "FE",         /* nor this */
        "80",         /* a lone continuation byte */
        "41BF",       /* one after a letter */
        "E5BC",       /* cut short at the end */
        "E5BC41",     /* cut short in the middle */
        "F0A080",     /* a 4-byte form cut short */
        "C2",         /* a 2-byte form cut short */
        "414200",     /* NUL */
        "4101",       /* C0 control */
        "410A42",     /* newline */
        "411B5B326A", /* escape */
        "417F",       /* DEL */
        "C285",       /* C1 control (NEL) */
        "C29B",       /* C1 CSI */
    };
    for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
        n = dg11_name(bad_text[i], b, sizeof(b));
        if (cl_lds_parse_dg11(b, n, &d) != CL_E_DATA_MALFORMED)
            fail_msg("text %s was accepted", bad_text[i]);
        assert_false(d.has_name);
    }

    /* 127 bytes fit the 128-byte slot, 128 do not (no truncation). */
    {
        char hex[300];

        memset(hex, '4', 254);
        for (size_t i = 1; i < 254; i += 2)
            hex[i] = '1';
        hex[254] = '\0';
        n = dg11_name(hex, b, sizeof(b));
        assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_OK);
        assert_int_equal(strlen(d.full_name), 127);
        hex[254] = '4';
        hex[255] = '1';
        hex[256] = '\0';
        n = dg11_name(hex, b, sizeof(b));
        assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_E_DATA_MALFORMED);
        /* A 3-byte character across the end of the slot. */
        memcpy(hex + 250, "E5BCA0", 7);
        n = dg11_name(hex, b, sizeof(b));
        assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_E_DATA_MALFORMED);
    }

    /* The full date of birth: 8 digits only. */
    static const char *bad_objects[] = {
        "5F2B07 31393439313233",     /* 7 digits */
        "5F2B09 313934393132333131", /* 9 */
        "5F2B08 313934393132334A",   /* a letter */
        "5F2B04 19491231",           /* BCD */
        "5F2B00",                    /* empty */
        "5F0E01 41 5F0E01 42",       /* twice */
        "5F1001 41 5F1001 42",       /* the personal number twice */
        "5C00",                      /* a second list */
        "5F0E05 4142",               /* cut short */
        "5F1001 0A",                 /* a control character */
        "5F4201 80",                 /* not UTF-8 */
        "5F1102 C0AF",               /* an overlong slash */
    };
    for (size_t i = 0; i < sizeof(bad_objects) / sizeof(bad_objects[0]); i++) {
        cl_rc rc;

        n = build_dg11(bad_objects[i], b, sizeof(b));
        rc = cl_lds_parse_dg11(b, n, &d);
        if (rc != CL_E_DATA_MALFORMED && rc != CL_E_TLV_TRUNCATED)
            fail_msg("object %s: %d", bad_objects[i], (int)rc);
        assert_false(d.has_name || d.has_personal_number || d.has_full_birth);
    }
    /* No tag list; another tag. */
    n = unhex("6B08 5F0E05 4A4F484E53", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_E_DATA_MALFORMED);
    n = unhex("6C02 5C00", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg11(b, n, &d), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_lds_parse_dg11(b, n, NULL), CL_E_INVALID_ARG);
}

/* ---- DG14 ------------------------------------------------------------------ */

#define AA_OID   "0606 678108010105"
#define ECDSA(x) "060A 04007F0007010104010" x
#define PACE_INFO \
    "3012 060A 04007F00070202040202 020102 020112" /* id-PACE-ECDH-GM-AES-CBC-CMAC-128 */
#define CA_INFO    "3012 060A 04007F00070202030202 020101 020100" /* id-CA-ECDH-AES-CBC-CMAC-128 */
#define CA_PK_INFO "3011 0609 04007F000702020102 3004 0602 2A03"  /* id-PK-ECDH: counted only */

/* 6E { 31 { objects } }. */
static size_t build_dg14(const char *infos_hex, uint8_t *out, size_t cap)
{
    uint8_t inner[1024];
    size_t n = unhex(infos_hex, inner, sizeof(inner));
    struct hm_writer w = hm_writer_make(out, cap);

    cl_tlv_put_header(&w, CL_LDS_TAG_DG14, cl_tlv_header_size(0x31, n) + n);
    cl_tlv_put(&w, 0x31, inner, n);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

static void test_dg14(void **state)
{
    uint8_t b[1200];
    size_t n;
    struct cl_dg14 d;

    (void)state;
    n = build_dg14("3017" AA_OID "020101" ECDSA("3") PACE_INFO CA_INFO CA_PK_INFO, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_int_equal(d.n_infos, 4);
    assert_true(d.has_aa_info);
    assert_int_equal(d.aa_hash, CL_HASH_SHA256);
    assert_true(d.has_pace);
    assert_true(d.has_chip_auth);
    assert_prefixes_fail(run_dg14, b, n);
    mutate_each_byte(run_dg14, b, n);

    static const struct {
        const char *alg;
        enum cl_lds_hash h;
    } algs[] = {
        { ECDSA("1"), CL_HASH_SHA1 },   { ECDSA("2"), CL_HASH_SHA224 },
        { ECDSA("3"), CL_HASH_SHA256 }, { ECDSA("4"), CL_HASH_SHA384 },
        { ECDSA("5"), CL_HASH_SHA512 },
    };
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        char hex[128];

        snprintf(hex, sizeof(hex), "3017 %s 020101 %s", AA_OID, algs[i].alg);
        n = build_dg14(hex, b, sizeof(b));
        assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
        assert_int_equal(d.aa_hash, algs[i].h);
        assert_int_equal(d.n_infos, 1);
        assert_false(d.has_pace || d.has_chip_auth);
    }

    /* No signature algorithm: RSA Active Authentication. */
    n = build_dg14("300B" AA_OID "020101", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_true(d.has_aa_info);
    assert_int_equal(d.aa_hash, CL_HASH_NONE);
    assert_prefixes_fail(run_dg14, b, n);
    /* Only PACE; nothing at all; an unknown protocol. */
    n = build_dg14(PACE_INFO, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_true(d.has_pace);
    assert_false(d.has_aa_info || d.has_chip_auth);
    n = build_dg14("", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_int_equal(d.n_infos, 0);
    n = build_dg14("3008 0603 2A0304 0401 00" CA_PK_INFO, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_int_equal(d.n_infos, 2);
    assert_false(d.has_aa_info || d.has_pace || d.has_chip_auth);
    /* A prefix of id-CA is not id-CA. */
    n = build_dg14("300C 0607 04007F00070202 020101", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_OK);
    assert_false(d.has_chip_auth);

    static const char *bad[] = {
        "3017" AA_OID "020101" ECDSA("6"),                  /* an unknown hash */
        "3017" AA_OID "020101" ECDSA("0"),                  /* nor is .0 */
        "3018" AA_OID "020101 060B 04007F0007010104010301", /* longer OID */
        "3016" AA_OID "020101 0609 04007F000701010401",     /* the arc itself */
        "3017" AA_OID "020101 060A 2A864886F70D01010B01",   /* not ecdsa-plain */
        "300E" AA_OID "020101 020101",                      /* not an OID */
        "300E" AA_OID "020101 0601 80",                     /* a broken OID */
        "300B" AA_OID "020102",                             /* version 2 */
        "300B" AA_OID "020100",                             /* version 0 */
        "300C" AA_OID "02020001",                           /* not minimal */
        "300B" AA_OID "040101",                             /* not an INTEGER */
        "3008" AA_OID,                                      /* no version */
        "300B" AA_OID "020101"                              /* two AA infos */
        "300B" AA_OID "020101",
        "3019" AA_OID "020101" ECDSA("3") "0500", /* four elements */
        "3000",                                   /* empty */
        "3003 020101",                            /* no OID */
        "3004 0600 0500",                         /* an empty OID */
        "3005 0602 2A80 05",                      /* a broken OID */
        "3006 0602 802A 0500",                    /* an arc with a leading 80 */
        "3103 060100",                            /* not a SEQUENCE */
        "0500",                                   /* nor this */
        "3004 06022A03",                          /* no requiredData */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cl_rc rc;

        n = build_dg14(bad[i], b, sizeof(b));
        rc = cl_lds_parse_dg14(b, n, &d);
        if (rc != CL_E_DATA_MALFORMED)
            fail_msg("case %zu (%s): %d", i, bad[i], (int)rc);
        assert_false(d.has_aa_info);
        assert_int_equal(d.n_infos, 0);
    }
    /* Not a SET inside; something after the SET; the wrong tag. */
    n = unhex("6E05 3003 020101", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_E_DATA_MALFORMED);
    n = unhex("6E04 3100 0500", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_E_TLV_TRAILING);
    n = unhex("6F02 3100", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_E_DATA_MALFORMED);
    n = unhex("6E04 3102 3005", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg14(b, n, &d), CL_E_TLV_TRUNCATED);
    assert_int_equal(cl_lds_parse_dg14(b, n, NULL), CL_E_INVALID_ARG);
}

/* ---- DG15 and EF.SOD ------------------------------------------------------ */

/* An EC P-256 SubjectPublicKeyInfo (the point is not checked here). */
#define SPKI_EC                                                        \
    "3059 3013 0607 2A8648CE3D0201 0608 2A8648CE3D030107 0342 0004"    \
    "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296" \
    "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"

static void test_dg15(void **state)
{
    uint8_t b[300];
    const uint8_t *spki;
    size_t n, len;

    (void)state;
    n = unhex("6F5B" SPKI_EC, b, sizeof(b));
    assert_int_equal(n, 93);
    assert_int_equal(cl_lds_parse_dg15(b, n, &spki, &len), CL_OK);
    assert_ptr_equal(spki, b + 2);
    assert_int_equal(len, 91);
    assert_prefixes_fail(run_dg15, b, n);
    mutate_each_byte(run_dg15, b, n);
    /* A long-form length (an RSA key would have one). */
    n = unhex("6F815B" SPKI_EC, b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg15(b, n, &spki, &len), CL_OK);
    assert_ptr_equal(spki, b + 3);

    static const struct {
        const char *hex;
        cl_rc rc;
    } bad[] = {
        { "6E5B" SPKI_EC, CL_E_DATA_MALFORMED },                   /* DG14's tag */
        { "6F5C" SPKI_EC "00", CL_E_TLV_TRAILING },                /* something after the SPKI */
        { "6F5D" SPKI_EC "0500", CL_E_TLV_TRAILING },              /* a NULL after it */
        { "6F04 3102 0500", CL_E_DATA_MALFORMED },                 /* a SET */
        { "6F02 3000", CL_E_DATA_MALFORMED },                      /* empty */
        { "6F04 3002 3000", CL_E_DATA_MALFORMED },                 /* no key */
        { "6F07 3005 3000 030100", CL_E_DATA_MALFORMED },          /* no algorithm, empty key */
        { "6F08 3006 3000 03020000", CL_E_DATA_MALFORMED },        /* an empty algorithm */
        { "6F0B 3009 3003 060100 03020800", CL_E_DATA_MALFORMED }, /* 8 unused bits */
        { "6F0B 3009 3003 060100 04020000", CL_E_DATA_MALFORMED }, /* not a BIT STRING */
        { "6F0D 300B 3003 060100 03020000 0500", CL_E_DATA_MALFORMED }, /* three elements */
        { "6F0B 3009 3003 060100 03030000", CL_E_TLV_TRUNCATED },
        { "", CL_E_TLV_TRUNCATED },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cl_rc rc;

        n = unhex(bad[i].hex, b, sizeof(b));
        rc = cl_lds_parse_dg15(b, n, &spki, &len);
        if (rc != bad[i].rc)
            fail_msg("case %zu: %d", i, (int)rc);
        assert_null(spki);
        assert_int_equal(len, 0);
    }
    n = unhex("6F0B 3009 3003 060100 03020000", b, sizeof(b));
    assert_int_equal(cl_lds_parse_dg15(b, n, &spki, &len), CL_OK);
    assert_int_equal(cl_lds_parse_dg15(b, n, NULL, &len), CL_E_INVALID_ARG);
    assert_int_equal(cl_lds_parse_dg15(b, n, &spki, NULL), CL_E_INVALID_ARG);
}

static void test_sod(void **state)
{
    /* 77 { ContentInfo { OID signedData, [0] { ... } } }, the content abridged. */
    static const char sod_hex[] = "7716 3014 0609 2A864886F70D010702 A007 3005 020103 3100";
    uint8_t b[300];
    const uint8_t *cms;
    size_t n, len;

    (void)state;
    n = unhex(sod_hex, b, sizeof(b));
    assert_int_equal(cl_lds_parse_sod(b, n, &cms, &len), CL_OK);
    assert_ptr_equal(cms, b + 2);
    assert_int_equal(len, 22);
    assert_prefixes_fail(run_sod, b, n);
    mutate_each_byte(run_sod, b, n);
    /* Long-form lengths, as any real EF.SOD has. */
    n = unhex("7782001A 30820016 0609 2A864886F70D010702 A009 3007 020103 3100 3100", b, sizeof(b));
    assert_int_equal(cl_lds_parse_sod(b, n, &cms, &len), CL_OK);
    assert_ptr_equal(cms, b + 4);
    assert_int_equal(len, 26);

    static const struct {
        const char *hex;
        cl_rc rc;
    } bad[] = {
        { "7602 3000", CL_E_DATA_MALFORMED },
        { "7702 3100", CL_E_DATA_MALFORMED },
        { "7702 3000", CL_E_DATA_MALFORMED },
        { "7703 300200", CL_E_TLV_TRUNCATED },
        { "7705 3001 00 0500", CL_E_TLV_TRAILING },
        { "7703 3001 00 00", CL_E_TLV_TRAILING },
        { "7700", CL_E_TLV_TRUNCATED },
        { "77", CL_E_TLV_TRUNCATED },
        { "778500000000", CL_E_TLV_BAD_LENGTH },
        { "7780 3000 0000", CL_E_TLV_BAD_LENGTH },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cl_rc rc;

        n = unhex(bad[i].hex, b, sizeof(b));
        rc = cl_lds_parse_sod(b, n, &cms, &len);
        if (rc != bad[i].rc)
            fail_msg("case %zu: %d", i, (int)rc);
        assert_null(cms);
    }
    assert_int_equal(cl_lds_parse_sod(b, n, NULL, &len), CL_E_INVALID_ARG);
    assert_int_equal(cl_lds_parse_sod(b, n, &cms, NULL), CL_E_INVALID_ARG);
}

/* ---- the LDS Security Object ------------------------------------------- */

#define ALG_SHA256      "300D 0609 608648016503040201 0500"
#define ALG_SHA256_BARE "300B 0609 608648016503040201"
#define ALG_SHA1        "3009 0605 2B0E03021A 0500"
#define ALG_SHA224      "300B 0609 608648016503040204"
#define ALG_SHA384      "300B 0609 608648016503040202"
#define ALG_SHA512      "300B 0609 608648016503040203"

/* A DataGroupHash of data group dg whose value is len bytes of dg. */
static void put_dg_hash(struct hm_writer *w, int dg, size_t len)
{
    uint8_t h[80];

    memset(h, dg, sizeof(h));
    cl_tlv_put_header(w, 0x30, 3 + cl_tlv_header_size(0x04, len) + len);
    hm_writer_bytes(w, "\x02\x01", 2);
    hm_writer_u8(w, (uint8_t)dg);
    cl_tlv_put(w, 0x04, h, len);
}

/*
 * LDSSecurityObject { version, alg_hex, hashes of dgs[0..ndg) (hash_len bytes each), then
 * tail_hex (the ldsVersionInfo, or anything) }.
 */
static size_t build_lso(int version, const char *alg_hex, const int *dgs, size_t ndg,
                        size_t hash_len, const char *tail_hex, uint8_t *out, size_t cap)
{
    uint8_t alg[64], tail[64], hashes[2048], body[2400];
    size_t alg_n = unhex(alg_hex, alg, sizeof(alg));
    size_t tail_n = unhex(tail_hex, tail, sizeof(tail));
    struct hm_writer h = hm_writer_make(hashes, sizeof(hashes));
    struct hm_writer b = hm_writer_make(body, sizeof(body));
    struct hm_writer w = hm_writer_make(out, cap);

    for (size_t i = 0; i < ndg; i++)
        put_dg_hash(&h, dgs[i], hash_len);
    assert_true(hm_writer_ok(&h));
    hm_writer_bytes(&b, "\x02\x01", 2);
    hm_writer_u8(&b, (uint8_t)version);
    hm_writer_bytes(&b, alg, alg_n);
    cl_tlv_put(&b, 0x30, hashes, h.len);
    hm_writer_bytes(&b, tail, tail_n);
    assert_true(hm_writer_ok(&b));
    cl_tlv_put(&w, 0x30, body, b.len);
    assert_true(hm_writer_ok(&w));
    return w.len;
}

#define LDS_VERSION_INFO "300E 1304 30313038 1306 303430303030"

static void test_lso(void **state)
{
    static const int dgs[] = { 1, 2, 14, 15 };
    static const int all[] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
    uint8_t b[2600];
    struct cl_lso l;
    size_t n;

    (void)state;
    /* V0, SHA-256. */
    n = build_lso(0, ALG_SHA256, dgs, 4, 32, "", b, sizeof(b));
    assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_OK);
    assert_int_equal(l.version, 0);
    assert_int_equal(l.hash, CL_HASH_SHA256);
    assert_int_equal(l.n_entries, 4);
    assert_int_equal(l.entries[0].dg, 1);
    assert_int_equal(l.entries[3].dg, 15);
    assert_int_equal(l.entries[2].hash_len, 32);
    assert_int_equal(l.entries[2].hash[0], 14);
    assert_int_equal(l.entries[2].hash[31], 14);
    assert_string_equal(l.lds_version, "");
    assert_string_equal(l.unicode_version, "");
    assert_prefixes_fail(run_lso, b, n);
    mutate_each_byte(run_lso, b, n);

    /* V1 with its LDSVersionInfo. */
    n = build_lso(1, ALG_SHA256_BARE, dgs, 2, 32, LDS_VERSION_INFO, b, sizeof(b));
    assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_OK);
    assert_int_equal(l.version, 1);
    assert_int_equal(l.n_entries, 2);
    assert_string_equal(l.lds_version, "0108");
    assert_string_equal(l.unicode_version, "040000");
    assert_prefixes_fail(run_lso, b, n);
    mutate_each_byte(run_lso, b, n);

    /* Every hash we know; all 16 data groups in any order. */
    static const struct {
        const char *alg;
        enum cl_lds_hash h;
    } algs[] = {
        { ALG_SHA1, CL_HASH_SHA1 },     { ALG_SHA224, CL_HASH_SHA224 },
        { ALG_SHA256, CL_HASH_SHA256 }, { ALG_SHA384, CL_HASH_SHA384 },
        { ALG_SHA512, CL_HASH_SHA512 },
    };
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        size_t hl = cl_lds_hash_len(algs[i].h);

        n = build_lso(0, algs[i].alg, all, 16, hl, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_OK);
        assert_int_equal(l.hash, algs[i].h);
        assert_int_equal(l.n_entries, 16);
        assert_int_equal(l.entries[0].dg, 16);
        assert_int_equal(l.entries[15].dg, 1);
        /* One byte more or less than the algorithm's. */
        n = build_lso(0, algs[i].alg, dgs, 2, hl + 1, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
        n = build_lso(0, algs[i].alg, dgs, 2, hl - 1, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
        assert_int_equal(l.n_entries, 0);
    }

    /* Data-group numbers: twice, 0, 17, none. */
    {
        static const int twice[] = { 1, 2, 1 };
        static const int zero[] = { 1, 0 };
        static const int seventeen[] = { 17 };

        n = build_lso(0, ALG_SHA256, twice, 3, 32, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
        assert_int_equal(l.n_entries, 0);
        n = build_lso(0, ALG_SHA256, zero, 2, 32, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
        n = build_lso(0, ALG_SHA256, seventeen, 1, 32, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
        n = build_lso(0, ALG_SHA256, dgs, 0, 32, "", b, sizeof(b));
        assert_int_equal(cl_lds_parse_lso(b, n, &l), CL_E_DATA_MALFORMED);
    }

    static const struct {
        int version;
        const char *alg, *tail;
    } bad[] = {
        { 2, ALG_SHA256, "" },                      /* version 2 */
        { 1, ALG_SHA256, "" },                      /* V1 without LDSVersionInfo */
        { 0, ALG_SHA256, LDS_VERSION_INFO },        /* V0 with it */
        { 1, ALG_SHA256, LDS_VERSION_INFO "0500" }, /* something after it */
        { 0, ALG_SHA256, "0500" },                  /* a NULL for an ldsVersionInfo */
        { 1, ALG_SHA256, "300E 1304 3031304A 1306 303430303030" }, /* not digits */
        { 1, ALG_SHA256, "300D 1303 303130 1306 303430303030" },   /* 3 digits */
        { 1, ALG_SHA256, "300E 0C04 30313038 1306 303430303030" }, /* UTF8String */
        { 1, ALG_SHA256, "3006 1304 30313038" },                   /* no Unicode version */
        { 1, ALG_SHA256, "310E 1304 30313038 1306 303430303030" }, /* a SET */
        { 0, "300D 0609 608648016503040205 0500", "" },            /* SHA-512/224 */
        { 0, "300C 0608 2A864886F70D0205 0500", "" },              /* MD5 */
        { 0, "300D 0609 2A864886F70D01010B 0500", "" },            /* sha256WithRSAEncryption */
        { 0, "300E 060A 60864801650304020100 0500", "" },          /* longer */
        { 0, "300E 0609 608648016503040201 050100", "" },          /* NULL with content */
        { 0, "300E 0609 608648016503040201 0401 00", "" },         /* other parameters */
        { 0, "300F 0609 608648016503040201 0500 0500", "" },       /* two */
        { 0, "3002 0500", "" },                                    /* no OID */
        { 0, "3000", "" },                                         /* empty */
        { 0, "310D 0609 608648016503040201 0500", "" },            /* a SET */
        { 0, "0609 608648016503040201", "" },                      /* bare OID */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cl_rc rc;

        n = build_lso(bad[i].version, bad[i].alg, dgs, 2, 32, bad[i].tail, b, sizeof(b));
        rc = cl_lds_parse_lso(b, n, &l);
        if (rc != CL_E_DATA_MALFORMED)
            fail_msg("case %zu: %d", i, (int)rc);
        assert_int_equal(l.n_entries, 0);
        assert_string_equal(l.lds_version, "");
    }

    /* Hand-made: missing parts, a version that is not a small INTEGER, entries with three
     * elements, with a hash that is not an OCTET STRING, with none, cut short. */
    static const struct {
        const char *hex;
        cl_rc rc;
    } bad_hex[] = {
        { "3003 020101", CL_E_DATA_MALFORMED },
        { "3010 020101" ALG_SHA256_BARE, CL_E_DATA_MALFORMED },
        { "3013 02020000" ALG_SHA256_BARE "3000", CL_E_DATA_MALFORMED },
        { "3012 0201FF" ALG_SHA256_BARE "3000", CL_E_DATA_MALFORMED },
        { "3012 040100" ALG_SHA256_BARE "3000", CL_E_DATA_MALFORMED },
        { "301C 020100" ALG_SHA256_BARE "300A 3008 020101 0401AA 0500", CL_E_DATA_MALFORMED },
        { "3019 020100" ALG_SHA256_BARE "3007 3005 020101 0500", CL_E_DATA_MALFORMED },
        { "3017 020100" ALG_SHA256_BARE "3005 3003 020101", CL_E_DATA_MALFORMED },
        { "3016 020100" ALG_SHA256_BARE "3004 3002 0201", CL_E_TLV_TRUNCATED },
        { "3014 020100" ALG_SHA256_BARE "3002 0500", CL_E_DATA_MALFORMED },
        { "3000", CL_E_DATA_MALFORMED },
        { "3100", CL_E_DATA_MALFORMED },
    };
    for (size_t i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++) {
        cl_rc rc;

        n = unhex(bad_hex[i].hex, b, sizeof(b));
        rc = cl_lds_parse_lso(b, n, &l);
        if (rc != bad_hex[i].rc)
            fail_msg("hand-made case %zu: %d", i, (int)rc);
    }
    n = build_lso(0, ALG_SHA256, dgs, 2, 32, "", b, sizeof(b));
    b[n] = 0x00;
    assert_int_equal(cl_lds_parse_lso(b, n + 1, &l), CL_E_TLV_TRAILING);
    assert_int_equal(cl_lds_parse_lso(b, n, NULL), CL_E_INVALID_ARG);
}

static void test_hash_names(void **state)
{
    (void)state;
    assert_int_equal(cl_lds_hash_len(CL_HASH_NONE), 0);
    assert_int_equal(cl_lds_hash_len(CL_HASH_SHA1), 20);
    assert_int_equal(cl_lds_hash_len(CL_HASH_SHA224), 28);
    assert_int_equal(cl_lds_hash_len(CL_HASH_SHA256), 32);
    assert_int_equal(cl_lds_hash_len(CL_HASH_SHA384), 48);
    assert_int_equal(cl_lds_hash_len(CL_HASH_SHA512), 64);
    assert_int_equal(cl_lds_hash_len((enum cl_lds_hash)99), 0);
    assert_string_equal(cl_lds_hash_name(CL_HASH_NONE), "none");
    assert_string_equal(cl_lds_hash_name(CL_HASH_SHA1), "SHA-1");
    assert_string_equal(cl_lds_hash_name(CL_HASH_SHA224), "SHA-224");
    assert_string_equal(cl_lds_hash_name(CL_HASH_SHA256), "SHA-256");
    assert_string_equal(cl_lds_hash_name(CL_HASH_SHA384), "SHA-384");
    assert_string_equal(cl_lds_hash_name(CL_HASH_SHA512), "SHA-512");
    assert_string_equal(cl_lds_hash_name((enum cl_lds_hash)99), "none");
    for (int h = CL_HASH_SHA1; h <= CL_HASH_SHA512; h++)
        assert_true(cl_lds_hash_len((enum cl_lds_hash)h) <= CL_LDS_HASH_MAX);
}

/* ---- the citizen ID number ---------------------------------------------- */

/* 17 digits and their check character. */
static void make_id(const char *digits17, char out[CL_CN_ID_LEN + 1])
{
    memcpy(out, digits17, 17);
    out[17] = cl_cn_id_check_char(digits17);
    assert_true(out[17] != 0);
    out[18] = '\0';
}

static void test_cn_id(void **state)
{
    char id[CL_CN_ID_LEN + 1];

    (void)state;
    /* The two examples: check characters X and 4, computed by hand with the weights. */
    assert_int_equal(cl_cn_id_check_char("11010519491231002"), 'X');
    assert_int_equal(cl_cn_id_check_char("44052418800101001"), '4');
    assert_int_equal(cl_cn_id_check("11010519491231002X", 18), CL_OK);
    assert_int_equal(cl_cn_id_check("11010519491231002x", 18), CL_OK);
    /* GB 11643-1999's own example: the check character is right, but cl/lds.h only takes birth
     * years 1900..2099, and this one was born in 1880. */
    assert_int_equal(cl_cn_id_check("440524188001010014", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("440524188001010015", 18), CL_E_DATA_MALFORMED);
    /* Every wrong check character. */
    memcpy(id, "11010519491231002X", 19);
    for (const char *c = "0123456789"; *c; c++) {
        id[17] = *c;
        assert_int_equal(cl_cn_id_check(id, 18), CL_E_CHECK_DIGIT);
    }
    /* A changed digit is caught (MOD 11-2 catches every single substitution). */
    for (size_t pos = 0; pos < 17; pos++) {
        memcpy(id, "11010519491231002X", 19);
        id[pos] = id[pos] == '9' ? '8' : (char)(id[pos] + 1);
        if (pos >= 6 && pos < 14)
            continue; /* may make the date impossible instead */
        assert_int_equal(cl_cn_id_check(id, 18), CL_E_CHECK_DIGIT);
    }
    /* Two digits swapped. */
    assert_int_equal(cl_cn_id_check("11100519491231002X", 18), CL_E_CHECK_DIGIT);

    /* Dates: Feb 29 in leap and non-leap years, month 13, day 0, Apr 31, the range. */
    make_id("11010520000229001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_OK);
    make_id("11010519960229001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_OK);
    make_id("11010519000229001", id); /* 1900: not a leap year */
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519990229001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010520210229001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519991301001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519990001001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519990100001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519990431001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519990430001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_OK);
    make_id("11010519991232001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010518991231001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);
    make_id("11010519000101001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_OK);
    make_id("11010520991231001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_OK);
    make_id("11010521000101001", id);
    assert_int_equal(cl_cn_id_check(id, 18), CL_E_DATA_MALFORMED);

    /* Lengths and characters. */
    assert_int_equal(cl_cn_id_check("11010519491231002X", 17), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("11010519491231002X0", 19), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("", 0), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("110105194912310", 15), CL_E_DATA_MALFORMED); /* 1st gen */
    assert_int_equal(cl_cn_id_check("1101051949123100XX", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("11010519491231002Y", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("11010519491231002 ", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check(" 1010519491231002X", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("1101051949123100\0X", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check("11010519491231002\0", 18), CL_E_DATA_MALFORMED);
    assert_int_equal(cl_cn_id_check(NULL, 18), CL_E_INVALID_ARG);

    assert_int_equal(cl_cn_id_check_char("1101051949123100"), 0);
    assert_int_equal(cl_cn_id_check_char("1101051949123100A"), 0);
    assert_int_equal(cl_cn_id_check_char(""), 0);
    assert_int_equal(cl_cn_id_check_char(NULL), 0);
    assert_int_equal(cl_cn_id_check_char("00000000000000000"), '1');
    assert_int_equal(cl_cn_id_check_char("11010519491231002999"),
                     cl_cn_id_check_char("11010519491231002"));
}

static void test_id_mask(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(cl_id_mask("11010519491231002X", 18, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "110***********002X");
    assert_int_equal(cl_id_mask("11010519491231002X", 18, out, 19), CL_OK);
    assert_string_equal(out, "110***********002X");
    assert_int_equal(cl_id_mask("11010519491231002X", 18, out, 18), CL_E_BUFFER_TOO_SMALL);
    assert_int_equal(cl_id_mask("11010519491231002X", 18, out, 0), CL_E_BUFFER_TOO_SMALL);
    assert_int_equal(cl_id_mask("L898902C3", 9, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "L89**02C3");
    assert_int_equal(cl_id_mask("12345678", 8, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "123*5678");
    assert_int_equal(cl_id_mask("1234567", 7, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "*******");
    assert_int_equal(cl_id_mask("1", 1, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "*");
    assert_int_equal(cl_id_mask("", 0, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "");
    assert_int_equal(cl_id_mask(NULL, 0, out, 1), CL_OK);
    assert_string_equal(out, "");
    /* Only n characters are read: no NUL needed. */
    assert_int_equal(cl_id_mask("11010519491231002X-and-more", 18, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "110***********002X");
    /* What is kept cannot carry control characters into a log line. */
    assert_int_equal(cl_id_mask("1\n3456789\x1b", 10, out, sizeof(out)), CL_OK);
    assert_string_equal(out, "1?3***789?");
    assert_int_equal(cl_id_mask(NULL, 3, out, sizeof(out)), CL_E_INVALID_ARG);
    assert_int_equal(cl_id_mask("123", 3, NULL, 4), CL_E_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dg_numbers),
        cmocka_unit_test(test_com),
        cmocka_unit_test(test_specimen_check_digits),
        cmocka_unit_test(test_mrz_td3),
        cmocka_unit_test(test_mrz_td1),
        cmocka_unit_test(test_mrz_td1_chn),
        cmocka_unit_test(test_mrz_td2),
        cmocka_unit_test(test_mrz_each_check_digit),
        cmocka_unit_test(test_mrz_bad),
        cmocka_unit_test(test_mrz_names),
        cmocka_unit_test(test_dg1),
        cmocka_unit_test(test_dg2),
        cmocka_unit_test(test_dg2_bad),
        cmocka_unit_test(test_dg11),
        cmocka_unit_test(test_dg14),
        cmocka_unit_test(test_dg15),
        cmocka_unit_test(test_sod),
        cmocka_unit_test(test_lso),
        cmocka_unit_test(test_hash_names),
        cmocka_unit_test(test_cn_id),
        cmocka_unit_test(test_id_mask),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
