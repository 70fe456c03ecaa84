// URL findings: tricks in how a link is written, link text that shows another domain,
// lookalikes of our domains, and URI blocklist listings.
#include <set>

#include "checks/payload_findings.hpp"
#include "checks/payload_urls.hpp"
#include "relaygate/message.hpp"

namespace relaygate::checks {

namespace {

// A blocklist answer holds a few codes; more are read no further.
constexpr std::size_t kMaxCodesPerAnswer = 16;

// The host a link's visible text shows: a URL, a www. name, or a bare name under a public
// suffix ("paypal.com" or "paypal.com/login"); nullopt for text like "Click here".
std::optional<std::string> host_shown(std::string_view text)
{
    auto shown = links_from_text(text);
    if (!shown.empty()) {
        if (auto url = parse_url(shown.front().href)) return url->host;
    }
    std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos) return std::nullopt;
    std::string_view word = text.substr(start);
    word = word.substr(0, word.find_first_of(" \t\r\n/"));
    if (word.find('.') == std::string_view::npos || word.back() == '.') return std::nullopt;
    auto url = parse_url("http://" + std::string(word));
    if (!url || url->is_ip || url->host.find('@') != std::string::npos) return std::nullopt;
    // Only a name under a known suffix counts: "e.g" or "v1.2" are not domains.
    if (!has_known_suffix(url->host)) return std::nullopt;
    return url->host;
}

bool in_loopback_net(const std::string& address, std::string& code)
{
    code = address;
    return address.rfind("127.", 0) == 0;
}

// Looks one name up in one zone and adds a finding when it is listed (RFC 5782: an A record
// in 127.0.0.0/8; 127.255.255.0/24 means the query was refused, not listed).
void lookup_in_zone(const std::string& name, const std::string& shown, const Blocklist& zone,
                    const Policy& policy, dns::Resolver& resolver, std::vector<Finding>& findings,
                    bool& dns_temporary_failure)
{
    dns::Answer answer = resolver.lookup(name + "." + zone.zone, dns::RecordType::a);
    if (answer.outcome == dns::Outcome::temperror) {
        dns_temporary_failure = true;
        findings.push_back(payload_finding(policy, "uribl_error",
                                           zone.zone + " lookup of " + shorten(name) +
                                               " failed: " + answer.detail));
        return;
    }
    if (!answer.ok()) return;

    for (std::size_t i = 0; i < answer.records.size() && i < kMaxCodesPerAnswer; ++i) {
        std::string code;
        if (!in_loopback_net(answer.records[i], code) || code.rfind("127.255.255.", 0) == 0) {
            continue;
        }
        double weight = zone.weight;
        std::string meaning;
        if (auto it = zone.codes.find(code); it != zone.codes.end()) {
            weight = it->second.weight;
            meaning = " (" + it->second.meaning + ")";
        }
        findings.push_back(payload_finding(policy, "uribl_listed",
                                           shorten(shown) + " is listed in " + zone.zone + ": " +
                                               code + meaning, weight));
        return;  // one finding per name and zone
    }
}

// The names to look up for one host: IPv4 reversed; a name, its registrable domain and the
// full host when they differ. IPv6 hosts are not looked up.
std::vector<std::string> blocklist_names(const Url& url)
{
    if (url.is_ip) {
        // TODO: IPv6 link hosts are not looked up (nibble-reversed names); URI blocklists
        // list few of them, and the link still gets url_ip_literal.
        if (url.host.find(':') != std::string::npos) return {};
        std::vector<std::string> octets;
        std::size_t start = 0;
        for (std::size_t dot; (dot = url.host.find('.', start)) != std::string::npos;) {
            octets.push_back(url.host.substr(start, dot - start));
            start = dot + 1;
        }
        octets.push_back(url.host.substr(start));
        return {octets[3] + "." + octets[2] + "." + octets[1] + "." + octets[0]};
    }
    std::string domain = registrable_domain(url.host);
    if (domain == url.host) return {domain};
    return {domain, url.host};
}

// Tricks in how one link is written.
void check_link_form(const Link& link, const Url& url, const Policy& policy,
                     std::vector<Finding>& findings)
{
    std::string shown = shorten(link.href);
    if (url.is_ip && url.obfuscated_ip) {
        findings.push_back(payload_finding(policy, "url_numeric_host",
                                           shown + " hides the address " + url.host));
    } else if (url.is_ip) {
        findings.push_back(payload_finding(policy, "url_ip_literal",
                                           shown + " goes to the address " + url.host));
    }
    if (!url.userinfo.empty()) {
        findings.push_back(payload_finding(policy, "url_userinfo",
                                           shown + " shows \"" + shorten(url.userinfo) +
                                               "\" but goes to " + url.host));
    }
    if (url.backslash) {
        findings.push_back(payload_finding(policy, "url_backslash",
                                           shown + " uses backslashes; browsers go to " +
                                               url.host));
    }
}

// Link text showing one domain over an href going to another (another registrable domain).
void check_link_text(const Link& link, const Url& url, const Policy& policy,
                     std::vector<Finding>& findings)
{
    if (link.text.empty()) return;
    auto shown_host = host_shown(link.text);
    if (!shown_host) return;
    if (registrable_domain(*shown_host) == registrable_domain(url.host)) return;
    findings.push_back(payload_finding(policy, "url_text_mismatch",
                                       "link text shows " + shorten(*shown_host) +
                                           " but goes to " + shorten(url.host)));
}

void drop_duplicates(std::vector<Finding>& findings, std::size_t from)
{
    std::set<std::pair<std::string, std::string>> seen;
    std::vector<Finding> unique(findings.begin(), findings.begin() + from);
    for (std::size_t i = from; i < findings.size(); ++i) {
        if (seen.insert({findings[i].id, findings[i].detail}).second) {
            unique.push_back(std::move(findings[i]));
        }
    }
    findings = std::move(unique);
}

}  // namespace

void check_links(const std::vector<Link>& links, const Policy& policy, dns::Resolver& resolver,
                 std::vector<Finding>& findings, bool& dns_temporary_failure)
{
    std::size_t first = findings.size();
    std::set<std::string> looked_up;
    std::size_t hosts = 0;
    for (const Link& link : links) {
        auto url = parse_url(link.href);
        if (!url) continue;
        check_link_form(link, *url, policy, findings);
        check_link_text(link, *url, policy, findings);
        if (auto ours = lookalike_of(*url, policy.organization.domains)) {
            findings.push_back(payload_finding(policy, "url_lookalike",
                                               shorten(url->unicode_host) + " resembles " +
                                                   *ours));
        }

        if (policy.payload.uribl.empty() || hosts >= kMaxUriblHosts) continue;
        if (!looked_up.insert(url->host).second) continue;
        ++hosts;
        for (const std::string& name : blocklist_names(*url)) {
            for (const Blocklist& zone : policy.payload.uribl) {
                lookup_in_zone(name, url->host, zone, policy, resolver, findings,
                               dns_temporary_failure);
            }
        }
    }
    drop_duplicates(findings, first);
}

}  // namespace relaygate::checks
