/*
 * A fixed set of handler threads fed from one FIFO queue (internal to
 * hs_http). Handlers may block on storage, so they never run on an event
 * loop; the event loops push jobs here and get the results back through
 * their own queues.
 */
#ifndef HS_HTTP_POOL_H
#define HS_HTTP_POOL_H

#include "hs/error.h"

#include <stdbool.h>

/* Embedded as the first member of the caller's job; the pool only links it. */
struct hs_pool_job {
    struct hs_pool_job *next;
};

/* Runs on a pool thread, once per job pushed. The job belongs to run until it returns. */
typedef void (*hs_pool_run)(void *ctx, struct hs_pool_job *job);

struct hs_pool;

/* Starts nthreads threads (with the caller's signal mask) that call run for each job. */
hs_rc hs_pool_new(int nthreads, hs_pool_run run, void *ctx, struct hs_pool **out);

/* Queues a job. Returns false, and leaves the job to the caller, once the pool is stopping. */
bool hs_pool_push(struct hs_pool *p, struct hs_pool_job *job);

/*
 * Stops taking jobs, waits for the running ones to return, joins the threads
 * and frees the pool. Jobs that were queued but never started are handed back
 * as a list (linked through next) for the caller to free. NULL is a no-op.
 */
struct hs_pool_job *hs_pool_free(struct hs_pool *p);

#endif
