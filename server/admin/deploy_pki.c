/* Makes the deployment's PKI (root, issuer, kiosk and TLS certificates, the signing certificate
 * and the seal key) and issues kiosk client certificates, on top of the card office's pki.c. */
#include "deploy_pki.h"

#include "pki.h"

#include "cl/piv.h"

#include "hm/hex.h"
#include "hm/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_DAYS   7300 /* the root: twenty years */
#define SUB_DAYS  5475 /* the issuer and kiosk CAs: fifteen years, inside the root's */
#define LEAF_DAYS 3650 /* TLS, signing and kiosk certificates: ten years */
#define CRL_DAYS  30   /* as huimin-issue writes it */

#define PATH_CAP 4200
#define COPY_MAX (1024 * 1024)

static hs_rc failf(char *err, size_t cap, hs_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static hs_rc failf(char *err, size_t cap, hs_rc rc, const char *fmt, ...)
{
    va_list ap;

    if (err && cap) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return rc;
}

static bool join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    return n >= 0 && (size_t)n < cap;
}

bool hs_pki_host_valid(const char *host)
{
    unsigned char bin[16];
    size_t n, label = 0;

    if (!host || !*host)
        return false;
    if (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1)
        return true;
    /* A DNS name: dot-separated labels of letters, digits and inner hyphens (RFC 1123). */
    n = strlen(host);
    if (n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = host[i];

        if (c == '.' || c == '\0') {
            if (label == 0 || host[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return true;
}

/* "DNS:localhost,IP:127.0.0.1,DNS:h1,IP:h2..." for the server's TLS certificate. */
static bool san_list(const struct hs_pki_opts *o, char *out, size_t cap)
{
    size_t used = (size_t)snprintf(out, cap, "DNS:localhost,IP:127.0.0.1");

    for (size_t i = 0; i < o->nhosts; i++) {
        unsigned char bin[16];
        const char *h = o->hosts[i];
        bool ip = inet_pton(AF_INET, h, bin) == 1 || inet_pton(AF_INET6, h, bin) == 1;
        int w;

        if (strcmp(h, "localhost") == 0 || strcmp(h, "127.0.0.1") == 0)
            continue;
        w = snprintf(out + used, cap - used, ",%s:%s", ip ? "IP" : "DNS", h);
        if (w < 0 || (size_t)w >= cap - used)
            return false;
        used += (size_t)w;
    }
    return true;
}

static hs_rc write_seal_key(const char *path)
{
    uint8_t key[HS_PKI_SEAL_KEY_LEN];
    int fd;
    bool ok;

    if (RAND_bytes(key, sizeof(key)) != 1)
        return HS_E_CRYPTO;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        hm_wipe(key, sizeof(key));
        return HS_E_IO;
    }
    ok = write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    hm_wipe(key, sizeof(key));
    return ok ? HS_OK : HS_E_IO;
}

/* A sub-CA under the root: its key (0600) and a PEM file holding it and then the root. */
static hs_rc make_sub_ca(const struct pki_ca *root, const char *dir, const char *cn,
                         const char *org, const char *cert_name, const char *key_name,
                         struct pki_ca *out, char *err, size_t cap)
{
    const struct pki_cert_spec spec = {
        .cn = cn,
        .org = org,
        .days = SUB_DAYS,
        .ca = true,
        .path_len = 0,
        .key_usage = "critical,keyCertSign,cRLSign",
    };
    char cert[PATH_CAP], key[PATH_CAP];
    X509 *chain[2];

    memset(out, 0, sizeof(*out));
    if (!join(cert, sizeof(cert), dir, cert_name) || !join(key, sizeof(key), dir, key_name))
        return failf(err, cap, HS_E_INVALID_ARG, "the folder name %s is too long", dir);
    out->key = pki_ec_key();
    out->cert = out->key ? pki_issue_cert(root, out->key, &spec) : NULL;
    if (!out->cert) {
        pki_ca_free(out);
        return failf(err, cap, HS_E_CRYPTO, "could not make the %s", cn);
    }
    chain[0] = out->cert;
    chain[1] = root->cert;
    if (pki_write_certs(chain, 2, cert) != 0 || pki_write_key(out->key, key) != 0) {
        int e = errno;

        pki_ca_free(out);
        return failf(err, cap, HS_E_IO, "could not write %s or %s: %s", cert, key, strerror(e));
    }
    return HS_OK;
}

/* A leaf certificate under ca for key, written as cert_name (and key_name unless NULL). */
static hs_rc make_leaf(const struct pki_ca *ca, EVP_PKEY *key, const struct pki_cert_spec *spec,
                       const char *dir, const char *cert_name, const char *key_name, char *err,
                       size_t cap)
{
    char cert[PATH_CAP], keyfile[PATH_CAP];
    X509 *x;
    hs_rc rc = HS_OK;

    if (!join(cert, sizeof(cert), dir, cert_name) ||
        (key_name && !join(keyfile, sizeof(keyfile), dir, key_name)))
        return failf(err, cap, HS_E_INVALID_ARG, "the folder name %s is too long", dir);
    x = pki_issue_cert(ca, key, spec);
    if (!x)
        return failf(err, cap, HS_E_CRYPTO, "could not make the certificate %s", cert_name);
    if (pki_write_cert(x, cert) != 0 || (key_name && pki_write_key(key, keyfile) != 0))
        rc = failf(err, cap, HS_E_IO, "could not write %s: %s", cert, strerror(errno));
    X509_free(x);
    return rc;
}

static hs_rc create_files(const char *dir, const struct hs_pki_opts *o, char *err, size_t cap)
{
    const char *org = o->bureau && *o->bureau ? o->bureau : "Huimin";
    struct pki_ca root = { 0 }, issuer = { 0 }, kiosk = { 0 };
    struct pki_cert_spec spec = { 0 };
    EVP_PKEY *key = NULL;
    X509_CRL *crl = NULL;
    char path[PATH_CAP], key_path[PATH_CAP], san[2048];
    hs_rc rc;

    /* The root signs itself. */
    spec = (struct pki_cert_spec){ .cn = "Huimin Root CA",
                                   .org = org,
                                   .days = CA_DAYS,
                                   .ca = true,
                                   .path_len = 1,
                                   .key_usage = "critical,keyCertSign,cRLSign" };
    root.key = pki_ec_key();
    root.cert = root.key ? pki_issue_cert(NULL, root.key, &spec) : NULL;
    if (!root.cert) {
        rc = failf(err, cap, HS_E_CRYPTO, "could not make the root CA");
        goto out;
    }
    if (!join(path, sizeof(path), dir, HS_PKI_ROOT_CERT) ||
        !join(key_path, sizeof(key_path), dir, HS_PKI_ROOT_KEY) ||
        pki_ca_save(&root, path, key_path) != 0) {
        rc = failf(err, cap, HS_E_IO, "could not write the root CA into %s", dir);
        goto out;
    }

    /* The card office's issuer CA, in the files huimin-issue reads, and its first CRL. */
    rc = make_sub_ca(&root, dir, "Huimin Issuer CA", org, HS_PKI_ISSUER_CERT, HS_PKI_ISSUER_KEY,
                     &issuer, err, cap);
    if (rc != HS_OK)
        goto out;
    crl = pki_crl(&issuer, NULL, 0, CRL_DAYS);
    if (!crl || !join(path, sizeof(path), dir, HS_PKI_ISSUER_CRL) ||
        pki_write_crl(crl, path) != 0) {
        rc = failf(err, cap, HS_E_IO, "could not write the issuer CRL into %s", dir);
        goto out;
    }

    rc = make_sub_ca(&root, dir, "Huimin Kiosk CA", org, HS_PKI_KIOSK_CERT, HS_PKI_KIOSK_KEY,
                     &kiosk, err, cap);
    if (rc != HS_OK)
        goto out;

    /* The HTTPS certificate, signed by the root that every kiosk gets as server-ca.pem. */
    if (!san_list(o, san, sizeof(san))) {
        rc = failf(err, cap, HS_E_INVALID_ARG, "too many or too long host names");
        goto out;
    }
    spec = (struct pki_cert_spec){ .cn = o->nhosts ? o->hosts[0] : "localhost",
                                   .org = org,
                                   .days = LEAF_DAYS,
                                   .key_usage = "critical,digitalSignature",
                                   .ext_key_usage = "serverAuth",
                                   .san = san };
    key = pki_ec_key();
    if (!key) {
        rc = failf(err, cap, HS_E_CRYPTO, "could not make a key");
        goto out;
    }
    rc = make_leaf(&root, key, &spec, dir, HS_PKI_TLS_CERT, HS_PKI_TLS_KEY, err, cap);
    EVP_PKEY_free(key);
    key = NULL;
    if (rc != HS_OK)
        goto out;

    /* The signing certificate: for a key made here, or for the token key's public half. */
    spec = (struct pki_cert_spec){ .cn = "Huimin Signing",
                                   .org = org,
                                   .days = LEAF_DAYS,
                                   .key_usage = "critical,digitalSignature" };
    if (o->signing_spki) {
        const unsigned char *p = o->signing_spki;

        key = d2i_PUBKEY(NULL, &p, (long)o->signing_spki_len);
        if (!key || p != o->signing_spki + o->signing_spki_len) {
            rc = failf(err, cap, HS_E_KEY, "the token's public key does not parse");
            goto out;
        }
    } else {
        key = pki_ec_key();
    }
    if (!key) {
        rc = failf(err, cap, HS_E_CRYPTO, "could not make a key");
        goto out;
    }
    rc = make_leaf(&root, key, &spec, dir, HS_PKI_SIGN_CERT,
                   o->signing_spki ? NULL : HS_PKI_SIGN_KEY, err, cap);
    if (rc != HS_OK)
        goto out;

    if (!join(path, sizeof(path), dir, HS_PKI_SEAL_KEY) || write_seal_key(path) != HS_OK) {
        rc = failf(err, cap, HS_E_IO, "could not write the seal key into %s", dir);
        goto out;
    }
    if (!join(path, sizeof(path), dir, HS_PKI_CSCA_DIR) || mkdir(path, 0755) != 0) {
        rc = failf(err, cap, HS_E_IO, "could not create %s: %s", path, strerror(errno));
        goto out;
    }
    rc = HS_OK;
out:
    EVP_PKEY_free(key);
    X509_CRL_free(crl);
    pki_ca_free(&kiosk);
    pki_ca_free(&issuer);
    pki_ca_free(&root);
    return rc;
}

hs_rc hs_pki_create(const char *pki_dir, const struct hs_pki_opts *o, char *err, size_t err_cap)
{
    hs_rc rc;

    if (err && err_cap)
        err[0] = '\0';
    if (!pki_dir || !o || o->nhosts > HS_PKI_HOSTS_MAX || (o->nhosts && !o->hosts))
        return failf(err, err_cap, HS_E_INVALID_ARG, "bad arguments to hs_pki_create");
    for (size_t i = 0; i < o->nhosts; i++)
        if (!hs_pki_host_valid(o->hosts[i]))
            return failf(err, err_cap, HS_E_INVALID_ARG, "'%s' is not a host name or IP address",
                         o->hosts[i]);
    if (mkdir(pki_dir, 0700) != 0)
        return failf(err, err_cap, errno == EEXIST ? HS_E_CONFLICT : HS_E_IO,
                     "cannot create %s: %s", pki_dir, strerror(errno));
    rc = create_files(pki_dir, o, err, err_cap);
    if (rc != HS_OK)
        hs_pki_remove_tree(pki_dir);
    return rc;
}

/* ---- kiosks ---------------------------------------------------------------- */

/* The O= of a certificate's subject as UTF-8, or "" when it has none. */
static void subject_org(X509 *x, char *out, size_t cap)
{
    X509_NAME *name = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(name, NID_organizationName, -1);
    unsigned char *utf8 = NULL;
    int n;

    out[0] = '\0';
    if (i < 0)
        return;
    n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n > 0 && (size_t)n < cap && !memchr(utf8, 0, (size_t)n)) {
        memcpy(out, utf8, (size_t)n);
        out[n] = '\0';
    }
    OPENSSL_free(utf8);
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static hs_rc describe(X509 *x, struct hs_kiosk_cert *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    BIGNUM *bn;
    char *hex;
    bool ok;

    if (X509_digest(x, EVP_sha256(), md, &md_len) != 1 ||
        !hm_hex_encode(md, md_len, out->sha256, sizeof(out->sha256)))
        return HS_E_CRYPTO;
    lower(out->sha256);
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    hex = bn ? BN_bn2hex(bn) : NULL;
    ok = hex && hm_strlcpy(out->serial, hex, sizeof(out->serial)) < sizeof(out->serial);
    OPENSSL_free(hex);
    BN_free(bn);
    if (!ok)
        return HS_E_CRYPTO;
    lower(out->serial);
    return HS_OK;
}

/* Copies a small file byte for byte (certificates). */
static hs_rc copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = NULL;
    char chunk[4096];
    size_t n, total = 0;
    bool ok = in != NULL;

    if (ok)
        out = fopen(to, "wb");
    ok = ok && out;
    while (ok && (n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        total += n;
        ok = total <= COPY_MAX && fwrite(chunk, 1, n, out) == n;
    }
    ok = ok && !ferror(in);
    if (in)
        fclose(in);
    if (out)
        ok = fclose(out) == 0 && ok;
    return ok ? HS_OK : HS_E_IO;
}

hs_rc hs_pki_issue_kiosk(const char *pki_dir, const char *kiosk_id, const char *signing_cert,
                         const char *out_dir, struct hs_kiosk_cert *out, char *err, size_t err_cap)
{
    struct pki_ca ca;
    struct pki_cert_spec spec = {
        .cn = kiosk_id,
        .days = LEAF_DAYS,
        .key_usage = "critical,digitalSignature",
        .ext_key_usage = "clientAuth",
    };
    char cert[PATH_CAP], key[PATH_CAP], org[256];
    EVP_PKEY *pkey = NULL;
    X509 *x = NULL;
    X509 *chain[2];
    hs_rc rc;

    if (err && err_cap)
        err[0] = '\0';
    if (!pki_dir || !kiosk_id || !*kiosk_id || !signing_cert || !out_dir || !out)
        return failf(err, err_cap, HS_E_INVALID_ARG, "bad arguments to hs_pki_issue_kiosk");
    if (!join(cert, sizeof(cert), pki_dir, HS_PKI_KIOSK_CERT) ||
        !join(key, sizeof(key), pki_dir, HS_PKI_KIOSK_KEY) || pki_ca_load(&ca, cert, key) != 0)
        return failf(err, err_cap, HS_E_KEY, "cannot load the kiosk CA from %s/%s and %s", pki_dir,
                     HS_PKI_KIOSK_CERT, HS_PKI_KIOSK_KEY);
    subject_org(ca.cert, org, sizeof(org));
    spec.org = org[0] ? org : NULL;
    pkey = pki_ec_key();
    x = pkey ? pki_issue_cert(&ca, pkey, &spec) : NULL;
    if (!x) {
        rc = failf(err, err_cap, HS_E_CRYPTO, "could not make the kiosk certificate");
        goto out;
    }
    rc = describe(x, out);
    if (rc != HS_OK) {
        failf(err, err_cap, rc, "could not read the kiosk certificate back");
        goto out;
    }
    chain[0] = x;
    chain[1] = ca.cert;
    if (!join(cert, sizeof(cert), out_dir, "kiosk.pem") ||
        !join(key, sizeof(key), out_dir, "kiosk.key") || pki_write_certs(chain, 2, cert) != 0 ||
        pki_write_key(pkey, key) != 0) {
        rc = failf(err, err_cap, HS_E_IO, "could not write the kiosk's key and certificate in %s",
                   out_dir);
        goto out;
    }
    if (!join(cert, sizeof(cert), pki_dir, HS_PKI_ROOT_CERT) ||
        !join(key, sizeof(key), out_dir, "server-ca.pem") || copy_file(cert, key) != HS_OK) {
        rc = failf(err, err_cap, HS_E_IO, "could not copy %s into %s", cert, out_dir);
        goto out;
    }
    if (!join(key, sizeof(key), out_dir, "signing.pem") || copy_file(signing_cert, key) != HS_OK) {
        rc = failf(err, err_cap, HS_E_IO, "could not copy %s into %s", signing_cert, out_dir);
        goto out;
    }
    rc = HS_OK;
out:
    X509_free(x);
    EVP_PKEY_free(pkey);
    pki_ca_free(&ca);
    return rc;
}

hs_rc hs_pki_cert_file_der(const char *path, uint8_t **der, size_t *len)
{
    FILE *f;
    X509 *x = NULL;
    unsigned char *p = NULL;
    int n;

    if (!path || !der || !len)
        return HS_E_INVALID_ARG;
    *der = NULL;
    *len = 0;
    f = fopen(path, "r");
    if (!f)
        return HS_E_IO;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    n = x ? i2d_X509(x, &p) : -1;
    X509_free(x);
    ERR_clear_error();
    if (n <= 0)
        return HS_E_MALFORMED;
    *der = malloc((size_t)n);
    if (*der) {
        memcpy(*der, p, (size_t)n);
        *len = (size_t)n;
    }
    OPENSSL_free(p);
    return *der ? HS_OK : HS_E_NO_MEMORY;
}

/* Removes name in the folder parent, and everything below it when it is a folder. */
static int remove_at(int parent, const char *name, int depth)
{
    struct stat st;
    struct dirent *e;
    DIR *d;
    int fd, rc = 0;

    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(parent, name, 0);
    if (depth > 32)
        return -1;
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (remove_at(dirfd(d), e->d_name, depth + 1) != 0)
            rc = -1;
    }
    closedir(d);
    return rc == 0 ? unlinkat(parent, name, AT_REMOVEDIR) : -1;
}

hs_rc hs_pki_remove_tree(const char *path)
{
    if (!path || !*path)
        return HS_E_INVALID_ARG;
    return remove_at(AT_FDCWD, path, 0) == 0 ? HS_OK : HS_E_IO;
}

/* The holder's name and welfare number, read as the server reads them (cardlib). */
static bool holder_of(X509 *x, struct hs_card_cert *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    bool ok = n > 0 &&
              cl_piv_cert_holder(der, (size_t)n, out->holder, sizeof(out->holder), out->welfare_no,
                                 sizeof(out->welfare_no)) == CL_OK &&
              out->holder[0] && out->welfare_no[0];
    OPENSSL_free(der);
    return ok;
}

hs_rc hs_pki_card_cert(const char *cert_file, const char *issuer_ca_file, struct hs_card_cert *out)
{
    hs_rc rc = HS_E_MALFORMED;
    X509 *x = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *ctx = NULL;
    BIGNUM *bn = NULL;
    char *dec = NULL;
    FILE *f = fopen(cert_file, "r");

    memset(out, 0, sizeof(*out));
    if (!f)
        return HS_E_IO;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        goto out;
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    dec = bn ? BN_bn2dec(bn) : NULL;
    if (!dec || hm_strlcpy(out->serial, dec, sizeof(out->serial)) >= sizeof(out->serial) ||
        !holder_of(x, out))
        goto out;
    store = X509_STORE_new();
    ctx = X509_STORE_CTX_new();
    if (!store || !ctx || X509_STORE_load_file(store, issuer_ca_file) != 1) {
        rc = HS_E_IO;
        goto out;
    }
    rc = X509_STORE_CTX_init(ctx, store, x, NULL) == 1 && X509_verify_cert(ctx) == 1
             ? HS_OK
             : HS_E_SIGNATURE;
out:
    ERR_clear_error();
    OPENSSL_free(dec);
    BN_free(bn);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(x);
    return rc;
}
