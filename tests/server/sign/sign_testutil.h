/*
 * Helpers for the signing tests: P-256 keys and certificates made with
 * OpenSSL in the test, temp directories, child processes, an independent
 * base64url (OpenSSL's base64 with the alphabet swapped) and a stderr capture
 * for checking log lines.
 */
#ifndef SIGN_TESTUTIL_H
#define SIGN_TESTUTIL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <stddef.h>
#include <stdint.h>

/* A new EC key on curve ("P-256", "P-384"); aborts the test on failure. */
EVP_PKEY *tu_ec_key(const char *curve);
/* A certificate for subject's public key signed by issuer_key, with issuer's
 * name (or its own name when issuer is NULL: self-signed). */
X509 *tu_cert(EVP_PKEY *subject, EVP_PKEY *issuer_key, X509 *issuer, const char *cn);
void tu_write_key(EVP_PKEY *k, const char *path);
void tu_write_cert(X509 *c, const char *path);
/* The DER of c (OPENSSL_free it). */
uint8_t *tu_cert_der(X509 *c, size_t *len);
/* The kid as the header defines it, computed without our code. malloc'd. */
char *tu_kid(X509 *c);
/* Base64url without padding, computed without our code. malloc'd. */
char *tu_b64url(const void *p, size_t n);

/* mkdtemp under TMPDIR; malloc'd path. */
char *tu_tmpdir(void);
/* rm -rf dir. */
void tu_rmrf(const char *dir);
/* Joins dir and name into a malloc'd path. */
char *tu_path(const char *dir, const char *name);
/* Runs the program (PATH searched) with the arguments up to a NULL, stdout and
 * stderr to /dev/null; its exit status or -1. */
int tu_run(const char *arg0, ...) __attribute__((sentinel));

/* Sends stderr to a file until tu_capture_end(), which returns what was written (malloc'd). */
void tu_capture_begin(const char *path);
char *tu_capture_end(const char *path);

#endif
