// Delivery against real SMTP servers: tests/smtp/sink.py (aiosmtpd) started on 127.0.0.1,
// ports 15400-15449, one per server so that test cases may run in parallel.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "relaygate/relay.hpp"
#include "unit/relay_support.hpp"

using namespace relaygate;
using namespace relaygate::relay;
using namespace relaygate::relay::testing;

namespace {

constexpr unsigned port_nothing_listens = 15449;
constexpr auto test_timeout = std::chrono::seconds(3);

// A message with the things that trip relays: leading dots, a lone dot line, LF line ends.
const std::string sample_message =
    "From: Alice <alice@example.test>\n"
    "To: bob@example.net\n"
    "Subject: quarterly numbers\n"
    "Message-ID: <relay-test-1@example.test>\n"
    "Date: Mon, 02 Jan 2023 10:00:00 +0000\n"
    "\n"
    "Hello Bob,\n"
    ".a line that starts with a dot\n"
    ".\n"
    "..two dots\n"
    "the end\n";

SmtpOptions options_for(unsigned port, TlsPolicy tls = TlsPolicy::none) {
    SmtpOptions options;
    options.upstream = *parse_upstream("smtp://127.0.0.1:" + std::to_string(port), nullptr);
    options.tls = tls;
    options.helo_name = "relaygate.test";
    options.timeout = test_timeout;
    return options;
}

PipeRequest accept_request(unsigned port, std::vector<std::string> rcpts) {
    PipeRequest request;
    request.action = Action::accept;
    request.score = 1.5;
    request.reason = "score below thresholds";
    request.authentication_results = "relaygate; spf=pass smtp.mailfrom=example.test";
    request.message_id = "<relay-test-1@example.test>";
    request.raw_message = sample_message;
    request.envelope.mail_from = "alice@example.test";
    request.envelope.rcpt_to = std::move(rcpts);
    request.relay.upstream = "smtp://127.0.0.1:" + std::to_string(port);
    request.relay.timeout_seconds = test_timeout.count();
    request.helo_name = "relaygate.test";
    return request;
}

// The bytes a correct relay puts on the wire, before dot-stuffing: our headers, then the
// original with CRLF line ends.
std::string expected_arrival(const PipeRequest& request) {
    auto summary = verdict_summary(request.action, request.score, request.reason);
    auto payload = data_payload(with_relaygate_headers(request.raw_message,
                                                       request.authentication_results,
                                                       summary));
    std::string unstuffed;
    std::size_t pos = 0;
    while (pos < payload.size()) {
        auto end = payload.find("\r\n", pos) + 2;
        auto line = payload.substr(pos, end - pos);
        if (line == ".\r\n" && end == payload.size()) break;
        unstuffed += line.starts_with(".") ? line.substr(1) : line;
        pos = end;
    }
    return unstuffed;
}

}  // namespace

TEST_CASE("accepted mail arrives byte for byte under relaygate's headers and DKIM verifies",
          "[relay]") {
    TempDir dir;
    REQUIRE(shell(python + " " + smtp_dir + "/dkim_tool.py keygen " + dir.path()) == 0);
    write_file(dir / "plain.eml", sample_message);
    REQUIRE(shell(python + " " + smtp_dir + "/dkim_tool.py sign " + (dir / "dkim.key") +
                  " sel example.test < " + (dir / "plain.eml") + " > " + (dir / "signed.eml")) ==
            0);
    // As Postfix's pipe(8) hands it over: LF line ends throughout.
    auto signed_message = read_file(dir / "signed.eml");
    std::erase(signed_message, '\r');

    SinkServer sink(15400, "accept", dir / "out");
    auto request = accept_request(15400, {"bob@example.net"});
    request.raw_message = signed_message;
    auto result = execute_pipe(request);

    CHECK(result.exit_code == exit_ok);
    CHECK(result.disposition == "delivered");
    CHECK(result.error_line.empty());
    REQUIRE(result.delivery);
    CHECK(result.delivery->reply.code == 250);
    CHECK(result.delivery->reply.text == "2.0.0 Ok: queued as Q1");
    auto arrived = read_file(dir / "out/1.eml");
    CHECK(arrived == expected_arrival(request));
    CHECK(arrived.starts_with("Authentication-Results: relaygate; spf=pass"));
    CHECK(arrived.find("\r\n.a line that starts with a dot\r\n.\r\n..two dots\r\n") !=
          std::string::npos);
    CHECK(shell(python + " " + smtp_dir + "/dkim_tool.py verify " + (dir / "dkim.txt") + " < " +
                (dir / "out/1.eml") + " >/dev/null") == 0);
    auto meta = read_file(dir / "out/1.json");
    CHECK(meta.find("\"mail_from\": \"alice@example.test\"") != std::string::npos);
    CHECK(meta.find("\"rcpt_tos\": [\"bob@example.net\"]") != std::string::npos);
}

TEST_CASE("the DKIM check in these tests fails when the delivered body was altered",
          "[relay]") {
    TempDir dir;
    REQUIRE(shell(python + " " + smtp_dir + "/dkim_tool.py keygen " + dir.path()) == 0);
    write_file(dir / "plain.eml", sample_message);
    REQUIRE(shell(python + " " + smtp_dir + "/dkim_tool.py sign " + (dir / "dkim.key") +
                  " sel example.test < " + (dir / "plain.eml") + " > " + (dir / "signed.eml")) ==
            0);
    auto altered = read_file(dir / "signed.eml");
    altered.replace(altered.find("..two dots"), 10, ".two dots");  // a relay that forgot stuffing
    write_file(dir / "altered.eml", altered);
    CHECK(shell(python + " " + smtp_dir + "/dkim_tool.py verify " + (dir / "dkim.txt") + " < " +
                (dir / "altered.eml") + " >/dev/null") != 0);
}

TEST_CASE("STARTTLS with a certificate from the configured CA carries the message encrypted",
          "[relay]") {
    TempDir dir;
    REQUIRE(shell("sh " + smtp_dir + "/make_certs.sh " + (dir / "tls")) == 0);
    SinkServer sink(15401, "accept", dir / "out",
                    {"--cert", dir / "tls/good.pem", "--key", dir / "tls/good.key",
                     "--require-tls"});

    auto options = options_for(15401, TlsPolicy::required);
    options.ca_file = dir / "tls/ca.pem";
    auto result = deliver(options, "alice@example.test", {"bob@example.net"}, sample_message);

    CHECK(result.outcome == Outcome::delivered);
    CHECK(result.tls);
    CHECK(result.detail.empty());
    CHECK(read_file(dir / "out/1.json").find("\"tls\": true") != std::string::npos);
}

TEST_CASE("a certificate that does not verify stops delivery before anything is sent",
          "[relay]") {
    TempDir dir;
    REQUIRE(shell("sh " + smtp_dir + "/make_certs.sh " + (dir / "tls")) == 0);
    struct Row {
        const char* name;
        unsigned port;
        const char* cert;
        const char* ca;
        const char* why;
    };
    const Row rows[] = {
        {"wrong name", 15402, "wrong", "ca.pem", "IP address mismatch"},
        {"self-signed", 15403, "self", "ca.pem", "self-signed certificate"},
        {"good certificate, CA not trusted", 15404, "good", "self.pem", "unable to get local"},
    };
    for (const auto& row : rows) {
        DYNAMIC_SECTION(row.name) {
            auto cert = dir / ("tls/" + std::string(row.cert));
            SinkServer sink(row.port, "accept", dir / row.name,
                            {"--cert", cert + ".pem", "--key", cert + ".key"});
            auto options = options_for(row.port, TlsPolicy::required);
            options.ca_file = dir / ("tls/" + std::string(row.ca));
            auto result = deliver(options, "alice@example.test", {"bob@example.net"},
                                  sample_message);

            CHECK(result.outcome == Outcome::temporary);
            CHECK(result.step == "tls");
            CHECK_THAT(result.detail, Catch::Contains(row.why));
            CHECK(pipe_exit_code(result) == exit_tempfail);
            CHECK(files_in(dir / row.name).empty());
        }
    }
}

TEST_CASE("required TLS is not given up when the server does not offer STARTTLS", "[relay]") {
    TempDir dir;
    SinkServer sink(15405, "accept", dir / "out");
    auto result = deliver(options_for(15405, TlsPolicy::required), "alice@example.test",
                          {"bob@example.net"}, sample_message);

    CHECK(result.outcome == Outcome::temporary);
    CHECK(result.step == "starttls");
    CHECK_THAT(result.detail, Catch::Contains("does not offer STARTTLS"));
    CHECK(files_in(dir / "out").empty());
}

TEST_CASE("smtps upstreams speak TLS from the first byte", "[relay]") {
    TempDir dir;
    REQUIRE(shell("sh " + smtp_dir + "/make_certs.sh " + (dir / "tls")) == 0);
    SinkServer sink(15406, "accept", dir / "out",
                    {"--cert", dir / "tls/good.pem", "--key", dir / "tls/good.key",
                     "--implicit-tls"});
    auto options = options_for(15406);
    options.upstream = *parse_upstream("smtps://localhost:15406", nullptr);
    options.ca_file = dir / "tls/ca.pem";
    auto result = deliver(options, "alice@example.test", {"bob@example.net"}, sample_message);

    CHECK(result.outcome == Outcome::delivered);
    CHECK(result.tls);
    CHECK(read_file(dir / "out/1.json").find("\"tls\": true") != std::string::npos);
}

TEST_CASE("AUTH uses the password from the file or environment, and a refusal defers",
          "[relay]") {
    TempDir dir;
    REQUIRE(shell("sh " + smtp_dir + "/make_certs.sh " + (dir / "tls")) == 0);
    SinkServer sink(15407, "accept", dir / "out",
                    {"--cert", dir / "tls/good.pem", "--key", dir / "tls/good.key",
                     "--auth", "relayuser:s3cret pass"});
    auto request = accept_request(15407, {"bob@example.net"});
    request.tls_override = TlsPolicy::required;
    request.relay.ca_file = dir / "tls/ca.pem";
    request.relay.auth_user = "relayuser";

    SECTION("password from a file") {
        write_file(dir / "password", "s3cret pass\n");
        request.relay.auth_password_file = dir / "password";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_ok);
        CHECK(read_file(dir / "out/1.json").find("\"login\": \"relayuser\"") !=
              std::string::npos);
    }
    SECTION("password from RELAYGATE_SMTP_PASSWORD") {
        setenv("RELAYGATE_SMTP_PASSWORD", "s3cret pass", 1);
        auto result = execute_pipe(request);
        unsetenv("RELAYGATE_SMTP_PASSWORD");
        CHECK(result.exit_code == exit_ok);
    }
    SECTION("a wrong password is temporary, not a bounce") {
        write_file(dir / "password", "wrong\n");
        request.relay.auth_password_file = dir / "password";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        REQUIRE(result.delivery);
        CHECK(result.delivery->step == "auth");
        INFO(result.delivery->detail);
        CHECK(result.delivery->reply.code == 535);
        CHECK(files_in(dir / "out").empty());
        CHECK(result.error_line.find("wrong") == std::string::npos);
    }
}

TEST_CASE("each upstream failure gives the right exit status and nothing is acknowledged",
          "[relay]") {
    struct Row {
        const char* mode;
        int exit_code;
        const char* step;  // where the client saw it end
    };
    const Row rows[] = {
        {"tempfail-mail", exit_tempfail, "mail"},
        {"permfail-mail", exit_unavailable, "mail"},
        {"tempfail-rcpt", exit_tempfail, "rcpt"},
        {"permfail-rcpt", exit_unavailable, "rcpt"},
        {"tempfail-data", exit_tempfail, "dot"},
        {"permfail-data", exit_unavailable, "dot"},
        {"close-greeting", exit_tempfail, "greeting"},
        {"close-ehlo", exit_tempfail, "ehlo"},
        {"close-mail", exit_tempfail, "mail"},
        {"close-rcpt", exit_tempfail, "rcpt"},
        {"close-data", exit_tempfail, "data"},
        {"close-body", exit_tempfail, "dot"},
        {"close-final", exit_tempfail, "dot"},
    };
    unsigned port = 15410;
    for (const auto& row : rows) {
        ++port;
        DYNAMIC_SECTION(row.mode) {
            TempDir dir;
            SinkServer sink(port, row.mode, dir / "out");
            auto result = execute_pipe(accept_request(port, {"bob@example.net"}));

            CHECK(result.exit_code == row.exit_code);
            REQUIRE(result.delivery);
            CHECK(result.delivery->step == row.step);
            CHECK_FALSE(result.delivery->data_accepted);
            CHECK(files_in(dir / "out").empty());
            CHECK_THAT(result.error_line, Catch::StartsWith("cannot deliver to 127.0.0.1:"));
        }
    }
}

TEST_CASE("refused recipients bounce while the accepted ones get the message", "[relay]") {
    TempDir dir;
    SinkServer sink(15430, "accept", dir / "out");
    auto result = execute_pipe(
        accept_request(15430, {"bob@example.net", "rejectme@example.net", "carol@example.net"}));

    CHECK(result.exit_code == exit_unavailable);
    CHECK(result.disposition == "partial");
    REQUIRE(result.delivery);
    CHECK(result.delivery->data_accepted);
    REQUIRE(result.delivery->recipients.size() == 3);
    CHECK(result.delivery->recipients[0].accepted());
    CHECK(result.delivery->recipients[1].reply.code == 550);
    CHECK(result.delivery->recipients[2].accepted());
    CHECK_THAT(result.error_line, Catch::Contains("rejectme@example.net"));
    CHECK_THAT(result.error_line, Catch::Contains("delivered to the other recipients"));
    CHECK(read_file(dir / "out/1.json").find(
              "\"rcpt_tos\": [\"bob@example.net\", \"carol@example.net\"]") != std::string::npos);
}

TEST_CASE("a deferred recipient holds the whole delivery so a retry cannot duplicate",
          "[relay]") {
    TempDir dir;
    SinkServer sink(15431, "accept", dir / "out");
    auto result = execute_pipe(
        accept_request(15431, {"bob@example.net", "deferme@example.net", "reject@example.net"}));

    CHECK(result.exit_code == exit_tempfail);
    REQUIRE(result.delivery);
    CHECK(result.delivery->reply.code == 450);
    CHECK(result.delivery->refused(false) == std::vector<std::string>{"deferme@example.net"});
    CHECK(files_in(dir / "out").empty());
}

TEST_CASE("every recipient refused permanently bounces without DATA", "[relay]") {
    TempDir dir;
    SinkServer sink(15432, "accept", dir / "out");
    auto result = execute_pipe(accept_request(15432, {"reject1@example.net", "reject2@x.test"}));

    CHECK(result.exit_code == exit_unavailable);
    CHECK(result.disposition == "bounced");
    CHECK(files_in(dir / "out").empty());
}

TEST_CASE("a refused connection is temporary", "[relay]") {
    REQUIRE_FALSE(port_open(port_nothing_listens));
    auto result = execute_pipe(accept_request(port_nothing_listens, {"bob@example.net"}));

    CHECK(result.exit_code == exit_tempfail);
    REQUIRE(result.delivery);
    CHECK(result.delivery->step == "connect");
    CHECK_THAT(result.error_line, Catch::Contains("Connection refused"));
}

TEST_CASE("a server that stalls during DATA times out as temporary with nothing acknowledged",
          "[relay]") {
    struct Row {
        const char* mode;
        unsigned port;
        std::size_t body_bytes;  // large enough to fill the socket buffers, or small
        const char* step;
    };
    const Row rows[] = {
        {"stall-data", 15433, 16u << 20, "body"},  // the server stops reading mid-body
        {"stall-final", 15434, 0, "dot"},          // it read everything and never answers
    };
    for (const auto& row : rows) {
        DYNAMIC_SECTION(row.mode) {
            TempDir dir;
            SinkServer sink(row.port, row.mode, dir / "out");
            std::string message = sample_message;
            std::string filler_line = std::string(63, 'x') + "\n";
            for (std::size_t i = 0; i < row.body_bytes / filler_line.size(); ++i) {
                message += filler_line;
            }

            auto options = options_for(row.port);
            options.timeout = std::chrono::seconds(2);
            auto started = std::chrono::steady_clock::now();
            auto result = deliver(options, "alice@example.test", {"bob@example.net"}, message);
            auto took = std::chrono::steady_clock::now() - started;

            CHECK(result.outcome == Outcome::temporary);
            CHECK(result.step == row.step);
            CHECK_THAT(result.detail, Catch::Contains("timed out"));
            CHECK_FALSE(result.data_accepted);
            CHECK(took < std::chrono::seconds(10));
            CHECK(files_in(dir / "out").empty());
        }
    }
}

TEST_CASE("envelope addresses cannot inject commands, and quoted local parts go through",
          "[relay]") {
    TempDir dir;
    SinkServer sink(15435, "accept", dir / "out");
    auto options = options_for(15435);

    auto injected = deliver(options, "alice@example.test",
                            {"bob@example.net>\r\nRCPT TO:<evil@example.org"}, sample_message);
    CHECK(injected.outcome == Outcome::permanent);
    CHECK(injected.step == "envelope");
    CHECK(files_in(dir / "out").empty());

    auto quoted = deliver(options, "", {"\"bob smith\"@example.net"}, sample_message);
    CHECK(quoted.outcome == Outcome::delivered);
    CHECK(read_file(dir / "out/1.json").find(R"("rcpt_tos": ["\"bob smith\"@example.net"])") !=
          std::string::npos);
}
