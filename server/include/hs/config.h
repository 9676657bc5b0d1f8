/*
 * The server's configuration: an INI file (huimin.conf in the deployment
 * folder) read once at start. Relative paths in it are taken relative to the
 * file's folder, so a deployment folder can move. Unknown sections or keys,
 * bad numbers and missing required keys are errors naming the line.
 */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include "hs/error.h"
#include "hs/marriage.h"

#include <stddef.h>

#define HS_PATH_MAX 1024

struct hs_config {
    char dir[HS_PATH_MAX]; /* the folder the file is in (absolute) */

    /* [server] */
    char listen_addr[64];     /* "0.0.0.0" */
    int port;                 /* 8443 */
    char ops_addr[64];        /* "" (none) or "127.0.0.1" */
    int ops_port;             /* 8080 */
    int io_threads;           /* 0: cores */
    int handler_threads;      /* 0: 32 */
    long max_body;            /* 65536 */
    long max_header;          /* 8192 */
    int read_timeout_s;       /* 10 */
    int idle_timeout_s;       /* 60 */
    int drain_timeout_s;      /* 10 */
    char kiosk_id_prefix[16]; /* unused for now: "" */

    /* [tls] */
    char tls_cert[HS_PATH_MAX]; /* pki/server-tls.pem */
    char tls_key[HS_PATH_MAX];  /* pki/server-tls.key */
    char kiosk_ca[HS_PATH_MAX]; /* pki/kiosk-ca.pem */

    /* [storage] */
    char backend[16];              /* "sqlite" or "postgres" */
    char db_path[HS_PATH_MAX];     /* sqlite: huimin.db */
    char db_conninfo[HS_PATH_MAX]; /* postgres: libpq conninfo */

    /* [signing] */
    char sign_kind[16];           /* "pem" or "pkcs11" */
    char sign_key[HS_PATH_MAX];   /* pem: pki/signing.key */
    char sign_cert[HS_PATH_MAX];  /* pki/signing.pem */
    char p11_module[HS_PATH_MAX]; /* pkcs11 */
    char p11_token[64];
    char p11_key_label[64];
    char p11_pin_file[HS_PATH_MAX]; /* a 0600 file holding the user PIN */

    /* [trust] */
    char issuer_ca[HS_PATH_MAX];  /* pki/issuer-ca.pem (welfare cards) */
    char issuer_crl[HS_PATH_MAX]; /* pki/issuer.crl, "" for none */
    char csca_dir[HS_PATH_MAX];   /* pki/csca (ID cards), "" for none */
    char seal_key[HS_PATH_MAX];   /* pki/seal.key: 32 random bytes, 0600, seals PUKs */

    /* [session] */
    int nonce_ttl_s;   /* 120 */
    int session_ttl_s; /* 300 */

    /* [audit] */
    int checkpoint_every; /* records between signed checkpoints: 1000 */

    /* [log] */
    char log_level[16]; /* "info" */

    /* [marriage]: the appointment rules (hs/marriage.h), "key = value" lines read by
     * hs_marriage_rules_set_line(); the defaults of hs_marriage_rules_defaults(). The
     * server keeps one active appointment per person and service (a unique index), so
     * max_active_bookings must stay 1. */
    struct hs_marriage_rules marriage;
};

/* Defaults for everything (paths relative to dir as above). */
void hs_config_defaults(struct hs_config *cfg, const char *dir);
/*
 * Sets the defaults for the file's folder (cfg->dir becomes its absolute,
 * symlink-free path) and reads path over them. On error returns HS_E_CONFIG
 * and writes "huimin.conf:12: unknown key 'prot' in [server]" into err (the
 * path as given, the line, what is wrong); a file that cannot be opened or
 * read gives HS_E_IO with "huimin.conf: cannot open: ..." instead.
 * Comments are whole lines starting with '#' or ';'. Addresses are numeric
 * ("0.0.0.0:8443", "[::]:8443"); an empty ops_listen turns the ops port off.
 */
hs_rc hs_config_load(const char *path, struct hs_config *cfg, char *err, size_t err_cap);
/*
 * Writes a commented configuration file with cfg's values, paths inside
 * cfg->dir relative to it, atomically (a temporary file renamed) and 0600
 * (conninfo may hold a password). HS_E_INVALID_ARG when a value could not be
 * read back as it is (a line break, or spaces at either end), HS_E_IO when
 * the file cannot be written.
 */
hs_rc hs_config_write(const struct hs_config *cfg, const char *path);

#endif
