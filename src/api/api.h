/*
 * api.h - the HTTP API: OVH-compatible /1.0/sms routes, /auth routes and the admin API.
 *
 * Runs on the loop thread. api_handle() is the http_handler_cb for every request; it routes,
 * authenticates (OVH signatures or the admin token), and calls the handler of the resource.
 * Handlers are thin: parse -> core (pure) -> one store operation -> JSON.
 */
#ifndef SG_API_H
#define SG_API_H

#include "dispatch/dispatch.h"
#include "http/http.h"
#include "store/store.h"
#include "util/config.h"

typedef struct api api;

/* cfg and the other objects are borrowed and must outlive the api. admin_token is copied. */
api *api_new(const sg_config *cfg, store *st, dispatch *d, const char *admin_token);
void api_free(api *a);

/* Hands the api the campaigns module (receiver lists, templated sends; campaign/campaign.h),
 * borrowed: it must outlive the api. Without it, those routes answer 503. */
struct campaign;
void api_set_campaign(api *a, struct campaign *cp);

/* Hands the api the HLR provider (core/hlr.h) that answers /sms/{sn}/hlr and
 * /outgoing/{id}/hlr, borrowed: it must outlive the api. Without it (NULL, hlr-provider
 * none), those routes answer 501. */
struct hlr_provider;
void api_set_hlr(api *a, struct hlr_provider *p);

/* Starts the API's housekeeping on base: every minute, consumer keys requested more than
 * consumer-key-pending-ttl-s ago and never validated are deleted, and old idempotency records
 * pruned, a bounded batch at a time. Optional (tests of the API alone need not call it).
 * api_stop() ends it; call it before store_close(). */
void api_start(api *a, struct event_base *base);
void api_stop(api *a);

/* The configuration changed in the store, perhaps through another node (cluster/cluster.h):
 * forgets every cached credential and service, so the next request reads them again. */
void api_config_changed(api *a);

/* The http_handler_cb: arg is the api. */
void api_handle(http_req *req, void *arg);

#endif
