/*
 * The synthetic population of huimin-gen (bench/gen/gen_model.c): who the
 * residents are, what they receive and what was paid to them, drawn one
 * resident at a time from a seed, with no database and no I/O.
 *
 * Resident i (1-based) is drawn from its own random stream, seeded by the
 * seed and i, so the same seed gives the same rows. The only state carried
 * from one resident to the next is the count of citizen IDs handed out per
 * birth date (the three-digit sequence number must be unique per date);
 * gen_model_mark() and gen_model_rewind() save and restore it, so a batch
 * that is run again draws exactly the same rows.
 *
 * The proportions follow docs DOMAIN.md sections 1.3 and 6: many elderly
 * people; dibao (rural far more than urban), 特困, the two disability
 * subsidies, 高龄津贴 for everyone aged 80 or more; most residents one
 * programme, some two or three; turnover of about one in eight a year.
 */
#ifndef GEN_MODEL_H
#define GEN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The programmes the model hands out, by their codes in fixtures/deploy/programmes.csv. */
enum gen_prog {
    GP_DIBAO_URBAN = 0,
    GP_DIBAO_RURAL,
    GP_DIBAO_TOPUP,
    GP_TEKUN_URBAN,
    GP_TEKUN_RURAL,
    GP_CARE_FULL,
    GP_CARE_PARTIAL,
    GP_CARE_SELF,
    GP_TEMPORARY,
    GP_ORPHAN,
    GP_UNSUPPORTED_CHILD,
    GP_DIS_LIVING,
    GP_DIS_NURSING,
    GP_ELDERLY_ALLOWANCE,
    GP_ELDERLY_SERVICE,
    GP_PRICE_SUBSIDY,
    GP_COUNT
};

/* "dibao-urban" and so on. */
const char *gen_prog_code(enum gen_prog p);
/*
 * The monthly amount (per case for temporary) in fen the model uses when the
 * programmes table quotes no standard: the amounts of the demo fixtures
 * (fixtures/deploy/entitlements.csv), which are assumptions, not seed figures.
 */
int64_t gen_prog_fallback_fen(enum gen_prog p);

#define GEN_MAX_MONTHS 120
#define GEN_MAX_ENT    8

struct gen_model_config {
    uint64_t seed;
    int months;      /* paid months in the window, 1..GEN_MAX_MONTHS */
    char region[13]; /* 6, 9 or 12 digits; the citizen IDs use the first 6 */
    int32_t today;   /* YYYYMMDD */
    int64_t now;     /* created_at of every row (unix seconds) */
    /* Per month (per case for temporary), fen, > 0: from the programmes table's
     * standards (a yearly standard divided by 12, as the demo does), else the fallback. */
    int64_t amount_fen[GP_COUNT];
};

/* payments.status and entitlements.status as hs/import.h numbers them. */
enum {
    GEN_ENT_ACTIVE = 1,
    GEN_ENT_PHASE_OUT = 2,
    GEN_ENT_SUSPENDED = 3,
    GEN_ENT_STOPPED = 4,
};
enum {
    GEN_PAY_SCHEDULED = 1,
    GEN_PAY_PAID = 2,
    GEN_PAY_CONFIRMED = 3,
    GEN_PAY_DISPUTED = 4,
    GEN_PAY_RETURNED = 5,
};

struct gen_entitlement {
    char id[24]; /* "GE00000001-1" */
    enum gen_prog prog;
    int64_t amount_fen;  /* per period */
    const char *period;  /* "month" or "once" */
    char start_date[11]; /* YYYY-MM-DD */
    char end_date[11];   /* "" when open */
    int status;          /* GEN_ENT_* */
    const char *reason;  /* "" or a static phrase */
    /* The payments: months first_month..last_month (month numbers: year * 12 + month - 1)
     * paid, then one scheduled for the coming month when scheduled is set. None when
     * first_month > last_month and !scheduled. */
    int first_month, last_month;
    bool scheduled;
    int returned_month; /* a month whose payment the bank returned (a death), or -1 */
};

struct gen_resident {
    uint32_t index; /* 1-based */
    char id[16];    /* "G00000001" */
    char citizen_id[19];
    char name[32];       /* UTF-8 */
    char welfare_no[24]; /* "" when no card has been issued */
    char birth_date[11];
    int64_t flags; /* enum hs_resident_flag */
    int age;
    const char *channel; /* "bank", "sscard" or "cash" */
    char account[12];    /* "****1234", "" for cash */
    int nent;
    struct gen_entitlement ent[GEN_MAX_ENT];
    uint64_t rng; /* the resident's random stream, carried on into its payments */
};

struct gen_payment {
    char id[40];     /* "GP00000001-1-202611" */
    char period[16]; /* YYYY-MM */
    int64_t amount_fen;
    const char *channel;
    const char *account; /* "" for cash and service */
    char paid_date[16];  /* "" while scheduled */
    int status;          /* GEN_PAY_* */
};

struct gen_model;

/* NULL when cfg is unusable (months, region, today) or memory runs out. Free with gen_model_free().
 */
struct gen_model *gen_model_new(const struct gen_model_config *cfg);
void gen_model_free(struct gen_model *m);

/* Saves the per-date sequence counts / restores the last saved ones. */
void gen_model_mark(struct gen_model *m);
void gen_model_rewind(struct gen_model *m);

/* Draws resident index (1-based, in increasing order between marks). False when every
 * sequence number of the birth dates near the one drawn is taken (far beyond a million). */
bool gen_model_resident(struct gen_model *m, uint32_t index, struct gen_resident *r);

/* The month numbers of the window: the first and last paid month, the scheduled one. */
void gen_model_window(const struct gen_model *m, int *first_paid, int *last_paid, int *scheduled);

/* The payment of entitlement e for month (from e->first_month to e->last_month, then the
 * scheduled month); call them in that order, as the draws go on in r's stream. */
void gen_model_payment(const struct gen_model *m, struct gen_resident *r,
                       const struct gen_entitlement *e, int month, struct gen_payment *p);

#endif
