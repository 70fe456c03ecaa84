// The pure text side of relaying: upstream URLs, SMTP reply words, the DATA payload (CRLF and
// dot-stuffing) and the header fields relaygate prepends.
#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

#include "relaygate/relay.hpp"

namespace relaygate::relay {

namespace {

constexpr unsigned default_smtp_port = 25;
constexpr unsigned default_smtps_port = 465;
constexpr unsigned max_port = 65535;
constexpr std::size_t max_host_bytes = 253;  // RFC 1035 name length

// ASCII lowercase, for scheme and host comparisons.
std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// Splits "host", "host:port", "[v6]" or "[v6]:port"; false on a malformed authority.
bool split_authority(std::string_view authority, std::string& host, std::string_view& port) {
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        auto rest = authority.substr(close + 1);
        if (rest.empty()) return true;
        if (rest.front() != ':') return false;
        port = rest.substr(1);
        return true;
    }
    auto colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(':') != colon) {
        return false;  // an IPv6 literal must be bracketed
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    return true;
}

}  // namespace

bool Upstream::is_loopback() const {
    auto name = lower(host);
    if (name == "localhost" || name == "localhost.") return true;
    in_addr v4{};
    if (inet_pton(AF_INET, name.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, name.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
    return false;
}

std::string Upstream::display() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Upstream> parse_upstream(std::string_view url, std::string* problem) {
    auto fail = [&](std::string why) -> std::optional<Upstream> {
        if (problem) *problem = "invalid upstream url '" + std::string(url) + "': " + why;
        return std::nullopt;
    };

    Upstream upstream;
    auto sep = url.find("://");
    if (sep == std::string_view::npos) return fail("expected smtp://HOST:PORT");
    auto scheme = lower(url.substr(0, sep));
    if (scheme == "smtps") {
        upstream.implicit_tls = true;
        upstream.port = default_smtps_port;
    } else if (scheme == "smtp") {
        upstream.port = default_smtp_port;
    } else {
        return fail("the scheme must be smtp or smtps");
    }

    auto authority = url.substr(sep + 3);
    if (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
    if (authority.find_first_of("/?#@") != std::string_view::npos) {
        return fail("only HOST and PORT may follow the scheme");
    }
    std::string_view port;
    if (!split_authority(authority, upstream.host, port)) return fail("malformed host");
    if (upstream.host.empty() || upstream.host.size() > max_host_bytes) {
        return fail("missing or overlong host");
    }
    if (!port.empty() || authority.ends_with(':')) {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
            value > max_port) {
            return fail("the port must be a number from 1 to 65535");
        }
        upstream.port = value;
    }
    return upstream;
}

TlsPolicy tls_policy_for(const Upstream& upstream, bool require_tls) {
    if (upstream.is_loopback()) return TlsPolicy::none;
    return require_tls ? TlsPolicy::required : TlsPolicy::opportunistic;
}

std::optional<TlsPolicy> parse_tls_policy(std::string_view word) {
    if (word == "required") return TlsPolicy::required;
    if (word == "opportunistic") return TlsPolicy::opportunistic;
    if (word == "none") return TlsPolicy::none;
    return std::nullopt;
}

std::string Reply::line() const {
    if (code == 0) return "";
    return text.empty() ? std::to_string(code) : std::to_string(code) + " " + text;
}

std::string_view to_string(Outcome outcome) {
    switch (outcome) {
    case Outcome::delivered: return "delivered";
    case Outcome::temporary: return "temporary";
    case Outcome::permanent: return "permanent";
    }
    return "temporary";
}

std::vector<std::string> DeliveryResult::refused(bool permanently) const {
    std::vector<std::string> out;
    for (const auto& rcpt : recipients) {
        // Not accepted and not refused for good (4xx, or a code that makes no sense at
        // RCPT) counts as deferred, so that no recipient is ever silently dropped.
        bool deferred = rcpt.reply.code != 0 && !rcpt.accepted() && !rcpt.reply.permanent();
        bool hit = permanently ? rcpt.reply.permanent() : deferred;
        if (hit) out.push_back(rcpt.address);
    }
    return out;
}

std::string data_payload(std::string_view message) {
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 8);
    bool at_line_start = true;
    for (std::size_t i = 0; i < message.size(); ++i) {
        char c = message[i];
        if (at_line_start && c == '.') out += '.';  // RFC 5321 4.5.2 transparency
        at_line_start = false;
        if (c == '\n') {
            if (out.empty() || out.back() != '\r') out += '\r';
            at_line_start = true;
        }
        out += c;
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    out += ".\r\n";
    return out;
}

std::string fold_header(std::string_view name, std::string_view value, std::string_view eol) {
    // Our own values only: control characters (a CR or LF would end the field early and
    // let quoted text inject fields) become spaces before splitting into words.
    std::string clean(value);
    for (char& c : clean) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = ' ';
    }

    std::string out = std::string(name) + ":";
    std::size_t line_length = out.size();
    std::size_t pos = 0;
    while (pos < clean.size()) {
        auto start = clean.find_first_not_of(' ', pos);
        if (start == std::string::npos) break;
        auto end = clean.find(' ', start);
        if (end == std::string::npos) end = clean.size();
        auto word = std::string_view(clean).substr(start, end - start);
        bool first_word = line_length == name.size() + 1;
        if (!first_word && line_length + 1 + word.size() > header_fold_width) {
            out += eol;
            line_length = 0;
        }
        out += ' ';
        out += word;
        line_length += 1 + word.size();
        pos = end;
    }
    out += eol;
    return out;
}

std::string verdict_summary(Action action, double score, std::string_view reason) {
    std::string_view word = "tempfail";
    switch (action) {
    case Action::accept: word = "accept"; break;
    case Action::quarantine: word = "quarantine"; break;
    case Action::reject: word = "reject"; break;
    case Action::tempfail: word = "tempfail"; break;
    }

    char score_text[32];
    std::snprintf(score_text, sizeof score_text, "%.2f", score);

    std::string quoted;
    for (char c : reason.substr(0, max_reason_in_header)) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
    }
    return std::string(word) + "; score=" + score_text + "; reason=\"" + quoted + "\"";
}

// TODO: Authentication-Results or X-Relaygate-Verdict fields that the sender forged with our
// authserv-id stay in the message below ours (RFC 8601 5 asks to remove them), because the
// original must reach the upstream byte for byte for DKIM; downstream must trust only the
// topmost instance until the header layer flags such fields as a finding.
std::string with_relaygate_headers(std::string_view message,
                                   std::string_view authentication_results,
                                   std::string_view verdict_summary_value) {
    auto first_lf = message.find('\n');
    bool crlf = first_lf == std::string_view::npos ||
                (first_lf > 0 && message[first_lf - 1] == '\r');
    std::string_view eol = crlf ? "\r\n" : "\n";

    std::string out;
    out.reserve(message.size() + 512);
    if (!authentication_results.empty()) {
        out += fold_header("Authentication-Results", authentication_results, eol);
    }
    out += fold_header("X-Relaygate-Verdict", verdict_summary_value, eol);
    out += message;
    return out;
}

}  // namespace relaygate::relay
