// Every option of every subcommand, as --help shows it, appears in the man page and in the
// bash, zsh and fish completions.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>
#include <set>

#include "e2e/run.hpp"

using namespace relaygate::e2e;

namespace {

// Subcommand names listed under "Subcommands:" in CLI11's help text.
std::vector<std::string> subcommands(const std::string& help)
{
    std::vector<std::string> out;
    auto section = help.find("Subcommands:");
    if (section == std::string::npos)
        return out;
    std::regex entry(R"(\n  ([a-z][a-z-]*)\s)");
    auto rest = help.substr(section);
    for (std::sregex_iterator it(rest.begin(), rest.end(), entry), end; it != end; ++it)
        out.push_back((*it)[1]);
    return out;
}

std::set<std::string> long_options(const std::string& help)
{
    std::set<std::string> out;
    std::regex option(R"((--[a-z][a-z0-9-]*))");
    for (std::sregex_iterator it(help.begin(), help.end(), option), end; it != end; ++it)
        out.insert((*it)[1]);
    out.erase("--help");
    return out;
}

// Walks the command tree from `path`, collecting "command path → options".
void collect(std::vector<std::string> path,
             std::vector<std::pair<std::string, std::set<std::string>>>& out)
{
    auto args = path;
    args.push_back("--help");
    Run run = run_relaygate(args);
    std::string name;
    for (const auto& part : path)
        name += (name.empty() ? "" : " ") + part;
    out.emplace_back(name, long_options(run.out));
    for (const auto& sub : subcommands(run.out)) {
        auto next = path;
        next.push_back(sub);
        collect(next, out);
    }
}

}  // namespace

TEST_CASE("every option in --help is in the man page and the completions", "[e2e][docs]")
{
    std::vector<std::pair<std::string, std::set<std::string>>> commands;
    collect({}, commands);
    REQUIRE(commands.size() > 5);

    std::string man = read_file(source_path("man/relaygate.1"));
    std::string bash = read_file(source_path("completions/relaygate.bash"));
    std::string zsh = read_file(source_path("completions/_relaygate"));
    std::string fish = read_file(source_path("completions/relaygate.fish"));

    for (const auto& [command, options] : commands) {
        for (const auto& option : options) {
            INFO("relaygate " << command << " " << option);
            std::string roff = std::regex_replace(option, std::regex("-"), "\\-");
            CHECK((man.find(roff) != std::string::npos || man.find(option) != std::string::npos));
            CHECK(bash.find(option) != std::string::npos);
            CHECK(zsh.find(option) != std::string::npos);
            CHECK(fish.find("-l " + option.substr(2)) != std::string::npos);
        }
        if (!command.empty()) {
            INFO("subcommand " << command);
            std::string last = command.substr(command.rfind(' ') + 1);
            CHECK(man.find(last) != std::string::npos);
            CHECK(bash.find(last) != std::string::npos);
            CHECK(zsh.find(last) != std::string::npos);
            CHECK(fish.find(last) != std::string::npos);
        }
    }
}

TEST_CASE("every finding id of the catalog is described in the man page", "[e2e][docs]")
{
    Run run = run_relaygate({"config", "findings"});
    REQUIRE(run.status == 0);
    std::string man = read_file(source_path("man/relaygate.1"));
    std::istringstream lines(run.out);
    int ids = 0;
    for (std::string line; std::getline(lines, line); ++ids) {
        std::string id = line.substr(0, line.find('\t'));
        INFO("finding " << id << ": run scripts/findings-man.sh");
        CHECK(man.find(".B " + std::regex_replace(id, std::regex("-"), "\\-")) !=
              std::string::npos);
    }
    CHECK(ids > 20);
}
