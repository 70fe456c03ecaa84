// Domain names as the dns module keys them: presentation form, lowercase ASCII, no trailing
// dot, the root as "". Shared by the zone world, the live resolver, the cache and recordings.
#pragma once

#include "dns/ldns.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relaygate::dns::detail {

// RFC 1035 limits, in presentation form without the trailing dot.
constexpr std::size_t kMaxNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

// The key form of name; nullopt when name is not a valid domain name.
std::optional<std::string> canonical_name(std::string_view name);

// The name one label up ("a.b" -> "b", "b" -> ""); nullopt for the root.
std::optional<std::string_view> parent_name(std::string_view canonical);

// A dname rdf as record text: case kept, no trailing dot, the root as ".".
std::string dname_text(const ldns_rdf* dname);

// A dname rdf in key form.
std::string dname_key(const ldns_rdf* dname);

// One resource record's data as Answer::records holds it (see dns.hpp).
std::string record_text(const ldns_rr* rr);

// The negative-caching TTL a SOA record gives (RFC 2308 section 5: the smaller of its own TTL
// and its MINIMUM field).
std::uint32_t soa_negative_ttl(const ldns_rr* soa);

// Owning handles for the ldns objects the module uses.
struct RdfFree {
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct RrFree {
    void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct PktFree {
    void operator()(ldns_pkt* pkt) const { ldns_pkt_free(pkt); }
};

}  // namespace relaygate::dns::detail
