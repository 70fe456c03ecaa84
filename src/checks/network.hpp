// Addresses and CIDR networks (IPv4 and IPv6), shared by the checks that match client IPs
// against lists: trusted relays, relay authorization, allow and block lists.
#pragma once

#include <optional>
#include <string_view>

namespace relaygate::checks {

struct Network {
    int family = 0;  // AF_INET or AF_INET6
    unsigned char bytes[16] = {};
    int prefix = 0;
};

// "192.0.2.0/24", "2001:db8::/32", or a single address (a full-length prefix); nullopt when
// malformed.
std::optional<Network> parse_network(std::string_view text);

bool network_contains(const Network& network, const Network& address);

// True when text is one IPv4 or IPv6 address, without a prefix.
bool is_ip_address(std::string_view text);

// True when text is one address (no prefix) inside the CIDR text.
bool address_in(std::string_view address, std::string_view cidr);

}  // namespace relaygate::checks
