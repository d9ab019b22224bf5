/*
 * cluster.h - this node among the nodes that share one database (docs/cluster.md): its
 * registration under a unique name, its heartbeat, the operators' bind slots it holds, the
 * fence that stops its dispatching when it cannot renew them, and the configuration epoch
 * that tells it when another node changed routes, prices, senders, keys or services.
 *
 * Loop thread only. The cluster borrows the store and the dispatcher (both outlive it); it
 * hands the dispatcher the bind slots of each SMPP route and fences it (dispatch.h).
 */
#ifndef SG_CLUSTER_H
#define SG_CLUSTER_H

#include <stdint.h>

#include <event2/event.h>

#include "dispatch/dispatch.h"
#include "store/store.h"

typedef struct cluster cluster;

typedef struct cluster_options {
    const char *name;     /* this node's name (copied) */
    const char *address;  /* where its HTTP API listens, for `smsctl node list` (copied) */
    const char *version;  /* copied */
    int64_t heartbeat_ms; /* how often the heartbeat runs (>= 100) */
    /* The takeover timeout in seconds, read at each use (a reloadable setting: pass
     * &cfg.node_timeout_s); must outlive the cluster. */
    const int64_t *timeout_s;
    int64_t epoch_ms;     /* how often the configuration epoch is read (0: 500) */
    /* The data directory: DIR/node-NAME.lock, locked while the node runs, keeps the instance
     * id of its last holder, so that a restart after a crash takes the name back at once.
     * NULL or "": no lock (tests). Copied. */
    const char *lock_dir;
    /* The epoch moved (another node, or any writer, changed the configuration): drop caches
     * and reload routes. May be NULL. */
    void (*config_changed)(void *arg);
    /* This node's row was taken by another instance, or the others declared it dead and took
     * its work over: it is fenced and must stop (and start again). May be NULL. */
    void (*lost)(void *arg);
    void *arg;
} cluster_options;

cluster *cluster_new(struct event_base *base, store *st, dispatch *d, const cluster_options *opt);
/* Registers the node, running base's loop until the store answered (call it before the loop
 * runs for real). 0; SG_ECONFLICT when another live instance holds the name, or another
 * process of this data directory runs under it (logged as an error naming it); another SG_E*
 * when the lock file or the store failed. */
int cluster_register(cluster *c);
/* Starts the heartbeat and the epoch timers (after cluster_register). */
void cluster_start(cluster *c);
/* Runs a heartbeat as soon as none is in flight (a route was added: its slots are wanted). */
void cluster_kick(cluster *c);
/* A clean exit: releases the node's slots and marks it stopped, running base's loop until the
 * store answered. Call after the dispatcher stopped (its binds are closed). */
void cluster_stop(cluster *c);
/* The node's name and instance id (borrowed until cluster_free). */
const char *cluster_name(const cluster *c);
/* 1 while dispatching is fenced (no heartbeat renewed for half the timeout). */
int cluster_fenced(const cluster *c);
void cluster_free(cluster *c); /* NULL does nothing */

#endif
