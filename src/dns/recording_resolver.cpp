// `relaygate dns record`: pass lookups through and write every answer seen as a master file
// that the zone world replays with the same outcomes, records and TTLs.
#include "relaygate/dns.hpp"

#include "dns/names.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

namespace relaygate::dns {
namespace {

// The longest character-string a TXT record may hold (RFC 1035 section 3.3).
constexpr std::size_t kMaxCharacterString = 255;

// A type no check asks for: a record of it makes a name exist, so that NODATA replays as
// NODATA (65534 is in the private-use range of RFC 6895).
constexpr std::string_view kPlaceholderType = "TYPE65534";

// Names of the SOA the recording invents where only a negative TTL is known.
constexpr std::string_view kInventedSoaNames = "recorded.invalid. hostmaster.invalid.";

// A name in master-file form: absolute, with anything a zone file would misread escaped.
std::string owner_text(std::string_view name)
{
    if (name.empty() || name == ".") {
        return ".";
    }
    std::string text;
    for (unsigned char c : name) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*' || c == '.' ||
                     c == '\\';  // an escape ldns already wrote
        if (plain) {
            text += static_cast<char>(c);
        } else {
            char escape[5];
            std::snprintf(escape, sizeof escape, "\\%03u", c);
            text += escape;
        }
    }
    return text + ".";
}

// A TXT record's raw octets as quoted character-strings of at most 255 octets.
std::string quoted_strings(std::string_view octets)
{
    std::string text;
    do {
        std::string_view piece = octets.substr(0, kMaxCharacterString);
        octets.remove_prefix(piece.size());
        text += text.empty() ? "\"" : " \"";
        for (unsigned char c : piece) {
            if (c == '"' || c == '\\') {
                text += '\\';
                text += static_cast<char>(c);
            } else if (c < 0x20 || c >= 0x7f) {
                char escape[5];
                std::snprintf(escape, sizeof escape, "\\%03u", c);
                text += escape;
            } else {
                text += static_cast<char>(c);
            }
        }
        text += '"';
    } while (!octets.empty());
    return text;
}

// Record text as Answer::records holds it, turned back into master-file rdata.
std::string rdata_text(RecordType type, const std::string& record)
{
    switch (type) {
    case RecordType::txt:
    case RecordType::spf:
        return quoted_strings(record);
    case RecordType::ns:
    case RecordType::cname:
    case RecordType::ptr:
        return owner_text(record);
    case RecordType::mx: {
        std::size_t space = record.find(' ');
        if (space == std::string::npos) {
            return record;
        }
        return record.substr(0, space + 1) + owner_text(record.substr(space + 1));
    }
    case RecordType::soa: {
        // "mname rname serial refresh retry expire minimum": the two names get their dot.
        std::size_t first = record.find(' ');
        std::size_t second = first == std::string::npos ? first : record.find(' ', first + 1);
        if (second == std::string::npos) {
            return record;
        }
        return owner_text(record.substr(0, first)) + " " +
               owner_text(record.substr(first + 1, second - first - 1)) +
               record.substr(second);
    }
    case RecordType::a:
    case RecordType::aaaa:
        break;
    }
    return record;
}

class Recorder : public RecordingResolver {
public:
    explicit Recorder(std::unique_ptr<Resolver> upstream) : upstream_(std::move(upstream)) {}

    Answer lookup(std::string_view name, RecordType type) override;
    std::string zone_text() const override;
    void write_zone(const std::string& path) const override;

private:
    using Question = std::pair<std::string, RecordType>;

    std::unique_ptr<Resolver> upstream_;
    mutable std::mutex mutex_;
    std::map<Question, Answer> answers_;  // sorted, so that the file reads well and diffs
};

// Passes the lookup through and remembers its answer.
Answer Recorder::lookup(std::string_view name, RecordType type)
{
    Answer answer = upstream_->lookup(name, type);
    std::optional<std::string> key = detail::canonical_name(name);
    if (!key) {
        return answer;  // not a name: a replay refuses it the same way
    }

    // The first answer wins, except that a definite answer replaces a temporary failure.
    std::lock_guard lock(mutex_);
    auto [it, inserted] = answers_.try_emplace(Question{*key, type}, answer);
    if (!inserted && it->second.outcome == Outcome::temperror &&
        answer.outcome != Outcome::temperror) {
        it->second = answer;
    }
    return answer;
}

// The master file: invented SOAs first, then every question in name order.
std::string Recorder::zone_text() const
{
    std::lock_guard lock(mutex_);

    // What each name holds, to decide what must be written for it.
    std::set<std::string> names_with_records;
    std::map<std::string, int> types_per_name;
    for (const auto& [question, answer] : answers_) {
        if (answer.outcome == Outcome::found) {
            names_with_records.insert(question.first);
        }
        if (answer.outcome != Outcome::temperror) {
            ++types_per_name[question.first];
        }
    }

    // The negative TTLs: a SOA at each zone apex a negative answer named, unless a real SOA
    // was recorded there. The first TTL seen for a zone is kept.
    std::map<std::string, std::uint32_t> invented_soas;
    for (const auto& [question, answer] : answers_) {
        bool negative = answer.outcome == Outcome::nodata || answer.outcome == Outcome::nxdomain;
        if (negative && answer.zone && answer.ttl > 0 &&
            !answers_.contains(Question{*answer.zone, RecordType::soa})) {
            invented_soas.try_emplace(*answer.zone, answer.ttl);
        }
    }

    std::string text = "; recorded by relaygate dns record: every answer seen, for offline "
                       "replay with --dns-zone\n";
    for (const auto& [zone, ttl] : invented_soas) {
        std::string number = std::to_string(ttl);
        text += owner_text(zone) + " " + number + " IN SOA " + std::string(kInventedSoaNames) +
                " 0 0 0 0 " + number + "\n";
    }

    std::set<std::string> placeholders;
    for (const auto& [question, answer] : answers_) {
        const auto& [name, type] = question;
        std::string owner = owner_text(name);
        std::string type_name(to_string(type));
        switch (answer.outcome) {
        case Outcome::found:
            // A CNAME beside other answers would be followed in their place on replay.
            if (type == RecordType::cname && types_per_name[name] > 1) {
                text += "; " + owner + " CNAME left out: the other answers recorded for this "
                        "name (reached through it) replay only without it\n";
                break;
            }
            for (const std::string& record : answer.records) {
                text += owner + " " + std::to_string(answer.ttl) + " IN " + type_name + " " +
                        rdata_text(type, record) + "\n";
            }
            break;
        case Outcome::nodata:
            if (!names_with_records.contains(name) && placeholders.insert(name).second) {
                text += owner + " " + std::to_string(answer.ttl) + " IN " +
                        std::string(kPlaceholderType) + " \\# 0\n";
            }
            break;
        case Outcome::nxdomain:
            break;  // absent names are NXDOMAIN
        case Outcome::temperror: {
            bool servfail = answer.detail.starts_with("SERVFAIL");
            text += "; DNS FAULT: " + owner + " " + type_name + " must fail with " +
                    (servfail ? "SERVFAIL" : "TIMEOUT") + "\n";
            break;
        }
        }
    }
    return text;
}

// Writes the whole text at once, so that a failure leaves no half-written zone unnoticed.
void Recorder::write_zone(const std::string& path) const
{
    std::string text = zone_text();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) {
        out << text;
        out.flush();
    }
    if (!out) {
        throw Error("cannot write " + path + ": " + std::strerror(errno));
    }
}

}  // namespace

std::unique_ptr<RecordingResolver> make_recording_resolver(std::unique_ptr<Resolver> upstream)
{
    return std::make_unique<Recorder>(std::move(upstream));
}

}  // namespace relaygate::dns
