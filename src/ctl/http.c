/*
 * http.c - one blocking HTTP request with libcurl's easy API, and how answers are reported.
 *
 * Design: smsctl makes one to three requests per run, so each request gets its own easy
 * handle, configured from the global options (timeout, TLS verification, CA file), and the
 * answer is collected into a heap buffer capped at CTL_HTTP_MAX_BODY. libcurl's global state is
 * initialised on first use and released at exit.
 *
 * Invariants:
 *   1. The request-target is the URL's path exactly as the caller built it: CURLOPT_PATH_AS_IS
 *      stops curl from squashing "/./" or "/../", because a signed URL must match what the
 *      server receives byte for byte.
 *   2. "Expect: 100-continue" is never sent: curl 7.88 adds it to bodies over 1 KiB and waits a
 *      second for an interim answer many servers do not send.
 *   3. Only http and https are allowed, also on redirects (which are not followed anyway).
 *   4. A server message is printed with control characters replaced, so a hostile answer cannot
 *      drive the terminal.
 */
#include "ctl/http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/util.h"

#define ERR_TEXT_MAX 300 /* longest piece of a non-JSON error body shown */

typedef struct body_buf {
    sg_buf s;
    int too_big;
} body_buf;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud) {
    body_buf *b = ud;
    size_t n = size * nmemb;
    if (n > CTL_HTTP_MAX_BODY - b->s.len) {
        b->too_big = 1;
        return 0; /* makes curl abort with CURLE_WRITE_ERROR */
    }
    sg_buf_add(&b->s, ptr, n);
    return n;
}

static void global_init(void) {
    static int done;
    if (done) return;
    done = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    atexit(curl_global_cleanup);
}

int ctl_http_request(const ctl_opts *o, const char *method, const char *url,
                     const char *const *headers, const char *body, size_t body_len,
                     ctl_http_resp *resp) {
    global_init();
    memset(resp, 0, sizeof *resp);
    CURL *h = curl_easy_init();
    if (!h) {
        ctl_err("%s %s: cannot create a curl handle", method, url);
        return SG_EIO;
    }
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    if (!hl) {
        curl_easy_cleanup(h);
        ctl_err("%s %s: out of memory", method, url);
        return SG_EIO;
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    body_buf b = {0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "smsctl");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (o->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (o->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
    if (body || strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

    CURLcode rc = curl_easy_perform(h);
    int ret = 0;
    if (rc != CURLE_OK) {
        if (b.too_big)
            ctl_err("%s %s: answer larger than %u bytes, refused", method, url,
                    CTL_HTTP_MAX_BODY);
        else
            ctl_err("%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        if (rc == CURLE_PEER_FAILED_VERIFICATION)
            ctl_err("a server with a self-signed certificate needs --cacert FILE (smsgated's "
                    "DATA/tls/cert.pem) or --insecure");
        free(b.s.p);
        ret = SG_EIO;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->body = b.s.p ? b.s.p : sg_xstrdup("");
        resp->len = b.s.len;
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return ret;
}

void ctl_http_resp_fini(ctl_http_resp *resp) {
    if (!resp) return;
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

/* Copies at most max bytes of s into a new string, control characters (and any line break)
 * replaced by a space, surrounding spaces removed. */
static char *printable(const char *s, size_t len, size_t max) {
    if (len > max) len = max;
    char *out = sg_xstrndup(s, len);
    for (char *p = out; *p; p++)
        if (iscntrl((unsigned char)*p)) *p = ' ';
    char *start = out;
    while (*start == ' ') start++;
    size_t n = strlen(start);
    while (n > 0 && start[n - 1] == ' ') n--;
    char *res = sg_xstrndup(start, n);
    free(out);
    return res;
}

void ctl_http_print_error(const ctl_http_resp *resp) {
    json_t *j = json_loadb(resp->body, resp->len, JSON_DECODE_ANY, NULL);
    const char *code = NULL, *msg = NULL;
    if (json_is_object(j)) {
        code = json_string_value(json_object_get(j, "errorCode"));
        msg = json_string_value(json_object_get(j, "message"));
    }
    char *pcode = code ? printable(code, strlen(code), ERR_TEXT_MAX) : NULL;
    char *pmsg = msg ? printable(msg, strlen(msg), ERR_TEXT_MAX * 4)
                     : printable(resp->body, resp->len, ERR_TEXT_MAX);
    ctl_err("%ld%s%s: %s", resp->status, pcode && *pcode ? " " : "", pcode ? pcode : "",
            *pmsg ? pmsg : "(no error message)");
    free(pcode);
    free(pmsg);
    json_decref(j);
}

int ctl_http_answer(const ctl_opts *o, const ctl_http_resp *resp, json_t **out) {
    *out = NULL;
    if (resp->status < 200 || resp->status > 299) {
        ctl_http_print_error(resp);
        return SG_EPERM;
    }
    if (o->json) {
        fwrite(resp->body, 1, resp->len, stdout);
        if (resp->len == 0 || resp->body[resp->len - 1] != '\n') fputc('\n', stdout);
        return 0;
    }
    if (resp->len == 0) { /* a void answer should be "null"; tolerate an empty one */
        *out = json_null();
        return 0;
    }
    json_error_t jerr;
    json_t *j = json_loadb(resp->body, resp->len, JSON_DECODE_ANY, &jerr);
    if (!j) {
        char *text = printable(resp->body, resp->len, ERR_TEXT_MAX);
        ctl_err("%ld answer is not JSON (%s): %s", resp->status, jerr.text, text);
        free(text);
        return SG_EIO;
    }
    *out = j;
    return 0;
}
