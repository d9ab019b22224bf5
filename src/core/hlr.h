/*
 * hlr.h - HLR lookups: what a lookup answers (OVH's sms.HlrLookupNumber and sms.Hlr), the
 * interface an HLR provider implements, and the embedded provider's answer as a pure function.
 *
 * An HLR (Home Location Register) lookup asks the mobile network about a number: is it valid,
 * reachable, ported, roaming, and which operator serves it. A real one goes to a paid
 * service over the network; smsgate defines the contract (hlr_provider) and ships one
 * provider, the embedded one, which asks nobody: it answers from libphonenumber's offline
 * data (phone.h: validity, the number's type, its region, the geocoder's area) and, when the
 * sim route is what delivers (hlr-sim-numbers), from the sim's test numbers (sim_model.h), so
 * that a lookup agrees with what a send to that number then does. Debian 12's libphonenumber
 * has no carrier data: the embedded provider leaves operator, network and operatorCode empty
 * (docs/hlr.md), except for the sim's own mobiles.
 *
 * Pure: no I/O, no global state (libphonenumber's tables aside, read-only); any thread.
 */
#ifndef SG_CORE_HLR_H
#define SG_CORE_HLR_H

#include "core/phone.h"

/* One lookup's answer. Strings are NUL-terminated UTF-8, "" when unknown. */
typedef struct hlr_result {
    char msisdn[PHONE_E164_MAX]; /* the number looked up, E.164 with '+' */
    int valid;                   /* the number exists (as far as the provider knows) */
    int reachable;               /* an SMS would reach it now */
    int ported;                  /* moved away from its original operator */
    int roaming;                 /* outside its operator's network */
    char operator_code[8];       /* MCC and MNC, "20801" */
    char country[64];            /* "France" */
    char country_code[8];        /* the calling code, digits only: "33" */
    char network[64];            /* the network's name */
    char operator_name[64];      /* the operator's name */
    char region[128];            /* the area of the number ("Marseille"), else the country */
} hlr_result;

/* ---- the provider contract ----
 *
 * A provider is a struct of function pointers over its own state (self), so that another one
 * (an HTTP HLR service) can be plugged in without touching the API. Contract:
 *   1. lookup() is called on the loop thread and never blocks: it starts the lookup of one
 *      number (E.164 with '+', valid for phone_normalize) and returns 0, then done() runs
 *      exactly once, later, on the loop thread, never from inside lookup(); or it returns an
 *      SG_E* code and done() never runs.
 *   2. done(rc, res, arg): rc 0 with res filled; or an SG_E* code (the provider could not
 *      answer: the lookup is stored with status "error"), res then NULL. res is borrowed
 *      until done() returns.
 *   3. free() is called once, after every started lookup has called done() or when the loop
 *      is gone; it frees self. */
typedef void (*hlr_done_cb)(int rc, const hlr_result *res, void *arg);

typedef struct hlr_provider {
    const char *name; /* "embedded": docs and logs */
    void *self;
    int (*lookup)(void *self, const char *e164, hlr_done_cb done, void *arg);
    void (*free)(void *self);
} hlr_provider;

/* The embedded provider's answer for e164 (E.164 with '+'), filled into *out. sim_numbers:
 * the sim's test numbers are answered as the sim delivers them (sim_model.h: 901 reachable
 * but refusing -> reachable false; 902 unknown -> valid false; 903 absent -> reachable false;
 * 904 slow -> roaming), every number then being one of the sim's mobiles (operator
 * HLR_SIM_OPERATOR, operatorCode HLR_SIM_OPERATOR_CODE). Returns 0, or SG_EINVAL when e164 is
 * not a valid number (*out zeroed). */
int hlr_embedded_answer(const char *e164, int sim_numbers, hlr_result *out);

#define HLR_SIM_OPERATOR "smsgate sim"
#define HLR_SIM_OPERATOR_CODE "00101" /* MCC 001, MNC 01: the ITU's test network */

/* The lookup statuses (OVH's sms.HlrStatuses). smsgate's lookups are answered before the
 * POST is, so a stored lookup is "done" or "error"; "todo" and "doing" are for a provider
 * that answers later. */
enum { HLR_TODO = 0, HLR_DOING = 1, HLR_DONE = 2, HLR_ERROR = 3 };
/* "todo", "doing", "done", "error"; "error" for anything else. Static. */
const char *hlr_status_name(int status);

#endif
