/*
 * optout.h - whether a message from a mobile is an opt-out ("STOP"): the keywords (the
 * optout-keywords setting), folded so that case, accents and spaces do not matter, and the
 * opt-out short number of the stop-clause setting ("STOP 36184" -> "36184").
 *
 * Pure: an optout_rules is built once from the settings and never changes afterwards, so any
 * thread may read it (the store thread matches incoming messages with it). optout_rules_new
 * returns a new object the caller frees with optout_rules_free.
 */
#ifndef SG_CORE_OPTOUT_H
#define SG_CORE_OPTOUT_H

#include <stddef.h>

/* The default of the optout-keywords setting. */
#define OPTOUT_DEFAULT_KEYWORDS \
    "STOP, STOP SMS, STOPALL, ARRET, ARRETER, ARRET SMS, UNSUBSCRIBE, DESABONNER, DESINSCRIRE"

/* Longest text worth folding: an opt-out is a word or two; anything longer is not one. */
#define OPTOUT_MAX_TEXT 64

typedef struct optout_rules optout_rules;

/* Rules from keywords (comma-separated; each folded as optout_fold does, empty items
 * skipped; NULL: OPTOUT_DEFAULT_KEYWORDS) and stop_clause (the mention appended to marketing
 * SMS; its last run of digits is the opt-out short number; NULL or no digits: none). */
optout_rules *optout_rules_new(const char *keywords, const char *stop_clause);
void optout_rules_free(optout_rules *r);

/* Folds UTF-8 text for comparison into out (cap bytes, NUL-terminated): letters upper-cased,
 * accented Latin letters replaced by their base letter (é -> E, ç -> C, œ -> OE), every run
 * of white space (spaces, tabs, line breaks, no-break spaces) made one space, spaces and the
 * punctuation . ! at either end removed. Returns the folded length, or (size_t)-1 when the
 * text does not fit in cap - 1 bytes once folded or is not valid UTF-8. */
size_t optout_fold(const char *text, char *out, size_t cap);

/* 1 when text, folded, is one of the keywords, or one of the keywords followed by the
 * opt-out short number, with or without a space between ("STOP 36184", "stop36184");
 * 0 otherwise (NULL text, too long, not UTF-8). */
int optout_match(const optout_rules *r, const char *text);

/* The opt-out short number ("36184"), "" when the stop clause has none. Borrowed from r. */
const char *optout_short_number(const optout_rules *r);

/* 1 when number (as received: "36184", "+36184", "0036184") is the opt-out short number. */
int optout_is_short_number(const optout_rules *r, const char *number);

#endif
