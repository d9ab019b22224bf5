/*
 * store_credits.c - the backend-independent helpers of store_credits.h: the _fini functions
 * that free what the credits operations allocated. (The operations themselves run in the
 * backend: sqlite_credits.c.)
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_order_fini(store_order *o) {
    free(o->service_name);
    free(o->means);
    free(o->reference);
    memset(o, 0, sizeof *o);
}

void store_price_list_fini(store_price_list_req *r) {
    free(r->dests);
    free(r->billing);
    r->dests = NULL;
    r->billing = NULL;
    r->ndests = r->nbilling = 0;
}

static void free_orders(store_order *v, size_t n) {
    for (size_t i = 0; i < n; i++) store_order_fini(&v[i]);
    free(v);
}

void store_order_list_fini(store_order_list_req *r) {
    free_orders(r->orders, r->count);
    r->orders = NULL;
    r->count = 0;
}

void store_order_hook_claim_fini(store_order_hook_claim_req *r) {
    free_orders(r->orders, r->count);
    r->orders = NULL;
    r->count = 0;
}
