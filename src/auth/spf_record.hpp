// SPF record syntax (RFC 7208 sections 4.5, 4.6, 5, 6, 7): client addresses, the parsed form of
// a record, and macro strings with their expansion.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace relaygate::auth::spf {

// An IPv4 or IPv6 address; IPv4 addresses use the first 4 bytes.
struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};

    // "192.0.2.1" or "2001:db8::1"; an IPv4-mapped IPv6 address becomes IPv4 (RFC 7208 5).
    static std::optional<IpAddress> parse(std::string_view text);

    // The first prefix_bits bits of both addresses are equal (families must match).
    bool in_network(const IpAddress& network, int prefix_bits) const;

    std::string to_string() const;            // "192.0.2.1", "2001:db8::1"
    std::string dotted_nibbles() const;       // %{i}: IPv4 as is, IPv6 as 32 dotted nibbles
    std::string reverse_name() const;         // "1.2.0.192.in-addr.arpa", "...ip6.arpa"
};

// One part of a macro string: literal text, or a macro-expand %{letter digits r delimiters}.
struct MacroLiteral {
    std::string text;
};
struct MacroExpand {
    char letter = 'd';        // lowercase macro letter
    bool url_escape = false;  // the letter was written in upper case
    int keep_labels = 0;      // the DIGIT transformer; 0 when absent (keep all)
    bool reverse = false;
    std::string delimiters;   // empty: "."
};
using MacroToken = std::variant<MacroLiteral, MacroExpand>;
using MacroString = std::vector<MacroToken>;

enum class MacroUse {
    domain,       // domain-spec and unknown modifiers: no c r t letters, no spaces
    explanation,  // exp= TXT text: c r t allowed, spaces allowed
};

// Parses a macro string; nullopt on a syntax error, with error set.
std::optional<MacroString> parse_macro_string(std::string_view text, MacroUse use,
                                              std::string& error);

// The values macros expand to; validated_domain is asked only when %{p} is used.
struct MacroValues {
    std::string sender;         // s
    std::string local_part;     // l
    std::string sender_domain;  // o
    std::string domain;         // d
    IpAddress client;           // i, c, v
    std::string helo;           // h
    // TODO: The %{r} macro is always "unknown" (RFC 7208 7.3 allows it when the receiving
    // host's name is not known); SpfOptions has no receiver name yet, and %{r} only appears
    // in explanations.
    std::string receiver = "unknown";        // r
    std::function<std::string()> validated_domain;  // p
};

std::string expand(const MacroString& macro, const MacroValues& values);

enum class Qualifier { pass, fail, softfail, neutral };
enum class Mechanism { all, include, a, mx, ptr, ip4, ip6, exists };

struct Directive {
    Qualifier qualifier = Qualifier::pass;
    Mechanism mechanism = Mechanism::all;
    std::optional<MacroString> domain;  // include a mx ptr exists; absent: current domain
    IpAddress network;                  // ip4 ip6
    int cidr4 = 32;                     // ip4, a, mx
    int cidr6 = 128;                    // ip6, a, mx
    std::string text;                   // the term as written, for reasons
};

struct Record {
    std::vector<Directive> directives;
    std::optional<MacroString> redirect;
    std::optional<MacroString> explanation;
};

// True when txt is an SPF version 1 record: "v=spf1" (any case) alone or before a space.
bool is_spf_record(std::string_view txt);

// Parses a whole record (RFC 7208 4.6: any syntax error anywhere makes it permerror);
// nullopt with error set ("unknown mechanism 'foo:bar'") on a syntax error.
std::optional<Record> parse_record(std::string_view txt, std::string& error);

// The label and length rules of RFC 7208 4.3 for a domain checked by check_host(): no empty
// label, labels of at most 63 octets, at least two labels, not an address literal.
bool is_valid_domain(std::string_view domain);

}  // namespace relaygate::auth::spf
