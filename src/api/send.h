/*
 * send.h - ONE parser of a send and ONE way to run it, for every way in: POST /sms/{sn}/jobs
 * (and the same under virtualNumbers/{number} and users/{login}), templated jobs on a
 * receivers slot or document, batches, http2sms and Kannel's sendsms (issue 15, point 1).
 *
 * A send is read from a JSON object with the fields of OVH's sms.Job POST body (message,
 * receivers, sender, senderForResponse, noStopClause, priority, class, coding, charset,
 * differedPeriod, validityPeriod, tag, receiversSlotId, receiversDocumentUrl). A way in whose
 * parameters have other names or forms (Kannel's `text`, `to` separated by spaces, `mclass`,
 * `deferred` in minutes; http2sms's `noStop=1`, ...) translates them into that object and calls
 * the same parser, so a field's rule lives in one place. The parser never replies: each way in
 * renders the result (success or error) in its own format.
 *
 *     api_send *s = api_send_parse(c, obj, NULL);   // c->h is now the send's state
 *     if (s->result.code) { render(c, &s->result); return; }    // a 400 naming the field
 *     s->user_id = ...; s->callback_url = ...;                  // options of this way in
 *     api_send_run(c, s, done);       // done(c, &s->result) once, on the loop thread
 *
 * POST .../jobs renders with api_send_reply() (OVH's sms.SmsSendingReport, or OVH's error
 * body); another way in reads the result's fields and writes its own answer.
 *
 * Loop thread only. The send's state is the call's (c->h, freed with the call): a way in that
 * needs state of its own hangs it on s->way (freed with the send by s->way_free).
 */
#ifndef SG_API_SEND_H
#define SG_API_SEND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api_int.h"
#include "core/gsm.h"

/* What happened, for a way in that maps outcomes to its own statuses. */
typedef enum api_send_code {
    API_SEND_OK = 0,
    API_SEND_MISSING,          /* 400: a required parameter is missing (result.field) */
    API_SEND_INVALID,          /* 400: a parameter's value is refused (result.field) */
    API_SEND_SENDER_NOT_FOUND, /* 403: the sender is not one of the service's */
    API_SEND_SENDER_DISABLED,  /* 403: the sender exists but is not enabled */
    API_SEND_NO_CREDIT,        /* 402: the service's balance is too low; nothing sent */
    API_SEND_QUOTA,            /* 402: the SMS user's quota is exhausted (I2, users branch) */
    API_SEND_UNAVAILABLE,      /* 503: stopping, or receiver lists not available here */
    API_SEND_LIMITED,          /* 429: the store is overloaded; retry */
    API_SEND_CONFLICT,         /* 409 */
    API_SEND_INTERNAL          /* 500 */
} api_send_code;

/* "missing parameter", "invalid parameter", "sender not found", "sender disabled",
 * "no credit", "quota", "unavailable", "limited", "conflict", "internal"; "ok". */
const char *api_send_code_name(api_send_code code);

/* The outcome of a send. Strings and arrays are borrowed from the send (until the call is
 * answered). */
typedef struct api_send_result {
    api_send_code code;
    int status;             /* HTTP status OVH would answer: 200, or the error's */
    const char *error_code; /* OVH's errorCode field ("INSUFFICIENT_CREDITS"), or NULL */
    char field[40];         /* the parameter at fault (as the way in names it), or "" */
    char message[512];      /* OVH's message (the "message" of its error body) */
    int store_rc;           /* a store error that is not the send's own (SG_ELIMIT, ...), or 0 */
    char store_what[40];    /* with store_rc: what failed ("This send"), for the message */
    /* success */
    size_t count;               /* SMS created: ids[i] went to valid[i] (E.164) */
    const int64_t *ids;
    const char *const *valid;
    size_t ninvalid;            /* receivers refused (invalid, or opted out), as given */
    const char *const *invalid;
    int64_t credits_removed;    /* millicredits */
    int64_t credits_left;       /* millicredits: the service's balance after the send */
    const char *tag;            /* NULL when none */
    /* a receivers slot or document (templated): no ids, as OVH; counts instead */
    int templated;
    const char *campaign_id;
    int64_t valid_count, invalid_count;
    const char *invalid_json;   /* [{"receiver","message"}] of the first refused rows */
} api_send_result;

/* The names a way in gives the fields, for reading and for messages. NULL = not a field of
 * that way in (not read). api_send_job_names: OVH's sms.Job POST body. */
typedef struct api_send_names {
    const char *message, *receivers, *sender, *sender_for_response, *no_stop, *priority,
        *sms_class, *coding, *charset, *differed, *validity, *tag, *slot, *document_url;
    const char *const *class_values; /* the spellings of the classes (same indexes as
                                      * send_classes), NULL = send_classes */
    size_t receivers_max;            /* 0 = SEND_RECEIVERS_MAX */
} api_send_names;
extern const api_send_names api_send_job_names;

/* A parsed and checked send. The parser's fields are read-only for the way in; the options
 * below them may be set between api_send_parse() and api_send_run(). */
typedef struct api_send {
    json_t *obj;                 /* the object read (a reference held) */
    const api_send_names *names; /* the names it was read with (messages of the run too) */
    const char *message;         /* as given, without the STOP mention (borrowed from obj) */
    const char *sender;          /* NULL: none given (the service's short number) */
    int sender_for_response;
    int no_stop;
    int priority;                /* index in send_priorities; -1 when not given */
    int sms_class;               /* index in send_classes (SEND_CLASS_DEFAULT when not given) */
    int coding;                  /* index in send_codings; -1 when not given (deduced anyway) */
    int64_t validity_min;        /* SEND_VALIDITY_DEFAULT when not given */
    int64_t differed_min;        /* 0 when not given */
    const char *tag;             /* NULL when none */
    json_t *receivers;           /* a non-empty array of strings, or NULL (slot or document) */
    int64_t slot;                /* receiversSlotId, or 0 */
    const char *document_url;    /* receiversDocumentUrl, or NULL */
    char *text;                  /* a list of receivers: the text as sent (with the STOP
                                  * mention unless no_stop), owned; NULL otherwise */
    gsm_info gi;                 /* its encoding and parts */

    /* options of the way in */
    int64_t due_ms;              /* > 0: send at this time (an absolute date of the way in)
                                  * instead of now + differed_min */
    int64_t user_id;             /* I2: the SMS user sending (0: none); quota and callBack */
    const char *callback_url;    /* I3: per-message callback (borrowed until done), or NULL */
    int callback_mask;           /* I3: Kannel dlr-mask, 0 = OVH's status callbacks */
    void *way;                   /* the way in's own state, freed with the send by way_free */
    void (*way_free)(void *);

    api_send_result result;      /* an error of the parser, then the run's outcome */
} api_send;

/* Reads obj (a JSON object; names NULL = api_send_job_names) into a new send that becomes the
 * call's state (c->h; whatever state the call had is freed first). Never NULL. On a refused
 * field, s->result.code is API_SEND_MISSING or API_SEND_INVALID, status 400, with OVH's
 * message naming the field; nothing was queued. On a virtual number's route (c->vnum) the
 * sender rules of virtual numbers apply. */
api_send *api_send_parse(api_call *c, json_t *obj, const api_send_names *names);

/* The parser without a call, for tests and for ways in that check before they have a
 * service: reads obj into s (zeroed by the caller; api_send_fini releases it). vnum is the
 * virtual number the send must come from ("" or NULL: none). Returns 0, or -1 with
 * s->result filled. */
int api_send_read(api_send *s, json_t *obj, const api_send_names *names, const sg_config *cfg,
                  const char *vnum);
void api_send_fini(api_send *s);

/* The text an SMS carries: message, then the STOP mention (stop-clause) on a new line unless
 * no_stop. New. (POST /sms/estimate counts it the same way.) */
char *api_send_text(const sg_config *cfg, const char *message, int no_stop);

/* Runs the send for the call's service (c->svc; c->vnum when set) and calls done(c, result)
 * exactly once on the loop thread, after the store's commit; when the parser had refused the
 * send or nothing could be queued, done runs before api_send_run returns (so the caller
 * returns right after calling it). A send with an Idempotency-Key (API_IDEM route) stores its sending report with
 * the commit. done must answer the call. */
typedef void (*api_send_done_cb)(api_call *c, const api_send_result *r);
void api_send_run(api_call *c, api_send *s, api_send_done_cb done);

/* The send that is the call's state (after api_send_parse, until the call is answered): how
 * a way in's done callback finds its own state (s->way). */
api_send *api_send_of(api_call *c);

/* OVH's sms.SmsSendingReport of a successful result (plus smsgate's counts for a templated
 * send). New. */
json_t *api_send_report_json(const api_send_result *r);

/* Answers the call the way POST .../jobs does: the sending report (or the one recorded with
 * the Idempotency-Key), or OVH's error body with the result's status. */
void api_send_reply(api_call *c, const api_send_result *r);

/* Fills r with the error of a receivers list that could not be loaded (campaign_load's or
 * campaign_send's rc at the load stage); field is the parameter the list came from. Shared by
 * receivers.c (POST /receivers) and the sends on a slot or a document. */
struct campaign_load_req;
void api_send_load_error(api_send_result *r, int rc, const struct campaign_load_req *ld,
                         const char *field);

/* For a way in that runs a templated send of its own (batches.c: sms.Batch): fills the
 * campaign request's common fields from s (sender, STOP mention, class, validity, due time,
 * tag, max parts; priority "low" unless given, never above "medium"), and maps the
 * campaign's outcome rc (0 included) into s->result, naming the fields with s->names. what:
 * "batch", "campaign". c->h must be s's call state. */
struct campaign_send_req;
struct store_campaign_send_req;
void api_send_templated_init(api_call *c, api_send *s, struct store_campaign_send_req *cs);
void api_send_templated_result(api_call *c, api_send *s, int rc,
                               const struct campaign_send_req *cr, const char *what);

/* Replies r's error with api_reply_error (status, errorCode, message). */
void api_send_reply_error(api_call *c, const api_send_result *r);

#endif
