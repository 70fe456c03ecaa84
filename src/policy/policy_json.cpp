// The effective policy as JSON, in the same shape a policy file has, so that the output of
// `relaygate config show` is itself a valid policy file.
#include <nlohmann/json.hpp>

#include "relaygate/policy.hpp"

namespace relaygate {
namespace {

using Json = nlohmann::ordered_json;

Json blocklists_json(const std::vector<Blocklist>& lists)
{
    Json out = Json::array();
    for (const auto& list : lists) {
        Json codes = Json::object();
        for (const auto& [code, meaning] : list.codes)
            codes[code] = {{"meaning", meaning.meaning}, {"weight", meaning.weight}};
        out.push_back({{"zone", list.zone}, {"weight", list.weight}, {"codes", codes}});
    }
    return out;
}

// Weights and hard actions as they apply: the catalog's defaults with the policy's
// overrides on top, plus ids the policy names that the catalog does not know.
Json effective_weights(const Policy& policy)
{
    Json out = Json::object();
    for (const auto& info : finding_catalog())
        out[std::string(info.id)] = finding_weight(policy, info.id);
    for (const auto& [id, weight] : policy.weights)
        out[id] = weight;
    return out;
}

Json effective_actions(const Policy& policy)
{
    Json out = Json::object();
    for (const auto& info : finding_catalog()) {
        std::string action = finding_action(policy, info.id);
        if (!action.empty())
            out[std::string(info.id)] = action;
    }
    for (const auto& [id, action] : policy.actions)
        out[id] = action;
    return out;
}

}  // namespace

std::string policy_to_json(const Policy& policy)
{
    const auto& conn = policy.connection;
    const auto& relay = policy.relay;
    const auto& payload = policy.payload;
    Json out = {
        {"authserv_id", policy.authserv_id},
        {"organization",
         {{"domains", policy.organization.domains}, {"people", policy.organization.people}}},
        {"connection",
         {{"trusted_relays", conn.trusted_relays},
          {"allow", conn.allow},
          {"block", conn.block},
          {"dnsbl", blocklists_json(conn.dnsbl)},
          {"fcrdns", conn.fcrdns},
          {"helo_checks", conn.helo_checks}}},
        {"header",
         {{"lookalike_max_distance", policy.header.lookalike_max_distance},
          {"clock_skew_seconds", policy.header.clock_skew_seconds}}},
        {"auth",
         {{"max_dkim_signatures", policy.auth.max_dkim_signatures},
          {"allow_rsa_sha1", policy.auth.allow_rsa_sha1},
          {"dmarc_discovery", policy.auth.dmarc_discovery},
          {"min_rsa_bits", policy.auth.min_rsa_bits}}},
        {"payload",
         {{"uribl", blocklists_json(payload.uribl)},
          {"model", payload.model},
          {"max_depth", payload.max_depth},
          {"max_parts", payload.max_parts},
          {"max_decoded_bytes", payload.max_decoded_bytes},
          {"max_archive_depth", payload.max_archive_depth}}},
        {"relay",
         {{"allowed_clients", relay.allowed_clients},
          {"upstream", relay.upstream},
          {"require_tls", relay.require_tls},
          {"ca_file", relay.ca_file},
          {"auth_user", relay.auth_user},
          {"auth_password_file", relay.auth_password_file},
          {"quarantine_dir", relay.quarantine_dir},
          {"timeout_seconds", relay.timeout_seconds}}},
        {"layers", policy.layers},
        {"thresholds",
         {{"quarantine", policy.thresholds.quarantine}, {"reject", policy.thresholds.reject}}},
        {"weights", effective_weights(policy)},
        {"actions", effective_actions(policy)},
        {"short_circuit", policy.short_circuit ? Json(*policy.short_circuit) : Json(nullptr)},
    };
    return out.dump(2);
}

}  // namespace relaygate
