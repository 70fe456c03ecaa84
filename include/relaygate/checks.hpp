// checks — the four ordered layers (connection, header, auth, payload) and the pipeline that
// runs them over one message under a policy and turns their findings into a verdict.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"
#include "relaygate/mailbox.hpp"
#include "relaygate/message.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// What a layer sees of one message. Layers run in policy order; an earlier layer's results
// (the auth outcomes in verdict) are visible to later ones.
struct Context {
    const Message& message;
    Envelope& envelope;
    const Policy& policy;
    dns::Resolver& resolver;
    Verdict& verdict;  // the auth layer fills verdict.spf/dkim/dmarc

    // Set by any check whose DNS lookup failed temporarily (timeout, SERVFAIL): the action
    // then cannot be better than tempfail.
    bool dns_temporary_failure = false;
};

class Layer {
public:
    virtual ~Layer() = default;
    virtual std::string_view name() const = 0;
    // Appends findings; never throws for anything a message can contain.
    virtual void run(Context& context, std::vector<Finding>& findings) = 0;
};

// Shared, thread-safe services that layers are built from.
struct Services {
    explicit Services(const Policy& policy, dns::Resolver& resolver);
    ~Services();

    const Policy& policy;
    dns::Resolver& resolver;
    auth::SpfChecker spf;
    auth::DkimVerifier dkim;
    auth::DmarcEvaluator dmarc;
};

// Layer factories, one per layer (src/checks/<layer>_layer.cpp).
std::unique_ptr<Layer> make_connection_layer(Services& services);
std::unique_ptr<Layer> make_header_layer(Services& services);
std::unique_ptr<Layer> make_auth_layer(Services& services);
std::unique_ptr<Layer> make_payload_layer(Services& services);

// Envelope values given on the command line; empty ones are derived from Received fields.
struct EnvelopeOptions {
    std::string client_ip;
    std::string helo;
    std::string mail_from;
    bool has_mail_from = false;
    std::vector<std::string> rcpt_to;
};

// Client IP and HELO from the Received chain: the host that handed the message to the
// outermost relay in connection.trusted_relays (DESIGN.md, "Policy file").
Envelope derive_envelope(const Message& message, const EnvelopeOptions& options,
                         const Policy& policy);

struct PipelineOptions {
    bool short_circuit = false;  // stop after a layer that decided reject
};

class Pipeline {
public:
    Pipeline(const Policy& policy, dns::Resolver& resolver, PipelineOptions options);
    ~Pipeline();
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;

    // A verdict for every message, also one that cannot be parsed (error is then set).
    // Thread-safe.
    Verdict check(const RawMessage& raw, const EnvelopeOptions& envelope) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Sums the findings and decides: hard actions first, then thresholds; sets verdict.score,
// action and reason (naming the deciding finding).
void decide(const Policy& policy, Verdict& verdict, bool dns_temporary_failure);

}  // namespace relaygate::checks
