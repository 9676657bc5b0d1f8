/*
 * One verdict per authenticity check, so a caller can show and log exactly
 * which check passed, which failed and why, and which was not made. The
 * welfare card's checks (chain, validity, key usage, revocation, CHUID
 * signature, possession of the card-authentication key) and the ID card's
 * (Passive Authentication steps, data-group hashes, Active Authentication)
 * are reported the same way.
 */
#ifndef CL_VERDICT_H
#define CL_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#define CL_VERDICT_MAX_CHECKS 16
#define CL_CHECK_REASON_MAX   160

enum cl_check_state {
    CL_CHECK_NOT_CHECKED = 0,
    CL_CHECK_PASSED,
    CL_CHECK_FAILED,
};

struct cl_check {
    const char *name; /* stable identifier for logs and JSON: "chain", "revocation"... */
    enum cl_check_state state;
    char reason[CL_CHECK_REASON_MAX]; /* why it failed or was not checked; "" when passed */
};

struct cl_verdict {
    struct cl_check checks[CL_VERDICT_MAX_CHECKS];
    size_t n;
};

/* Empties the verdict. */
void cl_verdict_init(struct cl_verdict *v);
/* Records a check (replacing an earlier record of the same name). reason may be NULL. */
void cl_verdict_set(struct cl_verdict *v, const char *name, enum cl_check_state state,
                    const char *reason_fmt, ...) __attribute__((format(printf, 4, 5)));
/* The record of a check, or NULL if it was never recorded. */
const struct cl_check *cl_verdict_get(const struct cl_verdict *v, const char *name);
/* True when every named check passed (and each was recorded). */
bool cl_verdict_all_passed(const struct cl_verdict *v, const char *const *names, size_t n);
/* The first failed check, or NULL. */
const struct cl_check *cl_verdict_first_failure(const struct cl_verdict *v);
/* "passed", "failed", "not checked". */
const char *cl_check_state_name(enum cl_check_state state);

#endif
