/*
 * template.c - compiling and rendering templated messages (see template.h for the syntax).
 *
 * Design. Compiling cuts the text once into segments: literal runs (offsets into a private
 * copy of the text) and column references (an index into the row). Rendering is then a walk
 * over the segments with memcpy, no parsing per receiver: a campaign of 200,000 rows renders
 * its template 200,000 times, on the store thread, inside the transaction that inserts the
 * messages.
 *
 * Invariants:
 *  1. The segments, concatenated with each column reference replaced by "#name#", give back
 *     the text exactly.
 *  2. Every column reference is < the ncols given to template_new().
 */
#include "core/template.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"

typedef struct segment {
    int is_var;
    size_t off, len; /* literal: bytes of text */
    size_t col;      /* variable: the column */
} segment;

struct template {
    char *text;
    segment *segs;
    size_t nsegs, nvars;
};

static int name_byte(char c) {
    return c != '#' && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0';
}

/* Length of the variable name after the '#' at s, when "#name#" starts there; else 0. */
static size_t var_at(const char *s) {
    size_t n = 0;
    while (n <= TEMPLATE_NAME_MAX && name_byte(s[1 + n])) n++;
    if (n == 0 || n > TEMPLATE_NAME_MAX || s[1 + n] != '#') return 0;
    return n;
}

static void add(template *t, size_t *cap, segment s) {
    if (t->nsegs == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        t->segs = sg_xrealloc(t->segs, *cap * sizeof *t->segs);
    }
    t->segs[t->nsegs++] = s;
}

template *template_new(const char *text, const char *const *cols, size_t ncols, char *bad,
                       size_t badcap, int *err) {
    template *t = sg_xcalloc(1, sizeof *t);
    t->text = sg_xstrdup(text);
    size_t cap = 0, lit = 0, i = 0, n = strlen(text);
    while (i < n) {
        size_t len = text[i] == '#' ? var_at(text + i) : 0;
        if (!len) {
            i++;
            continue;
        }
        size_t col = ncols;
        for (size_t k = 0; k < ncols; k++) {
            if (strlen(cols[k]) == len && strncasecmp(cols[k], text + i + 1, len) == 0) {
                col = k;
                break;
            }
        }
        if (col == ncols) {
            if (badcap) {
                size_t m = len < badcap - 1 ? len : badcap - 1;
                memcpy(bad, text + i + 1, m);
                bad[m] = '\0';
            }
            *err = SG_ENOTFOUND;
            template_free(t);
            return NULL;
        }
        if (i > lit) add(t, &cap, (segment){.off = lit, .len = i - lit});
        add(t, &cap, (segment){.is_var = 1, .col = col});
        t->nvars++;
        i += len + 2;
        lit = i;
    }
    if (n > lit) add(t, &cap, (segment){.off = lit, .len = n - lit});
    return t;
}

void template_free(template *t) {
    if (!t) return;
    free(t->text);
    free(t->segs);
    free(t);
}

size_t template_vars(const template *t) { return t->nvars; }

int template_uses(const template *t, size_t col) {
    for (size_t i = 0; i < t->nsegs; i++)
        if (t->segs[i].is_var && t->segs[i].col == col) return 1;
    return 0;
}

static void put(char **buf, size_t *cap, size_t *len, const char *s, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1) c *= 2;
        *buf = sg_xrealloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

size_t template_render(const template *t, const char *const *fields, const size_t *lens,
                       size_t nfields, char **buf, size_t *cap) {
    size_t len = 0;
    put(buf, cap, &len, "", 0);
    for (size_t i = 0; i < t->nsegs; i++) {
        const segment *s = &t->segs[i];
        if (!s->is_var) put(buf, cap, &len, t->text + s->off, s->len);
        else if (s->col < nfields) put(buf, cap, &len, fields[s->col], lens[s->col]);
    }
    (*buf)[len] = '\0';
    return len;
}
