/*
 * session.c - one ESME session with an SMSC (see session.h).
 *
 * Design. A session is an explicit state machine over one bufferevent (a socket, or OpenSSL
 * on a socket). Incoming bytes are framed with smpp_pdu_peek() and decoded in place
 * (evbuffer_pullup of exactly one PDU), so the parser is resumable: a partial PDU waits in the
 * input buffer for the rest. Requests we send are remembered in a fixed array of `window`
 * slots (sequence number, caller's context, deadline). One periodic timer per session drives
 * every protocol deadline: state timeouts (connect, bind, unbind), response timeouts and
 * enquire_link. Closing is deferred: close_conn() marks the connection closing and a zero
 * timeout event frees the bufferevent on the next loop turn, reports every outstanding submit
 * as SMPP_NO_RESP, and either schedules the reconnection or finishes a stop, so nothing is
 * freed inside its own callback chain.
 *
 * States and the function that performs each transition (set_state() is the only writer and
 * logs "session: FROM -> TO"):
 *
 *   DISCONNECTED --connect_now()--> CONNECTING --on_event(CONNECTED)--> BINDING
 *   BINDING --handle(bind_resp ok)--> BOUND
 *   BOUND --smpp_session_stop()--> UNBINDING --handle(unbind_resp) or timeout--> DISCONNECTED
 *   any --on_closed() after close_conn() (error, EOF, timeout, refused bind,
 *        unbind from the SMSC, dead peer)--> DISCONNECTED --reconnect timer--> CONNECTING
 *
 * Invariants:
 *  1. Every accepted submit gets exactly one resp() call: from its response, its timeout, or
 *     the closing of its connection (on_closed).
 *  2. `conn` increases with every connection, so acks and responses of an old connection are
 *     never sent on, or matched against, a new one.
 *  3. nothing is written while `closing` is set; the bufferevent is only freed in on_closed().
 */
#include "smpp/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "smpp/status.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "smpp.session"
#define TICK_MS 100
#define ENCODE_MAX 4096

typedef struct slot {
    uint32_t seq;
    void *ctx;
    int64_t deadline;
    int used;
} slot;

struct smpp_session {
    struct event_base *base;
    smpp_session_conf conf; /* strings owned (copies) */
    smpp_session_cbs cbs;
    void *arg;
    smpp_state state;
    struct bufferevent *bev;
    uint64_t conn;
    int closing, started, stopping, fails;
    uint32_t next_seq, bind_seq, unbind_seq, enquire_seq;
    int64_t enquire_deadline;  /* 0: no enquire_link outstanding */
    int64_t state_deadline;    /* CONNECTING/BINDING/UNBINDING must end by then */
    int64_t last_rx;
    int64_t backoff_ms;
    slot *slots;
    size_t nused;
    struct event *tick, *close_ev, *reconnect_ev, *done_ev;
    void (*stop_done)(smpp_session *, void *);
    void *stop_arg;
    char last_error[256];
    char close_why[256];
};

static const char *const state_names[] = {"DISCONNECTED", "CONNECTING", "BINDING", "BOUND",
                                          "UNBINDING"};

const char *smpp_state_name(smpp_state st) {
    return (unsigned)st < 5 ? state_names[st] : "?";
}

static const char *type_name(smpp_bind_type t) {
    return t == SMPP_BIND_TX ? "transmitter" : t == SMPP_BIND_RX ? "receiver" : "transceiver";
}

static void set_state(smpp_session *s, smpp_state to, const char *why) {
    smpp_state from = s->state;
    if (from == to) return;
    s->state = to;
    int w = why && *why;
    sg_log_info(LOG, "Session '%s': %s -> %s%s%s%s.", s->conf.name, state_names[from],
                state_names[to], w ? " (" : "", w ? why : "", w ? ")" : "");
    if (s->cbs.state) s->cbs.state(s, from, to, s->arg);
}

static uint32_t take_seq(smpp_session *s) {
    if (s->next_seq == 0 || s->next_seq >= 0x7FFFFFFFu) s->next_seq = 1;
    return s->next_seq++;
}

static void close_conn(smpp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void close_conn(smpp_session *s, const char *fmt, ...) {
    if (s->closing || !s->bev) return;
    s->closing = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->close_why, sizeof s->close_why, fmt, ap);
    va_end(ap);
    bufferevent_disable(s->bev, EV_READ | EV_WRITE);
    event_active(s->close_ev, EV_TIMEOUT, 0);
}

/* Encodes and queues p. Returns 0 or SG_EINVAL (not encodable; nothing sent). */
static int send_pdu(smpp_session *s, const smpp_pdu *p) {
    if (!s->bev || s->closing) return SG_EIO;
    uint8_t buf[ENCODE_MAX];
    size_t n;
    int rc = smpp_pdu_encode(p, buf, sizeof buf, &n);
    if (rc) {
        sg_log_error(LOG, "Session '%s': a %s could not be encoded (%s); not sent.",
                     s->conf.name, smpp_command_name(p->command_id), sg_strerror(rc));
        return SG_EINVAL;
    }
    if (sg_log_enabled(SG_LOG_DEBUG, LOG)) {
        char d[1024];
        sg_log_debug(LOG, "Session '%s' sends %s", s->conf.name, smpp_pdu_dump(p, d, sizeof d));
    }
    bufferevent_write(s->bev, buf, n);
    return 0;
}

static void send_simple(smpp_session *s, uint32_t cmd, uint32_t seq, uint32_t status) {
    smpp_pdu p;
    smpp_pdu_init(&p, cmd, seq);
    p.command_status = status;
    send_pdu(s, &p);
}

/* ---- connecting ---- */

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void connect_now(smpp_session *s) {
    if (s->stopping || s->bev) return;
    s->conn++;
    s->closing = 0;
    if (s->conf.tls) {
        SSL *ssl = SSL_new(s->conf.tls);
        if (!ssl) {
            snprintf(s->last_error, sizeof s->last_error, "cannot create a TLS session");
            s->backoff_ms = s->conf.reconnect_max_ms;
            goto retry;
        }
        if (s->conf.tls_verify) {
            X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
            if (X509_VERIFY_PARAM_set1_ip_asc(vp, s->conf.host) != 1) {
                SSL_set1_host(ssl, s->conf.host);
                SSL_set_tlsext_host_name(ssl, s->conf.host);
            }
            SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
        }
        s->bev = bufferevent_openssl_socket_new(s->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    } else {
        s->bev = bufferevent_socket_new(s->base, -1,
                                        BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->state_deadline = sg_mono_ms() + s->conf.resp_timeout_ms;
    set_state(s, SMPP_CONNECTING, NULL);
    /* Host names are resolved by the system resolver here (blocking); routes normally name
     * their SMSC by address. */
    if (bufferevent_socket_connect_hostname(s->bev, NULL, AF_UNSPEC, s->conf.host,
                                            s->conf.port) != 0) {
        close_conn(s, "cannot connect to %s:%d", s->conf.host, s->conf.port);
    }
    return;
retry:
    event_add(s->reconnect_ev, &(struct timeval){s->backoff_ms / 1000,
                                                 (s->backoff_ms % 1000) * 1000});
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    connect_now(arg);
}

static void send_bind(smpp_session *s) {
    uint32_t cmd = s->conf.type == SMPP_BIND_TX   ? SMPP_BIND_TRANSMITTER
                   : s->conf.type == SMPP_BIND_RX ? SMPP_BIND_RECEIVER
                                                  : SMPP_BIND_TRANSCEIVER;
    smpp_pdu p;
    smpp_pdu_init(&p, cmd, take_seq(s));
    snprintf(p.u.bind.system_id, sizeof p.u.bind.system_id, "%s", s->conf.system_id);
    snprintf(p.u.bind.password, sizeof p.u.bind.password, "%s", s->conf.password);
    snprintf(p.u.bind.system_type, sizeof p.u.bind.system_type, "%s", s->conf.system_type);
    p.u.bind.interface_version = 0x34;
    s->bind_seq = p.sequence_number;
    s->state_deadline = sg_mono_ms() + s->conf.resp_timeout_ms;
    set_state(s, SMPP_BINDING, NULL);
    send_pdu(s, &p);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    smpp_session *s = arg;
    if (s->closing) return;
    if (what & BEV_EVENT_CONNECTED) {
        s->last_rx = sg_mono_ms();
        send_bind(s);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        char detail[200] = "";
        unsigned long e;
        if (s->conf.tls && (e = bufferevent_get_openssl_error(s->bev)) != 0)
            ERR_error_string_n(e, detail, sizeof detail);
        else if (what & BEV_EVENT_ERROR)
            snprintf(detail, sizeof detail, "%s",
                     evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        int dns = bufferevent_socket_get_dns_error(s->bev);
        if (dns) snprintf(detail, sizeof detail, "%s", evutil_gai_strerror(dns));
        if (s->state == SMPP_CONNECTING)
            close_conn(s, "connecting to %s:%d failed: %s", s->conf.host, s->conf.port,
                       detail[0] ? detail : "connection closed");
        else
            close_conn(s, "the connection was %s%s%s",
                       what & BEV_EVENT_EOF ? "closed by the SMSC" : "lost",
                       detail[0] ? ": " : "", detail);
    }
}

/* ---- outstanding requests ---- */

static slot *find_slot(smpp_session *s, uint32_t seq) {
    for (int i = 0; i < s->conf.window; i++)
        if (s->slots[i].used && s->slots[i].seq == seq) return &s->slots[i];
    return NULL;
}

static void finish_slot(smpp_session *s, slot *sl, const smpp_pdu *resp, uint32_t status) {
    void *ctx = sl->ctx;
    sl->used = 0;
    sl->ctx = NULL;
    s->nused--;
    s->cbs.resp(s, ctx, resp, status, s->arg);
}

/* Reports every outstanding submit as unanswered. */
static void fail_all(smpp_session *s) {
    for (int i = 0; i < s->conf.window; i++)
        if (s->slots[i].used) finish_slot(s, &s->slots[i], NULL, SMPP_NO_RESP);
}

static void on_closed(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_session *s = arg;
    if (!s->bev) return;
    bufferevent_free(s->bev);
    s->bev = NULL;
    s->closing = 0;
    s->enquire_deadline = 0;
    int was_bound = s->state == SMPP_BOUND || s->state == SMPP_UNBINDING;
    int clean = s->state == SMPP_UNBINDING && s->stopping;
    /* Stopped by its owner while connecting or binding (a bind slot given up, a route
     * changed): not a failure either. */
    if (!clean && !(s->stopping && s->state != SMPP_BOUND)) {
        snprintf(s->last_error, sizeof s->last_error, "%s", s->close_why);
        s->fails++;
        /* One warning per outage; while the SMSC stays unreachable the retries log at info. */
        if (was_bound || s->fails == 1)
            sg_log_warn(LOG, "Session '%s' to %s:%d: %s.", s->conf.name, s->conf.host,
                        s->conf.port, s->close_why);
    }
    set_state(s, SMPP_DISCONNECTED, clean ? "unbound" : s->close_why);
    fail_all(s);
    if (s->stopping) {
        event_active(s->done_ev, EV_TIMEOUT, 0);
        return;
    }
    int64_t wait = s->backoff_ms;
    wait += (int64_t)(rand() % (int)(wait / 5 + 1)); /* jitter: binds do not retry in step */
    s->backoff_ms = s->backoff_ms * 2 > s->conf.reconnect_max_ms ? s->conf.reconnect_max_ms
                                                                 : s->backoff_ms * 2;
    if (s->fails > 1)
        sg_log_info(LOG, "Session '%s': reconnecting in %lld ms (attempt %d).", s->conf.name,
                    (long long)wait, s->fails + 1);
    struct timeval tv = {wait / 1000, (wait % 1000) * 1000};
    event_add(s->reconnect_ev, &tv);
}

/* ---- incoming PDUs ---- */

static void handle(smpp_session *s, const smpp_pdu *p) {
    uint32_t cmd = p->command_id, seq = p->sequence_number;
    switch (cmd) {
    case SMPP_BIND_TRANSMITTER_RESP:
    case SMPP_BIND_RECEIVER_RESP:
    case SMPP_BIND_TRANSCEIVER_RESP:
        if (s->state != SMPP_BINDING || seq != s->bind_seq) return;
        if (p->command_status != SMPP_ESME_ROK) {
            close_conn(s, "bind as %s '%s' refused: status 0x%08X (%s)",
                       type_name(s->conf.type), s->conf.system_id, p->command_status,
                       smpp_status_text(p->command_status));
            return;
        }
        s->fails = 0;
        s->backoff_ms = s->conf.reconnect_min_ms;
        s->last_error[0] = '\0';
        s->state_deadline = 0;
        set_state(s, SMPP_BOUND, NULL);
        return;
    case SMPP_ENQUIRE_LINK:
        send_simple(s, SMPP_ENQUIRE_LINK_RESP, seq, SMPP_ESME_ROK);
        return;
    case SMPP_ENQUIRE_LINK_RESP:
        if (seq == s->enquire_seq) s->enquire_deadline = 0;
        return;
    case SMPP_UNBIND:
        send_simple(s, SMPP_UNBIND_RESP, seq, SMPP_ESME_ROK);
        close_conn(s, "the SMSC unbound");
        return;
    case SMPP_UNBIND_RESP:
        if (s->state == SMPP_UNBINDING) close_conn(s, "unbound");
        return;
    case SMPP_SUBMIT_SM_RESP:
    case SMPP_DATA_SM_RESP:
    case SMPP_GENERIC_NACK: {
        slot *sl = find_slot(s, seq);
        if (sl) finish_slot(s, sl, p, p->command_status);
        else
            sg_log_debug(LOG, "Session '%s': response to unknown sequence %u ignored.",
                         s->conf.name, seq);
        return;
    }
    case SMPP_DELIVER_SM:
    case SMPP_DATA_SM:
        if (s->state != SMPP_BOUND || s->conf.type == SMPP_BIND_TX) {
            send_simple(s, cmd | 0x80000000u, seq, SMPP_ESME_RINVBNDSTS);
            return;
        }
        s->cbs.request(s, p, (smpp_ack){s, s->conn, seq, cmd}, s->arg);
        return;
    default:
        if (!(cmd & 0x80000000u)) send_simple(s, SMPP_GENERIC_NACK, seq, SMPP_ESME_RINVCMDID);
        return;
    }
}

static void on_read(struct bufferevent *bev, void *arg) {
    smpp_session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!s->closing) {
        size_t avail = evbuffer_get_length(in);
        uint8_t hdr[4];
        uint32_t n;
        if (avail < 4) return;
        evbuffer_copyout(in, hdr, 4);
        if (smpp_pdu_peek(hdr, 4, &n) != 0) {
            close_conn(s, "the SMSC sent a PDU with an impossible length");
            return;
        }
        if (avail < n) return;
        const uint8_t *buf = evbuffer_pullup(in, n);
        smpp_pdu p;
        size_t used;
        uint32_t nack;
        int rc = smpp_pdu_decode(buf, n, &p, &used, &nack);
        s->last_rx = sg_mono_ms();
        if (rc == 0) {
            if (sg_log_enabled(SG_LOG_DEBUG, LOG)) {
                char d[1024];
                sg_log_debug(LOG, "Session '%s' received %s", s->conf.name,
                             smpp_pdu_dump(&p, d, sizeof d));
            }
            handle(s, &p);
        } else if (!(p.command_id & 0x80000000u)) {
            sg_log_warn(LOG, "Session '%s': a malformed or unknown request (command 0x%08X) "
                             "was answered with generic_nack 0x%08X.",
                        s->conf.name, p.command_id, nack);
            send_simple(s, SMPP_GENERIC_NACK, p.sequence_number, nack);
        } else {
            /* A malformed response: its request failed in an unknown way. */
            slot *sl = find_slot(s, p.sequence_number);
            sg_log_warn(LOG, "Session '%s': a malformed %s was received.", s->conf.name,
                        smpp_command_name(p.command_id) ? smpp_command_name(p.command_id)
                                                        : "response");
            if (sl)
                finish_slot(s, sl, NULL,
                            p.command_status ? p.command_status : SMPP_ESME_RSYSERR);
        }
        if (s->closing) return; /* the buffer goes with the connection */
        evbuffer_drain(in, n);
    }
}

/* ---- the periodic deadline check ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_session *s = arg;
    if (!s->bev || s->closing) return;
    int64_t now = sg_mono_ms();
    if (s->state != SMPP_BOUND) {
        if (s->state_deadline && now > s->state_deadline)
            close_conn(s, "no answer while %s within %lld ms",
                       s->state == SMPP_CONNECTING  ? "connecting"
                       : s->state == SMPP_BINDING   ? "binding"
                                                    : "unbinding",
                       (long long)s->conf.resp_timeout_ms);
        return;
    }
    for (int i = 0; i < s->conf.window && !s->closing; i++) {
        slot *sl = &s->slots[i];
        if (sl->used && now > sl->deadline) {
            sg_log_warn(LOG, "Session '%s': no response to sequence %u within %lld ms.",
                        s->conf.name, sl->seq, (long long)s->conf.resp_timeout_ms);
            finish_slot(s, sl, NULL, SMPP_NO_RESP);
        }
    }
    if (s->closing || !s->bev) return;
    if (s->enquire_deadline && now > s->enquire_deadline) {
        close_conn(s, "the SMSC did not answer enquire_link within %lld ms (dead peer)",
                   (long long)s->conf.resp_timeout_ms);
        return;
    }
    if (!s->enquire_deadline && now - s->last_rx >= s->conf.enquire_ms) {
        s->enquire_seq = take_seq(s);
        s->enquire_deadline = now + s->conf.resp_timeout_ms;
        send_simple(s, SMPP_ENQUIRE_LINK, s->enquire_seq, 0);
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_session *s = arg;
    void (*done)(smpp_session *, void *) = s->stop_done;
    s->stop_done = NULL;
    if (done) done(s, s->stop_arg);
}

/* ---- the interface ---- */

smpp_session *smpp_session_new(struct event_base *base, const smpp_session_conf *conf,
                               const smpp_session_cbs *cbs, void *arg) {
    smpp_session *s = sg_xcalloc(1, sizeof *s);
    s->base = base;
    s->conf = *conf;
    s->conf.name = sg_xstrdup(conf->name ? conf->name : "smpp");
    s->conf.host = sg_xstrdup(conf->host ? conf->host : "127.0.0.1");
    s->conf.system_id = sg_xstrdup(conf->system_id ? conf->system_id : "");
    s->conf.password = sg_xstrdup(conf->password ? conf->password : "");
    s->conf.system_type = sg_xstrdup(conf->system_type ? conf->system_type : "");
    if (s->conf.window < 1) s->conf.window = 1;
    if (s->conf.enquire_ms <= 0) s->conf.enquire_ms = 30000;
    if (s->conf.resp_timeout_ms <= 0) s->conf.resp_timeout_ms = 10000;
    if (s->conf.reconnect_min_ms <= 0) s->conf.reconnect_min_ms = 500;
    if (s->conf.reconnect_max_ms < s->conf.reconnect_min_ms)
        s->conf.reconnect_max_ms = s->conf.reconnect_min_ms * 60;
    s->backoff_ms = s->conf.reconnect_min_ms;
    s->cbs = *cbs;
    s->arg = arg;
    s->slots = sg_xcalloc((size_t)s->conf.window, sizeof *s->slots);
    s->tick = event_new(base, -1, EV_PERSIST, on_tick, s);
    s->close_ev = event_new(base, -1, 0, on_closed, s);
    s->reconnect_ev = evtimer_new(base, on_reconnect, s);
    s->done_ev = event_new(base, -1, 0, on_done, s);
    return s;
}

void smpp_session_start(smpp_session *s) {
    if (s->started) return;
    s->started = 1;
    struct timeval tv = {0, TICK_MS * 1000};
    event_add(s->tick, &tv);
    connect_now(s);
}

void smpp_session_stop(smpp_session *s, void (*done)(smpp_session *s, void *arg), void *arg) {
    s->stop_done = done;
    s->stop_arg = arg;
    if (s->stopping) return;
    s->stopping = 1;
    event_del(s->reconnect_ev);
    if (!s->bev) {
        event_active(s->done_ev, EV_TIMEOUT, 0);
        return;
    }
    if (s->state == SMPP_BOUND && !s->closing) {
        s->unbind_seq = take_seq(s);
        s->state_deadline = sg_mono_ms() + (s->conf.resp_timeout_ms < 2000
                                                ? s->conf.resp_timeout_ms : 2000);
        set_state(s, SMPP_UNBINDING, NULL);
        send_simple(s, SMPP_UNBIND, s->unbind_seq, 0);
        return;
    }
    close_conn(s, "stopped");
}

void smpp_session_free(smpp_session *s) {
    if (!s) return;
    if (s->bev) bufferevent_free(s->bev);
    event_free(s->tick);
    event_free(s->close_ev);
    event_free(s->reconnect_ev);
    event_free(s->done_ev);
    free(s->slots);
    free((char *)s->conf.name);
    free((char *)s->conf.host);
    free((char *)s->conf.system_id);
    free((char *)s->conf.password);
    free((char *)s->conf.system_type);
    free(s);
}

int smpp_session_can_submit(const smpp_session *s) {
    return s->state == SMPP_BOUND && !s->closing && s->conf.type != SMPP_BIND_RX;
}

int smpp_session_submit(smpp_session *s, smpp_pdu *p, void *ctx) {
    if (!smpp_session_can_submit(s) || s->nused >= (size_t)s->conf.window) return SG_EAGAIN;
    slot *sl = NULL;
    for (int i = 0; i < s->conf.window; i++)
        if (!s->slots[i].used) {
            sl = &s->slots[i];
            break;
        }
    if (!sl) return SG_EAGAIN;
    p->sequence_number = take_seq(s);
    int rc = send_pdu(s, p);
    if (rc) return rc == SG_EINVAL ? SG_EINVAL : SG_EAGAIN;
    sl->used = 1;
    sl->seq = p->sequence_number;
    sl->ctx = ctx;
    sl->deadline = sg_mono_ms() + s->conf.resp_timeout_ms;
    s->nused++;
    return 0;
}

void smpp_session_ack(smpp_ack ack, uint32_t status) {
    smpp_session *s = ack.s;
    if (!s || s->conn != ack.conn || !s->bev || s->closing) return;
    smpp_pdu p;
    smpp_pdu_init(&p, ack.cmd | 0x80000000u, ack.seq);
    p.command_status = status;
    send_pdu(s, &p);
}

smpp_state smpp_session_state(const smpp_session *s) { return s->state; }
size_t smpp_session_window(const smpp_session *s) { return (size_t)s->conf.window; }
size_t smpp_session_outstanding(const smpp_session *s) { return s->nused; }
smpp_bind_type smpp_session_type(const smpp_session *s) { return s->conf.type; }
const char *smpp_session_name(const smpp_session *s) { return s->conf.name; }
const char *smpp_session_last_error(const smpp_session *s) { return s->last_error; }
