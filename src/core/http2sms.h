/*
 * http2sms.h - the pure parts of OVH's http2sms (api/gateways.c serves it at
 * /cgi-bin/sms/http2sms.cgi; docs/api.md, "http2sms"): the content types an answer can take,
 * the answer in each of them, and the `deferred` date (hhmmddMMYYYY, French time).
 *
 * Pure, no state: callable from any thread. Strings returned as "new" are freed by the
 * caller with free().
 */
#ifndef SG_CORE_HTTP2SMS_H
#define SG_CORE_HTTP2SMS_H

#include <stddef.h>
#include <stdint.h>

/* OVH's statuses: 100 accepted (sent now), 101 accepted (deferred), 201 a parameter is
 * missing, 202 a parameter is invalid, 241 the sender is not one of the account's, 401 the
 * login, password or calling address is refused. */
enum {
    H2S_OK = 100,
    H2S_OK_DEFERRED = 101,
    H2S_MISSING = 201,
    H2S_INVALID = 202,
    H2S_SENDER_NOT_FOUND = 241,
    H2S_AUTH = 401
};

typedef enum h2s_format { H2S_PLAIN, H2S_XML, H2S_JSON, H2S_HTML } h2s_format;

/* The format of an answer from the contentType parameter: NULL or "" is text/plain;
 * text/plain, text/xml, application/xml, text/json, application/json and text/html are
 * known (case-insensitive). Returns 0, or -1 for any other value (*out is then text/plain,
 * the format the error is given in). */
int h2s_format_of(const char *content_type, h2s_format *out);

/* The Content-Type header of an answer in format f (with "; charset=utf-8"). A static
 * string. */
const char *h2s_content_type(h2s_format f);

/* One answer. On success (status 100 or 101): credits_left in millicredits and the ids of the
 * SMS; otherwise message says what was wrong. */
typedef struct h2s_answer {
    int status;
    int64_t credits_left;
    const int64_t *ids;
    size_t count;
    const char *message;
} h2s_answer;

/* The answer's body in format f:
 *   text/plain  "OK\n<credits>\n<id>\n..." or "KO\n<status> <message>\n"
 *   text/html   the same lines, each followed by <br>, in <HTML><BODY>
 *   text/xml    <response><status>..</status><creditLeft>..</creditLeft>
 *               <smsIds><smsId>..</smsId>...</smsIds></response>, or status and message
 *   text/json   {"status":100,"creditLeft":"1987","SmsIds":["123"]} or
 *               {"status":201,"message":"..."}
 * Credits are written as a decimal number without a trailing zero ("1987", "85.95").
 * Returns a new string. */
char *h2s_render(h2s_format f, const h2s_answer *a);

/* Millicredits as OVH writes a credit count: "1987", "85.95", "0.5". Into out (>= 32). */
void h2s_credits(int64_t millicredits, char *out, size_t n);

/* Reads deferred, "hhmmddMMYYYY" (12 digits) in French time (Europe/Paris: CET/CEST), into
 * epoch milliseconds. An hour that happens twice is its first instant; one that never
 * happens (clocks going forward) the instant the gap ends. Returns 0, or -1 when s is not a
 * valid date of that form. */
int h2s_deferred_ms(const char *s, int64_t *out_ms);

#endif
