/*
 * store_ops.c - the backend-independent helpers of the "ops" area (store_ops.h): what frees
 * the operations' answers.
 */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void store_service_info_fini(store_service_info_req *r) {
    free(r->account_name);
    r->account_name = NULL;
}

void store_task_fini(store_task_req *r) {
    free(r->out.function);
    free(r->out.status);
    free(r->out.step);
    memset(&r->out, 0, sizeof r->out);
    free(r->ids);
    r->ids = NULL;
    r->count = 0;
}

static void template_free(store_template *t) {
    free(t->name);
    free(t->activity);
    free(t->description);
    free(t->message);
    free(t->status);
    free(t->comment);
    memset(t, 0, sizeof *t);
}

void store_template_fini(store_template_req *r) {
    template_free(&r->out);
    for (size_t i = 0; i < r->count; i++) {
        if (r->names) free(r->names[i]);
        if (r->rows) template_free(&r->rows[i]);
    }
    free(r->names);
    free(r->rows);
    r->names = NULL;
    r->rows = NULL;
    r->count = 0;
}

void store_sender_doc_fini(store_sender_doc_req *r) {
    free(r->out.name);
    free(r->out.description);
    free(r->out.token);
    memset(&r->out, 0, sizeof r->out);
    free(r->ids);
    r->ids = NULL;
    r->count = 0;
}
