// The RFC 8601 Authentication-Results header value describing SPF, DKIM and DMARC.
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/auth.hpp"

namespace relaygate::auth {

namespace {

// Reasons come from messages and DNS; a comment keeps at most this many characters of one.
constexpr std::size_t kMaxCommentLength = 200;

// RFC 2045 token: printable ASCII except SP and tspecials.
bool is_token(std::string_view text) {
    constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";
    if (text.empty()) {
        return false;
    }
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || tspecials.find(c) != std::string_view::npos) {
            return false;
        }
    }
    return true;
}

std::string quoted_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\r' || c == '\n') {
            continue;
        }
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out + "\"";
}

// An RFC 5321 dot-atom local part needs no quotes.
bool is_dot_atom(std::string_view text) {
    constexpr std::string_view atext_specials = "!#$%&'*+-/=?^_`{|}~";
    if (text.empty() || text.front() == '.' || text.back() == '.') {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool ok = alnum || atext_specials.find(c) != std::string_view::npos ||
                  (c == '.' && text[i - 1] != '.');
        if (!ok) {
            return false;
        }
    }
    return true;
}

// pvalue of RFC 8601 2.2: a token, a [local-part "@"] domain, or else a quoted-string.
std::string property_value(std::string_view value) {
    if (is_token(value)) {
        return std::string(value);
    }
    std::size_t at = value.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view local = value.substr(0, at);
        std::string_view domain = value.substr(at + 1);
        if (is_token(domain) || domain.empty()) {
            std::string local_text = local.empty() || is_dot_atom(local) ? std::string(local)
                                                                          : quoted_string(local);
            if (!domain.empty()) {
                return local_text + "@" + std::string(domain);
            }
        }
    }
    return quoted_string(value);
}

// "(text)" with the characters a comment cannot hold escaped, on one line.
std::string comment(std::string_view text) {
    std::string out = "(";
    for (char c : text.substr(0, kMaxCommentLength)) {
        if (c == '\r' || c == '\n') {
            out.push_back(' ');
            continue;
        }
        if (c == '(' || c == ')' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out + ")";
}

std::string spf_resinfo(const SpfOutcome& spf) {
    std::string out = "spf=" + spf.result;
    if (!spf.reason.empty() && spf.result != "pass") {
        out += " " + comment(spf.reason);
    }
    if (!spf.domain.empty()) {
        out += (spf.scope == "helo" ? " smtp.helo=" : " smtp.mailfrom=") +
               property_value(spf.domain);
    }
    return out;
}

std::string dkim_resinfo(const DkimSignatureOutcome& dkim) {
    std::string out = "dkim=" + dkim.result;
    if (!dkim.reason.empty()) {
        out += " " + comment(dkim.reason);
    }
    if (!dkim.domain.empty()) {
        out += " header.d=" + property_value(dkim.domain);
    }
    if (!dkim.selector.empty()) {
        out += " header.s=" + property_value(dkim.selector);
    }
    if (!dkim.header_b.empty()) {
        out += " header.b=" + property_value(dkim.header_b);
    }
    return out;
}

std::string dmarc_resinfo(const DmarcOutcome& dmarc) {
    std::string out = "dmarc=" + dmarc.result;
    if (!dmarc.policy.empty()) {
        out += " (p=" + dmarc.policy + " dis=" + dmarc.disposition + ")";
    } else if (!dmarc.reason.empty() && dmarc.result != "none") {
        out += " " + comment(dmarc.reason);
    }
    if (!dmarc.domain.empty()) {
        out += " header.from=" + property_value(dmarc.domain);
    }
    return out;
}

}  // namespace

// "authserv-id; spf=...; dkim=... (one per signature); dmarc=...", or "authserv-id; none"
// when there is nothing at all to report (RFC 8601 2.2).
std::string authentication_results(std::string_view authserv_id, const SpfOutcome& spf,
                                   const std::vector<DkimSignatureOutcome>& dkim,
                                   const DmarcOutcome& dmarc) {
    std::string out = property_value(authserv_id);
    bool nothing = spf.result == "none" && spf.domain.empty() && dkim.empty() &&
                   dmarc.result == "none" && dmarc.domain.empty();
    if (nothing) {
        return out + "; none";
    }
    out += "; " + spf_resinfo(spf);
    if (dkim.empty()) {
        out += "; dkim=none";
    }
    for (const DkimSignatureOutcome& signature : dkim) {
        out += "; " + dkim_resinfo(signature);
    }
    out += "; " + dmarc_resinfo(dmarc);
    return out;
}

}  // namespace relaygate::auth
