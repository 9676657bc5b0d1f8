/*
 * Contexts, readers, reader events and card handles.
 *
 * A cl_ctx is a connection to a card service: PC/SC (pcscd) in production,
 * or the in-process backend (cl/mem.h) in unit tests. A cl_card is one
 * connection to the card in one reader. cl_card_transmit() is the single
 * path every APDU takes: it chooses short or extended length, chains long
 * commands, follows 61xx with GET RESPONSE, repeats a command after 6Cxx,
 * wraps and unwraps secure messaging when a driver has installed it, and
 * records the last status word. Drivers never talk to a backend directly.
 *
 * Threads: a cl_ctx and its cards are used by one thread at a time, except
 * cl_monitor_cancel(), which any thread may call.
 */
#ifndef CL_CARD_H
#define CL_CARD_H

#include "cl/apdu.h"
#include "cl/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_READER_NAME_MAX 128
#define CL_ATR_MAX         33
#define CL_READERS_MAX     16

typedef struct cl_ctx cl_ctx;
typedef struct cl_card cl_card;
typedef struct cl_monitor cl_monitor;

/* ---- Contexts ---------------------------------------------------------- */

/* Connects to pcscd. CL_E_NO_SERVICE when it is not running. */
cl_rc cl_ctx_new_pcsc(cl_ctx **out);
/* Frees the context; cards from it must be disconnected first. NULL is a no-op. */
void cl_ctx_free(cl_ctx *ctx);
/* Name of the backend ("pcsc", "mem"). */
const char *cl_ctx_backend(const cl_ctx *ctx);
/*
 * The backend's own code and text for the last failure (for logs): for PC/SC
 * the SCARD_* value and pcsc_stringify_error(). 0 and "" when none.
 */
long cl_ctx_last_native(const cl_ctx *ctx, const char **text);

/* ---- Readers ----------------------------------------------------------- */

enum cl_reader_state {
    CL_READER_PRESENT = 1u << 0,     /* a card is in the field / slot */
    CL_READER_EXCLUSIVE = 1u << 1,   /* another program holds it exclusively */
    CL_READER_INUSE = 1u << 2,       /* another program is connected */
    CL_READER_MUTE = 1u << 3,        /* a card is present but gave no ATR */
    CL_READER_UNAVAILABLE = 1u << 4, /* the reader itself is not usable */
};

struct cl_reader_info {
    char name[CL_READER_NAME_MAX];
    unsigned state;       /* enum cl_reader_state bits */
    unsigned event_count; /* bumped by the service on every insertion and removal */
    uint8_t atr[CL_ATR_MAX];
    size_t atr_len;
    uint32_t backend_state; /* opaque: the backend's own state word */
};

/*
 * Lists the readers with their current state. *count is set to the number
 * found (at most cap are written). No reader at all: CL_OK with *count 0.
 */
cl_rc cl_ctx_list_readers(cl_ctx *ctx, struct cl_reader_info *out, size_t cap, size_t *count);

/* ---- Events ------------------------------------------------------------ */

enum cl_event_kind {
    CL_EVENT_READER_ADDED = 1,
    CL_EVENT_READER_REMOVED,
    CL_EVENT_CARD_INSERTED,
    CL_EVENT_CARD_REMOVED,
    CL_EVENT_CARD_MUTE,    /* a card is present but does not answer */
    CL_EVENT_SERVICE_LOST, /* pcscd went away; the monitor keeps trying */
    CL_EVENT_SERVICE_BACK, /* pcscd is back; reader events follow */
};

struct cl_event {
    enum cl_event_kind kind;
    char reader[CL_READER_NAME_MAX];
    uint8_t atr[CL_ATR_MAX]; /* for CL_EVENT_CARD_INSERTED */
    size_t atr_len;
    unsigned event_count;
};

/* Name of an event kind ("card-inserted"), for logs and --json. */
const char *cl_event_name(enum cl_event_kind kind);

/*
 * A monitor watches readers and cards. It opens its own connection to the
 * service, so it can block in its own thread while others use ctx.
 * The first waits report every reader and every card already present. A card
 * swapped between two waits (removed and another inserted) is reported as
 * CL_EVENT_CARD_REMOVED followed by CL_EVENT_CARD_INSERTED, detected from the
 * reader's event counter even when both happened inside one wait.
 */
cl_rc cl_monitor_new(cl_ctx *ctx, cl_monitor **out);
/* Returns CL_OK with an event, CL_E_TIMEOUT, or CL_E_CANCELLED. timeout_ms < 0: forever. */
cl_rc cl_monitor_wait(cl_monitor *m, struct cl_event *ev, int timeout_ms);
/* Makes a blocked or the next cl_monitor_wait() return CL_E_CANCELLED. Any thread. */
void cl_monitor_cancel(cl_monitor *m);
void cl_monitor_free(cl_monitor *m);

/* ---- Cards ------------------------------------------------------------- */

enum cl_share {
    CL_SHARE_SHARED = 0,
    CL_SHARE_EXCLUSIVE = 1,
};

enum cl_protocol {
    CL_PROTO_UNKNOWN = 0,
    CL_PROTO_T0 = 1,
    CL_PROTO_T1 = 2,
    CL_PROTO_RAW = 4,
};

/* Connects to the card in the named reader. CL_E_NO_CARD when the slot is empty. */
cl_rc cl_card_connect(cl_ctx *ctx, const char *reader, enum cl_share share, cl_card **out);
/* Disconnects and frees (reset: power-cycle the card). NULL is a no-op. */
void cl_card_disconnect(cl_card *card, bool reset);
/* Reconnects after CL_E_CARD_RESET (or to reset the card, with reset true). */
cl_rc cl_card_reconnect(cl_card *card, bool reset);

const char *cl_card_reader(const cl_card *card);
const uint8_t *cl_card_atr(const cl_card *card, size_t *len);
enum cl_protocol cl_card_protocol(const cl_card *card);
cl_ctx *cl_card_ctx(const cl_card *card);

/*
 * Checks that the card connected is still there: CL_OK, or CL_E_CARD_REMOVED
 * when it was pulled (or swapped for another card), CL_E_CARD_RESET when
 * something reset it.
 */
cl_rc cl_card_status(cl_card *card);

/* Exclusive access for a sequence of commands (PC/SC transactions). Nests. */
cl_rc cl_card_begin(cl_card *card);
cl_rc cl_card_end(cl_card *card);

/*
 * Whether to use extended-length APDUs for long commands and responses.
 * Off by default (chaining and GET RESPONSE are used instead); a driver turns
 * it on when the card says it supports it.
 */
void cl_card_set_extended(cl_card *card, bool on);
bool cl_card_extended(const cl_card *card);

/*
 * Sends a command and collects the whole response into resp[0..cap).
 * Returns CL_OK when the card answered (whatever the status word, which is in
 * *sw), a transport error otherwise, or CL_E_RAPDU_TOO_LONG when the response
 * would not fit (nothing is truncated silently).
 *
 * CL_E_CARD_RESET means another program or the reader reset the card: the
 * connection has already been re-established, but what the card remembered
 * (selected application, verified PIN, secure messaging) is gone, so the
 * caller selects again and repeats what it needs.
 */
cl_rc cl_card_transmit(cl_card *card, const struct cl_apdu *apdu, uint8_t *resp, size_t cap,
                       size_t *resp_len, uint16_t *sw);

/* cl_card_transmit() followed by cl_sw_to_rc(): CL_OK only for 9000. */
cl_rc cl_card_command(cl_card *card, const struct cl_apdu *apdu, uint8_t *resp, size_t cap,
                      size_t *resp_len);

/* Sends raw bytes and returns the raw response with its status word: no GET
 * RESPONSE, no secure messaging. For tools that show exactly what happened. */
cl_rc cl_card_transmit_raw(cl_card *card, const uint8_t *capdu, size_t n, uint8_t *resp, size_t cap,
                           size_t *resp_len);

/* The status word of the last command (0 when none arrived). */
uint16_t cl_card_last_sw(const cl_card *card);

/*
 * Secure messaging. A driver that has established session keys installs an
 * ops table; from then on cl_card_transmit() wraps every command and unwraps
 * every response, and a response that fails verification is an error
 * (CL_E_SM_MAC), never data. cl_card_set_sm(card, NULL, NULL) removes it;
 * the card calls ops->free(sm) when it is replaced, removed or the card is
 * disconnected.
 */
struct cl_sm_ops {
    /* Builds the protected command into *out, its data in buf[0..cap). */
    cl_rc (*wrap)(void *sm, const struct cl_apdu *plain, struct cl_apdu *out, uint8_t *buf,
                  size_t cap);
    /* Verifies and decrypts a response (data without SW, and SW). */
    cl_rc (*unwrap)(void *sm, const uint8_t *data, size_t len, uint16_t sw, uint8_t *out,
                    size_t cap, size_t *out_len, uint16_t *out_sw);
    /* Wipes and frees the session state. */
    void (*free)(void *sm);
};
void cl_card_set_sm(cl_card *card, const struct cl_sm_ops *ops, void *sm);
bool cl_card_sm_active(const cl_card *card);

/*
 * Tracing: fn sees every command and response as sent and received (after
 * secure messaging wrapping). Data of CL_APDU_SENSITIVE commands is replaced
 * by '*' bytes of the same length.
 */
typedef void (*cl_trace_fn)(void *arg, bool to_card, const uint8_t *p, size_t n);
void cl_card_set_trace(cl_card *card, cl_trace_fn fn, void *arg);

#endif
