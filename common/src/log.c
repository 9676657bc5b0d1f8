/* One logging path for every Huimin program, so levels and redaction rules hold everywhere. */
#include "hm/log.h"
#include "hm/util.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char log_prog[32] = "huimin";
static atomic_int log_level = HM_LOG_WARN;
static int log_journal;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };
/* syslog priorities: err, warning, info, debug, debug */
static const int level_prio[] = { 3, 4, 6, 7, 7 };

int hm_log_level_parse(const char *s)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(level_names); i++)
        if (s && strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

void hm_log_init(const char *progname, enum hm_log_level level)
{
    const char *env = getenv("HUIMIN_LOG");
    int l = env ? hm_log_level_parse(env) : -1;

    if (progname) {
        const char *slash = strrchr(progname, '/');
        hm_strlcpy(log_prog, slash ? slash + 1 : progname, sizeof(log_prog));
    }
    atomic_store(&log_level, l >= 0 ? l : (int)level);
    log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void hm_log_set_level(enum hm_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum hm_log_level hm_log_get_level(void)
{
    return (enum hm_log_level)atomic_load(&log_level);
}

void hm_log(enum hm_log_level level, const char *fmt, ...)
{
    char line[1024];
    size_t n;
    int r;
    va_list ap;

    if ((int)level > atomic_load(&log_level))
        return;
    if (log_journal)
        r = snprintf(line, sizeof(line), "<%d>%s: ", level_prio[level], log_prog);
    else
        r = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog, (long)getpid(),
                     level_names[level]);
    n = r > 0 ? (size_t)r : 0;
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r;
    if (n >= sizeof(line) - 1) {
        /* Say that the line was cut rather than cutting it silently. */
        n = sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    line[n++] = '\n';
    /* One write(2) per line keeps lines from different threads apart. */
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report it. */
    }
}

void hm_mask_id(const char *id, char *out, size_t cap)
{
    size_t n = strlen(id);
    size_t keep_head = n > 8 ? 3 : 0;
    size_t keep_tail = n > 8 ? 4 : (n > 2 ? 2 : 0);

    if (cap == 0)
        return;
    for (size_t i = 0; i < n && i + 1 < cap; i++) {
        out[i] = (i < keep_head || i >= n - keep_tail) ? id[i] : '*';
        out[i + 1] = 0;
    }
    if (n == 0)
        out[0] = 0;
}
