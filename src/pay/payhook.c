/*
 * payhook.c - the payment hook (see payhook.h for the contract, docs/credits.md for the
 * operator's side).
 *
 * Design. A timer on the loop polls the store every POLL_MS for orders due to the hook
 * (order_hook_claim leases up to BATCH of them). A worker thread calls the hook for each, one
 * after another, and fills one answer per order; when it is done it activates `done_ev`, and
 * the loop sends every answer to the store in one operation (order_hook_result), which pays,
 * cancels or reschedules each order in the store's transaction. Then the next poll.
 *
 * The two forms of the hook and what their answers mean:
 *   URL      POST {"orderId","serviceName","quantity","automatic","billingCountry","currency",
 *            "priceWithoutTax","tax","priceWithTax","attempt"} with Content-Type
 *            application/json and Idempotency-Key: smsgate-order-<id>. A 2xx answer whose
 *            JSON has "status":"paid" pays the order ("reference" is kept), "refused" cancels
 *            it, anything else 2xx leaves it waiting; any other answer, or none within
 *            CALL_TIMEOUT_MS, is retried.
 *   command  /bin/sh -c COMMAND, standard input /dev/null, the same fields in the environment
 *            (SMSGATE_ORDER_ID, SMSGATE_SERVICE, SMSGATE_QUANTITY, SMSGATE_AUTOMATIC,
 *            SMSGATE_BILLING_COUNTRY, SMSGATE_CURRENCY, SMSGATE_PRICE, SMSGATE_TAX,
 *            SMSGATE_PRICE_WITH_TAX, SMSGATE_ATTEMPT). Exit status 0 pays the order (the first
 *            line of standard output is its reference), 2 leaves it waiting, 3 cancels it;
 *            anything else, or running longer than CALL_TIMEOUT_MS (then it is killed), is
 *            retried. Standard error goes to the log when the call failed.
 * Retries back off from BACKOFF_MS, doubling, up to BACKOFF_MAX_MS, without end: an order is
 * never given up silently; the operator sees WARN lines and can cancel it (smsctl order
 * cancel) or pay it by hand.
 *
 * States of the module (loop thread): IDLE (timer armed) -> CLAIMING (order_hook_claim in
 * flight, on_tick) -> CALLING (worker running, on_claimed) -> RECORDING (order_hook_result in
 * flight, on_worker_done) -> IDLE (on_recorded). `busy` is set outside IDLE. payhook_stop()
 * sets `stopping`: nothing new starts, a running worker is joined and its answers recorded.
 *
 * Invariants:
 *  1. At most one worker and one store operation of the module exist at a time.
 *  2. The worker only reads the claimed orders and writes the answers; the loop thread does
 *     not touch either while `worker_running` is set.
 */
#include "pay/payhook.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/price.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "payhook"
#define POLL_MS 1000
#define LEASE_MS 120000          /* longer than any call: CALL_TIMEOUT_MS plus margin */
#define CALL_TIMEOUT_MS 30000
#define BATCH 16
#define BACKOFF_MS 5000
#define BACKOFF_MAX_MS 600000
#define OUT_MAX 65536            /* bytes kept of an answer or of a command's output */

extern char **environ;

struct payhook {
    struct event_base *base;
    store *st;
    const sg_config *cfg;
    int is_url;
    store_credits_configure_req conf;
    struct event *timer, *done_ev;
    int started, stopping, busy, worker_running;
    pthread_t worker;
    store_order_hook_claim_req claim;
    store_hook_answer *answers; /* one per claimed order */
    char **refs;                /* their references (new) */
    store_order_hook_result_req result;
};

/* ---- one call (worker thread) ---- */

typedef struct buf {
    char *data;
    size_t len;
} buf;

static void buf_add(buf *b, const char *p, size_t n) {
    if (b->len + n > OUT_MAX) n = OUT_MAX - b->len;
    if (n == 0) return;
    b->data = sg_xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
    buf_add(arg, p, size * n);
    return size * n;
}

static void money(int64_t micro, char *out, size_t n) { price_format(micro, NULL, out, n); }

static int64_t backoff(int attempts) {
    int64_t d = BACKOFF_MS;
    for (int i = 1; i < attempts && d < BACKOFF_MAX_MS; i++) d *= 2;
    return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

/* The first line of s, trimmed, at most 200 bytes; new, or NULL when empty. */
static char *first_line(const char *s) {
    if (!s) return NULL;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strcspn(s, "\r\n");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    if (n > 200) n = 200;
    return n ? sg_xstrndup(s, n) : NULL;
}

/* Copies s for the log: control characters replaced, trailing blanks dropped, <= 300 bytes. */
static void printable(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; s && *s && k + 1 < n && k < 300; s++)
        out[k++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
    while (k > 0 && out[k - 1] == ' ') k--;
    out[k] = '\0';
}

static store_hook_outcome call_url(payhook *p, const store_order *o, char **ref, char *why,
                                   size_t nwhy) {
    json_t *j = json_pack("{s:I, s:s, s:I, s:b, s:s, s:s, s:f, s:f, s:f, s:i}", "orderId",
                          (json_int_t)o->id, "serviceName", o->service_name, "quantity",
                          (json_int_t)o->quantity, "automatic", o->automatic, "billingCountry",
                          o->billing, "currency", o->currency, "priceWithoutTax",
                          (double)o->price / 1e6, "tax", (double)o->tax / 1e6, "priceWithTax",
                          (double)(o->price + o->tax) / 1e6, "attempt", o->hook_attempts);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char idem[64];
    snprintf(idem, sizeof idem, "Idempotency-Key: smsgate-order-%lld", (long long)o->id);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, idem);
    buf answer = {0};
    CURL *h = curl_easy_init();
    store_hook_outcome out = STORE_HOOK_RETRY;
    if (!h) {
        snprintf(why, nwhy, "libcurl could not start a request");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, p->cfg->payment_hook);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    CURLcode cr = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (cr != CURLE_OK) {
        snprintf(why, nwhy, "%s", curl_easy_strerror(cr));
        goto done;
    }
    if (status < 200 || status > 299) {
        char text[320];
        printable(answer.data, text, sizeof text);
        snprintf(why, nwhy, "HTTP status %ld: %s", status, text);
        goto done;
    }
    json_t *a = answer.data ? json_loads(answer.data, 0, NULL) : NULL;
    const char *st = json_string_value(json_object_get(a, "status"));
    const char *r = json_string_value(json_object_get(a, "reference"));
    out = st && !strcmp(st, "paid")      ? STORE_HOOK_PAID
          : st && !strcmp(st, "refused") ? STORE_HOOK_REFUSED
                                         : STORE_HOOK_WAITING;
    if (out == STORE_HOOK_PAID) *ref = first_line(r);
    json_decref(a);
done:
    curl_slist_free_all(hdrs);
    free(body);
    free(answer.data);
    return out;
}

/* Runs the command with the order in its environment; returns its answer. */
static store_hook_outcome call_command(payhook *p, const store_order *o, char **ref, char *why,
                                       size_t nwhy) {
    char price[32], tax[32], total[32];
    money(o->price, price, sizeof price);
    money(o->tax, tax, sizeof tax);
    money(o->price + o->tax, total, sizeof total);
    char *vars[] = {
        sg_xasprintf("SMSGATE_ORDER_ID=%lld", (long long)o->id),
        sg_xasprintf("SMSGATE_SERVICE=%s", o->service_name),
        sg_xasprintf("SMSGATE_QUANTITY=%lld", (long long)o->quantity),
        sg_xasprintf("SMSGATE_AUTOMATIC=%d", o->automatic),
        sg_xasprintf("SMSGATE_BILLING_COUNTRY=%s", o->billing),
        sg_xasprintf("SMSGATE_CURRENCY=%s", o->currency),
        sg_xasprintf("SMSGATE_PRICE=%s", price),
        sg_xasprintf("SMSGATE_TAX=%s", tax),
        sg_xasprintf("SMSGATE_PRICE_WITH_TAX=%s", total),
        sg_xasprintf("SMSGATE_ATTEMPT=%d", o->hook_attempts),
    };
    size_t nvars = sizeof vars / sizeof vars[0], nenv = 0;
    while (environ && environ[nenv]) nenv++;
    char **envp = sg_xcalloc(nenv + nvars + 1, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "SMSGATE_", 8) != 0) envp[k++] = environ[i];
    for (size_t i = 0; i < nvars; i++) envp[k++] = vars[i];

    store_hook_outcome out = STORE_HOOK_RETRY;
    buf obuf = {0}, ebuf = {0};
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    pid_t pid = -1;
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(why, nwhy, "pipe: %s", strerror(errno));
        goto done;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    char *argv[] = {"sh", "-c", p->cfg->payment_hook, NULL};
    int err = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
    close(po[1]);
    close(pe[1]);
    po[1] = pe[1] = -1;
    if (err != 0) {
        pid = -1;
        snprintf(why, nwhy, "cannot run /bin/sh: %s", strerror(err));
        goto done;
    }
    int64_t deadline = sg_mono_ms() + CALL_TIMEOUT_MS;
    int open_fds = 2, killed = 0;
    while (open_fds > 0) {
        struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        int64_t left = deadline - sg_mono_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        int n = poll(fds, 2, (int)left);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2 && n > 0; i++) {
            if (!fds[i].revents || fds[i].fd < 0) continue;
            char chunk[4096];
            ssize_t r = read(fds[i].fd, chunk, sizeof chunk);
            if (r > 0) {
                buf_add(i == 0 ? &obuf : &ebuf, chunk, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                close(fds[i].fd);
                if (i == 0) po[0] = -1;
                else pe[0] = -1;
                open_fds--;
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    char text[320];
    printable(ebuf.data, text, sizeof text);
    if (killed) {
        snprintf(why, nwhy, "killed after %d s without an answer", CALL_TIMEOUT_MS / 1000);
    } else if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (code == 0) {
            out = STORE_HOOK_PAID;
            *ref = first_line(obuf.data);
        } else if (code == 2) {
            out = STORE_HOOK_WAITING;
        } else if (code == 3) {
            out = STORE_HOOK_REFUSED;
        } else {
            snprintf(why, nwhy, "exit status %d%s%s", code, text[0] ? ": " : "", text);
        }
    } else {
        snprintf(why, nwhy, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
done:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) close(po[i]);
        if (pe[i] >= 0) close(pe[i]);
    }
    posix_spawn_file_actions_destroy(&fa);
    for (size_t i = 0; i < nvars; i++) free(vars[i]);
    free(envp);
    free(obuf.data);
    free(ebuf.data);
    return out;
}

static void *worker_main(void *arg) {
    payhook *p = arg;
    for (size_t i = 0; i < p->claim.count; i++) {
        const store_order *o = &p->claim.orders[i];
        store_hook_answer *a = &p->answers[i];
        char why[512] = "";
        a->id = o->id;
        a->outcome = p->is_url ? call_url(p, o, &p->refs[i], why, sizeof why)
                               : call_command(p, o, &p->refs[i], why, sizeof why);
        a->reference = p->refs[i];
        switch (a->outcome) {
        case STORE_HOOK_PAID:
            sg_log_info(LOG, "Payment hook: order %lld of '%s' paid (reference '%s').",
                        (long long)o->id, o->service_name, p->refs[i] ? p->refs[i] : "");
            break;
        case STORE_HOOK_WAITING:
            sg_log_info(LOG, "Payment hook: order %lld of '%s' accepted; it stays unpaid until "
                             "the payment system pays it.", (long long)o->id, o->service_name);
            break;
        case STORE_HOOK_REFUSED:
            sg_log_info(LOG, "Payment hook: order %lld of '%s' refused; it is cancelled.",
                        (long long)o->id, o->service_name);
            break;
        case STORE_HOOK_RETRY: {
            int64_t wait = backoff(o->hook_attempts);
            a->retry_at_ms = sg_now_ms() + wait;
            sg_log_warn(LOG, "Payment hook for order %lld of '%s' failed (attempt %d): %s; next "
                             "attempt in %lld s.", (long long)o->id, o->service_name,
                        o->hook_attempts, why, (long long)(wait / 1000));
            break;
        }
        }
    }
    event_active(p->done_ev, EV_READ, 1);
    return NULL;
}

/* ---- the loop side ---- */

static void arm(payhook *p, int ms) {
    if (p->stopping) return;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(p->timer, &tv);
}

static void free_answers(payhook *p) {
    for (size_t i = 0; p->refs && i < p->claim.count; i++) free(p->refs[i]);
    free(p->refs);
    free(p->answers);
    p->refs = NULL;
    p->answers = NULL;
}

static void on_recorded(int rc, void *arg) {
    payhook *p = arg;
    if (rc)
        sg_log_error(LOG, "Recording the payment hook's answers for %zu orders failed (%s); "
                          "they are asked again after their lease.", p->claim.count,
                     sg_strerror(rc));
    size_t n = p->claim.count;
    free_answers(p);
    store_order_hook_claim_fini(&p->claim);
    p->busy = 0;
    arm(p, n == BATCH ? 0 : POLL_MS);
}

static void record(payhook *p) {
    memset(&p->result, 0, sizeof p->result);
    p->result.answers = p->answers;
    p->result.count = p->claim.count;
    store_order_hook_result(p->st, &p->result, on_recorded, p);
}

static void on_worker_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    payhook *p = arg;
    if (!p->worker_running) return;
    pthread_join(p->worker, NULL);
    p->worker_running = 0;
    record(p);
}

static void on_claimed(int rc, void *arg) {
    payhook *p = arg;
    if (rc)
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Claiming orders for the payment hook failed: %s.",
                     sg_strerror(rc));
    if (rc || p->stopping || p->claim.count == 0) {
        /* Claimed orders left behind by a stop keep their lease: asked again after it. */
        store_order_hook_claim_fini(&p->claim);
        p->busy = 0;
        arm(p, POLL_MS);
        return;
    }
    p->answers = sg_xcalloc(p->claim.count, sizeof *p->answers);
    p->refs = sg_xcalloc(p->claim.count, sizeof *p->refs);
    p->worker_running = 1;
    int err = pthread_create(&p->worker, NULL, worker_main, p);
    if (err == 0)
        pthread_setname_np(p->worker, "sg-payhook");
    if (err != 0) {
        p->worker_running = 0;
        sg_log_error(LOG, "Starting the payment hook's worker failed: %s; retrying after the "
                          "orders' lease.", strerror(err));
        free_answers(p);
        store_order_hook_claim_fini(&p->claim);
        p->busy = 0;
        arm(p, POLL_MS);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    payhook *p = arg;
    if (p->busy || p->stopping) return;
    p->busy = 1;
    memset(&p->claim, 0, sizeof p->claim);
    p->claim.now_ms = sg_now_ms();
    p->claim.lease_ms = LEASE_MS;
    p->claim.limit = BATCH;
    store_order_hook_claim(p->st, &p->claim, on_claimed, p);
}

static void on_configured(int rc, void *arg) {
    (void)arg;
    if (rc) sg_log_error(LOG, "Storing the credits settings failed: %s.", sg_strerror(rc));
}

payhook *payhook_new(struct event_base *base, store *st, const sg_config *cfg, int *err) {
    if (!price_billing_known(cfg->billing_country)) {
        sg_log_error(LOG, "Setting 'billing-country' is '%s'; one of %s is expected.",
                     cfg->billing_country, price_billing_list());
        *err = SG_EINVAL;
        return NULL;
    }
    const char *hook = cfg->payment_hook;
    int is_url = !strncmp(hook, "http://", 7) || !strncmp(hook, "https://", 8);
    if (!is_url && strstr(hook, "://")) {
        sg_log_error(LOG, "Setting 'payment-hook' is '%s': only http:// and https:// URLs, or a "
                          "shell command, are possible.", hook);
        *err = SG_EINVAL;
        return NULL;
    }
    payhook *p = sg_xcalloc(1, sizeof *p);
    p->base = base;
    p->st = st;
    p->cfg = cfg;
    p->is_url = is_url;
    if (is_url) curl_global_init(CURL_GLOBAL_DEFAULT);
    p->timer = evtimer_new(base, on_tick, p);
    p->done_ev = event_new(base, -1, 0, on_worker_done, p);
    p->conf.payment_hook = hook[0] != '\0';
    p->conf.billing = cfg->billing_country;
    store_credits_configure(st, &p->conf, on_configured, p);
    return p;
}

void payhook_start(payhook *p) {
    if (!p->cfg->payment_hook[0]) return;
    p->started = 1;
    /* Only the URL's origin or the command's first word: the rest may carry a secret. */
    const char *h = p->cfg->payment_hook;
    const char *start = p->is_url ? strstr(h, "://") + 3 : h;
    size_t n = (size_t)(start - h) + strcspn(start, p->is_url ? "/?#" : " \t");
    sg_log_info(LOG, "Payment hook: orders are handed to %s '%.*s'.",
                p->is_url ? "the URL at" : "the command", (int)n, h);
    arm(p, 0);
}

void payhook_stop(payhook *p) {
    if (!p || p->stopping) return;
    p->stopping = 1;
    event_del(p->timer);
    if (p->worker_running) {
        /* A call in flight: wait for it (at most CALL_TIMEOUT_MS), then keep its answers. */
        pthread_join(p->worker, NULL);
        p->worker_running = 0;
        record(p);
    }
}

void payhook_free(payhook *p) {
    if (!p) return;
    payhook_stop(p);
    event_free(p->timer);
    event_free(p->done_ev);
    free_answers(p);
    store_order_hook_claim_fini(&p->claim);
    if (p->is_url) curl_global_cleanup();
    free(p);
}
