/*
 * callurl.h - the URL of a status callback: the service's callBack with the event appended,
 * the origin ("scheme://host:port") the notifier counts its concurrency under, and the query
 * string the signature covers.
 *
 * Pure, no state: callable from any thread. The store builds a call's URL and origin inside
 * the transaction that records the status event (both backends call these, so they build the
 * same URL); notify/notify.c signs the query. Strings returned as "new" are freed by the
 * caller with free().
 */
#ifndef SG_CORE_CALLURL_H
#define SG_CORE_CALLURL_H

#include <stddef.h>
#include <stdint.h>

/* What a status callback reports (docs/callbacks.md has the wire form). */
typedef struct callurl_params {
    int64_t id;            /* the SMS id */
    int dlr, ptt;          /* deliveryReceipt and ptt of the event */
    int64_t date_ms;       /* when the event was recorded; sent as epoch seconds */
    const char *sender, *receiver, *tag; /* NULL is sent as an empty value */
} callurl_params;

/* The URL of a status callback: base without its fragment, then '?' (no query yet) or '&'
 * (a query is there; nothing when it already ends in '?' or '&'), then
 *   id, dlr, ptt, date, sender, receiver, description, descriptionDlr, tag
 * in that order, each value percent-encoded (only A-Z a-z 0-9 - . _ ~ stay as they are, so a
 * '+' in a number arrives as %2B and never turns into a space). Returns a new string. */
char *callurl_status(const char *base, const callurl_params *p);

/* What a stopCallBack call reports: a mobile opted out of a service's marketing SMS
 * (docs/replies.md, "STOP and blacklists", has the wire form). */
typedef struct callurl_stop_params {
    int64_t id;            /* the SMS with the STOP clause the mobile answered (0: none) */
    const char *number;    /* the mobile, now blacklisted (E.164) */
    const char *receiver;  /* the number the STOP was sent to (a short or virtual number) */
    const char *message;   /* the text received */
    int64_t date_ms;       /* when it was received; sent as epoch seconds */
    const char *batch_id;  /* the batch of that SMS, NULL: none */
    const char *tag;       /* that SMS's tag, NULL: none */
    int64_t incoming_id;   /* the incoming message (0: none) */
} callurl_stop_params;

/* The URL of a stopCallBack call, base extended as callurl_status does, with
 *   id, sender (= number), number, receiver, message, date, batchID, tag, incomingId
 * in that order, each value percent-encoded; NULL and 0 are sent as empty values. Returns a
 * new string. */
char *callurl_stop(const char *base, const callurl_stop_params *p);

/* The origin of an absolute http(s) URL, "scheme://host:port", lower-cased, with the default
 * port written out and any user info left out: "HTTP://u@Example.COM/x" gives
 * "http://example.com:80". Returns a new string, or NULL when url is not an http(s) URL with a
 * host and a valid port. */
char *callurl_origin(const char *url);

/* The query string of url: everything after the first '?' up to a '#' or the end. Returns a
 * pointer into url and its length in *len; an empty string (len 0) when there is none. */
const char *callurl_query(const char *url, size_t *len);

#endif
