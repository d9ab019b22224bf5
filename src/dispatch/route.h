/*
 * route.h - the driver contract every route implements (the embedded sim now; SMPP next).
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
 *     what is in flight, limited by its rate); 0 when it is down or full.
 *  3. A route frees its private state in free(), after every message it took was reported.
 */
#ifndef SG_DISPATCH_ROUTE_H
#define SG_DISPATCH_ROUTE_H

#include <stddef.h>
#include <stdint.h>

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
    int ptt;             /* PERM: the ptt to store */
    int dlr;             /* PERM: 2 or 16 */
    int stored;          /* ACCEPTED: the driver already stored the acceptance atomically */
} route_report;

typedef void (*route_report_cb)(route *rt, const route_report *rep, void *arg);

typedef struct route_ops {
    const char *kind;                               /* "sim", "smpp" */
    int (*send)(route *rt, const store_msg *m);     /* see contract 1 */
    size_t (*capacity)(route *rt);                  /* see contract 2 */
    size_t (*inflight)(route *rt);                  /* taken, not yet reported */
    void (*free)(route *rt);                        /* see contract 3 */
} route_ops;

struct route {
    const route_ops *ops;
    char *name;
    char **prefixes;      /* E.164 prefixes this route serves ("+33"); none = every number */
    size_t nprefixes;
    int priority;         /* lower is preferred among routes matching equally well */
    route_report_cb report;
    void *report_arg;
    void *priv;           /* the driver's own state */
};

#endif
