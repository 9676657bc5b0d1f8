/* The PEM-file key backend: an OpenSSL EVP_PKEY that many threads sign with at once, lock-free. */
#include "sign_int.h"

#include "hm/buf.h"
#include "hm/log.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A PEM private key file larger than this is not ours. */
#define KEY_FILE_MAX (16 * 1024)

#define PEM_CTX_POOL 16

/*
 * The key and signing contexts ready for it: making a context looks the
 * algorithm up in OpenSSL 3's provider tables (locks, allocations), so idle
 * ones are kept and reused; each is used by one thread at a time.
 */
struct pem_key {
    EVP_PKEY *pkey;
    pthread_mutex_t lock;
    EVP_PKEY_CTX *idle[PEM_CTX_POOL];
    size_t n_idle;
};

/* Refuses to prompt for a passphrase: the server runs unattended, and an
 * encrypted key file should be a PKCS#11 token instead. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* Reads the whole file into a secret buffer (wiped when freed). */
static hs_rc read_key_file(const char *path, struct hm_buf *b)
{
    uint8_t chunk[1024];
    FILE *f = fopen(path, "rb");
    size_t n;
    hs_rc rc = HS_OK;

    if (!f) {
        hm_log_error("signer: cannot open the key file %s: %s", path, strerror(errno));
        return HS_E_KEY;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (!hm_buf_add(b, chunk, n)) {
            hm_log_error("signer: the key file %s is larger than %d bytes", path, KEY_FILE_MAX);
            rc = HS_E_KEY;
            break;
        }
    }
    if (rc == HS_OK && ferror(f)) {
        hm_log_error("signer: cannot read the key file %s", path);
        rc = HS_E_KEY;
    }
    OPENSSL_cleanse(chunk, sizeof(chunk));
    fclose(f);
    return rc;
}

static hs_rc pem_open(const struct hs_signer_config *cfg, void **ctx)
{
    struct hm_buf file;
    struct pem_key *k;
    char group[64];
    BIO *bio;
    hs_rc rc;

    *ctx = NULL;
    if (!cfg->key_file) {
        hm_log_error("signer: kind pem needs a key file");
        return HS_E_CONFIG;
    }
    k = calloc(1, sizeof(*k));
    if (!k)
        return HS_E_NO_MEMORY;
    pthread_mutex_init(&k->lock, NULL);

    hm_buf_init_secret(&file, KEY_FILE_MAX);
    rc = read_key_file(cfg->key_file, &file);
    if (rc != HS_OK)
        goto out_free_file;
    if (file.len == 0) {
        hm_log_error("signer: the key file %s is empty", cfg->key_file);
        rc = HS_E_KEY;
        goto out_free_file;
    }
    bio = BIO_new_mem_buf(file.data, (int)file.len);
    if (!bio) {
        rc = HS_E_NO_MEMORY;
        goto out_free_file;
    }
    k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (!k->pkey) {
        hs_sign_log_ossl("signer: the key file holds no unencrypted PEM private key");
        rc = HS_E_KEY;
        goto out_free_file;
    }
    if (!EVP_PKEY_is_a(k->pkey, "EC") ||
        !EVP_PKEY_get_group_name(k->pkey, group, sizeof(group), NULL) ||
        strcmp(group, SN_X9_62_prime256v1) != 0) {
        ERR_clear_error();
        hm_log_error("signer: the key in %s is not an EC P-256 key (ES256 needs one)",
                     cfg->key_file);
        rc = HS_E_KEY;
        goto out_free_file;
    }
    *ctx = k;
    k = NULL;

out_free_file:
    hm_buf_free(&file);
    if (k) {
        pthread_mutex_destroy(&k->lock);
        EVP_PKEY_free(k->pkey);
        free(k);
    }
    return rc;
}

static EVP_PKEY_CTX *ctx_take(struct pem_key *k)
{
    EVP_PKEY_CTX *pctx = NULL;

    pthread_mutex_lock(&k->lock);
    if (k->n_idle)
        pctx = k->idle[--k->n_idle];
    pthread_mutex_unlock(&k->lock);
    if (pctx)
        return pctx;
    /* OpenSSL 3 allows concurrent signing with one EVP_PKEY as long as each
     * thread has its own context. */
    pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (pctx && EVP_PKEY_sign_init(pctx) <= 0) {
        EVP_PKEY_CTX_free(pctx);
        pctx = NULL;
    }
    return pctx;
}

static void ctx_give_back(struct pem_key *k, EVP_PKEY_CTX *pctx)
{
    pthread_mutex_lock(&k->lock);
    if (k->n_idle < PEM_CTX_POOL) {
        k->idle[k->n_idle++] = pctx;
        pctx = NULL;
    }
    pthread_mutex_unlock(&k->lock);
    EVP_PKEY_CTX_free(pctx);
}

static hs_rc pem_sign_digest(void *ctx, const uint8_t digest[HS_SHA256_LEN],
                             uint8_t sig[HS_ES256_SIG_LEN])
{
    struct pem_key *k = ctx;
    unsigned char der[80]; /* an ECDSA-Sig-Value over P-256 is at most 72 bytes */
    size_t der_len = sizeof(der);
    const unsigned char *p = der;
    const BIGNUM *r, *s;
    ECDSA_SIG *es = NULL;
    EVP_PKEY_CTX *pctx;
    hs_rc rc = HS_E_CRYPTO;

    pctx = ctx_take(k);
    if (!pctx || EVP_PKEY_sign(pctx, der, &der_len, digest, HS_SHA256_LEN) <= 0) {
        hs_sign_log_ossl("signer: ECDSA signing failed");
        EVP_PKEY_CTX_free(pctx); /* a context that failed is not reused */
        return HS_E_CRYPTO;
    }
    ctx_give_back(k, pctx);
    es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!es) {
        hs_sign_log_ossl("signer: OpenSSL returned a signature that does not parse");
        return HS_E_CRYPTO;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, HS_P256_COORD) != HS_P256_COORD ||
        BN_bn2binpad(s, sig + HS_P256_COORD, HS_P256_COORD) != HS_P256_COORD)
        hm_log_error("signer: an ECDSA value does not fit in 32 bytes");
    else
        rc = HS_OK;
    ECDSA_SIG_free(es);
    return rc;
}

static void pem_close(void *ctx)
{
    struct pem_key *k = ctx;

    if (!k)
        return;
    for (size_t i = 0; i < k->n_idle; i++)
        EVP_PKEY_CTX_free(k->idle[i]);
    pthread_mutex_destroy(&k->lock);
    /* EVP_PKEY_free clears the private scalar (BN_clear_free) before freeing. */
    EVP_PKEY_free(k->pkey);
    free(k);
}

const struct hs_signer_ops hs_signer_pem_ops = {
    .name = "pem",
    .open = pem_open,
    .sign_digest = pem_sign_digest,
    .close = pem_close,
};
