// Finding ids of the payload layer (URL, attachment and MIME checks), with default weights:
//
//   mime_limit                  the MIME walk hit a limit (depth, parts, decoded bytes, header
//                               size); what lies beyond it was not inspected
//   mime_malformed              the MIME structure or an encoding is broken (malformed base64,
//                               unknown charset, unclosed multipart, missing boundary)
//   url_ip_literal              a link's host is an IP address instead of a name
//   url_numeric_host            a link's host is an IP address written in an obfuscated form
//                               (one decimal number, hex, octal, or mixed dotted forms)
//   url_userinfo                a link carries user information before the host
//                               (http://paypal.com@evil.test/): the real host is after the @
//   url_text_mismatch           a link's visible text shows another domain than its href
//   url_lookalike               a link goes to a domain that resembles one of
//                               organization.domains (confusable characters, punycode
//                               homoglyphs, small edit distance)
//   url_backslash               a link uses backslashes where browsers read slashes
//   uribl_listed                a URI blocklist (payload.uribl) lists a link's host or its
//                               registrable domain; scored by the zone's weight for the code
//   uribl_error                 a URI blocklist lookup failed temporarily (not counted; the
//                               action cannot be better than tempfail)
//   attachment_executable       an attachment is a program (PE, ELF, Mach-O, or an
//                               executable's file name)
//   attachment_script           an attachment is a script Windows runs on a double click
//                               (.js .jse .vbs .vbe .ps1 .bat .cmd .hta .wsf .wsh .scr ...)
//   attachment_shortcut         an attachment is a shortcut (.lnk, .url, .scf, .desktop)
//   attachment_disk_image       an attachment is a disk image (.iso .img .vhd .vhdx .dmg)
//   attachment_html_smuggling   an HTML attachment assembles a file in the browser (Blob with
//                               createObjectURL or msSaveOrOpenBlob, data: links to download)
//   attachment_macro            an Office document carries VBA macros (vbaProject.bin in
//                               OOXML, a VBA storage in OLE, or a macro-enabled extension)
//   attachment_double_extension a file name hides its real extension behind a harmless one
//                               (invoice.pdf.exe, report.doc      .js)
//   attachment_type_mismatch    an attachment's content is of another type than its file
//                               name or Content-Type says
//   archive_encrypted           an archive holds encrypted entries, which cannot be inspected
//   archive_dangerous_member    an archive (nested ones too) holds a dangerous file
//   archive_bomb                an archive declares or inflates to more than the size or ratio
//                               limits (decompression bomb); reading stopped at the bound
//   archive_too_deep            archives nest deeper than payload.max_archive_depth
//   archive_unreadable          an attachment that looks like an archive cannot be read
#include "checks/payload_findings.hpp"

#include <algorithm>

namespace relaygate::checks {

const std::vector<PayloadFindingInfo>& payload_finding_table()
{
    static const std::vector<PayloadFindingInfo> table = {
        {"mime_limit", 3, "the MIME walk hit a limit; what lies beyond it was not inspected"},
        {"mime_malformed", 0.5, "the MIME structure or an encoding is broken"},
        {"url_ip_literal", 2, "a link's host is an IP address"},
        {"url_numeric_host", 4, "a link's host is an IP address in an obfuscated form"},
        {"url_userinfo", 4, "a link carries user information before the host"},
        {"url_text_mismatch", 4, "a link's visible text shows another domain than its href"},
        {"url_lookalike", 7, "a link goes to a lookalike of one of organization.domains"},
        {"url_backslash", 1, "a link uses backslashes where browsers read slashes"},
        {"uribl_listed", 5, "a URI blocklist lists a link's host"},
        {"uribl_error", 0, "a URI blocklist lookup failed temporarily"},
        {"attachment_executable", 8, "an attachment is a program"},
        {"attachment_script", 7, "an attachment is a script Windows runs on a double click"},
        {"attachment_shortcut", 7, "an attachment is a shortcut file"},
        {"attachment_disk_image", 5, "an attachment is a disk image"},
        {"attachment_html_smuggling", 8, "an HTML attachment assembles a file in the browser"},
        {"attachment_macro", 6, "an Office document carries VBA macros"},
        {"attachment_double_extension", 5, "a file name hides its real extension"},
        {"attachment_type_mismatch", 3, "an attachment's content is not what its name says"},
        {"archive_encrypted", 4, "an archive holds encrypted entries"},
        {"archive_dangerous_member", 7, "an archive holds a dangerous file"},
        {"archive_bomb", 6, "an archive exceeds the size or ratio limits"},
        {"archive_too_deep", 3, "archives nest deeper than payload.max_archive_depth"},
        {"archive_unreadable", 1, "an archive cannot be read"},
    };
    return table;
}

namespace {

double table_weight(std::string_view id)
{
    const auto& table = payload_finding_table();
    auto it = std::find_if(table.begin(), table.end(),
                           [&](const PayloadFindingInfo& info) { return info.id == id; });
    return it == table.end() ? 0 : it->weight;
}

}  // namespace

Finding payload_finding(const Policy& policy, std::string_view id, std::string detail,
                        double weight)
{
    Finding finding;
    finding.layer = "payload";
    finding.id = std::string(id);
    finding.detail = std::move(detail);
    finding.score = weight;
    if (auto it = policy.weights.find(finding.id); it != policy.weights.end()) {
        finding.score = it->second;
    }
    finding.hard_action = parse_action(finding_action(policy, id));
    return finding;
}

Finding payload_finding(const Policy& policy, std::string_view id, std::string detail)
{
    const FindingInfo* info = find_finding(id);
    double weight = info ? info->weight : table_weight(id);
    return payload_finding(policy, id, std::move(detail), weight);
}

std::string shorten(std::string_view text)
{
    if (text.size() <= kMaxDetailTextBytes) return std::string(text);
    return std::string(text.substr(0, kMaxDetailTextBytes)) + "...";
}

}  // namespace relaygate::checks
