/*
 * session.h - one ESME session (one bind) with an operator's SMSC, over TCP or TLS, on the
 * loop thread's event base: connect, bind, keep alive with enquire_link, submit within a
 * window, receive deliver_sm/data_sm, unbind; reconnect with exponential backoff.
 *
 * Threads: loop thread only. Owner: the route that created it (smpp_route.c), which frees it
 * with smpp_session_free() only after smpp_session_stop() reported done and every ack token it
 * handed out was used or dropped.
 *
 * Callbacks (never called from inside the function that caused them):
 *   state()   after each state change (the session logs the transition itself);
 *   resp()    exactly once per accepted smpp_session_submit(): with the response PDU, or with
 *             resp == NULL and status SMPP_NO_RESP when none came (timeout, connection lost);
 *   request() for each deliver_sm and data_sm; the callee answers it exactly once, now or
 *             later, with smpp_session_ack(). An ack for a connection that has closed since is
 *             dropped (the SMSC sends the PDU again).
 */
#ifndef SG_SMPP_SESSION_H
#define SG_SMPP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "smpp/pdu.h"

typedef enum {
    SMPP_DISCONNECTED = 0,
    SMPP_CONNECTING,
    SMPP_BINDING,
    SMPP_BOUND,
    SMPP_UNBINDING
} smpp_state;

typedef enum { SMPP_BIND_TRX = 0, SMPP_BIND_TX, SMPP_BIND_RX } smpp_bind_type;

/* Local status of a request that got no response. Not an SMPP code. */
#define SMPP_NO_RESP 0xFFFFFFFFu

typedef struct smpp_session smpp_session;

typedef struct smpp_session_conf {
    const char *name;                  /* for logs, e.g. "orange-fr#2/tx" */
    const char *host;                  /* IP address or host name (resolved when connecting) */
    int port;
    SSL_CTX *tls;                      /* NULL: plain TCP. Borrowed; outlives the session */
    int tls_verify;                    /* check the certificate names host */
    const char *system_id, *password, *system_type;
    smpp_bind_type type;
    int window;                        /* outstanding submits, >= 1 */
    int64_t enquire_ms;                /* enquire_link after this much silence (30000) */
    int64_t resp_timeout_ms;           /* for every request, bind and unbind included (10000) */
    int64_t reconnect_min_ms, reconnect_max_ms; /* backoff bounds (500, 30000) */
} smpp_session_conf;

/* Identifies one received request to answer. */
typedef struct smpp_ack {
    smpp_session *s;
    uint64_t conn;     /* the connection it came on */
    uint32_t seq, cmd;
} smpp_ack;

typedef struct smpp_session_cbs {
    void (*state)(smpp_session *s, smpp_state from, smpp_state to, void *arg);
    void (*resp)(smpp_session *s, void *ctx, const smpp_pdu *resp, uint32_t status, void *arg);
    void (*request)(smpp_session *s, const smpp_pdu *p, smpp_ack ack, void *arg);
} smpp_session_cbs;

/* Creates a stopped session; strings in conf are copied. */
smpp_session *smpp_session_new(struct event_base *base, const smpp_session_conf *conf,
                               const smpp_session_cbs *cbs, void *arg);
/* Starts connecting (and reconnecting after every loss, until stopped). */
void smpp_session_start(smpp_session *s);
/* Unbinds (or gives up connecting) and stays disconnected; done(s, arg) runs once, later, when
 * the connection is closed and every outstanding submit was reported. */
void smpp_session_stop(smpp_session *s, void (*done)(smpp_session *s, void *arg), void *arg);
/* Frees a session that is stopped (done was called) or was never started. NULL does nothing. */
void smpp_session_free(smpp_session *s);

/* Sends a submit_sm (or data_sm) and remembers ctx for its response. Sets p's
 * sequence_number. Returns 0 (resp() will run once), SG_EAGAIN when the session is not bound
 * for transmitting or its window is full, SG_EINVAL when p cannot be encoded. */
int smpp_session_submit(smpp_session *s, smpp_pdu *p, void *ctx);
/* Answers a request received through request(): a deliver_sm_resp or data_sm_resp with this
 * status. Does nothing when that connection is gone. */
void smpp_session_ack(smpp_ack ack, uint32_t status);

smpp_state smpp_session_state(const smpp_session *s);
/* 1 when bound and able to submit (a transceiver or a transmitter). */
int smpp_session_can_submit(const smpp_session *s);
size_t smpp_session_window(const smpp_session *s);      /* the window size */
size_t smpp_session_outstanding(const smpp_session *s); /* submits awaiting a response */
smpp_bind_type smpp_session_type(const smpp_session *s);
const char *smpp_session_name(const smpp_session *s);
/* The last failure ("Bind refused: status 0x0000000E (invalid password)"), "" if none. */
const char *smpp_session_last_error(const smpp_session *s);
/* "DISCONNECTED", "CONNECTING", ... */
const char *smpp_state_name(smpp_state st);

#endif
