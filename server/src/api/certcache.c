/* Remembers recently verified card certificates so each confirmation does not rebuild the issuer's
 * trust store and re-verify the chain. */
#include "certcache.h"

#include "cl/piv.h"
#include "hm/util.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void file_stamp(const char *path, uint64_t out[3])
{
    struct stat sb;
    if (!path || stat(path, &sb) != 0) {
        out[0] = out[1] = out[2] = 0;
        return;
    }
    out[0] = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
    out[1] = (uint64_t)sb.st_size;
    out[2] = (uint64_t)sb.st_ino;
}

/* With the lock held: a new generation when a trust file changed. */
static void refresh(struct hs_certcache *cc)
{
    uint64_t now = hm_now_ms();
    if (cc->checked_ms && now - cc->checked_ms < 1000)
        return;
    cc->checked_ms = now;
    uint64_t s[2][3];
    file_stamp(cc->ca_file, s[0]);
    file_stamp(cc->crl_file, s[1]);
    if (memcmp(s, cc->stamp, sizeof(s)) != 0) {
        memcpy(cc->stamp, s, sizeof(s));
        cc->generation++;
    }
}

void hs_certcache_init(struct hs_certcache *cc, const char *ca_file, const char *crl_file)
{
    memset(cc, 0, sizeof(*cc));
    pthread_mutex_init(&cc->lock, NULL);
    cc->ca_file = ca_file;
    cc->crl_file = crl_file;
    cc->generation = 1;
    file_stamp(ca_file, cc->stamp[0]);
    file_stamp(crl_file, cc->stamp[1]);
    cc->checked_ms = hm_now_ms();
    cc->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void hs_certcache_cleanup(struct hs_certcache *cc)
{
    for (size_t i = 0; i < HS_CERTCACHE_SLOTS; i++)
        EVP_PKEY_CTX_free(cc->slots[i].verify);
    cl_piv_verifier_free(cc->vf);
    EVP_MD_free(cc->sha256);
    pthread_mutex_destroy(&cc->lock);
}

static bool digest(const uint8_t *der, size_t len, uint8_t out[32])
{
    unsigned n = 0;
    return EVP_Digest(der, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* The first slot of the certificate's set. */
static size_t set_of(const uint8_t h[32])
{
    size_t v = 0;
    memcpy(&v, h, sizeof(v));
    return (v % (HS_CERTCACHE_SLOTS / HS_CERTCACHE_WAYS)) * HS_CERTCACHE_WAYS;
}

/* With the lock held: the slot holding h, or NULL. */
static struct hs_certcache_slot *lookup(struct hs_certcache *cc, const uint8_t h[32])
{
    struct hs_certcache_slot *set = &cc->slots[set_of(h)];
    for (int w = 0; w < HS_CERTCACHE_WAYS; w++)
        if (set[w].until && memcmp(set[w].hash, h, 32) == 0)
            return &set[w];
    return NULL;
}

/* With the lock held: where h goes: its own slot, an empty or dead one, else the least recent. */
static struct hs_certcache_slot *victim(struct hs_certcache *cc, const uint8_t h[32], int64_t now)
{
    struct hs_certcache_slot *set = &cc->slots[set_of(h)], *v = lookup(cc, h);
    if (v)
        return v;
    v = &set[0];
    for (int w = 0; w < HS_CERTCACHE_WAYS; w++) {
        struct hs_certcache_slot *s = &set[w];
        if (s->until <= now || s->generation != cc->generation)
            return s;
        if (s->used < v->used)
            v = s;
    }
    return v;
}

hs_rc hs_certcache_check(struct hs_certcache *cc, const uint8_t *der, size_t len, int64_t now,
                         const uint8_t *msg, size_t msg_len, const uint8_t *sig, size_t sig_len,
                         struct hs_certinfo *info)
{
    uint8_t h[32], md[32];
    unsigned md_len = 0;
    EVP_PKEY_CTX *vctx = NULL;
    if (!cc || !der || !cc->sha256 || !digest(der, len, h))
        return HS_E_NOT_FOUND;
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    struct hs_certcache_slot *s = lookup(cc, h);
    /* The copy is made under the lock: the slot's context may be replaced once it is let go. */
    if (s && s->until > now && s->generation == cc->generation && s->verify &&
        (vctx = EVP_PKEY_CTX_dup(s->verify)) != NULL) {
        *info = s->info;
        s->used = ++cc->clock;
        cc->hits++;
    } else {
        cc->misses++;
    }
    pthread_mutex_unlock(&cc->lock);
    if (!vctx) {
        ERR_clear_error();
        return HS_E_NOT_FOUND;
    }
    /* What EVP_DigestVerify would do: ECDSA over the SHA-256 of msg, the signature strict DER. */
    bool ok = EVP_Digest(msg, msg_len, md, &md_len, cc->sha256, NULL) == 1 && md_len == 32 &&
              EVP_PKEY_verify(vctx, sig, sig_len, md, md_len) == 1;
    EVP_PKEY_CTX_free(vctx);
    ERR_clear_error();
    return ok ? HS_OK : HS_E_SIGNATURE;
}

void hs_certcache_put(struct hs_certcache *cc, const uint8_t *der, size_t len,
                      const struct hs_certinfo *info, struct evp_pkey_st *key, int64_t not_after,
                      int64_t now, uint64_t gen)
{
    uint8_t h[32];
    if (!cc || !der || !key || not_after <= now || !digest(der, len, h))
        return;
    /* Made before the lock is taken: the context holds its own reference to the key. */
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (!vctx || EVP_PKEY_verify_init(vctx) != 1) {
        EVP_PKEY_CTX_free(vctx);
        ERR_clear_error();
        return;
    }
    int64_t until = now + HS_CERTCACHE_TTL;
    if (not_after < until)
        until = not_after;
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    if (gen != cc->generation) {
        pthread_mutex_unlock(&cc->lock); /* verified against files that have changed */
        EVP_PKEY_CTX_free(vctx);
        return;
    }
    struct hs_certcache_slot *s = victim(cc, h, now);
    EVP_PKEY_CTX *old = s->verify;
    memcpy(s->hash, h, 32);
    s->until = until;
    s->generation = cc->generation;
    s->used = ++cc->clock;
    s->info = *info;
    s->verify = vctx;
    pthread_mutex_unlock(&cc->lock);
    EVP_PKEY_CTX_free(old);
}

struct cl_piv_verifier *hs_certcache_verifier(struct hs_certcache *cc, uint64_t *gen)
{
    cl_piv_verifier *vf = NULL, *old = NULL;
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    if (!cc->vf || cc->vf_gen != cc->generation) {
        /* Loaded under the lock: rare (start, a changed file), and one load is enough. */
        cl_piv_verifier *fresh = NULL;
        if (cl_piv_verifier_new(cc->ca_file, cc->crl_file, &fresh) == CL_OK) {
            old = cc->vf;
            cc->vf = fresh;
            cc->vf_gen = cc->generation;
        }
    }
    if (cc->vf && cc->vf_gen == cc->generation) {
        vf = cl_piv_verifier_ref(cc->vf);
        *gen = cc->vf_gen;
    }
    pthread_mutex_unlock(&cc->lock);
    cl_piv_verifier_free(old);
    return vf;
}
