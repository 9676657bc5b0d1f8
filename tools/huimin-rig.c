/* huimin-rig: runs a command (or a shell session) against a private pcscd with virtual cards, for
 * people and shell tests. */
#include "rig.h"

#include "hm/util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "Usage: huimin-rig [--card FILE]... [--debug] [--keep] [-- COMMAND [ARG]...]\n\n"
               "Starts a private pcscd with the vpcd reader (slots 0 and 1) and a virtual\n"
               "card for each --card (first in slot 0, then slot 1). With a COMMAND it runs\n"
               "the command with PCSCLITE_CSOCK_NAME pointing at that pcscd (and\n"
               "HUIMIN_RIG_DIR at the rig folder), stops\n"
               "everything and exits with the command's status. Without one it prints how\n"
               "to reach the rig and waits for Ctrl-C.\n\n"
               "  -c, --card FILE     a virtual card file (JSON); may be given twice\n"
               "  -a, --card-arg ARG  an extra huimin-vcard argument for the last --card\n"
               "  -d, --debug         pcscd debug log (with APDUs) into the rig folder\n"
               "  -k, --keep          keep the rig folder (logs, sockets) afterwards\n"
               "  -h, --help          this help\n\n"
               "Each card listens on a control socket in the rig folder (card0.sock...);\n"
               "huimin-vcard --help lists its commands (remove, insert, pull-after N...).\n\n"
               "The rig itself listens on $HUIMIN_RIG_DIR/rig.sock, one command a line per\n"
               "connection, answered 'ok ...' or 'error: why' once done:\n"
               "  restart-pcscd   stop pcscd and start it again (inserted cards come back)\n"
               "  stop-pcscd      stop pcscd (the PC/SC service is gone)\n"
               "  start-pcscd     start it again\n"
               "  unplug          restart pcscd without the vpcd reader (no reader at all)\n"
               "  plug            restart pcscd with the reader again\n"
               "  status          'ok pcscd=running|stopped reader=plugged|unplugged'\n"
               "e.g. echo restart-pcscd | socat - UNIX-CONNECT:$HUIMIN_RIG_DIR/rig.sock\n");
}

/*
 * The rig's control socket. One thread serves it and is the only one to call
 * the rig's functions while it runs (the main thread only waits for the
 * command or for Ctrl-C); pcscd, started from this thread, dies with it, so
 * the thread lives until the rig is stopped.
 */
struct control {
    struct rig *rig;
    int listen_fd;
    int wake[2]; /* a byte on wake[1] ends the thread */
    pthread_t thread;
    bool running;
};

static void control_command(struct rig *rig, char *line, char *out, size_t cap)
{
    char *save = NULL;
    char *cmd = strtok_r(line, " \t\r\n", &save);
    int rc;

    if (!cmd) {
        snprintf(out, cap,
                 "error: empty command (restart-pcscd, stop-pcscd, start-pcscd, "
                 "unplug, plug, status)\n");
        return;
    }
    if (strcmp(cmd, "status") == 0) {
        snprintf(out, cap, "ok pcscd=%s reader=%s\n",
                 rig_pcscd_running(rig) ? "running" : "stopped",
                 rig_reader_plugged(rig) ? "plugged" : "unplugged");
        return;
    }
    if (strcmp(cmd, "restart-pcscd") == 0)
        rc = rig_restart_pcscd(rig);
    else if (strcmp(cmd, "stop-pcscd") == 0)
        rc = rig_stop_pcscd(rig);
    else if (strcmp(cmd, "start-pcscd") == 0)
        rc = rig_start_pcscd(rig);
    else if (strcmp(cmd, "unplug") == 0)
        rc = rig_unplug_reader(rig);
    else if (strcmp(cmd, "plug") == 0)
        rc = rig_plug_reader(rig);
    else {
        snprintf(out, cap,
                 "error: unknown command '%.40s' (restart-pcscd, stop-pcscd, start-pcscd, "
                 "unplug, plug, status)\n",
                 cmd);
        return;
    }
    if (rc == 0)
        snprintf(out, cap, "ok\n");
    else
        snprintf(out, cap, "error: %s failed; pcscd's log is %s/pcscd.log (--keep keeps it)\n", cmd,
                 rig_dir(rig));
    fprintf(stderr, "huimin-rig: %s: %s", cmd, out);
}

static void serve_one(struct control *c)
{
    char line[256], reply[512];
    size_t len = 0;
    int fd = accept(c->listen_fd, NULL, NULL);

    if (fd < 0)
        return;
    /* Not inherited by the pcscd the command may start: the client waits for EOF. */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* One command per connection, ended by a newline or by the peer closing. */
    while (len + 1 < sizeof(line)) {
        ssize_t r = recv(fd, line + len, sizeof(line) - 1 - len, 0);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (memchr(line, '\n', len))
            break;
    }
    line[len] = 0;
    control_command(c->rig, line, reply, sizeof(reply));
    if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
        fprintf(stderr, "huimin-rig: the control client left before the answer\n");
    close(fd);
}

static void *control_thread(void *arg)
{
    struct control *c = arg;

    for (;;) {
        struct pollfd p[2] = { { .fd = c->listen_fd, .events = POLLIN },
                               { .fd = c->wake[0], .events = POLLIN } };

        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            serve_one(c);
    }
    return NULL;
}

static int control_start(struct control *c, struct rig *rig)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    sigset_t all, old;

    c->rig = rig;
    c->listen_fd = -1;
    c->wake[0] = c->wake[1] = -1;
    if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/rig.sock", rig_dir(rig)) >=
        sizeof(sa.sun_path)) {
        fprintf(stderr,
                "huimin-rig: the rig folder's path is too long for a socket (set TMPDIR)\n");
        return -1;
    }
    c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(c->listen_fd, 8) != 0 || pipe(c->wake) != 0 ||
        fcntl(c->wake[0], F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(c->wake[1], F_SETFD, FD_CLOEXEC) != 0) {
        fprintf(stderr, "huimin-rig: cannot listen on %s: %s\n", sa.sun_path, strerror(errno));
        return -1;
    }
    /* Signals stay with the main thread (its pause() is what Ctrl-C wakes). */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    c->running = pthread_create(&c->thread, NULL, control_thread, c) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!c->running) {
        fprintf(stderr, "huimin-rig: cannot start the control thread\n");
        return -1;
    }
    return 0;
}

/* Ends the control thread (after the command it serves, if any). */
static void control_stop(struct control *c)
{
    if (c->running) {
        if (write(c->wake[1], "q", 1) != 1)
            fprintf(stderr, "huimin-rig: cannot wake the control thread: %s\n", strerror(errno));
        pthread_join(c->thread, NULL);
        c->running = false;
    }
    for (int i = 0; i < 2; i++)
        if (c->wake[i] >= 0)
            close(c->wake[i]);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    c->listen_fd = c->wake[0] = c->wake[1] = -1;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "card", required_argument, NULL, 'c' }, { "card-arg", required_argument, NULL, 'a' },
        { "debug", no_argument, NULL, 'd' },      { "keep", no_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
    };
    const char *cards[RIG_SLOTS] = { NULL };
    const char *extra[RIG_SLOTS][9] = { { NULL } };
    size_t nextra[RIG_SLOTS] = { 0 };
    struct rig_opts ro = { 0 };
    struct rig *rig = NULL;
    struct control ctl = { .listen_fd = -1, .wake = { -1, -1 } };
    static char self[4096], vcard[4200];
    int ncards = 0, c, status = 0, ret = 1;

    while ((c = getopt_long(argc, argv, "+c:a:dkh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (ncards == RIG_SLOTS) {
                fprintf(stderr, "huimin-rig: at most %d cards (the reader has %d slots)\n",
                        RIG_SLOTS, RIG_SLOTS);
                return 1;
            }
            cards[ncards++] = optarg;
            break;
        case 'a':
            if (ncards == 0 || nextra[ncards - 1] + 1 >= HM_ARRAY_SIZE(extra[0])) {
                fprintf(stderr, "huimin-rig: --card-arg comes after its --card (at most 8)\n");
                return 1;
            }
            extra[ncards - 1][nextra[ncards - 1]++] = optarg;
            break;
        case 'd':
            ro.pcscd_debug = true;
            break;
        case 'k':
            ro.keep_dir = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    for (int i = 0; i < ncards; i++)
        if (access(cards[i], R_OK) != 0) {
            fprintf(stderr, "huimin-rig: cannot read the card file '%s'\n", cards[i]);
            return 1;
        }
    /* Without HUIMIN_VCARD or HUIMIN_BINARY_DIR: the huimin-vcard of this build. */
    if (!getenv("HUIMIN_VCARD") && !getenv("HUIMIN_BINARY_DIR")) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;

        if (n > 0) {
            self[n] = 0;
            slash = strrchr(self, '/');
            if (slash) {
                *slash = 0;
                snprintf(vcard, sizeof(vcard), "%s/../fixtures/huimin-vcard", self);
                if (access(vcard, X_OK) == 0)
                    ro.vcard_bin = vcard;
            }
        }
    }
    if (rig_start(&rig, &ro) != 0) {
        fprintf(stderr, "huimin-rig: could not start pcscd (is pcscd installed, and may this user "
                        "run 'unshare -m'? Run as root or see docs/TESTING.md)\n");
        return 1;
    }
    for (int i = 0; i < ncards; i++)
        if (rig_card_start(rig, i, cards[i], extra[i]) != 0) {
            fprintf(stderr, "huimin-rig: the card '%s' did not come up (see above)\n", cards[i]);
            goto out;
        }

    /* For the command: where the card control sockets (card0.sock...) and rig.sock are. */
    setenv("HUIMIN_RIG_DIR", rig_dir(rig), 1);
    if (control_start(&ctl, rig) != 0)
        goto out;
    if (optind < argc) {
        pid_t pid = fork();

        if (pid < 0) {
            perror("huimin-rig: fork");
            goto out;
        }
        if (pid == 0) {
            execvp(argv[optind], argv + optind);
            fprintf(stderr, "huimin-rig: cannot run '%s'\n", argv[optind]);
            _exit(127);
        }
        /* Ctrl-C reaches the child (same process group); wait for it to end. */
        signal(SIGINT, SIG_IGN);
        while (waitpid(pid, &status, 0) < 0)
            ;
        ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        printf("Private pcscd running. In another shell:\n"
               "  export PCSCLITE_CSOCK_NAME=%s\n"
               "Readers: '%s', '%s'\n",
               rig_socket(rig), rig_reader(rig, 0), rig_reader(rig, 1));
        for (int i = 0; i < ncards; i++)
            printf("Card %d control socket: %s/card%d.sock\n", i, rig_dir(rig), i);
        printf("The rig's control socket (restart-pcscd, unplug, plug...): %s/rig.sock\n"
               "Ctrl-C stops it.\n",
               rig_dir(rig));
        fflush(stdout);
        while (!stop)
            pause();
        ret = 0;
    }
out:
    /* The thread first: pcscd may be its child, and nothing may touch the rig meanwhile. */
    control_stop(&ctl);
    rig_stop(rig);
    return ret;
}
