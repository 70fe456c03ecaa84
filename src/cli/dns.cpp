// relaygate dns lookup NAME [TYPE]: one lookup through the same resolver stack as the checks.
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
}

}  // namespace relaygate::cli
