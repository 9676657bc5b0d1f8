/*
 * Card certificates the server has verified recently (certcache.c): a
 * certificate that chained to the issuer CA, was valid, allowed signatures
 * and was not on the CRL need not be verified again for a while. Entries are
 * keyed by the SHA-256 of the certificate's DER, live at most
 * HS_CERTCACHE_TTL seconds and never past the certificate's notAfter, and are
 * all dropped when the issuer CA or CRL file changes (by mtime, size and
 * inode, looked at no more than once a second). Only successes are kept, so
 * the cache can make the server faster but never more lenient than its
 * files. The card registry is still asked every time.
 */
#ifndef HS_CERTCACHE_H
#define HS_CERTCACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs/error.h"

/*
 * 16384 certificates in sets of 4, the least recently used of a set giving way:
 * a deployment's cards each have two certificates (9E for sessions, 9C for
 * confirmations), and with one slot per hash two live certificates that share
 * a slot would push each other out on every use (5,000 live certificates in
 * 4,096 single slots: 2,136 of them were not found again).
 */
#define HS_CERTCACHE_SLOTS 16384
#define HS_CERTCACHE_WAYS  4
#define HS_CERTCACHE_TTL   300

/* What a request needs of a card certificate, read from it once. */
struct hs_certinfo {
    char welfare_no[32]; /* subject serialNumber */
    char serial[64];     /* the certificate's serial, decimal */
};

struct evp_pkey_st; /* OpenSSL's EVP_PKEY and EVP_PKEY_CTX, kept opaque here */
struct evp_pkey_ctx_st;

struct hs_certcache_slot {
    uint8_t hash[32];
    int64_t until; /* 0: empty */
    uint64_t generation;
    uint64_t used; /* the cache's clock at the last put or hit (the set's LRU order) */
    struct hs_certinfo info;
    /* The certificate's public key made ready to verify (EVP_PKEY_verify_init,
     * holding a reference to the key), copied for each check: OpenSSL 3 spends
     * ~10 us setting up a fresh one (fetching the algorithm, exporting the key
     * to its provider), an eighth of the verification itself. */
    struct evp_pkey_ctx_st *verify;
};

struct hs_certcache {
    pthread_mutex_t lock;
    const char *ca_file, *crl_file; /* crl_file may be NULL */
    uint64_t generation;            /* bumped when a trust file changes */
    uint64_t checked_ms;            /* when the files were last looked at */
    uint64_t stamp[2][3];           /* mtime ns, size, inode of each file */
    uint64_t hits, misses;
    uint64_t clock;             /* counts puts and hits */
    void *sha256;               /* the SHA-256 implementation, fetched once (EVP_MD) */
    struct cl_piv_verifier *vf; /* the trust files loaded, or NULL; of vf_gen */
    uint64_t vf_gen;
    struct hs_certcache_slot slots[HS_CERTCACHE_SLOTS];
};

/* Sets up an empty cache for these trust files (which must outlive it). */
void hs_certcache_init(struct hs_certcache *cc, const char *ca_file, const char *crl_file);
void hs_certcache_cleanup(struct hs_certcache *cc);
/*
 * When der was verified within the TTL, is still within its validity at now
 * and the trust files have not changed since: fills info, checks that sig
 * (DER ECDSA) is the certificate key's over SHA-256 of msg, and returns
 * HS_OK or HS_E_SIGNATURE, with no certificate parsing (OpenSSL 3 decodes a
 * certificate's key slowly and under locks). HS_E_NOT_FOUND when der is not
 * cached: verify it in full, then hs_certcache_put().
 */
hs_rc hs_certcache_check(struct hs_certcache *cc, const uint8_t *der, size_t len, int64_t now,
                         const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                         struct hs_certinfo *info);
/*
 * Remembers that der verified at now, with what the caller read of it (info,
 * key: a reference is taken, not_after), against the trust files of
 * generation gen; nothing is kept if they changed since, or the key is NULL.
 */
void hs_certcache_put(struct hs_certcache *cc, const uint8_t *der, size_t len,
                      const struct hs_certinfo *info, struct evp_pkey_st *key, int64_t not_after,
                      int64_t now, uint64_t gen);

/*
 * The trust files loaded for verification (cardlib's verifier), made again
 * when they change: a reference the caller drops with cl_piv_verifier_free(),
 * and *gen the generation it belongs to (give it to put()). NULL when the
 * files do not load.
 */
struct cl_piv_verifier *hs_certcache_verifier(struct hs_certcache *cc, uint64_t *gen);

#endif
