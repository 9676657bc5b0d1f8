/* Tells systemd that a service is ready, alive or stopping, as sd_notify(3) does, without
 * libsystemd. */
#include "hm/notify.h"

#include "hm/log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void hm_notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!msg || !path || (path[0] != '/' && path[0] != '@'))
        return;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* an abstract socket */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
        hm_log_debug("sd_notify: %s", strerror(errno));
    close(fd);
}

uint64_t hm_notify_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    if (!usec || !*usec)
        return 0;
    if (pid && *pid) {
        errno = 0;
        long p = strtol(pid, &end, 10);
        if (errno || *end || p != (long)getpid())
            return 0; /* meant for another process */
    }
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno || *end || v == 0)
        return 0;
    return (uint64_t)v;
}
