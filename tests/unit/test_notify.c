/* hm_notify: what systemd's notify socket receives, and the watchdog interval it asked for. */
#include "hm/notify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

/* A datagram socket bound at path (a leading '@': abstract); the fd. */
static int listener(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    memcpy(sa.sun_path, path, n);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(
        bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
        0);
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void expect_message(int fd, const char *want)
{
    char got[128];
    ssize_t n = recv(fd, got, sizeof(got) - 1, 0);
    assert_true(n > 0);
    got[n] = '\0';
    assert_string_equal(got, want);
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/hm-notify.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    hm_notify("READY=1");
    expect_message(fd, "READY=1");
    hm_notify("WATCHDOG=1");
    expect_message(fd, "WATCHDOG=1");
    close(fd);
    unlink(path);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "@hm-notify-test-%ld", (long)getpid());
    int fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    hm_notify("STOPPING=1");
    expect_message(fd, "STOPPING=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

/* Outside systemd, or with a socket that is not there: nothing happens, nothing crashes. */
static void test_no_socket(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    hm_notify("READY=1");
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    hm_notify("READY=1");
    setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify", 1);
    hm_notify("READY=1");
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_interval(void **state)
{
    (void)state;
    char pid[24];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(hm_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    assert_int_equal(hm_notify_watchdog_usec(), 20000000);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(hm_notify_watchdog_usec(), 20000000);
    setenv("WATCHDOG_PID", "1", 1); /* another process's */
    assert_int_equal(hm_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "20s", 1);
    assert_int_equal(hm_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "0", 1);
    assert_int_equal(hm_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_no_socket),
        cmocka_unit_test(test_watchdog_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
