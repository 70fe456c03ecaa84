// The command line: one file per subcommand (check.cpp, dns.cpp, config.cpp, ...), each adding
// its subcommand to the root app; shared option groups live here.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "relaygate/checks.hpp"
#include "relaygate/dns.hpp"
#include "relaygate/mailbox.hpp"
#include "relaygate/policy.hpp"

namespace relaygate::cli {

// Exit statuses of check and scan (DESIGN.md, "Exit status").
constexpr int exit_ok = 0;
constexpr int exit_fail_on = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreadable = 3;
constexpr int exit_pipe_tempfail = 75;  // EX_TEMPFAIL: the MTA keeps the message

bool is_pipe_invocation(int argc, char** argv);

// A usage or configuration error: printed as "relaygate: <what>", exit status 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct DnsOptions {
    std::string mode;  // live | cached | offline; empty: offline with --dns-zone, else live
    std::vector<std::string> zone_files;
    std::string resolver;
    double timeout_seconds = 2.0;
    int retries = 1;
    std::string cache_file;
};
void add_dns_options(CLI::App& command, DnsOptions& options);
std::unique_ptr<dns::Resolver> make_resolver(const DnsOptions& options);
// --dns-cache FILE, else $XDG_CACHE_HOME/relaygate/dns.cache or ~/.cache/relaygate/dns.cache.
std::string default_cache_path(const std::string& given);

struct PolicyOptions {
    std::string config_file;
};
void add_policy_options(CLI::App& command, PolicyOptions& options);
Policy load_effective_policy(const PolicyOptions& options);

struct EnvelopeCliOptions {
    checks::EnvelopeOptions envelope;
    std::string mail_from_text;  // kept apart to tell "--mail-from ''" from no option
};
void add_envelope_options(CLI::App& command, EnvelopeCliOptions& options);
checks::EnvelopeOptions envelope_from(CLI::App& command, const EnvelopeCliOptions& options);

struct InputOptions {
    std::vector<std::string> paths;
    std::string mbox_format = "mboxrd";
    std::size_t max_message_bytes = 64u << 20;
};
void add_input_options(CLI::App& command, InputOptions& options);
ReaderOptions reader_options(const InputOptions& options);

// --fail-on: true when action is fail_on ("quarantine" or "reject") or worse.
bool fail_on_matches(const std::string& fail_on, Action action);

// Subcommands. Each registers itself; its callback sets exit_code.
void add_check_command(CLI::App& root, int& exit_code);
void add_dns_command(CLI::App& root, int& exit_code);
void add_config_command(CLI::App& root, int& exit_code);
void add_scan_command(CLI::App& root, int& exit_code);
void add_pipe_command(CLI::App& root, int& exit_code);
void add_model_commands(CLI::App& root, int& exit_code);

// "relaygate: <what>" on stderr.
void print_error(const std::string& what);

}  // namespace relaygate::cli
