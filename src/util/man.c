/*
 * man.c - roff output for the generated man pages (see man.h).
 *
 * Only what our help texts need: escaping, filled paragraphs and no-fill blocks. Each block
 * ends with the request that restores fill mode, so a caller can put any man macro after it.
 */
#include "util/man.h"

#include <string.h>

static void put_line(FILE *out, const char *s, size_t n) {
    if (n > 0 && (s[0] == '.' || s[0] == '\'')) fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\\': fputs("\\e", out); break;
        case '-': fputs("\\-", out); break;
        default: fputc(s[i], out);
        }
    }
}

void sg_man_puts(FILE *out, const char *s) {
    for (;;) {
        size_t n = strcspn(s, "\n");
        put_line(out, s, n);
        if (!s[n]) break;
        fputc('\n', out);
        s += n + 1;
    }
}

/* Writes the paragraph [p, end) (no blank line inside, no trailing newline). */
static void paragraph(FILE *out, const char *p, const char *end) {
    int indented = !strncmp(p, "usage:", 6); /* a synopsis keeps its lines too */
    const char *first_indented = NULL;
    for (const char *l = p; l < end;) {
        if (*l == ' ') {
            indented = 1;
            if (!first_indented) first_indented = l;
        }
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        l = nl ? nl + 1 : end;
    }
    fputs(".PP\n", out);
    if (first_indented && first_indented > p && first_indented[-2] == ':') {
        /* a title ("Route options:") before the table stays ordinary text */
        for (const char *l = p; l < first_indented;) {
            const char *nl = memchr(l, '\n', (size_t)(first_indented - l));
            put_line(out, l, (size_t)(nl - l));
            fputc('\n', out);
            l = nl + 1;
        }
        p = first_indented;
    }
    if (indented) fputs(".RS 2\n.nf\n", out);
    for (const char *l = p; l < end;) {
        const char *nl = memchr(l, '\n', (size_t)(end - l));
        const char *le = nl ? nl : end;
        if (indented) {
            put_line(out, l, (size_t)(le - l));
        } else { /* filled: a line starting with a space would force a break */
            while (l < le && *l == ' ') l++;
            put_line(out, l, (size_t)(le - l));
        }
        fputc('\n', out);
        l = nl ? nl + 1 : end;
    }
    if (indented) fputs(".fi\n.RE\n", out);
}

void sg_man_text(FILE *out, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p == '\n') p++; /* blank lines between paragraphs */
        if (!*p) break;
        const char *end = strstr(p, "\n\n");
        if (!end) end = p + strlen(p);
        const char *e = end;
        while (e > p && e[-1] == '\n') e--;
        paragraph(out, p, e);
        p = end;
    }
}
