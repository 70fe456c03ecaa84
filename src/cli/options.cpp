// Option groups shared by several subcommands: DNS, policy, envelope and input.
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "checks/network.hpp"
#include "cli/cli.hpp"
#include "relaygate/model.hpp"

namespace relaygate::cli {

void add_dns_options(CLI::App& command, DnsOptions& options)
{
    command.add_option("--dns", options.mode,
                       "Where DNS answers come from: live, cached or offline "
                       "(default: offline when --dns-zone is given, else live)")
        ->check(CLI::IsMember({"live", "cached", "offline"}));
    command.add_option("--dns-zone", options.zone_files,
                       "RFC 1035 zone file taken as the whole DNS world (repeatable)")
        ->check(CLI::ExistingFile)
        ->allow_extra_args(false);
    command.add_option("--resolver", options.resolver,
                       "DNS server for live lookups, ADDR[:PORT] (default: /etc/resolv.conf)")
        ->check([](const std::string& value) {
            return value.empty() ? std::string("expected ADDR[:PORT], got an empty value")
                                 : std::string();
        });
    command.add_option("--dns-timeout", options.timeout_seconds,
                       "Seconds to wait for a DNS answer before it is a temperror")
        ->check(CLI::Range(0.01, 120.0))
        ->capture_default_str();
    command.add_option("--dns-retries", options.retries, "Retries after a DNS timeout")
        ->check(CLI::Range(0, 10))
        ->capture_default_str();
    command.add_option("--dns-cache", options.cache_file,
                       "Cache file for --dns cached (default: ~/.cache/relaygate/dns.cache)");
}

std::unique_ptr<dns::Resolver> make_resolver(const DnsOptions& options)
{
    std::string mode = options.mode;
    if (mode.empty())
        mode = options.zone_files.empty() ? "live" : "offline";

    if (mode == "offline") {
        if (options.zone_files.empty())
            throw UsageError("--dns offline needs at least one --dns-zone FILE");
        return dns::make_zone_resolver(options.zone_files);
    }
    if (!options.zone_files.empty())
        throw UsageError("--dns-zone is only used with --dns offline");

    dns::LiveOptions live;
    if (!options.resolver.empty())
        dns::parse_server_address(options.resolver, live);
    live.timeout = std::chrono::milliseconds(
        static_cast<long>(std::lround(options.timeout_seconds * 1000)));
    live.retries = options.retries;
    // Live answers are kept in memory for their TTL, so that a run asks for each name and type
    // once per TTL however many messages need it; --dns cached also keeps them across runs.
    if (mode == "live")
        return dns::make_cached_resolver(dns::make_live_resolver(live), "");
    std::string cache_file = default_cache_path(options.cache_file);
    std::error_code ignored;  // an unusable directory is reported by the cache itself
    std::filesystem::create_directories(std::filesystem::path(cache_file).parent_path(), ignored);
    return dns::make_cached_resolver(dns::make_live_resolver(live), cache_file);
}

std::string default_cache_path(const std::string& given)
{
    if (!given.empty())
        return given;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::string(xdg) + "/relaygate/dns.cache";
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.cache/relaygate/dns.cache";
}

void add_policy_options(CLI::App& command, PolicyOptions& options)
{
    command.add_option("--config", options.config_file, "Policy file (JSON with comments)");
}

// A model the administrator named must load: scoring silently without it would hide a typo.
// (The bundled model, when it cannot be found, only costs a warning: see payload_model.cpp.)
Policy load_effective_policy(const PolicyOptions& options)
{
    if (options.config_file.empty())
        return default_policy();
    Policy policy;
    try {
        policy = load_policy(options.config_file);
    } catch (const PolicyError& e) {
        throw UsageError(e.what());
    }
    if (!policy.payload.model.empty()) {
        try {
            model::shared_model(policy.payload.model);
        } catch (const model::Error& e) {
            throw UsageError(options.config_file + ": payload.model: " + e.what());
        }
    }
    return policy;
}

void add_envelope_options(CLI::App& command, EnvelopeCliOptions& options)
{
    command.add_option("--client-ip", options.envelope.client_ip,
                       "IP address of the SMTP client that handed over the message");
    command.add_option("--helo", options.envelope.helo, "HELO/EHLO name the client gave");
    command.add_option("--mail-from", options.mail_from_text,
                       "SMTP MAIL FROM address ('' for the null sender)");
    command.add_option("--rcpt", options.envelope.rcpt_to, "SMTP RCPT TO address (repeatable)")
        ->allow_extra_args(false);
}

checks::EnvelopeOptions envelope_from(CLI::App& command, const EnvelopeCliOptions& options)
{
    checks::EnvelopeOptions envelope = options.envelope;
    envelope.has_mail_from = command.count("--mail-from") > 0;
    envelope.mail_from = options.mail_from_text;
    if (envelope.mail_from.size() >= 2 && envelope.mail_from.front() == '<' &&
        envelope.mail_from.back() == '>')
        envelope.mail_from = envelope.mail_from.substr(1, envelope.mail_from.size() - 2);
    if (!envelope.client_ip.empty() && !checks::is_ip_address(envelope.client_ip))
        throw UsageError("--client-ip " + envelope.client_ip + ": not an IP address");
    return envelope;
}

bool fail_on_matches(const std::string& fail_on, Action action)
{
    if (fail_on == "reject")
        return action == Action::reject;
    if (fail_on == "quarantine")
        return action == Action::reject || action == Action::quarantine;
    return false;
}

void add_input_options(CLI::App& command, InputOptions& options)
{
    command.add_option("--mbox-format", options.mbox_format,
                       "How '>From ' lines in mbox files are unquoted: mboxrd or mboxo")
        ->check(CLI::IsMember({"mboxrd", "mboxo"}))
        ->capture_default_str();
    command.add_option("--max-message-size", options.max_message_bytes,
                       "Largest message read whole, in bytes; larger ones get a verdict with "
                       "an error")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 32))
        ->capture_default_str();
}

ReaderOptions reader_options(const InputOptions& options)
{
    ReaderOptions reader;
    reader.max_message_bytes = options.max_message_bytes;
    reader.mbox_format = options.mbox_format == "mboxo" ? MboxFormat::mboxo : MboxFormat::mboxrd;
    return reader;
}

}  // namespace relaygate::cli
