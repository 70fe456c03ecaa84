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

namespace {

// Whether any header field could be a DKIM-Signature: its name, after any whitespace, starts
// with "DKIM-Signature" in any case. A superset of what the engine counts as a signature, so
// that a message without one skips the CRLF copy of its body (most of scan's DKIM cost).
bool may_have_signature(const Message& message) {
    constexpr std::string_view kName = "dkim-signature";
    for (const HeaderField& field : message.header()) {
        std::string_view raw = field.raw;
        std::size_t start = raw.find_first_not_of(" \t\r\n");
        if (start == std::string_view::npos || raw.size() - start < kName.size()) {
            continue;
        }
        if (ascii_lower(raw.substr(start, kName.size())) == kName) {
            return true;
        }
    }
    return false;
}

}  // namespace

// Hands libopendkim CRLF-canonical bytes: the exact header fields and body, whatever line
// ends the message arrived with (RFC 6376 hashes CRLF lines).
std::vector<DkimSignatureOutcome> DkimVerifier::verify(const Message& message) {
    if (!may_have_signature(message)) {
        return {};
    }
    std::vector<std::string> fields;
    fields.reserve(message.header().size());
    for (const HeaderField& field : message.header()) {
        fields.push_back(to_crlf(field.raw));
    }
    return impl_->engine.verify(fields, to_crlf(message.body()));
}

}  // namespace relaygate::auth
