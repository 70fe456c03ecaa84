// The header layer: structure and deception in the header fields. Finding ids (weights in
// finding_catalog(), src/policy/policy_defaults.cpp):
//
//   from_missing, from_duplicate            no From field, or several
//   date_missing, date_duplicate            no Date field, or several
//   message_id_missing, message_id_duplicate  no Message-ID field, or several
//   from_no_address                         the From field holds no address
//   from_multiple_addresses                 the From field holds several addresses
//   from_malformed                          the From field does not parse cleanly
//   date_invalid                            the Date is not an RFC 5322 date
//   date_future                             the Date lies in the future beyond the skew
//   header_line_too_long                    a header line over 998 octets
//   header_invalid_utf8                     a sender, recipient or Subject field holds
//                                           invalid UTF-8
//   lookalike_domain                        a From, Sender, Reply-To or Return-Path domain
//                                           resembles one of organization.domains
//                                           (confusables, edit distance, same name under
//                                           another suffix, our name inside another)
//   lookalike_idn                           the same through non-ASCII characters (IDN
//                                           homoglyphs, punycode)
//   idn_invalid                             a sender domain with an invalid xn-- label
//   display_name_impersonation              a From display name names one of
//                                           organization.people, the address is not ours
//   display_name_domain_spoof               a From display name shows our domain or an
//                                           address in it, the address is not ours
//   reply_to_mismatch                       Reply-To on another organizational domain
//   reply_to_diversion                      the same while From claims to be us (our
//                                           domain, our people, a lookalike) and the
//                                           client is not ours
//   return_path_mismatch                    Return-Path (or MAIL FROM) on another
//                                           organizational domain than From
//   received_date_future                    a Received date in the future
//   received_out_of_order                   a Received date later than the one above it
//   received_too_many                       more than 50 Received fields
#include <chrono>

#include "checks/header_checks.hpp"
#include "relaygate/checks.hpp"

namespace relaygate::checks {
namespace {

class HeaderLayer : public Layer {
public:
    std::string_view name() const override { return "header"; }

    void run(Context& context, std::vector<Finding>& findings) override
    {
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        header::run_header_checks(context.policy, context.message, context.envelope, now,
                                  findings);
    }
};

}  // namespace

namespace header {

void run_header_checks(const Policy& policy, const Message& message, const Envelope& envelope,
                       std::int64_t now, std::vector<Finding>& findings)
{
    check_structure(policy, message, now, findings);
    check_senders(policy, message, envelope, findings);
    check_received_chain(policy, message, now, findings);
}

}  // namespace header

std::unique_ptr<Layer> make_header_layer(Services&)
{
    return std::make_unique<HeaderLayer>();
}

}  // namespace relaygate::checks
