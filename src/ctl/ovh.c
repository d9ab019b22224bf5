/*
 * ovh.c - signed calls to the customer API, exactly as the OVH SDKs make them.
 *
 * Design: the SDKs (php-ovh, python-ovh) sign
 *     "$1$" + sha1_hex(AS + "+" + CK + "+" + METHOD + "+" + URL + "+" + BODY + "+" + TIMESTAMP)
 * where URL is the endpoint string + path, the very URL they send, and TIMESTAMP is local time
 * corrected by the difference to the server's clock, read once from GET /auth/time before the
 * first signed call. smsctl does the same with auth_signature() from auth/sign.h, the function
 * the server verifies with, so the two cannot drift apart. Headers sent on a signed call:
 *     X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp, X-Ovh-Signature,
 *     Content-Type: application/json
 * (php sends Content-Type on every call; the server does not require it on GET.)
 *
 * State: UNSYNCED (after ctl_ovh_new) -> SYNCED (sync_time(), on the first ctl_ovh_call).
 * A failed sync leaves the object UNSYNCED and the call fails; nothing is sent unsigned.
 *
 * Invariants:
 *   1. The endpoint has no trailing '/' and no default port (":80" for http, ":443" for
 *      https): curl leaves a default port out of the Host header, and the server rebuilds the
 *      signed URL from that header, so keeping ":80" would make every signature invalid.
 *   2. The string signed and the URL handed to curl are the same buffer.
 *   3. The application secret is only ever an input to auth_signature(); it is never printed.
 */
#include "ctl/ovh.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/sign.h"
#include "util/util.h"

struct ctl_ovh {
    const ctl_opts *opts;
    char *endpoint;  /* "http://127.0.0.1:8080/1.0", see invariant 1 */
    const char *ak;  /* application key, from the environment */
    const char *as;  /* application secret */
    const char *ck;  /* consumer key */
    int synced;      /* delta_s is valid */
    int64_t delta_s; /* server time - local time, seconds */
};

static int is_http_url(const char *s) {
    return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}

/* Normalises an endpoint in place: trailing slashes go, and so does a default port. */
static void normalize_endpoint(char *ep) {
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/') ep[--n] = '\0';
    int https = strncasecmp(ep, "https://", 8) == 0;
    char *host = strstr(ep, "://") + 3;
    char *path = strchr(host, '/');
    size_t hlen = path ? (size_t)(path - host) : strlen(host);
    const char *dflt = https ? ":443" : ":80";
    size_t dlen = strlen(dflt);
    if (hlen > dlen && strncmp(host + hlen - dlen, dflt, dlen) == 0)
        memmove(host + hlen - dlen, host + hlen, strlen(host + hlen) + 1);
}

static const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v && *v) return v;
    ctl_err("%s is not set: 'smsctl send' and 'smsctl status' sign their calls with "
            "OVH_APPLICATION_KEY, OVH_APPLICATION_SECRET and OVH_CONSUMER_KEY "
            "(printed by 'smsctl account create')",
            name);
    return NULL;
}

ctl_ovh *ctl_ovh_new(const ctl_opts *o) {
    const char *ak = need_env("OVH_APPLICATION_KEY");
    const char *as = ak ? need_env("OVH_APPLICATION_SECRET") : NULL;
    const char *ck = as ? need_env("OVH_CONSUMER_KEY") : NULL;
    if (!ck) return NULL;
    const char *env_ep = getenv("OVH_ENDPOINT");
    char *ep;
    if (is_http_url(env_ep) && strstr(env_ep, "://")[3] != '\0') {
        ep = sg_xstrdup(env_ep);
    } else {
        char *base = ctl_server_url(o);
        if (!base) return NULL;
        ep = sg_xasprintf("%s/1.0", base);
        free(base);
    }
    normalize_endpoint(ep);
    ctl_ovh *c = sg_xcalloc(1, sizeof *c);
    c->opts = o;
    c->endpoint = ep;
    c->ak = ak;
    c->as = as;
    c->ck = ck;
    return c;
}

void ctl_ovh_free(ctl_ovh *c) {
    if (!c) return;
    free(c->endpoint);
    free(c);
}

const char *ctl_ovh_endpoint(const ctl_ovh *c) { return c->endpoint; }

/* UNSYNCED -> SYNCED: reads the server's clock (a bare JSON integer, no authentication; the
 * application key is sent anyway, as every SDK does). */
static int sync_time(ctl_ovh *c) {
    char *url = sg_xasprintf("%s/auth/time", c->endpoint);
    char *h_app = sg_xasprintf("X-Ovh-Application: %s", c->ak);
    const char *headers[] = {h_app, NULL};
    ctl_http_resp resp;
    int rc = ctl_http_request(c->opts, "GET", url, headers, NULL, 0, &resp);
    int64_t local_s = sg_now_ms() / 1000;
    free(h_app);
    if (rc) {
        free(url);
        return rc;
    }
    if (resp.status != 200) {
        ctl_http_print_error(&resp);
        rc = SG_EPERM;
    } else {
        json_t *j = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, NULL);
        if (!json_is_integer(j)) {
            ctl_err("GET %s: expected the server time as a JSON integer, got '%.40s'", url,
                    resp.body);
            rc = SG_EIO;
        } else {
            c->delta_s = (int64_t)json_integer_value(j) - local_s;
            c->synced = 1;
        }
        json_decref(j);
    }
    ctl_http_resp_fini(&resp);
    free(url);
    return rc;
}

int ctl_ovh_call(ctl_ovh *c, const char *method, const char *path, const char *body,
                 ctl_http_resp *resp) {
    return ctl_ovh_call_with(c, method, path, body, NULL, resp);
}

int ctl_ovh_call_with(ctl_ovh *c, const char *method, const char *path, const char *body,
                      const char *header, ctl_http_resp *resp) {
    memset(resp, 0, sizeof *resp);
    if (!c->synced) {
        int rc = sync_time(c);
        if (rc) return rc;
    }
    size_t body_len = body ? strlen(body) : 0;
    char *url = sg_xasprintf("%s%s", c->endpoint, path);
    char ts[24];
    snprintf(ts, sizeof ts, "%" PRId64, sg_now_ms() / 1000 + c->delta_s);
    char sig[AUTH_SIG_LEN];
    auth_signature(c->as, c->ck, method, url, (const unsigned char *)body, body_len, ts, sig);

    char *h_app = sg_xasprintf("X-Ovh-Application: %s", c->ak);
    char *h_ck = sg_xasprintf("X-Ovh-Consumer: %s", c->ck);
    char *h_ts = sg_xasprintf("X-Ovh-Timestamp: %s", ts);
    char *h_sig = sg_xasprintf("X-Ovh-Signature: %s", sig);
    const char *headers[] = {h_app, h_ck, h_ts, h_sig, "Content-Type: application/json", header,
                             NULL};
    int rc = ctl_http_request(c->opts, method, url, headers, body, body_len, resp);
    free(h_app);
    free(h_ck);
    free(h_ts);
    free(h_sig);
    free(url);
    return rc;
}
