/*
 * test_smpp_session.c - the ESME session (smpp/session.c) against a small SMSC written here
 * with libevent and the codec, over real loopback TCP: bind, submit and response, a
 * deliver_sm acknowledged, a response timeout, the connection dropped with a submit
 * outstanding (reported, then reconnected), a refused bind, and a clean unbind.
 *
 * Run all tests: build/tests/test_smpp_session; one test: build/tests/test_smpp_session <name>.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smpp/session.h"
#include "smpp/status.h"
#include "util/log.h"
#include "util/util.h"

#define TEST_TIMEOUT_S 60

/* ---- the SMSC ---- */

typedef struct smsc {
    struct event_base *base;
    struct evconnlistener *lis;
    struct bufferevent *conn;
    int port;
    uint32_t bind_status;
    int answer_submits;    /* 0: keep quiet */
    int drop_on_submit;    /* close the connection when a submit arrives */
    int binds, submits, delivers_acked, unbinds;
} smsc;

static void smsc_send(smsc *m, const smpp_pdu *p) {
    uint8_t buf[1024];
    size_t n;
    assert_int_equal(smpp_pdu_encode(p, buf, sizeof buf, &n), 0);
    bufferevent_write(m->conn, buf, n);
}

static void smsc_read(struct bufferevent *bev, void *arg) {
    smsc *m = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t len = evbuffer_get_length(in), used;
        uint8_t hdr[4];
        uint32_t n, nack;
        if (len < 4) return;
        evbuffer_copyout(in, hdr, 4);
        assert_int_equal(smpp_pdu_peek(hdr, 4, &n), 0);
        if (len < n) return;
        smpp_pdu p, r;
        assert_int_equal(smpp_pdu_decode(evbuffer_pullup(in, n), n, &p, &used, &nack), 0);
        evbuffer_drain(in, n);
        switch (p.command_id) {
        case SMPP_BIND_TRANSCEIVER:
            m->binds++;
            smpp_pdu_init(&r, SMPP_BIND_TRANSCEIVER_RESP, p.sequence_number);
            r.command_status = m->bind_status;
            strcpy(r.u.bind_resp.system_id, "TESTSMSC");
            smsc_send(m, &r);
            break;
        case SMPP_SUBMIT_SM:
            m->submits++;
            if (m->drop_on_submit) {
                m->drop_on_submit = 0;
                bufferevent_free(m->conn);
                m->conn = NULL;
                return;
            }
            if (!m->answer_submits) break;
            smpp_pdu_init(&r, SMPP_SUBMIT_SM_RESP, p.sequence_number);
            snprintf(r.u.msgid.message_id, sizeof r.u.msgid.message_id, "%d", 41 + m->submits);
            smsc_send(m, &r);
            break;
        case SMPP_DELIVER_SM_RESP:
            if (p.command_status == 0) m->delivers_acked++;
            break;
        case SMPP_ENQUIRE_LINK:
            smpp_pdu_init(&r, SMPP_ENQUIRE_LINK_RESP, p.sequence_number);
            smsc_send(m, &r);
            break;
        case SMPP_UNBIND:
            m->unbinds++;
            smpp_pdu_init(&r, SMPP_UNBIND_RESP, p.sequence_number);
            smsc_send(m, &r);
            break;
        }
    }
}

static void smsc_event(struct bufferevent *bev, short what, void *arg) {
    smsc *m = arg;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(bev);
        if (m->conn == bev) m->conn = NULL;
    }
}

static void smsc_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                        int len, void *arg) {
    (void)l;
    (void)sa;
    (void)len;
    smsc *m = arg;
    if (m->conn) bufferevent_free(m->conn);
    m->conn = bufferevent_socket_new(m->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(m->conn, smsc_read, NULL, smsc_event, m);
    bufferevent_enable(m->conn, EV_READ | EV_WRITE);
}

static void smsc_start(smsc *m, struct event_base *base) {
    memset(m, 0, sizeof *m);
    m->base = base;
    m->answer_submits = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001)};
    m->lis = evconnlistener_new_bind(base, smsc_accept, m, LEV_OPT_CLOSE_ON_FREE |
                                     LEV_OPT_REUSEABLE, -1, (struct sockaddr *)&sin, sizeof sin);
    assert_non_null(m->lis);
    struct sockaddr_in got;
    socklen_t gl = sizeof got;
    getsockname(evconnlistener_get_fd(m->lis), (struct sockaddr *)&got, &gl);
    m->port = ntohs(got.sin_port);
}

static void smsc_stop(smsc *m) {
    if (m->conn) bufferevent_free(m->conn);
    evconnlistener_free(m->lis);
}

/* ---- the ESME side ---- */

typedef struct world {
    struct event_base *base;
    smsc m;
    smpp_session *s;
    int bound_count, stopped;
    int resps;
    uint32_t last_status;
    char last_id[66];
    int requests;
} world;

static void on_state(smpp_session *s, smpp_state from, smpp_state to, void *arg) {
    (void)s;
    (void)from;
    world *w = arg;
    if (to == SMPP_BOUND) w->bound_count++;
}

static void on_resp(smpp_session *s, void *ctx, const smpp_pdu *resp, uint32_t status,
                    void *arg) {
    (void)s;
    (void)ctx;
    world *w = arg;
    w->resps++;
    w->last_status = status;
    snprintf(w->last_id, sizeof w->last_id, "%s", resp ? resp->u.msgid.message_id : "");
}

static void on_request(smpp_session *s, const smpp_pdu *p, smpp_ack ack, void *arg) {
    (void)s;
    (void)p;
    world *w = arg;
    w->requests++;
    smpp_session_ack(ack, 0);
}

static void on_stopped(smpp_session *s, void *arg) {
    (void)s;
    ((world *)arg)->stopped = 1;
}

/* Runs the loop until *flag >= want or the deadline passes. */
static void run_until(world *w, int *flag, int want, int64_t ms) {
    int64_t end = sg_mono_ms() + ms;
    while (*flag < want && sg_mono_ms() < end) {
        event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    assert_true(*flag >= want);
}

static int setup(void **state) {
    world *w = sg_xcalloc(1, sizeof *w);
    w->base = event_base_new();
    smsc_start(&w->m, w->base);
    smpp_session_conf c = {.name = "test#1", .host = "127.0.0.1", .port = w->m.port,
                           .system_id = "esme", .password = "pw", .type = SMPP_BIND_TRX,
                           .window = 4, .enquire_ms = 1000, .resp_timeout_ms = 300,
                           .reconnect_min_ms = 50, .reconnect_max_ms = 200};
    smpp_session_cbs cbs = {on_state, on_resp, on_request};
    w->s = smpp_session_new(w->base, &c, &cbs, w);
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world *w = *state;
    if (!w->stopped) {
        smpp_session_stop(w->s, on_stopped, w);
        run_until(w, &w->stopped, 1, 3000);
    }
    smpp_session_free(w->s);
    smsc_stop(&w->m);
    event_base_free(w->base);
    free(w);
    return 0;
}

static smpp_pdu submit_pdu(void) {
    static const uint8_t text[] = "hello";
    smpp_pdu p;
    smpp_pdu_init(&p, SMPP_SUBMIT_SM, 0);
    strcpy(p.u.sm.destination_addr, "33612345678");
    p.u.sm.short_message = text;
    p.u.sm.short_message_len = 5;
    return p;
}

static void test_bind_submit_deliver_unbind(void **state) {
    world *w = *state;
    smpp_pdu p = submit_pdu();
    assert_int_equal(smpp_session_submit(w->s, &p, NULL), SG_EAGAIN); /* not bound yet */
    smpp_session_start(w->s);
    run_until(w, &w->bound_count, 1, 3000);
    assert_int_equal(smpp_session_state(w->s), SMPP_BOUND);
    assert_int_equal(smpp_session_submit(w->s, &p, w), 0);
    assert_int_equal(smpp_session_outstanding(w->s), 1);
    run_until(w, &w->resps, 1, 3000);
    assert_int_equal(w->last_status, 0);
    assert_string_equal(w->last_id, "42");
    assert_int_equal(smpp_session_outstanding(w->s), 0);
    /* A deliver_sm from the SMSC is handed over and acknowledged. */
    static const uint8_t r[] = "id:42 stat:DELIVRD err:000";
    smpp_pdu d;
    smpp_pdu_init(&d, SMPP_DELIVER_SM, 99);
    d.u.sm.esm_class = 4;
    d.u.sm.short_message = r;
    d.u.sm.short_message_len = sizeof r - 1;
    smsc_send(&w->m, &d);
    run_until(w, &w->m.delivers_acked, 1, 3000);
    assert_int_equal(w->requests, 1);
    smpp_session_stop(w->s, on_stopped, w);
    run_until(w, &w->stopped, 1, 3000);
    assert_int_equal(w->m.unbinds, 1);
    assert_int_equal(smpp_session_state(w->s), SMPP_DISCONNECTED);
}

static void test_window_and_timeout(void **state) {
    world *w = *state;
    w->m.answer_submits = 0;
    smpp_session_start(w->s);
    run_until(w, &w->bound_count, 1, 3000);
    smpp_pdu p = submit_pdu();
    for (int i = 0; i < 4; i++) assert_int_equal(smpp_session_submit(w->s, &p, w), 0);
    assert_int_equal(smpp_session_submit(w->s, &p, w), SG_EAGAIN); /* the window is full */
    run_until(w, &w->resps, 4, 3000);
    assert_int_equal(w->last_status, SMPP_NO_RESP);
    assert_int_equal(smpp_session_outstanding(w->s), 0);
}

static void test_dropped_connection_reports_and_reconnects(void **state) {
    world *w = *state;
    smpp_session_start(w->s);
    run_until(w, &w->bound_count, 1, 3000);
    w->m.drop_on_submit = 1;
    smpp_pdu p = submit_pdu();
    assert_int_equal(smpp_session_submit(w->s, &p, w), 0);
    run_until(w, &w->resps, 1, 3000);
    assert_int_equal(w->last_status, SMPP_NO_RESP);
    run_until(w, &w->bound_count, 2, 3000); /* bound again after the backoff */
    assert_int_equal(w->m.binds, 2);
    assert_int_equal(smpp_session_submit(w->s, &p, w), 0);
    run_until(w, &w->resps, 2, 3000);
    assert_int_equal(w->last_status, 0);
}

static void test_refused_bind(void **state) {
    world *w = *state;
    w->m.bind_status = SMPP_ESME_RINVPASWD;
    smpp_session_start(w->s);
    run_until(w, &w->m.binds, 2, 3000); /* refused, then tried again */
    assert_int_equal(w->bound_count, 0);
    assert_non_null(strstr(smpp_session_last_error(w->s), "0x0000000E (invalid password)"));
}

int main(int argc, char **argv) {
    alarm(TEST_TIMEOUT_S);
    sg_log_set_level(SG_LOG_ERROR);
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bind_submit_deliver_unbind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_connection_reports_and_reconnects, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_bind, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
