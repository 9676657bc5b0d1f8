/*
 * systemd's service notifications (sd_notify(3)) without libsystemd: a
 * datagram to $NOTIFY_SOCKET, and the watchdog interval systemd asked for.
 * Both do nothing outside systemd.
 */
#ifndef HM_NOTIFY_H
#define HM_NOTIFY_H

#include <stdint.h>

/* Sends msg ("READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=...") when run by systemd. */
void hm_notify(const char *msg);

/*
 * The watchdog interval in microseconds ($WATCHDOG_USEC, for this process
 * when $WATCHDOG_PID is unset or ours), or 0 when no watchdog is wanted.
 * Ping with hm_notify("WATCHDOG=1") at least twice an interval.
 */
uint64_t hm_notify_watchdog_usec(void);

#endif
