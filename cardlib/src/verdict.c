/* The per-check verdicts that card verification reports, kept in one small table. */
#include "cl/verdict.h"
#include "hm/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cl_verdict_init(struct cl_verdict *v)
{
    memset(v, 0, sizeof(*v));
}

void cl_verdict_set(struct cl_verdict *v, const char *name, enum cl_check_state state,
                    const char *reason_fmt, ...)
{
    struct cl_check *c = NULL;
    va_list ap;

    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->checks[i].name, name) == 0)
            c = &v->checks[i];
    if (!c) {
        if (v->n == CL_VERDICT_MAX_CHECKS)
            return;
        c = &v->checks[v->n++];
    }
    c->name = name;
    c->state = state;
    c->reason[0] = 0;
    if (reason_fmt) {
        va_start(ap, reason_fmt);
        vsnprintf(c->reason, sizeof(c->reason), reason_fmt, ap);
        va_end(ap);
    }
}

const struct cl_check *cl_verdict_get(const struct cl_verdict *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->checks[i].name, name) == 0)
            return &v->checks[i];
    return NULL;
}

bool cl_verdict_all_passed(const struct cl_verdict *v, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cl_check *c = cl_verdict_get(v, names[i]);

        if (!c || c->state != CL_CHECK_PASSED)
            return false;
    }
    return true;
}

const struct cl_check *cl_verdict_first_failure(const struct cl_verdict *v)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->checks[i].state == CL_CHECK_FAILED)
            return &v->checks[i];
    return NULL;
}

const char *cl_check_state_name(enum cl_check_state state)
{
    switch (state) {
    case CL_CHECK_PASSED:
        return "passed";
    case CL_CHECK_FAILED:
        return "failed";
    case CL_CHECK_NOT_CHECKED:
        return "not checked";
    }
    return "unknown";
}
