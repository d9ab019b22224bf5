/*
 * admin.h - smsctl's operator commands: one function per command of the admin API
 * (docs/admin-api.md), each making one call with the admin token and printing the answer.
 *
 * Every function returns 0 on success, or an SG_E* code after printing the server's error
 * (or why the server could not be reached) on stderr; see ctl.h for how codes become exit
 * statuses. With o->json the server's JSON answer is printed as is; otherwise a short
 * human-readable form. Strings are borrowed for the duration of the call. Each call blocks up
 * to the --timeout.
 */
#ifndef SG_CTL_ADMIN_H
#define SG_CTL_ADMIN_H

#include <jansson.h>

#include "ctl/ctl.h"

/* GET /admin/health. */
/* Makes one admin call. path starts with "/admin/" and is already percent-encoded; body may
 * be NULL. On success *out is the parsed answer (new reference) or NULL when --json printed it
 * already. Returns 0 or an SG_E* code after printing why. Every command of the admin side
 * (admin.c, callbacks.c, credits.c, routes.c, ...) goes through it. */
int ctl_admin_call(const ctl_opts *o, const char *method, const char *path, json_t *body,
                   json_t **out);
/* ctl_admin_call on "/admin/services/{service}/{rest}", the service name percent-encoded;
 * rest is already encoded (it may carry a query). */
int ctl_service_call(const ctl_opts *o, const char *method, const char *service,
                     const char *rest, json_t *body, json_t **out);
/* A number as JSON: an integer when it has no fraction, so "--credits 100" sends 100. */
json_t *ctl_json_num(double d);
/* Prints a JSON value indented, with a newline, on stdout. */
void ctl_print_json(const json_t *j);
/* Prints a list answer on stdout: an array of objects as a table, heads[c] over the member
 * keys[c] of each object (ncols columns, each cell cut to 63 bytes); the line empty when the
 * array is empty; any other answer as JSON. */
void ctl_rows_print(const json_t *ans, size_t ncols, const char *const *heads,
                    const char *const *keys, const char *empty);

int ctl_admin_health(const ctl_opts *o);

/* POST /admin/accounts {"name","credits"?}; credits may be NULL (server default). */
int ctl_admin_account_create(const ctl_opts *o, const char *name, const double *credits);

/* GET /admin/accounts. */
int ctl_admin_account_list(const ctl_opts *o);

/* GET /admin/nodes: NODE, STATE (alive, dead, stopped), ADDRESS, HEARTBEAT (age), MESSAGES
 * and CALLBACKS leased, BINDS (the bind slots it holds, route#n). */
int ctl_admin_node_list(const ctl_opts *o);

/* PUT {"status", "comment"} on /admin/services/{service}/{collection}/{name} (a sender's or a
 * template's moderation) and prints "{service}: {what} '{name}' status set to {status}".
 * comment may be NULL; one that is not UTF-8 is refused (SG_EINVAL) before any call. */
int ctl_admin_moderate(const ctl_opts *o, const char *service, const char *collection,
                       const char *what, const char *name, const char *status,
                       const char *comment);
/* ctl_admin_moderate of a sender: status is one of "enable", "refused", "disable". */
int ctl_admin_sender_set(const ctl_opts *o, const char *service, const char *sender,
                         const char *status, const char *comment);

/* GET /admin/services/{service}/senders: every sender, deleted ones too, with its status, the
 * operator's comment and its earlier refusals (a refused sender deleted and declared again). */
int ctl_admin_sender_list(const ctl_opts *o, const char *service);

/* POST /admin/credentials/{consumer_key}/{action}; action is "validate" or "refuse". */
int ctl_admin_credential_set(const ctl_opts *o, const char *consumer_key, const char *action);

/* GET /admin/credentials/{consumer_key}: its status (expired once past the pending TTL),
 * dates and rules. */
int ctl_admin_credential_show(const ctl_opts *o, const char *consumer_key);

/* GET (rate NULL) or PUT /admin/accounts/{name}/limits {"rate","burst"}: rate and burst are
 * "default" (the server's setting) or a whole number >= 0 (rate 0 = no limit). Prints the
 * limits now in force for the account. */
int ctl_admin_account_limit(const ctl_opts *o, const char *name, const char *rate,
                            const char *burst);

/* POST /admin/services/{service}/credits {"credits":amount,"reason"?}; reason may be NULL. */
int ctl_admin_service_credit(const ctl_opts *o, const char *service, double amount,
                             const char *reason);

/* GET /admin/services/{service}/ledger. */
int ctl_admin_ledger(const ctl_opts *o, const char *service);

#endif
