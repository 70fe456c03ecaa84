// The pipe decision: quarantine writes, reject/tempfail/malformed, configuration problems,
// the password source and the syslog line.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include "relaygate/relay.hpp"
#include "unit/relay_support.hpp"

using namespace relaygate;
using namespace relaygate::relay;
using namespace relaygate::relay::testing;

namespace {

const std::string quarantined_message =
    "From: \"CEO\" <ceo@examp1e.test>\n"
    "To: finance@example.test\n"
    "Subject: urgent wire transfer\n"
    "Message-ID: <q-1@examp1e.test>\n"
    "\n"
    "Please pay the attached invoice today.\n";

PipeRequest request_with(Action action) {
    PipeRequest request;
    request.action = action;
    request.score = 7;
    request.reason = "lookalike of protected domain example.test";
    request.authentication_results = "relaygate; spf=none smtp.mailfrom=examp1e.test";
    request.message_id = "<q-1@examp1e.test>";
    request.raw_message = quarantined_message;
    request.envelope.mail_from = "ceo@examp1e.test";
    request.envelope.rcpt_to = {"finance@example.test"};
    return request;
}

}  // namespace

TEST_CASE("quarantine writes one durable file into new/ with relaygate's headers on top",
          "[relay]") {
    TempDir dir;
    auto request = request_with(Action::quarantine);
    request.relay.quarantine_dir = dir / "quarantine";

    auto first = execute_pipe(request);
    auto second = execute_pipe(request);

    CHECK(first.exit_code == exit_ok);
    CHECK(first.disposition == "quarantined");
    CHECK(first.error_line.empty());
    CHECK(first.quarantine_path != second.quarantine_path);  // unique names
    CHECK(files_in(dir / "quarantine/new").size() == 2);
    CHECK(files_in(dir / "quarantine/tmp").empty());
    CHECK(files_in(dir / "quarantine/cur").empty());
    auto stored = read_file(first.quarantine_path);
    CHECK(stored == with_relaygate_headers(quarantined_message, request.authentication_results,
                                           verdict_summary(Action::quarantine, 7,
                                                           request.reason)));
    CHECK(stored.ends_with(quarantined_message));
}

TEST_CASE("a quarantine that cannot be written is temporary and leaves nothing in new/",
          "[relay]") {
    TempDir dir;
    auto request = request_with(Action::quarantine);

    SECTION("a path through a regular file (works as root, unlike a read-only dir)") {
        write_file(dir / "file", "not a directory");
        request.relay.quarantine_dir = dir / "file/quarantine";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        CHECK(result.disposition == "deferred");
        CHECK_THAT(result.error_line, Catch::StartsWith("cannot quarantine: cannot create "));
        CHECK_THAT(result.error_line, Catch::EndsWith("Not a directory"));
    }
    SECTION("new/ exists as a file") {
        shell("mkdir -p " + (dir / "q/tmp") + " " + (dir / "q/cur"));
        write_file(dir / "q/new", "");
        request.relay.quarantine_dir = dir / "q";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        CHECK_THAT(result.error_line, Catch::Contains("not a directory"));
    }
    SECTION("no quarantine directory configured") {
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        CHECK(result.error_line == "quarantine requested but relay.quarantine_dir is not set");
    }
}

TEST_CASE("a disk that fills up mid-write defers the message and cleans up tmp/", "[relay]") {
    // RLIMIT_FSIZE makes write() fail partway like a full disk (EFBIG rather than ENOSPC,
    // through the same error path), in a child so the limit stays there.
    TempDir dir;
    constexpr rlim_t file_size_limit = 100;
    std::string big(10000, 'x');
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        signal(SIGXFSZ, SIG_IGN);
        rlimit limit{file_size_limit, file_size_limit};
        setrlimit(RLIMIT_FSIZE, &limit);
        auto result = write_to_maildir(dir / "q", big);
        bool reported = !result.stored && result.error.find("File too large") != std::string::npos;
        _exit(reported ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);

    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(files_in(dir / "q/new").empty());
    CHECK(files_in(dir / "q/tmp").empty());
}

TEST_CASE("reject exits 69 with the reason on one line for the bounce", "[relay]") {
    auto request = request_with(Action::reject);
    request.reason = "DMARC p=reject failed\nfor example.test";
    std::ostringstream err;
    int code = run_pipe(request, err);

    CHECK(code == exit_unavailable);
    CHECK(err.str() == "relaygate: rejected by policy: DMARC p=reject failed for example.test\n");
}

TEST_CASE("tempfail, malformed input and a missing upstream get their sysexits codes",
          "[relay]") {
    SECTION("tempfail verdict") {
        auto result = execute_pipe(request_with(Action::tempfail));
        CHECK(result.exit_code == exit_tempfail);
        CHECK_THAT(result.error_line, Catch::StartsWith("temporary failure: "));
    }
    SECTION("malformed input bounces whatever the action") {
        auto request = request_with(Action::accept);
        request.malformed = "no header/body separator";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_dataerr);
        CHECK(result.error_line == "malformed message: no header/body separator");
    }
    SECTION("accept with no upstream configured") {
        auto result = execute_pipe(request_with(Action::accept));
        CHECK(result.exit_code == exit_tempfail);
        CHECK_THAT(result.error_line, Catch::StartsWith("no upstream relay configured"));
    }
    SECTION("accept with a malformed upstream") {
        auto request = request_with(Action::accept);
        request.upstream_override = "smtp://relay.example.net:99999";
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        CHECK_THAT(result.error_line, Catch::StartsWith("invalid upstream url"));
    }
    SECTION("accept with AUTH configured but no password anywhere") {
        auto request = request_with(Action::accept);
        request.relay.upstream = "smtp://127.0.0.1:15449";
        request.relay.auth_user = "relayuser";
        unsetenv("RELAYGATE_SMTP_PASSWORD");
        auto result = execute_pipe(request);
        CHECK(result.exit_code == exit_tempfail);
        CHECK_THAT(result.error_line, Catch::Contains("RELAYGATE_SMTP_PASSWORD"));
        CHECK_FALSE(result.delivery.has_value());  // nothing was attempted
    }
}

TEST_CASE("the SMTP password comes from the file first, then the environment", "[relay]") {
    TempDir dir;
    Policy::Relay relay;
    std::string problem;
    setenv("RELAYGATE_SMTP_PASSWORD", "from-env", 1);

    CHECK(load_smtp_password(relay, &problem) == "from-env");
    write_file(dir / "pw", "from-file\r\nsecond line ignored\n");
    relay.auth_password_file = dir / "pw";
    CHECK(load_smtp_password(relay, &problem) == "from-file");
    relay.auth_password_file = dir / "missing";
    CHECK_FALSE(load_smtp_password(relay, &problem).has_value());
    CHECK_THAT(problem, Catch::StartsWith("cannot open password file "));
    CHECK_THAT(problem, Catch::EndsWith("No such file or directory"));
    unsetenv("RELAYGATE_SMTP_PASSWORD");
}

TEST_CASE("the syslog line names the message, action, result and upstream reply", "[relay]") {
    auto request = request_with(Action::accept);
    request.relay.upstream = "smtp://relay.example.net:587";
    PipeResult result;
    result.exit_code = exit_ok;
    result.disposition = "delivered";
    DeliveryResult delivery;
    delivery.outcome = Outcome::delivered;
    delivery.step = "done";
    delivery.tls = true;
    delivery.reply = {250, "2.0.0 Ok: queued as 4F3"};
    result.delivery = delivery;

    CHECK(pipe_log_line(request, result) ==
          "<q-1@examp1e.test> pipe: action=accept result=delivered exit=0 "
          "relay=relay.example.net:587 reply=\"250 2.0.0 Ok: queued as 4F3\" step=done tls=yes "
          "from=<ceo@examp1e.test> to=<finance@example.test>");

    request.message_id = "";
    request.envelope.rcpt_to.push_back("x\ny@example.test");  // hostile text stays one line
    auto line = pipe_log_line(request, result);
    CHECK(line.starts_with("NOQUEUE pipe: "));
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.ends_with("to=<finance@example.test>,<x y@example.test>"));
}
