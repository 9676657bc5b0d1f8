/*
 * huimin-card: shared state, option parsing and output helpers of the
 * command-line card tool. Each cmd_*.c file implements a group of commands
 * against this interface; main.c dispatches.
 *
 * Exit codes (a script can rely on them; documented in `huimin-card --help`):
 *   0  success
 *   1  usage: unknown command or option, bad argument
 *   2  environment: pcscd not running, no reader, no card, card taken away
 *   3  card: the card answered with an error, is not a card we know, or
 *      could not be talked to
 *   4  verification: the card was read, and a check of its authenticity failed
 */
#ifndef HC_H
#define HC_H

#include "cl/card.h"
#include "cl/error.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hc_exit {
    HC_EXIT_OK = 0,
    HC_EXIT_USAGE = 1,
    HC_EXIT_ENV = 2,
    HC_EXIT_CARD = 3,
    HC_EXIT_VERIFY = 4,
};

struct hc {
    const char *command;
    const char *reader; /* --reader: a name or an index from `list` */
    bool json;
    bool verbose;
    int wait_ms; /* --wait: how long to wait for a card (0: not at all) */
    cl_ctx *ctx;
};

struct hc_cmd {
    const char *name;
    const char *synopsis; /* arguments after the name */
    const char *summary;  /* one line for --help */
    int (*run)(struct hc *hc, int argc, char **argv);
};

/*
 * Parses the common options (--reader, --json, --verbose, --wait, --help) and
 * the command's own (extra, may be NULL; handled by on_opt, which returns 0 or
 * an exit code). Leaves the operands in argv[*first..argc). Returns 0, or an
 * exit code to return (HC_EXIT_USAGE; or HC_EXIT_OK after --help).
 */
int hc_parse(struct hc *hc, int argc, char **argv, const struct option *extra,
             const char *extra_short, int (*on_opt)(void *arg, int opt, const char *val), void *arg,
             int *first);

/* Connects to pcscd once (hc->ctx). Reports failures; returns 0 or an exit code. */
int hc_open(struct hc *hc);

/*
 * Connects to the card: in --reader, or else in the first reader with a card
 * (waiting up to --wait). Reports failures; returns 0 or an exit code.
 */
int hc_connect(struct hc *hc, enum cl_share share, cl_card **out);

/* The exit code for a result. */
int hc_exit_for(cl_rc rc);

/*
 * Reports a failure: on stderr "huimin-card <command>: <what>: <cl_strerror>"
 * and a line on what to do next; with --json also {"error": {...}} on stdout.
 * Returns hc_exit_for(rc).
 */
int hc_fail(struct hc *hc, cl_rc rc, const char *what);

/* Reports a usage error (stderr, and JSON error with --json); returns HC_EXIT_USAGE. */
int hc_usage_error(struct hc *hc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a JSON value on one line to stdout and releases it. */
void hc_json_out(json_t *v);

/* "3B 88 80 01": hex with spaces into a new JSON string / into buf (truncated with "..."). */
json_t *hc_json_hex(const uint8_t *p, size_t n);
const char *hc_hex(const uint8_t *p, size_t n, char *buf, size_t cap);

/* The commands of each group. */
extern const struct hc_cmd hc_reader_cmds[];
extern const struct hc_cmd hc_piv_cmds[];
extern const struct hc_cmd hc_id_cmds[];

#endif
