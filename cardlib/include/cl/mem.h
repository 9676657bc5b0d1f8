/*
 * The in-process backend: readers and cards that live in the test process.
 * A card is any object with a process function (the virtual card's applets
 * plug in here, so drivers can be unit-tested without pcscd). Tests insert and
 * remove cards and can make a card vanish after its Nth command.
 *
 * Thread-safe: a test thread may insert or remove cards while another thread
 * waits in a monitor.
 */
#ifndef CL_MEM_H
#define CL_MEM_H

#include "cl/card.h"

struct cl_mem_card_ops {
    /* Power on: writes the ATR. */
    cl_rc (*power_on)(void *card, uint8_t *atr, size_t cap, size_t *atr_len);
    /* Processes one command APDU; writes the response including SW1 SW2. */
    cl_rc (*process)(void *card, const uint8_t *capdu, size_t n, uint8_t *rapdu, size_t cap,
                     size_t *rlen);
};

cl_rc cl_ctx_new_mem(cl_ctx **out);
/* Adds a reader; CL_E_INVALID_ARG if the name is taken or too long. */
cl_rc cl_mem_add_reader(cl_ctx *ctx, const char *reader);
cl_rc cl_mem_remove_reader(cl_ctx *ctx, const char *reader);
/* Puts a card on a reader. The card object stays owned by the caller. */
cl_rc cl_mem_insert(cl_ctx *ctx, const char *reader, const struct cl_mem_card_ops *ops, void *card);
cl_rc cl_mem_remove(cl_ctx *ctx, const char *reader);
/* The card disappears when its (n+1)th command arrives (that command fails). */
cl_rc cl_mem_remove_after(cl_ctx *ctx, const char *reader, unsigned n);
/* The next command finds the card reset (CL_E_CARD_RESET), as after another program reset it. */
cl_rc cl_mem_reset(cl_ctx *ctx, const char *reader);
/* Commands the card on a reader has processed since it was inserted. */
unsigned cl_mem_commands(cl_ctx *ctx, const char *reader);

#endif
