// The built-in policy and the catalog of finding ids with their default weights and hard
// actions: what applies when the policy file says nothing.
#include <algorithm>

#include "relaygate/policy.hpp"

namespace relaygate {

Policy default_policy()
{
    Policy policy;

    // Loopback may relay anywhere: that is the local MTA or a submission on this host.
    // Nobody else may until the administrator says so.
    policy.relay.allowed_clients = {"127.0.0.0/8", "::1/128"};
    return policy;
}

// One table for every finding the connection and header layers report (other layers add
// theirs here). Weights are on the scale of the default thresholds: 5 quarantines, 10
// rejects. A weight of 0 marks a finding that informs without counting.
const std::vector<FindingInfo>& finding_catalog()
{
    static const std::vector<FindingInfo> catalog = {
        // connection
        {"relay_denied", "connection", 10, "reject",
         "a recipient is outside organization.domains and the client is not in "
         "relay.allowed_clients"},
        {"ip_allowlisted", "connection", 0, "",
         "the client is in connection.allow: the IP block list and DNS blocklists are skipped"},
        {"ip_blocklisted", "connection", 10, "reject", "the client is in connection.block"},
        {"dnsbl_listed", "connection", 5, "",
         "a DNS blocklist lists the client; the score is the zone's weight for the return code"},
        {"dnsbl_refused", "connection", 0, "",
         "a DNS blocklist answered 127.255.255.x (query refused or rate limited): not listed"},
        {"dnsbl_error", "connection", 0, "",
         "a DNS blocklist lookup failed or gave an answer outside 127.0.0.0/8: not counted"},
        {"rdns_missing", "connection", 1, "", "the client IP has no PTR record"},
        {"fcrdns_mismatch", "connection", 1.5, "",
         "no PTR name of the client IP resolves back to it (forward-confirmed reverse DNS)"},
        {"rdns_temperror", "connection", 0, "",
         "the reverse DNS lookups failed temporarily: not counted"},
        {"helo_missing", "connection", 1, "", "the client IP is known but no HELO name"},
        {"helo_bare_ip", "connection", 1.5, "",
         "the HELO name is an IP address without the brackets of an address literal"},
        {"helo_literal_mismatch", "connection", 1, "",
         "the HELO address literal is not the client's address"},
        {"helo_not_fqdn", "connection", 1, "", "the HELO name is not a fully-qualified domain"},
        {"helo_claims_our_domain", "connection", 4, "",
         "the HELO name is one of organization.domains but the client is not ours"},
        {"helo_claims_our_address", "connection", 4, "",
         "the HELO name is a loopback address or one of ours but the client is not ours"},

        // header
        {"from_missing", "header", 3, "", "no From field"},
        {"from_duplicate", "header", 3, "", "more than one From field"},
        {"from_no_address", "header", 3, "", "the From field holds no address"},
        {"from_multiple_addresses", "header", 2, "", "the From field holds several addresses"},
        {"from_malformed", "header", 1, "", "the From field does not parse cleanly"},
        {"date_missing", "header", 1, "", "no Date field"},
        {"date_duplicate", "header", 1, "", "more than one Date field"},
        {"date_invalid", "header", 1, "", "the Date field is not an RFC 5322 date"},
        {"date_future", "header", 1, "", "the Date lies in the future beyond the clock skew"},
        {"message_id_missing", "header", 1, "", "no Message-ID field"},
        {"message_id_duplicate", "header", 1, "", "more than one Message-ID field"},
        {"reply_to_mismatch", "header", 2, "",
         "Reply-To is on another organizational domain than From"},
        {"reply_to_diversion", "header", 7, "",
         "From claims to be us (our domain, one of our people or a lookalike) and Reply-To "
         "leads outside organization.domains"},
        {"return_path_mismatch", "header", 0.5, "",
         "Return-Path (or MAIL FROM) is on another organizational domain than From"},
        {"display_name_impersonation", "header", 6, "",
         "the From display name is one of organization.people, sent from outside our domains"},
        {"display_name_domain_spoof", "header", 6, "",
         "the From display name shows an address or domain of ours, sent from outside"},
        {"lookalike_domain", "header", 7, "",
         "a sender domain resembles one of organization.domains (edit distance, confusable "
         "characters such as rn for m or 1 for l)"},
        {"lookalike_idn", "header", 8, "",
         "an internationalized sender domain is a homoglyph of one of organization.domains"},
        {"idn_invalid", "header", 2, "", "a sender domain has an invalid punycode (xn--) label"},
        {"header_invalid_utf8", "header", 1, "",
         "a sender field or display name holds invalid UTF-8"},
        {"header_line_too_long", "header", 1, "",
         "a header line is longer than RFC 5322's 998 octets"},
        {"received_date_future", "header", 2, "", "a Received date lies in the future"},
        {"received_out_of_order", "header", 1, "",
         "a Received date is later than the one written after it"},
        {"received_too_many", "header", 1, "", "more Received fields than a real path has"},

        // auth
        {"spf_fail", "auth", 3, "",
         "SPF fail: the client may not send for the MAIL FROM (or HELO) domain"},
        {"spf_softfail", "auth", 1, "", "SPF softfail (~all)"},
        {"spf_permerror", "auth", 1, "", "the SPF record is malformed or exceeds a lookup limit"},
        {"spf_temperror", "auth", 0, "",
         "an SPF lookup failed temporarily; tempfail unless DMARC passes without it"},
        {"dkim_fail", "auth", 2, "", "a DKIM signature does not verify"},
        {"dkim_permerror", "auth", 1, "", "a DKIM signature or its key is malformed or missing"},
        {"dkim_policy", "auth", 1, "",
         "a DKIM signature refused by policy: rsa-sha1 or an RSA key under 1024 bits (RFC 8301), "
         "or beyond the signature limit"},
        {"dkim_temperror", "auth", 0, "",
         "a DKIM key lookup failed temporarily; tempfail unless DMARC passes without it"},
        {"dkim_unsigned_content", "auth", 3, "",
         "body content after a signature's l= length is not covered by the signature"},
        {"dmarc_reject", "auth", 10, "reject",
         "DMARC fail and the From domain asks to reject (p=, sp= or pct= sampling applied)"},
        {"dmarc_quarantine", "auth", 5, "quarantine",
         "DMARC fail and the From domain asks to quarantine"},
        {"dmarc_fail", "auth", 2, "", "DMARC fail under p=none, or sampled out by pct="},
        {"dmarc_permerror", "auth", 1, "",
         "no usable From domain (none, several, invalid) or a malformed DMARC record"},
        {"dmarc_temperror", "auth", 0, "", "the DMARC record lookup failed temporarily: tempfail"},

        // payload
        {"mime_limit", "payload", 3, "",
         "the MIME walk hit a limit (depth, parts, decoded bytes, header size); what lies beyond "
         "it was not inspected"},
        {"mime_malformed", "payload", 0.5, "",
         "the MIME structure or an encoding is broken (malformed base64, unknown charset, "
         "unclosed multipart)"},
        {"url_ip_literal", "payload", 2, "", "a link's host is an IP address"},
        {"url_numeric_host", "payload", 4, "",
         "a link's host is an IP address in an obfuscated form (one decimal number, hex, octal)"},
        {"url_userinfo", "payload", 4, "",
         "a link carries user information before the host (http://bank.example@evil.example/)"},
        {"url_text_mismatch", "payload", 4, "",
         "a link's visible text shows another domain than its href"},
        {"url_lookalike", "payload", 7, "",
         "a link goes to a lookalike of one of organization.domains"},
        {"url_backslash", "payload", 1, "", "a link uses backslashes where browsers read slashes"},
        {"uribl_listed", "payload", 5, "",
         "a URI blocklist lists a link's host or registrable domain; the score is the zone's "
         "weight for the return code"},
        {"uribl_error", "payload", 0, "", "a URI blocklist lookup failed temporarily"},
        {"attachment_executable", "payload", 8, "",
         "an attachment is a program (PE, ELF, Mach-O, or an executable's file name)"},
        {"attachment_script", "payload", 7, "",
         "an attachment is a script Windows runs on a double click (.js .vbs .ps1 .bat .hta ...)"},
        {"attachment_shortcut", "payload", 7, "",
         "an attachment is a shortcut file (.lnk .url .scf .desktop)"},
        {"attachment_disk_image", "payload", 5, "",
         "an attachment is a disk image (.iso .img .vhd .vhdx .dmg)"},
        {"attachment_html_smuggling", "payload", 8, "",
         "an HTML attachment assembles a file for download in the browser"},
        {"attachment_macro", "payload", 6, "",
         "an Office document carries VBA macros (OOXML vbaProject.bin, OLE VBA storage, or a "
         "macro-enabled extension)"},
        {"attachment_double_extension", "payload", 5, "",
         "a file name hides its real extension behind a harmless one (invoice.pdf.exe)"},
        {"attachment_type_mismatch", "payload", 3, "",
         "an attachment's content is of another type than its name or Content-Type says"},
        {"archive_encrypted", "payload", 4, "", "an archive holds encrypted entries"},
        {"archive_dangerous_member", "payload", 7, "",
         "an archive (nested ones too) holds a dangerous file"},
        {"archive_bomb", "payload", 6, "",
         "an archive declares or inflates beyond the size or ratio limits (decompression bomb)"},
        {"archive_too_deep", "payload", 3, "",
         "archives nest deeper than payload.max_archive_depth"},
        {"archive_unreadable", "payload", 1, "",
         "an attachment that looks like an archive cannot be read"},
        {"model_spam", "payload", 8, "",
         "the statistical model calls the message spam; the score rises with the probability "
         "from 2.5 at the model's threshold to this weight at 0.999"},
        {"model_unavailable", "payload", 0, "", "the model file is missing or unreadable"},
    };
    return catalog;
}

const FindingInfo* find_finding(std::string_view id)
{
    const auto& catalog = finding_catalog();
    auto it = std::find_if(catalog.begin(), catalog.end(),
                           [&](const FindingInfo& info) { return info.id == id; });
    return it == catalog.end() ? nullptr : &*it;
}

double finding_weight(const Policy& policy, std::string_view id)
{
    if (auto it = policy.weights.find(std::string(id)); it != policy.weights.end())
        return it->second;
    const FindingInfo* info = find_finding(id);
    return info ? info->weight : 0;
}

std::string finding_action(const Policy& policy, std::string_view id)
{
    if (auto it = policy.actions.find(std::string(id)); it != policy.actions.end())
        return it->second == "none" ? std::string() : it->second;
    const FindingInfo* info = find_finding(id);
    return info ? std::string(info->action) : std::string();
}

}  // namespace relaygate
