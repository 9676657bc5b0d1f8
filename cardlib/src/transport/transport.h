/*
 * The seam between cardlib and a card service. Each backend (pcsc.c, mem.c)
 * fills one const ops table; the rest of cardlib calls it only through the
 * wrappers in transport.c, which are the one place for tracing and asserts.
 *
 * Ownership: open() allocates the backend context that close() frees;
 * connect() allocates the connection that disconnect() frees. Buffers are
 * always the caller's.
 */
#ifndef CL_TRANSPORT_H
#define CL_TRANSPORT_H

#include "cl/card.h"

struct cl_transport_ops {
    const char *name;
    /* Opens another context of the same kind as b (a monitor needs its own). */
    cl_rc (*open_like)(void *b, void **out);
    void (*close)(void *b);
    cl_rc (*list_readers)(void *b, struct cl_reader_info *out, size_t cap, size_t *count);
    /*
     * Blocks until the reader list or a reader's state differs from known[],
     * or timeout_ms passes (CL_E_TIMEOUT), or cancel() is called
     * (CL_E_CANCELLED). timeout_ms < 0 waits forever.
     */
    cl_rc (*wait_change)(void *b, const struct cl_reader_info *known, size_t n, int timeout_ms);
    cl_rc (*cancel)(void *b);
    cl_rc (*connect)(void *b, const char *reader, enum cl_share share, void **conn, uint8_t *atr,
                     size_t *atr_len, enum cl_protocol *proto);
    cl_rc (*reconnect)(void *conn, enum cl_share share, bool reset, uint8_t *atr, size_t *atr_len,
                       enum cl_protocol *proto);
    void (*disconnect)(void *conn, bool reset);
    cl_rc (*status)(void *conn);
    cl_rc (*begin)(void *conn);
    cl_rc (*end)(void *conn);
    cl_rc (*transmit)(void *conn, const uint8_t *c, size_t clen, uint8_t *r, size_t rcap,
                      size_t *rlen);
    long (*last_native)(void *b, const char **text);
};

struct cl_ctx {
    const struct cl_transport_ops *ops;
    void *b; /* backend context */
};

/* Creates a context around an opened backend context (takes ownership of b). */
cl_rc cl_ctx_wrap(const struct cl_transport_ops *ops, void *b, cl_ctx **out);

#endif
