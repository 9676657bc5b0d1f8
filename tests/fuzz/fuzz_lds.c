/* Fuzz target for the LDS parsers (cl/lds.h): every parser gets the same bytes, and what one
 * accepts must keep the promises of the header (pointers inside the input, strings terminated
 * inside their slots, counts within their arrays). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cl/emrtd.h"
#include "cl/lds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT_OK(s) (memchr((s), '\0', sizeof(s)) != NULL)

static bool inside(const uint8_t *data, size_t size, const uint8_t *p, size_t n)
{
    return p && p >= data && n <= size && (size_t)(p - data) <= size - n;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[n] == '\0';
}

static bool mrz_text(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '<'))
            return false;
    return true;
}

static void check_mrz(const struct cl_mrz *m, size_t n)
{
    if (!SLOT_OK(m->raw) || !SLOT_OK(m->doc_code) || !SLOT_OK(m->issuer) ||
        !SLOT_OK(m->doc_number) || !SLOT_OK(m->birth) || !SLOT_OK(m->expiry) ||
        !SLOT_OK(m->nationality) || !SLOT_OK(m->optional1) || !SLOT_OK(m->optional2) ||
        !SLOT_OK(m->primary) || !SLOT_OK(m->secondary))
        __builtin_trap();
    if (strlen(m->raw) != n || !mrz_text(m->raw) || !mrz_text(m->doc_number) ||
        strlen(m->birth) != 6 || strlen(m->expiry) != 6 || m->doc_code[0] == '\0')
        __builtin_trap();
    if (m->sex != 'M' && m->sex != 'F' && m->sex != '<')
        __builtin_trap();
    if ((m->format == CL_MRZ_TD1 && n != 90) || (m->format == CL_MRZ_TD2 && n != 72) ||
        (m->format == CL_MRZ_TD3 && n != 88))
        __builtin_trap();
    /* A number that the BAC key derivation must take. */
    if (strlen(m->doc_number) > CL_EMRTD_DOC_MAX)
        __builtin_trap();
}

static void check_face(const uint8_t *data, size_t size, const struct cl_face *f)
{
    if (!inside(data, size, f->image, f->image_len) || f->image_len == 0 || f->n_faces == 0)
        __builtin_trap();
    if (f->format == CL_FACE_JPEG && (f->image_len < 3 || f->image[0] != 0xFF))
        __builtin_trap();
    if (f->format != CL_FACE_JPEG && f->format != CL_FACE_JPEG2000)
        __builtin_trap();
}

static void check_dg11(const struct cl_dg11 *d)
{
    if (!SLOT_OK(d->full_name) || !SLOT_OK(d->personal_number) || !SLOT_OK(d->full_birth) ||
        !SLOT_OK(d->place_of_birth) || !SLOT_OK(d->address))
        __builtin_trap();
    if (d->has_full_birth && !digits(d->full_birth, 8))
        __builtin_trap();
    if ((!d->has_name && d->full_name[0]) || (!d->has_address && d->address[0]))
        __builtin_trap();
}

static void check_lso(const struct cl_lso *l)
{
    uint32_t seen = 0;

    if ((l->version != 0 && l->version != 1) || l->n_entries == 0 || l->n_entries > CL_LDS_MAX_DG ||
        cl_lds_hash_len(l->hash) == 0)
        __builtin_trap();
    for (size_t i = 0; i < l->n_entries; i++) {
        const struct cl_lso_entry *e = &l->entries[i];

        if (e->dg < 1 || e->dg > CL_LDS_MAX_DG || (seen & (1u << e->dg)) ||
            e->hash_len != cl_lds_hash_len(l->hash))
            __builtin_trap();
        seen |= 1u << e->dg;
    }
    if (l->version == 1 && (!digits(l->lds_version, 4) || !digits(l->unicode_version, 6)))
        __builtin_trap();
    if (l->version == 0 && (l->lds_version[0] || l->unicode_version[0]))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cl_lds_com com;
    struct cl_mrz mrz;
    struct cl_face face;
    struct cl_dg11 dg11;
    struct cl_dg14 dg14;
    struct cl_lso lso;
    const uint8_t *p;
    size_t len;
    char masked[128];

    if (cl_lds_parse_com(data, size, &com) == CL_OK) {
        uint32_t present = 0;

        if (com.n_tags > CL_LDS_MAX_DG || !digits(com.lds_version, 4) ||
            (com.unicode_version[0] && !digits(com.unicode_version, 6)))
            __builtin_trap();
        for (size_t i = 0; i < com.n_tags; i++) {
            int dg = cl_lds_dg_number(com.tags[i]);

            if (dg == 0 || cl_lds_dg_tag(dg) != com.tags[i] || (present & (1u << dg)))
                __builtin_trap();
            present |= 1u << dg;
        }
        if (present != com.present)
            __builtin_trap();
    }
    if (cl_lds_parse_dg1(data, size, &mrz) == CL_OK)
        check_mrz(&mrz, strlen(mrz.raw));
    if (cl_mrz_parse((const char *)data, size, &mrz) == CL_OK) {
        check_mrz(&mrz, size);
        if (memcmp(mrz.raw, data, size) != 0)
            __builtin_trap();
    }
    if (cl_lds_parse_dg2(data, size, &face) == CL_OK)
        check_face(data, size, &face);
    if (cl_lds_parse_dg11(data, size, &dg11) == CL_OK)
        check_dg11(&dg11);
    if (cl_lds_parse_dg14(data, size, &dg14) == CL_OK) {
        if (dg14.aa_hash > CL_HASH_SHA512 || (!dg14.has_aa_info && dg14.aa_hash != CL_HASH_NONE))
            __builtin_trap();
        if (size < 2 + 2 + 5 * dg14.n_infos) /* 6E, 31, then at least 30 03 06 01 xx each */
            __builtin_trap();
    }
    if (cl_lds_parse_dg15(data, size, &p, &len) == CL_OK &&
        (!inside(data, size, p, len) || p == data || p[0] != 0x30))
        __builtin_trap();
    if (cl_lds_parse_sod(data, size, &p, &len) == CL_OK &&
        (!inside(data, size, p, len) || p == data || p[0] != 0x30))
        __builtin_trap();
    if (cl_lds_parse_lso(data, size, &lso) == CL_OK)
        check_lso(&lso);

    /* The citizen ID number, and the mask of whatever came. */
    if (cl_cn_id_check((const char *)data, size) == CL_OK) {
        char c = (char)data[17];

        if (size != CL_CN_ID_LEN || cl_cn_id_check_char((const char *)data) != (c == 'x' ? 'X' : c))
            __builtin_trap();
    }
    if (size < sizeof(masked)) {
        if (cl_id_mask((const char *)data, size, masked, sizeof(masked)) != CL_OK ||
            strlen(masked) > size || masked[size] != '\0')
            __builtin_trap();
        if (size > 7 && memcmp(masked + 3, "*", 1) != 0)
            __builtin_trap();
    } else if (cl_id_mask((const char *)data, size, masked, sizeof(masked)) !=
               CL_E_BUFFER_TOO_SMALL) {
        __builtin_trap();
    }
    return 0;
}
