// DkimVerifier: the message module's view of a message handed to the libopendkim adapter.
#include <string>
#include <vector>

#include "auth/dkim_engine.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"

namespace relaygate::auth {

struct DkimVerifier::Impl {
    detail::DkimEngine engine;
    Impl(dns::Resolver& resolver, DkimOptions options) : engine(resolver, options) {}
};

DkimVerifier::DkimVerifier(dns::Resolver& resolver, DkimOptions options)
    : impl_(std::make_unique<Impl>(resolver, options)) {}

DkimVerifier::~DkimVerifier() = default;

// Hands libopendkim CRLF-canonical bytes: the exact header fields and body, whatever line
// ends the message arrived with (RFC 6376 hashes CRLF lines).
std::vector<DkimSignatureOutcome> DkimVerifier::verify(const Message& message) {
    std::vector<std::string> fields;
    fields.reserve(message.header().size());
    for (const HeaderField& field : message.header()) {
        fields.push_back(to_crlf(field.raw));
    }
    return impl_->engine.verify(fields, to_crlf(message.body()));
}

}  // namespace relaygate::auth
