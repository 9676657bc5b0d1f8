/*
 * Internal cryptography of the eMRTD code. crypto.c is the one file of it
 * that includes OpenSSL; the rest sees these functions and cl/emrtd.h.
 */
#ifndef CL_EMRTD_CRYPTO_H
#define CL_EMRTD_CRYPTO_H

#include "cl/emrtd.h"

#include <stddef.h>
#include <stdint.h>

#define CL_SHA1_LEN 20

/* One piece of a message that is MACed without being copied together first. */
struct cl_emrtd_iov {
    const uint8_t *p;
    size_t n;
};

/* cl_emrtd_mac() over the concatenation of v[0..nv). */
cl_rc cl_emrtd_mac_iov(const uint8_t key[CL_EMRTD_KEY_LEN], const struct cl_emrtd_iov *v, size_t nv,
                       uint8_t mac[CL_EMRTD_MAC_LEN]);

/* SHA-1 of in[0..n). */
cl_rc cl_emrtd_sha1(const void *in, size_t n, uint8_t out[CL_SHA1_LEN]);

#endif
