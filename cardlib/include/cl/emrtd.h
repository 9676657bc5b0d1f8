/*
 * ICAO Doc 9303 eMRTD access: Basic Access Control (Part 11 §4.3), 3DES
 * secure messaging (Part 11 §9.8) and reading the LDS files over it.
 *
 * The usual flow on a connected card:
 *
 *   struct cl_emrtd_keys k;
 *   cl_emrtd_bac_keys("L898902C", "690806", "940623", &k);   (from the MRZ)
 *   cl_emrtd_select_app(card);
 *   cl_emrtd_bac(card, &k, NULL, NULL);     (installs secure messaging)
 *   cl_emrtd_read_file(card, CL_EMRTD_FID_COM, &buf);
 *
 * After cl_emrtd_bac() every command through cl_card_transmit() is wrapped,
 * and every response is checked: a response whose MAC is wrong or missing is
 * CL_E_SM_MAC and never data. After any failure of secure messaging the
 * session is over (later commands fail with CL_E_SM_FAILED) and BAC must be
 * run again, as the chip also ends it.
 *
 * The building blocks (key derivation, 3DES, the retail MAC, the BAC
 * cryptograms of both sides) are public so the virtual card's eMRTD applet
 * and the tests can use them; they take every random value as a parameter,
 * so the worked example of Doc 9303 Part 11 Appendix D can be reproduced.
 */
#ifndef CL_EMRTD_H
#define CL_EMRTD_H

#include "cl/apdu.h"
#include "cl/card.h"
#include "cl/error.h"
#include "hm/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The LDS1 eMRTD application. */
#define CL_EMRTD_AID_LEN 7
extern const uint8_t cl_emrtd_aid[CL_EMRTD_AID_LEN]; /* A0 00 00 02 47 10 01 */

/* File identifiers of the LDS elementary files. */
#define CL_EMRTD_FID_COM  0x011Eu
#define CL_EMRTD_FID_SOD  0x011Du
#define CL_EMRTD_FID_DG1  0x0101u
#define CL_EMRTD_FID_DG2  0x0102u
#define CL_EMRTD_FID_DG11 0x010Bu
#define CL_EMRTD_FID_DG14 0x010Eu
#define CL_EMRTD_FID_DG15 0x010Fu

#define CL_EMRTD_KEY_LEN  16 /* two-key 3DES: Ka || Kb */
#define CL_EMRTD_RND_LEN  8  /* RND.IFD, RND.ICC */
#define CL_EMRTD_SSC_LEN  8
#define CL_EMRTD_MAC_LEN  8
#define CL_EMRTD_SEED_LEN 16
#define CL_EMRTD_AUTH_LEN 40 /* EXTERNAL AUTHENTICATE data: E (32) || M (8) */

/* The longest document number we accept (TD1: 9 digits plus 15 in the optional field). */
#define CL_EMRTD_DOC_MAX 24
/* MRZ information: document number, check digit, birth date, check digit, expiry, check digit. */
#define CL_EMRTD_MRZ_INFO_MAX (CL_EMRTD_DOC_MAX + 1 + 7 + 7 + 1)

/* The counters of the key derivation function (Part 11 §9.7.1). */
#define CL_EMRTD_KDF_ENC 1u
#define CL_EMRTD_KDF_MAC 2u

/* Largest plain READ BINARY under short-length secure messaging (JMRTD and OpenSC use 0xDF). */
#define CL_EMRTD_READ_CHUNK 0xDFu
/* Files longer than this are not read (DG2 with a face image is some tens of KiB). */
#define CL_EMRTD_FILE_MAX (1u << 20)

/* A pair of 3DES keys: the document basic access keys or the session keys. */
struct cl_emrtd_keys {
    uint8_t enc[CL_EMRTD_KEY_LEN];
    uint8_t mac[CL_EMRTD_KEY_LEN];
};

/* What BAC establishes: the session keys and the send sequence counter. */
struct cl_emrtd_session {
    struct cl_emrtd_keys ks;
    uint8_t ssc[CL_EMRTD_SSC_LEN];
};

/* ---- MRZ and keys ------------------------------------------------------ */

/*
 * The check digit of a MRZ field (Part 3 §4.9: weights 7, 3, 1; digits are
 * their value, A-Z are 10-35, '<' is 0) as 0-9, or -1 for any other character.
 */
int cl_emrtd_check_digit(const char *s, size_t n);

/*
 * Builds the MRZ information: the document number (padded with '<' to 9
 * characters), its check digit, the date of birth (YYMMDD) and its check
 * digit, the date of expiry (YYMMDD) and its check digit. Lower-case letters
 * in the document number are taken as upper case. A document number longer
 * than 9 characters (TD1) is used whole. out needs CL_EMRTD_MRZ_INFO_MAX.
 * Invalid characters or dates that are not 6 digits: CL_E_INVALID_ARG.
 */
cl_rc cl_emrtd_mrz_info(const char *doc, const char *birth, const char *expiry, char *out,
                        size_t cap);

/* K_seed: the first 16 bytes of SHA-1 of the MRZ information. */
cl_rc cl_emrtd_key_seed(const char *mrz_info, uint8_t seed[CL_EMRTD_SEED_LEN]);

/*
 * The key derivation function for 3DES (Part 11 §9.7.1): the first 16 bytes of
 * SHA-1(seed || counter as 4 bytes big-endian), with DES parity bits set.
 */
cl_rc cl_emrtd_kdf(const uint8_t seed[CL_EMRTD_SEED_LEN], uint32_t counter,
                   uint8_t key[CL_EMRTD_KEY_LEN]);

/* KDF with counters 1 (enc) and 2 (mac). */
cl_rc cl_emrtd_keys_from_seed(const uint8_t seed[CL_EMRTD_SEED_LEN], struct cl_emrtd_keys *out);

/* The document basic access keys from the MRZ fields (all of the above in one call). */
cl_rc cl_emrtd_bac_keys(const char *doc, const char *birth, const char *expiry,
                        struct cl_emrtd_keys *out);

/* Sets the lowest bit of every byte so each byte has odd parity (DES keys). */
void cl_emrtd_set_parity(uint8_t *key, size_t n);

/* ---- Cryptographic building blocks --------------------------------------- */

/* Two-key 3DES in CBC mode with a zero IV; n must be a multiple of 8; out may be in. */
cl_rc cl_emrtd_tdes_cbc(const uint8_t key[CL_EMRTD_KEY_LEN], bool encrypt, const uint8_t *in,
                        size_t n, uint8_t *out);

/*
 * ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC: single DES CBC with Ka,
 * the last block through 3DES with Ka and Kb) over in[0..n) padded with
 * padding method 2.
 */
cl_rc cl_emrtd_mac(const uint8_t key[CL_EMRTD_KEY_LEN], const uint8_t *in, size_t n,
                   uint8_t mac[CL_EMRTD_MAC_LEN]);

/*
 * ISO/IEC 9797-1 padding method 2: appends 0x80 and zeros to buf[0..n) up to
 * a multiple of 8 (always at least one byte). *out_len is the padded length.
 */
cl_rc cl_emrtd_pad(uint8_t *buf, size_t n, size_t cap, size_t *out_len);

/* Removes padding method 2: *len is the length before it. Bad padding: CL_E_SM_FAILED. */
cl_rc cl_emrtd_unpad(const uint8_t *p, size_t n, size_t *len);

/* Adds one to a send sequence counter (big-endian, wrapping). */
void cl_emrtd_ssc_inc(uint8_t ssc[CL_EMRTD_SSC_LEN]);

/* Fills out with n random bytes from OpenSSL's generator. arg is unused. */
cl_rc cl_emrtd_random(void *arg, uint8_t *out, size_t n);

/* ---- Basic Access Control ---------------------------------------------- */

/*
 * The terminal's EXTERNAL AUTHENTICATE data: S = RND.IFD || RND.ICC || K.IFD,
 * E_IFD = 3DES-CBC(KEnc, S), M_IFD = MAC(KMac, E_IFD); out = E_IFD || M_IFD.
 */
cl_rc cl_emrtd_bac_ifd_auth(const struct cl_emrtd_keys *k, const uint8_t rnd_ifd[CL_EMRTD_RND_LEN],
                            const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                            const uint8_t k_ifd[CL_EMRTD_KEY_LEN], uint8_t out[CL_EMRTD_AUTH_LEN]);

/*
 * Checks the chip's answer E_ICC || M_ICC: the MAC first (in constant time;
 * wrong: CL_E_SM_MAC), then that it decrypts to RND.ICC || RND.IFD || K.ICC
 * with our two random numbers (otherwise CL_E_AUTH_FAILED); not 40 bytes:
 * CL_E_DATA_MALFORMED. Derives the
 * session keys from K.IFD xor K.ICC and the SSC from the last 4 bytes of
 * RND.ICC and of RND.IFD.
 */
cl_rc cl_emrtd_bac_ifd_finish(const struct cl_emrtd_keys *k,
                              const uint8_t rnd_ifd[CL_EMRTD_RND_LEN],
                              const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                              const uint8_t k_ifd[CL_EMRTD_KEY_LEN], const uint8_t *resp,
                              size_t len, struct cl_emrtd_session *out);

/*
 * The chip's side, for the virtual card: checks the terminal's EXTERNAL
 * AUTHENTICATE data against the keys and the challenge it gave (CL_E_SM_MAC
 * for a wrong MAC, CL_E_AUTH_FAILED when RND.ICC does not match,
 * CL_E_DATA_MALFORMED when it is not 40 bytes), writes
 * E_ICC || M_ICC to out and the session both sides now share.
 */
cl_rc cl_emrtd_bac_icc_respond(const struct cl_emrtd_keys *k,
                               const uint8_t rnd_icc[CL_EMRTD_RND_LEN],
                               const uint8_t k_icc[CL_EMRTD_KEY_LEN], const uint8_t *cmd,
                               size_t len, uint8_t out[CL_EMRTD_AUTH_LEN],
                               struct cl_emrtd_session *session);

/* A source of random bytes; returns CL_OK when out is filled. */
typedef cl_rc (*cl_emrtd_rng_fn)(void *arg, uint8_t *out, size_t n);

/*
 * SELECT the eMRTD application (00 A4 04 0C 07 A0 00 00 02 47 10 01), in the
 * clear: selecting it ends any session on the chip, so secure messaging
 * installed on the card is removed first.
 */
cl_rc cl_emrtd_select_app(cl_card *card);

/*
 * Runs BAC with the chip: GET CHALLENGE, EXTERNAL AUTHENTICATE, checks the
 * answer and installs secure messaging on the card. rng (NULL: OpenSSL's)
 * is asked first for RND.IFD (8 bytes), then for K.IFD (16 bytes).
 * A wrong MRZ makes the chip answer 6300: CL_E_AUTH_FAILED. Any secure
 * messaging already installed is removed first.
 */
cl_rc cl_emrtd_bac(cl_card *card, const struct cl_emrtd_keys *k, cl_emrtd_rng_fn rng,
                   void *rng_arg);

/* ---- Secure messaging -------------------------------------------------- */

typedef struct cl_emrtd_sm cl_emrtd_sm;

/* A session with copies of the keys and SSC; free with cl_emrtd_sm_free(). */
cl_rc cl_emrtd_sm_new(const struct cl_emrtd_session *s, cl_emrtd_sm **out);
/* Wipes the keys and frees. NULL is a no-op. */
void cl_emrtd_sm_free(cl_emrtd_sm *sm);

/*
 * Protects a command: SSC + 1, CLA | 0x0C, DO'87' (padding indicator 01 and
 * the encrypted, padded data; DO'85' without the indicator for an odd INS),
 * DO'97' with Le when a response is expected, DO'8E' with the MAC over
 * SSC || padded header || those DOs. *out points into buf[0..cap).
 */
cl_rc cl_emrtd_sm_wrap(cl_emrtd_sm *sm, const struct cl_apdu *plain, struct cl_apdu *out,
                       uint8_t *buf, size_t cap);

/*
 * Checks and opens a response: SSC + 1, then the MAC in DO'8E' (which must
 * be last) over SSC || every DO before it, in constant time and before any
 * DO is used. Then the status from DO'99' and the data from DO'87' or
 * DO'85'. A missing, short or wrong MAC and DOs that cannot be parsed are
 * CL_E_SM_MAC; authenticated but malformed contents (no DO'99', bad padding)
 * CL_E_SM_FAILED. A response of only an error status word (the chip sends
 * 6987/6988 without SM when it ends the session) passes the status on with
 * no data; 9000 or a warning without a MAC is CL_E_SM_MAC. Such a bare
 * status is not authenticated: "file not found" for a data group proves
 * nothing until EF.COM and EF.SOD (which are) agree.
 */
cl_rc cl_emrtd_sm_unwrap(cl_emrtd_sm *sm, const uint8_t *data, size_t len, uint16_t sw,
                         uint8_t *out, size_t cap, size_t *out_len, uint16_t *out_sw);

/* The current send sequence counter (for tests and traces). */
void cl_emrtd_sm_ssc(const cl_emrtd_sm *sm, uint8_t ssc[CL_EMRTD_SSC_LEN]);
/* False once a check failed or the chip ended the session. */
bool cl_emrtd_sm_alive(const cl_emrtd_sm *sm);

/* The ops table over cl_emrtd_sm (free calls cl_emrtd_sm_free). */
extern const struct cl_sm_ops cl_emrtd_sm_ops;

/* Creates a session and installs it on the card with cl_card_set_sm(). */
cl_rc cl_emrtd_sm_install(cl_card *card, const struct cl_emrtd_session *s);

/* ---- Files -------------------------------------------------------------- */

/* SELECT an elementary file by identifier (00 A4 02 0C 02 hi lo). */
cl_rc cl_emrtd_select_ef(cl_card *card, uint16_t fid);

/*
 * READ BINARY of up to n bytes at offset from the selected file into out;
 * *got is how many came (fewer at the end of the file). Offsets up to 32767
 * use INS B0; larger ones INS B1 with the offset in DO'54' and the data in
 * DO'53'.
 */
cl_rc cl_emrtd_read_binary(cl_card *card, size_t offset, size_t n, uint8_t *out, size_t *got);

/*
 * Selects a file and reads it whole: the first 4 bytes give the length of
 * its one TLV object, the rest is read in chunks of CL_EMRTD_READ_CHUNK. The
 * content is appended to out (reset first); a file longer than out's maximum
 * or CL_EMRTD_FILE_MAX is CL_E_BUFFER_TOO_SMALL, one that ends early
 * CL_E_END_OF_FILE.
 */
cl_rc cl_emrtd_read_file(cl_card *card, uint16_t fid, struct hm_buf *out);

#endif
