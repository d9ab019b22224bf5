/*
 * limits.c - the maximum length of every free-text field the API stores (issue 12): the one
 * table, and the check every handler goes through.
 *
 * Design. A field is known by its name in the request body ("description"), or by its path
 * for a key of an object or array ("templates.smsBody", "tags.value", "accessRules.path").
 * api_field_string() checks every string it reads against this table, so a handler that reads
 * a field the usual way cannot forget the limit; handlers that read nested values call
 * api_text_ok() themselves. A name that is not in the table gets API_TEXT_MAX_DEFAULT: nothing
 * a client sends is stored without a bound. OVH's schema gives no lengths; where its
 * documentation gives none either, the limit is a reasonable one, listed in docs/api.md
 * ("Field limits"), which must be kept in step with this table.
 *
 * Lengths are counted in characters (Unicode code points), as customers count them; jansson
 * has already checked that the text is UTF-8. The count stops at the limit, so a 2 MB value
 * costs no more than a valid one.
 *
 * Invariants:
 *  1. Every string an api/ handler stores from a request body went through api_text_ok()
 *     (directly or through api_field_string()), or is checked by a stricter rule of its own
 *     (a sender name, an enum, a phone number).
 *  2. A refusal is a 400 naming the field, with the limit, before anything is stored.
 */
#include "api/api_int.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/gsm.h"

/* Messages: the number of parts (max-parts, at most 255 x 153 characters) is the real limit;
 * this only bounds the work of counting them. */
#define MESSAGE_MAX 40000

static const struct {
    const char *field;
    size_t max;
} limits[] = {
    /* Labels and notes. */
    {"description", 255},           /* services, senders, receivers slots */
    {"name", 255},                  /* batches, documents, routes, accounts */
    {"tag", 128},                   /* jobs, batches, campaigns */
    {"reason", 1024},               /* a sender's note to the moderator; an admin credit's */
    {"comment", 1024},              /* the operator's note on a sender */
    {"reference", 255},             /* an order's payment reference (admin) */
    /* URLs. */
    {"callBack", 2048},
    {"stopCallBack", 2048},
    {"csvUrl", 2048},
    {"receiversDocumentUrl", 2048},
    {"redirection", 2048},
    {"smsResponse.cgiUrl", 2048},
    /* Texts. */
    {"message", MESSAGE_MAX},
    {"smsResponse.text", 1600},     /* an SMS answer: 10 parts of 160 */
    {"templates.smsBody", 1600},
    {"templates.emailBody", 10000},
    {"templates.emailSubject", 255},
    {"templates.emailFrom", 254},   /* the longest e-mail address (RFC 5321) */
    {"tags.key", 255},              /* /me/document tags */
    {"tags.value", 255},
    {"accessRules.path", 512},
    {"to", 64},                     /* a batch's receivers, as phone_normalize() reads them */
    {"tlsCa", 1024},                /* an SMPP route's CA file (admin) */
};

/* No row of the table is below this, so a shorter value needs no look-up (the send path reads
 * three or four short strings per request). Asserted in api_text_max(). */
#define TEXT_MIN_LIMIT 64

size_t api_text_max(const char *field) {
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        assert(limits[i].max >= TEXT_MIN_LIMIT);
        if (!strcmp(limits[i].field, field)) return limits[i].max;
    }
    return API_TEXT_MAX_DEFAULT;
}

int api_text_check(const char *field, const char *s, size_t len, char *msg, size_t n) {
    if (len <= TEXT_MIN_LIMIT) return 0; /* the common case, without looking the field up */
    size_t max = api_text_max(field);
    if (len <= max) return 0; /* bytes >= characters */
    size_t chars = gsm_utf8_chars(s, len, max);
    if (chars != (size_t)-1 && chars <= max) return 0;
    if (chars == (size_t)-1)
        snprintf(msg, n, "Invalid value for parameter '%s': not valid UTF-8", field);
    else
        snprintf(msg, n, "Invalid value for parameter '%s': too long, at most %zu characters "
                         "are allowed", field, max);
    return -1;
}

int api_text_ok(api_call *c, const char *field, const char *s, size_t len) {
    char msg[256];
    if (api_text_check(field, s, len, msg, sizeof msg) == 0) return 0;
    api_reply_error(c, 400, NULL, "%s", msg);
    return -1;
}
