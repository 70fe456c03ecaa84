// Forward-confirmed reverse DNS: a PTR name of the client IP whose A or AAAA records hold
// that IP again.
#include <arpa/inet.h>

#include <cstring>

#include "checks/connection_checks.hpp"
#include "checks/network.hpp"

namespace relaygate::checks::connection {
namespace {

// A PTR set can be made as large as its owner likes; each name costs a lookup.
constexpr std::size_t max_ptr_names_checked = 10;

bool same_address(std::string_view a, std::string_view b)
{
    auto left = parse_network(a);
    auto right = parse_network(b);
    return left && right && left->family == right->family &&
           std::memcmp(left->bytes, right->bytes, sizeof left->bytes) == 0;
}

enum class Confirmation { confirmed, unconfirmed, temperror };

// Looks the PTR names up forward; a temporary failure counts only when no name confirms.
Confirmation confirm_names(const std::vector<std::string>& names, const std::string& ip,
                           dns::Resolver& resolver)
{
    auto client = parse_network(ip);
    auto type = client && client->family == AF_INET6 ? dns::RecordType::aaaa
                                                      : dns::RecordType::a;
    bool temporary = false;
    for (std::size_t i = 0; i < names.size() && i < max_ptr_names_checked; ++i) {
        dns::Answer answer = resolver.lookup(names[i], type);
        if (answer.outcome == dns::Outcome::temperror)
            temporary = true;
        for (const auto& address : answer.records) {
            if (same_address(address, ip))
                return Confirmation::confirmed;
        }
    }
    return temporary ? Confirmation::temperror : Confirmation::unconfirmed;
}

}  // namespace

// A reverse DNS failure is weak evidence, so a temporary one is recorded at zero weight
// rather than holding the mail (dns_temporary_failure is left alone), as for blocklists.
void check_reverse_dns(const Policy& policy, const Envelope& envelope,
                       dns::Resolver& resolver, std::vector<Finding>& findings)
{
    const std::string& ip = envelope.client_ip;
    if (!policy.connection.fcrdns || ip.empty() || address_in(ip, "127.0.0.0/8") ||
        address_in(ip, "::1/128"))
        return;
    auto reverse = dns::reverse_name(ip);
    if (!reverse)
        return;

    dns::Answer ptr = resolver.lookup(*reverse, dns::RecordType::ptr);
    if (ptr.outcome == dns::Outcome::temperror) {
        findings.push_back(make_finding(policy, "rdns_temperror",
                                        "PTR lookup for " + ip + " failed (" + ptr.detail +
                                            "): not counted"));
        return;
    }
    if (!ptr.ok() || ptr.records.empty()) {
        findings.push_back(make_finding(policy, "rdns_missing", ip + " has no PTR record"));
        return;
    }

    switch (confirm_names(ptr.records, ip, resolver)) {
    case Confirmation::confirmed:
        return;
    case Confirmation::temperror:
        findings.push_back(make_finding(policy, "rdns_temperror",
                                        "forward lookup of the PTR names of " + ip +
                                            " failed temporarily: not counted"));
        return;
    case Confirmation::unconfirmed:
        findings.push_back(make_finding(policy, "fcrdns_mismatch",
                                        "no PTR name of " + ip + " (" +
                                            shown(ptr.records.front()) +
                                            (ptr.records.size() > 1 ? " ..." : "") +
                                            ") resolves back to it"));
        return;
    }
}

}  // namespace relaygate::checks::connection
