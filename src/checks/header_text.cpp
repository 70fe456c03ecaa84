// Text tools for the header checks, over ICU (normalization, case folding, the UTS #39
// confusable skeleton, UTS #46 IDNA) and libpsl (organizational domains).
#include <unicode/bytestream.h>
#include <unicode/idna.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <libpsl.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "checks/header_checks.hpp"

namespace relaygate::checks::header {
namespace {

// Folding works on names and domains; longer text is cut before ICU sees it.
constexpr std::size_t max_folded_octets = 1024;
constexpr std::size_t max_domain_octets = 255;

struct SpoofCheckerClose {
    void operator()(USpoofChecker* checker) const { uspoof_close(checker); }
};

// ICU's checker is safe to share between threads once opened; it is opened once.
const USpoofChecker* spoof_checker()
{
    static const std::unique_ptr<USpoofChecker, SpoofCheckerClose> checker = [] {
        UErrorCode status = U_ZERO_ERROR;
        std::unique_ptr<USpoofChecker, SpoofCheckerClose> opened(uspoof_open(&status));
        return U_SUCCESS(status) ? std::move(opened) : nullptr;
    }();
    return checker.get();
}

const icu::IDNA* idna()
{
    static const std::unique_ptr<icu::IDNA> instance = [] {
        UErrorCode status = U_ZERO_ERROR;
        std::unique_ptr<icu::IDNA> created(icu::IDNA::createUTS46Instance(
            UIDNA_NONTRANSITIONAL_TO_UNICODE | UIDNA_NONTRANSITIONAL_TO_ASCII, status));
        return U_SUCCESS(status) ? std::move(created) : nullptr;
    }();
    return instance.get();
}

const psl_ctx_t* public_suffixes()
{
    // The distribution's list (Debian's publicsuffix package) or libpsl's built-in one.
    static const psl_ctx_t* context = psl_latest(nullptr);
    return context;
}

std::string_view cut(std::string_view text, std::size_t limit)
{
    if (text.size() <= limit)
        return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;  // not inside a UTF-8 sequence
    return text.substr(0, end);
}

icu::UnicodeString without_marks(const icu::UnicodeString& text)
{
    icu::UnicodeString out;
    for (int32_t i = 0; i < text.length();) {
        UChar32 c = text.char32At(i);
        if (u_charType(c) != U_NON_SPACING_MARK)
            out.append(c);
        i += U16_LENGTH(c);
    }
    return out;
}

}  // namespace

bool is_valid_utf8(std::string_view text)
{
    std::size_t i = 0;
    while (i < text.size()) {
        auto byte = static_cast<unsigned char>(text[i]);
        std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3
                             : (byte >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > text.size())
            return false;
        std::uint32_t code = length == 1 ? byte : byte & (0x7F >> length);
        for (std::size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80)
                return false;
            code = (code << 6) | (next & 0x3F);
        }
        bool overlong = (length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
                        (length == 4 && code < 0x10000);
        if (overlong || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
            return false;
        i += length;
    }
    return true;
}

// Case is folded before the skeleton (which keeps case: "EXAMPLE" stays) and after it (the
// skeleton maps 0 to O).
std::string fold_text(std::string_view utf8)
{
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(cut(utf8, max_folded_octets).data(),
                         static_cast<int32_t>(cut(utf8, max_folded_octets).size())));
    const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(status);
    if (U_SUCCESS(status))
        text = nfkd->normalize(text, status);
    text = without_marks(text);
    text.foldCase();

    if (const USpoofChecker* checker = spoof_checker()) {
        icu::UnicodeString skeleton;
        UErrorCode skeleton_status = U_ZERO_ERROR;
        uspoof_getSkeletonUnicodeString(checker, 0, text, skeleton, &skeleton_status);
        if (U_SUCCESS(skeleton_status))
            text = skeleton;
    }
    text.foldCase();

    std::string out;
    text.toUTF8String(out);
    return out;
}

std::string fold_name(std::string_view utf8)
{
    icu::UnicodeString folded = icu::UnicodeString::fromUTF8(fold_text(utf8));
    icu::UnicodeString spaced;
    bool pending_space = false;
    for (int32_t i = 0; i < folded.length();) {
        UChar32 c = folded.char32At(i);
        i += U16_LENGTH(c);
        if (!u_isalnum(c)) {
            pending_space = !spaced.isEmpty();
            continue;
        }
        if (pending_space)
            spaced.append(static_cast<UChar>(' '));
        pending_space = false;
        spaced.append(c);
    }
    std::string out;
    spaced.toUTF8String(out);
    return out;
}

UnicodeDomain domain_to_unicode(std::string_view domain)
{
    UnicodeDomain result;
    std::string lower = ascii_lower(cut(domain, max_domain_octets));
    result.unicode = lower;
    result.has_ace = lower.starts_with("xn--") || lower.find(".xn--") != std::string::npos;
    if (!is_valid_utf8(lower)) {
        result.valid = false;
        return result;
    }
    const icu::IDNA* converter = idna();
    if (!converter)
        return result;

    std::string unicode;
    icu::StringByteSink<std::string> sink(&unicode);
    icu::IDNAInfo info;
    UErrorCode status = U_ZERO_ERROR;
    converter->nameToUnicodeUTF8(icu::StringPiece(lower.data(),
                                                  static_cast<int32_t>(lower.size())),
                                 sink, info, status);
    constexpr uint32_t punycode_errors = UIDNA_ERROR_PUNYCODE | UIDNA_ERROR_INVALID_ACE_LABEL |
                                         UIDNA_ERROR_DISALLOWED | UIDNA_ERROR_BIDI |
                                         UIDNA_ERROR_CONTEXTJ;
    if (U_FAILURE(status) || (info.getErrors() & punycode_errors) != 0) {
        result.valid = false;
        return result;
    }
    result.unicode = unicode;
    return result;
}

std::u32string to_code_points(std::string_view utf8)
{
    icu::UnicodeString text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    std::u32string out;
    for (int32_t i = 0; i < text.length();) {
        UChar32 c = text.char32At(i);
        out.push_back(static_cast<char32_t>(c));
        i += U16_LENGTH(c);
    }
    return out;
}

// Three rows of the optimal-string-alignment table; the row minimum bounds the result, so a
// hopeless comparison stops early.
std::size_t edit_distance(std::u32string_view a, std::u32string_view b, std::size_t limit)
{
    std::size_t length_gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
    if (length_gap > limit)
        return limit + 1;
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        std::size_t row_minimum = current[0];
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before[j - 2] + 1);
            row_minimum = std::min(row_minimum, current[j]);
        }
        if (row_minimum > limit)
            return limit + 1;
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return std::min(previous[b.size()], limit + 1);
}

std::string organizational_domain(std::string_view domain)
{
    std::string name = ascii_lower(cut(domain, max_domain_octets));
    while (!name.empty() && name.back() == '.')
        name.pop_back();  // libpsl reads "example.com." as under the suffix "com."
    const psl_ctx_t* context = public_suffixes();
    if (!context || name.empty() || !is_valid_utf8(name))
        return name;
    const char* registrable = psl_registrable_domain(context, name.c_str());
    return registrable ? std::string(registrable) : name;
}

}  // namespace relaygate::checks::header
