// An in-test DNS world for the DMARC tests: TXT records and existing host names over maps, with
// every lookup noted, so that tests can pin down which names were asked.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/dns.hpp"

namespace dmarc_test {

namespace dns = relaygate::dns;

// TXT records by name; `hosts` have an A record; a name with only TXT is NODATA for other
// types; anything else is NXDOMAIN; names in `failing` time out whatever the type.
class MapResolver : public dns::Resolver {
public:
    std::map<std::string, std::vector<std::string>> txt;
    std::set<std::string> hosts;
    std::vector<std::string> failing;

    dns::Answer lookup(std::string_view name, dns::RecordType type) override {
        std::lock_guard<std::mutex> lock(mutex_);
        queries_.emplace_back(name);
        dns::Answer answer;
        for (const std::string& bad : failing) {
            if (bad == name) {
                answer.outcome = dns::Outcome::temperror;
                return answer;
            }
        }
        auto found = txt.find(std::string(name));
        bool host = hosts.count(std::string(name)) > 0;
        if (type == dns::RecordType::txt && found != txt.end()) {
            answer.outcome = dns::Outcome::found;
            answer.records = found->second;
        } else if (type == dns::RecordType::a && host) {
            answer.outcome = dns::Outcome::found;
            answer.records = {"192.0.2.1"};
        } else if (found != txt.end() || host) {
            answer.outcome = dns::Outcome::nodata;
        }
        return answer;
    }

    // Every name asked so far, in order.
    std::vector<std::string> queries() {
        std::lock_guard<std::mutex> lock(mutex_);
        return queries_;
    }

    void forget_queries() {
        std::lock_guard<std::mutex> lock(mutex_);
        queries_.clear();
    }

private:
    std::mutex mutex_;
    std::vector<std::string> queries_;
};

}  // namespace dmarc_test
