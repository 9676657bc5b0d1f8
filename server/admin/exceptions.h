/*
 * The hall staff's queue for huimin-admin (exceptions.c): open disputes and
 * staff calls, and closing one. Both return huimin-admin's exit statuses
 * (0 done, 2 the database cannot be used, 3 refused) and print their own
 * messages, in Chinese and English.
 */
#ifndef HS_ADMIN_EXCEPTIONS_H
#define HS_ADMIN_EXCEPTIONS_H

#include "hs/db.h"

#include <stdbool.h>
#include <stdint.h>

#define HS_ADMIN_NOTE_MAX 500 /* bytes of a closing note */

/* Lists the open exceptions (all of them with all), oldest first. */
int hs_admin_exceptions_list(struct hs_store *st, bool all);

/*
 * Closes exception id (and the staff call it is about) with note (may be
 * NULL), audited as exception.close by actor at now.
 */
int hs_admin_exception_close(struct hs_store *st, const char *id, const char *note,
                             const char *actor, int64_t now);

#endif
