/*
 * histcsv.h - the CSV file of an SMS history export (GET /sms/{sn}/document, docs/api.md,
 * "History export"): its header and one line per SMS, in the format OVH's exports use.
 *
 * Columns, separated by ';', each line ended by CRLF:
 *   outgoing  id;date;sender;receiver;ptt;operatorCode;descriptionDlr;tag;message;sentAt;
 *             deliveredAt
 *   incoming  id;date;sender;receiver;tag;message
 * Dates are "YYYY-MM-DD HH:MM:SS" in UTC (as OVH's example rows, which carry no zone), empty
 * when unknown. operatorCode is the SMS's deliveryReceipt code, descriptionDlr its text
 * (receipt_dlr_text). A field holding ';', '"', a line break or a leading or trailing space is
 * quoted, its quotes doubled; bytes that are not UTF-8 become U+FFFD, so that the file stays
 * text whatever was stored.
 *
 * Pure: no I/O, no global state. The caller owns the histcsv_buf and frees b->p.
 */
#ifndef SG_CORE_HISTCSV_H
#define SG_CORE_HISTCSV_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer: p (new, or NULL while empty) holds len bytes of cap. */
typedef struct histcsv_buf {
    char *p;
    size_t len, cap;
} histcsv_buf;

/* One SMS of the history; NULL strings are written as empty fields. */
typedef struct histcsv_row {
    int64_t id, created_ms;
    const char *sender, *receiver, *tag, *message;
    /* outgoing only */
    int64_t ptt, dlr, sent_ms, delivered_ms;
} histcsv_row;

/* Appends the header line of the outgoing (incoming = 0) or incoming file. */
void histcsv_header(histcsv_buf *b, int incoming);
/* Appends the line of one SMS. */
void histcsv_row_put(histcsv_buf *b, int incoming, const histcsv_row *r);
/* Formats epoch ms as "YYYY-MM-DD HH:MM:SS" (UTC) into out (20 bytes); 0 gives "". */
void histcsv_date(int64_t ms, char out[20]);

#endif
