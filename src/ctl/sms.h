/*
 * sms.h - smsctl's customer commands: sending an SMS and reading its status through the
 * OVH-compatible API, with calls signed like the OVH SDKs sign them (ovh.h).
 *
 * Return values as in admin.h: 0, SG_EINVAL for an unusable argument, another SG_E* code after
 * printing the server's error. Strings are borrowed for the duration of the call. Each call
 * blocks up to the --timeout per request (two or three requests per command).
 */
#ifndef SG_CTL_SMS_H
#define SG_CTL_SMS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"

#define CTL_SMS_NO_DIFFERED (-1L)

/* One "smsctl send", as parsed by main. Optional strings are NULL when not given. */
typedef struct ctl_sms_send_req {
    const char *service;         /* required */
    const char *const *to;       /* nto receivers, nto >= 1 */
    size_t nto;
    const char *message;         /* required; "-" reads the message from standard input */
    const char *sender;          /* "sender" */
    int sender_for_response;     /* "senderForResponse": true when set */
    int no_stop;                 /* "noStopClause": true when set */
    const char *tag;             /* "tag" */
    long differed;               /* "differedPeriod" in minutes, or CTL_SMS_NO_DIFFERED */
    const char *priority;        /* "priority": high|medium|low|veryLow */
    const char *idempotency_key; /* Idempotency-Key; NULL: a random one per invocation */
} ctl_sms_send_req;

/* POST /sms/{service}/jobs with an Idempotency-Key (r's, or a random one), retried once with
 * the same key when no answer arrived (so a lost answer never sends twice). Prints "ids: 1 2"
 * (plus invalid receivers and credits removed), or the whole sending report with --json. */
int ctl_sms_send(const ctl_opts *o, const ctl_sms_send_req *r);

/* GET /sms/{service}/outgoing/{id}, and on 404 GET /sms/{service}/jobs/{id} (an SMS not yet
 * handed to an operator). Prints "id 12: deliveryReceipt 1 (Success), ptt 4, sentAt ...,
 * deliveredAt ..." or the object with --json. */
int ctl_sms_status(const ctl_opts *o, const char *service, int64_t id);

#endif
