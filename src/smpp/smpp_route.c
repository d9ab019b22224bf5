/*
 * smpp_route.c - the SMPP route driver (see smpp_route.h and dispatch/route.h).
 *
 * Design. send() turns a stored message into its submit_sm PDUs at once (encoding, parts,
 * addresses, UDH or SAR) and appends them to the route's FIFO of parts; pump() moves parts
 * from the FIFO onto binds, round-robin over the binds that are bound for transmitting and
 * have room in their window, while the rate limiter allows. Each submit_sm_resp resolves one
 * part; when every part of a message is resolved, the message is finished:
 *   every part accepted   -> smpp_accept (operator ids + `submitted`, one transaction), then
 *                            reported ACCEPTED (stored);
 *   a part refused for good -> reported PERM with the ptt of smpp_status_ptt();
 *   otherwise (temporary refusal, no response, connection lost) -> reported TEMP, with the
 *                            ptt it fails with if its retries run out: the dispatcher
 *                            retries it on the next route, or later with backoff.
 * ESME_RTHROTTLED / ESME_RMSGQFUL do not finish the part: the route pauses, lowers its rate,
 * and the part goes back to the head of the FIFO (at most MAX_THROTTLES times).
 *
 * Rate limit. The route never sends more than `tps` submit_sm within any RATE_WINDOW_MS
 * (a sliding window over the send times of the last `tps` submits, kept in a ring), so no
 * one-second window at the SMSC sees more than tps. capacity() offers the dispatcher only what
 * the window, the rate and the FIFO allow, so the excess stays queued in the store; when the
 * window or the rate frees room the route calls wake().
 *
 * Bind slots (docs/cluster.md, route.h contract 6). In smsgated a route's binds are a total
 * for every node of the database (smpp_route_timing.leased_binds): bind b opens only while
 * set_slots() says this node holds slot b and it is within the node's share; a bind no longer
 * wanted is unbound, and r_slots() offers its slot to be given up only once its sessions
 * stopped, so the SMSC never sees two nodes on one slot. Sessions are made per opening and
 * kept in `grave` after they stop, until no receipt batch may still hold an ack of theirs.
 * The rate is this node's part, tps * open binds / binds (share_rate()). With no bind wanted
 * (the fence) the parts still queued go back to the dispatcher as temporary failures.
 *
 * Receipts and MO. deliver_sm/data_sm from any bind are parsed (smpp/dlr.h) and gathered
 * during one loop pass into one store operation; each is acknowledged after that commit
 * (ESME_ROK), or with ESME_RX_T_APPN when it failed, so the SMSC sends it again. A receipt is
 * never lost: the store keeps those it cannot match yet. An MO is decoded here (core/mo.h:
 * alphabet, GSM packed per the route's pack7, UDH or SAR parts) and stored as an incoming
 * message, or as one part of one, which the store completes when its last part arrives on
 * any bind of any route (store/sqlite_incoming.c).
 *
 * Message states inside the route: QUEUED (parts in the FIFO) -> SENT (parts in windows) ->
 * FINISHING (all parts resolved; the acceptance is being stored) -> reported and freed
 * (finish(), on_accepted()).
 *
 * Invariants:
 *  1. Every message taken by send() is reported exactly once, never from inside send():
 *     pump() and finish() run from events.
 *  2. `inflight` counts messages taken and not yet reported; stop() is only called when it is
 *     0, and done runs once the binds are closed and no store operation of ours is pending.
 *  3. The submits of any RATE_WINDOW_MS never exceed tps (the limiter is checked before each).
 */
#include "smpp/smpp_route.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/gsm.h"
#include "core/mo.h"
#include "smpp/dlr.h"
#include "smpp/pdu.h"
#include "smpp/session.h"
#include "smpp/status.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"

#define LOG "smpp.route"
#define RATE_WINDOW_MS 1010 /* a second, plus a margin for jitter between us and the SMSC */
#define MAX_THROTTLES 20    /* throttle answers one part may get before it fails over */
#define MAX_PARTS 255
#define RATE_SECONDS 5      /* "rate" in the status: submits per second over this */

typedef struct msgrec msgrec;

typedef struct part {
    msgrec *msg;
    int index;
    smpp_pdu pdu;
    uint8_t sm[256];
    int throttles;
    struct part *next;
} part;

struct msgrec {
    int64_t msg_id;
    int nparts, unresolved;
    smpp_class worst;   /* SMPP_CLASS_OK, _TEMP or _PERM */
    msgrec *prev, *next; /* the route's live messages */
    uint32_t status;    /* of the worst refusal */
    char **ids;         /* operator id of each part */
    part *parts;
};

typedef struct ack_item {
    smpp_ack ack;
} ack_item;

/* Work gathered during one loop pass, written as one store operation. */
typedef struct batch {
    struct smpp_route *r;
    int kind; /* 0 accepts, 1 receipts, 2 MO */
    store_smpp_accept_req acc;
    store_smpp_receipt_req rcp;
    store_smpp_mo_req mo;
    msgrec **msgs;      /* accepts: their messages */
    smpp_ack *acks;     /* receipts and MO: their acks */
    char **strs;        /* copies freed with the batch */
    size_t n, nstrs;
} batch;

typedef struct smpp_route {
    route *rt;
    struct event_base *base;
    store *st;
    store_route conf;
    SSL_CTX *ssl;
    smpp_session **sess;
    size_t nsess, rr;   /* sess[b * per + k]: bind b's k-th session; NULL while closed */
    int per;            /* sessions per bind: 1 transceiver, 2 transmitter + receiver */
    smpp_route_timing tm;
    /* Bind slots (docs/cluster.md, route.h contract 6). */
    int leased;         /* binds open only on slots granted by set_slots() */
    uint64_t held;      /* the slots this node holds (last set_slots) */
    uint64_t want;      /* the slots whose binds are to be open */
    int elsewhere;      /* slots other nodes hold (last set_slots) */
    int tps_cap;        /* this node's part of the route's tps (tps when it holds every slot) */
    smpp_session **grave; /* stopped sessions, freed once no ack of theirs can be pending */
    size_t ngrave;
    part *q_head, *q_tail;
    size_t nqueued, inflight, sent_parts;
    msgrec *live;       /* taken and not yet reported */
    /* rate limiter */
    int64_t *ring;
    size_t ring_size, ring_head, ring_old, n_in;
    int eff_tps;
    int64_t pause_until, pause_ms, last_throttle;
    struct event *pump_ev, *pump_timer, *flush_ev, *done_ev;
    batch *cur[3];
    size_t pending_ops;
    int stopping;
    void (*stop_done)(route *, void *);
    void *stop_arg;
    /* figures for the status */
    uint64_t submitted, accepted, temp_failed, perm_failed, receipts, unmatched, mo, throttled;
    sg_hist receipt_s; /* operator's acceptance -> final receipt, seconds (/metrics) */
    int64_t sec_base;
    uint32_t sec_counts[RATE_SECONDS + 1];
    char last_error[256];
} smpp_route;

static void schedule_pump(smpp_route *r, int64_t delay_ms);
static void maybe_stop_done(smpp_route *r);
static void open_binds(smpp_route *r);
static int bind_closed(const smpp_route *r, int b);

static int popcount64(uint64_t v) { return __builtin_popcountll(v); }

/* ---- the rate limiter ---- */

static void rate_expire(smpp_route *r, int64_t now) {
    while (r->n_in && now - r->ring[r->ring_old] >= RATE_WINDOW_MS) {
        r->ring_old = (r->ring_old + 1) % r->ring_size;
        r->n_in--;
    }
}

/* Submits allowed right now; SIZE_MAX without a limit. */
static size_t rate_free(smpp_route *r, int64_t now) {
    if (!r->ring_size) return SIZE_MAX;
    rate_expire(r, now);
    return (size_t)r->eff_tps > r->n_in ? (size_t)r->eff_tps - r->n_in : 0;
}

/* When the next submit will be allowed (only meaningful when rate_free() is 0). */
static int64_t rate_next(smpp_route *r) {
    size_t over = r->n_in - (size_t)r->eff_tps; /* sends that must leave the window, minus 1 */
    return r->ring[(r->ring_old + over) % r->ring_size] + RATE_WINDOW_MS;
}

static void rate_note(smpp_route *r, int64_t now) {
    if (r->ring_size) {
        r->ring[r->ring_head] = now;
        r->ring_head = (r->ring_head + 1) % r->ring_size;
        r->n_in++;
    }
    int64_t sec = sg_mono_ms() / 1000;
    if (sec != r->sec_base) {
        int64_t shift = sec - r->sec_base;
        if (shift > RATE_SECONDS) shift = RATE_SECONDS + 1;
        memmove(r->sec_counts + shift, r->sec_counts,
                (RATE_SECONDS + 1 - (size_t)shift) * sizeof r->sec_counts[0]);
        memset(r->sec_counts, 0, (size_t)shift * sizeof r->sec_counts[0]);
        r->sec_base = sec;
    }
    r->sec_counts[0]++;
}

static double rate_now(smpp_route *r) {
    int64_t sec = sg_mono_ms() / 1000, shift = sec - r->sec_base;
    uint32_t sum = 0;
    for (int64_t i = 1; i <= RATE_SECONDS; i++)
        if (i - shift >= 0 && i - shift <= RATE_SECONDS) sum += r->sec_counts[i - shift];
    return (double)sum / RATE_SECONDS;
}

/* The SMSC asked us to slow down: pause, and halve the rate (restored while it stays quiet). */
static void throttle(smpp_route *r, uint32_t status) {
    int64_t now = sg_mono_ms();
    r->throttled++;
    r->pause_ms = now - r->last_throttle < 2000 ? r->pause_ms * 2 : 200;
    if (r->pause_ms > 5000) r->pause_ms = 5000;
    r->pause_until = now + r->pause_ms;
    r->last_throttle = now;
    if (r->ring_size && r->eff_tps > 1) r->eff_tps = r->eff_tps / 2 > 0 ? r->eff_tps / 2 : 1;
    snprintf(r->last_error, sizeof r->last_error, "throttled by the SMSC (%s): pausing %lld ms, "
             "rate %d/s", smpp_status_name(status), (long long)r->pause_ms, r->eff_tps);
    sg_log_info(LOG, "Route '%s': %s.", r->conf.name, r->last_error);
}

static void unthrottle(smpp_route *r, int64_t now) {
    if (r->ring_size && r->eff_tps < r->tps_cap && now - r->last_throttle > 1000) {
        int step = r->tps_cap / 10 > 0 ? r->tps_cap / 10 : 1;
        r->eff_tps = r->eff_tps + step > r->tps_cap ? r->tps_cap : r->eff_tps + step;
        r->last_throttle = now;
    }
}

/* ---- building the PDUs of a message ---- */

static void set_source(smpp_pdu *p, const char *sender) {
    struct smpp_body_sm *b = &p->u.sm;
    const char *s = sender ? sender : "";
    size_t n = strlen(s), digits = 0;
    const char *d = s[0] == '+' ? s + 1 : s;
    for (const char *q = d; *q; q++) digits += (*q >= '0' && *q <= '9');
    if (n && digits == strlen(d) && (s[0] == '+' || digits > 6)) {
        b->source_addr_ton = 1; /* international */
        b->source_addr_npi = 1; /* E.164 */
        snprintf(b->source_addr, sizeof b->source_addr, "%s", d);
    } else if (n && digits == n) {
        b->source_addr_ton = 3; /* network specific: a short code */
        b->source_addr_npi = 0;
        snprintf(b->source_addr, sizeof b->source_addr, "%s", s);
    } else {
        b->source_addr_ton = 5; /* alphanumeric */
        b->source_addr_npi = 0;
        snprintf(b->source_addr, sizeof b->source_addr, "%s", s);
    }
}

/* SMPP relative time "YYMMDDhhmmss000R" for a number of minutes. */
static void relative_time(int64_t minutes, char out[17]) {
    if (minutes <= 0) {
        out[0] = '\0';
        return;
    }
    int64_t days = minutes / 1440, h = minutes % 1440 / 60, m = minutes % 60;
    int64_t yy = days / 365, mo = days % 365 / 30, dd = days % 365 % 30;
    if (yy > 99) yy = 99;
    snprintf(out, 17, "%02d%02d%02d%02d%02d00000R", (int)yy, (int)mo, (int)dd, (int)h, (int)m);
}

/* Cuts enc into parts of at most cap units (unit = 1 byte for GSM-7, 2 for UCS-2) without
 * splitting an escape (GSM-7) or a surrogate pair (UCS-2). Returns the count or -1. */
static int split_units(int ucs2, const uint8_t *enc, size_t len, size_t cap, size_t *off,
                       size_t *lens, size_t max) {
    size_t unit = ucs2 ? 2 : 1, pos = 0;
    int n = 0;
    while (pos < len) {
        if ((size_t)n == max) return -1;
        size_t take = (len - pos) / unit > cap ? cap * unit : len - pos;
        if (pos + take < len) {
            if (!ucs2 && enc[pos + take - 1] == 0x1B) take--;
            if (ucs2 && (enc[pos + take - 2] & 0xFC) == 0xD8) take -= 2;
        }
        off[n] = pos;
        lens[n] = take;
        n++;
        pos += take;
    }
    return n;
}

/* Builds the parts of m. Returns 0 or SG_EINVAL (the text cannot be sent). */
static int build(smpp_route *r, const store_msg *m, msgrec *mr) {
    const char *text = m->message ? m->message : "";
    size_t tlen = strlen(text), cap = 2 * tlen + 4;
    uint8_t *enc = sg_xmalloc(cap);
    size_t n = 0;
    int ucs2 = m->coding == GSM_CODING_UCS2;
    if (!ucs2 && gsm_encode_7bit(text, tlen, enc, cap, &n) != 0) ucs2 = 1;
    if (ucs2 && gsm_encode_ucs2(text, tlen, enc, cap, &n) != 0) {
        free(enc);
        return SG_EINVAL;
    }
    size_t off[MAX_PARTS], lens[MAX_PARTS];
    int np;
    int concat = r->conf.concat;
    if (n <= (ucs2 ? 140u : 160u)) {
        np = 1;
        off[0] = 0;
        lens[0] = n;
    } else if (concat == STORE_CONCAT_UDH16) {
        np = split_units(ucs2, enc, n, ucs2 ? 66 : 152, off, lens, MAX_PARTS);
    } else {
        np = gsm_split(ucs2 ? GSM_CODING_UCS2 : GSM_CODING_7BIT, enc, n, off, lens, MAX_PARTS);
    }
    if (np < 1) {
        free(enc);
        return SG_EINVAL;
    }
    mr->nparts = mr->unresolved = np;
    mr->parts = sg_xcalloc((size_t)np, sizeof *mr->parts);
    mr->ids = sg_xcalloc((size_t)np, sizeof *mr->ids);
    int ref = concat == STORE_CONCAT_UDH16 || concat == STORE_CONCAT_SAR ? (int)(m->id & 0xFFFF)
                                                                         : (int)(m->id & 0xFF);
    for (int i = 0; i < np; i++) {
        part *pt = &mr->parts[i];
        pt->msg = mr;
        pt->index = i;
        smpp_pdu *p = &pt->pdu;
        smpp_pdu_init(p, SMPP_SUBMIT_SM, 0);
        struct smpp_body_sm *b = &p->u.sm;
        set_source(p, m->sender);
        b->dest_addr_ton = 1;
        b->dest_addr_npi = 1;
        snprintf(b->destination_addr, sizeof b->destination_addr, "%s",
                 m->receiver[0] == '+' ? m->receiver + 1 : m->receiver);
        b->registered_delivery = (uint8_t)r->conf.registered_delivery;
        relative_time(m->validity_min, b->validity_period);
        b->data_coding = ucs2 ? 0x08 : 0x00;
        if (m->sms_class != 1 && m->sms_class >= 0 && m->sms_class <= 3)
            b->data_coding = (uint8_t)(0x10 | (ucs2 ? 0x08 : 0x00) | m->sms_class);
        size_t udh = 0;
        if (np > 1 && concat == STORE_CONCAT_UDH8) {
            uint8_t h[6] = {5, 0x00, 3, (uint8_t)ref, (uint8_t)np, (uint8_t)(i + 1)};
            memcpy(pt->sm, h, 6);
            udh = 6;
        } else if (np > 1 && concat == STORE_CONCAT_UDH16) {
            uint8_t h[7] = {6, 0x08, 4, (uint8_t)(ref >> 8), (uint8_t)ref, (uint8_t)np,
                            (uint8_t)(i + 1)};
            memcpy(pt->sm, h, 7);
            udh = 7;
        } else if (np > 1) {
            p->tlv.present |= SMPP_TLV_BIT(sar_msg_ref_num) | SMPP_TLV_BIT(sar_total_segments) |
                              SMPP_TLV_BIT(sar_segment_seqnum);
            p->tlv.sar_msg_ref_num = (uint16_t)ref;
            p->tlv.sar_total_segments = (uint8_t)np;
            p->tlv.sar_segment_seqnum = (uint8_t)(i + 1);
        }
        if (udh) b->esm_class = 0x40; /* UDH indicator */
        size_t len;
        if (!ucs2 && r->conf.pack7) {
            unsigned pad = (unsigned)((7 - (udh * 8) % 7) % 7);
            len = gsm_pack7(enc + off[i], lens[i], pad, pt->sm + udh, sizeof pt->sm - udh);
            if (lens[i] && !len) {
                free(enc);
                return SG_EINVAL;
            }
        } else {
            len = lens[i];
            if (udh + len > 254) {
                free(enc);
                return SG_EINVAL;
            }
            memcpy(pt->sm + udh, enc + off[i], len);
        }
        b->short_message_len = (uint8_t)(udh + len);
        b->short_message = pt->sm;
    }
    free(enc);
    return 0;
}

static void msgrec_free(smpp_route *r, msgrec *mr) {
    if (!mr) return;
    if (mr->prev) mr->prev->next = mr->next;
    else r->live = mr->next;
    if (mr->next) mr->next->prev = mr->prev;
    for (int i = 0; i < mr->nparts; i++) free(mr->ids[i]);
    free(mr->ids);
    free(mr->parts);
    free(mr);
}

/* ---- store batches ---- */

static void on_batch(int rc, void *arg);

static batch *get_batch(smpp_route *r, int kind) {
    if (!r->cur[kind]) {
        batch *b = sg_xcalloc(1, sizeof *b);
        b->r = r;
        b->kind = kind;
        r->cur[kind] = b;
        event_active(r->flush_ev, EV_WRITE, 0);
    }
    return r->cur[kind];
}

static char *keep(batch *b, const char *s) {
    b->strs = sg_xrealloc(b->strs, (b->nstrs + 1) * sizeof *b->strs);
    return b->strs[b->nstrs++] = sg_xstrdup(s ? s : "");
}

static void batch_free(batch *b) {
    for (size_t i = 0; i < b->nstrs; i++) free(b->strs[i]);
    free(b->strs);
    free(b->acc.items);
    free(b->rcp.items);
    free(b->mo.items);
    free(b->msgs);
    free(b->acks);
    free(b);
}

static void on_flush(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_route *r = arg;
    for (int k = 0; k < 3; k++) {
        batch *b = r->cur[k];
        if (!b) continue;
        r->cur[k] = NULL;
        r->pending_ops++;
        if (k == 0) {
            b->acc.count = b->n;
            store_smpp_accept(r->st, &b->acc, on_batch, b);
        } else if (k == 1) {
            b->rcp.count = b->n;
            store_smpp_receipt(r->st, &b->rcp, on_batch, b);
        } else {
            b->mo.count = b->n;
            b->mo.reply_window_ms = r->tm.reply_window_ms;
            store_smpp_mo(r->st, &b->mo, on_batch, b);
        }
    }
}

static void on_batch(int rc, void *arg) {
    batch *b = arg;
    smpp_route *r = b->r;
    r->pending_ops--;
    if (b->kind == 0) {
        if (rc)
            sg_log_error(LOG, "Route '%s': storing %zu acceptances failed (%s); they are "
                              "recorded without their operator ids, so their receipts will "
                              "not match.", r->conf.name, b->n, sg_strerror(rc));
        for (size_t i = 0; i < b->n; i++) {
            msgrec *mr = b->msgs[i];
            route_report rep = {.msg_id = mr->msg_id, .result = ROUTE_ACCEPTED,
                                .smsc_id = mr->ids[0], .stored = rc == 0};
            r->inflight--;
            r->accepted++;
            r->rt->report(r->rt, &rep, r->rt->report_arg);
            msgrec_free(r, mr);
        }
    } else {
        if (rc)
            sg_log_error(LOG, "Route '%s': storing %zu %s failed (%s); the SMSC is asked to "
                              "send them again.", r->conf.name, b->n,
                         b->kind == 1 ? "receipts" : "MO messages", sg_strerror(rc));
        for (size_t i = 0; i < b->n; i++) {
            const store_smpp_receipt_item *x = &b->rcp.items[i];
            if (b->kind == 1 && rc == 0 && x->sent_ms > 0 && x->ts_ms >= x->sent_ms &&
                (x->state == MSG_DELIVERED || x->state == MSG_FAILED))
                sg_hist_observe(&r->receipt_s, (double)(x->ts_ms - x->sent_ms) / 1000.0);
            if (b->kind == 1 && rc == 0 && !b->rcp.items[i].matched) {
                r->unmatched++;
                sg_log_info(LOG, "Route '%s': receipt for unknown message id '%s' kept until "
                                 "its submit is recorded.", r->conf.name,
                            b->rcp.items[i].smsc_id);
            }
            smpp_session_ack(b->acks[i], rc ? SMPP_ESME_RX_T_APPN : SMPP_ESME_ROK);
        }
    }
    batch_free(b);
    maybe_stop_done(r);
}

/* ---- finishing messages ---- */

static void finish(smpp_route *r, msgrec *mr) {
    if (mr->worst == SMPP_CLASS_OK) {
        batch *b = get_batch(r, 0);
        b->acc.items = sg_xrealloc(b->acc.items, (b->n + 1) * sizeof *b->acc.items);
        b->msgs = sg_xrealloc(b->msgs, (b->n + 1) * sizeof *b->msgs);
        b->acc.items[b->n] = (store_smpp_accept_item){.msg_id = mr->msg_id,
                                                      .route = r->conf.name,
                                                      .nparts = (size_t)mr->nparts,
                                                      .smsc_ids = (const char *const *)mr->ids,
                                                      .ts_ms = sg_now_ms()};
        b->msgs[b->n++] = mr;
        return;
    }
    char why[160];
    if (mr->status == SMPP_NO_RESP)
        snprintf(why, sizeof why, "no response from the SMSC");
    else
        snprintf(why, sizeof why, "status 0x%08X %s (%s)", mr->status,
                 smpp_status_name(mr->status), smpp_status_text(mr->status));
    route_report rep = {.msg_id = mr->msg_id, .why = why};
    if (mr->worst == SMPP_CLASS_PERM) {
        rep.result = ROUTE_PERM;
        rep.ptt = smpp_status_ptt(mr->status);
        rep.dlr = DLR_ERROR;
        r->perm_failed++;
        sg_log_info(LOG, "Route '%s': message %lld refused for good: %s.", r->conf.name,
                    (long long)mr->msg_id, why);
    } else {
        rep.result = ROUTE_TEMP;
        /* Stored only if this turns out to be the message's last attempt. */
        rep.ptt = mr->status == SMPP_NO_RESP ? 25 : smpp_status_ptt(mr->status);
        rep.dlr = DLR_ERROR;
        r->temp_failed++;
        sg_log_info(LOG, "Route '%s': message %lld not accepted for now: %s.", r->conf.name,
                    (long long)mr->msg_id, why);
    }
    r->inflight--;
    r->rt->report(r->rt, &rep, r->rt->report_arg);
    msgrec_free(r, mr);
}

static void resolve(smpp_route *r, part *pt, smpp_class cls, uint32_t status, const char *id) {
    msgrec *mr = pt->msg;
    if (cls == SMPP_CLASS_OK) {
        free(mr->ids[pt->index]);
        mr->ids[pt->index] = sg_xstrdup(id ? id : "");
    } else if (cls > mr->worst || mr->worst == SMPP_CLASS_OK) {
        if (cls == SMPP_CLASS_PERM || mr->worst != SMPP_CLASS_PERM) {
            mr->worst = cls;
            mr->status = status;
        }
    }
    if (--mr->unresolved == 0) finish(r, mr);
}

/* ---- sending ---- */

static void queue_part(smpp_route *r, part *pt, int front) {
    if (front) {
        pt->next = r->q_head;
        r->q_head = pt;
        if (!r->q_tail) r->q_tail = pt;
    } else {
        pt->next = NULL;
        if (r->q_tail) r->q_tail->next = pt;
        else r->q_head = pt;
        r->q_tail = pt;
    }
    r->nqueued++;
}

static smpp_session *next_session(smpp_route *r) {
    for (size_t k = 0; k < r->nsess; k++) {
        smpp_session *s = r->sess[(r->rr + k) % r->nsess];
        if (s && smpp_session_can_submit(s) &&
            smpp_session_outstanding(s) < smpp_session_window(s)) {
            r->rr = (r->rr + k + 1) % r->nsess;
            return s;
        }
    }
    return NULL;
}

static void pump(smpp_route *r) {
    int64_t now = sg_mono_ms();
    if (r->leased && !r->want) { /* no bind to carry them: back to the dispatcher */
        while (r->q_head) {
            part *pt = r->q_head;
            r->q_head = pt->next;
            if (!r->q_head) r->q_tail = NULL;
            r->nqueued--;
            resolve(r, pt, SMPP_CLASS_TEMP, SMPP_NO_RESP, NULL);
        }
        return;
    }
    while (r->q_head) {
        if (now < r->pause_until) {
            schedule_pump(r, r->pause_until - now);
            return;
        }
        if (rate_free(r, now) == 0) {
            int64_t at = rate_next(r);
            schedule_pump(r, at > now ? at - now : 1);
            return;
        }
        part *pt = r->q_head;
        if (pt->pdu.command_id != SMPP_SUBMIT_SM) { /* its text could not be encoded */
            r->q_head = pt->next;
            if (!r->q_head) r->q_tail = NULL;
            r->nqueued--;
            resolve(r, pt, SMPP_CLASS_PERM, SMPP_ESME_RINVMSGLEN, NULL);
            continue;
        }
        smpp_session *s = next_session(r);
        if (!s) return; /* a response or a bind coming up pumps again */
        r->q_head = pt->next;
        if (!r->q_head) r->q_tail = NULL;
        r->nqueued--;
        int rc = smpp_session_submit(s, &pt->pdu, pt);
        if (rc == SG_EAGAIN) {
            queue_part(r, pt, 1);
            return;
        }
        if (rc) {
            snprintf(r->last_error, sizeof r->last_error, "a submit_sm could not be encoded");
            resolve(r, pt, SMPP_CLASS_PERM, SMPP_ESME_RINVMSGLEN, NULL);
            continue;
        }
        r->submitted++;
        r->sent_parts++;
        rate_note(r, now);
    }
}

static void on_pump(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_route *r = arg;
    size_t before = r->rt->ops->capacity(r->rt);
    pump(r);
    if (r->rt->wake && !r->stopping && r->rt->ops->capacity(r->rt) > before)
        r->rt->wake(r->rt, r->rt->report_arg);
    else if (r->rt->wake && !r->stopping && r->rt->ops->capacity(r->rt) > 0 && !r->q_head)
        r->rt->wake(r->rt, r->rt->report_arg);
}

static void schedule_pump(smpp_route *r, int64_t delay_ms) {
    if (delay_ms <= 0) {
        event_active(r->pump_ev, EV_TIMEOUT, 0);
        return;
    }
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(r->pump_timer, &tv);
}

/* ---- session callbacks ---- */

static void on_state(smpp_session *s, smpp_state from, smpp_state to, void *arg) {
    smpp_route *r = arg;
    (void)from;
    if (to == SMPP_BOUND) {
        schedule_pump(r, 0); /* also wakes the dispatcher: capacity grew */
    } else if (to == SMPP_DISCONNECTED && smpp_session_last_error(s)[0]) {
        snprintf(r->last_error, sizeof r->last_error, "%s: %s", smpp_session_name(s),
                 smpp_session_last_error(s));
    }
}

static void on_resp(smpp_session *s, void *ctx, const smpp_pdu *resp, uint32_t status,
                    void *arg) {
    (void)s;
    smpp_route *r = arg;
    part *pt = ctx;
    r->sent_parts--;
    smpp_class cls = status == SMPP_NO_RESP ? SMPP_CLASS_TEMP : smpp_status_class(status);
    if (cls == SMPP_CLASS_THROTTLE) {
        throttle(r, status);
        if (++pt->throttles <= MAX_THROTTLES && !r->stopping) {
            queue_part(r, pt, 1);
            schedule_pump(r, 0);
            return;
        }
        cls = SMPP_CLASS_TEMP;
    }
    if (cls == SMPP_CLASS_OK) unthrottle(r, sg_mono_ms());
    else if (status != SMPP_NO_RESP)
        snprintf(r->last_error, sizeof r->last_error, "submit_sm refused: status 0x%08X %s (%s)",
                 status, smpp_status_name(status), smpp_status_text(status));
    const char *id = resp && status == 0 ? resp->u.msgid.message_id : NULL;
    resolve(r, pt, cls, status, id);
    schedule_pump(r, 0);
}

/* "+" and the digits of an address whose TON is international (1), else the address as it
 * came (new string). */
static char *mo_address(const char *a, int ton) {
    return sg_xasprintf("%s%s", ton == 1 && a[0] != '+' ? "+" : "", a);
}

/* Hands a malloc'ed buffer to the batch (freed with it). */
static const uint8_t *keep_bytes(batch *b, uint8_t *p) {
    b->strs = sg_xrealloc(b->strs, (b->nstrs + 1) * sizeof *b->strs);
    b->strs[b->nstrs++] = (char *)p;
    return p;
}

static void on_request(smpp_session *s, const smpp_pdu *p, smpp_ack ack, void *arg) {
    smpp_route *r = arg;
    (void)s;
    if (smpp_dlr_is_receipt(p)) {
        smpp_dlr d;
        if (smpp_dlr_parse(p, &d) != 0) {
            sg_log_warn(LOG, "Route '%s': a delivery receipt without a message id or state was "
                             "acknowledged and ignored.", r->conf.name);
            smpp_session_ack(ack, SMPP_ESME_ROK);
            return;
        }
        r->receipts++;
        batch *b = get_batch(r, 1);
        b->rcp.items = sg_xrealloc(b->rcp.items, (b->n + 1) * sizeof *b->rcp.items);
        b->acks = sg_xrealloc(b->acks, (b->n + 1) * sizeof *b->acks);
        b->rcp.items[b->n] = (store_smpp_receipt_item){
            .route = r->conf.name, .smsc_id = keep(b, d.id), .state = (int)d.state,
            .dlr = d.dlr, .ptt = d.ptt, .ts_ms = sg_now_ms()};
        b->acks[b->n++] = ack;
        return;
    }
    /* A mobile-originated message (core/mo.h): decoded here when whole, kept as a part
     * otherwise (UDH, or the SAR TLVs) until the store has them all. */
    int dsm = p->command_id == SMPP_DATA_SM;
    const uint8_t *data = (const uint8_t *)"";
    size_t len = 0;
    if (p->tlv.present & SMPP_TLV_BIT(message_payload)) {
        data = p->tlv.message_payload;
        len = p->tlv.message_payload_len;
    } else if (!dsm) {
        data = p->u.sm.short_message;
        len = p->u.sm.short_message_len;
    }
    int dc = dsm ? p->u.data.data_coding : p->u.sm.data_coding;
    int esm = dsm ? p->u.data.esm_class : p->u.sm.esm_class;
    mo_part part;
    mo_parse((unsigned)dc, (esm & 0x40) != 0, r->conf.pack7, data, len, &part);
    if ((p->tlv.present & SMPP_TLV_BIT(sar_msg_ref_num)) &&
        (p->tlv.present & SMPP_TLV_BIT(sar_total_segments)) &&
        (p->tlv.present & SMPP_TLV_BIT(sar_segment_seqnum)) && p->tlv.sar_total_segments >= 1 &&
        p->tlv.sar_segment_seqnum >= 1 && p->tlv.sar_segment_seqnum <= p->tlv.sar_total_segments) {
        part.ref = p->tlv.sar_msg_ref_num;
        part.total = p->tlv.sar_total_segments;
        part.seq = p->tlv.sar_segment_seqnum;
    }
    char *from = mo_address(dsm ? p->u.data.source_addr : p->u.sm.source_addr,
                            dsm ? p->u.data.source_addr_ton : p->u.sm.source_addr_ton);
    char *to = mo_address(dsm ? p->u.data.destination_addr : p->u.sm.destination_addr,
                          dsm ? p->u.data.dest_addr_ton : p->u.sm.dest_addr_ton);
    r->mo++;
    batch *b = get_batch(r, 2);
    b->mo.items = sg_xrealloc(b->mo.items, (b->n + 1) * sizeof *b->mo.items);
    b->acks = sg_xrealloc(b->acks, (b->n + 1) * sizeof *b->acks);
    store_smpp_mo_item *m = &b->mo.items[b->n];
    *m = (store_smpp_mo_item){.route = r->conf.name, .source = keep(b, from),
                              .destination = keep(b, to), .data_coding = dc,
                              .ts_ms = sg_now_ms(), .total = part.total, .seq = part.seq,
                              .ref = part.ref, .coding = (int)part.coding};
    if (part.total > 1) {
        m->data = keep_bytes(b, part.data);
        m->len = part.len;
        part.data = NULL; /* the batch's now */
    } else {
        char *text = mo_text(part.coding, part.data, part.len);
        m->text = keep(b, text);
        free(text);
    }
    mo_part_fini(&part);
    free(from);
    free(to);
    b->acks[b->n++] = ack;
}

/* ---- binds ---- */

static void session_name(const smpp_route *r, int b, int k, char *out, size_t n) {
    snprintf(out, n, "%s#%d%s", r->conf.name, b + 1, r->per == 1 ? "" : k == 0 ? "/tx" : "/rx");
}

/* Opens the binds that are wanted and fully closed (a closing one opens again once its
 * sessions stopped: on_session_stopped). */
static void open_binds(smpp_route *r) {
    static const smpp_session_cbs cbs = {on_state, on_resp, on_request};
    for (int b = 0; b < r->conf.binds; b++) {
        if (!(r->want >> b & 1) || !bind_closed(r, b)) continue;
        for (int k = 0; k < r->per; k++) {
            smpp_bind_type type = r->per == 1 ? SMPP_BIND_TRX : k == 0 ? SMPP_BIND_TX
                                                                       : SMPP_BIND_RX;
            char name[96];
            session_name(r, b, k, name, sizeof name);
            smpp_session_conf sc = {
                .name = name, .host = r->conf.host, .port = r->conf.port, .tls = r->ssl,
                .tls_verify = r->conf.tls_verify, .system_id = r->conf.system_id,
                .password = r->conf.password, .system_type = r->conf.system_type,
                .type = type, .window = r->conf.window, .enquire_ms = r->tm.enquire_ms,
                .resp_timeout_ms = r->tm.resp_timeout_ms,
                .reconnect_min_ms = r->tm.reconnect_min_ms,
                .reconnect_max_ms = r->tm.reconnect_max_ms};
            size_t i = (size_t)b * (size_t)r->per + (size_t)k;
            r->sess[i] = smpp_session_new(r->base, &sc, &cbs, r);
            smpp_session_start(r->sess[i]);
        }
    }
}

/* ---- the route ops ---- */

static int r_send(route *rt, const store_msg *m) {
    smpp_route *r = rt->priv;
    if (r->stopping) return SG_EAGAIN;
    msgrec *mr = sg_xcalloc(1, sizeof *mr);
    mr->msg_id = m->id;
    mr->next = r->live;
    if (r->live) r->live->prev = mr;
    r->live = mr;
    r->inflight++;
    if (build(r, m, mr) != 0) {
        /* Reported from the pump, not from here (contract 1). */
        mr->nparts = mr->unresolved = 1;
        mr->parts = sg_xcalloc(1, sizeof *mr->parts);
        mr->ids = sg_xcalloc(1, sizeof *mr->ids);
        mr->parts[0].msg = mr;
        mr->parts[0].pdu.command_id = 0xFFFFFFFFu; /* unencodable: fails in pump */
        queue_part(r, &mr->parts[0], 0);
        schedule_pump(r, 0);
        return 0;
    }
    for (int i = 0; i < mr->nparts; i++) queue_part(r, &mr->parts[i], 0);
    schedule_pump(r, 0);
    return 0;
}

static int r_up(route *rt) {
    smpp_route *r = rt->priv;
    rt->elsewhere = 0;
    for (size_t i = 0; i < r->nsess; i++)
        if (r->sess[i] && smpp_session_can_submit(r->sess[i])) return 1;
    /* No bind here, but other nodes hold some: up for the cluster (no failover). */
    rt->elsewhere = r->leased && r->elsewhere > 0 && !r->stopping;
    return rt->elsewhere;
}

static size_t r_capacity(route *rt) {
    smpp_route *r = rt->priv;
    if (r->stopping) return 0;
    int64_t now = sg_mono_ms();
    if (now < r->pause_until) return 0;
    size_t free_win = 0;
    for (size_t i = 0; i < r->nsess; i++) {
        smpp_session *s = r->sess[i];
        if (s && smpp_session_can_submit(s))
            free_win += smpp_session_window(s) - smpp_session_outstanding(s);
    }
    size_t cap = free_win, rf = rate_free(r, now);
    if (rf < cap) cap = rf;
    return cap > r->nqueued ? cap - r->nqueued : 0;
}

static size_t r_inflight(route *rt) { return ((smpp_route *)rt->priv)->inflight; }

/* The receipt latency for people (GET /admin/route-status, the console's routes page): how many
 * receipts the histogram holds, its median and 95th percentile estimated from the buckets and
 * the exact mean, in milliseconds; null before the first receipt. Read only when asked. */
static json_t *receipt_latency(const sg_hist *h) {
    if (h->count == 0) return json_null();
    return json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)h->count, "medianMs",
                     (json_int_t)llround(sg_hist_quantile(h, 0.5) * 1000.0), "p95Ms",
                     (json_int_t)llround(sg_hist_quantile(h, 0.95) * 1000.0), "meanMs",
                     (json_int_t)llround(h->sum / (double)h->count * 1000.0));
}

static void r_status(route *rt, json_t *o) {
    smpp_route *r = rt->priv;
    json_t *binds = json_array();
    size_t window = 0, used = 0;
    for (size_t i = 0; i < r->nsess; i++) {
        smpp_session *s = r->sess[i];
        int b = (int)i / r->per, k = (int)i % r->per;
        smpp_bind_type t = r->per == 1 ? SMPP_BIND_TRX : k == 0 ? SMPP_BIND_TX : SMPP_BIND_RX;
        if (s && t != SMPP_BIND_RX) {
            window += smpp_session_window(s);
            used += smpp_session_outstanding(s);
        }
        char name[96];
        session_name(r, b, k, name, sizeof name);
        json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "name", name, "type",
                              t == SMPP_BIND_TX ? "transmitter"
                              : t == SMPP_BIND_RX ? "receiver" : "transceiver",
                              "state", s ? smpp_state_name(smpp_session_state(s)) : "CLOSED",
                              "window", (json_int_t)(s ? smpp_session_window(s) : 0),
                              "outstanding", (json_int_t)(s ? smpp_session_outstanding(s) : 0),
                              "lastError", s ? smpp_session_last_error(s) : "");
        json_object_set_new(j, "slot", json_integer(b));
        json_object_set_new(j, "open", json_boolean(s != NULL && (r->want >> b & 1)));
        json_array_append_new(binds, j);
    }
    json_object_set_new(o, "smsc", json_sprintf("%s:%d", r->conf.host, r->conf.port));
    json_object_set_new(o, "tls", json_boolean(r->conf.tls));
    json_object_set_new(o, "binds", binds);
    json_object_set_new(o, "window", json_integer((json_int_t)window));
    json_object_set_new(o, "windowUsed", json_integer((json_int_t)used));
    json_object_set_new(o, "partsQueued", json_integer((json_int_t)r->nqueued));
    json_object_set_new(o, "tps", json_integer(r->conf.tps));
    json_object_set_new(o, "effectiveTps", json_integer(r->ring_size ? r->eff_tps : 0));
    json_object_set_new(o, "tpsShare", json_integer(r->ring_size ? r->tps_cap : 0));
    json_object_set_new(o, "bindsOpen", json_integer(popcount64(r->want)));
    json_object_set_new(o, "bindsElsewhere", json_integer(r->elsewhere));
    json_object_set_new(o, "rate", json_real(rate_now(r)));
    json_object_set_new(o, "submitted", json_integer((json_int_t)r->submitted));
    json_object_set_new(o, "accepted", json_integer((json_int_t)r->accepted));
    json_object_set_new(o, "temporaryFailures", json_integer((json_int_t)r->temp_failed));
    json_object_set_new(o, "permanentFailures", json_integer((json_int_t)r->perm_failed));
    json_object_set_new(o, "throttled", json_integer((json_int_t)r->throttled));
    json_object_set_new(o, "receipts", json_integer((json_int_t)r->receipts));
    json_object_set_new(o, "unmatchedReceipts", json_integer((json_int_t)r->unmatched));
    json_object_set_new(o, "mo", json_integer((json_int_t)r->mo));
    /* the histogram of smsgate_smpp_receipt_seconds (metrics/metrics.c reads it back) */
    json_t *counts = json_array(), *bounds = json_array();
    for (int i = 0; i <= r->receipt_s.nb; i++) {
        json_array_append_new(counts, json_integer((json_int_t)r->receipt_s.counts[i]));
        if (i < r->receipt_s.nb) json_array_append_new(bounds, json_real(r->receipt_s.bounds[i]));
    }
    json_object_set_new(o, "receiptSeconds",
                        json_pack("{s:o, s:o, s:f, s:I}", "bounds", bounds, "counts", counts, "sum",
                                  r->receipt_s.sum, "count", (json_int_t)r->receipt_s.count));
    json_object_set_new(o, "receiptLatency", receipt_latency(&r->receipt_s));
    json_object_set_new(o, "lastError", json_string(r->last_error));
}

/* Frees the stopped sessions once no batch may still hold an ack of theirs. */
static void bury(smpp_route *r) {
    if (!r->ngrave || r->pending_ops || r->cur[1] || r->cur[2]) return;
    for (size_t i = 0; i < r->ngrave; i++) smpp_session_free(r->grave[i]);
    r->ngrave = 0;
}

static int sessions_open(const smpp_route *r) {
    for (size_t i = 0; i < r->nsess; i++)
        if (r->sess[i]) return 1;
    return 0;
}

/* A session of a closing bind stopped: it leaves sess[] for the grave. */
static void on_session_stopped(smpp_session *s, void *arg) {
    smpp_route *r = arg;
    for (size_t i = 0; i < r->nsess; i++)
        if (r->sess[i] == s) r->sess[i] = NULL;
    r->grave = sg_xrealloc(r->grave, (r->ngrave + 1) * sizeof *r->grave);
    r->grave[r->ngrave++] = s;
    if (r->leased && !r->stopping) {
        sg_log_debug(LOG, "Route '%s': session '%s' closed.", r->conf.name,
                     smpp_session_name(s));
        /* Its slot may be wanted again meanwhile (the node's share grew back). */
        open_binds(r);
    }
    maybe_stop_done(r);
}

static void on_done(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    smpp_route *r = arg;
    void (*done)(route *, void *) = r->stop_done;
    r->stop_done = NULL;
    if (done) done(r->rt, r->stop_arg);
}

static void maybe_stop_done(smpp_route *r) {
    bury(r);
    if (r->stopping && r->stop_done && !sessions_open(r) && !r->pending_ops &&
        !r->cur[0] && !r->cur[1] && !r->cur[2])
        event_active(r->done_ev, EV_TIMEOUT, 0);
}

static void stop_session(smpp_route *r, size_t i) {
    smpp_session *s = r->sess[i];
    if (s) smpp_session_stop(s, on_session_stopped, r); /* again on a stopping one: no-op */
}

static void r_stop(route *rt, void (*done)(route *rt, void *arg), void *arg) {
    smpp_route *r = rt->priv;
    r->stop_done = done;
    r->stop_arg = arg;
    if (r->stopping) return;
    r->stopping = 1;
    for (size_t i = 0; i < r->nsess; i++) stop_session(r, i);
    maybe_stop_done(r);
}

static void r_free(route *rt) {
    smpp_route *r = rt->priv;
    for (size_t i = 0; i < r->nsess; i++) smpp_session_free(r->sess[i]);
    free(r->sess);
    for (size_t i = 0; i < r->ngrave; i++) smpp_session_free(r->grave[i]);
    free(r->grave);
    for (int k = 0; k < 3; k++)
        if (r->cur[k]) batch_free(r->cur[k]);
    /* Messages never reported: only at a forced exit (their leases bring them back). */
    while (r->live) msgrec_free(r, r->live);
    event_free(r->pump_ev);
    event_free(r->pump_timer);
    event_free(r->flush_ev);
    event_free(r->done_ev);
    if (r->ssl) SSL_CTX_free(r->ssl);
    free(r->ring);
    store_route_fini(&r->conf);
    free(r);
    free(rt->name);
    free(rt);
}

/* ---- bind slots (docs/cluster.md, route.h contract 6) ---- */

static uint64_t all_slots(const smpp_route *r) {
    return r->conf.binds >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << r->conf.binds) - 1;
}

static int bind_closed(const smpp_route *r, int b) {
    for (int k = 0; k < r->per; k++)
        if (r->sess[(size_t)b * (size_t)r->per + (size_t)k]) return 0;
    return 1;
}

static uint64_t r_slots(route *rt, int *n) {
    smpp_route *r = rt->priv;
    *n = r->conf.binds;
    uint64_t idle = 0;
    for (int b = 0; b < r->conf.binds; b++)
        if (bind_closed(r, b)) idle |= UINT64_C(1) << b;
    return r->held & ~r->want & idle;
}

/* Sends at this node's part of the route's rate: tps * open binds / binds, at least 1. */
static void share_rate(smpp_route *r) {
    if (!r->ring_size) return;
    int open = popcount64(r->want), cap = r->conf.tps;
    if (r->leased && open < r->conf.binds) {
        cap = (int)((int64_t)r->conf.tps * open / r->conf.binds);
        if (cap < 1) cap = 1;
    }
    if (cap == r->tps_cap) return;
    r->tps_cap = cap;
    r->eff_tps = cap; /* a throttle's halving starts again from the new part */
}

static void r_set_slots(route *rt, uint64_t held, int share, int elsewhere) {
    smpp_route *r = rt->priv;
    if (r->stopping) return;
    r->elsewhere = elsewhere;
    held &= all_slots(r);
    uint64_t want = held;
    /* More than the share: the highest slots close first, then are given up. */
    while (popcount64(want) > (share < 0 ? 0 : share))
        want &= ~(UINT64_C(1) << (63 - __builtin_clzll(want)));
    if (!r->leased || want != r->want)
        sg_log_info(LOG, "Route '%s': this node holds %d of its %d bind slots and uses %d.",
                    r->conf.name, popcount64(held), r->conf.binds, popcount64(want));
    r->leased = 1;
    r->held = held;
    r->want = want;
    share_rate(r);
    for (int b = 0; b < r->conf.binds; b++)
        if (!(want >> b & 1))
            for (int k = 0; k < r->per; k++) stop_session(r, (size_t)b * (size_t)r->per + (size_t)k);
    open_binds(r);
    if (!want) schedule_pump(r, 0); /* parts queued for no bind go back to the dispatcher */
}

static const route_ops smpp_ops = {
    .kind = "smpp",
    .send = r_send,
    .capacity = r_capacity,
    .inflight = r_inflight,
    .free = r_free,
    .up = r_up,
    .status = r_status,
    .stop = r_stop,
    .slots = r_slots,
    .set_slots = r_set_slots,
};

static char *dup0(const char *s) { return sg_xstrdup(s ? s : ""); }

route *smpp_route_new(struct event_base *base, store *st, const store_route *conf,
                      const smpp_route_timing *timing, int *err) {
    smpp_route_timing tm = {30000, 10000, 500, 30000, 0, 0};
    if (timing) tm = *timing;
    SSL_CTX *ssl = NULL;
    if (conf->tls) {
        ssl = SSL_CTX_new(TLS_client_method());
        int ok = ssl != NULL;
        if (ok && conf->tls_verify) {
            ok = conf->tls_ca && conf->tls_ca[0]
                     ? SSL_CTX_load_verify_locations(ssl, conf->tls_ca, NULL) == 1
                     : SSL_CTX_set_default_verify_paths(ssl) == 1;
        }
        if (!ok) {
            sg_log_error(LOG, "Route '%s': the TLS settings cannot be used (CA file '%s'); the "
                              "route is not started.", conf->name,
                         conf->tls_ca ? conf->tls_ca : "");
            SSL_CTX_free(ssl);
            *err = SG_EINVAL;
            return NULL;
        }
    }
    smpp_route *r = sg_xcalloc(1, sizeof *r);
    sg_hist_init(&r->receipt_s, sg_hist_slow_s, sg_hist_slow_n);
    r->base = base;
    r->st = st;
    r->ssl = ssl;
    r->conf = *conf;
    r->conf.name = dup0(conf->name);
    r->conf.kind = dup0(conf->kind);
    r->conf.host = dup0(conf->host);
    r->conf.system_id = dup0(conf->system_id);
    r->conf.password = dup0(conf->password);
    r->conf.system_type = dup0(conf->system_type);
    r->conf.tls_ca = dup0(conf->tls_ca);
    r->conf.prefixes = dup0(conf->prefixes);
    if (r->conf.binds < 1) r->conf.binds = 1;
    if (r->conf.window < 1) r->conf.window = 1;
    if (r->conf.tps > 0) {
        r->ring_size = (size_t)r->conf.tps;
        r->ring = sg_xcalloc(r->ring_size, sizeof *r->ring);
        r->eff_tps = r->conf.tps;
    }
    r->pump_ev = event_new(base, -1, 0, on_pump, r);
    r->pump_timer = evtimer_new(base, on_pump, r);
    r->flush_ev = event_new(base, -1, 0, on_flush, r);
    r->done_ev = event_new(base, -1, 0, on_done, r);
    event_priority_set(r->flush_ev, 1); /* after the receipts of this loop pass */

    route *rt = sg_xcalloc(1, sizeof *rt);
    rt->ops = &smpp_ops;
    rt->name = sg_xstrdup(r->conf.name);
    rt->priority = conf->priority;
    rt->weight = conf->weight;
    rt->priv = r;
    r->rt = rt;

    r->tm = tm;
    r->per = r->conf.bind_mode == STORE_BIND_TXRX ? 2 : 1;
    r->nsess = (size_t)(r->conf.binds * r->per);
    r->sess = sg_xcalloc(r->nsess, sizeof *r->sess);
    r->tps_cap = r->conf.tps;
    r->leased = tm.leased_binds;
    if (!r->leased) r->held = r->want = all_slots(r); /* every bind, as on a single node */
    open_binds(r);
    return rt;
}
