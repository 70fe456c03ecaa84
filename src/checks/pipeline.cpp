// The pipeline: one message through the layers in policy order, then the decision.
#include <chrono>
#include <functional>
#include <map>

#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

using LayerFactory = std::function<std::unique_ptr<Layer>(Services&)>;

// Every layer the product has, by the name the policy's "layers" list uses.
const std::map<std::string, LayerFactory>& layer_factories()
{
    static const std::map<std::string, LayerFactory> factories = {
        {"connection", make_connection_layer},
        {"header", make_header_layer},
        {"auth", make_auth_layer},
        {"payload", make_payload_layer},
    };
    return factories;
}

auth::DkimOptions dkim_options(const Policy& policy)
{
    auth::DkimOptions options;
    options.max_signatures = policy.auth.max_dkim_signatures;
    options.allow_rsa_sha1 = policy.auth.allow_rsa_sha1;
    options.min_rsa_bits = policy.auth.min_rsa_bits;
    return options;
}

auth::DmarcOptions dmarc_options(const Policy& policy)
{
    auth::DmarcOptions options;
    options.tree_walk = policy.auth.dmarc_discovery == "tree-walk";
    return options;
}

std::optional<std::string> header_text(const Message& message, std::string_view name)
{
    const HeaderField* field = message.first(name);
    if (!field)
        return std::nullopt;
    return field->value;
}

// A message we could not read whole or that is not a message at all still gets a verdict.
std::optional<VerdictError> input_error(const RawMessage& raw, const Message& message)
{
    if (!raw.error.empty()) {
        std::string kind = raw.error.find("exceeds") != std::string::npos ? "too_large"
                                                                         : "truncated";
        return VerdictError{kind, raw.error};
    }
    if (raw.bytes.empty())
        return VerdictError{"parse", "empty message"};
    if (message.header().empty())
        return VerdictError{"parse", "no header fields"};
    if (!message.first("From") && !message.first("Date") && !message.first("Received") &&
        !message.defects().empty())
        return VerdictError{"parse", "not an RFC 5322 message: " + message.defects().front()};
    return std::nullopt;
}

}  // namespace

Services::Services(const Policy& policy_in, dns::Resolver& resolver_in)
    : policy(policy_in),
      resolver(resolver_in),
      spf(resolver_in),
      dkim(resolver_in, dkim_options(policy_in)),
      dmarc(resolver_in, dmarc_options(policy_in))
{
}

Services::~Services() = default;

struct Pipeline::Impl {
    Impl(const Policy& policy_in, dns::Resolver& resolver, PipelineOptions options_in)
        : policy(policy_in), services(policy, resolver), options(options_in)
    {
        for (const auto& name : policy.layers) {
            auto factory = layer_factories().find(name);
            if (factory != layer_factories().end())
                layers.push_back(factory->second(services));
        }
    }

    void run_layers(const Message& message, Verdict& verdict) const;

    const Policy& policy;
    mutable Services services;
    PipelineOptions options;
    std::vector<std::unique_ptr<Layer>> layers;
};

void Pipeline::Impl::run_layers(const Message& message, Verdict& verdict) const
{
    Context context{message, verdict.envelope, policy, services.resolver, verdict};
    for (const auto& layer : layers) {
        LayerReport report;
        report.name = std::string(layer->name());

        auto started = std::chrono::steady_clock::now();
        layer->run(context, report.findings);
        auto elapsed = std::chrono::steady_clock::now() - started;
        report.elapsed_us =
            std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();

        for (const auto& finding : report.findings)
            report.score += finding.score;
        bool decided_reject = std::any_of(
            report.findings.begin(), report.findings.end(),
            [](const Finding& f) { return f.hard_action == Action::reject; });
        verdict.layers.push_back(std::move(report));

        if (options.short_circuit && decided_reject)
            break;
    }
    decide(policy, verdict, context.dns_temporary_failure);
}

Pipeline::Pipeline(const Policy& policy, dns::Resolver& resolver, PipelineOptions options)
    : impl_(std::make_unique<Impl>(policy, resolver, options))
{
}

Pipeline::~Pipeline() = default;

Verdict Pipeline::check(const RawMessage& raw, const EnvelopeOptions& envelope) const
{
    Verdict verdict;
    verdict.path = raw.path;
    verdict.index = raw.index;
    verdict.offset = raw.offset;

    Message message = Message::parse(raw.bytes);
    verdict.message_id = header_text(message, "Message-ID");
    if (auto from = header_text(message, "From"))
        verdict.from = decode_encoded_words(*from);
    if (message.first("Subject"))
        verdict.subject = message.subject();
    verdict.envelope = derive_envelope(message, envelope, impl_->policy);
    verdict.error = input_error(raw, message);

    try {
        impl_->run_layers(message, verdict);
    } catch (const std::exception& e) {
        verdict.error = VerdictError{"internal", e.what()};
    }

    // No message is lost: one we could not judge whole is retried or looked at, never
    // accepted unjudged.
    if (verdict.error && verdict.action != Action::reject) {
        verdict.action = Action::tempfail;
        verdict.reason = verdict.error->kind + ": " + verdict.error->detail;
    }

    verdict.authentication_results = auth::authentication_results(
        impl_->policy.authserv_id, verdict.spf, verdict.dkim, verdict.dmarc);
    return verdict;
}

}  // namespace relaygate::checks
