/* Fuzz target for the PIV object parsers: APT, CHUID, Printed Information, Discovery, certificate
 * objects (with gzip) and public keys. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cl/piv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t der[CL_PIV_CERT_MAX];
    struct cl_piv_apt apt;
    struct cl_piv_chuid chuid;
    struct cl_piv_printed printed;
    struct cl_piv_discovery disc;
    struct cl_piv_pubkey pk;
    size_t n = 0;

    if (cl_piv_parse_apt(data, size, &apt) == CL_OK &&
        (apt.aid_len > sizeof(apt.aid) || strlen(apt.label) >= sizeof(apt.label)))
        __builtin_trap();
    if (cl_piv_parse_chuid(data, size, &chuid) == CL_OK &&
        (chuid.signed_len > size ||
         (chuid.signature &&
          (chuid.signature < data || chuid.signature + chuid.signature_len > data + size))))
        __builtin_trap();
    if (cl_piv_parse_printed(data, size, &printed) == CL_OK && printed.name[0] == '\0')
        __builtin_trap();
    (void)cl_piv_parse_discovery(data, size, &disc);
    if (cl_piv_parse_cert_object(data, size, der, sizeof(der), &n) == CL_OK &&
        (n == 0 || n > sizeof(der) || der[0] != 0x30))
        __builtin_trap();
    (void)cl_piv_parse_pubkey(data, size, CL_PIV_ALG_ECC_P256, &pk);
    (void)cl_piv_parse_pubkey(data, size, CL_PIV_ALG_RSA2048, &pk);
    return 0;
}
