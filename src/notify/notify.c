/*
 * notify.c - delivery of status callbacks (see notify.h; the queue is in store_notify.h, the
 * rules of one call in call.h, the contract for customers in docs/callbacks.md).
 *
 * Design. The queue lives in the store; this file only holds what it claimed. A claim
 * (store_notify_claim) leases due calls, at most one per SMS at a time and none for an origin
 * that already has QUEUE_LOW_FACTOR * host_limit calls waiting here; each claimed call joins
 * the queue of its origin (scheme, host, port), and an origin runs at most host_limit attempts
 * at once. So a dead origin holds a bounded number of calls in memory and never takes the
 * claims of the others, while a fast one is refilled before its queue runs dry. An attempt is
 * one curl easy handle in one curl multi handle; the multi handle is driven by the loop through
 * curl_multi_socket_action(): curl tells us which sockets to watch (on_curl_socket: one
 * libevent event per socket) and when to wake it (on_curl_timer: one timer), so no thread
 * polls and the loop never blocks on a customer's server. Finished attempts are gathered
 * during one loop pass and stored as one store_notify_finish operation (group commit).
 *
 * Most new calls are not claimed at all: once the first claim has released an earlier run's
 * leases, the store hands a call over when its status event commits, already leased to this
 * node (store_notify_set_direct; on_take() queues it like a claimed call). That saves a
 * claim query and a lease write per call (3 % of smsgated's instructions in
 * bench/compare.mjs). A call behind an earlier pending call of its SMS, and every call while
 * memory holds 3/4 of MAX_IN_MEMORY (direct_adjust), is claimed as before. A handed-over
 * call joins its origin's queue even when that origin is busy, so its lease
 * (direct_lease_ms) outlasts the longest wait memory allows.
 *
 * A call behind an earlier PENDING call of its SMS is handed over too when that call is leased
 * to this node as well (store_notify_call.after: an SMS's "accepted" call is usually still
 * being made when its receipt queues the "delivered" one). It is PARKED behind that call
 * (found by id in `byid`) and queued once that call ended: delivered or dead, the order
 * holds. When that call fails and waits for a retry, or has left memory with no known end
 * (`recent`, the ends of the calls made lately), the parked call is released (its lease
 * given up, no attempt) and the claim makes both in order. So the second call of an SMS is
 * neither claimed nor leased again (docs/benchmarks.md).
 *
 * When claims happen: on the store's wake-up hook (a status event queued a call; a replay),
 * when outcomes were stored (the next event of an SMS may now be claimable, an origin has
 * room; while calls are handed over, at most once per AFTER_OUTCOMES_MS: most outcomes then
 * leave nothing to claim, and a claim per batch of outcomes was most of the notifier's
 * statements), when the earliest retry comes due (due_ev), when a claim came back full, and every
 * HOUSEKEEPING_MS as a safety net (leases of a failed write expire, clocks jump).
 *
 * Two clients. A call to a plain http:// URL whose host is a literal IP address or a DNS name
 * in canonical form (the common case: hclient_target_parse() says which) goes through
 * hclient.c, a lean keep-alive GET client on the same loop that costs a few microseconds per
 * call where curl's per-transfer machinery cost tens; it resolves names itself with evdns, on
 * the loop, through a cache of answers. Everything else (https, user info, unusual hosts, and
 * names when evdns could not read the system's name servers) goes through curl. The rules do
 * not depend on the client: the same destination guard (notify_call_addr_refused() on the
 * literal address here, on every resolved address inside hclient through its refuse hook;
 * refused with the same error), the same headers, timeouts and outcome rules (call_done()); a
 * name that cannot be resolved fails the attempt, which is retried, as with curl. A 3xx answer
 * to the fast client is not an outcome: curl continues the call from its Location, under the
 * guard, as if curl had made the first request itself (fast_done() -> curl_begin()).
 *
 * A call's states here (call->where):
 *   QUEUED  in its origin's queue          claim returned it: on_claimed() -> host_enqueue()
 *   ACTIVE  its easy handle is in multi,   host_pump() -> call_start()
 *           or its hclient request runs    (k->fast; fast_done() may move it to curl)
 *   PARKED  behind the call it follows     on_take(); queued by call_done() of that one
 *           (that one's succ chain)        (through `ready`), or released with it
 *   (gone)  outcome added to the batch     call_done(); or abandoned by stop_transfers()
 * A call that cannot even start (no easy handle, a refused address) goes straight to
 * call_done() as a failure.
 *
 * Invariants:
 *  1. host->inflight <= host_limit, and n->inflight is the sum over hosts.
 *  2. A claimed call is either in memory (QUEUED or ACTIVE), or its outcome is in a batch
 *     being stored, or it was abandoned at stop; in every case it stays leased until an
 *     outcome is stored or the next start releases the lease. Nothing is lost.
 *  3. Objects are never freed inside a curl callback: easy handles are removed and freed in
 *     check_done(), after curl_multi_socket_action() returned; idle hosts are freed there too.
 *     hclient frees its request before calling fast_done(), which may then free the call.
 *  4. The wake-up hook is registered exactly while the notifier is started and not stopped.
 */
#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <jansson.h>

#include "core/callurl.h"
#include "notify/call.h"
#include "notify/hclient.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define LOG "notify"
#define HOST_BUCKETS 256
#define MAX_IN_MEMORY 4096      /* claimed calls held at once (queued + active) */
#define DIRECT_CAP 1024         /* handed-over calls waiting to be taken, at most */
#define QUEUE_LOW_FACTOR 4      /* an origin gets more claimed calls while fewer than this many
                                   times host_limit wait in its queue */
#define ID_BUCKETS 4096         /* calls held here, by id (successors find the call they follow) */
#define RECENT_SLOTS 16384      /* ends of the calls made lately, by id (direct-mapped) */
#define HOUSEKEEPING_MS 5000
#define AFTER_OUTCOMES_MS 50    /* the claim after outcomes, at most this often while handed */
#define CONNECT_TIMEOUT_MAX_MS 10000
#define MAX_REDIRS 3L
#define MAX_CONNECTS 256L       /* idle connections kept for reuse */
#define MAX_SPARE_EASY 64       /* finished easy handles kept for the next attempts */
#define IDLE_KEEP_MS 30000      /* hclient: how long an idle connection is kept */
#define USER_AGENT "smsgate/" SMSGATE_VERSION " (status callback)"

typedef struct host host;
typedef struct call call;

enum { CALL_QUEUED = 1, CALL_ACTIVE = 2, CALL_PARKED = 3 };

struct call {
    notify *n;
    host *h;
    store_notify_call k;      /* strings owned */
    int where;
    CURL *easy;
    hclient_req *fast;        /* ACTIVE on the fast client: its request */
    struct curl_slist *headers;
    notify_guard guard;
    char err[CURL_ERROR_SIZE];
    call *next, *prev;        /* QUEUED: host queue (next only); ACTIVE: n->active list;
                                 moving from PARKED to QUEUED: n->ready (next only) */
    call *hnext;              /* byid chain */
    call *succ;               /* the call PARKED behind this one, if any (a chain) */
};

struct host {
    char *origin;
    int inflight;
    call *qhead, *qtail;
    size_t queued;
    host *next;               /* bucket chain */
};

typedef struct sock {
    struct event *ev;
} sock;

typedef struct batch {
    notify *n;
    store_notify_finish_req req;
    store_notify_result *res;
    char **errs;              /* owned copies of res[i].error */
    size_t cap;
} batch;

typedef struct claim_ctx {
    notify *n;
    store_notify_claim_req req;
    char *busy;
} claim_ctx;

struct notify {
    struct event_base *base;
    store *st;
    /* /metrics (notify_get_stats): outcomes of attempts, and the seconds from a call's first
     * attempt (its event, for a call handed over at insert) to its 2xx answer */
    uint64_t n_delivered, n_failed, n_dead;
    sg_hist seconds;
    notify_options opt;
    char *node;
    int64_t lease_ms;
    CURLM *multi;
    hclient *hc;              /* the fast client for plain http:// URLs; NULL once stopped */
    struct event *curl_timer, *wake_ev, *due_ev, *tick_ev, *flush_ev, *soon_ev;
    int started, stopping, claiming, again, recovered;
    int64_t armed_for;        /* due_ev target, 0 = not armed */
    host *hosts[HOST_BUCKETS];
    size_t inflight, queued;
    call *active;             /* ACTIVE calls, for abandoning them at stop */
    batch *cur;               /* outcomes gathered during this loop pass */
    size_t writes;            /* batches being stored */
    CURL *spare[MAX_SPARE_EASY]; /* easy handles of finished attempts, reset before reuse:
                                    creating one per attempt showed in profiles */
    size_t nspare;
    int fast_names;           /* the fast client resolves host names (see hclient_options) */
    uint64_t fast_attempts, curl_attempts, handed;
    struct event *take_ev;    /* calls handed over at insert are waiting (store_notify_take) */
    int64_t direct_lease_ms;  /* the lease of a handed-over call */
    int direct;               /* 0 closed, 1 open, 2 open but full (no new calls) */
    call *byid[ID_BUCKETS];   /* every call held here (QUEUED, ACTIVE, PARKED), by id */
    size_t parked;            /* PARKED calls, and those in `ready` */
    struct {
        int64_t id;
        int ended;            /* 1 delivered or dead; 0 failed and waiting, or released */
    } recent[RECENT_SLOTS];
    call *ready_head, *ready_tail; /* unparked, to be queued by on_ready */
    struct event *ready_ev;
};

static void claim(notify *n);
static void host_pump(notify *n, host *h);
static void direct_ready(void *arg);
static void direct_adjust(notify *n);

/* ---- the destination guard ---- */

static curl_socket_t guard_open(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
    notify_guard *g = clientp;
    if (purpose == CURLSOCKTYPE_IPCXN && notify_call_addr_refused(&a->addr, g->allow_private)) {
        const void *raw = a->family == AF_INET6
                              ? (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr
                              : (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;
        if ((a->family != AF_INET && a->family != AF_INET6) ||
            !inet_ntop(a->family, raw, g->refused, sizeof g->refused))
            snprintf(g->refused, sizeof g->refused, "family %d", a->family);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int notify_guard_forbidden(const notify_guard *guard) {
    return guard->refused[0] &&
           notify_call_addr_text_class(guard->refused) == NOTIFY_ADDR_FORBIDDEN;
}

void notify_guard_apply(CURL *easy, notify_guard *guard) {
    guard->refused[0] = '\0';
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, guard_open);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, guard);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

/* ---- origins ---- */

static unsigned bucket(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % HOST_BUCKETS;
}

static host *host_get(notify *n, const char *origin) {
    unsigned b = bucket(origin);
    for (host *h = n->hosts[b]; h; h = h->next)
        if (!strcmp(h->origin, origin)) return h;
    host *h = sg_xcalloc(1, sizeof *h);
    h->origin = sg_xstrdup(origin);
    h->next = n->hosts[b];
    n->hosts[b] = h;
    return h;
}

/* Frees h when nothing uses it any more. */
static void host_release(notify *n, host *h) {
    if (h->inflight || h->queued) return;
    host **pp = &n->hosts[bucket(h->origin)];
    while (*pp != h) pp = &(*pp)->next;
    *pp = h->next;
    free(h->origin);
    free(h);
}

/* ---- outcomes ---- */

static void on_finished(int rc, void *arg) {
    batch *b = arg;
    notify *n = b->n;
    if (rc != 0)
        sg_log_error(LOG, "Storing the outcome of %zu callbacks failed (%s); they stay leased "
                          "and are made again when the lease ends or smsgated restarts.",
                     b->req.count, sg_strerror(rc));
    for (size_t i = 0; i < b->req.count; i++) free(b->errs[i]);
    free(b->errs);
    free(b->res);
    free(b);
    n->writes--;
    /* the next event of an SMS may be claimable now */
    if (n->direct != 1) claim(n);
    else if (!evtimer_pending(n->soon_ev, NULL)) {
        struct timeval tv = {0, AFTER_OUTCOMES_MS * 1000};
        evtimer_add(n->soon_ev, &tv);
    }
}

static void flush(notify *n) {
    batch *b = n->cur;
    if (!b) return;
    n->cur = NULL;
    b->req.results = b->res;
    n->writes++;
    store_notify_finish(n->st, &b->req, on_finished, b);
    direct_adjust(n); /* calls left memory: the hand-off may resume */
}

static void on_flush(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    flush(arg);
}

/* An easy handle for a new attempt: a spare one, reset, or a new one (NULL on failure). */
static CURL *easy_take(notify *n) {
    if (!n->nspare) return curl_easy_init();
    CURL *e = n->spare[--n->nspare];
    curl_easy_reset(e);
    return e;
}

/* Keeps the easy handle of a finished attempt (already removed from the multi handle). */
static void easy_give(notify *n, CURL *e) {
    if (n->nspare < MAX_SPARE_EASY) n->spare[n->nspare++] = e;
    else curl_easy_cleanup(e);
}

static size_t id_bucket(int64_t id) { return (size_t)((uint64_t)id % ID_BUCKETS); }

static void id_put(notify *n, call *k) {
    call **b = &n->byid[id_bucket(k->k.id)];
    k->hnext = *b;
    *b = k;
}

static void id_del(notify *n, call *k) {
    for (call **pp = &n->byid[id_bucket(k->k.id)]; *pp; pp = &(*pp)->hnext)
        if (*pp == k) {
            *pp = k->hnext;
            return;
        }
}

static call *id_find(notify *n, int64_t id) {
    for (call *k = n->byid[id_bucket(id)]; k; k = k->hnext)
        if (k->k.id == id) return k;
    return NULL;
}

static void recent_set(notify *n, int64_t id, int ended) {
    n->recent[(uint64_t)id % RECENT_SLOTS].id = id;
    n->recent[(uint64_t)id % RECENT_SLOTS].ended = ended;
}

/* Frees k and the calls parked behind it (which stay leased: see invariant 2). */
static void call_free(call *k) {
    notify *n = k->n;
    while (k->succ) {
        call *s = k->succ;
        k->succ = s->succ;
        s->succ = NULL;
        n->parked--;
        call_free(s);
    }
    id_del(n, k);
    if (k->easy) easy_give(k->n, k->easy);
    curl_slist_free_all(k->headers);
    store_notify_call_fini(&k->k);
    free(k);
}

/* A new result of call id in this loop pass's batch (err: owned by the batch, or NULL). */
static store_notify_result *result_add(notify *n, int64_t id, char *err) {
    if (!n->cur) {
        n->cur = sg_xcalloc(1, sizeof *n->cur);
        n->cur->n = n;
        event_active(n->flush_ev, EV_WRITE, 0);
    }
    batch *b = n->cur;
    if (b->req.count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->res = sg_xrealloc(b->res, b->cap * sizeof *b->res);
        b->errs = sg_xrealloc(b->errs, b->cap * sizeof *b->errs);
    }
    store_notify_result *r = &b->res[b->req.count];
    b->errs[b->req.count++] = err;
    memset(r, 0, sizeof *r);
    r->id = id;
    return r;
}

/* Gives up the lease of call id, handed over behind a call that did not end (see the file
 * comment): the claim makes it after that one. */
static void release_id(notify *n, int64_t id) {
    result_add(n, id, NULL)->release = 1;
    recent_set(n, id, 0); /* a call behind this one is released too */
    sg_log_debug(LOG, "Callback %lld released: the call before it did not end.", (long long)id);
}

/* The calls parked behind an attempt that ended: queued when it ended (delivered or dead),
 * else released. */
static void unpark(notify *n, call *k, int ended) {
    call *s = k->succ;
    k->succ = NULL;
    if (!s) return;
    if (!ended) {
        while (s) {
            call *next = s->succ;
            s->succ = NULL;
            n->parked--;
            release_id(n, s->k.id);
            call_free(s);
            s = next;
        }
        return;
    }
    /* the first one goes; those behind it stay parked behind it */
    s->next = NULL;
    if (n->ready_tail) n->ready_tail->next = s;
    else n->ready_head = s;
    n->ready_tail = s;
    event_active(n->ready_ev, EV_READ, 0);
}

/* Records the outcome of an attempt and frees the call. status: the HTTP status, 0 if none. */
static void call_done(notify *n, call *k, CURLcode res, long status) {
    int64_t now = sg_now_ms();
    int ok = res == CURLE_OK && status >= 200 && status <= 299;
    char *err = NULL;
    if (!ok) {
        if (k->guard.refused[0] && notify_guard_forbidden(&k->guard))
            err = sg_xasprintf("refused: %s is a link-local or cloud metadata address, never "
                               "called (whatever callback-allow-private says)", k->guard.refused);
        else if (k->guard.refused[0])
            err = sg_xasprintf("refused: %s is a loopback or private address "
                               "(callback-allow-private is off)", k->guard.refused);
        else if (res != CURLE_OK)
            err = sg_xstrdup(k->err[0] ? k->err : curl_easy_strerror(res));
        else
            err = sg_xasprintf("HTTP status %ld", status);
    }
    store_notify_result *r = result_add(n, k->k.id, err);
    r->at_ms = now;
    r->ok = ok;
    r->http_status = (int)status;
    r->error = err;
    if (ok) {
        n->n_delivered++;
        sg_hist_observe(&n->seconds, (double)(now - k->k.first_ms) / 1000.0);
    }
    if (!ok) {
        int attempts = k->k.attempts + 1;
        uint32_t rnd;
        sg_random((unsigned char *)&rnd, sizeof rnd);
        r->next_ms = now + notify_call_backoff_ms(attempts, n->opt.backoff_ms,
                                                  n->opt.backoff_max_ms, rnd);
        r->dead = now - k->k.first_ms >= n->opt.retry_ms;
        if (r->dead) n->n_dead++;
        else n->n_failed++;
        if (r->dead)
            sg_log_warn(LOG, "Callback %lld of service %lld to '%s' goes to the dead-letter list "
                             "after %d attempts over %lld s (last: %s); 'smsctl callbacks "
                             "replay' sends it again.",
                        (long long)k->k.id, (long long)k->k.service_id, k->k.origin, attempts,
                        (long long)((now - k->k.first_ms) / 1000), err);
        else if (attempts == 1)
            sg_log_info(LOG, "Callback %lld of service %lld to '%s' failed (%s); retrying with "
                             "backoff.", (long long)k->k.id, (long long)k->k.service_id,
                        k->k.origin, err);
        else
            sg_log_debug(LOG, "Callback %lld to '%s' failed again, attempt %d (%s).",
                         (long long)k->k.id, k->k.origin, attempts, err);
    } else {
        sg_log_debug(LOG, "Callback %lld to '%s' answered %ld.", (long long)k->k.id,
                     k->k.origin, status);
    }
    recent_set(n, k->k.id, ok || r->dead);
    unpark(n, k, ok || r->dead);
    call_free(k);
}

/* ---- attempts ---- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *ud) {
    (void)ptr;
    (void)ud;
    return size * nmemb;
}

/* The signature header value of k (an HMAC of its query string). */
static void call_sign(call *k, char sig[NOTIFY_CALL_SIG_LEN]) {
    size_t qlen;
    const char *query = callurl_query(k->k.url, &qlen);
    notify_call_sign(k->k.secret ? k->k.secret : "", query, qlen, sig);
}

static void active_link(notify *n, call *k) {
    k->where = CALL_ACTIVE;
    k->prev = NULL;
    k->next = n->active;
    if (n->active) n->active->prev = k;
    n->active = k;
}

static void active_unlink(notify *n, call *k) {
    if (k->prev) k->prev->next = k->next;
    else n->active = k->next;
    if (k->next) k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

/* Makes the attempt of k through curl: a GET of url (k's own, or where the fast client's
 * answer redirected it), following at most redirs redirects. Returns 0, or -1 with k->err set
 * (nothing started). */
static int curl_begin(notify *n, call *k, const char *url, long redirs) {
    char sig[NOTIFY_CALL_SIG_LEN], line[160];
    call_sign(k, sig);
    snprintf(line, sizeof line, "X-Smsgate-Signature: %s", sig);
    k->headers = curl_slist_append(k->headers, line);
    snprintf(line, sizeof line, "X-Smsgate-Call: %lld", (long long)k->k.id);
    k->headers = curl_slist_append(k->headers, line);
    k->easy = easy_take(n);
    if (!k->easy || !k->headers) {
        snprintf(k->err, sizeof k->err, "cannot create a curl handle");
        return -1;
    }
    CURL *e = k->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, k);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->opt.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(n->opt.timeout_ms < CONNECT_TIMEOUT_MAX_MS ? n->opt.timeout_ms
                                                                       : CONNECT_TIMEOUT_MAX_MS));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, redirs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->err);
#if LIBCURL_VERSION_NUM >= 0x075700
    /* Abandoning a transfer at stop must not wait for a DNS lookup to finish. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
    k->guard.allow_private = n->opt.allow_private;
    notify_guard_apply(e, &k->guard);
    if (curl_multi_add_handle(n->multi, e) != CURLM_OK) {
        snprintf(k->err, sizeof k->err, "cannot add a transfer to the curl multi handle");
        return -1;
    }
    n->curl_attempts++;
    return 0;
}

/* The absolute URL a Location header leads to from base (resolved as curl resolves it), or
 * NULL when it is not one curl can follow. */
static char *redirect_url(const char *base, const char *location) {
    CURLU *u = curl_url();
    char *out = NULL, *copy = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
        copy = sg_xstrdup(out);
    curl_free(out);
    curl_url_cleanup(u);
    return copy;
}

/* hclient's callback: the outcome of a fast attempt (hclient freed its request already). */
static void fast_done(void *arg, const hclient_result *res) {
    call *k = arg;
    notify *n = k->n;
    host *h = k->h;
    k->fast = NULL;
    CURLcode cres = CURLE_OK;
    long status = res->status;
    if (res->rc == SG_EPERM && res->refused) {
        /* Every address of the name is refused: the guard's outcome, worded by call_done(). */
        snprintf(k->guard.refused, sizeof k->guard.refused, "%s", res->refused);
        cres = CURLE_COULDNT_CONNECT;
        status = 0;
    } else if (res->rc != 0) {
        snprintf(k->err, sizeof k->err, "%s", res->error);
        cres = CURLE_RECV_ERROR;
        status = 0;
    } else if (status >= 300 && status <= 399 && res->location) {
        /* A redirect: curl follows it from here, under the guard, as it would have followed
         * it from its own first request (the redirect uses up one of MAX_REDIRS). */
        char *next = redirect_url(k->k.url, res->location);
        sg_log_debug(LOG, "Callback %lld to '%s' answered %ld; following it with curl.",
                     (long long)k->k.id, k->k.origin, status);
        if (!next) {
            snprintf(k->err, sizeof k->err, "The redirect to '%.200s' is not a valid URL.",
                     res->location);
            cres = CURLE_URL_MALFORMAT;
            status = 0;
        } else {
            int started = curl_begin(n, k, next, MAX_REDIRS - 1) == 0;
            free(next);
            if (started) return; /* still ACTIVE, now in the multi handle */
            cres = CURLE_FAILED_INIT;
            status = 0;
        }
    }
    active_unlink(n, k);
    h->inflight--;
    n->inflight--;
    call_done(n, k, cres, status);
    host_pump(n, h);
}

/* Starts the attempt of k on the fast client when its URL suits it. Returns 1 when it did or
 * when the outcome is already recorded (a refused literal address), 0 when k is for curl. A
 * name is checked by hclient once resolved (its refuse hook), and a refusal comes back to
 * fast_done(). */
static int fast_start(notify *n, call *k) {
    hclient_target t;
    if (!n->hc || hclient_target_parse(k->k.url, &t) != 0 || (t.name && !n->fast_names))
        return 0;
    const struct sockaddr *sa = (const struct sockaddr *)&t.addr;
    if (!t.name && notify_call_addr_refused(sa, n->opt.allow_private)) {
        /* The guard of the curl path, with the same error (call_done() words it). */
        const void *raw = sa->sa_family == AF_INET6
                              ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                              : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
        if (!inet_ntop(sa->sa_family, raw, k->guard.refused, sizeof k->guard.refused))
            snprintf(k->guard.refused, sizeof k->guard.refused, "family %d", sa->sa_family);
        call_done(n, k, CURLE_COULDNT_CONNECT, 0);
        return 1;
    }
    char sig[NOTIFY_CALL_SIG_LEN], headers[256];
    call_sign(k, sig);
    snprintf(headers, sizeof headers,
             "User-Agent: " USER_AGENT "\r\nAccept: */*\r\nX-Smsgate-Signature: %s\r\n"
             "X-Smsgate-Call: %lld\r\n", sig, (long long)k->k.id);
    if (hclient_get(n->hc, &t, headers, fast_done, k, &k->fast) != 0) return 0;
    n->fast_attempts++;
    active_link(n, k);
    k->h->inflight++;
    n->inflight++;
    return 1;
}

/* Starts an attempt; on failure to even start, the outcome is recorded at once. */
static void call_start(notify *n, call *k) {
    if (fast_start(n, k)) return;
    if (curl_begin(n, k, k->k.url, MAX_REDIRS) != 0) {
        call_done(n, k, CURLE_FAILED_INIT, 0);
        return;
    }
    active_link(n, k);
    k->h->inflight++;
    n->inflight++;
}

/* Starts queued attempts of h while it has room; frees h when it has nothing left. */
static void host_pump(notify *n, host *h) {
    while (!n->stopping && h->qhead && h->inflight < n->opt.host_limit) {
        call *k = h->qhead;
        h->qhead = k->next;
        if (!h->qhead) h->qtail = NULL;
        h->queued--;
        n->queued--;
        k->next = NULL;
        call_start(n, k);
    }
    host_release(n, h);
}

/* Reads what curl finished, records outcomes, and starts what now has room. */
static void check_done(notify *n) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(n->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        char *priv = NULL;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        call *k = (call *)priv;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(n->multi, e);
        active_unlink(n, k);
        host *h = k->h;
        h->inflight--;
        n->inflight--;
        call_done(n, k, res, status);
        host_pump(n, h);
    }
}

/* ---- curl <-> libevent ---- */

static void on_sock(evutil_socket_t fd, short what, void *arg) {
    notify *n = arg;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(n->multi, fd, action, &running);
    check_done(n);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop watching it. */
static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e;
    notify *n = userp;
    sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k) {
            event_free(k->ev);
            free(k);
            curl_multi_assign(n->multi, s, NULL);
        }
        return 0;
    }
    short flags = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                  ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!k) {
        k = sg_xcalloc(1, sizeof *k);
        k->ev = event_new(n->base, s, flags, on_sock, n);
        curl_multi_assign(n->multi, s, k);
    } else {
        event_del(k->ev);
        event_assign(k->ev, n->base, s, flags, on_sock, n);
    }
    event_add(k->ev, NULL);
    return 0;
}

static void on_curl_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    notify *n = arg;
    int running;
    curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(n);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    notify *n = userp;
    if (timeout_ms < 0) {
        evtimer_del(n->curl_timer);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(n->curl_timer, &tv);
    }
    return 0;
}

/* ---- claiming ---- */

static void arm_due(notify *n, int64_t due_ms) {
    if (n->stopping || !due_ms) return;
    if (n->armed_for && n->armed_for <= due_ms) return;
    int64_t wait = due_ms - sg_now_ms();
    if (wait < 0) wait = 0;
    struct timeval tv = {wait / 1000, (wait % 1000) * 1000};
    n->armed_for = due_ms;
    evtimer_add(n->due_ev, &tv);
}

static void host_enqueue(notify *n, call *k) {
    host *h = host_get(n, k->k.origin);
    k->h = h;
    k->where = CALL_QUEUED;
    k->next = NULL;
    if (h->qtail) h->qtail->next = k;
    else h->qhead = k;
    h->qtail = k;
    h->queued++;
    n->queued++;
}

/* Queues a claimed or handed-over call on its origin and starts what the origin has room
 * for. Takes src's strings (src is zeroed). */
static call *call_new(notify *n, store_notify_call *src) {
    call *k = sg_xcalloc(1, sizeof *k);
    k->n = n;
    k->k = *src;
    memset(src, 0, sizeof *src);
    id_put(n, k);
    return k;
}

static void call_queue(notify *n, store_notify_call *src) {
    call *k = call_new(n, src);
    host_enqueue(n, k);
    host_pump(n, k->h); /* k may be gone after this; its host too */
}

static void on_claimed(int rc, void *arg) {
    claim_ctx *cc = arg;
    notify *n = cc->n;
    n->claiming = 0;
    if (n->stopping) {
        store_notify_claim_fini(&cc->req);
        free(cc->busy);
        free(cc);
        return;
    }
    if (rc != 0) {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Claiming due callbacks failed (%s); retrying in one second.",
                     sg_strerror(rc));
        arm_due(n, sg_now_ms() + 1000);
    } else {
        if (cc->req.recover) {
            n->recovered = 1;
            /* Only now: a call handed over before the release of the earlier run's leases
             * would have been released too, and claimed a second time. */
            n->direct = 1;
            store_notify_set_direct(n->st, n->node, n->direct_lease_ms, DIRECT_CAP, direct_ready,
                                    n);
            if (cc->req.recovered)
                sg_log_info(LOG, "%zu callbacks were in flight when smsgated stopped; they are "
                                 "made again.", cc->req.recovered);
        }
        for (size_t i = 0; i < cc->req.count; i++) call_queue(n, &cc->req.calls[i]);
        if (cc->req.count == cc->req.limit) n->again = 1;
        arm_due(n, cc->req.next_due_ms);
    }
    store_notify_claim_fini(&cc->req);
    free(cc->busy);
    free(cc);
    if (n->again) {
        n->again = 0;
        claim(n);
    }
}

/* Queues one claim for what is due now, unless one is in flight (then one more follows). */
static void claim(notify *n) {
    if (!n->started || n->stopping) return;
    if (n->claiming) {
        n->again = 1;
        return;
    }
    size_t held = n->inflight + n->queued + n->parked;
    if (held >= MAX_IN_MEMORY) return; /* an outcome will call us again */
    size_t limit = MAX_IN_MEMORY - held;
    if (limit > n->opt.batch) limit = n->opt.batch;
    /* An origin with enough work queued here is left out, so a slow one cannot fill memory,
     * while a fast one is refilled before its queue runs dry. */
    size_t low = (size_t)n->opt.host_limit * QUEUE_LOW_FACTOR;
    json_t *busy = json_array();
    for (size_t b = 0; b < HOST_BUCKETS; b++)
        for (host *h = n->hosts[b]; h; h = h->next)
            if (h->queued >= low) json_array_append_new(busy, json_string(h->origin));
    claim_ctx *cc = sg_xcalloc(1, sizeof *cc);
    cc->n = n;
    cc->busy = json_dumps(busy, JSON_COMPACT);
    json_decref(busy);
    cc->req.node = n->node;
    cc->req.now_ms = sg_now_ms();
    cc->req.lease_ms = n->lease_ms;
    cc->req.limit = limit;
    cc->req.busy_json = cc->busy;
    cc->req.recover = !n->recovered;
    n->claiming = 1;
    store_notify_claim(n->st, &cc->req, on_claimed, cc);
}

static void direct_ready(void *arg) { /* store thread */
    notify *n = arg;
    event_active(n->take_ev, EV_READ, 0);
}

/* Stops new hand-offs while memory holds 3/4 of MAX_IN_MEMORY (the calls already handed over
 * stay), and resumes them below 1/2. */
static void direct_adjust(notify *n) {
    if (!n->direct || n->stopping) return;
    size_t held = n->inflight + n->queued + n->parked;
    int want = n->direct == 1 ? (held >= MAX_IN_MEMORY / 4 * 3 ? 2 : 1)
                              : (held < MAX_IN_MEMORY / 2 ? 1 : 2);
    if (want == n->direct) return;
    n->direct = want;
    store_notify_set_direct(n->st, n->node, n->direct_lease_ms, want == 1 ? DIRECT_CAP : 0,
                            direct_ready, n);
}

/* Calls the store handed over at insert: queued at once, without a claim. */
static void on_take(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    notify *n = arg;
    store_notify_call *v = NULL;
    size_t count = store_notify_take(n->st, &v);
    /* the calls that follow nothing first: one that another follows may be among them */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < count; i++) {
            if (!v[i].url || (pass == 0) != (v[i].after == 0)) continue;
            if (n->stopping) { /* they stay leased; the next start makes them */
                store_notify_call_fini(&v[i]);
                continue;
            }
            n->handed++;
            if (!v[i].after) {
                call_queue(n, &v[i]);
                continue;
            }
            call *p = id_find(n, v[i].after);
            if (p) { /* held here: parked behind it, at the end of its chain */
                while (p->succ) p = p->succ;
                p->succ = call_new(n, &v[i]);
                p->succ->where = CALL_PARKED;
                n->parked++;
            } else if (n->recent[(uint64_t)v[i].after % RECENT_SLOTS].id == v[i].after &&
                       n->recent[(uint64_t)v[i].after % RECENT_SLOTS].ended) {
                call_queue(n, &v[i]); /* that one ended already */
            } else {
                release_id(n, v[i].id);
                store_notify_call_fini(&v[i]);
            }
        }
    free(v);
    direct_adjust(n);
}

/* Calls unparked by call_done(): queued on their origins, outside any curl callback. */
static void on_ready(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    notify *n = arg;
    while (n->ready_head) {
        call *k = n->ready_head;
        n->ready_head = k->next;
        if (!n->ready_head) n->ready_tail = NULL;
        n->parked--;
        host_enqueue(n, k);
        host_pump(n, k->h); /* k may be gone after this; its host too */
    }
}

static void on_claim_event(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    claim(arg);
}

static void on_due(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    notify *n = arg;
    n->armed_for = 0;
    claim(n);
}

/* The store's wake-up hook: runs on the store thread. */
static void wake_from_store(void *arg) {
    notify *n = arg;
    event_active(n->wake_ev, EV_READ, 0);
}

void notify_kick(notify *n) {
    if (n->started && !n->stopping) event_active(n->wake_ev, EV_READ, 0);
}

/* ---- life ---- */

notify *notify_new(struct event_base *base, store *st, const notify_options *opt) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    notify *n = sg_xcalloc(1, sizeof *n);
    sg_hist_init(&n->seconds, sg_hist_slow_s, sg_hist_slow_n);
    n->base = base;
    n->st = st;
    n->opt = *opt;
    n->node = sg_xstrdup(opt->node ? opt->node : "local");
    n->opt.node = n->node;
    if (!n->opt.timeout_ms) n->opt.timeout_ms = 10000;
    if (!n->opt.backoff_ms) n->opt.backoff_ms = 1000;
    if (!n->opt.backoff_max_ms) n->opt.backoff_max_ms = 3600000;
    if (!n->opt.retry_ms) n->opt.retry_ms = 86400000;
    if (n->opt.host_limit <= 0) n->opt.host_limit = 8;
    if (!n->opt.batch) n->opt.batch = 256;
    /* A claimed call waits behind at most low-water + batch calls of its origin, that is
     * (QUEUE_LOW_FACTOR + batch / host_limit) rounds of attempts: the lease outlasts that with
     * room to spare, so no live call is ever claimed twice. */
    n->lease_ms = n->opt.timeout_ms *
                      (int64_t)(QUEUE_LOW_FACTOR + n->opt.batch / (size_t)n->opt.host_limit + 2) *
                      2 +
                  60000;
    n->multi = curl_multi_init();
    curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
    curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
    curl_multi_setopt(n->multi, CURLMOPT_MAXCONNECTS, MAX_CONNECTS);
    hclient_options ho = {.timeout_ms = n->opt.timeout_ms,
                          .connect_timeout_ms = n->opt.timeout_ms < CONNECT_TIMEOUT_MAX_MS
                                                    ? n->opt.timeout_ms
                                                    : CONNECT_TIMEOUT_MAX_MS,
                          .idle_per_dest = n->opt.host_limit,
                          .idle_max = (int)MAX_CONNECTS,
                          .idle_ms = IDLE_KEEP_MS,
                          .resolve = 1,
                          .refuse = n->opt.allow_private ? notify_call_addr_forbidden
                                                         : notify_call_addr_private};
    n->hc = hclient_new(base, &ho);
    hclient_stats hs;
    hclient_get_stats(n->hc, &hs);
    n->fast_names = hs.resolves;
    n->curl_timer = evtimer_new(base, on_curl_timeout, n);
    n->wake_ev = event_new(base, -1, 0, on_claim_event, n);
    n->due_ev = evtimer_new(base, on_due, n);
    n->tick_ev = event_new(base, -1, EV_PERSIST, on_claim_event, n);
    n->soon_ev = evtimer_new(base, on_claim_event, n);
    n->flush_ev = event_new(base, -1, 0, on_flush, n);
    n->take_ev = event_new(base, -1, 0, on_take, n);
    n->ready_ev = event_new(base, -1, 0, on_ready, n);
    /* A handed-over call joins its origin's queue however long that queue is (a claim would
     * have left a busy origin alone), so its lease must outlast the longest wait memory
     * allows: MAX_IN_MEMORY calls ahead of it, host_limit at a time, each up to the timeout. */
    n->direct_lease_ms =
        n->opt.timeout_ms * (int64_t)(MAX_IN_MEMORY / (size_t)n->opt.host_limit + 2) * 2 + 60000;
    if (n->direct_lease_ms < n->lease_ms) n->direct_lease_ms = n->lease_ms;
    return n;
}

void notify_start(notify *n) {
    if (n->started || n->stopping) return;
    n->started = 1;
    store_notify_set_wake(n->st, wake_from_store, n);
    struct timeval tv = {HOUSEKEEPING_MS / 1000, (HOUSEKEEPING_MS % 1000) * 1000};
    event_add(n->tick_ev, &tv);
    sg_log_info(LOG, "Status callbacks: %d attempts at once per host, %lld ms per attempt, "
                     "retried for %lld s; private addresses %s.",
                n->opt.host_limit, (long long)n->opt.timeout_ms,
                (long long)(n->opt.retry_ms / 1000),
                n->opt.allow_private ? "allowed" : "refused");
    claim(n);
}

/* Drops every claimed call held in memory (their leases stay; see notify.h). */
static void stop_transfers(notify *n) {
    while (n->active) {
        call *k = n->active;
        n->active = k->next;
        if (k->fast) hclient_cancel(k->fast); /* its callback never runs */
        else curl_multi_remove_handle(n->multi, k->easy);
        k->fast = NULL;
        k->h->inflight--;
        n->inflight--;
        call_free(k);
    }
    for (size_t b = 0; b < HOST_BUCKETS; b++) {
        while (n->hosts[b]) {
            host *h = n->hosts[b];
            n->hosts[b] = h->next;
            while (h->qhead) {
                call *k = h->qhead;
                h->qhead = k->next;
                call_free(k);
            }
            n->queued -= h->queued;
            free(h->origin);
            free(h);
        }
    }
    while (n->ready_head) {
        call *k = n->ready_head;
        n->ready_head = k->next;
        n->parked--;
        call_free(k);
    }
    n->ready_tail = NULL;
    /* Idle keep-alive connections would keep the loop busy (they are read from). */
    hclient_free(n->hc);
    n->hc = NULL;
}

static void stop_common(notify *n) {
    n->stopping = 1;
    if (n->started) store_notify_set_wake(n->st, NULL, NULL);
    if (n->direct) store_notify_set_direct(n->st, NULL, 0, 0, NULL, NULL); /* frees what was not taken */
    n->direct = 0;
    if (n->take_ev) event_del(n->take_ev);
    if (n->ready_ev) event_del(n->ready_ev);
    event_del(n->tick_ev);
    event_del(n->soon_ev);
    event_del(n->due_ev);
    event_del(n->wake_ev);
    stop_transfers(n);
}

void notify_stop(notify *n) {
    if (!n || n->stopping) return;
    stop_common(n);
    flush(n);
}

static void batch_free(batch *b) {
    if (!b) return;
    for (size_t i = 0; i < b->req.count; i++) free(b->errs[i]);
    free(b->errs);
    free(b->res);
    free(b);
}

void notify_get_stats(const notify *n, notify_stats *s) {
    memset(s, 0, sizeof *s);
    s->fast_attempts = n->fast_attempts;
    s->curl_attempts = n->curl_attempts;
    s->handed = n->handed;
    s->delivered = n->n_delivered;
    s->failed = n->n_failed;
    s->dead = n->n_dead;
    s->seconds = n->seconds;
    if (!n->hc) return;
    hclient_stats hs;
    hclient_get_stats(n->hc, &hs);
    s->lookups = hs.lookups;
    s->cached = hs.cached;
    s->connects = hs.connects;
    s->resolves = hs.resolves;
}

void notify_free(notify *n) {
    if (!n) return;
    if (!n->stopping) stop_common(n);
    batch_free(n->cur);
    while (n->nspare) curl_easy_cleanup(n->spare[--n->nspare]);
    curl_multi_cleanup(n->multi);
    event_free(n->curl_timer);
    event_free(n->wake_ev);
    event_free(n->take_ev);
    event_free(n->ready_ev);
    event_free(n->due_ev);
    event_free(n->tick_ev);
    event_free(n->soon_ev);
    event_free(n->flush_ev);
    free(n->node);
    free(n);
    curl_global_cleanup();
}
