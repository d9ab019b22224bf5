/*
 * ctl.c - shared helpers of the smsctl client: splitting a command's options, finding the
 * server, percent-encoding path segments, printing JSON values and tables.
 *
 * Design: smsctl is a short-lived process, so nothing here caches; each helper reads the
 * environment or the data directory when asked. The order in which a setting is looked up is
 * the one documented in docs/smsctl.md and docs/admin-api.md:
 *   server URL: --url, SMSGATE_URL, DATA/smsgated.url.
 *
 * Invariants:
 *   1. Every URL returned by ctl_server_url() starts with http:// or https:// and has no
 *      trailing '/', so callers append "/admin/..." or "/1.0" without doubling slashes.
 *   2. Path segments built from user input always go through ctl_segment(), so what is signed
 *      is exactly what goes on the wire (curl is told not to rewrite the path, see http.c).
 */
#include "ctl/ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/jsonfmt.h"
#include "util/util.h"

#define CTL_LINE_MAX 4096 /* longest first line read from a data-directory file */

void ctl_err(const char *fmt, ...) {
    va_list ap;
    fputs("smsctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void ctl_opts_init(ctl_opts *o, const char *data, const char *url, const char *cacert, int json,
                   int insecure) {
    const char *env_data = getenv("SMSGATE_DATA"), *env_ca = getenv("SMSGATE_CA_FILE");
    memset(o, 0, sizeof *o);
    o->data_dir = data ? data : env_data && *env_data ? env_data : "./data";
    o->url = url;
    o->cacert = cacert ? cacert : env_ca && *env_ca ? env_ca : NULL;
    o->json = json;
    o->insecure = insecure;
    o->timeout_s = CTL_DEFAULT_TIMEOUT;
}

static int looks_negative_number(const char *s) {
    return s[0] == '-' && (isdigit((unsigned char)s[1]) ||
                           (s[1] == '.' && isdigit((unsigned char)s[2])));
}

void ctl_args_parse(int argc, char **argv, const ctl_optdef *defs, size_t ndefs, int help_id,
                    unsigned flags, ctl_args *a) {
    int only_pos = 0;
    a->pos = sg_xcalloc((size_t)argc + 1, sizeof *a->pos);
    a->npos = 0;
    a->err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (only_pos || w[0] != '-' || w[1] == '\0' ||
            ((flags & CTL_ARGS_NEGATIVE) && looks_negative_number(w))) {
            a->pos[a->npos++] = w;
            continue;
        }
        if (!strcmp(w, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(w, "-h")) {
            a->seen[help_id] = 1;
            continue;
        }
        const char *nm = w + 2, *eq = strchr(nm, '=');
        size_t nl = eq ? (size_t)(eq - nm) : strlen(nm);
        size_t k = 0;
        while (w[1] == '-' && k < ndefs &&
               !(strlen(defs[k].name) == nl && !strncmp(defs[k].name, nm, nl)))
            k++;
        if (w[1] != '-' || k == ndefs) {
            if (!a->err[0]) snprintf(a->err, sizeof a->err, "unknown option '%s'", w);
            continue;
        }
        const char *v = NULL;
        if (defs[k].value) {
            if (eq) v = eq + 1;
            else if (i + 1 < argc) v = argv[++i];
            else {
                if (!a->err[0])
                    snprintf(a->err, sizeof a->err, "option --%s needs a value", defs[k].name);
                continue;
            }
        } else if (eq) {
            if (!a->err[0])
                snprintf(a->err, sizeof a->err, "option --%s takes no value", defs[k].name);
            continue;
        }
        a->seen[defs[k].id] = 1;
        a->val[defs[k].id] = v;
        if (a->repeated && defs[k].id == a->repeat_id) a->repeated[a->nrepeated++] = v;
    }
}

char *ctl_read_line(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[CTL_LINE_MAX];
    char *got = fgets(line, sizeof line, f);
    int saved = errno;
    fclose(f);
    if (!got) {
        errno = saved ? saved : ENODATA;
        return NULL;
    }
    char *s = line, *e = line + strlen(line);
    while (*s && isspace((unsigned char)*s)) s++;
    while (e > s && isspace((unsigned char)e[-1])) e--;
    if (e == s) {
        errno = ENODATA;
        return NULL;
    }
    return sg_xstrndup(s, (size_t)(e - s));
}

static int has_http_scheme(const char *u) {
    return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0;
}

char *ctl_server_url(const ctl_opts *o) {
    const char *env = getenv("SMSGATE_URL");
    char *url, *from;
    if (o->url && *o->url) {
        url = sg_xstrdup(o->url);
        from = sg_xstrdup("--url");
    } else if (env && *env) {
        url = sg_xstrdup(env);
        from = sg_xstrdup("SMSGATE_URL");
    } else {
        from = sg_xasprintf("%s/smsgated.url", o->data_dir);
        url = ctl_read_line(from);
        if (!url) {
            ctl_err("no server URL: cannot read %s (%s); give --url URL, set SMSGATE_URL, or "
                    "point --data at smsgated's data directory",
                    from, errno == ENODATA ? "empty file" : strerror(errno));
            free(from);
            return NULL;
        }
    }
    size_t n = strlen(url);
    while (n > 0 && (url[n - 1] == '/' || isspace((unsigned char)url[n - 1]))) url[--n] = '\0';
    if (!has_http_scheme(url) || !strstr(url, "://")[3] || strpbrk(url, " \t\r\n")) {
        ctl_err("server URL '%s' (from %s) is not an http:// or https:// URL", url, from);
        free(url);
        free(from);
        return NULL;
    }
    free(from);
    return url;
}

int ctl_json_set_text(json_t *obj, const char *key, const char *s, const char *what) {
    if (!s) return 0;
    json_t *v = json_string(s);
    if (!v) {
        ctl_err("the %s is not valid UTF-8", what);
        return SG_EINVAL;
    }
    json_object_set_new(obj, key, v);
    return 0;
}

char *ctl_segment(const char *s) {
    static const char hx[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = sg_xmalloc(3 * n + 1), *p = out;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '.' || *c == '_' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hx[*c >> 4];
            *p++ = hx[*c & 15];
        }
    }
    *p = '\0';
    return out;
}

/* Shortest "%.*g" that reads back as the same double, so 94.5 prints "94.5", not
 * "94.500000000000000" and 0.1 prints "0.1". */
/* A real as the server prints it (util/jsonfmt.h): 0.14, not 0.14000000000000001. */
static void fmt_real(double d, char *buf, size_t n) {
    snprintf(buf, n, "%.*g", SG_JSON_REAL_DIGITS, d);
}

const char *ctl_fmt(const json_t *v, char *buf, size_t n) {
    if (!v || json_is_null(v)) {
        snprintf(buf, n, "-");
    } else if (json_is_string(v)) {
        return json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        fmt_real(json_real_value(v), buf, n);
    } else if (json_is_boolean(v)) {
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | SG_JSON_REALS);
        snprintf(buf, n, "%s", s ? s : "?");
        free(s);
    }
    return buf;
}

void ctl_table_print(FILE *f, const char *const *cells, size_t nrows, size_t ncols) {
    size_t *w = sg_xcalloc(ncols, sizeof *w);
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            size_t len = strlen(cells[r * ncols + c]);
            if (len > w[c]) w[c] = len;
        }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const char *cell = cells[r * ncols + c];
            if (c + 1 < ncols)
                fprintf(f, "%-*s  ", (int)w[c], cell);
            else
                fprintf(f, "%s\n", cell);
        }
    }
    free(w);
}
