/*
 * csv.h - a streaming CSV reader for receiver lists, as customers write them.
 *
 * Owns: a csv_reader holds only the record being read (bounded by max_field and max_fields)
 * and, until the separator is known, the first record's raw bytes. Bytes go in with
 * csv_reader_feed() in pieces of any size (a download, a stored document's chunks); each
 * complete record comes out through the callback, so a file of a million rows never sits in
 * memory. Pure: no I/O, no global state; one reader belongs to one thread at a time.
 *
 * What it accepts: a UTF-8 BOM at the start (skipped); ';', ',' or a tab as the separator
 * (given, or detected on the first record: the one of them seen most often outside quotes,
 * ';' when none is); fields in double quotes holding separators, line breaks and doubled
 * quotes (""); CRLF, LF or lone CR line ends; blank lines (skipped). Spaces and tabs around
 * an unquoted field and around a quoted one are dropped; inside quotes everything is kept.
 * Refused, with a message naming the line: a quoted field still open at the end, a field
 * longer than max_field, a record with more than max_fields fields.
 *
 * Ownership: the field pointers handed to the callback are borrowed until it returns. Every
 * field is NUL-terminated; lens[] give the lengths (a field may itself hold a NUL byte, which
 * the caller can detect with lens[i] != strlen(fields[i])).
 */
#ifndef SG_CORE_CSV_H
#define SG_CORE_CSV_H

#include <stddef.h>

typedef struct csv_reader csv_reader;

typedef struct csv_options {
    char separator;     /* ';', ',' or '\t'; 0 = detect on the first record */
    size_t max_field;   /* bytes per field [65536] */
    size_t max_fields;  /* fields per record [256] */
} csv_options;

typedef struct csv_record {
    size_t line;                 /* physical line (1-based) where the record starts */
    size_t index;                /* records before this one (0 = the first, the header) */
    size_t n;                    /* fields, >= 1 */
    const char *const *fields;   /* borrowed until the callback returns */
    const size_t *lens;
} csv_record;

/* Called once per record, in order. Returns 0 to go on; any other value stops the reader,
 * and csv_reader_feed()/csv_reader_finish() return that value. */
typedef int (*csv_record_cb)(void *arg, const csv_record *rec);

/* Creates a reader; opt may be NULL (defaults). cb and arg are kept. Never NULL. */
csv_reader *csv_reader_new(const csv_options *opt, csv_record_cb cb, void *arg);
/* Frees the reader. NULL does nothing. */
void csv_reader_free(csv_reader *r);

/* Reads len more bytes. Returns 0, SG_EINVAL for malformed input (csv_reader_error() says
 * where and why; the reader is then unusable), or the callback's non-zero value. */
int csv_reader_feed(csv_reader *r, const char *data, size_t len);
/* Declares the end of the input: the last record (without a line break) comes out now.
 * Returns as csv_reader_feed(). */
int csv_reader_finish(csv_reader *r);

/* The separator in use, or 0 while it is not known yet. */
char csv_reader_separator(const csv_reader *r);
/* Records handed out so far. */
size_t csv_reader_records(const csv_reader *r);
/* Bytes read so far (the BOM included). */
size_t csv_reader_bytes(const csv_reader *r);
/* After SG_EINVAL: "line 12: a quoted field is not closed" (borrowed from r); "" otherwise. */
const char *csv_reader_error(const csv_reader *r);

#endif
