// relaygate config show|check: the effective policy, and validation of a policy file.
#include <iostream>

#include "cli/cli.hpp"

namespace relaygate::cli {

void add_config_command(CLI::App& root, int& exit_code)
{
    CLI::App* config = root.add_subcommand("config", "Show or validate the policy");
    config->require_subcommand(1);

    auto show_options = std::make_shared<PolicyOptions>();
    CLI::App* show = config->add_subcommand(
        "show", "Print the effective policy (the built-in default, or --config FILE)");
    add_policy_options(*show, *show_options);
    show->callback([show_options, &exit_code] {
        std::cout << policy_to_json(load_effective_policy(*show_options)) << '\n';
        exit_code = exit_ok;
    });

    auto check_file = std::make_shared<std::string>();
    CLI::App* check = config->add_subcommand(
        "check", "Validate a policy file; every error names its location and key path");
    check->add_option("file", *check_file, "Policy file")->required();
    check->callback([check_file, &exit_code] {
        load_effective_policy(PolicyOptions{*check_file});
        std::cout << *check_file << ": ok\n";
        exit_code = exit_ok;
    });

    CLI::App* findings = config->add_subcommand(
        "findings", "List every finding id with its layer, default weight, hard action and "
                    "meaning");
    findings->callback([&exit_code] {
        for (const FindingInfo& info : finding_catalog()) {
            std::cout << info.id << '\t' << info.layer << '\t' << info.weight << '\t'
                      << (std::string(info.action).empty() ? "-" : std::string(info.action))
                      << '\t' << info.meaning << '\n';
        }
        exit_code = exit_ok;
    });
}

}  // namespace relaygate::cli
