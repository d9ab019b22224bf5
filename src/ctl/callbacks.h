/*
 * callbacks.h - smsctl's commands for status callbacks, over the admin API
 * (docs/admin-api.md, docs/callbacks.md): list a service's pending, dead or delivered calls,
 * replay calls, and show the service's signing secret.
 *
 * Same contract as admin.h: each function makes one call with the admin token, prints the
 * answer (the raw JSON with o->json, else a short human form) and returns 0, or an SG_E* code
 * after printing why on stderr. Strings are borrowed for the call. Each call blocks up to the
 * --timeout.
 */
#ifndef SG_CTL_CALLBACKS_H
#define SG_CTL_CALLBACKS_H

#include <stdint.h>

#include "ctl/ctl.h"

/* GET /admin/services/{service}/callbacks[?state=STATE]; state is "pending", "dead",
 * "delivered", or NULL for the pending and dead ones. */
int ctl_callbacks_list(const ctl_opts *o, const char *service, const char *state);

/* POST /admin/services/{service}/callbacks/replay with {"ids":[*id]} when id is not NULL,
 * else an empty body (every dead call). */
int ctl_callbacks_replay(const ctl_opts *o, const char *service, const int64_t *id);

/* GET /admin/services/{service}/callback-secret; prints the secret alone on one line. */
int ctl_callbacks_secret(const ctl_opts *o, const char *service);

#endif
