#include "auth/spf_record.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

namespace relaygate::auth::spf {
namespace {

constexpr std::string_view version_tag = "v=spf1";
constexpr std::size_t max_label_length = 63;     // RFC 1035 2.3.4
constexpr std::size_t max_domain_length = 253;   // RFC 7208 4.3, without the final dot
constexpr std::string_view macro_delimiters = ".-+,/_=";
constexpr std::string_view url_unreserved = "-._~";
// A macro expansion longer than this is cut: domain names are cut to 253 octets anyway, and
// an explanation this long is no longer read by anyone.
constexpr std::size_t max_expansion_length = 4096;

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool equals_nocase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return lower(x) == lower(y);
           });
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// A decimal number without leading zeros and at most max; nullopt otherwise.
std::optional<int> parse_bounded_number(std::string_view text, int max)
{
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0') ||
        !std::all_of(text.begin(), text.end(), is_digit)) {
        return std::nullopt;
    }
    int value = std::stoi(std::string(text));
    return value <= max ? std::optional<int>(value) : std::nullopt;
}

// ip4-network of RFC 7208: four decimal octets without leading zeros.
std::optional<IpAddress> parse_ip4_network(std::string_view text)
{
    IpAddress address;
    for (int octet = 0; octet < 4; ++octet) {
        std::size_t dot = text.find('.');
        bool last = octet == 3;
        if (last != (dot == std::string_view::npos)) {
            return std::nullopt;
        }
        auto value = parse_bounded_number(text.substr(0, dot), 255);
        if (!value) {
            return std::nullopt;
        }
        address.bytes[octet] = static_cast<std::uint8_t>(*value);
        text.remove_prefix(last ? text.size() : dot + 1);
    }
    return address;
}

// ip6-network: any form inet_pton accepts, kept as IPv6 even when IPv4-mapped.
std::optional<IpAddress> parse_ip6_network(std::string_view text)
{
    in6_addr raw{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), &raw) != 1) {
        return std::nullopt;
    }
    IpAddress address;
    address.v6 = true;
    std::memcpy(address.bytes.data(), &raw, 16);
    return address;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view label)
{
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) {
        return false;
    }
    bool has_alpha = std::any_of(label.begin(), label.end(), is_alpha);
    bool has_dash = label.find('-') != std::string_view::npos;
    bool allowed = std::all_of(label.begin(), label.end(),
                               [](char c) { return is_alnum(c) || c == '-'; });
    return allowed && (has_alpha || has_dash);
}

// domain-end = ( "." toplabel [ "." ] ) / macro-expand, checked on the text as written.
bool has_valid_domain_end(std::string_view text, const MacroString& parsed)
{
    if (!parsed.empty() && std::holds_alternative<MacroExpand>(parsed.back())) {
        return true;
    }
    if (!text.empty() && text.back() == '.') {
        text.remove_suffix(1);
    }
    std::size_t dot = text.rfind('.');
    return dot != std::string_view::npos && is_toplabel(text.substr(dot + 1));
}

// A domain-spec: a macro string of the domain kind with a valid domain-end.
std::optional<MacroString> parse_domain_spec(std::string_view text, std::string& error)
{
    std::optional<MacroString> parsed = parse_macro_string(text, MacroUse::domain, error);
    if (!parsed) {
        return std::nullopt;
    }
    if (!has_valid_domain_end(text, *parsed)) {
        error = "invalid domain '" + std::string(text) + "'";
        return std::nullopt;
    }
    return parsed;
}

// Splits "[/cidr4][//cidr6]" off the end of a mechanism argument.
bool split_dual_cidr(std::string_view& text, Directive& directive, std::string& error)
{
    std::size_t double_slash = text.rfind("//");
    if (double_slash != std::string_view::npos &&
        text.find('/', double_slash + 2) == std::string_view::npos) {
        auto cidr6 = parse_bounded_number(text.substr(double_slash + 2), 128);
        if (!cidr6) {
            error = "invalid IPv6 prefix length in '" + directive.text + "'";
            return false;
        }
        directive.cidr6 = *cidr6;
        text = text.substr(0, double_slash);
    }
    std::size_t slash = text.rfind('/');
    if (slash == std::string_view::npos) {
        return true;
    }
    std::string_view length = text.substr(slash + 1);
    if (!std::all_of(length.begin(), length.end(), is_digit) && slash + 1 < text.size()) {
        return true;  // a '/' inside the domain-spec, as "a:foo:bar/baz.example.com"
    }
    auto cidr4 = parse_bounded_number(length, 32);
    if (!cidr4) {
        error = "invalid IPv4 prefix length in '" + directive.text + "'";
        return false;
    }
    directive.cidr4 = *cidr4;
    text = text.substr(0, slash);
    return true;
}

// The mechanism named at the start of term (case-insensitive), and the rest of the term.
std::optional<Mechanism> mechanism_named(std::string_view name)
{
    static const std::pair<std::string_view, Mechanism> names[] = {
        {"all", Mechanism::all},     {"include", Mechanism::include}, {"a", Mechanism::a},
        {"mx", Mechanism::mx},       {"ptr", Mechanism::ptr},         {"ip4", Mechanism::ip4},
        {"ip6", Mechanism::ip6},     {"exists", Mechanism::exists}};
    for (const auto& [text, mechanism] : names) {
        if (equals_nocase(name, text)) {
            return mechanism;
        }
    }
    return std::nullopt;
}

// The argument part of a directive: ":domain-spec", "/cidr", ":network/cidr" as the
// mechanism allows.
bool parse_mechanism_argument(std::string_view rest, Directive& directive, std::string& error)
{
    Mechanism kind = directive.mechanism;
    bool takes_cidr = kind == Mechanism::a || kind == Mechanism::mx;
    bool needs_argument = kind == Mechanism::include || kind == Mechanism::exists ||
                          kind == Mechanism::ip4 || kind == Mechanism::ip6;

    if (kind == Mechanism::all) {
        if (!rest.empty()) {
            error = "invalid 'all' mechanism '" + directive.text + "'";
        }
        return rest.empty();
    }
    if (kind == Mechanism::ip4 || kind == Mechanism::ip6) {
        if (rest.size() < 2 || rest[0] != ':') {
            error = "missing address in '" + directive.text + "'";
            return false;
        }
        rest.remove_prefix(1);
        std::size_t slash = rest.find('/');
        int max = kind == Mechanism::ip4 ? 32 : 128;
        std::optional<int> prefix = max;
        if (slash != std::string_view::npos) {
            prefix = parse_bounded_number(rest.substr(slash + 1), max);
        }
        auto network = kind == Mechanism::ip4 ? parse_ip4_network(rest.substr(0, slash))
                                              : parse_ip6_network(rest.substr(0, slash));
        if (!network || !prefix) {
            error = "invalid network in '" + directive.text + "'";
            return false;
        }
        directive.network = *network;
        (kind == Mechanism::ip4 ? directive.cidr4 : directive.cidr6) = *prefix;
        return true;
    }
    if (takes_cidr && !split_dual_cidr(rest, directive, error)) {
        return false;
    }
    if (rest.empty() && !needs_argument) {
        return true;
    }
    if (rest.empty() || rest[0] != ':') {
        error = "invalid mechanism '" + directive.text + "'";
        return false;
    }
    directive.domain = parse_domain_spec(rest.substr(1), error);
    return directive.domain.has_value();
}

// One directive: [qualifier] mechanism [argument].
std::optional<Directive> parse_directive(std::string_view term, std::string& error)
{
    Directive directive;
    directive.text = std::string(term);
    switch (term.front()) {
    case '+': directive.qualifier = Qualifier::pass; term.remove_prefix(1); break;
    case '-': directive.qualifier = Qualifier::fail; term.remove_prefix(1); break;
    case '~': directive.qualifier = Qualifier::softfail; term.remove_prefix(1); break;
    case '?': directive.qualifier = Qualifier::neutral; term.remove_prefix(1); break;
    default: break;
    }
    std::size_t name_end = std::min(term.find(':'), term.find('/'));
    auto mechanism = mechanism_named(term.substr(0, name_end));
    if (!mechanism) {
        error = "unknown mechanism '" + directive.text + "'";
        return std::nullopt;
    }
    directive.mechanism = *mechanism;
    std::string_view rest = name_end == std::string_view::npos ? "" : term.substr(name_end);
    if (!parse_mechanism_argument(rest, directive, error)) {
        return std::nullopt;
    }
    return directive;
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
bool is_modifier_name(std::string_view name)
{
    return !name.empty() && is_alpha(name.front()) &&
           std::all_of(name.begin(), name.end(), [](char c) {
               return is_alnum(c) || c == '-' || c == '_' || c == '.';
           });
}

// One modifier term "name=value" into record; false with error on a syntax error.
bool parse_modifier(std::string_view term, Record& record, std::string& error)
{
    std::size_t equals = term.find('=');
    std::string_view name = term.substr(0, equals);
    std::string_view value = term.substr(equals + 1);
    bool is_redirect = equals_nocase(name, "redirect");
    bool is_exp = equals_nocase(name, "exp");
    if (!is_redirect && !is_exp) {
        return parse_macro_string(value, MacroUse::domain, error).has_value();
    }

    std::optional<MacroString>& slot = is_redirect ? record.redirect : record.explanation;
    if (slot) {
        error = "more than one '" + std::string(name) + "' modifier";
        return false;
    }
    slot = parse_domain_spec(value, error);
    return slot.has_value();
}

// A term is a modifier when it starts with a modifier name followed by '='.
bool is_modifier_term(std::string_view term)
{
    std::size_t equals = term.find('=');
    return equals != std::string_view::npos && is_modifier_name(term.substr(0, equals));
}

// Appends text with every octet outside RFC 3986's unreserved set percent-encoded.
void append_url_escaped(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    for (char c : text) {
        auto octet = static_cast<unsigned char>(c);
        if (is_alnum(c) || url_unreserved.find(c) != std::string_view::npos) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[octet >> 4]);
            out.push_back(hex[octet & 0x0F]);
        }
    }
}

// The value of one macro letter before transformers.
std::string macro_value(char letter, const MacroValues& values)
{
    switch (letter) {
    case 's': return values.sender;
    case 'l': return values.local_part;
    case 'o': return values.sender_domain;
    case 'd': return values.domain;
    case 'i': return values.client.dotted_nibbles();
    case 'p': return values.validated_domain ? values.validated_domain() : "unknown";
    case 'v': return values.client.v6 ? "ip6" : "in-addr";
    case 'h': return values.helo;
    case 'c': return values.client.to_string();
    case 'r': return values.receiver;
    case 't': return std::to_string(static_cast<long long>(std::time(nullptr)));
    default: return "";
    }
}

// Applies the transformers: split on the delimiters, reverse, keep the rightmost labels,
// join with dots (RFC 7208 7.3).
std::string transform(const std::string& value, const MacroExpand& macro)
{
    std::string delimiters = macro.delimiters.empty() ? "." : macro.delimiters;
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
            parts.push_back(value.substr(start, i - start));
            start = i + 1;
        }
    }
    if (macro.reverse) {
        std::reverse(parts.begin(), parts.end());
    }
    std::size_t keep = macro.keep_labels > 0 ? static_cast<std::size_t>(macro.keep_labels)
                                             : parts.size();
    std::size_t first = parts.size() > keep ? parts.size() - keep : 0;
    std::string joined;
    for (std::size_t i = first; i < parts.size(); ++i) {
        joined += (i == first ? "" : ".") + parts[i];
    }
    return joined;
}

// Parses the body of "%{...}" (without the braces) into macro.
bool parse_macro_expand(std::string_view body, MacroUse use, MacroExpand& macro)
{
    if (body.empty()) {
        return false;
    }
    char letter = lower(body[0]);
    std::string_view letters = use == MacroUse::explanation ? "slodiphcrtv" : "slodiphv";
    if (letters.find(letter) == std::string_view::npos) {
        return false;
    }
    macro.letter = letter;
    macro.url_escape = body[0] != letter;
    std::size_t i = 1;
    std::size_t digits_start = i;
    while (i < body.size() && is_digit(body[i])) {
        ++i;
    }
    if (i > digits_start) {
        std::string_view digits = body.substr(digits_start, i - digits_start);
        if (digits.size() > 3 || std::stoi(std::string(digits)) == 0) {
            return false;
        }
        macro.keep_labels = std::stoi(std::string(digits));
    }
    if (i < body.size() && lower(body[i]) == 'r') {
        macro.reverse = true;
        ++i;
    }
    for (; i < body.size(); ++i) {
        if (macro_delimiters.find(body[i]) == std::string_view::npos) {
            return false;
        }
        macro.delimiters.push_back(body[i]);
    }
    return true;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text)
{
    std::string copy(text);
    IpAddress address;
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
        std::memcpy(address.bytes.data(), &v4, 4);
        return address;
    }
    if (inet_pton(AF_INET6, copy.c_str(), &v6) != 1) {
        return std::nullopt;
    }
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(address.bytes.data(), reinterpret_cast<const char*>(&v6) + 12, 4);
        return address;
    }
    address.v6 = true;
    std::memcpy(address.bytes.data(), &v6, 16);
    return address;
}

bool IpAddress::in_network(const IpAddress& network, int prefix_bits) const
{
    if (v6 != network.v6) {
        return false;
    }
    for (int bit = 0; bit < prefix_bits; ++bit) {
        int mask = 0x80 >> (bit % 8);
        if ((bytes[bit / 8] & mask) != (network.bytes[bit / 8] & mask)) {
            return false;
        }
    }
    return true;
}

std::string IpAddress::to_string() const
{
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return text;
}

std::string IpAddress::dotted_nibbles() const
{
    if (!v6) {
        return to_string();
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t byte : bytes) {
        out += {hex[byte >> 4], '.', hex[byte & 0x0F], '.'};
    }
    out.pop_back();
    return out;
}

std::string IpAddress::reverse_name() const
{
    if (!v6) {
        return std::to_string(bytes[3]) + "." + std::to_string(bytes[2]) + "." +
               std::to_string(bytes[1]) + "." + std::to_string(bytes[0]) + ".in-addr.arpa";
    }
    std::string forward = dotted_nibbles();
    std::string reversed(forward.rbegin(), forward.rend());
    return reversed + ".ip6.arpa";
}

std::optional<MacroString> parse_macro_string(std::string_view text, MacroUse use,
                                              std::string& error)
{
    MacroString parsed;
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        auto octet = static_cast<unsigned char>(c);
        bool visible = octet >= 0x21 && octet <= 0x7E;
        if (c != '%') {
            if (!visible && !(use == MacroUse::explanation && c == ' ')) {
                error = "invalid character in '" + std::string(text) + "'";
                return std::nullopt;
            }
            literal.push_back(c);
            continue;
        }
        char next = i + 1 < text.size() ? text[i + 1] : '\0';
        if (next == '%' || next == '_' || next == '-') {
            literal += next == '%' ? "%" : next == '_' ? " " : "%20";
            ++i;
            continue;
        }
        std::size_t close = text.find('}', i);
        MacroExpand macro;
        if (next != '{' || close == std::string_view::npos ||
            !parse_macro_expand(text.substr(i + 2, close - i - 2), use, macro)) {
            error = "invalid macro in '" + std::string(text) + "'";
            return std::nullopt;
        }
        if (!literal.empty()) {
            parsed.push_back(MacroLiteral{literal});
            literal.clear();
        }
        parsed.push_back(macro);
        i = close;
    }
    if (!literal.empty()) {
        parsed.push_back(MacroLiteral{literal});
    }
    return parsed;
}

std::string expand(const MacroString& macro, const MacroValues& values)
{
    std::string out;
    for (const MacroToken& token : macro) {
        if (const auto* literal = std::get_if<MacroLiteral>(&token)) {
            out += literal->text;
            if (out.size() > max_expansion_length) {
                break;
            }
            continue;
        }
        const auto& expand = std::get<MacroExpand>(token);
        std::string value = transform(macro_value(expand.letter, values), expand);
        if (expand.url_escape) {
            append_url_escaped(out, value);
        } else {
            out += value;
        }
        if (out.size() > max_expansion_length) {
            break;
        }
    }
    out.resize(std::min(out.size(), max_expansion_length));
    return out;
}

bool is_spf_record(std::string_view txt)
{
    return txt.size() >= version_tag.size() &&
           equals_nocase(txt.substr(0, version_tag.size()), version_tag) &&
           (txt.size() == version_tag.size() || txt[version_tag.size()] == ' ');
}

std::optional<Record> parse_record(std::string_view txt, std::string& error)
{
    Record record;
    std::string_view rest = txt.substr(version_tag.size());
    while (!rest.empty()) {
        std::size_t start = rest.find_first_not_of(' ');
        if (start == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(start);
        std::size_t end = std::min(rest.find(' '), rest.size());
        std::string_view term = rest.substr(0, end);
        rest.remove_prefix(end);

        if (is_modifier_term(term)) {
            if (!parse_modifier(term, record, error)) {
                return std::nullopt;
            }
            continue;
        }
        auto directive = parse_directive(term, error);
        if (!directive) {
            return std::nullopt;
        }
        record.directives.push_back(std::move(*directive));
    }
    return record;
}

bool is_valid_domain(std::string_view domain)
{
    if (!domain.empty() && domain.back() == '.') {
        domain.remove_suffix(1);
    }
    if (domain.empty() || domain.size() > max_domain_length || domain.front() == '[' ||
        domain.find('.') == std::string_view::npos) {
        return false;
    }
    std::size_t start = 0;
    while (start <= domain.size()) {
        std::size_t dot = std::min(domain.find('.', start), domain.size());
        std::size_t length = dot - start;
        if (length == 0 || length > max_label_length) {
            return false;
        }
        start = dot + 1;
    }
    return true;
}

}  // namespace relaygate::auth::spf
