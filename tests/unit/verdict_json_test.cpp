// The verdict's JSON text: its field order, number and string formats pinned, and checked
// against nlohmann::json (which wrote the verdicts before the hand-written writer) as the
// reference for escaping, invalid UTF-8 and numbers.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include <nlohmann/json.hpp>

#include "relaygate/verdict.hpp"

using namespace relaygate;
using nlohmann::ordered_json;

namespace {

// A verdict with every kind of field set: optional texts, DKIM results, findings with and
// without a hard action, an error, whole and fractional scores.
Verdict full_verdict()
{
    Verdict verdict;
    verdict.path = "in/box.mbox";
    verdict.index = 7;
    verdict.offset = 12345678901ull;
    verdict.message_id = "<id@example.com>";
    verdict.subject = "Caf\xc3\xa9 \"quoted\" \\ tab\there";
    verdict.envelope.client_ip = "192.0.2.1";
    verdict.envelope.has_mail_from = true;
    verdict.envelope.mail_from = "";
    verdict.envelope.rcpt_to = {"a@example.com", "b@example.com"};
    verdict.envelope.derived_from = "received";
    verdict.spf = {"pass", "example.com", "mailfrom", "matched ip4", ""};
    auth::DkimSignatureOutcome signature;
    signature.result = "fail";
    signature.domain = "example.com";
    signature.selector = "s1";
    signature.algorithm = "rsa-sha256";
    signature.reason = "body hash mismatch";
    verdict.dkim = {signature, signature};
    verdict.dmarc.result = "fail";
    verdict.dmarc.domain = "example.com";
    verdict.dmarc.policy = "reject";
    verdict.dmarc.disposition = "reject";
    verdict.dmarc.aligned_spf = true;
    verdict.layers = {
        {"connection", 0, 12, {}},
        {"payload", 7.25, 345,
         {{"payload", "model_spam", 6.123456789, "spam probability 0.991", std::nullopt},
          {"payload", "url_ip", 2, "bad\xff byte", Action::reject}}},
    };
    verdict.score = 0.1 + 0.2;
    verdict.action = Action::reject;
    verdict.reason = "dmarc_reject";
    verdict.authentication_results = "mx.example; spf=pass";
    verdict.error = VerdictError{"truncated", "mbox ends mid-message"};
    return verdict;
}

// The verdict as nlohmann::json built it, field by field in the schema's order.
ordered_json reference_json(const Verdict& verdict)
{
    auto optional_text = [](const std::optional<std::string>& text) {
        return text ? ordered_json(*text) : ordered_json(nullptr);
    };
    const Envelope& envelope = verdict.envelope;
    ordered_json dkim = ordered_json::array();
    if (verdict.dkim.empty()) {
        dkim.push_back({{"result", "none"}, {"domain", ""}, {"selector", ""},
                        {"algorithm", ""}, {"reason", "no DKIM-Signature field"}});
    }
    for (const auto& signature : verdict.dkim) {
        dkim.push_back({{"result", signature.result}, {"domain", signature.domain},
                        {"selector", signature.selector}, {"algorithm", signature.algorithm},
                        {"reason", signature.reason}});
    }
    ordered_json layers = ordered_json::array();
    for (const auto& layer : verdict.layers) {
        ordered_json findings = ordered_json::array();
        for (const auto& finding : layer.findings) {
            ordered_json item = {{"layer", finding.layer}, {"id", finding.id},
                                 {"score", finding.score}, {"detail", finding.detail}};
            if (finding.hard_action) item["action"] = to_string(*finding.hard_action);
            findings.push_back(std::move(item));
        }
        layers.push_back({{"name", layer.name}, {"score", layer.score},
                          {"elapsed_us", layer.elapsed_us}, {"findings", findings}});
    }
    const auto& dmarc = verdict.dmarc;
    return {
        {"schema", 1},
        {"source", {{"path", verdict.path}, {"index", verdict.index},
                    {"offset", verdict.offset}}},
        {"message_id", optional_text(verdict.message_id)},
        {"from", optional_text(verdict.from)},
        {"subject", optional_text(verdict.subject)},
        {"envelope",
         {{"client_ip", envelope.client_ip.empty() ? ordered_json(nullptr)
                                                   : ordered_json(envelope.client_ip)},
          {"helo", envelope.helo.empty() ? ordered_json(nullptr) : ordered_json(envelope.helo)},
          {"mail_from", envelope.has_mail_from ? ordered_json(envelope.mail_from)
                                               : ordered_json(nullptr)},
          {"rcpt_to", envelope.rcpt_to},
          {"derived_from", envelope.derived_from}}},
        {"auth",
         {{"spf", {{"result", verdict.spf.result}, {"domain", verdict.spf.domain},
                   {"scope", verdict.spf.scope}, {"reason", verdict.spf.reason}}},
          {"dkim", dkim},
          {"dmarc", {{"result", dmarc.result}, {"domain", dmarc.domain},
                     {"policy", dmarc.policy}, {"disposition", dmarc.disposition},
                     {"aligned", {{"spf", dmarc.aligned_spf}, {"dkim", dmarc.aligned_dkim}}},
                     {"reason", dmarc.reason}}}}},
        {"layers", layers},
        {"score", verdict.score},
        {"action", to_string(verdict.action)},
        {"reason", verdict.reason},
        {"authentication_results", verdict.authentication_results},
        {"error", verdict.error ? ordered_json{{"kind", verdict.error->kind},
                                               {"detail", verdict.error->detail}}
                                : ordered_json(nullptr)},
    };
}

std::string reference_text(const Verdict& verdict, bool pretty)
{
    return reference_json(verdict).dump(pretty ? 2 : -1, ' ', false,
                                        ordered_json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("a default verdict is written with every field in the schema's order", "[verdict]")
{
    Verdict verdict;
    verdict.path = "m.eml";
    verdict.layers = {{"header", 2, 5, {{"header", "date_future", 2, "x", std::nullopt}}}};
    verdict.score = 2;
    CHECK(to_json_text(verdict, false) ==
          R"({"schema":1,"source":{"path":"m.eml","index":0,"offset":0},"message_id":null,)"
          R"("from":null,"subject":null,"envelope":{"client_ip":null,"helo":null,)"
          R"("mail_from":null,"rcpt_to":[],"derived_from":"none"},"auth":{"spf":{"result":)"
          R"("none","domain":"","scope":"mailfrom","reason":""},"dkim":[{"result":"none",)"
          R"("domain":"","selector":"","algorithm":"","reason":"no DKIM-Signature field"}],)"
          R"("dmarc":{"result":"none","domain":"","policy":"","disposition":"","aligned":)"
          R"({"spf":false,"dkim":false},"reason":""}},"layers":[{"name":"header","score":2.0,)"
          R"("elapsed_us":5,"findings":[{"layer":"header","id":"date_future","score":2.0,)"
          R"("detail":"x"}]}],"score":2.0,"action":"accept","reason":"",)"
          R"("authentication_results":"","error":null})");
}

TEST_CASE("indented verdicts use two spaces and keep empty arrays on one line", "[verdict]")
{
    Verdict verdict;
    std::string text = to_json_text(verdict, true);
    CHECK(text.starts_with("{\n  \"schema\": 1,\n  \"source\": {\n    \"path\": \"\",\n"));
    CHECK(text.find("\"rcpt_to\": [],\n") != std::string::npos);
    CHECK(text.find("\"layers\": [],\n") != std::string::npos);
    CHECK(text.ends_with("\"error\": null\n}"));
}

TEST_CASE("verdicts are byte for byte what nlohmann::json wrote, compact and indented",
          "[verdict]")
{
    Verdict verdict = full_verdict();
    CHECK(to_json_text(verdict, false) == reference_text(verdict, false));
    CHECK(to_json_text(verdict, true) == reference_text(verdict, true));

    verdict.error.reset();
    verdict.dkim.clear();
    verdict.layers.clear();
    verdict.envelope = {};
    CHECK(to_json_text(verdict, false) == reference_text(verdict, false));
    CHECK(to_json_text(verdict, true) == reference_text(verdict, true));
}

TEST_CASE("strings are escaped and invalid UTF-8 replaced as nlohmann::json does", "[verdict]")
{
    // Bytes chosen to hit every escape and every kind of ill-formed UTF-8: controls, quotes,
    // lone continuation bytes, overlongs, surrogates, code points past U+10FFFF, cut-offs.
    const unsigned char alphabet[] = {0x00, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x1f, 0x20, '"',
                                      '\\', '/', 'a', 0x7f, 0x80, 0x8f, 0x9f, 0xa0, 0xbf,
                                      0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4,
                                      0xf5, 0xff};
    std::mt19937 random(6);
    std::uniform_int_distribution<std::size_t> pick(0, sizeof alphabet - 1);
    std::uniform_int_distribution<std::size_t> length(0, 10);
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        for (std::size_t n = length(random); n > 0; --n) {
            text += static_cast<char>(alphabet[pick(random)]);
        }
        Verdict verdict;
        verdict.reason = text;
        INFO("round " << round);
        REQUIRE(to_json_text(verdict, false) == reference_text(verdict, false));
    }
}

TEST_CASE("scores are written with the shortest round-trip digits, non-finite as null",
          "[verdict]")
{
    const double values[] = {0.0, -0.0, 1.0, 2.5, 0.1, 0.1 + 0.2, 1.0 / 3, 1e-7, 123456789.0,
                             1e21, 1e22, -4.75, 5e-324,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN()};
    for (double value : values) {
        Verdict verdict;
        verdict.score = value;
        INFO("score " << value);
        CHECK(to_json_text(verdict, false) == reference_text(verdict, false));
    }
    Verdict verdict;
    verdict.score = std::nan("");
    CHECK(to_json_text(verdict, false).find("\"score\":null,") != std::string::npos);
}
