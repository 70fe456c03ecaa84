// The RFC 9989 DNS tree walk (4.10) and the organizational domain it determines (4.10.2),
// with the lookups of one evaluation shared between the walks of the author domain and of the
// authenticated identifiers.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc_engine.hpp"

namespace relaygate::auth::detail {

namespace {

// RFC 1035 2.3.4 limits.
constexpr std::size_t kMaxDomainLength = 253;
constexpr std::size_t kMaxLabelLength = 63;
// RFC 9989 4.10: a name of 8 or more labels is cut to its last 7 after the first query, so
// that no walk makes more than 8 queries.
constexpr std::size_t kShortcutLabels = 7;
const std::string kDmarcPrefix = "_dmarc.";

// Offsets at which each label of domain starts, left to right.
std::vector<std::size_t> label_starts(std::string_view domain) {
    std::vector<std::size_t> starts = {0};
    for (std::size_t i = 0; i < domain.size(); ++i) {
        if (domain[i] == '.') {
            starts.push_back(i + 1);
        }
    }
    return starts;
}

// The ancestor of start one label below ancestor ("a.b.example.com", "com" → "example.com").
std::string child_toward(const std::string& start, const std::string& ancestor) {
    std::string_view below(start);
    below.remove_suffix(ancestor.size() + 1);
    std::size_t dot = below.rfind('.');
    std::string_view label = dot == std::string_view::npos ? below : below.substr(dot + 1);
    return std::string(label) + "." + ancestor;
}

}  // namespace

std::string normalize_domain(std::string_view domain) {
    std::string out(domain);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return out;
}

bool is_domain_name(std::string_view domain) {
    if (domain.empty() || domain.size() > kMaxDomainLength) {
        return false;
    }
    std::size_t label = 0;
    for (char c : domain) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                  byte >= 0x80;
        if (!ok || ++label > kMaxLabelLength) {
            return false;
        }
    }
    return label > 0;
}

// The domain itself, then from min(labels - 1, 7) labels down to 1.
std::vector<std::string> tree_walk_names(std::string_view domain) {
    std::vector<std::string> names;
    if (domain.empty()) {
        return names;
    }
    names.emplace_back(domain);
    std::vector<std::size_t> starts = label_starts(domain);
    std::size_t labels = starts.size();
    for (std::size_t count = std::min(labels - 1, kShortcutLabels); count > 0; --count) {
        names.emplace_back(domain.substr(starts[labels - count]));
    }
    return names;
}

// Over the names that held one DMARC record, longest first: psd=n makes that name the
// organizational domain, psd=y (except at the start) the name one label below it, and
// otherwise the record with the fewest labels wins; no record at all leaves the start.
std::string organizational_domain_of(const TreeWalk& walk) {
    const WalkStep* fewest_labels = nullptr;
    for (const WalkStep& step : walk.steps) {
        if (!step.has_record()) {
            continue;
        }
        char psd = psd_flag(step.record);
        if (psd == 'n') {
            return step.domain;
        }
        if (psd == 'y' && step.domain != walk.start) {
            return child_toward(walk.start, step.domain);
        }
        fewest_labels = &step;
    }
    return fewest_labels != nullptr ? fewest_labels->domain : walk.start;
}

const dns::Answer& WalkLookups::txt(const std::string& name) {
    auto known = answers_.find(name);
    if (known != answers_.end()) {
        return known->second;
    }
    dns::Answer answer;
    // A name too long for the DNS cannot hold a record; asking would only get an error.
    if (name.size() <= kMaxDomainLength) {
        answer = resolver_.lookup(name, dns::RecordType::txt);
    }
    return answers_.emplace(name, std::move(answer)).first->second;
}

// Queries each name of the walk until one holds a single DMARC record with psd=y or psd=n
// (RFC 9989 4.10 steps 2 and 6) or a lookup fails temporarily.
TreeWalk WalkLookups::walk(std::string_view domain) {
    TreeWalk walk;
    walk.start = std::string(domain);
    for (const std::string& name : tree_walk_names(domain)) {
        const dns::Answer& answer = txt(kDmarcPrefix + name);
        if (answer.outcome == dns::Outcome::temperror) {
            walk.temperror = true;
            walk.failed_domain = name;
            return walk;
        }

        WalkStep step;
        step.domain = name;
        for (const std::string& text : answer.records) {
            if (is_dmarc_record(text)) {
                ++step.dmarc_records;
                step.record = text;
            }
        }
        // Several DMARC records at one name are all discarded (RFC 9989 4.10 step 2).
        if (!step.has_record()) {
            step.record.clear();
        }
        bool stop = step.has_record() && psd_flag(step.record) != 'u';
        walk.steps.push_back(std::move(step));
        if (stop) {
            break;
        }
    }
    return walk;
}

// Any answer but NXDOMAIN for a name at or below the domain proves that it exists (RFC 8020);
// the walk's own _dmarc lookup is used when it already says so.
std::optional<bool> WalkLookups::exists(const std::string& domain) {
    auto known = answers_.find(kDmarcPrefix + domain);
    if (known != answers_.end() && (known->second.outcome == dns::Outcome::found ||
                                     known->second.outcome == dns::Outcome::nodata)) {
        return true;
    }
    dns::Answer answer = resolver_.lookup(domain, dns::RecordType::a);
    if (answer.outcome == dns::Outcome::temperror) {
        return std::nullopt;
    }
    return answer.outcome != dns::Outcome::nxdomain;
}

}  // namespace relaygate::auth::detail
