/* Unit tests of huimin.conf: defaults, a write/load round trip, path resolution, and every error
 * naming its file and line. */
#include "hs/config.h"

#include "hm/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

static int make_tmpdir(void **state)
{
    char *real;

    (void)state;
    hm_strlcpy(tmpdir, "/tmp/hs-config-XXXXXX", sizeof(tmpdir));
    if (!mkdtemp(tmpdir))
        return -1;
    /* /tmp may be a symbolic link; the loader stores the resolved folder. */
    real = realpath(tmpdir, NULL);
    if (!real)
        return -1;
    hm_strlcpy(tmpdir, real, sizeof(tmpdir));
    free(real);
    return 0;
}

static int remove_tmpdir(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t cap, const char *name)
{
    assert_true((size_t)snprintf(out, cap, "%s/%s", tmpdir, name) < cap);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 65536);
    size_t n;

    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, 65535, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Loads text as huimin.conf in the temporary folder. */
static hs_rc load_text(const char *text, struct hs_config *cfg, char *err, size_t cap)
{
    char path[PATH_MAX];

    path_in(path, sizeof(path), "huimin.conf");
    write_text(path, text);
    return hs_config_load(path, cfg, err, cap);
}

static void test_defaults(void **state)
{
    struct hs_config c;

    (void)state;
    hs_config_defaults(&c, "/srv/huimin");
    assert_string_equal(c.dir, "/srv/huimin");
    assert_string_equal(c.listen_addr, "0.0.0.0");
    assert_int_equal(c.port, 8443);
    assert_string_equal(c.ops_addr, "");
    assert_int_equal(c.ops_port, 8080);
    assert_int_equal(c.io_threads, 0);
    assert_int_equal(c.handler_threads, 0);
    assert_int_equal(c.max_body, 65536);
    assert_int_equal(c.max_header, 8192);
    assert_int_equal(c.read_timeout_s, 10);
    assert_int_equal(c.idle_timeout_s, 60);
    assert_int_equal(c.drain_timeout_s, 10);
    assert_string_equal(c.tls_cert, "/srv/huimin/pki/server-tls.pem");
    assert_string_equal(c.tls_key, "/srv/huimin/pki/server-tls.key");
    assert_string_equal(c.kiosk_ca, "/srv/huimin/pki/kiosk-ca.pem");
    assert_string_equal(c.backend, "sqlite");
    assert_string_equal(c.db_path, "/srv/huimin/huimin.db");
    assert_string_equal(c.sign_kind, "pem");
    assert_string_equal(c.sign_key, "/srv/huimin/pki/signing.key");
    assert_string_equal(c.sign_cert, "/srv/huimin/pki/signing.pem");
    assert_string_equal(c.issuer_ca, "/srv/huimin/pki/issuer-ca.pem");
    assert_string_equal(c.issuer_crl, "/srv/huimin/pki/issuer.crl");
    assert_string_equal(c.csca_dir, "/srv/huimin/pki/csca");
    assert_string_equal(c.seal_key, "/srv/huimin/pki/seal.key");
    assert_int_equal(c.nonce_ttl_s, 120);
    assert_int_equal(c.session_ttl_s, 300);
    assert_int_equal(c.checkpoint_every, 1000);
    assert_string_equal(c.log_level, "info");
}

static void test_empty_file_gives_defaults(void **state)
{
    struct hs_config c, d;
    char err[512];

    (void)state;
    assert_int_equal(load_text("# nothing but a comment\n\n", &c, err, sizeof(err)), HS_OK);
    hs_config_defaults(&d, tmpdir);
    assert_string_equal(c.dir, tmpdir);
    assert_string_equal(c.tls_cert, d.tls_cert);
    assert_string_equal(c.db_path, d.db_path);
    assert_int_equal(c.port, 8443);
}

static void test_round_trip(void **state)
{
    struct hs_config c, back;
    char path[PATH_MAX], path2[PATH_MAX], err[512], *t1, *t2;
    struct stat st;

    (void)state;
    hs_config_defaults(&c, tmpdir);
    hm_strlcpy(c.listen_addr, "::", sizeof(c.listen_addr));
    c.port = 9443;
    hm_strlcpy(c.ops_addr, "127.0.0.1", sizeof(c.ops_addr));
    c.ops_port = 9090;
    c.io_threads = 4;
    c.handler_threads = 64;
    c.max_body = 1 << 20;
    c.max_header = 16384;
    c.read_timeout_s = 5;
    c.idle_timeout_s = 30;
    c.drain_timeout_s = 0;
    hm_strlcpy(c.backend, "postgres", sizeof(c.backend));
    hm_strlcpy(c.db_conninfo, "host=/tmp/pg port=5433 dbname=huimin user=huimin",
               sizeof(c.db_conninfo));
    hm_strlcpy(c.sign_kind, "pkcs11", sizeof(c.sign_kind));
    c.sign_key[0] = '\0';
    hm_strlcpy(c.p11_module, "/usr/lib/softhsm/libsofthsm2.so", sizeof(c.p11_module));
    hm_strlcpy(c.p11_token, "huimin", sizeof(c.p11_token));
    hm_strlcpy(c.p11_key_label, "huimin-signing", sizeof(c.p11_key_label));
    path_in(c.p11_pin_file, sizeof(c.p11_pin_file), "pki/token.pin");
    c.issuer_crl[0] = '\0';
    hm_strlcpy(c.csca_dir, "/etc/huimin/csca", sizeof(c.csca_dir));
    c.nonce_ttl_s = 60;
    c.session_ttl_s = 600;
    c.checkpoint_every = 10;
    hm_strlcpy(c.log_level, "debug", sizeof(c.log_level));

    path_in(path, sizeof(path), "huimin.conf");
    assert_int_equal(hs_config_write(&c, path), HS_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    t1 = read_text(path);
    /* Paths inside the folder are written relative, others as they are. */
    assert_non_null(strstr(t1, "\ncert = pki/server-tls.pem\n"));
    assert_non_null(strstr(t1, "\npin_file = pki/token.pin\n"));
    assert_non_null(strstr(t1, "\ncsca_dir = /etc/huimin/csca\n"));
    assert_non_null(strstr(t1, "\nlisten = [::]:9443\n"));
    assert_non_null(strstr(t1, "\nissuer_crl =\n"));
    assert_non_null(strstr(t1, "# "));

    assert_int_equal(hs_config_load(path, &back, err, sizeof(err)), HS_OK);
    assert_string_equal(back.dir, tmpdir);
    assert_string_equal(back.listen_addr, "::");
    assert_int_equal(back.port, 9443);
    assert_string_equal(back.ops_addr, "127.0.0.1");
    assert_int_equal(back.ops_port, 9090);
    assert_int_equal(back.io_threads, 4);
    assert_int_equal(back.handler_threads, 64);
    assert_int_equal(back.max_body, 1 << 20);
    assert_int_equal(back.max_header, 16384);
    assert_int_equal(back.read_timeout_s, 5);
    assert_int_equal(back.idle_timeout_s, 30);
    assert_int_equal(back.drain_timeout_s, 0);
    assert_string_equal(back.tls_cert, c.tls_cert);
    assert_string_equal(back.tls_key, c.tls_key);
    assert_string_equal(back.kiosk_ca, c.kiosk_ca);
    assert_string_equal(back.backend, "postgres");
    assert_string_equal(back.db_conninfo, c.db_conninfo);
    assert_string_equal(back.db_path, c.db_path);
    assert_string_equal(back.sign_kind, "pkcs11");
    assert_string_equal(back.sign_key, "");
    assert_string_equal(back.sign_cert, c.sign_cert);
    assert_string_equal(back.p11_module, c.p11_module);
    assert_string_equal(back.p11_token, "huimin");
    assert_string_equal(back.p11_key_label, "huimin-signing");
    assert_string_equal(back.p11_pin_file, c.p11_pin_file);
    assert_string_equal(back.issuer_ca, c.issuer_ca);
    assert_string_equal(back.issuer_crl, "");
    assert_string_equal(back.csca_dir, "/etc/huimin/csca");
    assert_string_equal(back.seal_key, c.seal_key);
    assert_int_equal(back.nonce_ttl_s, 60);
    assert_int_equal(back.session_ttl_s, 600);
    assert_int_equal(back.checkpoint_every, 10);
    assert_string_equal(back.log_level, "debug");

    /* Writing what was read gives the same text again. */
    path_in(path2, sizeof(path2), "again.conf");
    assert_int_equal(hs_config_write(&back, path2), HS_OK);
    t2 = read_text(path2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
}

static void test_ops_listen_off(void **state)
{
    struct hs_config c;
    char err[512];

    (void)state;
    assert_int_equal(
        load_text("[server]\nops_listen =\nlisten = 127.0.0.1:1\n", &c, err, sizeof(err)), HS_OK);
    assert_string_equal(c.ops_addr, "");
    assert_string_equal(c.listen_addr, "127.0.0.1");
    assert_int_equal(c.port, 1);
}

static void test_comments_and_whitespace(void **state)
{
    struct hs_config c;
    char err[512];

    (void)state;
    assert_int_equal(load_text("# a comment\r\n"
                               "; another\r\n"
                               "   # indented comment\r\n"
                               "  [ server ]  \r\n"
                               "\tlisten\t=\t10.0.0.1:8443\t\r\n"
                               "io_threads=3\r\n"
                               "\r\n"
                               "[storage]\n"
                               "conninfo = dbname=x password=a#b;c\n",
                               &c, err, sizeof(err)),
                     HS_OK);
    assert_string_equal(c.listen_addr, "10.0.0.1");
    assert_int_equal(c.io_threads, 3);
    /* '#' and ';' inside a value are part of it: comments are whole lines. */
    assert_string_equal(c.db_conninfo, "dbname=x password=a#b;c");
}

static void test_path_resolution(void **state)
{
    struct hs_config c;
    char sub[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 64], err[512], cwd[PATH_MAX];

    (void)state;
    path_in(sub, sizeof(sub), "deploy");
    assert_int_equal(mkdir(sub, 0700), 0);
    path_in(path, sizeof(path), "deploy/huimin.conf");
    write_text(path, "[tls]\n"
                     "cert = certs/tls.pem\n"
                     "key = /etc/huimin/tls.key\n"
                     "kiosk_ca = ../shared/kiosk-ca.pem\n"
                     "[storage]\n"
                     "path = data/huimin.db\n");
    /* Load through a relative path: the folder is still stored absolute. */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(hs_config_load("deploy/huimin.conf", &c, err, sizeof(err)), HS_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_string_equal(c.dir, sub);
    snprintf(want, sizeof(want), "%s/certs/tls.pem", sub);
    assert_string_equal(c.tls_cert, want);
    assert_string_equal(c.tls_key, "/etc/huimin/tls.key");
    snprintf(want, sizeof(want), "%s/../shared/kiosk-ca.pem", sub);
    assert_string_equal(c.kiosk_ca, want);
    snprintf(want, sizeof(want), "%s/data/huimin.db", sub);
    assert_string_equal(c.db_path, want);
    /* Keys not in the file keep their defaults, relative to the file's folder. */
    snprintf(want, sizeof(want), "%s/pki/signing.pem", sub);
    assert_string_equal(c.sign_cert, want);
}

struct bad_case {
    const char *text;
    const char *message; /* the expected "huimin.conf:LINE: ..." tail, a substring */
};

static void test_errors_name_the_line(void **state)
{
    static char long_token[200], long_path[2100], long_line[5000], long_conf[HS_PATH_MAX + 64];
    static struct bad_case cases[] = {
        { "[server]\nlisten = 0.0.0.0:8443\nprot = 1\n", ":3: unknown key 'prot' in [server]" },
        { "[serverr]\n", ":1: unknown section [serverr]" },
        { "[server]\nio_threads = 1\n\nio_threads = 2\n",
          ":4: duplicate key 'io_threads' in [server] (first set on line 2)" },
        { "[server]\nio_threads = ten\n", ":2: io_threads in [server] must be a whole number" },
        { "[server]\nread_timeout = 0\n", ":2: read_timeout in [server] must be 1 to 3600, not 0" },
        { "[server]\nmax_body = 99999999999999999999\n", ":2: max_body in [server] must be" },
        { "[storage]\nbackend = mysql\n",
          ":2: backend in [storage] must be one of sqlite, postgres, not 'mysql'" },
        { "[log]\nlevel = loud\n", ":2: level in [log] must be one of error, warn" },
        { "listen = 0.0.0.0:1\n", ":1: key 'listen' comes before any [section]" },
        { "[server]\n# fine\nlisten\n", ":3: expected 'key = value'" },
        { "[server\n", ":1: a section header must look like [server]" },
        { "[server]\nlisten = 0.0.0.0\n", ":2: listen in [server] needs a port" },
        { "[server]\nlisten = :::8443\n",
          ":2: listen in [server]: put an IPv6 address in brackets" },
        { "[server]\nlisten = [::1:8443\n", ":2: listen in [server] must look like [::]:8443" },
        { "[server]\nlisten = localhost:8443\n",
          ":2: listen in [server]: 'localhost' is not an IPv4" },
        { "[server]\nlisten = 0.0.0.0:70000\n",
          ":2: listen in [server]: the port must be 0 to 65535" },
        { "[server]\nlisten =\n", ":2: listen in [server] may not be empty" },
        { "[tls]\ncert =\n", ":2: cert in [tls] may not be empty" },
        { "[storage]\nbackend = postgres\n", ":2: backend = postgres needs conninfo in [storage]" },
        { "[signing]\nkind = pkcs11\nmodule = /m.so\n",
          ":2: kind = pkcs11 needs token in [signing]" },
        { "[signing]\nkey =\n", ":2: kind = pem needs key in [signing]" },
        { long_token, ":3: the value of token in [signing] is too long (at most 63 bytes)" },
        { long_path, ":2: the path of cert in [tls] is too long" },
        { long_line, ":2: the line is longer than 4096 bytes" },
        { long_conf, ":2: the value of conninfo in [storage] is too long" },
        { "[marriage]\nmin_age_male = 2x\n",
          ":2: min_age_male in [marriage] must be a whole number from 16 to 40, not '2x'" },
        { "[marriage]\nmin_age = 22\n", ":2: unknown key 'min_age' in [marriage]" },
        { "[marriage]\nbook_ahead_days = 7\n\nbook_ahead_days = 8\n",
          ":4: duplicate key 'book_ahead_days' in [marriage] (first set on line 2)" },
        { "[marriage]\nno rule here\n", ":2: expected 'key = value' in [marriage]" },
        { "[log]\nlevel = info\n[marriage]\nmax_active_bookings = 2\n",
          ":4: max_active_bookings in [marriage] must be 1" },
    };
    struct hs_config c;
    char err[512];

    (void)state;
    snprintf(long_token, sizeof(long_token), "[signing]\n\ntoken = %064d\n", 0);
    snprintf(long_path, sizeof(long_path), "[tls]\ncert = %02000d\n", 0);
    snprintf(long_line, sizeof(long_line), "[tls]\n# %04500d\n", 0);
    /* conninfo holds HS_PATH_MAX - 1 bytes: one more is refused, not cut. */
    {
        int n = snprintf(long_conf, sizeof(long_conf), "[storage]\nconninfo = ");

        memset(long_conf + n, 'x', HS_PATH_MAX);
        long_conf[n + HS_PATH_MAX] = '\n';
        long_conf[n + HS_PATH_MAX + 1] = '\0';
    }
    for (size_t i = 0; i < HM_ARRAY_SIZE(cases); i++) {
        char want[PATH_MAX + 512];
        hs_rc rc = load_text(cases[i].text, &c, err, sizeof(err));

        snprintf(want, sizeof(want), "%s/huimin.conf%s", tmpdir, cases[i].message);
        if (rc != HS_E_CONFIG || strncmp(err, want, strlen(want)) != 0)
            fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, (int)rc, err, want);
    }
}

/* [marriage] lines reach the rules; hs_config_write() writes them back. */
static void test_marriage_rules(void **state)
{
    struct hs_config c, again;
    char err[512], path[PATH_MAX];

    (void)state;
    assert_int_equal(load_text("[marriage]\n# the bureau's choice\nmin_age_male = 23\n"
                               "require_opposite_sex = false\ncancel_until_hours = 2\n"
                               "[log]\nlevel = info\n",
                               &c, err, sizeof(err)),
                     HS_OK);
    assert_int_equal(c.marriage.min_age_male, 23);
    assert_false(c.marriage.require_opposite_sex);
    assert_int_equal(c.marriage.cancel_until_hours, 2);
    assert_int_equal(c.marriage.min_age_female, 20); /* the default */
    path_in(path, sizeof(path), "written.conf");
    assert_int_equal(hs_config_write(&c, path), HS_OK);
    assert_int_equal(hs_config_load(path, &again, err, sizeof(err)), HS_OK);
    assert_memory_equal(&again.marriage, &c.marriage, sizeof(c.marriage));
}

static void test_value_just_fits(void **state)
{
    static char conf[HS_PATH_MAX + 64];
    struct hs_config c;
    char err[512];
    int n;

    (void)state;
    n = snprintf(conf, sizeof(conf), "[storage]\nconninfo = ");
    memset(conf + n, 'x', HS_PATH_MAX - 1);
    conf[n + HS_PATH_MAX - 1] = '\n';
    conf[n + HS_PATH_MAX] = '\0';
    assert_int_equal(load_text(conf, &c, err, sizeof(err)), HS_OK);
    assert_int_equal(strlen(c.db_conninfo), HS_PATH_MAX - 1);
}

static void test_missing_file(void **state)
{
    struct hs_config c;
    char path[PATH_MAX], err[512];

    (void)state;
    path_in(path, sizeof(path), "nowhere/huimin.conf");
    assert_int_equal(hs_config_load(path, &c, err, sizeof(err)), HS_E_IO);
    assert_non_null(strstr(err, "nowhere/huimin.conf: cannot"));
    path_in(path, sizeof(path), "absent.conf");
    assert_int_equal(hs_config_load(path, &c, err, sizeof(err)), HS_E_IO);
    assert_non_null(strstr(err, "absent.conf: cannot open"));
}

static void test_nul_byte(void **state)
{
    struct hs_config c;
    char path[PATH_MAX], err[512];
    FILE *f;

    (void)state;
    path_in(path, sizeof(path), "nul.conf");
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("[log]\nlevel = info\0x\n", 1, 21, f);
    fclose(f);
    assert_int_equal(hs_config_load(path, &c, err, sizeof(err)), HS_E_CONFIG);
    assert_non_null(strstr(err, "nul.conf:2: the line holds a NUL byte"));
}

static void test_write_refuses_what_cannot_be_read_back(void **state)
{
    struct hs_config c;
    char path[PATH_MAX];

    (void)state;
    path_in(path, sizeof(path), "bad.conf");
    hs_config_defaults(&c, tmpdir);
    hm_strlcpy(c.db_conninfo, "dbname=x\n[server]", sizeof(c.db_conninfo));
    assert_int_equal(hs_config_write(&c, path), HS_E_INVALID_ARG);
    hs_config_defaults(&c, tmpdir);
    hm_strlcpy(c.p11_token, " padded", sizeof(c.p11_token));
    assert_int_equal(hs_config_write(&c, path), HS_E_INVALID_ARG);
    assert_int_not_equal(access(path, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file_gives_defaults),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ops_listen_off),
        cmocka_unit_test(test_comments_and_whitespace),
        cmocka_unit_test(test_path_resolution),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_marriage_rules),
        cmocka_unit_test(test_value_just_fits),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_write_refuses_what_cannot_be_read_back),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
