// relay — the delivery side of `relaygate pipe`: an SMTP client for the upstream relay (our own,
// over OpenSSL, for exact per-recipient and per-step replies), the Maildir quarantine, the
// headers relaygate prepends, and the decision that turns a verdict and a delivery result into
// a sysexits code the MTA acts on. Nothing here acknowledges a message that is not durable.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/message.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::relay {

// sysexits.h codes that `relaygate pipe` returns (DESIGN.md, "Exit status").
constexpr int exit_ok = 0;            // delivered upstream or quarantined durably
constexpr int exit_dataerr = 65;      // malformed input that must bounce
constexpr int exit_unavailable = 69;  // rejected by policy or refused permanently upstream
constexpr int exit_tempfail = 75;     // anything temporary: the MTA keeps the message

// ---- Upstream address --------------------------------------------------------------------

struct Upstream {
    bool implicit_tls = false;  // smtps:// (TLS from the first byte) rather than smtp://
    std::string host;           // a name, an IPv4 literal, or an IPv6 literal without brackets
    unsigned port = 25;

    bool is_loopback() const;   // localhost, 127.0.0.0/8 or ::1
    std::string display() const;  // host:port, IPv6 in brackets
};

// smtp://HOST[:PORT] or smtps://HOST[:PORT] (default ports 25 and 465); on failure nullopt and
// *problem says what is wrong in one line.
std::optional<Upstream> parse_upstream(std::string_view url, std::string* problem);

// How STARTTLS is used on an smtp:// upstream (smtps:// is always TLS).
enum class TlsPolicy {
    required,       // STARTTLS must succeed with a verified certificate, or nothing is sent
    opportunistic,  // STARTTLS (verified) when the server offers it, plain otherwise
    none,           // never STARTTLS
};

// relay.require_tls: required for every host but loopback, where traffic never leaves the
// machine (and the local MTA's certificate is often a self-signed one); without it,
// opportunistic for other hosts and none for loopback.
TlsPolicy tls_policy_for(const Upstream& upstream, bool require_tls);

// "required" | "opportunistic" | "none".
std::optional<TlsPolicy> parse_tls_policy(std::string_view word);

// ---- SMTP client -------------------------------------------------------------------------

// One SMTP reply: the code and its text lines joined with " / " (continuations included).
struct Reply {
    int code = 0;      // 0 when no reply arrived (connection failure, timeout)
    std::string text;  // without the code, e.g. "2.0.0 Ok: queued as 4F3"

    bool positive() const { return code >= 200 && code < 300; }
    bool transient() const { return code >= 400 && code < 500; }
    bool permanent() const { return code >= 500 && code < 600; }
    std::string line() const;  // "250 2.0.0 Ok: queued as 4F3", or "" with no reply
};

// What became of the message as a whole. temporary: retry later; permanent: bounce.
enum class Outcome { delivered, temporary, permanent };
std::string_view to_string(Outcome outcome);

struct RecipientResult {
    std::string address;
    Reply reply;  // the reply to its RCPT TO (code 0 when it was never sent)
    bool accepted() const { return reply.positive(); }
};

struct SmtpOptions {
    Upstream upstream;
    TlsPolicy tls = TlsPolicy::required;
    std::string ca_file;         // empty: the system store
    std::string helo_name;       // our EHLO name; empty: the host name
    std::string auth_user;       // empty: no AUTH
    std::string auth_password;   // read by load_smtp_password, never from argv
    std::chrono::seconds timeout{60};  // for each step (relay.timeout_seconds)
};

struct DeliveryResult {
    Outcome outcome = Outcome::temporary;
    std::string step;    // where it ended: "connect", "greeting", "ehlo", "starttls", "tls",
                         // "auth", "mail", "rcpt", "data", "body", "dot" (final reply), "done"
    Reply reply;         // the reply that decided the outcome (the final 250 when delivered)
    std::string detail;  // one line for people: what went wrong, or "" when delivered
    std::vector<RecipientResult> recipients;  // one per envelope recipient, in order
    bool tls = false;    // whether the session was encrypted when the message was sent
    bool data_accepted = false;  // the final reply after DATA was 2xx: the upstream has it

    std::vector<std::string> refused(bool permanently) const;  // addresses refused at RCPT
};

// Sends one message to the upstream relay: the bytes are sent as given (line ends made CRLF,
// dot-stuffed). Delivered only when the final reply after DATA was 2xx. With some recipients
// refused permanently and others accepted, the accepted ones get the message and the outcome
// is permanent (sendmail's way: see pipe_exit_code). With any recipient refused temporarily,
// nothing is sent (RSET) and the outcome is temporary, so a retry cannot duplicate.
DeliveryResult deliver(const SmtpOptions& options, std::string_view mail_from,
                       const std::vector<std::string>& recipients, std::string_view message);

// The DATA payload as it goes on the wire: bare LF made CRLF, lines starting with "." get
// another ".", a final CRLF added if missing, then ".\r\n".
std::string data_payload(std::string_view message);

// The password for AUTH: relay.auth_password_file (first line, line end removed), else the
// environment variable RELAYGATE_SMTP_PASSWORD. nullopt and *problem when neither is usable.
std::optional<std::string> load_smtp_password(const Policy::Relay& relay, std::string* problem);

// ---- Headers relaygate adds ----------------------------------------------------------------

constexpr std::size_t header_fold_width = 78;  // RFC 5322 2.1.1 SHOULD
constexpr std::size_t max_reason_in_header = 200;  // verdict reasons can quote attacker text

// "Name: value" folded at whitespace so that lines stay within header_fold_width where the
// value allows it, with CRLF or LF line ends; control characters in value become spaces.
std::string fold_header(std::string_view name, std::string_view value, std::string_view eol);

// "accept; score=2.5; reason=\"...\"" for X-Relaygate-Verdict.
std::string verdict_summary(Action action, double score, std::string_view reason);

// The message with Authentication-Results and X-Relaygate-Verdict prepended, using the line end
// the message's first line uses. The original bytes follow unchanged (DKIM keeps verifying).
std::string with_relaygate_headers(std::string_view message,
                                   std::string_view authentication_results,
                                   std::string_view verdict_summary_value);

// ---- Quarantine ----------------------------------------------------------------------------

struct QuarantineResult {
    bool stored = false;
    std::string path;   // the file in new/ when stored
    std::string error;  // one line when not stored ("cannot write ...: No space left on device")
};

// Writes one message into the Maildir `dir` (created with tmp/ new/ cur/ when missing): a
// unique name in tmp/, written and fsync'd, renamed into new/, and new/ fsync'd. Any failure
// leaves no file in new/ and is reported, never thrown.
QuarantineResult write_to_maildir(const std::string& dir, std::string_view message);

// ---- The pipe decision ---------------------------------------------------------------------

// Everything `relaygate pipe` knows once the layers have run.
struct PipeRequest {
    Action action = Action::tempfail;
    double score = 0;
    std::string reason;                   // the verdict's reason, one line
    std::string authentication_results;   // the header value (authserv-id first)
    std::optional<std::string> malformed;  // set: the input must bounce (65) for this reason
    std::string message_id;               // for the log line; "" when the message has none
    std::string raw_message;              // exactly as read from stdin
    Envelope envelope;                    // mail_from and rcpt_to from the MTA
    Policy::Relay relay;                  // upstream, TLS, AUTH, quarantine, timeout
    std::optional<std::string> upstream_override;  // --relay URL, else relay.upstream
    std::optional<TlsPolicy> tls_override;         // else tls_policy_for(relay.require_tls)
    std::string helo_name;                // our EHLO name; empty: the host name
};

struct PipeResult {
    int exit_code = exit_tempfail;
    // "delivered", "quarantined", "rejected", "deferred", "bounced", or "partial" (delivered
    // to the accepted recipients, the others refused permanently: exit 69)
    std::string disposition;
    std::string error_line;   // one line for stderr (the MTA quotes it in a bounce); "" if none
    std::optional<DeliveryResult> delivery;
    std::string quarantine_path;
};

// Maps a delivery result to sysexits: delivered 0; permanent 69; temporary 75. Partial refusal
// follows sendmail: the accepted recipients got the message, and the exit is 69 so that the MTA
// bounces, with the refused addresses named in the error line. Postfix's pipe(8) applies the
// exit to every recipient of the delivery, so run it with one recipient per delivery
// (samples/postfix) to make the status exact per recipient.
int pipe_exit_code(const DeliveryResult& delivery);

// Acts on the verdict: accept → deliver upstream; quarantine → Maildir; reject → 69; tempfail
// → 75; malformed → 65. Configuration problems (no upstream, no quarantine dir, unreadable
// password) are temporary: the MTA keeps the message until the administrator fixes them.
PipeResult execute_pipe(const PipeRequest& request);

// execute_pipe, then the error line (if any) to `err`, the syslog line, and the exit code.
int run_pipe(const PipeRequest& request, std::ostream& err);

// ---- Logging -------------------------------------------------------------------------------

constexpr std::size_t max_logged_value = 100;  // attacker text in logs is truncated

// One key=value line for the message: "<id> action=accept result=delivered exit=0
// relay=host:port reply=\"250 ...\" from=<a> to=<b>,<c>".
std::string pipe_log_line(const PipeRequest& request, const PipeResult& result);

// Writes pipe_log_line to syslog (facility mail, ident "relaygate"), at notice for delivered
// and quarantined, warning for everything else.
void log_pipe_result(const PipeRequest& request, const PipeResult& result);

}  // namespace relaygate::relay
