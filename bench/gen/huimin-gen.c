/* huimin-gen: fills a deployment's database with a large synthetic population (residents,
 * entitlements, payments) so the benchmarks run against realistic volumes, not the demo's dozen. */
#include "gen_insert.h"
#include "gen_model.h"

#include "hm/log.h"
#include "hm/util.h"
#include "hs/audit.h"
#include "hs/config.h"
#include "hs/db.h"
#include "hs/import.h"

#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_UNUSABLE = 2, /* the deployment or its database cannot be used */
    EXIT_REFUSED = 3,  /* no programmes yet, or generated residents are there already */
};

#define PATH_CAP 4200

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: huimin-gen --dir DIR --residents N [--months 12] [--seed S] [--region 451123]\n"
            "                  [--today YYYY-MM-DD] [--chunk 4000] [--rows-per-insert 100]\n"
            "                  [--quiet]\n"
            "Fills the database of the deployment in DIR (made by 'huimin-admin init') with N\n"
            "synthetic residents (ids G00000001..., welfare numbers WG...), their entitlements\n"
            "and the payments of the last --months months plus the coming month's scheduled\n"
            "ones (about 10 payments a resident). The programmes must be imported first:\n"
            "  huimin-admin import programmes --dir DIR --file fixtures/deploy/programmes.csv\n"
            "The same seed and --today give the same rows. --chunk residents go into one\n"
            "transaction, --rows-per-insert rows into one INSERT. One audit record per run.\n"
            "Exit status: 0 done, 1 usage, 2 the deployment or database cannot be used,\n"
            "3 refused (no programmes, or this deployment holds generated residents already).\n");
}

struct opts {
    const char *dir;
    unsigned long residents, months, chunk, rows_per_insert;
    uint64_t seed;
    const char *region;
    const char *today;
    bool quiet;
};

/* ---- the load -------------------------------------------------------------------- */

struct counts {
    uint64_t residents, entitlements, payments;
    int64_t payment_fen;
};

struct run {
    struct gen_model *model;
    struct gen_insert *res, *ent, *pay;
    int64_t now;
    uint32_t next, last; /* the batch: residents next..last */
    uint32_t total;
    struct counts done, batch;
    hs_rc model_rc;
    /* the audit record, written with the last batch */
    const char *actor;
    const struct opts *o;
    char today[16];
    int64_t audit_seq;
};

static const char resident_sql[] = "INSERT INTO residents (id, citizen_id, name, welfare_no, "
                                   "birth_date, region_code, flags, phone, created_at) VALUES ";
static const int resident_shape[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const char entitlement_sql[] =
    "INSERT INTO entitlements (id, resident_id, programme, amount_fen, period, start_date, "
    "end_date, status, reason, created_at, updated_at) VALUES ";
static const int entitlement_shape[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10 };
static const char payment_sql[] =
    "INSERT INTO payments (id, entitlement_id, period, amount_fen, channel, account_masked, "
    "paid_date, status, created_at, updated_at) VALUES ";
static const int payment_shape[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 9 };

static bool put_resident(struct run *r, const struct gen_resident *g)
{
    struct gen_insert *t = r->res;

    return gen_insert_text(t, g->id) && gen_insert_text(t, g->citizen_id) &&
           gen_insert_text(t, g->name) && gen_insert_opt_text(t, g->welfare_no) &&
           gen_insert_text(t, g->birth_date) && gen_insert_text(t, r->o->region) &&
           gen_insert_int(t, g->flags) && gen_insert_opt_text(t, NULL) && gen_insert_int(t, r->now);
}

static bool put_entitlement(struct run *r, const struct gen_resident *g,
                            const struct gen_entitlement *e)
{
    struct gen_insert *t = r->ent;

    return gen_insert_text(t, e->id) && gen_insert_text(t, g->id) &&
           gen_insert_text(t, gen_prog_code(e->prog)) && gen_insert_int(t, e->amount_fen) &&
           gen_insert_text(t, e->period) && gen_insert_text(t, e->start_date) &&
           gen_insert_opt_text(t, e->end_date) && gen_insert_int(t, e->status) &&
           gen_insert_text(t, e->reason) && gen_insert_int(t, r->now);
}

static bool put_payment(struct run *r, const struct gen_entitlement *e, const struct gen_payment *p)
{
    struct gen_insert *t = r->pay;

    return gen_insert_text(t, p->id) && gen_insert_text(t, e->id) &&
           gen_insert_text(t, p->period) && gen_insert_int(t, p->amount_fen) &&
           gen_insert_text(t, p->channel) && gen_insert_text(t, p->account) &&
           gen_insert_opt_text(t, p->paid_date) && gen_insert_int(t, p->status) &&
           gen_insert_int(t, r->now);
}

/* Parents first: entitlements refer to residents, payments to entitlements. */
static hs_rc flush_all(struct run *r, struct hs_conn *c)
{
    hs_rc rc = gen_insert_flush(r->res, c);

    if (rc == HS_OK)
        rc = gen_insert_flush(r->ent, c);
    if (rc == HS_OK)
        rc = gen_insert_flush(r->pay, c);
    return rc;
}

/* One resident with everything it receives. */
static hs_rc add_resident(struct run *r, uint32_t index, int scheduled)
{
    struct gen_resident g;
    struct gen_payment p;

    if (!gen_model_resident(r->model, index, &g)) {
        r->model_rc = HS_E_TOO_LARGE;
        return HS_E_TOO_LARGE;
    }
    if (!put_resident(r, &g))
        return HS_E_NO_MEMORY;
    r->batch.residents++;
    for (int i = 0; i < g.nent; i++) {
        const struct gen_entitlement *e = &g.ent[i];
        if (!put_entitlement(r, &g, e))
            return HS_E_NO_MEMORY;
        r->batch.entitlements++;
        for (int mn = e->first_month; mn <= e->last_month + (e->scheduled ? 1 : 0); mn++) {
            /* The scheduled month follows the last paid one, which may be before the window's end.
             */
            int month = mn > e->last_month ? scheduled : mn;
            gen_model_payment(r->model, &g, e, month, &p);
            if (!put_payment(r, e, &p))
                return HS_E_NO_MEMORY;
            r->batch.payments++;
            r->batch.payment_fen += p.amount_fen;
        }
    }
    return HS_OK;
}

static hs_rc write_audit(struct run *r, struct hs_conn *c)
{
    struct counts t = {
        .residents = r->done.residents + r->batch.residents,
        .entitlements = r->done.entitlements + r->batch.entitlements,
        .payments = r->done.payments + r->batch.payments,
    };
    char detail[512], subject[64];

    snprintf(detail, sizeof(detail),
             "{\"entitlements\":%" PRIu64 ",\"months\":%lu,\"payments\":%" PRIu64
             ",\"region\":\"%s\",\"residents\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"today\":\"%s\"}",
             t.entitlements, r->o->months, t.payments, r->o->region, t.residents, r->o->seed,
             r->today);
    snprintf(subject, sizeof(subject), "residents G%08u..G%08u", 1u, r->total);
    struct hs_audit_rec rec = {
        .actor = r->actor,
        .action = "gen.synthetic",
        .subject = subject,
        .detail = detail,
        .at = r->now,
    };
    return hs_audit_append(c, &rec, &r->audit_seq);
}

/* The write function of one batch; run again from the same state if the store retries it. */
static hs_rc batch_fn(struct hs_conn *c, void *arg)
{
    struct run *r = arg;
    int first_paid, last_paid, scheduled;
    hs_rc rc = HS_OK;

    gen_model_rewind(r->model);
    gen_insert_reset(r->res);
    gen_insert_reset(r->ent);
    gen_insert_reset(r->pay);
    memset(&r->batch, 0, sizeof(r->batch));
    gen_model_window(r->model, &first_paid, &last_paid, &scheduled);
    for (uint32_t i = r->next; i <= r->last && rc == HS_OK; i++) {
        rc = add_resident(r, i, scheduled);
        /* Every hundred residents or so: the payments make full statements by then. */
        if (rc == HS_OK && gen_insert_rows(r->res) >= 100)
            rc = flush_all(r, c);
    }
    if (rc == HS_OK)
        rc = flush_all(r, c);
    if (rc == HS_OK && r->last == r->total)
        rc = write_audit(r, c);
    return rc;
}

/* The SQLite writer's page cache, raised for the load (it lasts as long as the connection). */
static hs_rc sqlite_tune_fn(struct hs_conn *c, void *arg)
{
    (void)arg;
    return hs_exec(c, "PRAGMA cache_size = -262144", NULL, 0, NULL);
}

/* ---- the deployment ------------------------------------------------------------- */

static void actor_name(char *out, size_t cap)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw && pw->pw_name)
        snprintf(out, cap, "admin:%s", pw->pw_name);
    else
        snprintf(out, cap, "admin:uid-%ld", (long)geteuid());
}

/* Reads the programmes' standards into per-month amounts; EXIT_REFUSED when one is missing. */
static int load_programmes(struct hs_store *st, const char *dir, struct gen_model_config *mc)
{
    struct hs_conn *c = hs_store_reader(st);
    struct hs_rows *rows = NULL;
    bool found[GP_COUNT] = { false };
    int ret = EXIT_OK;

    if (!c ||
        hs_exec(c, "SELECT code, period, standard_fen FROM programmes", NULL, 0, &rows) != HS_OK) {
        fprintf(stderr, "huimin-gen: cannot read the programmes table\n");
        return EXIT_UNUSABLE;
    }
    for (int i = 0; i < hs_rows_count(rows); i++) {
        const char *code = hs_rows_text(rows, i, 0), *period = hs_rows_text(rows, i, 1);
        for (int p = 0; p < GP_COUNT; p++) {
            if (strcmp(code, gen_prog_code((enum gen_prog)p)) != 0)
                continue;
            found[p] = true;
            int64_t fen = hs_rows_is_null(rows, i, 2) ? 0 : hs_rows_int(rows, i, 2);
            if (fen > 0 && strcmp(period, "year") == 0)
                fen /= 12; /* paid monthly, as the demo pays dibao-rural 5200/year: 433.33 */
            mc->amount_fen[p] = fen > 0 ? fen : gen_prog_fallback_fen((enum gen_prog)p);
        }
    }
    hs_rows_free(rows);
    for (int p = 0; p < GP_COUNT; p++) {
        if (found[p])
            continue;
        fprintf(stderr, "huimin-gen: programme '%s' is not in the database\n",
                gen_prog_code((enum gen_prog)p));
        ret = EXIT_REFUSED;
    }
    if (ret != EXIT_OK)
        fprintf(stderr,
                "Import the demo programmes first:\n"
                "  huimin-admin import programmes --dir %s --file fixtures/deploy/programmes.csv\n",
                dir);
    return ret;
}

static int refuse_if_generated(struct hs_store *st)
{
    struct hs_conn *c = hs_store_reader(st);
    struct hs_rows *rows = NULL;
    const struct hs_val p[] = { hs_text("G00000001") };

    if (!c || hs_exec(c, "SELECT 1 FROM residents WHERE id = $1", p, 1, &rows) != HS_OK) {
        fprintf(stderr, "huimin-gen: cannot read the residents table\n");
        return EXIT_UNUSABLE;
    }
    int n = hs_rows_count(rows);
    hs_rows_free(rows);
    if (n > 0) {
        fprintf(stderr, "huimin-gen: this deployment holds generated residents already "
                        "(G00000001); generate into a fresh one\n");
        return EXIT_REFUSED;
    }
    return EXIT_OK;
}

static int64_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* ---- main ---------------------------------------------------------------------- */

/* 0: run, 1: --help shown, -1: bad arguments (said why). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "residents", required_argument, NULL, 'n' },
        { "months", required_argument, NULL, 'm' },
        { "seed", required_argument, NULL, 's' },
        { "region", required_argument, NULL, 'r' },
        { "today", required_argument, NULL, 't' },
        { "chunk", required_argument, NULL, 'c' },
        { "rows-per-insert", required_argument, NULL, 'k' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned long v;
    int ch;

    *o = (struct opts){
        .months = 12, .seed = 1, .region = "451123", .chunk = 4000, .rows_per_insert = 100
    };
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            o->dir = optarg;
            break;
        case 'n':
            if (!hm_parse_ulong(optarg, 99999999, &o->residents) || o->residents == 0) {
                fprintf(stderr, "huimin-gen: --residents is 1..99999999\n");
                return -1;
            }
            break;
        case 'm':
            if (!hm_parse_ulong(optarg, GEN_MAX_MONTHS, &o->months) || o->months == 0) {
                fprintf(stderr, "huimin-gen: --months is 1..%d\n", GEN_MAX_MONTHS);
                return -1;
            }
            break;
        case 's':
            if (!hm_parse_ulong(optarg, (unsigned long)-1, &v)) {
                fprintf(stderr, "huimin-gen: --seed is a whole number\n");
                return -1;
            }
            o->seed = v;
            break;
        case 'r': {
            size_t n = strlen(optarg), i;
            for (i = 0; i < n && optarg[i] >= '0' && optarg[i] <= '9'; i++)
                ;
            if (i != n || !(n == 6 || n == 9 || n == 12)) {
                fprintf(stderr, "huimin-gen: --region is 6, 9 or 12 digits\n");
                return -1;
            }
            o->region = optarg;
            break;
        }
        case 't':
            o->today = optarg;
            break;
        case 'c':
            if (!hm_parse_ulong(optarg, 1000000, &o->chunk) || o->chunk == 0) {
                fprintf(stderr, "huimin-gen: --chunk is 1..1000000 residents\n");
                return -1;
            }
            break;
        case 'k':
            if (!hm_parse_ulong(optarg, 1000, &o->rows_per_insert) || o->rows_per_insert == 0) {
                fprintf(stderr, "huimin-gen: --rows-per-insert is 1..1000\n");
                return -1;
            }
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind != argc || !o->dir || !o->residents) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* The reference day and created_at: --today at midnight UTC, else now. */
static bool reference_day(const struct opts *o, struct gen_model_config *mc, char today[16])
{
    if (o->today) {
        int32_t ymd;
        if (!hs_import_parse_date(o->today, &ymd) || ymd < 20000101 || ymd > 20981231) {
            fprintf(stderr, "huimin-gen: --today is a date YYYY-MM-DD in 2000..2098\n");
            return false;
        }
        struct tm tm = { .tm_year = ymd / 10000 - 1900,
                         .tm_mon = ymd / 100 % 100 - 1,
                         .tm_mday = ymd % 100 };
        mc->today = ymd;
        mc->now = (int64_t)timegm(&tm);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            return false;
        mc->today = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
        mc->now = (int64_t)t;
    }
    snprintf(today, 16, "%04d-%02d-%02d", (int)(mc->today / 10000), (int)(mc->today / 100 % 100),
             (int)(mc->today % 100));
    return true;
}

static void progress(const struct run *r, uint64_t t0, bool last)
{
    double s = (double)(hm_now_ms() - t0) / 1000.0;
    uint64_t rows = r->done.residents + r->done.entitlements + r->done.payments;

    fprintf(
        stderr, "huimin-gen: %" PRIu64 "/%u residents, %" PRIu64 " rows, %.1f s, %.0f rows/s%s\n",
        r->done.residents, r->total, rows, s, s > 0 ? (double)rows / s : 0.0, last ? "" : " ...");
}

/* Updates the planner's statistics of every table. */
static hs_rc analyze_fn(struct hs_conn *c, void *arg)
{
    (void)arg;
    return hs_exec(c, "ANALYZE", NULL, 0, NULL);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct hs_config cfg;
    struct gen_model_config mc = { 0 };
    struct hs_store *st = NULL;
    struct run r = { 0 };
    char path[PATH_CAP], err[512], actor[128];
    int ret;
    hs_rc rc;

    hm_log_init("huimin-gen", HM_LOG_WARN);
    int pa = parse_args(argc, argv, &o);
    if (pa != 0)
        return pa > 0 ? EXIT_OK : EXIT_USAGE;
    snprintf(path, sizeof(path), "%s/huimin.conf", o.dir);
    rc = hs_config_load(path, &cfg, err, sizeof(err));
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-gen: %s\n", err);
        fprintf(stderr, "Is %s a deployment? Create one with 'huimin-admin init --dir %s'.\n",
                o.dir, o.dir);
        return EXIT_UNUSABLE;
    }
    mc.seed = o.seed;
    mc.months = (int)o.months;
    hm_strlcpy(mc.region, o.region, sizeof(mc.region));
    if (!reference_day(&o, &mc, r.today))
        return EXIT_USAGE;

    bool pg = strcmp(cfg.backend, "postgres") == 0;
    struct hs_store_config sc = {
        .backend = pg ? HS_BACKEND_POSTGRES : HS_BACKEND_SQLITE,
        .target = pg ? cfg.db_conninfo : cfg.db_path,
    };
    rc = hs_store_open(&sc, &st);
    if (rc != HS_OK) {
        fprintf(stderr, "huimin-gen: cannot open the %s database: %s\n", cfg.backend,
                hs_strerror(rc));
        return EXIT_UNUSABLE;
    }
    ret = load_programmes(st, o.dir, &mc);
    if (ret == EXIT_OK)
        ret = refuse_if_generated(st);
    if (ret != EXIT_OK)
        goto out_close;

    r.model = gen_model_new(&mc);
    int k = (int)o.rows_per_insert;
    r.res = gen_insert_new(resident_sql, resident_shape, 9, 9, k);
    r.ent = gen_insert_new(entitlement_sql, entitlement_shape, 11, 10, k);
    r.pay = gen_insert_new(payment_sql, payment_shape, 10, 9, k);
    if (!r.model || !r.res || !r.ent || !r.pay) {
        fprintf(stderr, "huimin-gen: out of memory\n");
        ret = EXIT_UNUSABLE;
        goto out_close;
    }
    actor_name(actor, sizeof(actor));
    r.actor = actor;
    r.o = &o;
    r.now = mc.now;
    r.total = (uint32_t)o.residents;

    if (!pg && hs_store_write(st, sqlite_tune_fn, NULL) != HS_OK)
        fprintf(stderr, "huimin-gen: note: could not raise SQLite's page cache; going on\n");

    uint64_t t0 = hm_now_ms(), shown = t0;
    for (r.next = 1; r.next <= r.total; r.next = r.last + 1) {
        r.last = r.total - r.next + 1 > o.chunk ? r.next + (uint32_t)o.chunk - 1 : r.total;
        rc = hs_store_write(st, batch_fn, &r);
        if (rc != HS_OK) {
            if (r.model_rc != HS_OK)
                fprintf(stderr, "huimin-gen: the birth dates ran out of sequence numbers\n");
            else if (rc == HS_E_DB_CONSTRAINT)
                fprintf(stderr, "huimin-gen: a generated key (id, citizen ID or welfare number) "
                                "clashes with a row in the database\n");
            fprintf(stderr,
                    "huimin-gen: residents %u..%u were not written: %s (%" PRIu64
                    " residents before them were)\n",
                    r.next, r.last, hs_strerror(rc), r.done.residents);
            ret = EXIT_UNUSABLE;
            goto out_close;
        }
        gen_model_mark(r.model);
        r.done.residents += r.batch.residents;
        r.done.entitlements += r.batch.entitlements;
        r.done.payments += r.batch.payments;
        r.done.payment_fen += r.batch.payment_fen;
        if (!o.quiet && (hm_now_ms() - shown >= 2000 || r.last == r.total)) {
            progress(&r, t0, r.last == r.total);
            shown = hm_now_ms();
        }
    }
    double secs = (double)(hm_now_ms() - t0) / 1000.0;
    uint64_t rows = r.done.residents + r.done.entitlements + r.done.payments;

    /*
     * Fresh statistics for the planner: right after a bulk load PostgreSQL has
     * none (autovacuum has not caught up), and the status query then scans
     * payments instead of using its index (86 status answers/s measured).
     */
    uint64_t ta = hm_now_ms();
    if (hs_store_write(st, analyze_fn, NULL) != HS_OK)
        fprintf(stderr, "huimin-gen: note: ANALYZE failed; the planner may be slow until "
                        "autovacuum runs\n");
    else if (!o.quiet)
        fprintf(stderr, "huimin-gen: statistics updated (ANALYZE) in %.1f s\n",
                (double)(hm_now_ms() - ta) / 1000.0);

    int64_t pg_size = -1;
    if (pg) {
        struct hs_rows *sz = NULL;
        struct hs_conn *c = hs_store_reader(st);
        if (c && hs_exec(c, "SELECT pg_database_size(current_database())", NULL, 0, &sz) == HS_OK)
            pg_size = hs_rows_int(sz, 0, 0);
        hs_rows_free(sz);
    }
    hs_store_close(st);
    st = NULL;

    printf("Generated %" PRIu64 " residents, %" PRIu64 " entitlements and %" PRIu64
           " payments (%" PRIu64 " rows, %.1f payments a resident, %.2f yuan paid or scheduled)\n",
           r.done.residents, r.done.entitlements, r.done.payments, rows,
           (double)r.done.payments / (double)r.done.residents, (double)r.done.payment_fen / 100.0);
    printf("in %.1f s: %.0f rows/s (seed %" PRIu64 ", %lu months to %s, audit record %" PRId64
           ").\n",
           secs, secs > 0 ? (double)rows / secs : 0.0, o.seed, o.months, r.today, r.audit_seq);
    if (pg) {
        if (pg_size >= 0)
            printf("Database (postgres): %" PRId64 " bytes (%.1f MiB, pg_database_size)\n", pg_size,
                   mib(pg_size));
    } else {
        char wal[PATH_CAP];
        snprintf(wal, sizeof(wal), "%s-wal", cfg.db_path);
        int64_t db = file_size(cfg.db_path), w = file_size(wal);
        printf("Database (sqlite): %s %" PRId64 " bytes + WAL %" PRId64 " bytes (%.1f MiB)\n",
               cfg.db_path, db, w, mib(db + w));
    }
    ret = EXIT_OK;

out_close:
    hs_store_close(st);
    gen_insert_free(r.res);
    gen_insert_free(r.ent);
    gen_insert_free(r.pay);
    gen_model_free(r.model);
    return ret;
}
