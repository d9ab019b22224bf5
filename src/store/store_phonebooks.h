/*
 * store_phonebooks.h - the phonebooks area of the store: a service's phonebooks (OVH's
 * sms.Phonebook) and their contacts (sms.PhonebookContact), with the CSV import from a
 * /me/document and the CSV export into one (docs/phonebooks.md).
 *
 * Included by store.h; the operations are part of STORE_OPS (see store.h for threads and the
 * async contract). Strings in requests are borrowed by the store until the callback; strings
 * and arrays marked "new" are the caller's to free (store_phonebook_req_fini).
 */
#ifndef SG_STORE_PHONEBOOKS_H
#define SG_STORE_PHONEBOOKS_H

#include <stddef.h>
#include <stdint.h>

/* The most contacts one phonebook holds: a create or an import beyond it is refused (the
 * import stops there and says so). */
#define STORE_PHONEBOOK_MAX_CONTACTS 10000
/* The most phonebooks of one service. */
#define STORE_PHONEBOOK_MAX_BOOKS 100

/* A contact. Phone numbers are E.164 with '+', NULL when not set. */
typedef struct store_contact {
    int64_t id;
    char *name, *surname, *group;                         /* new */
    char *home_mobile, *home_phone, *work_mobile, *work_phone; /* new, or NULL */
} store_contact;
void store_contact_fini(store_contact *k);

/* One request type for every phonebook operation:
 *   phonebook_list    service_id -> keys (new), count, in order of creation
 *   phonebook_create  service_id, book_key, phone_key (new random keys, the caller's), name,
 *                     now_ms; SG_ELIMIT beyond STORE_PHONEBOOK_MAX_BOOKS
 *   phonebook_get     service_id, book_key -> name (new), phone_key (new); SG_ENOTFOUND
 *   phonebook_update  service_id, book_key, name; SG_ENOTFOUND
 *   phonebook_delete  service_id, book_key: the book and its contacts; SG_ENOTFOUND
 *   contact_list      service_id, book_key -> ids (new), count, in order of creation
 *   contact_create    service_id, book_key, contact (id ignored) -> contact.id;
 *                     SG_ENOTFOUND (no such book), SG_ELIMIT (the book is full)
 *   contact_get       service_id, book_key, contact.id -> contact (new); SG_ENOTFOUND
 *   contact_update    service_id, book_key, contact: every field replaced; SG_ENOTFOUND
 *   contact_delete    service_id, book_key, contact.id; SG_ENOTFOUND
 *   phonebook_import  service_id, book_key, account_id, document_id, default_region, now_ms:
 *                     the document's CSV rows become contacts (phonebooks.c says how) ->
 *                     task_id, imported, refused, message (new: why rows were refused, or
 *                     NULL); SG_ENOTFOUND (no such book or document), SG_EINVAL (not a CSV
 *                     smsgate can read: message says why)
 *   phonebook_export  service_id, book_key, account_id, now_ms, ttl_ms: writes the contacts
 *                     as CSV into a new /me/document of account_id -> document_id, token
 *                     (new), expires_ms, count; SG_ENOTFOUND */
typedef struct store_phonebook_req {
    int64_t service_id, account_id, now_ms, ttl_ms;
    const char *book_key, *phone_key, *name;
    const char *document_id, *default_region;
    store_contact contact;  /* contact_*: in (create, update), out (get, new) */
    /* out */
    char **keys;            /* new (phonebook_list) */
    int64_t *ids;           /* new (contact_list) */
    size_t count;
    char *out_name, *out_phone_key; /* new (phonebook_get) */
    int64_t task_id, imported, refused;
    char *message;          /* new (phonebook_import) */
    char out_document_id[40]; /* phonebook_export */
    char *token;            /* new (phonebook_export) */
    int64_t expires_ms;
} store_phonebook_req;
/* Frees what the store allocated in r (not contact's strings given in by the caller: those
 * are freed only for contact_get, which the caller does with store_contact_fini). */
void store_phonebook_req_fini(store_phonebook_req *r);

#define STORE_PHONEBOOKS_OPS(X)                               \
    X(phonebook_list, store_phonebook_req)                    \
    X(phonebook_create, store_phonebook_req)                  \
    X(phonebook_get, store_phonebook_req)                     \
    X(phonebook_update, store_phonebook_req)                  \
    X(phonebook_delete, store_phonebook_req)                  \
    X(contact_list, store_phonebook_req)                      \
    X(contact_create, store_phonebook_req)                    \
    X(contact_get, store_phonebook_req)                       \
    X(contact_update, store_phonebook_req)                    \
    X(contact_delete, store_phonebook_req)                    \
    X(phonebook_import, store_phonebook_req)                  \
    X(phonebook_export, store_phonebook_req)

#endif
