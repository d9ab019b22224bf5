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

/* One query parameter of callurl_with(): its name (as it is) and its value (percent-encoded;
 * NULL is sent as an empty value). */
typedef struct callurl_kv {
    const char *key, *value;
} callurl_kv;

/* The URL of a call of another kind (an incoming reply to smsResponse's cgiUrl, a STOP to the
 * stopCallBack): base joined to the n parameters of kv, in that order, exactly as
 * callurl_status() joins its own (same '?'/'&' rule, fragment dropped, same encoding).
 * Returns a new string. */
char *callurl_with(const char *base, const callurl_kv *kv, size_t n);

/* The origin of an absolute http(s) URL, "scheme://host:port", lower-cased, with the default
 * port written out and any user info left out: "HTTP://u@Example.COM/x" gives
 * "http://example.com:80". Returns a new string, or NULL when url is not an http(s) URL with a
 * host and a valid port. */
char *callurl_origin(const char *url);

/* The query string of url: everything after the first '?' up to a '#' or the end. Returns a
 * pointer into url and its length in *len; an empty string (len 0) when there is none. */
const char *callurl_query(const char *url, size_t *len);

#endif
