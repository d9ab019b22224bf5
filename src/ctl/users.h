/*
 * users.h - smsctl's commands for SMS users, over the admin API (docs/admin-api.md,
 * docs/users.md): add a user to a service, list a service's users, change a password, remove
 * a user.
 *
 * Same contract as admin.h: each function makes one call with the admin token, prints the
 * answer (the raw JSON with o->json, else a short human form) and returns 0, or an SG_E* code
 * after printing why on stderr. Strings are borrowed for the call. A password given as NULL is
 * read from the first line of standard input (so that it stays out of the process list).
 */
#ifndef SG_CTL_USERS_H
#define SG_CTL_USERS_H

#include "ctl/ctl.h"

/* POST /admin/services/{service}/users {"login", "password"}: "added user LOGIN to SERVICE". */
int ctl_user_add(const ctl_opts *o, const char *service, const char *login, const char *password);

/* GET /admin/services/{service}/users: LOGIN, QUOTA, LEFT, CALLBACK, IPS, CREATED. */
int ctl_user_list(const ctl_opts *o, const char *service);

/* PUT /admin/services/{service}/users/{login} {"password"}: "changed the password of LOGIN". */
int ctl_user_passwd(const ctl_opts *o, const char *service, const char *login,
                    const char *password);

/* DELETE /admin/services/{service}/users/{login}: "removed user LOGIN from SERVICE". */
int ctl_user_remove(const ctl_opts *o, const char *service, const char *login);

#endif
