/* Turns OpenSSL's error queue into the one-line reasons cardlib puts in its verdicts. */
#include "ossl.h"

#include "hm/util.h"

#include <openssl/err.h>

void cl_ossl_reason(char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();

    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        hm_strlcpy(buf, "unknown OpenSSL error", cap);
    ERR_clear_error();
}
