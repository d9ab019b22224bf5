/*
 * routes_admin.c - the route table under /admin/routes (docs/admin-api.md), used by
 * `smsctl route ...`:
 *
 *   GET    /admin/routes          every route (passwords are never shown)
 *   POST   /admin/routes          add an SMPP route
 *   GET    /admin/routes/{name}   one route
 *   PUT    /admin/routes/{name}   change some fields (enabled:false disables it)
 *   DELETE /admin/routes/{name}   remove it (the sim route can only be disabled)
 *   GET    /admin/route-status    the live state of every route: binds, window use, queue,
 *                                 rate, last error, and the node holding each bind's slot
 *                                 (docs/cluster.md)
 *
 * A change is stored, then the dispatcher reloads the table (dispatch_reload) and the answer
 * is sent once the new table is in use, so a client that got 200 can send at once. Bad input
 * gets a 400 naming the field.
 */
#include "api/api_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

static const char *const bind_modes[] = {"transceiver", "transmitter+receiver", NULL};
static const char *const concats[] = {"udh8", "udh16", "sar", NULL};

typedef struct route_ctx {
    store_route_req req;
    int replace; /* PUT: the route was read and is being replaced */
} route_ctx;

static void ctx_free(void *p) {
    route_ctx *h = p;
    store_route_fini(&h->req.route);
    free(h);
}

static json_t *route_json(const store_route *r) {
    json_t *pre = json_array();
    const char *p = r->prefixes ? r->prefixes : "";
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) json_array_append_new(pre, json_stringn(p, n));
        if (!e) break;
        p = e + 1;
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:i, s:i, s:b}", "name", r->name, "kind", r->kind,
                          "prefixes", pre, "priority", r->priority, "weight", r->weight,
                          "enabled", r->enabled);
    char when[SG_TIME_ISO_LEN] = "";
    if (r->updated_ms) sg_time_iso(r->updated_ms, when);
    json_object_set_new(o, "updated", r->updated_ms ? json_string(when) : json_null());
    json_object_set_new(o, "version", json_integer(r->version));
    if (!strcmp(r->kind, "smpp")) {
        json_object_set_new(o, "smsc", json_sprintf("%s:%d", r->host, r->port));
        json_object_set_new(o, "systemId", json_string(r->system_id));
        json_object_set_new(o, "systemType", json_string(r->system_type));
        json_object_set_new(o, "binds", json_integer(r->binds));
        json_object_set_new(o, "bindMode", json_string(bind_modes[r->bind_mode & 1]));
        json_object_set_new(o, "window", json_integer(r->window));
        json_object_set_new(o, "tps", json_integer(r->tps));
        json_object_set_new(o, "tls", json_boolean(r->tls));
        json_object_set_new(o, "tlsVerify", json_boolean(r->tls_verify));
        json_object_set_new(o, "tlsCa", json_string(r->tls_ca ? r->tls_ca : ""));
        json_object_set_new(o, "concat", json_string(concats[r->concat % 3]));
        json_object_set_new(o, "pack7", json_boolean(r->pack7));
        json_object_set_new(o, "registeredDelivery", json_integer(r->registered_delivery));
    }
    return o;
}

/* ---- reading the body ---- */

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > 32) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) return 0;
    return 1;
}

static void set_str(char **dst, const char *v) {
    free(*dst);
    *dst = sg_xstrdup(v);
}

/* A string field of at most max characters, printable ASCII. */
static int str_field(api_call *c, const char *name, size_t max, char **dst) {
    const char *v;
    int rc = api_field_string(c, name, 0, &v);
    if (rc) return rc;
    if (strlen(v) > max) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': at most %zu characters",
                        name, max);
        return -1;
    }
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter '%s': printable ASCII "
                                          "characters only", name);
            return -1;
        }
    set_str(dst, v);
    return 0;
}

static int int_field(api_call *c, const char *name, int64_t min, int64_t max, int *dst) {
    int64_t v;
    int rc = api_field_int(c, name, 0, min, max, &v);
    if (rc == 0) *dst = (int)v;
    return rc;
}

static int bool_field(api_call *c, const char *name, int *dst) {
    int v;
    int rc = api_field_bool(c, name, 0, &v);
    if (rc == 0) *dst = v;
    return rc;
}

/* prefixes: an array of "+<digits>" or one comma-separated string; [] or "" = every number. */
static int prefixes_field(api_call *c, store_route *r) {
    json_t *v = json_object_get(c->body, "prefixes");
    if (!v || json_is_null(v)) return 1;
    json_t *arr = NULL;
    if (json_is_string(v)) {
        arr = json_array();
        const char *p = json_string_value(v);
        while (*p) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            while (n && isspace((unsigned char)*p)) p++, n--;
            while (n && isspace((unsigned char)p[n - 1])) n--;
            if (n) json_array_append_new(arr, json_stringn(p, n));
            if (!e) break;
            p = e + 1;
        }
    } else if (json_is_array(v)) {
        arr = json_incref(v);
    } else {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'prefixes': an array of "
                                      "prefixes such as [\"+33\"] is expected");
        return -1;
    }
    char buf[1024] = "";
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *s = json_is_string(e) ? json_string_value(e) : NULL;
        size_t len = s ? strlen(s) : 0, digits = 0;
        for (size_t k = 1; k < len; k++) digits += isdigit((unsigned char)s[k]) != 0;
        if (!s || len < 2 || s[0] != '+' || digits != len - 1 || len > 16 ||
            n + len + 2 > sizeof buf) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'prefixes': '%.20s' is "
                                          "not a prefix like +33 ('+' and 1 to 15 digits)",
                            s ? s : "(not a string)");
            json_decref(arr);
            return -1;
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "," : "", s);
    }
    json_decref(arr);
    set_str(&r->prefixes, buf);
    return 0;
}

/* Reads every field present in the body into r. Returns 0 or -1 after replying 400. */
static int read_fields(api_call *c, store_route *r) {
    int is_sim = r->kind && !strcmp(r->kind, "sim");
    static const char *const smpp_only[] = {"smsc", "systemId", "password", "systemType",
                                            "binds", "bindMode", "window", "tps", "tls",
                                            "tlsVerify", "tlsCa", "concat", "pack7",
                                            "registeredDelivery", NULL};
    for (int i = 0; is_sim && smpp_only[i]; i++)
        if (json_object_get(c->body, smpp_only[i])) {
            api_reply_error(c, 400, NULL, "Invalid parameter '%s': the sim route only has "
                                          "prefixes, priority, weight and enabled",
                            smpp_only[i]);
            return -1;
        }
    const char *smsc;
    int rc = api_field_string(c, "smsc", 0, &smsc);
    if (rc < 0) return -1;
    if (rc == 0) {
        const char *colon = strrchr(smsc, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        size_t hl = colon ? (size_t)(colon - smsc) : 0;
        int ok = colon && hl > 0 && hl < 254 && *end == '\0' && end != colon + 1 && port >= 1 &&
                 port <= 65535;
        for (size_t k = 0; ok && k < hl; k++)
            if (isspace((unsigned char)smsc[k]) || !isprint((unsigned char)smsc[k])) ok = 0;
        if (!ok) {
            api_reply_error(c, 400, NULL, "Invalid value for parameter 'smsc': 'host:port' is "
                                          "expected, e.g. 127.0.0.1:2775");
            return -1;
        }
        free(r->host);
        r->host = sg_xstrndup(smsc, hl);
        r->port = (int)port;
    }
    int idx;
    if (str_field(c, "systemId", 15, &r->system_id) < 0 ||
        str_field(c, "password", 8, &r->password) < 0 ||
        str_field(c, "systemType", 12, &r->system_type) < 0 ||
        str_field(c, "tlsCa", 1024, &r->tls_ca) < 0 ||
        int_field(c, "binds", 1, 64, &r->binds) < 0 ||
        int_field(c, "window", 1, 1000, &r->window) < 0 ||
        int_field(c, "tps", 0, 100000, &r->tps) < 0 ||
        int_field(c, "priority", 0, 1000000, &r->priority) < 0 ||
        int_field(c, "weight", 1, 1000, &r->weight) < 0 ||
        int_field(c, "registeredDelivery", 0, 255, &r->registered_delivery) < 0 ||
        bool_field(c, "tls", &r->tls) < 0 || bool_field(c, "tlsVerify", &r->tls_verify) < 0 ||
        bool_field(c, "pack7", &r->pack7) < 0 || bool_field(c, "enabled", &r->enabled) < 0 ||
        prefixes_field(c, r) < 0)
        return -1;
    if (r->tls_ca && r->tls_ca[0] && access(r->tls_ca, R_OK) != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'tlsCa': smsgated cannot read "
                                      "'%.200s'", r->tls_ca);
        return -1;
    }
    if ((rc = api_field_enum(c, "bindMode", 0, bind_modes, &idx)) < 0) return -1;
    if (rc == 0) r->bind_mode = idx;
    if ((rc = api_field_enum(c, "concat", 0, concats, &idx)) < 0) return -1;
    if (rc == 0) r->concat = idx;
    return 0;
}

/* ---- handlers ---- */

static void on_reloaded(int rc, void *arg) {
    api_call *c = arg;
    route_ctx *h = c->h;
    (void)rc; /* the change is stored either way; a failed reload is logged and retried */
    if (h->req.route.name) api_reply_json(c, route_json(&h->req.route));
    else api_reply_json(c, NULL);
}

static void on_changed(int rc, void *arg) {
    api_call *c = arg;
    route_ctx *h = c->h;
    if (rc == SG_ECONFLICT) {
        api_reply_error(c, 409, NULL, "A route named '%s' already exists", h->req.name);
        return;
    }
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No route is named '%s'", h->req.name);
        return;
    }
    if (rc == SG_EPERM) {
        api_reply_error(c, 409, NULL, "The sim route cannot be removed; disable it with "
                                      "{\"enabled\":false}");
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This route");
        return;
    }
    if (h->req.route.name && !h->req.route.version) h->req.route.version = 1;
    dispatch_reload(c->api->d, on_reloaded, c);
}

static route_ctx *new_ctx(api_call *c) {
    route_ctx *h = api_call_state(c, sizeof *h, ctx_free);
    return h;
}

static void route_add(api_call *c) {
    route_ctx *h = new_ctx(c);
    store_route *r = &h->req.route;
    const char *name, *kind = "smpp";
    if (api_field_string(c, "name", 1, &name) < 0) return;
    if (!valid_name(name)) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'name': 1 to 32 characters "
                                      "of a-z, 0-9 and '-'");
        return;
    }
    if (api_field_string(c, "kind", 0, &kind) < 0) return;
    if (strcmp(kind, "smpp") != 0) {
        api_reply_error(c, 400, NULL, "Invalid value for parameter 'kind': only 'smpp' routes "
                                      "can be added (there is one sim route)");
        return;
    }
    r->name = sg_xstrdup(name);
    r->kind = sg_xstrdup("smpp");
    r->system_type = sg_xstrdup("");
    r->password = sg_xstrdup("");
    r->tls_ca = sg_xstrdup("");
    r->prefixes = sg_xstrdup("");
    r->binds = 1;
    r->window = 10;
    r->priority = 100;
    r->weight = 1;
    r->enabled = 1;
    r->tls_verify = 1;
    r->registered_delivery = 1;
    if (read_fields(c, r) < 0) return;
    if (!r->host) {
        api_reply_error(c, 400, NULL, "Missing parameter 'smsc' (host:port of the SMSC)");
        return;
    }
    if (!r->system_id || !r->system_id[0]) {
        api_reply_error(c, 400, NULL, "Missing parameter 'systemId'");
        return;
    }
    h->req.name = r->name;
    h->req.create = 1;
    store_route_put(c->api->st, &h->req, on_changed, c);
}

static void on_got(int rc, void *arg) {
    api_call *c = arg;
    route_ctx *h = c->h;
    if (rc == SG_ENOTFOUND) {
        api_reply_error(c, 404, NULL, "No route is named '%s'", h->req.name);
        return;
    }
    if (rc) {
        api_reply_store_error(c, rc, "This route");
        return;
    }
    if (!h->replace) {
        api_reply_json(c, route_json(&h->req.route));
        return;
    }
    if (read_fields(c, &h->req.route) < 0) return;
    h->req.create = 0;
    h->req.route.version++;
    store_route_put(c->api->st, &h->req, on_changed, c);
}

static void route_get(api_call *c) {
    route_ctx *h = new_ctx(c);
    h->req.name = c->req->segs[2];
    store_route_get(c->api->st, &h->req, on_got, c);
}

static void route_set(api_call *c) {
    route_ctx *h = new_ctx(c);
    h->req.name = c->req->segs[2];
    h->replace = 1;
    if (json_object_get(c->body, "name")) {
        api_reply_error(c, 400, NULL, "Invalid parameter 'name': a route cannot be renamed; "
                                      "add a new one and remove this one");
        return;
    }
    store_route_get(c->api->st, &h->req, on_got, c);
}

static void route_remove(api_call *c) {
    route_ctx *h = new_ctx(c);
    h->req.name = c->req->segs[2];
    store_route_remove(c->api->st, &h->req, on_changed, c);
}

typedef struct list_ctx {
    store_route_list_req req;
} list_ctx;

static void list_free(void *p) {
    list_ctx *h = p;
    store_route_list_fini(&h->req);
    free(h);
}

static void on_list(int rc, void *arg) {
    api_call *c = arg;
    list_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The route table");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < h->req.count; i++)
        json_array_append_new(a, route_json(&h->req.routes[i]));
    api_reply_json(c, a);
}

static void route_list(api_call *c) {
    list_ctx *h = api_call_state(c, sizeof *h, list_free);
    store_route_list(c->api->st, &h->req, on_list, c);
}

typedef struct status_ctx {
    store_retry_waiting_req req;
    store_cluster_status_req cl;
} status_ctx;

static void status_free(void *p) {
    status_ctx *h = p;
    store_retry_waiting_fini(&h->req);
    store_cluster_status_fini(&h->cl);
    free(h);
}

/* Adds to each bind of each route the node that holds its slot ("holder", null when free),
 * and to each route its slots ("slots": [{slot, holder, until}]). */
static void add_holders(json_t *arr, const char *slots_json) {
    json_t *slots = slots_json ? json_loads(slots_json, 0, NULL) : NULL;
    size_t i, k;
    json_t *o, *b, *sl;
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        json_t *mine = json_array();
        json_array_foreach(slots, k, sl) {
            if (name && !strcmp(json_string_value(json_object_get(sl, "route")), name))
                json_array_append(mine, sl);
        }
        json_array_foreach(json_object_get(o, "binds"), k, b) {
            json_t *slot = json_object_get(b, "slot");
            if (!slot) continue;
            json_t *holder = json_null();
            size_t m;
            json_array_foreach(mine, m, sl) {
                if (json_integer_value(json_object_get(sl, "slot")) == json_integer_value(slot))
                    holder = json_object_get(sl, "holder");
            }
            json_object_set(b, "holder", holder);
        }
        if (json_object_get(o, "binds")) json_object_set_new(o, "slots", mine);
        else json_decref(mine);
    }
    json_decref(slots);
}

/* The dispatcher's live state of each route, plus the messages the store holds for a retry
 * after that route refused them temporarily ("retryWaiting", "nextRetryAt"). */
static void on_cluster_status(int rc, void *arg) {
    api_call *c = arg;
    status_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The bind slots");
        return;
    }
    json_t *arr = dispatch_status(c->api->d);
    add_holders(arr, h->cl.slots_json);
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        int64_t count = 0, next = 0;
        for (size_t k = 0; k < h->req.count; k++)
            if (name && !strcmp(h->req.items[k].route, name)) {
                count = h->req.items[k].count;
                next = h->req.items[k].next_ms;
            }
        json_object_set_new(o, "retryWaiting", json_integer(count));
        if (next) {
            char when[SG_TIME_ISO_LEN];
            sg_time_iso(next, when);
            json_object_set_new(o, "nextRetryAt", json_string(when));
        } else {
            json_object_set_new(o, "nextRetryAt", json_null());
        }
    }
    api_reply_json(c, arr);
}

static void on_retry_waiting(int rc, void *arg) {
    api_call *c = arg;
    status_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The messages waiting on a retry");
        return;
    }
    h->cl.now_ms = sg_now_ms();
    h->cl.timeout_ms = c->api->cfg->node_timeout_s * 1000;
    store_cluster_status(c->api->st, &h->cl, on_cluster_status, c);
}

static void route_status(api_call *c) {
    status_ctx *h = api_call_state(c, sizeof *h, status_free);
    h->req.now_ms = sg_now_ms();
    store_retry_waiting(c->api->st, &h->req, on_retry_waiting, c);
}

/* GET /admin/nodes: every node that ever registered (docs/cluster.md). */
static void on_nodes(int rc, void *arg) {
    api_call *c = arg;
    status_ctx *h = c->h;
    if (rc) {
        api_reply_store_error(c, rc, "The nodes");
        return;
    }
    json_t *arr = json_loads(h->cl.nodes_json, 0, NULL);
    api_reply_json(c, arr ? arr : json_array());
}

static void node_list(api_call *c) {
    status_ctx *h = api_call_state(c, sizeof *h, status_free);
    h->cl.now_ms = sg_now_ms();
    h->cl.timeout_ms = c->api->cfg->node_timeout_s * 1000;
    store_cluster_status(c->api->st, &h->cl, on_nodes, c);
}

const api_route api_route_admin_routes[] = {
    {"GET", "/admin/routes", API_ADMIN, route_list},
    {"POST", "/admin/routes", API_ADMIN | API_BODY, route_add},
    {"GET", "/admin/routes/{}", API_ADMIN, route_get},
    {"PUT", "/admin/routes/{}", API_ADMIN | API_BODY, route_set},
    {"DELETE", "/admin/routes/{}", API_ADMIN, route_remove},
    {"GET", "/admin/route-status", API_ADMIN, route_status},
    {"GET", "/admin/nodes", API_ADMIN, node_list},
    {NULL, NULL, 0, NULL},
};
