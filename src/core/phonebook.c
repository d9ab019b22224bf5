/*
 * phonebook.c - phonebook contacts' rules (phonebook.h): the CSV columns, a row read into a
 * contact, a contact written as a row.
 *
 * Import rules, per row (a row refused is skipped and counted, the others go on):
 *   1. name and surname: at least one of them is not empty;
 *   2. at least one phone number, and every phone number given is valid (phone_normalize,
 *      national forms read in the server's default region, as sends read them); numbers are
 *      stored in E.164;
 *   3. texts at most PB_TEXT_MAX bytes, without NUL bytes.
 * The export writes the same columns in the order of phonebook.h, ';' as the separator, CRLF
 * line ends (what spreadsheets expect), fields quoted only when they must be.
 */
#include "core/phonebook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

static const char *const names[PB_NFIELDS] = {"name",      "surname",    "group",
                                              "homeMobile", "homePhone", "workMobile",
                                              "workPhone"};

const char *phonebook_field_name(int f) { return f >= 0 && f < PB_NFIELDS ? names[f] : ""; }

int phonebook_header(const csv_record *rec, int col[PB_NFIELDS], char *err, size_t size) {
    int any = 0;
    for (int f = 0; f < PB_NFIELDS; f++) col[f] = -1;
    for (size_t i = 0; i < rec->n; i++)
        for (int f = 0; f < PB_NFIELDS; f++)
            if (col[f] < 0 && !strcasecmp(rec->fields[i], names[f])) {
                col[f] = (int)i;
                any = 1;
            }
    if (!any) {
        snprintf(err, size, "the first line must name the columns (name, surname, group, "
                            "homeMobile, homePhone, workMobile, workPhone)");
        return SG_EINVAL;
    }
    if (col[PB_NAME] < 0 && col[PB_SURNAME] < 0) {
        snprintf(err, size, "the first line names neither a 'name' nor a 'surname' column");
        return SG_EINVAL;
    }
    return 0;
}

int phonebook_phone(const char *in, const char *default_region, char out[PHONE_E164_MAX]) {
    out[0] = 0;
    if (!in || !*in) return 0;
    phone_info info;
    if (phone_normalize(in, default_region, &info)) return SG_EINVAL;
    snprintf(out, PHONE_E164_MAX, "%s", info.e164);
    return 0;
}

int phonebook_row_read(const csv_record *rec, const int col[PB_NFIELDS],
                       const char *default_region, phonebook_row *out, char *err, size_t size) {
    memset(out, 0, sizeof *out);
    int phones = 0;
    for (int f = 0; f < PB_NFIELDS; f++) {
        const char *v = "";
        size_t n = 0;
        if (col[f] >= 0 && (size_t)col[f] < rec->n) {
            v = rec->fields[col[f]];
            n = rec->lens[col[f]];
        }
        if (n != strlen(v)) {
            snprintf(err, size, "'%s' holds a NUL byte", names[f]);
            return SG_EINVAL;
        }
        if (f < PB_FIRST_PHONE) {
            if (n > PB_TEXT_MAX) {
                snprintf(err, size, "'%s' is longer than %d bytes", names[f], PB_TEXT_MAX);
                return SG_EINVAL;
            }
            out->text[f] = v;
            continue;
        }
        if (phonebook_phone(v, default_region, out->phone[f - PB_FIRST_PHONE])) {
            snprintf(err, size, "'%s' is not a valid phone number", names[f]);
            return SG_EINVAL;
        }
        phones += *v != 0;
    }
    if (!*out->text[PB_NAME] && !*out->text[PB_SURNAME]) {
        snprintf(err, size, "neither 'name' nor 'surname' is given");
        return SG_EINVAL;
    }
    if (!phones) {
        snprintf(err, size, "no phone number is given");
        return SG_EINVAL;
    }
    return 0;
}

void phonebook_buf_fini(phonebook_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put(phonebook_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = sg_xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

static void put_field(phonebook_buf *b, const char *s) {
    size_t n = s ? strlen(s) : 0;
    int quote = n && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ';' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        put(b, s ? s : "", n);
        return;
    }
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') put(b, "\"", 1);
        put(b, &s[i], 1);
    }
    put(b, "\"", 1);
}

void phonebook_csv_header(phonebook_buf *b) { phonebook_csv_row(b, names); }

void phonebook_csv_row(phonebook_buf *b, const char *const f[PB_NFIELDS]) {
    for (int i = 0; i < PB_NFIELDS; i++) {
        if (i) put(b, ";", 1);
        put_field(b, f[i]);
    }
    put(b, "\r\n", 2);
}
