// Relay authorization and the IP allow and block lists.
#include <algorithm>

#include "checks/connection_checks.hpp"
#include "checks/network.hpp"

namespace relaygate::checks {

// Attacker text in details is cut short so that a verdict stays readable and small.
constexpr std::size_t max_shown_octets = 100;

std::string shown(std::string_view untrusted)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < untrusted.size() && i < max_shown_octets; ++i) {
        auto byte = static_cast<unsigned char>(untrusted[i]);
        out += (byte < 0x20 || byte == 0x7f) ? '?' : untrusted[i];
    }
    if (untrusted.size() > max_shown_octets)
        out += "...";
    return out + "\"";
}

// The domain of an envelope address ("<User@Example.COM>" → "example.com"); empty for a bare
// local part such as "postmaster".
std::string address_domain(std::string_view address)
{
    while (!address.empty() && (address.front() == '<' || address.front() == ' '))
        address.remove_prefix(1);
    while (!address.empty() && (address.back() == '>' || address.back() == ' '))
        address.remove_suffix(1);
    auto at = address.rfind('@');
    if (at == std::string_view::npos)
        return {};
    std::string domain = ascii_lower(address.substr(at + 1));
    if (!domain.empty() && domain.back() == '.')
        domain.pop_back();
    return domain;
}

}  // namespace relaygate::checks

namespace relaygate::checks::connection {
namespace {

// Recipients looked at per message; a longer list is cut (the first outsider decides).
constexpr std::size_t max_recipients_examined = 1000;

bool is_loopback(std::string_view ip)
{
    return address_in(ip, "127.0.0.0/8") || address_in(ip, "::1/128");
}

}  // namespace

Finding make_finding(const Policy& policy, std::string_view id, std::string detail)
{
    return scored_finding(policy, "connection", id, std::move(detail));
}

bool is_our_domain(const Policy& policy, std::string_view domain)
{
    std::string name = ascii_lower(domain);
    if (!name.empty() && name.back() == '.')
        name.pop_back();
    for (const auto& ours : policy.organization.domains) {
        if (name == ours)
            return true;
        if (name.size() > ours.size() && name.ends_with(ours) &&
            name[name.size() - ours.size() - 1] == '.')
            return true;
    }
    return false;
}

bool address_in_any(std::string_view ip, const std::vector<std::string>& cidrs)
{
    return std::any_of(cidrs.begin(), cidrs.end(),
                       [&](const std::string& cidr) { return address_in(ip, cidr); });
}

bool is_our_client(const Policy& policy, std::string_view ip)
{
    return is_loopback(ip) || address_in_any(ip, policy.relay.allowed_clients) ||
           address_in_any(ip, policy.connection.trusted_relays);
}

// With no organization.domains we cannot tell our mail from relaying, so the check is off:
// the built-in default must not refuse everything. An unknown client may not relay: it is
// not in relay.allowed_clients.
void check_relay(const Policy& policy, const Envelope& envelope,
                 std::vector<Finding>& findings)
{
    if (policy.organization.domains.empty())
        return;
    if (!envelope.client_ip.empty() &&
        address_in_any(envelope.client_ip, policy.relay.allowed_clients))
        return;

    std::size_t examined = 0;
    for (const auto& recipient : envelope.rcpt_to) {
        if (++examined > max_recipients_examined)
            break;
        std::string domain = address_domain(recipient);
        if (domain.empty() || is_our_domain(policy, domain))
            continue;
        std::string client =
            envelope.client_ip.empty() ? "an unknown client" : "client " + envelope.client_ip;
        findings.push_back(make_finding(policy, "relay_denied",
                                        "recipient " + shown(recipient) +
                                            " is not in our domains and " + client +
                                            " is not in relay.allowed_clients"));
        return;
    }
}

// The allow list wins over the block list: it is how an administrator makes an exception
// inside a blocked range.
bool check_ip_lists(const Policy& policy, const Envelope& envelope,
                    std::vector<Finding>& findings)
{
    const std::string& ip = envelope.client_ip;
    if (ip.empty())
        return false;
    for (const auto& cidr : policy.connection.allow) {
        if (address_in(ip, cidr)) {
            findings.push_back(make_finding(policy, "ip_allowlisted",
                                            "client " + ip + " is in connection.allow " +
                                                cidr));
            return true;
        }
    }
    for (const auto& cidr : policy.connection.block) {
        if (address_in(ip, cidr)) {
            findings.push_back(make_finding(policy, "ip_blocklisted",
                                            "client " + ip + " is in connection.block " +
                                                cidr));
            break;
        }
    }
    return false;
}

}  // namespace relaygate::checks::connection
