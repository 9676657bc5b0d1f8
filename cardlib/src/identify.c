/* Recognises a card by its ATR and by SELECTing the application AIDs Huimin knows. */
#include "cl/identify.h"

#include "cl/tlv.h"
#include "hm/util.h"

#include <string.h>

static const uint8_t aid_piv[] = {
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00
};
static const uint8_t aid_emrtd[] = { 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01 };
static const uint8_t aid_test[] = { 0xF0, 0x48, 0x55, 0x49, 0x4D, 0x49, 0x4E, 0x54 };

static const struct cl_app_info known_apps[] = {
    { CL_APP_PIV, "piv", "welfare card (PIV)", aid_piv, sizeof(aid_piv), 0x00 },
    { CL_APP_EMRTD, "emrtd", "ID document (ICAO 9303 eMRTD)", aid_emrtd, sizeof(aid_emrtd), 0x0C },
    { CL_APP_TEST, "test", "Huimin test card", aid_test, sizeof(aid_test), 0x00 },
};

/* ATRs that name a card model: the ATR masked with mask must equal value. */
struct atr_pattern {
    const char *name;
    size_t len;
    const uint8_t value[CL_ATR_MAX];
    const uint8_t mask[CL_ATR_MAX];
};

#define FF4 0xFF, 0xFF, 0xFF, 0xFF
static const struct atr_pattern atr_patterns[] = {
    /* Our virtual cards: contactless layout with historical bytes "HUIMIN" + 2. */
    { "Huimin virtual card",
      13,
      { 0x3B, 0x88, 0x80, 0x01, 0x48, 0x55, 0x49, 0x4D, 0x49, 0x4E },
      { FF4, FF4, 0xFF, 0xFF } },
    /* YubiKey 4/5 (PIV applet), contact interface. */
    { "YubiKey",
      18,
      { 0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x59, 0x75, 0x62, 0x69, 0x6B, 0x65,
        0x79 },
      { FF4, FF4, FF4, FF4 } },
};

const struct cl_app_info *cl_known_apps(size_t *count)
{
    if (count)
        *count = HM_ARRAY_SIZE(known_apps);
    return known_apps;
}

static const char *match_atr(const uint8_t *atr, size_t len)
{
    for (size_t i = 0; i < HM_ARRAY_SIZE(atr_patterns); i++) {
        const struct atr_pattern *p = &atr_patterns[i];
        size_t j;

        if (p->len != len)
            continue;
        for (j = 0; j < len; j++)
            if ((atr[j] & p->mask[j]) != (p->value[j] & p->mask[j]))
                break;
        if (j == len)
            return p->name;
    }
    return NULL;
}

/* The PIV Application Property Template (61 { 50 label }) gives a label to show. */
static void read_label(const uint8_t *resp, size_t n, char *label, size_t cap)
{
    struct cl_tlv apt, l;

    if (cl_tlv_find(resp, n, 0x61, &apt) != CL_OK)
        return;
    if (cl_tlv_find(apt.value, apt.len, 0x50, &l) != CL_OK || l.len >= cap)
        return;
    for (size_t i = 0; i < l.len; i++)
        if (l.value[i] < 0x20 || l.value[i] > 0x7E)
            return; /* printable ASCII only: the label goes to terminals and logs */
    memcpy(label, l.value, l.len);
    label[l.len] = '\0';
}

cl_rc cl_card_identify(cl_card *card, struct cl_card_ident *out)
{
    const uint8_t *atr;
    size_t atr_len;
    cl_rc rc;

    if (!card || !out)
        return CL_E_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    atr = cl_card_atr(card, &atr_len);
    out->atr_rc = cl_atr_parse(atr, atr_len, &out->atr);
    out->atr_name = match_atr(atr, atr_len);

    rc = cl_card_begin(card);
    if (rc != CL_OK)
        return rc;
    for (size_t i = 0; i < HM_ARRAY_SIZE(known_apps); i++) {
        const struct cl_app_info *a = &known_apps[i];
        struct cl_apdu sel = { .ins = 0xA4,
                               .p1 = 0x04,
                               .p2 = a->select_p2,
                               .data = a->aid,
                               .lc = a->aid_len,
                               .le = a->select_p2 == 0x0C ? 0 : 256 };
        uint8_t resp[512];
        size_t n = 0;
        uint16_t sw = 0;

        rc = cl_card_transmit(card, &sel, resp, sizeof(resp), &n, &sw);
        if (rc == CL_E_BUFFER_TOO_SMALL || rc == CL_E_RAPDU_TOO_LONG) {
            /* An answer too long for a FCI still says the application is there. */
            sw = cl_card_last_sw(card);
            n = 0;
        } else if (rc != CL_OK) {
            (void)cl_card_end(card);
            return rc;
        }
        out->select_sw[i] = sw;
        if (sw == 0x9000 || (sw & 0xFF00) == 0x6200 || (sw & 0xFF00) == 0x6300) {
            out->apps |= a->app;
            if (a->app == CL_APP_PIV && sw == 0x9000)
                read_label(resp, n, out->label, sizeof(out->label));
        }
    }
    (void)cl_card_end(card);
    return CL_OK;
}

const char *cl_ident_summary(const struct cl_card_ident *id)
{
    if (id->apps & CL_APP_PIV)
        return "welfare card (PIV)";
    if (id->apps & CL_APP_EMRTD)
        return "ID document (eMRTD)";
    if (id->apps & CL_APP_TEST)
        return "Huimin test card";
    return "unknown card";
}
