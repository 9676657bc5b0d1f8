/* Keys, certificates, temp directories and log capture shared by the signing tests. */
#include "sign_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/pem.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define HM_TU_ARGS 31 /* arguments tu_run passes at most */

EVP_PKEY *tu_ec_key(const char *curve)
{
    EVP_PKEY *k = EVP_EC_gen(curve);

    assert_non_null(k);
    return k;
}

X509 *tu_cert(EVP_PKEY *subject, EVP_PKEY *issuer_key, X509 *issuer, const char *cn)
{
    static long serial = 1;
    X509 *c = X509_new();
    X509_NAME *name;

    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    assert_int_equal(X509_set_pubkey(c, subject), 1);
    name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
    assert_int_equal(X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name), 1);
    assert_true(X509_sign(c, issuer_key, EVP_sha256()) > 0);
    return c;
}

void tu_write_key(EVP_PKEY *k, const char *path)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

void tu_write_cert(X509 *c, const char *path)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, c), 1);
    fclose(f);
}

uint8_t *tu_cert_der(X509 *c, size_t *len)
{
    unsigned char *p = NULL;
    int n = i2d_X509(c, &p);

    assert_true(n > 0);
    *len = (size_t)n;
    return p;
}

char *tu_b64url(const void *p, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    size_t o = 0;
    int len;

    assert_non_null(out);
    len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    for (int i = 0; i < len; i++) {
        if (out[i] == '=')
            break;
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[o] = '\0';
    return out;
}

char *tu_kid(X509 *c)
{
    unsigned char *spki = NULL, md[32];
    unsigned int md_len = sizeof(md);
    int n = i2d_PUBKEY(X509_get0_pubkey(c), &spki);
    char *kid;

    assert_true(n > 0);
    assert_int_equal(EVP_Digest(spki, (size_t)n, md, &md_len, EVP_sha256(), NULL), 1);
    OPENSSL_free(spki);
    kid = tu_b64url(md, md_len);
    assert_int_equal(strlen(kid), 43);
    return kid;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    char *dir;

    snprintf(tmpl, sizeof(tmpl), "%s/hs-sign-XXXXXX", base && *base ? base : "/tmp");
    dir = mkdtemp(tmpl);
    assert_non_null(dir);
    dir = strdup(dir);
    assert_non_null(dir);
    return dir;
}

char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tu_run(const char *arg0, ...)
{
    posix_spawn_file_actions_t fa;
    char *argv[32];
    const char *a;
    va_list ap;
    size_t n = 0;
    pid_t pid;
    int st, rc = -1;

    va_start(ap, arg0);
    for (a = arg0; a && n < HM_TU_ARGS; a = va_arg(ap, const char *))
        argv[n++] = strdup(a);
    va_end(ap);
    argv[n] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0 && waitpid(pid, &st, 0) == pid &&
        WIFEXITED(st))
        rc = WEXITSTATUS(st);
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < n; i++)
        free(argv[i]);
    return rc;
}

void tu_rmrf(const char *dir)
{
    if (dir)
        assert_int_equal(tu_run("rm", "-rf", "--", dir, (const char *)NULL), 0);
}

static int saved_stderr = -1;

void tu_capture_begin(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

char *tu_capture_end(const char *path)
{
    char *text;
    long n;
    FILE *f;

    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    saved_stderr = -1;
    f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    /* Show the captured lines too, so a failing test's log is not lost. */
    fputs(text, stderr);
    return text;
}
