// A dns::Resolver over an in-memory map, for the SPF tests: the product's SPF path asks it
// exactly as it would ask the live or zone resolver, and tests can inject timeouts.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relaygate/dns.hpp"

namespace relaygate::test {

// One record as the suite lists it: a type and its presentation-form data, or a timeout
// marker that makes lookups of that name fail unless a record of the asked type came first.
struct MapRecord {
    dns::RecordType type = dns::RecordType::txt;
    std::string data;
    bool timeout = false;
};

class MapResolver : public dns::Resolver {
public:
    // Adds a record; names are case-insensitive and kept without a trailing dot.
    void add(std::string_view name, dns::RecordType type, std::string data)
    {
        records_[canonical(name)].push_back({type, std::move(data), false});
    }

    // Every later lookup of name for a type with no record listed before this call times out.
    void add_timeout(std::string_view name)
    {
        records_[canonical(name)].push_back({dns::RecordType::txt, "", true});
    }

    // Names with an entry but no record of the type answer NODATA; others NXDOMAIN.
    dns::Answer lookup(std::string_view name, dns::RecordType type) override
    {
        count_query(name, type);
        return resolve(canonical(name), type, 0);
    }

    // How many lookups were made, and of which names ("name/TYPE"), for assertions.
    std::vector<std::string> queries() const
    {
        std::lock_guard lock(mutex_);
        return queries_;
    }

private:
    static constexpr int max_cname_chain = 8;

    static std::string canonical(std::string_view name)
    {
        std::string lowered(name);
        if (!lowered.empty() && lowered.back() == '.') {
            lowered.pop_back();
        }
        std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return lowered;
    }

    void count_query(std::string_view name, dns::RecordType type)
    {
        std::lock_guard lock(mutex_);
        queries_.push_back(std::string(name) + "/" + std::to_string(static_cast<int>(type)));
    }

    // Walks the name's records in order, as the suite's reference driver does: a timeout marker
    // met before any record of the type makes the lookup a temperror; CNAMEs are followed.
    dns::Answer resolve(const std::string& name, dns::RecordType type, int depth) const
    {
        dns::Answer answer;
        auto entry = records_.find(name);
        if (entry == records_.end()) {
            answer.outcome = dns::Outcome::nxdomain;
            return answer;
        }
        for (const MapRecord& record : entry->second) {
            if (record.timeout) {
                if (answer.records.empty()) {
                    answer.outcome = dns::Outcome::temperror;
                    answer.detail = "timeout";
                    return answer;
                }
                break;
            }
            if (record.type == dns::RecordType::cname && type != dns::RecordType::cname &&
                depth < max_cname_chain) {
                return resolve(canonical(record.data), type, depth + 1);
            }
            if (record.type == type) {
                answer.records.push_back(record.data);
            }
        }
        answer.outcome = answer.records.empty() ? dns::Outcome::nodata : dns::Outcome::found;
        answer.ttl = 300;
        return answer;
    }

    std::map<std::string, std::vector<MapRecord>> records_;
    mutable std::mutex mutex_;
    std::vector<std::string> queries_;
};

}  // namespace relaygate::test
