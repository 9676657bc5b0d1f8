/* The server keys the kiosk client unit tests share, made once here rather than in each test. */
#include "kc_test_keys.h"

#include "hm/log.h"
#include "hs/jws.h"
#include "pki.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make_signer(const char *cn, const char *pem, const char *key, struct hs_signer **out)
{
    struct pki_ca ca;
    struct hs_signer_config sg = { .kind = "pem", .key_file = key, .cert_file = pem };

    assert_int_equal(pki_ca_create(&ca, cn, 30), 0);
    assert_int_equal(pki_ca_save(&ca, pem, key), 0);
    pki_ca_free(&ca);
    assert_int_equal(hs_signer_open(&sg, out), HS_OK);
}

void kct_keys_make(struct kct_keys *k, const char *test_name)
{
    memset(k, 0, sizeof(*k));
    hm_log_init(test_name, HM_LOG_ERROR);
    snprintf(k->dir, sizeof(k->dir), "/tmp/%s.XXXXXX", test_name);
    assert_non_null(mkdtemp(k->dir));
    snprintf(k->signing_pem, sizeof(k->signing_pem), "%s/signing.pem", k->dir);
    snprintf(k->signing_key, sizeof(k->signing_key), "%s/signing.key", k->dir);
    snprintf(k->other_pem, sizeof(k->other_pem), "%s/other.pem", k->dir);
    snprintf(k->other_key, sizeof(k->other_key), "%s/other.key", k->dir);
    make_signer("Test Signing", k->signing_pem, k->signing_key, &k->signer);
    make_signer("Another Signer", k->other_pem, k->other_key, &k->other);
}

int kct_keys_remove(struct kct_keys *k)
{
    char cmd[300];

    hs_signer_free(k->signer);
    hs_signer_free(k->other);
    k->signer = k->other = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
    return system(cmd) == 0 ? 0 : -1;
}

char *kct_sign_payload(struct hs_signer *s, const char *typ, json_t *p)
{
    char *body = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *tok = NULL;

    json_decref(p);
    assert_non_null(body);
    assert_int_equal(hs_jws_sign(s, typ, (const uint8_t *)body, strlen(body), &tok), HS_OK);
    free(body);
    return tok;
}
