/* Remembers recently verified card certificates so each confirmation does not rebuild the issuer's
 * trust store and re-verify the chain. */
#include "certcache.h"

#include "hm/util.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

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
}

void hs_certcache_cleanup(struct hs_certcache *cc)
{
    pthread_mutex_destroy(&cc->lock);
}

static bool digest(const uint8_t *der, size_t len, uint8_t out[32])
{
    unsigned n = 0;
    return EVP_Digest(der, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

static size_t slot_of(const uint8_t h[32])
{
    size_t v = 0;
    memcpy(&v, h, sizeof(v));
    return v % HS_CERTCACHE_SLOTS;
}

uint64_t hs_certcache_generation(struct hs_certcache *cc)
{
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    uint64_t g = cc->generation;
    pthread_mutex_unlock(&cc->lock);
    return g;
}

bool hs_certcache_hit(struct hs_certcache *cc, const uint8_t *der, size_t len, int64_t now)
{
    uint8_t h[32];
    if (!cc || !der || !digest(der, len, h))
        return false;
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    const struct hs_certcache_slot *s = &cc->slots[slot_of(h)];
    bool hit = s->until > now && s->generation == cc->generation && memcmp(s->hash, h, 32) == 0;
    if (hit)
        cc->hits++;
    else
        cc->misses++;
    pthread_mutex_unlock(&cc->lock);
    return hit;
}

/* The certificate's notAfter as unix seconds, or 0 when it cannot be read. */
static int64_t not_after(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    struct tm tm;
    int64_t t = 0;
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (int64_t)timegm(&tm);
    X509_free(x);
    return t;
}

void hs_certcache_put(struct hs_certcache *cc, const uint8_t *der, size_t len, int64_t now,
                      uint64_t gen)
{
    uint8_t h[32];
    if (!cc || !der || !digest(der, len, h))
        return;
    int64_t until = now + HS_CERTCACHE_TTL, end = not_after(der, len);
    if (end <= now)
        return;
    if (end < until)
        until = end;
    pthread_mutex_lock(&cc->lock);
    refresh(cc);
    if (gen != cc->generation) {
        pthread_mutex_unlock(&cc->lock); /* verified against files that have changed */
        return;
    }
    struct hs_certcache_slot *s = &cc->slots[slot_of(h)];
    memcpy(s->hash, h, 32);
    s->until = until;
    s->generation = cc->generation;
    pthread_mutex_unlock(&cc->lock);
}
