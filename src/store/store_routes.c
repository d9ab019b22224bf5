/*
 * store_routes.c - the backend-independent helpers of the routes area (store_routes.h).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_route_fini(store_route *r) {
    free(r->name); free(r->kind); free(r->host); free(r->system_id); free(r->password);
    free(r->system_type); free(r->tls_ca); free(r->prefixes);
    memset(r, 0, sizeof *r);
}

void store_retry_waiting_fini(store_retry_waiting_req *r) {
    for (size_t i = 0; i < r->count; i++) free(r->items[i].route);
    free(r->items);
    r->items = NULL;
    r->count = 0;
}

void store_route_list_fini(store_route_list_req *r) {
    for (size_t i = 0; i < r->count; i++) store_route_fini(&r->routes[i]);
    free(r->routes);
    r->routes = NULL;
    r->count = 0;
}
