/*
 * jsonfmt.h - the one rule for printing numbers in JSON (issue 15, point 7).
 *
 * A JSON real is printed with at most SG_JSON_REAL_DIGITS (15) significant digits, the most
 * a double always carries exactly (DBL_DIG): a decimal of 15 significant digits or fewer
 * becomes a double and prints back as the same decimal. Every amount the API shows is such a
 * decimal computed from an integer count of its unit (credits in thousandths, prices in
 * millionths, VAT rates in hundredths of a percent), so 140 millicredits print as 0.14, as OVH
 * writes it, and never as the double's full expansion 0.14000000000000001 (jansson's own
 * default, 17 digits). A whole amount is a JSON integer where its builder chose one
 * (api_credits_json), else "2.0".
 *
 * Used by every writer of JSON text a user reads: http_reply_json (every API answer),
 * idem.c's rendering of an answer stored with an Idempotency-Key, and smsctl's output.
 */
#ifndef SG_UTIL_JSONFMT_H
#define SG_UTIL_JSONFMT_H

#include <jansson.h>

#define SG_JSON_REAL_DIGITS 15
/* The json_dumps()/json_dumpf() flag of the rule; add it to the writer's own flags. */
#define SG_JSON_REALS JSON_REAL_PRECISION(SG_JSON_REAL_DIGITS)

#endif
