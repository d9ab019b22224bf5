/*
 * callbacks.c - the operator's view of status callbacks, under /admin (docs/admin-api.md):
 *
 *   GET  /admin/services/{sn}/callbacks[?state=pending|dead|delivered&limit=N]
 *        the service's calls, oldest first; without state, the pending and dead ones
 *   POST /admin/services/{sn}/callbacks/replay   [{"ids":[...]}]
 *        makes calls again: the given ones, or every dead one; answers {"replayed":N}
 *   GET  /admin/services/{sn}/callback-secret
 *        {"secret":"..."}: the key of the X-Smsgate-Signature header, created on first use
 *
 * The customer API never shows the secret (GET /sms/{sn} does not carry it): the operator hands
 * it over (smsctl service secret). Every route needs the admin token (checked in api.c).
 * A replay wakes the notifier through the store's own hook; nothing here talks to notify/.
 */
#include "api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define REPLAY_MAX_IDS 10000
#define LIST_MAX 10000

/* ---- GET .../callbacks ---- */

static void list_free(void *p) {
    store_notify_list_req *r = p;
    free(r->json);
    free(r);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    store_notify_list_req *r = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, json_loads(r->json, 0, NULL));
}

static void callbacks_list(api_call *c) {
    static const char *const states[] = {"pending", "delivered", "dead"};
    int state = -1;
    const char *s = http_req_param(c->req, "state");
    if (s) {
        for (int i = 0; i < 3; i++)
            if (!strcmp(s, states[i])) state = i;
        if (state < 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'state': '%.40s' is not "
                                          "one of pending, dead, delivered", s);
            return;
        }
    }
    int64_t limit = 0;
    const char *l = http_req_param(c->req, "limit");
    if (l) {
        char *end;
        errno = 0;
        limit = strtoll(l, &end, 10);
        if (!*l || *end || errno || limit < 1 || limit > LIST_MAX) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'limit': an integer "
                                          "from 1 to %d is expected", LIST_MAX);
            return;
        }
    }
    store_notify_list_req *r = api_call_state(c, sizeof *r, list_free);
    r->service_name = c->req->segs[2];
    r->state = state;
    r->limit = (size_t)limit;
    store_notify_list(c->api->st, r, on_list, c);
}

/* ---- POST .../callbacks/replay ---- */

typedef struct replay_ctx {
    store_notify_replay_req req;
    int64_t *ids;
} replay_ctx;

static void replay_free(void *p) {
    replay_ctx *h = p;
    free(h->ids);
    free(h);
}

static void on_replay(int rc, void *arg) {
    api_call *c = arg;
    replay_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No such service, or one of the callback ids is not one "
                                      "of its calls");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, json_pack("{s:I}", "replayed", (json_int_t)h->req.replayed));
}

static void callbacks_replay(api_call *c) {
    replay_ctx *h = api_call_state(c, sizeof *h, replay_free);
    if (c->body && !json_is_object(c->body)) {
        api_reply_error(c, 400, NULL, "The request body must be a JSON object or empty");
        return;
    }
    json_t *ids = c->body ? json_object_get(c->body, "ids") : NULL;
    if (ids && !json_is_null(ids)) {
        size_t n = json_is_array(ids) ? json_array_size(ids) : 0;
        if (!json_is_array(ids) || n == 0 || n > REPLAY_MAX_IDS) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'ids': an array of 1 to "
                                          "%d callback ids is expected", REPLAY_MAX_IDS);
            return;
        }
        h->ids = sg_xcalloc(n, sizeof *h->ids);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(ids, i);
            if (!json_is_integer(v) || json_integer_value(v) < 1) {
                api_reply_error(c, 400, NULL, "Invalid value for parameter 'ids': element %zu "
                                              "is not a positive integer", i);
                return;
            }
            h->ids[i] = json_integer_value(v);
        }
        h->req.ids = h->ids;
        h->req.count = n;
    }
    h->req.service_name = c->req->segs[2];
    h->req.now_ms = sg_now_ms();
    store_notify_replay(c->api->st, &h->req, on_replay, c);
}

/* ---- GET .../callback-secret ---- */

static void secret_free(void *p) {
    store_notify_secret_req *r = p;
    free(r->secret);
    free(r);
}

static void on_secret(int rc, void *arg) {
    api_call *c = arg;
    store_notify_secret_req *r = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "This service");
        return;
    }
    api_reply_json(c, json_pack("{s:s}", "secret", r->secret));
}

static void callback_secret(api_call *c) {
    store_notify_secret_req *r = api_call_state(c, sizeof *r, secret_free);
    r->service_name = c->req->segs[2];
    store_notify_secret(c->api->st, r, on_secret, c);
}

const api_route api_callback_routes[] = {
    {"GET", "/admin/services/{}/callbacks", API_ADMIN, callbacks_list},
    {"POST", "/admin/services/{}/callbacks/replay", API_ADMIN, callbacks_replay},
    {"GET", "/admin/services/{}/callback-secret", API_ADMIN, callback_secret},
    {NULL, NULL, 0, NULL},
};
