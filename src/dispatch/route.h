/*
 * route.h - the driver contract every route implements (the embedded sim, SMPP).
 *
 * A route carries messages to one operator network. The dispatcher owns the routes and calls
 * them on the loop thread only.
 *
 * Contract:
 *  1. send() never blocks. It returns 0 when the route took the message; the route then
 *     reports it exactly once through the report callback (accepted, or failed with a class),
 *     never from inside send() itself. A non-zero return means the route did not take it and
 *     will never report it.
 *  2. capacity() says how many more messages the route can take right now (its window minus
 *     what is in flight, limited by its rate); 0 when it is down or full. When capacity grows
 *     again by itself (a bind came up, the rate limit lets more through) the route calls
 *     wake(), so the dispatcher claims more without polling.
 *  3. up() says whether the route can carry traffic at all (an SMPP route: some bind is bound
 *     for transmitting). A route that is up but has no capacity is busy: its messages wait. A
 *     route that is down is skipped: its messages fail over to the next route. NULL = always up.
 *  4. stop(), when set, winds the route down (unbind) and calls done once, later; the
 *     dispatcher calls it only when inflight() is 0, and calls free() only after done.
 *  5. A route frees its private state and its name in free(), after every message it took was
 *     reported. The dispatcher owns and frees `prefixes`.
 *  6. Bind slots (docs/cluster.md). A route whose binds count against the operator's limit for
 *     the whole cluster opens bind s only while this node holds slot s. slots() says how many
 *     slots it has (*n: its binds) and returns the slots it holds but no longer uses (bit s:
 *     slot s, whose binds are closed), which the next heartbeat gives up. set_slots() tells
 *     it the slots this node holds and its share: it keeps binds open on at most share of
 *     them, closes the others before they are given up, and sends at its part of the route's
 *     rate (tps * open / binds). elsewhere is how many slots other nodes hold: a route with
 *     no bind able to submit here but binds elsewhere is up (its messages do not fail over to
 *     another route) and sets `elsewhere`, so that the dispatcher puts them back in the store
 *     queue at once for a node that holds binds. set_slots(rt, 0, 0, 0) closes every bind (the
 *     fence).
 */
#ifndef SG_DISPATCH_ROUTE_H
#define SG_DISPATCH_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

typedef struct route route;

typedef enum {
    ROUTE_ACCEPTED = 0, /* the operator took it (submit_sm_resp OK) */
    ROUTE_TEMP,         /* temporary failure: try again later or elsewhere */
    ROUTE_PERM          /* permanent refusal: the message fails with ptt */
} route_result;

typedef struct route_report {
    int64_t msg_id;
    route_result result;
    const char *smsc_id; /* ACCEPTED: the operator's message id (borrowed for the call) */
    int ptt;             /* PERM: the ptt to store; TEMP: the ptt to store if this was the
                          * message's last attempt (0: 25, network failure) */
    int dlr;             /* PERM (and TEMP, likewise): 2 or 16 */
    int stored;          /* ACCEPTED: the driver already stored the acceptance atomically */
    const char *why;     /* TEMP/PERM: what went wrong, for logs (may be NULL) */
} route_report;

typedef void (*route_report_cb)(route *rt, const route_report *rep, void *arg);

typedef struct route_ops {
    const char *kind;                               /* "sim", "smpp" */
    int (*send)(route *rt, const store_msg *m);     /* see contract 1 */
    size_t (*capacity)(route *rt);                  /* see contract 2 */
    size_t (*inflight)(route *rt);                  /* taken, not yet reported */
    void (*free)(route *rt);                        /* see contract 5 */
    int (*up)(route *rt);                           /* see contract 3; may be NULL */
    /* Adds the driver's live state to a JSON object (binds, window use, rate, last error);
     * may be NULL. */
    void (*status)(route *rt, json_t *out);
    void (*stop)(route *rt, void (*done)(route *rt, void *arg), void *arg); /* may be NULL */
    /* Bind slots (contract 6); both NULL for a route without binds (the sim). */
    uint64_t (*slots)(route *rt, int *n);
    void (*set_slots)(route *rt, uint64_t held, int share, int elsewhere);
} route_ops;

struct route {
    const route_ops *ops;
    char *name;
    char **prefixes;      /* E.164 prefixes this route serves ("+33"); none = every number */
    size_t nprefixes;
    int priority;         /* lower is preferred among routes matching equally well */
    int weight;           /* share of traffic among up routes of equal priority (>= 1) */
    int pickable;         /* 0: disabled or retired; finishes its work but takes nothing new */
    int64_t version;      /* the stored route version it was built from */
    int elsewhere;        /* contract 6: set by up(), up on other nodes' binds only */
    route_report_cb report;
    void *report_arg;
    void (*wake)(route *rt, void *arg); /* contract 2; arg is report_arg */
    void *priv;           /* the driver's own state */
    /* The dispatcher's bookkeeping. */
    int64_t id;           /* unique while the process runs */
    int swrr;             /* smooth weighted round-robin counter */
    int temp_run;         /* temporary refusals in a row, without an acceptance */
    int bo_step;          /* back-off: 0 none; n = paused for the n-th time in a row */
    int64_t bo_until;     /* back-off: mono ms until which it takes nothing */
    int64_t bo_probe;     /* back-off: the id of the one message it was given to probe */
};

#endif
