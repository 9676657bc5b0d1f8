/*
 * Parsers for the ICAO Doc 9303 Logical Data Structure (Part 10): EF.COM,
 * DG1 (the MRZ), DG2 (the face), DG11 (additional personal details), DG14
 * (security infos), DG15 (the Active Authentication public key), and the
 * LDS Security Object inside EF.SOD; plus the Chinese citizen ID number
 * (GB 11643, ISO 7064 MOD 11-2) that DG11 carries for a resident.
 *
 * Every byte comes from a chip and is hostile. The parsers never allocate:
 * results are fixed-size copies (strings NUL-terminated) or pointers into
 * the caller's buffer, which must outlive them. Any structure that is not
 * what Doc 9303 says is CL_E_DATA_MALFORMED (or a CL_E_TLV_* code from the
 * TLV layer); a field longer than its slot is CL_E_DATA_MALFORMED, never
 * truncated; a check digit that does not match is CL_E_CHECK_DIGIT.
 *
 * These functions check structure only. Whether the bytes are genuine is
 * Passive Authentication's question (cl/emrtd_auth.h).
 */
#ifndef CL_LDS_H
#define CL_LDS_H

#include "cl/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Data group tags (Part 10 §4.6.1): DG1 61, DG2 75, ... DG15 6F, DG16 70. */
#define CL_LDS_TAG_COM  0x60u
#define CL_LDS_TAG_SOD  0x77u
#define CL_LDS_TAG_DG1  0x61u
#define CL_LDS_TAG_DG2  0x75u
#define CL_LDS_TAG_DG11 0x6Bu
#define CL_LDS_TAG_DG14 0x6Eu
#define CL_LDS_TAG_DG15 0x6Fu

#define CL_LDS_MAX_DG 16

/* The data-group number (1..16) of a data-group tag, or 0 for any other byte. */
int cl_lds_dg_number(uint8_t tag);
/* The tag of data group 1..16, or 0. */
uint8_t cl_lds_dg_tag(int dg);
/* The file identifier of data group 1..16 (0x0101..0x0110), or 0. */
uint16_t cl_lds_dg_fid(int dg);

/* ---- EF.COM (60 { 5F01 LDS version, 5F36 Unicode version, 5C tag list }) ---- */

struct cl_lds_com {
    char lds_version[5];     /* "0107" (4 digits) */
    char unicode_version[7]; /* "040000" (6 digits) */
    uint8_t tags[CL_LDS_MAX_DG];
    size_t n_tags;    /* data-group tags listed, in the order given */
    uint32_t present; /* bit (1 << dg) set for every data group listed */
};

/*
 * 5F01 and 5C are required, 5F36 optional; tags that are not data-group
 * tags or repeat: malformed.
 */
cl_rc cl_lds_parse_com(const uint8_t *p, size_t n, struct cl_lds_com *out);

/* ---- DG1: the machine readable zone (61 { 5F1F MRZ }) -------------------- */

enum cl_mrz_format {
    CL_MRZ_TD1 = 1, /* ID card: 3 lines of 30 */
    CL_MRZ_TD2,     /* 2 lines of 36 */
    CL_MRZ_TD3,     /* passport: 2 lines of 44 */
};

#define CL_MRZ_MAX 90 /* TD1, the longest: 3 x 30 */

struct cl_mrz {
    enum cl_mrz_format format;
    char raw[CL_MRZ_MAX + 1]; /* the MRZ characters as read, without line breaks */
    char doc_code[3];         /* "ID", "P<" -> "P" (filler '<' removed at the end) */
    char issuer[4];           /* "CHN", "UTO" ('<' fillers removed: "D<<" -> "D") */
    char doc_number[25];      /* whole, also when a TD1 number runs into the optional field */
    char birth[7];            /* YYMMDD */
    char sex;                 /* 'M', 'F' or '<' */
    char expiry[7];           /* YYMMDD */
    char nationality[4];      /* fillers removed */
    char optional1[31];       /* TD1 line 1 optional data / TD3 personal number; fillers removed */
    char optional2[12];       /* TD1 line 2 optional data; "" otherwise */
    char primary[40];         /* surname: '<' between words becomes ' ' ("ERIKSSON") */
    char secondary[40];       /* given names: "ANNA MARIA" */
};

/*
 * Parses MRZ characters (n = 90, 72 or 88, no line breaks; the format comes
 * from the length) and checks every check digit: document number, birth,
 * expiry, TD3 personal number (when not all fillers), and the composite one.
 * Characters outside A-Z, 0-9 and '<', or not the field's (letters in the
 * codes, digits or '<' in dates, 'M', 'F' or '<' for sex): malformed. A
 * wrong digit: CL_E_CHECK_DIGIT. A TD1 document number longer than 9
 * characters is taken from the optional field (check digit position 15
 * holds '<' and the number continues in the optional data up to its check
 * digit, Part 5 §4.2.4; a TD2 number likewise from position 10, Part 6
 * §4.2.4).
 */
cl_rc cl_mrz_parse(const char *mrz, size_t n, struct cl_mrz *out);

/* DG1: 61 { 5F1F MRZ } then cl_mrz_parse(). */
cl_rc cl_lds_parse_dg1(const uint8_t *p, size_t n, struct cl_mrz *out);

/* ---- DG2: the face (ISO/IEC 19794-5 inside the CBEFF templates) ---------- */

enum cl_face_format {
    CL_FACE_JPEG = 0,     /* image data type 0 (and the bytes start FF D8 FF) */
    CL_FACE_JPEG2000 = 1, /* image data type 1 (JP2 box or J2K codestream) */
};

struct cl_face {
    enum cl_face_format format;
    const uint8_t *image; /* points into the DG2 bytes */
    size_t image_len;
    uint16_t width, height; /* pixels, from the image information block */
    uint8_t gender;         /* 19794-5 codes: 0 unspecified, 1 male, 2 female, 0xFF unknown */
    uint8_t image_type;     /* 19794-5 face image type (1 full frontal, ...) */
    size_t n_faces;         /* biometric templates in the group (the first one is returned) */
};

/*
 * 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E or 7F2E data } ... } }; the
 * data block is a 19794-5 facial record ("FAC\0", version, length, number of
 * faces, then the first face: record header, feature points, image
 * information, image). The image must be JPEG or JPEG 2000 and its magic
 * bytes must agree with the declared type; lengths inside the record must
 * agree with the data block.
 */
cl_rc cl_lds_parse_dg2(const uint8_t *p, size_t n, struct cl_face *out);

/* ---- DG11: additional personal details (6B { 5C tag list, 5F0E name, ... }) ---- */

#define CL_DG11_TEXT_MAX 128

struct cl_dg11 {
    char full_name[CL_DG11_TEXT_MAX]; /* 5F0E, UTF-8 as on the chip ("张三" or "ZHANG<<SAN") */
    char personal_number[CL_DG11_TEXT_MAX]; /* 5F10 */
    char full_birth[9];                     /* 5F2B, YYYYMMDD when present */
    char place_of_birth[CL_DG11_TEXT_MAX];  /* 5F11 */
    char address[CL_DG11_TEXT_MAX];         /* 5F42 */
    bool has_name, has_personal_number, has_full_birth, has_place_of_birth, has_address;
};

/*
 * Text fields must be valid UTF-8 with no NUL or control characters;
 * anything else (or too long for its slot) is malformed. The personal number
 * is not interpreted here: see cl_cn_id_check().
 */
cl_rc cl_lds_parse_dg11(const uint8_t *p, size_t n, struct cl_dg11 *out);

/* ---- DG14: security infos (6E { SET OF SecurityInfo }) ------------------ */

/* Hash of an Active Authentication ECDSA signature, from DG14 (Part 11 §6.1). */
enum cl_lds_hash {
    CL_HASH_NONE = 0,
    CL_HASH_SHA1,
    CL_HASH_SHA224,
    CL_HASH_SHA256,
    CL_HASH_SHA384,
    CL_HASH_SHA512,
};

struct cl_dg14 {
    size_t n_infos;   /* SecurityInfo entries */
    bool has_aa_info; /* an ActiveAuthenticationInfo (2.23.136.1.1.5) */
    /* From its signatureAlgorithm (ecdsa-plain-SHA*, 0.4.0.127.0.7.1.1.4.1.x); none: RSA. */
    enum cl_lds_hash aa_hash;
    bool has_chip_auth; /* any id-CA (0.4.0.127.0.7.2.2.3...) info: listed, not used */
    bool has_pace;      /* any id-PACE (0.4.0.127.0.7.2.2.4...) info: listed, not used */
};

/*
 * Each SecurityInfo is SEQUENCE { OID, requiredData, optionalData OPTIONAL };
 * unknown protocols are counted and skipped. An ActiveAuthenticationInfo
 * must have version 1 and, if it names a signatureAlgorithm, one we know,
 * else malformed; without one (RSA) aa_hash is CL_HASH_NONE. A second
 * ActiveAuthenticationInfo is malformed too.
 */
cl_rc cl_lds_parse_dg14(const uint8_t *p, size_t n, struct cl_dg14 *out);

/* ---- DG15: the Active Authentication public key (6F { SubjectPublicKeyInfo }) ---- */

/* *spki points at the DER SubjectPublicKeyInfo (a SEQUENCE) inside p. */
cl_rc cl_lds_parse_dg15(const uint8_t *p, size_t n, const uint8_t **spki, size_t *spki_len);

/* ---- EF.SOD and the LDS Security Object ---------------------------------- */

/* *cms points at the DER ContentInfo (SignedData) inside 77 { ... }. */
cl_rc cl_lds_parse_sod(const uint8_t *p, size_t n, const uint8_t **cms, size_t *cms_len);

#define CL_LDS_HASH_MAX 64

struct cl_lso_entry {
    int dg; /* 1..16 */
    uint8_t hash[CL_LDS_HASH_MAX];
    size_t hash_len;
};

struct cl_lso {
    int version;           /* 0 (V0) or 1 (V1, with LDSVersionInfo) */
    enum cl_lds_hash hash; /* from the hashAlgorithm OID (2.16.840.1.101.3.4.2.x, 1.3.14.3.2.26) */
    struct cl_lso_entry entries[CL_LDS_MAX_DG];
    size_t n_entries;
    char lds_version[5];     /* V1 only, else "" */
    char unicode_version[7]; /* V1 only, else "" */
};

/*
 * LDSSecurityObject ::= SEQUENCE { version INTEGER, hashAlgorithm
 * AlgorithmIdentifier, dataGroupHashValues SEQUENCE OF SEQUENCE {
 * dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING },
 * ldsVersionInfo SEQUENCE { PrintableString, PrintableString } OPTIONAL }
 * (the eContent of the SOD's SignedData). A hash whose length is not the
 * algorithm's, a data-group number outside 1..16 or listed twice, no hash
 * at all, an unknown algorithm, or version 1 without ldsVersionInfo (or
 * version 0 with it): malformed.
 */
cl_rc cl_lds_parse_lso(const uint8_t *p, size_t n, struct cl_lso *out);

/* The digest length of a hash (20, 28, 32, 48, 64), or 0 for CL_HASH_NONE. */
size_t cl_lds_hash_len(enum cl_lds_hash h);
/* "SHA-256" etc. (OpenSSL's names), or "none". */
const char *cl_lds_hash_name(enum cl_lds_hash h);

/* ---- Chinese citizen ID number (GB 11643-1999) -------------------------- */

#define CL_CN_ID_LEN 18

/*
 * Checks an 18-character citizen ID number: 17 digits, then the ISO 7064
 * MOD 11-2 check character ('0'-'9' or 'X'; 'x' is accepted as 'X'), and a
 * birth date (characters 7-14, YYYYMMDD) that is a real calendar date in
 * 1900..2099. Wrong length or characters, or an impossible date:
 * CL_E_DATA_MALFORMED; a wrong check character: CL_E_CHECK_DIGIT.
 */
cl_rc cl_cn_id_check(const char *id, size_t n);

/* The ISO 7064 MOD 11-2 check character for 17 digits ('0'-'9' or 'X'), or 0 if not 17 digits. */
char cl_cn_id_check_char(const char *digits17);

/*
 * Masks an ID number for a screen or a log: the first 3 and last 4
 * characters kept, every other one '*' ("110***********123X"). Numbers of
 * 7 characters or fewer are masked whole. A kept character that is not
 * printable ASCII is shown as '?'. out needs n + 1 bytes; returns
 * CL_E_BUFFER_TOO_SMALL otherwise.
 */
cl_rc cl_id_mask(const char *id, size_t n, char *out, size_t cap);

#endif
