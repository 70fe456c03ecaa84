// RFC 5322 section 3.3 dates, with the obsolete forms of section 4.3 (two-digit years,
// alphabetic zones, comments), read into seconds since the epoch.
#include <array>
#include <cctype>

#include "checks/header_checks.hpp"

namespace relaygate::checks::header {
namespace {

// A date is a few dozen characters; a longer value is read no further.
constexpr std::size_t max_date_octets = 256;

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};

// Days from 1970-01-01 to a civil date (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2 ? 1 : 0;
    std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    auto year_of_era = static_cast<unsigned>(year - era * 400);
    unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

// The value as tokens: words, numbers and signed zones, with comments, commas and colons
// dropped except that "hh:mm:ss" stays one token.
std::vector<std::string> date_tokens(std::string_view text)
{
    std::vector<std::string> tokens;
    std::string token;
    int comment_depth = 0;
    for (char c : text.substr(0, max_date_octets)) {
        if (c == '(') {
            ++comment_depth;
        } else if (c == ')' && comment_depth > 0) {
            --comment_depth;
        } else if (comment_depth == 0 && (std::isalnum(static_cast<unsigned char>(c)) ||
                                          c == ':' || c == '+' || c == '-')) {
            token += c;
            continue;
        }
        if (!token.empty())
            tokens.push_back(ascii_lower(token));
        token.clear();
    }
    if (!token.empty())
        tokens.push_back(ascii_lower(token));
    return tokens;
}

std::optional<int> number(std::string_view text, std::size_t min_digits, std::size_t max_digits)
{
    if (text.size() < min_digits || text.size() > max_digits)
        return std::nullopt;
    int value = 0;
    for (char c : text) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

// Zone offset in seconds east of UTC: "+0200", "-0700", "gmt", "est", military letters.
std::optional<int> zone_offset(std::string_view zone)
{
    if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
        auto hours = number(zone.substr(1, 2), 2, 2);
        auto minutes = number(zone.substr(3, 2), 2, 2);
        if (!hours || !minutes || *minutes > 59)
            return std::nullopt;
        int offset = *hours * 3600 + *minutes * 60;
        return zone[0] == '-' ? -offset : offset;
    }
    static const std::array<std::pair<std::string_view, int>, 10> names{{
        {"ut", 0}, {"gmt", 0}, {"utc", 0}, {"est", -5}, {"edt", -4},
        {"cst", -6}, {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8},
    }};
    for (const auto& [name, hours] : names) {
        if (zone == name)
            return hours * 3600;
    }
    if (zone == "pdt")
        return -7 * 3600;
    // RFC 5322 4.3: military zones are to be taken as +0000, their meaning being unreliable.
    if (zone.size() == 1 && std::isalpha(static_cast<unsigned char>(zone[0])) && zone != "j")
        return 0;
    return std::nullopt;
}

struct Clock {
    int hour = 0, minute = 0, second = 0;
};

std::optional<Clock> time_of_day(std::string_view text)
{
    Clock clock;
    auto first = text.find(':');
    if (first == std::string_view::npos)
        return std::nullopt;
    auto second = text.find(':', first + 1);
    auto hour = number(text.substr(0, first), 1, 2);
    auto minute = number(text.substr(first + 1, second == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : second - first - 1),
                         2, 2);
    auto seconds = second == std::string_view::npos ? std::optional<int>(0)
                                                    : number(text.substr(second + 1), 2, 2);
    if (!hour || !minute || !seconds || *hour > 23 || *minute > 59 || *seconds > 60)
        return std::nullopt;
    clock.hour = *hour;
    clock.minute = *minute;
    clock.second = *seconds;
    return clock;
}

}  // namespace

std::optional<std::int64_t> parse_date(std::string_view text)
{
    std::vector<std::string> tokens = date_tokens(text);
    std::size_t i = 0;
    if (i < tokens.size() && tokens[i].size() >= 3 &&
        std::isalpha(static_cast<unsigned char>(tokens[i][0])))
        ++i;  // the day of the week, which the date itself decides
    if (tokens.size() < i + 5)
        return std::nullopt;

    auto day = number(tokens[i], 1, 2);
    auto month = std::find(month_names.begin(), month_names.end(),
                           std::string_view(tokens[i + 1]).substr(0, 3));
    auto year = number(tokens[i + 2], 2, 4);
    auto clock = time_of_day(tokens[i + 3]);
    auto zone = zone_offset(tokens[i + 4]);
    if (!day || *day < 1 || *day > 31 || month == month_names.end() || tokens[i + 1].size() > 9 ||
        !year || !clock || !zone)
        return std::nullopt;

    // RFC 5322 4.3: two-digit years below 50 are 20xx, others and three-digit ones 19xx.
    int full_year = *year;
    if (tokens[i + 2].size() == 2)
        full_year += *year < 50 ? 2000 : 1900;
    else if (tokens[i + 2].size() == 3)
        full_year += 1900;

    auto month_number = static_cast<unsigned>(month - month_names.begin() + 1);
    std::int64_t days = days_from_civil(full_year, month_number, static_cast<unsigned>(*day));
    return days * 86400 + clock->hour * 3600 + clock->minute * 60 + clock->second - *zone;
}

}  // namespace relaygate::checks::header
