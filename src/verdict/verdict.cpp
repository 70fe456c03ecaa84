// Verdict serialisation: the schema 1 object of DESIGN.md, field by field.
#include "relaygate/verdict.hpp"

#include <nlohmann/json.hpp>

namespace relaygate {
namespace {

using nlohmann::ordered_json;

// Severity order used to combine actions: reject > tempfail > quarantine > accept. A tempfail
// outranks quarantine because a message we could not judge must not be filed away unjudged.
int severity(Action action)
{
    switch (action) {
    case Action::accept: return 0;
    case Action::quarantine: return 1;
    case Action::tempfail: return 2;
    case Action::reject: return 3;
    }
    return 0;
}

ordered_json optional_text(const std::optional<std::string>& text)
{
    return text ? ordered_json(*text) : ordered_json(nullptr);
}

ordered_json envelope_json(const Envelope& envelope)
{
    return {
        {"client_ip", envelope.client_ip.empty() ? ordered_json(nullptr)
                                                 : ordered_json(envelope.client_ip)},
        {"helo", envelope.helo.empty() ? ordered_json(nullptr) : ordered_json(envelope.helo)},
        {"mail_from", envelope.has_mail_from ? ordered_json(envelope.mail_from)
                                             : ordered_json(nullptr)},
        {"rcpt_to", envelope.rcpt_to},
        {"derived_from", envelope.derived_from},
    };
}

ordered_json auth_json(const Verdict& verdict)
{
    ordered_json dkim = ordered_json::array();
    // An unsigned message has one DKIM result, none, as RFC 8601's dkim=none says.
    if (verdict.dkim.empty()) {
        dkim.push_back({{"result", "none"}, {"domain", ""}, {"selector", ""},
                        {"algorithm", ""}, {"reason", "no DKIM-Signature field"}});
    }
    for (const auto& signature : verdict.dkim) {
        dkim.push_back({
            {"result", signature.result},
            {"domain", signature.domain},
            {"selector", signature.selector},
            {"algorithm", signature.algorithm},
            {"reason", signature.reason},
        });
    }

    const auto& dmarc = verdict.dmarc;
    return {
        {"spf", {{"result", verdict.spf.result},
                 {"domain", verdict.spf.domain},
                 {"scope", verdict.spf.scope},
                 {"reason", verdict.spf.reason}}},
        {"dkim", dkim},
        {"dmarc", {{"result", dmarc.result},
                   {"domain", dmarc.domain},
                   {"policy", dmarc.policy},
                   {"disposition", dmarc.disposition},
                   {"aligned", {{"spf", dmarc.aligned_spf}, {"dkim", dmarc.aligned_dkim}}},
                   {"reason", dmarc.reason}}},
    };
}

ordered_json layers_json(const std::vector<LayerReport>& layers)
{
    ordered_json out = ordered_json::array();
    for (const auto& layer : layers) {
        ordered_json findings = ordered_json::array();
        for (const auto& finding : layer.findings) {
            ordered_json item = {
                {"layer", finding.layer},
                {"id", finding.id},
                {"score", finding.score},
                {"detail", finding.detail},
            };
            if (finding.hard_action)
                item["action"] = to_string(*finding.hard_action);
            findings.push_back(std::move(item));
        }
        out.push_back({
            {"name", layer.name},
            {"score", layer.score},
            {"elapsed_us", layer.elapsed_us},
            {"findings", findings},
        });
    }
    return out;
}

}  // namespace

std::string_view to_string(Action action)
{
    switch (action) {
    case Action::accept: return "accept";
    case Action::quarantine: return "quarantine";
    case Action::reject: return "reject";
    case Action::tempfail: return "tempfail";
    }
    return "tempfail";
}

std::optional<Action> parse_action(std::string_view text)
{
    for (Action action : {Action::accept, Action::quarantine, Action::reject, Action::tempfail}) {
        if (text == to_string(action))
            return action;
    }
    return std::nullopt;
}

Action more_severe(Action a, Action b)
{
    return severity(a) >= severity(b) ? a : b;
}

std::string to_json_text(const Verdict& verdict, bool pretty)
{
    ordered_json out = {
        {"schema", 1},
        {"source", {{"path", verdict.path}, {"index", verdict.index}, {"offset", verdict.offset}}},
        {"message_id", optional_text(verdict.message_id)},
        {"from", optional_text(verdict.from)},
        {"subject", optional_text(verdict.subject)},
        {"envelope", envelope_json(verdict.envelope)},
        {"auth", auth_json(verdict)},
        {"layers", layers_json(verdict.layers)},
        {"score", verdict.score},
        {"action", to_string(verdict.action)},
        {"reason", verdict.reason},
        {"authentication_results", verdict.authentication_results},
        {"error", verdict.error ? ordered_json{{"kind", verdict.error->kind},
                                               {"detail", verdict.error->detail}}
                                : ordered_json(nullptr)},
    };

    // Message text is attacker-controlled and may hold invalid UTF-8: replace, never throw.
    return out.dump(pretty ? 2 : -1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace relaygate
