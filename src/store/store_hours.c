/*
 * store_hours.c - the backend-independent helpers of the marketing hours area
 * (store_hours.h).
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_hours_row_fini(store_hours_row *r) {
    free(r->tz);
    memset(r, 0, sizeof *r);
}

void store_hours_list_fini(store_hours_list_req *r) {
    for (size_t i = 0; i < r->count; i++) store_hours_row_fini(&r->rows[i]);
    free(r->rows);
    r->rows = NULL;
    r->count = 0;
}

void store_hours_set_fini(store_hours_set_req *r) { store_hours_row_fini(&r->row); }
