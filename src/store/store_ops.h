/*
 * store_ops.h - the "ops" area of the store: what a service's owner manages around sending
 * (docs/api.md, "Service operations"): the renewal settings of serviceInfos, transfers of
 * credits between two services of one account, the tasks of receivers cleans, US templates
 * under moderation (templatesControl), the documents that back a sender's declaration and the
 * codes that validate a sender.
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; strings
 * in answers are new and freed by the _fini functions.
 */
#ifndef SG_STORE_OPS_H
#define SG_STORE_OPS_H

#include <stddef.h>
#include <stdint.h>

/* credits_transfer: moves amount millicredits (> 0) from service_id to the service named to,
 * which must belong to account_id, in one transaction: a debit row ("transfer") in the source's
 * ledger and a credit row in the target's. SG_ENOTFOUND: no such target in the account;
 * SG_EINVAL: the target is the source; SG_ENOCREDIT: the source's balance is below amount
 * (nothing written). Out: both balances after the transfer. */
typedef struct store_credits_transfer_req {
    int64_t account_id, service_id;
    const char *from_name, *to;
    int64_t amount;
    int64_t from_balance, to_balance; /* out */
} store_credits_transfer_req;

/* service_info: the service's creation time, its account's name and its renewal settings
 * (services.Service.renew); with set, first changes the renewal fields given (the others keep
 * their value) and answers the result. */
typedef struct store_service_info_req {
    int64_t service_id;
    int set;                       /* 1: change the fields below first */
    int automatic, delete_at_expiration, forced; /* -1 = unchanged */
    int manual_payment;            /* -2 = unchanged, -1 = null */
    int64_t period;                /* -1 = unchanged, 0 = null */
    /* out */
    int64_t created_ms;
    char *account_name;            /* new */
    int r_automatic, r_delete, r_forced, r_manual; /* r_manual -1 = null */
    int64_t r_period;              /* 0 = null */
} store_service_info_req;
void store_service_info_fini(store_service_info_req *r);

/* One task (sms.Task): an asynchronous operation on a service. */
typedef struct store_task {
    int64_t id;
    char *function, *status, *step; /* new */
    int64_t created_ms;
} store_task;

/* task_get: one task of service_id (SG_ENOTFOUND otherwise). task_list: the ids of the
 * service's tasks, oldest first, only those in status when it is not NULL. */
typedef struct store_task_req {
    int64_t service_id, id;
    const char *status;
    store_task out;                /* task_get */
    int64_t *ids;                  /* task_list (new) */
    size_t count;
} store_task_req;
void store_task_fini(store_task_req *r);

/* receivers_clean: removes from the list a receivers slot names the rows that can receive no
 * SMS: refused ones (not a number, duplicates), and unless freemium the numbers on the
 * service's blacklist; updates the list's counts and records the task (function
 * cleanSmsReceivers, done). With price_only nothing changes and no task is made (task_id 0).
 * SG_ENOTFOUND: no such slot. */
typedef struct store_receivers_clean_req {
    int64_t service_id, slot;
    int64_t slot_owner; /* whose slot: the service's id, or an SMS user's -id; 0 = service_id */
    int freemium, price_only;
    /* out */
    int64_t task_id, invalid, blacklisted;
} store_receivers_clean_req;

/* One US template (sms.TemplateControl). */
typedef struct store_template {
    char *name, *activity, *description, *message, *status, *comment; /* new */
    int64_t created_ms;
} store_template;

/* template_create (SG_ECONFLICT when the name exists), template_get, template_delete
 * (SG_ENOTFOUND), template_list (names, by name; with admin also every row, in rows;
 * SG_ENOTFOUND for an unknown service_name), and template_update:
 *   customer (admin 0): activity, description, message when not NULL; a new message, and
 *     relaunch, put it back to waitingValidation with no comment; status may only switch an
 *     approved template between enable and disable (SG_EPERM otherwise);
 *   operator (admin 1, service named by service_name): status enable or refused, comment.
 * The operator's calls name the service by name (service_id 0). */
typedef struct store_template_req {
    int64_t service_id;
    const char *service_name;
    const char *name, *activity, *description, *message, *reason, *status, *comment;
    int admin, relaunch;
    int64_t now_ms;
    store_template out;            /* template_get */
    char **names;                  /* template_list (new) */
    store_template *rows;          /* template_list with admin (new), count of them */
    size_t count;
} store_template_req;
void store_template_fini(store_template_req *r);

/* One document of a sender's declaration (sms.SenderDocument): its content is a /me/document
 * of the account (store_campaigns.h) that does not expire, whose id is documentID. */
typedef struct store_sender_doc {
    char id[37];
    char *name, *description, *token; /* new; description may be NULL */
    int64_t size, created_ms;
    int uploaded;
} store_sender_doc;

/* sender_doc_create: a new document for the service's sender (SG_ENOTFOUND: no such
 * sender); sender_doc_get (SG_ENOTFOUND); sender_doc_update: name and description when not
 * NULL (set_description with description NULL clears it); sender_doc_list: the ids, oldest
 * first. */
typedef struct store_sender_doc_req {
    int64_t account_id, service_id;
    const char *sender, *id, *name, *description;
    int set_description;
    store_sender_doc out;
    char (*ids)[37];               /* sender_doc_list (new) */
    size_t count;
} store_sender_doc_req;
void store_sender_doc_fini(store_sender_doc_req *r);

/* sender_code (operator): a new validation code for a sender of the service named
 * service_name, replacing any earlier one (SG_ENOTFOUND: no such sender). sender_validate
 * (customer): compares code with the sender's code; a match enables the sender and removes
 * the code (tries_left -1). A wrong code succeeds too, so that its try is counted (committed):
 * tries_left then says how many remain (0 and more). SG_ENOTFOUND: no such sender; SG_EPERM:
 * no code was issued, or STORE_SENDER_CODE_TRIES wrong codes used it up. */
#define STORE_SENDER_CODE_TRIES 5
typedef struct store_sender_code_req {
    int64_t service_id;
    const char *service_name, *sender, *code;
    int64_t now_ms;
    char code_out[8];              /* sender_code: the code, 6 digits */
    int tries_left;                /* sender_validate: -1 validated, else tries left */
} store_sender_code_req;

/* service_add (operator): a new service for the account named account, "sms-<account>-<n>"
 * with the first n free, credited with credits millicredits (an "initial" ledger row).
 * SG_ENOTFOUND: no such account. Out: the new service's name. */
typedef struct store_service_add_req {
    const char *account;
    int64_t credits;
    char service_name[96]; /* out */
} store_service_add_req;

#define STORE_OPS_OPS(X)                                      \
    X(service_add, store_service_add_req)                     \
    X(credits_transfer, store_credits_transfer_req)           \
    X(service_info, store_service_info_req)                   \
    X(task_get, store_task_req)                               \
    X(task_list, store_task_req)                              \
    X(receivers_clean, store_receivers_clean_req)             \
    X(template_create, store_template_req)                    \
    X(template_get, store_template_req)                       \
    X(template_list, store_template_req)                      \
    X(template_update, store_template_req)                    \
    X(template_delete, store_template_req)                    \
    X(sender_doc_create, store_sender_doc_req)                \
    X(sender_doc_get, store_sender_doc_req)                   \
    X(sender_doc_list, store_sender_doc_req)                  \
    X(sender_doc_update, store_sender_doc_req)                \
    X(sender_code, store_sender_code_req)                     \
    X(sender_validate, store_sender_code_req)

#endif
