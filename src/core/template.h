/*
 * template.h - templated messages: "Hello #name#" rendered once per receiver from the columns
 * of a receiver list (spec/ovh-sms-api.md 5.6).
 *
 * A variable is '#', then 1 to 64 bytes that are neither '#' nor white space (space, tab,
 * CR, LF), then '#'. It names a column of the list, compared without regard to ASCII case
 * ("#Name#" finds the column "name"). Anything else stays as written: "Order #12 is ready",
 * "Price: 5# each #" and "##" have no variable. A variable naming no column is an error that
 * names it, so a typo is refused before anything is sent.
 *
 * Pure: no I/O, no global state; a compiled template is read-only and may be shared by
 * threads. Ownership: template_new() returns a new template (template_free); it keeps copies
 * of what it needs, nothing of its arguments.
 */
#ifndef SG_CORE_TEMPLATE_H
#define SG_CORE_TEMPLATE_H

#include <stddef.h>

#define TEMPLATE_NAME_MAX 64

typedef struct template template;

/* Compiles text against the column names cols[0 .. ncols). Returns a new template, or NULL
 * with *err = SG_ENOTFOUND and the unknown variable's name copied (NUL-terminated, cut to
 * badcap) into bad. bad may be NULL when badcap is 0. */
template *template_new(const char *text, const char *const *cols, size_t ncols, char *bad,
                       size_t badcap, int *err);
/* Frees a template. NULL does nothing. */
void template_free(template *t);

/* Number of variables in the text (each occurrence counts). */
size_t template_vars(const template *t);
/* 1 when the text uses column col. */
int template_uses(const template *t, size_t col);

/* Renders the text with the values of one row: fields[i] (lens[i] bytes) is the value of
 * column i; a column at or beyond nfields renders as the empty string. The result goes into
 * *buf (grown with sg_xrealloc, *cap its size; both may start as NULL / 0), NUL-terminated.
 * Returns its length. */
size_t template_render(const template *t, const char *const *fields, const size_t *lens,
                       size_t nfields, char **buf, size_t *cap);

#endif
