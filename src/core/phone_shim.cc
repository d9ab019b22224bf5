/*
 * phone_shim.cc - libphonenumber behind a C function (see phone_shim.h).
 *
 * One call, phone_shim_parse(), does what phone.c needs from libphonenumber: Parse() with
 * a default region, GetNumberType() (which is also the validity check: IsValidNumber() is
 * GetNumberType() != UNKNOWN), Format(E164) and GetRegionCodeForNumber(). The result is
 * copied into the plain C struct phone_info, so no C++ object or std::string outlives the call
 * and the C side never sees C++ types.
 *
 * Invariants:
 *   1. No exception escapes an extern "C" function (that would be undefined behaviour in the
 *      C caller): every body runs inside try/catch and turns a throw into SG_EINVAL.
 *   2. *out is fully written on every path: zeroed first, then filled on success only.
 *   3. Strings written into *out always fit and are NUL-terminated; an E.164 string that
 *      would not fit (it cannot, E.164 is at most 15 digits) is reported as invalid.
 *   4. The shim holds no state: PhoneNumberUtil::GetInstance() is a thread-safe singleton,
 *      so concurrent calls need no lock here (phone.c locks only its cache).
 */
/* phone.h and util.h have no extern "C" guards of their own; give their declarations C linkage
 * here, before phone_shim.h pulls phone.h in again (its include guard then skips it). */
extern "C" {
#include "core/phone.h"
#include "util/util.h"
}
#include "core/phone_shim.h"

#include <cctype>
#include <cstring>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

void phone_shim_init(void) {
    try {
        (void)PhoneNumberUtil::GetInstance();
    } catch (...) {
        /* Nothing to do: the first parse will try again and fail cleanly if it must. */
    }
}

/* Copies a libphonenumber region code ("FR") as lower case ("fr") into out[3]. Codes that are
 * not a country - "ZZ" (unknown) and "001" (non-geographic, e.g. +800 numbers) - give "". */
static void copy_region(const std::string &code, char out[3]) {
    out[0] = '\0';
    if (code.size() != 2 || code == "ZZ") return;
    if (!std::isalpha((unsigned char)code[0]) || !std::isalpha((unsigned char)code[1])) return;
    out[0] = (char)std::tolower((unsigned char)code[0]);
    out[1] = (char)std::tolower((unsigned char)code[1]);
    out[2] = '\0';
}

int phone_shim_parse(const char *text, const char *region, phone_info *out) {
    std::memset(out, 0, sizeof *out);
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        PhoneNumber num;
        if (util->Parse(text, region, &num) != PhoneNumberUtil::NO_PARSING_ERROR) return SG_EINVAL;
        /* IsValidNumber() is GetNumberType() != UNKNOWN: it finds the region and matches the
         * type patterns, as GetNumberType() does again below. One call instead of two halves
         * the regular-expression work, the bulk of the cost for a number never seen before. */
        PhoneNumberUtil::PhoneNumberType type = util->GetNumberType(num);
        if (type == PhoneNumberUtil::UNKNOWN) return SG_EINVAL;

        std::string e164;
        util->Format(num, PhoneNumberUtil::E164, &e164);
        if (e164.empty() || e164.size() >= sizeof out->e164) return SG_EINVAL;

        std::string code;
        util->GetRegionCodeForNumber(num, &code);

        std::memcpy(out->e164, e164.c_str(), e164.size() + 1);
        copy_region(code, out->region);
        out->country_code = num.country_code();
        out->is_mobile = type == PhoneNumberUtil::MOBILE ||
                         type == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
        return 0;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return SG_EINVAL;
    }
}
