/*
 * optout.c - opt-out keywords (see optout.h; docs/replies.md, "STOP and blacklists").
 *
 * Design. A mobile that wants no more marketing SMS answers "STOP", "Stop", " stop ", "Arrêt",
 * "ARRET", "STOP 36184" (the mention every marketing SMS ends with): the same word in many
 * spellings. Rather than a pattern per spelling, both the keywords (once, when the rules are
 * built) and each incoming text are folded to one canonical form, then compared exactly:
 * ASCII letters upper-cased, accented Latin letters (Latin-1 and Latin Extended-A, which cover
 * French and the other European languages SMS carry) replaced by their base letters, white
 * space collapsed, surrounding spaces and the punctuation . ! dropped. A text longer than
 * OPTOUT_MAX_TEXT bytes is never an opt-out, so matching costs a bounded amount for any
 * message and nothing is allocated per message.
 *
 * Invariants:
 *  1. optout_fold is idempotent: folding a folded text gives it back unchanged.
 *  2. The rules never change after optout_rules_new: readers on any thread need no lock.
 */
#include "core/optout.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define MAX_KEYWORDS 64

struct optout_rules {
    size_t count;
    char *kw[MAX_KEYWORDS];  /* folded keywords, each non-empty */
    size_t kwlen[MAX_KEYWORDS];
    char short_number[16];   /* digits of the stop clause's number, "" if none */
};

/* Base letters of U+00C0..U+00FF ("" for the two signs × and ÷, which stay as they are). */
static const char *const latin1[64] = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    "D", "N", "O", "O", "O", "O", "O", "",  "O", "U", "U", "U", "U", "Y", "TH", "SS",
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    "D", "N", "O", "O", "O", "O", "O", "",  "O", "U", "U", "U", "U", "Y", "TH", "Y"};

/* Base letters of U+0100..U+017F, one character each; '1' stands for IJ and '2' for OE. */
static const char latin_ext_a[129] =
    "AAAAAACCCCCCCCDDDDEEEEEEEEEEGGGGGGGGHHHHIIIIIIIIII11JJKKKLLLLLLLLLLNNNNNNNNNOOOOOO22"
    "RRRRRRSSSSSSSSTTTTTTUUUUUUUUUUUUWWYYYZZZZZZS";

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c;
    if ((s[0] & 0xE0) == 0xC0) len = 2, c = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, c = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, c = s[0] & 0x07;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && c < 0x80) || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
        c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0; /* overlong, out of range or a surrogate */
    *cp = c;
    return len;
}

static int is_space(uint32_t c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xA0 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Characters dropped wherever they are: zero-width spaces and joiners, the byte order mark. */
static int is_invisible(uint32_t c) { return (c >= 0x200B && c <= 0x200D) || c == 0xFEFF; }

static int is_edge_punct(char c) { return c == '.' || c == '!'; }

size_t optout_fold(const char *text, char *out, size_t cap) {
    if (!text || cap == 0) return (size_t)-1;
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), len = 0;
    int space = 0; /* a space is owed before the next character */
    while (n > 0) {
        uint32_t c;
        size_t k = utf8_next(s, n, &c);
        if (!k) return (size_t)-1;
        const char *rep = NULL;
        char one[2] = {0, 0};
        if (is_space(c)) {
            space = len > 0;
        } else if (!is_invisible(c)) {
            if (c < 0x80) {
                one[0] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
                rep = one;
            } else if (c >= 0xC0 && c <= 0xFF && latin1[c - 0xC0][0]) {
                rep = latin1[c - 0xC0];
            } else if (c >= 0x100 && c <= 0x17F) {
                char b = latin_ext_a[c - 0x100];
                rep = b == '1' ? "IJ" : b == '2' ? "OE" : (one[0] = b, one);
            }
            size_t rlen = rep ? strlen(rep) : k;
            if (len + space + rlen + 1 > cap) return (size_t)-1;
            if (space) out[len++] = ' ';
            space = 0;
            memcpy(out + len, rep ? rep : (const char *)s, rlen);
            len += rlen;
        }
        s += k;
        n -= k;
    }
    /* Punctuation and spaces at either end (a space is never last: see `space`). */
    size_t start = 0;
    while (start < len && (is_edge_punct(out[start]) || out[start] == ' ')) start++;
    while (len > start && (is_edge_punct(out[len - 1]) || out[len - 1] == ' ')) len--;
    memmove(out, out + start, len - start);
    len -= start;
    out[len] = '\0';
    return len;
}

optout_rules *optout_rules_new(const char *keywords, const char *stop_clause) {
    optout_rules *r = sg_xcalloc(1, sizeof *r);
    const char *p = keywords ? keywords : OPTOUT_DEFAULT_KEYWORDS;
    while (*p && r->count < MAX_KEYWORDS) {
        size_t n = strcspn(p, ",");
        char item[OPTOUT_MAX_TEXT + 1], folded[OPTOUT_MAX_TEXT + 1];
        if (n <= OPTOUT_MAX_TEXT) {
            memcpy(item, p, n);
            item[n] = '\0';
            size_t f = optout_fold(item, folded, sizeof folded);
            if (f != (size_t)-1 && f > 0) {
                r->kw[r->count] = sg_xstrdup(folded);
                r->kwlen[r->count++] = f;
            }
        }
        p += n;
        if (*p == ',') p++;
    }
    /* The short number: the last run of digits of the clause. */
    const char *end = NULL, *start = NULL;
    for (const char *q = stop_clause ? stop_clause : ""; *q; q++)
        if (*q >= '0' && *q <= '9') {
            if (!end || q != end) start = q;
            end = q + 1;
        }
    if (start && (size_t)(end - start) < sizeof r->short_number) {
        memcpy(r->short_number, start, (size_t)(end - start));
        r->short_number[end - start] = '\0';
    }
    return r;
}

void optout_rules_free(optout_rules *r) {
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) free(r->kw[i]);
    free(r);
}

int optout_match(const optout_rules *r, const char *text) {
    char f[OPTOUT_MAX_TEXT + 1];
    size_t n = optout_fold(text, f, sizeof f);
    if (n == (size_t)-1 || n == 0) return 0;
    size_t sn = strlen(r->short_number);
    for (size_t i = 0; i < r->count; i++) {
        size_t k = r->kwlen[i];
        if (n < k || memcmp(f, r->kw[i], k)) continue;
        if (n == k) return 1;
        const char *rest = f + k;
        if (*rest == ' ') rest++;
        if (sn && !strcmp(rest, r->short_number)) return 1;
    }
    return 0;
}

const char *optout_short_number(const optout_rules *r) { return r->short_number; }

int optout_is_short_number(const optout_rules *r, const char *number) {
    if (!r->short_number[0] || !number) return 0;
    if (*number == '+') number++;
    else if (number[0] == '0' && number[1] == '0') number += 2;
    return !strcmp(number, r->short_number);
}
