/*
 * hours_admin.c - the operator's marketing hours under /admin (docs/admin-api.md,
 * docs/replies.md "Marketing hours"); smsctl's `hours` commands are its client.
 *
 *   GET /admin/hours                 every country with hours, enabled or not
 *   PUT /admin/hours/{country}       {"enabled"?, "days"?, "from"?, "to"?, "timeZone"?,
 *                                     "holidays"?}: changes the fields given; a country
 *                                     without hours yet needs "timeZone"
 *
 * A country's hours as JSON: {"country":"fr","enabled":true,"days":"mon-sat","from":"08:00",
 * "to":"20:00","timeZone":"Europe/Paris","holidays":"fr","updatedAt":...}. Every field is
 * checked here with core/hours.c's parsers (a bad one is a 400 naming it) and the time zone
 * is loaded (dispatch/hours_table.c) before anything is stored. Once stored, this node's
 * copy is reloaded before the answer, so a send right after it already follows the new hours;
 * the other nodes follow within the configuration epoch's poll (a trigger raises it). The SMS
 * held until then are released by the store in the same transaction (store_hours.h).
 */
#include "api/api_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/hours.h"
#include "core/price.h"
#include "dispatch/hours_table.h"
#include "util/log.h"
#include "util/util.h"

static json_t *row_json(const store_hours_row *r, int absent) {
    char days[HOURS_DAYS_LEN], from[6], to[6];
    hours_days_format(r->days, days);
    hours_hhmm_format(r->from_min, from);
    hours_hhmm_format(r->to_min, to);
    if (absent)
        return json_pack("{s:s, s:b, s:n, s:n, s:n, s:n, s:n, s:n}", "country", r->country,
                         "enabled", 0, "days", "from", "to", "timeZone", "holidays",
                         "updatedAt");
    return json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:o}", "country", r->country,
                     "enabled", r->enabled, "days", days, "from", from, "to", to, "timeZone",
                     r->tz, "holidays", hours_holidays_name(r->holidays), "updatedAt",
                     api_time_json(r->updated_ms));
}

/* ---- GET /admin/hours ---- */

static void list_free(void *p) {
    store_hours_list_req *r = p;
    store_hours_list_fini(r);
    free(r);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    store_hours_list_req *r = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The marketing hours");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < r->count; i++) json_array_append_new(a, row_json(&r->rows[i], 0));
    api_reply_json(c, a);
}

static void hours_list(api_call *c) {
    store_hours_list_req *r = api_call_state(c, sizeof *r, list_free);
    store_hours_list(c->api->st, r, on_list, c);
}

/* ---- PUT /admin/hours/{country} ---- */

typedef struct set_ctx {
    store_hours_set_req req;
    char country[3];
    int rc;
} set_ctx;

static void set_free(void *p) {
    set_ctx *h = p;
    store_hours_set_fini(&h->req);
    free(h);
}

static void on_reloaded(int rc, void *arg) {
    (void)rc; /* a failed reload keeps the old copy; the epoch's reload tries again */
    api_call *c = arg;
    set_ctx *h = c->h;
    if (h->req.released)
        sg_log_info("api", "Marketing hours of '%s' changed: %lld held SMS looked at again.",
                    h->country, (long long)h->req.released);
    api_reply_json(c, row_json(&h->req.row, h->req.absent));
}

static void on_set(int rc, void *arg) {
    api_call *c = arg;
    set_ctx *h = c->h;
    if (rc == SG_EINVAL) {
        api_reply_error(c, 400, NULL, "Missing parameter 'timeZone': '%s' has no marketing "
                                      "hours yet", h->country);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "These marketing hours");
        return;
    }
    hours_table_reload(dispatch_hours(c->api->d), on_reloaded, c);
}

/* A "HH:MM" field: 0 (absent), 1 (set in *out), -1 after replying. */
static int hhmm_field(api_call *c, const char *name, int *out) {
    const char *s;
    int rc = api_field_string(c, name, 0, &s);
    if (rc) return rc < 0 ? -1 : 0;
    if (hours_hhmm_parse(s, out) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': a time \"HH:MM\" "
                                      "from 00:00 to 24:00 is expected", name);
        return -1;
    }
    return 1;
}

static void hours_set(api_call *c) {
    set_ctx *h = api_call_state(c, sizeof *h, set_free);
    const char *seg = c->req->segs[2];
    char cc[3] = "";
    if (strlen(seg) == 2) {
        cc[0] = (char)(seg[0] | 0x20);
        cc[1] = (char)(seg[1] | 0x20);
    }
    if (!cc[0] || !price_country_known(cc)) {
        api_reply_error(c, 404, NULL, "'%.16s' is not a country of sms.CountryEnum", seg);
        return;
    }
    memcpy(h->country, cc, sizeof cc);
    store_hours_set_req *r = &h->req;
    r->country = h->country;
    int b, rc;
    if ((rc = api_field_bool(c, "enabled", 0, &b)) < 0) return;
    if (rc == 0) {
        r->set_enabled = 1;
        r->enabled = b;
    }
    const char *s;
    if ((rc = api_field_string(c, "days", 0, &s)) < 0) return;
    if (rc == 0) {
        if (hours_days_parse(s, &r->days) != 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'days': days such as "
                                          "\"mon-sat\" or \"mon,wed,fri\" are expected");
            return;
        }
        r->set_days = 1;
    }
    int from = 8 * 60, to = 20 * 60, has_from, has_to;
    if ((has_from = hhmm_field(c, "from", &from)) < 0) return;
    if ((has_to = hhmm_field(c, "to", &to)) < 0) return;
    if (has_from != has_to) {
        api_reply_error(c, 400, NULL, "Missing parameter '%s': 'from' and 'to' go together",
                        has_from ? "to" : "from");
        return;
    }
    if (has_from) {
        if (from >= to) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'to': it must be later "
                                          "than 'from' (the window is within one day)");
            return;
        }
        r->set_window = 1;
        r->from_min = from;
        r->to_min = to;
    }
    if ((rc = api_field_string(c, "timeZone", 0, &s)) < 0) return;
    if (rc == 0) {
        if (!hours_table_zone(dispatch_hours(c->api->d), s)) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'timeZone': '%.64s' is "
                                          "not a time zone of the tz database (such as "
                                          "Europe/Paris)", s);
            return;
        }
        r->tz = s;
    }
    if ((rc = api_field_string(c, "holidays", 0, &s)) < 0) return;
    if (rc == 0) {
        if (hours_holidays_parse(s, &r->holidays) != 0) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'holidays': one of "
                                          "none, fr is expected");
            return;
        }
        r->set_holidays = 1;
    }
    if (!r->set_enabled && !r->set_days && !r->set_window && !r->tz && !r->set_holidays) {
        api_reply_error(c, 400, NULL, "Nothing to change: give at least one of enabled, days, "
                                      "from and to, timeZone, holidays");
        return;
    }
    r->now_ms = sg_now_ms();
    store_hours_set(c->api->st, r, on_set, c);
}

const api_route api_hours_admin_routes[] = {
    {"GET", "/admin/hours", API_ADMIN, hours_list},
    {"PUT", "/admin/hours/{}", API_ADMIN | API_BODY, hours_set},
    {NULL, NULL, 0, NULL},
};

/* ---- the leave time of a held SMS, on sms.Job / sms.Outgoing ---- */

void api_hours_field(api_call *c, json_t *o, const store_msg *m) {
    int64_t until = hours_table_held_until(dispatch_hours(c->api->d), m, sg_now_ms());
    json_object_set_new(o, "heldUntil", api_time_json(until));
}
