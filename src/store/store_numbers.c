/*
 * store_numbers.c - the backend-independent helpers of the numbers area (store_numbers.h):
 * freeing what the operations return.
 */
#include "store/store.h"

#include <stdlib.h>

void store_vnum_fini(store_vnum *v) {
    free(v->number);
    free(v->service);
    free(v->sms_response);
    free(v->account);
    v->number = v->service = v->sms_response = v->account = NULL;
}

void store_vnum_list_fini(store_vnum_list_req *r) {
    for (size_t i = 0; i < r->count; i++) store_vnum_fini(&r->items[i]);
    free(r->items);
    r->items = NULL;
    r->count = 0;
}
