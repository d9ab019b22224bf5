/*
 * phone_shim.cc - libphonenumber behind a C function (see phone_shim.h).
 *
 * One call, phone_shim_parse(), does what phone.c needs from libphonenumber: turn the text
 * into a PhoneNumber, then GetNumberType() (which is also the validity check: IsValidNumber()
 * is GetNumberType() != UNKNOWN), Format(E164) and GetRegionCodeForNumber(). The result is
 * copied into the plain C struct phone_info, so no C++ object or std::string outlives the call
 * and the C side never sees C++ types.
 *
 * Two ways to get the PhoneNumber. The full path is PhoneNumberUtil::Parse(). The fast path
 * builds the PhoneNumber by hand for text in strict E.164 form ('+' then digits only), which is
 * what most API clients send: Parse() spends about two thirds of a first-seen number's cost in
 * ICU regular expressions (extracting, normalising, finding the country code) that cannot
 * change anything in such text. The fast path copies what Parse() (libphonenumber 8.12,
 * PhoneNumberUtil::ParseHelper) does with "+<digits>", step by step:
 *
 *   a. The possible-number extraction, the extension stripping, the '+' stripping and the
 *      normalisation leave "+<digits>" unchanged apart from the '+'; the viability check passes
 *      for three digits or more. Fewer than three digits after '+' is TOO_SHORT_AFTER_IDD.
 *   b. The country calling code is the first of the 1-, 2- and 3-digit prefixes for which
 *      GetRegionCodeForCountryCode() is not "ZZ" (ExtractCountryCode; never one starting with
 *      '0'). The default region plays no part once a '+' is there.
 *   c. The rest, N, must be 2 to 17 digits long (TOO_SHORT_NSN / TOO_LONG_NSN).
 *   d. MaybeStripNationalPrefixAndCarrierCode() runs on N with the metadata of the code's main
 *      region ("US" for +1, "GB" for +44, "001" for +800...), so "+330612345678" loses its '0'.
 *      This is the one step that can change N, and the fast path only runs when it provably
 *      cannot: when that metadata's national_prefix_for_parsing is empty, or when no non-empty
 *      prefix of N can match it. That regular expression is matched anchored at the start of
 *      N (ICU lookingAt), so then the only possible match is the empty one, which strips
 *      nothing and captures nothing (the transform branch needs a non-empty capture).
 *      prefix_re answers the question, erring only towards "may match" (the fast path then
 *      declines): "0" for FR settles it on N's first digit, "0|(1(?:[12]\d|79)\d\d)" for
 *      CN needs more ("+8613812345678" is fast, "+86013812345678" is not).
 *   e. The national number is N as an integer; italian_leading_zero and number_of_leading_zeros
 *      are set from N's leading zeros as SetItalianLeadingZerosForPhoneNumber() does.
 *
 * Anything else (separators, national forms, an unknown or ambiguous case) takes the full
 * path, and so does text for which the fast path cannot settle the country code (b) or the
 * lengths (a, c): those are all invalid anyway, and rare. After the PhoneNumber is built both
 * paths run the same code (finish()), so equal PhoneNumbers give equal phone_info.
 *
 * national_prefix_for_parsing is not reachable through PhoneNumberUtil's public API, so the
 * fast path reads it from the same serialized metadata that PhoneNumberUtil parses at start-up
 * (metadata_get(), exported by libphonenumber.so), with a small protobuf wire-format reader.
 * It checks what it read against the public API (country codes, national prefixes); if
 * anything looks wrong the fast path switches itself off and every call takes the full path.
 * tests/unit/test_phone.c compares both paths on a large corpus, field by field.
 *
 * Invariants:
 *   1. No exception escapes an extern "C" function (that would be undefined behaviour in the
 *      C caller): every body runs inside try/catch and turns a throw into SG_EINVAL.
 *   2. *out is fully written on every path: zeroed first, then filled on success only.
 *   3. Strings written into *out always fit and are NUL-terminated; an E.164 string that
 *      would not fit (it cannot, E.164 is at most 15 digits) is reported as invalid.
 *   4. The shim holds no mutable state: PhoneNumberUtil::GetInstance() is a thread-safe
 *      singleton, and the fast path's table is built once, by the first caller, as a C++
 *      function-local static (thread-safe initialisation), and is read-only afterwards.
 *   5. The fast path returns a PhoneNumber only when it equals, field by field, the one
 *      Parse() returns for the same text and any default region (steps a-e above).
 */
/* phone.h and util.h have no extern "C" guards of their own; give their declarations C linkage
 * here, before phone_shim.h pulls phone.h in again (its include guard then skips it). */
extern "C" {
#include "core/phone.h"
#include "util/util.h"
}
#include "core/phone_shim.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <phonenumbers/geocoding/phonenumber_offline_geocoder.h>
#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberOfflineGeocoder;
using i18n::phonenumbers::PhoneNumberUtil;

namespace i18n {
namespace phonenumbers {
/* Defined in libphonenumber's generated metadata.cc and exported by libphonenumber.so, but
 * declared in a header (metadata.h) that is not installed: the serialized
 * PhoneMetadataCollection that PhoneNumberUtil's constructor parses. */
int metadata_size();
const void *metadata_get();
} // namespace phonenumbers
} // namespace i18n

namespace {

const size_t kMinNsn = 2;  /* PhoneNumberUtil::kMinLengthForNsn */
const size_t kMaxNsn = 17; /* PhoneNumberUtil::kMaxLengthForNsn */
const unsigned kAllDigits = 0x3ff;

/* ---- Can a national_prefix_for_parsing pattern match a non-empty prefix of N? ---- */

/* A national_prefix_for_parsing pattern compiled into a tree that is evaluated over sets of
 * positions in N instead of by backtracking: a node maps the set S of positions where it may
 * start to the set of positions where it may end (bit p = "after p digits of N"; N has at most
 * kMaxNsn digits, so 32 bits are enough). For the regular constructs handled here this gives
 * exactly the prefixes of N in the pattern's language, so it finds a match whenever ICU's
 * backtracking lookingAt() could. Where ICU means something stronger (the anchors '^' and '$',
 * possessive quantifiers) the tree means something weaker, which can only report more matches,
 * never fewer: the fast path then declines a number it could have handled, never the reverse. */
struct re_node {
    enum kind_t { CHARS, SEQ, ALT, REPEAT } kind;
    unsigned digits = 0;   /* CHARS: the digits the character (class) matches */
    int min = 0, max = 0;  /* REPEAT: bounds, max < 0 for unbounded */
    std::vector<int> kids; /* SEQ and ALT: children in order; REPEAT: the repeated node */
    explicit re_node(kind_t k) : kind(k) {}
};

/* A compiled pattern: nodes[root] is the whole pattern. */
struct prefix_re {
    std::vector<re_node> nodes;
    int root = -1;

    /* The end positions of matches of node i starting at positions in s, in digits[0..len). */
    uint32_t eval(int i, uint32_t s, const char *digits, size_t len) const {
        if (!s) return 0;
        const re_node &n = nodes[(size_t)i];
        uint32_t out = 0;
        switch (n.kind) {
        case re_node::CHARS:
            for (size_t p = 0; p < len; p++)
                if ((s >> p & 1) && (n.digits >> (digits[p] - '0') & 1)) out |= 1u << (p + 1);
            return out;
        case re_node::SEQ:
            out = s;
            for (int k : n.kids) out = eval(k, out, digits, len);
            return out;
        case re_node::ALT:
            for (int k : n.kids) out |= eval(k, s, digits, len);
            return out;
        case re_node::REPEAT: {
            uint32_t cur = s;
            int done = 0;
            for (; done < n.min && cur; done++) cur = eval(n.kids[0], cur, digits, len);
            out = cur;
            /* Each round adds the positions reachable with one more repetition; eval() is
             * applied to each start position independently, so feeding it only the positions
             * not seen before loses nothing, and the loop ends within len + 1 rounds. */
            while (cur && (n.max < 0 || done < n.max)) {
                cur = eval(n.kids[0], cur, digits, len) & ~out;
                out |= cur;
                done++;
            }
            return out;
        }
        }
        return 0;
    }

    /* True when some non-empty prefix of digits[0..len) may match the whole pattern. */
    bool matches_nonempty_prefix(const char *digits, size_t len) const {
        return (eval(root, 1, digits, len) & ~1u) != 0;
    }
};

/* Recursive descent over the subset of ICU syntax the metadata uses: literals, '|', groups
 * "(...)" and "(?:...)", classes "[...]" with ranges and \d, \d, '.', the anchors '^' and '$',
 * and the quantifiers ?, *, +, {m}, {m,}, {m,n} (optionally lazy or possessive). Anything else
 * makes compile() fail, and the caller then declines every number of that calling code. */
class prefix_re_compiler {
  public:
    explicit prefix_re_compiler(const std::string &re) : p_(re.c_str()), end_(p_ + re.size()) {}

    bool compile(prefix_re *out) {
        int root = alternation();
        if (!ok_ || p_ != end_) return false;
        re_.root = root;
        *out = std::move(re_);
        return true;
    }

  private:
    const char *p_, *end_;
    bool ok_ = true;
    int depth_ = 0;
    prefix_re re_;

    int add(re_node n) {
        re_.nodes.push_back(std::move(n));
        return (int)re_.nodes.size() - 1;
    }

    int fail() {
        ok_ = false;
        return add(re_node(re_node::SEQ));
    }

    int alternation() {
        re_node alt(re_node::ALT);
        alt.kids.push_back(sequence());
        while (ok_ && p_ < end_ && *p_ == '|') {
            p_++;
            alt.kids.push_back(sequence());
        }
        return add(std::move(alt));
    }

    int sequence() {
        re_node seq(re_node::SEQ); /* empty sequence: matches "" */
        while (ok_ && p_ < end_ && *p_ != '|' && *p_ != ')') seq.kids.push_back(quantified());
        return add(std::move(seq));
    }

    int chars(unsigned digits) {
        re_node n(re_node::CHARS);
        n.digits = digits;
        return add(std::move(n));
    }

    int atom() {
        char c = *p_++;
        if (c >= '0' && c <= '9') return chars(1u << (c - '0'));
        switch (c) {
        case '^':
        case '$':
            return add(re_node(re_node::SEQ)); /* read as "matches the empty string" */
        case '.':
            return chars(kAllDigits);
        case '\\':
            if (p_ < end_ && *p_ == 'd') {
                p_++;
                return chars(kAllDigits);
            }
            return fail();
        case '[':
            return char_class();
        case '(': {
            if (p_ < end_ && *p_ == '?') {
                if (p_ + 1 < end_ && p_[1] == ':') p_ += 2;
                else return fail(); /* lookaround, flags, atomic or named group */
            }
            if (++depth_ > 50) return fail();
            int inner = alternation();
            depth_--;
            if (!ok_ || p_ >= end_ || *p_ != ')') return fail();
            p_++;
            return inner;
        }
        case '*':
        case '+':
        case '?':
        case '{':
        case '}':
        case ')':
        case '|':
        case ']':
            return fail();
        default: /* another literal character: never matches a digit */
            return chars(0);
        }
    }

    int char_class() {
        unsigned digits = 0;
        if (p_ < end_ && *p_ == '^') return fail(); /* negated sets: not needed, not handled */
        bool first = true;
        while (p_ < end_ && (*p_ != ']' || first)) {
            first = false;
            char lo = *p_++;
            if (lo == '\\') {
                if (p_ < end_ && *p_ == 'd') {
                    p_++;
                    digits = kAllDigits;
                    continue;
                }
                return fail();
            }
            if (lo == '[') return fail(); /* nested sets and set operations */
            char hi = lo;
            if (p_ + 1 < end_ && *p_ == '-' && p_[1] != ']') {
                hi = p_[1];
                p_ += 2;
                if (hi == '\\' || hi == '[') return fail();
            }
            for (int d = 0; d <= 9; d++)
                if ('0' + d >= lo && '0' + d <= hi) digits |= 1u << d;
        }
        if (p_ >= end_) return fail();
        p_++; /* ']' */
        return chars(digits);
    }

    /* Reads a decimal bound of a {m,n} quantifier; values above 100 read as 100 (more than N
     * has digits, so the result is the same). */
    bool bound(int *v) {
        if (p_ >= end_ || !std::isdigit((unsigned char)*p_)) return false;
        *v = 0;
        while (p_ < end_ && std::isdigit((unsigned char)*p_)) {
            *v = *v * 10 + (*p_ - '0');
            if (*v > 100) *v = 100;
            p_++;
        }
        return true;
    }

    int quantified() {
        int a = atom();
        if (!ok_ || p_ >= end_) return a;
        int min, max;
        char c = *p_;
        if (c == '?') {
            min = 0, max = 1;
        } else if (c == '*') {
            min = 0, max = -1;
        } else if (c == '+') {
            min = 1, max = -1;
        } else if (c == '{') {
            p_++;
            if (!bound(&min)) return fail();
            max = min;
            if (p_ < end_ && *p_ == ',') {
                p_++;
                max = -1;
                if (p_ < end_ && *p_ != '}' && !bound(&max)) return fail();
            }
            if (p_ >= end_ || *p_ != '}' || (max >= 0 && max < min)) return fail();
        } else {
            return a;
        }
        p_++;
        if (p_ < end_ && (*p_ == '?' || *p_ == '+')) p_++; /* lazy or possessive */
        if (p_ < end_ && (*p_ == '?' || *p_ == '*' || *p_ == '+' || *p_ == '{')) return fail();
        re_node r(re_node::REPEAT);
        r.min = min;
        r.max = max;
        r.kids.push_back(a);
        return add(std::move(r));
    }
};

/* ---- Reading the serialized metadata ---- */

/* The fields of one PhoneMetadata the fast path needs. */
struct region_meta {
    std::string id;
    int country_code = 0;
    std::string national_prefix;
    bool has_npfp = false;
    std::string npfp; /* national_prefix_for_parsing */
};

/* A minimal reader of the protobuf wire format, bounds-checked: every read fails (returns
 * false) rather than run past the end. */
struct wire_reader {
    const uint8_t *p, *end;

    bool varint(uint64_t *v) {
        *v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= end) return false;
            uint8_t b = *p++;
            *v |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) return true;
        }
        return false;
    }

    /* Reads a length-delimited payload into [*start, *start + *len). */
    bool bytes(const uint8_t **start, size_t *len) {
        uint64_t n;
        if (!varint(&n) || n > (uint64_t)(end - p)) return false;
        *start = p;
        *len = (size_t)n;
        p += n;
        return true;
    }

    bool skip(int wire_type) {
        uint64_t v;
        const uint8_t *s;
        size_t n;
        switch (wire_type) {
        case 0:
            return varint(&v);
        case 1:
            if (end - p < 8) return false;
            p += 8;
            return true;
        case 2:
            return bytes(&s, &n);
        case 5:
            if (end - p < 4) return false;
            p += 4;
            return true;
        default: /* groups (3, 4) are not used by this schema */
            return false;
        }
    }
};

bool read_region(const uint8_t *start, size_t len, region_meta *m) {
    wire_reader r = {start, start + len};
    while (r.p < r.end) {
        uint64_t key;
        if (!r.varint(&key)) return false;
        int field = (int)(key >> 3), wire_type = (int)(key & 7);
        const uint8_t *s;
        size_t n;
        if (field == PhoneMetadata::kCountryCodeFieldNumber && wire_type == 0) {
            uint64_t v;
            if (!r.varint(&v)) return false;
            m->country_code = (int)v;
        } else if (wire_type == 2 &&
                   (field == PhoneMetadata::kIdFieldNumber ||
                    field == PhoneMetadata::kNationalPrefixFieldNumber ||
                    field == PhoneMetadata::kNationalPrefixForParsingFieldNumber)) {
            if (!r.bytes(&s, &n)) return false;
            std::string v((const char *)s, n);
            if (field == PhoneMetadata::kIdFieldNumber) {
                m->id = v;
            } else if (field == PhoneMetadata::kNationalPrefixFieldNumber) {
                m->national_prefix = v;
            } else {
                m->has_npfp = true;
                m->npfp = v;
            }
        } else if (field == PhoneMetadata::kIdFieldNumber ||
                   field == PhoneMetadata::kCountryCodeFieldNumber ||
                   field == PhoneMetadata::kNationalPrefixFieldNumber ||
                   field == PhoneMetadata::kNationalPrefixForParsingFieldNumber) {
            return false; /* a field we need, with an unexpected wire type */
        } else if (!r.skip(wire_type)) {
            return false;
        }
    }
    return true;
}

/* ---- The fast path's table ---- */

/* What the fast path knows about national prefixes of one calling code's main region. */
enum strip_kind {
    STRIP_NEVER,   /* no national_prefix_for_parsing: Parse() never strips anything */
    STRIP_PATTERN, /* strips only if the pattern matches a non-empty prefix of N */
    STRIP_UNKNOWN, /* the pattern or the metadata was not understood: always decline */
};

struct fast_table {
    bool usable = false;
    bool known[1000] = {}; /* known[cc]: GetRegionCodeForCountryCode(cc) != "ZZ" */
    strip_kind strip[1000] = {};
    prefix_re prefix[1000]; /* compiled national_prefix_for_parsing when STRIP_PATTERN */
};

/* Builds the table; leaves usable false if the metadata cannot be read or does not agree with
 * what the public API says. */
void build_table(const PhoneNumberUtil *util, fast_table *t) {
    namespace pn = i18n::phonenumbers;
    const uint8_t *blob = static_cast<const uint8_t *>(pn::metadata_get());
    int size = pn::metadata_size();
    if (!blob || size <= 0) return;

    std::map<std::string, region_meta> geo; /* by region id */
    std::map<int, region_meta> non_geo;     /* "001" entries, by calling code */
    std::set<std::string> dup_geo;
    std::set<int> dup_non_geo;
    wire_reader r = {blob, blob + size};
    while (r.p < r.end) {
        uint64_t key;
        if (!r.varint(&key)) return;
        if ((key >> 3) != (uint64_t)PhoneMetadataCollection::kMetadataFieldNumber ||
            (key & 7) != 2) {
            if (!r.skip((int)(key & 7))) return;
            continue;
        }
        const uint8_t *s;
        size_t n;
        region_meta m;
        if (!r.bytes(&s, &n) || !read_region(s, n, &m)) return;
        /* A region listed twice: which copy PhoneNumberUtil keeps is its business; never take
         * the fast path for it. */
        if (m.id == "001") {
            if (!non_geo.emplace(m.country_code, m).second) dup_non_geo.insert(m.country_code);
        } else {
            if (!geo.emplace(m.id, m).second) dup_geo.insert(m.id);
        }
    }

    /* Cross-check the reader against the public API. */
    std::set<std::string> regions;
    util->GetSupportedRegions(&regions);
    if (regions.empty() || regions.size() != geo.size()) return;
    for (const std::string &region : regions) {
        auto it = geo.find(region);
        if (it == geo.end()) return;
        if (it->second.country_code != util->GetCountryCodeForRegion(region)) return;
        std::string ndd;
        util->GetNddPrefixForRegion(region, false, &ndd);
        if (ndd != it->second.national_prefix) return;
    }
    std::set<int> global;
    util->GetSupportedGlobalNetworkCallingCodes(&global);
    if (global.size() != non_geo.size()) return;
    for (int cc : global)
        if (!non_geo.count(cc)) return;

    for (int cc = 1; cc < 1000; cc++) {
        std::string region;
        util->GetRegionCodeForCountryCode(cc, &region);
        if (region == "ZZ") continue;
        t->known[cc] = true;
        const region_meta *m = nullptr;
        if (region == "001") {
            auto it = non_geo.find(cc);
            if (it != non_geo.end() && !dup_non_geo.count(cc)) m = &it->second;
        } else {
            auto it = geo.find(region);
            if (it != geo.end() && !dup_geo.count(region) && it->second.country_code == cc)
                m = &it->second;
        }
        if (!m) t->strip[cc] = STRIP_UNKNOWN;
        else if (m->npfp.empty()) t->strip[cc] = STRIP_NEVER;
        else if (prefix_re_compiler(m->npfp).compile(&t->prefix[cc])) t->strip[cc] = STRIP_PATTERN;
        else t->strip[cc] = STRIP_UNKNOWN;
    }
    t->usable = true;
}

const fast_table &table() {
    static const fast_table *t = [] {
        fast_table *nt = new fast_table(); /* lives as long as the process */
        try {
            build_table(PhoneNumberUtil::GetInstance(), nt);
        } catch (...) {
            nt->usable = false;
        }
        return nt;
    }();
    return *t;
}

/* The fast path (steps a-e of the file comment). Returns true and sets *num when it can build
 * exactly the PhoneNumber Parse() would; false when the caller must use Parse(). */
bool build_fast(const char *text, PhoneNumber *num) {
    const fast_table &t = table();
    if (!t.usable || text[0] != '+') return false;
    const char *digits = text + 1;
    size_t n = 0;
    for (; digits[n]; n++)
        if (digits[n] < '0' || digits[n] > '9' || n > 3 + kMaxNsn) return false;
    if (n <= kMinNsn || digits[0] == '0') return false; /* a. and b. */

    int cc = 0;
    size_t cc_len = 0;
    for (size_t i = 0; i < 3 && !cc_len; i++) {
        cc = cc * 10 + (digits[i] - '0');
        if (t.known[cc]) cc_len = i + 1;
    }
    if (!cc_len) return false;

    const char *nsn = digits + cc_len;
    size_t nsn_len = n - cc_len;
    if (nsn_len < kMinNsn || nsn_len > kMaxNsn) return false; /* c. */
    if (t.strip[cc] == STRIP_UNKNOWN) return false;           /* d. */
    if (t.strip[cc] == STRIP_PATTERN && t.prefix[cc].matches_nonempty_prefix(nsn, nsn_len))
        return false;

    uint64_t value = 0;
    for (size_t i = 0; i < nsn_len; i++) value = value * 10 + (uint64_t)(nsn[i] - '0');
    num->Clear();
    num->set_country_code(cc);
    if (nsn[0] == '0') { /* e. */
        num->set_italian_leading_zero(true);
        size_t zeros = 1; /* an all-zero N keeps its last zero as the number */
        while (zeros < nsn_len - 1 && nsn[zeros] == '0') zeros++;
        if (zeros != 1) num->set_number_of_leading_zeros((int32_t)zeros);
    }
    num->set_national_number(value);
    return true;
}

/* Copies a libphonenumber region code ("FR") as lower case ("fr") into out[3]. Codes that are
 * not a country - "ZZ" (unknown) and "001" (non-geographic, e.g. +800 numbers) - give "". */
void copy_region(const std::string &code, char out[3]) {
    out[0] = '\0';
    if (code.size() != 2 || code == "ZZ") return;
    if (!std::isalpha((unsigned char)code[0]) || !std::isalpha((unsigned char)code[1])) return;
    out[0] = (char)std::tolower((unsigned char)code[0]);
    out[1] = (char)std::tolower((unsigned char)code[1]);
    out[2] = '\0';
}

/* What both paths do with the PhoneNumber: validity and type, E.164, region. *out is zeroed
 * by the caller. */
int finish(const PhoneNumberUtil *util, const PhoneNumber &num, phone_info *out) {
    /* IsValidNumber() is GetNumberType() != UNKNOWN: it finds the region and matches the
     * type patterns, as GetNumberType() does again below. One call instead of two halves
     * the regular-expression work. */
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
}

int parse_full(const PhoneNumberUtil *util, const char *text, const char *region,
               phone_info *out) {
    PhoneNumber num;
    if (util->Parse(text, region, &num) != PhoneNumberUtil::NO_PARSING_ERROR) return SG_EINVAL;
    return finish(util, num, out);
}

/* True when a and b are the same PhoneNumber, every field and every has_ bit. */
bool same_number(const PhoneNumber &a, const PhoneNumber &b) {
    return a.has_country_code() == b.has_country_code() && a.country_code() == b.country_code() &&
           a.has_national_number() == b.has_national_number() &&
           a.national_number() == b.national_number() &&
           a.has_extension() == b.has_extension() && a.extension() == b.extension() &&
           a.has_italian_leading_zero() == b.has_italian_leading_zero() &&
           a.italian_leading_zero() == b.italian_leading_zero() &&
           a.has_number_of_leading_zeros() == b.has_number_of_leading_zeros() &&
           a.number_of_leading_zeros() == b.number_of_leading_zeros() &&
           a.has_raw_input() == b.has_raw_input() && a.raw_input() == b.raw_input() &&
           a.has_country_code_source() == b.has_country_code_source() &&
           a.country_code_source() == b.country_code_source() &&
           a.has_preferred_domestic_carrier_code() == b.has_preferred_domestic_carrier_code() &&
           a.preferred_domestic_carrier_code() == b.preferred_domestic_carrier_code();
}

} // namespace

void phone_shim_init(void) {
    try {
        (void)PhoneNumberUtil::GetInstance();
        (void)table();
    } catch (...) {
        /* Nothing to do: the first parse will try again and fail cleanly if it must. */
    }
}

int phone_shim_parse(const char *text, const char *region, phone_info *out) {
    std::memset(out, 0, sizeof *out);
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        PhoneNumber num;
        if (build_fast(text, &num)) return finish(util, num, out);
        return parse_full(util, text, region, out);
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return SG_EINVAL;
    }
}

/* ---- For tests ---- */

int phone_shim_parse_fast(const char *text, phone_info *out) {
    std::memset(out, 0, sizeof *out);
    try {
        PhoneNumber num;
        if (!build_fast(text, &num)) return PHONE_SHIM_DECLINED;
        return finish(PhoneNumberUtil::GetInstance(), num, out);
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return SG_EINVAL;
    }
}

int phone_shim_parse_full(const char *text, const char *region, phone_info *out) {
    std::memset(out, 0, sizeof *out);
    try {
        return parse_full(PhoneNumberUtil::GetInstance(), text, region, out);
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return SG_EINVAL;
    }
}

int phone_shim_fast_same_number(const char *text, const char *region) {
    try {
        PhoneNumber fast, full;
        if (!build_fast(text, &fast)) return 0;
        if (PhoneNumberUtil::GetInstance()->Parse(text, region, &full) !=
            PhoneNumberUtil::NO_PARSING_ERROR)
            return -1;
        return same_number(fast, full) ? 1 : -1;
    } catch (...) {
        return -1;
    }
}

int phone_shim_fast_usable(void) {
    try {
        return table().usable ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

size_t phone_shim_calling_codes(int *out, size_t max) {
    try {
        std::set<int> codes;
        PhoneNumberUtil::GetInstance()->GetSupportedCallingCodes(&codes);
        size_t n = 0;
        for (int cc : codes) {
            if (n < max) out[n] = cc;
            n++;
        }
        return n;
    } catch (...) {
        return 0;
    }
}

/* Writes s into out[size], NUL-terminated; false if it does not fit. */
static bool copy_out(const std::string &s, char *out, size_t size) {
    if (s.size() >= size) return false;
    std::memcpy(out, s.c_str(), s.size() + 1);
    return true;
}

int phone_shim_ndd_prefix(int country_code, char *out, size_t size) {
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        std::string region, ndd;
        util->GetRegionCodeForCountryCode(country_code, &region);
        util->GetNddPrefixForRegion(region, true, &ndd);
        return copy_out(ndd, out, size) ? 0 : SG_EINVAL;
    } catch (...) {
        return SG_EINVAL;
    }
}

size_t phone_shim_examples(char (*out)[PHONE_E164_MAX], size_t max) {
    try {
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        size_t n = 0;
        auto add = [&](const PhoneNumber &num) {
            std::string e164;
            util->Format(num, PhoneNumberUtil::E164, &e164);
            if (n < max && !copy_out(e164, out[n], sizeof out[n])) return;
            n++;
        };
        std::set<std::string> regions;
        util->GetSupportedRegions(&regions);
        for (const std::string &region : regions) {
            for (int type = 0; type <= PhoneNumberUtil::UNKNOWN; type++) {
                PhoneNumber num;
                if (util->GetExampleNumberForType(
                        region, static_cast<PhoneNumberUtil::PhoneNumberType>(type), &num))
                    add(num);
            }
        }
        std::set<int> global;
        util->GetSupportedGlobalNetworkCallingCodes(&global);
        for (int cc : global) {
            PhoneNumber num;
            if (util->GetExampleNumberForNonGeoEntity(cc, &num)) add(num);
        }
        return n;
    } catch (...) {
        return 0;
    }
}

/* ---- HLR details: the geocoder and the region's name ---- */

namespace {

/* Copies s into out[size], cut at a character boundary when too long (UTF-8). */
void copy_utf8(const std::string &s, char *out, size_t size) {
    size_t n = s.size() < size - 1 ? s.size() : size - 1;
    while (n > 0 && n < s.size() && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    std::memcpy(out, s.data(), n);
    out[n] = 0;
}

} // namespace

int phone_shim_describe(const char *e164, phone_details *out) {
    std::memset(out, 0, sizeof *out);
    try {
        /* The geocoder is built once, by the first caller (thread-safe static initialisation);
         * its lookups lock a mutex of its own, so it is shared by every thread. */
        static const PhoneNumberOfflineGeocoder geocoder;
        const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
        PhoneNumber num;
        if (!build_fast(e164, &num) && util->Parse(e164, "ZZ", &num) != PhoneNumberUtil::NO_PARSING_ERROR)
            return SG_EINVAL;
        PhoneNumberUtil::PhoneNumberType t = util->GetNumberType(num);
        if (t == PhoneNumberUtil::UNKNOWN) return SG_EINVAL;
        out->mobile = t == PhoneNumberUtil::MOBILE || t == PhoneNumberUtil::FIXED_LINE_OR_MOBILE;
        std::string region;
        util->GetRegionCodeForNumber(num, &region);
        const icu::Locale english("en");
        if (region.size() == 2) {
            icu::UnicodeString name;
            icu::Locale("", region.c_str()).getDisplayCountry(english, name);
            std::string utf8;
            name.toUTF8String(utf8);
            if (utf8 != region) copy_utf8(utf8, out->country, sizeof out->country);
        }
        copy_utf8(geocoder.GetDescriptionForValidNumber(num, english), out->area, sizeof out->area);
        return 0;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return SG_EINVAL;
    }
}
