/*
 * Card recognition: which of the applications Huimin knows a card carries.
 * The ATR names some cards outright (our virtual cards, a few well-known PIV
 * tokens); in every case the applications are confirmed by SELECTing their
 * AIDs, because an ATR says little about what is on a card.
 */
#ifndef CL_IDENTIFY_H
#define CL_IDENTIFY_H

#include "cl/atr.h"
#include "cl/card.h"

enum cl_app {
    CL_APP_PIV = 1u << 0,   /* NIST SP 800-73 PIV: the welfare card */
    CL_APP_EMRTD = 1u << 1, /* ICAO 9303 eMRTD: the ID card or passport */
    CL_APP_TEST = 1u << 2,  /* Huimin's test applet (virtual cards only) */
};

struct cl_app_info {
    enum cl_app app;
    const char *name; /* "piv" */
    const char *description;
    const uint8_t *aid;
    size_t aid_len;
    uint8_t select_p2; /* how the application expects to be selected */
};

/* The known applications, in the order identification tries them. */
const struct cl_app_info *cl_known_apps(size_t *count);

struct cl_card_ident {
    struct cl_atr atr;
    cl_rc atr_rc;          /* CL_OK when the ATR parsed */
    const char *atr_name;  /* the card model the ATR names, or NULL */
    unsigned apps;         /* enum cl_app bits found by SELECT */
    char label[64];        /* PIV application label (tag 50), if the card gave one */
    uint16_t select_sw[8]; /* the SW each known application's SELECT got (index as cl_known_apps) */
};

/*
 * Identifies the connected card: parses its ATR and SELECTs each known AID
 * inside one transaction. Returns CL_OK (apps may be 0: a card we do not
 * know) or the transport error that stopped it (CL_E_CARD_REMOVED...).
 * Leaves no application selected that the caller should rely on.
 */
cl_rc cl_card_identify(cl_card *card, struct cl_card_ident *out);

/* "welfare card (PIV)", "ID card (eMRTD)", "unknown card": for people. */
const char *cl_ident_summary(const struct cl_card_ident *id);

#endif
