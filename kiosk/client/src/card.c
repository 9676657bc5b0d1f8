/* The card part of a kiosk: a tap opens a card session, a confirmation is signed on the card,
 * journaled, then sent. */
#include "internal.h"

#include "cl/piv.h"
#include "cl/verdict.h"
#include "hs/jws.h"

#include "hm/util.h"

#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kc_rc card_fail(kc_client *c, cl_rc crc, const char *what)
{
    kc_rc rc;

    switch (crc) {
    case CL_E_NO_SERVICE:
    case CL_E_SERVICE_STOPPED:
    case CL_E_NO_READERS:
    case CL_E_READER_NOT_FOUND:
    case CL_E_READER_UNAVAILABLE:
    case CL_E_NO_CARD:
    case CL_E_CARD_REMOVED:
        rc = KC_E_NO_CARD;
        break;
    case CL_E_PIN_INCORRECT:
        rc = KC_E_PIN_INCORRECT;
        break;
    case CL_E_AUTH_BLOCKED:
        rc = KC_E_PIN_BLOCKED;
        break;
    default:
        rc = KC_E_CARD;
    }
    c->err.card_rc = (int)crc;
    return kc_err_set(c, rc, "%s: %s", what, cl_strerror(crc));
}

/* base64url of bytes as a new JSON string. */
static json_t *b64_json(const uint8_t *p, size_t n)
{
    char *s = malloc(HS_B64URL_LEN(n) + 1);
    json_t *j;

    if (!s)
        return NULL;
    hs_b64url_encode(p, n, s);
    j = json_string(s);
    free(s);
    return j;
}

kc_rc kc_tap(kc_client *c, cl_card *card, struct kc_session *out)
{
    struct cl_piv_evidence *ev = NULL;
    struct cl_verdict verdict;
    char nonce[64], name[128], welfare_no[32];
    json_t *cj, *p = NULL;
    char *body = NULL;
    const char *sid, *w, *holder, *serial;
    cl_rc crc;
    kc_rc rc;

    if (!c || !card || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    crc = cl_piv_select(card, NULL);
    if (crc != CL_OK)
        return card_fail(c, crc, "cannot select the welfare application");
    rc = kc_nonce(c, "card-session", nonce, NULL);
    if (rc != KC_OK)
        return rc;
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        return KC_E_NO_MEMORY;
    crc = cl_piv_collect(card, (const uint8_t *)nonce, strlen(nonce), ev);
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card did not answer the challenge");
        goto out;
    }
    if (c->issuer_ca[0]) {
        /* Every check twice: here first, then on the server. */
        struct cl_piv_trust trust = { .ca_file = c->issuer_ca, .crl_file = NULL, .now = kc_now(c) };

        crc = cl_piv_verify(&trust, ev, &verdict);
        if (crc != CL_OK || !cl_piv_genuine(&verdict)) {
            const struct cl_check *f = crc == CL_OK ? cl_verdict_first_failure(&verdict) : NULL;

            hm_strlcpy(c->err.failed_check, f ? f->name : "verify", sizeof(c->err.failed_check));

            rc = kc_err_set(c, KC_E_VERIFY, "the card is not genuine: %s: %s",
                            f ? f->name : "verify", f ? f->reason : cl_strerror(crc));
            goto out;
        }
    }
    crc = cl_piv_cert_holder(ev->cert, ev->cert_len, name, sizeof(name), welfare_no,
                             sizeof(welfare_no));
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card's certificate names no holder");
        goto out;
    }
    cj = json_pack("{s:o,s:i,s:o}", "cert", b64_json(ev->cert, ev->cert_len), "alg", (int)ev->alg,
                   "signature", b64_json(ev->sig, ev->sig_len));
    if (cj && ev->chuid_len)
        json_object_set_new(cj, "chuid", b64_json(ev->chuid, ev->chuid_len));
    p = json_pack("{s:s,s:o}", "nonce", nonce, "card", cj);
    body = p ? json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(p);
    p = NULL;
    if (!body) {
        rc = KC_E_NO_MEMORY;
        goto out;
    }
    /* Opening a session consumes the nonce: not repeated after a lost answer. */
    rc = kc_call(c, "/v1/card-sessions", body, "huimin-card-session", false, &p);
    if (rc != KC_OK)
        goto out;
    sid = json_string_value(json_object_get(p, "session"));
    w = json_string_value(json_object_get(p, "welfare_no"));
    holder = json_string_value(json_object_get(p, "holder"));
    serial = json_string_value(json_object_get(p, "card_serial"));
    if (!sid || !w || strcmp(w, welfare_no) != 0 || !holder || !serial ||
        hm_strlcpy(out->id, sid, sizeof(out->id)) >= sizeof(out->id) ||
        hm_strlcpy(out->holder, holder, sizeof(out->holder)) >= sizeof(out->holder) ||
        hm_strlcpy(out->card_serial, serial, sizeof(out->card_serial)) >=
            sizeof(out->card_serial)) {
        memset(out, 0, sizeof(*out));
        rc = kc_err_set(c, KC_E_VERIFY, "the session is not for the card on the reader");
        goto out;
    }
    hm_strlcpy(out->welfare_no, w, sizeof(out->welfare_no));
    out->exp = json_integer_value(json_object_get(p, "exp"));
    rc = kc_sha256(ev->cert, ev->cert_len, out->card_sha256);
out:
    json_decref(p);
    free(body);
    if (ev)
        hm_wipe(ev, sizeof(*ev));
    free(ev);
    return rc;
}

kc_rc kc_tap_offline(kc_client *c, cl_card *card, struct kc_session *out)
{
    struct cl_piv_evidence *ev = NULL;
    struct cl_verdict verdict;
    uint8_t raw[32];
    char challenge[64], name[128], welfare_no[32];
    cl_rc crc;
    kc_rc rc;

    if (!c || !card || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));
    if (!c->issuer_ca[0])
        return kc_err_set(c, KC_E_CONFIG,
                          "a card can be checked at the kiosk only with issuer_ca configured");
    crc = cl_piv_select(card, NULL);
    if (crc != CL_OK)
        return card_fail(c, crc, "cannot select the welfare application");
    /* Our own challenge, as unpredictable as the server's: 43 characters of base64url. */
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return kc_err_set(c, KC_E_NO_MEMORY, "no random challenge");
    hs_b64url_encode(raw, sizeof(raw), challenge);
    ev = calloc(1, sizeof(*ev));
    if (!ev)
        return KC_E_NO_MEMORY;
    crc = cl_piv_collect(card, (const uint8_t *)challenge, strlen(challenge), ev);
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card did not answer the challenge");
        goto out;
    }
    struct cl_piv_trust trust = { .ca_file = c->issuer_ca, .crl_file = NULL, .now = kc_now(c) };

    crc = cl_piv_verify(&trust, ev, &verdict);
    if (crc != CL_OK || !cl_piv_genuine(&verdict)) {
        const struct cl_check *f = crc == CL_OK ? cl_verdict_first_failure(&verdict) : NULL;

        hm_strlcpy(c->err.failed_check, f ? f->name : "verify", sizeof(c->err.failed_check));
        rc = kc_err_set(c, KC_E_VERIFY, "the card is not genuine: %s: %s", f ? f->name : "verify",
                        f ? f->reason : cl_strerror(crc));
        goto out;
    }
    crc = cl_piv_cert_holder(ev->cert, ev->cert_len, name, sizeof(name), welfare_no,
                             sizeof(welfare_no));
    if (crc != CL_OK || !welfare_no[0]) {
        rc = card_fail(c, crc != CL_OK ? crc : CL_E_DATA_CORRUPTED,
                       "the card's certificate names no holder");
        goto out;
    }
    hm_strlcpy(out->welfare_no, welfare_no, sizeof(out->welfare_no));
    hm_strlcpy(out->holder, name, sizeof(out->holder));
    rc = kc_sha256(ev->cert, ev->cert_len, out->card_sha256);
    if (rc != KC_OK)
        memset(out, 0, sizeof(*out));
out:
    hm_wipe(name, sizeof(name));
    hm_wipe(welfare_no, sizeof(welfare_no));
    hm_wipe(ev, sizeof(*ev));
    free(ev);
    return rc;
}

/* The receipt a 409 already_confirmed carries in detail, when it verifies. */
static void stored_receipt(kc_client *c, const char *payment, struct kc_receipt *out)
{
    json_t *p = NULL;
    char why[256];

    if (strcmp(c->err.code, "already_confirmed") != 0 || !c->err.detail[0])
        return;
    if (kc_verify_answer(c->err.detail, strlen(c->err.detail), c->signing_der, c->signing_len,
                         "huimin-receipt", c->kiosk, kc_now(c), &p, why, sizeof(why)) != KC_OK) {
        /* Another kiosk's receipt names that kiosk: show only what we can verify. */
        return;
    }
    if (kc_receipt_fill(p, c->err.detail, NULL, payment, out, why, sizeof(why)) == KC_OK)
        out->again = true;
    json_decref(p);
}

/* The journal already holds this payment: deliver that request instead of signing again. */
static kc_rc redeliver(kc_client *c, const struct kc_entry *e, char *req, struct kc_receipt *out)
{
    kc_rc rc = kc_deliver(c, e, req, out);

    free(req);
    if (rc == KC_OK)
        out->again = true;
    if (rc == KC_E_NETWORK && e->state == KC_ENTRY_PENDING)
        return kc_err_set(c, KC_E_QUEUED, "journal entry %lld waits for the server",
                          (long long)e->id);
    return rc;
}

/* The statement of step 2 of docs/API.md, canonical (sorted keys, compact). */
static char *statement_new(kc_client *c, const struct kc_session *s, const struct kc_payment *p,
                           const char *nonce)
{
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:i,s:s}", "amount_fen",
                          (json_int_t)p->amount_fen, "kiosk", c->kiosk, "nonce", nonce, "payment",
                          p->id, "period", p->period, "time", (json_int_t)kc_now(c), "typ",
                          "huimin-confirmation", "v", 1, "welfare_no", s->welfare_no);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(j);
    return text;
}

/*
 * Test hook: changes one byte of a signed statement, the last digit of its
 * amount (5340 becomes 5341), so that it stays canonical JSON but is no
 * longer what the card signed.
 */
static void alter_statement(char *statement)
{
    char *p = strstr(statement, "\"amount_fen\":");

    if (!p)
        return;
    p += strlen("\"amount_fen\":");
    while (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9')
        p++;
    if (*p >= '0' && *p <= '9')
        *p = (char)(*p ^ 1);
}

kc_rc kc_confirm(kc_client *c, cl_card *card, const struct kc_session *s,
                 const struct kc_payment *p, const char *pin, struct kc_receipt *out)
{
    static const size_t sig_cap = 512;
    uint8_t *cert = NULL, input[512], sig[512], alg = 0;
    size_t cert_len = 0, input_len = 0, sig_len = 0;
    uint8_t key = pin ? CL_PIV_KEY_SIGN : CL_PIV_KEY_CARDAUTH;
    char nonce[64], hash[32], *statement = NULL, *journal_body = NULL, *live_body = NULL;
    char *req = NULL;
    struct kc_entry e;
    json_t *j = NULL;
    int tries = -1;
    bool in_tx = false;
    cl_rc crc;
    kc_rc rc;

    if (!c || !card || !s || !p || !p->id || !p->period || !out)
        return KC_E_INVALID_ARG;
    kc_err_reset(c);
    memset(out, 0, sizeof(*out));

    /* At most one signed confirmation per payment leaves this kiosk. */
    rc = kc_journal_find_payment(c->journal, p->id, &e, &req);
    if (rc == KC_OK)
        return redeliver(c, &e, req, out);
    if (rc != KC_E_NOT_FOUND)
        return kc_err_set(c, KC_E_JOURNAL, "cannot read the journal");

    crc = cl_piv_select(card, NULL);
    if (crc != CL_OK)
        return card_fail(c, crc, "cannot select the welfare application");
    rc = kc_nonce(c, "confirm", nonce, NULL);
    if (rc != KC_OK)
        return rc;
    statement = statement_new(c, s, p, nonce);
    cert = malloc(CL_PIV_CERT_MAX);
    if (!statement || !cert) {
        rc = KC_E_NO_MEMORY;
        goto out;
    }
    crc = cl_piv_read_cert(card, key, cert, CL_PIV_CERT_MAX, &cert_len);
    if (crc == CL_OK)
        crc = cl_piv_sign_input(cert, cert_len, (const uint8_t *)statement, strlen(statement), &alg,
                                input, sizeof(input), &input_len);
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card has no usable signing certificate");
        goto out;
    }
    if (pin) {
        /* VERIFY PIN and the signature in one transaction, so nothing comes between. */
        (void)cl_card_begin(card);
        in_tx = true;
        crc = cl_piv_verify_pin(card, pin, &tries);
        if (crc != CL_OK) {
            rc = card_fail(c, crc, crc == CL_E_PIN_INCORRECT ? "wrong PIN" : "PIN not accepted");
            c->err.tries_left = tries;
            goto out;
        }
    }
    crc = cl_piv_sign(card, key, alg, input, input_len, sig, sig_cap, &sig_len);
    if (in_tx) {
        (void)cl_card_end(card);
        in_tx = false;
    }
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card did not sign");
        goto out;
    }
    crc = cl_piv_check_signature(cert, cert_len, (const uint8_t *)statement, strlen(statement), sig,
                                 sig_len);
    if (crc != CL_OK) {
        rc = card_fail(c, crc, "the card's signature does not verify with its certificate");
        goto out;
    }
    if (c->alter_statement)
        alter_statement(statement);
    rc = kc_statement_hash((const uint8_t *)statement, strlen(statement), hash);
    if (rc != KC_OK)
        goto out;

    /* The journal's copy is a journal delivery ("session": null); the live one names the session.
     */
    j = json_pack("{s:n,s:o,s:s,s:o,s:o}", "session", "statement",
                  b64_json((const uint8_t *)statement, strlen(statement)), "key", pin ? "9c" : "9e",
                  "cert", b64_json(cert, cert_len), "signature", b64_json(sig, sig_len));
    journal_body = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (j)
        json_object_set_new(j, "session", json_string(s->id));
    live_body = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!journal_body || !live_body) {
        rc = KC_E_NO_MEMORY;
        goto out;
    }
    memset(&e, 0, sizeof(e));
    hm_strlcpy(e.payment, p->id, sizeof(e.payment));
    hm_strlcpy(e.statement_hash, hash, sizeof(e.statement_hash));
    e.state = KC_ENTRY_PENDING;
    /* Written (durably) before it is sent; without the journal nothing is sent. */
    rc = kc_journal_add(c->journal, kc_now(c), c->kiosk, p->id, hash, journal_body, &e.id);
    if (rc != KC_OK) {
        rc = kc_err_set(c, KC_E_JOURNAL, "cannot write the confirmation to the journal");
        goto out;
    }
    if (c->drop_confirmation) {
        (void)kc_journal_attempt(c->journal, e.id, "test: the network failed after signing");
        rc = kc_err_set(c, KC_E_QUEUED, "journal entry %lld waits for the server (test hook)",
                        (long long)e.id);
        goto out;
    }
    rc = kc_deliver(c, &e, live_body, out);
    if (rc == KC_E_NETWORK) {
        char why[sizeof(c->err.text)];

        hm_strlcpy(why, c->err.text, sizeof(why));
        rc = kc_err_set(c, KC_E_QUEUED, "journal entry %lld waits for the server: %s",
                        (long long)e.id, why);
    } else if (rc == KC_E_REFUSED)
        stored_receipt(c, p->id, out);
out:
    if (in_tx)
        (void)cl_card_end(card);
    hm_wipe(input, sizeof(input));
    json_decref(j);
    free(live_body);
    free(journal_body);
    free(statement);
    free(cert);
    return rc;
}
