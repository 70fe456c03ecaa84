#include "auth/spf_record_text.hpp"

#include <algorithm>
#include <cctype>

namespace relaygate::auth::spf_text {
namespace {

constexpr std::string_view version_tag = "v=spf1";

// ASCII case-insensitive prefix test.
bool starts_with_nocase(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size()) {
        return false;
    }
    return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
    });
}

// An "all" mechanism with an optional qualifier.
bool is_all_mechanism(std::string_view term)
{
    if (!term.empty() && std::string_view("+-~?").find(term.front()) != std::string_view::npos) {
        term.remove_prefix(1);
    }
    return term.size() == 3 && starts_with_nocase(term, "all");
}

}  // namespace

bool is_spf_record(std::string_view txt)
{
    return starts_with_nocase(txt, version_tag) &&
           (txt.size() == version_tag.size() || txt[version_tag.size()] == ' ');
}

std::vector<std::string_view> terms(std::string_view record)
{
    std::vector<std::string_view> found;
    record.remove_prefix(std::min(record.size(), version_tag.size()));
    std::size_t position = 0;
    while (position < record.size()) {
        std::size_t start = record.find_first_not_of(' ', position);
        if (start == std::string_view::npos) {
            break;
        }
        std::size_t end = record.find(' ', start);
        end = end == std::string_view::npos ? record.size() : end;
        found.push_back(record.substr(start, end - start));
        position = end;
    }
    return found;
}

std::string without_redirect_beside_all(std::string_view record)
{
    std::vector<std::string_view> all_terms = terms(record);
    bool has_all = std::any_of(all_terms.begin(), all_terms.end(), is_all_mechanism);
    bool has_redirect = std::any_of(all_terms.begin(), all_terms.end(), [](std::string_view t) {
        return starts_with_nocase(t, "redirect=");
    });
    if (!has_all || !has_redirect) {
        return std::string(record);
    }

    std::string kept(record.substr(0, version_tag.size()));
    for (std::string_view term : all_terms) {
        if (!starts_with_nocase(term, "redirect=")) {
            kept.append(" ").append(term);
        }
    }
    return kept;
}

}  // namespace relaygate::auth::spf_text
