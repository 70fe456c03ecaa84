// Record type and outcome names, and reverse (PTR) names.
#include "relaygate/dns.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <strings.h>

namespace relaygate::dns {
namespace {

struct TypeName {
    RecordType type;
    std::string_view name;
};

constexpr std::array kTypeNames{
    TypeName{RecordType::a, "A"},       TypeName{RecordType::ns, "NS"},
    TypeName{RecordType::cname, "CNAME"}, TypeName{RecordType::soa, "SOA"},
    TypeName{RecordType::ptr, "PTR"},   TypeName{RecordType::mx, "MX"},
    TypeName{RecordType::txt, "TXT"},   TypeName{RecordType::aaaa, "AAAA"},
    TypeName{RecordType::spf, "SPF"},
};

bool equals_ignoring_case(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<RecordType> parse_record_type(std::string_view text)
{
    for (const TypeName& entry : kTypeNames) {
        if (equals_ignoring_case(entry.name, text)) {
            return entry.type;
        }
    }
    return std::nullopt;
}

std::string_view to_string(RecordType type)
{
    for (const TypeName& entry : kTypeNames) {
        if (entry.type == type) {
            return entry.name;
        }
    }
    return "UNKNOWN";
}

std::string_view to_string(Outcome outcome)
{
    switch (outcome) {
    case Outcome::found:
        return "found";
    case Outcome::nodata:
        return "nodata";
    case Outcome::nxdomain:
        return "nxdomain";
    case Outcome::temperror:
        return "temperror";
    }
    return "unknown";
}

std::optional<std::string> reverse_name(std::string_view ip)
{
    constexpr std::size_t kMaxAddressText = INET6_ADDRSTRLEN;
    if (ip.empty() || ip.size() >= kMaxAddressText) {
        return std::nullopt;
    }
    std::string text(ip);

    // IPv4: the four octets in reverse order.
    unsigned char v4[4];
    if (inet_pton(AF_INET, text.c_str(), v4) == 1) {
        char name[32];
        std::snprintf(name, sizeof name, "%u.%u.%u.%u.in-addr.arpa", v4[3], v4[2], v4[1], v4[0]);
        return std::string(name);
    }

    // IPv6: the 32 nibbles in reverse order (RFC 3596 section 2.5).
    unsigned char v6[16];
    if (inet_pton(AF_INET6, text.c_str(), v6) != 1) {
        return std::nullopt;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name;
    for (int i = 15; i >= 0; --i) {
        name += kHex[v6[i] & 0x0f];
        name += '.';
        name += kHex[v6[i] >> 4];
        name += '.';
    }
    name += "ip6.arpa";
    return name;
}

}  // namespace relaygate::dns
