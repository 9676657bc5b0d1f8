/* huimin-card: the command-line tool a hall officer or a script uses to see readers and talk to
 * cards. */
#include "hc.h"

#include "hm/log.h"
#include "hm/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct hc_cmd *const groups[] = { hc_reader_cmds, hc_piv_cmds, hc_id_cmds };

static void usage(FILE *f)
{
    fprintf(f, "Usage: huimin-card COMMAND [OPTIONS] [ARGUMENTS]\n\n"
               "Readers and cards through PC/SC (pcscd).\n\nCommands:\n");
    for (size_t g = 0; g < HM_ARRAY_SIZE(groups); g++)
        for (const struct hc_cmd *c = groups[g]; c->name; c++) {
            char left[64];

            snprintf(left, sizeof(left), "%s %s", c->name, c->synopsis);
            fprintf(f, "  %-30s %s\n", left, c->summary);
        }
    fprintf(f, "\nOptions for every command:\n"
               "  -r, --reader NAME|N   use this reader (a name or a number from 'list');\n"
               "                        default: the first reader with a card\n"
               "  -w, --wait SECONDS    wait up to SECONDS for a card to be placed\n"
               "  -j, --json            print JSON (one object per line) for scripts\n"
               "  -v, --verbose         show every APDU and native PC/SC codes\n"
               "  -h, --help            this help\n"
               "\nExit status:\n"
               "  0  success\n"
               "  1  usage error (unknown command or option, bad argument)\n"
               "  2  no smart-card service, no reader, no card, or the card was taken away\n"
               "  3  the card answered with an error or could not be used\n"
               "  4  the card was read and failed an authenticity check\n"
               "\nHUIMIN_LOG=debug shows cardlib's log on stderr.\n");
}

static const struct hc_cmd *find(const char *name)
{
    for (size_t g = 0; g < HM_ARRAY_SIZE(groups); g++)
        for (const struct hc_cmd *c = groups[g]; c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    if (strcmp(name, "readers") == 0)
        return find("list");
    return NULL;
}

/* Options that take a value, so the command can be found after them. */
static bool takes_value(const char *opt)
{
    return strcmp(opt, "-r") == 0 || strcmp(opt, "--reader") == 0 || strcmp(opt, "-w") == 0 ||
           strcmp(opt, "--wait") == 0;
}

int main(int argc, char **argv)
{
    struct hc hc = { 0 };
    const struct hc_cmd *cmd;
    char **args;
    int ci = 1, nargs, ret;

    hm_log_init("huimin-card", HM_LOG_WARN);
    /* Common options may come before the command: find the command. */
    while (ci < argc && argv[ci][0] == '-' && argv[ci][1] != '\0') {
        if (strcmp(argv[ci], "-h") == 0 || strcmp(argv[ci], "--help") == 0) {
            usage(stdout);
            return HC_EXIT_OK;
        }
        if (strcmp(argv[ci], "--version") == 0) {
            printf("huimin-card %s\n", HUIMIN_VERSION);
            return HC_EXIT_OK;
        }
        if (strcmp(argv[ci], "-j") == 0 || strcmp(argv[ci], "--json") == 0)
            hc.json = true;
        ci += takes_value(argv[ci]) ? 2 : 1;
    }
    if (ci >= argc) {
        usage(stderr);
        return HC_EXIT_USAGE;
    }
    cmd = find(argv[ci]);
    if (!cmd)
        return hc_usage_error(&hc, "unknown command '%s'", argv[ci]);
    hc.command = cmd->name;

    /* argv for the command: its name, the options given before it, the rest. */
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args)
        return HC_EXIT_CARD;
    args[0] = argv[ci];
    nargs = 1;
    for (int i = 1; i < argc; i++)
        if (i != ci)
            args[nargs++] = argv[i];
    ret = cmd->run(&hc, nargs, args);
    if (ret < 0) {
        usage(stdout);
        ret = HC_EXIT_OK;
    }
    free(args);
    cl_ctx_free(hc.ctx);
    return ret;
}
