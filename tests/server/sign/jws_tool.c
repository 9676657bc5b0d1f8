/* A command-line front to hs_sign so shell tests can check tokens with the openssl CLI. */
#include "hs/jws.h"
#include "hs/signer.h"

#include "hm/log.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1024 * 1024)

struct opts {
    const char *key, *cert, *payload_file, *token_file, *typ;
    const char *module, *token, *label, *out;
};

static void usage(void)
{
    fputs("usage: jws_tool sign   (--key K | --pkcs11 M --token T --label L) --cert C\n"
          "                       --payload-file F [--typ T]\n"
          "       jws_tool jwks   (--key K | --pkcs11 M --token T --label L) --cert C\n"
          "       jws_tool keygen --pkcs11 M --token T --label L --out SPKI.der\n"
          "       jws_tool verify --cert C --token-file F\n"
          "The PKCS#11 PIN is read from HUIMIN_P11_PIN.\n",
          stderr);
}

/* Reads a whole file (malloc'd, NUL-terminated). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (!f) {
        perror(path);
        return NULL;
    }
    buf = malloc(FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, FILE_MAX, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int open_signer(const struct opts *o, struct hs_signer **s)
{
    struct hs_signer_config cfg = { .cert_file = o->cert };
    hs_rc rc;

    if (o->module) {
        cfg.kind = "pkcs11";
        cfg.module = o->module;
        cfg.token_label = o->token;
        cfg.key_label = o->label;
        cfg.pin = getenv("HUIMIN_P11_PIN");
    } else {
        cfg.kind = "pem";
        cfg.key_file = o->key;
    }
    rc = hs_signer_open(&cfg, s);
    if (rc != HS_OK) {
        fprintf(stderr, "jws_tool: cannot open the signer: %s\n", hs_strerror(rc));
        return 1;
    }
    return 0;
}

static int cmd_sign(const struct opts *o)
{
    struct hs_signer *s;
    char *payload, *token = NULL;
    size_t len;
    hs_rc rc;

    if (!o->payload_file || open_signer(o, &s) != 0)
        return 2;
    payload = read_file(o->payload_file, &len);
    if (!payload) {
        hs_signer_free(s);
        return 2;
    }
    rc = hs_jws_sign(s, o->typ, (const uint8_t *)payload, len, &token);
    free(payload);
    hs_signer_free(s);
    if (rc != HS_OK) {
        fprintf(stderr, "jws_tool: %s\n", hs_strerror(rc));
        return 1;
    }
    puts(token);
    free(token);
    return 0;
}

static int cmd_jwks(const struct opts *o)
{
    struct hs_signer *s;
    char *json = NULL;
    hs_rc rc;

    if (open_signer(o, &s) != 0)
        return 2;
    rc = hs_jwks(s, &json);
    hs_signer_free(s);
    if (rc != HS_OK)
        return 1;
    puts(json);
    free(json);
    return 0;
}

static int cmd_keygen(const struct opts *o)
{
    uint8_t *spki = NULL;
    size_t len = 0;
    FILE *f;
    hs_rc rc;

    if (!o->module || !o->token || !o->label || !o->out)
        return 2;
    rc = hs_p11_keygen(o->module, o->token, getenv("HUIMIN_P11_PIN"), o->label, &spki, &len);
    if (rc != HS_OK) {
        fprintf(stderr, "jws_tool: keygen: %s\n", hs_strerror(rc));
        return 1;
    }
    f = fopen(o->out, "wb");
    if (!f || fwrite(spki, 1, len, f) != len) {
        perror(o->out);
        if (f)
            fclose(f);
        free(spki);
        return 2;
    }
    fclose(f);
    free(spki);
    return 0;
}

static int cmd_verify(const struct opts *o)
{
    unsigned char *der = NULL;
    uint8_t *payload = NULL;
    size_t len, payload_len;
    char *token, kid[64];
    X509 *x = NULL;
    FILE *f;
    int der_len;
    hs_rc rc;

    if (!o->cert || !o->token_file)
        return 2;
    f = fopen(o->cert, "r");
    if (f) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (!x || (der_len = i2d_X509(x, &der)) <= 0) {
        fprintf(stderr, "jws_tool: cannot read %s\n", o->cert);
        X509_free(x);
        return 2;
    }
    X509_free(x);
    token = read_file(o->token_file, &len);
    if (!token) {
        OPENSSL_free(der);
        return 2;
    }
    /* One trailing newline, as echo leaves it, is not part of the token. */
    if (len > 0 && token[len - 1] == '\n')
        token[--len] = '\0';
    rc = hs_jws_verify(token, len, der, (size_t)der_len, &payload, &payload_len, kid);
    free(token);
    OPENSSL_free(der);
    if (rc != HS_OK) {
        fprintf(stderr, "jws_tool: verify: %s (%s)\n", hs_rc_name(rc), hs_strerror(rc));
        return 1;
    }
    fwrite(payload, 1, payload_len, stdout);
    putchar('\n');
    free(payload);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    const char *cmd;

    hm_log_init(argv[0], HM_LOG_WARN);
    if (argc < 2) {
        usage();
        return 2;
    }
    cmd = argv[1];
    /* Options come in pairs: --name value. */
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **slot = NULL;

        if (strcmp(a, "--key") == 0)
            slot = &o.key;
        else if (strcmp(a, "--cert") == 0)
            slot = &o.cert;
        else if (strcmp(a, "--payload-file") == 0)
            slot = &o.payload_file;
        else if (strcmp(a, "--token-file") == 0)
            slot = &o.token_file;
        else if (strcmp(a, "--typ") == 0)
            slot = &o.typ;
        else if (strcmp(a, "--pkcs11") == 0)
            slot = &o.module;
        else if (strcmp(a, "--token") == 0)
            slot = &o.token;
        else if (strcmp(a, "--label") == 0)
            slot = &o.label;
        else if (strcmp(a, "--out") == 0)
            slot = &o.out;
        if (!slot || !v) {
            usage();
            return 2;
        }
        *slot = v;
    }
    if (strcmp(cmd, "sign") == 0)
        return cmd_sign(&o);
    if (strcmp(cmd, "jwks") == 0)
        return cmd_jwks(&o);
    if (strcmp(cmd, "keygen") == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(&o);
    usage();
    return 2;
}
