/* Reads and writes huimin.conf strictly: every section and key is known, every value is checked
 * and nothing is truncated, so a typing mistake stops the server with the line that has it. */
#include "hs/config.h"

#include "hm/buf.h"
#include "hm/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_FILE_MAX (1024 * 1024) /* a configuration is a few kilobytes */
#define CONF_LINE_MAX 4096          /* longer than any value a field can hold */

enum key_type {
    K_STR,  /* text copied as it is */
    K_PATH, /* a file or folder, made absolute against the configuration's folder */
    K_INT,  /* an int within [min, max] */
    K_LONG, /* a long within [min, max] */
    K_ENUM, /* one of choices */
    K_ADDR, /* "addr:port" or "[v6addr]:port" into a string field and an int port */
};

struct key {
    const char *section;
    const char *name;
    enum key_type type;
    size_t off;  /* the field's offset in struct hs_config */
    size_t size; /* K_STR, K_PATH, K_ENUM, K_ADDR: the field's capacity */
    size_t port_off;
    long min, max;
    const char *const *choices; /* K_ENUM: NULL-terminated */
    bool may_be_empty;
    const char *comment; /* written above the key by hs_config_write() */
};

#define FIELD(f) offsetof(struct hs_config, f), sizeof(((struct hs_config *)0)->f)

static const char *const backends[] = { "sqlite", "postgres", NULL };
static const char *const sign_kinds[] = { "pem", "pkcs11", NULL };
static const char *const log_levels[] = { "error", "warn", "info", "debug", "trace", NULL };

static const struct key keys[] = {
    { "server", "listen", K_ADDR, FIELD(listen_addr), offsetof(struct hs_config, port), 0, 0, NULL,
      false, "The kiosks' HTTPS address and port (IPv6 in brackets: [::]:8443)." },
    { "server", "ops_listen", K_ADDR, FIELD(ops_addr), offsetof(struct hs_config, ops_port), 0, 0,
      NULL, true, "Health and metrics over plain HTTP; keep it on loopback. Empty: none." },
    { "server", "io_threads", K_INT, FIELD(io_threads), 0, 0, 256, NULL, false,
      "Network threads; 0 means one per core." },
    { "server", "handler_threads", K_INT, FIELD(handler_threads), 0, 0, 1024, NULL, false,
      "Threads that run requests (signing, database); 0 means 32." },
    { "server", "max_body", K_LONG, FIELD(max_body), 0, 1024, 64L * 1024 * 1024, NULL, false,
      "Largest request body in bytes." },
    { "server", "max_header", K_LONG, FIELD(max_header), 0, 1024, 1024L * 1024, NULL, false,
      "Largest request header block in bytes." },
    { "server", "read_timeout", K_INT, FIELD(read_timeout_s), 0, 1, 3600, NULL, false,
      "Seconds a kiosk may take to send a request." },
    { "server", "idle_timeout", K_INT, FIELD(idle_timeout_s), 0, 1, 86400, NULL, false,
      "Seconds an idle connection is kept open." },
    { "server", "drain_timeout", K_INT, FIELD(drain_timeout_s), 0, 0, 3600, NULL, false,
      "Seconds given to requests in flight when the server stops." },

    { "tls", "cert", K_PATH, FIELD(tls_cert), 0, 0, 0, NULL, false,
      "The server's TLS certificate (PEM, with its chain)." },
    { "tls", "key", K_PATH, FIELD(tls_key), 0, 0, 0, NULL, false, "Its private key (0600)." },
    { "tls", "kiosk_ca", K_PATH, FIELD(kiosk_ca), 0, 0, 0, NULL, false,
      "The CA that issues kiosk client certificates (PEM, with its chain)." },

    { "storage", "backend", K_ENUM, FIELD(backend), 0, 0, 0, backends, false,
      "sqlite (one server, a file) or postgres (several servers, one database)." },
    { "storage", "path", K_PATH, FIELD(db_path), 0, 0, 0, NULL, false,
      "sqlite: the database file." },
    { "storage", "conninfo", K_STR, FIELD(db_conninfo), 0, 0, 0, NULL, true,
      "postgres: a libpq connection string (host=... dbname=... user=...)." },

    { "signing", "kind", K_ENUM, FIELD(sign_kind), 0, 0, 0, sign_kinds, false,
      "pem (key in a file) or pkcs11 (key in a token or HSM)." },
    { "signing", "key", K_PATH, FIELD(sign_key), 0, 0, 0, NULL, true,
      "pem: the signing key (0600)." },
    { "signing", "cert", K_PATH, FIELD(sign_cert), 0, 0, 0, NULL, false,
      "The signing certificate kiosks and verifiers pin." },
    { "signing", "module", K_PATH, FIELD(p11_module), 0, 0, 0, NULL, true,
      "pkcs11: the module, e.g. /usr/lib/softhsm/libsofthsm2.so." },
    { "signing", "token", K_STR, FIELD(p11_token), 0, 0, 0, NULL, true,
      "pkcs11: the token label." },
    { "signing", "key_label", K_STR, FIELD(p11_key_label), 0, 0, 0, NULL, true,
      "pkcs11: the key's label in the token." },
    { "signing", "pin_file", K_PATH, FIELD(p11_pin_file), 0, 0, 0, NULL, true,
      "pkcs11: a 0600 file holding the user PIN." },

    { "trust", "issuer_ca", K_PATH, FIELD(issuer_ca), 0, 0, 0, NULL, false,
      "The welfare-card issuer CA (PEM, with its chain)." },
    { "trust", "issuer_crl", K_PATH, FIELD(issuer_crl), 0, 0, 0, NULL, true,
      "Its CRL; empty: no revocation list." },
    { "trust", "csca_dir", K_PATH, FIELD(csca_dir), 0, 0, 0, NULL, true,
      "CSCA certificates for ID cards; empty: none." },
    { "trust", "seal_key", K_PATH, FIELD(seal_key), 0, 0, 0, NULL, false,
      "32 random bytes (0600) that seal card PUKs." },

    { "session", "nonce_ttl", K_INT, FIELD(nonce_ttl_s), 0, 1, 3600, NULL, false,
      "Seconds a challenge stays valid." },
    { "session", "session_ttl", K_INT, FIELD(session_ttl_s), 0, 30, 86400, NULL, false,
      "Seconds a card session lasts." },

    { "audit", "checkpoint_every", K_INT, FIELD(checkpoint_every), 0, 1, 1000000, NULL, false,
      "Audit records between signed checkpoints." },

    { "log", "level", K_ENUM, FIELD(log_level), 0, 0, 0, log_levels, false,
      "error, warn, info, debug or trace." },
};

#define NKEYS HM_ARRAY_SIZE(keys)

static const char *const sections[] = { "server",  "tls",   "storage", "signing", "trust",
                                        "session", "audit", "log",     "marriage" };

#define MARRIAGE_RULES_MAX 32 /* distinct keys of [marriage] tracked for duplicates */

static char *field_str(struct hs_config *cfg, const struct key *k)
{
    return (char *)cfg + k->off;
}

static const char *field_cstr(const struct hs_config *cfg, const struct key *k)
{
    return (const char *)cfg + k->off;
}

static int *field_int(struct hs_config *cfg, size_t off)
{
    return (int *)(void *)((char *)cfg + off);
}

static int field_cint(const struct hs_config *cfg, size_t off)
{
    int v;

    memcpy(&v, (const char *)cfg + off, sizeof(v));
    return v;
}

static long field_clong(const struct hs_config *cfg, size_t off)
{
    long v;

    memcpy(&v, (const char *)cfg + off, sizeof(v));
    return v;
}

/*
 * Joins dir and a relative name into out (an absolute name is copied as it is);
 * false when it does not fit. dir may be another field of the same struct.
 */
static bool join_path(char *out, size_t cap, const char *dir, const char *name)
{
    size_t dn, nn, slash;

    if (name[0] == '/')
        return hm_strlcpy(out, name, cap) < cap;
    dn = strlen(dir);
    nn = strlen(name);
    slash = dn > 0 && dir[dn - 1] != '/' ? 1 : 0;
    if (dn + slash + nn >= cap)
        return false;
    memmove(out, dir, dn);
    if (slash)
        out[dn] = '/';
    memcpy(out + dn + slash, name, nn + 1);
    return true;
}

void hs_config_defaults(struct hs_config *cfg, const char *dir)
{
    char cwd[HS_PATH_MAX];
    const char *d = dir;

    memset(cfg, 0, sizeof(*cfg));
    if (!d || d[0] != '/') {
        /* A relative folder is taken from the current one, so every stored path is absolute. */
        if (!getcwd(cwd, sizeof(cwd)))
            hm_strlcpy(cwd, "/", sizeof(cwd));
        if (d && strcmp(d, ".") != 0) {
            char joined[HS_PATH_MAX];

            if (join_path(joined, sizeof(joined), cwd, d))
                hm_strlcpy(cwd, joined, sizeof(cwd));
        }
        d = cwd;
    }
    hm_strlcpy(cfg->dir, d, sizeof(cfg->dir));

    hm_strlcpy(cfg->listen_addr, "0.0.0.0", sizeof(cfg->listen_addr));
    cfg->port = 8443;
    cfg->ops_addr[0] = '\0';
    cfg->ops_port = 8080;
    cfg->io_threads = 0;
    cfg->handler_threads = 0;
    cfg->max_body = 65536;
    cfg->max_header = 8192;
    cfg->read_timeout_s = 10;
    cfg->idle_timeout_s = 60;
    cfg->drain_timeout_s = 10;

    join_path(cfg->tls_cert, sizeof(cfg->tls_cert), cfg->dir, "pki/server-tls.pem");
    join_path(cfg->tls_key, sizeof(cfg->tls_key), cfg->dir, "pki/server-tls.key");
    join_path(cfg->kiosk_ca, sizeof(cfg->kiosk_ca), cfg->dir, "pki/kiosk-ca.pem");

    hm_strlcpy(cfg->backend, "sqlite", sizeof(cfg->backend));
    join_path(cfg->db_path, sizeof(cfg->db_path), cfg->dir, "huimin.db");

    hm_strlcpy(cfg->sign_kind, "pem", sizeof(cfg->sign_kind));
    join_path(cfg->sign_key, sizeof(cfg->sign_key), cfg->dir, "pki/signing.key");
    join_path(cfg->sign_cert, sizeof(cfg->sign_cert), cfg->dir, "pki/signing.pem");

    join_path(cfg->issuer_ca, sizeof(cfg->issuer_ca), cfg->dir, "pki/issuer-ca.pem");
    join_path(cfg->issuer_crl, sizeof(cfg->issuer_crl), cfg->dir, "pki/issuer.crl");
    join_path(cfg->csca_dir, sizeof(cfg->csca_dir), cfg->dir, "pki/csca");
    join_path(cfg->seal_key, sizeof(cfg->seal_key), cfg->dir, "pki/seal.key");

    cfg->nonce_ttl_s = 120;
    cfg->session_ttl_s = 300;
    cfg->checkpoint_every = 1000;
    hm_strlcpy(cfg->log_level, "info", sizeof(cfg->log_level));
    hs_marriage_rules_defaults(&cfg->marriage);
}

/* ---- reading --------------------------------------------------------------- */

struct parser {
    const char *file; /* the path as the caller gave it, for messages */
    int line;
    char *err;
    size_t err_cap;
    struct hs_config *cfg;
    const char *section; /* the current section, NULL before the first */
    int key_line[NKEYS]; /* where each key was set, 0 when it was not */
    /* [marriage]: the keys set so far and where (hs_marriage reads the values). */
    char rule_key[MARRIAGE_RULES_MAX][40];
    int rule_line[MARRIAGE_RULES_MAX];
    size_t n_rules;
    int max_active_line;
};

static hs_rc failf(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "FILE:LINE: message" (or "FILE: message" when line is 0) into the caller's err. */
static hs_rc failf(struct parser *p, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!p->err || p->err_cap == 0)
        return HS_E_CONFIG;
    if (line > 0)
        n = snprintf(p->err, p->err_cap, "%s:%d: ", p->file, line);
    else
        n = snprintf(p->err, p->err_cap, "%s: ", p->file);
    if (n < 0 || (size_t)n >= p->err_cap)
        return HS_E_CONFIG;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return HS_E_CONFIG;
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Splits "host:port" or "[v6]:port"; the host must be a numeric IPv4 or IPv6 address. */
static hs_rc parse_addr(struct parser *p, const struct key *k, const char *v)
{
    char host[64];
    const char *colon, *hs, *he;
    bool v6 = false;
    long port;
    unsigned char bin[16];
    size_t n;

    if (v[0] == '[') {
        hs = v + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return failf(p, p->line, "%s in [%s] must look like [::]:8443", k->name, k->section);
        colon = he + 1;
        v6 = true;
    } else {
        hs = v;
        colon = strrchr(v, ':');
        if (!colon)
            return failf(p, p->line, "%s in [%s] needs a port: address:port, e.g. 0.0.0.0:8443",
                         k->name, k->section);
        he = colon;
        if (memchr(hs, ':', (size_t)(he - hs)))
            return failf(p, p->line, "%s in [%s]: put an IPv6 address in brackets, e.g. [::]:8443",
                         k->name, k->section);
    }
    n = (size_t)(he - hs);
    if (n == 0 || n >= sizeof(host) || n >= k->size)
        return failf(p, p->line, "%s in [%s]: the address is %s", k->name, k->section,
                     n == 0 ? "missing" : "too long");
    memcpy(host, hs, n);
    host[n] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
        return failf(p, p->line, "%s in [%s]: '%s' is not an IP%s address", k->name, k->section,
                     host, v6 ? "v6" : "v4");
    /* Port 0 asks for any free port (tests; huimin-server --port-file tells which). */
    if (!hm_parse_long(colon + 1, 0, 65535, &port))
        return failf(p, p->line, "%s in [%s]: the port must be 0 to 65535, not '%s'", k->name,
                     k->section, colon + 1);
    hm_strlcpy(field_str(p->cfg, k), host, k->size);
    *field_int(p->cfg, k->port_off) = (int)port;
    return HS_OK;
}

static hs_rc set_value(struct parser *p, const struct key *k, const char *v)
{
    size_t len = strlen(v);
    long n;

    if (len == 0 && !k->may_be_empty && k->type != K_INT && k->type != K_LONG)
        return failf(p, p->line, "%s in [%s] may not be empty", k->name, k->section);
    switch (k->type) {
    case K_STR:
        if (len >= k->size)
            return failf(p, p->line, "the value of %s in [%s] is too long (at most %zu bytes)",
                         k->name, k->section, k->size - 1);
        memcpy(field_str(p->cfg, k), v, len + 1);
        return HS_OK;
    case K_PATH:
        if (len == 0) {
            field_str(p->cfg, k)[0] = '\0';
            return HS_OK;
        }
        if (!join_path(field_str(p->cfg, k), k->size, p->cfg->dir, v)) {
            field_str(p->cfg, k)[0] = '\0';
            return failf(p, p->line, "the path of %s in [%s] is too long (at most %zu bytes)",
                         k->name, k->section, k->size - 1);
        }
        return HS_OK;
    case K_INT:
    case K_LONG:
        if (!hm_parse_long(v, -0x7fffffffL - 1, 0x7fffffffL, &n))
            return failf(p, p->line, "%s in [%s] must be a whole number, not '%s'", k->name,
                         k->section, v);
        if (n < k->min || n > k->max)
            return failf(p, p->line, "%s in [%s] must be %ld to %ld, not %ld", k->name, k->section,
                         k->min, k->max, n);
        if (k->type == K_INT)
            *field_int(p->cfg, k->off) = (int)n;
        else
            memcpy((char *)p->cfg + k->off, &n, sizeof(n));
        return HS_OK;
    case K_ENUM:
        for (const char *const *c = k->choices; *c; c++)
            if (strcmp(*c, v) == 0) {
                hm_strlcpy(field_str(p->cfg, k), v, k->size);
                return HS_OK;
            }
        {
            char list[128] = "";
            size_t used = 0;

            for (const char *const *c = k->choices; *c && used < sizeof(list); c++) {
                int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", *c);

                if (w < 0)
                    break;
                used += (size_t)w;
            }
            return failf(p, p->line, "%s in [%s] must be one of %s, not '%s'", k->name, k->section,
                         list, v);
        }
    case K_ADDR:
        if (len == 0) {
            field_str(p->cfg, k)[0] = '\0';
            return HS_OK;
        }
        return parse_addr(p, k, v);
    }
    return failf(p, p->line, "internal error: key type %d", (int)k->type);
}

/* A line of [marriage]: the rule library reads it; a key set twice is refused here. */
static hs_rc marriage_line(struct parser *p, const char *s)
{
    char err[HS_MARRIAGE_MSG_MAX], key[40];
    const char *eq = strchr(s, '=');

    if (hs_marriage_rules_set_line(&p->cfg->marriage, s, strlen(s), err, sizeof(err)) != HS_OK)
        return failf(p, p->line, "%s", err);
    size_t n = (size_t)(eq - s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= sizeof(key))
        return HS_OK; /* not a rule name: set_line refused it already */
    memcpy(key, s, n);
    key[n] = '\0';
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rule_key[i], key) == 0)
            return failf(p, p->line, "duplicate key '%s' in [marriage] (first set on line %d)", key,
                         p->rule_line[i]);
    if (p->n_rules < MARRIAGE_RULES_MAX) {
        hm_strlcpy(p->rule_key[p->n_rules], key, sizeof(p->rule_key[0]));
        p->rule_line[p->n_rules++] = p->line;
    }
    if (strcmp(key, "max_active_bookings") == 0)
        p->max_active_line = p->line;
    return HS_OK;
}

static hs_rc parse_line(struct parser *p, char *line)
{
    char *s = trim(line), *eq, *name, *value;

    if (*s == '\0' || *s == '#' || *s == ';')
        return HS_OK;
    if (*s != '[' && p->section && strcmp(p->section, "marriage") == 0)
        return marriage_line(p, s);
    if (*s == '[') {
        size_t n = strlen(s);

        if (s[n - 1] != ']')
            return failf(p, p->line, "a section header must look like [server]");
        s[n - 1] = '\0';
        name = trim(s + 1);
        for (size_t i = 0; i < HM_ARRAY_SIZE(sections); i++)
            if (strcmp(sections[i], name) == 0) {
                p->section = sections[i];
                return HS_OK;
            }
        return failf(p, p->line, "unknown section [%s]", name);
    }
    eq = strchr(s, '=');
    if (!eq)
        return failf(p, p->line, "expected 'key = value', a [section] or a # comment");
    *eq = '\0';
    name = trim(s);
    value = trim(eq + 1);
    if (!p->section)
        return failf(p, p->line, "key '%s' comes before any [section]", name);
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, p->section) != 0 || strcmp(keys[i].name, name) != 0)
            continue;
        if (p->key_line[i])
            return failf(p, p->line, "duplicate key '%s' in [%s] (first set on line %d)", name,
                         p->section, p->key_line[i]);
        p->key_line[i] = p->line;
        return set_value(p, &keys[i], value);
    }
    return failf(p, p->line, "unknown key '%s' in [%s]", name, p->section);
}

static int key_line(const struct parser *p, const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return p->key_line[i];
    return 0;
}

/* Checks that depend on several keys: what the chosen backend and signer need. */
static hs_rc check_whole(struct parser *p)
{
    const struct hs_config *c = p->cfg;
    static const char *const p11_keys[] = { "module", "token", "key_label", "pin_file" };
    const char *p11_vals[] = { c->p11_module, c->p11_token, c->p11_key_label, c->p11_pin_file };
    int line;

    if (strcmp(c->backend, "postgres") == 0 && c->db_conninfo[0] == '\0') {
        line = key_line(p, "storage", "backend");
        return failf(p, line, "backend = postgres needs conninfo in [storage]");
    }
    if (strcmp(c->sign_kind, "pem") == 0 && c->sign_key[0] == '\0') {
        line = key_line(p, "signing", "key");
        return failf(p, line ? line : key_line(p, "signing", "kind"),
                     "kind = pem needs key in [signing]");
    }
    if (strcmp(c->sign_kind, "pkcs11") == 0) {
        for (size_t i = 0; i < HM_ARRAY_SIZE(p11_keys); i++)
            if (p11_vals[i][0] == '\0')
                return failf(p, key_line(p, "signing", "kind"),
                             "kind = pkcs11 needs %s in [signing]", p11_keys[i]);
    }
    /* One active appointment per person and service is what the storage enforces (a unique
     * index over the active bookings); more would be promised and then refused. */
    if (c->marriage.max_active_bookings != 1)
        return failf(p, p->max_active_line,
                     "max_active_bookings in [marriage] must be 1: the server keeps one active "
                     "appointment per person and service");
    return HS_OK;
}

/* The absolute, symlink-free folder that holds path. */
static bool folder_of(const char *path, char *out, size_t cap)
{
    char folder[HS_PATH_MAX];
    const char *slash = strrchr(path, '/');
    char *real;
    bool ok;

    if (!slash) {
        hm_strlcpy(folder, ".", sizeof(folder));
    } else if (slash == path) {
        hm_strlcpy(folder, "/", sizeof(folder));
    } else {
        size_t n = (size_t)(slash - path);

        if (n >= sizeof(folder))
            return false;
        memcpy(folder, path, n);
        folder[n] = '\0';
    }
    real = realpath(folder, NULL);
    if (!real)
        return false;
    ok = hm_strlcpy(out, real, cap) < cap;
    free(real);
    return ok;
}

static hs_rc read_file(struct parser *p, const char *path, struct hm_buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    hs_rc rc = HS_OK;

    if (!f) {
        failf(p, 0, "cannot open: %s", strerror(errno));
        return HS_E_IO;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (!hm_buf_add(b, chunk, n)) {
            rc = failf(p, 0, "larger than %d bytes; this is not a Huimin configuration",
                       CONF_FILE_MAX);
            break;
        }
    if (rc == HS_OK && ferror(f)) {
        failf(p, 0, "cannot read: %s", strerror(errno));
        rc = HS_E_IO;
    }
    fclose(f);
    return rc;
}

hs_rc hs_config_load(const char *path, struct hs_config *cfg, char *err, size_t err_cap)
{
    struct parser p = { .file = path, .err = err, .err_cap = err_cap, .cfg = cfg };
    struct hm_buf b;
    char dir[HS_PATH_MAX], line[CONF_LINE_MAX + 1];
    const char *s, *end;
    hs_rc rc;

    if (err && err_cap)
        err[0] = '\0';
    if (!path || !cfg)
        return HS_E_INVALID_ARG;
    p.file = path;
    /* Room for the longest relative default ("pki/server-tls.pem") after the folder. */
    if (!folder_of(path, dir, sizeof(dir) - 64)) {
        failf(&p, 0, "cannot find the folder it is in: %s", strerror(errno));
        return HS_E_IO;
    }
    hs_config_defaults(cfg, dir);
    hm_buf_init(&b, CONF_FILE_MAX);
    rc = read_file(&p, path, &b);
    if (rc != HS_OK)
        goto out_free;
    s = b.data ? (const char *)b.data : "";
    end = s + b.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);

        p.line++;
        if (n > CONF_LINE_MAX) {
            rc = failf(&p, p.line, "the line is longer than %d bytes", CONF_LINE_MAX);
            goto out_free;
        }
        if (memchr(s, '\0', n)) {
            rc = failf(&p, p.line, "the line holds a NUL byte; this is not a text file");
            goto out_free;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        rc = parse_line(&p, line);
        if (rc != HS_OK)
            goto out_free;
        s += n + (nl ? 1 : 0);
    }
    rc = check_whole(&p);
out_free:
    hm_buf_free(&b);
    return rc;
}

/* ---- writing --------------------------------------------------------------- */

/* A path relative to dir when it lies inside dir, as it is otherwise. */
static const char *relative_to(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    if (n == 0 || strncmp(path, dir, n) != 0)
        return path;
    if (dir[n - 1] == '/')
        return path[n] ? path + n : path;
    if (path[n] == '/' && path[n + 1])
        return path + n + 1;
    return path;
}

/* True when the value would read back as it is: no line breaks, no space at either end. */
static bool writable(const char *v)
{
    size_t n = strlen(v);

    if (strpbrk(v, "\r\n"))
        return false;
    return n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t');
}

static bool write_key(struct hm_buf *b, const struct hs_config *cfg, const struct key *k)
{
    const char *v;
    bool ok = hm_buf_addf(b, "# %s\n%s =", k->comment, k->name);

    /* An empty value is written as "key =", without a trailing space. */
    switch (k->type) {
    case K_STR:
    case K_ENUM:
        v = field_cstr(cfg, k);
        return ok && writable(v) && hm_buf_addf(b, "%s%s\n", *v ? " " : "", v);
    case K_PATH:
        v = relative_to(field_cstr(cfg, k), cfg->dir);
        return ok && writable(v) && hm_buf_addf(b, "%s%s\n", *v ? " " : "", v);
    case K_INT:
        return ok && hm_buf_addf(b, " %d\n", field_cint(cfg, k->off));
    case K_LONG:
        return ok && hm_buf_addf(b, " %ld\n", field_clong(cfg, k->off));
    case K_ADDR:
        v = field_cstr(cfg, k);
        if (v[0] == '\0')
            return ok && hm_buf_add_str(b, "\n");
        if (!ok || !writable(v))
            return false;
        if (strchr(v, ':'))
            return hm_buf_addf(b, " [%s]:%d\n", v, field_cint(cfg, k->port_off));
        return hm_buf_addf(b, " %s:%d\n", v, field_cint(cfg, k->port_off));
    }
    return false;
}

hs_rc hs_config_write(const struct hs_config *cfg, const char *path)
{
    struct hm_buf b;
    const char *section = NULL;
    char tmp[HS_PATH_MAX + 16];
    bool ok;
    int fd, n;
    hs_rc rc = HS_E_IO;

    if (!cfg || !path)
        return HS_E_INVALID_ARG;
    hm_buf_init(&b, CONF_FILE_MAX);
    ok = hm_buf_add_str(&b, "# Huimin (惠民) server configuration.\n"
                            "# Relative paths are taken from the folder this file is in.\n"
                            "# Comments are whole lines starting with # or ;.\n");
    for (size_t i = 0; ok && i < NKEYS; i++) {
        if (!section || strcmp(section, keys[i].section) != 0) {
            section = keys[i].section;
            ok = hm_buf_addf(&b, "\n[%s]\n", section);
        }
        ok = ok && write_key(&b, cfg, &keys[i]);
    }
    ok = ok && hm_buf_add_str(&b, "\n[marriage]\n# Marriage-registration appointment rules "
                                  "(docs/OPERATIONS.md): ages, periods,\n# booking window, "
                                  "cancellation, no-shows.\n");
    for (size_t i = 0; ok; i++) {
        char rule[HS_MARRIAGE_MAX_LINE];

        if (!hs_marriage_rules_line(&cfg->marriage, i, rule, sizeof(rule)))
            break;
        ok = hm_buf_addf(&b, "%s\n", rule);
    }
    if (!ok) {
        /* A value with a line break or edge spaces could not be read back as it is. */
        rc = HS_E_INVALID_ARG;
        goto out_free;
    }
    /* Write a temporary file beside the target and rename it, so a reader never sees half. */
    n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        rc = HS_E_INVALID_ARG;
        goto out_free;
    }
    fd = mkstemp(tmp);
    if (fd < 0)
        goto out_free;
    /* The file may hold a database password in conninfo: owner only. */
    ok = fchmod(fd, 0600) == 0;
    for (size_t off = 0; ok && off < b.len;) {
        ssize_t w = write(fd, b.data + off, b.len - off);

        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) == 0) {
        rc = HS_OK;
    } else {
        unlink(tmp);
    }
out_free:
    hm_buf_free(&b);
    return rc;
}
