/*
 * sms.c - "smsctl send" and "smsctl status": the customer side of the API, used from a shell.
 *
 * Design: each command builds its path from percent-encoded segments, its body with jansson
 * (compact, ASCII-only like the SDKs' bodies, keys in the order of the OVH schema), and makes
 * signed calls through ctl_ovh (ovh.c). The sending report and the SMS objects are the OVH
 * types sms.SmsSendingReport, sms.Outgoing and sms.Job (spec/ovh-sms-api.md 5.2-5.3); their
 * status codes are explained with the deliveryReceipt table of spec section 5.5.
 *
 * Invariants:
 *   1. Optional fields are sent only when given on the command line, so the server's defaults
 *      apply otherwise; flags are only ever sent as true.
 *   2. "status" tries /outgoing/{id} first and /jobs/{id} only on a 404, because an SMS lives
 *      in /jobs while pending and in /outgoing afterwards (same id space, spec 5.2).
 *   3. "send" always carries an Idempotency-Key (--idempotency-key, or 128 random bits per
 *      invocation) and retries once, with the same key and body, when no answer arrived: a
 *      send committed whose answer was lost is answered by the server's replay, not sent
 *      again (docs/api.md).
 */
#include "ctl/sms.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "ctl/http.h"
#include "ctl/ovh.h"
#include "util/jsonfmt.h"
#include "util/util.h"

#define STDIN_MESSAGE_MAX (1024 * 1024) /* bytes; a longer message on stdin is refused */
#define NUM_BUF 64

/* Reads the whole message from standard input, without one trailing line break (the one echo
 * and here-documents add). Returns a new string, or NULL after printing why. */
static char *read_stdin_message(void) {
    size_t cap = 4096, len = 0;
    char *buf = sg_xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len > STDIN_MESSAGE_MAX) {
            ctl_err("the message on standard input is longer than %d bytes", STDIN_MESSAGE_MAX);
            free(buf);
            return NULL;
        }
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = sg_xrealloc(buf, cap);
        }
    }
    if (ferror(stdin)) {
        ctl_err("cannot read the message from standard input");
        free(buf);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n') len--;
    if (len > 0 && buf[len - 1] == '\r') len--;
    buf[len] = '\0';
    return buf;
}

/* Builds the jobs body; returns NULL (after printing why) when a string is not UTF-8. */
static json_t *send_body(const ctl_sms_send_req *r, const char *message) {
    json_t *b = json_object(), *rcv = json_array();
    json_object_set_new(b, "receivers", rcv);
    for (size_t i = 0; i < r->nto; i++) {
        json_t *s = json_string(r->to[i]);
        if (!s) {
            ctl_err("receiver '%s' is not valid UTF-8", r->to[i]);
            goto bad;
        }
        json_array_append_new(rcv, s);
    }
    json_t *m = json_string(message);
    if (!m) {
        ctl_err("the message is not valid UTF-8 (is your terminal's locale UTF-8?)");
        goto bad;
    }
    json_object_set_new(b, "message", m);
    if (r->sender) {
        json_t *s = json_string(r->sender);
        if (!s) {
            ctl_err("the sender is not valid UTF-8");
            goto bad;
        }
        json_object_set_new(b, "sender", s);
    }
    if (r->sender_for_response) json_object_set_new(b, "senderForResponse", json_true());
    if (r->no_stop) json_object_set_new(b, "noStopClause", json_true());
    if (r->tag) {
        json_t *s = json_string(r->tag);
        if (!s) {
            ctl_err("the tag is not valid UTF-8");
            goto bad;
        }
        json_object_set_new(b, "tag", s);
    }
    if (r->differed != CTL_SMS_NO_DIFFERED)
        json_object_set_new(b, "differedPeriod", json_integer(r->differed));
    if (r->priority) json_object_set_new(b, "priority", json_string(r->priority));
    return b;
bad:
    json_decref(b);
    return NULL;
}

/* Prints the values of a JSON array on one line after a label: "ids: 1 2". */
static void print_list(const char *label, const json_t *arr) {
    char buf[NUM_BUF];
    size_t i;
    json_t *v;
    fputs(label, stdout);
    json_array_foreach(arr, i, v) printf(" %s", ctl_fmt(v, buf, sizeof buf));
    fputc('\n', stdout);
}

static void print_report(const json_t *rep) {
    char buf[NUM_BUF];
    const json_t *ids = json_object_get(rep, "ids");
    const json_t *invalid = json_object_get(rep, "invalidReceivers");
    const json_t *removed = json_object_get(rep, "totalCreditsRemoved");
    const json_t *left = json_object_get(rep, "creditsLeft");
    if (json_is_array(ids)) print_list("ids:", ids);
    if (json_array_size(invalid) > 0) print_list("invalid receivers:", invalid);
    if (removed) printf("credits removed: %s\n", ctl_fmt(removed, buf, sizeof buf));
    if (left) printf("credits left: %s\n", ctl_fmt(left, buf, sizeof buf));
}

int ctl_sms_send(const ctl_opts *o, const ctl_sms_send_req *r) {
    char *stdin_msg = NULL;
    const char *message = r->message;
    if (strcmp(message, "-") == 0) {
        stdin_msg = read_stdin_message();
        if (!stdin_msg) return SG_EIO;
        message = stdin_msg;
    }
    json_t *body = send_body(r, message);
    free(stdin_msg);
    if (!body) return SG_EINVAL;
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);

    ctl_ovh *c = ctl_ovh_new(o);
    if (!c) {
        free(text);
        return SG_EIO;
    }
    char *sn = ctl_segment(r->service);
    char *path = sg_xasprintf("/sms/%s/jobs", sn);
    /* Invariant 3: one key per invocation, so the retry below (or the user's own rerun with
     * --idempotency-key) cannot send twice. */
    char key[48] = "";
    if (!r->idempotency_key) {
        unsigned char rnd[16];
        if (RAND_bytes(rnd, sizeof rnd) != 1) {
            ctl_err("no random bytes for an Idempotency-Key");
            free(path);
            free(sn);
            free(text);
            ctl_ovh_free(c);
            return SG_EIO;
        }
        memcpy(key, "smsctl-", 7);
        for (size_t i = 0; i < sizeof rnd; i++) snprintf(key + 7 + 2 * i, 3, "%02x", rnd[i]);
    }
    char *header = sg_xasprintf("Idempotency-Key: %s", r->idempotency_key ? r->idempotency_key
                                                                          : key);
    ctl_http_resp resp;
    int rc = ctl_ovh_call_with(c, "POST", path, text, header, &resp);
    if (rc != 0) {
        fprintf(stderr, "smsctl: no answer; retrying once with the same Idempotency-Key (%s)\n",
                header + strlen("Idempotency-Key: "));
        rc = ctl_ovh_call_with(c, "POST", path, text, header, &resp);
    }
    free(header);
    if (rc == 0) {
        json_t *rep;
        rc = ctl_http_answer(o, &resp, &rep);
        if (rc == 0 && rep) {
            if (json_is_object(rep)) {
                print_report(rep);
            } else {
                json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | SG_JSON_REALS);
                fputc('\n', stdout);
            }
        }
        json_decref(rep);
        ctl_http_resp_fini(&resp);
    }
    free(path);
    free(sn);
    free(text);
    ctl_ovh_free(c);
    return rc;
}

/* The meaning of deliveryReceipt values (spec 5.5, OVH's "DLR id" table). */
static const char *dlr_label(const json_t *v) {
    if (!json_is_integer(v)) return "unknown";
    switch (json_integer_value(v)) {
    case 0: return "Pending";
    case 1: return "Success";
    case 2: return "Failed";
    case 4: return "Waiting at the operator";
    case 8: return "Buffered by the operator";
    case 16: return "Error, not billed";
    default: return "unknown";
    }
}

static void print_sms(const json_t *sms, int64_t id) {
    char b_id[NUM_BUF], b_dlr[NUM_BUF], b_ptt[NUM_BUF], b_sent[NUM_BUF], b_dlvd[NUM_BUF];
    const json_t *jid = json_object_get(sms, "id");
    const json_t *dlr = json_object_get(sms, "deliveryReceipt");
    if (jid)
        ctl_fmt(jid, b_id, sizeof b_id);
    else
        snprintf(b_id, sizeof b_id, "%" PRId64, id);
    printf("id %s: deliveryReceipt %s (%s), ptt %s, sentAt %s, deliveredAt %s\n", b_id,
           ctl_fmt(dlr, b_dlr, sizeof b_dlr), dlr_label(dlr),
           ctl_fmt(json_object_get(sms, "ptt"), b_ptt, sizeof b_ptt),
           ctl_fmt(json_object_get(sms, "sentAt"), b_sent, sizeof b_sent),
           ctl_fmt(json_object_get(sms, "deliveredAt"), b_dlvd, sizeof b_dlvd));
}

int ctl_sms_status(const ctl_opts *o, const char *service, int64_t id) {
    ctl_ovh *c = ctl_ovh_new(o);
    if (!c) return SG_EIO;
    char *sn = ctl_segment(service);
    char *path = sg_xasprintf("/sms/%s/outgoing/%" PRId64, sn, id);
    ctl_http_resp resp;
    int rc = ctl_ovh_call(c, "GET", path, NULL, &resp);
    if (rc == 0 && resp.status == 404) {
        ctl_http_resp_fini(&resp);
        free(path);
        path = sg_xasprintf("/sms/%s/jobs/%" PRId64, sn, id);
        rc = ctl_ovh_call(c, "GET", path, NULL, &resp);
    }
    if (rc == 0) {
        json_t *sms;
        rc = ctl_http_answer(o, &resp, &sms);
        if (rc == 0 && sms) {
            if (json_is_object(sms)) {
                print_sms(sms, id);
            } else {
                json_dumpf(sms, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | SG_JSON_REALS);
                fputc('\n', stdout);
            }
        }
        json_decref(sms);
        ctl_http_resp_fini(&resp);
    }
    free(path);
    free(sn);
    ctl_ovh_free(c);
    return rc;
}
