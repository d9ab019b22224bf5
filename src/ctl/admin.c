/*
 * admin.c - the operator commands of smsctl, over the admin API (docs/admin-api.md).
 *
 * Design: each command is one call to {server URL}/admin/... carrying
 * "Authorization: Bearer TOKEN", made by ctl_admin_call(), which also decides between printing the
 * raw answer (--json) and handing the parsed answer back for the human-readable form. The token
 * is SMSGATE_ADMIN_TOKEN, else the first line of DATA/admin.token; the server URL comes from
 * ctl_server_url(). Path segments taken from the command line (service names, sender names,
 * consumer keys) are percent-encoded, since a sender may contain spaces.
 *
 * Invariants:
 *   1. The token only ever goes into the Authorization header; it is never printed, not even
 *      in errors (URLs in error messages carry no secret).
 *   2. The human-readable forms print only fields the contract documents, and fall back to the
 *      JSON itself when an answer has an unexpected shape, so nothing is silently dropped.
 */
#include "ctl/admin.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/http.h"
#include "util/jsonfmt.h"
#include "util/util.h"

#define NUM_BUF 64

/* Returns the admin token, new, and where it came from in *from (new); NULL after printing
 * why when there is none. */
static char *admin_token(const ctl_opts *o, char **from) {
    const char *env = getenv("SMSGATE_ADMIN_TOKEN");
    if (env && *env) {
        *from = sg_xstrdup("SMSGATE_ADMIN_TOKEN");
        return sg_xstrdup(env);
    }
    *from = sg_xasprintf("%s/admin.token", o->data_dir);
    char *tok = ctl_read_line(*from);
    if (!tok) {
        ctl_err("no admin token: cannot read %s (%s); set SMSGATE_ADMIN_TOKEN or point --data "
                "at smsgated's data directory",
                *from, errno == ENODATA ? "empty file" : strerror(errno));
        free(*from);
        *from = NULL;
    }
    return tok;
}

int ctl_admin_call(const ctl_opts *o, const char *method, const char *path, json_t *body,
                   json_t **out) {
    *out = NULL;
    char *from = NULL;
    char *token = admin_token(o, &from);
    if (!token) return SG_EIO;
    char *base = ctl_server_url(o);
    if (!base) {
        free(token);
        free(from);
        return SG_EIO;
    }
    char *url = sg_xasprintf("%s%s", base, path);
    char *h_auth = sg_xasprintf("Authorization: Bearer %s", token);
    const char *headers[] = {h_auth, "Content-Type: application/json",
                             "Accept: application/json", NULL};
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (body && !text) {
        ctl_err("cannot encode the request body as JSON");
        free(h_auth);
        free(url);
        free(base);
        free(token);
        free(from);
        return SG_EINVAL;
    }
    ctl_http_resp resp;
    int rc = ctl_http_request(o, method, url, headers, text, text ? strlen(text) : 0, &resp);
    if (rc == 0) {
        rc = ctl_http_answer(o, &resp, out);
        if (resp.status == 401)
            ctl_err("the admin token (from %s) was refused by %s", from, base);
        ctl_http_resp_fini(&resp);
    }
    free(text);
    free(h_auth);
    free(url);
    free(base);
    free(token);
    free(from);
    return rc;
}

int ctl_service_call(const ctl_opts *o, const char *method, const char *service,
                     const char *rest, json_t *body, json_t **out) {
    char *sn = ctl_segment(service);
    char *path = sg_xasprintf("/admin/services/%s/%s", sn, rest);
    int rc = ctl_admin_call(o, method, path, body, out);
    free(path);
    free(sn);
    return rc;
}

json_t *ctl_json_num(double d) {
    if (d == floor(d) && fabs(d) < 9007199254740992.0) return json_integer((json_int_t)d);
    return json_real(d);
}

void ctl_print_json(const json_t *j) {
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY | SG_JSON_REALS);
    fputc('\n', stdout);
}

void ctl_rows_print(const json_t *ans, size_t ncols, const char *const *heads,
                    const char *const *keys, const char *empty) {
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
        return;
    }
    if (json_array_size(ans) == 0) {
        printf("%s\n", empty);
        return;
    }
    size_t nrows = json_array_size(ans) + 1;
    const char **cells = sg_xcalloc(nrows * ncols, sizeof *cells);
    char (*bufs)[NUM_BUF] = sg_xcalloc(nrows * ncols, NUM_BUF);
    for (size_t c = 0; c < ncols; c++) cells[c] = heads[c];
    size_t i;
    json_t *e;
    json_array_foreach(ans, i, e) {
        for (size_t c = 0; c < ncols; c++) {
            size_t k = (i + 1) * ncols + c;
            cells[k] = ctl_fmt(json_object_get(e, keys[c]), bufs[k], NUM_BUF);
        }
    }
    ctl_table_print(stdout, cells, nrows, ncols);
    free(bufs);
    free(cells);
}

int ctl_admin_health(const ctl_opts *o) {
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", "/admin/health", NULL, &ans);
    if (rc || !ans) return rc;
    char b1[NUM_BUF], b2[NUM_BUF];
    if (json_is_object(ans))
        printf("%s (version %s)\n", ctl_fmt(json_object_get(ans, "status"), b1, sizeof b1),
               ctl_fmt(json_object_get(ans, "version"), b2, sizeof b2));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

/* GET of an admin path with one segment, path_fmt's only "%s", escaped from seg; as
 * ctl_admin_call. */
static int get_one(const ctl_opts *o, const char *path_fmt, const char *seg, json_t **ans) {
    char *esc = ctl_segment(seg);
    char *path = sg_xasprintf(path_fmt, esc);
    int rc = ctl_admin_call(o, "GET", path, NULL, ans);
    free(path);
    free(esc);
    return rc;
}

/* Prints "key: value" for each of keys (NULL-terminated) of an object answer, or the answer as
 * JSON when it is not an object; takes ownership of ans. */
static void print_fields(json_t *ans, const char *const *keys) {
    if (json_is_object(ans)) {
        char buf[NUM_BUF];
        for (; *keys; keys++)
            printf("%s: %s\n", *keys, ctl_fmt(json_object_get(ans, *keys), buf, sizeof buf));
    } else {
        ctl_print_json(ans);
    }
    json_decref(ans);
}

int ctl_admin_account_create(const ctl_opts *o, const char *name, const double *credits) {
    json_t *body = json_object();
    json_t *jname = json_string(name);
    if (!jname) {
        ctl_err("account name '%s' is not valid UTF-8", name);
        json_decref(body);
        return SG_EINVAL;
    }
    json_object_set_new(body, "name", jname);
    if (credits) json_object_set_new(body, "credits", ctl_json_num(*credits));
    json_t *ans;
    int rc = ctl_admin_call(o, "POST", "/admin/accounts", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    static const char *const keys[] = {"serviceName", "applicationKey", "applicationSecret",
                                       "consumerKey", NULL};
    print_fields(ans, keys);
    return 0;
}

int ctl_admin_account_list(const ctl_opts *o) {
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", "/admin/accounts", NULL, &ans);
    if (rc || !ans) return rc;
    static const char *const heads[] = {"ACCOUNT", "SERVICE", "CREDITS"};
    static const char *const keys[] = {"account", "serviceName", "creditsLeft"};
    ctl_rows_print(ans, 3, heads, keys, "no accounts");
    json_decref(ans);
    return 0;
}

/* "route#slot,route#slot" of a node's slots, in buf. */
static const char *slots_text(const json_t *slots, char *buf, size_t n) {
    size_t i, len = 0;
    json_t *s;
    buf[0] = '\0';
    json_array_foreach(slots, i, s) {
        int w = snprintf(buf + len, n - len, "%s%s#%lld", i ? "," : "",
                         json_string_value(json_object_get(s, "route")),
                         (long long)json_integer_value(json_object_get(s, "slot")) + 1);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
    return len ? buf : "-";
}

int ctl_admin_node_list(const ctl_opts *o) {
    json_t *ans;
    int rc = ctl_admin_call(o, "GET", "/admin/nodes", NULL, &ans);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("no nodes\n");
    } else {
        enum { NC = 7, CELL = 256 };
        static const char *const heads[NC] = {"NODE", "STATE", "ADDRESS", "HEARTBEAT",
                                              "MESSAGES", "CALLBACKS", "BINDS"};
        static const char *const keys[NC] = {"name", "state", "address", NULL,
                                             "messagesLeased", "callbacksLeased", NULL};
        size_t nrows = json_array_size(ans) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[CELL] = sg_xcalloc(nrows * NC, CELL);
        for (size_t c = 0; c < NC; c++) cells[c] = heads[c];
        size_t i;
        json_t *e;
        json_array_foreach(ans, i, e) {
            for (size_t c = 0; c < NC; c++) {
                size_t k = (i + 1) * NC + c;
                if (keys[c]) {
                    cells[k] = ctl_fmt(json_object_get(e, keys[c]), bufs[k], CELL);
                } else if (c == 3) {
                    long long age = json_integer_value(json_object_get(e, "heartbeatAgeMs"));
                    snprintf(bufs[k], CELL, "%.1fs ago", (double)age / 1000);
                    cells[k] = bufs[k];
                } else {
                    cells[k] = slots_text(json_object_get(e, "slots"), bufs[k], CELL);
                }
            }
        }
        ctl_table_print(stdout, cells, nrows, NC);
        free(bufs);
        free(cells);
    }
    json_decref(ans);
    return 0;
}

int ctl_admin_moderate(const ctl_opts *o, const char *service, const char *collection,
                       const char *what, const char *name, const char *status,
                       const char *comment) {
    json_t *body = json_object();
    json_object_set_new(body, "status", json_string(status));
    if (ctl_json_set_text(body, "comment", comment, "comment")) {
        json_decref(body);
        return SG_EINVAL;
    }
    char *seg = ctl_segment(name);
    char *rest = sg_xasprintf("%s/%s", collection, seg);
    json_t *ans;
    int rc = ctl_service_call(o, "PUT", service, rest, body, &ans);
    free(rest);
    free(seg);
    json_decref(body);
    if (rc || !ans) return rc;
    printf("%s: %s '%s' status set to %s\n", service, what, name, status);
    json_decref(ans);
    return 0;
}

int ctl_admin_sender_set(const ctl_opts *o, const char *service, const char *sender,
                         const char *status, const char *comment) {
    return ctl_admin_moderate(o, service, "senders", "sender", sender, status, comment);
}

int ctl_admin_sender_list(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = get_one(o, "/admin/services/%s/senders", service, &ans);
    if (rc || !ans) return rc;
    if (!json_is_array(ans)) {
        ctl_print_json(ans);
    } else if (json_array_size(ans) == 0) {
        printf("%s: no senders\n", service);
    } else {
        enum { NC = 4 };
        size_t nrows = json_array_size(ans) + 1;
        const char **cells = sg_xcalloc(nrows * NC, sizeof *cells);
        char (*bufs)[NUM_BUF] = sg_xcalloc(nrows * NC, NUM_BUF);
        char **notes = sg_xcalloc(nrows, sizeof *notes);
        cells[0] = "SENDER";
        cells[1] = "STATUS";
        cells[2] = "COMMENT";
        cells[3] = "REFUSED BEFORE";
        size_t i;
        json_t *s;
        json_array_foreach(ans, i, s) {
            size_t k = (i + 1) * NC;
            cells[k] = ctl_fmt(json_object_get(s, "sender"), bufs[k], NUM_BUF);
            cells[k + 1] = ctl_fmt(json_object_get(s, "status"), bufs[k + 1], NUM_BUF);
            json_t *cm = json_object_get(s, "comment");
            cells[k + 2] = json_is_string(cm) ? ctl_fmt(cm, bufs[k + 2], NUM_BUF) : "-";
            /* The latest earlier refusal: its date and the operator's comment. */
            json_t *before = json_object_get(s, "refusedBefore");
            size_t nb = json_array_size(before);
            if (nb) {
                json_t *last = json_array_get(before, nb - 1);
                const char *when = json_string_value(json_object_get(last, "datetime"));
                const char *why = json_string_value(json_object_get(last, "comment"));
                notes[i] = sg_xasprintf("%zux, last %.10s: %s", nb, when ? when : "",
                                        why ? why : "(no comment)");
                cells[k + 3] = notes[i];
            } else {
                cells[k + 3] = "-";
            }
        }
        ctl_table_print(stdout, cells, nrows, NC);
        for (size_t r = 0; r < nrows; r++) free(notes[r]);
        free(notes);
        free(bufs);
        free(cells);
    }
    json_decref(ans);
    return 0;
}

int ctl_admin_credential_set(const ctl_opts *o, const char *consumer_key, const char *action) {
    char *ck = ctl_segment(consumer_key);
    char *path = sg_xasprintf("/admin/credentials/%s/%s", ck, action);
    json_t *ans;
    int rc = ctl_admin_call(o, "POST", path, NULL, &ans);
    free(path);
    free(ck);
    if (rc || !ans) return rc;
    printf("consumer key %s: %s\n", consumer_key,
           strcmp(action, "validate") == 0 ? "validated" : "refused");
    json_decref(ans);
    return 0;
}

int ctl_admin_credential_show(const ctl_opts *o, const char *consumer_key) {
    json_t *ans;
    int rc = get_one(o, "/admin/credentials/%s", consumer_key, &ans);
    if (rc || !ans) return rc;
    static const char *const keys[] = {"consumerKey", "status", "creation", "expiration",
                                       "validationDeadline", NULL};
    print_fields(ans, keys);
    return 0;
}

/* "default" -> JSON null; a whole number >= 0 -> integer; NULL after printing why. */
static json_t *limit_value(const char *what, const char *v) {
    if (!strcmp(v, "default")) return json_null();
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > 10000000) {
        ctl_err("%s must be 'default' or a whole number from 0 to 10000000, not '%s'", what, v);
        return NULL;
    }
    return json_integer(n);
}

int ctl_admin_account_limit(const ctl_opts *o, const char *name, const char *rate,
                            const char *burst) {
    json_t *body = NULL;
    if (rate) {
        json_t *r = limit_value("RATE", rate), *b = r ? limit_value("BURST", burst) : NULL;
        if (!r || !b) {
            json_decref(r);
            return SG_EINVAL;
        }
        body = json_pack("{s:o, s:o}", "rate", r, "burst", b);
    }
    char *an = ctl_segment(name);
    char *path = sg_xasprintf("/admin/accounts/%s/limits", an);
    json_t *ans;
    int rc = ctl_admin_call(o, body ? "PUT" : "GET", path, body, &ans);
    free(path);
    free(an);
    json_decref(body);
    if (rc || !ans) return rc;
    if (json_is_object(ans)) {
        char b1[NUM_BUF], b2[NUM_BUF];
        json_t *jr = json_object_get(ans, "rate"), *jb = json_object_get(ans, "burst");
        printf("%s: rate %s, burst %s\n", name,
               json_is_null(jr) ? "default" : ctl_fmt(jr, b1, sizeof b1),
               json_is_null(jb) ? "default" : ctl_fmt(jb, b2, sizeof b2));
    } else {
        ctl_print_json(ans);
    }
    json_decref(ans);
    return 0;
}

int ctl_admin_service_credit(const ctl_opts *o, const char *service, double amount,
                             const char *reason) {
    json_t *body = json_object();
    json_object_set_new(body, "credits", ctl_json_num(amount));
    if (ctl_json_set_text(body, "reason", reason, "reason")) {
        json_decref(body);
        return SG_EINVAL;
    }
    json_t *ans;
    int rc = ctl_service_call(o, "POST", service, "credits", body, &ans);
    json_decref(body);
    if (rc || !ans) return rc;
    char buf[NUM_BUF];
    if (json_is_object(ans))
        printf("creditsLeft: %s\n", ctl_fmt(json_object_get(ans, "creditsLeft"), buf, sizeof buf));
    else
        ctl_print_json(ans);
    json_decref(ans);
    return 0;
}

int ctl_admin_ledger(const ctl_opts *o, const char *service) {
    json_t *ans;
    int rc = ctl_service_call(o, "GET", service, "ledger", NULL, &ans);
    if (rc || !ans) return rc;
    static const char *const keys[] = {"id", "datetime", "amount", "kind", "balance", "ref",
                                       "note"};
    static const char *const heads[] = {"ID", "DATETIME", "AMOUNT", "KIND", "BALANCE", "REF",
                                        "NOTE"};
    ctl_rows_print(ans, 7, heads, keys, "no ledger entries");
    json_decref(ans);
    return 0;
}
