// The connection layer: who handed us the message. Finding ids (weights and hard actions in
// finding_catalog(), src/policy/policy_defaults.cpp):
//
//   relay_denied             a recipient is outside organization.domains (and their
//                            subdomains) and the client is not in relay.allowed_clients
//                            (hard action reject)
//   ip_allowlisted           the client is in connection.allow: IP block list and DNS
//                            blocklists skipped (weight 0)
//   ip_blocklisted           the client is in connection.block (hard action reject)
//   dnsbl_listed             a connection.dnsbl zone lists the client; the score is the zone's
//                            weight for the return code (the highest when several)
//   dnsbl_refused            a blocklist answered 127.255.255.x: refused or rate limited,
//                            not listed (weight 0)
//   dnsbl_error              a blocklist lookup failed or answered outside 127.0.0.0/8
//                            (weight 0; never holds the mail)
//   rdns_missing             no PTR record for the client IP
//   fcrdns_mismatch          no PTR name resolves back to the client IP
//   rdns_temperror           reverse DNS lookups failed temporarily (weight 0)
//   helo_missing             a client IP but no HELO name
//   helo_bare_ip             HELO is an IP address without the brackets of a literal
//   helo_literal_mismatch    the HELO address literal is not the client's address
//   helo_not_fqdn            HELO is not a fully-qualified domain name
//   helo_claims_our_domain   HELO names one of our domains, the client is not ours
//   helo_claims_our_address  HELO gives loopback or one of our addresses, the client is not
//                            ours
#include "checks/connection_checks.hpp"
#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

class ConnectionLayer : public Layer {
public:
    std::string_view name() const override { return "connection"; }

    void run(Context& context, std::vector<Finding>& findings) override
    {
        connection::run_connection_checks(context.policy, context.envelope, context.resolver,
                                          findings);
    }
};

}  // namespace

namespace connection {

void run_connection_checks(const Policy& policy, const Envelope& envelope,
                           dns::Resolver& resolver, std::vector<Finding>& findings)
{
    check_relay(policy, envelope, findings);
    bool allowlisted = check_ip_lists(policy, envelope, findings);
    if (!allowlisted)
        check_dnsbl(policy, envelope, resolver, findings);
    check_reverse_dns(policy, envelope, resolver, findings);
    check_helo(policy, envelope, findings);
}

}  // namespace connection

std::unique_ptr<Layer> make_connection_layer(Services&)
{
    return std::make_unique<ConnectionLayer>();
}

}  // namespace relaygate::checks
