/*
 * incoming.h - smsctl incoming list: the SMS received from mobiles, over the admin API
 * (GET /admin/incoming; docs/replies.md, "Incoming messages").
 *
 * Same contract as admin.h: one call with the admin token, the answer printed (the raw JSON
 * with o->json, else a table) and 0 returned, or an SG_E* code after printing why on stderr.
 */
#ifndef SG_CTL_INCOMING_H
#define SG_CTL_INCOMING_H

#include "ctl/ctl.h"

/* service: that service's messages (NULL: every one); unattributed: those of no service;
 * partial: the multi-part messages still missing parts instead. */
int ctl_incoming_list(const ctl_opts *o, const char *service, int unattributed, int partial);

#endif
