// policy — the administrator's policy file (JSON with comments): what we protect, which checks
// run in which order, what each finding weighs, and the thresholds and hard actions that turn
// findings into one action. With no file a built-in default applies.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace relaygate {

// The meaning and weight of one blocklist return code (127.0.0.2 ...).
struct ListCode {
    std::string meaning;
    double weight = 0;
};

// One DNS blocklist (connection.dnsbl) or URI blocklist (payload.uribl).
struct Blocklist {
    std::string zone;
    double weight = 5;                      // used when codes is empty or has no entry
    std::map<std::string, ListCode> codes;  // "127.0.0.2" → meaning and weight; empty: any
                                            // 127.0.0.0/8 but 127.255.255.0/24 is listed
};

struct Policy {
    std::string authserv_id = "relaygate";

    struct Organization {
        std::vector<std::string> domains;
        std::vector<std::string> people;
    } organization;

    struct Connection {
        std::vector<std::string> trusted_relays;  // CIDRs or host names
        std::vector<std::string> allow;           // CIDRs never blocked by IP lists
        std::vector<std::string> block;           // CIDRs always listed
        std::vector<Blocklist> dnsbl;
        bool fcrdns = true;
        bool helo_checks = true;
    } connection;

    struct Header {
        // Lookalike domains: the largest edit distance (Damerau-Levenshtein) still called a
        // lookalike of a protected domain; the check scales it down for short names.
        unsigned lookalike_max_distance = 2;
        // How far a Date or Received date may lie in the future, or a Received date after
        // the one above it, before it counts as forged (clock skew between hosts).
        unsigned clock_skew_seconds = 900;
    } header;

    struct Auth {
        std::size_t max_dkim_signatures = 10;
        bool allow_rsa_sha1 = false;
        // How DMARC finds the policy record and organizational domains: "psl" (RFC 7489, the
        // public suffix list) or "tree-walk" (RFC 9989, the DNS tree walk).
        std::string dmarc_discovery = "psl";
        unsigned min_rsa_bits = 1024;
    } auth;

    struct Payload {
        std::vector<Blocklist> uribl;
        std::string model;                 // path of the model file; empty: the bundled one
        std::size_t max_depth = 20;        // MIME nesting
        std::size_t max_parts = 500;
        std::size_t max_decoded_bytes = 64u << 20;
        std::size_t max_archive_depth = 3;
    } payload;

    struct Relay {
        std::vector<std::string> allowed_clients;  // CIDRs that may relay to other domains
        std::string upstream;                      // smtp://HOST:PORT or smtps://HOST:PORT
        bool require_tls = true;                   // STARTTLS required but for loopback
        std::string ca_file;
        std::string auth_user;
        std::string auth_password_file;            // or RELAYGATE_SMTP_PASSWORD
        std::string quarantine_dir;
        unsigned timeout_seconds = 60;
    } relay;

    std::vector<std::string> layers{"connection", "header", "auth", "payload"};

    struct Thresholds {
        double quarantine = 5;
        double reject = 10;
    } thresholds;

    std::map<std::string, double> weights;       // finding id → score, overriding defaults
    std::map<std::string, std::string> actions;  // finding id → hard action (quarantine,
                                                 // reject, tempfail, accept, none)
    std::optional<bool> short_circuit;           // unset: on for pipe, off for check/scan
};

// One problem in a policy file: "policy.json:12:5: thresholds.reject: expected a number".
class PolicyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

Policy default_policy();

// Every finding id the product reports, with its layer, default weight, default hard action
// ("" for none) and meaning: the one table the man page's list follows.
struct FindingInfo {
    std::string_view id;
    std::string_view layer;
    double weight = 0;
    std::string_view action;
    std::string_view meaning;
};
const std::vector<FindingInfo>& finding_catalog();
const FindingInfo* find_finding(std::string_view id);

// The score of a finding: policy.weights, else its default in the catalog, else 0.
double finding_weight(const Policy& policy, std::string_view id);
// Its hard action word: policy.actions, else the catalog's; "" when it has none (a policy
// value "none" removes a default hard action).
std::string finding_action(const Policy& policy, std::string_view id);

// Reads and validates a policy file; unknown keys, wrong types and syntax errors throw
// PolicyError naming the file, location and key path. Keys the file leaves out keep their
// default_policy() value; weights and actions are merged over the defaults id by id.
// `relaygate config check FILE` is this call.
Policy load_policy(const std::string& path);

// The same for policy text already read; name stands for the file in error messages.
Policy parse_policy(std::string_view text, const std::string& name);

// The effective policy as JSON text, as `relaygate config show` prints it.
std::string policy_to_json(const Policy& policy);

}  // namespace relaygate
