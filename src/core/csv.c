/*
 * csv.c - the streaming CSV reader (see csv.h for what it accepts).
 *
 * Design. One byte at a time through a small state machine, so that a record may be cut
 * anywhere between two calls of csv_reader_feed(): a quote, a CR of a CRLF, or the BOM itself
 * may arrive alone. The record being read lives in one buffer (`buf`) where each finished field
 * is NUL-terminated; `starts`/`lens` index it. When the separator is not given, the bytes of
 * the first line are kept raw (`head`) until its line break outside quotes, the separator is
 * chosen from them, and they are replayed through the state machine.
 *
 * States of the field being read, and where each transition happens (step()):
 *
 *   START --'"'--> QUOTED --'"'--> QUOTE --'"'--> QUOTED       (a doubled quote is one quote)
 *     |                               |--sep/eol--> field ends
 *     |                               |--space----> AFTER (spaces after the closing quote)
 *     |--other--> BARE --sep/eol--> field ends (trailing spaces trimmed)
 *   A separator ends the field (back to START); a line end outside quotes ends the record.
 *   Anything but a separator, a line end or a space after a closing quote is kept, as BARE
 *   text: `"ab"cd` reads `abcd`, the lenient reading spreadsheets agree on.
 *
 * Invariants:
 *  1. buf[0 .. len) holds the finished fields of the record (each followed by a NUL), then the
 *     bytes of the field being read, which is never longer than max_field.
 *  2. nfields <= max_fields at all times.
 *  3. A blank line (nothing but spaces and tabs) makes no record; everything else does.
 *  4. Once failed, the reader refuses every further call with the same error.
 */
#include "core/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define DEFAULT_MAX_FIELD 65536
#define DEFAULT_MAX_FIELDS 256
#define HEAD_MAX (1024 * 1024) /* the first line, read before the separator is known */

enum { S_START, S_BARE, S_QUOTED, S_QUOTE, S_AFTER };

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

struct csv_reader {
    csv_options opt;
    csv_record_cb cb;
    void *arg;
    char sep;
    int state;
    int pending_cr;     /* the last byte was a CR ending a line: a LF right after is its pair */
    int bom;            /* BOM bytes matched so far; -1 once past the start */
    /* the first line, while the separator is not known */
    int detecting;
    char *head;
    size_t head_len, head_cap;
    int head_inq;
    /* the record being read */
    char *buf;
    size_t len, cap;
    size_t *starts, *lens;
    const char **ptrs;
    size_t nfields, fcap;
    size_t field_start;
    size_t keep;        /* BARE: field length up to its last non-blank byte */
    int content;        /* the record has something besides blanks */
    size_t line, rec_line, records, bytes;
    int failed;
    int stopped;        /* the callback's value, when it stopped us */
    char err[160];
};

csv_reader *csv_reader_new(const csv_options *opt, csv_record_cb cb, void *arg) {
    csv_reader *r = sg_xcalloc(1, sizeof *r);
    if (opt) r->opt = *opt;
    if (!r->opt.max_field) r->opt.max_field = DEFAULT_MAX_FIELD;
    if (!r->opt.max_fields) r->opt.max_fields = DEFAULT_MAX_FIELDS;
    r->cb = cb;
    r->arg = arg;
    r->sep = r->opt.separator;
    r->detecting = r->sep == 0;
    r->line = 1;
    r->rec_line = 1;
    r->cap = 256;
    r->buf = sg_xmalloc(r->cap);
    r->fcap = 16;
    r->starts = sg_xmalloc(r->fcap * sizeof *r->starts);
    r->lens = sg_xmalloc(r->fcap * sizeof *r->lens);
    r->ptrs = sg_xmalloc(r->fcap * sizeof *r->ptrs);
    return r;
}

void csv_reader_free(csv_reader *r) {
    if (!r) return;
    free(r->head);
    free(r->buf);
    free(r->starts);
    free(r->lens);
    free(r->ptrs);
    free(r);
}

char csv_reader_separator(const csv_reader *r) { return r->detecting ? 0 : r->sep; }
size_t csv_reader_records(const csv_reader *r) { return r->records; }
size_t csv_reader_bytes(const csv_reader *r) { return r->bytes; }
const char *csv_reader_error(const csv_reader *r) { return r->failed ? r->err : ""; }

static int fail(csv_reader *r, size_t line, const char *why) {
    r->failed = 1;
    snprintf(r->err, sizeof r->err, "line %zu: %s", line, why);
    return SG_EINVAL;
}

static int blank(const csv_reader *r, unsigned char c) {
    return c == ' ' || (c == '\t' && r->sep != '\t');
}

static int append(csv_reader *r, char c) {
    if (r->len - r->field_start >= r->opt.max_field) {
        char why[96];
        snprintf(why, sizeof why, "a field is longer than %zu bytes", r->opt.max_field);
        return fail(r, r->line, why);
    }
    if (r->len + 2 > r->cap) {
        r->cap *= 2;
        r->buf = sg_xrealloc(r->buf, r->cap);
    }
    r->buf[r->len++] = c;
    return 0;
}

static int end_field(csv_reader *r) {
    if (r->state == S_BARE) r->len = r->field_start + r->keep;
    if (r->nfields == r->opt.max_fields) {
        char why[96];
        snprintf(why, sizeof why, "more than %zu fields", r->opt.max_fields);
        return fail(r, r->rec_line, why);
    }
    if (r->nfields == r->fcap) {
        r->fcap *= 2;
        r->starts = sg_xrealloc(r->starts, r->fcap * sizeof *r->starts);
        r->lens = sg_xrealloc(r->lens, r->fcap * sizeof *r->lens);
        r->ptrs = sg_xrealloc(r->ptrs, r->fcap * sizeof *r->ptrs);
    }
    if (r->len + 1 > r->cap) {
        r->cap *= 2;
        r->buf = sg_xrealloc(r->buf, r->cap);
    }
    r->starts[r->nfields] = r->field_start;
    r->lens[r->nfields] = r->len - r->field_start;
    r->nfields++;
    r->buf[r->len++] = '\0';
    r->field_start = r->len;
    r->keep = 0;
    r->state = S_START;
    return 0;
}

static void reset_record(csv_reader *r) {
    r->len = 0;
    r->field_start = 0;
    r->keep = 0;
    r->nfields = 0;
    r->content = 0;
    r->state = S_START;
    r->rec_line = r->line;
}

/* Ends the record at a line end (or the end of the input). */
static int end_record(csv_reader *r) {
    if (!r->content) {
        reset_record(r);
        return 0; /* a blank line: invariant 3 */
    }
    int rc = end_field(r);
    if (rc) return rc;
    for (size_t i = 0; i < r->nfields; i++) r->ptrs[i] = r->buf + r->starts[i];
    csv_record rec = {.line = r->rec_line, .index = r->records, .n = r->nfields,
                      .fields = r->ptrs, .lens = r->lens};
    r->records++;
    rc = r->cb ? r->cb(r->arg, &rec) : 0;
    reset_record(r);
    if (rc) r->stopped = rc;
    return rc;
}

/* One byte of the input, the separator being known. */
static int step(csv_reader *r, unsigned char c) {
    if (r->pending_cr) {
        r->pending_cr = 0;
        if (c == '\n') return 0; /* the LF of a CRLF */
    }
    int eol = c == '\n' || c == '\r';
    switch (r->state) {
    case S_QUOTED:
        if (c == '"') {
            r->state = S_QUOTE;
            return 0;
        }
        if (c == '\n') r->line++;
        return append(r, (char)c);
    case S_QUOTE:
        if (c == '"') {
            r->state = S_QUOTED;
            return append(r, '"');
        }
        if (c == (unsigned char)r->sep) return end_field(r);
        if (eol) break;
        if (blank(r, c)) {
            r->state = S_AFTER;
            return 0;
        }
        r->state = S_BARE;
        r->keep = r->len - r->field_start + 1;
        return append(r, (char)c);
    case S_AFTER:
        if (c == (unsigned char)r->sep) return end_field(r);
        if (eol) break;
        if (blank(r, c)) return 0;
        r->state = S_BARE;
        r->keep = r->len - r->field_start + 1;
        return append(r, (char)c);
    case S_START:
    case S_BARE:
        if (c == (unsigned char)r->sep) {
            r->content = 1;
            return end_field(r);
        }
        if (eol) break;
        if (r->state == S_START) {
            if (blank(r, c)) return 0;
            r->content = 1;
            if (c == '"') {
                r->state = S_QUOTED;
                return 0;
            }
            r->state = S_BARE;
        }
        if (!blank(r, c)) r->keep = r->len - r->field_start + 1;
        return append(r, (char)c);
    }
    /* A line end outside quotes. */
    r->line++;
    if (c == '\r') r->pending_cr = 1;
    return end_record(r);
}

/* Chooses the separator from the first line: the most frequent of ';', ',' and tab outside
 * quotes; ';' on a tie with it or when none appears (a file of one column). */
static char detect(const char *s, size_t n) {
    size_t semi = 0, comma = 0, tab = 0;
    int inq = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') inq = !inq;
        else if (!inq && s[i] == ';') semi++;
        else if (!inq && s[i] == ',') comma++;
        else if (!inq && s[i] == '\t') tab++;
    }
    if (comma > semi && comma >= tab) return ',';
    if (tab > semi && tab > comma) return '\t';
    return ';';
}

/* Ends detection: picks the separator and replays the first line through step(). */
static int replay_head(csv_reader *r) {
    r->sep = detect(r->head, r->head_len);
    r->detecting = 0;
    char *h = r->head;
    size_t n = r->head_len;
    r->head = NULL;
    r->head_len = r->head_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = step(r, (unsigned char)h[i]);
    free(h);
    return rc;
}

/* One byte while the separator is not known: kept raw until the first non-blank line ends. */
static int detect_byte(csv_reader *r, unsigned char c) {
    if (r->head_len == HEAD_MAX) return fail(r, 1, "the first line is longer than 1 MiB");
    if (r->head_len == r->head_cap) {
        r->head_cap = r->head_cap ? r->head_cap * 2 : 256;
        r->head = sg_xrealloc(r->head, r->head_cap);
    }
    r->head[r->head_len++] = (char)c;
    if (c == '"') r->head_inq = !r->head_inq;
    if (r->head_inq || (c != '\n' && c != '\r')) return 0;
    for (size_t i = 0; i + 1 < r->head_len; i++) {
        char h = r->head[i];
        if (h != ' ' && h != '\t' && h != '\r' && h != '\n') return replay_head(r);
    }
    return 0; /* only blank lines so far: keep looking for the header */
}

static int byte(csv_reader *r, unsigned char c) {
    if (r->bom >= 0) {
        if (c == BOM[r->bom]) {
            if (++r->bom == 3) r->bom = -1;
            return 0;
        }
        /* Not a BOM after all: its matched prefix is data. */
        int matched = r->bom;
        r->bom = -1;
        for (int i = 0; i < matched; i++) {
            int rc = byte(r, BOM[i]);
            if (rc) return rc;
        }
    }
    return r->detecting ? detect_byte(r, c) : step(r, c);
}

int csv_reader_feed(csv_reader *r, const char *data, size_t len) {
    if (r->failed) return SG_EINVAL;
    if (r->stopped) return r->stopped;
    for (size_t i = 0; i < len; i++) {
        r->bytes++;
        int rc = byte(r, (unsigned char)data[i]);
        if (rc) return rc;
    }
    return 0;
}

int csv_reader_finish(csv_reader *r) {
    if (r->failed) return SG_EINVAL;
    if (r->stopped) return r->stopped;
    if (r->bom > 0) { /* a lone prefix of a BOM at the very end is data */
        int matched = r->bom;
        r->bom = -1;
        for (int i = 0; i < matched; i++) {
            int rc = byte(r, BOM[i]);
            if (rc) return rc;
        }
    }
    if (r->detecting) {
        int rc = replay_head(r);
        if (rc) return rc;
    }
    if (r->state == S_QUOTED) return fail(r, r->rec_line, "a quoted field is not closed");
    r->pending_cr = 0;
    return end_record(r);
}
