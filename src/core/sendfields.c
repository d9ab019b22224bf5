/*
 * sendfields.c - the tables of core/sendfields.h. They exist once: before issue 15 the
 * priorities were copied in jobs.c, receivers.c and smsctl.c, and the classes in two files.
 */
#include "core/sendfields.h"

#include <stdio.h>
#include <string.h>

const char *const send_priorities[] = {"high", "medium", "low", "veryLow", NULL};
const char *const send_classes[] = {"flash", "phoneDisplay", "sim", "toolkit", NULL};
const char *const send_codings[] = {"7bit", "8bit", NULL};
const char *const send_charsets[] = {"UTF-8", NULL};
const char *const send_batch_classes[] = {"FLASH", "PHONE", "SIM", NULL};

int send_enum_find(const char *const *values, const char *s) {
    for (int i = 0; values[i]; i++)
        if (!strcmp(values[i], s)) return i;
    return -1;
}

const char *send_enum_name(const char *const *values, int i) {
    for (int k = 0; values[k]; k++)
        if (k == i) return values[k];
    return "";
}

char *send_enum_list(const char *const *values, char *buf, unsigned long n) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; values[i] && len + 1 < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? ", " : "", values[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}
