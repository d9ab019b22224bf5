/*
 * send.c - the one parser of a send and the one way to run it (send.h), for every way in.
 *
 * Reading (api_send_read), in this order, each refusal a 400 naming the field as the way in
 * names it: message (required, not empty, within the text limit); sender ("" = none);
 * senderForResponse (then the service's short number, whatever sender says, so that the
 * mobile's replies come back: docs/replies.md); noStopClause; priority, class, coding, charset
 * (core/sendfields.h, the one table of each); validityPeriod and differedPeriod (minutes, in
 * their bounds); tag (the text limit of "tag"); on a virtual number's route, the sender rules
 * of virtual numbers (the SMS comes from that number); the receivers: exactly one of
 * receivers (a non-empty array of strings, at most SEND_RECEIVERS_MAX), receiversSlotId
 * (1 to 9, a string as OVH's type or an integer) and receiversDocumentUrl (http or https);
 * the sender's form (alphanumeric or a number); and for a list of receivers, the text as it
 * will be sent (with the STOP mention unless noStopClause) and its parts against max-parts.
 *
 * Running (api_send_run):
 *   - receivers: each one normalised (core/phone) into valid and invalid, one SMS per distinct
 *     number; then ONE store operation (store_submit) checks the sender's status, prices every
 *     message, checks the balance, debits the ledger and inserts every message in one
 *     transaction; done runs after that commit. Receivers on the service's blacklist (for an
 *     SMS with the STOP mention) are refused by the store in the same transaction and reported
 *     as invalid, never charged. Nothing valid: OVH answers 200 with every receiver invalid,
 *     nothing is stored (the balance shown is read again: the service may come from the
 *     cache).
 *   - receiversSlotId / receiversDocumentUrl: a templated send (campaign/campaign.h, the
 *     store's fan-out): every message rendered, priced and inserted with one debit in one
 *     transaction; done runs after the commit with counts and no ids (as OVH). A slot with
 *     autoUpdate is downloaded again first. Such messages default to priority "low" and are
 *     never stored above "medium" (docs/campaigns.md: a one-time code sent with the default
 *     "high" is always claimed before a campaign).
 *
 * Invariants:
 *   1. No other file reads a send's fields: jobs.c, batches.c and the gateways
 *      call api_send_parse (batches with their own names of the fields).
 *   2. The parser never replies; the run calls done exactly once.
 *   3. The result's arrays are built once (fill_result), on the store thread when the report
 *      is rendered there for an Idempotency-Key, else on the loop thread: both read the same
 *      request, which nothing changes after the commit.
 */
#include "api/send.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "core/gsm.h"
#include "core/phone.h"
#include "core/sendfields.h"
#include "util/util.h"

#define REPORT_LIMIT 1000           /* refused receivers listed for a templated send */
#define CAMPAIGN_DEFAULT_PRIORITY 2 /* low */
#define CAMPAIGN_TOP_PRIORITY 1     /* medium: templated sends never go above it */

const api_send_names api_send_job_names = {
    .message = "message",
    .receivers = "receivers",
    .sender = "sender",
    .sender_for_response = "senderForResponse",
    .no_stop = "noStopClause",
    .priority = "priority",
    .sms_class = "class",
    .coding = "coding",
    .charset = "charset",
    .differed = "differedPeriod",
    .validity = "validityPeriod",
    .tag = "tag",
    .slot = "receiversSlotId",
    .document_url = "receiversDocumentUrl",
};

static const char *const code_names[] = {
    [API_SEND_OK] = "ok",
    [API_SEND_MISSING] = "missing parameter",
    [API_SEND_INVALID] = "invalid parameter",
    [API_SEND_SENDER_NOT_FOUND] = "sender not found",
    [API_SEND_SENDER_DISABLED] = "sender disabled",
    [API_SEND_NO_CREDIT] = "no credit",
    [API_SEND_QUOTA] = "quota",
    [API_SEND_UNAVAILABLE] = "unavailable",
    [API_SEND_LIMITED] = "limited",
    [API_SEND_CONFLICT] = "conflict",
    [API_SEND_INTERNAL] = "internal",
};

const char *api_send_code_name(api_send_code code) {
    if ((size_t)code >= sizeof code_names / sizeof code_names[0]) return "internal";
    return code_names[code];
}

/* The send's state, c->h: the public part first. */
typedef struct send_ctx {
    api_send s;
    api_send_done_cb done;
    const sg_config *cfg;
    /* a list of receivers */
    store_submit_req req;
    char **valid;             /* normalised receivers, owned */
    const char **given;       /* the same as given (borrowed from obj) */
    char (*regions)[3];       /* their countries, for the store's pricing */
    const char **bad;         /* receivers refused by the normalisation, as given */
    size_t nbad;
    phone_set seen;           /* one SMS per distinct number */
    /* a templated send */
    campaign_send_req cr;
    store_slot_req slot;
    char *stop;
    json_t *bad_json;         /* cr.send.invalid_json parsed */
    /* the result's arrays (invariant 3) */
    int filled;
    int64_t *ids;
    const char **rvalid, **rinvalid;
} send_ctx;

/* ---- results ---- */

static void fail(api_send_result *r, api_send_code code, int status, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(api_send_result *r, api_send_code code, int status, const char *field,
                 const char *fmt, ...) {
    r->code = code;
    r->status = status;
    snprintf(r->field, sizeof r->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
}

/* ---- reading ---- */

/* The value of field name (NULL name = not a field of this way in), or NULL when absent or
 * null. */
static json_t *get(api_send *s, const char *name) {
    json_t *v = name ? json_object_get(s->obj, name) : NULL;
    return v && !json_is_null(v) ? v : NULL;
}

/* A reader's refusal (api_get_*: one wording for every handler) into the result. */
static int got(api_send *s, int rc, const char *name, const char *msg) {
    if (rc >= 0) return rc;
    fail(&s->result, rc == API_GET_MISSING ? API_SEND_MISSING : API_SEND_INVALID, 400, name,
         "%s", msg);
    return -1;
}

static int read_string(api_send *s, const char *name, int required, const char **out) {
    char msg[API_GET_MSG];
    return got(s, api_get_string(s->obj, name, required, out, msg, sizeof msg), name, msg);
}

static int read_bool(api_send *s, const char *name, int *out) {
    char msg[API_GET_MSG];
    return got(s, api_get_bool(s->obj, name, 0, out, msg, sizeof msg), name, msg);
}

static int read_int(api_send *s, const char *name, int64_t min, int64_t max, int64_t *out) {
    char msg[API_GET_MSG];
    return got(s, api_get_int(s->obj, name, 0, min, max, out, msg, sizeof msg), name, msg);
}

static int read_enum(api_send *s, const char *name, const char *const *values, int *out) {
    char msg[API_GET_MSG];
    return got(s, api_get_enum(s->obj, name, 0, values, out, msg, sizeof msg), name, msg);
}

/* receiversSlotId: a string (OVH's type) or an integer, 1 to 9. */
static int read_slot(api_send *s, const char *name, json_t *v) {
    long long x = 0;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *p = json_string_value(v);
        char *end;
        errno = 0;
        x = strtoll(p, &end, 10);
        if (!*p || *end || errno) x = 0;
    }
    if (x < SEND_SLOT_MIN || x > SEND_SLOT_MAX) {
        fail(&s->result, API_SEND_INVALID, 400, name,
             "Invalid value for parameter '%s': a slot number from %d to %d is expected", name,
             SEND_SLOT_MIN, SEND_SLOT_MAX);
        return -1;
    }
    s->slot = x;
    return 0;
}

char *api_send_text(const sg_config *cfg, const char *message, int no_stop) {
    if (no_stop || !cfg->stop_clause || !cfg->stop_clause[0]) return sg_xstrdup(message);
    return sg_xasprintf("%s\n%s", message, cfg->stop_clause);
}

/* The text as sent and its parts, for a list of receivers (the store renders templates). */
static int read_text(api_send *s, const sg_config *cfg, char **text, gsm_info *gi) {
    const char *f = s->names->message;
    *text = api_send_text(cfg, s->message, s->no_stop);
    if (gsm_analyze(*text, strlen(*text), gi) != 0) {
        fail(&s->result, API_SEND_INVALID, 400, f,
             "Invalid value for parameter '%s': not valid UTF-8", f);
        return -1;
    }
    if ((int64_t)gi->parts > cfg->max_parts) {
        fail(&s->result, API_SEND_INVALID, 400, f,
             "Invalid value for parameter '%s': %zu SMS parts (%zu %s), at most %lld are "
             "allowed", f, gi->parts, gi->units,
             gi->coding == GSM_CODING_7BIT ? "GSM-7 characters" : "UCS-2 units",
             (long long)cfg->max_parts);
        return -1;
    }
    return 0;
}

/* "'receivers', 'receiversSlotId' or 'receiversDocumentUrl'": the parameters a way in may
 * give its receivers with (conj "or" / "and"), into buf. */
static const char *sources(const api_send_names *n, char *buf, size_t size, const char *conj) {
    const char *v[3];
    int k = 0;
    if (n->receivers) v[k++] = n->receivers;
    if (n->slot) v[k++] = n->slot;
    if (n->document_url) v[k++] = n->document_url;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && len < size; i++) {
        int w = snprintf(buf + len, size - len, "%s'%s'", i == 0 ? "" : i == k - 1 ? " " : ", ",
                         v[i]);
        if (i == k - 1 && i > 0) { /* the conjunction before the last */
            w = snprintf(buf + len, size - len, " %s '%s'", conj, v[i]);
        }
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

/* The parser, text excepted. */
static int read_fields(api_send *s, const api_send_names *n, const sg_config *cfg,
                       const char *vnum) {
    int idx;
    s->priority = -1;
    s->sms_class = SEND_CLASS_DEFAULT;
    s->coding = -1;
    s->validity_min = SEND_VALIDITY_DEFAULT;
    if (read_string(s, n->message, 1, &s->message) < 0) return -1;
    if (!*s->message) {
        fail(&s->result, API_SEND_INVALID, 400, n->message,
             "Invalid value for parameter '%s': it is empty", n->message);
        return -1;
    }
    if (read_string(s, n->sender, 0, &s->sender) < 0) return -1;
    if (s->sender && !*s->sender) s->sender = NULL;
    if (read_bool(s, n->sender_for_response, &s->sender_for_response) < 0) return -1;
    if (read_bool(s, n->no_stop, &s->no_stop) < 0) return -1;
    if (read_enum(s, n->priority, send_priorities, &s->priority) < 0) return -1;
    if (read_int(s, n->validity, SEND_VALIDITY_MIN, SEND_VALIDITY_MAX, &s->validity_min) < 0)
        return -1;
    if (read_int(s, n->differed, 0, SEND_DIFFERED_MAX, &s->differed_min) < 0) return -1;
    if (read_enum(s, n->coding, send_codings, &s->coding) < 0) return -1;
    if (read_enum(s, n->charset, send_charsets, &idx) < 0) return -1;
    if (read_enum(s, n->sms_class, n->class_values ? n->class_values : send_classes,
                  &s->sms_class) < 0)
        return -1;
    if (read_string(s, n->tag, 0, &s->tag) < 0) return -1;
    if (s->tag && !*s->tag) s->tag = NULL;

    if (vnum && vnum[0]) {
        if (s->sender_for_response) {
            fail(&s->result, API_SEND_INVALID, 400, n->sender_for_response,
                 "Invalid value for parameter '%s': an SMS sent through "
                 "/virtualNumbers/{number}/jobs comes from that number", n->sender_for_response);
            return -1;
        }
        if (s->sender && !api_vnum_match(s->sender, vnum, cfg->default_region)) {
            fail(&s->result, API_SEND_INVALID, 400, n->sender,
                 "Invalid value for parameter '%s': an SMS sent through "
                 "/virtualNumbers/{number}/jobs comes from that number; leave '%s' out",
                 n->sender, n->sender);
            return -1;
        }
    }
    /* senderForResponse: from the service's short number, whatever sender says. */
    if (s->sender_for_response) s->sender = NULL;

    json_t *recv = get(s, n->receivers);
    json_t *slot = get(s, n->slot);
    if (read_string(s, n->document_url, 0, &s->document_url) < 0) return -1;
    if ((recv != NULL) + (slot != NULL) + (s->document_url != NULL) > 1) {
        char list[128];
        fail(&s->result, API_SEND_INVALID, 400, n->receivers, "Give only one of %s",
             sources(n, list, sizeof list, "and"));
        return -1;
    }
    if (slot && read_slot(s, n->slot, slot) < 0) return -1;
    if (s->document_url && !api_url_valid(s->document_url)) {
        fail(&s->result, API_SEND_INVALID, 400, n->document_url,
             "Invalid value for parameter '%s': an absolute http or https URL is expected",
             n->document_url);
        return -1;
    }
    if (!slot && !s->document_url) {
        size_t max = n->receivers_max ? n->receivers_max : SEND_RECEIVERS_MAX;
        if (!recv) {
            char list[128];
            fail(&s->result, API_SEND_MISSING, 400, n->receivers, "Missing parameter %s",
                 sources(n, list, sizeof list, "or"));
            return -1;
        }
        if (!json_is_array(recv) || json_array_size(recv) == 0) {
            fail(&s->result, API_SEND_INVALID, 400, n->receivers,
                 "Invalid value for parameter '%s': a non-empty array of phone numbers is "
                 "expected", n->receivers);
            return -1;
        }
        if (json_array_size(recv) > max) {
            fail(&s->result, API_SEND_INVALID, 400, n->receivers,
                 "Invalid value for parameter '%s': at most %zu receivers per request",
                 n->receivers, max);
            return -1;
        }
        size_t i;
        json_t *v;
        json_array_foreach(recv, i, v) {
            if (!json_is_string(v)) {
                fail(&s->result, API_SEND_INVALID, 400, n->receivers,
                     "Invalid value for parameter '%s': element %zu is not a string",
                     n->receivers, i);
                return -1;
            }
            char msg[256];
            if (api_text_check(n->receivers, json_string_value(v), json_string_length(v), msg,
                               sizeof msg) < 0) {
                fail(&s->result, API_SEND_INVALID, 400, n->receivers, "%s", msg);
                return -1;
            }
        }
        s->receivers = recv;
    }
    if (s->sender && !(vnum && vnum[0])) {
        const char *type;
        if (!api_sender_valid(s->sender, &type)) {
            fail(&s->result, API_SEND_INVALID, 400, n->sender,
                 "Invalid value for parameter '%s': '%.40s' is neither an alphanumeric sender "
                 "(at most 11 characters, not all digits) nor a phone number", n->sender,
                 s->sender);
            return -1;
        }
    }
    return 0;
}

int api_send_read(api_send *s, json_t *obj, const api_send_names *names, const sg_config *cfg,
                  const char *vnum) {
    s->obj = json_incref(obj);
    s->names = names ? names : &api_send_job_names;
    s->result.status = 200;
    if (!json_is_object(obj)) {
        fail(&s->result, API_SEND_INVALID, 400, "", "A JSON object is expected");
        return -1;
    }
    if (read_fields(s, s->names, cfg, vnum) < 0) return -1;
    return s->receivers ? read_text(s, cfg, &s->text, &s->gi) : 0;
}

void api_send_fini(api_send *s) {
    if (s->way_free) s->way_free(s->way);
    s->way = NULL;
    s->way_free = NULL;
    json_decref(s->obj);
    s->obj = NULL;
    free(s->text);
    s->text = NULL;
}

static void ctx_free(void *p) {
    send_ctx *h = p;
    for (size_t i = 0; i < h->req.count; i++) free(h->valid[i]);
    free(h->valid);
    free(h->given);
    free(h->regions);
    free(h->bad);
    free(h->req.msgs);
    phone_set_fini(&h->seen);
    store_slot_fini(&h->slot.out);
    free(h->cr.send.invalid_json);
    free(h->stop);
    json_decref(h->bad_json);
    free(h->ids);
    free(h->rvalid);
    free(h->rinvalid);
    api_send_fini(&h->s);
    free(h);
}

api_send *api_send_parse(api_call *c, json_t *obj, const api_send_names *names) {
    if (c->h_free) c->h_free(c->h);
    c->h = NULL;
    c->h_free = NULL;
    send_ctx *h = api_call_state(c, sizeof *h, ctx_free);
    h->cfg = c->api->cfg;
    api_send *s = &h->s;
    api_send_read(s, obj, names, h->cfg, c->vnum);
    s->user_id = c->user_id; /* I2: a user's route or an authenticated way in (users.c) */
    return s;
}

api_send *api_send_of(api_call *c) {
    send_ctx *h = c->h;
    return &h->s;
}

/* ---- results of a run ---- */

/* Builds the result's arrays once (invariant 3). */
static void fill_result(send_ctx *h) {
    api_send_result *r = &h->s.result;
    if (h->filled) return;
    h->filled = 1;
    r->code = API_SEND_OK;
    r->status = 200;
    r->tag = h->s.tag;
    if (h->s.receivers) {
        size_t n = h->req.count;
        h->ids = sg_xcalloc(n + 1, sizeof *h->ids);
        h->rvalid = sg_xcalloc(n + 1, sizeof *h->rvalid);
        h->rinvalid = sg_xcalloc(h->nbad + n + 1, sizeof *h->rinvalid);
        for (size_t i = 0; i < h->nbad; i++) h->rinvalid[r->ninvalid++] = h->bad[i];
        /* Receivers that opted out of the service's marketing SMS (store_blacklist.h) are
         * refused like invalid ones: no id, not charged. */
        for (size_t i = 0; i < n; i++) {
            if (h->req.msgs[i].stoplisted) {
                h->rinvalid[r->ninvalid++] = h->given[i];
                continue;
            }
            h->ids[r->count] = h->req.msgs[i].id;
            h->rvalid[r->count++] = h->valid[i];
        }
        r->ids = h->ids;
        r->valid = h->rvalid;
        r->invalid = h->rinvalid;
        r->credits_removed = n ? h->req.total_credits : 0;
        r->credits_left = h->req.balance; /* read again when nothing was valid */
        return;
    }
    store_campaign_send_req *cs = &h->cr.send;
    r->templated = 1;
    r->campaign_id = cs->id;
    r->valid_count = cs->count;
    r->invalid_count = cs->invalid;
    r->invalid_json = cs->invalid_json ? cs->invalid_json : "[]";
    r->credits_removed = cs->total_credits;
    r->credits_left = cs->balance;
    h->bad_json = json_loads(r->invalid_json, 0, NULL);
    size_t nb = json_array_size(h->bad_json);
    h->rinvalid = sg_xcalloc(nb + 1, sizeof *h->rinvalid);
    for (size_t i = 0; i < nb; i++) {
        const char *v = json_string_value(json_object_get(json_array_get(h->bad_json, i),
                                                          "receiver"));
        if (v) h->rinvalid[r->ninvalid++] = v;
    }
    r->invalid = h->rinvalid;
}

json_t *api_send_report_json(const api_send_result *r) {
    json_t *ids = json_array(), *valid = json_array(), *invalid = json_array();
    for (size_t i = 0; i < r->count; i++) {
        json_array_append_new(ids, json_integer(r->ids[i]));
        json_array_append_new(valid, json_string(r->valid[i]));
    }
    for (size_t i = 0; i < r->ninvalid; i++)
        json_array_append_new(invalid, json_string(r->invalid[i]));
    json_t *o = json_object();
    json_object_set_new(o, "totalCreditsRemoved", api_credits_json(r->credits_removed));
    json_object_set_new(o, "invalidReceivers", invalid);
    json_object_set_new(o, "ids", ids); /* none for a templated send, as OVH */
    json_object_set_new(o, "validReceivers", valid);
    json_object_set_new(o, "tag", r->tag ? json_string(r->tag) : json_null());
    json_object_set_new(o, "creditsLeft", api_credits_json(r->credits_left));
    if (r->templated) { /* smsgate extras */
        json_t *bad = json_loads(r->invalid_json ? r->invalid_json : "[]", 0, NULL);
        json_object_set_new(o, "validReceiversCount", json_integer(r->valid_count));
        json_object_set_new(o, "invalidReceiversCount", json_integer(r->invalid_count));
        json_object_set_new(o, "invalidReceiversDetails", bad ? bad : json_array());
        json_object_set_new(o, "campaignId", json_string(r->campaign_id ? r->campaign_id : ""));
    }
    return o;
}

/* The report of the call's send (api_render_fn: also runs on the store thread). */
static json_t *render(api_call *c) {
    send_ctx *h = c->h;
    fill_result(h);
    return api_send_report_json(&h->s.result);
}

void api_send_reply_error(api_call *c, const api_send_result *r) {
    if (r->store_rc) {
        api_reply_store_error(c, r->store_rc, r->store_what);
        return;
    }
    api_reply_error(c, r->status >= 400 ? r->status : 500, r->error_code, "%s", r->message);
}

void api_send_reply(api_call *c, const api_send_result *r) {
    if (r->code != API_SEND_OK) {
        api_send_reply_error(c, r);
        return;
    }
    api_reply_rendered(c, render);
}

/* Maps a store error of a send to the result. what: "send", "campaign". The errors that are
 * not the send's own keep the store's code (result.store_rc) so that api_send_reply_error
 * answers them as every other route does (api_reply_store_error: Retry-After on 429, the
 * outage logged once). */
static void store_failed(send_ctx *h, int rc, int sender_bad, const char *sender,
                         int64_t need, int64_t have, const char *svc_name, const char *what) {
    api_send_result *r = &h->s.result;
    char a[32], b[32];
    if (rc == SG_EPERM && sender_bad == 1) {
        fail(r, API_SEND_SENDER_NOT_FOUND, 403, h->s.names->sender,
             "The sender '%s' does not exist for this account; declare it with POST "
             "/sms/%s/senders", sender, svc_name);
        return;
    }
    if (rc == SG_EPERM && sender_bad) {
        fail(r, API_SEND_SENDER_DISABLED, 403, h->s.names->sender,
             "The sender '%s' is not enabled (only senders with status 'enable' can send)",
             sender);
        return;
    }
    if (rc == SG_ENOCREDIT) {
        snprintf(a, sizeof a, "%g", (double)need / 1000.0);
        snprintf(b, sizeof b, "%g", (double)have / 1000.0);
        fail(r, API_SEND_NO_CREDIT, 402, NULL, "Not enough credits: this %s needs %s credits "
             "and the account has %s; nothing was sent", what, a, b);
        r->error_code = "INSUFFICIENT_CREDITS";
        return;
    }
    if (rc == SG_ETEMP) {
        fail(r, API_SEND_UNAVAILABLE, 503, NULL,
             "The server is stopping; nothing was sent, please retry");
        return;
    }
    /* The store's own errors, as api_reply_store_error words them. */
    r->store_rc = rc;
    switch (rc) {
    case SG_ENOTFOUND: fail(r, API_SEND_INTERNAL, 404, NULL, "This %s does not exist", what); break;
    case SG_ECONFLICT:
        fail(r, API_SEND_CONFLICT, 409, NULL, "This %s already exists or is busy", what);
        break;
    case SG_EPERM:
        fail(r, API_SEND_INTERNAL, 403, NULL, "This %s: this change is not allowed", what);
        break;
    case SG_ELIMIT:
        fail(r, API_SEND_LIMITED, 429, NULL, "Too many requests (request limit): retry in 1 s");
        break;
    case SG_EUNAVAIL:
        fail(r, API_SEND_UNAVAILABLE, 503, NULL, "The database is unreachable, please retry "
             "later");
        break;
    default: fail(r, API_SEND_INTERNAL, 500, NULL, "Internal error, please retry");
    }
    snprintf(r->store_what, sizeof r->store_what, "This %s", what);
}

/* Calls done once; done answers the call. */
static void finish(api_call *c) {
    send_ctx *h = c->h;
    if (h->s.result.code == API_SEND_OK) fill_result(h);
    h->done(c, &h->s.result);
}

/* ---- a list of receivers ---- */

static void on_submitted(int rc, void *arg) {
    api_call *c = arg;
    send_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    if (rc == SG_ENOCREDIT && h->req.quota_refused) { /* I2: the SMS user's quota */
        char need[32], left[32];
        snprintf(need, sizeof need, "%g", (double)h->req.total_credits / 1000.0);
        snprintf(left, sizeof left, "%g", (double)h->req.quota_left / 1000.0);
        fail(&h->s.result, API_SEND_QUOTA, 402, NULL, "Not enough quota for the SMS user "
             "'%s': this send needs %s credits and its quota has %s left; nothing was sent",
             c->user_login, need, left);
        h->s.result.error_code = "INSUFFICIENT_QUOTA";
    } else if (rc) {
        store_failed(h, rc, h->req.sender_status_bad, h->req.sender, h->req.total_credits,
                     h->req.balance, c->svc.svc.name, "send");
    } else if (h->req.handed < h->req.count) {
        dispatch_kick(c->api->d); /* (those handed over at insert need no claim) */
    }
    finish(c);
}

static void on_nothing_valid(int rc, void *arg) {
    api_call *c = arg;
    send_ctx *h = c->h;
    if (rc) store_failed(h, rc, 0, NULL, 0, 0, c->svc.svc.name, "service");
    else h->req.balance = c->svc.svc.balance;
    finish(c);
}

static void run_list(api_call *c, send_ctx *h) {
    api_send *s = &h->s;
    store_submit_req *r = &h->req;
    const sg_config *cfg = h->cfg;
    if (c->vnum[0]) {
        r->sender = c->vnum; /* the service's virtual number (vnum.c), not a declared sender */
    } else if (s->sender) {
        r->sender = s->sender;
        r->sender_check = 1;
    } else {
        r->sender = c->svc.svc.short_number;
    }
    r->stop_clause = !s->no_stop && cfg->stop_clause && cfg->stop_clause[0];
    size_t n = json_array_size(s->receivers);
    h->valid = sg_xcalloc(n, sizeof *h->valid);
    h->given = sg_xcalloc(n, sizeof *h->given);
    h->regions = sg_xcalloc(n, sizeof *h->regions);
    h->bad = sg_xcalloc(n, sizeof *h->bad);
    r->msgs = sg_xcalloc(n, sizeof *r->msgs);
    if (n > 1) phone_set_init(&h->seen, n);
    for (size_t i = 0; i < n; i++) {
        const char *given = json_string_value(json_array_get(s->receivers, i));
        phone_info pi;
        if (phone_normalize(given, cfg->default_region, &pi) != 0) {
            h->bad[h->nbad++] = given;
            continue;
        }
        if (n > 1 && !phone_set_add(&h->seen, pi.e164)) continue; /* the same number again */
        store_submit_msg *m = &r->msgs[r->count];
        h->valid[r->count] = sg_xstrdup(pi.e164);
        h->given[r->count] = given;
        m->receiver = h->valid[r->count];
        m->message = s->text;
        m->coding = s->gi.coding;
        m->length = (int64_t)s->gi.chars;
        m->parts = (int64_t)s->gi.parts;
        memcpy(h->regions[r->count], pi.region, sizeof h->regions[0]);
        h->regions[r->count][2] = '\0';
        m->region = h->regions[r->count]; /* priced by the store, in the send's transaction */
        r->count++;
    }
    r->tag = s->tag;
    if (r->count == 0) {
        /* Nothing valid: answer like OVH (200, everything invalid), store nothing. */
        r->sender = NULL; /* it may point into the service */
        store_service_fini(&c->svc.svc);
        store_service_get(c->api->st, &c->svc, on_nothing_valid, c);
        return;
    }
    r->service_id = c->svc.svc.id;
    r->priority = s->priority >= 0 ? s->priority : SEND_PRIORITY_DEFAULT;
    r->sms_class = s->sms_class;
    r->validity_min = s->validity_min;
    r->differed_min = s->differed_min;
    r->now_ms = sg_now_ms();
    r->due_ms = s->due_ms > 0 ? s->due_ms : r->now_ms + s->differed_min * 60000;
    if (r->due_ms < r->now_ms) r->due_ms = r->now_ms;
    if (s->due_ms > 0) r->differed_min = (r->due_ms - r->now_ms) / 60000;
    r->user_id = s->user_id; /* I2: the user's quota, its SMS, its callBack (store_users.h) */
    r->callback_url = s->callback_url; /* I3: the messages' own callback (sqlite_gateways.c) */
    r->callback_mask = s->callback_mask;
    store_submit_idem(c->api->st, r, api_idem_for(c, render), on_submitted, c);
}

/* ---- a receivers slot or document: a templated send ---- */

void api_send_load_error(api_send_result *r, int rc, const struct campaign_load_req *ld,
                         const char *field) {
    switch (rc) {
    case SG_EINVAL:
    case SG_EPERM:
    case SG_ENOTFOUND:
        if (ld->slot > 0 && rc == SG_ENOTFOUND && !ld->document_id) {
            fail(r, API_SEND_INVALID, 404, field, "The receivers slot %lld does not exist",
                 (long long)ld->slot);
            return;
        }
        fail(r, API_SEND_INVALID, 400, field, "Invalid value for parameter '%s': the receivers "
             "could not be loaded: %s; nothing was stored", field, ld->error);
        return;
    case SG_ECONFLICT:
        fail(r, API_SEND_CONFLICT, 409, field, "The receivers slot %lld already exists; delete "
             "it first (DELETE /sms/{serviceName}/receivers/%lld)", (long long)ld->slot,
             (long long)ld->slot);
        return;
    case SG_ETEMP:
        fail(r, API_SEND_UNAVAILABLE, 503, NULL,
             "The server is stopping; nothing was stored, please retry");
        return;
    case SG_ELIMIT:
        fail(r, API_SEND_LIMITED, 429, NULL, "Too many requests (request limit): retry in 1 s");
        break;
    default: fail(r, API_SEND_INTERNAL, 500, NULL, "Internal error, please retry");
    }
    r->store_rc = rc; /* answered as api_reply_store_error does */
    snprintf(r->store_what, sizeof r->store_what, "This receivers list");
}

void api_send_templated_result(api_call *c, api_send *s, int rc, const campaign_send_req *cr,
                               const char *what) {
    send_ctx *h = (send_ctx *)s;
    const store_campaign_send_req *cs = &cr->send;
    const api_send_names *n = s->names;
    const char *src = s->document_url ? n->document_url : s->receivers ? n->receivers : n->slot;
    if (!rc) return;
    if (cr->stage == CAMPAIGN_STAGE_LOAD) {
        api_send_load_error(&s->result, rc, &cr->ld, src);
    } else if (rc == SG_ENOTFOUND) {
        fail(&s->result, API_SEND_INVALID, 400, n->slot, "Invalid value for parameter '%s': "
             "no receivers slot %lld on this account", n->slot, (long long)cs->slot);
    } else if (rc == SG_EINVAL) {
        fail(&s->result, API_SEND_INVALID, 400, n->message, "Invalid value for parameter "
             "'%s': the variable #%s# names no column of the receivers list; nothing was sent",
             n->message, cs->bad_var);
    } else {
        store_failed(h, rc, cs->sender_status_bad, cs->sender, cs->total_credits, cs->balance,
                     c->svc.svc.name, what);
    }
}

static void on_templated(int rc, void *arg) {
    api_call *c = arg;
    send_ctx *h = c->h;
    if (api_idem_taken(c, rc)) return;
    api_send_templated_result(c, &h->s, rc, &h->cr, "campaign");
    finish(c);
}

static void on_slot(int rc, void *arg) {
    api_call *c = arg;
    send_ctx *h = c->h;
    const char *f = h->s.names->slot;
    if (rc == SG_ENOTFOUND) {
        fail(&h->s.result, API_SEND_INVALID, 400, f, "Invalid value for parameter '%s': no "
             "receivers slot %lld on this account", f, (long long)h->slot.slot);
        finish(c);
        return;
    }
    if (rc) {
        store_failed(h, rc, 0, NULL, 0, 0, c->svc.svc.name, "receivers slot");
        finish(c);
        return;
    }
    store_slot *sl = &h->slot.out;
    if (sl->auto_update && sl->csv_url) {
        /* autoUpdate: download the csvUrl again, swap the slot's list, then send. */
        h->cr.load = 1;
        h->cr.ld.service_id = c->svc.svc.id;
        h->cr.ld.csv_url = sl->csv_url;
        h->cr.ld.slot = sl->slot;
        h->cr.ld.replace = 1;
    } else {
        h->cr.send.slot = sl->slot;
    }
    int e = campaign_send(c->api->campaign, &h->cr, on_templated, c);
    if (e) {
        api_send_load_error(&h->s.result, e, &h->cr.ld, f);
        finish(c);
    }
}

void api_send_templated_init(api_call *c, api_send *s, store_campaign_send_req *cs) {
    send_ctx *h = (send_ctx *)s;
    const sg_config *cfg = h->cfg;
    assert(c->h == h);
    cs->service_id = c->svc.svc.id;
    cs->account_id = c->svc.svc.account_id;
    cs->kind = "job";
    cs->message = s->message;
    free(h->stop);
    h->stop = s->no_stop || !cfg->stop_clause || !cfg->stop_clause[0]
                  ? NULL : sg_xstrdup(cfg->stop_clause);
    cs->stop_clause = h->stop;
    cs->sender = s->sender ? s->sender : c->svc.svc.short_number;
    cs->sender_check = s->sender != NULL;
    cs->sender_for_response = s->sender == NULL;
    if (c->vnum[0]) { /* /virtualNumbers/{number}/jobs: from that number */
        cs->sender = c->vnum;
        cs->sender_check = 0;
        cs->sender_for_response = 0;
    }
    int prio = s->priority >= 0 ? s->priority : CAMPAIGN_DEFAULT_PRIORITY;
    cs->priority = prio < CAMPAIGN_TOP_PRIORITY ? CAMPAIGN_TOP_PRIORITY : prio;
    cs->sms_class = s->sms_class;
    cs->validity_min = s->validity_min;
    cs->now_ms = sg_now_ms();
    cs->due_ms = s->due_ms > 0 ? s->due_ms : cs->now_ms + s->differed_min * 60000;
    if (cs->due_ms < cs->now_ms) cs->due_ms = cs->now_ms;
    cs->differed_min = (cs->due_ms - cs->now_ms) / 60000;
    cs->max_parts = cfg->max_parts;
    cs->tag = s->tag;
    cs->report_limit = REPORT_LIMIT;
}

static void run_templated(api_call *c, send_ctx *h) {
    api_send *s = &h->s;
    if (!c->api->campaign) {
        fail(&s->result, API_SEND_UNAVAILABLE, 503, NULL,
             "Receiver lists are not available on this server");
        finish(c);
        return;
    }
    h->cr.idem = api_idem_for(c, render); /* an Idempotency-Key: kept with the send */
    api_send_templated_init(c, s, &h->cr.send);
    if (s->document_url) {
        h->cr.load = 1;
        h->cr.ld.service_id = c->svc.svc.id;
        h->cr.ld.csv_url = s->document_url;
        int e = campaign_send(c->api->campaign, &h->cr, on_templated, c);
        if (e) {
            api_send_load_error(&s->result, e, &h->cr.ld, s->names->document_url);
            finish(c);
        }
        return;
    }
    /* A slot: look at it first, for its autoUpdate. */
    h->slot.service_id = c->svc.svc.id;
    h->slot.slot = s->slot;
    store_slot_get(c->api->st, &h->slot, on_slot, c);
}

void api_send_run(api_call *c, api_send *s, api_send_done_cb done) {
    send_ctx *h = (send_ctx *)s;
    assert(c->h == h);
    h->done = done;
    if (s->result.code != API_SEND_OK) {
        finish(c);
        return;
    }
    if (s->receivers) {
        run_list(c, h);
    } else if (s->user_id) {
        /* I2: a templated send fans out in the campaign's own transactions, which do not take
         * a user's quota yet: refused rather than sent past the quota (docs/users.md). */
        fail(&s->result, API_SEND_INVALID, 400, s->names->receivers,
             "Invalid value for parameter '%s': an SMS user sends to a list of receivers; "
             "receivers slots and documents are sent by the service", s->names->receivers);
        finish(c);
    } else {
        run_templated(c, h);
    }
}
