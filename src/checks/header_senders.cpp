// Who the message claims to be from: lookalike and internationalized sender domains,
// display names impersonating our people or showing our addresses, and Reply-To or
// Return-Path leading to another organization.
#include <algorithm>
#include <set>

#include "checks/connection_checks.hpp"
#include "checks/header_checks.hpp"

namespace relaygate::checks::header {
namespace {

// A From or Reply-To may list thousands of addresses; the first few are judged.
constexpr std::size_t max_mailboxes_examined = 20;
// Edit distance by the length of the protected name: short names have too many neighbours.
constexpr std::size_t min_name_for_distance_1 = 4;
constexpr std::size_t min_name_for_distance_2 = 8;
// A protected name this long is specific enough to look for inside other names.
constexpr std::size_t min_name_for_embedding = 5;

struct SplitDomain {
    std::string name;    // the label left of the public suffix
    std::string suffix;  // the public suffix ("com", "co.uk"); empty when there is none
};

SplitDomain split_registrable(const std::string& registrable)
{
    auto dot = registrable.find('.');
    if (dot == std::string::npos)
        return {registrable, ""};
    return {registrable.substr(0, dot), registrable.substr(dot + 1)};
}

bool is_ascii(std::string_view text)
{
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::size_t allowed_distance(const Policy& policy, std::size_t name_length)
{
    std::size_t by_length = name_length >= min_name_for_distance_2   ? 2
                            : name_length >= min_name_for_distance_1 ? 1
                                                                     : 0;
    return std::min<std::size_t>(by_length, policy.header.lookalike_max_distance);
}

// The labels of a domain split further at hyphens: "mail.example-pay.com" → mail example
// pay com.
std::vector<std::string> domain_tokens(const std::string& domain)
{
    std::vector<std::string> tokens;
    std::string token;
    for (char c : domain) {
        if (c == '.' || c == '-') {
            if (!token.empty())
                tokens.push_back(fold_text(token));
            token.clear();
        } else {
            token += c;
        }
    }
    if (!token.empty())
        tokens.push_back(fold_text(token));
    return tokens;
}

std::vector<std::string> words(const std::string& folded)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < folded.size()) {
        auto end = folded.find(' ', start);
        if (end == std::string::npos)
            end = folded.size();
        if (end > start)
            out.push_back(folded.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool contains_sequence(const std::vector<std::string>& haystack,
                       const std::vector<std::string>& needle)
{
    if (needle.empty())
        return false;
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

// "Alice Martin", "MARTIN, Alice", "Alice Martin (CEO)", "Álice Mártin", "A1ice Martin" all
// name the person "Alice Martin".
bool names_person(const std::string& display_name, const std::string& person)
{
    std::vector<std::string> shown_words = words(fold_name(display_name));
    std::vector<std::string> person_words = words(fold_name(person));
    if (contains_sequence(shown_words, person_words))
        return true;
    std::reverse(person_words.begin(), person_words.end());
    return contains_sequence(shown_words, person_words);
}

// Our domain shown as text ("ceo@example.com", "Example.com Support"), bounded so that
// "example.community" does not count.
bool shows_domain(const std::string& folded_display, const std::string& folded_domain)
{
    auto is_word = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
               static_cast<unsigned char>(c) >= 0x80;
    };
    for (auto at = folded_display.find(folded_domain); at != std::string::npos;
         at = folded_display.find(folded_domain, at + 1)) {
        std::size_t after = at + folded_domain.size();
        bool left_ok = at == 0 || !is_word(folded_display[at - 1]);
        bool right_ok = after >= folded_display.size() || !is_word(folded_display[after]);
        if (left_ok && right_ok)
            return true;
    }
    return false;
}

std::vector<Mailbox> mailboxes_of(const Message& message, std::string_view name)
{
    std::vector<Mailbox> out;
    for (const HeaderField* field : message.all(name)) {
        AddressList list = parse_address_list(field->value);
        for (auto& mailbox : list.mailboxes) {
            if (out.size() >= max_mailboxes_examined)
                return out;
            out.push_back(std::move(mailbox));
        }
    }
    return out;
}

// What the sender fields claim, gathered once for the checks below.
struct Senders {
    std::vector<Mailbox> from;
    std::vector<Mailbox> reply_to;
    std::vector<std::pair<std::string, std::string>> domains;  // field name, domain
    std::string return_path_domain;
    std::string return_path_source;
};

Senders gather_senders(const Message& message, const Envelope& envelope)
{
    Senders senders;
    AddressList from = message.from();
    for (std::size_t i = 0; i < from.mailboxes.size() && i < max_mailboxes_examined; ++i)
        senders.from.push_back(from.mailboxes[i]);
    senders.reply_to = mailboxes_of(message, "Reply-To");

    for (const auto& mailbox : senders.from)
        senders.domains.emplace_back("From", ascii_lower(mailbox.domain));
    for (const auto& mailbox : mailboxes_of(message, "Sender"))
        senders.domains.emplace_back("Sender", ascii_lower(mailbox.domain));
    for (const auto& mailbox : senders.reply_to)
        senders.domains.emplace_back("Reply-To", ascii_lower(mailbox.domain));

    if (const HeaderField* return_path = message.first("Return-Path")) {
        senders.return_path_domain = address_domain(return_path->value);
        senders.return_path_source = "Return-Path";
    } else if (envelope.has_mail_from) {
        senders.return_path_domain = address_domain(envelope.mail_from);
        senders.return_path_source = "MAIL FROM";
    }
    if (!senders.return_path_domain.empty())
        senders.domains.emplace_back(senders.return_path_source, senders.return_path_domain);
    return senders;
}

// Lookalikes and bad punycode, once per domain; returns whether the From domain is one.
bool check_domains(const Policy& policy, const Senders& senders,
                   std::vector<Finding>& findings)
{
    bool from_lookalike = false, invalid_reported = false;
    std::set<std::string> judged;
    for (const auto& [field, domain] : senders.domains) {
        if (domain.empty() || !judged.insert(domain).second)
            continue;
        UnicodeDomain unicode = domain_to_unicode(domain);
        if (!unicode.valid && unicode.has_ace && !invalid_reported) {
            invalid_reported = true;
            findings.push_back(make_finding(policy, "idn_invalid",
                                            field + " domain " + shown(domain) +
                                                " has an invalid punycode label"));
        }
        auto lookalike = find_lookalike(policy, domain);
        if (!lookalike)
            continue;
        from_lookalike = from_lookalike || field == "From";
        std::string shown_domain = shown(domain) + (unicode.has_ace && unicode.valid
                                                        ? " (" + shown(unicode.unicode) + ")"
                                                        : "");
        findings.push_back(make_finding(policy, lookalike->idn ? "lookalike_idn"
                                                               : "lookalike_domain",
                                        field + " domain " + shown_domain + " looks like " +
                                            lookalike->protected_domain + " (" +
                                            lookalike->how + ")"));
    }
    return from_lookalike;
}

// Display names of From addresses outside our domains; returns whether one impersonates.
bool check_display_names(const Policy& policy, const Senders& senders,
                         std::vector<Finding>& findings)
{
    bool person_found = false, domain_found = false;
    for (const auto& mailbox : senders.from) {
        if (mailbox.display_name.empty() || is_our_domain(policy, mailbox.domain))
            continue;
        for (const auto& person : policy.organization.people) {
            if (person_found || !names_person(mailbox.display_name, person))
                continue;
            person_found = true;
            findings.push_back(make_finding(policy, "display_name_impersonation",
                                            "From display name " +
                                                shown(mailbox.display_name) + " names " +
                                                person + " but the address is " +
                                                shown(mailbox.address())));
        }
        std::string folded = fold_text(mailbox.display_name);
        for (const auto& ours : policy.organization.domains) {
            if (domain_found || !shows_domain(folded, fold_text(ours)))
                continue;
            domain_found = true;
            findings.push_back(make_finding(policy, "display_name_domain_spoof",
                                            "From display name " +
                                                shown(mailbox.display_name) + " shows " + ours +
                                                " but the address is " +
                                                shown(mailbox.address())));
        }
    }
    return person_found || domain_found;
}

// A Reply-To elsewhere is common (lists, ticket systems) and weighs little; from a sender
// that claims to be us, arriving from outside, it is how replies are diverted to a thief.
void check_reply_to(const Policy& policy, const Envelope& envelope, const Senders& senders,
                    bool claims_us, std::vector<Finding>& findings)
{
    if (senders.from.empty())
        return;
    std::string from_org = organizational_domain(senders.from.front().domain);
    bool internal = !envelope.client_ip.empty() &&
                    connection::is_our_client(policy, envelope.client_ip);
    for (const auto& mailbox : senders.reply_to) {
        std::string reply_org = organizational_domain(mailbox.domain);
        if (reply_org.empty() || reply_org == from_org)
            continue;
        bool diverted = claims_us && !internal && !is_our_domain(policy, mailbox.domain);
        findings.push_back(make_finding(policy,
                                        diverted ? "reply_to_diversion" : "reply_to_mismatch",
                                        "Reply-To " + shown(mailbox.address()) + " is not in " +
                                            shown(from_org) + " of From" +
                                            (diverted ? ", which claims to be us" : "")));
        return;
    }
}

void check_return_path(const Policy& policy, const Senders& senders,
                       std::vector<Finding>& findings)
{
    if (senders.from.empty() || senders.return_path_domain.empty())
        return;
    std::string from_org = organizational_domain(senders.from.front().domain);
    std::string bounce_org = organizational_domain(senders.return_path_domain);
    if (bounce_org == from_org)
        return;
    findings.push_back(make_finding(policy, "return_path_mismatch",
                                    senders.return_path_source + " domain " +
                                        shown(senders.return_path_domain) + " is not in " +
                                        shown(from_org) + " of From"));
}

}  // namespace

bool is_our_domain(const Policy& policy, std::string_view domain)
{
    return connection::is_our_domain(policy, domain);
}

// Three resemblances, compared on folded text (diacritics dropped, confusables mapped):
// the same name under another suffix or with confusable characters, a small edit distance
// under the same suffix, and our name as a whole label or hyphen part of another name.
std::optional<Lookalike> find_lookalike(const Policy& policy, std::string_view domain)
{
    // With no protected domains nothing can resemble one: skip the IDNA and PSL work.
    if (domain.empty() || policy.organization.domains.empty() || is_our_domain(policy, domain))
        return std::nullopt;
    UnicodeDomain unicode = domain_to_unicode(domain);
    std::string registrable = organizational_domain(unicode.unicode);
    SplitDomain candidate = split_registrable(registrable);
    std::string folded_name = fold_text(candidate.name);
    bool idn = !is_ascii(registrable);

    for (const auto& ours : policy.organization.domains) {
        std::string our_registrable = organizational_domain(ours);
        if (our_registrable == registrable)
            continue;  // another part of the same organization, not a lookalike
        SplitDomain protected_domain = split_registrable(our_registrable);
        std::string folded_ours = fold_text(protected_domain.name);

        if (folded_name == folded_ours) {
            std::string how = candidate.name == protected_domain.name
                                  ? "the same name under ." + candidate.suffix
                                  : "confusable characters";
            return Lookalike{ours, how, idn};
        }

        std::size_t allowed = allowed_distance(policy, protected_domain.name.size());
        if (allowed > 0 && candidate.suffix == protected_domain.suffix) {
            std::size_t distance = edit_distance(to_code_points(folded_name),
                                                 to_code_points(folded_ours), allowed);
            if (distance <= allowed)
                return Lookalike{ours, "edit distance " + std::to_string(distance), idn};
        }

        if (protected_domain.name.size() >= min_name_for_embedding) {
            auto tokens = domain_tokens(unicode.unicode);
            if (std::find(tokens.begin(), tokens.end(), folded_ours) != tokens.end())
                return Lookalike{ours, "contains the name " + protected_domain.name, idn};
        }
    }
    return std::nullopt;
}

void check_senders(const Policy& policy, const Message& message, const Envelope& envelope,
                   std::vector<Finding>& findings)
{
    Senders senders = gather_senders(message, envelope);
    bool from_lookalike = check_domains(policy, senders, findings);
    bool impersonating = check_display_names(policy, senders, findings);

    bool from_ours = !senders.from.empty() && is_our_domain(policy, senders.from.front().domain);
    bool claims_us = from_ours || from_lookalike || impersonating;
    check_reply_to(policy, envelope, senders, claims_us, findings);
    check_return_path(policy, senders, findings);
}

}  // namespace relaygate::checks::header
