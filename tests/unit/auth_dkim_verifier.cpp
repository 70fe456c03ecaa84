// DkimVerifier on messages signed by dkimpy (tests/data/dkim/make_signed.py) with keys served
// by an in-test resolver: results, reasons, and each correction of libopendkim's answers.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/dkim_engine.hpp"
#include "auth/dkim_tags.hpp"
#include "relaygate/auth.hpp"
#include "relaygate/message.hpp"

using relaygate::Message;
using relaygate::auth::DkimOptions;
using relaygate::auth::DkimVerifier;
namespace dns = relaygate::dns;

namespace {

const std::string kDataDir = std::string(RELAYGATE_SOURCE_DIR) + "/tests/data/dkim/";

// A resolver over a map; names absent are NXDOMAIN, names listed in `failing` time out.
class MapResolver : public dns::Resolver {
public:
    std::map<std::string, std::vector<std::string>> txt;
    std::vector<std::string> failing;
    std::vector<std::string> asked;

    dns::Answer lookup(std::string_view name, dns::RecordType type) override {
        std::lock_guard<std::mutex> lock(mutex_);
        asked.emplace_back(name);
        dns::Answer answer;
        for (const std::string& bad : failing) {
            if (bad == name) {
                answer.outcome = dns::Outcome::temperror;
                answer.detail = "timeout";
                return answer;
            }
        }
        auto found = txt.find(std::string(name));
        if (found == txt.end() || type != dns::RecordType::txt) {
            answer.outcome = dns::Outcome::nxdomain;
            return answer;
        }
        answer.outcome = dns::Outcome::found;
        answer.records = found->second;
        return answer;
    }

private:
    std::mutex mutex_;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The keys make_signed.py published, as <selector>._domainkey.example.com TXT records.
void publish_keys(MapResolver& resolver) {
    std::istringstream lines(read_file(kDataDir + "keys.txt"));
    std::string line;
    while (std::getline(lines, line)) {
        std::size_t space = line.find(' ');
        resolver.txt[line.substr(0, space) + "._domainkey.example.com"] = {
            line.substr(space + 1)};
    }
}

std::vector<relaygate::auth::DkimSignatureOutcome> verify(const std::string& file,
                                                          MapResolver& resolver,
                                                          DkimOptions options = {}) {
    DkimVerifier verifier(resolver, options);
    return verifier.verify(Message::parse(read_file(kDataDir + file)));
}

std::string to_lf(std::string text) {
    std::string out;
    for (char c : text) {
        if (c != '\r') {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("a valid rsa-sha256 signature passes with its details filled in", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    auto outcomes = verify("rsa-sha256.eml", resolver);
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "pass");
    CHECK(outcomes[0].reason.empty());
    CHECK(outcomes[0].domain == "example.com");
    CHECK(outcomes[0].selector == "main");
    CHECK(outcomes[0].algorithm == "rsa-sha256");
    CHECK(outcomes[0].key_bits == 2048);
    CHECK(outcomes[0].header_b.size() == 8);
    CHECK(resolver.asked == std::vector<std::string>{"main._domainkey.example.com"});
}

TEST_CASE("a message with LF line ends verifies like its CRLF original", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    DkimVerifier verifier(resolver);
    auto outcomes =
        verifier.verify(Message::parse(to_lf(read_file(kDataDir + "rsa-sha256.eml"))));
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "pass");
}

TEST_CASE("a changed body fails with body hash mismatch", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    std::string text = read_file(kDataDir + "rsa-sha256.eml");
    text.replace(text.find("attached"), 8, "deleted!");
    DkimVerifier verifier(resolver);
    auto outcomes = verifier.verify(Message::parse(text));
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "fail");
    CHECK(outcomes[0].reason == "body hash mismatch");
}

TEST_CASE("a changed signed header fails signature verification", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    std::string text = read_file(kDataDir + "rsa-sha256.eml");
    text.replace(text.find("quarterly"), 9, "QUARTERLY");
    DkimVerifier verifier(resolver);
    auto outcomes = verifier.verify(Message::parse(text));
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "fail");
    CHECK(outcomes[0].reason == "signature verification failed");
}

TEST_CASE("rsa-sha1 is policy under RFC 8301 although libopendkim passes it", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    auto strict = verify("rsa-sha1.eml", resolver);
    REQUIRE(strict.size() == 1);
    CHECK(strict[0].result == "policy");
    CHECK(strict[0].reason == "rsa-sha1 not allowed (RFC 8301)");

    DkimOptions legacy;
    legacy.allow_rsa_sha1 = true;
    auto lenient = verify("rsa-sha1.eml", resolver, legacy);
    REQUIRE(lenient.size() == 1);
    CHECK(lenient[0].result == "pass");
}

TEST_CASE("an RSA key under 1024 bits is policy with its size in the reason", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    auto strict = verify("short-key.eml", resolver);
    REQUIRE(strict.size() == 1);
    CHECK(strict[0].result == "policy");
    CHECK(strict[0].reason == "key too short: 512 bits (RFC 8301)");
    CHECK(strict[0].key_bits == 512);

    DkimOptions legacy;
    legacy.min_rsa_bits = 512;
    auto lenient = verify("short-key.eml", resolver, legacy);
    REQUIRE(lenient.size() == 1);
    CHECK(lenient[0].result == "pass");
}

TEST_CASE("content after an l= length keeps the pass and counts the unsigned bytes",
          "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    auto outcomes = verify("length-appended.eml", resolver);
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "pass");
    // "P.S. wire the money to account 12345.\r\n" was appended after signing.
    CHECK(outcomes[0].unsigned_body_bytes == 39);

    auto whole = verify("rsa-sha256.eml", resolver);
    CHECK(whole[0].unsigned_body_bytes == 0);
}

TEST_CASE("signatures beyond max_signatures are policy and cost no DNS query",
          "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    DkimOptions capped;
    capped.max_signatures = 1;
    auto outcomes = verify("two-signatures.eml", resolver, capped);
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[0].result == "pass");
    CHECK(outcomes[0].selector == "other");
    CHECK(outcomes[1].result == "policy");
    CHECK(outcomes[1].reason == "signature limit");
    CHECK(resolver.asked == std::vector<std::string>{"other._domainkey.example.com"});

    auto uncapped = verify("two-signatures.eml", resolver);
    REQUIRE(uncapped.size() == 2);
    CHECK(uncapped[1].result == "pass");
}

TEST_CASE("a key lookup timeout is temperror for that signature only", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    resolver.failing = {"other._domainkey.example.com"};
    auto outcomes = verify("two-signatures.eml", resolver);
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[0].result == "temperror");
    CHECK(outcomes[0].reason == "dns temporary failure");
    CHECK(outcomes[1].result == "pass");
}

TEST_CASE("a missing key is permerror key not found", "[auth_dkim]") {
    MapResolver resolver;
    auto outcomes = verify("rsa-sha256.eml", resolver);
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "permerror");
    CHECK(outcomes[0].reason == "key not found");
}

TEST_CASE("a key record with a repeated tag is permerror, not the last value",
          "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    std::string& record = resolver.txt["main._domainkey.example.com"][0];
    record += "; k=rsa";
    auto outcomes = verify("rsa-sha256.eml", resolver);
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "permerror");
    CHECK(outcomes[0].reason == "invalid key record: duplicate tag k");
}

TEST_CASE("a signature with a repeated tag is permerror", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    std::string text = read_file(kDataDir + "rsa-sha256.eml");
    text.insert(text.find("d=example.com;"), "d=example.org; ");
    DkimVerifier verifier(resolver);
    auto outcomes = verifier.verify(Message::parse(text));
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].result == "permerror");
    CHECK(outcomes[0].reason == "malformed signature: duplicate tag d");
}

TEST_CASE("an unsigned message has no DKIM outcome", "[auth_dkim]") {
    MapResolver resolver;
    DkimVerifier verifier(resolver);
    auto outcomes = verifier.verify(Message::parse("From: a@example.com\r\n\r\nhi\r\n"));
    CHECK(outcomes.empty());
}

TEST_CASE("this libopendkim verifies ed25519-sha256", "[auth_dkim]") {
    MapResolver resolver;
    relaygate::auth::detail::DkimEngine engine(resolver, {});
    CHECK(engine.supports_ed25519());
}

TEST_CASE("the tag-list parser rejects what RFC 6376 3.2 forbids", "[auth_dkim]") {
    using relaygate::auth::detail::parse_tag_list;
    struct Row {
        const char* text;
        bool valid;
    };
    const Row rows[] = {
        {"v=1; a=rsa-sha256; d=example.com;", true},  // a final ";" is allowed
        {" v = 1 ;\r\n\ta=rsa-sha256", true},         // folding whitespace around tags
        {"v=1;; a=rsa-sha256", false},                // an empty tag-spec inside the list
        {"v=1; v=1", false},                          // a repeated tag
        {"1v=1", false},                              // a tag name must start with a letter
        {"v", false},                                 // a tag without "="
        {"", false},                                  // nothing at all
    };
    for (const Row& row : rows) {
        INFO(row.text);
        CHECK(parse_tag_list(row.text).valid() == row.valid);
    }
}

TEST_CASE("a flood of signature fields is capped and stays cheap", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    std::string text = read_file(kDataDir + "rsa-sha256.eml");
    std::string field = text.substr(0, text.find("\r\nFrom:") + 2);
    std::string flood;
    for (int i = 0; i < 1000; ++i) {
        flood += field;
    }
    DkimVerifier verifier(resolver);
    auto outcomes = verifier.verify(Message::parse(flood + text));
    REQUIRE(outcomes.size() == 1001);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        INFO("signature " << i);
        CHECK(outcomes[i].result == (i < DkimOptions{}.max_signatures ? "pass" : "policy"));
    }
    CHECK(resolver.asked.size() <= DkimOptions{}.max_signatures);
}

TEST_CASE("one verifier serves several threads at once", "[auth_dkim]") {
    MapResolver resolver;
    publish_keys(resolver);
    DkimVerifier verifier(resolver);
    Message good = Message::parse(read_file(kDataDir + "rsa-sha256.eml"));
    Message sha1 = Message::parse(read_file(kDataDir + "rsa-sha1.eml"));
    std::atomic<int> wrong{0};
    auto work = [&](const Message& message, const char* want) {
        for (int i = 0; i < 200; ++i) {
            auto outcomes = verifier.verify(message);
            if (outcomes.size() != 1 || outcomes[0].result != want) {
                ++wrong;
            }
        }
    };
    std::thread first(work, std::cref(good), "pass");
    std::thread second(work, std::cref(sha1), "policy");
    first.join();
    second.join();
    CHECK(wrong == 0);
}
