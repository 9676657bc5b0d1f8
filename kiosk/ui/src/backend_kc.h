/* The real backend: the welfare card through cardlib and the server through the kc_ client. */
#ifndef KU_BACKEND_KC_H
#define KU_BACKEND_KC_H

#include "worker.h"

#include "kc/client.h"

/* Opens the client (certificates, journal) now; false with a reason in err. */
bool ku_kc_backend_new(const struct kc_config *cfg, const struct ku_backend_ops **ops,
                       void **backend, char *err, size_t cap);

#endif
