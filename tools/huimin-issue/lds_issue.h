/*
 * Issuing ICAO 9303 documents for tests and demos: a country signing CA
 * (CSCA), Document Signers, and the signed Logical Data Structure of a
 * resident's ID card (TD1) or passport (TD3): EF.COM, DG1 (MRZ), DG2 (a
 * generated face), DG11 (name in Chinese, citizen ID number), DG14, DG15
 * (the Active Authentication key) and EF.SOD. The result is a virtual-card
 * file the eMRTD applet of huimin-vcard serves.
 */
#ifndef HUIMIN_LDS_ISSUE_H
#define HUIMIN_LDS_ISSUE_H

#include "cl/lds.h"
#include "hm/buf.h"
#include "pki.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct id_holder {
    enum cl_mrz_format format;   /* CL_MRZ_TD1 (ID card) or CL_MRZ_TD3 (passport) */
    const char *doc_number;      /* 9 characters or fewer, A-Z 0-9 */
    const char *birth, *expiry;  /* YYMMDD */
    char sex;                    /* 'M', 'F' */
    const char *issuer;          /* "CHN" */
    const char *nationality;     /* "CHN" */
    const char *surname, *given; /* MRZ transliteration (pinyin, upper case): "ZHANG", "XIUYING" */
    const char *name;            /* DG11 full name, UTF-8: "张秀英" */
    const char *citizen_id;      /* 18 characters, or NULL */
    const char *full_birth;      /* YYYYMMDD, or NULL */
    const char *place_of_birth;  /* UTF-8, or NULL */
    const char *address;         /* UTF-8, or NULL */
    uint32_t face_seed;          /* varies the generated face */
};

struct id_lds {
    struct hm_buf com, dg1, dg2, dg11, dg14, dg15, sod;
};

void id_lds_init(struct id_lds *l);
void id_lds_free(struct id_lds *l);

/* The MRZ characters (90 for TD1, 88 for TD3) with every check digit. 0 or -1. */
int id_make_mrz(const struct id_holder *h, char *out, size_t cap);

/* A 240 x 320 JPEG portrait drawn from the seed (malloc'd). 0 or -1. */
int id_face_jpeg(uint32_t seed, uint8_t **out, size_t *len);

/*
 * Builds the data groups (DG14 only for an EC key: it names the ECDSA hash)
 * and signs the SOD with the Document Signer. 0, or -1 with err set.
 */
int id_build_lds(const struct id_holder *h, EVP_PKEY *aa_pub, const struct pki_ca *ds,
                 struct id_lds *out, char *err, size_t errcap);

/* Signs (again) the SOD over the data groups now in l, with SHA-256. 0 or -1. */
int id_sign_sod(const struct pki_ca *ds, struct id_lds *l);

/* A Document Signer certificate and key issued by the CSCA (validity relative to now). */
int id_ds_create(const struct pki_ca *csca, struct pki_ca *ds, const char *cn, int not_before_days,
                 int days);

/*
 * Writes a virtual-card file for huimin-vcard: the ID card ATR, the MRZ
 * fields for BAC, the LDS files in hex and the AA private key written as
 * PEM (0600) to aa_key_path, named relative to the card file. 0 or -1.
 */
int id_write_card(const char *card_path, const struct id_holder *h, const struct id_lds *l,
                  EVP_PKEY *aa_key, const char *aa_key_path);

/*
 * The whole test set in dir: trust/ (the CSCA certificate and CRL: the
 * trust store read-id takes), and cards: zhang-td1.json and wang-td1.json
 * (genuine ID cards, ECDSA AA), passport-td3.json (a genuine passport, RSA
 * AA with ISO 9796-2), tampered-dg1.json (DG1 altered after signing),
 * unknown-csca.json (signed under another CSCA), clone-aa.json (the chip's
 * AA key is not the one in DG15) and expired-ds.json (the Document Signer
 * certificate has expired). 0, or -1 with err set.
 */
int id_fixture_set(const char *dir, char *err, size_t errcap);

#endif
