// relaygate dns lookup|record|cache: DNS through the same resolver stack as the checks.
#include <filesystem>
#include <iostream>

#include "cli/cli.hpp"

namespace relaygate::cli {
namespace {

struct LookupOptions {
    DnsOptions dns;
    std::string name;
    std::string type = "A";
};

// Prints the answer as zone-file lines (or the outcome), so it can be pasted into a zone.
int run_lookup(const LookupOptions& options)
{
    auto type = dns::parse_record_type(options.type);
    if (!type)
        throw UsageError("unknown record type " + options.type);
    std::unique_ptr<dns::Resolver> resolver = make_resolver(options.dns);

    dns::Answer answer = resolver->lookup(options.name, *type);
    if (answer.outcome != dns::Outcome::found) {
        std::cout << options.name << ' ' << dns::to_string(*type) << ": "
                  << dns::to_string(answer.outcome);
        if (!answer.detail.empty())
            std::cout << " (" << answer.detail << ')';
        std::cout << '\n';
        return answer.outcome == dns::Outcome::temperror ? exit_unreadable : exit_ok;
    }
    for (const auto& record : answer.records) {
        std::cout << options.name << ". " << answer.ttl << " IN " << dns::to_string(*type) << ' ';
        if (*type == dns::RecordType::txt || *type == dns::RecordType::spf)
            std::cout << '"' << record << '"';
        else
            std::cout << record;
        std::cout << '\n';
    }
    return exit_ok;
}

struct RecordOptions {
    DnsOptions dns;
    PolicyOptions policy;
    EnvelopeCliOptions envelope;
    InputOptions input;
    std::string output;
};

// Runs the checks live with a recording resolver in front of the live one, then writes every
// answer as a zone file that --dns offline replays.
int run_record(CLI::App& command, const RecordOptions& options)
{
    if (options.dns.mode == "offline" || !options.dns.zone_files.empty())
        throw UsageError("dns record asks live DNS; --dns offline/--dns-zone do not apply");
    Policy policy = load_effective_policy(options.policy);
    checks::EnvelopeOptions envelope = envelope_from(command, options.envelope);
    auto recorder = dns::make_recording_resolver(make_resolver(options.dns));
    {
        checks::Pipeline pipeline(policy, *recorder, checks::PipelineOptions{});
        MessageStream stream(options.input.paths, reader_options(options.input));
        RawMessage raw;
        std::size_t messages = 0;
        while (stream.next(raw)) {
            pipeline.check(raw, envelope);
            ++messages;
        }
        for (const auto& error : stream.errors())
            print_error(error);
        std::cerr << "relaygate: recorded the DNS answers of " << messages << " messages\n";
    }
    recorder->write_zone(options.output);
    return exit_ok;
}

int run_cache_show(const std::string& file)
{
    std::string path = default_cache_path(file);
    std::error_code error;
    if (!std::filesystem::exists(path, error)) {
        std::cerr << "relaygate: no DNS cache at " << path << '\n';
        return exit_ok;
    }
    std::int64_t now = dns::unix_now();
    for (const auto& entry : dns::read_cache(path)) {
        std::int64_t left = entry.expires - now;
        std::cout << entry.name << ' ' << dns::to_string(entry.type) << ' '
                  << dns::to_string(entry.answer.outcome) << " ttl-left="
                  << (left > 0 ? std::to_string(left) : "expired");
        for (const auto& record : entry.answer.records)
            std::cout << " \"" << record << '"';
        std::cout << '\n';
    }
    return exit_ok;
}

}  // namespace

void add_dns_command(CLI::App& root, int& exit_code)
{
    CLI::App* dns = root.add_subcommand("dns", "Ask DNS through relaygate's resolver stack");
    dns->require_subcommand(1);

    auto lookup_options = std::make_shared<LookupOptions>();
    CLI::App* lookup = dns->add_subcommand("lookup", "Look up NAME [TYPE] (default type A)");
    lookup->add_option("name", lookup_options->name, "Domain name")->required();
    lookup->add_option("type", lookup_options->type,
                       "Record type: A, AAAA, MX, TXT, PTR, NS, CNAME, SOA")
        ->capture_default_str();
    add_dns_options(*lookup, lookup_options->dns);
    lookup->callback([lookup_options, &exit_code] { exit_code = run_lookup(*lookup_options); });

    auto record_options = std::make_shared<RecordOptions>();
    CLI::App* record = dns->add_subcommand(
        "record", "Check messages with live DNS and save every answer as a zone file for "
                  "--dns offline replay");
    record->add_option("-o,--output", record_options->output, "Zone file to write")
        ->required();
    record->add_option("paths", record_options->input.paths, "Messages (as check takes them)")
        ->required();
    add_input_options(*record, record_options->input);
    add_dns_options(*record, record_options->dns);
    add_policy_options(*record, record_options->policy);
    add_envelope_options(*record, record_options->envelope);
    record->callback([record, record_options, &exit_code] {
        exit_code = run_record(*record, *record_options);
    });

    CLI::App* cache = dns->add_subcommand("cache", "The persistent DNS cache of --dns cached");
    cache->require_subcommand(1);
    auto cache_file = std::make_shared<std::string>();
    CLI::App* show = cache->add_subcommand("show", "List cached answers with the TTL left");
    show->add_option("--dns-cache", *cache_file, "Cache file");
    show->callback([cache_file, &exit_code] { exit_code = run_cache_show(*cache_file); });
    CLI::App* prune = cache->add_subcommand("prune", "Remove expired answers from the cache");
    prune->add_option("--dns-cache", *cache_file, "Cache file");
    prune->callback([cache_file, &exit_code] {
        std::string file = default_cache_path(*cache_file);
        dns::PruneResult result = dns::prune_cache(file, dns::unix_now());
        std::cout << "kept " << result.kept << ", removed " << result.removed << '\n';
        exit_code = exit_ok;
    });
}

}  // namespace relaygate::cli
