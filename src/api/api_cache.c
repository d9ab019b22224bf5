/*
 * api_cache.c - the API's memory of authentication lookups and services (see api_cache.h for
 * what is kept and why it is never stale on one node).
 *
 * Design. Two chained hash tables of API_CACHE_BUCKETS buckets, one per kind, keyed by a
 * string: "app_key\nconsumer_key" for lookups, the service name for services. An entry holds
 * its own copies of every string, and its expiry time. A lookup that finds an expired entry
 * frees it and misses. When a table holds API_CACHE_MAX entries, a put empties it first:
 * crude, but bounded, and a cache this size only fills when something enumerates keys.
 *
 * Invariants:
 *  1. Every entry's strings are owned by the entry and freed with it (entry_free).
 *  2. tab->count is the number of entries chained in tab->b.
 */
#include "api/api_cache.h"

#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define API_CACHE_BUCKETS 1024 /* power of two */

typedef struct entry {
    char *key;
    int64_t expires_ms;
    struct entry *next;
    api_cache_auth auth; /* auth table */
    store_service svc;   /* service table */
} entry;

typedef struct table {
    entry *b[API_CACHE_BUCKETS];
    size_t count;
} table;

struct api_cache {
    table auth, svc;
};

static unsigned hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (API_CACHE_BUCKETS - 1);
}

static char *dup_or_null(const char *s) { return s ? sg_xstrdup(s) : NULL; }

static void entry_free(entry *e) {
    store_auth_lookup_fini(&e->auth.lookup);
    json_decref(e->auth.rules);
    json_decref(e->auth.ips);
    store_service_fini(&e->svc);
    free(e->key);
    free(e);
}

static void table_flush(table *t) {
    for (size_t i = 0; i < API_CACHE_BUCKETS; i++) {
        for (entry *e = t->b[i], *n; e; e = n) {
            n = e->next;
            entry_free(e);
        }
        t->b[i] = NULL;
    }
    t->count = 0;
}

/* The live entry for key, or NULL (an expired one is freed). */
static entry *table_get(table *t, const char *key) {
    entry **pp = &t->b[hash(key)];
    for (entry *e = *pp; e; pp = &e->next, e = *pp) {
        if (strcmp(e->key, key) != 0) continue;
        if (e->expires_ms > sg_mono_ms()) return e;
        *pp = e->next;
        t->count--;
        entry_free(e);
        return NULL;
    }
    return NULL;
}

/* A new empty entry for key, replacing any other one (the caller fills it). */
static entry *table_put(table *t, const char *key) {
    entry **pp = &t->b[hash(key)];
    for (entry *e = *pp; e; pp = &e->next, e = *pp) {
        if (strcmp(e->key, key) == 0) {
            *pp = e->next;
            t->count--;
            entry_free(e);
            break;
        }
    }
    if (t->count >= API_CACHE_MAX) table_flush(t);
    entry *e = sg_xcalloc(1, sizeof *e);
    e->key = sg_xstrdup(key);
    e->expires_ms = sg_mono_ms() + API_CACHE_TTL_MS;
    unsigned h = hash(key);
    e->next = t->b[h];
    t->b[h] = e;
    t->count++;
    return e;
}

api_cache *api_cache_new(void) { return sg_xcalloc(1, sizeof(api_cache)); }

void api_cache_free(api_cache *c) {
    if (!c) return;
    api_cache_flush(c);
    free(c);
}

void api_cache_flush(api_cache *c) {
    table_flush(&c->auth);
    table_flush(&c->svc);
}

static char *auth_key(const char *app_key, const char *consumer_key) {
    return sg_xasprintf("%s\n%s", app_key, consumer_key);
}

const api_cache_auth *api_cache_auth_get(api_cache *c, const char *app_key,
                                         const char *consumer_key) {
    char *key = auth_key(app_key, consumer_key);
    entry *e = table_get(&c->auth, key);
    free(key);
    return e ? &e->auth : NULL;
}

void api_cache_auth_put(api_cache *c, const char *app_key, const char *consumer_key,
                        const store_auth_lookup_req *r) {
    json_t *rules = json_loads(r->rules_json ? r->rules_json : "[]", 0, NULL);
    json_t *ips = r->allowed_ips_json ? json_loads(r->allowed_ips_json, 0, NULL) : NULL;
    if (!rules || (r->allowed_ips_json && !ips)) { /* not what auth expects: never cached */
        json_decref(rules);
        json_decref(ips);
        return;
    }
    char *key = auth_key(app_key, consumer_key);
    entry *e = table_put(&c->auth, key);
    free(key);
    store_auth_lookup_req *l = &e->auth.lookup;
    *l = *r;
    l->app_key = l->consumer_key = NULL; /* inputs are the caller's */
    l->app_secret = dup_or_null(r->app_secret);
    l->cred_state = dup_or_null(r->cred_state);
    l->rules_json = dup_or_null(r->rules_json);
    l->allowed_ips_json = dup_or_null(r->allowed_ips_json);
    e->auth.rules = rules;
    e->auth.ips = ips;
}

const store_service *api_cache_service_get(api_cache *c, const char *name) {
    entry *e = table_get(&c->svc, name);
    return e ? &e->svc : NULL;
}

void api_cache_service_copy(store_service *dst, const store_service *src) {
    *dst = *src;
    dst->name = dup_or_null(src->name);
    dst->description = dup_or_null(src->description);
    dst->status = dup_or_null(src->status);
    dst->callback = dup_or_null(src->callback);
    dst->stop_callback = dup_or_null(src->stop_callback);
    dst->short_number = dup_or_null(src->short_number);
    dst->sms_response = dup_or_null(src->sms_response);
    dst->templates = dup_or_null(src->templates);
}

void api_cache_service_put(api_cache *c, const store_service *s) {
    if (!s->name) return;
    entry *e = table_put(&c->svc, s->name);
    api_cache_service_copy(&e->svc, s);
}
