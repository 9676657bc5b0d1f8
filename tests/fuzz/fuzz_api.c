/*
 * Fuzz target for the /v1 request handlers (hs_api_handle), without sockets:
 * the first input bytes choose the method, path and content type, the rest is
 * the body, sent as an enrolled kiosk. Whatever comes in, the answer has a
 * status, an error answer is JSON with a code, and a signed answer verifies.
 * The deployment (SQLite in a temporary folder, a PEM signing key, an issuer
 * CA) is made once.
 */
#include "hs/api.h"
#include "hs/jws.h"
#include "hs/registry.h"
#include "hs/seal.h"

#include "hm/log.h"
#include "pki.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hs_config cfg;
static struct hs_store *store;
static struct hs_signer *signer;
static struct hs_api *api;
static uint8_t *cert_der;
static size_t cert_len;
static char dir[256];

static const struct hs_peer kiosk_peer = {
    .sha256 = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",
    .subject_cn = "kiosk-fuzz",
    .serial = "01",
};

static void cleanup(void)
{
    hs_api_free(api);
    hs_signer_free(signer);
    hs_store_close(store);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_api: could not remove %s\n", dir);
}

/* Two ID sessions (43 characters, as the API wants), a man's and a woman's, so the
 * appointment routes get past the session check: their citizen IDs sealed under the seal key. */
#define FUZZ_ID_SESSION_A "fuzzIdSessionAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FUZZ_ID_SESSION_B "fuzzIdSessionBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
static uint8_t seal_key[HS_SEAL_KEY_LEN];

static hs_rc seed_id_session(struct hs_conn *c, const char *sid, const char *id, const char *sex)
{
    uint8_t pkey[HS_PERSON_KEY_LEN], *blob = NULL;
    size_t blen = 0;
    char person[HS_PERSON_LEN + 1], aad[64];
    snprintf(aad, sizeof(aad), "id-session:%s", sid);
    if (hs_person_key(seal_key, pkey) != HS_OK || hs_person_of(pkey, id, 18, person) != HS_OK ||
        hs_seal(seal_key, aad, (const uint8_t *)id, 18, &blob, &blen) != HS_OK)
        return HS_E_CRYPTO;
    const struct hs_val p[] = { hs_text(sid), hs_text(person), hs_text(sex), hs_blob(blob, blen) };
    hs_rc rc =
        hs_exec(c,
                "INSERT INTO id_sessions (id, kiosk_id, person, name, id_masked, sex, birth, "
                "province, sealed_id, created_at, expires_at) VALUES ($1, 'kiosk-fuzz', $2, "
                "'N', '451***********0000', $3, '1990-01-01', '45', $4, 1, 4102444800)",
                p, 4, NULL);
    free(blob);
    return rc;
}

/* A resident with a paid payment and an open card session "fuzz-session", so the benefit
 * routes get past the session check; a registry with a special date and two ID sessions for
 * the appointment routes. */
static hs_rc seed_fn(struct hs_conn *c, void *arg)
{
    (void)arg;
    static const char *const sql[] = {
        "INSERT INTO programmes (code, name, category, form, period, standard_fen, care_tier, "
        "region_code, source, created_at) VALUES ('p', 'P', 'dibao', 'cash', 'month', 100, '', "
        "'1', '', 1)",
        "INSERT INTO residents (id, citizen_id, name, welfare_no, birth_date, region_code, flags, "
        "created_at) VALUES ('R1', '1', 'F', 'WF1', '1950-01-01', '1', 1, 1)",
        "INSERT INTO entitlements (id, resident_id, programme, amount_fen, period, start_date, "
        "status, reason, created_at, updated_at) VALUES ('E1', 'R1', 'p', 100, 'month', "
        "'2020-01-01', 1, '', 1, 1)",
        "INSERT INTO payments (id, entitlement_id, period, amount_fen, channel, account_masked, "
        "paid_date, status, created_at, updated_at) VALUES ('P1', 'E1', '2026-01', 100, 'bank', "
        "'****1', '2026-01-10', 2, 1, 1)",
        "INSERT INTO card_sessions (id, kiosk_id, cert_serial, welfare_no, created_at, "
        "expires_at) VALUES ('fuzz-session', 'kiosk-fuzz', '1', 'WF1', 1, 4102444800)",
        "INSERT INTO offices (id, name, region, cross_province, services, hours, slot_minutes, "
        "capacity, created_at) VALUES ('o1', 'O', '451123', 1, 'marriage;reissue', "
        "'mon-sun 08:00-18:00', 30, 2, 1)",
        "INSERT INTO office_days (office_id, day, kind, capacity, hours, opens_at, note) VALUES "
        "('o1', '2027-05-20', 'special', 3, '09:00-10:00', 1810137600, '')",
        "INSERT INTO office_days (office_id, day, kind, capacity, hours, opens_at, note) VALUES "
        "('o1', '2027-01-01', 'closed', NULL, '', NULL, '')",
    };
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        hs_rc rc = hs_exec(c, sql[i], NULL, 0, NULL);
        if (rc != HS_OK)
            return rc;
    }
    hs_rc rc = seed_id_session(c, FUZZ_ID_SESSION_A, "451123198807220014", "M");
    if (rc == HS_OK)
        rc = seed_id_session(c, FUZZ_ID_SESSION_B, "451123199103040028", "F");
    return rc;
}

static void setup(void)
{
    hm_log_init("fuzz_api", HM_LOG_ERROR);
    /* /dev/shm keeps the durable commits cheap. */
    snprintf(dir, sizeof(dir), "%s/fuzz_api.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        abort();
    hs_config_defaults(&cfg, dir);
    cfg.nonce_ttl_s = 60;
    cfg.session_ttl_s = 300;
    char key[300], cert[300], db[300];
    snprintf(key, sizeof(key), "%s/signing.key", dir);
    snprintf(cert, sizeof(cert), "%s/signing.pem", dir);
    snprintf(db, sizeof(db), "%s/huimin.db", dir);
    snprintf(cfg.issuer_ca, sizeof(cfg.issuer_ca), "%s", cert);
    cfg.issuer_crl[0] = '\0';
    cfg.csca_dir[0] = '\0';
    snprintf(cfg.seal_key, sizeof(cfg.seal_key), "%s/seal.key", dir);
    for (size_t i = 0; i < sizeof(seal_key); i++)
        seal_key[i] = (uint8_t)(i * 7 + 1);
    FILE *sk = fopen(cfg.seal_key, "wb");
    if (!sk || fwrite(seal_key, 1, sizeof(seal_key), sk) != sizeof(seal_key) || fclose(sk) != 0)
        abort();

    struct pki_ca ca;
    if (pki_ca_create(&ca, "Fuzz Signing", 30) != 0 || pki_ca_save(&ca, cert, key) != 0 ||
        pki_cert_der(ca.cert, &cert_der, &cert_len) != 0)
        abort();
    pki_ca_free(&ca);

    struct hs_store_config sc = { .backend = HS_BACKEND_SQLITE, .target = db };
    struct hs_signer_config sg = { .kind = "pem", .key_file = key, .cert_file = cert };
    if (hs_store_open(&sc, &store) != HS_OK || hs_signer_open(&sg, &signer) != HS_OK)
        abort();
    struct hs_kiosk k = { .id = "kiosk-fuzz", .name = "fuzz", .office = "fuzz" };
    memcpy(k.cert_sha256, kiosk_peer.sha256, sizeof(k.cert_sha256));
    memcpy(k.cert_serial, "01", 3);
    if (hs_kiosk_enroll(store, &k, "fuzz", 1) != HS_OK ||
        hs_store_write(store, seed_fn, NULL) != HS_OK)
        abort();
    struct hs_api_deps deps = {
        .cfg = &cfg, .store = store, .signer = signer, .test_id_sessions = true
    };
    if (hs_api_new(&deps, &api) != HS_OK)
        abort();
    atexit(cleanup);
}

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "HEAD" };
static const char *const paths[] = {
    "/v1/health",
    "/metrics",
    "/v1/signing-cert",
    "/v1/jwks",
    "/v1/nonces",
    "/v1/card-sessions",
    "/v1/revocations",
    "/v1/staff-calls",
    "/v1/staff-calls/abc",
    "/v1/",
    "/",
    "/v1/staff-calls/",
    "/v1/status",
    "/v1/confirmations",
    "/v1/disputes",
    "/v1/id-sessions",
    "/v1/test/id-sessions",
    "/v1/offices",
    "/v1/availability",
    "/v1/appointments",
    "/v1/appointments/cancel",
    "/v1/appointments/reschedule",
    "/v1/appointments/mine",
    "/v1/check-ins",
};
static const char *const ctypes[] = {
    "application/json", "application/json; charset=utf-8", "text/plain", NULL, "application/jsonx",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api)
        setup();
    if (size < 3)
        return 0;
    char path[128];
    uint8_t sel = data[1];
    if (sel & 0x80) {
        /* A path from the input: up to the first NUL or 100 bytes. */
        size_t n = 0;
        while (n + 3 < size && n < 100 && data[3 + n])
            n++;
        memcpy(path, data + 3, n);
        path[n] = '\0';
    } else {
        snprintf(path, sizeof(path), "%s", paths[sel % (sizeof(paths) / sizeof(paths[0]))]);
    }
    size_t body_len = size - 3;
    uint8_t *body = malloc(body_len + 1);
    if (!body)
        return 0;
    memcpy(body, data + 3, body_len);
    body[body_len] = '\0';

    struct hs_http_request req = {
        .method = methods[data[0] % 5],
        .path = path,
        .content_type = ctypes[data[2] % 5],
        .body = body,
        .body_len = body_len,
        .peer = (data[2] & 0x80) ? NULL : &kiosk_peer,
        .remote_addr = "127.0.0.1",
        .id = 1,
    };
    struct hs_http_response res = { .status = 0 };
    hm_buf_init(&res.body, 1 << 20);
    hs_api_handle(api, &req, &res);

    if (res.status < 200 || res.status > 599)
        abort();
    const char *ct = res.content_type ? res.content_type : "";
    if (res.status >= 400 && strncmp(ct, "application/json", 16) == 0) {
        json_t *j = json_loadb((const char *)res.body.data, res.body.len, 0, NULL);
        if (!j || !json_is_string(json_object_get(json_object_get(j, "error"), "code")))
            abort();
        json_decref(j);
    }
    if (res.status < 300 && strcmp(ct, "application/jose") == 0) {
        uint8_t *payload = NULL;
        size_t plen = 0;
        if (hs_jws_verify((const char *)res.body.data, res.body.len, cert_der, cert_len, &payload,
                          &plen, NULL) != HS_OK)
            abort();
        free(payload);
    }
    hm_buf_free(&res.body);
    free(body);
    return 0;
}
