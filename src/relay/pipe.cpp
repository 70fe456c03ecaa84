// The end of `relaygate pipe`: what the verdict's action means for the message (deliver,
// quarantine, bounce, defer), the sysexits code the MTA acts on, and the syslog line.
#include <syslog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "relaygate/relay.hpp"

namespace relaygate::relay {

namespace {

constexpr std::size_t max_password_bytes = 1024;
constexpr std::size_t max_error_line = 400;  // the MTA quotes it in bounces and logs
constexpr const char* password_variable = "RELAYGATE_SMTP_PASSWORD";

// One line: control characters become spaces, long text is cut.
std::string one_line(std::string_view text, std::size_t limit) {
    std::string out(text.substr(0, limit));
    for (char& c : out) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = ' ';
    }
    return out;
}

// A log value: a bare token when it is one, else quoted with \" and \\ escaped.
std::string log_value(std::string_view text) {
    auto clean = one_line(text, max_logged_value);
    bool bare = !clean.empty() && clean.find_first_of(" \"\\=") == std::string::npos;
    if (bare) return clean;
    std::string out = "\"";
    for (char c : clean) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// The SMTP options for this request, or the reason they cannot be made (temporary: a
// configuration problem the administrator fixes while the MTA keeps the message).
std::optional<SmtpOptions> smtp_options(const PipeRequest& request, std::string& problem) {
    const auto& relay = request.relay;
    auto url = request.upstream_override.value_or(relay.upstream);
    if (url.empty()) {
        problem = "no upstream relay configured (relay.upstream or --relay)";
        return std::nullopt;
    }
    auto upstream = parse_upstream(url, &problem);
    if (!upstream) return std::nullopt;

    SmtpOptions options;
    options.upstream = *upstream;
    options.tls = request.tls_override.value_or(tls_policy_for(*upstream, relay.require_tls));
    options.ca_file = relay.ca_file;
    options.helo_name = request.helo_name;
    options.timeout = std::chrono::seconds(relay.timeout_seconds > 0 ? relay.timeout_seconds : 1);
    options.auth_user = relay.auth_user;
    if (!relay.auth_user.empty()) {
        auto password = load_smtp_password(relay, &problem);
        if (!password) return std::nullopt;
        options.auth_password = *password;
    }
    return options;
}

// accept: the message with our headers to the upstream relay.
void deliver_upstream(const PipeRequest& request, PipeResult& result) {
    std::string problem;
    auto options = smtp_options(request, problem);
    if (!options) {
        result.exit_code = exit_tempfail;
        result.disposition = "deferred";
        result.error_line = problem;
        return;
    }

    auto summary = verdict_summary(request.action, request.score, request.reason);
    auto message = with_relaygate_headers(request.raw_message, request.authentication_results,
                                          summary);
    auto delivery = deliver(*options, request.envelope.mail_from, request.envelope.rcpt_to,
                            message);
    result.exit_code = pipe_exit_code(delivery);
    switch (delivery.outcome) {
    case Outcome::delivered: result.disposition = "delivered"; break;
    case Outcome::temporary: result.disposition = "deferred"; break;
    case Outcome::permanent:
        result.disposition = delivery.data_accepted ? "partial" : "bounced";
        break;
    }
    if (delivery.outcome != Outcome::delivered) {
        result.error_line = "cannot deliver to " + options->upstream.display() + ": " +
                            delivery.detail;
    }
    result.delivery = std::move(delivery);
}

// quarantine: the message with our headers into the quarantine Maildir.
void quarantine(const PipeRequest& request, PipeResult& result) {
    if (request.relay.quarantine_dir.empty()) {
        result.exit_code = exit_tempfail;
        result.disposition = "deferred";
        result.error_line = "quarantine requested but relay.quarantine_dir is not set";
        return;
    }

    auto summary = verdict_summary(request.action, request.score, request.reason);
    auto message = with_relaygate_headers(request.raw_message, request.authentication_results,
                                          summary);
    auto stored = write_to_maildir(request.relay.quarantine_dir, message);
    if (!stored.stored) {
        result.exit_code = exit_tempfail;
        result.disposition = "deferred";
        result.error_line = "cannot quarantine: " + stored.error;
        return;
    }
    result.exit_code = exit_ok;
    result.disposition = "quarantined";
    result.quarantine_path = stored.path;
}

}  // namespace

std::optional<std::string> load_smtp_password(const Policy::Relay& relay, std::string* problem) {
    auto fail = [&](std::string why) -> std::optional<std::string> {
        if (problem) *problem = std::move(why);
        return std::nullopt;
    };

    if (!relay.auth_password_file.empty()) {
        std::ifstream in(relay.auth_password_file, std::ios::binary);
        if (!in) {
            return fail("cannot open password file " + relay.auth_password_file + ": " +
                        std::strerror(errno));
        }
        std::string line;
        std::getline(in, line);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line.size() > max_password_bytes) {
            return fail("password file " + relay.auth_password_file +
                        ": the first line must hold the password");
        }
        return line;
    }
    if (const char* value = std::getenv(password_variable); value && *value) {
        return std::string(value);
    }
    return fail("relay.auth_user is set but neither relay.auth_password_file nor " +
                std::string(password_variable) + " gives a password");
}

int pipe_exit_code(const DeliveryResult& delivery) {
    switch (delivery.outcome) {
    case Outcome::delivered: return exit_ok;
    case Outcome::permanent: return exit_unavailable;
    case Outcome::temporary: return exit_tempfail;
    }
    return exit_tempfail;
}

PipeResult execute_pipe(const PipeRequest& request) {
    PipeResult result;
    if (request.malformed) {
        result.exit_code = exit_dataerr;
        result.disposition = "bounced";
        result.error_line = "malformed message: " + *request.malformed;
    } else {
        switch (request.action) {
        case Action::accept: deliver_upstream(request, result); break;
        case Action::quarantine: quarantine(request, result); break;
        case Action::reject:
            result.exit_code = exit_unavailable;
            result.disposition = "rejected";
            result.error_line = "rejected by policy: " + request.reason;
            break;
        case Action::tempfail:
            result.exit_code = exit_tempfail;
            result.disposition = "deferred";
            result.error_line = "temporary failure: " + request.reason;
            break;
        }
    }
    result.error_line = one_line(result.error_line, max_error_line);
    return result;
}

int run_pipe(const PipeRequest& request, std::ostream& err) {
    auto result = execute_pipe(request);
    if (!result.error_line.empty()) err << "relaygate: " << result.error_line << '\n';
    err.flush();
    log_pipe_result(request, result);
    return result.exit_code;
}

std::string pipe_log_line(const PipeRequest& request, const PipeResult& result) {
    std::string line = request.message_id.empty() ? "NOQUEUE" : log_value(request.message_id);
    line += " pipe: action=";
    line += to_string(request.action);
    line += " result=" + log_value(result.disposition);
    line += " exit=" + std::to_string(result.exit_code);
    if (result.delivery) {
        auto url = request.upstream_override.value_or(request.relay.upstream);
        if (auto upstream = parse_upstream(url, nullptr)) line += " relay=" + upstream->display();
        if (result.delivery->reply.code) {
            line += " reply=" + log_value(result.delivery->reply.line());
        }
        line += " step=" + result.delivery->step;
        line += result.delivery->tls ? " tls=yes" : " tls=no";
    }
    if (!result.quarantine_path.empty()) line += " file=" + log_value(result.quarantine_path);
    line += " from=<" + one_line(request.envelope.mail_from, max_logged_value) + ">";
    std::string to;
    for (const auto& rcpt : request.envelope.rcpt_to) {
        to += (to.empty() ? "<" : ",<") + one_line(rcpt, max_logged_value) + ">";
    }
    line += " to=" + (to.empty() ? std::string("<>") : to);
    if (!result.error_line.empty()) line += " reason=" + log_value(result.error_line);
    return line;
}

void log_pipe_result(const PipeRequest& request, const PipeResult& result) {
    bool fine = result.exit_code == exit_ok && result.disposition != "partial";
    openlog("relaygate", LOG_PID, LOG_MAIL);
    syslog(fine ? LOG_NOTICE : LOG_WARNING, "%s", pipe_log_line(request, result).c_str());
    closelog();
}

}  // namespace relaygate::relay
