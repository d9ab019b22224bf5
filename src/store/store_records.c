/*
 * store_records.c - the backend-independent helpers of store.h: the _fini functions that free
 * what the core operations allocated. (The operations themselves run in the backend; the
 * feature areas have theirs in store_<area>.c.) Calls nothing of the store, so every backend
 * file may call it.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_service_fini(store_service *s) {
    free(s->name); free(s->description); free(s->status); free(s->callback);
    free(s->stop_callback); free(s->short_number); free(s->sms_response); free(s->templates);
    memset(s, 0, sizeof *s);
}

void store_msg_fini(store_msg *m) {
    free(m->sender); free(m->receiver); free(m->message); free(m->tag); free(m->route);
    free(m->smsc_id);
    memset(m, 0, sizeof *m);
}

void store_sender_fini(store_sender *s) {
    free(s->sender); free(s->description); free(s->status); free(s->comment); free(s->referer);
    free(s->type); free(s->reason);
    memset(s, 0, sizeof *s);
}

void store_auth_lookup_fini(store_auth_lookup_req *r) {
    free(r->app_secret); free(r->cred_state); free(r->rules_json); free(r->allowed_ips_json);
    r->app_secret = r->cred_state = r->rules_json = r->allowed_ips_json = NULL;
}

void store_idem_fini(store_idem *r) {
    free(r->body);
    r->body = NULL;
}

void store_claim_fini(store_claim_req *r) {
    for (size_t i = 0; i < r->count; i++) store_msg_fini(&r->msgs[i]);
    free(r->msgs);
    r->msgs = NULL;
    r->count = 0;
}
