/*
 * numbers.h - smsctl's commands for virtual numbers, over the admin API (docs/admin-api.md,
 * docs/replies.md "Virtual numbers"): assign a number to a service, list, remove, and set the
 * smsResponse of the replies sent to a number.
 *
 * Same contract as admin.h: each function makes one call with the admin token, prints the
 * answer (the raw JSON with o->json, else a short human form) and returns 0, or an SG_E* code
 * after printing why on stderr. Strings are borrowed for the call.
 */
#ifndef SG_CTL_NUMBERS_H
#define SG_CTL_NUMBERS_H

#include "ctl/ctl.h"

/* POST /admin/services/{service}/numbers {"number"}: prints "added +33700000001 to SERVICE"
 * (or "... already belongs to SERVICE" when it did). */
int ctl_number_add(const ctl_opts *o, const char *service, const char *number);

/* GET /admin/numbers[?service=SERVICE]: NUMBER, SERVICE, COUNTRY, CREATED, RESPONSE (its
 * smsResponse's responseType, or '-' for the service's). service may be NULL (all). */
int ctl_number_list(const ctl_opts *o, const char *service);

/* DELETE /admin/numbers/{number}: prints "removed +33700000001 from SERVICE". */
int ctl_number_remove(const ctl_opts *o, const char *number);

/* PUT /admin/numbers/{number} {"smsResponse": json}; json is the text of a (partial)
 * sms.Response object, or NULL for null (the service's again). Prints the number's
 * smsResponse now. SG_EINVAL (usage) when json is not a JSON object. */
int ctl_number_response(const ctl_opts *o, const char *number, const char *json);

#endif
