/*
 * ops.h - smsctl's operator commands of the "ops" area (docs/admin-api.md): the operator's
 * decision on a US template (templatesControl), the validation code of a sender, and a second
 * (third...) service for an account.
 * Same contract as admin.h: 0 or an SG_E* code after printing why; strings borrowed.
 */
#ifndef SG_CTL_OPS_H
#define SG_CTL_OPS_H

#include "ctl/ctl.h"

/* PUT /admin/services/{service}/templates/{name} {status, comment}: status "enable" (approve)
 * or "refused" (refuse); comment may be NULL. */
int ctl_template_set(const ctl_opts *o, const char *service, const char *name,
                     const char *status, const char *comment);
/* GET /admin/services/{service}/templates: NAME, STATUS, ACTIVITY, COMMENT, MESSAGE. */
int ctl_template_list(const ctl_opts *o, const char *service);
/* POST /admin/services/{service}/senders/{sender}/code: prints the new validation code. */
int ctl_sender_code(const ctl_opts *o, const char *service, const char *sender);

/* POST /admin/accounts/{account}/services {credits}: prints the new service's name. */
int ctl_service_add(const ctl_opts *o, const char *account, double credits, int has_credits);

#endif
