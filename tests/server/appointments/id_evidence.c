/* id_evidence: reads an ID card through pcscd as a kiosk would for an appointment (BAC with the
 * MRZ numbers, the LDS files, Active Authentication over the server's nonce) and prints the
 * POST /v1/id-sessions body, so the tests send real evidence bytes. */
/*
 *   id_evidence --reader N --doc NUMBER --birth YYMMDD --expiry YYMMDD --nonce NONCE
 *
 * The challenge is the first 8 bytes of SHA-256 of the nonce's 43 characters
 * (docs/API.md). Exit status: 0 printed, 1 usage, 2 no reader or card,
 * 3 the card refused.
 */
#include "cl/card.h"
#include "cl/emrtd.h"
#include "cl/emrtd_auth.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void b64url(FILE *f, const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(a[(v >> 18) & 63], f);
        fputc(a[(v >> 12) & 63], f);
        if (i + 1 < n)
            fputc(a[(v >> 6) & 63], f);
        if (i + 2 < n)
            fputc(a[v & 63], f);
    }
}

static void member(FILE *f, const char *name, const struct hm_buf *b, bool *first)
{
    if (!b->len)
        return;
    fprintf(f, "%s\"%s\":\"", *first ? "" : ",", name);
    b64url(f, b->data, b->len);
    fputc('"', f);
    *first = false;
}

int main(int argc, char **argv)
{
    const char *doc = NULL, *birth = NULL, *expiry = NULL, *nonce = NULL;
    long reader = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--reader") == 0)
            reader = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--doc") == 0)
            doc = argv[i + 1];
        else if (strcmp(argv[i], "--birth") == 0)
            birth = argv[i + 1];
        else if (strcmp(argv[i], "--expiry") == 0)
            expiry = argv[i + 1];
        else if (strcmp(argv[i], "--nonce") == 0)
            nonce = argv[i + 1];
    }
    if (!doc || !birth || !expiry || !nonce || reader < 0 || reader > 7) {
        fprintf(stderr, "usage: id_evidence --reader N --doc NUMBER --birth YYMMDD --expiry "
                        "YYMMDD --nonce NONCE\n");
        return 1;
    }
    uint8_t md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(nonce, strlen(nonce), md, &mdlen, EVP_sha256(), NULL) != 1)
        return 1;

    cl_ctx *ctx = NULL;
    cl_card *card = NULL;
    struct cl_reader_info r[8];
    size_t n = 0;
    struct cl_emrtd_keys k;
    struct cl_emrtd_evidence ev;
    int status = 2;
    cl_emrtd_evidence_init(&ev);
    if (cl_ctx_new_pcsc(&ctx) != CL_OK || cl_ctx_list_readers(ctx, r, 8, &n) != CL_OK ||
        (size_t)reader >= n ||
        cl_card_connect(ctx, r[reader].name, CL_SHARE_SHARED, &card) != CL_OK) {
        fprintf(stderr, "id_evidence: no card in reader %ld\n", reader);
        goto out;
    }
    status = 3;
    cl_rc rc = cl_emrtd_bac_keys(doc, birth, expiry, &k);
    if (rc == CL_OK)
        rc = cl_emrtd_select_app(card);
    if (rc == CL_OK)
        rc = cl_emrtd_bac(card, &k, NULL, NULL);
    if (rc == CL_OK)
        rc = cl_emrtd_collect(card, md, CL_EMRTD_CHALLENGE_LEN, &ev);
    if (rc != CL_OK) {
        fprintf(stderr, "id_evidence: %s\n", cl_strerror(rc));
        goto out;
    }
    bool first = true;
    printf("{\"nonce\":\"%s\",\"evidence\":{", nonce);
    member(stdout, "com", &ev.com, &first);
    member(stdout, "sod", &ev.sod, &first);
    member(stdout, "dg1", &ev.dg[1], &first);
    member(stdout, "dg11", &ev.dg[11], &first);
    member(stdout, "dg14", &ev.dg[14], &first);
    member(stdout, "dg15", &ev.dg[15], &first);
    printf(",\"aa_signature\":\"");
    b64url(stdout, ev.aa_sig, ev.aa_sig_len);
    printf("\"}}\n");
    status = 0;
out:
    cl_emrtd_evidence_free(&ev);
    if (card)
        cl_card_disconnect(card, false);
    cl_ctx_free(ctx);
    return status;
}
