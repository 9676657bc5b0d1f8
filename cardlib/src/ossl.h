/*
 * cardlib-internal helpers around OpenSSL shared by the verification code of
 * the welfare card (piv_verify.c) and the ID card (emrtd/auth.c).
 */
#ifndef CL_OSSL_H
#define CL_OSSL_H

#include <stddef.h>

/* The first error on OpenSSL's queue as text ("unknown OpenSSL error" if none); empties the queue.
 */
void cl_ossl_reason(char *buf, size_t cap);

#endif
