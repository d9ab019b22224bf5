/*
 * ovh.h - smsctl as an OVH API customer: calls signed the way the official SDKs sign them
 * (spec/ovh-sms-api.md section 2), with the keys taken from the environment.
 *
 * Owns: a ctl_ovh holds the endpoint (new string) and borrows the three keys from the
 * environment; ctl_ovh_free() releases it. Single-threaded; every call may block up to the
 * --timeout.
 */
#ifndef SG_CTL_OVH_H
#define SG_CTL_OVH_H

#include "ctl/ctl.h"
#include "ctl/http.h"

typedef struct ctl_ovh ctl_ovh;

/* Reads OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET, OVH_CONSUMER_KEY and the endpoint:
 * OVH_ENDPOINT when it is an http(s) URL ("http://127.0.0.1:8080/1.0"), otherwise the server
 * URL (ctl_server_url) + "/1.0". Returns NULL after printing why when something is missing.
 * Borrows o until ctl_ovh_free(). */
ctl_ovh *ctl_ovh_new(const ctl_opts *o);
void ctl_ovh_free(ctl_ovh *c);

/* Returns the endpoint, borrowed until ctl_ovh_free(). */
const char *ctl_ovh_endpoint(const ctl_ovh *c);

/* Performs one signed call to endpoint + path. path starts with '/', its segments already
 * percent-encoded (ctl_segment). body: the exact JSON bytes, or NULL for none (signed as the
 * empty string). The first call first reads GET {endpoint}/auth/time and keeps the difference
 * to the local clock for X-Ovh-Timestamp. Returns 0 when an answer arrived (any status; resp
 * filled, free it with ctl_http_resp_fini) or an SG_E* code after printing why. */
int ctl_ovh_call(ctl_ovh *c, const char *method, const char *path, const char *body,
                 ctl_http_resp *resp);
/* The same with one more header line ("Name: value"; NULL for none), sent but not signed. */
int ctl_ovh_call_with(ctl_ovh *c, const char *method, const char *path, const char *body,
                      const char *header, ctl_http_resp *resp);

#endif
