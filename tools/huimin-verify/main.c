/* huimin-verify: lets hall staff check that a receipt or an appointment ticket a resident shows
 * is genuine, and see what it proves. */
#include "hv.h"

#include "hm/buf.h"
#include "hm/log.h"
#include "hm/util.h"
#include "hs/jws.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More input than this is not a token (a token is at most HS_JWS_MAX). */
#define INPUT_MAX (1024u * 1024u)
/* A protected header longer than this (decoded) is not ours. */
#define HEADER_MAX 2048

#define TYP_RECEIPT "huimin-receipt"
#define TYP_TICKET  "huimin-ticket"

struct opts {
    const char *cert, *jwks, *ca, *file, *png, *text;
    bool json, show_id, from_stdin;
};

/* Why a token is not good, in the order the checks are made. */
enum failure {
    F_NONE = 0,
    F_MALFORMED,     /* not a JWS of ours */
    F_NO_KEY,        /* the JWKS has no key for the token */
    F_SIGNATURE,     /* the signature does not verify */
    F_CERT,          /* the certificate's dates or key usage */
    F_ROOT,          /* no chain to the deployment's root */
    F_TOKEN_EXPIRED, /* the payload's exp has passed */
    F_CONTENT,       /* signed, but not a well-formed receipt or ticket */
};

static const struct {
    const char *code, *zh;
} failures[] = {
    [F_NONE] = { "none", "" },
    [F_MALFORMED] = { "malformed", "这不是惠民系统签发的凭证" },
    [F_NO_KEY] = { "unknown_key", "找不到签发它的密钥：不是本系统签发的，或 JWKS 文件已过时" },
    [F_SIGNATURE] = { "signature", "签名不符：凭证被改动过，或不是本系统签发的" },
    [F_CERT] = { "certificate", "签名证书无效或已过期" },
    [F_ROOT] = { "root", "签名证书不是本系统根证书签发的" },
    [F_TOKEN_EXPIRED] = { "expired", "凭证已过期" },
    [F_CONTENT] = { "content", "签名有效，但内容不是完整的回执或预约票" },
};

enum check_state { C_NOT_CHECKED = 0, C_PASSED, C_FAILED };

struct check {
    const char *name;
    enum check_state state;
    char reason[512];
};

struct verdict {
    struct check checks[4];
    size_t n;
    enum failure failure; /* the first failure */
    char message[512];    /* its sentence (English) */
};

struct token {
    struct hm_buf text; /* the token, whitespace removed */
    const char *source; /* "text", "file", "stdin", "png" */
    char sha256[65];
    char kid[64];   /* from the header (not yet verified) */
    char typ[64];   /* from the header; trusted once the signature verifies */
    json_t *claims; /* the verified payload when it is a JSON object */
    uint8_t *payload;
    size_t payload_len;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: huimin-verify [--cert signing.pem | --jwks FILE] [--ca root-ca.pem] [--json]\n"
            "                     [--show-id] (TOKEN | --file F | --png F.png | -)\n\n"
            "Verifies a receipt or ticket token given as text or as a PNG of its QR code, and\n"
            "prints what it proves and whether the signature and certificate are good.\n\n"
            "The key to check with (one of them is needed):\n"
            "  --cert FILE     the deployment's signing certificate, PEM (pki/signing.pem,\n"
            "                  or GET /v1/signing-cert)\n"
            "  --jwks FILE     the deployment's JWK Set (GET /v1/jwks); the key is chosen\n"
            "                  by the token's kid\n"
            "  --ca FILE       also check that the signing certificate chains to the\n"
            "                  deployment's root (pki/root-ca.pem)\n\n"
            "The token (one of them):\n"
            "  TOKEN           the token text (header.payload.signature)\n"
            "  --file F        a text file holding the token\n"
            "  --png F.png     a picture of the QR code (scan or screenshot, PNG)\n"
            "  -               read the token from standard input\n\n"
            "Output:\n"
            "  --json          print one JSON object for scripts\n"
            "  --show-id       print the welfare number in full (masked by default); a\n"
            "                  ticket holds ID numbers masked, and they stay so\n"
            "  -h, --help      this help\n"
            "\nExit status:\n"
            "  0  the token is genuine\n"
            "  1  usage error (unknown option, missing or conflicting arguments)\n"
            "  2  an input cannot be read (the file, no QR code in the picture, the\n"
            "     certificate, JWKS or root file)\n"
            "  4  not genuine: altered, not made by this deployment, not a token, or its\n"
            "     certificate expired or not from the given root\n");
}

/* Prints a JSON value on one line to stdout and releases it. */
static void json_out(json_t *v)
{
    if (!v)
        return;
    json_dumpf(v, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(v);
}

/* Reports a usage error or an unreadable input: stderr, and a JSON error with --json. */
static int fail(const struct opts *o, int code, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(const struct opts *o, int code, const char *hint, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "huimin-verify: %s\n", msg);
    if (hint)
        fprintf(stderr, "%s\n", hint);
    if (o->json)
        json_out(json_pack("{s:{s:s,s:s}}", "error", "code",
                           code == HV_EXIT_USAGE ? "usage" : "input", "message", msg));
    return code;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "cert", required_argument, NULL, 'c' }, { "jwks", required_argument, NULL, 'k' },
        { "ca", required_argument, NULL, 'a' },   { "file", required_argument, NULL, 'f' },
        { "png", required_argument, NULL, 'p' },  { "json", no_argument, NULL, 'j' },
        { "show-id", no_argument, NULL, 'S' },    { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },    { NULL, 0, NULL, 0 },
    };
    const char *try = "Try 'huimin-verify --help'.";
    int c, sources;

    opterr = 0;
    /* --json first, so that errors in the other options are reported as JSON too. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--json") == 0)
            o->json = true;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->cert = optarg;
            break;
        case 'k':
            o->jwks = optarg;
            break;
        case 'a':
            o->ca = optarg;
            break;
        case 'f':
            o->file = optarg;
            break;
        case 'p':
            o->png = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'S':
            o->show_id = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("huimin-verify %s\n", HUIMIN_VERSION);
            return -1;
        case ':':
            return fail(o, HV_EXIT_USAGE, try, "option '%s' needs a value", argv[optind - 1]);
        default:
            return fail(o, HV_EXIT_USAGE, try, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "-") == 0)
            o->from_stdin = true;
        else
            o->text = argv[optind];
        optind++;
    }
    if (optind < argc)
        return fail(o, HV_EXIT_USAGE, try, "one token at a time ('%s' is one too many)",
                    argv[optind]);
    sources = (o->text != NULL) + (o->file != NULL) + (o->png != NULL) + o->from_stdin;
    if (sources != 1)
        return fail(o, HV_EXIT_USAGE, try,
                    sources ? "give the token one way only: TOKEN, --file, --png or -"
                            : "no token: give TOKEN, --file F, --png F.png or - (standard input)");
    if (!o->cert && !o->jwks)
        return fail(o, HV_EXIT_USAGE, try,
                    "say which key to check with: --cert signing.pem (the deployment's pki "
                    "folder, or GET /v1/signing-cert) or --jwks FILE (GET /v1/jwks)");
    if (o->cert && o->jwks)
        return fail(o, HV_EXIT_USAGE, try, "give --cert or --jwks, not both");
    return 0;
}

/* Appends all of f to b; false when it does not fit or cannot be read. */
static bool read_stream(FILE *f, struct hm_buf *b)
{
    char chunk[8192];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (!hm_buf_add(b, chunk, n))
            return false;
    return !ferror(f);
}

static bool is_png(const struct hm_buf *b)
{
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

    return b->len >= sizeof(sig) && memcmp(b->data, sig, sizeof(sig)) == 0;
}

/* Gets the token into t->text from wherever the options say. Returns 0 or an exit code. */
static int read_token(const struct opts *o, struct token *t)
{
    struct hm_buf raw;
    char err[1024];
    size_t j = 0;
    int rc = 0;

    hm_buf_init(&raw, INPUT_MAX);
    if (o->png) {
        t->source = "png";
        if (hv_qr_read_png(o->png, &raw, err, sizeof(err)) != 0)
            rc = fail(o, HV_EXIT_INPUT, NULL, "%s", err);
    } else if (o->file || o->from_stdin) {
        FILE *f = o->file ? fopen(o->file, "rb") : stdin;
        const char *name = o->file ? o->file : "standard input";

        t->source = o->file ? "file" : "stdin";
        if (!f) {
            rc = fail(o, HV_EXIT_INPUT, NULL, "cannot open %s: %s", name, strerror(errno));
        } else {
            if (!read_stream(f, &raw))
                rc = fail(o, HV_EXIT_INPUT, NULL, "cannot read %s, or it is larger than %u KiB",
                          name, INPUT_MAX / 1024u);
            else if (is_png(&raw))
                rc = fail(o, HV_EXIT_INPUT, NULL, "%s is a PNG picture: give it with --png %s",
                          name, o->file ? o->file : "FILE");
            if (o->file)
                fclose(f);
        }
    } else {
        t->source = "text";
        if (!hm_buf_add_str(&raw, o->text))
            rc = fail(o, HV_EXIT_INPUT, NULL, "the token is larger than %u KiB", INPUT_MAX / 1024u);
    }
    /* Whitespace is never part of a token: drop line breaks of a pasted or wrapped one. */
    for (size_t i = 0; rc == 0 && i < raw.len; i++) {
        char ch = (char)raw.data[i];

        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
            raw.data[j++] = raw.data[i];
    }
    if (rc == 0) {
        raw.len = j;
        hm_buf_init(&t->text, INPUT_MAX);
        if (!hm_buf_add(&t->text, raw.data, raw.len) || !hm_buf_add_u8(&t->text, 0)) {
            rc = fail(o, HV_EXIT_INPUT, NULL, "out of memory");
        } else {
            t->text.len--; /* keep the NUL out of the length */
            hv_sha256_hex(t->text.data, t->text.len, t->sha256);
        }
    }
    hm_buf_free(&raw);
    return rc;
}

/*
 * Reads kid and typ from the protected header, before anything is verified
 * (the kid chooses the key; typ is believed only once the signature is
 * good). Returns false with why in err when it is not a JWS at all.
 */
static bool peek_header(struct token *t, char *err, size_t cap)
{
    const char *s = (const char *)t->text.data;
    const char *dot = t->text.len ? memchr(s, '.', t->text.len) : NULL;
    uint8_t hdr[HEADER_MAX];
    json_t *j, *kid, *typ;
    size_t n;

    if (t->text.len == 0) {
        snprintf(err, cap, "the input is empty");
        return false;
    }
    if (!dot || !memchr(dot + 1, '.', t->text.len - (size_t)(dot + 1 - s))) {
        snprintf(err, cap,
                 "it is not three base64url parts joined by dots "
                 "(header.payload.signature)");
        return false;
    }
    if (hs_b64url_decode(s, (size_t)(dot - s), hdr, sizeof(hdr), &n) != HS_OK) {
        snprintf(err, cap, "its header is not base64url");
        return false;
    }
    j = json_loadb((const char *)hdr, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, cap, "its header is not a JSON object");
        return false;
    }
    kid = json_object_get(j, "kid");
    typ = json_object_get(j, "typ");
    hm_strlcpy(t->kid, json_is_string(kid) ? json_string_value(kid) : "", sizeof(t->kid));
    hm_strlcpy(t->typ, json_is_string(typ) ? json_string_value(typ) : "", sizeof(t->typ));
    json_decref(j);
    return true;
}

static struct check *add_check(struct verdict *v, const char *name)
{
    struct check *c = &v->checks[v->n++];

    c->name = name;
    c->state = C_NOT_CHECKED;
    c->reason[0] = '\0';
    return c;
}

/* Marks c failed with reason; the first failure is the verdict's. */
static void check_failed(struct verdict *v, struct check *c, enum failure f, const char *reason)
{
    if (c) {
        c->state = C_FAILED;
        hm_strlcpy(c->reason, reason, sizeof(c->reason));
    }
    if (v->failure == F_NONE) {
        v->failure = f;
        hm_strlcpy(v->message, reason, sizeof(v->message));
    }
}

/* Verifies the JWS and judges the certificate. Returns 0, or an exit code for an unreadable root.
 */
static int judge(const struct opts *o, struct token *t, const struct hv_cert *cert,
                 struct verdict *v)
{
    struct check *sig = add_check(v, "signature");
    struct check *crt = add_check(v, "certificate");
    struct check *root = add_check(v, "root");
    char err[1024], cert_kid[64], subject[256], until[64];
    const uint8_t *der;
    size_t der_len;
    time_t now = time(NULL);
    hs_rc rc;

    der = hv_cert_der(cert, &der_len);
    hv_cert_kid(cert, cert_kid);
    hv_cert_subject(cert, subject, sizeof(subject));
    hv_cert_not_after(cert, until, sizeof(until));

    rc = hs_jws_verify((const char *)t->text.data, t->text.len, der, der_len, &t->payload,
                       &t->payload_len, NULL);
    switch (rc) {
    case HS_OK:
        sig->state = C_PASSED;
        snprintf(sig->reason, sizeof(sig->reason), "ES256 by the key %s", cert_kid);
        break;
    case HS_E_SIGNATURE:
        if (t->kid[0] && strcmp(t->kid, cert_kid) != 0)
            snprintf(err, sizeof(err),
                     "the signature does not match: the token was altered or not made by this "
                     "deployment (it names the key %s, the certificate's is %s)",
                     t->kid, cert_kid);
        else
            snprintf(err, sizeof(err),
                     "the signature does not match: the token was altered or "
                     "not made by this deployment");
        check_failed(v, sig, F_SIGNATURE, err);
        break;
    case HS_E_KEY:
        return fail(o, HV_EXIT_INPUT, "Give the deployment's signing.pem.",
                    "the certificate (%s) has no P-256 signing key", subject);
    case HS_E_TOO_LARGE:
        check_failed(v, sig, F_MALFORMED, "it is longer than any token (64 KiB)");
        break;
    default:
        snprintf(err, sizeof(err), "not a well-formed token: %s", hs_strerror(rc));
        check_failed(v, sig, F_MALFORMED, err);
        break;
    }

    /*
     * A signed document is judged at the time it was signed: a receipt made
     * while the certificate was valid stays good after the certificate expires
     * or is replaced. Only a signature that verified may say when that was.
     */
    if (sig->state == C_PASSED && t->payload) {
        json_t *pj = json_loadb((const char *)t->payload, t->payload_len, 0, NULL);
        json_t *iat = json_object_get(pj, "iat");
        if (json_is_integer(iat) && json_integer_value(iat) > 0 &&
            json_integer_value(iat) <= (json_int_t)now)
            now = (time_t)json_integer_value(iat);
        json_decref(pj);
    }
    if (hv_cert_check_self(cert, now, err, sizeof(err))) {
        crt->state = C_PASSED;
        snprintf(crt->reason, sizeof(crt->reason), "%s, valid until %s", subject, until);
    } else {
        check_failed(v, crt, F_CERT, err);
    }

    if (!o->ca) {
        hm_strlcpy(root->reason,
                   "give --ca root-ca.pem to check that the certificate is this "
                   "deployment's",
                   sizeof(root->reason));
        return 0;
    }
    switch (hv_cert_check_chain(cert, o->ca, now, err, sizeof(err))) {
    case HV_CHAIN_OK:
        root->state = C_PASSED;
        snprintf(root->reason, sizeof(root->reason), "chains to %s", o->ca);
        break;
    case HV_CHAIN_UNREADABLE:
        return fail(o, HV_EXIT_INPUT, "Give the deployment's root certificate (pki/root-ca.pem).",
                    "%s", err);
    case HV_CHAIN_UNTRUSTED:
        check_failed(v, root, F_ROOT, err);
        break;
    }
    return 0;
}

/* Masks identity numbers anywhere in a JSON value, unless --show-id. */
static void mask_ids(json_t *v, bool show_id)
{
    static const char *const id_keys[] = { "w", "welfare_no", "id_no", "id_number" };
    const char *key;
    json_t *m;
    size_t i;

    if (show_id)
        return;
    if (json_is_array(v)) {
        json_array_foreach(v, i, m)
        {
            mask_ids(m, show_id);
        }
        return;
    }
    json_object_foreach(v, key, m)
    {
        bool id = false;

        for (i = 0; i < HM_ARRAY_SIZE(id_keys); i++)
            id = id || strcmp(key, id_keys[i]) == 0;
        if (id && json_is_string(m)) {
            char masked[128];

            hm_mask_id(json_string_value(m), masked, sizeof(masked));
            json_object_set_new(v, key, json_string(masked));
        } else {
            mask_ids(m, show_id);
        }
    }
}

/* 75000 fen -> "750.00" (integer arithmetic). */
static void yuan(json_int_t fen, char *out, size_t cap)
{
    unsigned long long m =
        fen < 0 ? (unsigned long long)(-(fen + 1)) + 1u : (unsigned long long)fen;

    snprintf(out, cap, "%s%llu.%02llu", fen < 0 ? "-" : "", m / 100u, m % 100u);
}

static void local_time(json_int_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!localtime_r(&tt, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
        snprintf(out, cap, "%lld (unix time)", (long long)t);
}

struct receipt {
    const char *r, *w, *p, *pd, *k, *m, *s;
    json_int_t a, iat;
    char w_shown[128], amount[32], time[64];
    const char *proof_zh, *proof_en;
};

/* An appointment ticket (docs/API.md, huimin-ticket), as shown. */
struct ticket {
    const char *t, *sv, *o, *d, *sl;
    const char *sv_zh, *sv_en;
    size_t n;              /* parties: 1 or 2 */
    char name[2][128];     /* printable */
    char id_shown[2][128]; /* masked (again) unless --show-id; as in the ticket in any case */
    json_int_t iat;
    char time[64];
};

/* What a verified payload turned out to be. */
enum kind { K_OTHER = 0, K_RECEIPT, K_TICKET };

static const struct {
    const char *id, *zh, *en;
    size_t parties;
} services[] = {
    { "marriage", "结婚登记", "marriage registration", 2 },
    { "divorce_apply", "离婚登记申请", "divorce registration: application", 2 },
    { "divorce_confirm", "离婚登记确认", "divorce registration: confirmation", 2 },
    { "reissue", "补领婚姻登记证", "re-issue of a marriage certificate", 1 },
    /* hs_marriage's spellings of the divorce services. */
    { "divorce_application", "离婚登记申请", "divorce registration: application", 2 },
    { "divorce_confirmation", "离婚登记确认", "divorce registration: confirmation", 2 },
};

static const char *get_str(json_t *o, const char *key, const char **missing)
{
    json_t *v = json_object_get(o, key);

    if (json_is_string(v))
        return json_string_value(v);
    if (!*missing)
        *missing = key;
    return NULL;
}

static json_int_t get_int(json_t *o, const char *key, const char **missing)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (!*missing)
        *missing = key;
    return 0;
}

/* Reads the receipt's members; the name of the first missing or mistyped one in *missing. */
static void read_receipt(json_t *c, bool show_id, struct receipt *r, const char **missing)
{
    *missing = NULL;
    r->a = get_int(c, "a", missing);
    r->iat = get_int(c, "iat", missing);
    r->k = get_str(c, "k", missing);
    r->m = get_str(c, "m", missing);
    r->p = get_str(c, "p", missing);
    r->pd = get_str(c, "pd", missing);
    r->r = get_str(c, "r", missing);
    r->s = get_str(c, "s", missing);
    r->w = get_str(c, "w", missing);
    if (*missing)
        return;
    if (show_id)
        hm_strlcpy(r->w_shown, r->w, sizeof(r->w_shown));
    else
        hm_mask_id(r->w, r->w_shown, sizeof(r->w_shown));
    yuan(r->a, r->amount, sizeof(r->amount));
    local_time(r->iat, r->time, sizeof(r->time));
    if (strcmp(r->m, "pin") == 0) {
        r->proof_zh = "凭卡和密码确认";
        r->proof_en = "confirmed with the card and its PIN";
    } else if (strcmp(r->m, "tap") == 0) {
        r->proof_zh = "刷卡确认（免密码政策）";
        r->proof_en = "confirmed by tapping the card (tap-only policy)";
    } else {
        r->proof_zh = "未知的确认方式";
        r->proof_en = "a way of confirming this version of huimin-verify does not know";
    }
}

/* A copy of a signed text for a terminal: control characters become '?'. */
static void printable(const char *in, char *out, size_t cap)
{
    size_t i;

    for (i = 0; in[i] && i + 1 < cap; i++)
        out[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
    out[i] = '\0';
}

/*
 * Reads the ticket's members; *missing names the first missing or mistyped
 * one, *bad says what else is wrong (the parties do not match the service).
 */
static void read_ticket(json_t *c, bool show_id, struct ticket *k, const char **missing,
                        const char **bad)
{
    json_t *n = json_object_get(c, "n"), *m = json_object_get(c, "m");

    *missing = NULL;
    *bad = NULL;
    k->d = get_str(c, "d", missing);
    k->iat = get_int(c, "iat", missing);
    k->o = get_str(c, "o", missing);
    k->sl = get_str(c, "sl", missing);
    k->sv = get_str(c, "sv", missing);
    k->t = get_str(c, "t", missing);
    if (!json_is_array(n) && !*missing)
        *missing = "n";
    if (!json_is_array(m) && !*missing)
        *missing = "m";
    if (*missing)
        return;
    k->sv_zh = "未知的事项";
    k->sv_en = "a service this version of huimin-verify does not know";
    for (size_t i = 0; i < HM_ARRAY_SIZE(services); i++) {
        if (strcmp(k->sv, services[i].id) == 0) {
            k->sv_zh = services[i].zh;
            k->sv_en = services[i].en;
            if (json_array_size(n) != services[i].parties)
                *bad = "it does not name as many parties as its service has";
        }
    }
    k->n = json_array_size(n);
    if (k->n < 1 || k->n > 2 || json_array_size(m) != k->n) {
        *bad = "it names no parties, more than two, or names and ID numbers do not pair up";
        return;
    }
    for (size_t i = 0; i < k->n; i++) {
        const char *name = json_string_value(json_array_get(n, i));
        const char *id = json_string_value(json_array_get(m, i));
        char raw[128];

        if (!name || !id) {
            *missing = json_string_value(json_array_get(n, i)) ? "m" : "n";
            return;
        }
        printable(name, k->name[i], sizeof(k->name[i]));
        printable(id, raw, sizeof(raw));
        /* The ticket carries them masked; masking again shows no more than it holds. */
        if (show_id)
            hm_strlcpy(k->id_shown[i], raw, sizeof(k->id_shown[i]));
        else
            hm_mask_id(raw, k->id_shown[i], sizeof(k->id_shown[i]));
    }
    local_time(k->iat, k->time, sizeof(k->time));
}

/*
 * Checks the verified payload: a JSON object, not past its exp, and a whole
 * receipt or ticket when it is one.
 */
static void judge_payload(struct token *t, bool show_id, struct verdict *v, struct receipt *r,
                          struct ticket *k, enum kind *kind)
{
    json_t *exp;
    const char *missing, *bad;
    char why[256];

    *kind = K_OTHER;
    t->claims = json_loadb((const char *)t->payload, t->payload_len, JSON_REJECT_DUPLICATES, NULL);
    if (t->claims && !json_is_object(t->claims)) {
        json_decref(t->claims);
        t->claims = NULL;
    }
    if (!t->claims) {
        if (strcmp(t->typ, TYP_RECEIPT) == 0 || strcmp(t->typ, TYP_TICKET) == 0)
            check_failed(v, NULL, F_CONTENT, "it is signed, but its payload is not a JSON object");
        return;
    }
    exp = json_object_get(t->claims, "exp");
    if (json_is_integer(exp)) {
        struct check *c = add_check(v, "expiry");
        char when[64];

        local_time(json_integer_value(exp), when, sizeof(when));
        if ((json_int_t)time(NULL) >= json_integer_value(exp)) {
            snprintf(why, sizeof(why), "the %s expired at %s",
                     strcmp(t->typ, TYP_TICKET) == 0 ? "ticket" : "token", when);
            check_failed(v, c, F_TOKEN_EXPIRED, why);
        } else {
            c->state = C_PASSED;
            snprintf(c->reason, sizeof(c->reason), "valid until %s", when);
        }
    }
    if (strcmp(t->typ, TYP_TICKET) == 0) {
        read_ticket(t->claims, show_id, k, &missing, &bad);
        if (missing || bad) {
            if (missing)
                snprintf(why, sizeof(why),
                         "it is signed, but it is not a whole ticket ('%s' is missing or of the "
                         "wrong type): report it to the deployment's administrators",
                         missing);
            else
                snprintf(why, sizeof(why),
                         "it is signed, but it is not a whole ticket (%s): report it to the "
                         "deployment's administrators",
                         bad);
            check_failed(v, NULL, F_CONTENT, why);
            return;
        }
        *kind = K_TICKET;
        return;
    }
    if (strcmp(t->typ, TYP_RECEIPT) != 0)
        return;
    read_receipt(t->claims, show_id, r, &missing);
    if (missing) {
        snprintf(why, sizeof(why),
                 "it is signed, but it is not a whole receipt ('%s' is "
                 "missing or of the wrong type): report it to the "
                 "deployment's administrators",
                 missing);
        check_failed(v, NULL, F_CONTENT, why);
        return;
    }
    *kind = K_RECEIPT;
}

static const char *state_name(enum check_state s)
{
    return s == C_PASSED ? "passed" : s == C_FAILED ? "FAILED" : "not checked";
}

static void print_receipt(const struct receipt *r)
{
    printf("惠民确认回执 Huimin confirmation receipt\n");
    printf("  回执编号 Receipt      %s\n", r->r);
    printf("  福利编号 Welfare no.  %s\n", r->w_shown);
    printf("  款项     Payment      %s\n", r->p);
    printf("  期间     Period       %s\n", r->pd);
    printf("  金额     Amount       %s 元 (CNY)\n", r->amount);
    printf("  自助机   Kiosk        %s\n", r->k);
    printf("  时间     Time         %s\n", r->time);
    printf("  确认方式 Proof        %s / %s\n", r->proof_zh, r->proof_en);
    printf("  声明摘要 Statement    %s\n\n", r->s);
    printf("证明：福利编号 %s 的持卡人于 %s 在自助机 %s 确认已收到 %s 期款项 %s，金额 %s "
           "元（%s）。\n",
           r->w_shown, r->time, r->k, r->pd, r->p, r->amount, r->proof_zh);
    printf("It proves: the holder of welfare card %s confirmed at kiosk %s on %s that payment "
           "%s for %s, %s yuan, was received (%s).\n",
           r->w_shown, r->k, r->time, r->p, r->pd, r->amount, r->proof_en);
}

static void print_ticket(const struct ticket *k)
{
    char d[64], o[80], sl[16], t[40];

    printable(k->d, d, sizeof(d));
    printable(k->o, o, sizeof(o));
    printable(k->sl, sl, sizeof(sl));
    printable(k->t, t, sizeof(t));
    printf("惠民婚姻登记预约票 Huimin marriage-registration appointment ticket\n");
    printf("  预约编号 Ticket       %s\n", t);
    printf("  事项     Service      %s / %s\n", k->sv_zh, k->sv_en);
    printf("  登记处   Office       %s\n", o);
    printf("  日期     Date         %s\n", d);
    printf("  时段     Slot         %s\n", sl);
    for (size_t i = 0; i < k->n; i++)
        printf("  当事人   Party %zu      %s  %s\n", i + 1, k->name[i], k->id_shown[i]);
    printf("  签发时间 Issued       %s\n\n", k->time);
    if (k->n == 2)
        printf("证明：%s（%s）与 %s（%s）预约于 %s %s 在婚姻登记处 %s 办理%s（预约编号 %s）。\n",
               k->name[0], k->id_shown[0], k->name[1], k->id_shown[1], d, sl, o, k->sv_zh, t);
    else
        printf("证明：%s（%s）预约于 %s %s 在婚姻登记处 %s 办理%s（预约编号 %s）。\n", k->name[0],
               k->id_shown[0], d, sl, o, k->sv_zh, t);
    printf("It proves: an appointment %s for %s at office %s on %s at %s, booked by %s (%s)", t,
           k->sv_en, o, d, sl, k->name[0], k->id_shown[0]);
    if (k->n == 2)
        printf(" and %s (%s)", k->name[1], k->id_shown[1]);
    printf(", who proved who they are with their ID cards. Whether it is still booked (not "
           "cancelled or moved) the hall's kiosk or console tells.\n");
}

static void print_payload(const struct token *t, bool show_id)
{
    json_t *copy;
    char *s;

    if (strcmp(t->typ, TYP_TICKET) == 0)
        printf("惠民预约票 Huimin appointment ticket; as signed:\n");
    else
        printf("A token of type '%s', which this version does not explain; as signed:\n",
               t->typ[0] ? t->typ : "(none)");
    if (!t->claims) {
        printf("  (not JSON, %zu bytes)\n", t->payload_len);
        return;
    }
    copy = json_deep_copy(t->claims);
    mask_ids(copy, show_id);
    s = json_dumps(copy, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(copy);
}

static void report_text(const struct opts *o, const struct token *t, const struct verdict *v,
                        const struct receipt *r, const struct ticket *k, enum kind kind)
{
    const char *what = strcmp(t->typ, TYP_RECEIPT) == 0  ? "receipt"
                       : strcmp(t->typ, TYP_TICKET) == 0 ? "ticket"
                                                         : "token";

    if (o->png)
        printf("Read from the QR code in %s\n", o->png);
    for (size_t i = 0; i < v->n; i++)
        printf("%-12s %-12s %s\n", v->checks[i].name, state_name(v->checks[i].state),
               v->checks[i].reason);
    printf("\n");
    if (v->failure != F_NONE) {
        printf("不可信：%s。请勿凭此办理，请联系值班主管。\n", failures[v->failure].zh);
        printf("NOT genuine: %s. Do not act on it; call the duty supervisor.\n", v->message);
        return;
    }
    if (kind == K_RECEIPT)
        print_receipt(r);
    else if (kind == K_TICKET)
        print_ticket(k);
    else
        print_payload(t, o->show_id);
    printf("\n真实有效：本系统签发，内容未被改动%s。\n", o->ca ? "" : "（未检查根证书）");
    printf("Genuine: this %s was signed by this deployment's key and has not been altered%s.\n",
           what, o->ca ? "" : " (the root was not checked: --ca)");
}

static void report_json(const struct opts *o, const struct token *t, const struct verdict *v,
                        const struct receipt *r, const struct ticket *k, enum kind kind)
{
    json_t *out = json_object(), *checks = json_array();

    json_object_set_new(out, "genuine", json_boolean(v->failure == F_NONE));
    json_object_set_new(out, "typ", json_string(t->typ));
    json_object_set_new(out, "kid", json_string(t->kid));
    json_object_set_new(out, "source", json_string(t->source));
    json_object_set_new(out, "token_sha256", json_string(t->sha256));
    for (size_t i = 0; i < v->n; i++) {
        json_t *c = json_pack("{s:s,s:s}", "check", v->checks[i].name, "result",
                              state_name(v->checks[i].state));

        if (v->checks[i].reason[0])
            json_object_set_new(c, "reason", json_string(v->checks[i].reason));
        json_array_append_new(checks, c);
    }
    json_object_set_new(out, "checks", checks);
    if (v->failure != F_NONE) {
        json_object_set_new(out, "failure",
                            json_pack("{s:s,s:s,s:s}", "code", failures[v->failure].code, "message",
                                      v->message, "message_zh", failures[v->failure].zh));
    } else if (kind == K_TICKET) {
        json_t *parties = json_array();

        for (size_t i = 0; i < k->n; i++)
            json_array_append_new(
                parties, json_pack("{s:s,s:s}", "name", k->name[i], "id_masked", k->id_shown[i]));
        json_object_set_new(out, "ticket",
                            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:s}", "ticket", k->t,
                                      "service", k->sv, "service_zh", k->sv_zh, "service_en",
                                      k->sv_en, "office", k->o, "date", k->d, "slot", k->sl,
                                      "parties", parties, "iat", k->iat, "time", k->time));
    } else if (kind == K_RECEIPT) {
        json_object_set_new(out, "receipt",
                            json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:s}",
                                      "receipt", r->r, "welfare_no", r->w_shown, "payment", r->p,
                                      "period", r->pd, "amount_fen", r->a, "amount_yuan", r->amount,
                                      "kiosk", r->k, "iat", r->iat, "time", r->time, "proof", r->m,
                                      "proof_en", r->proof_en, "proof_zh", r->proof_zh,
                                      "statement_hash", r->s));
    } else if (t->claims) {
        json_t *copy = json_deep_copy(t->claims);

        mask_ids(copy, o->show_id);
        json_object_set_new(out, "payload", copy);
    }
    json_out(out);
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    struct token t = { 0 };
    struct verdict v = { 0 };
    struct receipt r = { 0 };
    struct ticket k = { 0 };
    struct hv_cert *cert = NULL;
    enum kind kind = K_OTHER;
    char err[1024];
    int ret;

    hm_log_init("huimin-verify", HM_LOG_WARN);
    ret = parse_args(&o, argc, argv);
    if (ret)
        return ret < 0 ? HV_EXIT_OK : ret;
    ret = read_token(&o, &t);
    if (ret)
        goto out;

    if (!peek_header(&t, err, sizeof(err))) {
        char why[1100];

        snprintf(why, sizeof(why), "not a signed Huimin token: %s", err);
        check_failed(&v, NULL, F_MALFORMED, why);
        goto report;
    }
    if (o.jwks) {
        switch (hv_cert_from_jwks(o.jwks, t.kid, &cert, err, sizeof(err))) {
        case HV_CERT_OK:
            break;
        case HV_CERT_NO_KEY: {
            char why[1200];

            snprintf(why, sizeof(why),
                     "%s: it was not made by this deployment, or the JWKS is "
                     "out of date (save GET /v1/jwks again)",
                     err);
            check_failed(&v, NULL, F_NO_KEY, why);
            goto report;
        }
        case HV_CERT_UNREADABLE:
            ret = fail(&o, HV_EXIT_INPUT, NULL, "%s", err);
            goto out;
        }
    } else if (hv_cert_load_pem(o.cert, &cert, err, sizeof(err)) != HV_CERT_OK) {
        ret = fail(&o, HV_EXIT_INPUT,
                   "Give the deployment's signing certificate (pki/signing.pem).", "%s", err);
        goto out;
    }
    ret = judge(&o, &t, cert, &v);
    if (ret)
        goto out;
    if (t.payload)
        judge_payload(&t, o.show_id, &v, &r, &k, &kind);

report:
    if (o.json)
        report_json(&o, &t, &v, &r, &k, kind);
    else
        report_text(&o, &t, &v, &r, &k, kind);
    ret = v.failure == F_NONE ? HV_EXIT_OK : HV_EXIT_NOT_GENUINE;
out:
    json_decref(t.claims);
    free(t.payload);
    hm_buf_free(&t.text);
    hv_cert_free(cert);
    return ret;
}
