/*
 * opid.h - operator message ids: how the id an SMSC gave a message is spelled when it is
 * stored, and which spellings of another id name the same message.
 *
 * Pure, no state: callable from any thread. Used by the store (smpp_ids, smpp_orphans) to
 * store and find ids, so that both backends spell them the same way; smpp/dlr.c reads the ids
 * out of receipts.
 */
#ifndef SG_CORE_OPID_H
#define SG_CORE_OPID_H

/* Keys of an operator message id. keys[0] is the key the id is stored under: "s:" + the id in
 * lower case without leading zeros (its exact form). The next keys are the exact forms of the
 * ids that name the same number read in the other base: when the id reads as a hexadecimal
 * number (at most 16 digits), the decimal spelling of that value (when at most 19 digits); when
 * it reads as a decimal number (at most 19 digits), the hexadecimal spelling of that value;
 * duplicates left out. An id A matches an id B when B's keys[0] is one of A's keys (the
 * relation is symmetric), so one stored row per id and at most OPID_KEYS lookups find any
 * spelling: hex/decimal, case, leading zeros. Blanks around the id are ignored. Returns the
 * number of keys written (1 to OPID_KEYS); 0 for an empty or over-long (> 64) id. */
#define OPID_KEYS 3
#define OPID_KEY_LEN 72
int opid_keys(const char *id, char keys[OPID_KEYS][OPID_KEY_LEN]);

#endif
