/* The signer the server sees: picks a backend, binds it to its certificate, counts. */
#include "sign_int.h"

#include "hs/jws.h"

#include "hm/log.h"
#include "hm/util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 43 characters of base64url for 32 bytes, and the NUL. */
#define KID_LEN 43

struct hs_signer {
    const struct hs_signer_ops *ops;
    void *ctx; /* the backend's, freed by ops->close */
    struct hs_cert *cert;
    char kid[KID_LEN + 1];
    atomic_uint_fast64_t count;
};

static const struct hs_signer_ops *const backends[] = {
    &hs_signer_pem_ops,
    &hs_signer_pkcs11_ops,
};

/* A fixed message for the open-time check that key and certificate belong together. */
static const char self_test_msg[] = "huimin signer self-test: key and certificate must match";

static const struct hs_signer_ops *find_backend(const char *kind)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(backends); i++)
        if (strcmp(backends[i]->name, kind) == 0)
            return backends[i];
    return NULL;
}

hs_rc hs_signer_open(const struct hs_signer_config *cfg, struct hs_signer **out)
{
    uint8_t digest[HS_SHA256_LEN];
    uint8_t sig[HS_ES256_SIG_LEN];
    const uint8_t *spki;
    size_t spki_len;
    struct hs_signer *s;
    hs_rc rc;

    if (!out)
        return HS_E_INVALID_ARG;
    *out = NULL;
    if (!cfg || !cfg->kind || !cfg->cert_file)
        return HS_E_INVALID_ARG;

    s = calloc(1, sizeof(*s));
    if (!s)
        return HS_E_NO_MEMORY;
    atomic_init(&s->count, 0);
    s->ops = find_backend(cfg->kind);
    if (!s->ops) {
        hm_log_error("signer: unknown key kind \"%s\" (use pem or pkcs11)", cfg->kind);
        rc = HS_E_CONFIG;
        goto out_free_signer;
    }

    rc = hs_cert_load_pem_file(cfg->cert_file, &s->cert);
    if (rc != HS_OK) {
        hm_log_error("signer: cannot use the certificate %s", cfg->cert_file);
        goto out_free_signer;
    }
    spki = hs_cert_spki(s->cert, &spki_len);
    hs_sha256(spki, spki_len, digest);
    hs_b64url_encode(digest, sizeof(digest), s->kid);

    rc = s->ops->open(cfg, &s->ctx);
    if (rc != HS_OK)
        goto out_free_signer;

    /* Sign and verify once: a key that does not match the certificate would
     * make every answer unverifiable, so it is refused here, not in the field. */
    hs_sha256(self_test_msg, sizeof(self_test_msg) - 1, digest);
    rc = s->ops->sign_digest(s->ctx, digest, sig);
    if (rc != HS_OK) {
        hm_log_error("signer: the %s key cannot sign: %s", s->ops->name, hs_strerror(rc));
        rc = HS_E_KEY;
        goto out_free_signer;
    }
    if (hs_cert_verify_digest(s->cert, digest, sig) != HS_OK) {
        hm_log_error("signer: the %s key does not match the certificate %s (kid %s)", s->ops->name,
                     cfg->cert_file, s->kid);
        rc = HS_E_KEY;
        goto out_free_signer;
    }
    hm_log_info("signer: %s key ready, kid %s", s->ops->name, s->kid);
    *out = s;
    return HS_OK;

out_free_signer:
    hs_signer_free(s);
    return rc;
}

void hs_signer_free(struct hs_signer *s)
{
    if (!s)
        return;
    if (s->ops)
        s->ops->close(s->ctx);
    hs_cert_free(s->cert);
    free(s);
}

hs_rc hs_signer_sign(struct hs_signer *s, const uint8_t *msg, size_t len,
                     uint8_t sig[HS_ES256_SIG_LEN])
{
    uint8_t digest[HS_SHA256_LEN];
    hs_rc rc;

    if (!s || (!msg && len) || !sig)
        return HS_E_INVALID_ARG;
    hs_sha256(msg ? (const void *)msg : "", len, digest);
    rc = s->ops->sign_digest(s->ctx, digest, sig);
    if (rc != HS_OK) {
        memset(sig, 0, HS_ES256_SIG_LEN);
        return rc;
    }
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
    return HS_OK;
}

const uint8_t *hs_signer_cert_der(const struct hs_signer *s, size_t *len)
{
    return hs_cert_der(s->cert, len);
}

const char *hs_signer_cert_pem(const struct hs_signer *s)
{
    return hs_cert_pem(s->cert);
}

const char *hs_signer_kid(const struct hs_signer *s)
{
    return s->kid;
}

const char *hs_signer_kind(const struct hs_signer *s)
{
    return s->ops->name;
}

uint64_t hs_signer_count(const struct hs_signer *s)
{
    return atomic_load_explicit(&s->count, memory_order_relaxed);
}

const struct hs_cert *hs_signer_cert(const struct hs_signer *s)
{
    return s->cert;
}

hs_rc hs_signer_verify_cert(const uint8_t *cert_der, size_t cert_len, const uint8_t *msg,
                            size_t len, const uint8_t sig[HS_ES256_SIG_LEN])
{
    uint8_t digest[HS_SHA256_LEN];
    struct hs_cert *c;
    hs_rc rc;

    if (!cert_der || (!msg && len) || !sig)
        return HS_E_INVALID_ARG;
    rc = hs_cert_parse_der(cert_der, cert_len, &c);
    if (rc != HS_OK)
        return rc;
    hs_sha256(msg ? (const void *)msg : "", len, digest);
    rc = hs_cert_verify_digest(c, digest, sig);
    hs_cert_free(c);
    return rc;
}
