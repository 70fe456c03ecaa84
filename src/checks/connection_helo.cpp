// HELO sanity: the name a client gives should be a real host name of its own, not an address,
// a bare word, or a name or address of ours.
#include <algorithm>
#include <cctype>

#include "checks/connection_checks.hpp"
#include "checks/network.hpp"

namespace relaygate::checks::connection {
namespace {

constexpr std::size_t max_helo_length = 255;
constexpr std::size_t max_label_length = 63;

bool is_address(std::string_view text)
{
    return !text.empty() && text.find('/') == std::string_view::npos &&
           parse_network(text).has_value();
}

// "[192.0.2.1]" or "[IPv6:2001:db8::1]" → the address; nullopt for anything else.
std::optional<std::string> address_literal(std::string_view helo)
{
    if (helo.size() < 3 || helo.front() != '[' || helo.back() != ']')
        return std::nullopt;
    std::string inside(helo.substr(1, helo.size() - 2));
    if (ascii_lower(inside).starts_with("ipv6:"))
        inside.erase(0, 5);
    if (!is_address(inside))
        return std::nullopt;
    return inside;
}

// A fully-qualified name: at least two labels of letters, digits and inner hyphens, and a
// top-level label that is not all digits.
bool is_fqdn(std::string_view name)
{
    if (name.empty() || name.size() > max_helo_length || name.find('.') == std::string_view::npos)
        return false;
    std::size_t start = 0;
    std::string_view last;
    while (start <= name.size()) {
        auto end = name.find('.', start);
        if (end == std::string_view::npos)
            end = name.size();
        std::string_view label = name.substr(start, end - start);
        if (label.empty() || label.size() > max_label_length || label.front() == '-' ||
            label.back() == '-')
            return false;
        bool ldh = std::all_of(label.begin(), label.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        });
        if (!ldh)
            return false;
        last = label;
        start = end + 1;
    }
    return !std::all_of(last.begin(), last.end(),
                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// An address an outsider has no business giving: loopback, or inside our own networks.
bool is_our_address(const Policy& policy, std::string_view address)
{
    return is_our_client(policy, address);
}

void check_helo_address(const Policy& policy, const Envelope& envelope,
                        const std::string& address, bool outsider,
                        std::vector<Finding>& findings)
{
    if (outsider && is_our_address(policy, address)) {
        findings.push_back(make_finding(policy, "helo_claims_our_address",
                                        "HELO " + shown(envelope.helo) + " is our address but "
                                            "client " + envelope.client_ip + " is not ours"));
    }
    if (is_address(envelope.client_ip) && !address_in(envelope.client_ip, address)) {
        findings.push_back(make_finding(policy, "helo_literal_mismatch",
                                        "HELO " + shown(envelope.helo) +
                                            " is not the client's address " +
                                            envelope.client_ip));
    }
}

}  // namespace

void check_helo(const Policy& policy, const Envelope& envelope,
                std::vector<Finding>& findings)
{
    if (!policy.connection.helo_checks)
        return;
    if (envelope.helo.empty()) {
        if (!envelope.client_ip.empty())
            findings.push_back(make_finding(policy, "helo_missing",
                                            "client " + envelope.client_ip +
                                                " gave no HELO name"));
        return;
    }
    bool outsider = !envelope.client_ip.empty() && !is_our_client(policy, envelope.client_ip);

    // A literal is what RFC 5321 asks of a client without a name; a bare address is not.
    // The envelope derived from Received fields shows literals without their brackets, so
    // there a bare address is taken for a literal.
    if (auto literal = address_literal(envelope.helo)) {
        check_helo_address(policy, envelope, *literal, outsider, findings);
        return;
    }
    if (is_address(envelope.helo)) {
        if (envelope.derived_from != "received")
            findings.push_back(make_finding(policy, "helo_bare_ip",
                                            "HELO " + shown(envelope.helo) +
                                                " is an address without brackets"));
        check_helo_address(policy, envelope, envelope.helo, outsider, findings);
        return;
    }

    std::string name = ascii_lower(envelope.helo);
    if (name.back() == '.')
        name.pop_back();
    if (!is_fqdn(name)) {
        findings.push_back(make_finding(policy, "helo_not_fqdn",
                                        "HELO " + shown(envelope.helo) +
                                            " is not a fully-qualified domain name"));
        return;
    }
    if (outsider && is_our_domain(policy, name)) {
        findings.push_back(make_finding(policy, "helo_claims_our_domain",
                                        "HELO " + shown(envelope.helo) +
                                            " is our domain but client " + envelope.client_ip +
                                            " is not ours"));
    }
}

}  // namespace relaygate::checks::connection
