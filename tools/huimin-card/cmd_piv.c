/* huimin-card's welfare-card commands: info, verify, sign, cert and pin verify|change|unblock. */
#include "hc.h"

#include "cl/piv.h"
#include "hm/hex.h"
#include "hm/util.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MSG_MAX (16 * 1024 * 1024)

struct piv_opts {
    struct hc *hc;
    const char *ca, *crl, *in, *out;
    const char *pin, *new_pin, *puk;
    uint8_t key;
};

static int piv_opt(void *arg, int opt, const char *val)
{
    struct piv_opts *o = arg;

    switch (opt) {
    case 'C':
        o->ca = val;
        return 0;
    case 'L':
        o->crl = val;
        return 0;
    case 'i':
        o->in = val;
        return 0;
    case 'o':
        o->out = val;
        return 0;
    case 'P':
        o->pin = val;
        return 0;
    case 'N':
        o->new_pin = val;
        return 0;
    case 'U':
        o->puk = val;
        return 0;
    case 'k':
        if (strcasecmp(val, "9a") == 0)
            o->key = CL_PIV_KEY_AUTH;
        else if (strcasecmp(val, "9c") == 0)
            o->key = CL_PIV_KEY_SIGN;
        else if (strcasecmp(val, "9d") == 0)
            o->key = CL_PIV_KEY_KEYMGMT;
        else if (strcasecmp(val, "9e") == 0)
            o->key = CL_PIV_KEY_CARDAUTH;
        else
            return hc_usage_error(o->hc, "--key is 9a, 9c, 9d or 9e, not '%s'", val);
        return 0;
    default:
        return HC_EXIT_USAGE;
    }
}

static const struct option piv_long[] = {
    { "ca", required_argument, NULL, 'C' },
    { "crl", required_argument, NULL, 'L' },
    { "in", required_argument, NULL, 'i' },
    { "out", required_argument, NULL, 'o' },
    { "pin", required_argument, NULL, 'P' },
    { "new-pin", required_argument, NULL, 'N' },
    { "puk", required_argument, NULL, 'U' },
    { "key", required_argument, NULL, 'k' },
    { NULL, 0, NULL, 0 },
};

/*
 * A secret from the option, else $HUIMIN_<ENV>, else a line on stdin (without
 * echo on a terminal). The caller wipes buf.
 */
static bool read_secret(const char *given, const char *env, const char *prompt, char *buf,
                        size_t cap)
{
    const char *e = getenv(env);
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO);
    size_t n;

    if (given)
        return hm_strlcpy(buf, given, cap) < cap;
    if (e)
        return hm_strlcpy(buf, e, cap) < cap;
    if (tty) {
        fprintf(stderr, "%s: ", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    if (!fgets(buf, (int)cap, stdin))
        buf[0] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return n > 0;
}

/* Connects and selects the PIV application; reports failures. */
static int open_piv(struct hc *hc, cl_card **card)
{
    int ret = hc_connect(hc, CL_SHARE_SHARED, card);
    cl_rc rc;

    if (ret)
        return ret;
    rc = cl_piv_select(*card, NULL);
    if (rc != CL_OK) {
        ret = hc_fail(hc, rc,
                      rc == CL_E_APP_NOT_FOUND ? "this is not a welfare card (no PIV application)"
                                               : "cannot select the welfare application");
        cl_card_disconnect(*card, false);
        *card = NULL;
    }
    return ret;
}

static void asn1_time_text(const ASN1_TIME *t, char *buf, size_t cap)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(buf, cap, "%Y-%m-%d", &tm);
    else
        hm_strlcpy(buf, "?", cap);
}

/* Subject, validity and holder of a slot's certificate, as JSON and text. */
static json_t *cert_json(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    char subject[256] = "", issuer[256] = "", nb[16], na[16], name[128], no[64];
    json_t *o;

    if (!x)
        return json_pack("{s:s}", "error", "certificate does not parse");
    X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
    X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
    asn1_time_text(X509_get0_notBefore(x), nb, sizeof(nb));
    asn1_time_text(X509_get0_notAfter(x), na, sizeof(na));
    cl_piv_cert_holder(der, len, name, sizeof(name), no, sizeof(no));
    o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "subject", subject, "issuer", issuer, "not_before",
                  nb, "not_after", na, "holder", name, "welfare_no", no);
    X509_free(x);
    return o;
}

static int cmd_info(struct hc *hc, int argc, char **argv)
{
    static const uint8_t keys[] = { CL_PIV_KEY_CARDAUTH, CL_PIV_KEY_SIGN, CL_PIV_KEY_AUTH };
    static uint8_t der[CL_PIV_CERT_MAX], obj[4096];
    struct piv_opts o = { .hc = hc };
    struct cl_piv_chuid chuid;
    json_t *out, *certs;
    cl_card *card = NULL;
    int first, ret, tries = -1;
    size_t n = 0;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, piv_long, "", piv_opt, &o, &first);
    if (ret)
        return ret;
    if (first < argc)
        return hc_usage_error(hc, "info takes no arguments");
    ret = open_piv(hc, &card);
    if (ret)
        return ret;
    out = json_object();
    certs = json_object();
    rc = cl_piv_get_data(card, CL_PIV_OBJ_CHUID, obj, sizeof(obj), &n);
    if (rc == CL_OK && cl_piv_parse_chuid(obj, n, &chuid) == CL_OK) {
        if (chuid.has_guid)
            json_object_set_new(out, "card_serial", hc_json_hex(chuid.guid, sizeof(chuid.guid)));
        if (chuid.expiry[0])
            json_object_set_new(out, "card_expiry", json_string(chuid.expiry));
    }
    for (size_t i = 0; i < HM_ARRAY_SIZE(keys); i++) {
        size_t len = 0;
        char slot[4];

        snprintf(slot, sizeof(slot), "%02x", keys[i]);
        rc = cl_piv_read_cert(card, keys[i], der, sizeof(der), &len);
        if (rc == CL_OK) {
            json_t *c = cert_json(der, len);

            if (keys[i] == CL_PIV_KEY_CARDAUTH) {
                json_object_set(out, "holder", json_object_get(c, "holder"));
                json_object_set(out, "welfare_no", json_object_get(c, "welfare_no"));
            }
            json_object_set_new(certs, slot, c);
        } else if (rc == CL_E_CARD_REMOVED || rc == CL_E_SERVICE_STOPPED) {
            json_decref(out);
            json_decref(certs);
            cl_card_disconnect(card, false);
            return hc_fail(hc, rc, "reading the card");
        }
    }
    json_object_set_new(out, "certificates", certs);
    rc = cl_piv_pin_status(card, &tries);
    json_object_set_new(out, "pin_tries_left", tries >= 0 ? json_integer(tries) : json_null());
    json_object_set_new(out, "pin_blocked", json_boolean(rc == CL_E_AUTH_BLOCKED));
    cl_card_disconnect(card, false);

    if (hc->json) {
        hc_json_out(out);
        return HC_EXIT_OK;
    }
    {
        const char *holder = json_string_value(json_object_get(out, "holder"));
        const char *no = json_string_value(json_object_get(out, "welfare_no"));
        const char *serial = json_string_value(json_object_get(out, "card_serial"));
        const char *key;
        json_t *c;

        printf("Holder:        %s\n", holder && *holder ? holder : "(not on the card)");
        printf("Welfare no.:   %s\n", no && *no ? no : "(not on the card)");
        printf("Card serial:   %s\n", serial ? serial : "(no CHUID)");
        if (rc == CL_E_AUTH_BLOCKED)
            printf("PIN:           BLOCKED - unblock with the PUK at the service desk\n");
        else if (tries >= 0)
            printf("PIN:           %d tries left\n", tries);
        else
            printf("PIN:           verified in this session\n");
        json_object_foreach(certs, key, c)
        {
            printf("Certificate %s: %s\n", key, json_string_value(json_object_get(c, "subject")));
            printf("               issued by %s\n",
                   json_string_value(json_object_get(c, "issuer")));
            printf("               valid %s to %s\n",
                   json_string_value(json_object_get(c, "not_before")),
                   json_string_value(json_object_get(c, "not_after")));
        }
    }
    json_decref(out);
    return HC_EXIT_OK;
}

static int cmd_verify(struct hc *hc, int argc, char **argv)
{
    static struct cl_piv_evidence ev;
    struct piv_opts o = { .hc = hc };
    struct cl_piv_trust trust = { 0 };
    struct cl_verdict v;
    uint8_t challenge[32];
    cl_card *card = NULL;
    int first, ret;
    bool genuine;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, piv_long, "", piv_opt, &o, &first);
    if (ret)
        return ret;
    if (!o.ca)
        return hc_usage_error(hc, "verify needs --ca FILE (the issuer CA certificate, PEM)");
    if (access(o.ca, R_OK) != 0)
        return hc_usage_error(hc, "cannot read the CA file '%s'", o.ca);
    if (o.crl && access(o.crl, R_OK) != 0)
        return hc_usage_error(hc, "cannot read the CRL file '%s'", o.crl);
    if (RAND_bytes(challenge, sizeof(challenge)) != 1)
        return hc_fail(hc, CL_E_CRYPTO, "no random challenge");
    ret = open_piv(hc, &card);
    if (ret)
        return ret;
    rc = cl_piv_collect(card, challenge, sizeof(challenge), &ev);
    cl_card_disconnect(card, false);
    if (rc != CL_OK && rc != CL_E_FILE_NOT_FOUND && rc != CL_E_SECURITY_STATUS &&
        rc != CL_E_REF_DATA_NOT_FOUND)
        return hc_fail(hc, rc, "reading the card's credentials");
    trust.ca_file = o.ca;
    trust.crl_file = o.crl;
    rc = cl_piv_verify(&trust, &ev, &v);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "cannot load the CA or CRL file");
    genuine = cl_piv_genuine(&v);
    if (hc->json) {
        json_t *checks = json_array();

        for (size_t i = 0; i < v.n; i++) {
            json_t *c = json_pack("{s:s,s:s}", "check", v.checks[i].name, "result",
                                  cl_check_state_name(v.checks[i].state));

            if (v.checks[i].reason[0])
                json_object_set_new(c, "reason", json_string(v.checks[i].reason));
            json_array_append_new(checks, c);
        }
        hc_json_out(json_pack("{s:b,s:o}", "genuine", genuine, "checks", checks));
    } else {
        for (size_t i = 0; i < v.n; i++)
            printf("%-11s %-12s %s\n", v.checks[i].name,
                   v.checks[i].state == CL_CHECK_PASSED   ? "passed"
                   : v.checks[i].state == CL_CHECK_FAILED ? "FAILED"
                                                          : "not checked",
                   v.checks[i].reason);
        if (genuine) {
            printf("The card is genuine.\n");
        } else {
            const struct cl_check *f = cl_verdict_first_failure(&v);

            printf("The card is NOT genuine: %s%s%s. Keep the card and call a member of staff.\n",
                   f ? f->name : "a required check was not made", f ? ": " : "",
                   f ? f->reason : "");
        }
    }
    return genuine ? HC_EXIT_OK : HC_EXIT_VERIFY;
}

static bool read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);

    if (!f || !buf) {
        free(buf);
        return false;
    }
    for (;;) {
        size_t got;

        if (n == cap) {
            uint8_t *nb = cap < MSG_MAX ? realloc(buf, cap * 2) : NULL;

            if (!nb) {
                free(buf);
                if (f != stdin)
                    fclose(f);
                return false;
            }
            buf = nb;
            cap *= 2;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (f != stdin)
        fclose(f);
    *out = buf;
    *len = n;
    return true;
}

static int cmd_sign(struct hc *hc, int argc, char **argv)
{
    static uint8_t der[CL_PIV_CERT_MAX];
    struct piv_opts o = { .hc = hc, .key = CL_PIV_KEY_SIGN };
    uint8_t input[512], sig[512], alg = 0, *msg = NULL;
    size_t der_len = 0, input_len = 0, sig_len = 0, msg_len = 0;
    char pin[32];
    cl_card *card = NULL;
    int first, ret, tries = -1;
    FILE *f;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, piv_long, "", piv_opt, &o, &first);
    if (ret)
        return ret;
    if (!o.in || !o.out)
        return hc_usage_error(hc, "sign needs --in FILE (the message, - for stdin) and --out FILE");
    if (!read_file(o.in, &msg, &msg_len))
        return hc_usage_error(hc, "cannot read '%s' (at most 16 MiB)", o.in);
    ret = open_piv(hc, &card);
    if (ret) {
        free(msg);
        return ret;
    }
    rc = cl_piv_read_cert(card, o.key, der, sizeof(der), &der_len);
    if (rc == CL_OK)
        rc = cl_piv_sign_input(der, der_len, msg, msg_len, &alg, input, sizeof(input), &input_len);
    free(msg);
    if (rc != CL_OK) {
        cl_card_disconnect(card, false);
        return hc_fail(hc, rc, "the card has no usable certificate for that key");
    }
    if (o.key != CL_PIV_KEY_CARDAUTH) {
        if (!read_secret(o.pin, "HUIMIN_PIN", "PIN", pin, sizeof(pin))) {
            cl_card_disconnect(card, false);
            return hc_usage_error(hc, "a PIN is needed (--pin, $HUIMIN_PIN or stdin)");
        }
        (void)cl_card_begin(card);
        rc = cl_piv_verify_pin(card, pin, &tries);
        hm_wipe(pin, sizeof(pin));
        if (rc != CL_OK) {
            char what[96];

            (void)cl_card_end(card);
            cl_card_disconnect(card, false);
            if (rc == CL_E_PIN_INCORRECT)
                snprintf(what, sizeof(what), "wrong PIN, %d tries left", tries);
            else
                snprintf(what, sizeof(what), "PIN not accepted");
            return hc_fail(hc, rc, what);
        }
    }
    rc = cl_piv_sign(card, o.key, alg, input, input_len, sig, sizeof(sig), &sig_len);
    if (o.key != CL_PIV_KEY_CARDAUTH)
        (void)cl_card_end(card);
    cl_card_disconnect(card, false);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "the card did not sign");
    f = fopen(o.out, "wb");
    if (!f || fwrite(sig, 1, sig_len, f) != sig_len || fclose(f) != 0) {
        fprintf(stderr, "huimin-card sign: cannot write '%s': %s\n", o.out, strerror(errno));
        return HC_EXIT_USAGE;
    }
    if (hc->json)
        hc_json_out(json_pack("{s:s,s:i,s:s}", "key", cl_piv_key_name(o.key), "signature_bytes",
                              (int)sig_len, "out", o.out));
    else
        printf("Signed with %s (SHA-256, %s); %zu-byte signature written to %s\n",
               cl_piv_key_name(o.key), alg == CL_PIV_ALG_RSA2048 ? "RSA PKCS#1 v1.5" : "ECDSA",
               sig_len, o.out);
    return HC_EXIT_OK;
}

static int cmd_cert(struct hc *hc, int argc, char **argv)
{
    static uint8_t der[CL_PIV_CERT_MAX];
    struct piv_opts o = { .hc = hc, .key = CL_PIV_KEY_SIGN };
    const unsigned char *p = der;
    size_t len = 0;
    cl_card *card = NULL;
    X509 *x;
    FILE *f;
    int first, ret;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, piv_long, "", piv_opt, &o, &first);
    if (ret)
        return ret;
    ret = open_piv(hc, &card);
    if (ret)
        return ret;
    rc = cl_piv_read_cert(card, o.key, der, sizeof(der), &len);
    cl_card_disconnect(card, false);
    if (rc != CL_OK)
        return hc_fail(hc, rc, "cannot read the certificate");
    x = d2i_X509(NULL, &p, (long)len);
    f = o.out ? fopen(o.out, "w") : stdout;
    if (!x || !f || PEM_write_X509(f, x) != 1) {
        X509_free(x);
        return hc_fail(hc, CL_E_CERT_INVALID, "cannot write the certificate");
    }
    X509_free(x);
    if (o.out)
        fclose(f);
    return HC_EXIT_OK;
}

static int pin_report(struct hc *hc, cl_rc rc, int tries, const char *done)
{
    if (rc == CL_OK) {
        if (hc->json)
            hc_json_out(json_pack("{s:b}", "ok", 1));
        else
            printf("%s\n", done);
        return HC_EXIT_OK;
    }
    if (rc == CL_E_PIN_INCORRECT) {
        char what[80];

        snprintf(what, sizeof(what), "wrong value, %d tries left", tries);
        return hc_fail(hc, rc, what);
    }
    if (rc == CL_E_AUTH_BLOCKED)
        return hc_fail(hc, rc,
                       "blocked: the PIN must be unblocked with the PUK at the service desk");
    return hc_fail(hc, rc, "the card refused");
}

static int cmd_pin(struct hc *hc, int argc, char **argv)
{
    struct piv_opts o = { .hc = hc };
    char a[32] = "", b[32] = "";
    cl_card *card = NULL;
    int first, ret, tries = -1;
    const char *sub;
    cl_rc rc;

    ret = hc_parse(hc, argc, argv, piv_long, "", piv_opt, &o, &first);
    if (ret)
        return ret;
    if (first + 1 != argc)
        return hc_usage_error(hc, "pin needs one of: verify, change, unblock, status");
    sub = argv[first];
    if (strcmp(sub, "verify") && strcmp(sub, "change") && strcmp(sub, "unblock") &&
        strcmp(sub, "status"))
        return hc_usage_error(hc, "pin needs one of: verify, change, unblock, status (not '%s')",
                              sub);
    if (strcmp(sub, "verify") == 0 || strcmp(sub, "change") == 0) {
        if (!read_secret(o.pin, "HUIMIN_PIN", "PIN", a, sizeof(a)))
            return hc_usage_error(hc, "a PIN is needed (--pin, $HUIMIN_PIN or stdin)");
    } else if (strcmp(sub, "unblock") == 0) {
        if (!read_secret(o.puk, "HUIMIN_PUK", "PUK", a, sizeof(a)))
            return hc_usage_error(hc, "the PUK is needed (--puk, $HUIMIN_PUK or stdin)");
    }
    if (strcmp(sub, "change") == 0 || strcmp(sub, "unblock") == 0) {
        if (!read_secret(o.new_pin, "HUIMIN_NEW_PIN", "New PIN", b, sizeof(b))) {
            hm_wipe(a, sizeof(a));
            return hc_usage_error(hc, "a new PIN is needed (--new-pin, $HUIMIN_NEW_PIN or stdin)");
        }
    }
    ret = open_piv(hc, &card);
    if (ret) {
        hm_wipe(a, sizeof(a));
        hm_wipe(b, sizeof(b));
        return ret;
    }
    if (strcmp(sub, "verify") == 0) {
        rc = cl_piv_verify_pin(card, a, &tries);
        ret = rc == CL_E_INVALID_ARG ? hc_usage_error(hc, "the PIN is 6 to 8 digits")
                                     : pin_report(hc, rc, tries, "PIN correct.");
    } else if (strcmp(sub, "change") == 0) {
        rc = cl_piv_change_ref(card, CL_PIV_REF_PIN, a, b, &tries);
        ret = rc == CL_E_INVALID_ARG ? hc_usage_error(hc, "PINs are 6 to 8 digits")
                                     : pin_report(hc, rc, tries, "PIN changed.");
    } else if (strcmp(sub, "unblock") == 0) {
        rc = cl_piv_unblock_pin(card, a, b, &tries);
        ret = rc == CL_E_INVALID_ARG
                  ? hc_usage_error(hc, "the PUK is 8 digits and the new PIN 6 to 8 digits")
                  : pin_report(hc, rc, tries, "PIN unblocked and set.");
    } else {
        rc = cl_piv_pin_status(card, &tries);
        if (hc->json)
            hc_json_out(json_pack("{s:b,s:o}", "blocked", rc == CL_E_AUTH_BLOCKED, "tries_left",
                                  tries >= 0 ? json_integer(tries) : json_null()));
        else if (rc == CL_E_AUTH_BLOCKED)
            printf("PIN blocked.\n");
        else
            printf("PIN: %d tries left.\n", tries);
        ret = (rc == CL_OK || rc == CL_E_SECURITY_STATUS || rc == CL_E_AUTH_BLOCKED)
                  ? HC_EXIT_OK
                  : hc_fail(hc, rc, "cannot read the PIN state");
    }
    hm_wipe(a, sizeof(a));
    hm_wipe(b, sizeof(b));
    cl_card_disconnect(card, false);
    return ret;
}

const struct hc_cmd hc_piv_cmds[] = {
    { "info", "", "the welfare card's holder, serial, certificates, PIN tries", cmd_info },
    { "verify", "--ca FILE [--crl FILE]", "check that the welfare card is genuine", cmd_verify },
    { "sign", "--in FILE --out FILE [--key 9c]", "sign a file with the card (SHA-256)", cmd_sign },
    { "cert", "[--key 9c] [--out FILE]", "export a slot's certificate (PEM)", cmd_cert },
    { "pin", "verify|change|unblock|status", "PIN operations (PIN/PUK from stdin or --pin/--puk)",
      cmd_pin },
    { NULL, NULL, NULL, NULL },
};
