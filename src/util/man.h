/*
 * man.h - writing man pages (roff, the man macros) from the texts the programs already print
 * for --help, so that the page and the help cannot say different things.
 *
 * Owns nothing. Used by `smsgated --man` (util/config.c's table) and `smsctl --man`
 * (ctl/usage.c's texts); the Makefile turns their output into build/man/smsgated.8 and smsctl.1.
 */
#ifndef SG_MAN_H
#define SG_MAN_H

#include <stdio.h>

/* Writes s (which may span lines) as roff text: backslashes escaped, '-' written as "\-" (the
 * ASCII hyphen-minus, so options copy and paste as typed), and a '.' or '\'' that starts a line
 * protected so it is not read as a request. */
void sg_man_puts(FILE *out, const char *s);

/* Writes a plain help text as paragraphs. Paragraphs are separated by blank lines. One whose
 * lines all start at the left margin is filled text (roff reflows it to the reader's width);
 * one with an indented line is a table or a list laid out with spaces and is kept line for
 * line, indented by the page (so columns stay aligned), after its first line when that line is
 * a title ending with ':'. */
void sg_man_text(FILE *out, const char *text);

#endif
