// Recording answers as a master file, and replaying it through the zone world.
#include <catch2/catch.hpp>

#include "dns_test_support.hpp"
#include "relaygate/dns.hpp"

#include <algorithm>

using namespace relaygate::dns;
using dns_test::data_file;
using dns_test::ScratchDir;

namespace {

using Question = std::pair<std::string, RecordType>;

// Questions covering every kind of answer the test world gives.
const std::vector<Question> kQuestions = {
    {"example.test", RecordType::a},            // plain records
    {"example.test", RecordType::mx},           // names in rdata, two records
    {"example.test", RecordType::txt},          // multi-string TXT, two records
    {"example.test", RecordType::soa},          // a real SOA
    {"raw.example.test", RecordType::txt},      // quotes, backslash, tab, 0xff, NUL
    {"mx.example.test", RecordType::aaaa},
    {"alias2.example.test", RecordType::a},     // through a CNAME chain
    {"alias.example.test", RecordType::txt},    // NODATA at the end of a chain
    {"x.wild.example.test", RecordType::txt},   // from a wildcard
    {"x.wild.example.test", RecordType::a},     // NODATA from a wildcard
    {"ent.example.test", RecordType::a},        // empty non-terminal
    {"mx.example.test", RecordType::txt},       // NODATA under a SOA
    {"nope.example.test", RecordType::a},       // NXDOMAIN under a SOA
    {"nope.other.test", RecordType::mx},        // NXDOMAIN under another SOA
    {"7.2.0.192.in-addr.arpa", RecordType::ptr},
    {"7.2.0.192.in-addr.arpa", RecordType::txt},  // NODATA without a SOA
    {"nothing.invalid", RecordType::a},         // NXDOMAIN without a SOA
    {"slow.example.test", RecordType::txt},     // DNS FAULT TIMEOUT
    {"slow.example.test", RecordType::a},       // the same name answers other types
    {"broken.example.test", RecordType::mx},    // DNS FAULT SERVFAIL
    {"loop1.example.test", RecordType::a},      // a CNAME loop: temperror
};

std::unique_ptr<Resolver> test_world()
{
    return make_zone_resolver({data_file("world.zone"), data_file("other.zone")});
}

}  // namespace

TEST_CASE("a recording replays through the zone world with the same answers", "[dns]")
{
    auto recorder = make_recording_resolver(test_world());
    std::vector<Answer> seen;
    for (const auto& [name, type] : kQuestions) {
        seen.push_back(recorder->lookup(name, type));
    }

    ScratchDir dir;
    std::string file = dir.file("recorded.zone");
    recorder->write_zone(file);
    auto replay = make_zone_resolver({file});

    for (std::size_t i = 0; i < kQuestions.size(); ++i) {
        const auto& [name, type] = kQuestions[i];
        INFO(name << " " << to_string(type));
        Answer again = replay->lookup(name, type);
        CHECK(to_string(again.outcome) == to_string(seen[i].outcome));
        auto want = seen[i].records;
        std::sort(want.begin(), want.end());
        std::sort(again.records.begin(), again.records.end());
        CHECK(again.records == want);
        CHECK(again.ttl == seen[i].ttl);
        if (seen[i].outcome != Outcome::found && seen[i].ttl > 0) {
            CHECK(again.zone == seen[i].zone);
        }
    }
}

TEST_CASE("a recording writes faults as comments and leaves SOA-less NXDOMAIN out", "[dns]")
{
    auto recorder = make_recording_resolver(test_world());
    for (const auto& [name, type] : kQuestions) {
        recorder->lookup(name, type);
    }
    std::string text = recorder->zone_text();

    CHECK_THAT(text, Catch::Contains(
                         "; DNS FAULT: slow.example.test. TXT must fail with TIMEOUT\n"));
    CHECK_THAT(text, Catch::Contains(
                         "; DNS FAULT: broken.example.test. MX must fail with SERVFAIL\n"));
    CHECK_THAT(text, !Catch::Contains("nothing.invalid"));
    CHECK_THAT(text, Catch::Contains("other.test. 20 IN SOA "));
    CHECK_THAT(text, Catch::Contains("raw.example.test. 300 IN TXT "
                                     "\"a\\\"b\\\\c\\009\\255\\000end\"\n"));
}

TEST_CASE("a recording splits long TXT records into 255-octet strings", "[dns]")
{
    ScratchDir dir;
    std::string long_text(600, 'k');
    std::string zone = dir.write("long.zone", "long.test. 300 IN TXT \"" +
                                                  long_text.substr(0, 255) + "\" \"" +
                                                  long_text.substr(255, 255) + "\" \"" +
                                                  long_text.substr(510) + "\"\n");
    auto recorder = make_recording_resolver(make_zone_resolver({zone}));
    REQUIRE(recorder->lookup("long.test", RecordType::txt).records ==
            std::vector<std::string>{long_text});

    std::string file = dir.file("recorded.zone");
    recorder->write_zone(file);
    CHECK(make_zone_resolver({file})->lookup("long.test", RecordType::txt).records ==
          std::vector<std::string>{long_text});
}

TEST_CASE("a later answer replaces a recorded temporary failure", "[dns]")
{
    // A resolver that fails the first time it is asked, as a flaky network would.
    class Flaky : public Resolver {
    public:
        Answer lookup(std::string_view name, RecordType type) override
        {
            if (calls_++ == 0) {
                Answer failed;
                failed.outcome = Outcome::temperror;
                failed.detail = "timeout after 2000 ms";
                return failed;
            }
            return world_->lookup(name, type);
        }

    private:
        int calls_ = 0;
        std::unique_ptr<Resolver> world_ = test_world();
    };

    auto recorder = make_recording_resolver(std::make_unique<Flaky>());
    CHECK(recorder->lookup("example.test", RecordType::a).outcome == Outcome::temperror);
    CHECK(recorder->lookup("example.test", RecordType::a).ok());
    std::string text = recorder->zone_text();
    CHECK_THAT(text, !Catch::Contains("DNS FAULT"));
    CHECK_THAT(text, Catch::Contains("example.test. 300 IN A 192.0.2.1\n"));
}

TEST_CASE("a recording that cannot be written is an error naming the file", "[dns]")
{
    auto recorder = make_recording_resolver(test_world());
    CHECK_THROWS_WITH(recorder->write_zone("/nonexistent/dir/recorded.zone"),
                      "cannot write /nonexistent/dir/recorded.zone: No such file or directory");
}
