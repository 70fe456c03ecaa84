// The libopendkim adapter behind DkimVerifier, on a message already split into CRLF-canonical
// header fields and body, so that it can be tested without the message module.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/auth.hpp"
#include "relaygate/dns.hpp"

namespace relaygate::auth::detail {

class DkimEngine {
public:
    DkimEngine(dns::Resolver& resolver, DkimOptions options);
    ~DkimEngine();
    DkimEngine(const DkimEngine&) = delete;
    DkimEngine& operator=(const DkimEngine&) = delete;

    // fields: each header field's exact bytes, folding kept (CRLF), without the final CRLF,
    // top first; body: the body with CRLF line ends. One outcome per DKIM-Signature field.
    std::vector<DkimSignatureOutcome> verify(const std::vector<std::string>& fields,
                                             std::string_view body) const;

    // Whether this libopendkim build verifies ed25519-sha256 (RFC 8463).
    bool supports_ed25519() const;

private:
    struct Library;
    std::unique_ptr<Library> library_;
    dns::Resolver& resolver_;
    DkimOptions options_;
};

}  // namespace relaygate::auth::detail
