/*
 * campaign.c - loading receiver lists and sending templated messages, on the loop thread (see
 * campaign.h; the store side is store/sqlite_campaigns.c, the API side api/receivers.c,
 * api/documents.c and api/batches.c).
 *
 * Design. A load pulls bytes from its source, parses them with the streaming CSV reader
 * (core/csv), turns each record into a row (number normalised with core/phone, every value
 * checked to be UTF-8 text), and ships rows to the store BATCH_ROWS at a time (list_rows). At
 * most LOAD_INFLIGHT batches are on their way; until one comes back the source is held:
 *   csvUrl     the curl transfer is paused (CURL_WRITEFUNC_PAUSE) and resumed with
 *              curl_easy_pause() from the loop once the store took a batch;
 *   document   the next stored slice (64 KiB) is read only then (store_document_read);
 *   receivers  the next BATCH_ROWS entries are converted only then.
 * So a load holds at most a few thousand rows and one slice of input, whatever the file size,
 * and the loop and the store thread work in parallel (the loop normalises the next batch while
 * the store inserts the previous one). The first record names the columns: a column called
 * "number" (any case) holds the receivers, else the first one; a file whose first record is
 * already a valid number has no header, and its columns are named 1, 2, 3...
 *
 * States of a load and the function performing each transition:
 *
 *   campaign_load()   on_begun()           source ended, batches stored: finish()
 *   -------> BEGIN -------------> READING ----------------------------------> FINISHING --> done
 *              |                     |  fail(): an error, or campaign_stop()      | on_finished()
 *              +---------------------+-----------> FAILING -- nothing in flight --+--> done
 *                                                           finish_failed(): list dropped
 * pump() is the only function that decides what a load does next; it never runs inside a curl
 * callback (on_data() only parses and queues), so a load is never freed from its own callback
 * chain.
 *
 * Invariants:
 *  1. inflight counts the row batches sent to the store and not yet back; a load ends only
 *     when it is 0, no slice read is in flight and its transfer is gone.
 *  2. A load ends exactly once, through done(): its callback runs, then it is freed.
 *  3. A list that will not be used (a failed load, a failed send of a list loaded for it) is
 *     dropped, and the purge deletes its rows a slice at a time.
 */
#include "campaign/campaign.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/csv.h"
#include "core/gsm.h"
#include "core/phone.h"
#include "notify/notify.h"
#include "util/log.h"
#include "util/util.h"

#define LOG "campaign"
#define BATCH_ROWS 1000          /* rows per list_rows operation */
#define LOAD_INFLIGHT 2          /* row batches on their way to the store, per load */
#define DOC_READ_BYTES (64 * 1024) /* one stored slice (store/sqlite_campaigns.c) */
#define PURGE_ROWS 5000          /* rows deleted per purge operation */
#define HOUSEKEEPING_MS 60000
#define CONNECT_TIMEOUT_MS 10000
#define MAX_REDIRS 3L

enum { SRC_URL = 1, SRC_DOC = 2, SRC_ARRAY = 3 };

typedef struct load load;

typedef struct row_batch {
    load *l;
    store_list_req req;
    store_list_row rows[BATCH_ROWS];
    char *mem[BATCH_ROWS]; /* one allocation per row holds its strings */
} row_batch;

struct load {
    campaign *cp;
    campaign_load_req *req;
    campaign_cb cb;
    void *arg;
    int src;
    csv_reader *csv;
    /* the columns, from the first record */
    int have_cols, header, number_col;
    char **cols;
    size_t ncols;
    row_batch *cur;
    int begun, inflight, source_done, finishing, rc;
    int64_t rows, bytes;
    store_list_req begin, fin;
    char *columns_json;
    /* csvUrl */
    CURL *easy;
    notify_guard guard;
    int paused;
    char curl_err[CURL_ERROR_SIZE];
    /* document */
    store_document_req doc;
    int doc_reading;
    int64_t doc_seq;
    /* receivers */
    size_t next;
    load *prev, *nextl;
};

struct campaign {
    struct event_base *base;
    store *st;
    dispatch *d;
    campaign_options opt;
    char *region;
    CURLM *multi;
    struct event *curl_timer, *purge_ev, *tick_ev;
    load *loads;
    int stopping, purging, purge_again, recovered;
    store_list_purge_req purge;
};

static void pump(load *l);

/* ---- ending a load ---- */

static void done(load *l, int rc) {
    campaign *cp = l->cp;
    if (l->prev) l->prev->nextl = l->nextl;
    else cp->loads = l->nextl;
    if (l->nextl) l->nextl->prev = l->prev;
    campaign_cb cb = l->cb;
    void *arg = l->arg;
    csv_reader_free(l->csv);
    for (size_t i = 0; i < l->ncols; i++) free(l->cols[i]);
    free(l->cols);
    if (l->cur) {
        for (size_t i = 0; i < l->cur->req.count; i++) free(l->cur->mem[i]);
        free(l->cur);
    }
    free(l->columns_json);
    store_document_fini(&l->doc.doc);
    free(l->doc.out);
    free(l);
    cb(rc, arg); /* invariant 2 */
}

/* Records the first failure of a load (later ones are consequences). */
static void fail(load *l, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(load *l, int rc, const char *fmt, ...) {
    if (l->rc) return;
    l->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->req->error, sizeof l->req->error, fmt, ap);
    va_end(ap);
}

static void on_dropped(int rc, void *arg) {
    store_list_req *r = arg;
    if (rc)
        sg_log_error(LOG, "Dropping receiver list %lld failed (%s); it stays until the next "
                          "start.", (long long)r->list_id, sg_strerror(rc));
    free(r);
}

/* Drops a list that will not be used (invariant 3); the purge deletes its rows later. */
static void drop_list(campaign *cp, int64_t list_id) {
    if (!list_id) return;
    store_list_req *r = sg_xcalloc(1, sizeof *r);
    r->list_id = list_id;
    store_list_drop(cp->st, r, on_dropped, r);
    campaign_purge_kick(cp);
}

static void finish_failed(load *l) {
    l->finishing = 1;
    drop_list(l->cp, l->begin.list_id);
    done(l, l->rc);
}

/* ---- rows ---- */

static void on_rows(int rc, void *arg) {
    row_batch *b = arg;
    load *l = b->l;
    l->inflight--;
    if (rc == SG_ENOTFOUND) fail(l, SG_EIO, "the list was dropped while it was loading");
    else if (rc) fail(l, SG_EIO, "storing the rows failed (%s)", sg_strerror(rc));
    for (size_t i = 0; i < b->req.count; i++) free(b->mem[i]);
    free(b);
    pump(l);
}

static void flush(load *l) {
    row_batch *b = l->cur;
    if (!b || !b->req.count) return;
    l->cur = NULL;
    b->req.list_id = l->begin.list_id;
    b->req.rows = b->rows;
    l->inflight++;
    store_list_rows(l->cp->st, &b->req, on_rows, b);
}

static int valid_text(const char *s, size_t n) {
    gsm_info gi;
    return strlen(s) == n && gsm_analyze(s, n, &gi) == 0;
}

/* Turns one record into a row of the current batch. Returns 0, or SG_EINVAL when the list
 * is now too long (the load fails). */
static int add_row(load *l, int64_t line, const char *const *fields, const size_t *lens,
                   size_t n) {
    campaign *cp = l->cp;
    if (++l->rows > cp->opt.max_rows) {
        fail(l, SG_EINVAL, "the file has more than %lld rows (the server's limit)",
             (long long)cp->opt.max_rows);
        return SG_EINVAL;
    }
    const char *raw = (size_t)l->number_col < n ? fields[l->number_col] : "";
    const char *reason = NULL;
    char why[96];
    phone_info pi;
    memset(&pi, 0, sizeof pi);
    for (size_t i = 0; i < n && !reason; i++)
        if (!valid_text(fields[i], lens[i])) reason = "a value is not valid UTF-8 text";
    for (size_t i = l->ncols; i < n && !reason; i++) {
        if (lens[i] > 0) {
            snprintf(why, sizeof why, "%zu values where the header has %zu columns", n, l->ncols);
            reason = why;
        }
    }
    if (!reason && !*raw) reason = "no number";
    if (!reason && phone_normalize(raw, cp->region, &pi) != 0) reason = "not a valid phone number";

    /* One allocation: raw, receiver, region, reason, then the values. */
    size_t rawlen = strnlen(raw, 64), need = rawlen + 1 + PHONE_E164_MAX + 4;
    need += reason ? strlen(reason) + 1 : 0;
    size_t vals = 0;
    for (size_t i = 0; i < l->ncols; i++) vals += (i < n ? lens[i] : 0) + 1;
    char *mem = sg_xmalloc(need + vals), *p = mem;
    if (!l->cur) {
        l->cur = sg_xcalloc(1, sizeof *l->cur);
        l->cur->l = l;
    }
    row_batch *b = l->cur;
    store_list_row *w = &b->rows[b->req.count];
    b->mem[b->req.count++] = mem;
    memset(w, 0, sizeof *w);
    w->line = line;
    w->raw = p;
    memcpy(p, raw, rawlen);
    p[rawlen] = '\0';
    p += rawlen + 1;
    if (!reason) {
        w->receiver = p;
        p += snprintf(p, PHONE_E164_MAX, "%s", pi.e164) + 1;
        w->region = p;
        p += snprintf(p, 3, "%s", pi.region) + 1;
    } else {
        w->reason = p;
        p += snprintf(p, strlen(reason) + 1, "%s", reason) + 1;
    }
    w->fields = p;
    for (size_t i = 0; i < l->ncols; i++) {
        size_t m = i < n ? lens[i] : 0;
        if (m) memcpy(p, fields[i], m);
        p[m] = '\0';
        p += m + 1;
    }
    w->fields_len = (size_t)(p - w->fields);
    if (b->req.count == BATCH_ROWS) flush(l);
    return 0;
}

/* The first record: the header, or (when it starts with a valid number and no column is
 * called "number") the first row of a file without one. */
static int first_record(load *l, const csv_record *rec) {
    int num = -1;
    for (size_t i = 0; i < rec->n && num < 0; i++)
        if (!strcasecmp(rec->fields[i], "number")) num = (int)i;
    phone_info pi;
    l->have_cols = 1;
    l->ncols = rec->n;
    l->cols = sg_xcalloc(rec->n, sizeof *l->cols);
    if (num < 0 && phone_normalize(rec->fields[0], l->cp->region, &pi) == 0) {
        for (size_t i = 0; i < rec->n; i++) l->cols[i] = sg_xasprintf("%zu", i + 1);
        l->header = 0;
        l->number_col = 0;
        return add_row(l, (int64_t)rec->line, rec->fields, rec->lens, rec->n);
    }
    /* A header name that is not UTF-8 could not be shown (nor named by a #variable#). */
    for (size_t i = 0; i < rec->n; i++)
        l->cols[i] = gsm_utf8_repair(rec->fields[i], rec->lens[i], NULL);
    l->header = 1;
    l->number_col = num < 0 ? 0 : num;
    return 0;
}

static int on_record(void *arg, const csv_record *rec) {
    load *l = arg;
    if (l->rc) return SG_EINVAL;
    if (!l->have_cols) return first_record(l, rec);
    return add_row(l, (int64_t)rec->line, rec->fields, rec->lens, rec->n);
}

/* Feeds input; records a failure. */
static void feed(load *l, const char *data, size_t len) {
    if (l->rc) return;
    l->bytes += (int64_t)len;
    if (l->bytes > l->cp->opt.max_bytes) {
        fail(l, SG_EINVAL, "the file is larger than %lld bytes (the server's limit)",
             (long long)l->cp->opt.max_bytes);
        return;
    }
    int rc = csv_reader_feed(l->csv, data, len);
    if (rc && !l->rc) fail(l, SG_EINVAL, "the file is not a usable CSV: %s",
                           csv_reader_error(l->csv));
}

/* The source ended: the last record comes out. */
static void source_end(load *l) {
    if (!l->rc && l->csv) {
        int rc = csv_reader_finish(l->csv);
        if (rc && !l->rc)
            fail(l, SG_EINVAL, "the file is not a usable CSV: %s", csv_reader_error(l->csv));
    }
    if (!l->rc) flush(l);
    l->source_done = 1;
}

/* ---- csvUrl ---- */

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
    load *l = arg;
    size_t len = size * n;
    if (l->rc) return 0; /* aborts the transfer */
    if (l->inflight >= LOAD_INFLIGHT) {
        l->paused = 1; /* pump() resumes it once the store took a batch */
        return CURL_WRITEFUNC_PAUSE;
    }
    long status = 0;
    curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status && (status < 200 || status > 299)) {
        fail(l, SG_EINVAL, "the server answered HTTP %ld", status);
        return 0;
    }
    feed(l, p, len);
    return l->rc ? 0 : len;
}

static void start_download(load *l) {
    campaign *cp = l->cp;
    CURL *e = curl_easy_init();
    if (!e) {
        fail(l, SG_EIO, "cannot create a curl handle");
        return;
    }
    l->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, l->req->csv_url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, l);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, l);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cp->opt.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(cp->opt.timeout_ms < CONNECT_TIMEOUT_MS ? cp->opt.timeout_ms
                                                                    : CONNECT_TIMEOUT_MS));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, MAX_REDIRS);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cp->opt.max_bytes);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "smsgate/" SMSGATE_VERSION " (receivers CSV)");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, l->curl_err);
#if LIBCURL_VERSION_NUM >= 0x075700
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
    l->guard.allow_private = cp->opt.allow_private;
    notify_guard_apply(e, &l->guard);
    if (curl_multi_add_handle(cp->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        l->easy = NULL;
        fail(l, SG_EIO, "cannot start the download");
    }
}

static void abort_transfer(load *l) {
    if (!l->easy) return;
    curl_multi_remove_handle(l->cp->multi, l->easy);
    curl_easy_cleanup(l->easy);
    l->easy = NULL;
}

/* A transfer ended (from check_done, after curl_multi_socket_action returned). */
static void transfer_done(load *l, CURLcode res) {
    long status = 0;
    curl_easy_getinfo(l->easy, CURLINFO_RESPONSE_CODE, &status);
    abort_transfer(l);
    if (res == CURLE_OK) {
        if (status && (status < 200 || status > 299))
            fail(l, SG_EINVAL, "the server answered HTTP %ld", status);
        source_end(l);
    } else if (notify_guard_forbidden(&l->guard)) {
        fail(l, SG_EPERM, "it leads to %s, a link-local or cloud metadata address, which this "
                          "server never fetches", l->guard.refused);
    } else if (l->guard.refused[0]) {
        fail(l, SG_EPERM, "it leads to the private address %s, which this server does not fetch",
             l->guard.refused);
    } else if (res == CURLE_HTTP_RETURNED_ERROR) {
        fail(l, SG_EINVAL, "the server answered HTTP %ld", status);
    } else if (res == CURLE_OPERATION_TIMEDOUT) {
        fail(l, SG_EINVAL, "the download took longer than %lld s",
             (long long)(l->cp->opt.timeout_ms / 1000));
    } else if (res == CURLE_FILESIZE_EXCEEDED) {
        fail(l, SG_EINVAL, "the file is larger than %lld bytes (the server's limit)",
             (long long)l->cp->opt.max_bytes);
    } else {
        fail(l, SG_EINVAL, "the download failed: %s",
             l->curl_err[0] ? l->curl_err : curl_easy_strerror(res));
    }
    pump(l);
}

static void check_done(campaign *cp) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(cp->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        transfer_done((load *)priv, m->data.result);
    }
}

static void on_sock(evutil_socket_t fd, short what, void *arg) {
    campaign *cp = arg;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
                 ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(cp->multi, fd, action, &running);
    check_done(cp);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl asks, or stop watching it. */
static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e;
    campaign *cp = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) {
            event_free(ev);
            curl_multi_assign(cp->multi, s, NULL);
        }
        return 0;
    }
    short flags = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                  ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!ev) {
        ev = event_new(cp->base, s, flags, on_sock, cp);
        curl_multi_assign(cp->multi, s, ev);
    } else {
        event_del(ev);
        event_assign(ev, cp->base, s, flags, on_sock, cp);
    }
    event_add(ev, NULL);
    return 0;
}

static void on_curl_timeout(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    campaign *cp = arg;
    int running;
    curl_multi_socket_action(cp->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(cp);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    campaign *cp = userp;
    if (timeout_ms < 0) {
        evtimer_del(cp->curl_timer);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(cp->curl_timer, &tv);
    }
    return 0;
}

/* ---- documents ---- */

static void on_doc(int rc, void *arg) {
    load *l = arg;
    store_document_req *d = &l->doc;
    l->doc_reading = 0;
    if (rc == SG_ENOTFOUND) {
        fail(l, SG_ENOTFOUND, "no document '%.40s' exists for this account (or it expired)",
             l->req->document_id);
    } else if (rc) {
        fail(l, SG_EIO, "reading the document failed (%s)", sg_strerror(rc));
    } else if (!d->doc.uploaded) {
        fail(l, SG_EINVAL, "the document has no content yet: PUT the file to its putUrl first");
    } else {
        feed(l, d->out, d->out_len);
        l->doc_seq = d->next_seq;
        if (d->eof) source_end(l);
    }
    free(d->out);
    d->out = NULL;
    store_document_fini(&d->doc);
    pump(l);
}

static void read_doc(load *l) {
    store_document_req *d = &l->doc;
    memset(d, 0, sizeof *d);
    d->account_id = l->req->account_id;
    d->id = l->req->document_id;
    d->seq = l->doc_seq;
    d->max_bytes = DOC_READ_BYTES;
    l->doc_reading = 1;
    store_document_read(l->cp->st, d, on_doc, l);
}

/* ---- receivers given as an array ---- */

static void array_step(load *l) {
    size_t n = l->req->nreceivers;
    while (!l->rc && l->inflight < LOAD_INFLIGHT && l->next < n) {
        size_t end = l->next + BATCH_ROWS < n ? l->next + BATCH_ROWS : n;
        for (; l->next < end && !l->rc; l->next++) {
            const char *v = l->req->receivers[l->next];
            size_t len = strlen(v);
            add_row(l, (int64_t)l->next + 1, &v, &len, 1);
        }
        flush(l);
    }
    if (!l->rc && l->next == n) source_end(l);
}

/* ---- the load's steps ---- */

static void on_finished(int rc, void *arg) {
    load *l = arg;
    campaign_load_req *r = l->req;
    if (rc == 0) {
        r->list_id = l->begin.list_id;
        r->records = l->fin.records;
        r->valid = l->fin.valid;
        r->invalid = l->fin.invalid;
        r->created_ms = l->fin.created_ms;
        if (r->replace) campaign_purge_kick(l->cp); /* the slot's old list was dropped */
        done(l, 0);
        return;
    }
    if (rc == SG_ECONFLICT)
        snprintf(r->error, sizeof r->error, "the receivers slot %lld exists already",
                 (long long)r->slot);
    else if (rc == SG_ENOTFOUND)
        snprintf(r->error, sizeof r->error, "the receivers slot %lld no longer exists",
                 (long long)r->slot);
    else
        snprintf(r->error, sizeof r->error, "storing the list failed (%s)", sg_strerror(rc));
    l->rc = rc;
    drop_list(l->cp, l->begin.list_id);
    done(l, rc);
}

static void finish(load *l) {
    if (l->rows == 0) {
        fail(l, SG_EINVAL, "the file has no receiver rows");
        finish_failed(l);
        return;
    }
    l->finishing = 1;
    json_t *cols = json_array();
    for (size_t i = 0; i < l->ncols; i++) {
        json_t *s = json_string(l->cols[i]);
        json_array_append_new(cols, s ? s : json_string(""));
    }
    l->columns_json = json_dumps(cols, JSON_COMPACT);
    json_decref(cols);
    store_list_req *f = &l->fin;
    campaign_load_req *r = l->req;
    f->service_id = r->service_id;
    f->list_id = l->begin.list_id;
    f->columns_json = l->columns_json;
    f->number_col = l->number_col;
    f->separator = l->csv ? csv_reader_separator(l->csv) : ';';
    f->header = l->header;
    f->slot = r->slot;
    f->description = r->description;
    f->csv_url = r->csv_url;
    f->document_id = r->document_id;
    f->auto_update = r->auto_update;
    f->replace = r->replace;
    store_list_finish_idem(l->cp->st, f, r->idem, on_finished, l);
}

static void pump(load *l) {
    for (;;) {
        if (l->finishing) return;
        if (l->rc) {
            abort_transfer(l);
            if (!l->begun || l->inflight || l->doc_reading) return;
            finish_failed(l);
            return;
        }
        if (!l->begun) return;
        if (l->source_done) {
            if (!l->inflight) finish(l);
            return;
        }
        if (l->inflight >= LOAD_INFLIGHT) return;
        switch (l->src) {
        case SRC_URL:
            if (!l->easy) {
                start_download(l);
                if (l->rc) continue;
            } else if (l->paused) {
                l->paused = 0;
                curl_easy_pause(l->easy, CURLPAUSE_CONT); /* may call on_data at once */
            }
            return;
        case SRC_DOC:
            if (!l->doc_reading) read_doc(l);
            return;
        default:
            array_step(l);
            if (l->rc || l->source_done) continue;
            return;
        }
    }
}

static void on_begun(int rc, void *arg) {
    load *l = arg;
    l->begun = 1;
    if (rc) {
        l->begin.list_id = 0;
        fail(l, SG_EIO, "creating the list failed (%s)", sg_strerror(rc));
    }
    pump(l);
}

int campaign_load(campaign *cp, campaign_load_req *req, campaign_cb cb, void *arg) {
    int src = req->csv_url ? SRC_URL : req->document_id ? SRC_DOC : SRC_ARRAY;
    if (cp->stopping) {
        snprintf(req->error, sizeof req->error, "smsgated is stopping");
        return SG_ETEMP;
    }
    load *l = sg_xcalloc(1, sizeof *l);
    l->cp = cp;
    l->req = req;
    l->cb = cb;
    l->arg = arg;
    l->src = src;
    req->error[0] = '\0';
    if (src == SRC_ARRAY) {
        l->have_cols = 1;
        l->header = 1;
        l->ncols = 1;
        l->cols = sg_xcalloc(1, sizeof *l->cols);
        l->cols[0] = sg_xstrdup("number");
    } else {
        csv_options o = {.max_field = 65536, .max_fields = 256};
        l->csv = csv_reader_new(&o, on_record, l);
    }
    l->nextl = cp->loads;
    if (cp->loads) cp->loads->prev = l;
    cp->loads = l;
    l->begin.service_id = req->service_id;
    l->begin.source = src == SRC_URL ? "csvUrl" : src == SRC_DOC ? "document" : "receivers";
    store_list_begin(cp->st, &l->begin, on_begun, l);
    return 0;
}

/* ---- sending ---- */

typedef struct send_ctx {
    campaign *cp;
    campaign_send_req *r;
    campaign_cb cb;
    void *arg;
} send_ctx;

static void on_sent(int rc, void *arg) {
    send_ctx *x = arg;
    campaign_send_req *r = x->r;
    if (rc == 0) {
        dispatch_kick(x->cp->d);
        if (r->send.drop_list) campaign_purge_kick(x->cp); /* the store dropped the list */
        sg_log_info(LOG, "Campaign %s of service %lld: %lld messages queued, %lld receivers "
                         "refused, %lld millicredits.", r->send.id, (long long)r->send.service_id,
                    (long long)r->send.count, (long long)r->send.invalid,
                    (long long)r->send.total_credits);
    } else if (r->send.drop_list) {
        drop_list(x->cp, r->send.list_id);
    }
    campaign_cb cb = x->cb;
    void *cbarg = x->arg;
    free(x);
    cb(rc, cbarg);
}

static void fan_out(send_ctx *x) {
    x->r->stage = CAMPAIGN_STAGE_SEND;
    store_campaign_send_idem(x->cp->st, &x->r->send, x->r->idem, on_sent, x);
}

static void on_loaded(int rc, void *arg) {
    send_ctx *x = arg;
    campaign_send_req *r = x->r;
    if (rc) {
        campaign_cb cb = x->cb;
        void *cbarg = x->arg;
        free(x);
        cb(rc, cbarg);
        return;
    }
    if (r->ld.slot > 0) {
        r->send.slot = r->ld.slot;
    } else {
        r->send.slot = 0;
        r->send.list_id = r->ld.list_id;
        r->send.drop_list = 1;
    }
    fan_out(x);
}

int campaign_send(campaign *cp, campaign_send_req *r, campaign_cb cb, void *arg) {
    send_ctx *x = sg_xcalloc(1, sizeof *x);
    x->cp = cp;
    x->r = r;
    x->cb = cb;
    x->arg = arg;
    if (!r->load) {
        fan_out(x);
        return 0;
    }
    r->stage = CAMPAIGN_STAGE_LOAD;
    int rc = campaign_load(cp, &r->ld, on_loaded, x);
    if (rc) free(x);
    return rc;
}

/* ---- housekeeping: purging dropped lists ---- */

static void purge(campaign *cp);

static void on_purged(int rc, void *arg) {
    campaign *cp = arg;
    cp->purging = 0;
    if (rc) {
        sg_log_write(STORE_FAIL_LEVEL(rc), LOG, "Purging dropped receiver lists failed (%s); retrying later.",
                     sg_strerror(rc));
        return;
    }
    if (cp->purge.recover) cp->recovered = 1;
    if (cp->stopping) return;
    if (cp->purge.more || cp->purge_again) {
        cp->purge_again = 0;
        event_active(cp->purge_ev, EV_READ, 0);
    }
}

static void purge(campaign *cp) {
    if (cp->stopping) return;
    if (cp->purging) {
        cp->purge_again = 1;
        return;
    }
    cp->purging = 1;
    memset(&cp->purge, 0, sizeof cp->purge);
    cp->purge.limit = PURGE_ROWS;
    cp->purge.recover = !cp->recovered;
    cp->purge.now_ms = sg_now_ms();
    /* several nodes (PostgreSQL): a list loading for longer than twice the download timeout
     * and ten minutes of parsing was left by a node that died (SQLite drops its own at start) */
    cp->purge.stale_before_ms = cp->purge.now_ms - 2 * cp->opt.timeout_ms - 600000;
    store_list_purge(cp->st, &cp->purge, on_purged, cp);
}

static void on_purge_event(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    purge(arg);
}

void campaign_purge_kick(campaign *cp) {
    if (!cp->stopping) event_active(cp->purge_ev, EV_READ, 0);
}

/* ---- life ---- */

campaign *campaign_new(struct event_base *base, store *st, dispatch *d,
                       const campaign_options *opt) {
    campaign *cp = sg_xcalloc(1, sizeof *cp);
    cp->base = base;
    cp->st = st;
    cp->d = d;
    if (opt) cp->opt = *opt;
    cp->region = sg_xstrdup(cp->opt.default_region ? cp->opt.default_region : "fr");
    cp->opt.default_region = cp->region;
    if (cp->opt.max_bytes <= 0) cp->opt.max_bytes = 256LL * 1024 * 1024;
    if (cp->opt.max_rows <= 0) cp->opt.max_rows = 1000000;
    if (cp->opt.timeout_ms <= 0) cp->opt.timeout_ms = 300000;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cp->multi = curl_multi_init();
    curl_multi_setopt(cp->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(cp->multi, CURLMOPT_SOCKETDATA, cp);
    curl_multi_setopt(cp->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(cp->multi, CURLMOPT_TIMERDATA, cp);
    cp->curl_timer = evtimer_new(base, on_curl_timeout, cp);
    cp->purge_ev = event_new(base, -1, 0, on_purge_event, cp);
    cp->tick_ev = event_new(base, -1, EV_PERSIST, on_purge_event, cp);
    return cp;
}

void campaign_start(campaign *cp) {
    struct timeval tv = {HOUSEKEEPING_MS / 1000, (HOUSEKEEPING_MS % 1000) * 1000};
    event_add(cp->tick_ev, &tv);
    purge(cp); /* the first purge also drops the lists a previous run left loading */
}

void campaign_stop(campaign *cp) {
    if (!cp || cp->stopping) return;
    cp->stopping = 1;
    event_del(cp->tick_ev);
    event_del(cp->purge_ev);
    for (load *l = cp->loads, *next; l; l = next) {
        next = l->nextl;
        fail(l, SG_ETEMP, "smsgated is stopping; nothing was loaded");
        abort_transfer(l);
    }
    /* Each load ends once its store operations come back (store_close drains them). */
    for (load *l = cp->loads, *next; l; l = next) {
        next = l->nextl;
        pump(l);
    }
}

void campaign_free(campaign *cp) {
    if (!cp) return;
    campaign_stop(cp);
    while (cp->loads) { /* only when the store never answered: end them without a list */
        cp->loads->begun = 1;
        cp->loads->inflight = 0;
        cp->loads->doc_reading = 0;
        cp->loads->begin.list_id = 0;
        load *l = cp->loads;
        l->finishing = 1;
        done(l, l->rc ? l->rc : SG_ETEMP);
    }
    curl_multi_cleanup(cp->multi);
    event_free(cp->curl_timer);
    event_free(cp->purge_ev);
    event_free(cp->tick_ev);
    free(cp->region);
    free(cp);
    curl_global_cleanup();
}
