// CIDR parsing and matching for IPv4 and IPv6.
#include "checks/network.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace relaygate::checks {

std::optional<Network> parse_network(std::string_view text)
{
    Network network;
    std::string address(text.substr(0, text.find('/')));
    int max_prefix = 0;
    if (inet_pton(AF_INET, address.c_str(), network.bytes) == 1) {
        network.family = AF_INET;
        max_prefix = 32;
    } else if (inet_pton(AF_INET6, address.c_str(), network.bytes) == 1) {
        network.family = AF_INET6;
        max_prefix = 128;
    } else {
        return std::nullopt;
    }

    network.prefix = max_prefix;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        std::string prefix(text.substr(slash + 1));
        if (prefix.empty() || prefix.size() > 3 ||
            !std::all_of(prefix.begin(), prefix.end(), ::isdigit))
            return std::nullopt;
        network.prefix = std::stoi(prefix);
        if (network.prefix > max_prefix)
            return std::nullopt;
    }
    return network;
}

bool network_contains(const Network& network, const Network& address)
{
    if (network.family != address.family)
        return false;
    int whole_bytes = network.prefix / 8;
    if (!std::equal(network.bytes, network.bytes + whole_bytes, address.bytes))
        return false;
    int rest = network.prefix % 8;
    if (rest == 0)
        return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (network.bytes[whole_bytes] & mask) == (address.bytes[whole_bytes] & mask);
}

bool is_ip_address(std::string_view text)
{
    return text.find('/') == std::string_view::npos && parse_network(text).has_value();
}

bool address_in(std::string_view address, std::string_view cidr)
{
    auto host = parse_network(address);
    auto network = parse_network(cidr);
    if (!host || !network || address.find('/') != std::string_view::npos)
        return false;
    return network_contains(*network, *host);
}

}  // namespace relaygate::checks
