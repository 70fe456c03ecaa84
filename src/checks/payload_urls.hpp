// The payload layer's links: found in text parts (a scanner) and HTML parts (gumbo), each
// normalised as a browser reads it, then checked for tricks, lookalikes of our domains and
// URI blocklist listings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/dns.hpp"
#include "relaygate/mime.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// Bounds on what one message's links can cost.
constexpr std::size_t kMaxLinksPerMessage = 1000;
constexpr std::size_t kMaxUrlBytes = 4096;
constexpr std::size_t kMaxLinkTextBytes = 1024;
// HTML handed to gumbo: its memory grows with the square of the element nesting and its time
// with the elements, so the part beyond this estimated nesting, element count or size is
// only scanned as text.
constexpr std::size_t kMaxHtmlNesting = 500;
constexpr std::size_t kMaxHtmlElements = 20000;
constexpr std::size_t kMaxHtmlParseBytes = 1u << 20;
// Distinct hosts looked up in the URI blocklists per message.
constexpr std::size_t kMaxUriblHosts = 20;

struct Link {
    std::string href;    // as written (HTML entities decoded)
    std::string text;    // visible text of an <a> or <area alt>, else empty
    std::string source;  // "text", "a", "area", "form", "img"
};

// http://, https://, ftp:// and www. links in plain text.
std::vector<Link> links_from_text(std::string_view text);

// Links in HTML: a href, area href, form action, img src, plus links written as text.
std::vector<Link> links_from_html(std::string_view html);

// Every link of every text part, in document order, at most kMaxLinksPerMessage.
std::vector<Link> links_from_walk(const mime::WalkResult& walk);

struct Url {
    std::string scheme;        // lowercase
    std::string userinfo;      // percent-decoded
    std::string host;          // lowercase ASCII: A-labels, dotted quad, or IPv6 text
    std::string unicode_host;  // U-labels (same as host for ASCII names and IPs)
    bool is_ip = false;
    bool obfuscated_ip = false;  // an IPv4 written other than as a plain dotted quad
    bool backslash = false;      // backslashes read as slashes
};

// A link as a browser reads it; nullopt when it has no host (mailto:, javascript:, cid:,
// relative links) or its host is empty.
std::optional<Url> parse_url(std::string_view href);

// The registrable domain (public suffix + 1 label) of a lowercase ASCII host; the host
// itself for IP addresses and names under no known suffix.
std::string registrable_domain(std::string_view host);

// Whether the last label of host is a suffix in the public suffix list (not just the "*"
// rule that takes any label).
bool has_known_suffix(std::string_view host);

// The organization domain that host resembles without being it or under it, or nullopt.
std::optional<std::string> lookalike_of(const Url& url, const std::vector<std::string>& ours);

// URL findings of one message; sets dns_temporary_failure when a blocklist lookup failed.
void check_links(const std::vector<Link>& links, const Policy& policy, dns::Resolver& resolver,
                 std::vector<Finding>& findings, bool& dns_temporary_failure);

}  // namespace relaygate::checks
