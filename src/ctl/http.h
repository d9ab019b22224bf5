/*
 * http.h - smsctl's HTTP transport: one blocking request through libcurl's easy API, and the
 * one place that turns an answer into output (the raw JSON, a parsed value, or an error line).
 *
 * Owns: each call creates and frees its own curl handle; the answer's body belongs to the
 * caller's ctl_http_resp until ctl_http_resp_fini(). Single-threaded (smsctl has one thread).
 * Every function may block up to the --timeout.
 */
#ifndef SG_CTL_HTTP_H
#define SG_CTL_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "ctl/ctl.h"

#define CTL_HTTP_MAX_BODY (64u * 1024 * 1024) /* larger answers are refused */

typedef struct ctl_http_resp {
    long status; /* HTTP status code */
    char *body;  /* NUL-terminated (the NUL is not counted in len); never NULL after success */
    size_t len;
} ctl_http_resp;

/* Performs one request and waits for the whole answer. headers: NULL-terminated array of
 * "Name: value" lines, may be NULL. body: sent as is when non-NULL; a POST without body sends
 * "Content-Length: 0". The URL's path is sent exactly as given (no dot-segment squashing).
 * Returns 0 when an HTTP answer arrived, whatever its status, and fills resp (free it with
 * ctl_http_resp_fini); returns SG_EIO after printing the reason when no answer arrived. */
int ctl_http_request(const ctl_opts *o, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     ctl_http_resp *resp);

void ctl_http_resp_fini(ctl_http_resp *resp);

/* Prints an error answer on stderr in one line built from the OVH error body:
 *   "smsctl: 403 NOT_GRANTED_CALL: This call has not been granted"
 * (without errorCode: "smsctl: 404: message"; a body that is not the OVH error object is shown
 * as text, control characters replaced). */
void ctl_http_print_error(const ctl_http_resp *resp);

/* Handles a finished call the way every command does: a non-2xx status prints the error and
 * returns SG_EPERM; on success with --json the body is printed as is on stdout and *out is set
 * to NULL; otherwise the body is parsed into *out (a new reference, possibly json null) for the
 * command's human-readable form. Returns SG_EIO when a 2xx body is not JSON. */
int ctl_http_answer(const ctl_opts *o, const ctl_http_resp *resp, json_t **out);

#endif
