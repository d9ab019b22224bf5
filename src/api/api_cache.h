/*
 * api_cache.h - what the API remembers between requests: the outcome of authentication
 * lookups (application key + consumer key) and the services sends name, so that a send costs
 * one store operation (the submit itself) instead of three (auth_lookup, service_get, submit).
 *
 * Owned by api.c (one cache per api object); loop thread only, no locking.
 *
 * Freshness. Only positive lookups are kept (the keys exist, belong together, the consumer key
 * is validated); anything else goes to the store every time. Every change of a known
 * credential or of a service made through this process goes through a non-GET admin route or
 * PUT /sms/{sn}, and api.c flushes the whole cache when an authorized call of those is
 * answered (after its commit), so on a single node the cache never serves a stale answer. A
 * change made elsewhere (another node, a direct write) raises the store's configuration epoch,
 * which cluster/cluster.c reads every 500 ms: api_config_changed() then flushes the cache.
 * Entries also expire after API_CACHE_TTL_MS, a bound should the epoch not be read. A
 * credential's expiry date is checked at each use, as before.
 *
 * Ownership: *_put copy what they keep; *_get return entries borrowed until the next call of
 * any api_cache_* function.
 */
#ifndef SG_API_CACHE_H
#define SG_API_CACHE_H

#include <jansson.h>

#include "store/store.h"

#define API_CACHE_TTL_MS 2000
#define API_CACHE_MAX 4096 /* entries of each kind; a full cache is emptied */

typedef struct api_cache api_cache;

typedef struct api_cache_auth {
    store_auth_lookup_req lookup; /* outputs only; strings owned by the cache */
    json_t *rules;                /* parsed rules_json */
    json_t *ips;                  /* parsed allowed_ips_json, or NULL */
} api_cache_auth;

api_cache *api_cache_new(void);
void api_cache_free(api_cache *c); /* NULL does nothing */
/* Forgets everything (a credential or a service may have changed). */
void api_cache_flush(api_cache *c);

/* The remembered lookup of (app_key, consumer_key), or NULL. */
const api_cache_auth *api_cache_auth_get(api_cache *c, const char *app_key,
                                         const char *consumer_key);
/* Remembers a successful lookup (r's outputs are copied). */
void api_cache_auth_put(api_cache *c, const char *app_key, const char *consumer_key,
                        const store_auth_lookup_req *r);

/* The remembered service named name, or NULL. Its balance is the one read when it was
 * remembered: callers that show a balance read the service again. */
const store_service *api_cache_service_get(api_cache *c, const char *name);
void api_cache_service_put(api_cache *c, const store_service *s);
/* Copies src into dst (every string duplicated; dst's old strings are not freed). */
void api_cache_service_copy(store_service *dst, const store_service *src);

#endif
