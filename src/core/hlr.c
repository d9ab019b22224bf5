/*
 * hlr.c - the embedded HLR provider's answer (hlr.h), from libphonenumber's offline data and
 * the sim's test numbers.
 *
 * What each field says, and from where:
 *   valid       libphonenumber accepts the number (phone_describe); with hlr-sim-numbers, a
 *               902 number (the sim's unknown subscriber) is not valid.
 *   reachable   the number is a mobile (MOBILE or FIXED_LINE_OR_MOBILE: an SMS can reach it);
 *               with hlr-sim-numbers, 901 (refused), 902 (unknown) and 903 (absent: its SMS
 *               expire) are not reachable. Offline data cannot know a handset is off: this is
 *               "could be reached", never a network's answer.
 *   roaming     with hlr-sim-numbers, 904 (the sim's slow, far away mobile); else false.
 *   ported      false: offline data knows the range a number was given from, not where it
 *               went.
 *   operator, network, operatorCode
 *               "" (Debian 12's libphonenumber ships no carrier mapper); with hlr-sim-numbers,
 *               the sim's network ("smsgate sim", MCC-MNC 001-01, the ITU's test network).
 *   country     the English name of the number's region ("France").
 *   countryCode the calling code, digits ("33").
 *   region      the geocoder's English description: a city or area when its data has one
 *               ("Marseille"), else the region's name ("France" for a French mobile).
 */
#include "core/hlr.h"

#include <stdio.h>
#include <string.h>

#include "core/sim_model.h"
#include "util/util.h"

const char *hlr_status_name(int status) {
    switch (status) {
    case HLR_TODO: return "todo";
    case HLR_DOING: return "doing";
    case HLR_DONE: return "done";
    default: return "error";
    }
}

static void copy(char *dst, size_t size, const char *src) { snprintf(dst, size, "%s", src); }

int hlr_embedded_answer(const char *e164, int sim_numbers, hlr_result *out) {
    memset(out, 0, sizeof *out);
    phone_info info;
    phone_details d;
    if (phone_normalize(e164, NULL, &info) || phone_describe(info.e164, &d)) return SG_EINVAL;
    copy(out->msisdn, sizeof out->msisdn, info.e164);
    snprintf(out->country_code, sizeof out->country_code, "%d", info.country_code);
    copy(out->country, sizeof out->country, d.country);
    copy(out->region, sizeof out->region, d.area[0] ? d.area : d.country);
    out->valid = 1;
    out->reachable = d.mobile;
    if (!sim_numbers) return 0;

    copy(out->operator_name, sizeof out->operator_name, HLR_SIM_OPERATOR);
    copy(out->network, sizeof out->network, HLR_SIM_OPERATOR);
    copy(out->operator_code, sizeof out->operator_code, HLR_SIM_OPERATOR_CODE);
    out->reachable = 1; /* the sim delivers to any valid number, mobile or not */
    switch (sim_outcome_for(info.e164)) {
    case SIM_UNDELIVERABLE:
        out->valid = 0;
        out->reachable = 0;
        break;
    case SIM_REJECT:
    case SIM_EXPIRE: out->reachable = 0; break;
    case SIM_SLOW: out->roaming = 1; break;
    default: break;
    }
    return 0;
}
