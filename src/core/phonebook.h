/*
 * phonebook.h - the rules of phonebook contacts (OVH's sms.PhonebookContact) as pure
 * functions: which CSV column is which field, how one CSV row becomes a contact (phone numbers
 * normalised to E.164), and how a contact is written as a CSV row (docs/phonebooks.md).
 *
 * The CSV has a header row naming its columns with the model's field names, in any order and
 * any case: name, surname, group, homeMobile, homePhone, workMobile, workPhone (columns with
 * other names are ignored). The export writes them in that order, ';'-separated, so that an
 * export imports back unchanged.
 *
 * Pure: no I/O, no global state; any thread (phone.h's cache aside, which is thread-safe).
 */
#ifndef SG_CORE_PHONEBOOK_H
#define SG_CORE_PHONEBOOK_H

#include <stddef.h>

#include "core/csv.h"
#include "core/phone.h"

/* The fields of a contact, in the export's column order. */
enum { PB_NAME, PB_SURNAME, PB_GROUP, PB_HOME_MOBILE, PB_HOME_PHONE, PB_WORK_MOBILE,
       PB_WORK_PHONE, PB_NFIELDS };
#define PB_FIRST_PHONE PB_HOME_MOBILE

/* The model's name of field f ("homeMobile"). */
const char *phonebook_field_name(int f);

/* The longest name, surname or group kept (bytes); longer is refused. */
#define PB_TEXT_MAX 255

/* Reads a header record: col[f] = the index of field f's column, or -1. Returns 0, or
 * SG_EINVAL when no column names a field at all, or name and surname are both missing
 * (err, size: why, in a sentence). */
int phonebook_header(const csv_record *rec, int col[PB_NFIELDS], char *err, size_t size);

/* One row as a contact: text fields point into rec (borrowed until the callback returns),
 * "" when absent; phones are normalised (E.164, "" when empty). */
typedef struct phonebook_row {
    const char *text[3];      /* PB_NAME, PB_SURNAME, PB_GROUP */
    char phone[4][PHONE_E164_MAX]; /* PB_HOME_MOBILE - PB_FIRST_PHONE ... */
} phonebook_row;

/* Reads a data record with the columns of col. default_region reads national numbers ("fr",
 * as sends do). Returns 0, or SG_EINVAL (err says why, naming the field): no name nor
 * surname, a text longer than PB_TEXT_MAX or holding a NUL byte, no phone number at all, a
 * phone number that is not valid. */
int phonebook_row_read(const csv_record *rec, const int col[PB_NFIELDS],
                       const char *default_region, phonebook_row *out, char *err, size_t size);

/* Checks and normalises one phone number given through the API: "" or NULL -> out "" (not
 * set); else 0 with the E.164 form in out, or SG_EINVAL. */
int phonebook_phone(const char *in, const char *default_region, char out[PHONE_E164_MAX]);

/* A growing byte buffer for the export. */
typedef struct phonebook_buf {
    char *data;
    size_t len, cap;
} phonebook_buf;
void phonebook_buf_fini(phonebook_buf *b);

/* Appends the header line of the export. */
void phonebook_csv_header(phonebook_buf *b);
/* Appends one contact's line: f[PB_NFIELDS] (NULL = empty), each quoted when it holds ';',
 * '"', a line break or surrounding spaces. */
void phonebook_csv_row(phonebook_buf *b, const char *const f[PB_NFIELDS]);

#endif
