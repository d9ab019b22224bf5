/*
 * kannel.h - what smsgate shares with Kannel, the gateway whose `sendsms` interface it
 * serves (api/gateways.c, docs/migrating-from-kannel.md): the dlr-mask bits, which of them a
 * status event is, and the expansion of a dlr-url template with Kannel's escapes.
 *
 * Pure, no state: callable from any thread. The store expands a message's dlr-url inside the
 * transaction that records the status event (core/callurl.h does the same for OVH's
 * callBack), so that every retry of the call sends the same URL. Strings returned as "new"
 * are freed by the caller with free().
 */
#ifndef SG_CORE_KANNEL_H
#define SG_CORE_KANNEL_H

#include <stdint.h>

/* Kannel's dlr-mask bits, and the value of %d in a dlr-url. */
enum {
    KANNEL_DLR_DELIVERED = 1,      /* delivered to the phone */
    KANNEL_DLR_UNDELIVERED = 2,    /* not delivered to the phone */
    KANNEL_DLR_BUFFERED = 4,       /* queued on the SMSC */
    KANNEL_DLR_SMSC_ACK = 8,       /* accepted by the SMSC */
    KANNEL_DLR_SMSC_NACK = 16,     /* refused by the SMSC */
    KANNEL_DLR_ALL = 31
};

/* The Kannel type of a status event: state is the message's new msg_state (core/receipt.h),
 * was_sent whether an operator had accepted the message (a failure after that is "not
 * delivered", 2; before, "refused by the SMSC", 16). 0 for a state no callback reports
 * (scheduled, queued, submitting, cancelled). */
int kannel_dlr_type(int state, int was_sent);

/* What a dlr-url's escapes are replaced with. NULL strings are empty. */
typedef struct kannel_dlr {
    int type;                /* %d: a KANNEL_DLR_* value */
    int dlr;                 /* OVH's deliveryReceipt of the event (for %A) */
    int64_t id;              /* %I: the SMS id */
    int64_t ts_ms;           /* %T (epoch seconds), %t ("YYYY-MM-DD HH:MM", UTC) */
    const char *phone;       /* %p, %q: the number the SMS was sent to */
    const char *sender;      /* %P, %Q: the SMS's sender */
    const char *text;        /* %b, %a, %k, %s, %S, %r: the SMS's text */
    const char *smsc;        /* %i: the route that carried it */
    const char *foreign_id;  /* %F: the operator's id of the SMS */
    int coding;              /* %c, %C: gsm_coding (0 GSM 7-bit, 1 UCS-2) */
    int mclass;              /* %m: the class (0 flash ... 3 SIM toolkit), < 0 none */
} kannel_dlr;

/* The URL tmpl with each escape replaced by its value, percent-encoded (only A-Z a-z 0-9
 * - . _ ~ stay as they are; %S is the exception Kannel makes: not encoded, '*' turned into
 * '~'). Escapes: %d %A %I %T %t %p %q %P %Q %b %a %k %s %S %r %i %F %c %C %m (the table is in
 * docs/migrating-from-kannel.md), and "%%" gives '%'. %n (the sendsms user's name) is
 * replaced before the URL is stored (kannel_dlr_url_user); any other '%' sequence is kept as
 * it is. Returns a new string. */
char *kannel_dlr_url(const char *tmpl, const kannel_dlr *d);

/* tmpl with every %n replaced by user, percent-encoded with each '%' doubled (done once,
 * when the SMS is sent: the store does not keep who sent it); kannel_dlr_url() turns "%%"
 * back into '%'. Returns a new string. */
char *kannel_dlr_url_user(const char *tmpl, const char *user);

/* The reply Kannel reports in %A for an event: "ACK/" (8), "NACK/" (16), or the receipt's
 * stat word: DELIVRD (1), ENROUTE (4), UNDELIV (2 with OVH's dlr 16), REJECTD (2 with dlr 2).
 * A static string. */
const char *kannel_dlr_reply(int type, int dlr);

#endif
