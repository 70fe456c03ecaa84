// The payload layer: one MIME walk per message, then the links, the attachments and the
// model over what the walk decoded.
#include "checks/payload_attachments.hpp"
#include "checks/payload_checks.hpp"
#include "checks/payload_findings.hpp"
#include "checks/payload_model.hpp"
#include "checks/payload_urls.hpp"
#include "relaygate/checks.hpp"

namespace relaygate::checks {

namespace {

// Defects are many small things; one finding names the first few.
constexpr std::size_t kMaxDefectsShown = 3;

void report_walk(const mime::WalkResult& walk, const Policy& policy,
                 std::vector<Finding>& findings)
{
    for (const std::string& limit : walk.limits) {
        findings.push_back(payload_finding(policy, "mime_limit", limit));
    }
    if (walk.defects.empty()) return;
    std::string detail;
    for (std::size_t i = 0; i < walk.defects.size() && i < kMaxDefectsShown; ++i) {
        detail += (i ? "; " : "") + walk.defects[i];
    }
    if (walk.defects.size() > kMaxDefectsShown) {
        detail += "; and " + std::to_string(walk.defects.size() - kMaxDefectsShown) + " more";
    }
    findings.push_back(payload_finding(policy, "mime_malformed", detail));
}

}  // namespace

mime::WalkResult walk_payload(const Message& message, const Policy& policy)
{
    mime::Limits limits;
    limits.max_depth = policy.payload.max_depth;
    limits.max_parts = policy.payload.max_parts;
    limits.max_decoded_bytes = policy.payload.max_decoded_bytes;
    return mime::walk(message, limits);
}

void check_payload(const mime::WalkResult& walk, const Policy& policy, dns::Resolver& resolver,
                   std::vector<Finding>& findings, bool& dns_temporary_failure)
{
    report_walk(walk, policy, findings);
    check_links(links_from_walk(walk), policy, resolver, findings, dns_temporary_failure);
    check_attachments(walk, policy, findings);
}

namespace {

class PayloadLayer : public Layer {
public:
    // The layer needs no shared service beyond what the context carries.
    explicit PayloadLayer(Services&) {}

    std::string_view name() const override { return "payload"; }

    void run(Context& context, std::vector<Finding>& findings) override
    {
        mime::WalkResult walk = walk_payload(context.message, context.policy);
        check_payload(walk, context.policy, context.resolver, findings,
                      context.dns_temporary_failure);
        if (auto model = model_finding(context.message, walk, context.policy)) {
            findings.push_back(std::move(*model));
        }
    }
};

}  // namespace

std::unique_ptr<Layer> make_payload_layer(Services& services)
{
    return std::make_unique<PayloadLayer>(services);
}

}  // namespace relaygate::checks
