/*
 * Small helpers every component needs: wiping secrets, constant-time
 * comparison, safe string copies and strict number parsing.
 */
#ifndef HM_UTIL_H
#define HM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Overwrites n bytes with zeros in a way the compiler may not optimise away. */
void hm_wipe(void *p, size_t n);

/* Compares n bytes in time that does not depend on where they differ. */
bool hm_ct_equal(const void *a, const void *b, size_t n);

/*
 * Copies src into dst (capacity cap, NUL-terminated when cap > 0).
 * Returns strlen(src); truncation happened when the result is >= cap.
 */
size_t hm_strlcpy(char *dst, const char *src, size_t cap);

/*
 * Parses a whole decimal string into an integer within [min, max].
 * Leading/trailing garbage, empty strings and overflow are errors (false).
 */
bool hm_parse_long(const char *s, long min, long max, long *out);
bool hm_parse_ulong(const char *s, unsigned long max, unsigned long *out);

/* Milliseconds from a monotonic clock, for timeouts and latency. */
uint64_t hm_now_ms(void);
/* Sleeps for ms milliseconds (restarting after signals). */
void hm_sleep_ms(unsigned ms);

#endif
