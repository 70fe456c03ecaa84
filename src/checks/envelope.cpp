// Envelope derivation: client IP and HELO from the Received chain when the command line does
// not give them (DESIGN.md, "Policy file", connection.trusted_relays).
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "relaygate/checks.hpp"
#include "checks/network.hpp"

namespace relaygate::checks {
namespace {

// A Received field says who handed the message over ("from" part) to whom ("by" part).
struct ReceivedHop {
    std::string helo;
    std::string reverse_name;
    std::string ip;
    std::string recipient;  // the "for <addr>" clause
};

// The "from" clause ends where the "by" clause begins.
std::string_view from_clause(std::string_view value)
{
    std::string lower = ascii_lower(value);
    auto from = lower.find("from ");
    if (from == std::string::npos || from > 2)
        return {};
    auto by = lower.find(" by ", from);
    return value.substr(from + 5, (by == std::string::npos ? value.size() : by) - from - 5);
}

// The first bracketed address in the from clause: "[192.0.2.1]" or "[IPv6:2001:db8::1]".
std::string bracketed_ip(std::string_view clause)
{
    for (std::size_t open = clause.find('['); open != std::string_view::npos;
         open = clause.find('[', open + 1)) {
        auto close = clause.find(']', open);
        if (close == std::string_view::npos)
            break;
        std::string inside(clause.substr(open + 1, close - open - 1));
        if (ascii_lower(inside).rfind("ipv6:", 0) == 0)
            inside.erase(0, 5);
        if (is_ip_address(inside))
            return inside;
    }
    return {};
}

std::string first_token(std::string_view text)
{
    auto end = text.find_first_of(" \t([;");
    return std::string(text.substr(0, end));
}

std::string recipient_clause(std::string_view value)
{
    std::string lower = ascii_lower(value);
    auto pos = lower.find(" for ");
    if (pos == std::string::npos)
        return {};
    auto rest = value.substr(pos + 5);
    auto open = rest.find('<');
    auto close = rest.find('>');
    if (open == 0 && close != std::string_view::npos)
        return std::string(rest.substr(1, close - 1));
    return first_token(rest);
}

// Reads the Postfix/Sendmail form "from HELO (rdns [ip])" and the Exim form
// "from rdns ([ip] helo=HELO)"; anything else yields what could be read.
ReceivedHop parse_received(std::string_view folded_value)
{
    // Unfolding keeps the tabs of continuation lines; clauses are separated by any whitespace.
    std::string value(folded_value);
    std::replace_if(value.begin(), value.end(), [](char c) { return c == '\t' || c == '\r' ||
                                                                    c == '\n'; }, ' ');
    ReceivedHop hop;
    std::string_view clause = from_clause(value);
    hop.ip = bracketed_ip(clause);
    hop.recipient = recipient_clause(value);

    std::string lower = ascii_lower(clause);
    if (auto helo = lower.find("helo="); helo != std::string::npos) {
        hop.helo = first_token(clause.substr(helo + 5));
        hop.helo.erase(std::remove(hop.helo.begin(), hop.helo.end(), ')'), hop.helo.end());
        hop.reverse_name = first_token(clause);
    } else {
        hop.helo = first_token(clause);
        auto open = clause.find('(');
        if (open != std::string_view::npos)
            hop.reverse_name = first_token(clause.substr(open + 1));
    }
    if (hop.helo.size() > 2 && hop.helo.front() == '[' && hop.helo.back() == ']')
        hop.helo = hop.helo.substr(1, hop.helo.size() - 2);
    return hop;
}

// A hop from the loopback network is this machine handing mail to itself (a content filter,
// fetchmail re-injecting): never the client, whatever the policy lists.
bool is_trusted(const ReceivedHop& hop, const std::vector<std::string>& trusted_relays)
{
    if (address_in(hop.ip, "127.0.0.0/8") || address_in(hop.ip, "::1"))
        return true;
    auto address = parse_network(hop.ip);
    for (const auto& entry : trusted_relays) {
        if (auto network = parse_network(entry)) {
            if (address && network_contains(*network, *address))
                return true;
            continue;
        }
        // A name is matched against the reverse DNS name the receiving relay wrote, never the
        // HELO name, which the client chooses.
        std::string name = ascii_lower(entry);
        if (!name.empty() && ascii_lower(hop.reverse_name) == name)
            return true;
    }
    return false;
}

std::string strip_angle_brackets(std::string_view text)
{
    std::string out(text);
    out.erase(std::remove_if(out.begin(), out.end(),
                             [](char c) { return c == '<' || c == '>' || c == ' '; }),
              out.end());
    return out;
}

}  // namespace

// The newest Received field was written by the MTA that handed us the message, so it is
// believed; older ones are believed only while the host that handed the message over is one
// of connection.trusted_relays. The client is the first hop that is not.
Envelope derive_envelope(const Message& message, const EnvelopeOptions& options,
                         const Policy& policy)
{
    Envelope envelope;
    envelope.client_ip = options.client_ip;
    envelope.helo = options.helo;
    envelope.mail_from = options.mail_from;
    envelope.has_mail_from = options.has_mail_from;
    envelope.rcpt_to = options.rcpt_to;
    bool from_options = !options.client_ip.empty() || !options.helo.empty() ||
                        options.has_mail_from || !options.rcpt_to.empty();
    envelope.derived_from = from_options ? "options" : "none";

    std::optional<ReceivedHop> client;
    std::string first_recipient;
    for (const HeaderField* field : message.all("Received")) {
        ReceivedHop hop = parse_received(field->value);
        if (first_recipient.empty())
            first_recipient = hop.recipient;
        if (hop.ip.empty() && hop.helo.empty())
            continue;
        client = hop;
        if (!is_trusted(hop, policy.connection.trusted_relays))
            break;
    }

    bool derived = false;
    if (client && envelope.client_ip.empty() && envelope.helo.empty()) {
        envelope.client_ip = client->ip;
        envelope.helo = client->helo;
        derived = true;
    }
    if (!envelope.has_mail_from) {
        if (const HeaderField* return_path = message.first("Return-Path")) {
            envelope.mail_from = strip_angle_brackets(return_path->value);
            envelope.has_mail_from = true;
            derived = true;
        }
    }
    if (envelope.rcpt_to.empty() && !first_recipient.empty()) {
        envelope.rcpt_to.push_back(first_recipient);
        derived = true;
    }
    if (derived && !from_options)
        envelope.derived_from = "received";
    return envelope;
}

}  // namespace relaygate::checks
