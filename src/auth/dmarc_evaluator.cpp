// DmarcEvaluator: reads the author domains from the message and hands them to the engine.
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc_engine.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"

namespace relaygate::auth {

namespace {

// Whether an address list uses group syntax ("name: a@b, c@d;"): a colon outside quotes,
// comments, angle brackets and domain literals. RFC 5322 3.6.2 allows only mailboxes in From.
bool uses_group_syntax(std::string_view value) {
    bool quoted = false;
    int comment_depth = 0;
    int angle_depth = 0;
    bool literal = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if ((quoted || comment_depth > 0) && c == '\\') {
            ++i;
        } else if (quoted) {
            quoted = c != '"';
        } else if (comment_depth > 0) {
            comment_depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        } else if (literal) {
            literal = c != ']';
        } else if (c == '"') {
            quoted = true;
        } else if (c == '(') {
            comment_depth = 1;
        } else if (c == '[') {
            literal = true;
        } else if (c == '<') {
            ++angle_depth;
        } else if (c == '>' && angle_depth > 0) {
            --angle_depth;
        } else if (c == ':' && angle_depth == 0) {
            return true;
        }
    }
    return false;
}

detail::AuthorDomains author_domains(const Message& message) {
    detail::AuthorDomains author;
    std::vector<const HeaderField*> fields = message.all("From");
    author.from_fields = fields.size();
    if (fields.size() != 1) {
        return author;
    }
    if (uses_group_syntax(fields.front()->value)) {
        author.parsed = false;
        author.problem = "group syntax is not allowed in From";
        return author;
    }
    AddressList list = parse_address_list(fields.front()->value);
    author.parsed = list.valid;
    author.problem = list.problem;
    for (const Mailbox& mailbox : list.mailboxes) {
        author.domains.push_back(mailbox.domain);
    }
    return author;
}

}  // namespace

struct DmarcEvaluator::Impl {
    detail::DmarcEngine engine;
    Impl(dns::Resolver& resolver, const DmarcOptions& options) : engine(resolver, options) {}
};

DmarcEvaluator::DmarcEvaluator(dns::Resolver& resolver, DmarcOptions options)
    : impl_(std::make_unique<Impl>(resolver, options)) {}

DmarcEvaluator::~DmarcEvaluator() = default;

DmarcOutcome DmarcEvaluator::evaluate(const Message& message, const SpfOutcome& spf,
                                      const std::vector<DkimSignatureOutcome>& dkim,
                                      std::string_view sampling_key) {
    return impl_->engine.evaluate(author_domains(message), spf, dkim, sampling_key);
}

std::string DmarcEvaluator::organizational_domain(std::string_view domain) const {
    return impl_->engine.organizational_domain(domain);
}

}  // namespace relaygate::auth
