/*
 * api_int.h - declarations shared by the files of api/ only.
 *
 * One api_call exists per request, from routing to reply. A handler finishes by calling
 * exactly one api_reply_*() function, which answers the client and frees the call: after it,
 * the handler must not touch the call again (helpers that reply on bad input return -1 so the
 * handler can just return).
 */
#ifndef SG_API_INT_H
#define SG_API_INT_H

#include <jansson.h>

#include "api/api.h"
#include "core/ratelimit.h"

struct api {
    const sg_config *cfg;
    store *st;
    dispatch *d;
    char *admin_token;
    char **public_urls; /* NULL-terminated, from cfg->public_url */
    struct campaign *campaign; /* receiver lists and campaigns (api_set_campaign) */
    struct hlr_provider *hlr;  /* HLR lookups (api_set_hlr, hlr.c); NULL: none */
    struct api_cache *cache;   /* api_cache.h: auth lookups and services (api.c owns it) */
    /* Rate limits (api.c): one table per kind; the per-key limit depends on the account. */
    rl_table *rl_key, *rl_addr, *rl_cred;
    rl_limit addr_limit, cred_limit;
    struct event *expire_ev; /* housekeeping: pending consumer keys past their TTL */
    int expiring;            /* expire is in flight */
    store_credential_expire_req expire;
    /* idem.c: calls with an Idempotency-Key in flight, and the pruning of old records */
    struct api_idem_call *idem_flight;
    struct event *idem_prune_ev;
    store_idem_prune_req idem_prune;
    int idem_pruning;
    struct console_sessions *console_sessions; /* console.c: the console's sessions */
    struct api_users *users; /* users.c: the password worker, verified credentials, failures */
};

typedef struct api_call api_call;
typedef void (*api_handler_fn)(api_call *c);

enum {
    API_NOAUTH = 1,   /* no OVH authentication (auth headers ignored) */
    API_SERVICE = 2,  /* path segment 1 is a service name to load and check ownership of */
    API_ADMIN = 4,    /* admin token required */
    API_BODY = 8,     /* a JSON object body is required */
    API_RAW = 16,     /* the body is not JSON: left unparsed (document uploads) */
    API_SVC_CACHE = 32, /* with API_SERVICE: the service may come from api_cache.h (the
                          handler must not show its balance without reading it again) */
    API_IDEM = 64      /* a POST that creates something: honours Idempotency-Key (idem.c); its
                          handler queues the creation with api_idem_for() and replies with
                          api_reply_rendered() */
};

typedef struct api_route {
    const char *method;
    const char *pattern; /* "/sms/{}/jobs/{}": {} matches one segment */
    int flags;
    api_handler_fn fn;
} api_route;

struct api_call {
    api *api;
    http_req *req;
    const api_route *route;
    json_t *body;                 /* parsed JSON body, or NULL */
    int64_t account_id;           /* authenticated account */
    store_auth_lookup_req auth;   /* the credential used */
    store_service_get_req svc;    /* API_SERVICE: the service */
    void *h;                      /* the handler's own state */
    void (*h_free)(void *);       /* frees h with the call, if set */
    int flush_cache;              /* authorized call that may change what api_cache.h keeps */
    struct api_idem_call *idem;   /* idem.c: the call carries an Idempotency-Key, else NULL */
    char *base_url;               /* api_base_url's answer, kept once asked on the loop thread */
    char vnum[24];                /* vnum.c: the virtual number (E.164) of a
                                   * /sms/{sn}/virtualNumbers/{number}/... route once checked to
                                   * be the service's; "" on every other route */
    int64_t user_id;              /* users.c: the SMS user of a /sms/{sn}/users/{login}/...
                                   * route once checked (api_user_then), or authenticated
                                   * (api_user_auth); 0 = none (the service itself) */
    char user_login[40];          /* that user's login; "" with user_id 0 */
    char user_service[96];        /* api_user_auth: the user's service name, which c->svc.name
                                   * points to (it lives with the call) */
};

/* ---- Idempotency-Key (idem.c) ---- */

/* Renders a handler's success answer from its state (c->h) once its creating operation
 * succeeded. Runs on the store thread when the call carries an Idempotency-Key: it may read
 * the call and its state, nothing shared, and must not reply. Returns a new JSON value. */
typedef json_t *(*api_render_fn)(api_call *c);

/* Called by api.c before an API_IDEM route's handler. Returns 0 when the request carries no
 * Idempotency-Key (go on). Returns 1 when it took the call over: it replied (400 malformed
 * key, 409 same key in flight, 422 same key with another request, or the replayed first
 * answer), or it will call next(c) once the key is known to be new. */
int api_idem_begin(api_call *c, void (*next)(api_call *c));
/* Releases the call's idempotency state (call_free). */
void api_idem_end(api_call *c);
/* Starts / stops the pruning of old idempotency records (api_start, api_stop). */
void api__idem_start(api *a, struct event_base *base);
void api__idem_stop(api *a);
/* The record to queue the handler's creating operation with (store_<op>_idem), rendered by
 * fn; NULL when the call carries no key. Borrowed until the call is answered. */
store_idem *api_idem_for(api_call *c, api_render_fn fn);
/* First thing in the callback of an operation queued with api_idem_for(): when the key was
 * taken by a concurrent duplicate at commit time (rc SG_ECONFLICT, the operation rolled back),
 * replies with that duplicate's answer (or 422) and returns 1; otherwise returns 0. */
int api_idem_taken(api_call *c, int rc);
/* Replies the success answer: the bytes recorded with the creation when there are some, else
 * fn(c) (the same function given to api_idem_for). */
void api_reply_rendered(api_call *c, api_render_fn fn);

/* Route tables of each resource file, terminated by a NULL method. */
extern const api_route api_auth_routes[];
extern const api_route api_service_routes[];
extern const api_route api_job_routes[];
extern const api_route api_sender_routes[];
extern const api_route api_admin_routes[];
extern const api_route api_callback_routes[];    /* callbacks.c */
extern const api_route api_order_routes[];       /* orders.c */
extern const api_route api_price_admin_routes[]; /* prices_admin.c */
extern const api_route api_route_admin_routes[]; /* routes_admin.c */
extern const api_route api_document_routes[];    /* documents.c */
extern const api_route api_receiver_routes[];    /* receivers.c */
extern const api_route api_batch_routes[];       /* batches.c */
extern const api_route api_incoming_routes[];    /* incoming.c */
extern const api_route api_incoming_admin_routes[]; /* incoming.c */
extern const api_route api_vnum_routes[];        /* vnum.c */
extern const api_route api_hlr_routes[];         /* hlr.c */
extern const api_route api_phonebook_routes[];   /* phonebooks.c */
extern const api_route api_gateway_routes[];     /* gateways.c: http2sms, Kannel's sendsms */

/* The start of every /sms/{sn}/virtualNumbers/{number}/... route (vnum.c): checks that path
 * segment 3 is one of the service's virtual numbers (404 otherwise), sets c->vnum, releases
 * its own state and calls next(c), which then runs as on the plain route, with c->vnum
 * forcing the sender (send.c) or filtering on it. */
void api_vnum_then(api_call *c, api_handler_fn next);
/* 1 when s (a path or query value, in any form vnum.h reads) names c->vnum. */
int api_vnum_is(const api_call *c, const char *s);
/* The same without a call: 1 when s names the virtual number vnum (E.164). */
int api_vnum_match(const char *s, const char *vnum, const char *default_region);

/* Checks v, a partial sms.Response given for parameter name (only the model's keys, each of
 * its type, responseType one of cgi, none, text, cgiUrl an http(s) URL), and merges it over
 * stored (JSON text, NULL = the default: responseType none). Returns the result as new JSON
 * text, or NULL after replying 400 (services.c). */
char *api_sms_response_merge(api_call *c, const char *name, json_t *v, const char *stored);
extern const api_route api_blacklist_routes[];   /* blacklists.c */
extern const api_route api_user_routes[];        /* users.c */
extern const api_route api_export_routes[];      /* export.c */

/* Whose receivers slots a call handles, as the store keys them (store_slot_req.service_id):
 * the service's id, or on a /sms/{sn}/users/{login}/... route (c->user_id set) minus the SMS
 * user's id, so that a user's slot 1 is not the service's slot 1 (receivers.c). */
int64_t api_receivers_owner(const api_call *c);

/* ---- SMS users (users.c; docs/users.md) ---- */

/* The start of every /sms/{sn}/users/{login}/... route: checks that path segment 3 is a user
 * of the service (404 otherwise), sets c->user_id and c->user_login, releases its own state
 * and calls next(c), which then runs as on the service's route, with c->user_id restricting
 * it to the user's SMS (and a send to the user's quota: store_submit_req.user_id). */
void api_user_then(api_call *c, api_handler_fn next);
/* Authenticates an SMS user for the ways in that carry a login and a password (http2sms,
 * Kannel's sendsms). service_name may be NULL: then login is "serviceName/login", or a login
 * alone that only one service has. done(c, rc) runs later on the loop thread, never from
 * inside the call: rc 0 when the password is the user's and c->req->peer is within the user's
 * ipRestrictions; then c->user_id, c->user_login, c->account_id and c->svc (the service, read
 * from the store; c->svc.name points to c->user_service, which lives with the call) are set. SG_EPERM for a wrong login, a wrong password, an address outside
 * the restrictions or a login several services have, in the same time whichever it is (the
 * slow hash is verified in every case, on a worker thread); SG_ELIMIT when that login or that
 * address failed too often lately (user-auth-failures; nothing is verified then); SG_EIO or
 * SG_EUNAVAIL when the store failed. The caller keeps c->h for itself: nothing of it is
 * touched. */
void api_user_auth(api_call *c, const char *service_name, const char *login,
                   const char *password, void (*done)(api_call *c, int rc));
/* Starts / stops the password worker (api_start, api_stop), and forgets the verified
 * credentials (api_config_changed: a user changed on some node). */
/* GET /sms/{sn}'s userQuantityWithQuota and creditsHoldByQuota: reads the service's users,
 * then calls next(c, users with an active quota, millicredits their quotas hold) with the
 * call's state released (or replies the store's error itself). */
void api_user_quotas(api_call *c, void (*next)(api_call *c, int64_t users, int64_t held));
void api__users_start(api *a, struct event_base *base);
void api__users_stop(api *a);
void api__users_forget(api *a);
extern const api_route api_hours_admin_routes[]; /* hours_admin.c */
extern const api_route api_health_routes[];      /* health.c: /healthz, /readyz */
extern const api_route api_console_routes[];     /* console.c */

/* A call whose only credential is a console session cookie (id, n bytes): console.c checks the
 * session, its CSRF token and what it may call, then goes on as an authenticated call would
 * (api__proceed), or replies 401/403. */
void api__console_authorize(api_call *c, const char *id, size_t n);
/* Frees the console's sessions (api_free). */
void api__console_free(api *a);
/* The rest of an authenticated call: its Idempotency-Key, its service, its handler (api.c). */
void api__proceed(api_call *c);
/* 1 when this build serves method on pattern ("/admin/services/{}/templates/{}"): the console
 * shows a page only when the API under it exists (api.c). */
int api__route_known(const char *method, const char *pattern);
extern const api_route api_ops_routes[];         /* ops.c */
extern const api_route api_template_routes[];    /* templates.c */
extern const api_route api_sender_doc_routes[];  /* sender_docs.c */
/* POST /sms/{sn}/receivers/{slotId}/clean and its user variant (ops.c): the slot is the
 * path's last segment but one. */
void api_receivers_clean(api_call *c);

/* Adds "heldUntil" to an sms.Job / sms.Outgoing object o of m: when marketing hours hold it,
 * the time it will leave, else null (hours_admin.c). */
void api_hours_field(api_call *c, json_t *o, const store_msg *m);

/* Allocates the handler's zeroed state of size bytes as c->h, freed with the call by free_fn
 * (plain free() when free_fn is free). Every handler with state starts with it. */
void *api_call_state(api_call *c, size_t size, void (*free_fn)(void *));

/* ---- replies (each frees the call) ---- */
void api_reply_json(api_call *c, json_t *body); /* takes ownership; NULL = JSON null */
/* 200 with a raw body (copied). */
void api_reply_raw(api_call *c, const char *content_type, const void *data, size_t len);
/* status with a raw body (copied). */
/* Frees c once its reply was streamed with http_reply_stream_*() on c->req (documents.c):
 * call it right after http_reply_stream_start() returned 1, _end() or _abort(). */
void api_call_streamed(api_call *c);
void api_reply_bytes(api_call *c, int status, const char *content_type, const void *data,
                     size_t len);
void api_reply_error(api_call *c, int status, const char *error_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a store error to status + message: ENOTFOUND 404, ECONFLICT 409, EPERM 403,
 * ENOCREDIT 402, ELIMIT 429 (Retry-After: 1), others 500. what says what was attempted
 * ("This sender"). */
void api_reply_store_error(api_call *c, int rc, const char *what);
/* OVH's 404 for an object named by its numeric id: "The requested object (id = N) does not
 * exist". */
void api_reply_no_id(api_call *c, int64_t id);
/* A store operation on the object with this id failed (rc != 0): SG_ENOTFOUND is
 * api_reply_no_id, anything else api_reply_store_error(c, rc, what). Returns 1 when it replied
 * (rc != 0), else 0, so that callbacks write `if (api_reply_id_failed(...)) return;`. */
int api_reply_id_failed(api_call *c, int rc, int64_t id, const char *what);

/* Takes one unsigned POST /auth/credential for the client's address. Returns 0, or -1 after
 * replying 429 (credential-rate-per-address). */
int api_limit_credential(api_call *c);
/* A consumer key requested before this wall-clock time and still not validated has expired
 * (consumer-key-pending-ttl-s); 0 when requests never expire. */
int64_t api_pending_before_ms(const api *a);
/* 429 with OVH's error body and "Retry-After: <seconds, rounded up>". */
void api_reply_limited(api_call *c, int64_t retry_ms, const char *what);

/* ---- body field readers: 0 when present and valid, 1 when absent or null (and not
 * required), -1 after replying 400 naming the field ---- */
int api_field_string(api_call *c, const char *name, int required, const char **out);
int api_field_bool(api_call *c, const char *name, int required, int *out);
int api_field_int(api_call *c, const char *name, int required, int64_t min, int64_t max,
                  int64_t *out);
int api_field_number(api_call *c, const char *name, int required, double *out);
/* values: NULL-terminated; *out is the index of the value. */
int api_field_enum(api_call *c, const char *name, int required, const char *const *values,
                   int *out);

/* The same readers without a call, on any object (NULL name or obj: absent): 0 present and
 * valid, 1 absent or null (and not required), API_GET_MISSING (required and absent) or
 * API_GET_INVALID with the 400 message written into msg (size n, API_GET_MSG is enough). */
#define API_GET_MISSING (-2)
#define API_GET_INVALID (-1)
#define API_GET_MSG 640
int api_get_string(json_t *obj, const char *name, int required, const char **out, char *msg,
                   size_t n);
int api_get_bool(json_t *obj, const char *name, int required, int *out, char *msg, size_t n);
int api_get_int(json_t *obj, const char *name, int required, int64_t min, int64_t max,
                int64_t *out, char *msg, size_t n);
int api_get_enum(json_t *obj, const char *name, int required, const char *const *values,
                 int *out, char *msg, size_t n);

/* ---- free-text limits (limits.c, the one table; docs/api.md "Field limits") ---- */
#define API_TEXT_MAX_DEFAULT 255
/* The most characters field may hold: "description", or "templates.smsBody" for a key of an
 * object; API_TEXT_MAX_DEFAULT for a field the table does not name. */
size_t api_text_max(const char *field);
/* 0 when the len bytes at s (UTF-8) are within field's limit; otherwise replies 400 naming
 * field and the limit, and returns -1. api_field_string() calls it for every string. */
int api_text_ok(api_call *c, const char *field, const char *s, size_t len);
/* The same check without a call: 0, or -1 with the 400 message written into msg (size n). */
int api_text_check(const char *field, const char *s, size_t len, char *msg, size_t n);

/* Parses a path segment as a positive id; replies 404 and returns -1 if it is not one. */
int api_path_id(api_call *c, int seg, int64_t *out);
/* Reads the query parameter name as an ISO-8601 date-time into *out (ms): 0 with *out = 0
 * when it is absent, 0 when it parses, else replies 400 and returns -1. */
int api_query_time(api_call *c, const char *name, int64_t *out);

/* export.c: answers GET .../document (the history export) for the call's service; user_id 0
 * exports the service's SMS, else only that SMS user's (its route loads the user first). */
void api_export_history(api_call *c, int64_t user_id);

/* Credits: millicredits -> JSON number. */
json_t *api_credits_json(int64_t milli);
/* Epoch ms -> ISO-8601 JSON string; 0 -> JSON null. */
json_t *api_time_json(int64_t ms);

/* 1 if s is a valid sender name: alphanumeric ("alpha": 1-11 letters, digits, spaces or
 * . - _ & ' !, not all digits) or a number ("numeric": '+' and 3-15 digits, or more than 6
 * digits; "shortcode": 3-6 digits). *type is set on success. */
int api_sender_valid(const char *s, const char **type);

/* The base of every URL the API hands out (validationUrl, document put/get URLs, order url),
 * new, without a trailing '/': the first public-url when one is configured, else the scheme of
 * the listener and the address the client connected to ("http://127.0.0.1:8080"). Never the
 * Host header: a client must not be able to make the server hand out URLs on a host of its
 * choosing (issue 12, point 7). */
char *api_base_url(api_call *c);
/* Computes and keeps the call's base URL on the loop thread, so that a render running on the
 * store thread (api_idem_for) reads the kept copy and never the connection. */
void api__base_url_keep(api_call *c);

/* 1 if url is an absolute http(s) URL with a host. */
int api_url_valid(const char *url);

#endif
