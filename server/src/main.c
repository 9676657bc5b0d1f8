/* huimin-server: loads the deployment, serves the /v1 API over mutual TLS, checkpoints the audit
 * log and drains on SIGTERM. */
#include "hs/api.h"
#include "hs/audit.h"
#include "hs/config.h"
#include "hs/db.h"
#include "hs/http.h"
#include "hs/registry.h"
#include "hs/signer.h"

#include "hm/log.h"
#include "hm/notify.h"
#include "hm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: huimin-server --config FILE [--port-file FILE] [--check] [-v]\n"
               "  the 惠民 back end: the /v1 API over HTTPS with mutual TLS\n"
               "  --config FILE     the deployment's huimin.conf (made by 'huimin-admin init')\n"
               "  --port-file FILE  once serving, write the bound TLS port and ops port there,\n"
               "                    one a line (for listen = 127.0.0.1:0)\n"
               "  --check           load the configuration, keys and database, then exit\n"
               "  -v                debug logging (HUIMIN_LOG=trace for more)\n"
               "exit status: 0 stopped cleanly, 1 usage, 2 the deployment cannot be used\n");
}

/* Tells systemd (Type=notify) how we are, when it is listening. */

/* Reads the token PIN from a file that only the server may read. */
static int read_pin(const char *path, char *pin, size_t cap)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        hm_log_error("cannot open the PIN file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        hm_log_warn("the PIN file %s can be read by others; make it 0600", path);
    ssize_t n = read(fd, pin, cap - 1);
    close(fd);
    if (n <= 0) {
        hm_log_error("the PIN file %s is empty", path);
        return -1;
    }
    pin[n] = '\0';
    pin[strcspn(pin, "\r\n")] = '\0';
    return 0;
}

/*
 * Test hooks, for the end-to-end tests only, each announced with a warning:
 * HUIMIN_SERVER_TEST_CLOCK_OFFSET=S moves the API's clock S seconds (a
 * booking window that opens months from now), HUIMIN_SERVER_TEST_ID_SESSIONS=1
 * opens POST /v1/test/id-sessions (an ID session from a number, no card),
 * HUIMIN_SERVER_TEST_DELAY_MS=N holds every answer to a kiosk N ms (0..60000: the
 * kiosk's "the server is slow" screens); a value out of range stops the server.
 */
static int64_t clock_offset;

static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL) + clock_offset;
}

static int test_hooks(struct hs_api_deps *deps, int *delay_ms)
{
    const char *off = getenv("HUIMIN_SERVER_TEST_CLOCK_OFFSET");
    const char *ids = getenv("HUIMIN_SERVER_TEST_ID_SESSIONS");
    const char *delay = getenv("HUIMIN_SERVER_TEST_DELAY_MS");
    long v;
    if (off && off[0] && hm_parse_long(off, -4000000000L, 4000000000L, &v) && v != 0) {
        clock_offset = v;
        deps->now = test_clock;
        hm_log_warn("TEST HOOK: the API clock is moved by %ld s (HUIMIN_SERVER_TEST_CLOCK_OFFSET)",
                    v);
    }
    if (ids && strcmp(ids, "1") == 0) {
        deps->test_id_sessions = true;
        hm_log_warn("TEST HOOK: POST /v1/test/id-sessions opens ID sessions without a card "
                    "(HUIMIN_SERVER_TEST_ID_SESSIONS); never in production");
    }
    *delay_ms = 0;
    if (delay && delay[0]) {
        if (!hm_parse_long(delay, 0, 60000, &v)) {
            hm_log_error(
                "HUIMIN_SERVER_TEST_DELAY_MS is '%s': it must be a whole number of "
                "milliseconds from 0 to 60000 (or unset). / 测试延时须为 0 到 60000 毫秒。",
                delay);
            return -1;
        }
        *delay_ms = (int)v;
        if (v > 0)
            hm_log_warn("TEST HOOK: every answer to a kiosk is held %ld ms "
                        "(HUIMIN_SERVER_TEST_DELAY_MS); never in production",
                        v);
    }
    return 0;
}

/* The ports bound, one a line: TLS, then the ops listener's (0 when none). */
static int write_port_file(const char *path, int port, int ops_port)
{
    char tmp[HS_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n%d\n", port, ops_port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *port_file = NULL;
    bool check = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "huimin-server: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }
    if (!config_path) {
        usage(stderr);
        return 1;
    }

    static struct hs_config cfg;
    char err[512];
    hm_log_init("huimin-server", HM_LOG_INFO);
    if (hs_config_load(config_path, &cfg, err, sizeof(err)) != HS_OK) {
        fprintf(stderr, "huimin-server: %s\n", err);
        return 2;
    }
    int level = hm_log_level_parse(cfg.log_level);
    if (!getenv("HUIMIN_LOG"))
        hm_log_set_level(verbose      ? HM_LOG_DEBUG
                         : level >= 0 ? (enum hm_log_level)level
                                      : HM_LOG_INFO);

    /*
     * Signals are taken by this thread alone (sigtimedwait below), so they are
     * blocked before any thread starts (the store's committer is the first):
     * threads inherit the mask, and a SIGTERM the kernel handed to a thread
     * that did not block it would end the process without draining.
     */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    int status = 2;
    struct hs_store *store = NULL;
    struct hs_signer *signer = NULL;
    struct hs_api *api = NULL;
    struct hs_http *http = NULL;

    struct hs_store_config scfg = {
        .backend = strcmp(cfg.backend, "postgres") == 0 ? HS_BACKEND_POSTGRES : HS_BACKEND_SQLITE,
        .target = strcmp(cfg.backend, "postgres") == 0 ? cfg.db_conninfo : cfg.db_path,
    };
    hs_rc rc = hs_store_open(&scfg, &store);
    if (rc != HS_OK) {
        hm_log_error("cannot open the %s database: %s", cfg.backend, hs_strerror(rc));
        goto out;
    }

    char pin[128] = "";
    struct hs_signer_config sg = { .kind = cfg.sign_kind, .cert_file = cfg.sign_cert };
    if (strcmp(cfg.sign_kind, "pkcs11") == 0) {
        if (read_pin(cfg.p11_pin_file, pin, sizeof(pin)) != 0)
            goto out;
        sg.module = cfg.p11_module;
        sg.token_label = cfg.p11_token;
        sg.key_label = cfg.p11_key_label;
        sg.pin = pin;
    } else {
        sg.key_file = cfg.sign_key;
    }
    rc = hs_signer_open(&sg, &signer);
    hm_wipe(pin, sizeof(pin));
    if (rc != HS_OK) {
        hm_log_error("cannot use the signing key (%s): %s", cfg.sign_kind, hs_strerror(rc));
        goto out;
    }
    struct hs_api_deps deps = { .cfg = &cfg, .store = store, .signer = signer };
    int delay_ms = 0;
    if (test_hooks(&deps, &delay_ms) != 0)
        goto out;
    rc = hs_api_new(&deps, &api);
    if (rc != HS_OK) {
        hm_log_error("cannot start the API: %s", hs_strerror(rc));
        goto out;
    }
    if (check) {
        printf("huimin-server: the configuration, the %s database (schema %d) and the %s "
               "signing key are usable\n",
               cfg.backend, hs_store_schema_version(store), hs_signer_kind(signer));
        status = 0;
        goto out;
    }

    signal(SIGPIPE, SIG_IGN);

    struct hs_http_config hc = {
        .listen_addr = cfg.listen_addr,
        .port = cfg.port,
        .ops_addr = cfg.ops_addr[0] ? cfg.ops_addr : NULL,
        .ops_port = cfg.ops_port,
        .cert_file = cfg.tls_cert,
        .key_file = cfg.tls_key,
        .client_ca_file = cfg.kiosk_ca,
        .io_threads = cfg.io_threads,
        .handler_threads = cfg.handler_threads,
        .max_header = (size_t)cfg.max_header,
        .max_body = (size_t)cfg.max_body,
        .read_timeout_s = cfg.read_timeout_s,
        .idle_timeout_s = cfg.idle_timeout_s,
        .handler = hs_api_handle,
        .inline_ok = hs_api_inline_ok,
        .handler_ctx = api,
        .test_delay_ms = delay_ms,
    };
    rc = hs_http_start(&hc, &http);
    if (rc != HS_OK) {
        hm_log_error("cannot listen on %s:%d: %s", cfg.listen_addr, cfg.port, hs_strerror(rc));
        goto out;
    }
    hs_api_set_http(api, http);
    hm_log_info("serving on %s:%d (%s storage, %s signing key%s)", cfg.listen_addr,
                hs_http_port(http), cfg.backend, hs_signer_kind(signer),
                cfg.ops_addr[0] ? ", ops listener on" : "");
    if (port_file && write_port_file(port_file, hs_http_port(http),
                                     cfg.ops_addr[0] ? hs_http_ops_port(http) : 0) != 0) {
        hm_log_error("cannot write the port file %s", port_file);
        goto out;
    }
    hm_notify("READY=1");

    /* The main thread keeps house: audit checkpoints, expired challenges, signals. */
    time_t last_forced = time(NULL), last_purge = 0;
    for (;;) {
        struct timespec tick = { 1, 0 };
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP)
            hm_log_info("SIGHUP: nothing to reload (restart to change the configuration)");
        time_t now = time(NULL);
        bool force = now - last_forced >= 60;
        if (hs_audit_checkpoint(store, signer, cfg.checkpoint_every, force, now) == HS_OK && force)
            last_forced = now;
        if (now - last_purge >= 300) {
            hs_nonce_purge(store, now, 3600);
            hs_id_session_purge(store, now + clock_offset);
            /* 200 a transaction, a few rounds at most each time (a day has hundreds). */
            int marked = 0, total = 0;
            for (int round = 0; round < 25; round++) {
                if (hs_appointments_mark_no_shows(store, now + clock_offset, &marked) != HS_OK)
                    break;
                total += marked;
                if (marked < 200)
                    break;
            }
            if (total)
                hm_log_info("%d appointment(s) marked as no-shows", total);
            last_purge = now;
        }
    }
    hm_log_info("stopping: draining requests for up to %d s", cfg.drain_timeout_s);
    hm_notify("STOPPING=1");
    hs_http_stop(http, cfg.drain_timeout_s);
    if (hs_audit_checkpoint(store, signer, cfg.checkpoint_every, true, time(NULL)) != HS_OK)
        hm_log_warn("the final audit checkpoint could not be written");
    status = 0;
out:
    hs_http_free(http);
    hs_api_free(api);
    hs_signer_free(signer);
    hs_store_close(store);
    if (status == 0 && !check)
        hm_log_info("stopped");
    return status;
}
