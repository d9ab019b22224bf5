/*
 * ctl.h - what every part of smsctl shares: the global options, where the server's URL comes
 * from, and the small formatting helpers the commands use to print answers.
 *
 * smsctl runs one command and exits, on one thread. Strings in ctl_opts are borrowed from argv
 * or the environment and live as long as the process. Functions returning char * return new
 * strings (the caller frees them); functions returning int return 0 or a negative SG_E* code
 * after having printed the reason on stderr, prefixed "smsctl: ".
 *
 * Command functions (admin.h, sms.h) return 0 on success, SG_EINVAL when an argument was
 * unusable (smsctl exits 2 and prints the command's usage) and any other SG_E* code for an API
 * or network failure (smsctl exits 1).
 */
#ifndef SG_CTL_CTL_H
#define SG_CTL_CTL_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1  /* the API answered an error, or it could not be reached */
#define CTL_EXIT_USAGE 2 /* the command line was wrong */

#define CTL_DEFAULT_TIMEOUT 30 /* seconds, for a whole request */

/* Global options, filled by main from the command line and the environment. */
typedef struct ctl_opts {
    const char *data_dir; /* --data, SMSGATE_DATA, or "./data"; never NULL */
    const char *url;      /* --url, or NULL: then SMSGATE_URL, then DATA/smsgated.url */
    const char *cacert;   /* --cacert or SMSGATE_CA_FILE, or NULL (system CAs) */
    long timeout_s;       /* --timeout, > 0 */
    int json;             /* --json: print the server's JSON answer as is */
    int insecure;         /* --insecure: do not verify the server's TLS certificate */
} ctl_opts;

/* Fills o (all of it) from the global options given, NULL or 0 for those absent, then the
 * environment: data_dir from --data, else SMSGATE_DATA, else "./data"; cacert from --cacert,
 * else SMSGATE_CA_FILE; timeout_s is CTL_DEFAULT_TIMEOUT (the caller parses --timeout). */
void ctl_opts_init(ctl_opts *o, const char *data, const char *url, const char *cacert, int json,
                   int insecure);

/* One option of a command's table: --name, recorded under id (an index into ctl_args' seen and
 * val arrays); value is 1 when it takes a value ("--name V" or "--name=V"). */
typedef struct ctl_optdef {
    const char *name;
    int id, value;
} ctl_optdef;

/* The command line of one command, split by ctl_args_parse(). The caller sets seen and val (as
 * many entries as option ids, zeroed) and, for an option that may be repeated, repeat_id and
 * repeated (argc + 1 entries); ctl_args_parse() fills the rest. */
typedef struct ctl_args {
    int *seen;              /* seen[id] = 1 for each option given */
    const char **val;       /* val[id]: the value of its last occurrence, borrowed from argv */
    const char **pos;       /* the positional words in order (pos[0] is the command), new */
    int npos;
    int repeat_id;          /* with repeated != NULL: every value of this option is kept */
    const char **repeated;  /* the values of repeat_id in order, or NULL */
    size_t nrepeated;
    char err[256];          /* the first error met, "" when none */
} ctl_args;

#define CTL_ARGS_NEGATIVE 1u /* a word such as "-5" or "-.5" is positional, not an option */

/* Splits argv[1..argc-1] into options of defs and positional words: options go before or after
 * the words, "--" ends them, "-h" is help_id. An unknown option, a missing value or a value
 * given to a flag is recorded in a->err (the first one only) and parsing goes on, so that
 * --help is still found. a->pos is allocated here (argc + 1 entries); the caller frees it. */
void ctl_args_parse(int argc, char **argv, const ctl_optdef *defs, size_t ndefs, int help_id,
                    unsigned flags, ctl_args *a);

/* Prints "smsctl: " + the formatted message + "\n" on stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns the server's base URL ("http://127.0.0.1:8080", no trailing slash), new, from
 * --url, else SMSGATE_URL, else the first line of DATA/smsgated.url. Returns NULL after
 * printing why when none is usable. */
char *ctl_server_url(const ctl_opts *o);

/* Returns the first line of a small text file, trimmed of surrounding white space, new.
 * Returns NULL and sets errno when the file cannot be read (ENODATA when it is empty). */
char *ctl_read_line(const char *path);

/* Percent-encodes one path segment: every byte except A-Z a-z 0-9 - . _ ~ becomes %XX
 * ("My Sender" -> "My%20Sender", "+336" -> "%2B336"). Returns a new string. */
char *ctl_segment(const char *s);

/* Sets obj[key] to the string s, or nothing when s is NULL. Returns 0, or SG_EINVAL after
 * printing "the <what> is not valid UTF-8" when s is not (obj is left as it was). */
int ctl_json_set_text(json_t *obj, const char *key, const char *s, const char *what);

/* Returns a printable form of a JSON scalar: a string's own text (borrowed from v), or a number
 * in its shortest exact form, "true"/"false", or "-" for null/absent, written into buf.
 * Arrays and objects are printed compact (truncated to n). */
const char *ctl_fmt(const json_t *v, char *buf, size_t n);

/* Prints a table: rows of ncols cells, row 0 being the header; every column but the last is
 * padded to its widest cell, columns are separated by two spaces. */
void ctl_table_print(FILE *f, const char *const *cells, size_t nrows, size_t ncols);

#endif
