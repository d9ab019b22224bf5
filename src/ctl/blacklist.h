/*
 * blacklist.h - smsctl blacklist list|add|remove: the numbers that opted out (STOP) of a
 * service's marketing SMS, over the admin API (docs/admin-api.md, docs/replies.md "STOP and
 * blacklists").
 *
 * Same contract as admin.h: each function makes one call with the admin token, prints the
 * answer (the raw JSON with o->json, else a short human form) and returns 0, or an SG_E* code
 * after printing why on stderr. Strings are borrowed for the call. Each call blocks up to the
 * --timeout.
 */
#ifndef SG_CTL_BLACKLIST_H
#define SG_CTL_BLACKLIST_H

#include "ctl/ctl.h"

/* GET /admin/services/{service}/blacklists: NUMBER, SINCE, SMS, BATCH, SOURCE. */
int ctl_blacklist_list(const ctl_opts *o, const char *service);

/* POST /admin/services/{service}/blacklists {"number"}: prints "added NUMBER" or
 * "NUMBER was already blacklisted". */
int ctl_blacklist_add(const ctl_opts *o, const char *service, const char *number);

/* DELETE /admin/services/{service}/blacklists/{number}: prints "removed NUMBER". */
int ctl_blacklist_remove(const ctl_opts *o, const char *service, const char *number);

#endif
