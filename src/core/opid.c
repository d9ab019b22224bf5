/*
 * opid.c - operator message ids (see opid.h).
 *
 * An id is stored once, under its exact form (case-folded, without leading zeros); both
 * readings of an all-digit id are tried at lookup time, because an id such as "10" may be
 * decimal in one PDU (a submit_sm_resp) and hexadecimal in another (the receipt text): the
 * exact form first, then the id that spells the same number the other way. Two ids with the
 * same value in the same base have the same exact form, so these are all the matches.
 *
 * Invariants:
 *  1. keys[0] depends only on the id's exact form: every spelling of one id in one base is
 *     stored under the same key.
 *  2. No key is written twice, and every key fits OPID_KEY_LEN ("s:" + 64 characters + NUL).
 */
#include "core/opid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int opid_keys(const char *id, char keys[OPID_KEYS][OPID_KEY_LEN]) {
    while (isspace((unsigned char)*id)) id++;
    size_t n = strlen(id);
    while (n && isspace((unsigned char)id[n - 1])) n--;
    if (n == 0 || n > 64) return 0;
    const char *s = id;
    size_t k = n;
    while (k > 1 && *s == '0') s++, k--;
    int hex = 1, dec = 1;
    for (size_t i = 0; i < k; i++) {
        if (!isxdigit((unsigned char)s[i])) hex = 0;
        if (!isdigit((unsigned char)s[i])) dec = 0;
    }
    int nk = 0;
    char *o = keys[nk++];
    memcpy(o, "s:", 2);
    for (size_t i = 0; i < k; i++) o[2 + i] = (char)tolower((unsigned char)s[i]);
    o[2 + k] = '\0';
    /* The decimal spelling of the hexadecimal reading: the key of a decimal id (at most 19
     * digits) that names the same number. */
    if (hex && k <= 16) {
        char d[24];
        int len = snprintf(d, sizeof d, "%llu", strtoull(s, NULL, 16));
        if (len <= 19) {
            snprintf(keys[nk], OPID_KEY_LEN, "s:%s", d);
            if (strcmp(keys[nk], keys[0]) != 0) nk++;
        }
    }
    /* The hexadecimal spelling of the decimal reading: the key of a hexadecimal id. */
    if (dec && k <= 19) {
        snprintf(keys[nk], OPID_KEY_LEN, "s:%llx", strtoull(s, NULL, 10));
        int dup = 0;
        for (int i = 0; i < nk; i++) dup |= strcmp(keys[nk], keys[i]) == 0;
        if (!dup) nk++;
    }
    return nk;
}
