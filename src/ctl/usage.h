/*
 * usage.h - smsctl's help texts: the general usage and one text per command.
 *
 * Owns only static strings. "smsctl --help" and "smsctl help COMMAND" print them on stdout;
 * usage errors print the same text on stderr after the error line.
 */
#ifndef SG_CTL_USAGE_H
#define SG_CTL_USAGE_H

#include <stdio.h>

/* Prints the help of command cmd ("account", "send", ...) to f, or the general usage when cmd
 * is NULL. Returns 0, or SG_ENOTFOUND (printing nothing) when cmd is not a command. */
int ctl_usage_print(FILE *f, const char *cmd);

/* Prints the man page smsctl(1) (roff) made of the same texts: the general usage, then each
 * command's. For `smsctl --man` (not listed in the help), which the Makefile runs. */
void ctl_usage_man(FILE *f);

#endif
