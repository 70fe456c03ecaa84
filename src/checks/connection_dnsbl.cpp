// DNS blocklists: the client IP, reversed, under each connection.dnsbl zone; each A answer
// read through the zone's return-code map.
#include <arpa/inet.h>

#include <algorithm>

#include "checks/connection_checks.hpp"
#include "checks/network.hpp"

namespace relaygate::checks::connection {
namespace {

// A blocklist answers with one or a few codes; more are read no further.
constexpr std::size_t max_codes_per_answer = 16;

enum class CodeKind { listed, refused, bogus };

// 127.255.255.0/24 is how blocklists say "query refused", "rate limited" or "you must not use
// this mirror"; taking it for a listing would block all mail. An answer outside 127.0.0.0/8
// is a wildcarding resolver or a broken list, not a listing either.
CodeKind classify_code(std::string_view code)
{
    std::string text(code);
    unsigned char bytes[4];
    if (inet_pton(AF_INET, text.c_str(), bytes) != 1 || bytes[0] != 127)
        return CodeKind::bogus;
    if (bytes[1] == 255 && bytes[2] == 255)
        return CodeKind::refused;
    return CodeKind::listed;
}

struct ListedCode {
    std::string code;
    std::string meaning;
    double weight = 0;
};

ListedCode read_code(const Blocklist& list, const std::string& code)
{
    ListedCode listed{code, "", list.weight};
    if (auto it = list.codes.find(code); it != list.codes.end()) {
        listed.meaning = it->second.meaning;
        listed.weight = it->second.weight;
    }
    return listed;
}

// One zone's answer as at most one finding: a zone that returns several codes lists the
// client once, at the weight of its gravest code.
void judge_answer(const Policy& policy, const Blocklist& list, const std::string& ip,
                  const dns::Answer& answer, std::vector<Finding>& findings)
{
    std::vector<ListedCode> listed;
    std::vector<std::string> refused, bogus;
    for (std::size_t i = 0; i < answer.records.size() && i < max_codes_per_answer; ++i) {
        const std::string& code = answer.records[i];
        switch (classify_code(code)) {
        case CodeKind::listed: listed.push_back(read_code(list, code)); break;
        case CodeKind::refused: refused.push_back(code); break;
        case CodeKind::bogus: bogus.push_back(code); break;
        }
    }

    if (!listed.empty()) {
        std::string detail = ip + " is listed in " + list.zone + ":";
        double weight = listed.front().weight;
        for (const auto& code : listed) {
            detail += " " + code.code + (code.meaning.empty() ? "" : " (" + code.meaning + ")");
            weight = std::max(weight, code.weight);
        }
        Finding finding = make_finding(policy, "dnsbl_listed", detail);
        if (!policy.weights.contains("dnsbl_listed"))
            finding.score = weight;
        findings.push_back(std::move(finding));
    } else if (!refused.empty()) {
        findings.push_back(make_finding(policy, "dnsbl_refused",
                                        list.zone + " refused the query for " + ip + " (" +
                                            refused.front() + "): not counted as listed"));
    } else if (!bogus.empty()) {
        findings.push_back(make_finding(policy, "dnsbl_error",
                                        list.zone + " answered " + shown(bogus.front()) +
                                            " for " + ip +
                                            ", outside 127.0.0.0/8: ignored"));
    }
}

}  // namespace

std::optional<std::string> blocklist_query(std::string_view ip, std::string_view zone)
{
    auto reverse = dns::reverse_name(ip);
    if (!reverse)
        return std::nullopt;
    for (std::string_view suffix : {".in-addr.arpa", ".ip6.arpa"}) {
        if (reverse->ends_with(suffix))
            return reverse->substr(0, reverse->size() - suffix.size()) + "." +
                   std::string(zone);
    }
    return std::nullopt;
}

// A blocklist that times out does not set dns_temporary_failure: a blocklist is an opinion
// about the sender, not part of the message's authentication, and holding all mail because
// one list is slow would let that list stop our mail. The failure is a zero-score finding so
// that it shows in the verdict.
void check_dnsbl(const Policy& policy, const Envelope& envelope, dns::Resolver& resolver,
                 std::vector<Finding>& findings)
{
    const std::string& ip = envelope.client_ip;
    if (ip.empty() || address_in(ip, "127.0.0.0/8") || address_in(ip, "::1/128"))
        return;

    for (const auto& list : policy.connection.dnsbl) {
        auto query = blocklist_query(ip, list.zone);
        if (!query)
            return;
        dns::Answer answer = resolver.lookup(*query, dns::RecordType::a);
        if (answer.outcome == dns::Outcome::temperror) {
            findings.push_back(make_finding(policy, "dnsbl_error",
                                            list.zone + " lookup of " + ip + " failed (" +
                                                answer.detail + "): not counted"));
            continue;
        }
        if (answer.outcome == dns::Outcome::found)
            judge_answer(policy, list, ip, answer, findings);
    }
}

}  // namespace relaygate::checks::connection
