/*
 * hlr_embedded.c - the embedded HLR provider: core/hlr.c's hlr_embedded_answer() behind the
 * asynchronous provider contract of core/hlr.h.
 *
 * The answer is computed at once (libphonenumber, a few tens of microseconds) and delivered
 * by a zero-delay event_base_once() on the loop: done() runs on the next loop pass, never
 * inside lookup(). A number the data does not accept is answered with rc SG_EINVAL (the API
 * checked the number before, so this does not happen in practice). Nothing is kept between
 * lookups; the provider's only state is its options.
 */
#include "hlr/hlr_embedded.h"

#include <stdlib.h>

#include "util/util.h"

typedef struct embedded {
    struct event_base *base;
    int sim_numbers;
} embedded;

typedef struct pending {
    hlr_done_cb done;
    void *arg;
    int rc;
    hlr_result res;
} pending;

static void deliver(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    pending *p = arg;
    p->done(p->rc, p->rc ? NULL : &p->res, p->arg);
    free(p);
}

static int lookup(void *self, const char *e164, hlr_done_cb done, void *arg) {
    embedded *e = self;
    pending *p = sg_xcalloc(1, sizeof *p);
    p->done = done;
    p->arg = arg;
    p->rc = hlr_embedded_answer(e164, e->sim_numbers, &p->res);
    static const struct timeval now = {0, 0};
    if (event_base_once(e->base, -1, EV_TIMEOUT, deliver, p, &now) < 0) {
        free(p);
        return SG_EIO;
    }
    return 0;
}

static void embedded_free(void *self) { free(self); }

hlr_provider *hlr_embedded_new(struct event_base *base, int sim_numbers) {
    embedded *e = sg_xcalloc(1, sizeof *e);
    e->base = base;
    e->sim_numbers = sim_numbers;
    hlr_provider *p = sg_xcalloc(1, sizeof *p);
    p->name = "embedded";
    p->self = e;
    p->lookup = lookup;
    p->free = embedded_free;
    return p;
}

void hlr_provider_free(hlr_provider *p) {
    if (!p) return;
    if (p->free) p->free(p->self);
    free(p);
}
