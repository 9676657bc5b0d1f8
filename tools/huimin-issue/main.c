/* huimin-issue: the bureau card office's tool to create the issuer CA, issue welfare cards and
 * revoke them, and to make the test set of ICAO 9303 ID cards. */
#include "issue.h"
#include "lds_issue.h"
#include "pki.h"

#include "cl/card.h"
#include "cl/piv.h"
#include "hm/hex.h"
#include "hm/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "Usage:\n"
               "  huimin-issue ca --dir DIR [--name CN] [--days N]\n"
               "      create the issuer CA: DIR/issuer-ca.pem, DIR/issuer-ca.key (0600), "
               "DIR/issuer.crl\n"
               "  huimin-issue card --dir DIR --name NAME --welfare-no NO [--org ORG]\n"
               "                    [--reader NAME] [--pin PIN] [--puk PUK] [--days N]\n"
               "      personalise the blank PIV card in the reader (management key, PIN and PUK\n"
               "      at their factory values) as the holder's welfare card; prints the result\n"
               "      as JSON, with the PUK (to be handed to the server's sealed store)\n"
               "  huimin-issue revoke --dir DIR --serial N\n"
               "      add a certificate serial to DIR/issuer.crl\n"
               "  huimin-issue id-fixtures --dir DIR\n"
               "      make a test CSCA and Document Signers and the ID card test set in DIR:\n"
               "      DIR/trust/ (CSCA certificate and CRL, for read-id --csca) and virtual\n"
               "      cards zhang-td1, wang-td1, li-td1, passport-td3 (genuine), tampered-dg1,\n"
               "      unknown-csca, clone-aa, expired-ds (.json, for huimin-rig --card)\n"
               "Exit status: 0 done, 1 usage, 2 no card or reader, 3 the card refused.\n");
}

struct args {
    const char *dir, *name, *welfare_no, *org, *reader, *pin, *puk;
    long days;
    unsigned long serial;
};

static void dir_file(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

/* Rewrites DIR/issuer.crl from DIR/revoked.txt (one decimal serial a line). */
static int write_crl(const struct pki_ca *ca, const char *dir)
{
    char path[4200], line[64];
    uint64_t serials[4096];
    size_t n = 0;
    X509_CRL *crl;
    FILE *f;
    int ok;

    dir_file(path, sizeof(path), dir, "revoked.txt");
    f = fopen(path, "r");
    while (f && n < HM_ARRAY_SIZE(serials) && fgets(line, sizeof(line), f)) {
        unsigned long s;

        line[strcspn(line, "\r\n")] = 0;
        if (hm_parse_ulong(line, ULONG_MAX, &s))
            serials[n++] = s;
    }
    if (f)
        fclose(f);
    crl = pki_crl(ca, serials, n, 30);
    dir_file(path, sizeof(path), dir, "issuer.crl");
    ok = crl && pki_write_crl(crl, path) == 0;
    X509_CRL_free(crl);
    return ok ? 0 : -1;
}

static int load_ca(struct pki_ca *ca, const char *dir)
{
    char cert[4200], key[4200];

    dir_file(cert, sizeof(cert), dir, "issuer-ca.pem");
    dir_file(key, sizeof(key), dir, "issuer-ca.key");
    if (pki_ca_load(ca, cert, key) != 0) {
        fprintf(stderr, "huimin-issue: cannot load the issuer CA from %s (run 'huimin-issue ca')\n",
                dir);
        return -1;
    }
    return 0;
}

static int cmd_ca(const struct args *a)
{
    struct pki_ca ca;
    char cert[4200], key[4200];

    if (mkdir(a->dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "huimin-issue: cannot create %s\n", a->dir);
        return 1;
    }
    dir_file(cert, sizeof(cert), a->dir, "issuer-ca.pem");
    dir_file(key, sizeof(key), a->dir, "issuer-ca.key");
    if (access(key, F_OK) == 0) {
        fprintf(stderr, "huimin-issue: %s already exists; refusing to replace a CA\n", key);
        return 1;
    }
    if (pki_ca_create(&ca, a->name ? a->name : "Huimin Issuer CA", (int)a->days) != 0 ||
        pki_ca_save(&ca, cert, key) != 0 || write_crl(&ca, a->dir) != 0) {
        fprintf(stderr, "huimin-issue: could not create the CA in %s\n", a->dir);
        pki_ca_free(&ca);
        return 3;
    }
    printf("Issuer CA created: %s (key %s, CRL %s/issuer.crl)\n", cert, key, a->dir);
    pki_ca_free(&ca);
    return 0;
}

static int cmd_card(const struct args *a)
{
    static const uint8_t factory_mgmt[24] = { 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                              5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
    struct cl_reader_info r[CL_READERS_MAX];
    struct issue_opts o = { 0 };
    struct issue_result res;
    struct pki_ca ca;
    char puk[9], guid[33];
    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    const char *reader = a->reader;
    size_t n = 0;
    cl_rc rc;
    int ret = 3;

    if (!a->name || !a->welfare_no) {
        fprintf(stderr, "huimin-issue card: --name and --welfare-no are required\n");
        return 1;
    }
    if (load_ca(&ca, a->dir) != 0)
        return 1;
    if (a->puk) {
        hm_strlcpy(puk, a->puk, sizeof(puk));
    } else {
        uint8_t rnd[8];

        RAND_bytes(rnd, sizeof(rnd));
        for (int i = 0; i < 8; i++)
            puk[i] = (char)('0' + rnd[i] % 10);
        puk[8] = 0;
        hm_wipe(rnd, sizeof(rnd));
    }
    rc = cl_ctx_new_pcsc(&ctx);
    if (rc == CL_OK)
        rc = cl_ctx_list_readers(ctx, r, HM_ARRAY_SIZE(r), &n);
    for (size_t i = 0; rc == CL_OK && !reader && i < n; i++)
        if (r[i].state & CL_READER_PRESENT)
            reader = r[i].name;
    if (rc == CL_OK && !reader)
        rc = CL_E_NO_CARD;
    if (rc == CL_OK)
        rc = cl_card_connect(ctx, reader, CL_SHARE_EXCLUSIVE, &card);
    if (rc != CL_OK) {
        fprintf(stderr, "huimin-issue card: %s. Place the blank card on the reader.\n",
                cl_strerror(rc));
        ret = 2;
        goto out;
    }
    o.holder.name = a->name;
    o.holder.welfare_no = a->welfare_no;
    o.holder.org = a->org ? a->org : "Huimin";
    o.mgmt_key = factory_mgmt;
    o.mgmt_key_len = sizeof(factory_mgmt);
    o.old_pin = "123456";
    o.old_puk = "12345678";
    o.pin = a->pin;
    o.puk = puk;
    o.not_before_days = 0;
    o.days = (int)a->days;
    if (issue_card(card, &ca, &o, &res) != 0) {
        fprintf(stderr, "huimin-issue card: %s\n", res.message);
        goto out;
    }
    hm_hex_encode(res.guid, sizeof(res.guid), guid, sizeof(guid));
    {
        json_t *j =
            json_pack("{s:s,s:s,s:s,s:s,s:{s:I,s:I,s:I},s:s,s:b}", "holder", a->name, "welfare_no",
                      a->welfare_no, "reader", reader, "card_guid", guid, "serials", "9a",
                      (json_int_t)res.serials[0], "9c", (json_int_t)res.serials[1], "9e",
                      (json_int_t)res.serials[2], "puk", puk, "pin_changed", a->pin != NULL);

        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
    }
    ret = 0;
out:
    hm_wipe(puk, sizeof(puk));
    cl_card_disconnect(card, true);
    cl_ctx_free(ctx);
    pki_ca_free(&ca);
    return ret;
}

static int cmd_id_fixtures(const struct args *a)
{
    char err[256];

    if (id_fixture_set(a->dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "huimin-issue: %s\n", err);
        return 3;
    }
    printf("ID card test set written to %s (trust store: %s/trust)\n", a->dir, a->dir);
    return 0;
}

static int cmd_revoke(const struct args *a)
{
    struct pki_ca ca;
    char path[4200];
    FILE *f;
    int ret = 0;

    if (!a->serial) {
        fprintf(stderr, "huimin-issue revoke: --serial N is required\n");
        return 1;
    }
    if (load_ca(&ca, a->dir) != 0)
        return 1;
    dir_file(path, sizeof(path), a->dir, "revoked.txt");
    f = fopen(path, "a");
    if (!f || fprintf(f, "%lu\n", a->serial) < 0 || fclose(f) != 0 || write_crl(&ca, a->dir) != 0) {
        fprintf(stderr, "huimin-issue revoke: cannot update the CRL in %s\n", a->dir);
        ret = 3;
    } else {
        printf("Serial %lu revoked; %s/issuer.crl updated.\n", a->serial, a->dir);
    }
    pki_ca_free(&ca);
    return ret;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dir", required_argument, NULL, 'd' },
        { "name", required_argument, NULL, 'n' },
        { "welfare-no", required_argument, NULL, 'w' },
        { "org", required_argument, NULL, 'o' },
        { "reader", required_argument, NULL, 'r' },
        { "pin", required_argument, NULL, 'p' },
        { "puk", required_argument, NULL, 'u' },
        { "days", required_argument, NULL, 'D' },
        { "serial", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct args a = { .days = 3650 };
    const char *cmd;
    int c;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    cmd = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a.dir = optarg;
            break;
        case 'n':
            a.name = optarg;
            break;
        case 'w':
            a.welfare_no = optarg;
            break;
        case 'o':
            a.org = optarg;
            break;
        case 'r':
            a.reader = optarg;
            break;
        case 'p':
            a.pin = optarg;
            break;
        case 'u':
            a.puk = optarg;
            break;
        case 'D':
            if (!hm_parse_long(optarg, 1, 36500, &a.days)) {
                fprintf(stderr, "huimin-issue: --days takes 1 to 36500\n");
                return 1;
            }
            break;
        case 's':
            if (!hm_parse_ulong(optarg, ULONG_MAX, &a.serial)) {
                fprintf(stderr, "huimin-issue: --serial takes a decimal number\n");
                return 1;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind != argc || !a.dir) {
        fprintf(stderr, "huimin-issue: --dir DIR is required (and no extra arguments)\n");
        return 1;
    }
    if (strcmp(cmd, "ca") == 0)
        return cmd_ca(&a);
    if (strcmp(cmd, "card") == 0)
        return cmd_card(&a);
    if (strcmp(cmd, "revoke") == 0)
        return cmd_revoke(&a);
    if (strcmp(cmd, "id-fixtures") == 0)
        return cmd_id_fixtures(&a);
    fprintf(stderr, "huimin-issue: unknown command '%s'\n", cmd);
    usage(stderr);
    return 1;
}
