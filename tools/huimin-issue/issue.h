/*
 * Personalising a PIV card as a welfare card, through any reader: keys
 * generated on the card, certificates from the issuer CA, a signed CHUID,
 * Printed Information, and the holder's PIN and PUK.
 */
#ifndef HUIMIN_ISSUE_H
#define HUIMIN_ISSUE_H

#include "cl/card.h"
#include "pki.h"

#include <stdint.h>

struct issue_opts {
    struct pki_holder holder;
    const uint8_t *mgmt_key; /* the card's current management key (3DES, 24 bytes) */
    size_t mgmt_key_len;
    const char *old_pin, *old_puk; /* the card's current PIN and PUK */
    const char *pin, *puk;         /* the holder's (NULL: keep the current ones) */
    uint64_t serial;               /* certificate serial base (0: random) */
    int not_before_days, days;     /* certificate validity relative to now */
    /* For test fixtures: certificates for another key than the card's (a clone). */
    const uint8_t *const *cert_override; /* three DER certificates (9A, 9C, 9E), or NULL */
    const size_t *cert_override_len;
};

struct issue_result {
    uint64_t serials[3]; /* 9A, 9C, 9E */
    uint8_t guid[16];
    char message[256]; /* what failed */
};

/* 0, or -1 with result->message saying what failed. */
int issue_card(cl_card *card, const struct pki_ca *ca, const struct issue_opts *o,
               struct issue_result *result);

#endif
