/*
 * store_campaigns.c - the backend-independent helpers of the campaigns area
 * (store_campaigns.h): freeing what the operations return.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_document_fini(store_document *d) {
    free(d->name);
    free(d->tags_json);
    free(d->token);
    memset(d, 0, sizeof *d);
}

void store_slot_fini(store_slot *s) {
    free(s->description);
    free(s->csv_url);
    free(s->document_id);
    free(s->columns_json);
    free(s->invalid_json);
    memset(s, 0, sizeof *s);
}

void store_campaign_fini(store_campaign *c) {
    free(c->kind);
    free(c->name);
    free(c->message);
    free(c->sender);
    free(c->tag);
    free(c->slot);
    free(c->receivers_json);
    free(c->errors_json);
    memset(c, 0, sizeof *c);
}

void store_campaign_list_fini(store_campaign_list_req *r) {
    for (size_t i = 0; i < r->count; i++) store_campaign_fini(&r->items[i]);
    free(r->items);
    r->items = NULL;
    r->count = 0;
}
