/*
 * msgid.c - the messageID of an outgoing SMS (msgid.h).
 *
 * Invariant: msgid_parse(msgid_format(s, m)) gives back s and m for every s < 2^32 and
 * 0 < m < 2^48; any other uuid parses as "not ours" (1), never as another SMS.
 */
#include "core/msgid.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int msgid_format(int64_t service_id, int64_t id, char out[MSGID_LEN]) {
    out[0] = 0;
    if (service_id < 0 || service_id > 0xffffffffLL || id < 0 || id > 0xffffffffffffLL)
        return -1;
    snprintf(out, MSGID_LEN, "%08llx-0000-4000-8000-%012llx", (unsigned long long)service_id,
             (unsigned long long)id);
    return 0;
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

int msgid_parse(const char *s, int64_t *service_id, int64_t *id) {
    *service_id = *id = 0;
    if (!s || strlen(s) != 36) return -1;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : hexval((unsigned char)s[i]) < 0) return -1;
    }
    if (strncmp(s + 8, "-0000-4000-8000-", 16) != 0) return 1;
    uint64_t sv = 0, m = 0;
    for (int i = 0; i < 8; i++) sv = sv << 4 | (uint64_t)hexval((unsigned char)s[i]);
    for (int i = 24; i < 36; i++) m = m << 4 | (uint64_t)hexval((unsigned char)s[i]);
    if (m == 0) return 1;
    *service_id = (int64_t)sv;
    *id = (int64_t)m;
    return 0;
}
