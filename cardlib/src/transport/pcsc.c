/*
 * The PC/SC backend on pcsc-lite: the only file that includes winscard.h, so
 * SCARD_* codes and DWORDs end here and the rest of cardlib sees cl_rc.
 */
#include "hm/log.h"
#include "hm/util.h"
#include "transport.h"

#include <stdlib.h>
#include <string.h>

#include <winscard.h>

#define PNP_READER "\\\\?PnP?\\Notification"
/* pcsc-lite's own limit on readers in one SCardGetStatusChange. */
#define MAX_STATES (CL_READERS_MAX + 1)

struct pcsc_ctx {
    SCARDCONTEXT h;
    bool valid;
    LONG last; /* last native error */
};

struct pcsc_conn {
    struct pcsc_ctx *b;
    SCARDHANDLE h;
    DWORD proto;
    char reader[CL_READER_NAME_MAX];
};

/* How long a failed exchange waits for pcscd to notice that the card left. */
#define REMOVAL_CONFIRM_MS 1500

static cl_rc map(struct pcsc_ctx *b, LONG rv)
{
    if (rv == SCARD_S_SUCCESS)
        return CL_OK;
    b->last = rv;
    switch (rv) {
    case SCARD_E_NO_SERVICE:
        b->valid = false;
        return CL_E_NO_SERVICE;
    case SCARD_E_SERVICE_STOPPED:
        b->valid = false;
        return CL_E_SERVICE_STOPPED;
    case SCARD_E_INVALID_HANDLE:
        /* After a pcscd restart every handle is invalid; otherwise the card went. */
        if (SCardIsValidContext(b->h) != SCARD_S_SUCCESS) {
            b->valid = false;
            return CL_E_SERVICE_STOPPED;
        }
        return CL_E_CARD_REMOVED;
    case SCARD_E_NO_READERS_AVAILABLE:
        return CL_E_NO_READERS;
    case SCARD_E_UNKNOWN_READER:
        return CL_E_READER_NOT_FOUND;
    case SCARD_E_READER_UNAVAILABLE:
        return CL_E_READER_UNAVAILABLE;
    case SCARD_E_NO_SMARTCARD:
        return CL_E_NO_CARD;
    case SCARD_W_REMOVED_CARD:
        return CL_E_CARD_REMOVED;
    case SCARD_W_RESET_CARD:
        return CL_E_CARD_RESET;
    case SCARD_W_UNRESPONSIVE_CARD:
        return CL_E_CARD_UNRESPONSIVE;
    case SCARD_W_UNPOWERED_CARD:
        return CL_E_CARD_UNPOWERED;
    case SCARD_E_SHARING_VIOLATION:
        return CL_E_SHARING_VIOLATION;
    case SCARD_E_PROTO_MISMATCH:
        return CL_E_PROTOCOL_MISMATCH;
    case SCARD_E_TIMEOUT:
        return CL_E_TIMEOUT;
    case SCARD_E_CANCELLED:
        return CL_E_CANCELLED;
    case SCARD_E_INSUFFICIENT_BUFFER:
        return CL_E_BUFFER_TOO_SMALL;
    case SCARD_E_NO_MEMORY:
        return CL_E_NO_MEMORY;
    case SCARD_E_INVALID_PARAMETER:
    case SCARD_E_INVALID_VALUE:
        return CL_E_INVALID_ARG;
    default:
        return CL_E_TRANSPORT;
    }
}

/* Re-establishes the context after pcscd went away and came back. */
static cl_rc ensure(struct pcsc_ctx *b)
{
    LONG rv;

    if (b->valid && SCardIsValidContext(b->h) == SCARD_S_SUCCESS)
        return CL_OK;
    if (b->h)
        SCardReleaseContext(b->h);
    b->h = 0;
    b->valid = false;
    rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &b->h);
    if (rv != SCARD_S_SUCCESS) {
        b->h = 0;
        b->last = rv;
        return CL_E_NO_SERVICE;
    }
    b->valid = true;
    return CL_OK;
}

static cl_rc pcsc_open(void **out)
{
    struct pcsc_ctx *b = calloc(1, sizeof(*b));
    cl_rc rc;

    if (!b)
        return CL_E_NO_MEMORY;
    rc = ensure(b);
    if (rc != CL_OK) {
        free(b);
        return rc;
    }
    *out = b;
    return CL_OK;
}

static cl_rc pcsc_open_like(void *bv, void **out)
{
    (void)bv;
    return pcsc_open(out);
}

static void pcsc_close(void *bv)
{
    struct pcsc_ctx *b = bv;

    if (b->h)
        SCardReleaseContext(b->h);
    free(b);
}

static unsigned state_bits(DWORD s)
{
    unsigned out = 0;

    if (s & SCARD_STATE_PRESENT)
        out |= CL_READER_PRESENT;
    if (s & SCARD_STATE_EXCLUSIVE)
        out |= CL_READER_EXCLUSIVE;
    if (s & SCARD_STATE_INUSE)
        out |= CL_READER_INUSE;
    if (s & SCARD_STATE_MUTE)
        out |= CL_READER_MUTE;
    if (s & (SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN))
        out |= CL_READER_UNAVAILABLE;
    return out;
}

static void fill(struct cl_reader_info *out, const SCARD_READERSTATE *rs)
{
    DWORD s = rs->dwEventState & ~(DWORD)SCARD_STATE_CHANGED;

    memset(out, 0, sizeof(*out));
    hm_strlcpy(out->name, rs->szReader, sizeof(out->name));
    out->state = state_bits(s);
    out->event_count = (unsigned)(s >> 16) & 0xFFFF;
    out->backend_state = (uint32_t)s;
    if ((s & SCARD_STATE_PRESENT) && rs->cbAtr <= CL_ATR_MAX) {
        memcpy(out->atr, rs->rgbAtr, rs->cbAtr);
        out->atr_len = rs->cbAtr;
    }
}

static cl_rc list_once(struct pcsc_ctx *b, struct cl_reader_info *out, size_t cap, size_t *count)
{
    char names[CL_READERS_MAX * CL_READER_NAME_MAX + 1];
    DWORD len = sizeof(names);
    SCARD_READERSTATE rs[CL_READERS_MAX];
    DWORD n = 0;
    LONG rv;

    rv = SCardListReaders(b->h, NULL, names, &len);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) {
        *count = 0;
        return CL_OK;
    }
    if (rv != SCARD_S_SUCCESS)
        return map(b, rv);
    memset(rs, 0, sizeof(rs));
    for (const char *p = names; *p && n < CL_READERS_MAX; p += strlen(p) + 1) {
        if (strlen(p) >= CL_READER_NAME_MAX)
            continue; /* longer than any name we can hand out */
        rs[n].szReader = p;
        rs[n].dwCurrentState = SCARD_STATE_UNAWARE;
        n++;
    }
    if (n) {
        rv = SCardGetStatusChange(b->h, 0, rs, n);
        if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
            return map(b, rv);
    }
    for (DWORD i = 0; i < n && i < cap; i++)
        fill(&out[i], &rs[i]);
    *count = n;
    return CL_OK;
}

static bool service_gone(cl_rc rc)
{
    return rc == CL_E_NO_SERVICE || rc == CL_E_SERVICE_STOPPED;
}

static cl_rc pcsc_list_readers(void *bv, struct cl_reader_info *out, size_t cap, size_t *count)
{
    struct pcsc_ctx *b = bv;
    cl_rc rc = CL_OK;

    for (int attempt = 0; attempt < 3; attempt++) {
        rc = ensure(b);
        if (rc != CL_OK)
            return rc;
        rc = list_once(b, out, cap, count);
        /*
         * A reader can vanish between listing and asking its state, and a
         * context can outlive a pcscd restart: in both cases, try again.
         */
        if (rc != CL_E_READER_NOT_FOUND && !(service_gone(rc) && attempt == 0))
            break;
    }
    return rc;
}

static cl_rc pcsc_wait_change(void *bv, const struct cl_reader_info *known, size_t n,
                              int timeout_ms)
{
    struct pcsc_ctx *b = bv;
    SCARD_READERSTATE rs[MAX_STATES];
    DWORD count = 0;
    DWORD timeout = timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms;
    cl_rc rc = ensure(b);
    LONG rv;

    if (rc != CL_OK)
        return rc;
    memset(rs, 0, sizeof(rs));
    for (size_t i = 0; i < n && count < CL_READERS_MAX; i++) {
        rs[count].szReader = known[i].name;
        rs[count].dwCurrentState = known[i].backend_state;
        count++;
    }
    /* The reader count in the high word lets pcsc-lite notice a reader added meanwhile. */
    rs[count].szReader = PNP_READER;
    rs[count].dwCurrentState = (DWORD)n << 16;
    count++;
    rv = SCardGetStatusChange(b->h, timeout, rs, count);
    if (rv == SCARD_E_UNKNOWN_READER)
        return CL_OK; /* a known reader went away: that is a change */
    return map(b, rv);
}

static cl_rc pcsc_cancel(void *bv)
{
    struct pcsc_ctx *b = bv;

    if (b->valid)
        SCardCancel(b->h);
    return CL_OK;
}

/* For an open connection, losing the service means it stopped under us. */
static cl_rc map_conn(struct pcsc_conn *c, LONG rv)
{
    cl_rc rc = map(c->b, rv);

    return rc == CL_E_NO_SERVICE ? CL_E_SERVICE_STOPPED : rc;
}

static cl_rc read_status(struct pcsc_conn *c, uint8_t *atr, size_t *atr_len)
{
    char name[CL_READER_NAME_MAX + 1];
    DWORD name_len = sizeof(name);
    DWORD state, proto;
    BYTE a[MAX_ATR_SIZE];
    DWORD alen = sizeof(a);
    LONG rv = SCardStatus(c->h, name, &name_len, &state, &proto, a, &alen);

    if (rv != SCARD_S_SUCCESS)
        return map_conn(c, rv);
    if (atr && atr_len) {
        if (alen > CL_ATR_MAX)
            return CL_E_ATR_MALFORMED;
        memcpy(atr, a, alen);
        *atr_len = alen;
    }
    return CL_OK;
}

static enum cl_protocol proto_of(DWORD p)
{
    switch (p) {
    case SCARD_PROTOCOL_T0:
        return CL_PROTO_T0;
    case SCARD_PROTOCOL_T1:
        return CL_PROTO_T1;
    case SCARD_PROTOCOL_RAW:
        return CL_PROTO_RAW;
    default:
        return CL_PROTO_UNKNOWN;
    }
}

static cl_rc pcsc_connect(void *bv, const char *reader, enum cl_share share, void **connp,
                          uint8_t *atr, size_t *atr_len, enum cl_protocol *proto)
{
    struct pcsc_ctx *b = bv;
    struct pcsc_conn *c;
    DWORD mode = share == CL_SHARE_EXCLUSIVE ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
    cl_rc rc = ensure(b);
    LONG rv;

    if (rc != CL_OK)
        return rc;
    c = calloc(1, sizeof(*c));
    if (!c)
        return CL_E_NO_MEMORY;
    c->b = b;
    hm_strlcpy(c->reader, reader, sizeof(c->reader));
    rv = SCardConnect(b->h, reader, mode, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &c->h, &c->proto);
    if (rv != SCARD_S_SUCCESS) {
        free(c);
        return map(b, rv);
    }
    rc = read_status(c, atr, atr_len);
    if (rc != CL_OK) {
        SCardDisconnect(c->h, SCARD_LEAVE_CARD);
        free(c);
        return rc;
    }
    *proto = proto_of(c->proto);
    *connp = c;
    return CL_OK;
}

static cl_rc pcsc_reconnect(void *cv, enum cl_share share, bool reset, uint8_t *atr,
                            size_t *atr_len, enum cl_protocol *proto)
{
    struct pcsc_conn *c = cv;
    DWORD mode = share == CL_SHARE_EXCLUSIVE ? SCARD_SHARE_EXCLUSIVE : SCARD_SHARE_SHARED;
    LONG rv = SCardReconnect(c->h, mode, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                             reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD, &c->proto);
    cl_rc rc;

    if (rv != SCARD_S_SUCCESS)
        return map_conn(c, rv);
    rc = read_status(c, atr, atr_len);
    if (rc == CL_OK)
        *proto = proto_of(c->proto);
    return rc;
}

static void pcsc_disconnect(void *cv, bool reset)
{
    struct pcsc_conn *c = cv;

    SCardDisconnect(c->h, reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD);
    free(c);
}

static cl_rc pcsc_status(void *cv)
{
    return read_status(cv, NULL, NULL);
}

static cl_rc pcsc_begin(void *cv)
{
    struct pcsc_conn *c = cv;

    return map_conn(c, SCardBeginTransaction(c->h));
}

static cl_rc pcsc_end(void *cv)
{
    struct pcsc_conn *c = cv;

    return map_conn(c, SCardEndTransaction(c->h, SCARD_LEAVE_CARD));
}

/*
 * After an exchange failed without a clear reason (some drivers, vpcd among
 * them, report a vanished card as an empty answer), waits briefly for pcscd
 * to see the card go, so the caller gets "card removed" rather than a vague
 * communication error.
 */
static cl_rc explain_failure(struct pcsc_conn *c, cl_rc fallback)
{
    SCARD_READERSTATE rs;
    cl_rc rc = read_status(c, NULL, NULL);
    LONG rv;

    if (rc != CL_OK)
        return rc; /* REMOVED, RESET, SERVICE_STOPPED... already precise */
    memset(&rs, 0, sizeof(rs));
    rs.szReader = c->reader;
    rs.dwCurrentState = SCARD_STATE_UNAWARE;
    if (SCardGetStatusChange(c->b->h, 0, &rs, 1) != SCARD_S_SUCCESS)
        return fallback;
    if (!(rs.dwEventState & SCARD_STATE_PRESENT))
        return CL_E_CARD_REMOVED;
    rs.dwCurrentState = rs.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
    rv = SCardGetStatusChange(c->b->h, REMOVAL_CONFIRM_MS, &rs, 1);
    if (rv == SCARD_S_SUCCESS && (!(rs.dwEventState & SCARD_STATE_PRESENT) ||
                                  (rs.dwEventState >> 16) != (rs.dwCurrentState >> 16)))
        return CL_E_CARD_REMOVED;
    return fallback;
}

static cl_rc pcsc_transmit(void *cv, const uint8_t *cmd, size_t clen, uint8_t *resp, size_t rcap,
                           size_t *rlen)
{
    struct pcsc_conn *c = cv;
    const SCARD_IO_REQUEST *pci = c->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    DWORD n = (DWORD)(rcap > MAX_BUFFER_SIZE_EXTENDED ? MAX_BUFFER_SIZE_EXTENDED : rcap);
    LONG rv;
    cl_rc rc;

    rv = SCardTransmit(c->h, pci, cmd, (DWORD)clen, NULL, resp, &n);
    if (rv != SCARD_S_SUCCESS) {
        rc = map_conn(c, rv);
        if (rc == CL_E_TRANSPORT || rc == CL_E_CARD_UNRESPONSIVE)
            rc = explain_failure(c, rc);
        return rc;
    }
    if (n < 2)
        return explain_failure(c, CL_E_CARD_UNRESPONSIVE);
    *rlen = n;
    return CL_OK;
}

static long pcsc_last_native(void *bv, const char **text)
{
    struct pcsc_ctx *b = bv;

    if (text)
        *text = b->last ? pcsc_stringify_error(b->last) : "";
    return (long)b->last;
}

static const struct cl_transport_ops pcsc_ops = {
    .name = "pcsc",
    .open_like = pcsc_open_like,
    .close = pcsc_close,
    .list_readers = pcsc_list_readers,
    .wait_change = pcsc_wait_change,
    .cancel = pcsc_cancel,
    .connect = pcsc_connect,
    .reconnect = pcsc_reconnect,
    .disconnect = pcsc_disconnect,
    .status = pcsc_status,
    .begin = pcsc_begin,
    .end = pcsc_end,
    .transmit = pcsc_transmit,
    .last_native = pcsc_last_native,
};

cl_rc cl_ctx_new_pcsc(cl_ctx **out)
{
    void *b;
    cl_rc rc;

    if (!out)
        return CL_E_INVALID_ARG;
    rc = pcsc_open(&b);
    if (rc != CL_OK)
        return rc;
    return cl_ctx_wrap(&pcsc_ops, b, out);
}
