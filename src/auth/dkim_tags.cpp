#include "auth/dkim_tags.hpp"

#include <algorithm>
#include <cstddef>

namespace relaygate::auth::detail {

namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// VALCHAR of RFC 6376 3.2: printable ASCII except ";".
bool is_valchar(char c) { return c >= 0x21 && c <= 0x7e && c != ';'; }

std::string_view trim_fws(std::string_view text) {
    while (!text.empty() && is_fws(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_fws(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// tag-name = ALPHA *ALNUMPUNC
bool is_tag_name(std::string_view name) {
    if (name.empty() || !is_alpha(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

bool is_tag_value(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return is_valchar(c) || is_fws(c); });
}

}  // namespace

std::optional<std::string_view> TagList::get(std::string_view name) const {
    for (const auto& [tag, value] : tags) {
        if (tag == name) {
            return std::string_view(value);
        }
    }
    return std::nullopt;
}

// Splits on ";" and checks every tag-spec; an empty spec is allowed only after a final ";".
TagList parse_tag_list(std::string_view text) {
    TagList list;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(';', start);
        bool last = end == std::string_view::npos;
        std::string_view spec = trim_fws(text.substr(start, last ? text.npos : end - start));
        start = last ? text.size() + 1 : end + 1;

        if (spec.empty()) {
            if (last && !list.tags.empty()) {
                break;
            }
            list.problem = "empty tag in tag list";
            return list;
        }

        std::size_t equals = spec.find('=');
        if (equals == std::string_view::npos) {
            list.problem = "tag without \"=\" in tag list";
            return list;
        }
        std::string_view name = trim_fws(spec.substr(0, equals));
        std::string_view value = trim_fws(spec.substr(equals + 1));
        if (!is_tag_name(name)) {
            list.problem = "invalid tag name in tag list";
            return list;
        }
        if (!is_tag_value(value)) {
            list.problem = "invalid character in value of tag " + std::string(name);
            return list;
        }
        if (list.get(name)) {
            list.problem = "duplicate tag " + std::string(name);
            return list;
        }
        list.tags.emplace_back(std::string(name), std::string(value));
    }
    return list;
}

std::string strip_whitespace(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (!is_fws(c)) {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace relaygate::auth::detail
