#include "mime/params.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include "mime/decode.hpp"
#include "relaygate/message.hpp"

namespace relaygate::mime::detail {

namespace {

// Bounds on what one header field may make us hold.
constexpr std::size_t kMaxParameters = 64;
constexpr std::size_t kMaxContinuationIndex = 99;

struct RawParameter {
    std::string name;  // lowercase, as written ("filename*0*")
    std::string value;
};

// One piece of an RFC 2231 parameter: name*N or name*N* (or name* alone, index 0).
struct Section {
    unsigned index = 0;
    bool extended = false;  // percent-encoded, and for index 0 prefixed by charset'language'
    std::string value;
};

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return text;
}

// Removes RFC 5322 comments "(...)" (nesting counted) from the main value.
std::string strip_comments(std::string_view text)
{
    std::string out;
    int nesting = 0;
    for (char c : text) {
        if (c == '(') ++nesting;
        else if (c == ')' && nesting > 0) --nesting;
        else if (nesting == 0 && !is_space(c)) out.push_back(c);
    }
    return out;
}

// Reads a quoted-string starting after its opening quote; pos ends after the closing quote.
std::string read_quoted(std::string_view text, std::size_t& pos, bool& unterminated)
{
    std::string out;
    while (pos < text.size()) {
        char c = text[pos++];
        if (c == '"') return out;
        if (c == '\\' && pos < text.size()) c = text[pos++];
        out.push_back(c);
    }
    unterminated = true;
    return out;
}

// Splits "; a=b; c="d"" into raw parameters in order.
std::vector<RawParameter> read_parameters(std::string_view text, std::vector<std::string>& defects)
{
    std::vector<RawParameter> parameters;
    std::size_t pos = 0;
    while (pos < text.size()) {
        while (pos < text.size() && (text[pos] == ';' || is_space(text[pos]))) ++pos;
        std::size_t name_end = text.find_first_of("=;", pos);
        if (name_end == std::string_view::npos) name_end = text.size();
        std::string name = ascii_lower(trim(text.substr(pos, name_end - pos)));
        pos = name_end;
        if (pos >= text.size() || text[pos] == ';') continue;  // a name without a value

        ++pos;
        while (pos < text.size() && is_space(text[pos])) ++pos;
        std::string value;
        if (pos < text.size() && text[pos] == '"') {
            bool unterminated = false;
            ++pos;
            value = read_quoted(text, pos, unterminated);
            if (unterminated) defects.push_back("parameter " + name + " has no closing quote");
            std::size_t next = text.find(';', pos);
            pos = next == std::string_view::npos ? text.size() : next;
        } else {
            std::size_t value_end = text.find(';', pos);
            if (value_end == std::string_view::npos) value_end = text.size();
            value = std::string(trim(text.substr(pos, value_end - pos)));
            pos = value_end;
        }

        if (name.empty()) continue;
        if (parameters.size() == kMaxParameters) {
            defects.push_back("more than " + std::to_string(kMaxParameters) + " parameters");
            break;
        }
        parameters.push_back({std::move(name), std::move(value)});
    }
    return parameters;
}

// "filename*1*" → base "filename", index 1, extended; nullopt for a plain name.
std::optional<std::pair<std::string, Section>> parse_section_name(const std::string& name)
{
    std::size_t star = name.find('*');
    if (star == std::string::npos || star == 0) return std::nullopt;
    std::string base = name.substr(0, star);
    std::string_view rest = std::string_view(name).substr(star + 1);
    Section section;
    if (rest.empty()) {
        section.extended = true;
        return std::pair{base, section};
    }
    if (rest.back() == '*') {
        section.extended = true;
        rest.remove_suffix(1);
    }
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), section.index);
    if (error != std::errc() || end != rest.data() + rest.size()) return std::nullopt;
    if (section.index > kMaxContinuationIndex) return std::nullopt;
    return std::pair{base, section};
}

// Joins the sections of one RFC 2231 parameter and converts it to UTF-8.
std::string assemble(std::vector<Section>& sections, const std::string& name,
                     std::vector<std::string>& defects)
{
    std::sort(sections.begin(), sections.end(),
              [](const Section& a, const Section& b) { return a.index < b.index; });
    std::string charset;
    std::string bytes;
    for (std::size_t i = 0; i < sections.size(); ++i) {
        if (sections[i].index != i) {
            defects.push_back("parameter " + name + " has a gap in its continuations");
            break;
        }
        std::string_view value = sections[i].value;
        if (i == 0 && sections[i].extended) {
            // charset'language'value; a value without the two quotes is taken as it is.
            std::size_t first = value.find('\'');
            std::size_t second = first == std::string_view::npos
                                     ? std::string_view::npos : value.find('\'', first + 1);
            if (second != std::string_view::npos) {
                charset = ascii_lower(value.substr(0, first));
                value.remove_prefix(second + 1);
            }
        }
        bytes += sections[i].extended ? percent_decode(value) : std::string(value);
    }
    if (charset.empty()) return bytes;
    if (!charset_known(charset)) {
        defects.push_back("parameter " + name + " declares unknown charset " + charset);
    }
    return to_utf8(bytes, charset);
}

}  // namespace

// Splits the value from its parameters, then reassembles RFC 2231 sections, which win over a
// plain parameter of the same name (RFC 2231 section 4 lets senders give both).
HeaderValue parse_header_value(std::string_view field_value, std::vector<std::string>& defects)
{
    HeaderValue result;
    std::size_t semicolon = field_value.find(';');
    result.value = ascii_lower(strip_comments(field_value.substr(0, semicolon)));
    if (semicolon == std::string_view::npos) return result;

    std::map<std::string, std::vector<Section>> extended;
    for (auto& parameter : read_parameters(field_value.substr(semicolon), defects)) {
        auto section = parse_section_name(parameter.name);
        if (!section) {
            result.params.emplace(parameter.name, std::move(parameter.value));
            continue;
        }
        section->second.value = std::move(parameter.value);
        extended[section->first].push_back(std::move(section->second));
    }

    for (auto& [name, sections] : extended) {
        result.params[name] = assemble(sections, name, defects);
    }
    return result;
}

}  // namespace relaygate::mime::detail
