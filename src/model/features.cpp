// The features of one parsed, walked message: body words, a few header fields, the shape of
// its MIME structure and its links.
#include <algorithm>
#include <set>

#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

// Header fields whose words are features (besides Subject and From, handled apart).
constexpr std::string_view mailer_fields[] = {"X-Mailer", "User-Agent"};
// Hostile messages can carry thousands of links or fields; these many are looked at.
constexpr std::size_t max_links = 200;
constexpr std::size_t max_header_fields = 100;
constexpr std::size_t max_field_value_bytes = 1000;

// A small count as a coarse bucket name: "0", "1", "2", "3-4", "5-8", ... "many".
std::string count_bucket(std::size_t count)
{
    if (count <= 2) {
        return std::to_string(count);
    }
    std::size_t low = 3;
    std::size_t high = 4;
    while (high < 64) {
        if (count <= high) {
            return std::to_string(low) + "-" + std::to_string(high);
        }
        low = high + 1;
        high *= 2;
    }
    return "many";
}

// The last two labels of a host name ("mail.example.com" → "example.com"). Without a public
// suffix list this is coarse for "example.co.uk", but as a feature it only has to be stable.
std::string_view last_two_labels(std::string_view host)
{
    std::size_t last = host.rfind('.');
    if (last == std::string_view::npos || last == 0) {
        return host;
    }
    std::size_t before = host.rfind('.', last - 1);
    return before == std::string_view::npos ? host : host.substr(before + 1);
}

bool is_ip_literal(std::string_view host)
{
    return !host.empty() &&
           std::all_of(host.begin(), host.end(), [](char c) {
               return (c >= '0' && c <= '9') || c == '.' || c == '[' || c == ']' || c == ':';
           });
}

// The host of a URL ("https://user@Host.Example:8080/x" → "host.example"), or empty.
std::string url_host(std::string_view url)
{
    std::size_t scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    std::size_t end = rest.find_first_of("/?#\\ \t\r\n\"'<>");
    rest = rest.substr(0, end);
    std::size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
        rest = rest.substr(at + 1);
    }
    std::size_t port = rest.rfind(':');
    if (port != std::string_view::npos && rest.find(']') == std::string_view::npos) {
        rest = rest.substr(0, port);
    }
    return ascii_lower(rest);
}

// URLs written out in plain text ("http://...", "https://...", "www....").
void find_text_links(std::string_view text, std::vector<std::string>& links)
{
    // Each search resumes only once passed, so the scan stays linear in the text.
    std::size_t at = 0;
    std::size_t http = text.find("http");
    std::size_t www = text.find("www.");
    while (links.size() < max_links) {
        if (http < at) {
            http = text.find("http", at);
        }
        if (www < at) {
            www = text.find("www.", at);
        }
        std::size_t start = std::min(http, www);
        if (start == std::string_view::npos) {
            return;
        }
        std::string_view rest = text.substr(start);
        bool is_url = rest.starts_with("http://") || rest.starts_with("https://") ||
                      rest.starts_with("www.");
        std::size_t end = rest.find_first_of(" \t\r\n\"'<>()[]");
        if (!is_url) {
            at = start + 4;
            continue;
        }
        links.emplace_back(rest.substr(0, end));
        if (end == std::string_view::npos) {
            return;
        }
        at = start + end;
    }
}

// Subject, From, mailer and header field names.
void add_header_features(const Message& message, FeatureBuilder& builder)
{
    builder.add_text("s", message.subject());

    AddressList from = message.from();
    if (!from.mailboxes.empty()) {
        std::string domain = ascii_lower(from.mailboxes.front().domain);
        builder.add("h", "fromdom:" + domain);
        builder.add("h", "fromorg:" + std::string(last_two_labels(domain)));
        builder.add_text("f", from.mailboxes.front().display_name);
        if (from.mailboxes.front().display_name.empty()) {
            builder.add("h", "from:no-display-name");
        }
    } else {
        builder.add("h", "from:unreadable");
    }

    for (std::string_view name : mailer_fields) {
        if (const HeaderField* field = message.first(name)) {
            builder.add_text("m", field->value);
        }
    }

    // Field names, and the words of field values (single words: a field's word pairs are
    // mostly dates and queue ids). Other filters' verdicts are not ours to learn.
    std::set<std::string> names;
    std::size_t fields = 0;
    for (const HeaderField& field : message.header()) {
        if (++fields > max_header_fields) {
            break;
        }
        std::string name = ascii_lower(field.name);
        if (name.starts_with("x-spam") || name == "date") {
            continue;
        }
        builder.add_text("v:" + name, field.value.substr(0, max_field_value_bytes), false);
        names.insert(std::move(name));
    }
    for (const std::string& name : names) {
        builder.add("h", "field:" + name);
    }
    builder.add("h", "received:" + count_bucket(message.all("Received").size()));
}

// Link count, link hosts and numeric hosts.
void add_link_features(const std::vector<std::string>& links, FeatureBuilder& builder)
{
    builder.add("h", "links:" + count_bucket(links.size()));
    std::set<std::string> hosts;
    for (const std::string& link : links) {
        std::string host = url_host(link);
        if (!host.empty()) {
            hosts.insert(std::move(host));
        }
    }
    for (const std::string& host : hosts) {
        if (is_ip_literal(host)) {
            builder.add("h", "linkhost:ip-literal");
            continue;
        }
        builder.add("u", host);
        builder.add("u", "org:" + std::string(last_two_labels(host)));
    }
}

}  // namespace

FeatureVector extract_features(const Message& message, const mime::WalkResult& walk,
                               const FeatureConfig& config)
{
    FeatureBuilder builder(config);
    add_header_features(message, builder);

    // Body text of every text part, HTML without tags, up to max_text_bytes in all.
    std::size_t text_budget = max_text_bytes;
    std::vector<std::string> links;
    bool has_plain = false;
    bool has_html = false;
    std::size_t attachments = 0;
    for (const mime::Part& part : walk.parts) {
        builder.add("h", "type:" + part.content_type);
        if (!part.charset.empty()) {
            builder.add("h", "charset:" + part.charset);
        }
        if (part.is_attachment) {
            ++attachments;
            std::size_t dot = part.filename.rfind('.');
            if (dot != std::string::npos) {
                builder.add("h", "attach:" + ascii_lower(part.filename.substr(dot + 1)));
            }
            continue;
        }
        if (part.text.empty() || text_budget == 0) {
            continue;
        }
        std::string_view text = std::string_view(part.text).substr(0, text_budget);
        text_budget -= text.size();
        if (part.content_type == "text/html") {
            has_html = true;
            HtmlText html = strip_html(text);
            for (const std::string& tag : html.tags) {
                builder.add("t", tag);
            }
            for (std::string& link : html.links) {
                if (links.size() < max_links) {
                    links.push_back(std::move(link));
                }
            }
            find_text_links(html.text, links);
            builder.add_text("b", html.text);
        } else {
            has_plain = true;
            find_text_links(text, links);
            builder.add_text("b", text);
        }
    }

    // The shape of the message.
    if (has_html && !has_plain) {
        builder.add("h", "html-only");
    }
    builder.add("h", "attachments:" + count_bucket(attachments));
    builder.add("h", "parts:" + count_bucket(walk.parts.size()));
    if (!walk.defects.empty() || !walk.limits.empty()) {
        builder.add("h", "mime-defects");
    }
    add_link_features(links, builder);
    return builder.finish();
}

}  // namespace relaygate::model
