/*
 * store_incoming.c - the backend-independent helpers of the incoming area (store_incoming.h).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_incoming_fini(store_incoming *m) {
    free(m->service); free(m->virtual_number); free(m->sender); free(m->receiver);
    free(m->text); free(m->tag); free(m->route);
    memset(m, 0, sizeof *m);
}

void store_incoming_list_fini(store_incoming_list_req *r) {
    if (r->rows)
        for (size_t i = 0; i < r->count; i++) store_incoming_fini(&r->rows[i]);
    free(r->rows);
    free(r->ids);
    r->rows = NULL;
    r->ids = NULL;
    r->count = 0;
}

void store_incoming_partial_fini(store_incoming_partial_req *r) {
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].sender); free(r->items[i].receiver); free(r->items[i].route);
    }
    free(r->items);
    r->items = NULL;
    r->count = 0;
}
