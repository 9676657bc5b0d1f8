/*
 * The kiosk client unit tests' server keys: the signer whose certificate the
 * client pins, and another one whose answers it must refuse, made in a fresh
 * temporary folder (test_client.c, test_status_cache.c, test_staff_call.c,
 * test_appointments.c).
 */
#ifndef KC_TEST_KEYS_H
#define KC_TEST_KEYS_H

#include "hs/signer.h"

#include <jansson.h>

struct kct_keys {
    char dir[256];
    char signing_pem[300], signing_key[300]; /* the pinned server's */
    char other_pem[300], other_key[300];     /* a stranger's */
    struct hs_signer *signer, *other;
};

/* Logs as test_name, makes /tmp/test_name.XXXXXX and the two signers in it; fails the test
 * run on any error. */
void kct_keys_make(struct kct_keys *k, const char *test_name);
/* Frees the signers and removes the folder: 0, or -1 when it could not be removed. */
int kct_keys_remove(struct kct_keys *k);
/* A compact JWS of p (sorted keys) with typ, signed by s; takes p; malloc'd. */
char *kct_sign_payload(struct hs_signer *s, const char *typ, json_t *p);

#endif
