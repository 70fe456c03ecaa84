// verdict — one message's result: findings per layer, score, action and why, as the schema 1
// JSON object of DESIGN.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"

namespace relaygate {

enum class Action { accept, quarantine, reject, tempfail };
std::string_view to_string(Action action);
std::optional<Action> parse_action(std::string_view text);
// The more severe of two actions: reject > tempfail > quarantine > accept.
Action more_severe(Action a, Action b);

struct Finding {
    std::string layer;
    std::string id;       // stable, documented in the man page ("dmarc_reject", "dnsbl_listed")
    double score = 0;
    std::string detail;   // one line for people
    std::optional<Action> hard_action;  // set when this finding decides the action on its own
};

struct LayerReport {
    std::string name;
    double score = 0;
    std::int64_t elapsed_us = 0;
    std::vector<Finding> findings;
};

struct VerdictError {
    std::string kind;    // "parse", "truncated", "too_large", "dns", "internal", "read"
    std::string detail;
};

struct Verdict {
    std::string path;
    std::size_t index = 0;
    std::uint64_t offset = 0;

    std::optional<std::string> message_id, from, subject;
    Envelope envelope;

    auth::SpfOutcome spf;
    std::vector<auth::DkimSignatureOutcome> dkim;
    auth::DmarcOutcome dmarc;

    std::vector<LayerReport> layers;
    double score = 0;
    Action action = Action::accept;
    std::string reason;
    std::string authentication_results;
    std::optional<VerdictError> error;
};

// Schema 1, one line (JSON Lines) or indented for people.
std::string to_json_text(const Verdict& verdict, bool pretty);

}  // namespace relaygate
