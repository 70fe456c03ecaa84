// Name normalisation and record text shared by every source of the dns module.
#include "dns/names.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace relaygate::dns::detail {
namespace {

// Characters a name may hold on the fast path: anything else goes through ldns, which knows
// the escape rules.
bool is_plain_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '*' || c == '.';
}

char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Checks label and name lengths of a name made of plain characters only.
bool plain_name_is_valid(std::string_view name)
{
    if (name.size() > kMaxNameLength) {
        return false;
    }
    std::size_t label_start = 0;
    while (label_start <= name.size()) {
        std::size_t dot = name.find('.', label_start);
        if (dot == std::string_view::npos) {
            dot = name.size();
        }
        std::size_t length = dot - label_start;
        if (length == 0 || length > kMaxLabelLength) {
            return false;
        }
        label_start = dot + 1;
    }
    return true;
}

// The ldns presentation text of an rdf, freed here.
std::string rdf_string(const ldns_rdf* rdf)
{
    std::unique_ptr<char, decltype(&std::free)> text(ldns_rdf2str(rdf), &std::free);
    return text ? std::string(text.get()) : std::string();
}

}  // namespace

std::optional<std::string> canonical_name(std::string_view name)
{
    if (name == "." || name.empty()) {
        return std::string();
    }
    if (name.back() == '.') {
        name.remove_suffix(1);
    }

    // Fast path: ordinary host names need no parser.
    if (std::all_of(name.begin(), name.end(), is_plain_name_char)) {
        if (!plain_name_is_valid(name)) {
            return std::nullopt;
        }
        std::string key(name);
        std::transform(key.begin(), key.end(), key.begin(), ascii_lower);
        return key;
    }

    // Escapes (\. \032 ...) and odd octets: let ldns decide what the name is.
    std::string absolute(name);
    absolute += '.';
    std::unique_ptr<ldns_rdf, RdfFree> dname(ldns_dname_new_frm_str(absolute.c_str()));
    if (!dname) {
        return std::nullopt;
    }
    return dname_key(dname.get());
}

std::optional<std::string_view> parent_name(std::string_view canonical)
{
    if (canonical.empty()) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < canonical.size(); ++i) {
        if (canonical[i] == '\\') {
            ++i;  // the escaped character (or the first digit of \DDD) is never a separator
            continue;
        }
        if (canonical[i] == '.') {
            return canonical.substr(i + 1);
        }
    }
    return std::string_view();
}

std::string dname_text(const ldns_rdf* dname)
{
    std::string text = rdf_string(dname);
    if (text.size() > 1 && text.back() == '.') {
        text.pop_back();
    }
    return text;
}

std::string dname_key(const ldns_rdf* dname)
{
    std::string text = dname_text(dname);
    if (text == ".") {
        return std::string();
    }
    std::transform(text.begin(), text.end(), text.begin(), ascii_lower);
    return text;
}

std::string record_text(const ldns_rr* rr)
{
    ldns_rr_type type = ldns_rr_get_type(rr);
    std::string text;

    // TXT and SPF: the character-strings joined as raw octets (each rdf is length-prefixed).
    if (type == LDNS_RR_TYPE_TXT || type == LDNS_RR_TYPE_SPF) {
        for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
            const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
            const std::uint8_t* data = ldns_rdf_data(rdf);
            std::size_t size = ldns_rdf_size(rdf);
            if (size == 0) {
                continue;
            }
            std::size_t length = std::min<std::size_t>(data[0], size - 1);
            text.append(reinterpret_cast<const char*>(data + 1), length);
        }
        return text;
    }

    // Everything else: the fields in presentation form, names without their trailing dot.
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        if (i > 0) {
            text += ' ';
        }
        text += ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME ? dname_text(rdf)
                                                              : rdf_string(rdf);
    }
    return text;
}

std::uint32_t soa_negative_ttl(const ldns_rr* soa)
{
    constexpr std::size_t kSoaMinimumField = 6;
    std::uint32_t ttl = ldns_rr_ttl(soa);
    if (ldns_rr_rd_count(soa) <= kSoaMinimumField) {
        return ttl;
    }
    return std::min(ttl, ldns_rdf2native_int32(ldns_rr_rdf(soa, kSoaMinimumField)));
}

}  // namespace relaygate::dns::detail
