// relaygate check [PATH|-]...: one JSON verdict per message.
#include <iostream>

#include "cli/cli.hpp"

namespace relaygate::cli {
namespace {

struct CheckOptions {
    InputOptions input;
    DnsOptions dns;
    PolicyOptions policy;
    EnvelopeCliOptions envelope;
    bool pretty = false;
    std::string fail_on;
};

int run_check(CLI::App& command, const CheckOptions& options)
{
    Policy policy = load_effective_policy(options.policy);
    checks::EnvelopeOptions envelope = envelope_from(command, options.envelope);
    std::unique_ptr<dns::Resolver> resolver = make_resolver(options.dns);
    checks::PipelineOptions pipeline_options;
    pipeline_options.short_circuit = policy.short_circuit.value_or(false);
    checks::Pipeline pipeline(policy, *resolver, pipeline_options);

    std::vector<std::string> paths = options.input.paths;
    if (paths.empty())
        paths.push_back("-");
    MessageStream stream(paths, reader_options(options.input));

    bool matched = false;
    bool unread = false;
    RawMessage raw;
    while (stream.next(raw)) {
        Verdict verdict = pipeline.check(raw, envelope);
        std::cout << to_json_text(verdict, options.pretty) << '\n';
        if (verdict.error) {
            print_error(raw.path + " message " + std::to_string(raw.index) + ": " +
                        verdict.error->kind + ": " + verdict.error->detail);
            unread = unread || !raw.error.empty();
        }
        matched = matched || fail_on_matches(options.fail_on, verdict.action);
    }
    std::cout.flush();

    for (const auto& error : stream.errors())
        print_error(error);
    // A message cut short (too large, an mbox ending mid-message) was not read whole either.
    if (!stream.errors().empty() || unread)
        return exit_unreadable;
    return matched ? exit_fail_on : exit_ok;
}

}  // namespace

void add_check_command(CLI::App& root, int& exit_code)
{
    auto options = std::make_shared<CheckOptions>();
    CLI::App* command = root.add_subcommand(
        "check", "Check messages (.eml, mbox, Maildir, directory, - for stdin) and print one "
                 "JSON verdict per message");
    command->add_option("paths", options->input.paths, "Messages to check (default: -)");
    add_input_options(*command, options->input);
    add_dns_options(*command, options->dns);
    add_policy_options(*command, options->policy);
    add_envelope_options(*command, options->envelope);
    command->add_flag("--pretty", options->pretty, "Indent the JSON for people");
    command->add_option("--fail-on", options->fail_on,
                        "Exit 1 when a message's action is this or worse: quarantine, reject")
        ->check(CLI::IsMember({"quarantine", "reject"}));

    command->callback([command, options, &exit_code] {
        exit_code = run_check(*command, *options);
    });
}

}  // namespace relaygate::cli
