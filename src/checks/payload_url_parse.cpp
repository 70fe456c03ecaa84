// Reading a link as a browser does (WHATWG URL rules where they matter for deception), the
// registrable domain of its host, and lookalikes of our domains.
#include <libpsl.h>
#include <unicode/uidna.h>
#include <unicode/uspoof.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "checks/payload_urls.hpp"
#include "mime/decode.hpp"
#include "relaygate/message.hpp"

namespace relaygate::checks {

namespace {

constexpr std::size_t kMaxHostBytes = 253 * 4;  // room for U-labels

bool is_special_scheme(std::string_view scheme)
{
    return scheme == "http" || scheme == "https" || scheme == "ftp";
}

// Browsers drop tabs and line breaks anywhere in a URL and spaces and controls at its ends.
std::string strip_url_noise(std::string_view href)
{
    std::string out;
    for (char c : href) {
        if (c != '\t' && c != '\r' && c != '\n') out += c;
    }
    auto is_edge_noise = [](char c) { return static_cast<unsigned char>(c) <= ' '; };
    while (!out.empty() && is_edge_noise(out.back())) out.pop_back();
    std::size_t start = 0;
    while (start < out.size() && is_edge_noise(out[start])) ++start;
    return out.substr(start);
}

// One IPv4 part in WHATWG notation: 0x hex, leading-zero octal, else decimal.
std::optional<std::uint64_t> parse_ipv4_part(std::string_view part)
{
    int radix = 10;
    if (part.size() >= 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
        radix = 16;
        part.remove_prefix(2);
        if (part.empty()) return 0;
    } else if (part.size() >= 2 && part[0] == '0') {
        radix = 8;
        part.remove_prefix(1);
    }
    if (part.empty() || part.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : part) {
        int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                  : std::isxdigit(static_cast<unsigned char>(c)) ? (c | 0x20) - 'a' + 10 : 99;
        if (digit >= radix) return std::nullopt;
        value = value * radix + digit;
        if (value > 0xffffffffull) return std::nullopt;
    }
    return value;
}

// The dotted quad a browser makes of a numeric host ("3232235777", "0xC0.0250.1.1"), or
// nullopt when the host is a name.
std::optional<std::string> parse_ipv4(std::string_view host)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        std::size_t dot = host.find('.', start);
        parts.push_back(host.substr(start, dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    if (parts.size() > 1 && parts.back().empty()) parts.pop_back();
    if (parts.empty() || parts.size() > 4) return std::nullopt;

    std::uint64_t address = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto value = parse_ipv4_part(parts[i]);
        if (!value) return std::nullopt;
        bool last = i + 1 == parts.size();
        std::uint64_t room = last ? (1ull << (8 * (5 - parts.size()))) : 256;
        if (*value >= room) return std::nullopt;
        address = last ? (address << (8 * (5 - parts.size()))) | *value : (address << 8) | *value;
    }
    return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
           std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

// UTS #46 processing of a host name: to A-labels (ASCII) or U-labels; nullopt on errors.
std::optional<std::string> idna(std::string_view host, bool to_ascii)
{
    // One shared converter: ICU allows concurrent use of a UIDNA once it is open.
    static const UIDNA* const converter = [] {
        UErrorCode status = U_ZERO_ERROR;
        UIDNA* opened = uidna_openUTS46(
            UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE, &status);
        return U_SUCCESS(status) ? opened : nullptr;
    }();
    if (!converter || host.empty() || host.size() > kMaxHostBytes) return std::nullopt;
    UErrorCode status = U_ZERO_ERROR;
    std::array<char, kMaxHostBytes + 1> out{};
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    int32_t length = to_ascii
        ? uidna_nameToASCII_UTF8(converter, host.data(), static_cast<int32_t>(host.size()),
                                 out.data(), kMaxHostBytes, &info, &status)
        : uidna_nameToUnicodeUTF8(converter, host.data(), static_cast<int32_t>(host.size()),
                                  out.data(), kMaxHostBytes, &info, &status);
    if (U_FAILURE(status) || info.errors != 0 || length <= 0) return std::nullopt;
    return std::string(out.data(), static_cast<std::size_t>(length));
}

// Authority part of a special URL: after any run of slashes up to the path, query or fragment.
std::string_view authority_of(std::string_view rest)
{
    std::size_t start = rest.find_first_not_of('/');
    if (start == std::string_view::npos) return {};
    rest.remove_prefix(start);
    return rest.substr(0, rest.find_first_of("/?#"));
}

// The host text of an authority: after the last @, without a port; IPv6 keeps its brackets.
std::string_view host_of(std::string_view authority)
{
    std::size_t at = authority.rfind('@');
    std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
    if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
    return host.substr(0, host.find(':'));
}

std::string host_from_text(std::string_view raw, Url& url)
{
    std::string host = mime::detail::percent_decode(raw);
    if (!host.empty() && host.front() == '[') {
        url.is_ip = true;
        return ascii_lower(host.substr(1, host.size() - 2));
    }
    auto ascii = idna(host, true);
    host = ascii ? *ascii : ascii_lower(host);
    while (!host.empty() && host.back() == '.') host.pop_back();
    if (auto ipv4 = parse_ipv4(host)) {
        url.is_ip = true;
        url.obfuscated_ip = *ipv4 != host;
        return *ipv4;
    }
    return host;
}

const psl_ctx_t* public_suffixes()
{
    static const psl_ctx_t* const context = [] {
        psl_ctx_t* latest = psl_latest(nullptr);
        return latest ? static_cast<const psl_ctx_t*>(latest) : psl_builtin();
    }();
    return context;
}

// Damerau-Levenshtein (optimal string alignment) distance, stopping early past max.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t max)
{
    if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > max) return max + 1;
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// The UTS #39 confusable skeleton of a UTF-8 name (paypa1 and pаypal share paypal's).
std::string skeleton(std::string_view name)
{
    static USpoofChecker* const checker = [] {
        UErrorCode status = U_ZERO_ERROR;
        USpoofChecker* opened = uspoof_open(&status);
        return U_SUCCESS(status) ? opened : nullptr;
    }();
    if (!checker) return std::string(name);
    std::array<char, kMaxHostBytes * 4> out{};
    UErrorCode status = U_ZERO_ERROR;
    int32_t length = uspoof_getSkeletonUTF8(checker, 0, name.data(),
                                            static_cast<int32_t>(name.size()), out.data(),
                                            static_cast<int32_t>(out.size()), &status);
    if (U_FAILURE(status) || length < 0) return std::string(name);
    return std::string(out.data(), static_cast<std::size_t>(length));
}

bool is_same_or_under(std::string_view host, std::string_view domain)
{
    if (host == domain) return true;
    return host.size() > domain.size() && host.substr(host.size() - domain.size()) == domain &&
           host[host.size() - domain.size() - 1] == '.';
}

}  // namespace

// Reads scheme, userinfo and host; only http, https and ftp links have a host to check.
std::optional<Url> parse_url(std::string_view href)
{
    std::string text = strip_url_noise(href).substr(0, kMaxUrlBytes);
    Url url;
    std::string rest;
    if (text.size() > 4 && ascii_lower(std::string_view(text).substr(0, 4)) == "www.") {
        url.scheme = "http";
        rest = "//" + text;
    } else {
        std::size_t colon = text.find(':');
        if (colon == std::string::npos || colon == 0) return std::nullopt;
        url.scheme = ascii_lower(std::string_view(text).substr(0, colon));
        rest = text.substr(colon + 1);
    }
    if (!is_special_scheme(url.scheme)) return std::nullopt;

    // Special schemes read a backslash as a slash (WHATWG URL, "special authority slashes").
    std::string_view before_path = std::string_view(rest).substr(0, rest.find_first_of("?#"));
    url.backslash = before_path.find('\\') != std::string_view::npos;
    std::replace(rest.begin(), rest.end(), '\\', '/');

    std::string_view authority = authority_of(rest);
    if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
        url.userinfo = mime::detail::percent_decode(authority.substr(0, at));
    }
    url.host = host_from_text(host_of(authority), url);
    if (url.host.empty()) return std::nullopt;
    url.unicode_host = url.is_ip ? url.host : idna(url.host, false).value_or(url.host);
    return url;
}

std::string registrable_domain(std::string_view host)
{
    std::string name(host);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name.back()))) return name;
    const char* domain = psl_registrable_domain(public_suffixes(), name.c_str());
    return domain ? std::string(domain) : name;
}

bool has_known_suffix(std::string_view host)
{
    std::size_t dot = host.rfind('.');
    std::string label(dot == std::string_view::npos ? host : host.substr(dot + 1));
    if (label.empty()) return false;
    return psl_is_public_suffix2(public_suffixes(), label.c_str(),
                                 PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

// A lookalike is another registrable domain whose confusable skeleton equals ours, that is
// within a small edit distance of ours, or that carries ours as its leftmost labels
// (example.com.evil.test).
std::optional<std::string> lookalike_of(const Url& url, const std::vector<std::string>& ours)
{
    // Nothing to resemble: skip the registrable domain and IDNA work done per link.
    if (url.is_ip || ours.empty()) return std::nullopt;
    std::string domain = registrable_domain(url.host);
    std::string unicode_domain = idna(domain, false).value_or(domain);
    for (const std::string& raw_ours : ours) {
        std::string our = idna(ascii_lower(raw_ours), true).value_or(ascii_lower(raw_ours));
        if (our.empty() || is_same_or_under(url.host, our)) continue;

        std::string our_unicode = idna(our, false).value_or(our);
        if (skeleton(unicode_domain) == skeleton(our_unicode)) return raw_ours;
        std::size_t allowed = our.size() >= 12 ? 2 : our.size() >= 6 ? 1 : 0;
        if (allowed > 0 && edit_distance(domain, our, allowed) <= allowed) return raw_ours;
        if (url.host.substr(0, our.size() + 1) == our + ".") return raw_ours;
    }
    return std::nullopt;
}

}  // namespace relaygate::checks
