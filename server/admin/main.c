/* huimin-admin: the operator's tool that creates a deployment (configuration, PKI, database),
 * enrolls and revokes kiosks, imports benefit data from CSV, works the hall staff's queue and
 * checks the audit log. */
#include "deploy_pki.h"
#include "exceptions.h"

#include "hm/log.h"
#include "hm/util.h"
#include "hs/audit.h"
#include "hs/config.h"
#include "hs/db.h"
#include "hs/import.h"
#include "hs/registry.h"
#include "hs/seal.h"
#include "hs/signer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses, as the usage text lists them. */
enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_UNUSABLE = 2, /* the deployment or its database cannot be used */
    EXIT_REFUSED = 3,  /* it exists already, there is no such kiosk, or an import has bad rows */
    EXIT_BROKEN = 4,   /* the audit log does not verify */
};

#define PATH_CAP 4200
#define PIN_MAX  64

static void usage(FILE *f)
{
    fprintf(f, "Usage:\n"
               "  huimin-admin init --dir DIR [--name BUREAU] [--host NAME]...\n"
               "                    [--backend sqlite|postgres --conninfo STR]\n"
               "                    [--pkcs11 --module PATH --token LABEL --pin-file FILE\n"
               "                     [--key-label LABEL]]\n"
               "      create a new Huimin (惠民) deployment in DIR, which must be empty or new:\n"
               "      DIR/huimin.conf, DIR/pki/ (root, issuer, kiosk and TLS certificates, the\n"
               "      signing certificate and the seal key) and the database. --name is the\n"
               "      bureau named in the certificates, --host a name or address the server is\n"
               "      reached by (besides localhost and 127.0.0.1). With --pkcs11 the signing key\n"
               "      is made in the token (key label huimin-signing unless --key-label).\n"
               "  huimin-admin enroll-kiosk --dir DIR --id ID --name NAME --office OFFICE\n"
               "      issue a kiosk's client certificate into DIR/kiosks/ID/ (kiosk.pem,\n"
               "      kiosk.key, server-ca.pem, signing.pem) and register the kiosk\n"
               "  huimin-admin kiosks --dir DIR\n"
               "      list the enrolled kiosks and whether each is active or revoked\n"
               "  huimin-admin revoke-kiosk --dir DIR --id ID [--reason TEXT]\n"
               "      revoke a kiosk: its certificate is no longer accepted\n"
               "  huimin-admin register-card --dir DIR --cert CARD.pem [--puk-stdin]\n"
               "      register a welfare card issued by the deployment's issuer CA (its 9E\n"
               "      certificate); with --puk-stdin its PUK is read from standard input and\n"
               "      kept sealed, so staff can unblock the PIN later\n"
               "  huimin-admin revoke-card --dir DIR --serial N [--reason TEXT]\n"
               "      revoke a card (lost, stolen, replaced): kiosks refuse it at once; also\n"
               "      run 'huimin-issue revoke --dir DIR/pki --serial N' to put it on the CRL\n"
               "  huimin-admin import KIND --dir DIR --file FILE.csv [--dry-run]\n"
               "      import programmes, residents, entitlements or payments (KIND) from a CSV\n"
               "      file with a header row; import them in that order. For appointments:\n"
               "      offices, then office-days (closures and special dates), and marriages\n"
               "      (the registry's marital records, kept by a key derived from the seal\n"
               "      key, never the ID number itself). Every row is checked\n"
               "      first: if any is bad, each bad row is reported as FILE:LINE and nothing\n"
               "      is imported; otherwise all rows are written in one transaction with one\n"
               "      audit record. Imports only add: a key already in the database is a bad\n"
               "      row. --dry-run checks and reports without writing.\n"
               "  huimin-admin exceptions --dir DIR [--all]\n"
               "      the hall staff's queue (待处理事项): open disputes and staff calls, oldest\n"
               "      first, with the time (China Standard Time), kind, kiosk, office, reason or\n"
               "      payment and the resident (welfare number masked); --all lists closed ones\n"
               "      too\n"
               "  huimin-admin exceptions close ID --dir DIR [--note TEXT]\n"
               "      close exception ID once it is dealt with (a staff call's closes the call);\n"
               "      the note (at most 500 bytes) goes with it into the audit log\n"
               "  huimin-admin audit verify --dir DIR\n"
               "      check the audit log's hash chain and its signed checkpoints\n"
               "Exit status: 0 done, 1 usage, 2 the deployment or its database cannot be used,\n"
               "3 refused (it exists already, no such kiosk or exception, an exception closed\n"
               "already, or an import with bad rows or a bad file: nothing imported), 4 the\n"
               "audit log is broken.\n");
}

struct args {
    const char *dir, *name, *backend, *conninfo;
    const char *hosts[HS_PKI_HOSTS_MAX];
    size_t nhosts;
    bool pkcs11;
    const char *module, *token, *pin_file, *key_label;
    const char *id, *office, *reason;
    const char *cert, *serial;
    bool puk_stdin;
    const char *kind, *file;
    bool dry_run;
    const char *note; /* exceptions close */
    bool all;         /* exceptions */
    bool close;       /* exceptions close ID: the ID is in id */
};

static bool path_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "huimin-admin: the path %s/%s is too long\n", dir, name);
        return false;
    }
    return true;
}

/* "admin:<login name>", the actor written into the audit log. */
static void actor_name(char *out, size_t cap)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw && pw->pw_name)
        snprintf(out, cap, "admin:%s", pw->pw_name);
    else
        snprintf(out, cap, "admin:uid-%ld", (long)geteuid());
}

/* Reads DIR/huimin.conf; prints the file:line error and what to do otherwise. */
static int load_deployment(const char *dir, struct hs_config *cfg)
{
    char path[PATH_CAP], err[512];
    hs_rc rc;

    if (!path_join(path, sizeof(path), dir, "huimin.conf"))
        return EXIT_USAGE;
    rc = hs_config_load(path, cfg, err, sizeof(err));
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin: %s\n", err);
        if (rc == HS_E_IO)
            fprintf(stderr, "Is %s a deployment? Create one with 'huimin-admin init --dir %s'.\n",
                    dir, dir);
        else
            fprintf(stderr, "Fix that line of %s and run the command again.\n", path);
        return EXIT_UNUSABLE;
    }
    return EXIT_OK;
}

static int open_store(const struct hs_config *cfg, struct hs_store **st)
{
    struct hs_store_config sc = { 0 };
    bool pg = strcmp(cfg->backend, "postgres") == 0;
    hs_rc rc;

    sc.backend = pg ? HS_BACKEND_POSTGRES : HS_BACKEND_SQLITE;
    sc.target = pg ? cfg->db_conninfo : cfg->db_path;
    rc = hs_store_open(&sc, st);
    if (rc != HS_OK) {
        *st = NULL;
        fprintf(stderr, "huimin-admin: cannot open the %s database %s: %s\n", cfg->backend,
                pg ? "(conninfo in [storage])" : cfg->db_path, hs_strerror(rc));
        fprintf(stderr, "%s\n",
                pg ? "Check that PostgreSQL is running and the conninfo is right."
                   : "Check that the file's folder exists and is writable.");
        return EXIT_UNUSABLE;
    }
    return EXIT_OK;
}

/* ---- init ------------------------------------------------------------------ */

/*
 * 1 when dir does not exist, 0 when it is an empty folder, -1 when it is
 * something init refuses to touch, -2 when it cannot be read (message printed).
 */
static int dir_state(const char *dir)
{
    struct stat st;
    struct dirent *e;
    DIR *d;
    bool empty = true;

    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return 1;
        fprintf(stderr, "huimin-admin init: cannot use %s: %s\n", dir, strerror(errno));
        return -2;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "huimin-admin init: %s exists and is not a folder\n", dir);
        return -1;
    }
    d = opendir(dir);
    if (!d) {
        fprintf(stderr, "huimin-admin init: cannot read %s: %s\n", dir, strerror(errno));
        return -2;
    }
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty) {
        fprintf(stderr,
                "huimin-admin init: %s is not empty; init never touches an existing deployment.\n"
                "Choose a new or empty folder.\n",
                dir);
        return -1;
    }
    return 0;
}

/*
 * An absolute path for a file named on the command line: as it is when it is
 * absolute (a module's stable symbolic link stays), else from the current folder.
 */
static bool absolute(const char *path, char *out, size_t cap)
{
    char cwd[PATH_CAP];

    if (path[0] == '/')
        return hm_strlcpy(out, path, cap) < cap;
    if (!getcwd(cwd, sizeof(cwd)))
        return false;
    return (size_t)snprintf(out, cap, "%s/%s", cwd, path) < cap;
}

/* The folder's absolute, symlink-free path, as hs_config_load() will see it. */
static bool real_dir(const char *path, char *out, size_t cap)
{
    char *real = realpath(path, NULL);
    bool ok = real && hm_strlcpy(out, real, cap) < cap;

    free(real);
    return ok;
}

/* Reads the PIN: the file's first line, without its line break. */
static bool read_pin(const char *path, char pin[PIN_MAX + 1])
{
    FILE *f = fopen(path, "r");
    bool ok;

    if (!f)
        return false;
    ok = fgets(pin, PIN_MAX + 1, f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    pin[strcspn(pin, "\r\n")] = '\0';
    return pin[0] != '\0';
}

/* The signing key in the token; *spki gets its public half. */
static int make_token_key(const struct args *a, const struct hs_config *cfg, uint8_t **spki,
                          size_t *spki_len)
{
    char pin[PIN_MAX + 1];
    hs_rc rc;

    if (!read_pin(cfg->p11_pin_file, pin)) {
        fprintf(stderr, "huimin-admin init: cannot read the PIN from %s\n", a->pin_file);
        return EXIT_UNUSABLE;
    }
    rc = hs_p11_keygen(cfg->p11_module, cfg->p11_token, pin, cfg->p11_key_label, spki, spki_len);
    hm_wipe(pin, sizeof(pin));
    if (rc == HS_E_CONFLICT) {
        fprintf(stderr,
                "huimin-admin init: the token '%s' holds an object labelled '%s' already.\n"
                "Choose another --key-label, or delete that object if it is not in use.\n",
                cfg->p11_token, cfg->p11_key_label);
        return EXIT_REFUSED;
    }
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin init: cannot make the signing key in token '%s': %s\n",
                cfg->p11_token, hs_strerror(rc));
        return EXIT_UNUSABLE;
    }
    return EXIT_OK;
}

static bool init_settings(const struct args *a, const char *dir, struct hs_config *cfg)
{
    char path[PATH_CAP];

    hs_config_defaults(cfg, dir);
    if (hm_strlcpy(cfg->backend, a->backend, sizeof(cfg->backend)) >= sizeof(cfg->backend) ||
        hm_strlcpy(cfg->db_conninfo, a->conninfo ? a->conninfo : "", sizeof(cfg->db_conninfo)) >=
            sizeof(cfg->db_conninfo)) {
        fprintf(stderr, "huimin-admin init: --conninfo is too long\n");
        return false;
    }
    if (!a->pkcs11)
        return true;
    hm_strlcpy(cfg->sign_kind, "pkcs11", sizeof(cfg->sign_kind));
    cfg->sign_key[0] = '\0';
    if (!absolute(a->module, path, sizeof(path)) ||
        hm_strlcpy(cfg->p11_module, path, sizeof(cfg->p11_module)) >= sizeof(cfg->p11_module) ||
        !absolute(a->pin_file, path, sizeof(path)) ||
        hm_strlcpy(cfg->p11_pin_file, path, sizeof(cfg->p11_pin_file)) >=
            sizeof(cfg->p11_pin_file) ||
        hm_strlcpy(cfg->p11_token, a->token, sizeof(cfg->p11_token)) >= sizeof(cfg->p11_token) ||
        hm_strlcpy(cfg->p11_key_label, a->key_label ? a->key_label : "huimin-signing",
                   sizeof(cfg->p11_key_label)) >= sizeof(cfg->p11_key_label)) {
        fprintf(stderr, "huimin-admin init: a --pkcs11 setting is too long\n");
        return false;
    }
    return true;
}

/* Removes what a failed init made, so the folder is as it was. */
static void init_undo(const char *dir, bool created_dir)
{
    static const char *const files[] = { "huimin.conf", "huimin.db", "huimin.db-wal",
                                         "huimin.db-shm" };
    char path[PATH_CAP];

    for (size_t i = 0; i < HM_ARRAY_SIZE(files); i++)
        if (path_join(path, sizeof(path), dir, files[i]))
            unlink(path);
    if (path_join(path, sizeof(path), dir, "pki"))
        hs_pki_remove_tree(path);
    if (path_join(path, sizeof(path), dir, "kiosks"))
        rmdir(path);
    if (created_dir)
        rmdir(dir);
}

static int validate_init(const struct args *a)
{
    if (strcmp(a->backend, "sqlite") != 0 && strcmp(a->backend, "postgres") != 0) {
        fprintf(stderr, "huimin-admin init: --backend is sqlite or postgres\n");
        return EXIT_USAGE;
    }
    if (strcmp(a->backend, "postgres") == 0 && !a->conninfo) {
        fprintf(stderr, "huimin-admin init: --backend postgres needs --conninfo "
                        "'host=... dbname=... user=...'\n");
        return EXIT_USAGE;
    }
    if (strcmp(a->backend, "sqlite") == 0 && a->conninfo) {
        fprintf(stderr, "huimin-admin init: --conninfo is for --backend postgres\n");
        return EXIT_USAGE;
    }
    if (a->pkcs11 && (!a->module || !a->token || !a->pin_file)) {
        fprintf(stderr, "huimin-admin init: --pkcs11 needs --module, --token and --pin-file\n");
        return EXIT_USAGE;
    }
    if (!a->pkcs11 && (a->module || a->token || a->pin_file || a->key_label)) {
        fprintf(stderr, "huimin-admin init: --module, --token, --pin-file and --key-label go "
                        "with --pkcs11\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < a->nhosts; i++)
        if (!hs_pki_host_valid(a->hosts[i])) {
            fprintf(stderr, "huimin-admin init: --host '%s' is not a host name or IP address\n",
                    a->hosts[i]);
            return EXIT_USAGE;
        }
    if (a->name && strlen(a->name) > 128) {
        fprintf(stderr, "huimin-admin init: --name is longer than 128 bytes\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static void init_summary(const struct hs_config *cfg, const struct args *a)
{
    printf("Created the Huimin deployment in %s:\n"
           "  huimin.conf           the server's configuration\n"
           "  pki/root-ca.pem       the deployment's root CA (kiosks trust it for TLS)\n"
           "  pki/issuer-ca.pem     the welfare-card issuer CA (huimin-issue card --dir %s/pki)\n"
           "  pki/kiosk-ca.pem      the CA of kiosk client certificates\n"
           "  pki/server-tls.pem    the HTTPS certificate (localhost, 127.0.0.1",
           cfg->dir, cfg->dir);
    for (size_t i = 0; i < a->nhosts; i++)
        printf(", %s", a->hosts[i]);
    printf(")\n"
           "  pki/signing.pem       the signing certificate%s\n"
           "  pki/seal.key          the key that seals card PUKs\n"
           "  %-21s the %s database\n"
           "Private keys are 0600 in 0700 folders. Keep pki/root-ca.key offline once\n"
           "the deployment runs.\n"
           "Next:\n"
           "  huimin-admin enroll-kiosk --dir %s --id kiosk-001 --name NAME --office OFFICE\n"
           "  huimin-server --config %s/huimin.conf\n",
           a->pkcs11 ? " (key in the PKCS#11 token)" : "",
           strcmp(cfg->backend, "sqlite") == 0 ? "huimin.db" : "(PostgreSQL)", cfg->backend,
           cfg->dir, cfg->dir);
}

static int cmd_init(const struct args *a)
{
    struct hs_pki_opts po = { .bureau = a->name, .hosts = a->hosts, .nhosts = a->nhosts };
    struct hs_config cfg, check;
    struct hs_store *st = NULL;
    char dir[PATH_CAP], path[PATH_CAP], err[512];
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    bool created = false;
    int state, ret;
    hs_rc rc;

    ret = validate_init(a);
    if (ret != EXIT_OK)
        return ret;
    state = dir_state(a->dir);
    if (state < 0)
        return state == -1 ? EXIT_REFUSED : EXIT_UNUSABLE;
    if (state == 1) {
        if (mkdir(a->dir, 0700) != 0) {
            fprintf(stderr, "huimin-admin init: cannot create %s: %s\n", a->dir, strerror(errno));
            return EXIT_UNUSABLE;
        }
        created = true;
    }
    if (!real_dir(a->dir, dir, sizeof(dir) - 64) || !init_settings(a, dir, &cfg)) {
        ret = EXIT_USAGE;
        goto out_undo;
    }
    if (a->pkcs11) {
        ret = make_token_key(a, &cfg, &spki, &spki_len);
        if (ret != EXIT_OK)
            goto out_undo;
        po.signing_spki = spki;
        po.signing_spki_len = spki_len;
    }
    ret = EXIT_UNUSABLE;
    if (!path_join(path, sizeof(path), dir, "pki"))
        goto out_undo;
    rc = hs_pki_create(path, &po, err, sizeof(err));
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin init: %s\n", err);
        goto out_undo;
    }
    if (!path_join(path, sizeof(path), dir, "huimin.conf"))
        goto out_undo;
    rc = hs_config_write(&cfg, path);
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin init: cannot write %s: %s\n", path, hs_strerror(rc));
        goto out_undo;
    }
    /* What the server will read must be what was meant. */
    if (hs_config_load(path, &check, err, sizeof(err)) != HS_OK) {
        fprintf(stderr, "huimin-admin init: the configuration written does not read back: %s\n",
                err);
        goto out_undo;
    }
    if (!path_join(path, sizeof(path), dir, "kiosks") || mkdir(path, 0700) != 0) {
        fprintf(stderr, "huimin-admin init: cannot create %s/kiosks\n", dir);
        goto out_undo;
    }
    /* Opening the store once creates the database and runs the migrations. */
    if (open_store(&check, &st) != EXIT_OK)
        goto out_undo;
    hs_store_close(st);
    init_summary(&check, a);
    free(spki);
    return EXIT_OK;
out_undo:
    init_undo(a->dir, created);
    if (a->pkcs11 && spki)
        fprintf(stderr,
                "huimin-admin init: the key '%s' made in token '%s' is left there; delete it "
                "or pass another --key-label next time.\n",
                cfg.p11_key_label, cfg.p11_token);
    free(spki);
    fprintf(stderr, "huimin-admin init: nothing was created in %s.\n", a->dir);
    return ret;
}

/* ---- kiosks ---------------------------------------------------------------- */

/* Kiosk ids name folders and appear in certificates: letters, digits, '.', '_' and '-'. */
static bool kiosk_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n >= sizeof(((struct hs_kiosk *)0)->id))
        return false;
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
          (id[0] >= '0' && id[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The folder that holds the kiosk CA (init's pki/): its key sits beside its certificate. */
static bool pki_dir_of(const struct hs_config *cfg, char *out, size_t cap)
{
    const char *slash = strrchr(cfg->kiosk_ca, '/');
    size_t n = slash ? (size_t)(slash - cfg->kiosk_ca) : 0;

    if (!slash || n == 0 || n >= cap)
        return false;
    memcpy(out, cfg->kiosk_ca, n);
    out[n] = '\0';
    return true;
}

static int enroll_checks(const struct args *a, struct hs_kiosk *k)
{
    memset(k, 0, sizeof(*k));
    if (!a->id || !a->name || !a->office) {
        fprintf(stderr, "huimin-admin enroll-kiosk: --id, --name and --office are required\n");
        return EXIT_USAGE;
    }
    if (!kiosk_id_valid(a->id)) {
        fprintf(stderr, "huimin-admin enroll-kiosk: --id takes 1 to 63 letters, digits, '.', '_' "
                        "or '-', starting with a letter or digit (e.g. kiosk-hz-001)\n");
        return EXIT_USAGE;
    }
    hm_strlcpy(k->id, a->id, sizeof(k->id));
    if (hm_strlcpy(k->name, a->name, sizeof(k->name)) >= sizeof(k->name) ||
        hm_strlcpy(k->office, a->office, sizeof(k->office)) >= sizeof(k->office)) {
        fprintf(stderr, "huimin-admin enroll-kiosk: --name takes at most %zu bytes, --office %zu\n",
                sizeof(k->name) - 1, sizeof(k->office) - 1);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int cmd_enroll(const struct args *a)
{
    struct hs_config cfg;
    struct hs_kiosk k, old;
    struct hs_kiosk_cert kc;
    struct hs_store *st = NULL;
    char kiosks[PATH_CAP], final[PATH_CAP], tmp[PATH_CAP], pki[PATH_CAP], err[512], actor[128];
    int ret;
    hs_rc rc;

    ret = enroll_checks(a, &k);
    if (ret == EXIT_OK)
        ret = load_deployment(a->dir, &cfg);
    if (ret != EXIT_OK)
        return ret;
    if (!path_join(kiosks, sizeof(kiosks), cfg.dir, "kiosks") ||
        !path_join(final, sizeof(final), kiosks, k.id) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", kiosks, k.id) >= sizeof(tmp))
        return EXIT_USAGE;
    if (!pki_dir_of(&cfg, pki, sizeof(pki))) {
        fprintf(stderr, "huimin-admin enroll-kiosk: cannot tell the kiosk CA's folder from %s\n",
                cfg.kiosk_ca);
        return EXIT_UNUSABLE;
    }
    if (access(final, F_OK) == 0) {
        fprintf(stderr, "huimin-admin enroll-kiosk: kiosk %s is enrolled already (%s exists).\n",
                k.id, final);
        return EXIT_REFUSED;
    }
    ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    rc = hs_kiosk_by_id(st, k.id, &old);
    if (rc == HS_OK) {
        fprintf(stderr, "huimin-admin enroll-kiosk: kiosk %s is registered already.\n", k.id);
        ret = EXIT_REFUSED;
        goto out_close;
    }
    if (rc != HS_E_NOT_FOUND) {
        fprintf(stderr, "huimin-admin enroll-kiosk: cannot read the kiosk registry: %s\n",
                hs_strerror(rc));
        ret = EXIT_UNUSABLE;
        goto out_close;
    }
    /* The files go to a temporary folder that becomes kiosks/ID once the database took it. */
    if (mkdir(kiosks, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "huimin-admin enroll-kiosk: cannot create %s: %s\n", kiosks,
                strerror(errno));
        ret = EXIT_UNUSABLE;
        goto out_close;
    }
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "huimin-admin enroll-kiosk: cannot create a folder in %s: %s\n", kiosks,
                strerror(errno));
        ret = EXIT_UNUSABLE;
        goto out_close;
    }
    rc = hs_pki_issue_kiosk(pki, k.id, cfg.sign_cert, tmp, &kc, err, sizeof(err));
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin enroll-kiosk: %s\n", err);
        ret = EXIT_UNUSABLE;
        goto out_remove;
    }
    hm_strlcpy(k.cert_sha256, kc.sha256, sizeof(k.cert_sha256));
    hm_strlcpy(k.cert_serial, kc.serial, sizeof(k.cert_serial));
    actor_name(actor, sizeof(actor));
    rc = hs_kiosk_enroll(st, &k, actor, (int64_t)time(NULL));
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin enroll-kiosk: the registry refused kiosk %s: %s\n", k.id,
                hs_strerror(rc));
        ret = rc == HS_E_CONFLICT || rc == HS_E_DB_CONSTRAINT ? EXIT_REFUSED : EXIT_UNUSABLE;
        goto out_remove;
    }
    if (rename(tmp, final) != 0) {
        fprintf(stderr,
                "huimin-admin enroll-kiosk: kiosk %s is registered, but its files could not be "
                "moved: %s.\nMove %s to %s by hand.\n",
                k.id, strerror(errno), tmp, final);
        ret = EXIT_UNUSABLE;
        goto out_close;
    }
    printf("Kiosk %s (%s, %s) enrolled.\n"
           "  certificate sha256 %s, serial %s\n"
           "Copy %s/ to the kiosk: kiosk.pem and kiosk.key (its identity), server-ca.pem\n"
           "(what it trusts for TLS) and signing.pem (the signing certificate it pins).\n",
           k.id, k.name, k.office, kc.sha256, kc.serial, final);
    ret = EXIT_OK;
    goto out_close;
out_remove:
    hs_pki_remove_tree(tmp);
out_close:
    hs_store_close(st);
    return ret;
}

static int cmd_revoke(const struct args *a)
{
    struct hs_config cfg;
    struct hs_store *st = NULL;
    char actor[128];
    int ret;
    hs_rc rc;

    if (!a->id) {
        fprintf(stderr, "huimin-admin revoke-kiosk: --id is required\n");
        return EXIT_USAGE;
    }
    ret = load_deployment(a->dir, &cfg);
    if (ret == EXIT_OK)
        ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    actor_name(actor, sizeof(actor));
    rc = hs_kiosk_revoke(st, a->id, a->reason ? a->reason : "", actor, (int64_t)time(NULL));
    if (rc == HS_OK) {
        printf("Kiosk %s revoked: its certificate is no longer accepted.\n", a->id);
    } else if (rc == HS_E_NOT_FOUND) {
        fprintf(stderr, "huimin-admin revoke-kiosk: there is no kiosk %s in this deployment.\n",
                a->id);
        ret = EXIT_REFUSED;
    } else {
        fprintf(stderr, "huimin-admin revoke-kiosk: %s\n", hs_strerror(rc));
        ret = EXIT_UNUSABLE;
    }
    hs_store_close(st);
    return ret;
}

static int cmd_kiosks(const struct args *a)
{
    struct hs_config cfg;
    struct hs_store *st = NULL;
    struct hs_kiosk *k = NULL;
    size_t n = 0;
    int ret = load_deployment(a->dir, &cfg);

    if (ret == EXIT_OK)
        ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    hs_rc rc = hs_kiosk_list(st, &k, &n);
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin kiosks: %s\n", hs_strerror(rc));
        hs_store_close(st);
        return EXIT_UNUSABLE;
    }
    printf("%-24s %-8s %-12s %-20s %s\n", "ID", "STATUS", "OFFICE", "ENROLLED", "NAME");
    for (size_t i = 0; i < n; i++) {
        char when[32] = "";
        time_t t = (time_t)k[i].enrolled_at;
        struct tm tm;
        if (localtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
        printf("%-24s %-8s %-12s %-20s %s\n", k[i].id,
               k[i].status == HS_KIOSK_ACTIVE ? "active" : "revoked", k[i].office, when, k[i].name);
    }
    if (n == 0)
        printf("(no kiosks yet: enroll one with 'huimin-admin enroll-kiosk')\n");
    free(k);
    hs_store_close(st);
    return EXIT_OK;
}

static int cmd_audit_verify(const struct args *a)
{
    struct hs_config cfg;
    struct hs_audit_report rep = { 0 };
    struct hs_store *st = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    int ret;
    hs_rc rc;

    ret = load_deployment(a->dir, &cfg);
    if (ret != EXIT_OK)
        return ret;
    rc = hs_pki_cert_file_der(cfg.sign_cert, &der, &der_len);
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-admin audit verify: cannot read the signing certificate %s: %s\n",
                cfg.sign_cert, hs_strerror(rc));
        return EXIT_UNUSABLE;
    }
    ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        goto out_free;
    rc = hs_audit_verify(st, der, der_len, &rep);
    if (rc == HS_OK) {
        printf("The audit log verifies: %lld records, %lld signed checkpoints.\n",
               (long long)rep.records, (long long)rep.checkpoints);
    } else if (rc == HS_E_AUDIT_BROKEN) {
        printf("The audit log is BROKEN at record %lld: %s\n"
               "(%lld records and %lld checkpoints checked before it.)\n",
               (long long)rep.bad_seq, rep.reason, (long long)rep.records,
               (long long)rep.checkpoints);
        ret = EXIT_BROKEN;
    } else {
        fprintf(stderr, "huimin-admin audit verify: %s\n", hs_strerror(rc));
        ret = EXIT_UNUSABLE;
    }
    hs_store_close(st);
out_free:
    free(der);
    return ret;
}

/* ---- the card registry ------------------------------------------------------ */

/* Reads a PUK (8 digits) from standard input and seals it for the card serial. */
static int seal_puk(const struct hs_config *cfg, const char *serial, uint8_t **blob, size_t *len)
{
    char puk[64] = "";
    uint8_t key[HS_SEAL_KEY_LEN];
    int ret = EXIT_OK;

    if (!fgets(puk, sizeof(puk), stdin)) {
        fprintf(stderr, "huimin-admin register-card: no PUK on standard input\n");
        return EXIT_USAGE;
    }
    puk[strcspn(puk, "\r\n")] = '\0';
    size_t n = strlen(puk);
    bool digits = n == 8;
    for (size_t i = 0; i < n; i++)
        digits = digits && puk[i] >= '0' && puk[i] <= '9';
    if (!digits) {
        fprintf(stderr, "huimin-admin register-card: the PUK must be 8 digits\n");
        ret = EXIT_USAGE;
    } else if (hs_seal_key_load(cfg->seal_key, key) != HS_OK) {
        fprintf(stderr, "huimin-admin register-card: cannot read the seal key %s\n", cfg->seal_key);
        ret = EXIT_UNUSABLE;
    } else if (hs_seal(key, serial, (const uint8_t *)puk, n, blob, len) != HS_OK) {
        fprintf(stderr, "huimin-admin register-card: sealing the PUK failed\n");
        ret = EXIT_UNUSABLE;
    }
    hm_wipe(key, sizeof(key));
    hm_wipe(puk, sizeof(puk));
    return ret;
}

static int cmd_register_card(const struct args *a)
{
    struct hs_config cfg;
    struct hs_store *st = NULL;
    struct hs_card_cert cc;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char actor[128];
    int ret;

    if (!a->cert) {
        fprintf(stderr, "huimin-admin register-card: --cert CARD.pem is required\n");
        return EXIT_USAGE;
    }
    ret = load_deployment(a->dir, &cfg);
    if (ret != EXIT_OK)
        return ret;
    hs_rc rc = hs_pki_card_cert(a->cert, cfg.issuer_ca, &cc);
    if (rc == HS_E_SIGNATURE) {
        fprintf(stderr,
                "huimin-admin register-card: %s was not issued by this deployment's "
                "issuer CA; it cannot be registered\n",
                a->cert);
        return EXIT_REFUSED;
    }
    if (rc != HS_OK) {
        fprintf(stderr,
                "huimin-admin register-card: %s is not a usable card certificate "
                "(it needs a holder CN and a serialNumber): %s\n",
                a->cert, hs_strerror(rc));
        return EXIT_USAGE;
    }
    if (a->puk_stdin && (ret = seal_puk(&cfg, cc.serial, &blob, &blob_len)) != EXIT_OK)
        return ret;
    ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        goto out;
    struct hs_card card = { .status = HS_CARD_ACTIVE };
    hm_strlcpy(card.cert_serial, cc.serial, sizeof(card.cert_serial));
    hm_strlcpy(card.welfare_no, cc.welfare_no, sizeof(card.welfare_no));
    hm_strlcpy(card.holder, cc.holder, sizeof(card.holder));
    actor_name(actor, sizeof(actor));
    rc = hs_card_register(st, &card, blob, blob_len, actor, (int64_t)time(NULL));
    if (rc == HS_OK) {
        printf("Card %s registered: %s, welfare number %s%s.\n", cc.serial, cc.holder,
               cc.welfare_no, blob ? ", PUK sealed" : "");
    } else if (rc == HS_E_CONFLICT) {
        fprintf(stderr, "huimin-admin register-card: card %s is registered already\n", cc.serial);
        ret = EXIT_REFUSED;
    } else {
        fprintf(stderr, "huimin-admin register-card: %s\n", hs_strerror(rc));
        ret = EXIT_UNUSABLE;
    }
    hs_store_close(st);
out:
    if (blob)
        hm_wipe(blob, blob_len);
    free(blob);
    return ret;
}

static int cmd_revoke_card(const struct args *a)
{
    struct hs_config cfg;
    struct hs_store *st = NULL;
    char actor[128];
    unsigned long serial;

    if (!a->serial || !hm_parse_ulong(a->serial, ~0ul, &serial)) {
        fprintf(stderr, "huimin-admin revoke-card: --serial N (the card certificate's decimal "
                        "serial number) is required\n");
        return EXIT_USAGE;
    }
    int ret = load_deployment(a->dir, &cfg);
    if (ret == EXIT_OK)
        ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    actor_name(actor, sizeof(actor));
    hs_rc rc =
        hs_card_revoke(st, a->serial, a->reason ? a->reason : "", actor, (int64_t)time(NULL));
    if (rc == HS_OK) {
        printf("Card %s revoked: kiosks refuse it from now on. Also run\n"
               "  huimin-issue revoke --dir %s/pki --serial %s\n"
               "to put it on the issuer's CRL.\n",
               a->serial, a->dir, a->serial);
    } else if (rc == HS_E_NOT_FOUND) {
        fprintf(stderr, "huimin-admin revoke-card: there is no card %s in the registry\n",
                a->serial);
        ret = EXIT_REFUSED;
    } else {
        fprintf(stderr, "huimin-admin revoke-card: %s\n", hs_strerror(rc));
        ret = EXIT_UNUSABLE;
    }
    hs_store_close(st);
    return ret;
}

/* ---- import ----------------------------------------------------------------- */

static int cmd_import(const struct args *a)
{
    struct hs_import_report rep;
    struct hs_import_opts o = { .dry_run = a->dry_run };
    struct hs_config cfg;
    struct hs_store *st = NULL;
    char actor[128], base[PATH_CAP];
    int ret;
    hs_rc rc;

    uint8_t seal[HS_SEAL_KEY_LEN], person_key[HS_PERSON_KEY_LEN];

    if (!a->kind || !hs_import_kind_parse(a->kind, &o.kind)) {
        fprintf(stderr, "huimin-admin import: KIND is programmes, residents, entitlements, "
                        "payments, offices, office-days or marriages\n");
        return EXIT_USAGE;
    }
    if (!a->file || !*a->file) {
        fprintf(stderr, "huimin-admin import: --file FILE.csv is required\n");
        return EXIT_USAGE;
    }
    if (access(a->file, R_OK) != 0) {
        fprintf(stderr, "huimin-admin import: cannot read %s: %s\n", a->file, strerror(errno));
        return EXIT_USAGE;
    }
    hm_strlcpy(base, a->file, sizeof(base));
    o.name = basename(base);
    ret = load_deployment(a->dir, &cfg);
    if (ret == EXIT_OK)
        ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    actor_name(actor, sizeof(actor));
    o.actor = actor;
    o.now = (int64_t)time(NULL);
    if (o.kind == HS_IMPORT_MARRIAGES) {
        /* Records are keyed by the person key, derived from the seal key as the server does. */
        if (hs_seal_key_load(cfg.seal_key, seal) != HS_OK ||
            hs_person_key(seal, person_key) != HS_OK) {
            hm_wipe(seal, sizeof(seal));
            fprintf(stderr, "huimin-admin import: cannot read the seal key %s\n", cfg.seal_key);
            hs_store_close(st);
            return EXIT_UNUSABLE;
        }
        hm_wipe(seal, sizeof(seal));
        o.person_key = person_key;
    }
    rc = hs_import_file(st, &o, a->file, &rep);
    hm_wipe(person_key, sizeof(person_key));
    for (size_t i = 0; i < rep.nmsgs; i++)
        fprintf(stderr, "%s\n", rep.msgs[i].text);
    if (rep.errors > rep.nmsgs)
        fprintf(stderr, "%s: ... and %zu more errors\n", o.name, rep.errors - rep.nmsgs);
    switch (rc) {
    case HS_OK:
        if (a->dry_run)
            printf("Checked %zu %s in %s: every row is good. Nothing was written (--dry-run).\n",
                   rep.rows, a->kind, o.name);
        else
            printf("Imported %zu %s from %s in one transaction (sha256 %s, audit record "
                   "%lld).\n",
                   rep.rows, a->kind, o.name, rep.sha256, (long long)rep.audit_seq);
        break;
    case HS_E_MALFORMED:
    case HS_E_TOO_LARGE:
        if (rep.file_error)
            fprintf(stderr,
                    "huimin-admin import: %s was refused as a whole; nothing was "
                    "imported.\n",
                    o.name);
        else
            fprintf(stderr,
                    "huimin-admin import: %zu of %zu rows in %s are bad; nothing was "
                    "imported.\nFix those rows and run the command again.\n",
                    rep.bad_rows, rep.rows, o.name);
        ret = EXIT_REFUSED;
        break;
    case HS_E_CONFLICT:
        fprintf(stderr,
                "huimin-admin import: the database changed while %s was checked (a key "
                "was taken or a referenced row removed); nothing was imported. Run the "
                "command again to see which rows.\n",
                o.name);
        ret = EXIT_REFUSED;
        break;
    case HS_E_IO:
        fprintf(stderr, "huimin-admin import: cannot read %s (it must be a regular file)\n",
                a->file);
        ret = EXIT_USAGE;
        break;
    default:
        fprintf(stderr, "huimin-admin import: %s; nothing was imported.\n", hs_strerror(rc));
        ret = EXIT_UNUSABLE;
        break;
    }
    hs_import_report_cleanup(&rep);
    hs_store_close(st);
    return ret;
}

/* ---- the hall staff's queue ------------------------------------------------- */

static int cmd_exceptions(const struct args *a)
{
    struct hs_config cfg;
    struct hs_store *st = NULL;
    char actor[128];
    int ret;

    if (a->close && a->all) {
        fprintf(stderr, "huimin-admin exceptions close: --all is for the list only\n");
        return EXIT_USAGE;
    }
    if (!a->close && a->note) {
        fprintf(stderr, "huimin-admin exceptions: --note goes with 'exceptions close ID'\n");
        return EXIT_USAGE;
    }
    ret = load_deployment(a->dir, &cfg);
    if (ret == EXIT_OK)
        ret = open_store(&cfg, &st);
    if (ret != EXIT_OK)
        return ret;
    if (a->close) {
        actor_name(actor, sizeof(actor));
        ret = hs_admin_exception_close(st, a->id, a->note, actor, (int64_t)time(NULL));
    } else {
        ret = hs_admin_exceptions_list(st, a->all);
    }
    hs_store_close(st);
    return ret;
}

/* ---- main ------------------------------------------------------------------ */

static int parse_args(int argc, char **argv, int first, struct args *a)
{
    enum {
        O_BACKEND = 256,
        O_CONNINFO,
        O_PKCS11,
        O_MODULE,
        O_TOKEN,
        O_PIN_FILE,
        O_KEY_LABEL,
        O_CERT,
        O_SERIAL,
        O_PUK_STDIN,
        O_FILE,
        O_DRY_RUN,
        O_NOTE,
        O_ALL
    };
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "name", required_argument, NULL, 'n' },
        { "host", required_argument, NULL, 'H' },
        { "backend", required_argument, NULL, O_BACKEND },
        { "conninfo", required_argument, NULL, O_CONNINFO },
        { "pkcs11", no_argument, NULL, O_PKCS11 },
        { "module", required_argument, NULL, O_MODULE },
        { "token", required_argument, NULL, O_TOKEN },
        { "pin-file", required_argument, NULL, O_PIN_FILE },
        { "key-label", required_argument, NULL, O_KEY_LABEL },
        { "id", required_argument, NULL, 'i' },
        { "office", required_argument, NULL, 'o' },
        { "reason", required_argument, NULL, 'r' },
        { "cert", required_argument, NULL, O_CERT },
        { "serial", required_argument, NULL, O_SERIAL },
        { "puk-stdin", no_argument, NULL, O_PUK_STDIN },
        { "file", required_argument, NULL, O_FILE },
        { "dry-run", no_argument, NULL, O_DRY_RUN },
        { "note", required_argument, NULL, O_NOTE },
        { "all", no_argument, NULL, O_ALL },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    optind = first;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a->dir = optarg;
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'H':
            if (a->nhosts == HS_PKI_HOSTS_MAX) {
                fprintf(stderr, "huimin-admin: at most %d --host names\n", HS_PKI_HOSTS_MAX);
                return EXIT_USAGE;
            }
            a->hosts[a->nhosts++] = optarg;
            break;
        case O_BACKEND:
            a->backend = optarg;
            break;
        case O_CONNINFO:
            a->conninfo = optarg;
            break;
        case O_PKCS11:
            a->pkcs11 = true;
            break;
        case O_MODULE:
            a->module = optarg;
            break;
        case O_TOKEN:
            a->token = optarg;
            break;
        case O_PIN_FILE:
            a->pin_file = optarg;
            break;
        case O_KEY_LABEL:
            a->key_label = optarg;
            break;
        case 'i':
            a->id = optarg;
            break;
        case 'o':
            a->office = optarg;
            break;
        case 'r':
            a->reason = optarg;
            break;
        case O_CERT:
            a->cert = optarg;
            break;
        case O_SERIAL:
            a->serial = optarg;
            break;
        case O_PUK_STDIN:
            a->puk_stdin = true;
            break;
        case O_FILE:
            a->file = optarg;
            break;
        case O_DRY_RUN:
            a->dry_run = true;
            break;
        case O_NOTE:
            a->note = optarg;
            break;
        case O_ALL:
            a->all = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || !a->dir || !*a->dir) {
        fprintf(stderr, "huimin-admin: --dir DIR is required (and no extra arguments)\n");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct args a = { .backend = "sqlite" };
    const char *cmd;
    int first = 2, ret;

    hm_log_init("huimin-admin", HM_LOG_WARN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    cmd = argv[1];
    if (strcmp(cmd, "audit") == 0) {
        if (argc < 3 || strcmp(argv[2], "verify") != 0) {
            fprintf(stderr, "huimin-admin: the audit command is 'audit verify --dir DIR'\n");
            return EXIT_USAGE;
        }
        first = 3;
    }
    if (strcmp(cmd, "import") == 0) {
        if (argc < 3 || argv[2][0] == '-') {
            fprintf(stderr, "huimin-admin: the import command is 'import KIND --dir DIR --file "
                            "FILE.csv [--dry-run]'\n");
            return EXIT_USAGE;
        }
        a.kind = argv[2];
        first = 3;
    }
    if (strcmp(cmd, "exceptions") == 0 && argc >= 3 && strcmp(argv[2], "close") == 0) {
        /* Ids made before hs_api_random_id() may start with '-': only "--..." and -h are options.
         */
        if (argc < 4 || !argv[3][0] || strncmp(argv[3], "--", 2) == 0 ||
            strcmp(argv[3], "-h") == 0) {
            fprintf(stderr, "huimin-admin: the command is 'exceptions close ID --dir DIR "
                            "[--note TEXT]' (the IDs are in 'huimin-admin exceptions')\n");
            return EXIT_USAGE;
        }
        a.close = true;
        a.id = argv[3];
        first = 4;
    }
    ret = parse_args(argc, argv, first, &a);
    if (ret != EXIT_OK)
        return ret < 0 ? EXIT_OK : ret;
    if (strcmp(cmd, "init") == 0)
        return cmd_init(&a);
    if (strcmp(cmd, "enroll-kiosk") == 0)
        return cmd_enroll(&a);
    if (strcmp(cmd, "revoke-kiosk") == 0)
        return cmd_revoke(&a);
    if (strcmp(cmd, "audit") == 0)
        return cmd_audit_verify(&a);
    if (strcmp(cmd, "register-card") == 0)
        return cmd_register_card(&a);
    if (strcmp(cmd, "kiosks") == 0)
        return cmd_kiosks(&a);
    if (strcmp(cmd, "revoke-card") == 0)
        return cmd_revoke_card(&a);
    if (strcmp(cmd, "import") == 0)
        return cmd_import(&a);
    if (strcmp(cmd, "exceptions") == 0)
        return cmd_exceptions(&a);
    fprintf(stderr, "huimin-admin: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
