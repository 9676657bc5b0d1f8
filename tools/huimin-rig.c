/* huimin-rig: runs a command (or a shell session) against a private pcscd with virtual cards, for
 * people and shell tests. */
#include "rig.h"

#include "hm/util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
               "huimin-vcard --help lists its commands (remove, insert, pull-after N...).\n");
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

    /* For the command: where the card control sockets (card0.sock...) are. */
    setenv("HUIMIN_RIG_DIR", rig_dir(rig), 1);
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
        printf("Ctrl-C stops it.\n");
        fflush(stdout);
        while (!stop)
            pause();
        ret = 0;
    }
out:
    rig_stop(rig);
    return ret;
}
