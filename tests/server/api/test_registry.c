/*
 * The registries, the audit chain and the sealed store against a real
 * database (SQLite by default; PostgreSQL with HUIMIN_TEST_BACKEND=postgres
 * and HUIMIN_PG_CONNINFO): challenges are single-use, bound to their kiosk and
 * short-lived, also under a race; every edit, deletion or reordering of the
 * audit log is found and named; a sealed PUK opens only where it was sealed.
 */
#include "hs/audit.h"
#include "hs/jws.h"
#include "hs/registry.h"
#include "hs/seal.h"

#include "hm/log.h"
#include "pki.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
    char dir[256];
    struct hs_store *st;
    struct hs_signer *signer;
    uint8_t *cert;
    size_t cert_len;
};

static bool use_postgres(void)
{
    const char *b = getenv("HUIMIN_TEST_BACKEND");
    return b && strcmp(b, "postgres") == 0;
}

static hs_rc exec_fn(struct hs_conn *c, void *arg)
{
    return hs_exec(c, (const char *)arg, NULL, 0, NULL);
}

/* Runs literal SQL as a write (test tampering and cleanup only). */
static hs_rc raw(struct hs_store *st, const char *sql)
{
    return hs_store_write(st, exec_fn, (void *)(uintptr_t)sql);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_registry.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char key[300], cert[300], db[300];
    snprintf(key, sizeof(key), "%s/signing.key", f->dir);
    snprintf(cert, sizeof(cert), "%s/signing.pem", f->dir);
    snprintf(db, sizeof(db), "%s/huimin.db", f->dir);
    struct pki_ca ca;
    assert_int_equal(pki_ca_create(&ca, "Test Signing", 30), 0);
    assert_int_equal(pki_ca_save(&ca, cert, key), 0);
    assert_int_equal(pki_cert_der(ca.cert, &f->cert, &f->cert_len), 0);
    pki_ca_free(&ca);
    struct hs_signer_config sg = { .kind = "pem", .key_file = key, .cert_file = cert };
    assert_int_equal(hs_signer_open(&sg, &f->signer), HS_OK);

    struct hs_store_config sc = { .backend = HS_BACKEND_SQLITE, .target = db };
    if (use_postgres()) {
        const char *ci = getenv("HUIMIN_PG_CONNINFO");
        assert_non_null(ci);
        /* A clean database for each test: open, drop everything, open again. */
        sc.backend = HS_BACKEND_POSTGRES;
        sc.target = ci;
        struct hs_store *st = NULL;
        assert_int_equal(hs_store_open(&sc, &st), HS_OK);
        assert_int_equal(raw(st, "DROP SCHEMA public CASCADE"), HS_OK);
        assert_int_equal(raw(st, "CREATE SCHEMA public"), HS_OK);
        hs_store_close(st);
    }
    assert_int_equal(hs_store_open(&sc, &f->st), HS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    hs_store_close(f->st);
    hs_signer_free(f->signer);
    OPENSSL_free(f->cert);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void enroll(struct fixture *f, const char *id, char fp_char)
{
    struct hs_kiosk k = { .office = "sc-01" };
    snprintf(k.id, sizeof(k.id), "%s", id);
    snprintf(k.name, sizeof(k.name), "上城区 %s", id);
    memset(k.cert_sha256, fp_char, 64);
    snprintf(k.cert_serial, sizeof(k.cert_serial), "%02x", (unsigned char)fp_char);
    assert_int_equal(hs_kiosk_enroll(f->st, &k, "admin:test", 1000), HS_OK);
}

/* ---- kiosks and cards ---------------------------------------------------- */

static void test_kiosks(void **state)
{
    struct fixture *f = *state;
    enroll(f, "kiosk-a", 'a');
    struct hs_kiosk k;
    char fp[65];
    memset(fp, 'a', 64);
    fp[64] = '\0';
    assert_int_equal(hs_kiosk_by_cert(f->st, fp, &k), HS_OK);
    assert_string_equal(k.id, "kiosk-a");
    assert_string_equal(k.name, "上城区 kiosk-a");
    assert_int_equal(k.status, HS_KIOSK_ACTIVE);
    /* The same id, or the same certificate, cannot be enrolled twice. */
    struct hs_kiosk dup = k;
    assert_int_equal(hs_kiosk_enroll(f->st, &dup, "admin:test", 1001), HS_E_CONFLICT);
    snprintf(dup.id, sizeof(dup.id), "kiosk-other");
    assert_int_equal(hs_kiosk_enroll(f->st, &dup, "admin:test", 1001), HS_E_CONFLICT);
    assert_int_equal(hs_kiosk_by_id(f->st, "kiosk-other", NULL), HS_E_NOT_FOUND);

    assert_int_equal(hs_kiosk_revoke(f->st, "kiosk-a", "stolen", "admin:test", 1002), HS_OK);
    assert_int_equal(hs_kiosk_by_id(f->st, "kiosk-a", &k), HS_OK);
    assert_int_equal(k.status, HS_KIOSK_REVOKED);
    assert_int_equal(k.revoked_at, 1002);
    assert_int_equal(hs_kiosk_revoke(f->st, "kiosk-a", "again", "admin:test", 1003), HS_OK);
    assert_int_equal(hs_kiosk_by_id(f->st, "kiosk-a", &k), HS_OK);
    assert_int_equal(k.revoked_at, 1002); /* the first revocation stands */
    assert_int_equal(hs_kiosk_revoke(f->st, "kiosk-zzz", NULL, "admin:test", 1003), HS_E_NOT_FOUND);
    enroll(f, "kiosk-0", '0');
    struct hs_kiosk *all = NULL;
    size_t n = 0;
    assert_int_equal(hs_kiosk_list(f->st, &all, &n), HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].id, "kiosk-0");
    assert_int_equal(all[0].status, HS_KIOSK_ACTIVE);
    assert_string_equal(all[1].id, "kiosk-a");
    assert_int_equal(all[1].status, HS_KIOSK_REVOKED);
    free(all);
    /* two enrollments and a revocation audited, the repeated revoke not. */
    struct hs_audit_report rep;
    assert_int_equal(hs_audit_verify(f->st, f->cert, f->cert_len, &rep), HS_OK);
    assert_int_equal(rep.records, 3);
}

static void test_cards_and_seal(void **state)
{
    struct fixture *f = *state;
    uint8_t key[HS_SEAL_KEY_LEN], other[HS_SEAL_KEY_LEN];
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    uint8_t *blob = NULL, *puk = NULL;
    size_t blob_len = 0, puk_len = 0;
    assert_int_equal(hs_seal(key, "4242", (const uint8_t *)"12345678", 8, &blob, &blob_len), HS_OK);
    assert_int_equal(blob_len, 8 + HS_SEAL_OVERHEAD);
    for (size_t i = 0; i + 8 <= blob_len; i++)
        assert_false(memcmp(blob + i, "12345678", 8) == 0); /* not in the clear */

    struct hs_card c = { .cert_serial = "4242",
                         .welfare_no = "WF3301060000123",
                         .holder = "张秀英" };
    assert_int_equal(hs_card_register(f->st, &c, blob, blob_len, "admin:test", 2000), HS_OK);
    assert_int_equal(hs_card_register(f->st, &c, NULL, 0, "admin:test", 2000), HS_E_CONFLICT);
    free(blob);
    blob = NULL;
    assert_int_equal(hs_card_sealed_puk(f->st, "4242", &blob, &blob_len), HS_OK);
    assert_int_equal(hs_unseal(key, "4242", blob, blob_len, &puk, &puk_len), HS_OK);
    assert_int_equal(puk_len, 8);
    assert_memory_equal(puk, "12345678", 8);
    free(puk);
    /* Another key, another card, a flipped bit: nothing opens. */
    assert_int_equal(hs_unseal(other, "4242", blob, blob_len, &puk, &puk_len), HS_E_SIGNATURE);
    assert_int_equal(hs_unseal(key, "4243", blob, blob_len, &puk, &puk_len), HS_E_SIGNATURE);
    blob[blob_len - 20] ^= 1;
    assert_int_equal(hs_unseal(key, "4242", blob, blob_len, &puk, &puk_len), HS_E_SIGNATURE);
    assert_int_equal(hs_unseal(key, "4242", blob, 10, &puk, &puk_len), HS_E_MALFORMED);
    free(blob);

    struct hs_card got;
    assert_int_equal(hs_card_by_serial(f->st, "4242", &got), HS_OK);
    assert_string_equal(got.holder, "张秀英");
    assert_int_equal(got.status, HS_CARD_ACTIVE);
    char **v = NULL;
    size_t n = 9;
    assert_int_equal(hs_card_revoked_list(f->st, &v, &n), HS_OK);
    assert_int_equal(n, 0);
    hs_strv_free(v, n);
    assert_int_equal(hs_card_revoke(f->st, "4242", "lost", "staff:1", 2001), HS_OK);
    assert_int_equal(hs_card_by_serial(f->st, "4242", &got), HS_OK);
    assert_int_equal(got.status, HS_CARD_REVOKED);
    assert_string_equal(got.reason, "lost");
    assert_int_equal(hs_card_revoked_list(f->st, &v, &n), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "4242");
    hs_strv_free(v, n);
    assert_int_equal(hs_card_sealed_puk(f->st, "9999", &blob, &blob_len), HS_E_NOT_FOUND);
}

/* ---- challenges ---------------------------------------------------------- */

static void test_nonces(void **state)
{
    struct fixture *f = *state;
    char n1[HS_NONCE_TEXT], n2[HS_NONCE_TEXT];
    int64_t exp = 0;
    assert_int_equal(hs_nonce_issue(f->st, "kiosk-a", "card-session", 60, 5000, n1, &exp), HS_OK);
    assert_int_equal(strlen(n1), 43);
    assert_int_equal(exp, 5060);
    assert_int_equal(hs_nonce_issue(f->st, "kiosk-a", "card-session", 60, 5000, n2, NULL), HS_OK);
    assert_string_not_equal(n1, n2);

    /* Another kiosk, another purpose: refused, and the nonce is not burnt. */
    assert_int_equal(hs_nonce_consume(f->st, n1, "kiosk-b", "card-session", 5001),
                     HS_E_NONCE_KIOSK);
    assert_int_equal(hs_nonce_consume(f->st, n1, "kiosk-a", "confirm", 5001), HS_E_NONCE_UNKNOWN);
    assert_int_equal(hs_nonce_consume(f->st, n1, "kiosk-a", "card-session", 5001), HS_OK);
    assert_int_equal(hs_nonce_consume(f->st, n1, "kiosk-a", "card-session", 5002), HS_E_NONCE_USED);
    /* Expiry is exclusive: at expires_at it is gone. */
    assert_int_equal(hs_nonce_consume(f->st, n2, "kiosk-a", "card-session", 5060),
                     HS_E_NONCE_EXPIRED);
    assert_int_equal(hs_nonce_consume(f->st, "AAAA", "kiosk-a", "card-session", 5001),
                     HS_E_NONCE_UNKNOWN);
    assert_int_equal(hs_nonce_purge(f->st, 6000, 0), HS_OK);
    assert_int_equal(hs_nonce_consume(f->st, n2, "kiosk-a", "card-session", 5001),
                     HS_E_NONCE_UNKNOWN);
}

struct racer {
    struct hs_store *st;
    const char *nonce;
    hs_rc rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->rc = hs_nonce_consume(r->st, r->nonce, "kiosk-a", "card-session", 7001);
    return NULL;
}

static void test_nonce_race(void **state)
{
    struct fixture *f = *state;
    enum { THREADS = 8, ROUNDS = 20 };
    for (int round = 0; round < ROUNDS; round++) {
        char n[HS_NONCE_TEXT];
        assert_int_equal(hs_nonce_issue(f->st, "kiosk-a", "card-session", 60, 7000, n, NULL),
                         HS_OK);
        pthread_t t[THREADS];
        struct racer r[THREADS];
        for (int i = 0; i < THREADS; i++) {
            r[i] = (struct racer){ f->st, n, HS_E_INTERNAL };
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        int ok = 0, used = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            ok += r[i].rc == HS_OK;
            used += r[i].rc == HS_E_NONCE_USED;
        }
        assert_int_equal(ok, 1);
        assert_int_equal(used, THREADS - 1);
    }
}

/* ---- the audit chain ----------------------------------------------------- */

/* Ten audited changes and a checkpoint after the eighth. */
static void audit_sample(struct fixture *f)
{
    for (int i = 0; i < 8; i++) {
        char id[32];
        snprintf(id, sizeof(id), "kiosk-%d", i);
        enroll(f, id, (char)('a' + i));
    }
    assert_int_equal(hs_audit_checkpoint(f->st, f->signer, 5, false, 3000), HS_OK);
    assert_int_equal(hs_kiosk_revoke(f->st, "kiosk-1", "x", "admin:test", 3001), HS_OK);
    assert_int_equal(hs_kiosk_revoke(f->st, "kiosk-2", "y", "admin:test", 3002), HS_OK);
    /* Not due: only 2 records since the last checkpoint. */
    assert_int_equal(hs_audit_checkpoint(f->st, f->signer, 5, false, 3003), HS_OK);
    struct hs_audit_report rep;
    assert_int_equal(hs_audit_verify(f->st, f->cert, f->cert_len, &rep), HS_OK);
    assert_int_equal(rep.records, 10);
    assert_int_equal(rep.checkpoints, 1);
    assert_int_equal(rep.bad_seq, 0);
}

static void expect_broken(struct fixture *f, int64_t seq, const char *words)
{
    struct hs_audit_report rep;
    assert_int_equal(hs_audit_verify(f->st, f->cert, f->cert_len, &rep), HS_E_AUDIT_BROKEN);
    if (rep.bad_seq != seq || !strstr(rep.reason, words))
        fail_msg("expected record %lld and \"%s\", got record %lld: %s", (long long)seq, words,
                 (long long)rep.bad_seq, rep.reason);
}

static void test_audit_good_and_forced(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    assert_int_equal(hs_audit_checkpoint(f->st, f->signer, 1000, true, 3004), HS_OK);
    struct hs_audit_report rep;
    assert_int_equal(hs_audit_verify(f->st, f->cert, f->cert_len, &rep), HS_OK);
    assert_int_equal(rep.checkpoints, 2);
    /* A forced checkpoint with nothing new adds nothing. */
    assert_int_equal(hs_audit_checkpoint(f->st, f->signer, 1000, true, 3005), HS_OK);
    assert_int_equal(hs_audit_verify(f->st, f->cert, f->cert_len, &rep), HS_OK);
    assert_int_equal(rep.checkpoints, 2);
}

static void test_audit_edited(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    assert_int_equal(raw(f->st, "UPDATE audit SET subject = 'kiosk-x' WHERE seq = 4"), HS_OK);
    expect_broken(f, 4, "changed");
}

static void test_audit_deleted(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    assert_int_equal(raw(f->st, "DELETE FROM audit WHERE seq = 6"), HS_OK);
    expect_broken(f, 6, "missing");
}

static void test_audit_reordered(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    /* Swap records 2 and 3 whole (with their hashes) by renumbering. */
    assert_int_equal(raw(f->st, "UPDATE audit SET seq = 100 WHERE seq = 2"), HS_OK);
    assert_int_equal(raw(f->st, "UPDATE audit SET seq = 2 WHERE seq = 3"), HS_OK);
    assert_int_equal(raw(f->st, "UPDATE audit SET seq = 3 WHERE seq = 100"), HS_OK);
    expect_broken(f, 2, "does not follow");
}

static void test_audit_tail_cut(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    assert_int_equal(raw(f->st, "DELETE FROM audit WHERE seq >= 9"), HS_OK);
    expect_broken(f, 9, "missing");
}

static void test_audit_rewritten_before_checkpoint(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    /* Cutting the chain back to a checkpointed record breaks the checkpoint. */
    assert_int_equal(raw(f->st, "DELETE FROM audit WHERE seq >= 7"), HS_OK);
    assert_int_equal(raw(f->st, "UPDATE audit_head SET seq = 6, hash = (SELECT hash FROM audit "
                                "WHERE seq = 6) WHERE id = 1"),
                     HS_OK);
    expect_broken(f, 8, "checkpoint");
}

static void test_audit_forged_checkpoint(void **state)
{
    struct fixture *f = *state;
    audit_sample(f);
    assert_int_equal(raw(f->st, "UPDATE audit_checkpoints SET jws = 'eyJhbGciOiJub25lIn0.e30.'"),
                     HS_OK);
    expect_broken(f, 8, "signature");
}

int main(void)
{
    hm_log_init("test_registry", HM_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kiosks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cards_and_seal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_good_and_forced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_reordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_tail_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_rewritten_before_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audit_forged_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
