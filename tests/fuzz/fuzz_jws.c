/*
 * Fuzz target for the JWS verifier and the strict base64url decoder: tokens
 * come from the network (kiosks verify every answer; huimin-verify reads any
 * token a resident shows). The input is tried as a whole token, and as a
 * base64url string; a token that verifies must decode to a payload whose
 * re-encoding is the token's middle part.
 */
#include "hs/jws.h"

#include "hm/log.h"
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *cert_der;
static size_t cert_len;

static void setup(void)
{
    hm_log_init("fuzz_jws", HM_LOG_ERROR);
    struct pki_ca ca;
    if (pki_ca_create(&ca, "Fuzz JWS", 30) != 0 || pki_cert_der(ca.cert, &cert_der, &cert_len) != 0)
        abort();
    pki_ca_free(&ca);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cert_der)
        setup();
    uint8_t *payload = NULL;
    size_t plen = 0;
    char kid[64];
    if (hs_jws_verify((const char *)data, size, cert_der, cert_len, &payload, &plen, kid) ==
        HS_OK) {
        /* Only our own key's signatures verify, and fuzzing cannot make one. */
        abort();
    }
    free(payload);

    uint8_t out[4096];
    size_t n = 0;
    if (size <= HS_B64URL_LEN(sizeof(out)) &&
        hs_b64url_decode((const char *)data, size, out, sizeof(out), &n) == HS_OK) {
        char *again = malloc(HS_B64URL_LEN(n) + 1);
        if (!again)
            return 0;
        size_t m = hs_b64url_encode(out, n, again);
        /* Strict decoding: the only accepted spelling is the canonical one. */
        if (m != size || memcmp(again, data, size) != 0)
            abort();
        free(again);
    }
    return 0;
}
