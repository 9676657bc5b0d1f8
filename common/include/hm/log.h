/*
 * Leveled logging to stderr, one whole line per call, safe from several
 * threads. When stderr is connected to journald (JOURNAL_STREAM is set) each
 * line carries a syslog priority prefix so levels survive.
 *
 * Nothing that calls these may pass a full ID number, PIN, PUK or key:
 * mask first (hm_mask_id) or log a fingerprint.
 */
#ifndef HM_LOG_H
#define HM_LOG_H

#include <stddef.h>

enum hm_log_level {
    HM_LOG_ERROR = 0,
    HM_LOG_WARN = 1,
    HM_LOG_INFO = 2,
    HM_LOG_DEBUG = 3,
    HM_LOG_TRACE = 4,
};

/* Sets the program name and the level; the level may be overridden by HUIMIN_LOG. */
void hm_log_init(const char *progname, enum hm_log_level level);
void hm_log_set_level(enum hm_log_level level);
enum hm_log_level hm_log_get_level(void);
/* Parses "error", "warn", "info", "debug" or "trace". Returns -1 if unknown. */
int hm_log_level_parse(const char *s);

void hm_log(enum hm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hm_log_error(...) hm_log(HM_LOG_ERROR, __VA_ARGS__)
#define hm_log_warn(...)  hm_log(HM_LOG_WARN, __VA_ARGS__)
#define hm_log_info(...)  hm_log(HM_LOG_INFO, __VA_ARGS__)
#define hm_log_debug(...) hm_log(HM_LOG_DEBUG, __VA_ARGS__)

/*
 * Masks an identity number for screens and logs: the first 3 and last 4
 * characters stay, the rest become '*' ("110***********123X"). Strings of 8
 * characters or fewer are masked whole except the last 2.
 */
void hm_mask_id(const char *id, char *out, size_t cap);

#endif
