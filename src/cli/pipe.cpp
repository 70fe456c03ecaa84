// relaygate pipe [-f SENDER] [-i] [--client-ip IP] [--helo NAME] RCPT...: one message from an
// MTA's pipe transport on standard input; the exit status (sysexits) tells the MTA what
// happened, and nothing is acknowledged that is not delivered or durably quarantined.
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "cli/cli.hpp"
#include "relaygate/relay.hpp"

namespace relaygate::cli {
namespace {

struct PipeCliOptions {
    DnsOptions dns;
    PolicyOptions policy;
    std::string sender;
    bool sender_given = false;
    bool ignore_dots = false;
    std::string client_ip;
    std::string helo;
    std::vector<std::string> recipients;
    std::string relay_url;
    std::string tls;
    std::string ca_file;
    std::string quarantine_dir;
    std::size_t max_message_bytes = 64u << 20;
};

// Reads standard input whole, up to the limit; nullopt when it is larger.
std::optional<std::string> read_stdin(std::size_t limit)
{
    std::string data;
    char buffer[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            throw std::runtime_error(std::string("cannot read standard input: ") +
                                     std::strerror(errno));
        if (n == 0)
            return data;
        if (data.size() + static_cast<std::size_t>(n) > limit)
            return std::nullopt;
        data.append(buffer, static_cast<std::size_t>(n));
    }
}

relay::PipeRequest make_request(const PipeCliOptions& options, const Policy& policy,
                                const Verdict& verdict, std::string raw)
{
    relay::PipeRequest request;
    request.action = verdict.action;
    request.score = verdict.score;
    request.reason = verdict.reason;
    request.authentication_results = verdict.authentication_results;
    request.message_id = verdict.message_id.value_or("");
    request.raw_message = std::move(raw);
    request.envelope = verdict.envelope;
    request.relay = policy.relay;
    if (!options.relay_url.empty())
        request.upstream_override = options.relay_url;
    if (!options.tls.empty())
        request.tls_override = relay::parse_tls_policy(options.tls);
    if (!options.ca_file.empty())
        request.relay.ca_file = options.ca_file;
    if (!options.quarantine_dir.empty())
        request.relay.quarantine_dir = options.quarantine_dir;
    if (verdict.error && verdict.error->kind == "parse")
        request.malformed = verdict.error->detail;
    return request;
}

// Everything that goes wrong before a decision is temporary: the MTA keeps the message.
int run_pipe_command(const PipeCliOptions& options)
{
    Policy policy = load_effective_policy(options.policy);
    std::unique_ptr<dns::Resolver> resolver = make_resolver(options.dns);
    checks::PipelineOptions pipeline_options;
    pipeline_options.short_circuit = policy.short_circuit.value_or(true);
    checks::Pipeline pipeline(policy, *resolver, pipeline_options);

    std::optional<std::string> input = read_stdin(options.max_message_bytes);
    if (!input) {
        std::cerr << "relaygate: message exceeds " << options.max_message_bytes << " bytes\n";
        return relay::exit_unavailable;
    }

    checks::EnvelopeOptions envelope;
    envelope.client_ip = options.client_ip;
    envelope.helo = options.helo;
    envelope.mail_from = options.sender;
    envelope.has_mail_from = options.sender_given;
    envelope.rcpt_to = options.recipients;

    RawMessage raw;
    raw.path = "-";
    raw.bytes = *input;
    Verdict verdict = pipeline.check(raw, envelope);
    return relay::run_pipe(make_request(options, policy, verdict, std::move(*input)), std::cerr);
}

}  // namespace

void add_pipe_command(CLI::App& root, int& exit_code)
{
    auto options = std::make_shared<PipeCliOptions>();
    CLI::App* command = root.add_subcommand(
        "pipe", "Filter one message from an MTA (stdin) and deliver, quarantine or bounce it; "
                "the exit status follows sysexits.h");
    command->add_option("recipients", options->recipients, "Envelope recipients")->required();
    command->add_option("-f,--sender", options->sender, "Envelope sender ('' or <> for null)");
    command->add_flag("-i", options->ignore_dots,
                      "Accepted for sendmail compatibility (a lone dot never ends the input)");
    command->add_option("--client-ip", options->client_ip, "SMTP client address");
    command->add_option("--helo", options->helo, "SMTP client HELO name");
    command->add_option("--relay", options->relay_url,
                        "Upstream smtp://HOST:PORT or smtps://HOST:PORT (else relay.upstream)");
    command->add_option("--tls", options->tls,
                        "STARTTLS use: required, opportunistic or none (default: required but "
                        "for loopback)")
        ->check(CLI::IsMember({"required", "opportunistic", "none"}));
    command->add_option("--ca-file", options->ca_file,
                        "CA certificates to verify the upstream with (else the system store)");
    command->add_option("--quarantine", options->quarantine_dir,
                        "Maildir for quarantined messages (else relay.quarantine_dir)");
    command->add_option("--max-message-size", options->max_message_bytes,
                        "Largest message accepted, in bytes")
        ->capture_default_str();
    add_dns_options(*command, options->dns);
    add_policy_options(*command, options->policy);

    command->callback([command, options, &exit_code] {
        options->sender_given = command->count("--sender") > 0;
        if (options->sender == "<>")
            options->sender.clear();
        try {
            exit_code = run_pipe_command(*options);
        } catch (const std::exception& e) {
            // A broken configuration or an internal error must not lose the message.
            print_error(e.what());
            exit_code = relay::exit_tempfail;
        }
    });
}

}  // namespace relaygate::cli
