// The connection layer's checks as free functions over the envelope, the policy and a
// resolver, so that each is tested without the auth adapters behind checks::Services.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/dns.hpp"
#include "relaygate/message.hpp"
#include "checks/findings.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// The domain of an envelope or header address ("<User@Example.COM.>" → "example.com"),
// lowercase without a trailing dot; empty for a bare local part such as "postmaster". Shared
// with the header layer.
std::string address_domain(std::string_view address);

// Untrusted text as a finding detail shows it: at most a hundred octets, control characters
// replaced, quoted.
std::string shown(std::string_view untrusted);

}  // namespace relaygate::checks

namespace relaygate::checks::connection {

// A finding of this layer.
Finding make_finding(const Policy& policy, std::string_view id, std::string detail);

// True when domain is one of organization.domains or a subdomain of one.
bool is_our_domain(const Policy& policy, std::string_view domain);

// True when ip is inside one of the CIDRs (host names in the list are skipped).
bool address_in_any(std::string_view ip, const std::vector<std::string>& cidrs);

// True when the client is one of ours: loopback, relay.allowed_clients or a trusted relay.
bool is_our_client(const Policy& policy, std::string_view ip);

// relay_denied for mail to other domains from a client that may not relay.
void check_relay(const Policy& policy, const Envelope& envelope,
                 std::vector<Finding>& findings);

// ip_allowlisted / ip_blocklisted; returns true when the client is allowlisted, so that the
// blocklists are skipped.
bool check_ip_lists(const Policy& policy, const Envelope& envelope,
                    std::vector<Finding>& findings);

// The name to look up in a DNS blocklist: reversed octets (IPv4) or nibbles (IPv6) under
// zone; nullopt when ip is not an address.
std::optional<std::string> blocklist_query(std::string_view ip, std::string_view zone);

// dnsbl_listed / dnsbl_refused / dnsbl_error for each of connection.dnsbl.
void check_dnsbl(const Policy& policy, const Envelope& envelope, dns::Resolver& resolver,
                 std::vector<Finding>& findings);

// rdns_missing / fcrdns_mismatch / rdns_temperror.
void check_reverse_dns(const Policy& policy, const Envelope& envelope,
                       dns::Resolver& resolver, std::vector<Finding>& findings);

// helo_missing / helo_bare_ip / helo_literal_mismatch / helo_not_fqdn /
// helo_claims_our_domain / helo_claims_our_address.
void check_helo(const Policy& policy, const Envelope& envelope,
                std::vector<Finding>& findings);

// Every check above in order, as the layer runs them.
void run_connection_checks(const Policy& policy, const Envelope& envelope,
                           dns::Resolver& resolver, std::vector<Finding>& findings);

}  // namespace relaygate::checks::connection
